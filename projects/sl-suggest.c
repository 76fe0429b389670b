/* sl-suggest.c: the suggestion pass: a run predicts the project's images, batch by batch, stored as it goes. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-suggest.h"

#include <math.h>
#include <string.h>

#include "sl-anomaly-private.h"

#define SUGGEST_BATCH 64

typedef struct
{
  gint64 image_id;
  gint64 label_id; /* -1: unlabelled */
  char *path;
} SuggestItem;

static void
suggest_item_clear (gpointer data)
{
  g_free (((SuggestItem *) data)->path);
}

/* Which of the run's weights made a suggestion: a pass skips images this same model already
 * predicted. An anomaly run's threshold belongs to it (a new one changes the classes). */
static char *
model_key (const SlRunInfo *run, SlCheckpointKind checkpoint, sl_classifier *classifier)
{
  if (sl_run_info_is_anomaly (run))
    return g_strdup_printf ("fit:%s:%.9g", run->finished ? run->finished : "",
                            (double) sl_classifier_get_anomaly_threshold (classifier));
  return g_strdup_printf ("%s:%d:%s", checkpoint == SL_CHECKPOINT_LAST ? "last" : "best",
                          checkpoint == SL_CHECKPOINT_LAST ? run->epochs_done : run->best_epoch,
                          run->finished ? run->finished : "");
}

/* The non-ignored images not yet predicted by `model` with their current label: unlabelled
 * first, each group in id order. *n_images and *n_unlabelled count every candidate. */
static GArray *
collect_items (SlProject *self, gint64 run_id, const char *model, gint64 *n_images,
               gint64 *n_unlabelled, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self,
      "SELECT i.id, i.hash, i.ext, i.class_id, EXISTS (SELECT 1 FROM suggestions s WHERE "
      "s.run_id = ?1 AND s.image_id = i.id AND s.model = ?2 AND s.label_id IS i.class_id) "
      "FROM images i WHERE i.ignored = 0 ORDER BY i.class_id IS NOT NULL, i.id",
      error);
  GArray *items;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_text (stmt, 2, model, -1, SQLITE_STATIC);
  items = g_array_new (FALSE, FALSE, sizeof (SuggestItem));
  g_array_set_clear_func (items, suggest_item_clear);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gboolean labelled = sqlite3_column_type (stmt, 3) != SQLITE_NULL;
      SuggestItem item;

      (*n_images)++;
      *n_unlabelled += !labelled;
      if (sqlite3_column_int (stmt, 4))
        continue;
      item.image_id = sqlite3_column_int64 (stmt, 0);
      item.label_id = labelled ? sqlite3_column_int64 (stmt, 3) : -1;
      item.path = sl_project_image_path (self, (const char *) sqlite3_column_text (stmt, 1),
                                         (const char *) sqlite3_column_text (stmt, 2));
      g_array_append_val (items, item);
    }
  return items;
}

/* The project class each of the classifier's outputs suggests (-1: none): a classifier run's
 * classes that still exist; an anomaly run's good class and the project's "defect" class. */
static gint64 *
output_classes (SlProject *self, const SlRunInfo *run, sl_classifier *classifier, GError **error)
{
  int k = sl_classifier_class_count (classifier);
  gint64 *out = g_new (gint64, k);
  g_autoptr (sqlite3_stmt) exists
      = _sl_project_prepare (self, "SELECT 1 FROM classes WHERE id = ?", error);

  if (exists == NULL)
    {
      g_free (out);
      return NULL;
    }
  for (int c = 0; c < k; c++)
    out[c] = -1;
  if (sl_run_info_is_anomaly (run))
    {
      g_autoptr (SlClass) good = sl_project_find_class (self, SL_ANOMALY_GOOD_CLASS, NULL);
      g_autoptr (SlClass) defect = sl_project_find_class (self, SL_ANOMALY_DEFECT_CLASS, NULL);

      out[0] = good != NULL ? good->id : -1;
      if (k > 1)
        out[1] = defect != NULL ? defect->id : -1;
      return out;
    }
  for (int c = 0; c < k && c < (int) run->class_names->len; c++)
    {
      sqlite3_reset (exists);
      sqlite3_bind_int64 (exists, 1, run->class_ids[c]);
      if (sqlite3_step (exists) == SQLITE_ROW)
        out[c] = run->class_ids[c];
    }
  return out;
}

/* Best minus second-best of k probabilities (the best itself when k is 1). */
static double
margin_of (const float *p, int k)
{
  float first = -1, second = 0;

  for (int c = 0; c < k; c++)
    if (p[c] > first)
      {
        second = first < 0 ? 0 : first;
        first = p[c];
      }
    else if (p[c] > second)
      second = p[c];
  return (double) first - (double) second;
}

static void
bind_double_or_null (sqlite3_stmt *stmt, int column, double value)
{
  if (isfinite (value))
    sqlite3_bind_double (stmt, column, value);
  else
    sqlite3_bind_null (stmt, column);
}

/* Stores one batch's predictions in one short transaction. */
static gboolean
store_batch (SlProject *self, gint64 run_id, const char *model, gboolean anomaly,
             const SuggestItem *items, guint n, const sl_prediction *best, const float *probs,
             int k, const gint64 *classes, gint64 *stored, GError **error)
{
  g_autoptr (sqlite3_stmt) insert = _sl_project_prepare (
      self,
      "INSERT OR REPLACE INTO suggestions (run_id, image_id, model, label_id, class_id, "
      "confidence, margin, anomaly_score, anomaly_threshold, created) VALUES (?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?)",
      error);
  g_autofree char *now = _sl_project_now_iso ();

  if (insert == NULL || !_sl_project_begin (self, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      const sl_prediction *p = &best[i];
      gint64 class_id;

      if (p->class_index < 0) /* could not be read: warned about */
        continue;
      class_id = classes[p->class_index];
      sqlite3_reset (insert);
      sqlite3_bind_int64 (insert, 1, run_id);
      sqlite3_bind_int64 (insert, 2, items[i].image_id);
      sqlite3_bind_text (insert, 3, model, -1, SQLITE_STATIC);
      if (items[i].label_id >= 0)
        sqlite3_bind_int64 (insert, 4, items[i].label_id);
      else
        sqlite3_bind_null (insert, 4);
      if (class_id >= 0)
        sqlite3_bind_int64 (insert, 5, class_id);
      else
        sqlite3_bind_null (insert, 5);
      bind_double_or_null (insert, 6, anomaly ? NAN : p->confidence);
      bind_double_or_null (insert, 7, anomaly ? NAN : margin_of (probs + (gsize) i * k, k));
      bind_double_or_null (insert, 8, anomaly ? p->anomaly_score : NAN);
      bind_double_or_null (insert, 9, anomaly ? p->anomaly_threshold : NAN);
      sqlite3_bind_text (insert, 10, now, -1, SQLITE_STATIC);
      if (!_sl_project_step_done (self, insert, error))
        {
          _sl_project_rollback (self);
          return FALSE;
        }
      (*stored)++;
    }
  if (_sl_project_commit (self, error))
    return TRUE;
  _sl_project_rollback (self);
  return FALSE;
}

static gint64
count_current (SlProject *self, gint64 run_id, gboolean mistakes)
{
  g_autoptr (GPtrArray) list = NULL;
  SlSuggestFilter filter;

  if (mistakes)
    {
      gint64 n = 0;

      list = sl_project_list_possible_mistakes (self, run_id, 0, NULL);
      for (guint i = 0; list != NULL && i < list->len; i++)
        n += !((SlPossibleMistake *) g_ptr_array_index (list, i))->trained;
      return n;
    }
  sl_suggest_filter_init (&filter);
  filter.run_id = run_id;
  list = sl_project_list_suggestions (self, SL_SUGGEST_SORT_IMAGE, &filter, NULL);
  return list != NULL ? (gint64) list->len : 0;
}

gboolean
sl_project_suggest_labels (SlProject *self, gint64 run_id, SlCheckpointKind checkpoint, int threads,
                           SlSuggestProgressFunc progress, gpointer user_data,
                           GCancellable *cancellable, SlSuggestResult *result, GError **error)
{
  return sl_project_suggest_labels_on (self, run_id, checkpoint, threads, NULL, progress, user_data,
                                       cancellable, result, error);
}

gboolean
sl_project_suggest_labels_on (SlProject *self, gint64 run_id, SlCheckpointKind checkpoint,
                              int threads, const char *device, SlSuggestProgressFunc progress,
                              gpointer user_data, GCancellable *cancellable,
                              SlSuggestResult *result, GError **error)
{
  SlSuggestResult local;
  SlSuggestResult *r = result != NULL ? result : &local;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autoptr (GArray) items = NULL;
  g_autofree char *model = NULL;
  g_autofree gint64 *classes = NULL;
  g_autofree float *probs = NULL;
  gint64 started = g_get_monotonic_time ();
  gboolean anomaly, ok = TRUE;
  char id[32];
  int k;

  memset (r, 0, sizeof *r);
  r->run_id = run_id;
  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if (!sl_project_check_writable (self, error)
      || (run = sl_project_get_run (self, id, error)) == NULL)
    return FALSE;
  anomaly = sl_run_info_is_anomaly (run);
  if (progress != NULL)
    progress (0, 0, user_data);
  if ((classifier = sl_project_open_classifier (self, run_id, checkpoint, threads, device, error))
          == NULL
      || (classes = output_classes (self, run, classifier, error)) == NULL)
    return FALSE;
  k = sl_classifier_class_count (classifier);
  model = model_key (run, checkpoint, classifier);
  if ((items = collect_items (self, run_id, model, &r->images, &r->unlabelled, error)) == NULL)
    return FALSE;
  r->up_to_date = r->images - items->len;
  probs = g_new (float, (gsize) k *SUGGEST_BATCH);
  for (guint start = 0; start < items->len; start += SUGGEST_BATCH)
    {
      guint n = MIN (SUGGEST_BATCH, items->len - start);
      const SuggestItem *batch = &g_array_index (items, SuggestItem, start);
      const char *paths[SUGGEST_BATCH];
      sl_prediction best[SUGGEST_BATCH];

      for (guint i = 0; i < n; i++)
        paths[i] = batch[i].path;
      if (progress != NULL)
        progress (r->up_to_date + start, r->images, user_data);
      if (!_sl_evaluation_predict_files (classifier, paths, n, NULL, NULL, cancellable, best, probs,
                                         &r->failed, error)
          || !store_batch (self, run_id, model, anomaly, batch, n, best, probs, k, classes,
                           &r->predicted, error))
        {
          ok = FALSE;
          break;
        }
    }
  if (ok && progress != NULL)
    progress (r->images, r->images, user_data);
  r->cancelled = !ok && g_cancellable_is_cancelled (cancellable);
  r->suggestions = count_current (self, run_id, FALSE);
  r->possible_mistakes = count_current (self, run_id, TRUE);
  r->seconds = (g_get_monotonic_time () - started) / 1e6;
  if (ok && items->len > 0 && r->failed == (gint64) items->len)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                   "None of the %u images could be read", items->len);
      return FALSE;
    }
  return ok;
}

gboolean
sl_project_clear_suggestions (SlProject *self, gint64 run_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, run_id > 0 ? "DELETE FROM suggestions WHERE run_id = ?" : "DELETE FROM suggestions",
      error);

  if (stmt == NULL || !sl_project_check_writable (self, error))
    return FALSE;
  if (run_id > 0)
    sqlite3_bind_int64 (stmt, 1, run_id);
  return _sl_project_step_done (self, stmt, error);
}

/* ---- On a worker thread ----------------------------------------------------------------------- */

typedef struct
{
  char *path, *device;
  gint64 run_id;
  SlCheckpointKind checkpoint;
  int threads;
  SlSuggestProgressFunc progress;
  gpointer progress_data;
} SuggestJob;

static void
suggest_job_free (SuggestJob *job)
{
  g_free (job->path);
  g_free (job->device);
  g_free (job);
}

static void
suggest_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SuggestJob *job = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (job->path, &error);
  SlSuggestResult *result = g_new0 (SlSuggestResult, 1);

  if (db == NULL
      || !sl_project_suggest_labels_on (db, job->run_id, job->checkpoint, job->threads, job->device,
                                        job->progress, job->progress_data, cancellable, result,
                                        &error))
    {
      g_free (result);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, result, g_free);
}

void
sl_project_suggest_labels_async (const char *path, gint64 run_id, SlCheckpointKind checkpoint,
                                 int threads, const char *device, SlSuggestProgressFunc progress,
                                 gpointer progress_data, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  SuggestJob *job = g_new0 (SuggestJob, 1);

  g_return_if_fail (path != NULL);
  job->path = g_strdup (path);
  job->device = g_strdup (device);
  job->run_id = run_id;
  job->checkpoint = checkpoint;
  job->threads = threads;
  job->progress = progress;
  job->progress_data = progress_data;
  g_task_set_source_tag (task, sl_project_suggest_labels_async);
  g_task_set_task_data (task, job, (GDestroyNotify) suggest_job_free);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, suggest_thread);
}

SlSuggestResult *
sl_project_suggest_labels_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
