/* sl-layer-conv.c: the conv2d layer kind (grouped, strided, dilated 2-D convolution). */
#include "sl-layer-onnx-private.h"

static sl_status
conv_read (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  int filters = 0, groups = 1;
  sl_status st;

  if ((st = _sl_json_int (obj, "filters", INT_MIN, 1, SL_LAYER_MAX_CHANNELS, &filters, w)) != SL_OK
      || (st = _sl_json_int (obj, "groups", 1, 1, SL_LAYER_MAX_CHANNELS, &groups, w)) != SL_OK
      || (st = _sl_json_bool (obj, "bias", true, &n->bias, w)) != SL_OK
      || (st = _sl_json_init (obj, &n->init, w)) != SL_OK
      || (st = _sl_json_window (obj, n, true, w)) != SL_OK)
    return st;
  n->geom.groups = groups;
  n->geom.out_c = filters;
  return SL_OK;
}

static sl_status
conv_shape (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  const int filters = n->geom.out_c, groups = n->geom.groups;

  (void) m;
  if (n->in.c % groups != 0 || filters % groups != 0)
    return _sl_layer_bad (
        w, "'groups' (%d) must divide both the input channels (%d) and 'filters' (%d)", groups,
        n->in.c, filters);
  n->out = (sl_shape){ filters, n->geom.out_h, n->geom.out_w };
  n->weight_count = (size_t) filters * (n->in.c / groups) * n->geom.kh * n->geom.kw;
  n->param_count = n->weight_count + (n->bias ? (size_t) filters : 0);
  return SL_OK;
}

static void
conv_write (const sl_node *n, cJSON *l)
{
  const sl_conv_desc *g = &n->geom;

  cJSON_AddNumberToObject (l, "filters", g->out_c);
  cJSON_AddItemToObject (l, "kernel", _sl_json_pair_value (g->kh, g->kw));
  cJSON_AddItemToObject (l, "stride", _sl_json_pair_value (g->sh, g->sw));
  cJSON_AddItemToObject (l, "padding", _sl_json_padding_value (n));
  cJSON_AddItemToObject (l, "dilation", _sl_json_pair_value (g->dh, g->dw));
  cJSON_AddNumberToObject (l, "groups", g->groups);
  cJSON_AddBoolToObject (l, "bias", n->bias);
  cJSON_AddStringToObject (l, "init", n->init == SL_INIT_HE ? "he" : "xavier");
}

static void
conv_init (const sl_node *n, float *w, float *state, sl_rng *rng)
{
  const double area = (double) n->geom.kh * n->geom.kw;

  (void) state;
  _sl_layer_init_weights (n, w, area * n->in.c / n->geom.groups,
                          area * n->geom.out_c / n->geom.groups, rng);
}

/* The scratch a backend asks for, or (no backend) the CPU backend's for
 * sz->threads; weight-gradient scratch only where the layer trains (not
 * at inference, nor when frozen). */
static void
conv_plan (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
           sl_layer_needs *needs)
{
  if (sz->backend != NULL)
    {
      needs->workspace = sz->backend->ops->conv2d_workspace (sz->backend, &n->geom, batch);
      if (training)
        needs->grad_scratch = sz->backend->ops->conv2d_grad_scratch (sz->backend, &n->geom);
    }
  else
    {
      needs->workspace = _sl_cpu_conv2d_workspace_floats (&n->geom, batch, sz->threads);
      if (training)
        needs->grad_scratch = _sl_cpu_conv2d_grad_scratch_floats (&n->geom);
    }
}

static double
conv_flops (const sl_node *n)
{
  const double out = (double) _sl_shape_size (n->out);

  return 2.0 * (double) n->weight_count * n->out.h * n->out.w + (n->bias ? out : 0.0);
}

static const float *
conv_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->conv2d_forward (be, &r->node->geom, r->n, r->in, r->w, r->b, r->y, r->p->workspace,
                           r->p->workspace_size);
  return r->y;
}

static void
conv_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  be->ops->conv2d_backward (be, &r->node->geom, r->n, r->in, r->w, r->dy, r->dx, r->acc, r->dw,
                            r->db, r->p->workspace, r->p->workspace_size, r->p->param_grad_scratch);
}

static sl_onnx_tensor
conv_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  sl_onnx_builder *b = _sl_onnx_builder_of (ex);
  const sl_conv_desc *g = &n->geom;
  const float *w = _sl_onnx_params (ex, n);
  const int64_t wdims[4] = { g->out_c, g->in_c / g->groups, g->kh, g->kw }, bdims[1] = { g->out_c };
  const int64_t kernel[2] = { g->kh, g->kw }, strides[2] = { g->sh, g->sw };
  const int64_t pads[4] = { g->ph, g->pw, g->ph_end, g->pw_end }, dilations[2] = { g->dh, g->dw };
  sl_onnx_tensor x = _sl_onnx_as_4d (ex, _sl_onnx_input_of (ex, n, 0)), y = { NULL, false };
  const char *ins[3] = { x.name, _sl_onnx_add_weights (ex, ".weight", wdims, 4, w), NULL };
  Onnx__NodeProto *node;

  if (n->bias)
    ins[2] = _sl_onnx_add_weights (ex, ".bias", bdims, 1, w + n->weight_count);
  y.name = _sl_onnx_layer_name (ex, "");
  node = _sl_onnx_add_node (b, "Conv", ins, n->bias ? 3 : 2, y.name);
  _sl_onnx_attr_ints (b, node, "kernel_shape", kernel, 2);
  _sl_onnx_attr_ints (b, node, "strides", strides, 2);
  _sl_onnx_attr_ints (b, node, "pads", pads, 4);
  _sl_onnx_attr_ints (b, node, "dilations", dilations, 2);
  _sl_onnx_attr_int (b, node, "group", g->groups);
  return y;
}

const sl_layer_class _sl_layer_conv2d = {
  .name = "conv2d",
  .fields = "filters kernel stride padding dilation groups bias init",
  .n_inputs = 1,
  .flags = SL_LAYER_OUTPUT_FREE,
  .read = conv_read,
  .shape = conv_shape,
  .write = conv_write,
  .init = conv_init,
  .plan = conv_plan,
  .flops = conv_flops,
  .forward = conv_forward,
  .backward = conv_backward,
  .onnx = conv_onnx,
};
