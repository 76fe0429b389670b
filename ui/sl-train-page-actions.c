/* sl-train-page-actions.c: the Train page's actions (start, stop, resume, delete, reuse settings), its log and the run comparison. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-page-private.h"

#include "sl-message-dialog.h"
#include "sl-run-diff.h"
#include "sl-settings.h"

/* The log keeps the newest lines. */
#define LOG_LINES 500

static void
show_error (SlTrainPage *self, const char *title, const GError *error)
{
  if (!gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)", title,
                                   error->message))
    g_message ("%s: %s", title, error->message);
}

/* ---- The log -------------------------------------------------------------------------------- */

static void
append_log_row (SlTrainPage *self, const char *line)
{
  GtkWidget *label = gtk_label_new (line);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), FALSE);
  if (g_str_has_prefix (line, "Warning") || g_str_has_prefix (line, "Training failed"))
    gtk_widget_add_css_class (label, "warning");
  gtk_list_box_append (self->log_list, label);
  gtk_list_box_row_set_activatable (
      GTK_LIST_BOX_ROW (gtk_widget_get_last_child (GTK_WIDGET (self->log_list))), FALSE);
}

static gboolean
scroll_log_to_end (gpointer data)
{
  SlTrainPage *self = data;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->log_scroller);

  gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj));
  return G_SOURCE_REMOVE;
}

void
_sl_train_page_show_log (SlTrainPage *self, char **lines)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->log_list))) != NULL)
    gtk_list_box_remove (self->log_list, child);
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    append_log_row (self, lines[i]);
  g_idle_add_full (G_PRIORITY_LOW, scroll_log_to_end, g_object_ref (self), g_object_unref);
}

void
_sl_train_page_log (SlTrainPage *self, const char *format, ...)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *text = NULL;
  char *line;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  line = g_strdup_printf ("%s  %s", time, text);
  g_ptr_array_add (self->live_log, line);
  if (self->live_log->len > LOG_LINES)
    g_ptr_array_remove_index (self->live_log, 0);
  if (self->shown_run == self->live_run || self->shown_run < 0)
    {
      append_log_row (self, line);
      if (self->live_log->len >= LOG_LINES)
        gtk_list_box_remove (self->log_list,
                             gtk_widget_get_first_child (GTK_WIDGET (self->log_list)));
      g_idle_add_full (G_PRIORITY_LOW, scroll_log_to_end, g_object_ref (self), g_object_unref);
    }
}

char **
sl_train_page_dup_log (SlTrainPage *self)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **lines;

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->log_list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    g_strv_builder_add (builder, gtk_label_get_text (GTK_LABEL (
                                     gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row)))));
  lines = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return lines;
}

/* ---- Comparison ------------------------------------------------------------------------------ */

static void
attach_cell (SlTrainPage *self, const char *text, int column, int row, gboolean heading,
             gboolean dim)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_tooltip_text (label, text);
  if (heading)
    gtk_widget_add_css_class (label, "heading");
  if (dim)
    gtk_widget_add_css_class (label, "dim-label");
  if (column > 0)
    gtk_widget_add_css_class (label, "numeric");
  gtk_widget_set_hexpand (label, column == 0);
  gtk_grid_attach (self->compare_grid, label, column, row, 1, 1);
}

static GPtrArray *
comparison_rows (SlTrainPage *self, guint *n_same)
{
  const SlRunInfo *a = sl_run_list_lookup (self->run_list, self->shown_run);
  const SlRunInfo *b = sl_run_list_lookup (self->run_list, self->compare_run);

  return a != NULL && b != NULL ? sl_run_diff (a, b, n_same) : NULL;
}

void
_sl_train_page_update_comparison (SlTrainPage *self)
{
  g_autoptr (GPtrArray) rows = NULL;
  GtkWidget *child;
  guint n_same = 0;
  int r = 1;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->compare_grid))) != NULL)
    gtk_grid_remove (self->compare_grid, child);
  if ((rows = comparison_rows (self, &n_same)) == NULL)
    {
      gtk_stack_set_visible_child_name (self->side_stack, "log");
      return;
    }
  gtk_label_set_text (self->compare_title, "Comparison");
  attach_cell (self, "", 0, 0, TRUE, FALSE);
  attach_cell (self, sl_run_list_lookup (self->run_list, self->shown_run)->name, 1, 0, TRUE, FALSE);
  {
    g_autofree char *dashed = g_strdup_printf (
        "%s (dashed)", sl_run_list_lookup (self->run_list, self->compare_run)->name);
    attach_cell (self, dashed, 2, 0, TRUE, FALSE);
  }
  for (guint i = 0; i < rows->len; i++, r++)
    {
      const SlRunDiffRow *row = g_ptr_array_index (rows, i);

      if (i > 0 && !row->is_result && ((SlRunDiffRow *) rows->pdata[i - 1])->is_result)
        {
          attach_cell (self, "Settings that differ", 0, r++, TRUE, FALSE);
        }
      attach_cell (self, row->label, 0, r, FALSE, TRUE);
      attach_cell (self, row->a, 1, r, FALSE, FALSE);
      attach_cell (self, row->b, 2, r, FALSE, FALSE);
    }
  {
    g_autofree char *same
        = g_strdup_printf (n_same > 0 && rows->len > 4 ? "The other %u settings are the same."
                                                       : "All %u settings are the same.",
                           n_same);
    GtkWidget *label = gtk_label_new (same);

    gtk_label_set_xalign (GTK_LABEL (label), 0);
    gtk_widget_add_css_class (label, "dim-label");
    gtk_widget_set_margin_top (label, 6);
    gtk_grid_attach (self->compare_grid, label, 0, r, 3, 1);
  }
  gtk_stack_set_visible_child_name (self->side_stack, "compare");
}

char **
sl_train_page_dup_comparison (SlTrainPage *self)
{
  g_autoptr (GPtrArray) rows = comparison_rows (self, NULL);
  GStrvBuilder *builder = g_strv_builder_new ();
  char **lines;

  for (guint i = 0; rows != NULL && i < rows->len; i++)
    {
      const SlRunDiffRow *row = g_ptr_array_index (rows, i);
      g_autofree char *line = g_strdup_printf ("%s: %s → %s", row->label, row->a, row->b);

      g_strv_builder_add (builder, line);
    }
  lines = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return lines;
}

/* ---- Actions --------------------------------------------------------------------------------- */

void
_sl_train_page_update_actions (SlTrainPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean running = sl_runner_is_running (self->runner);
  const SlRunInfo *shown = sl_run_list_lookup (self->run_list, self->shown_run);
  /* Training writes runs: off for a read-only project (its history shows). */
  gboolean writable = !sl_session_is_read_only (self->session);
  /* A fit is not resumed: it starts again from the beginning (it keeps nothing half-done). */
  gboolean resumable
      = !running && shown != NULL && sl_run_info_is_resumable (shown) && writable && !self->anomaly;

  gtk_widget_action_set_enabled (widget, "training.start", !running && writable);
  gtk_widget_action_set_enabled (widget, "training.delete-run", writable);
  gtk_widget_action_set_enabled (widget, "training.stop",
                                 running && !sl_runner_is_stopping (self->runner));
  gtk_widget_action_set_enabled (widget, "training.resume", resumable);
  gtk_widget_action_set_enabled (widget, "training.resume-run", !running && writable);
  gtk_widget_set_visible (self->resume_button, resumable);
}

/* The next start (and the next session) defaults to the device used last. */
static void
remember_device (SlTrainPage *self)
{
  g_autoptr (GSettings) settings = sl_app_settings_new ("last-device");
  g_autofree char *device = sl_train_settings_dup_device_id (self->settings);

  if (settings != NULL && device != NULL)
    g_settings_set_string (settings, "last-device", device);
}

/* An anomaly project fits on its good training images, on the CPU. */
static void
start_fit (SlTrainPage *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;
  SlRunConfig config;

  if (!sl_fit_settings_validate (self->fit_settings, &message))
    {
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, message);
      show_error (self, "Check the anomaly model's settings", error);
      return;
    }
  sl_fit_settings_get_config (self->fit_settings, &config);
  g_strlcpy (config.device, "cpu", sizeof config.device);
  g_strlcpy (self->live_device, config.device, sizeof self->live_device);
  g_ptr_array_set_size (self->live_log, 0);
  if (!sl_runner_start (self->runner, &config, &error))
    show_error (self, "Could not start fitting", error);
  else
    {
      self->live_epochs = 1;
      _sl_train_page_show_log (self, NULL);
      _sl_train_page_log (self, "Preparing the images…");
    }
  sl_run_config_clear (&config);
}

static void
start_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlTrainPage *self = SL_TRAIN_PAGE (widget);
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;
  SlRunConfig config;

  if (self->anomaly)
    {
      start_fit (self);
      return;
    }
  if (!sl_train_settings_validate (self->settings, &message))
    {
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, message);
      show_error (self, "Check the training settings", error);
      return;
    }
  sl_train_settings_get_config (self->settings, &config);
  {
    g_autofree char *device = sl_train_settings_dup_device_id (self->settings);

    g_strlcpy (config.device, device != NULL ? device : "cpu", sizeof config.device);
    g_strlcpy (self->live_device, config.device, sizeof self->live_device);
  }
  remember_device (self);
  g_ptr_array_set_size (self->live_log, 0);
  if (!sl_runner_start (self->runner, &config, &error))
    show_error (self, "Could not start training", error);
  else
    {
      self->live_epochs = config.epochs;
      _sl_train_page_show_log (self, NULL);
      _sl_train_page_log (self, "Preparing the images…");
    }
  sl_run_config_clear (&config);
}

static void
stop_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlTrainPage *self = SL_TRAIN_PAGE (widget);
  const SlTrainProgress *p = sl_runner_get_progress (self->runner);

  sl_runner_stop (self->runner);
  if (self->anomaly)
    _sl_train_page_log (self, "Stopping the fit…");
  else if (p != NULL && p->features_total > 0)
    _sl_train_page_log (self, "Stopping the feature pass after the current batch…");
  else
    _sl_train_page_log (self, "Stopping after the current step…");
  _sl_train_page_update_actions (self);
}

static void
resume (SlTrainPage *self, gint64 run_id)
{
  g_autoptr (GError) error = NULL;

  g_ptr_array_set_size (self->live_log, 0);
  {
    /* The log goes on from what the run's earlier sessions wrote. */
    g_auto (GStrv) kept = _sl_train_page_load_history_log (self, run_id);

    for (guint i = 0; kept != NULL && kept[i] != NULL; i++)
      g_ptr_array_add (self->live_log, g_strdup (kept[i]));
  }
  if (!sl_runner_resume (self->runner, run_id, 0, &error))
    show_error (self, "Could not resume the run", error);
  else
    {
      /* The run's recipe says where it trains. */
      g_strlcpy (self->live_device, sl_runner_get_device (self->runner), sizeof self->live_device);
      _sl_train_page_show_log (self, NULL);
    }
}

static void
resume_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlTrainPage *self = SL_TRAIN_PAGE (widget);

  resume (self, self->shown_run);
}

static void
resume_run_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  resume (SL_TRAIN_PAGE (widget), g_variant_get_int64 (param));
}

static void
reuse_settings_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlTrainPage *self = SL_TRAIN_PAGE (widget);
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, g_variant_get_int64 (param));

  if (run == NULL || sl_runner_is_running (self->runner))
    return;
  if (self->anomaly)
    sl_fit_settings_load_config_json (self->fit_settings, run->config_json);
  else
    sl_train_settings_load_config_json (self->settings, run->config_json);
  gtk_stack_set_visible_child_name (self->sidebar_stack, "settings");
  {
    g_autofree char *text = g_strdup_printf ("The settings of %s are loaded", run->name);
    gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", text);
  }
}

static void
delete_confirmed (GtkWindow *dialog, gpointer data)
{
  SlTrainPage *self = g_object_get_data (G_OBJECT (dialog), "page");
  gint64 run_id = GPOINTER_TO_SIZE (data);
  g_autoptr (GError) error = NULL;

  if (!sl_project_delete_run (sl_session_get_project (self->session), run_id, &error))
    show_error (self, "Could not delete the run", error);
  sl_session_notify_runs_changed (self->session);
}

static void
delete_run_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlTrainPage *self = SL_TRAIN_PAGE (widget);
  gint64 run_id = g_variant_get_int64 (param);
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, run_id);
  g_autofree char *heading = NULL;
  GtkWindow *dialog;

  if (run == NULL)
    return;
  if (sl_runner_is_running (self->runner) && sl_runner_get_run_id (self->runner) == run_id)
    {
      g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_BUSY,
                                              "%s is training now. Stop it first.", run->name);
      show_error (self, "Could not delete the run", error);
      return;
    }
  heading = g_strdup_printf ("Delete %s?", run->name);
  dialog = sl_message_dialog_new (widget, heading,
                                  "Its checkpoints, curves and evaluations are deleted. Models "
                                  "already exported stay where they are.");
  g_object_set_data (G_OBJECT (dialog), "page", self);
  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  sl_message_dialog_set_default (
      dialog,
      sl_message_dialog_add_button (dialog, "_Delete", "destructive-action", delete_confirmed,
                                    GSIZE_TO_POINTER ((gsize) run_id), NULL));
  gtk_window_present (dialog);
}

void
_sl_train_page_install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "training.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "training.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "training.resume", NULL, resume_action);
  gtk_widget_class_install_action (widget_class, "training.resume-run", "x", resume_run_action);
  gtk_widget_class_install_action (widget_class, "training.reuse-settings", "x",
                                   reuse_settings_action);
  gtk_widget_class_install_action (widget_class, "training.delete-run", "x", delete_run_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "training.start", NULL);
}
