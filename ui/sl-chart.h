/* sl-chart.h: a line chart that draws SlChartSeries (axes, nice ticks, legend, hover read-out). */
#pragma once

#include "sl-chart-series.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_CHART (sl_chart_get_type ())
G_DECLARE_FINAL_TYPE (SlChart, sl_chart, SL, CHART, GtkWidget)

GtkWidget *sl_chart_new (void);

/* The chart keeps a reference to each series and redraws (on the next frame)
 * when one changes. Series are drawn and listed in the order added. */
void sl_chart_add_series (SlChart *self, SlChartSeries *series);
void sl_chart_remove_series (SlChart *self, SlChartSeries *series);
void sl_chart_clear_series (SlChart *self);
guint sl_chart_get_n_series (SlChart *self);

/* NULL (the default) for no title. */
void sl_chart_set_title (SlChart *self, const char *title);
void sl_chart_set_x_label (SlChart *self, const char *label);
void sl_chart_set_y_label (SlChart *self, const char *label);
/* Shown in the plot while no visible series has a value ("No data yet"). */
void sl_chart_set_empty_text (SlChart *self, const char *text);

/* A fixed y range, or (the default) one that fits the data, widened to
 * whole tick steps of 1, 2 or 5 x 10^k. */
void sl_chart_set_y_range (SlChart *self, double min, double max);
void sl_chart_set_y_auto (SlChart *self);
/* Values are fractions shown as percentages: 0.93 reads "93%". */
void sl_chart_set_y_percent (SlChart *self, gboolean percent);
/* A logarithmic y axis (ticks at powers of ten); values <= 0 are not drawn. */
void sl_chart_set_y_log (SlChart *self, gboolean log);
/* The printf format of the values in the hover read-out (NULL, the default:
 * "%.3f", or "%.3g" on a log axis; ignored for percentages). Tick labels take
 * as many decimals as their step. */
void sl_chart_set_y_format (SlChart *self, const char *format);
/* The x axis spans at least 0 .. max (e.g. the planned epochs), so it does not
 * rescale with every new point; 0 (the default) fits the data. */
void sl_chart_set_x_min_range (SlChart *self, double max);

/* Shows the read-out for the pointer at (x, y) in widget coordinates, or
 * hides it when the point is outside the plot; the motion controller calls it. */
void sl_chart_hover_at (SlChart *self, double x, double y);

/* For tests and benchmarks: what is shown now. */
/* The hover read-out, one "name: value" line per visible series after an
 * "x label value" line; NULL when hidden. */
const char *sl_chart_get_hover_text (SlChart *self);
/* The y values of the tick marks, bottom to top; returns how many (at most max). */
guint sl_chart_get_y_ticks (SlChart *self, double *ticks, guint max);
guint sl_chart_get_x_ticks (SlChart *self, double *ticks, guint max);
/* The label of y tick i ("93%", "0.25"); NULL past the last. */
char *sl_chart_get_y_tick_label (SlChart *self, guint i);
void sl_chart_get_x_range (SlChart *self, double *min, double *max);
void sl_chart_get_y_range (SlChart *self, double *min, double *max);
/* How many times the chart drew its plot (snapshots that did not reuse it). */
guint sl_chart_get_n_draws (SlChart *self);
/* The naive way, for the benchmark's peer: one polyline through every point
 * instead of reducing each series per pixel column (a min/max band under a
 * line through the column means). */
void sl_chart_set_draw_every_point (SlChart *self, gboolean every_point);

G_END_DECLS
