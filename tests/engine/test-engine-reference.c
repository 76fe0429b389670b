/* test-engine-reference.c: forward values, losses and gradients against PyTorch fixtures
 * (tests/fixtures/ref-*.json, made by tests/fixtures/gen-reference.py). */
#include "sl-test-support.h"
#include "sl-model-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static float *
floats_of (const cJSON *doc, const char *key, gsize expect)
{
  gsize len;
  float *v = sl_test_fixture_floats (doc, key, &len);

  g_assert_cmpuint (len, ==, expect);
  return v;
}

static void
assert_close (const char *what, const float *got, const float *want, gsize n, double tol)
{
  double err = sl_test_rel_error (got, want, n, 1e-6);

  g_test_message ("%s: %zu values, relative error %.2e", what, n, err);
  if (!(err < tol))
    g_error ("%s differs from PyTorch: relative error %.3e (tolerance %.0e)", what, err, tol);
}

static void
test_reference (gconstpointer data)
{
  cJSON *doc = sl_test_fixture_load (data);
  const cJSON *smoothing = cJSON_GetObjectItem (doc, "label_smoothing");
  const cJSON *weights = cJSON_GetObjectItem (doc, "class_weights");
  g_autofree char *model_json = cJSON_PrintUnformatted (cJSON_GetObjectItem (doc, "model"));
  int batch = cJSON_GetObjectItem (doc, "batch")->valueint;
  sl_error err = { 0 };
  sl_model *m;
  sl_plan *plan;

  sl_assert_ok (sl_model_new (model_json, 1, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  const gsize in_len = (gsize) batch * m->channels * m->height * m->width;
  const gsize out_len = (gsize) batch * m->classes;
  g_autofree float *x = floats_of (doc, "x", in_len);
  g_autofree float *params = floats_of (doc, "params", m->n_params);
  g_autofree float *state = floats_of (doc, "state", m->n_state);
  g_autofree float *eval_logits = floats_of (doc, "eval_logits", out_len);
  g_autofree float *train_logits = floats_of (doc, "train_logits", out_len);
  g_autofree float *grad_params = floats_of (doc, "grad_params", m->n_params);
  g_autofree float *grad_x = floats_of (doc, "grad_x", in_len);
  g_autofree float *state_after = floats_of (doc, "state_after", m->n_state);
  g_autofree float *class_weights = NULL;
  g_autofree float *grads = g_new0 (float, m->n_params);
  g_autofree int32_t *labels = g_new (int32_t, batch);
  sl_loss_desc loss = { NULL, 0.0f };

  for (int i = 0; i < batch; i++)
    labels[i] = cJSON_GetArrayItem (cJSON_GetObjectItem (doc, "labels"), i)->valueint;
  if (cJSON_IsNumber (smoothing))
    loss.smoothing = (float) smoothing->valuedouble;
  if (cJSON_IsArray (weights))
    loss.weights = class_weights = floats_of (doc, "class_weights", m->classes);
  sl_assert_ok (sl_model_set_params (m, params, m->n_params, &err), &err);
  sl_assert_ok (sl_model_set_state (m, state, m->n_state, &err), &err);
  sl_assert_ok (_sl_plan_new (m, batch, TRUE, TRUE, &plan, &err), &err);

  /* Inference: batch-norm from the running statistics. */
  assert_close ("eval logits", _sl_graph_forward (m, plan, x, batch, FALSE, 0), eval_logits,
                out_len, 1e-5);

  /* Training forward: batch statistics, and the running ones move. */
  const float *logits = _sl_graph_forward (m, plan, x, batch, TRUE, 0);
  assert_close ("train logits", logits, train_logits, out_len, 1e-5);
  if (m->n_state > 0)
    assert_close ("running statistics", m->state, state_after, m->n_state, 1e-5);

  m->backend->ops->softmax_xent (m->backend, batch, m->classes, logits, labels, &loss,
                                 plan->logits_grad, plan->stats);
  double value = plan->stats[SL_STAT_LOSS];
  double want = cJSON_GetObjectItem (doc, "train_loss")->valuedouble;
  g_test_message ("loss %.7f, PyTorch %.7f", value, want);
  g_assert_cmpfloat (fabs (value - want), <, 1e-5 * MAX (1.0, fabs (want)));

  _sl_graph_backward (m, plan, x, batch, grads);
  assert_close ("parameter gradients", grads, grad_params, m->n_params, 1e-4);
  assert_close ("input gradients", plan->input_grad, grad_x, in_len, 1e-4);

  _sl_plan_free (m, plan);
  sl_model_free (m);
  cJSON_Delete (doc);
}

/* g_ptr_array_sort passes pointers to the elements. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = NULL;
  GDir *d;
  const char *name;

  g_test_init (&argc, &argv, NULL);
  dir = g_test_build_filename (G_TEST_DIST, "fixtures", NULL);
  d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "ref-") && g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  g_ptr_array_sort (names, compare_names);
  g_assert_cmpuint (names->len, >=, 15);
  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *path
          = g_strdup_printf ("/engine/reference/%.*s", (int) strlen (file) - 9, file + 4);
      g_test_add_data_func (path, file, test_reference);
    }
  return g_test_run ();
}
