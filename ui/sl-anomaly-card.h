/* sl-anomaly-card.h: a gallery card of an anomaly evaluation: the image or its heatmap, its score, good or defect, and what the threshold does with it. */
#pragma once

#include "sl-anomaly-item.h"
#include "sl-heatmap-cache.h"
#include "sl-thumbnail-cache.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_ANOMALY_CARD (sl_anomaly_card_get_type ())
G_DECLARE_FINAL_TYPE (SlAnomalyCard, sl_anomaly_card, SL, ANOMALY_CARD, GtkWidget)

/* The menu of an item, built when it opens (the page's: relabel, ignore). */
typedef GMenuModel *(*SlAnomalyCardMenuFunc) (SlAnomalyItem *item, gpointer data);

/* Pictures come from thumbs (fitted into its size), or from heatmaps while set. */
GtkWidget *sl_anomaly_card_new (SlThumbnailCache *thumbs, SlAnomalyCardMenuFunc menu_func,
                                gpointer data);
void sl_anomaly_card_bind (SlAnomalyCard *self, SlAnomalyItem *item);
void sl_anomaly_card_unbind (SlAnomalyCard *self);
SlAnomalyItem *sl_anomaly_card_get_item (SlAnomalyCard *self);
/* The threshold in use: the card says whether the image is flagged and whether that is right. */
void sl_anomaly_card_set_threshold (SlAnomalyCard *self, double threshold);
/* Shows the image's heatmap overlay from cache (NULL: the plain image). */
void sl_anomaly_card_set_heatmaps (SlAnomalyCard *self, SlHeatmapCache *cache);
/* What the card says: "Caught", "Missed defect", "False reject" or "Passed". */
const char *sl_anomaly_card_get_verdict (SlAnomalyCard *self);
/* Whether the picture shown is the heatmap overlay (not the plain image). */
gboolean sl_anomaly_card_get_showing_heatmap (SlAnomalyCard *self);

G_END_DECLS
