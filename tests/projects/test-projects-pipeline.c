/* test-projects-pipeline.c: measuring a pipeline's input statistics off the main thread, and the
 * project's augmentation setting as the default of new runs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-train-job.h"
#include "sl-vision.h"

static sl_pipeline *
parse_pipeline (const char *json)
{
  sl_pipeline *p = NULL;
  sl_error err = { 0 };

  g_assert_cmpint (sl_pipeline_from_json (json, &p, &err), ==, SL_OK);
  return p;
}

static void
test_measure (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (60, 3, &tmp);
  g_autofree char *plain = NULL, *measured = NULL, *inverted_json = NULL, *remeasured = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  sl_pipeline *p, *inverted;
  sl_input_spec a, b;
  char *json;

  if (project == NULL)
    return;
  /* With no pipeline, the same default the project would choose. */
  plain = sl_project_default_pipeline_json (project, &error);
  g_assert_no_error (error);
  measured = sl_project_measure_pipeline_json (sl_project_get_path (project), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (plain, ==, measured);

  /* Inverting every image mirrors the mean and keeps the spread. */
  p = parse_pipeline (plain);
  g_assert_cmpint (sl_pipeline_insert_step (p, -1, "invert", NULL), ==, SL_OK);
  json = sl_pipeline_to_json (p);
  inverted_json = g_strdup (json);
  sl_free (json);
  remeasured = sl_project_measure_pipeline_json (sl_project_get_path (project), inverted_json, NULL,
                                                 &error);
  g_assert_no_error (error);
  inverted = parse_pipeline (remeasured);
  g_assert_cmpint (sl_pipeline_step_count (inverted), ==, 1);
  sl_pipeline_get_input (p, &a);
  sl_pipeline_get_input (inverted, &b);
  g_assert_cmpfloat_with_epsilon (b.mean[0], 1.0f - a.mean[0], 1e-3);
  g_assert_cmpfloat_with_epsilon (b.std[0], a.std[0], 1e-3);
  sl_pipeline_free (p);
  sl_pipeline_free (inverted);

  g_cancellable_cancel (cancellable);
  g_assert_null (sl_project_measure_pipeline_json (sl_project_get_path (project), inverted_json,
                                                   cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_null (
      sl_project_measure_pipeline_json (sl_project_get_path (project), "{", NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_measure_no_data (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = sl_project_create (tmp, NULL, &error);

  g_assert_no_error (error);
  g_assert_null (sl_project_measure_pipeline_json (tmp, NULL, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* The augmentation recorded in a new run's recipe. */
static cJSON *
new_run_augment (SlProject *project, const char *augment_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *ref = NULL;
  SlRunConfig config;
  cJSON *recipe, *augment;

  sl_run_config_init (&config);
  config.epochs = 1;
  config.threads = 1;
  config.augment_json = g_strdup (augment_json);
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  ref = g_strdup_printf ("%lld", (long long) sl_train_job_get_run_id (job));
  run = sl_project_get_run (project, ref, &error);
  g_assert_no_error (error);
  recipe = cJSON_Parse (run->config_json);
  g_assert_nonnull (recipe);
  augment = cJSON_DetachItemFromObject (recipe, "augment");
  cJSON_Delete (recipe);
  return augment;
}

static void
test_augment_default (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (60, 3, &tmp);
  cJSON *augment;

  if (project == NULL)
    return;
  /* Without a setting, a run does not augment. */
  augment = new_run_augment (project, NULL);
  g_assert_true (augment == NULL || cJSON_IsNull (augment));
  cJSON_Delete (augment);

  /* The project's setting is what a run uses by default... */
  g_assert_true (sl_project_set_augment_json (
      project, "{\"flip-horizontal\": true, \"rotate-degrees\": 12.5}", &error));
  augment = new_run_augment (project, NULL);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (augment, "flip-horizontal")));
  g_assert_cmpfloat (cJSON_GetObjectItem (augment, "rotate-degrees")->valuedouble, ==, 12.5);
  cJSON_Delete (augment);

  /* ...and a run's own settings win over it. */
  augment = new_run_augment (project, "{\"flip-vertical\": true}");
  g_assert_true (cJSON_IsFalse (cJSON_GetObjectItem (augment, "flip-horizontal")));
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (augment, "flip-vertical")));
  g_assert_cmpfloat (cJSON_GetObjectItem (augment, "rotate-degrees")->valuedouble, ==, 0);
  cJSON_Delete (augment);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/pipeline/measure", test_measure);
  g_test_add_func ("/projects/pipeline/measure-no-data", test_measure_no_data);
  g_test_add_func ("/projects/pipeline/augment-default", test_augment_default);
  return g_test_run ();
}
