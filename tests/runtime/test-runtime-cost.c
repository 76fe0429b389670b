/* test-runtime-cost.c: hostile but valid model files are refused at open, naming the layer or step at fault; presets still open. */
#include "runtime-test-util.h"
#include "sl-pipeline-cost-private.h"
#include "sl-test-support.h"
#include "engine/sl-model-private.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>

#define INFER "SL_INFER"

static char *tmp_dir;

static const char *const labels3[] = { "good", "scratch", "dent" };

/* About 1 kB each (as in tests/fuzz/make-seeds.c): with no limits the first
 * prediction would take 7.9 GB, 8.3 GB per compute thread, 13,000 GFLOP and
 * 770 GFLOP (estimated; 33 s of CPU before these limits). */
static const char model_memory[]
    = "{\"input\": {\"channels\": 3, \"height\": 8192, \"width\": 8192}, \"classes\": 3,"
      " \"layers\": [{\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      " {\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      " {\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      " {\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      " {\"type\": \"global_avgpool\"}]}";
static const char pipeline_8192[]
    = "{\"version\": 1, \"input\": {\"width\": 8192, \"height\": 8192, \"channels\": 3}}";

static const char model_compute[]
    = "{\"input\": {\"channels\": 3, \"height\": 2048, \"width\": 2048}, \"classes\": 3,"
      " \"layers\": [{\"type\": \"maxpool\", \"name\": \"pool\", \"size\": 1025, \"stride\": 1,"
      " \"padding\": 512}, {\"type\": \"global_avgpool\"}]}";
static const char pipeline_2048[]
    = "{\"version\": 1, \"input\": {\"width\": 2048, \"height\": 2048, \"channels\": 3}}";

static const char model_workspace[]
    = "{\"input\": {\"channels\": 3, \"height\": 2048, \"width\": 2048}, \"classes\": 2,"
      " \"layers\": [{\"type\": \"conv2d\", \"name\": \"wide\", \"filters\": 2, \"kernel\": 9,"
      " \"padding\": 4, \"bias\": false}, {\"type\": \"global_avgpool\"}]}";

static const char model_tiny[]
    = "{\"input\": {\"channels\": 1, \"height\": 8, \"width\": 8}, \"classes\": 2,"
      " \"layers\": [{\"type\": \"global_avgpool\"}, {\"type\": \"dense\", \"units\": 2}]}";
static const char pipeline_hostile[]
    = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1}, \"steps\": ["
      "{\"op\": \"resize\", \"params\": {\"width\": 8192, \"height\": 8192,"
      " \"interpolation\": \"cubic\"}},"
      "{\"op\": \"morphology\", \"params\": {\"operation\": \"close\", \"shape\": \"ellipse\","
      " \"ksize\": 31, \"iterations\": 10}}]}";

/* Writes a .slmodel (fresh weights) into the temporary folder; returns its path. */
static char *
write_model (const char *file, const char *model_json, const char *pipeline_json)
{
  char *path = g_build_filename (tmp_dir, file, NULL);
  sl_model *model = NULL;
  sl_pipeline *pipeline = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };

  sl_slmodel_info_init (&info);
  info.labels = labels3;
  sl_assert_ok (sl_model_new (model_json, 1, &model, &err), &err);
  sl_assert_ok (sl_pipeline_from_json (pipeline_json, &pipeline, &err), &err);
  sl_assert_ok (sl_slmodel_save (model, pipeline, &info, path, &err), &err);
  sl_pipeline_free (pipeline);
  sl_model_free (model);
  return path;
}

static char *
write_preset (const char *preset, int channels, int size)
{
  sl_preset_options po;
  g_autofree char *json = NULL, *pipeline = NULL, *file = NULL;
  sl_error err = { 0 };

  sl_preset_options_init (&po);
  po.channels = channels;
  po.height = po.width = size;
  po.classes = 3;
  sl_assert_ok (sl_preset_json (preset, &po, &json, &err), &err);
  pipeline = g_strdup_printf ("{\"version\": 1, \"input\": {\"width\": %d, \"height\": %d,"
                              " \"channels\": %d}}",
                              size, size, channels);
  file = g_strdup_printf ("%s-%d.slmodel", preset, size);
  return write_model (file, json, pipeline);
}

static sl_status
open_with (const char *path, int threads, int64_t max_memory, int64_t max_mflops,
           sl_classifier **out, sl_error *err)
{
  sl_classifier_options o;
  sl_status st;

  sl_classifier_options_init (&o);
  o.threads = threads;
  o.max_memory = max_memory;
  o.max_mflops = max_mflops;
  *out = (sl_classifier *) &o; /* must be reset on failure */
  st = sl_classifier_open (path, &o, out, err);
  if (st != SL_OK)
    g_assert_null (*out);
  return st;
}

static sl_classifier_cost
cost_of (const sl_classifier *c)
{
  sl_classifier_cost k;
  sl_error err = { 0 };

  sl_classifier_cost_init (&k);
  sl_assert_ok (sl_classifier_get_cost (c, &k, &err), &err);
  return k;
}

/* The open fails with SL_ERR_LIMIT and a message holding every fragment. */
static void
assert_refused (const char *path, int threads, int64_t max_memory, int64_t max_mflops,
                const char *const *fragments)
{
  sl_classifier *c;
  sl_error err = { 0 };
  sl_status st = open_with (path, threads, max_memory, max_mflops, &c, &err);

  g_test_message ("%s", err.message);
  g_assert_cmpint (st, ==, SL_ERR_LIMIT);
  g_assert_cmpint (err.code, ==, SL_ERR_LIMIT);
  for (int i = 0; fragments[i] != NULL; i++)
    if (strstr (err.message, fragments[i]) == NULL)
      g_error ("'%s' is not in: %s", fragments[i], err.message);
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static void
test_memory_hostile (void)
{
  g_autofree char *path = write_model ("memory.slmodel", model_memory, pipeline_8192);
  const char *const expect[]
      = { "its 9 layers need 1.6 GB at batch 1", "layers[0] (avgpool) 805.3 MB",
          "the limit is 2.0 GB (sl_classifier_options.max_memory)", NULL };
  sl_classifier *c;
  sl_error err = { 0 };
  sl_classifier_cost k;

  g_assert_cmpint (file_size (path), <, 2048);
  assert_refused (path, 1, 0, 0, expect);
  /* Lifted, it opens (opening allocates only the weights) and says what it costs. */
  sl_assert_ok (open_with (path, 1, SL_CLASSIFIER_NO_LIMIT, 0, &c, &err), &err);
  k = cost_of (c);
  g_assert_cmpint (k.max_memory, ==, SL_CLASSIFIER_NO_LIMIT);
  g_assert_cmpint (k.max_mflops, ==, SL_CLASSIFIER_DEFAULT_MAX_MFLOPS);
  /* Two of the eight pools' outputs are alive at a time (a plan shares buffers by lifetime). */
  g_assert_cmpint (k.working_bytes, ==, 2 * (int64_t) 3 * 8192 * 8192 * 4 + 2 * 64);
  g_assert_cmpint (k.input_bytes, ==, ((int64_t) 3 * 8192 * 8192 + 3) * 4);
  g_assert_cmpint (k.memory_bytes, ==,
                   k.weight_bytes + k.working_bytes + k.input_bytes + k.preprocess_bytes);
  sl_classifier_free (c);
}

static void
test_workspace_hostile (void)
{
  g_autofree char *path = write_model ("workspace.slmodel", model_workspace, pipeline_2048);
  const char *const expect[]
      = { "layers[0] (conv2d 'wide') needs 4.1 GB at batch 1",
          "convolution workspace for 1 thread,", "(sl_classifier_options.max_memory)", NULL };
  sl_classifier *c1, *c4;
  sl_error err = { 0 };

  g_assert_cmpint (file_size (path), <, 4096);
  assert_refused (path, 1, 0, 0, expect);
  /* Each compute thread has its own column matrix. */
  sl_assert_ok (open_with (path, 1, SL_CLASSIFIER_NO_LIMIT, 0, &c1, &err), &err);
  sl_assert_ok (open_with (path, 4, SL_CLASSIFIER_NO_LIMIT, 0, &c4, &err), &err);
  g_assert_cmpint (cost_of (c4).working_bytes, >, 3 * cost_of (c1).working_bytes);
  g_assert_cmpint (cost_of (c4).threads, ==, 4);
  sl_classifier_free (c1);
  sl_classifier_free (c4);
}

static void
test_compute_hostile (void)
{
  g_autofree char *path = write_model ("compute.slmodel", model_compute, pipeline_2048);
  const char *const expect[]
      = { "layers[0] (maxpool 'pool') needs 13219.9 GFLOP per image",
          "the limit is 50.0 GFLOP (sl_classifier_options.max_mflops)", NULL };
  const char *const tighter[] = { "the limit is 10.0 MFLOP", NULL };
  sl_classifier *c;
  sl_error err = { 0 };

  g_assert_cmpint (file_size (path), <, 1024);
  assert_refused (path, 1, 0, 0, expect);
  sl_assert_ok (open_with (path, 1, 0, SL_CLASSIFIER_NO_LIMIT, &c, &err), &err);
  g_assert_cmpfloat (cost_of (c).model_mflops, >, 1.3e7);
  sl_classifier_free (c);
  assert_refused (path, 1, 0, 10, tighter);
}

static void
test_pipeline_hostile (void)
{
  g_autofree char *path = write_model ("pipeline.slmodel", model_tiny, pipeline_hostile);
  const char *const work[]
      = { "preprocessing step 2 (Morphology) needs", "(sl_classifier_options.max_mflops)", NULL };
  const char *const memory[] = { "preprocessing step 2 (Morphology) needs 604.0 MB of images",
                                 "the limit is 100.0 MB", NULL };

  assert_refused (path, 1, 0, 0, work);
  assert_refused (path, 1, 100000000, SL_CLASSIFIER_NO_LIMIT, memory);
}

/* A legitimate pipeline and a 1 kB image shaped to blow it up: filling
 * 224 x 224 from a 100000 x 2 strip scales it to 11.2 million x 224 pixels
 * first (2.5 GB). Each image is measured before its pipeline runs. */
static void
test_image_hostile (void)
{
  static const char model[]
      = "{\"input\": {\"channels\": 1, \"height\": 224, \"width\": 224}, \"classes\": 2,"
        " \"layers\": [{\"type\": \"global_avgpool\"}, {\"type\": \"dense\", \"units\": 2}]}";
  static const char pipeline[]
      = "{\"version\": 1, \"input\": {\"width\": 224, \"height\": 224, \"channels\": 1},"
        " \"steps\": [{\"op\": \"resize\", \"params\": {\"width\": 224, \"height\": 224,"
        " \"mode\": \"center-crop\"}}]}";
  g_autofree char *path = write_model ("center-crop.slmodel", model, pipeline);
  g_autofree guint8 *strip = g_malloc0 (100000 * 2);
  guint8 square[300 * 200];
  sl_classifier *c;
  sl_prediction pred;
  sl_error err = { 0 };
  sl_status st;

  memset (square, 77, sizeof square);
  sl_assert_ok (open_with (path, 1, 0, 0, &c, &err), &err);
  sl_prediction_init (&pred);
  st = sl_classifier_predict_pixels (c, strip, 100000, 2, 0, SL_PIXEL_GRAY8, &pred, NULL, &err);
  g_test_message ("%s", err.message);
  g_assert_cmpint (st, ==, SL_ERR_LIMIT);
  g_assert_nonnull (strstr (err.message, "on this 100000x2 image preprocessing step 1 (Resize) "
                                         "needs 2.5 GB of images"));
  g_assert_nonnull (strstr (err.message, "(sl_classifier_options.max_memory)"));
  sl_assert_ok (
      sl_classifier_predict_pixels (c, square, 300, 200, 0, SL_PIXEL_GRAY8, &pred, NULL, &err),
      &err);
  sl_classifier_free (c);
}

static void
test_presets_open (void)
{
  static const struct
  {
    const char *preset;
    int channels, size;
  } cases[] = {
    /* seed-cnn's dense layer grows with the input (822 MB of weights at
     * 224 x 224 RGB): a file that large would slow the test, so 64 x 64. */
    { "seed-cnn", 1, 28 },    { "small-bn", 1, 28 },     { "resnet-s", 1, 28 },
    { "mobilenet-s", 1, 28 }, { "seed-cnn", 3, 64 },     { "small-bn", 3, 224 },
    { "resnet-s", 3, 224 },   { "mobilenet-s", 3, 224 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_preset (cases[i].preset, cases[i].channels, cases[i].size);
      sl_classifier *c;
      sl_classifier_cost k;
      sl_error err = { 0 };
      double macs;

      /* 16 threads: a line PC's core count, whatever this machine has. */
      sl_assert_ok (open_with (path, 16, 0, 0, &c, &err), &err);
      k = cost_of (c);
      macs = sl_model_flops_per_image (sl_classifier_model (c));
      g_test_message ("%s %dx%dx%d: %.1f MB (weights %.1f, working %.1f, input %.1f, "
                      "preprocessing %.1f), %.1f MFLOP (model %.1f)",
                      cases[i].preset, cases[i].size, cases[i].size, cases[i].channels,
                      k.memory_bytes / 1e6, k.weight_bytes / 1e6, k.working_bytes / 1e6,
                      k.input_bytes / 1e6, k.preprocess_bytes / 1e6, k.mflops, k.model_mflops);
      g_assert_cmpint (k.memory_bytes, ==,
                       k.weight_bytes + k.working_bytes + k.input_bytes + k.preprocess_bytes);
      g_assert_cmpint (k.weight_bytes, >=,
                       (int64_t) sl_model_param_count (sl_classifier_model (c)) * 4);
      /* Multiply-adds count 2, plus the cheaper layers. */
      g_assert_cmpfloat (k.model_mflops, >=, 2 * macs / 1e6);
      g_assert_cmpfloat (k.model_mflops, <, 2.2 * macs / 1e6);
      g_assert_cmpint (k.threads, ==, 16);
      sl_classifier_free (c);
    }
}

/* What the open measures is what the first prediction allocates: a limit of
 * exactly the measured memory predicts, one byte less is refused. */
static void
test_measure_is_exact (void)
{
  g_autofree char *path = write_preset ("small-bn", 1, 28);
  sl_classifier *c;
  sl_classifier_cost k;
  sl_prediction pred;
  uint8_t frame[28 * 28];
  sl_error err = { 0 };
  const char *const expect[] = { "(sl_classifier_options.max_memory)", NULL };

  memset (frame, 90, sizeof frame);
  sl_assert_ok (open_with (path, 2, SL_CLASSIFIER_NO_LIMIT, 0, &c, &err), &err);
  k = cost_of (c);
  sl_classifier_free (c);
  sl_assert_ok (open_with (path, 2, k.memory_bytes, 0, &c, &err), &err);
  sl_prediction_init (&pred);
  sl_assert_ok (
      sl_classifier_predict_pixels (c, frame, 28, 28, 0, SL_PIXEL_GRAY8, &pred, NULL, &err), &err);
  g_assert_cmpint (pred.class_index, >=, 0);
  sl_classifier_free (c);
  assert_refused (path, 2, k.memory_bytes - 1, 0, expect);
}

/* A batch whose plan would need more than the limit runs in chunks that
 * fit (never refused when one image fits), with the single image's answer,
 * and single images still work after. */
static void
test_batch_over_limit (void)
{
  g_autofree char *path = write_preset ("small-bn", 1, 28);
  sl_classifier *c;
  sl_classifier_cost k;
  sl_frame frames[64];
  sl_prediction preds[64], one;
  uint8_t pixels[28 * 28];
  sl_error err = { 0 };
  const sl_model *m;

  for (int i = 0; i < (int) sizeof pixels; i++)
    pixels[i] = (uint8_t) (i * 7);
  sl_assert_ok (open_with (path, 1, SL_CLASSIFIER_NO_LIMIT, 0, &c, &err), &err);
  k = cost_of (c);
  sl_classifier_free (c);
  /* Room for one image and a little more, not for 64. */
  sl_assert_ok (open_with (path, 1, k.memory_bytes + k.working_bytes, 0, &c, &err), &err);
  for (int i = 0; i < 64; i++)
    {
      sl_frame_init (&frames[i]);
      frames[i].pixels = pixels;
      frames[i].width = frames[i].height = 28;
      frames[i].format = SL_PIXEL_GRAY8;
      sl_prediction_init (&preds[i]);
    }
  sl_prediction_init (&one);
  sl_assert_ok (
      sl_classifier_predict_pixels (c, pixels, 28, 28, 0, SL_PIXEL_GRAY8, &one, NULL, &err), &err);
  sl_assert_ok (sl_classifier_predict_batch (c, frames, 64, preds, NULL, &err), &err);
  m = sl_classifier_model (c);
  g_assert_cmpint (m->predict_plan->batch, >, 1);
  g_assert_cmpint (m->predict_plan->batch, <, 64);
  g_assert_cmpuint (m->predict_plan->bytes, <=, m->plan_limit);
  for (int i = 0; i < 64; i++)
    {
      g_assert_cmpint (preds[i].class_index, ==, one.class_index);
      g_assert_cmpfloat_with_epsilon (preds[i].confidence, one.confidence, 1e-5);
    }
  sl_assert_ok (sl_classifier_predict_batch (c, frames, 1, preds, NULL, &err), &err);
  sl_classifier_free (c);
}

static void
test_bad_limits (void)
{
  g_autofree char *path = write_preset ("seed-cnn", 1, 28);
  g_autofree char *hostile = write_model ("compute-v1.slmodel", model_compute, pipeline_2048);
  sl_classifier_options o;
  sl_classifier *c = NULL;
  sl_error err = { 0 };

  g_assert_cmpint (open_with (path, 1, -2, 0, &c, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (open_with (path, 1, 0, INT64_MIN, &c, &err), ==, SL_ERR_INVALID);
  /* A caller built before the limits existed passes a shorter struct: the
   * defaults apply, whatever lies past its end. */
  sl_classifier_options_init (&o);
  o.max_mflops = SL_CLASSIFIER_NO_LIMIT;
  o.struct_size = offsetof (sl_classifier_options, reject_threshold) + sizeof (float);
  g_assert_cmpint (sl_classifier_open (hostile, &o, &c, &err), ==, SL_ERR_LIMIT);
  g_assert_null (c);
  g_assert_cmpstr (sl_status_to_string (SL_ERR_LIMIT), ==, "over a limit");
}

/* Every operator in the registry has a cost rule (a new one needs a row in
 * vision/sl-pipeline-cost.c). */
static void
test_every_operator_costed (void)
{
  for (int i = 0; i < sl_op_count (); i++)
    if (!_sl_pipeline_cost_knows (sl_op_get (i)->id))
      g_error ("operator '%s' has no cost rule in vision/sl-pipeline-cost.c", sl_op_get (i)->id);
}

static void
test_infer_info (void)
{
  g_autofree char *hostile = write_model ("compute-info.slmodel", model_compute, pipeline_2048);
  g_autofree char *preset = write_preset ("seed-cnn", 1, 28);
  RtRun run;
  cJSON *doc;

  /* A refused model: its cost, the reason, exit status 2 as for any model that cannot open. */
  run = rt_run (INFER, NULL, "--info", "--json", "--threads", "1", hostile, NULL);
  g_assert_cmpint (run.status, ==, 2);
  doc = cJSON_Parse (run.out);
  g_assert_nonnull (doc);
  g_assert_true (cJSON_IsFalse (cJSON_GetObjectItem (doc, "within_limits")));
  g_assert_nonnull (strstr (cJSON_GetObjectItem (doc, "refused")->valuestring, "maxpool 'pool'"));
  g_assert_cmpfloat (cJSON_GetObjectItem (doc, "model_mflops")->valuedouble, >, 1.3e7);
  g_assert_cmpfloat (cJSON_GetObjectItem (doc, "max_mflops")->valuedouble, ==, 50000);
  cJSON_Delete (doc);
  rt_run_clear (&run);

  /* Lifted on the command line, it is within limits. */
  run = rt_run (INFER, NULL, "--info", "--max-gflops", "none", hostile, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "GFLOP per image  (no limit)"));
  rt_run_clear (&run);

  /* Classifying with it is refused, and the user learns how to proceed. */
  run = rt_run (INFER, NULL, hostile, preset, NULL);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "(sl_classifier_options.max_mflops)"));
  g_assert_nonnull (strstr (run.err, "--max-gflops"));
  rt_run_clear (&run);

  run = rt_run (INFER, NULL, "--info", "--json", "--max-memory", "1.5G", preset, NULL);
  g_assert_cmpint (run.status, ==, 0);
  doc = cJSON_Parse (run.out);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (doc, "within_limits")));
  g_assert_cmpfloat (cJSON_GetObjectItem (doc, "max_memory")->valuedouble, ==, 1.5e9);
  g_assert_cmpfloat (cJSON_GetObjectItem (doc, "memory_bytes")->valuedouble, >, 0);
  cJSON_Delete (doc);
  rt_run_clear (&run);

  run = rt_run (INFER, NULL, "--info", "--max-memory", "lots", preset, NULL);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--max-memory needs a size"));
  rt_run_clear (&run);
}

static void
remove_tmp (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (tmp_dir);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("sl-cost-XXXXXX", NULL);
  g_test_add_func ("/runtime/cost/memory-hostile", test_memory_hostile);
  g_test_add_func ("/runtime/cost/workspace-hostile", test_workspace_hostile);
  g_test_add_func ("/runtime/cost/compute-hostile", test_compute_hostile);
  g_test_add_func ("/runtime/cost/pipeline-hostile", test_pipeline_hostile);
  g_test_add_func ("/runtime/cost/image-hostile", test_image_hostile);
  g_test_add_func ("/runtime/cost/presets-open", test_presets_open);
  g_test_add_func ("/runtime/cost/measure-is-exact", test_measure_is_exact);
  g_test_add_func ("/runtime/cost/batch-over-limit", test_batch_over_limit);
  g_test_add_func ("/runtime/cost/bad-limits", test_bad_limits);
  g_test_add_func ("/runtime/cost/every-operator-costed", test_every_operator_costed);
  g_test_add_func ("/runtime/cost/infer-info", test_infer_info);
  status = g_test_run ();
  remove_tmp ();
  g_free (tmp_dir);
  return status;
}
