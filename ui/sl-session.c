/* sl-session.c: an open project as the UI sees it: change signals and undoable label edits. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-session.h"
#include "sl-anomaly.h"
#include "sl-run.h"
#include "sl-runner.h"

#include <string.h>

/* One undoable edit: the images and what each held before and after. */
typedef struct
{
  gboolean is_ignore; /* an ignore-flag edit, else a label edit */
  GArray *ids;        /* gint64 */
  GArray *before;     /* gint64: class id (-1 none) or ignored (0/1) */
  gint64 after;       /* the value every image got */
  GArray *after_each; /* gint64 per image instead of `after` (accepted suggestions), or NULL */
} Edit;

struct _SlSession
{
  GObject parent_instance;
  SlProject *project;
  char *name;
  GQueue undo; /* Edit *, newest at the head */
  GQueue redo;
  SlRunner *trainer; /* created on first use */
  GPtrArray *runs;   /* SlRunInfo, read on first use after each runs-changed */
  guint settings_watch;
  /* Each setting as last seen (sl_session_refresh_settings compares). */
  char *seen[SL_SETTING_TARGET_FALSE_REJECT + 1];
};

G_DEFINE_FINAL_TYPE (SlSession, sl_session, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  N_PROPS
};

enum
{
  IMAGES_CHANGED,
  LABELS_CHANGED,
  CLASSES_CHANGED,
  SETTING_CHANGED,
  PIPELINE_CHANGED,
  RUNS_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Undo keeps this many edits; older ones are dropped. */
#define UNDO_DEPTH 200

static void
edit_free (Edit *e)
{
  g_array_unref (e->ids);
  g_array_unref (e->before);
  g_clear_pointer (&e->after_each, g_array_unref);
  g_free (e);
}

static void
sl_session_finalize (GObject *object)
{
  SlSession *self = SL_SESSION (object);

  g_queue_clear_full (&self->undo, (GDestroyNotify) edit_free);
  g_queue_clear_full (&self->redo, (GDestroyNotify) edit_free);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_clear_object (&self->trainer);
  if (self->project != NULL)
    sl_project_unwatch_settings (self->project, self->settings_watch);
  for (guint i = 0; i < G_N_ELEMENTS (self->seen); i++)
    g_free (self->seen[i]);
  g_clear_pointer (&self->project, sl_project_unref);
  g_free (self->name);
  G_OBJECT_CLASS (sl_session_parent_class)->finalize (object);
}

static void
sl_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlSession *self = SL_SESSION (object);

  switch (prop_id)
    {
      case PROP_CAN_UNDO: g_value_set_boolean (value, sl_session_can_undo (self)); break;
      case PROP_CAN_REDO: g_value_set_boolean (value, sl_session_can_redo (self)); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_session_class_init (SlSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sl_session_finalize;
  object_class->get_property = sl_session_get_property;

  properties[PROP_CAN_UNDO] = g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] = g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[IMAGES_CHANGED] = g_signal_new ("images-changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[LABELS_CHANGED]
      = g_signal_new ("labels-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT);
  signals[CLASSES_CHANGED] = g_signal_new ("classes-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SETTING_CHANGED] = g_signal_new ("setting-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[PIPELINE_CHANGED] = g_signal_new ("pipeline-changed", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[RUNS_CHANGED] = g_signal_new ("runs-changed", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_session_init (SlSession *self)
{
  g_queue_init (&self->undo);
  g_queue_init (&self->redo);
}

/* A setting as a string to compare (NULL when none is stored). */
static char *
read_setting (SlSession *self, SlSetting setting)
{
  double threshold;

  switch (setting)
    {
      case SL_SETTING_PIPELINE: return sl_project_dup_stored_pipeline_json (self->project);
      case SL_SETTING_AUGMENT: return sl_project_dup_augment_json (self->project);
      case SL_SETTING_REJECT_THRESHOLD:
        return sl_project_get_reject_threshold (self->project, &threshold)
                   ? g_strdup_printf ("%.17g", threshold)
                   : NULL;
      case SL_SETTING_EXPORT_FOLDER: return sl_project_dup_export_folder (self->project);
      case SL_SETTING_ANOMALY_THRESHOLD:
        return sl_project_get_anomaly_threshold (self->project, &threshold)
                   ? g_strdup_printf ("%.17g", threshold)
                   : NULL;
      case SL_SETTING_TARGET_FALSE_REJECT:
        return g_strdup_printf ("%.17g", sl_project_get_target_false_reject (self->project));
      default: g_return_val_if_reached (NULL);
    }
}

static void
emit_setting_changed (SlSession *self, SlSetting setting)
{
  g_signal_emit (self, signals[SETTING_CHANGED],
                 g_quark_from_static_string (sl_setting_to_string (setting)), (guint) setting);
  if (setting == SL_SETTING_PIPELINE || setting == SL_SETTING_AUGMENT)
    g_signal_emit (self, signals[PIPELINE_CHANGED], 0);
}

/* A setting written through the session's project handle (by the session, or a
 * test on the same handle). */
static void
on_setting_written (SlProject *project, SlSetting setting, gpointer data)
{
  SlSession *self = data;

  g_free (self->seen[setting]);
  self->seen[setting] = read_setting (self, setting);
  emit_setting_changed (self, setting);
}

SlSession *
sl_session_new_for_project (SlProject *project)
{
  SlSession *self;

  g_return_val_if_fail (project != NULL, NULL);
  self = g_object_new (SL_TYPE_SESSION, NULL);
  self->project = sl_project_ref (project);
  self->name = sl_project_dup_name (project);
  if (self->name == NULL)
    self->name = g_path_get_basename (sl_project_get_path (project));
  for (guint i = 0; i < G_N_ELEMENTS (self->seen); i++)
    self->seen[i] = read_setting (self, i);
  self->settings_watch = sl_project_watch_settings (project, on_setting_written, self);
  return self;
}

SlSession *
sl_session_open (const char *path, GError **error)
{
  g_autoptr (SlProject) project = sl_project_open (path, error);

  return project != NULL ? sl_session_new_for_project (project) : NULL;
}

SlProject *
sl_session_get_project (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return self->project;
}

const char *
sl_session_get_path (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return sl_project_get_path (self->project);
}

const char *
sl_session_get_name (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return self->name;
}

SlRunner *
sl_session_get_runner (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);

  if (self->trainer == NULL)
    self->trainer = sl_runner_new (self);
  return self->trainer;
}

gboolean
sl_session_is_read_only (SlSession *self)
{
  return self != NULL && sl_project_is_read_only (self->project);
}

gboolean
sl_session_is_training (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return self->trainer != NULL && sl_runner_is_running (self->trainer);
}

void
sl_session_notify_images_changed (SlSession *self)
{
  g_signal_emit (self, signals[IMAGES_CHANGED], 0);
}

void
sl_session_notify_labels_changed (SlSession *self, const gint64 *ids, guint n)
{
  g_signal_emit (self, signals[LABELS_CHANGED], 0, ids, n);
}

void
sl_session_notify_classes_changed (SlSession *self)
{
  g_signal_emit (self, signals[CLASSES_CHANGED], 0);
}

void
sl_session_notify_runs_changed (SlSession *self)
{
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_signal_emit (self, signals[RUNS_CHANGED], 0);
  sl_session_refresh_settings (self);
}

GPtrArray *
sl_session_dup_runs (SlSession *self, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);

  if (self->runs == NULL && (self->runs = sl_project_list_runs (self->project, error)) == NULL)
    return NULL;
  return g_ptr_array_ref (self->runs);
}

/* ---- Undoable edits ---------------------------------------------------------- */

static void
notify_stacks (SlSession *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
}

/* Writes one value to every image of the edit, or each image's "before" value. */
static gboolean
apply_values (SlSession *self, const Edit *e, gboolean restore, GError **error)
{
  const gint64 *ids = (const gint64 *) e->ids->data;
  guint n = e->ids->len;

  GArray *values = restore ? e->before : e->after_each;

  if (values == NULL)
    return e->is_ignore ? sl_project_set_ignored (self->project, ids, n, e->after != 0, error)
                        : sl_project_set_labels (self->project, ids, n, e->after, error);
  /* Restoring (or one value per image): group the images by value, one write per group. */
  for (guint i = 0; i < n; i++)
    {
      gint64 value = g_array_index (values, gint64, i);
      g_autoptr (GArray) group = g_array_new (FALSE, FALSE, sizeof (gint64));
      gboolean seen = FALSE;

      for (guint j = 0; j < i && !seen; j++)
        seen = g_array_index (values, gint64, j) == value;
      if (seen)
        continue;
      for (guint j = i; j < n; j++)
        if (g_array_index (values, gint64, j) == value)
          g_array_append_val (group, ids[j]);
      if (!(e->is_ignore ? sl_project_set_ignored (self->project, (gint64 *) group->data,
                                                   group->len, value != 0, error)
                         : sl_project_set_labels (self->project, (gint64 *) group->data, group->len,
                                                  value, error)))
        return FALSE;
    }
  return TRUE;
}

static gboolean
record_and_apply (SlSession *self, gboolean is_ignore, const gint64 *ids, guint n, gint64 after,
                  const gint64 *after_each, GError **error)
{
  Edit *e;

  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  if (n == 0)
    return TRUE;
  e = g_new0 (Edit, 1);
  e->is_ignore = is_ignore;
  e->after = after;
  if (after_each != NULL)
    {
      e->after_each = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
      g_array_append_vals (e->after_each, after_each, n);
    }
  e->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  e->before = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  g_array_append_vals (e->ids, ids, n);
  for (guint i = 0; i < n; i++)
    {
      SlImageInfo *info = sl_project_get_image (self->project, ids[i], error);
      gint64 before;

      if (info == NULL)
        {
          edit_free (e);
          return FALSE;
        }
      before = is_ignore ? info->ignored : info->class_id;
      g_array_append_val (e->before, before);
      sl_image_info_free (info);
    }
  if (!apply_values (self, e, FALSE, error))
    {
      edit_free (e);
      return FALSE;
    }
  g_queue_push_head (&self->undo, e);
  if (g_queue_get_length (&self->undo) > UNDO_DEPTH)
    edit_free (g_queue_pop_tail (&self->undo));
  g_queue_clear_full (&self->redo, (GDestroyNotify) edit_free);
  notify_stacks (self);
  sl_session_notify_labels_changed (self, ids, n);
  return TRUE;
}

gboolean
sl_session_set_labels (SlSession *self, const gint64 *ids, guint n, gint64 class_id, GError **error)
{
  return record_and_apply (self, FALSE, ids, n, class_id < 0 ? -1 : class_id, NULL, error);
}

gboolean
sl_session_set_labels_each (SlSession *self, const gint64 *ids, const gint64 *class_ids, guint n,
                            GError **error)
{
  return record_and_apply (self, FALSE, ids, n, -1, class_ids, error);
}

gboolean
sl_session_set_ignored (SlSession *self, const gint64 *ids, guint n, gboolean ignored,
                        GError **error)
{
  return record_and_apply (self, TRUE, ids, n, ignored ? 1 : 0, NULL, error);
}

gboolean
sl_session_can_undo (SlSession *self)
{
  return !g_queue_is_empty (&self->undo);
}

gboolean
sl_session_can_redo (SlSession *self)
{
  return !g_queue_is_empty (&self->redo);
}

/* Moves the newest edit of `from` to `to`, restoring or re-applying it. */
static gboolean
replay (SlSession *self, GQueue *from, GQueue *to, gboolean restore, GError **error)
{
  Edit *e = g_queue_peek_head (from);

  if (e == NULL)
    return TRUE;
  if (!apply_values (self, e, restore, error))
    return FALSE;
  g_queue_push_head (to, g_queue_pop_head (from));
  notify_stacks (self);
  sl_session_notify_labels_changed (self, (const gint64 *) e->ids->data, e->ids->len);
  return TRUE;
}

gboolean
sl_session_undo (SlSession *self, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return replay (self, &self->undo, &self->redo, TRUE, error);
}

gboolean
sl_session_redo (SlSession *self, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return replay (self, &self->redo, &self->undo, FALSE, error);
}

/* ---- Settings ------------------------------------------------------------------ */

/* The setters write through the project, whose watch (on_setting_written) emits. */

char *
sl_session_dup_pipeline_json (SlSession *self, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return sl_project_dup_pipeline_json (self->project, error);
}

char *
sl_session_dup_stored_pipeline_json (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return sl_project_dup_stored_pipeline_json (self->project);
}

gboolean
sl_session_set_pipeline_json (SlSession *self, const char *json, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return sl_project_set_pipeline_json (self->project, json, error);
}

gboolean
sl_session_get_augment (SlSession *self, sl_augment_config *config)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return sl_project_get_augment (self->project, config, NULL);
}

char *
sl_session_dup_augment_json (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return sl_project_dup_augment_json (self->project);
}

gboolean
sl_session_set_augment (SlSession *self, const sl_augment_config *config, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return sl_project_set_augment (self->project, config, error);
}

gboolean
sl_session_get_reject_threshold (SlSession *self, double *threshold)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return sl_project_get_reject_threshold (self->project, threshold);
}

gboolean
sl_session_set_reject_threshold (SlSession *self, double threshold, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return sl_project_set_reject_threshold (self->project, threshold, error);
}

char *
sl_session_dup_export_folder (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  return sl_project_dup_export_folder (self->project);
}

gboolean
sl_session_set_export_folder (SlSession *self, const char *folder, GError **error)
{
  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);
  return sl_project_set_export_folder (self->project, folder, error);
}

void
sl_session_refresh_settings (SlSession *self)
{
  g_return_if_fail (SL_IS_SESSION (self));
  for (guint i = 0; i < G_N_ELEMENTS (self->seen); i++)
    {
      char *now = read_setting (self, i);

      if (g_strcmp0 (now, self->seen[i]) == 0)
        {
          g_free (now);
          continue;
        }
      g_free (self->seen[i]);
      self->seen[i] = now;
      emit_setting_changed (self, i);
    }
}
