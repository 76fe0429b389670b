/* sl-cuda-private.h: the CUDA backend's state, its error recording, and the entry points of each
 * op family (sl-cuda-<family>.c / .cu, named after the CPU backend's files). */
#pragma once

#include "sl-backend-private.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

SL_BEGIN_DECLS

/* Host staging for uploads: pinned buffers, used in turn. */
#define SL_CUDA_STAGING_SLOTS 2
#define SL_CUDA_STAGING_MAX   ((size_t) 8 << 20) /* bytes per slot; larger uploads go in pieces */

typedef struct
{
  void *host; /* pinned (cudaHostAlloc), or NULL until first needed */
  size_t size;
  cudaEvent_t done; /* recorded after the copy out of it */
} sl_cuda_staging;

typedef struct sl_cuda_conv sl_cuda_conv; /* sl-cuda-conv.c: cuDNN plans per shape */

typedef struct
{
  int device;
  cudaStream_t stream; /* every op and copy, in order */
  cublasHandle_t blas;
  cudnnHandle_t dnn;
  cudnnTensorDescriptor_t bn_x, bn_param; /* reset per batch-norm call */
  sl_cuda_staging staging[SL_CUDA_STAGING_SLOTS];
  int next_staging;
  sl_cuda_conv *convs;
  int n_convs, cap_convs;
  size_t workspace_limit; /* bytes a convolution may use as scratch */
  /* The first error since the last sync; later ones are dropped. */
  sl_status error;
  char message[256];
} sl_cuda;

static inline sl_cuda *
sl_cuda_of (sl_backend *be)
{
  return (sl_cuda *) be->priv;
}

/* ---- Errors (sl-cuda-backend.c). Each records the first failure and returns false. */
bool sl_cuda_check (sl_cuda *c, cudaError_t e, const char *what);
/* A kernel launch: cudaGetLastError. */
bool sl_cuda_check_launch (sl_cuda *c, const char *what);
bool sl_cuda_check_dnn (sl_cuda *c, cudnnStatus_t s, const char *what);
bool sl_cuda_check_blas (sl_cuda *c, cublasStatus_t s, const char *what);
/* Whether an error is pending: ops then do nothing until the next sync. */
static inline bool
sl_cuda_failed (const sl_cuda *c)
{
  return c->error != SL_OK;
}
/* Makes the backend's device current on the calling thread; false on error. */
bool sl_cuda_enter (sl_cuda *c);
/* Puts a sentence for a CUDA runtime error into buf: "name (description)". */
void sl_cuda_describe (cudaError_t e, char *buf, size_t len);

/* ---- Kernels' launch shape. */
#define SL_CUDA_THREADS 256
static inline unsigned
sl_cuda_blocks (size_t n)
{
  size_t b = (n + SL_CUDA_THREADS - 1) / SL_CUDA_THREADS;

  return (unsigned) (b < 1 ? 1 : (b > 65535u * 16 ? 65535u * 16 : b));
}

/* ---- Op families: the table's entries. */
size_t sl_cuda_conv2d_workspace (sl_backend *be, const sl_conv_desc *d, int n);
size_t sl_cuda_conv2d_grad_scratch (sl_backend *be, const sl_conv_desc *d);
void sl_cuda_conv2d_forward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                             const float *w, const float *b, float *y, float *ws, size_t ws_floats);
void sl_cuda_conv2d_backward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                              const float *w, const float *dy, float *dx, bool accumulate,
                              float *dw, float *db, float *ws, size_t ws_floats, float *scratch);
void sl_cuda_conv_cache_clear (sl_cuda *c);
/* sl-cuda-pad.cu: planes of h x w into zero-bordered planes of hp x wp at (top, left), and the
 * adjoint (dx = or += the same window of dxp). */
void sl_cuda_pad_planes (sl_cuda *c, size_t planes, int h, int w, int top, int left, int hp, int wp,
                         const float *x, float *xp);
void sl_cuda_crop_planes (sl_cuda *c, size_t planes, int h, int w, int top, int left, int hp,
                          int wp, const float *dxp, float *dx, bool accumulate);

void sl_cuda_dense_forward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                            const float *b, float *y);
void sl_cuda_dense_backward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                             const float *dy, float *dx, bool accumulate, float *dw, float *db);

void sl_cuda_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                                const float *gamma, const float *beta, float *running_mean,
                                float *running_var, float epsilon, float momentum, float *saved,
                                float *y);
void sl_cuda_batchnorm_backward (sl_backend *be, int n, int c, int hw, const float *x,
                                 const float *gamma, const float *saved, float epsilon,
                                 const float *dy, float *dx, bool accumulate, float *dgamma,
                                 float *dbeta);
/* sl-cuda-norm-grad.cu: the backward of the inference formula (cuDNN has none). */
void sl_cuda_batchnorm_backward_running (sl_backend *be, int n, int c, int hw, const float *x,
                                         const float *gamma, const float *running_mean,
                                         const float *running_var, float epsilon, const float *dy,
                                         float *dx, bool accumulate, float *dgamma, float *dbeta);

void sl_cuda_pool_forward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                           const float *x, float *y, void *argmax);
void sl_cuda_pool_backward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                            const float *dy, const void *argmax, float *dx, bool accumulate);
void sl_cuda_global_avgpool_forward (sl_backend *be, int n, int c, int hw, const float *x,
                                     float *y);
void sl_cuda_global_avgpool_backward (sl_backend *be, int n, int c, int hw, const float *dy,
                                      float *dx, bool accumulate);

void sl_cuda_activation_forward (sl_backend *be, sl_activation act, float slope, size_t len,
                                 const float *x, float *y);
void sl_cuda_activation_backward (sl_backend *be, sl_activation act, float slope, size_t len,
                                  const float *y, const float *dy, float *dx, bool accumulate);
void sl_cuda_dropout_forward (sl_backend *be, size_t len, float rate, uint64_t seed, const float *x,
                              float *mask, float *y);
void sl_cuda_mul_backward (sl_backend *be, size_t len, const float *mask, const float *dy,
                           float *dx, bool accumulate);
void sl_cuda_add_forward (sl_backend *be, size_t len, const float *a, const float *b, float *y);
void sl_cuda_copy_grad (sl_backend *be, size_t len, const float *dy, float *dx, bool accumulate);
void sl_cuda_all_finite (sl_backend *be, size_t len, const float *x, double *stats);
/* Helpers for the dense layer (sl-cuda-elementwise.cu): y rows = b; db = column sums of dy. */
void sl_cuda_fill_rows (sl_cuda *c, int n, int out, const float *b, float *y);
void sl_cuda_column_sums (sl_cuda *c, int n, int out, const float *dy, float *db);
/* Batch-norm's scale and shift gradients alone (sl-cuda-norm-grad.cu), for a
   * layer whose input needs no gradient. */
void sl_cuda_batchnorm_param_grads (sl_cuda *c, int n, int ch, int hw, const float *x,
                                    const float *saved_mean, const float *saved_invstd,
                                    const float *dy, float *dgamma, float *dbeta);

void sl_cuda_softmax_xent (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                           const sl_loss_desc *loss, float *dlogits, double *stats);
void sl_cuda_softmax (sl_backend *be, int n, int k, const float *logits, float *probs);

void sl_cuda_optimizer_step (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                             const float *grads, float *m, float *v);

/* A tiny kernel run when a backend is made: fails when this build has no
   * code for the GPU (sl-cuda-elementwise.cu). */
cudaError_t sl_cuda_probe_kernels (cudaStream_t stream, float *scratch);

/* sl-cuda-backend.c */
sl_status sl_cuda_backend_new (int device, sl_backend **out, sl_error *err);

SL_END_DECLS
