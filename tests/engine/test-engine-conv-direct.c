/* test-engine-conv-direct.c: the direct convolution kernels of the CPU backend (vectorised over
 * pixels, over filters, and Winograd's for 3 x 3 where those apply) against the definition in
 * double precision, and the rules that pick them over im2col + GEMM. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <string.h>

typedef struct
{
  const char *name;
  int n, in_c, out_c, h, w, kh, kw, s;
  int top, left, bottom, right;
  gboolean bias;
} DirectCase;

/* Strides 1 and 2, kernels 3 x 3, 5 x 5 and 2 x 3, "same", "valid" and asymmetric ("TF same")
 * padding; rows of one short segment, whole segments, several segments and a short last one
 * (out_w 6, 7, 8, 13, 16, 25, 33); one channel and many; batches below and above the threads. */
static const DirectCase direct_cases[] = {
  { "k3-same-1to4-28x28-b1", 1, 1, 4, 28, 28, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-16to16-8x8-b3", 3, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1, FALSE },
  { "k3-same-3to8-13x7-b2", 2, 3, 8, 13, 7, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-8to12-6x33-b1", 1, 8, 12, 6, 33, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-s2-3to16-33x32-b2", 2, 3, 16, 33, 32, 3, 3, 2, 1, 1, 1, 1, TRUE },
  { "k3-s2-16to32-32x32-b1", 1, 16, 32, 32, 32, 3, 3, 2, 1, 1, 1, 1, FALSE },
  { "k3-s2-tf-same-8to8-26x26-b3", 3, 8, 8, 26, 26, 3, 3, 2, 0, 0, 1, 1, FALSE },
  { "k5-same-1to32-28x28-b2", 2, 1, 32, 28, 28, 5, 5, 1, 2, 2, 2, 2, TRUE },
  { "k5-s2-4to8-31x50-b1", 1, 4, 8, 31, 50, 5, 5, 2, 2, 2, 2, 2, TRUE },
  { "k3-valid-5to4-18x15-b2", 2, 5, 4, 18, 15, 3, 3, 1, 0, 0, 0, 0, FALSE },
  { "k2x3-asymmetric-6to8-9x16-b1", 1, 6, 8, 9, 16, 2, 3, 1, 0, 1, 1, 1, TRUE },
  { "k3-pad-beyond-kernel-2to4-12x12-b1", 1, 2, 4, 12, 12, 3, 3, 1, 3, 0, 0, 1, TRUE },
  /* 32k filters from 8 channels: tiles of two rows of 7 + 7 pixels (and a last row alone, on
   * one image split over threads too), of one row of 10 + 10 + 9, two rows of 6, one of 8 */
  { "k3-same-8to64-7x7-b3", 3, 8, 64, 7, 7, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-16to32-7x13-b1", 1, 16, 32, 7, 13, 3, 3, 1, 1, 1, 1, 1, FALSE },
  { "k5-same-32to32-14x14-b2", 2, 32, 32, 14, 14, 5, 5, 1, 2, 2, 2, 2, FALSE },
  { "k3-same-12to32-6x29-b1", 1, 12, 32, 6, 29, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-s2-tf-same-16to32-11x12-b2", 2, 16, 32, 11, 12, 3, 3, 2, 0, 0, 1, 1, FALSE },
  { "k2x3-asymmetric-8to32-9x8-b1", 1, 8, 32, 9, 8, 2, 3, 1, 0, 1, 1, 1, TRUE },
  /* Winograd's F(2x2, 3x3) (3 x 3, stride 1, 16k filters): odd sizes (a last tile row and
   * column of one pixel), rows of 16 + 2 tiles, 48 filters (a last block of 16), tiles of a
   * vector over several tile rows (7 x 7 tiles), uneven padding, bands of one tile row (256
   * channels, 40 wide) split over the threads for one image, and many images. */
  { "k3-same-16to32-33x35-b2", 2, 16, 32, 33, 35, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-64to48-9x10-b3", 3, 64, 48, 9, 10, 3, 3, 1, 1, 1, 1, 1, TRUE },
  { "k3-same-32to64-14x14-b2", 2, 32, 64, 14, 14, 3, 3, 1, 1, 1, 1, 1, FALSE },
  { "k3-uneven-24to32-17x21-b1", 1, 24, 32, 17, 21, 3, 3, 1, 0, 2, 2, 0, TRUE },
  { "k3-same-256to32-20x40-b1", 1, 256, 32, 20, 40, 3, 3, 1, 1, 1, 1, 1, FALSE },
  { "k3-valid-16to16-12x11-b5", 5, 16, 16, 12, 11, 3, 3, 1, 0, 0, 0, 0, TRUE },
};

/* Shapes the Winograd kernel can take (its rule picks the ones it is faster on). */
static gboolean
winograd_takes (const sl_conv_desc *d)
{
  return SL_CPU_VECTOR_LANES == 16 && d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1
         && d->groups == 1 && d->out_c % 16 == 0;
}

static sl_conv_desc
desc_of (const DirectCase *k)
{
  sl_conv_desc d = { .in_c = k->in_c,
                     .in_h = k->h,
                     .in_w = k->w,
                     .out_c = k->out_c,
                     .kh = k->kh,
                     .kw = k->kw,
                     .sh = k->s,
                     .sw = k->s,
                     .ph = k->top,
                     .pw = k->left,
                     .ph_end = k->bottom,
                     .pw_end = k->right,
                     .dh = 1,
                     .dw = 1,
                     .groups = 1 };

  d.out_h = (d.in_h + d.ph + d.ph_end - d.kh) / d.sh + 1;
  d.out_w = (d.in_w + d.pw + d.pw_end - d.kw) / d.sw + 1;
  return d;
}

/* The case's geometry with a 1 x 1 kernel and no padding. */
static sl_conv_desc
pointwise_of (const DirectCase *k)
{
  DirectCase p = *k;

  p.kh = p.kw = 1;
  p.top = p.left = p.bottom = p.right = 0;
  return desc_of (&p);
}

/* y = conv (x) + b by the definition, in double precision. */
static void
reference (const sl_conv_desc *d, int n, const float *x, const float *w, const float *b, float *y)
{
  for (int i = 0; i < n; i++)
    for (int oc = 0; oc < d->out_c; oc++)
      for (int oy = 0; oy < d->out_h; oy++)
        for (int ox = 0; ox < d->out_w; ox++)
          {
            double acc = b != NULL ? b[oc] : 0.0;

            for (int ic = 0; ic < d->in_c; ic++)
              for (int ki = 0; ki < d->kh; ki++)
                for (int kj = 0; kj < d->kw; kj++)
                  {
                    const int iy = oy * d->sh - d->ph + ki, ix = ox * d->sw - d->pw + kj;

                    if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
                      continue;
                    acc += (double) w[(((gsize) oc * d->in_c + ic) * d->kh + ki) * d->kw + kj]
                           * x[(((gsize) i * d->in_c + ic) * d->in_h + iy) * d->in_w + ix];
                  }
            y[(((gsize) i * d->out_c + oc) * d->out_h + oy) * d->out_w + ox] = (float) acc;
          }
}

static void
assert_close (const char *what, const float *a, const float *b, gsize n)
{
  double err = sl_test_rel_error (a, b, n, 1e-3);

  g_test_message ("%s: %zu values, relative error %.2e", what, n, err);
  g_assert_cmpfloat (err, <, 1e-5);
}

typedef void (*ForwardFunc) (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                             const float *w, const float *b, float *y, bool accumulate, float *ws);

typedef void (*DirectForward) (sl_cpu *cpu, const sl_conv_desc *d, int n, const float *x,
                               const float *w, const float *b, const float *pack,
                               const sl_cpu_epilogue *post, float *y, float *ws);
typedef void (*PackFunc) (const sl_conv_desc *d, const float *w, const float *b, float *pack);

/* A direct kernel on the case: y overwritten (garbage in it must go); the same bits from
 * filters packed beforehand (w and b not read then); and with an epilogue (a sum and a leaky
 * rectifier) the same bits as the sum and the rectifier done after it. */
static void
check_direct_kernel (const char *kernel, DirectForward forward, PackFunc pack_filters, sl_cpu *cpu,
                     const sl_conv_desc *d, int n, const float *x, const float *w,
                     const float *bias, const float *y0, const float *ry)
{
  const gsize ny = (gsize) n * d->out_c * d->out_h * d->out_w;
  const gsize ws_floats = _sl_cpu_direct_conv_workspace_floats (d, cpu->threads);
  const gsize packed = _sl_cpu_direct_conv_packed_floats (d);
  const sl_cpu_epilogue post
      = { .r = y0, .activate = TRUE, .act = SL_ACT_LEAKY_RELU, .slope = 0.1f };
  g_autofree float *y = g_new (float, ny), *y_packed = g_new (float, ny);
  g_autofree float *y_post = g_new (float, ny), *expected = g_new (float, ny);
  g_autofree float *ws = g_new0 (float, ws_floats + 1), *pack = g_new0 (float, packed + 1);
  g_autofree char *what = g_strdup_printf ("%s: output", kernel);

  ws[ws_floats] = pack[packed] = 12345.0f;
  for (gsize i = 0; i < ny; i++)
    y[i] = y_packed[i] = y_post[i] = 1e6f;
  forward (cpu, d, n, x, w, bias, NULL, NULL, y, ws);
  assert_close (what, y, ry, ny);

  pack_filters (d, w, bias, pack);
  forward (cpu, d, n, x, NULL, NULL, pack, NULL, y_packed, ws);
  g_assert_cmpmem (y_packed, ny * sizeof (float), y, ny * sizeof (float));

  forward (cpu, d, n, x, NULL, NULL, pack, &post, y_post, ws);
  for (gsize i = 0; i < ny; i++)
    expected[i] = y[i] + y0[i];
  _sl_cpu_activation_range (SL_ACT_LEAKY_RELU, 0.1f, expected, expected, (long) ny);
  g_assert_cmpmem (y_post, ny * sizeof (float), expected, ny * sizeof (float));
  g_assert_cmpfloat (ws[ws_floats], ==, 12345.0f);
  g_assert_cmpfloat (pack[packed], ==, 12345.0f);
}

/* One kernel on the case: y overwritten (garbage in it must go), then added onto. */
static void
check_kernel (const char *kernel, ForwardFunc forward, gsize ws_floats, sl_cpu *cpu,
              const sl_conv_desc *d, int n, const float *x, const float *w, const float *bias,
              const float *y0, const float *ry)
{
  const gsize ny = (gsize) n * d->out_c * d->out_h * d->out_w;
  g_autofree float *y = g_new (float, ny), *ry_added = g_new (float, ny);
  /* One float past the end of the workspace: a kernel that overruns it changes the guard. */
  g_autofree float *ws = g_new0 (float, ws_floats + 1);
  g_autofree char *what = NULL;

  ws[ws_floats] = 12345.0f;
  for (gsize i = 0; i < ny; i++)
    y[i] = 1e6f;
  forward (cpu, d, n, x, w, bias, y, FALSE, ws);
  what = g_strdup_printf ("%s: output", kernel);
  assert_close (what, y, ry, ny);

  /* Added onto what is there (the input gradient of a strided convolution uses this). */
  memcpy (y, y0, ny * sizeof (float));
  forward (cpu, d, n, x, w, bias, y, TRUE, ws);
  for (gsize i = 0; i < ny; i++)
    ry_added[i] = ry[i] + y0[i];
  assert_close ("output (added)", y, ry_added, ny);
  g_assert_cmpfloat (ws[ws_floats], ==, 12345.0f);
}

/* The Winograd kernel image by image on the calling thread (input gradients
 * use this), with filters transformed once; room exactly as declared. */
static void
check_winograd_images (const sl_conv_desc *d, int n, const float *x, const float *w,
                       const float *bias, const float *ry)
{
  const gsize in_size = (gsize) d->in_c * d->in_h * d->in_w,
              out_size = (gsize) d->out_c * d->out_h * d->out_w;
  const gsize packed = _sl_cpu_winograd_conv_packed_floats (d),
              room = _sl_cpu_winograd_conv_image_floats (d);
  g_autofree float *pack = g_new (float, packed + 1), *space = g_new (float, room + 1);
  g_autofree float *y = g_new (float, n *out_size);

  pack[packed] = space[room] = 12345.0f;
  _sl_cpu_winograd_conv_pack (d, w, bias, pack);
  for (int i = 0; i < n; i++)
    _sl_cpu_winograd_conv_image (d, x + i * in_size, pack, y + i * out_size, FALSE, space);
  assert_close ("winograd: images", y, ry, n * out_size);
  g_assert_cmpfloat (pack[packed], ==, 12345.0f);
  g_assert_cmpfloat (space[room], ==, 12345.0f);
}

static void
run_case (const DirectCase *k, int threads)
{
  const sl_conv_desc d = desc_of (k);
  const int n = k->n;
  const gsize nx = (gsize) n * d.in_c * d.in_h * d.in_w,
              ny = (gsize) n * d.out_c * d.out_h * d.out_w,
              nw = (gsize) d.out_c * d.in_c * d.kh * d.kw;
  g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, d.out_c);
  g_autofree float *ry = g_new (float, ny), *y0 = g_new (float, ny);
  const float *bias = k->bias ? b : NULL;
  sl_backend *be;
  sl_error err = { 0 };

  sl_test_fill_normal (x, nx, 1, 1.0f);
  sl_test_fill_normal (w, nw, 2, 0.5f);
  sl_test_fill_normal (b, d.out_c, 3, 0.5f);
  sl_test_fill_normal (y0, ny, 4, 1.0f);
  reference (&d, n, x, w, bias, ry);

  sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
  sl_cpu *cpu = _sl_cpu_of (be);
  check_direct_kernel ("direct", _sl_cpu_direct_conv_forward, _sl_cpu_direct_conv_pack, cpu, &d, n,
                       x, w, bias, y0, ry);
  if (_sl_cpu_channels_conv_applies (&d))
    check_direct_kernel ("channels", _sl_cpu_channels_conv_forward, _sl_cpu_channels_conv_pack, cpu,
                         &d, n, x, w, bias, y0, ry);
  if (winograd_takes (&d))
    {
      check_kernel ("winograd", _sl_cpu_winograd_conv_forward,
                    _sl_cpu_winograd_conv_workspace_floats (&d, cpu->threads), cpu, &d, n, x, w,
                    bias, y0, ry);
      check_winograd_images (&d, n, x, w, bias, ry);
    }
  be->ops->destroy (be);
}

static void
test_case_1_thread (gconstpointer data)
{
  run_case (data, 1);
}

static void
test_case_2_threads (gconstpointer data)
{
  run_case (data, 2);
}

/* An image gets the same bits alone, in a batch, and on one or two threads, through either
 * kernel. */
static void
test_same_bits (void)
{
  const DirectCase *k = &direct_cases[5]; /* 16 -> 32, stride 2 */
  const sl_conv_desc d = desc_of (k);
  const DirectForward kernels[] = { _sl_cpu_direct_conv_forward, _sl_cpu_channels_conv_forward };
  const int n = 3;
  const gsize in_size = (gsize) d.in_c * d.in_h * d.in_w,
              out_size = (gsize) d.out_c * d.out_h * d.out_w,
              nw = (gsize) d.out_c * d.in_c * d.kh * d.kw;
  g_autofree float *x = g_new (float, n *in_size), *w = g_new (float, nw);
  g_autofree float *batch = g_new (float, n *out_size), *alone = g_new (float, out_size);

  sl_test_fill_normal (x, n * in_size, 5, 1.0f);
  sl_test_fill_normal (w, nw, 6, 0.5f);
  for (int threads = 1; threads <= 2; threads++)
    for (gsize kernel = 0; kernel < (_sl_cpu_channels_conv_applies (&d) ? 2 : 1); kernel++)
      {
        sl_backend *be;
        sl_error err = { 0 };

        sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
        sl_cpu *cpu = _sl_cpu_of (be);
        g_autofree float *ws = g_new0 (float, _sl_cpu_direct_conv_workspace_floats (&d, threads));

        kernels[kernel](cpu, &d, n, x, w, NULL, NULL, NULL, batch, ws);
        kernels[kernel](cpu, &d, 1, x + 2 * in_size, w, NULL, NULL, NULL, alone, ws);
        g_assert_cmpmem (batch + 2 * out_size, out_size * sizeof (float), alone,
                         out_size * sizeof (float));
        be->ops->destroy (be);
      }
}

/* The kernel takes what it was measured to do better than im2col + GEMM, nothing else:
 * rows of whole vector registers of pixels (SL_CPU_VECTOR_LANES), or at least 3/4 of them. */
static void
test_applies (void)
{
  const int lanes = SL_CPU_VECTOR_LANES;
  DirectCase k = { "16to16", 3, 16, 16, 2 * lanes, 2 * lanes, 3, 3, 1, 1, 1, 1, 1, FALSE };
  sl_conv_desc d = desc_of (&k);

  g_assert_true (_sl_cpu_direct_conv_applies (&d));
  d.groups = 2;
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* grouped */
  d = desc_of (&k);
  d.out_c = 18;
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* not blocks of 4 filters */
  d = desc_of (&k);
  d.in_c = 1;
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* one input channel */
  d = pointwise_of (&k);
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* 1 x 1 */
  k.h = k.w = 3;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* rows of 3: segments mostly empty */
  k.h = k.w = lanes + 1;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* one whole segment and one of 1 */
  k.h = k.w = lanes - 1;
  d = desc_of (&k);
  g_assert_true (_sl_cpu_direct_conv_applies (&d));
  k.h = k.w = lanes / 2;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* half a segment */
  k.h = k.w = 2 * lanes;
  k.s = 3;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_direct_conv_applies (&d)); /* stride 3 */
}

/* The kernel vectorised over filters takes blocks of 32 of them, at least 8 input channels
 * and rows of at least 6 pixels, in AVX-512 builds. */
static void
test_channels_applies (void)
{
  const int filters = 32;
  DirectCase k = { "16to32", 2, 16, filters, 8, 8, 3, 3, 1, 1, 1, 1, 1, FALSE };
  sl_conv_desc d = desc_of (&k);

  if (SL_CPU_VECTOR_LANES != 16)
    {
      g_assert_false (_sl_cpu_channels_conv_applies (&d));
      return;
    }
  g_assert_true (_sl_cpu_channels_conv_applies (&d));
  d.out_c = filters + 4;
  g_assert_false (_sl_cpu_channels_conv_applies (&d)); /* not whole vectors of filters */
  d = desc_of (&k);
  d.in_c = 3;
  g_assert_false (_sl_cpu_channels_conv_applies (&d)); /* an RGB stem */
  d = desc_of (&k);
  d.groups = 2;
  g_assert_false (_sl_cpu_channels_conv_applies (&d)); /* grouped */
  d = pointwise_of (&k);
  g_assert_false (_sl_cpu_channels_conv_applies (&d)); /* 1 x 1 */
  k.h = k.w = 5;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_channels_conv_applies (&d)); /* rows of 5 */
  k.h = k.w = 6;
  d = desc_of (&k);
  g_assert_true (_sl_cpu_channels_conv_applies (&d));
}

/* Winograd's kernel takes what it was measured to do better (3 x 3, stride 1, 32k filters, at
 * least 16 channels, 8 x 8 outputs and 32 wide under 64 channels), and a pass only when it has
 * 64 tiles (2 x 2 outputs) to transform its filters for. */
static void
test_winograd_applies (void)
{
  const gboolean avx512 = SL_CPU_VECTOR_LANES == 16;
  DirectCase k = { "32to64", 4, 32, 64, 32, 32, 3, 3, 1, 1, 1, 1, 1, FALSE };
  sl_conv_desc d = desc_of (&k);

  g_assert_true (_sl_cpu_winograd_conv_applies (&d) == avx512);
  g_assert_true (_sl_cpu_winograd_conv_pays (&d, 1) == avx512);
  d.out_c = 48;
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* not blocks of 32 filters */
  d = desc_of (&k);
  d.in_c = 8;
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* few channels */
  d = desc_of (&k);
  d.groups = 2;
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* grouped */
  k.s = 2;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* stride 2 */
  k.s = 1;
  k.kh = k.kw = 5;
  k.top = k.left = k.bottom = k.right = 2;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* 5 x 5 */
  k = (DirectCase){ "32to32", 4, 32, 32, 16, 16, 3, 3, 1, 1, 1, 1, 1, FALSE };
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* 16 wide, under 64 channels */
  k = (DirectCase){ "64to64", 4, 64, 64, 8, 8, 3, 3, 1, 1, 1, 1, 1, FALSE };
  d = desc_of (&k);
  g_assert_true (_sl_cpu_winograd_conv_applies (&d) == avx512);
  g_assert_false (_sl_cpu_winograd_conv_pays (&d, 3)); /* 48 tiles */
  g_assert_true (_sl_cpu_winograd_conv_pays (&d, 4) == avx512);
  k.h = k.w = 7;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd_conv_applies (&d)); /* 7 x 7 */

  /* Its weight gradient: 16k filters, lanes of at least 8 channels, 32 filters or channels,
   * 64 tiles an image, sums up to 1 MiB. */
  k = (DirectCase){ "16to32", 4, 16, 32, 64, 64, 3, 3, 1, 1, 1, 1, 1, FALSE };
  d = desc_of (&k);
  g_assert_true (_sl_cpu_winograd_conv_grad_applies (&d) == avx512);
  d.out_c = 16;
  g_assert_false (_sl_cpu_winograd_conv_grad_applies (&d)); /* 16 -> 16: the direct kernel */
  d.out_c = 40;
  g_assert_false (_sl_cpu_winograd_conv_grad_applies (&d)); /* not blocks of 16 filters */
  d = desc_of (&k);
  d.in_c = 4;
  g_assert_false (_sl_cpu_winograd_conv_grad_applies (&d)); /* few channels */
  k = (DirectCase){ "64to64", 4, 64, 64, 16, 16, 3, 3, 1, 1, 1, 1, 1, FALSE };
  d = desc_of (&k);
  g_assert_true (_sl_cpu_winograd_conv_grad_applies (&d) == avx512); /* 64 tiles */
  k.h = k.w = 14;
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd_conv_grad_applies (&d)); /* 49 tiles */
  k = (DirectCase){ "128to256", 4, 128, 256, 16, 16, 3, 3, 1, 1, 1, 1, 1, FALSE };
  d = desc_of (&k);
  g_assert_false (_sl_cpu_winograd_conv_grad_applies (&d)); /* 2 MiB of sums */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (direct_cases); i++)
    {
      g_autofree char *one
          = g_strdup_printf ("/engine/conv-direct/%s/1-thread", direct_cases[i].name);
      g_autofree char *two
          = g_strdup_printf ("/engine/conv-direct/%s/2-threads", direct_cases[i].name);

      g_test_add_data_func (one, &direct_cases[i], test_case_1_thread);
      g_test_add_data_func (two, &direct_cases[i], test_case_2_threads);
    }
  g_test_add_func ("/engine/conv-direct/same-bits", test_same_bits);
  g_test_add_func ("/engine/conv-direct/applies", test_applies);
  g_test_add_func ("/engine/conv-direct/channels-applies", test_channels_applies);
  g_test_add_func ("/engine/conv-direct/winograd-applies", test_winograd_applies);
  return g_test_run ();
}
