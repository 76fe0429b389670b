/* test-engine-conv-paths.c: every path of the CPU im2col + GEMM convolution (chunks of images,
 * pointwise in place, dx as a convolution of dy) against direct loops in double precision. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  const char *name;
  int n, in_c, out_c, h, w, kh, kw, sh, sw;
  int top, left, bottom, right;
  gboolean bias;
} ConvCase;

/* Batch 1 and 33, channels 1/3/16/32, 1x1 with and without stride, "same", "valid" and
 * asymmetric padding; images from 5x7 (chunks of several) to 36x52 (one at a time); dx as a
 * convolution where filters <= channels (16to16, 3to1, 16to3, 32to16 on large images); the
 * direct weight gradient in blocks of 8 and 4 filters, taps in threes and the 1 or 2 left over
 * (8to12, 5x5, 2x4). */
static const ConvCase conv_cases[] = {
  { "k3-same-16to16-b1", 1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, FALSE },
  { "k3-same-3to16-b33", 33, 3, 16, 13, 12, 3, 3, 1, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-32to16-small-b3", 3, 32, 16, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, FALSE },
  { "k3-same-16to32-b2", 2, 16, 32, 24, 20, 3, 3, 1, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-32to16-b2", 2, 32, 16, 20, 24, 3, 3, 1, 1, 1, 1, 1, 1, TRUE },
  { "k5-pad2-3to1-b2", 2, 3, 1, 14, 13, 5, 5, 1, 1, 2, 2, 2, 2, TRUE },
  { "k3-valid-3to1-b2", 2, 3, 1, 15, 17, 3, 3, 1, 1, 0, 0, 0, 0, FALSE },
  { "k3-asymmetric-16to3-b1", 1, 16, 3, 14, 15, 3, 3, 1, 1, 0, 1, 2, 1, TRUE },
  { "k2x3-tf-same-16to3-b2", 2, 16, 3, 12, 13, 2, 3, 1, 1, 0, 1, 1, 1, FALSE },
  { "k3-pad-beyond-kernel-3to3-b1", 1, 3, 3, 12, 12, 3, 3, 1, 1, 3, 0, 0, 1, TRUE },
  { "k3-s2-16to32-b33", 33, 16, 32, 15, 14, 3, 3, 2, 2, 1, 1, 1, 1, FALSE },
  { "k1-s1-16to32-b1", 1, 16, 32, 12, 12, 1, 1, 1, 1, 0, 0, 0, 0, TRUE },
  { "k1-s1-32to16-small-b33", 33, 32, 16, 4, 5, 1, 1, 1, 1, 0, 0, 0, 0, FALSE },
  { "k1-s2-16to32-b3", 3, 16, 32, 13, 11, 1, 1, 2, 2, 0, 0, 0, 0, FALSE },
  { "k3-s2-8to12-b3", 3, 8, 12, 36, 52, 3, 3, 2, 2, 1, 1, 1, 1, TRUE },
  { "k5-same-4to8-b2", 2, 4, 8, 18, 16, 5, 5, 1, 1, 2, 2, 2, 2, FALSE },
  { "k2x4-valid-3to16-b3", 3, 3, 16, 20, 35, 2, 4, 1, 1, 0, 0, 0, 0, FALSE },
  /* Input gradients by Winograd's kernel (enough tiles in the pass), odd sizes among them, and
   * the same layer with too few images for it (the filter-vectorised kernel). */
  { "k3-same-32to64-b3", 3, 32, 64, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-64to64-odd-b2", 2, 64, 64, 17, 19, 3, 3, 1, 1, 1, 1, 1, 1, FALSE },
  { "k3-same-32to64-b1", 1, 32, 64, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, TRUE },
  /* Weight gradients by Winograd's kernel (images of at least 64 tiles, lanes of channels):
   * odd sizes, 12 channels in 16 lanes, 40 in 3 vectors, 72 in 3 + 2, 64 in 3 + 1, uneven
   * padding, bands of tile rows. */
  { "k3-same-12to16-odd-b2", 2, 12, 16, 25, 23, 3, 3, 1, 1, 1, 1, 1, 1, TRUE },
  { "k3-valid-40to32-b3", 3, 40, 32, 19, 35, 3, 3, 1, 1, 0, 0, 0, 0, FALSE },
  { "k3-uneven-72to16-b1", 1, 72, 16, 18, 16, 3, 3, 1, 1, 0, 2, 2, 0, TRUE },
  { "k3-same-64to64-bands-b2", 2, 64, 64, 40, 40, 3, 3, 1, 1, 1, 1, 1, 1, FALSE },
  /* Input gradients of strided convolutions phase by phase: no padding, wide kernels, an even
   * kernel with uneven padding, a stride wider than the kernel (phases no tap reaches), and
   * strides that differ (the general weave). */
  { "k3-s2-valid-16to8-b2", 2, 16, 8, 17, 16, 3, 3, 2, 2, 0, 0, 0, 0, FALSE },
  { "k5-s2-pad2-4to8-b3", 3, 4, 8, 19, 18, 5, 5, 2, 2, 2, 2, 2, 2, TRUE },
  { "k4-s2-uneven-6to10-b1", 1, 6, 10, 16, 15, 4, 4, 2, 2, 1, 2, 2, 1, FALSE },
  { "k2-s3-gaps-8to4-b2", 2, 8, 4, 14, 13, 2, 2, 3, 3, 0, 0, 0, 0, FALSE },
  { "k3x1-s2x1-8to8-b2", 2, 8, 8, 13, 11, 3, 1, 2, 1, 1, 0, 1, 0, TRUE },
};

static sl_conv_desc
desc_of (const ConvCase *k)
{
  sl_conv_desc d = { .in_c = k->in_c,
                     .in_h = k->h,
                     .in_w = k->w,
                     .out_c = k->out_c,
                     .kh = k->kh,
                     .kw = k->kw,
                     .sh = k->sh,
                     .sw = k->sw,
                     .ph = k->top,
                     .pw = k->left,
                     .ph_end = k->bottom,
                     .pw_end = k->right,
                     .dh = 1,
                     .dw = 1,
                     .groups = 1 };

  d.out_h = (d.in_h + d.ph + d.ph_end - (d.kh - 1) - 1) / d.sh + 1;
  d.out_w = (d.in_w + d.pw + d.pw_end - (d.kw - 1) - 1) / d.sw + 1;
  return d;
}

/* Input pixel (iy, ix) that output (oy, ox) sees through tap (ki, kj), or FALSE in the padding. */
static gboolean
tap_source (const sl_conv_desc *d, int oy, int ox, int ki, int kj, int *iy, int *ix)
{
  *iy = oy * d->sh - d->ph + ki;
  *ix = ox * d->sw - d->pw + kj;
  return *iy >= 0 && *iy < d->in_h && *ix >= 0 && *ix < d->in_w;
}

/* y, dx (added onto dx), dw and db by the definition, in double precision. */
static void
reference (const sl_conv_desc *d, int n, const float *x, const float *w, const float *b,
           const float *dy, float *y, float *dx, float *dw, float *db)
{
  const gsize in_size = (gsize) d->in_c * d->in_h * d->in_w;
  const gsize out_size = (gsize) d->out_c * d->out_h * d->out_w;
  const gsize nw = (gsize) d->out_c * d->in_c * d->kh * d->kw;
  g_autofree double *gx = g_new0 (double, (gsize) n *in_size), *gw = g_new0 (double, nw);

  for (int oc = 0; oc < d->out_c; oc++)
    {
      double gb = 0.0;

      for (int i = 0; i < n; i++)
        for (int oy = 0; oy < d->out_h; oy++)
          for (int ox = 0; ox < d->out_w; ox++)
            {
              const gsize o = i * out_size + ((gsize) oc * d->out_h + oy) * d->out_w + ox;
              double acc = b != NULL ? b[oc] : 0.0;

              gb += dy[o];
              for (int ic = 0; ic < d->in_c; ic++)
                for (int ki = 0; ki < d->kh; ki++)
                  for (int kj = 0; kj < d->kw; kj++)
                    {
                      const gsize wi = (((gsize) oc * d->in_c + ic) * d->kh + ki) * d->kw + kj;
                      int iy, ix;

                      if (!tap_source (d, oy, ox, ki, kj, &iy, &ix))
                        continue;
                      const gsize xi = i * in_size + ((gsize) ic * d->in_h + iy) * d->in_w + ix;
                      acc += (double) w[wi] * x[xi];
                      gw[wi] += (double) dy[o] * x[xi];
                      gx[xi] += (double) dy[o] * w[wi];
                    }
              y[o] = (float) acc;
            }
      db[oc] = (float) gb;
    }
  for (gsize k = 0; k < nw; k++)
    dw[k] = (float) gw[k];
  for (gsize k = 0; k < (gsize) n * in_size; k++)
    dx[k] += (float) gx[k];
}

static void
assert_close (const char *what, const float *a, const float *b, gsize n)
{
  double err = sl_test_rel_error (a, b, n, 1e-3);

  g_test_message ("%s: %zu values, relative error %.2e", what, n, err);
  g_assert_cmpfloat (err, <, 1e-5);
}

static void
run_case (const ConvCase *k, int threads)
{
  const sl_conv_desc d = desc_of (k);
  const int n = k->n;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w,
              nw = (gsize) d.out_c * d.in_c * d.kh * d.kw;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d.out_c);
  g_autofree float *dy = g_new (float, ny), *dx0 = g_new (float, nx);
  g_autofree float *y = g_new (float, ny), *dx = g_new (float, nx), *dw = g_new (float, nw);
  g_autofree float *db = g_new (float, d.out_c), *ry = g_new (float, ny);
  g_autofree float *rdx = g_new (float, nx), *rdw = g_new (float, nw);
  g_autofree float *rdb = g_new (float, d.out_c);
  const float *bias = k->bias ? b : NULL;
  sl_backend *be;
  sl_error err = { 0 };

  sl_test_fill_normal (x, nx, 1, 1.0f);
  sl_test_fill_normal (w, nw, 2, 0.5f);
  sl_test_fill_normal (b, d.out_c, 3, 0.5f);
  sl_test_fill_normal (dy, ny, 4, 1.0f);
  sl_test_fill_normal (dx0, nx, 5, 1.0f);
  memcpy (rdx, dx0, nx * sizeof (float));
  reference (&d, n, x, w, bias, dy, ry, rdx, rdw, rdb);

  sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
  sl_cpu *cpu = _sl_cpu_of (be);
  /* One float past the end of each area: a path that overruns it changes the guard. */
  const gsize ws_floats = _sl_cpu_gemm_conv_workspace_floats (&d, cpu->threads);
  const gsize scratch_floats = _sl_cpu_gemm_conv_grad_scratch_floats (&d) * cpu->threads;
  g_autofree float *ws = g_new0 (float, ws_floats + 1);
  g_autofree float *scratch = g_new0 (float, scratch_floats + 1);
  /* Scratch holds anything when a pass starts (another layer's leftovers): a
   * path that reads what it did not write reads a NaN. */
  for (gsize i = 0; i < ws_floats; i++)
    ws[i] = NAN;
  ws[ws_floats] = scratch[scratch_floats] = 12345.0f;

  _sl_cpu_gemm_conv_forward (cpu, &d, n, x, w, bias, y, ws);
  assert_close ("output", y, ry, ny);

  /* dx added onto what is there, with weight and bias gradients. */
  memcpy (dx, dx0, nx * sizeof (float));
  _sl_cpu_gemm_conv_backward (cpu, &d, n, x, w, dy, dx, TRUE, dw, k->bias ? db : NULL, ws, scratch);
  assert_close ("input gradient (added)", dx, rdx, nx);
  assert_close ("weight gradient", dw, rdw, nw);
  if (k->bias)
    assert_close ("bias gradient", db, rdb, d.out_c);

  /* dx overwritten, no parameter gradients (a frozen layer): the garbage in dx must go. */
  for (gsize i = 0; i < nx; i++)
    dx[i] = 1e6f;
  _sl_cpu_gemm_conv_backward (cpu, &d, n, x, w, dy, dx, FALSE, NULL, NULL, ws, scratch);
  for (gsize i = 0; i < nx; i++)
    dx[i] += dx0[i];
  assert_close ("input gradient (overwritten)", dx, rdx, nx);
  g_assert_cmpfloat (ws[ws_floats], ==, 12345.0f);
  g_assert_cmpfloat (scratch[scratch_floats], ==, 12345.0f);
  be->ops->destroy (be);
}

static void
test_case_1_thread (gconstpointer data)
{
  run_case (data, 1);
}

static void
test_case_2_threads (gconstpointer data)
{
  run_case (data, 2);
}

/* The same weights whatever the run: a fixed thread count gives the same bits twice. */
static void
test_repeatable (void)
{
  const ConvCase *k = &conv_cases[4]; /* 32to16 on 20x24: dx as a convolution */
  const sl_conv_desc d = desc_of (k);
  const gsize nx = (gsize) k->n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) k->n * d.out_c * d.out_h * d.out_w,
              nw = (gsize) d.out_c * d.in_c * d.kh * d.kw;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *dy = g_new (float, ny);
  g_autofree float *dx1 = g_new (float, nx), *dx2 = g_new (float, nx);
  g_autofree float *dw1 = g_new (float, nw), *dw2 = g_new (float, nw);
  sl_backend *be;
  sl_error err = { 0 };

  sl_test_fill_normal (x, nx, 6, 1.0f);
  sl_test_fill_normal (w, nw, 7, 0.5f);
  sl_test_fill_normal (dy, ny, 8, 1.0f);
  sl_assert_ok (_sl_cpu_backend_new (2, &be, &err), &err);
  sl_cpu *cpu = _sl_cpu_of (be);
  g_autofree float *ws = g_new0 (float, _sl_cpu_gemm_conv_workspace_floats (&d, cpu->threads));
  g_autofree float *scratch
      = g_new0 (float, _sl_cpu_gemm_conv_grad_scratch_floats (&d) * cpu->threads);

  _sl_cpu_gemm_conv_backward (cpu, &d, k->n, x, w, dy, dx1, FALSE, dw1, NULL, ws, scratch);
  _sl_cpu_gemm_conv_backward (cpu, &d, k->n, x, w, dy, dx2, FALSE, dw2, NULL, ws, scratch);
  g_assert_cmpmem (dx1, nx * sizeof (float), dx2, nx * sizeof (float));
  g_assert_cmpmem (dw1, nw * sizeof (float), dw2, nw * sizeof (float));
  be->ops->destroy (be);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (conv_cases); i++)
    {
      g_autofree char *one = g_strdup_printf ("/engine/conv-paths/%s/1-thread", conv_cases[i].name);
      g_autofree char *two
          = g_strdup_printf ("/engine/conv-paths/%s/2-threads", conv_cases[i].name);

      g_test_add_data_func (one, &conv_cases[i], test_case_1_thread);
      g_test_add_data_func (two, &conv_cases[i], test_case_2_threads);
    }
  g_test_add_func ("/engine/conv-paths/repeatable", test_repeatable);
  return g_test_run ();
}
