/* sl-preprocess-page-private.h: the Preprocess page's state, shared by its page and chain-list files. */
#pragma once

#include "sl-preprocess-page.h"

G_BEGIN_DECLS

struct _SlPreprocessPage
{
  GtkWidget parent_instance;
  SlSession *session;
  gint64 preview_image;

  GtkWidget *root;
  GtkWidget *loading_spinner;
  GtkWidget *add_button;
  GtkWidget *chain_list;
  GtkWidget *save_error;
  GtkWidget *input_editor;
  GtkWidget *preview_pane;
  GtkWidget *aug_summary;
  GtkWidget *aug_button;
  GtkWidget *aug_editor;
  GtkWidget *aug_stack;
  GtkWidget *aug_samples;
  GtkWidget *aug_message;
  GtkWidget *param_stack;
  GtkWidget *param_editor;
  GtkWidget *catalog;

  sl_pipeline *pipeline;
  sl_pipeline *valid; /* the last valid state of pipeline: what gets stored */
  sl_augment_config augment;
  guint64 augment_seed;
  char *image_path;   /* the preview image's stored copy; NULL: none */
  gint64 shown_image; /* the image previewed (preview_image, or the first one); -1: none */
  GtkLabel *image_name;
  SlPreviewWorker *worker;
  GCancellable *loading; /* choosing a first chain from the data */
  int selected;          /* step index, -1: none */

  guint save_timeout;
  gboolean pipeline_dirty, augment_dirty;
  gboolean saving; /* our own write: ignore the session's "pipeline-changed" */
  char *saved_json;
};

/* sl-preprocess-page.c */
void _sl_preprocess_page_chain_edited (SlPreprocessPage *self);
void _sl_preprocess_page_update_roi (SlPreprocessPage *self);
void _sl_preprocess_page_request_preview (SlPreprocessPage *self);

/* sl-preprocess-page-chain.c: the step rows, their selection, and the actions. */
void _sl_preprocess_page_init_chain (SlPreprocessPage *self);
void _sl_preprocess_page_rebuild_rows (SlPreprocessPage *self, int select);
void _sl_preprocess_page_update_actions (SlPreprocessPage *self);
void _sl_preprocess_page_install_actions (GtkWidgetClass *widget_class);

G_END_DECLS
