/* test-engine-conv-winograd4.c: the CPU backend's Winograd F(4x4, 3x3) kernel (forward, input
 * gradient, weight gradient, over groups of images) against the definitions in double
 * precision, the rule that picks it, and the backend's backward pass through it. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  const char *name;
  int n, in_c, out_c, h, w;
  int top, left, bottom, right;
  gboolean bias;
} W4Case;

/* Whole tiles (8 x 8, 4 x 4), a last tile row and column of 1 to 3 pixels (7 x 7, 13 x 10,
 * 5 x 6, 3 x 3: one partial tile), "valid" (whose input gradient pads by 2) and uneven padding,
 * 16 to 64 channels and filters, one image and many; 48 -> 48 at 14 x 14 over 38 images is two
 * groups (the weight gradient adds the second onto the first). */
static const W4Case cases[] = {
  { "same-16to32-8x8-b3", 3, 16, 32, 8, 8, 1, 1, 1, 1, TRUE },
  { "same-32to16-7x7-b2", 2, 32, 16, 7, 7, 1, 1, 1, 1, FALSE },
  { "same-16to16-13x10-b1", 1, 16, 16, 13, 10, 1, 1, 1, 1, TRUE },
  { "same-64to32-4x4-b5", 5, 64, 32, 4, 4, 1, 1, 1, 1, FALSE },
  { "same-32to32-3x3-b4", 4, 32, 32, 3, 3, 1, 1, 1, 1, TRUE },
  { "valid-16to32-9x10-b2", 2, 16, 32, 9, 10, 0, 0, 0, 0, FALSE },
  { "uneven-32to16-5x6-b3", 3, 32, 16, 5, 6, 0, 2, 2, 0, TRUE },
  { "same-48to48-14x14-b38-groups", 38, 48, 48, 14, 14, 1, 1, 1, 1, FALSE },
};

static sl_conv_desc
desc_of (const W4Case *k)
{
  sl_conv_desc d = { .in_c = k->in_c,
                     .in_h = k->h,
                     .in_w = k->w,
                     .out_c = k->out_c,
                     .kh = 3,
                     .kw = 3,
                     .sh = 1,
                     .sw = 1,
                     .ph = k->top,
                     .pw = k->left,
                     .ph_end = k->bottom,
                     .pw_end = k->right,
                     .dh = 1,
                     .dw = 1,
                     .groups = 1 };

  d.out_h = d.in_h + d.ph + d.ph_end - 2;
  d.out_w = d.in_w + d.pw + d.pw_end - 2;
  return d;
}

static gsize
x_at (const sl_conv_desc *d, int i, int c, int y, int x)
{
  return (((gsize) i * d->in_c + c) * d->in_h + y) * d->in_w + x;
}

static gsize
y_at (const sl_conv_desc *d, int i, int c, int y, int x)
{
  return (((gsize) i * d->out_c + c) * d->out_h + y) * d->out_w + x;
}

static gsize
w_at (const sl_conv_desc *d, int oc, int ic, int ki, int kj)
{
  return (((gsize) oc * d->in_c + ic) * 3 + ki) * 3 + kj;
}

/* y = conv (x) + b, dx and dw of dy, by the definitions in double precision. */
static void
reference (const sl_conv_desc *d, int n, const float *x, const float *w, const float *b,
           const float *dy, float *y, float *dx, float *dw)
{
  const gsize nx = (gsize) n * d->in_c * d->in_h * d->in_w, nw = (gsize) d->out_c * d->in_c * 9;
  g_autofree double *ax = g_new0 (double, nx), *aw = g_new0 (double, nw);

  for (int i = 0; i < n; i++)
    for (int oc = 0; oc < d->out_c; oc++)
      for (int oy = 0; oy < d->out_h; oy++)
        for (int ox = 0; ox < d->out_w; ox++)
          {
            const double g = dy[y_at (d, i, oc, oy, ox)];
            double acc = b != NULL ? b[oc] : 0.0;

            for (int ic = 0; ic < d->in_c; ic++)
              for (int ki = 0; ki < 3; ki++)
                for (int kj = 0; kj < 3; kj++)
                  {
                    const int iy = oy - d->ph + ki, ix = ox - d->pw + kj;

                    if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
                      continue;
                    acc += (double) w[w_at (d, oc, ic, ki, kj)] * x[x_at (d, i, ic, iy, ix)];
                    ax[x_at (d, i, ic, iy, ix)] += g * w[w_at (d, oc, ic, ki, kj)];
                    aw[w_at (d, oc, ic, ki, kj)] += g * x[x_at (d, i, ic, iy, ix)];
                  }
            y[y_at (d, i, oc, oy, ox)] = (float) acc;
          }
  for (gsize e = 0; e < nx; e++)
    dx[e] = (float) ax[e];
  for (gsize e = 0; e < nw; e++)
    dw[e] = (float) aw[e];
}

/* F(4x4, 3x3)'s transforms scale by up to 8 and 1/24: a few 1e-6 of the norm
 * (F(2x2, 3x3) and the direct kernels stay under 1e-5 too). */
static void
assert_close (const char *what, const float *a, const float *b, gsize n)
{
  double err = sl_test_rel_error (a, b, n, 1e-3);

  g_test_message ("%s: %zu values, relative error %.2e", what, n, err);
  g_assert_cmpfloat (err, <, 1e-5);
}

/* A workspace of exactly the declared size, NaN throughout (whatever the
 * kernel reads before writing shows), and a guard past its end. */
static float *
workspace_new (gsize floats)
{
  float *ws = g_new (float, floats + 1);

  for (gsize i = 0; i < floats; i++)
    ws[i] = NAN;
  ws[floats] = 12345.0f;
  return ws;
}

static void
run_case (const W4Case *k, int threads)
{
  const sl_conv_desc d = desc_of (k), t = _sl_cpu_conv_dx_desc (&d);
  const int n = k->n;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w, nw = (gsize) d.out_c * d.in_c * 9;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d.out_c);
  g_autofree float *dy = g_new (float, ny), *ry = g_new (float, ny), *rdx = g_new (float, nx);
  g_autofree float *rdw = g_new (float, nw), *y = g_new (float, ny), *dx = g_new (float, nx);
  g_autofree float *dw = g_new (float, nw), *start = g_new (float, nx), *sum = g_new (float, nx);
  const float *bias = k->bias ? b : NULL;
  sl_backend *be;
  sl_error err = { 0 };

  g_assert_true (_sl_cpu_winograd4_conv_applies (&d));
  g_assert_true (_sl_cpu_winograd4_conv_applies (&t));
  sl_test_fill_normal (x, nx, 1, 1.0f);
  sl_test_fill_normal (w, nw, 2, 0.5f);
  sl_test_fill_normal (b, d.out_c, 3, 0.5f);
  sl_test_fill_normal (dy, ny, 4, 1.0f);
  sl_test_fill_normal (start, nx, 5, 1.0f);
  reference (&d, n, x, w, bias, dy, ry, rdx, rdw);

  sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
  sl_cpu *cpu = _sl_cpu_of (be);
  const gsize fwd_floats = _sl_cpu_winograd4_conv_workspace_floats (&d, n, threads),
              dx_floats = _sl_cpu_winograd4_conv_workspace_floats (&t, n, threads);
  g_autofree float *ws = workspace_new (fwd_floats), *ws_dx = workspace_new (dx_floats);

  /* Forward, over garbage. */
  for (gsize i = 0; i < ny; i++)
    y[i] = 1e6f;
  _sl_cpu_winograd4_conv_forward (cpu, &d, n, x, w, FALSE, bias, y, FALSE, ws);
  assert_close ("output", y, ry, ny);

  /* The weight gradient overwrites dw, in the forward pass's workspace. */
  for (gsize i = 0; i < nw; i++)
    dw[i] = 1e6f;
  _sl_cpu_winograd4_conv_weight_grad (cpu, &d, n, x, dy, dw, ws);
  assert_close ("weight gradient", dw, rdw, nw);
  g_assert_cmpfloat (ws[fwd_floats], ==, 12345.0f);

  /* The input gradient: the flipped convolution of dy, written, then added. */
  for (gsize i = 0; i < nx; i++)
    dx[i] = 1e6f;
  _sl_cpu_winograd4_conv_forward (cpu, &t, n, dy, w, TRUE, NULL, dx, FALSE, ws_dx);
  assert_close ("input gradient", dx, rdx, nx);
  memcpy (dx, start, nx * sizeof (float));
  _sl_cpu_winograd4_conv_forward (cpu, &t, n, dy, w, TRUE, NULL, dx, TRUE, ws_dx);
  for (gsize i = 0; i < nx; i++)
    sum[i] = start[i] + rdx[i];
  assert_close ("input gradient (added)", dx, sum, nx);
  g_assert_cmpfloat (ws_dx[dx_floats], ==, 12345.0f);
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

static void
test_case_3_threads (gconstpointer data)
{
  run_case (data, 3);
}

/* More threads than half the 36 products: each is cut into bands of rows. */
static void
test_case_20_threads (gconstpointer data)
{
  run_case (data, 20);
}

/* An image gets the same bits alone and in a batch, on one thread or two. */
static void
test_same_bits (void)
{
  const sl_conv_desc d = desc_of (&cases[1]);
  const int n = 3;
  const gsize in_size = (gsize) d.in_c * d.in_h * d.in_w,
              out_size = (gsize) d.out_c * d.out_h * d.out_w, nw = (gsize) d.out_c * d.in_c * 9;
  g_autofree float *x = g_new (float, n *in_size), *w = g_new (float, nw);
  g_autofree float *batch = g_new (float, n *out_size), *alone = g_new (float, out_size);
  g_autofree float *first = g_new (float, out_size);

  sl_test_fill_normal (x, n * in_size, 6, 1.0f);
  sl_test_fill_normal (w, nw, 7, 0.5f);
  for (int threads = 1; threads <= 2; threads++)
    {
      sl_backend *be;
      sl_error err = { 0 };

      sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
      sl_cpu *cpu = _sl_cpu_of (be);
      g_autofree float *ws
          = g_new0 (float, _sl_cpu_winograd4_conv_workspace_floats (&d, n, threads));

      _sl_cpu_winograd4_conv_forward (cpu, &d, n, x, w, FALSE, NULL, batch, FALSE, ws);
      _sl_cpu_winograd4_conv_forward (cpu, &d, 1, x + 2 * in_size, w, FALSE, NULL, alone, FALSE,
                                      ws);
      g_assert_cmpmem (batch + 2 * out_size, out_size * sizeof (float), alone,
                       out_size * sizeof (float));
      if (threads == 1)
        memcpy (first, alone, out_size * sizeof (float));
      else
        g_assert_cmpmem (first, out_size * sizeof (float), alone, out_size * sizeof (float));
      be->ops->destroy (be);
    }
}

/* It takes 3 x 3 stride-1 layers of 16k channels and filters on outputs of
 * up to 16 x 16, and passes of at least 8 images, 32 tiles and 4096
 * filter-channel pairs. */
static void
test_pays (void)
{
  W4Case k = { "128to256", 32, 128, 256, 8, 8, 1, 1, 1, 1, FALSE };
  sl_conv_desc d = desc_of (&k);

  g_assert_true (_sl_cpu_winograd4_conv_pays (&d, 32));
  g_assert_true (_sl_cpu_winograd4_conv_pays (&d, 8)); /* 32 tiles */
  g_assert_false (_sl_cpu_winograd4_conv_pays (&d, 7));
  g_assert_false (_sl_cpu_winograd4_conv_pays (&d, 1)); /* inference latency */
  k.h = k.w = 4;
  d = desc_of (&k);
  g_assert_true (_sl_cpu_winograd4_conv_pays (&d, 32)); /* one tile an image */
  g_assert_false (_sl_cpu_winograd4_conv_pays (&d, 16));
  k.h = k.w = 16;
  d = desc_of (&k);
  g_assert_true (_sl_cpu_winograd4_conv_pays (&d, 8));
  k.h = k.w = 17;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd4_conv_applies (&d)); /* F(2x2, 3x3) does as well */
  k.h = 2;
  k.w = 60;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd4_conv_applies (&d)); /* 120 pixels, but 60 wide */
  k.h = k.w = 14;
  d = desc_of (&k);
  g_assert_true (_sl_cpu_winograd4_conv_pays (&d, 8));
  g_assert_false (_sl_cpu_winograd4_conv_pays (&d, 7)); /* 112 tiles, but few images */
  d.out_c = 24;
  g_assert_false (_sl_cpu_winograd4_conv_applies (&d)); /* not vectors of filters */
  d = desc_of (&k);
  d.in_c = 8;
  g_assert_false (_sl_cpu_winograd4_conv_applies (&d)); /* not vectors of channels */
  d = desc_of (&k);
  d.in_c = d.out_c = 32;
  g_assert_true (_sl_cpu_winograd4_conv_applies (&d));
  g_assert_false (_sl_cpu_winograd4_conv_pays (&d, 32)); /* 1024 pairs */
  d = desc_of (&k);
  d.sh = d.sw = 2;
  g_assert_false (_sl_cpu_winograd4_conv_applies (&d)); /* stride 2 */
  d = desc_of (&k);
  d.groups = 2;
  g_assert_false (_sl_cpu_winograd4_conv_applies (&d)); /* grouped */
}

/* The backend's passes (conv2d_workspace, conv2d_backward) take it where it
 * pays: the same gradients as the GEMM path's, a bias gradient beside it. */
static void
test_backend (void)
{
  const W4Case k = { "64to64", 16, 64, 64, 8, 8, 1, 1, 1, 1, TRUE };
  const sl_conv_desc d = desc_of (&k);
  const int n = k.n;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w, nw = (gsize) d.out_c * d.in_c * 9;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d.out_c);
  g_autofree float *dy = g_new (float, ny), *y = g_new (float, ny), *gy = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx), *gdx = g_new (float, nx);
  g_autofree float *dw = g_new (float, nw), *gdw = g_new (float, nw);
  g_autofree float *db = g_new (float, d.out_c), *gdb = g_new (float, d.out_c);
  sl_backend *be;
  sl_error err = { 0 };

  g_assert_true (_sl_cpu_winograd4_conv_pays (&d, n));
  sl_test_fill_normal (x, nx, 8, 1.0f);
  sl_test_fill_normal (w, nw, 9, 0.5f);
  sl_test_fill_normal (b, d.out_c, 10, 0.5f);
  sl_test_fill_normal (dy, ny, 11, 1.0f);
  sl_assert_ok (_sl_cpu_backend_new (2, &be, &err), &err);
  sl_cpu *cpu = _sl_cpu_of (be);
  const gsize floats = be->ops->conv2d_workspace (be, &d, n);
  const gsize gemm_floats = _sl_cpu_gemm_conv_workspace_floats (&d, 2);
  const gsize scratch_floats = be->ops->conv2d_grad_scratch (be, &d);
  g_autofree float *ws = workspace_new (floats), *gws = workspace_new (gemm_floats);
  g_autofree float *scratch = g_new0 (float, scratch_floats * 2);

  g_assert_cmpuint (floats, >=, _sl_cpu_winograd4_conv_workspace_floats (&d, n, 2));
  be->ops->conv2d_forward (be, &d, n, x, w, b, y, ws, floats);
  _sl_cpu_gemm_conv_forward (cpu, &d, n, x, w, b, gy, gws);
  assert_close ("backend output", y, gy, ny);

  be->ops->conv2d_backward (be, &d, n, x, w, dy, dx, FALSE, dw, db, ws, floats, scratch);
  _sl_cpu_gemm_conv_backward (cpu, &d, n, x, w, dy, gdx, FALSE, gdw, gdb, gws, scratch);
  assert_close ("backend input gradient", dx, gdx, nx);
  assert_close ("backend weight gradient", dw, gdw, nw);
  assert_close ("backend bias gradient", db, gdb, d.out_c);
  g_assert_cmpfloat (ws[floats], ==, 12345.0f);

  /* Added onto an input gradient already there (a residual sum's). */
  memcpy (dx, x, nx * sizeof (float));
  be->ops->conv2d_backward (be, &d, n, x, w, dy, dx, TRUE, NULL, NULL, ws, floats, scratch);
  for (gsize i = 0; i < nx; i++)
    gdx[i] += x[i];
  assert_close ("backend input gradient (added)", dx, gdx, nx);
  be->ops->destroy (be);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *one = g_strdup_printf ("/engine/conv-winograd4/%s/1-thread", cases[i].name);
      g_autofree char *two = g_strdup_printf ("/engine/conv-winograd4/%s/2-threads", cases[i].name);
      g_autofree char *three
          = g_strdup_printf ("/engine/conv-winograd4/%s/3-threads", cases[i].name);

      g_test_add_data_func (one, &cases[i], test_case_1_thread);
      g_test_add_data_func (two, &cases[i], test_case_2_threads);
      g_test_add_data_func (three, &cases[i], test_case_3_threads);
    }
  g_test_add_data_func ("/engine/conv-winograd4/same-64to32-4x4-b5/20-threads", &cases[3],
                        test_case_20_threads);
  g_test_add_data_func ("/engine/conv-winograd4/same-48to48-14x14-b38-groups/20-threads", &cases[7],
                        test_case_20_threads);
  g_test_add_func ("/engine/conv-winograd4/same-bits", test_same_bits);
  g_test_add_func ("/engine/conv-winograd4/pays", test_pays);
  g_test_add_func ("/engine/conv-winograd4/backend", test_backend);
  return g_test_run ();
}
