/* sl-application.c: the Sightline GtkApplication: app actions, opening projects, the demo, settings. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-application.h"

#include <stdio.h>

#include "sightline.h"
#include "sl-demo-project.h"
#include "sl-new-project-dialog.h"
#include "sl-preferences-dialog.h"
#include "sl-settings.h"
#include "sl-resources.h"
#include "sl-session.h"
#include "sl-window.h"

struct _SlApplication
{
  GtkApplication parent_instance;

  GtkFileChooserNative *chooser; /* Open Project, while it is up */
};

G_DEFINE_FINAL_TYPE (SlApplication, sl_application, GTK_TYPE_APPLICATION)

/* Progress of the demo build runs at most this often through the main loop. */
#define DEMO_PROGRESS_INTERVAL_US (50 * G_TIME_SPAN_MILLISECOND)

static SlWindow *
get_active_window (SlApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  return SL_IS_WINDOW (window) ? SL_WINDOW (window) : NULL;
}

/* The active window when it shows the welcome view, else a new window. */
static SlWindow *
get_free_window (SlApplication *self)
{
  SlWindow *window = get_active_window (self);

  if (window == NULL || g_strcmp0 (sl_window_get_view (window), "welcome") != 0)
    window = sl_window_new (GTK_APPLICATION (self));
  return window;
}

/* The window that has the project at path open, or NULL. */
static SlWindow *
find_window_for (SlApplication *self, const char *path)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (SL_IS_WINDOW (l->data) && sl_window_get_session (l->data) != NULL
        && g_strcmp0 (sl_session_get_path (sl_window_get_session (l->data)), path) == 0)
      return l->data;
  return NULL;
}

void
sl_application_open_path (SlApplication *self, const char *path)
{
  g_autofree char *canonical = NULL;
  g_autoptr (SlSession) session = NULL;
  g_autoptr (GError) error = NULL;
  SlWindow *window;

  g_return_if_fail (SL_IS_APPLICATION (self));
  g_return_if_fail (path != NULL);

  canonical = g_canonicalize_filename (path, NULL);
  if ((window = find_window_for (self, canonical)) != NULL)
    {
      gtk_window_present (GTK_WINDOW (window));
      return;
    }
  window = get_active_window (self);
  if (window != NULL && g_strcmp0 (sl_window_get_view (window), "welcome") != 0)
    {
      /* A new window only for a project that opens; the error goes to this one. */
      if ((session = sl_session_open (canonical, &error)) == NULL)
        {
          sl_window_show_open_error (window, canonical, error);
          return;
        }
      window = sl_window_new (GTK_APPLICATION (self));
      sl_window_set_session (window, session);
    }
  else
    {
      if (window == NULL)
        window = sl_window_new (GTK_APPLICATION (self));
      sl_window_open_project (window, canonical);
    }
  gtk_window_present (GTK_WINDOW (window));
}

/* ---- The demo project: built on a worker thread, progress in the window ---- */

typedef struct
{
  GWeakRef window;
  char *path;
  gint64 last_report; /* worker thread only */
} DemoJob;

typedef struct
{
  GWeakRef window;
  double fraction;
  char *what;
} DemoProgress;

static void
demo_job_free (DemoJob *job)
{
  g_weak_ref_clear (&job->window);
  g_free (job->path);
  g_free (job);
}

static void
demo_progress_free (DemoProgress *p)
{
  g_weak_ref_clear (&p->window);
  g_free (p->what);
  g_free (p);
}

static gboolean
demo_apply_progress (gpointer user_data)
{
  DemoProgress *p = user_data;
  g_autoptr (SlWindow) window = g_weak_ref_get (&p->window);

  if (window != NULL)
    sl_window_set_progress (window, p->fraction, p->what);
  return G_SOURCE_REMOVE;
}

/* Worker thread: no GTK here; the window is only named, through a weak reference. */
static void
demo_report (double fraction, const char *what, gpointer user_data)
{
  DemoJob *job = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr (SlWindow) window = NULL;
  DemoProgress *p;

  if (fraction < 1.0 && now - job->last_report < DEMO_PROGRESS_INTERVAL_US)
    return;
  job->last_report = now;
  p = g_new0 (DemoProgress, 1);
  window = g_weak_ref_get (&job->window);
  g_weak_ref_init (&p->window, window);
  p->fraction = fraction;
  p->what = g_strdup (what);
  g_idle_add_full (G_PRIORITY_DEFAULT, demo_apply_progress, p, (GDestroyNotify) demo_progress_free);
}

static void
demo_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DemoJob *job = task_data;
  GError *error = NULL;

  if (sl_demo_project_ensure (job->path, SL_DEMO_DATA_DIR, SL_DEMO_IMAGES, demo_report, job,
                              cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
demo_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DemoJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (SlWindow) window = g_weak_ref_get (&job->window);
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  if (window == NULL)
    return;
  sl_window_end_progress (window);
  if (ok)
    sl_window_open_project (window, job->path);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    sl_window_show_error (window, "Could not prepare the demo project", error);
}

void
sl_application_open_demo (SlApplication *self)
{
  g_autofree char *path = sl_demo_project_default_path ();
  g_autoptr (GCancellable) cancellable = NULL;
  g_autoptr (GTask) task = NULL;
  SlWindow *window;
  DemoJob *job;

  g_return_if_fail (SL_IS_APPLICATION (self));

  if ((window = find_window_for (self, path)) != NULL)
    {
      gtk_window_present (GTK_WINDOW (window));
      return;
    }
  window = get_free_window (self);
  gtk_window_present (GTK_WINDOW (window));
  cancellable = g_cancellable_new ();
  sl_window_begin_progress (window, "Preparing the demo project…", cancellable);
  job = g_new0 (DemoJob, 1);
  g_weak_ref_init (&job->window, window);
  job->path = g_steal_pointer (&path);
  task = g_task_new (NULL, cancellable, demo_done, NULL);
  g_task_set_source_tag (task, sl_application_open_demo);
  g_task_set_task_data (task, job, (GDestroyNotify) demo_job_free);
  g_task_run_in_thread (task, demo_thread);
}

/* ---- Application actions ---- */

static void
on_project_created (SlApplication *self, const char *path)
{
  sl_application_open_path (self, path);
}

static void
new_project_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  SlApplication *self = user_data;
  SlNewProjectDialog *dialog
      = sl_new_project_dialog_new (gtk_application_get_active_window (GTK_APPLICATION (self)));

  g_signal_connect_object (dialog, "project-created", G_CALLBACK (on_project_created), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_open_response (SlApplication *self, int response, GtkNativeDialog *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        sl_application_open_path (self, path);
    }
  g_clear_object (&self->chooser);
}

static void
open_project_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  SlApplication *self = user_data;

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (
      "Open Project", gtk_application_get_active_window (GTK_APPLICATION (self)),
      GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Open", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_swapped (self->chooser, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_recent_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  sl_application_open_path (user_data, g_variant_get_string (param, NULL));
}

static void
demo_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  sl_application_open_demo (user_data);
}

static void
about_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  SlApplication *self = user_data;

  gtk_show_about_dialog (gtk_application_get_active_window (GTK_APPLICATION (self)), "program-name",
                         "Sightline", "logo-icon-name", SL_APP_ID, "version", sl_version_string (),
                         "comments",
                         "Label part images, chain preprocessing and train inspection models",
                         "license-type", GTK_LICENSE_LGPL_2_1, NULL);
}

/* One Preferences dialog at a time, over the window it was asked from. */
static void
preferences_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  SlApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GListModel *toplevels = gtk_window_get_toplevels ();
  SlPreferencesDialog *dialog;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (SL_IS_PREFERENCES_DIALOG (window))
        {
          gtk_window_present (GTK_WINDOW (window));
          return;
        }
    }
  dialog = sl_preferences_dialog_new (parent);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
shortcuts_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  SlApplication *self = user_data;
  g_autoptr (GtkBuilder) builder
      = gtk_builder_new_from_resource ("/org/sightline/Sightline/ui/sl-shortcuts-window.ui");
  GtkWindow *window = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));

  gtk_window_set_transient_for (window, gtk_application_get_active_window (GTK_APPLICATION (self)));
  gtk_window_set_application (window, GTK_APPLICATION (self));
  gtk_window_present (window);
}

/* Each window closes as the close button would close it: it saves its size,
 * and one that is training asks first (and may stay). The application ends
 * with its last window. */
static void
quit_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  SlApplication *self = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
}

static const GActionEntry app_actions[] = {
  { "new-project", new_project_action },
  { "open-project", open_project_action },
  { "open-recent", open_recent_action, "s" },
  { "demo", demo_action },
  { "about", about_action },
  { "preferences", preferences_action },
  { "shortcuts", shortcuts_action },
  { "quit", quit_action },
};

static void
add_accels (GtkApplication *app)
{
  static const struct
  {
    const char *action;
    const char *accels[2];
  } accels[] = {
    { "app.new-project", { "<Control>n", NULL } },
    { "app.open-project", { "<Control>o", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "app.shortcuts", { "<Control>question", NULL } },
    { "app.quit", { "<Control>q", NULL } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (app, accels[i].action, accels[i].accels);
}

/* ---- GApplication ---- */

static void
sl_application_startup (GApplication *app)
{
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (sl_application_parent_class)->startup (app);
  /* Referenced so the linker keeps the resource bundle, which registers itself. */
  (void) sl_resources_get_resource ();
  gtk_css_provider_load_from_resource (css, "/org/sightline/Sightline/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_window_set_default_icon_name (SL_APP_ID);
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   app);
  add_accels (GTK_APPLICATION (app));
}

static void
sl_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (sl_window_new (GTK_APPLICATION (app)));
  gtk_window_present (window);
}

static void
sl_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);

      if (path != NULL)
        sl_application_open_path (SL_APPLICATION (app), path);
    }
}

static int
sl_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  g_autoptr (GError) error = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      printf ("sightline %s\n", sl_version_string ());
      return 0;
    }
  if (!gtk_init_check ())
    {
      fprintf (stderr, "sightline: no display could be opened (is DISPLAY or WAYLAND_DISPLAY "
                       "set?); 'sightline-cli demo' runs the demo without one\n");
      return SL_EXIT_NO_DISPLAY;
    }
  if (g_variant_dict_contains (options, "demo"))
    {
      /* Through the action, so a running instance opens the demo too. */
      if (!g_application_register (app, NULL, &error))
        {
          fprintf (stderr, "sightline: %s\n", error->message);
          return 1;
        }
      g_action_group_activate_action (G_ACTION_GROUP (app), "demo", NULL);
    }
  return -1;
}

static void
sl_application_dispose (GObject *object)
{
  SlApplication *self = SL_APPLICATION (object);

  if (self->chooser != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  G_OBJECT_CLASS (sl_application_parent_class)->dispose (object);
}

static void
sl_application_class_init (SlApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_application_dispose;
  app_class->startup = sl_application_startup;
  app_class->activate = sl_application_activate;
  app_class->open = sl_application_open;
  app_class->handle_local_options = sl_application_handle_local_options;
}

static void
sl_application_init (SlApplication *self)
{
  static const GOptionEntry options[] = {
    { "demo", 0, 0, G_OPTION_ARG_NONE, NULL,
      "Open the demo project (a labelled Fashion-MNIST subset with a preprocessing chain), "
      "building it on first use",
      NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
    { NULL },
  };

  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), "[PROJECT…]");
  g_application_set_option_context_summary (
      G_APPLICATION (self), "The Sightline workbench: label images, build preprocessing chains "
                            "and train inspection models.\nPROJECT is a project folder to open.");
}

SlApplication *
sl_application_new (void)
{
  return g_object_new (SL_TYPE_APPLICATION, "application-id", SL_APP_ID, "flags",
                       G_APPLICATION_HANDLES_OPEN, NULL);
}
