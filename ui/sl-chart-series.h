/* sl-chart-series.h: one named line of an SlChart: (x, y) points appended in x order, NaN y for gaps. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_CHART_SERIES (sl_chart_series_get_type ())
G_DECLARE_FINAL_TYPE (SlChartSeries, sl_chart_series, SL, CHART_SERIES, GObject)

/* What the points of one pixel column reduce to (sl_chart_series_reduce).
 * Only points with a value (y not NaN) count; has is FALSE when the column
 * holds none. first and last are the values of its first and last point in x
 * order, sum / n their mean; gap is TRUE when the point just before the
 * column's first value is NaN (the line from the previous value is broken
 * there). */
typedef struct
{
  double min, max;
  double first, last;
  double sum;
  guint n;
  gboolean has;
  gboolean gap;
} SlChartColumn;

SlChartSeries *sl_chart_series_new (const char *name, const GdkRGBA *color);

const char *sl_chart_series_get_name (SlChartSeries *self);
void sl_chart_series_get_color (SlChartSeries *self, GdkRGBA *color);
void sl_chart_series_set_color (SlChartSeries *self, const GdkRGBA *color);
gboolean sl_chart_series_get_dashed (SlChartSeries *self);
void sl_chart_series_set_dashed (SlChartSeries *self, gboolean dashed);
gboolean sl_chart_series_get_visible (SlChartSeries *self);
void sl_chart_series_set_visible (SlChartSeries *self, gboolean visible);
/* Draw straight across NaN points instead of breaking the line there (for a
 * validation series that has a value only at the end of each epoch). */
gboolean sl_chart_series_get_connect_gaps (SlChartSeries *self);
void sl_chart_series_set_connect_gaps (SlChartSeries *self, gboolean connect_gaps);

/* x must be finite and not below the last x; y may be NaN (a gap). Each call
 * emits "changed" once; append_many is the cheap way to add many points. */
void sl_chart_series_append (SlChartSeries *self, double x, double y);
void sl_chart_series_append_many (SlChartSeries *self, const double *xs, const double *ys, guint n);
void sl_chart_series_clear (SlChartSeries *self);

guint sl_chart_series_get_n_points (SlChartSeries *self);
void sl_chart_series_get_point (SlChartSeries *self, guint i, double *x, double *y);
/* x range of all points and y range of the values (NaN skipped), kept up to
 * date on append; FALSE (and nothing set) while there is no value. */
gboolean sl_chart_series_get_bounds (SlChartSeries *self, double *x0, double *x1, double *y0,
                                     double *y1);
/* The smallest value above 0 (for a logarithmic axis); FALSE when none. */
gboolean sl_chart_series_get_min_positive (SlChartSeries *self, double *y);
/* The index of the point with a value whose x is nearest to x (the earlier
 * one on a tie), or -1 when the series has no value. O(log n) plus the NaN
 * points skipped around it. */
int sl_chart_series_find_nearest (SlChartSeries *self, double x);
/* Reduces the points with x0 <= x <= x1 to `columns` equal pixel columns
 * (column i covers [x0 + i w, x0 + (i + 1) w), the last one includes x1).
 * O(points in range + columns). */
void sl_chart_series_reduce (SlChartSeries *self, double x0, double x1, guint columns,
                             SlChartColumn *out);
/* The same reduction, kept in the series between calls: while x0, x1 and
 * columns stay the same, a call adds only the points appended since the last
 * one (O(new points + columns) while training appends to a fixed x axis).
 * Owned by the series; valid until the next call, append or clear. */
const SlChartColumn *sl_chart_series_reduce_cached (SlChartSeries *self, double x0, double x1,
                                                    guint columns);
/* The indices [*first, *last) of the points with x0 <= x <= x1; O(log n). */
void sl_chart_series_get_range (SlChartSeries *self, double x0, double x1, guint *first,
                                guint *last);

G_END_DECLS
