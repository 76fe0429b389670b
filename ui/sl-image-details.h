/* sl-image-details.h: the dataset page's right pane: a large preview of the selected image and its facts. */
#pragma once

#include "sl-types.h"
#include "sl-image-object.h"
#include "sl-thumbnail-cache.h"

G_BEGIN_DECLS

#define SL_TYPE_IMAGE_DETAILS (sl_image_details_get_type ())
G_DECLARE_FINAL_TYPE (SlImageDetails, sl_image_details, SL, IMAGE_DETAILS, GtkWidget)

/* Previews are decoded on the cache's workers, ahead of thumbnails. */
GtkWidget *sl_image_details_new (SlThumbnailCache *cache);

/* Shows one image (n_selected == 1), a count of many, or nothing. */
void sl_image_details_show (SlImageDetails *self, SlImageObject *image, guint n_selected);
/* TRUE once the full preview of the shown image is in. */
gboolean sl_image_details_get_preview_ready (SlImageDetails *self);

G_END_DECLS
