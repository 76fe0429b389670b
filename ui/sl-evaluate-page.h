/* sl-evaluate-page.h: the Evaluate page: how well a trained run does on the test images, and fixing labels on the spot. */
#pragma once

#include "sl-types.h"
#include "sl-evaluation.h"
#include "sl-session.h"
#include "sl-anomaly-results.h"

G_BEGIN_DECLS

#define SL_TYPE_EVALUATE_PAGE (sl_evaluate_page_get_type ())
G_DECLARE_FINAL_TYPE (SlEvaluatePage, sl_evaluate_page, SL, EVALUATE_PAGE, GtkWidget)

GtkWidget *sl_evaluate_page_new (SlSession *session);

/* "loading", "no-runs", "no-images", "not-evaluated", "error", "results" or
 * "anomaly-results" (an anomaly run's evaluation). */
const char *sl_evaluate_page_get_view_state (SlEvaluatePage *self);
/* Loading an evaluation or evaluating. */
gboolean sl_evaluate_page_is_busy (SlEvaluatePage *self);
gboolean sl_evaluate_page_is_evaluating (SlEvaluatePage *self);

SlRunChooser *sl_evaluate_page_get_run_chooser (SlEvaluatePage *self);
SlSplit sl_evaluate_page_get_split (SlEvaluatePage *self);
/* SL_SPLIT_TEST or SL_SPLIT_VAL. */
void sl_evaluate_page_set_split (SlEvaluatePage *self, SlSplit split);

/* The shown evaluation's id, or -1; its accuracy (NAN when none) as shown. */
gint64 sl_evaluate_page_get_evaluation_id (SlEvaluatePage *self);
double sl_evaluate_page_get_shown_accuracy (SlEvaluatePage *self);
/* Whether labels, ignore flags or splits changed since the shown evaluation. */
gboolean sl_evaluate_page_get_out_of_date (SlEvaluatePage *self);
const char *sl_evaluate_page_get_status_text (SlEvaluatePage *self);

SlConfusionMatrix *sl_evaluate_page_get_confusion_matrix (SlEvaluatePage *self);
/* The gallery's items as shown (SlPredictionObject) and its grid. */
GListModel *sl_evaluate_page_get_gallery_model (SlEvaluatePage *self);
GtkWidget *sl_evaluate_page_get_gallery_grid (SlEvaluatePage *self);

/* The results of an anomaly run's evaluation (shown in the "anomaly-results" state). */
SlAnomalyResults *sl_evaluate_page_get_anomaly_results (SlEvaluatePage *self);
/* "Show what drove the decision": Grad-CAM overlays on the mistakes' cards. */
void sl_evaluate_page_set_show_gradcam (SlEvaluatePage *self, gboolean show);

/* The threshold (0..1) and whether rejecting is on, as the controls say. */
void sl_evaluate_page_set_threshold (SlEvaluatePage *self, gboolean enabled, double threshold);
/* What the threshold does on the shown evaluation; FALSE when none is shown. */
gboolean sl_evaluate_page_get_threshold_stats (SlEvaluatePage *self, SlThresholdStats *stats);

G_END_DECLS
