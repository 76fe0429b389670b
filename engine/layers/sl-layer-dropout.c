/* sl-layer-dropout.c: the dropout layer kind (inverted dropout; the identity at inference). */
#include "sl-layer-onnx-private.h"

static sl_status
dropout_read (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  return _sl_json_float (obj, "rate", 0.5, 0.0, 0.95, &n->rate, w);
}

static void
dropout_write (const sl_node *n, cJSON *l)
{
  cJSON_AddNumberToObject (l, "rate", _sl_json_tidy_float (n->rate));
}

/* At inference it passes its input on; in training it keeps its mask. */
static void
dropout_plan (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
              sl_layer_needs *needs)
{
  (void) sz;
  needs->out = training;
  if (training)
    needs->saved = _sl_align16 ((size_t) batch * _sl_shape_size (n->out));
}

static double
dropout_flops (const sl_node *n)
{
  (void) n;
  return 0.0;
}

static const float *
dropout_forward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  if (!r->training || r->node->rate <= 0.0f)
    return r->in; /* identity at inference */
  be->ops->dropout_forward (be, r->len, r->node->rate,
                            r->noise_seed ^ (0xd1b54a32d192ed03ull * (uint64_t) (r->index + 1)),
                            r->in, r->p->saved[r->index], r->y);
  return r->y;
}

static void
dropout_backward (const sl_layer_run *r)
{
  sl_backend *be = r->be;

  /* At inference (a backward pass for Grad-CAM) it was the identity. */
  if (r->dx != NULL && r->training && r->node->rate > 0.0f)
    be->ops->mul_backward (be, r->len, r->p->saved[r->index], r->dy, r->dx, r->acc);
  else if (r->dx != NULL)
    be->ops->copy_grad (be, r->len, r->dy, r->dx, r->acc);
}

static sl_onnx_tensor
dropout_onnx (sl_onnx_exporter *ex, const sl_node *n)
{
  return _sl_onnx_input_of (ex, n, 0); /* identity at inference */
}

const sl_layer_class _sl_layer_dropout = {
  .name = "dropout",
  .fields = "rate",
  .n_inputs = 1,
  .flags = SL_LAYER_INPUT_FREE,
  .read = dropout_read,
  .shape = _sl_layer_shape_same,
  .write = dropout_write,
  .init = _sl_layer_init_nothing,
  .plan = dropout_plan,
  .flops = dropout_flops,
  .forward = dropout_forward,
  .backward = dropout_backward,
  .onnx = dropout_onnx,
};
