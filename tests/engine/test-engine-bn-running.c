/* test-engine-bn-running.c: batch-norm on running statistics ("statistics": "running") in training. */
#include "sl-test-support.h"
#include "engine/sl-trainer-private.h"

#include <math.h>
#include <string.h>

#define BATCH 6
#define SIDE  10
#define CH    6

static char *
model_json (const char *first_norm)
{
  return g_strdup_printf (
      "{\"name\": \"bn-running\", \"input\": {\"channels\": 3, \"height\": %d, \"width\": %d}, "
      "\"classes\": 4, \"layers\": ["
      "{\"type\": \"conv2d\", \"filters\": %d, \"kernel\": 3, \"padding\": 1},"
      "%s,"
      "{\"type\": \"relu\"},"
      "{\"type\": \"conv2d\", \"filters\": 8, \"kernel\": 3, \"stride\": 2},"
      "{\"type\": \"batchnorm\"},"
      "{\"type\": \"relu\"},"
      "{\"type\": \"global_avgpool\"},"
      "{\"type\": \"dense\", \"units\": 4}]}",
      SIDE, SIDE, CH, first_norm);
}

#define RUNNING_BN "{\"type\": \"batchnorm\", \"epsilon\": 0.001, \"statistics\": \"running\"}"
/* The same layer as the per-channel affine map it is with fixed statistics. */
#define FOLDED_BN "{\"type\": \"conv2d\", \"filters\": 6, \"kernel\": 1, \"groups\": 6}"

static sl_model *
build (const char *json, guint64 seed)
{
  sl_error err = { 0 };
  sl_model *m;

  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  return m;
}

/* Running statistics away from 0 and 1 (variances positive), parameters away from their
 * identity start, so that both show. */
static void
randomise (sl_model *m, guint64 seed)
{
  gsize ns = sl_model_state_count (m), np = sl_model_param_count (m);
  g_autofree float *s = g_new (float, ns), *p = g_new (float, np);
  sl_error err = { 0 };

  sl_test_fill_normal (s, ns, seed, 0.5f);
  for (gsize i = 0; i < ns; i++)
    s[i] = fabsf (s[i]) + 0.3f;
  sl_assert_ok (sl_model_set_state (m, s, ns, &err), &err);
  memcpy (p, sl_model_params (m), sizeof (float) * np);
  for (gsize i = 0; i < np; i++)
    p[i] += 0.2f * sinf ((float) i);
  sl_assert_ok (sl_model_set_params (m, p, np, &err), &err);
}

static sl_trainer *
new_trainer (sl_model *m, sl_optimizer_kind kind, float lr)
{
  sl_train_config cfg;
  sl_error err = { 0 };
  sl_trainer *t;

  sl_train_config_init (&cfg);
  cfg.optimizer = kind;
  cfg.learning_rate = lr;
  cfg.momentum = 0.9f;
  sl_assert_ok (sl_trainer_new (m, &cfg, BATCH, &t, &err), &err);
  return t;
}

static void
step (sl_trainer *t, const float *x, const int32_t *labels)
{
  sl_error err = { 0 };

  sl_assert_ok (sl_trainer_step (t, x, labels, BATCH, NULL, NULL, &err), &err);
}

/* "running" reads back and is written back; "batch" is the default and not written; anything
 * else, and the field on another kind, is refused with the choices. */
static void
test_description (void)
{
  g_autofree char *running = model_json (RUNNING_BN);
  g_autofree char *batch = model_json ("{\"type\": \"batchnorm\", \"statistics\": \"batch\"}");
  const char *bad[] = { "\"moving\"", "\"Running\"", "1", "true", "null" };
  sl_model *m = build (running, 1), *again;
  g_autofree char *back = sl_model_to_json (m), *back2 = NULL, *back_batch = NULL;

  g_assert_nonnull (strstr (back, "\"statistics\":\"running\""));
  again = build (back, 1);
  back2 = sl_model_to_json (again);
  g_assert_cmpstr (back, ==, back2);
  sl_model_free (again);
  sl_model_free (m);

  m = build (batch, 1);
  back_batch = sl_model_to_json (m);
  g_assert_null (strstr (back_batch, "statistics"));
  sl_model_free (m);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *layer
          = g_strdup_printf ("{\"type\": \"batchnorm\", \"statistics\": %s}", bad[i]);
      g_autofree char *json = model_json (layer);

      sl_test_expect_invalid_model (json, "layers[1] (batchnorm): 'statistics' must be \"batch\"");
    }
  {
    g_autofree char *json = model_json ("{\"type\": \"relu\", \"statistics\": \"running\"}");
    sl_test_expect_invalid_model (json, "statistics");
  }
}

/* Training steps change gamma and beta but leave the running statistics bit for bit; the
 * batch-mode batch-norm after it updates its own. */
static void
test_statistics_unchanged (void)
{
  g_autofree char *json = model_json (RUNNING_BN);
  sl_model *m = build (json, 3);
  const sl_model *pm = m;
  const sl_node *bn = &pm->nodes[1], *bn2 = &pm->nodes[4];
  float x[BATCH * 3 * SIDE * SIDE];
  int32_t labels[BATCH];
  g_autofree float *state0 = NULL, *params0 = NULL;
  sl_trainer *t;

  randomise (m, 5);
  state0 = g_memdup2 (sl_model_state (m), sizeof (float) * sl_model_state_count (m));
  params0 = g_memdup2 (sl_model_params (m), sizeof (float) * sl_model_param_count (m));
  sl_test_fill_normal (x, G_N_ELEMENTS (x), 9, 1.0f);
  for (int i = 0; i < BATCH; i++)
    labels[i] = i % 4;
  t = new_trainer (m, SL_OPTIMIZER_ADAM, 1e-2f);
  for (int k = 0; k < 5; k++)
    step (t, x, labels);
  g_assert_cmpint (memcmp (sl_model_state (m) + bn->state_offset, state0 + bn->state_offset,
                           sizeof (float) * bn->state_count),
                   ==, 0);
  g_assert_cmpfloat (sl_test_rel_error (sl_model_state (m) + bn2->state_offset,
                                        state0 + bn2->state_offset, bn2->state_count, 1e-6),
                     >, 1e-4);
  /* gamma and beta learned. */
  g_assert_cmpfloat (sl_test_rel_error (sl_model_params (m) + bn->param_offset,
                                        params0 + bn->param_offset, bn->param_count, 1e-6),
                     >, 1e-4);
  sl_trainer_free (t);
  sl_model_free (m);
}

/* In a training pass the layer computes exactly what inference does as
 * written (the unfused reference plan; an ordinary inference plan folds it
 * into the convolution, to rounding). */
static void
test_training_forward_is_inference (void)
{
  const char *json
      = "{\"input\": {\"channels\": 3, \"height\": 7, \"width\": 7}, \"classes\": 4, \"layers\": ["
        "{\"type\": \"conv2d\", \"filters\": 6, \"kernel\": 3}," RUNNING_BN ","
        "{\"type\": \"global_avgpool\"},{\"type\": \"dense\", \"units\": 4}]}";
  sl_model *m = build (json, 2);
  float x[BATCH * 3 * 49];
  float logits_train[BATCH * 4], logits_infer[BATCH * 4];
  sl_plan *train, *infer;
  sl_error err = { 0 };

  randomise (m, 7);
  sl_test_fill_normal (x, G_N_ELEMENTS (x), 4, 1.0f);
  sl_assert_ok (_sl_plan_new (m, BATCH, TRUE, FALSE, &train, &err), &err);
  sl_assert_ok (_sl_plan_new_unshared (m, BATCH, &infer, &err), &err);
  /* The running layer asks the plan for no saved statistics. */
  g_assert_null (train->saved[1]);
  memcpy (logits_train, _sl_graph_forward (m, train, x, BATCH, TRUE, 1), sizeof logits_train);
  memcpy (logits_infer, _sl_graph_forward (m, infer, x, BATCH, FALSE, 1), sizeof logits_infer);
  g_assert_cmpint (memcmp (logits_train, logits_infer, sizeof logits_train), ==, 0);
  _sl_plan_free (m, infer);
  sl_assert_ok (_sl_plan_new (m, BATCH, FALSE, FALSE, &infer, &err), &err);
  g_assert_cmpint (infer->fused_layers, ==, 1);
  g_assert_cmpfloat (sl_test_rel_error (_sl_graph_forward (m, infer, x, BATCH, FALSE, 1),
                                        logits_train, G_N_ELEMENTS (logits_train), 1e-6),
                     <, 1e-5);
  _sl_plan_free (m, train);
  _sl_plan_free (m, infer);
  sl_model_free (m);
}

/* The gradients equal those of the same network with the layer written as a 1x1 depthwise
 * convolution of the folded scale w = gamma / sqrt (var + eps) and shift b = beta - mean w:
 * the input gradients agree directly (the layers before match), and dbeta = db,
 * dgamma = (dw - mean db) / sqrt (var + eps). */
static void
test_gradients_match_folded (void)
{
  g_autofree char *a_json = model_json (RUNNING_BN), *b_json = model_json (FOLDED_BN);
  sl_model *a = build (a_json, 7), *b = build (b_json, 7);
  const sl_model *pa = a;
  const sl_node *bn = &pa->nodes[1];
  gsize np = sl_model_param_count (a);
  g_autofree float *pb = NULL, *expected = NULL;
  const float *p, *s, *gamma, *beta, *mean, *var;
  float x[BATCH * 3 * SIDE * SIDE], invstd[CH];
  int32_t labels[BATCH];
  sl_trainer *ta, *tb;
  sl_error err = { 0 };

  g_assert_cmpuint (np, ==, sl_model_param_count (b));
  randomise (a, 11);
  p = sl_model_params (a);
  s = sl_model_state (a);
  gamma = p + bn->param_offset;
  beta = gamma + CH;
  mean = s + bn->state_offset;
  var = mean + CH;
  pb = g_memdup2 (p, sizeof (float) * np);
  for (int c = 0; c < CH; c++)
    {
      invstd[c] = 1.0f / sqrtf (var[c] + bn->epsilon);
      pb[bn->param_offset + c] = gamma[c] * invstd[c];
      pb[bn->param_offset + CH + c] = beta[c] - mean[c] * gamma[c] * invstd[c];
    }
  sl_assert_ok (sl_model_set_params (b, pb, np, &err), &err);
  /* b's only state is the second batch-norm's: a's last ones. */
  sl_assert_ok (sl_model_set_state (b, s + bn->state_count, sl_model_state_count (b), &err), &err);

  sl_test_fill_normal (x, G_N_ELEMENTS (x), 13, 1.0f);
  for (int i = 0; i < BATCH; i++)
    labels[i] = (i * 3 + 1) % 4;
  ta = new_trainer (a, SL_OPTIMIZER_SGD, 0.01f);
  tb = new_trainer (b, SL_OPTIMIZER_SGD, 0.01f);
  step (ta, x, labels);
  step (tb, x, labels);
  g_assert_cmpuint (ta->n_trainable, ==, np);
  g_assert_cmpuint (tb->n_trainable, ==, np);

  expected = g_memdup2 (tb->grads, sizeof (float) * np);
  for (int c = 0; c < CH; c++)
    {
      const float dw = tb->grads[bn->param_offset + c], db = tb->grads[bn->param_offset + CH + c];

      expected[bn->param_offset + c] = (dw - mean[c] * db) * invstd[c];
    }
  g_test_message (
      "gradient difference running vs folded: %.3g (gamma, beta: %.3g)",
      sl_test_rel_error (ta->grads, expected, np, 1e-6),
      sl_test_rel_error (ta->grads + bn->param_offset, expected + bn->param_offset, 2 * CH, 1e-6));
  g_assert_cmpfloat (sl_test_rel_error (ta->grads, expected, np, 1e-6), <, 1e-5);
  g_assert_cmpfloat (
      sl_test_rel_error (ta->grads + bn->param_offset, expected + bn->param_offset, 2 * CH, 1e-6),
      <, 1e-4);
  /* The first convolution's gradient goes through the layer's dx. */
  g_assert_cmpfloat (sl_test_rel_error (ta->grads, tb->grads, bn->param_offset, 1e-6), <, 1e-5);
  {
    float largest = 0.0f;
    for (gsize i = 0; i < bn->param_offset; i++)
      largest = MAX (largest, fabsf (ta->grads[i]));
    g_assert_cmpfloat (largest, >, 1e-4);
  }
  sl_trainer_free (ta);
  sl_trainer_free (tb);
  sl_model_free (a);
  sl_model_free (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bn-running/description", test_description);
  g_test_add_func ("/bn-running/statistics-unchanged", test_statistics_unchanged);
  g_test_add_func ("/bn-running/training-forward-is-inference", test_training_forward_is_inference);
  g_test_add_func ("/bn-running/gradients-match-folded", test_gradients_match_folded);
  return g_test_run ();
}
