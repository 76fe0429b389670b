/* test-engine-depthwise.c: the direct depthwise kernels against im2col + GEMM and against plain
 * loops, thread-count independence, and asymmetric ("same") padding against a hand computation. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"
#include "sl-cpu-depthwise-private.h"
#include "sl-model-private.h"

#include <string.h>

typedef struct
{
  const char *name;
  int c, h, w, kh, kw, sh, sw, dh, dw;
  int top, left, bottom, right;
  gboolean bias;
} DwCase;

static const DwCase dw_cases[] = {
  { "k3-s1-same", 5, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TRUE },
  { "k3-s2-tf-same", 6, 10, 12, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, TRUE },
  { "k5-s1-same", 4, 13, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, FALSE },
  { "k5-s2-tf-same", 7, 14, 15, 5, 5, 2, 2, 1, 1, 1, 2, 2, 2, TRUE },
  { "k3-s2-odd-unpadded", 3, 9, 7, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, TRUE },
  { "k3-dilated", 3, 11, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, TRUE },
  { "k3x2-dilated-asymmetric", 2, 9, 8, 3, 2, 1, 1, 2, 1, 2, 1, 1, 0, FALSE },
  { "k3-stride-2x3-asymmetric", 4, 11, 13, 3, 3, 2, 3, 1, 1, 0, 1, 2, 1, TRUE },
  { "k7-s2-padded", 3, 15, 15, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, TRUE },
  { "k1-s1", 5, 4, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, TRUE },
  { "k2-s1-pad-beyond-kernel", 2, 5, 5, 2, 2, 1, 1, 1, 1, 2, 0, 0, 2, TRUE },
};

static sl_conv_desc
desc_of (const DwCase *k)
{
  sl_conv_desc d = { .in_c = k->c,
                     .in_h = k->h,
                     .in_w = k->w,
                     .out_c = k->c,
                     .kh = k->kh,
                     .kw = k->kw,
                     .sh = k->sh,
                     .sw = k->sw,
                     .ph = k->top,
                     .pw = k->left,
                     .ph_end = k->bottom,
                     .pw_end = k->right,
                     .dh = k->dh,
                     .dw = k->dw,
                     .groups = k->c };

  d.out_h = (d.in_h + d.ph + d.ph_end - d.dh * (d.kh - 1) - 1) / d.sh + 1;
  d.out_w = (d.in_w + d.pw + d.pw_end - d.dw * (d.kw - 1) - 1) / d.sw + 1;
  return d;
}

typedef struct
{
  float *y, *dx, *dw, *db;
} Results;

/* Forward, then backward twice (overwriting dx, then adding onto it). */
static void
run_path (sl_backend *be, gboolean direct, const sl_conv_desc *d, int n, const float *x,
          const float *w, const float *b, const float *dy, const float *dx_start, Results *r)
{
  sl_cpu *cpu = _sl_cpu_of (be);
  const gsize nx = (gsize) n * d->in_c * d->in_h * d->in_w,
              ny = (gsize) n * d->out_c * d->out_h * d->out_w,
              nw = (gsize) d->out_c * d->kh * d->kw;
  const gsize ws_floats = direct ? _sl_cpu_depthwise_workspace_floats (d, cpu->threads)
                                 : _sl_cpu_gemm_conv_workspace_floats (d, cpu->threads);
  g_autofree float *ws = g_new0 (float, ws_floats + 1);
  g_autofree float *scratch
      = g_new0 (float, _sl_cpu_gemm_conv_grad_scratch_floats (d) * cpu->threads + 1);

  r->y = g_new (float, ny);
  r->dx = g_memdup2 (dx_start, nx * sizeof (float));
  r->dw = g_new (float, nw);
  r->db = g_new (float, d->out_c);
  if (direct)
    {
      _sl_cpu_depthwise_forward (cpu, d, n, x, w, b, r->y, ws);
      _sl_cpu_depthwise_backward (cpu, d, n, x, w, dy, r->dx, TRUE, r->dw, r->db, ws);
    }
  else
    {
      _sl_cpu_gemm_conv_forward (cpu, d, n, x, w, b, r->y, ws);
      _sl_cpu_gemm_conv_backward (cpu, d, n, x, w, dy, r->dx, TRUE, r->dw, r->db, ws, scratch);
    }
}

static void
results_clear (Results *r)
{
  g_free (r->y);
  g_free (r->dx);
  g_free (r->dw);
  g_free (r->db);
}

static void
assert_close (const char *what, const float *a, const float *b, gsize n)
{
  double err = sl_test_rel_error (a, b, n, 1e-3);

  g_test_message ("%s: %zu values, relative error %.2e", what, n, err);
  g_assert_cmpfloat (err, <, 1e-5);
}

static void
test_matches_im2col (gconstpointer data)
{
  const DwCase *k = data;
  const sl_conv_desc d = desc_of (k);
  const int n = 3;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w, nw = (gsize) d.out_c * d.kh * d.kw;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d.out_c);
  g_autofree float *dy = g_new (float, ny), *dx0 = g_new (float, nx);
  sl_backend *be;
  sl_error err = { 0 };
  Results gemm, direct;

  g_assert_true (_sl_cpu_is_depthwise (&d));
  sl_test_fill_normal (x, nx, 1, 1.0f);
  sl_test_fill_normal (w, nw, 2, 0.5f);
  sl_test_fill_normal (b, d.out_c, 3, 0.5f);
  sl_test_fill_normal (dy, ny, 4, 1.0f);
  sl_test_fill_normal (dx0, nx, 5, 1.0f);
  sl_assert_ok (_sl_cpu_backend_new (2, &be, &err), &err);
  run_path (be, FALSE, &d, n, x, w, k->bias ? b : NULL, dy, dx0, &gemm);
  run_path (be, TRUE, &d, n, x, w, k->bias ? b : NULL, dy, dx0, &direct);
  assert_close ("output", gemm.y, direct.y, ny);
  assert_close ("input gradient (added)", gemm.dx, direct.dx, nx);
  assert_close ("weight gradient", gemm.dw, direct.dw, nw);
  if (k->bias)
    assert_close ("bias gradient", gemm.db, direct.db, d.out_c);

  /* Overwriting dx, with no weight or bias gradient wanted (a frozen layer). */
  sl_cpu *cpu = _sl_cpu_of (be);
  g_autofree float *ws = g_new0 (float, _sl_cpu_depthwise_workspace_floats (&d, cpu->threads) + 1);
  g_autofree float *dx = g_memdup2 (dx0, nx * sizeof (float));
  _sl_cpu_depthwise_backward (cpu, &d, n, x, w, dy, dx, FALSE, NULL, NULL, ws);
  for (gsize i = 0; i < nx; i++)
    dx[i] += dx0[i];
  assert_close ("input gradient (overwritten)", gemm.dx, dx, nx);

  results_clear (&gemm);
  results_clear (&direct);
  be->ops->destroy (be);
}

/* Work is split by planes and channels, each summed in one order: any
 * number of threads gives the same bits. */
static void
test_thread_count_exact (void)
{
  const sl_conv_desc d = desc_of (&dw_cases[3]);
  const int n = 5;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w, nw = (gsize) d.out_c * d.kh * d.kw;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d.out_c);
  g_autofree float *dy = g_new (float, ny), *dx0 = g_new0 (float, nx);
  Results r[2];
  sl_error err = { 0 };

  sl_test_fill_normal (x, nx, 6, 1.0f);
  sl_test_fill_normal (w, nw, 7, 0.5f);
  sl_test_fill_normal (b, d.out_c, 8, 0.5f);
  sl_test_fill_normal (dy, ny, 9, 1.0f);
  for (int k = 0; k < 2; k++)
    {
      sl_backend *be;

      sl_assert_ok (_sl_cpu_backend_new (k == 0 ? 1 : 3, &be, &err), &err);
      run_path (be, TRUE, &d, n, x, w, b, dy, dx0, &r[k]);
      be->ops->destroy (be);
    }
  g_assert_cmpmem (r[0].y, ny * sizeof (float), r[1].y, ny * sizeof (float));
  g_assert_cmpmem (r[0].dx, nx * sizeof (float), r[1].dx, nx * sizeof (float));
  g_assert_cmpmem (r[0].dw, nw * sizeof (float), r[1].dw, nw * sizeof (float));
  g_assert_cmpmem (r[0].db, d.out_c * sizeof (float), r[1].db, d.out_c * sizeof (float));
  results_clear (&r[0]);
  results_clear (&r[1]);
}

/* The convolution and its gradients as plain loops in double precision:
 * y = b + x * w; dx = dx0 + the adjoint on dy; dw and db from dy. */
static void
reference (const sl_conv_desc *d, int n, const float *x, const float *w, const float *b,
           const float *dy, const float *dx0, float *y, float *dx, float *dw, float *db)
{
  const int K = d->kh, taps = d->kh * d->kw, in_plane = d->in_h * d->in_w,
            out_plane = d->out_h * d->out_w;
  g_autofree double *gx = g_new0 (double, (gsize) n * d->in_c * in_plane);
  g_autofree double *gw = g_new0 (double, (gsize) d->in_c *taps);
  g_autofree double *gb = g_new0 (double, d->in_c);

  for (int i = 0; i < n; i++)
    for (int c = 0; c < d->in_c; c++)
      {
        const gsize p = (gsize) i * d->in_c + c;

        for (int oy = 0; oy < d->out_h; oy++)
          for (int ox = 0; ox < d->out_w; ox++)
            {
              const float g = dy[p * out_plane + oy * d->out_w + ox];
              double s = b[c];

              gb[c] += g;
              for (int ki = 0; ki < K; ki++)
                for (int kj = 0; kj < d->kw; kj++)
                  {
                    const int iy = oy * d->sh - d->ph + ki, ix = ox * d->sw - d->pw + kj;
                    const gsize at = p * in_plane + (gsize) iy * d->in_w + ix;

                    if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
                      continue;
                    s += (double) w[c * taps + ki * d->kw + kj] * x[at];
                    gx[at] += (double) w[c * taps + ki * d->kw + kj] * g;
                    gw[c * taps + ki * d->kw + kj] += (double) x[at] * g;
                  }
              y[p * out_plane + oy * d->out_w + ox] = (float) s;
            }
      }
  for (gsize i = 0; i < (gsize) n * d->in_c * in_plane; i++)
    dx[i] = (float) (dx0[i] + gx[i]);
  for (int i = 0; i < d->in_c * taps; i++)
    dw[i] = (float) gw[i];
  for (int c = 0; c < d->in_c; c++)
    db[c] = (float) gb[c];
}

/* TensorFlow "same" padding along one axis. */
static void
pad_same (int in, int k, int s, int *begin, int *end)
{
  const int out = (in + s - 1) / s, total = MAX ((out - 1) * s + k - in, 0);

  *begin = total / 2;
  *end = total - total / 2;
}

/* One geometry through the row kernels on threads threads against
 * reference (): the output, dx added onto and written over, and dw and db
 * wanted or not. */
static void
check_rows_case (const sl_conv_desc *d, int threads)
{
  const int n = 2;
  const gsize nx = (gsize) n * d->in_c * d->in_h * d->in_w,
              ny = (gsize) n * d->out_c * d->out_h * d->out_w,
              nw = (gsize) d->out_c * d->kh * d->kw;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d->out_c);
  g_autofree float *dy = g_new (float, ny), *dx0 = g_new (float, nx), *zeros = g_new0 (float, nx);
  g_autofree float *ry = g_new (float, ny), *rdx = g_new (float, nx), *rdx0 = g_new (float, nx);
  g_autofree float *rdw = g_new (float, nw), *rdb = g_new (float, d->out_c);
  g_autofree float *y = g_new (float, ny), *dx = g_new (float, nx), *dw = g_new (float, nw);
  g_autofree float *db = g_new (float, d->out_c);
  g_autofree char *what = g_strdup_printf ("k%d s%d %dx%d pad %d,%d,%d,%d -> %dx%d, %d thread(s)",
                                           d->kh, d->sh, d->in_h, d->in_w, d->ph, d->pw, d->ph_end,
                                           d->pw_end, d->out_h, d->out_w, threads);
  sl_backend *be;
  sl_error err = { 0 };

  g_assert_true (_sl_cpu_depthwise_rows_take (d));
  sl_test_fill_normal (x, nx, 11, 1.0f);
  sl_test_fill_normal (w, nw, 12, 0.5f);
  sl_test_fill_normal (b, d->out_c, 13, 0.5f);
  sl_test_fill_normal (dy, ny, 14, 1.0f);
  sl_test_fill_normal (dx0, nx, 15, 1.0f);
  reference (d, n, x, w, b, dy, dx0, ry, rdx, rdw, rdb);
  reference (d, n, x, w, b, dy, zeros, ry, rdx0, rdw, rdb);

  sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
  sl_cpu *cpu = _sl_cpu_of (be);
  g_autofree float *ws = g_new (float, _sl_cpu_depthwise_workspace_floats (d, cpu->threads));

  /* Scratch starts as garbage: the kernels must not rely on zeros left in it. */
  memset (ws, 0xff, sizeof (float) * _sl_cpu_depthwise_workspace_floats (d, cpu->threads));
  _sl_cpu_depthwise_forward (cpu, d, n, x, w, b, y, ws);
  memcpy (dx, dx0, nx * sizeof (float));
  _sl_cpu_depthwise_backward (cpu, d, n, x, w, dy, dx, TRUE, dw, db, ws);
  if (sl_test_rel_error (ry, y, ny, 1e-3) >= 1e-6 || sl_test_rel_error (rdx, dx, nx, 1e-3) >= 1e-6
      || sl_test_rel_error (rdw, dw, nw, 1e-3) >= 1e-6
      || sl_test_rel_error (rdb, db, d->out_c, 1e-3) >= 1e-6)
    g_error ("%s: relative error output %.2e, dx %.2e, dw %.2e, db %.2e", what,
             sl_test_rel_error (ry, y, ny, 1e-3), sl_test_rel_error (rdx, dx, nx, 1e-3),
             sl_test_rel_error (rdw, dw, nw, 1e-3), sl_test_rel_error (rdb, db, d->out_c, 1e-3));

  /* dx written over, without weight or bias gradients (a frozen layer). */
  memset (dx, 0xff, nx * sizeof (float));
  _sl_cpu_depthwise_backward (cpu, d, n, x, w, dy, dx, FALSE, NULL, NULL, ws);
  if (sl_test_rel_error (rdx0, dx, nx, 1e-3) >= 1e-6)
    g_error ("%s: dx written over: relative error %.2e", what,
             sl_test_rel_error (rdx0, dx, nx, 1e-3));

  /* Weight and bias gradients only (the first layer). */
  _sl_cpu_depthwise_backward (cpu, d, n, x, w, dy, NULL, FALSE, dw, db, ws);
  if (sl_test_rel_error (rdw, dw, nw, 1e-3) >= 1e-6
      || sl_test_rel_error (rdb, db, d->out_c, 1e-3) >= 1e-6)
    g_error ("%s: dw alone: relative error %.2e", what, sl_test_rel_error (rdw, dw, nw, 1e-3));
  be->ops->destroy (be);
}

/* Every kernel size and stride the row kernels take, on widths and heights
 * below, at and past one and two vectors (odd ones too), with symmetric,
 * "same", no, the largest and lopsided padding. */
static void
test_rows_against_reference (gconstpointer data)
{
  const int k = GPOINTER_TO_INT (data) / 10, s = GPOINTER_TO_INT (data) % 10;
  static const int sizes[][2]
      = { { 1, 1 },  { 2, 3 },  { 5, 7 },   { 7, 7 },  { 9, 13 },  { 14, 14 },
          { 8, 17 }, { 23, 9 }, { 16, 16 }, { 6, 33 }, { 21, 10 }, { 28, 12 } };
  int cases = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (int pad = 0; pad < 5; pad++)
      {
        sl_conv_desc d = { .in_c = 3,
                           .in_h = sizes[i][0],
                           .in_w = sizes[i][1],
                           .out_c = 3,
                           .kh = k,
                           .kw = k,
                           .sh = s,
                           .sw = s,
                           .dh = 1,
                           .dw = 1,
                           .groups = 3 };

        switch (pad)
          {
            case 0: d.ph = d.pw = d.ph_end = d.pw_end = (k - 1) / 2; break;
            case 1:
              pad_same (d.in_h, k, s, &d.ph, &d.ph_end);
              pad_same (d.in_w, k, s, &d.pw, &d.pw_end);
              break;
            case 2: break;
            case 3: d.ph = d.pw = d.ph_end = d.pw_end = k - 1; break;
            default:
              d.ph = k - 1;
              d.pw = 1;
              d.ph_end = 0;
              d.pw_end = k - 2;
          }
        if (d.in_h + d.ph + d.ph_end < k || d.in_w + d.pw + d.pw_end < k)
          continue;
        d.out_h = (d.in_h + d.ph + d.ph_end - k) / s + 1;
        d.out_w = (d.in_w + d.pw + d.pw_end - k) / s + 1;
        check_rows_case (&d, 1 + (int) (i % 2));
        cases++;
      }
  g_test_message ("%d geometries", cases);
  g_assert_cmpint (cases, >=, 40);
}

/* "same" at stride 2 on a 4x4 input with a 3x3 kernel: TensorFlow pads one row
 * and column at the end only (PyTorch's symmetric padding 1 would give 14, 27,
 * 39, 54 here). The input is 1..16, the kernel all ones: each output is the
 * sum of its window. */
static void
test_same_stride2_by_hand (void)
{
  const char *json = "{\"input\":{\"channels\":1,\"height\":4,\"width\":4},\"classes\":2,"
                     "\"layers\":[{\"type\":\"conv2d\",\"filters\":1,\"kernel\":3,\"stride\":2,"
                     "\"padding\":\"same\",\"bias\":false},{\"type\":\"flatten\"},"
                     "{\"type\":\"dense\",\"units\":2}]}";
  const float expect[4] = { 1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11, 3 + 4 + 7 + 8 + 11 + 12,
                            9 + 10 + 11 + 13 + 14 + 15, 11 + 12 + 15 + 16 };
  float x[16], w[9], y[4];
  sl_error err = { 0 };
  sl_model *m;

  sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
  const sl_conv_desc *d = &m->nodes[0].geom;
  g_assert_cmpint (d->ph, ==, 0);
  g_assert_cmpint (d->pw, ==, 0);
  g_assert_cmpint (d->ph_end, ==, 1);
  g_assert_cmpint (d->pw_end, ==, 1);
  g_assert_cmpint (d->out_h, ==, 2);
  g_assert_cmpint (d->out_w, ==, 2);
  for (int i = 0; i < 16; i++)
    x[i] = (float) (i + 1);
  for (int i = 0; i < 9; i++)
    w[i] = 1.0f;

  /* Both paths: im2col + GEMM, and the direct kernel (one channel is depthwise). */
  sl_cpu *cpu = _sl_cpu_of (m->backend);
  g_autofree float *ws = g_new0 (float, _sl_cpu_gemm_conv_workspace_floats (d, cpu->threads)
                                            + _sl_cpu_depthwise_workspace_floats (d, cpu->threads));
  _sl_cpu_gemm_conv_forward (cpu, d, 1, x, w, NULL, y, ws);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (y[i], ==, expect[i]);
  memset (y, 0, sizeof y);
  _sl_cpu_depthwise_forward (cpu, d, 1, x, w, NULL, y, ws);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (y[i], ==, expect[i]);

  /* Written back as "same"; at another input size it pads differently
   * (5x5: 1 before and after, 3x3 output). */
  g_autofree char *out = sl_model_to_json (m);
  g_assert_nonnull (strstr (out, "\"padding\":\"same\""));
  sl_model_free (m);
  g_auto (GStrv) pieces = g_strsplit (json, "4", -1);
  g_autofree char *bigger = g_strjoinv ("5", pieces);
  sl_assert_ok (sl_model_new (bigger, 1, &m, &err), &err);
  d = &m->nodes[0].geom;
  g_assert_cmpint (d->ph, ==, 1);
  g_assert_cmpint (d->ph_end, ==, 1);
  g_assert_cmpint (d->out_h, ==, 3);
  sl_model_free (m);
}

/* Explicit [top, left, bottom, right] padding survives a round trip; an equal
 * list is written as a number. */
static void
test_padding_round_trip (void)
{
  const char *base = "{\"input\":{\"channels\":2,\"height\":7,\"width\":6},\"classes\":2,"
                     "\"layers\":[{\"type\":\"conv2d\",\"filters\":2,\"kernel\":3,"
                     "\"padding\":%s},{\"type\":\"maxpool\",\"size\":2,\"padding\":%s},"
                     "{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":2}]}";
  const char *const forms[][4] = {
    { "[0,2,1,0]", "[0,0,1,1]", "\"padding\":[0,2,1,0]", "\"padding\":[0,0,1,1]" },
    { "[1,1,1,1]", "[1,0]", "\"padding\":1", "\"padding\":[1,0]" },
    { "\"valid\"", "\"same\"", "\"padding\":0", "\"padding\":\"same\"" },
  };
  sl_error err = { 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_autofree char *json = g_strdup_printf (base, forms[i][0], forms[i][1]);
      sl_model *a, *b;
      char *ja, *jb;

      sl_assert_ok (sl_model_new (json, 3, &a, &err), &err);
      ja = sl_model_to_json (a);
      g_assert_nonnull (strstr (ja, forms[i][2]));
      g_assert_nonnull (strstr (ja, forms[i][3]));
      sl_assert_ok (sl_model_new (ja, 3, &b, &err), &err);
      jb = sl_model_to_json (b);
      g_assert_cmpstr (ja, ==, jb);
      g_assert_cmpmem (&a->nodes[0].geom, sizeof (sl_conv_desc), &b->nodes[0].geom,
                       sizeof (sl_conv_desc));
      g_assert_cmpmem (&a->nodes[1].geom, sizeof (sl_conv_desc), &b->nodes[1].geom,
                       sizeof (sl_conv_desc));
      sl_free (ja);
      sl_free (jb);
      sl_model_free (a);
      sl_model_free (b);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (dw_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/depthwise/im2col/%s", dw_cases[i].name);
      g_test_add_data_func (path, &dw_cases[i], test_matches_im2col);
    }
  for (int k = 3; k <= 5; k += 2)
    for (int s = 1; s <= 2; s++)
      {
        g_autofree char *path = g_strdup_printf ("/engine/depthwise/rows/k%d-s%d", k, s);
        g_test_add_data_func (path, GINT_TO_POINTER (k * 10 + s), test_rows_against_reference);
      }
  g_test_add_func ("/engine/depthwise/thread-count", test_thread_count_exact);
  g_test_add_func ("/engine/padding/same-stride2-by-hand", test_same_stride2_by_hand);
  g_test_add_func ("/engine/padding/round-trip", test_padding_round_trip);
  return g_test_run ();
}
