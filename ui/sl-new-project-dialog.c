/* sl-new-project-dialog.c: asks for a name, a task (classify or find anomalies) and a location, and creates the project there. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-new-project-dialog.h"
#include "sl-anomaly.h"
#include "sl-project.h"

#include <string.h>

struct _SlNewProjectDialog
{
  GtkWindow parent_instance;

  GtkEntry *name_entry;
  GtkWidget *create_button;
  GtkLabel *location_label;
  GtkLabel *path_label;
  GtkLabel *error_label;
  GtkCheckButton *classify_button;
  GtkCheckButton *anomaly_button;

  GFile *location;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (SlNewProjectDialog, sl_new_project_dialog, GTK_TYPE_WINDOW)

enum
{
  PROJECT_CREATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* "~/Projects/x" for a path in the home folder. */
static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);

  if (n > 1 && g_str_has_prefix (path, home) && (path[n] == G_DIR_SEPARATOR || path[n] == '\0'))
    return g_strconcat ("~", path + n, NULL);
  return g_strdup (path);
}

static gboolean
is_empty_folder (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) == NULL;
}

static char *
dup_name (SlNewProjectDialog *self)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_entry))));
}

/* Why the name and location cannot make a project ("" while there is no name
 * yet), or NULL when they can; *path receives the project folder when the
 * name is usable. */
static char *
check (SlNewProjectDialog *self, char **path)
{
  g_autofree char *name = dup_name (self);
  g_autofree char *location = g_file_get_path (self->location);

  *path = NULL;
  if (*name == '\0')
    return g_strdup ("");
  if (strchr (name, G_DIR_SEPARATOR) != NULL || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return g_strdup ("A project name cannot contain “/” or be “.” or “..”.");
  if (location == NULL || !g_file_test (location, G_FILE_TEST_IS_DIR))
    return g_strdup ("The location is not a folder; choose another one.");
  *path = g_build_filename (location, name, NULL);
  if (g_file_test (*path, G_FILE_TEST_EXISTS) && !is_empty_folder (*path))
    return g_strdup_printf ("“%s” already exists in this location; choose another name.", name);
  return NULL;
}

static void
show_error (SlNewProjectDialog *self, const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL && *message != '\0');
}

/* The one place that decides what the dialog shows and whether Create works. */
static void
update_state (SlNewProjectDialog *self)
{
  g_autofree char *path = NULL;
  g_autofree char *problem = check (self, &path);
  g_autofree char *location = g_file_get_path (self->location);
  g_autofree char *short_location = display_path (location != NULL ? location : "");
  g_autofree char *shown = display_path (path != NULL ? path : location != NULL ? location : "");
  g_autofree char *where = NULL;

  gtk_label_set_text (self->location_label, short_location);
  where = path != NULL ? g_strdup_printf ("The project will be created in %s", shown)
                       : g_strdup_printf ("The project folder will be created in %s", shown);
  gtk_label_set_text (self->path_label, where);
  show_error (self, problem);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "dialog.create", problem == NULL);
}

static void
create_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlNewProjectDialog *self = SL_NEW_PROJECT_DIALOG (widget);
  g_autofree char *path = NULL;
  g_autofree char *problem = check (self, &path);
  g_autofree char *name = dup_name (self);
  g_autoptr (GError) error = NULL;
  SlProject *project;

  if (problem != NULL)
    return;
  /* One small folder and an empty database: quick enough for the main loop. */
  project = sl_project_create_kind (path, name, sl_new_project_dialog_get_kind (self), &error);
  if (project == NULL)
    {
      show_error (self, error->message);
      return;
    }
  sl_project_unref (project);
  g_signal_emit (self, signals[PROJECT_CREATED], 0, path);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_chooser_response (SlNewProjectDialog *self, int response, GtkNativeDialog *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (folder != NULL)
        sl_new_project_dialog_set_location (self, folder);
    }
  g_clear_object (&self->chooser);
}

static void
choose_location_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlNewProjectDialog *self = SL_NEW_PROJECT_DIALOG (widget);

  if (self->chooser != NULL)
    return;
  self->chooser
      = gtk_file_chooser_native_new ("Choose a Location", GTK_WINDOW (self),
                                     GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Select", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), self->location, NULL);
  g_signal_connect_swapped (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
sl_new_project_dialog_dispose (GObject *object)
{
  SlNewProjectDialog *self = SL_NEW_PROJECT_DIALOG (object);

  if (self->chooser != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  g_clear_object (&self->location);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_NEW_PROJECT_DIALOG);
  G_OBJECT_CLASS (sl_new_project_dialog_parent_class)->dispose (object);
}

static void
sl_new_project_dialog_class_init (SlNewProjectDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_new_project_dialog_dispose;
  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/sightline/Sightline/ui/sl-new-project-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, name_entry);
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, create_button);
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, location_label);
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, path_label);
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, classify_button);
  gtk_widget_class_bind_template_child (widget_class, SlNewProjectDialog, anomaly_button);
  gtk_widget_class_bind_template_callback (widget_class, update_state);
  gtk_widget_class_install_action (widget_class, "dialog.create", NULL, create_action);
  gtk_widget_class_install_action (widget_class, "dialog.choose-location", NULL,
                                   choose_location_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  signals[PROJECT_CREATED]
      = g_signal_new ("project-created", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
sl_new_project_dialog_init (SlNewProjectDialog *self)
{
  const char *documents = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_window_set_default_widget (GTK_WINDOW (self), self->create_button);
  if (documents != NULL && g_file_test (documents, G_FILE_TEST_IS_DIR))
    self->location = g_file_new_for_path (documents);
  else
    self->location = g_file_new_for_path (g_get_home_dir ());
  update_state (self);
}

SlNewProjectDialog *
sl_new_project_dialog_new (GtkWindow *parent)
{
  return g_object_new (SL_TYPE_NEW_PROJECT_DIALOG, "transient-for", parent, NULL);
}

void
sl_new_project_dialog_set_location (SlNewProjectDialog *self, GFile *folder)
{
  g_return_if_fail (SL_IS_NEW_PROJECT_DIALOG (self));
  g_return_if_fail (G_IS_FILE (folder));

  g_set_object (&self->location, folder);
  update_state (self);
}

char *
sl_new_project_dialog_dup_path (SlNewProjectDialog *self)
{
  g_autofree char *path = NULL;
  g_autofree char *problem = NULL;

  g_return_val_if_fail (SL_IS_NEW_PROJECT_DIALOG (self), NULL);
  problem = check (self, &path);
  return problem == NULL ? g_steal_pointer (&path) : NULL;
}

SlProjectKind
sl_new_project_dialog_get_kind (SlNewProjectDialog *self)
{
  g_return_val_if_fail (SL_IS_NEW_PROJECT_DIALOG (self), SL_PROJECT_KIND_CLASSIFY);

  return gtk_check_button_get_active (self->anomaly_button) ? SL_PROJECT_KIND_ANOMALY
                                                            : SL_PROJECT_KIND_CLASSIFY;
}

void
sl_new_project_dialog_set_kind (SlNewProjectDialog *self, SlProjectKind kind)
{
  g_return_if_fail (SL_IS_NEW_PROJECT_DIALOG (self));

  gtk_check_button_set_active (
      kind == SL_PROJECT_KIND_ANOMALY ? self->anomaly_button : self->classify_button, TRUE);
}
