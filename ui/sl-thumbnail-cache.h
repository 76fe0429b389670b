/* sl-thumbnail-cache.h: thumbnails decoded on a small worker pool into a byte-bounded LRU of textures. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

#define SL_TYPE_THUMBNAIL_CACHE (sl_thumbnail_cache_get_type ())
G_DECLARE_FINAL_TYPE (SlThumbnailCache, sl_thumbnail_cache, SL, THUMBNAIL_CACHE, GObject)

/* Called on the main thread with the texture, or NULL and why the image could
 * not be shown. Never called after the request was cancelled or the cache
 * was disposed. */
typedef void (*SlThumbnailFunc) (GdkTexture *texture, const char *error, gpointer user_data);

/* Thumbnails of the stored copies under project_path/images, fitted into
 * size x size pixels, kept up to max_bytes (0: the GSettings
 * thumbnail-cache-mb, followed when it changes; 256 MB without the schema). */
SlThumbnailCache *sl_thumbnail_cache_new (const char *project_path, int size, gsize max_bytes);

int sl_thumbnail_cache_get_size (SlThumbnailCache *self);

/* img fitted into box x box as an 8-bit texture, the way the cache makes its
 * thumbnails; any thread may call it. */
GdkTexture *sl_thumbnail_texture_new (const sl_image *img, int box);

/* A cached thumbnail (main thread), or NULL; marks it recently used. */
GdkTexture *sl_thumbnail_cache_lookup (SlThumbnailCache *self, const char *hash);
/* Why an image failed to decode earlier, or NULL. */
const char *sl_thumbnail_cache_lookup_failure (SlThumbnailCache *self, const char *hash);

/* Queues a decode; the newest request runs first, and requests cancelled
 * before a worker reaches them are dropped. max_size 0 makes a thumbnail
 * (cached); a larger box makes a preview of that size (not cached), ahead of
 * every thumbnail. Returns a handle for sl_thumbnail_cache_cancel. */
guint sl_thumbnail_cache_request (SlThumbnailCache *self, const char *hash, const char *ext,
                                  int max_size, SlThumbnailFunc func, gpointer user_data);
void sl_thumbnail_cache_cancel (SlThumbnailCache *self, guint handle);

/* For tests and benchmarks: thumbnails delivered so far, requests not yet
 * delivered or dropped, and the bytes the LRU holds. */
guint sl_thumbnail_cache_get_delivered (SlThumbnailCache *self);
guint sl_thumbnail_cache_get_pending (SlThumbnailCache *self);
gsize sl_thumbnail_cache_get_bytes (SlThumbnailCache *self);
/* The budget in bytes: max_bytes, or thumbnail-cache-mb as it is now. */
gsize sl_thumbnail_cache_get_max_bytes (SlThumbnailCache *self);

G_END_DECLS
