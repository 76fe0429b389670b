/* sl-bench-transfer.c: training speed of a pretrained-backbone transfer model (head, last:N, all), for bench/compare-transfer-speed.sh.
 *
 *   sl-bench-transfer [--backbone lite0] [--finetune head|last:N|all] [--size 224]
 *                     [--channels 3] [--classes 10] [--batch 32] [--threads 2]
 *                     [--images 256] [--epochs 2] [--lr 1e-3] [--backbone-lr-ratio R]
 *                     [--cache] [--write-model FILE] [--json]
 *
 * Builds the model the projects build (sl_backbone_transfer_json +
 * sl_backbone_transfer_model_new: the installed backbone's weights, frozen
 * layers and lr_scale as the fine-tuning mode sets them), writes its
 * description to --write-model for bench/torch_transfer_peer.py, and trains it
 * with Adam on `images` synthetic images (a fixed formula the peer repeats:
 * speed does not depend on the pixels) for one untimed warm-up epoch of two
 * batches and then `epochs` timed epochs (images/s over all of them and of the
 * fastest one). --cache (head only) first computes the
 * frozen prefix's features once (sl_model_compute_features, timed apart) and
 * trains on them (sl_trainer_set_feature_input), as the projects' feature
 * cache does. */
#include "bench-clock.h"
#include "sl-backbone.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct
{
  const uint8_t *pixels; /* n * stride 8-bit values, made floats a batch at a time, */
  const float *x;        /* or (pixels NULL) n * stride floats: the cached features */
  size_t stride;         /* values per image */
  int n, classes, pos;
} Source;

/* The arithmetic of the peer's batch.float() / 125 - 1. */
static void
to_floats (const uint8_t *v, size_t count, float *x)
{
  for (size_t k = 0; k < count; k++)
    x[k] = (float) v[k] / 125.0f - 1.0f;
}

static int64_t
src_count (void *user_data)
{
  return ((Source *) user_data)->n;
}

static sl_status
src_begin (void *user_data, int64_t epoch, sl_error *err)
{
  (void) epoch;
  (void) err;
  ((Source *) user_data)->pos = 0;
  return SL_OK;
}

static sl_status
src_next (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  Source *s = user_data;
  int count = 0;

  (void) err;
  for (; count < max && s->pos < s->n; count++, s->pos++)
    {
      if (s->pixels != NULL)
        to_floats (s->pixels + (size_t) s->pos * s->stride, s->stride,
                   x + (size_t) count * s->stride);
      else
        memcpy (x + (size_t) count * s->stride, s->x + (size_t) s->pos * s->stride,
                sizeof (float) * s->stride);
      labels[count] = s->pos % s->classes;
    }
  *n = count;
  return SL_OK;
}

/* The peer computes the same values with numpy: pixel p of image i, 0 .. 250
 * (to_floats: -1 .. 1). Both sides hold the 8-bit values, as a loader of
 * image files would. */
static uint8_t *
synthetic_images (int n, size_t pixels)
{
  uint8_t *v = malloc (pixels * n);

  for (size_t i = 0; v != NULL && i < (size_t) n; i++)
    for (size_t p = 0; p < pixels; p++)
      v[i * pixels + p] = (uint8_t) ((i * 7919 + p * 31) % 251);
  return v;
}

static void
usage (void)
{
  printf (
      "Usage: sl-bench-transfer [--backbone lite0] [--finetune head|last:N|all] [--size 224]\n"
      "                         [--channels 3] [--classes 10] [--batch 32] [--threads 2]\n"
      "                         [--images 256] [--epochs 2] [--lr 1e-3]\n"
      "                         [--backbone-lr-ratio R] [--cache] [--write-model FILE] [--json]\n"
      "Trains a pretrained-backbone transfer model on synthetic images and reports images/s.\n");
}

static int
fail (const char *what)
{
  fprintf (stderr, "sl-bench-transfer: %s\n", what);
  return 1;
}

int
main (int argc, char **argv)
{
  const char *backbone = "lite0", *finetune = "head", *write_model = NULL;
  int size = 224, channels = 3, classes = 10, batch = 32, threads = 2, images = 256, epochs = 2;
  int cache = 0, json = 0;
  double lr = 1e-3, ratio = 0.0;
  static const struct option options[] = {
    { "backbone", required_argument, NULL, 'B' },
    { "finetune", required_argument, NULL, 'f' },
    { "size", required_argument, NULL, 's' },
    { "channels", required_argument, NULL, 'c' },
    { "classes", required_argument, NULL, 'k' },
    { "batch", required_argument, NULL, 'b' },
    { "threads", required_argument, NULL, 't' },
    { "images", required_argument, NULL, 'n' },
    { "epochs", required_argument, NULL, 'e' },
    { "lr", required_argument, NULL, 'l' },
    { "backbone-lr-ratio", required_argument, NULL, 'r' },
    { "cache", no_argument, NULL, 'C' },
    { "write-model", required_argument, NULL, 'w' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    switch (opt)
      {
        case 'B': backbone = optarg; break;
        case 'f': finetune = optarg; break;
        case 's': size = atoi (optarg); break;
        case 'c': channels = atoi (optarg); break;
        case 'k': classes = atoi (optarg); break;
        case 'b': batch = atoi (optarg); break;
        case 't': threads = atoi (optarg); break;
        case 'n': images = atoi (optarg); break;
        case 'e': epochs = atoi (optarg); break;
        case 'l': lr = atof (optarg); break;
        case 'r': ratio = atof (optarg); break;
        case 'C': cache = 1; break;
        case 'w': write_model = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage (); return 0;
        default: usage (); return 2;
      }
  if (size < 32 || (channels != 1 && channels != 3) || classes < 2 || batch < 1 || threads < 1
      || images < 2 * batch || epochs < 1 || !(lr > 0))
    return fail ("need size >= 32, channels 1 or 3, classes >= 2, batch, threads, epochs >= 1, "
                 "images >= 2 * batch and lr > 0");

  g_autoptr (GError) error = NULL;
  SlTransferOptions to = { .classes = classes,
                           .channels = channels,
                           .height = size,
                           .width = size,
                           .backbone_lr_ratio = ratio };
  if (!sl_finetune_from_string (finetune, &to.finetune, &to.finetune_blocks, &error))
    return fail (error->message);
  if (cache && to.finetune != SL_FINETUNE_HEAD)
    return fail ("--cache needs --finetune head: only a frozen prefix's features can be cached");
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find (backbone, &error);
  if (bb == NULL)
    return fail (error->message);
  g_autofree char *desc = sl_backbone_transfer_json (bb, &to, &error);
  if (desc == NULL)
    return fail (error->message);
  if (write_model != NULL && !g_file_set_contents (write_model, desc, -1, &error))
    return fail (error->message);
  sl_model *model = sl_backbone_transfer_model_new (bb, &to, 1, &error);
  if (model == NULL)
    return fail (error->message);

  sl_error err = { 0 };
  sl_train_config cfg;
  sl_trainer *trainer = NULL;

  sl_train_config_init (&cfg);
  cfg.learning_rate = (float) lr;
  cfg.seed = 1;
  if (sl_model_set_threads (model, threads, &err) != SL_OK
      || sl_trainer_new (model, &cfg, batch, &trainer, &err) != SL_OK)
    return fail (err.message);

  const size_t pixels = (size_t) channels * size * size;
  uint8_t *v = synthetic_images (images, pixels);
  float *features = NULL;
  if (v == NULL)
    return fail ("out of memory");
  Source src = { v, NULL, pixels, images, classes, 0 };
  double feature_s = 0.0;
  size_t feature_size = sl_model_feature_size (model);

  if (cache)
    {
      if (feature_size == 0)
        return fail ("this model has no single frozen-prefix output to cache");
      features = malloc (sizeof (float) * feature_size * images);
      float *x = malloc (sizeof (float) * pixels * batch);
      if (features == NULL || x == NULL)
        return fail ("out of memory");
      double t0 = bench_now ();
      for (int i = 0; i < images; i += batch)
        {
          int n = images - i < batch ? images - i : batch;
          to_floats (v + (size_t) i * pixels, (size_t) n * pixels, x);
          if (sl_model_compute_features (model, x, n, features + (size_t) i * feature_size, &err)
              != SL_OK)
            return fail (err.message);
        }
      feature_s = bench_now () - t0;
      free (x);
      src.pixels = NULL;
      if (sl_trainer_set_feature_input (trainer, true, &err) != SL_OK)
        return fail (err.message);
      src.x = features;
      src.stride = feature_size;
    }

  /* Warm-up: two batches, untimed (first touches of the working memory). */
  sl_epoch_stats stats;
  Source warm = src;
  warm.n = 2 * batch;
  sl_batch_source warm_src = { sizeof warm_src, &warm, src_count, src_begin, src_next };
  if (sl_trainer_train_epoch (trainer, &warm_src, NULL, NULL, &stats, &err) != SL_OK)
    return fail (err.message);

  sl_batch_source bs = { sizeof bs, &src, src_count, src_begin, src_next };
  double train_s = 0.0, best_s = 0.0, cpu0 = bench_cpu_seconds ();
  for (int e = 0; e < epochs; e++)
    {
      double t0 = bench_now ();
      if (sl_trainer_train_epoch (trainer, &bs, NULL, NULL, &stats, &err) != SL_OK)
        return fail (err.message);
      double s = bench_now () - t0;
      train_s += s;
      best_s = e == 0 || s < best_s ? s : best_s;
      if (!json)
        fprintf (stderr, "epoch %d: loss %.4f, %.2f s\n", e + 1, stats.loss, bench_now () - t0);
    }
  double cpu = bench_cpu_seconds () - cpu0;
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);

  double ips = (double) images * epochs / train_s;
  printf ("{\"engine\": \"sightline\", \"backbone\": \"%s\", \"finetune\": \"%s\", \"cache\": %s, "
          "\"size\": %d, \"channels\": %d, \"batch\": %d, \"threads\": %d, \"images\": %d, "
          "\"epochs\": %d, \"train_images_per_s\": %.2f, \"best_epoch_images_per_s\": %.2f, "
          "\"train_cpu_seconds\": %.2f, "
          "\"feature_seconds\": %.3f, \"feature_images_per_s\": %.2f, "
          "\"params\": %zu, \"trainable_params\": %zu, \"feature_size\": %zu, "
          "\"last_loss\": %.5f, \"peak_rss_mb\": %.1f}\n",
          bb->name, finetune, cache ? "true" : "false", size, channels, batch, threads, images,
          epochs, ips, images / best_s, cpu, feature_s, cache ? images / feature_s : 0.0,
          sl_model_param_count (model), sl_model_trainable_param_count (model), feature_size,
          stats.loss, ru.ru_maxrss / 1024.0);
  free (v);
  free (features);
  sl_trainer_free (trainer);
  sl_model_free (model);
  return 0;
}
