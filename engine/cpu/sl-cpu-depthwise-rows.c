/* sl-cpu-depthwise-rows.c: depthwise 3x3 and 5x5 convolutions at stride 1 and 2 (MobileNet,
 * EfficientNet-Lite) on rows padded as they are reached: forward, and both gradients in one pass
 * over dy. */
#include "sl-cpu-depthwise-private.h"

#include <string.h>

#if defined(__AVX__)
#include <immintrin.h>
#endif

/* No plane is copied whole. Each input row is copied once, when a window
 * first reaches it, into a slot of a small ring with zero columns around it
 * (rows above and below the image are one shared zero row), so the kernels
 * below never test a border. At stride 2 a slot holds the row split by
 * column phase (even padded columns, then odd ones), so every tap of a
 * window reads consecutive floats and the loops run on whole vectors.
 *
 * The kernels are compiled with the kernel size, stride and block known:
 * a forward block is BLOCK_ROWS output rows by two vectors of columns (on
 * planes under two vectors wide NARROW_ROWS rows, or 7 on 7- and 14-high
 * ones, by one vector): up to eight independent accumulators that each
 * input vector loaded feeds up to K / S times. A row's last block overlaps the one before it (the same
 * values written twice), or, on rows narrower than a block or when adding
 * onto the output, is computed on zeros past the row and stored in part.
 *
 * Backward walks dy once, BLOCK_ROWS rows at a time, each copied into a
 * ring with zero columns around it: the weight gradient of the block is
 * summed against the x rows its windows read, and every input-gradient row
 * whose dy rows have all arrived is written. At stride 1 the input gradient
 * is the forward kernel on padded dy with the kernel flipped; at stride 2
 * it is computed per phase (even and odd input rows and columns see
 * different taps and read dy consecutively) and interleaved. The sums run
 * in an order fixed by the geometry alone, so no result depends on the
 * number of threads. */

#define VL 8
typedef float vf __attribute__ ((vector_size (VL * sizeof (float))));
/* The same, at any float's address. */
typedef float vf_u __attribute__ ((vector_size (VL * sizeof (float)), aligned (4), may_alias));

/* v as a value the compiler cannot see through (in a register with AVX; a
 * compiler barrier otherwise). */
#if defined(__AVX__)
#define OPAQUE(v) __asm__("" : "+x"(v))
#else
#define OPAQUE(v) __asm__ volatile("" ::: "memory")
#endif

#define BLOCK_ROWS  4
#define NARROW_ROWS 8

static inline vf
load_v (const float *p)
{
  return *(const vf_u *) p;
}

static inline void
store_v (float *p, vf v)
{
  *(vf_u *) p = v;
}

/* The first n floats at p (all 8 when n >= 8, none when n <= 0), zeros
 * after; and the same stored. Neither touches memory past the n floats.
 * (The store is in pieces: a masked store is slow on AMD's cores.) */
static inline vf
load_first (const float *p, int n)
{
#if defined(__AVX2__)
  const __m256i lane = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);

  return (vf) _mm256_maskload_ps (p, _mm256_cmpgt_epi32 (_mm256_set1_epi32 (n), lane));
#else
  vf v = { 0 };

  for (int i = 0; i < n && i < VL; i++)
    v[i] = p[i];
  return v;
#endif
}

static inline void
store_first (float *p, vf v, int n)
{
  float t[VL];
  int i = 0;

  if (n >= VL)
    {
      store_v (p, v);
      return;
    }
  if (n <= 0)
    return;
  store_v (t, v);
  if (n & 4)
    {
      memcpy (p, t, 4 * sizeof (float));
      i = 4;
    }
  if (n & 2)
    {
      memcpy (p + i, t + i, 2 * sizeof (float));
      i += 2;
    }
  if (n & 1)
    p[i] = t[i];
}

/* dst[0 .. n) = src[0 .. n) and zeros up to the next whole vector, for the
 * short rows here without a call: dst is a slot, whose floats past a row
 * are zero anyway. */
static inline void
copy_floats (float *restrict dst, const float *restrict src, int n)
{
  int i = 0;

  for (; i + VL <= n; i += VL)
    {
      vf v = load_v (src + i);

      OPAQUE (v); /* else GCC makes the loop a call to memmove */
      store_v (dst + i, v);
    }
  if (i < n)
    store_v (dst + i, load_first (src + i, n - i));
}

static inline vf
splat (float f)
{
  return (vf){ f, f, f, f, f, f, f, f };
}

static int
round_up (int n, int m)
{
  return (n + m - 1) / m * m;
}

static int
max_int (int a, int b)
{
  return a > b ? a : b;
}

static int
pow2_at_least (int n)
{
  int p = 1;

  while (p < n)
    p *= 2;
  return p;
}

/* Output rows per block of the correlation kernels on rows w floats wide
 * (at most: 7 on some narrow planes). */
static int
rows_per_block (int w)
{
  return w < 2 * VL ? NARROW_ROWS : BLOCK_ROWS;
}

/* Scratch pieces start on 64-byte boundaries. */
static size_t
align_floats (size_t n)
{
  return (n + 15) & ~(size_t) 15;
}

bool
_sl_cpu_depthwise_rows_take (const sl_conv_desc *d)
{
  const int k = d->kh;

  return (k == 3 || k == 5) && d->kw == k && (d->sh == 1 || d->sh == 2) && d->sw == d->sh
         && d->dh == 1 && d->dw == 1 && d->ph >= 0 && d->ph < k && d->pw >= 0 && d->pw < k
         && d->ph_end >= 0 && d->ph_end < k && d->pw_end >= 0 && d->pw_end < k && d->out_h > 0
         && d->out_w > 0 && d->in_h > 0 && d->in_w > 0;
}

/* Sizes of the rings and rows, and where each sits in a thread's scratch. */
typedef struct
{
  int K, S;
  int reach_w;  /* input columns some window reaches (the ones copied) */
  int len;      /* floats of one column phase of an x slot */
  int dlen;     /* floats of a dy slot */
  int dy_left;  /* zero columns before dy in its slot */
  int x_slots;  /* x rows the ring holds (a power of two) */
  int dy_slots; /* dy rows the ring holds (a power of two) */
  int tlen;     /* floats of an input-gradient phase row (stride 2) or junk row */
  float *xring, *dyring, *zero, *junk, *t0, *t1, *flip;
} geom;

static size_t
geom_of (const sl_conv_desc *d, float *ws, geom *g)
{
  const int K = d->kh, S = d->sh, wide = round_up (max_int (d->in_w, d->out_w), 2 * VL);
  const int cols = (d->out_w - 1) * S + K; /* padded columns the windows reach */
  size_t at = 0;

  g->K = K;
  g->S = S;
  g->reach_w = cols - d->pw < d->in_w ? max_int (cols - d->pw, 0) : d->in_w;
  /* Every read runs at most two vectors and a kernel width past the widest row. */
  g->len = round_up (wide + 2 * K + 2 * VL, VL);
  g->dlen = g->len;
  g->dy_left = S == 1 ? K - 1 - d->pw : (K - 1) / 2;
  g->x_slots = pow2_at_least ((max_int (rows_per_block (d->out_w), BLOCK_ROWS) - 1) * S + K);
  /* A dx block of up to NARROW_ROWS rows still needs dy rows that far back
   * when a block of BLOCK_ROWS more arrives. */
  g->dy_slots = pow2_at_least (rows_per_block (d->in_w) + BLOCK_ROWS + K);
  g->tlen = 2 * g->len;
#define PIECE(field, floats)                                                                       \
  do                                                                                               \
    {                                                                                              \
      g->field = ws != NULL ? ws + at : NULL;                                                      \
      at += align_floats (floats);                                                                 \
    }                                                                                              \
  while (0)
  PIECE (xring, (size_t) g->x_slots * S * g->len);
  PIECE (dyring, (size_t) g->dy_slots * g->dlen);
  PIECE (zero, (size_t) S * g->len);
  PIECE (junk, (size_t) g->tlen);
  PIECE (t0, (size_t) g->tlen);
  PIECE (t1, (size_t) g->tlen);
  PIECE (flip, (size_t) K * K);
#undef PIECE
  return at;
}

size_t
_sl_cpu_depthwise_rows_thread_floats (const sl_conv_desc *d)
{
  geom g;

  return geom_of (d, NULL, &g);
}

/* g for a thread's scratch ws, zeroed: rows are only ever copied to the same
 * columns of a slot, so what is zero now stays zero for the whole call. */
static void
prepare (const sl_conv_desc *d, float *ws, geom *g)
{
  memset (ws, 0, sizeof (float) * geom_of (d, ws, g));
}

/* x row (in_w floats) into an x slot: at stride 1 from padded column pw on;
 * at stride 2 padded column c to phase c % 2, place c / 2. */
static void
copy_x_row (const geom *g, int pw, const float *restrict src, float *restrict slot)
{
  const int n = g->reach_w;

  if (g->S == 1)
    {
      copy_floats (slot + pw, src, n);
      return;
    }
  /* x[2t] is at padded column 2t + pw, x[2t + 1] at 2t + 1 + pw. */
  float *restrict even = slot + (size_t) (pw & 1) * g->len + pw / 2;
  float *restrict odd = slot + (size_t) (1 - (pw & 1)) * g->len + (pw + 1) / 2;
  int t = 0;

#if defined(__AVX2__)
  /* The last piece of the row is loaded in part: the zeros after it land
   * past the row in the slot, where zeros are. */
  for (; 2 * t < n; t += VL)
    {
      const bool whole = 2 * t + 2 * VL <= n;
      const __m256 a
          = whole ? _mm256_loadu_ps (src + 2 * t) : (__m256) load_first (src + 2 * t, n - 2 * t);
      const __m256 b = whole ? _mm256_loadu_ps (src + 2 * t + VL)
                             : (__m256) load_first (src + 2 * t + VL, n - 2 * t - VL);
      const __m256d e = _mm256_castps_pd (_mm256_shuffle_ps (a, b, 0x88));
      const __m256d o = _mm256_castps_pd (_mm256_shuffle_ps (a, b, 0xdd));

      _mm256_storeu_ps (even + t, _mm256_castpd_ps (_mm256_permute4x64_pd (e, 0xd8)));
      _mm256_storeu_ps (odd + t, _mm256_castpd_ps (_mm256_permute4x64_pd (o, 0xd8)));
    }
#endif
  for (; 2 * t + 1 < n; t++)
    {
      even[t] = src[2 * t];
      odd[t] = src[2 * t + 1];
    }
  if (2 * t < n)
    even[t] = src[2 * t];
}

/* rows[j] = the slot of padded x row first + j (the zero row outside the
 * image), copying rows the ring does not hold yet: windows move down, so
 * rows are copied in order, each once per plane. */
static void
x_window (const geom *g, const sl_conv_desc *d, const float *x, int first, int count, int *copied,
          const float **rows)
{
  for (int j = 0; j < count; j++)
    {
      const int iy = first + j;
      float *slot;

      if (iy < 0 || iy >= d->in_h)
        {
          rows[j] = g->zero;
          continue;
        }
      slot = g->xring + (size_t) (iy & (g->x_slots - 1)) * g->S * g->len;
      if (iy >= *copied)
        {
          copy_x_row (g, d->pw, x + (size_t) iy * d->in_w, slot);
          *copied = iy + 1;
        }
      rows[j] = slot;
    }
}

/* out[r][0 .. V VL) (r < R) = bias (or out[r] as it is when add) + the
 * correlation of the K x K kernel k with rows r * S .. r * S + K - 1 of
 * rows from column ox on: R x V independent accumulators, each vector of x
 * loaded once for all the rows it meets. With TAIL only the first n
 * columns of out are read and written. */
static inline __attribute__ ((always_inline)) void
correlate_block (const float *const *rows, int ox, int len, const float *k, float bias, bool add,
                 float *const *out, int n, const int K, const int S, const int R, const int V,
                 const bool TAIL)
{
  vf acc[NARROW_ROWS][2]; /* [R][V]: sizes fixed, so that no array is variable */

#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++)
      acc[r][v] = !add   ? splat (bias)
                  : TAIL ? load_first (out[r] + v * VL, n - v * VL)
                         : load_v (out[r] + v * VL);
#pragma GCC unroll 19
  for (int j = 0; j < (R - 1) * S + K; j++)
    {
      /* Seen anew on each input row, so that the compiler loads each weight
       * where it is used instead of holding all K x K in registers (too
       * many: the accumulators would be spilled). */
      const float *kr = k;

      __asm__ volatile("" : "+r"(kr));
#pragma GCC unroll 5
      for (int kj = 0; kj < K; kj++)
        {
          const float *p = rows[j] + (kj % S) * len + kj / S + ox;
          vf xv[2];

#pragma GCC unroll 2
          for (int v = 0; v < V; v++)
            xv[v] = load_v (p + v * VL);
#pragma GCC unroll 8
          for (int r = 0; r < R; r++)
            {
              const int ki = j - r * S;

              if (ki >= 0 && ki < K)
                {
                  const vf kv = splat (kr[ki * K + kj]);

#pragma GCC unroll 2
                  for (int v = 0; v < V; v++)
                    acc[r][v] += kv * xv[v];
                }
            }
        }
    }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++)
      if (TAIL)
        store_first (out[r] + v * VL, acc[r][v], n - v * VL);
      else
        store_v (out[r] + v * VL, acc[r][v]);
}

/* out[r] (w floats; r < R) = bias (or out[r] as it is when add) + the
 * correlation of the kernel with rows r * S .. r * S + K - 1 of rows. */
static inline __attribute__ ((always_inline)) void
correlate_rows (const float *const *rows, int len, const float *k, float bias, bool add,
                float *const *out, int w, const int K, const int S, const int R, const int V)
{
  float *at[NARROW_ROWS];
  int ox = 0;

  for (; ox + V * VL <= w; ox += V * VL)
    {
      for (int r = 0; r < R; r++)
        at[r] = out[r] + ox;
      correlate_block (rows, ox, len, k, bias, add, at, 0, K, S, R, V, false);
    }
  if (ox < w && !add && w >= V * VL)
    {
      /* The last block overlaps the one before: the same values again. */
      ox = w - V * VL;
      for (int r = 0; r < R; r++)
        at[r] = out[r] + ox;
      correlate_block (rows, ox, len, k, bias, add, at, 0, K, S, R, V, false);
    }
  else if (ox < w)
    {
      for (int r = 0; r < R; r++)
        at[r] = out[r] + ox;
      correlate_block (rows, ox, len, k, bias, add, at, w - ox, K, S, R, V, true);
    }
}

typedef void (*correlate_fn) (const float *const *rows, int len, const float *k, float bias,
                              bool add, float *const *out, int w);

#define CORRELATE(K, S, R, V)                                                                      \
  static void correlate_##K##s##S##_##R##x##V (const float *const *rows, int len, const float *k,  \
                                               float bias, bool add, float *const *out, int w)     \
  {                                                                                                \
    correlate_rows (rows, len, k, bias, add, out, w, K, S, R, V);                                  \
  }
CORRELATE (3, 1, 4, 2)
CORRELATE (3, 1, 8, 1)
CORRELATE (3, 1, 7, 1)
CORRELATE (3, 2, 4, 2)
CORRELATE (3, 2, 8, 1)
CORRELATE (3, 2, 7, 1)
CORRELATE (5, 1, 4, 2)
CORRELATE (5, 1, 8, 1)
CORRELATE (5, 1, 7, 1)
CORRELATE (5, 2, 4, 2)
CORRELATE (5, 2, 8, 1)
CORRELATE (5, 2, 7, 1)

/* The kernel for rows w floats wide, and its rows per block. */
static correlate_fn
correlate_for (int K, int S, int w, int h, int *block)
{
  static const correlate_fn fns[2][2][3] = {
    { { correlate_3s1_4x2, correlate_3s1_8x1, correlate_3s1_7x1 },
      { correlate_3s2_4x2, correlate_3s2_8x1, correlate_3s2_7x1 } },
    { { correlate_5s1_4x2, correlate_5s1_8x1, correlate_5s1_7x1 },
      { correlate_5s2_4x2, correlate_5s2_8x1, correlate_5s2_7x1 } },
  };
  /* EfficientNet-Lite's narrow planes are 7 and 14 rows high. */
  const int kind = w >= 2 * VL ? 0 : h % NARROW_ROWS != 0 && h % 7 == 0 ? 2 : 1;

  *block = kind == 0 ? BLOCK_ROWS : kind == 1 ? NARROW_ROWS : 7;
  return fns[K == 5][S == 2][kind];
}

/* y (one out_h x out_w plane) = bias + x (one in_h x in_w plane)
 * correlated with the kernel k. */
static void
forward_plane (const geom *g, const sl_conv_desc *d, correlate_fn fn, int block, const float *x,
               const float *k, float bias, float *y)
{
  const int window = (block - 1) * g->S + g->K;
  int copied = 0;

  for (int oy = 0; oy < d->out_h; oy += block)
    {
      const float *rows[(NARROW_ROWS - 1) * 2 + 5];
      float *out[NARROW_ROWS];

      x_window (g, d, x, oy * g->S - d->ph, window, &copied, rows);
      for (int r = 0; r < block; r++)
        out[r] = oy + r < d->out_h ? y + (size_t) (oy + r) * d->out_w : g->junk;
      fn (rows, g->len, k, bias, false, out, d->out_w);
    }
}

void
_sl_cpu_depthwise_rows_forward (const sl_conv_desc *d, long p0, long p1, const float *x,
                                const float *w, const float *b, float *y, float *ws)
{
  const size_t in_plane = (size_t) d->in_h * d->in_w, out_plane = (size_t) d->out_h * d->out_w;
  geom g;
  int block;

  if (p0 >= p1)
    return;
  prepare (d, ws, &g);

  const correlate_fn fn = correlate_for (g.K, g.S, d->out_w, d->out_h, &block);

  for (long p = p0; p < p1; p++)
    {
      const int c = (int) (p % d->in_c);

      forward_plane (&g, d, fn, block, x + p * in_plane, w + (size_t) c * g.K * g.K,
                     b != NULL ? b[c] : 0.0f, y + p * out_plane);
    }
}

/* acc[ki * K + kj] += the sum over dy rows r < nrows and columns of
 * dy[r][ox] * xrows[r * S + ki][ox * S + kj] in lanes, bias[0] += dy; nvec
 * vectors of columns, zeros past the row's end in dy. */
static inline __attribute__ ((always_inline)) void
weight_rows (const float *const *dyr, int nrows, const float *const *xr, const float *zero, int len,
             int nvec, vf *restrict acc, vf *restrict bias, const int K, const int S)
{
  for (int r = 0; r < nrows; r++)
    for (int v = 0; v < nvec; v++)
      bias[0] += load_v (dyr[r] + v * VL);
#pragma GCC unroll 5
  for (int ki = 0; ki < K; ki++)
    {
      vf a[5][2];

#pragma GCC unroll 5
      for (int kj = 0; kj < K; kj++)
        a[kj][0] = a[kj][1] = (vf){ 0 };
      for (int r = 0; r < nrows; r++)
        {
          const float *x = xr[r * S + ki], *dd = dyr[r];

          if (x == zero)
            continue;
          for (int v = 0; v + 2 <= nvec; v += 2)
            {
              const vf d0 = load_v (dd + v * VL), d1 = load_v (dd + v * VL + VL);

#pragma GCC unroll 5
              for (int kj = 0; kj < K; kj++)
                {
                  const float *p = x + (kj % S) * len + kj / S + v * VL;

                  a[kj][0] += d0 * load_v (p);
                  a[kj][1] += d1 * load_v (p + VL);
                }
            }
        }
      /* An odd last vector two rows at a time (dy rows past the block are
       * the zero row). */
      for (int r = 0, v = nvec - 1; (nvec & 1) && r < nrows; r += 2)
        {
          const float *x0 = xr[r * S + ki], *x1 = r + 1 < nrows ? xr[(r + 1) * S + ki] : zero;
          const vf d0 = load_v (dyr[r] + v * VL);
          const vf d1 = load_v ((r + 1 < nrows ? dyr[r + 1] : zero) + v * VL);

#pragma GCC unroll 5
          for (int kj = 0; kj < K; kj++)
            {
              const int at = (kj % S) * len + kj / S + v * VL;

              a[kj][0] += d0 * load_v (x0 + at);
              a[kj][1] += d1 * load_v (x1 + at);
            }
        }
#pragma GCC unroll 5
      for (int kj = 0; kj < K; kj++)
        acc[ki * K + kj] += a[kj][0] + a[kj][1];
    }
}

typedef void (*weight_fn) (const float *const *dyr, int nrows, const float *const *xr,
                           const float *zero, int len, int nvec, vf *acc, vf *bias);

#define WEIGHT(K, S)                                                                               \
  static void weight_##K##s##S (const float *const *dyr, int nrows, const float *const *xr,        \
                                const float *zero, int len, int nvec, vf *acc, vf *bias)           \
  {                                                                                                \
    weight_rows (dyr, nrows, xr, zero, len, nvec, acc, bias, K, S);                                \
  }
WEIGHT (3, 1)
WEIGHT (3, 2)
WEIGHT (5, 1)
WEIGHT (5, 2)

/* dst[0 .. 2 VL) = e[0], o[0], e[1], o[1], ... */
static inline void
store_interleaved (float *dst, vf e, vf o)
{
#if defined(__AVX__)
  const __m256 lo = _mm256_unpacklo_ps ((__m256) e, (__m256) o);
  const __m256 hi = _mm256_unpackhi_ps ((__m256) e, (__m256) o);

  _mm256_storeu_ps (dst, _mm256_permute2f128_ps (lo, hi, 0x20));
  _mm256_storeu_ps (dst + VL, _mm256_permute2f128_ps (lo, hi, 0x31));
#else
  for (int i = 0; i < VL; i++)
    {
      dst[2 * i] = e[i];
      dst[2 * i + 1] = o[i];
    }
#endif
}

/* Stride 2: padded input-gradient rows 2q (t0) and 2q + 1 (t1), nvec (even)
 * vectors of each column phase. dyr[b] is the slot of dy row q - b, which
 * meets kernel rows 2b (row 2q) and 2b + 1 (row 2q + 1); its column u - a
 * meets kernel columns 2a (padded column 2u) and 2a + 1 (2u + 1). */
static inline __attribute__ ((always_inline)) void
spread_rows (const float *const *dyr, const float *restrict k, int nvec, float *restrict t0,
             float *restrict t1, const int K)
{
  const int H = (K + 1) / 2, left = (K - 1) / 2;

  for (int u = 0; u < nvec * VL; u += 2 * VL)
    {
      vf ee[2] = { 0 }, eo[2] = { 0 }, oe[2] = { 0 }, oo[2] = { 0 };

#pragma GCC unroll 3
      for (int b = 0; b < H; b++)
#pragma GCC unroll 3
        for (int a = 0; a < H; a++)
          {
            const float *p = dyr[b] + left - a + u;
            const vf d[2] = { load_v (p), load_v (p + VL) };

#pragma GCC unroll 2
            for (int v = 0; v < 2; v++)
              {
                ee[v] += splat (k[2 * b * K + 2 * a]) * d[v];
                if (2 * a + 1 < K)
                  eo[v] += splat (k[2 * b * K + 2 * a + 1]) * d[v];
                if (2 * b + 1 < K)
                  oe[v] += splat (k[(2 * b + 1) * K + 2 * a]) * d[v];
                if (2 * a + 1 < K && 2 * b + 1 < K)
                  oo[v] += splat (k[(2 * b + 1) * K + 2 * a + 1]) * d[v];
              }
          }
#pragma GCC unroll 2
      for (int v = 0; v < 2; v++)
        {
          store_interleaved (t0 + 2 * (u + v * VL), ee[v], eo[v]);
          store_interleaved (t1 + 2 * (u + v * VL), oe[v], oo[v]);
        }
    }
}

typedef void (*spread_fn) (const float *const *dyr, const float *k, int nvec, float *t0, float *t1);

#define SPREAD(K)                                                                                  \
  static void spread_##K (const float *const *dyr, const float *k, int nvec, float *t0, float *t1) \
  {                                                                                                \
    spread_rows (dyr, k, nvec, t0, t1, K);                                                         \
  }
SPREAD (3)
SPREAD (5)

/* dx row (w floats) = t (or += t). */
static void
emit_row (const float *restrict t, float *restrict dx, int w, bool add)
{
  int i = 0;

  for (; i + VL <= w; i += VL)
    {
      vf v = add ? load_v (dx + i) + load_v (t + i) : load_v (t + i);

      OPAQUE (v); /* else GCC makes the loop a call to memcpy */
      store_v (dx + i, v);
    }
  if (i < w)
    store_first (dx + i, add ? load_first (dx + i, w - i) + load_v (t + i) : load_v (t + i), w - i);
}

/* The slot of dy row oy, the zero row outside dy. */
static const float *
dy_slot (const geom *g, const sl_conv_desc *d, int oy)
{
  if (oy < 0 || oy >= d->out_h)
    return g->zero;
  return g->dyring + (size_t) (oy & (g->dy_slots - 1)) * g->dlen;
}

/* One plane's input-gradient rows whose dy rows are all in the ring (dy
 * rows below `have` are; all of them when have == out_h). *next is the
 * first row (stride 1) or row pair (stride 2) not written yet. */
static void
input_grad_rows (const geom *g, const sl_conv_desc *d, const float *k, float *dx, bool add,
                 int have, int *next)
{
  const int K = g->K, ph = d->ph, in_h = d->in_h, in_w = d->in_w;

  if (g->S == 1)
    {
      int block;
      const correlate_fn fn = correlate_for (K, 1, in_w, in_h, &block);

      /* dx row iy reads dy rows iy + ph - K + 1 .. iy + ph. */
      for (; *next < in_h && (*next + block - 1 + ph < have || have == d->out_h); *next += block)
        {
          const float *rows[NARROW_ROWS - 1 + 5];
          float *out[NARROW_ROWS];

          for (int j = 0; j < block - 1 + K; j++)
            rows[j] = dy_slot (g, d, *next + ph - K + 1 + j);
          for (int r = 0; r < block; r++)
            out[r] = *next + r < in_h ? dx + (size_t) (*next + r) * in_w : g->junk;
          fn (rows, g->dlen, k, 0.0f, add, out, in_w);
        }
      return;
    }

  /* Padded rows 2q and 2q + 1 read dy rows q - (K - 1) / 2 .. q. */
  const int nvec = round_up ((d->pw + in_w + 1) / 2, 2 * VL) / VL;
  const spread_fn fn = K == 3 ? spread_3 : spread_5;

  for (; 2 * *next - ph < in_h && (*next < have || have == d->out_h); (*next)++)
    {
      const int q = *next, iy = 2 * q - ph;
      const float *rows[3];

      for (int b = 0; b < (K + 1) / 2; b++)
        rows[b] = dy_slot (g, d, q - b);
      fn (rows, k, nvec, g->t0, g->t1);
      if (iy >= 0)
        emit_row (g->t0 + d->pw, dx + (size_t) iy * in_w, in_w, add);
      if (iy + 1 < in_h)
        emit_row (g->t1 + d->pw, dx + (size_t) (iy + 1) * in_w, in_w, add);
    }
}

/* The gradients of one channel over n images: x, dy and dx point at image
 * 0's plane of the channel. */
static void
backward_channel (geom *gp, const sl_conv_desc *d, int n, const float *x, const float *k,
                  const float *dy, float *dx, bool accumulate, float *dw, float *db)
{
  const geom g = *gp;
  const int K = g.K, S = g.S, taps = K * K, oh = d->out_h, ow = d->out_w;
  const size_t x_stride = (size_t) d->in_c * d->in_h * d->in_w,
               dy_stride = (size_t) d->in_c * oh * ow;
  const weight_fn wfn
      = K == 3 ? (S == 1 ? weight_3s1 : weight_3s2) : (S == 1 ? weight_5s1 : weight_5s2);
  const int nvec = round_up (ow, VL) / VL;
  const float *kd = k;
  vf acc[25], bias = { 0 };

  for (int i = 0; i < taps; i++)
    acc[i] = (vf){ 0 };
  if (dx != NULL && S == 1)
    {
      for (int i = 0; i < taps; i++)
        g.flip[i] = k[taps - 1 - i];
      kd = g.flip;
    }
  for (int img = 0; img < n; img++)
    {
      const float *xi = x + img * x_stride, *dyi = dy + img * dy_stride;
      float *dxi = dx != NULL ? dx + img * x_stride : NULL;
      int copied = 0, next = S == 1 ? 0 : d->ph / 2;

      for (int oy = 0; oy < oh; oy += BLOCK_ROWS)
        {
          const int nrows = oh - oy < BLOCK_ROWS ? oh - oy : BLOCK_ROWS;
          const float *dyr[BLOCK_ROWS], *xr[(BLOCK_ROWS - 1) * 2 + 5];

          for (int r = 0; r < nrows; r++)
            {
              float *slot = (float *) dy_slot (&g, d, oy + r);

              copy_floats (slot + g.dy_left, dyi + (size_t) (oy + r) * ow, ow);
              dyr[r] = slot + g.dy_left;
            }
          if (dw != NULL || db != NULL)
            {
              x_window (&g, d, xi, oy * S - d->ph, (BLOCK_ROWS - 1) * S + K, &copied, xr);
              wfn (dyr, nrows, xr, g.zero, g.len, nvec, acc, &bias);
            }
          if (dxi != NULL)
            input_grad_rows (&g, d, kd, dxi, accumulate, oy + nrows, &next);
        }
      if (dxi != NULL)
        input_grad_rows (&g, d, kd, dxi, accumulate, oh, &next);
    }
  /* Lanes are added in one fixed order. */
  for (int i = 0; i < taps && dw != NULL; i++)
    {
      float s = 0.0f;

      for (int l = 0; l < VL; l++)
        s += acc[i][l];
      dw[i] = s;
    }
  if (db != NULL)
    {
      float s = 0.0f;

      for (int l = 0; l < VL; l++)
        s += bias[l];
      *db = s;
    }
}

void
_sl_cpu_depthwise_rows_backward (const sl_conv_desc *d, int n, long c0, long c1, const float *x,
                                 const float *w, const float *dy, float *dx, bool accumulate,
                                 float *dw, float *db, float *ws)
{
  const size_t in_plane = (size_t) d->in_h * d->in_w, out_plane = (size_t) d->out_h * d->out_w;
  const int taps = d->kh * d->kw;
  geom g;

  if (c0 >= c1)
    return;
  prepare (d, ws, &g);
  for (long c = c0; c < c1; c++)
    backward_channel (&g, d, n, x + c * in_plane, w + (size_t) c * taps, dy + c * out_plane,
                      dx != NULL ? dx + c * in_plane : NULL, accumulate,
                      dw != NULL ? dw + (size_t) c * taps : NULL, db != NULL ? db + c : NULL);
}
