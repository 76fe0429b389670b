/* test-ui-features.c: the Train page during a backbone run's feature pass: its words, bar and estimates, no chart points, stop, then the epochs. */
#include <math.h>
#include <string.h>

#include "sl-chart.h"
#include "sl-runner.h"
#include "sl-session.h"
#include "sl-train-page.h"
#include "sl-train-settings.h"
#include "ui-test-util.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlTrainPage *page;
  GtkWindow *window;
  SlRunner *runner;
  gint64 run_id;
  /* What the page showed at the first epoch after the pass. */
  char *epoch_stat, *step_stat, *status;
  gboolean bar_text_at_epoch;
} Fixture;

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
  g_free (f->epoch_stat);
  g_free (f->step_stat);
  g_free (f->status);
}

static gboolean
not_running (gpointer data)
{
  return !sl_runner_is_running (data);
}

static gboolean
has_run (gpointer data)
{
  Fixture *f = data;

  return f->run_id >= 0;
}

/* The run's own reports wait from "started" on: the test reports the feature pass itself. */
static void
on_started (Fixture *f, gint64 run_id)
{
  f->run_id = run_id;
  sl_runner_hold_reports (f->runner, TRUE);
}

static void
on_epoch (Fixture *f, const SlTrainProgress *p)
{
  GtkProgressBar *bar
      = GTK_PROGRESS_BAR (ui_test_find_widget (GTK_WIDGET (f->page), GTK_TYPE_PROGRESS_BAR, NULL));

  if (f->epoch_stat != NULL)
    return;
  f->epoch_stat = g_strdup (sl_train_page_get_stat (f->page, "epoch"));
  f->step_stat = g_strdup (sl_train_page_get_stat (f->page, "step"));
  f->bar_text_at_epoch = gtk_progress_bar_get_show_text (bar);
  f->status = g_strdup (ui_test_find_label (GTK_WIDGET (f->page), "Training") != NULL ? "Training"
                                                                                      : "other");
}

/* Starts a tiny run from the page and returns once it is shown live, its reports held. */
static void
start_held_run (Fixture *f, int epochs)
{
  f->project = ui_test_fmnist_project (120, 3, &f->tmp);
  if (f->project == NULL)
    return;
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_TRAIN_PAGE (sl_train_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1024, 700);
  f->runner = sl_session_get_runner (f->session);
  f->run_id = -1;
  ui_test_load_tiny_config (f->page, f->project, epochs);
  g_signal_connect_swapped (f->runner, "started", G_CALLBACK (on_started), f);
  g_signal_connect_swapped (f->runner, "epoch", G_CALLBACK (on_epoch), f);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.start", NULL));
  g_assert_true (ui_test_wait_until (has_run, f, 60000));
  g_assert_cmpint (sl_train_page_get_shown_run (f->page), ==, f->run_id);
}

/* What the job reports while it computes features: the step and loss fields mean nothing. */
static void
report_features (Fixture *f, gint64 done, gint64 total, int epochs)
{
  SlTrainProgress p = { 0 };

  p.run_id = f->run_id;
  p.epochs = epochs;
  p.train_loss = p.train_accuracy = p.val_loss = p.val_accuracy = NAN;
  p.images_per_s = p.eta_seconds = NAN;
  p.learning_rate = 0.002;
  p.features_done = done;
  p.features_total = total;
  sl_runner_report (f->runner, &p);
}

static GtkProgressBar *
page_bar (Fixture *f)
{
  return GTK_PROGRESS_BAR (ui_test_find_widget (GTK_WIDGET (f->page), GTK_TYPE_PROGRESS_BAR, NULL));
}

static guint
loss_points (Fixture *f)
{
  return sl_chart_series_get_n_points (sl_train_page_get_series (f->page, "train-loss"))
         + sl_chart_series_get_n_points (sl_train_page_get_series (f->page, "learning-rate"));
}

/* The pass shows as what it is (how far, at what pace), adds no chart point, and the epochs
 * that follow show as usual. */
static void
test_feature_pass (Fixture *f, gconstpointer data)
{
  GtkProgressBar *bar;
  SlChartSeries *loss;
  const char *eta;
  g_autofree char *shot = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *png = NULL;
  gsize png_len;
  double x, y;

  start_held_run (f, 2);
  if (f->project == NULL)
    return;
  bar = page_bar (f);

  report_features (f, 120, 900, 2);
  g_assert_true (gtk_progress_bar_get_show_text (bar));
  g_assert_cmpstr (gtk_progress_bar_get_text (bar), ==,
                   "Computing features 120 / 900 (once per image; the epochs then take seconds)");
  g_assert_cmpfloat_with_epsilon (gtk_progress_bar_get_fraction (bar), 120.0 / 900, 1e-9);
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "epoch"), ==, "0 / 2");
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "step"), ==, "—");
  /* One report gives no pace yet. */
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "eta"), ==, "Measuring…");
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "speed"), ==, "—");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "Computing features"));
  g_assert_cmpuint (loss_points (f), ==, 0);
  g_assert_true (
      ui_test_train_log_contains (f->page, "Computing features of 900 training and validation"));

  /* Later reports: the pace and what is left of the pass, from the measured rate. */
  ui_test_spin (400);
  report_features (f, 480, 900, 2);
  g_assert_cmpstr (gtk_progress_bar_get_text (bar), ==,
                   "Computing features 480 / 900 (once per image; the epochs then take seconds)");
  eta = sl_train_page_get_stat (f->page, "eta");
  g_assert_true (g_regex_match_simple ("^> [0-9]+ s$", eta, 0, 0));
  g_assert_cmpfloat (g_ascii_strtod (sl_train_page_get_stat (f->page, "speed"), NULL), >, 0);
  g_assert_cmpuint (loss_points (f), ==, 0);
  /* The pass can be stopped: Stop is there. */
  g_assert_true (gtk_widget_is_sensitive (
      ui_test_find_widget (GTK_WIDGET (f->page), GTK_TYPE_BUTTON, "top Training")));

  shot = ui_test_save_screenshot (GTK_WIDGET (f->window), "train-features-1024x700");
  g_mkdir_with_parents ("/tmp/team/ui-shots", 0755);
  copy = g_build_filename ("/tmp/team/ui-shots", "train-features-1024x700.png", NULL);
  g_assert_true (g_file_get_contents (shot, &png, &png_len, NULL));
  g_file_set_contents (copy, png, (gssize) png_len, NULL); /* for a look; not part of the test */

  /* The pass ends and the run's own steps and epochs come: they display as usual. */
  report_features (f, 900, 900, 2);
  g_assert_cmpfloat_with_epsilon (gtk_progress_bar_get_fraction (bar), 1.0, 1e-9);
  sl_runner_hold_reports (f->runner, FALSE);
  g_assert_true (ui_test_wait_until (not_running, f->runner, 120000));
  g_assert_cmpstr (f->epoch_stat, ==, "1 / 2");
  g_assert_nonnull (f->step_stat);
  g_assert_true (g_regex_match_simple ("^[1-9][0-9]* / [1-9][0-9]*$", f->step_stat, 0, 0));
  g_assert_false (f->bar_text_at_epoch);
  g_assert_cmpstr (f->status, ==, "Training");
  g_assert_false (gtk_progress_bar_get_show_text (bar));
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "epoch"), ==, "2 / 2");
  /* Only the steps made points: none at a NaN loss or before the first step. */
  loss = sl_train_page_get_series (f->page, "train-loss");
  g_assert_cmpuint (sl_chart_series_get_n_points (loss), >, 0);
  for (guint i = 0; i < sl_chart_series_get_n_points (loss); i++)
    {
      sl_chart_series_get_point (loss, i, &x, &y);
      g_assert_true (isfinite (y));
      g_assert_cmpfloat (x, >, 0);
    }
  g_assert_true (ui_test_train_log_contains (f->page, "Features of 900 images computed in"));
  g_assert_true (ui_test_train_log_contains (f->page, "Finished 2 epochs"));
}

/* Stop during the pass: the page says it is stopping, and the run ends stopped, resumable. */
static void
test_stop_during_pass (Fixture *f, gconstpointer data)
{
  start_held_run (f, 200);
  if (f->project == NULL)
    return;
  report_features (f, 100, 900, 200);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "training.stop", NULL));
  g_assert_true (sl_runner_is_stopping (f->runner));
  g_assert_true (
      ui_test_train_log_contains (f->page, "Stopping the feature pass after the current batch"));
  /* Still in the pass as far as the page knows: no step counters. */
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "step"), ==, "—");
  sl_runner_hold_reports (f->runner, FALSE);
  g_assert_true (ui_test_wait_until (not_running, f->runner, 120000));
  g_assert_true (ui_test_train_log_contains (f->page, "Stopped"));
  g_assert_false (gtk_progress_bar_get_show_text (page_bar (f)));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "Stopped"));
}

/* A small network whose layers before the classifier are frozen: a real feature pass without
 * a backbone (random weights: the pass does not care where they came from). */
static const char *frozen_model
    = "{\"name\": \"frozen\", \"input\": {\"channels\": 1, \"height\": 28, \"width\": 28}, "
      "\"classes\": 3, \"layers\": ["
      "{\"type\": \"conv2d\", \"name\": \"c1\", \"filters\": 8, \"kernel\": 3, \"stride\": 2, "
      "\"padding\": 1, \"frozen\": true},"
      "{\"type\": \"relu\", \"name\": \"r1\", \"frozen\": true},"
      "{\"type\": \"global_avgpool\", \"name\": \"gap\", \"frozen\": true},"
      "{\"type\": \"dense\", \"name\": \"fc\", \"units\": 3}]}";

typedef struct
{
  Fixture *f;
  guint reports;
  gboolean wrong_text; /* a report the bar did not show as such */
  gint64 total;
} Watch;

/* After the page's own handler: what the page shows for each real report. */
static void
on_real_features (Watch *w, const SlTrainProgress *p)
{
  GtkProgressBar *bar = page_bar (w->f);
  g_autofree char *want
      = g_strdup_printf ("Computing features %" G_GINT64_FORMAT " / %" G_GINT64_FORMAT
                         " (once per image; the epochs then take seconds)",
                         p->features_done, p->features_total);

  w->reports++;
  w->total = p->features_total;
  if (g_strcmp0 (gtk_progress_bar_get_text (bar), want) != 0
      || g_strcmp0 (sl_train_page_get_stat (w->f->page, "step"), "—") != 0
      || loss_points (w->f) != 0)
    w->wrong_text = TRUE;
}

/* A real run with a frozen prefix, its reports as the job sends them: the pass shows, makes
 * no point, and the log tells how long it took. */
static void
test_real_pass (Fixture *f, gconstpointer data)
{
  Watch w = { f };
  SlRunConfig c;
  g_autoptr (GError) error = NULL;
  SlChartSeries *loss;
  gint64 train, val;
  double x, y;
  g_autofree char *started = NULL, *done = NULL;

  f->project = ui_test_fmnist_project (120, 3, &f->tmp);
  if (f->project == NULL)
    return;
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_TRAIN_PAGE (sl_train_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1024, 700);
  f->runner = sl_session_get_runner (f->session);
  g_signal_connect_swapped (f->runner, "features", G_CALLBACK (on_real_features), &w);
  sl_run_config_init (&c);
  c.model_json = g_strdup (frozen_model);
  c.epochs = 2;
  c.batch_size = 16;
  c.threads = 2;
  c.patience = 0;
  c.seed = 3;
  g_assert_true (sl_runner_start (f->runner, &c, &error));
  g_assert_no_error (error);
  sl_run_config_clear (&c);
  g_assert_true (ui_test_wait_until (not_running, f->runner, 120000));
  g_signal_handlers_disconnect_by_data (f->runner, &w);

  train = sl_runner_get_train_images (f->runner);
  val = sl_runner_get_val_images (f->runner);
  g_assert_cmpuint (w.reports, >, 0);
  g_assert_false (w.wrong_text);
  g_assert_cmpint (w.total, ==, train + val);
  started = g_strdup_printf ("Computing features of %" G_GINT64_FORMAT " training", train + val);
  done = g_strdup_printf ("Features of %" G_GINT64_FORMAT " images computed in", train + val);
  g_assert_true (ui_test_train_log_contains (f->page, started));
  g_assert_true (ui_test_train_log_contains (f->page, done));
  g_assert_true (ui_test_train_log_contains (f->page, "Finished 2 epochs"));
  /* One point per step, every one a number. */
  loss = sl_train_page_get_series (f->page, "train-loss");
  g_assert_cmpuint (sl_chart_series_get_n_points (loss), ==, (guint) ((train + 15) / 16) * 2);
  for (guint i = 0; i < sl_chart_series_get_n_points (loss); i++)
    {
      sl_chart_series_get_point (loss, i, &x, &y);
      g_assert_true (isfinite (y));
      g_assert_cmpfloat (x, >, 0);
    }
  g_assert_false (gtk_progress_bar_get_show_text (page_bar (f)));
  g_assert_cmpstr (sl_train_page_get_stat (f->page, "epoch"), ==, "2 / 2");
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add ("/ui/features/pass", Fixture, NULL, NULL, test_feature_pass, fixture_teardown);
  g_test_add ("/ui/features/stop", Fixture, NULL, NULL, test_stop_during_pass, fixture_teardown);
  g_test_add ("/ui/features/real-pass", Fixture, NULL, NULL, test_real_pass, fixture_teardown);
  return g_test_run ();
}
