/* test-engine-anomaly.c: PatchCore fitting and scoring against slow, direct references of every step. */
#include "sl-test-support.h"
#include "sl-anomaly-private.h"
#include "sl-rng-private.h"

#include <math.h>
#include <string.h>

/* 3 x 16 x 16 input; "a" is 4 x 8 x 8, "b" 6 x 4 x 4 (the patch grid is 8 x 8, D = 10). */
static const char tiny_json[]
    = "{\"name\":\"tiny\",\"input\":{\"channels\":3,\"height\":16,\"width\":16},\"classes\":2,"
      "\"layers\":[{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"stride\":2,\"padding\":"
      "\"same\"},{\"type\":\"relu\",\"name\":\"a\"},{\"type\":\"conv2d\",\"filters\":6,"
      "\"kernel\":3,\"stride\":2,\"padding\":\"same\",\"name\":\"b\"},{\"type\":\"global_"
      "avgpool\"},{\"type\":\"dense\",\"units\":2,\"name\":\"fc\"}]}";

#define LAYER_A  1
#define LAYER_B  2
#define LAYER_FC 4
#define GRID     8
#define DIMS     10

static sl_model *
tiny_model (void)
{
  sl_model *m = NULL;
  sl_error err = { 0 };

  sl_assert_ok (sl_model_new (tiny_json, 7, &m, &err), &err);
  return m;
}

static sl_anomaly_config
tiny_config (void)
{
  sl_anomaly_config c;

  sl_anomaly_config_init (&c);
  c.layers[0] = LAYER_A;
  c.layers[1] = LAYER_B;
  c.n_layers = 2;
  return c;
}

/* n images of made-up layer outputs for the tiny model's two layers. */
typedef struct
{
  float *a, *b;
  const float *outs[2];
} Outs;

static void
outs_fill (Outs *o, int n, guint64 seed)
{
  o->a = g_new (float, (gsize) n * 4 * 8 * 8);
  o->b = g_new (float, (gsize) n * 6 * 4 * 4);
  sl_test_fill_normal (o->a, (gsize) n * 4 * 8 * 8, seed, 1.0f);
  sl_test_fill_normal (o->b, (gsize) n * 6 * 4 * 4, seed + 1, 1.0f);
  o->outs[0] = o->a;
  o->outs[1] = o->b;
}

static void
outs_clear (Outs *o)
{
  g_free (o->a);
  g_free (o->b);
}

/* ---- Slow references ---------------------------------------------------------- */

static double
ref_dist2 (const float *a, const float *b, int d)
{
  double s = 0.0;

  for (int j = 0; j < d; j++)
    s += ((double) a[j] - b[j]) * ((double) a[j] - b[j]);
  return s;
}

/* Plain greedy k-center, straight from the definition. */
static void
ref_coreset (const float *x, int n, int d, int k, gint64 *chosen)
{
  double *mind = g_new (double, n);

  chosen[0] = 0;
  for (int i = 0; i < n; i++)
    mind[i] = ref_dist2 (x + (gsize) i * d, x, d);
  for (int c = 1; c < k; c++)
    {
      int best = 0;

      for (int i = 1; i < n; i++)
        if (mind[i] > mind[best])
          best = i;
      chosen[c] = best;
      for (int i = 0; i < n; i++)
        mind[i] = MIN (mind[i], ref_dist2 (x + (gsize) i * d, x + (gsize) best * d, d));
    }
  g_free (mind);
}

/* torch F.interpolate (bilinear, align_corners=False) at one output position. */
static double
ref_bilinear (const float *src, int sh, int sw, int dh, int dw, int y, int x)
{
  double sy = MAX (0.0, ((double) y + 0.5) * sh / dh - 0.5);
  double sx = MAX (0.0, ((double) x + 0.5) * sw / dw - 0.5);
  int y0 = MIN ((int) sy, sh - 1), x0 = MIN ((int) sx, sw - 1);
  int y1 = MIN (y0 + 1, sh - 1), x1 = MIN (x0 + 1, sw - 1);
  double ly = sy - y0, lx = sx - x0;

  return (1 - ly) * ((1 - lx) * src[y0 * sw + x0] + lx * src[y0 * sw + x1])
         + ly * ((1 - lx) * src[y1 * sw + x0] + lx * src[y1 * sw + x1]);
}

static double
ref_avgpool (const float *src, int h, int w, int y, int x)
{
  double s = 0.0;

  for (int yy = y - 1; yy <= y + 1; yy++)
    for (int xx = x - 1; xx <= x + 1; xx++)
      if (yy >= 0 && yy < h && xx >= 0 && xx < w)
        s += src[yy * w + xx];
  return s / 9.0;
}

/* The patches of image i of the tiny model's layers (8 x 8 x 10). */
static void
ref_patches (const Outs *o, int i, float *out)
{
  float pooled_b[16];

  for (int c = 0; c < 4; c++)
    for (int y = 0; y < 8; y++)
      for (int x = 0; x < 8; x++)
        out[(y * 8 + x) * DIMS + c]
            = (float) ref_avgpool (o->a + ((gsize) i * 4 + c) * 64, 8, 8, y, x);
  for (int c = 0; c < 6; c++)
    {
      for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
          pooled_b[y * 4 + x] = (float) ref_avgpool (o->b + ((gsize) i * 6 + c) * 16, 4, 4, y, x);
      for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
          out[(y * 8 + x) * DIMS + 4 + c] = (float) ref_bilinear (pooled_b, 4, 4, 8, 8, y, x);
    }
}

static int
ref_reflect (int i, int n)
{
  while (i < 0 || i >= n)
    i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/* The map straight from the definition: a 2-D Gaussian sum over the resized grid. */
static void
ref_map (const float *grid, int gh, int gw, float sigma, int h, int w, double *map)
{
  int r = (int) ceil (4.0 * sigma);
  double *up = g_new (double, h *w), *wt = g_new (double, 2 * r + 1), sum = 0;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      up[y * w + x] = ref_bilinear (grid, gh, gw, h, w, y, x);
  for (int t = -r; t <= r; t++)
    sum += wt[t + r] = exp (-(double) t * t / (2.0 * sigma * sigma));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double s = 0;

        for (int dy = -r; dy <= r; dy++)
          for (int dx = -r; dx <= r; dx++)
            s += wt[dy + r] * wt[dx + r] / (sum * sum)
                 * up[ref_reflect (y + dy, h) * w + ref_reflect (x + dx, w)];
        map[y * w + x] = s;
      }
  g_free (up);
  g_free (wt);
}

/* ---- Tests ------------------------------------------------------------------- */

/* Points in a few clusters with repeats, so that ties and the skipping both happen. */
static float *
clustered (int n, int d, guint64 seed)
{
  float *x = g_new (float, (gsize) n *d);
  float centres[5 * 64];

  g_assert_cmpint (d, <=, 64);
  sl_test_fill_normal (centres, 5 * 64, seed, 10.0f);
  sl_test_fill_normal (x, (gsize) n * d, seed + 1, 1.0f);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      x[(gsize) i * d + j] += centres[(i % 5) * 64 + j];
  for (int i = 10; i < 20; i++) /* exact duplicates */
    memcpy (x + (gsize) i * d, x + (gsize) (i - 10) * d, sizeof (float) * d);
  return x;
}

static void
test_coreset_equals_greedy (void)
{
  const int n = 400, k = 60;

  for (int d = 3; d <= 37; d += 17)
    for (int threads = 1; threads <= 3; threads++)
      {
        g_autofree float *x = clustered (n, d, 11 + d);
        g_autofree gint64 *want = g_new (gint64, k), *got = g_new (gint64, k);
        sl_threadpool *pool = NULL;
        sl_error err = { 0 };

        sl_assert_ok (_sl_threadpool_new (threads, &pool, &err), &err);
        ref_coreset (x, n, d, k, want);
        sl_assert_ok (_sl_anomaly_coreset (x, n, d, k, pool, NULL, NULL, got, &err), &err);
        for (int c = 0; c < k; c++)
          g_assert_cmpint (got[c], ==, want[c]);
        _sl_threadpool_free (pool);
      }
}

/* Enough patches and dimensions that most distances are skipped. */
static void
test_coreset_equals_greedy_large (void)
{
  const int n = 3000, d = 40, k = 150;
  g_autofree float *x = clustered (n, d, 5);
  g_autofree gint64 *want = g_new (gint64, k), *got = g_new (gint64, k);
  sl_threadpool *pool = NULL;
  sl_error err = { 0 };

  /* Low-rank structure, as in real features: the subspace bound bites. */
  for (int i = 0; i < n; i++)
    for (int j = 20; j < d; j++)
      x[(gsize) i * d + j] *= 0.05f;
  sl_assert_ok (_sl_threadpool_new (2, &pool, &err), &err);
  ref_coreset (x, n, d, k, want);
  sl_assert_ok (_sl_anomaly_coreset (x, n, d, k, pool, NULL, NULL, got, &err), &err);
  for (int c = 0; c < k; c++)
    g_assert_cmpint (got[c], ==, want[c]);
  _sl_threadpool_free (pool);
}

static void
test_features_equal_reference (void)
{
  sl_model *m = tiny_model ();
  sl_anomaly_layout l;
  const int32_t layers[2] = { LAYER_A, LAYER_B };
  sl_error err = { 0 };
  Outs o;
  float got[64 * DIMS], want[64 * DIMS];
  g_autofree float *scratch = NULL;

  sl_assert_ok (_sl_anomaly_layout_init (&l, m, layers, 2, &err), &err);
  g_assert_cmpint (l.grid_h, ==, GRID);
  g_assert_cmpint (l.dims, ==, DIMS);
  g_assert_cmpstr (l.names[0], ==, "a");
  g_assert_cmpstr (l.names[1], ==, "b");
  outs_fill (&o, 3, 5);
  scratch = g_new (float, _sl_anomaly_patch_scratch (&l));
  for (int i = 0; i < 3; i++)
    {
      _sl_anomaly_patch_features (&l, o.outs, i, got, scratch);
      ref_patches (&o, i, want);
      for (int v = 0; v < 64 * DIMS; v++)
        g_assert_cmpfloat_with_epsilon (got[v], want[v], 1e-5);
    }
  outs_clear (&o);
  _sl_anomaly_layout_clear (&l);
  sl_model_free (m);
}

static sl_anomaly *
fit_tiny (const sl_anomaly_config *c, const Outs *o, int n)
{
  sl_model *m = tiny_model ();
  sl_anomaly_fitter *f = NULL;
  sl_anomaly *a = NULL;
  sl_error err = { 0 };

  sl_assert_ok (sl_anomaly_fitter_new (m, c, &f, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_add_layers (f, o->outs, n, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_finish (f, NULL, NULL, &a, &err), &err);
  sl_anomaly_fitter_free (f);
  sl_model_free (m);
  return a;
}

static void
test_bank_size (void)
{
  sl_anomaly_config c = tiny_config ();
  Outs o;
  sl_anomaly *a;

  outs_fill (&o, 10, 1); /* 640 patches */
  c.coreset_ratio = 0.1;
  a = fit_tiny (&c, &o, 10);
  g_assert_cmpint (sl_anomaly_bank_size (a), ==, 64);
  g_assert_cmpint (sl_anomaly_feature_dims (a), ==, DIMS);
  g_assert_cmpint (a->patches_collected, ==, 640);
  g_assert_true (isinf (sl_anomaly_get_threshold (a)));
  sl_anomaly_free (a);
  c.coreset_ratio = 0.001; /* ceil (0.64) */
  a = fit_tiny (&c, &o, 10);
  g_assert_cmpint (sl_anomaly_bank_size (a), ==, 1);
  sl_anomaly_free (a);
  c.coreset_ratio = 1.0;
  c.max_bank = 50;
  a = fit_tiny (&c, &o, 10);
  g_assert_cmpint (sl_anomaly_bank_size (a), ==, 50);
  sl_anomaly_free (a);
  outs_clear (&o);
}

static void
test_score_equals_brute_force (void)
{
  sl_anomaly_config c = tiny_config ();
  Outs train, test;
  sl_anomaly *a;
  sl_error err = { 0 };
  float patches[64 * DIMS], dist[64];

  outs_fill (&train, 30, 21);
  outs_fill (&test, 4, 99);
  c.coreset_ratio = 0.5; /* 960 bank patches: three full GEMM blocks and a partial one */
  a = fit_tiny (&c, &train, 30);
  g_assert_cmpint (a->bank_size, ==, 960);
  /* Make one test patch a bank patch plus a whisker, where |x|^2 + |b|^2 - 2 x.b cancels. */
  for (int threads = 1; threads <= 2; threads++)
    {
      float scores[4];
      sl_threadpool *pool = NULL;

      sl_assert_ok (_sl_threadpool_new (threads, &pool, &err), &err);
      sl_assert_ok (_sl_anomaly_score_layers_threads (a, test.outs, 4, scores, NULL, threads, &err),
                    &err);
      for (int i = 0; i < 4; i++)
        {
          double top = 0;

          ref_patches (&test, i, patches);
          if (i == 0)
            for (int j = 0; j < DIMS; j++)
              patches[5 * DIMS + j] = a->bank[17 * DIMS + j] + (j == 3 ? 1e-3f : 0.0f);
          sl_assert_ok (_sl_anomaly_nearest (a, patches, 64, dist, pool, &err), &err);
          for (int p = 0; p < 64; p++)
            {
              double best = INFINITY;

              for (int b = 0; b < a->bank_size; b++)
                best = MIN (best, ref_dist2 (patches + p * DIMS, a->bank + b * DIMS, DIMS));
              g_assert_cmpfloat_with_epsilon (dist[p], sqrt (best), 1e-5 * MAX (1.0, sqrt (best)));
              if (i != 0 || p != 5)
                top = MAX (top, sqrt (best));
            }
          if (i == 0)
            g_assert_cmpfloat_with_epsilon (dist[5], 1e-3, 1e-6);
          else
            g_assert_cmpfloat_with_epsilon (scores[i], top, 1e-5 * top);
        }
      _sl_threadpool_free (pool);
    }
  sl_anomaly_free (a);
  outs_clear (&train);
  outs_clear (&test);
}

static void
test_map_equals_reference (void)
{
  const struct
  {
    int gh, gw, h, w;
    float sigma;
  } cases[] = {
    { 8, 8, 16, 16, 4.0f }, { 5, 7, 40, 33, 1.5f }, { 3, 3, 9, 12, 4.0f }, { 4, 4, 4, 4, 0.5f }
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      int gh = cases[c].gh, gw = cases[c].gw, h = cases[c].h, w = cases[c].w;
      g_autofree float *grid = g_new (float, gh *gw), *map = g_new (float, h *w);
      g_autofree float *scratch = g_new (float, _sl_anomaly_map_scratch (h, w, cases[c].sigma));
      g_autofree double *want = g_new (double, h *w);

      sl_test_fill_normal (grid, (gsize) gh * gw, 40 + c, 1.0f);
      _sl_anomaly_map (grid, gh, gw, cases[c].sigma, map, h, w, scratch);
      ref_map (grid, gh, gw, cases[c].sigma, h, w, want);
      for (int v = 0; v < h * w; v++)
        g_assert_cmpfloat_with_epsilon (map[v], want[v], 1e-5);
    }
}

static void
test_maps_from_scores (void)
{
  sl_anomaly_config c = tiny_config ();
  Outs train, test;
  sl_anomaly *a;
  sl_error err = { 0 };
  float scores[2], maps[2 * 16 * 16], patches[64 * DIMS], dist[64];
  double want[16 * 16];

  outs_fill (&train, 5, 3);
  outs_fill (&test, 2, 4);
  c.smoothing_sigma = 2.0f;
  a = fit_tiny (&c, &train, 5);
  sl_assert_ok (sl_anomaly_score_layers (a, test.outs, 2, scores, maps, &err), &err);
  for (int i = 0; i < 2; i++)
    {
      ref_patches (&test, i, patches);
      sl_assert_ok (_sl_anomaly_nearest (a, patches, 64, dist, NULL, &err), &err);
      ref_map (dist, 8, 8, 2.0f, 16, 16, want);
      for (int v = 0; v < 256; v++)
        g_assert_cmpfloat_with_epsilon (maps[i * 256 + v], want[v], 1e-4);
    }
  sl_anomaly_free (a);
  outs_clear (&train);
  outs_clear (&test);
}

static bool
cancel_after_three (int64_t done, int64_t total, void *user_data)
{
  int *calls = user_data;

  g_assert_cmpint (done, <=, total);
  g_assert_cmpint (done, ==, *calls + 1);
  return ++*calls < 3;
}

static bool
count_progress (int64_t done, int64_t total, void *user_data)
{
  int64_t *last = user_data;

  g_assert_cmpint (done, ==, *last + 1);
  *last = done;
  g_assert_cmpint (total, ==, 64);
  return true;
}

static void
test_cancel (void)
{
  sl_anomaly_config c = tiny_config ();
  sl_model *m = tiny_model ();
  sl_anomaly_fitter *f = NULL;
  sl_anomaly *a = (sl_anomaly *) 0x1;
  sl_error err = { 0 };
  int calls = 0;
  int64_t last = 0;
  Outs o;

  outs_fill (&o, 10, 8);
  c.coreset_ratio = 0.1;
  sl_assert_ok (sl_anomaly_fitter_new (m, &c, &f, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_add_layers (f, o.outs, 10, &err), &err);
  g_assert_cmpint (sl_anomaly_fitter_finish (f, cancel_after_three, &calls, &a, &err), ==,
                   SL_ERR_CANCELLED);
  g_assert_null (a);
  g_assert_cmpint (calls, ==, 3);
  g_assert_nonnull (strstr (err.message, "cancelled"));
  /* The fitter still holds its patches: finishing again works. */
  sl_assert_ok (sl_anomaly_fitter_finish (f, count_progress, &last, &a, &err), &err);
  g_assert_cmpint (last, ==, 64);
  g_assert_cmpint (sl_anomaly_bank_size (a), ==, 64);
  sl_anomaly_free (a);
  sl_anomaly_fitter_free (f);
  outs_clear (&o);
  sl_model_free (m);
}

/* The row of `patches` (n x DIMS) equal to row (to rounding), or -1. */
static int
find_row (const float *patches, int n, const float *row)
{
  for (int i = 0; i < n; i++)
    if (ref_dist2 (patches + (gsize) i * DIMS, row, DIMS) < 1e-10)
      return i;
  return -1;
}

static void
test_max_patches_subset (void)
{
  sl_anomaly_config c = tiny_config ();
  Outs o;
  sl_anomaly *a, *b, *other;
  float all[64 * DIMS];

  outs_fill (&o, 6, 12);
  c.coreset_ratio = 1.0; /* the bank is every collected patch */
  c.max_patches = 60;
  c.expected_images = 6; /* 10 per image */
  c.seed = 77;
  a = fit_tiny (&c, &o, 6);
  b = fit_tiny (&c, &o, 6);
  c.seed = 78;
  other = fit_tiny (&c, &o, 6);
  g_assert_cmpint (a->patches_collected, ==, 60);
  g_assert_cmpint (memcmp (a->bank, b->bank, sizeof (float) * 60 * DIMS), ==, 0);
  g_assert_cmpint (memcmp (a->bank, other->bank, sizeof (float) * 60 * DIMS), !=, 0);
  /* Each image kept floor (u * 6.4 + j * 6.4), j = 0 .. 9, u from (seed, image). */
  for (int i = 0; i < 6; i++)
    {
      sl_mix_rng rng = { _sl_mix_seed (77, (uint64_t) i) };
      double stride = 64.0 / 10.0, offset = _sl_mix_rng_uniform (&rng) * stride;
      int found = 0;

      ref_patches (&o, i, all);
      for (int j = 0; j < 10; j++)
        {
          int want = (int) floor (offset + j * stride);

          g_assert_cmpint (find_row (a->bank, 60, all + want * DIMS), >=, 0);
        }
      for (int p = 0; p < 64; p++)
        found += find_row (a->bank, 60, all + p * DIMS) >= 0;
      g_assert_cmpint (found, ==, 10);
    }
  sl_anomaly_free (a);
  sl_anomaly_free (b);
  sl_anomaly_free (other);

  /* Without an image count the cap still holds: halving keeps it bounded. */
  c.expected_images = 0;
  c.max_patches = 100;
  a = fit_tiny (&c, &o, 6);
  g_assert_cmpint (a->patches_collected, <=, 100);
  g_assert_cmpint (a->patches_collected, >=, 50);
  sl_anomaly_free (a);
  outs_clear (&o);
}

static void
test_threshold (void)
{
  sl_anomaly_config c = tiny_config ();
  Outs o;
  sl_anomaly *a, *copy;
  sl_error err = { 0 };

  outs_fill (&o, 2, 2);
  a = fit_tiny (&c, &o, 2);
  g_assert_true (isinf (sl_anomaly_get_threshold (a)) && sl_anomaly_get_threshold (a) > 0);
  g_assert_cmpint (sl_anomaly_set_threshold (a, NAN, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_anomaly_set_threshold (a, -1.0f, &err), ==, SL_ERR_INVALID);
  g_assert_true (isinf (sl_anomaly_get_threshold (a)));
  sl_assert_ok (sl_anomaly_set_threshold (a, 2.5f, &err), &err);
  g_assert_cmpfloat (sl_anomaly_get_threshold (a), ==, 2.5f);
  copy = sl_anomaly_copy (a);
  g_assert_cmpfloat (sl_anomaly_get_threshold (copy), ==, 2.5f);
  g_assert_cmpint (memcmp (copy->bank, a->bank, sizeof (float) * a->bank_size * DIMS), ==, 0);
  g_assert_cmpstr (copy->layout.names[1], ==, "b");
  sl_assert_ok (sl_anomaly_set_threshold (copy, INFINITY, &err), &err);
  g_assert_cmpfloat (sl_anomaly_get_threshold (a), ==, 2.5f);
  sl_anomaly_free (copy);
  sl_anomaly_free (a);
  outs_clear (&o);
}

static void
expect_fitter_refused (sl_model *m, const sl_anomaly_config *c, const char *fragment)
{
  sl_anomaly_fitter *f = (sl_anomaly_fitter *) 0x1;
  sl_error err = { 0 };

  g_assert_cmpint (sl_anomaly_fitter_new (m, c, &f, &err), ==, SL_ERR_INVALID);
  g_assert_null (f);
  if (strstr (err.message, fragment) == NULL)
    g_error ("expected '%s' in '%s'", fragment, err.message);
}

static void
test_bad_arguments (void)
{
  sl_model *m = tiny_model ();
  sl_anomaly_config c = tiny_config ();
  sl_anomaly_fitter *f = NULL;
  sl_anomaly *a = NULL;
  sl_error err = { 0 };
  float score;

  expect_fitter_refused (NULL, &c, "missing model");
  c.coreset_ratio = 0.0;
  expect_fitter_refused (m, &c, "coreset ratio");
  c.coreset_ratio = 1.5;
  expect_fitter_refused (m, &c, "coreset ratio");
  c = tiny_config ();
  c.max_bank = 0;
  expect_fitter_refused (m, &c, "memory bank");
  c = tiny_config ();
  c.smoothing_sigma = 0.0f;
  expect_fitter_refused (m, &c, "smoothing");
  c = tiny_config ();
  c.layers[1] = 99;
  expect_fitter_refused (m, &c, "layers are 0 to 4");
  c.layers[1] = LAYER_A;
  expect_fitter_refused (m, &c, "twice");
  c.layers[1] = LAYER_FC;
  expect_fitter_refused (m, &c, "no spatial extent");
  c = tiny_config ();
  c.struct_size = 8;
  expect_fitter_refused (m, &c, "sl_anomaly_config_init");

  c = tiny_config ();
  sl_assert_ok (sl_anomaly_fitter_new (m, &c, &f, &err), &err);
  g_assert_cmpint (sl_anomaly_fitter_finish (f, NULL, NULL, &a, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no good images"));
  g_assert_null (a);
  g_assert_cmpint (sl_anomaly_fitter_add_layers (f, NULL, 1, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_anomaly_fitter_add_layers (NULL, NULL, 0, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_anomaly_score_layers (NULL, NULL, 1, &score, NULL, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_anomaly_fitter_patch_count (f), ==, 0);
  sl_anomaly_fitter_free (f);
  sl_anomaly_fitter_free (NULL);
  sl_anomaly_free (NULL);
  g_assert_null (sl_anomaly_copy (NULL));
  sl_model_free (m);
}

static void
test_default_layers (void)
{
  sl_preset_options o;
  g_autofree char *json = NULL;
  sl_model *m = NULL, *tiny = tiny_model ();
  sl_error err = { 0 };
  int32_t layers[SL_ANOMALY_MAX_LAYERS];

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = 224;
  o.classes = 2;
  sl_assert_ok (sl_preset_json ("efficientnet-lite0", &o, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
  /* The 1/4 grid (56 x 56) from the end of a block, then the 1/8 layer. */
  g_assert_cmpint (sl_anomaly_default_layers (m, layers), ==, 2);
  g_assert_cmpint (layers[0], ==, sl_model_find_layer (m, "_blocks.2"));
  g_assert_cmpint (layers[1], ==, sl_model_find_layer (m, "_blocks.4"));
  /* None of the tiny model's layers is at 1/8 of its 16 px (2 x 2): its
   * smallest feature map, "b" (4 x 4), alone. */
  g_assert_cmpint (sl_anomaly_default_layers (tiny, layers), ==, 1);
  g_assert_cmpint (layers[0], ==, LAYER_B);
  sl_model_free (m);
  sl_model_free (tiny);
}

/* With the model: features from sl_model_predict_layers equal the layer route. */
static void
test_model_route (void)
{
  sl_model *m = tiny_model ();
  sl_anomaly_config c = tiny_config ();
  sl_anomaly_fitter *f = NULL, *g = NULL;
  sl_anomaly *a = NULL, *b = NULL;
  sl_error err = { 0 };
  g_autofree float *x = g_new (float, 6 * 3 * 16 * 16);
  g_autofree float *la = g_new (float, 6 * 4 * 64), *lb = g_new (float, 6 * 6 * 16);
  float *outs[2] = { la, lb };
  const int layers[2] = { LAYER_A, LAYER_B };
  float s1[6], s2[6], m1[6 * 256], m2[6 * 256];

  sl_test_fill_normal (x, 6 * 3 * 16 * 16, 3, 1.0f);
  c.coreset_ratio = 1.0;
  sl_assert_ok (sl_model_predict_layers (m, x, 6, NULL, layers, 2, outs, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_new (m, &c, &f, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_new (m, &c, &g, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_add (f, x, 4, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_add_layers (g, (const float *const *) outs, 4, &err), &err);
  g_assert_cmpint (sl_anomaly_fitter_patch_count (f), ==, 256);
  sl_assert_ok (sl_anomaly_fitter_finish (f, NULL, NULL, &a, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_finish (g, NULL, NULL, &b, &err), &err);
  g_assert_cmpint (memcmp (a->bank, b->bank, sizeof (float) * a->bank_size * DIMS), ==, 0);
  sl_assert_ok (sl_anomaly_score (a, m, x, 6, s1, m1, &err), &err);
  sl_assert_ok (sl_anomaly_score_layers (a, (const float *const *) outs, 6, s2, m2, &err), &err);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (s1[i], ==, s2[i]);
  g_assert_cmpint (memcmp (m1, m2, sizeof m1), ==, 0);
  /* The whole training set is the bank: its images score 0, unseen ones do not. */
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (s1[i], ==, 0.0f);
  g_assert_cmpfloat (MIN (s1[4], s1[5]), >, 0.01f);
  sl_anomaly_free (a);
  sl_anomaly_free (b);
  sl_anomaly_fitter_free (f);
  sl_anomaly_fitter_free (g);
  sl_model_free (m);
}

/* Cancelling inside the one parallel region of the selection: every thread
 * leaves at the same step (no thread waits at a barrier alone), for 1-3
 * threads, and a full run afterwards on the same pool still matches greedy. */
static void
test_coreset_cancel_threads (void)
{
  const int n = 600, d = 24, k = 40;
  g_autofree float *x = clustered (n, d, 3);
  g_autofree gint64 *want = g_new (gint64, k), *got = g_new (gint64, k);

  ref_coreset (x, n, d, k, want);
  for (int threads = 1; threads <= 3; threads++)
    {
      sl_threadpool *pool = NULL;
      sl_error err = { 0 };
      int calls = 0;

      sl_assert_ok (_sl_threadpool_new (threads, &pool, &err), &err);
      g_assert_cmpint (
          _sl_anomaly_coreset (x, n, d, k, pool, cancel_after_three, &calls, got, &err), ==,
          SL_ERR_CANCELLED);
      g_assert_cmpint (calls, ==, 3);
      g_assert_nonnull (strstr (err.message, "cancelled"));
      sl_assert_ok (_sl_anomaly_coreset (x, n, d, k, pool, NULL, NULL, got, &err), &err);
      for (int c = 0; c < k; c++)
        g_assert_cmpint (got[c], ==, want[c]);
      _sl_threadpool_free (pool);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/anomaly/coreset-equals-greedy", test_coreset_equals_greedy);
  g_test_add_func ("/anomaly/coreset-equals-greedy-large", test_coreset_equals_greedy_large);
  g_test_add_func ("/anomaly/features-equal-reference", test_features_equal_reference);
  g_test_add_func ("/anomaly/bank-size", test_bank_size);
  g_test_add_func ("/anomaly/score-equals-brute-force", test_score_equals_brute_force);
  g_test_add_func ("/anomaly/map-equals-reference", test_map_equals_reference);
  g_test_add_func ("/anomaly/maps-from-scores", test_maps_from_scores);
  g_test_add_func ("/anomaly/cancel", test_cancel);
  g_test_add_func ("/anomaly/coreset-cancel-threads", test_coreset_cancel_threads);
  g_test_add_func ("/anomaly/max-patches-subset", test_max_patches_subset);
  g_test_add_func ("/anomaly/threshold", test_threshold);
  g_test_add_func ("/anomaly/bad-arguments", test_bad_arguments);
  g_test_add_func ("/anomaly/default-layers", test_default_layers);
  g_test_add_func ("/anomaly/model-route", test_model_route);
  return g_test_run ();
}
