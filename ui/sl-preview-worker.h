/* sl-preview-worker.h: runs a pipeline on the preview image off the main loop; the latest request wins. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

/* Textures are made to fit the box they are shown in, in device pixels, so
 * that drawing them is a plain copy: smaller images are enlarged without
 * smoothing (their pixels stay visible squares), larger ones shrunk by area
 * averaging. These are the boxes until the page tells the real ones. */
#define SL_PREVIEW_LARGE_BOX 512
#define SL_PREVIEW_THUMB_BOX 64

/* One image of the preview: textures for display and the image's own shape. */
typedef struct
{
  GdkTexture *large;
  GdkTexture *thumb;
  int width, height, channels, depth;
} SlPreviewStage;

/* What one request produced. Stage i is the output of step i, the last one
 * the model input; after a failure only the stages before the failing step
 * are there. */
typedef struct
{
  guint64 generation;
  char *image_path;
  SlPreviewStage source;
  GArray *stages;                /* SlPreviewStage */
  int n_steps;                   /* steps of the pipeline that was run */
  char **stage_names;            /* n_steps + 1 labels: "1 · Crop", ..., "Model input" */
  int failed_stage;              /* -1, or the stage that failed (n_steps: the model input) */
  char *error;                   /* the step's message ("Step 2 (Crop): ..."), or NULL */
  GPtrArray *augmented;          /* GdkTexture: augmentation samples of the model input */
  int large_width, large_height; /* the boxes the textures were made for */
  int thumb_width, thumb_height;
  double seconds; /* time spent computing, textures included */
} SlPreviewResult;

#define SL_TYPE_PREVIEW_WORKER (sl_preview_worker_get_type ())
G_DECLARE_FINAL_TYPE (SlPreviewWorker, sl_preview_worker, SL, PREVIEW_WORKER, GObject)

SlPreviewWorker *sl_preview_worker_new (void);

/* Queues a preview of image_path (decoded once and cached) through a copy of
 * pipeline, with n_augment samples under augment (NULL: none) drawn from
 * augment_seed. A request that has not started yet is replaced by a newer
 * one. Emits "ready" (SlPreviewResult *, valid during the emission) on the
 * main loop; results older than one already shown are dropped. Returns the
 * request's generation. */
guint64 sl_preview_worker_request (SlPreviewWorker *self, const char *image_path,
                                   const sl_pipeline *pipeline, const sl_augment_config *augment,
                                   guint64 augment_seed, int n_augment);

/* The boxes (device pixels) that large views and thumbnails show textures in;
 * the next request uses them. */
void sl_preview_worker_set_boxes (SlPreviewWorker *self, int large_width, int large_height,
                                  int thumb_width, int thumb_height);

/* Drops the results of every request made so far (e.g. the image changed). */
void sl_preview_worker_discard (SlPreviewWorker *self);

/* The last result shown, or NULL. */
const SlPreviewResult *sl_preview_worker_get_result (SlPreviewWorker *self);
/* TRUE while a request has not come back yet. */
gboolean sl_preview_worker_is_busy (SlPreviewWorker *self);
/* Requests made, and requests the worker actually computed. */
void sl_preview_worker_get_counts (SlPreviewWorker *self, guint *requested, guint *computed);

/* A display texture of an image (any depth and channel count) that fits a
 * box_width x box_height box, as the worker makes them. */
GdkTexture *sl_preview_texture_new (const sl_image *image, int box_width, int box_height,
                                    sl_error *err);

G_END_DECLS
