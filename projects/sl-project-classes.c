/* sl-project-classes.c: classes (create, rename, merge, delete, colours and shortcuts). */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"
#include "sl-project-lock.h"

#include <glib/gstdio.h>
#include <string.h>

/* Tableau 10: distinct on screen and for most colour-blind users. */
static const char *const palette[] = {
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
};

void
sl_class_free (SlClass *klass)
{
  if (klass == NULL)
    return;
  g_free (klass->name);
  g_free (klass->color);
  g_free (klass->shortcut);
  g_free (klass);
}

static SlClass *
class_from_row (sqlite3_stmt *stmt)
{
  SlClass *klass = g_new0 (SlClass, 1);

  klass->id = sqlite3_column_int64 (stmt, 0);
  klass->name = _sl_sqlite_dup_text (stmt, 1);
  klass->color = _sl_sqlite_dup_text (stmt, 2);
  klass->shortcut = _sl_sqlite_dup_text (stmt, 3);
  klass->images = sqlite3_column_int64 (stmt, 4);
  return klass;
}

#define CLASS_COLUMNS                                                                              \
  "SELECT c.id, c.name, c.color, c.shortcut, "                                                     \
  "(SELECT count(*) FROM images i WHERE i.class_id = c.id AND i.ignored = 0) FROM classes c "

GPtrArray *
sl_project_list_classes (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt
      = _sl_project_prepare (self, CLASS_COLUMNS "ORDER BY c.position, c.id", error);
  GPtrArray *out;

  if (stmt == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_class_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (out, class_from_row (stmt));
  return out;
}

SlClass *
sl_project_find_class (SlProject *self, const char *name, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt
      = _sl_project_prepare (self, CLASS_COLUMNS "WHERE c.name = ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return class_from_row (stmt);
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND, "There is no class named “%s”",
               name);
  return NULL;
}

static gboolean
check_name (const char *name, GError **error)
{
  if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL)
      || g_utf8_strlen (name, -1) > 100 || g_ascii_isspace (name[0])
      || g_ascii_isspace (name[strlen (name) - 1]))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "A class name must be 1 to 100 characters of text without spaces at its "
                   "ends");
      return FALSE;
    }
  for (const char *p = name; *p; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      {
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                     "A class name cannot hold control characters");
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_color (const char *color, GError **error)
{
  if (color == NULL)
    return TRUE;
  if (strlen (color) == 7 && color[0] == '#')
    {
      gboolean ok = TRUE;
      for (int i = 1; i < 7; i++)
        ok = ok && g_ascii_isxdigit (color[i]);
      if (ok)
        return TRUE;
    }
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
               "A class colour is written #rrggbb, not “%s”", color);
  return FALSE;
}

static gboolean
check_unique (SlProject *self, const char *column, const char *value, gint64 except, GError **error)
{
  g_autofree char *sql
      = g_strdup_printf ("SELECT id FROM classes WHERE %s = ? AND id != ?", column);
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (self, sql, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, value, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, except);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS,
                   strcmp (column, "name") == 0 ? "There is already a class named “%s”"
                                                : "The shortcut “%s” already belongs to a class",
                   value);
      return FALSE;
    }
  return TRUE;
}

static gboolean
class_exists (SlProject *self, gint64 id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt
      = _sl_project_prepare (self, "SELECT 1 FROM classes WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return TRUE;
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND, "There is no class %lld",
               (long long) id);
  return FALSE;
}

gint64
sl_project_add_class (SlProject *self, const char *name, const char *color, const char *shortcut,
                      GError **error)
{
  g_autoptr (sqlite3_stmt) count = NULL, insert = NULL;
  g_autofree char *free_key = NULL;
  gint64 n;

  if (!check_name (name, error) || !check_color (color, error)
      || !check_unique (self, "name", name, -1, error)
      || (shortcut != NULL && !check_unique (self, "shortcut", shortcut, -1, error)))
    return -1;
  if ((count = _sl_project_prepare (self,
                                    "SELECT count(*), ifnull(max(position), -1) + 1 FROM "
                                    "classes",
                                    error))
          == NULL
      || sqlite3_step (count) != SQLITE_ROW)
    return -1;
  n = sqlite3_column_int64 (count, 0);
  if (shortcut == NULL)
    {
      /* Keys 1..9 then 0 for the first ten classes, while they are free. */
      for (int k = 1; k <= 10 && free_key == NULL; k++)
        {
          g_autofree char *key = g_strdup_printf ("%d", k % 10);
          if (check_unique (self, "shortcut", key, -1, NULL))
            free_key = g_steal_pointer (&key);
        }
      shortcut = free_key;
    }
  if ((insert = _sl_project_prepare (
           self, "INSERT INTO classes (name, color, shortcut, position) VALUES (?, ?, ?, ?)",
           error))
      == NULL)
    return -1;
  sqlite3_bind_text (insert, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert, 2, color ? color : palette[n % G_N_ELEMENTS (palette)], -1,
                     SQLITE_STATIC);
  if (shortcut != NULL)
    sqlite3_bind_text (insert, 3, shortcut, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 4, sqlite3_column_int64 (count, 1));
  if (!_sl_project_step_done (self, insert, error))
    return -1;
  return sqlite3_last_insert_rowid (self->db);
}

gboolean
sl_project_rename_class (SlProject *self, gint64 class_id, const char *name, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (!check_name (name, error) || !class_exists (self, class_id, error)
      || !check_unique (self, "name", name, class_id, error)
      || (stmt = _sl_project_prepare (self, "UPDATE classes SET name = ? WHERE id = ?", error))
             == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, class_id);
  return _sl_project_step_done (self, stmt, error);
}

gboolean
sl_project_set_class_style (SlProject *self, gint64 class_id, const char *color,
                            const char *shortcut, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (!class_exists (self, class_id, error) || !check_color (color, error)
      || (shortcut != NULL && *shortcut != '\0'
          && !check_unique (self, "shortcut", shortcut, class_id, error)))
    return FALSE;
  /* NULL keeps a value; an empty shortcut removes it. */
  stmt = _sl_project_prepare (self,
                              "UPDATE classes SET color = ifnull(?1, color), shortcut = CASE "
                              "WHEN ?2 IS NULL THEN shortcut WHEN ?2 = '' THEN NULL ELSE ?2 END "
                              "WHERE id = ?3",
                              error);
  if (stmt == NULL)
    return FALSE;
  if (color != NULL)
    sqlite3_bind_text (stmt, 1, color, -1, SQLITE_STATIC);
  if (shortcut != NULL)
    sqlite3_bind_text (stmt, 2, shortcut, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, class_id);
  return _sl_project_step_done (self, stmt, error);
}

gboolean
sl_project_merge_classes (SlProject *self, gint64 from, gint64 into, GError **error)
{
  g_autoptr (sqlite3_stmt) move = NULL, drop = NULL;

  if (from == into)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "A class cannot be merged into itself");
      return FALSE;
    }
  if (!class_exists (self, from, error) || !class_exists (self, into, error)
      || (move
          = _sl_project_prepare (self, "UPDATE images SET class_id = ? WHERE class_id = ?", error))
             == NULL
      || (drop = _sl_project_prepare (self, "DELETE FROM classes WHERE id = ?", error)) == NULL
      || !_sl_project_begin (self, error))
    return FALSE;
  sqlite3_bind_int64 (move, 1, into);
  sqlite3_bind_int64 (move, 2, from);
  sqlite3_bind_int64 (drop, 1, from);
  if (!_sl_project_step_done (self, move, error) || !_sl_project_step_done (self, drop, error)
      || !_sl_project_commit (self, error))
    {
      _sl_project_rollback (self);
      return FALSE;
    }
  return TRUE;
}

gboolean
sl_project_delete_class (SlProject *self, gint64 class_id, SlClassDeleteMode mode, gint64 *n_images,
                         GError **error)
{
  g_autoptr (sqlite3_stmt) files = NULL, images = NULL, drop = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  if (!class_exists (self, class_id, error))
    return FALSE;
  files = _sl_project_prepare (self, "SELECT hash, ext FROM images WHERE class_id = ?", error);
  images = _sl_project_prepare (self,
                                mode == SL_CLASS_DELETE_REMOVE_IMAGES
                                    ? "DELETE FROM images WHERE class_id = ?"
                                    : "UPDATE images SET class_id = NULL WHERE class_id = ?",
                                error);
  drop = _sl_project_prepare (self, "DELETE FROM classes WHERE id = ?", error);
  if (files == NULL || images == NULL || drop == NULL || !_sl_project_begin (self, error))
    return FALSE;
  sqlite3_bind_int64 (files, 1, class_id);
  while (sqlite3_step (files) == SQLITE_ROW)
    g_ptr_array_add (paths,
                     sl_project_image_path (self, (const char *) sqlite3_column_text (files, 0),
                                            (const char *) sqlite3_column_text (files, 1)));
  sqlite3_bind_int64 (images, 1, class_id);
  sqlite3_bind_int64 (drop, 1, class_id);
  if (!_sl_project_step_done (self, images, error) || !_sl_project_step_done (self, drop, error)
      || !_sl_project_commit (self, error))
    {
      _sl_project_rollback (self);
      return FALSE;
    }
  /* Stored copies go only once no row names them, and only while no import
   * is alive: one may be copying the same content back in right now. Else
   * the next clean-up on open removes them. */
  if (mode == SL_CLASS_DELETE_REMOVE_IMAGES && paths->len > 0)
    {
      g_autofree char *lock_path = sl_project_lock_path (self->path, SL_PROJECT_LOCK_STORE);
      g_autoptr (SlLock) lock = sl_lock_take (lock_path, SL_LOCK_EXCLUSIVE, 0, NULL, NULL);

      for (guint i = 0; lock != NULL && i < paths->len; i++)
        g_unlink (g_ptr_array_index (paths, i));
      if (lock == NULL)
        _sl_project_set_setting (self, "import-active", "orphans", NULL);
    }
  if (n_images != NULL)
    *n_images = paths->len;
  return TRUE;
}
