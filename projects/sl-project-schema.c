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

/* Version 2: a picture met in two class folders keeps its first label; the
 * later files and the classes their folders name wait here for the user. */
static const char schema_v2[]
    = "CREATE TABLE label_conflicts ("
      "  id INTEGER PRIMARY KEY,"
      "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
      "  import_id INTEGER REFERENCES imports (id) ON DELETE SET NULL,"
      "  path TEXT NOT NULL,"
      "  class_name TEXT NOT NULL);"
      "CREATE INDEX label_conflicts_image ON label_conflicts (image_id);"
      /* Giving the image a label by any means is the user's choice. */
      "CREATE TRIGGER label_conflicts_resolved AFTER UPDATE OF class_id ON images "
      "  WHEN NEW.class_id IS NOT OLD.class_id "
      "  BEGIN DELETE FROM label_conflicts WHERE image_id = NEW.id; END;";

/* Version 3: the scores of anomaly runs' evaluations, one per image, with the label
 * the image had then (an anomaly evaluation has no rows in predictions). */
static const char schema_v3[]
    = "CREATE TABLE anomaly_scores ("
      "  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,"
      "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
      "  class_name TEXT NOT NULL,"
      "  defect INTEGER NOT NULL,"
      "  score REAL NOT NULL,"
      "  PRIMARY KEY (evaluation_id, image_id));";

/* Version 4: labels a run suggests (sl-suggest.c), one row per run and image, with the label the
 * image had when predicted (label_id; NULL: unlabelled): a row whose image has since been
 * labelled otherwise is stale. IF NOT EXISTS: a project taken back to an older format by hand
 * may still hold the table. */
static const char schema_v4[]
    = "CREATE TABLE IF NOT EXISTS suggestions ("
      "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
      "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
      "  model TEXT NOT NULL,"
      "  label_id INTEGER,"
      "  class_id INTEGER REFERENCES classes (id) ON DELETE CASCADE,"
      "  confidence REAL,"
      "  margin REAL,"
      "  anomaly_score REAL,"
      "  anomaly_threshold REAL,"
      "  created TEXT NOT NULL,"
      "  PRIMARY KEY (run_id, image_id));"
      "CREATE INDEX IF NOT EXISTS suggestions_image ON suggestions (image_id);";

typedef struct
{
  int version;
  const char *sql;
} Migration;

/* Each entry upgrades a database from version - 1 to version. */
static const Migration migrations[] = {
  { 1, schema_v1 },
  { 2, schema_v2 },
  { 3, schema_v3 },
  { 4, schema_v4 },
};

/* Tables and the columns of them that this build reads, by the version that
 * added them; a project missing one is damaged (or not ours). */
static const struct
{
  int version;
  const char *table;
  const char *columns;
} required[] = {
  { 1, "settings", "key,value" },
  { 1, "classes", "id,name,color,shortcut,position" },
  { 1, "images",
    "id,hash,ext,original_path,bytes,width,height,channels,depth,class_id,ignored,"
    "split,imported_at" },
  { 1, "imports", "id,source,started,finished,added,status" },
  { 1, "import_issues", "id,import_id,path,outcome,reason" },
  { 1, "runs", "id,status,config_json,classes_json,dataset_hash" },
  { 1, "run_metrics", "run_id,epoch" },
  { 1, "evaluations", "id,run_id,split,checkpoint" },
  { 1, "predictions", "evaluation_id,image_id,probabilities" },
  { 2, "label_conflicts", "id,image_id,path,class_name" },
  { 3, "anomaly_scores", "evaluation_id,image_id,class_name,defect,score" },
  { 4, "suggestions",
    "run_id,image_id,model,label_id,class_id,confidence,margin,anomaly_score,anomaly_threshold,"
    "created" },
};

gboolean
_sl_project_schema_complete (SlProject *self, char **missing)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GString) out = g_string_new (NULL);

  if (sqlite3_prepare_v2 (self->db, "SELECT name FROM pragma_table_info(?)", -1, &stmt, NULL)
      != SQLITE_OK)
    {
      *missing = g_strdup_printf ("a readable schema (%s)", sqlite3_errmsg (self->db));
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
    {
      g_autoptr (GHashTable) have = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_auto (GStrv) columns = NULL;
      int rc;

      if (required[i].version > self->schema_version)
        continue;
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, required[i].table, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_hash_table_add (have, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
      if (rc != SQLITE_DONE)
        {
          *missing = g_strdup_printf ("a readable schema (%s)", sqlite3_errmsg (self->db));
          return FALSE;
        }
      if (g_hash_table_size (have) == 0)
        {
          g_string_append_printf (out, "%sthe table %s", out->len ? ", " : "", required[i].table);
          continue;
        }
      columns = g_strsplit (required[i].columns, ",", -1);
      for (char **c = columns; *c != NULL; c++)
        if (!g_hash_table_contains (have, *c))
          g_string_append_printf (out, "%s%s.%s", out->len ? ", " : "", required[i].table, *c);
    }
  *missing = out->len ? g_strdup (out->str) : NULL;
  return out->len == 0;
}

/* Whether the database holds tables although user_version says it is new:
 * someone else's SQLite file, not a project to build a schema into. */
static gboolean
has_foreign_tables (SlProject *self)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1", NULL);

  return stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW;
}

gboolean
_sl_project_migrate (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int version;

  if ((stmt = _sl_project_prepare (self, "PRAGMA user_version", error)) == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      _sl_project_set_db_error (self, error, "Could not read the schema version");
      return FALSE;
    }
  version = sqlite3_column_int (stmt, 0);
  self->schema_version = version;
  if (version == 0 && has_foreign_tables (self))
    {
      _sl_project_set_damaged (self->path, self->db,
                               "project.db holds tables but no project format version (it is "
                               "not a Sightline database, or its header was overwritten)",
                               error);
      return FALSE;
    }
  if (version > SL_PROJECT_SCHEMA_VERSION)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NEWER_SCHEMA,
                   "This project was saved by a newer Sightline (project format %d; this "
                   "version reads up to %d). Update Sightline to open it.",
                   version, SL_PROJECT_SCHEMA_VERSION);
      return FALSE;
    }
  if (self->read_only)
    {
      /* Nothing can be upgraded on a read-only medium; an older project is read
       * as it is (readers check schema_version for what came later). */
      if (version == 0)
        {
          _sl_project_set_damaged (self->path, self->db, "project.db holds no project", error);
          return FALSE;
        }
      return TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (migrations); i++)
    {
      g_autofree char *bump = NULL;

      if (migrations[i].version <= version)
        continue;
      if (!_sl_project_begin (self, error))
        return FALSE;
      bump = g_strdup_printf ("PRAGMA user_version = %d", migrations[i].version);
      if (!_sl_project_exec (self, migrations[i].sql, error)
          || !_sl_project_exec (self, bump, error) || !_sl_project_commit (self, error))
        {
          _sl_project_rollback (self);
          g_prefix_error (error,
                          "Could not upgrade the project to format %d: ", migrations[i].version);
          return FALSE;
        }
      self->schema_version = migrations[i].version;
    }
  return TRUE;
}
