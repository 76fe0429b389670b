/* sl-class-list.h: the dataset sidebar: image scopes, classes (add, rename, colour, merge, delete) and data health. */
#pragma once

#include "sl-types.h"
#include "sl-image-list.h"

G_BEGIN_DECLS

#define SL_TYPE_CLASS_LIST (sl_class_list_get_type ())
G_DECLARE_FINAL_TYPE (SlClassList, sl_class_list, SL, CLASS_LIST, GtkWidget)

GtkWidget *sl_class_list_new (SlImageList *images);

/* The selected scope: SL_IMAGE_SCOPE_* or a class id ("scope" property). */
gint64 sl_class_list_get_scope (SlClassList *self);
void sl_class_list_set_scope (SlClassList *self, gint64 scope);

/* What the sidebar's controls do, callable without them (tests). Each edits
 * the project and notifies the session; errors are for the caller to show. */
gint64 sl_class_list_add_class (SlClassList *self, const char *name, const char *color,
                                GError **error);
gboolean sl_class_list_delete_class (SlClassList *self, gint64 class_id, SlClassDeleteMode mode,
                                     GError **error);
gboolean sl_class_list_merge_classes (SlClassList *self, gint64 from, gint64 into, GError **error);
/* Opens the dialog that asks how to delete a class; returns it. */
GtkWindow *sl_class_list_show_delete_dialog (SlClassList *self, gint64 class_id);

/* The health warnings shown (after the background stats query finished). */
guint sl_class_list_get_n_warnings (SlClassList *self);
gboolean sl_class_list_get_health_busy (SlClassList *self);
/* Computes the health again soon (after a suggestion pass: possible label mistakes). */
void sl_class_list_refresh_health (SlClassList *self);

G_END_DECLS
