/* test-engine-pool-kernels.c: the CPU's max pools against a plain reference: the 2x2 fast path (ties, NaN, odd sizes, threads), padded, overlapping and wide windows, the argmax's place in its window (bytes, int32s past 256 places); the max pool's backward with the rectifier's before it folded in. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The window's first strictly largest value in row-major order, as the
 * general pooling loop picks it (so ties go to the earliest, and a NaN wins
 * only from the window's first place), and its place in the window. */
static void
reference_max2x2 (const sl_conv_desc *d, int planes, const float *x, float *y, uint8_t *arg)
{
  for (int p = 0; p < planes; p++)
    for (int oy = 0; oy < d->out_h; oy++)
      for (int ox = 0; ox < d->out_w; ox++)
        {
          const float *plane = x + (size_t) p * d->in_h * d->in_w;
          float best = plane[2 * oy * d->in_w + 2 * ox];
          int at = 0;

          for (int k = 1; k < 4; k++)
            {
              int i = (2 * oy + k / 2) * d->in_w + 2 * ox + k % 2;

              if (plane[i] > best)
                best = plane[i], at = k;
            }
          y[(size_t) p * d->out_h * d->out_w + oy * d->out_w + ox] = best;
          arg[(size_t) p * d->out_h * d->out_w + oy * d->out_w + ox] = (uint8_t) at;
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
          uint8_t *arg = g_new (uint8_t, out_len), *earg = g_new (uint8_t, out_len);
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
            g_autofree uint8_t *arg = g_new (uint8_t, out_len);

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
            g_autofree uint8_t *arg = g_new (uint8_t, out_len);

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
                  const int place = arg[p * out_plane + o];
                  const gsize oy = o / (gsize) d.out_w, ox = o % (gsize) d.out_w;

                  want[p * in_plane + (2 * oy + place / 2) * d.in_w + 2 * ox + place % 2] += v;
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

/* The general max pool (padded, overlapping and wide windows) against a
 * plain one written here that keeps each maximum's index in the plane: the
 * outputs, the argmax's size (a byte for up to 256 places, an int32 past
 * them) and every place it names, and the backward pass, cleared and added
 * onto, as the scatter in output order; 1 to 3 threads. */
typedef struct
{
  int in_h, in_w, kh, kw, sh, sw, ph, pw, ph_end, pw_end;
  size_t argmax_size;
} WindowCase;

static const WindowCase windows[] = {
  { 13, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1 },   /* overlapping, padded */
  { 9, 10, 3, 2, 1, 1, 1, 0, 1, 1, 1 },    /* stride 1, uneven padding */
  { 10, 12, 2, 2, 2, 2, 1, 1, 0, 0, 1 },   /* 2x2 off the fast path */
  { 16, 16, 16, 16, 1, 1, 0, 0, 0, 0, 1 }, /* 256 places: still bytes */
  { 23, 21, 17, 16, 3, 2, 8, 4, 2, 3, 4 }, /* 272 places: int32s */
};

static void
test_general_windows (void)
{
  for (int threads = 1; threads <= 3; threads++)
    for (gsize w = 0; w < G_N_ELEMENTS (windows); w++)
      {
        const WindowCase *k = &windows[w];
        const int n = 2, c = 3, planes = n * c;
        sl_conv_desc d = { .in_c = c,
                           .in_h = k->in_h,
                           .in_w = k->in_w,
                           .out_c = c,
                           .kh = k->kh,
                           .kw = k->kw,
                           .sh = k->sh,
                           .sw = k->sw,
                           .ph = k->ph,
                           .pw = k->pw,
                           .ph_end = k->ph_end,
                           .pw_end = k->pw_end,
                           .dh = 1,
                           .dw = 1,
                           .groups = 1 };
        sl_backend *be;
        sl_error err = { 0 };

        d.out_h = (d.in_h + d.ph + d.ph_end - d.kh) / d.sh + 1;
        d.out_w = (d.in_w + d.pw + d.pw_end - d.kw) / d.sw + 1;
        g_assert_cmpuint (_sl_pool_argmax_size (&d), ==, k->argmax_size);
        const gsize in_plane = (gsize) d.in_h * d.in_w, out_plane = (gsize) d.out_h * d.out_w;
        const gsize in_len = planes * in_plane, out_len = planes * out_plane;
        g_autofree float *x = g_new (float, in_len), *y = g_new (float, out_len);
        g_autofree float *ey = g_new (float, out_len), *dy = g_new (float, out_len);
        g_autofree float *dx = g_new (float, in_len), *want = g_new (float, in_len);
        g_autofree int *at = g_new (int, out_len);
        g_autofree guint8 *arg = g_malloc (out_len * k->argmax_size);

        sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
        /* Few distinct values, so windows hold ties; the first plane all
         * -inf, where each window's first place in the input wins. */
        for (gsize i = 0; i < in_len; i++)
          x[i] = i < in_plane ? -INFINITY : (float) ((i * 7919u) % 13u) - 6.0f;
        sl_test_fill_normal (dy, out_len, 41 + (guint64) w, 1.0f);
        for (gsize p = 0; p < (gsize) planes; p++)
          for (int oy = 0; oy < d.out_h; oy++)
            for (int ox = 0; ox < d.out_w; ox++)
              {
                const gsize o = p * out_plane + (gsize) oy * d.out_w + ox;
                float best = -FLT_MAX;

                at[o] = MAX (oy * d.sh - d.ph, 0) * d.in_w + MAX (ox * d.sw - d.pw, 0);
                for (int iy = oy * d.sh - d.ph; iy < oy * d.sh - d.ph + d.kh; iy++)
                  for (int ix = ox * d.sw - d.pw; ix < ox * d.sw - d.pw + d.kw; ix++)
                    if (iy >= 0 && iy < d.in_h && ix >= 0 && ix < d.in_w
                        && x[p * in_plane + (gsize) iy * d.in_w + ix] > best)
                      {
                        best = x[p * in_plane + (gsize) iy * d.in_w + ix];
                        at[o] = iy * d.in_w + ix;
                      }
                ey[o] = best;
              }
        be->ops->pool_forward (be, SL_POOL_MAX, &d, n, x, y, arg);
        g_assert_cmpmem (y, out_len * sizeof (float), ey, out_len * sizeof (float));
        for (gsize o = 0; o < out_len; o++)
          {
            const int oy = (int) (o % out_plane) / d.out_w, ox = (int) (o % out_plane) % d.out_w;
            int32_t place = arg[o];

            if (k->argmax_size == sizeof (int32_t))
              memcpy (&place, arg + o * sizeof place, sizeof place);
            g_assert_cmpint ((oy * d.sh - d.ph + place / d.kw) * d.in_w + ox * d.sw - d.pw
                                 + place % d.kw,
                             ==, at[o]);
          }
        for (int acc = 0; acc <= 1; acc++)
          {
            sl_test_fill_normal (dx, in_len, 43, 1.0f);
            for (gsize i = 0; i < in_len; i++)
              want[i] = acc ? dx[i] : 0.0f;
            for (gsize o = 0; o < out_len; o++)
              want[o / out_plane * in_plane + (gsize) at[o]] += dy[o];
            be->ops->pool_backward (be, SL_POOL_MAX, &d, n, dy, arg, dx, acc);
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
  g_test_add_func ("/engine/pool-kernels/general-windows", test_general_windows);
  return g_test_run ();
}
