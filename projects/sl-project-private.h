/* sl-project-private.h: the project handle and the SQLite helpers the projects/ files share. */
#pragma once

#include <sqlite3.h>

#include "sl-project.h"
#include "sightline.h"

struct _SlProject
{
  gatomicrefcount ref;
  char *path;
  char *db_path;
  sqlite3 *db;
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* Sets *error from the connection's last error, prefixed with what failed. */
void sl_project_set_db_error (SlProject *self, GError **error, const char *what);
gboolean sl_project_exec (SlProject *self, const char *sql, GError **error);
sqlite3_stmt *sl_project_prepare (SlProject *self, const char *sql, GError **error);
/* Steps a statement that returns no rows. */
gboolean sl_project_step_done (SlProject *self, sqlite3_stmt *stmt, GError **error);
gboolean sl_project_begin (SlProject *self, GError **error); /* BEGIN IMMEDIATE */
gboolean sl_project_commit (SlProject *self, GError **error);
void sl_project_rollback (SlProject *self);

/* Sets *error from a runtime error. */
void sl_project_set_runtime_error (GError **error, const sl_error *err, const char *what);

/* sl-project-schema.c: creates or upgrades the schema to SL_PROJECT_SCHEMA_VERSION. */
gboolean sl_project_migrate (SlProject *self, GError **error);

/* A column as a newly allocated string (NULL stays NULL). */
char *sl_sqlite_dup_text (sqlite3_stmt *stmt, int column);
/* The current UTC time as ISO 8601. */
char *sl_project_now_iso (void);
