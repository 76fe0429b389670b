/* sl-export-page-export.c: the Export page's export: the folder chooser, replacing files, the worker and the summary. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-export-page-private.h"
#include "sl-message-dialog.h"

#include <math.h>
#include <string.h>

/* One export, from the options to the result. Read by the worker thread only
 * while it runs; the main thread reads it after. */
typedef struct
{
  char *project_path;
  gint64 run_id;
  char *folder;
  char *name;
  SlExportFormats formats;
  SlCheckpointKind checkpoint;
  double threshold;
  gboolean anomaly_gate; /* fit a gate on the run's training images into the .slmodel */
  GPtrArray *existing;   /* file names already in the folder (probe) */
  GStrv class_names;     /* the run's classes, in output order */
  SlExportResult result; /* filled by the export */
  gint64 started;        /* monotonic µs */
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->project_path);
  g_free (job->folder);
  g_free (job->name);
  g_clear_pointer (&job->existing, g_ptr_array_unref);
  g_strfreev (job->class_names);
  sl_export_result_clear (&job->result);
  g_free (job);
}

static void
set_exporting (SlExportPage *self, gboolean exporting, const char *status)
{
  self->exporting = exporting;
  gtk_widget_set_visible (self->export_spinner, exporting);
  gtk_spinner_set_spinning (GTK_SPINNER (self->export_spinner), exporting);
  gtk_label_set_text (self->export_status, status != NULL ? status : "");
  _sl_export_page_update_actions (self);
}

/* ---- The worker ------------------------------------------------------------------------- */

/* Which of the files the export will write are there already (a stat each: off the main loop,
 * as the folder may be on a slow share). */
static void
probe_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *job = data;
  const char *suffixes[] = { ".slmodel", ".onnx", ".json" };
  const gboolean wanted[]
      = { (job->formats & SL_EXPORT_SLMODEL) != 0, (job->formats & SL_EXPORT_ONNX) != 0,
          (job->formats & SL_EXPORT_ONNX) != 0 };

  job->existing = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (job->name, suffixes[i], NULL);
      g_autofree char *path = g_build_filename (job->folder, file, NULL);

      if (wanted[i] && g_file_test (path, G_FILE_TEST_EXISTS))
        g_ptr_array_add (job->existing, g_steal_pointer (&file));
    }
  g_task_return_boolean (task, TRUE);
}

static void
export_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *job = data;
  GError *error = NULL;
  /* Reading the run and its checkpoint: this thread's own connection. */
  g_autoptr (SlProject) db = sl_project_open_worker (job->project_path, &error);
  g_autoptr (SlRunInfo) run = NULL;
  SlExportOptions options;
  char id[32];

  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sl_export_options_init (&options);
  options.formats = job->formats;
  options.checkpoint = job->checkpoint;
  options.reject_threshold = job->threshold;
  options.anomaly_gate = job->anomaly_gate;
  options.name = job->name;
  g_snprintf (id, sizeof id, "%" G_GINT64_FORMAT, job->run_id);
  if ((run = sl_project_get_run (db, id, &error)) == NULL
      || !sl_project_export_run (db, job->run_id, job->folder, &options, &job->result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  job->class_names = g_new0 (char *, run->class_names->len + 1);
  for (guint i = 0; i < run->class_names->len; i++)
    job->class_names[i] = g_strdup (g_ptr_array_index (run->class_names, i));
  g_task_return_boolean (task, TRUE);
}

/* ---- The summary ------------------------------------------------------------------------ */

static void
add_file_row (SlExportPage *self, const char *path, gint64 bytes, const char *what)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *display = g_filename_display_name (base);
  g_autofree char *size_text = g_format_size ((guint64) MAX (bytes, 0));
  GtkWidget *icon = gtk_image_new_from_icon_name ("text-x-generic-symbolic");
  GtkWidget *name = gtk_label_new (display);
  GtkWidget *detail = gtk_label_new (what);
  GtkWidget *size = gtk_label_new (size_text);

  gtk_widget_set_margin_top (row, 8);
  gtk_widget_set_margin_bottom (row, 8);
  gtk_widget_set_margin_start (row, 12);
  gtk_widget_set_margin_end (row, 12);
  gtk_widget_add_css_class (icon, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_tooltip_text (name, path);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_widget_add_css_class (detail, "caption");
  gtk_widget_set_hexpand (text, TRUE);
  gtk_widget_add_css_class (size, "numeric");
  gtk_box_append (GTK_BOX (text), name);
  gtk_box_append (GTK_BOX (text), detail);
  gtk_box_append (GTK_BOX (row), icon);
  gtk_box_append (GTK_BOX (row), text);
  gtk_box_append (GTK_BOX (row), size);
  gtk_list_box_append (self->files_list, row);
}

static void
add_fact (SlExportPage *self, int row, const char *what, const char *value)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *label = gtk_label_new (what);
  GtkWidget *text = gtk_label_new (value);

  /* One line per fact (the whole value in its tooltip): wrapped values were measured at
   * another width than the scrolled column gave them, and the last rows ran under the
   * buttons below. */
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_yalign (GTK_LABEL (label), 0);
  gtk_label_set_width_chars (GTK_LABEL (label), 11);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (text), 0);
  gtk_label_set_ellipsize (GTK_LABEL (text), PANGO_ELLIPSIZE_END);
  gtk_widget_set_tooltip_text (text, value);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), text);
  gtk_box_append (self->facts_box, box);
}

/* "3,267,459": whatever the locale, the count must be readable. */
static char *
format_count (gint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, n);
  GString *text = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && digits[i - 1] != '-' && (len - i) % 3 == 0)
        g_string_append_c (text, ',');
      g_string_append_c (text, digits[i]);
    }
  return g_string_free (text, FALSE);
}

static char *
format_latency (double ms, int threads)
{
  const char *format = ms < 1     ? "%.2f ms per image on this PC (%d thread%s)"
                       : ms < 100 ? "%.1f ms per image on this PC (%d thread%s)"
                                  : "%.0f ms per image on this PC (%d thread%s)";

  return g_strdup_printf (format, ms, threads, threads == 1 ? "" : "s");
}

/* Scrolls the summary into view once it has its size (the frame after it was filled). */
static gboolean
reveal_summary (GtkWidget *summary, GdkFrameClock *clock, gpointer data)
{
  SlExportPage *self = data;
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->options_scroller);
  GtkWidget *content = gtk_scrolled_window_get_child (self->options_scroller);
  graphene_rect_t bounds;

  if (gtk_widget_get_height (summary) <= 0)
    return G_SOURCE_CONTINUE;
  if (gtk_widget_compute_bounds (summary, content, &bounds))
    gtk_adjustment_clamp_page (adjustment, bounds.origin.y - 12,
                               bounds.origin.y + bounds.size.height + 12);
  return G_SOURCE_REMOVE;
}

/* The run the page shows, when it is the exported one. */
static const SlRunInfo *
shown_run (SlExportPage *self, const ExportJob *job)
{
  if (self->details != NULL && self->details->run != NULL && self->details->run->id == job->run_id)
    return self->details->run;
  return NULL;
}

static void
show_summary (SlExportPage *self, const ExportJob *job, double seconds)
{
  const SlExportResult *r = &self->result;
  g_autofree char *folder = _sl_export_page_display_path (job->folder);
  g_autofree char *title = NULL, *classes = NULL, *input = NULL, *params = NULL;
  g_autofree char *latency = NULL, *threshold = NULL, *weights = NULL, *usage = NULL;
  g_autofree char *model_name = NULL;
  GtkWidget *child;
  int row = 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->files_list))) != NULL)
    gtk_list_box_remove (self->files_list, child);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->facts_box))) != NULL)
    gtk_box_remove (self->facts_box, child);

  title = g_strdup_printf ("run-%" G_GINT64_FORMAT " exported in %.1f s", job->run_id, seconds);
  gtk_label_set_text (self->summary_title, title);
  gtk_label_set_text (self->summary_folder, folder);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->summary_folder), job->folder);
  if (r->slmodel_path != NULL)
    add_file_row (self, r->slmodel_path, r->slmodel_bytes,
                  "The model for the Sightline runtime and sightline-infer");
  if (r->onnx_path != NULL)
    add_file_row (self, r->onnx_path, r->onnx_bytes, "The model as an ONNX graph");
  if (r->sidecar_path != NULL)
    add_file_row (self, r->sidecar_path, r->sidecar_bytes,
                  "Labels and preprocessing for the ONNX graph");

  {
    g_autofree char *names = g_strjoinv (", ", job->class_names);
    classes = g_strdup_printf ("%s (%d)", names, r->classes);
  }
  add_fact (self, row++, "Classes", classes);
  input = g_strdup_printf ("%d × %d × %d (%s)", r->input_width, r->input_height, r->input_channels,
                           r->input_channels == 1   ? "gray"
                           : r->input_channels == 3 ? "colour"
                                                    : "channels");
  add_fact (self, row++, "Input", input);
  params = format_count (r->parameters);
  add_fact (self, row++, "Parameters", params);
  weights
      = job->checkpoint == SL_CHECKPOINT_LAST
            ? g_strdup ("Last epoch")
            : g_strdup_printf ("Best epoch (%s)", sl_run_best_criterion (shown_run (self, job)));
  add_fact (self, row++, "Weights", weights);
  latency = isfinite (r->latency_ms) ? format_latency (r->latency_ms, r->threads)
                                     : g_strdup ("Could not be measured");
  add_fact (self, row++, "Speed", latency);
  if (job->threshold > 0)
    threshold = g_strdup_printf ("%.0f %%: less sure predictions are reported as “unknown”",
                                 100.0 * job->threshold);
  else
    threshold = g_strdup ("Off: every image gets a class");
  add_fact (self, row++, "Reject below", threshold);

  model_name = g_path_get_basename (r->slmodel_path != NULL ? r->slmodel_path : r->onnx_path);
  if (r->slmodel_path != NULL)
    usage = g_markup_printf_escaped (
        "<b>How to use it:</b> on the line PC, <tt>sightline-infer %s &lt;folder&gt;</tt> "
        "classifies a folder of images and prints one line per image. Inspection programs "
        "link the Sightline runtime instead: see docs/runtime.md.%s",
        model_name, r->onnx_path != NULL ? " For the ONNX graph, see docs/onnx.md." : "");
  else
    usage = g_markup_printf_escaped (
        "<b>How to use it:</b> load %s in any ONNX runtime and prepare each image as "
        "the sidecar .json describes: see docs/onnx.md.",
        model_name);
  gtk_label_set_markup (self->usage_label, usage);
  gtk_widget_set_visible (self->summary_box, TRUE);
  gtk_widget_add_tick_callback (self->summary_box, reveal_summary, self, NULL);
}

/* ---- Running an export ------------------------------------------------------------------ */

static void
export_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlExportPage *self = SL_EXPORT_PAGE (source);
  ExportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) save_error = NULL;
  double seconds;

  if (g_task_get_cancellable (G_TASK (result)) != self->export_cancellable)
    return; /* the page went away meanwhile */
  g_clear_object (&self->export_cancellable);
  seconds = (g_get_monotonic_time () - job->started) / 1e6;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      self->error = g_error_copy (error);
      /* The summary below still describes the last export that worked: say so. */
      if (self->has_result)
        gtk_label_set_text (self->summary_title, "The earlier export is still in place");
      set_exporting (self, FALSE, NULL);
      _sl_export_page_report (self, "The model was not exported", error);
      return;
    }
  sl_export_result_clear (&self->result);
  self->result = job->result;
  memset (&job->result, 0, sizeof job->result);
  self->has_result = TRUE;
  self->exported_run_id = job->run_id;
  self->exported_threshold = job->threshold;
  if (!sl_session_set_export_folder (self->session, job->folder, &save_error))
    g_debug ("Could not remember the export folder: %s", save_error->message);
  show_summary (self, job, seconds);
  set_exporting (self, FALSE, NULL);
  _sl_export_page_update_try_source (self);
}

static void
start_export (SlExportPage *self, ExportJob *job)
{
  g_autoptr (GTask) task = NULL;

  job->started = g_get_monotonic_time ();
  set_exporting (self, TRUE, "Exporting and timing the model…");
  g_clear_object (&self->export_cancellable);
  self->export_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->export_cancellable, export_done, NULL);
  g_task_set_source_tag (task, start_export);
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  g_task_run_in_thread (task, export_thread);
}

static void
on_replace_confirmed (GtkWindow *dialog, gpointer data)
{
  g_object_set_data (G_OBJECT (dialog), "sl-confirmed", GINT_TO_POINTER (1));
}

/* The question closed: by Replace, Cancel or Escape. */
static void
on_replace_dialog_destroy (GtkWindow *dialog, SlExportPage *self)
{
  ExportJob *job;

  if (self->replace_dialog != dialog)
    return; /* the page went away: the dialog frees the job */
  self->replace_dialog = NULL;
  job = g_object_steal_data (G_OBJECT (dialog), "sl-job");
  if (g_object_get_data (G_OBJECT (dialog), "sl-confirmed") != NULL)
    start_export (self, job);
  else
    {
      export_job_free (job);
      set_exporting (self, FALSE, "Nothing was exported.");
    }
}

static void
ask_replace (SlExportPage *self, ExportJob *job)
{
  g_autofree char *heading = NULL, *body = NULL;
  g_autofree char *folder = _sl_export_page_display_path (job->folder);
  GtkWindow *dialog;
  GtkWidget *replace;

  if (job->existing->len == 1)
    {
      heading = g_strdup_printf ("Replace %s?", (char *) g_ptr_array_index (job->existing, 0));
      body = g_strdup_printf ("%s already has a file of this name. Replacing it changes what the "
                              "line runs the next time it loads the model.",
                              folder);
    }
  else
    {
      g_ptr_array_add (job->existing, NULL);
      heading = g_strdup_printf ("Replace %u files?", job->existing->len - 1);
      {
        g_autofree char *names = g_strjoinv (", ", (char **) job->existing->pdata);
        body = g_strdup_printf ("%s already has %s. Replacing them changes what the line runs "
                                "the next time it loads the model.",
                                folder, names);
      }
      g_ptr_array_remove_index (job->existing, job->existing->len - 1);
    }
  dialog = sl_message_dialog_new (GTK_WIDGET (self), heading, body);
  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  replace = sl_message_dialog_add_button (dialog, "_Replace", "destructive-action",
                                          on_replace_confirmed, NULL, NULL);
  sl_message_dialog_set_default (dialog, replace);
  g_object_set_data_full (G_OBJECT (dialog), "sl-job", job, (GDestroyNotify) export_job_free);
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (on_replace_dialog_destroy), self, 0);
  self->replace_dialog = dialog;
  gtk_label_set_text (self->export_status, "Waiting for an answer…");
  gtk_window_present (dialog);
}

static void
probe_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlExportPage *self = SL_EXPORT_PAGE (source);
  ExportJob *job = data; /* ours: it moves on to the export or the question */

  if (g_task_get_cancellable (G_TASK (result)) != self->export_cancellable
      || !g_task_propagate_boolean (G_TASK (result), NULL))
    {
      export_job_free (job);
      return;
    }
  g_clear_object (&self->export_cancellable);
  if (job->existing->len == 0)
    start_export (self, job);
  else
    ask_replace (self, job);
}

static void
run_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlExportPage *self = SL_EXPORT_PAGE (widget);
  g_autoptr (GTask) task = NULL;
  ExportJob *job;

  if (self->exporting)
    return;
  job = g_new0 (ExportJob, 1);
  job->project_path = g_strdup (sl_session_get_path (self->session));
  job->run_id = self->run_id;
  job->folder = g_strdup (self->folder);
  job->name = g_strdup (sl_export_page_get_file_name (self));
  job->formats = sl_export_page_get_formats (self);
  job->checkpoint = sl_export_page_get_checkpoint (self);
  job->threshold = sl_export_page_get_reject_threshold (self);
  job->anomaly_gate = sl_export_page_get_anomaly_gate (self);
  g_clear_error (&self->error);
  gtk_widget_set_visible (GTK_WIDGET (self->export_error), FALSE);
  set_exporting (self, TRUE, "Looking at the folder…");
  self->export_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->export_cancellable, probe_done, job);
  g_task_set_source_tag (task, run_action);
  g_task_set_task_data (task, job, NULL);
  g_task_run_in_thread (task, probe_thread);
}

void
_sl_export_page_cancel_export (SlExportPage *self)
{
  GtkWindow *dialog = self->replace_dialog;

  g_cancellable_cancel (self->export_cancellable);
  g_clear_object (&self->export_cancellable);
  self->replace_dialog = NULL; /* so that closing it starts nothing */
  if (dialog != NULL)
    gtk_window_destroy (dialog);
}

/* ---- The folder --------------------------------------------------------------------------- */

static void
on_folder_chosen (GtkNativeDialog *chooser, int response, SlExportPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        sl_export_page_set_folder (self, path);
    }
  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
  _sl_export_page_update_actions (self);
}

static void
choose_folder_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlExportPage *self = SL_EXPORT_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr (GFile) current = NULL;

  if (self->chooser != NULL)
    return;
  self->chooser
      = gtk_file_chooser_native_new ("Export To", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                     GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Select", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  /* The folder itself may not exist yet: start in the nearest one that does. */
  current = g_file_new_for_path (self->folder);
  while (current != NULL && !g_file_query_exists (current, NULL))
    {
      GFile *parent = g_file_get_parent (current);
      g_object_unref (current);
      current = parent;
    }
  if (current != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), current, NULL);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_folder_chosen), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
  _sl_export_page_update_actions (self);
}

/* ---- After an export ------------------------------------------------------------------------ */

static void
launch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GtkWidget) widget = data;
  g_autoptr (GError) error = NULL;

  if (g_app_info_launch_default_for_uri_finish (result, &error))
    return;
  if (!gtk_widget_activate_action (widget, "win.show-error", "(ss)", "Could not open the folder",
                                   error->message))
    g_debug ("Could not open the folder: %s", error->message);
}

static void
open_folder_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlExportPage *self = SL_EXPORT_PAGE (widget);
  const char *path
      = self->result.slmodel_path != NULL ? self->result.slmodel_path : self->result.onnx_path;
  g_autofree char *dir = NULL, *uri = NULL;
  g_autoptr (GdkAppLaunchContext) context = NULL;

  if (!self->has_result || path == NULL)
    return;
  dir = g_path_get_dirname (path);
  uri = g_filename_to_uri (dir, NULL, NULL);
  context = gdk_display_get_app_launch_context (gtk_widget_get_display (widget));
  g_app_info_launch_default_for_uri_async (uri, G_APP_LAUNCH_CONTEXT (context), NULL, launch_done,
                                           g_object_ref (widget));
}

static void
copy_path_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlExportPage *self = SL_EXPORT_PAGE (widget);
  const char *path
      = self->result.slmodel_path != NULL ? self->result.slmodel_path : self->result.onnx_path;

  if (!self->has_result || path == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), path);
  gtk_widget_activate_action (widget, "win.toast", "s", "Path copied");
}

void
_sl_export_page_install_export_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "export.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "export.choose-folder", NULL,
                                   choose_folder_action);
  gtk_widget_class_install_action (widget_class, "export.open-folder", NULL, open_folder_action);
  gtk_widget_class_install_action (widget_class, "export.copy-path", NULL, copy_path_action);
}
