/* test-projects-import.c: importing messy folders; cancel and kill -9 mid-import stay consistent. */
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "projects-test-util.h"
#include "sl-project-private.h" /* the raw "import-active" marker */
#include "sl-project.h"

static char *
read_file (const char *path, gsize *len)
{
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, len, NULL));
  return data;
}

static void
copy_file (const char *from, const char *to)
{
  gsize len;
  g_autofree char *data = read_file (from, &len);
  g_autofree char *dir = g_path_get_dirname (to);

  g_mkdir_with_parents (dir, 0755);
  g_assert_true (g_file_set_contents (to, data, len, NULL));
}

/* Rows of the images table whose stored copy is missing, and store files without a row. */
static void
assert_store_consistent (SlProject *project, gint64 *rows)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);
  g_autofree char *store = g_build_filename (sl_project_get_path (project), "images", NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_autofree char *path = sl_project_image_path (project, im->hash, im->ext);
      gsize len;
      g_autofree char *data = read_file (path, &len);
      g_autofree char *hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, len);

      g_assert_cmpstr (hash, ==, im->hash);
    }
  g_assert_cmpint (pt_count_files (store), ==, images->len);
  *rows = images->len;
}

typedef struct
{
  char *tmp, *src, *good_png;
  SlProject *project;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fm = NULL, *path = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;
  int n = 0;

  f->tmp = pt_make_tmp ();
  fm = g_build_filename (f->tmp, "fm", NULL);
  if (pt_write_fmnist_tree (fm, TRUE, 8, 1, "x") < 0)
    return;
  f->src = g_build_filename (f->tmp, "src", NULL);
  /* 8 real images of one class spread over a tree. */
  path = g_build_filename (fm, "t-shirt", NULL);
  dir = g_dir_open (path, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (path, name, NULL);
      g_autofree char *to = NULL;

      if (n < 3)
        to = g_build_filename (f->src, "good", name, NULL);
      else if (n < 5)
        to = g_build_filename (f->src, "good", "nested", "deeper", name, NULL);
      else if (n == 5)
        to = g_build_filename (f->src, "bad", "ü-ñame 日本.png", NULL);
      else if (n == 6)
        to = g_build_filename (f->src, "loose.png", NULL);
      else
        to = g_build_filename (f->src, "bad", "Scratch.PNG", NULL);
      copy_file (from, to);
      if (n == 0)
        {
          /* Sorted after the original, so the copy is the one found to be a duplicate. */
          g_autofree char *dup = g_build_filename (f->src, "good", "zz-copy-of-first.png", NULL);
          f->good_png = g_strdup (to);
          copy_file (from, dup);
        }
      n++;
    }
  {
    g_autofree char *truncated = g_build_filename (f->src, "bad", "truncated.png", NULL);
    g_autofree char *empty = g_build_filename (f->src, "bad", "empty.png", NULL);
    g_autofree char *text = g_build_filename (f->src, "bad", "text.jpg", NULL);
    g_autofree char *notes = g_build_filename (f->src, "notes.txt", NULL);
    g_autofree char *hidden = g_build_filename (f->src, "good", ".DS_Store", NULL);
    gsize len;
    g_autofree char *png = read_file (f->good_png, &len);

    g_assert_true (g_file_set_contents (truncated, png, MIN (len, 40), NULL));
    g_assert_true (g_file_set_contents (empty, "", 0, NULL));
    g_assert_true (g_file_set_contents (text, "not a JPEG, just words", -1, NULL));
    g_assert_true (g_file_set_contents (notes, "labels are folder names", -1, NULL));
    g_assert_true (g_file_set_contents (hidden, "finder junk", -1, NULL));
  }
  g_free (path);
  path = g_build_filename (f->tmp, "project", NULL);
  f->project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  sl_project_unref (f->project);
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->src);
  g_free (f->good_png);
}

static const SlImportIssue *
find_issue (const SlImportResult *r, const char *suffix)
{
  for (guint i = 0; i < r->issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (r->issues, i);
      if (g_str_has_suffix (issue->path, suffix))
        return issue;
    }
  return NULL;
}

static void
test_import_tree (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL, classes = NULL;
  SlImportResult r;
  const SlImportIssue *issue;
  gsize len_before, len_after;
  g_autofree char *before = NULL, *after = NULL;
  gint64 rows;
  int good = 0, bad = 0, unlabelled = 0, unicode = 0, nested = 0;

  if (f->project == NULL)
    return;
  before = read_file (f->good_png, &len_before);
  g_assert_true (sl_project_import_folder (f->project, f->src, SL_IMPORT_LABELS_FROM_FOLDERS, 0,
                                           NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.added, ==, 8);
  g_assert_cmpint (r.duplicates, ==, 1);
  g_assert_cmpint (r.unreadable, ==, 3);
  g_assert_cmpint (r.not_images, ==, 1);
  g_assert_cmpint (r.classes_created, ==, 2);
  g_assert_cmpint (r.files, ==, 13); /* the hidden file is not even looked at */
  g_assert_cmpuint (r.image_ids->len, ==, 8);
  issue = find_issue (&r, "copy-of-first.png");
  g_assert_nonnull (issue);
  g_assert_cmpint (issue->outcome, ==, SL_IMPORT_DUPLICATE);
  g_assert_nonnull (strstr (issue->reason, "same content"));
  for (const char *const *name
       = (const char *const[]){ "truncated.png", "empty.png", "text.jpg", NULL };
       *name != NULL; name++)
    {
      issue = find_issue (&r, *name);
      g_assert_nonnull (issue);
      g_assert_cmpint (issue->outcome, ==, SL_IMPORT_UNREADABLE);
      g_assert_cmpuint (strlen (issue->reason), >, 5);
    }
  g_assert_cmpint (find_issue (&r, "notes.txt")->outcome, ==, SL_IMPORT_NOT_IMAGE);
  sl_import_result_clear (&r);

  images = sl_project_list_images (f->project, NULL, &error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_assert_cmpint (im->width, ==, 28);
      g_assert_cmpint (im->channels, ==, 1);
      good += g_strcmp0 (im->class_name, "good") == 0;
      bad += g_strcmp0 (im->class_name, "bad") == 0;
      unlabelled += im->class_id < 0;
      unicode += strstr (im->original_path, "ü-ñame 日本.png") != NULL;
      nested += strstr (im->original_path, "nested/deeper") != NULL
                && g_strcmp0 (im->class_name, "good") == 0;
    }
  g_assert_cmpint (good, ==, 5);
  g_assert_cmpint (bad, ==, 2);
  g_assert_cmpint (unlabelled, ==, 1);
  g_assert_cmpint (unicode, ==, 1);
  g_assert_cmpint (nested, ==, 2);
  assert_store_consistent (f->project, &rows);
  g_assert_cmpint (rows, ==, 8);

  /* The originals are untouched. */
  after = read_file (f->good_png, &len_after);
  g_assert_cmpmem (before, len_before, after, len_after);

  /* Importing again finds only duplicates; the issues are kept for stats. */
  g_assert_true (sl_project_import_folder (f->project, f->src, SL_IMPORT_LABELS_FROM_FOLDERS, 0,
                                           NULL, NULL, NULL, &r, &error));
  g_assert_cmpint (r.added, ==, 0);
  g_assert_cmpint (r.duplicates, ==, 9);
  sl_import_result_clear (&r);
  {
    SlProjectStats s;
    g_assert_true (sl_project_get_stats (f->project, &s, &error));
    g_assert_cmpint (s.duplicates, ==, 10);
    g_assert_cmpint (s.unreadable, ==, 6);
    g_assert_cmpint (s.unlabelled, ==, 1);
    sl_project_stats_clear (&s);
  }
}

/* A dropped mix of a folder, loose files, a duplicate and a missing file is one import. */
static void
test_import_files (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *good = NULL, *loose = NULL, *missing = NULL, *truncated = NULL;
  g_autoptr (GPtrArray) images = NULL;
  SlImportResult r;
  gint64 rows;
  int labelled = 0;

  if (f->project == NULL)
    return;
  good = g_build_filename (f->src, "good", NULL);
  loose = g_build_filename (f->src, "loose.png", NULL);
  missing = g_build_filename (f->src, "gone.png", NULL);
  truncated = g_build_filename (f->src, "bad", "truncated.png", NULL);
  {
    const char *const paths[] = { good, loose, f->good_png, missing, truncated };

    g_assert_true (sl_project_import_files (f->project, paths, G_N_ELEMENTS (paths),
                                            SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL, NULL, &r,
                                            &error));
  }
  g_assert_no_error (error);
  /* good/: 5 images and their copy (a duplicate); loose.png; the first image
   * again (a duplicate); a missing and a truncated file. */
  g_assert_cmpint (r.files, ==, 10);
  g_assert_cmpint (r.added, ==, 6);
  g_assert_cmpint (r.duplicates, ==, 2);
  g_assert_cmpint (r.unreadable, ==, 2);
  g_assert_cmpint (r.not_images, ==, 0);
  g_assert_cmpuint (r.image_ids->len, ==, 6);
  g_assert_cmpint (find_issue (&r, "gone.png")->outcome, ==, SL_IMPORT_UNREADABLE);
  g_assert_cmpint (find_issue (&r, "truncated.png")->outcome, ==, SL_IMPORT_UNREADABLE);
  sl_import_result_clear (&r);

  /* The folder's sub-folders name classes ("nested"); loose files stay unlabelled. */
  images = sl_project_list_images (f->project, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);

      labelled += im->class_id >= 0;
      if (g_str_has_suffix (im->original_path, "loose.png"))
        g_assert_cmpint (im->class_id, ==, -1);
      if (im->class_id >= 0)
        g_assert_cmpstr (im->class_name, ==, "nested");
    }
  g_assert_cmpint (labelled, ==, 2);
  assert_store_consistent (f->project, &rows);
  g_assert_cmpint (rows, ==, 6);

  /* Without the flag nothing is labelled; everything is a duplicate now. */
  {
    const char *const again[] = { good, loose };

    g_assert_true (sl_project_import_files (f->project, again, 2, SL_IMPORT_FLAGS_NONE, 0, NULL,
                                            NULL, NULL, &r, &error));
  }
  g_assert_cmpint (r.added, ==, 0);
  g_assert_cmpint (r.duplicates, ==, 7);
  sl_import_result_clear (&r);
}

static void
cancel_after_three (const SlImportProgress *p, gpointer user_data)
{
  if (p->done == 3)
    g_cancellable_cancel (user_data);
}

static void
test_import_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  SlImportResult r;
  gint64 rows;

  if (f->project == NULL)
    return;
  g_assert_false (sl_project_import_folder (f->project, f->src, SL_IMPORT_LABELS_FROM_FOLDERS, 0,
                                            cancel_after_three, cancellable, cancellable, &r,
                                            &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (r.cancelled);
  g_assert_cmpint (r.files, ==, 3);
  assert_store_consistent (f->project, &rows);
  g_assert_cmpint (rows, ==, r.added);
  sl_import_result_clear (&r);
}

static void
test_open_cleans_leftovers (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL, *tmp_file = NULL, *orphan = NULL, *dir = NULL;
  g_autoptr (SlProject) again = NULL;

  if (f->project == NULL)
    return;
  path = g_strdup (sl_project_get_path (f->project));
  dir = g_build_filename (path, "images", "ab", NULL);
  g_mkdir_with_parents (dir, 0755);
  tmp_file = g_build_filename (dir, "ab12.png.tmp-Xy12Zq", NULL);
  orphan = g_build_filename (dir, "ab34.png", NULL);
  g_assert_true (g_file_set_contents (tmp_file, "half", -1, NULL));
  g_assert_true (g_file_set_contents (orphan, "whole", -1, NULL));
  /* Without an unfinished import only temporary files go. */
  again = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (tmp_file, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_clear_pointer (&again, sl_project_unref);
  /* After one, copies without a row go too. */
  g_assert_true (_sl_project_set_setting (f->project, "import-active", "1", &error));
  again = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_null (_sl_project_get_setting (again, "import-active"));
}

static void
die_at (const SlImportProgress *p, gpointer user_data)
{
  if (p->done == GPOINTER_TO_INT (user_data))
    kill (getpid (), SIGKILL);
}

/* Runs in a subprocess: imports and kills itself in the second batch of 256,
 * after stored copies of that batch were written. */
static void
kill_child (void)
{
  SlProject *child = sl_project_open (g_getenv ("SL_TEST_KILL_PROJECT"), NULL);
  SlImportResult r;

  g_assert_nonnull (child);
  sl_project_import_folder (child, g_getenv ("SL_TEST_KILL_SOURCE"), SL_IMPORT_LABELS_FROM_FOLDERS,
                            0, die_at, GINT_TO_POINTER (280), NULL, &r, NULL);
}

static void
test_import_kill (void)
{
  g_autofree char *tmp = NULL, *src = NULL, *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GHashTable) distinct = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  SlImportResult r;
  gint64 rows;
  int n;

  if (g_test_subprocess ())
    {
      kill_child ();
      return;
    }
  tmp = pt_make_tmp ();
  src = g_build_filename (tmp, "src", NULL);
  path = g_build_filename (tmp, "project", NULL);
  if ((n = pt_write_fmnist_tree (src, TRUE, 300, 10, "k")) < 0)
    return;
  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&project, sl_project_unref);
  g_setenv ("SL_TEST_KILL_PROJECT", path, TRUE);
  g_setenv ("SL_TEST_KILL_SOURCE", src, TRUE);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, 0);
  g_test_trap_assert_failed ();

  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  assert_store_consistent (project, &rows);
  g_assert_cmpint (rows, >, 0);
  g_assert_cmpint (rows, <=, 256);

  /* Importing again completes the job. */
  g_assert_true (sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                           NULL, NULL, &r, &error));
  g_assert_no_error (error);
  sl_import_result_clear (&r);
  assert_store_consistent (project, &rows);
  {
    g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);
    for (guint i = 0; i < images->len; i++)
      g_hash_table_add (distinct, g_strdup (((SlImageInfo *) g_ptr_array_index (images, i))->hash));
  }
  g_assert_cmpint (g_hash_table_size (distinct), ==, rows);
  g_assert_cmpint (rows, >=, n - 5); /* Fashion-MNIST holds a few exact duplicates at most */
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/projects/import/tree", Fixture, NULL, fixture_set_up, test_import_tree,
              fixture_tear_down);
  g_test_add ("/projects/import/files", Fixture, NULL, fixture_set_up, test_import_files,
              fixture_tear_down);
  g_test_add ("/projects/import/cancel", Fixture, NULL, fixture_set_up, test_import_cancel,
              fixture_tear_down);
  g_test_add ("/projects/import/open-cleans", Fixture, NULL, fixture_set_up,
              test_open_cleans_leftovers, fixture_tear_down);
  g_test_add_func ("/projects/import/kill-9", test_import_kill);
  return g_test_run ();
}
