/* sl-anomaly-layout.c: which layers PatchCore takes its features from, and their shapes. */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"
#include "sl-model-private.h"

#include <stdlib.h>
#include <string.h>

/* ---- Layout ---------------------------------------------------------------- */

void
_sl_anomaly_layout_clear (sl_anomaly_layout *l)
{
  for (int k = 0; k < SL_ANOMALY_MAX_LAYERS; k++)
    free (l->names[k]);
  memset (l, 0, sizeof *l);
}

sl_status
_sl_anomaly_layout_copy (sl_anomaly_layout *dst, const sl_anomaly_layout *src)
{
  *dst = *src;
  for (int k = 0; k < SL_ANOMALY_MAX_LAYERS; k++)
    dst->names[k] = NULL;
  for (int k = 0; k < src->n_layers; k++)
    if (src->names[k] != NULL && (dst->names[k] = strdup (src->names[k])) == NULL)
      {
        _sl_anomaly_layout_clear (dst);
        return SL_ERR_NOMEM;
      }
  return SL_OK;
}

sl_status
_sl_anomaly_layout_init (sl_anomaly_layout *out, const sl_model *m, const int32_t *layers,
                         int32_t n_layers, sl_error *err)
{
  int64_t dims = 0;

  memset (out, 0, sizeof *out);
  if (n_layers < 1 || n_layers > SL_ANOMALY_MAX_LAYERS)
    return sl_error_set (err, SL_ERR_INVALID, "anomaly scoring takes 1 to %d layers, not %d",
                         SL_ANOMALY_MAX_LAYERS, n_layers);
  for (int k = 0; k < n_layers; k++)
    {
      const int32_t i = layers[k];
      char what[96];
      sl_shape s;

      if (i < 0 || i >= m->n_nodes)
        return sl_error_set (err, SL_ERR_INVALID,
                             "anomaly layer %d is %d, but the model's layers are 0 to %d", k + 1, i,
                             m->n_nodes - 1);
      for (int q = 0; q < k; q++)
        if (layers[q] == i)
          return sl_error_set (err, SL_ERR_INVALID, "anomaly layer %d is given twice", i);
      s = m->nodes[i].out;
      _sl_model_describe_layer (m, i, what, sizeof what);
      if (s.h < 1 || s.w < 1 || (s.h == 1 && s.w == 1))
        return sl_error_set (err, SL_ERR_INVALID,
                             "%s has no spatial extent (%d x %d); anomaly scoring needs a "
                             "feature map (a convolution stage)",
                             what, s.h, s.w);
      out->layers[k] = i;
      out->channels[k] = s.c;
      out->heights[k] = s.h;
      out->widths[k] = s.w;
      dims += s.c;
    }
  if (dims > SL_ANOMALY_MAX_DIMS)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the anomaly layers have %lld channels together; at most %d",
                         (long long) dims, SL_ANOMALY_MAX_DIMS);
  out->n_layers = n_layers;
  out->grid_h = out->heights[0];
  out->grid_w = out->widths[0];
  out->dims = (int32_t) dims;
  out->input_h = m->height;
  out->input_w = m->width;
  for (int k = 0; k < n_layers; k++)
    {
      const char *name = m->nodes[layers[k]].name;

      if (name != NULL && (out->names[k] = strdup (name)) == NULL)
        {
          _sl_anomaly_layout_clear (out);
          return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
        }
    }
  return SL_OK;
}

/* Whether a side of `out` pixels is 1/stride of one of `in` (rounded either way). */
static bool
at_stride (int out, int in, int stride)
{
  return out == in / stride || out == (in + stride - 1) / stride;
}

/* Among the layers whose output is h x w, the last named residual sum (the
 * end of a block), else the last named layer, else the last one; -1 when
 * none is that size. */
static int32_t
pick_layer (const sl_model *m, int h, int w)
{
  int32_t any = -1, named = -1, sum = -1;

  for (int32_t i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];

      if (n->out.h != h || n->out.w != w)
        continue;
      any = i;
      if (n->name != NULL)
        {
          named = i;
          if (n->kind == SL_LAYER_ADD)
            sum = i;
        }
    }
  return sum >= 0 ? sum : (named >= 0 ? named : any);
}

/* The layer at 1/stride of the input (the last of that size, as
 * pick_layer), or -1. */
static int32_t
layer_at_stride (const sl_model *m, int stride)
{
  for (int32_t i = m->n_nodes - 1; i >= 0; i--)
    {
      const sl_node *n = &m->nodes[i];

      if (at_stride (n->out.h, m->height, stride) && at_stride (n->out.w, m->width, stride)
          && n->out.h * n->out.w >= 2)
        return pick_layer (m, n->out.h, n->out.w);
    }
  return -1;
}

/* The smallest feature map of at least 2 x 2 (models too shallow to reach
 * 1/8 of their input, such as seed-cnn), or -1. */
static int32_t
smallest_map (const sl_model *m)
{
  int32_t best = -1;

  for (int32_t i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];

      if (n->out.h >= 2 && n->out.w >= 2
          && (best < 0
              || (int64_t) n->out.h * n->out.w
                     < (int64_t) m->nodes[best].out.h * m->nodes[best].out.w))
        best = i;
    }
  return best < 0 ? -1 : pick_layer (m, m->nodes[best].out.h, m->nodes[best].out.w);
}

int32_t
sl_anomaly_default_layers (const sl_model *m, int32_t *layers)
{
  int32_t n = 0, l4, l8, l16;

  if (m == NULL || layers == NULL)
    return 0;
  l8 = layer_at_stride (m, 8);
  if (l8 < 0)
    {
      l8 = smallest_map (m);
      if (l8 < 0)
        return 0;
      layers[n++] = l8;
      return n;
    }
  /* A 1/4 grid first (56 x 56 at 224 px): small spots and thin scratches
   * cover too few cells of the 1/8 grid (docs/anomaly.md, "Defaults"). */
  l4 = layer_at_stride (m, 4);
  if (l4 >= 0 && l4 != l8)
    {
      layers[n++] = l4;
      layers[n++] = l8;
      return n;
    }
  layers[n++] = l8;
  l16 = layer_at_stride (m, 16);
  if (l16 >= 0 && l16 != l8)
    layers[n++] = l16;
  return n;
}

sl_status
_sl_anomaly_check_model (const sl_anomaly *a, const sl_model *m, sl_error *err)
{
  const sl_anomaly_layout *l = &a->layout;

  if (l->input_h != m->height || l->input_w != m->width)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the anomaly scorer was fitted for %d x %d input, the model takes %d x "
                         "%d",
                         l->input_w, l->input_h, m->width, m->height);
  for (int k = 0; k < l->n_layers; k++)
    {
      const int32_t i = l->layers[k];
      const sl_node *n = i >= 0 && i < m->n_nodes ? &m->nodes[i] : NULL;

      if (n == NULL
          || (l->names[k] != NULL && (n->name == NULL || strcmp (n->name, l->names[k]) != 0)))
        return sl_error_set (err, SL_ERR_INVALID,
                             "the anomaly scorer's layer '%s' is not layer %d of this model; "
                             "score with the model it was fitted with",
                             l->names[k] != NULL ? l->names[k] : "(unnamed)", i);
      if (n->out.c != l->channels[k] || n->out.h != l->heights[k] || n->out.w != l->widths[k])
        return sl_error_set (err, SL_ERR_INVALID,
                             "the anomaly scorer's layer '%s' gives %d x %d x %d here, %d x %d x "
                             "%d when it was fitted",
                             l->names[k] != NULL ? l->names[k] : "(unnamed)", n->out.c, n->out.h,
                             n->out.w, l->channels[k], l->heights[k], l->widths[k]);
    }
  return SL_OK;
}
