/* test-engine-fuse.c: inference plans fold batch-norm into the layer before it and run its rectifier there; results, weights and training stay as unfused. */
#include "sl-test-support.h"
#include "engine/sl-model-private.h"
#include "engine/sl-graph-fuse-private.h"

#include <math.h>
#include <string.h>

static sl_model *
build_preset (const char *preset, int channels, int side, guint64 seed)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *json = NULL;
  sl_model *m;

  sl_preset_options_init (&o);
  o.channels = channels;
  o.height = o.width = side;
  o.classes = 7;
  sl_assert_ok (sl_preset_json (preset, &o, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_free (json);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  return m;
}

/* Weights and running statistics at random (gamma, beta, mean and variance
 * away from their initial 1, 0, 0, 1), so that a wrong fold would show. */
static void
randomise (sl_model *m, guint64 seed)
{
  gsize n = sl_model_state_count (m), np = sl_model_param_count (m);
  g_autofree float *s = g_new (float, n);
  g_autofree float *p = g_new (float, np);
  sl_error err = { 0 };

  sl_test_fill_normal (p, np, seed + 100, 0.1f);
  sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
  sl_test_fill_normal (s, n, seed, 0.3f);
  for (gsize i = 0; i < n; i++)
    s[i] = fabsf (s[i]) + 0.5f; /* positive: valid as variances too */
  sl_assert_ok (sl_model_set_state (m, s, n, &err), &err);
}

static gsize
input_size (const sl_model *m)
{
  int c, h, w;

  sl_model_input_shape (m, &c, &h, &w);
  return (gsize) c * h * w;
}

/* Each image's logits from the fused plan against the unfused reference,
 * within 1e-5 of the largest logit of the image. */
static void
assert_logits_close (const sl_model *m, const float *got, const float *want, int batch)
{
  const int k = sl_model_class_count (m);

  for (int i = 0; i < batch; i++)
    {
      double scale = 1e-3, worst = 0.0;

      for (int j = 0; j < k; j++)
        scale = MAX (scale, fabs (want[i * k + j]));
      for (int j = 0; j < k; j++)
        worst = MAX (worst, fabs ((double) got[i * k + j] - want[i * k + j]) / scale);
      if (worst > 1e-5)
        g_error ("%s: image %d of %d: fused logits differ by %.3g of the largest", m->name, i,
                 batch, worst);
    }
}

/* The unfused logits (every layer as written, every buffer its own). */
static float *
reference_logits (sl_model *m, const float *x, int batch)
{
  sl_plan *ref = NULL;
  sl_error err = { 0 };
  float *out;

  sl_assert_ok (_sl_plan_new_unshared (m, batch, &ref, &err), &err);
  g_assert_cmpint (ref->fused_layers, ==, 0);
  out = g_memdup2 (_sl_graph_forward (m, ref, x, batch, FALSE, 0),
                   sizeof (float) * (gsize) batch * sl_model_class_count (m));
  _sl_plan_free (m, ref);
  return out;
}

static void
check_preset (const char *preset, int channels, int side, int min_fused)
{
  sl_model *m = build_preset (preset, channels, side, 5);
  const gsize in = input_size (m), np = sl_model_param_count (m), ns = sl_model_state_count (m);
  g_autofree float *params = NULL, *state = NULL;
  sl_error err = { 0 };

  randomise (m, 17);
  params = g_memdup2 (sl_model_params (m), sizeof (float) * np);
  state = g_memdup2 (sl_model_state (m), sizeof (float) * ns);
  /* Batch 1 (one image, the GEMM split over the pool) and 5 (images over the pool). */
  for (int batch = 1; batch <= 5; batch += 4)
    {
      g_autofree float *x = g_new (float, in *batch);
      g_autofree float *want = NULL;
      sl_plan *p = NULL;

      sl_test_fill_normal (x, in * batch, 30 + batch, 1.0f);
      want = reference_logits (m, x, batch);
      sl_assert_ok (_sl_plan_new (m, batch, FALSE, FALSE, &p, &err), &err);
      g_test_message ("%s at %d px, batch %d: %d layers fused", preset, side, batch,
                      p->fused_layers);
      g_assert_cmpint (p->fused_layers, >=, min_fused);
      assert_logits_close (m, _sl_graph_forward (m, p, x, batch, FALSE, 0), want, batch);
      /* Twice: the second pass reuses the folded weights. */
      assert_logits_close (m, _sl_graph_forward (m, p, x, batch, FALSE, 0), want, batch);
      _sl_plan_free (m, p);
    }
  /* The model's own weights and statistics are untouched. */
  g_assert_cmpmem (sl_model_params (m), sizeof (float) * np, params, sizeof (float) * np);
  g_assert_cmpmem (sl_model_state (m), sizeof (float) * ns, state, sizeof (float) * ns);
  sl_model_free (m);
}

static void
test_fold_small_bn (void)
{
  check_preset ("small-bn", 1, 28, 4);
}

static void
test_fold_seed_cnn (void)
{
  check_preset ("seed-cnn", 1, 28, 2); /* no batch-norm: conv + relu, dense + relu */
}

static void
test_fold_resnet (void)
{
  check_preset ("resnet-s", 3, 32, 10);
}

static void
test_fold_mobilenet (void)
{
  check_preset ("mobilenet-s", 3, 32, 10);
}

/* EfficientNet-Lite0's architecture at random weights (not the installed backbone). */
static void
test_fold_lite0 (void)
{
  check_preset ("efficientnet-lite0", 3, 48, 40);
}

/* At batch 1 on two threads the plan compares passes on the pool with
 * passes on the calling thread alone, then keeps one way: every pass, in
 * either way, gives the reference's logits. */
static void
test_fold_serial_passes (void)
{
  sl_model *m = build_preset ("resnet-s", 3, 32, 6);
  const gsize in = input_size (m);
  g_autofree float *x = g_new (float, in);
  g_autofree float *want = NULL;
  sl_plan *p = NULL;
  sl_error err = { 0 };

  randomise (m, 8);
  sl_test_fill_normal (x, in, 12, 1.0f);
  want = reference_logits (m, x, 1);
  sl_assert_ok (_sl_plan_new (m, 1, FALSE, FALSE, &p, &err), &err);
  for (int pass = 0; pass < 12; pass++)
    assert_logits_close (m, _sl_graph_forward (m, p, x, 1, FALSE, 0), want, 1);
  _sl_plan_free (m, p);
  sl_model_free (m);
}

/* One image gets the same bits from a plan sized for eight images as from a
 * plan sized for one, and from a second handle on the weights: which layers
 * run on the calling thread follows from the pass, not from the plan (the
 * runtime hands a prediction whichever context is free). */
static void
test_fold_pass_size_decides (void)
{
  sl_model *m = build_preset ("small-bn", 1, 28, 9), *share = NULL;
  const gsize in = input_size (m), classes = (gsize) sl_model_class_count (m);
  g_autofree float *x = g_new (float, in * 8);
  g_autofree float *probs = g_new (float, classes * 8);
  g_autofree float *alone = g_new (float, classes);
  g_autofree float *shared = g_new (float, classes);
  sl_error err = { 0 };

  randomise (m, 10);
  sl_test_fill_normal (x, in * 8, 13, 1.0f);
  sl_assert_ok (sl_model_predict (m, x, 8, probs, &err), &err);
  sl_assert_ok (sl_model_predict (m, x, 1, alone, &err), &err);
  sl_assert_ok (sl_model_share (m, 2, &share, &err), &err);
  sl_assert_ok (sl_model_predict (share, x, 1, shared, &err), &err);
  g_assert_cmpmem (alone, sizeof (float) * classes, shared, sizeof (float) * classes);
  sl_model_free (share);
  sl_model_free (m);
}

/* Plans that keep layer outputs, train, or are the reference fuse nothing. */
static void
test_fold_only_plain_inference (void)
{
  sl_model *m = build_preset ("small-bn", 1, 28, 3);
  sl_plan *p = NULL;
  sl_error err = { 0 };

  sl_assert_ok (_sl_plan_new (m, 4, TRUE, FALSE, &p, &err), &err);
  g_assert_cmpint (p->fused_layers, ==, 0);
  _sl_plan_free (m, p);
  sl_assert_ok (_sl_plan_new (m, 4, FALSE, TRUE, &p, &err), &err);
  g_assert_cmpint (p->fused_layers, ==, 0);
  _sl_plan_free (m, p);
  {
    const sl_plan_taps taps = { .end = m->n_nodes, .keep = NULL, .grad_from = 2 };

    sl_assert_ok (_sl_plan_new_taps (m, 1, &taps, &p, &err), &err);
    g_assert_cmpint (p->fused_layers, ==, 0);
    _sl_plan_free (m, p);
  }
  sl_model_free (m);
}

/* Predicting (which folds) between trainer steps changes no training
 * result, and predictions after the steps use the new weights. */
static void
test_fold_training_after_inference (void)
{
  sl_model *a = build_preset ("small-bn", 1, 28, 9), *b = build_preset ("small-bn", 1, 28, 9);
  const gsize in = input_size (a), np = sl_model_param_count (a), ns = sl_model_state_count (a);
  const int batch = 6, k = sl_model_class_count (a);
  g_autofree float *x = g_new (float, in *batch);
  g_autofree float *probs = g_new (float, (gsize) k *batch);
  g_autofree float *want = NULL;
  int32_t labels[6] = { 0, 1, 2, 3, 4, 5 };
  sl_train_config cfg;
  sl_trainer *ta = NULL, *tb = NULL;
  sl_error err = { 0 };

  sl_test_fill_normal (x, in * batch, 3, 1.0f);
  sl_train_config_init (&cfg);
  sl_assert_ok (sl_trainer_new (a, &cfg, batch, &ta, &err), &err);
  sl_assert_ok (sl_trainer_new (b, &cfg, batch, &tb, &err), &err);
  for (int step = 0; step < 3; step++)
    {
      sl_assert_ok (sl_model_predict (a, x, batch, probs, &err), &err);
      sl_assert_ok (sl_model_predict (a, x, 1, probs, &err), &err);
      sl_assert_ok (sl_trainer_step (ta, x, labels, batch, NULL, NULL, &err), &err);
      sl_assert_ok (sl_trainer_step (tb, x, labels, batch, NULL, NULL, &err), &err);
    }
  g_assert_cmpint (a->predict_plan->fused_layers, >, 0);
  g_assert_cmpint (a->n_lanes, ==, 2); /* the batches of 6 ran in two lanes */
  g_assert_cmpmem (sl_model_params (a), sizeof (float) * np, sl_model_params (b),
                   sizeof (float) * np);
  g_assert_cmpmem (sl_model_state (a), sizeof (float) * ns, sl_model_state (b),
                   sizeof (float) * ns);
  /* The plans refold from the trained weights (the batch-1 plan and a lane
   * of the batches, on this thread). */
  want = reference_logits (a, x, batch);
  assert_logits_close (a, _sl_graph_forward (a, a->predict_plan, x, 1, FALSE, 0), want, 1);
  assert_logits_close (a, _sl_graph_forward (a, a->predict_lanes[1], x, 3, FALSE, 0), want, 3);
  /* And from weights set by hand. */
  randomise (a, 44);
  g_free (want);
  want = reference_logits (a, x, batch);
  assert_logits_close (a, _sl_graph_forward (a, a->predict_plan, x, 1, FALSE, 0), want, 1);
  assert_logits_close (a, _sl_graph_forward (a, a->predict_lanes[1], x, 3, FALSE, 0), want, 3);
  sl_trainer_free (ta);
  sl_trainer_free (tb);
  sl_model_free (a);
  sl_model_free (b);
}

/* The fusion table of m's inference plans (readers counted as the graph does). */
static sl_fuse *
fuse_table (const sl_model *m, size_t *floats)
{
  g_autofree int *readers = g_new0 (int, m->n_nodes + 1);
  sl_fuse *f;

  for (int i = 0; i < m->n_nodes; i++)
    for (int k = 0; k < m->nodes[i].n_inputs; k++)
      if (m->nodes[i].inputs[k] != SL_INPUT_NODE)
        readers[m->nodes[i].inputs[k]]++;
  readers[m->n_nodes - 1]++; /* the loss */
  f = _sl_fuse_new (m, m->backend, readers, floats);
  g_assert_nonnull (f);
  return f;
}

/* A max pool alone after a head's rectifier applies that rectifier to its own
 * (four times smaller) output: seed-cnn's two blocks (convolution, relu, max
 * pool), small-bn's two at 28 px; a rectifier no max pool reads stays with its
 * head (seed-cnn's dense layer's, small-bn's last block's). The logits stay
 * the reference's (above). */
static void
check_pool_rectifiers (const char *preset, int channels, int moved, int kept)
{
  sl_model *m = build_preset (preset, channels, 28, 5);
  size_t floats;
  sl_fuse *f = fuse_table (m, &floats);
  int n_moved = 0, n_kept = 0;

  for (int i = 0; i < m->n_nodes; i++)
    {
      if (f[i].act < 0)
        continue;
      g_assert_cmpint (f[f[i].act].head, >=, 0); /* still its head's follower */
      if (m->nodes[i].kind == SL_LAYER_MAXPOOL)
        {
          g_assert_cmpint (m->nodes[i].inputs[0], ==, f[i].act);
          n_moved++;
        }
      else
        n_kept++;
    }
  g_assert_cmpint (n_moved, ==, moved);
  g_assert_cmpint (n_kept, ==, kept);
  free (f);
  sl_model_free (m);
}

static void
test_pool_rectifiers (void)
{
  check_pool_rectifiers ("seed-cnn", 1, 2, 1);
  check_pool_rectifiers ("small-bn", 1, 2, 1);
}

/* A residual sum runs inside the convolution of the branch computed last:
 * every sum of resnet-s (a rectifier after each, run there too) and of
 * mobilenet-s (none after); the other input always exists before that
 * convolution runs. Every convolution a direct kernel takes has its filters
 * packed. Logits at 96 px (stem and max pool) stay the reference's. */
static void
check_residual_sums (const char *preset, int side, bool rectified)
{
  sl_model *m = build_preset (preset, 3, side, 5);
  size_t floats;
  sl_fuse *f = fuse_table (m, &floats);
  int sums = 0, fused = 0, packed = 0;

  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];

      packed += f[i].pack_at != SIZE_MAX;
      if (n->kind != SL_LAYER_ADD)
        continue;
      sums++;
      if (f[i].head < 0)
        continue;
      fused++;
      g_assert_cmpint (m->nodes[f[i].head].kind, ==, SL_LAYER_CONV2D);
      g_assert_cmpint (f[f[i].head].residual, <, f[i].head);
      g_assert_true (f[f[i].head].residual == n->inputs[0]
                     || f[f[i].head].residual == n->inputs[1]);
      g_assert_cmpint (_sl_fuse_passed_input (m, f, i), !=, f[f[i].head].residual);
      g_assert_cmpint (f[f[i].head].act >= 0, ==, rectified);
    }
  g_assert_cmpint (sums, >, 0);
  g_assert_cmpint (fused, ==, sums);
  g_assert_cmpint (packed, >, 0);
  g_assert_cmpuint (floats, >, 0);
  free (f);
  sl_model_free (m);
}

static void
test_residual_sums (void)
{
  check_residual_sums ("resnet-s", 128, TRUE);
  check_residual_sums ("mobilenet-s", 64, FALSE);
  check_preset ("resnet-s", 3, 96, 10);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/fuse/small-bn", test_fold_small_bn);
  g_test_add_func ("/engine/fuse/seed-cnn", test_fold_seed_cnn);
  g_test_add_func ("/engine/fuse/resnet-s", test_fold_resnet);
  g_test_add_func ("/engine/fuse/mobilenet-s", test_fold_mobilenet);
  g_test_add_func ("/engine/fuse/efficientnet-lite0", test_fold_lite0);
  g_test_add_func ("/engine/fuse/serial-passes", test_fold_serial_passes);
  g_test_add_func ("/engine/fuse/pass-size-decides", test_fold_pass_size_decides);
  g_test_add_func ("/engine/fuse/only-plain-inference", test_fold_only_plain_inference);
  g_test_add_func ("/engine/fuse/training-after-inference", test_fold_training_after_inference);
  g_test_add_func ("/engine/fuse/pool-rectifiers", test_pool_rectifiers);
  g_test_add_func ("/engine/fuse/residual-sums", test_residual_sums);
  return g_test_run ();
}
