/* sl-chart-series.c: one named line of an SlChart: (x, y) points appended in x order, NaN y for gaps. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-chart-series.h"

#include <math.h>
#include <string.h>

struct _SlChartSeries
{
  GObject parent_instance;
  char *name;
  GdkRGBA color;
  GArray *xs; /* double, non-decreasing */
  GArray *ys; /* double, NaN for a gap */
  double y0, y1, min_positive;
  guint n_values; /* points with a value */
  gboolean dashed;
  gboolean visible;
  gboolean connect_gaps;

  /* sl_chart_series_reduce_cached: the columns of points [0, cache_next) */
  SlChartColumn *cache;
  double cache_x0, cache_x1;
  guint cache_columns, cache_next;
};

G_DEFINE_FINAL_TYPE (SlChartSeries, sl_chart_series, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  PROP_COLOR,
  PROP_DASHED,
  PROP_VISIBLE,
  PROP_CONNECT_GAPS,
  N_PROPS
};

enum
{
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
sl_chart_series_finalize (GObject *object)
{
  SlChartSeries *self = SL_CHART_SERIES (object);

  g_free (self->name);
  g_free (self->cache);
  g_array_unref (self->xs);
  g_array_unref (self->ys);
  G_OBJECT_CLASS (sl_chart_series_parent_class)->finalize (object);
}

static void
sl_chart_series_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlChartSeries *self = SL_CHART_SERIES (object);

  switch (prop_id)
    {
      case PROP_NAME: g_value_set_string (value, self->name); break;
      case PROP_COLOR: g_value_set_boxed (value, &self->color); break;
      case PROP_DASHED: g_value_set_boolean (value, self->dashed); break;
      case PROP_VISIBLE: g_value_set_boolean (value, self->visible); break;
      case PROP_CONNECT_GAPS: g_value_set_boolean (value, self->connect_gaps); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_chart_series_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  SlChartSeries *self = SL_CHART_SERIES (object);

  switch (prop_id)
    {
      case PROP_NAME: self->name = g_value_dup_string (value); break;
      case PROP_COLOR:
        if (g_value_get_boxed (value) != NULL)
          sl_chart_series_set_color (self, g_value_get_boxed (value));
        break;
      case PROP_DASHED: sl_chart_series_set_dashed (self, g_value_get_boolean (value)); break;
      case PROP_VISIBLE: sl_chart_series_set_visible (self, g_value_get_boolean (value)); break;
      case PROP_CONNECT_GAPS:
        sl_chart_series_set_connect_gaps (self, g_value_get_boolean (value));
        break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_chart_series_class_init (SlChartSeriesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sl_chart_series_finalize;
  object_class->get_property = sl_chart_series_get_property;
  object_class->set_property = sl_chart_series_set_property;
  properties[PROP_NAME]
      = g_param_spec_string ("name", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COLOR]
      = g_param_spec_boxed ("color", NULL, NULL, GDK_TYPE_RGBA,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DASHED]
      = g_param_spec_boolean ("dashed", NULL, NULL, FALSE,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_VISIBLE]
      = g_param_spec_boolean ("visible", NULL, NULL, TRUE,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONNECT_GAPS]
      = g_param_spec_boolean ("connect-gaps", NULL, NULL, FALSE,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Points were appended or cleared. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_chart_series_init (SlChartSeries *self)
{
  self->xs = g_array_new (FALSE, FALSE, sizeof (double));
  self->ys = g_array_new (FALSE, FALSE, sizeof (double));
  self->visible = TRUE;
  self->color = (GdkRGBA){ 0.21f, 0.52f, 0.89f, 1.0f }; /* GNOME blue 3 */
}

SlChartSeries *
sl_chart_series_new (const char *name, const GdkRGBA *color)
{
  return g_object_new (SL_TYPE_CHART_SERIES, "name", name, "color", color, NULL);
}

const char *
sl_chart_series_get_name (SlChartSeries *self)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), NULL);
  return self->name != NULL ? self->name : "";
}

void
sl_chart_series_get_color (SlChartSeries *self, GdkRGBA *color)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  *color = self->color;
}

void
sl_chart_series_set_color (SlChartSeries *self, const GdkRGBA *color)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  g_return_if_fail (color != NULL);
  if (gdk_rgba_equal (color, &self->color))
    return;
  self->color = *color;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLOR]);
}

gboolean
sl_chart_series_get_dashed (SlChartSeries *self)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), FALSE);
  return self->dashed;
}

void
sl_chart_series_set_dashed (SlChartSeries *self, gboolean dashed)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  if (self->dashed == !!dashed)
    return;
  self->dashed = !!dashed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DASHED]);
}

gboolean
sl_chart_series_get_visible (SlChartSeries *self)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), FALSE);
  return self->visible;
}

void
sl_chart_series_set_visible (SlChartSeries *self, gboolean visible)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  if (self->visible == !!visible)
    return;
  self->visible = !!visible;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VISIBLE]);
}

gboolean
sl_chart_series_get_connect_gaps (SlChartSeries *self)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), FALSE);
  return self->connect_gaps;
}

void
sl_chart_series_set_connect_gaps (SlChartSeries *self, gboolean connect_gaps)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  if (self->connect_gaps == !!connect_gaps)
    return;
  self->connect_gaps = !!connect_gaps;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_GAPS]);
}

static double
last_x (SlChartSeries *self)
{
  return self->xs->len > 0 ? g_array_index (self->xs, double, self->xs->len - 1) : -INFINITY;
}

/* Adds one point and keeps the bounds; FALSE (with a critical) for an x out of order. */
static gboolean
push (SlChartSeries *self, double x, double y)
{
  g_return_val_if_fail (isfinite (x), FALSE);
  g_return_val_if_fail (x >= last_x (self), FALSE);
  if (isinf (y))
    y = NAN;
  g_array_append_val (self->xs, x);
  g_array_append_val (self->ys, y);
  if (isnan (y))
    return TRUE;
  if (self->n_values++ == 0)
    self->y0 = self->y1 = y;
  self->y0 = MIN (self->y0, y);
  self->y1 = MAX (self->y1, y);
  if (y > 0 && (!(self->min_positive > 0) || y < self->min_positive))
    self->min_positive = y;
  return TRUE;
}

void
sl_chart_series_append (SlChartSeries *self, double x, double y)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  if (push (self, x, y))
    g_signal_emit (self, signals[CHANGED], 0);
}

void
sl_chart_series_append_many (SlChartSeries *self, const double *xs, const double *ys, guint n)
{
  guint added = 0;

  g_return_if_fail (SL_IS_CHART_SERIES (self));
  g_return_if_fail (n == 0 || (xs != NULL && ys != NULL));
  /* Grow once: GArray keeps its allocation when it shrinks. */
  g_array_set_size (self->xs, self->xs->len + n);
  g_array_set_size (self->xs, self->xs->len - n);
  g_array_set_size (self->ys, self->ys->len + n);
  g_array_set_size (self->ys, self->ys->len - n);
  for (guint i = 0; i < n && push (self, xs[i], ys[i]); i++)
    added++;
  if (added > 0)
    g_signal_emit (self, signals[CHANGED], 0);
}

void
sl_chart_series_clear (SlChartSeries *self)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  if (self->xs->len == 0)
    return;
  g_array_set_size (self->xs, 0);
  g_array_set_size (self->ys, 0);
  self->n_values = 0;
  self->min_positive = 0;
  self->cache_columns = 0;
  g_signal_emit (self, signals[CHANGED], 0);
}

guint
sl_chart_series_get_n_points (SlChartSeries *self)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), 0);
  return self->xs->len;
}

void
sl_chart_series_get_point (SlChartSeries *self, guint i, double *x, double *y)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  g_return_if_fail (i < self->xs->len);
  if (x != NULL)
    *x = g_array_index (self->xs, double, i);
  if (y != NULL)
    *y = g_array_index (self->ys, double, i);
}

gboolean
sl_chart_series_get_bounds (SlChartSeries *self, double *x0, double *x1, double *y0, double *y1)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), FALSE);
  if (self->n_values == 0)
    return FALSE;
  if (x0 != NULL)
    *x0 = g_array_index (self->xs, double, 0);
  if (x1 != NULL)
    *x1 = last_x (self);
  if (y0 != NULL)
    *y0 = self->y0;
  if (y1 != NULL)
    *y1 = self->y1;
  return TRUE;
}

gboolean
sl_chart_series_get_min_positive (SlChartSeries *self, double *y)
{
  g_return_val_if_fail (SL_IS_CHART_SERIES (self), FALSE);
  if (!(self->min_positive > 0))
    return FALSE;
  *y = self->min_positive;
  return TRUE;
}

/* The first index whose x is >= x (strict: > x); n when none. */
static guint
lower_bound (SlChartSeries *self, double x, gboolean strict)
{
  const double *xs = (const double *) self->xs->data;
  guint lo = 0, hi = self->xs->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (strict ? xs[mid] <= x : xs[mid] < x)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

void
sl_chart_series_get_range (SlChartSeries *self, double x0, double x1, guint *first, guint *last)
{
  g_return_if_fail (SL_IS_CHART_SERIES (self));
  *first = lower_bound (self, x0, FALSE);
  *last = MAX (*first, lower_bound (self, x1, TRUE));
}

int
sl_chart_series_find_nearest (SlChartSeries *self, double x)
{
  const double *xs, *ys;
  guint n, right;
  int left;

  g_return_val_if_fail (SL_IS_CHART_SERIES (self), -1);
  if (self->n_values == 0 || isnan (x))
    return -1;
  xs = (const double *) self->xs->data;
  ys = (const double *) self->ys->data;
  n = self->xs->len;
  right = lower_bound (self, x, FALSE);
  left = (int) right - 1;
  while (left >= 0 && isnan (ys[left]))
    left--;
  while (right < n && isnan (ys[right]))
    right++;
  /* Among equal x the first point with a value wins. */
  if (left > 0)
    {
      guint k = lower_bound (self, xs[left], FALSE);

      while (isnan (ys[k]))
        k++;
      left = (int) k;
    }
  if (right >= n)
    return left;
  if (left < 0)
    return (int) right;
  return x - xs[left] <= xs[right] - x ? left : (int) right;
}

/* Adds points [from, to) that lie in [x0, x1] to the columns. */
static void
reduce_points (SlChartSeries *self, guint from, guint to, double x0, double x1, guint columns,
               SlChartColumn *out)
{
  const double *xs = (const double *) self->xs->data;
  const double *ys = (const double *) self->ys->data;
  double scale = x1 > x0 ? columns / (x1 - x0) : 0;

  for (guint i = from; i < to; i++)
    {
      double x = xs[i], y = ys[i];
      SlChartColumn *c;

      if (isnan (y) || x < x0)
        continue;
      if (x > x1)
        break;
      c = &out[MIN ((guint) ((x - x0) * scale), columns - 1)];
      if (!c->has)
        {
          c->has = TRUE;
          c->gap = i > 0 && isnan (ys[i - 1]);
          c->min = c->max = c->first = y;
        }
      else if (y < c->min)
        c->min = y;
      else if (y > c->max)
        c->max = y;
      c->last = y;
      c->sum += y;
      c->n++;
    }
}

void
sl_chart_series_reduce (SlChartSeries *self, double x0, double x1, guint columns,
                        SlChartColumn *out)
{
  guint first, last;

  g_return_if_fail (SL_IS_CHART_SERIES (self));
  g_return_if_fail (columns == 0 || out != NULL);
  if (columns == 0)
    return;
  memset (out, 0, columns * sizeof *out);
  if (!(x1 >= x0))
    return;
  sl_chart_series_get_range (self, x0, x1, &first, &last);
  reduce_points (self, first, last, x0, x1, columns, out);
}

const SlChartColumn *
sl_chart_series_reduce_cached (SlChartSeries *self, double x0, double x1, guint columns)
{
  guint n;

  g_return_val_if_fail (SL_IS_CHART_SERIES (self), NULL);
  g_return_val_if_fail (columns > 0, NULL);
  n = self->xs->len;
  if (self->cache_columns != columns || self->cache_x0 != x0 || self->cache_x1 != x1)
    {
      self->cache = g_renew (SlChartColumn, self->cache, columns);
      sl_chart_series_reduce (self, x0, x1, columns, self->cache);
      self->cache_columns = columns;
      self->cache_x0 = x0;
      self->cache_x1 = x1;
    }
  else if (self->cache_next < n && x1 >= x0)
    reduce_points (self, MAX (self->cache_next, lower_bound (self, x0, FALSE)), n, x0, x1, columns,
                   self->cache);
  self->cache_next = n;
  return self->cache;
}
