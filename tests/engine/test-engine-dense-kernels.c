/* test-engine-dense-kernels.c: CPU dense layers (pool-split GEMM, and inference's dot products along the weights' rows) against double loops; outputs start as NaN. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <math.h>
#include <string.h>

/* Images x inputs x outputs: one image (the matrix-vector path), products
 * below the split threshold, row splits (few outputs) and column splits,
 * with outputs large enough for the GEMM's own clearing of C to be skipped. */
static const int shapes[][3] = {
  { 1, 300, 70 }, { 3, 5, 7 }, { 64, 3136, 40 }, { 64, 700, 300 }, { 5, 129, 1000 },
};

static float
value (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return (float) (*state >> 8) / 16777216.0f - 0.5f;
}

static void
fill (float *p, gsize n, guint32 *state)
{
  for (gsize i = 0; i < n; i++)
    p[i] = value (state);
}

static void
fill_nan (float *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    p[i] = NAN;
}

static void
assert_close (const float *got, const double *want, gsize n, double scale)
{
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (fabs (got[i] - want[i]), <=, 1e-5 * scale);
}

/* Overwritten outputs (y, dw, db, and dx when not accumulating) start as NaN:
 * a kernel that read them instead of clearing them would return NaN. */
static void
check_shape (sl_backend *be, int n, int in, int out, gboolean accumulate)
{
  guint32 state = 11u + (guint32) (n * 31 + in * 7 + out);
  g_autofree float *x = g_new (float, (gsize) n *in), *w = g_new (float, (gsize) out *in);
  g_autofree float *b = g_new (float, out), *dy = g_new (float, (gsize) n *out);
  g_autofree float *y = g_new (float, (gsize) n *out), *dx = g_new (float, (gsize) n *in);
  g_autofree float *dw = g_new (float, (gsize) out *in), *db = g_new (float, out);
  g_autofree float *dx0 = g_new (float, (gsize) n *in);
  g_autofree double *ey = g_new0 (double, (gsize) n *out), *edx = g_new0 (double, (gsize) n *in);
  g_autofree double *edw = g_new0 (double, (gsize) out *in), *edb = g_new0 (double, out);

  fill (x, (gsize) n * in, &state);
  fill (w, (gsize) out * in, &state);
  fill (b, out, &state);
  fill (dy, (gsize) n * out, &state);
  fill (dx0, (gsize) n * in, &state);
  fill_nan (y, (gsize) n * out);
  fill_nan (dw, (gsize) out * in);
  fill_nan (db, out);
  if (accumulate)
    memcpy (dx, dx0, sizeof (float) * n * in);
  else
    fill_nan (dx, (gsize) n * in);

  for (int i = 0; i < n; i++)
    for (int o = 0; o < out; o++)
      {
        double s = b[o];

        for (int k = 0; k < in; k++)
          s += (double) x[(gsize) i * in + k] * w[(gsize) o * in + k];
        ey[(gsize) i * out + o] = s;
        edb[o] += dy[(gsize) i * out + o];
        for (int k = 0; k < in; k++)
          {
            edw[(gsize) o * in + k] += (double) dy[(gsize) i * out + o] * x[(gsize) i * in + k];
            edx[(gsize) i * in + k] += (double) dy[(gsize) i * out + o] * w[(gsize) o * in + k];
          }
      }
  if (accumulate)
    for (gsize i = 0; i < (gsize) n * in; i++)
      edx[i] += dx0[i];

  be->ops->dense_forward (be, n, in, out, x, w, b, y);
  be->ops->dense_backward (be, n, in, out, x, w, dy, dx, accumulate, dw, db);
  /* Each output sums in + 1 (or n) products of values below 0.5 in size. */
  assert_close (y, ey, (gsize) n * out, in);
  assert_close (dw, edw, (gsize) out * in, n);
  assert_close (db, edb, out, n);
  assert_close (dx, edx, (gsize) n * in, out + 1);
}

static void
test_dense_matches_reference (void)
{
  for (int threads = 1; threads <= 3; threads++)
    {
      sl_backend *be;
      sl_error err = { 0 };

      sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
      for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
        for (int accumulate = 0; accumulate < 2; accumulate++)
          check_shape (be, shapes[s][0], shapes[s][1], shapes[s][2], accumulate);
      be->ops->destroy (be);
    }
}

/* Inference's kernel (dense_forward_fused): images and outputs around its
 * tiles (4 x 5), inputs around its vectors (16), with and without a bias and
 * a rectifier, on 1 to 3 threads; every image gets the same bits alone as in
 * the batch, whatever the thread count. */
static void
test_dense_fused (void)
{
  static const int fused_shapes[][3]
      = { { 1, 16, 5 },  { 3, 17, 11 },    { 9, 100, 4 }, { 5, 15, 1 },
          { 13, 33, 6 }, { 16, 3136, 40 }, { 2, 1, 7 } };
  sl_backend *be[3];
  sl_error err = { 0 };

  for (int t = 0; t < 3; t++)
    sl_assert_ok (_sl_cpu_backend_new (t + 1, &be[t], &err), &err);
  for (gsize s = 0; s < G_N_ELEMENTS (fused_shapes); s++)
    for (int variant = 0; variant < 3; variant++)
      {
        const int n = fused_shapes[s][0], in = fused_shapes[s][1], out = fused_shapes[s][2];
        const gboolean bias = variant != 1, activate = variant != 0;
        const sl_activation act = variant == 1 ? SL_ACT_RELU6 : SL_ACT_LEAKY_RELU;
        guint32 state = 5u + (guint32) (s * 3 + variant);
        g_autofree float *x = g_new (float, (gsize) n *in), *w = g_new (float, (gsize) out *in);
        g_autofree float *b = g_new (float, out), *y = g_new (float, (gsize) n *out);
        g_autofree float *first = g_new (float, (gsize) n *out), *alone = g_new (float, out);
        g_autofree double *ey = g_new0 (double, (gsize) n *out);

        fill (x, (gsize) n * in, &state);
        fill (w, (gsize) out * in, &state);
        fill (b, out, &state);
        for (int i = 0; i < n; i++)
          for (int o = 0; o < out; o++)
            {
              double v = bias ? b[o] : 0.0;

              for (int k = 0; k < in; k++)
                v += (double) x[(gsize) i * in + k] * w[(gsize) o * in + k];
              if (activate && act == SL_ACT_RELU6)
                v = v < 0.0 ? 0.0 : (v > 6.0 ? 6.0 : v);
              else if (activate)
                v = v > 0.0 ? v : v * 0.25;
              ey[(gsize) i * out + o] = v;
            }
        for (int t = 0; t < 3; t++)
          {
            fill_nan (y, (gsize) n * out);
            be[t]->ops->dense_forward_fused (be[t], n, in, out, x, w, bias ? b : NULL, activate,
                                             act, 0.25f, y);
            assert_close (y, ey, (gsize) n * out, in);
            if (t == 0)
              memcpy (first, y, sizeof (float) * n * out);
            g_assert_cmpmem (y, sizeof (float) * n * out, first, sizeof (float) * n * out);
            fill_nan (alone, out);
            be[t]->ops->dense_forward_fused (be[t], 1, in, out, x + (gsize) (n - 1) * in, w,
                                             bias ? b : NULL, activate, act, 0.25f, alone);
            g_assert_cmpmem (alone, sizeof (float) * out, first + (gsize) (n - 1) * out,
                             sizeof (float) * out);
          }
      }
  for (int t = 0; t < 3; t++)
    be[t]->ops->destroy (be[t]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/dense-kernels/matches-reference", test_dense_matches_reference);
  g_test_add_func ("/engine/dense-kernels/fused", test_dense_fused);
  return g_test_run ();
}
