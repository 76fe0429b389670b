/* sl-cpu-norm.c: batch normalisation over (N, H, W) per channel, channels split over the pool. */
#include "sl-cpu-private.h"

#include <math.h>

typedef struct
{
  bool training, accumulate;
  int n, c, hw;
  const float *x, *gamma, *beta, *dy;
  float *running_mean, *running_var, *saved, *y, *dx, *dgamma, *dbeta;
  float epsilon, momentum;
} bn_job;

static void
forward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const size_t plane = (size_t) j->c * j->hw;
  long c0, c1;

  sl_split_range (j->c, t, threads, &c0, &c1);
  for (long ch = c0; ch < c1; ch++)
    {
      float mean, invstd;

      if (j->training)
        {
          double sum = 0.0, sq = 0.0;
          const double count = (double) j->n * j->hw;

          for (int i = 0; i < j->n; i++)
            {
              const float *p = j->x + i * plane + ch * j->hw;
              for (int k = 0; k < j->hw; k++)
                sum += p[k];
            }
          mean = (float) (sum / count);
          for (int i = 0; i < j->n; i++)
            {
              const float *p = j->x + i * plane + ch * j->hw;
              for (int k = 0; k < j->hw; k++)
                {
                  double dv = p[k] - mean;
                  sq += dv * dv;
                }
            }
          double var = sq / count;
          invstd = (float) (1.0 / sqrt (var + j->epsilon));
          j->saved[ch] = mean;
          j->saved[j->c + ch] = invstd;
          j->running_mean[ch] = (1.0f - j->momentum) * j->running_mean[ch] + j->momentum * mean;
          j->running_var[ch] = (float) ((1.0 - j->momentum) * j->running_var[ch]
                                        + j->momentum * var * (count > 1 ? count / (count - 1) : 1.0));
        }
      else
        {
          mean = j->running_mean[ch];
          invstd = 1.0f / sqrtf (j->running_var[ch] + j->epsilon);
        }

      float scale = j->gamma[ch] * invstd, shift = j->beta[ch] - mean * scale;
      for (int i = 0; i < j->n; i++)
        {
          const float *p = j->x + i * plane + ch * j->hw;
          float *q = j->y + i * plane + ch * j->hw;
          for (int k = 0; k < j->hw; k++)
            q[k] = p[k] * scale + shift;
        }
    }
}

void
sl_cpu_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, float epsilon, float momentum, float *saved,
                          float *y)
{
  bn_job j = { .training = training, .n = n, .c = c, .hw = hw, .x = x, .gamma = gamma,
               .beta = beta, .running_mean = running_mean, .running_var = running_var,
               .saved = saved, .y = y, .epsilon = epsilon, .momentum = momentum };

  sl_threadpool_run (sl_cpu_of (be)->pool, forward_share, &j);
}

static void
backward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const size_t plane = (size_t) j->c * j->hw;
  const double count = (double) j->n * j->hw;
  long c0, c1;

  sl_split_range (j->c, t, threads, &c0, &c1);
  for (long ch = c0; ch < c1; ch++)
    {
      const float mean = j->saved[ch], invstd = j->saved[j->c + ch];
      double sum_dy = 0.0, sum_dy_xhat = 0.0;

      for (int i = 0; i < j->n; i++)
        {
          const float *p = j->x + i * plane + ch * j->hw;
          const float *g = j->dy + i * plane + ch * j->hw;
          for (int k = 0; k < j->hw; k++)
            {
              sum_dy += g[k];
              sum_dy_xhat += g[k] * (p[k] - mean) * invstd;
            }
        }
      j->dbeta[ch] = (float) sum_dy;
      j->dgamma[ch] = (float) sum_dy_xhat;
      if (j->dx == NULL)
        continue;

      const float k1 = j->gamma[ch] * invstd;
      const float mdy = (float) (sum_dy / count), mdyx = (float) (sum_dy_xhat / count);
      for (int i = 0; i < j->n; i++)
        {
          const float *p = j->x + i * plane + ch * j->hw;
          const float *g = j->dy + i * plane + ch * j->hw;
          float *d = j->dx + i * plane + ch * j->hw;
          for (int k = 0; k < j->hw; k++)
            {
              float xhat = (p[k] - mean) * invstd;
              sl_store_grad (&d[k], k1 * (g[k] - mdy - xhat * mdyx), j->accumulate);
            }
        }
    }
}

void
sl_cpu_batchnorm_backward (sl_backend *be, int n, int c, int hw, const float *x,
                           const float *gamma, const float *saved, const float *dy, float *dx,
                           bool accumulate, float *dgamma, float *dbeta)
{
  bn_job j = { .n = n, .c = c, .hw = hw, .x = x, .gamma = gamma, .saved = (float *) saved,
               .dy = dy, .dx = dx, .accumulate = accumulate, .dgamma = dgamma, .dbeta = dbeta };

  sl_threadpool_run (sl_cpu_of (be)->pool, backward_share, &j);
}
