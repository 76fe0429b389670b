/* sl-model-heatmap.c: Grad-CAM class heatmaps: one forward pass, then gradients back to one layer only. */
#include "sl-layer-private.h"

#include <stdlib.h>
#include <string.h>

int
sl_model_default_cam_layer (const sl_model *m)
{
  bool *feeds;
  int found = -1;

  if (m == NULL || m->n_nodes == 0)
    return -1;
  feeds = calloc ((size_t) m->n_nodes, sizeof (bool));
  if (feeds == NULL)
    return -1;
  /* Which outputs reach the logits (inputs come before their readers). */
  feeds[m->n_nodes - 1] = true;
  for (int i = m->n_nodes - 1; i >= 0; i--)
    for (int k = 0; feeds[i] && k < m->nodes[i].n_inputs; k++)
      if (m->nodes[i].inputs[k] != SL_INPUT_NODE)
        feeds[m->nodes[i].inputs[k]] = true;
  for (int i = m->n_nodes - 1; i >= 0 && found < 0; i--)
    if (feeds[i] && m->nodes[i].out.h * m->nodes[i].out.w > 1)
      found = i;
  free (feeds);
  return found;
}

/* The node whose buffers hold `layer`'s output (a flatten's is its input's),
 * or SL_INPUT_NODE. */
static int
data_node (const sl_model *m, int layer)
{
  while (layer != SL_INPUT_NODE && (_sl_layer_class (m->nodes[layer].kind)->flags & SL_LAYER_ALIAS))
    layer = m->nodes[layer].inputs[0];
  return layer;
}

/* Makes m->cam_plan one for a single image with gradients from node `from` on. */
static sl_status
cam_plan_ready (sl_model *m, int from, sl_error *err)
{
  bool *keep;
  sl_plan_taps taps = { .end = m->n_nodes, .grad_from = from };
  sl_status st;

  if (m->cam_plan != NULL && m->cam_plan->grad_from == from
      && !(m->plan_limit > 0 && m->cam_plan->bytes > m->plan_limit))
    return SL_OK;
  _sl_plan_free (m, m->cam_plan);
  m->cam_plan = NULL;
  keep = calloc ((size_t) m->n_nodes, sizeof (bool));
  if (keep == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
  keep[from] = true;
  taps.keep = keep;
  st = _sl_plan_new_taps (m, 1, &taps, &m->cam_plan, err);
  free (keep);
  return st;
}

/* The forward pass: probabilities (host) of the image in the plan's input. */
static sl_status
cam_forward (sl_model *m, const float *x, float *probs, sl_error *err)
{
  sl_backend *be = m->backend;
  sl_plan *p = m->cam_plan;
  const float *logits;

  if (be->ops->host_memory)
    {
      logits = _sl_graph_forward (m, p, x, 1, false, 0);
      be->ops->softmax (be, 1, m->classes, logits, probs);
      return be->ops->sync (be, err);
    }
  be->ops->upload (be, p->input, x, sizeof (float) * m->channels * m->height * m->width);
  logits = _sl_graph_forward (m, p, p->input, 1, false, 0);
  be->ops->softmax (be, 1, m->classes, logits, p->probs);
  return be->ops->download (be, probs, p->probs, sizeof (float) * m->classes, err);
}

/* map = ReLU (sum_c w_c A_c), w_c the mean of the gradient over channel c's
 * plane, scaled so that its largest value is 1 (all 0 when none is positive). */
static void
cam_combine (const float *a, const float *g, sl_shape s, float *map)
{
  const size_t hw = (size_t) s.h * s.w;
  float top = 0.0f;

  memset (map, 0, sizeof (float) * hw);
  for (int c = 0; c < s.c; c++)
    {
      const float *ac = a + c * hw, *gc = g + c * hw;
      double sum = 0.0;
      float wc;

      for (size_t k = 0; k < hw; k++)
        sum += gc[k];
      wc = (float) (sum / (double) hw);
      for (size_t k = 0; k < hw; k++)
        map[k] += wc * ac[k];
    }
  for (size_t k = 0; k < hw; k++)
    {
      map[k] = map[k] > 0.0f ? map[k] : 0.0f;
      top = map[k] > top ? map[k] : top;
    }
  for (size_t k = 0; k < hw; k++)
    map[k] = top > 0.0f ? map[k] / top : 0.0f;
}

static int
best_class (const float *probs, int classes)
{
  int best = 0;

  for (int k = 1; k < classes; k++)
    if (probs[k] > probs[best])
      best = k;
  return best;
}

/* After the forward pass: d logit[cls] / d output from the logits back to
 * `from`, then the activations and gradients of `layer` combined into map. */
static sl_status
cam_backward (sl_model *m, const float *x, int cls, int layer, int from, float *map, sl_error *err)
{
  sl_backend *be = m->backend;
  sl_plan *p = m->cam_plan;
  const sl_shape s = m->nodes[layer].out;
  const size_t size = _sl_shape_size (s);
  float *host = calloc ((size_t) m->classes + 2 * size, sizeof (float));
  float *a, *g;
  sl_status st;

  if (host == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for the heatmap of a %dx%dx%d layer",
                         s.c, s.h, s.w);
  a = host + m->classes;
  g = a + size;
  host[cls] = 1.0f; /* d logit[cls] / d logits */
  be->ops->upload (be, p->logits_grad, host, sizeof (float) * m->classes);
  if (!_sl_graph_backward_to (m, p, be->ops->host_memory ? x : p->input, 1))
    {
      /* The class's logit does not depend on this layer: nothing speaks for it there. */
      memset (map, 0, sizeof (float) * (size_t) s.h * s.w);
      free (host);
      return be->ops->sync (be, err);
    }
  st = be->ops->download (be, a, p->out[from], sizeof (float) * size, err);
  if (st == SL_OK)
    st = be->ops->download (be, g, p->grad[from], sizeof (float) * size, err);
  if (st == SL_OK)
    cam_combine (a, g, s, map);
  free (host);
  return st;
}

sl_status
sl_model_class_heatmap (sl_model *m, const float *x, int class_index, int layer, float *probs,
                        float *map, sl_error *err)
{
  float *own = NULL;
  int from;
  sl_status st;

  if (m == NULL || x == NULL || map == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_model_class_heatmap: missing model, image or map buffer");
  if (class_index < -1 || class_index >= m->classes)
    return sl_error_set (err, SL_ERR_INVALID,
                         "class %d does not exist: the model has classes 0 to %d (or -1 for the "
                         "class it predicts)",
                         class_index, m->classes - 1);
  if (layer < 0 || layer >= m->n_nodes)
    return sl_error_set (err, SL_ERR_INVALID,
                         "there is no layer %d: the model's layers are numbered 0 to %d (see "
                         "sl_model_default_cam_layer)",
                         layer, m->n_nodes - 1);
  from = data_node (m, layer);
  if (from == SL_INPUT_NODE)
    return sl_error_set (err, SL_ERR_INVALID,
                         "layer %d only reshapes the input image: choose a layer that computes",
                         layer);
  if ((st = cam_plan_ready (m, from, err)) != SL_OK)
    return st;
  if (m->cam_plan->logits_grad == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model's output is its input reshaped: it has no class heatmap");
  if (probs == NULL && (own = malloc (sizeof (float) * (size_t) m->classes)) == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
  st = cam_forward (m, x, probs != NULL ? probs : own, err);
  if (st == SL_OK)
    st = cam_backward (
        m, x, class_index >= 0 ? class_index : best_class (probs != NULL ? probs : own, m->classes),
        layer, from, map, err);
  free (own);
  return st;
}
