/* sl-session.h: an open project as the UI sees it: change signals and undoable label edits. */
#pragma once

#include "sl-types.h"
#include "sl-project.h"

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
 *   "pipeline-changed": the stored preprocessing pipeline or augmentation,
 *   "runs-changed": a training run was created, progressed an epoch, ended,
 *   was evaluated or was deleted.
 * Code that edits the project directly calls sl_session_notify_* instead. */
void sl_session_notify_images_changed (SlSession *self);
void sl_session_notify_labels_changed (SlSession *self, const gint64 *ids, guint n);
void sl_session_notify_classes_changed (SlSession *self);
void sl_session_notify_pipeline_changed (SlSession *self);
void sl_session_notify_runs_changed (SlSession *self);
/* The project's runs, newest first (GPtrArray of SlRunInfo; unref when
 * done), read once after each "runs-changed" however many widgets ask. */
GPtrArray *sl_session_dup_runs (SlSession *self, GError **error);

/* Labels (class_id < 0 clears) or ignore flags for n images, recorded for undo. */
gboolean sl_session_set_labels (SlSession *self, const gint64 *ids, guint n, gint64 class_id,
                                GError **error);
gboolean sl_session_set_ignored (SlSession *self, const gint64 *ids, guint n, gboolean ignored,
                                 GError **error);

/* Label and ignore edits, undone and redone in order. The "can-undo" and
 * "can-redo" properties follow the stacks. */
gboolean sl_session_can_undo (SlSession *self);
gboolean sl_session_can_redo (SlSession *self);
gboolean sl_session_undo (SlSession *self, GError **error);
gboolean sl_session_redo (SlSession *self, GError **error);

/* The stored pipeline JSON (the project's default when none is stored yet). */
char *sl_session_dup_pipeline_json (SlSession *self, GError **error);
gboolean sl_session_set_pipeline_json (SlSession *self, const char *json, GError **error);

G_END_DECLS
