/* sl-project.c: opening and creating project folders, settings, and the SQLite helpers. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sl-files.h"

G_DEFINE_QUARK (sl - project - error - quark, sl_project_error)

void
sl_project_set_db_error (SlProject *self, GError **error, const char *what)
{
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE, "%s: %s (in %s)", what,
               sqlite3_errmsg (self->db), self->db_path);
}

void
sl_project_set_runtime_error (GError **error, const sl_error *err, const char *what)
{
  if (err->code == SL_ERR_CANCELLED)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", err->message);
  else
    g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME, "%s: %s", what, err->message);
}

gboolean
sl_project_exec (SlProject *self, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE, "%s (in %s)",
                   msg ? msg : sqlite3_errmsg (self->db), self->db_path);
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
sl_project_prepare (SlProject *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      sl_project_set_db_error (self, error, "Could not query the project");
      return NULL;
    }
  return stmt;
}

gboolean
sl_project_step_done (SlProject *self, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      sl_project_set_db_error (self, error, "Could not update the project");
      return FALSE;
    }
  return TRUE;
}

gboolean
sl_project_begin (SlProject *self, GError **error)
{
  return sl_project_exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
sl_project_commit (SlProject *self, GError **error)
{
  return sl_project_exec (self, "COMMIT", error);
}

void
sl_project_rollback (SlProject *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

char *
sl_sqlite_dup_text (sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

char *
sl_project_now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

static void
sl_project_free (SlProject *self)
{
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_free (self->path);
  g_free (self->db_path);
  g_free (self);
}

SlProject *
sl_project_ref (SlProject *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref);
  return self;
}

void
sl_project_unref (SlProject *self)
{
  if (self != NULL && g_atomic_ref_count_dec (&self->ref))
    sl_project_free (self);
}

/* Opens the database with WAL and foreign keys; `create` allows a new file. */
static SlProject *
connect (const char *path, gboolean create, GError **error)
{
  g_autoptr (SlProject) self = g_new0 (SlProject, 1);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);

  g_atomic_ref_count_init (&self->ref);
  self->path = g_canonicalize_filename (path, NULL);
  self->db_path = g_build_filename (self->path, "project.db", NULL);
  if (!create && !g_file_test (self->db_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_A_PROJECT,
                   "%s is not a Sightline project (it has no project.db); create one with "
                   "'sightline-cli new'",
                   self->path);
      return NULL;
    }
  if (sqlite3_open_v2 (self->db_path, &self->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE, "Could not open %s: %s",
                   self->db_path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }
  sqlite3_busy_timeout (self->db, 10000);
  if (!sl_project_exec (self,
                        "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                        "PRAGMA synchronous = NORMAL",
                        error))
    {
      if (error != NULL && *error != NULL)
        (*error)->code = SL_PROJECT_ERROR_NOT_A_PROJECT;
      g_prefix_error (error, "%s is not a readable project database: ", self->db_path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

static gboolean
make_folders (const char *root, GError **error)
{
  static const char *const folders[] = { "images", "runs", "models" };

  for (gsize i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *dir = g_build_filename (root, folders[i], NULL);

      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not create %s: %s", dir,
                       g_strerror (saved));
          return FALSE;
        }
    }
  return TRUE;
}

SlProject *
sl_project_create (const char *path, const char *name, GError **error)
{
  g_autoptr (SlProject) self = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autofree char *base = NULL, *now = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not create %s: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  if ((dir = g_dir_open (path, 0, error)) == NULL)
    return NULL;
  if (g_dir_read_name (dir) != NULL)
    {
      g_autofree char *db = g_build_filename (path, "project.db", NULL);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS,
                   g_file_test (db, G_FILE_TEST_EXISTS)
                       ? "%s already holds a project; open it instead"
                       : "%s is not empty; give a new or empty folder for the project",
                   path);
      return NULL;
    }
  if (!make_folders (path, error) || (self = connect (path, TRUE, error)) == NULL
      || !sl_project_migrate (self, error))
    return NULL;
  base = name != NULL ? g_strdup (name) : g_path_get_basename (self->path);
  now = sl_project_now_iso ();
  if (!sl_project_set_setting (self, "name", base, error)
      || !sl_project_set_setting (self, "created", now, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* Removes temporary files (".tmp-" in their names) that a killed import or
 * checkpoint write left behind, and, after an import that did not finish,
 * stored copies that no image row points to. */
static void
clean_folder (SlProject *self, const char *path, gboolean orphans)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (sqlite3_stmt) stmt = NULL;
  const char *name;

  if (dir == NULL)
    return;
  if (orphans)
    stmt = sl_project_prepare (self, "SELECT 1 FROM images WHERE hash = ?", NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && strstr (name, ".tmp-") != NULL)
        sl_remove_tree (child); /* a run whose delete was interrupted */
      else if (g_file_test (child, G_FILE_TEST_IS_DIR))
        clean_folder (self, child, orphans);
      else if (strstr (name, ".tmp-") != NULL)
        g_unlink (child);
      else if (stmt != NULL)
        {
          g_autofree char *hash = g_strndup (name, strcspn (name, "."));

          sqlite3_reset (stmt);
          sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
          if (sqlite3_step (stmt) != SQLITE_ROW)
            {
              g_debug ("removing %s, left by an unfinished import", child);
              g_unlink (child);
            }
        }
    }
}

static SlProject *
open_project (const char *path, gboolean clean, GError **error)
{
  g_autoptr (SlProject) self = connect (path, FALSE, error);
  g_autofree char *importing = NULL;

  if (self == NULL)
    return NULL;
  if (!sl_project_migrate (self, error))
    return NULL;
  if (!clean)
    return g_steal_pointer (&self);
  if (!make_folders (self->path, error))
    return NULL;
  importing = sl_project_get_setting (self, "import-active");
  {
    g_autofree char *images = g_build_filename (self->path, "images", NULL);
    g_autofree char *runs = g_build_filename (self->path, "runs", NULL);

    clean_folder (self, images, importing != NULL);
    clean_folder (self, runs, FALSE);
  }
  if (importing != NULL)
    {
      sl_project_exec (self,
                       "DELETE FROM settings WHERE key = 'import-active';"
                       "UPDATE imports SET status = 'interrupted' WHERE status = 'running'",
                       NULL);
    }
  return g_steal_pointer (&self);
}

SlProject *
sl_project_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  return open_project (path, TRUE, error);
}

SlProject *
sl_project_open_worker (const char *path, GError **error)
{
  return open_project (path, FALSE, error);
}

const char *
sl_project_get_path (SlProject *self)
{
  return self->path;
}

char *
sl_project_dup_name (SlProject *self)
{
  return sl_project_get_setting (self, "name");
}

char *
sl_project_image_path (SlProject *self, const char *hash, const char *ext)
{
  g_autofree char *prefix = g_strndup (hash, 2);
  g_autofree char *file = g_strdup_printf ("%s.%s", hash, ext);

  return g_build_filename (self->path, "images", prefix, file, NULL);
}

char *
sl_project_get_setting (SlProject *self, const char *key)
{
  g_autoptr (sqlite3_stmt) stmt
      = sl_project_prepare (self, "SELECT value FROM settings WHERE key = ?", NULL);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  return sqlite3_step (stmt) == SQLITE_ROW ? sl_sqlite_dup_text (stmt, 0) : NULL;
}

gboolean
sl_project_set_setting (SlProject *self, const char *key, const char *value, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (value == NULL)
    stmt = sl_project_prepare (self, "DELETE FROM settings WHERE key = ?1", error);
  else
    stmt = sl_project_prepare (self, "INSERT OR REPLACE INTO settings VALUES (?1, ?2)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (value != NULL)
    sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  return sl_project_step_done (self, stmt, error);
}
