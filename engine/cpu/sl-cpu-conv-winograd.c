/* sl-cpu-conv-winograd.c: 3 x 3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3)
 * (AVX-512 builds): 16 multiply-adds a channel for each 2 x 2 block of outputs instead of 36, in
 * the forward pass and the input gradient (the flipped convolution), and its derivative for the
 * weight gradient (below). */

/* How: each 2 x 2 output block (a tile) reads a 4 x 4 patch d of the
 * bordered input; with the filter g turned once into U = G g G^T and the
 * patch into V = B^T d B (adds and subtractions only), the outputs are
 * A^T M A with M = sum over channels of U . V element by element: for each of
 * the 16 elements xi, a product of [out_c x in_c] by [in_c x tiles]. Tiles
 * lie in the vector lanes throughout, numbered along the rows of a band of
 * tile rows: 16 neighbouring tiles of a row are transformed at once, the
 * products keep 8 filters x 48 tiles in registers (per channel three vector
 * loads of V and eight broadcasts of U; 16 filters where a group has only 16
 * tiles), and the outputs of 16 tiles come out as two output rows of 32
 * pixels each, stored with masks where the tiles of a vector span tile rows.
 * A band's V stays in the level-2 cache while every group of 16 filters
 * reads it, and a group's U while it goes over the band's tiles.
 *
 * Rounding differs from the direct kernels (each output is a sum of 16
 * transformed products a channel, not of 9 products), by a few float
 * epsilons of the sizes involved; each output is computed the same way
 * whatever its band, thread count or batch. */
#include "sl-cpu-vector-private.h"

#include <string.h>

#define LANES   SL_CPU_VECTOR_LANES
#define FILTERS 8  /* of a group of products of 2 or 3 vectors of tiles, 16 of one */
#define VECTORS 3  /* of tiles: 24 accumulators, 3 loads and a broadcast */
#define MAX_F   16 /* filters of a group */
#define TILES   (VECTORS * LANES)
#define XI      16 /* elements of a transformed patch */
/* Floats of V a band may hold: about 512 kB, with its bordered rows. */
#define BAND_FLOATS (128 * 1024)

/* AVX-512 builds, 3 x 3, stride 1, no dilation, ungrouped, filters in
 * multiples of 32, at least 16 input channels, outputs at least 8 x 8 and,
 * under 64 channels, 32 wide.
 * bench/bench-conv, batch 32, one thread, GFLOP/s of the direct computation
 * (filter-vectorised kernel -> this one): small-bn 16 -> 32 at 64 x 64 168 ->
 * 195, 32 -> 64 at 32 x 32 186 -> 281, 64 -> 128 at 16 x 16 182 -> 295, at
 * 28 x 28 184 -> 289, 128 -> 256 at 8 x 8 201 -> 234; resnet-s 64 -> 64 at
 * 8 x 8 188 -> 230, 32 -> 32 at 32 x 32 189 -> 222. Left to the other kernels:
 * under 64 channels on images under 32 wide (resnet-s's 32 -> 32 at 16 x 16:
 * 185 against 176; 32 -> 64 at 14 x 14 even), 7 x 7 outputs (even), 3 x 3
 * ones (28 against 89 by GEMM: one tile of 16 lanes), resnet-s's 16 -> 16
 * (the pixel-vectorised kernel: 170 against 150 at 64 x 64), fewer input
 * channels (the transforms cost more than the products save). */
bool
_sl_cpu_winograd_conv_applies (const sl_conv_desc *d)
{
  return LANES == 16 && d->groups == 1 && d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1
         && d->dh == 1 && d->dw == 1 && d->out_c % 32 == 0 && d->in_c >= 16 && d->out_h >= 8
         && d->out_w >= 8 && (d->out_w >= 32 || d->in_c >= 64);
}

/* Whether a pass of n images pays for transforming the filters (16 in_c
 * out_c floats written, and read for every tile group): at least 64 tiles
 * in all. bench/bench-conv, one image, one thread, ms (filter-vectorised
 * kernel -> this one): small-bn 128 -> 256 at 8 x 8 (16 tiles) 0.24 -> 0.37,
 * at 14 x 14 (49) 0.58 -> 0.64, 64 -> 128 at 16 x 16 (64) 0.195 -> 0.138;
 * four images at 8 x 8 0.87 -> 0.69. */
bool
_sl_cpu_winograd_conv_pays (const sl_conv_desc *d, int n)
{
  return _sl_cpu_winograd_conv_applies (d)
         && (long) n * ((d->out_h + 1) / 2) * ((d->out_w + 1) / 2) >= 64;
}

#if LANES == 16
#include <immintrin.h>

typedef struct
{
  int th, tw;      /* tiles down and across */
  int band;        /* tile rows of a band */
  int wb;          /* floats of a bordered row */
  size_t v_stride; /* floats from one channel's tiles in V to the next's */
  size_t xi_step;  /* and from one element's to the next's */
  size_t e_step;   /* the weight gradient: from one element's dy tiles to the next's */
  size_t xb, v, m; /* floats of a thread's bordered band, V and M (or the dy tiles) */
} layout;

static int
round_up (int v, int step)
{
  return (v + step - 1) / step * step;
}

static size_t
round_floats (size_t f)
{
  return (f + 15) & ~(size_t) 15;
}

static void
size_band (const sl_conv_desc *d, layout *l, int band, bool grad)
{
  l->band = band;
  l->v_stride = round_floats ((size_t) band * l->tw);
  /* A cache line over a multiple of 4 kB: the 16 elements' rows, written
   * together, would otherwise fall in one set of the level-1 cache. */
  l->xi_step = (size_t) d->in_c * l->v_stride + LANES;
  l->e_step = grad ? (size_t) d->out_c * l->v_stride + LANES : 0;
  l->xb = round_floats ((size_t) d->in_c * (2 * band + 2) * l->wb);
  /* The last vectors of products may read past the band's tiles. */
  l->v = (size_t) XI * l->xi_step + TILES;
  l->m = grad ? (size_t) XI * l->e_step : (size_t) XI * MAX_F * TILES;
}

/* The layout of the forward pass, or (grad) of the weight gradient, whose
 * bands hold dy's transformed tiles beside V. */
static layout
layout_for (const sl_conv_desc *d, bool grad)
{
  const size_t channels = (size_t) d->in_c + (grad ? (size_t) d->out_c : 0);
  layout l;
  size_t band;

  l.th = (d->out_h + 1) / 2;
  l.tw = (d->out_w + 1) / 2;
  /* Loads of 34 floats from every 16th tile's first column. */
  l.wb = 2 * round_up (l.tw, LANES) + 2;
  band = BAND_FLOATS / (XI * channels * l.tw + 2 * (size_t) d->in_c * l.wb);
  size_band (d, &l, band < 1 ? 1 : band > (size_t) l.th ? l.th : (int) band, grad);
  return l;
}

static layout
layout_of (const sl_conv_desc *d)
{
  return layout_for (d, false);
}

/* Transformed filters [out_c / 8][xi][in_c][8] (a block's filters for one
 * element, read channel after channel, lie together), then the bias. */
static size_t
u_floats (const sl_conv_desc *d)
{
  return round_floats ((size_t) XI * d->in_c * d->out_c + d->out_c);
}

static size_t
thread_floats (const layout *l)
{
  return round_floats (l->xb + l->v + l->m);
}

size_t
_sl_cpu_winograd_conv_packed_floats (const sl_conv_desc *d)
{
  return u_floats (d);
}

size_t
_sl_cpu_winograd_conv_image_floats (const sl_conv_desc *d)
{
  const layout l = layout_of (d);

  return thread_floats (&l);
}

size_t
_sl_cpu_winograd_conv_workspace_floats (const sl_conv_desc *d, int threads)
{
  return u_floats (d) + (size_t) threads * _sl_cpu_winograd_conv_image_floats (d);
}

typedef float v8 __attribute__ ((vector_size (FILTERS * sizeof (float))));

/* U = G g G^T, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], for a block's 8
 * filters at once: each (block, channel) writes its 16 rows of 8 whole. */
void
_sl_cpu_winograd_conv_pack (const sl_conv_desc *d, const float *w, const float *b, float *u)
{
  const size_t per_filter = (size_t) d->in_c * 9;

  for (int fb = 0; fb < d->out_c / FILTERS; fb++)
    for (int c = 0; c < d->in_c; c++)
      {
        const float *g = w + (size_t) fb * FILTERS * per_filter + (size_t) c * 9;
        float *out = u + ((size_t) fb * XI * d->in_c + c) * FILTERS;
        v8 k[9], gg[4][3];

        for (int t = 0; t < 9; t++)
          for (int f = 0; f < FILTERS; f++)
            k[t][f] = g[f * per_filter + t];
        for (int col = 0; col < 3; col++)
          {
            gg[0][col] = k[col];
            gg[1][col] = 0.5f * (k[col] + k[3 + col] + k[6 + col]);
            gg[2][col] = 0.5f * (k[col] - k[3 + col] + k[6 + col]);
            gg[3][col] = k[6 + col];
          }
        for (int r = 0; r < 4; r++)
          {
            const v8 row[4] = { gg[r][0], 0.5f * (gg[r][0] + gg[r][1] + gg[r][2]),
                                0.5f * (gg[r][0] - gg[r][1] + gg[r][2]), gg[r][2] };

            for (int q = 0; q < 4; q++)
              memcpy (out + (size_t) (4 * r + q) * d->in_c * FILTERS, &row[q], sizeof (v8));
          }
      }
  for (int f = 0; f < d->out_c; f++)
    u[(size_t) XI * d->in_c * d->out_c + f] = b != NULL ? b[f] : 0.0f;
}

typedef struct
{
  const sl_conv_desc *d;
  int n;
  const float *x, *u;
  float *y, *scratch;
  bool accumulate;
  layout l;
  int bands; /* of tile rows, per image */
} winograd_job;

/* Input rows of tile rows [ty0, ty0 + rows) with their zero border: row r
 * of channel c holds input row 2 ty0 + r - ph from column -pw on. */
static void
border_band (const winograd_job *j, const float *x, int ty0, int rows, float *xb)
{
  const sl_conv_desc *d = j->d;
  const int wb = j->l.wb, height = 2 * j->l.band + 2;

  for (int c = 0; c < d->in_c; c++)
    for (int r = 0; r < 2 * rows + 2; r++)
      {
        const int iy = 2 * ty0 + r - d->ph;
        float *row = xb + ((size_t) c * height + r) * wb;

        if (iy < 0 || iy >= d->in_h)
          {
            memset (row, 0, sizeof (float) * wb);
            continue;
          }
        memset (row, 0, sizeof (float) * d->pw);
        memcpy (row + d->pw, x + ((size_t) c * d->in_h + iy) * d->in_w, sizeof (float) * d->in_w);
        memset (row + d->pw + d->in_w, 0, sizeof (float) * (wb - d->pw - d->in_w));
      }
}

/* The 16 tiles of a row from tile tx on that exist (a row of tw). */
static inline __mmask16
row_tiles (int tw, int tx)
{
  return tw - tx >= LANES ? 0xffff : (__mmask16) ((1u << (tw - tx)) - 1);
}

/* 32 floats of a row (a0, a1) as their even and odd columns: column k of
 * the 16 tiles from a row's first two. */
static inline void
split_columns (__m512 a0, __m512 a1, __m512 *even_cols, __m512 *odd_cols)
{
  const __m512i even = _mm512_set_epi32 (30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32 (31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);

  *even_cols = _mm512_permutex2var_ps (a0, even, a1);
  *odd_cols = _mm512_permutex2var_ps (a0, odd, a1);
}

/* V = B^T d B for the tiles of a band, 16 tiles of a row at once:
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. v is [xi][in_c][tiles]. */
static void
transform_patches (const winograd_job *j, const float *xb, int rows, float *v)
{
  const sl_conv_desc *d = j->d;
  const int wb = j->l.wb, tw = j->l.tw, height = 2 * j->l.band + 2;
  const size_t xi_step = j->l.xi_step;

  for (int c = 0; c < d->in_c; c++)
    for (int ty = 0; ty < rows; ty++)
      for (int tx = 0; tx < tw; tx += LANES)
        {
          const __mmask16 keep = row_tiles (tw, tx);
          float *out = v + (size_t) c * j->l.v_stride + (size_t) ty * tw + tx;
          __m512 t[4][4];

          for (int i = 0; i < 4; i++)
            {
              const float *row = xb + ((size_t) c * height + 2 * ty + i) * wb + 2 * tx;
              const __m512 a0 = _mm512_loadu_ps (row), a1 = _mm512_loadu_ps (row + 16);
              const __m512 b0 = _mm512_loadu_ps (row + 2), b1 = _mm512_loadu_ps (row + 18);
              __m512 d0, d1, d2, d3;

              split_columns (a0, a1, &d0, &d1);
              split_columns (b0, b1, &d2, &d3);

              t[i][0] = _mm512_sub_ps (d0, d2);
              t[i][1] = _mm512_add_ps (d1, d2);
              t[i][2] = _mm512_sub_ps (d2, d1);
              t[i][3] = _mm512_sub_ps (d1, d3);
            }
          for (int k = 0; k < 4; k++)
            {
              _mm512_mask_storeu_ps (out + (size_t) (0 + k) * xi_step, keep,
                                     _mm512_sub_ps (t[0][k], t[2][k]));
              _mm512_mask_storeu_ps (out + (size_t) (4 + k) * xi_step, keep,
                                     _mm512_add_ps (t[1][k], t[2][k]));
              _mm512_mask_storeu_ps (out + (size_t) (8 + k) * xi_step, keep,
                                     _mm512_sub_ps (t[2][k], t[1][k]));
              _mm512_mask_storeu_ps (out + (size_t) (12 + k) * xi_step, keep,
                                     _mm512_sub_ps (t[1][k], t[3][k]));
            }
        }
}

/* The products of both passes, sums of outer products of scalars (one per
 * filter) and vectors: out[f][k] (+)= sum over `count` steps of s[f] x[k],
 * for F filters and W vectors (constants, so that the accumulators live in
 * registers). Step by step x moves by x_step floats and s by s_step; filter
 * f's scalar is at s + (f / 8) s_block + (f % 8) s_f; out rows are out_f
 * floats apart. */
typedef struct
{
  size_t x_step, s_step, s_block, s_f, out_f;
  bool add; /* onto out, else overwriting it */
} outer_shape;

static inline __attribute__ ((always_inline)) void
outer (const float *x, const float *s, int count, float *out, const outer_shape *o, int F, int W)
{
  sl_cpu_vf acc[MAX_F][VECTORS];

#pragma GCC unroll 16
  for (int f = 0; f < F; f++)
#pragma GCC unroll 3
    for (int k = 0; k < W; k++)
      acc[f][k] = (sl_cpu_vf){ 0 };
  for (int i = 0; i < count; i++, x += o->x_step, s += o->s_step)
    {
      sl_cpu_vf xv[VECTORS];

#pragma GCC unroll 3
      for (int k = 0; k < W; k++)
        xv[k] = _sl_cpu_vf_load (x + k * LANES);
#pragma GCC unroll 16
      for (int f = 0; f < F; f++)
        {
          const float sf = s[(f / FILTERS) * o->s_block + (f % FILTERS) * o->s_f];

#pragma GCC unroll 3
          for (int k = 0; k < W; k++)
            acc[f][k] += xv[k] * sf;
        }
    }
#pragma GCC unroll 16
  for (int f = 0; f < F; f++)
#pragma GCC unroll 3
    for (int k = 0; k < W; k++)
      {
        float *of = out + f * o->out_f + k * LANES;

        _sl_cpu_vf_store (of, o->add ? _sl_cpu_vf_load (of) + acc[f][k] : acc[f][k]);
      }
}

/* The filters a group of W vectors takes at once: 16 accumulators at least,
 * so that the multiply-adds' latency is hidden. */
static int
filters_for (int W)
{
  return W == 1 ? MAX_F : FILTERS;
}

static void
any_outer (const float *x, const float *s, int count, float *out, const outer_shape *o, int W)
{
  if (W == 3)
    outer (x, s, count, out, o, FILTERS, 3);
  else if (W == 2)
    outer (x, s, count, out, o, FILTERS, 2);
  else
    outer (x, s, count, out, o, MAX_F, 1);
}

/* Writes pixels [p0, p1) of the 32 (two vectors) into the output row at
 * `row` + `col` - p0 (pixel p to column col + p - p0), added on when
 * accumulating. */
static inline void
store_pixels (float *row, int col, int p0, int p1, __m512 lo, __m512 hi, bool accumulate)
{
  const uint32_t bits = (uint32_t) (((1ull << p1) - 1) & ~((1ull << p0) - 1));
  const __mmask16 m_lo = (__mmask16) bits, m_hi = (__mmask16) (bits >> 16);
  /* Lane p0 at column col: the address may lie before the row, where only
   * masked-off lanes would go (computed as an integer, not as a pointer
   * outside the array). */
  float *base = (float *) ((uintptr_t) row + ((intptr_t) col - p0) * (intptr_t) sizeof (float));

  if (accumulate)
    {
      lo = _mm512_add_ps (lo, _mm512_maskz_loadu_ps (m_lo, base));
      hi = _mm512_add_ps (hi, _mm512_maskz_loadu_ps (m_hi, base + 16));
    }
  _mm512_mask_storeu_ps (base, m_lo, lo);
  _mm512_mask_storeu_ps (base + 16, m_hi, hi);
}

/* Y = A^T M A + bias, A^T = [1 1 1 0; 0 1 -1 -1], for filters [f0, f0 + F)
 * and band tiles [t0, t0 + count), written into the image's output planes. */
static void
finish_tiles (const winograd_job *j, const float *m, int f0, int F, int ty0, int t0, int count,
              float *yi)
{
  const sl_conv_desc *d = j->d;
  const size_t ohw = (size_t) d->out_h * d->out_w, m_step = (size_t) MAX_F * TILES;
  const float *bias = j->u + (size_t) XI * d->in_c * d->out_c + f0;
  const int tw = j->l.tw;
  const __m512i lo_idx = _mm512_set_epi32 (23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi_idx
      = _mm512_set_epi32 (31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);

  for (int f = 0; f < F; f++)
    for (int k = 0; k * LANES < count; k++)
      {
        const float *mf = m + f * TILES + k * LANES;
        const __m512 b = _mm512_set1_ps (bias[f]);
        __m512 s[2][4], y[2][2];

        for (int q = 0; q < 4; q++)
          {
            const __m512 m0 = _mm512_loadu_ps (mf + (0 + q) * m_step);
            const __m512 m1 = _mm512_loadu_ps (mf + (4 + q) * m_step);
            const __m512 m2 = _mm512_loadu_ps (mf + (8 + q) * m_step);
            const __m512 m3 = _mm512_loadu_ps (mf + (12 + q) * m_step);

            s[0][q] = _mm512_add_ps (_mm512_add_ps (m0, m1), m2);
            s[1][q] = _mm512_sub_ps (_mm512_sub_ps (m1, m2), m3);
          }
        for (int i = 0; i < 2; i++)
          {
            y[i][0] = _mm512_add_ps (_mm512_add_ps (_mm512_add_ps (s[i][0], s[i][1]), s[i][2]), b);
            y[i][1] = _mm512_add_ps (_mm512_sub_ps (_mm512_sub_ps (s[i][1], s[i][2]), s[i][3]), b);
          }

        /* Tiles a .. b of the vector by tile row: pixels 2a .. 2b of the
         * two rows of 32 that interleaving the columns gives. */
        float *yf = yi + (size_t) (f0 + f) * ohw;
        const int first = t0 + k * LANES,
                  last = first + (count - k * LANES < LANES ? count - k * LANES : LANES);

        for (int t = first; t < last;)
          {
            const int ty = ty0 + t / tw, tx = t % tw;
            const int end = last < (t / tw + 1) * tw ? last : (t / tw + 1) * tw;
            const int p0 = 2 * (t - first);
            int p1 = 2 * (end - first);

            if (end % tw == 0 && d->out_w % 2 == 1 && end - (t / tw) * tw == tw)
              p1--; /* the row's last tile has one column */
            for (int i = 0; i < 2 && 2 * ty + i < d->out_h; i++)
              store_pixels (yf + (size_t) (2 * ty + i) * d->out_w, 2 * tx, p0, p1,
                            _mm512_permutex2var_ps (y[i][0], lo_idx, y[i][1]),
                            _mm512_permutex2var_ps (y[i][0], hi_idx, y[i][1]), j->accumulate);
            t = end;
          }
      }
}

/* One band of one image. */
static void
band_pass (const winograd_job *j, long item, float *scratch)
{
  const sl_conv_desc *d = j->d;
  const long image = item / j->bands;
  const int ty0 = (int) (item % j->bands) * j->l.band;
  const int rows = j->l.th - ty0 < j->l.band ? j->l.th - ty0 : j->l.band, tiles = rows * j->l.tw;
  const size_t xi_step = j->l.xi_step;
  const int groups = (tiles + TILES - 1) / TILES;
  const int per_group = ((tiles + groups - 1) / groups + LANES - 1) / LANES * LANES;
  /* Per channel: V's tiles, the group's transformed filters. */
  const outer_shape shape = { .x_step = j->l.v_stride,
                              .s_step = FILTERS,
                              .s_block = (size_t) XI * d->in_c * FILTERS,
                              .s_f = 1,
                              .out_f = TILES };
  float *xb = scratch, *v = xb + j->l.xb, *m = v + j->l.v;
  float *yi = j->y + (size_t) image * d->out_c * d->out_h * d->out_w;

  border_band (j, j->x + (size_t) image * d->in_c * d->in_h * d->in_w, ty0, rows, xb);
  transform_patches (j, xb, rows, v);
  /* 16 filters at a time, their transformed weights kept in the cache over
   * the band; groups of tiles as even as vectors allow (64 tiles: 32 + 32,
   * not 48 + 16). */
  for (int f16 = 0; f16 < d->out_c; f16 += MAX_F)
    for (int t0 = 0; t0 < tiles; t0 += per_group)
      {
        const int count = tiles - t0 < per_group ? tiles - t0 : per_group;
        const int V = (count + LANES - 1) / LANES, F = filters_for (V);

        for (int f0 = f16; f0 < f16 + MAX_F; f0 += F)
          {
            const float *ub = j->u + (size_t) f0 * XI * d->in_c;

            for (int xi = 0; xi < XI; xi++)
              any_outer (v + xi * xi_step + t0, ub + (size_t) xi * d->in_c * FILTERS, d->in_c,
                         m + (size_t) xi * MAX_F * TILES, &shape, V);
            finish_tiles (j, m, f0, F, ty0, t0, count, yi);
          }
      }
}

static void
winograd_share (void *ctx, int t, int threads)
{
  const winograd_job *j = ctx;
  float *scratch = j->scratch + (size_t) t * thread_floats (&j->l);
  long i0, i1;

  _sl_split_range ((long) j->n * j->bands, t, threads, &i0, &i1);
  for (long item = i0; item < i1; item++)
    band_pass (j, item, scratch);
}

void
_sl_cpu_winograd_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                               const float *w, const float *b, float *y, bool accumulate, float *ws)
{
  winograd_job j = { .d = d, .n = n, .x = x, .y = y, .accumulate = accumulate, .l = layout_of (d) };

  _sl_cpu_winograd_conv_pack (d, w, b, ws);
  j.u = ws;
  j.scratch = ws + u_floats (d);
  /* Fewer images than threads: bands small enough for every thread (a
   * smaller band needs less of each thread's scratch). */
  if (n < cpu->threads)
    {
      const int per = (j.l.th * n + cpu->threads - 1) / cpu->threads;

      if (per < j.l.band)
        size_band (d, &j.l, per, false);
    }
  j.bands = (j.l.th + j.l.band - 1) / j.l.band;
  if (cpu->threads == 1 || (long) n * j.bands == 1)
    winograd_share (&j, 0, 1);
  else
    _sl_threadpool_run (cpu->pool, winograd_share, &j);
}

void
_sl_cpu_winograd_conv_image (const sl_conv_desc *d, const float *x, const float *pack, float *y,
                             bool accumulate, float *room)
{
  winograd_job j = { .d = d,
                     .n = 1,
                     .x = x,
                     .u = pack,
                     .y = y,
                     .scratch = room,
                     .accumulate = accumulate,
                     .l = layout_of (d) };

  j.bands = (j.l.th + j.l.band - 1) / j.l.band;
  winograd_share (&j, 0, 1);
}
/* The weight gradient, dW = G^T [sum over tiles of (A e A^T) . V] G per
 * filter and channel, e a filter's 2 x 2 tile of dy and V = B^T d B the
 * input patch's transform as in the forward pass (the derivative of the
 * forward formula with respect to g). M, the sums, is for each element xi a
 * product [filters x tiles] by [tiles x channels], vectorised over channels:
 * a band's V is turned to [xi][tile][channel] by 16 x 16 transposes, and 8
 * filters x 48 channels (16 x 16 under 32 channels) stay in registers along
 * the band's tiles, each tile a broadcast of dy's transform per filter and a
 * load per 16 channels; M, as vectors, takes them at the band's end. */

/* dy's transformed tiles of a band, 16 tiles of a row at once:
 * A = [1 0; 1 1; 1 -1; 0 -1]; e is [xi][out_c][tiles]. Rows and columns past
 * the output are zeros. */
static void
transform_dy (const winograd_job *j, const float *dy, int ty0, int rows, float *e)
{
  const sl_conv_desc *d = j->d;
  const int tw = j->l.tw;
  const size_t ohw = (size_t) d->out_h * d->out_w;

  for (int f = 0; f < d->out_c; f++)
    for (int ty = 0; ty < rows; ty++)
      for (int tx = 0; tx < tw; tx += LANES)
        {
          const __mmask16 keep = row_tiles (tw, tx);
          const int cols = d->out_w - 2 * tx < 32 ? d->out_w - 2 * tx : 32;
          const uint32_t bits = (uint32_t) ((1ull << cols) - 1);
          float *out = e + (size_t) f * j->l.v_stride + (size_t) ty * tw + tx;
          __m512 c[2][2], r[4][2];

          for (int i = 0; i < 2; i++)
            {
              const int oy = 2 * (ty0 + ty) + i;
              __m512 a0 = _mm512_setzero_ps (), a1 = _mm512_setzero_ps ();

              if (oy < d->out_h)
                {
                  const float *row = dy + (size_t) f * ohw + (size_t) oy * d->out_w + 2 * tx;

                  a0 = _mm512_maskz_loadu_ps ((__mmask16) bits, row);
                  a1 = _mm512_maskz_loadu_ps ((__mmask16) (bits >> 16), row + 16);
                }
              split_columns (a0, a1, &c[i][0], &c[i][1]);
            }
          for (int k = 0; k < 2; k++)
            {
              r[0][k] = c[0][k];
              r[1][k] = _mm512_add_ps (c[0][k], c[1][k]);
              r[2][k] = _mm512_sub_ps (c[0][k], c[1][k]);
              r[3][k] = _mm512_sub_ps (_mm512_setzero_ps (), c[1][k]);
            }
          for (int q = 0; q < 4; q++)
            {
              const __m512 p = r[q][0], w = r[q][1];

              _mm512_mask_storeu_ps (out + (size_t) (4 * q + 0) * j->l.e_step, keep, p);
              _mm512_mask_storeu_ps (out + (size_t) (4 * q + 1) * j->l.e_step, keep,
                                     _mm512_add_ps (p, w));
              _mm512_mask_storeu_ps (out + (size_t) (4 * q + 2) * j->l.e_step, keep,
                                     _mm512_sub_ps (p, w));
              _mm512_mask_storeu_ps (out + (size_t) (4 * q + 3) * j->l.e_step, keep,
                                     _mm512_sub_ps (_mm512_setzero_ps (), w));
            }
        }
}

/* V [xi][c][tiles] -> vt [xi][tile][channels rounded up to 16], channels
 * past in_c zero. */
static void
transpose_patches (const winograd_job *j, const float *v, int tiles, float *vt)
{
  const sl_conv_desc *d = j->d;
  const int cpad = round_up (d->in_c, LANES);

  for (int xi = 0; xi < XI; xi++)
    for (int c0 = 0; c0 < d->in_c; c0 += LANES)
      for (int t0 = 0; t0 < tiles; t0 += LANES)
        {
          sl_cpu_vf r[16];

          for (int i = 0; i < 16; i++)
            r[i] = c0 + i < d->in_c
                       ? _sl_cpu_vf_load (v + xi * j->l.xi_step + (c0 + i) * j->l.v_stride + t0)
                       : (sl_cpu_vf){ 0 };
          _sl_cpu_transpose16 (r);
          for (int i = 0; i < 16 && t0 + i < tiles; i++)
            _sl_cpu_vf_store (vt + ((size_t) xi * j->l.v_stride + t0 + i) * cpad + c0, r[i]);
        }
}

/* 3 x 3, stride 1, ungrouped, undilated, filters in multiples of 16, at
 * least 8 channels (the lanes are channels), 32 filters or channels,
 * images of at least 64 tiles, and sums up to 1 MiB (16 out_c in_c floats
 * a thread, channels rounded up to 16, added onto by every image).
 * bench/bench-conv, batch 32, 2 threads, backward ms (before: the direct
 * kernel or GEMM): small-bn 16 -> 32 at 64 x 64 6.99 -> 6.48, 32 -> 64 at
 * 32 x 32 7.09 -> 5.12, 64 -> 128 at 16 x 16 5.91 -> 4.87, at 28 x 28 17.2
 * -> 12.9; resnet-s 32 -> 32 at 32 x 32 3.48 -> 2.91, at 16 x 16 1.13 ->
 * 0.91, 64 -> 64 at 16 x 16 3.45 -> 2.57. resnet-s's 16 -> 16 stays with the
 * direct kernel (3.64 against 4.46 at 64 x 64: one vector of channels, 16
 * broadcasts a load). */
bool
_sl_cpu_winograd_conv_grad_applies (const sl_conv_desc *d)
{
  return LANES == 16 && d->groups == 1 && d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1
         && d->dh == 1 && d->dw == 1 && d->out_c % MAX_F == 0 && d->in_c >= 8
         && (d->in_c >= 32 || d->out_c >= 32)
         && (long) ((d->out_h + 1) / 2) * ((d->out_w + 1) / 2) >= 64
         && _sl_cpu_winograd_conv_grad_sums_floats (d) * sizeof (float) <= (1 << 20);
}

size_t
_sl_cpu_winograd_conv_grad_sums_floats (const sl_conv_desc *d)
{
  return (size_t) XI * d->out_c * round_up (d->in_c, LANES);
}

/* A thread's bordered band, V, dy's transform and V turned. */
size_t
_sl_cpu_winograd_conv_grad_image_floats (const sl_conv_desc *d)
{
  const layout l = layout_for (d, true);

  return round_floats (l.xb + l.v + l.m + (size_t) XI * l.v_stride * round_up (d->in_c, LANES));
}

void
_sl_cpu_winograd_conv_weight_grad_image (const sl_conv_desc *d, const float *x, const float *dy,
                                         float *sums, float *room)
{
  winograd_job j = { .d = d, .n = 1, .l = layout_for (d, true) };
  const int cpad = round_up (d->in_c, LANES), vectors = cpad / LANES;
  /* Per tile: V's channels, dy's transforms of the filters, added on. */
  const outer_shape shape = { .x_step = (size_t) cpad,
                              .s_step = 1,
                              .s_block = FILTERS * j.l.v_stride,
                              .s_f = j.l.v_stride,
                              .out_f = (size_t) cpad,
                              .add = true };
  float *xb = room, *v = xb + j.l.xb, *e = v + j.l.v, *vt = e + j.l.m;

  for (int ty0 = 0; ty0 < j.l.th; ty0 += j.l.band)
    {
      const int rows = j.l.th - ty0 < j.l.band ? j.l.th - ty0 : j.l.band, tiles = rows * j.l.tw;

      border_band (&j, x, ty0, rows, xb);
      transform_patches (&j, xb, rows, v);
      transpose_patches (&j, v, tiles, vt);
      transform_dy (&j, dy, ty0, rows, e);
      for (int xi = 0; xi < XI; xi++)
        for (int k0 = 0; k0 < vectors; k0 += VECTORS)
          {
            const int W = vectors - k0 < VECTORS ? vectors - k0 : VECTORS;
            const int F = W == 1 ? MAX_F : FILTERS;

            for (int f = 0; f < d->out_c; f += F)
              any_outer (vt + (size_t) xi * j.l.v_stride * cpad + k0 * LANES,
                         e + xi * j.l.e_step + f * j.l.v_stride, tiles,
                         sums + ((size_t) xi * d->out_c + f) * cpad + k0 * LANES, &shape, W);
          }
    }
}

/* dw += G^T M G, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]. */
void
_sl_cpu_winograd_conv_weight_grad_finish (const sl_conv_desc *d, const float *sums, float *dw)
{
  const int cpad = round_up (d->in_c, LANES);
  const size_t xi_step = (size_t) d->out_c * cpad;

  for (int f = 0; f < d->out_c; f++)
    for (int c = 0; c < d->in_c; c++)
      {
        const float *m = sums + (size_t) f * cpad + c;
        float *w = dw + ((size_t) f * d->in_c + c) * 9;
        float r[3][4];

        for (int q = 0; q < 4; q++)
          {
            const float m0 = m[(0 + q) * xi_step], m1 = m[(4 + q) * xi_step];
            const float m2 = m[(8 + q) * xi_step], m3 = m[(12 + q) * xi_step];

            r[0][q] = m0 + 0.5f * (m1 + m2);
            r[1][q] = 0.5f * (m1 - m2);
            r[2][q] = 0.5f * (m1 + m2) + m3;
          }
        for (int i = 0; i < 3; i++)
          {
            w[3 * i + 0] += r[i][0] + 0.5f * (r[i][1] + r[i][2]);
            w[3 * i + 1] += 0.5f * (r[i][1] - r[i][2]);
            w[3 * i + 2] += 0.5f * (r[i][1] + r[i][2]) + r[i][3];
          }
      }
}

#else
size_t
_sl_cpu_winograd_conv_packed_floats (const sl_conv_desc *d)
{
  return 0;
}

size_t
_sl_cpu_winograd_conv_image_floats (const sl_conv_desc *d)
{
  return 0;
}

size_t
_sl_cpu_winograd_conv_workspace_floats (const sl_conv_desc *d, int threads)
{
  return 0;
}

void
_sl_cpu_winograd_conv_pack (const sl_conv_desc *d, const float *w, const float *b, float *u)
{
}

void
_sl_cpu_winograd_conv_image (const sl_conv_desc *d, const float *x, const float *pack, float *y,
                             bool accumulate, float *room)
{
}

void
_sl_cpu_winograd_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                               const float *w, const float *b, float *y, bool accumulate, float *ws)
{
}

bool
_sl_cpu_winograd_conv_grad_applies (const sl_conv_desc *d)
{
  return false;
}

size_t
_sl_cpu_winograd_conv_grad_sums_floats (const sl_conv_desc *d)
{
  return 0;
}

size_t
_sl_cpu_winograd_conv_grad_image_floats (const sl_conv_desc *d)
{
  return 0;
}

void
_sl_cpu_winograd_conv_weight_grad_image (const sl_conv_desc *d, const float *x, const float *dy,
                                         float *sums, float *room)
{
}

void
_sl_cpu_winograd_conv_weight_grad_finish (const sl_conv_desc *d, const float *sums, float *dw)
{
}
#endif
