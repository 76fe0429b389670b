/* test-runtime-maps.c: Grad-CAM maps at the input size, the preprocessed image they lie over, and heatmap overlays pixel by pixel. */
#include "runtime-anomaly-util.h"
#include "sl-test-support.h"

#include <math.h>
#include <string.h>

#define CLASSES 4
#define SIDE    RT_TINY_SIZE
#define PIXELS  (SIDE * SIDE)

static const char *const labels[CLASSES] = { "a", "b", "c", "d" };

/* Bilinear resize with half-pixel centres (torch align_corners=False),
 * written out independently of the runtime's. */
static void
reference_resize (const float *src, int sh, int sw, float *dst, int dh, int dw)
{
  for (int y = 0; y < dh; y++)
    for (int x = 0; x < dw; x++)
      {
        double sy = fmax ((y + 0.5) * sh / dh - 0.5, 0.0);
        double sx = fmax ((x + 0.5) * sw / dw - 0.5, 0.0);
        int y0 = (int) sy, x0 = (int) sx;
        int y1 = y0 + 1 < sh ? y0 + 1 : sh - 1, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
        double fy = sy - y0, fx = sx - x0;

        dst[y * dw + x]
            = (float) ((1 - fy) * ((1 - fx) * src[y0 * sw + x0] + fx * src[y0 * sw + x1])
                       + fy * ((1 - fx) * src[y1 * sw + x0] + fx * src[y1 * sw + x1]));
      }
}

static sl_classifier *
tiny_classifier (void)
{
  sl_classifier *c = NULL;
  sl_error err = { 0 };

  sl_assert_ok (sl_classifier_new (rt_tiny_model (CLASSES, 21), rt_tiny_pipeline (), labels,
                                   CLASSES, NULL, &c, &err),
                &err);
  return c;
}

/* The runtime's Grad-CAM is the engine's layer map resized to the input; its
 * prediction is the plain prediction's. */
static void
check_grad_cam (sl_classifier *c, sl_model *ref, const char *path, int heatmap_class, int layer)
{
  g_autofree float *x = rt_tiny_input (path);
  g_autofree float *map = g_new (float, PIXELS), *expect = g_new (float, PIXELS), *grid = NULL;
  sl_prediction_maps maps;
  sl_prediction with, plain;
  float probs[CLASSES], plain_probs[CLASSES];
  int lc, lh, lw, use_layer = layer >= 0 ? layer : sl_model_default_cam_layer (ref);
  sl_error err = { 0 };

  sl_prediction_maps_init (&maps);
  maps.class_heatmap = map;
  maps.heatmap_class = heatmap_class;
  maps.heatmap_layer = layer;
  sl_prediction_init (&with);
  sl_prediction_init (&plain);
  sl_assert_ok (sl_classifier_predict_file_maps (c, path, &with, probs, &maps, &err), &err);
  sl_assert_ok (sl_classifier_predict_file (c, path, &plain, plain_probs, &err), &err);
  g_assert_cmpint (with.class_index, ==, plain.class_index);
  g_assert_cmpfloat_with_epsilon (with.confidence, plain.confidence, 1e-5);
  g_assert_cmpfloat (sl_test_rel_error (probs, plain_probs, CLASSES, 1e-6), <, 1e-5);

  g_assert_cmpint (use_layer, >=, 0);
  sl_assert_ok (sl_model_layer_shape (ref, use_layer, &lc, &lh, &lw, &err), &err);
  grid = g_new (float, lh *lw);
  sl_assert_ok (sl_model_class_heatmap (ref, x,
                                        heatmap_class >= 0 ? heatmap_class : plain.class_index,
                                        use_layer, NULL, grid, &err),
                &err);
  reference_resize (grid, lh, lw, expect, SIDE, SIDE);
  for (int i = 0; i < PIXELS; i++)
    {
      g_assert_cmpfloat (map[i], >=, 0.0f);
      g_assert_cmpfloat (map[i], <=, 1.0f);
      g_assert_cmpfloat_with_epsilon (map[i], expect[i], 1e-5);
    }
}

static void
test_grad_cam (void)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_classifier *c = tiny_classifier ();
  sl_model *ref = rt_tiny_model (CLASSES, 21);

  /* The default layer is the last with a spatial extent: r3 (8 x 8). */
  g_assert_cmpint (sl_model_default_cam_layer (ref), ==, sl_model_find_layer (ref, "r3"));
  check_grad_cam (c, ref, d->good[0], -1, -1);
  check_grad_cam (c, ref, d->defect[1], -1, -1);
  /* Another class and another layer (r2, 16 x 16). */
  check_grad_cam (c, ref, d->good[0], 2, sl_model_find_layer (ref, "r2"));
  sl_model_free (ref);
  sl_classifier_free (c);
}

/* Maps that do not apply are left alone; bad requests get errors. */
static void
test_maps_requests (void)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_classifier *c = tiny_classifier ();
  g_autofree float *map = g_new (float, PIXELS), *anomaly = g_new (float, PIXELS);
  sl_prediction_maps maps;
  sl_prediction p;
  sl_error err = { 0 };

  for (int i = 0; i < PIXELS; i++)
    anomaly[i] = -7.0f;
  sl_prediction_maps_init (&maps);
  g_assert_cmpint (maps.heatmap_class, ==, -1);
  g_assert_cmpint (maps.heatmap_layer, ==, -1);
  maps.anomaly_map = anomaly; /* a classifier without a gate has none */
  maps.class_heatmap = map;
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file_maps (c, d->good[0], &p, NULL, &maps, &err), &err);
  for (int i = 0; i < PIXELS; i++)
    g_assert_cmpfloat (anomaly[i], ==, -7.0f);

  maps.heatmap_class = CLASSES;
  g_assert_cmpint (sl_classifier_predict_file_maps (c, d->good[0], &p, NULL, &maps, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "heatmap_class"));
  maps.heatmap_class = -1;
  maps.heatmap_layer = 1000;
  g_assert_cmpint (sl_classifier_predict_file_maps (c, d->good[0], &p, NULL, &maps, &err), !=,
                   SL_OK);
  maps.struct_size = 0;
  maps.heatmap_layer = -1;
  g_assert_cmpint (sl_classifier_predict_file_maps (c, d->good[0], &p, NULL, &maps, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "sl_prediction_maps_init"));
  /* No maps at all: a plain prediction. */
  sl_assert_ok (sl_classifier_predict_file_maps (c, d->good[0], &p, NULL, NULL, &err), &err);
  g_assert_cmpint (p.class_index, >=, 0);
  sl_classifier_free (c);
}

/* An anomaly model leaves the class heatmap alone. */
static void
test_anomaly_model_maps (void)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_model *model = rt_tiny_model (CLASSES, 21);
  sl_anomaly *scorer = rt_fit_scorer (model, d->fit);
  g_autofree float *cam = g_new (float, PIXELS), *amap = g_new (float, PIXELS);
  sl_classifier *c = NULL;
  sl_prediction_maps maps;
  sl_prediction p;
  sl_error err = { 0 };

  sl_assert_ok (sl_classifier_new_anomaly (model, rt_tiny_pipeline (), scorer, NULL, &c, &err),
                &err);
  for (int i = 0; i < PIXELS; i++)
    cam[i] = amap[i] = -3.0f;
  sl_prediction_maps_init (&maps);
  maps.class_heatmap = cam;
  maps.anomaly_map = amap;
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_file_maps (c, d->far[1], &p, NULL, &maps, &err), &err);
  for (int i = 0; i < PIXELS; i++)
    {
      g_assert_cmpfloat (cam[i], ==, -3.0f);
      g_assert_cmpfloat (amap[i], >=, 0.0f);
    }
  sl_classifier_free (c);
}

static void
test_preprocess (void)
{
  const RtAnomalyData *d = rt_anomaly_data ();
  sl_classifier *c = tiny_classifier ();
  sl_image img = { 0 }, out = { 0 };
  sl_error err = { 0 };

  sl_assert_ok (sl_image_load (d->good[0], 0, &img, &err), &err);
  g_assert_cmpint (img.width, ==, 48);
  sl_assert_ok (sl_classifier_preprocess (c, &img, &out, &err), &err);
  g_assert_cmpint (out.width, ==, SIDE);
  g_assert_cmpint (out.height, ==, SIDE);
  g_assert_cmpint (out.channels, ==, 3);
  g_assert_cmpint (out.depth, ==, 8);
  sl_image_clear (&out);
  g_assert_cmpint (sl_classifier_preprocess (c, NULL, &out, &err), ==, SL_ERR_INVALID);
  g_assert_null (out.data);
  sl_image_clear (&img);
  sl_image_clear (&out);
  sl_classifier_free (c);
}

static const guint8 *
pixel (const sl_image *img, int x, int y)
{
  return (const guint8 *) img->data + (gsize) y * img->stride + (gsize) x * img->channels;
}

static void
test_overlay (void)
{
  enum
  {
    W = 5,
    H = 2
  };
  guint8 gray[W * H], rgb[W * H * 3];
  float map[W * H] = { 0.0f, 1.0f, 2.0f, 3.0f, NAN, -5.0f, 2.5f, 1.5f, 99.0f, 1.2f };
  sl_image base = { 0 }, color = { 0 }, out = { 0 }, wide = { 0 };
  sl_error err = { 0 };
  const float opacity = 0.6f;

  memset (gray, 100, sizeof gray);
  for (int i = 0; i < W * H; i++)
    {
      rgb[3 * i] = 10;
      rgb[3 * i + 1] = 200;
      rgb[3 * i + 2] = 30;
    }
  sl_assert_ok (sl_image_borrow (&base, gray, W, H, 1, 8, W, &err), &err);
  sl_assert_ok (sl_image_borrow (&color, rgb, W, H, 3, 8, 3 * W, &err), &err);

  /* lo = 1, hi = 3: at or below lo (and NAN) the image shows as it is. */
  sl_assert_ok (sl_heatmap_overlay (&base, map, 1.0f, 3.0f, opacity, &out, &err), &err);
  g_assert_cmpint (out.width, ==, W);
  g_assert_cmpint (out.channels, ==, 3);
  g_assert_cmpint (out.depth, ==, 8);
  for (int k = 0; k < 3; k++)
    {
      g_assert_cmpint (pixel (&out, 0, 0)[k], ==, 100); /* 0: below lo */
      g_assert_cmpint (pixel (&out, 1, 0)[k], ==, 100); /* 1: lo */
      g_assert_cmpint (pixel (&out, 4, 0)[k], ==, 100); /* NAN */
      g_assert_cmpint (pixel (&out, 0, 1)[k], ==, 100); /* -5 */
    }
  /* At hi and above: opacity x red over the gray. */
  g_assert_cmpint (pixel (&out, 3, 0)[0], >, 100 + 0.5 * opacity * (200 - 100));
  g_assert_cmpint (pixel (&out, 3, 0)[1], <, 100 - 0.5 * opacity * 60);
  g_assert_cmpint (pixel (&out, 3, 0)[2], <, 100 - 0.5 * opacity * 60);
  g_assert_cmpmem (pixel (&out, 3, 0), 3, pixel (&out, 3, 1), 3); /* 3 and 99 alike */
  /* Opacity rises with the value: the difference from the image grows. */
  {
    int prev = 0;
    const int xs[] = { 4, 2, 2, 1, 3 }; /* 1.2, 1.5, 2.0, 2.5, 3.0 */
    const int ys[] = { 1, 1, 0, 1, 0 };

    for (int i = 0; i < 5; i++)
      {
        const guint8 *px = pixel (&out, xs[i], ys[i]);
        int diff = abs (px[0] - 100) + abs (px[1] - 100) + abs (px[2] - 100);

        g_assert_cmpint (diff, >, prev);
        prev = diff;
      }
  }
  sl_image_clear (&out);

  /* Over colour, the image's own channels show through where the map is low. */
  sl_assert_ok (sl_heatmap_overlay (&color, map, 1.0f, 3.0f, opacity, &out, &err), &err);
  g_assert_cmpint (pixel (&out, 0, 0)[0], ==, 10);
  g_assert_cmpint (pixel (&out, 0, 0)[1], ==, 200);
  g_assert_cmpint (pixel (&out, 0, 0)[2], ==, 30);
  sl_image_clear (&out);
  /* Opacity 0 draws nothing. */
  sl_assert_ok (sl_heatmap_overlay (&color, map, 1.0f, 3.0f, 0.0f, &out, &err), &err);
  for (int y = 0; y < H; y++)
    g_assert_cmpmem (pixel (&out, 0, y), 3 * W, rgb + 3 * W * y, 3 * W);
  sl_image_clear (&out);

  /* Bad ranges, opacities and images. */
  g_assert_cmpint (sl_heatmap_overlay (&base, map, 2.0f, 2.0f, opacity, &out, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "lo < hi"));
  g_assert_cmpint (sl_heatmap_overlay (&base, map, 0.0f, INFINITY, opacity, &out, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_heatmap_overlay (&base, map, 0.0f, 1.0f, 1.5f, &out, &err), ==,
                   SL_ERR_INVALID);
  g_assert_null (out.data);
  sl_assert_ok (sl_image_alloc (&wide, W, H, 1, 16, &err), &err);
  g_assert_cmpint (sl_heatmap_overlay (&wide, map, 0.0f, 1.0f, opacity, &out, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "8-bit"));
  sl_image_clear (&wide);
}

static void
test_map_range (void)
{
  float map[4] = { 0.5f, 4.0f, NAN, 2.0f }, flat[3] = { 2.0f, 2.0f, 2.0f };
  float lo, hi;

  sl_anomaly_map_range (2.0f, map, 4, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 1.0f);
  g_assert_cmpfloat (hi, ==, 3.0f);
  /* Without a finite threshold: the map's own range, NAN ignored. */
  sl_anomaly_map_range (INFINITY, map, 4, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.5f);
  g_assert_cmpfloat (hi, ==, 4.0f);
  sl_anomaly_map_range (NAN, map, 4, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.5f);
  sl_anomaly_map_range (0.0f, flat, 3, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 2.0f);
  g_assert_cmpfloat (hi, >, lo);
  sl_anomaly_map_range (NAN, NULL, 0, &lo, &hi);
  g_assert_cmpfloat (lo, <, hi);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/runtime/maps/grad-cam", test_grad_cam);
  g_test_add_func ("/runtime/maps/requests", test_maps_requests);
  g_test_add_func ("/runtime/maps/anomaly-model", test_anomaly_model_maps);
  g_test_add_func ("/runtime/maps/preprocess", test_preprocess);
  g_test_add_func ("/runtime/maps/overlay", test_overlay);
  g_test_add_func ("/runtime/maps/map-range", test_map_range);
  return g_test_run ();
}
