/* sl-cpu-private.h: shared pieces of the CPU backend (thread pool, GEMM on it). */
#pragma once

#include "sl-backend-private.h"
#include "sl-threadpool-private.h"

#include <cblas.h>

typedef struct
{
  sl_threadpool *pool;
  int threads;
  /* Batch-norm's per-image partial sums and per-channel coefficients
   * (sl-cpu-norm.c), grown as passes need: one pass at a time runs on a
   * backend. */
  float *bn_scratch;
  size_t bn_scratch_floats;
} sl_cpu;

static inline sl_cpu *
_sl_cpu_of (sl_backend *be)
{
  return be->priv;
}

/* Floats in one vector register of the build's target: the width of the
 * direct convolution's pixel runs. */
#if defined(__AVX512F__)
#define SL_CPU_VECTOR_LANES 16
#else
#define SL_CPU_VECTOR_LANES 8
#endif

/* Holds vector variable v in a register from here on: GCC would otherwise fold
 * its load into each multiply-add that reads it, loading it again every time.
 * Only where one register holds the whole vector (AVX and later). */
#if defined(__AVX__)
#define SL_CPU_KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define SL_CPU_KEEP_IN_REGISTER(v) ((void) 0)
#endif

/* Once per process: OpenBLAS on the kernels of this CPU when it did not know
 * the CPU (sl-cpu-blas-core.c). Also done when the library is loaded. */
void _sl_cpu_blas_core_ready (void);

/* C[M x N] = alpha * op(A) * op(B) + beta * C, row-major, split over the pool
 * by output columns (or rows when N is narrow); each share is a single-threaded
 * OpenBLAS call, so results depend only on the thread count. */
void _sl_cpu_gemm (sl_cpu *cpu, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* The same on the calling thread (inside a pool share): one OpenBLAS call, C
 * cleared here rather than by OpenBLAS's slower beta-0 pass (same bits). */
void _sl_cpu_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* The column matrix of one image: row (c, ki, kj) holds out_h * out_w entries,
 * rows are ld floats apart (so several images can sit side by side). */
void _sl_im2col (const sl_conv_desc *d, const float *x, float *col, size_t ld);
/* Its adjoint: adds the columns back onto dx (or overwrites dx); col is
 * scratch afterwards. */
void _sl_col2im (const sl_conv_desc *d, float *col, size_t ld, float *dx, bool accumulate);

/* What an inference pass does to a convolution's output once it is computed
 * (conv2d_forward_fused): y += r where r is not NULL (the same images shaped
 * as y), then act over y where activate. */
typedef struct
{
  const float *r;
  bool activate;
  sl_activation act;
  float slope;
} sl_cpu_epilogue;
/* Floats [at, at + len) of y (and of r): the same bits as add_forward and
 * activation_forward one after the other. */
void _sl_cpu_epilogue_span (const sl_cpu_epilogue *e, size_t at, size_t len, float *y);
/* The same over len floats from y, split over the pool. */
void _sl_cpu_epilogue_run (sl_backend *be, const sl_cpu_epilogue *e, size_t len, float *y);

/* sl-cpu-depthwise.c: direct kernels for groups == in_c == out_c, which
 * conv2d uses instead of im2col + GEMM. ws holds
 * _sl_cpu_depthwise_workspace_floats (d, cpu->threads) floats. */
bool _sl_cpu_is_depthwise (const sl_conv_desc *d);
size_t _sl_cpu_depthwise_workspace_floats (const sl_conv_desc *d, int threads);
void _sl_cpu_depthwise_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                const float *w, const float *b, float *y, float *ws);
/* dx, dw and db may each be NULL (not wanted); dw and db are overwritten. */
void _sl_cpu_depthwise_backward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                 const float *w, const float *dy, float *dx, bool accumulate,
                                 float *dw, float *db, float *ws);

/* sl-cpu-conv-direct.c: ungrouped convolutions with 4k filters, strides 1 and 2, kernels larger
 * than 1 x 1 and outputs at least 6 pixels wide, without a column matrix; y = conv (x) + b, then
 * post (NULL: none) on each image's rows as they are done. pack: NULL (w and b are packed into
 * ws here), or what _sl_cpu_direct_conv_pack made of them. ws holds
 * _sl_cpu_direct_conv_workspace_floats (d, cpu->threads). */
bool _sl_cpu_direct_conv_applies (const sl_conv_desc *d);
size_t _sl_cpu_direct_conv_workspace_floats (const sl_conv_desc *d, int threads);
void _sl_cpu_direct_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                  const float *w, const float *b, const float *pack,
                                  const sl_cpu_epilogue *post, float *y, float *ws);
/* One image on the calling thread (inside a pool share), with filters packed once by
 * _sl_cpu_direct_conv_pack (_packed_floats of room) and room for its bordered copy
 * (_image_floats). */
size_t _sl_cpu_direct_conv_packed_floats (const sl_conv_desc *d);
void _sl_cpu_direct_conv_pack (const sl_conv_desc *d, const float *w, const float *b, float *pack);
size_t _sl_cpu_direct_conv_image_floats (const sl_conv_desc *d);
void _sl_cpu_direct_conv_image (const sl_conv_desc *d, const float *x, const float *pack, float *y,
                                bool accumulate, float *room);
/* A direct kernel's pass over n images (sl-cpu-conv-direct.c runs it for
 * both kernels): each image bordered in the thread's room (pads, one
 * _sl_cpu_direct_conv_image_floats each), whole where the images are shared
 * out, or with fewer images than threads, image by image, the input rows of
 * the output rows split over the pool; `rows` then computes output rows
 * [oy0, oy1) of the bordered image xb into its output yi. A kernel's job
 * starts with its pass, so `rows` finds the job. */
typedef struct sl_cpu_direct_pass sl_cpu_direct_pass;
struct sl_cpu_direct_pass
{
  const sl_conv_desc *d;
  int n;
  const float *x;
  float *y;
  float *pads;
  long image;                  /* images < threads: the image being done */
  const sl_cpu_epilogue *post; /* NULL: none */
  void (*rows) (const sl_cpu_direct_pass *pass, const float *xb, int oy0, int oy1, float *yi);
};
void _sl_cpu_direct_conv_run (sl_cpu *cpu, sl_cpu_direct_pass *pass);
/* The same on the calling thread (inside a pool share), pads one room. */
void _sl_cpu_direct_conv_run_here (sl_cpu_direct_pass *pass);
/* The bordered copy of an image as those kernels lay it out, for the kernel of
 * sl-cpu-conv-channels.c: floats of a channel's plane and of a row, and where
 * each tap (ki, kj) starts from an output pixel's first input (kh * kw of them). */
void _sl_cpu_direct_conv_border_layout (const sl_conv_desc *d, size_t *plane, int *row_len,
                                        int *tap_offset);
/* The weight gradient of images, on the calling thread: each image's adds onto
 * the vector sums (_sl_cpu_direct_conv_grad_sums_floats (d), zeroed before the
 * first), and _finish adds their lanes onto dw. room holds
 * _sl_cpu_direct_conv_grad_image_floats (d) floats. */
size_t _sl_cpu_direct_conv_grad_image_floats (const sl_conv_desc *d);
size_t _sl_cpu_direct_conv_grad_sums_floats (const sl_conv_desc *d);
void _sl_cpu_direct_conv_weight_grad_image (const sl_conv_desc *d, const float *x, const float *dy,
                                            float *sums, float *room);
void _sl_cpu_direct_conv_weight_grad_finish (const sl_conv_desc *d, const float *sums, float *dw);

/* sl-cpu-conv-channels.c: the same convolutions with 32k filters and at least 8 input channels,
 * vectorised over filters (AVX-512 builds): for small images. Packed filters and a bordered
 * image a thread, as the other kernel: ws holds _sl_cpu_direct_conv_workspace_floats (d,
 * cpu->threads). */
bool _sl_cpu_channels_conv_applies (const sl_conv_desc *d);
void _sl_cpu_channels_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                    const float *w, const float *b, const float *pack,
                                    const sl_cpu_epilogue *post, float *y, float *ws);
/* One image on the calling thread, as _sl_cpu_direct_conv_image (the same sizes of packed
 * filters and room). */
void _sl_cpu_channels_conv_pack (const sl_conv_desc *d, const float *w, const float *b,
                                 float *pack);
void _sl_cpu_channels_conv_image (const sl_conv_desc *d, const float *x, const float *pack,
                                  float *y, bool accumulate, float *room);

/* sl-cpu-conv-winograd.c: 3 x 3 stride-1 convolutions with 32k filters, at least 16 input
 * channels and outputs at least 8 x 8 (and, under 64 channels, 32 wide) by Winograd's F(2x2, 3x3)
 * (AVX-512 builds); ws holds _sl_cpu_winograd_conv_workspace_floats (d, cpu->threads). */
bool _sl_cpu_winograd_conv_applies (const sl_conv_desc *d);
/* And whether a pass of n images should take it (the others where not). */
bool _sl_cpu_winograd_conv_pays (const sl_conv_desc *d, int n);
size_t _sl_cpu_winograd_conv_workspace_floats (const sl_conv_desc *d, int threads);
void _sl_cpu_winograd_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                    const float *w, const float *b, float *y, bool accumulate,
                                    float *ws);
/* One image on the calling thread, with filters transformed once by _pack
 * (_packed_floats of pack) and _image_floats of room. */
size_t _sl_cpu_winograd_conv_packed_floats (const sl_conv_desc *d);
size_t _sl_cpu_winograd_conv_image_floats (const sl_conv_desc *d);
void _sl_cpu_winograd_conv_pack (const sl_conv_desc *d, const float *w, const float *b,
                                 float *pack);
void _sl_cpu_winograd_conv_image (const sl_conv_desc *d, const float *x, const float *pack,
                                  float *y, bool accumulate, float *room);
/* The weight gradient the same way (3 x 3, stride 1, 16k filters, at least 8 channels, 32
 * filters or channels, images of at least 64 tiles, sums up to 1 MiB), image by image on the
 * calling thread: each adds onto the sums (_grad_sums_floats, zeroed before the first) with
 * _grad_image_floats of room, and _finish adds the weight gradient they make onto dw. */
bool _sl_cpu_winograd_conv_grad_applies (const sl_conv_desc *d);
size_t _sl_cpu_winograd_conv_grad_sums_floats (const sl_conv_desc *d);
size_t _sl_cpu_winograd_conv_grad_image_floats (const sl_conv_desc *d);
void _sl_cpu_winograd_conv_weight_grad_image (const sl_conv_desc *d, const float *x,
                                              const float *dy, float *sums, float *room);
void _sl_cpu_winograd_conv_weight_grad_finish (const sl_conv_desc *d, const float *sums, float *dw);

/* sl-cpu-conv-winograd4.c: 3 x 3 stride-1 convolutions with channels and filters in multiples
 * of 16, outputs of at most 16 x 16 (where the other kernels run short of tiles or lanes), by
 * Winograd's F(4x4, 3x3) over groups of images, its products as GEMMs; ws holds
 * _sl_cpu_winograd4_conv_workspace_floats (d, n, cpu->threads) for passes of up to n images. */
bool _sl_cpu_winograd4_conv_applies (const sl_conv_desc *d);
/* And whether a pass of n images should take it. */
bool _sl_cpu_winograd4_conv_pays (const sl_conv_desc *d, int n);
size_t _sl_cpu_winograd4_conv_workspace_floats (const sl_conv_desc *d, int n, int threads);
/* y = conv (x) + b, or y += that when accumulate. flip: w holds the filters of the convolution
 * that d is the input gradient of ([d->in_c][d->out_c][3][3]), used flipped. */
void _sl_cpu_winograd4_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                     const float *w, bool flip, const float *b, float *y,
                                     bool accumulate, float *ws);
/* dw (overwritten) of the pass's n images. */
void _sl_cpu_winograd4_conv_weight_grad (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                         const float *dy, float *dw, float *ws);

/* sl-cpu-conv-phases.c: a strided convolution's dx, phase by phase of the
 * input, one image at a time. phase_w holds what _sl_cpu_phase_dx_pack makes
 * of the filters (as many floats as they); col one phase's columns
 * (_col_floats), stage one image's dx. */
bool _sl_cpu_phase_dx_applies (const sl_conv_desc *d);
size_t _sl_cpu_phase_dx_col_floats (const sl_conv_desc *d);
void _sl_cpu_phase_dx_pack (const sl_conv_desc *d, const float *w, float *phase_w);
void _sl_cpu_phase_dx_image (const sl_conv_desc *d, const float *phase_w, const float *dy,
                             float *dx, bool accumulate, float *col, float *stage);

/* sl-cpu-conv.c: the im2col + GEMM path for every convolution, depthwise
 * included (tests and benchmarks compare the two); ws holds
 * _sl_cpu_gemm_conv_workspace_floats (d, cpu->threads) floats and scratch
 * (threads - 1) * _sl_cpu_gemm_conv_grad_scratch_floats (d). */
size_t _sl_cpu_gemm_conv_workspace_floats (const sl_conv_desc *d, int threads);
/* The convolution of dy whose output is a stride-1 convolution's dx: out_c
 * inputs, in_c outputs, flipped filters, the padding the original left out. */
sl_conv_desc _sl_cpu_conv_dx_desc (const sl_conv_desc *d);
size_t _sl_cpu_gemm_conv_grad_scratch_floats (const sl_conv_desc *d);
void _sl_cpu_gemm_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                const float *w, const float *b, float *y, float *ws);
void _sl_cpu_gemm_conv_backward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                 const float *w, const float *dy, float *dx, bool accumulate,
                                 float *dw, float *db, float *ws, float *scratch);

/* dx = v or dx += v. */
static inline void
_sl_store_grad (float *dx, float v, bool accumulate)
{
  if (accumulate)
    *dx += v;
  else
    *dx = v;
}

/* Per-backend entry points, one group per file. */
size_t _sl_cpu_conv2d_workspace (sl_backend *be, const sl_conv_desc *d, int n);
size_t _sl_cpu_conv2d_grad_scratch (sl_backend *be, const sl_conv_desc *d);
void _sl_cpu_conv2d_forward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                             const float *w, const float *b, float *y, float *ws, size_t ws_floats);
void _sl_cpu_conv2d_pack (sl_backend *be, const sl_conv_desc *d, const float *w, const float *b,
                          float *pack);
void _sl_cpu_conv2d_forward_fused (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                                   const float *w, const float *b, const float *pack,
                                   const float *r, bool activate, sl_activation act, float slope,
                                   float *y, float *ws, size_t ws_floats);
void _sl_cpu_conv2d_backward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                              const float *w, const float *dy, float *dx, bool accumulate,
                              float *dw, float *db, float *ws, size_t ws_floats, float *scratch);
void _sl_cpu_dense_forward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                            const float *b, float *y);
void _sl_cpu_dense_backward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                             const float *dy, float *dx, bool accumulate, float *dw, float *db);
void _sl_cpu_dense_forward_fused (sl_backend *be, int n, int in, int out, const float *x,
                                  const float *w, const float *b, bool activate, sl_activation act,
                                  float slope, float *y);
void _sl_cpu_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                                const float *gamma, const float *beta, float *running_mean,
                                float *running_var, float epsilon, float momentum, float *saved,
                                float *y);
void _sl_cpu_batchnorm_backward (sl_backend *be, int n, int c, int hw, const float *x,
                                 const float *gamma, const float *saved, float epsilon,
                                 const float *dy, float *dx, bool accumulate, float *dgamma,
                                 float *dbeta);
void _sl_cpu_batchnorm_backward_running (sl_backend *be, int n, int c, int hw, const float *x,
                                         const float *gamma, const float *running_mean,
                                         const float *running_var, float epsilon, const float *dy,
                                         float *dx, bool accumulate, float *dgamma, float *dbeta);
void _sl_cpu_batchnorm_act (sl_backend *be, bool recompute, int n, int c, int hw, const float *x,
                            const float *gamma, const float *beta, float *running_mean,
                            float *running_var, float epsilon, float momentum, float *saved,
                            bool activate, sl_activation act, float slope, float *y);
/* y = act (x) over n floats (y may be x): the activation kernels' arithmetic. */
void _sl_cpu_activation_range (sl_activation act, float slope, const float *x, float *y, long n);
void _sl_cpu_pool_forward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                           const float *x, float *y, void *argmax);
void _sl_cpu_pool_backward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                            const float *dy, const void *argmax, float *dx, bool accumulate);
void _sl_cpu_pool_backward_act (sl_backend *be, const sl_conv_desc *d, int n, const float *dy,
                                const void *argmax, const float *y, sl_activation act, float slope,
                                float *dx, bool accumulate);
void _sl_cpu_global_avgpool_forward (sl_backend *be, int n, int c, int hw, const float *x,
                                     float *y);
void _sl_cpu_global_avgpool_backward (sl_backend *be, int n, int c, int hw, const float *dy,
                                      float *dx, bool accumulate);
void _sl_cpu_activation_forward (sl_backend *be, sl_activation act, float slope, size_t len,
                                 const float *x, float *y);
void _sl_cpu_activation_backward (sl_backend *be, sl_activation act, float slope, size_t len,
                                  const float *y, const float *dy, float *dx, bool accumulate);
void _sl_cpu_dropout_forward (sl_backend *be, size_t len, float rate, uint64_t seed, const float *x,
                              float *mask, float *y);
void _sl_cpu_mul_backward (sl_backend *be, size_t len, const float *mask, const float *dy,
                           float *dx, bool accumulate);
void _sl_cpu_add_forward (sl_backend *be, size_t len, const float *a, const float *b, float *y);
void _sl_cpu_copy_grad (sl_backend *be, size_t len, const float *dy, float *dx, bool accumulate);
void _sl_cpu_all_finite (sl_backend *be, size_t len, const float *x, double *stats);
void _sl_cpu_softmax_xent (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                           const sl_loss_desc *loss, float *dlogits, double *stats);
void _sl_cpu_softmax (sl_backend *be, int n, int k, const float *logits, float *probs);
void _sl_cpu_optimizer_step (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                             const float *grads, float *m, float *v);
