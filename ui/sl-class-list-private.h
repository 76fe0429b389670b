/* sl-class-list-private.h: the class sidebar's instance, shared by its layout and its editing actions. */
#pragma once

#include "sl-class-list.h"

G_BEGIN_DECLS

struct _SlClassList
{
  GtkWidget parent_instance;
  SlImageList *images;
  gint64 scope;
  gboolean syncing; /* selecting rows from code */

  GtkListBox *scope_list;
  GtkListBoxRow *all_row;
  GtkListBoxRow *unlabeled_row;
  GtkListBoxRow *ignored_row;
  GtkLabel *all_count;
  GtkLabel *unlabeled_count;
  GtkLabel *ignored_count;
  GtkListBox *class_listbox;
  GtkWidget *no_classes_label;
  GtkLabel *classes_heading;
  GtkWidget *add_class_button;
  gboolean anomaly; /* the project finds anomalies: "good" and kinds of defect */
  GtkPopover *add_popover;
  GtkEditable *add_entry;
  GtkColorChooser *add_color;
  GtkLabel *add_error;
  GtkWidget *health_heading;
  GtkBox *health_box;

  GCancellable *cancellable;
  guint health_timeout;
  gboolean health_running, health_again;
  guint n_warnings;
};

static inline SlProject *
_sl_class_list_get_project (SlClassList *self)
{
  return sl_session_get_project (sl_image_list_get_session (self->images));
}

/* sl-class-list.c: an edit failed; the page shows the message. */
void _sl_class_list_report (SlClassList *self, const GError *error);

/* sl-class-list-actions.c */
void _sl_class_list_install_actions (GtkWidgetClass *widget_class);
void _sl_class_list_on_add_popover_show (GtkWidget *popover, SlClassList *self);

G_END_DECLS
