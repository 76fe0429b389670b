/* sl-anomaly-kind.c: the project's kind (classify or find anomalies), kept in its settings. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-private.h"

#include <glib/gstdio.h>

/* The settings key; projects made before kinds existed have none and classify. */
#define KIND_KEY "kind"

/* The palette's green and red (sl-project-classes.c): good and defect at a glance. */
#define GOOD_COLOR   "#59a14f"
#define DEFECT_COLOR "#e15759"

static const char *const kind_names[] = {
  [SL_PROJECT_KIND_CLASSIFY] = "classify",
  [SL_PROJECT_KIND_ANOMALY] = "anomaly",
};

const char *
sl_project_kind_to_string (SlProjectKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names), NULL);
  return kind_names[kind];
}

gboolean
sl_project_kind_from_string (const char *name, SlProjectKind *kind)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (kind_names); i++)
    if (g_strcmp0 (name, kind_names[i]) == 0)
      {
        *kind = (SlProjectKind) i;
        return TRUE;
      }
  return FALSE;
}

SlProject *
sl_project_create_kind (const char *path, const char *name, SlProjectKind kind, GError **error)
{
  g_autoptr (SlProject) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  if ((guint) kind >= G_N_ELEMENTS (kind_names))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "Unknown project kind %d; a project classifies or finds anomalies", kind);
      return NULL;
    }
  if ((self = sl_project_create (path, name, error)) == NULL)
    return NULL;
  /* One transaction: a project is never left half an anomaly project. */
  if (!_sl_project_begin (self, error))
    return NULL;
  if (!_sl_project_set_setting (self, KIND_KEY, kind_names[kind], error)
      || (kind == SL_PROJECT_KIND_ANOMALY
          && (sl_project_add_class (self, SL_ANOMALY_GOOD_CLASS, GOOD_COLOR, NULL, error) < 0
              || sl_project_add_class (self, SL_ANOMALY_DEFECT_CLASS, DEFECT_COLOR, NULL, error)
                     < 0))
      || !_sl_project_commit (self, error))
    {
      _sl_project_rollback (self);
      return NULL;
    }
  return g_steal_pointer (&self);
}

SlProjectKind
sl_project_get_kind (SlProject *self)
{
  g_autofree char *value = NULL;
  SlProjectKind kind = SL_PROJECT_KIND_CLASSIFY;

  g_return_val_if_fail (self != NULL, SL_PROJECT_KIND_CLASSIFY);
  value = _sl_project_get_setting (self, KIND_KEY);
  if (value != NULL && !sl_project_kind_from_string (value, &kind))
    g_warning ("unknown project kind “%s” (a newer Sightline?); treated as classify", value);
  return kind;
}

gboolean
sl_project_is_good_class (SlProject *self, gint64 class_id)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (sl_project_get_kind (self) != SL_PROJECT_KIND_ANOMALY)
    return FALSE;
  stmt = _sl_project_prepare (self, "SELECT name = ? FROM classes WHERE id = ?", NULL);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, SL_ANOMALY_GOOD_CLASS, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, class_id);
  return sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) != 0;
}
