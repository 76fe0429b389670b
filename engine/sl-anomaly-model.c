/* sl-anomaly-model.c: PatchCore step 1, fitting and scoring from images through the model's layer outputs. */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"
#include "sl-model-private.h"

#include <stdlib.h>

/* Images per forward pass: the layer outputs of a chunk are held at once. */
#define CHUNK 8

typedef struct
{
  float *outs[SL_ANOMALY_MAX_LAYERS];
  int capacity;
} layer_buffers;

static void
buffers_clear (layer_buffers *b)
{
  for (int k = 0; k < SL_ANOMALY_MAX_LAYERS; k++)
    free (b->outs[k]);
}

static sl_status
buffers_ready (layer_buffers *b, const sl_anomaly_layout *l, int n, sl_error *err)
{
  for (int k = 0; k < l->n_layers; k++)
    {
      b->outs[k]
          = malloc (sizeof (float) * (size_t) n * l->channels[k] * l->heights[k] * l->widths[k]);
      if (b->outs[k] == NULL)
        return sl_error_set (err, SL_ERR_NOMEM, "out of memory computing patch features");
    }
  b->capacity = n;
  return SL_OK;
}

/* Runs fn on the layer outputs of each chunk of images. */
typedef sl_status (*chunk_fn) (void *ctx, const float *const *outs, int first, int n,
                               sl_error *err);

static sl_status
over_chunks (sl_model *model, const sl_anomaly_layout *l, const float *x, int n, chunk_fn fn,
             void *ctx, sl_error *err)
{
  const size_t in_size = (size_t) model->channels * model->height * model->width;
  const int chunk = n < CHUNK ? n : CHUNK;
  layer_buffers b = { 0 };
  sl_status st;

  if (l->input_h != model->height || l->input_w != model->width)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the anomaly scorer was fitted for %d x %d input, the model takes %d x "
                         "%d",
                         l->input_w, l->input_h, model->width, model->height);
  st = buffers_ready (&b, l, chunk, err);
  for (int done = 0; done < n && st == SL_OK; done += chunk)
    {
      int m = n - done < chunk ? n - done : chunk;

      st = sl_model_predict_layers (model, x + (size_t) done * in_size, m, NULL, l->layers,
                                    l->n_layers, b.outs, err);
      if (st == SL_OK)
        st = fn (ctx, (const float *const *) b.outs, done, m, err);
    }
  buffers_clear (&b);
  return st;
}

static sl_status
add_chunk (void *ctx, const float *const *outs, int first, int n, sl_error *err)
{
  (void) first;
  return sl_anomaly_fitter_add_layers (ctx, outs, n, err);
}

sl_status
sl_anomaly_fitter_add (sl_anomaly_fitter *f, const float *x, int n, sl_error *err)
{
  if (f == NULL || n < 0 || (n > 0 && x == NULL))
    return sl_error_set (err, SL_ERR_INVALID, "sl_anomaly_fitter_add: missing fitter or images");
  if (n == 0)
    return SL_OK;
  return over_chunks (_sl_anomaly_fitter_model (f), _sl_anomaly_fitter_layout (f), x, n, add_chunk,
                      f, err);
}

typedef struct
{
  const sl_anomaly *a;
  float *scores, *maps;
  int threads;
} score_ctx;

static sl_status
score_chunk (void *ctx, const float *const *outs, int first, int n, sl_error *err)
{
  score_ctx *c = ctx;
  const size_t map_size = (size_t) c->a->layout.input_h * c->a->layout.input_w;

  return _sl_anomaly_score_layers_threads (
      c->a, outs, n, c->scores + first,
      c->maps != NULL ? c->maps + (size_t) first * map_size : NULL, c->threads, err);
}

sl_status
sl_anomaly_score (const sl_anomaly *a, sl_model *model, const float *x, int n, float *scores,
                  float *maps, sl_error *err)
{
  score_ctx c = { .a = a, .scores = scores, .maps = maps };
  sl_status st;

  if (a == NULL || model == NULL || n < 0 || (n > 0 && (x == NULL || scores == NULL)))
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_anomaly_score: missing scorer, model, images or scores");
  if (n == 0)
    return SL_OK;
  st = _sl_anomaly_check_model (a, model, err);
  if (st != SL_OK)
    return st;
  c.threads = model->threads;
  return over_chunks (model, &a->layout, x, n, score_chunk, &c, err);
}
