/* sl-export-page.h: the Export page: a trained run written for the line (.slmodel, ONNX), and tried on new images. */
#pragma once

#include "sl-export.h"
#include "sl-run-chooser.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_EXPORT_PAGE (sl_export_page_get_type ())
G_DECLARE_FINAL_TYPE (SlExportPage, sl_export_page, SL, EXPORT_PAGE, GtkWidget)

/* Actions: export.run (asks before replacing files), export.choose-folder,
 * export.try (a folder of images), export.try-files (some image files),
 * export.cancel-try, export.open-folder, export.copy-path. Exporting and
 * trying run on worker threads with their own project connections. */
GtkWidget *sl_export_page_new (SlSession *session);

SlSession *sl_export_page_get_session (SlExportPage *self);
SlRunChooser *sl_export_page_get_run_chooser (SlExportPage *self);

/* The options; the folder is remembered in the project's "export-folder"
 * setting after an export, the threshold's default is its "reject-threshold". */
const char *sl_export_page_get_folder (SlExportPage *self);
void sl_export_page_set_folder (SlExportPage *self, const char *folder);
SlExportFormats sl_export_page_get_formats (SlExportPage *self);
void sl_export_page_set_formats (SlExportPage *self, SlExportFormats formats);
SlCheckpointKind sl_export_page_get_checkpoint (SlExportPage *self);
void sl_export_page_set_checkpoint (SlExportPage *self, SlCheckpointKind checkpoint);
/* 0 .. 1; 0: never reject. */
double sl_export_page_get_reject_threshold (SlExportPage *self);
void sl_export_page_set_reject_threshold (SlExportPage *self, double threshold);
/* "Add an anomaly gate" (classifier runs): the export fits one on the run's training images. */
gboolean sl_export_page_get_anomaly_gate (SlExportPage *self);
void sl_export_page_set_anomaly_gate (SlExportPage *self, gboolean gate);
const char *sl_export_page_get_file_name (SlExportPage *self);
void sl_export_page_set_file_name (SlExportPage *self, const char *name);

/* TRUE from export.run until the export succeeded, failed or was declined
 * (also while the replace question is open). */
gboolean sl_export_page_is_exporting (SlExportPage *self);
/* The replace question shown now, or NULL. */
GtkWindow *sl_export_page_get_replace_dialog (SlExportPage *self);
/* The last successful export, or NULL; a failed export leaves it (and its files) as it was. */
const SlExportResult *sl_export_page_get_result (SlExportPage *self);
/* Why the last export failed, or NULL. */
const GError *sl_export_page_get_error (SlExportPage *self);

/* Try it: predicts the images in these files and folders (recursively). */
void sl_export_page_try_files (SlExportPage *self, GFile **files, guint n_files);
gboolean sl_export_page_is_trying (SlExportPage *self);
/* The results so far (SlTryResult), in file order. */
GListModel *sl_export_page_get_try_results (SlExportPage *self);
/* "48 images: 30 Shirt, 15 T-shirt, 3 unknown" */
const char *sl_export_page_get_try_summary (SlExportPage *self);
/* Whether Try It shows each image's heatmap (the anomaly map of an anomaly run, what drove
 * the decision for a classifier) instead of the image; the toggle's label says which. */
gboolean sl_export_page_get_show_heatmap (SlExportPage *self);
void sl_export_page_set_show_heatmap (SlExportPage *self, gboolean show);
GtkCheckButton *sl_export_page_get_heatmap_toggle (SlExportPage *self);
/* The large preview below the results: the selected result (NULL: none), what it shows
 * now (the image, or its heatmap when the toggle is on), and whether it is being made. */
SlTryResult *sl_export_page_get_preview_result (SlExportPage *self);
GdkPaintable *sl_export_page_get_preview_paintable (SlExportPage *self);
gboolean sl_export_page_is_previewing (SlExportPage *self);

G_END_DECLS
