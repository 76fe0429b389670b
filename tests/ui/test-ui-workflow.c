/* test-ui-workflow.c: the whole path through one window's actions under Xvfb: new project → import →
 * label → preprocess → train → evaluate → export, checking what is stored, with a screenshot of each page. */
#include <string.h>

#include "projects-test-util.h"
#include "sl-application.h"
#include "sl-classifier.h"
#include "sl-dataset-page.h"
#include "sl-evaluate-page.h"
#include "sl-export-page.h"
#include "sl-import-dialog.h"
#include "sl-new-project-dialog.h"
#include "sl-preprocess-page.h"
#include "sl-run.h"
#include "sl-session.h"
#include "sl-train-page.h"
#include "sl-toast.h"
#include "sl-train-settings.h"
#include "sl-window.h"
#include "ui-test-util.h"

static SlApplication *app;

static GtkWidget *
page (SlWindow *window, GType type)
{
  GtkWidget *widget = ui_test_find_widget (GTK_WIDGET (window), type, NULL);

  g_assert_nonnull (widget);
  return widget;
}

/* Screenshots show the page, not a passing notification. */
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
show_page (SlWindow *window, const char *name)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", name));
  ui_test_spin (200);
}

static gboolean
import_in_state (gpointer data)
{
  gpointer *args = data;

  return (int) sl_import_dialog_get_state (args[0]) == GPOINTER_TO_INT (args[1]);
}

static void
import (SlDatasetPage *dataset, const char *folder, gboolean labels, gint64 expected)
{
  g_autoptr (GFile) file = g_file_new_for_path (folder);
  SlImportDialog *dialog = sl_dataset_page_import (dataset, &file, 1);
  gpointer ready[] = { dialog, GINT_TO_POINTER (SL_IMPORT_STATE_READY) };
  gpointer done[] = { dialog, GINT_TO_POINTER (SL_IMPORT_STATE_DONE) };

  g_assert_true (ui_test_wait_until (import_in_state, ready, 60000));
  sl_import_dialog_set_labels_from_folders (dialog, labels);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "import.start", NULL));
  g_assert_true (ui_test_wait_until (import_in_state, done, 120000));
  g_assert_null (sl_import_dialog_get_error (dialog));
  g_assert_cmpint (sl_import_dialog_get_result (dialog)->added, ==, expected);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static gboolean
dataset_loaded (gpointer dataset)
{
  return !g_str_equal (sl_dataset_page_get_view_state (dataset), "loading");
}

static gboolean
preprocess_loaded (gpointer preprocess)
{
  return !sl_preprocess_page_is_loading (preprocess);
}

static gboolean
not_training (gpointer session)
{
  return !sl_session_is_training (session);
}

static gboolean
evaluate_idle (gpointer evaluate)
{
  return !sl_evaluate_page_is_busy (evaluate);
}

static gboolean
export_idle (gpointer export)
{
  return !sl_export_page_is_exporting (export);
}

static gboolean
not_trying (gpointer export)
{
  return !sl_export_page_is_trying (export);
}

static void
test_workflow (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = ui_test_make_tmp ();
  g_autofree char *labelled = g_build_filename (tmp, "parts", NULL);
  g_autofree char *unsorted = g_build_filename (tmp, "unsorted", NULL);
  g_autofree char *out = g_build_filename (tmp, "line", NULL);
  g_autofree char *expected_path = g_build_filename (tmp, "Brackets", NULL);
  g_autoptr (GFile) location = g_file_new_for_path (tmp);
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  g_autoptr (SlEvaluation) evaluation = NULL;
  g_autofree char *pipeline = NULL, *config = NULL, *augment = NULL;
  SlNewProjectDialog *dialog;
  SlWindow *window;
  SlSession *session;
  SlProject *project;
  SlDatasetPage *dataset;
  SlPreprocessPage *preprocess;
  SlTrainPage *train;
  SlEvaluatePage *evaluate;
  SlExportPage *export;
  SlImageFilter filter;
  g_autoptr (GPtrArray) unlabelled = NULL;
  gint64 class_id, run_id, eval_id;
  const SlExportResult *result;
  int n;

  /* 1. A new project, through the dialog the New Project action opens. */
  if ((n = ui_test_write_fmnist_tree (labelled, 480, 4, "part")) < 0)
    return;
  /* New parts from the test set, so none duplicates an imported one. */
  g_assert_cmpint (pt_write_fmnist_tree (unsorted, FALSE, 12, 1, "new"), ==, 12);
  window = sl_window_new (GTK_APPLICATION (app));
  ui_test_show_window (GTK_WINDOW (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.new-project", NULL));
  dialog = SL_NEW_PROJECT_DIALOG (ui_test_find_toplevel (SL_TYPE_NEW_PROJECT_DIALOG));
  g_assert_nonnull (dialog);
  sl_new_project_dialog_set_location (dialog, location);
  gtk_editable_set_text (
      GTK_EDITABLE (ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_ENTRY, NULL)), "Brackets");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "dialog.create", NULL));
  ui_test_spin (200);
  g_assert_cmpstr (sl_window_get_view (window), ==, "project");
  session = sl_window_get_session (window);
  project = sl_session_get_project (session);
  g_assert_cmpstr (sl_project_get_path (project), ==, expected_path);

  /* 2. Import: a labelled tree (classes from folders), then unlabelled images. */
  dataset = SL_DATASET_PAGE (page (window, SL_TYPE_DATASET_PAGE));
  import (dataset, labelled, TRUE, n);
  {
    /* The unsorted folder's sub-folder is not a class: import its files alone. */
    g_autofree char *inner = g_build_filename (unsorted, "t-shirt", NULL);
    import (dataset, inner, FALSE, 12);
  }
  g_assert_true (ui_test_wait_until (dataset_loaded, dataset, 20000));
  ui_test_spin (500);
  save_screenshot (window, "workflow-1-dataset");

  /* 3. Label the unlabelled images through the page's label action. */
  sl_image_filter_init (&filter);
  filter.class_id = -1;
  unlabelled = sl_project_list_images (project, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (unlabelled->len, ==, 12);
  {
    g_autoptr (SlClass) shirt = sl_project_find_class (project, "t-shirt", &error);
    g_assert_no_error (error);
    class_id = shirt->id;
  }
  for (guint i = 0; i < unlabelled->len; i++)
    {
      sl_dataset_page_select_image (dataset, ((SlImageInfo *) unlabelled->pdata[i])->id);
      g_assert_true (
          gtk_widget_activate_action (GTK_WIDGET (dataset), "dataset.label", "x", class_id));
    }
  images = sl_project_list_images (project, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (images->len, ==, 0);

  /* 4. Preprocess: a blur step, stored as the project's pipeline. */
  show_page (window, "preprocess");
  preprocess = SL_PREPROCESS_PAGE (page (window, SL_TYPE_PREPROCESS_PAGE));
  g_assert_true (ui_test_wait_until (preprocess_loaded, preprocess, 20000));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (preprocess), "preprocess.add-step", "s",
                                             "gaussian-blur"));
  sl_preprocess_page_flush (preprocess);
  ui_test_spin (800);
  pipeline = sl_project_dup_stored_pipeline_json (project);
  g_assert_nonnull (pipeline);
  g_assert_nonnull (strstr (pipeline, "gaussian-blur"));
  save_screenshot (window, "workflow-2-preprocess");

  /* 5. Train a tiny model from the Train page (the run splits the new labels). */
  show_page (window, "train");
  train = SL_TRAIN_PAGE (page (window, SL_TYPE_TRAIN_PAGE));
  config = g_strdup_printf (
      "{\"preset\": \"small-bn\", \"epochs\": 5, \"batch_size\": 32, \"threads\": 2, "
      "\"workers\": 2, \"patience\": 0, \"learning_rate\": 0.003, \"optimizer\": \"adam\", "
      "\"seed\": \"3\", \"class_weights\": \"none\", \"schedule\": \"cosine\", "
      "\"warmup_epochs\": 1, "
      "\"augment\": null, \"model\": {}, \"pipeline\": %s}",
      pipeline);
  g_assert_true (sl_train_settings_load_config_json (sl_train_page_get_settings (train), config));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (train), "training.start", NULL));
  g_assert_true (ui_test_wait_until (not_training, session, 180000));
  runs = sl_project_list_runs (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 1);
  g_assert_cmpint (((SlRunInfo *) runs->pdata[0])->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (((SlRunInfo *) runs->pdata[0])->epochs_done, ==, 5);
  g_assert_cmpint (((SlRunInfo *) runs->pdata[0])->train_images, >, 150);
  g_assert_nonnull (strstr (((SlRunInfo *) runs->pdata[0])->config_json, "gaussian-blur"));
  run_id = ((SlRunInfo *) runs->pdata[0])->id;
  ui_test_spin (300);
  save_screenshot (window, "workflow-3-train");

  /* 6. Evaluate it on the test split. */
  show_page (window, "evaluate");
  evaluate = SL_EVALUATE_PAGE (page (window, SL_TYPE_EVALUATE_PAGE));
  g_assert_true (ui_test_wait_until (evaluate_idle, evaluate, 20000));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (evaluate), "evaluate.run", NULL));
  ui_test_spin (50);
  g_assert_true (ui_test_wait_until (evaluate_idle, evaluate, 120000));
  eval_id = sl_project_find_evaluation (project, run_id, SL_SPLIT_TEST, &error);
  g_assert_no_error (error);
  g_assert_cmpint (eval_id, >=, 0);
  g_assert_cmpint (sl_evaluate_page_get_evaluation_id (evaluate), ==, eval_id);
  evaluation = sl_project_get_evaluation (project, eval_id, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpint (evaluation->images, >, 20);
  g_assert_cmpfloat_with_epsilon (sl_evaluate_page_get_shown_accuracy (evaluate),
                                  evaluation->accuracy, 0.0006); /* shown to 0.1 % */
  g_assert_cmpfloat (evaluation->accuracy, >, 0.5);
  ui_test_spin (500);
  save_screenshot (window, "workflow-4-evaluate");

  /* 7. Export for the line; the written model classifies like the project. */
  show_page (window, "export");
  export = SL_EXPORT_PAGE (page (window, SL_TYPE_EXPORT_PAGE));
  sl_export_page_set_folder (export, out);
  sl_export_page_set_formats (export, SL_EXPORT_SLMODEL | SL_EXPORT_ONNX);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (export), "export.run", NULL));
  ui_test_spin (50);
  g_assert_true (ui_test_wait_until (export_idle, export, 120000));
  result = sl_export_page_get_result (export);
  g_assert_nonnull (result);
  g_assert_true (g_file_test (result->slmodel_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (result->onnx_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (result->sidecar_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (result->classes, ==, 4);
  {
    sl_classifier *classifier = NULL;
    sl_prediction prediction;
    SlImageInfo *image = unlabelled->pdata[0];
    g_autofree char *stored = sl_project_image_path (project, image->hash, image->ext);
    sl_error err = { 0 };

    sl_prediction_init (&prediction);
    g_assert_cmpint (sl_classifier_open (result->slmodel_path, NULL, &classifier, &err), ==, SL_OK);
    g_assert_cmpint (sl_classifier_predict_file (classifier, stored, &prediction, NULL, &err), ==,
                     SL_OK);
    g_assert_cmpint (prediction.class_index, >=, 0);
    g_assert_cmpint (prediction.class_index, <, 4);
    sl_classifier_free (classifier);
  }
  save_screenshot (window, "workflow-5-export");

  /* Try it on the new parts, with the exported file. */
  {
    g_autofree char *inner = g_build_filename (unsorted, "t-shirt", NULL);
    g_autoptr (GFile) folder = g_file_new_for_path (inner);

    sl_export_page_try_files (export, &folder, 1);
    ui_test_spin (50);
    g_assert_true (ui_test_wait_until (not_trying, export, 60000));
    g_assert_cmpuint (g_list_model_get_n_items (sl_export_page_get_try_results (export)), ==, 12);
  }
  save_screenshot (window, "workflow-6-try");

  gtk_window_destroy (GTK_WINDOW (window));
  ui_test_spin (100);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-workflow-data-XXXXXX", NULL);
  int status;

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/ui/workflow/new-project-to-export", test_workflow);
  status = g_test_run ();
  g_object_unref (app);
  sl_remove_tree (data_home);
  return status;
}
