/* sl-layer-dense.c: the dense (fully connected) layer kind, and the He/Xavier initialisation
 * it shares with conv2d. */
#include "sl-layer-onnx-private.h"

#include <math.h>

void
_sl_layer_init_weights (const sl_node *n, float *w, double fan_in, double fan_out, sl_rng *rng)
{
  if (n->init == SL_INIT_HE)
    {
      float std = (float) sqrt (2.0 / fan_in);
      for (size_t k = 0; k < n->weight_count; k++)
        w[k] = _sl_rng_normal (rng) * std;
    }
  else
    {
      float limit = (float) sqrt (6.0 / (fan_in + fan_out));
      for (size_t k = 0; k < n->weight_count; k++)
        w[k] = (2.0f * _sl_rng_uniform (rng) - 1.0f) * limit;
    }
}

static sl_status
dense_read (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  sl_status st;

  if ((st = _sl_json_int (obj, "units", INT_MIN, 1, 1 << 20, &n->units, w)) != SL_OK
      || (st = _sl_json_bool (obj, "bias", true, &n->bias, w)) != SL_OK
      || (st = _sl_json_init (obj, &n->init, w)) != SL_OK)
    return st;
  return SL_OK;
}

static sl_status
dense_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  (void) m, (void) w;
  n->out = (sl_shape){ n->units, 1, 1 };
  n->weight_count = (size_t) n->units * _sl_shape_size (n->in);
  n->param_count = n->weight_count + (n->bias ? (size_t) n->units : 0);
  return SL_OK;
}

static void
dense_write (const sl_node *n, cJSON *l)
{
  cJSON_AddNumberToObject (l, "units", n->units);
  cJSON_AddBoolToObject (l, "bias", n->bias);
  cJSON_AddStringToObject (l, "init", n->init == SL_INIT_HE ? "he" : "xavier");
}

static void
dense_init (const sl_node *n, float *w, float *state, sl_rng *rng)
{
  (void) state;
  _sl_layer_init_weights (n, w, (double) _sl_shape_size (n->in), n->units, rng);
}

static double
dense_flops (const sl_node *n)
{
  return 2.0 * (double) n->weight_count + (n->bias ? (double) _sl_shape_size (n->out) : 0.0);
}

static const float *
dense_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->dense_forward (be, r->n, (int) _sl_shape_size (r->node->in), r->node->units, r->in, r->w,
                          r->b, r->y);
  return r->y;
}

static void
dense_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->dense_backward (be, r->n, (int) _sl_shape_size (r->node->in), r->node->units, r->in,
                           r->w, r->dy, r->dx, r->acc, r->dw, r->db);
}

static sl_onnx_tensor
dense_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_builder *b = _sl_onnx_builder_of (ex);
  const float *w = _sl_onnx_params (ex, n);
  const int64_t wdims[2] = { n->units, (int64_t) _sl_shape_size (n->in) }, bdims[1] = { n->units };
  sl_onnx_tensor x = _sl_onnx_as_flat (ex, _sl_onnx_input_of (ex, n, 0), ".flat"),
                 y = { NULL, true };
  const char *ins[3] = { x.name, _sl_onnx_add_weights (ex, ".weight", wdims, 2, w), NULL };

  if (n->bias)
    ins[2] = _sl_onnx_add_weights (ex, ".bias", bdims, 1, w + n->weight_count);
  y.name = _sl_onnx_layer_name (ex, "");
  _sl_onnx_attr_int (b, _sl_onnx_add_node (b, "Gemm", ins, n->bias ? 3 : 2, y.name), "transB", 1);
  return y;
}

const sl_layer_class _sl_layer_dense = {
  .name = "dense",
  .fields = "units bias init",
  .n_inputs = 1,
  .flags = SL_LAYER_OUTPUT_FREE,
  .read = dense_read,
  .shape = dense_shape,
  .write = dense_write,
  .init = dense_init,
  .plan = _sl_layer_plan_output,
  .flops = dense_flops,
  .forward = dense_forward,
  .backward = dense_backward,
  .onnx = dense_onnx,
};
