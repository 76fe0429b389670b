/* sl-roc-curve.h: the trade-off between rejecting good parts and catching defects (ROC curve), with AUROC; a click picks a threshold. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_ROC_CURVE (sl_roc_curve_get_type ())
G_DECLARE_FINAL_TYPE (SlRocCurve, sl_roc_curve, SL, ROC_CURVE, GtkWidget)

/* Signal "threshold-picked" (double threshold): a click chose the curve's point
 * nearest to it; the threshold lies halfway between that point's score and the next
 * higher one. */
GtkWidget *sl_roc_curve_new (void);

/* Copies the scores (non-finite ones are left out). An image is flagged when its
 * score is above the threshold; the curve has one point for each distinct score
 * (flagging what scores above it) and one where everything is flagged: from
 * (1, 1) to (0, 0). Without good or defect scores there is no curve. */
void sl_roc_curve_set_scores (SlRocCurve *self, const double *good, gsize n_good,
                              const double *defect, gsize n_defect);
/* The point marked on the curve (none for NAN or an infinite threshold). */
void sl_roc_curve_set_threshold (SlRocCurve *self, double threshold);

/* The curve: x is the share of good images flagged (false-reject rate), y the share of
 * defect images flagged (1 - escape rate); threshold is what picking the point sets
 * (-infinity for the point that flags everything). */
guint sl_roc_curve_get_n_points (SlRocCurve *self);
void sl_roc_curve_get_point (SlRocCurve *self, guint i, double *false_reject, double *detection,
                             double *threshold);
/* The area under the curve (ties count half), NAN without a curve. */
double sl_roc_curve_get_auroc (SlRocCurve *self);
/* The rates a threshold gives, as the curve computes them. */
void sl_roc_curve_rates_at (SlRocCurve *self, double threshold, double *false_reject,
                            double *detection);
/* The threshold a click at (x, y) (widget pixels) picks, once laid out; NAN when none. */
double sl_roc_curve_pick_at (SlRocCurve *self, double x, double y);
/* Where a point is drawn (widget pixels), once laid out. */
void sl_roc_curve_point_position (SlRocCurve *self, double false_reject, double detection,
                                  double *x, double *y);

G_END_DECLS
