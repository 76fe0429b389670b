/* sl-preview-worker.c: runs a pipeline on the preview image off the main loop; the latest request wins.
 *
 * One thread per worker computes the requests one after the other. The main
 * thread only copies the pipeline into a request and drops it into a single
 * "pending" slot, replacing an older request that has not started: however
 * fast a slider moves, the thread never falls behind by more than one
 * computation. Decoding, every stage and every texture are made on the
 * thread; the main loop receives finished textures. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-preview-worker.h"
#include "sl-thumbnail-cache.h"
#include "sl-image-view.h"

#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

typedef struct
{
  guint64 generation;
  char *image_path;
  sl_pipeline *pipeline;
  gboolean augmenting;
  sl_augment_config augment;
  guint64 augment_seed;
  int n_augment;
  int large_w, large_h, thumb_w, thumb_h;
} Request;

/* State shared by the worker object and its thread; the thread holds a
 * reference so that the object can go away while a computation runs. */
typedef struct
{
  gatomicrefcount ref;
  GMutex lock;
  GCond cond;
  Request *pending; /* under lock */
  gboolean quit;    /* under lock */
  GWeakRef owner;
  GMainContext *context;
  guint computed; /* atomic */

  /* The thread's cache of the decoded image and its textures. */
  char *cached_path;
  int cached_boxes[4];
  sl_image source;
  SlPreviewStage source_stage;
  char *source_error;
} Shared;

struct _SlPreviewWorker
{
  GObject parent_instance;
  Shared *shared;
  guint64 next_generation;
  guint64 shown_generation;    /* newest result shown */
  guint64 finished_generation; /* newest result back, shown or dropped */
  guint64 min_generation;      /* results older than this are dropped */
  guint requested;
  SlPreviewResult *result;
  int boxes[4]; /* large width, height, thumbnail width, height */
};

G_DEFINE_FINAL_TYPE (SlPreviewWorker, sl_preview_worker, G_TYPE_OBJECT)

enum
{
  READY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- Requests and results ------------------------------------------------------ */

static void
request_free (Request *r)
{
  if (r == NULL)
    return;
  g_free (r->image_path);
  sl_pipeline_free (r->pipeline);
  g_free (r);
}

static void
stage_clear (SlPreviewStage *s)
{
  g_clear_object (&s->large);
  g_clear_object (&s->thumb);
}

static void
stage_copy (const SlPreviewStage *from, SlPreviewStage *to)
{
  *to = *from;
  if (to->large != NULL)
    g_object_ref (to->large);
  if (to->thumb != NULL)
    g_object_ref (to->thumb);
}

static void
result_free (SlPreviewResult *r)
{
  if (r == NULL)
    return;
  g_free (r->image_path);
  stage_clear (&r->source);
  g_array_unref (r->stages);
  g_ptr_array_unref (r->augmented);
  g_free (r->error);
  g_strfreev (r->stage_names);
  g_free (r);
}

static SlPreviewResult *
result_new (const Request *req)
{
  SlPreviewResult *r = g_new0 (SlPreviewResult, 1);

  r->generation = req->generation;
  r->image_path = g_strdup (req->image_path);
  r->stages = g_array_new (FALSE, TRUE, sizeof (SlPreviewStage));
  g_array_set_clear_func (r->stages, (GDestroyNotify) stage_clear);
  r->augmented = g_ptr_array_new_with_free_func (g_object_unref);
  r->large_width = req->large_w;
  r->large_height = req->large_h;
  r->thumb_width = req->thumb_w;
  r->thumb_height = req->thumb_h;
  r->n_steps = sl_pipeline_step_count (req->pipeline);
  r->failed_stage = -1;
  r->stage_names = g_new0 (char *, r->n_steps + 2);
  for (int i = 0; i < r->n_steps; i++)
    r->stage_names[i]
        = g_strdup_printf ("%d · %s%s", i + 1, sl_pipeline_step_op (req->pipeline, i)->name,
                           sl_pipeline_get_enabled (req->pipeline, i) ? "" : " (off)");
  r->stage_names[r->n_steps] = g_strdup ("Model input");
  return r;
}

static Shared *
shared_ref (Shared *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void
shared_unref (Shared *s)
{
  if (!g_atomic_ref_count_dec (&s->ref))
    return;
  request_free (s->pending);
  g_weak_ref_clear (&s->owner);
  g_main_context_unref (s->context);
  g_free (s->cached_path);
  sl_image_clear (&s->source);
  stage_clear (&s->source_stage);
  g_free (s->source_error);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s);
}

/* ---- Display textures (worker thread) -------------------------------------------- */

/* 8-bit gray or RGB pixels as an opaque texture in GDK_MEMORY_DEFAULT, the
 * format renderers draw without converting (GTK 4.8 has no gray format, and
 * the cairo renderer converts every other format on every frame). */
static GdkTexture *
texture_from_8bit (const sl_image *img)
{
  gsize stride = (gsize) img->width * 4;
  guint8 *bgra = g_malloc (stride * (gsize) img->height);
  g_autoptr (GBytes) bytes = NULL;
  GdkTexture *texture;

  for (int y = 0; y < img->height; y++)
    {
      const guint8 *in = img->data + (gsize) y * img->stride;
      guint8 *out = bgra + (gsize) y * stride;

      for (int x = 0; x < img->width; x++, out += 4)
        {
          const guint8 *px = img->channels == 3 ? in + 3 * x : in + x;
          guint8 r = px[0], g = img->channels == 3 ? px[1] : r, b = img->channels == 3 ? px[2] : r;

          /* GDK_MEMORY_DEFAULT is B8G8R8A8_PREMULTIPLIED on little-endian, A8R8G8B8 otherwise. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
          out[0] = b, out[1] = g, out[2] = r, out[3] = 255;
#else
          out[0] = 255, out[1] = r, out[2] = g, out[3] = b;
#endif
        }
    }
  bytes = g_bytes_new_take (bgra, stride * (gsize) img->height);
  texture = gdk_memory_texture_new (img->width, img->height, GDK_MEMORY_DEFAULT, bytes, stride);
  sl_image_view_attach_surface (texture, bytes);
  return texture;
}

/* A pipeline that brings an image to 8 bits, gray or RGB, fitting the box. */
static sl_status
display_pipeline (const sl_image *in, int box_w, int box_h, sl_pipeline **out, sl_error *err)
{
  double s = MIN ((double) box_w / in->width, (double) box_h / in->height);
  sl_input_spec spec = { MAX (1, (int) lround (in->width * s)),
                         MAX (1, (int) lround (in->height * s)),
                         in->channels == 1 ? 1 : 3,
                         { 0 },
                         { 1, 1, 1 } };
  sl_status st;

  if ((st = sl_pipeline_new (out, err)) != SL_OK)
    return st;
  st = sl_pipeline_set_input (*out, &spec, err);
  if (st == SL_OK && spec.width > in->width)
    {
      /* Enlarged pixels stay sharp squares. */
      st = sl_pipeline_insert_step (*out, -1, "resize", err);
      if (st == SL_OK)
        st = sl_pipeline_set_param (*out, 0, "width", spec.width, err);
      if (st == SL_OK)
        st = sl_pipeline_set_param (*out, 0, "height", spec.height, err);
      if (st == SL_OK)
        st = sl_pipeline_set_choice (*out, 0, "interpolation", "nearest", err);
    }
  if (st != SL_OK)
    g_clear_pointer (out, sl_pipeline_free);
  return st;
}

GdkTexture *
sl_preview_texture_new (const sl_image *image, int box_width, int box_height, sl_error *err)
{
  sl_pipeline *p = NULL;
  sl_image shown = { 0 };
  GdkTexture *texture = NULL;

  g_return_val_if_fail (image != NULL && image->data != NULL, NULL);
  g_return_val_if_fail (box_width > 0 && box_height > 0, NULL);
  /* A source with alpha keeps it, to be shown on a checkerboard: flattened here, transparent
   * pixels would pass for the colour they were flattened onto. */
  if (image->channels == 4)
    return sl_thumbnail_texture_new (image, MIN (box_width, box_height));
  if (display_pipeline (image, box_width, box_height, &p, err) == SL_OK
      && sl_pipeline_apply (p, image, &shown, err) == SL_OK)
    texture = texture_from_8bit (&shown);
  sl_image_clear (&shown);
  sl_pipeline_free (p);
  return texture;
}

static void
stage_fill (SlPreviewStage *s, const sl_image *img, const Request *req)
{
  s->width = img->width;
  s->height = img->height;
  s->channels = img->channels;
  s->depth = img->depth;
  s->large = sl_preview_texture_new (img, req->large_w, req->large_h, NULL);
  s->thumb = sl_preview_texture_new (img, req->thumb_w, req->thumb_h, NULL);
}

/* ---- The computation (worker thread) ------------------------------------------------ */

/* Decodes the request's image unless it is the one already cached, and
 * makes its textures unless they fit the request's boxes already. */
static void
load_source (Shared *s, const Request *req)
{
  const int boxes[4] = { req->large_w, req->large_h, req->thumb_w, req->thumb_h };
  sl_error err = { 0 };

  if (g_strcmp0 (s->cached_path, req->image_path) != 0)
    {
      g_free (s->cached_path);
      s->cached_path = g_strdup (req->image_path);
      sl_image_clear (&s->source);
      stage_clear (&s->source_stage);
      g_clear_pointer (&s->source_error, g_free);
      if (sl_image_load (req->image_path, 0, &s->source, &err) != SL_OK)
        s->source_error = g_strdup_printf ("The image could not be read: %s", err.message);
    }
  if (s->source_error == NULL
      && (s->source_stage.large == NULL || memcmp (boxes, s->cached_boxes, sizeof boxes) != 0))
    {
      stage_clear (&s->source_stage);
      stage_fill (&s->source_stage, &s->source, req);
      memcpy (s->cached_boxes, boxes, sizeof boxes);
    }
}

static char *
sentence (const char *message)
{
  char *s = g_strdup (message);

  if (s[0] != '\0')
    s[0] = g_ascii_toupper (s[0]);
  return s;
}

static void
add_augmented (const Request *req, const sl_image *model_input, SlPreviewResult *r)
{
  for (int k = 0; k < req->n_augment; k++)
    {
      sl_image sample = { 0 };
      GdkTexture *t = NULL;

      if (sl_augment_apply (&req->augment, sl_augment_seed (req->augment_seed, 0, k), model_input,
                            &sample, NULL)
          == SL_OK)
        t = sl_preview_texture_new (&sample, req->thumb_w, req->thumb_h, NULL);
      sl_image_clear (&sample);
      if (t != NULL)
        g_ptr_array_add (r->augmented, t);
    }
}

static SlPreviewResult *
compute (Shared *s, const Request *req)
{
  SlPreviewResult *r = result_new (req);
  gint64 start = g_get_monotonic_time ();
  int n = r->n_steps;
  sl_image *stages;
  sl_error err = { 0 };
  sl_status st;

  load_source (s, req);
  if (s->source_error != NULL)
    {
      r->error = g_strdup (s->source_error);
      return r;
    }
  stage_copy (&s->source_stage, &r->source);
  stages = g_new0 (sl_image, n + 1);
  st = sl_pipeline_apply_stages (req->pipeline, &s->source, stages, &err);
  for (int i = 0; i <= n && stages[i].data != NULL; i++)
    {
      SlPreviewStage stage = { 0 };

      stage_fill (&stage, &stages[i], req);
      g_array_append_val (r->stages, stage);
    }
  if (st != SL_OK)
    {
      r->failed_stage = (int) r->stages->len;
      r->error = sentence (err.message);
    }
  else if (req->augmenting)
    add_augmented (req, &stages[n], r);
  for (int i = 0; i <= n; i++)
    sl_image_clear (&stages[i]);
  g_free (stages);
  r->seconds = (g_get_monotonic_time () - start) / 1e6;
  return r;
}

typedef struct
{
  Shared *shared;
  SlPreviewResult *result;
} Delivery;

static void
delivery_free (Delivery *d)
{
  result_free (d->result);
  shared_unref (d->shared);
  g_free (d);
}

static void sl_preview_worker_take_result (SlPreviewWorker *self, SlPreviewResult *result);

static gboolean
deliver (gpointer data)
{
  Delivery *d = data;
  g_autoptr (SlPreviewWorker) self = g_weak_ref_get (&d->shared->owner);

  if (self != NULL)
    sl_preview_worker_take_result (self, g_steal_pointer (&d->result));
  return G_SOURCE_REMOVE;
}

/* Hands a result to the main loop. (Not g_main_context_invoke: from a thread
 * without a context of its own that may run `deliver` right here whenever
 * the main thread is not iterating.) */
static void
post (GMainContext *context, Delivery *d)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver, d, (GDestroyNotify) delivery_free);
  g_source_set_static_name (source, "[sightline] preview result");
  g_source_attach (source, context);
  g_source_unref (source);
}

static gpointer
worker_thread (gpointer data)
{
  Shared *s = data;

#ifdef __linux__
  /* Previews are background work: input and drawing on the main thread come
   * first. (Linux nice values are per thread; OpenCV's helper threads that
   * this thread starts inherit it.) */
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10);
#endif

  for (;;)
    {
      Request *req;
      Delivery *d;

      g_mutex_lock (&s->lock);
      while (s->pending == NULL && !s->quit)
        g_cond_wait (&s->cond, &s->lock);
      if (s->quit)
        {
          g_mutex_unlock (&s->lock);
          break;
        }
      req = g_steal_pointer (&s->pending);
      g_mutex_unlock (&s->lock);

      d = g_new0 (Delivery, 1);
      d->shared = shared_ref (s);
      d->result = compute (s, req);
      request_free (req);
      g_atomic_int_inc (&s->computed);
      post (s->context, d);
    }
  shared_unref (s);
  return NULL;
}

/* ---- The object (main thread) ------------------------------------------------------- */

static void
sl_preview_worker_take_result (SlPreviewWorker *self, SlPreviewResult *result)
{
  self->finished_generation = MAX (self->finished_generation, result->generation);
  if (result->generation <= self->shown_generation || result->generation < self->min_generation)
    {
      result_free (result);
      return;
    }
  self->shown_generation = result->generation;
  g_clear_pointer (&self->result, result_free);
  self->result = result;
  g_signal_emit (self, signals[READY], 0, result);
}

static void
sl_preview_worker_dispose (GObject *object)
{
  SlPreviewWorker *self = SL_PREVIEW_WORKER (object);

  if (self->shared != NULL)
    {
      /* The thread finishes what it computes and then exits on its own. */
      g_mutex_lock (&self->shared->lock);
      self->shared->quit = TRUE;
      g_cond_signal (&self->shared->cond);
      g_mutex_unlock (&self->shared->lock);
      g_clear_pointer (&self->shared, shared_unref);
    }
  g_clear_pointer (&self->result, result_free);
  G_OBJECT_CLASS (sl_preview_worker_parent_class)->dispose (object);
}

static void
sl_preview_worker_class_init (SlPreviewWorkerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sl_preview_worker_dispose;

  signals[READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
sl_preview_worker_init (SlPreviewWorker *self)
{
  Shared *s = g_new0 (Shared, 1);
  GThread *thread;

  g_atomic_ref_count_init (&s->ref);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  g_weak_ref_init (&s->owner, self);
  s->context = g_main_context_ref_thread_default ();
  self->shared = s;
  self->next_generation = 1;
  self->boxes[0] = self->boxes[1] = SL_PREVIEW_LARGE_BOX;
  self->boxes[2] = self->boxes[3] = SL_PREVIEW_THUMB_BOX;
  thread = g_thread_new ("sl-preview", worker_thread, shared_ref (s));
  g_thread_unref (thread);
}

SlPreviewWorker *
sl_preview_worker_new (void)
{
  return g_object_new (SL_TYPE_PREVIEW_WORKER, NULL);
}

guint64
sl_preview_worker_request (SlPreviewWorker *self, const char *image_path,
                           const sl_pipeline *pipeline, const sl_augment_config *augment,
                           guint64 augment_seed, int n_augment)
{
  Request *req, *replaced;

  g_return_val_if_fail (SL_IS_PREVIEW_WORKER (self), 0);
  g_return_val_if_fail (image_path != NULL && pipeline != NULL, 0);
  req = g_new0 (Request, 1);
  if (sl_pipeline_copy (pipeline, &req->pipeline, NULL) != SL_OK)
    {
      g_free (req);
      return 0;
    }
  req->generation = self->next_generation++;
  req->image_path = g_strdup (image_path);
  req->augmenting = augment != NULL && sl_augment_config_is_active (augment) && n_augment > 0;
  if (req->augmenting)
    req->augment = *augment;
  req->augment_seed = augment_seed;
  req->n_augment = n_augment;
  req->large_w = self->boxes[0];
  req->large_h = self->boxes[1];
  req->thumb_w = self->boxes[2];
  req->thumb_h = self->boxes[3];
  self->requested++;

  g_mutex_lock (&self->shared->lock);
  replaced = self->shared->pending;
  self->shared->pending = req;
  g_cond_signal (&self->shared->cond);
  g_mutex_unlock (&self->shared->lock);
  if (replaced != NULL)
    {
      /* It never ran; nothing will come back for it. */
      self->finished_generation = MAX (self->finished_generation, replaced->generation);
      request_free (replaced);
    }
  return req->generation;
}

void
sl_preview_worker_set_boxes (SlPreviewWorker *self, int large_width, int large_height,
                             int thumb_width, int thumb_height)
{
  g_return_if_fail (SL_IS_PREVIEW_WORKER (self));
  self->boxes[0] = MAX (1, large_width);
  self->boxes[1] = MAX (1, large_height);
  self->boxes[2] = MAX (1, thumb_width);
  self->boxes[3] = MAX (1, thumb_height);
}

void
sl_preview_worker_discard (SlPreviewWorker *self)
{
  g_return_if_fail (SL_IS_PREVIEW_WORKER (self));
  self->min_generation = self->next_generation;
  g_clear_pointer (&self->result, result_free);
}

const SlPreviewResult *
sl_preview_worker_get_result (SlPreviewWorker *self)
{
  g_return_val_if_fail (SL_IS_PREVIEW_WORKER (self), NULL);
  return self->result;
}

gboolean
sl_preview_worker_is_busy (SlPreviewWorker *self)
{
  g_return_val_if_fail (SL_IS_PREVIEW_WORKER (self), FALSE);
  return self->finished_generation + 1 < self->next_generation;
}

void
sl_preview_worker_get_counts (SlPreviewWorker *self, guint *requested, guint *computed)
{
  g_return_if_fail (SL_IS_PREVIEW_WORKER (self) && self->shared != NULL);
  if (requested != NULL)
    *requested = self->requested;
  if (computed != NULL)
    *computed = (guint) g_atomic_int_get (&self->shared->computed);
}
