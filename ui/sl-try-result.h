/* sl-try-result.h: one row of the Export page's "Try it" list: an image, its prediction (anomaly score, heatmap) or why it could not be read. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_TRY_RESULT (sl_try_result_get_type ())
G_DECLARE_FINAL_TYPE (SlTryResult, sl_try_result, SL, TRY_RESULT, GObject)

/* Made on the worker thread (no widgets involved); read on the main thread. */
SlTryResult *sl_try_result_new_prediction (const char *path, GdkTexture *thumbnail,
                                           const char *label, double confidence, gboolean rejected,
                                           const char *runner_up, double runner_up_confidence);
/* An anomaly model's result: the label is the decision, "anomalous" or "good". */
SlTryResult *sl_try_result_new_anomaly (const char *path, GdkTexture *thumbnail, double score,
                                        double threshold, gboolean anomalous);
SlTryResult *sl_try_result_new_failure (const char *path, const char *reason);
/* Made by sl_try_result_new_anomaly. */
gboolean sl_try_result_is_anomaly_model (SlTryResult *self);

const char *sl_try_result_get_path (SlTryResult *self);
/* The file name, for display. */
const char *sl_try_result_get_name (SlTryResult *self);
GdkTexture *sl_try_result_get_thumbnail (SlTryResult *self);
/* The predicted class, or NULL for an image that could not be read. */
const char *sl_try_result_get_label (SlTryResult *self);
double sl_try_result_get_confidence (SlTryResult *self);
/* Below the reject threshold: the line would report "unknown". */
gboolean sl_try_result_get_rejected (SlTryResult *self);
/* The second most likely class and its probability, or NULL. */
const char *sl_try_result_get_runner_up (SlTryResult *self, double *confidence);
/* Why the image could not be read, or NULL. */
const char *sl_try_result_get_error (SlTryResult *self);

/* An anomaly model's (or a classifier's anomaly gate's) score, the threshold it was judged
 * by, and whether it is above it (set on the worker, before the result is shared). */
void sl_try_result_set_anomaly (SlTryResult *self, double score, double threshold,
                                gboolean anomalous);
/* FALSE (score and threshold NAN) when the model has no anomaly scorer. */
gboolean sl_try_result_get_anomaly (SlTryResult *self, double *score, double *threshold);
gboolean sl_try_result_get_anomalous (SlTryResult *self);
/* The heatmap over the preprocessed image (the anomaly map, or Grad-CAM of the predicted
 * class), at thumbnail size; NULL when none was made. */
void sl_try_result_set_overlay (SlTryResult *self, GdkTexture *overlay);
GdkTexture *sl_try_result_get_overlay (SlTryResult *self);

G_END_DECLS
