/* sl-color-swatch.h: a small round patch of a class colour (hollow for "no class"). */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_COLOR_SWATCH (sl_color_swatch_get_type ())
G_DECLARE_FINAL_TYPE (SlColorSwatch, sl_color_swatch, SL, COLOR_SWATCH, GtkWidget)

GtkWidget *sl_color_swatch_new (void);
/* "#rrggbb", or NULL for a hollow ring. */
void sl_color_swatch_set_color (SlColorSwatch *self, const char *color);

G_END_DECLS
