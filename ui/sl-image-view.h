/* sl-image-view.h: shows a preview texture letterboxed, redrawing it cheaply and never resizing for it. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_IMAGE_VIEW (sl_image_view_get_type ())
G_DECLARE_FINAL_TYPE (SlImageView, sl_image_view, SL, IMAGE_VIEW, GtkWidget)

GtkWidget *sl_image_view_new (void);

/* Shows texture (NULL: nothing) scaled to fit, centred. A new texture only
 * redraws the view: its size comes from its parent, not from the image. */
void sl_image_view_set_texture (SlImageView *self, GdkTexture *texture);
GdkTexture *sl_image_view_get_texture (SlImageView *self);

/* Attaches to texture a cairo surface that shares its pixels (which must be
 * GDK_MEMORY_DEFAULT, rows width * 4 bytes apart); the view then draws that
 * instead of converting the texture on every frame as GTK 4.8's cairo
 * renderer does. Any thread may call it on a texture it just made. */
void sl_image_view_attach_surface (GdkTexture *texture, GBytes *pixels);

G_END_DECLS
