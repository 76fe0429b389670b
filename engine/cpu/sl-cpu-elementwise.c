/* sl-cpu-elementwise.c: activations, dropout, residual sums and gradient copies. */
#include "sl-cpu-private.h"
#include "sl-rng-private.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* Elementwise work is split over the pool only when it is worth a wake-up. */
#define PARALLEL_MIN 32768

typedef struct
{
  sl_activation act;
  float slope, rate;
  size_t len;
  uint64_t seed;
  const float *x, *y, *a, *b, *dy, *mask;
  float *out, *dx, *mask_out;
  bool accumulate;
  const sl_cpu_epilogue *post;
} ew_job;

static void
run_split (sl_backend *be, size_t len, sl_parallel_fn fn, ew_job *j)
{
  if (len < PARALLEL_MIN)
    fn (j, 0, 1);
  else
    _sl_threadpool_run (_sl_cpu_of (be)->pool, fn, j);
}

/* No restrict: an in-place activation reads and writes the same buffer.
 * Batch-norm's recomputation applies the rectifiers through this too, so
 * that they give the same bits (sl-cpu-norm.c). */
void
_sl_cpu_activation_range (sl_activation act, float slope, const float *x, float *y, long n)
{
  const long i0 = 0, i1 = n;

  switch (act)
    {
      case SL_ACT_RELU:
        for (long i = i0; i < i1; i++)
          y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
      case SL_ACT_RELU6:
        for (long i = i0; i < i1; i++)
          y[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
        break;
      case SL_ACT_LEAKY_RELU:
        for (long i = i0; i < i1; i++)
          y[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
        break;
      case SL_ACT_SIGMOID:
        for (long i = i0; i < i1; i++)
          y[i] = 1.0f / (1.0f + expf (-x[i]));
        break;
    }
}

static void
act_forward_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  _sl_cpu_activation_range (j->act, j->slope, j->x + i0, j->out + i0, i1 - i0);
}

void
_sl_cpu_activation_forward (sl_backend *be, sl_activation act, float slope, size_t len,
                            const float *x, float *y)
{
  ew_job j = { .act = act, .slope = slope, .len = len, .x = x, .out = y };

  run_split (be, len, act_forward_share, &j);
}

/* One loop per activation, so each vectorises; gradients are first computed
 * into dx or a small stack block, then stored or added. Everything is read
 * from the output y (y > 0 exactly when x > 0), so an activation can run in
 * place over its input; g may be dy itself. */
static void
act_backward_range (sl_activation act, float slope, const float *y, const float *dy, float *g,
                    long n)
{
  switch (act)
    {
      case SL_ACT_RELU:
        for (long i = 0; i < n; i++)
          g[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
      case SL_ACT_RELU6:
        for (long i = 0; i < n; i++)
          g[i] = y[i] > 0.0f && y[i] < 6.0f ? dy[i] : 0.0f;
        break;
      case SL_ACT_LEAKY_RELU:
        for (long i = 0; i < n; i++)
          g[i] = y[i] > 0.0f ? dy[i] : dy[i] * slope;
        break;
      case SL_ACT_SIGMOID:
        for (long i = 0; i < n; i++)
          g[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    }
}

static void
act_backward_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  if (!j->accumulate)
    {
      act_backward_range (j->act, j->slope, j->y + i0, j->dy + i0, j->dx + i0, i1 - i0);
      return;
    }
  for (long b = i0; b < i1; b += 1024)
    {
      float block[1024];
      long n = i1 - b < 1024 ? i1 - b : 1024;
      float *dx = j->dx + b;

      act_backward_range (j->act, j->slope, j->y + b, j->dy + b, block, n);
      for (long i = 0; i < n; i++)
        dx[i] += block[i];
    }
}

void
_sl_cpu_activation_backward (sl_backend *be, sl_activation act, float slope, size_t len,
                             const float *y, const float *dy, float *dx, bool accumulate)
{
  ew_job j = {
    .act = act, .slope = slope, .len = len, .y = y, .dy = dy, .dx = dx, .accumulate = accumulate
  };

  run_split (be, len, act_backward_share, &j);
}

static void
dropout_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  const float keep = 1.0f - j->rate, scale = 1.0f / keep;
  const uint64_t threshold = (uint64_t) ((double) keep * 16777216.0);
  const float *x = j->x;
  float *mask_out = j->mask_out, *out = j->out;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    {
      /* Element i's draw depends only on (seed, i), never on the split. */
      sl_mix_rng rng = { j->seed + 0x9e3779b97f4a7c15ull * (uint64_t) i };
      uint64_t r = _sl_mix_rng_next (&rng) >> 40;
      float m = r < threshold ? scale : 0.0f;

      mask_out[i] = m;
      out[i] = x[i] * m;
    }
}

void
_sl_cpu_dropout_forward (sl_backend *be, size_t len, float rate, uint64_t seed, const float *x,
                         float *mask, float *y)
{
  ew_job j = { .rate = rate, .len = len, .seed = seed, .x = x, .mask_out = mask, .out = y };

  run_split (be, len, dropout_share, &j);
}

static void
mul_backward_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  const float *dy = j->dy, *mask = j->mask;
  float *dx = j->dx;
  const bool accumulate = j->accumulate;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    _sl_store_grad (&dx[i], dy[i] * mask[i], accumulate);
}

void
_sl_cpu_mul_backward (sl_backend *be, size_t len, const float *mask, const float *dy, float *dx,
                      bool accumulate)
{
  ew_job j = { .len = len, .mask = mask, .dy = dy, .dx = dx, .accumulate = accumulate };

  run_split (be, len, mul_backward_share, &j);
}

static void
add_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  const float *a = j->a, *b = j->b;
  float *out = j->out;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    out[i] = a[i] + b[i];
}

void
_sl_cpu_add_forward (sl_backend *be, size_t len, const float *a, const float *b, float *y)
{
  ew_job j = { .len = len, .a = a, .b = b, .out = y };

  run_split (be, len, add_share, &j);
}

static void
copy_grad_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  const float *dy = j->dy;
  float *dx = j->dx;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  if (!j->accumulate)
    {
      memcpy (dx + i0, dy + i0, sizeof (float) * (i1 - i0));
      return;
    }
  for (long i = i0; i < i1; i++)
    dx[i] += dy[i];
}

void
_sl_cpu_copy_grad (sl_backend *be, size_t len, const float *dy, float *dx, bool accumulate)
{
  ew_job j = { .len = len, .dy = dy, .dx = dx, .accumulate = accumulate };

  run_split (be, len, copy_grad_share, &j);
}

/* NaN and infinity survive multiplication by zero as NaN; 16 lanes vectorise. */
static bool
span_finite (const float *x, size_t len)
{
  float acc[16] = { 0 };
  size_t i = 0;

  for (; i + 16 <= len; i += 16)
    for (int l = 0; l < 16; l++)
      acc[l] += x[i + l] * 0.0f;
  for (; i < len; i++)
    acc[0] += x[i] * 0.0f;
  for (int l = 1; l < 16; l++)
    acc[0] += acc[l];
  return acc[0] == 0.0f;
}

typedef struct
{
  size_t len;
  const float *x;
  atomic_int bad;
} finite_job;

static void
finite_share (void *ctx, int t, int threads)
{
  finite_job *j = ctx;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  if (!span_finite (j->x + i0, (size_t) (i1 - i0)))
    atomic_store_explicit (&j->bad, 1, memory_order_relaxed);
}

/* Split over the pool: every step reads the whole gradient (13 MB for
 * seed-cnn), which one core streams at half the speed two do. */
void
_sl_cpu_all_finite (sl_backend *be, size_t len, const float *x, double *stats)
{
  finite_job j = { .len = len, .x = x };

  if (len < PARALLEL_MIN)
    finite_share (&j, 0, 1);
  else
    _sl_threadpool_run (_sl_cpu_of (be)->pool, finite_share, &j);
  stats[SL_STAT_FINITE] = atomic_load_explicit (&j.bad, memory_order_relaxed) ? 0.0 : 1.0;
}

void
_sl_cpu_epilogue_span (const sl_cpu_epilogue *e, size_t at, size_t len, float *y)
{
  float *v = y + at;

  if (e->r != NULL)
    {
      const float *r = e->r + at;

      for (size_t i = 0; i < len; i++)
        v[i] = v[i] + r[i];
    }
  if (e->activate)
    _sl_cpu_activation_range (e->act, e->slope, v, v, (long) len);
}

static void
epilogue_share (void *ctx, int t, int threads)
{
  const ew_job *j = ctx;
  long i0, i1;

  _sl_split_range ((long) j->len, t, threads, &i0, &i1);
  _sl_cpu_epilogue_span (j->post, (size_t) i0, (size_t) (i1 - i0), j->out);
}

void
_sl_cpu_epilogue_run (sl_backend *be, const sl_cpu_epilogue *e, size_t len, float *y)
{
  ew_job j = { .post = e, .len = len, .out = y };

  run_split (be, len, epilogue_share, &j);
}
