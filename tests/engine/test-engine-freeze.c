/* test-engine-freeze.c: frozen layers, per-layer learning rates and training on features. */
#include "sl-test-support.h"
#include "engine/sl-trainer-private.h"

#include <float.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define BATCH 8
#define SIDE  12

/* A conv-bn-relu block; frozen when asked. */
static void
add_block (GString *s, const char *name, int filters, int stride, gboolean frozen)
{
  const char *fz = frozen ? ", \"frozen\": true" : "";

  g_string_append_printf (s,
                          "{\"type\": \"conv2d\", \"name\": \"%s_conv\", \"filters\": %d, "
                          "\"kernel\": 3, \"stride\": %d, \"padding\": 1, \"bias\": false%s},"
                          "{\"type\": \"batchnorm\", \"name\": \"%s_bn\"%s},"
                          "{\"type\": \"relu\", \"name\": \"%s\"%s},",
                          name, filters, stride, fz, name, fz, name, fz);
}

static char *
model_json (const char *layers)
{
  return g_strdup_printf ("{\"name\": \"freeze\", \"input\": {\"channels\": 3, \"height\": %d, "
                          "\"width\": %d}, \"classes\": 4, \"layers\": [%s]}",
                          SIDE, SIDE, layers);
}

/* Stem and two blocks, global pool, dense: frozen up to `frozen_blocks`
 * blocks (3 = the pool too: the feature is a vector). */
static char *
chain_json (int frozen_blocks, const char *head_extra)
{
  GString *s = g_string_new (NULL);
  g_autofree char *json = NULL;

  add_block (s, "stem", 8, 1, frozen_blocks >= 1);
  add_block (s, "b1", 12, 2, frozen_blocks >= 2);
  add_block (s, "b2", 16, 1, frozen_blocks >= 3);
  g_string_append_printf (s, "{\"type\": \"global_avgpool\"%s},",
                          frozen_blocks >= 3 ? ", \"frozen\": true" : "");
  g_string_append_printf (s, "{\"type\": \"dense\", \"name\": \"fc\", \"units\": 4%s}",
                          head_extra != NULL ? head_extra : "");
  json = model_json (s->str);
  g_string_free (s, TRUE);
  return g_steal_pointer (&json);
}

static sl_model *
build (const char *json, guint64 seed)
{
  sl_error err = { 0 };
  sl_model *m;

  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  return m;
}

/* Running statistics away from their initial 0 and 1, so that using them shows. */
static void
randomise_state (sl_model *m, guint64 seed)
{
  gsize n = sl_model_state_count (m);
  g_autofree float *s = g_new (float, n);
  sl_error err = { 0 };

  sl_test_fill_normal (s, n, seed, 0.3f);
  for (gsize i = 0; i < n; i++)
    s[i] = fabsf (s[i]) + 0.5f; /* positive: valid as variances too */
  sl_assert_ok (sl_model_set_state (m, s, n, &err), &err);
}

typedef struct
{
  float x[3 * BATCH * 3 * SIDE * SIDE];
  int32_t labels[3 * BATCH];
} Batches;

static void
batches_init (Batches *b, guint64 seed)
{
  sl_test_fill_normal (b->x, G_N_ELEMENTS (b->x), seed, 1.0f);
  for (int i = 0; i < 3 * BATCH; i++)
    b->labels[i] = (i * 7 + 3) % 4;
}

static const float *
batch_x (const Batches *b, int k)
{
  return b->x + (gsize) (k % 3) * BATCH * 3 * SIDE * SIDE;
}

static sl_trainer *
new_trainer (sl_model *m, sl_optimizer_kind kind, float lr, float wd)
{
  sl_train_config cfg;
  sl_error err = { 0 };
  sl_trainer *t;

  sl_train_config_init (&cfg);
  cfg.optimizer = kind;
  cfg.learning_rate = lr;
  cfg.weight_decay = wd;
  cfg.momentum = 0.9f;
  sl_assert_ok (sl_trainer_new (m, &cfg, BATCH, &t, &err), &err);
  return t;
}

static void
steps (sl_trainer *t, const Batches *b, int from, int count)
{
  sl_error err = { 0 };

  for (int k = from; k < from + count; k++)
    sl_assert_ok (
        sl_trainer_step (t, batch_x (b, k), b->labels + (k % 3) * BATCH, BATCH, NULL, NULL, &err),
        &err);
}

static float *
copy_params (sl_model *m)
{
  return g_memdup2 (sl_model_params (m), sizeof (float) * sl_model_param_count (m));
}

static float *
copy_state (sl_model *m)
{
  return g_memdup2 (sl_model_state (m), sizeof (float) * (sl_model_state_count (m) + 1));
}

/* "frozen" and "lr_scale" read back, and are written only when not default. */
static void
test_description (void)
{
  g_autofree char *json = chain_json (2, ", \"lr_scale\": 0.5");
  sl_model *m = build (json, 1);
  g_autofree char *back = sl_model_to_json (m);
  const sl_model *pm = m;

  g_assert_nonnull (strstr (back, "\"frozen\":true"));
  g_assert_nonnull (strstr (back, "\"lr_scale\":0.5"));
  g_assert_null (strstr (back, "\"lr_scale\":1"));
  g_assert_null (strstr (back, "\"frozen\":false"));
  g_assert_cmpint (pm->n_frozen, ==, 6);
  g_assert_cmpuint (sl_model_trainable_param_count (m), ==,
                    sl_model_param_count (m) - pm->nodes[6].param_offset);
  g_assert_cmpuint (sl_model_feature_size (m), ==, 12 * 6 * 6);
  sl_model_free (m);
}

static void
test_bad_descriptions (void)
{
  const char *bad_scales[] = { "0", "-1", "1000", "\"fast\"", "null" };
  g_autofree char *gap = NULL;
  GString *s = g_string_new (NULL);

  /* The first frozen layer after a trainable one is named, with the one before it. */
  add_block (s, "stem", 8, 1, TRUE);
  add_block (s, "b1", 8, 1, FALSE);
  g_string_append (s, "{\"type\": \"dense\", \"units\": 4, \"frozen\": true}");
  gap = model_json (s->str);
  sl_test_expect_invalid_model (gap,
                                "layers[6] (dense): frozen layers must come first, but layers[3] "
                                "(conv2d 'b1_conv') before it is not frozen");
  g_string_free (s, TRUE);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_scales); i++)
    {
      g_autofree char *extra = g_strdup_printf (", \"lr_scale\": %s", bad_scales[i]);
      g_autofree char *json = chain_json (0, extra);

      sl_test_expect_invalid_model (
          json, "layers[10] (dense): 'lr_scale' must be a number above 0 and at "
                "most 100");
    }
  {
    g_autofree char *json = chain_json (0, ", \"frozen\": \"yes\"");
    sl_test_expect_invalid_model (json, "'frozen' must be true or false");
  }
  /* Everything frozen: a model, but nothing to train. */
  {
    g_autofree char *json = chain_json (3, ", \"frozen\": true");
    sl_model *m = build (json, 1);
    sl_train_config cfg;
    sl_error err = { 0 };
    sl_trainer *t = NULL;

    g_assert_cmpuint (sl_model_trainable_param_count (m), ==, 0);
    g_assert_cmpuint (sl_model_feature_size (m), ==, 0);
    sl_train_config_init (&cfg);
    g_assert_cmpint (sl_trainer_new (m, &cfg, BATCH, &t, &err), ==, SL_ERR_INVALID);
    g_assert_nonnull (strstr (err.message, "nothing to train"));
    sl_model_free (m);
  }
}

/* A frozen prefix's weights and statistics stay bit for bit; the rest moves. */
static void
test_frozen_unchanged (void)
{
  static const sl_optimizer_kind kinds[]
      = { SL_OPTIMIZER_SGD, SL_OPTIMIZER_ADAM, SL_OPTIMIZER_ADAMW };
  Batches b;

  batches_init (&b, 5);
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *json = chain_json (2, NULL);
      sl_model *m = build (json, 2);
      const sl_model *pm = m;
      sl_trainer *t;
      g_autofree float *p0 = NULL, *s0 = NULL;
      const float *p1, *s1;
      size_t frozen_state = pm->nodes[pm->n_frozen].state_offset;

      randomise_state (m, 3);
      p0 = copy_params (m);
      s0 = copy_state (m);
      t = new_trainer (m, kinds[k], 0.05f, 0.01f);
      steps (t, &b, 0, 4);
      p1 = sl_model_params (m);
      s1 = sl_model_state (m);
      g_assert_cmpmem (p0, sizeof (float) * pm->trainable_offset, p1,
                       sizeof (float) * pm->trainable_offset);
      g_assert_cmpmem (s0, sizeof (float) * frozen_state, s1, sizeof (float) * frozen_state);
      g_assert_cmpfloat (sl_test_rel_error (p0 + pm->trainable_offset, p1 + pm->trainable_offset,
                                            sl_model_trainable_param_count (m), 1e-6),
                         >, 1e-4);
      g_assert_true (memcmp (s0 + frozen_state, s1 + frozen_state,
                             sizeof (float) * (sl_model_state_count (m) - frozen_state))
                     != 0);
      g_assert_cmpuint (t->n_trainable, ==, sl_model_trainable_param_count (m));
      sl_trainer_free (t);
      sl_model_free (m);
    }
}

/* The frozen model's gradients equal those of the same network unfrozen,
 * where each frozen batch-norm (which runs on its running statistics) is
 * written as the per-channel affine map it then is: a 1x1 depthwise
 * convolution with the folded scale and shift, trained in batch mode like
 * everything else. The trainable part keeps its own batch-norm in batch mode. */
static void
test_gradients_match_unfrozen (void)
{
  const char *frozen_layers
      = "{\"type\": \"conv2d\", \"filters\": 6, \"kernel\": 3, \"padding\": 1, \"frozen\": true},"
        "{\"type\": \"batchnorm\", \"epsilon\": 0.001, \"frozen\": true},"
        "{\"type\": \"relu\", \"frozen\": true},"
        "{\"type\": \"dropout\", \"rate\": 0.5, \"frozen\": true},";
  const char *folded_layers
      = "{\"type\": \"conv2d\", \"filters\": 6, \"kernel\": 3, \"padding\": 1},"
        "{\"type\": \"conv2d\", \"filters\": 6, \"kernel\": 1, \"groups\": 6},"
        "{\"type\": \"relu\"},"
        "{\"type\": \"dropout\", \"rate\": 0.0},";
  const char *tail = "{\"type\": \"conv2d\", \"filters\": 8, \"kernel\": 3, \"stride\": 2},"
                     "{\"type\": \"batchnorm\"},"
                     "{\"type\": \"relu\"},"
                     "{\"type\": \"global_avgpool\"},"
                     "{\"type\": \"dense\", \"units\": 4}";
  g_autofree char *a_layers = g_strconcat (frozen_layers, tail, NULL);
  g_autofree char *b_layers = g_strconcat (folded_layers, tail, NULL);
  g_autofree char *a_json = model_json (a_layers), *b_json = model_json (b_layers);
  sl_model *a = build (a_json, 7), *bm = build (b_json, 7);
  const sl_model *pa = a;
  g_autofree float *pb = NULL, *sb = NULL;
  const float *p, *s;
  sl_trainer *ta, *tb;
  sl_error err = { 0 };
  Batches data;
  size_t off;

  g_assert_cmpuint (sl_model_param_count (a), ==, sl_model_param_count (bm));
  randomise_state (a, 11);
  p = sl_model_params (a);
  s = sl_model_state (a);
  pb = copy_params (a);
  /* Fold batch-norm (gamma, beta; mean, var) into the depthwise weights and bias. */
  {
    const sl_node *bn = &pa->nodes[1];
    const float *gamma = p + bn->param_offset, *beta = gamma + 6;
    const float *mean = s + bn->state_offset, *var = mean + 6;

    for (int c = 0; c < 6; c++)
      {
        float scale = gamma[c] * (1.0f / sqrtf (var[c] + bn->epsilon));

        pb[bn->param_offset + c] = scale;
        pb[bn->param_offset + 6 + c] = beta[c] - mean[c] * scale;
      }
  }
  sl_assert_ok (sl_model_set_params (bm, pb, sl_model_param_count (bm), &err), &err);
  sb = copy_state (a);
  sl_assert_ok (sl_model_set_state (bm, sb + (sl_model_state_count (a) - sl_model_state_count (bm)),
                                    sl_model_state_count (bm), &err),
                &err);

  batches_init (&data, 13);
  ta = new_trainer (a, SL_OPTIMIZER_SGD, 0.01f, 0.0f);
  tb = new_trainer (bm, SL_OPTIMIZER_SGD, 0.01f, 0.0f);
  steps (ta, &data, 0, 1);
  steps (tb, &data, 0, 1);
  off = pa->trainable_offset;
  g_assert_cmpuint (ta->n_trainable, ==, sl_model_param_count (bm) - off);
  g_assert_cmpuint (tb->n_trainable, ==, sl_model_param_count (bm));
  /* Same arithmetic but for the fold's rounding. */
  g_test_message ("gradient difference frozen vs folded unfrozen: %.3g",
                  sl_test_rel_error (ta->grads, tb->grads + off, ta->n_trainable, 1e-6));
  g_assert_cmpfloat (sl_test_rel_error (ta->grads, tb->grads + off, ta->n_trainable, 1e-6), <,
                     1e-5);
  /* And the unfrozen one did change what the frozen one kept. */
  g_assert_cmpfloat (sl_test_rel_error (sl_model_params (bm), pb, off, 1e-6), >, 1e-6);
  sl_trainer_free (ta);
  sl_trainer_free (tb);
  sl_model_free (a);
  sl_model_free (bm);
}

/* A batch source over rows of any size: images, or features. */
typedef struct
{
  sl_batch_source source;
  const float *x;
  size_t row;
  const int32_t *labels;
  int count, pos;
} ArraySource;

static int64_t
array_count (void *user_data)
{
  return ((ArraySource *) user_data)->count;
}

static sl_status
array_begin (void *user_data, int64_t epoch, sl_error *err)
{
  (void) epoch, (void) err;
  ((ArraySource *) user_data)->pos = 0;
  return SL_OK;
}

static sl_status
array_next (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  ArraySource *a = user_data;
  int take = MIN (max, a->count - a->pos);

  (void) err;
  memcpy (x, a->x + (size_t) a->pos * a->row, sizeof (float) * a->row * take);
  memcpy (labels, a->labels + a->pos, sizeof (int32_t) * take);
  a->pos += take;
  *n = take;
  return SL_OK;
}

static void
array_source_init (ArraySource *a)
{
  a->source.struct_size = sizeof a->source;
  a->source.user_data = a;
  a->source.count = array_count;
  a->source.begin_epoch = array_begin;
  a->source.next = array_next;
}

/* Trains the same model on images and, from the same start, on features
 * computed once by sl_model_compute_features: the weights agree bit for bit,
 * and so does evaluation. */
static void
check_features_match (const char *json, gsize feature_size)
{
  sl_model *a = build (json, 21), *b = build (json, 21);
  g_autofree float *features = NULL;
  sl_trainer *ta, *tb;
  sl_error err = { 0 };
  Batches data;
  const size_t in_size = 3 * SIDE * SIDE;

  randomise_state (a, 4);
  randomise_state (b, 4);
  g_assert_cmpuint (sl_model_feature_size (a), ==, feature_size);
  batches_init (&data, 17);
  features = g_new (float, 3 * BATCH * feature_size);
  /* Batch by batch: a convolution's rounding may depend on how many images
   * its matrix product covers. */
  for (int k = 0; k < 3; k++)
    sl_assert_ok (sl_model_compute_features (b, data.x + k * BATCH * in_size, BATCH,
                                             features + k * BATCH * feature_size, &err),
                  &err);

  ta = new_trainer (a, SL_OPTIMIZER_ADAM, 0.01f, 0.0f);
  tb = new_trainer (b, SL_OPTIMIZER_ADAM, 0.01f, 0.0f);
  sl_assert_ok (sl_trainer_set_feature_input (tb, true, &err), &err);
  g_assert_cmpuint (tb->plan->input_size, ==, feature_size);
  for (int k = 0; k < 6; k++)
    {
      double la, lb;

      sl_assert_ok (sl_trainer_step (ta, data.x + (k % 3) * BATCH * in_size,
                                     data.labels + (k % 3) * BATCH, BATCH, &la, NULL, &err),
                    &err);
      sl_assert_ok (sl_trainer_step (tb, features + (k % 3) * BATCH * feature_size,
                                     data.labels + (k % 3) * BATCH, BATCH, &lb, NULL, &err),
                    &err);
      g_assert_cmpfloat (la, ==, lb);
    }
  g_assert_cmpmem (sl_model_params (a), sizeof (float) * sl_model_param_count (a),
                   sl_model_params (b), sizeof (float) * sl_model_param_count (b));
  g_assert_cmpmem (sl_model_state (a), sizeof (float) * sl_model_state_count (a),
                   sl_model_state (b), sizeof (float) * sl_model_state_count (b));

  /* Evaluation through features agrees with evaluation on images. */
  {
    ArraySource si = { { 0 }, data.x, in_size, data.labels, 3 * BATCH, 0 };
    ArraySource sf = { { 0 }, features, feature_size, data.labels, 3 * BATCH, 0 };
    sl_epoch_stats ea, eb;

    array_source_init (&si);
    array_source_init (&sf);
    sl_assert_ok (sl_trainer_evaluate (ta, &si.source, &ea, &err), &err);
    sl_assert_ok (sl_trainer_evaluate (tb, &sf.source, &eb, &err), &err);
    g_assert_cmpint (ea.images, ==, 3 * BATCH);
    g_assert_cmpint (eb.images, ==, 3 * BATCH);
    g_assert_cmpfloat (ea.loss, ==, eb.loss);
    g_assert_cmpfloat (ea.accuracy, ==, eb.accuracy);
  }
  /* Back to images, the trainer works on them again. */
  sl_assert_ok (sl_trainer_set_feature_input (tb, false, &err), &err);
  steps (tb, &data, 0, 1);
  sl_trainer_free (ta);
  sl_trainer_free (tb);
  sl_model_free (a);
  sl_model_free (b);
}

static void
test_features_vector (void)
{
  g_autofree char *json = chain_json (3, NULL); /* frozen through the global pool */
  check_features_match (json, 16);
}

static void
test_features_block_input (void)
{
  g_autofree char *json = chain_json (1, NULL); /* the boundary is a block's input */
  check_features_match (json, 8 * SIDE * SIDE);
}

/* A shortcut across the boundary: no single feature tensor, but frozen
 * training still works and keeps the prefix. */
static void
test_shortcut_across_boundary (void)
{
  GString *s = g_string_new (NULL);
  g_autofree char *json = NULL;
  sl_model *m;
  sl_trainer *t;
  sl_error err = { 0 };
  g_autofree float *p0 = NULL;
  float features[16];
  Batches data;

  add_block (s, "stem", 8, 1, TRUE);
  add_block (s, "b1", 8, 1, TRUE);
  add_block (s, "b2", 8, 1, FALSE);
  g_string_append (s, "{\"type\": \"add\", \"inputs\": [\"b2\", \"stem\"]},"
                      "{\"type\": \"global_avgpool\"},"
                      "{\"type\": \"dense\", \"units\": 4}");
  json = model_json (s->str);
  g_string_free (s, TRUE);
  m = build (json, 3);
  g_assert_cmpuint (sl_model_feature_size (m), ==, 0);
  g_assert_cmpint (sl_model_compute_features (m, features, 1, features, &err), ==, SL_ERR_INVALID);
  p0 = copy_params (m);
  t = new_trainer (m, SL_OPTIMIZER_ADAM, 0.01f, 0.0f);
  g_assert_cmpint (sl_trainer_set_feature_input (t, true, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "shortcut"));
  batches_init (&data, 2);
  steps (t, &data, 0, 3);
  g_assert_cmpmem (p0, sizeof (float) * t->model->trainable_offset, sl_model_params (m),
                   sizeof (float) * t->model->trainable_offset);
  g_assert_cmpfloat (sl_test_rel_error (p0, sl_model_params (m), sl_model_param_count (m), 1e-6), >,
                     1e-5);
  sl_trainer_free (t);
  sl_model_free (m);
}

/* A training plan keeps a frozen prefix's outputs only as long as a later
 * layer reads them (shortcuts inside the prefix included): its logits equal
 * those of an unshared inference plan (every layer its own buffer), and it
 * takes less memory than that plan. */
static void
test_prefix_buffers_shared (void)
{
  GString *s = g_string_new (NULL);
  g_autofree char *json = NULL;
  sl_model *m;
  sl_plan *train = NULL, *infer = NULL;
  sl_error err = { 0 };
  Batches data;
  const sl_model *pm;

  add_block (s, "stem", 8, 1, TRUE);
  add_block (s, "b1", 8, 1, TRUE);
  g_string_append (s, "{\"type\": \"add\", \"name\": \"sum1\", \"inputs\": [\"b1\", \"stem\"], "
                      "\"frozen\": true},"
                      "{\"type\": \"maxpool\", \"size\": 2, \"frozen\": true},");
  add_block (s, "b2", 12, 1, TRUE);
  add_block (s, "b3", 12, 1, TRUE);
  g_string_append (s, "{\"type\": \"add\", \"inputs\": [\"b3\", \"b2\"], \"frozen\": true},"
                      "{\"type\": \"dropout\", \"rate\": 0.3, \"frozen\": true},"
                      "{\"type\": \"global_avgpool\", \"frozen\": true},"
                      "{\"type\": \"dense\", \"units\": 4}");
  json = model_json (s->str);
  g_string_free (s, TRUE);
  m = build (json, 12);
  pm = m;
  randomise_state (m, 6);
  batches_init (&data, 3);
  sl_assert_ok (_sl_plan_new (m, BATCH, TRUE, FALSE, &train, &err), &err);
  sl_assert_ok (_sl_plan_new_unshared (m, BATCH, &infer, &err), &err);
  g_test_message ("plan bytes: training with a frozen prefix %" G_GUINT64_FORMAT
                  ", unshared inference %" G_GUINT64_FORMAT,
                  train->bytes, infer->bytes);
  g_assert_cmpuint (train->bytes, <, infer->bytes);
  g_assert_cmpmem (_sl_graph_forward (m, train, data.x, BATCH, TRUE, 5), sizeof (float) * BATCH * 4,
                   _sl_graph_forward (m, infer, data.x, BATCH, FALSE, 0),
                   sizeof (float) * BATCH * 4);
  g_assert_cmpint (pm->n_frozen, ==, pm->n_nodes - 1);
  _sl_plan_free (m, train);
  _sl_plan_free (m, infer);
  sl_model_free (m);
}

/* lr_scale 0.5 halves a layer's first step, for every optimizer, weight decay
 * included; the other layers take the same step as without it. */
static void
test_lr_scale_halves_step (void)
{
  static const sl_optimizer_kind kinds[]
      = { SL_OPTIMIZER_SGD, SL_OPTIMIZER_ADAM, SL_OPTIMIZER_ADAMW };
  Batches data;

  batches_init (&data, 9);
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *plain_json = chain_json (0, NULL);
      /* b1's convolution at half the rate: a range in the middle of the block. */
      g_autofree char *half_json = NULL;
      sl_model *plain, *half;
      sl_trainer *tp, *th;
      const sl_node *conv;
      g_autofree float *p0 = NULL;
      const float *pp, *ph;
      double worst = 0.0, moved = 0.0;

      {
        char *at;
        GString *s = g_string_new (plain_json);

        at = strstr (s->str, "\"name\": \"b1_conv\"");
        g_string_insert (s, at - s->str, "\"lr_scale\": 0.5, ");
        half_json = g_string_free (s, FALSE);
      }
      plain = build (plain_json, 5);
      half = build (half_json, 5);
      p0 = copy_params (plain);
      tp = new_trainer (plain, kinds[k], 0.01f, 0.05f);
      th = new_trainer (half, kinds[k], 0.01f, 0.05f);
      g_assert_cmpint (th->n_ranges, ==, 3);
      g_assert_cmpint (tp->n_ranges, ==, 0);
      steps (tp, &data, 0, 1);
      steps (th, &data, 0, 1);
      pp = sl_model_params (plain);
      ph = sl_model_params (half);
      conv = &((const sl_model *) half)->nodes[3];
      for (size_t i = 0; i < sl_model_param_count (plain); i++)
        {
          gboolean scaled = i >= conv->param_offset && i < conv->param_offset + conv->param_count;
          double dp = (double) pp[i] - p0[i], dh = (double) ph[i] - p0[i];
          double want = scaled ? 0.5 * dp : dp;

          if (!scaled)
            g_assert_cmpfloat (pp[i], ==, ph[i]);
          else
            {
              /* The parameters' own rounding (an ulp or two of p) blurs the steps. */
              double slack = 2.0 * FLT_EPSILON * fabs (p0[i]) + 1e-6 * fabs (want);

              worst = MAX (worst, fabs (dh - want) / slack);
              moved += fabs (want);
            }
        }
      g_test_message ("lr_scale 0.5, optimizer %d: worst error of the halved step %.3g of "
                      "the rounding allowed",
                      (int) kinds[k], worst);
      g_assert_cmpfloat (moved, >, 0.0);
      g_assert_cmpfloat (worst, <=, 1.0);
      sl_trainer_free (tp);
      sl_trainer_free (th);
      sl_model_free (plain);
      sl_model_free (half);
    }
}

/* Gradients, optimizer state and buffers of a frozen prefix are not
 * allocated, and training on features plans none of the prefix. */
static void
test_memory_smaller (void)
{
  g_autofree char *none_json = chain_json (0, NULL), *two_json = chain_json (2, NULL);
  sl_model *none = build (none_json, 1), *two = build (two_json, 1);
  sl_trainer *tn, *tt;
  uint64_t all, frozen, features;
  sl_error err = { 0 };

  /* The unfrozen chain may rebuild its stem in the backward pass, which a
   * frozen stem never is: both keep it, so the difference is the prefix's. */
  none->keep_rebuilt = two->keep_rebuilt = true;
  tn = new_trainer (none, SL_OPTIMIZER_ADAM, 0.01f, 0.0f);
  tt = new_trainer (two, SL_OPTIMIZER_ADAM, 0.01f, 0.0f);

  all = _sl_trainer_bytes (tn);
  frozen = _sl_trainer_bytes (tt);
  sl_assert_ok (sl_trainer_set_feature_input (tt, true, &err), &err);
  features = _sl_trainer_bytes (tt);
  g_test_message ("trainer bytes: unfrozen %" G_GUINT64_FORMAT ", frozen prefix %" G_GUINT64_FORMAT
                  ", on features %" G_GUINT64_FORMAT,
                  all, frozen, features);
  g_assert_cmpuint (frozen, <, all);
  g_assert_cmpuint (features, <, frozen);
  /* Exactly the prefix's gradients and two moments fewer, at least. */
  g_assert_cmpuint (all - frozen, >=,
                    3 * sizeof (float) * (uint64_t) ((const sl_model *) two)->trainable_offset);
  sl_trainer_free (tn);
  sl_trainer_free (tt);
  sl_model_free (none);
  sl_model_free (two);
}

/* Resuming from a checkpoint continues bit for bit; the file holds moments
 * for the trainable parameters only; another frozen set is refused clearly. */
static void
test_checkpoint_resume (void)
{
  g_autofree char *json = chain_json (2, ", \"lr_scale\": 3");
  g_autofree char *other_json = chain_json (1, NULL);
  g_autofree char *dir = g_dir_make_tmp ("sl-freeze-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "run.slckpt", NULL);
  sl_model *a = build (json, 8), *b = build (json, 99), *other = build (other_json, 8);
  sl_trainer *ta = new_trainer (a, SL_OPTIMIZER_ADAMW, 0.01f, 0.01f);
  sl_trainer *tb = new_trainer (b, SL_OPTIMIZER_ADAMW, 0.01f, 0.01f);
  sl_trainer *to = new_trainer (other, SL_OPTIMIZER_ADAMW, 0.01f, 0.01f);
  sl_error err = { 0 };
  GStatBuf st;
  Batches data;

  batches_init (&data, 31);
  steps (ta, &data, 0, 3);
  sl_assert_ok (sl_trainer_save_checkpoint (ta, path, &err), &err);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (
      st.st_size, <,
      (goffset) (sizeof (float) * (3 * sl_model_param_count (a) + sl_model_state_count (a))));
  steps (ta, &data, 3, 4);
  sl_assert_ok (sl_trainer_load_checkpoint (tb, path, &err), &err);
  g_assert_cmpint (sl_trainer_step_count (tb), ==, 3);
  steps (tb, &data, 3, 4);
  g_assert_cmpmem (sl_model_params (a), sizeof (float) * sl_model_param_count (a),
                   sl_model_params (b), sizeof (float) * sl_model_param_count (b));
  g_assert_cmpmem (sl_model_state (a), sizeof (float) * sl_model_state_count (a),
                   sl_model_state (b), sizeof (float) * sl_model_state_count (b));

  g_assert_cmpint (sl_trainer_load_checkpoint (to, path, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "was saved with 6 frozen layers"));
  g_assert_nonnull (strstr (err.message, "this model has 3"));
  g_assert_cmpint (sl_trainer_step_count (to), ==, 0);

  g_unlink (path);
  g_rmdir (dir);
  sl_trainer_free (ta);
  sl_trainer_free (tb);
  sl_trainer_free (to);
  sl_model_free (a);
  sl_model_free (b);
  sl_model_free (other);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/freeze/description", test_description);
  g_test_add_func ("/freeze/bad-descriptions", test_bad_descriptions);
  g_test_add_func ("/freeze/frozen-unchanged", test_frozen_unchanged);
  g_test_add_func ("/freeze/gradients-match-unfrozen", test_gradients_match_unfrozen);
  g_test_add_func ("/freeze/features-vector", test_features_vector);
  g_test_add_func ("/freeze/features-block-input", test_features_block_input);
  g_test_add_func ("/freeze/shortcut-across-boundary", test_shortcut_across_boundary);
  g_test_add_func ("/freeze/prefix-buffers-shared", test_prefix_buffers_shared);
  g_test_add_func ("/freeze/lr-scale-halves-step", test_lr_scale_halves_step);
  g_test_add_func ("/freeze/memory-smaller", test_memory_smaller);
  g_test_add_func ("/freeze/checkpoint-resume", test_checkpoint_resume);
  return g_test_run ();
}
