/* sl-cuda-norm-grad.cu: batch-norm's scale and shift gradients on their own, for a layer on the
 * model's input (cuDNN's backward always computes the input gradient too). */
#include "sl-cuda-private.h"

#define NORM_THREADS 256

/* One block per channel; sums in double, as the CPU combines them. */
__global__ static void
param_grads (int n, int ch, int hw, const float *x, const float *mean, const float *invstd,
             const float *dy, float *dgamma, float *dbeta)
{
  __shared__ double s_dy[NORM_THREADS], s_dyx[NORM_THREADS];
  const int c = blockIdx.x;
  const size_t count = (size_t) n * hw;
  double a = 0.0, b = 0.0;

  for (size_t j = threadIdx.x; j < count; j += NORM_THREADS)
    {
      size_t at = ((j / hw) * ch + c) * hw + j % hw;
      float g = dy[at];

      a += g;
      b += (double) g * (x[at] - mean[c]);
    }
  s_dy[threadIdx.x] = a;
  s_dyx[threadIdx.x] = b;
  __syncthreads ();
  for (int half = NORM_THREADS / 2; half > 0; half /= 2)
    {
      if ((int) threadIdx.x < half)
        {
          s_dy[threadIdx.x] += s_dy[threadIdx.x + half];
          s_dyx[threadIdx.x] += s_dyx[threadIdx.x + half];
        }
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    {
      dbeta[c] = (float) s_dy[0];
      dgamma[c] = (float) (s_dyx[0] * invstd[c]);
    }
}

extern "C" void
sl_cuda_batchnorm_param_grads (sl_cuda *c, int n, int ch, int hw, const float *x,
                               const float *saved_mean, const float *saved_invstd, const float *dy,
                               float *dgamma, float *dbeta)
{
  if (ch <= 0)
    return;
  param_grads<<<ch, NORM_THREADS, 0, c->stream>>> (n, ch, hw, x, saved_mean, saved_invstd, dy,
                                                   dgamma, dbeta);
  sl_cuda_check_launch (c, "batch-norm parameter gradients");
}
