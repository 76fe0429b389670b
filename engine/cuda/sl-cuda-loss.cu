/* sl-cuda-loss.cu: softmax, and softmax cross-entropy with class weights and label smoothing,
 * with the per-image code the CPU backend compiles too (sl-softmax-xent-private.h). */
#include "sl-cuda-private.h"
#include "sl-softmax-xent-private.h"

#define LOSS_THREADS 256

/* One thread per image. */
__global__ static void
softmax (int n, int k, const float *logits, float *probs)
{
  int i = blockIdx.x * blockDim.x + threadIdx.x;

  if (i >= n)
    return;
  _sl_softmax_row (k, logits + (size_t) i * k, probs + (size_t) i * k);
}

/* Sums v over the block; every thread gets the total. */
__device__ static double
block_sum (double v, double *shared)
{
  shared[threadIdx.x] = v;
  __syncthreads ();
  for (int half = LOSS_THREADS / 2; half > 0; half /= 2)
    {
      if ((int) threadIdx.x < half)
        shared[threadIdx.x] += shared[threadIdx.x + half];
      __syncthreads ();
    }
  v = shared[0];
  __syncthreads ();
  return v;
}

/* One block: classifiers have few classes, and one launch keeps the batch's
 * sums in a fixed order (the same loss on every run). */
__global__ static void
softmax_xent (int n, int k, const float *logits, const int32_t *labels, const float *weights,
              float eps, float *dlogits, double *stats)
{
  __shared__ double shared[LOSS_THREADS];
  double weight_sum = 0.0, total = 0.0, hits = 0.0;

  for (int i = threadIdx.x; i < n; i += LOSS_THREADS)
    weight_sum += _sl_xent_weight (weights, labels[i]);
  weight_sum = block_sum (weight_sum, shared);
  if (weight_sum <= 0.0)
    weight_sum = 1.0;

  for (int i = threadIdx.x; i < n; i += LOSS_THREADS)
    {
      bool hit;

      total += _sl_softmax_xent_image (k, logits + (size_t) i * k, labels[i], weights, eps,
                                       weight_sum,
                                       dlogits != NULL ? dlogits + (size_t) i * k : NULL, &hit);
      hits += hit;
    }
  total = block_sum (total, shared);
  hits = block_sum (hits, shared);
  if (threadIdx.x == 0)
    {
      stats[SL_STAT_LOSS] = total / weight_sum;
      stats[SL_STAT_CORRECT] = hits;
    }
}

extern "C" void
sl_cuda_softmax (sl_backend *be, int n, int k, const float *logits, float *probs)
{
  sl_cuda *c = sl_cuda_of (be);

  if (n <= 0 || !sl_cuda_enter (c))
    return;
  softmax<<<(n + 127) / 128, 128, 0, c->stream>>> (n, k, logits, probs);
  sl_cuda_check_launch (c, "softmax");
}

extern "C" void
sl_cuda_softmax_xent (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                      const sl_loss_desc *loss, float *dlogits, double *stats)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c))
    return;
  softmax_xent<<<1, LOSS_THREADS, 0, c->stream>>> (n, k, logits, labels, loss->weights,
                                                   loss->smoothing, dlogits, stats);
  sl_cuda_check_launch (c, "the loss");
}
