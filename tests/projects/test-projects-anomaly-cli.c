/* test-projects-anomaly-cli.c: sightline-cli new --kind, import --as, threshold and eval on anomaly projects. */
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-anomaly-private.h"
#include "sl-anomaly-run-private.h"
#include "sl-test-anomaly-data.h"

/* Runs a command that must succeed with --json (give it last) and parses what it prints. */
G_GNUC_NULL_TERMINATED static cJSON *
cli_json (const char *first, ...)
{
  g_autofree char *out = NULL, *err = NULL;
  va_list ap;
  int status;
  cJSON *doc;

  va_start (ap, first);
  status = pt_cli_va (&out, &err, first, ap);
  va_end (ap);
  if (status != 0)
    g_error ("sightline-cli %s failed (%d): %s", first, status, err);
  doc = cJSON_Parse (out);
  if (doc == NULL)
    g_error ("sightline-cli %s printed no JSON: %s", first, out);
  return doc;
}

static double
num (const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  g_assert_true (cJSON_IsNumber (item));
  return item->valuedouble;
}

static const char *
str (const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  g_assert_true (cJSON_IsString (item));
  return item->valuestring;
}

static gboolean
is_true (const cJSON *obj, const char *key)
{
  return cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (obj, key));
}

static void
test_new_import_threshold (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *project = g_build_filename (tmp, "p", NULL);
  g_autofree char *plain = g_build_filename (tmp, "plain", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autofree char *good = g_build_filename (data, "good", NULL);
  g_autofree char *masks = g_build_filename (data, "masks", NULL);
  g_autofree char *out = NULL, *err = NULL;
  cJSON *doc, *classes;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      return;
    }
  g_assert_cmpint (sl_test_write_anomaly_images (data, 8, 4, 32, 11), ==, 0);
  sl_remove_tree (masks);

  /* new --kind */
  g_assert_cmpint (pt_cli (NULL, &err, "new", project, "--kind", "sideways", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--kind takes classify or anomaly"));
  g_clear_pointer (&err, g_free);
  doc = cli_json ("new", project, "--kind", "anomaly", "--json", NULL);
  g_assert_cmpstr (str (doc, "kind"), ==, "anomaly");
  cJSON_Delete (doc);
  doc = cli_json ("new", plain, "--json", NULL);
  g_assert_cmpstr (str (doc, "kind"), ==, "classify");
  cJSON_Delete (doc);
  doc = cli_json ("classes", project, "--json", NULL);
  g_assert_cmpint (cJSON_GetArraySize (doc), ==, 2);
  g_assert_cmpstr (str (cJSON_GetArrayItem (doc, 0), "name"), ==, "good");
  g_assert_cmpstr (str (cJSON_GetArrayItem (doc, 1), "name"), ==, "defect");
  cJSON_Delete (doc);

  /* import --as, and the folder rule by default in an anomaly project */
  g_assert_cmpint (pt_cli (NULL, &err, "import", project, good, "--as", "good", "-l", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (pt_cli (NULL, &err, "import", project, "/no/such/folder", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "/no/such/folder is not a folder"));
  g_clear_pointer (&err, g_free);
  doc = cli_json ("import", project, good, "--as", "good", "--json", NULL);
  g_assert_cmpint (num (doc, "added"), ==, 8);
  cJSON_Delete (doc);
  doc = cli_json ("import", project, data, "--json", NULL);
  g_assert_cmpint (num (doc, "added"), ==, 4);
  g_assert_cmpint (num (doc, "duplicates"), ==, 8);
  g_assert_cmpint (num (doc, "label_conflicts"), ==, 0);
  cJSON_Delete (doc);
  doc = cli_json ("stats", project, "--json", NULL);
  classes = cJSON_GetObjectItemCaseSensitive (doc, "classes");
  g_assert_cmpint (num (cJSON_GetArrayItem (classes, 0), "images"), ==, 8);
  g_assert_cmpint (num (cJSON_GetArrayItem (classes, 1), "images"), ==, 4);
  g_assert_cmpint (num (doc, "unlabelled"), ==, 0);
  g_assert_cmpstr (str (doc, "kind"), ==, "anomaly");
  cJSON_Delete (doc);
  /* Several folders at once, as a new class. */
  g_autofree char *defect = g_build_filename (data, "defect", NULL);
  doc = cli_json ("import", plain, good, defect, "--as", "ok", "--json", NULL);
  g_assert_cmpint (num (doc, "added"), ==, 12);
  g_assert_cmpint (num (doc, "classes_created"), ==, 1);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (NULL, &err, "import", plain, good, masks, "--as", "ok", NULL), ==, 1);
  g_clear_pointer (&err, g_free);

  /* threshold */
  doc = cli_json ("threshold", project, "--json", NULL);
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItemCaseSensitive (doc, "threshold")));
  g_assert_false (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat (num (doc, "target_false_reject"), ==, 0.01);
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItemCaseSensitive (doc, "run")));
  cJSON_Delete (doc);
  /* A threshold by hand belongs to a run: without a fitted one, nothing is set (the target
   * neither). */
  g_assert_cmpint (
      pt_cli (NULL, &err, "threshold", project, "2.5", "--target-false-reject", "0.05", NULL), ==,
      1);
  g_assert_nonnull (strstr (err, "no fitted anomaly run yet"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", project, "--auto", NULL), ==, 1);
  g_clear_pointer (&err, g_free);
  doc = cli_json ("threshold", project, "--json", NULL);
  g_assert_cmpfloat (num (doc, "target_false_reject"), ==, 0.01);
  cJSON_Delete (doc);
  doc = cli_json ("threshold", project, "--target-false-reject", "0.05", "--json", NULL);
  g_assert_false (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat (num (doc, "target_false_reject"), ==, 0.05);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (&out, NULL, "threshold", project, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Target false-reject rate for new runs: 5 %"));
  g_clear_pointer (&out, g_free);
  /* Bad input: said, nothing changed. */
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", project, "--target-false-reject", "0.7", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "above 0 and below 0.5"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", project, "-3", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", project, "abc", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", project, "1", "--auto", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", plain, "1", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "classifies parts"));
  g_clear_pointer (&err, g_free);
  doc = cli_json ("threshold", project, "--json", NULL);
  g_assert_cmpfloat (num (doc, "target_false_reject"), ==, 0.05);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (&out, NULL, "threshold", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--target-false-reject"));
  sl_remove_tree (tmp);
}

/* eval --stored on an anomaly run's evaluation: the JSON the contract names, and the text. */
static void
test_eval_stored (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autofree char *good = g_build_filename (data, "good", NULL);
  g_autofree char *defect = g_build_filename (data, "defect", NULL);
  g_autofree char *db_path = NULL, *run_dir = NULL, *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  static const char *const keys[]
      = { "auroc", "threshold", "threshold_manual",    "false_reject_rate",    "escape_rate",
          "good",  "defects",   "target_false_reject", "false_reject_upper95", "statement",
          "images" };
  SlAnomalyThreshold t = { 0 };
  const double run_scores[] = { 1.5 };
  g_autoptr (GArray) good_ids = NULL, defect_ids = NULL;
  gint64 ids[6];
  double scores[6] = { 0.5, 1.0, 1.5, 2.0, 1.2, 3.0 }; /* 4 good, 2 defect */
  sqlite3 *raw = NULL;
  cJSON *doc, *images;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      return;
    }
  g_assert_cmpint (sl_test_write_anomaly_images (data, 4, 2, 32, 5), ==, 0);
  project = sl_project_create_kind (path, NULL, SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  pt_import_as (project, good, "good", &good_ids);
  pt_import_as (project, defect, "defect", &defect_ids);
  g_assert_cmpuint (good_ids->len, ==, 4);
  g_assert_cmpuint (defect_ids->len, ==, 2);
  memcpy (ids, good_ids->data, 4 * sizeof (gint64));
  memcpy (ids + 4, defect_ids->data, 2 * sizeof (gint64));
  /* A fitted anomaly run, as far as its evaluation needs (its recipe and threshold record). */
  db_path = g_build_filename (path, "project.db", NULL);
  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (raw,
                    "INSERT INTO runs (status, created, epochs, train_images, val_images, "
                    "dataset_hash, config_json, versions_json, classes_json) VALUES (4, "
                    "'2026-12-07T08:00:00Z', 1, 3, 4, 'x', '{\"anomaly\": true}', '{}', '[]')",
                    NULL, NULL, NULL),
      ==, SQLITE_OK);
  sqlite3_close (raw);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  run_dir = g_build_filename (path, "runs", run->name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (run_dir, 0755), ==, 0);
  sl_anomaly_threshold_from_good (run_scores, 1, 0.01, &t);
  g_assert_true (
      _sl_anomaly_run_write_threshold (project, run, &t, FALSE, run_scores, 1, NULL, 0, &error));
  sl_anomaly_threshold_clear (&t);
  g_assert_cmpint (
      _sl_anomaly_store_evaluation (project, run->id, SL_SPLIT_TEST, ids, scores, 6, &error), >, 0);
  g_assert_no_error (error);

  doc = cli_json ("eval", path, "--stored", "--json", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (cJSON_GetObjectItemCaseSensitive (doc, keys[i]) == NULL)
      g_error ("eval --json lacks %s", keys[i]);
  g_assert_cmpstr (str (doc, "kind"), ==, "anomaly");
  /* Defects 1.2 and 3.0 against good 0.5, 1.0, 1.5, 2.0: (2 + 4) / 8. */
  g_assert_cmpfloat_with_epsilon (num (doc, "auroc"), 0.75, 1e-12);
  g_assert_cmpfloat (num (doc, "threshold"), ==, 1.5);
  g_assert_false (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat (num (doc, "false_reject_rate"), ==, 0.25);
  g_assert_cmpfloat (num (doc, "escape_rate"), ==, 0.5);
  g_assert_cmpint (num (doc, "good"), ==, 4);
  g_assert_cmpint (num (doc, "defects"), ==, 2);
  g_assert_cmpfloat (num (doc, "target_false_reject"), ==, 0.01);
  images = cJSON_GetObjectItemCaseSensitive (doc, "images");
  g_assert_cmpint (cJSON_GetArraySize (images), ==, 6);
  g_assert_cmpfloat (num (cJSON_GetArrayItem (images, 0), "score"), ==, 3.0);
  g_assert_true (is_true (cJSON_GetArrayItem (images, 0), "defect"));
  g_assert_true (is_true (cJSON_GetArrayItem (images, 0), "flagged"));
  cJSON_Delete (doc);
  /* With a threshold set by hand: it is the run's. */
  doc = cli_json ("threshold", path, "1.1", "--json", NULL);
  g_assert_cmpfloat (num (doc, "threshold"), ==, 1.1);
  g_assert_true (is_true (doc, "threshold_manual"));
  g_assert_cmpstr (str (doc, "run"), ==, run->name);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (&out, NULL, "threshold", path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Threshold 1.1, set by hand for run-1"));
  g_clear_pointer (&out, g_free);
  doc = cli_json ("eval", path, "--stored", "--json", NULL);
  g_assert_true (is_true (doc, "threshold_manual"));
  g_assert_cmpstr (str (doc, "threshold_manual_run"), ==, run->name);
  g_assert_cmpfloat (num (doc, "threshold"), ==, 1.1);
  g_assert_cmpfloat (num (doc, "false_reject_rate"), ==, 0.5);
  g_assert_cmpfloat (num (doc, "escape_rate"), ==, 0);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (&out, NULL, "eval", path, "--stored", NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "AUROC          0.7500"));
  g_assert_nonnull (strstr (out, "set by hand for run-1"));
  g_assert_nonnull (strstr (out, "False rejects  50.0 % (2 of 4 good images flagged)"));
  g_assert_nonnull (strstr (out, "With 95 % confidence new good parts are flagged at most"));
  g_clear_pointer (&out, g_free);
  /* A new fit (maybe another backbone, another score scale) does not inherit it. */
  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (raw,
                    "INSERT INTO runs (status, created, epochs, train_images, val_images, "
                    "dataset_hash, config_json, versions_json, classes_json) VALUES (4, "
                    "'2026-12-07T09:00:00Z', 1, 3, 4, 'x', '{\"anomaly\": true}', '{}', '[]')",
                    NULL, NULL, NULL),
      ==, SQLITE_OK);
  sqlite3_close (raw);
  doc = cli_json ("threshold", path, "--json", NULL);
  g_assert_cmpstr (str (doc, "run"), ==, "run-2");
  g_assert_false (is_true (doc, "threshold_manual"));
  cJSON_Delete (doc);
  doc = cli_json ("eval", path, "--stored", "--run", "run-1", "--json", NULL);
  g_assert_true (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat (num (doc, "threshold"), ==, 1.1);
  cJSON_Delete (doc);
  /* --run chooses the run; --auto on run-1 leaves run-2's alone. */
  doc = cli_json ("threshold", path, "7", "--json", NULL);
  g_assert_cmpstr (str (doc, "run"), ==, "run-2");
  cJSON_Delete (doc);
  doc = cli_json ("threshold", path, "--auto", "--run", "run-1", "--json", NULL);
  g_assert_cmpstr (str (doc, "run"), ==, run->name);
  g_assert_false (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat (num (doc, "threshold"), ==, 1.5);
  cJSON_Delete (doc);
  doc = cli_json ("threshold", path, "--run", "2", "--json", NULL);
  g_assert_true (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat (num (doc, "threshold"), ==, 7);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (NULL, &err, "threshold", path, "3", "--run", "run-9", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "There is no run run-9"));
  g_clear_pointer (&err, g_free);
  sl_remove_tree (tmp);
}

/* The workflow end to end through the CLI, with a randomly initialised Lite0 standing
 * in for the pretrained backbone: new --kind anomaly, import --as and by folders, split,
 * train (fits), eval --json, a threshold by hand, eval --stored. */
static void
test_workflow (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *backbones = g_build_filename (tmp, "backbones", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autofree char *good = g_build_filename (data, "good", NULL);
  g_autofree char *masks = g_build_filename (data, "masks", NULL);
  g_autofree char *project = g_build_filename (tmp, "p", NULL);
  g_autofree char *threshold_text = NULL;
  const cJSON *images;
  double threshold, auroc;
  cJSON *doc;
  int flagged = 0;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      return;
    }
  pt_install_test_backbone (backbones); /* the CLI processes inherit the search path */
  g_assert_cmpint (sl_test_write_anomaly_images (data, 30, 12, 128, 8), ==, 0);
  sl_remove_tree (masks);
  cJSON_Delete (cli_json ("new", project, "--kind", "anomaly", "--json", NULL));
  cJSON_Delete (cli_json ("import", project, good, "--as", "good", "--json", NULL));
  cJSON_Delete (cli_json ("import", project, data, "--json", NULL)); /* adds the defects */
  cJSON_Delete (cli_json ("split", project, "--json", NULL));
  cJSON_Delete (cli_json ("train", project, "--model", "lite0", "--input-size", "128", "--threads",
                          "2", "--json", NULL));
  doc = cli_json ("eval", project, "--threads", "2", "--json", NULL);
  g_assert_cmpstr (str (doc, "kind"), ==, "anomaly");
  g_assert_cmpint (num (doc, "good"), ==, 5);
  g_assert_cmpint (num (doc, "defects"), ==, 6);
  g_assert_false (is_true (doc, "threshold_manual"));
  threshold = num (doc, "threshold");
  auroc = num (doc, "auroc");
  g_assert_true (auroc >= 0 && auroc <= 1);
  /* The threshold in use is the run's own. */
  g_assert_cmpfloat (num (cJSON_GetObjectItemCaseSensitive (doc, "run_threshold"), "threshold"), ==,
                     threshold);
  images = cJSON_GetObjectItemCaseSensitive (doc, "images");
  g_assert_cmpint (cJSON_GetArraySize (images), ==, 11);
  /* A threshold by hand just below the second highest score flags exactly two images. */
  threshold = num (cJSON_GetArrayItem (images, 1), "score") * (1 - 1e-4);
  cJSON_Delete (doc);
  threshold_text = g_strdup_printf ("%.9g", threshold);
  cJSON_Delete (cli_json ("threshold", project, threshold_text, "--json", NULL));
  doc = cli_json ("eval", project, "--stored", "--json", NULL);
  g_assert_true (is_true (doc, "threshold_manual"));
  g_assert_cmpfloat_with_epsilon (num (doc, "threshold"), threshold, 1e-6 * threshold);
  g_assert_cmpfloat (num (doc, "auroc"), ==, auroc);
  images = cJSON_GetObjectItemCaseSensitive (doc, "images");
  for (int i = 0; i < cJSON_GetArraySize (images); i++)
    flagged += is_true (cJSON_GetArrayItem (images, i), "flagged");
  g_assert_cmpint (flagged, ==, 2);
  g_assert_cmpfloat (num (doc, "false_rejects") + num (doc, "defects") - num (doc, "escapes"), ==,
                     2);
  cJSON_Delete (doc);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/anomaly/cli/new-import-threshold", test_new_import_threshold);
  g_test_add_func ("/projects/anomaly/cli/eval-stored", test_eval_stored);
  g_test_add_func ("/projects/anomaly/cli/workflow", test_workflow);
  return g_test_run ();
}
