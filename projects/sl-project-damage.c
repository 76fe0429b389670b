/* sl-project-damage.c: a damaged project.db explained: SQLite's quick check, what still reads, how to recover. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

#include <string.h>

/* quick_check reports at most this many problems; the first few tell enough. */
#define CHECK_LINES 3

gboolean
_sl_sqlite_is_damage (int rc)
{
  rc &= 0xff;
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Stored image copies: images/<2 hex>/<hash>.<ext>. */
static gint64
count_stored_images (const char *root)
{
  g_autofree char *images = g_build_filename (root, "images", NULL);
  g_autoptr (GDir) dir = g_dir_open (images, 0, NULL);
  const char *name;
  gint64 n = 0;

  if (dir == NULL)
    return -1;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *sub = g_build_filename (images, name, NULL);
      g_autoptr (GDir) inner = g_dir_open (sub, 0, NULL);
      const char *file;

      while (inner != NULL && (file = g_dir_read_name (inner)) != NULL)
        if (strstr (file, ".tmp-") == NULL)
          n++;
    }
  return n;
}

/* "PRAGMA quick_check" (reads every page, checks structure; faster than
 * integrity_check because it skips index contents). */
static char *
quick_check (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  GString *out = g_string_new (NULL);
  int lines = 0, rc;

  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check(" G_STRINGIFY (CHECK_LINES) ")", -1, &stmt, NULL)
      != SQLITE_OK)
    {
      g_string_printf (out, "the check could not run (%s)", sqlite3_errmsg (db));
      return g_string_free (out, FALSE);
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *line = (const char *) sqlite3_column_text (stmt, 0);

      g_autofree char *flat = NULL;

      if (line == NULL || strcmp (line, "ok") == 0)
        continue;
      flat = g_strdelimit (g_strdup (line), "\n", ' ');
      g_string_append_printf (out, "%s%s", lines++ ? "; " : "", flat);
    }
  if (rc != SQLITE_DONE)
    g_string_append_printf (out, "%sthe check stopped: %s", lines ? "; " : "", sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  if (out->len == 0)
    g_string_assign (out, "no damage in the file's structure");
  return g_string_free (out, FALSE);
}

/* "2,000 image rows, 3 classes, damaged: runs" for the tables that matter to a user. */
static char *
readable_summary (sqlite3 *db)
{
  /* A column outside every index, so that the count reads the table itself. */
  static const char *const tables[][3] = {
    { "images", "image row", "imported_at" },
    { "classes", "class", "color" },
    { "runs", "run", "config_json" },
    { "evaluations", "evaluation", "created" },
  };
  g_autoptr (GString) ok = g_string_new (NULL);
  g_autoptr (GString) bad = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *sql
          = g_strdup_printf ("SELECT count(%s) FROM %s", tables[i][2], tables[i][0]);
      sqlite3_stmt *stmt = NULL;

      if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
          && sqlite3_step (stmt) == SQLITE_ROW)
        {
          gint64 n = sqlite3_column_int64 (stmt, 0);
          g_string_append_printf (ok, "%s%lld %s%s", ok->len ? ", " : "", (long long) n,
                                  tables[i][1], n == 1 ? "" : (i == 1 ? "es" : "s"));
        }
      else
        g_string_append_printf (bad, "%s%s", bad->len ? ", " : "", tables[i][0]);
      sqlite3_finalize (stmt);
    }
  if (ok->len == 0)
    return g_strdup ("Nothing in the database reads any more.");
  if (bad->len == 0)
    return g_strdup_printf ("Still readable: %s.", ok->str);
  return g_strdup_printf ("Still readable: %s; damaged: %s.", ok->str, bad->str);
}

void
_sl_project_set_damaged (const char *root, sqlite3 *db, const char *cause, GError **error)
{
  g_autofree char *check = db != NULL ? quick_check (db) : NULL;
  g_autofree char *readable = db != NULL ? readable_summary (db) : NULL;
  gint64 stored = count_stored_images (root);
  g_autoptr (GString) msg = g_string_new (NULL);

  g_string_printf (msg, "The project in %s is damaged: %s.", root, cause);
  if (check != NULL)
    g_string_append_printf (msg, " SQLite's check found: %s.", check);
  if (readable != NULL)
    g_string_append_printf (msg, " %s", readable);
  if (stored > 0)
    g_string_append_printf (msg,
                            " The stored images are intact (images/ holds %lld file%s). Run "
                            "'sightline-cli repair %s' to rebuild the project's index from them "
                            "(labels, splits and runs are copied from whatever still reads); "
                            "the damaged file is kept as project.db.damaged-<time>, never "
                            "deleted.",
                            (long long) stored, stored == 1 ? "" : "s", root);
  else
    g_string_append_printf (msg,
                            " images/ holds no stored images. Run 'sightline-cli repair %s' to "
                            "make a fresh index (the damaged file is kept as "
                            "project.db.damaged-<time>), or restore project.db from a backup.",
                            root);
  g_set_error_literal (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED, msg->str);
}
