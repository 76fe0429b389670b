/* test-projects-anomaly-eval.c: anomaly evaluations stored and read back: order, AUROC, rates at the run's and a manual threshold. */
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-anomaly-private.h"
#include "sl-anomaly-run-private.h"
#include "sl-test-anomaly-data.h"
#include "sl-train-job.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlRunInfo *run;
  GArray *good, *defect; /* gint64 image ids */
} Fixture;

/* An anomaly run as the fit job leaves it in the project's database: its recipe and its
 * threshold record (the model file is not needed to read evaluations back). */
static SlRunInfo *
add_fitted_run_at (SlProject *project, double threshold, const char *created)
{
  g_autofree char *db_path = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  g_autoptr (GError) error = NULL;
  SlAnomalyThreshold t = { 0 };
  const double good[] = { threshold };
  SlRunInfo *run;
  g_autofree char *dir = NULL;
  g_autofree char *sql = g_strdup_printf (
      "INSERT INTO runs (status, created, preset, epochs, train_images, val_images, "
      "dataset_hash, config_json, versions_json, classes_json) VALUES (4, "
      "'%s', 'efficientnet-lite0', 1, 14, 5, 'x', '{\"anomaly\": true}', '{}', '[]')",
      created);
  sqlite3 *raw = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (raw, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (raw);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_true (sl_run_info_is_anomaly (run));
  dir = g_build_filename (sl_project_get_path (project), "runs", run->name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  sl_anomaly_threshold_from_good (good, 1, 0.01, &t);
  g_assert_true (
      _sl_anomaly_run_write_threshold (project, run, &t, FALSE, good, 1, NULL, 0, &error));
  g_assert_no_error (error);
  sl_anomaly_threshold_clear (&t);
  return run;
}

static SlRunInfo *
add_fitted_run (SlProject *project, double threshold)
{
  return add_fitted_run_at (project, threshold, "2026-12-07T08:00:00Z");
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL, *images = NULL, *good = NULL, *defect = NULL;
  g_autoptr (GError) error = NULL;

  f->tmp = pt_make_tmp ();
  path = g_build_filename (f->tmp, "p", NULL);
  images = g_build_filename (f->tmp, "images", NULL);
  f->project = sl_project_create_kind (path, NULL, SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_test_write_anomaly_images (images, 6, 4, 32, 3), ==, 0);
  good = g_build_filename (images, "good", NULL);
  defect = g_build_filename (images, "defect", NULL);
  pt_import_as (f->project, good, "good", &f->good);
  pt_import_as (f->project, defect, "scratch", &f->defect);
  g_assert_cmpuint (f->good->len, ==, 6);
  g_assert_cmpuint (f->defect->len, ==, 4);
  f->run = add_fitted_run (f->project, 5);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_array_unref (f->good);
  g_array_unref (f->defect);
  sl_run_info_free (f->run);
  sl_project_unref (f->project);
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

/* Good scores 1..6, defects 3.5, 7, 8, 9. */
static gint64
store_scores (Fixture *f)
{
  const double good_scores[] = { 1, 2, 3, 4, 5, 6 }, defect_scores[] = { 3.5, 7, 8, 9 };
  gint64 ids[11];
  double scores[11];
  g_autoptr (GError) error = NULL;
  gint64 eval_id;

  for (guint i = 0; i < 6; i++)
    {
      ids[i] = g_array_index (f->good, gint64, i);
      scores[i] = good_scores[i];
    }
  for (guint i = 0; i < 4; i++)
    {
      ids[6 + i] = g_array_index (f->defect, gint64, i);
      scores[6 + i] = defect_scores[i];
    }
  /* An image that was not scored (its file did not read) has no row. */
  ids[10] = ids[0];
  scores[10] = NAN;
  eval_id = _sl_anomaly_store_evaluation (f->project, f->run->id, SL_SPLIT_TEST, ids, scores, 10,
                                          &error);
  g_assert_no_error (error);
  g_assert_cmpint (eval_id, >, 0);
  return eval_id;
}

static void
test_read_back (Fixture *f, gconstpointer data)
{
  gint64 eval_id = store_scores (f);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  g_autoptr (SlEvaluation) classic = NULL;
  const double order[] = { 9, 8, 7, 6, 5, 4, 3.5, 3, 2, 1 };

  g_assert_true (sl_project_evaluation_is_anomaly (f->project, eval_id));
  g_assert_cmpint (sl_project_find_evaluation (f->project, f->run->id, SL_SPLIT_TEST, &error), ==,
                   eval_id);
  /* Class metrics do not apply: said, not a bogus confusion matrix. */
  classic = sl_project_get_evaluation (f->project, eval_id, 10, &error);
  g_assert_null (classic);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (sl_project_list_predictions (f->project, eval_id, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);

  e = sl_project_get_anomaly_evaluation (f->project, eval_id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->run_id, ==, f->run->id);
  g_assert_cmpint (e->split, ==, SL_SPLIT_TEST);
  g_assert_cmpint (e->good, ==, 6);
  g_assert_cmpint (e->defects, ==, 4);
  g_assert_cmpuint (e->scores->len, ==, 10);
  for (guint i = 0; i < e->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (e->scores, i);

      g_assert_cmpfloat (s->score, ==, order[i]);
      g_assert_cmpstr (s->class_name, ==, s->defect ? "scratch" : "good");
      g_assert_true (g_file_test (s->original_path, G_FILE_TEST_IS_REGULAR));
    }
  /* (3 + 6 + 6 + 6) / 24 pairs won by the defects. */
  g_assert_cmpfloat_with_epsilon (e->auroc, 21.0 / 24, 1e-12);
  g_assert_cmpuint (e->roc->len, ==, 10);
  /* The run's own threshold (5): 6 is a false reject, 3.5 escapes. */
  g_assert_false (e->threshold_manual);
  g_assert_cmpfloat (e->threshold, ==, 5);
  g_assert_cmpfloat (e->run_threshold.threshold, ==, 5);
  g_assert_cmpint (e->false_rejects, ==, 1);
  g_assert_cmpint (e->escapes, ==, 1);
  g_assert_cmpfloat_with_epsilon (e->false_reject, 1.0 / 6, 1e-12);
  g_assert_cmpfloat_with_epsilon (e->escape, 0.25, 1e-12);
  /* scipy.stats.beta.ppf (0.95, 2, 5) */
  g_assert_cmpfloat_with_epsilon (e->false_reject_upper95, 0.5818034092520259, 1e-9);
  g_assert_true (((SlAnomalyScore *) g_ptr_array_index (e->scores, 3))->flagged);  /* good 6 */
  g_assert_false (((SlAnomalyScore *) g_ptr_array_index (e->scores, 4))->flagged); /* good 5 */
  g_assert_false (((SlAnomalyScore *) g_ptr_array_index (e->scores, 6))->flagged); /* defect 3.5 */
  g_test_message ("%s", e->statement);
  g_assert_nonnull (strstr (e->statement, "1 of 6 good test images"));
  g_assert_nonnull (strstr (e->statement, "1 of 4 defect images (25 %) escape"));
}

static void
test_manual_threshold (Fixture *f, gconstpointer data)
{
  gint64 eval_id = store_scores (f);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  g_autofree char *threshold_file = NULL;

  /* A threshold set by hand wins: at 3, three good images are flagged, no defect escapes. */
  g_assert_true (sl_project_set_anomaly_threshold (f->project, 3, &error));
  e = sl_project_get_anomaly_evaluation (f->project, eval_id, &error);
  g_assert_no_error (error);
  g_assert_true (e->threshold_manual);
  g_assert_cmpfloat (e->threshold, ==, 3);
  g_assert_cmpfloat (e->run_threshold.threshold, ==, 5);
  g_assert_cmpint (e->false_rejects, ==, 3);
  g_assert_cmpint (e->escapes, ==, 0);
  g_assert_cmpfloat (e->false_reject, ==, 0.5);
  g_assert_cmpfloat (e->escape, ==, 0);
  /* scipy.stats.beta.ppf (0.95, 4, 3) */
  g_assert_cmpfloat_with_epsilon (e->false_reject_upper95, 0.8468388820247768, 1e-9);
  g_assert_nonnull (strstr (e->statement, "set by hand"));
  /* A preview at another threshold, in memory: 8.5 flags only the defect 9. */
  sl_anomaly_evaluation_apply_threshold (e, 8.5, TRUE);
  g_assert_cmpint (e->false_rejects, ==, 0);
  g_assert_cmpint (e->escapes, ==, 3);
  g_assert_cmpfloat (e->escape, ==, 0.75);
  g_assert_true (((SlAnomalyScore *) g_ptr_array_index (e->scores, 0))->flagged);
  g_assert_false (((SlAnomalyScore *) g_ptr_array_index (e->scores, 1))->flagged);
  g_assert_nonnull (strstr (e->statement, "At threshold 8.5 (set by hand)"));
  g_clear_pointer (&e, sl_anomaly_evaluation_free);
  /* Back to the run's. */
  g_assert_true (sl_project_set_anomaly_threshold (f->project, NAN, &error));
  e = sl_project_get_anomaly_evaluation (f->project, eval_id, &error);
  g_assert_false (e->threshold_manual);
  g_assert_cmpfloat (e->threshold, ==, 5);
  g_clear_pointer (&e, sl_anomaly_evaluation_free);
  /* A run without its threshold record: the rates are unknown, and the reason is given. */
  threshold_file = sl_project_run_file (f->project, f->run, "threshold.json");
  g_assert_cmpint (g_unlink (threshold_file), ==, 0);
  e = sl_project_get_anomaly_evaluation (f->project, eval_id, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (e->threshold));
  g_assert_true (isnan (e->false_reject) && isnan (e->escape));
  g_assert_cmpfloat_with_epsilon (e->auroc, 21.0 / 24, 1e-12);
  g_assert_nonnull (strstr (e->run_threshold.statement, "no threshold"));
}

/* A threshold set by hand belongs to the run it was chosen on: a new fit (whose scores may
 * have another scale) starts from its own, the old run keeps its choice, and a run that takes
 * a deleted run's number does not inherit it. */
static void
test_manual_threshold_per_run (Fixture *f, gconstpointer data)
{
  gint64 eval_a = store_scores (f), eval_b;
  const gint64 image = g_array_index (f->good, gint64, 0);
  const double score = 50;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  g_autoptr (SlRunInfo) b = NULL, c = NULL, latest = NULL;
  double t = 0;

  g_assert_true (sl_project_set_anomaly_threshold (f->project, 3, &error));
  g_assert_no_error (error);
  g_assert_true (sl_project_get_run_anomaly_threshold (f->project, f->run->id, &t));
  g_assert_cmpfloat (t, ==, 3);
  /* A new fit, on another score scale: it is the latest, and automatic. */
  b = add_fitted_run_at (f->project, 40, "2026-12-07T09:00:00Z");
  latest = sl_project_get_latest_anomaly_run (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latest->id, ==, b->id);
  g_assert_false (sl_project_get_anomaly_threshold (f->project, &t));
  g_assert_true (isnan (t));
  g_assert_false (sl_project_get_run_anomaly_threshold (f->project, b->id, &t));
  eval_b
      = _sl_anomaly_store_evaluation (f->project, b->id, SL_SPLIT_TEST, &image, &score, 1, &error);
  g_assert_no_error (error);
  e = sl_project_get_anomaly_evaluation (f->project, eval_b, &error);
  g_assert_no_error (error);
  g_assert_false (e->threshold_manual);
  g_assert_cmpfloat (e->threshold, ==, 40);
  g_assert_cmpint (e->false_rejects, ==, 1); /* 50 > 40, not "every image above 3" */
  g_clear_pointer (&e, sl_anomaly_evaluation_free);
  /* The older run keeps its choice. */
  e = sl_project_get_anomaly_evaluation (f->project, eval_a, &error);
  g_assert_no_error (error);
  g_assert_true (e->threshold_manual);
  g_assert_cmpfloat (e->threshold, ==, 3);
  g_clear_pointer (&e, sl_anomaly_evaluation_free);
  /* Each run's own: setting the latest leaves the other alone, and clearing one too. */
  g_assert_true (sl_project_set_anomaly_threshold (f->project, 45.5, &error));
  g_assert_true (sl_project_get_run_anomaly_threshold (f->project, b->id, &t));
  g_assert_cmpfloat (t, ==, 45.5);
  g_assert_true (sl_project_get_run_anomaly_threshold (f->project, f->run->id, &t));
  g_assert_cmpfloat (t, ==, 3);
  g_assert_true (sl_project_set_anomaly_threshold_for_run (f->project, f->run->id, NAN, &error));
  g_assert_no_error (error);
  g_assert_false (sl_project_get_run_anomaly_threshold (f->project, f->run->id, &t));
  g_assert_true (sl_project_get_anomaly_threshold (f->project, &t));
  g_assert_cmpfloat (t, ==, 45.5);
  /* A deleted run's choice goes with it: the run that takes its number starts automatic. */
  g_assert_true (sl_project_delete_run (f->project, b->id, &error));
  g_assert_no_error (error);
  c = add_fitted_run_at (f->project, 40, "2026-12-07T10:00:00Z");
  g_assert_cmpint (c->id, ==, b->id);
  g_assert_false (sl_project_get_run_anomaly_threshold (f->project, c->id, &t));
  g_assert_false (sl_project_get_anomaly_threshold (f->project, &t));
  /* Runs that are not there, and values that are not scores. */
  g_assert_false (sl_project_set_anomaly_threshold_for_run (f->project, 999, 1, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (sl_project_set_anomaly_threshold_for_run (f->project, c->id, -1, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sl_project_get_run_anomaly_threshold (f->project, 999, &t));
}

/* Only good images (no defects yet): no AUROC and no escape rate, said plainly. */
static void
test_good_only (Fixture *f, gconstpointer data)
{
  gint64 ids[6];
  double scores[6];
  g_autoptr (GError) error = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  gint64 eval_id;

  for (guint i = 0; i < 6; i++)
    {
      ids[i] = g_array_index (f->good, gint64, i);
      scores[i] = i;
    }
  eval_id
      = _sl_anomaly_store_evaluation (f->project, f->run->id, SL_SPLIT_VAL, ids, scores, 6, &error);
  g_assert_no_error (error);
  e = sl_project_get_anomaly_evaluation (f->project, eval_id, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (e->auroc));
  g_assert_true (isnan (e->escape));
  g_assert_cmpint (e->defects, ==, 0);
  g_assert_cmpfloat (e->false_reject, ==, 0);
  g_assert_nonnull (strstr (e->statement, "no defect images"));
  /* An evaluation that is not there. */
  g_assert_null (sl_project_get_anomaly_evaluation (f->project, 999, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
}

/* Rebuilding the index keeps anomaly projects what they were: the kind, the manual
 * threshold and the stored scores. */
static void
test_repair (Fixture *f, gconstpointer data)
{
  gint64 eval_id = store_scores (f);
  g_autofree char *path = g_strdup (sl_project_get_path (f->project));
  g_autoptr (GError) error = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  SlRepairResult result = { 0 };
  double t;

  g_assert_true (sl_project_set_anomaly_threshold (f->project, 3, &error));
  g_clear_pointer (&f->project, sl_project_unref);
  g_assert_true (sl_project_repair (path, &result, &error));
  g_assert_no_error (error);
  sl_repair_result_clear (&result);
  f->project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (f->project), ==, SL_PROJECT_KIND_ANOMALY);
  g_assert_true (sl_project_get_anomaly_threshold (f->project, &t));
  g_assert_cmpfloat (t, ==, 3);
  e = sl_project_get_anomaly_evaluation (f->project, eval_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (e->scores->len, ==, 10);
  g_assert_cmpfloat_with_epsilon (e->auroc, 21.0 / 24, 1e-12);
  g_assert_cmpint (e->false_rejects, ==, 3);
}

/* A real anomaly run (a randomly initialised Lite0 stands in for the pretrained one): its
 * test split evaluated through sl_project_evaluate gives each image the score the run's
 * classifier gives it, and the rates follow the run's threshold, then a manual one. */
static void
test_fitted_run (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *backbones = g_build_filename (tmp, "backbones", NULL);
  g_autofree char *images = g_build_filename (tmp, "images", NULL);
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *good = g_build_filename (images, "good", NULL);
  g_autofree char *defect = g_build_filename (images, "defect", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  SlAnomalyThreshold t = { 0 };
  SlSplitConfig sc;
  SlRunConfig config;
  gint64 eval_id, flagged_good = 0, passed_defect = 0;
  double manual;

  pt_install_test_backbone (backbones);
  g_assert_cmpint (sl_test_write_anomaly_images (images, 30, 12, 128, 21), ==, 0);
  project = sl_project_create_kind (path, NULL, SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  pt_import_as (project, good, "good", NULL);
  pt_import_as (project, defect, "defect", NULL);
  sl_split_config_init (&sc);
  g_assert_true (sl_project_split (project, &sc, NULL, &error));
  g_assert_no_error (error);

  sl_run_config_init (&config);
  config.anomaly = TRUE;
  config.backbone = g_strdup ("lite0");
  config.input_size = 128;
  config.threads = 2;
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  {
    char ref[32];

    g_snprintf (ref, sizeof ref, "%lld", (long long) sl_train_job_get_run_id (job));
    run = sl_project_get_run (project, ref, &error);
    g_assert_no_error (error);
  }
  g_assert_true (sl_run_get_anomaly_threshold (project, run, &t, &error));
  g_assert_no_error (error);

  eval_id = sl_project_evaluate (project, run->id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 1, 2, NULL,
                                 NULL, NULL, &error);
  g_assert_no_error (error);
  e = sl_project_get_anomaly_evaluation (project, eval_id, &error);
  g_assert_no_error (error);
  /* 15 % of 30 good (5) and half the 12 defects (6). */
  g_assert_cmpint (e->good, ==, 5);
  g_assert_cmpint (e->defects, ==, 6);
  g_assert_false (e->threshold_manual);
  g_assert_cmpfloat (e->threshold, ==, t.threshold);
  g_assert_true (isfinite (e->auroc));
  g_test_message ("test AUROC %.3f at threshold %g: %s", e->auroc, e->threshold, e->statement);
  /* One inference path: the stored score is the classifier's. */
  classifier = sl_project_open_classifier (project, run->id, SL_CHECKPOINT_BEST, 2, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < e->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (e->scores, i);
      g_autofree char *stored = sl_project_image_path (project, s->hash, s->ext);
      sl_prediction p;

      sl_prediction_init (&p);
      g_assert_cmpint (sl_classifier_predict_file (classifier, stored, &p, NULL, NULL), ==, SL_OK);
      g_test_message ("%s %s: stored %.6f, runtime %.6f", s->class_name, s->original_path, s->score,
                      p.anomaly_score);
      g_assert_cmpfloat_with_epsilon (s->score, p.anomaly_score, 1e-6 * MAX (1, s->score));
      /* Batched and single predictions may differ in the last bits. */
      if (fabs (s->score - e->threshold) > 1e-4 * e->threshold)
        g_assert_cmpint (s->flagged, ==, p.anomalous);
      if (i > 0)
        g_assert_cmpfloat (s->score, <=,
                           ((SlAnomalyScore *) g_ptr_array_index (e->scores, i - 1))->score);
    }
  /* A manual threshold between the scores: the rates are counted anew at it. */
  manual = (((SlAnomalyScore *) g_ptr_array_index (e->scores, 2))->score
            + ((SlAnomalyScore *) g_ptr_array_index (e->scores, 3))->score)
           / 2;
  g_assert_true (sl_project_set_anomaly_threshold (project, manual, &error));
  g_clear_pointer (&e, sl_anomaly_evaluation_free);
  e = sl_project_get_anomaly_evaluation (project, eval_id, &error);
  g_assert_no_error (error);
  g_assert_true (e->threshold_manual);
  for (guint i = 0; i < e->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (e->scores, i);

      g_assert_cmpint (s->flagged, ==, i < 3);
      flagged_good += !s->defect && s->flagged;
      passed_defect += s->defect && !s->flagged;
    }
  g_assert_cmpint (e->false_rejects, ==, flagged_good);
  g_assert_cmpint (e->escapes, ==, passed_defect);
  g_assert_cmpfloat (e->false_reject, ==, (double) flagged_good / 5);
  g_assert_cmpfloat (e->escape, ==, (double) passed_defect / 6);
  sl_anomaly_threshold_clear (&t);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/projects/anomaly/eval/read-back", Fixture, NULL, fixture_set_up, test_read_back,
              fixture_tear_down);
  g_test_add ("/projects/anomaly/eval/manual-threshold", Fixture, NULL, fixture_set_up,
              test_manual_threshold, fixture_tear_down);
  g_test_add ("/projects/anomaly/eval/manual-threshold-per-run", Fixture, NULL, fixture_set_up,
              test_manual_threshold_per_run, fixture_tear_down);
  g_test_add ("/projects/anomaly/eval/good-only", Fixture, NULL, fixture_set_up, test_good_only,
              fixture_tear_down);
  g_test_add ("/projects/anomaly/eval/repair", Fixture, NULL, fixture_set_up, test_repair,
              fixture_tear_down);
  g_test_add_func ("/projects/anomaly/eval/fitted-run", test_fitted_run);
  return g_test_run ();
}
