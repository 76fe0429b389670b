/* sl-dataset-page.h: the Dataset page: browse, filter, label and split the project's images. */
#pragma once

#include "sl-types.h"
#include "sl-image-list.h"
#include "sl-run-chooser.h"
#include "sl-session.h"

G_BEGIN_DECLS

#define SL_TYPE_DATASET_PAGE (sl_dataset_page_get_type ())
G_DECLARE_FINAL_TYPE (SlDatasetPage, sl_dataset_page, SL, DATASET_PAGE, GtkWidget)

GtkWidget *sl_dataset_page_new (SlSession *session);

/* Selects one image and scrolls to it (showing every image if the current
 * filters hide it). The "selected-image" property (gint64) is the first
 * selected image's id, -1 when none. */
void sl_dataset_page_select_image (SlDatasetPage *self, gint64 id);
gint64 sl_dataset_page_get_selected_image (SlDatasetPage *self);

/* What the Import button (after its folder chooser) and a drop do: opens the
 * import dialog for these folders or files. */
SlImportDialog *sl_dataset_page_import (SlDatasetPage *self, GFile **sources, guint n_sources);
/* The same, labelling every image class_name (NULL: as sl_dataset_page_import). */
SlImportDialog *sl_dataset_page_import_as (SlDatasetPage *self, GFile **sources, guint n_sources,
                                           const char *class_name);
/* Whether an anomaly project's Import menu (good parts or defect images) is open. */
gboolean sl_dataset_page_get_import_menu_shown (SlDatasetPage *self);
/* What the Split button does. */
SlSplitDialog *sl_dataset_page_open_split_dialog (SlDatasetPage *self);

/* Labelling guided by a model (the toolbar's Suggest Labels menu, dataset.suggest): predicts
 * the project's images with run_id on a worker (progress and Cancel below the toolbar);
 * then each unlabelled image shows its suggestion. */
void sl_dataset_page_suggest_labels (SlDatasetPage *self, gint64 run_id);
gboolean sl_dataset_page_is_suggesting (SlDatasetPage *self);
/* Labels the selected images (all shown when none is selected) whose suggestion names a class
 * and is at least min_confidence sure (<= 0: any), one undo step; returns how many. The A key
 * (dataset.accept-suggestion) does it for the selection with any confidence. */
guint sl_dataset_page_accept_selected_suggestions (SlDatasetPage *self, double min_confidence);
/* Accept Above… (dataset.accept-above): asks for the confidence. */
GtkWindow *sl_dataset_page_show_accept_above (SlDatasetPage *self);
/* The sort menu's choice (the uncertainty sorts included). */
void sl_dataset_page_set_sort (SlDatasetPage *self, SlImageSort sort);
SlRunChooser *sl_dataset_page_get_suggest_run_chooser (SlDatasetPage *self);
GtkWidget *sl_dataset_page_get_suggest_button (SlDatasetPage *self);

/* The parts, for tests and benchmarks. */
SlImageList *sl_dataset_page_get_image_list (SlDatasetPage *self);
SlThumbnailCache *sl_dataset_page_get_thumbnail_cache (SlDatasetPage *self);
GtkSelectionModel *sl_dataset_page_get_selection (SlDatasetPage *self);
GtkWidget *sl_dataset_page_get_grid (SlDatasetPage *self);
SlClassList *sl_dataset_page_get_class_list (SlDatasetPage *self);
SlImageDetails *sl_dataset_page_get_details (SlDatasetPage *self);
/* "loading", "empty", "no-matches" or "grid". */
const char *sl_dataset_page_get_view_state (SlDatasetPage *self);

G_END_DECLS
