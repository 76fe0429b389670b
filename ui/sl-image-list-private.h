/* sl-image-list-private.h: the image list's instance, shared by the model and its view. */
#pragma once

#include "sl-image-list.h"

G_BEGIN_DECLS

#define ID_KEY(id) GSIZE_TO_POINTER ((gsize) (id))

struct _SlImageList
{
  GObject parent_instance;
  SlSession *session;
  GPtrArray *items;        /* SlImageObject, id order */
  GHashTable *by_id;       /* id -> SlImageObject (borrowed from items) */
  GPtrArray *classes;      /* SlClass, display order */
  GHashTable *class_by_id; /* id -> SlClass (borrowed) */
  GHashTable *class_rank;  /* id -> position + 1 */
  gint64 n_unlabeled, n_ignored;

  gboolean loading; /* the first load is not in yet */
  gboolean load_running, reload_pending;
  GCancellable *cancellable;

  GtkCustomFilter *filter;
  GtkCustomSorter *sorter;
  GtkSortListModel *sort_model; /* the view (weak) */
  gint64 scope;
  int split_filter;
  char *search; /* casefolded; NULL: none */
  SlImageSort sort;
};

/* sl-image-list-view.c */
void _sl_image_list_init_view (SlImageList *self);
/* Re-runs the filter (installing or removing it as the view needs one). */
void _sl_image_list_refilter (SlImageList *self, GtkFilterChange change);

G_END_DECLS
