/* sl-score-histogram.c: the anomaly scores of good and defect images as a histogram, with the threshold as a line to drag. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-score-histogram.h"

#include <math.h>

#include "sl-plot.h"

#define MIN_BINS 6
#define MAX_BINS 40
#define PAD      8.0  /* around everything */
#define GAP      4.0  /* between a label and what it labels */
#define SWATCH   10.0 /* a legend item's square */

/* Colours that stay apart for colour-blind eyes: blue for good parts, orange for defects. */
static const GdkRGBA good_color = { 0.21f, 0.52f, 0.89f, 1.0f };
static const GdkRGBA defect_color = { 0.90f, 0.38f, 0.0f, 1.0f };

struct _SlScoreHistogram
{
  GtkWidget parent_instance;
  GArray *good, *defect; /* double */
  double threshold;      /* NAN: none */
  guint n_bins;
  double lo, hi; /* what the bins cover */
  guint *good_counts, *defect_counts;
  guint max_count;
  double px, py, pw, ph; /* the plot area at the last snapshot */
};

G_DEFINE_FINAL_TYPE (SlScoreHistogram, sl_score_histogram, GTK_TYPE_WIDGET)

enum
{
  THRESHOLD_PICKED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void layout_plot (SlScoreHistogram *self, int width, int height);

/* ---- Bins ----------------------------------------------------------------------------- */

static void
copy_scores (GArray *into, const double *scores, gsize n)
{
  g_array_set_size (into, 0);
  for (gsize i = 0; i < n; i++)
    if (isfinite (scores[i]))
      g_array_append_val (into, scores[i]);
}

static guint
bin_of (SlScoreHistogram *self, double value)
{
  double width = (self->hi - self->lo) / self->n_bins;
  double b = floor ((value - self->lo) / width);

  return (guint) CLAMP (b, 0, self->n_bins - 1);
}

/* Rice's rule (2 n^(1/3) bins) suits the tens to thousands of images a project has. */
static void
compute_bins (SlScoreHistogram *self)
{
  guint n = self->good->len + self->defect->len;
  double lo = INFINITY, hi = -INFINITY, pad;

  g_clear_pointer (&self->good_counts, g_free);
  g_clear_pointer (&self->defect_counts, g_free);
  self->max_count = 0;
  self->n_bins = 0;
  if (n == 0)
    return;
  for (guint i = 0; i < self->good->len; i++)
    lo = MIN (lo, g_array_index (self->good, double, i)),
    hi = MAX (hi, g_array_index (self->good, double, i));
  for (guint i = 0; i < self->defect->len; i++)
    lo = MIN (lo, g_array_index (self->defect, double, i)),
    hi = MAX (hi, g_array_index (self->defect, double, i));
  pad = hi > lo ? 0.04 * (hi - lo) : MAX (0.1 * fabs (lo), 0.5);
  self->lo = lo - pad;
  self->hi = hi + pad;
  self->n_bins = CLAMP ((guint) ceil (2 * cbrt ((double) n)), MIN_BINS, MAX_BINS);
  self->good_counts = g_new0 (guint, self->n_bins);
  self->defect_counts = g_new0 (guint, self->n_bins);
  for (guint i = 0; i < self->good->len; i++)
    self->good_counts[bin_of (self, g_array_index (self->good, double, i))]++;
  for (guint i = 0; i < self->defect->len; i++)
    self->defect_counts[bin_of (self, g_array_index (self->defect, double, i))]++;
  for (guint b = 0; b < self->n_bins; b++)
    self->max_count = MAX (self->max_count, MAX (self->good_counts[b], self->defect_counts[b]));
}

void
sl_score_histogram_set_scores (SlScoreHistogram *self, const double *good, gsize n_good,
                               const double *defect, gsize n_defect)
{
  g_return_if_fail (SL_IS_SCORE_HISTOGRAM (self));
  copy_scores (self->good, good, n_good);
  copy_scores (self->defect, defect, n_defect);
  compute_bins (self);
  layout_plot (self, gtk_widget_get_width (GTK_WIDGET (self)),
               gtk_widget_get_height (GTK_WIDGET (self)));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sl_score_histogram_set_threshold (SlScoreHistogram *self, double threshold)
{
  g_return_if_fail (SL_IS_SCORE_HISTOGRAM (self));
  if (self->threshold == threshold || (isnan (self->threshold) && isnan (threshold)))
    return;
  self->threshold = threshold;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
sl_score_histogram_get_threshold (SlScoreHistogram *self)
{
  g_return_val_if_fail (SL_IS_SCORE_HISTOGRAM (self), NAN);
  return self->threshold;
}

guint
sl_score_histogram_get_n_bins (SlScoreHistogram *self)
{
  g_return_val_if_fail (SL_IS_SCORE_HISTOGRAM (self), 0);
  return self->n_bins;
}

void
sl_score_histogram_get_range (SlScoreHistogram *self, double *lo, double *hi)
{
  g_return_if_fail (SL_IS_SCORE_HISTOGRAM (self));
  *lo = self->n_bins > 0 ? self->lo : NAN;
  *hi = self->n_bins > 0 ? self->hi : NAN;
}

void
sl_score_histogram_get_bin (SlScoreHistogram *self, guint bin, guint *good, guint *defect)
{
  g_return_if_fail (SL_IS_SCORE_HISTOGRAM (self));
  g_return_if_fail (bin < self->n_bins);
  *good = self->good_counts[bin];
  *defect = self->defect_counts[bin];
}

/* ---- Geometry ------------------------------------------------------------------------- */

static double
map_x (SlScoreHistogram *self, double value)
{
  return self->px + (value - self->lo) / (self->hi - self->lo) * self->pw;
}

double
sl_score_histogram_get_threshold_x (SlScoreHistogram *self)
{
  g_return_val_if_fail (SL_IS_SCORE_HISTOGRAM (self), NAN);
  /* No threshold yet (none, or +infinity without good validation images): no line. */
  if (self->n_bins == 0 || !isfinite (self->threshold) || self->pw <= 0)
    return NAN;
  return CLAMP (map_x (self, self->threshold), self->px, self->px + self->pw);
}

/* A threshold as round as the pixel it was picked at allows: a click cannot mean more. */
double
sl_score_histogram_pick_at (SlScoreHistogram *self, double x)
{
  double value, step;

  g_return_val_if_fail (SL_IS_SCORE_HISTOGRAM (self), NAN);
  if (self->n_bins == 0 || self->pw <= 0 || x < self->px - 2 || x > self->px + self->pw + 2)
    return NAN;
  value = self->lo + CLAMP ((x - self->px) / self->pw, 0, 1) * (self->hi - self->lo);
  step = pow (10, floor (log10 ((self->hi - self->lo) / self->pw)));
  return round (value / step) * step;
}

/* The plot area for a size: room for the legend above, count labels left, score labels and
 * the axis title below. */
static void
layout_plot (SlScoreHistogram *self, int width, int height)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int line_h, count_w;
  g_autofree char *widest = g_strdup_printf ("%u", MAX (self->max_count, 10u));

  sl_plot_text_size (widget, "Ag", TRUE, FALSE, NULL, &line_h);
  sl_plot_text_size (widget, widest, TRUE, FALSE, &count_w, NULL);
  self->px = PAD + count_w + GAP + 4;
  self->py = PAD + line_h + 2 * GAP;
  self->pw = MAX (1, width - self->px - PAD - 8);
  self->ph = MAX (1, height - self->py - PAD - 2 * line_h - 2 * GAP);
}

/* ---- Drawing -------------------------------------------------------------------------- */

static void
draw_legend (SlScoreHistogram *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA text = sl_plot_alpha (fg, 0.85f);
  g_autofree char *good = g_strdup_printf ("Good (%u)", self->good->len);
  g_autofree char *defect = g_strdup_printf ("Defect (%u)", self->defect->len);
  int good_w, defect_w, line_h;
  double x, y = PAD;

  sl_plot_text_size (widget, good, TRUE, FALSE, &good_w, &line_h);
  sl_plot_text_size (widget, defect, TRUE, FALSE, &defect_w, NULL);
  x = gtk_widget_get_width (widget) - PAD - SWATCH - GAP - good_w;
  if (self->defect->len > 0)
    x -= 3 * GAP + SWATCH + GAP + defect_w;
  gtk_snapshot_append_color (snapshot, &good_color,
                             &GRAPHENE_RECT_INIT (x, y + (line_h - SWATCH) / 2, SWATCH, SWATCH));
  x += SWATCH + GAP;
  x += sl_plot_draw_text (widget, snapshot, good, x, y, 0, &text, TRUE, FALSE) + 3 * GAP;
  if (self->defect->len == 0)
    return;
  gtk_snapshot_append_color (snapshot, &defect_color,
                             &GRAPHENE_RECT_INIT (x, y + (line_h - SWATCH) / 2, SWATCH, SWATCH));
  sl_plot_draw_text (widget, snapshot, defect, x + SWATCH + GAP, y, 0, &text, TRUE, FALSE);
}

static void
draw_axes (SlScoreHistogram *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA grid = sl_plot_alpha (fg, sl_plot_is_dark (fg) ? 0.10f : 0.08f);
  GdkRGBA axis = sl_plot_alpha (fg, 0.30f), dim = sl_plot_alpha (fg, 0.62f);
  double ticks[SL_PLOT_MAX_TICKS];
  int decimals, line_h, label_w;
  guint n, max_x_ticks;

  sl_plot_text_size (widget, "Ag", TRUE, FALSE, NULL, &line_h);
  /* Counts: whole numbers only. */
  n = sl_plot_nice_ticks (0, MAX (self->max_count, 1u), MAX (2, (guint) (self->ph / (line_h * 2))),
                          ticks, &decimals);
  for (guint i = 0; i < n; i++)
    {
      double y = self->py + self->ph - ticks[i] / MAX (self->max_count, 1u) * self->ph;
      g_autofree char *text = NULL;

      if (ticks[i] != floor (ticks[i]))
        continue;
      text = g_strdup_printf ("%.0f", ticks[i]);
      if (ticks[i] > 0)
        gtk_snapshot_append_color (snapshot, &grid,
                                   &GRAPHENE_RECT_INIT (self->px, floor (y), self->pw, 1));
      sl_plot_draw_text (widget, snapshot, text, self->px - GAP - 2, y - line_h / 2.0, 1, &dim,
                         TRUE, FALSE);
    }
  /* Scores. */
  sl_plot_text_size (widget, "00.000", TRUE, FALSE, &label_w, NULL);
  max_x_ticks = MAX (2, (guint) (self->pw / (label_w + 16)));
  n = sl_plot_nice_ticks (self->lo, self->hi, max_x_ticks, ticks, &decimals);
  for (guint i = 0; i < n; i++)
    {
      double x = map_x (self, ticks[i]);
      g_autofree char *text = g_strdup_printf ("%.*f", decimals, ticks[i]);

      gtk_snapshot_append_color (snapshot, &axis,
                                 &GRAPHENE_RECT_INIT (floor (x), self->py + self->ph, 1, 4));
      sl_plot_draw_text (widget, snapshot, text, x, self->py + self->ph + GAP, 0.5, &dim, TRUE,
                         FALSE);
    }
  gtk_snapshot_append_color (
      snapshot, &axis, &GRAPHENE_RECT_INIT (self->px, floor (self->py + self->ph), self->pw, 1));
  sl_plot_draw_text (widget, snapshot, "Anomaly score", self->px + self->pw / 2,
                     self->py + self->ph + GAP + line_h + GAP / 2, 0.5, &dim, TRUE, FALSE);
}

/* Good and defect bars side by side in each bin, so that neither hides the other. */
static void
draw_bars (SlScoreHistogram *self, GtkSnapshot *snapshot)
{
  double bin_w = self->pw / self->n_bins, scale = self->ph / MAX (self->max_count, 1u);
  gboolean both = self->good->len > 0 && self->defect->len > 0;
  double gap = bin_w > 8 ? 1 : 0, bar_w = both ? (bin_w - gap) / 2 : bin_w - gap;

  for (guint b = 0; b < self->n_bins; b++)
    {
      double x = self->px + b * bin_w + gap / 2;
      double good_h = self->good_counts[b] * scale, defect_h = self->defect_counts[b] * scale;

      if (self->good_counts[b] > 0)
        gtk_snapshot_append_color (
            snapshot, &good_color,
            &GRAPHENE_RECT_INIT (x, self->py + self->ph - good_h, bar_w, good_h));
      if (self->defect_counts[b] > 0)
        gtk_snapshot_append_color (snapshot, &defect_color,
                                   &GRAPHENE_RECT_INIT (x + (both ? bar_w : 0),
                                                        self->py + self->ph - defect_h, bar_w,
                                                        defect_h));
    }
}

/* The line, the flagged side tinted, and its value above the plot. */
static void
draw_threshold (SlScoreHistogram *self, GtkSnapshot *snapshot, const GdkRGBA *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  double x = sl_score_histogram_get_threshold_x (self);
  GdkRGBA tint = sl_plot_alpha (&(GdkRGBA){ 0.75f, 0.11f, 0.16f, 1 }, 0.07f);
  GdkRGBA line = sl_plot_alpha (fg, 0.9f);
  GdkRGBA background = sl_plot_is_dark (fg) ? (GdkRGBA){ 0.14f, 0.14f, 0.14f, 0.88f }
                                            : (GdkRGBA){ 1, 1, 1, 0.88f };
  g_autofree char *text = NULL;
  GskRoundedRect patch;
  int w, line_h;
  double tx;

  if (isnan (x))
    return;
  gtk_snapshot_append_color (snapshot, &tint,
                             &GRAPHENE_RECT_INIT (x, self->py, self->px + self->pw - x, self->ph));
  gtk_snapshot_append_color (
      snapshot, &line, &GRAPHENE_RECT_INIT (round (x) - 1, self->py - GAP, 2, self->ph + GAP));
  if (self->threshold < self->lo)
    text = g_strdup_printf ("← Threshold %.4g", self->threshold);
  else if (self->threshold > self->hi)
    text = g_strdup_printf ("Threshold %.4g →", self->threshold);
  else
    text = g_strdup_printf ("Threshold %.4g", self->threshold);
  sl_plot_text_size (widget, text, TRUE, TRUE, &w, &line_h);
  /* Beside the line, on whichever side has room, on a patch of the background so that the
   * bars do not hide it. */
  tx = x + GAP + w + 6 <= self->px + self->pw ? x + GAP : x - GAP - w - 6;
  gsk_rounded_rect_init_from_rect (&patch,
                                   &GRAPHENE_RECT_INIT (tx, self->py + 2, w + 6, line_h + 2), 4);
  gtk_snapshot_push_rounded_clip (snapshot, &patch);
  gtk_snapshot_append_color (snapshot, &background,
                             &GRAPHENE_RECT_INIT (tx, self->py + 2, w + 6, line_h + 2));
  gtk_snapshot_pop (snapshot);
  sl_plot_draw_text (widget, snapshot, text, tx + 3, self->py + 3, 0, &line, TRUE, TRUE);
}

static void
sl_score_histogram_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlScoreHistogram *self = SL_SCORE_HISTOGRAM (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  GdkRGBA fg;

  sl_plot_get_fg (widget, &fg);
  layout_plot (self, width, height);
  if (self->n_bins == 0)
    {
      GdkRGBA dim = sl_plot_alpha (&fg, 0.55f);
      sl_plot_draw_text (widget, snapshot, "No scores to show", width / 2.0, height / 2.0 - 8, 0.5,
                         &dim, FALSE, FALSE);
      return;
    }
  draw_axes (self, snapshot, &fg);
  draw_bars (self, snapshot);
  draw_threshold (self, snapshot, &fg);
  draw_legend (self, snapshot, &fg);
}

static void
sl_score_histogram_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  layout_plot (SL_SCORE_HISTOGRAM (widget), width, height);
}

static void
sl_score_histogram_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                            int *minimum, int *natural, int *minimum_baseline,
                            int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 220 : 140;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 420 : 220;
}

/* ---- Picking ---------------------------------------------------------------------------- */

static void
pick (SlScoreHistogram *self, double x)
{
  double value = sl_score_histogram_pick_at (self, x);

  if (isnan (value))
    return;
  sl_score_histogram_set_threshold (self, value);
  g_signal_emit (self, signals[THRESHOLD_PICKED], 0, value);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, SlScoreHistogram *self)
{
  if (self->n_bins == 0 || x < self->px - 2 || x > self->px + self->pw + 2)
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  pick (self, x);
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, SlScoreHistogram *self)
{
  double x, y;

  if (gtk_gesture_drag_get_start_point (gesture, &x, &y))
    pick (self, CLAMP (x + dx, self->px, self->px + self->pw));
}

/* Arrow keys move the threshold by a two-hundredth of the range (Shift: a twentieth), so the
 * keyboard can do what a drag does. */
static void
nudge_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlScoreHistogram *self = SL_SCORE_HISTOGRAM (widget);
  double step, from, value;

  if (self->n_bins == 0)
    return;
  step = pow (10, floor (log10 ((self->hi - self->lo) / 200)));
  from = isfinite (self->threshold) ? self->threshold : (self->lo + self->hi) / 2;
  value = round (from / step + g_variant_get_int32 (param)) * step;
  value = CLAMP (value, self->lo, self->hi);
  sl_score_histogram_set_threshold (self, value);
  g_signal_emit (self, signals[THRESHOLD_PICKED], 0, value);
}

/* ---- Object ------------------------------------------------------------------------------ */

static void
sl_score_histogram_finalize (GObject *object)
{
  SlScoreHistogram *self = SL_SCORE_HISTOGRAM (object);

  g_array_unref (self->good);
  g_array_unref (self->defect);
  g_free (self->good_counts);
  g_free (self->defect_counts);
  G_OBJECT_CLASS (sl_score_histogram_parent_class)->finalize (object);
}

static void
sl_score_histogram_class_init (SlScoreHistogramClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sl_score_histogram_finalize;
  widget_class->snapshot = sl_score_histogram_snapshot;
  widget_class->measure = sl_score_histogram_measure;
  widget_class->size_allocate = sl_score_histogram_size_allocate;
  signals[THRESHOLD_PICKED]
      = g_signal_new ("threshold-picked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  gtk_widget_class_set_css_name (widget_class, "scorehistogram");
  gtk_widget_class_install_action (widget_class, "histogram.nudge", "i", nudge_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "histogram.nudge", "i", -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "histogram.nudge", "i", 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_SHIFT_MASK,
                                       "histogram.nudge", "i", -10);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_SHIFT_MASK,
                                       "histogram.nudge", "i", 10);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sl_score_histogram_init (SlScoreHistogram *self)
{
  GtkGesture *drag = gtk_gesture_drag_new ();

  self->good = g_array_new (FALSE, FALSE, sizeof (double));
  self->defect = g_array_new (FALSE, FALSE, sizeof (double));
  self->threshold = NAN;
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "col-resize");
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_tooltip_text (
      GTK_WIDGET (self), "Click or drag (or use the arrow keys) to move the threshold: images "
                         "right of the line are flagged as anomalous");
}

GtkWidget *
sl_score_histogram_new (void)
{
  return g_object_new (SL_TYPE_SCORE_HISTOGRAM, NULL);
}
