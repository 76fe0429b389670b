/* sl-cpu-conv.c: conv2d on the CPU by im2col + OpenBLAS GEMM over chunks of images, the batch
 * split over the pool; depthwise convolutions go to the direct kernels of sl-cpu-depthwise.c, and
 * the shapes the direct kernels (sl-cpu-conv-direct.c, -channels.c) and Winograd's
 * (sl-cpu-conv-winograd.c) do better to them. */

/* Input gradients of stride-1 convolutions on large images are a forward
 * convolution of dy with the flipped, transposed filters ("dx as a
 * convolution"): one well-shaped GEMM, M = in_c, K = out_c * kh * kw, over
 * the columns of dy, instead of a GEMM with K = out_c (16 or 32: memory-bound)
 * that writes a column matrix nine times the input, followed by col2im. */
#include "sl-cpu-private.h"

#include <string.h>

/* Small images make narrow GEMMs (7x7 outputs: 49 columns), which OpenBLAS
 * runs far below its peak; such images are processed several at a time, side
 * by side, for about this many columns. Larger ones go one by one: measured
 * on 14x14 and 28x28 layers, chunks gained nothing there. */
#define CHUNK_COLUMNS 256
#define MAX_CHUNK     8

static size_t
larger (size_t a, size_t b)
{
  return a > b ? a : b;
}

/* The direct weight gradient takes images of at least this many runs of
 * output pixels (a vector register each)... */
#define DIRECT_DW_MIN_RUNS 16
/* ...where its vector sums (one register per weight, per thread) fit in the
 * level-2 cache: every image adds onto all of them. bench/bench-conv, batch
 * 32, 2 threads, backward ms (GEMM -> direct): small-bn 16 -> 32 at 64 x 64,
 * 288 KiB of sums, 11.7 -> 7.8; resnet-s 32 -> 32 at 16 x 16, 576 KiB, 1.48 ->
 * 1.33; small-bn 64 -> 128 at 16 x 16, 4.5 MiB, 8.1 -> 10.1; 32 -> 64 at 14 x
 * 14, 1.1 MiB, 1.9 -> 2.4. */
#define DIRECT_DW_MAX_SUMS_BYTES (1 << 20)
/* The input gradient by Winograd's kernel where its transformed filters stay
 * in the level-2 cache from one image to the next, between which the weight
 * gradient runs: small-bn's 128 -> 256 at 8 x 8 (2 MiB of them), batch 32, 2
 * threads, backward 6.7 ms with the filter-vectorised kernel, 7.7 with
 * Winograd's; 64 -> 128 at 16 x 16 (512 KiB) 6.6 -> 6.2. */
#define WINOGRAD_DX_MAX_PACK_BYTES (1 << 20)

typedef struct
{
  int kdim;   /* rows of one group's column matrix: in_c / groups * kh * kw */
  int cout_g; /* filters per group */
  int ohw;    /* output pixels */
  int chunk;  /* images per GEMM */
  size_t in_size, out_size, w_count, col_size;
  bool pointwise;    /* 1 x 1, stride 1, no padding: the image is its own column matrix */
  bool dx_as_conv;   /* dx by the convolution of dy with the flipped filters (see top) */
  bool direct_dx;    /* and that convolution by a direct kernel, no columns for it: */
  bool channels_dx;  /* the one vectorised over filters, or else over pixels */
  bool winograd_dx;  /* or by Winograd's minimal filtering (sl-cpu-conv-winograd.c) */
  bool direct_dw;    /* the weight gradient by the direct kernel, no columns for it */
  bool winograd_dw;  /* or by Winograd's (sl-cpu-conv-winograd.c) */
  size_t col_floats; /* per image of a chunk: the larger of both column matrices */
  size_t room;       /* direct kernels: per thread, their bordered copies */
  size_t dw_sums;    /* direct_dw, winograd_dw: per thread, the weight gradient's sums */
  size_t dx_pack;    /* direct_dx: the flipped filters packed for the kernel */
  bool phase_dx;     /* strided: dx phase by phase (sl-cpu-conv-phases.c) */
} conv_dims;

/* A stride-1, undilated, ungrouped convolution with a kernel larger than
 * 1 x 1 whose padding is at most the kernel's reach on each side: its dx is
 * a convolution of dy. */
static bool
dx_is_conv (const sl_conv_desc *d)
{
  return d->groups == 1 && d->sh == 1 && d->sw == 1 && d->dh == 1 && d->dw == 1 && d->kh * d->kw > 1
         && d->ph <= d->kh - 1 && d->ph_end <= d->kh - 1 && d->pw <= d->kw - 1
         && d->pw_end <= d->kw - 1;
}

/* By GEMM over dy's columns: on images processed one at a time (chunks of
 * one), with no more filters than input channels, so that dy's columns are no
 * larger than x's. Where filters double (small-bn's 32 -> 64 -> 128), the old
 * GEMM has K = out_c >= 64, no longer memory-bound, and dy's columns would be
 * twice x's: measured, 7 % slower. */
static bool
dx_as_conv_applies (const sl_conv_desc *d, int chunk)
{
  return chunk == 1 && d->out_c <= d->in_c && dx_is_conv (d);
}

/* The convolution that maps dy to dx: out_c inputs, in_c outputs, the
 * padding that the original left out of each side. */
sl_conv_desc
_sl_cpu_conv_dx_desc (const sl_conv_desc *d)
{
  sl_conv_desc t = *d;

  t.in_c = d->out_c;
  t.in_h = d->out_h;
  t.in_w = d->out_w;
  t.out_c = d->in_c;
  t.out_h = d->in_h;
  t.out_w = d->in_w;
  t.ph = d->kh - 1 - d->ph;
  t.ph_end = d->kh - 1 - d->ph_end;
  t.pw = d->kw - 1 - d->pw;
  t.pw_end = d->kw - 1 - d->pw_end;
  return t;
}

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
  c.col_size = (size_t) d->in_c * d->kh * d->kw * c.ohw;
  c.pointwise = d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0
                && d->ph_end == 0 && d->pw_end == 0;
  c.chunk = CHUNK_COLUMNS / (c.ohw > 0 ? c.ohw : 1);
  c.chunk = c.chunk < 1 ? 1 : (c.chunk > MAX_CHUNK ? MAX_CHUNK : c.chunk);
  c.dx_as_conv = dx_as_conv_applies (d, c.chunk);
  c.direct_dx = c.channels_dx = c.winograd_dx = false;
  c.room = c.dx_pack = c.dw_sums = 0;
  if (dx_is_conv (d))
    {
      const sl_conv_desc t = _sl_cpu_conv_dx_desc (d);

      /* Both direct kernels take the same room and packed filters;
       * Winograd's, where a pass's images pay for it, its own. */
      c.winograd_dx = _sl_cpu_winograd_conv_applies (&t)
                      && _sl_cpu_winograd_conv_packed_floats (&t) * sizeof (float)
                             <= WINOGRAD_DX_MAX_PACK_BYTES;
      c.channels_dx = _sl_cpu_channels_conv_applies (&t);
      c.direct_dx = c.channels_dx || _sl_cpu_direct_conv_applies (&t);
      if (c.direct_dx)
        {
          c.room = _sl_cpu_direct_conv_image_floats (&t);
          c.dx_pack = _sl_cpu_direct_conv_packed_floats (&t);
        }
      else
        c.winograd_dx = false; /* never without a kernel for passes it does not pay in */
      if (c.winograd_dx)
        {
          c.room = larger (c.room, _sl_cpu_winograd_conv_image_floats (&t));
          c.dx_pack = larger (c.dx_pack, _sl_cpu_winograd_conv_packed_floats (&t));
        }
    }
  c.direct_dw
      = _sl_cpu_direct_conv_applies (d)
        && (long) d->out_h * ((d->out_w + SL_CPU_VECTOR_LANES - 1) / SL_CPU_VECTOR_LANES)
               >= DIRECT_DW_MIN_RUNS
        && _sl_cpu_direct_conv_grad_sums_floats (d) * sizeof (float) <= DIRECT_DW_MAX_SUMS_BYTES;
  if (c.direct_dw && _sl_cpu_direct_conv_grad_image_floats (d) > c.room)
    c.room = _sl_cpu_direct_conv_grad_image_floats (d);
  if (c.direct_dw)
    c.dw_sums = _sl_cpu_direct_conv_grad_sums_floats (d);
  c.winograd_dw = _sl_cpu_winograd_conv_grad_applies (d);
  if (c.winograd_dw)
    {
      c.direct_dw = false;
      c.room = larger (c.room, _sl_cpu_winograd_conv_grad_image_floats (d));
      c.dw_sums = _sl_cpu_winograd_conv_grad_sums_floats (d);
    }
  c.col_floats = c.col_size;
  /* Phase by phase where that needs no more columns than the GEMM route:
   * not for a few input channels (a stem's 3: a phase's columns hold out_c
   * rows of dy per tap). */
  c.phase_dx = _sl_cpu_phase_dx_applies (d) && _sl_cpu_phase_dx_col_floats (d) <= c.col_size;
  if (c.dx_as_conv)
    {
      const size_t dy_cols = (size_t) d->out_c * d->kh * d->kw * d->in_h * d->in_w;

      c.col_floats = dy_cols > c.col_size ? dy_cols : c.col_size;
    }
  return c;
}

/* Per thread: columns and an output staging area for one chunk, room for the
 * direct kernels' bordered copies and the direct weight gradient's sums, and
 * for dx by phases, one image's phases. */
static size_t
thread_floats (const conv_dims *c)
{
  return (size_t) c->chunk * (c->col_floats + c->out_size) + c->room + c->dw_sums
         + (c->phase_dx ? c->in_size : 0);
}

/* The threads' areas, then (dx as a convolution) the flipped filters and
 * (direct dx) their packed copy, or (dx by phases) the phases' filters. */
size_t
_sl_cpu_gemm_conv_workspace_floats (const sl_conv_desc *d, int threads)
{
  conv_dims c = conv_dims_of (d);

  return thread_floats (&c) * (size_t) threads
         + (c.dx_as_conv || c.direct_dx ? c.w_count + c.dx_pack
            : c.phase_dx                ? c.w_count
                                        : 0);
}

size_t
_sl_cpu_gemm_conv_grad_scratch_floats (const sl_conv_desc *d)
{
  return conv_dims_of (d).w_count + (size_t) d->out_c;
}

/* Whether passes of n images take Winograd's F(4x4, 3x3) kernel for the
 * input gradient (forward and weight gradient: _sl_cpu_winograd4_conv_pays). */
static bool
winograd4_dx_pays (const sl_conv_desc *d, int n)
{
  if (!dx_is_conv (d))
    return false;
  const sl_conv_desc t = _sl_cpu_conv_dx_desc (d);
  return _sl_cpu_winograd4_conv_pays (&t, n);
}

/* Direct convolutions still take their gradients by GEMM: room for both;
 * and for Winograd's F(4x4, 3x3) kernel where passes of n images take it. */
size_t
_sl_cpu_conv2d_workspace_floats (const sl_conv_desc *d, int n, int threads)
{
  size_t gemm, direct;

  if (_sl_cpu_is_depthwise (d))
    return _sl_cpu_depthwise_workspace_floats (d, threads);
  gemm = _sl_cpu_gemm_conv_workspace_floats (d, threads);
  if (_sl_cpu_winograd4_conv_pays (d, n))
    gemm = larger (gemm, _sl_cpu_winograd4_conv_workspace_floats (d, n, threads));
  if (winograd4_dx_pays (d, n))
    {
      const sl_conv_desc t = _sl_cpu_conv_dx_desc (d);

      gemm = larger (gemm, _sl_cpu_winograd4_conv_workspace_floats (&t, n, threads));
    }
  if (!_sl_cpu_direct_conv_applies (d) && !_sl_cpu_channels_conv_applies (d))
    return gemm;
  /* Either direct kernel: packed filters and a bordered image a thread; and
   * Winograd's, which small passes leave to them. */
  direct = _sl_cpu_direct_conv_workspace_floats (d, threads);
  if (_sl_cpu_winograd_conv_applies (d))
    direct = larger (direct, _sl_cpu_winograd_conv_workspace_floats (d, threads));
  return larger (direct, gemm);
}

/* The direct depthwise kernels need no per-thread weight gradients. */
size_t
_sl_cpu_conv2d_grad_scratch_floats (const sl_conv_desc *d)
{
  if (_sl_cpu_is_depthwise (d))
    return 0;
  return _sl_cpu_gemm_conv_grad_scratch_floats (d);
}

size_t
_sl_cpu_conv2d_workspace (sl_backend *be, const sl_conv_desc *d, int n)
{
  return _sl_cpu_conv2d_workspace_floats (d, n, _sl_cpu_of (be)->threads);
}

size_t
_sl_cpu_conv2d_grad_scratch (sl_backend *be, const sl_conv_desc *d)
{
  return _sl_cpu_conv2d_grad_scratch_floats (d);
}

typedef struct
{
  const sl_conv_desc *d;
  conv_dims cd;
  int n;
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw, *db, *ws, *scratch;
  float *w_flipped;     /* dx as a convolution: in_c x (out_c kh kw) */
  float *dx_pack;       /* direct dx: the flipped filters packed for the kernel */
  float *w_phases;      /* dx by phases: each phase's filters (sl-cpu-conv-phases.c) */
  sl_conv_desc dx_desc; /* and the convolution it is */
  bool dw_from_dy;      /* dx as a convolution by GEMM: dw from dy's columns, flipped */
  bool accumulate;
} conv_job;

/* Each output plane starts as its bias; the GEMM then adds onto it. */
static void
fill_bias (float *y, const float *b, int channels, int ohw)
{
  for (int oc = 0; oc < channels; oc++)
    for (int p = 0; p < ohw; p++)
      y[(size_t) oc * ohw + p] = b[oc];
}

/* Column matrices of b images side by side (rows ld = b * ohw floats long).
 * A single pointwise image needs none: it is used in place. */
static const float *
chunk_columns (const conv_job *j, const float *x, int b, float *col, size_t ld)
{
  const conv_dims *c = &j->cd;

  if (c->pointwise && b == 1)
    return x;
  for (int k = 0; k < b; k++)
    {
      const float *xk = x + k * c->in_size;

      if (c->pointwise)
        for (int r = 0; r < j->d->in_c; r++)
          memcpy (col + r * ld + (size_t) k * c->ohw, xk + (size_t) r * c->ohw,
                  sizeof (float) * c->ohw);
      else
        _sl_im2col (j->d, xk, col + (size_t) k * c->ohw, ld);
    }
  return col;
}

static void
forward_chunk (const conv_job *j, long first, int b, float *col, float *stage)
{
  const sl_conv_desc *d = j->d;
  const conv_dims *c = &j->cd;
  const size_t ld = (size_t) b * c->ohw;
  const float *x = j->x + first * c->in_size;
  float *y = j->y + first * c->out_size;
  const float *cols = chunk_columns (j, x, b, col, ld);
  /* One image writes its output in place, bias first and the GEMM adding on. */
  float *out = b == 1 ? y : stage;
  const bool in_place_bias = b == 1 && j->b != NULL;

  if (in_place_bias)
    fill_bias (y, j->b, d->out_c, c->ohw);
  for (int g = 0; g < d->groups; g++)
    _sl_cpu_sgemm (false, false, c->cout_g, (int) ld, c->kdim, 1.0f,
                   j->w + (size_t) g * c->cout_g * c->kdim, c->kdim, cols + g * c->kdim * ld,
                   (int) ld, in_place_bias ? 1.0f : 0.0f, out + g * c->cout_g * ld, (int) ld);
  if (b == 1)
    return;
  /* Scatter the chunk's [filters x images x pixels] rows into NCHW images. */
  for (int k = 0; k < b; k++)
    for (int oc = 0; oc < d->out_c; oc++)
      {
        const float *src = stage + oc * ld + (size_t) k * c->ohw;
        float *dst = y + k * c->out_size + (size_t) oc * c->ohw;
        const float bias = j->b != NULL ? j->b[oc] : 0.0f;

        for (int p = 0; p < c->ohw; p++)
          dst[p] = src[p] + bias;
      }
}

static void
forward_share (void *ctx, int t, int threads)
{
  const conv_job *j = ctx;
  float *col = j->ws + (size_t) t * thread_floats (&j->cd);
  float *stage = col + (size_t) j->cd.chunk * j->cd.col_floats;
  long i0, i1;

  _sl_split_range (j->n, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i += j->cd.chunk)
    forward_chunk (j, i, (int) (i1 - i < j->cd.chunk ? i1 - i : j->cd.chunk), col, stage);
}

/* Fewer images than threads (batch-1 inference): one image at a time, its
 * GEMM split over the pool. */
static void
forward_narrow (sl_cpu *cpu, const conv_job *j)
{
  const conv_dims *c = &j->cd;

  for (int i = 0; i < j->n; i++)
    {
      const float *cols = chunk_columns (j, j->x + i * c->in_size, 1, j->ws, c->ohw);
      float *yi = j->y + i * c->out_size;

      if (j->b != NULL)
        fill_bias (yi, j->b, j->d->out_c, c->ohw);
      _sl_cpu_gemm (cpu, false, false, c->cout_g, c->ohw, c->kdim, 1.0f, j->w, c->kdim, cols,
                    c->ohw, j->b != NULL ? 1.0f : 0.0f, yi, c->ohw);
    }
}

void
_sl_cpu_gemm_conv_forward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                           const float *w, const float *b, float *y, float *ws)
{
  conv_job j = { .d = d, .cd = conv_dims_of (d), .n = n, .x = x, .w = w, .b = b, .y = y, .ws = ws };

  if (n < cpu->threads && d->groups == 1)
    forward_narrow (cpu, &j);
  else
    _sl_threadpool_run (cpu->pool, forward_share, &j);
}

/* The direct kernels' packed filters (either kernel's: the same size), which
 * an inference plan makes once (0: the layer's path packs nothing). */
size_t
_sl_cpu_conv2d_pack_floats (sl_backend *be, const sl_conv_desc *d)
{
  (void) be;
  return !_sl_cpu_is_depthwise (d)
                 && (_sl_cpu_channels_conv_applies (d) || _sl_cpu_direct_conv_applies (d))
             ? _sl_cpu_direct_conv_packed_floats (d)
             : 0;
}

void
_sl_cpu_conv2d_pack (sl_backend *be, const sl_conv_desc *d, const float *w, const float *b,
                     float *pack)
{
  (void) be;
  if (_sl_cpu_channels_conv_applies (d))
    _sl_cpu_channels_conv_pack (d, w, b, pack);
  else
    _sl_cpu_direct_conv_pack (d, w, b, pack);
}

void
_sl_cpu_conv2d_forward_fused (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                              const float *w, const float *b, const float *pack, const float *r,
                              bool activate, sl_activation act, float slope, float *y, float *ws,
                              size_t ws_floats)
{
  sl_cpu *cpu = _sl_cpu_of (be);
  const sl_cpu_epilogue e = { .r = r, .activate = activate, .act = act, .slope = slope };
  const sl_cpu_epilogue *post = r != NULL || activate ? &e : NULL;

  (void) ws_floats;
  /* The direct kernels apply the epilogue to each image's rows as they
   * finish them; after the other paths it is a pass of its own. */
  if (_sl_cpu_is_depthwise (d))
    _sl_cpu_depthwise_forward (cpu, d, n, x, w, b, y, ws);
  else if (_sl_cpu_winograd4_conv_pays (d, n))
    _sl_cpu_winograd4_conv_forward (cpu, d, n, x, w, false, b, y, false, ws);
  else if (_sl_cpu_winograd_conv_pays (d, n))
    _sl_cpu_winograd_conv_forward (cpu, d, n, x, w, b, y, false, ws);
  else if (_sl_cpu_channels_conv_applies (d))
    {
      _sl_cpu_channels_conv_forward (cpu, d, n, x, w, b, pack, post, y, ws);
      post = NULL;
    }
  else if (_sl_cpu_direct_conv_applies (d))
    {
      _sl_cpu_direct_conv_forward (cpu, d, n, x, w, b, pack, post, y, ws);
      post = NULL;
    }
  else
    _sl_cpu_gemm_conv_forward (cpu, d, n, x, w, b, y, ws);
  if (post != NULL)
    _sl_cpu_epilogue_run (be, post, (size_t) n * d->out_c * d->out_h * d->out_w, y);
}

void
_sl_cpu_conv2d_forward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                        const float *w, const float *b, float *y, float *ws, size_t ws_floats)
{
  _sl_cpu_conv2d_forward_fused (be, d, n, x, w, b, NULL, NULL, false, SL_ACT_RELU, 0.0f, y, ws,
                                ws_floats);
}

/* dx of one image by the direct kernel chosen for it (direct_dx). */
static void
dx_image (const conv_dims *c, const sl_conv_desc *t, const float *dy, const float *pack, float *dx,
          bool accumulate, float *room)
{
  if (c->winograd_dx)
    _sl_cpu_winograd_conv_image (t, dy, pack, dx, accumulate, room);
  else if (c->channels_dx)
    _sl_cpu_channels_conv_image (t, dy, pack, dx, accumulate, room);
  else
    _sl_cpu_direct_conv_image (t, dy, pack, dx, accumulate, room);
}

static void
backward_chunk (const conv_job *j, long first, int b, float *dw, float *db, float *col,
                float *stage, float *room, float *sums)
{
  const sl_conv_desc *d = j->d;
  const conv_dims *c = &j->cd;
  const size_t ld = (size_t) b * c->ohw;
  const float *x = j->x + first * c->in_size;
  const float *dy = j->dy + first * c->out_size;
  const float *dym = dy;

  /* The chunk's output gradients as one [filters x images * pixels] matrix. */
  if (b > 1)
    {
      for (int k = 0; k < b; k++)
        for (int oc = 0; oc < d->out_c; oc++)
          memcpy (stage + oc * ld + (size_t) k * c->ohw,
                  dy + k * c->out_size + (size_t) oc * c->ohw, sizeof (float) * c->ohw);
      dym = stage;
    }
  if (db != NULL)
    for (int oc = 0; oc < d->out_c; oc++)
      {
        const float *row = dym + oc * ld;
        float s = 0.0f;

        for (size_t p = 0; p < ld; p++)
          s += row[p];
        db[oc] += s;
      }

  /* The weight gradient: by the direct kernel or Winograd's, or from x's
   * columns, or (dx as a convolution by GEMM) from dy's columns below. */
  if (dw != NULL && c->direct_dw)
    for (int k = 0; k < b; k++)
      _sl_cpu_direct_conv_weight_grad_image (d, x + k * c->in_size, dy + k * c->out_size, sums,
                                             room);
  else if (dw != NULL && c->winograd_dw)
    for (int k = 0; k < b; k++)
      _sl_cpu_winograd_conv_weight_grad_image (d, x + k * c->in_size, dy + k * c->out_size, sums,
                                               room);
  else if (dw != NULL && !j->dw_from_dy)
    {
      const float *cols = chunk_columns (j, x, b, col, ld);

      for (int g = 0; g < d->groups; g++)
        _sl_cpu_sgemm (false, true, c->cout_g, c->kdim, (int) ld, 1.0f, dym + g * c->cout_g * ld,
                       (int) ld, cols + g * c->kdim * ld, (int) ld, 1.0f,
                       dw + (size_t) g * c->cout_g * c->kdim, c->kdim);
    }
  if (j->dx == NULL)
    return;

  float *dx = j->dx + first * c->in_size;
  if (c->dx_as_conv)
    {
      /* Chunks of one image (dx_as_conv_applies): dy's columns, then one GEMM
       * for dx and, with them, one for the weight gradient in the flipped
       * filters' layout (x times the columns' transpose), unflipped at the end. */
      const sl_conv_desc *t = &j->dx_desc;
      const int in_hw = d->in_h * d->in_w, k = t->in_c * t->kh * t->kw;
      const bool dw_here = dw != NULL && j->dw_from_dy;

      if (dw_here || !c->direct_dx)
        _sl_im2col (t, dym, col, (size_t) in_hw);
      if (dw_here)
        _sl_cpu_sgemm (false, true, d->in_c, k, in_hw, 1.0f, x, in_hw, col, in_hw, 1.0f, dw, k);
      if (c->direct_dx)
        dx_image (c, t, dy, j->dx_pack, dx, j->accumulate, room);
      else
        _sl_cpu_sgemm (false, false, d->in_c, in_hw, k, 1.0f, j->w_flipped, k, col, in_hw,
                       j->accumulate ? 1.0f : 0.0f, dx, in_hw);
      return;
    }
  if (c->direct_dx)
    {
      for (int k = 0; k < b; k++)
        dx_image (c, &j->dx_desc, dy + k * c->out_size, j->dx_pack, dx + k * c->in_size,
                  j->accumulate, room);
      return;
    }
  if (c->phase_dx)
    {
      for (int k = 0; k < b; k++)
        _sl_cpu_phase_dx_image (d, j->w_phases, dy + k * c->out_size, dx + k * c->in_size,
                                j->accumulate, col, sums + c->dw_sums);
      return;
    }
  if (c->pointwise && b == 1)
    {
      /* The column matrix is dx itself, one block of rows per group. */
      for (int g = 0; g < d->groups; g++)
        _sl_cpu_sgemm (true, false, c->kdim, c->ohw, c->cout_g, 1.0f,
                       j->w + (size_t) g * c->cout_g * c->kdim, c->kdim,
                       dym + (size_t) g * c->cout_g * c->ohw, c->ohw, j->accumulate ? 1.0f : 0.0f,
                       dx + (size_t) g * c->kdim * c->ohw, c->ohw);
      return;
    }
  for (int g = 0; g < d->groups; g++)
    _sl_cpu_sgemm (true, false, c->kdim, (int) ld, c->cout_g, 1.0f,
                   j->w + (size_t) g * c->cout_g * c->kdim, c->kdim, dym + g * c->cout_g * ld,
                   (int) ld, 0.0f, col + g * c->kdim * ld, (int) ld);
  for (int k = 0; k < b; k++)
    {
      float *dxk = dx + k * c->in_size;

      if (!c->pointwise)
        {
          _sl_col2im (d, col + (size_t) k * c->ohw, ld, dxk, j->accumulate);
          continue;
        }
      for (int r = 0; r < d->in_c; r++)
        {
          const float *src = col + r * ld + (size_t) k * c->ohw;
          float *dst = dxk + (size_t) r * c->ohw;

          for (int p = 0; p < c->ohw; p++)
            _sl_store_grad (&dst[p], src[p], j->accumulate);
        }
    }
}

static void
backward_share (void *ctx, int t, int threads)
{
  const conv_job *j = ctx;
  const conv_dims *c = &j->cd;
  float *col = j->ws + (size_t) t * thread_floats (c);
  float *stage = col + (size_t) c->chunk * c->col_floats;
  float *room = stage + (size_t) c->chunk * c->out_size;
  float *sums = room + c->room;
  /* Thread 0 sums straight into the gradients; the others into scratch. */
  float *mine = t == 0 || (j->dw == NULL && j->db == NULL)
                    ? NULL
                    : j->scratch + (size_t) (t - 1) * (c->w_count + j->d->out_c);
  float *dw = j->dw == NULL ? NULL : t == 0 ? j->dw : mine;
  float *db = j->db == NULL ? NULL : t == 0 ? j->db : mine + c->w_count;
  long i0, i1;

  if (dw != NULL)
    memset (dw, 0, sizeof (float) * c->w_count);
  if (dw != NULL && (c->direct_dw || c->winograd_dw))
    memset (sums, 0, sizeof (float) * c->dw_sums);
  if (db != NULL)
    memset (db, 0, sizeof (float) * j->d->out_c);
  _sl_split_range (j->n, t, threads, &i0, &i1);
  for (long i = i0; i < i1; i += c->chunk)
    backward_chunk (j, i, (int) (i1 - i < c->chunk ? i1 - i : c->chunk), dw, db, col, stage, room,
                    sums);
  if (dw != NULL && c->direct_dw)
    _sl_cpu_direct_conv_weight_grad_finish (j->d, sums, dw);
  else if (dw != NULL && c->winograd_dw)
    _sl_cpu_winograd_conv_weight_grad_finish (j->d, sums, dw);
}

static void
reduce_share (void *ctx, int t, int threads)
{
  const conv_job *j = ctx;
  const size_t w_count = j->cd.w_count, stride = w_count + j->d->out_c;
  const size_t total = w_count + (j->db != NULL ? (size_t) j->d->out_c : 0);
  float *dw = j->dw, *db = j->db;
  long e0, e1, w_end;

  _sl_split_range ((long) total, t, threads, &e0, &e1);
  w_end = e1 < (long) w_count ? e1 : (long) w_count;
  for (int s = 0; s < threads - 1; s++)
    {
      const float *src = j->scratch + (size_t) s * stride;

      for (long e = e0; dw != NULL && e < w_end; e++)
        dw[e] += src[e];
      for (long e = e0 > (long) w_count ? e0 : (long) w_count; e < e1; e++)
        db[e - w_count] += src[e];
    }
}

/* w as [out_c][in_c][kh][kw] -> flipped[in_c][out_c][kh - 1 - ki][kw - 1 - kj]: the filters of
 * the convolution that maps dy to dx, rows in the order of dy's column matrix. */
static void
flip_filters (const sl_conv_desc *d, const float *w, float *flipped)
{
  const int taps = d->kh * d->kw;

  for (int oc = 0; oc < d->out_c; oc++)
    for (int ic = 0; ic < d->in_c; ic++)
      {
        const float *src = w + ((size_t) oc * d->in_c + ic) * taps;
        float *dst = flipped + ((size_t) ic * d->out_c + oc) * taps;

        for (int k = 0; k < taps; k++)
          dst[k] = src[taps - 1 - k];
      }
}

/* The inverse of flip_filters. */
static void
unflip_filters (const sl_conv_desc *d, const float *flipped, float *w)
{
  const int taps = d->kh * d->kw;

  for (int oc = 0; oc < d->out_c; oc++)
    for (int ic = 0; ic < d->in_c; ic++)
      {
        const float *src = flipped + ((size_t) ic * d->out_c + oc) * taps;
        float *dst = w + ((size_t) oc * d->in_c + ic) * taps;

        for (int k = 0; k < taps; k++)
          dst[k] = src[taps - 1 - k];
      }
}

void
_sl_cpu_gemm_conv_backward (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                            const float *w, const float *dy, float *dx, bool accumulate, float *dw,
                            float *db, float *ws, float *scratch)
{
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
                 .accumulate = accumulate };

  j.dw_from_dy = dx != NULL && j.cd.dx_as_conv && !j.cd.direct_dw && !j.cd.winograd_dw;
  if (dx != NULL && (j.cd.dx_as_conv || j.cd.direct_dx))
    {
      j.dx_desc = _sl_cpu_conv_dx_desc (d);
      j.cd.winograd_dx = j.cd.winograd_dx && _sl_cpu_winograd_conv_pays (&j.dx_desc, n);
      j.w_flipped = ws + thread_floats (&j.cd) * (size_t) cpu->threads;
      flip_filters (d, w, j.w_flipped);
      if (j.cd.direct_dx)
        {
          j.dx_pack = j.w_flipped + j.cd.w_count;
          (j.cd.winograd_dx ? _sl_cpu_winograd_conv_pack
           : j.cd.channels_dx
               ? _sl_cpu_channels_conv_pack
               : _sl_cpu_direct_conv_pack) (&j.dx_desc, j.w_flipped, NULL, j.dx_pack);
        }
    }
  if (dx != NULL && j.cd.phase_dx)
    {
      j.w_phases = ws + thread_floats (&j.cd) * (size_t) cpu->threads;
      _sl_cpu_phase_dx_pack (d, w, j.w_phases);
    }
  _sl_threadpool_run (cpu->pool, backward_share, &j);
  if (cpu->threads > 1 && (dw != NULL || db != NULL))
    _sl_threadpool_run (cpu->pool, reduce_share, &j);
  if (j.dw_from_dy && dw != NULL)
    {
      /* dw holds the flipped filters' gradient: the flipped weights are spent,
       * so their room takes a copy to unflip from. */
      memcpy (j.w_flipped, dw, sizeof (float) * j.cd.w_count);
      unflip_filters (d, j.w_flipped, dw);
    }
}

void
_sl_cpu_conv2d_backward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                         const float *w, const float *dy, float *dx, bool accumulate, float *dw,
                         float *db, float *ws, size_t ws_floats, float *scratch)
{
  sl_cpu *cpu = _sl_cpu_of (be);

  (void) ws_floats;
  if (_sl_cpu_is_depthwise (d))
    {
      _sl_cpu_depthwise_backward (cpu, d, n, x, w, dy, dx, accumulate, dw, db, ws);
      return;
    }
  /* Winograd's F(4x4, 3x3) kernel takes the gradients it pays for, one
   * after the other in the same workspace; the GEMM path the rest. */
  const bool w4_dw = dw != NULL && _sl_cpu_winograd4_conv_pays (d, n);
  const bool w4_dx = dx != NULL && winograd4_dx_pays (d, n);
  if (w4_dw)
    _sl_cpu_winograd4_conv_weight_grad (cpu, d, n, x, dy, dw, ws);
  if (w4_dx)
    {
      const sl_conv_desc t = _sl_cpu_conv_dx_desc (d);

      _sl_cpu_winograd4_conv_forward (cpu, &t, n, dy, w, true, NULL, dx, accumulate, ws);
    }
  if ((dx != NULL && !w4_dx) || (dw != NULL && !w4_dw) || db != NULL)
    _sl_cpu_gemm_conv_backward (cpu, d, n, x, w, dy, w4_dx ? NULL : dx, accumulate,
                                w4_dw ? NULL : dw, db, ws, scratch);
}
