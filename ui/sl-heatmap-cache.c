/* sl-heatmap-cache.c: heatmap overlays of a run's images (anomaly maps or Grad-CAM), made one at a time on a worker thread and kept for the gallery.
 *
 * One worker at most: the model is opened once and predicts with its own
 * threads, so more workers would only compete for the same cores. The worker
 * runs while requests wait and ends when none is left; the newest request goes
 * first, because it is the card the user scrolled to last. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-heatmap-cache.h"

#include <math.h>

#include "sl-anomaly.h"
#include "sl-evaluation.h"
#include "sl-project.h"
#include "sl-thumbnail-cache.h"

/* Overlays kept; a gallery card's worth each (about 80 KB at 160 px). */
#define MAX_KEPT 600
/* The overlay's colour at most this opaque, so the part stays visible under it. */
#define OPACITY 0.6f

typedef struct
{
  guint handle;
  gint64 image_id;
  char *hash, *ext;
} Request;

/* What the worker and the cache share; reference-counted, so a worker outlives a
 * disposed cache safely. */
typedef struct
{
  GMutex lock;
  GQueue queue; /* Request, newest first */
  gboolean running, closed;
  char *project_path;
  gint64 run_id;
  SlHeatmapKind kind;
  float threshold; /* anomaly maps' colour range */
  int box, threads;
  GMainContext *context;
  GWeakRef owner;
  /* The worker's alone. */
  SlProject *db;
  sl_classifier *classifier;
  char *open_error; /* the model could not be opened: every request fails with this */
} Shared;

typedef struct
{
  gpointer func;
  gpointer user_data;
} Callback;

struct _SlHeatmapCache
{
  GObject parent_instance;
  Shared *shared;
  GHashTable *textures; /* image id → GdkTexture */
  GHashTable *failures; /* image id → char * */
  GQueue order;         /* image ids (gint64 *) oldest first, as kept */
  GHashTable *pending;  /* handle → Callback */
  guint next_handle;
  guint delivered;
};

G_DEFINE_FINAL_TYPE (SlHeatmapCache, sl_heatmap_cache, G_TYPE_OBJECT)

static void
request_free (Request *r)
{
  g_free (r->hash);
  g_free (r->ext);
  g_free (r);
}

static void
shared_clear (gpointer data)
{
  Shared *s = data;

  g_queue_clear_full (&s->queue, (GDestroyNotify) request_free);
  g_mutex_clear (&s->lock);
  g_free (s->project_path);
  g_main_context_unref (s->context);
  g_weak_ref_clear (&s->owner);
  sl_classifier_free (s->classifier);
  g_clear_pointer (&s->db, sl_project_unref);
  g_free (s->open_error);
}

static void
shared_unref (Shared *s)
{
  g_atomic_rc_box_release_full (s, shared_clear);
}

/* ---- The worker ----------------------------------------------------------------------------- */

typedef struct
{
  Shared *shared;
  guint handle;
  gint64 image_id;
  GdkTexture *texture;
  char *error;
} Delivery;

static void
delivery_free (Delivery *d)
{
  shared_unref (d->shared);
  g_clear_object (&d->texture);
  g_free (d->error);
  g_free (d);
}

static gboolean
open_model (Shared *s)
{
  g_autoptr (GError) error = NULL;

  if (s->classifier != NULL || s->open_error != NULL)
    return s->classifier != NULL;
  if ((s->db = sl_project_open_worker (s->project_path, &error)) != NULL)
    s->classifier = sl_project_open_classifier (s->db, s->run_id, SL_CHECKPOINT_BEST, s->threads,
                                                NULL, &error);
  if (s->classifier == NULL)
    {
      s->open_error = g_strdup_printf ("The model could not be opened: %s", error->message);
      return FALSE;
    }
  if (s->kind == SL_HEATMAP_ANOMALY && sl_classifier_anomaly (s->classifier) == NULL)
    s->open_error = g_strdup ("This model has no anomaly scorer, so it has no anomaly maps.");
  else if (s->kind == SL_HEATMAP_CLASS && sl_classifier_kind (s->classifier) == SL_SLMODEL_ANOMALY)
    s->open_error = g_strdup ("An anomaly model has no class to explain: its heatmap is the "
                              "anomaly map.");
  return s->open_error == NULL;
}

static char *
describe (const char *what, const sl_error *err)
{
  return g_strdup_printf ("%s: %s", what, err->message[0] != '\0' ? err->message : "failed");
}

/* One overlay: decode, predict with the map, draw the map over what the model saw. */
static GdkTexture *
make_overlay (Shared *s, const Request *r, char **error)
{
  g_autofree char *path = sl_project_image_path (s->db, r->hash, r->ext);
  g_autofree float *map = NULL;
  sl_image image = { 0 }, input = { 0 }, overlay = { 0 };
  sl_prediction_maps maps;
  sl_prediction prediction = { .struct_size = sizeof prediction };
  sl_error err = { 0 };
  int32_t width, height, channels;
  float lo = 0, hi = 1; /* Grad-CAM */
  GdkTexture *texture = NULL;

  sl_classifier_input_size (s->classifier, &width, &height, &channels);
  map = g_new (float, (gsize) width *height);
  sl_prediction_maps_init (&maps);
  if (s->kind == SL_HEATMAP_ANOMALY)
    maps.anomaly_map = map;
  else
    maps.class_heatmap = map;
  if (sl_image_load (path, 0, &image, &err) != SL_OK)
    {
      *error = describe ("Could not read the image", &err);
      return NULL;
    }
  if (sl_classifier_predict_image_maps (s->classifier, &image, &prediction, NULL, &maps, &err)
      != SL_OK)
    *error = describe ("Could not compute the heatmap", &err);
  else
    {
      if (s->kind == SL_HEATMAP_ANOMALY)
        sl_anomaly_map_range (s->threshold, map, (size_t) width * height, &lo, &hi);
      if (sl_classifier_preprocess (s->classifier, &image, &input, &err) != SL_OK
          || sl_heatmap_overlay (&input, map, lo, hi, OPACITY, &overlay, &err) != SL_OK)
        *error = describe ("Could not draw the heatmap", &err);
      else
        texture = sl_thumbnail_texture_new (&overlay, s->box);
    }
  sl_image_clear (&image);
  sl_image_clear (&input);
  sl_image_clear (&overlay);
  return texture;
}

static gboolean deliver (gpointer data);

static void
worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Shared *s = data;

  for (;;)
    {
      Request *r;
      Delivery *d;

      g_mutex_lock (&s->lock);
      r = s->closed ? NULL : g_queue_pop_head (&s->queue);
      if (r == NULL)
        s->running = FALSE;
      g_mutex_unlock (&s->lock);
      if (r == NULL)
        break;
      d = g_new0 (Delivery, 1);
      d->shared = g_atomic_rc_box_acquire (s);
      d->handle = r->handle;
      d->image_id = r->image_id;
      if (open_model (s))
        d->texture = make_overlay (s, r, &d->error);
      else
        d->error = g_strdup (s->open_error);
      request_free (r);
      g_main_context_invoke_full (s->context, G_PRIORITY_DEFAULT_IDLE, deliver, d,
                                  (GDestroyNotify) delivery_free);
    }
  g_task_return_boolean (task, TRUE);
}

static void
start_worker (Shared *s)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, NULL, NULL);

  g_task_set_source_tag (task, start_worker);
  g_task_set_task_data (task, g_atomic_rc_box_acquire (s), (GDestroyNotify) shared_unref);
  g_task_run_in_thread (task, worker);
}

/* ---- Main thread ----------------------------------------------------------------------------- */

static void
keep (SlHeatmapCache *self, gint64 image_id, GdkTexture *texture)
{
  gint64 *key = g_memdup2 (&image_id, sizeof image_id);

  if (!g_hash_table_contains (self->textures, key))
    g_queue_push_tail (&self->order, g_memdup2 (&image_id, sizeof image_id));
  g_hash_table_replace (self->textures, key, g_object_ref (texture));
  while (g_queue_get_length (&self->order) > MAX_KEPT)
    {
      gint64 *oldest = g_queue_pop_head (&self->order);

      g_hash_table_remove (self->textures, oldest);
      g_free (oldest);
    }
}

static gboolean
deliver (gpointer data)
{
  Delivery *d = data;
  g_autoptr (SlHeatmapCache) self = g_weak_ref_get (&d->shared->owner);
  Callback *cb;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  if (d->texture != NULL)
    keep (self, d->image_id, d->texture);
  else
    g_hash_table_replace (self->failures, g_memdup2 (&d->image_id, sizeof (gint64)),
                          g_strdup (d->error));
  self->delivered++;
  if ((cb = g_hash_table_lookup (self->pending, GUINT_TO_POINTER (d->handle))) != NULL)
    {
      Callback copy = *cb;

      g_hash_table_remove (self->pending, GUINT_TO_POINTER (d->handle));
      ((SlHeatmapFunc) copy.func) (d->texture, d->error, copy.user_data);
    }
  return G_SOURCE_REMOVE;
}

GdkTexture *
sl_heatmap_cache_lookup (SlHeatmapCache *self, gint64 image_id)
{
  g_return_val_if_fail (SL_IS_HEATMAP_CACHE (self), NULL);
  return g_hash_table_lookup (self->textures, &image_id);
}

const char *
sl_heatmap_cache_lookup_failure (SlHeatmapCache *self, gint64 image_id)
{
  g_return_val_if_fail (SL_IS_HEATMAP_CACHE (self), NULL);
  return g_hash_table_lookup (self->failures, &image_id);
}

guint
sl_heatmap_cache_request (SlHeatmapCache *self, gint64 image_id, const char *hash, const char *ext,
                          SlHeatmapFunc func, gpointer user_data)
{
  Shared *s;
  Request *r;
  Callback *cb;
  gboolean start;

  g_return_val_if_fail (SL_IS_HEATMAP_CACHE (self), 0);
  g_return_val_if_fail (hash != NULL && func != NULL, 0);
  s = self->shared;
  r = g_new0 (Request, 1);
  r->handle = ++self->next_handle;
  r->image_id = image_id;
  r->hash = g_strdup (hash);
  r->ext = g_strdup (ext);
  cb = g_new0 (Callback, 1);
  cb->func = func;
  cb->user_data = user_data;
  g_hash_table_insert (self->pending, GUINT_TO_POINTER (r->handle), cb);
  g_mutex_lock (&s->lock);
  g_queue_push_head (&s->queue, r);
  start = !s->running;
  s->running = TRUE;
  g_mutex_unlock (&s->lock);
  if (start)
    start_worker (s);
  return self->next_handle;
}

static gboolean
has_handle (gconstpointer request, gconstpointer handle)
{
  return ((const Request *) request)->handle == GPOINTER_TO_UINT (handle) ? 0 : 1;
}

void
sl_heatmap_cache_cancel (SlHeatmapCache *self, guint handle)
{
  Shared *s;
  GList *link;

  g_return_if_fail (SL_IS_HEATMAP_CACHE (self));
  if (handle == 0 || !g_hash_table_remove (self->pending, GUINT_TO_POINTER (handle)))
    return;
  s = self->shared;
  g_mutex_lock (&s->lock);
  link = g_queue_find_custom (&s->queue, GUINT_TO_POINTER (handle), (GCompareFunc) has_handle);
  if (link != NULL)
    {
      request_free (link->data);
      g_queue_delete_link (&s->queue, link);
    }
  g_mutex_unlock (&s->lock);
}

SlHeatmapKind
sl_heatmap_cache_get_kind (SlHeatmapCache *self)
{
  g_return_val_if_fail (SL_IS_HEATMAP_CACHE (self), SL_HEATMAP_ANOMALY);
  return self->shared->kind;
}

guint
sl_heatmap_cache_get_delivered (SlHeatmapCache *self)
{
  return self->delivered;
}

guint
sl_heatmap_cache_get_pending (SlHeatmapCache *self)
{
  return g_hash_table_size (self->pending);
}

/* ---- Object ------------------------------------------------------------------------------------ */

static void
sl_heatmap_cache_dispose (GObject *object)
{
  SlHeatmapCache *self = SL_HEATMAP_CACHE (object);

  if (self->shared != NULL)
    {
      g_mutex_lock (&self->shared->lock);
      self->shared->closed = TRUE;
      g_queue_clear_full (&self->shared->queue, (GDestroyNotify) request_free);
      g_mutex_unlock (&self->shared->lock);
      g_clear_pointer (&self->shared, shared_unref);
    }
  g_hash_table_remove_all (self->pending);
  G_OBJECT_CLASS (sl_heatmap_cache_parent_class)->dispose (object);
}

static void
sl_heatmap_cache_finalize (GObject *object)
{
  SlHeatmapCache *self = SL_HEATMAP_CACHE (object);

  g_hash_table_unref (self->textures);
  g_hash_table_unref (self->failures);
  g_hash_table_unref (self->pending);
  g_queue_clear_full (&self->order, g_free);
  G_OBJECT_CLASS (sl_heatmap_cache_parent_class)->finalize (object);
}

static void
sl_heatmap_cache_class_init (SlHeatmapCacheClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sl_heatmap_cache_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_heatmap_cache_finalize;
}

static void
sl_heatmap_cache_init (SlHeatmapCache *self)
{
  self->textures = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->failures = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  self->pending = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
}

SlHeatmapCache *
sl_heatmap_cache_new (const char *project_path, gint64 run_id, SlHeatmapKind kind, double threshold,
                      int box, int threads)
{
  SlHeatmapCache *self = g_object_new (SL_TYPE_HEATMAP_CACHE, NULL);
  Shared *s = g_atomic_rc_box_new0 (Shared);

  g_return_val_if_fail (project_path != NULL, self);
  g_mutex_init (&s->lock);
  g_queue_init (&s->queue);
  s->project_path = g_strdup (project_path);
  s->run_id = run_id;
  s->kind = kind;
  s->threshold = (float) threshold;
  s->box = box;
  s->threads = threads;
  s->context = g_main_context_ref_thread_default ();
  g_weak_ref_init (&s->owner, self);
  self->shared = s;
  return self;
}
