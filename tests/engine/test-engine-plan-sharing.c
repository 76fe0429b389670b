/* test-engine-plan-sharing.c: inference plans share activation buffers and training plans gradient buffers by lifetime; predictions grow their batch only as far as the memory limit allows. */
#include "sl-test-support.h"
#include "engine/sl-model-private.h"
#include "engine/sl-trainer-private.h"

#include <math.h>
#include <string.h>

static sl_model *
build_preset (const char *preset, int channels, int side, int classes, guint64 seed)
{
  sl_preset_options o;
  sl_error err = { 0 };
  g_autofree char *json = NULL;
  char *j = NULL;
  sl_model *m;

  sl_preset_options_init (&o);
  o.channels = channels;
  o.height = o.width = side;
  o.classes = classes;
  sl_assert_ok (sl_preset_json (preset, &o, &j, &err), &err);
  json = g_strdup (j);
  sl_free (j);
  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  return m;
}

/* Weights (some layers start at zero) and running statistics (away from 0
 * and 1) at random, so that wrong buffers would show. */
static void
randomise_state (sl_model *m, guint64 seed)
{
  gsize n = sl_model_state_count (m);
  gsize np = sl_model_param_count (m);
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

static uint64_t
measure (const sl_model *m, int batch)
{
  const sl_plan_sizer sizer = { .backend = m->backend,
                                .threads = m->threads,
                                .host_memory = m->backend->ops->host_memory };
  sl_error err = { 0 };
  uint64_t bytes = 0;

  sl_assert_ok (_sl_plan_measure (m, batch, &sizer, &bytes, NULL, NULL, &err), &err);
  return bytes;
}

/* The shared plan's logits equal the unshared plan's (to rounding: it also
 * folds batch-norm into the layer before it, test-engine-fuse.c), it is
 * smaller, and _sl_plan_measure reports what it allocates. */
static void
check_shared_logits (sl_model *m, int batch, guint64 seed)
{
  int c, h, w;
  gsize in_size, classes = (gsize) sl_model_class_count (m);
  g_autofree float *x = NULL;
  g_autofree float *ref = NULL;
  sl_plan *shared = NULL, *unshared = NULL;
  sl_error err = { 0 };

  sl_model_input_shape (m, &c, &h, &w);
  in_size = (gsize) c * h * w;
  x = g_new (float, in_size *batch);
  sl_test_fill_normal (x, in_size * batch, seed, 1.0f);
  randomise_state (m, seed + 1);
  sl_assert_ok (_sl_plan_new_unshared (m, batch, &unshared, &err), &err);
  sl_assert_ok (_sl_plan_new (m, batch, FALSE, FALSE, &shared, &err), &err);
  g_test_message ("%s: inference plan at batch %d: %" G_GUINT64_FORMAT
                  " bytes shared, %" G_GUINT64_FORMAT " unshared",
                  m->name != NULL ? m->name : "model", batch, shared->bytes, unshared->bytes);
  g_assert_cmpuint (shared->bytes, <, unshared->bytes);
  g_assert_cmpuint (measure (m, batch), ==, shared->bytes);
  ref = g_memdup2 (_sl_graph_forward (m, unshared, x, batch, FALSE, 0),
                   sizeof (float) * classes * batch);
  g_assert_cmpfloat (sl_test_rel_error (_sl_graph_forward (m, shared, x, batch, FALSE, 0), ref,
                                        classes * batch, 1e-6),
                     <, 1e-5);
  /* Not all zero: the comparison means something. */
  {
    gboolean any = FALSE;

    for (gsize i = 0; i < classes * batch; i++)
      any = any || ref[i] != 0.0f;
    g_assert_true (any);
  }
  _sl_plan_free (m, shared);
  _sl_plan_free (m, unshared);
}

static void
test_shared_resnet (void)
{
  sl_model *m = build_preset ("resnet-s", 3, 32, 10, 3);

  check_shared_logits (m, 5, 11);
  sl_model_free (m);
}

/* EfficientNet-Lite0's architecture (depthwise blocks, residual sums, relu6
 * in place) at a small size. */
static void
test_shared_lite0 (void)
{
  sl_model *m = build_preset ("efficientnet-lite0", 3, 48, 7, 4);

  check_shared_logits (m, 3, 21);
  sl_model_free (m);
}

/* A frozen prefix in an inference plan shares like the rest; the features
 * plan keeps its output for the caller. */
static void
test_shared_frozen_features (void)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *j = NULL;
  g_autofree char *json = NULL;
  sl_model *m, *ref;
  const int n = 6;
  gsize in_size = 3 * 32 * 32, fsize;
  g_autofree float *x = g_new (float, in_size *n);
  g_autofree float *f = NULL;
  g_autofree float *g = NULL;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = 32;
  o.classes = 4;
  sl_assert_ok (sl_preset_json ("efficientnet-lite0", &o, &j, &err), &err);
  /* Everything before the head ("_dropout", "_fc") frozen. */
  {
    const char *head = strstr (j, "{\"type\":\"dropout\",\"name\":\"_dropout\"");
    g_autofree char *body = NULL;
    g_auto (GStrv) parts = NULL;

    g_assert_nonnull (head);
    body = g_strndup (j, head - j);
    parts = g_strsplit (body, "{\"type\":", -1);
    g_free (body);
    body = g_strjoinv ("{\"frozen\":true,\"type\":", parts);
    json = g_strconcat (body, head, NULL);
    sl_free (j);
  }
  sl_assert_ok (sl_model_new (json, 8, &m, &err), &err);
  sl_assert_ok (sl_model_new (json, 8, &ref, &err), &err);
  g_assert_cmpint (m->n_frozen, >, 0);
  randomise_state (m, 2);
  sl_assert_ok (sl_model_set_params (ref, sl_model_params (m), sl_model_param_count (m), &err),
                &err);
  sl_assert_ok (sl_model_set_state (ref, sl_model_state (m), sl_model_state_count (m), &err), &err);
  fsize = sl_model_feature_size (m);
  g_assert_cmpuint (fsize, ==, 1280);
  sl_test_fill_normal (x, in_size * n, 5, 1.0f);
  f = g_new (float, fsize *n);
  g = g_new (float, fsize);
  sl_assert_ok (sl_model_compute_features (m, x, n, f, &err), &err);
  /* One at a time, under a limit between the one- and two-image plans of
   * the frozen layers: equal up to rounding (AVX-512 OpenBLAS sums a GEMM
   * of one image's columns in another order than one of several). */
  {
    sl_plan *p1 = NULL, *p2 = NULL;

    sl_assert_ok (_sl_plan_new_part (ref, 1, FALSE, SL_PART_PREFIX, &p1, &err), &err);
    sl_assert_ok (_sl_plan_new_part (ref, 2, FALSE, SL_PART_PREFIX, &p2, &err), &err);
    g_assert_cmpuint (p1->bytes, <, p2->bytes);
    ref->plan_limit = p1->bytes + (p2->bytes - p1->bytes) / 2;
    _sl_plan_free (ref, p1);
    _sl_plan_free (ref, p2);
  }
  for (int i = 0; i < n; i++)
    {
      sl_assert_ok (sl_model_compute_features (ref, x + in_size * i, 1, g, &err), &err);
      g_assert_cmpfloat (sl_test_rel_error (g, f + fsize * i, fsize, 1e-6), <, 1e-5);
    }
  /* Several at once under that limit: chunks of one, not a refusal. */
  g = g_renew (float, g, fsize *n);
  sl_assert_ok (sl_model_compute_features (ref, x, n, g, &err), &err);
  g_assert_cmpfloat (sl_test_rel_error (g, f, fsize * n, 1e-6), <, 1e-5);
  g_assert_cmpint (ref->features_plan->batch, ==, 1);
  sl_model_free (m);
  sl_model_free (ref);
}

/* A preset whose first `frozen` layers are frozen (0: none), its weights from `seed`. */
static sl_model *
build_frozen (const char *preset, int side, int frozen, guint64 seed, gboolean unshared)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *j = NULL;
  GString *json;
  const char *at;
  sl_model *m;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = side;
  o.classes = 3;
  sl_assert_ok (sl_preset_json (preset, &o, &j, &err), &err);
  json = g_string_new (NULL);
  at = j;
  for (int k = 0; k < frozen; k++)
    {
      const char *next = strstr (at, "{\"type\":");

      g_assert_nonnull (next);
      g_string_append_len (json, at, next - at);
      g_string_append (json, "{\"frozen\":true,\"type\":");
      at = next + strlen ("{\"type\":");
    }
  g_string_append (json, at);
  sl_free (j);
  sl_assert_ok (sl_model_new (json->str, seed, &m, &err), &err);
  g_string_free (json, TRUE);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  m->unshared_training = unshared;
  return m;
}

/* Steps of the same batches through a plan and through the reference
 * (every node its own buffers): weights and running statistics stay the same
 * bits. Frees both trainers and their models. */
static void
train_alike (sl_trainer *t, sl_trainer *tref, float *x, gsize in_size, int batch,
             const int32_t *labels, int steps, guint64 seed)
{
  sl_model *m = t->model, *ref = tref->model;
  sl_error err = { 0 };

  for (int s = 0; s < steps; s++)
    {
      sl_test_fill_normal (x, in_size * batch, seed + s, 1.0f);
      sl_assert_ok (sl_trainer_step (t, x, labels, batch, NULL, NULL, &err), &err);
      sl_assert_ok (sl_trainer_step (tref, x, labels, batch, NULL, NULL, &err), &err);
    }
  g_assert_cmpmem (sl_model_params (m), sizeof (float) * sl_model_param_count (m),
                   sl_model_params (ref), sizeof (float) * sl_model_param_count (ref));
  g_assert_cmpmem (sl_model_state (m), sizeof (float) * sl_model_state_count (m),
                   sl_model_state (ref), sizeof (float) * sl_model_state_count (ref));
  sl_trainer_free (t);
  sl_trainer_free (tref);
  sl_model_free (m);
  sl_model_free (ref);
}

/* A training plan shares gradient buffers by lifetime: it plans far fewer
 * bytes than the reference (every node its own output and gradient), and a
 * few Adam steps on the same images leave weights and running statistics
 * bit-identical to the reference's. */
static void
check_training_shares (const char *preset, int side, int frozen, double max_ratio)
{
  const int batch = 4, steps = 3;
  const gsize in_size = 3 * (gsize) side * side;
  g_autofree float *x = g_new (float, in_size *batch);
  int32_t labels[4] = { 0, 2, 1, 2 };
  sl_model *m = build_frozen (preset, side, frozen, 11, FALSE);
  sl_model *ref = build_frozen (preset, side, frozen, 11, TRUE);
  sl_train_config cfg;
  sl_trainer *t, *tref;
  sl_error err = { 0 };
  uint64_t bytes, ref_bytes;

  g_assert_cmpint (m->n_frozen, ==, frozen);
  sl_train_config_init (&cfg);
  sl_assert_ok (sl_trainer_new (m, &cfg, batch, &t, &err), &err);
  sl_assert_ok (sl_trainer_new (ref, &cfg, batch, &tref, &err), &err);
  /* The plans alone: less the optimizer's three floats per trainable weight. */
  bytes = _sl_trainer_bytes (t)
          - 3 * sizeof (float) * (sl_model_param_count (m) - m->trainable_offset);
  ref_bytes = _sl_trainer_bytes (tref)
              - 3 * sizeof (float) * (sl_model_param_count (m) - m->trainable_offset);
  g_test_message ("%s at %d px, %d frozen: training plan %" G_GUINT64_FORMAT
                  " bytes, unshared %" G_GUINT64_FORMAT,
                  preset, side, frozen, bytes, ref_bytes);
  g_assert_cmpfloat ((double) bytes, <, max_ratio * (double) ref_bytes);
  g_test_message ("ratio %.3f", (double) bytes / (double) ref_bytes);
  train_alike (t, tref, x, in_size, batch, labels, steps, 40);
}

static void
test_training_small_bn (void)
{
  check_training_shares ("small-bn", 32, 0, 0.95);
}

static void
test_training_resnet (void)
{
  check_training_shares ("resnet-s", 32, 0, 0.75);
}

static void
test_training_mobilenet (void)
{
  check_training_shares ("mobilenet-s", 32, 0, 0.75);
}

/* Frozen layers have no gradient; the trainable rest shares its own. */
static void
test_training_frozen (void)
{
  check_training_shares ("resnet-s", 32, 4, 0.75);
}

/* Max pools that do the backward pass of the rectifier before them (relu on
 * a convolution, relu6 and leaky relu on batch-norms, a 3x3 window), and
 * ones that may not: overlapping windows ("o"), a rectifier another layer
 * reads too ("r"), a pool a rectifier runs in place over ("q"). */
static const char pools_json[]
    = "{\"name\":\"pools\",\"input\":{\"channels\":1,\"height\":28,\"width\":28},"
      "\"classes\":4,\"layers\":["
      "{\"type\":\"conv2d\",\"filters\":6,\"kernel\":3,\"padding\":\"same\"},"
      "{\"type\":\"relu\"},"
      "{\"type\":\"maxpool\",\"size\":2},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":\"same\"},"
      "{\"type\":\"batchnorm\"},"
      "{\"type\":\"relu6\"},"
      "{\"type\":\"maxpool\",\"size\":3,\"stride\":3},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":\"same\"},"
      "{\"type\":\"batchnorm\"},"
      "{\"type\":\"leaky_relu\",\"slope\":0.1,\"name\":\"r\"},"
      "{\"type\":\"maxpool\",\"size\":2,\"name\":\"p\"},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":1,\"input\":\"r\"},"
      "{\"type\":\"relu\"},"
      "{\"type\":\"maxpool\",\"size\":3,\"stride\":2,\"padding\":\"same\",\"name\":\"o\"},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":1,\"input\":\"p\"},"
      "{\"type\":\"add\",\"inputs\":[\"o\",\"p\"]},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":\"same\"},"
      "{\"type\":\"leaky_relu\",\"slope\":0.2},"
      "{\"type\":\"maxpool\",\"size\":2,\"name\":\"q\"},"
      "{\"type\":\"relu\"},"
      "{\"type\":\"flatten\"},"
      "{\"type\":\"dense\",\"units\":4}]}";

static int
node_named (const sl_model *m, const char *name)
{
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].name != NULL && strcmp (m->nodes[i].name, name) == 0)
      return i;
  g_assert_not_reached ();
}

/* The pools that may do their rectifier's backward pass do, in a training
 * plan (not the unshared reference), a batch-norm output read by such a
 * pair alone is not recomputed, and Adam steps leave the same bits as the
 * reference's, where every rectifier runs its own. */
static void
test_training_pool_rectifiers (void)
{
  const int batch = 5, steps = 3;
  int32_t labels[5] = { 0, 3, 1, 2, 3 };
  g_autofree float *x = g_new (float, 784 * batch);
  sl_model *m, *ref;
  sl_trainer *t, *tref;
  sl_train_config cfg;
  sl_error err = { 0 };

  sl_assert_ok (sl_model_new (pools_json, 5, &m, &err), &err);
  sl_assert_ok (sl_model_new (pools_json, 5, &ref, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  sl_assert_ok (sl_model_set_threads (ref, 2, &err), &err);
  ref->unshared_training = TRUE;
  sl_train_config_init (&cfg);
  cfg.optimizer = SL_OPTIMIZER_ADAM;
  sl_assert_ok (sl_trainer_new (m, &cfg, batch, &t, &err), &err);
  sl_assert_ok (sl_trainer_new (ref, &cfg, batch, &tref, &err), &err);
  g_assert_cmpint (_sl_plan_pool_rectifier (t->plan, 2), ==, 1);
  g_assert_cmpint (_sl_plan_pool_rectifier (t->plan, 6), ==, 5);
  g_assert_cmpint (_sl_plan_pool_rectifier (t->plan, node_named (m, "p")), ==, -1);
  g_assert_cmpint (_sl_plan_pool_rectifier (t->plan, node_named (m, "o")), ==, -1);
  g_assert_cmpint (_sl_plan_pool_rectifier (t->plan, node_named (m, "q")), ==, -1);
  g_assert_cmpint (_sl_plan_pool_rectifier (tref->plan, 2), ==, -1);
  /* The batch-norm before relu6 and its pool is not recomputed for the
   * rectifier's backward any more; the one before the leaky relu that a
   * convolution also reads is. */
  g_assert_false (_sl_plan_recomputes (t->plan, 4));
  g_assert_true (_sl_plan_recomputes (t->plan, 8));
  train_alike (t, tref, x, 784, batch, labels, steps, 60);
}

/* A limit between the batch-1 and the batch-64 plan: 100 images are
 * predicted in chunks of the largest batch that fits, equal to predicting
 * them one by one; a limit that fits only batch 1 still predicts. On one
 * thread: batches on several go through lanes (test-engine-predict-lanes). */
static void
test_predict_within_limit (void)
{
  const int n = 100;
  sl_model *m = build_preset ("small-bn", 1, 28, 10, 7);
  sl_error err = { 0 };
  gsize in_size = 28 * 28;
  g_autofree float *x = g_new (float, in_size *n);
  g_autofree float *one = g_new (float, 10 * n);
  g_autofree float *many = g_new (float, 10 * n);
  uint64_t b1, b64, b20;

  sl_assert_ok (sl_model_set_threads (m, 1, &err), &err);
  randomise_state (m, 9);
  sl_test_fill_normal (x, in_size * n, 13, 1.0f);
  b1 = measure (m, 1);
  b20 = measure (m, 20);
  b64 = measure (m, 64);
  g_assert_cmpuint (b1, <, b20);
  g_assert_cmpuint (b20, <, b64);
  for (int i = 0; i < n; i++)
    sl_assert_ok (sl_model_predict (m, x + in_size * i, 1, one + 10 * i, &err), &err);

  /* Room for 20 images and a little: batches of 20. */
  m->plan_limit = b20 + (measure (m, 21) - b20) / 2;
  sl_assert_ok (sl_model_predict (m, x, n, many, &err), &err);
  g_assert_cmpint (m->predict_plan->batch, ==, 20);
  g_assert_cmpuint (m->predict_plan->bytes, <=, m->plan_limit);
  g_assert_cmpfloat (sl_test_rel_error (many, one, 10 * n, 1e-6), <, 1e-5);

  /* Room for one image: batches of one, the same answers. */
  memset (many, 0, sizeof (float) * 10 * n);
  m->plan_limit = b1;
  sl_assert_ok (sl_model_predict (m, x, n, many, &err), &err);
  g_assert_cmpint (m->predict_plan->batch, ==, 1);
  g_assert_cmpmem (many, sizeof (float) * 10 * n, one, sizeof (float) * 10 * n);

  /* Less than one image needs: refused, saying why. */
  m->plan_limit = b1 - 1;
  g_assert_cmpint (sl_model_predict (m, x, 1, many, &err), ==, SL_ERR_LIMIT);
  g_assert_nonnull (strstr (err.message, "memory limit"));

  /* No limit: one plan of 64 for the 100. */
  m->plan_limit = 0;
  sl_assert_ok (sl_model_predict (m, x, n, many, &err), &err);
  g_assert_cmpint (m->predict_plan->batch, ==, 64);
  g_assert_cmpfloat (sl_test_rel_error (many, one, 10 * n, 1e-6), <, 1e-5);
  /* A plan grows to what a call needs, at least doubling: 1, then 32 for
   * batches of 32, then 64 for one of 33. */
  _sl_plan_free (m, m->predict_plan);
  m->predict_plan = NULL;
  sl_assert_ok (sl_model_predict (m, x, 1, many, &err), &err);
  sl_assert_ok (sl_model_predict (m, x, 32, many, &err), &err);
  g_assert_cmpint (m->predict_plan->batch, ==, 32);
  sl_assert_ok (sl_model_predict (m, x, 33, many, &err), &err);
  g_assert_cmpint (m->predict_plan->batch, ==, 64);
  sl_model_free (m);
}

/* What sharing saves, per image, for the models the runtime serves (printed
 * with --verbose; the ratios are checked). */
static void
test_plan_bytes_per_image (void)
{
  static const struct
  {
    const char *preset;
    int channels, side;
  } cases[] = { { "efficientnet-lite0", 3, 224 }, { "small-bn", 1, 128 }, { "resnet-s", 1, 128 } };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      sl_model *m = build_preset (cases[k].preset, cases[k].channels, cases[k].side, 10, 1);
      const sl_plan_sizer sizer = { .backend = NULL, .threads = 2, .host_memory = true };
      sl_error err = { 0 };
      uint64_t shared[2], unshared[2];
      const int batches[2] = { 1, 64 };

      for (int b = 0; b < 2; b++)
        {
          sl_plan *p = NULL;

          sl_assert_ok (_sl_plan_measure (m, batches[b], &sizer, &shared[b], NULL, NULL, &err),
                        &err);
          /* The unshared layout's size, from the plan itself (batch 1 only: it is large). */
          if (b == 0)
            {
              sl_assert_ok (_sl_plan_new_unshared (m, 1, &p, &err), &err);
              unshared[b] = p->bytes;
              _sl_plan_free (m, p);
            }
        }
      g_test_message ("%s %dx%d: inference plan per image, batch 1: %.1f MB shared (was %.1f "
                      "MB); batch 64: %.1f MB",
                      cases[k].preset, cases[k].side, cases[k].side, shared[0] / 1e6,
                      unshared[0] / 1e6, shared[1] / 64 / 1e6);
      g_assert_cmpuint (shared[0], <, unshared[0]);
      sl_model_free (m);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/plan-sharing/resnet-logits", test_shared_resnet);
  g_test_add_func ("/engine/plan-sharing/lite0-logits", test_shared_lite0);
  g_test_add_func ("/engine/plan-sharing/frozen-features", test_shared_frozen_features);
  g_test_add_func ("/engine/plan-sharing/predict-within-limit", test_predict_within_limit);
  g_test_add_func ("/engine/plan-sharing/bytes-per-image", test_plan_bytes_per_image);
  g_test_add_func ("/engine/plan-sharing/training-small-bn", test_training_small_bn);
  g_test_add_func ("/engine/plan-sharing/training-resnet", test_training_resnet);
  g_test_add_func ("/engine/plan-sharing/training-mobilenet", test_training_mobilenet);
  g_test_add_func ("/engine/plan-sharing/training-frozen", test_training_frozen);
  g_test_add_func ("/engine/plan-sharing/training-pool-rectifiers", test_training_pool_rectifiers);
  return g_test_run ();
}
