/* sl-cpu-conv-winograd4.c: 3 x 3 stride-1 convolutions with many channels on small images by
 * Winograd's minimal filtering F(4x4, 3x3) over a batch at once: 36 multiply-adds a channel for
 * each 4 x 4 block of outputs instead of 144, the multiply-adds of all the batch's tiles as 36
 * GEMMs; in the forward pass, the input gradient (the flipped convolution) and the weight
 * gradient. */

/* How: each 4 x 4 output block (a tile) reads a 6 x 6 patch d of the
 * bordered input; with the filter g turned into U = G g G^T and the patch
 * into V = B^T d B, the tile is A^T M A with M the sum over channels of
 * U . V element by element. For each of the 36 elements xi that sum is one
 * GEMM, [tiles x in_c] by [in_c x out_c], over the tiles of as many images
 * as fit a budget (a group): on 4 x 4 to 16 x 16 images that is hundreds of
 * tiles where one image has 1 to 16, so OpenBLAS runs near its peak where the
 * image-by-image kernels (sl-cpu-conv-winograd.c, -channels.c) waste lanes
 * or run out of tiles. The transforms work on channels-last vectors of 16
 * channels, so a tile's patch is 36 vector loads.
 *
 * A group goes in three passes over the pool: transforms by (image, tile
 * row), the 36 GEMMs by element, then the inverse transform by (image, tile
 * row). The weight gradient transforms x and dy the same way and sums
 * G^T ((A dY A^T) . V) G: per element, [out_c x tiles] by [tiles x in_c],
 * added up over the groups.
 *
 * F(4x4, 3x3)'s transforms scale by up to 8 and 1/24, so its rounding error
 * is larger than F(2x2, 3x3)'s: relative errors of a few 1e-6 of the
 * outputs' norm (tests/engine/test-engine-conv-winograd4.c bounds them). */
#include "sl-cpu-vector-private.h"

#include <string.h>

#define XI       36 /* elements of a transformed patch */
#define VL       16 /* channels of a vector: in_c and out_c are multiples of it */
#define MAX_SIDE 16 /* outputs up to 16 x 16 */
/* V and M of a group: about 8 MB (or one image's, where that is more). */
#define GROUP_FLOATS (2L << 20)

typedef float v16 __attribute__ ((vector_size (VL * sizeof (float))));
typedef float v16_u __attribute__ ((vector_size (VL * sizeof (float)), aligned (4)));

static inline v16
ld (const float *p)
{
  return *(const v16_u *) p;
}

static inline void
st (float *p, v16 v)
{
  *(v16_u *) p = v;
}

/* The first count floats of p, zeros after. */
static inline v16
ld_part (const float *p, int count)
{
  if (count >= VL)
    return ld (p);
#if SL_CPU_VECTOR_LANES == 16
  return (v16) _mm512_maskz_loadu_ps ((__mmask16) ((1u << count) - 1), p);
#else
  v16 v = { 0 };

  memcpy (&v, p, sizeof (float) * (size_t) count);
  return v;
#endif
}

/* r[i][j] becomes r[j][i]. */
static inline void
transpose (v16 r[VL])
{
#if SL_CPU_VECTOR_LANES == 16
  _sl_cpu_transpose16 ((sl_cpu_vf *) r);
#else
  float t[VL][VL];

  memcpy (t, r, sizeof t);
  for (int i = 0; i < VL; i++)
    for (int j = 0; j < VL; j++)
      r[i][j] = t[j][i];
#endif
}

/* 3 x 3, stride 1, no dilation, ungrouped, channels and filters in
 * multiples of 16, outputs of at most 16 x 16. On larger ones Winograd's
 * F(2x2, 3x3) kernel is as fast or faster (bench/bench-conv, batch 32, two
 * threads, ms, F(2x2, 3x3) -> this one, forward / input gradient / weight
 * gradient: small-bn 64 -> 128 at 16 x 16 1.9-2.1 / 2.2-2.6 / 2.5 -> 1.8-1.9
 * / 1.9-2.1 / 2.1-2.2; resnet-s 64 -> 64 at 16 x 16 1.1 / 1.3 / 1.4-1.5 ->
 * 1.1 / 1.1 / 1.3; small-bn 64 -> 128 at 28 x 28 5.8-6.6 / 5.3-6.9 /
 * 7.4-9.2 -> 5.5-5.6 / 5.8-6.4 / 8.6-8.7; 32 -> 64 at 32 x 32 2.1-2.3 /
 * 2.3 / 2.8 -> 2.7-3.5 / 3.1 / 3.4-3.7). */
bool
_sl_cpu_winograd4_conv_applies (const sl_conv_desc *d)
{
  return d->groups == 1 && d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1 && d->dh == 1
         && d->dw == 1 && d->in_c % VL == 0 && d->out_c % VL == 0 && d->out_h >= 1 && d->out_w >= 1
         && d->out_h <= MAX_SIDE && d->out_w <= MAX_SIDE;
}

/* Whether a pass of n images pays for transforming the filters (36 in_c
 * out_c floats written, as many as 4 images' products of 4 x 4 tiles a
 * filter block): at least 8 images and 32 tiles, and 4096 filter-channel
 * pairs. bench/bench-conv, ms, the best other kernel -> this one (forward,
 * input gradient, weight gradient), batch 32, two threads: small-bn 128 ->
 * 256 at 8 x 8 2.0 -> 1.8, 3.8 -> 1.9, 3.5 -> 1.8; 256 -> 256 at 4 x 4 3.3 ->
 * 1.5, 2.4 -> 1.5, 2.6 -> 1.1; at 7 x 7 5.3 -> 3.5, 5.6 -> 3.6, 6.1 -> 3.0;
 * 128 -> 256 at 14 x 14 6.5 -> 6.5, 9.2 -> 6.5, 11.0 -> 6.5; batch 16, one
 * thread (a lane): resnet-s 64 -> 64 at 8 x 8 0.34 -> 0.29, 0.39 -> 0.30, 0.72
 * -> 0.26. One image (16 tiles at most) loses: 128 -> 256 at 14 x 14 0.55 ->
 * 0.90; so do 16 images of 3 x 3 (16 tiles): 0.72 -> 1.04 by GEMM. */
bool
_sl_cpu_winograd4_conv_pays (const sl_conv_desc *d, int n)
{
  return _sl_cpu_winograd4_conv_applies (d) && n >= 8
         && (long) n * ((d->out_h + 3) / 4) * ((d->out_w + 3) / 4) >= 32
         && (long) d->in_c * d->out_c >= 4096;
}

typedef struct
{
  int th, tw, tiles; /* tiles down and across, and per image */
  int wp;            /* pixels of a bordered row: 4 tw + 2 */
  int group;         /* images of a group */
} geometry;

static geometry
geometry_of (const sl_conv_desc *d, int n)
{
  geometry g;
  long per_image;

  g.th = (d->out_h + 3) / 4;
  g.tw = (d->out_w + 3) / 4;
  g.tiles = g.th * g.tw;
  g.wp = 4 * g.tw + 2;
  per_image = (long) XI * g.tiles * (d->in_c + d->out_c);
  g.group = (int) (GROUP_FLOATS / per_image);
  g.group = g.group < 1 ? 1 : g.group > n ? n : g.group;
  return g;
}

static size_t
round_floats (size_t f)
{
  return (f + 15) & ~(size_t) 15;
}

/* U (or the weight gradient's sums), V, M (or dy's transforms), then a band
 * of six bordered rows a thread. */
static size_t
u_floats (const sl_conv_desc *d)
{
  return round_floats ((size_t) XI * d->in_c * d->out_c);
}

static size_t
v_floats (const sl_conv_desc *d, const geometry *g)
{
  return round_floats ((size_t) XI * g->group * g->tiles * d->in_c);
}

static size_t
m_floats (const sl_conv_desc *d, const geometry *g)
{
  return round_floats ((size_t) XI * g->group * g->tiles * d->out_c);
}

static size_t
band_floats (const sl_conv_desc *d, const geometry *g)
{
  return round_floats ((size_t) 6 * g->wp * d->in_c);
}

size_t
_sl_cpu_winograd4_conv_workspace_floats (const sl_conv_desc *d, int n, int threads)
{
  const geometry g = geometry_of (d, n < 1 ? 1 : n);

  return u_floats (d) + v_floats (d, &g) + m_floats (d, &g)
         + (size_t) threads * band_floats (d, &g);
}

typedef struct
{
  const sl_conv_desc *d;
  geometry g;
  const float *x, *w, *b, *dy;
  float *y, *dw;
  bool accumulate, flip;
  float *u, *v, *m, *bands;
  long first; /* the group: images [first, first + count) */
  int count;
  bool add; /* the weight gradient: add this group's sums onto the last's */
} job;

/* Six values of B^T d, d at a[0], a[s], ..., a[5 s], in place. */
static inline void
input_6 (v16 *a, int s)
{
  const v16 d0 = a[0], d1 = a[s], d2 = a[2 * s], d3 = a[3 * s], d4 = a[4 * s], d5 = a[5 * s];

  a[0] = 4.0f * d0 - 5.0f * d2 + d4;
  a[s] = d3 + d4 - 4.0f * (d1 + d2);
  a[2 * s] = d4 - d3 + 4.0f * (d1 - d2);
  a[3 * s] = d4 - d2 + 2.0f * (d3 - d1);
  a[4 * s] = d4 - d2 + 2.0f * (d1 - d3);
  a[5 * s] = 4.0f * d1 - 5.0f * d3 + d5;
}

/* Four values of A^T m from six, m at a[0], a[s], ..., a[5 s]. */
static inline void
output_4 (const v16 *a, int s, v16 *o, int os)
{
  const v16 p12 = a[s] + a[2 * s], m12 = a[s] - a[2 * s];
  const v16 p34 = a[3 * s] + a[4 * s], m34 = a[3 * s] - a[4 * s];

  o[0] = a[0] + p12 + p34;
  o[os] = m12 + 2.0f * m34;
  o[2 * os] = p12 + 4.0f * p34;
  o[3 * os] = m12 + 8.0f * m34 + a[5 * s];
}

/* Six values of A e from four (dy's transform), e at a[0], a[s], ..., a[3 s]. */
static inline void
grad_6 (const v16 *e, int s, v16 *o, int os)
{
  const v16 p02 = e[0] + e[2 * s], p13 = e[s] + e[3 * s];
  const v16 q02 = e[0] + 4.0f * e[2 * s], q13 = 2.0f * e[s] + 8.0f * e[3 * s];

  o[0] = e[0];
  o[os] = p02 + p13;
  o[2 * os] = p02 - p13;
  o[3 * os] = q02 + q13;
  o[4 * os] = q02 - q13;
  o[5 * os] = e[3 * s];
}

/* Six values of G g from three. */
static inline void
filter_6 (const v16 *g, int s, v16 *o, int os)
{
  const v16 g0 = g[0], g1 = g[s], g2 = g[2 * s];
  const v16 p = g0 + g2, q = g0 * (1.0f / 24) + g2 * (1.0f / 6);

  o[0] = g0 * 0.25f;
  o[os] = (p + g1) * (-1.0f / 6);
  o[2 * os] = (p - g1) * (-1.0f / 6);
  o[3 * os] = q + g1 * (1.0f / 12);
  o[4 * os] = q - g1 * (1.0f / 12);
  o[5 * os] = g2;
}

/* Three values of G^T s from six. */
static inline void
filter_grad_3 (const v16 *a, int s, v16 *o, int os)
{
  const v16 p12 = a[s] + a[2 * s], m21 = a[2 * s] - a[s];
  const v16 p34 = a[3 * s] + a[4 * s], m34 = a[3 * s] - a[4 * s];

  o[0] = a[0] * 0.25f - p12 * (1.0f / 6) + p34 * (1.0f / 24);
  o[os] = m21 * (1.0f / 6) + m34 * (1.0f / 12);
  o[2 * os] = (p34 - p12) * (1.0f / 6) + a[5 * s];
}

/* U = G g G^T for filters [o0, o1), vectors of 16 input channels, as
 * [xi][out_c][in_c]. flip: w holds the filters of the convolution this one
 * is the input gradient of ([in_c][out_c][3][3] of d, read flipped). */
static void
filters_share (void *ctx, int t, int threads)
{
  const job *j = ctx;
  const sl_conv_desc *d = j->d;
  const size_t plane = (size_t) d->out_c * d->in_c;
  long o0, o1;

  _sl_split_range (d->out_c, t, threads, &o0, &o1);
  for (long o = o0; o < o1; o++)
    for (int c0 = 0; c0 < d->in_c; c0 += VL)
      {
        v16 g[VL], gg[18], u[XI];

        /* Row l: the 9 taps of channel c0 + l, then by tap. */
        for (int l = 0; l < VL; l++)
          g[l] = ld_part (j->w
                              + (j->flip ? ((size_t) (c0 + l) * d->out_c + o) * 9
                                         : ((size_t) o * d->in_c + c0 + l) * 9),
                          9);
        transpose (g);
        if (j->flip)
          for (int k = 0; k < 4; k++)
            {
              const v16 swap = g[k];

              g[k] = g[8 - k];
              g[8 - k] = swap;
            }
        for (int col = 0; col < 3; col++)
          filter_6 (g + col, 3, gg + col, 3); /* gg[6][3] = G g */
        for (int r = 0; r < 6; r++)
          filter_6 (gg + 3 * r, 1, u + 6 * r, 1); /* u[6][6] = G g G^T */
        for (int xi = 0; xi < XI; xi++)
          st (j->u + xi * plane + (size_t) o * d->in_c + c0, u[xi]);
      }
}

/* Rows 4 ty - ph .. + 5 of image x, channels last from bordered column 0
 * (input column -pw): band[(r wp + col) c + channel]. */
static void
border_band (const sl_conv_desc *d, const geometry *g, const float *x, int ty, float *band)
{
  const size_t row_floats = (size_t) g->wp * d->in_c, hw = (size_t) d->in_h * d->in_w;
  const int right = g->wp - d->pw - d->in_w; /* bordered columns past the input */

  for (int r = 0; r < 6; r++)
    {
      const int iy = 4 * ty + r - d->ph;
      float *row = band + r * row_floats;

      if (iy < 0 || iy >= d->in_h)
        {
          memset (row, 0, sizeof (float) * row_floats);
          continue;
        }
      if (d->pw > 0)
        memset (row, 0, sizeof (float) * d->pw * d->in_c);
      if (right > 0)
        memset (row + (size_t) (d->pw + d->in_w) * d->in_c, 0, sizeof (float) * right * d->in_c);
      for (int c0 = 0; c0 < d->in_c; c0 += VL)
        for (int x0 = 0; x0 < d->in_w; x0 += VL)
          {
            const int count = d->in_w - x0 < VL ? d->in_w - x0 : VL;
            v16 r16[VL];

            for (int l = 0; l < VL; l++)
              r16[l] = ld_part (x + (c0 + l) * hw + (size_t) iy * d->in_w + x0, count);
            transpose (r16);
            for (int i = 0; i < count; i++)
              st (row + (size_t) (d->pw + x0 + i) * d->in_c + c0, r16[i]);
          }
    }
}

/* V of tile row ty of a group's image k: [xi][tile][in_c]. */
static void
input_tiles (const job *j, const float *band, int k, int ty, float *v)
{
  const sl_conv_desc *d = j->d;
  const int p_all = j->count * j->g.tiles;
  const size_t row_floats = (size_t) j->g.wp * d->in_c;

  for (int tx = 0; tx < j->g.tw; tx++)
    {
      const size_t p = (size_t) k * j->g.tiles + (size_t) ty * j->g.tw + tx;

      for (int c0 = 0; c0 < d->in_c; c0 += VL)
        {
          const float *corner = band + (size_t) 4 * tx * d->in_c + c0;
          v16 a[XI];

          for (int r = 0; r < 6; r++)
            for (int col = 0; col < 6; col++)
              a[6 * r + col] = ld (corner + r * row_floats + (size_t) col * d->in_c);
          for (int col = 0; col < 6; col++)
            input_6 (a + col, 6);
          for (int r = 0; r < 6; r++)
            input_6 (a + 6 * r, 1);
          for (int xi = 0; xi < XI; xi++)
            st (v + ((size_t) xi * p_all + p) * d->in_c + c0, a[xi]);
        }
    }
}

/* Output tile (ty, tx) of a group's image k: its column in V and M, its
 * pixels inside the output (up to 4 x 4) and where its first one lies. */
typedef struct
{
  size_t p, at;
  int rows, cols;
} tile_span;

static tile_span
span_of (const job *j, int k, int ty, int tx)
{
  const sl_conv_desc *d = j->d;
  tile_span s;

  s.p = (size_t) k * j->g.tiles + (size_t) ty * j->g.tw + tx;
  s.at = (size_t) 4 * ty * d->out_w + 4 * tx;
  s.rows = d->out_h - 4 * ty < 4 ? d->out_h - 4 * ty : 4;
  s.cols = d->out_w - 4 * tx < 4 ? d->out_w - 4 * tx : 4;
  return s;
}

/* The first `cols` floats of a tile row of dy (px holds zeros after them). */
static inline void
load_row (float *px, const float *src, int cols)
{
#if defined(__AVX512VL__)
  _mm_storeu_ps (px, _mm_maskz_loadu_ps ((__mmask8) ((1u << cols) - 1), src));
#else
  for (int c = 0; c < cols; c++)
    px[c] = src[c];
#endif
}

/* A^T dy A of tile row ty of a group's image k: [xi][tile][out_c]. */
static void
grad_tiles (const job *j, const float *dy, int k, int ty, float *m)
{
  const sl_conv_desc *d = j->d;
  const int p_all = j->count * j->g.tiles, ohw = d->out_h * d->out_w;

  for (int tx = 0; tx < j->g.tw; tx++)
    {
      const tile_span s = span_of (j, k, ty, tx);

      for (int o0 = 0; o0 < d->out_c; o0 += VL)
        {
          v16 e[VL], t[24], a[XI];

          /* e[l]: the tile's 16 values of filter o0 + l, then by pixel. */
          for (int l = 0; l < VL; l++)
            {
              const float *src = dy + (size_t) (o0 + l) * ohw + s.at;
              float px[VL] = { 0 };

              for (int r = 0; r < s.rows; r++)
                load_row (px + 4 * r, src + (size_t) r * d->out_w, s.cols);
              memcpy (&e[l], px, sizeof px);
            }
          transpose (e);
          for (int col = 0; col < 4; col++)
            grad_6 (e + col, 4, t + col, 4); /* t[6][4] = A e */
          for (int r = 0; r < 6; r++)
            grad_6 (t + 4 * r, 1, a + 6 * r, 1); /* a[6][6] = A e A^T */
          for (int xi = 0; xi < XI; xi++)
            st (m + ((size_t) xi * p_all + s.p) * d->out_c + o0, a[xi]);
        }
    }
}

/* The first `cols` of a tile row's 4 outputs into dst, or added onto it:
 * one 4-float store, masked for a last tile column (a call per row, or a
 * float at a time, had cost 7 % of a batch through small-bn at 28 px). */
static inline void
store_row (float *dst, const float *src, int cols, bool accumulate)
{
#if defined(__AVX512VL__)
  const __mmask8 keep = (__mmask8) ((1u << cols) - 1);
  __m128 v = _mm_loadu_ps (src);

  if (accumulate)
    v = _mm_add_ps (v, _mm_maskz_loadu_ps (keep, dst));
  _mm_mask_storeu_ps (dst, keep, v);
#else
  if (!accumulate && cols == 4)
    memcpy (dst, src, 4 * sizeof (float));
  else if (!accumulate)
    for (int c = 0; c < cols; c++)
      dst[c] = src[c];
  else
    for (int c = 0; c < cols; c++)
      dst[c] += src[c];
#endif
}

/* y of tile row ty of a group's image k from M: A^T M A, plus the bias. */
static void
output_tiles (const job *j, int k, int ty, float *y)
{
  const sl_conv_desc *d = j->d;
  const int p_all = j->count * j->g.tiles, ohw = d->out_h * d->out_w;

  for (int tx = 0; tx < j->g.tw; tx++)
    {
      const tile_span s = span_of (j, k, ty, tx);

      for (int o0 = 0; o0 < d->out_c; o0 += VL)
        {
          v16 a[XI], t[24], o[VL];

          for (int xi = 0; xi < XI; xi++)
            a[xi] = ld (j->m + ((size_t) xi * p_all + s.p) * d->out_c + o0);
          for (int col = 0; col < 6; col++)
            output_4 (a + col, 6, t + col, 6); /* t[4][6] = A^T M */
          for (int r = 0; r < 4; r++)
            output_4 (t + 6 * r, 1, o + 4 * r, 1); /* o[4][4] = A^T M A */
          if (j->b != NULL)
            {
              const v16 bias = ld (j->b + o0);

              for (int q = 0; q < VL; q++)
                o[q] += bias;
            }
          transpose (o); /* o[l]: filter o0 + l's 16 outputs */
          for (int l = 0; l < VL; l++)
            {
              float *dst = y + (size_t) (o0 + l) * ohw + s.at;
              const float *src = (const float *) &o[l];

              for (int r = 0; r < s.rows; r++)
                store_row (dst + (size_t) r * d->out_w, src + 4 * r, s.cols, j->accumulate);
            }
        }
    }
}

/* The group's (image, tile row) units shared out. */
static void
unit_range (const job *j, int t, int threads, long *u0, long *u1)
{
  _sl_split_range ((long) j->count * j->g.th, t, threads, u0, u1);
}

static void
transform_share (void *ctx, int t, int threads)
{
  const job *j = ctx;
  const sl_conv_desc *d = j->d;
  float *band = j->bands + (size_t) t * band_floats (d, &j->g);
  long u0, u1;

  unit_range (j, t, threads, &u0, &u1);
  for (long u = u0; u < u1; u++)
    {
      const int k = (int) (u / j->g.th), ty = (int) (u % j->g.th);
      const long image = j->first + k;

      border_band (d, &j->g, j->x + image * d->in_c * d->in_h * d->in_w, ty, band);
      input_tiles (j, band, k, ty, j->v);
      if (j->dy != NULL)
        grad_tiles (j, j->dy + image * d->out_c * d->out_h * d->out_w, k, ty, j->m);
    }
}

/* The 36 products, each cut into `parts` bands of rows (the tiles' for the
 * forward pass, the filters' for the weight gradient) where the pool has
 * more threads than half of 36: units (element, band) shared out. */
static int
product_parts (int threads)
{
  return (2 * threads + XI - 1) / XI;
}

static void
products_share (void *ctx, int t, int threads)
{
  const job *j = ctx;
  const sl_conv_desc *d = j->d;
  const int p_all = j->count * j->g.tiles, parts = product_parts (threads);
  const int rows = j->dy == NULL ? p_all : d->out_c;
  const size_t plane = (size_t) d->out_c * d->in_c;
  long u0, u1;

  _sl_split_range ((long) XI * parts, t, threads, &u0, &u1);
  for (long u = u0; u < u1; u++)
    {
      const long xi = u / parts;
      const float *v = j->v + (size_t) xi * p_all * d->in_c;
      float *m = j->m + (size_t) xi * p_all * d->out_c;
      long r0, r1;

      _sl_split_range (rows, (int) (u % parts), parts, &r0, &r1);
      if (r0 >= r1)
        continue;
      if (j->dy == NULL) /* M = V U^T: [tiles x out_c] */
        _sl_cpu_sgemm (false, true, (int) (r1 - r0), d->out_c, d->in_c, 1.0f, v + r0 * d->in_c,
                       d->in_c, j->u + xi * plane, d->in_c, 0.0f, m + r0 * d->out_c, d->out_c);
      else /* sums += M^T V: [out_c x in_c] */
        _sl_cpu_sgemm (true, false, (int) (r1 - r0), d->in_c, p_all, 1.0f, m + r0, d->out_c, v,
                       d->in_c, j->add ? 1.0f : 0.0f, j->u + xi * plane + r0 * d->in_c, d->in_c);
    }
}

static void
output_share (void *ctx, int t, int threads)
{
  const job *j = ctx;
  const sl_conv_desc *d = j->d;
  long u0, u1;

  unit_range (j, t, threads, &u0, &u1);
  for (long u = u0; u < u1; u++)
    {
      const long image = j->first + u / j->g.th;

      output_tiles (j, (int) (u / j->g.th), (int) (u % j->g.th),
                    j->y + image * d->out_c * d->out_h * d->out_w);
    }
}

/* dw = G^T sums G for filters [o0, o1). */
static void
finish_share (void *ctx, int t, int threads)
{
  const job *j = ctx;
  const sl_conv_desc *d = j->d;
  const size_t plane = (size_t) d->out_c * d->in_c;
  long o0, o1;

  _sl_split_range (d->out_c, t, threads, &o0, &o1);
  for (long o = o0; o < o1; o++)
    for (int c0 = 0; c0 < d->in_c; c0 += VL)
      {
        v16 a[XI], t3[18], g[9];

        for (int xi = 0; xi < XI; xi++)
          a[xi] = ld (j->u + xi * plane + (size_t) o * d->in_c + c0);
        for (int col = 0; col < 6; col++)
          filter_grad_3 (a + col, 6, t3 + col, 6); /* t3[3][6] = G^T S */
        for (int r = 0; r < 3; r++)
          filter_grad_3 (t3 + 6 * r, 1, g + 3 * r, 1); /* g[3][3] = G^T S G */
        for (int l = 0; l < VL; l++)
          for (int k = 0; k < 9; k++)
            j->dw[((size_t) o * d->in_c + c0 + l) * 9 + k] = g[k][l];
      }
}

static job
job_of (const sl_conv_desc *d, int n, float *ws)
{
  job j = { .d = d, .g = geometry_of (d, n) };

  j.u = ws;
  j.v = j.u + u_floats (d);
  j.m = j.v + v_floats (d, &j.g);
  j.bands = j.m + m_floats (d, &j.g);
  return j;
}

void
_sl_cpu_winograd4_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                const float *w, bool flip, const float *b, float *y,
                                bool accumulate, float *ws)
{
  job j = job_of (d, n, ws);

  j.x = x;
  j.w = w;
  j.flip = flip;
  j.b = b;
  j.y = y;
  j.accumulate = accumulate;
  _sl_threadpool_run (cpu->pool, filters_share, &j);
  for (j.first = 0; j.first < n; j.first += j.count)
    {
      j.count = n - j.first < j.g.group ? (int) (n - j.first) : j.g.group;
      _sl_threadpool_run (cpu->pool, transform_share, &j);
      _sl_threadpool_run (cpu->pool, products_share, &j);
      _sl_threadpool_run (cpu->pool, output_share, &j);
    }
}

void
_sl_cpu_winograd4_conv_weight_grad (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                                    const float *dy, float *dw, float *ws)
{
  job j = job_of (d, n, ws);

  j.x = x;
  j.dy = dy;
  j.dw = dw;
  for (j.first = 0; j.first < n; j.first += j.count)
    {
      j.count = n - j.first < j.g.group ? (int) (n - j.first) : j.g.group;
      j.add = j.first > 0;
      _sl_threadpool_run (cpu->pool, transform_share, &j);
      _sl_threadpool_run (cpu->pool, products_share, &j);
    }
  _sl_threadpool_run (cpu->pool, finish_share, &j);
}
