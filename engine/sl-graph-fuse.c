/* sl-graph-fuse.c: inference plans run batch-norm folded into the convolution or dense layer before it, and that layer's activation on its output. */
#include "sl-graph-fuse-private.h"
#include "sl-layer-private.h"

#include <math.h>
#include <stdlib.h>

/* The only node that reads node i's output, or -1 (none, several, or the loss). */
static int
sole_reader (const sl_model *m, const int *readers, int i)
{
  if (readers[i] != 1)
    return -1;
  for (int j = i + 1; j < m->n_nodes; j++)
    for (int k = 0; k < m->nodes[j].n_inputs; k++)
      if (m->nodes[j].inputs[k] == i)
        return m->nodes[j].n_inputs == 1 ? j : -1;
  return -1; /* the loss reads it */
}

static bool
is_rectifier (sl_layer_kind kind)
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
_sl_fuse_new (const sl_model *m, const int *readers, size_t *fold_floats)
{
  sl_fuse *f = malloc (sizeof *f * (size_t) m->n_nodes);
  size_t floats = 0;
  bool any = false;

  *fold_floats = 0;
  if (f == NULL)
    return NULL; /* unfused: slower, same results */
  for (int i = 0; i < m->n_nodes; i++)
    f[i] = (sl_fuse){ .head = -1, .bn = -1, .act = -1, .fold_at = 0 };
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      int next, last = i;

      if ((n->kind != SL_LAYER_CONV2D && n->kind != SL_LAYER_DENSE) || f[i].head >= 0)
        continue;
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
      if (next >= 0 && is_rectifier (m->nodes[next].kind))
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
_sl_fuse_fold (const sl_model *m, const sl_fuse *f, float *folded)
{
  for (int i = 0; i < m->n_nodes; i++)
    if (f[i].bn >= 0)
      fold_one (m, &m->nodes[i], &m->nodes[f[i].bn], folded + f[i].fold_at);
}
