/* bench-runtime.c: the line-side runtime's latency, throughput and cold start, for bench/compare-runtime.sh.
 *
 *   bench-runtime [--preset small-bn] [--threads 1,2] [--images 1000] [--iterations 2000]
 *                 [--batch 32] [--cold-runs 9 (0: none)] [--out DIR] [--json]
 *
 * Writes one untrained .slmodel per preset (28x28 gray, 10 classes, an empty
 * pipeline with the Fashion-MNIST mean and std) and the ONNX export of the
 * benchmarked preset into DIR, then times, per thread count:
 *   classifier  sl_classifier_predict_pixels (batch 1) and _predict_batch on
 *               28x28 8-bit frames: the runtime API, input stage +
 *               normalisation + forward + softmax;
 *   forward     sl_model_predict on floats normalised beforehand;
 * and the cold start of every preset (sl_classifier_open + the first
 * prediction) in fresh processes. Links the shared libsightline, as a
 * customer's program does. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench-lib.h"
#include "sl-classifier.h"
#include "sl-idx.h"

#define FMNIST_TEST   "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define FMNIST_MEAN   0.2860f
#define FMNIST_STD    0.3530f
#define SIDE          28
#define PIXELS        (SIDE * SIDE)
#define CLASSES       10
#define MAX_THREADS   8
#define WARMUP        100
#define MIN_SECONDS   1.0
#define PARITY_IMAGES 100

typedef struct
{
  const char *preset;
  int threads[MAX_THREADS], n_threads;
  int images, iterations, batch, cold_runs;
  const char *out_dir;
  bool json;
} Options;

typedef struct
{
  double p50, p99, mean; /* batch-1 latency, ms */
  double images_per_s;   /* at the batch size */
} Timing;

typedef struct
{
  int threads;
  Timing classifier, forward;
} ThreadResult;

typedef struct
{
  double open_ms, first_ms, cold_ms, process_ms; /* medians */
} ColdResult;

static const char *const labels[CLASSES] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };

/* Sorts v and returns its nearest-rank percentile p. */
static double
percentile (double *v, int n, double p)
{
  int rank = (int) (p / 100.0 * n + 0.999999);

  qsort (v, n, sizeof *v, bench_compare_doubles);
  return v[rank < 1 ? 0 : rank > n ? n - 1 : rank - 1];
}

static double
mean (const double *v, int n)
{
  double s = 0;

  for (int i = 0; i < n; i++)
    s += v[i];
  return s / n;
}

static char *
model_path (const Options *o, const char *preset, const char *ext)
{
  char *p;

  if (asprintf (&p, "%s/%s.%s", o->out_dir, preset, ext) < 0)
    bench_die ("paths", "out of memory");
  return p;
}

/* ---- Models ---------------------------------------------------------------- */

/* Timing needs no trained weights: a preset with its seed-7 initial weights. */
static void
write_model (const Options *o, const char *preset)
{
  sl_preset_options po;
  sl_slmodel_info info;
  sl_input_spec spec = { .width = SIDE, .height = SIDE, .channels = 1 };
  sl_model *model = NULL;
  sl_pipeline *pipeline = NULL;
  sl_error err = { 0 };
  char *json = NULL, *path = model_path (o, preset, "slmodel");

  sl_preset_options_init (&po);
  po.channels = 1;
  po.height = po.width = SIDE;
  po.classes = CLASSES;
  spec.mean[0] = FMNIST_MEAN;
  spec.std[0] = FMNIST_STD;
  sl_slmodel_info_init (&info);
  info.labels = labels;
  if (sl_preset_json (preset, &po, &json, &err) != SL_OK
      || sl_model_new (json, 7, &model, &err) != SL_OK || sl_pipeline_new (&pipeline, &err) != SL_OK
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK
      || sl_slmodel_save (model, pipeline, &info, path, &err) != SL_OK)
    bench_die (preset, err.message);
  sl_pipeline_free (pipeline);
  sl_model_free (model);
  sl_free (json);
  free (path);
}

static sl_classifier *
open_classifier (const char *path, int threads)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_error err = { 0 };

  sl_classifier_options_init (&co);
  co.threads = threads;
  if (sl_classifier_open (path, &co, &c, &err) != SL_OK)
    bench_die (path, err.message);
  return c;
}

/* ---- Timing ------------------------------------------------------------------ */

static void
time_classifier (sl_classifier *c, const uint8_t *px, int n, const Options *o, Timing *t)
{
  double *ms = malloc (sizeof *ms * o->iterations);
  sl_frame *frames = calloc (n, sizeof *frames);
  sl_prediction *preds = calloc (o->batch, sizeof *preds);
  sl_prediction p;
  sl_error err = { 0 };
  long done = 0;
  double t0, elapsed;

  sl_prediction_init (&p);
  for (int i = 0; i < WARMUP + o->iterations; i++)
    {
      double s = bench_now_ms ();

      if (sl_classifier_predict_pixels (c, px + (size_t) (i % n) * PIXELS, SIDE, SIDE, 0,
                                        SL_PIXEL_GRAY8, &p, NULL, &err)
          != SL_OK)
        bench_die ("predict_pixels", err.message);
      if (i >= WARMUP)
        ms[i - WARMUP] = bench_now_ms () - s;
    }
  t->mean = mean (ms, o->iterations);
  t->p50 = percentile (ms, o->iterations, 50);
  t->p99 = percentile (ms, o->iterations, 99);

  for (int i = 0; i < n; i++)
    {
      sl_frame_init (&frames[i]);
      frames[i].pixels = px + (size_t) i * PIXELS;
      frames[i].width = frames[i].height = SIDE;
      frames[i].format = SL_PIXEL_GRAY8;
    }
  sl_prediction_init (&preds[0]);
  /* One untimed batch plans the working memory for this batch size. */
  if (sl_classifier_predict_batch (c, frames, o->batch, preds, NULL, &err) != SL_OK)
    bench_die ("predict_batch", err.message);
  t0 = bench_now_ms ();
  do
    {
      int start = (int) (done % n);

      if (start + o->batch > n)
        start = 0;
      if (sl_classifier_predict_batch (c, frames + start, o->batch, preds, NULL, &err) != SL_OK)
        bench_die ("predict_batch", err.message);
      done += o->batch;
      elapsed = (bench_now_ms () - t0) / 1e3;
    }
  while (elapsed < MIN_SECONDS || done < n);
  t->images_per_s = done / elapsed;
  free (ms);
  free (frames);
  free (preds);
}

static void
time_forward (const sl_classifier *c, int threads, const float *x, int n, const Options *o,
              Timing *t)
{
  double *ms = malloc (sizeof *ms * o->iterations);
  float *probs = malloc (sizeof *probs * CLASSES * o->batch);
  sl_model *m = NULL;
  sl_error err = { 0 };
  long done = 0;
  double t0, elapsed;

  if (sl_model_share (sl_classifier_model (c), threads, &m, &err) != SL_OK)
    bench_die ("sl_model_share", err.message);
  for (int i = 0; i < WARMUP + o->iterations; i++)
    {
      double s = bench_now_ms ();

      if (sl_model_predict (m, x + (size_t) (i % n) * PIXELS, 1, probs, &err) != SL_OK)
        bench_die ("sl_model_predict", err.message);
      if (i >= WARMUP)
        ms[i - WARMUP] = bench_now_ms () - s;
    }
  t->mean = mean (ms, o->iterations);
  t->p50 = percentile (ms, o->iterations, 50);
  t->p99 = percentile (ms, o->iterations, 99);

  if (sl_model_predict (m, x, o->batch, probs, &err) != SL_OK)
    bench_die ("sl_model_predict", err.message);
  t0 = bench_now_ms ();
  do
    {
      int start = (int) (done % n);

      if (start + o->batch > n)
        start = 0;
      if (sl_model_predict (m, x + (size_t) start * PIXELS, o->batch, probs, &err) != SL_OK)
        bench_die ("sl_model_predict", err.message);
      done += o->batch;
      elapsed = (bench_now_ms () - t0) / 1e3;
    }
  while (elapsed < MIN_SECONDS || done < n);
  t->images_per_s = done / elapsed;
  sl_model_free (m);
  free (ms);
  free (probs);
}

/* Probabilities of the first images, for the peer to compare with its own. */
static void
write_parity (const Options *o, sl_classifier *c, const uint8_t *px, int n)
{
  char *path = model_path (o, o->preset, "probs.f32");
  float *probs = malloc (sizeof *probs * CLASSES * n);
  sl_prediction p;
  sl_error err = { 0 };
  FILE *f;

  sl_prediction_init (&p);
  for (int i = 0; i < n; i++)
    if (sl_classifier_predict_pixels (c, px + (size_t) i * PIXELS, SIDE, SIDE, 0, SL_PIXEL_GRAY8,
                                      &p, probs + (size_t) i * CLASSES, &err)
        != SL_OK)
      bench_die ("predict_pixels", err.message);
  f = fopen (path, "wb");
  if (f == NULL || fwrite (probs, sizeof *probs, (size_t) CLASSES * n, f) != (size_t) CLASSES * n
      || fclose (f) != 0)
    bench_die (path, strerror (errno));
  free (probs);
  free (path);
}

/* ---- Cold start -------------------------------------------------------------- */

/* The child: open + first prediction, as the first thing the process does
 * after main (the image is read first and not counted). */
static int
cold_child (const char *path, int threads)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_prediction p;
  sl_error err = { 0 };
  sl_idx img;
  double t0, t1, t2;

  if (sl_idx_load (FMNIST_TEST, 1, &img, &err) != SL_OK)
    bench_die ("Fashion-MNIST", err.message);
  sl_classifier_options_init (&co);
  co.threads = threads;
  sl_prediction_init (&p);
  t0 = bench_now_ms ();
  if (sl_classifier_open (path, &co, &c, &err) != SL_OK)
    bench_die (path, err.message);
  t1 = bench_now_ms ();
  if (sl_classifier_predict_pixels (c, img.data, SIDE, SIDE, 0, SL_PIXEL_GRAY8, &p, NULL, &err)
      != SL_OK)
    bench_die ("predict_pixels", err.message);
  t2 = bench_now_ms ();
  printf ("%.4f %.4f\n", t1 - t0, t2 - t1);
  sl_classifier_free (c);
  sl_idx_clear (&img);
  return 0;
}

/* One fresh process: returns its wall time (spawn to exit) and what it measured. */
static double
spawn_cold (const char *path, int threads, double *open_ms, double *first_ms)
{
  char threads_arg[16];
  char *argv[] = { "bench-runtime", "--cold", (char *) path, "--threads", threads_arg, NULL };

  snprintf (threads_arg, sizeof threads_arg, "%d", threads);
  return bench_spawn_cold (argv, open_ms, first_ms);
}

static void
time_cold (const Options *o, const char *preset, int threads, ColdResult *r)
{
  char *path = model_path (o, preset, "slmodel");
  double open[64], first[64], cold[64], wall[64];
  int runs = o->cold_runs;

  /* One discarded run puts the model and the libraries in the page cache:
   * "cold" here means a fresh process, not a cold disk. */
  spawn_cold (path, threads, &open[0], &first[0]);
  for (int i = 0; i < runs; i++)
    {
      wall[i] = spawn_cold (path, threads, &open[i], &first[i]);
      cold[i] = open[i] + first[i];
    }
  r->open_ms = bench_median (open, runs);
  r->first_ms = bench_median (first, runs);
  r->cold_ms = bench_median (cold, runs);
  r->process_ms = bench_median (wall, runs);
  free (path);
}

/* ---- Output ------------------------------------------------------------------- */

static void
print_timing_json (const char *key, const Timing *t)
{
  printf ("\"%s\": {\"latency_b1_p50_ms\": %.5f, \"latency_b1_p99_ms\": %.5f, "
          "\"latency_b1_mean_ms\": %.5f, \"images_per_s\": %.1f}",
          key, t->p50, t->p99, t->mean, t->images_per_s);
}

static void
print_json (const Options *o, const sl_classifier *c, const ThreadResult *tr,
            const char *const *presets, int n_presets, ColdResult cold[][MAX_THREADS])
{
  printf ("{\"preset\": \"%s\", \"params\": %zu, \"flops_per_image\": %.0f, \"images\": %d, "
          "\"iterations\": %d, \"batch\": %d, \"out\": \"%s\",\n \"runs\": [",
          o->preset, sl_model_param_count (sl_classifier_model (c)),
          sl_model_flops_per_image (sl_classifier_model (c)), o->images, o->iterations, o->batch,
          o->out_dir);
  for (int t = 0; t < o->n_threads; t++)
    {
      printf ("%s\n  {\"threads\": %d, ", t ? "," : "", tr[t].threads);
      print_timing_json ("classifier", &tr[t].classifier);
      printf (", ");
      print_timing_json ("forward", &tr[t].forward);
      printf ("}");
    }
  printf ("],\n \"cold_start\": [");
  for (int p = 0; p < n_presets && o->cold_runs > 0; p++)
    for (int t = 0; t < o->n_threads; t++)
      printf ("%s\n  {\"preset\": \"%s\", \"threads\": %d, \"runs\": %d, \"open_ms\": %.3f, "
              "\"first_prediction_ms\": %.3f, \"cold_start_ms\": %.3f, \"process_ms\": %.2f}",
              p + t ? "," : "", presets[p], o->threads[t], o->cold_runs, cold[p][t].open_ms,
              cold[p][t].first_ms, cold[p][t].cold_ms, cold[p][t].process_ms);
  printf ("]}\n");
}

static void
print_table (const Options *o, const ThreadResult *tr, const char *const *presets, int n_presets,
             ColdResult cold[][MAX_THREADS])
{
  printf ("%s, 28x28x1, %d images, batch-1 latency over %d predictions, throughput at batch %d\n\n",
          o->preset, o->images, o->iterations, o->batch);
  printf ("%-8s %-11s %10s %10s %10s %12s\n", "threads", "path", "p50 ms", "p99 ms", "mean ms",
          "images/s");
  for (int t = 0; t < o->n_threads; t++)
    {
      const Timing *c = &tr[t].classifier, *f = &tr[t].forward;

      printf ("%-8d %-11s %10.4f %10.4f %10.4f %12.0f\n", tr[t].threads, "classifier", c->p50,
              c->p99, c->mean, c->images_per_s);
      printf ("%-8s %-11s %10.4f %10.4f %10.4f %12.0f\n", "", "forward", f->p50, f->p99, f->mean,
              f->images_per_s);
    }
  if (o->cold_runs == 0)
    return;
  printf ("\ncold start, median of %d fresh processes\n", o->cold_runs);
  printf ("%-12s %-8s %10s %10s %10s %12s\n", "preset", "threads", "open ms", "first ms", "cold ms",
          "process ms");
  for (int p = 0; p < n_presets; p++)
    for (int t = 0; t < o->n_threads; t++)
      printf ("%-12s %-8d %10.3f %10.3f %10.3f %12.2f\n", presets[p], o->threads[t],
              cold[p][t].open_ms, cold[p][t].first_ms, cold[p][t].cold_ms, cold[p][t].process_ms);
}

/* ---- Arguments ------------------------------------------------------------------ */

static void
usage (FILE *out)
{
  fprintf (out, "Usage: bench-runtime [--preset NAME] [--threads 1,2] [--images N] "
                "[--iterations N]\n"
                "                     [--batch N] [--cold-runs N] [--out DIR] [--json]\n");
}

static void
parse_args (int argc, char **argv, Options *o)
{
  static const struct option longopts[] = {
    { "preset", required_argument, NULL, 'p' }, { "threads", required_argument, NULL, 't' },
    { "images", required_argument, NULL, 'n' }, { "iterations", required_argument, NULL, 'i' },
    { "batch", required_argument, NULL, 'b' },  { "cold-runs", required_argument, NULL, 'c' },
    { "out", required_argument, NULL, 'o' },    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
  };
  long cores = sysconf (_SC_NPROCESSORS_ONLN);
  int opt;

  *o = (Options){
    .preset = "small-bn", .images = 1000, .iterations = 2000, .batch = 32, .cold_runs = 9
  };
  o->threads[o->n_threads++] = 1;
  if (cores > 1)
    o->threads[o->n_threads++] = (int) (cores < 64 ? cores : 64);
  while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1)
    switch (opt)
      {
        case 'p': o->preset = optarg; break;
        case 't': o->n_threads = bench_parse_threads (optarg, o->threads, MAX_THREADS); break;
        case 'n': o->images = atoi (optarg); break;
        case 'i': o->iterations = atoi (optarg); break;
        case 'b': o->batch = atoi (optarg); break;
        case 'c': o->cold_runs = atoi (optarg); break;
        case 'o': o->out_dir = optarg; break;
        case 'j': o->json = true; break;
        case 'h': usage (stdout); exit (0);
        default: usage (stderr); exit (2);
      }
  if (o->images < 1 || o->images > 10000 || o->iterations < 10 || o->batch < 1
      || o->batch > o->images || o->cold_runs < 0 || o->cold_runs > 63 || optind != argc)
    {
      usage (stderr);
      exit (2);
    }
}

/* ---- Main ---------------------------------------------------------------------- */

/* The same images both sides use: 8-bit for the classifier, normalised floats for the forward pass. */
static void
load_images (int n, sl_idx *idx, float **x)
{
  sl_error err = { 0 };

  if (sl_idx_load (FMNIST_TEST, n, idx, &err) != SL_OK)
    bench_die ("Fashion-MNIST (apt-get install dataset-fashion-mnist)", err.message);
  if (idx->count < n || idx->height != SIDE || idx->width != SIDE)
    bench_die (FMNIST_TEST, "not the Fashion-MNIST test images");
  *x = malloc (sizeof **x * (size_t) n * PIXELS);
  for (size_t i = 0; i < (size_t) n * PIXELS; i++)
    (*x)[i] = (idx->data[i] / 255.0f - FMNIST_MEAN) / FMNIST_STD;
}

int
main (int argc, char **argv)
{
  Options o;
  const char *const *presets = sl_preset_names ();
  int n_presets = 0;
  ColdResult cold[8][MAX_THREADS];
  ThreadResult tr[MAX_THREADS];
  char tmpl[] = "/tmp/sl-bench-runtime.XXXXXX";
  sl_idx images;
  const uint8_t *px;
  float *x;
  sl_classifier *c;
  char *onnx;
  sl_error err = { 0 };

  if (argc == 5 && strcmp (argv[1], "--cold") == 0)
    return cold_child (argv[2], atoi (argv[4]));
  parse_args (argc, argv, &o);
  if (o.out_dir == NULL && (o.out_dir = mkdtemp (tmpl)) == NULL)
    bench_die ("mkdtemp", strerror (errno));
  mkdir (o.out_dir, 0755);
  while (presets[n_presets] != NULL && n_presets < 8)
    write_model (&o, presets[n_presets++]);
  load_images (o.images, &images, &x);
  px = images.data;

  for (int t = 0; t < o.n_threads; t++)
    {
      char *path = model_path (&o, o.preset, "slmodel");

      c = open_classifier (path, o.threads[t]);
      tr[t].threads = o.threads[t];
      time_classifier (c, px, o.images, &o, &tr[t].classifier);
      time_forward (c, o.threads[t], x, o.images, &o, &tr[t].forward);
      sl_classifier_free (c);
      free (path);
    }
  /* --cold-runs 0 skips the cold starts (compare-runtime.sh times them once). */
  for (int p = 0; p < n_presets && o.cold_runs > 0; p++)
    for (int t = 0; t < o.n_threads; t++)
      time_cold (&o, presets[p], o.threads[t], &cold[p][t]);

  /* The model the peer runs, and what it should answer. */
  {
    char *path = model_path (&o, o.preset, "slmodel");

    c = open_classifier (path, 1);
    onnx = model_path (&o, o.preset, "onnx");
    if (sl_classifier_export_onnx (c, onnx, &err) != SL_OK)
      bench_die (onnx, err.message);
    write_parity (&o, c, px, o.images < PARITY_IMAGES ? o.images : PARITY_IMAGES);
    free (path);
    free (onnx);
  }
  if (o.json)
    print_json (&o, c, tr, presets, n_presets, cold);
  else
    print_table (&o, tr, presets, n_presets, cold);
  sl_classifier_free (c);
  sl_idx_clear (&images);
  free (x);
  return 0;
}
