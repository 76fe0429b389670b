/* sl-train-page.c: the Train page: settings, start/stop/resume, live curves, the run history. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-page-private.h"

#include <math.h>

#include "sightline.h"
#include "sl-devices.h"
#include "sl-anomaly.h"
#include "sl-model-words.h"

G_DEFINE_FINAL_TYPE (SlTrainPage, sl_train_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Formatting -------------------------------------------------------------------------- */

static char *
format_duration (double seconds)
{
  long s = isfinite (seconds) && seconds > 0 ? lround (seconds) : 0;

  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("—");
  if (s < 60)
    return g_strdup_printf ("%ld s", s);
  if (s < 3600)
    return g_strdup_printf ("%ld min %02ld s", s / 60, s % 60);
  return g_strdup_printf ("%ld h %02ld min", s / 3600, (s / 60) % 60);
}

/* "3.3 M", "94 k", "812" */
static char *
format_count (gsize n)
{
  if (n >= 1000000)
    return g_strdup_printf ("%.1f M", n / 1e6);
  if (n >= 10000)
    return g_strdup_printf ("%.0f k", n / 1e3);
  return g_strdup_printf ("%" G_GSIZE_FORMAT, n);
}

static void
set_stat (GtkInscription *stat, char *text)
{
  gtk_inscription_set_text (stat, text);
  g_free (text);
}

static void
set_status (SlTrainPage *self, const char *text, const char *style)
{
  static const char *const styles[] = { "accent", "success", "warning", "error" };

  gtk_label_set_text (self->run_status, text);
  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->run_status), styles[i]);
  if (style != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->run_status), style);
}

/* ---- The shown run ------------------------------------------------------------------------ */

static gboolean
showing_live (SlTrainPage *self)
{
  return self->shown_run >= 0 && self->shown_run == self->live_run;
}

/* Whether a device id ("cpu", "cuda", "cuda:N") is a GPU's. */
static gboolean
names_a_gpu (const char *id)
{
  sl_device_kind kind;

  return sl_device_id_parse (id, &kind, NULL, NULL) == SL_OK && kind == SL_DEVICE_CUDA;
}

/* The bar's words during a run's feature pass; none otherwise (nor the pass's estimate). */
static void
set_bar_text (SlTrainPage *self, const char *text)
{
  gtk_progress_bar_set_show_text (self->progress_bar, text != NULL);
  gtk_progress_bar_set_text (self->progress_bar, text);
  if (text == NULL)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->eta_value), NULL);
}

/* The feature pass before the first epoch: how far it is, at its measured pace. No step,
 * loss or whole-run estimate exists yet. */
static void
update_feature_stats (SlTrainPage *self, const SlTrainProgress *p)
{
  double rate = sl_runner_get_features_rate (self->runner);
  double left = (p->features_total - p->features_done) / rate;
  g_autofree char *text = NULL;

  set_stat (self->epoch_value, g_strdup_printf ("%d / %d", p->epoch, p->epochs));
  gtk_inscription_set_text (self->step_value, "—");
  set_stat (self->speed_value, isnan (rate) ? g_strdup ("—") : g_strdup_printf ("%.0f", rate));
  if (isnan (rate))
    {
      gtk_inscription_set_text (self->eta_value, "Measuring…");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->eta_value), NULL);
    }
  else
    {
      /* What is left of the pass bounds the run's time from below; the epochs' pace is known
       * after their first steps. */
      g_autofree char *duration = format_duration (MAX (left, 1));
      g_autofree char *tip = g_strdup_printf (
          "Computing the features takes about %s more; the epochs' time shows once they start",
          duration);

      set_stat (self->eta_value, g_strdup_printf ("> %s", duration));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->eta_value), tip);
    }
  text = g_strdup_printf ("Computing features %" G_GINT64_FORMAT " / %" G_GINT64_FORMAT
                          " (once per image; the epochs then take seconds)",
                          p->features_done, p->features_total);
  set_bar_text (self, text);
  if (g_get_monotonic_time () - self->bar_updated > G_USEC_PER_SEC / 2
      || p->features_done >= p->features_total)
    {
      gtk_progress_bar_set_fraction (self->progress_bar,
                                     CLAMP ((double) p->features_done / p->features_total, 0, 1));
      self->bar_updated = g_get_monotonic_time ();
    }
}

/* Statistics of the live run, from the runner. */
static void
update_live_stats (SlTrainPage *self)
{
  const SlTrainProgress *p = sl_runner_get_progress (self->runner);
  gboolean running = sl_runner_is_running (self->runner);
  double fraction = 0;

  set_stat (self->elapsed_value, format_duration (sl_runner_get_elapsed (self->runner)));
  set_stat (self->device_value,
            names_a_gpu (self->live_device)
                ? g_strdup_printf ("GPU %s", self->live_device)
                : g_strdup_printf (g_dngettext (NULL, "CPU · %d thread", "CPU · %d threads",
                                                sl_runner_get_threads (self->runner)),
                                   sl_runner_get_threads (self->runner)));
  if (p == NULL && self->anomaly)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, 0);
      set_bar_text (self, running ? "Preparing the images…" : NULL);
      return;
    }
  if (p == NULL)
    {
      gtk_inscription_set_text (self->epoch_value, "—");
      gtk_inscription_set_text (self->step_value, "—");
      gtk_inscription_set_text (self->speed_value, "—");
      gtk_inscription_set_text (self->eta_value, running ? "Preparing the images…" : "—");
      gtk_progress_bar_set_fraction (self->progress_bar, 0);
      set_bar_text (self, NULL);
      return;
    }
  if (self->anomaly)
    {
      if (running)
        _sl_train_page_fit_progress (self, p);
      return;
    }
  if (running && p->features_total > 0)
    {
      update_feature_stats (self, p);
      return;
    }
  if (gtk_progress_bar_get_show_text (self->progress_bar))
    {
      /* The feature pass ended: the bar counts epochs from here, at once. */
      set_bar_text (self, NULL);
      self->bar_updated = 0;
    }
  fraction
      = (p->epoch + (double) p->step_in_epoch / MAX (p->steps_in_epoch, 1)) / MAX (p->epochs, 1);
  set_stat (self->epoch_value, g_strdup_printf ("%d / %d", p->epoch + 1, p->epochs));
  set_stat (self->step_value, g_strdup_printf ("%" G_GINT64_FORMAT " / %" G_GINT64_FORMAT,
                                               p->step_in_epoch, p->steps_in_epoch));
  set_stat (self->speed_value, g_strdup_printf ("%.0f", p->images_per_s));
  set_stat (self->eta_value, running ? format_duration (p->eta_seconds) : g_strdup ("—"));
  /* A progress bar's change lays out the whole window again (about 15 ms on
   * a slow PC): twice a second is smooth enough; the end of an epoch or of
   * the run always shows. */
  if (!running || p->epoch_done || g_get_monotonic_time () - self->bar_updated > G_USEC_PER_SEC / 2)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0, 1));
      self->bar_updated = g_get_monotonic_time ();
    }
}

/* Statistics of a stored run, from its epoch metrics. */
/* Where a stored run trained, from its recipe: "GPU cuda:0", "CPU · 2 threads", "CPU". */
static char *
stored_device (const SlRunInfo *run)
{
  SlRunConfig config;
  char *text;

  sl_run_config_init (&config);
  if (run->config_json == NULL || !sl_run_config_from_json (run->config_json, &config, NULL, NULL))
    text = g_strdup ("CPU");
  else if (names_a_gpu (config.device))
    text = g_strdup_printf ("GPU %s", config.device);
  else if (config.threads > 0)
    text = g_strdup_printf (
        g_dngettext (NULL, "CPU · %d thread", "CPU · %d threads", config.threads), config.threads);
  else
    text = g_strdup ("CPU");
  sl_run_config_clear (&config);
  return text;
}

static void
update_stored_stats (SlTrainPage *self, const SlRunInfo *run)
{
  if (self->anomaly)
    {
      _sl_train_page_fit_show_stored (self, run);
      return;
    }
  {
    g_autoptr (GArray) metrics
        = sl_project_get_run_metrics (sl_session_get_project (self->session), run->id, NULL);
    double seconds = 0, speed = NAN;

    for (guint i = 0; metrics != NULL && i < metrics->len; i++)
      {
        seconds += g_array_index (metrics, SlEpochMetrics, i).seconds;
        speed = g_array_index (metrics, SlEpochMetrics, i).images_per_s;
      }
    /* The store times the epochs; the live run's feature pass took its time too. */
    if (run->id == self->live_run)
      seconds += self->features_seconds;
    set_stat (self->epoch_value, g_strdup_printf ("%d / %d", run->epochs_done, run->epochs));
    gtk_inscription_set_text (self->step_value, "—");
    set_stat (self->speed_value, isnan (speed) ? g_strdup ("—") : g_strdup_printf ("%.0f", speed));
    gtk_inscription_set_text (self->eta_value, "—");
    set_stat (self->elapsed_value, format_duration (seconds));
    set_stat (self->device_value, stored_device (run));
    set_bar_text (self, NULL);
    gtk_progress_bar_set_fraction (self->progress_bar,
                                   run->epochs > 0 ? (double) run->epochs_done / run->epochs : 0);
  }
}

/* What the log says about a stored run. */
static void
show_stored_log (SlTrainPage *self, const SlRunInfo *run)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) kept = _sl_train_page_load_history_log (self, run->id);

  if (kept != NULL)
    {
      /* The log as it was written while the run trained (this or an earlier session). */
      _sl_train_page_show_log (self, kept);
      return;
    }
  if (self->anomaly)
    {
      _sl_train_page_fit_show_stored_log (self, run);
      return;
    }

  g_ptr_array_add (lines, g_strdup_printf ("Trained on %" G_GINT64_FORMAT
                                           " images, validated on %" G_GINT64_FORMAT,
                                           run->train_images, run->val_images));
  if (run->backbone != NULL)
    {
      g_autofree char *model = sl_model_words_describe_run (run, TRUE);

      g_ptr_array_add (lines, g_strdup_printf ("Started from %s", model));
    }
  if (run->best_epoch >= 0)
    g_ptr_array_add (lines,
                     g_strdup_printf ("Best epoch: %d, the %s (%.4f; validation accuracy "
                                      "%.1f %%) — its checkpoint is what Evaluate and Export use",
                                      run->best_epoch + 1, sl_run_best_criterion (run),
                                      run->best_val_loss, 100.0 * run->best_val_accuracy));
  g_ptr_array_add (lines, g_strdup_printf ("%s after %d of %d epochs%s%s",
                                           sl_run_status_describe (run->status), run->epochs_done,
                                           run->epochs, run->message != NULL ? ": " : "",
                                           run->message != NULL ? run->message : ""));
  if (sl_run_info_is_resumable (run))
    g_ptr_array_add (lines, g_strdup ("Resume continues from the last finished epoch"));
  g_ptr_array_add (lines, NULL);
  _sl_train_page_show_log (self, (char **) lines->pdata);
}

static void
update_header (SlTrainPage *self)
{
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, self->shown_run);
  gboolean live = showing_live (self) && sl_runner_is_running (self->runner);
  g_autofree char *subtitle = NULL;

  gtk_stack_set_visible_child_name (self->main_stack,
                                    self->shown_run >= 0 || live ? "run" : "empty");
  if (run == NULL && !live)
    return;
  gtk_label_set_text (self->run_title, run != NULL ? run->name : "New run");
  if (live && sl_runner_is_stopping (self->runner))
    set_status (self, "Stopping…", "warning");
  else if (live)
    {
      const SlTrainProgress *p = sl_runner_get_progress (self->runner);

      set_status (self,
                  p == NULL               ? "Preparing"
                  : self->anomaly         ? _sl_train_page_fit_status (p)
                  : p->features_total > 0 ? "Computing features"
                                          : "Training",
                  "accent");
    }
  else
    set_status (self, sl_run_status_describe (run->status), sl_run_status_style (run->status));
  if (run != NULL)
    {
      g_autofree char *model = sl_model_words_describe_run (run, TRUE);

      if (self->anomaly)
        subtitle
            = g_strdup_printf ("%s · %" G_GINT64_FORMAT " good training images, %" G_GINT64_FORMAT
                               " images to set the threshold",
                               model, run->train_images, run->val_images);
      else
        subtitle = g_strdup_printf ("%s · %" G_GINT64_FORMAT " training and %" G_GINT64_FORMAT
                                    " validation images",
                                    model, run->train_images, run->val_images);
    }
  gtk_label_set_text (self->run_subtitle, subtitle != NULL ? subtitle : "");
  /* Ellipsized on small screens: the whole line on hover. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->run_subtitle), subtitle);
  /* Once the run has stopped, the header says what the store (and the log) says: the last
   * finished epoch, not the one the stop abandoned. */
  if (live)
    update_live_stats (self);
  else if (run != NULL)
    update_stored_stats (self, run);
}

void
_sl_train_page_refresh_shown (SlTrainPage *self)
{
  update_header (self);
}

static void
show_log_of_shown_run (SlTrainPage *self)
{
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, self->shown_run);

  if (showing_live (self))
    {
      g_ptr_array_add (self->live_log, NULL);
      _sl_train_page_show_log (self, (char **) self->live_log->pdata);
      g_ptr_array_remove_index (self->live_log, self->live_log->len - 1);
    }
  else if (run != NULL)
    show_stored_log (self, run);
  else
    _sl_train_page_show_log (self, NULL);
}

void
sl_train_page_show_run (SlTrainPage *self, gint64 run_id)
{
  g_return_if_fail (SL_IS_TRAIN_PAGE (self));

  if (sl_run_list_get_selected_run (self->run_list) != run_id)
    {
      sl_run_list_select_run (self->run_list, run_id); /* comes back through on_selected_run */
      return;
    }
  self->shown_run = run_id;
  if (run_id >= 0 && !showing_live (self))
    _sl_train_page_load_stored (self, self->stored, run_id, FALSE);
  _sl_train_page_attach_curves (self);
  show_log_of_shown_run (self);
  update_header (self);
  _sl_train_page_update_comparison (self);
  _sl_train_page_update_actions (self);
}

gint64
sl_train_page_get_shown_run (SlTrainPage *self)
{
  g_return_val_if_fail (SL_IS_TRAIN_PAGE (self), -1);
  return self->shown_run;
}

void
sl_train_page_compare_run (SlTrainPage *self, gint64 run_id)
{
  g_return_if_fail (SL_IS_TRAIN_PAGE (self));

  if (sl_run_list_get_compare_run (self->run_list) != run_id)
    {
      sl_run_list_set_compare_run (self->run_list, run_id); /* back through on_compare_run */
      return;
    }
  self->compare_run = run_id;
  if (run_id >= 0)
    _sl_train_page_load_stored (self, self->compared, run_id, TRUE);
  _sl_train_page_attach_curves (self);
  _sl_train_page_update_comparison (self);
}

static void
on_selected_run (SlTrainPage *self)
{
  sl_train_page_show_run (self, sl_run_list_get_selected_run (self->run_list));
}

static void
on_compare_run (SlTrainPage *self)
{
  sl_train_page_compare_run (self, sl_run_list_get_compare_run (self->run_list));
}

/* A run's state changed in the store (an epoch, the end, a delete). */
static void
on_runs_changed (SlTrainPage *self)
{
  if (self->shown_run >= 0 && sl_run_list_lookup (self->run_list, self->shown_run) != NULL)
    {
      if (!showing_live (self))
        show_log_of_shown_run (self);
      update_header (self);
    }
  _sl_train_page_update_actions (self);
}

/* ---- What the settings default from --------------------------------------------------- */

static gboolean
update_dataset (gpointer data)
{
  SlTrainPage *self = data;

  self->dataset_idle = 0;
  sl_train_settings_read_dataset (self->settings);
  return G_SOURCE_REMOVE;
}

static void
queue_update_dataset (SlTrainPage *self)
{
  if (self->dataset_idle == 0)
    self->dataset_idle = g_idle_add_full (G_PRIORITY_LOW, update_dataset, self, NULL);
}

/* The devices drop-down, from the workbench's one device list: the CPU, and
 * each GPU (unusable ones with their reason). */
static void
on_devices (SlTrainPage *self)
{
  SlDevices *devices = sl_devices_get_default ();
  const sl_device_list *list = sl_devices_get_list (devices);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  g_autoptr (GPtrArray) reasons = g_ptr_array_new ();
  g_autoptr (GArray) usable = g_array_new (FALSE, FALSE, sizeof (gboolean));

  if (sl_devices_get_busy (devices) || list == NULL || self->settings == NULL)
    return;
  for (size_t i = 0; i < sl_device_list_count (list); i++)
    {
      const sl_device_info *d = sl_device_list_get (list, i);
      gboolean ok = d->usable;

      g_ptr_array_add (ids, (gpointer) d->id);
      g_ptr_array_add (labels, d->kind == SL_DEVICE_CPU
                                   ? g_strdup ("CPU")
                                   : g_strdup_printf ("%s (%s)", d->name, d->id));
      g_ptr_array_add (reasons, (gpointer) d->reason);
      g_array_append_val (usable, ok);
    }
  sl_train_settings_set_gpu_status (self->settings, sl_device_list_gpu_status (list));
  sl_train_settings_set_devices (
      self->settings, (const char *const *) ids->pdata, (const char *const *) labels->pdata,
      (const gboolean *) usable->data, (const char *const *) reasons->pdata, ids->len);
}

/* ---- The runner's signals ------------------------------------------------------------------ */

static gboolean
tick (gpointer data)
{
  SlTrainPage *self = data;

  if (showing_live (self))
    set_stat (self->elapsed_value, format_duration (sl_runner_get_elapsed (self->runner)));
  return G_SOURCE_CONTINUE;
}

static void
on_running (SlTrainPage *self)
{
  gboolean running = sl_runner_is_running (self->runner);

  gtk_stack_set_visible_child_name (self->action_stack, running ? "stop" : "start");
  sl_train_settings_set_locked (self->settings, running);
  if (self->anomaly)
    {
      sl_fit_settings_set_locked (self->fit_settings, running);
      sl_fit_view_set_running (self->fit_view, running && showing_live (self));
    }
  if (running && self->tick_id == 0)
    self->tick_id = g_timeout_add_seconds (1, tick, self);
  else if (!running)
    g_clear_handle_id (&self->tick_id, g_source_remove);
  _sl_train_page_update_actions (self);
}

/* "the GPU cuda:0", "the CPU with 1 thread". */
static char *
live_device_words (SlTrainPage *self)
{
  int threads = sl_runner_get_threads (self->runner);

  if (names_a_gpu (self->live_device))
    return g_strdup_printf ("the GPU %s", self->live_device);
  return g_strdup_printf (
      g_dngettext (NULL, "the CPU with %d thread", "the CPU with %d threads", threads), threads);
}

static void
on_started (SlTrainPage *self, gint64 run_id)
{
  const SlRunInfo *run;

  self->live_run = run_id;
  self->features_total = self->features_done = 0;
  self->features_seconds = 0;
  self->features_logged = FALSE;
  for (int i = 0; i < N_CURVES; i++)
    sl_chart_series_clear (self->live[i]);
  /* Refreshed by runs-changed before this handler: the run is listed. */
  run = sl_run_list_lookup (self->run_list, run_id);
  self->live_epochs = run != NULL ? run->epochs : 0;
  if (self->anomaly)
    _sl_train_page_fit_started (self, run);
  else if (run != NULL && run->epochs_done > 0)
    {
      /* A resumed run: the epochs before come from the store. */
      g_autofree char *device = live_device_words (self);

      _sl_train_page_load_stored (self, self->live, run_id, FALSE);
      _sl_train_page_log (self, "Resumed %s from epoch %d of %d, on %s", run->name,
                          run->epochs_done + 1, run->epochs, device);
    }
  else
    {
      g_autofree char *params = format_count (sl_runner_get_param_count (self->runner));
      g_autofree char *device = live_device_words (self);

      _sl_train_page_log (self,
                          "Started %s: %" G_GINT64_FORMAT " training and %" G_GINT64_FORMAT
                          " validation images, %s weights, on %s",
                          run != NULL ? run->name : "a run",
                          sl_runner_get_train_images (self->runner),
                          sl_runner_get_val_images (self->runner), params, device);
      if (run != NULL && run->backbone != NULL)
        {
          g_autofree char *model = sl_model_words_describe_run (run, TRUE);

          _sl_train_page_log (self, "Starts from %s", model);
        }
    }
  if (sl_runner_get_split_assigned (self->runner) > 0)
    _sl_train_page_log (self,
                        "%" G_GINT64_FORMAT " labelled images had no split: they were put "
                        "into training, validation and test (70/15/15 per class)",
                        sl_runner_get_split_assigned (self->runner));
  if (sl_runner_get_skipped_missing (self->runner) > 0)
    _sl_train_page_log (
        self,
        g_dngettext (NULL,
                     "Warning: %" G_GINT64_FORMAT " image was skipped: its stored copy is missing "
                     "(see Data Health)",
                     "Warning: %" G_GINT64_FORMAT " images were skipped: their stored copies are "
                     "missing (see Data Health)",
                     sl_runner_get_skipped_missing (self->runner)),
        sl_runner_get_skipped_missing (self->runner));
  if (sl_runner_get_val_images (self->runner) == 0 && !self->anomaly)
    _sl_train_page_log (self, "Warning: no validation images, so the best epoch is picked by the "
                              "training loss. Split the data on the Dataset page to validate.");
  sl_train_page_show_run (self, run_id);
}

static void
on_features (SlTrainPage *self, const SlTrainProgress *p)
{
  if (self->anomaly)
    {
      if (showing_live (self))
        update_header (self);
      else
        _sl_train_page_fit_progress (self, p); /* logs the phases even when not shown */
      return;
    }
  if (self->features_total == 0)
    {
      self->features_started = sl_runner_get_elapsed (self->runner);
      _sl_train_page_log (self,
                          "Computing features of %" G_GINT64_FORMAT " training and validation "
                          "images: the frozen pretrained layers run once per image",
                          p->features_total);
    }
  self->features_total = p->features_total;
  self->features_done = p->features_done;
  if (showing_live (self))
    update_header (self);
}

/* The first step or epoch after a feature pass: the pass is over. */
static void
log_features_done (SlTrainPage *self)
{
  double seconds;
  g_autofree char *duration = NULL;

  if (self->features_total == 0 || self->features_logged)
    return;
  self->features_logged = TRUE;
  seconds = sl_runner_get_elapsed (self->runner) - self->features_started;
  self->features_seconds = seconds;
  duration = format_duration (seconds);
  _sl_train_page_log (self,
                      "Features of %" G_GINT64_FORMAT " images computed in %s (%.0f images/s); "
                      "the epochs train from them",
                      self->features_total, duration, self->features_total / MAX (seconds, 1e-3));
}

static void
on_steps (SlTrainPage *self, const SlRunnerStep *steps, guint n)
{
  log_features_done (self);
  _sl_train_page_add_steps (self, steps, n);
  if (showing_live (self))
    update_live_stats (self);
}

static void
on_epoch (SlTrainPage *self, const SlTrainProgress *p)
{
  g_autofree char *val = NULL;

  if (self->anomaly)
    return; /* a fit's one "epoch" has no loss; "finished" says what it did */
  log_features_done (self);
  _sl_train_page_add_epoch (self, p);
  if (!isnan (p->val_loss))
    val = g_strdup_printf ("validation loss %.4f, accuracy %.1f %%", p->val_loss,
                           100.0 * p->val_accuracy);
  else
    val = g_strdup_printf ("training loss %.4f", p->train_loss);
  _sl_train_page_log (self, "Epoch %d of %d: %s%s", p->epoch + 1, p->epochs, val,
                      p->is_best ? " — best so far, checkpoint saved" : "");
  if (!isfinite (p->train_loss))
    _sl_train_page_log (self, "Warning: the training loss is not a number. Try a lower learning "
                              "rate.");
  _sl_train_page_save_history (self);
}

static void
on_finished (SlTrainPage *self, gint64 run_id, const GError *error)
{
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, run_id);
  /* It ended during the feature pass (stopped, or failed). */
  gboolean in_pass = run_id >= 0 && run_id == self->live_run && self->features_total > 0
                     && !self->features_logged;

  if (in_pass)
    {
      self->features_logged = TRUE;
      self->features_seconds = sl_runner_get_elapsed (self->runner) - self->features_started;
    }
  if (self->anomaly)
    _sl_train_page_fit_finished (self, run, error);
  else if (error == NULL && run != NULL && run->status == SL_RUN_STOPPED_EARLY)
    _sl_train_page_log (self, "Stopped early after epoch %d: %s. Best epoch: %d, the %s.",
                        run->epochs_done, run->message, run->best_epoch + 1,
                        sl_run_best_criterion (run));
  else if (error == NULL && run != NULL)
    _sl_train_page_log (self,
                        "Finished %d epochs. Best epoch: %d, the %s (validation accuracy "
                        "%.1f %%).",
                        run->epochs_done, run->best_epoch + 1, sl_run_best_criterion (run),
                        100.0 * run->best_val_accuracy);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && in_pass)
    {
      _sl_train_page_log (
          self,
          "Stopped while computing features (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
          " images). Resume computes them again and trains from epoch %d.",
          self->features_done, self->features_total, run != NULL ? run->epochs_done + 1 : 1);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _sl_train_page_log (self, "Stopped after epoch %d. Resume continues from there.",
                        run != NULL ? run->epochs_done : 0);
  else if (error != NULL)
    {
      _sl_train_page_log (self, "Training failed: %s", error->message);
      gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)", "Training failed",
                                  error->message);
    }
  if (error == NULL && run != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s",
                                self->anomaly
                                    ? "Fit finished. The Evaluate page shows the scores of good "
                                      "and defect images."
                                    : "Training finished. The Evaluate page shows how the model "
                                      "does.");
  if (run_id < 0)
    {
      /* It failed before the run was recorded: nothing else shows the log. */
      gtk_stack_set_visible_child_name (self->main_stack, self->shown_run >= 0 ? "run" : "empty");
    }
  else if (self->shown_run != run_id)
    sl_train_page_show_run (self, run_id);
  if (run_id >= 0 && run_id == self->live_run)
    _sl_train_page_save_history (self);
  update_header (self);
  _sl_train_page_update_actions (self);
}

/* ---- Accessors -------------------------------------------------------------------------- */

void
sl_train_page_show_sidebar (SlTrainPage *self, const char *name)
{
  g_return_if_fail (SL_IS_TRAIN_PAGE (self));
  gtk_stack_set_visible_child_name (self->sidebar_stack, name);
}

SlTrainSettings *
sl_train_page_get_settings (SlTrainPage *self)
{
  g_return_val_if_fail (SL_IS_TRAIN_PAGE (self), NULL);
  return self->settings;
}

SlRunList *
sl_train_page_get_run_list (SlTrainPage *self)
{
  g_return_val_if_fail (SL_IS_TRAIN_PAGE (self), NULL);
  return self->run_list;
}

SlFitView *
sl_train_page_get_fit_view (SlTrainPage *self)
{
  g_return_val_if_fail (SL_IS_TRAIN_PAGE (self), NULL);
  return self->fit_view;
}

SlChart *
sl_train_page_get_loss_chart (SlTrainPage *self)
{
  return self->loss_chart;
}

const char *
sl_train_page_get_stat (SlTrainPage *self, const char *name)
{
  GtkInscription *stats[] = { self->epoch_value, self->step_value,    self->speed_value,
                              self->eta_value,   self->elapsed_value, self->device_value };
  const char *names[] = { "epoch", "step", "speed", "eta", "elapsed", "device" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i]))
      return gtk_inscription_get_text (stats[i]);
  g_return_val_if_reached (NULL);
}

GtkWidget *
sl_train_page_new (SlSession *session)
{
  return g_object_new (SL_TYPE_TRAIN_PAGE, "session", session, NULL);
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void
sl_train_page_constructed (GObject *object)
{
  SlTrainPage *self = SL_TRAIN_PAGE (object);

  G_OBJECT_CLASS (sl_train_page_parent_class)->constructed (object);

  self->runner = g_object_ref (sl_session_get_runner (self->session));
  self->settings = SL_TRAIN_SETTINGS (sl_train_settings_new ());
  sl_train_settings_set_session (self->settings, self->session);
  gtk_scrolled_window_set_child (self->settings_scroller, GTK_WIDGET (self->settings));
  g_signal_connect_swapped (self->settings, "changed", G_CALLBACK (_sl_train_page_update_actions),
                            self);
  self->anomaly
      = sl_project_get_kind (sl_session_get_project (self->session)) == SL_PROJECT_KIND_ANOMALY;
  if (self->anomaly)
    _sl_train_page_setup_fit (self);

  g_signal_connect_object (self->session, "images-changed", G_CALLBACK (queue_update_dataset), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "labels-changed", G_CALLBACK (queue_update_dataset), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "classes-changed", G_CALLBACK (queue_update_dataset),
                           self, G_CONNECT_SWAPPED);
  queue_update_dataset (self);
  self->run_list = SL_RUN_LIST (sl_run_list_new (self->session));
  gtk_scrolled_window_set_child (self->runs_scroller, GTK_WIDGET (self->run_list));
  g_signal_connect_swapped (self->run_list, "notify::selected-run", G_CALLBACK (on_selected_run),
                            self);
  g_signal_connect_swapped (self->run_list, "notify::compare-run", G_CALLBACK (on_compare_run),
                            self);

  /* After the run list's own handler, so the list is fresh here. */
  g_signal_connect_object (self->session, "runs-changed", G_CALLBACK (on_runs_changed), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->runner, "notify::running", G_CALLBACK (on_running), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "started", G_CALLBACK (on_started), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "features", G_CALLBACK (on_features), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "steps", G_CALLBACK (on_steps), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "epoch", G_CALLBACK (on_epoch), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "finished", G_CALLBACK (on_finished), self,
                           G_CONNECT_SWAPPED);

  if (sl_run_list_get_n_runs (self->run_list) > 0)
    gtk_stack_set_visible_child_name (self->sidebar_stack, "settings");
  on_running (self);
  sl_train_page_show_run (self, sl_run_list_get_selected_run (self->run_list));
  /* Last: filling the device list reaches the actions, which read the run list. */
  g_signal_connect_object (sl_devices_get_default (), "notify::busy", G_CALLBACK (on_devices), self,
                           G_CONNECT_SWAPPED);
  on_devices (self);
}

static void
sl_train_page_dispose (GObject *object)
{
  SlTrainPage *self = SL_TRAIN_PAGE (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->dataset_idle, g_source_remove);
  /* The settings may still finish measuring the model after the page is gone. */
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->run_list != NULL)
    g_signal_handlers_disconnect_by_data (self->run_list, self);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->runner != NULL)
    g_signal_handlers_disconnect_by_data (self->runner, self);
  self->settings = NULL;
  self->run_list = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_TRAIN_PAGE);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  _sl_train_page_clear_curves (self);
  g_clear_object (&self->runner);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_train_page_parent_class)->dispose (object);
}

static void
sl_train_page_finalize (GObject *object)
{
  SlTrainPage *self = SL_TRAIN_PAGE (object);

  g_ptr_array_unref (self->live_log);
  G_OBJECT_CLASS (sl_train_page_parent_class)->finalize (object);
}

static void
sl_train_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlTrainPage *self = SL_TRAIN_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_train_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SlTrainPage *self = SL_TRAIN_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_train_page_class_init (SlTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_train_page_constructed;
  object_class->dispose = sl_train_page_dispose;
  object_class->finalize = sl_train_page_finalize;
  object_class->get_property = sl_train_page_get_property;
  object_class->set_property = sl_train_page_set_property;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SL_TYPE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-train-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SlTrainPage, name)
  BIND (sidebar_stack);
  BIND (settings_scroller);
  BIND (runs_scroller);
  BIND (action_stack);
  BIND (main_stack);
  BIND (run_title);
  BIND (run_status);
  BIND (run_subtitle);
  BIND (resume_button);
  BIND (progress_bar);
  BIND (epoch_value);
  BIND (step_value);
  BIND (speed_value);
  BIND (eta_value);
  BIND (elapsed_value);
  BIND (device_value);
  BIND (loss_chart);
  BIND (accuracy_chart);
  BIND (lr_chart);
  BIND (side_stack);
  BIND (log_list);
  BIND (log_scroller);
  BIND (compare_title);
  BIND (compare_grid);
  BIND (stats_grid);
  BIND (chart_grid);
  BIND (start_button);
  BIND (stop_button);
  BIND (empty_detail);
#undef BIND
  _sl_train_page_install_actions (widget_class);
}

static void
sl_train_page_init (SlTrainPage *self)
{
  self->live_run = self->shown_run = self->compare_run = -1;
  self->fit_phase = -1;
  self->live_log = g_ptr_array_new_with_free_func (g_free);
  gtk_widget_init_template (GTK_WIDGET (self));
  _sl_train_page_init_curves (self);
}
