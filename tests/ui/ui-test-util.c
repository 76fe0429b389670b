/* ui-test-util.c: the UI tests' harness: GTK set-up, Fashion-MNIST projects, main-loop waits, widget lookup, screenshots. */
#include "ui-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-resources.h"
#include "sl-train-job.h"
#include "sl-train-settings.h"

void
ui_test_init (int *argc, char ***argv)
{
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  GdkDisplay *display;

  gtk_test_init (argc, argv, NULL);
  display = gdk_display_get_default ();
  /* Transitions finish at once, so what a test sees (and saves) is the end state. */
  g_object_set (gtk_settings_get_for_display (display), "gtk-enable-animations", FALSE, NULL);
  /* The application loads these in its startup; tests of single widgets need them too. */
  (void) sl_resources_get_resource ();
  gtk_css_provider_load_from_resource (css, "/org/sightline/Sightline/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (display),
                                    "/org/sightline/Sightline/icons");
}

SlProject *
ui_test_fmnist_project (int n, int n_classes, char **tmp)
{
  return pt_fmnist_project (n, n_classes, tmp);
}

gint64
ui_test_train_run (SlProject *project, int epochs)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  SlRunConfig config;

  sl_run_config_init (&config);
  g_free (config.preset);
  config.preset = g_strdup ("seed-cnn");
  config.epochs = epochs;
  config.threads = 2;
  config.patience = 0;
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  return sl_train_job_get_run_id (job);
}

GtkWidget *
ui_test_find_control (GtkWidget *root, const char *title)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_LABEL (child) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (child)), title) == 0
          && gtk_label_get_mnemonic_widget (GTK_LABEL (child)) != NULL)
        return gtk_label_get_mnemonic_widget (GTK_LABEL (child));
      if ((found = ui_test_find_control (child, title)) != NULL)
        return found;
    }
  return NULL;
}

void
ui_test_choose_item (GtkWidget *drop_down, const char *title, const char *text)
{
  GtkDropDown *drop = GTK_DROP_DOWN (drop_down);
  GListModel *model = gtk_drop_down_get_model (drop);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (model), i), text) == 0)
      {
        gtk_drop_down_set_selected (drop, i);
        return;
      }
  g_error ("“%s” has no item “%s”", title, text);
}

/* A recipe small enough to train in a few seconds on two cores. */
static const char *tiny_config
    = "{\"preset\": \"seed-cnn\", \"epochs\": %d, \"batch_size\": 32, \"threads\": 2, "
      "\"workers\": 2, \"patience\": 0, \"learning_rate\": 0.002, \"optimizer\": \"adam\", "
      "\"seed\": \"7\", \"class_weights\": \"none\", \"schedule\": \"constant\", "
      "\"augment\": null, \"model\": {}, \"pipeline\": %s}";

char *
ui_test_tiny_config_json (SlProject *project, int epochs)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pipeline = sl_project_dup_pipeline_json (project, &error);

  g_assert_no_error (error);
  return g_strdup_printf (tiny_config, epochs, pipeline);
}

void
ui_test_load_tiny_config (SlTrainPage *page, SlProject *project, int epochs)
{
  g_autofree char *json = ui_test_tiny_config_json (project, epochs);

  g_assert_true (sl_train_settings_load_config_json (sl_train_page_get_settings (page), json));
}

gboolean
ui_test_train_log_contains (SlTrainPage *page, const char *text)
{
  g_auto (GStrv) lines = sl_train_page_dup_log (page);

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], text) != NULL)
      return TRUE;
  return FALSE;
}

int
ui_test_write_fmnist_tree (const char *dir, int n, int n_classes, const char *prefix)
{
  return pt_write_fmnist_tree (dir, TRUE, n, n_classes, prefix);
}

char *
ui_test_make_tmp (void)
{
  return pt_make_tmp ();
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
ui_test_wait_until (UiTestCondition cond, gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint tick = g_timeout_add (5, wake_up, NULL); /* so an iteration never blocks for long */
  gboolean met;

  while (!(met = cond (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return met;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
ui_test_spin (guint ms)
{
  ui_test_wait_until (never, NULL, ms);
  /* A loaded machine can stall the loop past ms before it ran what was due by then (an idle,
   * a short timeout): run that too, so a spin always lets ready work happen. */
  for (int i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget);
}

void
ui_test_show_window (GtkWindow *window)
{
  gtk_window_present (window);
  g_assert_true (ui_test_wait_until (is_mapped, window, 5000));
  ui_test_spin (200);
}

GtkWindow *
ui_test_window_new (GtkWidget *child, int width, int height)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());

  gtk_window_set_default_size (window, width > 0 ? width : 1280, height > 0 ? height : 800);
  gtk_window_set_child (window, child);
  ui_test_show_window (window);
  return window;
}

static const char *
widget_text (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget))
    return gtk_label_get_text (GTK_LABEL (widget));
  if (GTK_IS_BUTTON (widget))
    return gtk_button_get_label (GTK_BUTTON (widget));
  if (GTK_IS_EDITABLE (widget))
    return gtk_editable_get_text (GTK_EDITABLE (widget));
  if (GTK_IS_WINDOW (widget))
    return gtk_window_get_title (GTK_WINDOW (widget));
  return NULL;
}

static GtkWidget *
find (GtkWidget *widget, GType type, const char *text, gboolean shown_only)
{
  const char *own;

  if (shown_only && (!gtk_widget_get_visible (widget) || !gtk_widget_get_child_visible (widget)))
    return NULL;
  own = widget_text (widget);
  if ((type == G_TYPE_NONE || G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
      && (text == NULL || (own != NULL && strstr (own, text) != NULL)))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find (c, type, text, shown_only);

      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
ui_test_find_widget (GtkWidget *root, GType type, const char *text)
{
  g_return_val_if_fail (GTK_IS_WIDGET (root), NULL);
  return find (root, type, text, FALSE);
}

GtkWidget *
ui_test_find_label (GtkWidget *root, const char *text)
{
  g_return_val_if_fail (GTK_IS_WIDGET (root), NULL);
  return find (root, GTK_TYPE_LABEL, text, TRUE);
}

static char *
screenshot_dir (void)
{
  const char *root = g_getenv ("MESON_BUILD_ROOT");

  if (root != NULL && *root != '\0')
    return g_build_filename (root, "screenshots", NULL);
  return g_build_filename (g_get_current_dir (), "screenshots", NULL);
}

/* The widget as last painted; NULL while a redraw is pending (its render node
 * is dropped then). The paintable follows the widget's paints. */
static GskRenderNode *
render_widget (GdkPaintable *paintable, int width, int height)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  return gtk_snapshot_free_to_node (snapshot);
}

char *
ui_test_save_screenshot (GtkWidget *widget, const char *name)
{
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *dir = screenshot_dir ();
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  char *path = g_build_filename (dir, file, NULL);
  GskRenderer *renderer;
  int width, height;

  g_return_val_if_fail (GTK_IS_WIDGET (widget), NULL);
  g_assert_true (gtk_widget_get_mapped (widget));
  ui_test_spin (100); /* let the last layout and paint happen */
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  paintable = gtk_widget_paintable_new (widget);
  for (int tries = 0; (node = render_widget (paintable, width, height)) == NULL && tries < 100;
       tries++)
    ui_test_spin (20);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_mkdir_with_parents (dir, 0755);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
  return path;
}

GtkWindow *
ui_test_find_dialog (const char *text)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = g_list_model_get_n_items (toplevels); i > 0; i--)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, i - 1);

      if (gtk_widget_get_visible (window) && ui_test_find_label (window, text) != NULL)
        return GTK_WINDOW (window);
    }
  return NULL;
}

gboolean
ui_test_click_button (GtkWidget *root, const char *text)
{
  GtkWidget *button = ui_test_find_widget (root, GTK_TYPE_BUTTON, text);

  if (button == NULL)
    return FALSE;
  g_signal_emit_by_name (button, "clicked");
  return TRUE;
}

GtkWindow *
ui_test_find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = g_list_model_get_n_items (toplevels); i > 0; i--)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i - 1);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type))
        return window;
    }
  return NULL;
}

void
ui_test_close_all_windows (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  while (g_list_model_get_n_items (toplevels) > 0)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, 0);
      gtk_window_destroy (window);
    }
  ui_test_spin (50);
}
