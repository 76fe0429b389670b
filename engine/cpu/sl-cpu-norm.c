/* sl-cpu-norm.c: batch normalisation over (N, H, W) per channel, channels (or, large passes, images) split over the pool. */
#include "sl-cpu-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  bool training, accumulate, running;
  bool apply;    /* normalise with the batch statistics in saved (a recomputation) */
  bool activate; /* and then act (slope) over each plane while it is in the cache */
  sl_activation act;
  float slope;
  int n, c, hw;
  const float *x, *gamma, *beta, *dy;
  float *running_mean, *running_var, *saved, *y, *dx, *dgamma, *dbeta;
  float epsilon, momentum;
} bn_job;

/* Eight floats as one value: the compiler keeps these in vector registers
 * (written out, since its own vectorisation of 16 scalar lanes shuffles). */
typedef float v8f __attribute__ ((vector_size (8 * sizeof (float))));

/* Lanes of a plane's partial sums (plane_lanes, plane_grad_lanes). */
#define LANE_SUMS 16

static inline v8f
load8 (const float *p)
{
  v8f v;

  memcpy (&v, p, sizeof v);
  return v;
}

/* Sums of one plane in 16 independent lanes (two vectors of eight):
 * accurate enough before the planes are combined in double precision.
 * lanes[0..15]: the values less mean, lanes[16..31]: their squares. */
static void
plane_lanes (const float *restrict p, int hw, float mean, float *restrict lanes)
{
  v8f s0 = { 0 }, s1 = { 0 }, q0 = { 0 }, q1 = { 0 };
  float *s = lanes, *q = lanes + LANE_SUMS;
  int k = 0;

  for (; k + 16 <= hw; k += 16)
    {
      const v8f d0 = load8 (p + k) - mean, d1 = load8 (p + k + 8) - mean;
      s0 += d0;
      s1 += d1;
      q0 += d0 * d0;
      q1 += d1 * d1;
    }
  memcpy (s, &s0, sizeof s0);
  memcpy (s + 8, &s1, sizeof s1);
  memcpy (q, &q0, sizeof q0);
  memcpy (q + 8, &q1, sizeof q1);
  for (; k < hw; k++)
    {
      float d = p[k] - mean;
      s[0] += d;
      q[0] += d * d;
    }
}

/* A plane's lanes into its channel's running sums, lane by lane: planes
 * added in image order give the same sums however the images were split. */
static void
add_lanes (const float *lanes, double *sum, double *sq)
{
  for (int l = 0; l < LANE_SUMS; l++)
    {
      *sum += lanes[l];
      *sq += lanes[LANE_SUMS + l];
    }
}

static void
plane_sums (const float *restrict p, int hw, float mean, double *sum, double *sq)
{
  float lanes[2 * LANE_SUMS];

  plane_lanes (p, hw, mean, lanes);
  add_lanes (lanes, sum, sq);
}

/* Not inlined: one body, so a recomputation rounds as the training pass did. */
static __attribute__ ((noinline)) void
scale_shift (const float *restrict p, float *restrict q, int hw, float scale, float shift)
{
  for (int k = 0; k < hw; k++)
    q[k] = p[k] * scale + shift;
}

/* Channels are walked in blocks: for each image, the block's planes lie next to
 * each other, so small planes (late layers: 4 x 4 .. 16 x 16) stream through
 * memory instead of jumping one plane per image; the block is sized so its
 * planes over the whole batch stay in the cache for the second pass. Each
 * channel still sums its planes image by image in the same order, so the
 * results do not depend on the block or on the thread count. */
#define BLOCK_MAX   256
#define BLOCK_BYTES (192 * 1024)

static long
block_channels (int n, int hw, int tensors)
{
  const size_t per_channel = (size_t) n * hw * sizeof (float) * tensors;
  size_t b = per_channel > 0 ? BLOCK_BYTES / per_channel : BLOCK_MAX;

  return b < 1 ? 1 : b > BLOCK_MAX ? BLOCK_MAX : (long) b;
}

/* Channel ch's coefficients, y = x scale + shift: in training from the
 * sums of its planes less their pivot (the first plane's first value),
 * which also give saved and the running statistics; for a recomputation
 * from saved; otherwise from the running statistics. One place computes
 * them, so a recomputation from the saved statistics repeats the training
 * pass's arithmetic bit for bit, and so do both ways of splitting a pass. */
static void
channel_coefficients (const bn_job *j, long ch, double shifted_sum, double sq, float *scale,
                      float *shift)
{
  float mean, invstd;

  if (j->training)
    {
      const double count = (double) j->n * j->hw;
      const double sum = shifted_sum / count;
      double var = sq / count - sum * sum;

      if (var < 0.0)
        var = 0.0;
      mean = (float) (j->x[ch * j->hw] + sum);
      invstd = (float) (1.0 / sqrt (var + j->epsilon));
      j->saved[ch] = mean;
      j->saved[j->c + ch] = invstd;
      j->running_mean[ch] = (1.0f - j->momentum) * j->running_mean[ch] + j->momentum * mean;
      j->running_var[ch] = (float) ((1.0 - j->momentum) * j->running_var[ch]
                                    + j->momentum * var * (count > 1 ? count / (count - 1) : 1.0));
    }
  else if (j->apply)
    {
      mean = j->saved[ch];
      invstd = j->saved[j->c + ch];
    }
  else
    {
      mean = j->running_mean[ch];
      invstd = 1.0f / sqrtf (j->running_var[ch] + j->epsilon);
    }
  *scale = j->gamma[ch] * invstd;
  *shift = j->beta[ch] - mean * *scale;
}

static void
forward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const int n = j->n, hw = j->hw;
  const size_t plane = (size_t) j->c * hw;
  const long block = block_channels (n, hw, 1);
  long c0, c1;

  _sl_split_range (j->c, t, threads, &c0, &c1);
  for (long b0 = c0; b0 < c1; b0 += block)
    {
      const long b1 = b0 + block < c1 ? b0 + block : c1;
      float scale[BLOCK_MAX], shift[BLOCK_MAX];

      double shifted_sum[BLOCK_MAX] = { 0 }, sq[BLOCK_MAX] = { 0 };

      /* Shifting by the first plane's first value keeps the variance exact
       * when the mean is large next to the spread. */
      for (int i = 0; j->training && i < n; i++)
        for (long ch = b0; ch < b1; ch++)
          plane_sums (j->x + i * plane + ch * hw, hw, j->x[ch * hw], &shifted_sum[ch - b0],
                      &sq[ch - b0]);
      for (long ch = b0; ch < b1; ch++)
        channel_coefficients (j, ch, shifted_sum[ch - b0], sq[ch - b0], &scale[ch - b0],
                              &shift[ch - b0]);

      for (int i = 0; i < n; i++)
        for (long ch = b0; ch < b1; ch++)
          {
            float *q = j->y + i * plane + ch * hw;

            scale_shift (j->x + i * plane + ch * hw, q, hw, scale[ch - b0], shift[ch - b0]);
            if (j->activate)
              _sl_cpu_activation_range (j->act, j->slope, q, q, hw);
          }
    }
}

/* Passes of at least 2 MB split their images over the pool instead, as
 * the layers around them do (convolutions, pools, element-wise layers), so
 * that each thread reads the planes its own core wrote; split by channels,
 * each thread read half of every image from the other core. resnet-s at
 * 128 px, batch 32, two threads: its 16 x 32 x 32 batch-norms 0.15-0.18 ->
 * 0.10-0.11 ms forward, the convolutions after them about 10 % faster;
 * the whole step 1-2 % (the three passes' synchronisation and a second
 * read of each thread's half, no longer blocked for the cache, take back
 * the rest; smaller passes lose by them). The sums of each channel are
 * still added plane by plane, lane by lane, in image order: the same bits. */
#define IMAGE_SPLIT_MIN_FLOATS (1 << 19)

typedef struct images_job images_job;
struct images_job
{
  const bn_job *j;
  float *lanes; /* per image and channel, 2 LANE_SUMS partial sums */
  const float *scale, *shift;
  const float *mean, *invstd, *k1, *mdy, *mdyx;
  /* What own_planes does to plane (i, ch), at offset o in the tensors. */
  void (*each) (const images_job *s, long i, long ch, size_t o);
};

/* The backend's scratch of at least floats floats (NULL: out of memory). */
static float *
scratch_of (sl_cpu *cpu, size_t floats)
{
  if (cpu->bn_scratch_floats < floats)
    {
      float *p = realloc (cpu->bn_scratch, sizeof (float) * floats);

      if (p == NULL)
        return NULL;
      cpu->bn_scratch = p;
      cpu->bn_scratch_floats = floats;
    }
  return cpu->bn_scratch;
}

static bool
split_images (const bn_job *j, int threads)
{
  return threads > 1 && j->n >= threads && (size_t) j->n * j->c * j->hw >= IMAGE_SPLIT_MIN_FLOATS;
}

static float *
lanes_at (const images_job *s, long i, long ch)
{
  return s->lanes + ((size_t) i * s->j->c + ch) * 2 * LANE_SUMS;
}

/* Every plane of the thread's share of the images, each channel of one
 * image after the other. */
static void
own_planes (void *ctx, int t, int threads)
{
  const images_job *s = ctx;
  const bn_job *j = s->j;
  long i0, i1;

  _sl_split_range (j->n, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i++)
    for (long ch = 0; ch < j->c; ch++)
      s->each (s, i, ch, ((size_t) i * j->c + ch) * j->hw);
}

static void
sum_plane (const images_job *s, long i, long ch, size_t o)
{
  plane_lanes (s->j->x + o, s->j->hw, s->j->x[ch * s->j->hw], lanes_at (s, i, ch));
}

static void
normalise_plane (const images_job *s, long i, long ch, size_t o)
{
  const bn_job *j = s->j;

  (void) i;
  scale_shift (j->x + o, j->y + o, j->hw, s->scale[ch], s->shift[ch]);
  if (j->activate)
    _sl_cpu_activation_range (j->act, j->slope, j->y + o, j->y + o, j->hw);
}

/* The forward pass split by images: the planes' sums (training), the
 * coefficients on the calling thread, then the normalisation. false
 * (nothing done) where the pass splits by channels. */
static bool
forward_images (sl_cpu *cpu, const bn_job *j)
{
  const size_t lanes = j->training ? (size_t) j->n * j->c * 2 * LANE_SUMS : 0;
  float *scratch
      = split_images (j, cpu->threads) ? scratch_of (cpu, lanes + 2 * (size_t) j->c) : NULL;
  float *scale, *shift;
  images_job s = { .j = j, .lanes = scratch };

  if (scratch == NULL)
    return false;
  s.scale = scale = scratch + lanes;
  s.shift = shift = scale + j->c;
  s.each = sum_plane;
  if (j->training)
    _sl_threadpool_run (cpu->pool, own_planes, &s);
  for (long ch = 0; ch < j->c; ch++)
    {
      double sum = 0.0, sq = 0.0;

      for (long i = 0; j->training && i < j->n; i++)
        add_lanes (lanes_at (&s, i, ch), &sum, &sq);
      channel_coefficients (j, ch, sum, sq, &scale[ch], &shift[ch]);
    }
  s.each = normalise_plane;
  _sl_threadpool_run (cpu->pool, own_planes, &s);
  return true;
}

static void
run_forward (sl_backend *be, bn_job *j)
{
  sl_cpu *cpu = _sl_cpu_of (be);

  if (!forward_images (cpu, j))
    _sl_threadpool_run (cpu->pool, forward_share, j);
}

/* A forward job's tensors and constants; the callers set how it normalises. */
static bn_job
forward_job (int n, int c, int hw, const float *x, const float *gamma, const float *beta,
             float *running_mean, float *running_var, float epsilon, float momentum, float *saved,
             float *y)
{
  return (bn_job){ .n = n,
                   .c = c,
                   .hw = hw,
                   .x = x,
                   .gamma = gamma,
                   .beta = beta,
                   .running_mean = running_mean,
                   .running_var = running_var,
                   .epsilon = epsilon,
                   .momentum = momentum,
                   .saved = saved,
                   .y = y };
}

void
_sl_cpu_batchnorm_forward (sl_backend *be, bool training, int n, int c, int hw, const float *x,
                           const float *gamma, const float *beta, float *running_mean,
                           float *running_var, float epsilon, float momentum, float *saved,
                           float *y)
{
  bn_job j = forward_job (n, c, hw, x, gamma, beta, running_mean, running_var, epsilon, momentum,
                          saved, y);

  j.training = training;
  run_forward (be, &j);
}

/* A training pass with the rectifier in place on its output applied plane
 * by plane (the same bits as batchnorm_forward then activation_forward), or
 * (recompute) y again from the mean and inverse std that pass left in saved:
 * the same coefficients and planes, so the same bits. Without saved, a layer
 * on its running statistics (a fine-tuned backbone's): both passes normalise
 * with those, as batchnorm_forward does outside training. */
void
_sl_cpu_batchnorm_act (sl_backend *be, bool recompute, int n, int c, int hw, const float *x,
                       const float *gamma, const float *beta, float *running_mean,
                       float *running_var, float epsilon, float momentum, float *saved,
                       bool activate, sl_activation act, float slope, float *y)
{
  bn_job j = forward_job (n, c, hw, x, gamma, beta, running_mean, running_var, epsilon, momentum,
                          saved, y);

  j.training = !recompute && saved != NULL;
  j.apply = recompute && saved != NULL;
  j.activate = activate;
  j.act = act;
  j.slope = slope;
  run_forward (be, &j);
}

/* Sum of dy and of dy * (x - mean) over one plane, in 16 lanes (two
 * vectors): lanes[0..15] and lanes[16..31]. */
static void
plane_grad_lanes (const float *restrict x, const float *restrict g, int hw, float mean,
                  float *restrict lanes)
{
  v8f a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 };
  float *a = lanes, *b = lanes + LANE_SUMS;
  int k = 0;

  for (; k + 16 <= hw; k += 16)
    {
      const v8f g0 = load8 (g + k), g1 = load8 (g + k + 8);
      a0 += g0;
      a1 += g1;
      b0 += g0 * (load8 (x + k) - mean);
      b1 += g1 * (load8 (x + k + 8) - mean);
    }
  memcpy (a, &a0, sizeof a0);
  memcpy (a + 8, &a1, sizeof a1);
  memcpy (b, &b0, sizeof b0);
  memcpy (b + 8, &b1, sizeof b1);
  for (; k < hw; k++)
    {
      a[0] += g[k];
      b[0] += g[k] * (x[k] - mean);
    }
}

/* As add_lanes: sum dy, and sum dy xhat (dy (x - mean) times invstd). */
static void
add_grad_lanes (const float *lanes, float invstd, double *sum_dy, double *sum_dy_xhat)
{
  for (int l = 0; l < LANE_SUMS; l++)
    {
      *sum_dy += lanes[l];
      *sum_dy_xhat += (double) lanes[LANE_SUMS + l] * invstd;
    }
}

static void
plane_grad_sums (const float *restrict x, const float *restrict g, int hw, float mean, float invstd,
                 double *sum_dy, double *sum_dy_xhat)
{
  float lanes[2 * LANE_SUMS];

  plane_grad_lanes (x, g, hw, mean, lanes);
  add_grad_lanes (lanes, invstd, sum_dy, sum_dy_xhat);
}

/* dx over dy itself (batchnorm_backward_in_place): the same arithmetic. */
static void
plane_dx_in_place (const float *restrict x, float *restrict g, int hw, float mean, float invstd,
                   float k1, float mdy, float mdyx)
{
  for (int k = 0; k < hw; k++)
    g[k] = k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
}

static void
plane_dx (const float *restrict x, const float *restrict g, float *restrict d, int hw, float mean,
          float invstd, float k1, float mdy, float mdyx, bool accumulate)
{
  if (d == g)
    plane_dx_in_place (x, d, hw, mean, invstd, k1, mdy, mdyx);
  else if (accumulate)
    for (int k = 0; k < hw; k++)
      d[k] += k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
  else
    for (int k = 0; k < hw; k++)
      d[k] = k1 * (g[k] - mdy - (x[k] - mean) * invstd * mdyx);
}

/* The inference formula's input gradient: dy times gamma invstd. */
static void
plane_dx_running (const float *g, float *d, int hw, float k1, bool accumulate)
{
  if (d == g)
    for (int k = 0; k < hw; k++)
      d[k] *= k1;
  else if (accumulate)
    for (int k = 0; k < hw; k++)
      d[k] += k1 * g[k];
  else
    for (int k = 0; k < hw; k++)
      d[k] = k1 * g[k];
}

/* A layer on running statistics: the same invstd as its forward. */
static void
channel_statistics (const bn_job *j, long ch, float *mean, float *invstd)
{
  *mean = j->running ? j->running_mean[ch] : j->saved[ch];
  *invstd = j->running ? 1.0f / sqrtf (j->running_var[ch] + j->epsilon) : j->saved[j->c + ch];
}

/* From channel ch's sums: gamma's and beta's gradients (where wanted) and
 * the coefficients of dx. */
static void
channel_gradients (const bn_job *j, long ch, double sum_dy, double sum_dy_xhat, float invstd,
                   float *k1, float *mdy, float *mdyx)
{
  const double count = (double) j->n * j->hw;

  if (j->dgamma != NULL)
    {
      j->dbeta[ch] = (float) sum_dy;
      j->dgamma[ch] = (float) sum_dy_xhat;
    }
  *k1 = j->gamma[ch] * invstd;
  *mdy = (float) (sum_dy / count);
  *mdyx = (float) (sum_dy_xhat / count);
}

/* The inference formula's dx needs no sums: skipped when nobody wants gamma's and beta's. */
static bool
wants_sums (const bn_job *j)
{
  return !j->running || j->dgamma != NULL;
}

static void
plane_input_grad (const bn_job *j, size_t o, float mean, float invstd, float k1, float mdy,
                  float mdyx)
{
  if (j->running)
    plane_dx_running (j->dy + o, j->dx + o, j->hw, k1, j->accumulate);
  else
    plane_dx (j->x + o, j->dy + o, j->dx + o, j->hw, mean, invstd, k1, mdy, mdyx, j->accumulate);
}

static void
backward_share (void *ctx, int t, int threads)
{
  const bn_job *j = ctx;
  const int n = j->n, hw = j->hw;
  const size_t plane = (size_t) j->c * hw;
  const long block = block_channels (n, hw, 2);
  long c0, c1;

  _sl_split_range (j->c, t, threads, &c0, &c1);
  for (long b0 = c0; b0 < c1; b0 += block)
    {
      const long b1 = b0 + block < c1 ? b0 + block : c1;
      float mean[BLOCK_MAX], invstd[BLOCK_MAX], k1[BLOCK_MAX], mdy[BLOCK_MAX], mdyx[BLOCK_MAX];
      double sum_dy[BLOCK_MAX] = { 0 }, sum_dy_xhat[BLOCK_MAX] = { 0 };

      for (long ch = b0; ch < b1; ch++)
        channel_statistics (j, ch, &mean[ch - b0], &invstd[ch - b0]);
      if (wants_sums (j))
        for (int i = 0; i < n; i++)
          for (long ch = b0; ch < b1; ch++)
            {
              const size_t o = i * plane + ch * hw;
              plane_grad_sums (j->x + o, j->dy + o, hw, mean[ch - b0], invstd[ch - b0],
                               &sum_dy[ch - b0], &sum_dy_xhat[ch - b0]);
            }
      for (long ch = b0; ch < b1; ch++)
        channel_gradients (j, ch, sum_dy[ch - b0], sum_dy_xhat[ch - b0], invstd[ch - b0],
                           &k1[ch - b0], &mdy[ch - b0], &mdyx[ch - b0]);
      for (int i = 0; j->dx != NULL && i < n; i++)
        for (long ch = b0; ch < b1; ch++)
          plane_input_grad (j, i * plane + ch * hw, mean[ch - b0], invstd[ch - b0], k1[ch - b0],
                            mdy[ch - b0], mdyx[ch - b0]);
    }
}

static void
grad_sum_plane (const images_job *s, long i, long ch, size_t o)
{
  plane_grad_lanes (s->j->x + o, s->j->dy + o, s->j->hw, s->mean[ch], lanes_at (s, i, ch));
}

static void
input_grad_plane (const images_job *s, long i, long ch, size_t o)
{
  (void) i;
  plane_input_grad (s->j, o, s->mean[ch], s->invstd[ch], s->k1[ch], s->mdy[ch], s->mdyx[ch]);
}

/* The backward pass split by images (see forward_images). */
static bool
backward_images (sl_cpu *cpu, const bn_job *j)
{
  const bool sums = wants_sums (j);
  const size_t lanes = sums ? (size_t) j->n * j->c * 2 * LANE_SUMS : 0;
  float *scratch
      = split_images (j, cpu->threads) ? scratch_of (cpu, lanes + 5 * (size_t) j->c) : NULL;
  float *mean, *invstd, *k1, *mdy, *mdyx;
  images_job s = { .j = j, .lanes = scratch };

  if (scratch == NULL)
    return false;
  s.mean = mean = scratch + lanes;
  s.invstd = invstd = mean + j->c;
  s.k1 = k1 = invstd + j->c;
  s.mdy = mdy = k1 + j->c;
  s.mdyx = mdyx = mdy + j->c;
  for (long ch = 0; ch < j->c; ch++)
    channel_statistics (j, ch, &mean[ch], &invstd[ch]);
  s.each = grad_sum_plane;
  if (sums)
    _sl_threadpool_run (cpu->pool, own_planes, &s);
  for (long ch = 0; ch < j->c; ch++)
    {
      double sum_dy = 0.0, sum_dy_xhat = 0.0;

      for (long i = 0; sums && i < j->n; i++)
        add_grad_lanes (lanes_at (&s, i, ch), invstd[ch], &sum_dy, &sum_dy_xhat);
      channel_gradients (j, ch, sum_dy, sum_dy_xhat, invstd[ch], &k1[ch], &mdy[ch], &mdyx[ch]);
    }
  s.each = input_grad_plane;
  if (j->dx != NULL)
    _sl_threadpool_run (cpu->pool, own_planes, &s);
  return true;
}

static void
run_backward (sl_backend *be, bn_job *j)
{
  sl_cpu *cpu = _sl_cpu_of (be);

  if (!backward_images (cpu, j))
    _sl_threadpool_run (cpu->pool, backward_share, j);
}

void
_sl_cpu_batchnorm_backward (sl_backend *be, int n, int c, int hw, const float *x,
                            const float *gamma, const float *saved, float epsilon, const float *dy,
                            float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  bn_job j = { .n = n,
               .c = c,
               .hw = hw,
               .x = x,
               .gamma = gamma,
               .saved = (float *) saved,
               .dy = dy,
               .dx = dx,
               .accumulate = accumulate,
               .dgamma = dgamma,
               .dbeta = dbeta };

  run_backward (be, &j);
}

/* Backward of the inference formula: the mean and variance are constants
 * (the running statistics), so no batch terms enter dx. */
void
_sl_cpu_batchnorm_backward_running (sl_backend *be, int n, int c, int hw, const float *x,
                                    const float *gamma, const float *running_mean,
                                    const float *running_var, float epsilon, const float *dy,
                                    float *dx, bool accumulate, float *dgamma, float *dbeta)
{
  bn_job j = { .running = true,
               .n = n,
               .c = c,
               .hw = hw,
               .x = x,
               .gamma = gamma,
               .running_mean = (float *) running_mean,
               .running_var = (float *) running_var,
               .epsilon = epsilon,
               .dy = dy,
               .dx = dx,
               .accumulate = accumulate,
               .dgamma = dgamma,
               .dbeta = dbeta };

  run_backward (be, &j);
}
