/* bench-depthwise.c: forward + backward time of EfficientNet-Lite0's (or MobileNet-S's) depthwise
 * layers, the direct CPU kernels against im2col + GEMM, in the same run.
 *
 *   build/bench/bench-depthwise [--threads T] [--batch N] [--repeats R] [--cpu-time] [--only TEXT]
 *                               [--model efficientnet-lite0|mobilenet-s] [--direct-only]
 *
 * Prints one line per layer: milliseconds per forward, per backward (input, weight and
 * bias gradients) and the speed-up of forward + backward, best of R repeats, and the direct
 * kernels' GFLOP/s (2 per multiply-add, forward + backward = 3 passes). --direct-only skips
 * im2col + GEMM (to profile the direct kernels alone). */
#include "sl-cpu-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct
{
  const char *name;
  int c, hw, k, s;
  bool same; /* TensorFlow "same" padding, else (k - 1) / 2 on every side */
} Layer;

/* Lite0 at 224 px: every depthwise layer shape it has (blocks 1-16), and the
 * ones the issue names. */
static const Layer lite0_layers[] = {
  { "32ch 112x112 k3 s1", 32, 112, 3, 1, true }, { "96ch 112x112 k3 s2", 96, 112, 3, 2, true },
  { "144ch 56x56 k3 s1", 144, 56, 3, 1, true },  { "144ch 56x56 k5 s2", 144, 56, 5, 2, true },
  { "240ch 28x28 k5 s1", 240, 28, 5, 1, true },  { "240ch 28x28 k3 s2", 240, 28, 3, 2, true },
  { "480ch 14x14 k3 s1", 480, 14, 3, 1, true },  { "480ch 14x14 k5 s1", 480, 14, 5, 1, true },
  { "672ch 14x14 k5 s1", 672, 14, 5, 1, true },  { "672ch 14x14 k5 s2", 672, 14, 5, 2, true },
  { "1152ch 7x7 k5 s1", 1152, 7, 5, 1, true },   { "1152ch 7x7 k3 s1", 1152, 7, 3, 1, true },
};

/* MobileNet-S at 128 px (width 1): every depthwise layer shape, padding 1. */
static const Layer mobilenet_layers[] = {
  { "32ch 64x64 k3 s1", 32, 64, 3, 1, false },   { "96ch 64x64 k3 s2", 96, 64, 3, 2, false },
  { "144ch 32x32 k3 s1", 144, 32, 3, 1, false }, { "144ch 32x32 k3 s2", 144, 32, 3, 2, false },
  { "192ch 16x16 k3 s1", 192, 16, 3, 1, false }, { "192ch 16x16 k3 s2", 192, 16, 3, 2, false },
  { "384ch 8x8 k3 s1", 384, 8, 3, 1, false },
};

/* Wall time, or with --cpu-time the process's CPU time (steadier on a shared
 * machine; with one thread it is the work itself). */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double
now (void)
{
  struct timespec ts;

  clock_gettime (clock_id, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
fill (float *v, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    {
      seed = seed * 1664525u + 1013904223u;
      v[i] = (float) (seed >> 8) / (float) (1u << 24) - 0.5f;
    }
}

/* TensorFlow "same" padding along one axis. */
static void
same (int in, int k, int s, int *begin, int *end)
{
  int out = (in + s - 1) / s, total = (out - 1) * s + k - in;

  total = total < 0 ? 0 : total;
  *begin = total / 2;
  *end = total - total / 2;
}

static void
time_path (sl_cpu *cpu, bool direct, const sl_conv_desc *d, int n, int repeats, const float *x,
           const float *w, const float *b, const float *dy, float *y, float *dx, float *dw,
           float *db, double *fwd_ms, double *bwd_ms)
{
  size_t ws_floats = direct ? _sl_cpu_depthwise_workspace_floats (d, cpu->threads)
                            : _sl_cpu_gemm_conv_workspace_floats (d, cpu->threads);
  float *ws = calloc (ws_floats + 1, sizeof (float));
  float *scratch
      = calloc (_sl_cpu_gemm_conv_grad_scratch_floats (d) * cpu->threads + 1, sizeof (float));

  *fwd_ms = *bwd_ms = INFINITY;
  for (int r = 0; r < repeats + 1; r++)
    {
      double t0 = now (), t1, t2;

      if (direct)
        _sl_cpu_depthwise_forward (cpu, d, n, x, w, b, y, ws);
      else
        _sl_cpu_gemm_conv_forward (cpu, d, n, x, w, b, y, ws);
      t1 = now ();
      if (direct)
        _sl_cpu_depthwise_backward (cpu, d, n, x, w, dy, dx, false, dw, db, ws);
      else
        _sl_cpu_gemm_conv_backward (cpu, d, n, x, w, dy, dx, false, dw, db, ws, scratch);
      t2 = now ();
      if (r == 0)
        continue; /* warm-up */
      *fwd_ms = fmin (*fwd_ms, (t1 - t0) * 1e3);
      *bwd_ms = fmin (*bwd_ms, (t2 - t1) * 1e3);
    }
  free (ws);
  free (scratch);
}

int
main (int argc, char **argv)
{
  int threads = 2, batch = 16, repeats = 5;
  const Layer *layers = lite0_layers;
  size_t n_layers = sizeof lite0_layers / sizeof lite0_layers[0];
  bool direct_only = false;
  double flops = 0;
  const char *only = NULL; /* layers whose name contains it */
  double total[2] = { 0, 0 };
  sl_backend *be;
  sl_error err = { 0 };

  for (int i = 1; i < argc; i++)
    {
      const bool value = i + 1 < argc;

      if (strcmp (argv[i], "--cpu-time") == 0)
        clock_id = CLOCK_PROCESS_CPUTIME_ID;
      else if (strcmp (argv[i], "--direct-only") == 0)
        direct_only = true;
      else if (value && strcmp (argv[i], "--model") == 0
               && strcmp (argv[i + 1], "mobilenet-s") == 0)
        {
          layers = mobilenet_layers;
          n_layers = sizeof mobilenet_layers / sizeof mobilenet_layers[0];
          i++;
        }
      else if (value && strcmp (argv[i], "--model") == 0
               && strcmp (argv[i + 1], "efficientnet-lite0") == 0)
        i++;
      else if (value && strcmp (argv[i], "--threads") == 0)
        threads = atoi (argv[++i]);
      else if (value && strcmp (argv[i], "--batch") == 0)
        batch = atoi (argv[++i]);
      else if (value && strcmp (argv[i], "--repeats") == 0)
        repeats = atoi (argv[++i]);
      else if (value && strcmp (argv[i], "--only") == 0)
        only = argv[++i];
      else
        {
          fprintf (stderr,
                   "usage: %s [--threads T] [--batch N] [--repeats R] [--cpu-time] [--only TEXT]\n"
                   "       [--model efficientnet-lite0|mobilenet-s] [--direct-only]\n",
                   argv[0]);
          return 2;
        }
    }
  if (threads < 1 || batch < 1 || repeats < 1 || _sl_cpu_backend_new (threads, &be, &err) != SL_OK)
    {
      fprintf (stderr, "bench-depthwise: bad arguments or no CPU backend: %s\n", err.message);
      return 1;
    }
  printf ("depthwise conv, batch %d, %d thread(s), best of %d; ms of %s per pass\n", batch, threads,
          repeats, clock_id == CLOCK_MONOTONIC ? "wall time" : "CPU time");
  printf ("%-20s %10s %10s %10s %10s %8s %8s\n", "layer", "im2col fw", "im2col bw", "direct fw",
          "direct bw", "speed-up", "GFLOP/s");
  for (size_t l = 0; l < n_layers; l++)
    {
      const Layer *L = &layers[l];

      if (only != NULL && strstr (L->name, only) == NULL)
        continue;
      sl_conv_desc d = { .in_c = L->c,
                         .in_h = L->hw,
                         .in_w = L->hw,
                         .out_c = L->c,
                         .kh = L->k,
                         .kw = L->k,
                         .sh = L->s,
                         .sw = L->s,
                         .dh = 1,
                         .dw = 1,
                         .groups = L->c };
      double ms[2][2];

      if (L->same)
        {
          same (L->hw, L->k, L->s, &d.ph, &d.ph_end);
          same (L->hw, L->k, L->s, &d.pw, &d.pw_end);
        }
      else
        d.ph = d.pw = d.ph_end = d.pw_end = (L->k - 1) / 2;
      d.out_h = d.out_w = (L->hw + d.ph + d.ph_end - L->k) / L->s + 1;

      const size_t nx = (size_t) batch * L->c * L->hw * L->hw,
                   ny = (size_t) batch * L->c * d.out_h * d.out_w, nw = (size_t) L->c * L->k * L->k;
      float *x = malloc (nx * 4), *dx = malloc (nx * 4), *y = malloc (ny * 4),
            *dy = malloc (ny * 4), *w = malloc (nw * 4), *dw = malloc (nw * 4),
            *b = malloc (L->c * 4), *db = malloc (L->c * 4);

      fill (x, nx, 1);
      fill (dy, ny, 2);
      fill (w, nw, 3);
      fill (b, L->c, 4);
      const double layer_flops = 2.0 * batch * L->c * d.out_h * d.out_w * L->k * L->k;

      ms[0][0] = ms[0][1] = NAN;
      for (int p = direct_only ? 1 : 0; p < 2; p++)
        time_path (_sl_cpu_of (be), p == 1, &d, batch, repeats, x, w, b, dy, y, dx, dw, db,
                   &ms[p][0], &ms[p][1]);
      printf ("%-20s %10.2f %10.2f %10.2f %10.2f %7.1fx %8.1f\n", L->name, ms[0][0], ms[0][1],
              ms[1][0], ms[1][1], (ms[0][0] + ms[0][1]) / (ms[1][0] + ms[1][1]),
              3 * layer_flops / (ms[1][0] + ms[1][1]) * 1e-6);
      flops += 3 * layer_flops;
      total[0] += ms[0][0] + ms[0][1];
      total[1] += ms[1][0] + ms[1][1];
      free (x), free (dx), free (y), free (dy), free (w), free (dw), free (b), free (db);
    }
  printf ("%-20s %21.1f %21.1f %7.1fx %8.1f\n", "all (fw + bw)", total[0], total[1],
          total[0] / total[1], flops / total[1] * 1e-6);
  be->ops->destroy (be);
  return 0;
}
