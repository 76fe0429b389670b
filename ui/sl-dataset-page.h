/* sl-dataset-page.h: the Dataset page: browse, filter, label and split the project's images. */
#pragma once

#include "sl-types.h"
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
