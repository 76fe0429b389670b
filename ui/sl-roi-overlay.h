/* sl-roi-overlay.h: draws a step's region of interest over a preview picture and edits it by dragging. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

#define SL_TYPE_ROI_OVERLAY (sl_roi_overlay_get_type ())
G_DECLARE_FINAL_TYPE (SlRoiOverlay, sl_roi_overlay, SL, ROI_OVERLAY, GtkWidget)

/* Lies over an SlImageView of the same size that shows the image
 * letterboxed, as an overlay child of a GtkOverlay. */
GtkWidget *sl_roi_overlay_new (void);

/* The size in pixels of the image the rectangle refers to (0 x 0: none). */
void sl_roi_overlay_set_image_size (SlRoiOverlay *self, int width, int height);
/* The rectangle in pixels, or in fractions of the image when relative (as
 * the crop operator takes it). Does not emit "rect-changed". */
void sl_roi_overlay_set_rect (SlRoiOverlay *self, const sl_rect *rect, gboolean relative);
void sl_roi_overlay_get_rect (SlRoiOverlay *self, sl_rect *rect);

/* "rect-changed" (gpointer: const sl_rect *, in the units last set) is emitted
 * while the user draws, moves or resizes the rectangle. */

/* Where the image lies in the widget, as the view draws it; FALSE without an image. */
gboolean sl_roi_overlay_get_image_area (SlRoiOverlay *self, graphene_rect_t *area);
/* Widget coordinates to image pixels and back. */
void sl_roi_overlay_widget_to_image (SlRoiOverlay *self, double wx, double wy, double *ix,
                                     double *iy);
void sl_roi_overlay_image_to_widget (SlRoiOverlay *self, double ix, double iy, double *wx,
                                     double *wy);

/* Simulates a drag from (x0, y0) to (x1, y1) in widget coordinates (tests). */
void sl_roi_overlay_drag (SlRoiOverlay *self, double x0, double y0, double x1, double y1);

G_END_DECLS
