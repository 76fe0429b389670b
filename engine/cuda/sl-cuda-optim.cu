/* sl-cuda-optim.cu: SGD (momentum, Nesterov), Adam and AdamW over the contiguous parameter
 * block, with the CPU's formulas and constants (sl-cpu-optim.c). */
#include "sl-cuda-private.h"

#include <float.h>
#include <math.h>

#define GRID_STRIDE(i, len)                                                                        \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (len);                       \
       i += (size_t) gridDim.x * blockDim.x)

/* The CPU flushes values below the smallest normal float to zero (its note
 * explains why); the GPU does the same so both agree step for step. */
__device__ static float
flush_tiny (float x)
{
  return fabsf (x) < FLT_MIN ? 0.0f : x;
}

__global__ static void
sgd (size_t len, float lr, float wd, float mu, bool nesterov, float *p, const float *grad,
     float *buf)
{
  GRID_STRIDE (i, len)
  {
    float g = flush_tiny (grad[i] + wd * p[i]);

    if (mu != 0.0f)
      {
        buf[i] = flush_tiny (mu * buf[i] + g);
        g = nesterov ? g + mu * buf[i] : buf[i];
      }
    p[i] -= lr * g;
  }
}

__global__ static void
adam (size_t len, float beta1, float beta2, float eps, float step, float inv_sqrt_bc2, float decay,
      float l2, float *p, const float *grad, float *m, float *v)
{
  GRID_STRIDE (i, len)
  {
    float g = flush_tiny (grad[i] + l2 * p[i]);

    p[i] *= decay;
    m[i] = flush_tiny (beta1 * m[i] + (1.0f - beta1) * g);
    v[i] = flush_tiny (beta2 * v[i] + (1.0f - beta2) * g * g);
    p[i] -= (m[i] / (sqrtf (v[i]) * inv_sqrt_bc2 + eps)) * step;
  }
}

/* One launch over [0, len) of the given blocks, at learning rate lr. */
static void
step_span (sl_cuda *c, const sl_optim_step *s, float lr, size_t len, float *params,
           const float *grads, float *m, float *v)
{
  if (s->kind == SL_OPTIMIZER_SGD)
    sgd<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (
        len, lr, s->weight_decay, s->momentum, s->nesterov, params, grads, m);
  else
    {
      /* Bias corrections in double on the host, as the CPU computes them. */
      const double bc1 = 1.0 - pow (s->beta1, (double) s->t);
      const double bc2 = 1.0 - pow (s->beta2, (double) s->t);
      const bool decoupled = s->kind == SL_OPTIMIZER_ADAMW;

      adam<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (
          len, s->beta1, s->beta2, s->epsilon, (float) (lr / bc1), (float) (1.0 / sqrt (bc2)),
          decoupled ? 1.0f - lr * s->weight_decay : 1.0f, decoupled ? 0.0f : s->weight_decay,
          params, grads, m, v);
    }
}

/* Scaled ranges (layers' "lr_scale") get a launch each, with the CPU's
 * float product lr * scale; there are few (merged per run of equal scales). */
extern "C" void
sl_cuda_optimizer_step (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                        const float *grads, float *m, float *v)
{
  sl_cuda *c = sl_cuda_of (be);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  if (s->n_ranges == 0)
    step_span (c, s, s->lr, len, params, grads, m, v);
  else
    for (int k = 0; k < s->n_ranges; k++)
      {
        const sl_lr_range *r = &s->ranges[k];
        const size_t b = r->begin, e = r->end < len ? r->end : len;

        if (b < e)
          step_span (c, s, s->lr * r->scale, e - b, params + b, grads + b, m + b,
                     v != NULL ? v + b : NULL);
      }
  sl_cuda_check_launch (c, "the optimizer step");
}
