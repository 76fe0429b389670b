/* test-backend-parity.c: every op of the CUDA backend against the CPU backend on random inputs,
 * forward and backward, then whole training steps and running out of GPU memory. Skips where no
 * usable CUDA device exists. */
#include "sl-test-support.h"
#include "sl-device-private.h"
#include "sl-model-private.h"

#include <math.h>
#include <string.h>

/* Both backends, or a skip saying why there is no GPU. */
typedef struct
{
  sl_device_list *list;
  size_t gpu_index;
  sl_backend *cpu, *gpu;
} Backends;

static gboolean
backends_open (Backends *b)
{
  const char *dir = g_getenv ("SL_CUDA_MODULE_BUILD_DIR");
  sl_error err = { 0 };

  memset (b, 0, sizeof *b);
  if (dir != NULL && dir[0] != '\0' && g_getenv ("SIGHTLINE_CUDA_MODULE_DIR") == NULL)
    g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", dir, TRUE);
  sl_assert_ok (sl_device_list_new (&b->list, &err), &err);
  for (size_t i = 0; i < sl_device_list_count (b->list) && b->gpu_index == 0; i++)
    if (sl_device_list_get (b->list, i)->kind == SL_DEVICE_CUDA
        && sl_device_list_get (b->list, i)->usable)
      b->gpu_index = i;
  if (b->gpu_index == 0)
    {
      g_autofree char *why
          = g_strdup_printf ("no usable CUDA device: %s", sl_device_list_gpu_status (b->list));
      g_test_skip (why);
      sl_device_list_free (b->list);
      return FALSE;
    }
  /* With the self-check: a GPU that fails it says so here, first. */
  sl_assert_ok (_sl_device_list_backend_new (b->list, b->gpu_index, 2, TRUE, &b->gpu, &err), &err);
  sl_assert_ok (_sl_cpu_backend_new (2, &b->cpu, &err), &err);
  return TRUE;
}

static void
backends_close (Backends *b)
{
  b->gpu->ops->destroy (b->gpu);
  b->cpu->ops->destroy (b->cpu);
  sl_device_list_free (b->list);
}

static float *
random_floats (gsize n, guint64 seed)
{
  float *x = g_new (float, n ? n : 1);

  sl_test_fill_normal (x, n, seed, 1.0f);
  return x;
}

/* A device copy of host data (freed with gpu_free). */
static void *
gpu_copy (Backends *b, const void *host, gsize bytes)
{
  void *d = b->gpu->ops->alloc (b->gpu, bytes);

  g_assert_nonnull (d);
  if (host != NULL)
    b->gpu->ops->upload (b->gpu, d, host, bytes);
  return d;
}

static void
gpu_free (Backends *b, void *d)
{
  b->gpu->ops->release (b->gpu, d);
}

/* The device buffer's contents in a new host buffer. */
static void *
host_copy (Backends *b, const void *d, gsize bytes)
{
  void *h = g_malloc (bytes ? bytes : 1);
  sl_error err = { 0 };

  sl_assert_ok (b->gpu->ops->download (b->gpu, h, d, bytes, &err), &err);
  return h;
}

static void
assert_close (const char *what, const float *cpu, const float *gpu, gsize n, double tolerance)
{
  double e = sl_test_rel_error (cpu, gpu, n, 1e-6);

  g_test_message ("%s: %zu values, relative error %.2e", what, n, e);
  g_assert_cmpfloat (e, <, tolerance);
}

/* Compares a device buffer with the CPU's result. */
static void
check (Backends *b, const char *what, const float *cpu, const float *dev, gsize n, double tolerance)
{
  g_autofree float *gpu = host_copy (b, dev, n * sizeof (float));

  assert_close (what, cpu, gpu, n, tolerance);
}

/* ---- Convolution ---------------------------------------------------------------- */

typedef struct
{
  const char *name;
  int in_c, in_h, in_w, out_c, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  gboolean bias;
  int ph_more, pw_more; /* bottom and right padding beyond ph, pw ("same" at stride 2) */
} ConvCase;

static const ConvCase conv_cases[] = {
  { "plain", 3, 16, 16, 8, 3, 3, 1, 1, 0, 0, 1, 1, 1, TRUE },
  { "same", 8, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, TRUE },
  { "strided-padded", 4, 15, 13, 6, 3, 2, 2, 1, 1, 0, 1, 1, 1, TRUE },
  { "dilated", 3, 13, 13, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1, TRUE },
  { "grouped", 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2, TRUE },
  { "depthwise", 6, 11, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6, TRUE },
  { "pointwise-nobias", 16, 7, 7, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1, FALSE },
  { "stem-7x7", 3, 32, 32, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1, TRUE },
  { "same-s2-k3", 8, 16, 16, 16, 3, 3, 2, 2, 0, 0, 1, 1, 1, TRUE, 1, 1 },
  { "same-s2-depthwise-k5", 12, 14, 14, 12, 5, 5, 2, 2, 1, 1, 1, 1, 12, FALSE, 1, 1 },
  { "asymmetric-rows", 4, 9, 10, 6, 3, 3, 1, 2, 0, 2, 1, 1, 2, TRUE, 2, -1 },
};

static sl_conv_desc
desc_of (const ConvCase *k)
{
  sl_conv_desc d = { .in_c = k->in_c,
                     .in_h = k->in_h,
                     .in_w = k->in_w,
                     .out_c = k->out_c,
                     .kh = k->kh,
                     .kw = k->kw,
                     .sh = k->sh,
                     .sw = k->sw,
                     .ph = k->ph,
                     .pw = k->pw,
                     .ph_end = k->ph + k->ph_more,
                     .pw_end = k->pw + k->pw_more,
                     .dh = k->dh,
                     .dw = k->dw,
                     .groups = k->groups };

  d.out_h = (d.in_h + d.ph + d.ph_end - d.dh * (d.kh - 1) - 1) / d.sh + 1;
  d.out_w = (d.in_w + d.pw + d.pw_end - d.dw * (d.kw - 1) - 1) / d.sw + 1;
  return d;
}

static void
test_conv (gconstpointer data)
{
  const ConvCase *k = data;
  const sl_conv_desc d = desc_of (k);
  const int n = 5;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w;
  const gsize nw = (gsize) d.out_c * (d.in_c / d.groups) * d.kh * d.kw;
  Backends b;

  if (!backends_open (&b))
    return;
  g_autofree float *x = random_floats (nx, 1), *w = random_floats (nw, 2);
  g_autofree float *bias = random_floats (d.out_c, 3), *dy = random_floats (ny, 4);
  g_autofree float *y = g_new (float, ny), *dx = random_floats (nx, 5), *dw = g_new (float, nw);
  g_autofree float *db = g_new (float, d.out_c);
  g_autofree float *dx0 = g_memdup2 (dx, nx * sizeof (float));
  const float *bp = k->bias ? bias : NULL;
  size_t ws = b.cpu->ops->conv2d_workspace (b.cpu, &d, n);
  g_autofree float *cws = g_new0 (float, ws + 1);
  g_autofree float *scratch = g_new0 (float, b.cpu->ops->conv2d_grad_scratch (b.cpu, &d) * 2 + 1);
  size_t gws = b.gpu->ops->conv2d_workspace (b.gpu, &d, n);
  sl_error err = { 0 };

  sl_assert_ok (b.gpu->ops->sync (b.gpu, &err), &err);
  float *gx = gpu_copy (&b, x, nx * 4), *gw = gpu_copy (&b, w, nw * 4);
  float *gb = gpu_copy (&b, bias, d.out_c * 4), *gdy = gpu_copy (&b, dy, ny * 4);
  float *gy = gpu_copy (&b, NULL, ny * 4), *gdx = gpu_copy (&b, dx, nx * 4);
  float *gdw = gpu_copy (&b, NULL, nw * 4), *gdb = gpu_copy (&b, NULL, d.out_c * 4);
  float *gws_buf = gpu_copy (&b, NULL, (gws + 1) * 4);

  b.cpu->ops->conv2d_forward (b.cpu, &d, n, x, w, bp, y, cws, ws);
  b.gpu->ops->conv2d_forward (b.gpu, &d, n, gx, gw, k->bias ? gb : NULL, gy, gws_buf, gws);
  check (&b, "forward", y, gy, ny, 1e-5);

  /* Adding into an existing gradient, as a residual shortcut does. */
  b.cpu->ops->conv2d_backward (b.cpu, &d, n, x, w, dy, dx, TRUE, dw, k->bias ? db : NULL, cws, ws,
                               scratch);
  b.gpu->ops->conv2d_backward (b.gpu, &d, n, gx, gw, gdy, gdx, TRUE, gdw, k->bias ? gdb : NULL,
                               gws_buf, gws, NULL);
  check (&b, "input gradient (added)", dx, gdx, nx, 1e-5);
  check (&b, "weight gradient", dw, gdw, nw, 1e-5);
  if (k->bias)
    check (&b, "bias gradient", db, gdb, d.out_c, 1e-5);
  /* Overwriting, with a smaller batch than planned (the last batch of an epoch). */
  memcpy (dx, dx0, nx * sizeof (float));
  b.cpu->ops->conv2d_backward (b.cpu, &d, n - 2, x, w, dy, dx, FALSE, dw, NULL, cws, ws, scratch);
  b.gpu->ops->conv2d_backward (b.gpu, &d, n - 2, gx, gw, gdy, gdx, FALSE, gdw, NULL, gws_buf, gws,
                               NULL);
  check (&b, "input gradient, smaller batch", dx, gdx, nx / n * (n - 2), 1e-5);
  check (&b, "weight gradient, smaller batch", dw, gdw, nw, 1e-5);
  sl_assert_ok (b.gpu->ops->sync (b.gpu, &err), &err);

  float *bufs[] = { gx, gw, gb, gdy, gy, gdx, gdw, gdb, gws_buf };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  backends_close (&b);
}

/* ---- Dense ------------------------------------------------------------------------ */

static void
test_dense (void)
{
  const int n = 7, in = 300, out = 45;
  Backends b;

  if (!backends_open (&b))
    return;
  g_autofree float *x = random_floats ((gsize) n * in, 1), *w = random_floats ((gsize) out * in, 2);
  g_autofree float *bias = random_floats (out, 3), *dy = random_floats ((gsize) n * out, 4);
  g_autofree float *y = g_new (float, n *out), *dx = random_floats ((gsize) n * in, 5);
  g_autofree float *dw = g_new (float, out *in), *db = g_new (float, out);
  float *gx = gpu_copy (&b, x, n * in * 4), *gw = gpu_copy (&b, w, out * in * 4);
  float *gb = gpu_copy (&b, bias, out * 4), *gdy = gpu_copy (&b, dy, n * out * 4);
  float *gy = gpu_copy (&b, NULL, n * out * 4), *gdx = gpu_copy (&b, dx, n * in * 4);
  float *gdw = gpu_copy (&b, NULL, out * in * 4), *gdb = gpu_copy (&b, NULL, out * 4);

  for (int with_bias = 0; with_bias < 2; with_bias++)
    {
      b.cpu->ops->dense_forward (b.cpu, n, in, out, x, w, with_bias ? bias : NULL, y);
      b.gpu->ops->dense_forward (b.gpu, n, in, out, gx, gw, with_bias ? gb : NULL, gy);
      check (&b, "forward", y, gy, n * out, 1e-5);
      b.cpu->ops->dense_backward (b.cpu, n, in, out, x, w, dy, dx, with_bias, dw,
                                  with_bias ? db : NULL);
      b.gpu->ops->dense_backward (b.gpu, n, in, out, gx, gw, gdy, gdx, with_bias, gdw,
                                  with_bias ? gdb : NULL);
      check (&b, "input gradient", dx, gdx, n * in, 1e-5);
      check (&b, "weight gradient", dw, gdw, out * in, 1e-5);
      if (with_bias)
        check (&b, "bias gradient", db, gdb, out, 1e-5);
    }
  float *bufs[] = { gx, gw, gb, gdy, gy, gdx, gdw, gdb };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  backends_close (&b);
}

/* ---- Batch normalisation ---------------------------------------------------------- */

static void
test_batchnorm (void)
{
  const int n = 6, c = 5, hw = 49;
  const gsize len = (gsize) n * c * hw;
  const float eps = 1e-5f, momentum = 0.1f;
  Backends b;

  if (!backends_open (&b))
    return;
  g_autofree float *x = random_floats (len, 1), *dy = random_floats (len, 2);
  g_autofree float *gamma = random_floats (c, 3), *beta = random_floats (c, 4);
  g_autofree float *stats = g_new (float, 2 * c), *saved = g_new (float, 2 * c);
  g_autofree float *y = g_new (float, len), *dx = random_floats (len, 5);
  g_autofree float *dg = g_new (float, c), *dbeta = g_new (float, c);
  sl_error err = { 0 };

  for (gsize i = 0; i < len; i++)
    x[i] = 3.0f + 2.0f * x[i]; /* a mean and a spread away from 0 and 1 */
  for (int i = 0; i < c; i++)
    {
      stats[i] = 0.5f;
      stats[c + i] = 2.0f;
    }
  float *gx = gpu_copy (&b, x, len * 4), *gdy = gpu_copy (&b, dy, len * 4);
  float *gg = gpu_copy (&b, gamma, c * 4), *gbeta = gpu_copy (&b, beta, c * 4);
  float *gstats = gpu_copy (&b, stats, 2 * c * 4), *gsaved = gpu_copy (&b, NULL, 2 * c * 4);
  float *gy = gpu_copy (&b, NULL, len * 4), *gdx = gpu_copy (&b, dx, len * 4);
  float *gdg = gpu_copy (&b, NULL, c * 4), *gdbeta = gpu_copy (&b, NULL, c * 4);

  b.cpu->ops->batchnorm_forward (b.cpu, TRUE, n, c, hw, x, gamma, beta, stats, stats + c, eps,
                                 momentum, saved, y);
  b.gpu->ops->batchnorm_forward (b.gpu, TRUE, n, c, hw, gx, gg, gbeta, gstats, gstats + c, eps,
                                 momentum, gsaved, gy);
  check (&b, "training forward", y, gy, len, 1e-5);
  check (&b, "running statistics", stats, gstats, 2 * c, 1e-5);

  b.cpu->ops->batchnorm_backward (b.cpu, n, c, hw, x, gamma, saved, eps, dy, dx, TRUE, dg, dbeta);
  b.gpu->ops->batchnorm_backward (b.gpu, n, c, hw, gx, gg, gsaved, eps, gdy, gdx, TRUE, gdg,
                                  gdbeta);
  check (&b, "input gradient (added)", dx, gdx, len, 1e-4);
  check (&b, "scale gradient", dg, gdg, c, 1e-4);
  check (&b, "shift gradient", dbeta, gdbeta, c, 1e-5);

  /* On the model's input: no input gradient. */
  b.gpu->ops->zero (b.gpu, gdg, c * 4);
  b.gpu->ops->batchnorm_backward (b.gpu, n, c, hw, gx, gg, gsaved, eps, gdy, NULL, FALSE, gdg,
                                  gdbeta);
  check (&b, "scale gradient without input gradient", dg, gdg, c, 1e-4);
  check (&b, "shift gradient without input gradient", dbeta, gdbeta, c, 1e-5);

  b.cpu->ops->batchnorm_forward (b.cpu, FALSE, n, c, hw, x, gamma, beta, stats, stats + c, eps,
                                 momentum, NULL, y);
  b.gpu->ops->batchnorm_forward (b.gpu, FALSE, n, c, hw, gx, gg, gbeta, gstats, gstats + c, eps,
                                 momentum, NULL, gy);
  check (&b, "inference forward", y, gy, len, 1e-5);

  /* "statistics": "running": the inference formula's backward, added, then on the input. */
  b.cpu->ops->batchnorm_backward_running (b.cpu, n, c, hw, x, gamma, stats, stats + c, eps, dy, dx,
                                          TRUE, dg, dbeta);
  b.gpu->ops->batchnorm_backward_running (b.gpu, n, c, hw, gx, gg, gstats, gstats + c, eps, gdy,
                                          gdx, TRUE, gdg, gdbeta);
  check (&b, "running: input gradient (added)", dx, gdx, len, 1e-4);
  check (&b, "running: scale gradient", dg, gdg, c, 1e-4);
  check (&b, "running: shift gradient", dbeta, gdbeta, c, 1e-5);
  b.gpu->ops->zero (b.gpu, gdg, c * 4);
  b.gpu->ops->batchnorm_backward_running (b.gpu, n, c, hw, gx, gg, gstats, gstats + c, eps, gdy,
                                          NULL, FALSE, gdg, gdbeta);
  check (&b, "running: scale gradient without input gradient", dg, gdg, c, 1e-4);
  sl_assert_ok (b.gpu->ops->sync (b.gpu, &err), &err);
  float *bufs[] = { gx, gdy, gg, gbeta, gstats, gsaved, gy, gdx, gdg, gdbeta };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  backends_close (&b);
}

/* ---- Elementwise ---------------------------------------------------------------------- */

static void
test_activations (void)
{
  const gsize len = 100003; /* not a multiple of any block size */
  Backends b;

  if (!backends_open (&b))
    return;
  g_autofree float *x = random_floats (len, 1), *dy = random_floats (len, 2);
  g_autofree float *y = g_new (float, len), *dx = random_floats (len, 3);
  float *gx = gpu_copy (&b, NULL, len * 4), *gdy = gpu_copy (&b, dy, len * 4);
  float *gy = gpu_copy (&b, NULL, len * 4), *gdx = gpu_copy (&b, NULL, len * 4);

  for (gsize i = 0; i < len; i++)
    x[i] *= 4.0f; /* past relu6's clip */
  b.gpu->ops->upload (b.gpu, gx, x, len * 4);
  for (int act = SL_ACT_RELU; act <= SL_ACT_SIGMOID; act++)
    for (int acc = 0; acc < 2; acc++)
      {
        g_autofree char *what = g_strdup_printf ("activation %d%s", act, acc ? ", added" : "");

        b.gpu->ops->upload (b.gpu, gdx, dx, len * 4);
        b.cpu->ops->activation_forward (b.cpu, act, 0.1f, len, x, y);
        b.gpu->ops->activation_forward (b.gpu, act, 0.1f, len, gx, gy);
        check (&b, what, y, gy, len, 1e-6);
        g_autofree float *dx_cpu = g_memdup2 (dx, len * 4);
        b.cpu->ops->activation_backward (b.cpu, act, 0.1f, len, y, dy, dx_cpu, acc);
        b.gpu->ops->activation_backward (b.gpu, act, 0.1f, len, gy, gdy, gdx, acc);
        check (&b, what, dx_cpu, gdx, len, 1e-6);
      }
  /* In place, as a rectifier after a convolution runs. */
  b.cpu->ops->activation_forward (b.cpu, SL_ACT_RELU, 0.0f, len, x, x);
  b.gpu->ops->activation_forward (b.gpu, SL_ACT_RELU, 0.0f, len, gx, gx);
  check (&b, "relu in place", x, gx, len, 0.0 + 1e-12);
  float *bufs[] = { gx, gdy, gy, gdx };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  backends_close (&b);
}

static void
test_dropout_and_sums (void)
{
  const gsize len = 70001;
  Backends b;

  if (!backends_open (&b))
    return;
  g_autofree float *x = random_floats (len, 1), *a = random_floats (len, 2);
  g_autofree float *mask = g_new (float, len), *y = g_new (float, len),
                   *dx = random_floats (len, 3);
  float *gx = gpu_copy (&b, x, len * 4), *ga = gpu_copy (&b, a, len * 4);
  float *gmask = gpu_copy (&b, NULL, len * 4), *gy = gpu_copy (&b, NULL, len * 4);
  float *gdx = gpu_copy (&b, dx, len * 4);

  /* The mask is bit-identical: the same counter-based stream per element. */
  b.cpu->ops->dropout_forward (b.cpu, len, 0.3f, 0x1234567890abcdefull, x, mask, y);
  b.gpu->ops->dropout_forward (b.gpu, len, 0.3f, 0x1234567890abcdefull, gx, gmask, gy);
  {
    g_autofree float *gm = host_copy (&b, gmask, len * 4), *gyy = host_copy (&b, gy, len * 4);

    g_assert_cmpmem (mask, len * 4, gm, len * 4);
    g_assert_cmpmem (y, len * 4, gyy, len * 4);
  }
  b.cpu->ops->mul_backward (b.cpu, len, mask, a, dx, TRUE);
  b.gpu->ops->mul_backward (b.gpu, len, gmask, ga, gdx, TRUE);
  check (&b, "dropout backward (added)", dx, gdx, len, 1e-7);
  b.cpu->ops->add_forward (b.cpu, len, x, a, y);
  b.gpu->ops->add_forward (b.gpu, len, gx, ga, gy);
  check (&b, "residual sum", y, gy, len, 1e-7);
  b.cpu->ops->copy_grad (b.cpu, len, a, dx, TRUE);
  b.gpu->ops->copy_grad (b.gpu, len, ga, gdx, TRUE);
  check (&b, "gradient added", dx, gdx, len, 1e-7);
  b.cpu->ops->copy_grad (b.cpu, len, x, dx, FALSE);
  b.gpu->ops->copy_grad (b.gpu, len, gx, gdx, FALSE);
  check (&b, "gradient copied", dx, gdx, len, 1e-12);
  float *bufs[] = { gx, ga, gmask, gy, gdx };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  backends_close (&b);
}

static void
test_all_finite (void)
{
  const gsize len = 50000;
  Backends b;
  double want[SL_STAT_COUNT] = { 0 };

  if (!backends_open (&b))
    return;
  g_autofree float *x = random_floats (len, 1);
  float *gx = gpu_copy (&b, x, len * 4);
  double *gstats = gpu_copy (&b, NULL, sizeof want);
  const float bad[] = { NAN, INFINITY, -INFINITY };

  b.gpu->ops->all_finite (b.gpu, len, gx, gstats);
  {
    g_autofree double *s = host_copy (&b, gstats, sizeof want);
    g_assert_cmpfloat (s[SL_STAT_FINITE], ==, 1.0);
  }
  for (gsize k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      b.gpu->ops->upload (b.gpu, gx + len - 1 - k * 977, &bad[k], sizeof (float));
      b.gpu->ops->all_finite (b.gpu, len, gx, gstats);
      g_autofree double *s = host_copy (&b, gstats, sizeof want);
      g_assert_cmpfloat (s[SL_STAT_FINITE], ==, 0.0);
      b.gpu->ops->upload (b.gpu, gx + len - 1 - k * 977, &x[len - 1 - k * 977], sizeof (float));
    }
  gpu_free (&b, gx);
  gpu_free (&b, gstats);
  backends_close (&b);
}

/* ---- Pooling -------------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  sl_pool_kind kind;
  int size, stride, pad;
  int more; /* bottom and right padding beyond pad */
} PoolCase;

static const PoolCase pool_cases[] = {
  { "max-2x2", SL_POOL_MAX, 2, 2, 0 },
  { "max-3x3-overlapping-padded", SL_POOL_MAX, 3, 2, 1 },
  { "avg-2x2", SL_POOL_AVG, 2, 2, 0 },
  { "avg-3x3-overlapping-padded", SL_POOL_AVG, 3, 2, 1 },
  { "max-3x3-same-asymmetric", SL_POOL_MAX, 3, 2, 0, 1 },
  { "avg-2x2-same-asymmetric", SL_POOL_AVG, 2, 2, 0, 1 },
};

static void
test_pool (gconstpointer data)
{
  const PoolCase *k = data;
  sl_conv_desc d = { .in_c = 5,
                     .in_h = 15,
                     .in_w = 14,
                     .kh = k->size,
                     .kw = k->size,
                     .sh = k->stride,
                     .sw = k->stride,
                     .ph = k->pad,
                     .pw = k->pad,
                     .ph_end = k->pad + k->more,
                     .pw_end = k->pad + k->more,
                     .dh = 1,
                     .dw = 1,
                     .groups = 1 };
  const int n = 3;
  Backends b;

  if (!backends_open (&b))
    return;
  d.out_c = d.in_c;
  d.out_h = (d.in_h + d.ph + d.ph_end - d.kh) / d.sh + 1;
  d.out_w = (d.in_w + d.pw + d.pw_end - d.kw) / d.sw + 1;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.in_c * d.out_h * d.out_w, nargs = ny * _sl_pool_argmax_size (&d);
  g_autofree float *x = random_floats (nx, 1), *dy = random_floats (ny, 2);
  g_autofree float *y = g_new (float, ny), *dx = random_floats (nx, 3);
  g_autofree guint8 *arg = g_malloc (nargs);
  float *gx = gpu_copy (&b, x, nx * 4), *gdy = gpu_copy (&b, dy, ny * 4);
  float *gy = gpu_copy (&b, NULL, ny * 4), *gdx = gpu_copy (&b, dx, nx * 4);
  void *garg = gpu_copy (&b, NULL, nargs);

  b.cpu->ops->pool_forward (b.cpu, k->kind, &d, n, x, y, k->kind == SL_POOL_MAX ? arg : NULL);
  b.gpu->ops->pool_forward (b.gpu, k->kind, &d, n, gx, gy, k->kind == SL_POOL_MAX ? garg : NULL);
  check (&b, "forward", y, gy, ny, 1e-6);
  if (k->kind == SL_POOL_MAX)
    {
      g_autofree guint8 *ga = host_copy (&b, garg, nargs);
      g_assert_cmpmem (arg, nargs, ga, nargs);
    }
  for (int acc = 1; acc >= 0; acc--)
    {
      b.cpu->ops->pool_backward (b.cpu, k->kind, &d, n, dy, arg, dx, acc);
      b.gpu->ops->pool_backward (b.gpu, k->kind, &d, n, gdy, garg, gdx, acc);
      check (&b, acc ? "backward (added)" : "backward", dx, gdx, nx, 1e-6);
    }
  b.cpu->ops->global_avgpool_forward (b.cpu, n, d.in_c, d.in_h * d.in_w, x, y);
  b.gpu->ops->global_avgpool_forward (b.gpu, n, d.in_c, d.in_h * d.in_w, gx, gy);
  check (&b, "global average", y, gy, (gsize) n * d.in_c, 1e-6);
  b.cpu->ops->global_avgpool_backward (b.cpu, n, d.in_c, d.in_h * d.in_w, dy, dx, TRUE);
  b.gpu->ops->global_avgpool_backward (b.gpu, n, d.in_c, d.in_h * d.in_w, gdy, gdx, TRUE);
  check (&b, "global average backward", dx, gdx, nx, 1e-6);
  float *bufs[] = { gx, gdy, gy, gdx };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  gpu_free (&b, garg);
  backends_close (&b);
}

/* ---- Loss and optimizer ------------------------------------------------------------- */

static void
test_loss (void)
{
  const int n = 300, k = 7; /* more images than the loss kernel has threads */
  Backends b;
  const float weights[7] = { 1.0f, 2.0f, 0.5f, 1.0f, 3.0f, 0.25f, 1.0f };

  if (!backends_open (&b))
    return;
  g_autofree float *z = random_floats ((gsize) n * k, 1), *dz = g_new (float, n *k);
  g_autofree float *p = g_new (float, n *k);
  g_autofree int32_t *labels = g_new (int32_t, n);
  double stats[SL_STAT_COUNT] = { 0 };
  for (int i = 0; i < n; i++)
    labels[i] = (i * 5 + 3) % k;
  float *gz = gpu_copy (&b, z, n * k * 4), *gdz = gpu_copy (&b, NULL, n * k * 4);
  float *gp = gpu_copy (&b, NULL, n * k * 4), *gw = gpu_copy (&b, weights, sizeof weights);
  int32_t *gl = gpu_copy (&b, labels, n * 4);
  double *gs = gpu_copy (&b, NULL, sizeof stats);

  for (int weighted = 0; weighted < 2; weighted++)
    {
      sl_loss_desc cl = { weighted ? weights : NULL, weighted ? 0.1f : 0.0f };
      sl_loss_desc gl_desc = { weighted ? gw : NULL, cl.smoothing };

      b.cpu->ops->softmax_xent (b.cpu, n, k, z, labels, &cl, dz, stats);
      b.gpu->ops->softmax_xent (b.gpu, n, k, gz, gl, &gl_desc, gdz, gs);
      g_autofree double *s = host_copy (&b, gs, sizeof stats);
      g_test_message ("loss %.9f / %.9f, hits %g / %g", stats[SL_STAT_LOSS], s[SL_STAT_LOSS],
                      stats[SL_STAT_CORRECT], s[SL_STAT_CORRECT]);
      g_assert_cmpfloat (fabs (stats[SL_STAT_LOSS] - s[SL_STAT_LOSS]), <,
                         1e-9 * fabs (stats[SL_STAT_LOSS]));
      g_assert_cmpfloat (stats[SL_STAT_CORRECT], ==, s[SL_STAT_CORRECT]);
      check (&b, "logit gradients", dz, gdz, n * k, 1e-6);
    }
  b.cpu->ops->softmax (b.cpu, n, k, z, p);
  b.gpu->ops->softmax (b.gpu, n, k, gz, gp);
  check (&b, "softmax", p, gp, n * k, 1e-6);
  float *bufs[] = { gz, gdz, gp, gw };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    gpu_free (&b, bufs[i]);
  gpu_free (&b, gl);
  gpu_free (&b, gs);
  backends_close (&b);
}

static void
test_optimizers (void)
{
  const gsize len = 40001;
  const sl_optim_step steps[] = {
    { .kind = SL_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-3f },
    { .kind = SL_OPTIMIZER_SGD, .lr = 0.05f, .momentum = 0.9f, .nesterov = true },
    { .kind = SL_OPTIMIZER_ADAM,
      .lr = 1e-3f,
      .beta1 = 0.9f,
      .beta2 = 0.999f,
      .epsilon = 1e-8f,
      .weight_decay = 1e-4f },
    { .kind = SL_OPTIMIZER_ADAMW,
      .lr = 1e-3f,
      .beta1 = 0.9f,
      .beta2 = 0.999f,
      .epsilon = 1e-8f,
      .weight_decay = 0.01f },
  };
  /* Layers' lr_scale: ranges with their own learning rates. */
  const sl_lr_range ranges[]
      = { { 0, 12345, 0.25f }, { 12345, 30000, 1.0f }, { 30000, len, 3.0f } };
  Backends b;

  if (!backends_open (&b))
    return;
  for (gsize k = 0; k < 2 * G_N_ELEMENTS (steps); k++)
    {
      g_autofree float *p = random_floats (len, 1), *mv = g_new0 (float, 2 * len);
      float *gp = gpu_copy (&b, p, len * 4), *gmv = gpu_copy (&b, NULL, 2 * len * 4);
      float *gg = gpu_copy (&b, NULL, len * 4);
      g_autofree char *what
          = g_strdup_printf ("optimizer %zu%s, parameters after 3 steps", k % G_N_ELEMENTS (steps),
                             k >= G_N_ELEMENTS (steps) ? " (lr ranges)" : "");

      for (int t = 1; t <= 3; t++)
        {
          g_autofree float *g = random_floats (len, 10 + t);
          sl_optim_step s = steps[k % G_N_ELEMENTS (steps)];

          s.t = t;
          if (k >= G_N_ELEMENTS (steps))
            {
              s.ranges = ranges;
              s.n_ranges = G_N_ELEMENTS (ranges);
            }
          b.gpu->ops->upload (b.gpu, gg, g, len * 4);
          b.cpu->ops->optimizer_step (b.cpu, &s, len, p, g, mv, mv + len);
          b.gpu->ops->optimizer_step (b.gpu, &s, len, gp, gg, gmv, gmv + len);
        }
      check (&b, what, p, gp, len, 1e-6);
      check (&b, "moments", mv, gmv, 2 * len, 1e-6);
      gpu_free (&b, gp);
      gpu_free (&b, gmv);
      gpu_free (&b, gg);
    }
  backends_close (&b);
}

/* ---- Whole models ---------------------------------------------------------------------- */

static sl_model *
preset_model (const char *preset, int channels, int size)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *json;
  sl_model *m;

  sl_preset_options_init (&o);
  o.channels = channels;
  o.height = o.width = size;
  o.classes = 5;
  sl_assert_ok (sl_preset_json (preset, &o, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, 11, &m, &err), &err);
  sl_free (json);
  return m;
}

/* The same steps on both devices: losses and weights agree. */
static void
test_training_steps (gconstpointer data)
{
  const char *preset = data;
  const int batch = 16, size = 32, channels = 3;
  const gsize in = (gsize) batch * channels * size * size;
  Backends b;
  sl_model *cpu, *gpu;
  sl_trainer *tc, *tg;
  sl_train_config c;
  sl_error err = { 0 };
  int32_t labels[16];

  if (!backends_open (&b))
    return;
  backends_close (&b); /* only the list is needed: the models make their own backends */
  sl_assert_ok (sl_device_list_new (&b.list, &err), &err);
  g_autofree float *x = random_floats (in * 4, 1);
  for (int i = 0; i < batch; i++)
    labels[i] = i % 5;
  cpu = preset_model (preset, channels, size);
  gpu = preset_model (preset, channels, size);
  sl_assert_ok (sl_model_set_device (gpu, b.list, "cuda", &err), &err);
  for (int opt = 0; opt < 2; opt++)
    {
      sl_train_config_init (&c);
      c.optimizer = opt == 0 ? SL_OPTIMIZER_SGD : SL_OPTIMIZER_ADAMW;
      c.learning_rate = opt == 0 ? 0.05f : 1e-3f;
      c.momentum = 0.9f;
      c.weight_decay = 1e-4f;
      c.label_smoothing = 0.1f;
      sl_assert_ok (sl_trainer_new (cpu, &c, batch, &tc, &err), &err);
      sl_assert_ok (sl_trainer_new (gpu, &c, batch, &tg, &err), &err);
      for (int s = 0; s < 4; s++)
        {
          double lc, lg, ac, ag;
          int n = s == 3 ? batch - 5 : batch; /* a short last batch too */

          sl_assert_ok (sl_trainer_step (tc, x + (gsize) s * in, labels, n, &lc, &ac, &err), &err);
          sl_assert_ok (sl_trainer_step (tg, x + (gsize) s * in, labels, n, &lg, &ag, &err), &err);
          g_test_message ("%s, optimizer %d, step %d: loss CPU %.7f GPU %.7f", preset, opt, s, lc,
                          lg);
          g_assert_cmpfloat (fabs (lc - lg), <, 1e-4 * MAX (1.0, fabs (lc)));
        }
      /* SGD is linear in the gradients: tight. Adam divides by their size,
       * so entries whose gradients are ~0 may move by up to lr on either side. */
      assert_close ("weights", sl_model_params (cpu), sl_model_params (gpu),
                    sl_model_param_count (cpu), opt == 0 ? 1e-4 : 1e-3);
      assert_close ("running statistics", sl_model_state (cpu), sl_model_state (gpu),
                    sl_model_state_count (cpu), 1e-4);
      sl_trainer_free (tc);
      sl_trainer_free (tg);
    }
  {
    g_autofree float *pc = g_new (float, 40 * 5), *pg = g_new (float, 40 * 5);

    sl_assert_ok (sl_model_predict (cpu, x, 40, pc, &err), &err);
    sl_assert_ok (sl_model_predict (gpu, x, 40, pg, &err), &err);
    assert_close ("probabilities", pc, pg, 40 * 5, 1e-4);
  }
  sl_model_free (cpu);
  sl_model_free (gpu);
  sl_device_list_free (b.list);
}

/* Allocating until the GPU is full gives NULL, never a crash; a batch too
 * large is SL_ERR_NOMEM with a suggestion; and the GPU is usable after both. */
static void
test_out_of_memory (void)
{
  Backends b;
  sl_model *m;
  sl_trainer *t = NULL;
  sl_train_config c;
  sl_error err = { 0 };
  GPtrArray *blocks = g_ptr_array_new ();
  int32_t labels[8] = { 0, 1, 2, 3, 4, 0, 1, 2 };
  double loss;

  if (!backends_open (&b))
    return;
  for (int i = 0; i < 4096; i++)
    {
      void *p = b.gpu->ops->alloc (b.gpu, (size_t) 1 << 30);

      if (p == NULL)
        break;
      g_ptr_array_add (blocks, p);
    }
  g_test_message ("allocated %u GiB before the GPU was full", blocks->len);
  g_assert_cmpuint (blocks->len, <, 4096);
  sl_assert_ok (b.gpu->ops->sync (b.gpu, &err), &err); /* a full GPU is no error of its own */
  for (guint i = 0; i < blocks->len; i++)
    gpu_free (&b, blocks->pdata[i]);
  g_ptr_array_free (blocks, TRUE);

  m = preset_model ("resnet-s", 3, 224);
  sl_assert_ok (sl_model_set_device (m, b.list, "cuda", &err), &err);
  sl_train_config_init (&c);
  g_assert_cmpint (sl_trainer_new (m, &c, 65536, &t, &err), ==, SL_ERR_NOMEM);
  g_test_message ("%s", err.message);
  g_assert_nonnull (strstr (err.message, "smaller batch"));
  g_assert_null (t);
  sl_assert_ok (sl_trainer_new (m, &c, 8, &t, &err), &err);
  g_autofree float *x = random_floats ((gsize) 8 * 3 * 224 * 224, 2);
  sl_assert_ok (sl_trainer_step (t, x, labels, 8, &loss, NULL, &err), &err);
  g_assert_true (isfinite (loss));
  sl_trainer_free (t);
  sl_model_free (m);
  backends_close (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (conv_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/backend-parity/conv2d/%s", conv_cases[i].name);
      g_test_add_data_func (path, &conv_cases[i], test_conv);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (pool_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/backend-parity/pool/%s", pool_cases[i].name);
      g_test_add_data_func (path, &pool_cases[i], test_pool);
    }
  g_test_add_func ("/backend-parity/dense", test_dense);
  g_test_add_func ("/backend-parity/batchnorm", test_batchnorm);
  g_test_add_func ("/backend-parity/activations", test_activations);
  g_test_add_func ("/backend-parity/dropout-and-sums", test_dropout_and_sums);
  g_test_add_func ("/backend-parity/all-finite", test_all_finite);
  g_test_add_func ("/backend-parity/loss", test_loss);
  g_test_add_func ("/backend-parity/optimizers", test_optimizers);
  g_test_add_data_func ("/backend-parity/training/seed-cnn", "seed-cnn", test_training_steps);
  g_test_add_data_func ("/backend-parity/training/small-bn", "small-bn", test_training_steps);
  g_test_add_data_func ("/backend-parity/training/resnet-s", "resnet-s", test_training_steps);
  g_test_add_data_func ("/backend-parity/training/mobilenet-s", "mobilenet-s", test_training_steps);
  g_test_add_func ("/backend-parity/out-of-memory", test_out_of_memory);
  return g_test_run ();
}
