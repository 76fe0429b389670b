/* test-onnx-export.c: every preset, trained a little, exported to ONNX and checked by
 * tests/onnx/check-onnx.py (onnx's checker, then OpenCV's DNN against the engine). */
#include "sl-test-support.h"
#include "sl-idx.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define TRAIN_IMAGES 64
#define CHECK_IMAGES 32
#define BATCH        16

typedef struct
{
  const char *name;
  const char *preset; /* or NULL and a model description in json */
  const char *json;
  int channels, height, width;
  float mean[3], std[3];
  gboolean with_metadata;
} ExportCase;

static const char *const fashion_labels[10] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle \"boot\"",
};

/* Every layer type and option the presets leave out: non-square and dilated
 * windows, groups, padded pools, activations, batch-norm and additions on flat
 * tensors, a convolution after a dense layer, and a user name equal to the
 * name export would generate for another layer. */
static const char all_layers_json[]
    = "{\"name\": \"all-layers\", \"classes\": 10,"
      " \"input\": {\"channels\": 3, \"height\": 20, \"width\": 18}, \"layers\": ["
      " {\"type\": \"conv2d\", \"filters\": 8, \"kernel\": [3, 5], \"stride\": [1, 2],"
      "  \"padding\": [1, 2], \"name\": \"dense_10\"},"
      " {\"type\": \"leaky_relu\", \"slope\": 0.1},"
      " {\"type\": \"conv2d\", \"filters\": 8, \"kernel\": 3, \"dilation\": 2,"
      "  \"padding\": \"same\", \"groups\": 4, \"bias\": false},"
      " {\"type\": \"batchnorm\", \"epsilon\": 0.001},"
      " {\"type\": \"sigmoid\"},"
      " {\"type\": \"avgpool\", \"size\": 3, \"stride\": 2, \"padding\": 1},"
      " {\"type\": \"maxpool\", \"size\": [2, 3], \"stride\": [1, 2], \"padding\": 1},"
      " {\"type\": \"relu6\"},"
      " {\"type\": \"flatten\"},"
      " {\"type\": \"dropout\", \"rate\": 0.3},"
      " {\"type\": \"dense\", \"units\": 16, \"bias\": false},"
      " {\"type\": \"batchnorm\"},"
      " {\"type\": \"relu\", \"name\": \"h\"},"
      " {\"type\": \"dense\", \"units\": 16, \"name\": \"h2\"},"
      " {\"type\": \"add\", \"inputs\": [\"h\", \"h2\"]},"
      " {\"type\": \"conv2d\", \"filters\": 16, \"kernel\": 1},"
      " {\"type\": \"global_avgpool\", \"name\": \"g\"},"
      " {\"type\": \"add\", \"inputs\": [\"g\", \"h\"]},"
      " {\"type\": \"dense\", \"units\": 10}]}";

/* Asymmetric padding: TensorFlow's "same" at stride 2 pads one more row and
 * column at the end (k = 3: 0 before, 1 after; k = 5: 1 and 2), as
 * EfficientNet-Lite does; ONNX pads are [top, left, bottom, right]. */
static const char same_padding_json[]
    = "{\"name\": \"same-padding\", \"classes\": 10,"
      " \"input\": {\"channels\": 3, \"height\": 24, \"width\": 22}, \"layers\": ["
      " {\"type\": \"conv2d\", \"filters\": 8, \"kernel\": 3, \"stride\": 2,"
      "  \"padding\": \"same\", \"bias\": false},"
      " {\"type\": \"batchnorm\", \"epsilon\": 0.001},"
      " {\"type\": \"relu6\"},"
      " {\"type\": \"conv2d\", \"filters\": 8, \"kernel\": 5, \"stride\": 2,"
      "  \"padding\": \"same\", \"groups\": 8},"
      " {\"type\": \"conv2d\", \"filters\": 12, \"kernel\": [3, 2],"
      "  \"padding\": [2, 0, 0, 1]},"
      " {\"type\": \"relu\"},"
      " {\"type\": \"maxpool\", \"size\": 3, \"stride\": 2, \"padding\": \"same\"},"
      " {\"type\": \"avgpool\", \"size\": 2, \"stride\": 1, \"padding\": [0, 0, 1, 1]},"
      " {\"type\": \"flatten\"},"
      " {\"type\": \"dense\", \"units\": 10}]}";

static sl_idx images, labels;
static gboolean data_ready;

static gboolean
have_data (void)
{
  const char *dir = g_getenv ("SL_FASHION_MNIST");
  g_autofree char *img_path = NULL, *lab_path = NULL;
  sl_error err = { 0 };

  if (data_ready)
    return TRUE;
  dir = dir != NULL ? dir : "/usr/share/datasets/fashion-mnist";
  img_path = g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL);
  lab_path = g_build_filename (dir, "train-labels-idx1-ubyte.gz", NULL);
  if (!g_file_test (img_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      return FALSE;
    }
  sl_assert_ok (sl_idx_load (img_path, TRAIN_IMAGES + CHECK_IMAGES, &images, &err), &err);
  sl_assert_ok (sl_idx_load (lab_path, TRAIN_IMAGES + CHECK_IMAGES, &labels, &err), &err);
  data_ready = TRUE;
  return TRUE;
}

/* Pixel (y, x) of channel c, 0..255: the 28x28 image centred on the canvas;
 * colour channels are the image, its negative and its transpose, so they differ. */
static float
pixel (const uint8_t *img, int c, int y, int x, int h, int w)
{
  int sy = y - (h - 28) / 2, sx = x - (w - 28) / 2;

  if (sy < 0 || sx < 0 || sy >= 28 || sx >= 28)
    return 0.0f;
  switch (c)
    {
      case 1: return 255.0f - img[sy * 28 + sx];
      case 2: return img[sx * 28 + sy];
      default: return img[sy * 28 + sx];
    }
}

/* Images first .. first + n - 1 as 0..255 floats (NCHW) and normalised as the graph does. */
static void
make_inputs (const ExportCase *tc, int first, int n, float *raw, float *norm)
{
  gsize k = 0;

  for (int i = 0; i < n; i++)
    for (int c = 0; c < tc->channels; c++)
      for (int y = 0; y < tc->height; y++)
        for (int x = 0; x < tc->width; x++, k++)
          {
            raw[k]
                = pixel (images.data + (gsize) (first + i) * 784, c, y, x, tc->height, tc->width);
            norm[k] = (raw[k] / 255.0f - tc->mean[c]) / tc->std[c];
          }
}

static sl_model *
new_model (const ExportCase *tc)
{
  sl_preset_options o;
  sl_error err = { 0 };
  g_autofree char *json = NULL;
  char *text;
  sl_model *m;

  sl_preset_options_init (&o);
  o.channels = tc->channels;
  o.height = tc->height;
  o.width = tc->width;
  o.depth = 8;
  if (tc->preset != NULL)
    {
      sl_assert_ok (sl_preset_json (tc->preset, &o, &text, &err), &err);
      json = g_strdup (text);
      sl_free (text);
    }
  else
    json = g_strdup (tc->json);
  sl_assert_ok (sl_model_new (json, 7, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  return m;
}

/* A few optimizer steps, so weights and batch-norm running statistics are no
 * longer at their initial values. */
static void
train_a_little (sl_model *m, const ExportCase *tc)
{
  const gsize size = (gsize) tc->channels * tc->height * tc->width, total = size * TRAIN_IMAGES;
  g_autofree float *raw = g_new (float, total);
  g_autofree float *x = g_new (float, total);
  g_autofree int32_t *y = g_new (int32_t, TRAIN_IMAGES);
  sl_train_config cfg;
  sl_trainer *t;
  sl_error err = { 0 };
  double loss, acc;

  make_inputs (tc, 0, TRAIN_IMAGES, raw, x);
  for (int i = 0; i < TRAIN_IMAGES; i++)
    y[i] = labels.data[i];
  sl_train_config_init (&cfg);
  cfg.learning_rate = 3e-3f;
  sl_assert_ok (sl_trainer_new (m, &cfg, BATCH, &t, &err), &err);
  for (int s = 0; s < TRAIN_IMAGES / BATCH; s++)
    sl_assert_ok (
        sl_trainer_step (t, x + s * BATCH * size, y + s * BATCH, BATCH, &loss, &acc, &err), &err);
  sl_trainer_free (t);
}

/* Batch-norm running means start at 0 and variances at 1. */
static void
assert_state_trained (sl_model *m)
{
  const float *state = sl_model_state (m);
  size_t n = sl_model_state_count (m);
  gboolean moved = n == 0;

  for (size_t i = 0; i < n; i++)
    moved |= state[i] != 0.0f && state[i] != 1.0f;
  g_assert_true (moved);
}

/* Runs check-onnx.py on dir; its report goes to the TAP log. */
static gboolean
run_check (const char *dir, gboolean expect_metadata)
{
  const char *python = g_getenv ("SL_PYTHON");
  const char *script = g_getenv ("SL_ONNX_CHECK");
  const char *argv[5] = { python != NULL ? python : "/usr/bin/python3", script };
  g_autofree char *out = NULL, *errs = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0, argc = 2;

  if (script == NULL)
    {
      g_test_fail_printf ("SL_ONNX_CHECK is not set: run this through meson test, or point it "
                          "at tests/onnx/check-onnx.py");
      return FALSE;
    }
  if (expect_metadata)
    argv[argc++] = "--expect-metadata";
  argv[argc] = dir;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errs, &status,
                     &error))
    {
      g_test_fail_printf ("cannot run %s: %s (apt-get install python3)", argv[0], error->message);
      return FALSE;
    }
  if (out[0] != '\0')
    g_test_message ("%s", g_strchomp (out));
  if (!g_spawn_check_wait_status (status, &error))
    {
      g_test_fail_printf ("%s failed: %s\n%s", script, error->message, errs);
      return FALSE;
    }
  return TRUE;
}

static void
test_export_case (gconstpointer data)
{
  const ExportCase *tc = data;
  const gsize size = (gsize) tc->channels * tc->height * tc->width, total = size * CHECK_IMAGES;
  g_autofree float *raw = g_new (float, total);
  g_autofree float *x = g_new (float, total);
  g_autofree float *probs = g_new (float, (gsize) CHECK_IMAGES * 10);
  g_autofree char *tmp = NULL, *dir = NULL, *model_path = NULL;
  g_autoptr (GError) error = NULL;
  sl_onnx_options opts;
  sl_error err = { 0 };
  sl_model *m;

  if (!have_data ())
    return;
  tmp = g_dir_make_tmp ("sl-onnx-XXXXXX", &error);
  g_assert_no_error (error);
  dir = g_build_filename (tmp, tc->name, NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  model_path = g_build_filename (dir, "model.onnx", NULL);

  m = new_model (tc);
  train_a_little (m, tc);
  assert_state_trained (m);
  make_inputs (tc, TRAIN_IMAGES, CHECK_IMAGES, raw, x);
  sl_assert_ok (sl_model_predict (m, x, CHECK_IMAGES, probs, &err), &err);

  sl_onnx_options_init (&opts);
  memcpy (opts.mean, tc->mean, sizeof opts.mean);
  memcpy (opts.std, tc->std, sizeof opts.std);
  if (tc->with_metadata)
    {
      opts.labels = fashion_labels;
      opts.metadata_json = "{\"pipeline\": [], \"note\": \"written by test-onnx-export\"}";
    }
  sl_assert_ok (sl_model_export_onnx (m, &opts, model_path, &err), &err);
  sl_model_free (m);
  sl_test_write_floats_le (dir, "inputs.f32", raw, total);
  sl_test_write_floats_le (dir, "probabilities.f32", probs, (gsize) CHECK_IMAGES * 10);

  if (run_check (dir, tc->with_metadata))
    {
      g_autofree char *inputs = g_build_filename (dir, "inputs.f32", NULL);
      g_autofree char *outputs = g_build_filename (dir, "probabilities.f32", NULL);
      g_remove (model_path);
      g_remove (inputs);
      g_remove (outputs);
      g_rmdir (dir);
      g_rmdir (tmp);
    }
  else
    g_test_message ("the failing case is kept in %s", dir);
}

static sl_model *
small_model (void)
{
  static const ExportCase tc = { .preset = "seed-cnn", .channels = 1, .height = 28, .width = 28 };

  return new_model (&tc);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Every entry in dir, sorted, joined by spaces. */
static char *
list_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  g_assert_nonnull (d);
  while ((entry = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
assert_fails (sl_status got, sl_status want, const sl_error *err, const char *needle)
{
  g_assert_cmpint (got, ==, want);
  g_assert_cmpint (err->code, ==, want);
  g_test_message ("expected error: %s", err->message);
  g_assert_nonnull (strstr (err->message, needle));
}

/* Bad arguments are refused with a message, and a failed export leaves the
 * folder exactly as it was: no new file, no temporary file, the old file intact. */
static void
test_export_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("sl-onnx-err-XXXXXX", &error);
  g_autofree char *path = g_build_filename (tmp, "model.onnx", NULL);
  g_autofree char *old = g_build_filename (tmp, "old.onnx", NULL);
  g_autofree char *missing = g_build_filename (tmp, "no-such-folder", "model.onnx", NULL);
  g_autofree char *a_dir = g_build_filename (tmp, "a-folder", NULL);
  g_autofree char *listing = NULL, *contents = NULL;
  const char *bad_labels[10] = { "a", "b", "c", NULL };
  sl_model *m = small_model ();
  sl_onnx_options opts;
  sl_error err = { 0 };

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (a_dir, 0755), ==, 0);
  g_file_set_contents (old, "previous", -1, &error);
  g_assert_no_error (error);
  sl_onnx_options_init (&opts);

  assert_fails (sl_model_export_onnx (NULL, &opts, path, &err), SL_ERR_INVALID, &err, "no model");
  opts.std[0] = 0.0f;
  assert_fails (sl_model_export_onnx (m, &opts, path, &err), SL_ERR_INVALID, &err, "std[0]");
  assert_fails (sl_model_export_onnx (m, &opts, old, &err), SL_ERR_INVALID, &err, "std[0]");
  opts.std[0] = NAN;
  assert_fails (sl_model_export_onnx (m, &opts, path, &err), SL_ERR_INVALID, &err, "std[0]");
  opts.std[0] = 1.0f;
  opts.mean[0] = INFINITY;
  assert_fails (sl_model_export_onnx (m, &opts, path, &err), SL_ERR_INVALID, &err, "mean[0]");
  opts.mean[0] = 0.0f;
  opts.labels = bad_labels;
  assert_fails (sl_model_export_onnx (m, &opts, path, &err), SL_ERR_INVALID, &err, "labels[3]");
  opts.labels = NULL;
  opts.metadata_json = "{\"unterminated\": ";
  assert_fails (sl_model_export_onnx (m, &opts, path, &err), SL_ERR_INVALID, &err, "JSON");
  opts.metadata_json = NULL;
  opts.struct_size = sizeof opts - 1;
  assert_fails (sl_model_export_onnx (m, &opts, path, &err), SL_ERR_INVALID, &err,
                "sl_onnx_options_init");
  opts.struct_size = sizeof opts;
  assert_fails (sl_model_export_onnx (m, &opts, missing, &err), SL_ERR_IO, &err, "no-such-folder");
  /* The temporary file is written, then cannot replace a folder. */
  assert_fails (sl_model_export_onnx (m, &opts, a_dir, &err), SL_ERR_IO, &err, "a-folder");

  listing = list_dir (tmp);
  g_assert_cmpstr (listing, ==, "a-folder old.onnx");
  g_file_get_contents (old, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "previous");

  /* NULL options mean the defaults; the export then replaces the old file. */
  sl_assert_ok (sl_model_export_onnx (m, NULL, old, &err), &err);
  g_clear_pointer (&contents, g_free);
  g_file_get_contents (old, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, !=, "previous");

  sl_model_free (m);
  g_remove (old);
  g_rmdir (a_dir);
  g_rmdir (tmp);
}

static ExportCase cases[16];
static int n_cases;

static void
add_case (const char *preset, const char *json, const char *json_name, int channels, int height,
          int width, gboolean with_metadata)
{
  static const float gray_mean[3] = { 0.2860f }, gray_std[3] = { 0.3530f };
  static const float rgb_mean[3] = { 0.30f, 0.70f, 0.25f }, rgb_std[3] = { 0.35f, 0.33f, 0.40f };
  ExportCase *tc = &cases[n_cases++];
  g_autofree char *path = NULL;

  g_assert_cmpint (n_cases, <=, G_N_ELEMENTS (cases));
  tc->preset = preset;
  tc->json = json;
  tc->channels = channels;
  tc->height = height;
  tc->width = width;
  memcpy (tc->mean, channels == 3 ? rgb_mean : gray_mean, sizeof tc->mean);
  memcpy (tc->std, channels == 3 ? rgb_std : gray_std, sizeof tc->std);
  tc->with_metadata = with_metadata;
  tc->name = g_strdup_printf ("%s-%dx%dx%d", preset != NULL ? preset : json_name, width, height,
                              channels);
  path = g_strconcat ("/onnx/export/", tc->name, NULL);
  g_test_add_data_func (path, tc, test_export_case);
}

int
main (int argc, char **argv)
{
  const char *const *presets = sl_preset_names ();
  int status;

  g_test_init (&argc, &argv, NULL);
  for (int i = 0; presets[i] != NULL; i++)
    add_case (presets[i], NULL, NULL, 1, 28, 28, i == 0);
  add_case ("mobilenet-s", NULL, NULL, 3, 32, 32, TRUE);
  add_case (NULL, all_layers_json, "all-layers", 3, 20, 18, FALSE);
  add_case (NULL, same_padding_json, "same-padding", 3, 24, 22, FALSE);
  g_test_add_func ("/onnx/export/errors", test_export_errors);
  status = g_test_run ();
  for (int i = 0; i < n_cases; i++)
    g_free ((char *) cases[i].name);
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
  return status;
}
