/* sl-model-private.h: the layer graph, its memory plan and the model handle. */
#pragma once

#include "sightline.h"
#include "sl-backend-private.h"

typedef enum
{
  SL_LAYER_CONV2D,
  SL_LAYER_DENSE,
  SL_LAYER_BATCHNORM,
  SL_LAYER_RELU,
  SL_LAYER_RELU6,
  SL_LAYER_LEAKY_RELU,
  SL_LAYER_SIGMOID,
  SL_LAYER_MAXPOOL,
  SL_LAYER_AVGPOOL,
  SL_LAYER_GLOBAL_AVGPOOL,
  SL_LAYER_FLATTEN,
  SL_LAYER_DROPOUT,
  SL_LAYER_ADD,
  SL_LAYER_KIND_COUNT /* each kind has its entry in engine/layers/sl-layer-registry.c */
} sl_layer_kind;

typedef enum
{
  SL_INIT_HE,
  SL_INIT_XAVIER,
} sl_init_kind;

/* Per-image shape. */
typedef struct
{
  int c, h, w;
} sl_shape;

static inline size_t
_sl_shape_size (sl_shape s)
{
  return (size_t) s.c * s.h * s.w;
}

#define SL_INPUT_NODE (-1)

typedef struct
{
  sl_layer_kind kind;
  char *name;    /* NULL when the document gave none */
  int inputs[2]; /* node indices, or SL_INPUT_NODE */
  int n_inputs;
  sl_shape in, out;   /* in: shape of inputs[0] */
  sl_conv_desc geom;  /* conv2d and pooling windows */
  bool same_padding;  /* geom's padding came from "padding": "same" (written back so) */
  int units;          /* dense */
  bool bias;          /* conv2d, dense */
  sl_init_kind init;  /* conv2d, dense */
  float epsilon;      /* batchnorm */
  float momentum;     /* batchnorm */
  bool running_stats; /* batchnorm "statistics": "running": running statistics in training too */
  float slope;        /* leaky_relu */
  float rate;         /* dropout */
  size_t param_offset, weight_count, param_count; /* bias follows the weights */
  size_t state_offset, state_count;
  bool frozen;    /* no gradient, no optimizer state; runs as at inference (a prefix) */
  float lr_scale; /* multiplies the learning rate of its parameters */
} sl_node;

/* Buffers for one (model, batch size): planned once, reused by every step. */
typedef struct
{
  int batch;
  bool training;
  float *arena;
  float **out;       /* per node: activations (aliases for flatten) */
  float **grad;      /* per node: d loss / d output, NULL where unneeded */
  float *input_grad; /* only when asked for */
  float **saved;     /* per node: batch-norm mean + inverse std, dropout mask */
  void **argmax;     /* per node: max-pool winners (_sl_pool_argmax_size) */
  int32_t *index_arena;
  float *workspace;      /* shared scratch, sized for the largest layer */
  size_t workspace_size; /* its floats */
  float *param_grad_scratch;
  float *logits_grad;
  /* Staging in backend memory for backends that cannot read host memory
   * (NULL otherwise): a batch of inputs, and of probabilities. */
  float *input;
  float *probs;
  int32_t *labels; /* a batch of labels */
  double *stats;   /* SL_STAT_COUNT doubles: loss, hits, finiteness */
  /* The nodes it runs, [first, end), and the node whose output its input x
   * stands for (SL_INPUT_NODE: the images; else the frozen prefix's output). */
  int first, end, input_node;
  size_t input_size; /* floats per image of x */
  uint64_t bytes;    /* what its arenas take */
  /* Taps (_sl_plan_new_taps): per node, whether its output survives the whole
   * pass (NULL: none kept), and the first node given a gradient by an
   * inference pass (-1: none). */
  bool *keep;
  int grad_from;
  /* Layers an inference plan runs inside the convolution or dense layer
   * before them (batch-norm folded into its weights, a rectifier on its
   * output; sl-graph-fuse.c): 0 when it runs every layer as written. */
  int fused_layers;
} sl_plan;

/* Which part of the graph a plan runs. */
typedef enum
{
  SL_PART_ALL,    /* every node, from the images */
  SL_PART_PREFIX, /* only the frozen prefix, from the images (to compute features) */
  SL_PART_SUFFIX, /* only the trainable layers, from the frozen prefix's output */
} sl_plan_part;

struct sl_model
{
  char *name;
  int channels, height, width, classes;
  sl_node *nodes;
  int n_nodes;
  float *params; /* backend memory: every weight in one block */
  size_t n_params;
  float *state; /* backend memory: running statistics */
  size_t n_state;
  /* Host copies of params and state: the same pointers when the backend
   * computes in host memory, else refreshed from the device on demand. */
  float *host_params, *host_state;
  bool host_stale; /* the device copies changed since the host copies were read */
  /* Counts changes to params or state (a trainer step, new weights): an
   * inference plan refolds its folded weights when it moved (sl-graph-fuse.c). */
  uint64_t weights_gen;
  sl_backend *backend;
  int threads;
  char device[16];         /* "cpu", "cuda:0" */
  sl_device_list *devices; /* held while the backend comes from its CUDA module */
  int device_index;        /* the list entry of the device */
  int trainers;            /* trainers using the model: its device cannot change */
  sl_plan *predict_plan;
  /* Batches of at least `threads` images on a CPU pool: one lane plan a
   * thread (n_lanes of them, 0 until a batch needs them). */
  sl_plan **predict_lanes;
  int n_lanes;
  bool shares_weights; /* params and state belong to another model (sl_model_share) */
  /* Bytes a plan (activations, workspaces) may take; 0 = no limit. Set by
   * the runtime classifier from its memory limit: _sl_plan_new refuses a
   * larger plan with SL_ERR_LIMIT before allocating it. */
  uint64_t plan_limit;
  /* Tests: training plans give every node its own output and gradient
   * buffer (the reference the shared training plans must match bit for bit). */
  bool unshared_training;
  /* Tests: training plans keep every batch-norm output through the step
   * rather than recompute it in the backward pass (sl-graph.c, find_transients). */
  bool keep_activations;
  /* Tests: training plans keep the convolutions' outputs (depthwise ones,
   * stems) that they would otherwise rebuild in the backward pass
   * (find_rebuilt). */
  bool keep_rebuilt;
  /* Frozen layers: nodes [0, n_frozen); their parameters are [0, trainable_offset). */
  int n_frozen;
  size_t trainable_offset;
  sl_plan *features_plan; /* SL_PART_PREFIX, for sl_model_compute_features */
  sl_plan *layers_plan;   /* keeps tapped outputs, for sl_model_predict_layers */
  sl_plan *cam_plan;      /* gradients from a layer on, for sl_model_class_heatmap */
};

/* sl-model-json.c */
sl_status _sl_model_parse (const char *json, sl_model *model, sl_error *err);
char *_sl_model_serialize (const sl_model *model);
void _sl_model_clear_nodes (sl_model *model);

/* sl-model.c */
void _sl_model_init_params (sl_model *model, uint64_t seed);
/* Builds a model whose weights and statistics are all zero (to be loaded),
 * computing on `threads` threads (0 = one per core). */
sl_status _sl_model_build (const char *json, int threads, sl_model **out, sl_error *err);
/* The same on a given backend, which the model takes over (destroyed on failure). */
sl_status _sl_model_build_on (const char *json, sl_backend *backend, int threads, sl_model **out,
                              sl_error *err);
/* Brings host_params and host_state up to date with the device. The model is
 * const for callers: the host copies are a cache. */
sl_status _sl_model_pull_host (const sl_model *model, sl_error *err);
/* Sends host_params and host_state, changed on the host, to the device. */
sl_status _sl_model_push_host (sl_model *model, sl_error *err);

/* sl-graph.c */
/* How a plan's convolution scratch is sized: by a backend, or (backend
 * NULL) by the CPU backend's formulas for `threads` compute threads. */
typedef struct
{
  sl_backend *backend;
  int threads;
  bool host_memory;
} sl_plan_sizer;

/* The bytes an inference plan for `batch` images would allocate, without
 * allocating it (the same layout _sl_plan_new uses). node_bytes and node_ws
 * may be NULL or receive, per node, the bytes of the buffers it owns and of
 * the convolution workspace it asks for (the plan holds only the largest). */
sl_status _sl_plan_measure (const sl_model *m, int batch, const sl_plan_sizer *sizer,
                            uint64_t *bytes, uint64_t *node_bytes, uint64_t *node_ws,
                            sl_error *err);
/* "1.5 GB", "12.0 MB", "3.0 kB" (decimal units). */
void _sl_format_bytes (uint64_t bytes, char *buf, size_t size);

sl_status _sl_plan_new (sl_model *model, int batch, bool training, bool want_input_grad,
                        sl_plan **out, sl_error *err);
/* A lane: an inference plan for one thread of the model's CPU pool, which
 * runs every layer on a one-thread backend of its own, so that the pool's
 * threads can each take a share of a batch through the whole graph at once
 * (sl-model.c). The model must compute on a CPU pool of two or more. With
 * fold_from (another lane, which must outlive this one) it uses that lane's folded
 * weights instead of a copy of its own. */
sl_status _sl_plan_new_lane (sl_model *model, int batch, const sl_plan *fold_from, sl_plan **out,
                             sl_error *err);
/* The largest batch, from 1 to want, of which `lanes` lanes fit
 * model->plan_limit together. */
int _sl_plan_fit_lane_batch (const sl_model *model, int want, int lanes);
/* An inference plan in which every layer owns its output buffer (an
 * ordinary one shares them by lifetime): the reference tests compare with. */
sl_status _sl_plan_new_unshared (sl_model *model, int batch, sl_plan **out, sl_error *err);
/* The largest batch, from 1 to want, whose inference plan (of `part`) fits
 * model->plan_limit; 1 when none does (planning it then reports the limit). */
int _sl_plan_fit_batch (const sl_model *model, int want, sl_plan_part part);
/* A plan for one part of the graph (no input gradient). */
sl_status _sl_plan_new_part (sl_model *model, int batch, bool training, sl_plan_part part,
                             sl_plan **out, sl_error *err);
/* The frozen node whose output is the only tensor the trainable layers read
 * from the frozen prefix, or -1 (nothing frozen, all frozen, or several). */
int _sl_model_feature_node (const sl_model *model);
void _sl_plan_free (sl_model *model, sl_plan *plan);
/* The rectifier whose backward pass max pool `pool` of a training plan does
 * (sl-graph.c, find_pool_acts), or -1. */
int _sl_plan_pool_rectifier (const sl_plan *plan, int pool);
/* Whether a training plan recomputes batch-norm `head`'s dropped output in
 * its backward pass (sl-graph.c, find_transients). */
bool _sl_plan_recomputes (const sl_plan *plan, int head);
/* An inference plan that taps the graph: it runs nodes [0, end), keeps the
 * outputs of the nodes marked in keep (NULL or one per node) alive to the
 * pass's end (no buffer sharing, no layer in place over them), and, when
 * grad_from >= 0 (end is then every node), gives nodes from grad_from on the
 * gradient buffers _sl_graph_backward_to fills. */
typedef struct
{
  int end;
  const bool *keep;
  int grad_from;
} sl_plan_taps;
sl_status _sl_plan_new_taps (sl_model *model, int batch, const sl_plan_taps *taps, sl_plan **out,
                             sl_error *err);
/* As _sl_plan_fit_batch, for such a plan. */
int _sl_plan_fit_batch_taps (const sl_model *model, int want, const sl_plan_taps *taps);
/* sl-model-layers.c: frees layers_plan and cam_plan (device or thread changes). */
void _sl_model_drop_tap_plans (sl_model *model);
/* Runs the graph on n <= plan->batch images; returns the logits (n x classes). */
const float *_sl_graph_forward (sl_model *model, sl_plan *plan, const float *x, int n,
                                bool training, uint64_t noise_seed);
/* Softmax probabilities of n images through m->threads lane plans at once,
 * lane t (of batch >= its share) taking share t of the images on thread t of
 * the model's pool (lanes after the first use its folded weights); false,
 * running nothing, where the model has no pool. */
bool _sl_graph_predict_lanes (sl_model *model, sl_plan **lanes, const float *x, int n,
                              float *probs);
/* Frees the prediction plans (predict_plan and the lanes). */
void _sl_model_drop_predict_plans (sl_model *model);
/* Backpropagates plan->logits_grad into param_grads (and plan->input_grad).
 * param_grads holds the trainable parameters only (from trainable_offset);
 * it stops at the first trainable layer. */
void _sl_graph_backward (sl_model *model, sl_plan *plan, const float *x, int n, float *param_grads);
/* After an inference forward pass on a plan with grad_from >= 0, whose
 * logits_grad the caller has filled: backpropagates as an inference pass
 * would (batch-norm on running statistics, dropout the identity), frozen
 * layers included, down to node grad_from only, leaving d / d output of
 * every node from grad_from on in plan->grad; no weight gradient is
 * computed. Returns false when nothing from the logits reaches grad_from's
 * output (its gradient is then not written). */
bool _sl_graph_backward_to (sl_model *model, sl_plan *plan, const float *x, int n);

/* sl-cost.c: what a model costs to run, known before anything large is allocated. */
typedef struct
{
  uint64_t weight_bytes;  /* parameters and running statistics */
  uint64_t working_bytes; /* the inference plan at the batch measured */
  double flops;           /* forward, per image; a multiply-add counts 2 */
  int memory_layer;       /* the layer with the largest buffers (-1: none) */
  uint64_t memory_layer_bytes, memory_layer_workspace;
  int flops_layer; /* the layer with the most work (-1: none) */
  double flops_layer_flops;
} sl_cost;

/* Measures m (parsed or built; no backend needed) for inference on `batch`
 * images, with the CPU's convolution workspace for `threads` threads. */
sl_status _sl_model_measure (const sl_model *m, int batch, int threads, sl_cost *out,
                             sl_error *err);
/* Floating-point operations of one node for one image. */
double _sl_node_flops (const sl_node *n);
/* "layers[6] (conv2d 'conv3')" or "layers[6] (conv2d)". */
void _sl_model_describe_layer (const sl_model *m, int index, char *buf, size_t size);
