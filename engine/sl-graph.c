/* sl-graph.c: plans a model's buffers once per batch size and runs forward and backward passes. */
#include "sl-layer-private.h"
#include "sl-error-private.h"
#include "sl-graph-fuse-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this many floating-point operations (one pass of a layer over the
 * pass's images), an inference pass runs the layer on its calling thread
 * alone: waking the pool and waiting for it costs more than the work saved,
 * and far more when other processes keep the cores busy. */
#define SERIAL_FLOPS 1e6
/* An inference pass of fewer images than the pool has threads (batch-1
 * latency: every layer splits its one image and waits for the pool) runs
 * every layer on the calling thread when the whole pass is below this much
 * work. The choice follows from the shapes alone, never from timing, so that
 * a model gives the same answer for the same input on every call. Measured on
 * a 2-core AVX-512 Xeon with OpenBLAS on its AVX-512 kernels, batch 1, two
 * threads: small-bn at 28 px (15 MFLOP) 0.166 ms split, 0.127 ms serial;
 * seed-cnn (28 MFLOP, most of it one GEMV and a 14 x 14 convolution) 0.33 ms
 * split, 0.53 ms serial. With AVX2 kernels (8-pixel runs, OpenBLAS's
 * Haswell SGEMM) 4e6 was best: small-bn's layers were slower and gained from
 * the second thread (0.235 -> 0.165 ms). */
#if defined(__AVX512F__)
#define ALL_SERIAL_FLOPS 2e7
#else
#define ALL_SERIAL_FLOPS 4e6
#endif

/* Extra per-plan bookkeeping lives behind the public struct. */
typedef struct
{
  sl_plan plan;
  float **own;   /* per node: the buffer it owns (aliases may point elsewhere) */
  bool *written; /* per node + 1 (model input): gradient already holds a value */
  /* An inference plan's fused layers (NULL: none), the folded weights
   * (backend memory; staged in fold_host where that is not host memory) and
   * the model's weights_gen + 1 they were folded at (0: never). */
  sl_fuse *fuse;
  float *folded, *fold_host;
  size_t fold_floats;
  uint64_t folded_gen;
  bool folded_borrowed; /* another lane's: not this plan's to free */
  /* An inference plan on a CPU pool of several threads runs the layers with
   * too little work to be worth waking the pool on a one-thread backend of
   * its own (NULL: none), and every layer there when the whole pass is small.
   * Both follow from the images of the pass (not the plan's capacity), so an
   * image gets the same answer from every plan that runs it in a pass of the
   * same size: flops holds each node's work per image, total_flops their sum. */
  sl_backend *serial_be;
  double *flops;
  double total_flops;
  bool lane; /* every layer on serial_be (plan_spec) */
  /* A training plan's batch-norm outputs dropped after the forward pass
   * (see find_transients): per head (the batch-norm node), the rectifier in
   * place on it (-1: none; the head itself when alone) and where the backward
   * pass recomputes it (NULL: never read again); per convolution rebuilt in
   * the backward pass (find_rebuilt), the batch-norm that reads it (-1:
   * none) and where it is rebuilt; per backward step, the first head or
   * rebuilt convolution to run again before it (-1: none), the next in
   * rec_next, in ascending order. */
  int *tail, *rec_head, *rec_next, *rebuilt;
  float **rec;
  /* Per rebuilt convolution whose batch-norm's output is recomputed at an
   * earlier step (find_rebuilt, plan_spec.twice): where it is rebuilt again
   * for that batch-norm's own backward step (NULL: not again). */
  float **again;
  /* A training plan's rectifiers whose backward pass the max pool after
   * them does (find_pool_acts): per max pool, its rectifier (-1: none); per
   * rectifier, its max pool (-1: none; its backward step is skipped). */
  int *pool_act, *act_pool;
} plan_private;

static int
grad_root (const sl_model *m, int index)
{
  while (index != SL_INPUT_NODE && (_sl_layer_class (m->nodes[index].kind)->flags & SL_LAYER_ALIAS))
    index = m->nodes[index].inputs[0];
  return index;
}

/* A layer that may run in place (a rectifier) overwrites its input when
 * nothing else reads that input and the input's own backward pass does not
 * need its output: it then shares the input's activation and gradient
 * buffers (its backward reads only its output). */
/* What a plan is for: its batch, mode and the nodes it runs. */
typedef struct
{
  int batch;
  bool training, want_input_grad;
  bool unshared;  /* every output its own buffer: the reference for tests */
  bool transient; /* batch-norm outputs recomputed in the backward pass (find_transients) */
  bool rebuild;   /* and some convolutions' outputs rebuilt there too */
  /* NULL, or per node: the rebuilt convolutions rebuilt twice, for their
   * batch-norm's recomputation and for its own step (find_rebuilt) */
  const bool *twice;
  int first, end, input_node;
  size_t input_size;
  const bool *keep; /* NULL or per node: outputs that survive the pass */
  int grad_from;    /* -1, or the first node given a gradient at inference */
  /* An inference plan of the whole graph may fuse layers (sl-graph-fuse.c):
   * fuse asks for it, fusion holds what was fused while it is laid out. */
  bool fuse;
  const sl_fuse *fusion;
  /* A lane: an inference plan run whole on one thread of the pool, beside
   * the other lanes (_sl_plan_new_lane); its workspaces are one thread's,
   * and it may use another lane's folded weights (fold_from). */
  bool lane;
  const sl_plan *fold_from;
} plan_spec;

int
_sl_model_feature_node (const sl_model *m)
{
  int found = -1;

  if (m->n_frozen == 0 || m->n_frozen >= m->n_nodes)
    return -1;
  for (int i = m->n_frozen; i < m->n_nodes; i++)
    for (int k = 0; k < m->nodes[i].n_inputs; k++)
      {
        int in = m->nodes[i].inputs[k];

        if (in >= m->n_frozen)
          continue;
        /* The images themselves, or a second tensor: no single feature. */
        if (in == SL_INPUT_NODE || (found >= 0 && in != found))
          return -1;
        found = in;
      }
  return found;
}

static plan_spec
spec_of (const sl_model *m, int batch, bool training, bool want_input_grad, sl_plan_part part)
{
  plan_spec s = { .batch = batch,
                  .training = training,
                  .want_input_grad = want_input_grad,
                  .first = 0,
                  .end = m->n_nodes,
                  .input_node = SL_INPUT_NODE,
                  .input_size = (size_t) m->channels * m->height * m->width,
                  .grad_from = -1,
                  .fuse = !training && !want_input_grad && part == SL_PART_ALL };

  s.unshared = training && m->unshared_training;
  s.transient = training && !s.unshared && !m->keep_activations && m->backend != NULL
                && m->backend->ops->batchnorm_act != NULL;
  s.rebuild = s.transient && !m->keep_rebuilt;
  if (part == SL_PART_PREFIX)
    s.end = m->n_frozen;
  else if (part == SL_PART_SUFFIX)
    {
      s.first = m->n_frozen;
      s.input_node = _sl_model_feature_node (m);
      s.input_size = _sl_shape_size (m->nodes[s.input_node].out);
    }
  return s;
}

/* Whether node i of a training plan runs as in training (a frozen one runs
 * as at inference: batch-norm on its running statistics, no dropout). */
static inline bool
node_trains (const sl_model *m, int i, bool training)
{
  return training && i >= m->n_frozen;
}

/* Whether node i gets a gradient buffer: a trainable node of a training
 * plan, or one from grad_from on (a backward pass at inference: Grad-CAM). */
static inline bool
node_backprops (const sl_model *m, const plan_spec *sp, int i)
{
  return node_trains (m, i, sp->training) || (sp->grad_from >= 0 && i >= sp->grad_from);
}

/* A layer an inference plan runs inside the one before it: its input's
 * buffer already holds its output. */
static inline bool
is_fused (const plan_spec *sp, int i)
{
  return sp->fusion != NULL && sp->fusion[i].head >= 0;
}

static bool
runs_in_place (const sl_model *m, const int *readers, const plan_spec *sp, int i)
{
  const sl_node *n = &m->nodes[i];
  int in = n->inputs[0];

  if (!(_sl_layer_class (n->kind)->flags & SL_LAYER_IN_PLACE) || in == SL_INPUT_NODE
      || readers[in] != 1)
    return false;
  /* Across the frozen boundary the input is the caller's features, or has no
   * gradient buffer to share. */
  if (in < sp->first || ((sp->training || sp->first > 0) && in < m->n_frozen && i >= m->n_frozen))
    return false;
  /* A tapped output must survive; below grad_from there is no gradient to share. */
  if ((sp->keep != NULL && sp->keep[in])
      || (sp->grad_from >= 0 && in < sp->grad_from && i >= sp->grad_from))
    return false;
  /* Activations need their outputs; flatten and dropout may alias. */
  return (_sl_layer_class (m->nodes[in].kind)->flags & SL_LAYER_OUTPUT_FREE) != 0;
}

/* Where every buffer of a plan sits in its two arenas (offsets in floats and
 * in int32s; SIZE_MAX where a node has none). */
typedef struct
{
  size_t *out_at, *grad_at, *saved_at, *arg_at; /* per node */
  size_t *pool_at;  /* per node: its output's place in the frozen prefix's shared region */
  size_t *gpool_at; /* per node: its gradient's place in the training region (pool_training) */
  size_t *fwd_at;   /* per head (find_transients): its output's place in the forward pass */
  size_t *rec_at;   /* per head: where the backward pass recomputes it */
  size_t *keep_at;  /* per node: its kept output's place in the training region (pool_training) */
  size_t *again_at; /* per rebuilt convolution: its second copy's place (SIZE_MAX: none) */
  /* Per node: a transient's tail (-1: not a head), its last reader in the
   * forward pass, the backward step it is recomputed before (-1: none) and
   * the last backward step that reads it; the head that reads a rebuilt
   * convolution's output (find_rebuilt; -1: kept), whose last_fwd, rec_step,
   * rec_last, fwd_at and rec_at are filled as a head's are. */
  int *tail, *last_fwd, *rec_step, *rec_last, *rebuilt;
  int *pool_act, *act_pool; /* per node: as plan_private's */
  int *grad_in_place;       /* per node: a batch-norm whose input gradient is its output's */
  int *twice;               /* per rebuilt convolution: rebuilt again for its head's step */
  size_t input_grad_at, ws_at, scratch_at, stats_at, input_at, probs_at, labels_at;
  size_t ws; /* workspace floats */
  size_t floats, ints;
  sl_fuse *fuse;      /* NULL: nothing fused */
  size_t fold_floats; /* the folded weights (a block of their own, outside the arenas) */
} plan_layout;

static void
layout_clear (plan_layout *l)
{
  free (l->out_at);
  free (l->tail);
  free (l->fuse);
  memset (l, 0, sizeof *l);
}

/* How many nodes (and the loss) read each node's output. */
static int *
count_readers (const sl_model *m)
{
  int *readers = calloc ((size_t) m->n_nodes + 1, sizeof (int));

  if (readers == NULL)
    return NULL;
  for (int i = 0; i < m->n_nodes; i++)
    for (int k = 0; k < m->nodes[i].n_inputs; k++)
      if (m->nodes[i].inputs[k] != SL_INPUT_NODE)
        readers[m->nodes[i].inputs[k]]++;
  readers[m->n_nodes - 1]++; /* the loss */
  return readers;
}

/* Running totals while a plan is laid out. */
typedef struct
{
  size_t floats, ints, ws, scratch;
} layout_sums;

/* Places node i's buffers: an alias or an in-place layer owns none; others
 * their output (unless they pass their input on), a gradient when training,
 * and what their kind asks for. Returns the bytes the node owns (its output
 * counted even where it lies in the shared region) and, in *node_ws, the
 * bytes of workspace it asks for. */
static uint64_t
layout_node (const sl_model *m, const int *readers, const plan_spec *sp, int i,
             const sl_plan_sizer *sz, plan_layout *l, layout_sums *t, uint64_t *node_ws)
{
  const sl_node *n = &m->nodes[i];
  const sl_layer_class *c = _sl_layer_class (n->kind);
  const int batch = sp->batch;
  const bool training = node_backprops (m, sp, i);
  const size_t len = _sl_align16 ((size_t) batch * _sl_shape_size (n->out));
  const size_t floats_before = t->floats, ints_before = t->ints;
  size_t pooled = 0;
  sl_layer_needs needs = { .out = true };

  l->out_at[i] = l->grad_at[i] = l->saved_at[i] = l->arg_at[i] = SIZE_MAX;
  *node_ws = 0;
  if ((c->flags & SL_LAYER_ALIAS) || is_fused (sp, i) || i < sp->first || i >= sp->end)
    return 0;
  if (runs_in_place (m, readers, sp, i))
    {
      l->out_at[i] = l->out_at[n->inputs[0]];
      l->grad_at[i] = l->grad_at[n->inputs[0]];
      return 0;
    }
  c->plan (n, batch, training, sz, &needs);
  /* An inference backward pass computes no weight gradients. */
  if (!node_trains (m, i, sp->training))
    needs.grad_scratch = 0;
  if (needs.out && l->pool_at[i] != SIZE_MAX)
    {
      l->out_at[i] = l->pool_at[i]; /* the region sits at the arena's start */
      pooled = len;                 /* its output, though in the shared region */
    }
  else if (needs.out && l->fwd_at[i] != SIZE_MAX)
    {
      l->out_at[i] = l->fwd_at[i]; /* in the training region (pool_training) */
      pooled = len;
    }
  else if (needs.out && l->keep_at[i] != SIZE_MAX)
    {
      l->out_at[i] = l->keep_at[i];
      pooled = len;
    }
  else if (needs.out)
    {
      l->out_at[i] = t->floats;
      t->floats += len;
    }
  if (training && l->grad_in_place[i])
    l->grad_at[i] = l->grad_at[n->inputs[0]]; /* find_grad_in_place */
  else if (training && l->gpool_at[i] != SIZE_MAX)
    {
      l->grad_at[i] = l->gpool_at[i]; /* offsets within the arena, like pool_at */
      pooled += len;
    }
  else if (training)
    {
      l->grad_at[i] = t->floats;
      t->floats += len;
    }
  if (needs.saved > 0)
    {
      l->saved_at[i] = t->floats;
      t->floats += needs.saved;
    }
  if (needs.argmax > 0)
    {
      l->arg_at[i] = t->ints;
      t->ints += needs.argmax / sizeof (int32_t);
    }
  t->ws = needs.workspace > t->ws ? needs.workspace : t->ws;
  t->scratch = needs.grad_scratch > t->scratch ? needs.grad_scratch : t->scratch;
  *node_ws = (uint64_t) _sl_align16 (needs.workspace) * sizeof (float);
  return (uint64_t) (t->floats - floats_before + pooled) * sizeof (float)
         + (uint64_t) (t->ints - ints_before) * sizeof (int32_t);
}

/* Places the buffers every plan has after the nodes': the input gradient,
 * the shared workspace and scratch, the statistics, and staging for a
 * backend that cannot read host memory. */
static void
layout_shared (const sl_model *m, const plan_spec *sp, const sl_plan_sizer *sz, plan_layout *l,
               layout_sums *t)
{
  const size_t B = (size_t) sp->batch;
  const size_t in_size = sp->input_size;
  const bool training = sp->training;

  l->input_grad_at = t->floats;
  if (sp->want_input_grad)
    t->floats += _sl_align16 (B * in_size);
  /* Device libraries (cuDNN) want their scratch on a 256-byte boundary. */
  if (!sz->host_memory)
    t->floats = (t->floats + 63) & ~(size_t) 63;
  l->ws_at = t->floats;
  t->floats += _sl_align16 (t->ws);
  l->scratch_at = t->floats;
  if (training)
    t->floats += _sl_align16 (t->scratch * (size_t) m->threads);
  /* Doubles, 64-byte aligned like every offset here. */
  l->stats_at = t->floats;
  t->floats += _sl_align16 (2 * SL_STAT_COUNT);
  l->input_at = t->floats;
  l->probs_at = 0;
  if (!sz->host_memory)
    {
      t->floats += _sl_align16 (B * in_size);
      l->probs_at = t->floats;
      t->floats += _sl_align16 (B * (size_t) m->classes);
    }
  l->labels_at = t->ints;
  t->ints += _sl_align16 (B);
  l->ws = t->ws;
  l->floats = t->floats;
  l->ints = t->ints;
}

/* The node whose buffer node i's output lives in (-1: the plan's input). */
static int
owner_of (const plan_spec *sp, const int *owner, int i)
{
  return i == SL_INPUT_NODE || i < sp->first || i == sp->input_node ? -1 : owner[i];
}

/* Whether node i passes its input on rather than writing a buffer of its
 * own: an alias, a layer in place, or one that asks for no output (dropout
 * at inference). */
static bool
passes_input (const sl_model *m, const int *readers, const plan_spec *sp, int i)
{
  const sl_node *n = &m->nodes[i];
  const sl_layer_class *c = _sl_layer_class (n->kind);
  const sl_plan_sizer cpu = { .backend = NULL, .threads = 1, .host_memory = true };
  sl_layer_needs needs = { .out = true };

  if ((c->flags & SL_LAYER_ALIAS) || is_fused (sp, i) || runs_in_place (m, readers, sp, i))
    return true;
  c->plan (n, sp->batch, node_backprops (m, sp, i), &cpu, &needs);
  return !needs.out;
}

/* The input whose buffer a node that passes its input on hands over. */
static int
passed_input (const sl_model *m, const plan_spec *sp, int i)
{
  return is_fused (sp, i) ? _sl_fuse_passed_input (m, sp->fusion, i) : m->nodes[i].inputs[0];
}

/* Per node of the plan, the node whose output buffer its output is (-1:
 * the plan's input, or an output outside the plan); -1 outside it. */
static void
find_out_owners (const sl_model *m, const int *readers, const plan_spec *sp, int *owner)
{
  for (int i = 0; i < m->n_nodes; i++)
    owner[i] = -1;
  for (int i = sp->first; i < sp->end; i++)
    owner[i] = passes_input (m, readers, sp, i) ? owner_of (sp, owner, passed_input (m, sp, i)) : i;
}

/* Layers that run as at inference and whose outputs nothing reads in a
 * backward pass (every layer of an inference plan; a training plan's frozen
 * prefix) need each output only until its last reader has run (a residual
 * sum keeps its skip input alive until then), unless trainable layers read
 * it or it is the plan's result (or the features): those outputs share one
 * region, each placed first-fit among the ones still alive. Fills
 * l->pool_at (SIZE_MAX: not pooled) and returns the region's floats. */
static size_t
pool_outputs (const sl_model *m, const int *readers, const plan_spec *sp, plan_layout *l)
{
  const int frozen_end = sp->end < m->n_frozen ? sp->end : m->n_frozen;
  int end = sp->training ? frozen_end : sp->end;
  int *owner = NULL, *last = NULL, *live = NULL;
  int n_live = 0, feature = _sl_model_feature_node (m);
  size_t size = 0;

  for (int i = 0; i < m->n_nodes; i++)
    l->pool_at[i] = SIZE_MAX;
  /* Layers that a backward pass goes through keep their outputs. */
  if (sp->grad_from >= 0 && sp->grad_from < end)
    end = sp->grad_from;
  if (sp->unshared || sp->first >= end || sp->first >= sp->end)
    return 0;
  owner = malloc (sizeof (int) * 3 * (size_t) m->n_nodes);
  if (owner == NULL)
    return 0; /* unshared buffers: more memory, same results */
  last = owner + m->n_nodes;
  live = last + m->n_nodes;
  find_out_owners (m, readers, sp, owner);
  for (int i = sp->first; i < sp->end; i++)
    {
      const sl_node *n = &m->nodes[i];

      last[i] = i;
      for (int k = 0; k < n->n_inputs; k++)
        {
          int o = owner_of (sp, owner, n->inputs[k]);

          if (o >= 0)
            last[o] = node_backprops (m, sp, i) ? INT_MAX : (last[o] > i ? last[o] : i);
        }
    }
  if (owner[sp->end - 1] >= 0)
    last[owner[sp->end - 1]] = INT_MAX;
  /* Tapped outputs stay for the caller. */
  for (int i = sp->first; sp->keep != NULL && i < sp->end; i++)
    if (sp->keep[i] && owner_of (sp, owner, i) >= 0)
      last[owner_of (sp, owner, i)] = INT_MAX;
  /* A plan for features hands its last frozen output to the caller. */
  if (sp->end <= m->n_frozen && feature >= 0 && feature < sp->end
      && owner_of (sp, owner, feature) >= 0)
    last[owner_of (sp, owner, feature)] = INT_MAX;

  for (int i = sp->first; i < end; i++)
    {
      const size_t len = _sl_align16 ((size_t) sp->batch * _sl_shape_size (m->nodes[i].out));
      size_t at = 0;
      int keep = 0;

      /* A training plan keeps the outputs that trainable layers read with
       * its own (pool_training). */
      if (owner[i] != i || (sp->training && last[i] == INT_MAX))
        continue;
      /* Outputs whose last reader ran before i are free again. */
      for (int k = 0; k < n_live; k++)
        if (last[live[k]] >= i)
          live[keep++] = live[k];
      n_live = keep;
      /* First fit: the lowest offset clear of every live output. */
      for (bool moved = true; moved;)
        {
          moved = false;
          for (int k = 0; k < n_live; k++)
            {
              size_t b = l->pool_at[live[k]];
              size_t e
                  = b + _sl_align16 ((size_t) sp->batch * _sl_shape_size (m->nodes[live[k]].out));

              if (at < e && b < at + len)
                {
                  at = e;
                  moved = true;
                }
            }
        }
      l->pool_at[i] = at;
      live[n_live++] = i;
      size = at + len > size ? at + len : size;
    }
  free (owner);
  return size;
}

/* The lowest offset at which len floats clear every live span
 * [at[k], at[k] + size[k]) (k in live). */
static size_t
first_fit (const size_t *at, const size_t *size, const int *live, int n_live, size_t len)
{
  size_t where = 0;

  for (bool moved = true; moved;)
    {
      moved = false;
      for (int k = 0; k < n_live; k++)
        {
          size_t b = at[live[k]], e = b + size[live[k]];

          if (where < e && b < where + len)
            {
              where = e;
              moved = true;
            }
        }
    }
  return where;
}

/* A rectifier (relu, relu6 or leaky relu) read by a max pool alone, with
 * windows that do not overlap, need not run its backward pass: the max
 * pool's backward can send each window's gradient to its maximum already
 * times the rectifier's derivative there, which the window's output (the
 * rectifier's output at the maximum) gives (pool_backward_act). The
 * rectifier runs in place, so its gradient is its input's buffer, where the
 * pool's backward writes; nothing may run in place over the pool's output,
 * which that backward now reads. Its step is then skipped, and a transient
 * it is the tail of is never recomputed for it (find_transients). Training
 * plans with shared buffers only: the unshared reference runs both steps. */
static void
find_pool_acts (const sl_model *m, const int *readers, const plan_spec *sp, plan_layout *l)
{
  for (int i = 0; i < m->n_nodes; i++)
    l->pool_act[i] = l->act_pool[i] = -1;
  if (!sp->training || sp->unshared || sp->grad_from >= 0 || m->backend == NULL
      || m->backend->ops->pool_backward_act == NULL)
    return;
  for (int p = sp->first; p < sp->end; p++)
    {
      const sl_node *pool = &m->nodes[p];
      const int a = pool->inputs[0];
      bool free_output = true;

      if (pool->kind != SL_LAYER_MAXPOOL || a < 0 || a < sp->first || !node_trains (m, p, true)
          || pool->geom.sh < pool->geom.kh || pool->geom.sw < pool->geom.kw)
        continue;
      if (!_sl_fuse_is_rectifier (m->nodes[a].kind) || readers[a] != 1 || !node_trains (m, a, true)
          || !runs_in_place (m, readers, sp, a) || (sp->keep != NULL && sp->keep[a]))
        continue;
      for (int j = p + 1; j < sp->end; j++)
        if (m->nodes[j].inputs[0] == p && runs_in_place (m, readers, sp, j))
          free_output = false;
      if (!free_output)
        continue;
      l->pool_act[p] = a;
      l->act_pool[a] = p;
    }
}

/* A training plan's batch-norm outputs need not live through the step: the
 * output a of a batch-norm (the head) on a convolution's or dense layer's
 * output z, with the rectifier in place on it (the tail) if any, lives in
 * the forward pass only until its last reader has run. The backward pass
 * recomputes it from z, the batch's saved mean and inverse std (a layer on
 * its running statistics, a fine-tuned backbone's: those), gamma and
 * beta, with the rectifier (batchnorm_act: the same coefficients and
 * kernels, so the same bits) just before the first backward step that reads
 * it (a reader that reads its input, or the rectifier, which reads its
 * output), and drops it after the last; a tail that no backward step reads
 * is never recomputed (a residual sum's addend). One tensor per block stays
 * instead of two, at the cost of an element-wise pass, which the forward
 * pass makes up for in part by applying the rectifier in the batch-norm's
 * own pass (batchnorm_act again). Readers that pass their input on
 * (aliases, layers in place, dropout) keep the output. Fills tail,
 * last_fwd, rec_step and rec_last, then rebuilt (find_rebuilt). */
static void find_rebuilt (const sl_model *m, const int *readers, const plan_spec *sp,
                          plan_layout *l);

static void
find_transients (const sl_model *m, const int *readers, const plan_spec *sp, plan_layout *l)
{
  for (int i = 0; i < m->n_nodes; i++)
    {
      l->tail[i] = l->last_fwd[i] = l->rec_step[i] = l->rec_last[i] = l->rebuilt[i] = -1;
      l->twice[i] = 0;
    }
  if (!sp->transient || !sp->training || sp->unshared || sp->grad_from >= 0 || sp->keep != NULL
      || sp->end != m->n_nodes)
    return;
  for (int i = sp->first > m->n_frozen ? sp->first : m->n_frozen; i < sp->end; i++)
    {
      const sl_node *n = &m->nodes[i];
      const int in = n->inputs[0];
      int tail = i, last = -1, first_read = -1, last_read = INT_MAX;
      bool ok = true;

      if (n->kind != SL_LAYER_BATCHNORM || in == SL_INPUT_NODE || in < sp->first || in < m->n_frozen
          || (m->nodes[in].kind != SL_LAYER_CONV2D && m->nodes[in].kind != SL_LAYER_DENSE))
        continue;
      for (int j = i + 1; j < sp->end; j++)
        if (m->nodes[j].inputs[0] == i && runs_in_place (m, readers, sp, j))
          tail = j;
      if (tail == m->n_nodes - 1) /* the logits: the loss reads them */
        continue;
      for (int j = tail + 1; ok && j < m->n_nodes; j++)
        for (int k = 0; k < m->nodes[j].n_inputs; k++)
          if (m->nodes[j].inputs[k] == tail)
            {
              const unsigned flags = _sl_layer_class (m->nodes[j].kind)->flags;

              ok = !(flags & (SL_LAYER_ALIAS | SL_LAYER_IN_PLACE))
                   && m->nodes[j].kind != SL_LAYER_DROPOUT;
              last = j;
              if (!(flags & SL_LAYER_INPUT_FREE))
                {
                  first_read = j > first_read ? j : first_read;
                  last_read = j < last_read ? j : last_read;
                }
            }
      if (!ok || last < 0)
        continue;
      /* The rectifier's backward reads its output, unless a max pool does it. */
      if (tail != i && l->act_pool[tail] < 0)
        {
          first_read = tail > first_read ? tail : first_read;
          last_read = tail < last_read ? tail : last_read;
        }
      l->tail[i] = tail;
      l->last_fwd[i] = last;
      l->rec_step[i] = first_read;
      l->rec_last[i] = first_read >= 0 ? last_read : -1;
    }
  if (sp->rebuild)
    find_rebuilt (m, readers, sp, l);
}

/* The head whose transient output (its tail's) node a is, or -1. */
static int
head_of (const sl_model *m, const plan_layout *l, int a)
{
  if (a < 0)
    return -1;
  if (l->tail[a] == a)
    return a;
  return m->nodes[a].inputs[0] >= 0 && l->tail[m->nodes[a].inputs[0]] == a ? m->nodes[a].inputs[0]
                                                                           : -1;
}

/* At most this many multiply-adds an output make a convolution cheap to run
 * again in the backward pass: a ninth of a 3 x 3 one on 32 channels, the
 * 1 x 1 expansions of inverted-residual blocks of up to 32 channels. Peak
 * RSS at 224 px, batch 32, 2 threads, depthwise convolutions alone -> with
 * those expansions: mobilenet-s 608 -> 582 MB, efficientnet-lite0 702 ->
 * 674. A bound of 16 or 27 made mobilenet-s's plan larger than the
 * depthwise convolutions alone (634 MB): the narrower expansions, rebuilt,
 * keep the depthwise convolutions after them from being rebuilt (a chain). */
#define REBUILD_MAX_MACS 32

static bool
cheap_to_rebuild (const sl_node *d)
{
  return (d->geom.groups >= 2 && d->geom.groups == d->in.c)
         || (long) (d->in.c / d->geom.groups) * d->geom.kh * d->geom.kw <= REBUILD_MAX_MACS;
}

/* The convolution find_rebuilt may rebuild for batch-norm head h (-1: none),
 * and in *e the transient head it reads (-1: a stem, on the plan's input). */
static int
rebuild_candidate (const sl_model *m, const int *readers, const plan_spec *sp, const plan_layout *l,
                   int h, int *e)
{
  const int d = m->nodes[h].inputs[0];
  const sl_node *dn;

  *e = -1;
  if (l->tail[h] < 0 || d < 0 || m->nodes[d].kind != SL_LAYER_CONV2D || readers[d] != 1)
    return -1;
  dn = &m->nodes[d];
  if (dn->inputs[0] == SL_INPUT_NODE && sp->first == 0 && dn->in.c <= 4)
    return d;
  if (l->rec_step[h] >= 0 && cheap_to_rebuild (dn) && (*e = head_of (m, l, dn->inputs[0])) >= 0
      && l->rec_step[*e] >= 0)
    return d;
  return -1;
}

/* A convolution d that only the batch-norm head h reads need not keep its
 * output z when z is cheap to make again: the backward pass runs d's
 * forward pass again (the same kernels on the same input, so the same bits)
 * into a buffer among the gradients, just before the first backward step
 * that reads z or h's recomputed output, and drops it after h's backward
 * step, the last to read z. In the forward pass z lives in the training
 * region too, until h has read it. Two kinds qualify:
 * - a cheap convolution between two transients (cheap_to_rebuild: an
 *   inverted-residual block's depthwise one, or its narrow expansion:
 *   expand conv, batch-norm, relu6, depthwise, batch-norm, relu6), whose
 *   input, the transient e before it, is recomputed in the same step (e < d
 *   < h, so first). Of a chain of such blocks only every other one is
 *   rebuilt: rebuilding a chain would have all its tensors alive at once.
 *   The widest outputs are taken first (mobilenet-s's 96-channel expansion
 *   at 112 x 112 rather than the 16-channel projection before it). Costs the
 *   convolution's forward pass per block and step.
 * - a stem: a convolution on the plan's input (the batch, there throughout
 *   the step) with at most four input channels, an image's. It is the
 *   widest tensor of the step and the cheapest to make (small-bn at 224 px:
 *   27 multiply-adds an output, against 144 to 288 in the layers after it).
 * Where plan_spec.twice says so, a convolution whose h output is recomputed before h's
 * own step is rebuilt twice: for that recomputation alone, then again just
 * before h's step, so neither copy is alive while the steps in between write
 * their gradients (mobilenet-s at 224 px: z, h's output and their gradient,
 * 154 MB each, were alive together at the depthwise step that reads h's
 * output). Costs the convolution's forward pass once more.
 * Saves a tensor per block in the backward pass, where a small or shallow
 * model may not gain (plan_layout_new). */
static void
find_rebuilt (const sl_model *m, const int *readers, const plan_spec *sp, plan_layout *l)
{
  const int nn = m->n_nodes;
  /* The candidates' heads, then per head the transient its convolution reads. */
  int *heads = malloc (sizeof (int) * 2 * (size_t) nn), *e_of;
  bool *feeds_rebuilt = calloc ((size_t) nn, sizeof (bool));
  int count = 0;

  if (heads == NULL || feeds_rebuilt == NULL)
    {
      /* Nothing rebuilt: more memory, same results. */
      free (heads);
      free (feeds_rebuilt);
      return;
    }
  e_of = heads + nn;
  /* The candidates' heads, widest output first (then in node order). */
  for (int h = sp->first; h < sp->end; h++)
    {
      int e, k;
      const int d = rebuild_candidate (m, readers, sp, l, h, &e);

      if (d < 0)
        continue;
      e_of[h] = e;
      for (k = count; k > 0; k--)
        {
          const sl_node *prev = &m->nodes[m->nodes[heads[k - 1]].inputs[0]];

          if (_sl_shape_size (prev->out) >= _sl_shape_size (m->nodes[d].out))
            break;
          heads[k] = heads[k - 1];
        }
      heads[k] = h;
      count++;
    }
  for (int k = 0; k < count; k++)
    {
      const int h = heads[k], d = m->nodes[h].inputs[0], e = e_of[h];

      /* Of a chain of rebuilt blocks only every other one: neither the
       * convolution e reads nor one that reads d's block may be rebuilt. */
      if (feeds_rebuilt[d]
          || (e >= 0 && m->nodes[e].inputs[0] >= 0 && l->rebuilt[m->nodes[e].inputs[0]] >= 0))
        continue;
      if (e < 0)
        {
          /* A stem: rebuilt where h's output is recomputed, or else for h's
           * own backward step. */
          l->rec_step[d] = l->rec_step[h] >= 0 ? l->rec_step[h] : h;
        }
      else
        {
          l->rec_step[d] = l->rec_step[h];
          /* e's own input is kept (above): its step moves alone. */
          if (l->rec_step[e] < l->rec_step[h])
            l->rec_step[e] = l->rec_step[h];
          if (m->nodes[e].inputs[0] >= 0)
            feeds_rebuilt[m->nodes[e].inputs[0]] = true;
        }
      l->rebuilt[d] = h;
      l->last_fwd[d] = h;
      l->rec_last[d] = h;
      /* Rebuilt twice: for h's recomputation alone, then again for h's own
       * backward step, so that z is not alive in between (pool_training). */
      l->twice[d] = sp->twice != NULL && sp->twice[d] && l->rec_step[d] != h;
    }
  free (heads);
  free (feeds_rebuilt);
}

/* The span of steps a buffer of a training plan is alive over, on one
 * timeline: forward step i at time 2 i, the loss at 2 n_nodes, backward step
 * i at 2 (2 n_nodes - i), and the recomputations before it just before that
 * (a buffer they alone read is dead by the time the step writes its
 * gradients). */
typedef struct
{
  long from, to;
} span;

static long
forward_time (int step)
{
  return 2L * step;
}

static long
backward_time (int nn, int step)
{
  return 2L * (2L * nn - step);
}

static long
recompute_time (int nn, int step)
{
  return backward_time (nn, step) - 1;
}

static long
later (long a, long b)
{
  return a > b ? a : b;
}

/* When output buffer o (kept after the forward pass) is read for the last
 * time: by the backward step of a layer on it that reads its own output (a
 * rectifier; a max pool with the rectifier before it folded in, whose
 * output gives the rectifier's derivative), or of a reader that reads its
 * input (a convolution, for its weight gradient; a batch-norm, which also
 * recomputes its transient output from it, earlier); the logits by the
 * loss and the trainer after it. At least until the loss. */
static long
kept_until (const sl_model *m, const plan_spec *sp, const plan_layout *l, const int *out_owner,
            int o)
{
  const int nn = m->n_nodes;
  long until = forward_time (nn);

  for (int s = o; s < sp->end; s++)
    {
      const unsigned flags = _sl_layer_class (m->nodes[s].kind)->flags;

      if (out_owner[s] != o)
        continue;
      if (s == nn - 1)
        return backward_time (nn, 0);
      if (!(flags & (SL_LAYER_ALIAS | SL_LAYER_OUTPUT_FREE)) || l->pool_act[s] >= 0)
        until = later (until, backward_time (nn, s));
      for (int j = s + 1; j < sp->end; j++)
        for (int k = 0; k < m->nodes[j].n_inputs; k++)
          {
            const unsigned reads = _sl_layer_class (m->nodes[j].kind)->flags;

            if (m->nodes[j].inputs[k] != s || (reads & SL_LAYER_ALIAS))
              continue;
            if (!(reads & SL_LAYER_INPUT_FREE))
              until = later (until, backward_time (nn, j));
          }
    }
  return until;
}

/* Batch-norms whose backward pass writes their input's gradient over their
 * output's (batchnorm_backward_in_place): trainable, the only reader of a
 * trainable layer's output that has a gradient buffer of its own (so
 * nothing else adds onto that gradient), in a plan that shares buffers. */
static void
find_grad_in_place (const sl_model *m, const int *readers, const plan_spec *sp, plan_layout *l)
{
  if (m->backend == NULL || !m->backend->ops->batchnorm_backward_in_place)
    return;
  for (int h = sp->first; h < sp->end; h++)
    {
      const int z = m->nodes[h].inputs[0];

      l->grad_in_place[h] = m->nodes[h].kind == SL_LAYER_BATCHNORM && node_trains (m, h, true)
                            && z != SL_INPUT_NODE && z >= sp->first && node_trains (m, z, true)
                            && readers[z] == 1 && !passes_input (m, readers, sp, z);
    }
}

/* A training plan's activations and gradients share one region (not the
 * unshared reference, a backward pass at inference or a plan that keeps
 * outputs for its caller), each buffer alive over a span of the timeline
 * (see span). Five kinds of item: node i's output gradient (shared by the
 * layers in place on it and the aliases of it), written first by the
 * backward step of its last reader (the loss for the last node) and read
 * last by i's own; a transient's recomputed output (find_transients), from
 * the recomputations before its step to the last step that reads it (a
 * convolution rebuilt twice: those recomputations alone); a
 * transient's forward buffer, from its head's step to its last reader's
 * (and a rebuilt convolution's, to its head's); and the outputs the
 * backward pass reads again, from their step to their last reader's
 * (kept_until); and a twice-rebuilt convolution's second copy, over its
 * head's step. Largest first, each at the lowest offset clear of those
 * already placed whose spans meet its own: a gradient of the first layers
 * takes the place of the outputs of the last ones, whose backward steps
 * have run (small-bn at 224 px, batch 32: 251 -> 181 MB). The frozen
 * prefix's outputs (pool_outputs: the region's first `frozen` floats) are
 * alive in the forward pass through the prefix only. Fills l->gpool_at,
 * l->rec_at, l->fwd_at, l->keep_at and l->again_at (SIZE_MAX: a buffer of
 * its own) and
 * returns the region's floats (0: nothing pooled; at least `frozen`). */
static size_t
pool_training (const sl_model *m, const int *readers, const plan_spec *sp, plan_layout *l,
               size_t frozen)
{
  const int nn = m->n_nodes, kinds = 5;
  int *owner = NULL, *first = NULL, *out_owner = NULL, *live = NULL, *order = NULL;
  span *alive = NULL;
  size_t *at = NULL, *size = NULL;
  int n_live = 0, n_order = 0;
  const int placed = frozen > 0; /* the frozen region's item, first in order and at 0 */
  size_t total = 0;

  for (int i = 0; i < nn; i++)
    {
      l->gpool_at[i] = l->rec_at[i] = l->fwd_at[i] = l->keep_at[i] = l->again_at[i] = SIZE_MAX;
      l->grad_in_place[i] = 0;
    }
  if (!sp->training || sp->unshared || sp->grad_from >= 0 || sp->keep != NULL
      || sp->first >= sp->end)
    return 0;
  find_grad_in_place (m, readers, sp, l);
  /* One more item, the frozen prefix's region, placed first at 0. */
  owner = calloc ((size_t) (3 + 2 * kinds) * nn + 2, sizeof (int));
  at = calloc (2 * (size_t) kinds * nn + 2, sizeof (size_t));
  alive = calloc ((size_t) kinds * nn + 1, sizeof (span));
  if (owner == NULL || at == NULL || alive == NULL)
    {
      /* A buffer per node and no transients: more memory, same results. */
      for (int i = 0; i < nn; i++)
        {
          l->tail[i] = l->rebuilt[i] = -1;
          l->twice[i] = 0;
        }
      free (owner);
      free (at);
      free (alive);
      return 0;
    }
  first = owner + nn;     /* per node: the step that writes its gradient first */
  out_owner = first + nn; /* find_out_owners */
  live = out_owner + nn;
  order = live + kinds * nn + 1;
  size = at + kinds * nn + 1;
  if (frozen > 0)
    {
      const int item = kinds * nn;
      const int prefix_end = sp->end < m->n_frozen ? sp->end : m->n_frozen;

      alive[item] = (span){ 0, forward_time (prefix_end) };
      size[item] = frozen;
      at[item] = 0;
      order[n_order++] = item;
    }
  find_out_owners (m, readers, sp, out_owner);
  /* owner[i]: the node whose gradient buffer node i's gradient is (-1: none). */
  for (int i = 0; i < nn; i++)
    {
      const sl_node *n = &m->nodes[i];
      const sl_layer_class *c = _sl_layer_class (n->kind);

      owner[i] = -1;
      first[i] = -1;
      if (i < sp->first || i >= sp->end || !node_backprops (m, sp, i))
        continue;
      if (c->flags & SL_LAYER_ALIAS)
        {
          int r = grad_root (m, i);

          owner[i] = r == SL_INPUT_NODE || r < sp->first ? -1 : owner[r];
        }
      else if (runs_in_place (m, readers, sp, i) || l->grad_in_place[i])
        owner[i] = owner[n->inputs[0]];
      else
        owner[i] = i;
    }
  /* first[o]: the latest backward step (a node index; n_nodes: the loss)
   * that writes o's buffer. */
  if (owner[nn - 1] >= 0 && sp->end == nn)
    first[owner[nn - 1]] = nn;
  for (int i = sp->first; i < sp->end; i++)
    for (int k = 0; node_backprops (m, sp, i) && k < m->nodes[i].n_inputs; k++)
      {
        int in = m->nodes[i].inputs[k];
        int o = in == SL_INPUT_NODE || in < sp->first ? -1 : owner[in];

        if (o >= 0 && first[o] < i)
          first[o] = i;
      }
  /* The items, item = kind * n_nodes + node, and their spans. */
  for (int i = sp->first; i < sp->end; i++)
    {
      const bool transient = l->tail[i] >= 0 || l->rebuilt[i] >= 0;
      bool in[5];

      in[0] = owner[i] == i;
      in[1] = transient && l->rec_step[i] >= 0;
      in[2] = transient;
      in[3] = out_owner[i] == i && !transient && l->pool_at[i] == SIZE_MAX;
      in[4] = l->twice[i];
      alive[i] = (span){ backward_time (nn, first[i] > i ? first[i] : i), backward_time (nn, i) };
      /* A convolution rebuilt twice: its first copy serves the
       * recomputations before one step alone. */
      alive[nn + i] = (span){ recompute_time (nn, l->rec_step[i]),
                              l->twice[i] ? recompute_time (nn, l->rec_step[i])
                                          : backward_time (nn, l->rec_last[i]) };
      alive[2 * nn + i] = (span){ forward_time (i), forward_time (l->last_fwd[i]) };
      alive[3 * nn + i] = (span){ forward_time (i),
                                  in[3] ? kept_until (m, sp, l, out_owner, i) : forward_time (i) };
      alive[4 * nn + i]
          = (span){ recompute_time (nn, l->rebuilt[i]), backward_time (nn, l->rebuilt[i]) };
      for (int kind = 0; kind < kinds; kind++)
        {
          const int item = kind * nn + i;
          int k;

          if (!in[kind])
            continue;
          k = n_order++;
          size[item] = _sl_align16 ((size_t) sp->batch * _sl_shape_size (m->nodes[i].out));
          /* Greedy by size, then by when they come alive: tighter than
           * placing them in the order they do (mobilenet-s at 224 px,
           * batch 32: 395 -> 347 MB). */
          for (; k > placed
                 && (size[order[k - 1]] < size[item]
                     || (size[order[k - 1]] == size[item]
                         && alive[order[k - 1]].from > alive[item].from));
               k--)
            order[k] = order[k - 1];
          order[k] = item;
        }
    }
  total = frozen;
  for (int j = placed; j < n_order; j++)
    {
      const int item = order[j], node = item % nn;
      size_t *where[] = { l->gpool_at, l->rec_at, l->fwd_at, l->keep_at, l->again_at };

      /* The placed items alive at a step this one is alive at. */
      n_live = 0;
      for (int k = 0; k < j; k++)
        if (alive[order[k]].from <= alive[item].to && alive[item].from <= alive[order[k]].to)
          live[n_live++] = order[k];
      at[item] = first_fit (at, size, live, n_live, size[item]);
      where[item / nn][node] = at[item];
      total = at[item] + size[item] > total ? at[item] + size[item] : total;
    }
  free (owner);
  free (at);
  free (alive);
  return total;
}

/* Lays out one plan without allocating it. _sl_plan_new and the cost
 * estimate (_sl_plan_measure) share this, so what a model is said to need
 * is what its first prediction allocates. node_bytes and node_ws, when not
 * NULL, receive per node the bytes of the buffers it owns and of the
 * convolution workspace it asks for. */
static sl_status
plan_layout_one (const sl_model *m, const plan_spec *spec, const sl_plan_sizer *sz, plan_layout *l,
                 uint64_t *node_bytes, uint64_t *node_ws, sl_error *err)
{
  layout_sums t = { 0 };
  int *readers = count_readers (m);
  plan_spec fused = *spec;
  const plan_spec *sp = &fused;

  memset (l, 0, sizeof *l);
  l->out_at = calloc ((size_t) m->n_nodes * 10, sizeof (size_t));
  l->tail = calloc ((size_t) m->n_nodes * 9, sizeof (int));
  if (l->out_at == NULL || l->tail == NULL || readers == NULL)
    {
      free (readers);
      layout_clear (l);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
    }
  l->grad_at = l->out_at + m->n_nodes;
  l->saved_at = l->grad_at + m->n_nodes;
  l->arg_at = l->saved_at + m->n_nodes;
  l->pool_at = l->arg_at + m->n_nodes;
  l->gpool_at = l->pool_at + m->n_nodes;
  l->fwd_at = l->gpool_at + m->n_nodes;
  l->rec_at = l->fwd_at + m->n_nodes;
  l->keep_at = l->rec_at + m->n_nodes;
  l->again_at = l->keep_at + m->n_nodes;
  l->last_fwd = l->tail + m->n_nodes;
  l->rec_step = l->last_fwd + m->n_nodes;
  l->rec_last = l->rec_step + m->n_nodes;
  l->rebuilt = l->rec_last + m->n_nodes;
  l->pool_act = l->rebuilt + m->n_nodes;
  l->act_pool = l->pool_act + m->n_nodes;
  l->grad_in_place = l->act_pool + m->n_nodes;
  l->twice = l->grad_in_place + m->n_nodes;
  if (spec->fuse && !spec->unshared)
    fused.fusion = l->fuse = _sl_fuse_new (m, m->backend, readers, &l->fold_floats);
  t.floats = pool_outputs (m, readers, sp, l);
  find_pool_acts (m, readers, sp, l);
  find_transients (m, readers, sp, l);
  {
    /* A training plan's region starts with the frozen prefix's outputs. */
    const size_t training = pool_training (m, readers, sp, l, t.floats);

    t.floats = training > t.floats ? training : t.floats;
  }
  for (int i = 0; i < m->n_nodes; i++)
    {
      uint64_t ws;
      uint64_t bytes = layout_node (m, readers, sp, i, sz, l, &t, &ws);

      if (node_bytes != NULL)
        node_bytes[i] = bytes;
      if (node_ws != NULL)
        node_ws[i] = ws;
    }
  layout_shared (m, sp, sz, l, &t);
  free (readers);
  return SL_OK;
}

static uint64_t
layout_bytes (const plan_layout *l)
{
  return (uint64_t) l->floats * sizeof (float) + (uint64_t) l->ints * sizeof (int32_t);
}

/* plan_layout_one, rebuilding convolutions' outputs (find_rebuilt) only where
 * that makes the plan smaller: rebuilding keeps the tensors of a block alive
 * together in the backward pass, which in a small or shallow model can raise
 * the training region by more than the kept outputs it saves. Then, one by
 * one, each rebuilt convolution that may be rebuilt twice is, where that
 * makes the plan smaller again: only those at the plan's peak gain, and
 * each costs a forward pass of its convolution a step (efficientnet-lite0 at
 * 128 px rebuilding every one twice: 3-4 % slower). */
static sl_status
plan_layout_new (const sl_model *m, const plan_spec *spec, const sl_plan_sizer *sz, plan_layout *l,
                 uint64_t *node_bytes, uint64_t *node_ws, sl_error *err)
{
  plan_spec kept = *spec, trial = *spec;
  bool *twice = NULL;
  uint64_t none, least;
  sl_status st;

  if (!spec->rebuild)
    return plan_layout_one (m, spec, sz, l, node_bytes, node_ws, err);
  kept.rebuild = false;
  if ((st = plan_layout_one (m, &kept, sz, l, NULL, NULL, err)) != SL_OK)
    return st;
  none = layout_bytes (l);
  layout_clear (l);
  trial.twice = NULL;
  if ((st = plan_layout_one (m, &trial, sz, l, NULL, NULL, err)) != SL_OK)
    return st;
  least = layout_bytes (l);
  if ((twice = calloc ((size_t) m->n_nodes, sizeof (bool))) != NULL)
    {
      plan_layout once = *l, next;

      trial.twice = twice;
      for (int d = spec->first; d < spec->end && st == SL_OK; d++)
        {
          if (once.rebuilt[d] < 0 || once.rec_step[d] == once.rebuilt[d])
            continue;
          twice[d] = true;
          if ((st = plan_layout_one (m, &trial, sz, &next, NULL, NULL, err)) != SL_OK)
            break;
          if (layout_bytes (&next) < least)
            least = layout_bytes (&next);
          else
            twice[d] = false;
          layout_clear (&next);
        }
    }
  layout_clear (l);
  if (st == SL_OK)
    st = plan_layout_one (m, least < none ? &trial : &kept, sz, l, node_bytes, node_ws, err);
  free (twice);
  return st;
}

sl_status
_sl_plan_measure (const sl_model *m, int batch, const sl_plan_sizer *sizer, uint64_t *bytes,
                  uint64_t *node_bytes, uint64_t *node_ws, sl_error *err)
{
  const plan_spec sp = spec_of (m, batch, false, false, SL_PART_ALL);
  plan_layout l;
  sl_status st = plan_layout_new (m, &sp, sizer, &l, node_bytes, node_ws, err);

  *bytes = st == SL_OK ? layout_bytes (&l) : 0;
  layout_clear (&l);
  return st;
}

/* What sizes a plan's workspaces: the model's backend, or one thread of it
 * for a lane. */
static sl_plan_sizer
sizer_of (const sl_model *m, const plan_spec *sp)
{
  if (sp->lane)
    return (sl_plan_sizer){ .backend = NULL, .threads = 1, .host_memory = true };
  return (sl_plan_sizer){ .backend = m->backend,
                          .threads = m->threads,
                          .host_memory = m->backend->ops->host_memory };
}

/* The largest batch, from 1 to want, whose plan (as *base at another
 * batch) fits model->plan_limit `copies` times over. */
static int
fit_batch (const sl_model *m, int want, const plan_spec *base, int copies)
{
  const sl_plan_sizer sizer = sizer_of (m, base);
  int lo = 1, hi = want;

  if (m->plan_limit == 0 || (want <= 1 && copies == 1))
    return want < 1 ? 1 : want;
  /* Copies of a plan (lanes) may not fit even at one image: 0 then. */
  if (copies > 1)
    lo = 0;
  /* A plan grows with its batch: the largest that fits, by bisection. */
  while (lo < hi)
    {
      const int mid = lo + (hi - lo + 1) / 2;
      plan_spec sp = *base;
      plan_layout l;

      sp.batch = mid;

      if (plan_layout_new (m, &sp, &sizer, &l, NULL, NULL, NULL) != SL_OK)
        return lo; /* out of memory measuring: the batch known to fit, or 1 */
      /* A device that cannot plan a layer at this batch (cuDNN's scratch)
       * says so at its next sync: that batch does not fit either. */
      if (layout_bytes (&l) <= m->plan_limit / (uint64_t) copies
          && (sizer.host_memory || m->backend->ops->sync (m->backend, NULL) == SL_OK))
        lo = mid;
      else
        hi = mid - 1;
      layout_clear (&l);
    }
  return lo;
}

int
_sl_plan_fit_batch (const sl_model *m, int want, sl_plan_part part)
{
  const plan_spec sp = spec_of (m, 1, false, false, part);

  return fit_batch (m, want, &sp, 1);
}

int
_sl_plan_fit_lane_batch (const sl_model *m, int want, int lanes)
{
  plan_spec sp = spec_of (m, 1, false, false, SL_PART_ALL);

  sp.lane = true;
  return fit_batch (m, want, &sp, lanes);
}

static plan_spec
spec_of_taps (const sl_model *m, int batch, const sl_plan_taps *taps)
{
  plan_spec sp = spec_of (m, batch, false, false, SL_PART_ALL);

  sp.end = taps->end;
  sp.keep = taps->keep;
  sp.grad_from = taps->grad_from;
  sp.fuse = false; /* tapped outputs are the layers' own */
  return sp;
}

int
_sl_plan_fit_batch_taps (const sl_model *m, int want, const sl_plan_taps *taps)
{
  const plan_spec sp = spec_of_taps (m, 1, taps);

  return fit_batch (m, want, &sp, 1);
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

/* A plan's layout may be refused: by a backend that cannot plan a layer
 * (conv2d_workspace says so at the next sync), or by the memory limit. */
static sl_status
check_layout (sl_model *m, int batch, const plan_layout *l, sl_error *err)
{
  sl_status st = m->backend->ops->sync (m->backend, err);

  if (st == SL_OK && m->plan_limit > 0 && layout_bytes (l) > m->plan_limit)
    {
      char need[32], limit[32];

      _sl_format_bytes (layout_bytes (l), need, sizeof need);
      _sl_format_bytes (m->plan_limit, limit, sizeof limit);
      st = sl_error_set (err, SL_ERR_LIMIT,
                         "a batch of %d needs %s of working memory, more than the %s the memory "
                         "limit leaves for it",
                         batch, need, limit);
    }
  return st;
}

/* The plan's per-node tables (host memory), or NULL. */
static plan_private *
plan_alloc_tables (const sl_model *m)
{
  const size_t count = (size_t) m->n_nodes;
  plan_private *pp = calloc (1, sizeof *pp);

  if (pp == NULL)
    return NULL;
  pp->plan.out = calloc (count, sizeof (float *));
  pp->plan.grad = calloc (count, sizeof (float *));
  pp->plan.saved = calloc (count, sizeof (float *));
  pp->plan.argmax = calloc (count, sizeof (void *));
  pp->own = calloc (count, sizeof (float *));
  pp->written = calloc (count + 1, sizeof (bool));
  pp->plan.keep = calloc (count, sizeof (bool));
  pp->tail = malloc (6 * count * sizeof (int));
  pp->rec = calloc (count, sizeof (float *));
  pp->again = calloc (count, sizeof (float *));
  if (pp->tail != NULL)
    {
      pp->rec_head = pp->tail + count;
      pp->rec_next = pp->rec_head + count;
      pp->rebuilt = pp->rec_next + count;
      pp->pool_act = pp->rebuilt + count;
      pp->act_pool = pp->pool_act + count;
      for (size_t i = 0; i < 6 * count; i++)
        pp->tail[i] = -1;
    }
  return pp;
}

static bool
plan_tables_complete (const plan_private *pp)
{
  const sl_plan *p = &pp->plan;

  return p->out && p->grad && p->saved && p->argmax && pp->own && pp->written && p->keep && pp->tail
         && pp->rec && pp->again;
}

/* Points every buffer of the plan into its two arenas, as laid out. */
static void
plan_point (const sl_model *m, plan_private *pp, const plan_layout *l, bool want_input_grad)
{
  sl_plan *p = &pp->plan;
  int root;

  for (int i = p->first; i < p->end; i++)
    {
      if (l->out_at[i] != SIZE_MAX)
        p->out[i] = pp->own[i] = p->arena + l->out_at[i];
      if (l->grad_at[i] != SIZE_MAX)
        p->grad[i] = p->arena + l->grad_at[i];
      if (l->saved_at[i] != SIZE_MAX)
        p->saved[i] = p->arena + l->saved_at[i];
      if (l->arg_at[i] != SIZE_MAX)
        p->argmax[i] = p->index_arena + l->arg_at[i];
      if (l->tail[i] >= 0)
        pp->tail[i] = l->tail[i];
      if ((l->tail[i] >= 0 || l->rebuilt[i] >= 0) && l->rec_step[i] >= 0)
        pp->rec[i] = p->arena + l->rec_at[i];
      if (l->again_at[i] != SIZE_MAX)
        pp->again[i] = p->arena + l->again_at[i];
      pp->rebuilt[i] = l->rebuilt[i];
      pp->pool_act[i] = l->pool_act[i];
      pp->act_pool[i] = l->act_pool[i];
    }
  /* Each step's heads and rebuilt convolutions in ascending order: a
   * rebuilt convolution comes after the head it reads and before the one
   * that reads it (find_rebuilt). */
  for (int i = p->end - 1; i >= p->first; i--)
    if ((l->tail[i] >= 0 || l->rebuilt[i] >= 0) && l->rec_step[i] >= 0)
      {
        pp->rec_next[i] = pp->rec_head[l->rec_step[i]];
        pp->rec_head[l->rec_step[i]] = i;
      }
  if (want_input_grad)
    p->input_grad = p->arena + l->input_grad_at;
  p->workspace = p->arena + l->ws_at;
  p->workspace_size = l->ws;
  p->param_grad_scratch = p->training ? p->arena + l->scratch_at : NULL;
  /* NULL where the loss's gradient has nowhere to go (the last layers frozen). */
  root = grad_root (m, m->n_nodes - 1);
  p->logits_grad = (p->training || p->grad_from >= 0) && p->end == m->n_nodes && root >= 0
                       ? p->grad[root]
                       : NULL;
  p->stats = (double *) (p->arena + l->stats_at);
  p->labels = p->index_arena + l->labels_at;
  if (!m->backend->ops->host_memory)
    {
      p->input = p->arena + l->input_at;
      p->probs = p->arena + l->probs_at;
    }
}

/* Marks the layers of an inference plan too small for the pool, and makes
 * the one-thread backend they run on (none needed, or none to be had: they
 * run on the pool as before). */
static void
plan_serial (sl_model *m, plan_private *pp)
{
  const sl_plan *p = &pp->plan;

  if (!m->backend->ops->host_memory || m->threads < 2
      || (pp->flops = calloc ((size_t) m->n_nodes, sizeof (double))) == NULL)
    return;
  pp->total_flops = 0.0;
  for (int i = p->first; i < p->end; i++)
    {
      pp->flops[i] = _sl_node_flops (&m->nodes[i]);
      pp->total_flops += pp->flops[i];
    }
  if (_sl_cpu_backend_new (1, &pp->serial_be, NULL) != SL_OK)
    {
      free (pp->flops);
      pp->flops = NULL;
      pp->serial_be = NULL;
    }
}

/* Allocates the plan laid out in l: its tables, then its arenas in backend memory. */
static sl_status
plan_alloc (sl_model *m, const plan_spec *sp, plan_layout *l, sl_plan **out, sl_error *err)
{
  const int batch = sp->batch;
  sl_backend *be = m->backend;
  plan_private *pp = plan_alloc_tables (m);
  sl_plan *p;

  if (pp == NULL || !plan_tables_complete (pp))
    {
      if (pp != NULL)
        _sl_plan_free (m, &pp->plan);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
    }
  p = &pp->plan;
  p->batch = batch;
  p->training = sp->training;
  p->first = sp->first;
  p->end = sp->end;
  p->input_node = sp->input_node;
  p->input_size = sp->input_size;
  p->grad_from = sp->grad_from;
  if (sp->keep != NULL)
    memcpy (p->keep, sp->keep, sizeof (bool) * (size_t) m->n_nodes);
  p->bytes = layout_bytes (l);
  p->arena = be->ops->alloc (be, l->floats * sizeof (float));
  p->index_arena = be->ops->alloc (be, l->ints * sizeof (int32_t));
  if (p->arena == NULL || p->index_arena == NULL)
    {
      _sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM,
                           "out of %s memory: %.0f MB of buffers for a batch of %d; try a smaller "
                           "batch size",
                           be->ops->host_memory ? "main" : "GPU", layout_bytes (l) / 1e6, batch);
    }
  if (l->fold_floats > 0 && sp->fold_from != NULL)
    {
      pp->folded = ((const plan_private *) sp->fold_from)->folded;
      pp->folded_borrowed = true;
    }
  else if (l->fold_floats > 0
           && ((pp->folded = be->ops->alloc (be, sizeof (float) * l->fold_floats)) == NULL
               || (!be->ops->host_memory
                   && (pp->fold_host = malloc (sizeof (float) * l->fold_floats)) == NULL)))
    {
      _sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM, "out of %s memory: %.0f MB of folded weights",
                           be->ops->host_memory ? "main" : "GPU",
                           l->fold_floats * sizeof (float) / 1e6);
    }
  pp->fold_floats = l->fold_floats;
  if (sp->fuse && !sp->unshared)
    plan_serial (m, pp);
  /* A lane on the pool's threads must not wake the pool itself. */
  if (sp->lane && pp->serial_be == NULL)
    {
      _sl_plan_free (m, p);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory making a one-thread backend");
    }
  pp->lane = sp->lane;
  pp->fuse = l->fuse;
  l->fuse = NULL;
  for (int i = 0; pp->fuse != NULL && i < m->n_nodes; i++)
    p->fused_layers += pp->fuse[i].head >= 0;
  plan_point (m, pp, l, sp->want_input_grad);
  *out = p;
  return SL_OK;
}

static sl_status
plan_new (sl_model *m, const plan_spec *sp, sl_plan **out, sl_error *err)
{
  const sl_plan_sizer sizer = sizer_of (m, sp);
  plan_layout l;
  sl_status st;

  *out = NULL;
  st = plan_layout_new (m, sp, &sizer, &l, NULL, NULL, err);
  if (st != SL_OK)
    return st;
  st = check_layout (m, sp->batch, &l, err);
  if (st == SL_OK)
    st = plan_alloc (m, sp, &l, out, err);
  layout_clear (&l);
  return st;
}

sl_status
_sl_plan_new (sl_model *m, int batch, bool training, bool want_input_grad, sl_plan **out,
              sl_error *err)
{
  const plan_spec sp = spec_of (m, batch, training, want_input_grad, SL_PART_ALL);

  return plan_new (m, &sp, out, err);
}

sl_status
_sl_plan_new_lane (sl_model *m, int batch, const sl_plan *fold_from, sl_plan **out, sl_error *err)
{
  plan_spec sp = spec_of (m, batch, false, false, SL_PART_ALL);

  *out = NULL;
  if (!m->backend->ops->host_memory || m->threads < 2)
    return sl_error_set (err, SL_ERR_INVALID, "internal error: a lane needs a CPU pool");
  sp.lane = true;
  sp.fold_from = fold_from;
  return plan_new (m, &sp, out, err);
}

sl_status
_sl_plan_new_unshared (sl_model *m, int batch, sl_plan **out, sl_error *err)
{
  plan_spec sp = spec_of (m, batch, false, false, SL_PART_ALL);

  sp.unshared = true; /* and unfused: every layer as written */
  return plan_new (m, &sp, out, err);
}

sl_status
_sl_plan_new_part (sl_model *m, int batch, bool training, sl_plan_part part, sl_plan **out,
                   sl_error *err)
{
  plan_spec sp;

  *out = NULL;
  if ((part == SL_PART_PREFIX && m->n_frozen == 0)
      || (part == SL_PART_SUFFIX && _sl_model_feature_node (m) < 0))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model has no frozen layers whose output is a single feature tensor");
  sp = spec_of (m, batch, training, false, part);
  return plan_new (m, &sp, out, err);
}

sl_status
_sl_plan_new_taps (sl_model *m, int batch, const sl_plan_taps *taps, sl_plan **out, sl_error *err)
{
  const plan_spec sp = spec_of_taps (m, batch, taps);

  *out = NULL;
  if (taps->end < 1 || taps->end > m->n_nodes
      || (taps->grad_from >= 0 && (taps->grad_from >= m->n_nodes || taps->end != m->n_nodes)))
    return sl_error_set (err, SL_ERR_INVALID,
                         "internal error: a tap plan beyond the model's layers");
  return plan_new (m, &sp, out, err);
}

void
_sl_plan_free (sl_model *m, sl_plan *p)
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
  free (p->keep);
  if (pp->folded != NULL && !pp->folded_borrowed)
    m->backend->ops->release (m->backend, pp->folded);
  free (pp->fold_host);
  free (pp->fuse);
  free (pp->flops);
  free (pp->tail);
  free (pp->rec);
  free (pp->again);
  if (pp->serial_be != NULL)
    pp->serial_be->ops->destroy (pp->serial_be);
  free (pp);
}

int
_sl_plan_pool_rectifier (const sl_plan *p, int pool)
{
  return ((const plan_private *) p)->pool_act[pool];
}

bool
_sl_plan_recomputes (const sl_plan *p, int head)
{
  return ((const plan_private *) p)->rec[head] != NULL;
}

static const float *
node_input (const sl_plan *p, const sl_node *n, int k, const float *x)
{
  return n->inputs[k] == p->input_node ? x : p->out[n->inputs[k]];
}

/* One node's part of a pass: its inputs, weights and buffers. */
static sl_layer_run
run_of (sl_model *m, sl_plan *p, int i, const float *x, int n)
{
  const sl_node *node = &m->nodes[i];
  const float *w = m->params + node->param_offset;
  sl_layer_run r = {
    .m = m,
    .p = p,
    .be = m->backend,
    .node = node,
    .index = i,
    .n = n,
    .len = (size_t) n * _sl_shape_size (node->out),
    .in = node_input (p, node, 0, x),
    .w = w,
    .b = node->bias ? w + node->weight_count : NULL,
  };

  if (node->n_inputs > 1)
    r.in1 = node_input (p, node, 1, x);
  return r;
}

/* Folds the model's current weights: on the host, then (a backend that
 * computes elsewhere) uploaded. A failed download leaves the old folded
 * weights; the backend reports the error at the pass's sync. */
static void
refold (sl_model *m, plan_private *pp)
{
  sl_backend *be = m->backend;

  if (be->ops->host_memory)
    _sl_fuse_fold (m, be, pp->fuse, pp->folded);
  else if (_sl_model_pull_host (m, NULL) == SL_OK)
    {
      _sl_fuse_fold (m, be, pp->fuse, pp->fold_host);
      be->ops->upload (be, pp->folded, pp->fold_host, sizeof (float) * pp->fold_floats);
    }
  else
    return;
  pp->folded_gen = m->weights_gen + 1;
}

/* A layer of a fused plan: a head on its folded weights, then its rectifier
 * over its output in place; a convolution or dense layer on a backend that
 * can, with its packed filters, its residual sum and its rectifier in one
 * pass. Every other layer as written. */
static void
forward_fused (sl_model *m, plan_private *pp, const sl_fuse *f, sl_layer_run *r)
{
  const sl_layer_class *c = _sl_layer_class (r->node->kind);
  sl_backend *be = r->be;
  const sl_node *a = f->act >= 0 ? &m->nodes[f->act] : NULL;
  const sl_activation act = a != NULL ? _sl_fuse_activation_of (a->kind) : SL_ACT_RELU;
  const float slope = a != NULL ? a->slope : 0.0f;

  if (f->bn >= 0)
    {
      r->w = pp->folded + f->fold_at;
      r->b = r->w + r->node->weight_count;
    }
  pp->plan.out[r->index] = r->y;
  if (r->node->kind == SL_LAYER_CONV2D && be->ops->conv2d_forward_fused != NULL)
    be->ops->conv2d_forward_fused (be, &r->node->geom, r->n, r->in, r->w, r->b,
                                   f->pack_at != SIZE_MAX ? pp->folded + f->pack_at : NULL,
                                   f->residual >= 0 ? pp->plan.out[f->residual] : NULL, a != NULL,
                                   act, slope, r->y, pp->plan.workspace, pp->plan.workspace_size);
  else if (r->node->kind == SL_LAYER_DENSE && be->ops->dense_forward_fused != NULL)
    be->ops->dense_forward_fused (be, r->n, (int) _sl_shape_size (r->node->in), r->node->units,
                                  r->in, r->w, r->b, a != NULL, act, slope, r->y);
  else
    {
      pp->plan.out[r->index] = (float *) c->forward (r);
      if (a != NULL)
        be->ops->activation_forward (be, act, slope, r->len, r->y, r->y);
    }
}

/* A transient's batch-norm in training and the rectifier in place on it,
 * in one pass (find_transients). */
static void
forward_transient (sl_model *m, plan_private *pp, const sl_layer_run *r)
{
  sl_backend *be = r->be;
  const sl_node *bn = r->node, *a = &m->nodes[pp->tail[r->index]];
  float *state = m->state + bn->state_offset;

  be->ops->batchnorm_act (be, false, r->n, bn->in.c, bn->in.h * bn->in.w, r->in, r->w,
                          r->w + bn->in.c, state, state + bn->in.c, bn->epsilon, bn->momentum,
                          pp->plan.saved[r->index], true, _sl_fuse_activation_of (a->kind),
                          a->slope, r->y);
  pp->plan.out[r->index] = r->y;
}

const float *
_sl_graph_forward (sl_model *m, sl_plan *p, const float *x, int n, bool training,
                   uint64_t noise_seed)
{
  plan_private *pp = (plan_private *) p;
  /* Small passes and small layers run on the calling thread (see plan_private). */
  const bool all_serial
      = pp->lane
        || (pp->flops != NULL && n < m->threads && (double) n * pp->total_flops < ALL_SERIAL_FLOPS);

  /* The folded weights follow the model's (a trainer step, new weights). */
  if (pp->folded != NULL && pp->folded_gen != m->weights_gen + 1)
    refold (m, pp);
  for (int i = p->first; i < p->end; i++)
    {
      const sl_layer_class *c = _sl_layer_class (m->nodes[i].kind);
      sl_layer_run r = run_of (m, p, i, x, n);

      if (c->flags & SL_LAYER_ALIAS)
        {
          p->out[i] = (float *) r.in;
          continue;
        }
      /* A follower: its head's output (a residual sum's other input is not). */
      if (pp->fuse != NULL && pp->fuse[i].head >= 0)
        {
          p->out[i] = p->out[_sl_fuse_passed_input (m, pp->fuse, i)];
          continue;
        }
      r.y = pp->own[i];
      r.training = node_trains (m, i, training);
      r.noise_seed = noise_seed;
      /* A transient's rectifier ran in its batch-norm's pass (below). */
      if (r.training && m->nodes[i].inputs[0] >= 0 && pp->tail[m->nodes[i].inputs[0]] == i)
        {
          p->out[i] = p->out[m->nodes[i].inputs[0]];
          continue;
        }
      if (r.training && pp->tail[i] >= 0 && pp->tail[i] != i)
        {
          forward_transient (m, pp, &r);
          continue;
        }
      /* A small layer may run on the plan's one-thread backend (the same
       * CPU ops, no pool); a lane's every layer does. */
      if (pp->serial_be != NULL && (all_serial || (double) n * pp->flops[i] < SERIAL_FLOPS))
        r.be = pp->serial_be;
      if (pp->fuse != NULL)
        forward_fused (m, pp, &pp->fuse[i], &r);
      else
        p->out[i] = (float *) c->forward (&r);
    }
  return p->out[p->end - 1];
}

typedef struct
{
  sl_model *m;
  sl_plan **lanes;
  const float *x;
  int n;
  float *probs;
} lanes_job;

/* Lane t's share of the images, through the whole graph and the softmax on
 * its one-thread backend. */
static void
lane_share (void *ctx, int t, int threads)
{
  const lanes_job *j = ctx;
  sl_model *m = j->m;
  plan_private *pp = (plan_private *) j->lanes[t];
  const size_t in_size = (size_t) m->channels * m->height * m->width;
  long lo, hi;

  _sl_split_range (j->n, t, threads, &lo, &hi);
  if (lo < hi)
    pp->serial_be->ops->softmax (
        pp->serial_be, (int) (hi - lo), m->classes,
        _sl_graph_forward (m, &pp->plan, j->x + lo * in_size, (int) (hi - lo), false, 0),
        j->probs + lo * m->classes);
}

bool
_sl_graph_predict_lanes (sl_model *m, sl_plan **lanes, const float *x, int n, float *probs)
{
  lanes_job j = { m, lanes, x, n, probs };
  plan_private *first = (plan_private *) lanes[0];

  /* The lanes share the first one's folded weights: folded here, before
   * they run, so that none folds them while the others read them. */
  if (first->folded != NULL && first->folded_gen != m->weights_gen + 1)
    refold (m, first);
  for (int t = 1; t < m->threads; t++)
    ((plan_private *) lanes[t])->folded_gen = first->folded_gen;
  return _sl_cpu_backend_parallel (m->backend, lane_share, &j);
}

/* Convolution d's forward pass again into y, where the backward steps that
 * read its output find it (find_rebuilt). */
static void
rebuild (sl_model *m, sl_plan *p, int d, float *y, const float *x, int n)
{
  sl_layer_run r = run_of (m, p, d, x, n);

  r.y = y;
  r.training = true;
  p->out[d] = (float *) _sl_layer_class (m->nodes[d].kind)->forward (&r);
}

/* An output again, as its forward pass wrote it: a rebuilt convolution's
 * (find_rebuilt: its forward pass on its input, recomputed before it where
 * that is a transient) or a transient's (find_transients: the batch-norm from
 * its input and saved statistics, then the rectifier in place on it); the
 * backward steps that read it find it in p->out. */
static void
recompute (sl_model *m, plan_private *pp, int i, const float *x, int n)
{
  sl_backend *be = m->backend;
  sl_plan *p = &pp->plan;
  const sl_node *node = &m->nodes[i];
  float *y = pp->rec[i];

  if (pp->rebuilt[i] >= 0)
    rebuild (m, p, i, y, x, n);
  else
    {
      const float *gamma = m->params + node->param_offset;
      float *state = m->state + node->state_offset;
      const int tail = pp->tail[i];

      be->ops->batchnorm_act (
          be, true, n, node->in.c, node->in.h * node->in.w, p->out[node->inputs[0]], gamma,
          gamma + node->in.c, state, state + node->in.c, node->epsilon, node->momentum, p->saved[i],
          tail != i, _sl_fuse_activation_of (m->nodes[tail].kind), m->nodes[tail].slope, y);
      p->out[i] = p->out[tail] = y;
    }
}

static float *
grad_of (const sl_model *m, sl_plan *p, int index)
{
  int r = grad_root (m, index);

  /* Frozen nodes have no gradient buffer: NULL. */
  return r == SL_INPUT_NODE ? p->input_grad : p->grad[r];
}

void
_sl_graph_backward (sl_model *m, sl_plan *p, const float *x, int n, float *param_grads)
{
  plan_private *pp = (plan_private *) p;
  sl_backend *be = m->backend;
  bool *written = pp->written; /* indexed by root + 1 */

  memset (written, 0, sizeof (bool) * ((size_t) m->n_nodes + 1));
  written[grad_root (m, m->n_nodes - 1) + 1] = true;

  /* Nothing flows back into the frozen prefix. */
  for (int i = m->n_nodes - 1; i >= m->n_frozen && i >= p->first; i--)
    {
      const sl_node *node = &m->nodes[i];
      const sl_layer_class *c = _sl_layer_class (node->kind);
      sl_layer_run r;
      int r0, r1 = SL_INPUT_NODE;

      for (int h = pp->rec_head[i]; h >= 0; h = pp->rec_next[h])
        recompute (m, pp, h, x, n);
      /* The convolution a batch-norm reads, rebuilt again for its step. */
      if (node->inputs[0] >= 0 && pp->again[node->inputs[0]] != NULL)
        rebuild (m, p, node->inputs[0], pp->again[node->inputs[0]], x, n);
      if (c->flags & SL_LAYER_ALIAS)
        continue;
      r = run_of (m, p, i, x, n);
      r.training = true;
      r.dw = param_grads + (node->param_offset - m->trainable_offset);
      if (!written[i + 1])
        {
          /* Nothing reads this layer's output: its parameters get no gradient. */
          be->ops->zero (be, r.dw, sizeof (float) * node->param_count);
          continue;
        }
      r.db = node->bias ? r.dw + node->weight_count : NULL;
      r.dy = p->grad[i];
      r0 = grad_root (m, node->inputs[0]);
      if (pp->act_pool[i] >= 0)
        {
          /* Its max pool did its backward pass into the buffer it shares
           * with its input (find_pool_acts). */
          written[r0 + 1] = true;
          continue;
        }
      r.dx = grad_of (m, p, node->inputs[0]);
      r.acc = written[r0 + 1];
      if (pp->pool_act[i] >= 0)
        r.act = &m->nodes[pp->pool_act[i]];
      if (node->n_inputs > 1)
        {
          /* The second addend accumulates onto the first where both are one. */
          r1 = grad_root (m, node->inputs[1]);
          r.dx1 = grad_of (m, p, node->inputs[1]);
          r.acc1 = written[r1 + 1] || r1 == r0;
        }
      c->backward (&r);
      written[r0 + 1] = true;
      if (node->n_inputs > 1)
        written[r1 + 1] = true;
    }
}

bool
_sl_graph_backward_to (sl_model *m, sl_plan *p, const float *x, int n)
{
  plan_private *pp = (plan_private *) p;
  bool *written = pp->written; /* indexed by root + 1 */
  const int stop = p->grad_from;

  memset (written, 0, sizeof (bool) * ((size_t) m->n_nodes + 1));
  written[grad_root (m, m->n_nodes - 1) + 1] = true;
  for (int i = m->n_nodes - 1; i > stop; i--)
    {
      const sl_node *node = &m->nodes[i];
      const sl_layer_class *c = _sl_layer_class (node->kind);
      sl_layer_run r;
      int r0, r1 = SL_INPUT_NODE;

      /* An alias shares its input's gradient; an unread output has none. */
      if ((c->flags & SL_LAYER_ALIAS) || !written[i + 1])
        continue;
      r = run_of (m, p, i, x, n);
      r.training = false;
      r.dw = r.db = NULL; /* input gradients only */
      r.dy = p->grad[i];
      r0 = grad_root (m, node->inputs[0]);
      r.dx = grad_of (m, p, node->inputs[0]);
      r.acc = written[r0 + 1];
      if (node->n_inputs > 1)
        {
          r1 = grad_root (m, node->inputs[1]);
          r.dx1 = grad_of (m, p, node->inputs[1]);
          r.acc1 = written[r1 + 1] || r1 == r0;
        }
      c->backward (&r);
      /* Only gradients that have a buffer (from grad_from on) count as written. */
      if (r.dx != NULL)
        written[r0 + 1] = true;
      if (node->n_inputs > 1 && r.dx1 != NULL)
        written[r1 + 1] = true;
    }
  return written[grad_root (m, stop) + 1];
}
