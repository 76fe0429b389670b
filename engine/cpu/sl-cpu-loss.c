/* sl-cpu-loss.c: softmax and softmax cross-entropy with class weights and label smoothing. */
#include "sl-cpu-private.h"

#include <math.h>

void
sl_cpu_softmax (sl_backend *be, int n, int k, const float *logits, float *probs)
{
  for (int i = 0; i < n; i++)
    {
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
}

/* Per image: l = (1 - e) w[y] (-log p[y]) + (e / K) sum_c w[c] (-log p[c]);
 * the batch loss is sum l / sum w[y] (PyTorch's weighted mean). */
void
sl_cpu_softmax_xent (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                     const sl_loss_desc *loss, float *dlogits, double *stats)
{
  const float eps = loss->smoothing;
  double total = 0.0, weight_sum = 0.0;
  int hits = 0;

  for (int i = 0; i < n; i++)
    weight_sum += loss->weights != NULL ? loss->weights[labels[i]] : 1.0f;
  if (weight_sum <= 0.0)
    weight_sum = 1.0;

  for (int i = 0; i < n; i++)
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
          double wc = loss->weights != NULL ? loss->weights[c] : 1.0;
          sum_w += wc;
          sum_w_logp += wc * (z[c] - log_sum);
        }
      const double wy = loss->weights != NULL ? loss->weights[y] : 1.0;
      total += -(1.0 - eps) * wy * (z[y] - log_sum) - (eps / k) * sum_w_logp;

      if (dlogits == NULL)
        continue;
      /* d l / d z_c = p_c ((1 - e) w[y] + (e / K) sum_w) - (1 - e) w[y] [c = y] - (e / K) w[c] */
      const double a = (1.0 - eps) * wy + (eps / k) * sum_w;
      for (int c = 0; c < k; c++)
        {
          double p = exp ((double) z[c] - log_sum);
          double wc = loss->weights != NULL ? loss->weights[c] : 1.0;
          double g = p * a - (eps / k) * wc - (c == y ? (1.0 - eps) * wy : 0.0);
          dlogits[(size_t) i * k + c] = (float) (g / weight_sum);
        }
    }
  stats[SL_STAT_LOSS] = total / weight_sum;
  stats[SL_STAT_CORRECT] = hits;
}
