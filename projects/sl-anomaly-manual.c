/* sl-anomaly-manual.c: anomaly thresholds set by hand, each kept with the run it was chosen on. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-private.h"

#include <math.h>

/* The setting "anomaly-threshold" holds a JSON array of {"run": id, "created": the run's
 * creation time, "threshold": value}: a threshold chosen on one run's scores means nothing
 * on another run's (another backbone or fit has another score scale), so a new fit starts
 * from its own threshold. "created" keeps a threshold from passing to a later run that reuses
 * a deleted run's number. A bare number (the form before thresholds belonged to runs, never
 * released) belongs to no run and reads as none. */

static cJSON *
read_entries (SlProject *self)
{
  g_autofree char *value
      = _sl_project_get_setting (self, sl_setting_to_string (SL_SETTING_ANOMALY_THRESHOLD));
  cJSON *doc = value != NULL ? cJSON_Parse (value) : NULL;

  if (!cJSON_IsArray (doc))
    {
      cJSON_Delete (doc);
      doc = cJSON_CreateArray ();
    }
  return doc;
}

/* The entry's threshold when it belongs to `run` (same id and creation time), else NAN. */
static double
entry_threshold (const cJSON *entry, const SlRunInfo *run)
{
  const cJSON *id = cJSON_GetObjectItemCaseSensitive (entry, "run");
  const cJSON *created = cJSON_GetObjectItemCaseSensitive (entry, "created");
  const cJSON *value = cJSON_GetObjectItemCaseSensitive (entry, "threshold");

  if (!cJSON_IsNumber (id) || (gint64) id->valuedouble != run->id || !cJSON_IsString (created)
      || g_strcmp0 (created->valuestring, run->created) != 0 || !cJSON_IsNumber (value)
      || !isfinite (value->valuedouble) || value->valuedouble < 0)
    return NAN;
  return value->valuedouble;
}

static SlRunInfo *
get_run_by_id (SlProject *self, gint64 run_id, GError **error)
{
  char ref[32];

  g_snprintf (ref, sizeof ref, "%lld", (long long) run_id);
  return sl_project_get_run (self, ref, error);
}

gboolean
sl_project_get_run_anomaly_threshold (SlProject *self, gint64 run_id, double *threshold)
{
  g_autoptr (SlRunInfo) run = NULL;
  cJSON *entries, *entry;
  double t = NAN;

  g_return_val_if_fail (self != NULL && threshold != NULL, FALSE);
  *threshold = NAN;
  if (run_id <= 0 || (run = get_run_by_id (self, run_id, NULL)) == NULL)
    return FALSE;
  entries = read_entries (self);
  cJSON_ArrayForEach (entry, entries) if (!isnan (t = entry_threshold (entry, run))) break;
  cJSON_Delete (entries);
  if (isnan (t))
    return FALSE;
  *threshold = t;
  return TRUE;
}

/* NAN (clear) or a finite score of 0 or more. */
static gboolean
check_value (double threshold, GError **error)
{
  if (isnan (threshold) || (isfinite (threshold) && threshold >= 0))
    return TRUE;
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
               "An anomaly threshold is a score of 0 or more (anomaly scores are distances), "
               "not %g",
               threshold);
  return FALSE;
}

gboolean
sl_project_set_anomaly_threshold_for_run (SlProject *self, gint64 run_id, double threshold,
                                          GError **error)
{
  g_autoptr (SlRunInfo) run = NULL;
  cJSON *entries, *kept, *entry;
  char *text;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  if (!check_value (threshold, error))
    return FALSE;
  if ((run = get_run_by_id (self, run_id, error)) == NULL)
    return FALSE;
  if (!sl_run_info_is_anomaly (run))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s classifies parts: only anomaly runs have an anomaly threshold", run->name);
      return FALSE;
    }
  /* Keeps the other runs' choices while their runs are still there (a deleted run's goes). */
  entries = read_entries (self);
  kept = cJSON_CreateArray ();
  cJSON_ArrayForEach (entry, entries)
  {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (entry, "run");
    g_autoptr (SlRunInfo) other = NULL;

    if (!cJSON_IsNumber (id) || (gint64) id->valuedouble == run->id
        || (other = get_run_by_id (self, (gint64) id->valuedouble, NULL)) == NULL
        || isnan (entry_threshold (entry, other)))
      continue;
    cJSON_AddItemToArray (kept, cJSON_Duplicate (entry, TRUE));
  }
  cJSON_Delete (entries);
  if (!isnan (threshold))
    {
      entry = cJSON_CreateObject ();
      cJSON_AddNumberToObject (entry, "run", (double) run->id);
      cJSON_AddStringToObject (entry, "created", run->created != NULL ? run->created : "");
      /* cJSON prints 17 significant digits when needed: the double reads back exactly. */
      cJSON_AddNumberToObject (entry, "threshold", threshold);
      cJSON_AddItemToArray (kept, entry);
    }
  text = cJSON_GetArraySize (kept) > 0 ? cJSON_PrintUnformatted (kept) : NULL;
  cJSON_Delete (kept);
  ok = _sl_project_store_setting (self, SL_SETTING_ANOMALY_THRESHOLD, text, error);
  cJSON_free (text);
  return ok;
}

SlRunInfo *
sl_project_get_latest_anomaly_run (SlProject *self, GError **error)
{
  g_autoptr (GPtrArray) runs = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  if ((runs = sl_project_list_runs (self, error)) == NULL)
    return NULL;
  for (guint i = 0; i < runs->len; i++) /* newest first */
    {
      SlRunInfo *run = g_ptr_array_index (runs, i);

      if (run->status == SL_RUN_FINISHED && sl_run_info_is_anomaly (run))
        return g_ptr_array_steal_index (runs, i);
    }
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
               "The project has no fitted anomaly run yet: fit one (sightline-cli train), then "
               "choose its threshold");
  return NULL;
}

gboolean
sl_project_get_anomaly_threshold (SlProject *self, double *threshold)
{
  g_autoptr (SlRunInfo) run = NULL;

  g_return_val_if_fail (self != NULL && threshold != NULL, FALSE);
  *threshold = NAN;
  if ((run = sl_project_get_latest_anomaly_run (self, NULL)) == NULL)
    return FALSE;
  return sl_project_get_run_anomaly_threshold (self, run->id, threshold);
}

gboolean
sl_project_set_anomaly_threshold (SlProject *self, double threshold, GError **error)
{
  g_autoptr (SlRunInfo) run = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (!check_value (threshold, error))
    return FALSE;
  if ((run = sl_project_get_latest_anomaly_run (self, error)) == NULL)
    return FALSE;
  return sl_project_set_anomaly_threshold_for_run (self, run->id, threshold, error);
}
