/* sl-prediction-object.h: one evaluated image as a gallery item: the stored prediction and the image's label now. */
#pragma once

#include "sl-types.h"
#include "sl-evaluation.h"

G_BEGIN_DECLS

#define SL_TYPE_PREDICTION_OBJECT (sl_prediction_object_get_type ())
G_DECLARE_FINAL_TYPE (SlPredictionObject, sl_prediction_object, SL, PREDICTION_OBJECT, GObject)

/* class_ids: the run's class ids in model order (predicted_class indexes it). */
SlPredictionObject *sl_prediction_object_new (const SlImagePrediction *prediction,
                                              const gint64 *class_ids);

gint64 sl_prediction_object_get_image_id (SlPredictionObject *self);
const char *sl_prediction_object_get_hash (SlPredictionObject *self);
const char *sl_prediction_object_get_ext (SlPredictionObject *self);
const char *sl_prediction_object_get_original_path (SlPredictionObject *self);
int sl_prediction_object_get_true_class (SlPredictionObject *self); /* model order */
int sl_prediction_object_get_predicted_class (SlPredictionObject *self);
double sl_prediction_object_get_confidence (SlPredictionObject *self);
gboolean sl_prediction_object_is_mistake (SlPredictionObject *self);
/* The class id the model predicted (-1 when the run had no such id). */
gint64 sl_prediction_object_get_predicted_class_id (SlPredictionObject *self);
/* The class id it had when evaluated. */
gint64 sl_prediction_object_get_evaluated_class_id (SlPredictionObject *self);

/* The image's label, ignore flag and whether it is still in the evaluated
 * split, now (notify::class-id, notify::ignored, notify::in-split). */
gint64 sl_prediction_object_get_class_id (SlPredictionObject *self);
gboolean sl_prediction_object_get_ignored (SlPredictionObject *self);
gboolean sl_prediction_object_get_in_split (SlPredictionObject *self);
void sl_prediction_object_set_state (SlPredictionObject *self, gint64 class_id, gboolean ignored,
                                     gboolean in_split);
/* Whether any of them changed since the evaluation. */
gboolean sl_prediction_object_get_changed (SlPredictionObject *self);

G_END_DECLS
