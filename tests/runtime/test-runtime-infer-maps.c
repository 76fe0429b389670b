/* test-runtime-infer-maps.c: sightline-infer with anomaly models and gates: score columns, --info, and --heatmaps PNGs. */
#include "runtime-anomaly-util.h"
#include "runtime-test-util.h"
#include "sl-test-support.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sl-files.h"

typedef struct
{
  char *dir;
  char *anomaly_model, *classifier_model;
  char *images; /* a folder: two good, one defect, one far-out image */
  float threshold;
} Models;

static Models models;

static void
models_free (void)
{
  if (models.dir != NULL)
    sl_remove_tree (models.dir);
  g_free (models.dir);
  g_free (models.anomaly_model);
  g_free (models.classifier_model);
  g_free (models.images);
}

static void
copy_file (const char *from, const char *dir, const char *name)
{
  g_autofree char *data = NULL, *to = g_build_filename (dir, name, NULL);
  gsize size;

  g_assert_true (g_file_get_contents (from, &data, &size, NULL));
  g_assert_true (g_file_set_contents (to, data, size, NULL));
}

static const Models *
get_models (void)
{
  static const char *const labels[3] = { "bolt", "nut", "washer" };
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_model *model;
  sl_anomaly *scorer;
  sl_pipeline *pipeline;
  sl_slmodel_info info;
  sl_error err = { 0 };

  if (models.dir != NULL)
    return &models;
  models.dir = g_dir_make_tmp ("sl-infer-maps-XXXXXX", NULL);
  atexit (models_free);
  models.anomaly_model = g_build_filename (models.dir, "anomaly.slmodel", NULL);
  models.classifier_model = g_build_filename (models.dir, "classifier.slmodel", NULL);
  models.images = g_build_filename (models.dir, "parts", NULL);
  g_assert_cmpint (g_mkdir (models.images, 0755), ==, 0);
  copy_file (d->good[0], models.images, "a-good.png");
  copy_file (d->good[1], models.images, "b-good.png");
  copy_file (d->defect[0], models.images, "c-defect.png");
  copy_file (d->far[0], models.images, "d-far.png");

  model = rt_tiny_model (3, 5);
  pipeline = rt_tiny_pipeline ();
  scorer = rt_fit_scorer (model, d->fit);
  models.threshold = 1.2f
                     * fmaxf (rt_reference_score (scorer, model, d->good[0], NULL),
                              rt_reference_score (scorer, model, d->good[1], NULL));
  sl_assert_ok (sl_anomaly_set_threshold (scorer, models.threshold, &err), &err);
  sl_slmodel_info_init (&info);
  info.kind = SL_SLMODEL_ANOMALY;
  info.anomaly = scorer;
  sl_assert_ok (sl_slmodel_save (model, pipeline, &info, models.anomaly_model, &err), &err);
  sl_slmodel_info_init (&info);
  info.labels = labels;
  sl_assert_ok (sl_slmodel_save (model, pipeline, &info, models.classifier_model, &err), &err);
  sl_anomaly_free (scorer);
  sl_pipeline_free (pipeline);
  sl_model_free (model);
  return &models;
}

static void
test_anomaly_csv_json (void)
{
  const Models *m = get_models ();
  RtRun r = rt_run ("SL_INFER", NULL, m->anomaly_model, m->images, NULL);
  g_autoptr (GPtrArray) rows = NULL;
  g_auto (GStrv) lines = NULL;

  g_assert_cmpint (r.status, ==, 0);
  rows = rt_csv_parse (r.out);
  g_assert_cmpuint (rows->len, ==, 5);
  {
    char **h = rows->pdata[0];
    g_assert_cmpstr (h[4], ==, "anomaly_score");
    g_assert_cmpstr (h[5], ==, "anomalous");
    g_assert_null (h[6]);
  }
  for (guint i = 1; i < rows->len; i++)
    {
      char **row = rows->pdata[i];
      double score = g_ascii_strtod (row[4], NULL);
      gboolean anomalous = strcmp (row[5], "1") == 0;

      g_assert_cmpint (anomalous, ==, score > models.threshold);
      g_assert_cmpstr (row[1], ==, anomalous ? "anomalous" : "good");
      g_assert_cmpstr (row[2], ==, "1.000000");
      g_assert_cmpstr (row[3], ==, "0");
    }
  /* The good images pass, the far-out one does not. */
  g_assert_cmpstr (((char **) rows->pdata[1])[1], ==, "good");
  g_assert_cmpstr (((char **) rows->pdata[2])[1], ==, "good");
  g_assert_cmpstr (((char **) rows->pdata[4])[1], ==, "anomalous");
  rt_run_clear (&r);

  r = rt_run ("SL_INFER", NULL, "--json", m->anomaly_model, m->images, NULL);
  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  {
    cJSON *doc = cJSON_Parse (lines[3]);

    g_assert_nonnull (doc);
    g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (doc, "anomalous")));
    g_assert_cmpfloat (cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "anomaly_score")), >,
                       models.threshold);
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "label")), ==, "anomalous");
    cJSON_Delete (doc);
  }
  rt_run_clear (&r);

  /* A classifier without a scorer keeps its columns. */
  r = rt_run ("SL_INFER", NULL, m->classifier_model, m->images, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "file,label,confidence,rejected\n"));
  rt_run_clear (&r);
}

static void
test_info (void)
{
  const Models *m = get_models ();
  RtRun r = rt_run ("SL_INFER", NULL, "--info", m->anomaly_model, NULL);
  cJSON *doc, *anomaly;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "anomaly model"));
  g_assert_nonnull (strstr (r.out, "PatchCore on layers r1, r2"));
  g_assert_nonnull (strstr (r.out, "memory bank of"));
  g_assert_nonnull (strstr (r.out, "threshold"));
  rt_run_clear (&r);

  r = rt_run ("SL_INFER", NULL, "--info", "--json", m->anomaly_model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  doc = cJSON_Parse (r.out);
  g_assert_nonnull (doc);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "kind")), ==, "anomaly");
  anomaly = cJSON_GetObjectItem (doc, "anomaly");
  g_assert_cmpstr (
      cJSON_GetStringValue (cJSON_GetArrayItem (cJSON_GetObjectItem (anomaly, "layers"), 1)), ==,
      "r2");
  g_assert_cmpfloat (cJSON_GetNumberValue (cJSON_GetObjectItem (anomaly, "bank_size")), >, 0);
  g_assert_cmpfloat_with_epsilon (cJSON_GetNumberValue (cJSON_GetObjectItem (anomaly, "threshold")),
                                  models.threshold, 1e-4 * models.threshold);
  cJSON_Delete (doc);
  rt_run_clear (&r);

  r = rt_run ("SL_INFER", NULL, "--info", "--json", m->classifier_model, NULL);
  doc = cJSON_Parse (r.out);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "kind")), ==, "classifier");
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItem (doc, "anomaly")));
  cJSON_Delete (doc);
  rt_run_clear (&r);
}

/* Reads an overlay back: RGB8 at the model's input size. */
static void
check_png (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  sl_image img = { 0 };
  sl_error err = { 0 };

  sl_assert_ok (sl_image_load (path, 0, &img, &err), &err);
  g_assert_cmpint (img.width, ==, RT_TINY_SIZE);
  g_assert_cmpint (img.height, ==, RT_TINY_SIZE);
  g_assert_cmpint (img.channels, ==, 3);
  sl_image_clear (&img);
}

static void
test_heatmaps (void)
{
  const Models *m = get_models ();
  g_autofree char *out = g_build_filename (m->dir, "heat", NULL);
  g_autofree char *cam = g_build_filename (m->dir, "cam", NULL);
  g_autofree char *dup = g_build_filename (m->images, "a-good.png", NULL);
  g_autofree char *far = g_build_filename (out, "d-far.png", NULL);
  g_autofree char *good = g_build_filename (out, "a-good.png", NULL);
  RtRun r = rt_run ("SL_INFER", NULL, "--heatmaps", out, m->anomaly_model, m->images, NULL);
  sl_image far_img = { 0 }, good_img = { 0 };
  sl_error err = { 0 };
  int painted_far = 0, painted_good = 0;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  check_png (out, "a-good.png");
  check_png (out, "b-good.png");
  check_png (out, "c-defect.png");
  check_png (out, "d-far.png");
  rt_run_clear (&r);
  /* The far-out image is painted far more than a good one: red over its
   * (mostly gray-green) surface. */
  sl_assert_ok (sl_image_load (far, 0, &far_img, &err), &err);
  sl_assert_ok (sl_image_load (good, 0, &good_img, &err), &err);
  for (int y = 0; y < RT_TINY_SIZE; y++)
    for (int x = 0; x < RT_TINY_SIZE; x++)
      {
        const guint8 *a = (const guint8 *) far_img.data + y * far_img.stride + 3 * x;
        const guint8 *b = (const guint8 *) good_img.data + y * good_img.stride + 3 * x;
        painted_far += a[0] > a[1] + 60 && a[0] > a[2] + 60;
        painted_good += b[0] > b[1] + 60 && b[0] > b[2] + 60;
      }
  g_assert_cmpint (painted_far, >, painted_good + RT_TINY_SIZE);
  sl_image_clear (&far_img);
  sl_image_clear (&good_img);

  /* A classifier writes Grad-CAM overlays; an image named twice gets "-2". */
  r = rt_run ("SL_INFER", NULL, "--heatmaps", cam, "--batch", "4", m->classifier_model, m->images,
              dup, NULL);
  g_assert_cmpint (r.status, ==, 0);
  check_png (cam, "a-good.png");
  check_png (cam, "a-good-2.png");
  check_png (cam, "d-far.png");
  rt_run_clear (&r);
}

/* --heatmaps naming the images' own folder: an overlay never replaces the image it is of
 * (part.png's goes to part-2.png). */
static void
test_heatmaps_own_folder (void)
{
  const Models *m = get_models ();
  g_autofree char *dir = g_build_filename (m->dir, "own", NULL);
  g_autofree char *src = g_build_filename (m->images, "c-defect.png", NULL);
  g_autofree char *image = g_build_filename (dir, "c-defect.png", NULL);
  g_autofree char *before = NULL, *after = NULL;
  gsize n_before = 0, n_after = 0;
  RtRun r;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_get_contents (src, &before, &n_before, NULL));
  g_assert_true (g_file_set_contents (image, before, (gssize) n_before, NULL));
  r = rt_run ("SL_INFER", NULL, "--heatmaps", dir, m->anomaly_model, image, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rt_run_clear (&r);
  g_assert_true (g_file_get_contents (image, &after, &n_after, NULL));
  g_assert_cmpmem (before, n_before, after, n_after);
  check_png (dir, "c-defect-2.png");

  /* Nor any other file there: a user's b-good.png (not an input) stays as it was. */
  {
    g_autofree char *theirs = g_build_filename (dir, "b-good.png", NULL);
    g_autofree char *input = g_build_filename (m->images, "b-good.png", NULL);
    g_autofree char *kept = NULL;

    g_assert_true (g_file_set_contents (theirs, "not ours", -1, NULL));
    r = rt_run ("SL_INFER", NULL, "--heatmaps", dir, m->anomaly_model, input, NULL);
    g_assert_cmpint (r.status, ==, 0);
    rt_run_clear (&r);
    g_assert_true (g_file_get_contents (theirs, &kept, NULL, NULL));
    g_assert_cmpstr (kept, ==, "not ours");
    check_png (dir, "b-good-2.png");
  }
}

static void
test_heatmaps_errors (void)
{
  const Models *m = get_models ();
  g_autofree char *file = g_build_filename (m->dir, "not-a-folder", NULL);
  g_autofree char *deep = g_build_filename (m->dir, "missing", "deeper", NULL);
  g_autofree char *locked = g_build_filename (m->dir, "locked", NULL);
  RtRun r;

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  r = rt_run ("SL_INFER", NULL, "--heatmaps", file, m->anomaly_model, m->images, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "is not a folder"));
  g_assert_cmpstr (r.out, ==, "");
  rt_run_clear (&r);

  r = rt_run ("SL_INFER", NULL, "--heatmaps", deep, m->anomaly_model, m->images, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "cannot create the folder"));
  rt_run_clear (&r);

  r = rt_run ("SL_INFER", NULL, "--heatmaps", "", m->anomaly_model, m->images, NULL);
  g_assert_cmpint (r.status, ==, 2);
  rt_run_clear (&r);

  /* A folder we may not write in (root may write anywhere: then skip this part). */
  g_assert_cmpint (g_mkdir (locked, 0555), ==, 0);
  if (access (locked, W_OK) != 0)
    {
      r = rt_run ("SL_INFER", NULL, "--heatmaps", locked, m->anomaly_model, m->images, NULL);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, "cannot write in the folder"));
      rt_run_clear (&r);
    }
  g_chmod (locked, 0755);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/runtime/infer-maps/anomaly-csv-json", test_anomaly_csv_json);
  g_test_add_func ("/runtime/infer-maps/info", test_info);
  g_test_add_func ("/runtime/infer-maps/heatmaps", test_heatmaps);
  g_test_add_func ("/runtime/infer-maps/heatmaps-own-folder", test_heatmaps_own_folder);
  g_test_add_func ("/runtime/infer-maps/heatmaps-errors", test_heatmaps_errors);
  return g_test_run ();
}
