/* sl-dataset-page-private.h: the Dataset page's instance, shared by its layout and its actions. */
#pragma once

#include "sl-dataset-page.h"
#include "sl-class-list.h"
#include "sl-image-details.h"
#include "sl-image-list.h"
#include "sl-run-chooser.h"
#include "sl-thumbnail-cache.h"

G_BEGIN_DECLS

struct _SlDatasetPage
{
  GtkWidget parent_instance;
  SlSession *session;
  SlImageList *images;
  GtkMultiSelection *selection;
  SlThumbnailCache *thumbs;
  SlClassList *class_list;
  SlImageDetails *details;
  gint64 selected_image;
  gint64 pending_select; /* asked for while loading */
  GtkWidget *context_menu;
  GtkFileChooserNative *chooser;
  char *chooser_class; /* the label an "Import good parts…" chooser gives, or NULL */
  gboolean anomaly;    /* the project finds anomalies: it speaks of good parts and defects */
  guint focus_idle;
  GObject *focus_target; /* the item the grid's keyboard focus should move to */

  GtkWidget *sidebar;
  GtkWidget *details_box;
  GtkSearchEntry *search_entry;
  GtkDropDown *split_dropdown;
  GtkDropDown *sort_dropdown;
  GtkLabel *status_label;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkStack *view_stack;
  GtkSpinner *loading_spinner;
  GtkWidget *grid_scroller;
  GtkGridView *grid;
  GtkWidget *import_button;
  GMenuModel *import_menu;   /* an anomaly project's Import: good parts or defect images */
  GtkWidget *import_popover; /* it, popped up from the Import button */
  GtkLabel *empty_detail;
  GtkWidget *empty_import_button;
  GtkWidget *empty_anomaly_box;

  /* labelling guided by a model (sl-dataset-page-suggest.c) */
  GtkMenuButton *suggest_button;
  SlRunChooser *suggest_runs;
  GtkRevealer *suggest_revealer;
  GtkLabel *suggest_label;
  GtkProgressBar *suggest_bar;
  struct _SuggestJob *suggest_job; /* the pass running, or NULL */
  GCancellable *suggest_cancellable;
  guint suggest_timer;
};

/* sl-dataset-page-actions.c */
void _sl_dataset_page_install_actions (GtkWidgetClass *widget_class);
void _sl_dataset_page_setup_input (SlDatasetPage *self);
void _sl_dataset_page_update_actions (SlDatasetPage *self);
/* After labelling `done` (at old_position), selects the next unlabelled image in view order. */
void _sl_dataset_page_advance_to_unlabeled (SlDatasetPage *self, SlImageObject *done,
                                            guint old_position);

/* sl-dataset-page-suggest.c */
void _sl_dataset_page_install_suggest_actions (GtkWidgetClass *widget_class);
void _sl_dataset_page_init_suggest (SlDatasetPage *self);
void _sl_dataset_page_update_suggest_actions (SlDatasetPage *self);
void _sl_dataset_page_cancel_suggest (SlDatasetPage *self);

/* sl-dataset-page.c */
void _sl_dataset_page_show_error (SlDatasetPage *self, const char *message);
/* Selects the item at a view position alone, scrolls to it and moves the
 * grid's keyboard focus there. */
void _sl_dataset_page_reveal (SlDatasetPage *self, guint position);
/* Resets scope, split filter and search so every image shows. */
void _sl_dataset_page_show_all (SlDatasetPage *self);

G_END_DECLS
