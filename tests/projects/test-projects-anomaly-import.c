/* test-projects-anomaly-import.c: importing as a class, the good / defect folder rule, and anomaly splits. */
#include <glib/gstdio.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-anomaly.h"
#include "sl-test-anomaly-data.h"

typedef struct
{
  char *tmp;
  char *data; /* data/good and data/defect hold PNGs (no masks) */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer user_data)
{
  g_autofree char *masks = NULL;

  f->tmp = pt_make_tmp ();
  f->data = g_build_filename (f->tmp, "data", NULL);
  g_assert_cmpint (sl_test_write_anomaly_images (f->data, 20, 10, 32, 7), ==, 0);
  masks = g_build_filename (f->data, "masks", NULL);
  sl_remove_tree (masks);
}

static void
fixture_tear_down (Fixture *f, gconstpointer user_data)
{
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->data);
}

static SlProject *
new_project (Fixture *f, const char *name, SlProjectKind kind)
{
  g_autofree char *path = g_build_filename (f->tmp, name, NULL);
  g_autoptr (GError) error = NULL;
  SlProject *project = sl_project_create_kind (path, name, kind, &error);

  g_assert_no_error (error);
  return project;
}

/* Images of a class (or -1: unlabelled) in a split (or -1: any). */
static guint
count_images (SlProject *project, const char *class_name, int split)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL;
  SlImageFilter filter;

  sl_image_filter_init (&filter);
  filter.split = split;
  if (class_name == NULL)
    filter.class_id = -1;
  else
    {
      g_autoptr (SlClass) klass = sl_project_find_class (project, class_name, &error);
      g_assert_no_error (error);
      filter.class_id = klass->id;
    }
  images = sl_project_list_images (project, &filter, &error);
  g_assert_no_error (error);
  return images->len;
}

/* Whether the project's data health has a warning with this code. */
static gboolean
has_warning (SlProject *project, const char *code)
{
  g_autoptr (GError) error = NULL;
  SlProjectStats stats;
  gboolean found = FALSE;

  g_assert_true (sl_project_get_stats (project, &stats, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < stats.warnings->len; i++)
    {
      const SlHealthWarning *w = g_ptr_array_index (stats.warnings, i);

      g_test_message ("warning %s: %s", w->code, w->message);
      found = found || g_strcmp0 (w->code, code) == 0;
    }
  sl_project_stats_clear (&stats);
  return found;
}

/* Copies the files of one folder into another (created). */
static void
copy_folder (const char *from, const char *to, int limit)
{
  g_autoptr (GDir) dir = g_dir_open (from, 0, NULL);
  const char *name;
  int n = 0;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL && n < limit)
    {
      g_autofree char *src = g_build_filename (from, name, NULL);
      g_autofree char *dst = g_build_filename (to, name, NULL);
      g_autofree char *data = NULL;
      gsize size;

      g_assert_true (g_file_get_contents (src, &data, &size, NULL));
      g_assert_true (g_file_set_contents (dst, data, size, NULL));
      n++;
    }
}

static void
test_import_as (Fixture *f, gconstpointer user_data)
{
  g_autoptr (SlProject) project = new_project (f, "as", SL_PROJECT_KIND_ANOMALY);
  g_autofree char *good = g_build_filename (f->data, "good", NULL);
  g_autofree char *defect = g_build_filename (f->data, "defect", NULL);
  const char *good_paths[] = { good };
  const char *defect_paths[] = { defect };
  g_autoptr (GError) error = NULL;
  SlImportResult result;

  /* An empty anomaly project asks for good images (not for a second class). */
  g_assert_true (has_warning (project, "no-good"));
  g_assert_false (has_warning (project, "few-classes"));
  /* Every image of the folder is good; the class exists already. */
  g_assert_true (sl_project_import_files_as (project, good_paths, 1, "good", 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 20);
  g_assert_cmpint (result.classes_created, ==, 0);
  sl_import_result_clear (&result);
  g_assert_cmpuint (count_images (project, "good", -1), ==, 20);
  g_assert_false (has_warning (project, "no-good"));
  g_assert_true (has_warning (project, "no-defects"));
  g_assert_false (has_warning (project, "empty-class")); /* "defect" may stay empty */
  /* A new class is made for a kind of defect. */
  g_assert_true (sl_project_import_files_as (project, defect_paths, 1, "scratch", 0, NULL, NULL,
                                             NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 10);
  g_assert_cmpint (result.classes_created, ==, 1);
  sl_import_result_clear (&result);
  g_assert_cmpuint (count_images (project, "scratch", -1), ==, 10);
  g_assert_cmpuint (count_images (project, NULL, -1), ==, 0);
  /* Again as good: duplicates, no conflicts; as defect: each one a label conflict, the
   * labels stay. */
  g_assert_true (sl_project_import_files_as (project, good_paths, 1, "good", 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_cmpint (result.added, ==, 0);
  g_assert_cmpint (result.duplicates, ==, 20);
  g_assert_cmpint (result.conflicts, ==, 0);
  sl_import_result_clear (&result);
  g_assert_true (sl_project_import_files_as (project, good_paths, 1, "defect", 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_cmpint (result.duplicates, ==, 20);
  g_assert_cmpint (result.conflicts, ==, 20);
  sl_import_result_clear (&result);
  g_assert_cmpuint (count_images (project, "good", -1), ==, 20);
  g_assert_cmpuint (count_images (project, "defect", -1), ==, 0);
  /* "GOOD" is the good class, not a new kind of defect. */
  g_assert_true (sl_project_import_files_as (project, good_paths, 1, "GOOD", 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_cmpint (result.classes_created, ==, 0);
  g_assert_cmpint (result.conflicts, ==, 0);
  sl_import_result_clear (&result);
  g_assert_null (sl_project_find_class (project, "GOOD", NULL));
  /* A name that cannot be a class: said at once, nothing imported. */
  g_assert_false (sl_project_import_files_as (project, defect_paths, 1, " bad", 0, NULL, NULL, NULL,
                                              &result, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_assert_cmpint (result.added, ==, 0);
  sl_import_result_clear (&result);
}

/* Loose files are labelled too; subfolders of a folder do not name classes. */
static void
test_import_as_files (Fixture *f, gconstpointer user_data)
{
  g_autoptr (SlProject) project = new_project (f, "files", SL_PROJECT_KIND_CLASSIFY);
  g_autofree char *tree = g_build_filename (f->tmp, "tree", NULL);
  g_autofree char *sub = g_build_filename (tree, "deep", "er", NULL);
  g_autofree char *good = g_build_filename (f->data, "good", NULL);
  g_autofree char *one = g_build_filename (f->data, "good", "good-000.png", NULL);
  const char *paths[] = { tree, one };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  SlImportResult result;

  copy_folder (good, sub, 3);
  g_assert_true (
      sl_project_import_files_as (project, paths, 2, "ok", 0, NULL, NULL, NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added + result.duplicates, ==, 4);
  g_assert_cmpint (result.classes_created, ==, 1);
  sl_import_result_clear (&result);
  classes = sl_project_list_classes (project, &error);
  g_assert_cmpuint (classes->len, ==, 1);
  g_assert_cmpstr (((SlClass *) g_ptr_array_index (classes, 0))->name, ==, "ok");
  g_assert_cmpuint (count_images (project, NULL, -1), ==, 0);
}

/* Folder labels in an anomaly project: "good" in any case is good, anything else a defect
 * kind of its own. */
static void
test_folder_rule (Fixture *f, gconstpointer user_data)
{
  g_autoptr (SlProject) anomaly = new_project (f, "rule", SL_PROJECT_KIND_ANOMALY);
  g_autoptr (SlProject) classify = new_project (f, "rule-classify", SL_PROJECT_KIND_CLASSIFY);
  g_autofree char *tree = g_build_filename (f->tmp, "mvtec", NULL);
  g_autofree char *good = g_build_filename (f->data, "good", NULL);
  g_autofree char *defect = g_build_filename (f->data, "defect", NULL);
  g_autofree char *to_good = g_build_filename (tree, "Good", NULL);
  g_autofree char *to_crack = g_build_filename (tree, "crack", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  SlImportResult result;

  copy_folder (good, to_good, 6);
  copy_folder (defect, to_crack, 4);
  g_assert_true (sl_project_import_folder (anomaly, tree, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                           NULL, NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 10);
  g_assert_cmpint (result.classes_created, ==, 1); /* crack; Good is good */
  sl_import_result_clear (&result);
  g_assert_cmpuint (count_images (anomaly, "good", -1), ==, 6);
  g_assert_cmpuint (count_images (anomaly, "crack", -1), ==, 4);
  g_assert_null (sl_project_find_class (anomaly, "Good", NULL));
  /* A project that classifies keeps the folder's name. */
  g_assert_true (sl_project_import_folder (classify, tree, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                           NULL, NULL, &result, &error));
  g_assert_no_error (error);
  sl_import_result_clear (&result);
  g_assert_cmpuint (count_images (classify, "Good", -1), ==, 6);
  /* The list form follows the rule too. */
  {
    g_autoptr (SlProject) list = new_project (f, "rule-list", SL_PROJECT_KIND_ANOMALY);
    const char *paths[] = { tree };

    g_assert_true (sl_project_import_files (list, paths, 1, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                            NULL, NULL, &result, &error));
    g_assert_no_error (error);
    sl_import_result_clear (&result);
    g_assert_cmpuint (count_images (list, "good", -1), ==, 6);
  }
}

static void
test_split (Fixture *f, gconstpointer user_data)
{
  g_autoptr (SlProject) project = new_project (f, "split", SL_PROJECT_KIND_ANOMALY);
  g_autofree char *good = g_build_filename (f->data, "good", NULL);
  g_autofree char *defect = g_build_filename (f->data, "defect", NULL);
  g_autofree char *crack = g_build_filename (f->tmp, "crack", NULL);
  const char *good_paths[] = { good }, *defect_paths[] = { defect }, *crack_paths[] = { crack };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) first = NULL, second = NULL;
  SlImportResult result;
  SlSplitConfig config;
  SlImageFilter filter;
  gint64 assigned = 0, moved;

  /* 20 good, 10 "defect", 5 "crack" (copies of defects: duplicates, so new files). */
  g_assert_true (sl_project_import_files_as (project, good_paths, 1, "good", 0, NULL, NULL, NULL,
                                             &result, &error));
  sl_import_result_clear (&result);
  g_assert_true (sl_project_import_files_as (project, defect_paths, 1, "defect", 0, NULL, NULL,
                                             NULL, &result, &error));
  sl_import_result_clear (&result);
  {
    g_autofree char *tree = g_build_filename (f->tmp, "more", NULL);
    g_autofree char *dir = g_build_filename (tree, "x", NULL);

    g_assert_cmpint (sl_test_write_anomaly_images (tree, 1, 5, 32, 99), ==, 0);
    g_free (dir);
    dir = g_build_filename (tree, "defect", NULL);
    g_assert_cmpint (g_rename (dir, crack), ==, 0);
  }
  g_assert_true (sl_project_import_files_as (project, crack_paths, 1, "crack", 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 5);
  sl_import_result_clear (&result);

  sl_split_config_init (&config);
  g_assert_true (sl_project_split (project, &config, &assigned, &error));
  g_assert_no_error (error);
  g_assert_cmpint (assigned, ==, 35);
  /* Good images split 70/15/15 (14/3/3); defects never train: half validation, half test,
   * each kind of defect on its own. */
  g_assert_cmpuint (count_images (project, "good", SL_SPLIT_TRAIN), ==, 14);
  g_assert_cmpuint (count_images (project, "good", SL_SPLIT_VAL), ==, 3);
  g_assert_cmpuint (count_images (project, "good", SL_SPLIT_TEST), ==, 3);
  g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_TRAIN), ==, 0);
  g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_VAL), ==, 5);
  g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_TEST), ==, 5);
  g_assert_cmpuint (count_images (project, "crack", SL_SPLIT_TRAIN), ==, 0);
  g_assert_cmpuint (count_images (project, "crack", SL_SPLIT_VAL), ==, 3);
  g_assert_cmpuint (count_images (project, "crack", SL_SPLIT_TEST), ==, 2);

  /* 3 good validation images cannot hold a 1 % target (99 needed), 30 % can; defects are
   * not compared with the good images (20 to 5 is no imbalance here). */
  g_assert_true (has_warning (project, "few-good-validation"));
  g_assert_false (has_warning (project, "imbalance"));
  g_assert_false (has_warning (project, "no-defects"));
  g_assert_true (sl_project_set_target_false_reject (project, 0.3, &error));
  g_assert_false (has_warning (project, "few-good-validation"));

  /* Seeded: splitting again from scratch gives the same images the same splits. */
  sl_image_filter_init (&filter);
  first = sl_project_list_images (project, &filter, &error);
  config.resplit = TRUE;
  g_assert_true (sl_project_split (project, &config, NULL, &error));
  second = sl_project_list_images (project, &filter, &error);
  g_assert_cmpuint (first->len, ==, second->len);
  for (guint i = 0; i < first->len; i++)
    g_assert_cmpint (((SlImageInfo *) g_ptr_array_index (first, i))->split, ==,
                     ((SlImageInfo *) g_ptr_array_index (second, i))->split);
  /* Another seed, another choice of defects (same counts). */
  config.seed = 5;
  g_assert_true (sl_project_split (project, &config, NULL, &error));
  g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_VAL), ==, 5);
  g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_TRAIN), ==, 0);

  /* A defect put into training by hand leaves it at the next split. */
  {
    g_autoptr (SlClass) klass = sl_project_find_class (project, "defect", &error);
    g_autoptr (GPtrArray) defects = NULL;

    sl_image_filter_init (&filter);
    filter.class_id = klass->id;
    defects = sl_project_list_images (project, &filter, &error);
    moved = ((SlImageInfo *) g_ptr_array_index (defects, 0))->id;
    g_assert_true (sl_project_set_split (project, &moved, 1, SL_SPLIT_TRAIN, &error));
    g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_TRAIN), ==, 1);
    config.resplit = FALSE;
    g_assert_true (sl_project_split (project, &config, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_TRAIN), ==, 0);
    g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_VAL)
                          + count_images (project, "defect", SL_SPLIT_TEST),
                      ==, 10);
  }
  /* Without a test split, defects all validate. */
  config.resplit = TRUE;
  config.test = 0;
  g_assert_true (sl_project_split (project, &config, NULL, &error));
  g_assert_cmpuint (count_images (project, "defect", SL_SPLIT_VAL), ==, 10);
  g_assert_cmpuint (count_images (project, "good", SL_SPLIT_TEST), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/projects/anomaly/import/as", Fixture, NULL, fixture_set_up, test_import_as,
              fixture_tear_down);
  g_test_add ("/projects/anomaly/import/as-files", Fixture, NULL, fixture_set_up,
              test_import_as_files, fixture_tear_down);
  g_test_add ("/projects/anomaly/import/folder-rule", Fixture, NULL, fixture_set_up,
              test_folder_rule, fixture_tear_down);
  g_test_add ("/projects/anomaly/split", Fixture, NULL, fixture_set_up, test_split,
              fixture_tear_down);
  return g_test_run ();
}
