/* sl-train-page-fit.c: the Train page of an anomaly project: its recipe form, the fit's phases and the threshold it set. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-page-private.h"

#include <math.h>

#include "sl-anomaly.h"
#include "sl-model-words.h"

static const char *const phase_status[]
    = { "Computing features", "Choosing the memory bank", "Setting the threshold" };

const char *
_sl_train_page_fit_status (const SlTrainProgress *p)
{
  return phase_status[sl_fit_phase_of (p, NULL)];
}

/* The form and the phase view take the places of the classifier's form and curves. */
void
_sl_train_page_setup_fit (SlTrainPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *side = GTK_WIDGET (self->side_stack);

  self->fit_settings = SL_FIT_SETTINGS (sl_fit_settings_new (self->session));
  g_signal_connect_swapped (self->fit_settings, "changed",
                            G_CALLBACK (_sl_train_page_update_actions), self);
  /* The classifier's form stays (hidden): the device list and its other users keep it. */
  g_object_ref (self->settings);
  gtk_scrolled_window_set_child (self->settings_scroller, NULL);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->fit_settings));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->settings));
  gtk_widget_set_visible (GTK_WIDGET (self->settings), FALSE);
  g_object_unref (self->settings);
  gtk_scrolled_window_set_child (self->settings_scroller, box);

  gtk_button_set_label (GTK_BUTTON (self->start_button), "_Fit on Good Parts");
  gtk_widget_set_tooltip_text (self->start_button,
                               "Fit an anomaly model on the good training images (Ctrl+Enter)");
  gtk_button_set_label (GTK_BUTTON (self->stop_button), "S_top Fitting");
  gtk_widget_set_tooltip_text (self->stop_button,
                               "Stop the fit; nothing of it is kept, and a new fit starts over");
  gtk_label_set_text (self->empty_detail,
                      "Check the settings on the left and press Fit on Good Parts. The model "
                      "learns from the good training images in the background, in a minute or "
                      "two for a few hundred images.");
  gtk_label_set_text (GTK_LABEL (gtk_widget_get_prev_sibling (GTK_WIDGET (self->empty_detail))),
                      "No Fits Yet");

  /* No loss to draw: the phases, and then the threshold, beside the events. */
  gtk_widget_set_visible (self->stats_grid, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->loss_chart), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_chart), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->lr_chart), FALSE);
  self->fit_view = SL_FIT_VIEW (sl_fit_view_new ());
  gtk_grid_attach (self->chart_grid, GTK_WIDGET (self->fit_view), 0, 0, 1, 2);
  g_object_ref (side);
  gtk_grid_remove (self->chart_grid, side);
  gtk_grid_attach (self->chart_grid, side, 1, 0, 1, 2);
  g_object_unref (side);
  /* The threshold chosen on Evaluate shows under the run's own. */
  g_signal_connect_object (self->session, "setting-changed::anomaly-threshold",
                           G_CALLBACK (_sl_train_page_refresh_shown), self, G_CONNECT_SWAPPED);
}

void
_sl_train_page_fit_started (SlTrainPage *self, const SlRunInfo *run)
{
  int threads = sl_runner_get_threads (self->runner);

  self->fit_phase = -1;
  self->features_started = 0;
  sl_fit_view_reset (self->fit_view);
  sl_fit_view_set_running (self->fit_view, TRUE);
  _sl_train_page_log (self,
                      g_dngettext (NULL,
                                   "Started %s: an anomaly model from %" G_GINT64_FORMAT
                                   " good training images, on the CPU with %d thread",
                                   "Started %s: an anomaly model from %" G_GINT64_FORMAT
                                   " good training images, on the CPU with %d threads",
                                   threads),
                      run != NULL ? run->name : "a run", sl_runner_get_train_images (self->runner),
                      threads);
  if (run != NULL)
    {
      g_autofree char *model = sl_model_words_describe_run (run, TRUE);

      _sl_train_page_log (self, "%s", model);
    }
}

/* Each phase's start goes into the log, with how long the one before took. */
static void
log_phase (SlTrainPage *self, SlFitPhase phase, const SlTrainProgress *p)
{
  double now = sl_runner_get_elapsed (self->runner);
  double took = now - self->features_started;

  if ((int) phase <= self->fit_phase)
    return;
  switch (phase)
    {
      case SL_FIT_PHASE_FEATURES:
        _sl_train_page_log (self,
                            "Computing the features of %" G_GINT64_FORMAT
                            " good images: the pretrained backbone runs once per image",
                            p->features_total);
        break;
      case SL_FIT_PHASE_BANK:
        if (self->fit_phase >= 0)
          _sl_train_page_log (self, "Features done in %.1f s", took);
        _sl_train_page_log (self,
                            "Choosing the memory bank: %" G_GINT64_FORMAT
                            " patches that cover the good parts best",
                            p->fit_total);
        break;
      case SL_FIT_PHASE_THRESHOLD:
      default:
        if (self->fit_phase >= 0)
          _sl_train_page_log (self, "Memory bank chosen in %.1f s", took);
        _sl_train_page_log (self, "Setting the threshold: scoring %" G_GINT64_FORMAT " images",
                            p->score_total);
        break;
    }
  self->fit_phase = phase;
  self->features_started = now;
}

void
_sl_train_page_fit_progress (SlTrainPage *self, const SlTrainProgress *p)
{
  double fraction;
  SlFitPhase phase = sl_fit_phase_of (p, &fraction);
  g_autofree char *text = NULL;

  log_phase (self, phase, p);
  if (self->shown_run < 0 || self->shown_run != self->live_run)
    return;
  sl_fit_view_set_progress (self->fit_view, p);
  sl_fit_view_set_running (self->fit_view, TRUE);
  text = g_strdup_printf ("Step %d of 3: %s — %.0f %%", (int) phase + 1, phase_status[phase],
                          100 * fraction);
  gtk_progress_bar_set_show_text (self->progress_bar, TRUE);
  gtk_progress_bar_set_text (self->progress_bar, text);
  /* The bar moves twice a second at most: a change lays out the whole window again. */
  if (g_get_monotonic_time () - self->bar_updated > G_USEC_PER_SEC / 2 || fraction >= 1)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, (phase + fraction) / SL_FIT_N_PHASES);
      self->bar_updated = g_get_monotonic_time ();
    }
}

/* The run's own threshold and what it promises, from the validation scores the fit stored
 * (an evaluation of the validation split). FALSE when the run has none. */
static gboolean
read_threshold (SlTrainPage *self, const SlRunInfo *run, double *threshold, char **statement)
{
  SlProject *project = sl_session_get_project (self->session);
  SlAnomalyThreshold t = { 0 };
  gint64 id;
  g_autoptr (SlAnomalyEvaluation) evaluation = NULL;

  /* The run's own record of how it chose (runs/<run>/threshold.json), else its stored
   * validation scores. */
  if (sl_run_get_anomaly_threshold (project, run, &t, NULL))
    {
      *threshold = t.threshold;
      *statement = g_strdup (t.statement);
      sl_anomaly_threshold_clear (&t);
      return TRUE;
    }
  id = sl_project_find_evaluation (project, run->id, SL_SPLIT_VAL, NULL);
  if (id <= 0 || !sl_project_evaluation_is_anomaly (project, id)
      || (evaluation = sl_project_get_anomaly_evaluation (project, id, NULL)) == NULL)
    return FALSE;
  *threshold = evaluation->run_threshold.threshold;
  *statement = g_strdup (evaluation->run_threshold.statement);
  return TRUE;
}

void
_sl_train_page_fit_show_stored (SlTrainPage *self, const SlRunInfo *run)
{
  gboolean done = run->status == SL_RUN_FINISHED || run->status == SL_RUN_STOPPED_EARLY;

  gtk_progress_bar_set_show_text (self->progress_bar, FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, done ? 1 : 0);
  sl_fit_view_set_running (self->fit_view, FALSE);
  if (done)
    {
      double threshold = NAN;
      g_autofree char *statement = NULL;

      g_autofree char *features = NULL, *scored = NULL;

      double manual;

      if (!read_threshold (self, run, &threshold, &statement))
        statement = g_strdup (run->message);
      /* A threshold chosen on Evaluate is respected everywhere: say which one is used. */
      if (sl_project_get_anomaly_threshold (sl_session_get_project (self->session), &manual))
        {
          g_autofree char *own = g_steal_pointer (&statement);

          statement = g_strdup_printf ("%s%sEvaluate has set the project's threshold to %.4g: "
                                       "that one is used.",
                                       own != NULL ? own : "", own != NULL ? " " : "", manual);
        }
      sl_fit_view_show_result (self->fit_view, threshold, statement);
      features
          = g_strdup_printf (g_dngettext (NULL, "%" G_GINT64_FORMAT " good image",
                                          "%" G_GINT64_FORMAT " good images", run->train_images),
                             run->train_images);
      scored = g_strdup_printf (g_dngettext (NULL, "%" G_GINT64_FORMAT " image scored",
                                             "%" G_GINT64_FORMAT " images scored", run->val_images),
                                run->val_images);
      sl_fit_view_set_phase_detail (self->fit_view, SL_FIT_PHASE_FEATURES, features);
      sl_fit_view_set_phase_detail (self->fit_view, SL_FIT_PHASE_THRESHOLD, scored);
    }
  else if (run->status == SL_RUN_RUNNING || run->status == SL_RUN_CREATED)
    {
      sl_fit_view_reset (self->fit_view);
      sl_fit_view_show_stopped (self->fit_view, "Another Sightline process is fitting this run.");
    }
  else
    {
      sl_fit_view_reset (self->fit_view);
      sl_fit_view_show_stopped (self->fit_view,
                                run->message != NULL && run->status == SL_RUN_FAILED
                                    ? run->message
                                    : "It was stopped; nothing of it was kept. Fit on Good Parts "
                                      "starts a new fit.");
    }
}

void
_sl_train_page_fit_finished (SlTrainPage *self, const SlRunInfo *run, const GError *error)
{
  double threshold = NAN;
  g_autofree char *statement = NULL;

  if (error == NULL && run != NULL)
    {
      if (read_threshold (self, run, &threshold, &statement) && isfinite (threshold))
        _sl_train_page_log (self, "Fit finished: threshold %.4g. %s", threshold,
                            statement != NULL ? statement : "");
      else
        _sl_train_page_log (self, "Fit finished%s%s", run->message != NULL ? ": " : ".",
                            run->message != NULL ? run->message : "");
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _sl_train_page_log (self, "Fit stopped; nothing of it was kept. Fit on Good Parts starts "
                              "again.");
  else if (error != NULL)
    {
      _sl_train_page_log (self, "Fitting failed: %s", error->message);
      gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)", "Fitting failed",
                                  error->message);
    }
}

void
_sl_train_page_fit_show_stored_log (SlTrainPage *self, const SlRunInfo *run)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *model = sl_model_words_describe_run (run, TRUE);

  g_ptr_array_add (lines, g_strdup_printf ("Fitted on %" G_GINT64_FORMAT
                                           " good training images; %" G_GINT64_FORMAT
                                           " images set the threshold",
                                           run->train_images, run->val_images));
  g_ptr_array_add (lines, g_strdup (model));
  if (run->status == SL_RUN_FINISHED || run->status == SL_RUN_STOPPED_EARLY)
    g_ptr_array_add (lines, g_strdup_printf ("Finished%s%s", run->message != NULL ? ": " : "",
                                             run->message != NULL ? run->message : ""));
  else
    g_ptr_array_add (lines, g_strdup_printf ("%s%s%s", sl_run_status_describe (run->status),
                                             run->message != NULL ? ": " : "",
                                             run->message != NULL ? run->message : ""));
  g_ptr_array_add (lines, NULL);
  _sl_train_page_show_log (self, (char **) lines->pdata);
}
