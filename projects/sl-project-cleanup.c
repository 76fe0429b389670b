/* sl-project-cleanup.c: on open, removes what a dead import, training or run delete left behind. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sl-files.h"
#include "sl-project-lock.h"

/* Whether the store may hold copies that no row names: an import died (its
 * row still says running), failed after writing copies, or a delete left
 * files (the "import-active" setting). */
static gboolean
store_needs_scan (SlProject *self)
{
  g_autofree char *flag = _sl_project_get_setting (self, "import-active");
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (flag != NULL)
    return TRUE;
  stmt = _sl_project_prepare (self, "SELECT 1 FROM imports WHERE status = 'running' LIMIT 1", NULL);
  return stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW;
}

/* Removes temporary copies and, when `known` is set, stored copies whose
 * hash and extension no image row names. */
static void
clean_store_folder (SlProject *self, const char *path, sqlite3_stmt *known)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      const char *dot = strchr (name, '.');

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        clean_store_folder (self, child, known);
      else if (strstr (name, ".tmp-") != NULL)
        g_unlink (child);
      else if (known != NULL && dot != NULL)
        {
          g_autofree char *hash = g_strndup (name, dot - name);

          sqlite3_reset (known);
          sqlite3_bind_text (known, 1, hash, -1, SQLITE_TRANSIENT);
          sqlite3_bind_text (known, 2, dot + 1, -1, SQLITE_TRANSIENT);
          if (sqlite3_step (known) != SQLITE_ROW)
            {
              g_debug ("removing %s, left by an import that did not finish", child);
              g_unlink (child);
            }
          sqlite3_reset (known);
        }
    }
}

/* images/: only while holding the store lock exclusively, that is while no
 * import (of this or any process) is alive; otherwise it waits for a later
 * open, since a live import's copies have no rows until its batch commits. */
static void
clean_store (SlProject *self)
{
  g_autofree char *lock_path = sl_project_lock_path (self->path, SL_PROJECT_LOCK_STORE);
  g_autofree char *images = g_build_filename (self->path, "images", NULL);
  g_autoptr (SlLock) lock = sl_lock_take (lock_path, SL_LOCK_EXCLUSIVE, 0, NULL, NULL);
  g_autoptr (sqlite3_stmt) known = NULL;
  gboolean scan;

  if (lock == NULL)
    {
      g_debug ("an import is running in %s: its store is cleaned on a later open", self->path);
      return;
    }
  scan = store_needs_scan (self);
  if (scan
      && (known
          = _sl_project_prepare (self, "SELECT 1 FROM images WHERE hash = ? AND ext = ?", NULL))
             == NULL)
    return;
  clean_store_folder (self, images, known);
  if (scan)
    _sl_project_exec (self,
                      "DELETE FROM settings WHERE key = 'import-active';"
                      "UPDATE imports SET status = 'interrupted' WHERE status = 'running'",
                      NULL);
}

/* Removes the temporary files below a run's folder (checkpoints being written). */
static void
remove_temporaries (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_temporaries (child);
      else if (strstr (name, ".tmp-") != NULL)
        g_unlink (child);
    }
}

/* runs/: each run folder is cleaned only while its lock (runs/<run>/.lock,
 * held by the process that trains or deletes it) can be taken, and stays
 * locked meanwhile, so a training that starts waits for it. */
static void
clean_runs (SlProject *self)
{
  g_autofree char *runs = g_build_filename (self->path, "runs", NULL);
  g_autoptr (GDir) dir = g_dir_open (runs, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (runs, name, NULL);
      g_autofree char *lock_path = g_build_filename (child, ".lock", NULL);
      g_autoptr (SlLock) lock = NULL;

      if (!g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (strstr (name, ".tmp-") != NULL)
            g_unlink (child);
          continue;
        }
      if ((lock = sl_lock_take (lock_path, SL_LOCK_EXCLUSIVE, 0, NULL, NULL)) == NULL)
        continue; /* trained or deleted by a live process */
      if (strstr (name, ".tmp-") != NULL)
        sl_remove_tree (child); /* a run whose delete was interrupted */
      else
        remove_temporaries (child);
    }
}

void
_sl_project_clean_up (SlProject *self)
{
  clean_store (self);
  clean_runs (self);
}
