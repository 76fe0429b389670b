/* sl-evaluate-page-data.c: reading an evaluation as the Evaluate page shows it (worker thread). */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-evaluate-page-private.h"

void
_sl_eval_data_free (SlEvalData *d)
{
  if (d == NULL)
    return;
  sl_run_info_free (d->run);
  sl_evaluation_free (d->evaluation);
  sl_anomaly_evaluation_free (d->anomaly);
  g_clear_pointer (&d->predictions, g_ptr_array_unref);
  g_clear_pointer (&d->states, g_array_unref);
  g_clear_pointer (&d->extras, g_hash_table_unref);
  g_clear_pointer (&d->classes, g_ptr_array_unref);
  g_free (d);
}

static int
by_confidence_desc (gconstpointer a, gconstpointer b)
{
  const SlImagePrediction *x = *(SlImagePrediction *const *) a,
                          *y = *(SlImagePrediction *const *) b;

  if (x->confidence != y->confidence)
    return x->confidence < y->confidence ? 1 : -1;
  return x->image_id < y->image_id ? -1 : x->image_id > y->image_id;
}

static gboolean
run_has_class (const SlRunInfo *run, gint64 class_id)
{
  for (guint c = 0; c < run->class_names->len; c++)
    if (run->class_ids[c] == class_id)
      return TRUE;
  return FALSE;
}

/* What each evaluated image is now, and which images of the split were not evaluated. */
static gboolean
read_states (SlProject *db, SlEvalData *d, GError **error)
{
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GHashTable) in_split = g_hash_table_new (g_int64_hash, g_int64_equal);
  SlImageFilter filter;

  sl_image_filter_init (&filter);
  filter.split = d->split;
  if ((images = sl_project_list_images (db, &filter, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < images->len; i++)
    {
      SlImageInfo *info = g_ptr_array_index (images, i);

      if (info->class_id < 0 || !run_has_class (d->run, info->class_id))
        continue;
      d->split_images++;
      g_hash_table_insert (in_split, &info->id, info);
    }
  d->states = g_array_sized_new (FALSE, TRUE, sizeof (SlEvalImageState),
                                 d->predictions != NULL ? d->predictions->len : 0);
  d->extras = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; d->predictions != NULL && i < d->predictions->len; i++)
    {
      const SlImagePrediction *p = g_ptr_array_index (d->predictions, i);
      SlImageInfo *info = g_hash_table_lookup (in_split, &p->image_id);
      SlEvalImageState state = { -1, FALSE, FALSE };

      if (info != NULL)
        {
          state = (SlEvalImageState){ info->class_id, FALSE, TRUE };
          g_hash_table_remove (in_split, &p->image_id);
        }
      else
        {
          /* Ignored, unlabelled or moved to another split since. */
          g_autoptr (GError) missing = NULL;
          SlImageInfo *now = sl_project_get_image (db, p->image_id, &missing);

          if (now != NULL)
            state = (SlEvalImageState){ now->class_id, now->ignored, now->split == d->split };
          sl_image_info_free (now);
        }
      g_array_append_val (d->states, state);
    }
  if (d->evaluation != NULL)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, in_split);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_hash_table_add (d->extras, g_memdup2 (key, sizeof (gint64)));
    }
  return TRUE;
}

/* The newest evaluation of the run on the split (evaluation_id < 0) or a given one. */
SlEvalData *
_sl_eval_data_load (SlProject *db, gint64 run_id, SlSplit split, gint64 evaluation_id,
                    GError **error)
{
  g_autoptr (SlEvalData) d = g_new0 (SlEvalData, 1);
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, run_id);

  d->run_id = run_id;
  d->split = split;
  if ((d->run = sl_project_get_run (db, ref, error)) == NULL)
    return NULL;
  if (evaluation_id < 0)
    {
      g_autoptr (GError) local = NULL;

      evaluation_id = sl_project_find_evaluation (db, run_id, split, &local);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  if (sl_run_info_is_anomaly (d->run))
    return _sl_eval_data_load_anomaly (db, d, evaluation_id, error) ? g_steal_pointer (&d) : NULL;
  if (evaluation_id >= 0)
    {
      if ((d->evaluation = sl_project_get_evaluation (db, evaluation_id, 0, error)) == NULL
          || (d->predictions = sl_project_list_predictions (db, evaluation_id, error)) == NULL)
        return NULL;
      g_ptr_array_sort (d->predictions, by_confidence_desc);
    }
  if ((d->classes = sl_project_list_classes (db, error)) == NULL || !read_states (db, d, error))
    return NULL;
  return g_steal_pointer (&d);
}
