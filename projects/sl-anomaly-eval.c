/* sl-anomaly-eval.c: evaluating anomaly runs: scores per image stored, read back with rates and the ROC. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-private.h"

#include <math.h>
#include <string.h>

/* ---- Storing scores ------------------------------------------------------------------- */

gint64
_sl_anomaly_store_evaluation (SlProject *self, gint64 run_id, SlSplit split,
                              const gint64 *image_ids, const double *scores, gsize n,
                              GError **error)
{
  g_autoptr (sqlite3_stmt) eval = _sl_project_prepare (
      self,
      "INSERT INTO evaluations (run_id, split, checkpoint, top_k, created) VALUES (?, ?, ?, 1, ?)",
      error);
  g_autoptr (sqlite3_stmt) row = _sl_project_prepare (
      self,
      "INSERT INTO anomaly_scores (evaluation_id, image_id, class_name, defect, score) "
      "SELECT ?1, i.id, c.name, c.name <> ?2, ?3 FROM images i JOIN classes c ON c.id = "
      "i.class_id WHERE i.id = ?4",
      error);
  g_autofree char *now = _sl_project_now_iso ();
  gint64 eval_id;

  if (eval == NULL || row == NULL || !_sl_project_begin (self, error))
    return -1;
  sqlite3_bind_int64 (eval, 1, run_id);
  sqlite3_bind_int (eval, 2, split);
  sqlite3_bind_int (eval, 3, SL_CHECKPOINT_BEST);
  sqlite3_bind_text (eval, 4, now, -1, SQLITE_STATIC);
  if (!_sl_project_step_done (self, eval, error))
    goto fail;
  eval_id = sqlite3_last_insert_rowid (self->db);
  for (gsize i = 0; i < n; i++)
    {
      if (!isfinite (scores[i])) /* not scored (the file did not read) */
        continue;
      /* An image that lost its label or left the project meanwhile has no row. */
      sqlite3_reset (row);
      sqlite3_bind_int64 (row, 1, eval_id);
      sqlite3_bind_text (row, 2, SL_ANOMALY_GOOD_CLASS, -1, SQLITE_STATIC);
      sqlite3_bind_double (row, 3, scores[i]);
      sqlite3_bind_int64 (row, 4, image_ids[i]);
      if (!_sl_project_step_done (self, row, error))
        goto fail;
    }
  if (_sl_project_commit (self, error))
    return eval_id;
fail:
  _sl_project_rollback (self);
  return -1;
}

typedef struct
{
  gint64 id;
  char *path;
} ScoreItem;

static void
score_item_clear (gpointer data)
{
  g_free (((ScoreItem *) data)->path);
}

/* The split's labelled, non-ignored images (every class: good and each defect). */
static GArray *
score_items (SlProject *self, SlSplit split, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self,
      "SELECT id, hash, ext FROM images WHERE split = ? AND ignored = 0 AND class_id IS NOT NULL "
      "ORDER BY hash",
      error);
  GArray *items;

  if (stmt == NULL)
    return NULL;
  items = g_array_new (FALSE, FALSE, sizeof (ScoreItem));
  g_array_set_clear_func (items, score_item_clear);
  sqlite3_bind_int (stmt, 1, split);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      ScoreItem item = { sqlite3_column_int64 (stmt, 0),
                         sl_project_image_path (self, (const char *) sqlite3_column_text (stmt, 1),
                                                (const char *) sqlite3_column_text (stmt, 2)) };
      g_array_append_val (items, item);
    }
  return items;
}

gint64
_sl_anomaly_evaluate (SlProject *self, const SlRunInfo *run, SlSplit split, int threads,
                      const char *device, SlEvalProgressFunc progress, gpointer user_data,
                      GCancellable *cancellable, GError **error)
{
  g_autoptr (GArray) items = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autofree sl_prediction *best = NULL;
  g_autofree double *scores = NULL;
  g_autofree gint64 *ids = NULL;
  gint64 failed = 0;

  if ((items = score_items (self, split, error)) == NULL)
    return -1;
  if (items->len == 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                   "The %s split holds no labelled images to score %s on: import good and "
                   "defect images and split the project",
                   sl_split_to_string (split), run->name);
      return -1;
    }
  if ((classifier
       = sl_project_open_classifier (self, run->id, SL_CHECKPOINT_BEST, threads, device, error))
      == NULL)
    return -1;
  if (sl_classifier_kind (classifier) != SL_SLMODEL_ANOMALY)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s is an anomaly run, but its model is not an anomaly model", run->name);
      return -1;
    }
  best = g_new (sl_prediction, items->len);
  scores = g_new (double, items->len);
  ids = g_new (gint64, items->len);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (paths, g_array_index (items, ScoreItem, i).path);
  if (!_sl_evaluation_predict_files (classifier, (const char *const *) paths->pdata, items->len,
                                     progress, user_data, cancellable, best, NULL, &failed, error))
    return -1;
  if (failed == (gint64) items->len)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                   "None of the %u images could be read", items->len);
      return -1;
    }
  for (guint i = 0; i < items->len; i++)
    {
      ids[i] = g_array_index (items, ScoreItem, i).id;
      scores[i] = best[i].class_index >= 0 ? (double) best[i].anomaly_score : NAN;
    }
  return _sl_anomaly_store_evaluation (self, run->id, split, ids, scores, items->len, error);
}

/* ---- Reading an evaluation back ----------------------------------------------------------- */

gboolean
sl_project_evaluation_is_anomaly (SlProject *self, gint64 evaluation_id)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (self->schema_version < 3) /* a read-only project of an older format */
    return FALSE;
  stmt = _sl_project_prepare (self, "SELECT 1 FROM anomaly_scores WHERE evaluation_id = ? LIMIT 1",
                              NULL);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, evaluation_id);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

static void
anomaly_score_free (SlAnomalyScore *s)
{
  g_free (s->original_path);
  g_free (s->hash);
  g_free (s->ext);
  g_free (s->class_name);
  g_free (s);
}

void
sl_anomaly_evaluation_free (SlAnomalyEvaluation *e)
{
  if (e == NULL)
    return;
  if (e->scores != NULL)
    g_ptr_array_unref (e->scores);
  if (e->roc != NULL)
    g_array_unref (e->roc);
  sl_anomaly_threshold_clear (&e->run_threshold);
  g_free (e->created);
  g_free (e->statement);
  g_free (e);
}

/* Counts images flagged at the threshold in use, as the runtime decides (in float). */
static void
apply_threshold (SlAnomalyEvaluation *e)
{
  gboolean known = !isnan (e->threshold);

  e->false_rejects = e->escapes = 0;
  for (guint i = 0; i < e->scores->len; i++)
    {
      SlAnomalyScore *s = g_ptr_array_index (e->scores, i);

      s->flagged = known && (float) s->score > (float) e->threshold;
      if (s->defect)
        e->escapes += !s->flagged;
      else
        e->false_rejects += s->flagged;
    }
  e->false_reject = known && e->good > 0 ? (double) e->false_rejects / e->good : NAN;
  e->escape = known && e->defects > 0 ? (double) e->escapes / e->defects : NAN;
  e->false_reject_upper95 = known ? _sl_anomaly_upper95 (e->false_rejects, e->good) : NAN;
}

static char *
evaluation_statement (const SlAnomalyEvaluation *e)
{
  g_autofree char *fr = _sl_anomaly_percent (e->false_reject);
  g_autofree char *esc = _sl_anomaly_percent (e->escape);
  g_autofree char *bound = _sl_anomaly_percent (e->false_reject_upper95);
  const char *split = sl_split_to_string (e->split);
  GString *out = g_string_new (NULL);

  if (isnan (e->threshold))
    return g_strdup ("The run has no threshold yet and none is set by hand: set one with "
                     "'sightline-cli threshold' or fit the run again.");
  if (isinf (e->threshold))
    g_string_append (out, "Without a threshold (the run had no good validation images to choose "
                          "one from; set one with 'sightline-cli threshold'), ");
  else
    g_string_append_printf (out, "At threshold %.6g (%s), ", e->threshold,
                            e->threshold_manual ? "set by hand" : "the run's, from good images");
  if (e->good > 0)
    g_string_append_printf (out, "%lld of %lld good %s images (%s %%) are flagged",
                            (long long) e->false_rejects, (long long) e->good, split, fr);
  else
    g_string_append_printf (out, "no good %s images tell the false-reject rate", split);
  if (e->defects > 0)
    g_string_append_printf (out, " and %lld of %lld defect images (%s %%) escape",
                            (long long) e->escapes, (long long) e->defects, esc);
  else
    g_string_append (out, "; there are no defect images to measure escapes");
  if (e->good > 0)
    g_string_append_printf (out,
                            ". With 95 %% confidence new good parts are flagged at most %s %% of "
                            "the time.",
                            bound);
  else
    g_string_append (out, ".");
  return g_string_free (out, FALSE);
}

/* The image scores of an evaluation, highest first. */
static gboolean
read_scores (SlProject *self, SlAnomalyEvaluation *e, GArray *good, GArray *defect, GError **error)
{
  g_autoptr (sqlite3_stmt) rows = _sl_project_prepare (
      self,
      "SELECT a.image_id, i.original_path, i.hash, i.ext, a.class_name, a.defect, a.score FROM "
      "anomaly_scores a JOIN images i ON i.id = a.image_id WHERE a.evaluation_id = ? ORDER BY "
      "a.score DESC, a.image_id",
      error);
  int rc;

  if (rows == NULL)
    return FALSE;
  sqlite3_bind_int64 (rows, 1, e->id);
  while ((rc = sqlite3_step (rows)) == SQLITE_ROW)
    {
      SlAnomalyScore *s = g_new0 (SlAnomalyScore, 1);

      s->image_id = sqlite3_column_int64 (rows, 0);
      s->original_path = _sl_sqlite_dup_text (rows, 1);
      s->hash = _sl_sqlite_dup_text (rows, 2);
      s->ext = _sl_sqlite_dup_text (rows, 3);
      s->class_name = _sl_sqlite_dup_text (rows, 4);
      s->defect = sqlite3_column_int (rows, 5) != 0;
      s->score = sqlite3_column_double (rows, 6);
      g_ptr_array_add (e->scores, s);
      g_array_append_val (s->defect ? defect : good, s->score);
    }
  if (rc != SQLITE_DONE)
    {
      _sl_project_set_db_error (self, error, "Could not read the evaluation's scores");
      return FALSE;
    }
  return TRUE;
}

void
sl_anomaly_evaluation_apply_threshold (SlAnomalyEvaluation *e, double threshold, gboolean manual)
{
  g_return_if_fail (e != NULL);
  e->threshold = threshold;
  e->threshold_manual = manual;
  apply_threshold (e);
  g_free (e->statement);
  e->statement = evaluation_statement (e);
}

SlAnomalyEvaluation *
sl_project_get_anomaly_evaluation (SlProject *self, gint64 evaluation_id, GError **error)
{
  g_autoptr (sqlite3_stmt) head = NULL;
  g_autoptr (SlAnomalyEvaluation) e = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) good = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) defect = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GError) no_threshold = NULL;
  double manual;
  char id[32];

  g_return_val_if_fail (self != NULL, NULL);
  head = _sl_project_prepare (self, "SELECT run_id, split, created FROM evaluations WHERE id = ?",
                              error);
  if (head == NULL)
    return NULL;
  sqlite3_bind_int64 (head, 1, evaluation_id);
  if (sqlite3_step (head) != SQLITE_ROW)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "There is no evaluation %lld", (long long) evaluation_id);
      return NULL;
    }
  if (!sl_project_evaluation_is_anomaly (self, evaluation_id))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "Evaluation %lld is not of an anomaly run: read it with "
                   "sl_project_get_evaluation",
                   (long long) evaluation_id);
      return NULL;
    }
  e = g_new0 (SlAnomalyEvaluation, 1);
  e->id = evaluation_id;
  e->run_id = sqlite3_column_int64 (head, 0);
  e->split = sqlite3_column_int (head, 1);
  e->created = _sl_sqlite_dup_text (head, 2);
  e->scores = g_ptr_array_new_with_free_func ((GDestroyNotify) anomaly_score_free);
  g_snprintf (id, sizeof id, "%lld", (long long) e->run_id);
  if ((run = sl_project_get_run (self, id, error)) == NULL
      || !read_scores (self, e, good, defect, error))
    return NULL;
  e->good = good->len;
  e->defects = defect->len;
  e->auroc
      = sl_anomaly_auroc ((double *) good->data, good->len, (double *) defect->data, defect->len);
  e->roc = sl_anomaly_roc ((double *) good->data, good->len, (double *) defect->data, defect->len);
  /* A threshold set by hand for this run wins over the run's own (always respected). */
  if (!sl_run_get_anomaly_threshold (self, run, &e->run_threshold, &no_threshold))
    {
      e->run_threshold.threshold = NAN;
      e->run_threshold.observed_false_reject = NAN;
      e->run_threshold.false_reject_upper95 = NAN;
      e->run_threshold.statement = g_strdup (no_threshold->message);
      e->run_threshold.target_false_reject = sl_project_get_target_false_reject (self);
    }
  if (sl_project_get_run_anomaly_threshold (self, e->run_id, &manual))
    sl_anomaly_evaluation_apply_threshold (e, manual, TRUE);
  else
    sl_anomaly_evaluation_apply_threshold (e, e->run_threshold.threshold, FALSE);
  return g_steal_pointer (&e);
}
