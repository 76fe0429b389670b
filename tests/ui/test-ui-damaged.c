/* test-ui-damaged.c: the workbench on a read-only project (banner, edits off), a damaged one (rebuild), and label conflicts in Data Health. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-application.h"
#include "sl-class-list.h"
#include "sl-dataset-page.h"
#include "sl-import-dialog.h"
#include "sl-input-spec-editor.h"
#include "sl-session.h"
#include "sl-step-row.h"
#include "sl-window.h"
#include "ui-test-util.h"

static SlApplication *app;

static SlWindow *
new_window (void)
{
  SlWindow *window = sl_window_new (GTK_APPLICATION (app));

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  ui_test_show_window (GTK_WINDOW (window));
  return window;
}

static gboolean
dialog_in_state (gpointer data)
{
  gpointer *args = data;

  return (int) sl_import_dialog_get_state (args[0]) == GPOINTER_TO_INT (args[1]);
}

static void
wait_dialog_state (SlImportDialog *dialog, SlImportState state)
{
  gpointer args[] = { dialog, GINT_TO_POINTER (state) };

  g_assert_true (ui_test_wait_until (dialog_in_state, args, 60000));
}

static gboolean
health_ready (gpointer data)
{
  return !sl_class_list_get_health_busy (data);
}

typedef struct
{
  SlClassList *list;
  const char *text;
  gboolean shown;
} LabelWait;

/* Whether the class list shows (or, shown FALSE, no longer shows) a label with text. */
static gboolean
list_shows (gpointer data)
{
  LabelWait *w = data;

  return (ui_test_find_label (GTK_WIDGET (w->list), w->text) != NULL) == w->shown;
}

static SlClassList *
wait_for_health (SlWindow *window)
{
  SlDatasetPage *page
      = SL_DATASET_PAGE (ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_DATASET_PAGE, NULL));
  SlClassList *list;

  g_assert_nonnull (page);
  list = sl_dataset_page_get_class_list (page);
  ui_test_spin (600); /* the health query starts after a short delay */
  g_assert_true (ui_test_wait_until (health_ready, list, 20000));
  ui_test_spin (100);
  return list;
}

/* A button below root with this label, or NULL. */
static GtkWidget *
find_button (GtkWidget *root, const char *text)
{
  GtkWidget *w = ui_test_find_widget (root, GTK_TYPE_BUTTON, text);

  return w != NULL ? w : ui_test_find_widget (root, GTK_TYPE_MENU_BUTTON, text);
}

/* ---- read-only ------------------------------------------------------------------- */

/* How many of a widget's controllers can start a drag or take a drop. */
static guint
drag_and_drop_controllers (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);

      if (GTK_IS_DRAG_SOURCE (c) || GTK_IS_DROP_TARGET (c))
        n++;
    }
  return n;
}

/* Counts the chain's step rows below root and the drag-and-drop controllers on them. */
static void
count_step_rows (GtkWidget *root, guint *rows, guint *dnd)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (SL_IS_STEP_ROW (child))
        {
          (*rows)++;
          *dnd += drag_and_drop_controllers (child);
        }
      count_step_rows (child, rows, dnd);
    }
}

static gboolean
has_two_step_rows (gpointer window)
{
  guint rows = 0, dnd = 0;

  count_step_rows (window, &rows, &dnd);
  return rows == 2;
}

static void
read_only_child (void)
{
  const char *path = g_getenv ("SL_TEST_UI_PROJECT");
  SlWindow *window;
  GtkWidget *banner, *import;
  g_autofree char *shot = NULL;

  if (!g_test_subprocess ())
    {
      g_test_skip ("runs inside /ui/damaged/read-only");
      return;
    }
  if (!pt_make_read_only (path))
    {
      g_autofree char *marker = g_build_filename (g_getenv ("SL_TEST_UI_TMP"), "skipped", NULL);
      g_file_set_contents (marker, "", 0, NULL);
      return;
    }
  window = new_window ();
  g_assert_true (sl_window_open_project (window, path));
  g_assert_true (sl_session_is_read_only (sl_window_get_session (window)));
  /* The banner says why edits are off. */
  banner = ui_test_find_label (GTK_WIDGET (window), "Read-only project.");
  g_assert_nonnull (banner);
  g_assert_true (gtk_widget_is_visible (banner));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (banner)), "edits are off"));
  wait_for_health (window);
  /* Browsing works; the edits are off. */
  import = find_button (GTK_WIDGET (window), "Import");
  g_assert_nonnull (import);
  g_assert_false (gtk_widget_is_sensitive (import));
  {
    GtkWidget *list = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_CLASS_LIST, NULL);
    GtkWidget *add = ui_test_find_widget (list, GTK_TYPE_MENU_BUTTON, NULL);

    g_assert_nonnull (add);
    g_assert_cmpstr (gtk_widget_get_tooltip_text (add), ==, "The project is read-only");
    g_assert_false (gtk_widget_is_sensitive (add));
  }
  shot = ui_test_save_screenshot (GTK_WIDGET (window), "read-only-project");
  g_test_message ("screenshot: %s", shot);
  /* The Preprocess page shows the pipeline; its editors are off. */
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "preprocess"));
  ui_test_spin (300);
  {
    GtkWidget *editor = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_INPUT_SPEC_EDITOR, NULL);

    g_assert_nonnull (editor);
    g_assert_false (gtk_widget_is_sensitive (editor));
  }
  /* Its two steps show but cannot be dragged into another order: no drag source, no drop target. */
  {
    guint rows = 0, dnd = 0;

    g_assert_true (ui_test_wait_until (has_two_step_rows, window, 10000));
    count_step_rows (GTK_WIDGET (window), &rows, &dnd);
    g_assert_cmpuint (rows, ==, 2);
    g_assert_cmpuint (dnd, ==, 0);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  ui_test_spin (100);
  g_print ("read-only ok\n");
}

static void
test_read_only (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *marker = NULL, *db = NULL;
  g_autoptr (SlProject) project = ui_test_fmnist_project (40, 3, &tmp);

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  db = g_build_filename (path, "project.db", NULL);
  /* A chain of two steps, whose order the read-only window must not offer to change. */
  {
    g_autoptr (GError) error = NULL;
    sl_pipeline *chain = NULL;
    char *json;

    g_assert_cmpint (sl_pipeline_new (&chain, NULL), ==, SL_OK);
    g_assert_cmpint (sl_pipeline_insert_step (chain, -1, "median-blur", NULL), ==, SL_OK);
    g_assert_cmpint (sl_pipeline_insert_step (chain, -1, "equalize-hist", NULL), ==, SL_OK);
    json = sl_pipeline_to_json (chain);
    g_assert_true (sl_project_set_pipeline_json (project, json, &error));
    g_assert_no_error (error);
    sl_free (json);
    sl_pipeline_free (chain);
  }
  g_clear_pointer (&project, sl_project_unref);
  marker = g_build_filename (tmp, "skipped", NULL);
  g_setenv ("SL_TEST_UI_PROJECT", path, TRUE);
  g_setenv ("SL_TEST_UI_TMP", tmp, TRUE);
  g_test_trap_subprocess ("/ui/damaged/read-only/child", 120 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  if (g_file_test (marker, G_FILE_TEST_EXISTS))
    g_test_skip ("no way to make a read-only project here (root without CAP_SYS_ADMIN)");
  else
    g_test_trap_assert_stdout ("*read-only ok*");
  g_chmod (path, 0755);
  g_chmod (db, 0644);
  sl_remove_tree (tmp);
}

/* ---- a damaged project: the dialog and the rebuild ------------------------------------ */

static gboolean
window_has_session (gpointer data)
{
  return sl_window_get_session (data) != NULL;
}

static void
test_rebuild (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *db = NULL, *shot = NULL;
  g_autoptr (SlProject) project = ui_test_fmnist_project (40, 3, &tmp);
  SlWindow *window;
  GtkWindow *dialog;
  SlProjectStats s;
  g_autoptr (GError) error = NULL;

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  db = g_build_filename (path, "project.db", NULL);
  g_clear_pointer (&project, sl_project_unref);
  g_assert_true (g_file_set_contents (db, "", 0, NULL)); /* the index is lost */

  window = new_window ();
  g_assert_false (sl_window_open_project (window, path));
  dialog = ui_test_find_dialog ("is damaged");
  g_assert_nonnull (dialog);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "images/ holds 40 files"));
  ui_test_spin (200);
  shot = ui_test_save_screenshot (GTK_WIDGET (dialog), "damaged-project");
  g_test_message ("screenshot: %s", shot);
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Rebuild Index"));
  g_assert_true (ui_test_wait_until (window_has_session, window, 30000));
  g_assert_cmpstr (sl_window_get_toast_title (window), ==, "Project index rebuilt");
  g_assert_true (
      sl_project_get_stats (sl_session_get_project (sl_window_get_session (window)), &s, &error));
  g_assert_cmpint (s.images, ==, 40);
  sl_project_stats_clear (&s);
  gtk_window_destroy (GTK_WINDOW (window));
  ui_test_close_all_windows ();
  sl_remove_tree (tmp);
}

/* The window that the rebuild from Data Health opens, once it shows the project. */
static gboolean
rebuilt_window_open (gpointer data)
{
  GtkWindow *window = ui_test_find_toplevel (SL_TYPE_WINDOW);

  return window != NULL && sl_window_get_session (SL_WINDOW (window)) != NULL
         && g_strcmp0 (sl_window_get_toast_title (SL_WINDOW (window)), "Project index rebuilt")
                == 0;
}

/* Damage that opening does not see (the import history's table) shows in Data Health. */
static void
test_damage_in_health (void)
{
  g_autofree char *tmp = NULL, *path = NULL, *db = NULL, *junk = NULL, *more = NULL;
  g_autoptr (SlProject) project = ui_test_fmnist_project (30, 2, &tmp);
  g_autoptr (GError) error = NULL;
  SlImportResult result;
  SlWindow *window;
  SlClassList *list;
  sqlite3 *raw;
  sqlite3_stmt *stmt;
  gint64 page, size;
  guint8 bytes[512];
  GLogLevelFlags fatal;
  GtkWindow *dialog;
  SlProjectStats s;
  FILE *f;

  if (project == NULL)
    return;
  more = g_build_filename (tmp, "more", NULL);
  junk = g_build_filename (more, "notes.txt", NULL);
  g_mkdir_with_parents (more, 0755);
  g_assert_true (g_file_set_contents (junk, "not an image", -1, NULL));
  g_assert_true (sl_project_import_folder (project, more, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL, NULL,
                                           &result, &error));
  sl_import_result_clear (&result);
  path = g_strdup (sl_project_get_path (project));
  db = g_build_filename (path, "project.db", NULL);
  g_clear_pointer (&project, sl_project_unref);
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw,
                                       "SELECT rootpage, (SELECT page_size FROM pragma_page_size) "
                                       "FROM sqlite_master WHERE name = 'import_issues'",
                                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  page = sqlite3_column_int64 (stmt, 0);
  size = sqlite3_column_int64 (stmt, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (raw);
  memset (bytes, 0xa5, sizeof bytes);
  f = fopen (db, "r+b");
  g_assert_cmpint (fseek (f, (page - 1) * size, SEEK_SET), ==, 0);
  g_assert_cmpint (fwrite (bytes, 1, sizeof bytes, f), ==, sizeof bytes);
  fclose (f);

  /* The Train page logs the same damage report as a warning while it counts
   * the images: expected here, so warnings are not fatal for this test. */
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  window = new_window ();
  g_assert_true (sl_window_open_project (window, path));
  list = wait_for_health (window);
  ui_test_wait_until (list_shows, &(LabelWait){ list, "The project is damaged.", TRUE }, 20000);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (list), "The project is damaged."));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (list), "sightline-cli repair"));
  /* Data Health offers the same rebuild as opening does: its dialog, then a
   * window with the project open again on its new index. */
  g_assert_true (ui_test_click_button (GTK_WIDGET (list), "Rebuild Index…"));
  dialog = ui_test_find_dialog ("is damaged");
  g_assert_nonnull (dialog);
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Rebuild Index"));
  g_assert_true (ui_test_wait_until (rebuilt_window_open, NULL, 30000));
  window = SL_WINDOW (ui_test_find_toplevel (SL_TYPE_WINDOW));
  g_assert_cmpstr (sl_window_get_toast_title (window), ==, "Project index rebuilt");
  g_assert_true (
      sl_project_get_stats (sl_session_get_project (sl_window_get_session (window)), &s, &error));
  g_assert_cmpint (s.images, ==, 30);
  sl_project_stats_clear (&s);
  list = wait_for_health (window);
  g_assert_null (ui_test_find_label (GTK_WIDGET (list), "The project is damaged."));
  {
    g_autofree char *kept = NULL;
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      if (g_str_has_prefix (name, "project.db.damaged-"))
        kept = g_strdup (name);
    g_assert_nonnull (kept); /* the damaged file is kept */
  }
  gtk_window_destroy (GTK_WINDOW (window));
  ui_test_close_all_windows ();
  g_log_set_always_fatal (fatal);
  sl_remove_tree (tmp);
}

/* ---- label conflicts in Data Health --------------------------------------------------------- */

static void
test_conflicts (void)
{
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *from = NULL, *to = NULL, *data = NULL, *shot = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) conflicts = NULL;
  g_autoptr (GDir) dir = NULL;
  const SlLabelConflict *c;
  SlClassList *list;
  SlWindow *window;
  gint64 image_id;
  gsize len;

  if (ui_test_write_fmnist_tree (src, 30, 2, "img") < 0)
    return;
  /* One t-shirt picture also lies in the trouser folder. */
  from = g_build_filename (src, "t-shirt", NULL);
  dir = g_dir_open (from, 0, NULL);
  g_assert_nonnull (dir);
  {
    g_autofree char *file = g_build_filename (from, g_dir_read_name (dir), NULL);
    g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  }
  to = g_build_filename (src, "trouser", "zz-also-here.png", NULL);
  g_assert_true (g_file_set_contents (to, data, len, NULL));
  project = sl_project_create (path, NULL, &error);
  g_clear_pointer (&project, sl_project_unref);

  /* Imported through the Import dialog, whose summary counts the conflict. */
  window = new_window ();
  g_assert_true (sl_window_open_project (window, path));
  {
    SlDatasetPage *page
        = SL_DATASET_PAGE (ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_DATASET_PAGE, NULL));
    g_autoptr (GFile) folder = g_file_new_for_path (src);
    SlImportDialog *dialog = sl_dataset_page_import (page, &folder, 1);
    const SlImportResult *r;

    wait_dialog_state (dialog, SL_IMPORT_STATE_READY);
    sl_import_dialog_start (dialog);
    wait_dialog_state (dialog, SL_IMPORT_STATE_DONE);
    r = sl_import_dialog_get_result (dialog);
    g_assert_cmpint (r->conflicts, ==, 1);
    g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "In two class folders"));
    g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "a label conflict to resolve"));
    ui_test_spin (200);
    g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "import-summary-conflict"));
    gtk_window_close (GTK_WINDOW (dialog));
  }
  conflicts = sl_project_list_label_conflicts (
      sl_session_get_project (sl_window_get_session (window)), &error);
  g_assert_cmpuint (conflicts->len, ==, 1);
  c = g_ptr_array_index (conflicts, 0);
  image_id = c->image_id;
  g_assert_cmpstr (c->kept_class, ==, "t-shirt");
  list = wait_for_health (window);
  ui_test_wait_until (list_shows, &(LabelWait){ list, "found in two class folders", TRUE }, 20000);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (list), "found in two class folders"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (list), "Resolve…"));
  shot = ui_test_save_screenshot (GTK_WIDGET (window), "data-health-conflicts");
  g_test_message ("screenshot: %s", shot);

  /* The user picks "trouser" from the Resolve… menu. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (list), "classes.resolve-conflict", "(xs)",
                                             image_id, "trouser"));
  /* The warning goes once the health query after the change (it starts after a pause) is in. */
  ui_test_wait_until (list_shows, &(LabelWait){ list, "found in two class folders", FALSE }, 20000);
  g_assert_true (ui_test_wait_until ((UiTestCondition) G_CALLBACK (health_ready), list, 20000));
  g_assert_null (ui_test_find_label (GTK_WIDGET (list), "found in two class folders"));
  {
    SlImageInfo *info = sl_project_get_image (
        sl_session_get_project (sl_window_get_session (window)), image_id, &error);
    g_assert_cmpstr (info->class_name, ==, "trouser");
    sl_image_info_free (info);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  ui_test_close_all_windows ();
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-damaged-data-XXXXXX", NULL);

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_test_add_func ("/ui/damaged/read-only", test_read_only);
  g_test_add_func ("/ui/damaged/read-only/child", read_only_child);
  g_test_add_func ("/ui/damaged/rebuild", test_rebuild);
  g_test_add_func ("/ui/damaged/conflicts", test_conflicts);
  g_test_add_func ("/ui/damaged/damage-in-health", test_damage_in_health);
  return g_test_run ();
}
