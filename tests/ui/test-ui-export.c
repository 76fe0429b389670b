/* test-ui-export.c: the Export page under Xvfb: the empty state, exporting both formats, replacing,
 * an unwritable folder, and "Try it" on new images against the runtime. */
#include <glib/gstdio.h>
#include <string.h>

#include "sl-classifier.h"
#include "sl-evaluation.h"
#include "sl-export-page.h"
#include "sl-session.h"
#include "sl-try-result.h"
#include "ui-test-util.h"

/* One trained project shared by the tests, which run in order. */
typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlExportPage *page;
  GtkWindow *window;
  gint64 run_id;
  char *models; /* the export folder */
} Env;

static Env env;

/* ---- Helpers ------------------------------------------------------------------------- */

static gboolean
not_exporting (gpointer page)
{
  return !sl_export_page_is_exporting (page);
}

static gboolean
asking (gpointer page)
{
  return sl_export_page_get_replace_dialog (page) != NULL;
}

static gboolean
not_trying (gpointer page)
{
  return !sl_export_page_is_trying (page);
}

static void
activate (const char *action)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (env.page), action, NULL));
}

static GtkWidget *
export_button (void)
{
  GtkWidget *button = ui_test_find_widget (GTK_WIDGET (env.page), GTK_TYPE_BUTTON, "_Export");

  g_assert_nonnull (button);
  return button;
}

/* Answers the replace question with the button labelled label. */
static void
answer (const char *label)
{
  GtkWindow *dialog;
  GtkWidget *button;

  g_assert_true (ui_test_wait_until (asking, env.page, 10000));
  dialog = sl_export_page_get_replace_dialog (env.page);
  button = ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, label);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
}

static gint64
file_size (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static char *
file_checksum (const char *path)
{
  g_autofree char *data = NULL;
  gsize n;

  g_assert_true (g_file_get_contents (path, &data, &n, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, n);
}

static gboolean
summary_in_view (gpointer data)
{
  GtkWidget *button = ui_test_find_widget (GTK_WIDGET (env.page), GTK_TYPE_BUTTON, "_Copy Path");
  graphene_rect_t bounds;

  return button != NULL && gtk_widget_get_mapped (button)
         && gtk_widget_compute_bounds (button, GTK_WIDGET (env.window), &bounds)
         && bounds.origin.y >= 0
         && bounds.origin.y + bounds.size.height <= gtk_widget_get_height (GTK_WIDGET (env.window));
}

/* The stored copy of the project's first image. */
static char *
first_image_path (void)
{
  g_autoptr (GPtrArray) images = NULL;
  SlImageFilter filter;
  const SlImageInfo *info;

  sl_image_filter_init (&filter);
  filter.limit = 1;
  images = sl_project_list_images (env.project, &filter, NULL);
  g_assert_nonnull (images);
  g_assert_cmpuint (images->len, ==, 1);
  info = g_ptr_array_index (images, 0);
  return sl_project_image_path (env.project, info->hash, info->ext);
}

/* ---- Tests ----------------------------------------------------------------------------- */

/* Before any run the page says to train first; a finished run brings the options. */
static void
test_empty_then_run (void)
{
  GtkWidget *train;

  if (env.project == NULL)
    {
      g_test_skip ("no data set");
      return;
    }
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "No Trained Model Yet"));
  train = ui_test_find_widget (GTK_WIDGET (env.page), GTK_TYPE_BUTTON, "_Train a Model");
  g_assert_nonnull (train);
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (train)), ==, "win.show-page");
  g_assert_false (gtk_widget_get_sensitive (export_button ()));
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export-empty"));

  env.run_id = ui_test_train_run (env.project, 1);
  sl_session_notify_runs_changed (env.session);
  ui_test_spin (200);
  g_assert_cmpint (sl_run_chooser_get_run_id (sl_export_page_get_run_chooser (env.page)), ==,
                   env.run_id);
  g_assert_null (ui_test_find_label (GTK_WIDGET (env.page), "No Trained Model Yet"));
  /* The reject threshold comes from the project's setting (the Evaluate page writes it). */
  g_assert_cmpfloat_with_epsilon (sl_export_page_get_reject_threshold (env.page), 0.6, 1e-9);
  /* The proposed name is "<project>-<run>". */
  g_assert_true (g_str_has_suffix (sl_export_page_get_file_name (env.page), "-run-1"));
}

/* A bad name or no format keeps Export off. */
static void
test_validation (void)
{
  g_autofree char *name = NULL;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  name = g_strdup (sl_export_page_get_file_name (env.page));
  g_assert_true (gtk_widget_get_sensitive (export_button ()));
  sl_export_page_set_file_name (env.page, "a/b");
  g_assert_false (gtk_widget_get_sensitive (export_button ()));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "cannot contain"));
  sl_export_page_set_file_name (env.page, "");
  g_assert_false (gtk_widget_get_sensitive (export_button ()));
  sl_export_page_set_file_name (env.page, name);
  g_assert_true (gtk_widget_get_sensitive (export_button ()));
  sl_export_page_set_formats (env.page, 0);
  g_assert_false (gtk_widget_get_sensitive (export_button ()));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "at least one format"));
  sl_export_page_set_formats (env.page, SL_EXPORT_SLMODEL);
  g_assert_true (gtk_widget_get_sensitive (export_button ()));
}

/* Both formats: the files are there with the sizes the summary shows, and the .slmodel predicts
 * what the project predicts. */
static void
test_export (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *image = NULL, *stored = NULL;
  g_autoptr (sl_classifier) run_classifier = NULL;
  const SlExportResult *r;
  const char *paths[3];
  gint64 sizes[3];
  sl_classifier *classifier = NULL;
  sl_prediction p, score;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  sl_export_page_set_folder (env.page, env.models);
  sl_export_page_set_formats (env.page, SL_EXPORT_SLMODEL | SL_EXPORT_ONNX);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), ".onnx and"));
  activate ("export.run");
  g_assert_true (sl_export_page_is_exporting (env.page));
  g_assert_true (ui_test_wait_until (not_exporting, env.page, 60000));
  g_assert_null (sl_export_page_get_error (env.page));
  r = sl_export_page_get_result (env.page);
  g_assert_nonnull (r);

  paths[0] = r->slmodel_path, sizes[0] = r->slmodel_bytes;
  paths[1] = r->onnx_path, sizes[1] = r->onnx_bytes;
  paths[2] = r->sidecar_path, sizes[2] = r->sidecar_bytes;
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *base = NULL, *size = NULL;

      g_assert_nonnull (paths[i]);
      g_assert_true (g_str_has_prefix (paths[i], env.models));
      g_assert_cmpint (file_size (paths[i]), ==, sizes[i]);
      g_assert_cmpint (sizes[i], >, 0);
      base = g_path_get_basename (paths[i]);
      size = g_format_size ((guint64) sizes[i]);
      g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), base));
      g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), size));
    }
  g_assert_true (g_str_has_suffix (r->slmodel_path, ".slmodel"));
  g_assert_cmpint (r->classes, ==, 3);
  g_assert_cmpfloat (r->latency_ms, >, 0);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "ms per image on this PC"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "sightline-infer"));
  stored = sl_project_dup_export_folder (env.project);
  g_assert_cmpstr (stored, ==, env.models);

  /* The file the line will run gives the project's answer, with the page's threshold. */
  g_assert_cmpint (sl_classifier_open (r->slmodel_path, NULL, &classifier, NULL), ==, SL_OK);
  g_assert_cmpfloat_with_epsilon (sl_classifier_get_reject_threshold (classifier), 0.6, 1e-6);
  image = first_image_path ();
  sl_prediction_init (&p);
  g_assert_cmpint (sl_classifier_predict_file (classifier, image, &p, NULL, NULL), ==, SL_OK);
  run_classifier
      = sl_project_open_classifier (env.project, env.run_id, SL_CHECKPOINT_BEST, 1, NULL, &error);
  g_assert_no_error (error);
  sl_prediction_init (&score);
  g_assert_cmpint (sl_classifier_predict_file (run_classifier, image, &score, NULL, NULL), ==,
                   SL_OK);
  g_assert_cmpstr (p.label, ==, score.label);
  g_assert_cmpfloat_with_epsilon (p.confidence, score.confidence, 1e-4);
  sl_classifier_free (classifier);

  /* The summary scrolls into view, down to its buttons. */
  g_assert_true (ui_test_wait_until (summary_in_view, NULL, 5000));
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export"));
}

/* A second export asks first: Cancel leaves the files, Replace rewrites them. */
static void
test_replace (void)
{
  g_autofree char *slmodel = NULL, *before = NULL;
  GStatBuf st;
  gint64 mtime;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  slmodel = g_strdup (sl_export_page_get_result (env.page)->slmodel_path);
  g_assert_cmpint (g_stat (slmodel, &st), ==, 0);
  mtime = st.st_mtime;
  before = file_checksum (slmodel);

  activate ("export.run");
  g_assert_true (ui_test_wait_until (asking, env.page, 10000));
  g_assert_cmpstr (gtk_window_get_title (sl_export_page_get_replace_dialog (env.page)), ==,
                   "Replace 3 files?");
  answer ("_Cancel");
  g_assert_true (ui_test_wait_until (not_exporting, env.page, 10000));
  ui_test_spin (100);
  g_assert_false (sl_export_page_is_exporting (env.page));
  g_assert_cmpint (g_stat (slmodel, &st), ==, 0);
  g_assert_cmpint (st.st_mtime, ==, mtime);

  /* Only the .slmodel now: one file to replace, named in the question. */
  sl_export_page_set_formats (env.page, SL_EXPORT_SLMODEL);
  sl_export_page_set_reject_threshold (env.page, 0.5);
  activate ("export.run");
  g_assert_true (ui_test_wait_until (asking, env.page, 10000));
  {
    g_autofree char *base = g_path_get_basename (slmodel);
    g_autofree char *title = g_strdup_printf ("Replace %s?", base);
    g_assert_cmpstr (gtk_window_get_title (sl_export_page_get_replace_dialog (env.page)), ==,
                     title);
  }
  answer ("_Replace");
  g_assert_true (ui_test_wait_until (not_exporting, env.page, 60000));
  g_assert_null (sl_export_page_get_error (env.page));
  g_assert_null (sl_export_page_get_result (env.page)->onnx_path);
  {
    g_autofree char *after = file_checksum (slmodel);
    sl_classifier *classifier = NULL;

    /* The threshold is inside the file, so the bytes changed. */
    g_assert_cmpstr (after, !=, before);
    g_assert_cmpint (sl_classifier_open (slmodel, NULL, &classifier, NULL), ==, SL_OK);
    g_assert_cmpfloat_with_epsilon (sl_classifier_get_reject_threshold (classifier), 0.5, 1e-6);
    sl_classifier_free (classifier);
  }
  /* Back to the project's threshold for the tries below. */
  sl_export_page_set_reject_threshold (env.page, 0.6);
  activate ("export.run");
  answer ("_Replace");
  g_assert_true (ui_test_wait_until (not_exporting, env.page, 60000));
  g_assert_null (sl_export_page_get_error (env.page));
}

/* A folder that cannot be made (a file is in the way) fails with a message on the page, and the
 * files of the earlier export stay as they were. */
static void
test_unwritable (void)
{
  g_autofree char *blocker = g_build_filename (env.tmp, "not-a-folder", NULL);
  g_autofree char *target = NULL, *slmodel = NULL, *before = NULL, *after = NULL;
  GtkWidget *error_label;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  slmodel = g_strdup (sl_export_page_get_result (env.page)->slmodel_path);
  before = file_checksum (slmodel);
  g_assert_true (g_file_set_contents (blocker, "x", 1, NULL));
  target = g_build_filename (blocker, "models", NULL);
  sl_export_page_set_folder (env.page, target);
  activate ("export.run");
  g_assert_true (ui_test_wait_until (not_exporting, env.page, 60000));
  g_assert_nonnull (sl_export_page_get_error (env.page));
  error_label = ui_test_find_label (GTK_WIDGET (env.page), "The model was not exported");
  g_assert_nonnull (error_label);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (error_label)), "not-a-folder"));
  after = file_checksum (slmodel);
  g_assert_cmpstr (before, ==, after);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "earlier export is still in place"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export-error"));
  /* The folder setting keeps the last folder that worked. */
  {
    g_autofree char *stored = sl_project_dup_export_folder (env.project);
    g_assert_cmpstr (stored, ==, env.models);
  }

  /* A good folder again clears the error. */
  sl_export_page_set_folder (env.page, env.models);
  activate ("export.run");
  answer ("_Replace");
  g_assert_true (ui_test_wait_until (not_exporting, env.page, 60000));
  g_assert_null (sl_export_page_get_error (env.page));
  g_assert_null (ui_test_find_label (GTK_WIDGET (env.page), "The model was not exported"));
}

/* Try it on 20 new PNGs and a broken one, with the exported file: every label is the runtime's. */
static void
test_try (void)
{
  g_autofree char *dir = g_build_filename (env.tmp, "new-images", NULL);
  g_autofree char *broken = g_build_filename (dir, "broken.png", NULL);
  g_autoptr (GFile) folder = g_file_new_for_path (dir);
  const SlExportResult *r = sl_export_page_get_result (env.page);
  sl_classifier *classifier = NULL;
  GListModel *results;
  guint n_failed = 0, n_unknown = 0;
  const char *summary;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  g_assert_cmpint (ui_test_write_fmnist_tree (dir, 20, 3, "new"), ==, 20);
  g_assert_true (g_file_set_contents (broken, "\x89PNG\r\n\x1a\nnot really", -1, NULL));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "exported file"));

  sl_export_page_try_files (env.page, &folder, 1);
  g_assert_true (sl_export_page_is_trying (env.page));
  g_assert_true (ui_test_wait_until (not_trying, env.page, 60000));
  results = sl_export_page_get_try_results (env.page);
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 21);

  g_assert_cmpint (sl_classifier_open (r->slmodel_path, NULL, &classifier, NULL), ==, SL_OK);
  for (guint i = 0; i < 21; i++)
    {
      g_autoptr (SlTryResult) item = g_list_model_get_item (results, i);
      const char *path = sl_try_result_get_path (item);
      sl_prediction p;

      if (sl_try_result_get_error (item) != NULL)
        {
          g_assert_cmpstr (path, ==, broken);
          g_assert_null (sl_try_result_get_label (item));
          n_failed++;
          continue;
        }
      sl_prediction_init (&p);
      g_assert_cmpint (sl_classifier_predict_file (classifier, path, &p, NULL, NULL), ==, SL_OK);
      g_assert_cmpstr (sl_try_result_get_label (item), ==, p.label);
      g_assert_cmpfloat_with_epsilon (sl_try_result_get_confidence (item), p.confidence, 1e-5);
      g_assert_cmpint (sl_try_result_get_rejected (item), ==, p.rejected != 0);
      g_assert_nonnull (sl_try_result_get_thumbnail (item));
      n_unknown += p.rejected != 0;
    }
  sl_classifier_free (classifier);
  g_assert_cmpuint (n_failed, ==, 1);
  summary = sl_export_page_get_try_summary (env.page);
  g_assert_nonnull (summary);
  g_assert_true (g_str_has_prefix (summary, "21 images: "));
  g_assert_nonnull (strstr (summary, "1 could not be read"));
  if (n_unknown > 0)
    {
      g_autofree char *unknown = g_strdup_printf ("%u unknown", n_unknown);
      g_assert_nonnull (strstr (summary, unknown));
    }
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), summary));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "broken.png"));

  /* Sorted by confidence, the unreadable image comes first, then the least sure ones. */
  {
    GtkColumnView *view
        = GTK_COLUMN_VIEW (ui_test_find_widget (GTK_WIDGET (env.page), GTK_TYPE_COLUMN_VIEW, NULL));
    g_autoptr (GtkColumnViewColumn) column
        = g_list_model_get_item (gtk_column_view_get_columns (view), 3);
    GListModel *shown = G_LIST_MODEL (gtk_column_view_get_model (view));
    double previous = -1;

    g_assert_cmpstr (gtk_column_view_column_get_title (column), ==, "Confidence");
    gtk_column_view_sort_by_column (view, column, GTK_SORT_ASCENDING);
    g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 21);
    for (guint i = 0; i < 21; i++)
      {
        g_autoptr (SlTryResult) item = g_list_model_get_item (shown, i);

        g_assert_true ((i == 0) == (sl_try_result_get_error (item) != NULL));
        if (i > 0)
          {
            g_assert_cmpfloat (sl_try_result_get_confidence (item), >=, previous);
            previous = sl_try_result_get_confidence (item);
          }
      }
  }
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export-try"));
}

static gboolean
not_previewing (gpointer page)
{
  return !sl_export_page_is_previewing (page);
}

/* The selected result shows large beside the list. Grad-CAM is made only while the toggle
 * is on: the try above made none, and turning it on makes the selected image's alone. */
static void
test_try_preview (void)
{
  GtkColumnView *view;
  GtkSingleSelection *selection;
  GListModel *results = sl_export_page_get_try_results (env.page);
  SlTryResult *chosen = NULL;
  guint n, chosen_at = 0, with_overlay = 0;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  n = g_list_model_get_n_items (results);
  g_assert_cmpuint (n, ==, 21);
  g_assert_false (sl_export_page_get_show_heatmap (env.page));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlTryResult) item = g_list_model_get_item (results, i);
      g_assert_null (sl_try_result_get_overlay (item));
    }
  view = GTK_COLUMN_VIEW (ui_test_find_widget (GTK_WIDGET (env.page), GTK_TYPE_COLUMN_VIEW, NULL));
  selection = GTK_SINGLE_SELECTION (gtk_column_view_get_model (view));
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (selection)) && chosen == NULL; i++)
    {
      g_autoptr (SlTryResult) item = g_list_model_get_item (G_LIST_MODEL (selection), i);
      if (sl_try_result_get_error (item) == NULL && i > 0)
        chosen = item, chosen_at = i;
    }
  g_assert_nonnull (chosen);
  gtk_single_selection_set_selected (selection, chosen_at);
  g_assert_true (ui_test_wait_until (not_previewing, env.page, 30000));
  ui_test_spin (50);
  g_assert_true (sl_export_page_get_preview_result (env.page) == chosen);
  g_assert_nonnull (sl_export_page_get_preview_paintable (env.page));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), sl_try_result_get_name (chosen)));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), sl_try_result_get_label (chosen)));
  g_assert_null (sl_try_result_get_overlay (chosen));

  /* The toggle on: the preview shows the heatmap, made for this image only. */
  sl_export_page_set_show_heatmap (env.page, TRUE);
  g_assert_true (ui_test_wait_until (not_previewing, env.page, 30000));
  ui_test_spin (50);
  g_assert_nonnull (sl_try_result_get_overlay (chosen));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlTryResult) item = g_list_model_get_item (results, i);
      with_overlay += sl_try_result_get_overlay (item) != NULL;
    }
  g_assert_cmpuint (with_overlay, ==, 1);
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export-try-preview"));
  gtk_window_set_default_size (env.window, 1024, 700);
  ui_test_spin (200);
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export-try-preview-1024"));
  {
    int min_w;

    /* The preview sits below the list, so the page still fits a line PC's screen. */
    gtk_widget_measure (GTK_WIDGET (env.window), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, NULL, NULL,
                        NULL);
    g_assert_cmpint (min_w, <=, 1024);
  }
  gtk_window_set_default_size (env.window, 1920, 1080);
  ui_test_spin (200);
  g_free (ui_test_save_screenshot (GTK_WIDGET (env.window), "export-try-preview-1920"));
  gtk_window_set_default_size (env.window, 1280, 800);
  ui_test_spin (100);
  sl_export_page_set_show_heatmap (env.page, FALSE);
  ui_test_wait_until (not_previewing, env.page, 30000);
}

/* Another run, not exported: Try it uses the run's weights; the same labels come out. */
static void
test_try_with_run (void)
{
  /* The 20 images of the try above, one class folder (20 images of 3 classes). */
  g_autofree char *dir = g_build_filename (env.tmp, "new-images", "trouser", NULL);
  g_autoptr (GFile) folder = g_file_new_for_path (dir);
  g_autoptr (sl_classifier) classifier = NULL;
  GListModel *results;
  guint n;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  /* A second run: the exported file is the first run's, so the page predicts with the run. */
  env.run_id = ui_test_train_run (env.project, 1);
  sl_session_notify_runs_changed (env.session);
  g_assert_true (sl_run_chooser_set_run_id (sl_export_page_get_run_chooser (env.page), env.run_id));
  ui_test_spin (100);
  g_assert_true (g_str_has_suffix (sl_export_page_get_file_name (env.page), "-run-2"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "run-2’s weights"));
  sl_export_page_try_files (env.page, &folder, 1);
  g_assert_true (ui_test_wait_until (not_trying, env.page, 60000));
  results = sl_export_page_get_try_results (env.page);
  n = g_list_model_get_n_items (results);
  g_assert_cmpuint (n, >, 0);
  classifier
      = sl_project_open_classifier (env.project, env.run_id, SL_CHECKPOINT_BEST, 1, NULL, NULL);
  g_assert_nonnull (classifier);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlTryResult) item = g_list_model_get_item (results, i);
      sl_prediction score;

      sl_prediction_init (&score);
      g_assert_cmpint (sl_classifier_predict_file (classifier, sl_try_result_get_path (item),
                                                   &score, NULL, NULL),
                       ==, SL_OK);
      g_assert_cmpstr (sl_try_result_get_label (item), ==, score.label);
      g_assert_cmpint (sl_try_result_get_rejected (item), ==, score.confidence < 0.6f);
    }
}

static void
count_splices (GListModel *model, guint position, guint removed, guint added, guint *n)
{
  if (added > 0)
    (*n)++;
}

/* 300 images arrive in a few batches while the worker runs, not one by one nor all at the end;
 * Cancel stops a long try at once, and what was predicted stays listed. */
static void
test_try_cancel (void)
{
  g_autofree char *dir = g_build_filename (env.tmp, "many-images", NULL);
  g_autoptr (GFile) folder = g_file_new_for_path (dir);
  GListModel *results = sl_export_page_get_try_results (env.page);
  guint n, batches = 0;
  gulong handler;

  if (env.project == NULL)
    return g_test_skip ("no data set");
  g_assert_cmpint (ui_test_write_fmnist_tree (dir, 300, 3, "many"), ==, 300);
  handler = g_signal_connect (results, "items-changed", G_CALLBACK (count_splices), &batches);
  sl_export_page_try_files (env.page, &folder, 1);
  g_assert_true (ui_test_wait_until (not_trying, env.page, 60000));
  g_signal_handler_disconnect (results, handler);
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 300);
  g_test_message ("300 results in %u batches", batches);
  g_assert_cmpuint (batches, >=, 2);
  g_assert_cmpuint (batches, <=, 100);

  sl_export_page_try_files (env.page, &folder, 1);
  activate ("export.cancel-try");
  g_assert_true (ui_test_wait_until (not_trying, env.page, 30000));
  n = g_list_model_get_n_items (sl_export_page_get_try_results (env.page));
  g_assert_cmpuint (n, <, 300);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (env.page), "Stopped after"));
  {
    g_autofree char *prefix = g_strdup_printf ("%u image", n);
    g_assert_true (g_str_has_prefix (sl_export_page_get_try_summary (env.page), prefix));
  }
}

int
main (int argc, char **argv)
{
  int status;

  ui_test_init (&argc, &argv);
  env.project = ui_test_fmnist_project (300, 3, &env.tmp);
  if (env.project != NULL)
    {
      g_assert_true (sl_project_set_reject_threshold (env.project, 0.6, NULL));
      env.models = g_build_filename (env.tmp, "models", NULL);
      env.session = sl_session_new_for_project (env.project);
      env.page = SL_EXPORT_PAGE (sl_export_page_new (env.session));
      env.window = ui_test_window_new (GTK_WIDGET (env.page), 1280, 800);
    }
  g_test_add_func ("/ui/export/empty-then-run", test_empty_then_run);
  g_test_add_func ("/ui/export/validation", test_validation);
  g_test_add_func ("/ui/export/export", test_export);
  g_test_add_func ("/ui/export/replace", test_replace);
  g_test_add_func ("/ui/export/unwritable", test_unwritable);
  g_test_add_func ("/ui/export/try", test_try);
  g_test_add_func ("/ui/export/try-preview", test_try_preview);
  g_test_add_func ("/ui/export/try-with-run", test_try_with_run);
  g_test_add_func ("/ui/export/try-cancel", test_try_cancel);
  status = g_test_run ();

  if (env.window != NULL)
    gtk_window_destroy (env.window);
  ui_test_spin (50);
  g_clear_object (&env.session);
  g_clear_pointer (&env.project, sl_project_unref);
  if (env.tmp != NULL)
    sl_remove_tree (env.tmp);
  g_free (env.tmp);
  g_free (env.models);
  return status;
}
