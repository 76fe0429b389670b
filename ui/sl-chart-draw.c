/* sl-chart-draw.c: paints an SlChart: grid, ticks, labels, legend, series (min/max per pixel column), read-out. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-chart-private.h"

#include <math.h>

#define LINE_WIDTH 1.5

static const double dash_pattern[] = { 5.0, 3.0 };

static GdkRGBA
with_alpha (const GdkRGBA *color, float alpha)
{
  GdkRGBA c = *color;

  c.alpha *= alpha;
  return c;
}

/* Dark themes draw light text. */
static gboolean
is_dark (const GdkRGBA *fg)
{
  return 0.299 * fg->red + 0.587 * fg->green + 0.114 * fg->blue > 0.5;
}

/* Text at (x, y); xalign 0 puts its left edge there, 0.5 its centre, 1 its right edge. */
static void
draw_text (SlChart *self, GtkSnapshot *snapshot, const char *text, SlChartText kind, double x,
           double y, double xalign, const GdkRGBA *color)
{
  g_autoptr (PangoLayout) pl = _sl_chart_text (self, text, kind);
  int w, h;

  pango_layout_get_pixel_size (pl, &w, &h);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (round (x - xalign * w), round (y)));
  gtk_snapshot_append_layout (snapshot, pl, color);
  gtk_snapshot_restore (snapshot);
}

static int
text_height (SlChart *self, SlChartText kind)
{
  g_autoptr (PangoLayout) pl = _sl_chart_text (self, "0", kind);
  int h;

  pango_layout_get_pixel_size (pl, NULL, &h);
  return h;
}

static void
set_line_style (cairo_t *cr, SlChartSeries *s)
{
  GdkRGBA color;

  sl_chart_series_get_color (s, &color);
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_set_line_width (cr, LINE_WIDTH);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_dash (cr, dash_pattern, sl_chart_series_get_dashed (s) ? 2 : 0, 0);
}

/* ---- Grid, ticks and labels --------------------------------------------------------- */

static void
draw_axes (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *l, const GdkRGBA *fg)
{
  GdkRGBA grid = with_alpha (fg, is_dark (fg) ? 0.10f : 0.08f), axis = with_alpha (fg, 0.30f);
  GdkRGBA dim = with_alpha (fg, 0.62f);
  int tick_h = text_height (self, SL_CHART_TEXT_TICK);

  for (guint i = 0; i < l->n_y_ticks; i++)
    {
      double y = _sl_chart_map_y (self, l, l->y_ticks[i]);
      g_autofree char *text = _sl_chart_format_y (self, l->y_ticks[i], l->y_decimals);

      if (fabs (y - (l->py + l->ph)) > 0.5)
        gtk_snapshot_append_color (snapshot, &grid,
                                   &GRAPHENE_RECT_INIT (l->px, floor (y), l->pw, 1));
      /* An empty chart has no scale yet; a log axis labels only powers of ten. */
      if ((!l->has_data && !self->y_fixed) || *text == '\0')
        continue;
      draw_text (self, snapshot, text, SL_CHART_TEXT_TICK, l->px - SL_CHART_GAP, y - tick_h / 2.0,
                 1, &dim);
    }
  for (guint i = 0; i < l->n_x_ticks; i++)
    {
      double x = _sl_chart_map_x (l, l->x_ticks[i]);
      g_autofree char *text = _sl_chart_format_x (self, l->x_ticks[i], l->x_decimals);

      gtk_snapshot_append_color (snapshot, &grid, &GRAPHENE_RECT_INIT (floor (x), l->py, 1, l->ph));
      gtk_snapshot_append_color (snapshot, &axis,
                                 &GRAPHENE_RECT_INIT (floor (x), l->py + l->ph, 1, 4));
      draw_text (self, snapshot, text, SL_CHART_TEXT_TICK, x, l->py + l->ph + 4, 0.5, &dim);
    }
  /* The x axis itself. */
  gtk_snapshot_append_color (snapshot, &axis,
                             &GRAPHENE_RECT_INIT (l->px, floor (l->py + l->ph), l->pw, 1));
  if (self->x_label != NULL)
    draw_text (self, snapshot, self->x_label, SL_CHART_TEXT_SMALL, l->px + l->pw / 2, l->x_label_y,
               0.5, &dim);
  if (self->y_label != NULL)
    {
      /* Turned a quarter left, centred on the plot's height. */
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (l->y_label_x, l->py + l->ph / 2));
      gtk_snapshot_rotate (snapshot, -90);
      draw_text (self, snapshot, self->y_label, SL_CHART_TEXT_SMALL, 0, 0, 0.5, &dim);
      gtk_snapshot_restore (snapshot);
    }
}

static void
draw_legend (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *l, const GdkRGBA *fg)
{
  GdkRGBA text = with_alpha (fg, 0.85f);

  if (self->title != NULL)
    draw_text (self, snapshot, self->title, SL_CHART_TEXT_TITLE, SL_CHART_PAD, l->title_y, 0, fg);
  for (guint i = 0; i < l->legend->len; i++)
    {
      const SlChartLegendItem *item = &g_array_index (l->legend, SlChartLegendItem, i);
      double y = item->y + l->legend_row_height / 2;
      cairo_t *cr = gtk_snapshot_append_cairo (
          snapshot, &GRAPHENE_RECT_INIT (item->x, item->y, SL_CHART_SWATCH, l->legend_row_height));

      set_line_style (cr, item->series);
      cairo_set_line_width (cr, 2.5);
      cairo_move_to (cr, item->x + 1.5, round (y) + 0.5);
      cairo_line_to (cr, item->x + SL_CHART_SWATCH - 1.5, round (y) + 0.5);
      cairo_stroke (cr);
      cairo_destroy (cr);
      draw_text (self, snapshot, sl_chart_series_get_name (item->series), SL_CHART_TEXT_SMALL,
                 item->x + SL_CHART_SWATCH + SL_CHART_GAP, item->y, 0, &text);
    }
}

/* ---- Series ------------------------------------------------------------------------- */

/* A line being built: points joined while the series has no gap; a run of one point is a dot. */
typedef struct
{
  cairo_t *cr;
  GArray *dots; /* graphene_point_t: runs of one point */
  guint run;
  double last_x, last_y;
} Pen;

/* One visible series as it is drawn: its points in view, reduced to columns when they are many. */
typedef struct
{
  SlChartSeries *series;
  guint first, last;
  const SlChartColumn *columns; /* NULL: few enough points to draw each */
} Trace;

static void
pen_end (Pen *pen)
{
  if (pen->run == 1)
    g_array_append_val (pen->dots, GRAPHENE_POINT_INIT (pen->last_x, pen->last_y));
  pen->run = 0;
}

static void
pen_to (Pen *pen, double x, double y, gboolean join)
{
  if (!join || pen->run == 0)
    {
      pen_end (pen);
      cairo_move_to (pen->cr, x, y);
    }
  else
    cairo_line_to (pen->cr, x, y);
  pen->run++;
  pen->last_x = x, pen->last_y = y;
}

/* Bounded to a little outside the plot, so a value a log axis cannot show sits below it. */
static double
clamp_y (const SlChartLayout *l, double y)
{
  return isnan (y) ? l->py + l->ph + 8 : CLAMP (y, l->py - 8, l->py + l->ph + 8);
}

static double
column_x (const SlChartLayout *l, guint columns, guint c)
{
  return l->px + (c + 0.5) * l->pw / columns;
}

/* Every point: the exact way when there are fewer points than columns, and the benchmark's peer. */
static void
trace_points (SlChart *self, const SlChartLayout *l, const Trace *t, Pen *pen)
{
  gboolean connect = sl_chart_series_get_connect_gaps (t->series), join = FALSE;

  for (guint i = t->first; i < t->last; i++)
    {
      double x, y, my;

      sl_chart_series_get_point (t->series, i, &x, &y);
      my = isnan (y) ? NAN : _sl_chart_map_y (self, l, y);
      if (isnan (my))
        {
          join = join && connect;
          continue;
        }
      pen_to (pen, _sl_chart_map_x (l, x), clamp_y (l, my), join);
      join = TRUE;
    }
}

/* The spread of many points: a box per pixel column from its lowest to its highest value, so no
 * spike is lost however many points share a pixel. Filling boxes costs far less than stroking a
 * zigzag through every point. */
static void
trace_spread (SlChart *self, const SlChartLayout *l, const Trace *t, guint columns, cairo_t *cr)
{
  double width = l->pw / columns;

  for (guint c = 0; c < columns; c++)
    {
      const SlChartColumn *col = &t->columns[c];
      double top, bottom;

      if (!col->has)
        continue;
      /* Whole pixels: boxes on the pixel grid are the fastest of all, and a faint band does
       * not show the rounding. */
      top = floor (clamp_y (l, _sl_chart_map_y (self, l, col->max)));
      bottom = ceil (clamp_y (l, _sl_chart_map_y (self, l, col->min)));
      if (bottom - top >= 2)
        cairo_rectangle (cr, l->px + c * width, top, width, bottom - top);
    }
}

/* The line through the mean of each column. */
static void
trace_means (SlChart *self, const SlChartLayout *l, const Trace *t, guint columns, Pen *pen)
{
  gboolean connect = sl_chart_series_get_connect_gaps (t->series);

  for (guint c = 0; c < columns; c++)
    {
      const SlChartColumn *col = &t->columns[c];

      if (col->has)
        pen_to (pen, column_x (l, columns, c),
                clamp_y (l, _sl_chart_map_y (self, l, col->sum / col->n)), !col->gap || connect);
    }
}

static void
fill_dots (cairo_t *cr, GArray *dots, double radius)
{
  for (guint i = 0; i < dots->len; i++)
    {
      graphene_point_t *p = &g_array_index (dots, graphene_point_t, i);

      cairo_new_sub_path (cr);
      cairo_arc (cr, p->x, p->y, radius, 0, 2 * G_PI);
    }
  cairo_fill (cr);
}

/* The line of a series, and its points as dots when there are few of them. */
static void
draw_line (SlChart *self, cairo_t *cr, const SlChartLayout *l, const Trace *t, guint columns)
{
  g_autoptr (GArray) dots = g_array_new (FALSE, FALSE, sizeof (graphene_point_t));
  Pen pen = { cr, dots, 0, 0, 0 };
  guint n_values = 0;

  set_line_style (cr, t->series);
  if (t->columns != NULL)
    trace_means (self, l, t, columns, &pen);
  else
    trace_points (self, l, t, &pen);
  pen_end (&pen);
  cairo_stroke (cr);

  for (guint i = t->first; i < t->last && n_values < SL_CHART_MARKERS; i++)
    {
      double y;

      sl_chart_series_get_point (t->series, i, NULL, &y);
      n_values += !isnan (y);
    }
  if (n_values < SL_CHART_MARKERS)
    {
      g_array_set_size (dots, 0);
      for (guint i = t->first; i < t->last; i++)
        {
          double x, y;

          sl_chart_series_get_point (t->series, i, &x, &y);
          y = isnan (y) ? NAN : _sl_chart_map_y (self, l, y);
          if (!isnan (y))
            g_array_append_val (dots, GRAPHENE_POINT_INIT (_sl_chart_map_x (l, x), clamp_y (l, y)));
        }
    }
  fill_dots (cr, dots, n_values < 20 ? 3.0 : 2.25);
}

/* Noisy series (a loss per step) show their spread as a faint band under a line through the column
 * means; bands go under every line, so one series' spread never hides another's line. */
static void
draw_series (SlChart *self, cairo_t *cr, const SlChartLayout *l, guint columns)
{
  g_autoptr (GArray) traces = g_array_new (FALSE, TRUE, sizeof (Trace));

  for (guint i = 0; i < self->series->len; i++)
    {
      Trace t = { g_ptr_array_index (self->series, i), 0, 0, NULL };

      if (!sl_chart_series_get_visible (t.series))
        continue;
      sl_chart_series_get_range (t.series, l->x0, l->x1, &t.first, &t.last);
      if (!self->every_point && t.last - t.first > columns)
        t.columns = sl_chart_series_reduce_cached (t.series, l->x0, l->x1, columns);
      g_array_append_val (traces, t);
    }
  for (guint i = 0; i < traces->len; i++)
    {
      Trace *t = &g_array_index (traces, Trace, i);
      GdkRGBA color;

      if (t->columns == NULL)
        continue;
      sl_chart_series_get_color (t->series, &color);
      color.alpha *= 0.3f;
      gdk_cairo_set_source_rgba (cr, &color);
      trace_spread (self, l, t, columns, cr);
      cairo_fill (cr);
    }
  for (guint i = 0; i < traces->len; i++)
    {
      Trace *t = &g_array_index (traces, Trace, i);

      draw_line (self, cr, l, t, columns);
    }
}

/* The series go into a texture of their own, drawn once per change of the data: a frame that only
 * moves the read-out (or any frame under the GL renderer) then just copies it. */
static void
draw_series_texture (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *l)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  guint columns = (guint) MAX (1, l->pw * scale);
  /* Lines may stand a little above the top tick or below the axis, never left or right of the plot. */
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (l->px - 4, l->py - 4, l->pw + 8, l->ph + 8);
  cairo_surface_t *surface = cairo_image_surface_create (
      CAIRO_FORMAT_ARGB32, (int) bounds.size.width * scale, (int) bounds.size.height * scale);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  cairo_t *cr;

  cairo_surface_set_device_scale (surface, scale, scale);
  cr = cairo_create (surface);
  cairo_translate (cr, -bounds.origin.x, -bounds.origin.y);
  cairo_rectangle (cr, l->px - 3, l->py - 4, l->pw + 6, l->ph + 8);
  cairo_clip (cr);
  draw_series (self, cr, l, columns);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) cairo_image_surface_get_height (surface)
                                          * cairo_image_surface_get_stride (surface),
                                      (GDestroyNotify) cairo_surface_destroy, surface);
  texture = gdk_memory_texture_new (cairo_image_surface_get_width (surface),
                                    cairo_image_surface_get_height (surface), GDK_MEMORY_DEFAULT,
                                    bytes, cairo_image_surface_get_stride (surface));
  gtk_snapshot_append_texture (snapshot, texture, &bounds);
}

void
_sl_chart_draw_plot (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *l)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA fg;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  draw_axes (self, snapshot, l, &fg);
  draw_legend (self, snapshot, l, &fg);
  if (l->has_data)
    draw_series_texture (self, snapshot, l);
  else if (self->empty_text != NULL)
    {
      GdkRGBA dim = with_alpha (&fg, 0.55f);

      draw_text (self, snapshot, self->empty_text, SL_CHART_TEXT_SMALL, l->px + l->pw / 2,
                 l->py + l->ph / 2 - text_height (self, SL_CHART_TEXT_SMALL) / 2.0, 0.5, &dim);
    }
}

/* ---- Read-out ----------------------------------------------------------------------- */

/* Whether the points of the read-out are, on average, in the upper half of the plot. */
static gboolean
hover_points_high (SlChart *self, const SlChartLayout *l, const SlChartHover *hover)
{
  double sum = 0;
  guint n = 0;

  for (guint i = 0; i < hover->n; i++)
    {
      double y;

      if (hover->index[i] < 0)
        continue;
      sl_chart_series_get_point (hover->series[i], hover->index[i], NULL, &y);
      y = clamp_y (l, _sl_chart_map_y (self, l, y));
      sum += y, n++;
    }
  return n > 0 && sum / n < l->py + l->ph / 2;
}

void
_sl_chart_draw_hover (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *l,
                      const SlChartHover *hover)
{
  g_auto (GStrv) lines = g_strsplit (sl_chart_get_hover_text (self), "\n", -1);
  GdkRGBA fg, bg, border, guide, heading;
  double gx = round (_sl_chart_map_x (l, hover->x)), row_h, box_w = 0, box_h, bx, by;
  const double pad = 8, swatch = 10;
  cairo_t *cr;

  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &fg);
  bg = is_dark (&fg) ? (GdkRGBA){ 0.16f, 0.16f, 0.17f, 0.96f } : (GdkRGBA){ 1, 1, 1, 0.96f };
  border = with_alpha (&fg, 0.18f);
  guide = with_alpha (&fg, 0.35f);
  heading = with_alpha (&fg, 0.7f);
  gtk_snapshot_append_color (snapshot, &guide, &GRAPHENE_RECT_INIT (gx, l->py, 1, l->ph));

  row_h = text_height (self, SL_CHART_TEXT_SMALL) + 2;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (PangoLayout) pl = _sl_chart_text (self, lines[i], SL_CHART_TEXT_SMALL);
      int w;

      pango_layout_get_pixel_size (pl, &w, NULL);
      box_w = MAX (box_w, w + (i > 0 ? swatch + SL_CHART_GAP : 0));
    }
  box_w += 2 * pad;
  box_h = g_strv_length (lines) * row_h + 2 * pad - 2;
  /* Beside the guide, and above or below the points it lists, whichever leaves them in view. */
  bx = gx + 12 + box_w <= l->px + l->pw ? gx + 12 : gx - 12 - box_w;
  bx = MAX (bx, l->px + 4);
  by = hover_points_high (self, l, hover) ? l->py + l->ph - box_h - 4 : l->py + 4;

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, l->width, l->height));
  /* The points the read-out lists. */
  for (guint i = 0; i < hover->n; i++)
    {
      GdkRGBA color;
      double x, y;

      if (hover->index[i] < 0)
        continue;
      sl_chart_series_get_point (hover->series[i], hover->index[i], &x, &y);
      y = _sl_chart_map_y (self, l, y);
      if (isnan (y) || y < l->py - 4 || y > l->py + l->ph + 4)
        continue;
      sl_chart_series_get_color (hover->series[i], &color);
      cairo_arc (cr, _sl_chart_map_x (l, x), y, 4, 0, 2 * G_PI);
      gdk_cairo_set_source_rgba (cr, &color);
      cairo_fill_preserve (cr);
      gdk_cairo_set_source_rgba (cr, &bg);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke (cr);
    }
  /* The box, with a swatch before each series. */
  cairo_new_sub_path (cr);
  cairo_arc (cr, bx + box_w - 6, by + 6, 6, -G_PI / 2, 0);
  cairo_arc (cr, bx + box_w - 6, by + box_h - 6, 6, 0, G_PI / 2);
  cairo_arc (cr, bx + 6, by + box_h - 6, 6, G_PI / 2, G_PI);
  cairo_arc (cr, bx + 6, by + 6, 6, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
  gdk_cairo_set_source_rgba (cr, &bg);
  cairo_fill_preserve (cr);
  gdk_cairo_set_source_rgba (cr, &border);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  for (guint i = 0; i < hover->n; i++)
    {
      GdkRGBA color;

      sl_chart_series_get_color (hover->series[i], &color);
      gdk_cairo_set_source_rgba (cr, &color);
      cairo_rectangle (cr, bx + pad, by + pad + (i + 1) * row_h + (row_h - swatch) / 2 - 1, swatch,
                       swatch);
      cairo_fill (cr);
    }
  cairo_destroy (cr);
  for (guint i = 0; lines[i] != NULL; i++)
    draw_text (self, snapshot, lines[i], SL_CHART_TEXT_SMALL,
               bx + pad + (i > 0 ? swatch + SL_CHART_GAP : 0), by + pad + i * row_h, 0,
               i > 0 ? &fg : &heading);
}
