/* sl-plot.h: what the small cairo plots of the Evaluate page share: nice ticks, text and theme colours. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SL_PLOT_MAX_TICKS 12

/* Round tick values (1, 2, 2.5 or 5 times a power of ten) covering lo .. hi, at most
 * max_ticks of them inside the range; *decimals is what they need to print. Returns the
 * count. */
guint sl_plot_nice_ticks (double lo, double hi, guint max_ticks, double *ticks, int *decimals);

/* The widget's text colour, and whether the theme is dark (light text). */
void sl_plot_get_fg (GtkWidget *widget, GdkRGBA *fg);
gboolean sl_plot_is_dark (const GdkRGBA *fg);
GdkRGBA sl_plot_alpha (const GdkRGBA *color, float alpha);

/* Text at (x, y): xalign 0 puts its left edge at x, 0.5 its centre, 1 its right edge; y is
 * its top. small: a caption's size; bold: a heading's weight. Returns its width. */
int sl_plot_draw_text (GtkWidget *widget, GtkSnapshot *snapshot, const char *text, double x,
                       double y, double xalign, const GdkRGBA *color, gboolean small,
                       gboolean bold);
/* The size text would have. */
void sl_plot_text_size (GtkWidget *widget, const char *text, gboolean small, gboolean bold,
                        int *width, int *height);

G_END_DECLS
