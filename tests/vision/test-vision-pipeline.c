/* test-vision-pipeline.c: pipeline JSON round trips, validation messages, editing, step-by-step apply and normalisation. */
#include "vision-test-util.h"

#include <math.h>
#include <string.h>

/* A value inside the spec's range that differs from the default and is not round. */
static double
odd_value (const sl_param_spec *s)
{
  double v;

  switch (s->type)
    {
      case SL_PARAM_BOOL: return s->default_value != 0 ? 0 : 1;
      case SL_PARAM_ENUM: return s->default_value != s->max ? s->max : 0;
      case SL_PARAM_INT:
        v = s->min + s->step * floor ((s->max - s->min) * 0.37 / s->step);
        return v != s->default_value ? v : v + s->step;
      default: return s->min + (s->max - s->min) * 0.3712345678901234;
    }
}

static void
test_json_round_trip_every_op (void)
{
  for (int i = 0; i < sl_op_count (); i++)
    {
      const sl_op_info *op = sl_op_get (i);
      sl_input_spec in = { 37, 29, 3, { 0.2860f, 0.1f / 3, 0.7f }, { 0.3530f, 1.0f / 7, 2.5f } };
      sl_pipeline *p, *q;
      sl_error err = { 0 };
      char *a, *b;

      vt_assert_ok (sl_pipeline_new (&p, &err), &err);
      vt_assert_ok (sl_pipeline_set_input (p, &in, &err), &err);
      vt_assert_ok (sl_pipeline_insert_step (p, -1, op->id, &err), &err);
      vt_assert_ok (sl_pipeline_insert_step (p, -1, op->id, &err), &err);
      vt_assert_ok (sl_pipeline_set_enabled (p, 1, false, &err), &err);
      for (int j = 0; j < op->n_params; j++)
        {
          const sl_param_spec *s = &op->params[j];

          if (s->type == SL_PARAM_RECT)
            /* Crop's odd mode is pixels, which need whole numbers. */
            vt_assert_ok (sl_pipeline_set_rect (p, 0, s->id, (sl_rect){ 3, 4, 20, 17 }, &err),
                          &err);
          else
            vt_assert_ok (sl_pipeline_set_param (p, 0, s->id, odd_value (s), &err), &err);
        }
      vt_assert_ok (sl_pipeline_validate (p, &err), &err);
      a = sl_pipeline_to_json (p);
      vt_assert_ok (sl_pipeline_from_json (a, &q, &err), &err);
      b = sl_pipeline_to_json (q);
      g_assert_cmpstr (a, ==, b);
      g_assert_cmpint (sl_pipeline_step_count (q), ==, 2);
      g_assert_true (sl_pipeline_get_enabled (q, 0));
      g_assert_false (sl_pipeline_get_enabled (q, 1));
      for (int j = 0; j < op->n_params; j++)
        {
          const sl_param_spec *s = &op->params[j];

          if (s->type == SL_PARAM_RECT)
            {
              sl_rect r1, r2;

              vt_assert_ok (sl_pipeline_get_rect (p, 0, s->id, &r1, &err), &err);
              vt_assert_ok (sl_pipeline_get_rect (q, 0, s->id, &r2, &err), &err);
              g_assert_true (memcmp (&r1, &r2, sizeof r1) == 0);
            }
          else
            {
              double v1, v2, d;

              vt_assert_ok (sl_pipeline_get_param (p, 0, s->id, &v1, &err), &err);
              vt_assert_ok (sl_pipeline_get_param (q, 0, s->id, &v2, &err), &err);
              vt_assert_ok (sl_pipeline_get_param (q, 1, s->id, &d, &err), &err);
              g_assert_true (v1 == v2); /* bit-exact, not approximately */
              g_assert_cmpfloat (v1, !=, s->default_value);
              g_assert_cmpfloat (d, ==, s->default_value);
            }
        }
      {
        sl_input_spec got;

        sl_pipeline_get_input (q, &got);
        g_assert_true (memcmp (&got, &in, sizeof in) == 0);
      }
      sl_free (a);
      sl_free (b);
      sl_pipeline_free (p);
      sl_pipeline_free (q);
    }
}

static void
expect_json_error (const char *json, sl_status code, const char *fragment)
{
  sl_pipeline *p = (sl_pipeline *) 1;
  sl_error err = { 0 };

  g_assert_cmpint (sl_pipeline_from_json (json, &p, &err), ==, code);
  g_assert_null (p);
  if (strstr (err.message, fragment) == NULL)
    g_error ("JSON %s: message '%s' lacks '%s'", json, err.message, fragment);
}

#define STEP0 "{\"op\": \"gray\"}, "

static void
test_json_errors_name_step_and_param (void)
{
  expect_json_error ("not json", SL_ERR_FORMAT, "not valid JSON");
  expect_json_error ("[1, 2]", SL_ERR_INVALID, "JSON object");
  expect_json_error ("{\"version\": 3, \"steps\": []}", SL_ERR_INVALID, "format version 3");
  expect_json_error ("{\"steps\": {}}", SL_ERR_INVALID, "\"steps\" must be an array");
  expect_json_error ("{\"steps\": [" STEP0 "{\"op\": \"blurr\"}]}", SL_ERR_INVALID,
                     "step 2: unknown operator 'blurr'");
  expect_json_error ("{\"steps\": [{\"params\": {}}]}", SL_ERR_INVALID, "step 1: a step needs");
  expect_json_error ("{\"steps\": [" STEP0 "{\"op\": \"gaussian-blur\", \"params\": "
                     "{\"size\": 3}}]}",
                     SL_ERR_INVALID, "step 2 (Gaussian blur): unknown parameter 'size'");
  expect_json_error ("{\"steps\": [{\"op\": \"gaussian-blur\", \"params\": {\"ksize\": 99}}]}",
                     SL_ERR_INVALID,
                     "step 1 (Gaussian blur): parameter 'ksize' is 99, outside 1..31");
  expect_json_error ("{\"steps\": [{\"op\": \"gaussian-blur\", \"params\": {\"ksize\": 4}}]}",
                     SL_ERR_INVALID, "parameter 'ksize' is 4 but must be 1 plus a multiple of 2");
  expect_json_error ("{\"steps\": [{\"op\": \"resize\", \"params\": {\"width\": 10.5}}]}",
                     SL_ERR_INVALID, "step 1 (Resize): parameter 'width' must be a whole number");
  expect_json_error ("{\"steps\": [{\"op\": \"resize\", \"params\": {\"width\": \"64\"}}]}",
                     SL_ERR_INVALID, "parameter 'width' must be a number");
  expect_json_error ("{\"steps\": [{\"op\": \"threshold\", \"params\": {\"method\": \"otsu2\"}}]}",
                     SL_ERR_INVALID,
                     "step 1 (Threshold): parameter 'method' must be one of: fixed, otsu, "
                     "adaptive-mean, adaptive-gaussian");
  expect_json_error ("{\"steps\": [{\"op\": \"threshold\", \"params\": {\"invert\": 1}}]}",
                     SL_ERR_INVALID, "parameter 'invert' must be true or false");
  expect_json_error ("{\"steps\": [{\"op\": \"gray\", \"enabled\": \"yes\"}]}", SL_ERR_INVALID,
                     "\"enabled\" must be true or false");
  expect_json_error ("{\"steps\": [{\"op\": \"crop\", \"params\": {\"rect\": [0, 0, 1]}}]}",
                     SL_ERR_INVALID, "parameter 'rect' must be [x, y, width, height]");
  expect_json_error ("{\"steps\": [{\"op\": \"crop\", \"params\": {\"rect\": [0.5, 0, 0.6, 1]}}]}",
                     SL_ERR_INVALID, "step 1 (Crop): parameter 'rect': a relative region must lie");
  expect_json_error ("{\"steps\": [{\"op\": \"crop\", \"params\": {\"mode\": \"absolute\", "
                     "\"rect\": [1.5, 0, 6, 1]}}]}",
                     SL_ERR_INVALID, "whole numbers");
  expect_json_error (
      "{\"steps\": [{\"op\": \"canny\", \"params\": {\"low\": 200, \"high\": 100}}]}",
      SL_ERR_INVALID, "step 1 (Canny edges): parameter 'high' (100) is below 'low' (200)");
  expect_json_error ("{\"input\": {\"channels\": 2}}", SL_ERR_INVALID, "channels must be 1 or 3");
  expect_json_error ("{\"input\": {\"channels\": 3, \"mean\": [0.5]}}", SL_ERR_INVALID,
                     "\"mean\" needs one number per channel (3)");
  expect_json_error ("{\"input\": {\"std\": [0]}}", SL_ERR_INVALID, "std[0] must be a positive");
  expect_json_error ("{\"input\": {\"width\": 0}}", SL_ERR_INVALID, "outside 1..8192");
}

static void
test_setters_check_values (void)
{
  sl_pipeline *p;
  sl_error err = { 0 };
  double v;

  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  g_assert_cmpint (sl_pipeline_insert_step (p, -1, "sharpenn", &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no operator 'sharpenn'"));
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "median-blur", &err), &err);
  g_assert_cmpint (sl_pipeline_set_param (p, 0, "ksize", 4, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "step 1 (Median blur): parameter 'ksize' is 4"));
  g_assert_cmpint (sl_pipeline_set_param (p, 0, "ksize", 17, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_pipeline_set_param (p, 0, "ksize", NAN, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_pipeline_set_param (p, 0, "radius", 3, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "has no parameter 'radius'"));
  g_assert_cmpint (sl_pipeline_set_param (p, 3, "ksize", 3, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no step 4"));
  vt_assert_ok (sl_pipeline_get_param (p, 0, "ksize", &v, &err), &err);
  g_assert_cmpfloat (v, ==, 3); /* failed sets change nothing */
  vt_assert_ok (sl_pipeline_insert_step (p, 0, "crop", &err), &err);
  g_assert_cmpstr (sl_pipeline_step_op (p, 0)->id, ==, "crop");
  g_assert_cmpint (sl_pipeline_set_param (p, 0, "rect", 1, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "is a rectangle"));
  g_assert_cmpint (sl_pipeline_set_rect (p, 0, "rect", (sl_rect){ -1, 0, 1, 1 }, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_pipeline_set_choice (p, 0, "mode", "inches", &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "'inches' is not a choice of 'mode'"));
  /* Combinations are checked by validate, which names the step and parameter. */
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "normalize", &err), &err);
  vt_assert_ok (sl_pipeline_set_param (p, 2, "low", 200, &err), &err);
  vt_assert_ok (sl_pipeline_set_param (p, 2, "high", 100, &err), &err);
  g_assert_cmpint (sl_pipeline_validate (p, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "step 3 (Normalize): parameter 'high'"));
  {
    uint8_t px[16] = { 0 };
    sl_image in, out;

    vt_assert_ok (sl_image_borrow (&in, px, 4, 4, 1, 8, 4, &err), &err);
    g_assert_cmpint (sl_pipeline_apply (p, &in, &out, &err), ==, SL_ERR_INVALID);
    g_assert_nonnull (strstr (err.message, "step 3 (Normalize)"));
  }
  g_assert_cmpint (sl_pipeline_set_input (p, &(sl_input_spec){ 8, 8, 3, { 0 }, { 1, 0, 1 } }, &err),
                   ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "std[1]"));
  sl_pipeline_free (p);
}

static void
test_editing (void)
{
  const char *ids[] = { "gray", "crop", "resize", "invert" };
  sl_pipeline *p;
  sl_error err = { 0 };

  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  for (int i = 0; i < 4; i++)
    vt_assert_ok (sl_pipeline_insert_step (p, -1, ids[i], &err), &err);
  vt_assert_ok (sl_pipeline_move_step (p, 3, 0, &err), &err); /* invert gray crop resize */
  vt_assert_ok (sl_pipeline_move_step (p, 1, 2, &err), &err); /* invert crop gray resize */
  vt_assert_ok (sl_pipeline_remove_step (p, 3, &err), &err);  /* invert crop gray */
  vt_assert_ok (sl_pipeline_insert_step (p, 1, "flip", &err), &err);
  g_assert_cmpint (sl_pipeline_step_count (p), ==, 4);
  g_assert_cmpstr (sl_pipeline_step_op (p, 0)->id, ==, "invert");
  g_assert_cmpstr (sl_pipeline_step_op (p, 1)->id, ==, "flip");
  g_assert_cmpstr (sl_pipeline_step_op (p, 2)->id, ==, "crop");
  g_assert_cmpstr (sl_pipeline_step_op (p, 3)->id, ==, "gray");
  g_assert_null (sl_pipeline_step_op (p, 4));
  g_assert_cmpint (sl_pipeline_remove_step (p, 4, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_pipeline_move_step (p, 0, 9, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_pipeline_insert_step (p, 6, "gray", &err), ==, SL_ERR_INVALID);
  sl_pipeline_free (p);
  sl_pipeline_free (NULL);
}

/* gray -> crop -> CLAHE -> resize (pad) -> normalize, checked stage by stage
 * against direct OpenCV calls, then the model-input stage and the floats. */
static void
test_apply_matches_opencv_chain (void)
{
  sl_input_spec spec = { 48, 40, 3, { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f } };
  sl_pipeline *p;
  sl_image in, stages[7], out, again;
  sl_error err = { 0 };
  sl_idx images;
  float *x;

  if (!vt_fmnist (8, &images, NULL))
    return;
  vt_make_rgb (&images, 0, 4, 3, &in);
  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  vt_assert_ok (sl_pipeline_set_input (p, &spec, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "gray", &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "crop", &err), &err);
  vt_assert_ok (sl_pipeline_set_rect (p, 1, "rect", (sl_rect){ 0.05, 0.1, 0.9, 0.8 }, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "clahe", &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "invert", &err), &err);
  vt_assert_ok (sl_pipeline_set_enabled (p, 3, false, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "resize", &err), &err);
  vt_assert_ok (sl_pipeline_set_param (p, 4, "width", 60, &err), &err);
  vt_assert_ok (sl_pipeline_set_param (p, 4, "height", 40, &err), &err);
  vt_assert_ok (sl_pipeline_set_choice (p, 4, "mode", "fit-pad", &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "normalize", &err), &err);
  vt_assert_ok (sl_pipeline_apply_stages (p, &in, stages, &err), &err);
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *why = NULL;
      const sl_image *prev = i == 0 ? &in : &stages[i - 1];

      if (!sl_pipeline_get_enabled (p, i))
        g_assert_true (sl_image_equal (prev, &stages[i]));
      else if (!vt_reference_matches (p, i, prev, &stages[i], &why))
        g_error ("stage %d: %s", i, why);
    }
  g_assert_cmpint (stages[4].width, ==, 60);
  {
    g_autofree char *why = NULL;

    if (!vt_reference_input_matches (&spec, &stages[5], &stages[6], &why))
      g_error ("model input stage: %s", why);
  }
  /* apply gives the last stage, every time. */
  vt_assert_ok (sl_pipeline_apply (p, &in, &out, &err), &err);
  vt_assert_ok (sl_pipeline_apply (p, &in, &again, &err), &err);
  g_assert_true (sl_image_equal (&out, &stages[6]));
  g_assert_true (sl_image_equal (&out, &again));
  g_assert_cmpint (out.width, ==, 48);
  g_assert_cmpint (out.height, ==, 40);
  g_assert_cmpint (out.channels, ==, 3);
  /* Normalised floats: (v / 255 - mean) / std, planar. */
  x = g_new (float, 3 * 48 * 40);
  vt_assert_ok (sl_pipeline_normalize (p, &out, x, &err), &err);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 40; y++)
      for (int i = 0; i < 48; i++)
        {
          float want = ((float) out.data[y * out.stride + i * 3 + c] / 255.0f - spec.mean[c])
                       / spec.std[c];

          g_assert_cmpfloat (x[c * 48 * 40 + y * 48 + i], ==, want);
        }
  g_assert_cmpint (sl_pipeline_normalize (p, &in, x, &err), ==, SL_ERR_INVALID);
  g_free (x);
  for (int i = 0; i < 7; i++)
    sl_image_clear (&stages[i]);
  sl_image_clear (&out);
  sl_image_clear (&again);
  sl_image_clear (&in);
  sl_pipeline_free (p);
  sl_idx_clear (&images);
}

static void
test_stages_stop_at_failing_step (void)
{
  sl_pipeline *p;
  sl_image in, stages[4];
  sl_error err = { 0 };
  sl_idx images;

  if (!vt_fmnist (2, &images, NULL))
    return;
  vt_fmnist_image (&images, 0, &in);
  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "invert", &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "hsv-channel", &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "gray", &err), &err);
  g_assert_cmpint (sl_pipeline_apply_stages (p, &in, stages, &err), ==, SL_ERR_INVALID);
  g_assert_true (g_str_has_prefix (err.message, "step 2 (HSV channel): "));
  g_assert_nonnull (stages[0].data);
  g_assert_cmpint (stages[0].width, ==, 28);
  g_assert_null (stages[1].data);
  g_assert_null (stages[2].data);
  g_assert_null (stages[3].data);
  sl_image_clear (&stages[0]);
  sl_pipeline_free (p);
  sl_idx_clear (&images);
}

static void
test_file_round_trip (void)
{
  g_autofree char *dir = vt_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "p.json", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.json", NULL);
  sl_pipeline *p, *q, *c;
  sl_error err = { 0 };
  char *a, *b, *cj;

  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "morphology", &err), &err);
  vt_assert_ok (sl_pipeline_set_choice (p, 0, "operation", "close", &err), &err);
  vt_assert_ok (sl_pipeline_save (p, path, &err), &err);
  vt_assert_ok (sl_pipeline_load (path, &q, &err), &err);
  vt_assert_ok (sl_pipeline_copy (q, &c, &err), &err);
  a = sl_pipeline_to_json (p);
  b = sl_pipeline_to_json (q);
  cj = sl_pipeline_to_json (c);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, ==, cj);
  g_assert_nonnull (strstr (a, "\"operation\":\t\"close\""));
  sl_pipeline_free (q);
  g_assert_true (g_file_set_contents (bad, "{\"steps\": [{\"op\": \"x\"}]}", -1, NULL));
  g_assert_cmpint (sl_pipeline_load (bad, &q, &err), ==, SL_ERR_INVALID);
  g_assert_true (g_str_has_prefix (err.message, bad));
  g_assert_cmpint (sl_pipeline_load ("/nonexistent/p.json", &q, &err), ==, SL_ERR_IO);
  g_assert_nonnull (strstr (err.message, "/nonexistent/p.json"));
  sl_free (a);
  sl_free (b);
  sl_free (cj);
  sl_pipeline_free (p);
  sl_pipeline_free (c);
  vt_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/pipeline/json-round-trip-every-op", test_json_round_trip_every_op);
  g_test_add_func ("/vision/pipeline/json-errors", test_json_errors_name_step_and_param);
  g_test_add_func ("/vision/pipeline/setters-check-values", test_setters_check_values);
  g_test_add_func ("/vision/pipeline/editing", test_editing);
  g_test_add_func ("/vision/pipeline/apply-matches-opencv-chain", test_apply_matches_opencv_chain);
  g_test_add_func ("/vision/pipeline/stages-stop-at-failing-step",
                   test_stages_stop_at_failing_step);
  g_test_add_func ("/vision/pipeline/file-round-trip", test_file_round_trip);
  return g_test_run ();
}
