/* test-ui-screen.c: the project window on a real screen under Xvfb: every page's minimum size with a realistic project, screenshots at 1024x700 and 1920x1080. */
#include <stdlib.h>
#include <string.h>

#include "sl-application.h"
#include "sl-checkerboard.h"
#include "sl-dataset-page.h"
#include "sl-evaluate-page.h"
#include "sl-evaluation.h"
#include "sl-image-view.h"
#include "sl-input-spec-editor.h"
#include "sl-export-page.h"
#include "sl-prediction-card.h"
#include "sl-preview-worker.h"
#include "sl-preprocess-page.h"
#include "sl-session.h"
#include "sl-settings.h"
#include "sl-thumbnail-cache.h"
#include "sl-vision.h"
#include "sl-toast.h"
#include "sl-run.h"
#include "sl-train-page.h"
#include "sl-train-settings.h"
#include "sl-welcome-view.h"
#include "sl-window.h"
#include "ui-test-util.h"

/* The smallest screens the workbench is for: a line PC's 1024x768 less a panel. */
#define SMALL_WIDTH  1024
#define SMALL_HEIGHT 700

static SlApplication *app;

typedef struct
{
  char *tmp;
  SlProject *project;
  SlWindow *window;
} Fixture;

static const char *const pages[] = { "dataset", "preprocess", "train", "evaluate", "export" };

/* A project with content on every page: 10 classes, a trained run, its evaluation. */
static gboolean
fixture_build (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  gint64 run_id;

  f->project = ui_test_fmnist_project (300, 10, &f->tmp);
  if (f->project == NULL)
    return FALSE;
  run_id = ui_test_train_run (f->project, 2);
  g_assert_cmpint (sl_project_evaluate (f->project, run_id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 5, 2,
                                        NULL, NULL, NULL, &error),
                   >=, 0);
  g_assert_no_error (error);
  return TRUE;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static gboolean
page_settled (gpointer data)
{
  GtkWidget *page = data;

  if (SL_IS_DATASET_PAGE (page))
    return !g_str_equal (sl_dataset_page_get_view_state (SL_DATASET_PAGE (page)), "loading");
  if (SL_IS_PREPROCESS_PAGE (page))
    return !sl_preprocess_page_is_loading (SL_PREPROCESS_PAGE (page));
  if (SL_IS_EVALUATE_PAGE (page))
    return !sl_evaluate_page_is_busy (SL_EVALUATE_PAGE (page))
           && g_str_equal (sl_evaluate_page_get_view_state (SL_EVALUATE_PAGE (page)), "results");
  return TRUE;
}

static GtkStack *
page_stack (SlWindow *window)
{
  GtkWidget *dataset = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_DATASET_PAGE, NULL);

  g_assert_nonnull (dataset);
  return GTK_STACK (gtk_widget_get_parent (dataset));
}

static GtkWidget *
show_page (SlWindow *window, const char *name)
{
  GtkWidget *page = gtk_stack_get_child_by_name (page_stack (window), name);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", name));
  g_assert_true (ui_test_wait_until (page_settled, page, 30000));
  ui_test_spin (300); /* thumbnails and charts fill in */
  return page;
}

/* The window's minimum width, and its minimum height at that width. */
static void
measure_window (SlWindow *window, int *width, int *height)
{
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, width, NULL, NULL, NULL);
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_VERTICAL, MAX (*width, SMALL_WIDTH),
                      height, NULL, NULL, NULL);
}

/* Debug aid (SL_TEST_SIZE_TREE=1): every widget wider than `over` pixels at its minimum. */
static void
dump_min_widths (GtkWidget *widget, int depth, int over)
{
  int min_w, min_h;

  if (!gtk_widget_get_visible (widget))
    return;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min_w, NULL, NULL, NULL);
  gtk_widget_measure (widget, GTK_ORIENTATION_VERTICAL, -1, &min_h, NULL, NULL, NULL);
  if (min_w < over && min_h < over / 2)
    return;
  g_test_message ("%*s%s %s: %d x %d", depth * 2, "", G_OBJECT_TYPE_NAME (widget),
                  gtk_widget_get_name (widget), min_w, min_h);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    dump_min_widths (c, depth + 1, over);
}

static void
save_screenshot (SlWindow *window, const char *name)
{
  GtkWidget *toast = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_TOAST, NULL);

  if (toast != NULL)
    sl_toast_dismiss (SL_TOAST (toast));
  ui_test_spin (300);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), name));
}

static void
resize (SlWindow *window, int width, int height)
{
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  ui_test_spin (400);
}

static void
open_window (Fixture *f)
{
  g_autoptr (SlSession) session = sl_session_new_for_project (f->project);

  f->window = sl_window_new (GTK_APPLICATION (app));
  sl_window_set_session (f->window, session);
  gtk_window_set_default_size (GTK_WINDOW (f->window), SMALL_WIDTH, SMALL_HEIGHT);
  ui_test_show_window (GTK_WINDOW (f->window));
}

static void
test_min_size (Fixture *f, gconstpointer data)
{
  const char *too_big = NULL;
  GtkStack *stack;
  int width, height;

  if (!fixture_build (f))
    return;
  open_window (f);
  stack = page_stack (f->window);

  for (gsize i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      GtkWidget *page = show_page (f->window, pages[i]);
      int page_w, page_h;

      /* The window as if it held this page alone. */
      gtk_stack_set_hhomogeneous (stack, FALSE);
      gtk_stack_set_vhomogeneous (stack, FALSE);
      measure_window (f->window, &width, &height);
      gtk_widget_measure (page, GTK_ORIENTATION_HORIZONTAL, -1, &page_w, NULL, NULL, NULL);
      gtk_widget_measure (page, GTK_ORIENTATION_VERTICAL, -1, &page_h, NULL, NULL, NULL);
      g_test_message ("min size: %s page %d x %d, window %d x %d", pages[i], page_w, page_h, width,
                      height);
      if (g_getenv ("SL_TEST_SIZE_TREE") != NULL)
        {
          dump_min_widths (page, 0, atoi (g_getenv ("SL_TEST_SIZE_TREE")));
          dump_min_widths (gtk_window_get_titlebar (GTK_WINDOW (f->window)), 0, 0);
        }
      gtk_stack_set_hhomogeneous (stack, TRUE);
      gtk_stack_set_vhomogeneous (stack, TRUE);
      /* Every page is measured before the first failure is reported. */
      if (width > SMALL_WIDTH || height > SMALL_HEIGHT)
        too_big = too_big != NULL ? too_big : pages[i];

      /* And for real: the window keeps the small size it was given. */
      resize (f->window, SMALL_WIDTH, SMALL_HEIGHT);
      if (gtk_widget_get_width (GTK_WIDGET (f->window)) > SMALL_WIDTH
          || gtk_widget_get_height (GTK_WIDGET (f->window)) > SMALL_HEIGHT)
        too_big = too_big != NULL ? too_big : pages[i];
    }
  g_assert_cmpstr (too_big, ==, NULL);
  measure_window (f->window, &width, &height);
  g_test_message ("min size: window %d x %d", width, height);
  g_assert_cmpint (width, <=, SMALL_WIDTH);
  g_assert_cmpint (height, <=, SMALL_HEIGHT);
}

/* The first row of mistake cards is shown whole, buttons included, without scrolling. */
static void
assert_whole_cards (GtkWidget *evaluate)
{
  GtkWidget *grid = sl_evaluate_page_get_gallery_grid (SL_EVALUATE_PAGE (evaluate));
  GtkWidget *scroller = gtk_widget_get_parent (grid);
  guint cards = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);
      graphene_rect_t bounds;

      if (!SL_IS_PREDICTION_CARD (card) || !gtk_widget_get_mapped (card))
        continue;
      g_assert_true (gtk_widget_compute_bounds (card, scroller, &bounds));
      if (bounds.origin.y > 40) /* a later row */
        continue;
      cards++;
      g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=,
                         gtk_widget_get_height (scroller));
    }
  g_assert_cmpuint (cards, >, 0);
}

static gboolean
export_idle (gpointer page)
{
  return !sl_export_page_is_exporting (page);
}

/* The buttons and labels shown below widget. */
static void
collect_shown (GtkWidget *widget, GPtrArray *out)
{
  if (!gtk_widget_get_mapped (widget))
    return;
  if (GTK_IS_BUTTON (widget) || GTK_IS_LABEL (widget))
    g_ptr_array_add (out, widget);
  if (GTK_IS_BUTTON (widget))
    return;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    collect_shown (c, out);
}

/* No shown button below root overlaps another shown button or label. */
static void
assert_no_overlap (SlWindow *window, GtkWidget *root)
{
  g_autoptr (GPtrArray) shown = g_ptr_array_new ();

  collect_shown (root, shown);
  for (guint i = 0; i < shown->len; i++)
    for (guint j = i + 1; j < shown->len; j++)
      {
        GtkWidget *a = shown->pdata[i], *b = shown->pdata[j];
        graphene_rect_t ra, rb, both;

        if (!GTK_IS_BUTTON (a) && !GTK_IS_BUTTON (b))
          continue;
        if (gtk_widget_is_ancestor (a, b) || gtk_widget_is_ancestor (b, a))
          continue;
        if (!gtk_widget_compute_bounds (a, GTK_WIDGET (window), &ra)
            || !gtk_widget_compute_bounds (b, GTK_WIDGET (window), &rb))
          continue;
        if (graphene_rect_intersection (&ra, &rb, &both) && both.size.width > 1
            && both.size.height > 1)
          g_error ("%s “%s” overlaps %s “%s”", G_OBJECT_TYPE_NAME (a),
                   GTK_IS_LABEL (a) ? gtk_label_get_text (GTK_LABEL (a)) : "",
                   G_OBJECT_TYPE_NAME (b),
                   GTK_IS_LABEL (b) ? gtk_label_get_text (GTK_LABEL (b)) : "");
      }
}

static void
test_screenshots (Fixture *f, gconstpointer data)
{
  static const int sizes[][2]
      = { { SMALL_WIDTH, SMALL_HEIGHT }, { 1280, 720 }, { 1280, 800 }, { 1920, 1080 } };

  if (!fixture_build (f))
    return;
  open_window (f);
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      resize (f->window, sizes[s][0], sizes[s][1]);
      for (gsize i = 0; i < G_N_ELEMENTS (pages); i++)
        {
          g_autofree char *name
              = g_strdup_printf ("screen-%dx%d-%s", sizes[s][0], sizes[s][1], pages[i]);

          GtkWidget *page = show_page (f->window, pages[i]);

          save_screenshot (f->window, name);
          if (SL_IS_EVALUATE_PAGE (page) && sizes[s][1] >= 720)
            assert_whole_cards (page);
          if (SL_IS_EXPORT_PAGE (page) && s == 0)
            {
              /* The summary after an export, at the smallest size. */
              g_autofree char *out = g_build_filename (f->tmp, "line", NULL);

              sl_export_page_set_folder (SL_EXPORT_PAGE (page), out);
              g_assert_true (gtk_widget_activate_action (page, "export.run", NULL));
              ui_test_spin (50);
              g_assert_true (ui_test_wait_until (export_idle, page, 60000));
              g_assert_nonnull (sl_export_page_get_result (SL_EXPORT_PAGE (page)));
              save_screenshot (f->window, "screen-1024x700-export-done");
              {
                GtkWidget *summary = ui_test_find_label (page, "exported in");

                while (summary != NULL && !gtk_widget_has_css_class (summary, "sl-card"))
                  summary = gtk_widget_get_parent (summary);
                g_assert_nonnull (summary);
                assert_no_overlap (f->window, summary);
              }
            }
        }
    }
}

static GtkWidget *
find_css_class (GtkWidget *root, const char *css_class)
{
  if (gtk_widget_has_css_class (root, css_class))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_css_class (c, css_class);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_training (gpointer session)
{
  return sl_session_is_training (session);
}

static gboolean
no_windows (gpointer data)
{
  return g_list_model_get_n_items (gtk_window_get_toplevels ()) == 0;
}

/* Closing the window while a run trains asks first; "Stop and Close" stops the run,
 * keeps its finished epochs and closes without a warning (warnings are fatal here). */
static void
test_close_during_training (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  g_autofree char *pipeline = NULL, *config = NULL;
  SlSession *session;
  GtkWidget *train;
  GtkWindow *dialog;

  f->project = ui_test_fmnist_project (150, 3, &f->tmp);
  if (f->project == NULL)
    return;
  open_window (f);
  session = sl_window_get_session (f->window);
  train = show_page (f->window, "train");
  pipeline = sl_project_dup_pipeline_json (f->project, &error);
  g_assert_no_error (error);
  config = g_strdup_printf (
      "{\"preset\": \"seed-cnn\", \"epochs\": 200, \"batch_size\": 16, \"threads\": 1, "
      "\"workers\": 1, \"patience\": 0, \"learning_rate\": 0.002, \"optimizer\": \"adam\", "
      "\"seed\": \"7\", \"class_weights\": \"none\", \"schedule\": \"constant\", "
      "\"augment\": null, \"model\": {}, \"pipeline\": %s}",
      pipeline);
  g_assert_true (sl_train_settings_load_config_json (
      sl_train_page_get_settings (SL_TRAIN_PAGE (train)), config));
  g_assert_true (gtk_widget_activate_action (train, "training.start", NULL));
  g_assert_true (ui_test_wait_until (is_training, session, 10000));
  ui_test_spin (1500); /* progress signals and the elapsed-time tick are flowing */
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "screen-training"));
  {
    /* The live run's badge is dark text on a light tint (it was white on nothing). */
    GtkWidget *badge = find_css_class (train, "sl-run-status");
    GdkRGBA color;

    g_assert_nonnull (badge);
    g_assert_true (g_str_equal (gtk_label_get_text (GTK_LABEL (badge)), "Preparing")
                   || g_str_equal (gtk_label_get_text (GTK_LABEL (badge)), "Training"));
    gtk_style_context_get_color (gtk_widget_get_style_context (badge), &color);
    g_assert_cmpfloat (0.2126 * color.red + 0.7152 * color.green + 0.0722 * color.blue, <, 0.5);
  }

  gtk_window_close (GTK_WINDOW (f->window));
  dialog = ui_test_find_dialog ("Stop Training and Close?");
  g_assert_nonnull (dialog);
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Stop and Close"));
  g_assert_true (ui_test_wait_until (no_windows, NULL, 60000));
  f->window = NULL;
  ui_test_spin (1000); /* any late signal or idle from the runner */

  runs = sl_project_list_runs (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 1);
  g_assert_cmpint (((SlRunInfo *) runs->pdata[0])->status, !=, SL_RUN_RUNNING);
}

static gboolean
one_welcome_window (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  g_autoptr (GObject) window = NULL;

  if (g_list_model_get_n_items (toplevels) != 1)
    return FALSE;
  window = g_list_model_get_item (toplevels, 0);
  return window != data && SL_IS_WINDOW (window)
         && g_strcmp0 (sl_window_get_view (SL_WINDOW (window)), "welcome") == 0;
}

/* The main menu's Close Project puts the welcome view in the project window's place. */
static void
test_close_project (Fixture *f, gconstpointer data)
{
  f->project = ui_test_fmnist_project (30, 3, &f->tmp);
  if (f->project == NULL)
    return;
  open_window (f);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.close-project", NULL));
  g_assert_true (ui_test_wait_until (one_welcome_window, f->window, 5000));
  f->window = NULL;
}

static gboolean
shows_show_files (gpointer window)
{
  return ui_test_find_widget (window, GTK_TYPE_BUTTON, "Show _Files") != NULL;
}

/* The files an import skipped as unreadable stay listed after its dialog has gone: Data
 * Health's Show Files… opens them with their reasons. */
static void
test_unreadable_files (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = NULL, *bad = NULL;
  SlImportResult result = { 0 };
  GtkWindow *dialog;

  f->project = ui_test_fmnist_project (30, 3, &f->tmp);
  if (f->project == NULL)
    return;
  folder = g_build_filename (f->tmp, "more", NULL);
  bad = g_build_filename (folder, "broken-part.png", NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (bad, "not a png at all", -1, NULL));
  g_assert_true (
      sl_project_import_folder (f->project, folder, 0, 0, NULL, NULL, NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.unreadable, ==, 1);
  sl_import_result_clear (&result);

  open_window (f);
  show_page (f->window, "dataset");
  g_assert_true (ui_test_wait_until (shows_show_files, f->window, 10000));
  g_assert_true (ui_test_click_button (GTK_WIDGET (f->window), "Show _Files"));
  dialog = ui_test_find_dialog ("broken-part.png");
  g_assert_nonnull (dialog);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "Unreadable File"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "unreadable-files"));
}

/* The Preprocess page picks its preview image itself too: next and previous step through
 * the project's images, and the picker names the one shown. */
static void
test_preview_picker (Fixture *f, gconstpointer data)
{
  GtkWidget *page;
  gint64 first, second;

  f->project = ui_test_fmnist_project (30, 3, &f->tmp);
  if (f->project == NULL)
    return;
  open_window (f);
  page = show_page (f->window, "preprocess");
  g_assert_cmpint (sl_preprocess_page_get_preview_image (SL_PREPROCESS_PAGE (page)), ==, -1);
  g_assert_true (gtk_widget_activate_action (page, "preprocess.next-image", NULL));
  first = sl_preprocess_page_get_preview_image (SL_PREPROCESS_PAGE (page));
  g_assert_cmpint (first, >, 1); /* the first image was shown; this is the one after it */
  g_assert_true (gtk_widget_activate_action (page, "preprocess.next-image", NULL));
  second = sl_preprocess_page_get_preview_image (SL_PREPROCESS_PAGE (page));
  g_assert_cmpint (second, >, first);
  ui_test_spin (200);
  {
    g_autoptr (GError) error = NULL;
    SlImageInfo *info = sl_project_get_image (f->project, second, &error);
    g_autofree char *base = g_path_get_basename (info->original_path);

    g_assert_no_error (error);
    g_assert_nonnull (ui_test_find_label (page, base));
    sl_image_info_free (info);
  }
  g_assert_true (gtk_widget_activate_action (page, "preprocess.previous-image", NULL));
  g_assert_cmpint (sl_preprocess_page_get_preview_image (SL_PREPROCESS_PAGE (page)), ==, first);
}

static gboolean
not_measuring (gpointer editor)
{
  return !sl_input_spec_editor_get_measuring (editor);
}

static void
stored_input (SlProject *project, sl_input_spec *spec)
{
  g_autofree char *json = sl_project_dup_stored_pipeline_json (project);
  sl_pipeline *pipeline = NULL;

  g_assert_cmpint (sl_pipeline_from_json (json, &pipeline, NULL), ==, SL_OK);
  sl_pipeline_get_input (pipeline, spec);
  sl_pipeline_free (pipeline);
}

/* Gray to RGB and back: the statistics follow the channels (converted at once, then
 * measured), never the old channels' values. */
static void
test_channels_statistics (Fixture *f, gconstpointer data)
{
  SlPreprocessPage *page;
  SlInputSpecEditor *editor;
  GtkDropDown *channels = NULL;
  sl_input_spec gray, rgb, back;

  f->project = ui_test_fmnist_project (60, 3, &f->tmp);
  if (f->project == NULL)
    return;
  open_window (f);
  page = SL_PREPROCESS_PAGE (show_page (f->window, "preprocess"));
  editor = sl_preprocess_page_get_input_editor (page);
  sl_input_spec_editor_measure (editor);
  g_assert_true (ui_test_wait_until (not_measuring, editor, 30000));
  sl_preprocess_page_flush (page);
  stored_input (f->project, &gray);
  g_assert_cmpint (gray.channels, ==, 1);
  g_assert_cmpfloat (gray.mean[0], >, 0.05);

  for (GtkWidget *w = ui_test_find_widget (GTK_WIDGET (editor), GTK_TYPE_DROP_DOWN, NULL);
       w != NULL && channels == NULL; w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_DROP_DOWN (w)
        && g_strcmp0 (gtk_string_list_get_string (
                          GTK_STRING_LIST (gtk_drop_down_get_model (GTK_DROP_DOWN (w))), 0),
                      "Gray")
               == 0)
      channels = GTK_DROP_DOWN (w);
  g_assert_nonnull (channels);
  gtk_drop_down_set_selected (channels, 1); /* RGB */
  g_assert_true (ui_test_wait_until (not_measuring, editor, 30000));
  sl_preprocess_page_flush (page);
  stored_input (f->project, &rgb);
  g_assert_cmpint (rgb.channels, ==, 3);
  for (int c = 0; c < 3; c++)
    {
      g_assert_cmpfloat_with_epsilon (rgb.mean[c], gray.mean[0], 0.02);
      g_assert_cmpfloat_with_epsilon (rgb.std[c], gray.std[0], 0.02);
    }
  gtk_drop_down_set_selected (channels, 0); /* back to gray */
  g_assert_true (ui_test_wait_until (not_measuring, editor, 30000));
  sl_preprocess_page_flush (page);
  stored_input (f->project, &back);
  g_assert_cmpint (back.channels, ==, 1);
  g_assert_cmpfloat_with_epsilon (back.mean[0], gray.mean[0], 0.02);
}

/* How many of the grey levels 204 and 153 (the checkerboard's) a rendered widget shows in
 * its centre; a flat fill shows none, or one. */
static int
checker_levels (GtkWidget *widget, const char *name)
{
  g_autofree char *path = ui_test_save_screenshot (widget, name);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) shot = gdk_texture_new_from_filename (path, &error);
  int w, h, light = 0, dark = 0;
  g_autofree guint8 *pixels = NULL;

  g_assert_no_error (error);
  w = gdk_texture_get_width (shot);
  h = gdk_texture_get_height (shot);
  pixels = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (shot, pixels, (gsize) w * 4);
  for (int y = h / 4; y < 3 * h / 4; y++)
    for (int x = w / 4; x < 3 * w / 4; x++)
      {
        const guint8 *p = pixels + ((gsize) y * w + x) * 4; /* B G R A */

        light += p[0] == 204 && p[1] == 204 && p[2] == 204;
        dark += p[0] == 153 && p[1] == 153 && p[2] == 153;
      }
  return (light > 0) + (dark > 0);
}

static gboolean
welcome_loaded (gpointer view)
{
  return sl_welcome_view_get_pending (view) == 0;
}

/* Whether the welcome view's recent project shows its thumbnail. */
static gboolean
thumbnail_loaded (gpointer welcome)
{
  GtkWidget *thumbnail = find_css_class (welcome, "recent-thumbnail");

  return thumbnail != NULL && gtk_widget_has_css_class (thumbnail, "loaded");
}

/* Transparent pixels are drawn on a checkerboard in the pictures (cards, details, Try It),
 * the preview views and the welcome view's thumbnails, never on a flat fill; opaque ones on
 * nothing. */
static void
test_checkerboard (Fixture *f, gconstpointer data)
{
  sl_image img = { 0 };
  g_autoptr (GdkTexture) clear = NULL, opaque = NULL;
  g_autoptr (GdkPaintable) shown = NULL;
  GtkWidget *picture, *view;
  GtkWindow *window;

  g_assert_cmpint (sl_image_alloc (&img, 8, 8, 4, 8, NULL), ==, SL_OK);
  memset (img.data, 0, (size_t) img.stride * 8); /* fully transparent */
  clear = sl_thumbnail_texture_new (&img, 64);
  sl_image_clear (&img);
  g_assert_true (sl_texture_has_alpha (clear));
  g_assert_cmpint (sl_image_alloc (&img, 8, 8, 3, 8, NULL), ==, SL_OK);
  memset (img.data, 0, (size_t) img.stride * 8);
  opaque = sl_thumbnail_texture_new (&img, 64);
  sl_image_clear (&img);
  g_assert_false (sl_texture_has_alpha (opaque));

  shown = sl_checkerboard_paintable_new (clear);
  g_assert_true (shown != GDK_PAINTABLE (clear));
  picture = gtk_picture_new_for_paintable (shown);
  window = ui_test_window_new (picture, 64, 64);
  g_assert_cmpint (checker_levels (picture, "checkerboard-picture"), ==, 2);
  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (opaque));
  g_assert_cmpint (checker_levels (picture, "checkerboard-opaque"), ==, 0);
  gtk_window_destroy (window);

  view = sl_image_view_new ();
  sl_image_view_set_texture (SL_IMAGE_VIEW (view), clear);
  window = ui_test_window_new (view, 64, 64);
  g_assert_cmpint (checker_levels (view, "checkerboard-view"), ==, 2);
  gtk_window_destroy (window);

  /* The Preprocess page's Source view keeps the alpha of an RGBA image. */
  {
    g_autoptr (GdkTexture) source = NULL;

    g_assert_cmpint (sl_image_alloc (&img, 8, 8, 4, 8, NULL), ==, SL_OK);
    memset (img.data, 0, (size_t) img.stride * 8);
    source = sl_preview_texture_new (&img, 64, 48, NULL);
    sl_image_clear (&img);
    g_assert_true (sl_texture_has_alpha (source));
    view = sl_image_view_new ();
    sl_image_view_set_texture (SL_IMAGE_VIEW (view), source);
    window = ui_test_window_new (view, 64, 64);
    g_assert_cmpint (checker_levels (view, "checkerboard-source"), ==, 2);
    gtk_window_destroy (window);
  }

  /* The welcome view's recent-project thumbnail of a project whose first image is
   * transparent (a red corner on nothing): the checkerboard shows through. */
  {
    g_autoptr (GSettings) settings = g_settings_new (SL_APP_ID);
    g_autoptr (SlProject) project = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *png = NULL, *path = NULL;
    const char *recent[] = { NULL, NULL };
    SlImportResult result = { 0 };
    GtkWidget *welcome, *thumbnail;
    SlWindow *shell;

    f->tmp = ui_test_make_tmp ();
    png = g_build_filename (f->tmp, "clear.png", NULL);
    path = g_build_filename (f->tmp, "Transparent parts", NULL);
    g_assert_cmpint (sl_image_alloc (&img, 32, 32, 4, 8, NULL), ==, SL_OK);
    memset (img.data, 0, (size_t) img.stride * 32);
    for (int y = 0; y < 8; y++)
      for (int x = 0; x < 8; x++)
        memcpy (img.data + (size_t) y * img.stride + x * 4, "\xff\x00\x00\xff", 4);
    g_assert_cmpint (sl_image_save (&img, png, NULL), ==, SL_OK);
    sl_image_clear (&img);
    project = sl_project_create (path, "Transparent parts", &error);
    g_assert_no_error (error);
    g_assert_true (sl_project_import_files (project, (const char *const *) &png, 1,
                                            SL_IMPORT_FLAGS_NONE, 0, NULL, NULL, NULL, &result,
                                            &error));
    g_assert_no_error (error);
    g_assert_cmpint (result.added, ==, 1);
    sl_import_result_clear (&result);
    g_clear_pointer (&project, sl_project_unref);

    recent[0] = path;
    g_settings_set_strv (settings, "recent-projects", recent);
    shell = sl_window_new (GTK_APPLICATION (app));
    gtk_window_set_default_size (GTK_WINDOW (shell), SMALL_WIDTH, SMALL_HEIGHT);
    ui_test_show_window (GTK_WINDOW (shell));
    welcome = ui_test_find_widget (GTK_WIDGET (shell), SL_TYPE_WELCOME_VIEW, NULL);
    g_assert_nonnull (welcome);
    g_assert_true (ui_test_wait_until (welcome_loaded, welcome, 10000));
    ui_test_wait_until (thumbnail_loaded, welcome, 20000);
    ui_test_spin (300); /* painted */
    thumbnail = find_css_class (welcome, "recent-thumbnail");
    g_assert_nonnull (thumbnail);
    g_assert_true (gtk_widget_has_css_class (thumbnail, "loaded"));
    save_screenshot (shell, "screen-1024x700-welcome");
    g_assert_cmpint (checker_levels (thumbnail, "checkerboard-welcome"), ==, 2);
    gtk_window_destroy (GTK_WINDOW (shell));
    g_settings_reset (settings, "recent-projects");
  }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-screen-data-XXXXXX", NULL);
  int status;

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add ("/ui/screen/min-size", Fixture, NULL, NULL, test_min_size, fixture_teardown);
  g_test_add ("/ui/screen/close-during-training", Fixture, NULL, NULL, test_close_during_training,
              fixture_teardown);
  g_test_add ("/ui/screen/close-project", Fixture, NULL, NULL, test_close_project,
              fixture_teardown);
  g_test_add ("/ui/screen/unreadable-files", Fixture, NULL, NULL, test_unreadable_files,
              fixture_teardown);
  g_test_add ("/ui/screen/preview-picker", Fixture, NULL, NULL, test_preview_picker,
              fixture_teardown);
  g_test_add ("/ui/screen/channels-statistics", Fixture, NULL, NULL, test_channels_statistics,
              fixture_teardown);
  g_test_add ("/ui/screen/checkerboard", Fixture, NULL, NULL, test_checkerboard, fixture_teardown);
  g_test_add ("/ui/screen/screenshots", Fixture, NULL, NULL, test_screenshots, fixture_teardown);
  status = g_test_run ();
  g_object_unref (app);
  sl_remove_tree (data_home);
  return status;
}
