/* sl-classifier-maps.c: predicting with maps: the anomaly map and Grad-CAM at the model's input size, and the image they lie over.
 *
 * The anomaly map comes from the same pass as the prediction (the scorer
 * upsamples and smooths it). Grad-CAM needs a backward pass: a classifier
 * without a gate takes its prediction from the Grad-CAM pass itself; a gated
 * one predicts first (the gate needs its layers) and then explains the class
 * it chose. The engine's map has the layer's grid; it is resized bilinearly
 * with half-pixel centres, as the anomaly map is, to lie over the input. */
#include "sl-anomaly-private.h"
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-image-private.h"
#include "sl-model-private.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAPS_V1_SIZE (offsetof (sl_prediction_maps, heatmap_layer) + sizeof (int32_t))

void
sl_prediction_maps_init (sl_prediction_maps *maps)
{
  memset (maps, 0, sizeof *maps);
  maps->struct_size = sizeof *maps;
  maps->heatmap_class = -1;
  maps->heatmap_layer = -1;
}

/* Grad-CAM of class_index (-1: the predicted one) at the maps' layer, resized
 * into maps->class_heatmap; probs (or NULL) receives the class probabilities. */
static sl_status
class_heatmap (sl_classifier *c, _sl_context *ctx, int class_index, const sl_prediction_maps *maps,
               float *probs, sl_error *err)
{
  int layer = maps->heatmap_layer >= 0 ? maps->heatmap_layer
                                       : sl_model_default_cam_layer (c->contents.model);
  int lc, lh, lw, mc, mh, mw;
  float *grid;
  sl_status st;

  if (layer < 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "this model has no layer with a spatial output before its head, so it "
                         "has no class heatmap");
  st = sl_model_layer_shape (c->contents.model, layer, &lc, &lh, &lw, err);
  if (st != SL_OK)
    return st;
  grid = malloc (sizeof (float) * (size_t) lh * lw);
  if (grid == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for a class heatmap");
  st = sl_model_class_heatmap (ctx->model, ctx->x, class_index, layer, probs, grid, err);
  if (st == SL_OK)
    {
      sl_model_input_shape (c->contents.model, &mc, &mh, &mw);
      _sl_anomaly_resize_bilinear (grid, lh, lw, maps->class_heatmap, mh, mw);
      /* Interpolating values in 0 .. 1 stays in 0 .. 1 but for rounding. */
      for (size_t i = 0; i < (size_t) mh * mw; i++)
        maps->class_heatmap[i] = fminf (fmaxf (maps->class_heatmap[i], 0.0f), 1.0f);
    }
  free (grid);
  return st;
}

/* A classifier without a gate whose Grad-CAM follows the predicted class:
 * one forward and backward pass gives both. */
static sl_status
predict_by_heatmap (sl_classifier *c, _sl_context *ctx, sl_prediction *out, float *probs,
                    const sl_prediction_maps *maps, sl_error *err)
{
  float *p = probs != NULL ? probs : ctx->probs;
  bool over;
  sl_prediction pred;
  sl_status st;

  ctx->model->plan_limit = _sl_classifier_plan_limit (c, 1, &over);
  st = class_heatmap (c, ctx, -1, maps, p, err);
  if (st != SL_OK)
    return st;
  sl_prediction_init (&pred);
  _sl_classifier_from_probs (c, p, &pred);
  sl_prediction_store (out, out->struct_size, &pred);
  return SL_OK;
}

sl_status
sl_classifier_predict_image_maps (sl_classifier *c, const sl_image *image, sl_prediction *out,
                                  float *probs, sl_prediction_maps *maps, sl_error *err)
{
  sl_prediction_maps m;
  _sl_context *ctx = NULL;
  bool want_anomaly, want_cam;
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK && maps != NULL && maps->struct_size < MAPS_V1_SIZE)
    st = sl_error_set (err, SL_ERR_INVALID,
                       "the maps' struct_size is not set (use sl_prediction_maps_init)");
  if (st == SL_OK && (image == NULL || image->data == NULL))
    st = sl_error_set (err, SL_ERR_INVALID, "no image to classify");
  if (st != SL_OK)
    return st;
  sl_prediction_maps_init (&m);
  if (maps != NULL)
    memcpy (&m, maps, maps->struct_size < sizeof m ? maps->struct_size : sizeof m);
  want_anomaly = m.anomaly_map != NULL && c->contents.anomaly != NULL;
  want_cam = m.class_heatmap != NULL && c->kind == SL_SLMODEL_CLASSIFIER;
  if (want_cam && (m.heatmap_class < -1 || m.heatmap_class >= c->classes))
    return sl_error_set (err, SL_ERR_INVALID,
                         "heatmap_class %d is not a class of this model (-1 for the predicted "
                         "class, or 0 .. %d)",
                         m.heatmap_class, c->classes - 1);
  st = _sl_classifier_context_acquire (c, 1, &ctx, err);
  if (st != SL_OK)
    return st;
  st = _sl_classifier_prepare (c, ctx, 0, image, err);
  if (st == SL_OK && want_cam && c->contents.anomaly == NULL && m.heatmap_class < 0)
    st = predict_by_heatmap (c, ctx, out, probs, &m, err);
  else if (st == SL_OK)
    {
      st = _sl_classifier_run (c, ctx, 1, out, out->struct_size, probs,
                               want_anomaly ? m.anomaly_map : NULL, err);
      if (st == SL_OK && want_cam)
        st = class_heatmap (c, ctx, m.heatmap_class >= 0 ? m.heatmap_class : out->class_index, &m,
                            NULL, err);
    }
  _sl_classifier_context_release (c, ctx);
  return st;
}

sl_status
sl_classifier_predict_file_maps (sl_classifier *c, const char *path, sl_prediction *out,
                                 float *probs, sl_prediction_maps *maps, sl_error *err)
{
  sl_image img = { 0 };
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK)
    st = sl_image_load (path, c->max_pixels, &img, err);
  if (st != SL_OK)
    return st;
  st = sl_classifier_predict_image_maps (c, &img, out, probs, maps, err);
  if (st != SL_OK)
    sl_error_prefix (err, "%s", path);
  sl_image_clear (&img);
  return st;
}

sl_status
sl_classifier_predict_pixels_maps (sl_classifier *c, const void *pixels, int32_t width,
                                   int32_t height, size_t stride, sl_pixel_format format,
                                   sl_prediction *out, float *probs, sl_prediction_maps *maps,
                                   sl_error *err)
{
  sl_image img;
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK)
    st = sl_frame_to_image (pixels, width, height, stride, format, c->max_pixels, "frame", &img,
                            err);
  if (st != SL_OK)
    return st;
  st = sl_classifier_predict_image_maps (c, &img, out, probs, maps, err);
  sl_image_clear (&img);
  return st;
}

sl_status
sl_classifier_preprocess (const sl_classifier *c, const sl_image *image, sl_image *out,
                          sl_error *err)
{
  sl_status st;

  if (out != NULL)
    memset (out, 0, sizeof *out);
  if (c == NULL || image == NULL || image->data == NULL || out == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_classifier_preprocess needs a classifier, an image and a place for "
                         "the result");
  /* The same limits as a prediction of this image. */
  st = _sl_classifier_check_image (c->pipeline, &c->cost, image, err);
  if (st == SL_OK)
    st = sl_pipeline_apply (c->pipeline, image, out, err);
  return st;
}
