/* sl-cuda-loss.cu: softmax, and softmax cross-entropy with class weights and label smoothing,
 * in the CPU's double precision and formulas (sl-cpu-loss.c). */
#include "sl-cuda-private.h"

#include <math.h>

#define LOSS_THREADS 256

/* One thread per image. */
__global__ static void
softmax (int n, int k, const float *logits, float *probs)
{
  int i = blockIdx.x * blockDim.x + threadIdx.x;

  if (i >= n)
    return;
  const float *z = logits + (size_t) i * k;
  float *p = probs + (size_t) i * k, mx = z[0];
  double sum = 0.0;

  for (int c = 1; c < k; c++)
    mx = z[c] > mx ? z[c] : mx;
  for (int c = 0; c < k; c++)
    {
      p[c] = expf (z[c] - mx);
      sum += p[c];
    }
  for (int c = 0; c < k; c++)
    p[c] = (float) (p[c] / sum);
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
    weight_sum += weights != NULL ? weights[labels[i]] : 1.0f;
  weight_sum = block_sum (weight_sum, shared);
  if (weight_sum <= 0.0)
    weight_sum = 1.0;

  for (int i = threadIdx.x; i < n; i += LOSS_THREADS)
    {
      const float *z = logits + (size_t) i * k;
      const int y = labels[i];
      float mx = z[0];
      int best = 0;
      double sum = 0.0, sum_w = 0.0, sum_w_logp = 0.0;

      for (int c = 1; c < k; c++)
        if (z[c] > mx)
          {
            mx = z[c];
            best = c;
          }
      hits += best == y;
      for (int c = 0; c < k; c++)
        sum += exp ((double) z[c] - mx);
      const double log_sum = log (sum) + mx;
      for (int c = 0; c < k; c++)
        {
          double wc = weights != NULL ? weights[c] : 1.0;
          sum_w += wc;
          sum_w_logp += wc * (z[c] - log_sum);
        }
      const double wy = weights != NULL ? weights[y] : 1.0;
      total += -(1.0 - eps) * wy * (z[y] - log_sum) - (eps / k) * sum_w_logp;

      if (dlogits == NULL)
        continue;
      const double a = (1.0 - eps) * wy + (eps / k) * sum_w;
      for (int c = 0; c < k; c++)
        {
          double p = exp ((double) z[c] - log_sum);
          double wc = weights != NULL ? weights[c] : 1.0;
          double g = p * a - (eps / k) * wc - (c == y ? (1.0 - eps) * wy : 0.0);
          dlogits[(size_t) i * k + c] = (float) (g / weight_sum);
        }
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
