/* sl-model-features.c: a frozen prefix's output as features, computed once per image. */
#include "sl-model-private.h"
#include "sl-error-private.h"

#include <stdlib.h>

/* Images per pass of the prefix: its buffers grow with every layer, so a
 * small batch keeps them modest while the per-image work stays the same. */
#define FEATURE_CHUNK 16

size_t
sl_model_trainable_param_count (const sl_model *m)
{
  return m->n_params - m->trainable_offset;
}

size_t
sl_model_feature_size (const sl_model *m)
{
  int node = _sl_model_feature_node (m);

  return node >= 0 ? _sl_shape_size (m->nodes[node].out) : 0;
}

static sl_status
features_chunk (sl_model *m, int node, const float *x, int n, float *features, sl_error *err)
{
  sl_backend *be = m->backend;
  sl_plan *p = m->features_plan;
  const size_t in_size = (size_t) m->channels * m->height * m->width;

  if (!be->ops->host_memory)
    {
      be->ops->upload (be, p->input, x, sizeof (float) * in_size * n);
      x = p->input;
    }
  _sl_graph_forward (m, p, x, n, false, 0);
  return be->ops->download (be, features, p->out[node],
                            sizeof (float) * _sl_shape_size (m->nodes[node].out) * n, err);
}

sl_status
sl_model_compute_features (sl_model *m, const float *x, int n, float *features, sl_error *err)
{
  const size_t in_size = m != NULL ? (size_t) m->channels * m->height * m->width : 0;
  int node;

  if (m == NULL || x == NULL || features == NULL || n < 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_model_compute_features: missing model, input or output");
  node = _sl_model_feature_node (m);
  if (node < 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model's frozen layers do not end in a single tensor (none or every "
                         "layer is frozen, or a shortcut crosses the boundary)");
  for (int done = 0; done < n;)
    {
      int chunk = n - done > FEATURE_CHUNK ? FEATURE_CHUNK : n - done;
      sl_status st;

      if (m->features_plan != NULL && m->plan_limit > 0 && m->features_plan->bytes > m->plan_limit)
        {
          _sl_plan_free (m, m->features_plan);
          m->features_plan = NULL;
        }
      if (m->features_plan == NULL || m->features_plan->batch < chunk)
        {
          /* As large as asked, within the memory limit. */
          int batch
              = _sl_plan_fit_batch (m, n < FEATURE_CHUNK ? chunk : FEATURE_CHUNK, SL_PART_PREFIX);

          if (m->features_plan == NULL || m->features_plan->batch < batch)
            {
              _sl_plan_free (m, m->features_plan);
              m->features_plan = NULL;
              st = _sl_plan_new_part (m, batch, false, SL_PART_PREFIX, &m->features_plan, err);
              if (st != SL_OK)
                return st;
            }
          if (chunk > m->features_plan->batch)
            chunk = m->features_plan->batch;
        }
      st = features_chunk (m, node, x + done * in_size, chunk,
                           features + (size_t) done * sl_model_feature_size (m), err);
      if (st != SL_OK)
        return st;
      done += chunk;
    }
  return SL_OK;
}
