/* sl-project-conflicts.c: one picture in two class folders: recorded at import, listed, resolved by the user. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

#include <string.h>

void
sl_label_conflict_free (SlLabelConflict *c)
{
  if (c == NULL)
    return;
  g_free (c->image_path);
  g_free (c->kept_class);
  g_free (c->path);
  g_free (c->other_class);
  g_free (c);
}

gboolean
sl_import_issue_is_conflict (const SlImportIssue *issue)
{
  /* The import words a conflicting duplicate's reason so (sl-project-import.c). */
  return issue->outcome == SL_IMPORT_DUPLICATE && issue->reason != NULL
         && strstr (issue->reason, "a label conflict to resolve") != NULL;
}

gboolean
_sl_project_note_label_conflict (SlProject *self, gint64 image_id, gint64 import_id,
                                 const char *path, const char *class_name, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self,
      "INSERT INTO label_conflicts (image_id, import_id, path, class_name) VALUES (?, ?, ?, ?)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, image_id);
  sqlite3_bind_int64 (stmt, 2, import_id);
  sqlite3_bind_text (stmt, 3, path, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, class_name, -1, SQLITE_STATIC);
  return _sl_project_step_done (self, stmt, error);
}

/* A later file whose folder names the label the image has now is no conflict
 * any more (the user may have picked it by hand before this table existed). */
#define OPEN_CONFLICTS                                                                             \
  "FROM label_conflicts lc JOIN images i ON i.id = lc.image_id "                                   \
  "LEFT JOIN classes c ON c.id = i.class_id WHERE c.name IS NOT lc.class_name"

gint64
_sl_project_count_label_conflicts (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (self->schema_version < 2)
    return 0;
  if ((stmt
       = _sl_project_prepare (self, "SELECT count(DISTINCT lc.image_id) " OPEN_CONFLICTS, error))
      == NULL)
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      _sl_project_set_db_error (self, error, "Could not count the label conflicts");
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}

GPtrArray *
sl_project_list_label_conflicts (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GPtrArray) out
      = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_label_conflict_free);
  int rc;

  if (self->schema_version < 2)
    return g_steal_pointer (&out);
  stmt = _sl_project_prepare (self,
                              "SELECT lc.image_id, i.original_path, c.name, lc.path, "
                              "lc.class_name " OPEN_CONFLICTS " ORDER BY lc.image_id, lc.id",
                              error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SlLabelConflict *c = g_new0 (SlLabelConflict, 1);

      c->image_id = sqlite3_column_int64 (stmt, 0);
      c->image_path = _sl_sqlite_dup_text (stmt, 1);
      c->kept_class = _sl_sqlite_dup_text (stmt, 2);
      c->path = _sl_sqlite_dup_text (stmt, 3);
      c->other_class = _sl_sqlite_dup_text (stmt, 4);
      g_ptr_array_add (out, c);
    }
  if (rc != SQLITE_DONE)
    {
      _sl_project_set_db_error (self, error, "Could not read the label conflicts");
      return NULL;
    }
  return g_steal_pointer (&out);
}

gboolean
sl_project_resolve_label_conflict (SlProject *self, gint64 image_id, const char *class_name,
                                   GError **error)
{
  g_autoptr (SlClass) klass = NULL;
  gint64 class_id = -1;

  if (!sl_project_check_writable (self, error))
    return FALSE;
  if (class_name != NULL)
    {
      g_autoptr (GError) local = NULL;

      klass = sl_project_find_class (self, class_name, &local);
      if (klass != NULL)
        class_id = klass->id;
      else if (!g_error_matches (local, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      else if ((class_id = sl_project_add_class (self, class_name, NULL, NULL, error)) < 0)
        return FALSE;
    }
  if (!sl_project_set_labels (self, &image_id, 1, class_id, error))
    return FALSE;
  /* Choosing the label it already had changes no row, so the trigger that
   * forgets the conflicts did not fire. */
  {
    g_autoptr (sqlite3_stmt) stmt
        = _sl_project_prepare (self, "DELETE FROM label_conflicts WHERE image_id = ?", error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, image_id);
    return _sl_project_step_done (self, stmt, error);
  }
}
