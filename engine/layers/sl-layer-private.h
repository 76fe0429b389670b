/* sl-layer-private.h: one table entry per layer kind; everything the engine does with a layer. */
#pragma once

#include "sl-model-private.h"
#include "sl-error-private.h"
#include "sl-rng-private.h"

#include <cjson/cJSON.h>
#include <limits.h>

/* Limits on what a model description may ask for. */
#define SL_LAYER_MAX_DIM      16384
#define SL_LAYER_MAX_CHANNELS 65536

/* Where a description error points: "layers[3] (conv2d)". */
typedef struct
{
  sl_error *err;
  int index; /* -1: the document itself */
  const char *type;
} sl_layer_where;

/* The buffers one node asks a plan for, besides its gradient (sl-graph.c
 * gives every node that owns an output one when training). */
typedef struct
{
  bool out;            /* an output buffer of its own (else it passes its input on) */
  size_t saved;        /* floats kept from forward for backward */
  size_t argmax;       /* bytes kept from forward for backward, a multiple of 64 */
  size_t workspace;    /* shared scratch floats (the plan keeps the largest) */
  size_t grad_scratch; /* per-thread floats for parameter gradients */
} sl_layer_needs;

/* One node's part of a forward or backward pass over n images. */
typedef struct
{
  sl_model *m;
  sl_plan *p;
  sl_backend *be; /* runs the node's ops: the model's, or a one-thread one */
  const sl_node *node;
  int index; /* of the node */
  int n;
  size_t len;            /* n * the output's size */
  const float *in, *in1; /* inputs[0], and inputs[1] of a two-input layer */
  const float *w, *b;    /* weights, bias (NULL without) */
  /* forward */
  float *y; /* the buffer the node owns (NULL without) */
  bool training;
  uint64_t noise_seed;
  /* backward */
  const float *dy;
  float *dx, *dx1; /* d loss / d input (NULL where nothing needs it) */
  bool acc, acc1;  /* add into dx, dx1 rather than overwrite */
  float *dw, *db;
  /* A max pool's: the rectifier before it, whose backward pass it does
   * (NULL: none; sl-graph.c, find_pool_acts). */
  const sl_node *act;
} sl_layer_run;

/* An ONNX tensor holding one layer's output for the whole batch. */
typedef struct
{
  const char *name;
  bool flat; /* [N, C] (after flatten, dense) rather than [N, C, H, W] */
} sl_onnx_tensor;

typedef struct sl_onnx_exporter sl_onnx_exporter;

enum
{
  /* The output is the input itself (flatten): no buffers, no passes. */
  SL_LAYER_ALIAS = 1 << 0,
  /* May overwrite its input and share its buffers (its backward reads only its output). */
  SL_LAYER_IN_PLACE = 1 << 1,
  /* Its backward pass does not read its own output, so an in-place layer
   * after it may overwrite that output. */
  SL_LAYER_OUTPUT_FREE = 1 << 2,
  /* Its backward pass does not read its input, so a training plan need not
   * recompute an input it dropped after the forward pass (sl-graph.c). */
  SL_LAYER_INPUT_FREE = 1 << 3,
};

/* A layer kind. Every function is set (test-engine-layer-table checks);
 * sl-layer-registry.c holds one entry per sl_layer_kind. */
typedef struct
{
  const char *name;   /* the description's "type" */
  const char *fields; /* keys besides type/name/input, space separated */
  int n_inputs;       /* 2: named by "inputs" instead of "input" */
  unsigned flags;     /* SL_LAYER_ALIAS, ... */
  /* validate: reads and checks the layer's fields (n->in is known). */
  sl_status (*read) (const cJSON *obj, sl_node *n, const sl_layer_where *w);
  /* shape: n->out, the parameter and state counts; checks the inputs fit. */
  sl_status (*shape) (const sl_model *m, sl_node *n, const sl_layer_where *w);
  /* The fields back into a description (the inverse of read). */
  void (*write) (const sl_node *n, cJSON *obj);
  /* Initial weights and state (zeroed before). */
  void (*init) (const sl_node *n, float *w, float *state, sl_rng *rng);
  /* plan: the buffers a batch needs; needs arrives with out = true, the rest 0. */
  void (*plan) (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
                sl_layer_needs *needs);
  /* Floating-point operations for one image (a multiply-add counts 2). */
  double (*flops) (const sl_node *n);
  /* Returns the output: r->y, or r->in where the layer passes it on. */
  const float *(*forward) (const sl_layer_run *r);
  void (*backward) (const sl_layer_run *r);
  sl_onnx_tensor (*onnx) (sl_onnx_exporter *ex, const sl_node *n);
} sl_layer_class;

/* sl-layer-registry.c */
const sl_layer_class *_sl_layer_class (sl_layer_kind kind);
/* The kind called `name`, or false. */
bool _sl_layer_kind_by_name (const char *name, sl_layer_kind *out);
/* "conv2d, dense, ..., add": every type, in table order. */
void _sl_layer_type_list (char *buf, size_t size);

/* The entries (one file each under engine/layers/). */
extern const sl_layer_class _sl_layer_conv2d, _sl_layer_dense, _sl_layer_batchnorm, _sl_layer_relu,
    _sl_layer_relu6, _sl_layer_leaky_relu, _sl_layer_sigmoid, _sl_layer_maxpool, _sl_layer_avgpool,
    _sl_layer_global_avgpool, _sl_layer_flatten, _sl_layer_dropout, _sl_layer_add;

/* sl-layer-dense.c: He or Xavier initial weights (n->init) for conv2d and dense. */
void _sl_layer_init_weights (const sl_node *n, float *w, double fan_in, double fan_out,
                             sl_rng *rng);

static inline size_t
_sl_align16 (size_t n)
{
  return (n + 15) & ~(size_t) 15;
}

/* sl-layer-json.c: reading and writing description fields. */
sl_status SL_PRINTF (2, 3) _sl_layer_bad (const sl_layer_where *w, const char *fmt, ...);
/* def INT_MIN: the key is required. */
sl_status _sl_json_int (const cJSON *obj, const char *key, int def, int min, int max, int *out,
                        const sl_layer_where *w);
sl_status _sl_json_float (const cJSON *obj, const char *key, double def, double min, double max,
                          float *out, const sl_layer_where *w);
sl_status _sl_json_bool (const cJSON *obj, const char *key, bool def, bool *out,
                         const sl_layer_where *w);
sl_status _sl_json_init (const cJSON *obj, sl_init_kind *out, const sl_layer_where *w);
/* A convolution's ("kernel", dilation) or a pool's ("size") window into n->geom. */
sl_status _sl_json_window (const cJSON *obj, sl_node *n, bool conv, const sl_layer_where *w);
/* A number, or [a, b] when they differ. */
cJSON *_sl_json_pair_value (int a, int b);
/* A window's "padding" as read: "same", a number, a pair or [top, left, bottom, right]. */
cJSON *_sl_json_padding_value (const sl_node *n);
/* The shortest decimal that reads back as the same float. */
double _sl_json_tidy_float (float v);
/* The output shape of n's input `k`. */
sl_shape _sl_layer_input_shape (const sl_model *m, const sl_node *n, int k);

/* Defaults for kinds with nothing to do in a step. */
sl_status _sl_layer_read_nothing (const cJSON *obj, sl_node *n, const sl_layer_where *w);
sl_status _sl_layer_shape_same (const sl_model *m, sl_node *n, const sl_layer_where *w);
void _sl_layer_write_nothing (const sl_node *n, cJSON *obj);
void _sl_layer_init_nothing (const sl_node *n, float *w, float *state, sl_rng *rng);
void _sl_layer_plan_output (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
                            sl_layer_needs *needs);
