/* sl-checkerboard.h: transparency shown as a checkerboard under an image, never as a flat fill that hides it. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Draws a neutral grey checkerboard (8 px squares) into rect. */
void sl_checkerboard_snapshot (GtkSnapshot *snapshot, const graphene_rect_t *rect);

/* Marks a texture made from pixels with an alpha channel (GTK 4.8 cannot tell
 * a texture's format), so that views draw the checkerboard under it. */
void sl_texture_mark_alpha (GdkTexture *texture);
gboolean sl_texture_has_alpha (GdkTexture *texture);

/* A paintable for GtkPicture and GtkImage: texture drawn on the checkerboard
 * when it has alpha, else texture itself. Transfer full; NULL for NULL. */
GdkPaintable *sl_checkerboard_paintable_new (GdkTexture *texture);

G_END_DECLS
