/* test-ui-train.c: the Train page under Xvfb: a live run through the page's actions, stop and resume,
 * comparing and deleting runs, the run diff, and a window that asks before closing during training. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sl-application.h"
#include "sl-chart.h"
#include "sl-run-diff.h"
#include "sl-run-list.h"
#include "sl-session.h"
#include "sl-train-page.h"
#include "sl-train-settings.h"
#include "sl-runner.h"
#include "sl-window.h"
#include "ui-test-util.h"

static SlApplication *app;

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlTrainPage *page;
  GtkWindow *window;
  int epochs_seen;
  gboolean stop_after_first;
} Fixture;

static void
open_page (Fixture *f, int n_images)
{
  f->project = ui_test_fmnist_project (n_images, 3, &f->tmp);
  if (f->project == NULL)
    return;
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_TRAIN_PAGE (sl_train_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
}

static void
load_tiny_config (Fixture *f, int epochs)
{
  ui_test_load_tiny_config (f->page, f->project, epochs);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->window != NULL)
    gtk_window_destroy (f->window);
  ui_test_spin (50);
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static gboolean
not_running (gpointer session)
{
  return !sl_session_is_training (session);
}

static void
wait_for_training (Fixture *f)
{
  g_assert_true (ui_test_wait_until (not_running, f->session, 180000));
}

static SlRunInfo *
get_run (Fixture *f, gint64 id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  SlRunInfo *run = sl_project_get_run (f->project, ref, &error);

  g_assert_no_error (error);
  return run;
}

typedef struct
{
  SlTrainPage *page;
  const char *name, *value;
} StatWait;

/* Whether the header shows a value (it follows the runner's signals, not at once). */
static gboolean
stat_is (gpointer data)
{
  StatWait *w = data;

  return g_strcmp0 (sl_train_page_get_stat (w->page, w->name), w->value) == 0;
}

/* ---- Tests ----------------------------------------------------------------------------- */

/* Start through the page's action, watch the live curves, and check them against the store. */
static void
test_live_run (Fixture *f, gconstpointer data)
{
  SlRunner *trainer;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) metrics = NULL;
  g_autoptr (GError) error = NULL;
  double x0, x1, x, y;
  guint steps;
  SlChartSeries *train_loss, *val_loss;
  g_autofree char *shot = NULL;

  open_page (f, 300);
  if (f->project == NULL)
    return;
  trainer = sl_session_get_runner (f->session);
  load_tiny_config (f, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.start", NULL));
  g_assert_true (sl_session_is_training (f->session));
  /* While it trains Start is off. */
  {
    GtkWidget *start
        = ui_test_find_widget (GTK_WIDGET (f->page), GTK_TYPE_BUTTON, "Start Training");
    g_assert_false (gtk_widget_is_sensitive (start));
  }
  wait_for_training (f);

  run = get_run (f, sl_runner_get_run_id (trainer));
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (run->epochs_done, ==, 2);
  g_assert_cmpint (sl_train_page_get_shown_run (f->page), ==, run->id);
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "epoch"), ==, "2 / 2");

  /* The loss chart shows the steps live: ~7 steps an epoch at 210 images. */
  g_assert_cmpuint (sl_chart_get_n_series (sl_train_page_get_loss_chart (f->page)), ==, 2);
  sl_chart_get_x_range (sl_train_page_get_loss_chart (f->page), &x0, &x1);
  g_assert_cmpfloat (x1, >=, 2.0);
  steps = (guint) ((run->train_images + 31) / 32) * 2;
  train_loss = sl_train_page_get_series (f->page, "train-loss");
  val_loss = sl_train_page_get_series (f->page, "val-loss");
  g_assert_cmpuint (sl_chart_series_get_n_points (train_loss), ==, steps);
  metrics = sl_project_get_run_metrics (f->project, run->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 2);
  /* Validation points at the end of each epoch, equal to the stored values. */
  g_assert_cmpuint (sl_chart_series_get_n_points (val_loss), ==, 2);
  for (guint e = 0; e < 2; e++)
    {
      sl_chart_series_get_point (val_loss, e, &x, &y);
      g_assert_cmpfloat (x, ==, e + 1);
      g_assert_cmpfloat_with_epsilon (y, g_array_index (metrics, SlEpochMetrics, e).val_loss, 1e-9);
    }

  g_assert_true (ui_test_train_log_contains (f->page, "Epoch 1 of 2"));
  g_assert_true (ui_test_train_log_contains (f->page, "Epoch 2 of 2"));
  g_assert_true (ui_test_train_log_contains (f->page, "Finished 2 epochs"));
  g_assert_cmpuint (sl_run_list_get_n_runs (sl_train_page_get_run_list (f->page)), ==, 1);
  shot = ui_test_save_screenshot (GTK_WIDGET (f->window), "train");
}

/* Two training images lose their stored copy: the live log says the run skips them. */
static void
test_skipped_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GError) error = NULL;
  SlImageFilter filter;

  open_page (f, 90);
  if (f->project == NULL)
    return;
  sl_image_filter_init (&filter);
  filter.split = SL_SPLIT_TRAIN;
  filter.limit = 2;
  images = sl_project_list_images (f->project, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (images->len, ==, 2);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *info = g_ptr_array_index (images, i);
      g_autofree char *stored = sl_project_image_path (f->project, info->hash, info->ext);

      g_assert_cmpint (g_unlink (stored), ==, 0);
    }
  load_tiny_config (f, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.start", NULL));
  wait_for_training (f);
  g_assert_true (ui_test_train_log_contains (
      f->page, "2 images were skipped: their stored copies are missing (see Data Health)"));
  g_assert_true (ui_test_train_log_contains (f->page, "Finished 1 epoch"));
}

static void
on_epoch_stop (SlRunner *trainer, const SlTrainProgress *p, Fixture *f)
{
  f->epochs_seen++;
  if (f->stop_after_first && f->epochs_seen == 1)
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.stop", NULL));
}

/* Stop after the first epoch; the run is resumable and resuming finishes it. */
static void
test_stop_resume (Fixture *f, gconstpointer data)
{
  SlRunner *trainer;
  g_autoptr (SlRunInfo) stopped = NULL;
  g_autoptr (SlRunInfo) finished = NULL;
  gint64 id;

  open_page (f, 120);
  if (f->project == NULL)
    return;
  trainer = sl_session_get_runner (f->session);
  g_signal_connect (trainer, "epoch", G_CALLBACK (on_epoch_stop), f);
  f->stop_after_first = TRUE;
  {
    /* One compute thread, which is not this machine's count: resuming must keep it. */
    g_autofree char *json = ui_test_tiny_config_json (f->project, 4);
    char *threads = strstr (json, "\"threads\": 2");

    g_assert_nonnull (threads);
    threads[strlen ("\"threads\": ")] = '1';
    g_assert_true (sl_train_settings_load_config_json (sl_train_page_get_settings (f->page), json));
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.start", NULL));
  wait_for_training (f);
  id = sl_runner_get_run_id (trainer);
  stopped = get_run (f, id);
  g_assert_cmpint (stopped->status, ==, SL_RUN_CANCELLED);
  g_assert_cmpint (stopped->epochs_done, >=, 1);
  g_assert_cmpint (stopped->epochs_done, <, 4);
  g_assert_true (ui_test_train_log_contains (f->page, "Resume continues"));
  {
    /* The header agrees with the log: the last finished epoch, not the abandoned one. */
    g_autofree char *epoch = g_strdup_printf ("%d / 4", stopped->epochs_done);

    ui_test_wait_until (stat_is, &(StatWait){ f->page, "epoch", epoch }, 20000);
    g_assert_cmpstr (sl_train_page_get_stat (f->page, "epoch"), ==, epoch);
    g_assert_cmpstr (sl_train_page_get_stat (f->page, "device"), ==, "CPU · 1 thread");
  }

  /* The shown run is resumable: the header offers Resume. */
  f->stop_after_first = FALSE;
  g_assert_cmpint (sl_train_page_get_shown_run (f->page), ==, id);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.resume", NULL));
  g_assert_true (sl_session_is_training (f->session));
  /* The recipe's thread count and device, in the header and the log. */
  g_assert_cmpint (sl_runner_get_threads (trainer), ==, 1);
  g_assert_cmpstr (sl_runner_get_device (trainer), ==, "cpu");
  ui_test_wait_until (stat_is, &(StatWait){ f->page, "device", "CPU · 1 thread" }, 20000);
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "device"), ==, "CPU · 1 thread");
  wait_for_training (f);
  g_assert_true (ui_test_train_log_contains (f->page, "on the CPU with 1 thread"));
  /* The best epoch says once what makes it best. */
  g_assert_true (ui_test_train_log_contains (f->page, "the lowest validation loss"));
  finished = get_run (f, id);
  g_assert_cmpint (finished->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (finished->epochs_done, ==, 4);
  g_assert_true (ui_test_train_log_contains (f->page, "Resumed"));
}

/* Whether the file at path has a line containing text. */
static gboolean
file_has_line (const char *path, const char *text)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) && strstr (contents, text) != NULL;
}

/* The data rows (not the "# " header) of a run's steps.tsv; 0 when it cannot be read. */
static guint
count_steps (const char *path)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0' && lines[i][0] != '#')
      n++;
  return n;
}

typedef struct
{
  const char *log_path, *steps_path;
  guint n_steps;
} HistoryFiles;

static gboolean
history_written (gpointer data)
{
  HistoryFiles *files = data;

  return file_has_line (files->log_path, "Finished 2 epochs")
         && count_steps (files->steps_path) == files->n_steps;
}

static gboolean
shows_finished (gpointer page)
{
  return ui_test_train_log_contains (page, "Finished 2 epochs");
}

/* The event log and the step curves are kept with the run: a page opened later (the project
 * reopened) shows them again, not only the per-epoch values. */
static void
test_history_kept (Fixture *f, gconstpointer data)
{
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *log_path = NULL, *steps_path = NULL;
  SlSession *reopened;
  SlTrainPage *page;
  GtkWindow *window;
  HistoryFiles written;
  gint64 id;

  open_page (f, 120);
  if (f->project == NULL)
    return;
  load_tiny_config (f, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.start", NULL));
  wait_for_training (f);
  id = sl_runner_get_run_id (sl_session_get_runner (f->session));
  run = get_run (f, id);
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  log_path = sl_project_run_file (f->project, run, "events.log");
  steps_path = sl_project_run_file (f->project, run, "steps.tsv");
  /* The page writes both in the background, at every epoch and at the end: wait for the last
   * writes (the log's closing line, every step the page shows), however slow the machine. */
  written.log_path = log_path;
  written.steps_path = steps_path;
  written.n_steps = sl_chart_series_get_n_points (sl_train_page_get_series (f->page, "train-loss"));
  g_assert_cmpuint (written.n_steps, >, 2);
  ui_test_wait_until (history_written, &written, 20000);
  g_assert_true (file_has_line (log_path, "Finished 2 epochs"));
  g_assert_cmpuint (count_steps (steps_path), ==, written.n_steps);

  reopened = sl_session_new_for_project (f->project);
  page = SL_TRAIN_PAGE (sl_train_page_new (reopened));
  window = ui_test_window_new (GTK_WIDGET (page), 1280, 800);
  sl_train_page_show_run (page, id);
  ui_test_wait_until (shows_finished, page, 20000);
  g_assert_true (ui_test_train_log_contains (page, "Epoch 1 of 2"));
  g_assert_true (ui_test_train_log_contains (page, "Finished 2 epochs"));
  /* Step points, more than the two epochs the store has. */
  g_assert_cmpuint (sl_chart_series_get_n_points (sl_train_page_get_series (page, "train-loss")), >,
                    2);
  gtk_window_destroy (window);
  g_object_unref (reopened);
}

static gboolean
dialog_gone (gpointer text)
{
  return ui_test_find_dialog (text) == NULL;
}

/* Two runs: the comparison names what differs; deleting one asks first and removes it. */
static void
test_compare_delete (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  g_auto (GStrv) lines = NULL;
  gint64 first, second;
  GtkWindow *dialog;
  gboolean found = FALSE;
  g_autofree char *shot = NULL;

  f->project = ui_test_fmnist_project (150, 3, &f->tmp);
  if (f->project == NULL)
    return;
  first = ui_test_train_run (f->project, 1);
  second = ui_test_train_run (f->project, 2);
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_TRAIN_PAGE (sl_train_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);

  /* The newest run is shown; its curves come from the store. */
  g_assert_cmpint (sl_train_page_get_shown_run (f->page), ==, second);
  g_assert_cmpuint (sl_chart_get_n_series (sl_train_page_get_loss_chart (f->page)), ==, 2);
  sl_train_page_compare_run (f->page, first);
  g_assert_cmpuint (sl_chart_get_n_series (sl_train_page_get_loss_chart (f->page)), ==, 4);
  lines = sl_train_page_dup_comparison (f->page);
  for (guint i = 0; lines[i] != NULL; i++)
    found |= g_str_equal (lines[i], "Epochs planned: 2 → 1");
  g_assert_true (found);
  /* The history tab lists both runs. */
  sl_train_page_show_sidebar (f->page, "runs");
  ui_test_spin (100);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "run-1"));
  shot = ui_test_save_screenshot (GTK_WIDGET (f->window), "train-compare");

  /* Delete the compared run through its row action; the dialog asks first. */
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (f->page), "training.delete-run", "x", first));
  ui_test_spin (50);
  dialog = ui_test_find_dialog ("Delete run-");
  g_assert_nonnull (dialog);
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Delete"));
  g_assert_true (ui_test_wait_until (dialog_gone, "Delete run-", 5000));
  runs = sl_project_list_runs (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 1);
  g_assert_cmpint (((SlRunInfo *) runs->pdata[0])->id, ==, second);
  g_assert_cmpuint (sl_run_list_get_n_runs (sl_train_page_get_run_list (f->page)), ==, 1);
  g_assert_cmpuint (sl_chart_get_n_series (sl_train_page_get_loss_chart (f->page)), ==, 2);
  {
    g_autofree char *dir
        = g_build_filename (sl_project_get_path (f->project), "runs", "run-1", NULL);
    g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  }
}

/* The pure diff: results first, then only the settings that differ. */
static void
test_run_diff (void)
{
  SlRunInfo a = { 0 }, b = { 0 };
  g_autoptr (GPtrArray) rows = NULL;
  guint same = 0;

  a.name = "run-1";
  b.name = "run-2";
  a.best_epoch = b.best_epoch = 0;
  a.best_val_accuracy = 0.5;
  b.best_val_accuracy = 0.75;
  a.config_json = "{\"preset\": \"seed-cnn\", \"learning_rate\": 0.001, \"epochs\": 3, "
                  "\"augment\": null, \"patience\": 0}";
  b.config_json = "{\"preset\": \"small-bn\", \"learning_rate\": 0.001, \"epochs\": 3, "
                  "\"augment\": {\"flip\": true}, \"patience\": 5}";
  rows = sl_run_diff (&a, &b, &same);
  g_assert_cmpuint (rows->len, ==, 4 + 3);
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[0])->a, ==, "50.0 %");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[0])->b, ==, "75.0 %");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[4])->label, ==, "Model");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[5])->b, ==, "after 5 epochs");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[6])->a, ==, "off");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[6])->b, ==, "on");
  g_assert_cmpuint (same, >=, 2); /* learning rate and epochs at least */
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* A pretrained network against a preset: the model in words, its fine-tuning and size. */
  a.config_json = "{\"preset\": \"small-bn\", \"learning_rate\": 0.001, \"epochs\": 3}";
  b.config_json = "{\"preset\": null, \"learning_rate\": 0.001, \"epochs\": 3, \"backbone\": "
                  "{\"name\": \"efficientnet-lite0\"}, \"finetune\": \"last:2\", "
                  "\"input_size\": 160, \"backbone_lr_ratio\": 0.1}";
  rows = sl_run_diff (&a, &b, &same);
  g_assert_cmpuint (rows->len, ==, 4 + 4);
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[4])->label, ==, "Model");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[4])->a, ==, "small-bn");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[4])->b, ==, "Lite0 (pretrained)");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[5])->label, ==, "Fine-tuning");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[5])->a, ==, "—");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[5])->b, ==, "last 2 blocks adapted");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[6])->b, ==, "160 px");
  g_assert_cmpstr (((SlRunDiffRow *) rows->pdata[7])->label, ==, "Backbone rate ratio");
}

static gboolean
window_gone (gpointer data)
{
  g_autoptr (GObject) window = g_weak_ref_get (data);

  return window == NULL;
}

/* Closing the window while training asks; "Stop and Close" stops the run and closes. */
static void
test_close_while_training (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  SlWindow *window;
  SlTrainPage *page;
  GtkWindow *dialog;
  GWeakRef ref;
  gint64 id;

  f->project = ui_test_fmnist_project (300, 3, &f->tmp);
  if (f->project == NULL)
    return;
  window = sl_window_new (GTK_APPLICATION (app));
  g_assert_true (sl_window_open_project (window, sl_project_get_path (f->project)));
  ui_test_show_window (GTK_WINDOW (window));
  page = SL_TRAIN_PAGE (ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_TRAIN_PAGE, NULL));
  g_assert_nonnull (page);
  ui_test_load_tiny_config (page, f->project, 200);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "training.start", NULL));
  f->session = g_object_ref (sl_window_get_session (window));

  /* Closing asks and keeps the window while the dialog is open. */
  gtk_window_close (GTK_WINDOW (window));
  ui_test_spin (50);
  dialog = ui_test_find_dialog ("Stop Training and Close?");
  g_assert_nonnull (dialog);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Keep Training"));
  ui_test_spin (50);
  g_assert_true (sl_session_is_training (f->session));

  gtk_window_close (GTK_WINDOW (window));
  ui_test_spin (50);
  dialog = ui_test_find_dialog ("Stop Training and Close?");
  g_assert_nonnull (dialog);
  g_weak_ref_init (&ref, window);
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Stop and Close"));
  g_assert_true (ui_test_wait_until (window_gone, &ref, 60000));
  g_weak_ref_clear (&ref);
  g_assert_false (sl_session_is_training (f->session));
  id = sl_runner_get_run_id (sl_session_get_runner (f->session));
  run = get_run (f, id);
  g_assert_cmpint (run->status, ==, SL_RUN_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-train-data-XXXXXX", NULL);
  int status;

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/ui/train/run-diff", test_run_diff);
  g_test_add ("/ui/train/live-run", Fixture, NULL, NULL, test_live_run, fixture_teardown);
  g_test_add ("/ui/train/skipped-missing", Fixture, NULL, NULL, test_skipped_missing,
              fixture_teardown);
  g_test_add ("/ui/train/stop-resume", Fixture, NULL, NULL, test_stop_resume, fixture_teardown);
  g_test_add ("/ui/train/history-kept", Fixture, NULL, NULL, test_history_kept, fixture_teardown);
  g_test_add ("/ui/train/compare-delete", Fixture, NULL, NULL, test_compare_delete,
              fixture_teardown);
  g_test_add ("/ui/train/close-while-training", Fixture, NULL, NULL, test_close_while_training,
              fixture_teardown);
  status = g_test_run ();
  g_object_unref (app);
  sl_remove_tree (data_home);
  return status;
}
