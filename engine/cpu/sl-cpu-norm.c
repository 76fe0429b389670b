/* sl-cpu-norm.c: batch normalisation over (N, H, W) per channel, channels split over the pool. */
#include "sl-cpu-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  bool training, accumulate, running;
  bool apply;    /* normalise with the batch statistics in saved (a recomputation) */
  bool activate; /* and then act (slope) over each plane while it is in the cache */
  sl_activation act;
  float slope;
  int n, c, hw;
  const float *x, *gamma, *beta, *dy;
  float *running_mean, *running_var, *saved, *y, *dx, *dgamma, *dbeta;
  float epsilon, momentum;
} bn_job;

/* Eight floats as one value: the compiler keeps these in vector registers
 * (written out, since its own vectorisation of 16 scalar lanes shuffles). */
typedef float v8f __attribute__ ((vector_size (8 * sizeof (float))));

static inline v8f
load8 (const float *p)
{
  v8f v;

  memcpy (&v, p, sizeof v);
  return v;
}

/* Sums of one plane in 16 independent lanes (two vectors of eight):
 * accurate enough before the planes are combined in double precision. */
static void
plane_sums (const float *restrict p, int hw, float mean, double *sum, double *sq)
{
  v8f s0 = { 0 }, s1 = { 0 }, q0 = { 0 }, q1 = { 0 };
  float s[16], q[16];
  int k = 0;

  for (; k + 16 <= hw; k += 16)
    {
      const v8f d0 = load8 (p + k) - mean, d1 = load8 (p + k + 8) - mean;
      s0 += d0;
      s1 += d1;
      q0 += d0 * d0;
      q1 += d1 * d1;
    }
  memcpy (s, &s0, sizeof s0);
  memcpy (s + 8, &s1, sizeof s1);
  memcpy (q, &q0, sizeof q0);
  memcpy (q + 8, &q1, sizeof q1);
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

/* Not inlined: one body, so a recomputation rounds as the training pass did. */
static __attribute__ ((noinline)) void
scale_shift (const float *restrict p, float *restrict q, int hw, float scale, float shift)
{
  for (int k = 0; k < hw; k++)
    q[k] = p[k] * scale + shift;
}

/* Channels are walked in blocks: for each image, the block's planes lie next to
 * each other, so small planes (late layers: 4 x 4 .. 16 x 16) stream through
 * memory instead of jumping one plane per image; the block is sized so its
 * planes over the whole batch stay in the cache for the second pass. Each
 * channel still sums its planes image by image in the same order, so the
 * results do not depend on the block or on the thread count. */
#define BLOCK_MAX   256
#define BLOCK_BYTES (192 * 1024)

static long
block_channels (int n, int hw, int tensors)
{
  const size_t per_channel = (size_t) n * hw * sizeof (float) * tensors;
  size_t b = per_channel > 0 ? BLOCK_BYTES / per_channel : BLOCK_MAX;

  return b < 1 ? 1 : b > BLOCK_MAX ? BLOCK_MAX : (long) b;
}

static void
forward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const int n = j->n, hw = j->hw;
  const size_t plane = (size_t) j->c * hw;
  const long block = block_channels (n, hw, 1);
  long c0, c1;

  _sl_split_range (j->c, t, threads, &c0, &c1);
  for (long b0 = c0; b0 < c1; b0 += block)
    {
      const long b1 = b0 + block < c1 ? b0 + block : c1;
      float scale[BLOCK_MAX], shift[BLOCK_MAX], mean[BLOCK_MAX], invstd[BLOCK_MAX];

      if (j->training)
        {
          const double count = (double) n * hw;
          double shifted_sum[BLOCK_MAX] = { 0 }, sq[BLOCK_MAX] = { 0 };
          float pivot[BLOCK_MAX];

          /* Shifting by the first plane's first value keeps the variance exact
           * when the mean is large next to the spread. */
          for (long ch = b0; ch < b1; ch++)
            pivot[ch - b0] = j->x[ch * hw];
          for (int i = 0; i < n; i++)
            for (long ch = b0; ch < b1; ch++)
              plane_sums (j->x + i * plane + ch * hw, hw, pivot[ch - b0], &shifted_sum[ch - b0],
                          &sq[ch - b0]);
          for (long ch = b0; ch < b1; ch++)
            {
              const double sum = shifted_sum[ch - b0] / count;
              double var = sq[ch - b0] / count - sum * sum;
              if (var < 0.0)
                var = 0.0;
              mean[ch - b0] = (float) (pivot[ch - b0] + sum);
              invstd[ch - b0] = (float) (1.0 / sqrt (var + j->epsilon));
              j->saved[ch] = mean[ch - b0];
              j->saved[j->c + ch] = invstd[ch - b0];
              j->running_mean[ch]
                  = (1.0f - j->momentum) * j->running_mean[ch] + j->momentum * mean[ch - b0];
              j->running_var[ch]
                  = (float) ((1.0 - j->momentum) * j->running_var[ch]
                             + j->momentum * var * (count > 1 ? count / (count - 1) : 1.0));
            }
        }
      else if (j->apply)
        for (long ch = b0; ch < b1; ch++)
          {
            mean[ch - b0] = j->saved[ch];
            invstd[ch - b0] = j->saved[j->c + ch];
          }
      else
        for (long ch = b0; ch < b1; ch++)
          {
            mean[ch - b0] = j->running_mean[ch];
            invstd[ch - b0] = 1.0f / sqrtf (j->running_var[ch] + j->epsilon);
          }
      /* One place computes the coefficients, so a recomputation from the saved
       * statistics repeats the training pass's arithmetic bit for bit. */
      for (long ch = b0; ch < b1; ch++)
        {
          scale[ch - b0] = j->gamma[ch] * invstd[ch - b0];
          shift[ch - b0] = j->beta[ch] - mean[ch - b0] * scale[ch - b0];
        }

      for (int i = 0; i < n; i++)
        for (long ch = b0; ch < b1; ch++)
          {
            float *q = j->y + i * plane + ch * hw;

            scale_shift (j->x + i * plane + ch * hw, q, hw, scale[ch - b0], shift[ch - b0]);
            if (j->activate)
              _sl_cpu_activation_range (j->act, j->slope, q, q, hw);
          }
    }
}

/* A forward job's tensors and constants; the callers set how it normalises. */
static bn_job
forward_job (int n, int c, int hw, const float *x, const float *gamma, const float *beta,
             float *running_mean, float *running_var, float epsilon, float momentum, float *saved,
             float *y)
{
  return (bn_job){ .n = n,
                   .c = c,
                   .hw = hw,
                   .x = x,
                   .gamma = gamma,
                   .beta = beta,
                   .running_mean = running_mean,
                   .running_var = running_var,
                   .epsilon = epsilon,
                   .momentum = momentum,
                   .saved = saved,
                   .y = y };
}

void
_sl_cpu_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                           const float *gamma, const float *beta, float *running_mean,
                           float *running_var, float epsilon, float momentum, float *saved,
                           float *y)
{
  bn_job j = forward_job (n, c, hw, x, gamma, beta, running_mean, running_var, epsilon, momentum,
                          saved, y);

  j.training = training;
  _sl_threadpool_run (_sl_cpu_of (be)->pool, forward_share, &j);
}

/* A training pass with the rectifier in place on its output applied plane
 * by plane (the same bits as batchnorm_forward then activation_forward), or
 * (recompute) y again from the mean and inverse std that pass left in saved:
 * the same coefficients and planes, so the same bits. Without saved, a layer
 * on its running statistics (a fine-tuned backbone's): both passes normalise
 * with those, as batchnorm_forward does outside training. */
void
_sl_cpu_batchnorm_act (sl_backend *be, bool recompute, int n, int c, int hw, const float *x,
                       const float *gamma, const float *beta, float *running_mean,
                       float *running_var, float epsilon, float momentum, float *saved,
                       bool activate, sl_activation act, float slope, float *y)
{
  bn_job j = forward_job (n, c, hw, x, gamma, beta, running_mean, running_var, epsilon, momentum,
                          saved, y);

  j.training = !recompute && saved != NULL;
  j.apply = recompute && saved != NULL;
  j.activate = activate;
  j.act = act;
  j.slope = slope;
  _sl_threadpool_run (_sl_cpu_of (be)->pool, forward_share, &j);
}

/* Sum of dy and of dy * xhat over one plane, in 16 lanes (two vectors). */
static void
plane_grad_sums (const float *restrict x, const float *restrict g, int hw, float mean, float invstd,
                 double *sum_dy, double *sum_dy_xhat)
{
  v8f a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 };
  float a[16], b[16];
  int k = 0;

  for (; k + 16 <= hw; k += 16)
    {
      const v8f g0 = load8 (g + k), g1 = load8 (g + k + 8);
      a0 += g0;
      a1 += g1;
      b0 += g0 * (load8 (x + k) - mean);
      b1 += g1 * (load8 (x + k + 8) - mean);
    }
  memcpy (a, &a0, sizeof a0);
  memcpy (a + 8, &a1, sizeof a1);
  memcpy (b, &b0, sizeof b0);
  memcpy (b + 8, &b1, sizeof b1);
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

/* dx over dy itself (batchnorm_backward_in_place): the same arithmetic. */
static void
plane_dx_in_place (const float *restrict x, float *restrict g, int hw, float mean, float invstd,
                   float k1, float mdy, float mdyx)
{
  for (int k = 0; k < hw; k++)
    g[k] = k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
}

static void
plane_dx (const float *restrict x, const float *restrict g, float *restrict d, int hw, float mean,
          float invstd, float k1, float mdy, float mdyx, bool accumulate)
{
  if (d == g)
    plane_dx_in_place (x, d, hw, mean, invstd, k1, mdy, mdyx);
  else if (accumulate)
    for (int k = 0; k < hw; k++)
      d[k] += k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
  else
    for (int k = 0; k < hw; k++)
      d[k] = k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
}

/* The inference formula's input gradient: dy times gamma invstd. */
static void
plane_dx_running (const float *g, float *d, int hw, float k1, bool accumulate)
{
  if (d == g)
    for (int k = 0; k < hw; k++)
      d[k] *= k1;
  else if (accumulate)
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
  const long block = block_channels (n, hw, 2);
  long c0, c1;

  _sl_split_range (j->c, t, threads, &c0, &c1);
  for (long b0 = c0; b0 < c1; b0 += block)
    {
      const long b1 = b0 + block < c1 ? b0 + block : c1;
      float mean[BLOCK_MAX], invstd[BLOCK_MAX], k1[BLOCK_MAX], mdy[BLOCK_MAX], mdyx[BLOCK_MAX];
      double sum_dy[BLOCK_MAX] = { 0 }, sum_dy_xhat[BLOCK_MAX] = { 0 };

      /* A layer on running statistics: the same invstd as its forward. */
      for (long ch = b0; ch < b1; ch++)
        {
          mean[ch - b0] = j->running ? j->running_mean[ch] : j->saved[ch];
          invstd[ch - b0]
              = j->running ? 1.0f / sqrtf (j->running_var[ch] + j->epsilon) : j->saved[j->c + ch];
        }
      /* The inference formula's dx needs no sums: skip them when nobody wants gamma's and beta's. */
      if (!j->running || j->dgamma != NULL)
        for (int i = 0; i < n; i++)
          for (long ch = b0; ch < b1; ch++)
            {
              const size_t o = i * plane + ch * hw;
              plane_grad_sums (j->x + o, j->dy + o, hw, mean[ch - b0], invstd[ch - b0],
                               &sum_dy[ch - b0], &sum_dy_xhat[ch - b0]);
            }
      if (j->dgamma != NULL)
        for (long ch = b0; ch < b1; ch++)
          {
            j->dbeta[ch] = (float) sum_dy[ch - b0];
            j->dgamma[ch] = (float) sum_dy_xhat[ch - b0];
          }
      if (j->dx == NULL)
        continue;

      for (long ch = b0; ch < b1; ch++)
        {
          k1[ch - b0] = j->gamma[ch] * invstd[ch - b0];
          mdy[ch - b0] = (float) (sum_dy[ch - b0] / count);
          mdyx[ch - b0] = (float) (sum_dy_xhat[ch - b0] / count);
        }
      for (int i = 0; i < n; i++)
        for (long ch = b0; ch < b1; ch++)
          {
            const size_t o = i * plane + ch * hw;
            if (j->running)
              plane_dx_running (j->dy + o, j->dx + o, hw, k1[ch - b0], j->accumulate);
            else
              plane_dx (j->x + o, j->dy + o, j->dx + o, hw, mean[ch - b0], invstd[ch - b0],
                        k1[ch - b0], mdy[ch - b0], mdyx[ch - b0], j->accumulate);
          }
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
