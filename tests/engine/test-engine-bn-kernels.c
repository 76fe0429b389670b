/* test-engine-bn-kernels.c: CPU batch-norm kernels against a double reference at odd sizes; thread-count independence, images or channels split. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <math.h>

static const int sizes_n[] = { 1, 2, 33 };
static const int sizes_c[] = { 1, 3, 17, 300 };
static const int sizes_hw[] = { 1, 16, 49 };

#define EPS      1e-5f
#define MOMENTUM 0.1f

typedef struct
{
  float *y, *saved, *rmean, *rvar, *dx, *dgamma, *dbeta;
} BnOut;

static void
bn_out_clear (BnOut *o)
{
  g_free (o->y);
  g_free (o->saved);
  g_free (o->rmean);
  g_free (o->rvar);
  g_free (o->dx);
  g_free (o->dgamma);
  g_free (o->dbeta);
}

/* Training forward, then backward adding onto dx0. */
static void
run_kernels (int threads, int n, int c, int hw, const float *x, const float *gamma,
             const float *beta, const float *dy, const float *dx0, BnOut *o)
{
  const gsize len = (gsize) n * c * hw;
  sl_backend *be;
  sl_error err = { 0 };

  o->y = g_new (float, len);
  o->saved = g_new (float, 2 * c);
  o->rmean = g_new0 (float, c);
  o->rvar = g_new (float, c);
  o->dx = g_memdup2 (dx0, len * sizeof (float));
  o->dgamma = g_new (float, c);
  o->dbeta = g_new (float, c);
  for (int ch = 0; ch < c; ch++)
    o->rvar[ch] = 1.0f;
  sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
  _sl_cpu_batchnorm_forward (be, true, n, c, hw, x, gamma, beta, o->rmean, o->rvar, EPS, MOMENTUM,
                             o->saved, o->y);
  _sl_cpu_batchnorm_backward (be, n, c, hw, x, gamma, o->saved, EPS, dy, o->dx, true, o->dgamma,
                              o->dbeta);
  be->ops->destroy (be);
}

static void
assert_near (const char *what, double want, float got, double scale)
{
  if (fabs (want - got) > 1e-4 * scale + 1e-4 * fabs (want))
    g_error ("%s: %.9g, want %.9g", what, got, want);
}

static void
check_reference (int n, int c, int hw, const float *x, const float *gamma, const float *beta,
                 const float *dy, const float *dx0, const BnOut *o)
{
  const gsize plane = (gsize) c * hw;
  const double count = (double) n * hw;

  for (int ch = 0; ch < c; ch++)
    {
      double mean = 0, var = 0, sdy = 0, sdyx = 0;

      for (int i = 0; i < n; i++)
        for (int k = 0; k < hw; k++)
          mean += x[i * plane + ch * hw + k];
      mean /= count;
      for (int i = 0; i < n; i++)
        for (int k = 0; k < hw; k++)
          var += pow (x[i * plane + ch * hw + k] - mean, 2);
      var /= count;
      const double invstd = 1.0 / sqrt (var + EPS);
      for (int i = 0; i < n; i++)
        for (int k = 0; k < hw; k++)
          {
            const gsize o_ = i * plane + ch * hw + k;
            const double xhat = (x[o_] - mean) * invstd;
            assert_near ("output", gamma[ch] * xhat + beta[ch], o->y[o_], 1.0);
            sdy += dy[o_];
            sdyx += dy[o_] * xhat;
          }
      assert_near ("mean", mean, o->saved[ch], 1.0);
      assert_near ("invstd", invstd, o->saved[c + ch], 1.0);
      assert_near ("running mean", MOMENTUM * mean, o->rmean[ch], 1.0);
      assert_near ("running var",
                   (1 - MOMENTUM) + MOMENTUM * var * (count > 1 ? count / (count - 1) : 1.0),
                   o->rvar[ch], 1.0);
      assert_near ("beta gradient", sdy, o->dbeta[ch], sqrt (count));
      assert_near ("gamma gradient", sdyx, o->dgamma[ch], sqrt (count));
      for (int i = 0; i < n; i++)
        for (int k = 0; k < hw; k++)
          {
            const gsize o_ = i * plane + ch * hw + k;
            const double xhat = (x[o_] - mean) * invstd;
            const double want
                = dx0[o_] + gamma[ch] * invstd * (dy[o_] - sdy / count - xhat * sdyx / count);
            assert_near ("input gradient", want, o->dx[o_], 1.0 + fabs (gamma[ch] * invstd));
          }
    }
}

/* One (N, C, HW): the reference within 1e-4, and 1, 2 or 3 threads give the
 * same bits. A channel offset of 3 keeps the mean away from 0. */
static void
check_size (int n, int c, int hw, int seed)
{
  const gsize len = (gsize) n * c * hw;
  g_autofree float *x = g_new (float, len), *dy = g_new (float, len);
  g_autofree float *dx0 = g_new (float, len);
  g_autofree float *gamma = g_new (float, c), *beta = g_new (float, c);
  BnOut r[3];

  sl_test_fill_normal (x, len, 11 + seed, 1.0f);
  for (gsize i = 0; i < len; i++)
    x[i] += 3.0f;
  sl_test_fill_normal (dy, len, 12 + seed, 1.0f);
  sl_test_fill_normal (dx0, len, 13 + seed, 1.0f);
  sl_test_fill_normal (gamma, c, 14, 0.5f);
  sl_test_fill_normal (beta, c, 15, 0.5f);
  for (int t = 0; t < 3; t++)
    run_kernels (t + 1, n, c, hw, x, gamma, beta, dy, dx0, &r[t]);
  check_reference (n, c, hw, x, gamma, beta, dy, dx0, &r[0]);
  for (int t = 1; t < 3; t++)
    {
      g_assert_cmpmem (r[0].y, len * sizeof (float), r[t].y, len * sizeof (float));
      g_assert_cmpmem (r[0].dx, len * sizeof (float), r[t].dx, len * sizeof (float));
      g_assert_cmpmem (r[0].saved, 2 * c * sizeof (float), r[t].saved, 2 * c * sizeof (float));
      g_assert_cmpmem (r[0].rmean, c * sizeof (float), r[t].rmean, c * sizeof (float));
      g_assert_cmpmem (r[0].rvar, c * sizeof (float), r[t].rvar, c * sizeof (float));
      g_assert_cmpmem (r[0].dgamma, c * sizeof (float), r[t].dgamma, c * sizeof (float));
      g_assert_cmpmem (r[0].dbeta, c * sizeof (float), r[t].dbeta, c * sizeof (float));
    }
  for (int t = 0; t < 3; t++)
    bn_out_clear (&r[t]);
}

/* Every (N, C, HW) of the odd sizes, where the threads split the channels. */
static void
test_reference_and_threads (void)
{
  for (guint a = 0; a < G_N_ELEMENTS (sizes_n); a++)
    for (guint b = 0; b < G_N_ELEMENTS (sizes_c); b++)
      for (guint d = 0; d < G_N_ELEMENTS (sizes_hw); d++)
        if (sizes_n[a] * sizes_hw[d] >= 2) /* one value per channel: no variance */
          check_size (sizes_n[a], sizes_c[b], sizes_hw[d], (int) (a + 2 * b + 5 * d));
}

/* Passes large enough that two or three threads split the images (odd
 * planes, as many images as threads, a last thread's share one image
 * short): the same bits as one thread's split of the channels. */
static void
test_images_split (void)
{
  check_size (33, 17, 33 * 33, 1);
  check_size (3, 64, 53 * 53, 2);
  check_size (4, 5, 161 * 163, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/bn-kernels/reference-and-threads", test_reference_and_threads);
  g_test_add_func ("/engine/bn-kernels/images-split", test_images_split);
  return g_test_run ();
}
