/* sl-image-list-view.c: the image list's filtered and sorted view: scope, split, file-name search and sort order. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-image-list-private.h"

#include <string.h>

/* With nothing to filter the view passes every item through untested (no
 * filter installed), so loading 100,000 images costs no filter calls. */
static gboolean
filter_active (SlImageList *self)
{
  return self->scope != SL_IMAGE_SCOPE_ALL || self->split_filter >= 0 || self->search != NULL;
}

void
_sl_image_list_refilter (SlImageList *self, GtkFilterChange change)
{
  GtkFilterListModel *filtered
      = self->sort_model != NULL
            ? GTK_FILTER_LIST_MODEL (gtk_sort_list_model_get_model (self->sort_model))
            : NULL;
  GtkFilter *want = filter_active (self) ? GTK_FILTER (self->filter) : NULL;

  if (filtered != NULL && gtk_filter_list_model_get_filter (filtered) != want)
    gtk_filter_list_model_set_filter (filtered, want); /* refilters everything once */
  else if (want != NULL)
    gtk_filter_changed (want, change);
}

/* ---- Filter and sort ------------------------------------------------------------ */

static gboolean
filter_func (gpointer item, gpointer data)
{
  SlImageList *self = data;
  SlImageObject *image = item;
  gboolean ignored = sl_image_object_get_ignored (image);
  gint64 class_id = sl_image_object_get_class_id (image);

  switch (self->scope)
    {
      case SL_IMAGE_SCOPE_ALL: break;
      case SL_IMAGE_SCOPE_IGNORED:
        if (!ignored)
          return FALSE;
        break;
      case SL_IMAGE_SCOPE_UNLABELED:
        if (ignored || class_id >= 0)
          return FALSE;
        break;
      default:
        if (ignored || class_id != self->scope)
          return FALSE;
    }
  if (self->split_filter >= 0 && (int) sl_image_object_get_split (image) != self->split_filter)
    return FALSE;
  return self->search == NULL || strstr (sl_image_object_get_search_key (image), self->search);
}

static int
sort_func (gconstpointer a, gconstpointer b, gpointer data)
{
  SlImageList *self = data;
  SlImageObject *x = (SlImageObject *) a, *y = (SlImageObject *) b;
  gint64 ix = sl_image_object_get_id (x), iy = sl_image_object_get_id (y);
  int c;

  if (self->sort == SL_IMAGE_SORT_CLASS)
    {
      guint rx = GPOINTER_TO_UINT (
          g_hash_table_lookup (self->class_rank, ID_KEY (sl_image_object_get_class_id (x))));
      guint ry = GPOINTER_TO_UINT (
          g_hash_table_lookup (self->class_rank, ID_KEY (sl_image_object_get_class_id (y))));

      rx = rx == 0 ? G_MAXUINT : rx; /* unlabelled last */
      ry = ry == 0 ? G_MAXUINT : ry;
      if (rx != ry)
        return rx < ry ? GTK_ORDERING_SMALLER : GTK_ORDERING_LARGER;
    }
  if (self->sort >= SL_IMAGE_SORT_LEAST_CONFIDENT
      && (c = _sl_image_list_compare_suggestions (self, x, y)) != GTK_ORDERING_EQUAL)
    return c;
  c = strcmp (sl_image_object_get_sort_key (x), sl_image_object_get_sort_key (y));
  if (c != 0)
    return c < 0 ? GTK_ORDERING_SMALLER : GTK_ORDERING_LARGER;
  return ix < iy ? GTK_ORDERING_SMALLER : ix > iy ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

void
sl_image_list_set_scope (SlImageList *self, gint64 scope)
{
  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  if (self->scope == scope)
    return;
  self->scope = scope;
  _sl_image_list_refilter (self, GTK_FILTER_CHANGE_DIFFERENT);
}

gint64
sl_image_list_get_scope (SlImageList *self)
{
  return self->scope;
}

void
sl_image_list_set_split_filter (SlImageList *self, int split)
{
  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  split = split < 0 ? -1 : split;
  if (self->split_filter == split)
    return;
  self->split_filter = split;
  _sl_image_list_refilter (self, GTK_FILTER_CHANGE_DIFFERENT);
}

int
sl_image_list_get_split_filter (SlImageList *self)
{
  return self->split_filter;
}

void
sl_image_list_set_search (SlImageList *self, const char *text)
{
  g_autofree char *key = text != NULL && *text != '\0' ? g_utf8_casefold (text, -1) : NULL;
  g_autofree char *old = NULL;
  GtkFilterChange change = GTK_FILTER_CHANGE_DIFFERENT;

  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  if (g_strcmp0 (key, self->search) == 0)
    return;
  /* Typing on narrows the view; deleting widens it: GTK then refilters only what may change. */
  if (key != NULL && (self->search == NULL || strstr (key, self->search) != NULL))
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (self->search != NULL && (key == NULL || strstr (self->search, key) != NULL))
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  old = g_steal_pointer (&self->search);
  self->search = g_steal_pointer (&key);
  _sl_image_list_refilter (self, change);
}

void
sl_image_list_set_sort (SlImageList *self, SlImageSort sort)
{
  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  if (self->sort == sort)
    return;
  self->sort = sort;
  /* Import order is the items' own order: no sorter, no sorting. */
  if (self->sort_model != NULL)
    gtk_sort_list_model_set_sorter (self->sort_model,
                                    sort == SL_IMAGE_SORT_DATE ? NULL : GTK_SORTER (self->sorter));
  if (sort != SL_IMAGE_SORT_DATE)
    gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
}

SlImageSort
sl_image_list_get_sort (SlImageList *self)
{
  return self->sort;
}

GListModel *
sl_image_list_create_view (SlImageList *self)
{
  GtkFilterListModel *filtered;
  GtkSortListModel *sorted;

  g_return_val_if_fail (SL_IS_IMAGE_LIST (self), NULL);
  g_return_val_if_fail (self->sort_model == NULL, NULL);
  /* The view holds the list, never the other way round: the list only keeps
   * weak pointers to the models (filter first, so sorting sees fewer items). */
  filtered = gtk_filter_list_model_new (
      G_LIST_MODEL (g_object_ref (self)),
      filter_active (self) ? GTK_FILTER (g_object_ref (self->filter)) : NULL);
  sorted = gtk_sort_list_model_new (
      G_LIST_MODEL (filtered),
      self->sort == SL_IMAGE_SORT_DATE ? NULL : GTK_SORTER (g_object_ref (self->sorter)));
  /* Sorting 100,000 names takes longer than a frame: spread it over several. */
  gtk_sort_list_model_set_incremental (sorted, TRUE);
  self->sort_model = sorted;
  g_object_add_weak_pointer (G_OBJECT (sorted), (gpointer *) &self->sort_model);
  return G_LIST_MODEL (sorted);
}

gboolean
sl_image_list_get_view_busy (SlImageList *self)
{
  return self->sort_model != NULL && gtk_sort_list_model_get_pending (self->sort_model) > 0;
}

void
_sl_image_list_init_view (SlImageList *self)
{
  self->filter = gtk_custom_filter_new (filter_func, self, NULL);
  self->sorter = gtk_custom_sorter_new (sort_func, self, NULL);
}
