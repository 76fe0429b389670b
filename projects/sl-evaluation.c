/* sl-evaluation.c: evaluating a run on a split, storing each prediction, and metrics from them. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-private.h"

#include <math.h>
#include <string.h>

#define EVAL_BATCH 64

typedef struct
{
  gint64 image_id;
  char *path;
  int label;
} EvalItem;

static void
eval_item_clear (gpointer data)
{
  g_free (((EvalItem *) data)->path);
}

/* The split's labelled, non-ignored images of the run's classes, by content hash. */
static GArray *
eval_items (SlProject *db, const SlRunInfo *run, SlSplit split, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      db,
      "SELECT id, hash, ext, class_id FROM images WHERE split = ? AND ignored = 0 AND class_id IS "
      "NOT NULL ORDER BY hash",
      error);
  GArray *items;

  if (stmt == NULL)
    return NULL;
  items = g_array_new (FALSE, FALSE, sizeof (EvalItem));
  g_array_set_clear_func (items, eval_item_clear);
  sqlite3_bind_int (stmt, 1, split);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 class_id = sqlite3_column_int64 (stmt, 3);

      for (guint c = 0; c < run->class_names->len; c++)
        if (run->class_ids[c] == class_id)
          {
            EvalItem item
                = { sqlite3_column_int64 (stmt, 0),
                    sl_project_image_path (db, (const char *) sqlite3_column_text (stmt, 1),
                                           (const char *) sqlite3_column_text (stmt, 2)),
                    (int) c };
            g_array_append_val (items, item);
            break;
          }
    }
  return items;
}

static gboolean
store_predictions (SlProject *db, gint64 run_id, SlSplit split, SlCheckpointKind checkpoint,
                   int top_k, GArray *items, const sl_prediction *best, const float *probs,
                   int classes, gint64 *eval_id, GError **error)
{
  g_autoptr (sqlite3_stmt) eval = _sl_project_prepare (
      db,
      "INSERT INTO evaluations (run_id, split, checkpoint, top_k, created) VALUES (?, ?, ?, ?, ?)",
      error);
  g_autoptr (sqlite3_stmt) pred
      = _sl_project_prepare (db, "INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?)", error);
  g_autofree char *now = _sl_project_now_iso ();

  if (eval == NULL || pred == NULL || !_sl_project_begin (db, error))
    return FALSE;
  sqlite3_bind_int64 (eval, 1, run_id);
  sqlite3_bind_int (eval, 2, split);
  sqlite3_bind_int (eval, 3, checkpoint);
  sqlite3_bind_int (eval, 4, top_k);
  sqlite3_bind_text (eval, 5, now, -1, SQLITE_STATIC);
  if (!_sl_project_step_done (db, eval, error))
    goto fail;
  *eval_id = sqlite3_last_insert_rowid (db->db);
  for (guint i = 0; i < items->len; i++)
    {
      const EvalItem *item = &g_array_index (items, EvalItem, i);
      const float *p = probs + (gsize) i * classes;

      if (best[i].class_index < 0) /* not predicted: its file could not be read */
        continue;
      sqlite3_reset (pred);
      sqlite3_bind_int64 (pred, 1, *eval_id);
      sqlite3_bind_int64 (pred, 2, item->image_id);
      sqlite3_bind_int (pred, 3, item->label);
      sqlite3_bind_int (pred, 4, best[i].class_index);
      sqlite3_bind_double (pred, 5, best[i].confidence);
      sqlite3_bind_blob (pred, 6, p, (int) (sizeof (float) * classes), SQLITE_STATIC);
      if (!_sl_project_step_done (db, pred, error))
        goto fail;
    }
  if (_sl_project_commit (db, error))
    return TRUE;
fail:
  _sl_project_rollback (db);
  return FALSE;
}

gint64
sl_project_evaluate (SlProject *self, gint64 run_id, SlSplit split, SlCheckpointKind checkpoint,
                     int top_k, int threads, SlEvalProgressFunc progress, gpointer user_data,
                     GCancellable *cancellable, GError **error)
{
  return sl_project_evaluate_on (self, run_id, split, checkpoint, top_k, threads, NULL, progress,
                                 user_data, cancellable, error);
}

/* Predicts the n decoded images in one batch: out and probs receive them packed. A
 * batch that fails (an image the pipeline refuses) is predicted image by image,
 * and the images that fail alone are skipped, warned about and marked with
 * class_index -1. FALSE only when the model itself fails. */
static gboolean
predict_batch (sl_classifier *classifier, const sl_image *images, guint n, const char *const *paths,
               sl_prediction *out, float *probs, gint64 *failed, GError **error)
{
  int classes = sl_classifier_class_count (classifier);
  sl_error err = { 0 };

  if (sl_classifier_predict_images (classifier, images, (int32_t) n, out, probs, &err) == SL_OK)
    return TRUE;
  for (guint j = 0; j < n; j++)
    {
      sl_status st = sl_classifier_predict_image (classifier, &images[j], &out[j],
                                                  probs + (gsize) j * classes, &err);

      if (st == SL_ERR_NOMEM || st == SL_ERR_DEVICE || st == SL_ERR_LIMIT)
        {
          _sl_project_set_runtime_error (error, &err, "Prediction failed");
          return FALSE;
        }
      if (st != SL_OK)
        {
          (*failed)++;
          out[j].class_index = -1;
          g_warning ("skipping %s: %s", paths[j], err.message);
        }
    }
  return TRUE;
}

gboolean
_sl_evaluation_predict_files (sl_classifier *classifier, const char *const *all_paths, guint n_all,
                              SlEvalProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, sl_prediction *best, float *probs,
                              gint64 *failed, GError **error)
{
  int classes = sl_classifier_class_count (classifier);
  g_autofree float *scratch = probs == NULL ? g_new (float, (gsize) classes *EVAL_BATCH) : NULL;

  for (guint i = 0; i < n_all; i++)
    sl_prediction_init (&best[i]); /* class_index -1: not predicted */
  /* Images are decoded one by one so that every prediction belongs to a known image. */
  for (guint start = 0; start < n_all; start += EVAL_BATCH)
    {
      sl_image images[EVAL_BATCH];
      sl_prediction out[EVAL_BATCH];
      const char *paths[EVAL_BATCH];
      float *batch_probs = probs != NULL ? probs + (gsize) start * classes : scratch;
      guint n = 0, slot[EVAL_BATCH];
      gboolean ok = TRUE;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      for (guint i = start; i < MIN (n_all, start + EVAL_BATCH); i++)
        {
          sl_error err = { 0 };

          if (sl_image_load (all_paths[i], 0, &images[n], &err) == SL_OK)
            {
              paths[n] = all_paths[i];
              sl_prediction_init (&out[n]);
              slot[n++] = i;
            }
          else
            {
              (*failed)++;
              g_warning ("skipping %s: %s", all_paths[i], err.message);
            }
        }
      if (n > 0)
        ok = predict_batch (classifier, images, n, paths, out, batch_probs, failed, error);
      for (guint j = 0; j < n; j++)
        sl_image_clear (&images[j]);
      if (!ok)
        return FALSE;
      /* Predictions came out packed; move each to its image's place. */
      for (int j = (int) n - 1; j >= 0; j--)
        {
          if (probs != NULL)
            memmove (probs + (gsize) slot[j] * classes, probs + ((gsize) start + j) * classes,
                     sizeof (float) * classes);
          best[slot[j]] = out[j];
        }
      if (progress != NULL)
        progress (MIN (n_all, start + EVAL_BATCH), n_all, user_data);
    }
  return TRUE;
}

gint64
sl_project_evaluate_on (SlProject *self, gint64 run_id, SlSplit split, SlCheckpointKind checkpoint,
                        int top_k, int threads, const char *device, SlEvalProgressFunc progress,
                        gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) items = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autofree float *probs = NULL;
  g_autofree sl_prediction *best = NULL;
  gint64 eval_id = -1, failed = 0;
  char id[32];
  int classes;

  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((run = sl_project_get_run (self, id, error)) == NULL)
    return -1;
  /* An anomaly run is scored, not classified (sl-anomaly-eval.c). */
  if (sl_run_info_is_anomaly (run))
    return _sl_anomaly_evaluate (self, run, split, threads, device, progress, user_data,
                                 cancellable, error);
  if ((items = eval_items (self, run, split, error)) == NULL)
    return -1;
  if (items->len == 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                   "The %s split holds no labelled images of %s's classes to evaluate on",
                   sl_split_to_string (split), run->name);
      return -1;
    }
  if ((classifier = _sl_run_open_classifier (self, run, checkpoint, threads, device, error))
      == NULL)
    return -1;
  classes = sl_classifier_class_count (classifier);
  probs = g_new (float, (gsize) classes * items->len);
  best = g_new (sl_prediction, items->len);
  paths = g_ptr_array_new ();
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (paths, g_array_index (items, EvalItem, i).path);
  if (!_sl_evaluation_predict_files (classifier, (const char *const *) paths->pdata, items->len,
                                     progress, user_data, cancellable, best, probs, &failed, error))
    return -1;
  if (failed == (gint64) items->len)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                   "None of the %u images could be read", items->len);
      return -1;
    }
  top_k = CLAMP (top_k, 1, classes);
  if (!store_predictions (self, run_id, split, checkpoint, top_k, items, best, probs, classes,
                          &eval_id, error))
    eval_id = -1;
  return eval_id;
}

gint64
sl_project_find_evaluation (SlProject *self, gint64 run_id, SlSplit split, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "SELECT id FROM evaluations WHERE run_id = ? AND split = ? ORDER BY id DESC LIMIT 1",
      error);

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_int (stmt, 2, split);
  return sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : -1;
}

static void
prediction_free (SlImagePrediction *p)
{
  g_free (p->original_path);
  g_free (p->hash);
  g_free (p->ext);
  g_free (p);
}

void
sl_evaluation_free (SlEvaluation *e)
{
  if (e == NULL)
    return;
  if (e->class_names != NULL)
    g_ptr_array_unref (e->class_names);
  g_free (e->precision);
  g_free (e->recall);
  g_free (e->f1);
  g_free (e->support);
  g_free (e->confusion);
  if (e->confident_mistakes != NULL)
    g_ptr_array_unref (e->confident_mistakes);
  if (e->unsure_correct != NULL)
    g_ptr_array_unref (e->unsure_correct);
  g_free (e->created);
  g_free (e);
}

static sqlite3_stmt *
prepare_predictions (SlProject *self, gint64 evaluation_id, GError **error)
{
  sqlite3_stmt *rows = _sl_project_prepare (
      self,
      "SELECT p.image_id, i.original_path, p.true_class, p.predicted_class, p.confidence, "
      "p.probabilities, i.hash, i.ext FROM predictions p JOIN images i ON i.id = p.image_id "
      "WHERE p.evaluation_id = ? ORDER BY p.image_id",
      error);

  if (rows != NULL)
    sqlite3_bind_int64 (rows, 1, evaluation_id);
  return rows;
}

/* One row of prepare_predictions for a model of k classes; *rank receives how
 * many classes were more probable than the true one. */
static SlImagePrediction *
read_prediction (sqlite3_stmt *rows, int k, gint64 evaluation_id, int *rank, GError **error)
{
  SlImagePrediction *p = g_new0 (SlImagePrediction, 1);
  const float *probs = sqlite3_column_blob (rows, 5);
  int bytes = sqlite3_column_bytes (rows, 5);

  p->image_id = sqlite3_column_int64 (rows, 0);
  p->original_path = _sl_sqlite_dup_text (rows, 1);
  p->true_class = sqlite3_column_int (rows, 2);
  p->predicted_class = sqlite3_column_int (rows, 3);
  p->confidence = sqlite3_column_double (rows, 4);
  p->hash = _sl_sqlite_dup_text (rows, 6);
  p->ext = _sl_sqlite_dup_text (rows, 7);
  if (p->true_class < 0 || p->true_class >= k || p->predicted_class < 0 || p->predicted_class >= k
      || bytes != (int) sizeof (float) * k)
    {
      prediction_free (p);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATABASE,
                   "Evaluation %lld holds a malformed prediction", (long long) evaluation_id);
      return NULL;
    }
  p->true_probability = probs[p->true_class];
  *rank = 0;
  for (int c = 0; c < k; c++)
    *rank += probs[c] > probs[p->true_class];
  return p;
}

/* The class count of the run an evaluation belongs to, or -1. */
static int
evaluation_classes (SlProject *self, gint64 evaluation_id, GError **error)
{
  g_autoptr (sqlite3_stmt) head
      = _sl_project_prepare (self, "SELECT run_id FROM evaluations WHERE id = ?", error);
  g_autoptr (SlRunInfo) run = NULL;
  char id[32];

  if (head == NULL)
    return -1;
  sqlite3_bind_int64 (head, 1, evaluation_id);
  if (sqlite3_step (head) != SQLITE_ROW)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "There is no evaluation %lld", (long long) evaluation_id);
      return -1;
    }
  g_snprintf (id, sizeof id, "%lld", (long long) sqlite3_column_int64 (head, 0));
  if ((run = sl_project_get_run (self, id, error)) == NULL)
    return -1;
  return (int) run->class_names->len;
}

/* Class metrics and predictions do not apply to an anomaly run's scores. */
static gboolean
refuse_anomaly (SlProject *self, gint64 evaluation_id, GError **error)
{
  if (!sl_project_evaluation_is_anomaly (self, evaluation_id))
    return TRUE;
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
               "Evaluation %lld scored an anomaly run: read it with "
               "sl_project_get_anomaly_evaluation",
               (long long) evaluation_id);
  return FALSE;
}

GPtrArray *
sl_project_list_predictions (SlProject *self, gint64 evaluation_id, GError **error)
{
  g_autoptr (sqlite3_stmt) rows = NULL;
  g_autoptr (GPtrArray) list = NULL;
  int k, rank;

  if (!refuse_anomaly (self, evaluation_id, error))
    return NULL;
  k = evaluation_classes (self, evaluation_id, error);
  if (k < 0 || (rows = prepare_predictions (self, evaluation_id, error)) == NULL)
    return NULL;
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) prediction_free);
  while (sqlite3_step (rows) == SQLITE_ROW)
    {
      SlImagePrediction *p = read_prediction (rows, k, evaluation_id, &rank, error);

      if (p == NULL)
        return NULL;
      g_ptr_array_add (list, p);
    }
  return g_steal_pointer (&list);
}

void
sl_threshold_stats (SlImagePrediction *const *predictions, gsize n, double threshold,
                    SlThresholdStats *stats)
{
  memset (stats, 0, sizeof *stats);
  for (gsize i = 0; i < n; i++)
    {
      const SlImagePrediction *p = predictions[i];
      gboolean right = p->true_class == p->predicted_class;
      /* In float, as the runtime compares its probabilities. */
      gboolean accepted = !((float) p->confidence < (float) threshold);

      stats->images++;
      stats->mistakes += !right;
      if (accepted)
        {
          stats->accepted++;
          stats->correct_accepted += right;
        }
      else
        stats->mistakes_rejected += !right;
    }
  stats->accuracy_accepted
      = stats->accepted > 0 ? (double) stats->correct_accepted / stats->accepted : NAN;
  stats->reject_rate
      = stats->images > 0 ? (double) (stats->images - stats->accepted) / stats->images : 0.0;
  stats->mistakes_caught
      = stats->mistakes > 0 ? (double) stats->mistakes_rejected / stats->mistakes : 0.0;
}

static int
by_confidence_desc (gconstpointer a, gconstpointer b)
{
  const SlImagePrediction *x = *(SlImagePrediction *const *) a,
                          *y = *(SlImagePrediction *const *) b;

  return x->confidence < y->confidence ? 1 : x->confidence > y->confidence ? -1 : 0;
}

static int
by_confidence_asc (gconstpointer a, gconstpointer b)
{
  return -by_confidence_desc (a, b);
}

/* Per-class precision, recall and F1 from the confusion matrix; the macro F1 over the classes
 * present in the split or predicted (as scikit-learn's f1_score (average="macro") does). */
void
sl_evaluation_compute_class_metrics (SlEvaluation *e)
{
  const int k = e->classes;
  double f1_sum = 0;
  int counted = 0;

  for (int c = 0; c < k; c++)
    {
      gint64 tp = e->confusion[c * k + c], predicted = 0;

      for (int t = 0; t < k; t++)
        predicted += e->confusion[t * k + c];
      e->precision[c] = predicted > 0 ? (double) tp / predicted : 0.0;
      e->recall[c] = e->support[c] > 0 ? (double) tp / e->support[c] : 0.0;
      e->f1[c] = e->precision[c] + e->recall[c] > 0
                     ? 2 * e->precision[c] * e->recall[c] / (e->precision[c] + e->recall[c])
                     : 0.0;
      if (e->support[c] > 0 || predicted > 0)
        {
          f1_sum += e->f1[c];
          counted++;
        }
    }
  e->macro_f1 = counted > 0 ? f1_sum / counted : 0.0;
}

SlEvaluation *
sl_project_get_evaluation (SlProject *self, gint64 evaluation_id, int list_length, GError **error)
{
  g_autoptr (sqlite3_stmt) head = _sl_project_prepare (
      self, "SELECT run_id, split, checkpoint, top_k, created FROM evaluations WHERE id = ?",
      error);
  g_autoptr (sqlite3_stmt) rows = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GPtrArray) wrong = NULL, right = NULL;
  gint64 correct = 0, top_hits = 0;
  char id[32];
  int k, rank;

  if (head == NULL || !refuse_anomaly (self, evaluation_id, error))
    return NULL;
  sqlite3_bind_int64 (head, 1, evaluation_id);
  if (sqlite3_step (head) != SQLITE_ROW)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "There is no evaluation %lld", (long long) evaluation_id);
      return NULL;
    }
  e = g_new0 (SlEvaluation, 1);
  e->id = evaluation_id;
  e->run_id = sqlite3_column_int64 (head, 0);
  e->split = sqlite3_column_int (head, 1);
  e->checkpoint = sqlite3_column_int (head, 2);
  e->top_k = sqlite3_column_int (head, 3);
  e->created = _sl_sqlite_dup_text (head, 4);
  g_snprintf (id, sizeof id, "%lld", (long long) e->run_id);
  if ((run = sl_project_get_run (self, id, error)) == NULL)
    return NULL;
  k = e->classes = run->class_names->len;
  e->class_names = g_ptr_array_ref (run->class_names);
  e->precision = g_new0 (double, k);
  e->recall = g_new0 (double, k);
  e->f1 = g_new0 (double, k);
  e->support = g_new0 (gint64, k);
  e->confusion = g_new0 (gint64, (gsize) k * k);
  wrong = g_ptr_array_new_with_free_func ((GDestroyNotify) prediction_free);
  right = g_ptr_array_new_with_free_func ((GDestroyNotify) prediction_free);
  if ((rows = prepare_predictions (self, evaluation_id, error)) == NULL)
    return NULL;
  while (sqlite3_step (rows) == SQLITE_ROW)
    {
      SlImagePrediction *p = read_prediction (rows, k, evaluation_id, &rank, error);

      if (p == NULL)
        return NULL;
      /* Top-k: the true class is among the k most probable. */
      top_hits += rank < e->top_k;
      e->images++;
      e->support[p->true_class]++;
      e->confusion[p->true_class * k + p->predicted_class]++;
      if (p->true_class == p->predicted_class)
        {
          correct++;
          g_ptr_array_add (right, p);
        }
      else
        g_ptr_array_add (wrong, p);
    }
  e->accuracy = e->images > 0 ? (double) correct / e->images : 0.0;
  e->top_k_accuracy = e->images > 0 ? (double) top_hits / e->images : 0.0;
  sl_evaluation_compute_class_metrics (e);
  g_ptr_array_sort (wrong, by_confidence_desc);
  g_ptr_array_sort (right, by_confidence_asc);
  if (list_length >= 0)
    {
      if (wrong->len > (guint) list_length)
        g_ptr_array_set_size (wrong, list_length);
      if (right->len > (guint) list_length)
        g_ptr_array_set_size (right, list_length);
    }
  e->confident_mistakes = g_steal_pointer (&wrong);
  e->unsure_correct = g_steal_pointer (&right);
  return g_steal_pointer (&e);
}
