/* sl-anomaly-item.h: one image of an anomaly evaluation as the gallery lists it: its score and whether it is good or a defect. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_ANOMALY_ITEM (sl_anomaly_item_get_type ())
G_DECLARE_FINAL_TYPE (SlAnomalyItem, sl_anomaly_item, SL, ANOMALY_ITEM, GObject)

/* class_name: "good" or the defect's class. */
SlAnomalyItem *sl_anomaly_item_new (gint64 image_id, const char *original_path, const char *hash,
                                    const char *ext, const char *class_name, gboolean defect,
                                    double score);
gint64 sl_anomaly_item_get_image_id (SlAnomalyItem *self);
const char *sl_anomaly_item_get_original_path (SlAnomalyItem *self);
const char *sl_anomaly_item_get_hash (SlAnomalyItem *self);
const char *sl_anomaly_item_get_ext (SlAnomalyItem *self);
const char *sl_anomaly_item_get_class_name (SlAnomalyItem *self);
gboolean sl_anomaly_item_get_defect (SlAnomalyItem *self);
double sl_anomaly_item_get_score (SlAnomalyItem *self);
/* Flagged at a threshold: the score is above it. */
gboolean sl_anomaly_item_flagged_at (SlAnomalyItem *self, double threshold);
/* A wrong decision at a threshold: a good image flagged (false reject) or a defect passed (escape). */
gboolean sl_anomaly_item_wrong_at (SlAnomalyItem *self, double threshold);

G_END_DECLS
