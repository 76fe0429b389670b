/* sl-roc-curve.c: the trade-off between rejecting good parts and catching defects (ROC curve), with AUROC; a click picks a threshold. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-roc-curve.h"

#include <math.h>
#include <stdlib.h>

#include "sl-plot.h"

#define PAD     8.0
#define GAP     4.0
#define PICK_PX 40.0 /* a click this far from every point picks none */

static const GdkRGBA curve_color = { 0.90f, 0.38f, 0.0f, 1.0f }; /* the histogram's defects */

typedef struct
{
  double false_reject, detection, threshold;
} RocPoint;

struct _SlRocCurve
{
  GtkWidget parent_instance;
  GArray *good, *defect; /* double, ascending */
  GArray *points;        /* RocPoint, from (1, 1) to (0, 0) */
  double auroc;
  double threshold;    /* NAN: no mark */
  double px, py, side; /* the square plot at the last layout */
};

G_DEFINE_FINAL_TYPE (SlRocCurve, sl_roc_curve, GTK_TYPE_WIDGET)

enum
{
  THRESHOLD_PICKED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- The curve ------------------------------------------------------------------------- */

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
copy_sorted (GArray *into, const double *scores, gsize n)
{
  g_array_set_size (into, 0);
  for (gsize i = 0; i < n; i++)
    if (isfinite (scores[i]))
      g_array_append_val (into, scores[i]);
  qsort (into->data, into->len, sizeof (double), compare_doubles);
}

/* How many of the sorted values lie above t. */
static guint
count_above (GArray *sorted, double t)
{
  guint lo = 0, hi = sorted->len;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (sorted, double, mid) > t)
        hi = mid;
      else
        lo = mid + 1;
    }
  return sorted->len - lo;
}

void
sl_roc_curve_rates_at (SlRocCurve *self, double threshold, double *false_reject, double *detection)
{
  g_return_if_fail (SL_IS_ROC_CURVE (self));
  *false_reject
      = self->good->len > 0 ? (double) count_above (self->good, threshold) / self->good->len : NAN;
  *detection = self->defect->len > 0
                   ? (double) count_above (self->defect, threshold) / self->defect->len
                   : NAN;
}

static void
compute_curve (SlRocCurve *self)
{
  g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  RocPoint first = { 1, 1, -INFINITY };

  g_array_set_size (self->points, 0);
  self->auroc = NAN;
  if (self->good->len == 0 || self->defect->len == 0)
    return;
  g_array_append_vals (all, self->good->data, self->good->len);
  g_array_append_vals (all, self->defect->data, self->defect->len);
  qsort (all->data, all->len, sizeof (double), compare_doubles);
  g_array_append_val (self->points, first);
  for (guint i = 0; i < all->len; i++)
    {
      double s = g_array_index (all, double, i);
      RocPoint p;

      if (i + 1 < all->len && g_array_index (all, double, i + 1) == s)
        continue; /* the last of equal scores */
      p.threshold = i + 1 < all->len ? s + (g_array_index (all, double, i + 1) - s) / 2 : s;
      sl_roc_curve_rates_at (self, s, &p.false_reject, &p.detection);
      g_array_append_val (self->points, p);
    }
  /* Trapezoids: a tie of good and defect scores is a diagonal step, counting half. */
  self->auroc = 0;
  for (guint i = 1; i < self->points->len; i++)
    {
      const RocPoint *a = &g_array_index (self->points, RocPoint, i - 1);
      const RocPoint *b = &g_array_index (self->points, RocPoint, i);

      self->auroc += (a->false_reject - b->false_reject) * (a->detection + b->detection) / 2;
    }
}

void
sl_roc_curve_set_scores (SlRocCurve *self, const double *good, gsize n_good, const double *defect,
                         gsize n_defect)
{
  g_return_if_fail (SL_IS_ROC_CURVE (self));
  copy_sorted (self->good, good, n_good);
  copy_sorted (self->defect, defect, n_defect);
  compute_curve (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sl_roc_curve_set_threshold (SlRocCurve *self, double threshold)
{
  g_return_if_fail (SL_IS_ROC_CURVE (self));
  self->threshold = threshold;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
sl_roc_curve_get_n_points (SlRocCurve *self)
{
  g_return_val_if_fail (SL_IS_ROC_CURVE (self), 0);
  return self->points->len;
}

void
sl_roc_curve_get_point (SlRocCurve *self, guint i, double *false_reject, double *detection,
                        double *threshold)
{
  const RocPoint *p;

  g_return_if_fail (SL_IS_ROC_CURVE (self));
  g_return_if_fail (i < self->points->len);
  p = &g_array_index (self->points, RocPoint, i);
  *false_reject = p->false_reject;
  *detection = p->detection;
  if (threshold != NULL)
    *threshold = p->threshold;
}

double
sl_roc_curve_get_auroc (SlRocCurve *self)
{
  g_return_val_if_fail (SL_IS_ROC_CURVE (self), NAN);
  return self->auroc;
}

/* ---- Geometry ---------------------------------------------------------------------------- */

/* A square plot, centred, with tick labels left and below and the axis titles beyond them. */
static void
layout_plot (SlRocCurve *self, int width, int height)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int line_h, tick_w;
  double left, bottom;

  sl_plot_text_size (widget, "Ag", TRUE, FALSE, NULL, &line_h);
  sl_plot_text_size (widget, "100 %", TRUE, FALSE, &tick_w, NULL);
  left = PAD + line_h + GAP + tick_w + GAP;
  bottom = PAD + line_h + GAP + line_h + GAP;
  self->side = MAX (1, MIN (width - left - PAD - 4, height - PAD - 4 - bottom));
  self->px = left + MAX (0, (width - left - PAD - self->side) / 2);
  self->py = PAD + 4;
}

void
sl_roc_curve_point_position (SlRocCurve *self, double false_reject, double detection, double *x,
                             double *y)
{
  g_return_if_fail (SL_IS_ROC_CURVE (self));
  *x = self->px + false_reject * self->side;
  *y = self->py + (1 - detection) * self->side;
}

double
sl_roc_curve_pick_at (SlRocCurve *self, double x, double y)
{
  double best = PICK_PX * PICK_PX, threshold = NAN;

  g_return_val_if_fail (SL_IS_ROC_CURVE (self), NAN);
  /* The first point flags everything: no threshold a line would use. */
  for (guint i = 1; i < self->points->len; i++)
    {
      const RocPoint *p = &g_array_index (self->points, RocPoint, i);
      double px = 0, py = 0, d;

      sl_roc_curve_point_position (self, p->false_reject, p->detection, &px, &py);
      d = (px - x) * (px - x) + (py - y) * (py - y);
      if (d < best)
        best = d, threshold = p->threshold;
    }
  return threshold;
}

/* ---- Drawing ------------------------------------------------------------------------------- */

static void
draw_axes (SlRocCurve *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA grid = sl_plot_alpha (fg, sl_plot_is_dark (fg) ? 0.10f : 0.08f);
  GdkRGBA axis = sl_plot_alpha (fg, 0.30f), dim = sl_plot_alpha (fg, 0.62f);
  int line_h;
  guint steps = self->side >= 160 ? 4 : 2;

  sl_plot_text_size (widget, "Ag", TRUE, FALSE, NULL, &line_h);
  for (guint i = 0; i <= steps; i++)
    {
      double f = (double) i / steps, x, y;
      g_autofree char *text = g_strdup_printf ("%.0f %%", 100 * f);

      sl_roc_curve_point_position (self, f, f, &x, &y);
      gtk_snapshot_append_color (snapshot, &grid,
                                 &GRAPHENE_RECT_INIT (floor (x), self->py, 1, self->side));
      gtk_snapshot_append_color (snapshot, &grid,
                                 &GRAPHENE_RECT_INIT (self->px, floor (y), self->side, 1));
      sl_plot_draw_text (widget, snapshot, text, x, self->py + self->side + GAP, 0.5, &dim, TRUE,
                         FALSE);
      sl_plot_draw_text (widget, snapshot, text, self->px - GAP, y - line_h / 2.0, 1, &dim, TRUE,
                         FALSE);
    }
  gtk_snapshot_append_color (
      snapshot, &axis,
      &GRAPHENE_RECT_INIT (self->px, floor (self->py + self->side), self->side, 1));
  gtk_snapshot_append_color (snapshot, &axis,
                             &GRAPHENE_RECT_INIT (floor (self->px), self->py, 1, self->side));
  sl_plot_draw_text (widget, snapshot, "Good parts rejected", self->px + self->side / 2,
                     self->py + self->side + GAP + line_h + GAP / 2, 0.5, &dim, TRUE, FALSE);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (PAD, self->py + self->side / 2));
  gtk_snapshot_rotate (snapshot, -90);
  sl_plot_draw_text (widget, snapshot, "Defects caught", 0, 0, 0.5, &dim, TRUE, FALSE);
  gtk_snapshot_restore (snapshot);
}

static void
draw_curve (SlRocCurve *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  static const double dash[] = { 4.0, 4.0 };
  cairo_t *cr = gtk_snapshot_append_cairo (
      snapshot, &GRAPHENE_RECT_INIT (self->px - 6, self->py - 6, self->side + 12, self->side + 12));
  GdkRGBA chance = sl_plot_alpha (fg, 0.30f), fill = sl_plot_alpha (&curve_color, 0.12f);
  double x, y;

  /* Chance: a scorer no better than a coin. */
  gdk_cairo_set_source_rgba (cr, &chance);
  cairo_set_line_width (cr, 1);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, self->px, self->py + self->side);
  cairo_line_to (cr, self->px + self->side, self->py);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  for (guint i = 0; i < self->points->len; i++)
    {
      const RocPoint *p = &g_array_index (self->points, RocPoint, i);

      sl_roc_curve_point_position (self, p->false_reject, p->detection, &x, &y);
      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_line_to (cr, self->px + self->side, self->py + self->side);
  cairo_close_path (cr);
  gdk_cairo_set_source_rgba (cr, &fill);
  cairo_fill (cr);
  for (guint i = 0; i < self->points->len; i++)
    {
      const RocPoint *p = &g_array_index (self->points, RocPoint, i);

      sl_roc_curve_point_position (self, p->false_reject, p->detection, &x, &y);
      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  gdk_cairo_set_source_rgba (cr, &curve_color);
  cairo_set_line_width (cr, 2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  cairo_destroy (cr);
}

static void
draw_marker (SlRocCurve *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  double fr, det, x, y;
  cairo_t *cr;

  if (!isfinite (self->threshold))
    return;
  sl_roc_curve_rates_at (self, self->threshold, &fr, &det);
  sl_roc_curve_point_position (self, fr, det, &x, &y);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (x - 8, y - 8, 16, 16));
  cairo_arc (cr, x, y, 5.5, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba (cr, fg);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
  cairo_destroy (cr);
}

static void
sl_roc_curve_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlRocCurve *self = SL_ROC_CURVE (widget);
  g_autofree char *auroc = NULL;
  GdkRGBA fg;
  int w, h;

  sl_plot_get_fg (widget, &fg);
  layout_plot (self, gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  draw_axes (self, snapshot, &fg);
  if (self->points->len == 0)
    return;
  draw_curve (self, snapshot, &fg);
  draw_marker (self, snapshot, &fg);
  auroc = g_strdup_printf ("AUROC %.3f", self->auroc);
  sl_plot_text_size (widget, auroc, FALSE, TRUE, &w, &h);
  sl_plot_draw_text (widget, snapshot, auroc, self->px + self->side - GAP - 2,
                     self->py + self->side - h - GAP - 2, 1, &fg, FALSE, TRUE);
}

static void
sl_roc_curve_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  layout_plot (SL_ROC_CURVE (widget), width, height);
}

static void
sl_roc_curve_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                      int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 180 : 140;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 260 : 220;
}

/* ---- Picking ----------------------------------------------------------------------------- */

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, SlRocCurve *self)
{
  double threshold = sl_roc_curve_pick_at (self, x, y);

  if (isnan (threshold))
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  sl_roc_curve_set_threshold (self, threshold);
  g_signal_emit (self, signals[THRESHOLD_PICKED], 0, threshold);
}

/* ---- Object ------------------------------------------------------------------------------- */

static void
sl_roc_curve_finalize (GObject *object)
{
  SlRocCurve *self = SL_ROC_CURVE (object);

  g_array_unref (self->good);
  g_array_unref (self->defect);
  g_array_unref (self->points);
  G_OBJECT_CLASS (sl_roc_curve_parent_class)->finalize (object);
}

static void
sl_roc_curve_class_init (SlRocCurveClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sl_roc_curve_finalize;
  widget_class->snapshot = sl_roc_curve_snapshot;
  widget_class->measure = sl_roc_curve_measure;
  widget_class->size_allocate = sl_roc_curve_size_allocate;
  signals[THRESHOLD_PICKED]
      = g_signal_new ("threshold-picked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  gtk_widget_class_set_css_name (widget_class, "roccurve");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sl_roc_curve_init (SlRocCurve *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->good = g_array_new (FALSE, FALSE, sizeof (double));
  self->defect = g_array_new (FALSE, FALSE, sizeof (double));
  self->points = g_array_new (FALSE, FALSE, sizeof (RocPoint));
  self->auroc = NAN;
  self->threshold = NAN;
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self),
                               "Each point is a threshold: further right rejects more good parts, "
                               "higher catches more defects. Click a point to use its threshold.");
}

GtkWidget *
sl_roc_curve_new (void)
{
  return g_object_new (SL_TYPE_ROC_CURVE, NULL);
}
