/* sl-evaluate-page-anomaly.c: the Evaluate page for anomaly runs: reading their evaluations (worker thread) and showing them. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-evaluate-page-private.h"

#include "sl-settings.h"

/* Worker thread: the anomaly evaluation (evaluation_id < 0: none) and the images it could
 * cover now (every labelled image of the split, good or defect). */
gboolean
_sl_eval_data_load_anomaly (SlProject *db, SlEvalData *d, gint64 evaluation_id, GError **error)
{
  g_autoptr (GPtrArray) images = NULL;
  SlImageFilter filter;

  d->anomaly_run = TRUE;
  sl_image_filter_init (&filter);
  filter.split = d->split;
  if ((images = sl_project_list_images (db, &filter, error)) == NULL)
    return FALSE;
  g_autoptr (GHashTable) now = g_hash_table_new (g_int64_hash, g_int64_equal);

  for (guint i = 0; i < images->len; i++)
    {
      SlImageInfo *info = g_ptr_array_index (images, i);

      if (info->class_id < 0)
        continue;
      d->split_images++;
      g_hash_table_insert (now, &info->id, info);
    }
  if (evaluation_id >= 0
      && (d->anomaly = sl_project_get_anomaly_evaluation (db, evaluation_id, error)) == NULL)
    return FALSE;
  /* The scores keep the labels they were evaluated with: relabelled, ignored or moved
   * images make the rates out of date. */
  for (guint i = 0; d->anomaly != NULL && i < d->anomaly->scores->len && !d->anomaly_changed; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (d->anomaly->scores, i);
      SlImageInfo *info = g_hash_table_lookup (now, &s->image_id);

      d->anomaly_changed = info == NULL || g_strcmp0 (info->class_name, s->class_name) != 0;
    }
  d->anomaly_changed = d->anomaly_changed
                       || (d->anomaly != NULL
                           && (gint64) d->anomaly->scores->len != (gint64) g_hash_table_size (now));
  /* The fit scores the validation images itself: the page can point there. */
  d->other_split_evaluated
      = sl_project_find_evaluation (db, d->run_id,
                                    d->split == SL_SPLIT_VAL ? SL_SPLIT_TEST : SL_SPLIT_VAL, NULL)
        >= 0;
  d->states = g_array_new (FALSE, TRUE, sizeof (SlEvalImageState));
  d->extras = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  return (d->classes = sl_project_list_classes (db, error)) != NULL;
}

gboolean
_sl_eval_data_has_results (const SlEvalData *d)
{
  return d != NULL && (d->evaluation != NULL || d->anomaly != NULL);
}

gint64
_sl_eval_data_result_images (const SlEvalData *d)
{
  if (d == NULL)
    return 0;
  if (d->anomaly != NULL)
    return d->anomaly->scores->len;
  return d->evaluation != NULL ? d->evaluation->images : 0;
}

const char *
_sl_eval_data_created (const SlEvalData *d)
{
  if (d == NULL)
    return NULL;
  if (d->anomaly != NULL)
    return d->anomaly->created;
  return d->evaluation != NULL ? d->evaluation->created : NULL;
}

void
_sl_evaluate_page_setup_anomaly (SlEvaluatePage *self)
{
  g_autoptr (GSettings) settings = sl_app_settings_new ("threads");
  int threads = settings != NULL ? MAX (0, g_settings_get_int (settings, "threads")) : 0;

  self->anomaly_results = SL_ANOMALY_RESULTS (sl_anomaly_results_new (self->session, threads));
  gtk_stack_add_named (self->view_stack, GTK_WIDGET (self->anomaly_results), "anomaly-results");
  g_signal_connect_swapped (self->anomaly_results, "threshold-stored",
                            G_CALLBACK (_sl_evaluate_page_reload), self);
}

void
_sl_evaluate_page_show_anomaly (SlEvaluatePage *self)
{
  const SlEvalData *d = self->data;

  sl_anomaly_results_set_classes (self->anomaly_results, d != NULL ? d->classes : NULL);
  sl_anomaly_results_set_evaluation (self->anomaly_results, d != NULL ? d->anomaly : NULL,
                                     d != NULL && d->split == SL_SPLIT_VAL ? "validation" : "test");
}
