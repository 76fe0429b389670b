/* test-engine-predict-lanes.c: batches split over the CPU pool's threads, each share through the whole graph at once (lanes): the same answers as one plan, every image, within the memory limit, across thread changes. */
#include "sl-test-support.h"
#include "engine/sl-model-private.h"

#include <math.h>
#include <string.h>

static sl_model *
build_preset (const char *preset, int channels, int side, int threads)
{
  const guint64 seed = 21;
  sl_preset_options o;
  sl_error err = { 0 };
  char *json = NULL;
  sl_model *m;
  gsize n, np;

  sl_preset_options_init (&o);
  o.channels = channels;
  o.height = o.width = side;
  o.classes = 6;
  sl_assert_ok (sl_preset_json (preset, &o, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_free (json);
  sl_assert_ok (sl_model_set_threads (m, threads, &err), &err);
  /* Random weights and statistics, so that a wrong image or lane would show. */
  n = sl_model_state_count (m);
  np = sl_model_param_count (m);
  {
    g_autofree float *s = g_new (float, n);
    g_autofree float *p = g_new (float, np);

    sl_test_fill_normal (p, np, seed + 1, 0.1f);
    sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
    sl_test_fill_normal (s, n, seed + 2, 0.3f);
    for (gsize i = 0; i < n; i++)
      s[i] = fabsf (s[i]) + 0.5f;
    sl_assert_ok (sl_model_set_state (m, s, n, &err), &err);
  }
  return m;
}

static gsize
input_size (const sl_model *m)
{
  int c, h, w;

  sl_model_input_shape (m, &c, &h, &w);
  return (gsize) c * h * w;
}

/* Each image's probabilities from the unfused reference plan (every layer
 * as written, one image at a time, every buffer its own). */
static float *
reference_probs (sl_model *m, const float *x, int batch)
{
  const int k = sl_model_class_count (m);
  const uint64_t limit = m->plan_limit;
  float *out = g_new (float, (gsize) batch *k);
  sl_plan *ref = NULL;
  sl_error err = { 0 };

  m->plan_limit = 0; /* the reference is not the subject of a limit */
  sl_assert_ok (_sl_plan_new_unshared (m, 1, &ref, &err), &err);
  m->plan_limit = limit;
  for (int i = 0; i < batch; i++)
    {
      const float *z = _sl_graph_forward (m, ref, x + (gsize) i * input_size (m), 1, FALSE, 0);
      double top = z[0], sum = 0.0;

      for (int j = 1; j < k; j++)
        top = MAX (top, z[j]);
      for (int j = 0; j < k; j++)
        sum += exp (z[j] - top);
      for (int j = 0; j < k; j++)
        out[i * k + j] = (float) (exp (z[j] - top) / sum);
    }
  _sl_plan_free (m, ref);
  return out;
}

static void
assert_probs_close (const sl_model *m, const float *got, const float *want, int batch)
{
  const int k = sl_model_class_count (m);

  for (int i = 0; i < batch * k; i++)
    if (!(fabsf (got[i] - want[i]) <= 2e-6f))
      g_error ("%s: image %d of %d, class %d: %.7g against %.7g", m->name, i / k, batch, i % k,
               got[i], want[i]);
}

/* Predicts n images and compares every one with the reference. */
static void
check_batch (sl_model *m, int n, guint64 seed)
{
  const gsize in = input_size (m), k = (gsize) sl_model_class_count (m);
  g_autofree float *x = g_new (float, in *n);
  g_autofree float *probs = g_new (float, k *n);
  g_autofree float *again = g_new (float, k *n);
  g_autofree float *want = NULL;
  sl_error err = { 0 };

  sl_test_fill_normal (x, in * n, seed, 1.0f);
  want = reference_probs (m, x, n);
  sl_assert_ok (sl_model_predict (m, x, n, probs, &err), &err);
  assert_probs_close (m, probs, want, n);
  /* The same batch again: the same bits. */
  sl_assert_ok (sl_model_predict (m, x, n, again, &err), &err);
  g_assert_cmpmem (probs, sizeof (float) * k * n, again, sizeof (float) * k * n);
}

/* Batches of at least two images on two threads go through two lanes, an
 * odd batch split 3 + 4; a single image through the ordinary plan. */
static void
check_preset (const char *preset, int channels, int side)
{
  sl_model *m = build_preset (preset, channels, side, 2);

  check_batch (m, 7, 3);
  g_assert_cmpint (m->n_lanes, ==, 2);
  g_assert_cmpint (m->predict_lanes[0]->batch, >=, 4);
  g_assert_cmpint (m->predict_lanes[1]->batch, ==, m->predict_lanes[0]->batch);
  g_assert_null (m->predict_plan);
  check_batch (m, 1, 4);
  g_assert_nonnull (m->predict_plan);
  g_assert_cmpint (m->predict_plan->batch, ==, 1);
  sl_model_free (m);
}

static void
test_lanes_small_bn (void)
{
  check_preset ("small-bn", 1, 28);
}

static void
test_lanes_resnet (void)
{
  check_preset ("resnet-s", 3, 32);
}

static void
test_lanes_mobilenet (void)
{
  check_preset ("mobilenet-s", 3, 32);
}

/* More images than one pass takes (64): passes of 64, then the rest; the
 * lanes grow from a small batch to a large one. */
static void
test_lanes_long_batches (void)
{
  sl_model *m = build_preset ("small-bn", 1, 28, 2);

  check_batch (m, 3, 5);
  g_assert_cmpint (m->predict_lanes[0]->batch, ==, 2);
  check_batch (m, 70, 6);
  g_assert_cmpint (m->predict_lanes[0]->batch, ==, 32);
  sl_model_free (m);
}

/* Lanes take one pool thread each: three threads make three lanes, one
 * thread none, and each change drops the lanes made for the old pool. */
static void
test_lanes_follow_threads (void)
{
  sl_model *m = build_preset ("resnet-s", 3, 24, 2);
  sl_error err = { 0 };

  check_batch (m, 5, 7);
  g_assert_cmpint (m->n_lanes, ==, 2);
  sl_assert_ok (sl_model_set_threads (m, 3, &err), &err);
  g_assert_cmpint (m->n_lanes, ==, 0);
  check_batch (m, 5, 8);
  g_assert_cmpint (m->n_lanes, ==, 3);
  /* Fewer images than threads: the ordinary plan, split layer by layer. */
  check_batch (m, 2, 9);
  g_assert_cmpint (m->predict_plan->batch, ==, 2);
  sl_assert_ok (sl_model_set_threads (m, 1, &err), &err);
  g_assert_cmpint (m->n_lanes, ==, 0);
  check_batch (m, 5, 10);
  g_assert_cmpint (m->n_lanes, ==, 0);
  sl_model_free (m);
}

/* The memory limit holds for all lanes together: with room for one lane of
 * one image but not two, the batch goes through the ordinary plan; with room
 * for two lanes of a few images, the lanes stay that small. */
static void
test_lanes_memory_limit (void)
{
  sl_model *m = build_preset ("small-bn", 1, 28, 2);
  sl_plan *p = NULL;
  uint64_t one, four, plain;
  sl_error err = { 0 };

  sl_assert_ok (_sl_plan_new_lane (m, 1, NULL, &p, &err), &err);
  one = p->bytes;
  _sl_plan_free (m, p);
  sl_assert_ok (_sl_plan_new_lane (m, 4, NULL, &p, &err), &err);
  four = p->bytes;
  _sl_plan_free (m, p);
  sl_assert_ok (_sl_plan_new (m, 1, FALSE, FALSE, &p, &err), &err);
  plain = p->bytes; /* its workspaces are two threads' */
  _sl_plan_free (m, p);
  g_assert_cmpuint (plain, <, 2 * one);
  m->plan_limit = plain;
  check_batch (m, 6, 11);
  g_assert_cmpint (m->n_lanes, ==, 0);
  g_assert_nonnull (m->predict_plan);
  g_assert_cmpuint (m->predict_plan->bytes, <=, m->plan_limit);
  sl_model_free (m);

  m = build_preset ("small-bn", 1, 28, 2);
  m->plan_limit = 2 * four;
  check_batch (m, 20, 12);
  g_assert_cmpint (m->n_lanes, ==, 2);
  g_assert_cmpint (m->predict_lanes[0]->batch, >=, 4);
  g_assert_cmpint (m->predict_lanes[0]->batch, <, 10);
  g_assert_cmpuint (2 * m->predict_lanes[0]->bytes, <=, m->plan_limit);
  sl_model_free (m);
}

/* Bytes the model's prediction plans hold. */
static uint64_t
held_bytes (const sl_model *m)
{
  uint64_t bytes = m->predict_plan != NULL ? m->predict_plan->bytes : 0;

  for (int t = 0; t < m->n_lanes; t++)
    bytes += m->predict_lanes[t]->bytes;
  return bytes;
}

/* Under a limit the model holds the lanes or the ordinary plan, never both
 * past the limit: one image (the ordinary plan), then 10 and 40 (lanes, the
 * plan dropped), then one again (through the lanes). */
static void
test_lanes_limit_with_plan (void)
{
  sl_model *m = build_preset ("resnet-s", 3, 32, 2);
  sl_plan *p = NULL;
  sl_error err = { 0 };

  sl_assert_ok (_sl_plan_new (m, 32, FALSE, FALSE, &p, &err), &err);
  m->plan_limit = p->bytes;
  _sl_plan_free (m, p);
  check_batch (m, 1, 13);
  g_assert_nonnull (m->predict_plan);
  g_assert_cmpuint (held_bytes (m), <=, m->plan_limit);
  /* The first batch that makes the lanes (one pass of 10) drops the plan
   * before they are made. */
  {
    g_autofree float *x = g_new0 (float, input_size (m) * 10);
    g_autofree float *probs = g_new (float, 10 * (gsize) sl_model_class_count (m));

    sl_assert_ok (sl_model_predict (m, x, 10, probs, &err), &err);
    g_assert_cmpint (m->predict_lanes[0]->batch, ==, 5);
    g_assert_null (m->predict_plan);
    g_assert_cmpuint (held_bytes (m), <=, m->plan_limit);
  }
  check_batch (m, 40, 14);
  g_assert_cmpint (m->n_lanes, ==, 2);
  g_assert_null (m->predict_plan);
  g_assert_cmpuint (held_bytes (m), <=, m->plan_limit);
  check_batch (m, 1, 15);
  g_assert_null (m->predict_plan);
  g_assert_cmpuint (held_bytes (m), <=, m->plan_limit);
  sl_model_free (m);
}

/* The lanes share one copy of the folded weights, folded again before they
 * run when the weights change: every lane then answers from the new ones. */
static void
test_lanes_new_weights (void)
{
  sl_model *m = build_preset ("small-bn", 1, 28, 2);
  const gsize np = sl_model_param_count (m);
  g_autofree float *p = g_new (float, np);
  sl_error err = { 0 };

  check_batch (m, 8, 16);
  sl_test_fill_normal (p, np, 17, 0.1f);
  sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
  check_batch (m, 8, 18);
  sl_model_free (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/predict-lanes/small-bn", test_lanes_small_bn);
  g_test_add_func ("/engine/predict-lanes/resnet-s", test_lanes_resnet);
  g_test_add_func ("/engine/predict-lanes/mobilenet-s", test_lanes_mobilenet);
  g_test_add_func ("/engine/predict-lanes/long-batches", test_lanes_long_batches);
  g_test_add_func ("/engine/predict-lanes/follow-threads", test_lanes_follow_threads);
  g_test_add_func ("/engine/predict-lanes/memory-limit", test_lanes_memory_limit);
  g_test_add_func ("/engine/predict-lanes/limit-with-plan", test_lanes_limit_with_plan);
  g_test_add_func ("/engine/predict-lanes/new-weights", test_lanes_new_weights);
  return g_test_run ();
}
