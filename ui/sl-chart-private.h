/* sl-chart-private.h: what sl-chart.c (model, layout, hover) and sl-chart-draw.c (painting) share. */
#pragma once

#include "sl-chart.h"

G_BEGIN_DECLS

#define SL_CHART_MAX_TICKS 24
#define SL_CHART_PAD       8.0  /* around everything */
#define SL_CHART_GAP       6.0  /* between a label and what it labels */
#define SL_CHART_SWATCH    18.0 /* the line of a legend item */
#define SL_CHART_HOVER_PX  24.0 /* a series' nearest point counts in the read-out when this close */
#define SL_CHART_MARKERS   60   /* points in view below which each point gets a dot */

typedef enum
{
  SL_CHART_TEXT_TITLE, /* bold, normal size */
  SL_CHART_TEXT_SMALL, /* legend, axis labels, read-out */
  SL_CHART_TEXT_TICK,  /* small with tabular figures */
} SlChartText;

typedef struct
{
  SlChartSeries *series;
  double x, y; /* top left of the item (swatch then name) */
} SlChartLegendItem;

/* Where everything goes at one size; recomputed when data, labels or size change. */
typedef struct
{
  int width, height;
  double px, py, pw, ph; /* the plot area */
  double x0, x1;         /* the x range shown */
  double y0, y1;         /* the y range shown, in values */
  double ay0, ay1;       /* the same on the axis (log10 on a log axis) */
  double x_ticks[SL_CHART_MAX_TICKS], y_ticks[SL_CHART_MAX_TICKS];
  guint n_x_ticks, n_y_ticks;
  int x_decimals, y_decimals;
  double title_y, legend_row_height;
  GArray *legend; /* SlChartLegendItem, visible series */
  double y_label_x;
  double x_label_y;
  gboolean has_data;
  double data_x0, data_x1, data_y0, data_y1; /* the visible series' bounds when laid out */
} SlChartLayout;

/* The read-out at the pointer: the guide's x and each visible series' point. */
typedef struct
{
  double x;
  guint n;
  SlChartSeries **series;
  int *index; /* -1: no point near the guide */
} SlChartHover;

struct _SlChart
{
  GtkWidget parent_instance;
  GPtrArray *series; /* SlChartSeries */
  char *title, *x_label, *y_label, *empty_text, *y_format;
  double y_min, y_max, x_min_range;
  gboolean y_fixed, y_percent, y_log, every_point;

  SlChartLayout layout;
  gboolean layout_valid;
  GskRenderNode *plot_node; /* everything but the read-out, reused while the pointer moves */
  guint n_draws;

  gboolean hovering;
  double hover_px, hover_py;
  SlChartHover hover;
  gboolean hover_valid;
  char *hover_text;
};

PangoLayout *_sl_chart_text (SlChart *self, const char *text, SlChartText kind);
const SlChartLayout *_sl_chart_ensure_layout (SlChart *self);
/* NULL while the read-out is hidden. */
const SlChartHover *_sl_chart_ensure_hover (SlChart *self);
char *_sl_chart_format_x (SlChart *self, double x, int decimals);
char *_sl_chart_format_y (SlChart *self, double y, int decimals);
char *_sl_chart_format_value (SlChart *self, double y);
/* Data to widget coordinates; y is NaN for a value a log axis cannot show. */
double _sl_chart_map_x (const SlChartLayout *layout, double x);
double _sl_chart_map_y (SlChart *self, const SlChartLayout *layout, double y);

/* sl-chart-draw.c */
void _sl_chart_draw_plot (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *layout);
void _sl_chart_draw_hover (SlChart *self, GtkSnapshot *snapshot, const SlChartLayout *layout,
                           const SlChartHover *hover);

G_END_DECLS
