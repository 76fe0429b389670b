/* sl-loader.c: the batch loader: worker threads that prefetch batches in a fixed order, epochs, failure reports. */
#define _GNU_SOURCE
#include "sl-loader-private.h"
#include "sl-rng-private.h" /* the engine's */
#include "sl-error-private.h"

#include <stdlib.h>
#include <string.h>

void
sl_loader_config_init (sl_loader_config *config)
{
  memset (config, 0, sizeof *config);
  config->struct_size = sizeof *config;
  config->batch_size = 32;
  config->shuffle = true;
  config->workers = 2;
  config->cache_bytes = (size_t) 512 << 20;
}

static void *
worker_main (void *data)
{
  sl_loader *l = data;

  pthread_mutex_lock (&l->lock);
  while (!l->quit)
    {
      if (l->active && l->next_claim < l->n_batches && l->next_claim < l->next_consume + l->ring)
        {
          int64_t b = l->next_claim++;
          sl_loader_slot *slot = &l->slots[b % l->ring];

          slot->batch = b;
          slot->state = SL_SLOT_FILLING;
          l->busy++;
          pthread_mutex_unlock (&l->lock);
          _sl_loader_fill_slot (l, slot, b);
          pthread_mutex_lock (&l->lock);
          l->busy--;
          slot->state = SL_SLOT_READY;
          pthread_cond_broadcast (&l->ready);
          continue;
        }
      pthread_cond_wait (&l->work, &l->lock);
    }
  pthread_mutex_unlock (&l->lock);
  return NULL;
}

static sl_status
check_config (const sl_loader_config *c, sl_error *err)
{
  if (c->struct_size < sizeof *c)
    return sl_error_set (err, SL_ERR_INVALID, "loader settings: call sl_loader_config_init first");
  if (c->batch_size < 1 || c->batch_size > 65536)
    return sl_error_set (err, SL_ERR_INVALID, "the batch size must be within 1..65536, not %d",
                         c->batch_size);
  if (c->workers < 1 || c->workers > 256)
    return sl_error_set (err, SL_ERR_INVALID, "the loader needs 1..256 worker threads, not %d",
                         c->workers);
  if (c->prefetch < 0 || c->prefetch > 1024)
    return sl_error_set (err, SL_ERR_INVALID, "prefetch must be within 0..1024 batches, not %d",
                         c->prefetch);
  if (c->augment != NULL)
    return sl_augment_config_validate (c->augment, err);
  return SL_OK;
}

/* Everything but the items and the threads. */
static sl_status
loader_create (int64_t count, const sl_pipeline *pipeline, const sl_loader_config *config,
               sl_loader **out, sl_error *err)
{
  sl_loader_config defaults;
  sl_loader *l;
  sl_status st;

  *out = NULL;
  if (config == NULL)
    {
      sl_loader_config_init (&defaults);
      config = &defaults;
    }
  if (count < 0 || pipeline == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "the loader needs a pipeline and a item count >= 0");
  st = check_config (config, err);
  if (st == SL_OK)
    st = sl_pipeline_validate (pipeline, err);
  if (st != SL_OK)
    return st;
  l = calloc (1, sizeof *l);
  if (l == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for a loader");
  l->config = *config;
  l->config.augment = NULL;
  if (config->augment)
    {
      l->augment = *config->augment;
      l->augmenting = sl_augment_config_is_active (&l->augment);
    }
  l->count = count;
  l->ring = config->prefetch > 0 ? config->prefetch : 2 * config->workers;
  pthread_mutex_init (&l->lock, NULL);
  pthread_cond_init (&l->work, NULL);
  pthread_cond_init (&l->ready, NULL);
  st = sl_pipeline_copy (pipeline, &l->pipeline, err);
  if (st != SL_OK)
    {
      sl_loader_free (l);
      return st;
    }
  _sl_normalizer_init (&l->normalizer, &l->pipeline->input);
  l->image_floats
      = (size_t) l->pipeline->input.channels * l->pipeline->input.width * l->pipeline->input.height;
  l->image_bytes = l->image_floats;
  l->n_batches = (count + config->batch_size - 1) / config->batch_size;
  l->items = calloc (count > 0 ? (size_t) count : 1, sizeof *l->items);
  l->order = malloc (sizeof *l->order * (count > 0 ? (size_t) count : 1));
  l->slots = calloc ((size_t) l->ring, sizeof *l->slots);
  if (l->items == NULL || l->order == NULL || l->slots == NULL)
    {
      sl_loader_free (l);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory for a loader of %lld images",
                           (long long) count);
    }
  for (int i = 0; i < l->ring; i++)
    {
      l->slots[i].batch = -1;
      l->slots[i].x = malloc (sizeof (float) * l->image_floats * (size_t) config->batch_size);
      l->slots[i].labels = malloc (sizeof (int32_t) * (size_t) config->batch_size);
      if (l->slots[i].x == NULL || l->slots[i].labels == NULL)
        {
          sl_loader_free (l);
          return sl_error_set (err, SL_ERR_NOMEM, "out of memory for %d prefetched batches",
                               l->ring);
        }
    }
  *out = l;
  return SL_OK;
}

static sl_status
loader_start (sl_loader *l, sl_loader **out, sl_error *err)
{
  l->threads = calloc ((size_t) l->config.workers, sizeof *l->threads);
  if (l->threads == NULL)
    {
      sl_loader_free (l);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory for loader threads");
    }
  for (int i = 0; i < l->config.workers; i++)
    {
      if (pthread_create (&l->threads[i], NULL, worker_main, l) != 0)
        {
          sl_loader_free (l);
          return sl_error_set (err, SL_ERR_NOMEM, "cannot start loader thread %d of %d", i + 1,
                               l->config.workers);
        }
      l->n_threads++;
    }
  *out = l;
  return SL_OK;
}

sl_status
sl_loader_new_files (const char *const *paths, const int32_t *labels, int64_t count,
                     const sl_pipeline *pipeline, const sl_loader_config *config, sl_loader **out,
                     sl_error *err)
{
  sl_loader *l;
  sl_status st;

  if (count > 0 && (paths == NULL || labels == NULL))
    return sl_error_set (err, SL_ERR_INVALID, "the loader needs a path and a label per item");
  st = loader_create (count, pipeline, config, &l, err);
  if (st != SL_OK)
    return st;
  for (int64_t i = 0; i < count; i++)
    {
      l->items[i].label = labels[i];
      l->items[i].path = strdup (paths[i] ? paths[i] : "");
      if (l->items[i].path == NULL)
        {
          sl_loader_free (l);
          return sl_error_set (err, SL_ERR_NOMEM, "out of memory for %lld paths",
                               (long long) count);
        }
    }
  return loader_start (l, out, err);
}

sl_status
sl_loader_new_images (const sl_image *images, const int32_t *labels, int64_t count,
                      const sl_pipeline *pipeline, const sl_loader_config *config, sl_loader **out,
                      sl_error *err)
{
  sl_loader *l;
  sl_status st;

  if (count > 0 && (images == NULL || labels == NULL))
    return sl_error_set (err, SL_ERR_INVALID, "the loader needs an image and a label per item");
  st = loader_create (count, pipeline, config, &l, err);
  if (st != SL_OK)
    return st;
  for (int64_t i = 0; i < count; i++)
    {
      l->items[i].label = labels[i];
      l->items[i].image = images[i];
      l->items[i].image.owner = NULL;
    }
  return loader_start (l, out, err);
}

void
sl_loader_free (sl_loader *l)
{
  if (l == NULL)
    return;
  pthread_mutex_lock (&l->lock);
  l->quit = true;
  l->active = false;
  pthread_cond_broadcast (&l->work);
  pthread_mutex_unlock (&l->lock);
  for (int i = 0; i < l->n_threads; i++)
    pthread_join (l->threads[i], NULL);
  free (l->threads);
  for (int64_t i = 0; l->items && i < l->count; i++)
    {
      free (l->items[i].path);
      free (l->items[i].cached);
      free (l->items[i].failure);
    }
  for (int i = 0; l->slots && i < l->ring; i++)
    {
      free (l->slots[i].x);
      free (l->slots[i].labels);
    }
  free (l->slots);
  free (l->items);
  free (l->order);
  free (l->failures);
  sl_pipeline_free (l->pipeline);
  pthread_cond_destroy (&l->ready);
  pthread_cond_destroy (&l->work);
  pthread_mutex_destroy (&l->lock);
  free (l);
}

int64_t
sl_loader_count (const sl_loader *loader)
{
  return loader->count;
}

size_t
sl_loader_image_floats (const sl_loader *loader)
{
  return loader->image_floats;
}

void
sl_loader_shuffle_order (uint64_t seed, int64_t epoch, int64_t count, int64_t *order)
{
  sl_mix_rng r = { _sl_mix_seed (_sl_mix_seed (seed, 0x5348554646ull), (uint64_t) epoch) };

  for (int64_t i = 0; i < count; i++)
    order[i] = i;
  for (int64_t i = count - 1; i > 0; i--)
    {
      int64_t j = (int64_t) _sl_mix_rng_below (&r, (uint64_t) i + 1), t = order[i];

      order[i] = order[j];
      order[j] = t;
    }
}

sl_status
sl_loader_begin_epoch (sl_loader *l, int64_t epoch, sl_error *err)
{
  if (epoch < 0)
    return sl_error_set (err, SL_ERR_INVALID, "epoch numbers start at 0, not %lld",
                         (long long) epoch);
  pthread_mutex_lock (&l->lock);
  l->active = false;
  while (l->busy > 0)
    pthread_cond_wait (&l->ready, &l->lock);
  for (int i = 0; i < l->ring; i++)
    {
      l->slots[i].state = SL_SLOT_FREE;
      l->slots[i].batch = -1;
    }
  if (l->config.shuffle)
    sl_loader_shuffle_order (l->config.seed, epoch, l->count, l->order);
  else
    for (int64_t i = 0; i < l->count; i++)
      l->order[i] = i;
  l->epoch = epoch;
  l->next_claim = 0;
  l->next_consume = 0;
  l->delivered = 0;
  l->active = true;
  l->started = true;
  pthread_cond_broadcast (&l->work);
  pthread_mutex_unlock (&l->lock);
  return SL_OK;
}

/* Records the new failures of a delivered batch (consumer thread, locked). */
static void
collect_failures (sl_loader *l, int64_t b)
{
  int64_t start = b * l->config.batch_size;
  int64_t end = start + l->config.batch_size < l->count ? start + l->config.batch_size : l->count;

  for (int64_t k = start; k < end; k++)
    {
      sl_loader_item *item = &l->items[l->order[k]];

      if (item->failure == NULL || item->reported)
        continue;
      if (l->n_failures == l->failures_cap)
        {
          int64_t cap = l->failures_cap ? 2 * l->failures_cap : 16;
          int64_t *f = realloc (l->failures, sizeof *f * (size_t) cap);

          if (f == NULL)
            return; /* reported with a later batch or epoch */
          l->failures = f;
          l->failures_cap = cap;
        }
      item->reported = true;
      l->failures[l->n_failures++] = l->order[k];
    }
}

static sl_status
end_of_epoch (sl_loader *l, int *n, sl_error *err)
{
  *n = 0;
  if (l->delivered == 0 && l->count > 0 && l->n_failures > 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "none of the %lld images could be used; the first problem: %s",
                         (long long) l->count, l->items[l->failures[0]].failure);
  return SL_OK;
}

sl_status
sl_loader_next (sl_loader *l, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  *n = 0;
  if (max < l->config.batch_size)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the loader makes batches of %d images but the caller has room for %d",
                         l->config.batch_size, max);
  if (!l->started)
    {
      sl_status st = sl_loader_begin_epoch (l, 0, err);

      if (st != SL_OK)
        return st;
    }
  pthread_mutex_lock (&l->lock);
  for (;;)
    {
      int64_t b = l->next_consume, first_failure;
      sl_loader_slot *slot;
      int got;
      sl_status st;

      if (b >= l->n_batches)
        {
          st = end_of_epoch (l, n, err);
          pthread_mutex_unlock (&l->lock);
          return st;
        }
      slot = &l->slots[b % l->ring];
      while (!(slot->state == SL_SLOT_READY && slot->batch == b))
        pthread_cond_wait (&l->ready, &l->lock);
      pthread_mutex_unlock (&l->lock);

      st = slot->status;
      if (st != SL_OK && err)
        *err = slot->error;
      got = st == SL_OK ? slot->n : 0;
      memcpy (x, slot->x, sizeof (float) * l->image_floats * (size_t) got);
      memcpy (labels, slot->labels, sizeof (int32_t) * (size_t) got);

      pthread_mutex_lock (&l->lock);
      slot->state = SL_SLOT_FREE;
      l->next_consume++;
      l->delivered += got;
      pthread_cond_broadcast (&l->work);
      first_failure = l->n_failures;
      collect_failures (l, b);
      pthread_mutex_unlock (&l->lock);

      /* Only this thread appends to failures, so reading them unlocked is safe. */
      for (int64_t i = first_failure; i < l->n_failures && l->config.on_failure; i++)
        l->config.on_failure (l->failures[i], l->items[l->failures[i]].failure,
                              l->config.user_data);
      if (st != SL_OK || got > 0)
        {
          *n = got;
          return st;
        }
      pthread_mutex_lock (&l->lock);
    }
}

static int64_t
source_count (void *user_data)
{
  return sl_loader_count (user_data);
}

static sl_status
source_begin_epoch (void *user_data, int64_t epoch, sl_error *err)
{
  return sl_loader_begin_epoch (user_data, epoch, err);
}

static sl_status
source_next (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  return sl_loader_next (user_data, x, labels, max, n, err);
}

void
sl_loader_as_source (sl_loader *loader, sl_batch_source *source)
{
  memset (source, 0, sizeof *source);
  source->struct_size = sizeof *source;
  source->user_data = loader;
  source->count = source_count;
  source->begin_epoch = source_begin_epoch;
  source->next = source_next;
}

void
sl_loader_get_stats (sl_loader *loader, sl_loader_stats *stats)
{
  pthread_mutex_lock (&loader->lock);
  stats->cached_images = loader->cached;
  stats->cached_bytes = loader->cache_used;
  stats->decoded_images = loader->decoded;
  stats->failed_images = loader->failed;
  pthread_mutex_unlock (&loader->lock);
}

bool
sl_loader_failure (sl_loader *loader, int64_t i, int64_t *item, const char **message)
{
  bool ok;

  pthread_mutex_lock (&loader->lock);
  ok = i >= 0 && i < loader->n_failures;
  if (ok)
    {
      *item = loader->failures[i];
      *message = loader->items[*item].failure;
    }
  pthread_mutex_unlock (&loader->lock);
  return ok;
}
