/* sl-cpu-optim.c: SGD (momentum, Nesterov), Adam and AdamW over the contiguous parameter block. */
#include "sl-cpu-private.h"

#include <math.h>

typedef struct
{
  const sl_optim_step *s;
  size_t len;
  float *p, *m, *v;
  const float *g;
} optim_job;

static void
sgd_range (const sl_optim_step *s, long i0, long i1, float *restrict p, const float *restrict grad,
           float *restrict buf)
{
  const float lr = s->lr, wd = s->weight_decay, mu = s->momentum;
  const bool nesterov = s->nesterov;

  for (long i = i0; i < i1; i++)
    {
      float g = grad[i] + wd * p[i];

      if (mu != 0.0f)
        {
          buf[i] = mu * buf[i] + g;
          g = nesterov ? g + mu * buf[i] : buf[i];
        }
      p[i] -= lr * g;
    }
}

/* PyTorch's formulation, so the two agree step for step. */
static void
adam_range (const sl_optim_step *s, long i0, long i1, float *restrict p, const float *restrict grad,
            float *restrict m, float *restrict v)
{
  const float beta1 = s->beta1, beta2 = s->beta2, eps = s->epsilon;
  const double bc1 = 1.0 - pow (s->beta1, (double) s->t);
  const double bc2 = 1.0 - pow (s->beta2, (double) s->t);
  const float step = (float) (s->lr / bc1), inv_sqrt_bc2 = (float) (1.0 / sqrt (bc2));
  const bool decoupled = s->kind == SL_OPTIMIZER_ADAMW;
  const float decay = decoupled ? 1.0f - s->lr * s->weight_decay : 1.0f;
  const float l2 = decoupled ? 0.0f : s->weight_decay;

  for (long i = i0; i < i1; i++)
    {
      float g = grad[i] + l2 * p[i];

      p[i] *= decay;
      m[i] = beta1 * m[i] + (1.0f - beta1) * g;
      v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
      p[i] -= step * m[i] / (sqrtf (v[i]) * inv_sqrt_bc2 + eps);
    }
}

static void
optim_share (void *ctx, int t, int threads)
{
  const optim_job *j = ctx;
  long i0, i1;

  sl_split_range ((long) j->len, t, threads, &i0, &i1);
  if (j->s->kind == SL_OPTIMIZER_SGD)
    sgd_range (j->s, i0, i1, j->p, j->g, j->m);
  else
    adam_range (j->s, i0, i1, j->p, j->g, j->m, j->v);
}

void
sl_cpu_optimizer_step (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                       const float *grads, float *m, float *v)
{
  optim_job j = { s, len, params, m, v, grads };

  sl_threadpool_run (sl_cpu_of (be)->pool, optim_share, &j);
}
