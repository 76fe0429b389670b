/* sl-cpu-im2col.c: column matrices for convolution (im2col) and their adjoint (col2im). */
#include "sl-cpu-private.h"

#include <string.h>

/* Rows here are a few dozen floats: plain loops beat memcpy/memset calls, so
 * keep GCC from turning them back into such calls. */
#define SL_NO_LIBCALLS __attribute__ ((optimize ("no-tree-loop-distribute-patterns")))

/* Stride 1, dilation 1 and an output as large as the input ("same" padding):
 * each (c, ki, kj) block of the column matrix is the input plane shifted by a
 * constant, so it is one contiguous copy plus zeroed borders. */
static bool
is_same_unit (const sl_conv_desc *d)
{
  return d->sh == 1 && d->sw == 1 && d->dh == 1 && d->dw == 1 && d->out_h == d->in_h
         && d->out_w == d->in_w;
}

/* The valid output rows [oy0, oy1) and columns [ox0, ox1) of kernel tap (ki, kj). */
static void
tap_window (const sl_conv_desc *d, int ki, int kj, int *oy0, int *oy1, int *ox0, int *ox1)
{
  int dy = ki - d->ph, dx = kj - d->pw;

  *oy0 = dy < 0 ? -dy : 0;
  *oy1 = dy > 0 ? d->in_h - dy : d->in_h;
  *ox0 = dx < 0 ? -dx : 0;
  *ox1 = dx > 0 ? d->in_w - dx : d->in_w;
}

static void SL_NO_LIBCALLS
zero_outside (float *block, int h, int w, int oy0, int oy1, int ox0, int ox1)
{
  /* Rows above and below the window are contiguous runs; they are a few dozen
   * floats, so plain loops beat memset calls. */
  for (long f = 0; f < (long) oy0 * w; f++)
    block[f] = 0.0f;
  for (long f = (long) oy1 * w; f < (long) h * w; f++)
    block[f] = 0.0f;
  /* The centre column of taps has no border columns at all. */
  if (ox0 == 0 && ox1 == w)
    return;
  for (int oy = oy0; oy < oy1; oy++)
    {
      float *row = block + (size_t) oy * w;

      for (int ox = 0; ox < ox0; ox++)
        row[ox] = 0.0f;
      for (int ox = ox1; ox < w; ox++)
        row[ox] = 0.0f;
    }
}

static void
im2col_same (const sl_conv_desc *d, const float *x, float *col, size_t ld)
{
  const int h = d->in_h, w = d->in_w, hw = h * w;

  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          float *block = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * ld;
          const long shift = (long) (ki - d->ph) * w + (kj - d->pw);
          int oy0, oy1, ox0, ox1;
          long f0, f1;

          tap_window (d, ki, kj, &oy0, &oy1, &ox0, &ox1);
          /* Copy the valid rows whole; what wraps around the edges lands in
           * border columns and is zeroed next. Clamp to the plane. */
          f0 = (long) oy0 * w;
          f1 = (long) oy1 * w;
          if (f0 + shift < 0)
            f0 = -shift;
          if (f1 + shift > hw)
            f1 = hw - shift;
          if (f1 > f0)
            memcpy (block + f0, x + (size_t) c * hw + f0 + shift, sizeof (float) * (f1 - f0));
          zero_outside (block, h, w, oy0, oy1, ox0, ox1);
        }
}

/* The adjoint of im2col_same. It scribbles zeros over the borders of col,
 * which is scratch by then. */
static void
col2im_same (const sl_conv_desc *d, float *col, size_t ld, float *dx, bool accumulate)
{
  const int h = d->in_h, w = d->in_w, hw = h * w;

  if (!accumulate)
    memset (dx, 0, sizeof (float) * d->in_c * hw);
  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          float *block = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * ld;
          float *plane = dx + (size_t) c * hw;
          const long shift = (long) (ki - d->ph) * w + (kj - d->pw);
          int oy0, oy1, ox0, ox1;
          long f0, f1;

          tap_window (d, ki, kj, &oy0, &oy1, &ox0, &ox1);
          zero_outside (block, h, w, oy0, oy1, ox0, ox1);
          f0 = (long) oy0 * w;
          f1 = (long) oy1 * w;
          if (f0 + shift < 0)
            f0 = -shift;
          if (f1 + shift > hw)
            f1 = hw - shift;
          float *restrict dst = plane + shift;
          const float *restrict src = block;
          for (long f = f0; f < f1; f++)
            dst[f] += src[f];
        }
}

void SL_NO_LIBCALLS
_sl_im2col (const sl_conv_desc *d, const float *x, float *col, size_t ld)
{
  if (is_same_unit (d))
    {
      im2col_same (d, x, col, ld);
      return;
    }

  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          float *row = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * ld;
          const float *plane = x + (size_t) c * d->in_h * d->in_w;
          /* Output columns whose input column ix = ox * sw - pw + kj * dw is inside. */
          int off = kj * d->dw - d->pw;
          int ox0 = off >= 0 ? 0 : (-off + d->sw - 1) / d->sw;
          int ox1 = (d->in_w - off + d->sw - 1) / d->sw; /* first ox past the edge */

          if (ox1 > d->out_w)
            ox1 = d->out_w;
          if (ox1 < 0)
            ox1 = 0;
          if (ox0 > ox1)
            ox0 = ox1;
          for (int oy = 0; oy < d->out_h; oy++)
            {
              int iy = oy * d->sh - d->ph + ki * d->dh;
              float *dst = row + (size_t) oy * d->out_w;

              if (iy < 0 || iy >= d->in_h)
                {
                  for (int ox = 0; ox < d->out_w; ox++)
                    dst[ox] = 0.0f;
                  continue;
                }
              const float *src = plane + (size_t) iy * d->in_w + off;
              for (int ox = 0; ox < ox0; ox++)
                dst[ox] = 0.0f;
              if (d->sw == 1)
                for (int ox = ox0; ox < ox1; ox++)
                  dst[ox] = src[ox];
              else
                for (int ox = ox0; ox < ox1; ox++)
                  dst[ox] = src[ox * d->sw];
              for (int ox = ox1; ox < d->out_w; ox++)
                dst[ox] = 0.0f;
            }
        }
}

void SL_NO_LIBCALLS
_sl_col2im (const sl_conv_desc *d, float *col, size_t ld, float *dx, bool accumulate)
{
  if (is_same_unit (d))
    {
      col2im_same (d, col, ld, dx, accumulate);
      return;
    }

  if (!accumulate)
    memset (dx, 0, sizeof (float) * d->in_c * d->in_h * d->in_w);
  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          const float *row = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * ld;
          float *plane = dx + (size_t) c * d->in_h * d->in_w;
          int off = kj * d->dw - d->pw;
          int ox0 = off >= 0 ? 0 : (-off + d->sw - 1) / d->sw;
          int ox1 = (d->in_w - off + d->sw - 1) / d->sw;

          if (ox1 > d->out_w)
            ox1 = d->out_w;
          for (int oy = 0; oy < d->out_h; oy++)
            {
              int iy = oy * d->sh - d->ph + ki * d->dh;
              const float *src = row + (size_t) oy * d->out_w;

              if (iy < 0 || iy >= d->in_h)
                continue;
              float *dst = plane + (size_t) iy * d->in_w + off;
              for (int ox = ox0; ox < ox1; ox++)
                dst[ox * d->sw] += src[ox];
            }
        }
}
