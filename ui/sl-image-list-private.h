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

  /* the model's suggestions (sl-image-list-suggest.c) */
  gint64 suggestion_run; /* whose suggestions the items hold; -1: none */
  gint64 n_suggestions;
  gboolean suggestions_loading, suggestions_again;
};

/* sl-image-list-view.c */
void _sl_image_list_init_view (SlImageList *self);
/* Re-runs the filter (installing or removing it as the view needs one). */
void _sl_image_list_refilter (SlImageList *self, GtkFilterChange change);

/* sl-image-list-suggest.c: the order of two items under an uncertainty sort (items with a
 * suggestion first), GTK_ORDERING_EQUAL when their keys tie. */
int _sl_image_list_compare_suggestions (SlImageList *self, SlImageObject *x, SlImageObject *y);

G_END_DECLS
