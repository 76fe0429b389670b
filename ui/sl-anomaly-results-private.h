/* sl-anomaly-results-private.h: what the anomaly results' numbers (sl-anomaly-results.c) and gallery (-gallery.c) share. */
#pragma once

#include "sl-anomaly-card.h"
#include "sl-anomaly-item.h"
#include "sl-anomaly-results.h"
#include "sl-heatmap-cache.h"
#include "sl-thumbnail-cache.h"

G_BEGIN_DECLS

/* Gallery pictures and heatmaps fit this box: large enough to see where a defect is. */
#define PICTURE_SIZE 128

struct _SlAnomalyResults
{
  GtkWidget parent_instance;
  SlSession *session;
  int threads;
  SlThumbnailCache *thumbs;
  SlHeatmapCache *heatmaps; /* NULL while heatmaps are off */
  gboolean show_heatmaps, only_wrong;

  /* The evaluation shown. */
  gint64 evaluation_id;
  gint64 run_id;
  double eval_threshold; /* the threshold it was read with, and what it says about it */
  gboolean eval_manual;
  char *eval_statement;
  char *split_words;
  GArray *good, *defect; /* double: the scores */
  double auto_threshold; /* the run's own */
  char *auto_statement;
  double threshold;
  gboolean manual;
  guint save_timer;
  gboolean updating;

  GPtrArray *classes; /* SlClass: the project's, for relabelling; NULL: none known */
  GListStore *items;
  GtkCustomFilter *filter;
  GtkFilterListModel *filtered;

  GtkLabel *auroc_label, *auroc_detail, *counts_label;
  GtkSpinButton *spin;
  GtkLabel *mode_label;
  GtkWidget *reset_button;
  GtkLabel *false_reject_label, *escape_label, *statement_label, *auto_label;
  SlScoreHistogram *histogram;
  GtkLabel *histogram_title;
  GtkWidget *roc_box; /* hidden without a curve: the AUROC panel says why */
  GtkStack *roc_stack;
  SlRocCurve *roc;
  GtkLabel *roc_note;
  GtkLabel *gallery_subtitle;
  GtkSwitch *heatmap_switch;
  GtkDropDown *show_dropdown;
  GtkStack *gallery_stack;
  GtkGridView *grid;
  GtkLabel *gallery_empty_label;
};

/* sl-anomaly-results.c */
GtkWidget *_sl_anomaly_results_label_new (const char *text, float xalign, const char *css1,
                                          const char *css2);

/* sl-anomaly-results-gallery.c: the images, highest score first, with their verdicts and
 * heatmaps. */
GtkWidget *_sl_anomaly_results_build_gallery (SlAnomalyResults *self);
/* Tells the cards shown the threshold and the heatmaps in force. */
void _sl_anomaly_results_update_cards (SlAnomalyResults *self);
void _sl_anomaly_results_update_gallery_header (SlAnomalyResults *self);
void _sl_anomaly_results_install_gallery_actions (GtkWidgetClass *widget_class);

G_END_DECLS
