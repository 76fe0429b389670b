/* sl-window.c: the main window: a welcome view, or one open project with its pages. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-window.h"
#include "sl-dataset-page.h"
#include "sl-evaluate-page.h"
#include "sl-export-page.h"
#include "sl-message-dialog.h"
#include "sl-preprocess-page.h"
#include "sl-train-page.h"
#include "sl-runner.h"
#include "sl-project.h"
#include "sl-recent-projects.h"
#include "sl-settings.h"
#include "sl-session.h"
#include "sl-toast.h"
#include "sl-welcome-view.h"

#include <string.h>

struct _SlWindow
{
  GtkApplicationWindow parent_instance;

  GtkWidget *page_switcher;
  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  GtkWidget *undo_box;
  SlToast *toast;
  GtkStack *main_stack;
  SlWelcomeView *welcome_view;
  GtkLabel *progress_title;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_detail;
  GtkWidget *progress_cancel;
  GtkStack *page_stack;
  GtkWidget *read_only_banner;
  GtkLabel *read_only_label;

  GSettings *settings;
  SlSession *session;
  GCancellable *progress_cancellable;
  gboolean in_progress;
  gboolean closing;       /* stopping training to close */
  gboolean welcome_after; /* Close Project: a welcome window follows this one */
};

G_DEFINE_FINAL_TYPE (SlWindow, sl_window, GTK_TYPE_APPLICATION_WINDOW)

/* "~/Projects/x" for a path in the home folder. */
static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);

  if (n > 1 && g_str_has_prefix (path, home) && path[n] == G_DIR_SEPARATOR)
    return g_strconcat ("~", path + n, NULL);
  return g_strdup (path);
}

/* The one place that decides which window actions can run. */
static void
update_actions (SlWindow *self)
{
  gboolean editable = self->session != NULL && !self->in_progress;
  gboolean cancellable = self->in_progress && self->progress_cancellable != NULL
                         && !g_cancellable_is_cancelled (self->progress_cancellable);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo",
                                 editable && sl_session_can_undo (self->session));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo",
                                 editable && sl_session_can_redo (self->session));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.show-page", editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-progress", cancellable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.close-project",
                                 self->session != NULL && !self->in_progress);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.rebuild-index",
                                 editable && !sl_session_is_read_only (self->session));
}

static void
update_title (SlWindow *self)
{
  if (self->session == NULL)
    {
      gtk_label_set_text (self->title_label, "Sightline");
      gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), FALSE);
      gtk_window_set_title (GTK_WINDOW (self), "Sightline");
    }
  else
    {
      const char *name = sl_session_get_name (self->session);
      g_autofree char *path = display_path (sl_session_get_path (self->session));
      g_autofree char *title = g_strdup_printf ("%s — Sightline", name);

      gtk_label_set_text (self->title_label, name);
      gtk_label_set_text (self->subtitle_label, path);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->subtitle_label),
                                   sl_session_get_path (self->session));
      gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), TRUE);
      gtk_window_set_title (GTK_WINDOW (self), title);
    }
}

static void
undo_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);
  g_autoptr (GError) error = NULL;

  if (!sl_session_undo (self->session, &error))
    sl_window_show_error (self, "Could not undo", error);
}

static void
redo_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);
  g_autoptr (GError) error = NULL;

  if (!sl_session_redo (self->session, &error))
    sl_window_show_error (self, "Could not redo", error);
}

static void
show_page_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);
  const char *name = g_variant_get_string (param, NULL);

  if (gtk_stack_get_child_by_name (self->page_stack, name) != NULL)
    gtk_stack_set_visible_child_name (self->page_stack, name);
}

/* win.show-error (ss): a title and what went wrong ("" when nothing more is known). Pages show
 * their errors through it, so none of them needs to know the window. */
static void
show_error_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);
  const char *title, *message;

  g_variant_get (param, "(&s&s)", &title, &message);
  sl_toast_show (self->toast, title, *message != '\0' ? message : NULL);
}

/* win.toast (s): a short note, such as "Path copied". */
static void
toast_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);

  sl_toast_show (self->toast, g_variant_get_string (param, NULL), NULL);
}

static void
cancel_progress_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);

  g_cancellable_cancel (self->progress_cancellable);
  gtk_label_set_text (self->progress_detail, "Cancelling…");
  update_actions (self);
}

/* The pages in workflow order; the preprocess preview follows the dataset's selection. */
static void
add_pages (SlWindow *self)
{
  GtkWidget *dataset = g_object_new (SL_TYPE_DATASET_PAGE, "session", self->session, NULL);
  GtkWidget *preprocess = g_object_new (SL_TYPE_PREPROCESS_PAGE, "session", self->session, NULL);

  gtk_stack_add_titled (self->page_stack, dataset, "dataset", "Dataset");
  gtk_stack_add_titled (self->page_stack, preprocess, "preprocess", "Preprocess");
  gtk_stack_add_titled (self->page_stack, sl_train_page_new (self->session), "train", "Train");
  gtk_stack_add_titled (self->page_stack, sl_evaluate_page_new (self->session), "evaluate",
                        "Evaluate");
  gtk_stack_add_titled (self->page_stack, sl_export_page_new (self->session), "export", "Export");
  g_object_bind_property (dataset, "selected-image", preprocess, "preview-image",
                          G_BINDING_SYNC_CREATE);
}

/* ---- Closing while training ---------------------------------------------------------- */

/* Close Project: the project's window goes (asking first while it trains) and a welcome
 * window takes its place, at its size. */
static void
open_welcome_after (SlWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  SlWindow *welcome;

  if (!self->welcome_after || app == NULL)
    return;
  self->welcome_after = FALSE;
  welcome = sl_window_new (app);
  gtk_window_present (GTK_WINDOW (welcome));
}

static void rebuild_index_action (GtkWidget *widget, const char *action_name, GVariant *param);

static void
close_project_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);

  self->welcome_after = TRUE;
  gtk_window_close (GTK_WINDOW (self));
}

static void
close_after_training (SlWindow *self)
{
  if (!sl_session_is_training (self->session))
    {
      open_welcome_after (self);
      gtk_window_destroy (GTK_WINDOW (self));
    }
}

static void
stop_and_close (GtkWindow *dialog, gpointer data)
{
  SlWindow *self = data;
  SlRunner *trainer = sl_session_get_runner (self->session);

  /* The last finished epoch is stored; the window goes when the thread is done. */
  self->closing = TRUE;
  g_signal_connect_object (trainer, "notify::running", G_CALLBACK (close_after_training), self,
                           G_CONNECT_SWAPPED);
  sl_runner_stop (trainer);
  sl_window_begin_progress (self, "Stopping training…", NULL);
  sl_window_set_progress (self, -1, "The last finished epoch is kept; resume the run later.");
}

static void
keep_training (GtkWindow *dialog, gpointer data)
{
  SL_WINDOW (data)->welcome_after = FALSE;
}

/* TRUE when the window may close now; otherwise asks whether to stop training. */
static gboolean
confirm_close (SlWindow *self)
{
  SlRunner *trainer;
  const SlTrainProgress *p;
  g_autofree char *body = NULL;
  GtkWindow *dialog;

  if (self->session == NULL || !sl_session_is_training (self->session))
    return TRUE;
  if (self->closing)
    return FALSE;
  trainer = sl_session_get_runner (self->session);
  p = sl_runner_get_progress (trainer);
  body = p != NULL ? g_strdup_printf ("Training is at epoch %d of %d. Epochs already finished are "
                                      "kept, and the run can be resumed later from the Train page.",
                                      p->epoch + 1, p->epochs)
                   : g_strdup ("Training is starting. The run can be resumed later from the Train "
                               "page.");
  dialog = sl_message_dialog_new (GTK_WIDGET (self), "Stop Training and Close?", body);
  sl_message_dialog_set_default (
      dialog,
      sl_message_dialog_add_button (dialog, "_Keep Training", NULL, keep_training, self, NULL));
  sl_message_dialog_add_button (dialog, "_Stop and Close", "destructive-action", stop_and_close,
                                self, NULL);
  gtk_window_present (dialog);
  return FALSE;
}

static gboolean
sl_window_close_request (GtkWindow *window)
{
  SlWindow *self = SL_WINDOW (window);
  gboolean maximized = gtk_window_is_maximized (window);
  int width, height;

  if (!confirm_close (self))
    return TRUE; /* handled: the window stays for now */

  /* The unmaximized size, so that unmaximizing after a restart gives it back. */
  gtk_window_get_default_size (window, &width, &height);
  if (!maximized && width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_set_boolean (self->settings, "window-maximized", maximized);
  open_welcome_after (self);
  g_cancellable_cancel (self->progress_cancellable);
  return GTK_WINDOW_CLASS (sl_window_parent_class)->close_request (window);
}

static void
sl_window_dispose (GObject *object)
{
  SlWindow *self = SL_WINDOW (object);

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  g_cancellable_cancel (self->progress_cancellable);
  g_clear_object (&self->progress_cancellable);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_WINDOW);
  G_OBJECT_CLASS (sl_window_parent_class)->dispose (object);
}

static void
sl_window_class_init (SlWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = sl_window_close_request;

  g_type_ensure (SL_TYPE_TOAST);
  g_type_ensure (SL_TYPE_WELCOME_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SlWindow, page_switcher);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, undo_box);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, toast);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, welcome_view);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, progress_title);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, progress_detail);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, progress_cancel);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, page_stack);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, read_only_banner);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, read_only_label);

  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
  gtk_widget_class_install_action (widget_class, "win.close-project", NULL, close_project_action);
  gtk_widget_class_install_action (widget_class, "win.rebuild-index", "s", rebuild_index_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-progress", NULL,
                                   cancel_progress_action);
  gtk_widget_class_install_action (widget_class, "win.show-error", "(ss)", show_error_action);
  gtk_widget_class_install_action (widget_class, "win.toast", "s", toast_action);

  /* Bindings, not application accels: a text field with focus gets Ctrl+Z first. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-page", "s",
                                       "dataset");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-page", "s",
                                       "preprocess");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_ALT_MASK, "win.show-page", "s",
                                       "train");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_4, GDK_ALT_MASK, "win.show-page", "s",
                                       "evaluate");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_5, GDK_ALT_MASK, "win.show-page", "s",
                                       "export");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close",
                                       NULL);
}

static void
sl_window_init (SlWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (SL_APP_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  update_actions (self);
}

SlWindow *
sl_window_new (GtkApplication *application)
{
  return g_object_new (SL_TYPE_WINDOW, "application", application, NULL);
}

void
sl_window_set_session (SlWindow *self, SlSession *session)
{
  g_return_if_fail (SL_IS_WINDOW (self));
  g_return_if_fail (SL_IS_SESSION (session));
  g_return_if_fail (self->session == NULL);

  self->session = g_object_ref (session);
  g_signal_connect_swapped (session, "notify::can-undo", G_CALLBACK (update_actions), self);
  g_signal_connect_swapped (session, "notify::can-redo", G_CALLBACK (update_actions), self);
  add_pages (self);
  sl_recent_projects_add (self->settings, sl_session_get_path (session));
  gtk_widget_set_visible (self->page_switcher, TRUE);
  gtk_widget_set_visible (self->undo_box, TRUE);
  if (!self->in_progress)
    gtk_stack_set_visible_child_name (self->main_stack, "project");
  update_title (self);
  update_actions (self);
  if (sl_session_is_read_only (session))
    {
      /* The reason is plain text with paths in it: escaped, under a bold heading. */
      g_autofree char *text = g_markup_printf_escaped (
          "<b>Read-only project.</b> %s",
          sl_project_get_read_only_reason (sl_session_get_project (session)));

      gtk_label_set_markup (self->read_only_label, text);
    }
  gtk_widget_set_visible (self->read_only_banner, sl_session_is_read_only (session));
}

gboolean
sl_window_open_project (SlWindow *self, const char *path)
{
  g_autoptr (SlSession) session = NULL;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (SL_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (self->session == NULL, FALSE);

  /* Opening reads one small database: quick enough for the main loop. */
  if ((session = sl_session_open (path, &error)) == NULL)
    {
      sl_window_show_open_error (self, path, error);
      return FALSE;
    }
  sl_window_set_session (self, session);
  return TRUE;
}

SlSession *
sl_window_get_session (SlWindow *self)
{
  g_return_val_if_fail (SL_IS_WINDOW (self), NULL);
  return self->session;
}

/* ---- A damaged project: say what is wrong and offer to rebuild its index ---- */

static void
repair_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SlRepairResult *r = g_new0 (SlRepairResult, 1);
  GError *error = NULL;

  if (sl_project_repair (data, r, &error))
    g_task_return_pointer (task, r, NULL);
  else
    {
      sl_repair_result_clear (r);
      g_free (r);
      g_task_return_error (task, error);
    }
}

static void
repair_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlWindow *self = SL_WINDOW (source);
  const char *path = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  SlRepairResult *r = g_task_propagate_pointer (G_TASK (result), &error);
  g_autofree char *kept = NULL, *detail = NULL;

  sl_window_end_progress (self);
  if (r == NULL)
    {
      sl_toast_show (self->toast, "Could not repair the project", error->message);
      return;
    }
  kept = g_path_get_basename (r->kept_path);
  detail = g_strdup_printf ("%" G_GINT64_FORMAT " images indexed (%" G_GINT64_FORMAT
                            " with their labels), %" G_GINT64_FORMAT " runs. The damaged file "
                            "is kept as %s.%s",
                            r->images, r->images_labels, r->runs, kept,
                            r->notes->len > 0 ? " Some data could not be recovered." : "");
  if (self->session == NULL)
    sl_window_open_project (self, path);
  sl_toast_show (self->toast, "Project index rebuilt", detail);
  sl_repair_result_clear (r);
  g_free (r);
}

static void
start_repair (GtkWindow *dialog, gpointer data)
{
  SlWindow *self = SL_WINDOW (gtk_window_get_transient_for (dialog));
  g_autoptr (GTask) task = NULL;

  if (self->session != NULL)
    {
      /* Damage found while the project is open (Data Health): its window
       * closes, releasing the database, and a fresh window rebuilds the index
       * and opens the project again. */
      GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
      SlWindow *fresh;
      int width, height;

      if (sl_session_is_training (self->session))
        {
          sl_toast_show (self->toast, "Training is running",
                         "Stop the run on the Train page, then rebuild the index.");
          return;
        }
      gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
      fresh = sl_window_new (app);
      if (width > 0 && height > 0)
        gtk_window_set_default_size (GTK_WINDOW (fresh), width, height);
      gtk_window_present (GTK_WINDOW (fresh));
      gtk_window_destroy (GTK_WINDOW (self));
      self = fresh;
    }
  task = g_task_new (self, NULL, repair_done, NULL);
  g_task_set_task_data (task, g_strdup (data), g_free);
  sl_window_begin_progress (self, "Rebuilding the project's index", NULL);
  sl_window_set_progress (self, -1, "Reading every stored image");
  g_task_run_in_thread (task, repair_thread);
}

/* The one offer to rebuild a damaged project's index, on opening it and from Data Health. */
static void
show_damaged_dialog (SlWindow *self, const char *path, const char *message)
{
  GtkWindow *dialog = sl_message_dialog_new (GTK_WIDGET (self), "This project is damaged", message);
  GtkWidget *repair;

  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  repair = sl_message_dialog_add_button (dialog, "_Rebuild Index", "suggested-action", start_repair,
                                         g_strdup (path), g_free);
  sl_message_dialog_set_default (dialog, repair);
  gtk_window_present (dialog);
}

/* win.rebuild-index (s: what is damaged): the damaged-project dialog for the open project. */
static void
rebuild_index_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWindow *self = SL_WINDOW (widget);

  if (self->session != NULL)
    show_damaged_dialog (self, sl_session_get_path (self->session),
                         g_variant_get_string (param, NULL));
}

void
sl_window_show_open_error (SlWindow *self, const char *path, const GError *error)
{
  g_autofree char *shown = display_path (path);
  g_autofree char *detail = NULL;

  g_return_if_fail (SL_IS_WINDOW (self));
  g_return_if_fail (error != NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      detail = g_strdup_printf ("%s does not exist any more. It may have been moved, renamed or "
                                "deleted.",
                                shown);
      sl_toast_show (self->toast, "Project not found", detail);
    }
  else if (g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_A_PROJECT))
    {
      detail = g_strdup_printf ("%s is not a Sightline project (it has no project.db). Open the "
                                "folder that holds project.db, or create a new project.",
                                shown);
      sl_toast_show (self->toast, "Not a Sightline project", detail);
    }
  else if (g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NEWER_SCHEMA))
    sl_toast_show (self->toast, "Made by a newer Sightline", error->message);
  else if (g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED))
    show_damaged_dialog (self, path, error->message);
  else
    sl_toast_show (self->toast, "Could not open the project", error->message);
}

void
sl_window_show_error (SlWindow *self, const char *title, const GError *error)
{
  g_return_if_fail (SL_IS_WINDOW (self));
  g_return_if_fail (title != NULL);

  sl_toast_show (self->toast, title, error != NULL ? error->message : NULL);
}

const char *
sl_window_get_toast_title (SlWindow *self)
{
  g_return_val_if_fail (SL_IS_WINDOW (self), NULL);
  return sl_toast_get_title (self->toast);
}

void
sl_window_begin_progress (SlWindow *self, const char *title, GCancellable *cancellable)
{
  g_return_if_fail (SL_IS_WINDOW (self));
  g_return_if_fail (title != NULL);

  self->in_progress = TRUE;
  g_set_object (&self->progress_cancellable, cancellable);
  gtk_label_set_text (self->progress_title, title);
  gtk_label_set_text (self->progress_detail, "");
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_widget_set_visible (self->progress_cancel, cancellable != NULL);
  gtk_stack_set_visible_child_name (self->main_stack, "progress");
  update_actions (self);
}

void
sl_window_set_progress (SlWindow *self, double fraction, const char *detail)
{
  g_return_if_fail (SL_IS_WINDOW (self));

  if (fraction < 0)
    gtk_progress_bar_pulse (self->progress_bar); /* no measure of how far it is */
  else
    gtk_progress_bar_set_fraction (self->progress_bar, MIN (fraction, 1.0));
  if (self->progress_cancellable == NULL
      || !g_cancellable_is_cancelled (self->progress_cancellable))
    gtk_label_set_text (self->progress_detail, detail != NULL ? detail : "");
}

void
sl_window_end_progress (SlWindow *self)
{
  g_return_if_fail (SL_IS_WINDOW (self));

  self->in_progress = FALSE;
  g_clear_object (&self->progress_cancellable);
  gtk_stack_set_visible_child_name (self->main_stack,
                                    self->session != NULL ? "project" : "welcome");
  update_actions (self);
}

const char *
sl_window_get_view (SlWindow *self)
{
  g_return_val_if_fail (SL_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->main_stack);
}
