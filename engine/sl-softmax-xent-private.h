/* sl-softmax-xent-private.h: softmax and softmax cross-entropy of one image, compiled by both
 * the CPU backend (sl-cpu-loss.c) and the CUDA backend (sl-cuda-loss.cu), so their results
 * agree by construction; each backend only loops over the batch and sums. */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __CUDACC__
#define SL_HOST_DEVICE __host__ __device__
#else
#define SL_HOST_DEVICE
#endif

/* probs = softmax (logits) over k classes. */
static inline SL_HOST_DEVICE void
_sl_softmax_row (int k, const float *z, float *p)
{
  float mx = z[0];
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

/* The weight of an image of class y (1 without class weights). */
static inline SL_HOST_DEVICE float
_sl_xent_weight (const float *weights, int y)
{
  return weights != NULL ? weights[y] : 1.0f;
}

/* One image of class y with logits z: returns
 *   l = (1 - e) w[y] (-log p[y]) + (e / K) sum_c w[c] (-log p[c])
 * (the batch loss is sum l / weight_sum, PyTorch's weighted mean), sets *hit
 * when the largest logit is y's, and when dz is not NULL writes
 *   d l / d z_c / weight_sum,
 * with d l / d z_c = p_c ((1 - e) w[y] + (e / K) sum_w) - (1 - e) w[y] [c = y] - (e / K) w[c]. */
static inline SL_HOST_DEVICE double
_sl_softmax_xent_image (int k, const float *z, int y, const float *weights, float eps,
                        double weight_sum, float *dz, bool *hit)
{
  float mx = z[0];
  int best = 0;
  double sum = 0.0, sum_w = 0.0, sum_w_logp = 0.0;

  for (int c = 1; c < k; c++)
    if (z[c] > mx)
      {
        mx = z[c];
        best = c;
      }
  *hit = best == y;
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
  const double loss = -(1.0 - eps) * wy * (z[y] - log_sum) - (eps / k) * sum_w_logp;

  if (dz == NULL)
    return loss;
  const double a = (1.0 - eps) * wy + (eps / k) * sum_w;
  for (int c = 0; c < k; c++)
    {
      double p = exp ((double) z[c] - log_sum);
      double wc = weights != NULL ? weights[c] : 1.0;
      double g = p * a - (eps / k) * wc - (c == y ? (1.0 - eps) * wy : 0.0);
      dz[c] = (float) (g / weight_sum);
    }
  return loss;
}
