/* sl-cpu-optim.c: SGD (momentum, Nesterov), Adam and AdamW over the contiguous parameter block. */
#include "sl-cpu-private.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE__)
#include <immintrin.h>
#endif

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

/* Eight floats as one value, as in sl-cpu-norm.c: Adam's square root and
 * division run eight lanes at a time (a scalar sqrtf keeps its errno branch
 * and stays scalar; measured, the scalar loop was 10% of a seed-cnn epoch). */
typedef float v8f __attribute__ ((vector_size (8 * sizeof (float))));
typedef int32_t v8i __attribute__ ((vector_size (8 * sizeof (int32_t))));

static inline v8f
load8 (const float *p)
{
  v8f v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
store8 (float *p, v8f v)
{
  memcpy (p, &v, sizeof v);
}

/* flush_tiny on eight lanes: |x| < FLT_MIN exactly when the magnitude's bits
 * are below those of FLT_MIN (infinities and NaN stay, as in flush_tiny). */
static inline v8f
flush_tiny8 (v8f x)
{
  const v8i bits = (v8i) x;

  return (v8f) (bits & ((bits & 0x7fffffff) >= 0x00800000));
}

static inline v8f
sqrt8 (v8f x)
{
#if defined(__AVX__)
  return (v8f) _mm256_sqrt_ps ((__m256) x);
#elif defined(__SSE__)
  __m128 lo, hi;

  memcpy (&lo, &x, sizeof lo);
  memcpy (&hi, (const char *) &x + sizeof lo, sizeof hi);
  lo = _mm_sqrt_ps (lo);
  hi = _mm_sqrt_ps (hi);
  memcpy (&x, &lo, sizeof lo);
  memcpy ((char *) &x + sizeof lo, &hi, sizeof hi);
  return x;
#else
  for (int l = 0; l < 8; l++)
    x[l] = sqrtf (x[l]);
  return x;
#endif
}

/* Adam's constants for one step (and one learning-rate range). */
typedef struct
{
  float beta1, beta2, keep1, keep2, step, inv_sqrt_bc2, eps, decay, l2;
} adam_consts;

/* One Adam update of eight weights, in PyTorch's formulation so the two agree
 * step for step. decoupled (AdamW) is a constant at each call, so plain Adam
 * has no multiplication by a decay of 1 for the compiler to fuse into the
 * last subtraction in place of step's: the operations, and so the bits, are
 * those of the scalar loop this replaced (checked over 300 steps of 10^6
 * weights, both kinds). */
static inline void
adam8 (const adam_consts *k, bool decoupled, float *p, const float *grad, float *m, float *v)
{
  v8f pv = load8 (p), mv = load8 (m), vv = load8 (v), g = load8 (grad);

  if (decoupled)
    {
      pv *= k->decay;
      /* Rounded here, as the scalar loop did, not fused into the update. */
      __asm__("" : "+m"(pv));
    }
  else
    g += k->l2 * pv;
  g = flush_tiny8 (g);
  mv = flush_tiny8 (k->beta1 * mv + k->keep1 * g);
  vv = flush_tiny8 (k->beta2 * vv + k->keep2 * g * g);
  /* Divide first, as PyTorch's addcdiv does: step * m would be subnormal
   * for a while before m is. */
  pv -= (mv / (sqrt8 (vv) * k->inv_sqrt_bc2 + k->eps)) * k->step;
  store8 (p, pv);
  store8 (m, mv);
  store8 (v, vv);
}

/* The last (fewer than eight) weights go through the same eight-lane update
 * on a zero-padded copy, so every weight gets the same arithmetic wherever
 * the threads' shares begin and end. */
static void
adam_tail (const adam_consts *k, bool decoupled, long n, float *p, const float *grad, float *m,
           float *v)
{
  float tp[8] = { 0 }, tg[8] = { 0 }, tm[8] = { 0 }, tv[8] = { 0 };

  memcpy (tp, p, sizeof (float) * n);
  memcpy (tg, grad, sizeof (float) * n);
  memcpy (tm, m, sizeof (float) * n);
  memcpy (tv, v, sizeof (float) * n);
  adam8 (k, decoupled, tp, tg, tm, tv);
  memcpy (p, tp, sizeof (float) * n);
  memcpy (m, tm, sizeof (float) * n);
  memcpy (v, tv, sizeof (float) * n);
}

static void
adam_range (const sl_optim_step *s, long i0, long i1, float *restrict p, const float *restrict grad,
            float *restrict m, float *restrict v)
{
  const double bc1 = 1.0 - pow (s->beta1, (double) s->t);
  const double bc2 = 1.0 - pow (s->beta2, (double) s->t);
  const bool decoupled = s->kind == SL_OPTIMIZER_ADAMW;
  const adam_consts k = {
    .beta1 = s->beta1,
    .beta2 = s->beta2,
    .keep1 = 1.0f - s->beta1,
    .keep2 = 1.0f - s->beta2,
    .step = (float) (s->lr / bc1),
    .inv_sqrt_bc2 = (float) (1.0 / sqrt (bc2)),
    .eps = s->epsilon,
    .decay = decoupled ? 1.0f - s->lr * s->weight_decay : 1.0f,
    .l2 = decoupled ? 0.0f : s->weight_decay,
  };
  long i = i0;

  if (decoupled)
    for (; i + 8 <= i1; i += 8)
      adam8 (&k, true, p + i, grad + i, m + i, v + i);
  else
    for (; i + 8 <= i1; i += 8)
      adam8 (&k, false, p + i, grad + i, m + i, v + i);
  if (i < i1)
    adam_tail (&k, decoupled, i1 - i, p + i, grad + i, m + i, v + i);
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
