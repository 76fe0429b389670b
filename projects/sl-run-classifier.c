/* sl-run-classifier.c: a run's checkpoint, pipeline and class names loaded as a runtime classifier. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-run-private.h"

/* Builds a run's model with the weights of one of its checkpoints, and its
 * pipeline, computing on device ("cpu", "cuda", "cuda:N"; NULL: the CPU). */
gboolean
_sl_run_load_model (SlProject *db, const SlRunInfo *run, SlCheckpointKind checkpoint,
                    const char *device, sl_model **model, sl_pipeline **pipeline, GError **error)
{
  g_autofree char *model_json = sl_run_info_dup_model_json (run);
  g_autofree char *pipeline_json = sl_run_info_dup_pipeline_json (run);
  g_autofree char *path = sl_project_run_file (
      db, run, checkpoint == SL_CHECKPOINT_LAST ? "last.slckpt" : "best.slckpt");
  sl_error err = { 0 };

  *model = NULL;
  *pipeline = NULL;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "%s has no %s checkpoint yet; train it for at least one epoch", run->name,
                   checkpoint == SL_CHECKPOINT_LAST ? "last" : "best");
      return FALSE;
    }
  if (model_json == NULL || pipeline_json == NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s's stored recipe lacks its model or pipeline", run->name);
      return FALSE;
    }
  if (sl_pipeline_from_json (pipeline_json, pipeline, &err) != SL_OK
      || sl_model_load_checkpoint (path, model, &err) != SL_OK
      || (device != NULL && sl_model_set_device (*model, NULL, device, &err) != SL_OK))
    {
      _sl_project_set_runtime_error (error, &err, "Could not load the trained model");
      g_clear_pointer (model, sl_model_free);
      g_clear_pointer (pipeline, sl_pipeline_free);
      return FALSE;
    }
  return TRUE;
}

sl_classifier *
_sl_run_open_classifier (SlProject *db, const SlRunInfo *run, SlCheckpointKind checkpoint,
                         int threads, const char *device, GError **error)
{
  sl_classifier_options options;
  sl_classifier *classifier = NULL;
  sl_model *model;
  sl_pipeline *pipeline;
  sl_error err = { 0 };

  /* An anomaly run has one file, its fit, whatever checkpoint is asked for. */
  if (sl_run_info_is_anomaly (run))
    return _sl_run_open_anomaly_classifier (db, run, threads, device, error);
  if (!_sl_run_load_model (db, run, checkpoint, device, &model, &pipeline, error))
    return NULL;
  /* The project's own model, as training built it: the cost limits are for
   * files from elsewhere (training runs it unlimited too). */
  sl_classifier_options_init (&options);
  options.threads = MAX (threads, 0);
  options.max_memory = SL_CLASSIFIER_NO_LIMIT;
  options.max_mflops = SL_CLASSIFIER_NO_LIMIT;
  /* The classifier takes model and pipeline, on failure too. */
  if (sl_classifier_new (model, pipeline, (const char *const *) run->class_names->pdata,
                         (int32_t) run->class_names->len, &options, &classifier, &err)
      != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not load the trained model");
      return NULL;
    }
  return classifier;
}

sl_classifier *
sl_project_open_classifier (SlProject *project, gint64 run_id, SlCheckpointKind checkpoint,
                            int threads, const char *device, GError **error)
{
  g_autoptr (SlRunInfo) run = NULL;
  char id[32];

  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((run = sl_project_get_run (project, id, error)) == NULL)
    return NULL;
  return _sl_run_open_classifier (project, run, checkpoint, threads, device, error);
}
