/* test-runtime-gate.c: classifiers with an anomaly gate: images like the training images pass, far-out ones are rejected. */
#include "runtime-anomaly-util.h"
#include "sl-test-support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#define CLASSES 3

static const char *const labels[CLASSES] = { "bolt", "nut", "washer" };

typedef struct
{
  sl_classifier *gated, *plain; /* the same model, with and without the gate */
  sl_model *ref_model;
  sl_anomaly *reference;
  float threshold;
} Fixture;

/* A gate fitted on the training images with the classifier's own layers; its
 * threshold a fifth above the highest score of good images it has not seen. */
static void
fixture_set_up (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_anomaly *gate;
  sl_error err = { 0 };
  float worst = 0;

  f->ref_model = rt_tiny_model (CLASSES, 5);
  gate = rt_fit_scorer (f->ref_model, d->fit);
  for (int i = 0; d->good[i] != NULL; i++)
    worst = fmaxf (worst, rt_reference_score (gate, f->ref_model, d->good[i], NULL));
  f->threshold = 1.2f * worst;
  sl_assert_ok (sl_anomaly_set_threshold (gate, f->threshold, &err), &err);
  f->reference = sl_anomaly_copy (gate);
  sl_assert_ok (sl_classifier_new (rt_tiny_model (CLASSES, 5), rt_tiny_pipeline (), labels, CLASSES,
                                   NULL, &f->gated, &err),
                &err);
  sl_assert_ok (sl_classifier_set_anomaly_gate (f->gated, gate, &err), &err);
  sl_assert_ok (sl_classifier_new (rt_tiny_model (CLASSES, 5), rt_tiny_pipeline (), labels, CLASSES,
                                   NULL, &f->plain, &err),
                &err);
}

static void
fixture_tear_down (Fixture *f, gconstpointer user_data)
{
  sl_classifier_free (f->gated);
  sl_classifier_free (f->plain);
  sl_anomaly_free (f->reference);
  sl_model_free (f->ref_model);
}

/* Predicts path with both classifiers: the gate never changes the class or
 * its probabilities, only whether the image is rejected. */
static sl_prediction
predict_both (Fixture *f, const char *path)
{
  sl_prediction g, p;
  float gp[CLASSES], pp[CLASSES];
  sl_error err = { 0 };

  sl_prediction_init (&g);
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file (f->gated, path, &g, gp, &err), &err);
  sl_assert_ok (sl_classifier_predict_file (f->plain, path, &p, pp, &err), &err);
  g_assert_cmpint (g.class_index, ==, p.class_index);
  g_assert_cmpstr (g.label, ==, p.label);
  g_assert_cmpfloat (sl_test_rel_error (gp, pp, CLASSES, 1e-6), <, 1e-5);
  g_assert_cmpfloat_with_epsilon (g.anomaly_score,
                                  rt_reference_score (f->reference, f->ref_model, path, NULL),
                                  1e-5f * (1 + g.anomaly_score));
  g_assert_cmpfloat (g.anomaly_threshold, ==, f->threshold);
  g_assert_cmpint (g.anomalous, ==, g.anomaly_score > f->threshold);
  g_assert_cmpint (g.rejected, ==, g.anomalous || p.rejected);
  return g;
}

static void
test_in_distribution_passes (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();

  g_assert_cmpint (sl_classifier_kind (f->gated), ==, SL_SLMODEL_CLASSIFIER);
  g_assert_cmpint (sl_classifier_class_count (f->gated), ==, CLASSES);
  g_assert_cmpfloat (sl_classifier_get_anomaly_threshold (f->gated), ==, f->threshold);
  for (int i = 0; d->fit[i] != NULL; i++)
    {
      sl_prediction p = predict_both (f, d->fit[i]);
      g_assert_cmpint (p.anomalous, ==, 0);
      g_assert_cmpint (p.rejected, ==, 0);
    }
  for (int i = 0; d->good[i] != NULL; i++)
    {
      sl_prediction p = predict_both (f, d->good[i]);
      g_assert_cmpint (p.anomalous, ==, 0);
      g_assert_cmpint (p.rejected, ==, 0);
    }
}

static void
test_far_out_rejected (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();

  for (int i = 0; d->far[i] != NULL; i++)
    {
      sl_prediction p = predict_both (f, d->far[i]);
      g_assert_cmpint (p.anomalous, ==, 1);
      g_assert_cmpint (p.rejected, ==, 1);
      /* Still the best class, as a rejection by confidence leaves it. */
      g_assert_cmpint (p.class_index, >=, 0);
    }
}

/* A batch (one forward pass for probabilities and the gate's layers) agrees with single images. */
static void
test_batch (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  const char *paths[4] = { d->good[0], d->far[0], d->good[1], d->far[1] };
  sl_image images[4] = { 0 };
  sl_prediction out[4];
  float probs[4 * CLASSES];
  sl_error err = { 0 };

  for (int i = 0; i < 4; i++)
    sl_assert_ok (sl_image_load (paths[i], 0, &images[i], &err), &err);
  sl_prediction_init (&out[0]);
  sl_assert_ok (sl_classifier_predict_images (f->gated, images, 4, out, probs, &err), &err);
  for (int i = 0; i < 4; i++)
    {
      sl_prediction one = predict_both (f, paths[i]);

      g_assert_cmpint (out[i].class_index, ==, one.class_index);
      g_assert_cmpint (out[i].anomalous, ==, i % 2);
      g_assert_cmpint (out[i].rejected, ==, one.rejected);
      g_assert_cmpfloat_with_epsilon (out[i].anomaly_score, one.anomaly_score,
                                      1e-5f * (1 + one.anomaly_score));
      sl_image_clear (&images[i]);
    }
}

static void
test_threshold_and_removal (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_prediction p;
  sl_error err = { 0 };

  /* Raising the threshold lets the far-out images through. */
  sl_assert_ok (sl_classifier_set_anomaly_threshold (f->gated, INFINITY, &err), &err);
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file (f->gated, d->far[0], &p, NULL, &err), &err);
  g_assert_cmpint (p.anomalous, ==, 0);
  g_assert_cmpint (p.rejected, ==, 0);
  g_assert_true (isfinite (p.anomaly_score));
  /* Without its gate it is a plain classifier again. */
  sl_assert_ok (sl_classifier_set_anomaly_gate (f->gated, NULL, &err), &err);
  g_assert_null (sl_classifier_anomaly (f->gated));
  g_assert_true (isnan (sl_classifier_get_anomaly_threshold (f->gated)));
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file (f->gated, d->far[0], &p, NULL, &err), &err);
  g_assert_true (isnan (p.anomaly_score));
  g_assert_cmpint (p.anomalous, ==, 0);
  g_assert_null (strstr (sl_classifier_header_json (f->gated), "\"anomaly\""));
  /* And gated again. */
  sl_assert_ok (sl_classifier_set_anomaly_gate (f->gated, sl_anomaly_copy (f->reference), &err),
                &err);
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file (f->gated, d->far[0], &p, NULL, &err), &err);
  g_assert_cmpint (p.rejected, ==, 1);
  g_assert_nonnull (strstr (sl_classifier_header_json (f->gated), "\"anomaly\""));
}

/* A gate fitted with another model's layers does not fit and is refused. */
static void
test_mismatched_gate (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  g_autofree char *json = g_strdup_printf (
      "{\"input\":{\"channels\":3,\"height\":%d,\"width\":%d},\"classes\":2,\"layers\":["
      "{\"type\":\"conv2d\",\"name\":\"r1\",\"filters\":4,\"kernel\":3,\"padding\":1},"
      "{\"type\":\"conv2d\",\"name\":\"r2\",\"filters\":4,\"kernel\":3,\"padding\":1},"
      "{\"type\":\"global_avgpool\"},{\"type\":\"dense\",\"units\":2}]}",
      RT_TINY_SIZE, RT_TINY_SIZE);
  sl_model *other = NULL;
  sl_anomaly *wrong;
  sl_error err = { 0 };
  sl_prediction p;

  sl_assert_ok (sl_model_new (json, 1, &other, &err), &err);
  wrong = rt_fit_scorer (other, d->fit);
  g_assert_cmpint (sl_classifier_set_anomaly_gate (f->gated, wrong, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "does not fit"));
  /* The classifier keeps its gate. */
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file (f->gated, d->far[0], &p, NULL, &err), &err);
  g_assert_cmpint (p.rejected, ==, 1);
  sl_model_free (other);
}

/* The gate travels in the .slmodel (kind classifier) and the ONNX sidecar says it is not in the graph. */
static void
test_save_open_export (Fixture *f, gconstpointer user_data)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  g_autofree char *path = g_build_filename (d->dir, "gated.slmodel", NULL);
  g_autofree char *onnx = g_build_filename (d->dir, "gated.onnx", NULL);
  g_autofree char *sidecar_path = g_build_filename (d->dir, "gated.json", NULL);
  g_autofree char *sidecar = NULL;
  sl_pipeline *pipeline = rt_tiny_pipeline ();
  sl_classifier *opened = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };
  cJSON *doc;

  sl_slmodel_info_init (&info);
  info.labels = labels;
  info.kind = SL_SLMODEL_CLASSIFIER;
  info.anomaly = f->reference;
  sl_assert_ok (sl_slmodel_save (f->ref_model, pipeline, &info, path, &err), &err);
  sl_assert_ok (sl_classifier_open (path, NULL, &opened, &err), &err);
  g_assert_cmpint (sl_classifier_kind (opened), ==, SL_SLMODEL_CLASSIFIER);
  g_assert_nonnull (sl_classifier_anomaly (opened));
  g_assert_cmpfloat (sl_classifier_get_anomaly_threshold (opened), ==, f->threshold);
  for (int i = 0; d->far[i] != NULL; i++)
    {
      sl_prediction a, b;

      sl_prediction_init (&a);
      sl_prediction_init (&b);
      sl_assert_ok (sl_classifier_predict_file (opened, d->far[i], &a, NULL, &err), &err);
      sl_assert_ok (sl_classifier_predict_file (f->gated, d->far[i], &b, NULL, &err), &err);
      g_assert_cmpfloat (a.anomaly_score, ==, b.anomaly_score);
      g_assert_cmpint (a.rejected, ==, 1);
    }

  sl_assert_ok (sl_classifier_export_onnx (opened, onnx, &err), &err);
  g_assert_true (g_file_get_contents (sidecar_path, &sidecar, NULL, NULL));
  doc = cJSON_Parse (sidecar);
  g_assert_nonnull (doc);
  g_assert_nonnull (strstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "anomaly_gate")),
                            "not in the ONNX file"));
  cJSON_Delete (doc);
  sl_classifier_free (opened);
  sl_pipeline_free (pipeline);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/runtime/gate/in-distribution-passes", Fixture, NULL, fixture_set_up,
              test_in_distribution_passes, fixture_tear_down);
  g_test_add ("/runtime/gate/far-out-rejected", Fixture, NULL, fixture_set_up,
              test_far_out_rejected, fixture_tear_down);
  g_test_add ("/runtime/gate/batch", Fixture, NULL, fixture_set_up, test_batch, fixture_tear_down);
  g_test_add ("/runtime/gate/threshold-and-removal", Fixture, NULL, fixture_set_up,
              test_threshold_and_removal, fixture_tear_down);
  g_test_add ("/runtime/gate/mismatched-gate", Fixture, NULL, fixture_set_up, test_mismatched_gate,
              fixture_tear_down);
  g_test_add ("/runtime/gate/save-open-export", Fixture, NULL, fixture_set_up,
              test_save_open_export, fixture_tear_down);
  return g_test_run ();
}
