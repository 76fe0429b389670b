/* sl-graph.c: plans a model's buffers once per batch size and runs forward and backward passes. */
#include "sl-model-private.h"
#include "sl-error-private.h"

#include <stdlib.h>
#include <string.h>

/* Extra per-plan bookkeeping lives behind the public struct. */
typedef struct
{
  sl_plan plan;
  float **own;   /* per node: the buffer it owns (aliases may point elsewhere) */
  bool *written; /* per node + 1 (model input): gradient already holds a value */
} plan_private;

static int
grad_root (const sl_model *m, int index)
{
  while (index != SL_INPUT_NODE && m->nodes[index].kind == SL_LAYER_FLATTEN)
    index = m->nodes[index].inputs[0];
  return index;
}

static bool
is_rectifier (sl_layer_kind kind)
{
  return kind == SL_LAYER_RELU || kind == SL_LAYER_RELU6 || kind == SL_LAYER_LEAKY_RELU;
}

/* A rectifier may overwrite its input when nothing else reads that input and
 * the input's own backward pass does not need its output: it then shares the
 * input's activation and gradient buffers (its backward reads only its output). */
static bool
runs_in_place (const sl_model *m, const int *readers, int i)
{
  const sl_node *n = &m->nodes[i];
  int in = n->inputs[0];

  if (!is_rectifier (n->kind) || in == SL_INPUT_NODE || readers[in] != 1)
    return false;
  switch (m->nodes[in].kind)
    {
      case SL_LAYER_CONV2D:
      case SL_LAYER_DENSE:
      case SL_LAYER_BATCHNORM:
      case SL_LAYER_MAXPOOL:
      case SL_LAYER_AVGPOOL:
      case SL_LAYER_GLOBAL_AVGPOOL:
      case SL_LAYER_ADD: return true;
      default: /* activations need their outputs; flatten and dropout may alias */ return false;
    }
}

static size_t
align16 (size_t n)
{
  return (n + 15) & ~(size_t) 15;
}

sl_status
sl_plan_new (sl_model *m, int batch, bool training, bool want_input_grad, sl_plan **out,
             sl_error *err)
{
  sl_backend *be = m->backend;
  const sl_backend_ops *ops = be->ops;
  plan_private *pp = calloc (1, sizeof *pp);
  sl_plan *p = &pp->plan;
  size_t floats = 0, ints = 0, ws = 0, scratch = 0;
  size_t *out_at, *grad_at, *saved_at, *arg_at;
  const size_t B = (size_t) batch;

  *out = NULL;
  if (pp == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
  p->batch = batch;
  p->training = training;
  p->out = calloc ((size_t) m->n_nodes, sizeof (float *));
  p->grad = calloc ((size_t) m->n_nodes, sizeof (float *));
  p->saved = calloc ((size_t) m->n_nodes, sizeof (float *));
  p->argmax = calloc ((size_t) m->n_nodes, sizeof (int32_t *));
  pp->own = calloc ((size_t) m->n_nodes, sizeof (float *));
  pp->written = calloc ((size_t) m->n_nodes + 1, sizeof (bool));
  out_at = calloc ((size_t) m->n_nodes * 4, sizeof (size_t));
  int *readers = calloc ((size_t) m->n_nodes + 1, sizeof (int));
  if (!p->out || !p->grad || !p->saved || !p->argmax || !pp->own || !pp->written || !out_at
      || !readers)
    {
      free (out_at);
      free (readers);
      sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
    }
  grad_at = out_at + m->n_nodes;
  saved_at = grad_at + m->n_nodes;
  arg_at = saved_at + m->n_nodes;

  for (int i = 0; i < m->n_nodes; i++)
    for (int k = 0; k < m->nodes[i].n_inputs; k++)
      if (m->nodes[i].inputs[k] != SL_INPUT_NODE)
        readers[m->nodes[i].inputs[k]]++;
  readers[m->n_nodes - 1]++; /* the loss */

  /* First pass: offsets into one float arena and one index arena. */
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      size_t len = align16 (B * sl_shape_size (n->out));

      out_at[i] = grad_at[i] = saved_at[i] = arg_at[i] = SIZE_MAX;
      if (n->kind == SL_LAYER_FLATTEN)
        continue;
      if (runs_in_place (m, readers, i))
        {
          out_at[i] = out_at[n->inputs[0]];
          grad_at[i] = grad_at[n->inputs[0]];
          continue;
        }
      if (n->kind != SL_LAYER_DROPOUT || training)
        {
          out_at[i] = floats;
          floats += len;
        }
      if (training)
        {
          grad_at[i] = floats;
          floats += len;
        }
      if (n->kind == SL_LAYER_BATCHNORM)
        {
          saved_at[i] = floats;
          floats += align16 (2 * (size_t) n->in.c);
        }
      if (n->kind == SL_LAYER_DROPOUT && training)
        {
          saved_at[i] = floats;
          floats += len;
        }
      if (n->kind == SL_LAYER_MAXPOOL && training)
        {
          arg_at[i] = ints;
          ints += len;
        }
      if (n->kind == SL_LAYER_CONV2D)
        {
          size_t w = ops->conv2d_workspace (be, &n->geom, batch);
          size_t s = ops->conv2d_grad_scratch (be, &n->geom);
          ws = w > ws ? w : ws;
          scratch = s > scratch ? s : scratch;
        }
    }
  const size_t in_size = (size_t) m->channels * m->height * m->width;
  size_t input_grad_at = floats;
  if (want_input_grad)
    floats += align16 (B * in_size);
  /* Device libraries (cuDNN) want their scratch on a 256-byte boundary. */
  if (!ops->host_memory)
    floats = (floats + 63) & ~(size_t) 63;
  size_t ws_at = floats;
  floats += align16 (ws);
  size_t scratch_at = floats;
  if (training)
    floats += align16 (scratch * (size_t) m->threads);
  /* Doubles, 64-byte aligned like every offset here. */
  size_t stats_at = floats;
  floats += align16 (2 * SL_STAT_COUNT);
  size_t input_at = floats, probs_at = 0;
  if (!ops->host_memory)
    {
      floats += align16 (B * in_size);
      probs_at = floats;
      floats += align16 (B * (size_t) m->classes);
    }
  size_t labels_at = ints;
  ints += align16 (B);

  free (readers);
  /* A backend that cannot plan a layer (conv2d_workspace) says so here. */
  sl_status planned = ops->sync (be, err);
  if (planned != SL_OK)
    {
      free (out_at);
      sl_plan_free (m, p);
      return planned;
    }
  p->arena = ops->alloc (be, floats * sizeof (float));
  p->index_arena = ops->alloc (be, ints * sizeof (int32_t));
  if (p->arena == NULL || p->index_arena == NULL)
    {
      free (out_at);
      sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM,
                           "out of %s memory: %.0f MB of buffers for a batch of %d; try a smaller "
                           "batch size",
                           ops->host_memory ? "main" : "GPU", (floats * 4.0 + ints * 4.0) / 1e6,
                           batch);
    }

  for (int i = 0; i < m->n_nodes; i++)
    {
      if (out_at[i] != SIZE_MAX)
        p->out[i] = pp->own[i] = p->arena + out_at[i];
      if (grad_at[i] != SIZE_MAX)
        p->grad[i] = p->arena + grad_at[i];
      if (saved_at[i] != SIZE_MAX)
        p->saved[i] = p->arena + saved_at[i];
      if (arg_at[i] != SIZE_MAX)
        p->argmax[i] = p->index_arena + arg_at[i];
    }
  if (want_input_grad)
    p->input_grad = p->arena + input_grad_at;
  p->workspace = p->arena + ws_at;
  p->workspace_size = ws;
  p->param_grad_scratch = training ? p->arena + scratch_at : NULL;
  p->logits_grad = training ? p->grad[grad_root (m, m->n_nodes - 1)] : NULL;
  p->stats = (double *) (p->arena + stats_at);
  p->labels = p->index_arena + labels_at;
  if (!ops->host_memory)
    {
      p->input = p->arena + input_at;
      p->probs = p->arena + probs_at;
    }
  free (out_at);
  *out = p;
  return SL_OK;
}

void
sl_plan_free (sl_model *m, sl_plan *p)
{
  plan_private *pp = (plan_private *) p;

  if (p == NULL)
    return;
  if (p->arena != NULL)
    m->backend->ops->release (m->backend, p->arena);
  if (p->index_arena != NULL)
    m->backend->ops->release (m->backend, p->index_arena);
  free (p->out);
  free (p->grad);
  free (p->saved);
  free (p->argmax);
  free (pp->own);
  free (pp->written);
  free (pp);
}

static const float *
node_input (const sl_plan *p, const sl_node *n, int k, const float *x)
{
  return n->inputs[k] == SL_INPUT_NODE ? x : p->out[n->inputs[k]];
}

static sl_activation
activation_of (sl_layer_kind kind)
{
  switch (kind)
    {
      case SL_LAYER_RELU6: return SL_ACT_RELU6;
      case SL_LAYER_LEAKY_RELU: return SL_ACT_LEAKY_RELU;
      case SL_LAYER_SIGMOID: return SL_ACT_SIGMOID;
      default: return SL_ACT_RELU;
    }
}

const float *
sl_graph_forward (sl_model *m, sl_plan *p, const float *x, int n, bool training,
                  uint64_t noise_seed)
{
  plan_private *pp = (plan_private *) p;
  sl_backend *be = m->backend;
  const sl_backend_ops *ops = be->ops;

  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *node = &m->nodes[i];
      const float *in = node_input (p, node, 0, x);
      const float *w = m->params + node->param_offset;
      const float *b = node->bias ? w + node->weight_count : NULL;
      const size_t len = (size_t) n * sl_shape_size (node->out);
      float *y = pp->own[i];

      switch (node->kind)
        {
          case SL_LAYER_CONV2D:
            ops->conv2d_forward (be, &node->geom, n, in, w, b, y, p->workspace, p->workspace_size);
            break;
          case SL_LAYER_DENSE:
            ops->dense_forward (be, n, (int) sl_shape_size (node->in), node->units, in, w, b, y);
            break;
          case SL_LAYER_BATCHNORM:
            ops->batchnorm_forward (be, training, n, node->in.c, node->in.h * node->in.w, in, w,
                                    w + node->in.c, m->state + node->state_offset,
                                    m->state + node->state_offset + node->in.c, node->epsilon,
                                    node->momentum, p->saved[i], y);
            break;
          case SL_LAYER_RELU:
          case SL_LAYER_RELU6:
          case SL_LAYER_LEAKY_RELU:
          case SL_LAYER_SIGMOID:
            ops->activation_forward (be, activation_of (node->kind), node->slope, len, in, y);
            break;
          case SL_LAYER_MAXPOOL:
          case SL_LAYER_AVGPOOL:
            ops->pool_forward (be, node->kind == SL_LAYER_MAXPOOL ? SL_POOL_MAX : SL_POOL_AVG,
                               &node->geom, n, in, y, training ? p->argmax[i] : NULL);
            break;
          case SL_LAYER_GLOBAL_AVGPOOL:
            ops->global_avgpool_forward (be, n, node->in.c, node->in.h * node->in.w, in, y);
            break;
          case SL_LAYER_FLATTEN: y = (float *) in; break;
          case SL_LAYER_DROPOUT:
            if (training && node->rate > 0.0f)
              ops->dropout_forward (be, len, node->rate,
                                    noise_seed ^ (0xd1b54a32d192ed03ull * (uint64_t) (i + 1)), in,
                                    p->saved[i], y);
            else
              y = (float *) in; /* identity at inference */
            break;
          case SL_LAYER_ADD: ops->add_forward (be, len, in, node_input (p, node, 1, x), y); break;
        }
      p->out[i] = y;
    }
  return p->out[m->n_nodes - 1];
}

static float *
grad_of (const sl_model *m, sl_plan *p, int index)
{
  int r = grad_root (m, index);

  return r == SL_INPUT_NODE ? p->input_grad : p->grad[r];
}

void
sl_graph_backward (sl_model *m, sl_plan *p, const float *x, int n, float *param_grads)
{
  plan_private *pp = (plan_private *) p;
  sl_backend *be = m->backend;
  const sl_backend_ops *ops = be->ops;
  bool *written = pp->written; /* indexed by root + 1 */

  memset (written, 0, sizeof (bool) * ((size_t) m->n_nodes + 1));
  written[grad_root (m, m->n_nodes - 1) + 1] = true;

  for (int i = m->n_nodes - 1; i >= 0; i--)
    {
      const sl_node *node = &m->nodes[i];
      const float *in = node_input (p, node, 0, x);
      const float *w = m->params + node->param_offset;
      float *dw = param_grads + node->param_offset;
      float *db = node->bias ? dw + node->weight_count : NULL;
      const size_t len = (size_t) n * sl_shape_size (node->out);
      const float *dy = p->grad[i];
      int r0 = grad_root (m, node->inputs[0]);
      float *dx = grad_of (m, p, node->inputs[0]);
      bool acc = written[r0 + 1];

      if (node->kind == SL_LAYER_FLATTEN)
        continue;
      if (!written[i + 1])
        {
          /* Nothing reads this layer's output: its parameters get no gradient. */
          ops->zero (be, dw, sizeof (float) * node->param_count);
          continue;
        }
      switch (node->kind)
        {
          case SL_LAYER_CONV2D:
            ops->conv2d_backward (be, &node->geom, n, in, w, dy, dx, acc, dw, db, p->workspace,
                                  p->workspace_size, p->param_grad_scratch);
            break;
          case SL_LAYER_DENSE:
            ops->dense_backward (be, n, (int) sl_shape_size (node->in), node->units, in, w, dy, dx,
                                 acc, dw, db);
            break;
          case SL_LAYER_BATCHNORM:
            ops->batchnorm_backward (be, n, node->in.c, node->in.h * node->in.w, in, w, p->saved[i],
                                     node->epsilon, dy, dx, acc, dw, dw + node->in.c);
            break;
          case SL_LAYER_RELU:
          case SL_LAYER_RELU6:
          case SL_LAYER_LEAKY_RELU:
          case SL_LAYER_SIGMOID:
            if (dx != NULL)
              ops->activation_backward (be, activation_of (node->kind), node->slope, len, p->out[i],
                                        dy, dx, acc);
            break;
          case SL_LAYER_MAXPOOL:
          case SL_LAYER_AVGPOOL:
            if (dx != NULL)
              ops->pool_backward (be, node->kind == SL_LAYER_MAXPOOL ? SL_POOL_MAX : SL_POOL_AVG,
                                  &node->geom, n, dy, p->argmax[i], dx, acc);
            break;
          case SL_LAYER_GLOBAL_AVGPOOL:
            if (dx != NULL)
              ops->global_avgpool_backward (be, n, node->in.c, node->in.h * node->in.w, dy, dx,
                                            acc);
            break;
          case SL_LAYER_DROPOUT:
            if (dx != NULL && node->rate > 0.0f)
              ops->mul_backward (be, len, p->saved[i], dy, dx, acc);
            else if (dx != NULL)
              ops->copy_grad (be, len, dy, dx, acc);
            break;
          case SL_LAYER_ADD:
            if (dx != NULL)
              ops->copy_grad (be, len, dy, dx, acc);
            written[r0 + 1] = true;
            {
              int r1 = grad_root (m, node->inputs[1]);
              float *dx1 = grad_of (m, p, node->inputs[1]);
              if (dx1 != NULL)
                ops->copy_grad (be, len, dy, dx1, written[r1 + 1]);
              written[r1 + 1] = true;
            }
            break;
          case SL_LAYER_FLATTEN: break;
        }
      written[r0 + 1] = true;
    }
}
