/* sl-cpu-backend.c: the CPU backend's function table, memory and pool-split GEMM. */
#include "sl-cpu-private.h"
#include "sl-block-private.h"
#include "sl-error-private.h"

#include <stdlib.h>
#include <string.h>

/* Debian's OpenBLAS exports this; our pool does the threading instead. */
extern void openblas_set_num_threads (int num_threads);

/* Zeroed and 64-byte aligned. Large blocks (weights, plans) come fresh from
 * the kernel, already zero, on huge pages: nothing clears them twice, and a
 * cold start's first prediction no longer waits on thousands of page faults. */
static void *
cpu_alloc (sl_backend *be, size_t bytes)
{
  if (bytes == 0)
    bytes = 64;
  if (bytes > SIZE_MAX - 63)
    return NULL;
  return _sl_block_alloc ((bytes + 63) & ~(size_t) 63);
}

static void
cpu_release (sl_backend *be, void *ptr)
{
  _sl_block_free (ptr);
}

/* Backend memory is host memory: copies are plain copies, and every op has
 * finished when it returns. */
static void
cpu_upload (sl_backend *be, void *dst, const void *src, size_t bytes)
{
  if (bytes > 0)
    memcpy (dst, src, bytes);
}

static sl_status
cpu_download (sl_backend *be, void *dst, const void *src, size_t bytes, sl_error *err)
{
  if (bytes > 0)
    memcpy (dst, src, bytes);
  return SL_OK;
}

static void
cpu_zero (sl_backend *be, void *dst, size_t bytes)
{
  if (bytes > 0)
    memset (dst, 0, bytes);
}

static sl_status
cpu_sync (sl_backend *be, sl_error *err)
{
  return SL_OK;
}

static void
cpu_destroy (sl_backend *be)
{
  sl_cpu *cpu;

  if (be == NULL)
    return;
  cpu = _sl_cpu_of (be);
  if (cpu != NULL)
    {
      _sl_threadpool_free (cpu->pool);
      free (cpu->bn_scratch);
    }
  free (cpu);
  free (be);
}

static const sl_backend_ops cpu_ops = {
  .abi_version = SL_BACKEND_ABI_VERSION,
  .name = "cpu",
  .host_memory = true,
  .destroy = cpu_destroy,
  .alloc = cpu_alloc,
  .release = cpu_release,
  .upload = cpu_upload,
  .download = cpu_download,
  .zero = cpu_zero,
  .sync = cpu_sync,
  .conv2d_workspace = _sl_cpu_conv2d_workspace,
  .conv2d_grad_scratch = _sl_cpu_conv2d_grad_scratch,
  .conv2d_forward = _sl_cpu_conv2d_forward,
  .conv2d_backward = _sl_cpu_conv2d_backward,
  .conv2d_pack_floats = _sl_cpu_conv2d_pack_floats,
  .conv2d_pack = _sl_cpu_conv2d_pack,
  .conv2d_forward_fused = _sl_cpu_conv2d_forward_fused,
  .dense_forward = _sl_cpu_dense_forward,
  .dense_backward = _sl_cpu_dense_backward,
  .dense_forward_fused = _sl_cpu_dense_forward_fused,
  .batchnorm_forward = _sl_cpu_batchnorm_forward,
  .batchnorm_backward = _sl_cpu_batchnorm_backward,
  .batchnorm_backward_running = _sl_cpu_batchnorm_backward_running,
  .batchnorm_act = _sl_cpu_batchnorm_act,
  .activation_forward = _sl_cpu_activation_forward,
  .activation_backward = _sl_cpu_activation_backward,
  .pool_forward = _sl_cpu_pool_forward,
  .pool_backward = _sl_cpu_pool_backward,
  .pool_backward_act = _sl_cpu_pool_backward_act,
  .batchnorm_backward_in_place = true,
  .global_avgpool_forward = _sl_cpu_global_avgpool_forward,
  .global_avgpool_backward = _sl_cpu_global_avgpool_backward,
  .dropout_forward = _sl_cpu_dropout_forward,
  .mul_backward = _sl_cpu_mul_backward,
  .add_forward = _sl_cpu_add_forward,
  .copy_grad = _sl_cpu_copy_grad,
  .softmax_xent = _sl_cpu_softmax_xent,
  .softmax = _sl_cpu_softmax,
  .optimizer_step = _sl_cpu_optimizer_step,
  .all_finite = _sl_cpu_all_finite,
};

sl_status
_sl_cpu_backend_new (int threads, sl_backend **out, sl_error *err)
{
  sl_backend *be = calloc (1, sizeof *be);
  sl_cpu *cpu = calloc (1, sizeof *cpu);
  sl_status st;

  *out = NULL;
  if (be == NULL || cpu == NULL)
    {
      free (be);
      free (cpu);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating the CPU backend");
    }
  be->ops = &cpu_ops;
  be->priv = cpu;
  st = _sl_threadpool_new (threads, &cpu->pool, err);
  if (st != SL_OK)
    {
      cpu_destroy (be);
      return st;
    }
  cpu->threads = threads;
  /* Each pool thread calls single-threaded GEMM on its own share. */
  _sl_cpu_blas_core_ready ();
  openblas_set_num_threads (1);
  *out = be;
  return SL_OK;
}

typedef struct
{
  bool trans_a, trans_b, split_rows;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
} gemm_job;

/* Below this many outputs, OpenBLAS's own clearing costs next to nothing. */
#define CLEAR_MIN 4096

/* One row-major SGEMM. OpenBLAS clears C for beta 0 in a pass of its own, at
 * well under memset's speed (seed-cnn's dense weight gradient, 6.4 MB a
 * thread: 0.5 ms against 0.2 ms); its kernels add onto C in either case, so
 * clearing C here and asking for beta 1 gives the same bits. */
void
_sl_cpu_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  if (beta == 0.0f && (size_t) m * n >= CLEAR_MIN)
    {
      if (ldc == n)
        memset (c, 0, sizeof (float) * m * n);
      else
        for (int r = 0; r < m; r++)
          memset (c + (size_t) r * ldc, 0, sizeof (float) * n);
      beta = 1.0f;
    }
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void
gemm_share (void *ctx, int t, int threads)
{
  const gemm_job *j = ctx;
  long total = j->split_rows ? j->m : j->n;
  /* Shares in multiples of 16 keep the kernels on full vector widths. */
  long blocks = (total + 15) / 16, b0, b1, lo, hi;

  _sl_split_range (blocks, t, threads, &b0, &b1);
  lo = b0 * 16;
  hi = b1 * 16 < total ? b1 * 16 : total;
  if (lo >= hi)
    return;
  if (j->split_rows)
    {
      const float *a = j->trans_a ? j->a + lo : j->a + lo * j->lda;

      _sl_cpu_sgemm (j->trans_a, j->trans_b, (int) (hi - lo), j->n, j->k, j->alpha, a, j->lda, j->b,
                     j->ldb, j->beta, j->c + lo * j->ldc, j->ldc);
    }
  else
    {
      const float *b = j->trans_b ? j->b + lo * j->ldb : j->b + lo;

      _sl_cpu_sgemm (j->trans_a, j->trans_b, j->m, (int) (hi - lo), j->k, j->alpha, j->a, j->lda, b,
                     j->ldb, j->beta, j->c + lo, j->ldc);
    }
}

typedef struct
{
  bool trans;
  int rows, cols, lda;
  float alpha, beta;
  const float *a, *x;
  float *y;
} gemv_job;

/* y = alpha * op(A) x + beta * y, split over the entries of y. */
static void
gemv_share (void *ctx, int t, int threads)
{
  const gemv_job *j = ctx;
  long out = j->trans ? j->cols : j->rows, lo, hi;

  _sl_split_range ((out + 15) / 16, t, threads, &lo, &hi);
  lo *= 16;
  hi = hi * 16 < out ? hi * 16 : out;
  if (lo >= hi)
    return;
  if (j->trans)
    cblas_sgemv (CblasRowMajor, CblasTrans, j->rows, (int) (hi - lo), j->alpha, j->a + lo, j->lda,
                 j->x, 1, j->beta, j->y + lo, 1);
  else
    cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) (hi - lo), j->cols, j->alpha,
                 j->a + lo * j->lda, j->lda, j->x, 1, j->beta, j->y + lo, 1);
}

void
_sl_cpu_gemm (sl_cpu *cpu, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  gemm_job j = { trans_a, trans_b, n < 64 && m > n, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c };

  /* A single output row is a matrix-vector product: GEMM would first copy
   * (pack) the whole of B, which costs more than the product itself. */
  if (m == 1 && !trans_a)
    {
      gemv_job v = { .trans = !trans_b,
                     .rows = trans_b ? n : k,
                     .cols = trans_b ? k : n,
                     .lda = ldb,
                     .alpha = alpha,
                     .beta = beta,
                     .a = b,
                     .x = a,
                     .y = c };

      if (cpu->threads == 1 || (double) n * k < 65536.0)
        gemv_share (&v, 0, 1);
      else
        _sl_threadpool_run (cpu->pool, gemv_share, &v);
      return;
    }
  if (cpu->threads == 1 || (double) m * n * k < 65536.0)
    {
      _sl_cpu_sgemm (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }
  _sl_threadpool_run (cpu->pool, gemm_share, &j);
}

bool
_sl_cpu_backend_parallel (sl_backend *be, sl_parallel_fn fn, void *ctx)
{
  sl_cpu *cpu;

  if (be == NULL || be->ops != &cpu_ops)
    return false;
  cpu = _sl_cpu_of (be);
  if (cpu->threads == 1)
    fn (ctx, 0, 1);
  else
    _sl_threadpool_run (cpu->pool, fn, ctx);
  return true;
}
