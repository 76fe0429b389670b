/* sl-image-list.h: every image of the open project as a list model, loaded off the main loop, with its filtered and sorted view. */
#pragma once

#include "sl-types.h"
#include "sl-image-object.h"
#include "sl-session.h"

G_BEGIN_DECLS

/* Scopes: which images the view shows, besides a class id (>= 0). */
#define SL_IMAGE_SCOPE_UNLABELED (-1) /* no class, not ignored */
#define SL_IMAGE_SCOPE_ALL       (-2) /* everything, ignored images included */
#define SL_IMAGE_SCOPE_IGNORED   (-3)

typedef enum
{
  SL_IMAGE_SORT_DATE, /* import order */
  SL_IMAGE_SORT_NAME,
  SL_IMAGE_SORT_CLASS, /* class order, then name; unlabelled last */
  /* By the model's suggestions (images without one last, by name): */
  SL_IMAGE_SORT_LEAST_CONFIDENT, /* lowest confidence first */
  SL_IMAGE_SORT_SMALLEST_MARGIN, /* smallest gap between the two likeliest classes first */
  SL_IMAGE_SORT_HIGHEST_ANOMALY, /* highest anomaly score first */
} SlImageSort;

#define SL_TYPE_IMAGE_LIST (sl_image_list_get_type ())
G_DECLARE_FINAL_TYPE (SlImageList, sl_image_list, SL, IMAGE_LIST, GObject)

/* A GListModel of SlImageObject in id order. Loads at once on a worker thread
 * ("loading" is TRUE until the first load is in) and follows the session:
 * labels-changed updates items in place, images-changed and classes-changed
 * reload in the background and merge, keeping the items that stay. */
SlImageList *sl_image_list_new (SlSession *session);

SlSession *sl_image_list_get_session (SlImageList *self);
gboolean sl_image_list_get_loading (SlImageList *self);
SlImageObject *sl_image_list_lookup (SlImageList *self, gint64 id);

/* The classes in display order (SlClass; "images" is kept current from the
 * items), refreshed on classes-changed; "classes-updated" follows. */
GPtrArray *sl_image_list_get_classes (SlImageList *self);
const SlClass *sl_image_list_find_class (SlImageList *self, gint64 class_id);
const SlClass *sl_image_list_find_shortcut (SlImageList *self, const char *key);

/* How many images a scope holds; "counts-changed" says when these change. */
gint64 sl_image_list_count (SlImageList *self, gint64 scope);

/* The filtered and sorted view the grid shows (one per list; the caller
 * owns it, and it holds the list). */
GListModel *sl_image_list_create_view (SlImageList *self);
gboolean sl_image_list_get_view_busy (SlImageList *self); /* sorting still running */
void sl_image_list_set_scope (SlImageList *self, gint64 scope);
gint64 sl_image_list_get_scope (SlImageList *self);
void sl_image_list_set_split_filter (SlImageList *self, int split); /* -1: any */
int sl_image_list_get_split_filter (SlImageList *self);
void sl_image_list_set_search (SlImageList *self, const char *text);
void sl_image_list_set_sort (SlImageList *self, SlImageSort sort);
SlImageSort sl_image_list_get_sort (SlImageList *self);

/* Re-reads a few images' labels, splits and ignore flags now (main thread; a
 * small query per image), or everything in the background when there are many. */
void sl_image_list_refresh_images (SlImageList *self, const gint64 *ids, guint n);

/* The model's suggested labels (projects/sl-suggest.h) on the items: the latest suggesting
 * run's, read on a worker after the first load, after reloads and when asked (after a
 * suggestion pass); "suggestions-loading" is TRUE meanwhile. */
void sl_image_list_load_suggestions (SlImageList *self);
gboolean sl_image_list_get_suggestions_loading (SlImageList *self);
/* The run whose suggestions the items show, or -1. */
gint64 sl_image_list_get_suggestion_run (SlImageList *self);
/* Sets them now from SlSuggestion rows (tests, and the loader): items not listed lose theirs. */
void sl_image_list_set_suggestions (SlImageList *self, gint64 run_id, GPtrArray *suggestions);

G_END_DECLS
