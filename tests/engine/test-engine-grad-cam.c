/* test-engine-grad-cam.c: class heatmaps (Grad-CAM) against finite differences, on frozen models, and on a known case. */
#include "sl-test-support.h"
#include "engine/sl-model-private.h"

#include <math.h>
#include <string.h>

/* Layers 0-3 and the suffix from "b" on: batch norm, a rectifier in place,
 * max pooling, a residual sum, dropout (the identity at inference). */
#define SMALL_HEAD                                                                                 \
  "{\"input\":{\"channels\":2,\"height\":10,\"width\":10},\"classes\":3,\"layers\":["
#define SMALL_PREFIX                                                                               \
  "{%s\"type\":\"conv2d\",\"name\":\"a\",\"filters\":4,\"kernel\":3,\"padding\":1},"               \
  "{%s\"type\":\"batchnorm\"},{%s\"type\":\"relu\"},"                                              \
  "{%s\"type\":\"conv2d\",\"name\":\"b\",\"filters\":6,\"kernel\":3,\"padding\":1},"
#define SMALL_SUFFIX                                                                               \
  "{%s\"type\":\"batchnorm\"},{%s\"type\":\"relu\"},{%s\"type\":\"maxpool\",\"size\":2},"          \
  "{%s\"type\":\"conv2d\",\"filters\":5,\"kernel\":3,\"padding\":1},"                              \
  "{%s\"type\":\"relu\",\"name\":\"c\"},"                                                          \
  "{%s\"type\":\"conv2d\",\"name\":\"d\",\"filters\":5,\"kernel\":1},"                             \
  "{%s\"type\":\"add\",\"inputs\":[\"d\",\"c\"]},{%s\"type\":\"global_avgpool\"},"                 \
  "{%s\"type\":\"flatten\"},{%s\"type\":\"dropout\",\"rate\":0.3},"                                \
  "{\"type\":\"dense\",\"units\":3}]}"
#define CAM_LAYER 3 /* "b": 6 x 10 x 10 */
#define CAM_SIZE  600

/* The small model, its layers but the last frozen or not. */
static sl_model *
small_model (gboolean frozen)
{
  const char *f = frozen ? "\"frozen\":true," : "";
  g_autofree char *json = g_strdup_printf (SMALL_HEAD SMALL_PREFIX SMALL_SUFFIX, f, f, f, f, f, f,
                                           f, f, f, f, f, f, f, f);
  sl_error err = { 0 };
  sl_model *m;
  gsize np, ns;
  g_autofree float *p = NULL;
  g_autofree float *s = NULL;

  sl_assert_ok (sl_model_new (json, 3, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  np = sl_model_param_count (m);
  ns = sl_model_state_count (m);
  p = g_new (float, np);
  s = g_new (float, ns);
  sl_test_fill_normal (p, np, 41, 0.4f);
  sl_test_fill_normal (s, ns, 42, 0.3f);
  for (gsize i = 0; i < ns; i++)
    s[i] = fabsf (s[i]) + 0.5f;
  sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
  sl_assert_ok (sl_model_set_state (m, s, ns, &err), &err);
  return m;
}

/* The layers after "b" as a model of their own, with full's weights: its
 * input is "b"'s output. */
static sl_model *
suffix_model (const sl_model *full)
{
  const char *f = "";
  g_autofree char *json = g_strdup_printf ("{\"input\":{\"channels\":6,\"height\":10,\"width\":10},"
                                           "\"classes\":3,\"layers\":[" SMALL_SUFFIX,
                                           f, f, f, f, f, f, f, f, f, f);
  const sl_node *first = &full->nodes[CAM_LAYER + 1];
  sl_error err = { 0 };
  sl_model *m;

  sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
  g_assert_cmpuint (sl_model_param_count (m), ==, full->n_params - first->param_offset);
  g_assert_cmpuint (sl_model_state_count (m), ==, full->n_state - first->state_offset);
  sl_assert_ok (sl_model_set_params (m, sl_model_params (full) + first->param_offset,
                                     sl_model_param_count (m), &err),
                &err);
  sl_assert_ok (sl_model_set_state (m, sl_model_state (full) + first->state_offset,
                                    sl_model_state_count (m), &err),
                &err);
  return m;
}

/* ReLU (sum_c mean (g_c) a_c), scaled to a largest value of 1. */
static void
expected_map (const float *a, const double *g, int c, int hw, float *map)
{
  double top = 0.0;
  g_autofree double *acc = g_new0 (double, hw);

  for (int k = 0; k < c; k++)
    {
      double w = 0.0;

      for (int p = 0; p < hw; p++)
        w += g[k * hw + p] / hw;
      for (int p = 0; p < hw; p++)
        acc[p] += w * a[k * hw + p];
    }
  for (int p = 0; p < hw; p++)
    top = MAX (top, acc[p]);
  for (int p = 0; p < hw; p++)
    map[p] = top > 0.0 ? (float) (MAX (acc[p], 0.0) / top) : 0.0f;
}

/* The heatmap's forward pass is the training plan's, predict's the fused
 * inference plan's: the same sums, in another order where the BLAS picks
 * another kernel for the other shapes (AVX-512 OpenBLAS does), so the
 * probabilities agree to rounding, not to the bit. */
static void
assert_probs_close (const float *probs, const float *want, int n)
{
  for (int k = 0; k < n; k++)
    g_assert_cmpfloat_with_epsilon (probs[k], want[k], 1e-6);
}

/* d logit[cls] / d "b" equals central differences of the suffix model's
 * logit, and the map is built from them as Grad-CAM says; a frozen copy
 * gives the same map. */
static void
test_finite_differences (void)
{
  sl_model *m = small_model (FALSE), *frozen = small_model (TRUE), *suf = suffix_model (m);
  const int cls = 1, layer = CAM_LAYER;
  float x[200], a[CAM_SIZE], probs[3], want[3], map[100], map_frozen[100], emap[100];
  double fd[CAM_SIZE], worst = 0.0, scale = 0.0;
  float *outs[1] = { a };
  const float *grad;
  sl_plan *sp = NULL;
  sl_error err = { 0 };

  g_assert_cmpint (frozen->n_frozen, ==, frozen->n_nodes - 1);
  g_assert_cmpint (sl_model_default_cam_layer (m), ==, sl_model_find_layer (m, "c") + 2);
  sl_test_fill_normal (x, 200, 5, 1.0f);
  sl_assert_ok (sl_model_predict_layers (m, x, 1, NULL, &layer, 1, outs, &err), &err);
  sl_assert_ok (sl_model_class_heatmap (m, x, cls, layer, probs, map, &err), &err);
  sl_assert_ok (sl_model_predict (m, x, 1, want, &err), &err);
  assert_probs_close (probs, want, 3);
  grad = m->cam_plan->grad[layer];

  /* The logit as a function of "b"'s output, by central differences, on the
   * plan that runs every layer as written (the heatmap's arithmetic: a fused
   * plan's dense layers sum in another order, and the differences divide
   * that rounding by 2 eps). */
  sl_assert_ok (_sl_plan_new_unshared (suf, 1, &sp, &err), &err);
  for (int j = 0; j < CAM_SIZE; j++)
    {
      const float eps = 1e-3f, keep = a[j];
      double up, down;

      a[j] = keep + eps;
      up = _sl_graph_forward (suf, sp, a, 1, FALSE, 0)[cls];
      a[j] = keep - eps;
      down = _sl_graph_forward (suf, sp, a, 1, FALSE, 0)[cls];
      a[j] = keep;
      fd[j] = (up - down) / (2.0 * eps);
      scale = MAX (scale, fabs (fd[j]));
    }
  for (int j = 0; j < CAM_SIZE; j++)
    worst = MAX (worst, fabs (grad[j] - fd[j]));
  g_test_message ("d logit / d A: largest %.4g, worst difference from finite differences %.3g",
                  scale, worst);
  g_assert_cmpfloat (scale, >, 0.01);
  g_assert_cmpfloat (worst, <, 2e-3 * scale + 1e-4);

  /* The map from the differences, which may be off by the 2e-3 of the
   * largest gradient allowed above (a portable build's sums come within
   * 1.6e-3 of the map; 1e-3 held only with AVX-512 kernels). */
  expected_map (a, fd, 6, 100, emap);
  for (int p = 0; p < 100; p++)
    {
      g_assert_cmpfloat (map[p], >=, 0.0f);
      g_assert_cmpfloat (map[p], <=, 1.0f);
      g_assert_cmpfloat (fabsf (map[p] - emap[p]), <, 2e-3);
    }

  /* Every layer but the last frozen: the same map. */
  sl_assert_ok (sl_model_set_params (frozen, sl_model_params (m), m->n_params, &err), &err);
  sl_assert_ok (sl_model_set_state (frozen, sl_model_state (m), m->n_state, &err), &err);
  sl_assert_ok (sl_model_class_heatmap (frozen, x, cls, layer, NULL, map_frozen, &err), &err);
  g_assert_cmpmem (map_frozen, sizeof map_frozen, map, sizeof map);

  _sl_plan_free (suf, sp);
  sl_model_free (suf);
  sl_model_free (frozen);
  sl_model_free (m);
}

/* Lite0 with every layer before the head frozen (a head-only fine-tune):
 * the map is in 0 .. 1 with its peak at 1, class -1 is the predicted one,
 * equal to the unfrozen model's, and the weights and statistics do not
 * change by a bit. */
static void
test_frozen_lite0 (void)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *j = NULL;
  g_autofree char *json = NULL;
  g_autofree char *frozen_json = NULL;
  sl_model *m, *plain;
  g_autofree float *x = g_new (float, 3 * 64 * 64);
  g_autofree float *p0 = NULL;
  g_autofree float *s0 = NULL;
  float probs[4], want[4], map[4], map_plain[4], top = 0.0f;
  int layer, h, w, best = 0;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = 64;
  o.classes = 4;
  sl_assert_ok (sl_preset_json ("efficientnet-lite0", &o, &j, &err), &err);
  json = g_strdup (j);
  sl_free (j);
  {
    const char *head = strstr (json, "{\"type\":\"dropout\",\"name\":\"_dropout\"");
    g_autofree char *body = g_strndup (json, head - json);
    g_auto (GStrv) parts = g_strsplit (body, "{\"type\":", -1);
    g_autofree char *joined = g_strjoinv ("{\"frozen\":true,\"type\":", parts);

    frozen_json = g_strconcat (joined, head, NULL);
  }
  sl_assert_ok (sl_model_new (frozen_json, 4, &m, &err), &err);
  sl_assert_ok (sl_model_new (json, 4, &plain, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  sl_assert_ok (sl_model_set_threads (plain, 2, &err), &err);
  g_assert_cmpint (m->n_frozen, ==, m->n_nodes - 2);
  {
    gsize np = sl_model_param_count (m);
    g_autofree float *p = g_new (float, np);

    sl_test_fill_normal (p, np, 17, 0.1f);
    sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
    sl_assert_ok (sl_model_set_params (plain, p, np, &err), &err);
  }
  p0 = g_memdup2 (sl_model_params (m), sizeof (float) * sl_model_param_count (m));
  s0 = g_memdup2 (sl_model_state (m), sizeof (float) * sl_model_state_count (m));
  sl_test_fill_normal (x, 3 * 64 * 64, 18, 1.0f);

  layer = sl_model_default_cam_layer (m);
  g_assert_cmpint (layer, ==, sl_model_find_layer (m, "_bn1") + 1);
  sl_assert_ok (sl_model_layer_shape (m, layer, NULL, &h, &w, &err), &err);
  g_assert_cmpint (h * w, ==, 4);
  sl_assert_ok (sl_model_predict (m, x, 1, want, &err), &err);
  for (int k = 1; k < 4; k++)
    best = want[k] > want[best] ? k : best;
  for (int cls = -1; cls < 4; cls++)
    {
      sl_assert_ok (sl_model_class_heatmap (m, x, cls, layer, probs, map, &err), &err);
      assert_probs_close (probs, want, 4);
      sl_assert_ok (sl_model_class_heatmap (plain, x, cls, layer, NULL, map_plain, &err), &err);
      g_assert_cmpmem (map, sizeof map, map_plain, sizeof map_plain);
      top = 0.0f;
      for (int p = 0; p < 4; p++)
        {
          g_assert_cmpfloat (map[p], >=, 0.0f);
          g_assert_cmpfloat (map[p], <=, 1.0f);
          top = MAX (top, map[p]);
        }
      g_assert_true (top == 1.0f || top == 0.0f);
      if (cls == -1)
        {
          sl_assert_ok (sl_model_class_heatmap (m, x, best, layer, NULL, map_plain, &err), &err);
          g_assert_cmpmem (map, sizeof map, map_plain, sizeof map_plain);
        }
    }
  /* A deeper layer, inside the blocks. */
  {
    const int mid = sl_model_find_layer (m, "_blocks.10");
    g_autofree float *mid_map = g_new (float, 16);

    sl_assert_ok (sl_model_layer_shape (m, mid, NULL, &h, &w, &err), &err);
    g_assert_cmpint (h * w, ==, 16);
    sl_assert_ok (sl_model_class_heatmap (m, x, -1, mid, NULL, mid_map, &err), &err);
    for (int p = 0; p < 16; p++)
      g_assert_true (mid_map[p] >= 0.0f && mid_map[p] <= 1.0f);
  }
  g_assert_cmpmem (sl_model_params (m), sizeof (float) * sl_model_param_count (m), p0,
                   sizeof (float) * sl_model_param_count (m));
  g_assert_cmpmem (sl_model_state (m), sizeof (float) * sl_model_state_count (m), s0,
                   sizeof (float) * sl_model_state_count (m));
  sl_model_free (m);
  sl_model_free (plain);
}

/* Class 0 is "red", class 1 "green": a red patch top right and a green one
 * bottom left. Each class's map peaks on its own patch and is near zero on
 * the other; on a frozen copy too. */
static void
test_known_case (void)
{
  static const char json[]
      = "{\"input\":{\"channels\":3,\"height\":32,\"width\":32},\"classes\":2,\"layers\":["
        "{%s\"type\":\"conv2d\",\"name\":\"feat\",\"filters\":2,\"kernel\":3,\"padding\":1},"
        "{%s\"type\":\"relu\"},{%s\"type\":\"global_avgpool\"},{%s\"type\":\"flatten\"},"
        "{\"type\":\"dense\",\"units\":2}]}";
  float params[2 * 27 + 2 + 4 + 2] = { 0 };
  g_autofree float *x = g_new0 (float, 3 * 32 * 32);
  float map[32 * 32];
  sl_error err = { 0 };

  /* feat channel k: the mean of input channel k over 3 x 3; class k reads channel k. */
  for (int k = 0; k < 2; k++)
    for (int t = 0; t < 9; t++)
      params[k * 27 + k * 9 + t] = 1.0f / 9.0f;
  params[56] = params[59] = 1.0f;
  sl_test_fill_normal (x, 3 * 32 * 32, 6, 0.05f);
  for (int i = 0; i < 3 * 32 * 32; i++)
    x[i] = fabsf (x[i]);
  for (int y = 0; y < 8; y++)
    for (int xx = 0; xx < 8; xx++)
      {
        x[0 * 1024 + (4 + y) * 32 + 20 + xx] = 1.0f; /* red, rows 4-11, columns 20-27 */
        x[1 * 1024 + (20 + y) * 32 + 4 + xx] = 1.0f; /* green, rows 20-27, columns 4-11 */
      }
  for (int frozen = 0; frozen < 2; frozen++)
    {
      const char *f = frozen ? "\"frozen\":true," : "";
      g_autofree char *text = g_strdup_printf (json, f, f, f, f);
      sl_model *m;

      sl_assert_ok (sl_model_new (text, 1, &m, &err), &err);
      g_assert_cmpuint (sl_model_param_count (m), ==, G_N_ELEMENTS (params));
      sl_assert_ok (sl_model_set_params (m, params, G_N_ELEMENTS (params), &err), &err);
      g_assert_cmpint (sl_model_default_cam_layer (m), ==, 1);
      for (int cls = 0; cls < 2; cls++)
        {
          const int py = cls == 0 ? 4 : 20, px = cls == 0 ? 20 : 4;
          const int oy = cls == 0 ? 20 : 4, ox = cls == 0 ? 4 : 20;
          int peak = 0;

          sl_assert_ok (sl_model_class_heatmap (m, x, cls, 1, NULL, map, &err), &err);
          for (int p = 1; p < 32 * 32; p++)
            peak = map[p] > map[peak] ? p : peak;
          g_assert_cmpfloat (map[peak], ==, 1.0f);
          g_assert_cmpint (peak / 32, >=, py);
          g_assert_cmpint (peak / 32, <, py + 8);
          g_assert_cmpint (peak % 32, >=, px);
          g_assert_cmpint (peak % 32, <, px + 8);
          /* The other patch's centre says little for this class. */
          g_assert_cmpfloat (map[(oy + 4) * 32 + ox + 4], <, 0.2f);
        }
      sl_model_free (m);
    }
}

/* A class that has no say: a map of zeros, not a division by zero. */
static void
test_nothing_speaks (void)
{
  static const char json[]
      = "{\"input\":{\"channels\":1,\"height\":8,\"width\":8},\"classes\":2,\"layers\":["
        "{\"type\":\"conv2d\",\"filters\":1,\"kernel\":1},{\"type\":\"relu\"},"
        "{\"type\":\"global_avgpool\"},{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":2}]}";
  /* conv weight 1, bias 0; class 0 weight +1, class 1 weight -1 */
  const float params[] = { 1.0f, 0.0f, 1.0f, -1.0f, 0.0f, 0.0f };
  float x[64], map[64];
  sl_model *m;
  sl_error err = { 0 };

  for (int i = 0; i < 64; i++)
    x[i] = (float) (i % 7) / 7.0f;
  sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
  sl_assert_ok (sl_model_set_params (m, params, G_N_ELEMENTS (params), &err), &err);
  sl_assert_ok (sl_model_class_heatmap (m, x, 1, 1, NULL, map, &err), &err);
  for (int p = 0; p < 64; p++)
    g_assert_cmpfloat (map[p], ==, 0.0f);
  sl_assert_ok (sl_model_class_heatmap (m, x, 0, 1, NULL, map, &err), &err);
  g_assert_cmpfloat (map[6], ==, 1.0f); /* x is largest at i % 7 == 6 */
  sl_model_free (m);
}

static void
test_bad_arguments (void)
{
  sl_model *m = small_model (FALSE);
  float x[200] = { 0 }, map[100];
  sl_error err = { 0 };

  g_assert_cmpint (sl_model_class_heatmap (NULL, x, 0, 3, NULL, map, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_class_heatmap (m, NULL, 0, 3, NULL, map, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_class_heatmap (m, x, 0, 3, NULL, NULL, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_class_heatmap (m, x, 3, 3, NULL, map, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "class 3 does not exist"));
  g_assert_cmpint (sl_model_class_heatmap (m, x, -2, 3, NULL, map, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_class_heatmap (m, x, 0, m->n_nodes, NULL, map, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no layer"));
  g_assert_cmpint (sl_model_class_heatmap (m, x, 0, -1, NULL, map, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_default_cam_layer (NULL), ==, -1);
  sl_model_free (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/grad-cam/finite-differences", test_finite_differences);
  g_test_add_func ("/engine/grad-cam/frozen-lite0", test_frozen_lite0);
  g_test_add_func ("/engine/grad-cam/known-case", test_known_case);
  g_test_add_func ("/engine/grad-cam/nothing-speaks", test_nothing_speaks);
  g_test_add_func ("/engine/grad-cam/bad-arguments", test_bad_arguments);
  return g_test_run ();
}
