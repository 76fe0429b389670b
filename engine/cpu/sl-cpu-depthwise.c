/* sl-cpu-depthwise.c: direct depthwise convolution (groups == in_c == out_c) on the CPU, without
 * im2col: forward, input gradient and weight gradient, split over the pool. */
#include "sl-cpu-private.h"
#include "sl-cpu-depthwise-private.h"

#include <string.h>

/* The 3x3 and 5x5 kernels at stride 1 and 2 (all of MobileNet and
 * EfficientNet-Lite) run the row kernels of sl-cpu-depthwise-rows.c. Any
 * other shape runs the general kernels here: every image plane is first
 * copied into a zero-bordered plane of scratch, so they run without bounds
 * checks: output (oy, ox) reads padded rows oy * sh + ki * dh and columns
 * ox * sw + kj * dw. Each padded row is stored split by column phase
 * (column c at phase c % sw, place c / sw), so that at stride 2 every
 * kernel tap still reads consecutive floats.
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

/* Lanes of the weight and bias gradients' partial sums. */
#define LANES 8

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

/* Floats of one phase of a padded row. */
static int
phase_len (int cols, int stride)
{
  return (cols + stride - 1) / stride;
}

static size_t
plane_floats (int rows, int cols, int stride)
{
  return (size_t) rows * stride * phase_len (cols, stride);
}

/* The padded output-gradient plane of the stride-1 input gradient, or the
 * padded input-gradient plane at other strides. */
static size_t
grad_plane_floats (const sl_conv_desc *d)
{
  if (d->sh == 1 && d->sw == 1)
    return (size_t) (d->in_h + (d->kh - 1) * d->dh) * (d->in_w + (d->kw - 1) * d->dw);
  return plane_floats (padded_rows (d), padded_cols (d), d->sw);
}

/* Per thread: the padded input plane and one padded row of zeros after it;
 * for backward also a second plane, the flipped kernel and the output
 * gradient with the padded plane's row length (stride 1). */
static size_t
thread_floats (const sl_conv_desc *d)
{
  if (_sl_cpu_depthwise_rows_take (d))
    return _sl_cpu_depthwise_rows_thread_floats (d);

  const size_t taps = (size_t) d->kh * d->kw, cols = (size_t) padded_cols (d);

  return align_floats (plane_floats (padded_rows (d), padded_cols (d), d->sw) + cols)
         + align_floats (grad_plane_floats (d)) + align_floats (taps)
         + align_floats ((size_t) d->out_h * cols);
}

size_t
_sl_cpu_depthwise_workspace_floats (const sl_conv_desc *d, int threads)
{
  return thread_floats (d) * (size_t) (threads > 0 ? threads : 1);
}

/* dst (rows x cols, split into `stride` column phases of len floats) = src
 * (h x w) moved down by top and right by left (either may be negative:
 * cropped), zeros elsewhere. */
static void
pad_plane (const float *src, int h, int w, int top, int left, float *dst, int rows, int cols,
           int stride)
{
  const int c0 = left < 0 ? 0 : left, c1 = w + left < cols ? w + left : cols;
  const int len = phase_len (cols, stride);

  for (int r = 0; r < rows; r++)
    {
      float *restrict out = dst + (size_t) r * stride * len;
      const int sr = r - top;

      if (sr < 0 || sr >= h || c1 <= c0)
        {
          memset (out, 0, sizeof (float) * stride * len);
          continue;
        }
      const float *restrict in = src + (size_t) sr * w; /* padded column c is in[c - left] */
      if (stride == 1)
        {
          for (int c = 0; c < c0; c++)
            out[c] = 0.0f;
          memcpy (out + c0, in + (c0 - left), sizeof (float) * (c1 - c0));
          for (int c = c1; c < cols; c++)
            out[c] = 0.0f;
          continue;
        }
      for (int p = 0; p < stride; p++)
        {
          float *restrict ph = out + (size_t) p * len;
          /* Places m whose column m * stride + p is in [c0, c1). */
          const int m0 = c0 > p ? (c0 - p + stride - 1) / stride : 0;
          const int m1 = c1 > p ? (c1 - p + stride - 1) / stride : 0;

          for (int m = 0; m < m0; m++)
            ph[m] = 0.0f;
          for (int m = m0; m < m1; m++)
            ph[m] = in[(long) m * stride + p - left];
          for (int m = m1 > m0 ? m1 : m0; m < len; m++)
            ph[m] = 0.0f;
        }
    }
}

/* Where tap column kj starts in a phase-split row. */
#define TAP_AT(kj, DW, SW, len) ((((kj) * (DW)) % (SW)) * (len) + ((kj) * (DW)) / (SW))

/* y (oh x ow) = bias, or y as it is when accumulate, plus the correlation of
 * the padded plane xp (phase length len) with the kh x kw kernel k. */
static inline __attribute__ ((always_inline)) void
correlate (const float *restrict xp, int len, const float *restrict k, float bias, bool accumulate,
           float *restrict y, int oh, int ow, int KH, int KW, int SH, int SW, int DH, int DW)
{
  const size_t pitch = (size_t) SW * len;

  for (int oy = 0; oy < oh; oy++)
    {
      float *restrict yr = y + (size_t) oy * ow;

      if (!accumulate)
        for (int ox = 0; ox < ow; ox++)
          yr[ox] = bias;
      for (int ki = 0; ki < KH; ki++)
        {
          const float *restrict xr = xp + (size_t) (oy * SH + ki * DH) * pitch;
          const float *restrict kr = k + ki * KW;

          for (int ox = 0; ox < ow; ox++)
            {
              float s = yr[ox];

              for (int kj = 0; kj < KW; kj++)
                s += kr[kj] * xr[TAP_AT (kj, DW, SW, len) + ox];
              yr[ox] = s;
            }
        }
    }
}

static void
correlate_any (const float *xp, int len, const float *k, float bias, bool accumulate, float *y,
               int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw)
{
  correlate (xp, len, k, bias, accumulate, y, oh, ow, kh, kw, sh, sw, dh, dw);
}

/* LANES floats as one value: the compiler keeps these in vector registers. */
typedef float lanes_f __attribute__ ((vector_size (LANES * sizeof (float))));

static inline lanes_f
load_lanes (const float *p)
{
  lanes_f v;

  memcpy (&v, p, sizeof v);
  return v;
}

/* At most this many taps of one kernel row per tap_sums call. */
#define MAX_ROW_TAPS 8

/* sums[kj] += the sum over rows r < rows and f < n of
 * dy[r * dy_pitch + f] * x[r * x_pitch + off[kj] + f], for kj < taps: two
 * independent LANES-wide accumulators per tap, a scalar one for the rest,
 * added up in a fixed order. */
static inline __attribute__ ((always_inline)) void
tap_sums (const float *restrict dy, size_t dy_pitch, const float *restrict x, size_t x_pitch,
          const int *off, int rows, size_t n, int taps, float *restrict sums)
{
  lanes_f a0[MAX_ROW_TAPS], a1[MAX_ROW_TAPS];
  float rest[MAX_ROW_TAPS];

  for (int kj = 0; kj < taps; kj++)
    {
      a0[kj] = a1[kj] = (lanes_f){ 0 };
      rest[kj] = 0.0f;
    }
  for (int r = 0; r < rows; r++)
    {
      const float *restrict dyr = dy + (size_t) r * dy_pitch;
      const float *restrict xr = x + (size_t) r * x_pitch;
      size_t f = 0;

      for (; f + 2 * LANES <= n; f += 2 * LANES)
        {
          const lanes_f d0 = load_lanes (dyr + f), d1 = load_lanes (dyr + f + LANES);

          for (int kj = 0; kj < taps; kj++)
            {
              a0[kj] += d0 * load_lanes (xr + off[kj] + f);
              a1[kj] += d1 * load_lanes (xr + off[kj] + f + LANES);
            }
        }
      for (; f + LANES <= n; f += LANES)
        {
          const lanes_f d0 = load_lanes (dyr + f);

          for (int kj = 0; kj < taps; kj++)
            a0[kj] += d0 * load_lanes (xr + off[kj] + f);
        }
      for (; f < n; f++)
        for (int kj = 0; kj < taps; kj++)
          rest[kj] += dyr[f] * xr[off[kj] + f];
    }
  for (int kj = 0; kj < taps; kj++)
    {
      const lanes_f a = a0[kj] + a1[kj];
      float s = rest[kj];

      for (int l = 0; l < LANES; l++)
        s += a[l];
      sums[kj] += s;
    }
}

/* dwc[tap] += the sum over the plane of dy[oy][ox] * xp[oy * sh + ki * dh][ox * sw + kj * dw],
 * one kernel row (up to MAX_ROW_TAPS taps of it) at a time. */
static inline __attribute__ ((always_inline)) void
weight_sums (const float *restrict xp, int len, const float *restrict dy, float *restrict dwc,
             int oh, int ow, int KH, int KW, int SH, int SW, int DH, int DW)
{
  const size_t pitch = (size_t) SW * len;

  for (int ki = 0; ki < KH; ki++)
    for (int k0 = 0; k0 < KW; k0 += MAX_ROW_TAPS)
      {
        const int taps = KW - k0 < MAX_ROW_TAPS ? KW - k0 : MAX_ROW_TAPS;
        int off[MAX_ROW_TAPS];

        for (int kj = 0; kj < taps; kj++)
          off[kj] = TAP_AT (k0 + kj, DW, SW, len);
        tap_sums (dy, (size_t) ow, xp + (size_t) ki * DH * pitch, (size_t) SH * pitch, off, oh,
                  (size_t) ow, taps, dwc + ki * KW + k0);
      }
}

/* The same at stride 1, where a padded row is `cols` floats: dyp is dy with
 * rows of that length (zeros after each row's ow values), so each tap's sum
 * is one dot product over the whole plane, without a tail per row. What the
 * zeros meet past a row's end is the next row's start, or the zero row after
 * the plane. */
static inline __attribute__ ((always_inline)) void
weight_sums_flat (const float *restrict xp, int cols, const float *restrict dyp,
                  float *restrict dwc, int oh, int KH, int KW, int DH, int DW)
{
  for (int ki = 0; ki < KH; ki++)
    for (int k0 = 0; k0 < KW; k0 += MAX_ROW_TAPS)
      {
        const int taps = KW - k0 < MAX_ROW_TAPS ? KW - k0 : MAX_ROW_TAPS;
        int off[MAX_ROW_TAPS];

        for (int kj = 0; kj < taps; kj++)
          off[kj] = (k0 + kj) * DW;
        tap_sums (dyp, 0, xp + (size_t) ki * DH * cols, 0, off, 1, (size_t) oh * cols, taps,
                  dwc + ki * KW + k0);
      }
}

/* xp: the padded plane with a zero row after it; dyp: scratch for dy with
 * padded rows (stride 1). */
static void
weight_sums_any (const sl_conv_desc *d, const float *xp, int len, const float *dy, float *dwc,
                 float *dyp)
{
  if (d->sh == 1 && d->sw == 1)
    {
      for (int oy = 0; oy < d->out_h; oy++)
        {
          float *restrict row = dyp + (size_t) oy * len;

          memcpy (row, dy + (size_t) oy * d->out_w, sizeof (float) * d->out_w);
          for (int c = d->out_w; c < len; c++)
            row[c] = 0.0f;
        }
      weight_sums_flat (xp, len, dyp, dwc, d->out_h, d->kh, d->kw, d->dh, d->dw);
      return;
    }
  weight_sums (xp, len, dy, dwc, d->out_h, d->out_w, d->kh, d->kw, d->sh, d->sw, d->dh, d->dw);
}

/* The adjoint of correlate at any stride: spreads dy over the padded,
 * phase-split input gradient plane dxp (zeroed here). */
static void
spread (const sl_conv_desc *d, const float *restrict dy, const float *restrict k,
        float *restrict dxp, int len)
{
  const size_t pitch = (size_t) d->sw * len;

  memset (dxp, 0, sizeof (float) * (size_t) padded_rows (d) * pitch);
  for (int oy = 0; oy < d->out_h; oy++)
    {
      const float *restrict dyr = dy + (size_t) oy * d->out_w;

      for (int ki = 0; ki < d->kh; ki++)
        {
          float *restrict xr = dxp + (size_t) (oy * d->sh + ki * d->dh) * pitch;

          for (int kj = 0; kj < d->kw; kj++)
            {
              const float kv = k[ki * d->kw + kj];
              float *restrict at = xr + TAP_AT (kj, d->dw, d->sw, len);

              for (int ox = 0; ox < d->out_w; ox++)
                at[ox] += kv * dyr[ox];
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
  if (_sl_cpu_depthwise_rows_take (d))
    {
      _sl_cpu_depthwise_rows_forward (d, p0, p1, j->x, j->w, j->b, j->y, xp);
      return;
    }
  for (long p = p0; p < p1; p++)
    {
      const int c = (int) (p % d->in_c);

      pad_plane (j->x + p * in_plane, d->in_h, d->in_w, d->ph, d->pw, xp, rows, cols, d->sw);
      correlate_any (xp, phase_len (cols, d->sw), j->w + (size_t) c * d->kh * d->kw,
                     j->b != NULL ? j->b[c] : 0.0f, false, j->y + p * out_plane, d->out_h, d->out_w,
                     d->kh, d->kw, d->sh, d->sw, d->dh, d->dw);
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
                 tmp, rows, cols, 1);
      correlate_any (tmp, cols, flip, 0.0f, j->accumulate, dx, d->in_h, d->in_w, d->kh, d->kw, 1, 1,
                     d->dh, d->dw);
      return;
    }

  const int rows = padded_rows (d), cols = padded_cols (d), len = phase_len (cols, d->sw);

  spread (d, dy, k, tmp, len);
  /* Input pixels no window reaches (past the last stride) get no gradient.
   * Padded column c sits at phase c % sw, place c / sw. */
  const int sw = d->sw, pw = d->pw, in_w = d->in_w;
  const int reached = cols - pw < in_w ? (cols - pw > 0 ? cols - pw : 0) : in_w;
  const bool accumulate = j->accumulate;

  for (int iy = 0; iy < d->in_h; iy++)
    {
      float *restrict out = dx + (size_t) iy * in_w;
      const float *restrict row = tmp + (size_t) (iy + d->ph) * sw * len;

      if (iy + d->ph >= rows)
        {
          if (!accumulate)
            memset (out, 0, sizeof (float) * in_w);
          continue;
        }
      for (int p = 0; p < sw; p++)
        {
          const int ix0 = ((p - pw) % sw + sw) % sw; /* the first column of phase p */
          const float *restrict from = row + (size_t) p * len + (ix0 + pw) / sw;

          if (accumulate)
            for (int ix = ix0, m = 0; ix < reached; ix += sw, m++)
              out[ix] += from[m];
          else
            for (int ix = ix0, m = 0; ix < reached; ix += sw, m++)
              out[ix] = from[m];
        }
      if (!accumulate)
        for (int ix = reached; ix < in_w; ix++)
          out[ix] = 0.0f;
    }
}

/* The sum of n floats in LANES-wide partials (vectorised), then in order. */
static float
plane_sum (const float *restrict v, size_t n)
{
  float part[LANES] = { 0 }, s = 0.0f;
  size_t i = 0;

  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++)
      part[l] += v[i + l];
  for (; i < n; i++)
    part[0] += v[i];
  for (int l = 0; l < LANES; l++)
    s += part[l];
  return s;
}

static void
backward_share (void *ctx, int t, int threads)
{
  const depthwise_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int rows = padded_rows (d), cols = padded_cols (d), taps = d->kh * d->kw;
  const size_t in_plane = (size_t) d->in_h * d->in_w, out_plane = (size_t) d->out_h * d->out_w;
  float *xp = j->ws + (size_t) t * thread_floats (d);
  float *tmp = xp + align_floats (plane_floats (rows, cols, d->sw) + cols);
  float *flip = tmp + align_floats (grad_plane_floats (d));
  float *dyp = flip + align_floats ((size_t) taps);
  long c0, c1;

  _sl_split_range (d->in_c, t, threads, &c0, &c1);
  if (_sl_cpu_depthwise_rows_take (d))
    {
      _sl_cpu_depthwise_rows_backward (d, j->n, c0, c1, j->x, j->w, j->dy, j->dx, j->accumulate,
                                       j->dw, j->db, xp);
      return;
    }
  /* The zero row after the padded plane (weight_sums_flat reads into it). */
  memset (xp + plane_floats (rows, cols, d->sw), 0, sizeof (float) * cols);
  for (long c = c0; c < c1; c++)
    {
      const float *k = j->w + (size_t) c * taps;
      float bias_sum = 0.0f;

      if (j->dw != NULL)
        memset (j->dw + (size_t) c * taps, 0, sizeof (float) * taps);
      for (int i = 0; i < j->n; i++)
        {
          const size_t p = (size_t) i * d->in_c + c;
          const float *dy = j->dy + p * out_plane;

          if (j->dw != NULL)
            {
              pad_plane (j->x + p * in_plane, d->in_h, d->in_w, d->ph, d->pw, xp, rows, cols,
                         d->sw);
              weight_sums_any (d, xp, phase_len (cols, d->sw), dy, j->dw + (size_t) c * taps, dyp);
            }
          if (j->db != NULL)
            bias_sum += plane_sum (dy, out_plane);
          if (j->dx != NULL)
            input_grad_plane (j, dy, k, flip, tmp, j->dx + p * in_plane);
        }
      if (j->db != NULL)
        j->db[c] = bias_sum;
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
