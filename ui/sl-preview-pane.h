/* sl-preview-pane.h: the Preprocess page's live preview: source, output and every stage of the chain. */
#pragma once

#include "sl-preview-worker.h"
#include "sl-roi-overlay.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_PREVIEW_PANE (sl_preview_pane_get_type ())
G_DECLARE_FINAL_TYPE (SlPreviewPane, sl_preview_pane, SL, PREVIEW_PANE, GtkWidget)

GtkWidget *sl_preview_pane_new (void);

/* TRUE: the project has no image to preview; says where to get some. */
void sl_preview_pane_set_empty (SlPreviewPane *self, gboolean empty);
/* Shows a worker result (its textures are referenced, not copied). */
void sl_preview_pane_show_result (SlPreviewPane *self, const SlPreviewResult *result);
/* Forgets the shown images (the preview image changed). */
void sl_preview_pane_clear (SlPreviewPane *self);
/* A computation has been running for a while: shows a spinner. */
void sl_preview_pane_set_busy (SlPreviewPane *self, gboolean busy);

/* The step whose region is edited on the left view (its input is shown
 * there, under the overlay); -1: none, the left view shows the source. */
void sl_preview_pane_set_roi_step (SlPreviewPane *self, int step);
SlRoiOverlay *sl_preview_pane_get_roi_overlay (SlPreviewPane *self);

/* The stage shown large on the right: 0 the source, 1..n the steps, n + 1
 * (or -1) the model input. Clicking a thumbnail does the same. */
void sl_preview_pane_show_stage (SlPreviewPane *self, int index);
/* Thumbnails in the strip (source, steps, model input). */
guint sl_preview_pane_get_n_thumbnails (SlPreviewPane *self);
/* The size of the large views in device pixels (0 before the first
 * allocation); "view-resized" tells when it changes. */
void sl_preview_pane_get_view_box (SlPreviewPane *self, int *width, int *height);
/* The texture shown large on the right, or NULL. */
GdkTexture *sl_preview_pane_get_output_texture (SlPreviewPane *self);
/* The message shown over the output, or NULL. */
const char *sl_preview_pane_get_error (SlPreviewPane *self);

G_END_DECLS
