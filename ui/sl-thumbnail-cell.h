/* sl-thumbnail-cell.h: one grid cell: the thumbnail, its class chip, split badge and ignored mark. */
#pragma once

#include "sl-types.h"
#include "sl-image-object.h"
#include "sl-thumbnail-cache.h"

G_BEGIN_DECLS

#define SL_TYPE_THUMBNAIL_CELL (sl_thumbnail_cell_get_type ())
G_DECLARE_FINAL_TYPE (SlThumbnailCell, sl_thumbnail_cell, SL, THUMBNAIL_CELL, GtkWidget)

GtkWidget *sl_thumbnail_cell_new (SlThumbnailCache *cache);
/* Shows an image (O(1): a cache lookup or a queued decode) and follows its
 * label, split and ignore flag until unbound. */
void sl_thumbnail_cell_bind (SlThumbnailCell *self, SlImageObject *image);
/* Whether the bound image's thumbnail (or its "broken" mark) is shown. */
gboolean sl_thumbnail_cell_get_loaded (SlThumbnailCell *self);
/* The bound image, or NULL. */
SlImageObject *sl_thumbnail_cell_get_image (SlThumbnailCell *self);
/* Forgets the image and drops its pending decode. */
void sl_thumbnail_cell_unbind (SlThumbnailCell *self);

G_END_DECLS
