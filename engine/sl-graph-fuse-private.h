/* sl-graph-fuse-private.h: which layers of an inference plan run inside the convolution or dense layer before them. */
#pragma once

#include "sl-model-private.h"

/* Per node of an inference plan. A head (conv2d or dense) computes, with
 * folded weights when a batch-norm follows it alone, the output of its last
 * follower (the batch-norm and a rectifier after it); a follower runs
 * nothing and passes its input on, which then holds its output. Where a max
 * pool alone reads the rectifier, the pool applies it to its own output. */
typedef struct
{
  int head;       /* a follower: the head it runs inside; else -1 */
  int bn;         /* a head: the batch-norm folded into it; else -1 */
  int act;        /* a head: the rectifier applied to its output; a max pool
                   * reading a head's rectifier: that rectifier, applied to the
                   * pool's output instead; else -1 */
  size_t fold_at; /* a head with bn: its folded weights then bias, in floats */
} sl_fuse;

/* The table for model m (readers: per node, how many nodes and the loss
 * read its output), or NULL when nothing fuses (or out of memory: then the
 * plan runs unfused). *fold_floats receives the floats the folded weights take. */
sl_fuse *_sl_fuse_new (const sl_model *m, const int *readers, size_t *fold_floats);
/* Folds every batch-norm into its head, from the model's host parameters
 * and running statistics (which stay untouched) into `folded`. */
void _sl_fuse_fold (const sl_model *m, const sl_fuse *f, float *folded);
sl_activation _sl_fuse_activation_of (sl_layer_kind kind);
