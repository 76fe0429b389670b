/* sl-loader-item.c: one item through the loader: decode, pipeline, cache, augment, normalise into a batch. */
#define _GNU_SOURCE
#include "sl-loader-private.h"
#include "sl-augment-private.h"
#include "sl-error-private.h"

#include <stdlib.h>
#include <string.h>

/* Keeps a copy of the preprocessed image when the budget allows. */
static void
cache_store (sl_loader *l, sl_loader_item *item, const sl_image *img)
{
  size_t row = (size_t) img->width * img->channels;
  bool reserved = false;
  uint8_t *buf;

  pthread_mutex_lock (&l->lock);
  if (l->cache_used + l->image_bytes <= l->config.cache_bytes)
    {
      l->cache_used += l->image_bytes;
      l->cached++;
      reserved = true;
    }
  pthread_mutex_unlock (&l->lock);
  if (!reserved)
    return;
  buf = malloc (l->image_bytes);
  if (buf == NULL)
    {
      pthread_mutex_lock (&l->lock);
      l->cache_used -= l->image_bytes;
      l->cached--;
      pthread_mutex_unlock (&l->lock);
      return;
    }
  for (int y = 0; y < img->height; y++)
    memcpy (buf + y * row, img->data + y * img->stride, row);
  item->cached = buf;
}

/* The item's model-input image: a view of the cache, or freshly preprocessed. */
static sl_status
item_image (sl_loader *l, int64_t index, sl_image *out, sl_error *err)
{
  sl_loader_item *item = &l->items[index];
  const sl_input_spec *in = &l->pipeline->input;
  sl_image decoded = { 0 };
  sl_status st;

  if (item->cached)
    return sl_image_borrow (out, item->cached, in->width, in->height, in->channels, 8,
                            (size_t) in->width * in->channels, err);
  if (item->path)
    {
      st = sl_image_load (item->path, l->config.max_pixels, &decoded, err);
      if (st != SL_OK)
        return st;
    }
  else
    decoded = item->image;
  st = sl_pipeline_apply (l->pipeline, &decoded, out, err);
  if (item->path)
    sl_image_clear (&decoded);
  if (st != SL_OK)
    {
      if (item->path)
        sl_error_prefix (err, "%s", item->path);
      else
        sl_error_prefix (err, "image %lld", (long long) index);
      return st;
    }
  pthread_mutex_lock (&l->lock);
  l->decoded++;
  pthread_mutex_unlock (&l->lock);
  if (l->config.cache_bytes > 0)
    cache_store (l, item, out);
  return SL_OK;
}

static sl_status
item_to_floats (sl_loader *l, int64_t index, float *x, sl_error *err)
{
  sl_image img = { 0 }, aug = { 0 };
  sl_status st = item_image (l, index, &img, err);

  if (st != SL_OK)
    return st;
  if (l->augmenting)
    {
      sl_augment_plan plan;

      sl_augment_draw (&l->augment, sl_augment_seed (l->config.seed, l->epoch, index), &plan);
      st = sl_augment_run (&plan, &img, &aug, err);
      if (st == SL_OK)
        _sl_normalizer_apply (&l->normalizer, &aug, x);
      sl_image_clear (&aug);
    }
  else
    _sl_normalizer_apply (&l->normalizer, &img, x);
  sl_image_clear (&img);
  return st;
}

void
_sl_loader_fill_slot (sl_loader *l, sl_loader_slot *slot, int64_t b)
{
  int64_t start = b * l->config.batch_size;
  int64_t end = start + l->config.batch_size < l->count ? start + l->config.batch_size : l->count;

  slot->n = 0;
  slot->status = SL_OK;
  for (int64_t k = start; k < end; k++)
    {
      int64_t index = l->order[k];
      sl_loader_item *item = &l->items[index];
      sl_error err = { 0 };
      sl_status st;

      if (item->failure)
        continue;
      st = item_to_floats (l, index, slot->x + (size_t) slot->n * l->image_floats, &err);
      if (st == SL_ERR_NOMEM)
        {
          slot->status = st;
          slot->error = err;
          return;
        }
      if (st != SL_OK)
        {
          item->failure = strdup (err.message[0] ? err.message : sl_status_to_string (st));
          pthread_mutex_lock (&l->lock);
          l->failed++;
          pthread_mutex_unlock (&l->lock);
          if (item->failure == NULL)
            {
              slot->status = sl_error_set (&slot->error, SL_ERR_NOMEM, "out of memory");
              return;
            }
          continue;
        }
      slot->labels[slot->n++] = item->label;
    }
}
