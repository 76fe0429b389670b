/* sl-project-private.h: the project handle and the SQLite helpers the projects/ files share. */
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include "sl-project.h"
#include "sightline.h"

struct _SlProject
{
  gatomicrefcount ref;
  char *path;
  char *db_path;
  sqlite3 *db;
  gboolean read_only;      /* opened with SQLITE_OPEN_READONLY; no clean-up, no writes */
  char *read_only_reason;  /* a sentence for the banner */
  int schema_version;      /* user_version as found (a read-only project is not migrated) */
  gint64 busy_since;       /* sl-project-busy.c: when the current wait for a writer began */
  gboolean busy_said;      /* whether that wait was announced */
  GArray *setting_watches; /* sl-project-settings.c: who to tell of a setting written here */
  dev_t db_dev;            /* the project.db this connection opened (a repair replaces it) */
  ino_t db_ino;
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* The raw key/value settings table. The user's settings are typed in
 * sl-project-settings.h; the keys used only here are "name", "created",
 * "repaired", "import-active" and "split". A NULL value deletes the key. */
char *_sl_project_get_setting (SlProject *self, const char *key);
gboolean _sl_project_set_setting (SlProject *self, const char *key, const char *value,
                                  GError **error);

/* Fails with SL_PROJECT_ERROR_DATA_CHANGED when project.db is no longer the
 * file this connection opened (another program repaired the project): what
 * it wrote would go to the file the repair moved aside. */
gboolean _sl_project_check_same_file (SlProject *self, const char *what, GError **error);

/* Sets *error from the connection's last error, prefixed with what failed. */
void _sl_project_set_db_error (SlProject *self, GError **error, const char *what);
gboolean _sl_project_exec (SlProject *self, const char *sql, GError **error);
sqlite3_stmt *_sl_project_prepare (SlProject *self, const char *sql, GError **error);
/* Steps a statement that returns no rows. */
gboolean _sl_project_step_done (SlProject *self, sqlite3_stmt *stmt, GError **error);
gboolean _sl_project_begin (SlProject *self, GError **error); /* BEGIN IMMEDIATE */
gboolean _sl_project_commit (SlProject *self, GError **error);
void _sl_project_rollback (SlProject *self);

/* sl-project-busy.c: every connection waits for another process's write
 * (backing off, said once with g_message when it lasts, given up after
 * SL_PROJECT_BUSY_LIMIT_S) instead of failing at once. */
#define SL_PROJECT_BUSY_LIMIT_S 120
void _sl_project_wait_when_busy (SlProject *self);
/* When the connection's last error is a busy database (the wait ran out),
 * sets *error to say so in words and returns TRUE. */
gboolean _sl_project_set_busy_error (SlProject *self, GError **error, const char *what);

/* sl-project-cleanup.c: removes what dead processes left (temporary files,
 * copies of unfinished imports, interrupted run deletes), skipping whatever
 * a live process's lock covers (sl-project-lock.h). */
void _sl_project_clean_up (SlProject *self);

/* Sets *error from a runtime error. */
void _sl_project_set_runtime_error (GError **error, const sl_error *err, const char *what);

/* sl-project-schema.c: creates or upgrades the schema to SL_PROJECT_SCHEMA_VERSION
 * (a read-only project is only checked: it opens if its version is not newer). */
gboolean _sl_project_migrate (SlProject *self, GError **error);
/* Whether every table and column this build reads is there. */
gboolean _sl_project_schema_complete (SlProject *self, char **missing);

/* sl-project-damage.c: a damaged database explained. Whether an SQLite result
 * code means the file itself is damaged (CORRUPT, NOTADB). */
gboolean _sl_sqlite_is_damage (int rc);
/* Sets *error to SL_PROJECT_ERROR_DAMAGED for the project at `root`: what is
 * wrong (`cause`), the result of PRAGMA quick_check when `db` is open, what is
 * still readable, and how to recover ('sightline-cli repair'). */
void _sl_project_set_damaged (const char *root, sqlite3 *db, const char *cause, GError **error);

/* A column as a newly allocated string (NULL stays NULL). */
char *_sl_sqlite_dup_text (sqlite3_stmt *stmt, int column);
/* The current UTC time as ISO 8601. */
char *_sl_project_now_iso (void);

/* sl-project-conflicts.c: records, inside the import's transaction, that the
 * file at `path` (in the folder of class `class_name`) has the same content as
 * image `image_id`, which kept another label. */
gboolean _sl_project_note_label_conflict (SlProject *self, gint64 image_id, gint64 import_id,
                                          const char *path, const char *class_name, GError **error);
/* Unresolved conflicts (0 for a read-only project of an older format). */
gint64 _sl_project_count_label_conflicts (SlProject *self, GError **error);

/* sl-project.c: a new, empty project.db with the current schema in an existing
 * project folder whose project.db was moved aside (sl-project-repair.c). */
SlProject *_sl_project_create_index (const char *path, GError **error);
