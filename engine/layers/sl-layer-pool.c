/* sl-layer-pool.c: the pooling layer kinds (maxpool, avgpool, global_avgpool). */
#include "sl-layer-onnx-private.h"
#include "sl-graph-fuse-private.h"

static sl_pool_kind
pool_of (const sl_node *n)
{
  return n->kind == SL_LAYER_MAXPOOL ? SL_POOL_MAX : SL_POOL_AVG;
}

static sl_status
pool_read (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  sl_status st;

  if ((st = _sl_json_window (obj, n, false, w)) != SL_OK)
    return st;
  n->geom.groups = 1;
  n->geom.out_c = n->in.c;
  return SL_OK;
}

static sl_status
pool_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  (void) m, (void) w;
  n->out = (sl_shape){ n->in.c, n->geom.out_h, n->geom.out_w };
  return SL_OK;
}

static void
pool_write (const sl_node *n, cJSON *l)
{
  const sl_conv_desc *g = &n->geom;

  cJSON_AddItemToObject (l, "size", _sl_json_pair_value (g->kh, g->kw));
  cJSON_AddItemToObject (l, "stride", _sl_json_pair_value (g->sh, g->sw));
  cJSON_AddItemToObject (l, "padding", _sl_json_padding_value (n));
}

/* Max pooling keeps each window's winner for backward. */
static void
maxpool_plan (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
              sl_layer_needs *needs)
{
  (void) sz;
  if (training)
    {
      const size_t bytes
          = (size_t) batch * _sl_shape_size (n->out) * _sl_pool_argmax_size (&n->geom);

      needs->argmax = (bytes + 63) / 64 * 64;
    }
}

/* Pooling has no weights, yet its work grows with the window's area:
 * a huge window on a huge input is hours of work in a tiny file. */
static double
pool_flops (const sl_node *n)
{
  return (double) n->geom.kh * n->geom.kw * (double) _sl_shape_size (n->out);
}

static const float *
pool_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->pool_forward (be, pool_of (r->node), &r->node->geom, r->n, r->in, r->y,
                         r->p->argmax[r->index]); /* planned where a backward pass follows */
  return r->y;
}

static void
pool_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  if (r->dx != NULL && r->act != NULL)
    be->ops->pool_backward_act (be, &r->node->geom, r->n, r->dy, r->p->argmax[r->index],
                                r->p->out[r->index], _sl_fuse_activation_of (r->act->kind),
                                r->act->slope, r->dx, r->acc);
  else if (r->dx != NULL)
    be->ops->pool_backward (be, pool_of (r->node), &r->node->geom, r->n, r->dy,
                            r->p->argmax[r->index], r->dx, r->acc);
}

/* Zero padding as a node of its own. Average pooling then has no padding, so
 * every runtime divides by the window area: OpenCV (4.6 to 5.x) ignores
 * count_include_pad and decides by the producer's name. */
static sl_onnx_tensor
pad_with_zeros (sl_onnx_exporter *ex, sl_onnx_tensor x, const sl_conv_desc *g)
{
  const int64_t pads[8] = { 0, 0, g->ph, g->pw, 0, 0, g->ph_end, g->pw_end }, dims[1] = { 8 };
  sl_onnx_builder *b = _sl_onnx_builder_of (ex);
  const char *pads_name = _sl_onnx_layer_name (ex, ".pads");
  sl_onnx_tensor y = { _sl_onnx_layer_name (ex, ".padded"), false };

  _sl_onnx_add_int64s (b, pads_name, dims, 1, pads);
  _sl_onnx_add_node (b, "Pad", (const char *[]){ x.name, pads_name }, 2, y.name);
  return y;
}

/* Max-pool padding never wins (ONNX pads with -inf, like the engine); average
 * pooling counts padding as zeros and divides by the window area. */
static sl_onnx_tensor
pool_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_builder *b = _sl_onnx_builder_of (ex);
  const sl_conv_desc *g = &n->geom;
  const bool max = n->kind == SL_LAYER_MAXPOOL,
             pad_first = !max && (g->ph > 0 || g->pw > 0 || g->ph_end > 0 || g->pw_end > 0);
  const int64_t kernel[2] = { g->kh, g->kw }, strides[2] = { g->sh, g->sw };
  const int64_t pads[4] = { g->ph, g->pw, g->ph_end, g->pw_end }, no_pads[4] = { 0 };
  sl_onnx_tensor x = _sl_onnx_as_4d (ex, _sl_onnx_input_of (ex, n, 0)), y = { NULL, false };
  Onnx__NodeProto *node;

  if (pad_first)
    x = pad_with_zeros (ex, x, g);
  y.name = _sl_onnx_layer_name (ex, "");
  node = _sl_onnx_add_node (b, max ? "MaxPool" : "AveragePool", &x.name, 1, y.name);
  _sl_onnx_attr_ints (b, node, "kernel_shape", kernel, 2);
  _sl_onnx_attr_ints (b, node, "strides", strides, 2);
  _sl_onnx_attr_ints (b, node, "pads", pad_first ? no_pads : pads, 4);
  if (!max)
    _sl_onnx_attr_int (b, node, "count_include_pad", 1);
  return y;
}

static sl_status
global_avgpool_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  (void) m, (void) w;
  n->out = (sl_shape){ n->in.c, 1, 1 };
  return SL_OK;
}

static double
global_avgpool_flops (const sl_node *n)
{
  return (double) _sl_shape_size (n->in);
}

static const float *
global_avgpool_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;
  const sl_node *node = r->node;

  be->ops->global_avgpool_forward (be, r->n, node->in.c, node->in.h * node->in.w, r->in, r->y);
  return r->y;
}

static void
global_avgpool_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;
  const sl_node *node = r->node;

  if (r->dx != NULL)
    be->ops->global_avgpool_backward (be, r->n, node->in.c, node->in.h * node->in.w, r->dy, r->dx,
                                      r->acc);
}

static sl_onnx_tensor
global_avgpool_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_tensor x = _sl_onnx_as_4d (ex, _sl_onnx_input_of (ex, n, 0)),
                 y = { _sl_onnx_layer_name (ex, ""), false };

  _sl_onnx_add_node (_sl_onnx_builder_of (ex), "GlobalAveragePool", &x.name, 1, y.name);
  return y;
}

const sl_layer_class _sl_layer_maxpool = {
  .name = "maxpool",
  .fields = "size stride padding",
  .n_inputs = 1,
  .flags = SL_LAYER_OUTPUT_FREE | SL_LAYER_INPUT_FREE,
  .read = pool_read,
  .shape = pool_shape,
  .write = pool_write,
  .init = _sl_layer_init_nothing,
  .plan = maxpool_plan,
  .flops = pool_flops,
  .forward = pool_forward,
  .backward = pool_backward,
  .onnx = pool_onnx,
};

const sl_layer_class _sl_layer_avgpool = {
  .name = "avgpool",
  .fields = "size stride padding",
  .n_inputs = 1,
  .flags = SL_LAYER_OUTPUT_FREE | SL_LAYER_INPUT_FREE,
  .read = pool_read,
  .shape = pool_shape,
  .write = pool_write,
  .init = _sl_layer_init_nothing,
  .plan = _sl_layer_plan_output,
  .flops = pool_flops,
  .forward = pool_forward,
  .backward = pool_backward,
  .onnx = pool_onnx,
};

const sl_layer_class _sl_layer_global_avgpool = {
  .name = "global_avgpool",
  .fields = "",
  .n_inputs = 1,
  .flags = SL_LAYER_OUTPUT_FREE | SL_LAYER_INPUT_FREE,
  .read = _sl_layer_read_nothing,
  .shape = global_avgpool_shape,
  .write = _sl_layer_write_nothing,
  .init = _sl_layer_init_nothing,
  .plan = _sl_layer_plan_output,
  .flops = global_avgpool_flops,
  .forward = global_avgpool_forward,
  .backward = global_avgpool_backward,
  .onnx = global_avgpool_onnx,
};
