/* sl-thumbnail.h: scaling a decoded image down to the 8-bit pixels of a thumbnail. */
#pragma once

#include <glib.h>

#include "sl-vision.h"

G_BEGIN_DECLS

void sl_thumbnail_reduce (const sl_image *img, int left, int top, int width, int height, int ow,
                          int oh, int out_c, guint8 *pixels);

G_END_DECLS
