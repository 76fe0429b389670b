/* sl-feature-cache.c: a frozen prefix's features, computed once per image, in RAM or a file. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-feature-cache.h"
#include "sl-run.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

struct _SlFeatureCache
{
  gint64 count;    /* items, failed ones included */
  gsize floats;    /* per item */
  gint64 mem_rows; /* items [0, mem_rows) are in `mem`, the rest in the file */
  float *mem;
  int fd;          /* -1 without a file */
  char *path;      /* the file, removed on free */
  guint8 *valid;   /* per item: its features exist (the loader could use it) */
  int32_t *labels; /* per item */

  /* The batch source's pass. */
  gboolean shuffle;
  guint64 seed;
  int batch_size;
  gint64 *order, pos;
};

gint64
sl_feature_cache_default_budget (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
  gint64 ram = pages > 0 && page > 0 ? (gint64) pages * page : (gint64) 4 << 30;

  return MIN ((gint64) (ram * SL_FEATURE_CACHE_RAM_SHARE), SL_FEATURE_CACHE_MAX_MEMORY);
}

void
sl_feature_cache_free (SlFeatureCache *c)
{
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close (c->fd);
  if (c->path != NULL)
    g_unlink (c->path);
  g_free (c->path);
  g_free (c->mem);
  g_free (c->valid);
  g_free (c->labels);
  g_free (c->order);
  g_free (c);
}

static gboolean
io_failed (SlFeatureCache *c, int saved, const char *what, GError **error)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Could not %s %s: %s", what,
               c->path, g_strerror (saved));
  return FALSE;
}

/* Stores the features of one item. */
static gboolean
put_row (SlFeatureCache *c, gint64 item, const float *row, GError **error)
{
  const gsize bytes = c->floats * sizeof (float);
  off_t at;
  gsize done = 0;

  if (item < c->mem_rows)
    {
      memcpy (c->mem + (gsize) item * c->floats, row, bytes);
      return TRUE;
    }
  at = (off_t) (item - c->mem_rows) * (off_t) bytes;
  while (done < bytes)
    {
      ssize_t w = pwrite (c->fd, (const char *) row + done, bytes - done, at + (off_t) done);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return io_failed (c, w < 0 ? errno : ENOSPC, "write the cached features to", error);
      done += (gsize) w;
    }
  return TRUE;
}

static sl_status
get_row (SlFeatureCache *c, gint64 item, float *row, sl_error *err)
{
  const gsize bytes = c->floats * sizeof (float);
  off_t at;
  gsize done = 0;

  if (item < c->mem_rows)
    {
      memcpy (row, c->mem + (gsize) item * c->floats, bytes);
      return SL_OK;
    }
  at = (off_t) (item - c->mem_rows) * (off_t) bytes;
  while (done < bytes)
    {
      ssize_t r = pread (c->fd, (char *) row + done, bytes - done, at + (off_t) done);

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          if (err != NULL)
            {
              err->code = SL_ERR_IO;
              g_snprintf (err->message, sizeof err->message,
                          "could not read the cached features in %s: %s", c->path,
                          r < 0 ? g_strerror (errno) : "the file is shorter than written");
            }
          return SL_ERR_IO;
        }
      done += (gsize) r;
    }
  return SL_OK;
}

/* Room for the features: memory up to the budget, then a file in dir. */
static gboolean
allocate (SlFeatureCache *c, gint64 budget, const char *dir, GError **error)
{
  const gint64 row_bytes = (gint64) (c->floats * sizeof (float));

  c->mem_rows = MIN (c->count, MAX (budget, 0) / row_bytes);
  if (c->mem_rows > 0 && (c->mem = g_try_malloc ((gsize) (c->mem_rows * row_bytes))) == NULL)
    c->mem_rows = 0; /* all of it goes to the file, then */
  if (c->mem_rows == c->count)
    return TRUE;
  c->path = g_build_filename (dir, "features.tmp-XXXXXX", NULL);
  if ((c->fd = g_mkstemp_full (c->path, O_RDWR | O_CLOEXEC, 0600)) < 0)
    {
      int saved = errno;

      g_clear_pointer (&c->path, g_free);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not make a file for the cached features in %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Marks the failures the loader has reported since *seen. */
static void
take_failures (SlFeatureCache *c, sl_loader *loader, gint64 *seen, guint8 *failed)
{
  gint64 item;
  const char *message;

  while (sl_loader_failure (loader, *seen, &item, &message))
    {
      if (item >= 0 && item < c->count)
        failed[item] = 1;
      (*seen)++;
    }
}

/* One pass of the unshuffled loader: batch after batch, the delivered images are the next
 * items in order that did not fail (the loader reports a batch's failures with it). */
static gboolean
fill (SlFeatureCache *c, sl_model *model, sl_loader *loader, SlFeatureProgress progress,
      gpointer user_data, GError **error)
{
  const int batch = c->batch_size;
  const gsize in_floats = sl_loader_image_floats (loader);
  g_autofree float *x = g_try_malloc (sizeof (float) * in_floats * batch);
  g_autofree float *features = g_try_malloc (sizeof (float) * c->floats * batch);
  g_autofree int32_t *labels = g_new (int32_t, batch);
  g_autofree guint8 *failed = g_new0 (guint8, MAX (c->count, 1));
  gint64 cursor = 0, seen = 0;
  sl_error err = { 0 };

  if (x == NULL || features == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Out of memory computing the backbone's features");
      return FALSE;
    }
  if (sl_loader_begin_epoch (loader, 0, &err) != SL_OK)
    goto runtime;
  for (;;)
    {
      int n = 0;

      if (sl_loader_next (loader, x, labels, batch, &n, &err) != SL_OK)
        goto runtime;
      if (n == 0)
        break;
      take_failures (c, loader, &seen, failed);
      if (sl_model_compute_features (model, x, n, features, &err) != SL_OK)
        goto runtime;
      for (int r = 0; r < n; r++)
        {
          while (cursor < c->count && failed[cursor])
            cursor++;
          if (cursor >= c->count)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "The image loader delivered more images than it holds");
              return FALSE;
            }
          if (!put_row (c, cursor, features + (gsize) r * c->floats, error))
            return FALSE;
          c->labels[cursor] = labels[r];
          c->valid[cursor] = 1;
          cursor++;
        }
      if (progress != NULL && !progress (cursor, user_data))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Training was cancelled");
          return FALSE;
        }
    }
  /* The cursor stops before failed images at the end: the pass is over, so say all of them
   * are done (the CLI waits for done == total to say so). */
  if (progress != NULL && cursor < c->count && !progress (c->count, user_data))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Training was cancelled");
      return FALSE;
    }
  return TRUE;

runtime:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "Could not compute the backbone's features: %s", err.message);
  return FALSE;
}

SlFeatureCache *
sl_feature_cache_new (sl_model *model, sl_loader *loader, int loader_batch, gint64 memory_budget,
                      const char *dir, SlFeatureProgress progress, gpointer user_data,
                      GError **error)
{
  g_autoptr (SlFeatureCache) c = g_new0 (SlFeatureCache, 1);

  g_return_val_if_fail (model != NULL && loader != NULL && dir != NULL && loader_batch > 0, NULL);
  c->fd = -1;
  c->count = sl_loader_count (loader);
  c->floats = sl_model_feature_size (model);
  if (c->floats == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "The model has no frozen prefix whose features could be cached");
      return NULL;
    }
  c->valid = g_new0 (guint8, MAX (c->count, 1));
  c->labels = g_new0 (int32_t, MAX (c->count, 1));
  c->order = g_new (gint64, MAX (c->count, 1));
  c->batch_size = loader_batch;
  if (!allocate (c, memory_budget, dir, error)
      || !fill (c, model, loader, progress, user_data, error))
    return NULL;
  return g_steal_pointer (&c);
}

gint64
sl_feature_cache_count (const SlFeatureCache *c)
{
  return c->count;
}

gint64
sl_feature_cache_memory_bytes (const SlFeatureCache *c)
{
  return c->mem_rows * (gint64) (c->floats * sizeof (float));
}

gint64
sl_feature_cache_disk_bytes (const SlFeatureCache *c)
{
  return (c->count - c->mem_rows) * (gint64) (c->floats * sizeof (float));
}

/* ---- The batch source ---------------------------------------------------------------- */

static int64_t
source_count (void *user_data)
{
  return ((SlFeatureCache *) user_data)->count;
}

static sl_status
source_begin_epoch (void *user_data, int64_t epoch, sl_error *err)
{
  SlFeatureCache *c = user_data;

  if (epoch < 0)
    {
      if (err != NULL)
        {
          err->code = SL_ERR_INVALID;
          g_snprintf (err->message, sizeof err->message, "epoch numbers start at 0, not %lld",
                      (long long) epoch);
        }
      return SL_ERR_INVALID;
    }
  if (c->shuffle)
    sl_loader_shuffle_order (c->seed, epoch, c->count, c->order);
  else
    for (gint64 i = 0; i < c->count; i++)
      c->order[i] = i;
  c->pos = 0;
  return SL_OK;
}

/* As the loader does: batch k is positions [k * batch, (k + 1) * batch) of the pass's order
 * less the images that failed; a batch that lost every image is passed over. */
static sl_status
source_next (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  SlFeatureCache *c = user_data;

  *n = 0;
  if (max < c->batch_size)
    {
      if (err != NULL)
        {
          err->code = SL_ERR_INVALID;
          g_snprintf (err->message, sizeof err->message,
                      "the feature cache makes batches of %d images but the caller has room "
                      "for %d",
                      c->batch_size, max);
        }
      return SL_ERR_INVALID;
    }
  while (*n == 0 && c->pos < c->count)
    {
      gint64 end = MIN (c->pos + c->batch_size, c->count);

      for (; c->pos < end; c->pos++)
        {
          gint64 item = c->order[c->pos];
          sl_status st;

          if (!c->valid[item])
            continue;
          if ((st = get_row (c, item, x + (gsize) *n * c->floats, err)) != SL_OK)
            return st;
          labels[*n] = c->labels[item];
          (*n)++;
        }
    }
  return SL_OK;
}

void
sl_feature_cache_as_source (SlFeatureCache *c, gboolean shuffle, guint64 seed, int batch_size,
                            sl_batch_source *source)
{
  c->shuffle = shuffle;
  c->seed = seed;
  c->batch_size = batch_size;
  c->pos = c->count; /* until a pass begins */
  memset (source, 0, sizeof *source);
  source->struct_size = sizeof *source;
  source->user_data = c;
  source->count = source_count;
  source->begin_epoch = source_begin_epoch;
  source->next = source_next;
}
