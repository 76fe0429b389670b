/* sl-heatmap-cache.h: heatmap overlays of a run's images (anomaly maps or Grad-CAM), made one at a time on a worker thread and kept for the gallery. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_HEATMAP_CACHE (sl_heatmap_cache_get_type ())
G_DECLARE_FINAL_TYPE (SlHeatmapCache, sl_heatmap_cache, SL, HEATMAP_CACHE, GObject)

typedef enum
{
  SL_HEATMAP_ANOMALY, /* where the anomaly is: the anomaly map */
  SL_HEATMAP_CLASS,   /* what drove the decision: Grad-CAM of the predicted class */
} SlHeatmapKind;

/* Called on the main thread with the overlay, or NULL and why there is none. Never
 * called after the request was cancelled or the cache was disposed. */
typedef void (*SlHeatmapFunc) (GdkTexture *texture, const char *error, gpointer user_data);

/* Overlays of the project's stored images as run_id's model (best checkpoint) sees
 * them, fitted into box x box pixels: the map drawn over the model's input image
 * (sl_heatmap_overlay). Anomaly maps use the runtime's colour range for `threshold`
 * (sl_anomaly_map_range: half painted at the threshold; a non-finite one: each map's
 * own range); Grad-CAM maps run from 0 to 1. One worker thread opens the model once
 * and computes with `threads` threads (0: one per core); the newest request goes
 * first. */
SlHeatmapCache *sl_heatmap_cache_new (const char *project_path, gint64 run_id, SlHeatmapKind kind,
                                      double threshold, int box, int threads);

SlHeatmapKind sl_heatmap_cache_get_kind (SlHeatmapCache *self);
/* A finished overlay (main thread), or NULL. */
GdkTexture *sl_heatmap_cache_lookup (SlHeatmapCache *self, gint64 image_id);
/* Why an image has no overlay (its own failure, or the model's), or NULL. */
const char *sl_heatmap_cache_lookup_failure (SlHeatmapCache *self, gint64 image_id);
/* Queues an image; returns a handle for sl_heatmap_cache_cancel. */
guint sl_heatmap_cache_request (SlHeatmapCache *self, gint64 image_id, const char *hash,
                                const char *ext, SlHeatmapFunc func, gpointer user_data);
void sl_heatmap_cache_cancel (SlHeatmapCache *self, guint handle);
/* For tests: overlays delivered so far and requests not yet delivered. */
guint sl_heatmap_cache_get_delivered (SlHeatmapCache *self);
guint sl_heatmap_cache_get_pending (SlHeatmapCache *self);

G_END_DECLS
