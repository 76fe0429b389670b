/* sl-predictor.c: loading a run's trained model and predicting image files with it. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-run-private.h"

#include <string.h>

struct _SlPredictor
{
  SlRunInfo *run;
  sl_model *model;
  sl_pipeline *pipeline;
  float *x, *probs;
  int classes;
};

gboolean
sl_run_load_model (SlProject *db, const SlRunInfo *run, SlCheckpointKind checkpoint, int threads,
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
      || sl_model_set_threads (*model, threads, &err) != SL_OK
      || (device != NULL && sl_model_set_device (*model, NULL, device, &err) != SL_OK))
    {
      sl_project_set_runtime_error (error, &err, "Could not load the trained model");
      g_clear_pointer (model, sl_model_free);
      g_clear_pointer (pipeline, sl_pipeline_free);
      return FALSE;
    }
  return TRUE;
}

gboolean
sl_run_prepare_image (const sl_pipeline *pipeline, const char *path, float *chw, GError **error)
{
  sl_image in = { 0 }, out = { 0 };
  sl_error err = { 0 };
  gboolean ok = sl_image_load (path, 0, &in, &err) == SL_OK
                && sl_pipeline_apply (pipeline, &in, &out, &err) == SL_OK
                && sl_pipeline_normalize (pipeline, &out, chw, &err) == SL_OK;

  if (!ok)
    sl_project_set_runtime_error (error, &err, "Could not prepare the image");
  sl_image_clear (&in);
  sl_image_clear (&out);
  return ok;
}

SlPredictor *
sl_predictor_new (SlProject *project, gint64 run_id, SlCheckpointKind checkpoint, int threads,
                  GError **error)
{
  return sl_predictor_new_on (project, run_id, checkpoint, threads, NULL, error);
}

SlPredictor *
sl_predictor_new_on (SlProject *project, gint64 run_id, SlCheckpointKind checkpoint, int threads,
                     const char *device, GError **error)
{
  g_autoptr (SlPredictor) p = g_new0 (SlPredictor, 1);
  char id[32];
  int c, h, w;

  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((p->run = sl_project_get_run (project, id, error)) == NULL
      || !sl_run_load_model (project, p->run, checkpoint, threads, device, &p->model, &p->pipeline,
                             error))
    return NULL;
  sl_model_input_shape (p->model, &c, &h, &w);
  p->classes = sl_model_class_count (p->model);
  p->x = g_new (float, (gsize) c *h *w);
  p->probs = g_new (float, p->classes);
  return g_steal_pointer (&p);
}

void
sl_predictor_free (SlPredictor *p)
{
  if (p == NULL)
    return;
  sl_run_info_free (p->run);
  sl_model_free (p->model);
  sl_pipeline_free (p->pipeline);
  g_free (p->x);
  g_free (p->probs);
  g_free (p);
}

int
sl_predictor_get_class_count (SlPredictor *p)
{
  return p->classes;
}

gboolean
sl_predictor_predict_file (SlPredictor *p, const char *path, int k, SlClassScore *scores,
                           GError **error)
{
  g_autofree gboolean *taken = g_new0 (gboolean, p->classes);
  sl_error err = { 0 };

  k = CLAMP (k, 1, p->classes);
  if (!sl_run_prepare_image (p->pipeline, path, p->x, error))
    return FALSE;
  if (sl_model_predict (p->model, p->x, 1, p->probs, &err) != SL_OK)
    {
      sl_project_set_runtime_error (error, &err, "Prediction failed");
      return FALSE;
    }
  for (int r = 0; r < k; r++)
    {
      int best = -1;
      for (int c = 0; c < p->classes; c++)
        if (!taken[c] && (best < 0 || p->probs[c] > p->probs[best]))
          best = c;
      taken[best] = TRUE;
      scores[r].class_index = best;
      scores[r].class_name = g_ptr_array_index (p->run->class_names, best);
      scores[r].probability = p->probs[best];
    }
  return TRUE;
}
