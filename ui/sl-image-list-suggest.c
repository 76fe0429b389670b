/* sl-image-list-suggest.c: the model's suggested labels on the image list's items, read on a worker, and the uncertainty sorts' order. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-image-list-private.h"
#include "sl-suggest.h"

#include <math.h>

typedef struct
{
  GPtrArray *suggestions; /* SlSuggestion */
  gint64 run_id;
} Loaded;

static void
loaded_free (Loaded *loaded)
{
  g_clear_pointer (&loaded->suggestions, g_ptr_array_unref);
  g_free (loaded);
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (data, &error);
  SlSuggestFilter filter;
  Loaded *loaded;

  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  loaded = g_new0 (Loaded, 1);
  loaded->run_id = sl_project_latest_suggestion_run (db, &error);
  if (loaded->run_id < 0 && error != NULL)
    {
      loaded_free (loaded);
      g_task_return_error (task, error);
      return;
    }
  sl_suggest_filter_init (&filter);
  filter.run_id = loaded->run_id;
  loaded->suggestions = loaded->run_id > 0 ? sl_project_list_suggestions (db, SL_SUGGEST_SORT_IMAGE,
                                                                          &filter, &error)
                                           : g_ptr_array_new ();
  if (loaded->suggestions == NULL)
    {
      loaded_free (loaded);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, loaded, (GDestroyNotify) loaded_free);
}

static gboolean
is_suggestion_sort (SlImageSort sort)
{
  return sort == SL_IMAGE_SORT_LEAST_CONFIDENT || sort == SL_IMAGE_SORT_SMALLEST_MARGIN
         || sort == SL_IMAGE_SORT_HIGHEST_ANOMALY;
}

void
sl_image_list_set_suggestions (SlImageList *self, gint64 run_id, GPtrArray *suggestions)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);

  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  self->suggestion_run = run_id;
  self->n_suggestions = 0;
  for (guint i = 0; suggestions != NULL && i < suggestions->len; i++)
    {
      const SlSuggestion *s = g_ptr_array_index (suggestions, i);
      SlImageObject *item = sl_image_list_lookup (self, s->image_id);
      const SlClass *klass = s->class_id >= 0 ? sl_image_list_find_class (self, s->class_id) : NULL;
      SlImageSuggestion is = { 0 };

      if (item == NULL)
        continue; /* imported or deleted since: the next load has it */
      is.run_id = s->run_id;
      is.class_id = s->class_id;
      is.class_name = s->class_name;
      is.class_color = klass != NULL ? klass->color : NULL;
      is.confidence = s->confidence;
      is.margin = s->margin;
      is.anomaly_score = s->anomaly_score;
      is.anomaly_threshold = s->anomaly_threshold;
      sl_image_object_set_suggestion (item, &is);
      g_hash_table_add (seen, item);
      self->n_suggestions++;
    }
  for (guint i = 0; i < self->items->len; i++)
    if (!g_hash_table_contains (seen, g_ptr_array_index (self->items, i)))
      sl_image_object_set_suggestion (g_ptr_array_index (self->items, i), NULL);
  if (is_suggestion_sort (self->sort))
    gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
  g_signal_emit_by_name (self, "counts-changed");
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlImageList *self = SL_IMAGE_LIST (source);
  g_autoptr (GError) error = NULL;
  Loaded *loaded = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->suggestions_loading = FALSE;
  if (loaded == NULL)
    g_warning ("Could not read the suggested labels: %s", error->message);
  else
    {
      sl_image_list_set_suggestions (self, loaded->run_id, loaded->suggestions);
      loaded_free (loaded);
    }
  if (self->suggestions_again)
    {
      self->suggestions_again = FALSE;
      sl_image_list_load_suggestions (self);
    }
  else
    g_object_notify (G_OBJECT (self), "suggestions-loading");
}

void
sl_image_list_load_suggestions (SlImageList *self)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SL_IS_IMAGE_LIST (self));
  if (self->suggestions_loading)
    {
      self->suggestions_again = TRUE;
      return;
    }
  self->suggestions_loading = TRUE;
  g_object_notify (G_OBJECT (self), "suggestions-loading");
  task = g_task_new (self, self->cancellable, load_done, NULL);
  g_task_set_source_tag (task, sl_image_list_load_suggestions);
  g_task_set_task_data (task, g_strdup (sl_session_get_path (self->session)), g_free);
  g_task_run_in_thread (task, load_thread);
}

gboolean
sl_image_list_get_suggestions_loading (SlImageList *self)
{
  g_return_val_if_fail (SL_IS_IMAGE_LIST (self), FALSE);
  return self->suggestions_loading;
}

gint64
sl_image_list_get_suggestion_run (SlImageList *self)
{
  g_return_val_if_fail (SL_IS_IMAGE_LIST (self), -1);
  return self->suggestion_run;
}

/* ---- The uncertainty sorts ---------------------------------------------------------------- */

/* The sort key of an item's suggestion (smaller first), or FALSE when it has none. */
static gboolean
suggestion_key (SlImageSort sort, SlImageObject *item, double *key)
{
  const SlImageSuggestion *s = sl_image_object_get_suggestion (item);

  if (s == NULL)
    return FALSE;
  switch (sort)
    {
      case SL_IMAGE_SORT_LEAST_CONFIDENT: *key = isnan (s->confidence) ? 1.0 : s->confidence; break;
      case SL_IMAGE_SORT_SMALLEST_MARGIN:
        /* An anomaly run has no second class: nearest to its decision first. */
        if (!isnan (s->margin))
          *key = s->margin;
        else if (isfinite (s->anomaly_score) && isfinite (s->anomaly_threshold)
                 && s->anomaly_threshold > 0)
          *key = fabs (s->anomaly_score - s->anomaly_threshold) / s->anomaly_threshold;
        else
          *key = INFINITY;
        break;
      default: /* highest anomaly score first */
        *key = isnan (s->anomaly_score) ? INFINITY : -s->anomaly_score;
        break;
    }
  return TRUE;
}

int
_sl_image_list_compare_suggestions (SlImageList *self, SlImageObject *x, SlImageObject *y)
{
  double kx = 0, ky = 0;
  gboolean hx = suggestion_key (self->sort, x, &kx), hy = suggestion_key (self->sort, y, &ky);

  /* Images with a suggestion first, in order; the rest after, as by name. */
  if (hx != hy)
    return hx ? GTK_ORDERING_SMALLER : GTK_ORDERING_LARGER;
  if (hx && kx != ky)
    return kx < ky ? GTK_ORDERING_SMALLER : GTK_ORDERING_LARGER;
  return GTK_ORDERING_EQUAL;
}
