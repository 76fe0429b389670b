/* sl-project.c: opening and creating project folders, settings, and the SQLite helpers. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sl-files.h"

G_DEFINE_QUARK (sl - project - error - quark, sl_project_error)

void
_sl_project_set_db_error (SlProject *self, GError **error, const char *what)
{
  int rc = sqlite3_extended_errcode (self->db);

  if (_sl_project_set_busy_error (self, error, what))
    return;
  if (_sl_sqlite_is_damage (rc))
    {
      g_autofree char *cause = g_strdup_printf ("%s: %s", what, sqlite3_errmsg (self->db));
      _sl_project_set_damaged (self->path, self->db, cause, error);
    }
  else if ((rc & 0xff) == SQLITE_READONLY)
    {
      /* A project that opened writable and became read-only (a medium
       * remounted) gets the same kind of error as one that opened read-only. */
      if (sl_project_check_writable (self, error))
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY,
                     "%s: the project can no longer be written (%s is read-only)", what,
                     self->db_path);
    }
  else
    g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE, "%s: %s (in %s)", what,
                 sqlite3_errmsg (self->db), self->db_path);
}

gboolean
sl_project_is_read_only (SlProject *self)
{
  return self->read_only;
}

const char *
sl_project_get_read_only_reason (SlProject *self)
{
  return self->read_only_reason;
}

gboolean
_sl_project_check_same_file (SlProject *self, const char *what, GError **error)
{
  GStatBuf st;

  if (g_stat (self->db_path, &st) == 0 && st.st_dev == self->db_dev && st.st_ino == self->db_ino)
    return TRUE;
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED,
               "%s: another program repaired or replaced %s since it was opened here; close the "
               "project and reopen it, then try again (nothing was changed)",
               what, self->db_path);
  return FALSE;
}

gboolean
sl_project_check_writable (SlProject *self, GError **error)
{
  if (!self->read_only)
    return TRUE;
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY, "%s", self->read_only_reason);
  return FALSE;
}

void
_sl_project_set_runtime_error (GError **error, const sl_error *err, const char *what)
{
  if (err->code == SL_ERR_CANCELLED)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", err->message);
  else
    g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME, "%s: %s", what, err->message);
}

gboolean
_sl_project_exec (SlProject *self, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      int rc = sqlite3_extended_errcode (self->db);

      if (_sl_sqlite_is_damage (rc) || (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_BUSY
          || (rc & 0xff) == SQLITE_LOCKED)
        _sl_project_set_db_error (self, error, "Could not update the project");
      else
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE, "%s (in %s)",
                     msg ? msg : sqlite3_errmsg (self->db), self->db_path);
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
_sl_project_prepare (SlProject *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      _sl_project_set_db_error (self, error, "Could not query the project");
      return NULL;
    }
  return stmt;
}

gboolean
_sl_project_step_done (SlProject *self, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _sl_project_set_db_error (self, error, "Could not update the project");
      return FALSE;
    }
  return TRUE;
}

gboolean
_sl_project_begin (SlProject *self, GError **error)
{
  if (!sl_project_check_writable (self, error))
    return FALSE;
  return _sl_project_exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
_sl_project_commit (SlProject *self, GError **error)
{
  return _sl_project_exec (self, "COMMIT", error);
}

void
_sl_project_rollback (SlProject *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

char *
_sl_sqlite_dup_text (sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

char *
_sl_project_now_iso (void)
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
  g_free (self->read_only_reason);
  g_clear_pointer (&self->setting_watches, g_array_unref);
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

/* Why an existing project cannot be written, or NULL when it can: a
 * read-only file system, or no permission on the folder, project.db or its
 * WAL files (SQLite needs all of them to write). */
static char *
read_only_reason (const char *root, const char *db_path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm" };
  struct statvfs vfs;

  if (statvfs (root, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
    return g_strdup_printf ("This project is on a read-only medium (%s), so it is open for "
                            "viewing only: browsing, statistics, evaluation results and export "
                            "to another folder work; edits are off. Copy the folder to a "
                            "writable disk to change it.",
                            root);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (db_path, suffixes[i], NULL);
      const char *target = i == 0 ? root : file;

      if (i > 0 && !g_file_test (file, G_FILE_TEST_EXISTS))
        continue;
      if (access (target, W_OK) != 0 || (i == 0 && access (db_path, W_OK) != 0))
        {
          int saved = errno;
          return g_strdup_printf (
              "You have no permission to change %s (%s), so this project is open for viewing "
              "only: browsing, statistics, evaluation results and export to another folder "
              "work; edits are off. Ask for write access, or copy the folder to change it.",
              target, g_strerror (saved));
        }
    }
  return NULL;
}

/* Opens the database read-only. A WAL database needs its -shm file to be read;
 * on a read-only medium where none was left behind (a clean close deletes it)
 * SQLite cannot make one, so the file is then opened as immutable: nothing can
 * change it there anyway. */
static int
open_read_only (SlProject *self)
{
  int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI;
  int rc = sqlite3_open_v2 (self->db_path, &self->db, flags, NULL);
  g_autofree char *escaped = NULL, *uri = NULL;

  if (rc == SQLITE_OK)
    rc = sqlite3_exec (self->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
  if (rc == SQLITE_OK || _sl_sqlite_is_damage (sqlite3_extended_errcode (self->db)))
    return rc;
  g_clear_pointer (&self->db, sqlite3_close_v2);
  escaped = g_uri_escape_string (self->db_path, "/", FALSE);
  uri = g_strdup_printf ("file:%s?immutable=1", escaped);
  return sqlite3_open_v2 (uri, &self->db, flags, NULL);
}

/* Opens the database with WAL and foreign keys; `create` allows a new file.
 * An existing project that cannot be written opens read-only. */
static SlProject *
connect (const char *path, gboolean create, GError **error)
{
  g_autoptr (SlProject) self = g_new0 (SlProject, 1);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  GStatBuf st;
  int rc;

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
  if (!create && g_stat (self->db_path, &st) == 0 && st.st_size == 0)
    {
      /* SQLite would take an empty file for a new database and a project that
       * lost its index would silently open empty. */
      _sl_project_set_damaged (self->path, NULL, "its project.db is empty (0 bytes)", error);
      return NULL;
    }
  if (!create)
    self->read_only_reason = read_only_reason (self->path, self->db_path);
  self->read_only = self->read_only_reason != NULL;
  rc = self->read_only ? open_read_only (self)
                       : sqlite3_open_v2 (self->db_path, &self->db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      if (self->db != NULL && _sl_sqlite_is_damage (sqlite3_extended_errcode (self->db)))
        {
          g_autofree char *cause
              = g_strdup_printf ("project.db does not open (%s)", sqlite3_errmsg (self->db));
          _sl_project_set_damaged (self->path, NULL, cause, error);
          return NULL;
        }
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE, "Could not open %s: %s",
                   self->db_path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }
  if (g_stat (self->db_path, &st) == 0)
    {
      self->db_dev = st.st_dev;
      self->db_ino = st.st_ino;
    }
  _sl_project_wait_when_busy (self);
  if (!_sl_project_exec (self,
                         self->read_only ? "PRAGMA foreign_keys = ON"
                                         : "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                                           "PRAGMA synchronous = NORMAL",
                         error))
    {
      if (error != NULL && *error != NULL && (*error)->code == SL_PROJECT_ERROR_DAMAGED)
        return NULL;
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
_sl_project_create_index (const char *path, GError **error)
{
  g_autoptr (SlProject) self = connect (path, TRUE, error);

  if (self == NULL || !_sl_project_migrate (self, error))
    return NULL;
  return g_steal_pointer (&self);
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
      || !_sl_project_migrate (self, error))
    return NULL;
  base = name != NULL ? g_strdup (name) : g_path_get_basename (self->path);
  now = _sl_project_now_iso ();
  if (!_sl_project_set_setting (self, "name", base, error)
      || !_sl_project_set_setting (self, "created", now, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* Looks for damage before anything reports on the data: every table this
 * build reads must be there, and, when the project is opened for use (whole),
 * the tables people care about must read to the end (a count visits every page
 * of a table). Worker connections of a project this process has opened skip
 * those scans; damage they meet later is still reported as such. SQLite's
 * quick check runs only when something fails here or later
 * (_sl_project_set_db_error). */
static gboolean
check_readable (SlProject *self, gboolean whole, GError **error)
{
  g_autofree char *missing = NULL;

  if (!_sl_project_schema_complete (self, &missing))
    {
      g_autofree char *cause = NULL;

      if (_sl_sqlite_is_damage (sqlite3_extended_errcode (self->db)))
        cause = g_strdup_printf ("its tables do not read (%s)", sqlite3_errmsg (self->db));
      else
        cause = g_strdup_printf ("its database lacks %s", missing);
      _sl_project_set_damaged (self->path, self->db, cause, error);
      return FALSE;
    }
  /* count(column) of a column no index holds: count(*) would read a smaller
   * index instead and miss a damaged table. */
  static const char *const probes[] = {
    "SELECT count(value) FROM settings",
    "SELECT count(color) FROM classes",
    "SELECT count(imported_at) FROM images",
    "SELECT count(config_json) FROM runs",
  };

  for (gsize i = 0; whole && i < G_N_ELEMENTS (probes); i++)
    {
      g_autoptr (sqlite3_stmt) stmt = NULL;
      int rc = sqlite3_prepare_v2 (self->db, probes[i], -1, &stmt, NULL);

      if (rc == SQLITE_OK)
        rc = sqlite3_step (stmt);
      if (rc != SQLITE_ROW && _sl_sqlite_is_damage (sqlite3_extended_errcode (self->db)))
        {
          g_autofree char *cause
              = g_strdup_printf ("its tables do not read (%s)", sqlite3_errmsg (self->db));
          _sl_project_set_damaged (self->path, self->db, cause, error);
          return FALSE;
        }
      if (rc != SQLITE_ROW)
        {
          _sl_project_set_db_error (self, error, "Could not read the project");
          return FALSE;
        }
    }
  return TRUE;
}

static SlProject *
open_project (const char *path, gboolean clean, GError **error)
{
  g_autoptr (SlProject) self = connect (path, FALSE, error);

  if (self == NULL)
    return NULL;
  if (!_sl_project_migrate (self, error) || !check_readable (self, clean, error))
    return NULL;
  if (!clean || self->read_only)
    return g_steal_pointer (&self); /* a read-only project is never cleaned up */
  if (!make_folders (self->path, error))
    return NULL;
  /* Only what dead processes left: see sl-project-cleanup.c. */
  _sl_project_clean_up (self);
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
  return _sl_project_get_setting (self, "name");
}

char *
sl_project_image_path (SlProject *self, const char *hash, const char *ext)
{
  g_autofree char *prefix = g_strndup (hash, 2);
  g_autofree char *file = g_strdup_printf ("%s.%s", hash, ext);

  return g_build_filename (self->path, "images", prefix, file, NULL);
}

char *
_sl_project_get_setting (SlProject *self, const char *key)
{
  g_autoptr (sqlite3_stmt) stmt
      = _sl_project_prepare (self, "SELECT value FROM settings WHERE key = ?", NULL);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  return sqlite3_step (stmt) == SQLITE_ROW ? _sl_sqlite_dup_text (stmt, 0) : NULL;
}

gboolean
_sl_project_set_setting (SlProject *self, const char *key, const char *value, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (value == NULL)
    stmt = _sl_project_prepare (self, "DELETE FROM settings WHERE key = ?1", error);
  else
    stmt = _sl_project_prepare (self, "INSERT OR REPLACE INTO settings VALUES (?1, ?2)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (value != NULL)
    sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  return _sl_project_step_done (self, stmt, error);
}
