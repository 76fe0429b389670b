/* sl-project-schema.c: the project.db schema and its migrations, one step per version. */
#include "sl-project-private.h"

/* Version 1: images, classes, splits, import issues, runs, metrics, evaluations. */
static const char schema_v1[]
    = "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE classes ("
      "  id INTEGER PRIMARY KEY,"
      "  name TEXT NOT NULL UNIQUE,"
      "  color TEXT NOT NULL,"
      "  shortcut TEXT UNIQUE,"
      "  position INTEGER NOT NULL);"
      "CREATE TABLE images ("
      "  id INTEGER PRIMARY KEY,"
      "  hash TEXT NOT NULL UNIQUE,"
      "  ext TEXT NOT NULL,"
      "  original_path TEXT NOT NULL,"
      "  bytes INTEGER NOT NULL,"
      "  width INTEGER NOT NULL, height INTEGER NOT NULL,"
      "  channels INTEGER NOT NULL, depth INTEGER NOT NULL,"
      "  class_id INTEGER REFERENCES classes (id) ON DELETE SET NULL,"
      "  ignored INTEGER NOT NULL DEFAULT 0,"
      "  split INTEGER NOT NULL DEFAULT 0 CHECK (split BETWEEN 0 AND 3),"
      "  imported_at TEXT NOT NULL);"
      "CREATE INDEX images_class ON images (class_id);"
      "CREATE TABLE imports ("
      "  id INTEGER PRIMARY KEY,"
      "  source TEXT NOT NULL,"
      "  started TEXT NOT NULL,"
      "  finished TEXT,"
      "  added INTEGER NOT NULL DEFAULT 0,"
      "  status TEXT NOT NULL);"
      "CREATE TABLE import_issues ("
      "  id INTEGER PRIMARY KEY,"
      "  import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,"
      "  path TEXT NOT NULL,"
      "  outcome INTEGER NOT NULL,"
      "  reason TEXT NOT NULL);"
      "CREATE TABLE runs ("
      "  id INTEGER PRIMARY KEY,"
      "  status INTEGER NOT NULL,"
      "  message TEXT,"
      "  created TEXT NOT NULL,"
      "  finished TEXT,"
      "  preset TEXT,"
      "  epochs INTEGER NOT NULL,"
      "  epochs_done INTEGER NOT NULL DEFAULT 0,"
      "  best_epoch INTEGER NOT NULL DEFAULT -1,"
      "  best_val_loss REAL,"
      "  best_val_accuracy REAL,"
      "  train_images INTEGER NOT NULL,"
      "  val_images INTEGER NOT NULL,"
      "  dataset_hash TEXT NOT NULL,"
      "  config_json TEXT NOT NULL,"
      "  versions_json TEXT NOT NULL,"
      "  classes_json TEXT NOT NULL);"
      "CREATE TABLE run_metrics ("
      "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
      "  epoch INTEGER NOT NULL,"
      "  train_loss REAL NOT NULL, train_accuracy REAL NOT NULL,"
      "  val_loss REAL, val_accuracy REAL,"
      "  learning_rate REAL NOT NULL, images_per_s REAL NOT NULL, seconds REAL NOT NULL,"
      "  PRIMARY KEY (run_id, epoch));"
      "CREATE TABLE evaluations ("
      "  id INTEGER PRIMARY KEY,"
      "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
      "  split INTEGER NOT NULL,"
      "  checkpoint INTEGER NOT NULL,"
      "  top_k INTEGER NOT NULL,"
      "  created TEXT NOT NULL);"
      "CREATE TABLE predictions ("
      "  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,"
      "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
      "  true_class INTEGER NOT NULL,"
      "  predicted_class INTEGER NOT NULL,"
      "  confidence REAL NOT NULL,"
      "  probabilities BLOB NOT NULL,"
      "  PRIMARY KEY (evaluation_id, image_id));";

typedef struct
{
  int version;
  const char *sql;
} Migration;

/* Each entry upgrades a database from version - 1 to version. */
static const Migration migrations[] = {
  { 1, schema_v1 },
};

gboolean
sl_project_migrate (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int version;

  if ((stmt = sl_project_prepare (self, "PRAGMA user_version", error)) == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      sl_project_set_db_error (self, error, "Could not read the schema version");
      return FALSE;
    }
  version = sqlite3_column_int (stmt, 0);
  if (version > SL_PROJECT_SCHEMA_VERSION)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NEWER_SCHEMA,
                   "This project was saved by a newer Sightline (project format %d; this "
                   "version reads up to %d). Update Sightline to open it.",
                   version, SL_PROJECT_SCHEMA_VERSION);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (migrations); i++)
    {
      g_autofree char *bump = NULL;

      if (migrations[i].version <= version)
        continue;
      if (!sl_project_begin (self, error))
        return FALSE;
      bump = g_strdup_printf ("PRAGMA user_version = %d", migrations[i].version);
      if (!sl_project_exec (self, migrations[i].sql, error) || !sl_project_exec (self, bump, error)
          || !sl_project_commit (self, error))
        {
          sl_project_rollback (self);
          g_prefix_error (error,
                          "Could not upgrade the project to format %d: ", migrations[i].version);
          return FALSE;
        }
    }
  return TRUE;
}
