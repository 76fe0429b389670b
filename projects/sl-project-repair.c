/* sl-project-repair.c: rebuilds a damaged project's index from images/, runs/ and whatever of the old file still reads. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"
#include "sl-run-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sl-project-lock.h"
#include "sl-vision.h"

/* Tables copied row by row from the damaged file, parents first; a table
 * stops copying at its first unreadable row and keeps the rows before it.
 * Images are not here: they are rebuilt from images/ (see index_images). */
static const char *const salvaged_tables[]
    = { "runs",          "run_metrics",     "evaluations",    "predictions", "imports",
        "import_issues", "label_conflicts", "anomaly_scores", "suggestions" };

typedef struct
{
  SlProject *db; /* the new index */
  sqlite3 *old;  /* the damaged file, read-only; NULL when it does not open */
  SlRepairResult *result;
  GHashTable *rows; /* hash -> GPtrArray of sqlite3_value copies (images row of the old file) */
  GHashTable *class_ids; /* gint64 ids of the classes recovered */
} Repair;

void
sl_repair_result_clear (SlRepairResult *r)
{
  g_free (r->kept_path);
  if (r->notes != NULL)
    g_ptr_array_unref (r->notes);
  memset (r, 0, sizeof *r);
}

G_GNUC_PRINTF (2, 3)
static void
note (Repair *rp, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (rp->result->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

/* Moves project.db and its WAL files aside under one new name, so the kept
 * copy still opens with its committed-but-not-checkpointed pages. */
static gboolean
move_aside (const char *root, SlRepairResult *r, GError **error)
{
  static const char *const suffixes[] = { "", "-wal", "-shm" };
  g_autofree char *db = g_build_filename (root, "project.db", NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  r->kept_path = g_strdup_printf ("%s.damaged-%s", db, stamp);
  for (int n = 2; g_file_test (r->kept_path, G_FILE_TEST_EXISTS); n++)
    {
      g_free (r->kept_path);
      r->kept_path = g_strdup_printf ("%s.damaged-%s-%d", db, stamp, n);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (db, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (r->kept_path, suffixes[i], NULL);

      if (!g_file_test (from, G_FILE_TEST_EXISTS))
        continue;
      if (g_rename (from, to) != 0)
        {
          int saved = errno;
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                       "Could not move %s aside to %s: %s; nothing was changed", from, to,
                       g_strerror (saved));
          return FALSE;
        }
    }
  return TRUE;
}

static sqlite3 *
open_old (Repair *rp)
{
  sqlite3 *old = NULL;
  GStatBuf st;

  if (g_stat (rp->result->kept_path, &st) != 0 || st.st_size == 0)
    {
      note (rp, "The old project.db was missing or empty: labels, splits and run results could "
                "not be recovered.");
      return NULL;
    }
  if (sqlite3_open_v2 (rp->result->kept_path, &old, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
      || sqlite3_exec (old, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
    {
      note (rp,
            "The old project.db does not open (%s): labels, splits and run results could not "
            "be recovered.",
            old != NULL ? sqlite3_errmsg (old) : "out of memory");
      sqlite3_close_v2 (old);
      return NULL;
    }
  return old;
}

/* The new table's columns, comma-separated, for a SELECT from the old file. */
static char *
column_list (SlProject *db, const char *table)
{
  g_autoptr (sqlite3_stmt) stmt
      = _sl_project_prepare (db, "SELECT name FROM pragma_table_info(?)", NULL);
  GString *out = g_string_new (NULL);

  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_string_append_printf (out, "%s\"%s\"", out->len ? ", " : "",
                                (const char *) sqlite3_column_text (stmt, 0));
    }
  return g_string_free (out, FALSE);
}

static gboolean
old_has_table (sqlite3 *old, const char *table)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found;

  /* A damaged schema page fails this query: then try the table anyway. */
  if (sqlite3_prepare_v2 (old, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                          &stmt, NULL)
      != SQLITE_OK)
    return TRUE;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
  found = sqlite3_step (stmt) != SQLITE_DONE;
  sqlite3_finalize (stmt);
  return found;
}

/* Copies `table` row by row with the same values; returns the rows copied, or
 * -1 when the new index fails (an error). `skip` (may be NULL) drops rows. */
static gint64
copy_table (Repair *rp, const char *table, const char *where, GError **error)
{
  g_autofree char *columns = column_list (rp->db, table);
  g_autofree char *select = g_strdup_printf ("SELECT %s FROM \"%s\"%s%s", columns, table,
                                             where ? " WHERE " : "", where ? where : "");
  g_autofree char *params = NULL, *insert_sql = NULL;
  g_autoptr (sqlite3_stmt) insert = NULL;
  sqlite3_stmt *sel = NULL;
  int n_cols = 1, rc;
  gint64 copied = 0;

  for (const char *p = columns; *p; p++)
    n_cols += *p == ',';
  {
    GString *q = g_string_new (NULL);
    for (int i = 0; i < n_cols; i++)
      g_string_append (q, i ? ", ?" : "?");
    params = g_string_free (q, FALSE);
  }
  insert_sql
      = g_strdup_printf ("INSERT OR IGNORE INTO \"%s\" (%s) VALUES (%s)", table, columns, params);
  if ((insert = _sl_project_prepare (rp->db, insert_sql, error)) == NULL)
    return -1;
  if (!old_has_table (rp->old, table))
    return 0; /* written by a Sightline that did not have it yet */
  if (sqlite3_prepare_v2 (rp->old, select, -1, &sel, NULL) != SQLITE_OK)
    {
      note (rp, "The old %s table does not read (%s); none of it was recovered.", table,
            sqlite3_errmsg (rp->old));
      return 0;
    }
  while ((rc = sqlite3_step (sel)) == SQLITE_ROW)
    {
      sqlite3_reset (insert);
      for (int i = 0; i < n_cols; i++)
        sqlite3_bind_value (insert, i + 1, sqlite3_column_value (sel, i));
      if (!_sl_project_step_done (rp->db, insert, error))
        {
          sqlite3_finalize (sel);
          return -1;
        }
      copied++;
    }
  if (rc != SQLITE_DONE)
    note (rp, "The old %s table is damaged: %lld row%s read before the damage were recovered (%s).",
          table, (long long) copied, copied == 1 ? "" : "s", sqlite3_errmsg (rp->old));
  sqlite3_finalize (sel);
  return copied;
}

static void
value_array_free (GPtrArray *values)
{
  g_ptr_array_unref (values);
}

/* The largest image id the old file names, or -1. max(id) walks only the
 * right edge of the table, so it usually reads past a damaged page. */
static gint64
old_max_image_id (sqlite3 *old)
{
  sqlite3_stmt *stmt = NULL;
  gint64 id = -1;

  if (sqlite3_prepare_v2 (old, "SELECT max(id) FROM images", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return id;
}

/* The old file's image rows by hash (as many as read), for labels and names.
 * The table is read in id order; at a damaged page the read starts again a
 * little further on (skipping 1, 2, 4, ... ids), so one bad page loses only
 * the rows on it and a few after, not the rest of the table. */
static void
read_old_images (Repair *rp)
{
  gint64 n = 0, after = G_MININT64, skip = 1, max_id = old_max_image_id (rp->old);
  guint damaged = 0;
  sqlite3_stmt *sel = NULL;
  int rc;

  if (sqlite3_prepare_v2 (rp->old,
                          "SELECT id, hash, ext, original_path, bytes, width, height, channels, "
                          "depth, class_id, ignored, split, imported_at FROM images WHERE id > ? "
                          "ORDER BY id",
                          -1, &sel, NULL)
      != SQLITE_OK)
    {
      note (rp,
            "The old images table does not read (%s): every image comes back unlabelled, "
            "in no split, under its stored name.",
            sqlite3_errmsg (rp->old));
      return;
    }
  for (;;)
    {
      sqlite3_reset (sel);
      sqlite3_bind_int64 (sel, 1, after);
      while ((rc = sqlite3_step (sel)) == SQLITE_ROW)
        {
          GPtrArray *values = g_ptr_array_new_with_free_func ((GDestroyNotify) sqlite3_value_free);

          for (int i = 0; i < 13; i++)
            g_ptr_array_add (values, sqlite3_value_dup (sqlite3_column_value (sel, i)));
          g_hash_table_replace (rp->rows, g_strdup ((const char *) sqlite3_column_text (sel, 1)),
                                values);
          after = sqlite3_column_int64 (sel, 0);
          skip = 1;
          n++;
        }
      if (rc == SQLITE_DONE)
        break;
      /* A damaged page: step over it, while ids are left to read. */
      damaged++;
      if (max_id < 0 || after >= max_id)
        break;
      after = after == G_MININT64 ? skip - 1 : after + skip;
      skip *= 2;
    }
  sqlite3_finalize (sel);
  if (damaged > 0)
    note (rp,
          "The old images table is damaged: the labels and splits of %lld image%s were read "
          "around the damage; the other images come back unlabelled, in no split.",
          (long long) n, n == 1 ? "" : "s");
}

static gboolean
is_hash (const char *s, gsize len)
{
  if (len != 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

/* Indexes one stored copy; FALSE only when the new index fails. */
static gboolean
index_one (Repair *rp, sqlite3_stmt *insert, const char *prefix, const char *name, const char *path,
           GError **error)
{
  const char *dot = strchr (name, '.');
  g_autofree char *hash = dot ? g_strndup (name, dot - name) : NULL;
  g_autofree char *data = NULL, *computed = NULL, *stored_name = NULL, *now = NULL;
  GPtrArray *old;
  sl_image img = { 0 };
  sl_error err = { 0 };
  gsize size = 0;

  if (hash == NULL || !is_hash (hash, strlen (hash)) || strncmp (hash, prefix, 2) != 0)
    {
      note (rp, "images/%s/%s is not a stored image name; it was left in place.", prefix, name);
      return TRUE;
    }
  if (!g_file_get_contents (path, &data, &size, NULL)
      || strcmp ((computed
                  = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, size)),
                 hash)
             != 0)
    {
      rp->result->bad_files++;
      note (rp,
            "images/%s/%s does not read back as the picture it was stored as; it was left "
            "in place, not indexed.",
            prefix, name);
      return TRUE;
    }
  sqlite3_reset (insert);
  sqlite3_clear_bindings (insert);
  old = g_hash_table_lookup (rp->rows, hash);
  if (old != NULL)
    {
      for (guint i = 0; i < old->len; i++)
        sqlite3_bind_value (insert, i + 1, g_ptr_array_index (old, i));
      /* A label whose class did not survive becomes no label. */
      if (sqlite3_value_type (g_ptr_array_index (old, 9)) != SQLITE_NULL)
        {
          gint64 class_id = sqlite3_value_int64 (g_ptr_array_index (old, 9));
          if (!g_hash_table_contains (rp->class_ids, &class_id))
            sqlite3_bind_null (insert, 10);
        }
      rp->result->images_labels++;
    }
  else
    {
      stored_name
          = g_strdup_printf ("images/%s/%s (recovered; original name unknown)", prefix, name);
      if (sl_image_decode (data, size, name, 0, &img, &err) != SL_OK)
        {
          rp->result->bad_files++;
          note (rp, "images/%s/%s does not decode (%s); it was left in place, not indexed.", prefix,
                name, err.message);
          return TRUE;
        }
      now = _sl_project_now_iso ();
      sqlite3_bind_text (insert, 2, hash, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 3, dot + 1, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 4, stored_name, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (insert, 5, (sqlite3_int64) size);
      sqlite3_bind_int (insert, 6, img.width);
      sqlite3_bind_int (insert, 7, img.height);
      sqlite3_bind_int (insert, 8, img.channels);
      sqlite3_bind_int (insert, 9, img.depth);
      sqlite3_bind_int (insert, 11, 0);
      sqlite3_bind_int (insert, 12, SL_SPLIT_NONE);
      sqlite3_bind_text (insert, 13, now, -1, SQLITE_STATIC);
      sl_image_clear (&img);
    }
  if (!_sl_project_step_done (rp->db, insert, error))
    return FALSE;
  rp->result->images++;
  return TRUE;
}

/* Every stored copy in images/<2 hex>/, in name order: the ones the old file
 * knows keep their id, label, split and name. */
static gboolean
index_images (Repair *rp, GError **error)
{
  g_autofree char *images = g_build_filename (rp->db->path, "images", NULL);
  g_autoptr (GDir) dir = g_dir_open (images, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (sqlite3_stmt) insert = _sl_project_prepare (
      rp->db,
      "INSERT INTO images (id, hash, ext, original_path, bytes, width, height, channels, depth, "
      "class_id, ignored, split, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      error);
  const char *name;

  if (insert == NULL)
    return FALSE;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_ascii_strcasecmp);
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < names->len; i++)
      {
        const char *prefix = g_ptr_array_index (names, i);
        g_autofree char *sub = g_build_filename (images, prefix, NULL);
        g_autoptr (GDir) inner = g_dir_open (sub, 0, NULL);
        const char *file;

        while (inner != NULL && (file = g_dir_read_name (inner)) != NULL)
          {
            g_autofree char *path = g_build_filename (sub, file, NULL);
            g_autofree char *hash = g_strndup (file, strcspn (file, "."));

            if (strstr (file, ".tmp-") != NULL)
              continue; /* an interrupted write: never a stored image */
            /* Pass 0 puts the known images back under their old ids; pass 1
             * gives the rest new ones, so no id is taken twice. */
            if ((pass == 0) != g_hash_table_contains (rp->rows, hash))
              continue;
            if (!index_one (rp, insert, prefix, file, path, error))
              return FALSE;
          }
      }
  return TRUE;
}

static gboolean
recover_classes (Repair *rp, GError **error)
{
  g_autoptr (sqlite3_stmt) ids = NULL;
  gint64 n = copy_table (rp, "classes", NULL, error);

  if (n < 0 || (ids = _sl_project_prepare (rp->db, "SELECT id FROM classes", error)) == NULL)
    return FALSE;
  while (sqlite3_step (ids) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (ids, 0);
      g_hash_table_add (rp->class_ids, g_memdup2 (&id, sizeof id));
    }
  rp->result->classes = n;
  return TRUE;
}

/* A run that the old file lost, from runs/run-N/recipe.json. */
static gboolean
run_from_recipe (Repair *rp, const char *dir_name, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "recipe.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr (sqlite3_stmt) insert = NULL;
  cJSON *doc;
  const char *keys[]
      = { "created", "preset", "dataset_hash", "config_json", "versions_json", "classes_json" };
  gboolean ok;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (doc = cJSON_Parse (text)) == NULL)
    {
      note (rp,
            "runs/%s has no readable recipe.json: its files are kept, but it is not listed "
            "as a run.",
            dir_name);
      return TRUE;
    }
  insert = _sl_project_prepare (
      rp->db,
      "INSERT OR IGNORE INTO runs (id, status, message, created, preset, epochs, train_images, "
      "val_images, dataset_hash, config_json, versions_json, classes_json) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      error);
  if (insert == NULL)
    {
      cJSON_Delete (doc);
      return FALSE;
    }
  sqlite3_bind_int64 (insert, 1, (gint64) cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "id")));
  sqlite3_bind_int (insert, 2, SL_RUN_FAILED);
  sqlite3_bind_text (insert, 3,
                     "recovered from its recipe by 'sightline-cli repair': its metrics were lost; "
                     "its checkpoints are kept (resume continues from the last one)",
                     -1, SQLITE_STATIC);
  sqlite3_bind_int (insert, 6, (int) cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "epochs")));
  sqlite3_bind_int64 (insert, 7,
                      (gint64) cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "train_images")));
  sqlite3_bind_int64 (insert, 8,
                      (gint64) cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "val_images")));
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const char *v = cJSON_GetStringValue (cJSON_GetObjectItem (doc, keys[i]));
      int column = i == 0 ? 4 : i == 1 ? 5 : (int) i + 7; /* see the INSERT above */

      if (v != NULL)
        sqlite3_bind_text (insert, column, v, -1, SQLITE_TRANSIENT);
    }
  ok = _sl_project_step_done (rp->db, insert, NULL) && sqlite3_changes (rp->db->db) == 1;
  cJSON_Delete (doc);
  if (ok)
    rp->result->runs++;
  else
    note (rp,
          "runs/%s/recipe.json lacks part of the run's recipe: its files are kept, but it "
          "is not listed as a run.",
          dir_name);
  return TRUE;
}

/* Runs: rows from the old file first; then every runs/run-N folder the old
 * file did not list comes back from its recipe, if it has one. */
static gboolean
recover_runs (Repair *rp, GError **error)
{
  g_autofree char *runs = g_build_filename (rp->db->path, "runs", NULL);
  g_autoptr (GDir) dir = g_dir_open (runs, 0, NULL);
  g_autoptr (sqlite3_stmt) known
      = _sl_project_prepare (rp->db, "SELECT 1 FROM runs WHERE id = ?", error);
  const char *name;

  if (known == NULL)
    return FALSE;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (runs, name, NULL);
      gint64 id;
      char *end;

      if (!g_str_has_prefix (name, "run-") || !g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      id = g_ascii_strtoll (name + 4, &end, 10);
      if (*end != '\0' || id <= 0)
        continue;
      sqlite3_reset (known);
      sqlite3_bind_int64 (known, 1, id);
      if (sqlite3_step (known) == SQLITE_ROW)
        continue;
      if (!run_from_recipe (rp, name, path, error))
        return FALSE;
    }
  return TRUE;
}

/* Rows whose parent did not survive (a prediction of a lost image, a metric of
 * a lost run) go: the foreign keys hold again. */
static gboolean
drop_orphans (Repair *rp, GError **error)
{
  g_autoptr (sqlite3_stmt) check = _sl_project_prepare (rp->db, "PRAGMA foreign_key_check", error);
  g_autoptr (GPtrArray) deletes = g_ptr_array_new_with_free_func (g_free);

  if (check == NULL)
    return FALSE;
  while (sqlite3_step (check) == SQLITE_ROW)
    g_ptr_array_add (deletes, g_strdup_printf ("DELETE FROM \"%s\" WHERE rowid = %lld",
                                               (const char *) sqlite3_column_text (check, 0),
                                               (long long) sqlite3_column_int64 (check, 1)));
  for (guint i = 0; i < deletes->len; i++)
    if (!_sl_project_exec (rp->db, g_ptr_array_index (deletes, i), error))
      return FALSE;
  return TRUE;
}

static gboolean
rebuild (Repair *rp, GError **error)
{
  g_autofree char *stamp = NULL;
  g_autoptr (sqlite3_stmt) runs = NULL;

  /* Children may arrive before their parents are known: keys are checked at the end. */
  if (!_sl_project_exec (rp->db, "PRAGMA foreign_keys = OFF", error)
      || !_sl_project_begin (rp->db, error))
    return FALSE;
  if (rp->old != NULL)
    {
      if (copy_table (rp, "settings", "key <> 'import-active'", error) < 0
          || !recover_classes (rp, error))
        goto fail;
      read_old_images (rp);
      for (gsize i = 0; i < G_N_ELEMENTS (salvaged_tables); i++)
        if (copy_table (rp, salvaged_tables[i], NULL, error) < 0)
          goto fail;
      if (!_sl_project_exec (
              rp->db, "UPDATE imports SET status = 'interrupted' WHERE status = 'running'", error))
        goto fail;
    }
  if (!index_images (rp, error) || !recover_runs (rp, error) || !drop_orphans (rp, error))
    goto fail;
  if ((runs = _sl_project_prepare (rp->db, "SELECT count(*) FROM runs", error)) == NULL
      || sqlite3_step (runs) != SQLITE_ROW)
    goto fail;
  rp->result->runs = sqlite3_column_int64 (runs, 0);
  {
    g_autofree char *name = _sl_project_get_setting (rp->db, "name");
    g_autofree char *base = g_path_get_basename (rp->db->path);
    g_autofree char *now = _sl_project_now_iso ();
    g_autofree char *kept = g_path_get_basename (rp->result->kept_path);
    g_autofree char *repaired = g_strdup_printf ("%s from %s", now, kept);
    g_autofree char *created = _sl_project_get_setting (rp->db, "created");

    if ((name == NULL && !_sl_project_set_setting (rp->db, "name", base, error))
        || !_sl_project_set_setting (rp->db, "repaired", repaired, error))
      goto fail;
    if (created == NULL && !_sl_project_set_setting (rp->db, "created", now, error))
      goto fail;
  }
  if (!_sl_project_commit (rp->db, error))
    goto fail;
  return _sl_project_exec (rp->db, "PRAGMA foreign_keys = ON", error);

fail:
  _sl_project_rollback (rp->db);
  return FALSE;
}

/* Refuses while another program works in the project: an import (the store
 * lock) or a training (a run's lock). The store lock and the runs' locks are
 * kept (in `held`) until the repair ends, so no import or training of these
 * runs starts meanwhile. */
static SlLock *
check_nobody_works (const char *root, GPtrArray *held, GError **error)
{
  g_autofree char *runs = g_build_filename (root, "runs", NULL);
  g_autofree char *store_path = sl_project_lock_path (root, SL_PROJECT_LOCK_STORE);
  g_autoptr (GDir) dir = g_dir_open (runs, 0, NULL);
  g_autoptr (SlLock) store = NULL;
  const char *name;

  if ((store = sl_lock_take (store_path, SL_LOCK_EXCLUSIVE, 2000, "the image store", NULL)) == NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                   "An import into %s is running in another program; repair it when the import "
                   "has ended (nothing was changed)",
                   root);
      return NULL;
    }
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *lock = g_build_filename (runs, name, ".lock", NULL);
      g_autofree char *run_dir = g_build_filename (runs, name, NULL);
      SlLock *run;

      if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR))
        continue;
      if ((run = sl_lock_take (lock, SL_LOCK_EXCLUSIVE, 500, NULL, NULL)) != NULL)
        g_ptr_array_add (held, run);
      else
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                       "%s of %s is training in another program; repair the project when it "
                       "has stopped (nothing was changed)",
                       name, root);
          return NULL;
        }
    }
  return g_steal_pointer (&store);
}

gboolean
sl_project_repair (const char *path, SlRepairResult *result, GError **error)
{
  g_autofree char *root = NULL, *images = NULL, *db_path = NULL;
  g_autoptr (SlProject) db = NULL;
  g_autoptr (GHashTable) rows = NULL, class_ids = NULL;
  g_autoptr (SlLock) store = NULL;
  g_autoptr (GPtrArray) run_locks
      = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_lock_release);
  Repair rp = { 0 };
  gboolean ok;

  g_return_val_if_fail (path != NULL && result != NULL, FALSE);
  memset (result, 0, sizeof *result);
  result->notes = g_ptr_array_new_with_free_func (g_free);
  root = g_canonicalize_filename (path, NULL);
  images = g_build_filename (root, "images", NULL);
  db_path = g_build_filename (root, "project.db", NULL);
  if (!g_file_test (images, G_FILE_TEST_IS_DIR) && !g_file_test (db_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_A_PROJECT,
                   "%s is not a Sightline project (it has neither project.db nor images/)", root);
      return FALSE;
    }
  if (access (root, W_OK) != 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY,
                   "Cannot repair %s: its folder cannot be written (%s). Copy the project to a "
                   "writable disk and repair the copy.",
                   root, g_strerror (saved));
      return FALSE;
    }
  if ((store = check_nobody_works (root, run_locks, error)) == NULL
      || !move_aside (root, result, error))
    return FALSE;
  if ((db = _sl_project_create_index (root, error)) == NULL)
    {
      g_prefix_error (error, "The damaged file is kept as %s, but ", result->kept_path);
      return FALSE;
    }
  rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) value_array_free);
  class_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  rp = (Repair){ db, NULL, result, rows, class_ids };
  rp.old = open_old (&rp);
  ok = rebuild (&rp, error);
  sqlite3_close_v2 (rp.old);
  if (!ok)
    {
      /* The half-built index goes; the damaged file stays where it was moved. */
      g_autofree char *new_wal = g_strconcat (db_path, "-wal", NULL);
      g_autofree char *new_shm = g_strconcat (db_path, "-shm", NULL);

      g_clear_pointer (&db, sl_project_unref);
      g_unlink (new_wal);
      g_unlink (new_shm);
      g_unlink (db_path);
      g_prefix_error (error,
                      "The repair failed and the damaged file is kept as %s: ", result->kept_path);
    }
  return ok;
}
