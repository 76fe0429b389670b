/* test-ui-preprocess.c: the Preprocess page under Xvfb: building a chain, storing it, the live preview
 * (latest request wins), the region editor, the model input and augmentation, the empty state. */
#include <cjson/cJSON.h>
#include <string.h>

#include "sl-preprocess-page.h"
#include "sl-roi-overlay.h"
#include "sl-run.h"
#include "sl-session.h"
#include "sl-step-row.h"
#include "sl-vision.h"
#include "ui-test-util.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlPreprocessPage *page;
  GtkWindow *window;
} Fixture;

/* ---- Helpers ------------------------------------------------------------------------ */

static gboolean
not_loading (gpointer page)
{
  return !sl_preprocess_page_is_loading (page);
}

static gboolean
preview_ready (gpointer page)
{
  SlPreviewWorker *worker = sl_preprocess_page_get_worker (page);

  return !sl_preview_worker_is_busy (worker)
         && sl_preview_pane_get_output_texture (sl_preprocess_page_get_preview_pane (page)) != NULL;
}

/* Whether the project has a stored pipeline (the page stores it after a pause). */
static gboolean
pipeline_stored (gpointer project)
{
  g_autofree char *json = sl_project_dup_stored_pipeline_json (project);

  return json != NULL;
}

/* The last request came back (with or without an output). */
static gboolean
worker_idle (gpointer page)
{
  SlPreviewWorker *worker = sl_preprocess_page_get_worker (page);

  return !sl_preview_worker_is_busy (worker) && sl_preview_worker_get_result (worker) != NULL;
}

static gboolean
not_measuring (gpointer editor)
{
  return !sl_input_spec_editor_get_measuring (editor);
}

/* Opens the page on f->project in a 1280 x 800 window and waits for its chain and preview. */
static void
open_page (Fixture *f)
{
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_PREPROCESS_PAGE (sl_preprocess_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  g_assert_true (ui_test_wait_until (not_loading, f->page, 20000));
}

static gboolean
fixture_fmnist (Fixture *f, int n)
{
  f->project = ui_test_fmnist_project (n, 3, &f->tmp);
  return f->project != NULL;
}

static void
fixture_teardown (Fixture *f)
{
  if (f->window != NULL)
    gtk_window_destroy (f->window);
  ui_test_spin (50);
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static void
add_step (Fixture *f, const char *op)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "preprocess.add-step", "s", op));
}

static void
action (Fixture *f, const char *name)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), name, NULL));
}

static GtkSpinButton *
spin (Fixture *f, const char *param, int field)
{
  GtkWidget *w
      = sl_param_editor_get_control (sl_preprocess_page_get_param_editor (f->page), param, field);

  g_assert_true (GTK_IS_SPIN_BUTTON (w));
  return GTK_SPIN_BUTTON (w);
}

static const char *
step_op (const sl_pipeline *p, int step)
{
  const sl_op_info *op = sl_pipeline_step_op (p, step);

  return op != NULL ? op->id : NULL;
}

static double
param (const sl_pipeline *p, int step, const char *id)
{
  double v = NAN;

  g_assert_cmpint (sl_pipeline_get_param (p, step, id, &v, NULL), ==, SL_OK);
  return v;
}

/* The pipeline stored in the project, parsed. */
static sl_pipeline *
stored_pipeline (Fixture *f)
{
  g_autofree char *json = sl_project_dup_stored_pipeline_json (f->project);
  sl_pipeline *p = NULL;

  g_assert_nonnull (json);
  g_assert_cmpint (sl_pipeline_from_json (json, &p, NULL), ==, SL_OK);
  return p;
}

static GBytes *
texture_bytes (GdkTexture *texture)
{
  gsize stride = (gsize) gdk_texture_get_width (texture) * 4;
  gsize size = stride * (gsize) gdk_texture_get_height (texture);
  guchar *data = g_malloc (size);

  gdk_texture_download (texture, data, stride);
  return g_bytes_new_take (data, size);
}

static void
assert_same_texture (GdkTexture *a, GdkTexture *b)
{
  g_autoptr (GBytes) x = NULL, y = NULL;

  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpint (gdk_texture_get_width (a), ==, gdk_texture_get_width (b));
  g_assert_cmpint (gdk_texture_get_height (a), ==, gdk_texture_get_height (b));
  x = texture_bytes (a);
  y = texture_bytes (b);
  g_assert_true (g_bytes_equal (x, y));
}

/* Saves the window with an open popover drawn where it lies (a popover is a
 * surface of its own, so the window's screenshot leaves it out). */
static void
save_with_popover (GtkWindow *window, GtkPopover *popover, const char *name)
{
  g_autoptr (GdkPaintable) win = gtk_widget_paintable_new (GTK_WIDGET (window));
  g_autoptr (GdkPaintable) pop = gtk_widget_paintable_new (GTK_WIDGET (popover));
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (
      g_getenv ("MESON_BUILD_ROOT") ? g_getenv ("MESON_BUILD_ROOT") : ".", "screenshots", NULL);
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (popover));
  int width = gtk_widget_get_width (GTK_WIDGET (window));
  int height = gtk_widget_get_height (GTK_WIDGET (window));
  double wx, wy, px, py;
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  ui_test_spin (100);
  gtk_native_get_surface_transform (GTK_NATIVE (window), &wx, &wy);
  gtk_native_get_surface_transform (GTK_NATIVE (popover), &px, &py);
  gdk_paintable_snapshot (win, snapshot, width, height);
  gtk_snapshot_translate (
      snapshot, &GRAPHENE_POINT_INIT (gdk_popup_get_position_x (GDK_POPUP (surface)) + px - wx,
                                      gdk_popup_get_position_y (GDK_POPUP (surface)) + py - wy));
  gdk_paintable_snapshot (pop, snapshot, gtk_widget_get_width (GTK_WIDGET (popover)),
                          gtk_widget_get_height (GTK_WIDGET (popover)));
  node = gtk_snapshot_free_to_node (snapshot);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_mkdir_with_parents (dir, 0755);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* ---- Building a chain ----------------------------------------------------------------------- */

static void
test_chain (void)
{
  Fixture f = { 0 };
  SlParamEditor *editor;
  const sl_pipeline *p;
  sl_pipeline *stored;
  sl_rect r;
  g_autofree char *before = NULL, *shot = NULL;

  if (!fixture_fmnist (&f, 50))
    return;
  open_page (&f);
  editor = sl_preprocess_page_get_param_editor (f.page);
  p = sl_preprocess_page_get_pipeline (f.page);
  g_assert_cmpint (sl_pipeline_step_count (p), ==, 0);
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));

  /* Each new step goes after the selected one and becomes selected. */
  add_step (&f, "gaussian-blur");
  add_step (&f, "clahe");
  add_step (&f, "crop");
  p = sl_preprocess_page_get_pipeline (f.page);
  g_assert_cmpint (sl_pipeline_step_count (p), ==, 3);
  g_assert_cmpstr (step_op (p, 0), ==, "gaussian-blur");
  g_assert_cmpstr (step_op (p, 1), ==, "clahe");
  g_assert_cmpstr (step_op (p, 2), ==, "crop");
  g_assert_cmpint (sl_preprocess_page_get_selected_step (f.page), ==, 2);

  /* Parameters through the generated controls. */
  sl_preprocess_page_select_step (f.page, 0);
  gtk_spin_button_set_value (spin (&f, "sigma", 0), 1.5);
  g_assert_cmpfloat (param (p, 0, "sigma"), ==, 1.5);
  sl_preprocess_page_select_step (f.page, 2);
  gtk_spin_button_set_value (spin (&f, "rect", 0), 0.1);
  gtk_spin_button_set_value (spin (&f, "rect", 1), 0.1);
  gtk_spin_button_set_value (spin (&f, "rect", 2), 0.8);
  gtk_spin_button_set_value (spin (&f, "rect", 3), 0.8);
  g_assert_cmpint (sl_pipeline_get_rect (p, 2, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat_with_epsilon (r.x, 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.width, 0.8, 1e-9);

  /* Reorder (CLAHE first) and disable the blur. */
  sl_preprocess_page_select_step (f.page, 1);
  action (&f, "preprocess.move-up");
  g_assert_cmpint (sl_preprocess_page_get_selected_step (f.page), ==, 0);
  sl_preprocess_page_select_step (f.page, 1);
  action (&f, "preprocess.toggle-step");
  g_assert_false (sl_pipeline_get_enabled (p, 1));
  /* Nothing is stored while edits keep coming. */
  before = sl_project_dup_stored_pipeline_json (f.project);
  g_assert_null (before);

  /* The preview shows source, three steps and the model input. */
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  g_assert_cmpuint (sl_preview_pane_get_n_thumbnails (sl_preprocess_page_get_preview_pane (f.page)),
                    ==, 5);
  g_assert_null (sl_preview_pane_get_error (sl_preprocess_page_get_preview_pane (f.page)));

  /* Stored after a short pause (however long the machine takes to get to it), in order, with
   * values and the enabled flags. */
  ui_test_wait_until (pipeline_stored, f.project, 20000);
  stored = stored_pipeline (&f);
  g_assert_cmpint (sl_pipeline_step_count (stored), ==, 3);
  g_assert_cmpstr (step_op (stored, 0), ==, "clahe");
  g_assert_cmpstr (step_op (stored, 1), ==, "gaussian-blur");
  g_assert_cmpstr (step_op (stored, 2), ==, "crop");
  g_assert_true (sl_pipeline_get_enabled (stored, 0));
  g_assert_false (sl_pipeline_get_enabled (stored, 1));
  g_assert_true (sl_pipeline_get_enabled (stored, 2));
  g_assert_cmpfloat (param (stored, 1, "sigma"), ==, 1.5);
  g_assert_cmpint (sl_pipeline_get_rect (stored, 2, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat_with_epsilon (r.y, 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.height, 0.8, 1e-9);
  sl_pipeline_free (stored);

  /* A refused value is explained under its control and never stored. */
  sl_preprocess_page_select_step (f.page, 1);
  gtk_spin_button_set_value (spin (&f, "ksize", 0), 4);
  g_assert_nonnull (sl_param_editor_get_error (editor, "ksize"));
  g_assert_nonnull (strstr (sl_param_editor_get_error (editor, "ksize"), "Kernel size is 4"));
  g_assert_cmpfloat (param (p, 1, "ksize"), ==, 5);
  gtk_spin_button_set_value (spin (&f, "ksize", 0), 7);
  g_assert_null (sl_param_editor_get_error (editor, "ksize"));
  /* So is a region that leaves the image; the last valid chain stays stored. */
  sl_preprocess_page_select_step (f.page, 2);
  gtk_spin_button_set_value (spin (&f, "rect", 2), 0.95);
  g_assert_nonnull (sl_param_editor_get_error (editor, "rect"));
  g_assert_nonnull (strstr (sl_param_editor_get_error (editor, "rect"), "relative region"));
  sl_preprocess_page_flush (f.page);
  stored = stored_pipeline (&f);
  g_assert_cmpfloat (param (stored, 1, "ksize"), ==, 7);
  g_assert_cmpint (sl_pipeline_get_rect (stored, 2, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat_with_epsilon (r.width, 0.8, 1e-9);
  sl_pipeline_free (stored);
  gtk_spin_button_set_value (spin (&f, "rect", 2), 0.8);
  g_assert_null (sl_param_editor_get_error (editor, "rect"));

  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  shot = ui_test_save_screenshot (GTK_WIDGET (f.window), "preprocess");
  fixture_teardown (&f);
}

/* ---- The catalogue --------------------------------------------------------------------------- */

static void
test_catalog (void)
{
  Fixture f = { 0 };
  SlOpCatalog *catalog;

  for (int i = 0; i < sl_op_count (); i++)
    g_assert_cmpstr (sl_op_category (sl_op_get (i)->id), !=, "Other");
  if (!fixture_fmnist (&f, 50))
    return;
  open_page (&f);
  add_step (&f, "clahe");
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  catalog = sl_preprocess_page_get_catalog (f.page);
  gtk_menu_button_popup (sl_preprocess_page_get_add_button (f.page));
  ui_test_spin (200);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (catalog)));
  g_assert_cmpuint (sl_op_catalog_count_visible (catalog), ==, (guint) sl_op_count ());
  sl_op_catalog_set_search (catalog, "blur");
  /* Gaussian and median blur, and Sharpen ("the detail a blur removes"). */
  g_assert_cmpuint (sl_op_catalog_count_visible (catalog), ==, 3);
  save_with_popover (f.window, GTK_POPOVER (catalog), "preprocess-catalog");
  sl_op_catalog_set_search (catalog, "no such operator");
  g_assert_cmpuint (sl_op_catalog_count_visible (catalog), ==, 0);
  /* Enter adds the first match after the selected step and closes the popover. */
  sl_op_catalog_set_search (catalog, "median");
  g_assert_cmpuint (sl_op_catalog_count_visible (catalog), ==, 1);
  g_signal_emit_by_name (ui_test_find_widget (GTK_WIDGET (catalog), GTK_TYPE_SEARCH_ENTRY, NULL),
                         "activate");
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 1), ==, "median-blur");
  ui_test_spin (100);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (catalog)));
  fixture_teardown (&f);
}

/* ---- Latest request wins --------------------------------------------------------------------- */

/* Imports a 2048 x 2048 gray image, so that a preview takes real time; returns its id. */
static gint64
import_big_image (Fixture *f)
{
  g_autofree char *dir = g_build_filename (f->tmp, "big", NULL);
  g_autofree char *path = g_build_filename (dir, "big.png", NULL);
  g_autoptr (GError) error = NULL;
  SlImportResult result = { 0 };
  sl_image img = { 0 };
  gint64 id;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (sl_image_alloc (&img, 2048, 2048, 1, 8, NULL), ==, SL_OK);
  for (int y = 0; y < 2048; y++)
    for (int x = 0; x < 2048; x++)
      img.data[(size_t) y * img.stride + x]
          = (guint8) (((x / 64 + y / 64) % 2) ? 200 : (x ^ y) & 63);
  g_assert_cmpint (sl_image_save (&img, path, NULL), ==, SL_OK);
  sl_image_clear (&img);
  g_assert_true (sl_project_import_folder (f->project, dir, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL,
                                           NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 1);
  id = g_array_index (result.image_ids, gint64, 0);
  sl_import_result_clear (&result);
  return id;
}

static void
test_latest_wins (void)
{
  Fixture f = { 0 };
  SlPreviewWorker *worker;
  const SlPreviewResult *result;
  SlImageInfo *info;
  g_autofree char *path = NULL;
  g_autoptr (GdkTexture) expected_out = NULL, expected_blur = NULL;
  guint requested0, computed0, requested, computed;
  sl_image source = { 0 }, out = { 0 }, stages[2] = { { 0 } };
  gint64 big, start, elapsed;

  if (!fixture_fmnist (&f, 50))
    return;
  big = import_big_image (&f);
  open_page (&f);
  sl_preprocess_page_set_preview_image (f.page, big);
  add_step (&f, "gaussian-blur");
  gtk_spin_button_set_value (spin (&f, "ksize", 0), 21);
  worker = sl_preprocess_page_get_worker (f.page);
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 30000));
  sl_preview_worker_get_counts (worker, &requested0, &computed0);

  /* 50 changes as fast as the main loop can make them. */
  start = g_get_monotonic_time ();
  for (int i = 1; i <= 50; i++)
    gtk_spin_button_set_value (spin (&f, "sigma", 0), 0.1 * i);
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("50 parameter changes took %.2f ms on the main thread", elapsed / 1000.0);
  g_assert_cmpint (elapsed, <, 500 * 1000); /* no image work on the main thread */
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 30000));
  sl_preview_worker_get_counts (worker, &requested, &computed);
  g_test_message ("requested %u previews, computed %u", requested - requested0,
                  computed - computed0);
  g_assert_cmpuint (requested - requested0, ==, 50);
  g_assert_cmpuint (computed - computed0, <, 50);
  g_assert_cmpuint (computed - computed0, >=, 1);

  /* What is shown is the last value's preview. */
  g_assert_cmpfloat_with_epsilon (param (sl_preprocess_page_get_pipeline (f.page), 0, "sigma"), 5.0,
                                  1e-9);
  info = sl_project_get_image (f.project, big, NULL);
  path = sl_project_image_path (f.project, info->hash, info->ext);
  sl_image_info_free (info);
  g_assert_cmpint (sl_image_load (path, 0, &source, NULL), ==, SL_OK);
  g_assert_cmpint (
      sl_pipeline_apply (sl_preprocess_page_get_pipeline (f.page), &source, &out, NULL), ==, SL_OK);
  g_assert_cmpint (
      sl_pipeline_apply_stages (sl_preprocess_page_get_pipeline (f.page), &source, stages, NULL),
      ==, SL_OK);
  result = sl_preview_worker_get_result (worker);
  expected_out = sl_preview_texture_new (&out, result->large_width, result->large_height, NULL);
  expected_blur
      = sl_preview_texture_new (&stages[0], result->large_width, result->large_height, NULL);
  assert_same_texture (
      sl_preview_pane_get_output_texture (sl_preprocess_page_get_preview_pane (f.page)),
      expected_out);
  g_assert_cmpint (result->stages->len, ==, 2);
  assert_same_texture (g_array_index (result->stages, SlPreviewStage, 0).large, expected_blur);
  g_assert_cmpint (g_array_index (result->stages, SlPreviewStage, 0).width, ==, 2048);
  sl_image_clear (&source);
  sl_image_clear (&out);
  sl_image_clear (&stages[0]);
  sl_image_clear (&stages[1]);
  fixture_teardown (&f);
}

/* ---- The region of interest ---------------------------------------------------------------- */

static void
test_roi (void)
{
  Fixture f = { 0 };
  SlRoiOverlay *overlay;
  const sl_pipeline *p;
  graphene_rect_t area;
  GtkWidget *mode;
  double x0, y0, x1, y1;
  sl_rect r;

  if (!fixture_fmnist (&f, 50))
    return;
  open_page (&f);
  add_step (&f, "crop");
  p = sl_preprocess_page_get_pipeline (f.page);
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  ui_test_spin (100);
  overlay = sl_preview_pane_get_roi_overlay (sl_preprocess_page_get_preview_pane (f.page));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));

  /* The 28 x 28 image is letterboxed into the view: square and centred. */
  g_assert_true (sl_roi_overlay_get_image_area (overlay, &area));
  g_assert_cmpfloat_with_epsilon (area.size.width, area.size.height, 1e-3);
  g_assert_cmpfloat_with_epsilon (area.origin.x * 2 + area.size.width,
                                  gtk_widget_get_width (GTK_WIDGET (overlay)), 1.0);

  /* Pixels: switching the units converts the region (the whole 28 x 28 image). */
  mode = sl_param_editor_get_control (sl_preprocess_page_get_param_editor (f.page), "mode", 0);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (mode), 1);
  g_assert_cmpint (sl_pipeline_get_rect (p, 0, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat (r.width, ==, 28);
  g_assert_cmpfloat (gtk_spin_button_get_value (spin (&f, "rect", 3)), ==, 28);

  /* Drawing a new region from image pixel (7, 7) to (21, 21). */
  sl_roi_overlay_image_to_widget (overlay, 7, 7, &x0, &y0);
  sl_roi_overlay_image_to_widget (overlay, 21, 21, &x1, &y1);
  r = (sl_rect){ 0, 0, 28, 28 };
  /* First shrink the region from its corner so that (7, 7) lies well outside it. */
  sl_roi_overlay_drag (overlay, area.origin.x + area.size.width, area.origin.y + area.size.height,
                       x0 - 30, y0 - 30);
  g_assert_cmpint (sl_pipeline_get_rect (p, 0, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat (r.x, ==, 0);
  g_assert_cmpfloat (r.width, <, 7);
  sl_roi_overlay_drag (overlay, x0 + 1, y0 + 1, x1 + 1, y1 + 1);
  g_assert_cmpint (sl_pipeline_get_rect (p, 0, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat (r.x, ==, 7);
  g_assert_cmpfloat (r.y, ==, 7);
  g_assert_cmpfloat (r.width, ==, 14);
  g_assert_cmpfloat (r.height, ==, 14);
  g_assert_cmpfloat (gtk_spin_button_get_value (spin (&f, "rect", 0)), ==, 7);
  /* Moving it keeps its size and stops at the image's edge. */
  sl_roi_overlay_drag (overlay, (x0 + x1) / 2, (y0 + y1) / 2, (x0 + x1) / 2 + area.size.width,
                       (y0 + y1) / 2);
  g_assert_cmpint (sl_pipeline_get_rect (p, 0, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat (r.x, ==, 14);
  g_assert_cmpfloat (r.width, ==, 14);

  /* Back to fractions: the same region. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (mode), 0);
  g_assert_cmpint (sl_pipeline_get_rect (p, 0, "rect", &r, NULL), ==, SL_OK);
  g_assert_cmpfloat_with_epsilon (r.x, 0.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (r.width, 0.5, 1e-9);
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  g_assert_null (sl_preview_pane_get_error (sl_preprocess_page_get_preview_pane (f.page)));

  /* A region in pixels larger than the image passes the parameter checks but
   * fails on the image: the step's message is shown over the output. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (mode), 1);
  gtk_spin_button_set_value (spin (&f, "rect", 2), 40);
  g_assert_null (sl_param_editor_get_error (sl_preprocess_page_get_param_editor (f.page), "rect"));
  g_assert_true (ui_test_wait_until (worker_idle, f.page, 20000));
  g_assert_nonnull (sl_preview_pane_get_error (sl_preprocess_page_get_preview_pane (f.page)));
  g_assert_true (g_str_has_prefix (
      sl_preview_pane_get_error (sl_preprocess_page_get_preview_pane (f.page)), "Step 1 (Crop): "));
  g_free (ui_test_save_screenshot (GTK_WIDGET (f.window), "preprocess-error"));
  fixture_teardown (&f);
}

/* ---- Model input, augmentation, outside changes ------------------------------------------- */

static void
test_input_and_augment (void)
{
  Fixture f = { 0 };
  SlInputSpecEditor *input;
  SlAugmentEditor *augment;
  GtkWidget *width, *std0;
  g_autofree char *aug_json = NULL, *measured_json = NULL, *json = NULL;
  sl_pipeline *stored, *measured = NULL;
  sl_input_spec spec, want;

  if (!fixture_fmnist (&f, 50))
    return;
  open_page (&f);
  input = sl_preprocess_page_get_input_editor (f.page);
  width = ui_test_find_widget (GTK_WIDGET (input), GTK_TYPE_SPIN_BUTTON, NULL);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (width), 32);
  std0 = ui_test_find_widget (GTK_WIDGET (input), GTK_TYPE_ENTRY, NULL); /* mean of channel 1 */
  std0 = gtk_widget_get_next_sibling (std0);                             /* its std */
  g_assert_true (GTK_IS_ENTRY (std0));
  gtk_editable_set_text (GTK_EDITABLE (std0), "0");
  g_assert_nonnull (sl_input_spec_editor_get_error (input));
  sl_preprocess_page_flush (f.page);
  stored = stored_pipeline (&f);
  sl_pipeline_get_input (stored, &spec);
  g_assert_cmpint (spec.width, ==, 32);
  g_assert_cmpfloat (spec.std[0], >, 0);
  sl_pipeline_free (stored);

  /* Measuring from the data runs off the main loop and fills mean and std. */
  add_step (&f, "invert");
  sl_input_spec_editor_measure (input);
  g_assert_true (sl_input_spec_editor_get_measuring (input));
  g_assert_true (ui_test_wait_until (not_measuring, input, 20000));
  g_assert_null (sl_input_spec_editor_get_error (input));
  sl_preprocess_page_flush (f.page);
  json = sl_project_dup_stored_pipeline_json (f.project);
  measured_json
      = sl_project_measure_pipeline_json (sl_project_get_path (f.project), json, NULL, NULL);
  g_assert_cmpint (sl_pipeline_from_json (measured_json, &measured, NULL), ==, SL_OK);
  sl_pipeline_get_input (measured, &want);
  sl_pipeline_get_input (sl_preprocess_page_get_pipeline (f.page), &spec);
  g_assert_cmpfloat_with_epsilon (spec.mean[0], want.mean[0], 1e-6);
  g_assert_cmpfloat_with_epsilon (spec.std[0], want.std[0], 1e-6);
  g_assert_cmpfloat (spec.mean[0], >, 0.5); /* inverted Fashion-MNIST is mostly white */
  sl_pipeline_free (measured);

  /* Augmentation: stored under "augment", eight samples of the model input. */
  g_assert_cmpuint (sl_preprocess_page_get_n_samples (f.page), ==, 0);
  augment = sl_preprocess_page_get_augment_editor (f.page);
  gtk_switch_set_active (GTK_SWITCH (sl_augment_editor_get_control (augment, "flip-horizontal")),
                         TRUE);
  gtk_spin_button_set_value (
      GTK_SPIN_BUTTON (sl_augment_editor_get_control (augment, "rotate-degrees")), 15);
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  g_assert_cmpuint (sl_preprocess_page_get_n_samples (f.page), ==, 8);
  {
    GtkWidget *popover = gtk_widget_get_ancestor (GTK_WIDGET (augment), GTK_TYPE_POPOVER);

    gtk_popover_popup (GTK_POPOVER (popover));
    ui_test_spin (200);
    save_with_popover (f.window, GTK_POPOVER (popover), "preprocess-augment");
    gtk_popover_popdown (GTK_POPOVER (popover));
  }
  gtk_spin_button_set_value (
      GTK_SPIN_BUTTON (sl_augment_editor_get_control (augment, "blur-probability")), 0.5);
  g_assert_nonnull (sl_augment_editor_get_error (augment)); /* blur sigma still 0 */
  gtk_spin_button_set_value (
      GTK_SPIN_BUTTON (sl_augment_editor_get_control (augment, "blur-sigma")), 1.0);
  g_assert_null (sl_augment_editor_get_error (augment));
  action (&f, "preprocess.new-samples");
  sl_preprocess_page_flush (f.page);
  aug_json = sl_project_dup_augment_json (f.project);
  g_assert_nonnull (aug_json);
  {
    sl_augment_config c;

    g_assert_cmpint (sl_augment_config_from_json (aug_json, &c, NULL), ==, SL_OK);
    g_assert_true (c.flip_horizontal);
    g_assert_cmpfloat (c.rotate_degrees, ==, 15);
    g_assert_cmpfloat (c.blur_sigma, ==, 1.0);
  }

  /* A chain stored from elsewhere replaces the one shown. */
  {
    sl_pipeline *other = NULL;
    char *other_json;

    g_assert_cmpint (sl_pipeline_new (&other, NULL), ==, SL_OK);
    g_assert_cmpint (sl_pipeline_insert_step (other, -1, "median-blur", NULL), ==, SL_OK);
    g_assert_cmpint (sl_pipeline_insert_step (other, -1, "equalize-hist", NULL), ==, SL_OK);
    other_json = sl_pipeline_to_json (other);
    g_assert_true (sl_session_set_pipeline_json (f.session, other_json, NULL));
    sl_free (other_json);
    sl_pipeline_free (other);
  }
  g_assert_cmpint (sl_pipeline_step_count (sl_preprocess_page_get_pipeline (f.page)), ==, 2);
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 0), ==, "median-blur");
  g_assert_nonnull (gtk_list_box_get_row_at_index (sl_preprocess_page_get_chain_list (f.page), 1));
  g_assert_true (ui_test_wait_until (preview_ready, f.page, 20000));
  fixture_teardown (&f);
}

/* ---- Keyboard, removal and the empty project ---------------------------------------------- */

static void
test_empty_project (void)
{
  Fixture f = { 0 };
  g_autofree char *shot = NULL;
  g_autoptr (GError) error = NULL;
  GtkListBox *list;
  sl_pipeline *stored;

  f.tmp = ui_test_make_tmp ();
  f.project = sl_project_create (f.tmp, "Empty", &error);
  g_assert_no_error (error);
  open_page (&f);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f.page), "Import images on the Dataset page"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f.page), "No steps yet"));
  shot = ui_test_save_screenshot (GTK_WIDGET (f.window), "preprocess-empty");

  /* The chain can be edited without images; Delete and the row buttons remove steps. */
  add_step (&f, "gray");
  add_step (&f, "resize");
  add_step (&f, "invert");
  list = sl_preprocess_page_get_chain_list (f.page);
  g_assert_nonnull (gtk_list_box_get_row_at_index (list, 2));
  /* Dropping the last row on the first moves that step to the top, and back. */
  g_signal_emit_by_name (gtk_list_box_get_row_at_index (list, 0), "dropped",
                         gtk_list_box_get_row_at_index (list, 2));
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 0), ==, "invert");
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 1), ==, "gray");
  g_assert_cmpint (sl_preprocess_page_get_selected_step (f.page), ==, 0);
  g_signal_emit_by_name (gtk_list_box_get_row_at_index (list, 2), "dropped",
                         gtk_list_box_get_row_at_index (list, 0));
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 2), ==, "invert");
  sl_preprocess_page_select_step (f.page, 1);
  action (&f, "preprocess.move-down");
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 2), ==, "resize");
  g_assert_cmpint (sl_preprocess_page_get_selected_step (f.page), ==, 2);
  action (&f, "preprocess.remove-step");
  g_assert_cmpint (sl_pipeline_step_count (sl_preprocess_page_get_pipeline (f.page)), ==, 2);
  g_signal_emit_by_name (gtk_list_box_get_row_at_index (list, 0), "remove-clicked");
  g_assert_cmpint (sl_pipeline_step_count (sl_preprocess_page_get_pipeline (f.page)), ==, 1);
  g_assert_cmpstr (step_op (sl_preprocess_page_get_pipeline (f.page), 0), ==, "invert");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f.page), "Invert"));

  /* Closing the window stores what is pending. */
  gtk_window_destroy (f.window);
  f.window = NULL;
  ui_test_spin (50);
  stored = stored_pipeline (&f);
  g_assert_cmpint (sl_pipeline_step_count (stored), ==, 1);
  sl_pipeline_free (stored);
  fixture_teardown (&f);
}

/* ---- The factory operators ------------------------------------------------------------------ */

/* Imports a 320 x 240 colour image: a red ellipse turned 25° and a blue square on a gray
 * background lit unevenly from the left; returns its id. */
static gint64
import_factory_image (Fixture *f)
{
  g_autofree char *dir = g_build_filename (f->tmp, "factory", NULL);
  g_autofree char *path = g_build_filename (dir, "part.png", NULL);
  g_autoptr (GError) error = NULL;
  SlImportResult result = { 0 };
  sl_image img = { 0 };
  double a = 25 * G_PI / 180;
  gint64 id;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (sl_image_alloc (&img, 320, 240, 3, 8, NULL), ==, SL_OK);
  for (int y = 0; y < 240; y++)
    for (int x = 0; x < 320; x++)
      {
        double light = 0.45 + 0.55 * x / 319.0;
        double u = ((x - 150) * cos (a) + (y - 120) * sin (a)) / 70;
        double w = (-(x - 150) * sin (a) + (y - 120) * cos (a)) / 25;
        guint8 *px = img.data + (gsize) y * img.stride + 3 * x;
        int rgb[3] = { 190, 190, 190 };

        if (u * u + w * w <= 1)
          rgb[0] = 230, rgb[1] = 30, rgb[2] = 30;
        else if (x >= 260 && x < 280 && y >= 40 && y < 60)
          rgb[0] = 40, rgb[1] = 60, rgb[2] = 200;
        for (int c = 0; c < 3; c++)
          px[c] = (guint8) lround (rgb[c] * light);
      }
  g_assert_cmpint (sl_image_save (&img, path, NULL), ==, SL_OK);
  sl_image_clear (&img);
  g_assert_true (sl_project_import_folder (f->project, dir, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL,
                                           NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, 1);
  id = g_array_index (result.image_ids, gint64, 0);
  sl_import_result_clear (&result);
  return id;
}

/* Picks a choice in the selected step's drop-down, as a click would. */
static void
choose (Fixture *f, const char *param_id, const char *choice)
{
  GtkWidget *w
      = sl_param_editor_get_control (sl_preprocess_page_get_param_editor (f->page), param_id, 0);
  const sl_op_info *op = sl_pipeline_step_op (sl_preprocess_page_get_pipeline (f->page),
                                              sl_preprocess_page_get_selected_step (f->page));
  const sl_param_spec *spec = sl_op_find_param (op, param_id);

  g_assert_true (GTK_IS_DROP_DOWN (w));
  for (guint i = 0; spec->choices[i] != NULL; i++)
    if (g_str_equal (spec->choices[i], choice))
      {
        gtk_drop_down_set_selected (GTK_DROP_DOWN (w), i);
        return;
      }
  g_error ("no choice '%s' for '%s'", choice, param_id);
}

/* Waits for the preview of the current chain and checks it ran every step. */
static const SlPreviewResult *
fresh_preview (Fixture *f)
{
  SlPreviewWorker *worker = sl_preprocess_page_get_worker (f->page);
  const SlPreviewResult *result;

  g_assert_true (ui_test_wait_until (worker_idle, f->page, 30000));
  g_assert_true (ui_test_wait_until (preview_ready, f->page, 30000));
  result = sl_preview_worker_get_result (worker);
  if (result->error != NULL)
    g_error ("preview failed: %s", result->error);
  g_assert_cmpint (result->n_steps, ==,
                   sl_pipeline_step_count (sl_preprocess_page_get_pipeline (f->page)));
  return result;
}

static const SlPreviewStage *
stage (const SlPreviewResult *r, int i)
{
  return &g_array_index (r->stages, SlPreviewStage, i);
}

/* Colour range, crop to part, rotate to main axis, polar unwrap and flattening in the
 * workbench: added from the registry, previewed live, edited, refused, stored. */
static void
test_factory_operators (void)
{
  Fixture f = { 0 };
  SlParamEditor *editor;
  const SlPreviewResult *r;
  sl_pipeline *stored;
  g_autofree char *shot = NULL;
  gint64 id;

  if (!fixture_fmnist (&f, 20))
    return;
  id = import_factory_image (&f);
  open_page (&f);
  editor = sl_preprocess_page_get_param_editor (f.page);
  sl_preprocess_page_set_preview_image (f.page, id);
  add_step (&f, "flatten-illumination");
  gtk_spin_button_set_value (spin (&f, "sigma", 0), 40);
  add_step (&f, "color-range");
  gtk_spin_button_set_value (spin (&f, "hue-low", 0), 340);
  gtk_spin_button_set_value (spin (&f, "hue-high", 0), 20);
  add_step (&f, "crop-to-part");
  choose (&f, "method", "fixed");
  gtk_spin_button_set_value (spin (&f, "level", 0), 0);
  gtk_spin_button_set_value (spin (&f, "margin", 0), 6);
  add_step (&f, "rotate-to-axis");
  choose (&f, "size", "fit");
  gtk_spin_button_set_value (spin (&f, "pad", 0), 0);

  r = fresh_preview (&f);
  g_assert_cmpuint (sl_preview_pane_get_n_thumbnails (sl_preprocess_page_get_preview_pane (f.page)),
                    ==, 6);
  g_assert_null (sl_preview_pane_get_error (sl_preprocess_page_get_preview_pane (f.page)));
  g_assert_cmpint (stage (r, 0)->width, ==, 320);
  g_assert_cmpint (stage (r, 1)->channels, ==, 3);
  /* The red ellipse's box (about 129 x 75) plus 6 px on every side. */
  g_test_message ("crop to part: %d x %d; turned: %d x %d", stage (r, 2)->width,
                  stage (r, 2)->height, stage (r, 3)->width, stage (r, 3)->height);
  g_assert_cmpint (stage (r, 2)->width, >=, 135);
  g_assert_cmpint (stage (r, 2)->width, <=, 150);
  g_assert_cmpint (stage (r, 2)->height, >=, 80);
  g_assert_cmpint (stage (r, 2)->height, <=, 95);
  /* Turned 25° with room for the corners. */
  g_assert_cmpint (stage (r, 3)->width, >, stage (r, 2)->width);
  g_assert_cmpint (stage (r, 3)->height, >, stage (r, 2)->height);

  /* Polar unwrap's size is its parameters', and follows an edit. */
  add_step (&f, "polar-unwrap");
  r = fresh_preview (&f);
  g_assert_cmpint (stage (r, 4)->width, ==, 360);
  g_assert_cmpint (stage (r, 4)->height, ==, 64);
  gtk_spin_button_set_value (spin (&f, "width", 0), 180);
  r = fresh_preview (&f);
  g_assert_cmpint (stage (r, 4)->width, ==, 180);
  shot = ui_test_save_screenshot (GTK_WIDGET (f.window), "preprocess-factory");

  /* A refused combination is explained under its control and never stored. */
  sl_preprocess_page_select_step (f.page, 1);
  gtk_spin_button_set_value (spin (&f, "sat-low", 0), 250);
  gtk_spin_button_set_value (spin (&f, "sat-high", 0), 100);
  g_assert_nonnull (sl_param_editor_get_error (editor, "sat-high"));
  g_test_message ("refused: %s", sl_param_editor_get_error (editor, "sat-high"));
  sl_preprocess_page_flush (f.page);
  stored = stored_pipeline (&f);
  g_assert_cmpint (sl_pipeline_step_count (stored), ==, 5);
  g_assert_cmpstr (step_op (stored, 2), ==, "crop-to-part");
  g_assert_cmpfloat (param (stored, 1, "hue-low"), ==, 340);
  g_assert_cmpfloat (param (stored, 1, "sat-high"), ==, 255);
  g_assert_cmpfloat (param (stored, 2, "margin"), ==, 6);
  g_assert_cmpfloat (param (stored, 4, "width"), ==, 180);
  sl_pipeline_free (stored);
  fixture_teardown (&f);
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add_func ("/ui/preprocess/chain", test_chain);
  g_test_add_func ("/ui/preprocess/catalog", test_catalog);
  g_test_add_func ("/ui/preprocess/latest-wins", test_latest_wins);
  g_test_add_func ("/ui/preprocess/roi", test_roi);
  g_test_add_func ("/ui/preprocess/input-and-augment", test_input_and_augment);
  g_test_add_func ("/ui/preprocess/empty-project", test_empty_project);
  g_test_add_func ("/ui/preprocess/factory-operators", test_factory_operators);
  return g_test_run ();
}
