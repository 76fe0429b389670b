/* sl-cpu-loss.c: softmax and softmax cross-entropy with class weights and label smoothing
 * over a batch, one image at a time (sl-softmax-xent-private.h). */
#include "sl-cpu-private.h"
#include "sl-softmax-xent-private.h"

void
_sl_cpu_softmax (sl_backend *be, int n, int k, const float *logits, float *probs)
{
  for (int i = 0; i < n; i++)
    _sl_softmax_row (k, logits + (size_t) i * k, probs + (size_t) i * k);
}

/* The batch loss is the weighted mean of the images' (sl-softmax-xent-private.h). */
void
_sl_cpu_softmax_xent (sl_backend *be, int n, int k, const float *logits, const int32_t *labels,
                      const sl_loss_desc *loss, float *dlogits, double *stats)
{
  double total = 0.0, weight_sum = 0.0;
  int hits = 0;

  for (int i = 0; i < n; i++)
    weight_sum += _sl_xent_weight (loss->weights, labels[i]);
  if (weight_sum <= 0.0)
    weight_sum = 1.0;
  for (int i = 0; i < n; i++)
    {
      bool hit;

      total += _sl_softmax_xent_image (k, logits + (size_t) i * k, labels[i], loss->weights,
                                       loss->smoothing, weight_sum,
                                       dlogits != NULL ? dlogits + (size_t) i * k : NULL, &hit);
      hits += hit;
    }
  stats[SL_STAT_LOSS] = total / weight_sum;
  stats[SL_STAT_CORRECT] = hits;
}
