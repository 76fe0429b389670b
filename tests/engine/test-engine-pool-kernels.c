/* test-engine-pool-kernels.c: the CPU's 2x2 max-pool fast path against a plain reference: ties, NaN, odd sizes, threads; the max pool's backward with the rectifier's before it folded in. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <math.h>
#include <string.h>

/* The window's first strictly largest value in row-major order, as the
 * general pooling loop picks it (so ties go to the earliest, and a NaN wins
 * only from the window's first place). */
static void
reference_max2x2 (const sl_conv_desc *d, int planes, const float *x, float *y, int32_t *arg)
{
  for (int p = 0; p < planes; p++)
    for (int oy = 0; oy < d->out_h; oy++)
      for (int ox = 0; ox < d->out_w; ox++)
        {
          const float *plane = x + (size_t) p * d->in_h * d->in_w;
          int at = 2 * oy * d->in_w + 2 * ox;
          float best = plane[at];

          for (int k = 1; k < 4; k++)
            {
              int i = (2 * oy + k / 2) * d->in_w + 2 * ox + k % 2;

              if (plane[i] > best)
                best = plane[i], at = i;
            }
          y[(size_t) p * d->out_h * d->out_w + oy * d->out_w + ox] = best;
          arg[(size_t) p * d->out_h * d->out_w + oy * d->out_w + ox] = at;
        }
}

/* Input sizes: even, odd (the last row and column are left out), and output
 * rows narrower than, as wide as and wider than vectors of 8 and 16 lanes. */
static const int sizes[][2] = { { 2, 2 },  { 7, 7 },  { 9, 6 },  { 28, 28 }, { 14, 34 },
                                { 5, 40 }, { 4, 32 }, { 3, 33 }, { 6, 70 },  { 2, 64 } };

/* A 2x2, stride-2, unpadded max pool of c planes of h x w (the last row and
 * column left out when odd). */
static sl_conv_desc
max2x2_desc (int c, int h, int w)
{
  return (sl_conv_desc){ .in_c = c,
                         .in_h = h,
                         .in_w = w,
                         .out_c = c,
                         .out_h = h / 2,
                         .out_w = w / 2,
                         .kh = 2,
                         .kw = 2,
                         .sh = 2,
                         .sw = 2,
                         .dh = 1,
                         .dw = 1,
                         .groups = 1 };
}

static void
test_max2x2_matches_reference (void)
{
  for (int threads = 1; threads <= 3; threads++)
    {
      sl_backend *be;
      sl_error err = { 0 };

      sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
      for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
        {
          const int n = 3, c = 5, planes = n * c;
          const sl_conv_desc d = max2x2_desc (c, sizes[s][0], sizes[s][1]);
          const gsize in_len = (gsize) planes * d.in_h * d.in_w;
          const gsize out_len = (gsize) planes * d.out_h * d.out_w;
          float *x = g_new (float, in_len), *y = g_new (float, out_len);
          float *y_plain = g_new (float, out_len), *ey = g_new (float, out_len);
          int32_t *arg = g_new (int32_t, out_len), *earg = g_new (int32_t, out_len);
          guint32 state = 5u + (guint32) s;

          /* Few distinct values, so windows hold ties; a NaN and infinities
           * now and then, in every place of a window. */
          for (gsize i = 0; i < in_len; i++)
            {
              state = state * 1664525u + 1013904223u;
              x[i] = (float) ((state >> 24) % 4) - 1.5f;
              if (i % 29 == 3)
                x[i] = NAN;
              else if (i % 31 == 7)
                x[i] = -INFINITY;
              else if (i % 37 == 11)
                x[i] = INFINITY;
            }
          reference_max2x2 (&d, planes, x, ey, earg);
          be->ops->pool_forward (be, SL_POOL_MAX, &d, n, x, y, arg);
          be->ops->pool_forward (be, SL_POOL_MAX, &d, n, x, y_plain, NULL);
          for (gsize o = 0; o < out_len; o++)
            {
              /* NaN == NaN is false: compare the bits. */
              g_assert_cmpmem (&y[o], sizeof (float), &ey[o], sizeof (float));
              g_assert_cmpmem (&y_plain[o], sizeof (float), &ey[o], sizeof (float));
              g_assert_cmpint (arg[o], ==, earg[o]);
            }
          g_free (x);
          g_free (y);
          g_free (y_plain);
          g_free (ey);
          g_free (arg);
          g_free (earg);
        }
      be->ops->destroy (be);
    }
}

/* pool_backward_act gives the bits of the max pool's backward followed by
 * the rectifier's (activation_backward on the rectifier's output) for relu,
 * relu6 and leaky relu, over 2x2 and 3x3 windows (stride = size, odd sizes
 * left over), written and added onto dx, on 1 to 3 threads. The rectifier's
 * outputs hit its kinks: zeros, 6s, negatives. */
static void
test_backward_act (void)
{
  const sl_activation acts[] = { SL_ACT_RELU, SL_ACT_RELU6, SL_ACT_LEAKY_RELU };
  const int n = 2, c = 3, planes = n * c, side = 13;

  for (int threads = 1; threads <= 3; threads++)
    for (gsize a = 0; a < G_N_ELEMENTS (acts); a++)
      for (int k = 2; k <= 3; k++)
        for (int acc = 0; acc <= 1; acc++)
          {
            sl_backend *be;
            sl_error err = { 0 };
            sl_conv_desc d = { .in_c = c,
                               .in_h = side,
                               .in_w = side,
                               .out_c = c,
                               .kh = k,
                               .kw = k,
                               .sh = k,
                               .sw = k,
                               .dh = 1,
                               .dw = 1,
                               .groups = 1 };
            d.out_h = d.out_w = side / k;
            const gsize in_len = (gsize) planes * side * side;
            const gsize out_len = (gsize) planes * d.out_h * d.out_w;
            g_autofree float *x = g_new (float, in_len), *act = g_new (float, in_len);
            g_autofree float *y = g_new (float, out_len), *dy = g_new (float, out_len);
            g_autofree float *dx = g_new (float, in_len), *ref = g_new (float, in_len);
            g_autofree float *g = g_new (float, in_len);
            g_autofree int32_t *arg = g_new (int32_t, out_len);

            sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
            sl_test_fill_normal (x, in_len, 21 + a, 4.0f);
            for (gsize i = 0; i < in_len; i += 5)
              x[i] = i % 2 ? 6.0f : 0.0f;
            sl_test_fill_normal (dy, out_len, 22, 1.0f);
            sl_test_fill_normal (dx, in_len, 23, 1.0f);
            memcpy (ref, dx, in_len * sizeof (float));
            be->ops->activation_forward (be, acts[a], 0.1f, in_len, x, act);
            be->ops->pool_forward (be, SL_POOL_MAX, &d, n, act, y, arg);

            /* Unfolded: the pool's gradient, then the rectifier's onto ref. */
            be->ops->pool_backward (be, SL_POOL_MAX, &d, n, dy, arg, g, FALSE);
            be->ops->activation_backward (be, acts[a], 0.1f, in_len, act, g, ref, acc);
            be->ops->pool_backward_act (be, &d, n, dy, arg, y, acts[a], 0.1f, dx, acc);
            g_assert_cmpmem (dx, in_len * sizeof (float), ref, in_len * sizeof (float));
            be->ops->destroy (be);
          }
}

/* The 2x2 max pool's backward, with and without the rectifier before it,
 * cleared or added onto, against a scatter written here: each window's
 * gradient to its maximum (0 + g onto a cleared plane), the rest 0 or as it
 * was; every size of the forward test, 1 to 3 threads. */
static void
test_backward_matches_scatter (void)
{
  for (int threads = 1; threads <= 3; threads++)
    {
      sl_backend *be;
      sl_error err = { 0 };

      sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
      for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
        for (int variant = 0; variant < 4; variant++)
          {
            const int n = 2, c = 3, planes = n * c;
            const gboolean accumulate = variant & 1, with_act = variant >= 2;
            const sl_conv_desc d = max2x2_desc (c, sizes[s][0], sizes[s][1]);
            const gsize in_len = (gsize) planes * d.in_h * d.in_w;
            const gsize out_len = (gsize) planes * d.out_h * d.out_w;
            const gsize in_plane = (gsize) d.in_h * d.in_w, out_plane = (gsize) d.out_h * d.out_w;
            g_autofree float *x = g_new (float, in_len), *y = g_new (float, out_len);
            g_autofree float *dy = g_new (float, out_len), *dx = g_new (float, in_len);
            g_autofree float *want = g_new (float, in_len);
            g_autofree int32_t *arg = g_new (int32_t, out_len);

            /* A rectifier's output: zeros and sixes among them (relu6's edges). */
            sl_test_fill_normal (x, in_len, 31 + (guint64) s, 4.0f);
            for (gsize i = 0; i < in_len; i++)
              x[i] = i % 7 == 0 ? 0.0f : (i % 11 == 0 ? 6.0f : MAX (x[i], 0.0f));
            sl_test_fill_normal (dy, out_len, 32, 1.0f);
            sl_test_fill_normal (dx, in_len, 33, 1.0f);
            be->ops->pool_forward (be, SL_POOL_MAX, &d, n, x, y, arg);
            for (gsize p = 0; p < (gsize) planes; p++)
              for (gsize i = 0; i < in_plane; i++)
                want[p * in_plane + i] = accumulate ? dx[p * in_plane + i] : 0.0f;
            for (gsize p = 0; p < (gsize) planes; p++)
              for (gsize o = 0; o < out_plane; o++)
                {
                  const float yo = y[p * out_plane + o], g = dy[p * out_plane + o];
                  const float v = !with_act || (yo > 0.0f && yo < 6.0f) ? g : 0.0f;

                  want[p * in_plane + arg[p * out_plane + o]] += v;
                }
            if (with_act)
              be->ops->pool_backward_act (be, &d, n, dy, arg, y, SL_ACT_RELU6, 0.0f, dx,
                                          accumulate);
            else
              be->ops->pool_backward (be, SL_POOL_MAX, &d, n, dy, arg, dx, accumulate);
            g_assert_cmpmem (dx, in_len * sizeof (float), want, in_len * sizeof (float));
          }
      be->ops->destroy (be);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/pool-kernels/max2x2-matches-reference", test_max2x2_matches_reference);
  g_test_add_func ("/engine/pool-kernels/backward-act", test_backward_act);
  g_test_add_func ("/engine/pool-kernels/backward-matches-scatter", test_backward_matches_scatter);
  return g_test_run ();
}
