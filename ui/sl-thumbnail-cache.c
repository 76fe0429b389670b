/* sl-thumbnail-cache.c: thumbnails decoded on a small worker pool into a byte-bounded LRU of textures. */
#define G_LOG_DOMAIN "Sightline-UI"
#define _GNU_SOURCE

#include "sl-thumbnail-cache.h"
#include "sl-checkerboard.h"

#include "sl-settings.h"
#include "sl-thumbnail.h"

#include "sl-vision.h"

#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

/* How long one main-loop iteration may spend handing out finished thumbnails. */
#define DELIVER_BUDGET_US 3000

/* What the workers and the main thread share; it outlives the cache while
 * workers still hold requests. The waiting requests are stacks (newest
 * first) with the links inside the requests, so queueing, cancelling and
 * taking the next are O(1) however fast the grid scrolls. */
typedef struct
{
  gatomicrefcount ref;
  GMutex lock;
  GQueue previews;         /* Request links, waiting, newest first, under lock */
  GQueue thumbnails;       /* the same for thumbnails */
  GQueue done;             /* Request *, finished, under lock */
  gboolean idle_scheduled; /* under lock */
  SlThumbnailCache *cache; /* main thread only; NULL once the cache is gone */
} Core;

typedef struct
{
  gatomicrefcount ref;
  Core *core;
  guint handle;
  gboolean preview;
  GList link;      /* in a waiting stack while queued (under the core's lock) */
  gboolean queued; /* under the core's lock */
  int box;
  char *hash;
  char *path;
  int cancelled; /* atomic */
  SlThumbnailFunc func;
  gpointer user_data;
  GdkTexture *texture; /* the worker's result */
  char *error;
} Request;

typedef struct
{
  char *hash;
  GdkTexture *texture;
  gsize bytes;
  GList link;
} Entry;

struct _SlThumbnailCache
{
  GObject parent_instance;
  Core *core;
  GThreadPool *pool;
  char *images_dir;
  int size;
  gsize max_bytes, bytes;
  GSettings *settings;  /* when the budget follows thumbnail-cache-mb */
  GHashTable *entries;  /* hash -> Entry */
  GQueue lru;           /* Entry links, most recent first */
  GHashTable *failures; /* hash -> reason */
  GHashTable *requests; /* handle -> Request (main thread's reference) */
  guint next_handle;
  guint delivered;
};

G_DEFINE_FINAL_TYPE (SlThumbnailCache, sl_thumbnail_cache, G_TYPE_OBJECT)

static Core *
core_ref (Core *core)
{
  g_atomic_ref_count_inc (&core->ref);
  return core;
}

static void request_unref (Request *r);

/* Empties the waiting stacks (the links live in the requests: never freed as list nodes). */
static void
drop_waiting (Core *core)
{
  GQueue *stacks[] = { &core->previews, &core->thumbnails };

  for (gsize i = 0; i < G_N_ELEMENTS (stacks); i++)
    for (GList *link; (link = g_queue_pop_head_link (stacks[i])) != NULL;)
      {
        Request *r = link->data;

        r->queued = FALSE;
        request_unref (r);
      }
}

static void
core_unref (Core *core)
{
  if (!g_atomic_ref_count_dec (&core->ref))
    return;
  g_queue_clear_full (&core->done, (GDestroyNotify) request_unref);
  drop_waiting (core);
  g_mutex_clear (&core->lock);
  g_free (core);
}

static Request *
request_ref (Request *r)
{
  g_atomic_ref_count_inc (&r->ref);
  return r;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Core, core_unref)

static void
request_unref (Request *r)
{
  if (!g_atomic_ref_count_dec (&r->ref))
    return;
  g_clear_object (&r->texture);
  g_free (r->error);
  g_free (r->hash);
  g_free (r->path);
  core_unref (r->core);
  g_free (r);
}

static gboolean deliver_idle (gpointer data);

static void
entry_free (Entry *e)
{
  g_free (e->hash);
  g_clear_object (&e->texture);
  g_free (e);
}

/* ---- Worker side: no GTK widgets here ------------------------------------------- */

/* One 8-bit sample of a pixel, whatever the depth. */
static inline guint
sample (const sl_image *img, int x, int y, int c)
{
  const guint8 *row = img->data + (gsize) y * img->stride;

  if (img->depth == 16)
    return ((const guint16 *) row)[x * img->channels + c] >> 8;
  return row[x * img->channels + c];
}

/* Writes one source pixel as out_c 8-bit samples (gray becomes RGB). */
static inline void
put_pixel (const sl_image *img, int x, int y, guint8 *out, int out_c)
{
  for (int c = 0; c < out_c; c++)
    out[c] = (guint8) sample (img, x, y, img->channels == 1 ? 0 : c);
}

/* Whole-number enlargement by k, nearest neighbour: small images stay crisp. */
static void
enlarge (const sl_image *img, int k, guint8 *pixels, int out_c)
{
  const gsize out_stride = (gsize) img->width * k * out_c;

  for (int y = 0; y < img->height; y++)
    {
      guint8 *row = pixels + (gsize) y * k * out_stride;

      for (int x = 0; x < img->width; x++)
        {
          guint8 px[4];

          put_pixel (img, x, y, px, out_c);
          for (int i = 0; i < k; i++)
            memcpy (row + ((gsize) x * k + i) * out_c, px, out_c);
        }
      for (int i = 1; i < k; i++)
        memcpy (row + i * out_stride, row, out_stride);
    }
}

/* Fits the image into box x box as an 8-bit texture (GTK 4.8 has no gray
 * texture format: gray becomes RGB). */
static GdkTexture *
make_texture (const sl_image *img, int box)
{
  const int w = img->width, h = img->height;
  const int out_c = img->channels == 4 ? 4 : 3;
  double scale = MIN ((double) box / w, (double) box / h);
  int ow, oh;
  guint8 *pixels;
  g_autoptr (GBytes) bytes = NULL;
  GdkTexture *texture;

  if (scale >= 1)
    {
      ow = w * (int) scale;
      oh = h * (int) scale;
      pixels = g_malloc ((gsize) ow * oh * out_c);
      enlarge (img, (int) scale, pixels, out_c);
    }
  else
    {
      ow = MAX (1, (int) (w * scale + 0.5));
      oh = MAX (1, (int) (h * scale + 0.5));
      pixels = g_malloc ((gsize) ow * oh * out_c);
      sl_thumbnail_reduce (img, 0, 0, w, h, ow, oh, out_c, pixels);
    }
  bytes = g_bytes_new_take (pixels, (gsize) ow * oh * out_c);
  texture = gdk_memory_texture_new (ow, oh, out_c == 4 ? GDK_MEMORY_R8G8B8A8 : GDK_MEMORY_R8G8B8,
                                    bytes, (gsize) ow * out_c);
  if (out_c == 4)
    sl_texture_mark_alpha (texture); /* shown on a checkerboard */
  return texture;
}

GdkTexture *
sl_thumbnail_texture_new (const sl_image *img, int box)
{
  g_return_val_if_fail (img != NULL && img->data != NULL && box > 0, NULL);
  return make_texture (img, box);
}

/* Decoding yields to the main loop when CPUs are scarce: the pool's own
 * threads run at a lower priority (Linux: nice is per thread). */
static void
lower_thread_priority (void)
{
  static GPrivate lowered;

  if (g_private_get (&lowered) != NULL)
    return;
  g_private_set (&lowered, GINT_TO_POINTER (1));
#ifdef __linux__
  {
    /* SCHED_IDLE: decode only on CPU time nothing else wants, so scrolling
     * never waits for a thumbnail; nice 19 where that policy is refused. */
    struct sched_param none = { 0 };
    if (pthread_setschedparam (pthread_self (), SCHED_IDLE, &none) != 0)
      setpriority (PRIO_PROCESS, (id_t) gettid (), 19);
  }
#endif
}

/* The newest waiting request, previews first; the stack's reference becomes ours. */
static Request *
take_next (Core *core)
{
  Request *r;
  GList *link;

  g_mutex_lock (&core->lock);
  link = g_queue_pop_head_link (&core->previews);
  if (link == NULL)
    link = g_queue_pop_head_link (&core->thumbnails);
  r = link != NULL ? link->data : NULL;
  if (r != NULL)
    r->queued = FALSE;
  g_mutex_unlock (&core->lock);
  return r;
}

/* One pool task per request queued; it decodes whichever request is newest
 * then (requests cancelled meanwhile left the stacks already). */
static void
worker_decode (gpointer data, gpointer pool_data)
{
  g_autoptr (Core) core = data; /* the task's reference */
  Request *r = take_next (core);
  sl_image img = { 0 };
  sl_error err = { 0 };
  gboolean schedule;

  lower_thread_priority ();
  if (r == NULL)
    return;
  if (sl_image_load (r->path, 0, &img, &err) == SL_OK)
    r->texture = make_texture (&img, r->box);
  else
    r->error = g_strdup (err.message);
  sl_image_clear (&img);

  g_mutex_lock (&core->lock);
  g_queue_push_tail (&core->done, r);
  schedule = !core->idle_scheduled;
  core->idle_scheduled = TRUE;
  g_mutex_unlock (&core->lock);
  if (schedule)
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deliver_idle, core_ref (core),
                     (GDestroyNotify) core_unref);
}

/* ---- Main thread ----------------------------------------------------------------- */

/* Drops the least recently used thumbnails until the budget holds (the newest always stays). */
static void
lru_trim (SlThumbnailCache *self)
{
  while (self->bytes > self->max_bytes && self->lru.length > 1)
    {
      Entry *old = g_queue_peek_tail (&self->lru);

      g_queue_unlink (&self->lru, &old->link);
      self->bytes -= old->bytes;
      g_hash_table_remove (self->entries, old->hash);
    }
}

static void
lru_insert (SlThumbnailCache *self, const char *hash, GdkTexture *texture)
{
  Entry *e = g_new0 (Entry, 1);

  e->hash = g_strdup (hash);
  e->texture = g_object_ref (texture);
  e->bytes = (gsize) gdk_texture_get_width (texture) * gdk_texture_get_height (texture) * 4;
  e->link.data = e;
  g_hash_table_replace (self->entries, e->hash, e);
  g_queue_push_head_link (&self->lru, &e->link);
  self->bytes += e->bytes;
  lru_trim (self);
}

static void
deliver_one (SlThumbnailCache *self, Request *r)
{
  if (!r->preview)
    {
      if (r->texture != NULL && g_hash_table_lookup (self->entries, r->hash) == NULL)
        lru_insert (self, r->hash, r->texture);
      else if (r->error != NULL)
        g_hash_table_replace (self->failures, g_strdup (r->hash), g_strdup (r->error));
      self->delivered++;
    }
  /* Removing the request drops the main thread's reference; keep ours. */
  g_hash_table_remove (self->requests, GUINT_TO_POINTER (r->handle));
  r->func (r->texture, r->error, r->user_data);
}

static gboolean
deliver_idle (gpointer data)
{
  Core *core = data;
  gint64 start = g_get_monotonic_time ();

  for (;;)
    {
      Request *r;

      g_mutex_lock (&core->lock);
      r = g_queue_pop_head (&core->done);
      if (r == NULL)
        core->idle_scheduled = FALSE;
      g_mutex_unlock (&core->lock);
      if (r == NULL)
        return G_SOURCE_REMOVE;
      if (core->cache != NULL && !g_atomic_int_get (&r->cancelled))
        deliver_one (core->cache, r);
      request_unref (r);
      if (g_get_monotonic_time () - start > DELIVER_BUDGET_US)
        return G_SOURCE_CONTINUE;
    }
}

static void
on_budget_changed (SlThumbnailCache *self, const char *key, GSettings *settings)
{
  self->max_bytes = (gsize) MAX (16, g_settings_get_int (settings, key)) << 20;
  lru_trim (self);
}

/* The budget from thumbnail-cache-mb, followed at run time (Preferences);
 * 256 MB when the schema is not installed. */
static void
follow_settings (SlThumbnailCache *self)
{
  if ((self->settings = sl_app_settings_new ("thumbnail-cache-mb")) == NULL)
    {
      self->max_bytes = (gsize) 256 << 20;
      return;
    }
  g_signal_connect_swapped (self->settings, "changed::thumbnail-cache-mb",
                            G_CALLBACK (on_budget_changed), self);
  on_budget_changed (self, "thumbnail-cache-mb", self->settings);
}

SlThumbnailCache *
sl_thumbnail_cache_new (const char *project_path, int size, gsize max_bytes)
{
  SlThumbnailCache *self = g_object_new (SL_TYPE_THUMBNAIL_CACHE, NULL);
  guint threads = CLAMP (g_get_num_processors () / 2, 2, 4);

  self->images_dir = g_build_filename (project_path, "images", NULL);
  self->size = size > 0 ? size : 128;
  if (max_bytes > 0)
    self->max_bytes = max_bytes;
  else
    follow_settings (self);
  /* Exclusive threads: their lowered priority stays with this pool. No item
   * free function: GLib 2.74 also hands it the pool's internal wake-up
   * markers when the pool goes, so every queued task must run instead (see
   * dispose). */
  self->pool = g_thread_pool_new (worker_decode, NULL, (int) threads, TRUE, NULL);
  return self;
}

int
sl_thumbnail_cache_get_size (SlThumbnailCache *self)
{
  return self->size;
}

GdkTexture *
sl_thumbnail_cache_lookup (SlThumbnailCache *self, const char *hash)
{
  Entry *e = g_hash_table_lookup (self->entries, hash);

  if (e == NULL)
    return NULL;
  g_queue_unlink (&self->lru, &e->link);
  g_queue_push_head_link (&self->lru, &e->link);
  return e->texture;
}

const char *
sl_thumbnail_cache_lookup_failure (SlThumbnailCache *self, const char *hash)
{
  return g_hash_table_lookup (self->failures, hash);
}

guint
sl_thumbnail_cache_request (SlThumbnailCache *self, const char *hash, const char *ext, int max_size,
                            SlThumbnailFunc func, gpointer user_data)
{
  Request *r;
  g_autofree char *prefix = NULL, *file = NULL;

  g_return_val_if_fail (SL_IS_THUMBNAIL_CACHE (self), 0);
  g_return_val_if_fail (hash != NULL && strlen (hash) >= 2 && ext != NULL && func != NULL, 0);
  r = g_new0 (Request, 1);
  g_atomic_ref_count_init (&r->ref);
  r->core = core_ref (self->core);
  r->handle = ++self->next_handle;
  r->preview = max_size > 0;
  r->box = max_size > 0 ? max_size : self->size;
  r->hash = g_strdup (hash);
  /* The same layout as sl_project_image_path, built here so no project handle
   * crosses threads. */
  prefix = g_strndup (hash, 2);
  file = g_strdup_printf ("%s.%s", hash, ext);
  r->path = g_build_filename (self->images_dir, prefix, file, NULL);
  r->func = func;
  r->user_data = user_data;
  r->link.data = r;
  g_hash_table_insert (self->requests, GUINT_TO_POINTER (r->handle), r);
  g_mutex_lock (&self->core->lock);
  g_queue_push_head_link (r->preview ? &self->core->previews : &self->core->thumbnails,
                          &request_ref (r)->link);
  r->queued = TRUE;
  g_mutex_unlock (&self->core->lock);
  g_thread_pool_push (self->pool, core_ref (self->core), NULL);
  return r->handle;
}

void
sl_thumbnail_cache_cancel (SlThumbnailCache *self, guint handle)
{
  Request *r = g_hash_table_lookup (self->requests, GUINT_TO_POINTER (handle));

  if (r == NULL)
    return;
  g_atomic_int_set (&r->cancelled, 1);
  /* Still waiting: it leaves its stack, so no worker ever sees it. */
  g_mutex_lock (&self->core->lock);
  if (r->queued)
    {
      g_queue_unlink (r->preview ? &self->core->previews : &self->core->thumbnails, &r->link);
      r->queued = FALSE;
      request_unref (r); /* the stack's reference; the hash still holds one */
    }
  g_mutex_unlock (&self->core->lock);
  g_hash_table_remove (self->requests, GUINT_TO_POINTER (handle));
}

guint
sl_thumbnail_cache_get_delivered (SlThumbnailCache *self)
{
  return self->delivered;
}

guint
sl_thumbnail_cache_get_pending (SlThumbnailCache *self)
{
  return g_hash_table_size (self->requests);
}

gsize
sl_thumbnail_cache_get_bytes (SlThumbnailCache *self)
{
  return self->bytes;
}

gsize
sl_thumbnail_cache_get_max_bytes (SlThumbnailCache *self)
{
  return self->max_bytes;
}

static void
sl_thumbnail_cache_dispose (GObject *object)
{
  SlThumbnailCache *self = SL_THUMBNAIL_CACHE (object);
  GHashTableIter iter;
  gpointer value;

  /* Cancel everything; workers finish what they hold and the idle finds no cache. */
  g_hash_table_iter_init (&iter, self->requests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_atomic_int_set (&((Request *) value)->cancelled, 1);
  g_hash_table_remove_all (self->requests);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  if (self->core != NULL)
    {
      g_mutex_lock (&self->core->lock);
      drop_waiting (self->core);
      g_mutex_unlock (&self->core->lock);
      self->core->cache = NULL;
    }
  if (self->pool != NULL)
    {
      /* Queued tasks still run, find the stacks empty and drop their
       * reference to the core; nobody waits for them. */
      g_thread_pool_free (self->pool, FALSE, FALSE);
      self->pool = NULL;
    }
  G_OBJECT_CLASS (sl_thumbnail_cache_parent_class)->dispose (object);
}

static void
sl_thumbnail_cache_finalize (GObject *object)
{
  SlThumbnailCache *self = SL_THUMBNAIL_CACHE (object);

  g_queue_init (&self->lru);
  g_hash_table_unref (self->entries);
  g_hash_table_unref (self->failures);
  g_hash_table_unref (self->requests);
  g_clear_pointer (&self->core, core_unref);
  g_free (self->images_dir);
  G_OBJECT_CLASS (sl_thumbnail_cache_parent_class)->finalize (object);
}

static void
sl_thumbnail_cache_class_init (SlThumbnailCacheClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_thumbnail_cache_dispose;
  object_class->finalize = sl_thumbnail_cache_finalize;
}

static void
sl_thumbnail_cache_init (SlThumbnailCache *self)
{
  self->core = g_new0 (Core, 1);
  g_atomic_ref_count_init (&self->core->ref);
  g_mutex_init (&self->core->lock);
  g_queue_init (&self->core->done);
  g_queue_init (&self->core->previews);
  g_queue_init (&self->core->thumbnails);
  self->core->cache = self;
  self->entries
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) entry_free);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->requests = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) request_unref);
  g_queue_init (&self->lru);
}
