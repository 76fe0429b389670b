/* sl-cpu-pool.c: max, average and global-average pooling; image planes split over the pool. */
#include "sl-cpu-private.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

typedef struct
{
  sl_pool_kind kind;
  const sl_conv_desc *d;
  int n;
  const float *x, *dy;
  float *y, *dx;
  const void *argmax_in; /* _sl_pool_argmax_size bytes an output */
  void *argmax;
  bool accumulate;
  /* pool_backward_act: the windows' outputs and the rectifier before them */
  const float *y_out;
  sl_activation act;
  float slope;
} pool_job;

/* The 2x2, stride 2, unpadded window that the fast paths take (its argmax
 * in bytes: 0 and 1 on the window's top row, 2 and 3 below). */
static bool
is_max2x2 (const sl_conv_desc *d)
{
  return d->kh == 2 && d->kw == 2 && d->sh == 2 && d->sw == 2 && d->ph == 0 && d->pw == 0
         && d->ph_end == 0 && d->pw_end == 0;
}

/* Plane p's argmax, of out_plane outputs. */
static inline void *
argmax_of (const pool_job *j, const void *argmax, long p, int out_plane)
{
  return argmax == NULL ? NULL
                        : (uint8_t *) argmax + (size_t) p * out_plane * _sl_pool_argmax_size (j->d);
}

static inline void
put_place (void *arg, int o, bool wide, int place)
{
  if (wide)
    ((int32_t *) arg)[o] = place;
  else
    ((uint8_t *) arg)[o] = (uint8_t) place;
}

/* The plane index of the input that output (oy, ox)'s argmax names. */
static inline int
input_at (const sl_conv_desc *d, const void *arg, bool wide, int oy, int ox)
{
  const int o = oy * d->out_w + ox;
  const int place = wide ? ((const int32_t *) arg)[o] : ((const uint8_t *) arg)[o];

  return (oy * d->sh - d->ph + place / d->kw) * d->in_w + ox * d->sw - d->pw + place % d->kw;
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* best = v where v > best (and where = at there): the scalar steps' strict
 * comparison, so ties and NaN pick the same element. */
static inline void
vector_step (__m512 v, __m512i at, __m512 *best, __m512i *where)
{
  const __mmask16 m = _mm512_cmp_ps_mask (v, *best, _CMP_GT_OQ);

  *best = _mm512_mask_mov_ps (*best, m, v);
  *where = _mm512_mask_mov_epi32 (*where, m, at);
}

/* A 2x2 plane 16 outputs at a time: each input row's 32 floats (fewer, by
 * masked loads, at a row's end) split into even and odd columns by two
 * permutes, then the scalar loop's four steps on whole vectors. The inference
 * pass (arg NULL) of small-bn's 32 x 28 x 28 -> 14 x 14 pool at batch 1 took
 * 9.3 us in the scalar loop (rows of 14 leave 6 outputs to step_max). */
static void
max2x2_plane (const sl_conv_desc *d, const float *x, float *y, uint8_t *arg)
{
  /* Lane l's first input column, 2 l: the even columns, and the odd ones after them. */
  const __m512i even
      = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i one = _mm512_set1_epi32 (1), odd = _mm512_add_epi32 (even, one);

  for (int oy = 0; oy < d->out_h; oy++)
    {
      const float *r0 = x + (size_t) (2 * oy) * d->in_w, *r1 = r0 + d->in_w;

      for (int ox = 0; ox < d->out_w; ox += 16)
        {
          const int k = d->out_w - ox < 16 ? d->out_w - ox : 16;
          const __mmask16 out_m = (__mmask16) ((1u << k) - 1);
          const __mmask16 lo_m = (__mmask16) (k >= 8 ? 0xffffu : (1u << (2 * k)) - 1);
          const __mmask16 hi_m = (__mmask16) (k <= 8 ? 0u : (1u << (2 * k - 16)) - 1);
          /* No pointer past the row's end, even for a load that reads nothing. */
          const int hi = hi_m != 0 ? 16 : 0;
          const __m512 a0 = _mm512_maskz_loadu_ps (lo_m, r0 + 2 * ox);
          const __m512 a1 = _mm512_maskz_loadu_ps (hi_m, r0 + 2 * ox + hi);
          const __m512 b0 = _mm512_maskz_loadu_ps (lo_m, r1 + 2 * ox);
          const __m512 b1 = _mm512_maskz_loadu_ps (hi_m, r1 + 2 * ox + hi);
          __m512 best = _mm512_permutex2var_ps (a0, even, a1);
          __m512i where = _mm512_setzero_si512 ();

          vector_step (_mm512_permutex2var_ps (a0, odd, a1), one, &best, &where);
          vector_step (_mm512_permutex2var_ps (b0, even, b1), _mm512_set1_epi32 (2), &best, &where);
          vector_step (_mm512_permutex2var_ps (b0, odd, b1), _mm512_set1_epi32 (3), &best, &where);
          _mm512_mask_storeu_ps (y + (size_t) oy * d->out_w + ox, out_m, best);
          if (arg != NULL)
            _mm512_mask_cvtepi32_storeu_epi8 (arg + (size_t) oy * d->out_w + ox, out_m, where);
        }
    }
}
#else
/* The common 2x2, stride 2, unpadded max-pool without the general bounds
 * logic, and without branches: a branch per comparison mispredicted on every
 * other window (measured, 4% of a seed-cnn epoch); as selects, each row
 * vectorises. The same order of strict comparisons as the general loop, so
 * ties and NaN pick the same element. */
static void
max2x2_row (const float *restrict r0, const float *restrict r1, int out_w, float *restrict y)
{
  for (int ox = 0; ox < out_w; ox++)
    {
      const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], e = r1[2 * ox + 1];
      float best = a;

      best = b > best ? b : best;
      best = c > best ? c : best;
      best = e > best ? e : best;
      y[ox] = best;
    }
}

/* The same with the place of the maximum in its window (0 to 3). */
static void
max2x2_row_arg (const float *restrict r0, const float *restrict r1, int out_w, float *restrict y,
                uint8_t *restrict arg)
{
  for (int ox = 0; ox < out_w; ox++)
    {
      const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], e = r1[2 * ox + 1];
      float best = a;
      int32_t where = 0;

      where = b > best ? 1 : where;
      best = b > best ? b : best;
      where = c > best ? 2 : where;
      best = c > best ? c : best;
      where = e > best ? 3 : where;
      best = e > best ? e : best;
      y[ox] = best;
      arg[ox] = (uint8_t) where;
    }
}

/* best, where = v, at where v > best, as bit masks: in a loop too short to
 * vectorise GCC turns the ternaries above into branches, which mispredict on
 * every other window of a rectifier's output (small-bn's 8x8 -> 4x4 pool at
 * 128 px: 0.6 ms a training step, 0.2 on steadily ordered data). */
static inline void
step_max (float v, int32_t at, float *best, int32_t *where)
{
  const uint32_t m = (uint32_t) 0 - (uint32_t) (v > *best);
  uint32_t vb, bb;

  memcpy (&vb, &v, sizeof vb);
  memcpy (&bb, best, sizeof bb);
  bb = (vb & m) | (bb & ~m);
  memcpy (best, &bb, sizeof bb);
  *where = (int32_t) (((uint32_t) at & m) | ((uint32_t) *where & ~m));
}

/* max2x2_row_arg (arg may be NULL) on the outputs [ox0, out_w) left over
 * after whole vectors of 8. */
static void
max2x2_row_rest (const float *r0, const float *r1, int ox0, int out_w, float *y, uint8_t *arg)
{
  for (int ox = ox0; ox < out_w; ox++)
    {
      float best = r0[2 * ox];
      int32_t where = 0;

      step_max (r0[2 * ox + 1], 1, &best, &where);
      step_max (r1[2 * ox], 2, &best, &where);
      step_max (r1[2 * ox + 1], 3, &best, &where);
      y[ox] = best;
      if (arg != NULL)
        arg[ox] = (uint8_t) where;
    }
}

static void
max2x2_plane (const sl_conv_desc *d, const float *x, float *y, uint8_t *arg)
{
  const int whole = d->out_w - d->out_w % 8;

  for (int oy = 0; oy < d->out_h; oy++)
    {
      const float *r0 = x + (size_t) (2 * oy) * d->in_w, *r1 = r0 + d->in_w;
      uint8_t *arg_row = arg != NULL ? arg + oy * d->out_w : NULL;

      if (arg != NULL)
        max2x2_row_arg (r0, r1, whole, y + oy * d->out_w, arg_row);
      else
        max2x2_row (r0, r1, whole, y + oy * d->out_w);
      max2x2_row_rest (r0, r1, whole, d->out_w, y + oy * d->out_w, arg_row);
    }
}
#endif

static void
forward_share (void *ctx, int t, int threads)
{
  const pool_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int in_plane = d->in_h * d->in_w, out_plane = d->out_h * d->out_w;
  const float inv_area = 1.0f / (float) (d->kh * d->kw);
  const bool wide = _sl_pool_argmax_size (d) > 1;
  long p0, p1;

  _sl_split_range ((long) j->n * d->in_c, t, threads, &p0, &p1);
  for (long p = p0; p < p1; p++)
    {
      const float *x = j->x + p * in_plane;
      float *y = j->y + p * out_plane;
      void *arg = argmax_of (j, j->argmax, p, out_plane);

      if (j->kind == SL_POOL_MAX && is_max2x2 (d))
        {
          max2x2_plane (d, x, y, arg);
          continue;
        }

      for (int oy = 0; oy < d->out_h; oy++)
        for (int ox = 0; ox < d->out_w; ox++)
          {
            int y0 = oy * d->sh - d->ph, x0 = ox * d->sw - d->pw;
            int ya = y0 < 0 ? 0 : y0, yb = y0 + d->kh > d->in_h ? d->in_h : y0 + d->kh;
            int xa = x0 < 0 ? 0 : x0, xb = x0 + d->kw > d->in_w ? d->in_w : x0 + d->kw;
            int o = oy * d->out_w + ox;

            if (j->kind == SL_POOL_MAX)
              {
                float best = -FLT_MAX;
                int at = (ya - y0) * d->kw + xa - x0;

                for (int iy = ya; iy < yb; iy++)
                  for (int ix = xa; ix < xb; ix++)
                    if (x[iy * d->in_w + ix] > best)
                      {
                        best = x[iy * d->in_w + ix];
                        at = (iy - y0) * d->kw + ix - x0;
                      }
                y[o] = best;
                if (arg != NULL)
                  put_place (arg, o, wide, at);
              }
            else
              {
                float s = 0.0f;

                for (int iy = ya; iy < yb; iy++)
                  for (int ix = xa; ix < xb; ix++)
                    s += x[iy * d->in_w + ix];
                y[o] = s * inv_area;
              }
          }
    }
}

void
_sl_cpu_pool_forward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                      const float *x, float *y, void *argmax)
{
  pool_job j = { .kind = kind, .d = d, .n = n, .x = x, .y = y, .argmax = argmax };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, forward_share, &j);
}

#if defined(__AVX512F__)
/* dy times the rectifier's derivative at y, 16 windows at a time, as act_grad
 * (below) computes it. */
static inline __m512
vector_act_grad (sl_activation act, float slope, __m512 y, __m512 dy)
{
  const __mmask16 pos = _mm512_cmp_ps_mask (y, _mm512_setzero_ps (), _CMP_GT_OQ);

  switch (act)
    {
      case SL_ACT_RELU6:
        return _mm512_maskz_mov_ps (pos & _mm512_cmp_ps_mask (y, _mm512_set1_ps (6.0f), _CMP_LT_OQ),
                                    dy);
      case SL_ACT_LEAKY_RELU:
        return _mm512_mask_mov_ps (_mm512_mul_ps (dy, _mm512_set1_ps (slope)), pos, dy);
      default: return _mm512_maskz_mov_ps (pos, dy);
    }
}

/* dx of one 2x2 plane: each window's gradient (dy, times the rectifier's
 * derivative at the window's output y where y is not NULL) to the place of
 * its maximum (arg), 16 windows at a time; both input rows of a row of
 * windows are written whole, the gradient where the maximum is and 0
 * elsewhere (accumulating: added at the maximum, the rest left as it was).
 * The same bits as the scatter onto a cleared plane (0 + g there); the
 * scatter, one window at a time, took 0.4 ms of resnet-s's 128-px training
 * step for its 16 x 64 x 64 pool. */
static void
max2x2_backward_plane (const sl_conv_desc *d, const float *dy, const float *y, sl_activation act,
                       float slope, const void *arg, float *dx, bool accumulate)
{
  /* Window w of a vector at places 2w and 2w + 1 of its two rows. */
  const __m512i lo_idx = _mm512_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i hi_idx = _mm512_add_epi32 (lo_idx, _mm512_set1_epi32 (8));
  const __m512i column = _mm512_setr_epi32 (0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1);
  const __m512i below = _mm512_add_epi32 (column, _mm512_set1_epi32 (2));
  const __m512 zero = _mm512_setzero_ps ();

  /* A last row or column that no window covers gets nothing. */
  if (!accumulate && ((d->in_h | d->in_w) & 1))
    memset (dx, 0, sizeof (float) * (size_t) d->in_h * d->in_w);
  for (int oy = 0; oy < d->out_h; oy++)
    {
      float *top = dx + (size_t) (2 * oy) * d->in_w, *bottom = top + d->in_w;

      for (int ox = 0; ox < d->out_w; ox += 16)
        {
          const int k = d->out_w - ox < 16 ? d->out_w - ox : 16;
          const size_t o = (size_t) oy * d->out_w + ox;
          const __mmask16 out_m = (__mmask16) ((1u << k) - 1);
          uint8_t taps[16] = { 0 };
          __m512i rel;
          __m512 g = _mm512_maskz_loadu_ps (out_m, dy + o);

          memcpy (taps, (const uint8_t *) arg + o, (size_t) k); /* a masked byte load needs BW */
          rel = _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) taps));

          if (y != NULL)
            g = vector_act_grad (act, slope, _mm512_maskz_loadu_ps (out_m, y + o), g);
          if (!accumulate)
            g = _mm512_add_ps (zero, g); /* 0 + g, as onto the cleared plane */
          for (int half = 0; half < 2 && 16 * half < 2 * k; half++)
            {
              const int places = 2 * k - 16 * half < 16 ? 2 * k - 16 * half : 16;
              const __mmask16 m = (__mmask16) (places == 16 ? 0xffffu : (1u << places) - 1);
              const __m512i idx = half ? hi_idx : lo_idx;
              const __m512 gi = _mm512_permutexvar_ps (idx, g);
              const __m512i ri = _mm512_permutexvar_epi32 (idx, rel);
              const __mmask16 at_top = _mm512_cmpeq_epi32_mask (ri, column);
              const __mmask16 at_bottom = _mm512_cmpeq_epi32_mask (ri, below);
              float *t = top + 2 * ox + 16 * half, *b = bottom + 2 * ox + 16 * half;

              if (accumulate)
                {
                  const __m512 tv = _mm512_maskz_loadu_ps (m, t), bv = _mm512_maskz_loadu_ps (m, b);

                  _mm512_mask_storeu_ps (t, m, _mm512_mask_add_ps (tv, at_top, tv, gi));
                  _mm512_mask_storeu_ps (b, m, _mm512_mask_add_ps (bv, at_bottom, bv, gi));
                }
              else
                {
                  _mm512_mask_storeu_ps (t, m, _mm512_maskz_mov_ps (at_top, gi));
                  _mm512_mask_storeu_ps (b, m, _mm512_maskz_mov_ps (at_bottom, gi));
                }
            }
        }
    }
}
#endif

static void
backward_share (void *ctx, int t, int threads)
{
  const pool_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int in_plane = d->in_h * d->in_w, out_plane = d->out_h * d->out_w;
  const float inv_area = 1.0f / (float) (d->kh * d->kw);
  const bool wide = _sl_pool_argmax_size (d) > 1;
  long p0, p1;

  _sl_split_range ((long) j->n * d->in_c, t, threads, &p0, &p1);
  for (long p = p0; p < p1; p++)
    {
      const float *dy = j->dy + p * out_plane;
      const void *arg = argmax_of (j, j->argmax_in, p, out_plane);
      float *dx = j->dx + p * in_plane;

#if defined(__AVX512F__)
      if (j->kind == SL_POOL_MAX && is_max2x2 (d))
        {
          max2x2_backward_plane (d, dy, NULL, SL_ACT_RELU, 0.0f, arg, dx, j->accumulate);
          continue;
        }
#endif
      if (!j->accumulate)
        memset (dx, 0, sizeof (float) * in_plane);
      if (j->kind == SL_POOL_MAX)
        {
          /* In output order, so overlapping windows add in one order. */
          for (int oy = 0; oy < d->out_h; oy++)
            for (int ox = 0; ox < d->out_w; ox++)
              dx[input_at (d, arg, wide, oy, ox)] += dy[oy * d->out_w + ox];
          continue;
        }
      for (int oy = 0; oy < d->out_h; oy++)
        for (int ox = 0; ox < d->out_w; ox++)
          {
            int y0 = oy * d->sh - d->ph, x0 = ox * d->sw - d->pw;
            int ya = y0 < 0 ? 0 : y0, yb = y0 + d->kh > d->in_h ? d->in_h : y0 + d->kh;
            int xa = x0 < 0 ? 0 : x0, xb = x0 + d->kw > d->in_w ? d->in_w : x0 + d->kw;
            float g = dy[oy * d->out_w + ox] * inv_area;

            for (int iy = ya; iy < yb; iy++)
              for (int ix = xa; ix < xb; ix++)
                dx[iy * d->in_w + ix] += g;
          }
    }
}

void
_sl_cpu_pool_backward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                       const float *dy, const void *argmax, float *dx, bool accumulate)
{
  pool_job j = {
    .kind = kind, .d = d, .n = n, .dy = dy, .dx = dx, .argmax_in = argmax, .accumulate = accumulate
  };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, backward_share, &j);
}

/* dy times the rectifier's derivative at its output y (relu, relu6 or leaky
 * relu), as act_backward_range (sl-cpu-elementwise.c) computes it. */
static inline float
act_grad (sl_activation act, float slope, float y, float dy)
{
  switch (act)
    {
      case SL_ACT_RELU6: return y > 0.0f && y < 6.0f ? dy : 0.0f;
      case SL_ACT_LEAKY_RELU: return y > 0.0f ? dy : dy * slope;
      default: return y > 0.0f ? dy : 0.0f;
    }
}

static void
backward_act_share (void *ctx, int t, int threads)
{
  const pool_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int in_plane = d->in_h * d->in_w, out_plane = d->out_h * d->out_w;
  const bool wide = _sl_pool_argmax_size (d) > 1;
  long p0, p1;

  _sl_split_range ((long) j->n * d->in_c, t, threads, &p0, &p1);
  for (long p = p0; p < p1; p++)
    {
      const float *dy = j->dy + p * out_plane, *y = j->y_out + p * out_plane;
      const void *arg = argmax_of (j, j->argmax_in, p, out_plane);
      float *dx = j->dx + p * in_plane;

#if defined(__AVX512F__)
      if (is_max2x2 (d))
        {
          max2x2_backward_plane (d, dy, y, j->act, j->slope, arg, dx, j->accumulate);
          continue;
        }
#endif
      if (!j->accumulate)
        memset (dx, 0, sizeof (float) * in_plane);
      for (int oy = 0; oy < d->out_h; oy++)
        for (int ox = 0; ox < d->out_w; ox++)
          {
            const int o = oy * d->out_w + ox;

            dx[input_at (d, arg, wide, oy, ox)] += act_grad (j->act, j->slope, y[o], dy[o]);
          }
    }
}

void
_sl_cpu_pool_backward_act (sl_backend *be, const sl_conv_desc *d, int n, const float *dy,
                           const void *argmax, const float *y, sl_activation act, float slope,
                           float *dx, bool accumulate)
{
  pool_job j = { .kind = SL_POOL_MAX,
                 .d = d,
                 .n = n,
                 .dy = dy,
                 .dx = dx,
                 .argmax_in = argmax,
                 .accumulate = accumulate,
                 .y_out = y,
                 .act = act,
                 .slope = slope };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, backward_act_share, &j);
}

void
_sl_cpu_global_avgpool_forward (sl_backend *be, int n, int c, int hw, const float *x, float *y)
{
  for (long p = 0; p < (long) n * c; p++)
    {
      const float *src = x + p * hw;
      float s = 0.0f;

      for (int k = 0; k < hw; k++)
        s += src[k];
      y[p] = s / (float) hw;
    }
}

void
_sl_cpu_global_avgpool_backward (sl_backend *be, int n, int c, int hw, const float *dy, float *dx,
                                 bool accumulate)
{
  for (long p = 0; p < (long) n * c; p++)
    {
      float g = dy[p] / (float) hw;
      float *dst = dx + p * hw;

      for (int k = 0; k < hw; k++)
        _sl_store_grad (&dst[k], g, accumulate);
    }
}
