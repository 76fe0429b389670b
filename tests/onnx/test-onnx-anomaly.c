/* test-onnx-anomaly.c: an anomaly model exported to ONNX (_sl_onnx_export_anomaly) and run in ONNX Runtime
 * by tests/onnx/check-onnx-anomaly.py: its scores and maps against sl_anomaly_score. */
#include "sl-test-support.h"
#include "engine/sl-onnx-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define SIDE  64
#define GOOD  8
#define CHECK 5

static const float mean[3] = { 0.485f, 0.456f, 0.406f }, std_[3] = { 0.229f, 0.224f, 0.225f };

/* Lite0's architecture at `side` px with its initial (He) weights. */
static sl_model *
new_backbone (int side)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *j = NULL;
  sl_model *m;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = side;
  o.classes = 10;
  sl_assert_ok (sl_preset_json ("efficientnet-lite0", &o, &j, &err), &err);
  sl_assert_ok (sl_model_new (j, 7, &m, &err), &err);
  sl_free (j);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  return m;
}

/* n images of a noisy grey texture (values 0 .. 255), some with a bright
 * square, and the same normalised as the model takes them. */
static void
make_images (int n, guint64 seed, gboolean defects, float *raw, float *x)
{
  const gsize plane = SIDE * SIDE;

  sl_test_fill_normal (raw, (gsize) n * 3 * plane, seed, 30.0f);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      for (gsize k = 0; k < plane; k++)
        {
          float *v = &raw[((gsize) i * 3 + c) * plane + k];
          const int y = (int) (k / SIDE), xx = (int) (k % SIDE);

          *v = roundf (CLAMP (*v + 110.0f + 10.0f * c, 0.0f, 255.0f));
          if (defects && i % 2 == 1 && y >= 20 && y < 32 && xx >= 30 && xx < 42)
            *v = 250.0f;
          x[((gsize) i * 3 + c) * plane + k] = (*v / 255.0f - mean[c]) / std_[c];
        }
}

static sl_anomaly *
fit (sl_model *m, float sigma)
{
  sl_anomaly_config c;
  sl_anomaly_fitter *f = NULL;
  sl_anomaly *a = NULL;
  sl_error err = { 0 };
  g_autofree float *raw = g_new (float, (gsize) GOOD * 3 * SIDE * SIDE);
  g_autofree float *x = g_new (float, (gsize) GOOD * 3 * SIDE * SIDE);

  sl_anomaly_config_init (&c);
  c.layers[0] = sl_model_find_layer (m, "_blocks.4");
  c.layers[1] = sl_model_find_layer (m, "_blocks.10");
  c.n_layers = 2;
  c.coreset_ratio = 0.25;
  c.smoothing_sigma = sigma;
  make_images (GOOD, 1, FALSE, raw, x);
  sl_assert_ok (sl_anomaly_fitter_new (m, &c, &f, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_add (f, x, GOOD, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_finish (f, NULL, NULL, &a, &err), &err);
  sl_anomaly_fitter_free (f);
  return a;
}

/* Runs the check in `mode` with `python`; FALSE after a skip or a failure. */
static gboolean
run_check (const char *python, const char *mode, const char *dir)
{
  const char *script = g_getenv ("SL_ONNX_ANOMALY_CHECK");
  const char *argv[5] = { python, script, mode, dir, NULL };
  g_autofree char *out = NULL, *errs = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (script == NULL)
    {
      g_test_fail_printf ("SL_ONNX_ANOMALY_CHECK is not set: run this through meson test, or "
                          "point it at tests/onnx/check-onnx-anomaly.py");
      return FALSE;
    }
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errs, &status,
                     &error))
    {
      g_test_skip_printf ("cannot run %s: %s", python, error->message);
      return FALSE;
    }
  if (out[0] != '\0')
    g_test_message ("%s", g_strchomp (out));
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip_printf ("%s", g_strchomp (errs));
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, &error))
    {
      g_test_fail_printf ("%s %s failed: %s\n%s", script, mode, error->message, errs);
      return FALSE;
    }
  return TRUE;
}

/* The interpreter with ONNX Runtime: $SL_ORT_PYTHON, else python3 on the PATH. */
static char *
runtime_python (void)
{
  const char *env = g_getenv ("SL_ORT_PYTHON");

  return env != NULL ? g_strdup (env) : g_find_program_in_path ("python3");
}

/* Scores and maps of good images and of images with a defect, through ONNX
 * Runtime, equal the runtime's within 1e-3; onnx's checker accepts the graph. */
static void
test_scores_and_maps (void)
{
  const gsize size = 3 * SIDE * SIDE;
  sl_model *m = new_backbone (SIDE);
  sl_anomaly *a = fit (m, 4.0f);
  g_autofree float *raw = g_new (float, size *CHECK);
  g_autofree float *x = g_new (float, size *CHECK);
  g_autofree float *scores = g_new (float, CHECK);
  g_autofree float *maps = g_new (float, (gsize) CHECK *SIDE *SIDE);
  g_autofree char *tmp = NULL, *path = NULL, *shape = NULL, *python = runtime_python ();
  g_autoptr (GError) error = NULL;
  sl_onnx_options o;
  sl_error err = { 0 };
  gboolean ok;

  make_images (CHECK, 2, TRUE, raw, x);
  sl_assert_ok (sl_anomaly_score (a, m, x, CHECK, scores, maps, &err), &err);
  /* The squares stand out: a comparison of something. */
  g_assert_cmpfloat (scores[1], >, scores[0]);
  sl_assert_ok (sl_anomaly_set_threshold (a, (scores[0] + scores[1]) / 2, &err), &err);

  tmp = g_dir_make_tmp ("sl-onnx-anomaly-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (tmp, "model.onnx", NULL);
  sl_onnx_options_init (&o);
  memcpy (o.mean, mean, sizeof o.mean);
  memcpy (o.std, std_, sizeof o.std);
  o.metadata_json = "{\"kind\": \"anomaly\"}";
  sl_assert_ok (_sl_onnx_export_anomaly (m, a, &o, path, &err), &err);
  sl_test_write_floats_le (tmp, "inputs.f32", raw, size * CHECK);
  sl_test_write_floats_le (tmp, "scores.f32", scores, CHECK);
  sl_test_write_floats_le (tmp, "maps.f32", maps, (gsize) CHECK * SIDE * SIDE);
  shape = g_build_filename (tmp, "shape.txt", NULL);
  g_assert_true (g_file_set_contents (shape, "5 3 64 64\n", -1, &error));

  ok = run_check (g_getenv ("SL_PYTHON") != NULL ? g_getenv ("SL_PYTHON") : "/usr/bin/python3",
                  "--checker", tmp);
  if (python == NULL)
    g_test_skip ("no python3 on the PATH to run ONNX Runtime (pip install onnxruntime)");
  else
    ok = run_check (python, "--runtime", tmp) && ok;
  if (ok)
    {
      static const char *const files[]
          = { "model.onnx", "inputs.f32", "scores.f32", "maps.f32", "shape.txt" };

      for (gsize k = 0; k < G_N_ELEMENTS (files); k++)
        {
          g_autofree char *f = g_build_filename (tmp, files[k], NULL);
          g_remove (f);
        }
      g_rmdir (tmp);
    }
  else
    g_test_message ("the files are kept in %s", tmp);
  sl_anomaly_free (a);
  sl_model_free (m);
}

/* What ONNX cannot express, and a scorer of another model, are refused
 * before anything is written. */
static void
test_refused (void)
{
  sl_model *m = new_backbone (SIDE), *other = new_backbone (96);
  sl_anomaly *wide = fit (m, 16.0f), *a = fit (m, 4.0f);
  g_autofree char *tmp = g_dir_make_tmp ("sl-onnx-anomaly-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "model.onnx", NULL);
  sl_error err = { 0 };

  g_assert_cmpint (_sl_onnx_export_anomaly (m, wide, NULL, path, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "smoothing"));
  g_assert_cmpint (_sl_onnx_export_anomaly (other, a, NULL, path, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "ONNX export"));
  g_assert_cmpint (_sl_onnx_export_anomaly (NULL, a, NULL, path, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (_sl_onnx_export_anomaly (m, NULL, NULL, path, &err), ==, SL_ERR_INVALID);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_rmdir (tmp);
  sl_anomaly_free (wide);
  sl_anomaly_free (a);
  sl_model_free (m);
  sl_model_free (other);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/onnx/anomaly/scores-and-maps", test_scores_and_maps);
  g_test_add_func ("/onnx/anomaly/refused", test_refused);
  return g_test_run ();
}
