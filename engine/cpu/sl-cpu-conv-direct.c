/* sl-cpu-conv-direct.c: ordinary convolutions (ungrouped, strides 1 and 2) computed directly,
 * without a column matrix: a tile of 4 filters x 3 runs of 8 output pixels (16 with AVX-512)
 * stays in vector registers while every tap of every input channel is added on. */

/* Why: with 16 to 64 filters, im2col + GEMM spends more time writing the
 * column matrix (nine times the input) and packing it for OpenBLAS than in
 * the multiply itself (resnet-s at 128 px, batch 1: 40 % of the time in
 * im2col, its borders and OpenBLAS's copies, 44 % in the GEMM kernel).
 *
 * Here each image is first copied with its zero border, each row stored as its
 * stride's phases side by side (stride 2: the even columns, then the odd ones),
 * so that the inputs of 8 neighbouring output pixels for any tap are 8
 * consecutive floats (16 and 16 with AVX-512: LANES, a vector register). A tile then costs, per tap, up to 3 vector loads of
 * input and 4 broadcast weights for 12 vector multiply-adds, and its outputs
 * are whole vectors of an NCHW row.
 *
 * Every output is the sum over (channel, tap) in the same order whatever the
 * tile, the thread count or the batch, so results do not depend on them. */
#include "sl-cpu-vector-private.h"

#include <string.h>

#define BLOCK_FILTERS 4
#define LANES         SL_CPU_VECTOR_LANES
#define MAX_VECTORS   3
#define MAX_TAPS      49

typedef struct
{
  sl_cpu_direct_pass pass; /* first: its rows callback finds the job */
  bool accumulate;         /* add onto y instead of overwriting it */
  const float *wpack;      /* [out_c / 4][in_c][kh * kw][4], then the bias */
  int rows;                /* rows of a bordered plane */
  int phase_len;           /* floats of one stride phase of a bordered row */
  int row_len;             /* floats of a bordered row: sw phases */
  int taps;
  int segments_per_row;     /* LANES-pixel pieces of an output row, the last one maybe short */
  long segments;            /* of an image */
  int tap_offset[MAX_TAPS]; /* where tap (ki, kj) starts, from a pixel's first input */
} direct_job;

/* Outputs at least 6 pixels wide whose segments are at least 3/4 used (a row
 * of 3 fills 3 lanes of 8: im2col + GEMM is faster there), kernels larger
 * than 1 x 1 (a 1 x 1 convolution needs no column matrix or only a strided
 * copy) and more than one input channel (one channel's column matrix is no
 * larger than its bordered copy: GEMM took 0.75x the time on small-bn's
 * 1 -> 32 at 28 x 28 with 8 lanes, 0.81x with 16). Measured with
 * bench/bench-conv on the presets' layers. */
bool
_sl_cpu_direct_conv_applies (const sl_conv_desc *d)
{
  const int lanes_used = (d->out_w + LANES - 1) / LANES * LANES;

  return d->groups == 1 && d->dh == 1 && d->dw == 1 && d->out_c % BLOCK_FILTERS == 0 && d->sh >= 1
         && d->sh <= 2 && d->sw >= 1 && d->sw <= 2 && d->kh * d->kw > 1 && d->kh * d->kw <= MAX_TAPS
         && d->in_c >= 2 && d->out_w >= 6 && 4 * d->out_w >= 3 * lanes_used;
}

static int
round_lanes (int v)
{
  return (v + LANES - 1) / LANES * LANES;
}

/* A phase holds every output pixel's input for each kj (a vector past the last pixel too). */
static void
bordered_shape (const sl_conv_desc *d, int *rows, int *phase_len)
{
  *rows = (d->out_h - 1) * d->sh + d->kh;
  *phase_len = round_lanes (d->out_w) + (d->kw - 1) / d->sw + 1;
}

static size_t
bordered_floats (const sl_conv_desc *d)
{
  int rows, phase_len;

  bordered_shape (d, &rows, &phase_len);
  return (size_t) d->in_c * rows * phase_len * d->sw;
}

static size_t
packed_floats (const sl_conv_desc *d)
{
  return (size_t) d->out_c * d->in_c * d->kh * d->kw + d->out_c;
}

/* Packed filters and bias, then one bordered image per thread. */
size_t
_sl_cpu_direct_conv_workspace_floats (const sl_conv_desc *d, int threads)
{
  return packed_floats (d) + bordered_floats (d) * (size_t) threads;
}

static void
pack_filters (const sl_conv_desc *d, const float *w, const float *b, float *pack)
{
  const int per_filter = d->in_c * d->kh * d->kw;

  for (int ob = 0; ob < d->out_c / BLOCK_FILTERS; ob++)
    for (int k = 0; k < per_filter; k++)
      for (int f = 0; f < BLOCK_FILTERS; f++)
        *pack++ = w[(size_t) (ob * BLOCK_FILTERS + f) * per_filter + k];
  for (int f = 0; f < d->out_c; f++)
    *pack++ = b != NULL ? b[f] : 0.0f;
}

/* The entries [k0, k1) of a phase that fall inside the image: ix = k sw + q - pw in [0, in_w). */
static void
phase_window (const sl_conv_desc *d, int q, int phase_len, int *k0, int *k1)
{
  const int first = d->pw - q, last = d->in_w - 1 + d->pw - q; /* k sw within [first, last] */

  *k0 = first <= 0 ? 0 : (first + d->sw - 1) / d->sw;
  *k1 = last < 0 ? 0 : last / d->sw + 1;
  if (*k1 > phase_len)
    *k1 = phase_len;
  if (*k0 > *k1)
    *k0 = *k1;
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* One bordered row of stride 1: row[k] = from[k] for k0 <= k < k1, else 0, for
 * k < len; 16 floats a step through masked loads and stores (which do not
 * touch memory in masked lanes). Rows are short (35 floats for a 32 x 32
 * image): memset, memcpy and memset again cost more in calls than in copying,
 * and the border took a sixth of resnet-s's inference time. */
static void
border_row_s1 (float *row, const float *from, int k0, int k1, int len)
{
  for (int k = 0; k < len; k += 16)
    {
      const int lo = k0 - k > 0 ? k0 - k : 0, hi = k1 - k < 16 ? k1 - k : 16;
      const int n = len - k < 16 ? len - k : 16;
      const __mmask16 in = hi > lo ? (__mmask16) (((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;

      _mm512_mask_storeu_ps (row + k, (__mmask16) ((1u << n) - 1),
                             _mm512_maskz_loadu_ps (in, from + k));
    }
}

/* Lanes i of a 16-float load at input index b + i that fall inside a row of
 * in_w floats. */
static inline __mmask16
inside_row (int b, int in_w)
{
  const int lo = b < 0 ? (-b < 16 ? -b : 16) : 0, hi = in_w - b > 16 ? 16 : in_w - b;

  return hi > lo ? (__mmask16) (((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
}

/* A masked load at in + b, b possibly negative: only lanes inside the row
 * are read (the address is computed as an integer, not as a pointer before
 * the row). */
static inline __m512
load_inside (const float *in, int b, int in_w)
{
  const float *at = (const float *) ((uintptr_t) in + (intptr_t) b * (intptr_t) sizeof (float));

  return _mm512_maskz_loadu_ps (inside_row (b, in_w), at);
}

/* One bordered row of stride 2 in its two phases of len floats: entry k of
 * phase q is in[2 k + q - pw] inside the row, else 0. 32 inputs a step (two
 * masked loads) split into even and odd lanes by two-source permutes: one
 * float at a time, the stem's 128 x 128 input made this copy a tenth of
 * resnet-s's inference. */
static void
border_row_s2 (float *row, const float *in, int pw, int in_w, int len)
{
  const __m512i even = _mm512_set_epi32 (30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32 (31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);

  for (int k = 0; k < len; k += 16)
    {
      const int b = 2 * k - pw;
      const __m512 v0 = load_inside (in, b, in_w), v1 = load_inside (in, b + 16, in_w);
      const __mmask16 n = (__mmask16) ((1u << (len - k < 16 ? len - k : 16)) - 1);

      _mm512_mask_storeu_ps (row + k, n, _mm512_permutex2var_ps (v0, even, v1));
      _mm512_mask_storeu_ps (row + len + k, n, _mm512_permutex2var_ps (v0, odd, v1));
    }
}
#endif

/* Rows [r0, r1) of the image with its zero border, phase by phase, at their
 * place in the bordered planes xb: entry k of phase q of row r is
 * x[r - ph][k * sw + q - pw], or 0 outside the image. */
static void
add_border_rows (const direct_job *j, const float *x, float *xb, int r0, int r1)
{
  const sl_conv_desc *d = j->pass.d;
  const size_t plane = (size_t) j->rows * j->row_len;
  int k0[2], k1[2];

  for (int q = 0; q < d->sw; q++)
    phase_window (d, q, j->phase_len, &k0[q], &k1[q]);
  for (int c = 0; c < d->in_c; c++)
    {
      const float *src = x + (size_t) c * d->in_h * d->in_w;
      float *row = xb + c * plane + (size_t) r0 * j->row_len;

      for (int r = r0; r < r1; r++, row += j->row_len)
        {
          const int iy = r - d->ph;

          if (iy < 0 || iy >= d->in_h)
            {
              memset (row, 0, sizeof (float) * j->row_len);
              continue;
            }
          const float *in = src + (size_t) iy * d->in_w;
#if defined(__AVX512F__)
          if (d->sw == 1)
            {
              border_row_s1 (row, in - d->pw, k0[0], k1[0], j->phase_len);
              continue;
            }
          if (d->sw == 2)
            {
              border_row_s2 (row, in, d->pw, d->in_w, j->phase_len);
              continue;
            }
#endif
          for (int q = 0; q < d->sw; q++)
            {
              float *phase = row + (size_t) q * j->phase_len;
              const float *from = in + q - d->pw;

              memset (phase, 0, sizeof (float) * k0[q]);
              if (d->sw == 1)
                memcpy (phase + k0[q], from + k0[q], sizeof (float) * (k1[q] - k0[q]));
              else
                for (int k = k0[q]; k < k1[q]; k++)
                  phase[k] = from[2 * k];
              memset (phase + k1[q], 0, sizeof (float) * (j->phase_len - k1[q]));
            }
        }
    }
}

static void
add_border (const direct_job *j, const float *x, float *xb)
{
  add_border_rows (j, x, xb, 0, j->rows);
}

/* One tile: 4 filters x V segments (LANES neighbouring pixels of an output row
 * each), V a constant so that the accumulators live in registers. Segment v
 * reads the bordered image from xb + in[v] and writes y + out[v] in filter 0's
 * plane, `valid[v]` pixels of it (the last one of a row may be short). */
static inline __attribute__ ((always_inline)) void
tile (const direct_job *j, const float *xb, const size_t *in, const size_t *out, const int *valid,
      const float *wp, const float *bias, float *y, int V)
{
  const sl_conv_desc *d = j->pass.d;
  const size_t plane = (size_t) j->rows * j->row_len, ohw = (size_t) d->out_h * d->out_w;
  const float *src[MAX_VECTORS];
  sl_cpu_vf acc[BLOCK_FILTERS][MAX_VECTORS];

#pragma GCC unroll 3
  for (int v = 0; v < V; v++)
    src[v] = xb + in[v];
#pragma GCC unroll 4
  for (int f = 0; f < BLOCK_FILTERS; f++)
#pragma GCC unroll 3
    for (int v = 0; v < V; v++)
      acc[f][v] = (sl_cpu_vf){ 0 } + bias[f];
  for (int c = 0; c < d->in_c; c++)
    {
      for (int t = 0; t < j->taps; t++, wp += BLOCK_FILTERS)
        {
          const int off = j->tap_offset[t];
          sl_cpu_vf x[MAX_VECTORS];

#pragma GCC unroll 3
          for (int v = 0; v < V; v++)
            x[v] = _sl_cpu_vf_load (src[v] + off);
#pragma GCC unroll 4
          for (int f = 0; f < BLOCK_FILTERS; f++)
            {
              const float wf = wp[f];

#pragma GCC unroll 3
              for (int v = 0; v < V; v++)
                acc[f][v] += x[v] * wf;
            }
        }
#pragma GCC unroll 3
      for (int v = 0; v < V; v++)
        src[v] += plane;
    }
#pragma GCC unroll 3
  for (int v = 0; v < V; v++)
    {
      if (valid[v] == LANES)
        {
#pragma GCC unroll 4
          for (int f = 0; f < BLOCK_FILTERS; f++)
            {
              float *o = y + (size_t) f * ohw + out[v];

              _sl_cpu_vf_store (o, j->accumulate ? _sl_cpu_vf_load (o) + acc[f][v] : acc[f][v]);
            }
          continue;
        }
      /* The row ends inside the segment: only its pixels are written. */
      for (int f = 0; f < BLOCK_FILTERS; f++)
        {
          float part[LANES];
          float *o = y + (size_t) f * ohw + out[v];

          _sl_cpu_vf_store (part, acc[f][v]);
          for (int p = 0; p < valid[v]; p++)
            o[p] = j->accumulate ? o[p] + part[p] : part[p];
        }
    }
}

/* Segments [s0, s1) of filter block ob for one bordered image: segment k is
 * pixels LANES (k mod S) .. of output row k / S, with S segments to a row. */
static void
block_segments (const direct_job *j, const float *xb, int ob, long s0, long s1, float *yi)
{
  const sl_conv_desc *d = j->pass.d;
  const int per_row = j->segments_per_row;
  const float *wp = j->wpack + (size_t) ob * BLOCK_FILTERS * d->in_c * j->taps;
  const float *bias = j->wpack + (size_t) d->out_c * d->in_c * j->taps + ob * BLOCK_FILTERS;
  float *yb = yi + (size_t) ob * BLOCK_FILTERS * d->out_h * d->out_w;

  for (long k = s0; k < s1; k += MAX_VECTORS)
    {
      const int V = s1 - k < MAX_VECTORS ? (int) (s1 - k) : MAX_VECTORS;
      size_t in[MAX_VECTORS], out[MAX_VECTORS];
      int valid[MAX_VECTORS];

      for (int v = 0; v < V; v++)
        {
          const long row = (k + v) / per_row;
          const int ox = (int) ((k + v) % per_row) * LANES;

          in[v] = (size_t) row * d->sh * j->row_len + ox;
          out[v] = (size_t) row * d->out_w + ox;
          valid[v] = d->out_w - ox < LANES ? d->out_w - ox : LANES;
        }
      if (V == 3)
        tile (j, xb, in, out, valid, wp, bias, yb, 3);
      else if (V == 2)
        tile (j, xb, in, out, valid, wp, bias, yb, 2);
      else
        tile (j, xb, in, out, valid, wp, bias, yb, 1);
    }
}

/* Output rows [oy0, oy1) of a bordered image, every filter block. */
static void
direct_rows (const sl_cpu_direct_pass *pass, const float *xb, int oy0, int oy1, float *yi)
{
  const direct_job *j = (const direct_job *) pass;

  for (int ob = 0; ob < pass->d->out_c / BLOCK_FILTERS; ob++)
    block_segments (j, xb, ob, (long) oy0 * j->segments_per_row, (long) oy1 * j->segments_per_row,
                    yi);
}

/* The job's geometry: bordered rows, segments and where each tap starts. */
static void
job_init (direct_job *j, const sl_conv_desc *d, const float *pack)
{
  j->pass.d = d;
  j->pass.rows = direct_rows;
  j->wpack = pack;
  bordered_shape (d, &j->rows, &j->phase_len);
  j->row_len = j->phase_len * d->sw;
  j->taps = d->kh * d->kw;
  j->segments_per_row = (d->out_w + LANES - 1) / LANES;
  j->segments = (long) j->segments_per_row * d->out_h;
  for (int ki = 0; ki < d->kh; ki++)
    for (int kj = 0; kj < d->kw; kj++)
      j->tap_offset[ki * d->kw + kj] = ki * j->row_len + (kj % d->sw) * j->phase_len + kj / d->sw;
}

void
_sl_cpu_direct_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                             const float *w, const float *b, const float *pack,
                             const sl_cpu_epilogue *post, float *y, float *ws)
{
  direct_job j = { .pass = { .d = d, .n = n, .x = x, .y = y, .post = post } };

  if (pack == NULL)
    pack_filters (d, w, b, ws);
  job_init (&j, d, pack != NULL ? pack : ws);
  j.pass.pads = ws + packed_floats (d);
  _sl_cpu_direct_conv_run (cpu, &j.pass);
}

/* The pass's epilogue on output rows [oy0, oy1) of image i, every channel. */
static void
finish_rows (const sl_cpu_direct_pass *p, long i, int oy0, int oy1)
{
  const sl_conv_desc *d = p->d;
  const size_t plane = (size_t) d->out_h * d->out_w;

  if (p->post == NULL)
    return;
  for (int c = 0; c < d->out_c; c++)
    _sl_cpu_epilogue_span (p->post, ((size_t) i * d->out_c + c) * plane + (size_t) oy0 * d->out_w,
                           (size_t) (oy1 - oy0) * d->out_w, p->y);
}

/* As many images as threads or more: whole images per thread. */
static void
pass_images (void *ctx, int t, int threads)
{
  const sl_cpu_direct_pass *p = ctx;
  const sl_conv_desc *d = p->d;
  const size_t in_size = (size_t) d->in_c * d->in_h * d->in_w;
  const size_t out_size = (size_t) d->out_c * d->out_h * d->out_w;
  float *room = p->pads + (size_t) t * bordered_floats (d);
  direct_job g = { .pass = { .d = d } };
  long i0, i1;

  job_init (&g, d, NULL);
  _sl_split_range (p->n, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    {
      add_border (&g, p->x + i * in_size, room);
      p->rows (p, room, 0, d->out_h, p->y + i * out_size);
      finish_rows (p, i, 0, d->out_h);
    }
}

/* Fewer images than threads: the output rows of one image split over the
 * pool, each thread bordering just the input rows its rows read, in its own
 * room. Splitting by filter blocks instead had every thread read the whole
 * image that the calling thread had bordered: on a 2-core Xeon that traffic
 * between the cores made a 32 x 32 layer slower on two threads than on one. */
static void
pass_rows (void *ctx, int t, int threads)
{
  const sl_cpu_direct_pass *p = ctx;
  const sl_conv_desc *d = p->d;
  float *room = p->pads + (size_t) t * bordered_floats (d);
  direct_job g = { .pass = { .d = d } };
  long oy0, oy1;

  _sl_split_range (d->out_h, t, threads, &oy0, &oy1);
  if (oy0 >= oy1)
    return;
  job_init (&g, d, NULL);
  add_border_rows (&g, p->x + (size_t) p->image * d->in_c * d->in_h * d->in_w, room,
                   (int) oy0 * d->sh, (int) (oy1 - 1) * d->sh + d->kh);
  p->rows (p, room, (int) oy0, (int) oy1,
           p->y + (size_t) p->image * d->out_c * d->out_h * d->out_w);
  finish_rows (p, p->image, (int) oy0, (int) oy1);
}

void
_sl_cpu_direct_conv_run_here (sl_cpu_direct_pass *pass)
{
  pass_images (pass, 0, 1);
}

void
_sl_cpu_direct_conv_run (sl_cpu *cpu, sl_cpu_direct_pass *pass)
{
  if (pass->n >= cpu->threads)
    {
      _sl_threadpool_run (cpu->pool, pass_images, pass);
      return;
    }
  for (pass->image = 0; pass->image < pass->n; pass->image++)
    _sl_threadpool_run (cpu->pool, pass_rows, pass);
}

size_t
_sl_cpu_direct_conv_packed_floats (const sl_conv_desc *d)
{
  return packed_floats (d);
}

void
_sl_cpu_direct_conv_pack (const sl_conv_desc *d, const float *w, const float *b, float *pack)
{
  pack_filters (d, w, b, pack);
}

size_t
_sl_cpu_direct_conv_image_floats (const sl_conv_desc *d)
{
  return bordered_floats (d);
}

void
_sl_cpu_direct_conv_image (const sl_conv_desc *d, const float *x, const float *pack, float *y,
                           bool accumulate, float *room)
{
  direct_job j
      = { .pass = { .d = d, .n = 1, .x = x, .y = y, .pads = room }, .accumulate = accumulate };

  job_init (&j, d, pack);
  _sl_cpu_direct_conv_run_here (&j.pass);
}

void
_sl_cpu_direct_conv_border_layout (const sl_conv_desc *d, size_t *plane, int *row_len,
                                   int *tap_offset)
{
  direct_job j = { .pass = { .d = d } };

  job_init (&j, d, NULL);
  *plane = (size_t) j.rows * j.row_len;
  *row_len = j.row_len;
  memcpy (tap_offset, j.tap_offset, sizeof (int) * j.taps);
}

/* The weight gradient, directly: dw[f][c][tap] += the sum over the images'
 * output pixels of dy[f][p] times x[c][p's input through tap]. Tiles of F
 * filters x T taps of one channel (8 x 3 with 16 lanes, 4 x 3 with 8: 24 or
 * 12 vector sums in registers) go over a band of output rows: per segment T
 * loads of x and F of dy for F T multiply-adds, no column matrix. dy is first
 * copied with its rows padded to whole segments of zeros, so that the lanes past
 * a row's end add nothing.
 *
 * The sums stay vectors: each tile adds its registers onto one vector per
 * weight (the caller's `sums`), and the lanes are added up once, when every
 * image of the share is done (_sl_cpu_direct_conv_weight_grad_finish). Adding
 * them per image and tile cost a fifth of the kernel's time on 32 x 32 images.
 * Bands keep the tile's rows of dy in the level-1 cache while the channels and
 * taps go by. */

#define DW_FILTERS     (LANES == 16 ? 8 : 4)
#define DW_TAPS        3
#define DW_BAND_FLOATS 6144 /* rows of dy a band holds for one tile: 24 KiB */

/* Floats of dy with rows padded to whole segments. */
static size_t
padded_dy_floats (const sl_conv_desc *d)
{
  return (size_t) d->out_c * d->out_h * round_lanes (d->out_w);
}

size_t
_sl_cpu_direct_conv_grad_image_floats (const sl_conv_desc *d)
{
  return bordered_floats (d) + padded_dy_floats (d);
}

size_t
_sl_cpu_direct_conv_grad_sums_floats (const sl_conv_desc *d)
{
  return (size_t) d->out_c * d->in_c * d->kh * d->kw * LANES;
}

static void
pad_dy (const sl_conv_desc *d, const float *dy, float *out)
{
  const int ow = d->out_w, row = round_lanes (ow);

  for (long r = 0; r < (long) d->out_c * d->out_h; r++, dy += ow, out += row)
    {
      memcpy (out, dy, sizeof (float) * ow);
      memset (out + ow, 0, sizeof (float) * (row - ow));
    }
}

/* Where a grad tile reads and adds: channel c's bordered plane, the filter
 * block's padded dy and its vector sums, output rows [oy0, oy1). */
typedef struct
{
  const float *xc, *dyb;
  float *sums;
  size_t dy_plane, sums_filter; /* floats between filters' dy planes and sums */
  int oy0, oy1;
} grad_span;

/* Taps [t0, t0 + T) of F filters: their vector sums over the span's rows. */
static inline __attribute__ ((always_inline)) void
grad_tile (const direct_job *j, const grad_span *g, int t0, int F, int T)
{
  const sl_conv_desc *d = j->pass.d;
  const int per_row = j->segments_per_row;
  int off[DW_TAPS];
  sl_cpu_vf acc[DW_FILTERS][DW_TAPS];

#pragma GCC unroll 3
  for (int t = 0; t < T; t++)
    off[t] = j->tap_offset[t0 + t];
#pragma GCC unroll 8
  for (int f = 0; f < F; f++)
#pragma GCC unroll 3
    for (int t = 0; t < T; t++)
      acc[f][t] = (sl_cpu_vf){ 0 };
  for (int oy = g->oy0; oy < g->oy1; oy++)
    {
      const float *xrow = g->xc + (size_t) oy * d->sh * j->row_len;
      const float *dyrow = g->dyb + (size_t) oy * per_row * LANES;

      for (int s = 0; s < per_row; s++)
        {
          sl_cpu_vf xv[DW_TAPS];

#pragma GCC unroll 3
          for (int t = 0; t < T; t++)
            xv[t] = _sl_cpu_vf_load (xrow + s * LANES + off[t]);
#pragma GCC unroll 8
          for (int f = 0; f < F; f++)
            {
              sl_cpu_vf dyv = _sl_cpu_vf_load (dyrow + (size_t) f * g->dy_plane + s * LANES);

              /* Once into a register: GCC would otherwise read dy again for every tap. */
              SL_CPU_KEEP_IN_REGISTER (dyv);
#pragma GCC unroll 3
              for (int t = 0; t < T; t++)
                acc[f][t] += dyv * xv[t];
            }
        }
    }
#pragma GCC unroll 8
  for (int f = 0; f < F; f++)
#pragma GCC unroll 3
    for (int t = 0; t < T; t++)
      {
        float *s = g->sums + (size_t) f * g->sums_filter + (size_t) (t0 + t) * LANES;

        _sl_cpu_vf_store (s, _sl_cpu_vf_load (s) + acc[f][t]);
      }
}

/* Every tap of channel c, F filters at a time. */
static inline __attribute__ ((always_inline)) void
grad_channel (const direct_job *j, const grad_span *g, int F)
{
  int t0 = 0;

  for (; t0 + DW_TAPS <= j->taps; t0 += DW_TAPS)
    grad_tile (j, g, t0, F, DW_TAPS);
  if (j->taps - t0 == 2)
    grad_tile (j, g, t0, F, 2);
  else if (j->taps - t0 == 1)
    grad_tile (j, g, t0, F, 1);
}

void
_sl_cpu_direct_conv_weight_grad_image (const sl_conv_desc *d, const float *x, const float *dy,
                                       float *sums, float *room)
{
  direct_job j = { .pass = { .d = d, .n = 1, .x = x } };
  /* Rows of whole segments are already padded. */
  const float *dys = d->out_w % LANES == 0 ? dy : room + bordered_floats (d);
  const size_t dy_plane = (size_t) d->out_h * round_lanes (d->out_w);
  const size_t sums_filter = (size_t) d->in_c * d->kh * d->kw * LANES;
  const int wide_blocks = d->out_c / DW_FILTERS;
  int band = DW_BAND_FLOATS / (DW_FILTERS * round_lanes (d->out_w));

  job_init (&j, d, NULL);
  add_border (&j, x, room);
  if (dys != dy)
    pad_dy (d, dy, room + bordered_floats (d));
  band = band < 1 ? 1 : band;
  for (int oy0 = 0; oy0 < d->out_h; oy0 += band)
    for (int f0 = 0; f0 < d->out_c;)
      {
        /* Blocks of DW_FILTERS, then of 4 for the filters left over. */
        const int F = f0 < wide_blocks * DW_FILTERS ? DW_FILTERS : BLOCK_FILTERS;

        for (int c = 0; c < d->in_c; c++)
          {
            const grad_span g = {
              .xc = room + (size_t) c * j.rows * j.row_len,
              .dyb = dys + (size_t) f0 * dy_plane,
              .sums = sums + (size_t) f0 * sums_filter + (size_t) c * j.taps * LANES,
              .dy_plane = dy_plane,
              .sums_filter = sums_filter,
              .oy0 = oy0,
              .oy1 = oy0 + band < d->out_h ? oy0 + band : d->out_h,
            };

            if (F == DW_FILTERS)
              grad_channel (&j, &g, DW_FILTERS);
            else
              grad_channel (&j, &g, BLOCK_FILTERS);
          }
        f0 += F;
      }
}

/* The lanes' sum, halving the vector: the same order on every call. */
static inline float
lane_sum (const float *v)
{
  float h[LANES];

  memcpy (h, v, sizeof h);
#pragma GCC unroll 4
  for (int half = LANES / 2; half > 0; half /= 2)
#pragma GCC unroll 8
    for (int i = 0; i < half; i++)
      h[i] += h[i + half];
  return h[0];
}

void
_sl_cpu_direct_conv_weight_grad_finish (const sl_conv_desc *d, const float *sums, float *dw)
{
  const size_t weights = (size_t) d->out_c * d->in_c * d->kh * d->kw;

  for (size_t k = 0; k < weights; k++)
    dw[k] += lane_sum (sums + k * LANES);
}
