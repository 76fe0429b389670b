/* test-ui-shell.c: the workbench shell under Xvfb: welcome view, opening projects, dialogs, actions, settings, the demo. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "sightline.h"
#include "sl-application.h"
#include "sl-demo-project.h"
#include "sl-new-project-dialog.h"
#include "sl-recent-projects.h"
#include "sl-settings.h"
#include "sl-run.h"
#include "sl-session.h"
#include "sl-vision.h"
#include "sl-welcome-view.h"
#include "sl-window.h"
#include "ui-test-util.h"

static SlApplication *app;

typedef struct
{
  char *tmp;
  GSettings *settings;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *const keys[]
      = { "recent-projects", "window-width", "window-height", "window-maximized" };

  f->tmp = ui_test_make_tmp ();
  f->settings = g_settings_new (SL_APP_ID);
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    g_settings_reset (f->settings, keys[i]);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_object (&f->settings);
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

/* A project named `name` in f->tmp with n Fashion-MNIST images of n_classes
 * classes, labelled and split; NULL after a skip. */
static char *
make_project (Fixture *f, const char *name, int n, int n_classes)
{
  g_autofree char *src = g_strdup_printf ("%s/src-%s", f->tmp, name);
  char *path = g_build_filename (f->tmp, name, NULL);
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  SlImportResult result = { 0 };
  SlSplitConfig split;

  if (n > 0 && ui_test_write_fmnist_tree (src, n, n_classes, "img") < 0)
    {
      g_free (path);
      return NULL;
    }
  project = sl_project_create (path, name, &error);
  g_assert_no_error (error);
  if (n > 0)
    {
      g_assert_true (sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                               NULL, NULL, &result, &error));
      g_assert_no_error (error);
      g_assert_cmpint (result.added, ==, n);
      sl_import_result_clear (&result);
      sl_split_config_init (&split);
      g_assert_true (sl_project_split (project, &split, NULL, &error));
    }
  return path;
}

static SlWindow *
new_window (void)
{
  SlWindow *window = sl_window_new (GTK_APPLICATION (app));

  ui_test_show_window (GTK_WINDOW (window));
  return window;
}

static gboolean
rows_loaded (gpointer view)
{
  return sl_welcome_view_get_pending (view) == 0;
}

static SlWelcomeView *
wait_for_welcome (SlWindow *window)
{
  SlWelcomeView *view
      = SL_WELCOME_VIEW (ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_WELCOME_VIEW, NULL));

  g_assert_nonnull (view);
  g_assert_true (ui_test_wait_until (rows_loaded, view, 10000));
  ui_test_spin (100);
  return view;
}

static guint
count_thumbnails (GtkWidget *root)
{
  guint n = 0;

  if (GTK_IS_IMAGE (root) && gtk_image_get_storage_type (GTK_IMAGE (root)) == GTK_IMAGE_PAINTABLE)
    n++;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    n += count_thumbnails (c);
  return n;
}

static void
test_welcome_recent (Fixture *f, gconstpointer data)
{
  g_autofree char *a = make_project (f, "Fashion-MNIST sample", 60, 10);
  g_autofree char *b = make_project (f, "Tops and trousers", 12, 2);
  g_autofree char *missing = g_build_filename (f->tmp, "moved-away", NULL);
  const char *two[] = { a, b, NULL }, *with_missing[] = { a, missing, NULL };
  SlWindow *window;
  SlWelcomeView *view;
  GtkWidget *list;

  if (a == NULL || b == NULL)
    return;
  g_settings_set_strv (f->settings, "recent-projects", two);
  window = new_window ();
  view = wait_for_welcome (window);
  g_assert_cmpstr (sl_window_get_view (window), ==, "welcome");
  g_assert_cmpuint (g_strv_length ((char **) sl_welcome_view_get_listed (view)), ==, 2);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (view), "Fashion-MNIST sample"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (view), "Tops and trousers"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (view), "60 images"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (view), "12 images"));
  list = ui_test_find_widget (GTK_WIDGET (view), GTK_TYPE_LIST_BOX, NULL);
  g_assert_cmpuint (count_thumbnails (list), ==, 2);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "welcome"));

  /* A project that went away says so and can be removed from the list. */
  g_settings_set_strv (f->settings, "recent-projects", with_missing);
  view = wait_for_welcome (window);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (view), "Missing"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "welcome-missing"));
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (view), "welcome.remove-recent", "s", missing));
  {
    g_auto (GStrv) left = g_settings_get_strv (f->settings, "recent-projects");
    g_assert_cmpuint (g_strv_length (left), ==, 1);
    g_assert_cmpstr (left[0], ==, a);
  }

  /* No recent projects: an empty state, not a blank area. */
  g_settings_reset (f->settings, "recent-projects");
  view = wait_for_welcome (window);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (view), "No Recent Projects"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "welcome-empty"));
}

static void
test_recent_list_order (Fixture *f, gconstpointer data)
{
  g_auto (GStrv) list = NULL;

  for (int i = 0; i < 12; i++)
    {
      g_autofree char *path = g_strdup_printf ("/projects/p%d", i);
      sl_recent_projects_add (f->settings, path);
    }
  sl_recent_projects_add (f->settings, "/projects/p5");
  list = g_settings_get_strv (f->settings, "recent-projects");
  g_assert_cmpuint (g_strv_length (list), ==, SL_RECENT_PROJECTS_MAX);
  g_assert_cmpstr (list[0], ==, "/projects/p5");
  g_assert_cmpstr (list[1], ==, "/projects/p11");
  for (guint i = 1; list[i] != NULL; i++)
    g_assert_cmpstr (list[i], !=, "/projects/p5");
}

static void
test_open_not_a_project (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (f->tmp, "holiday-photos", NULL);
  g_autofree char *file = g_build_filename (folder, "beach.png", NULL);
  g_auto (GStrv) recent = NULL;
  SlWindow *window = new_window ();

  g_mkdir_with_parents (folder, 0755);
  g_file_set_contents (file, "not really", -1, NULL);
  sl_application_open_path (app, folder);
  ui_test_spin (50);
  g_assert_cmpstr (sl_window_get_view (window), ==, "welcome");
  g_assert_null (sl_window_get_session (window));
  g_assert_cmpstr (sl_window_get_toast_title (window), ==, "Not a Sightline project");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (window),
                                        "is not a Sightline project (it has no project.db)"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "welcome-not-a-project"));
  recent = g_settings_get_strv (f->settings, "recent-projects");
  g_assert_cmpuint (g_strv_length (recent), ==, 0);
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (app))), ==, 1);
}

static void
test_open_newer_project (Fixture *f, gconstpointer data)
{
  g_autofree char *path = make_project (f, "From the future", 0, 0);
  g_autofree char *db = g_build_filename (path, "project.db", NULL);
  SlWindow *window = new_window ();
  sqlite3 *sql = NULL;

  g_assert_cmpint (sqlite3_open (db, &sql), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (sql, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (sql);
  sl_application_open_path (app, path);
  ui_test_spin (50);
  g_assert_cmpstr (sl_window_get_view (window), ==, "welcome");
  g_assert_cmpstr (sl_window_get_toast_title (window), ==, "Made by a newer Sightline");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (window), "Update Sightline"));
}

static void
test_open_project (Fixture *f, gconstpointer data)
{
  g_autofree char *path = make_project (f, "Fashion-MNIST sample", 60, 10);
  g_auto (GStrv) recent = NULL;
  GtkStack *pages;
  SlWindow *window;

  if (path == NULL)
    return;
  window = new_window ();
  sl_application_open_path (app, path);
  ui_test_spin (100);
  g_assert_cmpstr (sl_window_get_view (window), ==, "project");
  g_assert_nonnull (sl_window_get_session (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==,
                   "Fashion-MNIST sample — Sightline");
  g_assert_nonnull (
      ui_test_find_label (gtk_window_get_titlebar (GTK_WINDOW (window)), "Fashion-MNIST sample"));
  pages = GTK_STACK (ui_test_find_widget (GTK_WIDGET (window), GTK_TYPE_STACK, NULL));
  g_assert_nonnull (pages);
  pages = GTK_STACK (gtk_stack_get_child_by_name (pages, "project"));
  g_assert_nonnull (gtk_stack_get_child_by_name (pages, "dataset"));
  g_assert_nonnull (gtk_stack_get_child_by_name (pages, "preprocess"));
  g_assert_cmpstr (gtk_stack_page_get_title (
                       gtk_stack_get_page (pages, gtk_stack_get_child_by_name (pages, "dataset"))),
                   ==, "Dataset");
  recent = g_settings_get_strv (f->settings, "recent-projects");
  g_assert_cmpstr (recent[0], ==, path);
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "preprocess"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (pages), ==, "preprocess");

  /* Pages show errors and notes through the window's actions, not by finding the window. */
  {
    GtkWidget *page = gtk_stack_get_child_by_name (pages, "dataset");
    g_autoptr (GtkWidget) loose = g_object_ref_sink (gtk_label_new (""));

    g_assert_true (gtk_widget_activate_action (page, "win.show-error", "(ss)", "Could not evaluate",
                                               "The run has no weights"));
    g_assert_cmpstr (sl_window_get_toast_title (window), ==, "Could not evaluate");
    g_assert_nonnull (ui_test_find_label (GTK_WIDGET (window), "The run has no weights"));
    g_assert_true (gtk_widget_activate_action (page, "win.toast", "s", "Path copied"));
    g_assert_cmpstr (sl_window_get_toast_title (window), ==, "Path copied");
    /* A widget outside a window has nobody to tell: the pages log instead. */
    g_assert_false (gtk_widget_activate_action (loose, "win.toast", "s", "Path copied"));
  }

  /* Opening it again presents the same window; another project gets a new one. */
  sl_application_open_path (app, path);
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (app))), ==, 1);
}

static GtkWidget *
find_action_button (GtkWidget *root, const char *action)
{
  if (GTK_IS_BUTTON (root)
      && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (root)), action) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_action_button (c, action);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
undo_enabled (gpointer window)
{
  GtkWidget *button = find_action_button (gtk_window_get_titlebar (window), "win.undo");

  g_assert_nonnull (button);
  return gtk_widget_get_sensitive (button);
}

static void
test_undo_redo (Fixture *f, gconstpointer data)
{
  g_autofree char *path = make_project (f, "Undo", 20, 10);
  SlImageInfo *before, *after;
  g_autoptr (GError) error = NULL;
  SlSession *session;
  SlWindow *window;
  gint64 id = 1;

  if (path == NULL)
    return;
  window = new_window ();
  g_assert_true (sl_window_open_project (window, path));
  session = sl_window_get_session (window);
  g_assert_false (undo_enabled (window));
  before = sl_project_get_image (sl_session_get_project (session), id, &error);
  g_assert_true (sl_session_set_labels (session, &id, 1, -1, &error));
  g_assert_no_error (error);
  g_assert_true (undo_enabled (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  after = sl_project_get_image (sl_session_get_project (session), id, &error);
  g_assert_cmpint (after->class_id, ==, before->class_id);
  g_assert_cmpint (before->class_id, >=, 0);
  sl_image_info_free (before);
  sl_image_info_free (after);
  g_assert_false (undo_enabled (window));
}

static gboolean
dialog_can_create (SlNewProjectDialog *dialog)
{
  GtkWidget *create = ui_test_find_widget (gtk_window_get_titlebar (GTK_WINDOW (dialog)),
                                           GTK_TYPE_BUTTON, "C_reate");

  g_assert_nonnull (create);
  return gtk_widget_get_sensitive (create);
}

static void
test_new_project_dialog (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) location = g_file_new_for_path (f->tmp);
  g_autofree char *expected = g_build_filename (f->tmp, "Bracket scratches", NULL);
  g_autofree char *taken = g_build_filename (f->tmp, "taken", NULL);
  g_autofree char *taken_file = g_build_filename (taken, "notes.txt", NULL);
  g_autofree char *path = NULL, *db = NULL;
  SlWindow *window = new_window ();
  SlNewProjectDialog *dialog;
  GtkEditable *entry;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.new-project", NULL));
  dialog = SL_NEW_PROJECT_DIALOG (ui_test_find_toplevel (SL_TYPE_NEW_PROJECT_DIALOG));
  g_assert_nonnull (dialog);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  ui_test_show_window (GTK_WINDOW (dialog));
  sl_new_project_dialog_set_location (dialog, location);
  entry = GTK_EDITABLE (ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_ENTRY, NULL));
  g_assert_false (dialog_can_create (dialog)); /* no name yet */

  g_mkdir_with_parents (taken, 0755);
  g_file_set_contents (taken_file, "", 0, NULL);
  gtk_editable_set_text (entry, "taken");
  g_assert_false (dialog_can_create (dialog));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "already exists"));
  gtk_editable_set_text (entry, "a/b");
  g_assert_false (dialog_can_create (dialog));
  g_assert_null (sl_new_project_dialog_dup_path (dialog));

  gtk_editable_set_text (entry, "Bracket scratches");
  g_assert_true (dialog_can_create (dialog));
  path = sl_new_project_dialog_dup_path (dialog);
  g_assert_cmpstr (path, ==, expected);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "The project will be created in"));
  g_assert_null (ui_test_find_label (GTK_WIDGET (dialog), "already exists"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "new-project-dialog"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "dialog.create", NULL));
  ui_test_spin (100);
  g_assert_null (ui_test_find_toplevel (SL_TYPE_NEW_PROJECT_DIALOG));
  db = g_build_filename (expected, "project.db", NULL);
  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (sl_window_get_view (window), ==, "project");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Bracket scratches — Sightline");
  ui_test_spin (300);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "project-empty"));
}

static void
test_actions (Fixture *f, gconstpointer data)
{
  const char *const names[]
      = { "new-project", "open-project", "open-recent", "about", "shortcuts", "quit", "demo" };
  const struct
  {
    const char *action, *accel;
  } accels[] = {
    { "app.new-project", "<Control>n" },
    { "app.open-project", "<Control>o" },
    { "app.shortcuts", "<Control>question" },
    { "app.quit", "<Control>q" },
  };
  SlWindow *window = new_window ();
  GtkWindow *shortcuts;
  GtkAboutDialog *about;

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), names[i]));
      g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (app), names[i]));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (accels); i++)
    {
      g_auto (GStrv) set
          = gtk_application_get_accels_for_action (GTK_APPLICATION (app), accels[i].action);
      g_assert_true (g_strv_contains ((const char *const *) set, accels[i].accel));
    }
  g_assert_false (undo_enabled (window)); /* nothing to undo without a project */

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.shortcuts", NULL));
  shortcuts = ui_test_find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW);
  g_assert_nonnull (shortcuts);
  ui_test_show_window (shortcuts);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (shortcuts), "Undo a label change"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (shortcuts), "shortcuts"));
  gtk_window_destroy (shortcuts);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.about", NULL));
  about = GTK_ABOUT_DIALOG (ui_test_find_toplevel (GTK_TYPE_ABOUT_DIALOG));
  g_assert_nonnull (about);
  g_assert_cmpstr (gtk_about_dialog_get_version (about), ==, sl_version_string ());
  g_assert_cmpint (gtk_about_dialog_get_license_type (about), ==, GTK_LICENSE_LGPL_2_1);
  g_assert_cmpstr (gtk_about_dialog_get_logo_icon_name (about), ==, SL_APP_ID);
  ui_test_show_window (GTK_WINDOW (about));
  g_free (ui_test_save_screenshot (GTK_WIDGET (about), "about"));
}

static void
test_window_size (Fixture *f, gconstpointer data)
{
  SlWindow *window;
  int width, height;

  g_settings_set_int (f->settings, "window-width", 1000);
  g_settings_set_int (f->settings, "window-height", 700);
  window = new_window ();
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 1000);
  g_assert_cmpint (height, ==, 700);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 650);
  ui_test_spin (200);
  gtk_window_close (GTK_WINDOW (window));
  ui_test_spin (100);
  g_assert_cmpint (g_settings_get_int (f->settings, "window-width"), ==, 1100);
  g_assert_cmpint (g_settings_get_int (f->settings, "window-height"), ==, 650);
  g_assert_false (g_settings_get_boolean (f->settings, "window-maximized"));
}

static const char *
data_dir (void)
{
  const char *dir = g_getenv ("SL_FASHION_MNIST");

  return dir != NULL ? dir : SL_DEMO_DATA_DIR;
}

static gboolean
have_fmnist (void)
{
  g_autofree char *file = g_build_filename (data_dir (), "train-images-idx3-ubyte.gz", NULL);

  if (g_file_test (file, G_FILE_TEST_EXISTS))
    return TRUE;
  g_test_skip ("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  return FALSE;
}

static void
count_progress (double fraction, const char *what, gpointer user_data)
{
  double *last = user_data;

  g_assert_cmpfloat (fraction, >=, *last);
  g_assert_nonnull (what);
  *last = fraction;
}

/* The demo's chain: three steps and a 28x28 gray input with measured statistics. */
static void
assert_demo_pipeline (SlProject *project)
{
  g_autofree char *json = sl_project_dup_stored_pipeline_json (project);
  sl_pipeline *pipeline = NULL;
  sl_input_spec spec;

  g_assert_nonnull (json);
  g_assert_cmpint (sl_pipeline_from_json (json, &pipeline, NULL), ==, SL_OK);
  g_assert_cmpint (sl_pipeline_step_count (pipeline), ==, 3);
  g_assert_cmpstr (sl_pipeline_step_op (pipeline, 0)->id, ==, "gaussian-blur");
  g_assert_cmpstr (sl_pipeline_step_op (pipeline, 1)->id, ==, "clahe");
  g_assert_cmpstr (sl_pipeline_step_op (pipeline, 2)->id, ==, "normalize");
  sl_pipeline_get_input (pipeline, &spec);
  g_assert_cmpint (spec.width, ==, 28);
  g_assert_cmpint (spec.height, ==, 28);
  g_assert_cmpint (spec.channels, ==, 1);
  g_assert_cmpfloat (spec.mean[0], >, 0.05);
  g_assert_cmpfloat (spec.mean[0], <, 0.95);
  g_assert_cmpfloat (spec.std[0], >, 0.05);
  g_assert_cmpfloat (spec.std[0], <, 0.9);
  sl_pipeline_free (pipeline);
}

static void
test_demo_builder (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->tmp, "demo", NULL);
  g_autofree char *ensured = g_build_filename (f->tmp, "data", "sightline", "demo-project", NULL);
  g_autofree char *partial = g_strconcat (ensured, ".partial", NULL);
  g_autofree char *cancelled_path = g_build_filename (f->tmp, "cancelled", NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  g_autoptr (GError) error = NULL;
  SlProjectStats stats = { 0 };
  gint64 total = 0;
  double last = 0;

  if (!have_fmnist ())
    return;
  project = sl_demo_project_build (path, data_dir (), 60, count_progress, &last, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (project);
  g_assert_cmpfloat (last, ==, 1.0);
  classes = sl_project_list_classes (project, &error);
  g_assert_cmpuint (classes->len, ==, 10);
  for (guint i = 0; i < classes->len; i++)
    total += ((SlClass *) g_ptr_array_index (classes, i))->images;
  g_assert_cmpint (total, ==, 60);
  g_assert_true (sl_project_get_stats (project, &stats, &error));
  g_assert_cmpint (stats.images, ==, 60);
  g_assert_cmpint (stats.labelled, ==, 60);
  {
    gint64 train = 0, val = 0, test = 0, unsplit = 0;

    for (guint i = 0; i < stats.classes->len; i++)
      {
        SlClassCount *c = g_ptr_array_index (stats.classes, i);
        train += c->train, val += c->val, test += c->test, unsplit += c->unsplit;
      }
    g_assert_cmpint (train + val + test, ==, 60);
    g_assert_cmpint (unsplit, ==, 0);
    g_assert_cmpint (train, >, val);
    g_assert_cmpint (val, >, 0);
    g_assert_cmpint (test, >, 0);
  }
  sl_project_stats_clear (&stats);
  assert_demo_pipeline (project);

  /* ensure: built next to its place and moved in; a second call keeps it. */
  g_assert_true (sl_demo_project_ensure (ensured, data_dir (), 30, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
  {
    g_autoptr (SlProject) kept = sl_project_open (ensured, &error);
    g_assert_no_error (error);
    last = 0;
    g_assert_true (
        sl_demo_project_ensure (ensured, data_dir (), 30, count_progress, &last, NULL, &error));
    g_assert_cmpfloat (last, ==, 0); /* nothing rebuilt */
  }

  /* A cancelled build leaves nothing behind. */
  g_cancellable_cancel (cancellable);
  g_assert_false (
      sl_demo_project_ensure (cancelled_path, data_dir (), 30, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (cancelled_path, G_FILE_TEST_EXISTS));
}

static gboolean
demo_importing (gpointer window)
{
  return ui_test_find_label (window, "Importing image") != NULL;
}

static gboolean
shows_project (gpointer window)
{
  return g_strcmp0 (sl_window_get_view (window), "project") == 0;
}

static void
test_demo_window (Fixture *f, gconstpointer data)
{
  g_autofree char *path = sl_demo_project_default_path ();
  SlWindow *window;
  SlProject *project;
  SlProjectStats stats = { 0 };

  if (!have_fmnist ())
    return;
  window = new_window ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.demo", NULL));
  g_assert_cmpstr (sl_window_get_view (window), ==, "progress");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (window), "Preparing the demo project"));
  if (ui_test_wait_until (demo_importing, window, 60000))
    g_free (ui_test_save_screenshot (GTK_WIDGET (window), "demo-progress"));
  g_assert_true (ui_test_wait_until (shows_project, window, 240000));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==,
                   "Fashion-MNIST demo — Sightline");
  project = sl_session_get_project (sl_window_get_session (window));
  g_assert_cmpstr (sl_project_get_path (project), ==, path);
  g_assert_true (sl_project_get_stats (project, &stats, NULL));
  g_assert_cmpint (stats.images, ==, SL_DEMO_IMAGES);
  g_assert_cmpint (stats.labelled, ==, SL_DEMO_IMAGES);
  sl_project_stats_clear (&stats);
  assert_demo_pipeline (project);
  ui_test_spin (500);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "demo"));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-shell-data-XXXXXX", NULL);
  int status;

  /* The demo project goes to $XDG_DATA_HOME/sightline; keep it out of the user's. */
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add ("/ui/shell/welcome-recent", Fixture, NULL, fixture_setup, test_welcome_recent,
              fixture_teardown);
  g_test_add ("/ui/shell/recent-list-order", Fixture, NULL, fixture_setup, test_recent_list_order,
              fixture_teardown);
  g_test_add ("/ui/shell/open-not-a-project", Fixture, NULL, fixture_setup, test_open_not_a_project,
              fixture_teardown);
  g_test_add ("/ui/shell/open-newer-project", Fixture, NULL, fixture_setup, test_open_newer_project,
              fixture_teardown);
  g_test_add ("/ui/shell/open-project", Fixture, NULL, fixture_setup, test_open_project,
              fixture_teardown);
  g_test_add ("/ui/shell/undo-redo", Fixture, NULL, fixture_setup, test_undo_redo,
              fixture_teardown);
  g_test_add ("/ui/shell/new-project-dialog", Fixture, NULL, fixture_setup, test_new_project_dialog,
              fixture_teardown);
  g_test_add ("/ui/shell/actions", Fixture, NULL, fixture_setup, test_actions, fixture_teardown);
  g_test_add ("/ui/shell/window-size", Fixture, NULL, fixture_setup, test_window_size,
              fixture_teardown);
  g_test_add ("/ui/shell/demo-builder", Fixture, NULL, fixture_setup, test_demo_builder,
              fixture_teardown);
  g_test_add ("/ui/shell/demo-window", Fixture, NULL, fixture_setup, test_demo_window,
              fixture_teardown);
  status = g_test_run ();
  g_clear_object (&app);
  sl_remove_tree (data_home);
  return status;
}
