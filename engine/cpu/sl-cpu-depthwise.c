/* sl-cpu-depthwise.c: direct depthwise convolution (groups == in_c == out_c) on the CPU, without
 * im2col: forward, input gradient and weight gradient. */
#include "sl-cpu-private.h"

#include <string.h>

/* Every image plane is first copied into a zero-bordered plane of scratch,
 * so the kernels below run without bounds checks: output (oy, ox) reads
 * padded rows oy * sh + ki * dh and columns ox * sw + kj * dw. The 3x3 and
 * 5x5 kernels at stride 1 and 2 (most of EfficientNet-Lite) are compiled
 * with their sizes known, so their loops over output columns vectorise.
 *
 * Forward work is split over (image, channel) planes; backward work over
 * channels, each thread running every image of its channels in order, so
 * weight gradients need no reduction and no result depends on the number of
 * threads. Nothing is allocated per step: scratch is the plan's workspace. */

/* Scratch pieces start on 64-byte boundaries. */
static size_t
align_floats (size_t n)
{
  return (n + 15) & ~(size_t) 15;
}

bool
_sl_cpu_is_depthwise (const sl_conv_desc *d)
{
  return d->groups == d->in_c && d->in_c == d->out_c;
}

/* The padded input plane a forward pass reads: exactly the rows and columns
 * the output windows reach. */
static int
padded_rows (const sl_conv_desc *d)
{
  return (d->out_h - 1) * d->sh + (d->kh - 1) * d->dh + 1;
}

static int
padded_cols (const sl_conv_desc *d)
{
  return (d->out_w - 1) * d->sw + (d->kw - 1) * d->dw + 1;
}

/* The padded output-gradient plane of the stride-1 input gradient. */
static size_t
grad_plane_floats (const sl_conv_desc *d)
{
  if (d->sh == 1 && d->sw == 1)
    return (size_t) (d->in_h + (d->kh - 1) * d->dh) * (d->in_w + (d->kw - 1) * d->dw);
  return (size_t) padded_rows (d) * padded_cols (d);
}

/* Per thread: the padded input plane; for backward also a second plane (the
 * padded output gradient, or the padded input gradient at stride > 1), one
 * row of weight-gradient partial sums per tap, and the flipped kernel. */
static size_t
thread_floats (const sl_conv_desc *d)
{
  const size_t taps = (size_t) d->kh * d->kw;

  return align_floats ((size_t) padded_rows (d) * padded_cols (d))
         + align_floats (grad_plane_floats (d)) + align_floats (taps * d->out_w)
         + align_floats (taps);
}

size_t
_sl_cpu_depthwise_workspace_floats (const sl_conv_desc *d, int threads)
{
  return thread_floats (d) * (size_t) (threads > 0 ? threads : 1);
}

/* dst (rows x cols) = src (h x w) moved down by top and right by left (either
 * may be negative: cropped), zeros elsewhere. */
static void
pad_plane (const float *src, int h, int w, int top, int left, float *dst, int rows, int cols)
{
  const int c0 = left < 0 ? 0 : left, c1 = w + left < cols ? w + left : cols;

  for (int r = 0; r < rows; r++)
    {
      float *restrict out = dst + (size_t) r * cols;
      const int sr = r - top;

      if (sr < 0 || sr >= h || c1 <= c0)
        {
          memset (out, 0, sizeof (float) * cols);
          continue;
        }
      for (int c = 0; c < c0; c++)
        out[c] = 0.0f;
      memcpy (out + c0, src + (size_t) sr * w + (c0 - left), sizeof (float) * (c1 - c0));
      for (int c = c1; c < cols; c++)
        out[c] = 0.0f;
    }
}

/* y (oh x ow) = bias, or y as it is when accumulate, plus the correlation of
 * the padded plane xp (rows wp floats long) with the kh x kw kernel k. */
static inline __attribute__ ((always_inline)) void
correlate (const float *restrict xp, int wp, const float *restrict k, float bias, bool accumulate,
           float *restrict y, int oh, int ow, int KH, int KW, int SH, int SW, int DH, int DW)
{
  for (int oy = 0; oy < oh; oy++)
    {
      float *restrict yr = y + (size_t) oy * ow;

      if (!accumulate)
        for (int ox = 0; ox < ow; ox++)
          yr[ox] = bias;
      for (int ki = 0; ki < KH; ki++)
        {
          const float *restrict xr = xp + (size_t) (oy * SH + ki * DH) * wp;
          const float *restrict kr = k + ki * KW;

          for (int ox = 0; ox < ow; ox++)
            {
              float s = yr[ox];

              for (int kj = 0; kj < KW; kj++)
                s += kr[kj] * xr[ox * SW + kj * DW];
              yr[ox] = s;
            }
        }
    }
}

/* Each of these is correlate with its sizes known to the compiler. */
#define CORRELATE_FIXED(name, K, S)                                                                \
  static void name (const float *xp, int wp, const float *k, float bias, bool accumulate,          \
                    float *y, int oh, int ow)                                                      \
  {                                                                                                \
    correlate (xp, wp, k, bias, accumulate, y, oh, ow, K, K, S, S, 1, 1);                          \
  }
CORRELATE_FIXED (correlate_3s1, 3, 1)
CORRELATE_FIXED (correlate_3s2, 3, 2)
CORRELATE_FIXED (correlate_5s1, 5, 1)
CORRELATE_FIXED (correlate_5s2, 5, 2)

static void
correlate_any (const float *xp, int wp, const float *k, float bias, bool accumulate, float *y,
               int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw)
{
  if (kh == kw && sh == sw && dh == 1 && dw == 1 && (kh == 3 || kh == 5) && (sh == 1 || sh == 2))
    {
      void (*fixed) (const float *, int, const float *, float, bool, float *, int, int)
          = kh == 3 ? (sh == 1 ? correlate_3s1 : correlate_3s2)
                    : (sh == 1 ? correlate_5s1 : correlate_5s2);

      fixed (xp, wp, k, bias, accumulate, y, oh, ow);
      return;
    }
  correlate (xp, wp, k, bias, accumulate, y, oh, ow, kh, kw, sh, sw, dh, dw);
}

/* acc[tap][ox] += dy[oy][ox] * xp[oy * sh + ki * dh][ox * sw + kj * dw] over
 * all output rows: the weight gradient's partial sums, one row per tap. */
static inline __attribute__ ((always_inline)) void
weight_sums (const float *restrict xp, int wp, const float *restrict dy, float *restrict acc,
             int oh, int ow, int KH, int KW, int SH, int SW, int DH, int DW)
{
  for (int oy = 0; oy < oh; oy++)
    {
      const float *restrict dyr = dy + (size_t) oy * ow;

      for (int ki = 0; ki < KH; ki++)
        {
          const float *restrict xr = xp + (size_t) (oy * SH + ki * DH) * wp;

          for (int kj = 0; kj < KW; kj++)
            {
              float *restrict a = acc + (size_t) (ki * KW + kj) * ow;

              for (int ox = 0; ox < ow; ox++)
                a[ox] += dyr[ox] * xr[ox * SW + kj * DW];
            }
        }
    }
}

#define WEIGHT_SUMS_FIXED(name, K, S)                                                              \
  static void name (const float *xp, int wp, const float *dy, float *acc, int oh, int ow)          \
  {                                                                                                \
    weight_sums (xp, wp, dy, acc, oh, ow, K, K, S, S, 1, 1);                                       \
  }
WEIGHT_SUMS_FIXED (weight_sums_3s1, 3, 1)
WEIGHT_SUMS_FIXED (weight_sums_3s2, 3, 2)
WEIGHT_SUMS_FIXED (weight_sums_5s1, 5, 1)
WEIGHT_SUMS_FIXED (weight_sums_5s2, 5, 2)

static void
weight_sums_any (const sl_conv_desc *d, const float *xp, int wp, const float *dy, float *acc)
{
  if (d->kh == d->kw && d->sh == d->sw && d->dh == 1 && d->dw == 1 && (d->kh == 3 || d->kh == 5)
      && (d->sh == 1 || d->sh == 2))
    {
      void (*fixed) (const float *, int, const float *, float *, int, int)
          = d->kh == 3 ? (d->sh == 1 ? weight_sums_3s1 : weight_sums_3s2)
                       : (d->sh == 1 ? weight_sums_5s1 : weight_sums_5s2);

      fixed (xp, wp, dy, acc, d->out_h, d->out_w);
      return;
    }
  weight_sums (xp, wp, dy, acc, d->out_h, d->out_w, d->kh, d->kw, d->sh, d->sw, d->dh, d->dw);
}

/* The adjoint of correlate at any stride: spreads dy over the padded input
 * gradient plane dxp (zeroed here). */
static void
spread (const sl_conv_desc *d, const float *restrict dy, const float *restrict k,
        float *restrict dxp, int wp)
{
  memset (dxp, 0, sizeof (float) * (size_t) padded_rows (d) * wp);
  for (int oy = 0; oy < d->out_h; oy++)
    {
      const float *restrict dyr = dy + (size_t) oy * d->out_w;

      for (int ki = 0; ki < d->kh; ki++)
        {
          float *restrict xr = dxp + (size_t) (oy * d->sh + ki * d->dh) * wp;

          for (int kj = 0; kj < d->kw; kj++)
            {
              const float kv = k[ki * d->kw + kj];
              float *restrict at = xr + kj * d->dw;

              if (d->sw == 2)
                for (int ox = 0; ox < d->out_w; ox++)
                  at[2 * ox] += kv * dyr[ox];
              else
                for (int ox = 0; ox < d->out_w; ox++)
                  at[ox * d->sw] += kv * dyr[ox];
            }
        }
    }
}

typedef struct
{
  const sl_conv_desc *d;
  int n;
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw, *db, *ws;
  bool accumulate;
} depthwise_job;

static void
forward_share (void *ctx, int t, int threads)
{
  const depthwise_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int rows = padded_rows (d), cols = padded_cols (d);
  const size_t in_plane = (size_t) d->in_h * d->in_w, out_plane = (size_t) d->out_h * d->out_w;
  float *xp = j->ws + (size_t) t * thread_floats (d);
  long p0, p1;

  _sl_split_range ((long) j->n * d->in_c, t, threads, &p0, &p1);
  for (long p = p0; p < p1; p++)
    {
      const int c = (int) (p % d->in_c);

      pad_plane (j->x + p * in_plane, d->in_h, d->in_w, d->ph, d->pw, xp, rows, cols);
      correlate_any (xp, cols, j->w + (size_t) c * d->kh * d->kw, j->b != NULL ? j->b[c] : 0.0f,
                     false, j->y + p * out_plane, d->out_h, d->out_w, d->kh, d->kw, d->sh, d->sw,
                     d->dh, d->dw);
    }
}

void
_sl_cpu_depthwise_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                           const float *w, const float *b, float *y, float *ws)
{
  depthwise_job j = { .d = d, .n = n, .x = x, .w = w, .b = b, .y = y, .ws = ws };

  _sl_threadpool_run (cpu->pool, forward_share, &j);
}

/* dx of one plane. At stride 1 the input gradient is the output gradient,
 * padded, correlated with the flipped kernel (the forward kernel again);
 * otherwise dy is spread over a padded plane that is then cropped. */
static void
input_grad_plane (const depthwise_job *j, const float *dy, const float *k, float *flip, float *tmp,
                  float *dx)
{
  const sl_conv_desc *d = j->d;
  const int taps = d->kh * d->kw;

  if (d->sh == 1 && d->sw == 1)
    {
      const int rows = d->in_h + (d->kh - 1) * d->dh, cols = d->in_w + (d->kw - 1) * d->dw;

      for (int i = 0; i < taps; i++)
        flip[i] = k[taps - 1 - i];
      pad_plane (dy, d->out_h, d->out_w, (d->kh - 1) * d->dh - d->ph, (d->kw - 1) * d->dw - d->pw,
                 tmp, rows, cols);
      correlate_any (tmp, cols, flip, 0.0f, j->accumulate, dx, d->in_h, d->in_w, d->kh, d->kw, 1, 1,
                     d->dh, d->dw);
      return;
    }

  const int rows = padded_rows (d), cols = padded_cols (d);

  spread (d, dy, k, tmp, cols);
  /* Input pixels no window reaches (past the last stride) get no gradient. */
  for (int iy = 0; iy < d->in_h; iy++)
    {
      float *restrict out = dx + (size_t) iy * d->in_w;
      const int r = iy + d->ph;

      for (int ix = 0; ix < d->in_w; ix++)
        {
          const int c = ix + d->pw;
          const float v = r < rows && c < cols ? tmp[(size_t) r * cols + c] : 0.0f;

          _sl_store_grad (&out[ix], v, j->accumulate);
        }
    }
}

static void
backward_share (void *ctx, int t, int threads)
{
  const depthwise_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int rows = padded_rows (d), cols = padded_cols (d), taps = d->kh * d->kw;
  const size_t in_plane = (size_t) d->in_h * d->in_w, out_plane = (size_t) d->out_h * d->out_w;
  float *xp = j->ws + (size_t) t * thread_floats (d);
  float *tmp = xp + align_floats ((size_t) rows * cols);
  float *acc = tmp + align_floats (grad_plane_floats (d));
  float *flip = acc + align_floats ((size_t) taps * d->out_w);
  long c0, c1;

  _sl_split_range (d->in_c, t, threads, &c0, &c1);
  for (long c = c0; c < c1; c++)
    {
      const float *k = j->w + (size_t) c * taps;
      float bias_sum = 0.0f;

      if (j->dw != NULL)
        memset (acc, 0, sizeof (float) * (size_t) taps * d->out_w);
      for (int i = 0; i < j->n; i++)
        {
          const size_t p = (size_t) i * d->in_c + c;
          const float *dy = j->dy + p * out_plane;

          if (j->dw != NULL)
            {
              pad_plane (j->x + p * in_plane, d->in_h, d->in_w, d->ph, d->pw, xp, rows, cols);
              weight_sums_any (d, xp, cols, dy, acc);
            }
          if (j->db != NULL)
            for (size_t o = 0; o < out_plane; o++)
              bias_sum += dy[o];
          if (j->dx != NULL)
            input_grad_plane (j, dy, k, flip, tmp, j->dx + p * in_plane);
        }
      if (j->db != NULL)
        j->db[c] = bias_sum;
      if (j->dw != NULL)
        for (int tap = 0; tap < taps; tap++)
          {
            const float *a = acc + (size_t) tap * d->out_w;
            float s = 0.0f;

            for (int ox = 0; ox < d->out_w; ox++)
              s += a[ox];
            j->dw[(size_t) c * taps + tap] = s;
          }
    }
}

void
_sl_cpu_depthwise_backward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                            const float *w, const float *dy, float *dx, bool accumulate, float *dw,
                            float *db, float *ws)
{
  depthwise_job j = { .d = d,
                      .n = n,
                      .x = x,
                      .w = w,
                      .dy = dy,
                      .dx = dx,
                      .dw = dw,
                      .db = db,
                      .ws = ws,
                      .accumulate = accumulate };

  _sl_threadpool_run (cpu->pool, backward_share, &j);
}
