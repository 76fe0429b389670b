/* sl-bench-train.c: trains a preset on Fashion-MNIST (or synthetic RGB images, --size) and reports
 * throughput, accuracy, latency, GFLOP/s and peak memory (bench/compare-train.sh runs the peers). */
#include "sightline.h"
#include "bench-clock.h"
#include "sl-idx.h"

#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MEAN 0.2860f
#define STD  0.3530f

typedef struct
{
  sl_idx images, labels;
  int n;
  int *order;
  int pos;
  uint64_t seed;
  float lut[256];     /* pixel value -> normalised float */
  uint8_t *synthetic; /* --size: n images of 3 x size x size, 8-bit values */
  int pixels;         /* values per synthetic image */
  int classes;
} dataset;

static uint64_t
next_random (uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int64_t
ds_count (void *user_data)
{
  return ((dataset *) user_data)->n;
}

static sl_status
ds_begin (void *user_data, int64_t epoch, sl_error *err)
{
  dataset *d = user_data;
  uint64_t s = d->seed + (uint64_t) epoch * 1000003u;

  d->pos = 0;
  if (d->synthetic != NULL)
    return SL_OK;
  for (int i = 0; i < d->n; i++)
    d->order[i] = i;
  for (int i = d->n - 1; d->seed != 0 && i > 0; i--)
    {
      int j = (int) (next_random (&s) % (uint64_t) (i + 1)), t = d->order[i];
      d->order[i] = d->order[j];
      d->order[j] = t;
    }
  d->pos = 0;
  return SL_OK;
}

static sl_status
ds_next (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  dataset *d = user_data;
  const int size = d->images.height * d->images.width;
  int count = 0;

  if (d->synthetic != NULL)
    {
      /* In order, like bench/torch_transfer_peer.py: no shuffling cost on either side. */
      for (; count < max && d->pos < d->n; count++, d->pos++)
        {
          const uint8_t *src = d->synthetic + (size_t) d->pos * d->pixels;
          float *dst = x + (size_t) count * d->pixels;

          /* The arithmetic of the peer's batch.float() / 125 - 1 (vectorised). */
          for (int p = 0; p < d->pixels; p++)
            dst[p] = (float) src[p] / 125.0f - 1.0f;
          labels[count] = d->pos % d->classes;
        }
      *n = count;
      return SL_OK;
    }
  for (; count < max && d->pos < d->n; count++)
    {
      int k = d->order[d->pos++];
      const uint8_t *src = d->images.data + (size_t) k * size;

      for (int p = 0; p < size; p++)
        x[(size_t) count * size + p] = d->lut[src[p]];
      labels[count] = d->labels.data[k];
    }
  *n = count;
  return SL_OK;
}

static int
load (dataset *d, const char *dir, bool train, int limit, uint64_t seed)
{
  char path[1024];
  sl_error err = { 0 };

  memset (d, 0, sizeof *d);
  snprintf (path, sizeof path, "%s/%s", dir,
            train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz");
  if (sl_idx_load (path, limit, &d->images, &err) != SL_OK)
    goto fail;
  snprintf (path, sizeof path, "%s/%s", dir,
            train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz");
  if (sl_idx_load (path, limit, &d->labels, &err) != SL_OK)
    goto fail;
  d->n = (int) d->images.count;
  d->order = malloc (sizeof (int) * d->n);
  d->seed = seed;
  for (int v = 0; v < 256; v++)
    d->lut[v] = (v / 255.0f - MEAN) / STD;
  return 0;
fail:
  fprintf (stderr, "sl-bench-train: %s\n", err.message);
  return 1;
}

/* The images of bench/torch_transfer_peer.py: pixel p of image i is
 * ((7919 i + 31 p) mod 251) / 125 - 1, label i mod classes. Both sides hold
 * the 8-bit values and make floats of a batch when they use it, as a loader
 * of image files does. */
static void
load_synthetic (dataset *d, int n, int size, int classes)
{
  memset (d, 0, sizeof *d);
  d->n = n;
  d->pixels = 3 * size * size;
  d->classes = classes;
  d->synthetic = malloc ((size_t) n * d->pixels);
  for (size_t i = 0; i < (size_t) n; i++)
    for (size_t p = 0; p < (size_t) d->pixels; p++)
      d->synthetic[i * d->pixels + p] = (uint8_t) ((i * 7919 + p * 31) % 251);
}

extern void openblas_set_num_threads (int num_threads);

/* The SGEMM roofline: GFLOP/s of OpenBLAS on large square products with this
 * many threads, the best a GEMM-based trainer can hope for. */
static double
sgemm_gflops (int threads)
{
  const int n = 1536;
  float *a = calloc ((size_t) n * n, sizeof (float)), *b = calloc ((size_t) n * n, sizeof (float));
  float *c = calloc ((size_t) n * n, sizeof (float));
  double best = 0.0;

  for (size_t i = 0; i < (size_t) n * n; i++)
    a[i] = b[i] = (float) (i % 7) * 0.1f;
  openblas_set_num_threads (threads);
  for (int rep = 0; rep < 5; rep++)
    {
      double t0 = bench_now ();
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                   n);
      double gf = 2.0 * n * n * (double) n / (bench_now () - t0) / 1e9;
      best = gf > best ? gf : best;
    }
  openblas_set_num_threads (1);
  free (a);
  free (b);
  free (c);
  return best;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The --size report: throughput over all timed epochs and of the fastest one (a
 * shared machine only ever slows an epoch), GFLOP/s and the share of the roofline. */
static int
report_synthetic (sl_model *model, const char *name, int size, int threads, int batch, int n,
                  int epochs, const double *epoch_seconds, double train_cpu, int json)
{
  double total = 0.0, best = epoch_seconds[0];
  struct rusage ru;

  for (int e = 0; e < epochs; e++)
    {
      total += epoch_seconds[e];
      best = epoch_seconds[e] < best ? epoch_seconds[e] : best;
    }
  getrusage (RUSAGE_SELF, &ru);
  const double flop = 3.0 * 2.0 * sl_model_flops_per_image (model);
  const double ips = n * epochs / total, best_ips = n / best;
  const double roof = sgemm_gflops (threads);
  const double gflops = flop * best_ips / 1e9;

  if (json)
    printf ("{\"engine\": \"sightline\", \"model\": \"%s\", \"size\": %d, \"threads\": %d, "
            "\"batch\": %d, \"images\": %d, \"epochs\": %d, \"train_images_per_s\": %.2f, "
            "\"best_epoch_images_per_s\": %.2f, \"train_cpu_seconds\": %.2f, "
            "\"peak_rss_mb\": %.1f, \"gflop_per_image\": %.3f, \"train_gflops\": %.2f, "
            "\"sgemm_gflops\": %.2f, \"roofline_percent\": %.1f, \"params\": %zu}\n",
            name, size, threads, batch, n, epochs, ips, best_ips, train_cpu, ru.ru_maxrss / 1024.0,
            flop / 1e9, gflops, roof, 100.0 * gflops / roof, sl_model_param_count (model));
  else
    printf ("%s at %d px: %.1f images/s (best epoch %.1f; %.1f GFLOP/s = %.0f %% of the SGEMM "
            "roofline %.1f GFLOP/s), peak RSS %.1f MB\n",
            name, size, ips, best_ips, gflops, 100.0 * gflops / roof, roof, ru.ru_maxrss / 1024.0);
  return 0;
}

static void
usage (void)
{
  printf ("Usage: sl-bench-train [--model NAME] [--train-images N] [--epochs E] [--batch B]\n"
          "                      [--threads T] [--seed S] [--data DIR] [--json]\n"
          "                      [--lr LR] [--optimizer adam|adamw|sgd] [--weight-decay WD]\n"
          "                      [--schedule constant|cosine] [--depth 8|14|20]\n"
          "                      [--test-images N (default: all 10,000)]\n"
          "                      [--device cpu|cuda|cuda:N] [--print-model]\n"
          "                      [--size S (synthetic 3 x S x S images, --train-images of them)]\n"
          "Trains a preset on Fashion-MNIST (default Adam, lr 1e-3) and reports images/s,\n"
          "test accuracy, batch-1 latency and peak memory. --print-model prints the preset's\n"
          "model description (for bench/torch_gpu_peer.py) and exits. With --size the data\n"
          "are the synthetic colour images of bench/torch_transfer_peer.py, held in memory as\n"
          "8-bit values and made floats a batch at a time: one\n"
          "untimed warm-up epoch of two batches, then the timed epochs (no test or latency).\n");
}

int
main (int argc, char **argv)
{
  const char *model_name = "seed-cnn", *data_dir = "/usr/share/datasets/fashion-mnist";
  int train_images = 60000, test_images = 0, epochs = 5, batch = 64, threads = 2, json = 0,
      depth = 0;
  const char *schedule = "constant", *optimizer = "adam", *device = "cpu";
  int print_model = 0, size = 0;
  double lr = 1e-3, weight_decay = 0.0;
  uint64_t seed = 1;
  static const struct option options[] = {
    { "model", required_argument, NULL, 'm' },
    { "train-images", required_argument, NULL, 'n' },
    { "epochs", required_argument, NULL, 'e' },
    { "batch", required_argument, NULL, 'b' },
    { "threads", required_argument, NULL, 't' },
    { "seed", required_argument, NULL, 's' },
    { "data", required_argument, NULL, 'd' },
    { "test-images", required_argument, NULL, 'T' },
    { "lr", required_argument, NULL, 'l' },
    { "schedule", required_argument, NULL, 'S' },
    { "optimizer", required_argument, NULL, 'o' },
    { "weight-decay", required_argument, NULL, 'w' },
    { "depth", required_argument, NULL, 'D' },
    { "json", no_argument, NULL, 'j' },
    { "device", required_argument, NULL, 'g' },
    { "print-model", no_argument, NULL, 'P' },
    { "size", required_argument, NULL, 'z' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    switch (opt)
      {
        case 'm': model_name = optarg; break;
        case 'n': train_images = atoi (optarg); break;
        case 'e': epochs = atoi (optarg); break;
        case 'b': batch = atoi (optarg); break;
        case 't': threads = atoi (optarg); break;
        case 's': seed = strtoull (optarg, NULL, 10); break;
        case 'd': data_dir = optarg; break;
        case 'T': test_images = atoi (optarg); break;
        case 'l': lr = atof (optarg); break;
        case 'S': schedule = optarg; break;
        case 'o': optimizer = optarg; break;
        case 'w': weight_decay = atof (optarg); break;
        case 'D': depth = atoi (optarg); break;
        case 'j': json = 1; break;
        case 'g': device = optarg; break;
        case 'P': print_model = 1; break;
        case 'z': size = atoi (optarg); break;
        case 'h': usage (); return 0;
        default: usage (); return 2;
      }

  if (print_model)
    {
      sl_preset_options po;
      sl_error err = { 0 };
      char *desc = NULL;

      sl_preset_options_init (&po);
      po.depth = depth;
      if (size > 0)
        po.channels = 3, po.height = po.width = size;
      if (sl_preset_json (model_name, &po, &desc, &err) != SL_OK)
        {
          fprintf (stderr, "sl-bench-train: %s\n", err.message);
          return 2;
        }
      printf ("%s\n", desc);
      sl_free (desc);
      return 0;
    }

  dataset train, test;
  if (size > 0)
    {
      if (size < 32 || size > 1024 || train_images < 2 * batch || epochs < 1 || batch < 1)
        {
          fprintf (stderr, "sl-bench-train: --size takes 32 to 1024 and --train-images at least "
                           "two batches\n");
          return 2;
        }
      load_synthetic (&train, train_images, size, 10);
    }
  else if (load (&train, data_dir, true, train_images, seed)
           || load (&test, data_dir, false, test_images, 0))
    return 1;

  sl_error err = { 0 };
  sl_preset_options po;
  sl_train_config cfg;
  sl_model *model = NULL;
  sl_trainer *trainer = NULL;
  char *desc = NULL;

  sl_preset_options_init (&po);
  sl_train_config_init (&cfg);
  cfg.seed = seed;
  cfg.learning_rate = (float) lr;
  cfg.weight_decay = (float) weight_decay;
  po.depth = depth;
  if (size > 0)
    po.channels = 3, po.height = po.width = size;
  if (strcmp (optimizer, "sgd") == 0)
    cfg.optimizer = SL_OPTIMIZER_SGD;
  else if (strcmp (optimizer, "adamw") == 0)
    cfg.optimizer = SL_OPTIMIZER_ADAMW;
  else if (strcmp (optimizer, "adam") != 0)
    {
      fprintf (stderr, "sl-bench-train: --optimizer takes adam, adamw or sgd\n");
      return 2;
    }
  if (strcmp (schedule, "cosine") == 0)
    {
      cfg.schedule = SL_SCHEDULE_COSINE;
      cfg.warmup_steps = (train.n + batch - 1) / batch / 2;
      cfg.total_steps = (int64_t) epochs * ((train.n + batch - 1) / batch);
    }
  else if (strcmp (schedule, "constant") != 0)
    {
      fprintf (stderr, "sl-bench-train: --schedule takes constant or cosine\n");
      return 2;
    }
  if (sl_preset_json (model_name, &po, &desc, &err) != SL_OK
      || sl_model_new (desc, seed, &model, &err) != SL_OK
      || sl_model_set_threads (model, threads, &err) != SL_OK
      || sl_model_set_device (model, NULL, device, &err) != SL_OK
      || sl_trainer_new (model, &cfg, batch, &trainer, &err) != SL_OK)
    {
      fprintf (stderr, "sl-bench-train: %s\n", err.message);
      return 1;
    }

  sl_batch_source src = { sizeof src, &train, ds_count, ds_begin, ds_next };
  if (size > 0)
    {
      /* The warm-up epoch: plans, first touches of the buffers, OpenBLAS start-up. */
      dataset warm = train;
      sl_batch_source warm_src = { sizeof warm_src, &warm, ds_count, ds_begin, ds_next };
      sl_epoch_stats stats;

      warm.n = 2 * batch;
      if (sl_trainer_train_epoch (trainer, &warm_src, NULL, NULL, &stats, &err) != SL_OK)
        {
          fprintf (stderr, "sl-bench-train: %s\n", err.message);
          return 1;
        }
    }
  double epoch_seconds[256], train_seconds = 0.0, cpu0 = bench_cpu_seconds ();
  for (int e = 0; e < epochs && e < 256; e++)
    {
      sl_epoch_stats stats;

      if (sl_trainer_train_epoch (trainer, &src, NULL, NULL, &stats, &err) != SL_OK)
        {
          fprintf (stderr, "sl-bench-train: %s\n", err.message);
          return 1;
        }
      epoch_seconds[e] = stats.seconds;
      train_seconds += stats.seconds;
      if (!json)
        fprintf (stderr, "epoch %d: loss %.4f accuracy %.4f %.1f s\n", e + 1, stats.loss,
                 stats.accuracy, stats.seconds);
    }

  /* CPU time tells the engine's efficiency even on a machine shared with others. */
  double train_cpu = bench_cpu_seconds () - cpu0;

  if (size > 0)
    {
      int rc = report_synthetic (model, model_name, size, threads, batch, train.n, epochs,
                                 epoch_seconds, train_cpu, json);

      free (train.synthetic);
      free (desc);
      sl_trainer_free (trainer);
      sl_model_free (model);
      return rc;
    }

  /* Test accuracy over the whole test split, through the trainer's own buffers. */
  sl_batch_source test_src = { sizeof test_src, &test, ds_count, ds_begin, ds_next };
  sl_epoch_stats test_stats;
  if (sl_trainer_evaluate (trainer, &test_src, &test_stats, &err) != SL_OK)
    {
      fprintf (stderr, "sl-bench-train: %s\n", err.message);
      return 1;
    }
  const int k = sl_model_class_count (model);
  float *x = malloc (sizeof (float) * 784), *probs = malloc (sizeof (float) * k);
  int32_t labels[1];
  int n;

  /* Batch-1 latency: median of 500 single-image predictions after warm-up. */
  double lat[500];
  ds_begin (&test, 0, NULL);
  ds_next (&test, x, labels, 1, &n, NULL);
  for (int i = 0; i < 50; i++)
    sl_model_predict (model, x, 1, probs, NULL);
  for (int i = 0; i < 500; i++)
    {
      double t0 = bench_now ();
      sl_model_predict (model, x, 1, probs, NULL);
      lat[i] = (bench_now () - t0) * 1e3;
    }
  qsort (lat, 500, sizeof (double), compare_double);

  double images_per_s = (double) train.n * epochs / train_seconds;
  double accuracy = test_stats.accuracy;
  double gflop = 3.0 * 2.0 * sl_model_flops_per_image (model) * images_per_s / 1e9;
  /* Peak memory is read before the roofline's own buffers exist. */
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  double roof = sgemm_gflops (threads);
  double roof_images = roof * 1e9 / (3.0 * 2.0 * sl_model_flops_per_image (model));

  if (json)
    {
      printf ("{\"engine\": \"sightline\", \"model\": \"%s\", \"device\": \"%s\", "
              "\"threads\": %d, \"batch\": %d, "
              "\"train_images\": %d, \"epochs\": %d, \"train_images_per_s\": %.1f, "
              "\"test_accuracy\": %.4f, \"latency_b1_ms\": %.4f, \"latency_b1_p90_ms\": %.4f, "
              "\"peak_rss_mb\": %.1f, \"train_gflops\": %.1f, \"sgemm_gflops\": %.1f, "
              "\"roofline_images_per_s\": %.1f, \"train_cpu_seconds\": %.2f, \"params\": %zu, "
              "\"epoch_seconds\": [",
              model_name, sl_model_get_device (model), threads, batch, train.n, epochs,
              images_per_s, accuracy, lat[250], lat[450], ru.ru_maxrss / 1024.0, gflop, roof,
              roof_images, train_cpu, sl_model_param_count (model));
      for (int e = 0; e < epochs; e++)
        printf ("%s%.2f", e ? ", " : "", epoch_seconds[e]);
      printf ("]}\n");
    }
  else
    printf ("%s: %.1f images/s (%.1f GFLOP/s; SGEMM roofline %.1f GFLOP/s = %.0f images/s), "
            "test accuracy %.4f, batch-1 latency %.3f ms, peak RSS %.1f MB, %.0f images per "
            "CPU-second\n",
            model_name, images_per_s, gflop, roof, roof_images, accuracy, lat[250],
            ru.ru_maxrss / 1024.0, train.n * epochs / train_cpu);

  free (x);
  free (probs);
  free (desc);
  sl_trainer_free (trainer);
  sl_model_free (model);
  return 0;
}
