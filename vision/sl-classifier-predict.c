/* sl-classifier-predict.c: predicting with a classifier: one image, camera frames, batches, the k best.
 *
 * A classifier runs its model once per batch; an anomaly model or a
 * classifier with an anomaly gate takes its scorer's layer outputs from that
 * same pass (sl_model_predict_layers) and scores them. */
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-image-private.h"
#include "sl-model-private.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The size of the first released sl_frame: callers built against that header pass it. */
#define FRAME_V1_SIZE (offsetof (sl_frame, format) + sizeof (sl_pixel_format))

sl_status
_sl_classifier_check_call (sl_classifier *c, const sl_prediction *out, sl_error *err)
{
  if (c == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "no classifier (open a model first)");
  if (out == NULL || out->struct_size < sizeof (size_t) + sizeof (int32_t))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the prediction's struct_size is not set (use sl_prediction_init)");
  return SL_OK;
}

void
_sl_classifier_from_probs (const sl_classifier *c, const float *probs, sl_prediction *p)
{
  int best = 0;

  for (int k = 1; k < c->classes; k++)
    if (probs[k] > probs[best])
      best = k;
  p->class_index = best;
  p->confidence = probs[best];
  p->label = c->contents.labels[best];
  p->rejected = probs[best] < sl_classifier_get_reject_threshold (c);
}

sl_status
_sl_classifier_prepare (sl_classifier *c, _sl_context *ctx, int i, const sl_image *img,
                        sl_error *err)
{
  sl_image ready = { 0 };
  /* The open measured preprocessing on an image of the model's input size;
   * steps before a resize work on this one, which may be larger or shaped
   * so that a crop-to-fill resize enlarges it enormously. */
  sl_status st = _sl_classifier_check_image (c->pipeline, &c->cost, img, err);

  if (st == SL_OK)
    st = sl_pipeline_apply (c->pipeline, img, &ready, err);
  if (st == SL_OK)
    st = sl_pipeline_normalize (c->pipeline, &ready, ctx->x + (size_t) i * c->image_floats, err);
  sl_image_clear (&ready);
  return st;
}

/* The forward pass: probabilities (classifiers) and the scorer's layers (when
 * there is a scorer), in one pass. */
static sl_status
forward (sl_classifier *c, _sl_context *ctx, int n, float *p, sl_error *err)
{
  bool over;
  sl_status st;

  ctx->model->plan_limit = _sl_classifier_plan_limit (c, n, &over);
  if (c->contents.anomaly == NULL)
    st = sl_model_predict (ctx->model, ctx->x, n, p, err);
  else
    /* An anomaly model's head is not used: the pass stops at its deepest layer. */
    st = sl_model_predict_layers (ctx->model, ctx->x, n, c->kind == SL_SLMODEL_ANOMALY ? NULL : p,
                                  c->anomaly_layers, c->n_anomaly_layers, ctx->layer_outs, err);
  if (st == SL_ERR_LIMIT && err != NULL)
    {
      size_t len = strlen (err->message);

      /* One image over the limit happens only where the open could not know
       * the plan exactly (a GPU's convolution workspace). */
      snprintf (err->message + len, sizeof err->message - len,
                " (sl_classifier_options.max_memory)%s",
                n > 1 ? "; predict fewer images at once" : "");
    }
  return st;
}

sl_status
_sl_classifier_run (sl_classifier *c, _sl_context *ctx, int n, sl_prediction *out, size_t stride,
                    float *probs, float *anomaly_maps, sl_error *err)
{
  float *p = probs != NULL ? probs : ctx->probs;
  /* One threshold for the whole call, whatever another thread sets meanwhile. */
  float threshold = sl_classifier_get_anomaly_threshold (c);
  sl_status st = forward (c, ctx, n, p, err);

  if (st == SL_OK && c->contents.anomaly != NULL)
    st = _sl_classifier_score (c, ctx, n, anomaly_maps, err);
  if (st != SL_OK)
    return st;
  for (int i = 0; i < n; i++)
    {
      sl_prediction pred;
      float *pi = p + (size_t) i * c->classes;

      sl_prediction_init (&pred);
      if (c->kind != SL_SLMODEL_ANOMALY)
        _sl_classifier_from_probs (c, pi, &pred);
      if (c->contents.anomaly != NULL)
        _sl_classifier_judge (c, ctx->scores[i], threshold, &pred, probs != NULL ? pi : NULL);
      sl_prediction_store ((sl_prediction *) ((char *) out + i * stride), stride, &pred);
    }
  return SL_OK;
}

sl_status
sl_classifier_predict_image (sl_classifier *c, const sl_image *image, sl_prediction *out,
                             float *probs, sl_error *err)
{
  _sl_context *ctx = NULL;
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK && (image == NULL || image->data == NULL))
    st = sl_error_set (err, SL_ERR_INVALID, "no image to classify");
  if (st == SL_OK)
    st = _sl_classifier_context_acquire (c, 1, &ctx, err);
  if (st != SL_OK)
    return st;
  st = _sl_classifier_prepare (c, ctx, 0, image, err);
  if (st == SL_OK)
    st = _sl_classifier_run (c, ctx, 1, out, out->struct_size, probs, NULL, err);
  _sl_classifier_context_release (c, ctx);
  return st;
}

sl_status
sl_classifier_predict_pixels (sl_classifier *c, const void *pixels, int32_t width, int32_t height,
                              size_t stride, sl_pixel_format format, sl_prediction *out,
                              float *probs, sl_error *err)
{
  sl_image img;
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK)
    st = sl_frame_to_image (pixels, width, height, stride, format, c->max_pixels, "frame", &img,
                            err);
  if (st != SL_OK)
    return st;
  st = sl_classifier_predict_image (c, &img, out, probs, err);
  sl_image_clear (&img);
  return st;
}

sl_status
sl_classifier_predict_encoded (sl_classifier *c, const void *data, size_t size, sl_prediction *out,
                               float *probs, sl_error *err)
{
  sl_image img = { 0 };
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK)
    st = sl_image_decode (data, size, "image buffer", c->max_pixels, &img, err);
  if (st != SL_OK)
    return st;
  st = sl_classifier_predict_image (c, &img, out, probs, err);
  sl_image_clear (&img);
  return st;
}

sl_status
sl_classifier_predict_file (sl_classifier *c, const char *path, sl_prediction *out, float *probs,
                            sl_error *err)
{
  sl_image img = { 0 };
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK)
    st = sl_image_load (path, c->max_pixels, &img, err);
  if (st != SL_OK)
    return st;
  st = sl_classifier_predict_image (c, &img, out, probs, err);
  if (st != SL_OK)
    sl_error_prefix (err, "%s", path);
  sl_image_clear (&img);
  return st;
}

/* Checks that n inputs fit the memory limit, then borrows a context for n images. */
static sl_status
batch_begin (sl_classifier *c, int32_t n, _sl_context **ctx, sl_error *err)
{
  bool over;

  /* The inputs of n images are allocated before the model plans: check them first. */
  _sl_classifier_plan_limit (c, n, &over);
  if (over)
    {
      char need[24], limit[24];

      _sl_format_bytes ((uint64_t) n * (uint64_t) c->cost.input_bytes, need, sizeof need);
      _sl_format_bytes ((uint64_t) c->cost.max_memory, limit, sizeof limit);
      return sl_error_set (err, SL_ERR_LIMIT,
                           "a batch of %d images needs %s for its inputs alone; the limit is "
                           "%s (sl_classifier_options.max_memory); predict fewer images at once",
                           n, need, limit);
    }
  return _sl_classifier_context_acquire (c, n, ctx, err);
}

sl_status
sl_classifier_predict_batch (sl_classifier *c, const sl_frame *frames, int32_t n,
                             sl_prediction *out, float *probs, sl_error *err)
{
  _sl_context *ctx = NULL;
  size_t frame_stride;
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK && (n < 0 || (n > 0 && frames == NULL)))
    st = sl_error_set (err, SL_ERR_INVALID, "a batch needs n >= 0 frames");
  if (st != SL_OK || n == 0)
    return st;
  frame_stride = frames[0].struct_size;
  if (frame_stride < FRAME_V1_SIZE)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the frames' struct_size is not set (use sl_frame_init)");
  st = batch_begin (c, n, &ctx, err);
  if (st != SL_OK)
    return st;
  for (int i = 0; i < n && st == SL_OK; i++)
    {
      sl_frame f;
      char what[32];
      sl_image img;

      /* A frame from an older header is shorter: copy what it has over the defaults. */
      sl_frame_init (&f);
      memcpy (&f, (const char *) frames + i * frame_stride,
              frame_stride < sizeof f ? frame_stride : sizeof f);

      snprintf (what, sizeof what, "frame %d", i);
      st = sl_frame_to_image (f.pixels, f.width, f.height, f.stride, f.format, c->max_pixels, what,
                              &img, err);
      if (st != SL_OK)
        break;
      st = _sl_classifier_prepare (c, ctx, i, &img, err);
      if (st != SL_OK)
        sl_error_prefix (err, "%s", what);
      sl_image_clear (&img);
    }
  if (st == SL_OK)
    st = _sl_classifier_run (c, ctx, n, out, out->struct_size, probs, NULL, err);
  _sl_classifier_context_release (c, ctx);
  return st;
}

sl_status
sl_classifier_predict_images (sl_classifier *c, const sl_image *images, int32_t n,
                              sl_prediction *out, float *probs, sl_error *err)
{
  _sl_context *ctx = NULL;
  sl_status st = _sl_classifier_check_call (c, out, err);

  if (st == SL_OK && (n < 0 || (n > 0 && images == NULL)))
    st = sl_error_set (err, SL_ERR_INVALID, "a batch needs n >= 0 images");
  for (int i = 0; i < n && st == SL_OK; i++)
    if (images[i].data == NULL)
      st = sl_error_set (err, SL_ERR_INVALID, "image %d: no image to classify", i);
  if (st != SL_OK || n == 0)
    return st;
  st = batch_begin (c, n, &ctx, err);
  if (st != SL_OK)
    return st;
  for (int i = 0; i < n && st == SL_OK; i++)
    if ((st = _sl_classifier_prepare (c, ctx, i, &images[i], err)) != SL_OK)
      sl_error_prefix (err, "image %d", i);
  if (st == SL_OK)
    st = _sl_classifier_run (c, ctx, n, out, out->struct_size, probs, NULL, err);
  _sl_classifier_context_release (c, ctx);
  return st;
}

int32_t
sl_classifier_top_k (const sl_classifier *c, const float *probs, int32_t k, sl_prediction *out)
{
  size_t stride;
  int filled = 0;

  if (c == NULL || probs == NULL || out == NULL || k <= 0
      || out->struct_size < sizeof (size_t) + sizeof (int32_t))
    return 0;
  stride = out->struct_size;
  if (k > c->classes)
    k = c->classes;
  for (; filled < k; filled++)
    {
      int best = -1;
      float threshold = sl_classifier_get_reject_threshold (c);
      sl_prediction p;

      sl_prediction_init (&p);
      /* The best class not yet taken: ties go to the lower index, as in predict. */
      for (int j = 0; j < c->classes; j++)
        {
          bool taken = false;
          for (int r = 0; r < filled && !taken; r++)
            taken = ((const sl_prediction *) ((const char *) out + r * stride))->class_index == j;
          if (!taken && (best < 0 || probs[j] > probs[best]))
            best = j;
        }
      p.class_index = best;
      p.confidence = probs[best];
      p.label = c->contents.labels[best];
      p.rejected = probs[best] < threshold;
      sl_prediction_store ((sl_prediction *) ((char *) out + filled * stride), stride, &p);
    }
  return filled;
}
