/* bench-infer.c: libsightline inference per preset at its usual input size, for bench/compare-infer.sh.
 *
 *   bench-infer --out DIR [--presets small-bn:28:1,resnet-s:128:3,...] [--threads 1,2]
 *               [--batch 32] [--iterations 300] [--seconds 1.5] [--cold-runs 5]
 *
 * For every preset (name:side:channels, 10 classes, seed-7 initial weights: timing needs no
 * trained weights) writes into DIR the ONNX export (<preset>.onnx), a .slmodel for the cold
 * start, 64 deterministic pseudo-random 8-bit images as the float32 NCHW blob (0 .. 255) the
 * ONNX graph takes (<preset>.images.f32) and our probabilities for the first 8
 * (<preset>.probs.f32, for the peer's parity check). Then, per thread count, times
 * sl_model_predict on the same images divided by 255 beforehand (the export's normalisation
 * with mean 0, std 1): batch-1 latency (p50 over up to --iterations predictions or --seconds)
 * and throughput at --batch; and the cold start (sl_classifier_open + first
 * sl_classifier_predict_pixels in a fresh process). Prints one JSON object per line. Links the
 * shared libsightline, as a customer's program does. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench-lib.h"
#include "sl-classifier.h"

#define CLASSES     10
#define N_IMAGES    64
#define N_PARITY    8
#define MAX_PRESETS 16
#define MAX_THREADS 8
#define WARMUP      5

typedef struct
{
  char name[64];
  int side, channels;
} Preset;

typedef struct
{
  Preset presets[MAX_PRESETS];
  int n_presets;
  int threads[MAX_THREADS], n_threads;
  int batch, iterations, cold_runs;
  double seconds;
  const char *out_dir;
} Options;

static const char *const labels[CLASSES] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };

static char *
path_of (const Options *o, const Preset *p, const char *ext)
{
  char *s;

  if (asprintf (&s, "%s/%s.%s", o->out_dir, p->name, ext) < 0)
    bench_die ("paths", "out of memory");
  return s;
}

static void
write_file (const char *path, const void *data, size_t bytes)
{
  FILE *f = fopen (path, "wb");

  if (f == NULL || fwrite (data, 1, bytes, f) != bytes || fclose (f) != 0)
    bench_die (path, strerror (errno));
}

/* The preset's model (seed 7), its ONNX export and .slmodel. */
static sl_model *
build_model (const Options *o, const Preset *p)
{
  sl_preset_options po;
  sl_onnx_options oo;
  sl_slmodel_info info;
  sl_input_spec spec = { .width = p->side, .height = p->side, .channels = p->channels };
  sl_pipeline *pipeline = NULL;
  sl_model *m = NULL;
  sl_error err = { 0 };
  char *json = NULL, *onnx = path_of (o, p, "onnx"), *slm = path_of (o, p, "slmodel");

  sl_preset_options_init (&po);
  po.channels = p->channels;
  po.height = po.width = p->side;
  po.classes = CLASSES;
  sl_onnx_options_init (&oo);
  sl_slmodel_info_init (&info);
  info.labels = labels;
  for (int c = 0; c < 3; c++)
    spec.mean[c] = 0.0f, spec.std[c] = 1.0f;
  if (sl_preset_json (p->name, &po, &json, &err) != SL_OK
      || sl_model_new (json, 7, &m, &err) != SL_OK
      || sl_model_export_onnx (m, &oo, onnx, &err) != SL_OK
      || sl_pipeline_new (&pipeline, &err) != SL_OK
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK
      || sl_slmodel_save (m, pipeline, &info, slm, &err) != SL_OK)
    bench_die (p->name, err.message);
  sl_pipeline_free (pipeline);
  sl_free (json);
  free (onnx);
  free (slm);
  return m;
}

/* N_IMAGES 8-bit images (a fixed LCG), as 0 .. 255 floats (the peer's blob). */
static float *
make_images (const Preset *p, size_t *per_image)
{
  const size_t size = (size_t) p->channels * p->side * p->side;
  float *px = malloc (sizeof *px * size * N_IMAGES);
  uint32_t s = 12345;

  for (size_t i = 0; i < size * N_IMAGES; i++)
    {
      s = s * 1664525u + 1013904223u;
      px[i] = (float) (s >> 24);
    }
  *per_image = size;
  return px;
}

typedef struct
{
  double p50, mean, images_per_s;
  int iterations;
} Timing;

static void
time_model (sl_model *m, const float *x, size_t per_image, const Options *o, Timing *t)
{
  double *ms = malloc (sizeof *ms * o->iterations);
  float *probs = malloc (sizeof *probs * CLASSES * o->batch);
  sl_error err = { 0 };
  double t0, elapsed, sum = 0;
  long done = 0;
  int n = 0;

  for (int i = 0; i < WARMUP; i++)
    if (sl_model_predict (m, x + (size_t) (i % N_IMAGES) * per_image, 1, probs, &err) != SL_OK)
      bench_die ("sl_model_predict", err.message);
  t0 = bench_now_ms ();
  while (n < o->iterations && (n < 20 || bench_now_ms () - t0 < o->seconds * 1e3))
    {
      double s = bench_now_ms ();

      if (sl_model_predict (m, x + (size_t) (n % N_IMAGES) * per_image, 1, probs, &err) != SL_OK)
        bench_die ("sl_model_predict", err.message);
      ms[n] = bench_now_ms () - s;
      sum += ms[n++];
    }
  t->iterations = n;
  t->mean = sum / n;
  t->p50 = bench_median (ms, n);

  /* One untimed batch plans the working memory for this batch size. */
  if (sl_model_predict (m, x, o->batch, probs, &err) != SL_OK)
    bench_die ("sl_model_predict", err.message);
  t0 = bench_now_ms ();
  do
    {
      int start = (int) (done % N_IMAGES);

      if (start + o->batch > N_IMAGES)
        start = 0;
      if (sl_model_predict (m, x + (size_t) start * per_image, o->batch, probs, &err) != SL_OK)
        bench_die ("sl_model_predict", err.message);
      done += o->batch;
      elapsed = bench_now_ms () - t0;
    }
  while (elapsed < o->seconds * 1e3 || done < 2L * o->batch);
  t->images_per_s = done / (elapsed / 1e3);
  free (ms);
  free (probs);
}

/* ---- Cold start -------------------------------------------------------------- */

/* The child: open + first prediction of one gray or RGB frame. */
static int
cold_child (const char *path, int threads, int side, int channels)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_prediction p;
  sl_error err = { 0 };
  uint8_t *px = calloc ((size_t) side * side, channels);
  double t0, t1, t2;

  for (size_t i = 0; i < (size_t) side * side * channels; i++)
    px[i] = (uint8_t) (i * 37);
  sl_classifier_options_init (&co);
  co.threads = threads;
  sl_prediction_init (&p);
  t0 = bench_now_ms ();
  if (sl_classifier_open (path, &co, &c, &err) != SL_OK)
    bench_die (path, err.message);
  t1 = bench_now_ms ();
  if (sl_classifier_predict_pixels (c, px, side, side, 0,
                                    channels == 1 ? SL_PIXEL_GRAY8 : SL_PIXEL_RGB8, &p, NULL, &err)
      != SL_OK)
    bench_die ("predict_pixels", err.message);
  t2 = bench_now_ms ();
  printf ("%.4f %.4f\n", t1 - t0, t2 - t1);
  sl_classifier_free (c);
  free (px);
  return 0;
}

static void
spawn_cold (const char *path, const Preset *p, int threads, double *open_ms, double *first_ms)
{
  char targ[16], sarg[16], carg[16];
  char *argv[] = { "bench-infer", "--cold", (char *) path, targ, sarg, carg, NULL };

  snprintf (targ, sizeof targ, "%d", threads);
  snprintf (sarg, sizeof sarg, "%d", p->side);
  snprintf (carg, sizeof carg, "%d", p->channels);
  bench_spawn_cold (argv, open_ms, first_ms);
}

/* Median open + first prediction over fresh processes (one discarded first:
 * "cold" means a fresh process, not a cold disk). */
static void
time_cold (const Options *o, const Preset *p, int threads, double *open_ms, double *first_ms,
           double *cold_ms)
{
  char *path = path_of (o, p, "slmodel");
  double open[64], first[64], cold[64];

  spawn_cold (path, p, threads, &open[0], &first[0]);
  for (int i = 0; i < o->cold_runs; i++)
    {
      spawn_cold (path, p, threads, &open[i], &first[i]);
      cold[i] = open[i] + first[i];
    }
  *open_ms = bench_median (open, o->cold_runs);
  *first_ms = bench_median (first, o->cold_runs);
  *cold_ms = bench_median (cold, o->cold_runs);
  free (path);
}

/* ---- Arguments ------------------------------------------------------------------ */

static void
usage (FILE *out)
{
  fprintf (out, "Usage: bench-infer --out DIR [--presets NAME:SIDE:CHANNELS,...] [--threads 1,2]\n"
                "                   [--batch 32] [--iterations 300] [--seconds 1.5] "
                "[--cold-runs 5]\n");
}

static void
parse_presets (Options *o, const char *list)
{
  char *copy = strdup (list), *save = NULL;

  o->n_presets = 0;
  for (char *tok = strtok_r (copy, ",", &save); tok != NULL; tok = strtok_r (NULL, ",", &save))
    {
      Preset *p = &o->presets[o->n_presets];

      if (o->n_presets == MAX_PRESETS
          || sscanf (tok, "%63[^:]:%d:%d", p->name, &p->side, &p->channels) != 3 || p->side < 8
          || p->side > 1024 || (p->channels != 1 && p->channels != 3))
        bench_die ("--presets",
                   "give NAME:SIDE:CHANNELS entries (channels 1 or 3), e.g. resnet-s:128:3");
      o->n_presets++;
    }
  free (copy);
}

static void
parse_args (int argc, char **argv, Options *o)
{
  static const struct option longopts[] = {
    { "presets", required_argument, NULL, 'p' },
    { "threads", required_argument, NULL, 't' },
    { "batch", required_argument, NULL, 'b' },
    { "iterations", required_argument, NULL, 'i' },
    { "seconds", required_argument, NULL, 's' },
    { "cold-runs", required_argument, NULL, 'c' },
    { "out", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int opt;

  *o = (Options){ .batch = 32, .iterations = 300, .seconds = 1.5, .cold_runs = 5 };
  parse_presets (o, "small-bn:28:1,seed-cnn:28:1,resnet-s:128:3,mobilenet-s:128:3,"
                    "efficientnet-lite0:224:3");
  o->n_threads = bench_parse_threads ("1,2", o->threads, MAX_THREADS);
  while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1)
    switch (opt)
      {
        case 'p': parse_presets (o, optarg); break;
        case 't': o->n_threads = bench_parse_threads (optarg, o->threads, MAX_THREADS); break;
        case 'b': o->batch = atoi (optarg); break;
        case 'i': o->iterations = atoi (optarg); break;
        case 's': o->seconds = atof (optarg); break;
        case 'c': o->cold_runs = atoi (optarg); break;
        case 'o': o->out_dir = optarg; break;
        case 'h': usage (stdout); exit (0);
        default: usage (stderr); exit (2);
      }
  if (o->out_dir == NULL || o->batch < 1 || o->batch > N_IMAGES || o->iterations < 20
      || o->seconds <= 0 || o->cold_runs < 0 || o->cold_runs > 63 || optind != argc)
    {
      usage (stderr);
      exit (2);
    }
}

int
main (int argc, char **argv)
{
  Options o;

  if (argc == 6 && strcmp (argv[1], "--cold") == 0)
    return cold_child (argv[2], atoi (argv[3]), atoi (argv[4]), atoi (argv[5]));
  parse_args (argc, argv, &o);
  mkdir (o.out_dir, 0755);
  for (int k = 0; k < o.n_presets; k++)
    {
      const Preset *p = &o.presets[k];
      sl_model *m = build_model (&o, p);
      size_t per_image;
      float *px = make_images (p, &per_image), *x = malloc (sizeof *x * per_image * N_IMAGES);
      float probs[N_PARITY * CLASSES];
      char *path = path_of (&o, p, "images.f32");
      sl_error err = { 0 };

      write_file (path, px, sizeof *px * per_image * N_IMAGES);
      free (path);
      for (size_t i = 0; i < per_image * N_IMAGES; i++)
        x[i] = px[i] / 255.0f;
      if (sl_model_predict (m, x, N_PARITY, probs, &err) != SL_OK)
        bench_die ("sl_model_predict", err.message);
      path = path_of (&o, p, "probs.f32");
      write_file (path, probs, sizeof probs);
      free (path);
      for (int t = 0; t < o.n_threads; t++)
        {
          Timing tm;
          double open_ms = 0, first_ms = 0, cold_ms = 0;

          if (sl_model_set_threads (m, o.threads[t], &err) != SL_OK)
            bench_die ("sl_model_set_threads", err.message);
          time_model (m, x, per_image, &o, &tm);
          if (o.cold_runs > 0)
            time_cold (&o, p, o.threads[t], &open_ms, &first_ms, &cold_ms);
          printf ("{\"side\": \"sightline\", \"preset\": \"%s\", \"size\": %d, \"channels\": %d, "
                  "\"params\": %zu, \"threads\": %d, \"batch\": %d, \"latency_b1_p50_ms\": %.5f, "
                  "\"latency_b1_mean_ms\": %.5f, \"iterations\": %d, \"images_per_s\": %.1f, "
                  "\"open_ms\": %.3f, \"first_prediction_ms\": %.3f, \"cold_start_ms\": %.3f}\n",
                  p->name, p->side, p->channels, sl_model_param_count (m), o.threads[t], o.batch,
                  tm.p50, tm.mean, tm.iterations, tm.images_per_s, open_ms, first_ms, cold_ms);
          fflush (stdout);
        }
      sl_model_free (m);
      free (px);
      free (x);
    }
  return 0;
}
