/* sl-report-dialog.c: the "Report…" dialog of the Evaluate and Export pages: where to save a run's qualification report, who signs it, then writing it on a worker with progress and Cancel. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-report-dialog.h"
#include "sl-report.h"

#include <string.h>

#define PROGRESS_MS 100

typedef struct
{
  char *project_path, *pdf_path, *signer;
  gint64 run_id;
  SlSplit split;
  GMutex lock;
  double fraction; /* under lock */
  char *what;      /* under lock */
  SlReportResult result;
} WriteJob;

struct _SlReportDialog
{
  GtkWindow parent_instance;
  SlSession *session;
  gint64 run_id;
  SlSplit split;
  char *path;

  GtkLabel *path_label;
  GtkWidget *choose_button;
  GtkEntry *signer_entry;
  GtkWidget *form;
  GtkWidget *progress_box;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label;
  GtkLabel *message; /* the outcome: written, or the error */
  GtkWidget *write_button, *cancel_button, *open_button, *show_button, *close_button;
  GtkFileChooserNative *chooser;

  WriteJob *job; /* the report being written, or NULL */
  GCancellable *cancellable;
  guint timer;
  int pages;
  char *error;
};

G_DEFINE_FINAL_TYPE (SlReportDialog, sl_report_dialog, GTK_TYPE_WINDOW)

static void
write_job_free (WriteJob *job)
{
  g_free (job->project_path);
  g_free (job->pdf_path);
  g_free (job->signer);
  g_free (job->what);
  sl_report_result_clear (&job->result);
  g_mutex_clear (&job->lock);
  g_free (job);
}

/* "~/x" for paths in the home folder. */
static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);

  if (g_str_has_prefix (path, home) && path[n] == G_DIR_SEPARATOR)
    return g_strconcat ("~", path + n, NULL);
  return g_filename_display_name (path);
}

static void
set_path (SlReportDialog *self, const char *path)
{
  g_autofree char *shown = display_path (path);

  g_free (self->path);
  self->path = g_strdup (path);
  gtk_label_set_text (self->path_label, shown);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->path_label), path);
}

/* ---- Writing on a worker ------------------------------------------------------------------ */

static void
on_report_progress (double fraction, const char *what, gpointer data)
{
  WriteJob *job = data;

  g_mutex_lock (&job->lock);
  job->fraction = fraction;
  g_free (job->what);
  job->what = g_strdup (what);
  g_mutex_unlock (&job->lock);
}

static void
write_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  WriteJob *job = data;
  GError *error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (job->project_path, &error);
  SlReportOptions options;

  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sl_report_options_init (&options);
  options.split = job->split;
  options.signer = job->signer;
  options.progress = on_report_progress;
  options.progress_data = job;
  options.cancellable = cancellable;
  if (!sl_project_write_report (db, job->run_id, &options, job->pdf_path, &job->result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
show_progress (SlReportDialog *self)
{
  WriteJob *job = self->job;
  g_autofree char *what = NULL;
  double fraction;

  g_mutex_lock (&job->lock);
  fraction = job->fraction;
  what = g_strdup (job->what);
  g_mutex_unlock (&job->lock);
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0, 1));
  gtk_label_set_text (self->progress_label, what != NULL ? what : "Starting…");
}

static gboolean
progress_timeout (gpointer data)
{
  SlReportDialog *self = data;

  if (self->job != NULL)
    show_progress (self);
  return G_SOURCE_CONTINUE;
}

static void
set_writing (SlReportDialog *self, gboolean writing)
{
  gtk_widget_set_sensitive (self->form, !writing);
  gtk_widget_set_visible (self->progress_box, writing);
  gtk_widget_set_visible (self->write_button, !writing && self->pages == 0);
  gtk_button_set_label (GTK_BUTTON (self->cancel_button), writing ? "_Stop" : "_Cancel");
  gtk_widget_set_visible (self->cancel_button, self->pages == 0);
  gtk_widget_set_visible (self->open_button, !writing && self->pages > 0);
  gtk_widget_set_visible (self->show_button, !writing && self->pages > 0);
  gtk_widget_set_visible (self->close_button, !writing && self->pages > 0);
}

static void
show_message (SlReportDialog *self, const char *text, gboolean error)
{
  gtk_label_set_text (self->message, text);
  gtk_widget_set_visible (GTK_WIDGET (self->message), text != NULL && *text != '\0');
  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self->message), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->message), "error");
}

static void
write_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlReportDialog *self = SL_REPORT_DIALOG (source);
  WriteJob *job = data;
  g_autoptr (GError) error = NULL;

  if (self->job != job)
    return; /* closed meanwhile */
  self->job = NULL;
  g_clear_handle_id (&self->timer, g_source_remove);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->error, g_free);
  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *shown = display_path (job->pdf_path);
      g_autofree char *text = NULL;

      self->pages = job->result.pages;
      text = g_strdup_printf ("Written: %s, %d page%s. Print it and sign the last page, or file "
                              "the PDF.",
                              shown, self->pages, self->pages == 1 ? "" : "s");
      show_message (self, text, FALSE);
      gtk_window_set_default_widget (GTK_WINDOW (self), self->open_button);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_message (self, "Stopped; no report was written.", FALSE);
  else
    {
      self->error = g_strdup (error->message);
      show_message (self, error->message, TRUE);
    }
  set_writing (self, FALSE);
}

void
sl_report_dialog_write (SlReportDialog *self, const char *path)
{
  g_autoptr (GTask) task = NULL;
  const char *signer;
  WriteJob *job;

  g_return_if_fail (SL_IS_REPORT_DIALOG (self));
  g_return_if_fail (self->job == NULL);
  set_path (self, path);
  signer = gtk_editable_get_text (GTK_EDITABLE (self->signer_entry));
  job = g_new0 (WriteJob, 1);
  job->project_path = g_strdup (sl_session_get_path (self->session));
  job->pdf_path = g_strdup (path);
  job->signer = g_strstrip (g_strdup (signer));
  if (job->signer[0] == '\0')
    g_clear_pointer (&job->signer, g_free); /* a blank line to sign by hand */
  job->run_id = self->run_id;
  job->split = self->split;
  g_mutex_init (&job->lock);
  self->job = job;
  self->pages = 0;
  g_clear_pointer (&self->error, g_free);
  self->cancellable = g_cancellable_new ();
  show_message (self, NULL, FALSE);
  set_writing (self, TRUE);
  show_progress (self);
  self->timer = g_timeout_add (PROGRESS_MS, progress_timeout, self);
  task = g_task_new (self, self->cancellable, write_done, job);
  g_task_set_source_tag (task, sl_report_dialog_write);
  g_task_set_task_data (task, job, (GDestroyNotify) write_job_free);
  g_task_run_in_thread (task, write_thread);
}

/* ---- Buttons ------------------------------------------------------------------------------- */

static void
on_chosen (GtkNativeDialog *chooser, int response, SlReportDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL && !g_str_has_suffix (path, ".pdf"))
        {
          char *with = g_strconcat (path, ".pdf", NULL);
          g_free (path);
          path = with;
        }
      if (path != NULL)
        set_path (self, path);
    }
  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
}

/* The native save dialog (GTK 4.8: GtkFileChooserNative), at the proposed name; it asks
 * before replacing a file. */
static void
on_choose (SlReportDialog *self)
{
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *base = g_path_get_basename (self->path);
  g_autoptr (GFile) folder = g_file_new_for_path (dir);
  GtkFileFilter *filter = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new ("Save the Report", GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_filter_set_name (filter, "PDF documents");
  gtk_file_filter_add_suffix (filter, "pdf");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), base);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_chosen), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Writes where the dialog says, asking first when that would replace a file. */
static void
on_replace_answer (SlReportDialog *self)
{
  if (self->job == NULL)
    sl_report_dialog_write (self, self->path);
}

static void
on_write (SlReportDialog *self)
{
  if (self->job != NULL)
    return;
  if (g_file_test (self->path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *base = g_path_get_basename (self->path);
      g_autofree char *heading = g_strdup_printf ("Replace %s?", base);
      GtkWindow *question = GTK_WINDOW (gtk_window_new ());
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
      GtkWidget *label = gtk_label_new (heading);
      GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *keep = gtk_button_new_with_mnemonic ("_Cancel");
      GtkWidget *replace = gtk_button_new_with_mnemonic ("_Replace");

      gtk_window_set_modal (question, TRUE);
      gtk_window_set_transient_for (question, GTK_WINDOW (self));
      gtk_window_set_title (question, heading);
      gtk_widget_add_css_class (label, "title-3");
      gtk_widget_add_css_class (replace, "destructive-action");
      gtk_widget_set_halign (buttons, GTK_ALIGN_END);
      gtk_box_append (GTK_BOX (buttons), keep);
      gtk_box_append (GTK_BOX (buttons), replace);
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), buttons);
      gtk_widget_set_margin_top (box, 18);
      gtk_widget_set_margin_bottom (box, 18);
      gtk_widget_set_margin_start (box, 18);
      gtk_widget_set_margin_end (box, 18);
      gtk_window_set_child (question, box);
      g_signal_connect_swapped (keep, "clicked", G_CALLBACK (gtk_window_destroy), question);
      g_signal_connect_swapped (replace, "clicked", G_CALLBACK (on_replace_answer), self);
      g_signal_connect_swapped (replace, "clicked", G_CALLBACK (gtk_window_destroy), question);
      gtk_window_present (question);
      return;
    }
  sl_report_dialog_write (self, self->path);
}

static void
on_cancel (SlReportDialog *self)
{
  if (self->job != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      gtk_label_set_text (self->progress_label, "Stopping…");
      return;
    }
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
launch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SlReportDialog) self = data;
  g_autoptr (GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    show_message (self, error->message, TRUE);
}

static void
launch (SlReportDialog *self, const char *path)
{
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autoptr (GdkAppLaunchContext) context
      = gdk_display_get_app_launch_context (gtk_widget_get_display (GTK_WIDGET (self)));

  g_app_info_launch_default_for_uri_async (uri, G_APP_LAUNCH_CONTEXT (context), NULL, launch_done,
                                           g_object_ref (self));
}

static void
on_open (SlReportDialog *self)
{
  launch (self, self->path);
}

/* The file manager with the report selected (org.freedesktop.FileManager1), else the folder. */
static void
show_in_folder_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SlReportDialog) self = data;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);

  if (reply == NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self->path);
      launch (self, dir);
    }
}

static void
on_show_in_folder (SlReportDialog *self)
{
  GDBusConnection *bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autofree char *uri = g_filename_to_uri (self->path, NULL, NULL);
  const char *uris[] = { uri, NULL };

  if (bus == NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self->path);
      launch (self, dir);
      return;
    }
  g_dbus_connection_call (bus, "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                          "org.freedesktop.FileManager1", "ShowItems",
                          g_variant_new ("(^ass)", uris, ""), NULL, G_DBUS_CALL_FLAGS_NONE, 5000,
                          NULL, show_in_folder_done, g_object_ref (self));
  g_object_unref (bus);
}

/* ---- Object ---------------------------------------------------------------------------------- */

static GtkWidget *
field_label (const char *text)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);

  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_set_valign (label, GTK_ALIGN_BASELINE);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

static GtkWidget *
button (const char *label, const char *style, GCallback callback, SlReportDialog *self)
{
  GtkWidget *b = gtk_button_new_with_mnemonic (label);

  if (style != NULL)
    gtk_widget_add_css_class (b, style);
  g_signal_connect_swapped (b, "clicked", callback, self);
  return b;
}

static void
build (SlReportDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = gtk_label_new ("Qualification Report");
  g_autofree char *body_text = g_strdup_printf (
      "A PDF of run-%" G_GINT64_FORMAT " for sign-off before it goes on the line: the model "
      "and its file hash, what it was trained and tested on, its accuracy with confidence "
      "intervals, its worst mistakes and how fast it runs on this PC (measured now).",
      self->run_id);
  GtkWidget *body = gtk_label_new (body_text);
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *path_row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *signer_label = field_label ("_Signed off by");
  GtkWidget *signer_hint = gtk_label_new ("Optional: printed in the sign-off block. Empty: a blank "
                                          "line to sign by hand.");
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_widget_add_css_class (title, "title-3");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (body), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (body), 56);
  gtk_label_set_xalign (GTK_LABEL (body), 0);

  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->path_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->path_label, 0);
  gtk_label_set_ellipsize (self->path_label, PANGO_ELLIPSIZE_START);
  gtk_widget_set_hexpand (GTK_WIDGET (self->path_label), TRUE);
  self->choose_button = button ("_Choose…", NULL, G_CALLBACK (on_choose), self);
  gtk_widget_set_tooltip_text (self->choose_button, "Choose another name or folder");
  gtk_box_append (GTK_BOX (path_row), GTK_WIDGET (self->path_label));
  gtk_box_append (GTK_BOX (path_row), self->choose_button);
  gtk_grid_attach (GTK_GRID (grid), field_label ("Save as"), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), path_row, 1, 0, 1, 1);
  self->signer_entry = GTK_ENTRY (gtk_entry_new ());
  gtk_entry_set_placeholder_text (self->signer_entry, "Name of the quality engineer");
  gtk_entry_set_activates_default (self->signer_entry, TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (signer_label), GTK_WIDGET (self->signer_entry));
  gtk_grid_attach (GTK_GRID (grid), signer_label, 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->signer_entry), 1, 1, 1, 1);
  gtk_label_set_xalign (GTK_LABEL (signer_hint), 0);
  gtk_label_set_wrap (GTK_LABEL (signer_hint), TRUE);
  gtk_widget_add_css_class (signer_hint, "dim-label");
  gtk_widget_add_css_class (signer_hint, "caption");
  gtk_grid_attach (GTK_GRID (grid), signer_hint, 1, 2, 1, 1);
  self->form = grid;

  self->progress_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->progress_bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  self->progress_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->progress_label, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->progress_label), "dim-label");
  gtk_box_append (GTK_BOX (self->progress_box), GTK_WIDGET (self->progress_bar));
  gtk_box_append (GTK_BOX (self->progress_box), GTK_WIDGET (self->progress_label));
  gtk_widget_set_visible (self->progress_box, FALSE);

  self->message = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->message, 0);
  gtk_label_set_wrap (self->message, TRUE);
  gtk_label_set_wrap_mode (self->message, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (self->message, TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->message), FALSE);

  self->cancel_button = button ("_Cancel", NULL, G_CALLBACK (on_cancel), self);
  self->write_button = button ("_Write Report", "suggested-action", G_CALLBACK (on_write), self);
  self->show_button = button ("Show in _Folder", NULL, G_CALLBACK (on_show_in_folder), self);
  self->open_button = button ("_Open", "suggested-action", G_CALLBACK (on_open), self);
  self->close_button = button ("C_lose", NULL, G_CALLBACK (gtk_window_destroy), self);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_widget_set_margin_top (buttons, 6);
  gtk_box_append (GTK_BOX (buttons), self->cancel_button);
  gtk_box_append (GTK_BOX (buttons), self->close_button);
  gtk_box_append (GTK_BOX (buttons), self->show_button);
  gtk_box_append (GTK_BOX (buttons), self->write_button);
  gtk_box_append (GTK_BOX (buttons), self->open_button);

  gtk_widget_set_margin_top (box, 24);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 24);
  gtk_widget_set_margin_end (box, 24);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), body);
  gtk_box_append (GTK_BOX (box), grid);
  gtk_box_append (GTK_BOX (box), self->progress_box);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->message));
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_window_set_child (GTK_WINDOW (self), box);
  gtk_window_set_default_widget (GTK_WINDOW (self), self->write_button);
  set_writing (self, FALSE);
}

static void
sl_report_dialog_dispose (GObject *object)
{
  SlReportDialog *self = SL_REPORT_DIALOG (object);

  /* A report being written stops; the report API never leaves a half file. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->job = NULL;
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_report_dialog_parent_class)->dispose (object);
}

static void
sl_report_dialog_finalize (GObject *object)
{
  SlReportDialog *self = SL_REPORT_DIALOG (object);

  g_free (self->path);
  g_free (self->error);
  G_OBJECT_CLASS (sl_report_dialog_parent_class)->finalize (object);
}

static void
sl_report_dialog_class_init (SlReportDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_report_dialog_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_report_dialog_finalize;
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
sl_report_dialog_init (SlReportDialog *self)
{
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_resizable (GTK_WINDOW (self), FALSE);
  gtk_window_set_title (GTK_WINDOW (self), "Qualification Report");
  gtk_window_set_default_size (GTK_WINDOW (self), 520, -1);
  gtk_widget_add_css_class (GTK_WIDGET (self), "sl-message-dialog");
}

/* <project>-run-N-report.pdf in the export folder, else Documents, else home. */
static char *
default_path (SlSession *session, gint64 run_id)
{
  g_autofree char *folder = sl_session_dup_export_folder (session);
  g_autofree char *name = g_strdup_printf ("%s-run-%" G_GINT64_FORMAT "-report.pdf",
                                           sl_session_get_name (session), run_id);
  const char *dir = folder;

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    dir = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    dir = g_get_home_dir ();
  return g_build_filename (dir, name, NULL);
}

SlReportDialog *
sl_report_dialog_show (GtkWidget *parent, SlSession *session, gint64 run_id, SlSplit split)
{
  SlReportDialog *self = g_object_new (SL_TYPE_REPORT_DIALOG, NULL);
  GtkRoot *root = parent != NULL ? gtk_widget_get_root (parent) : NULL;
  g_autofree char *path = default_path (session, run_id);

  self->session = g_object_ref (session);
  self->run_id = run_id;
  self->split = split;
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (self), GTK_WINDOW (root));
  build (self);
  set_path (self, path);
  gtk_window_present (GTK_WINDOW (self));
  return self;
}

const char *
sl_report_dialog_get_path (SlReportDialog *self)
{
  g_return_val_if_fail (SL_IS_REPORT_DIALOG (self), NULL);
  return self->path;
}

gboolean
sl_report_dialog_is_writing (SlReportDialog *self)
{
  g_return_val_if_fail (SL_IS_REPORT_DIALOG (self), FALSE);
  return self->job != NULL;
}

int
sl_report_dialog_get_pages (SlReportDialog *self)
{
  g_return_val_if_fail (SL_IS_REPORT_DIALOG (self), 0);
  return self->pages;
}

const char *
sl_report_dialog_get_error (SlReportDialog *self)
{
  g_return_val_if_fail (SL_IS_REPORT_DIALOG (self), NULL);
  return self->error;
}

GtkEditable *
sl_report_dialog_get_signer_entry (SlReportDialog *self)
{
  g_return_val_if_fail (SL_IS_REPORT_DIALOG (self), NULL);
  return GTK_EDITABLE (self->signer_entry);
}

/* ---- The pages' Report… button -------------------------------------------------------------- */

static void
update_report_button (GtkWidget *button)
{
  SlRunChooser *runs = g_object_get_data (G_OBJECT (button), "sl-runs");
  gboolean has_run = sl_run_chooser_get_run_id (runs) >= 0;

  gtk_widget_set_sensitive (button, has_run);
  gtk_widget_set_tooltip_text (button, has_run ? "Write a PDF qualification report of this run "
                                                 "for sign-off"
                                               : "Train a model first: the report describes a "
                                                 "trained run");
}

static void
on_report_clicked (GtkWidget *button, SlSession *session)
{
  SlRunChooser *runs = g_object_get_data (G_OBJECT (button), "sl-runs");
  GtkDropDown *split = g_object_get_data (G_OBJECT (button), "sl-split");
  gint64 run_id = sl_run_chooser_get_run_id (runs);

  if (run_id < 0)
    return;
  sl_report_dialog_show (button, session, run_id,
                         split != NULL && gtk_drop_down_get_selected (split) == 1 ? SL_SPLIT_VAL
                                                                                  : SL_SPLIT_TEST);
}

GtkWidget *
sl_report_button_new (SlSession *session, SlRunChooser *runs, GtkDropDown *split)
{
  GtkWidget *button = gtk_button_new_with_mnemonic ("_Report…");

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_object_set_data (G_OBJECT (button), "sl-runs", runs); /* both outlive the button */
  g_object_set_data (G_OBJECT (button), "sl-split", split);
  g_signal_connect_data (button, "clicked", G_CALLBACK (on_report_clicked), g_object_ref (session),
                         (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  g_signal_connect_object (runs, "notify::run-id", G_CALLBACK (update_report_button), button,
                           G_CONNECT_SWAPPED);
  update_report_button (button);
  return button;
}
