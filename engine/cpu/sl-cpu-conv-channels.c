/* sl-cpu-conv-channels.c: ordinary convolutions on small images computed directly, vectorised
 * over output channels (AVX-512 builds): a tile of up to 12 output pixels of a row (or 7 of each
 * of two rows) x 32 filters stays in vector registers while every tap of every input channel is
 * added on. */

/* Why: the kernel of sl-cpu-conv-direct.c puts neighbouring pixels of an
 * output row in a vector, so rows narrower than a vector (7 x 7, 8 x 8) or
 * just over one (14 or 18 wide with 16 lanes) leave lanes idle, and im2col +
 * GEMM makes narrow matrices that OpenBLAS runs well below its peak with
 * 16 lanes (small-bn's 64 -> 128 at 7 x 7: 138 GFLOP/s a core). Here the
 * lanes are filters, which come in multiples of 32, and any run of pixels
 * fills them: per tap and channel a tile loads two vectors of weights and
 * broadcasts each of its P pixels' input, for 2 P multiply-adds.
 *
 * The input is the bordered copy of sl-cpu-conv-direct.c (each row stored
 * as its stride's phases, so that neighbouring output pixels read
 * neighbouring floats through any tap). Each output is the sum over (channel,
 * tap) in the same order whatever the tile, thread count or batch. */
#include "sl-cpu-vector-private.h"

#include <string.h>

#define LANES      SL_CPU_VECTOR_LANES
#define VECTORS    2 /* filter vectors of a tile */
#define FILTERS    (VECTORS * LANES)
#define MAX_PIXELS 12 /* of a one-row tile */
#define MAX_PAIRED 7  /* of each row of a two-row tile */
#define MAX_TILE   14 /* 28 accumulators, 2 weights and a broadcast: 31 of 32 registers */
#define MAX_TAPS   49

typedef struct
{
  sl_cpu_direct_pass pass; /* first: its rows callback finds the job */
  bool accumulate;
  const float *wpack; /* [out_c / FILTERS][in_c][kh * kw][FILTERS], then the bias */
  size_t plane;
  int row_len, taps;
  int tile_w;    /* pixels of a full tile: out_w split evenly into tiles of at most MAX_PIXELS */
  int tile_rows; /* and its rows: two where tile_w <= MAX_PAIRED */
  int tap_offset[MAX_TAPS];
} channels_job;

/* AVX-512 builds (32 vector registers: a tile of 12 pixels x 2 vectors), filters
 * in blocks of 32, strides 1 and 2, up to 7 x 7 taps and outputs at least 6
 * pixels wide. A stem of 1 or 3 channels and 1 x 1 kernels stay with the
 * other paths: their few multiply-adds per output do not pay for the tile's
 * transposed store; nor do rows of 3 to 5 pixels (small-bn's 128 -> 256 at
 * 3 x 3: 50 GFLOP/s a core against 113 by GEMM). With AVX2's 16 registers a
 * tile holds 12 accumulators at most, and an AVX2 build ran it at 65-110
 * GFLOP/s a core on the presets' layers, no faster than its other paths. */
bool
_sl_cpu_channels_conv_applies (const sl_conv_desc *d)
{
  return LANES == 16 && d->groups == 1 && d->dh == 1 && d->dw == 1 && d->out_c % FILTERS == 0
         && d->sh >= 1 && d->sh <= 2 && d->sw >= 1 && d->sw <= 2 && d->kh * d->kw > 1
         && d->kh * d->kw <= MAX_TAPS && d->in_c >= 8 && d->out_w >= 6;
}

/* [out_c][K] -> [out_c / 32][K][32], K = in_c kh kw: 16 x 16 blocks through
 * registers where they fit (a scalar copy read 32 strided streams, and cost
 * as much as the convolution of one 8 x 8 image), the rest one by one. */
static void
pack_filters (const sl_conv_desc *d, const float *w, const float *b, float *pack)
{
  const int per_filter = d->in_c * d->kh * d->kw;

  for (int ob = 0; ob < d->out_c / FILTERS; ob++)
    {
      const float *wb = w + (size_t) ob * FILTERS * per_filter;
      float *pb = pack + (size_t) ob * FILTERS * per_filter;
      int k = 0;

#if LANES == 16
      for (; k + 16 <= per_filter; k += 16)
        for (int h = 0; h < FILTERS; h += 16)
          {
            sl_cpu_vf r[16];

            for (int i = 0; i < 16; i++)
              r[i] = _sl_cpu_vf_load (wb + (size_t) (h + i) * per_filter + k);
            _sl_cpu_transpose16 (r);
            for (int i = 0; i < 16; i++)
              _sl_cpu_vf_store (pb + (size_t) (k + i) * FILTERS + h, r[i]);
          }
#endif
      for (; k < per_filter; k++)
        for (int f = 0; f < FILTERS; f++)
          pb[(size_t) k * FILTERS + f] = wb[(size_t) f * per_filter + k];
    }
  pack += (size_t) d->out_c * per_filter;
  for (int f = 0; f < d->out_c; f++)
    *pack++ = b != NULL ? b[f] : 0.0f;
}

/* R rows x P pixels of the output from (oy, ox0), FILTERS filters from block
 * ob, R and P constants so that the accumulators live in registers. */
static inline __attribute__ ((always_inline)) void
tile (const channels_job *j, const float *xb, int oy, int ox0, int ob, float *yi, int P, int R)
{
  const sl_conv_desc *d = j->pass.d;
  const size_t ohw = (size_t) d->out_h * d->out_w, next_row = (size_t) d->sh * j->row_len;
  const float *wp = j->wpack + (size_t) ob * FILTERS * d->in_c * j->taps;
  const float *bias = j->wpack + (size_t) d->out_c * d->in_c * j->taps + ob * FILTERS;
  const float *src = xb + (size_t) oy * next_row + ox0;
  sl_cpu_vf acc[MAX_TILE][VECTORS];

#pragma GCC unroll 14
  for (int q = 0; q < R * P; q++)
#pragma GCC unroll 2
    for (int v = 0; v < VECTORS; v++)
      acc[q][v] = _sl_cpu_vf_load (bias + v * LANES);
  for (int c = 0; c < d->in_c; c++, src += j->plane)
    for (int t = 0; t < j->taps; t++, wp += FILTERS)
      {
        const float *s = src + j->tap_offset[t];
        sl_cpu_vf w[VECTORS];

#pragma GCC unroll 2
        for (int v = 0; v < VECTORS; v++)
          w[v] = _sl_cpu_vf_load (wp + v * LANES);
#pragma GCC unroll 14
        for (int q = 0; q < R * P; q++)
          {
            sl_cpu_vf xv = _sl_cpu_vf_broadcast (s + (q / P) * next_row + q % P);

            /* One broadcast a pixel: GCC would otherwise broadcast it again for each vector. */
            SL_CPU_KEEP_IN_REGISTER (xv);
#pragma GCC unroll 2
            for (int v = 0; v < VECTORS; v++)
              acc[q][v] += xv * w[v];
          }
      }

  /* The tile holds [pixel][filter]; the output is [filter][pixel]. */
  float out[MAX_TILE][FILTERS];
  float *yb = yi + (size_t) ob * FILTERS * ohw + (size_t) oy * d->out_w + ox0;

#pragma GCC unroll 14
  for (int q = 0; q < R * P; q++)
#pragma GCC unroll 2
    for (int v = 0; v < VECTORS; v++)
      _sl_cpu_vf_store (&out[q][v * LANES], acc[q][v]);
  for (int f = 0; f < FILTERS; f++)
    for (int r = 0; r < R; r++)
      {
        float *o = yb + (size_t) f * ohw + (size_t) r * d->out_w;

        if (j->accumulate)
          for (int p = 0; p < P; p++)
            o[p] += out[r * P + p][f];
        else
          for (int p = 0; p < P; p++)
            o[p] = out[r * P + p][f];
      }
}

/* One tile of one row of up to MAX_PIXELS pixels, or of two rows of up to
 * MAX_PAIRED. */
static void
any_tile (const channels_job *j, const float *xb, int oy, int ox0, int ob, float *yi, int P, int R)
{
  switch (R * 16 + P)
    {
#define CASE(r, k)                                                                                 \
  case r * 16 + k: tile (j, xb, oy, ox0, ob, yi, k, r); break;
      CASE (1, 1)
      CASE (1, 2)
      CASE (1, 3)
      CASE (1, 4)
      CASE (1, 5)
      CASE (1, 6)
      CASE (1, 7)
      CASE (1, 8)
      CASE (1, 9)
      CASE (1, 10)
      CASE (1, 11)
      CASE (1, 12)
      CASE (2, 1)
      CASE (2, 2)
      CASE (2, 3)
      CASE (2, 4)
      CASE (2, 5)
      CASE (2, 6)
      CASE (2, 7)
#undef CASE
    }
}

/* Output rows [oy0, oy1) of a bordered image, every filter block. */
static void
channels_rows (const sl_cpu_direct_pass *pass, const float *xb, int oy0, int oy1, float *yi)
{
  const channels_job *j = (const channels_job *) pass;
  const sl_conv_desc *d = pass->d;

  for (int ob = 0; ob < d->out_c / FILTERS; ob++)
    for (int oy = oy0; oy < oy1; oy += j->tile_rows)
      for (int ox = 0; ox < d->out_w; ox += j->tile_w)
        any_tile (j, xb, oy, ox, ob, yi, d->out_w - ox < j->tile_w ? d->out_w - ox : j->tile_w,
                  oy1 - oy < j->tile_rows ? oy1 - oy : j->tile_rows);
}

static void
job_init (channels_job *j, const sl_conv_desc *d, const float *pack)
{
  const int tiles = (d->out_w + MAX_PIXELS - 1) / MAX_PIXELS;

  j->pass.d = d;
  j->pass.rows = channels_rows;
  j->wpack = pack;
  j->taps = d->kh * d->kw;
  j->tile_w = (d->out_w + tiles - 1) / tiles;
  j->tile_rows = j->tile_w <= MAX_PAIRED ? 2 : 1;
  _sl_cpu_direct_conv_border_layout (d, &j->plane, &j->row_len, j->tap_offset);
}

void
_sl_cpu_channels_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                               const float *w, const float *b, const float *pack,
                               const sl_cpu_epilogue *post, float *y, float *ws)
{
  channels_job j = { .pass = { .d = d, .n = n, .x = x, .y = y, .post = post } };

  if (pack == NULL)
    pack_filters (d, w, b, ws);
  job_init (&j, d, pack != NULL ? pack : ws);
  j.pass.pads = ws + _sl_cpu_direct_conv_packed_floats (d);
  _sl_cpu_direct_conv_run (cpu, &j.pass);
}

void
_sl_cpu_channels_conv_pack (const sl_conv_desc *d, const float *w, const float *b, float *pack)
{
  pack_filters (d, w, b, pack);
}

void
_sl_cpu_channels_conv_image (const sl_conv_desc *d, const float *x, const float *pack, float *y,
                             bool accumulate, float *room)
{
  channels_job j
      = { .pass = { .d = d, .n = 1, .x = x, .y = y, .pads = room }, .accumulate = accumulate };

  job_init (&j, d, pack);
  _sl_cpu_direct_conv_run_here (&j.pass);
}
