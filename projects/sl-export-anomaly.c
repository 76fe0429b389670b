/* sl-export-anomaly.c: what an export writes of anomaly scoring: an anomaly run's scorer, a classifier's gate. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-run-private.h"
#include "sl-train-data.h"

#include <math.h>

/* The relative margin over the training images' highest score that a gate without validation
 * images takes (far below any real difference in score). */
#define GATE_MAX_MARGIN 1e-4

void
_sl_export_anomaly_clear (SlExportAnomaly *a)
{
  g_free (a->statement);
  memset (a, 0, sizeof *a);
}

/* An anomaly run's model as the project uses it: its threshold, or the one set by hand for it. */
static sl_classifier *
open_anomaly_run (SlProject *db, const SlRunInfo *run, SlExportAnomaly *a, GError **error)
{
  SlAnomalyThreshold t = { 0 };
  sl_classifier *c;
  double manual;

  if ((c = _sl_run_open_anomaly_classifier (db, run, 1, NULL, error)) == NULL)
    return NULL;
  a->anomaly = TRUE;
  a->threshold = sl_classifier_get_anomaly_threshold (c);
  a->manual = sl_project_get_run_anomaly_threshold (db, run->id, &manual);
  if (a->manual)
    a->statement = g_strdup_printf ("A threshold set by hand for %s: %g", run->name, manual);
  else if (sl_run_get_anomaly_threshold (db, run, &t, NULL))
    a->statement = g_strdup (t.statement);
  sl_anomaly_threshold_clear (&t);
  return c;
}

/* ---- A classifier's anomaly gate ------------------------------------------------------ */

typedef struct
{
  sl_anomaly_fitter *fitter;
  const sl_anomaly *gate;
  sl_model *model;
  GArray *scores; /* double */
} GateBatch;

static gboolean
gate_add (const float *x, const int32_t *labels, const guint *items, int n, gint64 done,
          gpointer user_data, GError **error)
{
  GateBatch *b = user_data;
  sl_error err = { 0 };

  if (sl_anomaly_fitter_add (b->fitter, x, n, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not fit the anomaly gate");
      return FALSE;
    }
  return TRUE;
}

static gboolean
gate_score (const float *x, const int32_t *labels, const guint *items, int n, gint64 done,
            gpointer user_data, GError **error)
{
  GateBatch *b = user_data;
  float scores[SL_ANOMALY_BATCH];
  sl_error err = { 0 };

  if (sl_anomaly_score (b->gate, b->model, x, n, scores, NULL, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not score images with the anomaly gate");
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      double v = scores[i];
      g_array_append_val (b->scores, v);
    }
  return TRUE;
}

/* Fits the gate with the classifier's own model on the run's training images, and sets its
 * threshold from the validation images (none: above the training images' highest score). */
static sl_anomaly *
fit_gate (SlProject *db, const SlRunInfo *run, sl_model *model, const sl_pipeline *pipeline,
          SlExportAnomaly *a, GError **error)
{
  SlTrainData d = { 0 };
  sl_anomaly_config ac;
  GateBatch b = { 0 };
  sl_anomaly *gate = NULL;
  SlAnomalyThreshold t = { 0 };
  sl_error err = { 0 };
  double max = -INFINITY;

  d.class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_vals (d.class_ids, run->class_ids, run->class_names->len);
  d.class_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < run->class_names->len; i++)
    g_ptr_array_add (d.class_names, g_strdup (g_ptr_array_index (run->class_names, i)));
  b.model = model;
  b.scores = g_array_new (FALSE, FALSE, sizeof (double));
  if (!sl_train_data_collect (db, &d, error))
    goto out;
  sl_anomaly_config_init (&ac);
  ac.expected_images = d.train_paths->len;
  if (sl_anomaly_fitter_new (model, &ac, &b.fitter, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "This model cannot carry an anomaly gate");
      goto out;
    }
  if (!_sl_anomaly_for_batches (pipeline, d.train_paths, NULL, 0, 1, gate_add, &b, error))
    goto out;
  if (sl_anomaly_fitter_finish (b.fitter, NULL, NULL, &gate, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not fit the anomaly gate");
      goto out;
    }
  b.gate = gate;
  a->gated = TRUE;
  a->train_images = d.train_paths->len;
  if (d.val_paths->len > 0)
    {
      if (!_sl_anomaly_for_batches (pipeline, d.val_paths, NULL, 0, 1, gate_score, &b, error))
        goto fail;
      sl_anomaly_threshold_from_good ((const double *) b.scores->data, b.scores->len,
                                      sl_project_get_target_false_reject (db), &t);
      a->threshold = t.threshold;
      a->scored_images = b.scores->len;
      a->statement = g_strdup_printf ("Anomaly gate fitted on %u training images. %s",
                                      d.train_paths->len, t.statement);
    }
  else
    {
      if (!_sl_anomaly_for_batches (pipeline, d.train_paths, NULL, 0, 1, gate_score, &b, error))
        goto fail;
      for (guint i = 0; i < b.scores->len; i++)
        max = MAX (max, g_array_index (b.scores, double, i));
      /* A hair above it: the same image scored alone on the line rounds a little differently
       * from its batch here, and must not be the one part it was trained on that is rejected. */
      a->threshold = max + fabs (max) * GATE_MAX_MARGIN;
      a->scored_images = b.scores->len;
      a->statement = g_strdup_printf (
          "Anomaly gate fitted on %u training images. The run has no validation images, so "
          "its threshold is the highest score of its training images (%g): an image scoring "
          "above anything it was trained on is reported unknown; how often a new good part "
          "does is not known",
          d.train_paths->len, max);
    }
  if (!isfinite (a->threshold)
      || sl_anomaly_set_threshold (gate, (float) a->threshold, &err) != SL_OK)
    {
      if (err.code == SL_OK)
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                     "No image could be scored to set the anomaly gate's threshold");
      else
        _sl_project_set_runtime_error (error, &err, "Could not set the gate's threshold");
      goto fail;
    }
  goto out;

fail:
  g_clear_pointer (&gate, sl_anomaly_free);
out:
  sl_anomaly_threshold_clear (&t);
  sl_anomaly_fitter_free (b.fitter);
  g_array_unref (b.scores);
  sl_train_data_clear (&d);
  return gate;
}

/* The run's classifier with a gate fitted for it. */
static sl_classifier *
open_gated (SlProject *db, const SlRunInfo *run, SlCheckpointKind checkpoint, SlExportAnomaly *a,
            GError **error)
{
  sl_classifier_options options;
  sl_classifier *c = NULL;
  sl_model *model;
  sl_pipeline *pipeline;
  sl_anomaly *gate;
  sl_error err = { 0 };

  if (!_sl_run_load_model (db, run, checkpoint, NULL, &model, &pipeline, error))
    return NULL;
  if ((gate = fit_gate (db, run, model, pipeline, a, error)) == NULL)
    {
      sl_model_free (model);
      sl_pipeline_free (pipeline);
      return NULL;
    }
  sl_classifier_options_init (&options);
  options.threads = 1;
  options.max_memory = SL_CLASSIFIER_NO_LIMIT;
  options.max_mflops = SL_CLASSIFIER_NO_LIMIT;
  /* Both take what they are given, on failure too. */
  if (sl_classifier_new (model, pipeline, (const char *const *) run->class_names->pdata,
                         (int32_t) run->class_names->len, &options, &c, &err)
          != SL_OK
      || sl_classifier_set_anomaly_gate (c, g_steal_pointer (&gate), &err) != SL_OK)
    {
      sl_anomaly_free (gate);
      sl_classifier_free (c);
      _sl_project_set_runtime_error (error, &err, "Could not attach the anomaly gate");
      return NULL;
    }
  return c;
}

sl_classifier *
_sl_export_open_classifier (SlProject *db, const SlRunInfo *run, SlCheckpointKind checkpoint,
                            gboolean gate, SlExportAnomaly *a, GError **error)
{
  memset (a, 0, sizeof *a);
  a->threshold = NAN;
  if (sl_run_info_is_anomaly (run))
    return open_anomaly_run (db, run, a, error);
  if (gate)
    return open_gated (db, run, checkpoint, a, error);
  return _sl_run_open_classifier (db, run, checkpoint, 1, NULL, error);
}

void
_sl_export_anomaly_provenance (cJSON *doc, const SlExportAnomaly *a)
{
  cJSON *obj;

  if (!a->anomaly && !a->gated)
    return;
  obj = cJSON_AddObjectToObject (doc, a->anomaly ? "anomaly" : "anomaly_gate");
  if (isfinite (a->threshold))
    cJSON_AddNumberToObject (obj, "threshold", a->threshold);
  else
    cJSON_AddNullToObject (obj, "threshold");
  if (a->anomaly)
    cJSON_AddBoolToObject (obj, "threshold_manual", a->manual);
  else
    {
      cJSON_AddNumberToObject (obj, "train_images", (double) a->train_images);
      cJSON_AddNumberToObject (obj, "threshold_images", (double) a->scored_images);
    }
  if (a->statement != NULL)
    cJSON_AddStringToObject (obj, "statement", a->statement);
}
