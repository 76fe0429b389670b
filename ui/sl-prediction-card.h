/* sl-prediction-card.h: a gallery card: an evaluated image, its true and predicted class, and quick fixes. */
#pragma once

#include "sl-types.h"
#include "sl-prediction-object.h"
#include "sl-heatmap-cache.h"
#include "sl-thumbnail-cache.h"

G_BEGIN_DECLS

#define SL_TYPE_PREDICTION_CARD (sl_prediction_card_get_type ())
G_DECLARE_FINAL_TYPE (SlPredictionCard, sl_prediction_card, SL, PREDICTION_CARD, GtkWidget)

/* What a card asks its page: a class's name and colour by id (name NULL when
 * unknown; FALSE when the project no longer has the class), and the menu of
 * an item (on opening it). */
typedef gboolean (*SlCardClassFunc) (gint64 class_id, const char **name, const char **color,
                                     gpointer data);
typedef GMenuModel *(*SlCardMenuFunc) (SlPredictionObject *item, gpointer data);

/* The buttons activate "evaluate.label-predicted" (x image id); the menu is the page's. */
GtkWidget *sl_prediction_card_new (SlThumbnailCache *cache, SlCardClassFunc class_func,
                                   SlCardMenuFunc menu_func, gpointer data);
/* Shows an item and follows its label and ignore flag until unbound. */
void sl_prediction_card_bind (SlPredictionCard *self, SlPredictionObject *item);
void sl_prediction_card_unbind (SlPredictionCard *self);
SlPredictionObject *sl_prediction_card_get_item (SlPredictionCard *self);
/* Marks the image as one the line would reject ("Unknown") when its
 * confidence is below threshold (0: rejecting is off). */
void sl_prediction_card_set_reject_threshold (SlPredictionCard *self, double threshold);
gboolean sl_prediction_card_get_rejected (SlPredictionCard *self);
/* The line under the classes: "", "Now labelled Shirt" or "Ignored". */
const char *sl_prediction_card_get_state_text (SlPredictionCard *self);
/* Shows the image's heatmap overlay (Grad-CAM) from heatmaps, once made (NULL: the plain
 * image), and whether it does now. */
void sl_prediction_card_set_heatmaps (SlPredictionCard *self, SlHeatmapCache *heatmaps);
gboolean sl_prediction_card_get_showing_heatmap (SlPredictionCard *self);
/* Whether the thumbnail (or its failure) is shown. */
gboolean sl_prediction_card_get_loaded (SlPredictionCard *self);

G_END_DECLS
