/* sl-plot.c: nice ticks, text and theme colours for the small cairo plots of the Evaluate page. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-plot.h"

#include <math.h>

guint
sl_plot_nice_ticks (double lo, double hi, guint max_ticks, double *ticks, int *decimals)
{
  static const double steps[] = { 1, 2, 2.5, 5, 10 };
  double span = hi - lo, magnitude, step = 0;
  guint n = 0;

  *decimals = 0;
  if (!isfinite (span) || span <= 0 || max_ticks < 2)
    return 0;
  max_ticks = MIN (max_ticks, SL_PLOT_MAX_TICKS);
  magnitude = pow (10, floor (log10 (span / (max_ticks - 1))));
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      step = steps[i] * magnitude;
      if (floor (hi / step) - ceil (lo / step) + 1 <= max_ticks)
        break;
    }
  for (double k = ceil (lo / step - 1e-9); k * step <= hi + 1e-9 * span && n < max_ticks; k++)
    ticks[n++] = k * step == 0 ? 0 : k * step; /* no "-0" */
  /* 2.5 needs one decimal more than its power of ten. */
  *decimals = MAX (0, (int) -floor (log10 (step) + 1e-9));
  if (fabs (step / pow (10, floor (log10 (step) + 1e-9)) - 2.5) < 1e-9)
    (*decimals)++;
  return n;
}

void
sl_plot_get_fg (GtkWidget *widget, GdkRGBA *fg)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

gboolean
sl_plot_is_dark (const GdkRGBA *fg)
{
  return 0.299 * fg->red + 0.587 * fg->green + 0.114 * fg->blue > 0.5;
}

GdkRGBA
sl_plot_alpha (const GdkRGBA *color, float alpha)
{
  GdkRGBA c = *color;

  c.alpha *= alpha;
  return c;
}

static PangoLayout *
make_layout (GtkWidget *widget, const char *text, gboolean small, gboolean bold)
{
  PangoLayout *pl = gtk_widget_create_pango_layout (widget, text);
  PangoAttrList *attrs = pango_attr_list_new ();

  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  if (small)
    pango_attr_list_insert (attrs, pango_attr_scale_new (0.85));
  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_layout_set_attributes (pl, attrs);
  pango_attr_list_unref (attrs);
  return pl;
}

void
sl_plot_text_size (GtkWidget *widget, const char *text, gboolean small, gboolean bold, int *width,
                   int *height)
{
  g_autoptr (PangoLayout) pl = make_layout (widget, text, small, bold);

  pango_layout_get_pixel_size (pl, width, height);
}

int
sl_plot_draw_text (GtkWidget *widget, GtkSnapshot *snapshot, const char *text, double x, double y,
                   double xalign, const GdkRGBA *color, gboolean small, gboolean bold)
{
  g_autoptr (PangoLayout) pl = make_layout (widget, text, small, bold);
  int w, h;

  pango_layout_get_pixel_size (pl, &w, &h);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (round (x - xalign * w), round (y)));
  gtk_snapshot_append_layout (snapshot, pl, color);
  gtk_snapshot_restore (snapshot);
  return w;
}
