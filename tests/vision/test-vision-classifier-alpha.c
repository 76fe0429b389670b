/* test-vision-classifier-alpha.c: the alpha rule travels in the .slmodel and the ONNX sidecar, and every way of predicting applies it. */
#include "sl-test-support.h"
#include "vision-test-util.h"

#include "sl-classifier.h"

#include <cjson/cJSON.h>
#include <string.h>

typedef struct
{
  char *dir;
  char *model_path;
  sl_idx images;
} Fixture;

/* Fashion-MNIST image i as a black cut-out: the garment lives in the alpha
 * channel, every stored colour is black, as masks and symbolic icons are. */
static void
cut_out (const sl_idx *images, int i, sl_image *rgba)
{
  sl_image gray;
  sl_error err = { 0 };

  vt_fmnist_image (images, i, &gray);
  vt_assert_ok (sl_image_alloc (rgba, gray.width, gray.height, 4, 8, &err), &err);
  for (int y = 0; y < gray.height; y++)
    for (int x = 0; x < gray.width; x++)
      rgba->data[y * rgba->stride + x * 4 + 3] = gray.data[y * gray.stride + x];
}

/* A copy of the fixture's model whose pipeline has `rule`. */
static char *
save_with_rule (Fixture *f, sl_classifier *c, const sl_alpha_rule *rule, const char *name)
{
  char *path = g_build_filename (f->dir, name, NULL);
  sl_pipeline *p;
  sl_slmodel_info info;
  sl_error err = { 0 };

  vt_assert_ok (sl_pipeline_copy (sl_classifier_pipeline (c), &p, &err), &err);
  vt_assert_ok (sl_pipeline_set_alpha (p, rule, &err), &err);
  sl_slmodel_info_init (&info);
  info.labels = sl_test_fmnist_labels;
  vt_assert_ok (sl_slmodel_save (sl_classifier_model (c), p, &info, path, &err), &err);
  sl_pipeline_free (p);
  return path;
}

static void
predict_pixels (sl_classifier *c, const sl_image *img, sl_pixel_format format, float *probs)
{
  sl_prediction p;
  sl_error err = { 0 };

  sl_prediction_init (&p);
  vt_assert_ok (sl_classifier_predict_pixels (c, img->data, img->width, img->height, img->stride,
                                              format, &p, probs, &err),
                &err);
}

static void
test_rule_travels_and_applies (void)
{
  Fixture f = { 0 };
  const sl_alpha_rule white = { SL_ALPHA_COMPOSITE, { 255, 255, 255 } };
  const sl_alpha_rule mask = { SL_ALPHA_MASK, { 200, 200, 200 } };
  const sl_alpha_rule drop = { SL_ALPHA_DROP, { 255, 255, 255 } };
  g_autofree char *white_path = NULL, *mask_path = NULL, *drop_path = NULL, *png = NULL;
  g_autofree char *onnx = NULL, *sidecar_path = NULL, *sidecar = NULL;
  sl_classifier *base, *c;
  sl_alpha_rule got;
  sl_image rgba, flat, bgra;
  sl_error err = { 0 };
  float from_rgba[10], from_flat[10], other[10];

  if (!vt_fmnist (4, &f.images, NULL))
    return;
  f.dir = vt_tmpdir ();
  f.model_path = g_build_filename (f.dir, "base.slmodel", NULL);
  if (!sl_test_make_slmodel ("seed-cnn", 3, f.model_path))
    return;
  vt_assert_ok (sl_classifier_open (f.model_path, NULL, &base, &err), &err);
  cut_out (&f.images, 1, &rgba);

  /* Composite onto white, through the file: raw RGBA, BGRA, an RGBA PNG
   * and the image flattened beforehand all give the same probabilities. */
  white_path = save_with_rule (&f, base, &white, "white.slmodel");
  vt_assert_ok (sl_classifier_open (white_path, NULL, &c, &err), &err);
  sl_pipeline_get_alpha (sl_classifier_pipeline (c), &got);
  g_assert_cmpint (got.mode, ==, SL_ALPHA_COMPOSITE);
  g_assert_nonnull (strstr (sl_classifier_header_json (c), "\"composite\""));
  predict_pixels (c, &rgba, SL_PIXEL_RGBA8, from_rgba);
  vt_assert_ok (sl_image_flatten_alpha (&rgba, &white, &flat, &err), &err);
  g_assert_cmpint (flat.data[0], ==, 255); /* a transparent corner became white */
  predict_pixels (c, &flat, SL_PIXEL_RGB8, from_flat);
  g_assert_cmpmem (from_rgba, sizeof from_rgba, from_flat, sizeof from_flat);
  vt_assert_ok (sl_image_copy (&rgba, &bgra, &err), &err); /* black: swapping R and B is a no-op */
  predict_pixels (c, &bgra, SL_PIXEL_BGRA8, other);
  g_assert_cmpmem (from_rgba, sizeof from_rgba, other, sizeof other);
  png = g_build_filename (f.dir, "cut-out.png", NULL);
  vt_assert_ok (sl_image_save (&rgba, png, &err), &err);
  {
    sl_prediction p;

    sl_prediction_init (&p);
    vt_assert_ok (sl_classifier_predict_file (c, png, &p, other, &err), &err);
    g_assert_cmpmem (from_rgba, sizeof from_rgba, other, sizeof other);
  }

  /* The ONNX sidecar states the rule and the 16-bit conversion. */
  onnx = g_build_filename (f.dir, "white.onnx", NULL);
  vt_assert_ok (sl_classifier_export_onnx (c, onnx, &err), &err);
  sidecar_path = g_build_filename (f.dir, "white.json", NULL);
  g_assert_true (g_file_get_contents (sidecar_path, &sidecar, NULL, NULL));
  {
    cJSON *doc = cJSON_Parse (sidecar);
    cJSON *input = cJSON_GetObjectItem (doc, "input");
    cJSON *alpha = cJSON_GetObjectItem (input, "alpha");
    const char *resize;

    g_assert_nonnull (alpha);
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (alpha, "mode")), ==, "composite");
    g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (alpha, "background")), ==, 3);
    g_assert_nonnull (strstr (cJSON_GetStringValue (cJSON_GetObjectItem (input, "depth_16_to_8")),
                              "round (v / 257)"));
    /* The final resize is stated for every shape, not just "area when shrinking". */
    resize = cJSON_GetStringValue (cJSON_GetObjectItem (input, "resize"));
    g_assert_nonnull (resize);
    g_assert_nonnull (strstr (resize, "INTER_AREA when neither side grows"));
    cJSON_Delete (doc);
  }
  sl_classifier_free (c);

  /* A mask rule gives other inputs, so other probabilities. */
  mask_path = save_with_rule (&f, base, &mask, "mask.slmodel");
  vt_assert_ok (sl_classifier_open (mask_path, NULL, &c, &err), &err);
  sl_pipeline_get_alpha (sl_classifier_pipeline (c), &got);
  g_assert_cmpint (got.mode, ==, SL_ALPHA_MASK);
  g_assert_cmpint (got.background[0], ==, 200);
  predict_pixels (c, &rgba, SL_PIXEL_RGBA8, other);
  g_assert_true (memcmp (other, from_rgba, sizeof other) != 0);
  sl_classifier_free (c);

  /* A model without the rule (every model trained before it) keeps seeing
   * the stored colour: RGBA predicts as the same pixels without alpha. */
  drop_path = save_with_rule (&f, base, &drop, "drop.slmodel");
  vt_assert_ok (sl_classifier_open (drop_path, NULL, &c, &err), &err);
  g_assert_null (strstr (sl_classifier_header_json (c), "alpha"));
  predict_pixels (c, &rgba, SL_PIXEL_RGBA8, from_rgba);
  {
    sl_image black;

    vt_assert_ok (sl_image_alloc (&black, rgba.width, rgba.height, 3, 8, &err), &err);
    predict_pixels (c, &black, SL_PIXEL_RGB8, from_flat);
    sl_image_clear (&black);
  }
  g_assert_cmpmem (from_rgba, sizeof from_rgba, from_flat, sizeof from_flat);
  sl_classifier_free (c);

  sl_classifier_free (base);
  sl_image_clear (&rgba);
  sl_image_clear (&flat);
  sl_image_clear (&bgra);
  sl_idx_clear (&f.images);
  vt_rmdir (f.dir);
  g_free (f.dir);
  g_free (f.model_path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/classifier/alpha-rule", test_rule_travels_and_applies);
  return g_test_run ();
}
