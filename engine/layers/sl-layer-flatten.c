/* sl-layer-flatten.c: the flatten layer kind: C x H x W read as C*H*W x 1 x 1, no copy. */
#include "sl-layer-onnx-private.h"

static sl_status
flatten_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  (void) m, (void) w;
  n->out = (sl_shape){ (int) _sl_shape_size (n->in), 1, 1 };
  return SL_OK;
}

static double
flatten_flops (const sl_node *n)
{
  (void) n;
  return 0.0;
}

/* The graph never runs an alias (SL_LAYER_ALIAS): these say what it would be. */
static const float *
flatten_forward (const sl_layer_run *r)
{
  return r->in;
}

static void
flatten_backward (const sl_layer_run *r)
{
  (void) r;
}

static sl_onnx_tensor
flatten_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  return _sl_onnx_as_flat (ex, _sl_onnx_input_of (ex, n, 0), "");
}

const sl_layer_class _sl_layer_flatten = {
  .name = "flatten",
  .fields = "",
  .n_inputs = 1,
  .flags = SL_LAYER_ALIAS,
  .read = _sl_layer_read_nothing,
  .shape = flatten_shape,
  .write = _sl_layer_write_nothing,
  .init = _sl_layer_init_nothing,
  .plan = _sl_layer_plan_output,
  .flops = flatten_flops,
  .forward = flatten_forward,
  .backward = flatten_backward,
  .onnx = flatten_onnx,
};
