/* sl-onnx-private.h: a small builder for ONNX models on top of the protobuf-c code
 * generated from onnx.proto; every struct it makes lives in one arena. */
#pragma once

#include "sightline.h"

#include "onnx.pb-c.h"

typedef struct sl_onnx_block sl_onnx_block;

/* One model under construction. Calls after an allocation failed do nothing
 * and set oom, so a caller checks once, at the end. */
typedef struct
{
  sl_onnx_block *blocks; /* arena: every protobuf struct, array and string */
  bool oom;
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  const char **names; /* open-addressing set of the tensor names in use */
  size_t names_cap, names_used;
} sl_onnx_builder;

/* Opset 13, IR version 7, a graph called graph_name. */
void _sl_onnx_builder_init (sl_onnx_builder *b, const char *graph_name);
void _sl_onnx_builder_clear (sl_onnx_builder *b);

/* Zeroed memory that lives as long as the builder; NULL (and oom) on failure. */
void *_sl_onnx_alloc (sl_onnx_builder *b, size_t size);
char *_sl_onnx_strdup (sl_onnx_builder *b, const char *s);

/* A tensor name no other tensor has: base itself, else base_2, base_3, ... */
const char *_sl_onnx_unique_name (sl_onnx_builder *b, const char *base);

/* Appends a node computing output from inputs; its name is its output's. */
Onnx__NodeProto *_sl_onnx_add_node (sl_onnx_builder *b, const char *op_type,
                                    const char *const *inputs, int n_inputs, const char *output);
void _sl_onnx_attr_int (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name, int64_t v);
void _sl_onnx_attr_float (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name, float v);
void _sl_onnx_attr_ints (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name,
                         const int64_t *v, size_t n);
void _sl_onnx_attr_string (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name,
                           const char *v);

/* Float32 and int64 initializers stored as little-endian raw_data. Float data
 * is referenced, not copied, on little-endian hosts: it must outlive the builder. */
void _sl_onnx_add_floats (sl_onnx_builder *b, const char *name, const int64_t *dims, int n_dims,
                          const float *data);
void _sl_onnx_add_int64s (sl_onnx_builder *b, const char *name, const int64_t *dims, int n_dims,
                          const int64_t *data);

/* A float32 graph input or output; a dimension below 0 is the symbolic "batch". */
void _sl_onnx_add_value (sl_onnx_builder *b, bool output, const char *name, const int64_t *dims,
                         int n_dims);
void _sl_onnx_add_metadata (sl_onnx_builder *b, const char *key, const char *value);

/* Serialises the model and writes it to path atomically. */
sl_status _sl_onnx_builder_write (sl_onnx_builder *b, const char *path, sl_error *err);

/* sl-onnx-anomaly.c: an anomaly model (the backbone up to the scorer's layers,
 * then PatchCore's steps 2-7) as one ONNX graph: input "image" as for
 * classifiers, outputs "anomaly_score" [N] and "anomaly_map" [N, 1, H, W]
 * (docs/onnx.md). options->labels is not used (the file's labels are "good"
 * and "anomalous"); the rest as for sl_model_export_onnx. */
sl_status _sl_onnx_export_anomaly (const sl_model *model, const sl_anomaly *anomaly,
                                   const sl_onnx_options *options, const char *path, sl_error *err);
