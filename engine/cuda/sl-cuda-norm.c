/* sl-cuda-norm.c: batch normalisation over (N, H, W) per channel with cuDNN's spatial mode. */
#include "sl-cuda-private.h"

static const float one = 1.0f, zero = 0.0f;

/* x as [n, c, hw, 1], the per-channel tensors as [1, c, 1, 1]. */
static bool
describe (sl_cuda *c, int n, int ch, int hw)
{
  return sl_cuda_check_dnn (c,
                            cudnnSetTensor4dDescriptor (c->bn_x, CUDNN_TENSOR_NCHW,
                                                        CUDNN_DATA_FLOAT, n, ch, hw, 1),
                            "describing a batch-norm layer")
         && sl_cuda_check_dnn (c,
                               cudnnSetTensor4dDescriptor (c->bn_param, CUDNN_TENSOR_NCHW,
                                                           CUDNN_DATA_FLOAT, 1, ch, 1, 1),
                               "describing a batch-norm layer");
}

/* Training: batch statistics; running = (1 - momentum) running + momentum
 * batch (the variance unbiased), as on the CPU. saved receives the mean and
 * the inverse standard deviation, per channel. */
void
sl_cuda_batchnorm_forward (sl_backend *be, bool training, int n, int ch, int hw, const float *x,
                           const float *gamma, const float *beta, float *running_mean,
                           float *running_var, float epsilon, float momentum, float *saved,
                           float *y)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c) || !describe (c, n, ch, hw))
    return;
  if (training)
    sl_cuda_check_dnn (c,
                       cudnnBatchNormalizationForwardTraining (
                           c->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, c->bn_x, x, c->bn_x, y,
                           c->bn_param, gamma, beta, (double) momentum, running_mean, running_var,
                           (double) epsilon, saved, saved + ch),
                       "batch-norm forward");
  else
    sl_cuda_check_dnn (c,
                       cudnnBatchNormalizationForwardInference (
                           c->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, c->bn_x, x, c->bn_x, y,
                           c->bn_param, gamma, beta, running_mean, running_var, (double) epsilon),
                       "batch-norm inference");
}

void
sl_cuda_batchnorm_backward (sl_backend *be, int n, int ch, int hw, const float *x,
                            const float *gamma, const float *saved, float epsilon, const float *dy,
                            float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c))
    return;
  if (dx == NULL)
    {
      /* cuDNN always writes dx; the model's input needs none. */
      sl_cuda_batchnorm_param_grads (c, n, ch, hw, x, saved, saved + ch, dy, dgamma, dbeta);
      return;
    }
  if (describe (c, n, ch, hw))
    sl_cuda_check_dnn (c,
                       cudnnBatchNormalizationBackward (
                           c->dnn, CUDNN_BATCHNORM_SPATIAL, &one, accumulate ? &one : &zero, &one,
                           &zero, c->bn_x, x, c->bn_x, dy, c->bn_x, dx, c->bn_param, gamma, dgamma,
                           dbeta, (double) epsilon, saved, saved + ch),
                       "batch-norm backward");
}
