/* sl-project-settings.h: the project's settings, typed and validated, with change notification. */
#pragma once

#include "sl-project.h"
#include "sl-vision.h"

G_BEGIN_DECLS

/* The settings a project keeps for its user. Every read and write goes through
 * the functions below; the raw key/value table is private to projects/. */
typedef enum
{
  SL_SETTING_PIPELINE,         /* the preprocessing pipeline (sl_pipeline JSON) */
  SL_SETTING_AUGMENT,          /* the augmentation (sl_augment_config JSON) */
  SL_SETTING_REJECT_THRESHOLD, /* the reject threshold Evaluate recommends for Export */
  SL_SETTING_EXPORT_FOLDER,    /* where the last export went */
  /* Anomaly projects (sl-anomaly.h): the threshold chosen by hand (or on the
   * trade-off curve), and the target false-reject rate new runs aim at. */
  SL_SETTING_ANOMALY_THRESHOLD,
  SL_SETTING_TARGET_FALSE_REJECT,
} SlSetting;

/* "pipeline", "augment", "reject-threshold", "export-folder", "anomaly-threshold",
 * "target-false-reject": the setting's key,
 * also usable as a signal detail. */
const char *sl_setting_to_string (SlSetting setting);

/* Called after a setting was written through this SlProject handle, on the
 * thread that wrote it. Another handle (a worker connection, another process)
 * notifies only its own watchers: readers that care re-read at their refresh
 * points (the workbench's session does on "runs-changed"). */
typedef void (*SlSettingChangedFunc) (SlProject *project, SlSetting setting, gpointer user_data);
/* Returns an id above 0 for sl_project_unwatch_settings. */
guint sl_project_watch_settings (SlProject *self, SlSettingChangedFunc func, gpointer user_data);
void sl_project_unwatch_settings (SlProject *self, guint id);

/* ---- The preprocessing pipeline ---------------------------------------------- */

/* The stored pipeline's JSON exactly as stored, or NULL when none is stored yet
 * (the first training run stores one). */
char *sl_project_dup_stored_pipeline_json (SlProject *self);
/* The stored pipeline, parsed (free with sl_pipeline_free). NULL without an
 * error when none is stored; NULL with SL_PROJECT_ERROR_INVALID when the stored
 * one does not read. */
sl_pipeline *sl_project_get_pipeline (SlProject *self, GError **error);
/* Stores `json` after checking that it reads as a pipeline
 * (SL_PROJECT_ERROR_INVALID otherwise, and nothing is stored). */
gboolean sl_project_set_pipeline_json (SlProject *self, const char *json, GError **error);
gboolean sl_project_set_pipeline (SlProject *self, const sl_pipeline *pipeline, GError **error);

/* A pipeline chosen from the data: gray when every labelled image is gray,
 * the median size rounded to a multiple of 4 and at most 128, mean and std
 * measured on up to 256 images. */
char *sl_project_default_pipeline_json (SlProject *self, GError **error);
/* The project's pipeline: the stored one or the default above. */
char *sl_project_dup_pipeline_json (SlProject *self, GError **error);

/* ---- Augmentation --------------------------------------------------------------- */

/* The stored augmentation's JSON, or NULL when none is stored (no augmentation). */
char *sl_project_dup_augment_json (SlProject *self);
/* Fills `config` with the stored augmentation, or with none (the defaults of
 * sl_augment_config_init) when none is stored. When the stored one does not
 * read, `config` holds none and this fails with SL_PROJECT_ERROR_INVALID. */
gboolean sl_project_get_augment (SlProject *self, sl_augment_config *config, GError **error);
/* Stores `config` after checking it (SL_PROJECT_ERROR_INVALID otherwise). */
gboolean sl_project_set_augment (SlProject *self, const sl_augment_config *config, GError **error);
/* Stores augmentation JSON after checking that it reads (SL_PROJECT_ERROR_INVALID
 * otherwise, and nothing is stored). */
gboolean sl_project_set_augment_json (SlProject *self, const char *json, GError **error);

/* ---- Export ------------------------------------------------------------------------ */

/* The stored reject threshold (0 to 1; 0 when rejecting is off). FALSE, with
 * *threshold 0, when none is stored or the stored one is not a number from 0 to 1. */
gboolean sl_project_get_reject_threshold (SlProject *self, double *threshold);
/* Stores a threshold from 0 (off) to 1, to two decimals (SL_PROJECT_ERROR_INVALID
 * outside that range). */
gboolean sl_project_set_reject_threshold (SlProject *self, double threshold, GError **error);
/* The folder of the last export, or NULL when none is stored. */
char *sl_project_dup_export_folder (SlProject *self);
/* Stores an absolute folder path (SL_PROJECT_ERROR_INVALID otherwise). */
gboolean sl_project_set_export_folder (SlProject *self, const char *folder, GError **error);

G_END_DECLS
