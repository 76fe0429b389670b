/* test-projects-damaged.c: empty and corrupt project.db, repair, missing images, read-only projects, label conflicts, transparency. */
#include <errno.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "projects-test-util.h"
#include "sl-project-lock.h"
#include "sl-train-job.h"
#include "sl-vision.h"

/* ---- helpers ------------------------------------------------------------------ */

static char *
db_path_of (const char *project)
{
  return g_build_filename (project, "project.db", NULL);
}

/* Closes every connection first: the last close checkpoints the WAL into project.db. */
static gint64
query_int (const char *project, const char *sql)
{
  g_autofree char *db = db_path_of (project);
  sqlite3 *raw;
  sqlite3_stmt *stmt;
  gint64 v;

  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (raw);
  return v;
}

/* Overwrites the b-tree page of `table` (its root) with junk, as a bad sector
 * or a torn copy would. */
static void
corrupt_table (const char *project, const char *table)
{
  g_autofree char *db = db_path_of (project);
  g_autofree char *sql
      = g_strdup_printf ("SELECT rootpage FROM sqlite_master WHERE name = '%s'", table);
  gint64 page = query_int (project, sql);
  gint64 size = query_int (project, "PRAGMA page_size");
  guint8 junk[512];
  FILE *f;

  g_assert_cmpint (page, >, 1);
  memset (junk, 0xa5, sizeof junk);
  f = fopen (db, "r+b");
  g_assert_nonnull (f);
  g_assert_cmpint (fseek (f, (page - 1) * size, SEEK_SET), ==, 0);
  g_assert_cmpint (fwrite (junk, 1, sizeof junk, f), ==, sizeof junk);
  fclose (f);
}

static gboolean
has_warning (const SlProjectStats *s, const char *code, const char *text)
{
  for (guint i = 0; i < s->warnings->len; i++)
    {
      const SlHealthWarning *w = g_ptr_array_index (s->warnings, i);
      if (g_strcmp0 (w->code, code) == 0 && (text == NULL || strstr (w->message, text) != NULL))
        return TRUE;
    }
  return FALSE;
}

/* ---- 0-byte and corrupt databases ------------------------------------------------ */

static void
test_empty_db_is_damaged (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *db = db_path_of (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  SlRepairResult r;
  GStatBuf st;

  project = sl_project_create (path, "Empty", &error);
  g_assert_no_error (error);
  g_clear_pointer (&project, sl_project_unref);
  g_assert_true (g_file_set_contents (db, "", 0, NULL));

  /* Refused, not silently a new empty project; the file stays as it was. */
  g_assert_null (sl_project_open (path, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, "empty (0 bytes)"));
  g_assert_nonnull (strstr (error->message, "sightline-cli repair"));
  g_assert_cmpint (g_stat (db, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 0);
  g_clear_error (&error);

  /* Repair keeps the empty file aside and makes a working index. */
  g_assert_true (sl_project_repair (path, &r, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (r.kept_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (r.images, ==, 0);
  sl_repair_result_clear (&r);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_not_a_database_is_damaged (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *db = db_path_of (tmp);
  g_autoptr (GError) error = NULL;

  g_assert_true (
      g_file_set_contents (db, "this is not sqlite at all, just some text....", -1, NULL));
  g_assert_null (sl_project_open (tmp, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, "repair"));
  sl_remove_tree (tmp);
}

static void
test_missing_table_is_damaged (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *db = db_path_of (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = sl_project_create (path, NULL, &error);
  sqlite3 *raw;

  g_assert_no_error (error);
  g_clear_pointer (&project, sl_project_unref);
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw, "DROP TABLE run_metrics", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (raw);
  g_assert_null (sl_project_open (path, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, "lacks the table run_metrics"));
  sl_remove_tree (tmp);
}

/* The images table itself is damaged: opening says so (with SQLite's check
 * and what still reads) instead of reporting wrong counts; repair rebuilds
 * every image from images/ and keeps the classes. */
static void
test_corrupt_images_table_and_repair (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *db = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (300, 2, &tmp);
  SlProjectStats s;
  SlRepairResult r;
  guint8 *before = NULL, *after = NULL;
  gsize before_len, after_len;

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  db = db_path_of (path);
  g_clear_pointer (&project, sl_project_unref);
  corrupt_table (path, "images");
  g_assert_true (g_file_get_contents (db, (char **) &before, &before_len, NULL));

  g_assert_null (sl_project_open (path, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "SQLite's check found"));
  g_assert_nonnull (strstr (error->message, "damaged: images"));
  g_assert_nonnull (strstr (error->message, "2 classes"));
  g_assert_nonnull (strstr (error->message, "images/ holds 300 files"));
  g_clear_error (&error);

  g_assert_true (sl_project_repair (path, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.images, ==, 300);
  g_assert_cmpint (r.classes, ==, 2);
  g_assert_cmpint (r.bad_files, ==, 0);
  /* The damaged file is kept, byte for byte. */
  g_assert_true (g_file_get_contents (r.kept_path, (char **) &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  sl_repair_result_clear (&r);

  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpint (s.images, ==, 300);
  g_assert_cmpint (s.missing, ==, 0);
  g_assert_cmpint (s.classes->len, ==, 2);
  sl_project_stats_clear (&s);
  g_free (before);
  g_free (after);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* One damaged page in the middle of the images table: repair reads around it,
 * so only the rows on that page (and a few after it) lose their labels. */
static void
test_corrupt_leaf_reads_around (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *db = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (400, 2, &tmp);
  gint64 leaves, leaf, size;
  g_autoptr (GError) error = NULL;
  SlRepairResult r;
  guint8 junk[512];
  FILE *f;

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  db = db_path_of (path);
  g_clear_pointer (&project, sl_project_unref);
  {
    sqlite3 *raw;
    sqlite3_stmt *stmt;

    g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
    if (sqlite3_prepare_v2 (raw,
                            "SELECT count(*), (SELECT pageno FROM dbstat WHERE name = 'images' "
                            "AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET (SELECT "
                            "count(*) / 2 FROM dbstat WHERE name = 'images' AND pagetype = "
                            "'leaf')) FROM dbstat WHERE name = 'images' AND pagetype = 'leaf'",
                            -1, &stmt, NULL)
        != SQLITE_OK)
      {
        sqlite3_close (raw);
        g_test_skip ("this SQLite has no dbstat table to find a leaf page");
        sl_remove_tree (tmp);
        return;
      }
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    leaves = sqlite3_column_int64 (stmt, 0);
    leaf = sqlite3_column_int64 (stmt, 1);
    sqlite3_finalize (stmt);
    sqlite3_close (raw);
  }
  g_assert_cmpint (leaves, >=, 4);
  size = query_int (path, "PRAGMA page_size");
  memset (junk, 0xa5, sizeof junk);
  f = fopen (db, "r+b");
  g_assert_cmpint (fseek (f, (leaf - 1) * size, SEEK_SET), ==, 0);
  g_assert_cmpint (fwrite (junk, 1, sizeof junk, f), ==, sizeof junk);
  fclose (f);

  g_assert_true (sl_project_repair (path, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.images, ==, 400);
  /* At most the rows of that page and as many again are lost, never the rest of the table. */
  g_test_message ("%lld of 400 labels recovered (%lld leaf pages)", (long long) r.images_labels,
                  (long long) leaves);
  g_assert_cmpint (r.images_labels, <, 400);
  g_assert_cmpint (r.images_labels, >=, 400 - 3 * (400 / leaves + 1));
  sl_repair_result_clear (&r);
  sl_remove_tree (tmp);
}

/* Damage in a table that opening does not read: the statistics fail with the
 * damage explained rather than giving a count of 0; repair keeps every label. */
static void
test_corrupt_side_table_keeps_labels (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *junk = NULL, *src = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (120, 2, &tmp);
  SlImportResult result;
  SlProjectStats s;
  SlRepairResult r;
  gint64 labelled;

  if (project == NULL)
    return;
  /* An import issue, so the import_issues table has a page of its own. */
  src = g_build_filename (tmp, "more", NULL);
  junk = g_build_filename (src, "notes.txt", NULL);
  g_mkdir_with_parents (src, 0755);
  g_assert_true (g_file_set_contents (junk, "not an image", -1, NULL));
  g_assert_true (sl_project_import_folder (project, src, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL, NULL,
                                           &result, &error));
  sl_import_result_clear (&result);
  path = g_strdup (sl_project_get_path (project));
  g_clear_pointer (&project, sl_project_unref);
  labelled = query_int (path, "SELECT count(*) FROM images WHERE class_id IS NOT NULL");
  g_assert_cmpint (labelled, ==, 120);
  corrupt_table (path, "import_issues");

  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (sl_project_get_stats (project, &s, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, "repair"));
  g_clear_error (&error);
  g_clear_pointer (&project, sl_project_unref);

  g_assert_true (sl_project_repair (path, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.images, ==, 120);
  g_assert_cmpint (r.images_labels, ==, 120);
  g_assert_cmpuint (r.notes->len, >=, 1); /* the import issues were lost */
  sl_repair_result_clear (&r);
  g_assert_cmpint (query_int (path, "SELECT count(*) FROM images WHERE class_id IS NOT NULL"), ==,
                   labelled);
  g_assert_cmpint (query_int (path, "SELECT count(*) FROM images WHERE split > 0"), ==, 120);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpint (s.labelled, ==, 120);
  sl_project_stats_clear (&s);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* A run whose row is lost comes back from runs/run-N/recipe.json. */
static void
test_repair_recovers_runs (void)
{
  g_autofree char *tmp = NULL, *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (60, 2, &tmp);
  g_autoptr (SlTrainJob) job = NULL;
  SlRunConfig config;
  SlRepairResult r;
  gint64 run_id;

  if (project == NULL)
    return;
  sl_run_config_init (&config);
  config.epochs = 1;
  job = sl_train_job_new (project, &config, &error);
  g_assert_no_error (error);
  run_id = sl_train_job_get_run_id (job);
  g_clear_pointer (&job, sl_train_job_free);
  sl_run_config_clear (&config);
  path = g_strdup (sl_project_get_path (project));
  g_clear_pointer (&project, sl_project_unref);
  corrupt_table (path, "runs");

  /* While a program trains a run, repair refuses and changes nothing. */
  {
    g_autofree char *lock_path = g_build_filename (path, "runs", "run-1", ".lock", NULL);
    g_autofree char *db = db_path_of (path);
    g_autoptr (SlLock) lock = sl_lock_take (lock_path, SL_LOCK_EXCLUSIVE, 0, "run-1", &error);

    g_assert_no_error (error);
    g_assert_false (sl_project_repair (path, &r, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY);
    g_assert_nonnull (strstr (error->message, "run-1"));
    g_clear_error (&error);
    sl_repair_result_clear (&r);
    g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  }
  g_assert_true (sl_project_repair (path, &r, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < r.notes->len; i++)
    g_test_message ("repair: %s", (char *) g_ptr_array_index (r.notes, i));
  g_assert_cmpint (r.runs, ==, 1);
  g_assert_cmpint (r.images_labels, ==, 60);
  sl_repair_result_clear (&r);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  {
    char id[32];
    g_autoptr (SlRunInfo) run = NULL;

    g_snprintf (id, sizeof id, "%lld", (long long) run_id);
    run = sl_project_get_run (project, id, &error);
    g_assert_no_error (error);
    g_assert_nonnull (run);
  }
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* ---- missing images ----------------------------------------------------------- */

static void
test_missing_images (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (60, 2, &tmp);
  g_autoptr (GPtrArray) train = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autofree char *note = NULL, *first = NULL;
  SlImageFilter filter;
  SlProjectStats s;
  SlRunConfig config;

  if (project == NULL)
    return;
  sl_image_filter_init (&filter);
  filter.split = SL_SPLIT_TRAIN;
  train = sl_project_list_images (project, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (train->len, >, 10);
  for (guint i = 0; i < 3; i++)
    {
      const SlImageInfo *info = g_ptr_array_index (train, i);
      g_autofree char *stored = sl_project_image_path (project, info->hash, info->ext);
      g_assert_cmpint (g_unlink (stored), ==, 0);
    }
  first = g_path_get_basename (((SlImageInfo *) g_ptr_array_index (train, 0))->original_path);

  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpint (s.missing, ==, 3);
  g_assert_cmpuint (s.missing_names->len, ==, 3);
  g_assert_true (has_warning (&s, "missing-images", first));
  sl_project_stats_clear (&s);

  /* Training skips them and says so. */
  sl_run_config_init (&config);
  config.epochs = 1;
  job = sl_train_job_new (project, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_train_job_get_train_images (job), ==, train->len - 3);
  note = sl_train_job_dup_skipped_note (job);
  g_assert_nonnull (note);
  g_assert_nonnull (strstr (note, "Skipped 3 images"));
  g_assert_nonnull (strstr (note, first));
  sl_run_config_clear (&config);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* ---- read-only projects ------------------------------------------------------------ */

/* Makes `path` unwritable for this process the way a user meets it: as root
 * (which ignores permission bits) the process becomes `nobody`; otherwise the
 * folder and project.db lose their write bits. Runs in a test subprocess. */
static void
drop_write_access (const char *tmp, const char *path)
{
  g_autofree char *db = db_path_of (path);

  g_assert_cmpint (g_chmod (db, 0444), ==, 0);
  g_assert_cmpint (g_chmod (path, 0555), ==, 0);
  if (geteuid () == 0)
    {
      g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);
      g_assert_cmpint (setgid (65534), ==, 0);
      g_assert_cmpint (setuid (65534), ==, 0);
    }
  g_assert_cmpint (access (db, W_OK), !=, 0);
}

static void
read_only_child (void)
{
  if (!g_test_subprocess ())
    {
      g_test_skip ("runs inside /projects/damaged/read-only");
      return;
    }
  {
    const char *tmp = g_getenv ("SL_TEST_RO_TMP");
    const char *path = g_getenv ("SL_TEST_RO_PROJECT");
    g_autoptr (GError) error = NULL;
    g_autoptr (SlProject) project = NULL;
    g_autoptr (GPtrArray) images = NULL;
    SlImageFilter filter;
    SlProjectStats s;
    SlImportResult result;
    gint64 id;

    drop_write_access (tmp, path);
    project = sl_project_open (path, &error);
    g_assert_no_error (error);
    g_assert_true (sl_project_is_read_only (project));
    g_assert_nonnull (strstr (sl_project_get_read_only_reason (project), "no permission"));
    /* Everything that reads works. */
    g_assert_true (sl_project_get_stats (project, &s, &error));
    g_assert_no_error (error);
    g_assert_cmpint (s.images, ==, 40);
    sl_project_stats_clear (&s);
    sl_image_filter_init (&filter);
    images = sl_project_list_images (project, &filter, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (images->len, ==, 40);
    /* Writes fail with the reason, not a raw SQLite error. */
    id = ((SlImageInfo *) g_ptr_array_index (images, 0))->id;
    g_assert_false (sl_project_set_labels (project, &id, 1, -1, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY);
    g_assert_nonnull (strstr (error->message, "viewing only"));
    g_clear_error (&error);
    g_assert_false (sl_project_set_reject_threshold (project, 0.5, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY);
    g_clear_error (&error);
    g_assert_false (sl_project_import_folder (project, tmp, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL,
                                              NULL, &result, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY);
    sl_import_result_clear (&result);
    g_print ("read-only ok\n");
  }
}

static void
test_read_only (void)
{
  g_autofree char *tmp = NULL, *path = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (40, 2, &tmp);
  g_autofree char *wal = NULL;

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  g_clear_pointer (&project, sl_project_unref);
  wal = g_strconcat (path, "/project.db-wal", NULL);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS)); /* a clean close */
  g_setenv ("SL_TEST_RO_TMP", tmp, TRUE);
  g_setenv ("SL_TEST_RO_PROJECT", path, TRUE);
  g_test_trap_subprocess ("/projects/damaged/read-only/child", 60 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*read-only ok*");
  /* Nothing was written: no WAL left behind, the project opens writable again. */
  g_chmod (path, 0755);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  {
    g_autofree char *db = db_path_of (path);
    g_autoptr (GError) error = NULL;
    g_chmod (db, 0644);
    project = sl_project_open (path, &error);
    g_assert_no_error (error);
    g_assert_false (sl_project_is_read_only (project));
  }
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* A project on a read-only medium (a read-only mount): opens, reads, says why
 * edits are off; nothing is written, not even a -shm file. */
static void
read_only_medium_child (void)
{
  if (!g_test_subprocess ())
    {
      g_test_skip ("runs inside /projects/damaged/read-only-medium");
      return;
    }
  {
    const char *path = g_getenv ("SL_TEST_RO_PROJECT");
    g_autoptr (GError) error = NULL;
    g_autoptr (SlProject) project = NULL;
    SlProjectStats s;

    if (!pt_make_read_only (path))
      {
        /* Tell the parent, through the (writable) folder above the project. */
        g_autofree char *marker = g_build_filename (g_getenv ("SL_TEST_RO_TMP"), "skipped", NULL);
        g_file_set_contents (marker, "", 0, NULL);
        return;
      }
    project = sl_project_open (path, &error);
    g_assert_no_error (error);
    g_assert_true (sl_project_is_read_only (project));
    if (geteuid () == 0)
      g_assert_nonnull (strstr (sl_project_get_read_only_reason (project), "read-only medium"));
    g_assert_true (sl_project_get_stats (project, &s, &error));
    g_assert_cmpint (s.images, ==, 30);
    g_assert_cmpint (s.labelled, ==, 30);
    sl_project_stats_clear (&s);
    g_assert_false (
        sl_project_split (project, &(SlSplitConfig){ 0.5, 0.5, 0, 1, TRUE }, NULL, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_READ_ONLY);
    g_print ("read-only ok\n");
  }
}

static void
test_read_only_medium (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *shm = NULL, *marker = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (30, 2, &tmp);

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  g_clear_pointer (&project, sl_project_unref);
  g_setenv ("SL_TEST_RO_TMP", tmp, TRUE);
  g_setenv ("SL_TEST_RO_PROJECT", path, TRUE);
  marker = g_build_filename (tmp, "skipped", NULL);
  g_test_trap_subprocess ("/projects/damaged/read-only-medium/child", 60 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  if (g_file_test (marker, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no read-only mount here (root without CAP_SYS_ADMIN)");
      sl_remove_tree (tmp);
      return;
    }
  g_test_trap_assert_stdout ("*read-only ok*");
  shm = g_strconcat (path, "/project.db-shm", NULL);
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
  {
    g_autofree char *db = g_build_filename (path, "project.db", NULL);
    g_chmod (path, 0755);
    g_chmod (db, 0644);
  }
  sl_remove_tree (tmp);
}

/* ---- the CLI ----------------------------------------------------------------------------- */

/* The CLI built beside the tests (G_TEST_BUILDDIR is tests/, as for test-projects-cli). */
static char *
cli_path (void)
{
  const char *build = g_getenv ("G_TEST_BUILDDIR");
  char *path = build != NULL ? g_build_filename (build, "..", "app", "sightline-cli", NULL) : NULL;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_free (path);
      return NULL;
    }
  return path;
}

static void
become_nobody (gpointer data)
{
  if (GPOINTER_TO_INT (data) && (setgid (65534) != 0 || setuid (65534) != 0))
    _exit (99);
}

/* Runs `sightline-cli ARGS` (as nobody when as_nobody); returns the exit status. */
static int
run_cli (gboolean as_nobody, char **out, char **err, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const char *arg;
  va_list ap;
  int status;

  g_ptr_array_add (args, cli_path ());
  g_ptr_array_add (args, g_strdup (first));
  va_start (ap, first);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, become_nobody,
                               GINT_TO_POINTER (as_nobody), out, err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* repair on a corrupted database; a read-only project's stats work and its
 * edits fail with the reason. */
static void
test_cli (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *cli = cli_path (), *db = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (SlProject) project = NULL;
  gboolean root = geteuid () == 0;

  if (cli == NULL)
    {
      g_test_skip ("sightline-cli is not built beside the tests");
      return;
    }
  if ((project = pt_fmnist_project (50, 2, &tmp)) == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  db = db_path_of (path);
  g_clear_pointer (&project, sl_project_unref);
  corrupt_table (path, "images");

  g_assert_cmpint (run_cli (FALSE, &out, &err, "stats", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is damaged"));
  g_assert_nonnull (strstr (err, "sightline-cli repair"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (FALSE, &out, &err, "repair", path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Rebuilt the index"));
  g_assert_nonnull (strstr (out, "50 images"));
  g_assert_nonnull (strstr (out, "project.db.damaged-"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Read-only: as nobody when root (the folder stays root's), else by permissions. */
  g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);
  if (!root)
    {
      g_assert_cmpint (g_chmod (db, 0444), ==, 0);
      g_assert_cmpint (g_chmod (path, 0555), ==, 0);
    }
  g_assert_cmpint (run_cli (root, &out, &err, "stats", path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "50 images"));
  g_assert_nonnull (strstr (out, "(read-only)"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (root, &out, &err, "split", path, "--resplit", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "'split' changes the project, which is read-only"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (root, &out, &err, "label", path, "--clear", "1", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "viewing only"));
  g_chmod (path, 0755);
  g_chmod (db, 0644);
  sl_remove_tree (tmp);
}

/* ---- conflicting duplicates and transparency ----------------------------------------- */

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
test_label_conflicts (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GPtrArray) conflicts = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autofree char *shirt_dir = NULL, *trouser_dir = NULL, *copy = NULL, *original = NULL;
  SlImportResult result;
  SlProjectStats s;
  const SlLabelConflict *c;
  const char *name;

  if (pt_write_fmnist_tree (src, TRUE, 20, 2, "img") < 0)
    return;
  /* One picture of the first class also lies in the second class's folder. */
  {
    g_autoptr (GDir) top = g_dir_open (src, 0, NULL);
    g_autoptr (GPtrArray) classes = g_ptr_array_new_with_free_func (g_free);
    const char *entry;

    while ((entry = g_dir_read_name (top)) != NULL)
      g_ptr_array_add (classes, g_strdup (entry));
    g_ptr_array_sort (classes, compare_names);
    g_assert_cmpuint (classes->len, ==, 2);
    /* The importer goes in path order: the first folder's file comes first. */
    shirt_dir = g_build_filename (src, (char *) g_ptr_array_index (classes, 0), NULL);
    trouser_dir = g_build_filename (src, (char *) g_ptr_array_index (classes, 1), NULL);
    dir = g_dir_open (shirt_dir, 0, NULL);
  }
  g_assert_nonnull (dir);
  name = g_dir_read_name (dir);
  original = g_build_filename (shirt_dir, name, NULL);
  copy = g_build_filename (trouser_dir, "zz-copy.png", NULL);
  copy_file (original, copy);

  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                           NULL, NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 20);
  g_assert_cmpint (result.duplicates, ==, 1);
  g_assert_cmpint (result.conflicts, ==, 1);
  sl_import_result_clear (&result);

  conflicts = sl_project_list_label_conflicts (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conflicts->len, ==, 1);
  c = g_ptr_array_index (conflicts, 0);
  {
    g_autofree char *a = g_path_get_basename (shirt_dir), *b = g_path_get_basename (trouser_dir);
    g_assert_cmpstr (c->kept_class, ==, a);
    g_assert_cmpstr (c->other_class, ==, b);
    g_assert_nonnull (strstr (c->path, "zz-copy.png"));
    g_assert_nonnull (strstr (c->image_path, name));
  }
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpint (s.conflicts, ==, 1);
  g_assert_true (has_warning (&s, "label-conflicts", NULL));
  sl_project_stats_clear (&s);

  /* The user picks the second folder's class. */
  g_assert_true (sl_project_resolve_label_conflict (project, c->image_id, c->other_class, &error));
  g_assert_no_error (error);
  {
    SlImageInfo *info = sl_project_get_image (project, c->image_id, &error);
    g_assert_cmpstr (info->class_name, ==, c->other_class);
    sl_image_info_free (info);
  }
  g_clear_pointer (&conflicts, g_ptr_array_unref);
  conflicts = sl_project_list_label_conflicts (project, &error);
  g_assert_cmpuint (conflicts->len, ==, 0);
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpint (s.conflicts, ==, 0);
  g_assert_false (has_warning (&s, "label-conflicts", NULL));
  sl_project_stats_clear (&s);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_transparency_warning (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  guint8 rgba[8 * 8 * 4], rgb[8 * 8 * 3];
  sl_image view = { 0 };
  sl_error err = { 0 };
  SlImportResult result;
  SlProjectStats s;

  g_mkdir_with_parents (src, 0755);
  for (gsize i = 0; i < sizeof rgba; i++)
    rgba[i] = (guint8) (i * 7);
  for (gsize i = 0; i < sizeof rgb; i++)
    rgb[i] = (guint8) (i * 5);
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *file = g_strdup_printf ("%s/icon-%d.png", src, k);
      rgba[0] = (guint8) k;
      sl_image_borrow (&view, rgba, 8, 8, 4, 8, 8 * 4, NULL);
      g_assert_cmpint (sl_image_save (&view, file, &err), ==, SL_OK);
    }
  {
    g_autofree char *file = g_strdup_printf ("%s/plain.png", src);
    sl_image_borrow (&view, rgb, 8, 8, 3, 8, 8 * 3, NULL);
    g_assert_cmpint (sl_image_save (&view, file, &err), ==, SL_OK);
  }
  project = sl_project_create (path, NULL, &error);
  g_assert_true (sl_project_import_folder (project, src, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL, NULL,
                                           &result, &error));
  g_assert_cmpint (result.added, ==, 3);
  sl_import_result_clear (&result);
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpint (s.transparent, ==, 2);
  /* A project without a pipeline yet gets a new pipeline's rule: onto white. */
  g_assert_true (has_warning (&s, "transparency", "2 images have transparency"));
  g_assert_true (has_warning (&s, "transparency", "composites transparent pixels onto white"));
  sl_project_stats_clear (&s);
  /* A pipeline that drops the alpha (every pipeline from before the rule) is called out. */
  {
    sl_pipeline *pipeline = NULL;
    sl_alpha_rule drop = { SL_ALPHA_DROP, { 0, 0, 0 } };

    g_assert_cmpint (sl_pipeline_new (&pipeline, NULL), ==, SL_OK);
    g_assert_cmpint (sl_pipeline_set_alpha (pipeline, &drop, NULL), ==, SL_OK);
    g_assert_true (sl_project_set_pipeline (project, pipeline, &error));
    sl_pipeline_free (pipeline);
  }
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_true (has_warning (&s, "transparency", "pipeline drops it"));
  sl_project_stats_clear (&s);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/damaged/empty-db", test_empty_db_is_damaged);
  g_test_add_func ("/projects/damaged/not-a-database", test_not_a_database_is_damaged);
  g_test_add_func ("/projects/damaged/missing-table", test_missing_table_is_damaged);
  g_test_add_func ("/projects/damaged/corrupt-images-repair", test_corrupt_images_table_and_repair);
  g_test_add_func ("/projects/damaged/corrupt-side-table", test_corrupt_side_table_keeps_labels);
  g_test_add_func ("/projects/damaged/corrupt-leaf", test_corrupt_leaf_reads_around);
  g_test_add_func ("/projects/damaged/repair-runs", test_repair_recovers_runs);
  g_test_add_func ("/projects/damaged/missing-images", test_missing_images);
  g_test_add_func ("/projects/damaged/read-only", test_read_only);
  g_test_add_func ("/projects/damaged/read-only/child", read_only_child);
  g_test_add_func ("/projects/damaged/read-only-medium", test_read_only_medium);
  g_test_add_func ("/projects/damaged/read-only-medium/child", read_only_medium_child);
  g_test_add_func ("/projects/damaged/label-conflicts", test_label_conflicts);
  g_test_add_func ("/projects/damaged/cli", test_cli);
  g_test_add_func ("/projects/damaged/transparency", test_transparency_warning);
  return g_test_run ();
}
