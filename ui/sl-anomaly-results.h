/* sl-anomaly-results.h: the Evaluate page's results for an anomaly run: score histogram, ROC curve, the threshold and its rates, the images worst first with heatmaps. */
#pragma once

#include "sl-anomaly.h"
#include "sl-roc-curve.h"
#include "sl-score-histogram.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_ANOMALY_RESULTS (sl_anomaly_results_get_type ())
G_DECLARE_FINAL_TYPE (SlAnomalyResults, sl_anomaly_results, SL, ANOMALY_RESULTS, GtkWidget)

/* Signal "threshold-stored": a threshold picked here (or the reset) reached the project;
 * read the evaluation again for what it says at the new threshold.
 * Heatmaps compute with `threads` threads (0: one per core). */
GtkWidget *sl_anomaly_results_new (SlSession *session, int threads);

/* Shows an evaluation (what it needs is copied; NULL shows nothing): split_words names
 * its images ("test", "validation"). A threshold picked by hand and not stored yet is
 * stored first; the same evaluation read again only updates what it says about the
 * threshold (the gallery stays as it is). */
void sl_anomaly_results_set_evaluation (SlAnomalyResults *self, const SlAnomalyEvaluation *e,
                                        const char *split_words);

/* The threshold shown and whether it is the project's choice (not the run's). */
double sl_anomaly_results_get_threshold (SlAnomalyResults *self);
gboolean sl_anomaly_results_get_threshold_manual (SlAnomalyResults *self);
/* Chooses a threshold as a pick on the charts does, and stores it now as the shown run's
 * (sl_project_set_anomaly_threshold_for_run). */
void sl_anomaly_results_set_threshold (SlAnomalyResults *self, double threshold);
/* Back to the run's own threshold ("Reset to Automatic"), stored now. */
void sl_anomaly_results_reset_threshold (SlAnomalyResults *self);

/* What the page says, as shown: the AUROC, the false-reject and escape rates, the statement. */
const char *sl_anomaly_results_get_auroc_text (SlAnomalyResults *self);
const char *sl_anomaly_results_get_false_reject_text (SlAnomalyResults *self);
const char *sl_anomaly_results_get_escape_text (SlAnomalyResults *self);
const char *sl_anomaly_results_get_statement (SlAnomalyResults *self);

SlScoreHistogram *sl_anomaly_results_get_histogram (SlAnomalyResults *self);
/* NULL while the evaluation has no defect images or no good ones (no curve to draw). */
SlRocCurve *sl_anomaly_results_get_roc_curve (SlAnomalyResults *self);
GtkSpinButton *sl_anomaly_results_get_threshold_spin (SlAnomalyResults *self);

/* The gallery: its items as shown (SlAnomalyItem, highest score first), its grid, and
 * whether it shows heatmaps. */
GListModel *sl_anomaly_results_get_gallery_model (SlAnomalyResults *self);
GtkWidget *sl_anomaly_results_get_gallery_grid (SlAnomalyResults *self);
void sl_anomaly_results_set_show_heatmaps (SlAnomalyResults *self, gboolean show);
/* The project's classes (SlClass) the cards' menus offer to relabel an image with
 * (actions "anomaly.label-as" (xx) image and class id, "anomaly.set-ignored" (xb), through
 * the session, undoable). */
void sl_anomaly_results_set_classes (SlAnomalyResults *self, GPtrArray *classes);
/* Only images the threshold gets wrong (false rejects and missed defects). */
void sl_anomaly_results_set_only_wrong (SlAnomalyResults *self, gboolean only_wrong);

G_END_DECLS
