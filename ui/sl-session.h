/* sl-session.h: an open project as the UI sees it: change signals and undoable label edits. */
#pragma once

#include "sl-types.h"
#include "sl-project.h"
#include "sl-project-settings.h"

G_BEGIN_DECLS

#define SL_TYPE_SESSION (sl_session_get_type ())
G_DECLARE_FINAL_TYPE (SlSession, sl_session, SL, SESSION, GObject)

/* Opens the project at path (main thread); errors are SlProjectError's. */
SlSession *sl_session_open (const char *path, GError **error);
SlSession *sl_session_new_for_project (SlProject *project);

SlProject *sl_session_get_project (SlSession *self);
const char *sl_session_get_path (SlSession *self);
const char *sl_session_get_name (SlSession *self);

/* The session's trainer (one run at a time), which outlives page switches. */
SlRunner *sl_session_get_runner (SlSession *self);
gboolean sl_session_is_training (SlSession *self);
/* Whether the project opened read-only (sl_project_is_read_only): pages keep
 * every edit action off, and the window says why. A NULL session is not. */
gboolean sl_session_is_read_only (SlSession *self);

/* Every edit made through the session emits the matching signal:
 *   "images-changed" (images added or removed, e.g. after an import),
 *   "labels-changed" (gint64 *ids, guint n): labels, ignore flags or splits of these images,
 *   "classes-changed": classes added, renamed, merged, deleted or restyled,
 *   "setting-changed::<key>" (SlSetting setting): a project setting (the detail is
 *   sl_setting_to_string: "pipeline", "augment", "reject-threshold", "export-folder"),
 *   "pipeline-changed": the stored preprocessing pipeline or augmentation (after
 *   "setting-changed" for either),
 *   "runs-changed": a training run was created, progressed an epoch, ended,
 *   was evaluated or was deleted.
 * Settings are written only through the session (below), which emits their
 * signals; for the other kinds, code that edits the project directly calls
 * sl_session_notify_* instead. */
void sl_session_notify_images_changed (SlSession *self);
void sl_session_notify_labels_changed (SlSession *self, const gint64 *ids, guint n);
void sl_session_notify_classes_changed (SlSession *self);
/* Also re-reads the settings (sl_session_refresh_settings): a run's training
 * stores the project's first pipeline through its own connection, and another
 * process may have changed them. */
void sl_session_notify_runs_changed (SlSession *self);
/* The project's runs, newest first (GPtrArray of SlRunInfo; unref when
 * done), read once after each "runs-changed" however many widgets ask. */
GPtrArray *sl_session_dup_runs (SlSession *self, GError **error);

/* Labels (class_id < 0 clears) or ignore flags for n images, recorded for undo. */
gboolean sl_session_set_labels (SlSession *self, const gint64 *ids, guint n, gint64 class_id,
                                GError **error);
gboolean sl_session_set_ignored (SlSession *self, const gint64 *ids, guint n, gboolean ignored,
                                 GError **error);
/* A label per image (accepted suggestions), one undo step for them all. */
gboolean sl_session_set_labels_each (SlSession *self, const gint64 *ids, const gint64 *class_ids,
                                     guint n, GError **error);

/* Label and ignore edits, undone and redone in order. The "can-undo" and
 * "can-redo" properties follow the stacks. */
gboolean sl_session_can_undo (SlSession *self);
gboolean sl_session_can_redo (SlSession *self);
gboolean sl_session_undo (SlSession *self, GError **error);
gboolean sl_session_redo (SlSession *self, GError **error);

/* ---- Settings: typed, as in sl-project-settings.h; the UI writes them only here. */

/* The stored pipeline JSON (the project's default when none is stored yet). */
char *sl_session_dup_pipeline_json (SlSession *self, GError **error);
/* The stored pipeline JSON, NULL when none is stored yet. */
char *sl_session_dup_stored_pipeline_json (SlSession *self);
/* Checks and stores a pipeline (SL_PROJECT_ERROR_INVALID when it does not read). */
gboolean sl_session_set_pipeline_json (SlSession *self, const char *json, GError **error);
/* The stored augmentation (none when unset); FALSE, with none, when it does not read. */
gboolean sl_session_get_augment (SlSession *self, sl_augment_config *config);
/* The stored augmentation JSON, NULL when none is stored. */
char *sl_session_dup_augment_json (SlSession *self);
gboolean sl_session_set_augment (SlSession *self, const sl_augment_config *config, GError **error);
/* The reject threshold Evaluate stored (FALSE, with 0, when none is). */
gboolean sl_session_get_reject_threshold (SlSession *self, double *threshold);
gboolean sl_session_set_reject_threshold (SlSession *self, double threshold, GError **error);
/* The folder of the last export (NULL when none is stored). */
char *sl_session_dup_export_folder (SlSession *self);
gboolean sl_session_set_export_folder (SlSession *self, const char *folder, GError **error);
/* Re-reads every setting and emits "setting-changed" (and "pipeline-changed")
 * for each that another connection or process changed since the session last
 * saw it. Cheap: a few small reads. */
void sl_session_refresh_settings (SlSession *self);

G_END_DECLS
