/* test-projects-suggest.c: labels suggested by a run: what is stored, sorts, accept, cancel, stale, possible mistakes, migration, CLI. */
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-suggest.h"
#include "sl-train-job.h"

/* One trained project (Fashion-MNIST T-shirt/top against Trouser), copied for each test. */
static char *fixture_dir;
static gint64 fixture_run;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlImageInfo, sl_image_info_free)

#define N_IMAGES 200

static void
build_fixture (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autofree char *tmp = NULL;
  SlProject *project = pt_fmnist_project (N_IMAGES, 2, &tmp);
  SlRunConfig config;

  if (project == NULL)
    return;
  sl_run_config_init (&config);
  config.epochs = 3;
  config.patience = 0;
  config.threads = 2;
  config.workers = 1;
  job = sl_train_job_new (project, &config, &error);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  fixture_run = sl_train_job_get_run_id (job);
  sl_run_config_clear (&config);
  sl_project_unref (project);
  fixture_dir = g_steal_pointer (&tmp);
}

/* A copy of the fixture's project; *tmp receives the folder to remove. */
static SlProject *
open_copy (char **tmp)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *from = NULL, *to = NULL;
  char *argv[] = { "cp", "-a", NULL, NULL, NULL };
  int status;
  SlProject *project;

  if (fixture_dir == NULL)
    {
      g_test_skip ("Fashion-MNIST is not installed");
      return NULL;
    }
  *tmp = pt_make_tmp ();
  from = g_build_filename (fixture_dir, "project", NULL);
  to = g_build_filename (*tmp, "project", NULL);
  argv[2] = from;
  argv[3] = to;
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  project = sl_project_open (to, &error);
  g_assert_no_error (error);
  return project;
}

/* The ids of a split's images. */
static GArray *
split_ids (SlProject *project, SlSplit split)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  SlImageFilter filter;

  sl_image_filter_init (&filter);
  filter.split = split;
  images = sl_project_list_images (project, &filter, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    g_array_append_val (ids, ((SlImageInfo *) g_ptr_array_index (images, i))->id);
  return ids;
}

static gint64
count_rows (SlProject *project, const char *where)
{
  g_autofree char *db = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM suggestions %s", where);
  sqlite3 *raw = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (raw);
  return n;
}

static void
suggest (SlProject *project, SlSuggestResult *result)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (sl_project_suggest_labels (project, fixture_run, SL_CHECKPOINT_BEST, 2, NULL, NULL,
                                            NULL, result, &error));
  g_assert_no_error (error);
}

/* Unlabels the test split (the unlabelled images of these tests): returns their ids. */
static GArray *
unlabel_test_split (SlProject *project)
{
  g_autoptr (GError) error = NULL;
  GArray *ids = split_ids (project, SL_SPLIT_TEST);

  g_assert_cmpuint (ids->len, >, 20);
  g_assert_true (sl_project_set_labels (project, (gint64 *) ids->data, ids->len, -1, &error));
  g_assert_no_error (error);
  return ids;
}

static double
margin_of (const float *p, int k)
{
  float a = -1, b = 0;

  for (int c = 0; c < k; c++)
    if (p[c] > a)
      {
        b = a < 0 ? 0 : a;
        a = p[c];
      }
    else if (p[c] > b)
      b = p[c];
  return (double) a - b;
}

/* Suggestions are stored for the unlabelled, non-ignored images, with what the run's
 * classifier predicts for each; ignored images are not predicted. */
static void
test_stored (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GArray) unlabelled = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *where = NULL;
  SlSuggestResult result;
  gint64 ignored;
  char ref[32];

  if (project == NULL)
    return;
  unlabelled = unlabel_test_split (project);
  ignored = g_array_index (unlabelled, gint64, 0);
  g_assert_true (sl_project_set_ignored (project, &ignored, 1, TRUE, &error));
  suggest (project, &result);
  g_assert_cmpint (result.images, ==, N_IMAGES - 1);
  g_assert_cmpint (result.unlabelled, ==, unlabelled->len - 1);
  g_assert_cmpint (result.predicted, ==, N_IMAGES - 1);
  g_assert_cmpint (result.suggestions, ==, unlabelled->len - 1);
  g_assert_false (result.cancelled);
  g_assert_cmpint (count_rows (project, "WHERE label_id IS NULL"), ==, unlabelled->len - 1);
  g_assert_cmpint (count_rows (project, ""), ==, N_IMAGES - 1);
  where = g_strdup_printf ("WHERE image_id = %lld", (long long) ignored);
  g_assert_cmpint (count_rows (project, where), ==, 0);
  list = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, unlabelled->len - 1);
  /* Each one is what the classifier (the one inference path) says. */
  classifier
      = sl_project_open_classifier (project, fixture_run, SL_CHECKPOINT_BEST, 1, NULL, &error);
  g_assert_no_error (error);
  g_snprintf (ref, sizeof ref, "%lld", (long long) fixture_run);
  run = sl_project_get_run (project, ref, &error);
  for (guint i = 0; i < list->len; i++)
    {
      const SlSuggestion *s = g_ptr_array_index (list, i);
      g_autofree char *path = sl_project_image_path (project, s->hash, s->ext);
      sl_prediction p;
      float probs[2];
      sl_error err = { 0 };

      g_assert_cmpint (s->image_id, ==, g_array_index (unlabelled, gint64, i + 1));
      sl_prediction_init (&p);
      g_assert_cmpint (sl_classifier_predict_file (classifier, path, &p, probs, &err), ==, SL_OK);
      g_assert_cmpint (s->class_id, ==, run->class_ids[p.class_index]);
      g_assert_cmpfloat_with_epsilon (s->confidence, p.confidence, 1e-6);
      g_assert_cmpfloat_with_epsilon (s->margin, margin_of (probs, 2), 1e-6);
      g_assert_true (isnan (s->anomaly_score));
      g_assert_cmpint (s->run_id, ==, fixture_run);
    }
  /* A second pass predicts nothing again. */
  suggest (project, &result);
  g_assert_cmpint (result.predicted, ==, 0);
  g_assert_cmpint (result.up_to_date, ==, N_IMAGES - 1);
  sl_remove_tree (tmp);
}

static gboolean
ordered (const SlSuggestion *a, const SlSuggestion *b, SlSuggestSort sort)
{
  double ka, kb;

  switch (sort)
    {
      case SL_SUGGEST_SORT_LEAST_CONFIDENT: ka = a->confidence, kb = b->confidence; break;
      case SL_SUGGEST_SORT_MOST_CONFIDENT: ka = -a->confidence, kb = -b->confidence; break;
      case SL_SUGGEST_SORT_SMALLEST_MARGIN: ka = a->margin, kb = b->margin; break;
      default: ka = kb = 0;
    }
  return ka < kb || (ka == kb && a->image_id < b->image_id);
}

/* Each sort is exact on the run's suggestions: keys in order, ties by image id; a limit keeps
 * the head of the same order. */
static void
test_sorts (void)
{
  static const SlSuggestSort sorts[]
      = { SL_SUGGEST_SORT_LEAST_CONFIDENT, SL_SUGGEST_SORT_SMALLEST_MARGIN,
          SL_SUGGEST_SORT_MOST_CONFIDENT };
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GArray) unlabelled = NULL;
  g_autoptr (GError) error = NULL;
  SlSuggestResult result;

  if (project == NULL)
    return;
  unlabelled = unlabel_test_split (project);
  suggest (project, &result);
  for (gsize k = 0; k < G_N_ELEMENTS (sorts); k++)
    {
      g_autoptr (GPtrArray) list = NULL, head = NULL;
      SlSuggestFilter filter;

      list = sl_project_list_suggestions (project, sorts[k], NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (list->len, ==, unlabelled->len);
      for (guint i = 1; i < list->len; i++)
        g_assert_true (
            ordered (g_ptr_array_index (list, i - 1), g_ptr_array_index (list, i), sorts[k]));
      sl_suggest_filter_init (&filter);
      filter.limit = 5;
      head = sl_project_list_suggestions (project, sorts[k], &filter, &error);
      g_assert_cmpuint (head->len, ==, 5);
      for (guint i = 0; i < 5; i++)
        g_assert_cmpint (((SlSuggestion *) g_ptr_array_index (head, i))->image_id, ==,
                         ((SlSuggestion *) g_ptr_array_index (list, i))->image_id);
    }
  sl_remove_tree (tmp);
}

/* Seeded rows with ties and an anomaly run's scores: every sort's order, exactly. */
static void
test_sorts_seeded (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *db = NULL;
  sqlite3 *raw = NULL;
  /* image index: confidence, margin, score, threshold (NAN: NULL) */
  static const double rows[][4] = {
    { 0.60, 0.20, NAN, NAN }, { 0.55, 0.10, NAN, NAN }, { 0.60, 0.20, NAN, NAN },
    { 0.90, 0.80, NAN, NAN }, { 0.51, 0.02, NAN, NAN }, { NAN, NAN, 3.0, 2.0 },
    { NAN, NAN, 1.9, 2.0 },
  };
  static const struct
  {
    SlSuggestSort sort;
    int order[7];
  } want[] = {
    { SL_SUGGEST_SORT_LEAST_CONFIDENT, { 4, 1, 0, 2, 3, 5, 6 } },
    { SL_SUGGEST_SORT_MOST_CONFIDENT, { 5, 6, 3, 0, 2, 1, 4 } },
    /* anomaly margins: |1.9 - 2| / 2 = 0.05, |3 - 2| / 2 = 0.5 */
    { SL_SUGGEST_SORT_SMALLEST_MARGIN, { 4, 6, 1, 0, 2, 5, 3 } },
    { SL_SUGGEST_SORT_HIGHEST_ANOMALY, { 5, 6, 0, 1, 2, 3, 4 } },
    { SL_SUGGEST_SORT_IMAGE, { 0, 1, 2, 3, 4, 5, 6 } },
  };

  if (project == NULL)
    return;
  ids = unlabel_test_split (project);
  db = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *sql = NULL;
      char c[32], m[32], s[32], t[32];

#define SQLNUM(buf, v) (isnan (v) ? "NULL" : (g_ascii_dtostr (buf, sizeof buf, v), buf))
      sql = g_strdup_printf (
          "INSERT INTO suggestions (run_id, image_id, model, label_id, class_id, confidence, "
          "margin, anomaly_score, anomaly_threshold, created) VALUES (%lld, %lld, 'x', NULL, "
          "NULL, %s, %s, %s, %s, '2026-01-01T00:00:00Z')",
          (long long) fixture_run, (long long) g_array_index (ids, gint64, i),
          SQLNUM (c, rows[i][0]), SQLNUM (m, rows[i][1]), SQLNUM (s, rows[i][2]),
          SQLNUM (t, rows[i][3]));
#undef SQLNUM
      g_assert_cmpint (sqlite3_exec (raw, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    }
  sqlite3_close (raw);
  for (gsize k = 0; k < G_N_ELEMENTS (want); k++)
    {
      g_autoptr (GPtrArray) list
          = sl_project_list_suggestions (project, want[k].sort, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (list->len, ==, G_N_ELEMENTS (rows));
      for (guint i = 0; i < list->len; i++)
        g_assert_cmpint (((SlSuggestion *) g_ptr_array_index (list, i))->image_id, ==,
                         g_array_index (ids, gint64, want[k].order[i]));
    }
  sl_remove_tree (tmp);
}

/* accept above C labels exactly the images whose suggestion is at least C, with the suggested
 * class; labelling makes the suggestion stale; clearing the label (undo) shows it again. */
static void
test_accept_and_stale (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GArray) unlabelled = NULL, accepted = NULL;
  g_autoptr (GPtrArray) before = NULL, after = NULL;
  g_autoptr (GHashTable) want = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GError) error = NULL;
  SlSuggestResult result;
  const double c = 0.8;
  gint64 n, some;

  if (project == NULL)
    return;
  unlabelled = unlabel_test_split (project);
  suggest (project, &result);
  before = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, &error);
  for (guint i = 0; i < before->len; i++)
    {
      SlSuggestion *s = g_ptr_array_index (before, i);

      if ((float) s->confidence >= (float) c)
        g_hash_table_insert (want, &s->image_id, s);
    }
  g_assert_cmpuint (g_hash_table_size (want), >, 0);
  g_assert_cmpuint (g_hash_table_size (want), <, before->len);
  n = sl_project_accept_suggestions (project, -1, NULL, 0, c, &accepted, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, g_hash_table_size (want));
  for (guint i = 0; i < before->len; i++)
    {
      SlSuggestion *s = g_ptr_array_index (before, i);
      g_autoptr (SlImageInfo) info = sl_project_get_image (project, s->image_id, &error);

      if (g_hash_table_contains (want, &s->image_id))
        g_assert_cmpint (info->class_id, ==, s->class_id);
      else
        g_assert_cmpint (info->class_id, ==, -1);
    }
  /* Stale now: not listed, not accepted twice. */
  after = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, &error);
  g_assert_cmpuint (after->len, ==, before->len - n);
  g_assert_cmpint (sl_project_accept_suggestions (project, -1, NULL, 0, c, NULL, &error), ==, 0);
  some = g_array_index (accepted, gint64, 0);
  g_assert_null (sl_project_get_suggestion (project, -1, some, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Undo: the ordinary set_labels; the suggestion is back. */
  g_assert_true (
      sl_project_set_labels (project, (gint64 *) accepted->data, accepted->len, -1, &error));
  g_clear_pointer (&after, g_ptr_array_unref);
  after = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, &error);
  g_assert_cmpuint (after->len, ==, before->len);
  /* Given images only, any confidence. */
  g_assert_cmpint (sl_project_accept_suggestions (project, -1, &some, 1, 0, NULL, &error), ==, 1);
  g_assert_no_error (error);
  /* A bad confidence is refused. */
  g_assert_cmpint (sl_project_accept_suggestions (project, -1, NULL, 0, 1.5, NULL, &error), ==, -1);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  sl_remove_tree (tmp);
}

typedef struct
{
  GCancellable *cancellable;
  gint64 last_done;
} CancelWatch;

static void
cancel_after_first_batch (gint64 done, gint64 total, gpointer user_data)
{
  CancelWatch *w = user_data;

  w->last_done = done;
  if (done >= 64)
    g_cancellable_cancel (w->cancellable);
}

/* A cancel keeps the batches stored; the next pass goes on from there. */
static void
test_cancel_keeps (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  CancelWatch w = { cancellable, 0 };
  SlSuggestResult result;

  if (project == NULL)
    return;
  g_assert_false (sl_project_suggest_labels (project, fixture_run, SL_CHECKPOINT_BEST, 2,
                                             cancel_after_first_batch, &w, cancellable, &result,
                                             &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (result.cancelled);
  g_assert_cmpint (result.predicted, ==, 64);
  g_assert_cmpint (count_rows (project, ""), ==, 64);
  suggest (project, &result);
  g_assert_cmpint (result.up_to_date, ==, 64);
  g_assert_cmpint (result.predicted, ==, N_IMAGES - 64);
  g_assert_cmpint (count_rows (project, ""), ==, N_IMAGES);
  sl_remove_tree (tmp);
}

/* Images labelled against what the model says with confidence are listed; training-split
 * images only apart, after the others; relabelling one makes its entry stale. */
static void
test_possible_mistakes (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GPtrArray) first = NULL, mistakes = NULL;
  g_autoptr (GArray) wrong = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) wrong_train = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  SlSuggestResult result;
  gboolean seen_trained = FALSE;
  guint found = 0;

  if (project == NULL)
    return;
  classes = sl_project_list_classes (project, &error);
  suggest (project, &result);
  first = sl_project_list_possible_mistakes (project, -1, 0.0, &error);
  g_assert_no_error (error);
  /* Mislabel three val/test images and two training images the model is sure of. */
  {
    g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);

    for (guint i = 0; i < images->len && (wrong->len < 3 || wrong_train->len < 2); i++)
      {
        const SlImageInfo *im = g_ptr_array_index (images, i);
        g_autofree char *db = NULL;
        g_autofree char *where
            = g_strdup_printf ("WHERE image_id = %lld AND class_id = %lld AND confidence >= 0.95",
                               (long long) im->id, (long long) im->class_id);
        GArray *into = im->split == SL_SPLIT_TRAIN ? wrong_train : wrong;
        gint64 other = ((SlClass *) g_ptr_array_index (classes, 0))->id == im->class_id
                           ? ((SlClass *) g_ptr_array_index (classes, 1))->id
                           : ((SlClass *) g_ptr_array_index (classes, 0))->id;

        if (into->len >= (into == wrong ? 3u : 2u) || count_rows (project, where) == 0)
          continue;
        g_assert_true (sl_project_set_labels (project, &im->id, 1, other, &error));
        g_array_append_val (into, im->id);
      }
  }
  g_assert_cmpuint (wrong->len, ==, 3);
  g_assert_cmpuint (wrong_train->len, ==, 2);
  /* Stale until the next pass, which predicts only the relabelled images. */
  mistakes = sl_project_list_possible_mistakes (project, -1, 0.0, &error);
  g_assert_cmpuint (mistakes->len, ==, first->len);
  g_clear_pointer (&mistakes, g_ptr_array_unref);
  suggest (project, &result);
  g_assert_cmpint (result.predicted, ==, 5);
  mistakes = sl_project_list_possible_mistakes (project, -1, 0.0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < mistakes->len; i++)
    {
      const SlPossibleMistake *m = g_ptr_array_index (mistakes, i);

      g_assert_cmpfloat (m->confidence, >=, 0.9f - 1e-7);
      g_assert_cmpint (m->predicted_id, !=, m->label_id);
      g_assert_cmpint (m->trained, ==, m->split == SL_SPLIT_TRAIN);
      if (m->trained)
        seen_trained = TRUE;
      else
        g_assert_false (seen_trained); /* trained ones come last */
      for (guint j = 0; j < wrong->len; j++)
        if (g_array_index (wrong, gint64, j) == m->image_id)
          {
            g_assert_false (m->trained);
            found++;
          }
    }
  g_assert_cmpuint (found, ==, 3);
  g_assert_cmpint (result.possible_mistakes, >=, 3);
  /* Putting a label right makes its entry go. */
  {
    gint64 id = g_array_index (wrong, gint64, 0);
    g_autoptr (GPtrArray) again = NULL;
    const SlPossibleMistake *m = NULL;

    for (guint i = 0; i < mistakes->len; i++)
      if (((SlPossibleMistake *) g_ptr_array_index (mistakes, i))->image_id == id)
        m = g_ptr_array_index (mistakes, i);
    g_assert_true (sl_project_set_labels (project, &id, 1, m->predicted_id, &error));
    again = sl_project_list_possible_mistakes (project, -1, 0.0, &error);
    g_assert_cmpuint (again->len, ==, mistakes->len - 1);
  }
  sl_remove_tree (tmp);
}

/* A project of format 3 opens, gains the table, and repair keeps the suggestions. */
static void
test_migration_and_repair (void)
{
  g_autofree char *tmp = NULL, *db = NULL, *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  SlProject *project = open_copy (&tmp);
  SlRepairResult repair = { 0 };
  SlSuggestResult result;
  sqlite3 *raw = NULL;
  sqlite3_stmt *stmt = NULL;
  guint n;

  if (project == NULL)
    return;
  path = g_strdup (sl_project_get_path (project));
  sl_project_unref (project);
  db = g_build_filename (path, "project.db", NULL);
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (raw, "DROP TABLE suggestions; PRAGMA user_version = 3", NULL, NULL, NULL), ==,
      SQLITE_OK);
  sqlite3_close (raw);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_project_latest_suggestion_run (project, &error), ==, -1);
  unlabel_test_split (project);
  suggest (project, &result);
  list = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, &error);
  n = list->len;
  g_assert_cmpuint (n, >, 0);
  sl_project_unref (project);
  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (raw, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, SL_PROJECT_SCHEMA_VERSION);
  sqlite3_finalize (stmt);
  sqlite3_close (raw);
  /* Repair rebuilds the index and salvages the suggestions. */
  g_assert_true (sl_project_repair (path, &repair, &error));
  g_assert_no_error (error);
  sl_repair_result_clear (&repair);
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, n);
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

/* ---- The CLI ---------------------------------------------------------------------------------- */

static void
test_cli (void)
{
  g_autofree char *tmp = NULL, *out = NULL, *text = NULL, *issues = NULL;
  g_autoptr (SlProject) project = open_copy (&tmp);
  g_autoptr (GArray) unlabelled = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) conf = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  cJSON *doc, *accepted, *item;
  const char *path;
  double last = -1;
  gint64 wrong = -1, expect = 0;

  if (project == NULL)
    return;
  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      return;
    }
  path = sl_project_get_path (project);
  unlabelled = unlabel_test_split (project);
  /* --suggest --accept-above: a pass, then exactly the confident ones labelled. */
  {
    const char *args[] = { "label", path, "--suggest", "--json", NULL };
    g_assert_cmpint (pt_cli_argv (&out, NULL, args), ==, 0);
  }
  doc = cJSON_Parse (out);
  g_assert_nonnull (doc);
  g_assert_cmpint (cJSON_GetObjectItem (doc, "suggestions")->valuedouble, ==, unlabelled->len);
  cJSON_Delete (doc);
  g_clear_pointer (&out, g_free);
  /* --list --sort uncertainty: least confident first, every unlabelled image. */
  {
    const char *args[] = { "label", path, "--list", "--sort", "uncertainty", "--json", NULL };
    g_assert_cmpint (pt_cli_argv (&out, NULL, args), ==, 0);
  }
  doc = cJSON_Parse (out);
  g_assert_cmpint (cJSON_GetArraySize (doc), ==, unlabelled->len);
  cJSON_ArrayForEach (item, doc)
  {
    double c = cJSON_GetObjectItem (item, "confidence")->valuedouble;
    gint64 id = (gint64) cJSON_GetObjectItem (item, "id")->valuedouble;

    g_assert_cmpfloat (c, >=, last);
    last = c;
    g_hash_table_insert (conf, g_memdup2 (&id, sizeof id), g_memdup2 (&c, sizeof c));
    expect += (float) c >= 0.9f;
  }
  cJSON_Delete (doc);
  g_clear_pointer (&out, g_free);
  {
    const char *args[] = { "label", path, "--list", "--sort", "margin", "--limit", "3", NULL };
    g_assert_cmpint (pt_cli_argv (&text, NULL, args), ==, 0);
    g_assert_nonnull (strstr (text, "suggested"));
    g_assert_cmpuint (g_strv_length (g_strsplit (text, "\n", -1)), ==, 5); /* head + 3 + "" */
  }
  {
    const char *args[] = { "label", path, "--list", "--sort", "sideways", NULL };
    g_assert_cmpint (pt_cli_argv (NULL, NULL, args), ==, 2);
  }
  {
    const char *args[] = { "label", path, "--accept-above", "0.9", "--json", NULL };
    g_assert_cmpint (pt_cli_argv (&out, NULL, args), ==, 0);
  }
  doc = cJSON_Parse (out);
  accepted = cJSON_GetObjectItem (doc, "accepted");
  g_assert_cmpint (cJSON_GetArraySize (accepted), ==, expect);
  cJSON_ArrayForEach (item, accepted)
  {
    gint64 id = (gint64) item->valuedouble;
    g_autoptr (SlImageInfo) info = sl_project_get_image (project, id, &error);
    double *c = g_hash_table_lookup (conf, &id);

    g_assert_nonnull (c);
    g_assert_cmpfloat ((float) *c, >=, 0.9f);
    g_assert_cmpint (info->class_id, >=, 0);
  }
  cJSON_Delete (doc);
  g_clear_pointer (&out, g_free);
  /* stats --issues: a confidently mislabelled test image is listed. */
  {
    g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);
    g_autoptr (GPtrArray) classes = sl_project_list_classes (project, &error);

    for (guint i = 0; i < images->len && wrong < 0; i++)
      {
        const SlImageInfo *im = g_ptr_array_index (images, i);
        gint64 other = ((SlClass *) g_ptr_array_index (classes, 0))->id == im->class_id
                           ? ((SlClass *) g_ptr_array_index (classes, 1))->id
                           : ((SlClass *) g_ptr_array_index (classes, 0))->id;
        g_autofree char *where
            = g_strdup_printf ("WHERE image_id = %lld AND class_id = %lld AND confidence >= 0.95",
                               (long long) im->id, (long long) im->class_id);

        if (im->split != SL_SPLIT_VAL || count_rows (project, where) == 0)
          continue;
        g_assert_true (sl_project_set_labels (project, &im->id, 1, other, &error));
        wrong = im->id;
      }
    g_assert_cmpint (wrong, >=, 0);
  }
  {
    const char *args[] = { "label", path, "--suggest", NULL };
    g_autofree char *said = NULL;
    g_assert_cmpint (pt_cli_argv (&said, NULL, args), ==, 0);
    g_assert_nonnull (strstr (said, "possible label mistakes"));
  }
  {
    const char *args[] = { "stats", path, "--issues", "--json", NULL };
    gboolean listed = FALSE;

    g_assert_cmpint (pt_cli_argv (&out, NULL, args), ==, 0);
    doc = cJSON_Parse (out);
    cJSON_ArrayForEach (item, cJSON_GetObjectItem (doc, "possible_label_mistakes"))
    {
      if ((gint64) cJSON_GetObjectItem (item, "id")->valuedouble == wrong)
        {
          listed = TRUE;
          g_assert_false (cJSON_IsTrue (cJSON_GetObjectItem (item, "trained")));
          g_assert_cmpfloat (cJSON_GetObjectItem (item, "confidence")->valuedouble, >=, 0.9f);
        }
    }
    g_assert_true (listed);
    cJSON_Delete (doc);
  }
  {
    const char *args[] = { "stats", path, "--issues", NULL };
    g_autofree char *id_text = g_strdup_printf ("  %-7lld", (long long) wrong);

    g_assert_cmpint (pt_cli_argv (&issues, NULL, args), ==, 0);
    g_assert_nonnull (strstr (issues, "Possible label mistakes"));
    g_assert_nonnull (strstr (issues, id_text));
  }
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  build_fixture ();
  g_test_add_func ("/projects/suggest/stored", test_stored);
  g_test_add_func ("/projects/suggest/sorts", test_sorts);
  g_test_add_func ("/projects/suggest/sorts-seeded", test_sorts_seeded);
  g_test_add_func ("/projects/suggest/accept-and-stale", test_accept_and_stale);
  g_test_add_func ("/projects/suggest/cancel-keeps", test_cancel_keeps);
  g_test_add_func ("/projects/suggest/possible-mistakes", test_possible_mistakes);
  g_test_add_func ("/projects/suggest/migration-and-repair", test_migration_and_repair);
  g_test_add_func ("/projects/suggest/cli", test_cli);
  status = g_test_run ();
  if (fixture_dir != NULL)
    sl_remove_tree (fixture_dir);
  return status;
}
