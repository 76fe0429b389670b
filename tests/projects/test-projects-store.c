/* test-projects-store.c: project folders, schema versions and migrations, settings, classes, labels. */
#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-project.h"
#include "sl-project-settings.h"

static void
test_create_and_open (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL, again = NULL;
  g_autofree char *name = NULL, *value = NULL, *images = NULL, *db = NULL;

  project = sl_project_create (path, "Widgets", &error);
  g_assert_no_error (error);
  name = sl_project_dup_name (project);
  g_assert_cmpstr (name, ==, "Widgets");
  images = g_build_filename (path, "images", NULL);
  g_assert_true (g_file_test (images, G_FILE_TEST_IS_DIR));
  g_assert_true (sl_project_set_export_folder (project, "/srv/models", &error));
  g_clear_pointer (&project, sl_project_unref);

  again = sl_project_open (path, &error);
  g_assert_no_error (error);
  value = sl_project_dup_export_folder (again);
  g_assert_cmpstr (value, ==, "/srv/models");

  /* WAL and the schema version are on the file itself. */
  db = g_build_filename (path, "project.db", NULL);
  {
    sqlite3 *raw;
    sqlite3_stmt *stmt;
    g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
    sqlite3_prepare_v2 (raw, "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
    sqlite3_finalize (stmt);
    sqlite3_prepare_v2 (raw, "PRAGMA user_version", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, SL_PROJECT_SCHEMA_VERSION);
    sqlite3_finalize (stmt);
    sqlite3_close (raw);
  }

  /* Creating over an existing project or a non-empty folder is refused. */
  g_assert_null (sl_project_create (path, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS);
  g_clear_pointer (&again, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_open_errors (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *db = g_build_filename (path, "project.db", NULL);
  g_autofree char *junk = g_build_filename (tmp, "junk", NULL);
  g_autofree char *junk_db = g_build_filename (junk, "project.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  sqlite3 *raw;

  /* A plain folder. */
  g_assert_null (sl_project_open (tmp, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_A_PROJECT);
  g_clear_error (&error);

  /* A project.db that is not a database. */
  g_mkdir_with_parents (junk, 0755);
  g_assert_true (g_file_set_contents (junk_db, "this is not sqlite at all, just text", -1, NULL));
  g_assert_null (sl_project_open (junk, &error));
  /* A folder with a project.db is a project; a file SQLite cannot read is a damaged one. */
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  g_clear_error (&error);

  /* A project written by a newer Sightline. */
  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&project, sl_project_unref);
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (raw);
  g_assert_null (sl_project_open (path, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NEWER_SCHEMA);
  g_assert_nonnull (strstr (error->message, "newer"));
  sl_remove_tree (tmp);
}

static void
test_migrate_from_empty (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *db = g_build_filename (tmp, "project.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  sqlite3 *raw;

  /* A version-0 database (as an interrupted first creation leaves: WAL set,
   * no tables yet) is upgraded on open. An empty file is not a database: see
   * test-projects-damaged.c. */
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  sqlite3_close (raw);
  project = sl_project_open (tmp, &error);
  g_assert_no_error (error);
  classes = sl_project_list_classes (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (classes->len, ==, 0);
  g_assert_cmpint (sl_project_add_class (project, "good", NULL, NULL, &error), >, 0);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_classes (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = sl_project_create (tmp, NULL, &error);
  g_autoptr (GPtrArray) classes = NULL;
  gint64 good, bad, scratch;
  SlClass *c;

  g_assert_no_error (error);
  good = sl_project_add_class (project, "good", NULL, NULL, &error);
  bad = sl_project_add_class (project, "bad", "#FF0000", "b", &error);
  g_assert_no_error (error);
  g_assert_cmpint (good, >, 0);

  /* Duplicate names and shortcuts, bad colours and names are refused. */
  g_assert_cmpint (sl_project_add_class (project, "good", NULL, NULL, &error), ==, -1);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (sl_project_add_class (project, "x", NULL, "b", &error), ==, -1);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (sl_project_add_class (project, "y", "red", NULL, &error), ==, -1);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (sl_project_add_class (project, " padded", NULL, NULL, &error), ==, -1);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);

  classes = sl_project_list_classes (project, &error);
  g_assert_cmpuint (classes->len, ==, 2);
  c = g_ptr_array_index (classes, 0);
  g_assert_cmpstr (c->name, ==, "good");
  g_assert_cmpstr (c->shortcut, ==, "1"); /* the first free digit */
  g_assert_cmpint (strlen (c->color), ==, 7);
  c = g_ptr_array_index (classes, 1);
  g_assert_cmpstr (c->shortcut, ==, "b");
  g_clear_pointer (&classes, g_ptr_array_unref);

  g_assert_true (sl_project_rename_class (project, bad, "scratched", &error));
  g_assert_false (sl_project_rename_class (project, bad, "good", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (sl_project_set_class_style (project, bad, "#00ff00", "", &error));
  {
    g_autoptr (SlClass) k = sl_project_find_class (project, "scratched", &error);
    g_assert_nonnull (k);
    g_assert_cmpstr (k->color, ==, "#00ff00");
    g_assert_null (k->shortcut);
  }
  scratch = sl_project_add_class (project, "dent", NULL, NULL, &error);
  g_assert_true (sl_project_merge_classes (project, scratch, bad, &error));
  g_assert_false (sl_project_merge_classes (project, bad, bad, &error));
  g_clear_error (&error);
  g_assert_null (sl_project_find_class (project, "dent", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (sl_project_delete_class (project, bad, SL_CLASS_DELETE_UNLABEL, NULL, &error));
  g_assert_false (sl_project_delete_class (project, bad, SL_CLASS_DELETE_UNLABEL, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Labels, ignore, merge and delete on real imported images. */
static void
test_labels (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (60, 3, &tmp);
  g_autoptr (GPtrArray) images = NULL, classes = NULL;
  SlImageFilter filter;
  gint64 ids[3], t_shirt = -1, trouser = -1, pullover = -1, touched = 0, missing[2];
  SlImageInfo *first;

  if (project == NULL)
    return;
  classes = sl_project_list_classes (project, &error);
  g_assert_cmpuint (classes->len, ==, 3);
  for (guint i = 0; i < classes->len; i++)
    {
      const SlClass *k = g_ptr_array_index (classes, i);
      if (g_str_equal (k->name, "t-shirt"))
        t_shirt = k->id;
      else if (g_str_equal (k->name, "trouser"))
        trouser = k->id;
      else if (g_str_equal (k->name, "pullover"))
        pullover = k->id;
    }

  sl_image_filter_init (&filter);
  filter.class_id = t_shirt;
  images = sl_project_list_images (project, &filter, &error);
  g_assert_cmpuint (images->len, >=, 3);
  for (int i = 0; i < 3; i++)
    ids[i] = ((SlImageInfo *) g_ptr_array_index (images, i))->id;
  first = g_ptr_array_index (images, 0);

  /* Resolving by id and by hash prefix. */
  {
    g_autofree char *id_text = g_strdup_printf ("%lld", (long long) first->id);
    g_autofree char *prefix = g_strndup (first->hash, 10);
    g_assert_cmpint (sl_project_resolve_image (project, id_text, &error), ==, first->id);
    g_assert_cmpint (sl_project_resolve_image (project, prefix, &error), ==, first->id);
    g_assert_cmpint (sl_project_resolve_image (project, "999999", &error), ==, -1);
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* Bulk set, clear, ignore. A missing id changes nothing. */
  g_assert_true (sl_project_set_labels (project, ids, 2, trouser, &error));
  g_assert_no_error (error);
  missing[0] = ids[2];
  missing[1] = 987654;
  g_assert_false (sl_project_set_labels (project, missing, 2, trouser, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (sl_project_set_labels (project, &ids[2], 1, -1, &error));
  g_assert_true (sl_project_set_ignored (project, &ids[0], 1, TRUE, &error));
  g_clear_pointer (&images, g_ptr_array_unref);
  sl_image_filter_init (&filter);
  filter.class_id = -1;
  images = sl_project_list_images (project, &filter, &error);
  g_assert_cmpuint (images->len, ==, 1);
  g_assert_cmpint (((SlImageInfo *) g_ptr_array_index (images, 0))->id, ==, ids[2]);
  {
    SlProjectStats stats;
    g_assert_true (sl_project_get_stats (project, &stats, &error));
    g_assert_cmpint (stats.images, ==, 60);
    g_assert_cmpint (stats.ignored, ==, 1);
    g_assert_cmpint (stats.unlabelled, ==, 1);
    g_assert_cmpint (stats.labelled, ==, 58);
    sl_project_stats_clear (&stats);
  }

  /* Merge moves the images; delete with REMOVE_IMAGES deletes their stored copies. */
  g_assert_true (sl_project_merge_classes (project, pullover, trouser, &error));
  {
    g_autoptr (SlClass) k = sl_project_find_class (project, "trouser", &error);
    g_autofree char *store = g_build_filename (sl_project_get_path (project), "images", NULL);
    int files_before = pt_count_files (store);

    g_assert_true (
        sl_project_delete_class (project, k->id, SL_CLASS_DELETE_REMOVE_IMAGES, &touched, &error));
    g_assert_no_error (error);
    /* ignored images are still images of the class: count every removed copy */
    g_assert_cmpint (touched, ==, files_before - pt_count_files (store));
    g_assert_cmpint (touched, >, 0);
  }
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Files are replaced whole; a failure names the file and the reason, never the temporary
 * file GLib writes first. */
static void
test_replace_contents (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "model.json", NULL);
  g_autofree char *lost = g_build_filename (tmp, "no-folder", "model.json", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (sl_file_replace_contents (path, "{}", -1, &error));
  g_assert_no_error (error);
  g_assert_true (sl_file_replace_contents (path, "{\"a\": 1}", -1, &error));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "{\"a\": 1}");

  g_assert_false (sl_file_replace_contents (lost, "{}", -1, &error));
  g_assert_nonnull (error);
  expected = g_strdup_printf ("Could not write %s: %s", lost, g_strerror (ENOENT));
  g_assert_cmpstr (error->message, ==, expected);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/store/create-open", test_create_and_open);
  g_test_add_func ("/projects/store/replace-contents", test_replace_contents);
  g_test_add_func ("/projects/store/open-errors", test_open_errors);
  g_test_add_func ("/projects/store/migrate-empty", test_migrate_from_empty);
  g_test_add_func ("/projects/store/classes", test_classes);
  g_test_add_func ("/projects/store/labels", test_labels);
  return g_test_run ();
}
