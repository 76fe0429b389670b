/* sl-run-anomaly.c: an anomaly run's threshold record and model file, read back and opened. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-run-private.h"

#include <math.h>

#include "sl-files.h"

gboolean
sl_run_info_is_anomaly (const SlRunInfo *run)
{
  cJSON *doc;
  gboolean anomaly;

  if (run == NULL || run->config_json == NULL)
    return FALSE;
  doc = cJSON_Parse (run->config_json);
  anomaly = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (doc, "anomaly"));
  cJSON_Delete (doc);
  return anomaly;
}

gboolean
_sl_anomaly_for_batches (const sl_pipeline *pipeline, GPtrArray *paths, const int32_t *labels,
                         int workers, guint64 seed, SlAnomalyBatchFunc func, gpointer user_data,
                         GError **error)
{
  g_autofree int32_t *zeros = labels == NULL ? g_new0 (int32_t, MAX (paths->len, 1)) : NULL;
  g_autofree float *x = NULL;
  int32_t batch_labels[SL_ANOMALY_BATCH];
  guint items[SL_ANOMALY_BATCH], cursor = 0;
  g_autofree guint8 *failed = g_new0 (guint8, MAX (paths->len, 1));
  gint64 seen = 0, item;
  const char *message;
  sl_loader_config lc;
  sl_loader *loader = NULL;
  sl_error err = { 0 };
  gboolean ok = FALSE;

  if (paths->len == 0)
    return TRUE;
  sl_loader_config_init (&lc);
  lc.batch_size = SL_ANOMALY_BATCH;
  lc.seed = seed;
  lc.workers = workers > 0 ? workers : 2;
  lc.shuffle = false;
  lc.cache_bytes = 0; /* each image is decoded once */
  if (sl_loader_new_files ((const char *const *) paths->pdata, labels != NULL ? labels : zeros,
                           paths->len, pipeline, &lc, &loader, &err)
          != SL_OK
      || sl_loader_begin_epoch (loader, 0, &err) != SL_OK)
    goto runtime;
  if ((x = g_try_malloc (sizeof (float) * SL_ANOMALY_BATCH * sl_loader_image_floats (loader)))
      == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Out of memory loading images");
      goto out;
    }
  for (gint64 delivered = 0;;)
    {
      sl_loader_stats ls;
      int n = 0;

      if (sl_loader_next (loader, x, batch_labels, SL_ANOMALY_BATCH, &n, &err) != SL_OK)
        goto runtime;
      if (n == 0)
        break;
      delivered += n;
      /* The loader reports a batch's failures with it: the delivered images are the next
       * items in order that did not fail. */
      for (; sl_loader_failure (loader, seen, &item, &message); seen++)
        if (item >= 0 && item < (gint64) paths->len)
          failed[item] = 1;
      for (int i = 0; i < n; i++)
        {
          while (cursor < paths->len && failed[cursor])
            cursor++;
          items[i] = MIN (cursor, paths->len - 1);
          cursor++;
        }
      sl_loader_get_stats (loader, &ls);
      if (!func (x, batch_labels, items, n, MIN (delivered + ls.failed_images, (gint64) paths->len),
                 user_data, error))
        goto out;
    }
  ok = TRUE;
  goto out;

runtime:
  _sl_project_set_runtime_error (error, &err, "Could not load the images");
out:
  sl_loader_free (loader);
  return ok;
}

static cJSON *
number_or_null (double v)
{
  return isfinite (v) ? cJSON_CreateNumber (v) : cJSON_CreateNull ();
}

static cJSON *
number_array (const double *v, gsize n)
{
  cJSON *a = cJSON_CreateArray ();

  for (gsize i = 0; i < n; i++)
    cJSON_AddItemToArray (a, cJSON_CreateNumber (v[i]));
  return a;
}

gboolean
_sl_anomaly_run_write_threshold (SlProject *db, const SlRunInfo *run, const SlAnomalyThreshold *t,
                                 gboolean held_out, const double *good, gsize n_good,
                                 const double *defect, gsize n_defect, GError **error)
{
  g_autofree char *path = sl_project_run_file (db, run, SL_ANOMALY_RUN_THRESHOLD);
  cJSON *doc = cJSON_CreateObject (), *scores;
  char *text;
  gboolean ok;

  /* +infinity (no good image to set it from) is written as null. */
  cJSON_AddItemToObject (doc, "threshold", number_or_null (t->threshold));
  cJSON_AddNumberToObject (doc, "target_false_reject", t->target_false_reject);
  cJSON_AddNumberToObject (doc, "good_images", (double) t->good_images);
  cJSON_AddItemToObject (doc, "observed_false_reject", number_or_null (t->observed_false_reject));
  cJSON_AddItemToObject (doc, "false_reject_upper95", number_or_null (t->false_reject_upper95));
  cJSON_AddBoolToObject (doc, "target_reachable", t->target_reachable);
  cJSON_AddStringToObject (doc, "statement", t->statement != NULL ? t->statement : "");
  cJSON_AddBoolToObject (doc, "held_out", held_out);
  scores = cJSON_AddObjectToObject (doc, "scores");
  cJSON_AddItemToObject (scores, "good", number_array (good, n_good));
  cJSON_AddItemToObject (scores, "defect", number_array (defect, n_defect));
  text = cJSON_Print (doc);
  cJSON_Delete (doc);
  ok = sl_file_replace_contents (path, text, -1, error);
  cJSON_free (text);
  return ok;
}

static double
number (const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  return cJSON_IsNumber (item) ? item->valuedouble : NAN;
}

gboolean
sl_run_get_anomaly_threshold (SlProject *self, const SlRunInfo *run, SlAnomalyThreshold *out,
                              GError **error)
{
  g_autofree char *path = sl_project_run_file (self, run, SL_ANOMALY_RUN_THRESHOLD);
  g_autofree char *text = NULL;
  g_autoptr (GError) read_error = NULL;
  const cJSON *statement, *good;
  cJSON *doc;

  memset (out, 0, sizeof *out);
  if (!g_file_get_contents (path, &text, NULL, &read_error))
    {
      if (g_error_matches (read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                     "%s has no threshold yet: it is not fitted (sightline-cli train)", run->name);
      else
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not read %s: %s", path,
                     read_error->message);
      return FALSE;
    }
  doc = cJSON_Parse (text);
  statement = cJSON_GetObjectItemCaseSensitive (doc, "statement");
  good = cJSON_GetObjectItemCaseSensitive (doc, "good_images");
  if (!cJSON_IsObject (doc) || !cJSON_IsString (statement) || !cJSON_IsNumber (good)
      || !(good->valuedouble >= 0))
    {
      cJSON_Delete (doc);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                   "%s is damaged; fit %s again (sightline-cli train --resume %s)", path, run->name,
                   run->name);
      return FALSE;
    }
  out->threshold = number (doc, "threshold");
  if (isnan (out->threshold))
    out->threshold = INFINITY;
  out->target_false_reject = number (doc, "target_false_reject");
  out->good_images = (gint64) good->valuedouble;
  out->observed_false_reject = number (doc, "observed_false_reject");
  out->false_reject_upper95 = number (doc, "false_reject_upper95");
  out->target_reachable = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (doc, "target_reachable"));
  out->statement = g_strdup (statement->valuestring);
  cJSON_Delete (doc);
  return TRUE;
}

sl_classifier *
_sl_run_open_anomaly_classifier (SlProject *db, const SlRunInfo *run, int threads,
                                 const char *device, GError **error)
{
  g_autofree char *path = sl_project_run_file (db, run, SL_ANOMALY_RUN_MODEL);
  sl_classifier_options options;
  sl_classifier *classifier = NULL;
  sl_error err = { 0 };
  double manual;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "%s is not fitted yet; fit it with sightline-cli train (or --resume %s)",
                   run->name, run->name);
      return NULL;
    }
  /* The project's own model, as the fit wrote it: no cost limits (see sl-run-classifier.c). */
  sl_classifier_options_init (&options);
  options.threads = MAX (threads, 0);
  options.max_memory = SL_CLASSIFIER_NO_LIMIT;
  options.max_mflops = SL_CLASSIFIER_NO_LIMIT;
  if (sl_classifier_open_on_device (path, &options, device, &classifier, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not load the anomaly model");
      return NULL;
    }
  /* A threshold the user chose for this run is always respected over its own. */
  if (sl_project_get_run_anomaly_threshold (db, run->id, &manual)
      && sl_classifier_set_anomaly_threshold (classifier, (float) manual, &err) != SL_OK)
    {
      sl_classifier_free (classifier);
      _sl_project_set_runtime_error (error, &err, "Could not apply the threshold set by hand");
      return NULL;
    }
  return classifier;
}
