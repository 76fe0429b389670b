/* sl-evaluate-page-private.h: the Evaluate page's instance, shared by its loading, results and gallery code. */
#pragma once

#include "sl-evaluate-page.h"
#include "sl-anomaly-results.h"
#include "sl-confusion-matrix.h"
#include "sl-heatmap-cache.h"
#include "sl-prediction-object.h"
#include "sl-run-chooser.h"
#include "sl-thumbnail-cache.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 class_id; /* -1: unlabelled */
  gboolean ignored;
  gboolean in_split;
} SlEvalImageState;

/* An evaluation as the page shows it, read on a worker thread. */
typedef struct
{
  gint64 run_id;
  SlSplit split;
  SlRunInfo *run;
  SlEvaluation
      *evaluation;      /* NULL: the run was not evaluated on the split (or is an anomaly run) */
  gboolean anomaly_run; /* an anomaly run: its evaluation is `anomaly`, not `evaluation` */
  SlAnomalyEvaluation *anomaly;   /* NULL: the anomaly run was not evaluated on the split */
  gboolean other_split_evaluated; /* an anomaly run: the other split has an evaluation */
  gboolean anomaly_changed;       /* an anomaly run: an evaluated image's label changed since */
  GPtrArray *predictions;         /* SlImagePrediction, most confident first */
  GArray *states;                 /* SlEvalImageState, one per prediction: the images now */
  GHashTable *extras;             /* image ids (gint64 *) evaluable now but not evaluated */
  GPtrArray *classes;             /* SlClass: the project's classes now */
  gint64 split_images;            /* images the run could be evaluated on now */
} SlEvalData;

struct _SlEvaluatePage
{
  GtkWidget parent_instance;
  SlSession *session;
  GSettings *settings; /* NULL without the schema */
  SlThumbnailCache *thumbs;
  SlRunChooser *run_chooser;

  SlEvalData *data; /* shown; NULL while loading or without a run */
  char *error;
  GCancellable *load_cancellable;
  guint64 load_generation;
  gboolean loading;
  GCancellable *eval_cancellable;
  gpointer job; /* the evaluation in progress, or NULL */
  guint progress_timer;
  guint status_timer;
  guint save_timer;
  gboolean out_of_date;

  GListStore *items;      /* SlPredictionObject, most confident first */
  GHashTable *item_by_id; /* image id → SlPredictionObject */
  GtkCustomFilter *filter;
  GtkFilterListModel *filtered;
  GHashTable *class_table; /* class id → SlClass (the project's, or the run's name) */
  int filter_t, filter_p;  /* the confusion cell shown; -1: every mistake */

  GtkWidget *top_bar;
  GtkWidget *run_box;
  GtkDropDown *split_dropdown;
  GtkWidget *status_icon;
  GtkLabel *status_label;
  GtkWidget *progress_box;
  GtkProgressBar *progress_bar;
  GtkButton *evaluate_button;
  GtkStack *view_stack;
  GtkSpinner *loading_spinner;
  GtkLabel *no_images_title;
  GtkLabel *no_images_body;
  GtkLabel *cta_title;
  GtkLabel *cta_body;
  GtkStack *cta_stack;
  GtkProgressBar *cta_progress_bar;
  GtkLabel *cta_progress_label;
  GtkLabel *error_body;
  GtkLabel *accuracy_label;
  GtkLabel *accuracy_detail;
  GtkLabel *f1_label;
  GtkLabel *mistakes_label;
  GtkGrid *class_grid;
  GtkSwitch *threshold_switch;
  GtkWidget *threshold_box;
  GtkAdjustment *threshold_adjustment;
  GtkLabel *threshold_value;
  GtkWidget *threshold_grid;
  GtkLabel *accepted_accuracy_label;
  GtkLabel *reject_rate_label;
  GtkLabel *mistakes_caught_label;
  GtkLabel *threshold_hint;
  GtkPaned *right_paned;
  guint divider_idle;
  SlConfusionMatrix *matrix;
  GtkLabel *gallery_title;
  GtkWidget *filter_chip;
  GtkLabel *filter_chip_label;
  GtkLabel *gallery_subtitle;
  GtkStack *gallery_stack;
  GtkGridView *grid;
  GtkImage *gallery_empty_icon;
  GtkLabel *gallery_empty_label;
  SlAnomalyResults *anomaly_results; /* the results of anomaly runs */
  GtkSwitch *gradcam_switch;
  SlHeatmapCache *gradcam; /* NULL while "Show what drove the decision" is off */
  gint64 gradcam_run;      /* the run gradcam explains */
};

/* sl-evaluate-page-data.c: any thread, with its own project connection. The
 * newest evaluation of the run on the split when evaluation_id < 0. */
SlEvalData *_sl_eval_data_load (SlProject *db, gint64 run_id, SlSplit split, gint64 evaluation_id,
                                GError **error);
void _sl_eval_data_free (SlEvalData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlEvalData, _sl_eval_data_free)

/* sl-evaluate-page.c */
void _sl_evaluate_page_update_actions (SlEvaluatePage *self);
void _sl_evaluate_page_update_status (SlEvaluatePage *self);
/* Reads the shown evaluation again (same run and split) on a worker. */
void _sl_evaluate_page_reload (SlEvaluatePage *self);

/* sl-evaluate-page-results.c: the summary, the per-class table and the threshold. */
void _sl_evaluate_page_show_results (SlEvaluatePage *self);
/* Gives the confusion matrix its room, less what one row of whole gallery cards needs. */
void _sl_evaluate_page_place_divider (SlEvaluatePage *self);
void _sl_evaluate_page_load_threshold (SlEvaluatePage *self);
void _sl_evaluate_page_update_threshold (SlEvaluatePage *self);
void _sl_evaluate_page_save_threshold_now (SlEvaluatePage *self);
/* The threshold in force: 0 when rejecting is off. */
double _sl_evaluate_page_get_reject_threshold (SlEvaluatePage *self);
/* The class name and colour to show for a run's class index. */
void _sl_evaluate_page_model_class (SlEvaluatePage *self, int index, const char **name,
                                    const char **color);
void _sl_evaluate_page_fill_class_table (SlEvaluatePage *self);
void _sl_evaluate_page_on_threshold_changed (SlEvaluatePage *self); /* template callback */

/* sl-evaluate-page-anomaly.c: anomaly runs' evaluations (worker thread) and their results. */
gboolean _sl_eval_data_load_anomaly (SlProject *db, SlEvalData *d, gint64 evaluation_id,
                                     GError **error);
void _sl_evaluate_page_setup_anomaly (SlEvaluatePage *self);
void _sl_evaluate_page_show_anomaly (SlEvaluatePage *self);
/* Whether the shown data has results (of either kind), and how many images they cover. */
gboolean _sl_eval_data_has_results (const SlEvalData *d);
gint64 _sl_eval_data_result_images (const SlEvalData *d);
const char *_sl_eval_data_created (const SlEvalData *d);

/* sl-evaluate-page-gallery.c: the gallery of images behind a cell, and fixing labels. */
void _sl_evaluate_page_setup_gallery (SlEvaluatePage *self);
void _sl_evaluate_page_fill_gallery (SlEvaluatePage *self);
void _sl_evaluate_page_update_gallery_header (SlEvaluatePage *self);
/* Tells the cards shown the threshold in force. */
void _sl_evaluate_page_update_cards (SlEvaluatePage *self);
void _sl_evaluate_page_show_cell (SlEvaluatePage *self, int true_class, int predicted_class);
void _sl_evaluate_page_on_cell_activated (SlEvaluatePage *self, int true_class,
                                          int predicted_class); /* template callback */
/* Follows label edits of the session: card states and whether the evaluation is out of date. */
void _sl_evaluate_page_follow_labels (SlEvaluatePage *self, const gint64 *ids, guint n);
void _sl_evaluate_page_install_gallery_actions (GtkWidgetClass *widget_class);
/* Shows Grad-CAM overlays on the mistakes' cards ("Show what drove the decision"), or not. */
void _sl_evaluate_page_set_gradcam (SlEvaluatePage *self, gboolean show);
void _sl_evaluate_page_on_gradcam_toggled (SlEvaluatePage *self); /* template callback */

G_END_DECLS
