/* sl-layer-onnx-private.h: what a layer kind's ONNX export builds with (sl-onnx-export.c). */
#pragma once

#include "sl-layer-private.h"
#include "sl-onnx-private.h"

/* The tensor of n's input k. */
sl_onnx_tensor _sl_onnx_input_of (const sl_onnx_exporter *ex, const sl_node *n, int k);
/* A [N, C] tensor as [N, C, 1, 1] (others as they are). */
sl_onnx_tensor _sl_onnx_as_4d (sl_onnx_exporter *ex, sl_onnx_tensor t);
/* A [N, C, H, W] tensor flattened as the engine stores it (others as they are). */
sl_onnx_tensor _sl_onnx_as_flat (sl_onnx_exporter *ex, sl_onnx_tensor t, const char *suffix);
/* The current layer's tensor names: its label, or label + suffix made unique. */
const char *_sl_onnx_layer_name (sl_onnx_exporter *ex, const char *suffix);
/* A float initializer named label + suffix. */
const char *_sl_onnx_add_weights (sl_onnx_exporter *ex, const char *suffix, const int64_t *dims,
                                  int n_dims, const float *data);
sl_onnx_builder *_sl_onnx_builder_of (sl_onnx_exporter *ex);
/* The host copies of the model's weights and state. */
const float *_sl_onnx_params (const sl_onnx_exporter *ex, const sl_node *n);
const float *_sl_onnx_state (const sl_onnx_exporter *ex, const sl_node *n);
/* relu6's constant 6, shared by every relu6 layer. */
const char *_sl_onnx_six (sl_onnx_exporter *ex);

/* What follows the layers in an export: sl_model_export_onnx's softmax, or
 * the anomaly scorer (sl-onnx-anomaly.c). */
typedef struct
{
  const char *const *outputs; /* the graph's outputs: names reserved before any layer's */
  int n_outputs;
  int end; /* layers [0, end) are exported */
  /* Adds the outputs (value infos and nodes) from outs[i], layer i's tensor. */
  void (*finish) (sl_onnx_exporter *ex, const sl_onnx_tensor *outs, void *user_data);
  void *user_data;
} sl_onnx_ending;

/* sl_model_export_onnx with another ending (options->labels, when given,
 * must hold one label per model class). */
sl_status _sl_onnx_export_with (const sl_model *model, const sl_onnx_options *options,
                                const sl_onnx_ending *ending, const char *path, sl_error *err);
