/* sl-layer-activation.c: the element-wise activation kinds (relu, relu6, leaky_relu, sigmoid). */
#include "sl-layer-onnx-private.h"

static sl_activation
activation_of (sl_layer_kind kind)
{
  return kind == SL_LAYER_RELU6        ? SL_ACT_RELU6
         : kind == SL_LAYER_LEAKY_RELU ? SL_ACT_LEAKY_RELU
         : kind == SL_LAYER_SIGMOID    ? SL_ACT_SIGMOID
                                       : SL_ACT_RELU;
}

static sl_status
leaky_relu_read (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  return _sl_json_float (obj, "slope", 0.01, 0.0, 1.0, &n->slope, w);
}

static void
leaky_relu_write (const sl_node *n, cJSON *l)
{
  cJSON_AddNumberToObject (l, "slope", _sl_json_tidy_float (n->slope));
}

static double
rectifier_flops (const sl_node *n)
{
  return (double) _sl_shape_size (n->out);
}

static double
sigmoid_flops (const sl_node *n)
{
  return 4.0 * (double) _sl_shape_size (n->out);
}

static const float *
activation_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->activation_forward (be, activation_of (r->node->kind), r->node->slope, r->len, r->in,
                               r->y);
  return r->y;
}

/* Reads the layer's output, not its input: the layer may run in place. */
static void
activation_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  if (r->dx != NULL)
    be->ops->activation_backward (be, activation_of (r->node->kind), r->node->slope, r->len,
                                  r->p->out[r->index], r->dy, r->dx, r->acc);
}

/* relu6 (x) = 6 - relu (6 - relu (x)): plain Relu and Sub, which every ONNX
 * reader runs (OpenCV 4.6 cannot read opset 13's Clip, whose bounds are
 * inputs). It matches min (max (x, 0), 6) to within one rounding of 6
 * (2.4e-7) and stays exact for large x, unlike relu (x) - relu (x - 6). All
 * relu6 layers share one scalar 6. */
static sl_onnx_tensor
relu6_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_builder *b = _sl_onnx_builder_of (ex);
  sl_onnx_tensor x = _sl_onnx_input_of (ex, n, 0);
  const char *r = _sl_onnx_unique_name (b, "relu6.positive");
  const char *d = _sl_onnx_unique_name (b, "relu6.headroom");
  const char *rd = _sl_onnx_unique_name (b, "relu6.headroom_positive");
  sl_onnx_tensor y = { _sl_onnx_layer_name (ex, ""), x.flat };
  const char *six = _sl_onnx_six (ex);

  _sl_onnx_add_node (b, "Relu", (const char *[]){ x.name }, 1, r);
  _sl_onnx_add_node (b, "Sub", (const char *[]){ six, r }, 2, d);
  _sl_onnx_add_node (b, "Relu", (const char *[]){ d }, 1, rd);
  _sl_onnx_add_node (b, "Sub", (const char *[]){ six, rd }, 2, y.name);
  return y;
}

static sl_onnx_tensor
one_node (sl_onnx_exporter *ex, const sl_node *n, const char *op, Onnx__NodeProto **node)
{
  sl_onnx_tensor x = _sl_onnx_input_of (ex, n, 0), y = { NULL, x.flat };

  y.name = _sl_onnx_layer_name (ex, "");
  *node = _sl_onnx_add_node (_sl_onnx_builder_of (ex), op, &x.name, 1, y.name);
  return y;
}

static sl_onnx_tensor
relu_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  Onnx__NodeProto *node;

  return one_node (ex, n, "Relu", &node);
}

static sl_onnx_tensor
leaky_relu_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  Onnx__NodeProto *node;
  sl_onnx_tensor y = one_node (ex, n, "LeakyRelu", &node);

  _sl_onnx_attr_float (_sl_onnx_builder_of (ex), node, "alpha", n->slope);
  return y;
}

static sl_onnx_tensor
sigmoid_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  Onnx__NodeProto *node;

  return one_node (ex, n, "Sigmoid", &node);
}

#define ACTIVATION(name_, fields_, flags_, read_, write_, flops_, onnx_)                           \
  {                                                                                                \
    .name = name_, .fields = fields_, .n_inputs = 1, .flags = flags_, .read = read_,               \
    .shape = _sl_layer_shape_same, .write = write_, .init = _sl_layer_init_nothing,                \
    .plan = _sl_layer_plan_output, .flops = flops_, .forward = activation_forward,                 \
    .backward = activation_backward, .onnx = onnx_                                                 \
  }

const sl_layer_class _sl_layer_relu
    = ACTIVATION ("relu", "", SL_LAYER_IN_PLACE | SL_LAYER_INPUT_FREE, _sl_layer_read_nothing,
                  _sl_layer_write_nothing, rectifier_flops, relu_onnx);
const sl_layer_class _sl_layer_relu6
    = ACTIVATION ("relu6", "", SL_LAYER_IN_PLACE | SL_LAYER_INPUT_FREE, _sl_layer_read_nothing,
                  _sl_layer_write_nothing, rectifier_flops, relu6_onnx);
const sl_layer_class _sl_layer_leaky_relu
    = ACTIVATION ("leaky_relu", "slope", SL_LAYER_IN_PLACE | SL_LAYER_INPUT_FREE, leaky_relu_read,
                  leaky_relu_write, rectifier_flops, leaky_relu_onnx);
/* Sigmoid keeps buffers of its own (it never runs in place). */
const sl_layer_class _sl_layer_sigmoid
    = ACTIVATION ("sigmoid", "", SL_LAYER_INPUT_FREE, _sl_layer_read_nothing,
                  _sl_layer_write_nothing, sigmoid_flops, sigmoid_onnx);
