/* fake-device-backend.c: an emulated GPU for the engine tests: the CPU backend's kernels behind
 * memory the engine cannot touch directly.
 *
 * Its alloc hands out addresses moved by 2^62 (non-canonical on x86-64), so
 * any place where the engine reads or writes backend memory itself, instead
 * of through upload, download and the ops, crashes the test. Every op moves
 * the addresses back and runs the CPU kernel, so results are bit-identical
 * to the CPU backend with the same thread count. Environment knobs:
 * SL_FAKE_GPU_MEMORY (bytes the device holds), SL_FAKE_GPU_WRONG (a relu
 * that is off by 0.01, for the self-check), SL_FAKE_GPU_FAIL_AT (the op
 * count at which every later op fails, as a lost device would). */
#include "fake-device-backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_OFFSET ((uintptr_t) 1 << 62)
#define FAKE_THREADS  2

typedef struct
{
  sl_backend *cpu;
  size_t used, limit;
  bool wrong;
  long ops, fail_at; /* fail_at < 0: never */
  sl_status error;
  char message[200];
} Fake;

static Fake *
fake_of (sl_backend *be)
{
  return be->priv;
}

static void *
H (const void *p)
{
  return p != NULL ? (void *) ((uintptr_t) p - DEVICE_OFFSET) : NULL;
}

static void *
D (void *p)
{
  return p != NULL ? (void *) ((uintptr_t) p + DEVICE_OFFSET) : NULL;
}

/* Counts an op; false when the device has "failed" (the op is skipped). */
static bool
op (sl_backend *be)
{
  Fake *f = fake_of (be);

  f->ops++;
  if (f->fail_at >= 0 && f->ops >= f->fail_at)
    {
      if (f->error == SL_OK)
        {
          f->error = SL_ERR_DEVICE;
          snprintf (f->message, sizeof f->message,
                    "the emulated GPU failed (an unspecified launch failure)");
        }
      return false;
    }
  return true;
}

#define CPU(be) (fake_of (be)->cpu)
#define OPS(be) (fake_of (be)->cpu->ops)

static void
fake_destroy (sl_backend *be)
{
  Fake *f = fake_of (be);

  f->cpu->ops->destroy (f->cpu);
  free (f);
  free (be);
}

/* A size header before each block, so release knows what returns to the budget. */
static void *
fake_alloc (sl_backend *be, size_t bytes)
{
  Fake *f = fake_of (be);
  size_t *block;

  if (f->limit > 0 && f->used + bytes > f->limit)
    return NULL;
  block = OPS (be)->alloc (CPU (be), bytes + 64);
  if (block == NULL)
    return NULL;
  block[0] = bytes;
  f->used += bytes;
  return D ((char *) block + 64);
}

static void
fake_release (sl_backend *be, void *ptr)
{
  size_t *block;

  if (ptr == NULL)
    return;
  block = (size_t *) ((char *) H (ptr) - 64);
  fake_of (be)->used -= block[0];
  OPS (be)->release (CPU (be), block);
}

static void
fake_upload (sl_backend *be, void *dst, const void *src, size_t bytes)
{
  if (op (be) && bytes > 0)
    memcpy (H (dst), src, bytes);
}

static sl_status
fake_sync (sl_backend *be, sl_error *err)
{
  Fake *f = fake_of (be);
  sl_status st = f->error;

  if (st != SL_OK && err != NULL)
    {
      err->code = st;
      snprintf (err->message, sizeof err->message, "%s", f->message);
    }
  f->error = SL_OK;
  return st;
}

static sl_status
fake_download (sl_backend *be, void *dst, const void *src, size_t bytes, sl_error *err)
{
  if (op (be) && bytes > 0)
    memcpy (dst, H (src), bytes);
  return fake_sync (be, err);
}

static void
fake_zero (sl_backend *be, void *dst, size_t bytes)
{
  if (op (be) && bytes > 0)
    memset (H (dst), 0, bytes);
}

static size_t
fake_conv2d_workspace (sl_backend *be, const sl_conv_desc *d, int n)
{
  return OPS (be)->conv2d_workspace (CPU (be), d, n);
}

static size_t
fake_conv2d_grad_scratch (sl_backend *be, const sl_conv_desc *d)
{
  return OPS (be)->conv2d_grad_scratch (CPU (be), d);
}

static void
fake_conv2d_forward (sl_backend *be, const sl_conv_desc *d, int n, const float *x, const float *w,
                     const float *b, float *y, float *ws, size_t ws_floats)
{
  if (op (be))
    OPS (be)->conv2d_forward (CPU (be), d, n, H (x), H (w), H (b), H (y), H (ws), ws_floats);
}

static void
fake_conv2d_backward (sl_backend *be, const sl_conv_desc *d, int n, const float *x, const float *w,
                      const float *dy, float *dx, bool accumulate, float *dw, float *db, float *ws,
                      size_t ws_floats, float *scratch)
{
  if (op (be))
    OPS (be)->conv2d_backward (CPU (be), d, n, H (x), H (w), H (dy), H (dx), accumulate, H (dw),
                               H (db), H (ws), ws_floats, H (scratch));
}

static void
fake_dense_forward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                    const float *b, float *y)
{
  if (op (be))
    OPS (be)->dense_forward (CPU (be), n, in, out, H (x), H (w), H (b), H (y));
}

static void
fake_dense_forward_fused (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                          const float *b, bool activate, sl_activation act, float slope, float *y)
{
  if (op (be))
    OPS (be)->dense_forward_fused (CPU (be), n, in, out, H (x), H (w), H (b), activate, act, slope,
                                   H (y));
}

static void
fake_dense_backward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                     const float *dy, float *dx, bool accumulate, float *dw, float *db)
{
  if (op (be))
    OPS (be)->dense_backward (CPU (be), n, in, out, H (x), H (w), H (dy), H (dx), accumulate,
                              H (dw), H (db));
}

static void
fake_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                        const float *gamma, const float *beta, float *running_mean,
                        float *running_var, float epsilon, float momentum, float *saved, float *y)
{
  if (op (be))
    OPS (be)->batchnorm_forward (CPU (be), training, n, c, hw, H (x), H (gamma), H (beta),
                                 H (running_mean), H (running_var), epsilon, momentum, H (saved),
                                 H (y));
}

static void
fake_batchnorm_backward (sl_backend *be, int n, int c, int hw, const float *x, const float *gamma,
                         const float *saved, float epsilon, const float *dy, float *dx,
                         bool accumulate, float *dgamma, float *dbeta)
{
  if (op (be))
    OPS (be)->batchnorm_backward (CPU (be), n, c, hw, H (x), H (gamma), H (saved), epsilon, H (dy),
                                  H (dx), accumulate, H (dgamma), H (dbeta));
}

static void
fake_batchnorm_backward_running (sl_backend *be, int n, int c, int hw, const float *x,
                                 const float *gamma, const float *running_mean,
                                 const float *running_var, float epsilon, const float *dy,
                                 float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  if (op (be))
    OPS (be)->batchnorm_backward_running (CPU (be), n, c, hw, H (x), H (gamma), H (running_mean),
                                          H (running_var), epsilon, H (dy), H (dx), accumulate,
                                          H (dgamma), H (dbeta));
}

static void
fake_activation_forward (sl_backend *be, sl_activation act, float slope, size_t len, const float *x,
                         float *y)
{
  if (!op (be))
    return;
  OPS (be)->activation_forward (CPU (be), act, slope, len, H (x), H (y));
  if (fake_of (be)->wrong && act == SL_ACT_RELU)
    for (size_t i = 0; i < len; i++)
      ((float *) H (y))[i] += 0.01f;
}

static void
fake_activation_backward (sl_backend *be, sl_activation act, float slope, size_t len,
                          const float *y, const float *dy, float *dx, bool accumulate)
{
  if (op (be))
    OPS (be)->activation_backward (CPU (be), act, slope, len, H (y), H (dy), H (dx), accumulate);
}

static void
fake_pool_forward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n, const float *x,
                   float *y, void *argmax)
{
  if (op (be))
    OPS (be)->pool_forward (CPU (be), kind, d, n, H (x), H (y), H (argmax));
}

static void
fake_pool_backward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                    const float *dy, const void *argmax, float *dx, bool accumulate)
{
  if (op (be))
    OPS (be)->pool_backward (CPU (be), kind, d, n, H (dy), H (argmax), H (dx), accumulate);
}

static void
fake_global_avgpool_forward (sl_backend *be, int n, int c, int hw, const float *x, float *y)
{
  if (op (be))
    OPS (be)->global_avgpool_forward (CPU (be), n, c, hw, H (x), H (y));
}

static void
fake_global_avgpool_backward (sl_backend *be, int n, int c, int hw, const float *dy, float *dx,
                              bool accumulate)
{
  if (op (be))
    OPS (be)->global_avgpool_backward (CPU (be), n, c, hw, H (dy), H (dx), accumulate);
}

static void
fake_dropout_forward (sl_backend *be, size_t len, float rate, uint64_t seed, const float *x,
                      float *mask, float *y)
{
  if (op (be))
    OPS (be)->dropout_forward (CPU (be), len, rate, seed, H (x), H (mask), H (y));
}

static void
fake_mul_backward (sl_backend *be, size_t len, const float *mask, const float *dy, float *dx,
                   bool accumulate)
{
  if (op (be))
    OPS (be)->mul_backward (CPU (be), len, H (mask), H (dy), H (dx), accumulate);
}

static void
fake_add_forward (sl_backend *be, size_t len, const float *a, const float *b, float *y)
{
  if (op (be))
    OPS (be)->add_forward (CPU (be), len, H (a), H (b), H (y));
}

static void
fake_copy_grad (sl_backend *be, size_t len, const float *dy, float *dx, bool accumulate)
{
  if (op (be))
    OPS (be)->copy_grad (CPU (be), len, H (dy), H (dx), accumulate);
}

static void
fake_softmax_xent (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                   const sl_loss_desc *loss, float *dlogits, double *stats)
{
  sl_loss_desc host = { H (loss->weights), loss->smoothing };

  if (op (be))
    OPS (be)->softmax_xent (CPU (be), n, k, H (logits), H (labels), &host, H (dlogits), H (stats));
}

static void
fake_softmax (sl_backend *be, int n, int k, const float *logits, float *probs)
{
  if (op (be))
    OPS (be)->softmax (CPU (be), n, k, H (logits), H (probs));
}

static void
fake_optimizer_step (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                     const float *grads, float *m, float *v)
{
  if (op (be))
    OPS (be)->optimizer_step (CPU (be), s, len, H (params), H (grads), H (m), H (v));
}

static void
fake_all_finite (sl_backend *be, size_t len, const float *x, double *stats)
{
  if (op (be))
    OPS (be)->all_finite (CPU (be), len, H (x), H (stats));
}

static const sl_backend_ops fake_ops = {
  .abi_version = SL_BACKEND_ABI_VERSION,
  .name = "emulated-gpu",
  .host_memory = false,
  .destroy = fake_destroy,
  .alloc = fake_alloc,
  .release = fake_release,
  .upload = fake_upload,
  .download = fake_download,
  .zero = fake_zero,
  .sync = fake_sync,
  .conv2d_workspace = fake_conv2d_workspace,
  .conv2d_grad_scratch = fake_conv2d_grad_scratch,
  .conv2d_forward = fake_conv2d_forward,
  .conv2d_backward = fake_conv2d_backward,
  .dense_forward = fake_dense_forward,
  .dense_backward = fake_dense_backward,
  .dense_forward_fused = fake_dense_forward_fused,
  .batchnorm_forward = fake_batchnorm_forward,
  .batchnorm_backward = fake_batchnorm_backward,
  .batchnorm_backward_running = fake_batchnorm_backward_running,
  .activation_forward = fake_activation_forward,
  .activation_backward = fake_activation_backward,
  .pool_forward = fake_pool_forward,
  .pool_backward = fake_pool_backward,
  .global_avgpool_forward = fake_global_avgpool_forward,
  .global_avgpool_backward = fake_global_avgpool_backward,
  .dropout_forward = fake_dropout_forward,
  .mul_backward = fake_mul_backward,
  .add_forward = fake_add_forward,
  .copy_grad = fake_copy_grad,
  .softmax_xent = fake_softmax_xent,
  .softmax = fake_softmax,
  .optimizer_step = fake_optimizer_step,
  .all_finite = fake_all_finite,
};

static long
env_long (const char *name, long fallback)
{
  const char *v = getenv (name);

  return v != NULL && v[0] != '\0' ? strtol (v, NULL, 10) : fallback;
}

sl_status
fake_device_backend_new (sl_backend **out, sl_error *err)
{
  sl_backend *be = calloc (1, sizeof *be);
  Fake *f = calloc (1, sizeof *f);
  sl_status st;

  *out = NULL;
  if (be == NULL || f == NULL)
    {
      free (be);
      free (f);
      return SL_ERR_NOMEM;
    }
  st = _sl_cpu_backend_new (FAKE_THREADS, &f->cpu, err);
  if (st != SL_OK)
    {
      free (be);
      free (f);
      return st;
    }
  f->limit = (size_t) env_long ("SL_FAKE_GPU_MEMORY", 0);
  f->wrong = env_long ("SL_FAKE_GPU_WRONG", 0) != 0;
  f->fail_at = env_long ("SL_FAKE_GPU_FAIL_AT", -1);
  be->ops = &fake_ops;
  be->priv = f;
  *out = be;
  return SL_OK;
}
