/* sl-suggest-list.c: reading stored suggestions back: sorted lists, accepting them, possible label mistakes. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-suggest.h"

#include <math.h>
#include <string.h>

#include "sl-anomaly-private.h"

static const char *const sort_names[]
    = { "uncertainty", "margin", "anomaly", "confidence", "image" };

const char *
sl_suggest_sort_to_string (SlSuggestSort sort)
{
  return (guint) sort < G_N_ELEMENTS (sort_names) ? sort_names[sort] : "uncertainty";
}

gboolean
sl_suggest_sort_from_string (const char *name, SlSuggestSort *sort)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (sort_names); i++)
    if (g_ascii_strcasecmp (name, sort_names[i]) == 0)
      {
        *sort = (SlSuggestSort) i;
        return TRUE;
      }
  return FALSE;
}

void
sl_suggest_filter_init (SlSuggestFilter *filter)
{
  memset (filter, 0, sizeof *filter);
  filter->run_id = -1;
  filter->class_id = -2;
  filter->min_confidence = 0;
  filter->max_confidence = 1;
}

void
sl_suggestion_free (SlSuggestion *s)
{
  if (s == NULL)
    return;
  g_free (s->hash);
  g_free (s->ext);
  g_free (s->original_path);
  g_free (s->class_name);
  g_free (s->created);
  g_free (s);
}

void
sl_possible_mistake_free (SlPossibleMistake *m)
{
  if (m == NULL)
    return;
  g_free (m->hash);
  g_free (m->ext);
  g_free (m->original_path);
  g_free (m->label_name);
  g_free (m->predicted_name);
  g_free (m);
}

gint64
sl_project_latest_suggestion_run (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (self->schema_version < 4) /* a read-only project of an older format */
    return -1;
  stmt = _sl_project_prepare (
      self, "SELECT run_id FROM suggestions ORDER BY created DESC, rowid DESC LIMIT 1", error);
  if (stmt == NULL)
    return -1;
  return sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : -1;
}

static double
column_double_or_nan (sqlite3_stmt *stmt, int column)
{
  return sqlite3_column_type (stmt, column) == SQLITE_NULL ? NAN
                                                           : sqlite3_column_double (stmt, column);
}

static gint64
column_id (sqlite3_stmt *stmt, int column)
{
  return sqlite3_column_type (stmt, column) == SQLITE_NULL ? -1
                                                           : sqlite3_column_int64 (stmt, column);
}

/* A suggestion is current while its image is unlabelled, not ignored, and was unlabelled
 * when predicted. */
#define SUGGESTION_COLUMNS                                                                         \
  "SELECT s.image_id, i.hash, i.ext, i.original_path, i.split, s.run_id, s.class_id, c.name, "     \
  "s.confidence, s.margin, s.anomaly_score, s.anomaly_threshold, s.created FROM suggestions s "    \
  "JOIN images i ON i.id = s.image_id LEFT JOIN classes c ON c.id = s.class_id WHERE s.run_id = "  \
  "?1 AND i.ignored = 0 AND i.class_id IS NULL AND s.label_id IS NULL"

/* The margin sort for an anomaly suggestion: how far the score lies from the threshold, as a
 * share of it (nearest to the decision first). */
#define MARGIN_KEY                                                                                 \
  "CASE WHEN s.margin IS NOT NULL THEN s.margin WHEN s.anomaly_threshold > 0 THEN "                \
  "abs (s.anomaly_score - s.anomaly_threshold) / s.anomaly_threshold ELSE 1e300 END"

static const char *
order_by (SlSuggestSort sort)
{
  switch (sort)
    {
      case SL_SUGGEST_SORT_LEAST_CONFIDENT:
        return " ORDER BY ifnull (s.confidence, 1) ASC, s.image_id";
      case SL_SUGGEST_SORT_SMALLEST_MARGIN: return " ORDER BY " MARGIN_KEY " ASC, s.image_id";
      case SL_SUGGEST_SORT_HIGHEST_ANOMALY:
        return " ORDER BY s.anomaly_score IS NULL, s.anomaly_score DESC, s.image_id";
      case SL_SUGGEST_SORT_MOST_CONFIDENT:
        return " ORDER BY ifnull (s.confidence, 1) DESC, s.image_id";
      case SL_SUGGEST_SORT_IMAGE:
      default: return " ORDER BY s.image_id";
    }
}

static SlSuggestion *
read_suggestion (sqlite3_stmt *stmt)
{
  SlSuggestion *s = g_new0 (SlSuggestion, 1);

  s->image_id = sqlite3_column_int64 (stmt, 0);
  s->hash = _sl_sqlite_dup_text (stmt, 1);
  s->ext = _sl_sqlite_dup_text (stmt, 2);
  s->original_path = _sl_sqlite_dup_text (stmt, 3);
  s->split = sqlite3_column_int (stmt, 4);
  s->run_id = sqlite3_column_int64 (stmt, 5);
  s->class_id = column_id (stmt, 6);
  s->class_name = _sl_sqlite_dup_text (stmt, 7);
  s->confidence = column_double_or_nan (stmt, 8);
  s->margin = column_double_or_nan (stmt, 9);
  s->anomaly_score = column_double_or_nan (stmt, 10);
  s->anomaly_threshold = column_double_or_nan (stmt, 11);
  s->created = _sl_sqlite_dup_text (stmt, 12);
  return s;
}

/* Confidences compare in float, as the runtime computed them (a stored 0.9f is "0.9"). An
 * anomaly suggestion's NAN counts as 1. */
static gboolean
confidence_at_least (double confidence, double bound)
{
  return isnan (confidence) ? 1.0f >= (float) bound : (float) confidence >= (float) bound;
}

static gboolean
confidence_at_most (double confidence, double bound)
{
  return isnan (confidence) ? 1.0f <= (float) bound : (float) confidence <= (float) bound;
}

static gboolean
class_matches (gint64 class_id, gint64 wanted)
{
  return wanted == -2 || class_id == wanted;
}

GPtrArray *
sl_project_list_suggestions (SlProject *self, SlSuggestSort sort, const SlSuggestFilter *filter,
                             GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_suggestion_free);
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = NULL;
  SlSuggestFilter defaults;
  gint64 run_id;

  if (filter == NULL)
    {
      sl_suggest_filter_init (&defaults);
      filter = &defaults;
    }
  if ((guint) sort >= G_N_ELEMENTS (sort_names))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID, "There is no sort %d", sort);
      return NULL;
    }
  run_id = filter->run_id > 0 ? filter->run_id : sl_project_latest_suggestion_run (self, error);
  if (run_id <= 0 || self->schema_version < 4)
    return error == NULL || *error == NULL ? g_steal_pointer (&list) : NULL;
  sql = g_strconcat (SUGGESTION_COLUMNS, order_by (sort), NULL);
  if ((stmt = _sl_project_prepare (self, sql, error)) == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      SlSuggestion *s = read_suggestion (stmt);

      if (!class_matches (s->class_id, filter->class_id)
          || !confidence_at_least (s->confidence, filter->min_confidence)
          || !confidence_at_most (s->confidence, filter->max_confidence))
        {
          sl_suggestion_free (s);
          continue;
        }
      g_ptr_array_add (list, s);
      if (filter->limit > 0 && list->len >= (guint) filter->limit)
        break;
    }
  return g_steal_pointer (&list);
}

SlSuggestion *
sl_project_get_suggestion (SlProject *self, gint64 run_id, gint64 image_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GError) local = NULL;

  if (run_id <= 0 && (run_id = sl_project_latest_suggestion_run (self, &local)) <= 0)
    {
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                     "No labels were suggested yet (sightline-cli label PROJECT --suggest)");
      return NULL;
    }
  if ((stmt = _sl_project_prepare (self, SUGGESTION_COLUMNS " AND s.image_id = ?2", error)) == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_int64 (stmt, 2, image_id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return read_suggestion (stmt);
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
               "Image %lld has no current suggestion from run-%lld", (long long) image_id,
               (long long) run_id);
  return NULL;
}

/* Labels one image with its current suggestion when it passes; *done counts it. */
static gboolean
accept_one (SlProject *self, sqlite3_stmt *find, sqlite3_stmt *label, gint64 run_id,
            gint64 image_id, double min_confidence, GArray *accepted, GError **error)
{
  gint64 class_id;
  double confidence;

  sqlite3_reset (find);
  sqlite3_bind_int64 (find, 1, run_id);
  sqlite3_bind_int64 (find, 2, image_id);
  if (sqlite3_step (find) != SQLITE_ROW)
    return TRUE; /* no current suggestion */
  class_id = column_id (find, 0);
  confidence = column_double_or_nan (find, 1);
  if (class_id < 0)
    return TRUE; /* an anomaly without a defect class to name */
  if (min_confidence > 0 && (isnan (confidence) || (float) confidence < (float) min_confidence))
    return TRUE;
  sqlite3_reset (label);
  sqlite3_bind_int64 (label, 1, class_id);
  sqlite3_bind_int64 (label, 2, image_id);
  if (!_sl_project_step_done (self, label, error))
    return FALSE;
  g_array_append_val (accepted, image_id);
  return TRUE;
}

gint64
sl_project_accept_suggestions (SlProject *self, gint64 run_id, const gint64 *image_ids, gsize n,
                               double min_confidence, GArray **accepted_ids, GError **error)
{
  g_autoptr (GArray) accepted = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) all = NULL;
  g_autoptr (sqlite3_stmt) find = NULL, label = NULL;
  g_autoptr (GError) local = NULL;

  if (accepted_ids != NULL)
    *accepted_ids = NULL;
  if (!sl_project_check_writable (self, error))
    return -1;
  if (run_id <= 0 && (run_id = sl_project_latest_suggestion_run (self, &local)) <= 0)
    {
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                     "No labels were suggested yet: suggest them first (sightline-cli label "
                     "PROJECT --suggest)");
      return -1;
    }
  if (isnan (min_confidence) || min_confidence > 1)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "A confidence to accept above is a number from 0 to 1");
      return -1;
    }
  if (image_ids == NULL)
    {
      g_autoptr (GPtrArray) list = NULL;
      SlSuggestFilter filter;

      sl_suggest_filter_init (&filter);
      filter.run_id = run_id;
      if ((list = sl_project_list_suggestions (self, SL_SUGGEST_SORT_IMAGE, &filter, error))
          == NULL)
        return -1;
      all = g_array_sized_new (FALSE, FALSE, sizeof (gint64), list->len);
      for (guint i = 0; i < list->len; i++)
        g_array_append_val (all, ((SlSuggestion *) g_ptr_array_index (list, i))->image_id);
      image_ids = (const gint64 *) all->data;
      n = all->len;
    }
  find = _sl_project_prepare (self,
                              "SELECT s.class_id, s.confidence FROM suggestions s JOIN images i ON "
                              "i.id = s.image_id WHERE s.run_id = ?1 AND s.image_id = ?2 AND "
                              "i.ignored = 0 AND i.class_id IS NULL AND s.label_id IS NULL",
                              error);
  label = _sl_project_prepare (self, "UPDATE images SET class_id = ?1 WHERE id = ?2", error);
  if (find == NULL || label == NULL || !_sl_project_begin (self, error))
    return -1;
  for (gsize i = 0; i < n; i++)
    if (!accept_one (self, find, label, run_id, image_ids[i], min_confidence, accepted, error))
      {
        _sl_project_rollback (self);
        return -1;
      }
  if (!_sl_project_commit (self, error))
    {
      _sl_project_rollback (self);
      return -1;
    }
  if (accepted_ids != NULL)
    *accepted_ids = g_array_ref (accepted);
  return accepted->len;
}

/* ---- Possible label mistakes -------------------------------------------------------------------- */

static int
by_evidence (gconstpointer a, gconstpointer b)
{
  const SlPossibleMistake *x = *(SlPossibleMistake *const *) a,
                          *y = *(SlPossibleMistake *const *) b;
  double kx = isnan (x->confidence) ? x->anomaly_score : x->confidence;
  double ky = isnan (y->confidence) ? y->anomaly_score : y->confidence;

  if (x->trained != y->trained)
    return x->trained ? 1 : -1;
  if (kx != ky)
    return kx < ky ? 1 : -1;
  return x->image_id < y->image_id ? -1 : x->image_id > y->image_id;
}

/* Whether a labelled image's stored prediction contradicts its label strongly enough. */
static gboolean
is_mistake (SlProject *self, const SlPossibleMistake *m, double threshold, double min_confidence)
{
  if (isnan (m->confidence)) /* an anomaly run: a good part scored as an anomaly */
    return sl_project_is_good_class (self, m->label_id) && !isnan (m->anomaly_score)
           && !isnan (threshold) && m->anomaly_score > threshold;
  return m->predicted_id >= 0 && (float) m->confidence >= (float) min_confidence;
}

GPtrArray *
sl_project_list_possible_mistakes (SlProject *self, gint64 run_id, double min_confidence,
                                   GError **error)
{
  g_autoptr (GPtrArray) list
      = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_possible_mistake_free);
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GError) local = NULL;

  if (min_confidence <= 0 || isnan (min_confidence))
    min_confidence = SL_SUGGEST_MISTAKE_CONFIDENCE;
  if (run_id <= 0 && (run_id = sl_project_latest_suggestion_run (self, &local)) <= 0)
    {
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      return g_steal_pointer (&list);
    }
  stmt = _sl_project_prepare (
      self,
      "SELECT s.image_id, i.hash, i.ext, i.original_path, i.split, s.run_id, i.class_id, lc.name, "
      "s.class_id, pc.name, s.confidence, s.anomaly_score, s.anomaly_threshold FROM suggestions "
      "s JOIN images i ON i.id = s.image_id JOIN classes lc ON lc.id = i.class_id LEFT JOIN "
      "classes pc ON pc.id = s.class_id WHERE s.run_id = ? AND i.ignored = 0 AND s.label_id IS "
      "i.class_id AND s.class_id IS NOT i.class_id",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      SlPossibleMistake *m = g_new0 (SlPossibleMistake, 1);
      double threshold = column_double_or_nan (stmt, 12);

      m->image_id = sqlite3_column_int64 (stmt, 0);
      m->hash = _sl_sqlite_dup_text (stmt, 1);
      m->ext = _sl_sqlite_dup_text (stmt, 2);
      m->original_path = _sl_sqlite_dup_text (stmt, 3);
      m->split = sqlite3_column_int (stmt, 4);
      m->run_id = sqlite3_column_int64 (stmt, 5);
      m->label_id = sqlite3_column_int64 (stmt, 6);
      m->label_name = _sl_sqlite_dup_text (stmt, 7);
      m->predicted_id = column_id (stmt, 8);
      m->predicted_name = _sl_sqlite_dup_text (stmt, 9);
      m->confidence = column_double_or_nan (stmt, 10);
      m->anomaly_score = column_double_or_nan (stmt, 11);
      m->trained = m->split == SL_SPLIT_TRAIN;
      if (is_mistake (self, m, threshold, min_confidence))
        g_ptr_array_add (list, m);
      else
        sl_possible_mistake_free (m);
    }
  g_ptr_array_sort (list, by_evidence);
  return g_steal_pointer (&list);
}
