/* sl-layer-batchnorm.c: the batchnorm layer kind (per-channel, running statistics at inference). */
#include "sl-layer-onnx-private.h"

#include <string.h>

static sl_status
batchnorm_read (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  sl_status st;

  if ((st = _sl_json_float (obj, "epsilon", 1e-5, 1e-12, 1.0, &n->epsilon, w)) != SL_OK
      || (st = _sl_json_float (obj, "momentum", 0.1, 0.0, 1.0, &n->momentum, w)) != SL_OK)
    return st;

  /* "statistics": "batch" (the default) normalises a training batch with its
   * own statistics and updates the running ones; "running" normalises with the
   * running statistics in training too and never changes them, while gamma and
   * beta still learn (fine-tuning a pretrained network on small batches). */
  const cJSON *stats = cJSON_GetObjectItemCaseSensitive (obj, "statistics");
  n->running_stats = false;
  if (stats == NULL || (cJSON_IsString (stats) && strcmp (stats->valuestring, "batch") == 0))
    return SL_OK;
  if (cJSON_IsString (stats) && strcmp (stats->valuestring, "running") == 0)
    {
      n->running_stats = true;
      return SL_OK;
    }
  return _sl_layer_bad (w, "'statistics' must be \"batch\" (normalise a training batch with its "
                           "own mean and variance) or \"running\" (with the running statistics, "
                           "which then never change)");
}

/* gamma then beta; running mean then running variance. */
static sl_status
batchnorm_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  (void) m, (void) w;
  n->out = n->in;
  n->weight_count = n->in.c;
  n->param_count = 2 * (size_t) n->in.c;
  n->state_count = 2 * (size_t) n->in.c;
  return SL_OK;
}

static void
batchnorm_write (const sl_node *n, cJSON *l)
{
  cJSON_AddNumberToObject (l, "epsilon", _sl_json_tidy_float (n->epsilon));
  cJSON_AddNumberToObject (l, "momentum", _sl_json_tidy_float (n->momentum));
  if (n->running_stats)
    cJSON_AddStringToObject (l, "statistics", "running");
}

static void
batchnorm_init (const sl_node *n, float *w, float *state, sl_rng *rng)
{
  (void) rng;
  for (int c = 0; c < n->in.c; c++)
    {
      w[c] = 1.0f;               /* gamma; beta stays 0 */
      state[n->in.c + c] = 1.0f; /* running variance; the mean stays 0 */
    }
}

/* In training, the batch's mean and inverse std per channel, for backward
 * (inference, a frozen layer and one on running statistics need none: their
 * statistics are the running ones). */
static void
batchnorm_plan (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
                sl_layer_needs *needs)
{
  (void) batch, (void) sz;
  needs->saved = training && !n->running_stats ? _sl_align16 (2 * (size_t) n->in.c) : 0;
}

static double
batchnorm_flops (const sl_node *n)
{
  return 2.0 * (double) _sl_shape_size (n->out);
}

static const float *
batchnorm_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;
  const sl_node *node = r->node;
  float *state = r->m->state + node->state_offset;

  be->ops->batchnorm_forward (be, r->training && !node->running_stats, r->n, node->in.c,
                              node->in.h * node->in.w, r->in, r->w, r->w + node->in.c, state,
                              state + node->in.c, node->epsilon, node->momentum,
                              r->p->saved[r->index], r->y);
  return r->y;
}

static void
batchnorm_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;
  const sl_node *node = r->node;

  /* At inference (a backward pass for Grad-CAM) the statistics are the running ones too. */
  if (node->running_stats || !r->training)
    {
      const float *state = r->m->state + node->state_offset;

      be->ops->batchnorm_backward_running (
          be, r->n, node->in.c, node->in.h * node->in.w, r->in, r->w, state, state + node->in.c,
          node->epsilon, r->dy, r->dx, r->acc, r->dw, r->dw != NULL ? r->dw + node->in.c : NULL);
      return;
    }
  be->ops->batchnorm_backward (be, r->n, node->in.c, node->in.h * node->in.w, r->in, r->w,
                               r->p->saved[r->index], node->epsilon, r->dy, r->dx, r->acc, r->dw,
                               r->dw + node->in.c);
}

/* Inference form: the running statistics, not the batch's. */
static sl_onnx_tensor
batchnorm_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_builder *b = _sl_onnx_builder_of (ex);
  const float *p = _sl_onnx_params (ex, n), *s = _sl_onnx_state (ex, n);
  const int64_t dims[1] = { n->in.c };
  sl_onnx_tensor x = _sl_onnx_input_of (ex, n, 0), y = { NULL, x.flat };
  const char *ins[5] = { x.name };

  /* One call per statement: the initializers keep this order in the file. */
  ins[1] = _sl_onnx_add_weights (ex, ".weight", dims, 1, p);
  ins[2] = _sl_onnx_add_weights (ex, ".bias", dims, 1, p + n->in.c);
  ins[3] = _sl_onnx_add_weights (ex, ".running_mean", dims, 1, s);
  ins[4] = _sl_onnx_add_weights (ex, ".running_var", dims, 1, s + n->in.c);
  y.name = _sl_onnx_layer_name (ex, "");
  _sl_onnx_attr_float (b, _sl_onnx_add_node (b, "BatchNormalization", ins, 5, y.name), "epsilon",
                       n->epsilon);
  return y;
}

const sl_layer_class _sl_layer_batchnorm = {
  .name = "batchnorm",
  .fields = "epsilon momentum statistics",
  .n_inputs = 1,
  .flags = SL_LAYER_OUTPUT_FREE,
  .read = batchnorm_read,
  .shape = batchnorm_shape,
  .write = batchnorm_write,
  .init = batchnorm_init,
  .plan = batchnorm_plan,
  .flops = batchnorm_flops,
  .forward = batchnorm_forward,
  .backward = batchnorm_backward,
  .onnx = batchnorm_onnx,
};
