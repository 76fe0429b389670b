/* sl-graph-fuse.c: inference plans run batch-norm folded into the convolution or dense layer before it, a residual sum and that layer's activation on its output, with filters packed once. */
#include "sl-graph-fuse-private.h"
#include "sl-layer-private.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* The only node that reads node i's output, and (*slot) which of its inputs
 * that is; -1 when none, several or the loss read it. */
static int
only_reader (const sl_model *m, const int *readers, int i, int *slot)
{
  if (readers[i] != 1)
    return -1;
  for (int j = i + 1; j < m->n_nodes; j++)
    for (int k = 0; k < m->nodes[j].n_inputs; k++)
      if (m->nodes[j].inputs[k] == i)
        {
          *slot = k;
          return j;
        }
  return -1; /* the loss reads it */
}

/* The only node that reads node i's output, and it alone, or -1. */
static int
sole_reader (const sl_model *m, const int *readers, int i)
{
  int slot, j = only_reader (m, readers, i, &slot);

  return j >= 0 && m->nodes[j].n_inputs == 1 ? j : -1;
}

/* The residual sum that alone reads node `last` of head's chain and adds to
 * it an output computed before the head runs (*other, a node: not the
 * images), or -1. */
static int
sum_reader (const sl_model *m, const int *readers, int last, int head, int *other)
{
  int slot, j = only_reader (m, readers, last, &slot);
  const sl_node *a = j >= 0 ? &m->nodes[j] : NULL;

  if (a == NULL || a->kind != SL_LAYER_ADD || a->n_inputs != 2)
    return -1;
  *other = a->inputs[1 - slot];
  return *other >= 0 && *other != last && *other < head ? j : -1;
}

/* Floats of convolution n's packed filters on backend be (NULL: the CPU's). */
static size_t
pack_floats (sl_backend *be, const sl_node *n)
{
  return be != NULL ? be->ops->conv2d_pack_floats (be, &n->geom)
                    : _sl_cpu_conv2d_pack_floats (NULL, &n->geom);
}

bool
_sl_fuse_is_rectifier (sl_layer_kind kind)
{
  return kind == SL_LAYER_RELU || kind == SL_LAYER_RELU6 || kind == SL_LAYER_LEAKY_RELU;
}

sl_activation
_sl_fuse_activation_of (sl_layer_kind kind)
{
  return kind == SL_LAYER_RELU6        ? SL_ACT_RELU6
         : kind == SL_LAYER_LEAKY_RELU ? SL_ACT_LEAKY_RELU
                                       : SL_ACT_RELU;
}

sl_fuse *
_sl_fuse_new (const sl_model *m, sl_backend *be, const int *readers, size_t *fold_floats)
{
  sl_fuse *f = malloc (sizeof *f * (size_t) m->n_nodes);
  /* No backend (a model measured before it has one): the CPU backend's. */
  const bool conv_fused = be == NULL || be->ops->conv2d_forward_fused != NULL;
  size_t floats = 0;
  bool any = false;

  *fold_floats = 0;
  if (f == NULL)
    return NULL; /* unfused: slower, the same results to rounding */
  for (int i = 0; i < m->n_nodes; i++)
    f[i] = (sl_fuse){ .head = -1, .bn = -1, .residual = -1, .act = -1, .pack_at = SIZE_MAX };
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      int next, last = i, sum, other;
      size_t pack;

      if ((n->kind != SL_LAYER_CONV2D && n->kind != SL_LAYER_DENSE) || f[i].head >= 0)
        continue;
      pack = n->kind == SL_LAYER_CONV2D && conv_fused ? pack_floats (be, n) : 0;
      if (pack > 0)
        {
          f[i].pack_at = floats;
          floats += _sl_align16 (pack);
          any = true;
        }
      next = sole_reader (m, readers, i);
      if (next >= 0 && m->nodes[next].kind == SL_LAYER_BATCHNORM)
        {
          f[i].bn = next;
          f[next].head = i;
          f[i].fold_at = floats;
          floats += _sl_align16 (n->weight_count + (size_t) n->out.c);
          last = next;
          next = sole_reader (m, readers, next);
        }
      /* The sum adds the other output onto the convolution's as its kernel
       * stores it (the same bits: a float sum does not depend on the order
       * of its two terms). */
      if (n->kind == SL_LAYER_CONV2D && conv_fused
          && (sum = sum_reader (m, readers, last, i, &other)) >= 0)
        {
          f[i].residual = other;
          f[sum].head = i;
          last = sum;
          next = sole_reader (m, readers, sum);
        }
      if (next >= 0 && _sl_fuse_is_rectifier (m->nodes[next].kind))
        {
          const int pool = sole_reader (m, readers, next);

          f[next].head = i;
          last = next;
          /* A max pool alone after it: the rectifier runs on the pool's
           * output instead, a quarter of the values (max commutes with a
           * rectifier: both keep order, and are exact). */
          if (pool >= 0 && m->nodes[pool].kind == SL_LAYER_MAXPOOL)
            f[pool].act = next;
          else
            f[i].act = next;
        }
      any = any || last != i;
    }
  if (!any)
    {
      free (f);
      return NULL;
    }
  *fold_floats = floats;
  return f;
}

/* w' = w * s and b' = (b - mean) * s + beta per output channel, s = gamma /
 * sqrt (var + epsilon) as the CPU's inference batch-norm computes it. */
static void
fold_one (const sl_model *m, const sl_node *n, const sl_node *bn, float *out)
{
  const float *w = m->host_params + n->param_offset;
  const float *gamma = m->host_params + bn->param_offset, *beta = gamma + bn->in.c;
  const float *mean = m->host_state + bn->state_offset, *var = mean + bn->in.c;
  const int channels = n->out.c;
  const size_t per = n->weight_count / (size_t) channels;
  float *wf = out, *bf = out + n->weight_count;

  for (int c = 0; c < channels; c++)
    {
      const float invstd = 1.0f / sqrtf (var[c] + bn->epsilon);
      const float s = gamma[c] * invstd;
      const float b = n->bias ? w[n->weight_count + c] : 0.0f;

      for (size_t k = 0; k < per; k++)
        wf[c * per + k] = w[c * per + k] * s;
      bf[c] = (b - mean[c]) * s + beta[c];
    }
}

void
_sl_fuse_fold (const sl_model *m, sl_backend *be, const sl_fuse *f, float *folded)
{
  for (int i = 0; i < m->n_nodes; i++)
    if (f[i].bn >= 0)
      fold_one (m, &m->nodes[i], &m->nodes[f[i].bn], folded + f[i].fold_at);
  /* Then the filters, folded or the model's own. */
  for (int i = 0; i < m->n_nodes; i++)
    if (f[i].pack_at != SIZE_MAX)
      {
        const sl_node *n = &m->nodes[i];
        const float *w = f[i].bn >= 0 ? folded + f[i].fold_at : m->host_params + n->param_offset;
        const float *b = f[i].bn >= 0 || n->bias ? w + n->weight_count : NULL;

        be->ops->conv2d_pack (be, &n->geom, w, b, folded + f[i].pack_at);
      }
}

int
_sl_fuse_passed_input (const sl_model *m, const sl_fuse *f, int i)
{
  const sl_node *n = &m->nodes[i];

  if (n->kind == SL_LAYER_ADD && f[i].head >= 0 && n->inputs[0] == f[f[i].head].residual)
    return n->inputs[1];
  return n->inputs[0];
}
