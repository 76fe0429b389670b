/* sl-cuda-norm-grad.cu: batch-norm gradients cuDNN lacks: scale and shift alone (a layer on the
 * model's input), and the backward of the inference formula ("statistics": "running"). */
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

/* The inference formula's backward, one block per channel: the running
 * statistics are constants, so dx = dy gamma invstd; dgamma and dbeta as in
 * param_grads. invstd is computed as the CPU's forward does (float). */
__global__ static void
running_grads (int n, int ch, int hw, const float *x, const float *gamma, const float *mean,
               const float *var, float epsilon, const float *dy, float *dx, bool accumulate,
               float *dgamma, float *dbeta)
{
  __shared__ double s_dy[NORM_THREADS], s_dyx[NORM_THREADS];
  const int c = blockIdx.x;
  const size_t count = (size_t) n * hw;
  const float m = mean[c], invstd = 1.0f / sqrtf (var[c] + epsilon), k1 = gamma[c] * invstd;
  double a = 0.0, b = 0.0;

  for (size_t j = threadIdx.x; j < count; j += NORM_THREADS)
    {
      size_t at = ((j / hw) * ch + c) * hw + j % hw;
      float g = dy[at];

      a += g;
      b += (double) g * (x[at] - m);
      if (dx != NULL)
        dx[at] = accumulate ? dx[at] + k1 * g : k1 * g;
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
  if (threadIdx.x == 0 && dgamma != NULL)
    {
      dbeta[c] = (float) s_dy[0];
      dgamma[c] = (float) (s_dyx[0] * invstd);
    }
}

extern "C" void
sl_cuda_batchnorm_backward_running (sl_backend *be, int n, int ch, int hw, const float *x,
                                    const float *gamma, const float *running_mean,
                                    const float *running_var, float epsilon, const float *dy,
                                    float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c) || ch <= 0)
    return;
  running_grads<<<ch, NORM_THREADS, 0, c->stream>>> (n, ch, hw, x, gamma, running_mean, running_var,
                                                     epsilon, dy, dx, accumulate, dgamma, dbeta);
  sl_cuda_check_launch (c, "batch-norm backward on running statistics");
}
