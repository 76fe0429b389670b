/* sl-chart.c: a line chart that draws SlChartSeries: the widget, its ranges and ticks, the layout, the hover read-out. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-chart-private.h"

#include <math.h>

G_DEFINE_FINAL_TYPE (SlChart, sl_chart, GTK_TYPE_WIDGET)

/* ---- Invalidation ------------------------------------------------------------------- */

/* Data, labels, ranges or the look changed: lay out and draw again on the next frame. */
static void
sl_chart_invalidate (SlChart *self)
{
  self->layout_valid = FALSE;
  self->hover_valid = FALSE;
  g_clear_pointer (&self->plot_node, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean data_bounds (SlChart *self, double *x0, double *x1, double *y0, double *y1,
                             double *min_positive);

/* Values appended inside the axes keep the layout (ticks, labels, legend:
 * many text measurements); only the plot is drawn again. A series that
 * shrank (cleared) or left the axes is laid out anew. */
static void
on_series_changed (SlChart *self)
{
  const SlChartLayout *l = &self->layout;
  double x0, x1, y0, y1, min_positive;

  if (self->layout_valid && l->has_data && data_bounds (self, &x0, &x1, &y0, &y1, &min_positive)
      && x0 <= l->data_x0 && x1 >= l->data_x1 && y0 <= l->data_y0 && y1 >= l->data_y1 && x0 >= l->x0
      && x1 <= l->x1 && y0 >= l->y0 && y1 <= l->y1)
    {
      self->hover_valid = FALSE;
      g_clear_pointer (&self->plot_node, gsk_render_node_unref);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  sl_chart_invalidate (self);
}

static void
set_string (SlChart *self, char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  sl_chart_invalidate (self);
}

/* ---- Ranges and ticks --------------------------------------------------------------- */

/* 1, 2 or 5 x 10^k, the nearest (on a log scale) to span / target. */
static double
nice_step (double span, int target)
{
  double raw = span / MAX (target, 1);
  double mag = pow (10, floor (log10 (raw)));
  double f = raw / mag;

  return (f < G_SQRT2 ? 1 : f < 3.1623 ? 2 : f < 7.0711 ? 5 : 10) * mag;
}

static int
step_decimals (double step)
{
  return CLAMP ((int) -floor (log10 (step) + 1e-9), 0, 9);
}

static guint
linear_ticks (double lo, double hi, double step, double *ticks)
{
  double k0 = ceil (lo / step - 1e-9);
  guint n = 0;

  for (double k = k0; n < SL_CHART_MAX_TICKS && k * step <= hi + step * 1e-9; k++)
    ticks[n++] = fabs (k) < 0.5 ? 0 : k * step;
  return n;
}

/* Powers of ten (every few when there are many), with 2 and 5 between them over a short range. */
static guint
log_ticks (double alo, double ahi, int target, double *ticks)
{
  int d0 = (int) floor (alo + 1e-9), d1 = (int) ceil (ahi - 1e-9);
  int every = MAX (1, (d1 - d0 + target - 1) / MAX (target, 1));
  guint n = 0;

  for (int d = d0; d <= d1 && n < SL_CHART_MAX_TICKS; d++)
    for (int m = 1; m <= 5 && n < SL_CHART_MAX_TICKS; m += (m == 1 ? 1 : 3))
      {
        double a = d + log10 (m);

        if ((m == 1 && (d - d0) % every == 0) || (m > 1 && d1 - d0 <= 2))
          if (a >= alo - 1e-9 && a <= ahi + 1e-9)
            ticks[n++] = pow (10, a);
      }
  return n;
}

/* The bounds of the visible series and their smallest value above 0; FALSE when none has a value. */
static gboolean
data_bounds (SlChart *self, double *x0, double *x1, double *y0, double *y1, double *min_positive)
{
  gboolean any = FALSE;

  *min_positive = INFINITY;
  for (guint i = 0; i < self->series->len; i++)
    {
      SlChartSeries *s = g_ptr_array_index (self->series, i);
      double a, b, c, d, p;

      if (!sl_chart_series_get_visible (s) || !sl_chart_series_get_bounds (s, &a, &b, &c, &d))
        continue;
      if (sl_chart_series_get_min_positive (s, &p))
        *min_positive = MIN (*min_positive, p);
      *x0 = any ? MIN (*x0, a) : a;
      *x1 = any ? MAX (*x1, b) : b;
      *y0 = any ? MIN (*y0, c) : c;
      *y1 = any ? MAX (*y1, d) : d;
      any = TRUE;
    }
  return any;
}

/* The visible data, at least 0 .. x_min_range; never empty. */
static void
compute_x_range (SlChart *self, SlChartLayout *l, double x0, double x1)
{
  if (!l->has_data)
    x0 = 0, x1 = MAX (self->x_min_range, 1);
  else if (self->x_min_range > 0)
    x0 = MIN (x0, 0), x1 = MAX (x1, self->x_min_range);
  if (!(x1 > x0))
    x0 -= 0.5, x1 += 0.5;
  l->x0 = x0;
  l->x1 = x1;
}

static void
compute_y_range (SlChart *self, SlChartLayout *l, double y0, double y1, double min_positive)
{
  int target = CLAMP ((int) (l->ph / 44), 2, 8);

  if (self->y_fixed)
    y0 = self->y_min, y1 = self->y_max;
  else if (!l->has_data)
    y0 = self->y_log ? 0.1 : 0, y1 = 1;
  if (self->y_log)
    {
      double lo = self->y_fixed ? self->y_min : min_positive;

      lo = isfinite (lo) && lo > 0 ? lo : 0.1;
      y1 = y1 > lo ? y1 : lo * 10;
      l->ay0 = self->y_fixed ? log10 (lo) : floor (log10 (lo) + 1e-9);
      l->ay1 = self->y_fixed ? log10 (y1) : ceil (log10 (y1) - 1e-9);
      if (l->ay1 <= l->ay0)
        l->ay1 = l->ay0 + 1;
      l->y0 = pow (10, l->ay0);
      l->y1 = pow (10, l->ay1);
      l->n_y_ticks = log_ticks (l->ay0, l->ay1, target, l->y_ticks);
      l->y_decimals = l->n_y_ticks > 0 ? step_decimals (l->y_ticks[0]) : 0;
      return;
    }
  if (!(y1 > y0))
    {
      double pad = y0 != 0 ? fabs (y0) * 0.1 : 0.5;

      y0 -= pad, y1 += pad;
    }
  double step = nice_step (y1 - y0, target);
  if (!self->y_fixed)
    {
      /* Widen to whole steps; the step of the widened range may be larger. */
      for (int pass = 0; pass < 2; pass++)
        {
          double lo = floor (y0 / step + 1e-9) * step, hi = ceil (y1 / step - 1e-9) * step;

          y0 = lo, y1 = hi;
          step = nice_step (y1 - y0, target);
        }
      y0 = floor (y0 / step + 1e-9) * step;
      y1 = ceil (y1 / step - 1e-9) * step;
    }
  l->y0 = l->ay0 = y0;
  l->y1 = l->ay1 = y1;
  l->n_y_ticks = linear_ticks (y0, y1, step, l->y_ticks);
  l->y_decimals = step_decimals (self->y_percent ? step * 100 : step);
}

/* As many x ticks as fit with room between their labels. */
static void
compute_x_ticks (SlChart *self, SlChartLayout *l)
{
  for (int target = CLAMP ((int) (l->pw / 90), 2, 10); target >= 1; target--)
    {
      double step = nice_step (l->x1 - l->x0, target), widest = 0;

      l->n_x_ticks = linear_ticks (l->x0, l->x1, step, l->x_ticks);
      l->x_decimals = step_decimals (step);
      for (guint i = 0; i < l->n_x_ticks; i++)
        {
          g_autofree char *text = _sl_chart_format_x (self, l->x_ticks[i], l->x_decimals);
          g_autoptr (PangoLayout) pl = _sl_chart_text (self, text, SL_CHART_TEXT_TICK);
          int w;

          pango_layout_get_pixel_size (pl, &w, NULL);
          widest = MAX (widest, w);
        }
      if (l->n_x_ticks <= 1 || (l->pw / l->n_x_ticks) >= widest + 16 || target == 1)
        return;
    }
}

/* ---- Layout ------------------------------------------------------------------------- */

static int
text_height (SlChart *self, const char *text, SlChartText kind, int *width)
{
  g_autoptr (PangoLayout) pl = _sl_chart_text (self, text, kind);
  int w, h;

  pango_layout_get_pixel_size (pl, &w, &h);
  if (width != NULL)
    *width = w;
  return h;
}

/* The legend right of the title when the row has room, else in rows below it. Returns its bottom. */
static double
layout_header (SlChart *self, SlChartLayout *l)
{
  double right = l->width - SL_CHART_PAD, top = SL_CHART_PAD, row_w = 0, x, y;
  int title_w = 0, title_h = 0;

  l->title_y = top;
  if (self->title != NULL)
    title_h = text_height (self, self->title, SL_CHART_TEXT_TITLE, &title_w);
  g_array_set_size (l->legend, 0);
  l->legend_row_height = text_height (self, "Ag", SL_CHART_TEXT_SMALL, NULL);
  for (guint i = 0; i < self->series->len; i++)
    {
      SlChartSeries *s = g_ptr_array_index (self->series, i);
      SlChartLegendItem item = { s, 0, 0 };
      int w;

      if (!sl_chart_series_get_visible (s))
        continue;
      text_height (self, sl_chart_series_get_name (s), SL_CHART_TEXT_SMALL, &w);
      item.x = SL_CHART_SWATCH + SL_CHART_GAP + w; /* its width, for now */
      row_w += (l->legend->len > 0 ? 16 : 0) + item.x;
      g_array_append_val (l->legend, item);
    }
  if (l->legend->len == 0)
    return self->title != NULL ? top + title_h : top;
  /* One row, right-aligned: beside the title when it fits. */
  if (row_w <= right - SL_CHART_PAD - (self->title != NULL ? title_w + 24 : 0))
    {
      y = top + MAX (0, (title_h - l->legend_row_height) / 2);
      x = right - row_w;
      for (guint i = 0; i < l->legend->len; i++)
        {
          SlChartLegendItem *item = &g_array_index (l->legend, SlChartLegendItem, i);
          double w = item->x;

          item->x = x, item->y = y;
          x += w + 16;
        }
      return MAX (top + title_h, y + l->legend_row_height);
    }
  /* Rows below the title, left-aligned, wrapping. */
  y = top + (self->title != NULL ? title_h + 4 : 0);
  x = SL_CHART_PAD;
  for (guint i = 0; i < l->legend->len; i++)
    {
      SlChartLegendItem *item = &g_array_index (l->legend, SlChartLegendItem, i);
      double w = item->x;

      if (x > SL_CHART_PAD && x + w > right)
        x = SL_CHART_PAD, y += l->legend_row_height + 2;
      item->x = x, item->y = y;
      x += w + 16;
    }
  return y + l->legend_row_height;
}

const SlChartLayout *
_sl_chart_ensure_layout (SlChart *self)
{
  SlChartLayout *l = &self->layout;
  int width = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 240);
  int height = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 160);
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0, min_positive, header, tick_h, left, bottom, label_w = 0;

  if (self->layout_valid && l->width == width && l->height == height)
    return l;
  /* Laid out anew (new data, labels or size): the plot and the read-out follow. */
  g_clear_pointer (&self->plot_node, gsk_render_node_unref);
  self->hover_valid = FALSE;
  l->width = width;
  l->height = height;
  l->has_data = data_bounds (self, &x0, &x1, &y0, &y1, &min_positive);
  l->data_x0 = x0, l->data_x1 = x1, l->data_y0 = y0, l->data_y1 = y1;
  compute_x_range (self, l, x0, x1);

  tick_h = text_height (self, "0", SL_CHART_TEXT_TICK, NULL);
  header = layout_header (self, l);
  /* Room for half the top tick label, or the header and a gap. */
  l->py = l->legend->len > 0 || self->title != NULL ? header + 10 : header + tick_h / 2;
  bottom = SL_CHART_PAD + tick_h + 4;
  if (self->x_label != NULL)
    bottom += text_height (self, self->x_label, SL_CHART_TEXT_SMALL, NULL) + 2;
  l->py = ceil (l->py);
  l->ph = MAX (20, floor (height - l->py - bottom));
  compute_y_range (self, l, y0, y1, min_positive);

  left = SL_CHART_PAD;
  if (self->y_label != NULL)
    {
      l->y_label_x = left;
      left += text_height (self, self->y_label, SL_CHART_TEXT_SMALL, NULL) + SL_CHART_GAP;
    }
  for (guint i = 0; i < l->n_y_ticks; i++)
    {
      g_autofree char *text = _sl_chart_format_y (self, l->y_ticks[i], l->y_decimals);
      int w;

      text_height (self, text, SL_CHART_TEXT_TICK, &w);
      label_w = MAX (label_w, w);
    }
  /* Whole pixels, so grid lines and the columns of the series fall on pixels. */
  l->px = ceil (left + label_w + SL_CHART_GAP);
  /* The last x tick label is centred on the right edge: leave it half its width. */
  l->pw = MAX (20, floor (width - l->px - SL_CHART_PAD - 12));
  compute_x_ticks (self, l);
  l->x_label_y = l->py + l->ph + 4 + tick_h + 2;
  self->layout_valid = TRUE;
  return l;
}

double
_sl_chart_map_x (const SlChartLayout *l, double x)
{
  return l->px + (x - l->x0) / (l->x1 - l->x0) * l->pw;
}

double
_sl_chart_map_y (SlChart *self, const SlChartLayout *l, double y)
{
  if (self->y_log)
    y = y > 0 ? log10 (y) : NAN;
  return l->py + l->ph - (y - l->ay0) / (l->ay1 - l->ay0) * l->ph;
}

/* ---- Text --------------------------------------------------------------------------- */

PangoLayout *
_sl_chart_text (SlChart *self, const char *text, SlChartText kind)
{
  PangoLayout *pl = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoAttrList *attrs = pango_attr_list_new ();

  if (kind == SL_CHART_TEXT_TITLE)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  else
    pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  if (kind == SL_CHART_TEXT_TICK)
    pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_layout_set_attributes (pl, attrs);
  pango_attr_list_unref (attrs);
  return pl;
}

/* Tick labels: as many decimals as the step needs; "-0" never shows. */
char *
_sl_chart_format_x (SlChart *self, double x, int decimals)
{
  (void) self;
  if (fabs (x) < pow (10, -decimals) / 2)
    x = 0;
  return g_strdup_printf ("%.*f", decimals, x);
}

/* Powers of ten only (the 2 and 5 between them are unlabelled grid lines): plain numbers while
 * the axis stays within 0.0001 .. 10000, else 10⁻⁵. */
static char *
format_log_tick (SlChart *self, double y)
{
  static const char *const digits[] = { "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹" };
  const SlChartLayout *l = &self->layout;
  int k = (int) floor (log10 (y) + 1e-9);
  GString *text;
  char number[16];

  if (fabs (y / pow (10, k) - 1) > 1e-6)
    return g_strdup ("");
  if (l->ay0 >= -4 - 1e-9 && l->ay1 <= 4 + 1e-9)
    return g_strdup_printf ("%.*f", MAX (0, -k), y);
  text = g_string_new (k < 0 ? "10⁻" : "10");
  g_snprintf (number, sizeof number, "%d", abs (k));
  for (const char *c = number; *c != '\0'; c++)
    g_string_append (text, digits[*c - '0']);
  return g_string_free (text, FALSE);
}

char *
_sl_chart_format_y (SlChart *self, double y, int decimals)
{
  if (self->y_log)
    return format_log_tick (self, y);
  if (self->y_percent)
    {
      g_autofree char *number = _sl_chart_format_x (self, y * 100, decimals);

      return g_strdup_printf ("%s%%", number);
    }
  return _sl_chart_format_x (self, y, decimals);
}

char *
_sl_chart_format_value (SlChart *self, double y)
{
  if (self->y_percent)
    return g_strdup_printf ("%.1f%%", y * 100);
  if (self->y_format == NULL)
    return g_strdup_printf (self->y_log ? "%.3g" : "%.3f", y);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  return g_strdup_printf (self->y_format, y);
#pragma GCC diagnostic pop
}

/* ---- Hover -------------------------------------------------------------------------- */

static void
hover_clear (SlChartHover *hover)
{
  g_clear_pointer (&hover->series, g_free);
  g_clear_pointer (&hover->index, g_free);
  hover->n = 0;
}

static char *
format_hover_x (double x)
{
  return fabs (x - round (x)) < 1e-9 ? g_strdup_printf ("%.0f", x) : g_strdup_printf ("%.2f", x);
}

/* The guide snaps to the visible point nearest the pointer; each series shows its point nearest the
 * guide when it is within SL_CHART_HOVER_PX of it (a validation value at the end of the epoch while
 * the pointer is on a training step), with its x when that is not the guide's. */
static void
compute_hover (SlChart *self, const SlChartLayout *l)
{
  SlChartHover *h = &self->hover;
  double x = l->x0 + (self->hover_px - l->px) / l->pw * (l->x1 - l->x0), best = INFINITY;
  double slack = SL_CHART_HOVER_PX / l->pw * (l->x1 - l->x0);
  GString *text = g_string_new (NULL);
  g_autofree char *x_text = NULL;

  hover_clear (h);
  h->series = g_new0 (SlChartSeries *, self->series->len);
  h->index = g_new0 (int, self->series->len);
  h->x = x;
  for (guint i = 0; i < self->series->len; i++)
    {
      SlChartSeries *s = g_ptr_array_index (self->series, i);
      int k = sl_chart_series_find_nearest (s, x);
      double px;

      if (!sl_chart_series_get_visible (s) || k < 0)
        continue;
      sl_chart_series_get_point (s, k, &px, NULL);
      if (fabs (px - x) < best)
        best = fabs (px - x), h->x = px;
    }
  x_text = format_hover_x (h->x);
  g_string_append_printf (text, "%s %s", self->x_label != NULL ? self->x_label : "x", x_text);
  for (guint i = 0; i < self->series->len; i++)
    {
      SlChartSeries *s = g_ptr_array_index (self->series, i);
      g_autofree char *value = NULL;
      int k;
      double px = 0, py = 0;

      if (!sl_chart_series_get_visible (s))
        continue;
      k = sl_chart_series_find_nearest (s, h->x);
      if (k >= 0)
        {
          sl_chart_series_get_point (s, k, &px, &py);
          if (fabs (px - h->x) > slack)
            k = -1;
        }
      h->series[h->n] = s;
      h->index[h->n++] = k;
      value = k >= 0 ? _sl_chart_format_value (self, py) : g_strdup ("–");
      g_string_append_printf (text, "\n%s: %s", sl_chart_series_get_name (s), value);
      /* A point off the guide says where it is. */
      if (k >= 0 && fabs (px - h->x) * l->pw / (l->x1 - l->x0) >= 0.5)
        {
          g_autofree char *where = format_hover_x (px);

          g_string_append_printf (text, " (%s %s)", self->x_label != NULL ? self->x_label : "x",
                                  where);
        }
    }
  g_free (self->hover_text);
  self->hover_text = g_string_free (text, FALSE);
}

const SlChartHover *
_sl_chart_ensure_hover (SlChart *self)
{
  const SlChartLayout *l = _sl_chart_ensure_layout (self);

  if (!self->hovering || !l->has_data)
    return NULL;
  if (!self->hover_valid)
    compute_hover (self, l);
  self->hover_valid = TRUE;
  return &self->hover;
}

void
sl_chart_hover_at (SlChart *self, double x, double y)
{
  const SlChartLayout *l;
  gboolean inside;

  g_return_if_fail (SL_IS_CHART (self));
  l = _sl_chart_ensure_layout (self);
  inside = x >= l->px && x <= l->px + l->pw && y >= l->py && y <= l->py + l->ph;
  if (!inside && !self->hovering)
    return;
  self->hovering = inside;
  self->hover_px = x;
  self->hover_py = y;
  self->hover_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, SlChart *self)
{
  (void) motion;
  sl_chart_hover_at (self, x, y);
}

static void
on_leave (GtkEventControllerMotion *motion, SlChart *self)
{
  (void) motion;
  sl_chart_hover_at (self, -1, -1);
}

/* ---- GtkWidget ---------------------------------------------------------------------- */

static void
sl_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlChart *self = SL_CHART (widget);
  const SlChartLayout *l = _sl_chart_ensure_layout (self);
  const SlChartHover *hover;

  if (self->plot_node == NULL)
    {
      GtkSnapshot *plot = gtk_snapshot_new ();

      _sl_chart_draw_plot (self, plot, l);
      self->plot_node = gtk_snapshot_free_to_node (plot);
      self->n_draws++;
    }
  if (self->plot_node != NULL)
    gtk_snapshot_append_node (snapshot, self->plot_node);
  if ((hover = _sl_chart_ensure_hover (self)) != NULL)
    _sl_chart_draw_hover (self, snapshot, l, hover);
}

static void
sl_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                  int *natural, int *minimum_baseline, int *natural_baseline)
{
  (void) widget, (void) for_size, (void) minimum_baseline, (void) natural_baseline;
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 420 : 260;
}

static void
sl_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (sl_chart_parent_class)->css_changed (widget, change);
  sl_chart_invalidate (SL_CHART (widget));
}

static void
sl_chart_system_setting_changed (GtkWidget *widget, GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (sl_chart_parent_class)->system_setting_changed (widget, setting);
  sl_chart_invalidate (SL_CHART (widget));
}

static void
sl_chart_dispose (GObject *object)
{
  sl_chart_clear_series (SL_CHART (object));
  G_OBJECT_CLASS (sl_chart_parent_class)->dispose (object);
}

static void
sl_chart_finalize (GObject *object)
{
  SlChart *self = SL_CHART (object);

  g_ptr_array_unref (self->series);
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  g_free (self->empty_text);
  g_free (self->y_format);
  g_free (self->hover_text);
  hover_clear (&self->hover);
  g_array_unref (self->layout.legend);
  g_clear_pointer (&self->plot_node, gsk_render_node_unref);
  G_OBJECT_CLASS (sl_chart_parent_class)->finalize (object);
}

static void
sl_chart_class_init (SlChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_chart_dispose;
  object_class->finalize = sl_chart_finalize;
  widget_class->snapshot = sl_chart_snapshot;
  widget_class->measure = sl_chart_measure;
  widget_class->css_changed = sl_chart_css_changed;
  widget_class->system_setting_changed = sl_chart_system_setting_changed;
  gtk_widget_class_set_css_name (widget_class, "chart");
}

static void
sl_chart_init (SlChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->series = g_ptr_array_new_with_free_func (g_object_unref);
  self->layout.legend = g_array_new (FALSE, FALSE, sizeof (SlChartLegendItem));
  self->empty_text = g_strdup ("No data yet");
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}

/* ---- Public API --------------------------------------------------------------------- */

GtkWidget *
sl_chart_new (void)
{
  return g_object_new (SL_TYPE_CHART, NULL);
}

void
sl_chart_add_series (SlChart *self, SlChartSeries *series)
{
  g_return_if_fail (SL_IS_CHART (self));
  g_return_if_fail (SL_IS_CHART_SERIES (series));
  g_return_if_fail (!g_ptr_array_find (self->series, series, NULL));
  g_ptr_array_add (self->series, g_object_ref (series));
  g_signal_connect_swapped (series, "changed", G_CALLBACK (on_series_changed), self);
  g_signal_connect_swapped (series, "notify", G_CALLBACK (on_series_changed), self);
  sl_chart_invalidate (self);
}

void
sl_chart_remove_series (SlChart *self, SlChartSeries *series)
{
  guint i;

  g_return_if_fail (SL_IS_CHART (self));
  if (!g_ptr_array_find (self->series, series, &i))
    return;
  g_signal_handlers_disconnect_by_data (series, self);
  g_ptr_array_remove_index (self->series, i);
  sl_chart_invalidate (self);
}

void
sl_chart_clear_series (SlChart *self)
{
  g_return_if_fail (SL_IS_CHART (self));
  while (self->series->len > 0)
    sl_chart_remove_series (self, g_ptr_array_index (self->series, self->series->len - 1));
}

guint
sl_chart_get_n_series (SlChart *self)
{
  g_return_val_if_fail (SL_IS_CHART (self), 0);
  return self->series->len;
}

void
sl_chart_set_title (SlChart *self, const char *title)
{
  g_return_if_fail (SL_IS_CHART (self));
  set_string (self, &self->title, title);
}

void
sl_chart_set_x_label (SlChart *self, const char *label)
{
  g_return_if_fail (SL_IS_CHART (self));
  set_string (self, &self->x_label, label);
}

void
sl_chart_set_y_label (SlChart *self, const char *label)
{
  g_return_if_fail (SL_IS_CHART (self));
  set_string (self, &self->y_label, label);
}

void
sl_chart_set_empty_text (SlChart *self, const char *text)
{
  g_return_if_fail (SL_IS_CHART (self));
  set_string (self, &self->empty_text, text);
}

void
sl_chart_set_y_format (SlChart *self, const char *format)
{
  g_return_if_fail (SL_IS_CHART (self));
  set_string (self, &self->y_format, format);
}

void
sl_chart_set_y_range (SlChart *self, double min, double max)
{
  g_return_if_fail (SL_IS_CHART (self));
  g_return_if_fail (isfinite (min) && isfinite (max) && max > min);
  self->y_fixed = TRUE;
  self->y_min = min;
  self->y_max = max;
  sl_chart_invalidate (self);
}

void
sl_chart_set_y_auto (SlChart *self)
{
  g_return_if_fail (SL_IS_CHART (self));
  self->y_fixed = FALSE;
  sl_chart_invalidate (self);
}

void
sl_chart_set_y_percent (SlChart *self, gboolean percent)
{
  g_return_if_fail (SL_IS_CHART (self));
  self->y_percent = !!percent;
  sl_chart_invalidate (self);
}

void
sl_chart_set_y_log (SlChart *self, gboolean log)
{
  g_return_if_fail (SL_IS_CHART (self));
  self->y_log = !!log;
  sl_chart_invalidate (self);
}

void
sl_chart_set_x_min_range (SlChart *self, double max)
{
  g_return_if_fail (SL_IS_CHART (self));
  self->x_min_range = isfinite (max) && max > 0 ? max : 0;
  sl_chart_invalidate (self);
}

void
sl_chart_set_draw_every_point (SlChart *self, gboolean every_point)
{
  g_return_if_fail (SL_IS_CHART (self));
  self->every_point = !!every_point;
  sl_chart_invalidate (self);
}

const char *
sl_chart_get_hover_text (SlChart *self)
{
  g_return_val_if_fail (SL_IS_CHART (self), NULL);
  return _sl_chart_ensure_hover (self) != NULL ? self->hover_text : NULL;
}

guint
sl_chart_get_y_ticks (SlChart *self, double *ticks, guint max)
{
  const SlChartLayout *l;

  g_return_val_if_fail (SL_IS_CHART (self), 0);
  l = _sl_chart_ensure_layout (self);
  for (guint i = 0; i < MIN (max, l->n_y_ticks); i++)
    ticks[i] = l->y_ticks[i];
  return MIN (max, l->n_y_ticks);
}

guint
sl_chart_get_x_ticks (SlChart *self, double *ticks, guint max)
{
  const SlChartLayout *l;

  g_return_val_if_fail (SL_IS_CHART (self), 0);
  l = _sl_chart_ensure_layout (self);
  for (guint i = 0; i < MIN (max, l->n_x_ticks); i++)
    ticks[i] = l->x_ticks[i];
  return MIN (max, l->n_x_ticks);
}

char *
sl_chart_get_y_tick_label (SlChart *self, guint i)
{
  const SlChartLayout *l;

  g_return_val_if_fail (SL_IS_CHART (self), NULL);
  l = _sl_chart_ensure_layout (self);
  return i < l->n_y_ticks ? _sl_chart_format_y (self, l->y_ticks[i], l->y_decimals) : NULL;
}

void
sl_chart_get_x_range (SlChart *self, double *min, double *max)
{
  const SlChartLayout *l;

  g_return_if_fail (SL_IS_CHART (self));
  l = _sl_chart_ensure_layout (self);
  *min = l->x0;
  *max = l->x1;
}

void
sl_chart_get_y_range (SlChart *self, double *min, double *max)
{
  const SlChartLayout *l;

  g_return_if_fail (SL_IS_CHART (self));
  l = _sl_chart_ensure_layout (self);
  *min = l->y0;
  *max = l->y1;
}

guint
sl_chart_get_n_draws (SlChart *self)
{
  g_return_val_if_fail (SL_IS_CHART (self), 0);
  return self->n_draws;
}
