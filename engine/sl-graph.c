/* sl-graph.c: plans a model's buffers once per batch size and runs forward and backward passes. */
#include "sl-model-private.h"
#include "sl-error-private.h"

#include <stdio.h>
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

/* Where every buffer of a plan sits in its two arenas (offsets in floats and
 * in int32s; SIZE_MAX where a node has none). */
typedef struct
{
  size_t *out_at, *grad_at, *saved_at, *arg_at; /* per node */
  size_t input_grad_at, ws_at, scratch_at, stats_at, input_at, probs_at, labels_at;
  size_t ws; /* workspace floats */
  size_t floats, ints;
} plan_layout;

static void
layout_clear (plan_layout *l)
{
  free (l->out_at);
  memset (l, 0, sizeof *l);
}

static size_t
conv_workspace (const sl_plan_sizer *sz, const sl_conv_desc *d, int batch)
{
  if (sz->backend != NULL)
    return sz->backend->ops->conv2d_workspace (sz->backend, d, batch);
  return _sl_cpu_conv2d_workspace_floats (d, sz->threads);
}

static size_t
conv_grad_scratch (const sl_plan_sizer *sz, const sl_conv_desc *d)
{
  if (sz->backend != NULL)
    return sz->backend->ops->conv2d_grad_scratch (sz->backend, d);
  return _sl_cpu_conv2d_grad_scratch_floats (d);
}

/* Lays out one plan without allocating it. sl_plan_new and the cost
 * estimate (_sl_plan_measure) share this, so what a model is said to need
 * is what its first prediction allocates. node_bytes and node_ws, when not
 * NULL, receive per node the bytes of the buffers it owns and of the
 * convolution workspace it asks for. */
static sl_status
plan_layout_new (const sl_model *m, int batch, bool training, bool want_input_grad,
                 const sl_plan_sizer *sz, plan_layout *l, uint64_t *node_bytes, uint64_t *node_ws,
                 sl_error *err)
{
  size_t floats = 0, ints = 0, ws = 0, scratch = 0;
  const size_t B = (size_t) batch;
  int *readers = calloc ((size_t) m->n_nodes + 1, sizeof (int));

  memset (l, 0, sizeof *l);
  l->out_at = calloc ((size_t) m->n_nodes * 4, sizeof (size_t));
  if (l->out_at == NULL || readers == NULL)
    {
      free (readers);
      layout_clear (l);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
    }
  l->grad_at = l->out_at + m->n_nodes;
  l->saved_at = l->grad_at + m->n_nodes;
  l->arg_at = l->saved_at + m->n_nodes;

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
      const size_t floats_before = floats, ints_before = ints;

      l->out_at[i] = l->grad_at[i] = l->saved_at[i] = l->arg_at[i] = SIZE_MAX;
      if (node_ws != NULL)
        node_ws[i] = 0;
      if (n->kind == SL_LAYER_FLATTEN)
        {
          if (node_bytes != NULL)
            node_bytes[i] = 0;
          continue;
        }
      if (runs_in_place (m, readers, i))
        {
          l->out_at[i] = l->out_at[n->inputs[0]];
          l->grad_at[i] = l->grad_at[n->inputs[0]];
          if (node_bytes != NULL)
            node_bytes[i] = 0;
          continue;
        }
      if (n->kind != SL_LAYER_DROPOUT || training)
        {
          l->out_at[i] = floats;
          floats += len;
        }
      if (training)
        {
          l->grad_at[i] = floats;
          floats += len;
        }
      if (n->kind == SL_LAYER_BATCHNORM)
        {
          l->saved_at[i] = floats;
          floats += align16 (2 * (size_t) n->in.c);
        }
      if (n->kind == SL_LAYER_DROPOUT && training)
        {
          l->saved_at[i] = floats;
          floats += len;
        }
      if (n->kind == SL_LAYER_MAXPOOL && training)
        {
          l->arg_at[i] = ints;
          ints += len;
        }
      if (n->kind == SL_LAYER_CONV2D)
        {
          size_t w = conv_workspace (sz, &n->geom, batch);
          size_t s = conv_grad_scratch (sz, &n->geom);
          ws = w > ws ? w : ws;
          scratch = s > scratch ? s : scratch;
          if (node_ws != NULL)
            node_ws[i] = (uint64_t) align16 (w) * sizeof (float);
        }
      if (node_bytes != NULL)
        node_bytes[i] = (uint64_t) (floats - floats_before) * sizeof (float)
                        + (uint64_t) (ints - ints_before) * sizeof (int32_t);
    }
  const size_t in_size = (size_t) m->channels * m->height * m->width;
  l->input_grad_at = floats;
  if (want_input_grad)
    floats += align16 (B * in_size);
  /* Device libraries (cuDNN) want their scratch on a 256-byte boundary. */
  if (!sz->host_memory)
    floats = (floats + 63) & ~(size_t) 63;
  l->ws_at = floats;
  floats += align16 (ws);
  l->scratch_at = floats;
  if (training)
    floats += align16 (scratch * (size_t) m->threads);
  /* Doubles, 64-byte aligned like every offset here. */
  l->stats_at = floats;
  floats += align16 (2 * SL_STAT_COUNT);
  l->input_at = floats;
  l->probs_at = 0;
  if (!sz->host_memory)
    {
      floats += align16 (B * in_size);
      l->probs_at = floats;
      floats += align16 (B * (size_t) m->classes);
    }
  l->labels_at = ints;
  ints += align16 (B);
  l->ws = ws;
  l->floats = floats;
  l->ints = ints;
  free (readers);
  return SL_OK;
}

static uint64_t
layout_bytes (const plan_layout *l)
{
  return (uint64_t) l->floats * sizeof (float) + (uint64_t) l->ints * sizeof (int32_t);
}

sl_status
_sl_plan_measure (const sl_model *m, int batch, const sl_plan_sizer *sizer, uint64_t *bytes,
                  uint64_t *node_bytes, uint64_t *node_ws, sl_error *err)
{
  plan_layout l;
  sl_status st = plan_layout_new (m, batch, false, false, sizer, &l, node_bytes, node_ws, err);

  *bytes = st == SL_OK ? layout_bytes (&l) : 0;
  layout_clear (&l);
  return st;
}

/* "1.5 GB", "12.0 MB": the sizes that limit messages quote. */
void
_sl_format_bytes (uint64_t bytes, char *buf, size_t size)
{
  if (bytes >= 1000000000ull)
    snprintf (buf, size, "%.1f GB", bytes / 1e9);
  else if (bytes >= 1000000ull)
    snprintf (buf, size, "%.1f MB", bytes / 1e6);
  else
    snprintf (buf, size, "%.1f kB", bytes / 1e3);
}

sl_status
sl_plan_new (sl_model *m, int batch, bool training, bool want_input_grad, sl_plan **out,
             sl_error *err)
{
  sl_backend *be = m->backend;
  const sl_backend_ops *ops = be->ops;
  const sl_plan_sizer sizer
      = { .backend = be, .threads = m->threads, .host_memory = ops->host_memory };
  plan_private *pp;
  sl_plan *p;
  plan_layout l;
  sl_status st;

  *out = NULL;
  st = plan_layout_new (m, batch, training, want_input_grad, &sizer, &l, NULL, NULL, err);
  if (st != SL_OK)
    return st;
  /* A backend that cannot plan a layer (conv2d_workspace) says so here. */
  st = ops->sync (be, err);
  if (st == SL_OK && m->plan_limit > 0 && layout_bytes (&l) > m->plan_limit)
    {
      char need[32], limit[32];

      _sl_format_bytes (layout_bytes (&l), need, sizeof need);
      _sl_format_bytes (m->plan_limit, limit, sizeof limit);
      st = sl_error_set (err, SL_ERR_LIMIT,
                         "a batch of %d needs %s of working memory, more than the %s the memory "
                         "limit leaves for it",
                         batch, need, limit);
    }
  if (st != SL_OK)
    {
      layout_clear (&l);
      return st;
    }
  pp = calloc (1, sizeof *pp);
  if (pp == NULL)
    {
      layout_clear (&l);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
    }
  p = &pp->plan;
  p->batch = batch;
  p->training = training;
  p->out = calloc ((size_t) m->n_nodes, sizeof (float *));
  p->grad = calloc ((size_t) m->n_nodes, sizeof (float *));
  p->saved = calloc ((size_t) m->n_nodes, sizeof (float *));
  p->argmax = calloc ((size_t) m->n_nodes, sizeof (int32_t *));
  pp->own = calloc ((size_t) m->n_nodes, sizeof (float *));
  pp->written = calloc ((size_t) m->n_nodes + 1, sizeof (bool));
  if (!p->out || !p->grad || !p->saved || !p->argmax || !pp->own || !pp->written)
    {
      layout_clear (&l);
      sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
    }
  p->arena = ops->alloc (be, l.floats * sizeof (float));
  p->index_arena = ops->alloc (be, l.ints * sizeof (int32_t));
  if (p->arena == NULL || p->index_arena == NULL)
    {
      double mb = layout_bytes (&l) / 1e6;

      layout_clear (&l);
      sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM,
                           "out of %s memory: %.0f MB of buffers for a batch of %d; try a smaller "
                           "batch size",
                           ops->host_memory ? "main" : "GPU", mb, batch);
    }

  for (int i = 0; i < m->n_nodes; i++)
    {
      if (l.out_at[i] != SIZE_MAX)
        p->out[i] = pp->own[i] = p->arena + l.out_at[i];
      if (l.grad_at[i] != SIZE_MAX)
        p->grad[i] = p->arena + l.grad_at[i];
      if (l.saved_at[i] != SIZE_MAX)
        p->saved[i] = p->arena + l.saved_at[i];
      if (l.arg_at[i] != SIZE_MAX)
        p->argmax[i] = p->index_arena + l.arg_at[i];
    }
  if (want_input_grad)
    p->input_grad = p->arena + l.input_grad_at;
  p->workspace = p->arena + l.ws_at;
  p->workspace_size = l.ws;
  p->param_grad_scratch = training ? p->arena + l.scratch_at : NULL;
  p->logits_grad = training ? p->grad[grad_root (m, m->n_nodes - 1)] : NULL;
  p->stats = (double *) (p->arena + l.stats_at);
  p->labels = p->index_arena + l.labels_at;
  if (!ops->host_memory)
    {
      p->input = p->arena + l.input_at;
      p->probs = p->arena + l.probs_at;
    }
  layout_clear (&l);
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
