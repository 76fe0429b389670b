/* sl-cpu-norm.c: batch normalisation over (N, H, W) per channel, channels split over the pool. */
#include "sl-cpu-private.h"

#include <math.h>

typedef struct
{
  bool training, accumulate, running;
  int n, c, hw;
  const float *x, *gamma, *beta, *dy;
  float *running_mean, *running_var, *saved, *y, *dx, *dgamma, *dbeta;
  float epsilon, momentum;
} bn_job;

/* Sums of one plane in 16 independent lanes: vectorisable, and accurate enough
 * before the planes are combined in double precision. */
static void
plane_sums (const float *restrict p, int hw, float mean, double *sum, double *sq)
{
  float s[16] = { 0 }, q[16] = { 0 };
  int k = 0;

  for (; k + 16 <= hw; k += 16)
    for (int l = 0; l < 16; l++)
      {
        float d = p[k + l] - mean;
        s[l] += d;
        q[l] += d * d;
      }
  for (; k < hw; k++)
    {
      float d = p[k] - mean;
      s[0] += d;
      q[0] += d * d;
    }
  for (int l = 0; l < 16; l++)
    {
      *sum += s[l];
      *sq += q[l];
    }
}

static void
scale_shift (const float *restrict p, float *restrict q, int hw, float scale, float shift)
{
  for (int k = 0; k < hw; k++)
    q[k] = p[k] * scale + shift;
}

static void
forward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const int n = j->n, hw = j->hw;
  const size_t plane = (size_t) j->c * hw;
  long c0, c1;

  _sl_split_range (j->c, t, threads, &c0, &c1);
  for (long ch = c0; ch < c1; ch++)
    {
      const float *x = j->x + ch * hw;
      float *y = j->y + ch * hw;
      float mean, invstd;

      if (j->training)
        {
          const double count = (double) n * hw;
          double sum = 0.0, sq = 0.0, shifted_sum = 0.0;

          /* Shifting by the first plane's first value keeps the variance exact
           * when the mean is large next to the spread. */
          const float pivot = x[0];
          for (int i = 0; i < n; i++)
            plane_sums (x + i * plane, hw, pivot, &shifted_sum, &sq);
          sum = shifted_sum / count;
          double var = sq / count - sum * sum;
          if (var < 0.0)
            var = 0.0;
          mean = (float) (pivot + sum);
          invstd = (float) (1.0 / sqrt (var + j->epsilon));
          j->saved[ch] = mean;
          j->saved[j->c + ch] = invstd;
          j->running_mean[ch] = (1.0f - j->momentum) * j->running_mean[ch] + j->momentum * mean;
          j->running_var[ch]
              = (float) ((1.0 - j->momentum) * j->running_var[ch]
                         + j->momentum * var * (count > 1 ? count / (count - 1) : 1.0));
        }
      else
        {
          mean = j->running_mean[ch];
          invstd = 1.0f / sqrtf (j->running_var[ch] + j->epsilon);
        }

      const float scale = j->gamma[ch] * invstd, shift = j->beta[ch] - mean * scale;
      for (int i = 0; i < n; i++)
        scale_shift (x + i * plane, y + i * plane, hw, scale, shift);
    }
}

void
_sl_cpu_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                           const float *gamma, const float *beta, float *running_mean,
                           float *running_var, float epsilon, float momentum, float *saved,
                           float *y)
{
  bn_job j = { .training = training,
               .n = n,
               .c = c,
               .hw = hw,
               .x = x,
               .gamma = gamma,
               .beta = beta,
               .running_mean = running_mean,
               .running_var = running_var,
               .saved = saved,
               .y = y,
               .epsilon = epsilon,
               .momentum = momentum };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, forward_share, &j);
}

/* Sum of dy and of dy * xhat over one plane, in 16 lanes. */
static void
plane_grad_sums (const float *restrict x, const float *restrict g, int hw, float mean, float invstd,
                 double *sum_dy, double *sum_dy_xhat)
{
  float a[16] = { 0 }, b[16] = { 0 };
  int k = 0;

  for (; k + 16 <= hw; k += 16)
    for (int l = 0; l < 16; l++)
      {
        a[l] += g[k + l];
        b[l] += g[k + l] * (x[k + l] - mean);
      }
  for (; k < hw; k++)
    {
      a[0] += g[k];
      b[0] += g[k] * (x[k] - mean);
    }
  for (int l = 0; l < 16; l++)
    {
      *sum_dy += a[l];
      *sum_dy_xhat += (double) b[l] * invstd;
    }
}

static void
plane_dx (const float *restrict x, const float *restrict g, float *restrict d, int hw, float mean,
          float invstd, float k1, float mdy, float mdyx, bool accumulate)
{
  if (accumulate)
    for (int k = 0; k < hw; k++)
      d[k] += k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
  else
    for (int k = 0; k < hw; k++)
      d[k] = k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
}

/* The inference formula's input gradient: dy times gamma invstd. */
static void
plane_dx_running (const float *restrict g, float *restrict d, int hw, float k1, bool accumulate)
{
  if (accumulate)
    for (int k = 0; k < hw; k++)
      d[k] += k1 * g[k];
  else
    for (int k = 0; k < hw; k++)
      d[k] = k1 * g[k];
}

static void
backward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const int n = j->n, hw = j->hw;
  const size_t plane = (size_t) j->c * hw;
  const double count = (double) n * hw;
  long c0, c1;

  _sl_split_range (j->c, t, threads, &c0, &c1);
  for (long ch = c0; ch < c1; ch++)
    {
      /* A layer on running statistics: the same invstd as its forward. */
      const float mean = j->running ? j->running_mean[ch] : j->saved[ch];
      const float invstd
          = j->running ? 1.0f / sqrtf (j->running_var[ch] + j->epsilon) : j->saved[j->c + ch];
      const float *x = j->x + ch * hw, *g = j->dy + ch * hw;
      double sum_dy = 0.0, sum_dy_xhat = 0.0;

      /* The inference formula's dx needs no sums: skip them when nobody wants gamma's and beta's. */
      if (!j->running || j->dgamma != NULL)
        for (int i = 0; i < n; i++)
          plane_grad_sums (x + i * plane, g + i * plane, hw, mean, invstd, &sum_dy, &sum_dy_xhat);
      if (j->dgamma != NULL)
        {
          j->dbeta[ch] = (float) sum_dy;
          j->dgamma[ch] = (float) sum_dy_xhat;
        }
      if (j->dx == NULL)
        continue;

      const float k1 = j->gamma[ch] * invstd;
      if (j->running)
        {
          for (int i = 0; i < n; i++)
            plane_dx_running (g + i * plane, j->dx + ch * hw + i * plane, hw, k1, j->accumulate);
          continue;
        }
      const float mdy = (float) (sum_dy / count), mdyx = (float) (sum_dy_xhat / count);
      for (int i = 0; i < n; i++)
        plane_dx (x + i * plane, g + i * plane, j->dx + ch * hw + i * plane, hw, mean, invstd, k1,
                  mdy, mdyx, j->accumulate);
    }
}

void
_sl_cpu_batchnorm_backward (sl_backend *be, int n, int c, int hw, const float *x,
                            const float *gamma, const float *saved, float epsilon, const float *dy,
                            float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  bn_job j = { .n = n,
               .c = c,
               .hw = hw,
               .x = x,
               .gamma = gamma,
               .saved = (float *) saved,
               .dy = dy,
               .dx = dx,
               .accumulate = accumulate,
               .dgamma = dgamma,
               .dbeta = dbeta };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, backward_share, &j);
}

/* Backward of the inference formula: the mean and variance are constants
 * (the running statistics), so no batch terms enter dx. */
void
_sl_cpu_batchnorm_backward_running (sl_backend *be, int n, int c, int hw, const float *x,
                                    const float *gamma, const float *running_mean,
                                    const float *running_var, float epsilon, const float *dy,
                                    float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  bn_job j = { .running = true,
               .n = n,
               .c = c,
               .hw = hw,
               .x = x,
               .gamma = gamma,
               .running_mean = (float *) running_mean,
               .running_var = (float *) running_var,
               .epsilon = epsilon,
               .dy = dy,
               .dx = dx,
               .accumulate = accumulate,
               .dgamma = dgamma,
               .dbeta = dbeta };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, backward_share, &j);
}
