/* sl-image-list.c: every image of the open project as a list model, loaded off the main loop and kept current from the session. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-image-list-private.h"

#include <string.h>

/* Above this many changed images a labels-changed reloads in the background
 * instead of querying each image on the main loop. */
#define SYNC_REFRESH_MAX 256

static void sl_image_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SlImageList, sl_image_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, sl_image_list_model_init))

enum
{
  PROP_0,
  PROP_LOADING,
  PROP_SUGGESTIONS_LOADING,
  N_PROPS
};

enum
{
  CLASSES_UPDATED,
  COUNTS_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void schedule_reload (SlImageList *self);

/* ---- GListModel --------------------------------------------------------------- */

static GType
model_get_item_type (GListModel *model)
{
  return SL_TYPE_IMAGE_OBJECT;
}

static guint
model_get_n_items (GListModel *model)
{
  return SL_IMAGE_LIST (model)->items->len;
}

static gpointer
model_get_item (GListModel *model, guint position)
{
  SlImageList *self = SL_IMAGE_LIST (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
sl_image_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = model_get_item_type;
  iface->get_n_items = model_get_n_items;
  iface->get_item = model_get_item;
}

/* ---- Counts and classes ---------------------------------------------------------- */

static void
count_item (SlImageList *self, SlImageObject *item, int delta)
{
  SlClass *klass;

  if (sl_image_object_get_ignored (item))
    self->n_ignored += delta;
  else if (sl_image_object_get_class_id (item) < 0)
    self->n_unlabeled += delta;
  else if ((klass
            = g_hash_table_lookup (self->class_by_id, ID_KEY (sl_image_object_get_class_id (item))))
           != NULL)
    klass->images += delta;
}

static void
recount (SlImageList *self)
{
  self->n_unlabeled = self->n_ignored = 0;
  for (guint i = 0; i < self->classes->len; i++)
    ((SlClass *) g_ptr_array_index (self->classes, i))->images = 0;
  for (guint i = 0; i < self->items->len; i++)
    count_item (self, g_ptr_array_index (self->items, i), 1);
}

/* Takes a new class table (display order) from the project. */
static void
set_classes (SlImageList *self, GPtrArray *classes)
{
  g_hash_table_remove_all (self->class_by_id);
  g_hash_table_remove_all (self->class_rank);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  self->classes = g_ptr_array_ref (classes);
  for (guint i = 0; i < classes->len; i++)
    {
      SlClass *klass = g_ptr_array_index (classes, i);

      g_hash_table_insert (self->class_by_id, ID_KEY (klass->id), klass);
      g_hash_table_insert (self->class_rank, ID_KEY (klass->id), GUINT_TO_POINTER (i + 1));
    }
}

/* Sets an item's label, split and ignore flag, keeping the counts right.
 * Returns whether anything changed. */
static gboolean
apply_row (SlImageList *self, SlImageObject *item, gint64 class_id, SlSplit split, gboolean ignored)
{
  const SlClass *klass = class_id >= 0 ? sl_image_list_find_class (self, class_id) : NULL;
  const char *name = klass != NULL ? klass->name : NULL;
  const char *color = klass != NULL ? klass->color : NULL;

  if (sl_image_object_get_class_id (item) == class_id
      && g_strcmp0 (sl_image_object_get_class_name (item), name) == 0
      && g_strcmp0 (sl_image_object_get_class_color (item), color) == 0
      && sl_image_object_get_split (item) == split
      && sl_image_object_get_ignored (item) == !!ignored)
    return FALSE;
  count_item (self, item, -1);
  sl_image_object_set_class (item, class_id, name, color);
  sl_image_object_set_split (item, split);
  sl_image_object_set_ignored (item, ignored);
  count_item (self, item, 1);
  return TRUE;
}

/* The filter and the sorter look at labels: tell them what changed. */
static void
labels_changed_in_view (SlImageList *self)
{
  if (self->scope != SL_IMAGE_SCOPE_ALL || self->split_filter >= 0)
    _sl_image_list_refilter (self, GTK_FILTER_CHANGE_DIFFERENT);
  /* Labelling an image hides its suggestion: the uncertainty sorts move it too. */
  if (self->sort != SL_IMAGE_SORT_DATE && self->sort != SL_IMAGE_SORT_NAME)
    gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
  g_signal_emit (self, signals[COUNTS_CHANGED], 0);
}

/* ---- Loading on a worker thread -------------------------------------------------- */

typedef struct
{
  gint64 id, class_id;
  SlSplit split;
  gboolean ignored;
  SlImageObject *fresh; /* a new item, for ids the list does not hold yet */
} Row;

typedef struct
{
  char *path;
  GArray *known; /* gint64, ascending: ids the list holds */
  GPtrArray *classes;
  GArray *rows;      /* Row */
  GPtrArray *items;  /* the first load: every item, in id order */
  GHashTable *by_id; /* ... and their index, built off the main loop */
} Load;

static void
load_free (Load *load)
{
  g_free (load->path);
  g_clear_pointer (&load->known, g_array_unref);
  g_clear_pointer (&load->classes, g_ptr_array_unref);
  g_clear_pointer (&load->items, g_ptr_array_unref);
  g_clear_pointer (&load->by_id, g_hash_table_unref);
  if (load->rows != NULL)
    {
      for (guint i = 0; i < load->rows->len; i++)
        g_clear_object (&g_array_index (load->rows, Row, i).fresh);
      g_array_unref (load->rows);
    }
  g_free (load);
}

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Load *load = data;
  GError *error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (load->path, &error);
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GHashTable) colors = g_hash_table_new (NULL, NULL);
  SlImageFilter all;

  if (db == NULL || (load->classes = sl_project_list_classes (db, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < load->classes->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (load->classes, i);
      g_hash_table_insert (colors, ID_KEY (klass->id), klass->color);
    }
  sl_image_filter_init (&all);
  all.include_ignored = TRUE;
  if ((images = sl_project_list_images (db, &all, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (load->known->len == 0)
    {
      /* The first load: build the items and their index here; the main loop
       * only swaps them in (100,000 inserts are too long for one iteration). */
      load->items = g_ptr_array_new_full (images->len, g_object_unref);
      load->by_id = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < images->len; i++)
        {
          const SlImageInfo *info = g_ptr_array_index (images, i);
          SlImageObject *item
              = sl_image_object_new (info, g_hash_table_lookup (colors, ID_KEY (info->class_id)));

          g_ptr_array_add (load->items, item);
          g_hash_table_insert (load->by_id, ID_KEY (info->id), item);
        }
      g_task_return_boolean (task, TRUE);
      return;
    }
  load->rows = g_array_sized_new (FALSE, FALSE, sizeof (Row), images->len);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *info = g_ptr_array_index (images, i);
      Row row = { info->id, info->class_id, info->split, info->ignored, NULL };

      if (bsearch (&info->id, load->known->data, load->known->len, sizeof (gint64), compare_ids)
          == NULL)
        row.fresh
            = sl_image_object_new (info, g_hash_table_lookup (colors, ID_KEY (info->class_id)));
      g_array_append_val (load->rows, row);
    }
  g_task_return_boolean (task, TRUE);
}

/* Replaces the items with the loaded rows, reusing the items that stay, and
 * says what changed as one items-changed over the span that differs. */
static void
merge_rows (SlImageList *self, GArray *rows)
{
  g_autoptr (GPtrArray) old = self->items;
  GPtrArray *items = g_ptr_array_new_full (rows->len, g_object_unref);
  gboolean members_changed = FALSE;
  guint prefix = 0, suffix = 0;

  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = &g_array_index (rows, Row, i);
      SlImageObject *item;

      if (row->fresh != NULL)
        {
          item = g_steal_pointer (&row->fresh);
          members_changed = TRUE;
        }
      else if ((item = g_hash_table_lookup (self->by_id, ID_KEY (row->id))) != NULL)
        {
          g_object_ref (item);
          apply_row (self, item, row->class_id, row->split, row->ignored);
        }
      else
        continue; /* cannot happen: known ids come from the items */
      g_ptr_array_add (items, item);
    }
  members_changed = members_changed || items->len != old->len;
  self->items = items;
  if (members_changed)
    {
      g_hash_table_remove_all (self->by_id);
      for (guint i = 0; i < items->len; i++)
        {
          SlImageObject *item = g_ptr_array_index (items, i);
          g_hash_table_insert (self->by_id, ID_KEY (sl_image_object_get_id (item)), item);
        }
    }
  recount (self);
  while (prefix < old->len && prefix < items->len && old->pdata[prefix] == items->pdata[prefix])
    prefix++;
  while (suffix < old->len - prefix && suffix < items->len - prefix
         && old->pdata[old->len - 1 - suffix] == items->pdata[items->len - 1 - suffix])
    suffix++;
  if (old->len - prefix - suffix > 0 || items->len - prefix - suffix > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), prefix, old->len - prefix - suffix,
                                items->len - prefix - suffix);
}

/* Installs the first load's items (the list was empty). */
static void
take_items (SlImageList *self, Load *load)
{
  g_autoptr (GPtrArray) old = self->items;

  self->items = g_steal_pointer (&load->items);
  g_hash_table_unref (self->by_id);
  self->by_id = g_steal_pointer (&load->by_id);
  recount (self);
  if (old->len > 0 || self->items->len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old->len, self->items->len);
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlImageList *self = SL_IMAGE_LIST (source);
  Load *load = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  self->load_running = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Could not read the project's images: %s", error->message);
    }
  else if (!g_cancellable_is_cancelled (self->cancellable))
    {
      gint64 start = g_get_monotonic_time ();

      set_classes (self, load->classes);
      if (load->items != NULL)
        take_items (self, load);
      else
        merge_rows (self, load->rows);
      g_signal_emit (self, signals[CLASSES_UPDATED], 0);
      labels_changed_in_view (self);
      g_debug ("%u images in, views updated in %.1f ms", self->items->len,
               (g_get_monotonic_time () - start) / 1000.0);
    }
  /* The model's suggestions (stored by an earlier pass, or for items new since). */
  if (!g_cancellable_is_cancelled (self->cancellable)
      && (self->loading || self->suggestion_run > 0))
    sl_image_list_load_suggestions (self);
  if (self->loading)
    {
      self->loading = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
    }
  if (self->reload_pending && !g_cancellable_is_cancelled (self->cancellable))
    {
      self->reload_pending = FALSE;
      schedule_reload (self);
    }
}

static void
schedule_reload (SlImageList *self)
{
  g_autoptr (GTask) task = NULL;
  Load *load;

  if (self->load_running)
    {
      self->reload_pending = TRUE;
      return;
    }
  load = g_new0 (Load, 1);
  load->path = g_strdup (sl_session_get_path (self->session));
  load->known = g_array_sized_new (FALSE, FALSE, sizeof (gint64), self->items->len);
  for (guint i = 0; i < self->items->len; i++)
    {
      gint64 id = sl_image_object_get_id (g_ptr_array_index (self->items, i));
      g_array_append_val (load->known, id);
    }
  self->load_running = TRUE;
  task = g_task_new (self, self->cancellable, load_done, NULL);
  g_task_set_source_tag (task, schedule_reload);
  g_task_set_task_data (task, load, (GDestroyNotify) load_free);
  g_task_run_in_thread (task, load_thread);
}

/* ---- Session signals -------------------------------------------------------------- */

void
sl_image_list_refresh_images (SlImageList *self, const gint64 *ids, guint n)
{
  SlProject *project = sl_session_get_project (self->session);
  gboolean changed = FALSE;

  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  if (self->loading || n > SYNC_REFRESH_MAX)
    {
      schedule_reload (self);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      SlImageObject *item = g_hash_table_lookup (self->by_id, ID_KEY (ids[i]));
      SlImageInfo *info;

      if (item == NULL)
        continue;
      if ((info = sl_project_get_image (project, ids[i], NULL)) == NULL)
        {
          schedule_reload (self); /* it went away: a reload removes it */
          continue;
        }
      if (info->class_id >= 0 && sl_image_list_find_class (self, info->class_id) == NULL)
        schedule_reload (self); /* a class we have not seen: the reload brings it */
      changed |= apply_row (self, item, info->class_id, info->split, info->ignored);
      sl_image_info_free (info);
    }
  if (changed)
    labels_changed_in_view (self);
}

static void
on_labels_changed (SlSession *session, const gint64 *ids, guint n, SlImageList *self)
{
  sl_image_list_refresh_images (self, ids, n);
}

static void
on_images_changed (SlSession *session, SlImageList *self)
{
  schedule_reload (self);
}

/* Renames and colours show at once (the class table is a small query);
 * merges and deletes move images, which the background reload brings. */
static void
on_classes_changed (SlSession *session, SlImageList *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) classes
      = sl_project_list_classes (sl_session_get_project (session), &error);

  if (classes != NULL)
    {
      set_classes (self, classes);
      for (guint i = 0; i < self->items->len; i++)
        {
          SlImageObject *item = g_ptr_array_index (self->items, i);
          gint64 class_id = sl_image_object_get_class_id (item);

          if (class_id >= 0 && sl_image_list_find_class (self, class_id) != NULL)
            apply_row (self, item, class_id, sl_image_object_get_split (item),
                       sl_image_object_get_ignored (item));
        }
      recount (self);
      g_signal_emit (self, signals[CLASSES_UPDATED], 0);
      labels_changed_in_view (self);
    }
  else
    g_warning ("Could not read the project's classes: %s", error->message);
  schedule_reload (self);
}

/* ---- Accessors -------------------------------------------------------------------- */

SlSession *
sl_image_list_get_session (SlImageList *self)
{
  return self->session;
}

gboolean
sl_image_list_get_loading (SlImageList *self)
{
  return self->loading;
}

SlImageObject *
sl_image_list_lookup (SlImageList *self, gint64 id)
{
  return g_hash_table_lookup (self->by_id, ID_KEY (id));
}

GPtrArray *
sl_image_list_get_classes (SlImageList *self)
{
  return self->classes;
}

const SlClass *
sl_image_list_find_class (SlImageList *self, gint64 class_id)
{
  return g_hash_table_lookup (self->class_by_id, ID_KEY (class_id));
}

const SlClass *
sl_image_list_find_shortcut (SlImageList *self, const char *key)
{
  for (guint i = 0; i < self->classes->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (self->classes, i);

      if (klass->shortcut != NULL && g_strcmp0 (klass->shortcut, key) == 0)
        return klass;
    }
  return NULL;
}

gint64
sl_image_list_count (SlImageList *self, gint64 scope)
{
  const SlClass *klass;

  switch (scope)
    {
      case SL_IMAGE_SCOPE_ALL: return self->items->len;
      case SL_IMAGE_SCOPE_UNLABELED: return self->n_unlabeled;
      case SL_IMAGE_SCOPE_IGNORED: return self->n_ignored;
      default: return (klass = sl_image_list_find_class (self, scope)) != NULL ? klass->images : 0;
    }
}

/* ---- Object ------------------------------------------------------------------------ */

static void
sl_image_list_dispose (GObject *object)
{
  SlImageList *self = SL_IMAGE_LIST (object);

  g_cancellable_cancel (self->cancellable);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->sort_model != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->sort_model), (gpointer *) &self->sort_model);
  self->sort_model = NULL;
  g_clear_object (&self->sorter);
  g_clear_object (&self->filter);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_image_list_parent_class)->dispose (object);
}

static void
sl_image_list_finalize (GObject *object)
{
  SlImageList *self = SL_IMAGE_LIST (object);

  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->class_by_id, g_hash_table_unref);
  g_clear_pointer (&self->class_rank, g_hash_table_unref);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_free (self->search);
  G_OBJECT_CLASS (sl_image_list_parent_class)->finalize (object);
}

static void
sl_image_list_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_LOADING: g_value_set_boolean (value, SL_IMAGE_LIST (object)->loading); break;
      case PROP_SUGGESTIONS_LOADING:
        g_value_set_boolean (value, SL_IMAGE_LIST (object)->suggestions_loading);
        break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_image_list_class_init (SlImageListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_image_list_dispose;
  object_class->finalize = sl_image_list_finalize;
  object_class->get_property = sl_image_list_get_property;

  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, TRUE,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SUGGESTIONS_LOADING] = g_param_spec_boolean (
      "suggestions-loading", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CLASSES_UPDATED] = g_signal_new ("classes-updated", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[COUNTS_CHANGED] = g_signal_new ("counts-changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_image_list_init (SlImageList *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new (NULL, NULL);
  self->classes = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_class_free);
  self->class_by_id = g_hash_table_new (NULL, NULL);
  self->class_rank = g_hash_table_new (NULL, NULL);
  self->cancellable = g_cancellable_new ();
  self->loading = TRUE;
  self->scope = SL_IMAGE_SCOPE_ALL;
  self->split_filter = -1;
  self->sort = SL_IMAGE_SORT_DATE;
  self->suggestion_run = -1;

  _sl_image_list_init_view (self);
}

SlImageList *
sl_image_list_new (SlSession *session)
{
  SlImageList *self;

  g_return_val_if_fail (SL_IS_SESSION (session), NULL);
  self = g_object_new (SL_TYPE_IMAGE_LIST, NULL);
  self->session = g_object_ref (session);
  g_signal_connect (session, "labels-changed", G_CALLBACK (on_labels_changed), self);
  g_signal_connect (session, "images-changed", G_CALLBACK (on_images_changed), self);
  g_signal_connect (session, "classes-changed", G_CALLBACK (on_classes_changed), self);
  schedule_reload (self);
  return self;
}
