/* bench-conv.c: forward time of the presets' ordinary convolutions, the direct CPU kernels against
 * im2col + GEMM, in the same run.
 *
 *   build/bench/bench-conv [--threads T] [--batch N] [--repeats R] [--only TEXT]
 *
 * Prints one line per layer: milliseconds per forward pass of the batch for each path, their
 * GFLOP/s and the speed-up of the direct kernel (the filter-vectorised and Winograd kernels where
 * their rules take the layer; Winograd's GFLOP/s* count the direct computation's operations),
 * then the backward pass as training runs it
 * (input and weight gradients: GFLOP/s counts both), best of R repeats, CPU time of the process
 * over the threads. */
#include "bench-clock.h"
#include "sl-cpu-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct
{
  const char *name;
  int in_c, out_c, hw, k, s;
} Layer;

/* The shapes of small-bn (28, 128 and 224 px), seed-cnn and resnet-s (128 px). */
static const Layer layers[] = {
  { "small-bn 1->32 28x28 k3", 1, 32, 28, 3, 1 },
  { "small-bn 32->64 14x14 k3", 32, 64, 14, 3, 1 },
  { "small-bn 64->128 7x7 k3", 64, 128, 7, 3, 1 },
  { "small-bn 128->256 3x3 k3", 128, 256, 3, 3, 1 },
  { "small-bn 3->16 128 k3 s2", 3, 16, 128, 3, 2 },
  { "small-bn 16->32 64x64 k3", 16, 32, 64, 3, 1 },
  { "small-bn 32->64 32x32 k3", 32, 64, 32, 3, 1 },
  { "small-bn 64->128 16x16 k3", 64, 128, 16, 3, 1 },
  { "small-bn 128->256 8x8 k3", 128, 256, 8, 3, 1 },
  { "small-bn 256->256 4x4 k3", 256, 256, 4, 3, 1 },
  { "seed-cnn 1->32 28x28 k5", 1, 32, 28, 5, 1 },
  { "seed-cnn 32->64 14x14 k5", 32, 64, 14, 5, 1 },
  { "resnet-s 3->16 128 k3 s2", 3, 16, 128, 3, 2 },
  { "resnet-s 16->16 32x32 k3", 16, 16, 32, 3, 1 },
  { "resnet-s 16->32 32x32 k3 s2", 16, 32, 32, 3, 2 },
  { "resnet-s 16->32 32x32 k1 s2", 16, 32, 32, 1, 2 },
  { "resnet-s 32->32 16x16 k3", 32, 32, 16, 3, 1 },
  { "resnet-s 32->64 16x16 k3 s2", 32, 64, 16, 3, 2 },
  { "resnet-s 64->64 8x8 k3", 64, 64, 8, 3, 1 },
  /* At 224 px, and resnet-s's wider stages at 128 px. */
  { "small-bn 64->128 28x28 k3", 64, 128, 28, 3, 1 },
  { "small-bn 128->256 14x14 k3", 128, 256, 14, 3, 1 },
  { "small-bn 256->256 7x7 k3", 256, 256, 7, 3, 1 },
  { "resnet-s 16->16 64x64 k3", 16, 16, 64, 3, 1 },
  { "resnet-s 32->32 32x32 k3", 32, 32, 32, 3, 1 },
  { "resnet-s 64->64 16x16 k3", 64, 64, 16, 3, 1 },
};

static void
fill (float *v, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    {
      seed = seed * 1664525u + 1013904223u;
      v[i] = (float) (seed >> 8) / (float) (1u << 24) - 0.5f;
    }
}

static sl_conv_desc
desc_of (const Layer *l)
{
  const int pad = l->k / 2;
  sl_conv_desc d = { .in_c = l->in_c,
                     .in_h = l->hw,
                     .in_w = l->hw,
                     .out_c = l->out_c,
                     .kh = l->k,
                     .kw = l->k,
                     .sh = l->s,
                     .sw = l->s,
                     .ph = pad,
                     .pw = pad,
                     .ph_end = pad,
                     .pw_end = pad,
                     .dh = 1,
                     .dw = 1,
                     .groups = 1 };

  d.out_h = (d.in_h + 2 * pad - l->k) / l->s + 1;
  d.out_w = (d.in_w + 2 * pad - l->k) / l->s + 1;
  return d;
}

static size_t
larger (size_t a, size_t b)
{
  return a > b ? a : b;
}

/* |a - b| / |b|, over all entries. */
static double
rel_error (const float *a, const float *b, size_t n)
{
  double diff = 0.0, norm = 0.0;

  for (size_t i = 0; i < n; i++)
    {
      diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      norm += (double) b[i] * b[i];
    }
  return norm > 0.0 ? sqrt (diff / norm) : sqrt (diff);
}

/* One pass over a layer: forward through either path, or backward. */
typedef enum
{
  PASS_GEMM,
  PASS_DIRECT,
  PASS_CHANNELS,
  PASS_WINOGRAD,
  PASS_BACKWARD,
  PASS_WEIGHT_GRAD,
  PASS_WINOGRAD4,
  PASS_WINOGRAD4_DX,
  PASS_WINOGRAD4_DW
} Pass;

typedef struct
{
  sl_cpu *cpu;
  const sl_conv_desc *d;
  int n;
  const float *x, *w, *dy;
  float *y, *dx, *dw, *ws, *scratch;
  const sl_conv_desc *t; /* the input gradient's convolution */
} LayerRun;

static void
run_pass (const LayerRun *r, Pass pass)
{
  if (pass == PASS_WINOGRAD4)
    _sl_cpu_winograd4_conv_forward (r->cpu, r->d, r->n, r->x, r->w, false, NULL, r->y, false,
                                    r->ws);
  else if (pass == PASS_WINOGRAD4_DX)
    _sl_cpu_winograd4_conv_forward (r->cpu, r->t, r->n, r->dy, r->w, true, NULL, r->dx, false,
                                    r->ws);
  else if (pass == PASS_WINOGRAD4_DW)
    _sl_cpu_winograd4_conv_weight_grad (r->cpu, r->d, r->n, r->x, r->dy, r->dw, r->ws);
  else if (pass == PASS_WINOGRAD)
    _sl_cpu_winograd_conv_forward (r->cpu, r->d, r->n, r->x, r->w, NULL, r->y, false, r->ws);
  else if (pass == PASS_CHANNELS)
    _sl_cpu_channels_conv_forward (r->cpu, r->d, r->n, r->x, r->w, NULL, NULL, NULL, r->y, r->ws);
  else if (pass == PASS_DIRECT)
    _sl_cpu_direct_conv_forward (r->cpu, r->d, r->n, r->x, r->w, NULL, NULL, NULL, r->y, r->ws);
  else if (pass == PASS_GEMM)
    _sl_cpu_gemm_conv_forward (r->cpu, r->d, r->n, r->x, r->w, NULL, r->y, r->ws);
  else
    _sl_cpu_gemm_conv_backward (r->cpu, r->d, r->n, r->x, r->w, r->dy,
                                pass == PASS_BACKWARD ? r->dx : NULL, false, r->dw, NULL, r->ws,
                                r->scratch);
}

/* Best time of one pass in ms, over repeats of at least 50 ms each: the
 * process's CPU time over the threads (steadier than wall time on a shared
 * machine). */
static double
time_pass (const LayerRun *r, Pass pass, int repeats)
{
  double best = 1e30;

  for (int k = 0; k < repeats; k++)
    {
      const double c0 = bench_cpu_seconds (), w0 = bench_now ();
      int passes = 0;

      do
        {
          run_pass (r, pass);
          passes++;
        }
      while (bench_now () - w0 < 0.05);
      const double t = (bench_cpu_seconds () - c0) / r->cpu->threads / passes;
      if (t < best)
        best = t;
    }
  return best * 1e3;
}

int
main (int argc, char **argv)
{
  int threads = 1, batch = 1, repeats = 5;
  const char *only = NULL;
  sl_backend *be;
  sl_error err = { 0 };

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--threads") == 0 && i + 1 < argc)
        threads = atoi (argv[++i]);
      else if (strcmp (argv[i], "--batch") == 0 && i + 1 < argc)
        batch = atoi (argv[++i]);
      else if (strcmp (argv[i], "--repeats") == 0 && i + 1 < argc)
        repeats = atoi (argv[++i]);
      else if (strcmp (argv[i], "--only") == 0 && i + 1 < argc)
        only = argv[++i];
      else
        {
          fprintf (stderr,
                   "Usage: bench-conv [--threads T] [--batch N] [--repeats R] [--only TEXT]\n");
          return 2;
        }
    }
  if (threads < 1 || batch < 1 || repeats < 1)
    {
      fprintf (stderr, "bench-conv: --threads, --batch and --repeats must be positive\n");
      return 2;
    }
  if (_sl_cpu_backend_new (threads, &be, &err) != SL_OK)
    {
      fprintf (stderr, "bench-conv: %s\n", err.message);
      return 1;
    }
  sl_cpu *cpu = _sl_cpu_of (be);
  printf ("batch %d, %d thread(s); ms per pass, GFLOP/s; x > 1: the direct kernel is faster\n",
          batch, threads);
  printf ("%-30s %9s %7s %9s %7s %6s %9s %7s %9s %7s %9s %7s %9s %9s %7s %9s %9s\n", "layer",
          "gemm ms", "GF/s", "direct", "GF/s", "x", "channels", "GF/s", "winograd", "GF/s*",
          "back ms", "GF/s", "dw ms", "wino4", "GF/s*", "w4 dx", "w4 dw");
  for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++)
    {
      if (only != NULL && strstr (layers[l].name, only) == NULL)
        continue;
      const sl_conv_desc d = desc_of (&layers[l]);
      const sl_conv_desc t = _sl_cpu_conv_dx_desc (&d);
      const size_t nx = (size_t) batch * d.in_c * d.in_h * d.in_w;
      const size_t ny = (size_t) batch * d.out_c * d.out_h * d.out_w;
      const size_t nw = (size_t) d.out_c * d.in_c * d.kh * d.kw;
      const bool w4 = _sl_cpu_winograd4_conv_applies (&d) && _sl_cpu_winograd4_conv_applies (&t);
      size_t wsf = _sl_cpu_gemm_conv_workspace_floats (&d, threads);

      wsf = larger (wsf, _sl_cpu_direct_conv_workspace_floats (&d, threads));
      wsf = larger (wsf, _sl_cpu_winograd_conv_workspace_floats (&d, threads));
      if (w4)
        {
          wsf = larger (wsf, _sl_cpu_winograd4_conv_workspace_floats (&d, batch, threads));
          wsf = larger (wsf, _sl_cpu_winograd4_conv_workspace_floats (&t, batch, threads));
        }
      float *x = malloc (nx * sizeof *x), *w = malloc (nw * sizeof *w);
      float *y = malloc (ny * sizeof *y), *y4 = malloc (ny * sizeof *y4);
      float *ws = malloc (wsf * sizeof *ws);
      float *dy = malloc (ny * sizeof *dy), *dx = malloc (nx * sizeof *dx);
      float *dx4 = malloc (nx * sizeof *dx4);
      float *dw = malloc (nw * sizeof *dw), *dw4 = malloc (nw * sizeof *dw4);
      float *scratch
          = malloc (_sl_cpu_gemm_conv_grad_scratch_floats (&d) * threads * sizeof *scratch);
      const double flop = 2.0 * (double) ny * d.in_c * d.kh * d.kw;

      fill (x, nx, 1);
      fill (w, nw, 2);
      fill (dy, ny, 3);
      LayerRun r = { cpu, &d, batch, x, w, dy, y, dx, dw, ws, scratch, &t };
      const double g = time_pass (&r, PASS_GEMM, repeats);
      const double dt = time_pass (&r, PASS_DIRECT, repeats);
      const double ct
          = _sl_cpu_channels_conv_applies (&d) ? time_pass (&r, PASS_CHANNELS, repeats) : 0.0;
      const double wt
          = _sl_cpu_winograd_conv_applies (&d) ? time_pass (&r, PASS_WINOGRAD, repeats) : 0.0;
      const double bt = time_pass (&r, PASS_BACKWARD, repeats);
      const double wgt = time_pass (&r, PASS_WEIGHT_GRAD, repeats);
      printf ("%-30s %9.4f %7.1f %9.4f %7.1f %6.2f", layers[l].name, g, flop / g * 1e-6, dt,
              flop / dt * 1e-6, g / dt);
      if (ct > 0.0)
        printf (" %9.4f %7.1f", ct, flop / ct * 1e-6);
      else
        printf (" %9s %7s", "-", "-");
      if (wt > 0.0)
        printf (" %9.4f %7.1f", wt, flop / wt * 1e-6);
      else
        printf (" %9s %7s", "-", "-");
      printf (" %9.4f %7.1f %9.4f", bt, 2 * flop / bt * 1e-6, wgt);
      if (w4)
        {
          /* Against the GEMM path's results: the relative error of each. */
          run_pass (&r, PASS_GEMM);
          run_pass (&r, PASS_BACKWARD);
          r.y = y4;
          r.dx = dx4;
          r.dw = dw4;
          const double ft = time_pass (&r, PASS_WINOGRAD4, repeats);
          const double xt = time_pass (&r, PASS_WINOGRAD4_DX, repeats);
          const double gt = time_pass (&r, PASS_WINOGRAD4_DW, repeats);
          printf (" %9.4f %7.1f %9.4f %9.4f  (err %.1e %.1e %.1e)", ft, flop / ft * 1e-6, xt, gt,
                  rel_error (y4, y, ny), rel_error (dx4, dx, nx), rel_error (dw4, dw, nw));
        }
      printf ("\n");
      free (x);
      free (w);
      free (y);
      free (y4);
      free (ws);
      free (dy);
      free (dx);
      free (dx4);
      free (dw);
      free (dw4);
      free (scratch);
    }
  be->ops->destroy (be);
  return 0;
}
