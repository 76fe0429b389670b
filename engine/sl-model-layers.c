/* sl-model-layers.c: mid-level layer outputs (taps) from one forward pass, for anomaly features and gates. */
#include "sl-layer-private.h"

#include <stdlib.h>
#include <string.h>

/* Images per pass: the tapped outputs keep buffers of their own for the
 * whole pass, so a modest batch keeps the plan modest while the per-image
 * work stays the same. */
#define LAYERS_CHUNK 16

void
_sl_model_drop_tap_plans (sl_model *m)
{
  _sl_plan_free (m, m->layers_plan);
  m->layers_plan = NULL;
  _sl_plan_free (m, m->cam_plan);
  m->cam_plan = NULL;
}

int
sl_model_find_layer (const sl_model *m, const char *name)
{
  if (m == NULL || name == NULL)
    return -1;
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].name != NULL && strcmp (m->nodes[i].name, name) == 0)
      return i;
  return -1;
}

sl_status
sl_model_layer_shape (const sl_model *m, int layer, int *channels, int *height, int *width,
                      sl_error *err)
{
  sl_shape s;

  if (m == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_layer_shape: missing model");
  if (layer < 0 || layer >= m->n_nodes)
    return sl_error_set (err, SL_ERR_INVALID,
                         "there is no layer %d: the model's layers are numbered 0 to %d", layer,
                         m->n_nodes - 1);
  s = m->nodes[layer].out;
  if (channels != NULL)
    *channels = s.c;
  if (height != NULL)
    *height = s.h;
  if (width != NULL)
    *width = s.w;
  return SL_OK;
}

/* Checks the request; fills keep (one per node) and *end (the nodes to run). */
static sl_status
check_request (const sl_model *m, const float *x, int n, float *probs, const int *layers,
               int n_layers, float *const *outs, bool *keep, int *end, sl_error *err)
{
  if (m == NULL || x == NULL || n < 0 || n_layers < 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_model_predict_layers: missing model or input, or a negative count");
  if (n_layers == 0 && probs == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_model_predict_layers: no layer asked for and no probabilities: "
                         "nothing to compute");
  if (n_layers > 0 && (layers == NULL || outs == NULL))
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_model_predict_layers: missing list of layers or of outputs");
  *end = probs != NULL ? m->n_nodes : 0;
  for (int k = 0; k < n_layers; k++)
    {
      if (layers[k] < 0 || layers[k] >= m->n_nodes)
        return sl_error_set (err, SL_ERR_INVALID,
                             "layer %d (entry %d of the list) does not exist: the model's layers "
                             "are numbered 0 to %d",
                             layers[k], k, m->n_nodes - 1);
      if (outs[k] == NULL)
        return sl_error_set (err, SL_ERR_INVALID,
                             "sl_model_predict_layers: no output buffer for layer %d (entry %d)",
                             layers[k], k);
      keep[layers[k]] = true;
      if (layers[k] + 1 > *end)
        *end = layers[k] + 1;
    }
  return SL_OK;
}

/* Makes m->layers_plan one that runs [0, end) keeping `keep`, for chunks of
 * up to `chunk` images within the memory limit; *batch gets its batch. */
static sl_status
layers_plan_ready (sl_model *m, const bool *keep, int end, int chunk, sl_error *err)
{
  const sl_plan_taps taps = { .end = end, .keep = keep, .grad_from = -1 };
  sl_plan *p = m->layers_plan;
  int batch;

  if (p != NULL
      && ((m->plan_limit > 0 && p->bytes > m->plan_limit) || p->end != end
          || memcmp (p->keep, keep, sizeof (bool) * (size_t) m->n_nodes) != 0))
    {
      _sl_plan_free (m, p);
      m->layers_plan = p = NULL;
    }
  if (p != NULL && p->batch >= chunk)
    return SL_OK;
  batch = _sl_plan_fit_batch_taps (m, chunk, &taps);
  if (p != NULL && p->batch >= batch)
    return SL_OK; /* already as large as the limit allows */
  _sl_plan_free (m, p);
  m->layers_plan = NULL;
  return _sl_plan_new_taps (m, batch, &taps, &m->layers_plan, err);
}

/* One chunk of images [done, done + n): a forward pass, then the tapped
 * outputs and the probabilities copied out (staged on a device). */
static sl_status
layers_chunk (sl_model *m, const float *x, int done, int n, float *probs, const int *layers,
              int n_layers, float *const *outs, sl_error *err)
{
  sl_backend *be = m->backend;
  sl_plan *p = m->layers_plan;
  const size_t in_size = (size_t) m->channels * m->height * m->width;
  const float *logits;
  sl_status st = SL_OK;

  x += done * in_size;
  if (!be->ops->host_memory)
    {
      be->ops->upload (be, p->input, x, sizeof (float) * in_size * n);
      x = p->input;
    }
  logits = _sl_graph_forward (m, p, x, n, false, 0);
  for (int k = 0; k < n_layers && st == SL_OK; k++)
    {
      const size_t size = _sl_shape_size (m->nodes[layers[k]].out);

      st = be->ops->download (be, outs[k] + done * size, p->out[layers[k]],
                              sizeof (float) * size * n, err);
    }
  if (st != SL_OK || probs == NULL)
    return st;
  probs += (size_t) done * m->classes;
  if (be->ops->host_memory)
    {
      be->ops->softmax (be, n, m->classes, logits, probs);
      return be->ops->sync (be, err);
    }
  be->ops->softmax (be, n, m->classes, logits, p->probs);
  return be->ops->download (be, probs, p->probs, sizeof (float) * m->classes * n, err);
}

sl_status
sl_model_predict_layers (sl_model *m, const float *x, int n, float *probs, const int *layers,
                         int n_layers, float *const *outs, sl_error *err)
{
  bool *keep;
  int end = 0;
  sl_status st;

  if (m == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_predict_layers: missing model");
  keep = calloc ((size_t) m->n_nodes, sizeof (bool));
  if (keep == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
  st = check_request (m, x, n, probs, layers, n_layers, outs, keep, &end, err);
  for (int done = 0; st == SL_OK && done < n;)
    {
      int chunk = n - done > LAYERS_CHUNK ? LAYERS_CHUNK : n - done;

      st = layers_plan_ready (m, keep, end, chunk, err);
      if (st != SL_OK)
        break;
      if (chunk > m->layers_plan->batch)
        chunk = m->layers_plan->batch;
      st = layers_chunk (m, x, done, chunk, probs, layers, n_layers, outs, err);
      done += chunk;
    }
  free (keep);
  return st;
}
