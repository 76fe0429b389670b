/* sl-layer-add.c: the add layer kind: the element-wise sum of two earlier outputs (residuals). */
#include "sl-layer-onnx-private.h"

static sl_status
add_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  sl_shape b = _sl_layer_input_shape (m, n, 1);

  if (b.c != n->in.c || b.h != n->in.h || b.w != n->in.w)
    return _sl_layer_bad (w, "cannot add a %dx%dx%d output to a %dx%dx%d one", n->in.c, n->in.h,
                          n->in.w, b.c, b.h, b.w);
  n->out = n->in;
  return SL_OK;
}

static double
add_flops (const sl_node *n)
{
  return (double) _sl_shape_size (n->out);
}

static const float *
add_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->add_forward (be, r->len, r->in, r->in1, r->y);
  return r->y;
}

static void
add_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  if (r->dx != NULL)
    be->ops->copy_grad (be, r->len, r->dy, r->dx, r->acc);
  if (r->dx1 != NULL)
    be->ops->copy_grad (be, r->len, r->dy, r->dx1, r->acc1);
}

/* Both addends have the engine shape C x H x W; only their ONNX ranks may differ. */
static sl_onnx_tensor
add_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_tensor a = _sl_onnx_input_of (ex, n, 0), b = _sl_onnx_input_of (ex, n, 1),
                 y = { NULL, false };

  if (a.flat != b.flat)
    {
      a = _sl_onnx_as_4d (ex, a);
      b = _sl_onnx_as_4d (ex, b);
    }
  y.name = _sl_onnx_layer_name (ex, "");
  y.flat = a.flat;
  _sl_onnx_add_node (_sl_onnx_builder_of (ex), "Add", (const char *[]){ a.name, b.name }, 2,
                     y.name);
  return y;
}

const sl_layer_class _sl_layer_add = {
  .name = "add",
  .fields = "inputs",
  .n_inputs = 2,
  .flags = SL_LAYER_OUTPUT_FREE | SL_LAYER_INPUT_FREE,
  .read = _sl_layer_read_nothing,
  .shape = add_shape,
  .write = _sl_layer_write_nothing,
  .init = _sl_layer_init_nothing,
  .plan = _sl_layer_plan_output,
  .flops = add_flops,
  .forward = add_forward,
  .backward = add_backward,
  .onnx = add_onnx,
};
