/* sl-graph-fuse-private.h: which layers of an inference plan run inside the convolution or dense layer before them. */
#pragma once

#include "sl-model-private.h"

/* Per node of an inference plan. A head (conv2d or dense) computes, with
 * folded weights when a batch-norm follows it alone, the output of its last
 * follower (the batch-norm, a residual sum after it on a backend with
 * conv2d_forward_fused, and a rectifier after those); a follower runs
 * nothing and passes on its input from the head, which then holds its
 * output. Where a max pool alone reads the rectifier, the pool applies it to
 * its own output. On such a backend every convolution whose kernel packs its
 * filters has them packed once, beside the folded weights. */
typedef struct
{
  int head;       /* a follower: the head it runs inside; else -1 */
  int bn;         /* a head: the batch-norm folded into it; else -1 */
  int residual;   /* a head: the node whose output the residual sum adds; else -1 */
  int act;        /* a head: the rectifier applied to its output; a max pool
                   * reading a head's rectifier: that rectifier, applied to the
                   * pool's output instead; else -1 */
  size_t fold_at; /* a head with bn: its folded weights then bias, in floats */
  size_t pack_at; /* a conv2d: its packed filters, in floats; else SIZE_MAX */
} sl_fuse;

/* The table for model m on backend be (NULL: the CPU backend, for measures;
 * readers: per node, how many nodes and the loss read its output), or NULL when nothing fuses (or out of memory:
 * then the plan runs unfused). *fold_floats receives the floats the folded
 * weights and the packed filters take. */
sl_fuse *_sl_fuse_new (const sl_model *m, sl_backend *be, const int *readers, size_t *fold_floats);
/* Folds every batch-norm into its head and packs the filters, from the
 * model's host parameters and running statistics (which stay untouched)
 * into `folded`. */
void _sl_fuse_fold (const sl_model *m, sl_backend *be, const sl_fuse *f, float *folded);
/* The input through which follower i receives its head's output. */
int _sl_fuse_passed_input (const sl_model *m, const sl_fuse *f, int i);
/* Whether a layer of this kind is a rectifier (relu, relu6, leaky relu), and its activation. */
bool _sl_fuse_is_rectifier (sl_layer_kind kind);
sl_activation _sl_fuse_activation_of (sl_layer_kind kind);
