/* sl-cpu-dense-rows.c: fully connected layers at inference by dot products along the weights'
 * rows: a tile of up to 4 images x 5 outputs keeps one vector of partial sums each while it goes
 * along the inputs, reading the weights where the model holds them. */

/* Why: OpenBLAS copies both operands of a product into its own panels on
 * every call. For a pass of 16 images through seed-cnn's 3136 -> 1024 layer
 * (a lane's share of a batch of 32) that is 12.8 MB of weights copied for
 * 100 MFLOP of products: 1.4-1.5 ms a call on one thread of the 2-core Xeon,
 * 1.0-1.1 here, where reading the weights once from memory bounds it. A tile
 * reads 16 inputs of each of its rows of x and of w at a time and does one
 * vector multiply-add for each image and output. Each output is the bias
 * plus the sum of its lanes' partial sums (inputs i, i + 16, ... in order)
 * and then the inputs left over after the last whole vector: the same
 * whatever the batch, the tile or the thread count. Training keeps
 * OpenBLAS's products (sl-cpu-dense.c). */
#include "sl-cpu-vector-private.h"

#define LANES SL_CPU_VECTOR_LANES
/* Images and outputs of a tile: their product in accumulators, plus a
 * vector of each image's inputs and of each output's weights, in the 32
 * vector registers of AVX-512 (16 with AVX2). */
#if LANES == 16
#define ROWS    4
#define OUTPUTS 5
#else
#define ROWS    2
#define OUTPUTS 4
#endif

typedef struct
{
  int n, in, out;
  const float *x, *w, *b;
  bool activate;
  sl_activation act;
  float slope;
  float *y;
} dense_job;

/* R images from m0 x O outputs from o0, R and O constants so that the
 * accumulators live in registers. */
static inline __attribute__ ((always_inline)) void
tile (const dense_job *j, int m0, int o0, int R, int O)
{
  const int in = j->in, whole = in - in % LANES;
  const float *x = j->x + (size_t) m0 * in, *w = j->w + (size_t) o0 * in;
  sl_cpu_vf acc[ROWS][OUTPUTS];

#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 5
    for (int o = 0; o < O; o++)
      acc[r][o] = (sl_cpu_vf){ 0 };
  for (int k = 0; k < whole; k += LANES)
    {
      sl_cpu_vf xv[ROWS], wv[OUTPUTS];

#pragma GCC unroll 4
      for (int r = 0; r < R; r++)
        xv[r] = _sl_cpu_vf_load (x + (size_t) r * in + k);
#pragma GCC unroll 5
      for (int o = 0; o < O; o++)
        wv[o] = _sl_cpu_vf_load (w + (size_t) o * in + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; r++)
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
          acc[r][o] += xv[r] * wv[o];
    }
  for (int r = 0; r < R; r++)
    for (int o = 0; o < O; o++)
      {
        float s = 0.0f;

        for (int l = 0; l < LANES; l++)
          s += acc[r][o][l];
        for (int k = whole; k < in; k++)
          s += x[(size_t) r * in + k] * w[(size_t) o * in + k];
        j->y[(size_t) (m0 + r) * j->out + o0 + o] = (j->b != NULL ? j->b[o0 + o] : 0.0f) + s;
      }
}

static void
any_tile (const dense_job *j, int m0, int o0, int R, int O)
{
  switch (R * 8 + O)
    {
#define CASE(r, o)                                                                                 \
  case r * 8 + o: tile (j, m0, o0, r, o); break;
      CASE (1, 1)
      CASE (1, 2)
      CASE (1, 3)
      CASE (1, 4)
      CASE (2, 1)
      CASE (2, 2)
      CASE (2, 3)
      CASE (2, 4)
#if LANES == 16
      CASE (1, 5)
      CASE (2, 5)
      CASE (3, 1)
      CASE (3, 2)
      CASE (3, 3)
      CASE (3, 4)
      CASE (3, 5)
      CASE (4, 1)
      CASE (4, 2)
      CASE (4, 3)
      CASE (4, 4)
      CASE (4, 5)
#endif
#undef CASE
    }
}

/* Thread t's outputs, every image: a tile's rows of weights (20 kB for 1024
 * inputs) stay in the level-1 or level-2 cache from one tile of images to
 * the next, so that the weights come from memory once a pass. Then the
 * rectifier over them. */
static void
dense_share (void *ctx, int t, int threads)
{
  const dense_job *j = ctx;
  long g0, g1;
  int o_begin, o_end;

  _sl_split_range ((j->out + OUTPUTS - 1) / OUTPUTS, t, threads, &g0, &g1);
  o_begin = (int) g0 * OUTPUTS;
  o_end = (int) g1 * OUTPUTS < j->out ? (int) g1 * OUTPUTS : j->out;
  for (int o0 = o_begin; o0 < o_end; o0 += OUTPUTS)
    for (int m0 = 0; m0 < j->n; m0 += ROWS)
      any_tile (j, m0, o0, j->n - m0 < ROWS ? j->n - m0 : ROWS,
                o_end - o0 < OUTPUTS ? o_end - o0 : OUTPUTS);
  if (!j->activate || o_begin >= o_end)
    return;
  for (int m = 0; m < j->n; m++)
    {
      float *y = j->y + (size_t) m * j->out + o_begin;

      _sl_cpu_activation_range (j->act, j->slope, y, y, o_end - o_begin);
    }
}

void
_sl_cpu_dense_forward_fused (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                             const float *b, bool activate, sl_activation act, float slope,
                             float *y)
{
  dense_job j = { .n = n,
                  .in = in,
                  .out = out,
                  .x = x,
                  .w = w,
                  .b = b,
                  .activate = activate,
                  .act = act,
                  .slope = slope,
                  .y = y };

  _sl_threadpool_run (_sl_cpu_of (be)->pool, dense_share, &j);
}
