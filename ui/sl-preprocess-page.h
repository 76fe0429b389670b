/* sl-preprocess-page.h: the Preprocess page: the operator chain, its live preview and the model input. */
#pragma once

#include "sl-augment-editor.h"
#include "sl-input-spec-editor.h"
#include "sl-op-catalog.h"
#include "sl-param-editor.h"
#include "sl-preview-pane.h"
#include "sl-preview-worker.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_PREPROCESS_PAGE (sl_preprocess_page_get_type ())
G_DECLARE_FINAL_TYPE (SlPreprocessPage, sl_preprocess_page, SL, PREPROCESS_PAGE, GtkWidget)

/* Actions: preprocess.add-step (s: operator id; inserted after the selected
 * step), preprocess.remove-step (Delete), preprocess.move-up (Alt+Up),
 * preprocess.move-down (Alt+Down), preprocess.toggle-step (Space on a row),
 * preprocess.new-samples. Every valid edit is stored in the project 300 ms
 * later, or at once when the page is unmapped or disposed. */
GtkWidget *sl_preprocess_page_new (SlSession *session);

SlSession *sl_preprocess_page_get_session (SlPreprocessPage *self);
/* The image whose stored copy is previewed; -1: the project's first image. */
gint64 sl_preprocess_page_get_preview_image (SlPreprocessPage *self);
void sl_preprocess_page_set_preview_image (SlPreprocessPage *self, gint64 image_id);

/* The chain being edited (owned by the page). */
const sl_pipeline *sl_preprocess_page_get_pipeline (SlPreprocessPage *self);
/* TRUE while the page chooses a first chain from the data (editing waits). */
gboolean sl_preprocess_page_is_loading (SlPreprocessPage *self);
int sl_preprocess_page_get_selected_step (SlPreprocessPage *self);
void sl_preprocess_page_select_step (SlPreprocessPage *self, int step);
/* Stores pending edits now. */
void sl_preprocess_page_flush (SlPreprocessPage *self);

/* Parts, for tests and benchmarks. */
SlParamEditor *sl_preprocess_page_get_param_editor (SlPreprocessPage *self);
SlInputSpecEditor *sl_preprocess_page_get_input_editor (SlPreprocessPage *self);
SlAugmentEditor *sl_preprocess_page_get_augment_editor (SlPreprocessPage *self);
SlPreviewPane *sl_preprocess_page_get_preview_pane (SlPreprocessPage *self);
SlPreviewWorker *sl_preprocess_page_get_worker (SlPreprocessPage *self);
GtkMenuButton *sl_preprocess_page_get_add_button (SlPreprocessPage *self);
SlOpCatalog *sl_preprocess_page_get_catalog (SlPreprocessPage *self);
GtkListBox *sl_preprocess_page_get_chain_list (SlPreprocessPage *self);
/* Augmentation samples shown at the bottom. */
guint sl_preprocess_page_get_n_samples (SlPreprocessPage *self);

G_END_DECLS
