/* sl-bench-anomaly.c: our side of bench/compare-anomaly.sh: PatchCore fit, scores, maps, latency and Grad-CAM cost on Lite0.
 *
 *   sl-bench-anomaly --backbone LITE0.slmodel --data CATEGORY_DIR --out DIR
 *                    [--threads 2] [--coreset-ratio 0.01] [--latency 20]
 *                    [--gradcam 20] [--dump-inputs]
 *                    [--layers NAME,NAME...] [--max-patches N] [--max-bank N]
 *
 * CATEGORY_DIR is one category of bench/make-anomaly-data.py. Every image goes
 * through the backbone's own pipeline (sl_pipeline_apply + normalize, as the
 * classifier does). Fits sl_anomaly on train/good with the default layers
 * (_blocks.2 + _blocks.4; --layers names others, --max-patches / --max-bank
 * override those caps) and `threads` compute threads, timing decoding +
 * features and the coreset apart; scores test/good then test/defect (each
 * sorted) and writes DIR/scores.tsv (file, label, score), DIR/maps.f32 (the
 * maps, n x H x W float32) and with --dump-inputs DIR/inputs.f32 (the
 * normalised inputs, n x 3 x H x W). --latency R: the median of R predictions
 * of one test image with its map through the runtime (sl_classifier_new_anomaly,
 * sl_classifier_predict_file_maps: decoding, preprocessing, model, scores and
 * map) at 1 and 2 threads. --gradcam R: the backbone as a 1000-class
 * classifier at 2 threads, the median of R predictions of one image with and
 * without its Grad-CAM map (sl_classifier_predict_image_maps), and the same in
 * the engine (sl_model_predict against sl_model_class_heatmap). Latency and
 * Grad-CAM also report process CPU time (all threads), steadier than wall
 * time on a shared machine. Prints one JSON object (also DIR/ours.json). */
#include "bench-clock.h"
#include "sl-classifier.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  const char *backbone, *data, *out;
  int threads, latency, gradcam;
  double coreset_ratio;
  int dump_inputs;
  const char *layers;              /* comma-separated layer names; NULL: the defaults */
  long long max_patches, max_bank; /* 0: the defaults */
} Options;

static void
die (const char *what, const sl_error *err)
{
  fprintf (stderr, "sl-bench-anomaly: %s%s%s\n", what, err != NULL ? ": " : "",
           err != NULL ? err->message : "");
  exit (1);
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The .png files of dir, sorted, as full paths; *n receives the count. */
static char **
list_pngs (const char *parent, const char *sub, int *n)
{
  char dir[4096];
  DIR *d;
  struct dirent *e;
  char **paths = NULL;
  int count = 0, cap = 0;

  snprintf (dir, sizeof dir, "%s/%s", parent, sub);
  if ((d = opendir (dir)) == NULL)
    {
      fprintf (stderr, "sl-bench-anomaly: cannot open %s (write it with make-anomaly-data.py)\n",
               dir);
      exit (1);
    }
  while ((e = readdir (d)) != NULL)
    {
      size_t len = strlen (e->d_name);
      if (len < 5 || strcmp (e->d_name + len - 4, ".png") != 0)
        continue;
      if (count == cap)
        {
          cap = cap ? cap * 2 : 64;
          paths = realloc (paths, sizeof (char *) * cap);
          if (paths == NULL)
            die ("out of memory", NULL);
        }
      paths[count] = malloc (strlen (dir) + len + 2);
      if (paths[count] == NULL)
        die ("out of memory", NULL);
      sprintf (paths[count++], "%s/%s", dir, e->d_name);
    }
  closedir (d);
  qsort (paths, count, sizeof (char *), compare_names);
  *n = count;
  return paths;
}

/* Decodes and preprocesses one file into the model's normalised input. */
static void
load_input (const sl_pipeline *pipeline, const char *path, float *x)
{
  sl_image img = { 0 }, in = { 0 };
  sl_error err = { 0 };

  if (sl_image_load (path, 0, &img, &err) != SL_OK
      || sl_pipeline_apply (pipeline, &img, &in, &err) != SL_OK
      || sl_pipeline_normalize (pipeline, &in, x, &err) != SL_OK)
    die (path, &err);
  sl_image_clear (&img);
  sl_image_clear (&in);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static bool
no_progress (int64_t done, int64_t total, void *user_data)
{
  (void) done;
  (void) total;
  (void) user_data;
  return true;
}

/* Median seconds of one image predicted with its anomaly map through the runtime at `threads`. */
static double
anomaly_latency (const sl_classifier *backbone, const sl_anomaly *anomaly, const char *path,
                 int threads, int repeats, double *cpu_median)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_model *m = NULL;
  sl_pipeline *p = NULL;
  sl_anomaly *a = sl_anomaly_copy (anomaly);
  sl_error err = { 0 };
  int32_t w, h, ch;
  double *t = malloc (sizeof (double) * repeats), *cpu = malloc (sizeof (double) * repeats);

  sl_classifier_options_init (&co);
  co.threads = threads;
  if (a == NULL || t == NULL || cpu == NULL)
    die ("out of memory", NULL);
  if (sl_model_share (sl_classifier_model (backbone), threads, &m, &err) != SL_OK
      || sl_pipeline_copy (sl_classifier_pipeline (backbone), &p, &err) != SL_OK
      || sl_classifier_new_anomaly (m, p, a, &co, &c, &err) != SL_OK)
    die ("building the anomaly classifier", &err);
  sl_classifier_input_size (c, &w, &h, &ch);
  float *map = malloc (sizeof (float) * w * h);
  for (int i = -2; i < repeats; i++) /* two warm-up runs */
    {
      sl_prediction pred;
      sl_prediction_maps maps;
      double t0 = bench_now (), c0 = bench_cpu_seconds ();

      sl_prediction_init (&pred);
      sl_prediction_maps_init (&maps);
      maps.anomaly_map = map;
      if (sl_classifier_predict_file_maps (c, path, &pred, NULL, &maps, &err) != SL_OK)
        die (path, &err);
      if (i >= 0)
        {
          t[i] = bench_now () - t0;
          cpu[i] = bench_cpu_seconds () - c0;
        }
    }
  double result = median (t, repeats);
  *cpu_median = median (cpu, repeats);
  free (map);
  free (t);
  free (cpu);
  sl_classifier_free (c);
  return result;
}

typedef struct
{
  double predict_ms, cam_ms, engine_predict_ms, engine_cam_ms;
  double predict_cpu_ms, cam_cpu_ms; /* process CPU time (both threads) */
} CamCost;

/* Grad-CAM against a plain prediction of the backbone as a 1000-class classifier, at threads. */
static CamCost
gradcam_cost (const Options *o, const char *path, int repeats)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_model *m = NULL;
  sl_image img = { 0 };
  sl_error err = { 0 };
  int32_t w, h, ch;
  CamCost cost;
  double *t[6];

  sl_classifier_options_init (&co);
  co.threads = o->threads;
  if (sl_classifier_open (o->backbone, &co, &c, &err) != SL_OK
      || sl_image_load (path, 0, &img, &err) != SL_OK
      || sl_model_share (sl_classifier_model (c), o->threads, &m, &err) != SL_OK)
    die (o->backbone, &err);
  sl_classifier_input_size (c, &w, &h, &ch);
  int classes = sl_classifier_class_count (c);
  int layer = sl_model_default_cam_layer (m);
  float *probs = malloc (sizeof (float) * classes), *map = malloc (sizeof (float) * w * h);
  float *x = malloc (sizeof (float) * w * h * ch);
  int lc, lh, lw;
  if (layer < 0 || sl_model_layer_shape (m, layer, &lc, &lh, &lw, &err) != SL_OK)
    die ("the backbone has no Grad-CAM layer", &err);
  float *cam = malloc (sizeof (float) * lh * lw);
  for (int k = 0; k < 6; k++)
    t[k] = malloc (sizeof (double) * repeats);
  load_input (sl_classifier_pipeline (c), path, x);

  /* Interleaved, so load changes on the shared machine hit both sides alike. */
  for (int i = -2; i < repeats; i++)
    {
      sl_prediction pred;
      sl_prediction_maps maps;
      double t0, t1, t2, t3, t4, c0, c1, c2;

      sl_prediction_init (&pred);
      sl_prediction_maps_init (&maps);
      maps.class_heatmap = map;
      t0 = bench_now ();
      c0 = bench_cpu_seconds ();
      if (sl_classifier_predict_image (c, &img, &pred, NULL, &err) != SL_OK)
        die ("predict", &err);
      t1 = bench_now ();
      c1 = bench_cpu_seconds ();
      if (sl_classifier_predict_image_maps (c, &img, &pred, NULL, &maps, &err) != SL_OK)
        die ("predict with Grad-CAM", &err);
      t2 = bench_now ();
      c2 = bench_cpu_seconds ();
      if (sl_model_predict (m, x, 1, probs, &err) != SL_OK)
        die ("sl_model_predict", &err);
      t3 = bench_now ();
      if (sl_model_class_heatmap (m, x, -1, layer, probs, cam, &err) != SL_OK)
        die ("sl_model_class_heatmap", &err);
      t4 = bench_now ();
      if (i >= 0)
        {
          t[0][i] = t1 - t0;
          t[1][i] = t2 - t1;
          t[2][i] = t3 - t2;
          t[3][i] = t4 - t3;
          t[4][i] = c1 - c0;
          t[5][i] = c2 - c1;
        }
    }
  cost.predict_ms = 1e3 * median (t[0], repeats);
  cost.cam_ms = 1e3 * median (t[1], repeats);
  cost.engine_predict_ms = 1e3 * median (t[2], repeats);
  cost.engine_cam_ms = 1e3 * median (t[3], repeats);
  cost.predict_cpu_ms = 1e3 * median (t[4], repeats);
  cost.cam_cpu_ms = 1e3 * median (t[5], repeats);
  for (int k = 0; k < 6; k++)
    free (t[k]);
  free (probs);
  free (map);
  free (cam);
  free (x);
  sl_image_clear (&img);
  sl_model_free (m);
  sl_classifier_free (c);
  return cost;
}

static void
usage (int status)
{
  fprintf (status ? stderr : stdout,
           "usage: sl-bench-anomaly --backbone LITE0.slmodel --data CATEGORY_DIR --out DIR\n"
           "         [--threads 2] [--coreset-ratio 0.01] [--latency R] [--gradcam R]"
           " [--dump-inputs]\n"
           "         [--layers NAME,NAME...] [--max-patches N] [--max-bank N]\n");
  exit (status);
}

static Options
parse (int argc, char **argv)
{
  static const struct option longs[] = {
    { "backbone", required_argument, NULL, 'b' },
    { "data", required_argument, NULL, 'd' },
    { "out", required_argument, NULL, 'o' },
    { "threads", required_argument, NULL, 't' },
    { "coreset-ratio", required_argument, NULL, 'r' },
    { "latency", required_argument, NULL, 'l' },
    { "gradcam", required_argument, NULL, 'g' },
    { "dump-inputs", no_argument, NULL, 'i' },
    { "layers", required_argument, NULL, 'L' },
    { "max-patches", required_argument, NULL, 'P' },
    { "max-bank", required_argument, NULL, 'B' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  Options o = { .threads = 2, .coreset_ratio = 0.01 };
  int c;

  while ((c = getopt_long (argc, argv, "", longs, NULL)) != -1)
    switch (c)
      {
        case 'b': o.backbone = optarg; break;
        case 'd': o.data = optarg; break;
        case 'o': o.out = optarg; break;
        case 't': o.threads = atoi (optarg); break;
        case 'r': o.coreset_ratio = atof (optarg); break;
        case 'l': o.latency = atoi (optarg); break;
        case 'g': o.gradcam = atoi (optarg); break;
        case 'i': o.dump_inputs = 1; break;
        case 'L': o.layers = optarg; break;
        case 'P': o.max_patches = atoll (optarg); break;
        case 'B': o.max_bank = atoll (optarg); break;
        case 'h': usage (0); break;
        default: usage (2);
      }
  if (o.backbone == NULL || o.data == NULL || o.out == NULL || optind != argc || o.threads < 1
      || o.latency < 0 || o.gradcam < 0 || !(o.coreset_ratio > 0 && o.coreset_ratio <= 1)
      || o.max_patches < 0 || o.max_bank < 0)
    usage (2);
  return o;
}

static FILE *
open_out (const Options *o, const char *name)
{
  char path[4096];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", o->out, name);
  if ((f = fopen (path, "wb")) == NULL)
    {
      fprintf (stderr, "sl-bench-anomaly: cannot write %s\n", path);
      exit (1);
    }
  return f;
}

int
main (int argc, char **argv)
{
  Options o = parse (argc, argv);
  sl_classifier_options co;
  sl_classifier *backbone = NULL;
  sl_model *m = NULL;
  sl_anomaly_config config;
  sl_anomaly_fitter *fitter = NULL;
  sl_anomaly *anomaly = NULL;
  sl_error err = { 0 };
  int32_t w, h, ch;
  int n_train, n_good, n_bad;
  const int batch = 16;

  sl_classifier_options_init (&co);
  co.threads = o.threads;
  if (sl_classifier_open (o.backbone, &co, &backbone, &err) != SL_OK)
    die (o.backbone, &err);
  if (sl_model_share (sl_classifier_model (backbone), o.threads, &m, &err) != SL_OK)
    die ("sl_model_share", &err);
  sl_classifier_input_size (backbone, &w, &h, &ch);
  const sl_pipeline *pipeline = sl_classifier_pipeline (backbone);
  const size_t in_size = (size_t) w * h * ch;
  char **train = list_pngs (o.data, "train/good", &n_train);
  char **good = list_pngs (o.data, "test/good", &n_good);
  char **bad = list_pngs (o.data, "test/defect", &n_bad);
  if (n_train == 0 || n_good + n_bad == 0)
    die ("the category has no training or no test images", NULL);

  /* Fit: decode + preprocess + features, then the coreset. */
  sl_anomaly_config_init (&config);
  config.coreset_ratio = o.coreset_ratio;
  config.expected_images = n_train;
  if (o.max_patches > 0)
    config.max_patches = o.max_patches;
  if (o.max_bank > 0)
    config.max_bank = o.max_bank;
  if (o.layers != NULL)
    {
      char names[1024], *save = NULL;

      snprintf (names, sizeof names, "%s", o.layers);
      for (char *tok = strtok_r (names, ",", &save); tok != NULL; tok = strtok_r (NULL, ",", &save))
        {
          int layer = sl_model_find_layer (m, tok);

          if (layer < 0 || config.n_layers == SL_ANOMALY_MAX_LAYERS)
            {
              fprintf (stderr, "sl-bench-anomaly: no layer '%s' (or too many layers)\n", tok);
              exit (2);
            }
          config.layers[config.n_layers++] = layer;
        }
    }
  float *x = malloc (sizeof (float) * in_size * batch);
  if (x == NULL)
    die ("out of memory", NULL);
  double cpu0 = bench_cpu_seconds (), t0 = bench_now ();
  if (sl_anomaly_fitter_new (m, &config, &fitter, &err) != SL_OK)
    die ("sl_anomaly_fitter_new", &err);
  for (int i = 0; i < n_train; i += batch)
    {
      int n = n_train - i < batch ? n_train - i : batch;
      for (int k = 0; k < n; k++)
        load_input (pipeline, train[i + k], x + (size_t) k * in_size);
      if (sl_anomaly_fitter_add (fitter, x, n, &err) != SL_OK)
        die ("sl_anomaly_fitter_add", &err);
    }
  double t1 = bench_now ();
  int64_t patches = sl_anomaly_fitter_patch_count (fitter);
  if (sl_anomaly_fitter_finish (fitter, no_progress, NULL, &anomaly, &err) != SL_OK)
    die ("sl_anomaly_fitter_finish", &err);
  double t2 = bench_now (), cpu1 = bench_cpu_seconds ();
  sl_anomaly_fitter_free (fitter);

  /* Scores and maps of the test images, good first. */
  int n_test = n_good + n_bad;
  FILE *tsv = open_out (&o, "scores.tsv"), *fmaps = open_out (&o, "maps.f32");
  FILE *finputs = o.dump_inputs ? open_out (&o, "inputs.f32") : NULL;
  float *scores = malloc (sizeof (float) * batch), *maps = malloc (sizeof (float) * w * h * batch);
  fprintf (tsv, "file\tlabel\tscore\n");
  double t3 = bench_now ();
  for (int i = 0; i < n_test; i += batch)
    {
      int n = n_test - i < batch ? n_test - i : batch;
      for (int k = 0; k < n; k++)
        {
          int j = i + k;
          load_input (pipeline, j < n_good ? good[j] : bad[j - n_good], x + (size_t) k * in_size);
        }
      if (sl_anomaly_score (anomaly, m, x, n, scores, maps, &err) != SL_OK)
        die ("sl_anomaly_score", &err);
      for (int k = 0; k < n; k++)
        {
          int j = i + k;
          const char *path = j < n_good ? good[j] : bad[j - n_good];
          fprintf (tsv, "%s\t%s\t%.9g\n", strrchr (path, '/') + 1, j < n_good ? "good" : "defect",
                   scores[k]);
        }
      if (fwrite (maps, sizeof (float) * w * h, n, fmaps) != (size_t) n
          || (finputs != NULL && fwrite (x, sizeof (float) * in_size, n, finputs) != (size_t) n))
        die ("cannot write the maps or inputs", NULL);
    }
  double t4 = bench_now ();
  if (fclose (tsv) != 0 || fclose (fmaps) != 0 || (finputs != NULL && fclose (finputs) != 0))
    die ("cannot write the output files", NULL);

  FILE *json = open_out (&o, "ours.json");
  for (int pass = 0; pass < 2; pass++)
    {
      FILE *f = pass == 0 ? stdout : json;
      fprintf (f,
               "{\"train_images\": %d, \"test_images\": %d, \"threads\": %d, "
               "\"coreset_ratio\": %g, \"patches\": %lld, \"bank_size\": %lld, \"dims\": %d, "
               "\"fit_features_s\": %.3f, \"fit_coreset_s\": %.3f, \"fit_s\": %.3f, "
               "\"fit_cpu_s\": %.3f, \"score_ms_per_image\": %.2f",
               n_train, n_test, o.threads, o.coreset_ratio, (long long) patches,
               (long long) sl_anomaly_bank_size (anomaly), sl_anomaly_feature_dims (anomaly),
               t1 - t0, t2 - t1, t2 - t0, cpu1 - cpu0, 1e3 * (t4 - t3) / n_test);
      fflush (f);
    }
  const char *probe = n_bad > 0 ? bad[0] : good[0];
  if (o.latency > 0)
    {
      double c1, c2;
      double l1 = anomaly_latency (backbone, anomaly, probe, 1, o.latency, &c1);
      double l2 = anomaly_latency (backbone, anomaly, probe, 2, o.latency, &c2);
      for (int pass = 0; pass < 2; pass++)
        fprintf (pass == 0 ? stdout : json,
                 ", \"latency_ms_1t\": %.2f, \"latency_ms_2t\": %.2f"
                 ", \"latency_cpu_ms_1t\": %.2f, \"latency_cpu_ms_2t\": %.2f",
                 1e3 * l1, 1e3 * l2, 1e3 * c1, 1e3 * c2);
    }
  if (o.gradcam > 0)
    {
      CamCost c = gradcam_cost (&o, probe, o.gradcam);
      for (int pass = 0; pass < 2; pass++)
        fprintf (pass == 0 ? stdout : json,
                 ", \"predict_ms\": %.2f, \"gradcam_predict_ms\": %.2f, \"gradcam_ratio\": %.3f"
                 ", \"engine_predict_ms\": %.2f, \"engine_gradcam_ms\": %.2f"
                 ", \"engine_gradcam_ratio\": %.3f, \"predict_cpu_ms\": %.2f"
                 ", \"gradcam_predict_cpu_ms\": %.2f, \"gradcam_cpu_ratio\": %.3f",
                 c.predict_ms, c.cam_ms, c.cam_ms / c.predict_ms, c.engine_predict_ms,
                 c.engine_cam_ms, c.engine_cam_ms / c.engine_predict_ms, c.predict_cpu_ms,
                 c.cam_cpu_ms, c.cam_cpu_ms / c.predict_cpu_ms);
    }
  printf ("}\n");
  fprintf (json, "}\n");
  if (fclose (json) != 0)
    die ("cannot write ours.json", NULL);

  for (int i = 0; i < n_train; i++)
    free (train[i]);
  for (int i = 0; i < n_good; i++)
    free (good[i]);
  for (int i = 0; i < n_bad; i++)
    free (bad[i]);
  free (train);
  free (good);
  free (bad);
  free (x);
  free (scores);
  free (maps);
  sl_anomaly_free (anomaly);
  sl_model_free (m);
  sl_classifier_free (backbone);
  return 0;
}
