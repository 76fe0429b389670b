/* test-vision-classifier.c: the line-side runtime: opening .slmodel files and predicting with them. */
#include "sl-test-support.h"
#include "sl-classifier.h"

#include <glib/gstdio.h>
#include <string.h>

#define N_IMAGES 16

typedef struct
{
  char *dir;
  char *model_path;
  char **pngs;
  int32_t labels[N_IMAGES];
  sl_classifier *classifier;
} Fixture;

static Fixture fx;

static gboolean
fixture_ready (void)
{
  sl_error err = { 0 };

  if (fx.classifier != NULL)
    return TRUE;
  fx.dir = g_dir_make_tmp ("sl-classifier-XXXXXX", NULL);
  fx.model_path = g_build_filename (fx.dir, "parts.slmodel", NULL);
  if (!sl_test_make_slmodel ("small-bn", 60, fx.model_path))
    return FALSE;
  fx.pngs = sl_test_write_fmnist_pngs (fx.dir, N_IMAGES, fx.labels);
  sl_assert_ok (sl_classifier_open (fx.model_path, NULL, &fx.classifier, &err), &err);
  return TRUE;
}

/* The reference: decode, pipeline, normalise and predict by hand. */
static void
reference_probs (const char *png, float *probs)
{
  const sl_pipeline *p = sl_classifier_pipeline (fx.classifier);
  sl_image in = { 0 }, out = { 0 };
  sl_error err = { 0 };
  float x[784];
  sl_model *model;

  sl_assert_ok (sl_image_load (png, 0, &in, &err), &err);
  sl_assert_ok (sl_pipeline_apply (p, &in, &out, &err), &err);
  sl_assert_ok (sl_pipeline_normalize (p, &out, x, &err), &err);
  sl_assert_ok (sl_model_share (sl_classifier_model (fx.classifier), 1, &model, &err), &err);
  sl_assert_ok (sl_model_predict (model, x, 1, probs, &err), &err);
  sl_model_free (model);
  sl_image_clear (&in);
  sl_image_clear (&out);
}

static void
assert_probs_close (const float *a, const float *b, int n, float tol)
{
  for (int i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], tol);
}

static void
test_open_and_describe (void)
{
  int32_t w, h, c;
  const char *header;

  if (!fixture_ready ())
    return;
  g_assert_cmpint (sl_classifier_class_count (fx.classifier), ==, 10);
  for (int i = 0; i < 10; i++)
    g_assert_cmpstr (sl_classifier_class_label (fx.classifier, i), ==, sl_test_fmnist_labels[i]);
  g_assert_null (sl_classifier_class_label (fx.classifier, 10));
  g_assert_null (sl_classifier_class_label (fx.classifier, -1));
  sl_classifier_input_size (fx.classifier, &w, &h, &c);
  g_assert_cmpint (w, ==, 28);
  g_assert_cmpint (h, ==, 28);
  g_assert_cmpint (c, ==, 1);
  header = sl_classifier_header_json (fx.classifier);
  g_assert_nonnull (strstr (header, "\"provenance\":{\"dataset\":\"Fashion-MNIST (test)\""));
  g_assert_nonnull (strstr (header, "\"gaussian-blur\""));
  g_autofree char *version = g_strdup_printf ("\"sightline\":\"%s\"", sl_version_string ());
  g_assert_nonnull (strstr (header, version));
}

/* The file's predictions are the trained model's, through the stored pipeline. */
static void
test_predict_file_matches_reference (void)
{
  sl_error err = { 0 };
  int correct = 0;

  if (!fixture_ready ())
    return;
  for (int i = 0; i < N_IMAGES; i++)
    {
      float probs[10], ref[10], sum = 0;
      sl_prediction p;

      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_file (fx.classifier, fx.pngs[i], &p, probs, &err), &err);
      reference_probs (fx.pngs[i], ref);
      assert_probs_close (probs, ref, 10, 1e-6f);
      for (int k = 0; k < 10; k++)
        {
          sum += probs[k];
          g_assert_cmpfloat (probs[k], <=, probs[p.class_index]);
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0f, 1e-4f);
      g_assert_cmpfloat (p.confidence, ==, probs[p.class_index]);
      g_assert_cmpstr (p.label, ==, sl_test_fmnist_labels[p.class_index]);
      g_assert_cmpint (p.rejected, ==, 0);
      correct += p.class_index == fx.labels[i];
    }
  /* 20 steps of training already beat chance by far. */
  g_assert_cmpint (correct, >=, N_IMAGES / 2);
}

/* One picture handed over in every pixel format gives the same answer. */
static void
test_pixel_formats_agree (void)
{
  sl_image img = { 0 };
  sl_error err = { 0 };
  float ref[10];
  static const sl_pixel_format formats[] = { SL_PIXEL_GRAY8, SL_PIXEL_GRAY16, SL_PIXEL_RGB8,
                                             SL_PIXEL_BGR8,  SL_PIXEL_RGBA8,  SL_PIXEL_BGRA8 };
  static const int bytes[] = { 1, 2, 3, 3, 4, 4 };

  if (!fixture_ready ())
    return;
  sl_assert_ok (sl_image_load (fx.pngs[3], 0, &img, &err), &err);
  reference_probs (fx.pngs[3], ref);
  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      size_t stride = 28 * bytes[f] + 6; /* padded rows, as camera SDKs deliver */
      g_autofree guint8 *buf = g_malloc0 (stride * 28);
      sl_prediction p;
      float probs[10];

      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
          {
            guint8 v = img.data[y * img.stride + x];
            guint8 *px = buf + y * stride + x * bytes[f];

            if (formats[f] == SL_PIXEL_GRAY16)
              *(guint16 *) px = (guint16) (v * 257);
            else
              memset (px, v, bytes[f]);
            if (bytes[f] == 4)
              px[3] = 255;
          }
      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_pixels (fx.classifier, buf, 28, 28, stride, formats[f],
                                                  &p, probs, &err),
                    &err);
      assert_probs_close (probs, ref, 10, 1e-6f);
    }
  sl_image_clear (&img);
}

static void
test_encoded_and_batch (void)
{
  sl_frame frames[N_IMAGES];
  sl_image imgs[N_IMAGES];
  sl_prediction single[N_IMAGES], batch[N_IMAGES];
  float probs_single[N_IMAGES * 10], probs_batch[N_IMAGES * 10];
  sl_error err = { 0 };

  if (!fixture_ready ())
    return;
  for (int i = 0; i < N_IMAGES; i++)
    {
      g_autofree char *data = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (fx.pngs[i], &data, &len, NULL));
      sl_prediction_init (&single[i]);
      sl_prediction_init (&batch[i]);
      sl_assert_ok (sl_classifier_predict_encoded (fx.classifier, data, len, &single[i],
                                                   probs_single + i * 10, &err),
                    &err);
      sl_assert_ok (sl_image_load (fx.pngs[i], 0, &imgs[i], &err), &err);
      sl_frame_init (&frames[i]);
      frames[i].pixels = imgs[i].data;
      frames[i].width = imgs[i].width;
      frames[i].height = imgs[i].height;
      frames[i].stride = imgs[i].stride;
      frames[i].format = SL_PIXEL_GRAY8;
    }
  sl_assert_ok (
      sl_classifier_predict_batch (fx.classifier, frames, N_IMAGES, batch, probs_batch, &err),
      &err);
  for (int i = 0; i < N_IMAGES; i++)
    {
      g_assert_cmpint (batch[i].class_index, ==, single[i].class_index);
      g_assert_cmpstr (batch[i].label, ==, single[i].label);
      sl_image_clear (&imgs[i]);
    }
  assert_probs_close (probs_batch, probs_single, N_IMAGES * 10, 1e-5f);

  /* A bad frame fails the call and names itself. */
  frames[5].stride = 3;
  g_assert_cmpint (sl_classifier_predict_batch (fx.classifier, frames, N_IMAGES, batch, NULL, &err),
                   ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "frame 5"));
}

static void
test_top_k_and_threshold (void)
{
  sl_prediction top[12], p;
  sl_classifier *strict = NULL;
  sl_classifier_options o;
  sl_error err = { 0 };
  float probs[10];
  int n;

  if (!fixture_ready ())
    return;
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file (fx.classifier, fx.pngs[0], &p, probs, &err), &err);
  for (int i = 0; i < 12; i++)
    sl_prediction_init (&top[i]);
  n = sl_classifier_top_k (fx.classifier, probs, 12, top);
  g_assert_cmpint (n, ==, 10);
  g_assert_cmpint (top[0].class_index, ==, p.class_index);
  for (int i = 1; i < n; i++)
    {
      g_assert_cmpfloat (top[i].confidence, <=, top[i - 1].confidence);
      g_assert_cmpfloat (top[i].confidence, ==, probs[top[i].class_index]);
      for (int j = 0; j < i; j++)
        g_assert_cmpint (top[i].class_index, !=, top[j].class_index);
    }
  g_assert_cmpint (sl_classifier_top_k (fx.classifier, probs, 0, top), ==, 0);

  /* A threshold set at open time, then changed, then refused when out of range. */
  sl_classifier_options_init (&o);
  o.reject_threshold = 1.0f;
  o.threads = 1;
  sl_assert_ok (sl_classifier_open (fx.model_path, &o, &strict, &err), &err);
  g_assert_cmpfloat (sl_classifier_get_reject_threshold (strict), ==, 1.0f);
  sl_assert_ok (sl_classifier_predict_file (strict, fx.pngs[0], &p, NULL, &err), &err);
  g_assert_cmpint (p.rejected, ==, 1);
  sl_assert_ok (sl_classifier_set_reject_threshold (strict, 0.0f, &err), &err);
  sl_assert_ok (sl_classifier_predict_file (strict, fx.pngs[0], &p, NULL, &err), &err);
  g_assert_cmpint (p.rejected, ==, 0);
  g_assert_cmpint (sl_classifier_set_reject_threshold (strict, 1.5f, &err), ==, SL_ERR_INVALID);
  g_assert_cmpfloat (sl_classifier_get_reject_threshold (strict), ==, 0.0f);
  sl_classifier_free (strict);
}

typedef struct
{
  int first;
  int32_t classes[N_IMAGES];
  float confidence[N_IMAGES];
} Worker;

static gpointer
predict_all (gpointer data)
{
  Worker *w = data;
  sl_error err = { 0 };

  for (int round = 0; round < 8; round++)
    for (int k = 0; k < N_IMAGES; k++)
      {
        int i = (w->first + k) % N_IMAGES;
        sl_prediction p;

        sl_prediction_init (&p);
        sl_assert_ok (sl_classifier_predict_file (fx.classifier, fx.pngs[i], &p, NULL, &err), &err);
        if (round > 0)
          {
            g_assert_cmpint (p.class_index, ==, w->classes[i]);
            g_assert_cmpfloat (p.confidence, ==, w->confidence[i]);
          }
        w->classes[i] = p.class_index;
        w->confidence[i] = p.confidence;
      }
  return NULL;
}

/* Several threads share one classifier and all get the serial answers. */
static void
test_concurrent_predictions (void)
{
  Worker workers[4];
  GThread *threads[4];
  sl_error err = { 0 };

  if (!fixture_ready ())
    return;
  for (int t = 0; t < 4; t++)
    {
      workers[t].first = t * 3;
      threads[t] = g_thread_new ("predict", predict_all, &workers[t]);
    }
  for (int t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  for (int i = 0; i < N_IMAGES; i++)
    {
      sl_prediction p;
      float probs[10], ref[10];

      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_file (fx.classifier, fx.pngs[i], &p, probs, &err), &err);
      reference_probs (fx.pngs[i], ref);
      for (int t = 0; t < 4; t++)
        {
          g_assert_cmpint (workers[t].classes[i], ==, p.class_index);
          g_assert_cmpfloat_with_epsilon (workers[t].confidence[i], ref[p.class_index], 1e-6f);
        }
    }
}

/* A folder with fake-cuda-<variant>.so as the only CUDA module the runtime
 * sees, or NULL (test skipped) when the fakes are not at hand. */
static char *
fake_cuda_dir (const char *variant)
{
  const char *built = g_getenv ("SL_FAKE_CUDA_DIR");
  g_autofree char *name = g_strdup_printf ("fake-cuda-%s.so", variant);
  g_autofree char *src = built != NULL ? g_build_filename (built, name, NULL) : NULL;
  g_autofree char *contents = NULL, *dst = NULL;
  char *dir;
  gsize len;

  if (src == NULL || !g_file_get_contents (src, &contents, &len, NULL))
    {
      g_test_skip ("the fake CUDA modules are not built (set SL_FAKE_CUDA_DIR)");
      return NULL;
    }
  dir = g_dir_make_tmp ("sl-classifier-cuda-XXXXXX", NULL);
  dst = g_build_filename (dir, "libsightline-cuda.so", NULL);
  g_assert_true (g_file_set_contents (dst, contents, (gssize) len, NULL));
  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", dir, TRUE);
  /* The process discovers its devices once: look again, in the new folder. */
  g_assert_cmpint (sl_device_registry_refresh (NULL, NULL), ==, SL_OK);
  return dir;
}

static void
drop_fake_cuda_dir (char *dir)
{
  g_autofree char *module = g_build_filename (dir, "libsightline-cuda.so", NULL);

  g_unlink (module);
  g_rmdir (dir);
  g_free (dir);
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
  g_assert_cmpint (sl_device_registry_refresh (NULL, NULL), ==, SL_OK);
}

/* Opening on a device: a missing GPU fails the open with the reason; a GPU
 * (the emulated one) gives the CPU's predictions. */
static void
test_device_option (void)
{
  sl_classifier_options o;
  sl_classifier *c = NULL;
  sl_error err = { 0 };
  char *dir;

  if (!fixture_ready () || (dir = fake_cuda_dir ("nodriver")) == NULL)
    return;
  sl_classifier_options_init (&o);
  g_assert_cmpint (sl_classifier_open_on_device (fx.model_path, &o, "cuda", &c, &err), ==,
                   SL_ERR_DEVICE);
  g_test_message ("%s", err.message);
  g_assert_null (c);
  g_assert_true (g_str_has_prefix (err.message, fx.model_path));
  g_assert_nonnull (strstr (err.message, "no NVIDIA driver"));
  drop_fake_cuda_dir (dir);

  dir = fake_cuda_dir ("emulated");
  sl_assert_ok (sl_classifier_open_on_device (fx.model_path, &o, "cuda", &c, &err), &err);
  g_assert_cmpstr (sl_model_get_device (sl_classifier_model (c)), ==, "cuda:0");
  for (int i = 0; i < N_IMAGES; i++)
    {
      sl_prediction p, q;
      float probs[10], ref[10];

      sl_prediction_init (&p);
      sl_prediction_init (&q);
      sl_assert_ok (sl_classifier_predict_file (c, fx.pngs[i], &p, probs, &err), &err);
      sl_assert_ok (sl_classifier_predict_file (fx.classifier, fx.pngs[i], &q, ref, &err), &err);
      g_assert_cmpint (p.class_index, ==, q.class_index);
      assert_probs_close (probs, ref, 10, 1e-6f);
    }
  {
    g_autofree char *onnx = g_build_filename (fx.dir, "from-gpu.onnx", NULL);
    g_autofree char *sidecar = g_build_filename (fx.dir, "from-gpu.json", NULL);

    /* Export reads the weights back from the device. */
    sl_assert_ok (sl_classifier_export_onnx (c, onnx, &err), &err);
    g_assert_true (g_file_test (onnx, G_FILE_TEST_IS_REGULAR));
    g_unlink (onnx);
    g_unlink (sidecar);
  }
  sl_classifier_free (c);
  drop_fake_cuda_dir (dir);
}

static void
test_bad_calls (void)
{
  sl_classifier *c = NULL;
  sl_prediction p;
  sl_error err = { 0 };
  guint8 px[16] = { 0 };

  if (!fixture_ready ())
    return;
  sl_prediction_init (&p);
  g_assert_cmpint (sl_classifier_open ("/nonexistent/model.slmodel", NULL, &c, &err), ==,
                   SL_ERR_IO);
  g_assert_nonnull (strstr (err.message, "/nonexistent/model.slmodel"));
  g_assert_null (c);
  g_assert_cmpint (sl_classifier_predict_file (fx.classifier, "/nonexistent.png", &p, NULL, &err),
                   ==, SL_ERR_IO);
  g_assert_cmpint (sl_classifier_predict_encoded (fx.classifier, px, sizeof px, &p, NULL, &err), ==,
                   SL_ERR_FORMAT);
  g_assert_cmpint (
      sl_classifier_predict_pixels (fx.classifier, NULL, 4, 4, 0, SL_PIXEL_GRAY8, &p, NULL, &err),
      ==, SL_ERR_INVALID);
  g_assert_cmpint (
      sl_classifier_predict_pixels (fx.classifier, px, 0, 4, 0, SL_PIXEL_GRAY8, &p, NULL, &err), ==,
      SL_ERR_INVALID);
  g_assert_cmpint (
      sl_classifier_predict_pixels (fx.classifier, px, 4, 4, 2, SL_PIXEL_GRAY8, &p, NULL, &err), ==,
      SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "stride"));
  g_assert_cmpint (
      sl_classifier_predict_pixels (fx.classifier, px, 2, 2, 5, SL_PIXEL_GRAY16, &p, NULL, &err),
      ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_classifier_predict_pixels (fx.classifier, px, 2, 2, 0, (sl_pixel_format) 99,
                                                 &p, NULL, &err),
                   ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "pixel format"));
  p.struct_size = 0;
  g_assert_cmpint (
      sl_classifier_predict_pixels (fx.classifier, px, 4, 4, 0, SL_PIXEL_GRAY8, &p, NULL, &err), ==,
      SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "struct_size"));
}

/* An older caller's smaller struct is filled only as far as it reaches. */
static void
test_short_prediction_struct (void)
{
  struct
  {
    sl_prediction p;
    guint8 guard[8];
  } box;
  sl_error err = { 0 };
  guint8 px[28 * 28] = { 0 };
  size_t short_size = G_STRUCT_OFFSET (sl_prediction, label);

  if (!fixture_ready ())
    return;
  memset (&box, 0xab, sizeof box);
  box.p.struct_size = short_size;
  sl_assert_ok (sl_classifier_predict_pixels (fx.classifier, px, 28, 28, 0, SL_PIXEL_GRAY8, &box.p,
                                              NULL, &err),
                &err);
  g_assert_cmpint (box.p.struct_size, ==, short_size);
  g_assert_cmpint (box.p.class_index, >=, 0);
  for (size_t i = short_size; i < sizeof box; i++)
    g_assert_cmpint (((guint8 *) &box)[i], ==, 0xab);
}

static void
test_onnx_export_files (void)
{
  g_autofree char *onnx = NULL, *sidecar = NULL, *text = NULL;
  sl_error err = { 0 };

  if (!fixture_ready ())
    return;
  onnx = g_build_filename (fx.dir, "parts.onnx", NULL);
  sidecar = g_build_filename (fx.dir, "parts.json", NULL);
  sl_assert_ok (sl_classifier_export_onnx (fx.classifier, onnx, &err), &err);
  g_assert_true (g_file_test (onnx, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (sidecar, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"format\":\t\"sightline-onnx-sidecar\""));
  g_assert_nonnull (strstr (text, "\"gaussian-blur\""));
  g_assert_nonnull (strstr (text, "\"Sneaker\""));
  /* A failed export leaves the earlier pair alone. */
  g_assert_cmpint (sl_classifier_export_onnx (fx.classifier, "/nonexistent/dir/x.onnx", &err), !=,
                   SL_OK);
  g_assert_true (g_file_test (sidecar, G_FILE_TEST_IS_REGULAR));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/classifier/open-and-describe", test_open_and_describe);
  g_test_add_func ("/classifier/predict-file", test_predict_file_matches_reference);
  g_test_add_func ("/classifier/pixel-formats", test_pixel_formats_agree);
  g_test_add_func ("/classifier/encoded-and-batch", test_encoded_and_batch);
  g_test_add_func ("/classifier/top-k-and-threshold", test_top_k_and_threshold);
  g_test_add_func ("/classifier/concurrent", test_concurrent_predictions);
  g_test_add_func ("/classifier/bad-calls", test_bad_calls);
  g_test_add_func ("/classifier/device-option", test_device_option);
  g_test_add_func ("/classifier/short-struct", test_short_prediction_struct);
  g_test_add_func ("/classifier/onnx-export-files", test_onnx_export_files);
  status = g_test_run ();
  sl_classifier_free (fx.classifier);
  g_strfreev (fx.pngs);
  if (fx.dir != NULL)
    {
      g_autoptr (GDir) d = g_dir_open (fx.dir, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (fx.dir, name, NULL);
          g_remove (path);
        }
      g_rmdir (fx.dir);
    }
  g_free (fx.model_path);
  g_free (fx.dir);
  return status;
}
