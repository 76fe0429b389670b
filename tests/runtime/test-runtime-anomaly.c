/* test-runtime-anomaly.c: anomaly models as classifiers: scores, decisions, threshold, maps, the .slmodel round trip and the cost. */
#include "runtime-anomaly-util.h"
#include "sl-test-support.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>

#include "sl-files.h"

#define MAP_FLOATS (RT_TINY_SIZE * RT_TINY_SIZE)

typedef struct
{
  sl_model *ref_model;   /* the model the classifier holds, built again */
  sl_anomaly *reference; /* the scorer, kept outside the classifier */
  sl_classifier *c;
} Fixture;

/* An anomaly classifier and, beside it, the same model and scorer to compare with. */
static void
fixture_set_up (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_model *model = rt_tiny_model (5, 11);
  sl_anomaly *scorer;
  sl_error err = { 0 };

  f->ref_model = rt_tiny_model (5, 11);
  scorer = rt_fit_scorer (model, d->fit);
  f->reference = sl_anomaly_copy (scorer);
  g_assert_nonnull (f->reference);
  sl_assert_ok (sl_classifier_new_anomaly (model, rt_tiny_pipeline (), scorer, NULL, &f->c, &err),
                &err);
}

static void
fixture_tear_down (Fixture *f, gconstpointer user_data)
{
  sl_classifier_free (f->c);
  sl_anomaly_free (f->reference);
  sl_model_free (f->ref_model);
}

/* Every image of the data set, fit images first. */
static GPtrArray *
all_images (void)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  GPtrArray *a = g_ptr_array_new ();
  char **lists[] = { d->fit, d->good, d->defect, d->far };

  for (gsize l = 0; l < G_N_ELEMENTS (lists); l++)
    for (int i = 0; lists[l][i] != NULL; i++)
      g_ptr_array_add (a, lists[l][i]);
  return a;
}

static void
test_kind_and_labels (Fixture *f, gconstpointer user_data)
{
  cJSON *header = cJSON_Parse (sl_classifier_header_json (f->c)), *anomaly;

  g_assert_cmpint (sl_classifier_kind (f->c), ==, SL_SLMODEL_ANOMALY);
  g_assert_cmpint (sl_classifier_class_count (f->c), ==, 2);
  g_assert_cmpstr (sl_classifier_class_label (f->c, 0), ==, "good");
  g_assert_cmpstr (sl_classifier_class_label (f->c, 1), ==, "anomalous");
  g_assert_nonnull (sl_classifier_anomaly (f->c));
  g_assert_cmpint (sl_anomaly_bank_size (sl_classifier_anomaly (f->c)), ==,
                   sl_anomaly_bank_size (f->reference));
  g_assert_cmpstr (sl_classifier_anomaly_layer_name (f->c, 0), ==, "r1");
  g_assert_cmpstr (sl_classifier_anomaly_layer_name (f->c, 1), ==, "r2");
  g_assert_null (sl_classifier_anomaly_layer_name (f->c, 2));
  /* Fitted without a threshold: +infinity, nothing is anomalous. */
  g_assert_true (isinf (sl_classifier_get_anomaly_threshold (f->c)));
  g_assert_nonnull (header);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (header, "kind")), ==, "anomaly");
  anomaly = cJSON_GetObjectItem (header, "anomaly");
  g_assert_nonnull (anomaly);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (anomaly, "method")), ==, "patchcore");
  g_assert_cmpint (cJSON_GetNumberValue (cJSON_GetObjectItem (anomaly, "bank_size")), ==,
                   sl_anomaly_bank_size (f->reference));
  cJSON_Delete (header);
}

/* The runtime's scores and maps are the engine's, and its decisions follow the threshold. */
static void
test_scores_and_decisions (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GPtrArray) images = all_images ();
  g_autofree float *scores = g_new (float, images->len);
  g_autofree float *sorted = NULL;
  g_autofree float *map = g_new (float, MAP_FLOATS);
  g_autofree float *ref_map = g_new (float, MAP_FLOATS);
  float threshold;
  sl_error err = { 0 };

  for (guint i = 0; i < images->len; i++)
    {
      sl_prediction p;
      sl_prediction_maps maps;

      sl_prediction_init (&p);
      sl_prediction_maps_init (&maps);
      maps.anomaly_map = map;
      sl_assert_ok (sl_classifier_predict_file_maps (f->c, images->pdata[i], &p, NULL, &maps, &err),
                    &err);
      scores[i] = rt_reference_score (f->reference, f->ref_model, images->pdata[i], ref_map);
      g_assert_cmpfloat_with_epsilon (p.anomaly_score, scores[i], 1e-5f * (1 + scores[i]));
      g_assert_cmpfloat (sl_test_rel_error (map, ref_map, MAP_FLOATS, 1e-6), <, 1e-5);
      /* The image score is the largest patch score; the smoothed map stays below it. */
      for (int k = 0; k < MAP_FLOATS; k++)
        g_assert_cmpfloat (map[k], <=, p.anomaly_score * (1 + 1e-5f));
    }
  /* The images the bank came from score lower than the far ones. */
  g_assert_cmpfloat (scores[0], <, scores[images->len - 1]);

  /* A threshold in the middle of the scores splits them. */
  sorted = g_memdup2 (scores, sizeof (float) * images->len);
  for (guint i = 1; i < images->len; i++)
    for (guint j = i; j > 0 && sorted[j - 1] > sorted[j]; j--)
      {
        float t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }
  threshold = 0.5f * (sorted[images->len / 2] + sorted[images->len / 2 - 1]);
  sl_assert_ok (sl_classifier_set_anomaly_threshold (f->c, threshold, &err), &err);
  g_assert_cmpfloat (sl_classifier_get_anomaly_threshold (f->c), ==, threshold);
  for (guint i = 0; i < images->len; i++)
    {
      sl_prediction p;
      float probs[2];
      int anomalous = scores[i] > threshold;

      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_file (f->c, images->pdata[i], &p, probs, &err), &err);
      g_assert_cmpint (p.anomalous, ==, anomalous);
      g_assert_cmpint (p.class_index, ==, anomalous);
      g_assert_cmpstr (p.label, ==, anomalous ? "anomalous" : "good");
      g_assert_cmpfloat (p.confidence, ==, 1.0f);
      g_assert_cmpint (p.rejected, ==, 0);
      g_assert_cmpfloat (p.anomaly_threshold, ==, threshold);
      g_assert_cmpfloat (probs[anomalous], ==, 1.0f);
      g_assert_cmpfloat (probs[1 - anomalous], ==, 0.0f);
    }

  /* Raising it above every score clears them all. */
  sl_assert_ok (sl_classifier_set_anomaly_threshold (f->c, sorted[images->len - 1] * 2, &err),
                &err);
  for (guint i = 0; i < images->len; i++)
    {
      sl_prediction p;

      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_file (f->c, images->pdata[i], &p, NULL, &err), &err);
      g_assert_cmpint (p.anomalous, ==, 0);
      g_assert_cmpstr (p.label, ==, "good");
    }
}

/* A batch gives what single images give. */
static void
test_batch (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_image images[4] = { 0 };
  sl_prediction out[4];
  sl_error err = { 0 };
  char *paths[4] = { d->fit[0], d->good[0], d->defect[0], d->far[0] };

  sl_assert_ok (sl_classifier_set_anomaly_threshold (
                    f->c, rt_reference_score (f->reference, f->ref_model, d->good[0], NULL), &err),
                &err);
  for (int i = 0; i < 4; i++)
    sl_assert_ok (sl_image_load (paths[i], 0, &images[i], &err), &err);
  sl_prediction_init (&out[0]);
  sl_assert_ok (sl_classifier_predict_images (f->c, images, 4, out, NULL, &err), &err);
  for (int i = 0; i < 4; i++)
    {
      sl_prediction one;

      sl_prediction_init (&one);
      sl_assert_ok (sl_classifier_predict_image (f->c, &images[i], &one, NULL, &err), &err);
      g_assert_cmpfloat_with_epsilon (out[i].anomaly_score, one.anomaly_score,
                                      1e-5f * (1 + one.anomaly_score));
      g_assert_cmpint (out[i].anomalous, ==, one.anomalous);
      g_assert_cmpint (out[i].class_index, ==, one.class_index);
      sl_image_clear (&images[i]);
    }
  /* The image exactly at the threshold is not above it. */
  g_assert_cmpint (out[1].anomalous, ==, 0);
}

static void
test_threshold_errors (Fixture *f, gconstpointer user_data)
{
  sl_classifier *plain = NULL;
  sl_error err = { 0 };
  const char *labels[5] = { "a", "b", "c", "d", "e" };
  sl_prediction p;

  g_assert_cmpint (sl_classifier_set_anomaly_threshold (f->c, NAN, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_classifier_set_anomaly_threshold (f->c, -1.0f, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, ">= 0"));
  /* +infinity means "never". */
  sl_assert_ok (sl_classifier_set_anomaly_threshold (f->c, INFINITY, &err), &err);
  /* An anomaly model takes no gate. */
  g_assert_cmpint (sl_classifier_set_anomaly_gate (f->c, sl_anomaly_copy (f->reference), &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "gate is for classifiers"));

  /* A classifier without a scorer has no threshold, and NAN scores. */
  sl_assert_ok (
      sl_classifier_new (rt_tiny_model (5, 11), rt_tiny_pipeline (), labels, 5, NULL, &plain, &err),
      &err);
  g_assert_true (isnan (sl_classifier_get_anomaly_threshold (plain)));
  g_assert_cmpint (sl_classifier_set_anomaly_threshold (plain, 1.0f, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no anomaly scorer"));
  sl_prediction_init (&p);
  g_assert_true (isnan (p.anomaly_score) && isnan (p.anomaly_threshold) && p.anomalous == 0);
  sl_assert_ok (sl_classifier_predict_file (plain, rt_anomaly_data ()->far[0], &p, NULL, &err),
                &err);
  g_assert_true (isnan (p.anomaly_score) && isnan (p.anomaly_threshold) && p.anomalous == 0);
  g_assert_cmpint (sl_classifier_kind (plain), ==, SL_SLMODEL_CLASSIFIER);
  g_assert_null (sl_classifier_anomaly (plain));
  sl_classifier_free (plain);

  /* new_anomaly takes its arguments whatever happens, and needs a scorer. */
  g_assert_cmpint (sl_classifier_new_anomaly (rt_tiny_model (5, 11), rt_tiny_pipeline (), NULL,
                                              NULL, &plain, &err),
                   ==, SL_ERR_INVALID);
  g_assert_null (plain);
}

/* sl_slmodel_save writes the scorer and its threshold; sl_classifier_open brings back the same model. */
static void
test_save_open (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  g_autofree char *path = g_build_filename (d->dir, "anomaly.slmodel", NULL);
  sl_anomaly *saved = sl_anomaly_copy (f->reference);
  float threshold = rt_reference_score (f->reference, f->ref_model, d->good[1], NULL);
  sl_pipeline *pipeline = rt_tiny_pipeline ();
  sl_classifier *opened = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };
  cJSON *header;

  sl_assert_ok (sl_anomaly_set_threshold (saved, threshold, &err), &err);
  sl_slmodel_info_init (&info);
  info.kind = SL_SLMODEL_ANOMALY;
  info.anomaly = saved;
  sl_assert_ok (sl_slmodel_save (f->ref_model, pipeline, &info, path, &err), &err);
  sl_assert_ok (sl_classifier_open (path, NULL, &opened, &err), &err);
  g_assert_cmpint (sl_classifier_kind (opened), ==, SL_SLMODEL_ANOMALY);
  g_assert_cmpint (sl_classifier_class_count (opened), ==, 2);
  g_assert_cmpstr (sl_classifier_class_label (opened, 1), ==, "anomalous");
  g_assert_cmpfloat (sl_classifier_get_anomaly_threshold (opened), ==, threshold);
  g_assert_cmpint (sl_anomaly_bank_size (sl_classifier_anomaly (opened)), ==,
                   sl_anomaly_bank_size (saved));
  header = cJSON_Parse (sl_classifier_header_json (opened));
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (header, "kind")), ==, "anomaly");
  cJSON_Delete (header);
  for (int i = 0; d->defect[i] != NULL; i++)
    {
      sl_prediction a, b;

      sl_prediction_init (&a);
      sl_prediction_init (&b);
      sl_assert_ok (sl_classifier_predict_file (opened, d->defect[i], &a, NULL, &err), &err);
      sl_assert_ok (sl_classifier_predict_file (f->c, d->defect[i], &b, NULL, &err), &err);
      g_assert_cmpfloat (a.anomaly_score, ==, b.anomaly_score);
      g_assert_cmpint (a.anomalous, ==, a.anomaly_score > threshold);
    }
  sl_classifier_free (opened);
  sl_anomaly_free (saved);
  sl_pipeline_free (pipeline);
}

/* The bank and the scorer's work are part of what a prediction costs, and the limits see them. */
static void
test_cost (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  g_autofree char *path = g_build_filename (d->dir, "cost.slmodel", NULL);
  const char *labels[5] = { "a", "b", "c", "d", "e" };
  sl_classifier *plain = NULL, *opened = NULL;
  sl_classifier_cost with, without;
  sl_classifier_options o;
  sl_pipeline *pipeline = rt_tiny_pipeline ();
  sl_slmodel_info info;
  sl_error err = { 0 };
  const sl_anomaly *a = sl_classifier_anomaly (f->c);
  double bank_bytes = (double) sl_anomaly_bank_size (a) * sl_anomaly_feature_dims (a) * 4;
  double search_mflops
      = 2.0 * 16 * 16 * sl_anomaly_bank_size (a) * sl_anomaly_feature_dims (a) / 1e6;

  sl_assert_ok (
      sl_classifier_new (rt_tiny_model (5, 11), rt_tiny_pipeline (), labels, 5, NULL, &plain, &err),
      &err);
  sl_classifier_cost_init (&with);
  sl_classifier_cost_init (&without);
  sl_assert_ok (sl_classifier_get_cost (f->c, &with, &err), &err);
  sl_assert_ok (sl_classifier_get_cost (plain, &without, &err), &err);
  g_assert_cmpfloat ((double) (with.weight_bytes - without.weight_bytes), >=, bank_bytes);
  g_assert_cmpint (with.working_bytes, >, without.working_bytes);
  g_assert_cmpint (with.input_bytes, >, without.input_bytes);
  g_assert_cmpint (with.memory_bytes, ==,
                   with.weight_bytes + with.working_bytes + with.input_bytes
                       + with.preprocess_bytes);
  /* The nearest-neighbour search (16 x 16 patches against the bank) is counted. */
  g_assert_cmpfloat (with.model_mflops, >, search_mflops);
  g_assert_cmpfloat (with.mflops, ==, with.model_mflops + with.preprocess_mflops);

  /* A limit the model fits but the bank does not refuses the file, naming the bank. */
  sl_slmodel_info_init (&info);
  info.kind = SL_SLMODEL_ANOMALY;
  info.anomaly = f->reference;
  sl_assert_ok (sl_slmodel_save (f->ref_model, pipeline, &info, path, &err), &err);
  sl_classifier_options_init (&o);
  o.threads = with.threads;
  o.max_memory = with.memory_bytes - 1;
  g_assert_cmpint (sl_classifier_open (path, &o, &opened, &err), ==, SL_ERR_LIMIT);
  g_assert_null (opened);
  g_assert_nonnull (strstr (err.message, "memory bank"));
  o.max_memory = with.memory_bytes;
  sl_assert_ok (sl_classifier_open (path, &o, &opened, &err), &err);
  sl_classifier_free (opened);
  sl_classifier_free (plain);
  sl_pipeline_free (pipeline);
}

static void
write_floats (const char *dir, const char *name, const float *v, gsize n)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, (const char *) v, n * sizeof (float), NULL));
}

/* The anomaly model as ONNX: a sidecar that says how to judge its outputs, and
 * (where ONNX Runtime is installed) a graph whose scores and maps are the
 * runtime's for the same preprocessed images. */
static void
test_export_onnx (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  g_autofree char *dir = g_build_filename (d->dir, "onnx", NULL);
  g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *sidecar_path = g_build_filename (dir, "model.json", NULL);
  g_autofree char *sidecar = NULL, *shape = NULL, *python = NULL;
  const char *paths[3] = { d->good[0], d->defect[2], d->far[1] };
  g_autofree float *inputs = g_new (float, 3 * 3 * MAP_FLOATS);
  g_autofree float *maps_out = g_new (float, 3 * MAP_FLOATS);
  float scores[3], threshold;
  const char *script = g_getenv ("SL_ONNX_ANOMALY_CHECK");
  sl_error err = { 0 };
  cJSON *doc;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  threshold = rt_reference_score (f->reference, f->ref_model, d->good[1], NULL);
  sl_assert_ok (sl_classifier_set_anomaly_threshold (f->c, threshold, &err), &err);
  sl_assert_ok (sl_classifier_export_onnx (f->c, onnx, &err), &err);
  g_assert_true (g_file_get_contents (sidecar_path, &sidecar, NULL, NULL));
  doc = cJSON_Parse (sidecar);
  g_assert_nonnull (doc);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "kind")), ==, "anomaly");
  g_assert_cmpfloat_with_epsilon (cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "threshold")),
                                  threshold, 1e-6 * threshold);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (
                       cJSON_GetArrayItem (cJSON_GetObjectItem (doc, "outputs"), 1), "name")),
                   ==, "anomaly_map");
  g_assert_cmpstr (
      cJSON_GetStringValue (cJSON_GetArrayItem (cJSON_GetObjectItem (doc, "classes"), 1)), ==,
      "anomalous");
  cJSON_Delete (doc);

  /* What the graph is fed (the pipeline's output, 0..255, NCHW) and what the runtime says. */
  for (int i = 0; i < 3; i++)
    {
      sl_image img = { 0 }, ready = { 0 };
      sl_prediction p;
      sl_prediction_maps maps;

      sl_assert_ok (sl_image_load (paths[i], 0, &img, &err), &err);
      sl_assert_ok (sl_classifier_preprocess (f->c, &img, &ready, &err), &err);
      for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < RT_TINY_SIZE; y++)
          for (int x = 0; x < RT_TINY_SIZE; x++)
            inputs[(i * 3 + ch) * MAP_FLOATS + y * RT_TINY_SIZE + x]
                = ((const guint8 *) ready.data)[y * ready.stride + 3 * x + ch];
      sl_prediction_init (&p);
      sl_prediction_maps_init (&maps);
      maps.anomaly_map = maps_out + i * MAP_FLOATS;
      sl_assert_ok (sl_classifier_predict_image_maps (f->c, &img, &p, NULL, &maps, &err), &err);
      scores[i] = p.anomaly_score;
      sl_image_clear (&img);
      sl_image_clear (&ready);
    }
  if (script == NULL || (python = g_find_program_in_path ("python3")) == NULL)
    {
      g_test_skip ("no python3 with the ONNX check script (run through meson test)");
      return;
    }
  shape = g_strdup_printf ("3 3 %d %d\n", RT_TINY_SIZE, RT_TINY_SIZE);
  {
    g_autofree char *shape_path = g_build_filename (dir, "shape.txt", NULL);
    g_autofree char *out = NULL, *errs = NULL;
    const char *argv[] = { python, script, "--runtime", dir, NULL };
    int status = 0;

    g_assert_true (g_file_set_contents (shape_path, shape, -1, NULL));
    write_floats (dir, "inputs.f32", inputs, 3 * 3 * MAP_FLOATS);
    write_floats (dir, "scores.f32", scores, 3);
    write_floats (dir, "maps.f32", maps_out, 3 * MAP_FLOATS);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                 &errs, &status, NULL));
    if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
      {
        g_test_skip_printf ("%s", g_strchomp (errs));
        return;
      }
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
      g_error ("ONNX Runtime disagrees with the runtime: %s%s", out, errs);
    g_test_message ("%s", g_strchomp (out));
  }
}

typedef struct
{
  Fixture *f;
  const char *path;
  gint *stop;
  int predictions;
} Predictor;

static gpointer
predict_until_stopped (gpointer data)
{
  Predictor *p = data;
  sl_error err = { 0 };

  while (!g_atomic_int_get (p->stop) || p->predictions < 5)
    {
      sl_prediction pred;

      sl_prediction_init (&pred);
      sl_assert_ok (sl_classifier_predict_file (p->f->c, p->path, &pred, NULL, &err), &err);
      /* Each prediction is judged by one threshold, the one it reports. */
      g_assert_true (pred.anomaly_threshold == 0.0f || isinf (pred.anomaly_threshold));
      g_assert_cmpint (pred.anomalous, ==, pred.anomaly_score > pred.anomaly_threshold);
      p->predictions++;
    }
  return NULL;
}

/* The threshold changes while two threads predict: every prediction sees the old or the new one. */
static void
test_threshold_while_predicting (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  gint stop = 0;
  Predictor p[2] = { { f, d->far[0], &stop, 0 }, { f, d->good[0], &stop, 0 } };
  GThread *threads[2];
  sl_error err = { 0 };

  for (int i = 0; i < 2; i++)
    threads[i] = g_thread_new ("predict", predict_until_stopped, &p[i]);
  for (int k = 0; k < 2000; k++)
    {
      sl_assert_ok (sl_classifier_set_anomaly_threshold (f->c, k % 2 ? 0.0f : INFINITY, &err),
                    &err);
      g_usleep (50);
    }
  g_atomic_int_set (&stop, 1);
  for (int i = 0; i < 2; i++)
    g_thread_join (threads[i]);
  g_assert_cmpint (p[0].predictions, >=, 5);
}

/* A program built before the anomaly fields passes a shorter sl_prediction:
 * it gets the decision, and nothing past its struct is written. */
static void
test_old_prediction_struct (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  const size_t v1 = offsetof (sl_prediction, anomaly_score);
  guint8 buffer[2 * sizeof (sl_prediction)];
  sl_prediction *p = (sl_prediction *) buffer;
  sl_error err = { 0 };

  sl_assert_ok (sl_classifier_set_anomaly_threshold (f->c, 0.0f, &err), &err);
  memset (buffer, 0xab, sizeof buffer);
  p->struct_size = v1;
  sl_assert_ok (sl_classifier_predict_file (f->c, d->far[0], p, NULL, &err), &err);
  g_assert_cmpint (p->class_index, ==, 1);
  g_assert_cmpstr (p->label, ==, "anomalous");
  for (size_t i = v1; i < sizeof buffer; i++)
    g_assert_cmpint (buffer[i], ==, 0xab);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/runtime/anomaly/kind-and-labels", Fixture, NULL, fixture_set_up,
              test_kind_and_labels, fixture_tear_down);
  g_test_add ("/runtime/anomaly/scores-and-decisions", Fixture, NULL, fixture_set_up,
              test_scores_and_decisions, fixture_tear_down);
  g_test_add ("/runtime/anomaly/batch", Fixture, NULL, fixture_set_up, test_batch,
              fixture_tear_down);
  g_test_add ("/runtime/anomaly/threshold-errors", Fixture, NULL, fixture_set_up,
              test_threshold_errors, fixture_tear_down);
  g_test_add ("/runtime/anomaly/save-open", Fixture, NULL, fixture_set_up, test_save_open,
              fixture_tear_down);
  g_test_add ("/runtime/anomaly/cost", Fixture, NULL, fixture_set_up, test_cost, fixture_tear_down);
  g_test_add ("/runtime/anomaly/threshold-while-predicting", Fixture, NULL, fixture_set_up,
              test_threshold_while_predicting, fixture_tear_down);
  g_test_add ("/runtime/anomaly/old-prediction-struct", Fixture, NULL, fixture_set_up,
              test_old_prediction_struct, fixture_tear_down);
  g_test_add ("/runtime/anomaly/export-onnx", Fixture, NULL, fixture_set_up, test_export_onnx,
              fixture_tear_down);
  return g_test_run ();
}
