/* test-projects-anomaly-export.c: exported anomaly models score as the project does; a classifier's gate rejects far-out images. */
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "projects-test-util.h"
#include "sl-anomaly-run-private.h"
#include "sl-export.h"
#include "sl-test-anomaly-data.h"
#include "sl-train-job.h"

typedef PtAnomalyFixture Fixture;

static void
split (SlProject *project)
{
  g_autoptr (GError) error = NULL;
  SlSplitConfig sc;
  gint64 assigned = 0;

  sl_split_config_init (&sc);
  g_assert_true (sl_project_split (project, &sc, &assigned, &error));
  g_assert_no_error (error);
}

/* Every labelled image of the project, as stored. */
static GPtrArray *
stored_images (SlProject *project)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_ptr_array_add (paths, sl_project_image_path (project, im->hash, im->ext));
    }
  return paths;
}

static cJSON *
slmodel_provenance (const char *path)
{
  g_autoptr (sl_classifier) c = NULL;
  cJSON *header;

  g_assert_cmpint (sl_classifier_open (path, NULL, &c, NULL), ==, SL_OK);
  header = cJSON_Parse (sl_classifier_header_json (c));
  g_assert_nonnull (header);
  return header;
}

/* An anomaly run exports its scorer (kind anomaly): the runtime opens the file and gives
 * every image the score and decision the project gives it, at the project's manual
 * threshold when one is set. */
static void
test_anomaly_export (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->tmp, "p", NULL);
  g_autofree char *good = g_build_filename (f->images, "good", NULL);
  g_autofree char *defect = g_build_filename (f->images, "defect", NULL);
  g_autofree char *out = g_build_filename (f->tmp, "out", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (sl_classifier) project_c = NULL, file_c = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  SlExportOptions o;
  SlExportResult r;
  SlRunConfig config;
  sl_classifier_options co;
  cJSON *header, *anomaly;
  gint64 run_id;

  g_assert_cmpint (sl_test_write_anomaly_images (f->images, 24, 6, 128, 9), ==, 0);
  f->project = sl_project_create_kind (path, "exp", SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  pt_import_as (f->project, good, "good", NULL);
  pt_import_as (f->project, defect, "defect", NULL);
  split (f->project);
  sl_run_config_init (&config);
  config.anomaly = TRUE;
  config.input_size = 128;
  config.threads = 2;
  run_id = pt_run_job (f->project, &config);

  g_assert_true (sl_project_set_anomaly_threshold (f->project, 12.5, &error));
  sl_export_options_init (&o);
  o.name = "part";
  o.formats = SL_EXPORT_SLMODEL | SL_EXPORT_ONNX;
  g_assert_true (sl_project_export_run (f->project, run_id, out, &o, &r, &error));
  g_assert_no_error (error);
  g_assert_true (r.anomaly);
  {
    /* The ONNX sidecar says the kind and the threshold in use (tests/onnx checks the graph's
     * numbers against the runtime). */
    g_autofree char *text = NULL;
    cJSON *sidecar;

    g_assert_true (g_file_get_contents (r.sidecar_path, &text, NULL, NULL));
    sidecar = cJSON_Parse (text);
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (sidecar, "kind")), ==, "anomaly");
    g_assert_cmpfloat (cJSON_GetNumberValue (cJSON_GetObjectItem (sidecar, "threshold")), ==, 12.5);
    cJSON_Delete (sidecar);
  }
  g_assert_false (r.gated);
  g_assert_cmpfloat (r.anomaly_threshold, ==, 12.5);
  g_assert_nonnull (strstr (r.anomaly_statement, "set by hand"));
  g_assert_cmpint (r.classes, ==, 2);

  header = slmodel_provenance (r.slmodel_path);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (header, "kind")), ==, "anomaly");
  anomaly = cJSON_GetObjectItem (cJSON_GetObjectItem (header, "provenance"), "anomaly");
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (anomaly, "threshold_manual")));
  cJSON_Delete (header);

  project_c = sl_project_open_classifier (f->project, run_id, SL_CHECKPOINT_BEST, 1, NULL, &error);
  g_assert_no_error (error);
  sl_classifier_options_init (&co);
  co.threads = 1;
  g_assert_cmpint (sl_classifier_open (r.slmodel_path, &co, &file_c, NULL), ==, SL_OK);
  g_assert_cmpint (sl_classifier_kind (file_c), ==, SL_SLMODEL_ANOMALY);
  g_assert_cmpfloat (sl_classifier_get_anomaly_threshold (file_c), ==, 12.5f);
  paths = stored_images (f->project);
  for (guint i = 0; i < paths->len; i++)
    {
      sl_prediction a, b;

      sl_prediction_init (&a);
      sl_prediction_init (&b);
      g_assert_cmpint (
          sl_classifier_predict_file (project_c, g_ptr_array_index (paths, i), &a, NULL, NULL), ==,
          SL_OK);
      g_assert_cmpint (
          sl_classifier_predict_file (file_c, g_ptr_array_index (paths, i), &b, NULL, NULL), ==,
          SL_OK);
      g_assert_cmpfloat_with_epsilon (a.anomaly_score, b.anomaly_score,
                                      1e-4 * MAX (1, fabsf (a.anomaly_score)));
      g_assert_cmpint (a.anomalous, ==, b.anomalous);
      g_assert_cmpint (a.class_index, ==, b.class_index);
    }
  sl_export_result_clear (&r);

  /* An anomaly run has no gate to add. */
  o.anomaly_gate = TRUE;
  g_assert_false (sl_project_export_run (f->project, run_id, out, &o, &r, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
}

/* A noise image of size x size RGB. */
static void
write_noise (const char *path, int size)
{
  sl_image img = { 0 };
  GRand *rand = g_rand_new_with_seed (4);

  g_assert_cmpint (sl_image_alloc (&img, size, size, 3, 8, NULL), ==, SL_OK);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size * 3; x++)
      img.data[y * img.stride + x] = (guint8) g_rand_int_range (rand, 0, 256);
  g_assert_cmpint (sl_image_save (&img, path, NULL), ==, SL_OK);
  sl_image_clear (&img);
  g_rand_free (rand);
}

static char *
built_cli (void)
{
  const char *build = g_getenv ("G_TEST_BUILDDIR");
  char *path = build != NULL ? g_build_filename (build, "..", "app", "sightline-cli", NULL) : NULL;

  if (path != NULL && !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_clear_pointer (&path, g_free);
  return path;
}

/* sightline-cli export --gate says the gate's threshold and statement; predict --heatmaps
 * writes a classifier's Grad-CAM overlay. */
static void
check_cli (Fixture *f, const char *project, const char *image)
{
  g_autofree char *cli = built_cli ();
  g_autofree char *out = g_build_filename (f->tmp, "cli-out", NULL);
  g_autofree char *maps = g_build_filename (f->tmp, "maps", NULL);
  g_autofree char *stdout_text = NULL, *heatmap = NULL;
  g_autoptr (GError) error = NULL;
  const char *export_argv[] = { cli, "export", project, "--gate", "-o", out, "--json", NULL };
  const char *predict_argv[]
      = { cli, "predict", project, image, "--heatmaps", maps, "--json", NULL };
  cJSON *doc, *gate;
  int status;

  if (cli == NULL)
    {
      g_test_message ("sightline-cli is not built: its part skipped");
      return;
    }
  g_assert_true (g_spawn_sync (NULL, (char **) export_argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                               NULL, &stdout_text, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  doc = cJSON_Parse (stdout_text);
  gate = cJSON_GetObjectItem (doc, "anomaly_gate");
  g_assert_true (cJSON_IsNumber (cJSON_GetObjectItem (gate, "threshold")));
  g_assert_nonnull (strstr (cJSON_GetStringValue (cJSON_GetObjectItem (gate, "statement")),
                            "Anomaly gate fitted on"));
  cJSON_Delete (doc);
  g_clear_pointer (&stdout_text, g_free);

  g_assert_true (g_spawn_sync (NULL, (char **) predict_argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                               NULL, &stdout_text, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  heatmap = g_build_filename (maps, "noise.png", NULL);
  g_assert_true (g_file_test (heatmap, G_FILE_TEST_IS_REGULAR));
  doc = cJSON_Parse (stdout_text);
  g_assert_cmpstr (
      cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (doc, 0), "heatmap")), ==,
      heatmap);
  cJSON_Delete (doc);
}

/* A classifier exported with a gate (fitted on its training images) reports an image unlike
 * them as rejected and anomalous, accepts its own validation images, and says the gate's
 * threshold and how it was chosen. */
static void
test_gate_export (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->tmp, "c", NULL);
  g_autofree char *good = g_build_filename (f->images, "good", NULL);
  g_autofree char *defect = g_build_filename (f->images, "defect", NULL);
  g_autofree char *out = g_build_filename (f->tmp, "out", NULL);
  g_autofree char *noise = g_build_filename (f->tmp, "noise.png", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (sl_classifier) c = NULL;
  g_autoptr (GPtrArray) images = NULL;
  SlExportOptions o;
  SlExportResult r;
  SlRunConfig config;
  sl_prediction p;
  cJSON *header, *gate;
  gint64 run_id;
  int accepted = 0, val = 0;

  /* Two classes of the same surface: with and without defects, 48 px. */
  g_assert_cmpint (sl_test_write_anomaly_images (f->images, 30, 30, 48, 2), ==, 0);
  f->project = sl_project_create (path, "gate", &error);
  g_assert_no_error (error);
  pt_import_as (f->project, good, "plain", NULL);
  pt_import_as (f->project, defect, "flawed", NULL);
  split (f->project);
  sl_run_config_init (&config);
  config.epochs = 2;
  config.batch_size = 8;
  config.threads = 2;
  run_id = pt_run_job (f->project, &config);

  sl_export_options_init (&o);
  o.anomaly_gate = TRUE;
  o.name = "gated";
  g_assert_true (sl_project_export_run (f->project, run_id, out, &o, &r, &error));
  g_assert_no_error (error);
  g_assert_true (r.gated);
  g_assert_false (r.anomaly);
  g_assert_true (isfinite (r.anomaly_threshold));
  g_assert_nonnull (strstr (r.anomaly_statement, "Anomaly gate fitted on"));
  header = slmodel_provenance (r.slmodel_path);
  gate = cJSON_GetObjectItem (cJSON_GetObjectItem (header, "provenance"), "anomaly_gate");
  g_assert_cmpfloat_with_epsilon (cJSON_GetNumberValue (cJSON_GetObjectItem (gate, "threshold")),
                                  r.anomaly_threshold, 1e-6);
  cJSON_Delete (header);

  g_assert_cmpint (sl_classifier_open (r.slmodel_path, NULL, &c, NULL), ==, SL_OK);
  g_assert_cmpint (sl_classifier_kind (c), ==, SL_SLMODEL_CLASSIFIER);
  g_assert_nonnull (sl_classifier_anomaly (c));
  g_assert_cmpfloat_with_epsilon (sl_classifier_get_anomaly_threshold (c), r.anomaly_threshold,
                                  1e-4);
  write_noise (noise, 48);
  sl_prediction_init (&p);
  g_assert_cmpint (sl_classifier_predict_file (c, noise, &p, NULL, NULL), ==, SL_OK);
  g_test_message ("noise: score %g, threshold %g", p.anomaly_score, p.anomaly_threshold);
  g_assert_cmpint (p.anomalous, ==, 1);
  g_assert_cmpint (p.rejected, ==, 1);

  /* The validation images set the threshold: they pass it. */
  images = sl_project_list_images (f->project, NULL, &error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_autofree char *file = NULL;

      if (im->split != SL_SPLIT_VAL)
        continue;
      file = sl_project_image_path (f->project, im->hash, im->ext);
      sl_prediction_init (&p);
      g_assert_cmpint (sl_classifier_predict_file (c, file, &p, NULL, NULL), ==, SL_OK);
      val++;
      accepted += !p.anomalous;
    }
  g_assert_cmpint (val, >, 0);
  g_assert_cmpint (accepted, ==, val);
  sl_export_result_clear (&r);
  check_cli (f, path, noise);
}

/* Without validation images the gate's threshold is the training images' highest score, and
 * the statement says so: every training image passes, the noise image does not. */
static void
test_gate_without_validation (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->tmp, "c", NULL);
  g_autofree char *good = g_build_filename (f->images, "good", NULL);
  g_autofree char *defect = g_build_filename (f->images, "defect", NULL);
  g_autofree char *out = g_build_filename (f->tmp, "out", NULL);
  g_autofree char *noise = g_build_filename (f->tmp, "noise.png", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (sl_classifier) c = NULL;
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  SlExportOptions o;
  SlExportResult r;
  SlRunConfig config;
  sl_prediction p;
  gint64 run_id;

  g_assert_cmpint (sl_test_write_anomaly_images (f->images, 12, 12, 48, 6), ==, 0);
  f->project = sl_project_create (path, "gate", &error);
  g_assert_no_error (error);
  pt_import_as (f->project, good, "plain", NULL);
  pt_import_as (f->project, defect, "flawed", NULL);
  images = sl_project_list_images (f->project, NULL, &error);
  for (guint i = 0; i < images->len; i++)
    g_array_append_val (ids, ((SlImageInfo *) g_ptr_array_index (images, i))->id);
  g_assert_true (sl_project_set_split (f->project, (const gint64 *) ids->data, ids->len,
                                       SL_SPLIT_TRAIN, &error));
  sl_run_config_init (&config);
  config.epochs = 1;
  config.batch_size = 8;
  config.patience = 0;
  config.threads = 2;
  run_id = pt_run_job (f->project, &config);

  sl_export_options_init (&o);
  o.anomaly_gate = TRUE;
  g_assert_true (sl_project_export_run (f->project, run_id, out, &o, &r, &error));
  g_assert_no_error (error);
  g_assert_true (r.gated);
  g_assert_nonnull (strstr (r.anomaly_statement, "no validation images"));
  g_assert_nonnull (strstr (r.anomaly_statement, "highest score of its training images"));
  g_assert_cmpint (sl_classifier_open (r.slmodel_path, NULL, &c, NULL), ==, SL_OK);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_autofree char *file = sl_project_image_path (f->project, im->hash, im->ext);

      sl_prediction_init (&p);
      g_assert_cmpint (sl_classifier_predict_file (c, file, &p, NULL, NULL), ==, SL_OK);
      g_assert_cmpint (p.anomalous, ==, 0);
    }
  write_noise (noise, 48);
  sl_prediction_init (&p);
  g_assert_cmpint (sl_classifier_predict_file (c, noise, &p, NULL, NULL), ==, SL_OK);
  g_assert_cmpint (p.anomalous, ==, 1);
  sl_export_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/anomaly-export/anomaly", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_anomaly_export, pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-export/gate", Fixture, NULL, pt_anomaly_fixture_set_up, test_gate_export,
              pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-export/gate-without-validation", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_gate_without_validation, pt_anomaly_fixture_tear_down);
  return g_test_run ();
}
