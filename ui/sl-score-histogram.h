/* sl-score-histogram.h: the anomaly scores of good and defect images as a histogram, with the threshold as a line to drag. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_SCORE_HISTOGRAM (sl_score_histogram_get_type ())
G_DECLARE_FINAL_TYPE (SlScoreHistogram, sl_score_histogram, SL, SCORE_HISTOGRAM, GtkWidget)

/* Signal "threshold-picked" (double threshold): a click or drag on the plot, or the
 * arrow keys (action "histogram.nudge" (i): that many steps of a two-hundredth of the
 * range), chose a threshold (the widget shows it already). */
GtkWidget *sl_score_histogram_new (void);

/* Copies the scores (either list may be empty; non-finite scores are left out) and
 * bins them: between 6 and 40 bins of equal width over the scores' range, a little
 * wider on each side. */
void sl_score_histogram_set_scores (SlScoreHistogram *self, const double *good, gsize n_good,
                                    const double *defect, gsize n_defect);
/* The line (none for NAN or an infinite threshold); one outside the range is drawn at the
 * edge. */
void sl_score_histogram_set_threshold (SlScoreHistogram *self, double threshold);
double sl_score_histogram_get_threshold (SlScoreHistogram *self);

/* The bins as drawn: how many, the range they cover, and each one's counts. */
guint sl_score_histogram_get_n_bins (SlScoreHistogram *self);
void sl_score_histogram_get_range (SlScoreHistogram *self, double *lo, double *hi);
void sl_score_histogram_get_bin (SlScoreHistogram *self, guint bin, guint *good, guint *defect);
/* The threshold a click at x (widget pixels) picks, once laid out; NAN outside the plot. */
double sl_score_histogram_pick_at (SlScoreHistogram *self, double x);
/* Where the threshold line is drawn (widget pixels), once laid out. */
double sl_score_histogram_get_threshold_x (SlScoreHistogram *self);

G_END_DECLS
