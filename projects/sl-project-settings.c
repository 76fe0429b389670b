/* sl-project-settings.c: the project's settings, typed and validated, with change notification. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-settings.h"
#include "sl-anomaly-private.h"
#include "sl-project-private.h"

#include <math.h>

typedef struct
{
  guint id;
  SlSettingChangedFunc func;
  gpointer user_data;
} Watch;

static const char *const keys[] = {
  [SL_SETTING_PIPELINE] = "pipeline",
  [SL_SETTING_AUGMENT] = "augment",
  [SL_SETTING_REJECT_THRESHOLD] = "reject-threshold",
  [SL_SETTING_EXPORT_FOLDER] = "export-folder",
  [SL_SETTING_ANOMALY_THRESHOLD] = "anomaly-threshold",
  [SL_SETTING_TARGET_FALSE_REJECT] = "target-false-reject",
};

const char *
sl_setting_to_string (SlSetting setting)
{
  g_return_val_if_fail ((guint) setting < G_N_ELEMENTS (keys), NULL);
  return keys[setting];
}

guint
sl_project_watch_settings (SlProject *self, SlSettingChangedFunc func, gpointer user_data)
{
  static guint last_id;
  Watch w = { ++last_id, func, user_data };

  g_return_val_if_fail (self != NULL && func != NULL, 0);
  if (self->setting_watches == NULL)
    self->setting_watches = g_array_new (FALSE, FALSE, sizeof (Watch));
  g_array_append_val (self->setting_watches, w);
  return w.id;
}

void
sl_project_unwatch_settings (SlProject *self, guint id)
{
  g_return_if_fail (self != NULL);
  for (guint i = 0; self->setting_watches != NULL && i < self->setting_watches->len; i++)
    if (g_array_index (self->setting_watches, Watch, i).id == id)
      {
        g_array_remove_index (self->setting_watches, i);
        return;
      }
}

/* Writes one setting and tells the watchers. */
static gboolean
store (SlProject *self, SlSetting setting, const char *value, GError **error)
{
  if (!_sl_project_set_setting (self, keys[setting], value, error))
    return FALSE;
  /* A watcher may unwatch itself: walk a copy. */
  if (self->setting_watches != NULL && self->setting_watches->len > 0)
    {
      g_autoptr (GArray) watches = g_array_copy (self->setting_watches);

      for (guint i = 0; i < watches->len; i++)
        {
          const Watch *w = &g_array_index (watches, Watch, i);

          w->func (self, setting, w->user_data);
        }
    }
  return TRUE;
}

static gboolean
invalid (GError **error, const sl_error *err, const char *what)
{
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID, "%s: %s", what, err->message);
  return FALSE;
}

/* ---- The preprocessing pipeline ---------------------------------------------- */

char *
sl_project_dup_stored_pipeline_json (SlProject *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return _sl_project_get_setting (self, keys[SL_SETTING_PIPELINE]);
}

sl_pipeline *
sl_project_get_pipeline (SlProject *self, GError **error)
{
  g_autofree char *json = sl_project_dup_stored_pipeline_json (self);
  sl_pipeline *pipeline = NULL;
  sl_error err = { 0 };

  if (json != NULL && sl_pipeline_from_json (json, &pipeline, &err) != SL_OK)
    invalid (error, &err, "The project's pipeline is not valid");
  return pipeline;
}

gboolean
sl_project_set_pipeline_json (SlProject *self, const char *json, GError **error)
{
  sl_pipeline *pipeline = NULL;
  sl_error err = { 0 };

  g_return_val_if_fail (self != NULL && json != NULL, FALSE);
  if (sl_pipeline_from_json (json, &pipeline, &err) != SL_OK)
    return invalid (error, &err, "The pipeline is not valid");
  sl_pipeline_free (pipeline);
  return store (self, SL_SETTING_PIPELINE, json, error);
}

gboolean
sl_project_set_pipeline (SlProject *self, const sl_pipeline *pipeline, GError **error)
{
  char *json;
  gboolean ok;

  g_return_val_if_fail (self != NULL && pipeline != NULL, FALSE);
  json = sl_pipeline_to_json (pipeline);
  if (json == NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The pipeline could not be written as JSON");
      return FALSE;
    }
  ok = store (self, SL_SETTING_PIPELINE, json, error);
  sl_free (json);
  return ok;
}

char *
sl_project_dup_pipeline_json (SlProject *self, GError **error)
{
  char *json = sl_project_dup_stored_pipeline_json (self);

  return json != NULL ? json : sl_project_default_pipeline_json (self, error);
}

/* ---- Augmentation --------------------------------------------------------------- */

char *
sl_project_dup_augment_json (SlProject *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return _sl_project_get_setting (self, keys[SL_SETTING_AUGMENT]);
}

gboolean
sl_project_get_augment (SlProject *self, sl_augment_config *config, GError **error)
{
  g_autofree char *json = sl_project_dup_augment_json (self);
  sl_error err = { 0 };

  sl_augment_config_init (config);
  if (json == NULL || sl_augment_config_from_json (json, config, &err) == SL_OK)
    return TRUE;
  sl_augment_config_init (config);
  return invalid (error, &err, "The project's augmentation settings are not valid");
}

gboolean
sl_project_set_augment (SlProject *self, const sl_augment_config *config, GError **error)
{
  sl_error err = { 0 };
  char *json;
  gboolean ok;

  g_return_val_if_fail (self != NULL && config != NULL, FALSE);
  if (sl_augment_config_validate (config, &err) != SL_OK)
    return invalid (error, &err, "The augmentation settings are not valid");
  json = sl_augment_config_to_json (config);
  ok = store (self, SL_SETTING_AUGMENT, json, error);
  sl_free (json);
  return ok;
}

gboolean
sl_project_set_augment_json (SlProject *self, const char *json, GError **error)
{
  sl_augment_config config;
  sl_error err = { 0 };

  g_return_val_if_fail (self != NULL && json != NULL, FALSE);
  sl_augment_config_init (&config);
  if (sl_augment_config_from_json (json, &config, &err) != SL_OK)
    return invalid (error, &err, "The augmentation settings are not valid");
  return store (self, SL_SETTING_AUGMENT, json, error);
}

/* ---- Export ------------------------------------------------------------------------ */

gboolean
sl_project_get_reject_threshold (SlProject *self, double *threshold)
{
  g_autofree char *value = NULL;
  char *end = NULL;
  double t;

  g_return_val_if_fail (self != NULL && threshold != NULL, FALSE);
  *threshold = 0;
  value = _sl_project_get_setting (self, keys[SL_SETTING_REJECT_THRESHOLD]);
  if (value == NULL)
    return FALSE;
  t = g_ascii_strtod (value, &end);
  if (end == value || !(t >= 0 && t <= 1))
    return FALSE;
  *threshold = t;
  return TRUE;
}

gboolean
sl_project_set_reject_threshold (SlProject *self, double threshold, GError **error)
{
  char value[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (self != NULL, FALSE);
  if (!(threshold >= 0 && threshold <= 1))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The reject threshold is a fraction from 0 (off) to 1, not %g", threshold);
      return FALSE;
    }
  g_ascii_formatd (value, sizeof value, "%.2f", threshold);
  return store (self, SL_SETTING_REJECT_THRESHOLD, value, error);
}

char *
sl_project_dup_export_folder (SlProject *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return _sl_project_get_setting (self, keys[SL_SETTING_EXPORT_FOLDER]);
}

gboolean
sl_project_set_export_folder (SlProject *self, const char *folder, GError **error)
{
  g_return_val_if_fail (self != NULL && folder != NULL, FALSE);
  if (!g_path_is_absolute (folder))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The export folder must be an absolute path, not “%s”", folder);
      return FALSE;
    }
  return store (self, SL_SETTING_EXPORT_FOLDER, folder, error);
}

/* ---- Anomaly projects ---------------------------------------------------------------- */

/* A stored number, or FALSE when none is stored or it does not read as a finite one. */
static gboolean
get_number (SlProject *self, SlSetting setting, double *out)
{
  g_autofree char *value = _sl_project_get_setting (self, keys[setting]);
  char *end = NULL;
  double v;

  if (value == NULL)
    return FALSE;
  v = g_ascii_strtod (value, &end);
  if (end == value || *end != '\0' || !isfinite (v))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
store_number (SlProject *self, SlSetting setting, double v, GError **error)
{
  char value[G_ASCII_DTOSTR_BUF_SIZE];

  /* %.17g reads back as the same double. */
  g_ascii_formatd (value, sizeof value, "%.17g", v);
  return store (self, setting, value, error);
}

/* The anomaly threshold set by hand belongs to a run: sl-anomaly-manual.c. */
gboolean
_sl_project_store_setting (SlProject *self, SlSetting setting, const char *value, GError **error)
{
  g_return_val_if_fail (self != NULL && (guint) setting < G_N_ELEMENTS (keys), FALSE);
  return store (self, setting, value, error);
}

double
sl_project_get_target_false_reject (SlProject *self)
{
  double r;

  g_return_val_if_fail (self != NULL, 0.01);
  if (!get_number (self, SL_SETTING_TARGET_FALSE_REJECT, &r) || !(r > 0 && r < 0.5))
    return 0.01;
  return r;
}

gboolean
sl_project_set_target_false_reject (SlProject *self, double rate, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (!(rate > 0 && rate < 0.5))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The target false-reject rate is a fraction above 0 and below 0.5 (0.01 is "
                   "1 %% of good parts flagged), not %g",
                   rate);
      return FALSE;
    }
  return store_number (self, SL_SETTING_TARGET_FALSE_REJECT, rate, error);
}
