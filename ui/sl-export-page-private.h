/* sl-export-page-private.h: the Export page's state, shared by its page, export, try-it and results files. */
#pragma once

#include "sl-classifier.h"
#include "sl-export-page.h"
#include "sl-try-result.h"

G_BEGIN_DECLS

/* What the page shows about the chosen run; read on a worker thread. */
typedef struct
{
  SlRunInfo *run;
  gboolean evaluated; /* on the test split */
  double test_accuracy;
  gint64 test_images;
  SlCheckpointKind test_checkpoint;
  GHashTable *colors; /* class name → "#rrggbb" */
  gboolean anomaly;   /* an anomaly run: a score and a decision, no classes or reject threshold */
} SlExportRunDetails;

void _sl_export_run_details_free (SlExportRunDetails *details);

typedef struct _SlTryJob SlTryJob;

struct _SlExportPage
{
  GtkWidget parent_instance;
  SlSession *session;

  /* template */
  GtkStack *stack;
  GtkScrolledWindow *options_scroller;
  GtkWidget *options_box;
  GtkWidget *run_box;
  GtkLabel *run_description;
  GtkCheckButton *slmodel_check;
  GtkCheckButton *onnx_check;
  GtkWidget *format_error;
  GtkDropDown *checkpoint_drop;
  GtkSpinButton *threshold_spin;
  GtkLabel *threshold_hint;
  GtkEntry *name_entry;
  GtkLabel *name_hint;
  GtkLabel *folder_label;
  GtkWidget *export_spinner;
  GtkLabel *export_status;
  GtkLabel *export_error;
  GtkWidget *summary_box;
  GtkLabel *summary_title;
  GtkLabel *summary_folder;
  GtkListBox *files_list;
  GtkBox *facts_box;
  GtkLabel *usage_label;
  GtkLabel *try_source;
  GtkWidget *try_spinner;
  GtkLabel *try_progress;
  GtkWidget *cancel_try_button;
  GtkLabel *try_summary;
  GtkLabel *try_note;
  GtkStack *try_stack;
  GtkColumnView *results_view;
  GtkWidget *threshold_title, *threshold_box;
  GtkWidget *checkpoint_title;
  GtkWidget *gate_title, *gate_box;
  GtkCheckButton *gate_check;
  GtkCheckButton *heatmap_check;
  GtkColumnViewColumn *prediction_column, *confidence_column;
  GtkWidget *report_box; /* holds "Report…" (sl-report-dialog.h) */
  GtkWidget *preview_box;
  GtkPicture *preview_picture;
  GtkWidget *preview_spinner;
  GtkLabel *preview_title, *preview_caption;

  SlRunChooser *run_chooser;
  GtkStringList *checkpoints;
  GtkFileChooserNative *chooser; /* the folder or file chooser shown now */

  /* the chosen run */
  gint64 run_id;
  SlExportRunDetails *details; /* NULL until read */
  GCancellable *details_cancellable;

  /* options */
  char *folder;
  char *default_name;      /* the name the page proposed: replaced when the run changes */
  char *threshold_setting; /* the "reject-threshold" setting last applied */

  /* exporting */
  gboolean exporting;
  GCancellable *export_cancellable; /* only stops the results from arriving */
  GtkWindow *replace_dialog;
  SlExportResult result;
  gboolean has_result;
  gint64 exported_run_id;
  double exported_threshold;
  GError *error;

  /* try it */
  GListStore *results;
  SlTryJob *try_job;
  GCancellable *try_cancellable;
  guint try_timer;
  char *try_summary_text;

  /* the preview of the selected result */
  GtkSingleSelection *selection;
  GCancellable *preview_cancellable; /* the preview being made, or NULL */
  gboolean preview_again;            /* the selection or toggle changed meanwhile */
  sl_classifier *preview_classifier; /* kept between previews (NULL while a worker has it) */
  char *preview_key;                 /* what preview_classifier was opened from */
  SlTryResult *preview_shown;        /* the result the preview is of */
};

/* sl-export-page.c */
void _sl_export_page_update_actions (SlExportPage *self);
/* Shows error inline and, inside a window, as a toast. */
void _sl_export_page_report (SlExportPage *self, const char *title, const GError *error);
/* "~/x" for paths in the home folder. */
char *_sl_export_page_display_path (const char *path);

/* sl-export-page-export.c: running an export, its summary, the folder chooser. */
void _sl_export_page_install_export_actions (GtkWidgetClass *widget_class);
void _sl_export_page_cancel_export (SlExportPage *self);

/* sl-export-page-try.c: "Try it" on a worker thread. */
void _sl_export_page_install_try_actions (GtkWidgetClass *widget_class);
void _sl_export_page_update_try_source (SlExportPage *self);
void _sl_export_page_cancel_try (SlExportPage *self);
/* The exported .slmodel Try It predicts with (only for the run it came from), or NULL. */
const char *_sl_export_page_exported_model (SlExportPage *self);
/* Worker thread: the exported file, or the run's weights with the page's reject threshold. */
sl_classifier *_sl_export_page_open_classifier (const char *slmodel, const char *project_path,
                                                gint64 run_id, SlCheckpointKind checkpoint,
                                                double threshold, GError **error);
/* Worker thread: map drawn over the image as the model sees it, fitted into box pixels; NULL
 * when it cannot be drawn. anomaly_map: on the threshold's scale, else Grad-CAM's 0 .. 1. */
GdkTexture *_sl_export_page_heatmap_texture (sl_classifier *classifier, const sl_image *img,
                                             const float *map, gboolean anomaly_map,
                                             float threshold, int box);

/* sl-export-page-preview.c: the selected result, large (below the list), with its heatmap when the toggle is
 * on (made on a worker for that one image). */
#define SL_EXPORT_PREVIEW_SIZE 200
void _sl_export_page_init_preview (SlExportPage *self);
void _sl_export_page_update_preview (SlExportPage *self);
void _sl_export_page_dispose_preview (SlExportPage *self);

/* sl-export-page-results.c: the list of results. Thumbnails fit this box (logical pixels). */
#define SL_EXPORT_TRY_THUMB_SIZE 56
void _sl_export_page_init_results (SlExportPage *self);
/* The columns and the heatmap toggle say what the chosen run gives: a score and a decision
 * (anomaly runs) or a class with its confidence. */
void _sl_export_page_show_result_kind (SlExportPage *self, gboolean anomaly);
/* The heatmap toggle changed: every row shows its heatmap, or its image. */
void _sl_export_page_refresh_results (SlExportPage *self);

G_END_DECLS
