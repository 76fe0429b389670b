/* sl-cpu-optim.c: SGD (momentum, Nesterov), Adam and AdamW over the contiguous parameter block. */
#include "sl-cpu-private.h"

#include <float.h>
#include <math.h>

/* Moments of weights whose gradient stays zero (inputs from dead rectifiers)
 * decay geometrically into the subnormal range within a few hundred steps,
 * where every multiply takes the CPU's slow microcode path: measured, the
 * optimizer grew to 55% of a seed-cnn epoch. Values below the smallest
 * normal float are flushed to zero here, as FTZ mode would, without touching
 * the calling thread's floating-point state. */
static inline float
flush_tiny (float x)
{
  return fabsf (x) < FLT_MIN ? 0.0f : x;
}

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
      float g = flush_tiny (grad[i] + wd * p[i]);

      if (mu != 0.0f)
        {
          buf[i] = flush_tiny (mu * buf[i] + g);
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
      float g = flush_tiny (grad[i] + l2 * p[i]);

      p[i] *= decay;
      m[i] = flush_tiny (beta1 * m[i] + (1.0f - beta1) * g);
      v[i] = flush_tiny (beta2 * v[i] + (1.0f - beta2) * g * g);
      /* Divide first, as PyTorch's addcdiv does: step * m would be subnormal
       * for a while before m is. */
      p[i] -= (m[i] / (sqrtf (v[i]) * inv_sqrt_bc2 + eps)) * step;
    }
}

static void
optim_span (const sl_optim_step *s, long i0, long i1, const optim_job *j)
{
  if (s->kind == SL_OPTIMIZER_SGD)
    sgd_range (s, i0, i1, j->p, j->g, j->m);
  else
    adam_range (s, i0, i1, j->p, j->g, j->m, j->v);
}

/* Each thread takes an equal share of the whole block and walks the scaled
 * ranges that fall in it, so a few ranges cost no extra dispatch. */
static void
optim_share (void *ctx, int t, int threads)
{
  const optim_job *j = ctx;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  if (j->s->n_ranges == 0)
    {
      optim_span (j->s, i0, i1, j);
      return;
    }
  for (int k = 0; k < j->s->n_ranges; k++)
    {
      const sl_lr_range *r = &j->s->ranges[k];
      long b = (long) r->begin > i0 ? (long) r->begin : i0;
      long e = (long) r->end < i1 ? (long) r->end : i1;
      sl_optim_step scaled = *j->s;

      if (b >= e)
        continue;
      scaled.lr = j->s->lr * r->scale;
      optim_span (&scaled, b, e, j);
    }
}

void
_sl_cpu_optimizer_step (sl_backend *be, const sl_optim_step *s, size_t len, float *params,
                        const float *grads, float *m, float *v)
{
  optim_job j = { s, len, params, m, v, grads };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, optim_share, &j);
}
