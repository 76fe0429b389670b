/* sl-cpu-conv.c: conv2d on the CPU by im2col + OpenBLAS GEMM, images split over the pool. */
#include "sl-cpu-private.h"

#include <string.h>

typedef struct
{
  int kdim;   /* rows of one group's column matrix: in_c / groups * kh * kw */
  int cout_g; /* filters per group */
  int ohw;    /* output pixels */
  size_t in_size, out_size, w_count;
  bool pointwise; /* 1 x 1, stride 1, no padding: the image is its own column matrix */
} conv_dims;

static conv_dims
conv_dims_of (const sl_conv_desc *d)
{
  conv_dims c;

  c.kdim = d->in_c / d->groups * d->kh * d->kw;
  c.cout_g = d->out_c / d->groups;
  c.ohw = d->out_h * d->out_w;
  c.in_size = (size_t) d->in_c * d->in_h * d->in_w;
  c.out_size = (size_t) d->out_c * c.ohw;
  c.w_count = (size_t) d->out_c * c.kdim;
  c.pointwise = d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0;
  return c;
}

static size_t
col_floats (const sl_conv_desc *d)
{
  return (size_t) d->in_c * d->kh * d->kw * d->out_h * d->out_w;
}

size_t
sl_cpu_conv2d_workspace (sl_backend *be, const sl_conv_desc *d, int n)
{
  return col_floats (d) * (size_t) sl_cpu_of (be)->threads;
}

size_t
sl_cpu_conv2d_grad_scratch (sl_backend *be, const sl_conv_desc *d)
{
  return conv_dims_of (d).w_count + (size_t) d->out_c;
}

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

static void
zero_outside (float *block, int h, int w, int oy0, int oy1, int ox0, int ox1)
{
  /* Rows above and below the window are contiguous runs. */
  if (oy0 > 0)
    memset (block, 0, sizeof (float) * oy0 * w);
  if (oy1 < h)
    memset (block + (size_t) oy1 * w, 0, sizeof (float) * (h - oy1) * w);
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
im2col_same (const sl_conv_desc *d, const float *x, float *col)
{
  const int h = d->in_h, w = d->in_w, hw = h * w;

  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          float *block = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * hw;
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
col2im_same (const sl_conv_desc *d, float *col, float *dx, bool accumulate)
{
  const int h = d->in_h, w = d->in_w, hw = h * w;

  if (!accumulate)
    memset (dx, 0, sizeof (float) * d->in_c * hw);
  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          float *block = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * hw;
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

/* Column matrix of one image: row (c, ki, kj), column (oy, ox). */
static void SL_NO_LIBCALLS
im2col (const sl_conv_desc *d, const float *x, float *col)
{
  const int ohw = d->out_h * d->out_w;

  if (is_same_unit (d))
    {
      im2col_same (d, x, col);
      return;
    }

  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          float *row = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * ohw;
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

/* The adjoint of im2col: adds every column entry back onto its input pixel. */
static void SL_NO_LIBCALLS
col2im (const sl_conv_desc *d, float *col, float *dx, bool accumulate)
{
  const int ohw = d->out_h * d->out_w;

  if (is_same_unit (d))
    {
      col2im_same (d, col, dx, accumulate);
      return;
    }

  if (!accumulate)
    memset (dx, 0, sizeof (float) * d->in_c * d->in_h * d->in_w);
  for (int c = 0; c < d->in_c; c++)
    for (int ki = 0; ki < d->kh; ki++)
      for (int kj = 0; kj < d->kw; kj++)
        {
          const float *row = col + ((size_t) (c * d->kh + ki) * d->kw + kj) * ohw;
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

typedef struct
{
  const sl_conv_desc *d;
  conv_dims cd;
  int n;
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw, *db, *ws, *scratch;
  bool accumulate;
  size_t col_len, scratch_len;
} conv_job;

static void
fill_bias (float *y, const float *b, int channels, int ohw)
{
  for (int oc = 0; oc < channels; oc++)
    for (int p = 0; p < ohw; p++)
      y[(size_t) oc * ohw + p] = b[oc];
}

static void
forward_image (const conv_job *j, const float *xi, float *yi, float *col)
{
  const sl_conv_desc *d = j->d;
  const conv_dims *c = &j->cd;
  const float *cols = xi;

  if (!c->pointwise)
    {
      im2col (d, xi, col);
      cols = col;
    }
  /* The bias is written first and the GEMM adds onto it: one pass fewer over y. */
  if (j->b != NULL)
    fill_bias (yi, j->b, d->out_c, c->ohw);
  for (int g = 0; g < d->groups; g++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout_g, c->ohw, c->kdim, 1.0f,
                 j->w + (size_t) g * c->cout_g * c->kdim, c->kdim,
                 cols + (size_t) g * c->kdim * c->ohw, c->ohw, j->b != NULL ? 1.0f : 0.0f,
                 yi + (size_t) g * c->cout_g * c->ohw, c->ohw);
}

static void
forward_share (void *ctx, int t, int threads)
{
  const conv_job *j = ctx;
  long i0, i1;

  sl_split_range (j->n, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    forward_image (j, j->x + i * j->cd.in_size, j->y + i * j->cd.out_size,
                   j->ws + (size_t) t * j->col_len);
}

/* Fewer images than threads (batch-1 inference): one image at a time, its
 * GEMM split over the pool. */
static void
forward_narrow (sl_cpu *cpu, const conv_job *j)
{
  const sl_conv_desc *d = j->d;
  const conv_dims *c = &j->cd;

  for (int i = 0; i < j->n; i++)
    {
      const float *xi = j->x + i * c->in_size, *cols = xi;
      float *yi = j->y + i * c->out_size;

      if (!c->pointwise)
        {
          im2col (d, xi, j->ws);
          cols = j->ws;
        }
      if (j->b != NULL)
        fill_bias (yi, j->b, d->out_c, c->ohw);
      for (int g = 0; g < d->groups; g++)
        sl_cpu_gemm (cpu, false, false, c->cout_g, c->ohw, c->kdim, 1.0f,
                     j->w + (size_t) g * c->cout_g * c->kdim, c->kdim,
                     cols + (size_t) g * c->kdim * c->ohw, c->ohw, j->b != NULL ? 1.0f : 0.0f,
                     yi + (size_t) g * c->cout_g * c->ohw, c->ohw);
    }
}

void
sl_cpu_conv2d_forward (sl_backend *be, const sl_conv_desc *d, int n, const float *x, const float *w,
                       const float *b, float *y, float *ws)
{
  sl_cpu *cpu = sl_cpu_of (be);
  conv_job j = { .d = d,
                 .cd = conv_dims_of (d),
                 .n = n,
                 .x = x,
                 .w = w,
                 .b = b,
                 .y = y,
                 .ws = ws,
                 .col_len = col_floats (d) };

  if (n < cpu->threads && d->groups == 1)
    forward_narrow (cpu, &j);
  else
    sl_threadpool_run (cpu->pool, forward_share, &j);
}

static void
backward_share (void *ctx, int t, int threads)
{
  const conv_job *j = ctx;
  const sl_conv_desc *d = j->d;
  const conv_dims *c = &j->cd;
  float *col = j->ws + (size_t) t * j->col_len;
  /* Thread 0 sums straight into the gradient; the others into scratch. */
  float *dw = t == 0 ? j->dw : j->scratch + (size_t) (t - 1) * j->scratch_len;
  float *db = t == 0 ? j->db : dw + c->w_count;
  long i0, i1;

  memset (dw, 0, sizeof (float) * c->w_count);
  if (db != NULL)
    memset (db, 0, sizeof (float) * d->out_c);
  sl_split_range (j->n, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    {
      const float *xi = j->x + i * c->in_size, *dyi = j->dy + i * c->out_size, *cols = xi;

      if (db != NULL)
        for (int oc = 0; oc < d->out_c; oc++)
          {
            const float *row = dyi + (size_t) oc * c->ohw;
            float s = 0.0f;

            for (int p = 0; p < c->ohw; p++)
              s += row[p];
            db[oc] += s;
          }
      if (!c->pointwise)
        {
          im2col (d, xi, col);
          cols = col;
        }
      for (int g = 0; g < d->groups; g++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c->cout_g, c->kdim, c->ohw, 1.0f,
                     dyi + (size_t) g * c->cout_g * c->ohw, c->ohw,
                     cols + (size_t) g * c->kdim * c->ohw, c->ohw, 1.0f,
                     dw + (size_t) g * c->cout_g * c->kdim, c->kdim);
      if (j->dx == NULL)
        continue;
      float *dxi = j->dx + i * c->in_size;
      /* With a pointwise kernel the column matrix is dx itself. */
      float *dcol = c->pointwise ? dxi : col;
      float beta = c->pointwise && j->accumulate ? 1.0f : 0.0f;

      for (int g = 0; g < d->groups; g++)
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, c->kdim, c->ohw, c->cout_g, 1.0f,
                     j->w + (size_t) g * c->cout_g * c->kdim, c->kdim,
                     dyi + (size_t) g * c->cout_g * c->ohw, c->ohw, beta,
                     dcol + (size_t) g * c->kdim * c->ohw, c->ohw);
      if (!c->pointwise)
        col2im (d, col, dxi, j->accumulate);
    }
}

static void
reduce_share (void *ctx, int t, int threads)
{
  const conv_job *j = ctx;
  size_t total = j->cd.w_count + (j->db != NULL ? (size_t) j->d->out_c : 0);
  long e0, e1;

  sl_split_range ((long) total, t, threads, &e0, &e1);
  for (int s = 0; s < threads - 1; s++)
    {
      const float *src = j->scratch + (size_t) s * j->scratch_len;

      for (long e = e0; e < e1; e++)
        {
          if ((size_t) e < j->cd.w_count)
            j->dw[e] += src[e];
          else
            j->db[e - j->cd.w_count] += src[e];
        }
    }
}

void
sl_cpu_conv2d_backward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                        const float *w, const float *dy, float *dx, bool accumulate, float *dw,
                        float *db, float *ws, float *scratch)
{
  sl_cpu *cpu = sl_cpu_of (be);
  conv_job j = { .d = d,
                 .cd = conv_dims_of (d),
                 .n = n,
                 .x = x,
                 .w = w,
                 .dy = dy,
                 .dx = dx,
                 .dw = dw,
                 .db = db,
                 .ws = ws,
                 .scratch = scratch,
                 .accumulate = accumulate,
                 .col_len = col_floats (d),
                 .scratch_len = sl_cpu_conv2d_grad_scratch (be, d) };

  sl_threadpool_run (cpu->pool, backward_share, &j);
  if (cpu->threads > 1)
    sl_threadpool_run (cpu->pool, reduce_share, &j);
}
