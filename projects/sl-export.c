/* sl-export.c: a run's model written for the line: .slmodel and/or ONNX, with provenance and a timing. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-export.h"
#include "sl-project-private.h"
#include "sl-run-private.h"
#include "sl-classifier.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <glib/gstdio.h>
#include <string.h>

#define LATENCY_RUNS 30

void
sl_export_options_init (SlExportOptions *o)
{
  memset (o, 0, sizeof *o);
  o->formats = SL_EXPORT_SLMODEL;
  o->checkpoint = SL_CHECKPOINT_BEST;
}

void
sl_export_result_clear (SlExportResult *r)
{
  g_free (r->slmodel_path);
  g_free (r->onnx_path);
  g_free (r->sidecar_path);
  memset (r, 0, sizeof *r);
}

static void
add_parsed (cJSON *obj, const char *key, const char *json)
{
  cJSON *v = json != NULL ? cJSON_Parse (json) : NULL;

  if (v != NULL)
    cJSON_AddItemToObject (obj, key, v);
}

static void
add_metric (cJSON *obj, const char *key, double v)
{
  if (isfinite (v))
    cJSON_AddNumberToObject (obj, key, v);
}

/* Where the model came from: enough to trace any line result back to data and recipe. */
static char *
provenance_json (SlProject *self, const SlRunInfo *run, SlCheckpointKind checkpoint)
{
  g_autofree char *name = sl_project_dup_name (self);
  cJSON *doc = cJSON_CreateObject (), *metrics;
  gint64 eval_id = sl_project_find_evaluation (self, run->id, SL_SPLIT_TEST, NULL);
  char *text;

  cJSON_AddStringToObject (doc, "project", name != NULL ? name : "");
  cJSON_AddStringToObject (doc, "run", run->name);
  cJSON_AddStringToObject (doc, "trained", run->finished != NULL ? run->finished : run->created);
  cJSON_AddStringToObject (doc, "checkpoint", checkpoint == SL_CHECKPOINT_LAST ? "last" : "best");
  if (run->dataset_hash != NULL)
    cJSON_AddStringToObject (doc, "dataset_sha256", run->dataset_hash);
  cJSON_AddNumberToObject (doc, "train_images", (double) run->train_images);
  cJSON_AddNumberToObject (doc, "val_images", (double) run->val_images);
  cJSON_AddNumberToObject (doc, "epochs", run->epochs_done);
  metrics = cJSON_AddObjectToObject (doc, "metrics");
  if (run->best_epoch >= 0)
    {
      cJSON_AddNumberToObject (metrics, "best_epoch", run->best_epoch + 1);
      add_metric (metrics, "val_loss", run->best_val_loss);
      add_metric (metrics, "val_accuracy", run->best_val_accuracy);
    }
  if (eval_id >= 0)
    {
      g_autoptr (SlEvaluation) e = sl_project_get_evaluation (self, eval_id, 0, NULL);
      if (e != NULL && e->checkpoint == checkpoint)
        {
          add_metric (metrics, "test_accuracy", e->accuracy);
          add_metric (metrics, "test_macro_f1", e->macro_f1);
          cJSON_AddNumberToObject (metrics, "test_images", (double) e->images);
        }
    }
  add_parsed (doc, "recipe", run->config_json);
  add_parsed (doc, "trained_with", run->versions_json);
  text = cJSON_PrintUnformatted (doc);
  cJSON_Delete (doc);
  return text;
}

static gint64
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

/* The median time to classify one mid-gray image of the model's input size,
 * preprocessing included, after a warm-up. */
static double
measure_latency (sl_classifier *c)
{
  int32_t w, h, ch;
  double times[LATENCY_RUNS];
  sl_prediction p;
  g_autofree guint8 *pixels = NULL;

  sl_classifier_input_size (c, &w, &h, &ch);
  pixels = g_malloc ((gsize) w * h);
  memset (pixels, 128, (gsize) w * h);
  sl_prediction_init (&p);
  for (int i = -3; i < LATENCY_RUNS; i++)
    {
      gint64 start = g_get_monotonic_time ();
      if (sl_classifier_predict_pixels (c, pixels, w, h, 0, SL_PIXEL_GRAY8, &p, NULL, NULL)
          != SL_OK)
        return NAN;
      if (i >= 0)
        times[i] = (g_get_monotonic_time () - start) / 1000.0;
    }
  for (int i = 1; i < LATENCY_RUNS; i++)
    for (int j = i; j > 0 && times[j] < times[j - 1]; j--)
      {
        double t = times[j];
        times[j] = times[j - 1];
        times[j - 1] = t;
      }
  return times[LATENCY_RUNS / 2];
}

static char *
default_stem (SlProject *self, const SlRunInfo *run)
{
  g_autofree char *name = sl_project_dup_name (self);
  GString *s = g_string_new (NULL);

  /* Keep file names portable: letters, digits, '-', '_' and '.'. */
  for (const char *p = name != NULL ? name : "model"; *p != '\0'; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '-');
  g_string_append_printf (s, "-%s", run->name);
  return g_string_free (s, FALSE);
}

/* Writes the .slmodel to `path` from the run's checkpoint. */
static gboolean
write_slmodel (SlProject *self, const SlRunInfo *run, const SlExportOptions *o, const char *path,
               GError **error)
{
  g_autofree char *provenance = provenance_json (self, run, o->checkpoint);
  g_autofree const char **labels = g_new0 (const char *, run->class_names->len + 1);
  sl_model *model = NULL;
  sl_pipeline *pipeline = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };
  gboolean ok;

  if (!sl_run_load_model (self, run, o->checkpoint, 1, NULL, &model, &pipeline, error))
    return FALSE;
  for (guint i = 0; i < run->class_names->len; i++)
    labels[i] = g_ptr_array_index (run->class_names, i);
  sl_slmodel_info_init (&info);
  info.labels = labels;
  info.reject_threshold = (float) o->reject_threshold;
  info.provenance_json = provenance;
  ok = sl_slmodel_save (model, pipeline, &info, path, &err) == SL_OK;
  if (!ok)
    sl_project_set_runtime_error (error, &err, "Could not write the model file");
  sl_model_free (model);
  sl_pipeline_free (pipeline);
  return ok;
}

gboolean
sl_project_export_run (SlProject *self, gint64 run_id, const char *dir, const SlExportOptions *o,
                       SlExportResult *result, GError **error)
{
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *stem = NULL, *slmodel = NULL, *staged = NULL, *onnx = NULL;
  sl_classifier *classifier = NULL;
  sl_error err = { 0 };
  char id[32];
  gboolean ok = FALSE;

  memset (result, 0, sizeof *result);
  if (o->formats == 0 || !(o->reject_threshold >= 0 && o->reject_threshold <= 1))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "Choose at least one format, and a reject threshold between 0 and 1");
      return FALSE;
    }
  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((run = sl_project_get_run (self, id, error)) == NULL)
    return FALSE;
  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot create %s: %s", dir,
                   g_strerror (e));
      return FALSE;
    }
  stem = o->name != NULL ? g_strdup (o->name) : default_stem (self, run);
  slmodel = g_strdup_printf ("%s/%s.slmodel", dir, stem);
  /* Everything is made from a hidden .slmodel that only replaces the visible
   * one once every format has been written, so a failure leaves an earlier
   * export as it was. ONNX alone is still made from it. */
  staged = g_strdup_printf ("%s/.%s.slmodel.staged", dir, stem);
  if (!write_slmodel (self, run, o, staged, error))
    return FALSE;
  if (sl_classifier_open (staged, NULL, &classifier, &err) != SL_OK)
    {
      sl_project_set_runtime_error (error, &err, "The written model does not open");
      goto out;
    }
  if (o->formats & SL_EXPORT_ONNX)
    {
      onnx = g_strdup_printf ("%s/%s.onnx", dir, stem);
      if (sl_classifier_export_onnx (classifier, onnx, &err) != SL_OK)
        {
          sl_project_set_runtime_error (error, &err, "Could not export to ONNX");
          goto out;
        }
      result->onnx_path = g_steal_pointer (&onnx);
      result->onnx_bytes = file_size (result->onnx_path);
      result->sidecar_path = g_strdup_printf ("%s/%s.json", dir, stem);
      result->sidecar_bytes = file_size (result->sidecar_path);
    }
  if (o->formats & SL_EXPORT_SLMODEL)
    {
      if (g_rename (staged, slmodel) != 0)
        {
          int e = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot write %s: %s",
                       slmodel, g_strerror (e));
          goto out;
        }
      result->slmodel_path = g_strdup (slmodel);
      result->slmodel_bytes = file_size (slmodel);
    }
  result->classes = sl_classifier_class_count (classifier);
  result->parameters = (gint64) sl_model_param_count (sl_classifier_model (classifier));
  sl_classifier_input_size (classifier, &result->input_width, &result->input_height,
                            &result->input_channels);
  result->threads = sl_model_get_threads (sl_classifier_model (classifier));
  result->latency_ms = measure_latency (classifier);
  ok = TRUE;

out:
  sl_classifier_free (classifier);
  g_remove (staged); /* already renamed when the .slmodel was kept */
  if (!ok)
    sl_export_result_clear (result);
  return ok;
}
