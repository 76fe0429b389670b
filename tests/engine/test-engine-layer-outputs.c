/* test-engine-layer-outputs.c: mid-level layer outputs from one forward pass (sl_model_predict_layers). */
#include "sl-test-support.h"
#include "sl-backend-module-private.h"
#include "engine/sl-model-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define SIDE    48
#define CLASSES 5

/* Lite0 (depthwise blocks, residual sums, relu6 in place, dropout) at a
 * small size, weights and statistics at random so that a wrong buffer shows. */
static sl_model *
new_lite0 (const char *frozen_before, guint64 seed)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *j = NULL;
  g_autofree char *json = NULL;
  sl_model *m;
  gsize np, ns;
  g_autofree float *p = NULL;
  g_autofree float *s = NULL;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = SIDE;
  o.classes = CLASSES;
  sl_assert_ok (sl_preset_json ("efficientnet-lite0", &o, &j, &err), &err);
  json = g_strdup (j);
  sl_free (j);
  if (frozen_before != NULL)
    {
      /* Every layer before the one whose description starts so, frozen. */
      const char *head = strstr (json, frozen_before);
      g_autofree char *body = NULL;
      g_auto (GStrv) parts = NULL;
      char *frozen;

      g_assert_nonnull (head);
      body = g_strndup (json, head - json);
      parts = g_strsplit (body, "{\"type\":", -1);
      g_free (body);
      body = g_strjoinv ("{\"frozen\":true,\"type\":", parts);
      frozen = g_strconcat (body, head, NULL);
      g_free (json);
      json = frozen;
    }
  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  np = sl_model_param_count (m);
  ns = sl_model_state_count (m);
  p = g_new (float, np);
  s = g_new (float, ns);
  sl_test_fill_normal (p, np, seed + 100, 0.1f);
  sl_test_fill_normal (s, ns, seed + 200, 0.3f);
  for (gsize i = 0; i < ns; i++)
    s[i] = fabsf (s[i]) + 0.5f; /* positive: valid as variances too */
  sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
  sl_assert_ok (sl_model_set_state (m, s, ns, &err), &err);
  return m;
}

static gsize
layer_size (const sl_model *m, int layer)
{
  int c, h, w;
  sl_error err = { 0 };

  sl_assert_ok (sl_model_layer_shape (m, layer, &c, &h, &w, &err), &err);
  return (gsize) c * h * w;
}

static float *
random_images (int n, guint64 seed)
{
  float *x = g_new (float, (gsize) n * 3 * SIDE * SIDE);

  sl_test_fill_normal (x, (gsize) n * 3 * SIDE * SIDE, seed, 1.0f);
  return x;
}

/* Each listed layer's outputs from a plan where every layer owns its buffer. */
static float **
reference_outputs (sl_model *m, const float *x, int n, const int *layers, int n_layers)
{
  sl_plan *ref = NULL;
  sl_error err = { 0 };
  float **outs = g_new0 (float *, n_layers + 1);

  sl_assert_ok (_sl_plan_new_unshared (m, n, &ref, &err), &err);
  _sl_graph_forward (m, ref, x, n, FALSE, 0);
  for (int k = 0; k < n_layers; k++)
    outs[k] = g_memdup2 (ref->out[layers[k]], sizeof (float) * layer_size (m, layers[k]) * n);
  _sl_plan_free (m, ref);
  return outs;
}

static float **
alloc_outputs (const sl_model *m, int n, const int *layers, int n_layers)
{
  float **outs = g_new0 (float *, n_layers + 1);

  for (int k = 0; k < n_layers; k++)
    outs[k] = g_new0 (float, layer_size (m, layers[k]) * n);
  return outs;
}

static void
assert_outputs_equal (const sl_model *m, float **a, float **b, int n, const int *layers,
                      int n_layers)
{
  for (int k = 0; k < n_layers; k++)
    g_assert_cmpmem (a[k], sizeof (float) * layer_size (m, layers[k]) * n, b[k],
                     sizeof (float) * layer_size (m, layers[k]) * n);
}

static void
test_find_and_shape (void)
{
  sl_model *m = new_lite0 (NULL, 1);
  sl_error err = { 0 };
  int b4 = sl_model_find_layer (m, "_blocks.4"), c = 0, h = 0, w = 0;

  g_assert_cmpint (b4, >, 0);
  g_assert_cmpstr (m->nodes[b4].name, ==, "_blocks.4");
  sl_assert_ok (sl_model_layer_shape (m, b4, &c, &h, &w, &err), &err);
  g_assert_cmpint (c, ==, 40);
  g_assert_cmpint (h, ==, SIDE / 8);
  g_assert_cmpint (w, ==, SIDE / 8);
  sl_assert_ok (sl_model_layer_shape (m, sl_model_find_layer (m, "_fc"), &c, &h, &w, &err), &err);
  g_assert_cmpint (c, ==, CLASSES);
  g_assert_cmpint (h * w, ==, 1);
  g_assert_cmpint (sl_model_find_layer (m, "_blocks.99"), ==, -1);
  g_assert_cmpint (sl_model_find_layer (m, NULL), ==, -1);
  g_assert_cmpint (sl_model_find_layer (NULL, "_fc"), ==, -1);
  g_assert_cmpint (sl_model_layer_shape (m, -1, &c, &h, &w, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "numbered 0 to"));
  g_assert_cmpint (sl_model_layer_shape (m, m->n_nodes, NULL, NULL, NULL, &err), ==,
                   SL_ERR_INVALID);
  sl_model_free (m);
}

/* Taps in every situation the plan shares or overwrites buffers: a batch
 * norm whose rectifier normally runs in place over it, a residual sum, an
 * output a later sum reads, a rectifier in place, the pooled features, and
 * dropout (which passes its input on): each equals the unshared reference,
 * and the probabilities equal sl_model_predict's (to rounding: its plan folds
 * each batch norm into the convolution before it, test-engine-fuse.c). */
static void
test_equal_reference (void)
{
  sl_model *m = new_lite0 (NULL, 2);
  const int n = 3;
  g_autofree float *x = random_images (n, 7);
  g_autofree float *probs = g_new (float, n *CLASSES);
  g_autofree float *want = g_new (float, n *CLASSES);
  const int layers[]
      = { sl_model_find_layer (m, "_bn0"),           sl_model_find_layer (m, "_blocks.4"),
          sl_model_find_layer (m, "_blocks.5._bn2"), sl_model_find_layer (m, "_blocks.5._bn1") + 1,
          sl_model_find_layer (m, "_avg_pooling"),   sl_model_find_layer (m, "_dropout") };
  const int n_layers = G_N_ELEMENTS (layers);
  float **ref = reference_outputs (m, x, n, layers, n_layers);
  float **outs = alloc_outputs (m, n, layers, n_layers);
  sl_error err = { 0 };
  gboolean negative = FALSE;
  g_autofree float *bn0 = NULL;
  int deepest = -1;

  /* The later sum reads _blocks.5._bn2; the relu6 after _bn0 would run in place. */
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].kind == SL_LAYER_ADD && m->nodes[i].inputs[1] == layers[2])
      deepest = i;
  g_assert_cmpint (deepest, >, layers[2]);
  g_assert_cmpint (m->nodes[layers[0] + 1].kind, ==, SL_LAYER_RELU6);

  sl_assert_ok (sl_model_predict (m, x, n, want, &err), &err);
  sl_assert_ok (sl_model_predict_layers (m, x, n, probs, layers, n_layers, outs, &err), &err);
  assert_outputs_equal (m, outs + 1, ref + 1, n, layers + 1, n_layers - 1);
  g_assert_cmpfloat (sl_test_rel_error (probs, want, n * CLASSES, 1e-6), <, 1e-5);
  /* The batch norm's own output: the reference's rectifier ran in place over
   * it, so there it holds relu6 of what the tap gives. */
  for (gsize i = 0; i < layer_size (m, layers[0]) * n; i++)
    {
      negative = negative || outs[0][i] < 0.0f;
      g_assert_cmpfloat (fminf (fmaxf (outs[0][i], 0.0f), 6.0f), ==, ref[0][i]);
    }
  g_assert_true (negative);
  bn0 = g_memdup2 (outs[0], sizeof (float) * layer_size (m, layers[0]) * n);

  /* Without probabilities the pass stops at the deepest layer asked for. */
  for (int k = 0; k < n_layers; k++)
    memset (outs[k], 0, sizeof (float) * layer_size (m, layers[k]) * n);
  sl_assert_ok (sl_model_predict_layers (m, x, n, NULL, layers, 3, outs, &err), &err);
  assert_outputs_equal (m, outs + 1, ref + 1, n, layers + 1, 2);
  g_assert_cmpmem (outs[0], sizeof (float) * layer_size (m, layers[0]) * n, bn0,
                   sizeof (float) * layer_size (m, layers[0]) * n);
  deepest = MAX (layers[0], MAX (layers[1], layers[2]));
  g_assert_cmpint (m->layers_plan->end, ==, deepest + 1);
  /* Another choice of layers replans. */
  sl_assert_ok (sl_model_predict_layers (m, x, n, NULL, layers + 4, 1, outs + 4, &err), &err);
  assert_outputs_equal (m, outs + 4, ref + 4, n, layers + 4, 1);
  g_assert_cmpint (m->layers_plan->end, ==, layers[4] + 1);

  g_strfreev ((char **) ref);
  g_strfreev ((char **) outs);
  sl_model_free (m);
}

/* Where a frozen prefix's output is a tapped layer, it equals
 * sl_model_compute_features. */
static void
test_equal_features (void)
{
  sl_model *m = new_lite0 ("{\"type\":\"dropout\",\"name\":\"_dropout\"", 3);
  const int n = 4, layer = sl_model_find_layer (m, "_avg_pooling");
  g_autofree float *x = random_images (n, 8);
  g_autofree float *f = NULL;
  g_autofree float *t = NULL;
  float *outs[1];
  sl_error err = { 0 };

  g_assert_cmpint (_sl_model_feature_node (m), ==, layer);
  f = g_new (float, sl_model_feature_size (m) * n);
  t = g_new (float, sl_model_feature_size (m) * n);
  outs[0] = t;
  sl_assert_ok (sl_model_compute_features (m, x, n, f, &err), &err);
  sl_assert_ok (sl_model_predict_layers (m, x, n, NULL, &layer, 1, outs, &err), &err);
  g_assert_cmpmem (t, sizeof (float) * sl_model_feature_size (m) * n, f,
                   sizeof (float) * sl_model_feature_size (m) * n);
  sl_model_free (m);
}

/* Under a memory limit the images go in chunks that fit; many images go in
 * chunks of LAYERS_CHUNK: the same values as one at a time. */
static void
test_chunks (void)
{
  sl_model *m = new_lite0 (NULL, 4);
  const int n = 20;
  const int layers[]
      = { sl_model_find_layer (m, "_blocks.4"), sl_model_find_layer (m, "_blocks.10") };
  g_autofree float *x = random_images (n, 9);
  g_autofree float *probs = g_new (float, n *CLASSES);
  g_autofree float *one_probs = g_new (float, n *CLASSES);
  float **outs = alloc_outputs (m, n, layers, 2);
  float **one = alloc_outputs (m, n, layers, 2);
  bool keep[256] = { false };
  sl_plan_taps taps = { .end = m->n_nodes, .keep = keep, .grad_from = -1 };
  sl_plan *p1 = NULL, *p2 = NULL;
  sl_error err = { 0 };
  const gsize in_size = 3 * SIDE * SIDE;

  g_assert_cmpint (m->n_nodes, <=, 256);
  for (int i = 0; i < n; i++)
    {
      float *o[2]
          = { one[0] + layer_size (m, layers[0]) * i, one[1] + layer_size (m, layers[1]) * i };

      sl_assert_ok (sl_model_predict_layers (m, x + in_size * i, 1, one_probs + CLASSES * i, layers,
                                             2, o, &err),
                    &err);
    }
  /* No limit: chunks of 16 and 4. */
  sl_assert_ok (sl_model_predict_layers (m, x, n, probs, layers, 2, outs, &err), &err);
  g_assert_cmpint (m->layers_plan->batch, ==, 16);
  g_assert_cmpfloat (sl_test_rel_error (outs[0], one[0], layer_size (m, layers[0]) * n, 1e-6), <,
                     1e-5);
  g_assert_cmpfloat (sl_test_rel_error (outs[1], one[1], layer_size (m, layers[1]) * n, 1e-6), <,
                     1e-5);
  g_assert_cmpfloat (sl_test_rel_error (probs, one_probs, CLASSES * n, 1e-6), <, 1e-5);

  /* A limit between the one- and two-image plans: chunks of one, equal bit for bit. */
  keep[layers[0]] = keep[layers[1]] = true;
  sl_assert_ok (_sl_plan_new_taps (m, 1, &taps, &p1, &err), &err);
  sl_assert_ok (_sl_plan_new_taps (m, 2, &taps, &p2, &err), &err);
  g_assert_cmpuint (p1->bytes, <, p2->bytes);
  m->plan_limit = p1->bytes + (p2->bytes - p1->bytes) / 2;
  _sl_plan_free (m, p1);
  _sl_plan_free (m, p2);
  memset (outs[0], 0, sizeof (float) * layer_size (m, layers[0]) * n);
  sl_assert_ok (sl_model_predict_layers (m, x, n, probs, layers, 2, outs, &err), &err);
  g_assert_cmpint (m->layers_plan->batch, ==, 1);
  g_assert_cmpuint (m->layers_plan->bytes, <=, m->plan_limit);
  g_assert_cmpmem (outs[0], sizeof (float) * layer_size (m, layers[0]) * n, one[0],
                   sizeof (float) * layer_size (m, layers[0]) * n);
  g_assert_cmpmem (probs, sizeof (float) * CLASSES * n, one_probs, sizeof (float) * CLASSES * n);

  /* Less than one image needs: refused, saying why. */
  m->plan_limit = 1000;
  g_assert_cmpint (sl_model_predict_layers (m, x, 1, probs, layers, 2, outs, &err), ==,
                   SL_ERR_LIMIT);
  g_assert_nonnull (strstr (err.message, "memory limit"));
  g_strfreev ((char **) outs);
  g_strfreev ((char **) one);
  sl_model_free (m);
}

static void
test_bad_arguments (void)
{
  sl_model *m = new_lite0 (NULL, 5);
  g_autofree float *x = random_images (1, 3);
  g_autofree float *out = g_new (float, 40 * 36 * 36);
  float probs[CLASSES];
  float *outs[2] = { out, NULL };
  int layers[2] = { sl_model_find_layer (m, "_blocks.4"), m->n_nodes };
  sl_error err = { 0 };

  g_assert_cmpint (sl_model_predict_layers (NULL, x, 1, probs, layers, 1, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_model_predict_layers (m, NULL, 1, probs, layers, 1, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_model_predict_layers (m, x, -1, probs, layers, 1, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_model_predict_layers (m, x, 1, NULL, layers, 0, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "nothing to compute"));
  g_assert_cmpint (sl_model_predict_layers (m, x, 1, probs, NULL, 1, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_model_predict_layers (m, x, 1, probs, layers, 1, NULL, &err), ==,
                   SL_ERR_INVALID);
  /* A layer past the end, and a missing output buffer, are named. */
  g_assert_cmpint (sl_model_predict_layers (m, x, 1, probs, layers, 2, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "does not exist"));
  layers[1] = layers[0];
  g_assert_cmpint (sl_model_predict_layers (m, x, 1, probs, layers, 2, outs, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no output buffer"));
  /* Nothing was computed into the buffers of a refused call: no plan either. */
  g_assert_null (m->layers_plan);
  /* Only probabilities: as sl_model_predict. */
  sl_assert_ok (sl_model_predict_layers (m, x, 1, probs, NULL, 0, NULL, &err), &err);
  sl_model_free (m);
}

/* On memory the engine cannot touch (an emulated GPU): layer outputs and a
 * class heatmap equal the CPU's bit for bit, through uploads and downloads. */
static void
test_emulated_device (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  sl_model *cpu = new_lite0 (NULL, 6), *gpu = new_lite0 (NULL, 6);
  const int n = 3, cam = sl_model_default_cam_layer (cpu);
  const int layers[]
      = { sl_model_find_layer (cpu, "_blocks.4"), sl_model_find_layer (cpu, "_blocks.10") };
  g_autofree float *x = random_images (n, 10);
  float **a = alloc_outputs (cpu, n, layers, 2), **b = alloc_outputs (cpu, n, layers, 2);
  float pa[3 * CLASSES], pb[3 * CLASSES], ma[64], mb[64];
  int h = 0, w = 0;
  sl_error err = { 0 };

  sl_assert_ok (sl_model_set_device (gpu, NULL, "cuda", &err), &err);
  g_assert_false (gpu->backend->ops->host_memory);
  sl_assert_ok (sl_model_predict_layers (cpu, x, n, pa, layers, 2, a, &err), &err);
  sl_assert_ok (sl_model_predict_layers (gpu, x, n, pb, layers, 2, b, &err), &err);
  assert_outputs_equal (cpu, a, b, n, layers, 2);
  g_assert_cmpmem (pa, sizeof pa, pb, sizeof pb);
  sl_assert_ok (sl_model_layer_shape (cpu, cam, NULL, &h, &w, &err), &err);
  g_assert_cmpint (h * w, >, 1);
  g_assert_cmpint (h * w, <=, 64);
  sl_assert_ok (sl_model_class_heatmap (cpu, x, -1, cam, pa, ma, &err), &err);
  sl_assert_ok (sl_model_class_heatmap (gpu, x, -1, cam, pb, mb, &err), &err);
  g_assert_cmpmem (pa, sizeof (float) * CLASSES, pb, sizeof (float) * CLASSES);
  g_assert_cmpmem (ma, sizeof (float) * h * w, mb, sizeof (float) * h * w);
  g_strfreev ((char **) a);
  g_strfreev ((char **) b);
  sl_model_free (cpu);
  sl_model_free (gpu);
  sl_test_fake_cuda_dir_remove (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/layer-outputs/find-and-shape", test_find_and_shape);
  g_test_add_func ("/engine/layer-outputs/equal-reference", test_equal_reference);
  g_test_add_func ("/engine/layer-outputs/equal-features", test_equal_features);
  g_test_add_func ("/engine/layer-outputs/chunks", test_chunks);
  g_test_add_func ("/engine/layer-outputs/bad-arguments", test_bad_arguments);
  g_test_add_func ("/engine/layer-outputs/emulated-device", test_emulated_device);
  return g_test_run ();
}
