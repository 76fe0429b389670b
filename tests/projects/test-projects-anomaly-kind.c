/* test-projects-anomaly-kind.c: the project kind (persisted, its classes), anomaly settings, older projects. */
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-anomaly.h"

static gint64
class_id (SlProject *project, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlClass) klass = sl_project_find_class (project, name, &error);

  g_assert_no_error (error);
  return klass->id;
}

static void
test_kind_names (void)
{
  SlProjectKind kind = SL_PROJECT_KIND_CLASSIFY;

  g_assert_cmpstr (sl_project_kind_to_string (SL_PROJECT_KIND_ANOMALY), ==, "anomaly");
  g_assert_cmpstr (sl_project_kind_to_string (SL_PROJECT_KIND_CLASSIFY), ==, "classify");
  g_assert_true (sl_project_kind_from_string ("anomaly", &kind));
  g_assert_cmpint (kind, ==, SL_PROJECT_KIND_ANOMALY);
  g_assert_true (sl_project_kind_from_string ("classify", &kind));
  g_assert_cmpint (kind, ==, SL_PROJECT_KIND_CLASSIFY);
  g_assert_false (sl_project_kind_from_string ("Anomaly", &kind));
  g_assert_false (sl_project_kind_from_string (NULL, &kind));
}

static void
test_create_anomaly (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project
      = sl_project_create_kind (path, "Parts", SL_PROJECT_KIND_ANOMALY, &error);
  g_autoptr (GPtrArray) classes = NULL;
  const SlClass *good, *defect;

  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (project), ==, SL_PROJECT_KIND_ANOMALY);
  classes = sl_project_list_classes (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (classes->len, ==, 2);
  good = g_ptr_array_index (classes, 0);
  defect = g_ptr_array_index (classes, 1);
  g_assert_cmpstr (good->name, ==, SL_ANOMALY_GOOD_CLASS);
  g_assert_cmpstr (defect->name, ==, SL_ANOMALY_DEFECT_CLASS);
  g_assert_cmpstr (good->color, ==, "#59a14f");
  g_assert_cmpstr (defect->color, ==, "#e15759");
  g_assert_true (sl_project_is_good_class (project, good->id));
  g_assert_false (sl_project_is_good_class (project, defect->id));
  g_assert_false (sl_project_is_good_class (project, 9999));
  /* A defect kind of its own is not good either. */
  g_assert_false (sl_project_is_good_class (
      project, sl_project_add_class (project, "scratch", NULL, NULL, &error)));
  g_assert_no_error (error);
  /* The kind and the classes persist. */
  g_clear_pointer (&project, sl_project_unref);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (project), ==, SL_PROJECT_KIND_ANOMALY);
  g_assert_true (sl_project_is_good_class (project, class_id (project, "good")));
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_create_classify (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *a = g_build_filename (tmp, "a", NULL);
  g_autofree char *b = g_build_filename (tmp, "b", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) classify
      = sl_project_create_kind (a, NULL, SL_PROJECT_KIND_CLASSIFY, &error);
  g_autoptr (SlProject) plain = sl_project_create (b, NULL, &error);
  g_autoptr (GPtrArray) classes = NULL;
  gint64 good;

  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (classify), ==, SL_PROJECT_KIND_CLASSIFY);
  g_assert_cmpint (sl_project_get_kind (plain), ==, SL_PROJECT_KIND_CLASSIFY);
  classes = sl_project_list_classes (classify, &error);
  g_assert_cmpuint (classes->len, ==, 0);
  /* In a project that classifies, "good" is one class like another. */
  good = sl_project_add_class (plain, "good", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sl_project_is_good_class (plain, good));
  /* Not over an existing project, and nothing is left half made. */
  g_clear_pointer (&classify, sl_project_unref);
  g_assert_null (sl_project_create_kind (a, NULL, SL_PROJECT_KIND_ANOMALY, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS);
  g_clear_error (&error);
  classify = sl_project_open (a, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (classify), ==, SL_PROJECT_KIND_CLASSIFY);
  sl_remove_tree (tmp);
}

/* A project of format 2 (before kinds and anomaly scores) opens, upgraded, and classifies. */
static void
test_old_project (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "old", NULL);
  g_autofree char *db_path = g_build_filename (path, "project.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = sl_project_create (path, "Old", &error);
  sqlite3 *raw = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  sl_project_add_class (project, "good", NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&project, sl_project_unref);
  /* Back to format 2, as an older Sightline wrote it. */
  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw,
                                 "DROP TABLE anomaly_scores; DELETE FROM settings WHERE key = "
                                 "'kind'; PRAGMA user_version = 2",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (raw);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (project), ==, SL_PROJECT_KIND_CLASSIFY);
  g_assert_false (sl_project_is_good_class (project, class_id (project, "good")));
  g_assert_false (sl_project_evaluation_is_anomaly (project, 1));
  g_clear_pointer (&project, sl_project_unref);
  /* Upgraded to the current format, with the new table. */
  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, SL_PROJECT_SCHEMA_VERSION);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (raw, "SELECT score FROM anomaly_scores", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  sqlite3_close (raw);
  sl_remove_tree (tmp);
}

/* A finished anomaly run, as far as its manual threshold needs (its row). */
static void
add_fitted_run (SlProject *project)
{
  g_autofree char *db_path = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  sqlite3 *raw = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (raw,
                    "INSERT INTO runs (status, created, preset, epochs, train_images, val_images, "
                    "dataset_hash, config_json, versions_json, classes_json) VALUES (4, "
                    "'2026-12-07T08:00:00Z', 'efficientnet-lite0', 1, 14, 5, 'x', "
                    "'{\"anomaly\": true}', '{}', '[]')",
                    NULL, NULL, NULL),
      ==, SQLITE_OK);
  sqlite3_close (raw);
}

static void
on_setting (SlProject *project, SlSetting setting, gpointer data)
{
  g_array_append_val ((GArray *) data, setting);
}

static void
test_settings (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project
      = sl_project_create_kind (path, NULL, SL_PROJECT_KIND_ANOMALY, &error);
  g_autoptr (GArray) seen = g_array_new (FALSE, FALSE, sizeof (SlSetting));
  double t = 0;

  g_assert_no_error (error);
  g_assert_cmpstr (sl_setting_to_string (SL_SETTING_ANOMALY_THRESHOLD), ==, "anomaly-threshold");
  g_assert_cmpstr (sl_setting_to_string (SL_SETTING_TARGET_FALSE_REJECT), ==,
                   "target-false-reject");
  sl_project_watch_settings (project, on_setting, seen);
  /* No manual threshold at first; the target is 1 %. */
  g_assert_false (sl_project_get_anomaly_threshold (project, &t));
  g_assert_true (isnan (t));
  g_assert_cmpfloat (sl_project_get_target_false_reject (project), ==, 0.01);

  /* A threshold by hand belongs to a run: without a fitted one there is none to set. */
  g_assert_false (sl_project_set_anomaly_threshold (project, 2.5, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (seen->len, ==, 0);
  add_fitted_run (project);
  /* A threshold is kept exactly, and said. */
  g_assert_true (sl_project_set_anomaly_threshold (project, 2.7182818284590451, &error));
  g_assert_no_error (error);
  g_assert_true (sl_project_get_anomaly_threshold (project, &t));
  g_assert_cmpfloat (t, ==, 2.7182818284590451);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpint (g_array_index (seen, SlSetting, 0), ==, SL_SETTING_ANOMALY_THRESHOLD);
  /* Bad values change nothing and say nothing. */
  g_assert_false (sl_project_set_anomaly_threshold (project, -1, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sl_project_set_anomaly_threshold (project, INFINITY, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  for (gsize i = 0; i < 4; i++)
    {
      const double bad[] = { 0, 0.5, -0.1, NAN };

      g_assert_false (sl_project_set_target_false_reject (project, bad[i], &error));
      g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
      g_clear_error (&error);
    }
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_true (sl_project_get_anomaly_threshold (project, &t));
  g_assert_cmpfloat (t, ==, 2.7182818284590451);
  g_assert_cmpfloat (sl_project_get_target_false_reject (project), ==, 0.01);

  g_assert_true (sl_project_set_target_false_reject (project, 0.05, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpint (g_array_index (seen, SlSetting, 1), ==, SL_SETTING_TARGET_FALSE_REJECT);
  /* Both persist. */
  g_clear_pointer (&project, sl_project_unref);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (sl_project_get_anomaly_threshold (project, &t));
  g_assert_cmpfloat (t, ==, 2.7182818284590451);
  g_assert_cmpfloat (sl_project_get_target_false_reject (project), ==, 0.05);
  /* NAN clears the choice (said too). */
  g_array_set_size (seen, 0);
  sl_project_watch_settings (project, on_setting, seen);
  g_assert_true (sl_project_set_anomaly_threshold (project, NAN, &error));
  g_assert_no_error (error);
  g_assert_false (sl_project_get_anomaly_threshold (project, &t));
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpint (g_array_index (seen, SlSetting, 0), ==, SL_SETTING_ANOMALY_THRESHOLD);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/anomaly/kind/names", test_kind_names);
  g_test_add_func ("/projects/anomaly/kind/create-anomaly", test_create_anomaly);
  g_test_add_func ("/projects/anomaly/kind/create-classify", test_create_classify);
  g_test_add_func ("/projects/anomaly/kind/old-project", test_old_project);
  g_test_add_func ("/projects/anomaly/kind/settings", test_settings);
  return g_test_run ();
}
