/* sl-import-dialog.c: imports folders or files into the project on a worker thread, with progress, cancel and a summary. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-import-dialog.h"

#include "sl-anomaly.h"

#include <string.h>

/* The progress bar is refreshed this often, however fast files go by. */
#define PROGRESS_INTERVAL_MS 100
/* Skipped files listed in the summary; the counts cover the rest. */
#define MAX_ISSUE_ROWS 500

/* What the worker thread and the main thread share while importing. */
typedef struct
{
  char *project_path;
  char **paths;
  gsize n_paths;
  SlImportFlags flags;
  char *class_name; /* NULL, or the label every image gets */
  GMutex lock;
  gint64 done, total; /* under lock */
  char *current;      /* under lock */
  SlImportResult result;
} Job;

struct _SlImportDialog
{
  GtkWindow parent_instance;
  SlSession *session;
  GPtrArray *sources; /* GFile */
  char *class_name;   /* NULL, or the label every image gets (sl_import_dialog_set_class) */
  SlImportState state;
  GCancellable *cancellable;
  Job *job;
  GError *error;
  guint progress_timer;

  GtkStack *stack;
  GtkWidget *import_button;
  GtkWidget *cancel_button;
  GtkWidget *done_button;
  GtkLabel *source_title;
  GtkLabel *source_detail;
  GtkCheckButton *labels_check;
  GtkWidget *labels_hint;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_count;
  GtkLabel *progress_file;
  GtkLabel *summary_title;
  GtkLabel *summary_detail;
  GtkGrid *counts_grid;
  GtkWidget *issues_heading;
  GtkWidget *issues_scroller;
  GtkListBox *issues_list;
};

G_DEFINE_FINAL_TYPE (SlImportDialog, sl_import_dialog, GTK_TYPE_WINDOW)

enum
{
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
job_free (Job *job)
{
  g_free (job->project_path);
  g_free (job->class_name);
  g_strfreev (job->paths);
  g_free (job->current);
  g_mutex_clear (&job->lock);
  sl_import_result_clear (&job->result);
  g_free (job);
}

static void
set_state (SlImportDialog *self, SlImportState state)
{
  self->state = state;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "import.start", state == SL_IMPORT_STATE_READY);
  gtk_widget_set_visible (self->import_button, state < SL_IMPORT_STATE_DONE);
  gtk_widget_set_visible (self->cancel_button, state < SL_IMPORT_STATE_DONE);
  gtk_widget_set_visible (self->done_button, state == SL_IMPORT_STATE_DONE);
  gtk_stack_set_visible_child_name (self->stack, state == SL_IMPORT_STATE_RUNNING ? "progress"
                                                 : state == SL_IMPORT_STATE_DONE  ? "summary"
                                                                                  : "options");
  if (state == SL_IMPORT_STATE_DONE)
    gtk_window_set_default_widget (GTK_WINDOW (self), self->done_button);
  else if (state == SL_IMPORT_STATE_READY)
    gtk_window_set_default_widget (GTK_WINDOW (self), self->import_button);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* ---- Looking at the sources (a folder listing is disk work: off the main loop) ------- */

typedef struct
{
  gint64 files, folders;
  gboolean has_subfolders;
} Probe;

static void
count_below (const char *dir, int level, Probe *probe)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);

      if (name[0] == '.')
        continue;
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            continue;
          if (level == 0)
            {
              probe->has_subfolders = TRUE;
              probe->folders++;
            }
          count_below (child, level + 1, probe);
        }
      else
        probe->files++;
    }
}

static void
probe_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  char **paths = data;
  Probe *probe = g_new0 (Probe, 1);

  for (char **p = paths; *p != NULL; p++)
    if (g_file_test (*p, G_FILE_TEST_IS_DIR))
      count_below (*p, 0, probe);
    else
      probe->files++;
  g_task_return_pointer (task, probe, g_free);
}

static void
probe_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlImportDialog *self = SL_IMPORT_DIALOG (source);
  g_autofree Probe *probe = g_task_propagate_pointer (G_TASK (result), NULL);
  g_autofree char *detail = NULL;

  if (probe == NULL || self->state != SL_IMPORT_STATE_PROBING)
    return;
  if (probe->folders > 0)
    detail = g_strdup_printf ("%'" G_GINT64_FORMAT " file%s in %'" G_GINT64_FORMAT " sub-folder%s",
                              probe->files, probe->files == 1 ? "" : "s", probe->folders,
                              probe->folders == 1 ? "" : "s");
  else
    detail = g_strdup_printf ("%'" G_GINT64_FORMAT " file%s", probe->files,
                              probe->files == 1 ? "" : "s");
  if (self->class_name != NULL)
    {
      /* Every image gets the one label: sub-folder names do not matter. */
      g_autofree char *as
          = g_strdup_printf ("%s, every image labelled “%s”", detail, self->class_name);
      g_free (detail);
      detail = g_steal_pointer (&as);
    }
  gtk_label_set_text (self->source_detail, detail);
  gtk_widget_set_visible (GTK_WIDGET (self->labels_check),
                          probe->has_subfolders && self->class_name == NULL);
  gtk_widget_set_visible (self->labels_hint, probe->has_subfolders && self->class_name == NULL);
  gtk_check_button_set_active (self->labels_check,
                               probe->has_subfolders && self->class_name == NULL);
  set_state (self, SL_IMPORT_STATE_READY);
}

static char **
source_paths (SlImportDialog *self)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **paths;

  for (guint i = 0; i < self->sources->len; i++)
    {
      g_autofree char *path = g_file_get_path (g_ptr_array_index (self->sources, i));

      if (path != NULL)
        g_strv_builder_add (builder, path);
    }
  paths = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return paths;
}

static void
show_sources (SlImportDialog *self)
{
  g_autoptr (GTask) task = NULL;
  char **paths = source_paths (self);
  guint n = g_strv_length (paths);

  if (n == 1)
    {
      g_autofree char *base = g_path_get_basename (paths[0]);
      g_autofree char *display = g_filename_display_name (base);
      g_autofree char *full = g_filename_display_name (paths[0]);

      gtk_label_set_text (self->source_title, display);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->source_title), full);
    }
  else
    {
      g_autofree char *title = g_strdup_printf ("%u dropped items", n);
      gtk_label_set_text (self->source_title, title);
    }
  gtk_label_set_text (self->source_detail, "Counting files…");
  task = g_task_new (self, self->cancellable, probe_done, NULL);
  g_task_set_source_tag (task, show_sources);
  g_task_set_task_data (task, paths, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, probe_thread);
}

/* ---- Importing ------------------------------------------------------------------------ */

static void
on_progress (const SlImportProgress *p, gpointer data) /* worker thread */
{
  Job *job = data;

  g_mutex_lock (&job->lock);
  job->done = p->done;
  job->total = p->total;
  g_free (job->current);
  job->current = g_filename_display_name (p->current);
  g_mutex_unlock (&job->lock);
}

static void
import_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  /* The import runs transactions: it needs its own connection. */
  g_autoptr (SlProject) db = sl_project_open_worker (job->project_path, &error);
  gboolean ok;

  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (job->class_name != NULL)
    ok = sl_project_import_files_as (db, (const char *const *) job->paths, job->n_paths,
                                     job->class_name, 0, on_progress, job, cancellable,
                                     &job->result, &error);
  else if (job->n_paths == 1 && g_file_test (job->paths[0], G_FILE_TEST_IS_DIR))
    ok = sl_project_import_folder (db, job->paths[0], job->flags, 0, on_progress, job, cancellable,
                                   &job->result, &error);
  else
    ok = sl_project_import_files (db, (const char *const *) job->paths, job->n_paths, job->flags, 0,
                                  on_progress, job, cancellable, &job->result, &error);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
update_progress (gpointer data)
{
  SlImportDialog *self = data;
  Job *job = self->job;
  g_autofree char *count = NULL, *current = NULL;
  gint64 done, total;

  g_mutex_lock (&job->lock);
  done = job->done;
  total = job->total;
  current = g_strdup (job->current);
  g_mutex_unlock (&job->lock);
  if (total > 0)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, (double) done / total);
      count = g_strdup_printf ("%'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT " files", done, total);
    }
  else
    {
      gtk_progress_bar_pulse (self->progress_bar);
      count = g_strdup ("Looking for images…");
    }
  gtk_label_set_text (self->progress_count, count);
  gtk_label_set_text (self->progress_file, current != NULL ? current : "");
  return G_SOURCE_CONTINUE;
}

static void
add_count_row (SlImportDialog *self, int row, const char *what, gint64 n, const char *css)
{
  g_autofree char *text = g_strdup_printf ("%'" G_GINT64_FORMAT, n);
  GtkWidget *label = gtk_label_new (what);
  GtkWidget *value = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_xalign (GTK_LABEL (value), 1);
  gtk_widget_add_css_class (value, "numeric");
  if (css != NULL && n > 0)
    gtk_widget_add_css_class (value, css);
  gtk_grid_attach (self->counts_grid, label, 0, row, 1, 1);
  gtk_grid_attach (self->counts_grid, value, 1, row, 1, 1);
}

static GtkWidget *
make_issue_row (const SlImportIssue *issue)
{
  static const char *const icons[] = { "emblem-ok-symbolic", "edit-copy-symbolic",
                                       "dialog-warning-symbolic", "text-x-generic-symbolic" };
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *image = gtk_image_new_from_icon_name (icons[CLAMP (issue->outcome, 0, 3)]);
  GtkWidget *path = gtk_label_new (issue->path);
  const char *why = issue->reason != NULL ? issue->reason : "";
  GtkWidget *reason;

  /* Decoders name the file in their message; the row shows it already. */
  if (g_str_has_prefix (why, issue->path) && g_str_has_prefix (why + strlen (issue->path), ": "))
    why += strlen (issue->path) + 2;
  reason = gtk_label_new (NULL);
  {
    g_autofree char *sentence = g_strdup (why);

    sentence[0] = g_ascii_toupper (sentence[0]);
    gtk_label_set_text (GTK_LABEL (reason), sentence);
  }
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_valign (image, GTK_ALIGN_START);
  if (issue->outcome == SL_IMPORT_UNREADABLE)
    gtk_widget_add_css_class (image, "warning");
  else
    gtk_widget_add_css_class (image, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (path), 0);
  gtk_label_set_ellipsize (GTK_LABEL (path), PANGO_ELLIPSIZE_START);
  gtk_widget_set_tooltip_text (path, issue->path);
  gtk_label_set_xalign (GTK_LABEL (reason), 0);
  gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (reason), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (reason, "dim-label");
  gtk_widget_add_css_class (reason, "caption");
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (text), path);
  gtk_box_append (GTK_BOX (text), reason);
  gtk_box_append (GTK_BOX (box), image);
  gtk_box_append (GTK_BOX (box), text);
  return box;
}

/* Unreadable files first (they need attention), then duplicates and others. */
static void
show_issues (SlImportDialog *self, const SlImportResult *r)
{
  /* -1: duplicates in another class folder (label conflicts), right after the unreadable. */
  static const int order[] = { SL_IMPORT_UNREADABLE, -1, SL_IMPORT_NOT_IMAGE, SL_IMPORT_DUPLICATE };
  guint shown = 0, total = r->issues != NULL ? r->issues->len : 0;

  for (gsize k = 0; k < G_N_ELEMENTS (order); k++)
    for (guint i = 0; i < total && shown < MAX_ISSUE_ROWS; i++)
      {
        const SlImportIssue *issue = g_ptr_array_index (r->issues, i);
        gboolean conflict = sl_import_issue_is_conflict (issue);

        if (order[k] == -1 ? !conflict : (conflict || (int) issue->outcome != order[k]))
          continue;
        gtk_list_box_append (self->issues_list, make_issue_row (issue));
        shown++;
      }
  if (total > shown)
    {
      g_autofree char *more = g_strdup_printf ("and %u more", total - shown);
      GtkWidget *label = gtk_label_new (more);

      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_set_margin_top (label, 6);
      gtk_widget_set_margin_bottom (label, 6);
      gtk_list_box_append (self->issues_list, label);
    }
  gtk_widget_set_visible (self->issues_heading, total > 0);
  gtk_widget_set_visible (self->issues_scroller, total > 0);
}

static void
show_summary (SlImportDialog *self)
{
  const SlImportResult *r = &self->job->result;
  g_autofree char *title = NULL, *detail = NULL;
  gboolean cancelled = g_error_matches (self->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  if (self->error != NULL && !cancelled)
    title = g_strdup ("The import stopped");
  else if (cancelled)
    title = g_strdup_printf ("Import cancelled: %'" G_GINT64_FORMAT " image%s kept", r->added,
                             r->added == 1 ? "" : "s");
  else
    title = g_strdup_printf ("Imported %'" G_GINT64_FORMAT " image%s", r->added,
                             r->added == 1 ? "" : "s");
  gtk_label_set_text (self->summary_title, title);
  if (self->error != NULL && !cancelled)
    detail = g_strdup_printf ("%s. The images imported before it stopped are kept.",
                              self->error->message);
  else if (r->seconds >= 1)
    detail = g_strdup_printf ("%'" G_GINT64_FORMAT " file%s looked at in %.0f s.", r->files,
                              r->files == 1 ? "" : "s", r->seconds);
  else
    detail = g_strdup_printf ("%'" G_GINT64_FORMAT " file%s looked at.", r->files,
                              r->files == 1 ? "" : "s");
  gtk_label_set_text (self->summary_detail, detail);
  add_count_row (self, 0, "Imported", r->added, "success");
  add_count_row (self, 1, "Duplicates (already in the project)", r->duplicates, NULL);
  add_count_row (self, 2, "Unreadable", r->unreadable, "warning");
  add_count_row (self, 3, "Not images", r->not_images, NULL);
  add_count_row (self, 4, "New classes", r->classes_created, NULL);
  if (r->conflicts > 0)
    add_count_row (self, 5,
                   "In two class folders (keep their first label; Resolve… in Data Health)",
                   r->conflicts, "warning");
  show_issues (self, r);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlImportDialog *self = SL_IMPORT_DIALOG (source);
  const SlImportResult *r = &self->job->result;

  g_task_propagate_boolean (G_TASK (result), &self->error);
  g_clear_handle_id (&self->progress_timer, g_source_remove);
  /* Whatever happened, what was imported is in the project now. */
  if (r->classes_created > 0)
    sl_session_notify_classes_changed (self->session);
  if (r->added > 0)
    sl_session_notify_images_changed (self->session);
  show_summary (self);
  set_state (self, SL_IMPORT_STATE_DONE);
}

void
sl_import_dialog_start (SlImportDialog *self)
{
  g_autoptr (GTask) task = NULL;
  Job *job;

  g_return_if_fail (SL_IS_IMPORT_DIALOG (self));
  if (self->state != SL_IMPORT_STATE_READY)
    return;
  job = g_new0 (Job, 1);
  g_mutex_init (&job->lock);
  job->project_path = g_strdup (sl_session_get_path (self->session));
  job->paths = source_paths (self);
  job->n_paths = g_strv_length (job->paths);
  job->class_name = g_strdup (self->class_name);
  job->flags = gtk_check_button_get_active (self->labels_check)
                       && gtk_widget_get_visible (GTK_WIDGET (self->labels_check))
                   ? SL_IMPORT_LABELS_FROM_FOLDERS
                   : SL_IMPORT_FLAGS_NONE;
  self->job = job;
  set_state (self, SL_IMPORT_STATE_RUNNING);
  update_progress (self);
  self->progress_timer = g_timeout_add (PROGRESS_INTERVAL_MS, update_progress, self);
  task = g_task_new (self, self->cancellable, import_done, NULL);
  g_task_set_source_tag (task, sl_import_dialog_start);
  /* The dialog owns the job (its result outlives the task); the task holds the dialog. */
  g_task_set_task_data (task, job, NULL);
  g_task_run_in_thread (task, import_thread);
}

void
sl_import_dialog_cancel (SlImportDialog *self)
{
  g_return_if_fail (SL_IS_IMPORT_DIALOG (self));
  if (self->state == SL_IMPORT_STATE_RUNNING)
    {
      /* Images already imported stay; the summary says how many. */
      g_cancellable_cancel (self->cancellable);
      gtk_widget_set_sensitive (self->cancel_button, FALSE);
      gtk_label_set_text (self->progress_file, "Stopping after the current file…");
    }
  else
    gtk_window_close (GTK_WINDOW (self));
}

static void
start_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  sl_import_dialog_start (SL_IMPORT_DIALOG (widget));
}

static void
cancel_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  sl_import_dialog_cancel (SL_IMPORT_DIALOG (widget));
}

/* Closing the window while importing cancels; the import still reports to the session. */
static gboolean
sl_import_dialog_close_request (GtkWindow *window)
{
  SlImportDialog *self = SL_IMPORT_DIALOG (window);

  if (self->state == SL_IMPORT_STATE_RUNNING)
    sl_import_dialog_cancel (self);
  else if (self->state == SL_IMPORT_STATE_PROBING)
    g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (sl_import_dialog_parent_class)->close_request (window);
}

/* ---- Object ---------------------------------------------------------------------------- */

SlImportState
sl_import_dialog_get_state (SlImportDialog *self)
{
  return self->state;
}

gboolean
sl_import_dialog_get_labels_from_folders (SlImportDialog *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->labels_check))
         && gtk_check_button_get_active (self->labels_check);
}

void
sl_import_dialog_set_labels_from_folders (SlImportDialog *self, gboolean labels)
{
  gtk_check_button_set_active (self->labels_check, labels);
}

void
sl_import_dialog_set_class (SlImportDialog *self, const char *class_name)
{
  g_return_if_fail (SL_IS_IMPORT_DIALOG (self));
  g_return_if_fail (self->state == SL_IMPORT_STATE_PROBING);

  g_free (self->class_name);
  self->class_name = g_strdup (class_name);
  gtk_window_set_title (GTK_WINDOW (self), class_name == NULL ? "Import Images"
                                           : g_str_equal (class_name, SL_ANOMALY_GOOD_CLASS)
                                               ? "Import Good Parts"
                                               : "Import Defect Images");
}

const char *
sl_import_dialog_get_class (SlImportDialog *self)
{
  g_return_val_if_fail (SL_IS_IMPORT_DIALOG (self), NULL);
  return self->class_name;
}

const SlImportResult *
sl_import_dialog_get_result (SlImportDialog *self)
{
  return self->state == SL_IMPORT_STATE_DONE ? &self->job->result : NULL;
}

const GError *
sl_import_dialog_get_error (SlImportDialog *self)
{
  return self->error;
}

static void
sl_import_dialog_dispose (GObject *object)
{
  SlImportDialog *self = SL_IMPORT_DIALOG (object);

  g_clear_handle_id (&self->progress_timer, g_source_remove);
  /* The window tracks its child itself: let it go before the template does. */
  gtk_window_set_child (GTK_WINDOW (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_IMPORT_DIALOG);
  G_OBJECT_CLASS (sl_import_dialog_parent_class)->dispose (object);
}

static void
sl_import_dialog_finalize (GObject *object)
{
  SlImportDialog *self = SL_IMPORT_DIALOG (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_free (self->class_name);
  g_clear_pointer (&self->job, job_free);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (sl_import_dialog_parent_class)->finalize (object);
}

static void
sl_import_dialog_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_STATE: g_value_set_int (value, SL_IMPORT_DIALOG (object)->state); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_import_dialog_class_init (SlImportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_import_dialog_dispose;
  object_class->finalize = sl_import_dialog_finalize;
  object_class->get_property = sl_import_dialog_get_property;
  GTK_WINDOW_CLASS (klass)->close_request = sl_import_dialog_close_request;

  properties[PROP_STATE]
      = g_param_spec_int ("state", NULL, NULL, SL_IMPORT_STATE_PROBING, SL_IMPORT_STATE_DONE,
                          SL_IMPORT_STATE_PROBING, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-import-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, import_button);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, done_button);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, source_title);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, source_detail);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, labels_check);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, labels_hint);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, progress_count);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, progress_file);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, summary_title);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, summary_detail);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, counts_grid);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, issues_heading);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, issues_scroller);
  gtk_widget_class_bind_template_child (widget_class, SlImportDialog, issues_list);

  gtk_widget_class_install_action (widget_class, "import.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "import.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "import.cancel", NULL);
}

static void
sl_import_dialog_init (SlImportDialog *self)
{
  self->cancellable = g_cancellable_new ();
  self->sources = g_ptr_array_new_with_free_func (g_object_unref);
  gtk_widget_init_template (GTK_WIDGET (self));
}

SlImportDialog *
sl_import_dialog_new (GtkWidget *parent, SlSession *session, GFile **sources, guint n_sources)
{
  SlImportDialog *self;
  GtkRoot *root = parent != NULL ? gtk_widget_get_root (parent) : NULL;

  g_return_val_if_fail (SL_IS_SESSION (session), NULL);
  g_return_val_if_fail (n_sources > 0, NULL);
  self = g_object_new (SL_TYPE_IMPORT_DIALOG, NULL);
  self->session = g_object_ref (session);
  for (guint i = 0; i < n_sources; i++)
    g_ptr_array_add (self->sources, g_object_ref (sources[i]));
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (self), GTK_WINDOW (root));
  set_state (self, SL_IMPORT_STATE_PROBING);
  show_sources (self);
  return self;
}
