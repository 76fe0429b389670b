/* sl-backend-private.h: the function table every compute backend (CPU, CUDA) fills in. */
#pragma once

#include "sightline.h"
#include "sl-threadpool-private.h"

/* 2: memory that may not be host memory (upload, download, zero, sync,
 *    host_memory), loss and finiteness written to backend memory.
 * 3: sl_optim_step gains per-range learning-rate scales (freeze).
 * 4: sl_conv_desc gains ph_end, pw_end (asymmetric padding).
 * 5: conv2d_backward, dense_backward and batchnorm_backward_running take
 *    NULL weight and bias gradients (input gradients only, for Grad-CAM).
 * 6: batchnorm_act (optional): training plans recompute batch-norm outputs.
 * 7: pool_backward_act (optional): a max pool's backward does the rectifier's before it.
 * 8: conv2d_pack_floats, conv2d_pack, conv2d_forward_fused and dense_forward_fused
 *    (optional): inference plans pack filters once and run residual sums and rectifiers
 *    inside the layer before them.
 * 9: batchnorm_backward_in_place: a training plan may give a batch-norm's
 *    input gradient its output gradient's buffer.
 * 10: a max pool's argmax is each maximum's place in its window, a byte
 *    where the window has at most 256 places (_sl_pool_argmax_size). */
#define SL_BACKEND_ABI_VERSION 10

/* Geometry of a convolution or pooling window, per image. Padding may be
 * asymmetric: ph, pw pad the top and left, ph_end, pw_end the bottom and
 * right (TensorFlow's "same" pads more at the end). */
typedef struct
{
  int in_c, in_h, in_w;
  int out_c, out_h, out_w;
  int kh, kw, sh, sw, ph, pw, dh, dw;
  int groups;
  int ph_end, pw_end;
} sl_conv_desc;

typedef enum
{
  SL_ACT_RELU,
  SL_ACT_RELU6,
  SL_ACT_LEAKY_RELU,
  SL_ACT_SIGMOID,
} sl_activation;

typedef enum
{
  SL_POOL_MAX,
  SL_POOL_AVG,
} sl_pool_kind;

/* A max pool's argmax, kept from its forward pass for its backward: per
 * output, the place of its window's maximum in the window, row-major from
 * the window's first corner (padding included): (iy - (oy sh - ph)) kw +
 * ix - (ox sw - pw). A byte each where the window has at most 256 places
 * (every pooling window in practice), an int32 otherwise: a quarter of the
 * memory of an index into the plane (small-bn at 224 px, batch 32: 6 MB
 * instead of 24). */
static inline size_t
_sl_pool_argmax_size (const sl_conv_desc *d)
{
  return (size_t) d->kh * (size_t) d->kw <= 256 ? 1 : sizeof (int32_t);
}

/* Parameters [begin, end) of an optimizer step whose learning rate (and so
 * step and weight decay) is multiplied by scale (a layer's "lr_scale"). */
typedef struct
{
  size_t begin, end;
  float scale;
} sl_lr_range;

typedef struct
{
  sl_optimizer_kind kind;
  float lr, momentum, weight_decay, beta1, beta2, epsilon;
  bool nesterov;
  int64_t t; /* 1-based step number, for Adam's bias correction */
  /* Host memory: n_ranges ranges in order, covering [0, len) of the step
   * exactly; none (NULL, 0) means a scale of 1 everywhere. */
  const sl_lr_range *ranges;
  int n_ranges;
} sl_optim_step;

typedef struct
{
  const float *weights; /* backend memory; NULL = all 1 */
  float smoothing;
} sl_loss_desc;

/* Where softmax_xent and all_finite leave their results (backend memory, as
 * doubles so that the CPU's values reach the engine unrounded). */
enum
{
  SL_STAT_LOSS,    /* batch loss */
  SL_STAT_CORRECT, /* arg-max hits */
  SL_STAT_FINITE,  /* 1 when every gradient is finite, else 0 */
  SL_STAT_COUNT,
};

typedef struct sl_backend sl_backend;

/* Every pointer an op takes is backend memory (from alloc) unless said
 * otherwise. Ops are queued in order and may run after they return; an op
 * that fails records the error, which the next sync or download returns
 * (never an abort). Gradient outputs named dx take `accumulate`: false
 * overwrites, true adds, so a layer output read by two layers (a residual
 * shortcut) gets the sum. conv2d_backward, dense_backward and
 * batchnorm_backward_running also take NULL for dw and db (dgamma and dbeta):
 * that gradient is then neither computed nor written (an inference backward
 * pass wants the input gradient alone). */
typedef struct
{
  int abi_version;
  const char *name;
  /* Backend memory is ordinary host memory: the engine may hand host
   * buffers straight to the ops and skip the copies. */
  bool host_memory;
  void (*destroy) (sl_backend *be);

  /* Zeroed (ordered before later ops); NULL when out of memory. Called only
   * while building models and plans, never per step. */
  void *(*alloc) (sl_backend *be, size_t bytes);
  void (*release) (sl_backend *be, void *ptr);
  /* Host to backend. Returns once src may be reused (the backend stages it in
   * pinned memory of its own); the copy is ordered before every later op.
   * Queued ops must no longer read dst. */
  void (*upload) (sl_backend *be, void *dst, const void *src, size_t bytes);
  /* Backend to host: waits for every queued op, copies, and returns the
   * first error since the last sync (clearing it). */
  sl_status (*download) (sl_backend *be, void *dst, const void *src, size_t bytes, sl_error *err);
  void (*zero) (sl_backend *be, void *dst, size_t bytes);
  /* Waits for every queued op; returns the first error since the last sync
   * (clearing it). */
  sl_status (*sync) (sl_backend *be, sl_error *err);

  /* Floats of scratch that conv2d needs for a batch of n (called when a plan
   * is made; a backend may choose its algorithms here, and record an error
   * for the plan's sync). */
  size_t (*conv2d_workspace) (sl_backend *be, const sl_conv_desc *d, int n);
  /* Floats of per-thread scratch for conv2d weight gradients. */
  size_t (*conv2d_grad_scratch) (sl_backend *be, const sl_conv_desc *d);
  /* ws holds ws_floats floats: at least conv2d_workspace (d, plan batch). */
  void (*conv2d_forward) (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                          const float *w, const float *b, float *y, float *ws, size_t ws_floats);
  void (*conv2d_backward) (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                           const float *w, const float *dy, float *dx, bool accumulate, float *dw,
                           float *db, float *ws, size_t ws_floats, float *scratch);
  /* Optional, all three or none (NULL: inference plans run residual sums and
   * rectifiers as passes of their own). conv2d_forward, then y += r where r
   * is not NULL (n images shaped as y, never y itself), then act over y where
   * activate: the same bits as conv2d_forward, add_forward and
   * activation_forward one after the other, done while the output is still
   * in the cache. pack is NULL, or what conv2d_pack made of w and b (floats:
   * conv2d_pack_floats, 0 where the layer has no use for it): filters an
   * inference plan packs once rather than every pass. */
  size_t (*conv2d_pack_floats) (sl_backend *be, const sl_conv_desc *d);
  void (*conv2d_pack) (sl_backend *be, const sl_conv_desc *d, const float *w, const float *b,
                       float *pack);
  void (*conv2d_forward_fused) (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                                const float *w, const float *b, const float *pack, const float *r,
                                bool activate, sl_activation act, float slope, float *y, float *ws,
                                size_t ws_floats);

  void (*dense_forward) (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                         const float *b, float *y);
  void (*dense_backward) (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                          const float *dy, float *dx, bool accumulate, float *dw, float *db);
  /* Optional (NULL: inference plans run dense_forward, then the rectifier).
   * dense_forward, then act over y where activate, as inference computes it:
   * the results may differ from dense_forward's in the last bits. */
  void (*dense_forward_fused) (sl_backend *be, int n, int in, int out, const float *x,
                               const float *w, const float *b, bool activate, sl_activation act,
                               float slope, float *y);

  void (*batchnorm_forward) (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                             const float *gamma, const float *beta, float *running_mean,
                             float *running_var, float epsilon, float momentum, float *saved,
                             float *y);
  /* saved: what batchnorm_forward left there in training; epsilon as there. */
  void (*batchnorm_backward) (sl_backend *be, int n, int c, int hw, const float *x,
                              const float *gamma, const float *saved, float epsilon,
                              const float *dy, float *dx, bool accumulate, float *dgamma,
                              float *dbeta);
  /* Backward of the inference formula (a layer on "statistics": "running"):
   * dx = dy gamma invstd, dgamma = sum dy xhat, dbeta = sum dy per channel,
   * invstd = 1 / sqrt (running_var + epsilon); dx may be NULL. */
  void (*batchnorm_backward_running) (sl_backend *be, int n, int c, int hw, const float *x,
                                      const float *gamma, const float *running_mean,
                                      const float *running_var, float epsilon, const float *dy,
                                      float *dx, bool accumulate, float *dgamma, float *dbeta);

  /* Optional (NULL: training plans keep every batch-norm output). Without
   * recompute: batchnorm_forward in training; with it: y again from x with
   * the batch mean and inverse std that call left in saved (running
   * statistics untouched), bit-identical to the y it wrote (gamma and beta
   * unchanged). saved NULL: a layer on its running statistics; both calls
   * are batchnorm_forward outside training. Then, when activate, act over y
   * as activation_forward would (same bits), while y is still in the cache. */
  void (*batchnorm_act) (sl_backend *be, bool recompute, int n, int c, int hw, const float *x,
                         const float *gamma, const float *beta, float *running_mean,
                         float *running_var, float epsilon, float momentum, float *saved,
                         bool activate, sl_activation act, float slope, float *y);

  void (*activation_forward) (sl_backend *be, sl_activation act, float slope, size_t len,
                              const float *x, float *y);
  void (*activation_backward) (sl_backend *be, sl_activation act, float slope, size_t len,
                               const float *y, const float *dy, float *dx, bool accumulate);

  void (*pool_forward) (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                        const float *x, float *y, void *argmax);
  void (*pool_backward) (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                         const float *dy, const void *argmax, float *dx, bool accumulate);
  /* Optional (NULL: the graph runs the rectifier's backward pass itself). A
   * max pool's backward with the backward of the rectifier before it (act:
   * relu, relu6 or leaky relu) folded in: each window's dy goes to its
   * maximum times the rectifier's derivative there, read from the window's
   * output y (the rectifier's output at the maximum), as activation_backward
   * reads it from its own output: the same bits where windows do not overlap,
   * without a pass over the rectifier's output or its gradient. */
  void (*pool_backward_act) (sl_backend *be, const sl_conv_desc *d, int n, const float *dy,
                             const void *argmax, const float *y, sl_activation act, float slope,
                             float *dx, bool accumulate);
  void (*global_avgpool_forward) (sl_backend *be, int n, int c, int hw, const float *x, float *y);
  void (*global_avgpool_backward) (sl_backend *be, int n, int c, int hw, const float *dy, float *dx,
                                   bool accumulate);

  /* mask receives the kept-and-scaled factors; seed makes it reproducible. */
  void (*dropout_forward) (sl_backend *be, size_t len, float rate, uint64_t seed, const float *x,
                           float *mask, float *y);
  void (*mul_backward) (sl_backend *be, size_t len, const float *mask, const float *dy, float *dx,
                        bool accumulate);
  void (*add_forward) (sl_backend *be, size_t len, const float *a, const float *b, float *y);
  void (*copy_grad) (sl_backend *be, size_t len, const float *dy, float *dx, bool accumulate);

  /* Softmax cross-entropy: writes dlogits (may be NULL), and the batch loss
   * and the number of correct arg-max predictions into stats[SL_STAT_LOSS]
   * and stats[SL_STAT_CORRECT]. */
  void (*softmax_xent) (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                        const sl_loss_desc *loss, float *dlogits, double *stats);
  void (*softmax) (sl_backend *be, int n, int k, const float *logits, float *probs);

  void (*optimizer_step) (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                          const float *grads, float *m, float *v);
  /* stats[SL_STAT_FINITE] = 1 when every value is finite, else 0. */
  void (*all_finite) (sl_backend *be, size_t len, const float *x, double *stats);

  /* batchnorm_backward and batchnorm_backward_running take dx == dy (not
   * accumulating): each value of dy is read before its dx is written. A
   * training plan then gives a batch-norm's input gradient the buffer of its
   * output gradient, one tensor less alive in its step. */
  bool batchnorm_backward_in_place;
} sl_backend_ops;

struct sl_backend
{
  const sl_backend_ops *ops;
  void *priv;
};

/* The CPU backend: OpenBLAS GEMM on a pool of `threads` compute threads. */
sl_status _sl_cpu_backend_new (int threads, sl_backend **out, sl_error *err);
/* Runs fn once on each thread of a CPU backend's pool (the caller is thread
 * 0) and returns true; false, running nothing, for any other backend. */
bool _sl_cpu_backend_parallel (sl_backend *be, sl_parallel_fn fn, void *ctx);
/* Its conv2d_workspace (passes of up to n images) and conv2d_grad_scratch for
 * `threads` threads, without a backend (cost estimates before a model is built). */
size_t _sl_cpu_conv2d_workspace_floats (const sl_conv_desc *d, int n, int threads);
/* Its conv2d_pack_floats (be may be NULL). */
size_t _sl_cpu_conv2d_pack_floats (sl_backend *be, const sl_conv_desc *d);
size_t _sl_cpu_conv2d_grad_scratch_floats (const sl_conv_desc *d);
