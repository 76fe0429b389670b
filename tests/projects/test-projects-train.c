/* test-projects-train.c: training runs: checkpoints, cancel / kill -9 and resume, early stopping, eval. */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "projects-test-util.h"
#include "sl-classifier.h"
#include "sl-evaluation.h"
#include "sl-export.h"
#include "sl-train-job.h"

typedef struct
{
  int steps, epochs_done;
  int cancel_epoch, cancel_step; /* -1: never */
  gboolean kill;
  SlTrainJob *job;
  double last_eta;
} Watch;

static void
watch (const SlTrainProgress *p, gpointer user_data)
{
  Watch *w = user_data;

  if (p->epoch_done)
    {
      w->epochs_done++;
      g_assert_false (isnan (p->val_loss));
      return;
    }
  w->steps++;
  w->last_eta = p->eta_seconds;
  g_assert_cmpint (p->step_in_epoch, <=, p->steps_in_epoch);
  if (p->epoch == w->cancel_epoch && p->step_in_epoch == w->cancel_step)
    {
      if (w->kill)
        kill (getpid (), SIGKILL);
      sl_train_job_cancel (w->job);
    }
}

static void
tiny_config (SlRunConfig *c, int epochs)
{
  sl_run_config_init (c);
  c->epochs = epochs;
  c->batch_size = 32;
  c->threads = 2;
  c->patience = 0;
}

static SlRunInfo *
get_run (SlProject *project, gint64 id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ref = g_strdup_printf ("%lld", (long long) id);
  SlRunInfo *run = sl_project_get_run (project, ref, &error);

  g_assert_no_error (error);
  return run;
}

static const char *const stale_files[]
    = { ".project-run-1.slmodel.staged", "project-run-1.json.staged",
        "project-run-1.onnx.tmp-Ab12Cd", ".project-run-1.export-staged/project-run-1.onnx" };
static const char *const user_files[] = { "notes.txt", "plan.tmp-notes" };

/* make: writes staging files a killed export leaves, and two files of the
 * user's; else checks that the first are gone and the others kept. */
static void
stale_and_kept (const char *dir, gboolean make)
{
  for (gsize i = 0; i < G_N_ELEMENTS (stale_files) + G_N_ELEMENTS (user_files); i++)
    {
      gboolean stale = i < G_N_ELEMENTS (stale_files);
      const char *name = stale ? stale_files[i] : user_files[i - G_N_ELEMENTS (stale_files)];
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *parent = g_path_get_dirname (path);

      if (make)
        {
          g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
          g_assert_true (g_file_set_contents (path, "left behind", -1, NULL));
        }
      else
        g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS) == !stale);
    }
}

/* The sidecar names the SHA-256 of the graph beside it: readers can check
 * that both come from one export. */
static void
check_sealed_pair (const char *onnx, const char *sidecar)
{
  g_autofree char *graph = NULL, *text = NULL, *sum = NULL;
  gsize len = 0;
  cJSON *doc;

  g_assert_true (g_file_get_contents (onnx, &graph, &len, NULL));
  g_assert_true (g_file_get_contents (sidecar, &text, NULL, NULL));
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) graph, len);
  doc = cJSON_Parse (text);
  g_assert_nonnull (doc);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "onnx_sha256")), ==, sum);
  cJSON_Delete (doc);
}

/* A thread standing for another exporter: it holds the folder's lock for a second. */
static gpointer
release_after_a_second (gpointer data)
{
  g_usleep (G_USEC_PER_SEC);
  close (GPOINTER_TO_INT (data));
  return NULL;
}

/* What an export killed between moving the graph and moving its sidecar
 * leaves: the new graph beside the previous sidecar, the new sidecar still
 * staged. The next export into the folder (of any name) finishes that move
 * instead of deleting the staged sidecar, so the pair matches again. */
static void
check_killed_between_renames (SlProject *project, const SlRunInfo *run, const char *dir)
{
  g_autofree char *onnx = g_build_filename (dir, "graph-only.onnx", NULL);
  g_autofree char *sidecar = g_build_filename (dir, "graph-only.json", NULL);
  g_autofree char *staging = g_build_filename (dir, ".graph-only.export-staged", NULL);
  g_autofree char *staged = g_build_filename (staging, "graph-only.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  SlExportOptions o;
  SlExportResult r;
  cJSON *doc;
  char *old;

  g_assert_cmpint (g_mkdir (staging, 0755), ==, 0);
  g_assert_cmpint (g_rename (sidecar, staged), ==, 0);
  g_assert_true (g_file_get_contents (staged, &text, NULL, NULL));
  doc = cJSON_Parse (text);
  cJSON_DeleteItemFromObjectCaseSensitive (doc, "onnx_sha256");
  cJSON_AddStringToObject (doc, "onnx_sha256", "an earlier graph");
  old = cJSON_Print (doc);
  g_assert_true (g_file_set_contents (sidecar, old, -1, NULL));
  cJSON_free (old);
  cJSON_Delete (doc);

  sl_export_options_init (&o);
  o.formats = SL_EXPORT_SLMODEL;
  o.name = "after-the-kill";
  g_assert_true (sl_project_export_run (project, run->id, dir, &o, &r, &error));
  g_assert_no_error (error);
  sl_export_result_clear (&r);
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
  check_sealed_pair (onnx, sidecar);
}

/* Exports the run and checks that the line-side runtime gives the stored answers. */
static void
check_export (SlProject *project, const SlRunInfo *run, const SlEvaluation *e, const char *tmp)
{
  g_autofree char *dir = g_build_filename (tmp, "line", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) listing = NULL;
  SlExportOptions o;
  SlExportResult r;
  sl_classifier *c = NULL;
  sl_error err = { 0 };
  const char *header;
  gint64 start;
  int files = 0;

  /* What exports killed midway leave goes; the user's own files stay. Another
   * export holds the folder for a second: this one waits for it, and only
   * then cleans (the other's staging is not stale while it lives). */
  stale_and_kept (dir, TRUE);
  {
    int fd = open (dir, O_RDONLY | O_DIRECTORY);

    g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
    g_thread_unref (g_thread_new ("other-export", release_after_a_second, GINT_TO_POINTER (fd)));
  }
  sl_export_options_init (&o);
  o.formats = SL_EXPORT_SLMODEL | SL_EXPORT_ONNX;
  o.reject_threshold = 0.25;
  start = g_get_monotonic_time ();
  g_assert_true (sl_project_export_run (project, run->id, dir, &o, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 900 * 1000);
  stale_and_kept (dir, FALSE);
  check_sealed_pair (r.onnx_path, r.sidecar_path);
  g_assert_true (g_str_has_suffix (r.slmodel_path, "-run-1.slmodel"));
  g_assert_cmpint (r.slmodel_bytes, >, 4 * r.parameters);
  g_assert_cmpint (r.onnx_bytes, >, 4 * r.parameters);
  g_assert_cmpint (r.sidecar_bytes, >, 0);
  g_assert_cmpint (r.classes, ==, 10);
  g_assert_true (r.latency_ms > 0 && r.latency_ms < 1000);

  g_assert_cmpint (sl_classifier_open (r.slmodel_path, NULL, &c, &err), ==, SL_OK);
  g_assert_cmpfloat (sl_classifier_get_reject_threshold (c), ==, 0.25f);
  header = sl_classifier_header_json (c);
  g_assert_nonnull (strstr (header, run->dataset_hash));
  g_assert_nonnull (strstr (header, "\"test_accuracy\""));
  g_assert_nonnull (strstr (header, "\"recipe\""));
  for (guint i = 0; i < MIN (e->confident_mistakes->len, 5); i++)
    {
      const SlImagePrediction *p = g_ptr_array_index (e->confident_mistakes, i);
      sl_prediction pred;

      sl_prediction_init (&pred);
      g_assert_cmpint (sl_classifier_predict_file (c, p->original_path, &pred, NULL, &err), ==,
                       SL_OK);
      g_assert_cmpint (pred.class_index, ==, p->predicted_class);
      g_assert_cmpfloat_with_epsilon (pred.confidence, p->confidence, 1e-5);
      g_assert_cmpstr (pred.label, ==, g_ptr_array_index (run->class_names, p->predicted_class));
    }
  sl_classifier_free (c);
  sl_export_result_clear (&r);

  /* ONNX alone leaves exactly the graph and its sidecar beside the earlier files. */
  o.formats = SL_EXPORT_ONNX;
  o.name = "graph-only";
  g_assert_true (sl_project_export_run (project, run->id, dir, &o, &r, &error));
  g_assert_null (r.slmodel_path);
  sl_export_result_clear (&r);
  listing = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (listing) != NULL)
    files++;
  g_assert_cmpint (files, ==, 5 + 2); /* and the user's two files */
  check_killed_between_renames (project, run, dir);

  o.reject_threshold = 1.5;
  g_assert_false (sl_project_export_run (project, run->id, dir, &o, &r, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
}

/* The full prediction list agrees with the metrics and points at the stored copies. */
static void
check_prediction_list (SlProject *project, const SlEvaluation *e)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = sl_project_list_predictions (project, e->id, &error);
  g_autofree gint64 *confusion = g_new0 (gint64, (gsize) e->classes * e->classes);
  gint64 previous = -1;
  SlThresholdStats stats;

  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, e->images);
  g_assert_nonnull (e->created);
  for (guint i = 0; i < all->len; i++)
    {
      const SlImagePrediction *p = g_ptr_array_index (all, i);
      g_autoptr (GError) image_error = NULL;
      SlImageInfo *image = sl_project_get_image (project, p->image_id, &image_error);
      g_autofree char *stored = sl_project_image_path (project, p->hash, p->ext);

      g_assert_no_error (image_error);
      g_assert_cmpint (p->image_id, >, previous);
      previous = p->image_id;
      g_assert_cmpstr (p->hash, ==, image->hash);
      g_assert_cmpstr (p->original_path, ==, image->original_path);
      g_assert_true (g_file_test (stored, G_FILE_TEST_IS_REGULAR));
      g_assert_cmpfloat (p->confidence, >=, p->true_probability);
      confusion[p->true_class * e->classes + p->predicted_class]++;
      sl_image_info_free (image);
    }
  g_assert_cmpmem (confusion, sizeof (gint64) * e->classes * e->classes, e->confusion,
                   sizeof (gint64) * e->classes * e->classes);
  sl_threshold_stats ((SlImagePrediction *const *) all->pdata, all->len, 0.0, &stats);
  g_assert_cmpint (stats.accepted, ==, e->images);
  g_assert_cmpfloat_with_epsilon (stats.accuracy_accepted, e->accuracy, 1e-12);

  g_assert_null (sl_project_list_predictions (project, e->id + 100, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
}

/* Macro F1 over the classes present: a third class with no images in the split and no
 * predictions (too small to get validation images) is left out, not counted as 0; a class
 * only predicted (false positives) counts. */
static void
test_class_metrics_absent_class (void)
{
  gint64 support[3] = { 2, 2, 0 }, confusion[9] = { 2, 0, 0, 0, 2, 0, 0, 0, 0 };
  double precision[3], recall[3], f1[3];
  SlEvaluation e = { .classes = 3,
                     .support = support,
                     .confusion = confusion,
                     .precision = precision,
                     .recall = recall,
                     .f1 = f1 };

  sl_evaluation_compute_class_metrics (&e);
  g_assert_cmpfloat (f1[0], ==, 1.0);
  g_assert_cmpfloat (f1[1], ==, 1.0);
  g_assert_cmpfloat (f1[2], ==, 0.0);
  g_assert_cmpfloat (e.macro_f1, ==, 1.0); /* was 2/3 */
  /* One image of class 1 predicted as the absent class 2: class 2 now counts with F1 0. */
  confusion[4] = 1, confusion[5] = 1;
  sl_evaluation_compute_class_metrics (&e);
  g_assert_cmpfloat_with_epsilon (f1[1], 2 * 1.0 * 0.5 / 1.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (e.macro_f1, (1.0 + 2.0 / 3 + 0.0) / 3, 1e-12);
}

/* Rejecting below a threshold, on predictions made up by hand. */
static void
test_threshold_stats (void)
{
  /* true, predicted, confidence */
  static const struct
  {
    int t, p;
    double c;
  } rows[] = { { 0, 0, 0.95 }, { 1, 1, 0.80 }, { 0, 1, 0.90 }, { 1, 0, 0.55 },
               { 2, 2, 0.50 }, { 2, 0, 0.40 }, { 1, 1, 0.70 }, { 0, 2, 0.35 } };
  SlImagePrediction preds[G_N_ELEMENTS (rows)];
  SlImagePrediction *ptrs[G_N_ELEMENTS (rows)];
  SlThresholdStats s;

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      preds[i] = (SlImagePrediction){ .image_id = i + 1,
                                      .true_class = rows[i].t,
                                      .predicted_class = rows[i].p,
                                      .confidence = rows[i].c };
      ptrs[i] = &preds[i];
    }
  /* 0: nothing is rejected. */
  sl_threshold_stats (ptrs, G_N_ELEMENTS (ptrs), 0.0, &s);
  g_assert_cmpint (s.images, ==, 8);
  g_assert_cmpint (s.accepted, ==, 8);
  g_assert_cmpint (s.mistakes, ==, 4);
  g_assert_cmpint (s.mistakes_rejected, ==, 0);
  g_assert_cmpfloat_with_epsilon (s.accuracy_accepted, 0.5, 1e-12);
  g_assert_cmpfloat (s.reject_rate, ==, 0.0);
  g_assert_cmpfloat (s.mistakes_caught, ==, 0.0);
  /* 0.6 rejects 0.55, 0.50, 0.40 and 0.35: three of them mistakes. */
  sl_threshold_stats (ptrs, G_N_ELEMENTS (ptrs), 0.6, &s);
  g_assert_cmpint (s.accepted, ==, 4);
  g_assert_cmpint (s.correct_accepted, ==, 3);
  g_assert_cmpint (s.mistakes_rejected, ==, 3);
  g_assert_cmpfloat_with_epsilon (s.accuracy_accepted, 0.75, 1e-12);
  g_assert_cmpfloat_with_epsilon (s.reject_rate, 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (s.mistakes_caught, 0.75, 1e-12);
  /* A confidence equal to the threshold is accepted, as the runtime accepts it. */
  sl_threshold_stats (ptrs, G_N_ELEMENTS (ptrs), 0.8, &s);
  g_assert_cmpint (s.accepted, ==, 3);
  /* Above every confidence: nothing accepted, accuracy undefined. */
  sl_threshold_stats (ptrs, G_N_ELEMENTS (ptrs), 0.99, &s);
  g_assert_cmpint (s.accepted, ==, 0);
  g_assert_true (isnan (s.accuracy_accepted));
  g_assert_cmpfloat (s.reject_rate, ==, 1.0);
  g_assert_cmpfloat (s.mistakes_caught, ==, 1.0);
  /* No predictions at all. */
  sl_threshold_stats (NULL, 0, 0.5, &s);
  g_assert_cmpint (s.images, ==, 0);
  g_assert_cmpfloat (s.reject_rate, ==, 0.0);
}

static void
test_train_evaluate (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (400, 10, &tmp);
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) metrics = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autofree char *best = NULL, *last = NULL, *pipeline = NULL;
  Watch w = { 0, 0, -1, -1, FALSE, NULL, 0 };
  SlRunConfig config;
  gint64 eval_id, total = 0, diagonal = 0;

  if (project == NULL)
    return;
  tiny_config (&config, 2);
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_cmpint (sl_train_job_get_train_images (job) + sl_train_job_get_val_images (job), <, 400);
  sl_train_job_set_progress_func (job, watch, &w);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w.epochs_done, ==, 2);
  g_assert_cmpint (w.steps, ==, 2 * ((sl_train_job_get_train_images (job) + 31) / 32));
  g_assert_true (isfinite (w.last_eta));

  run = get_run (project, sl_train_job_get_run_id (job));
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (run->epochs_done, ==, 2);
  g_assert_cmpuint (run->class_names->len, ==, 10);
  g_assert_cmpuint (strlen (run->dataset_hash), ==, 64);
  g_assert_nonnull (strstr (run->config_json, "\"pipeline\""));
  g_assert_nonnull (strstr (run->versions_json, "sightline"));
  metrics = sl_project_get_run_metrics (project, run->id, &error);
  g_assert_cmpuint (metrics->len, ==, 2);
  g_assert_cmpfloat (g_array_index (metrics, SlEpochMetrics, 1).train_loss, <,
                     g_array_index (metrics, SlEpochMetrics, 0).train_loss);
  g_assert_cmpfloat (run->best_val_loss, ==,
                     MIN (g_array_index (metrics, SlEpochMetrics, 0).val_loss,
                          g_array_index (metrics, SlEpochMetrics, 1).val_loss));
  best = sl_project_run_file (project, run, "best.slckpt");
  last = sl_project_run_file (project, run, "last.slckpt");
  g_assert_true (g_file_test (best, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (last, G_FILE_TEST_IS_REGULAR));
  /* The first run fixed the project's pipeline: 28x28 gray, measured mean. */
  pipeline = sl_project_dup_stored_pipeline_json (project);
  g_assert_nonnull (pipeline);
  g_assert_nonnull (strstr (pipeline, "28"));

  /* Evaluation: stored per image, metrics consistent with the confusion matrix. */
  eval_id = sl_project_evaluate (project, run->id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 3, 2, NULL,
                                 NULL, NULL, &error);
  g_assert_no_error (error);
  e = sl_project_get_evaluation (project, eval_id, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->images, >, 40);
  for (int t = 0; t < e->classes; t++)
    for (int p = 0; p < e->classes; p++)
      {
        total += e->confusion[t * e->classes + p];
        diagonal += t == p ? e->confusion[t * e->classes + p] : 0;
      }
  g_assert_cmpint (total, ==, e->images);
  g_assert_cmpfloat_with_epsilon (e->accuracy, (double) diagonal / total, 1e-12);
  g_assert_cmpfloat (e->accuracy, >, 0.2); /* above chance (0.1) after 18 steps */
  g_assert_cmpfloat (e->top_k_accuracy, >=, e->accuracy);
  g_assert_cmpuint (e->confident_mistakes->len + e->unsure_correct->len, ==, e->images);
  for (guint i = 1; i < e->confident_mistakes->len; i++)
    g_assert_cmpfloat (
        ((SlImagePrediction *) g_ptr_array_index (e->confident_mistakes, i - 1))->confidence, >=,
        ((SlImagePrediction *) g_ptr_array_index (e->confident_mistakes, i))->confidence);
  g_assert_cmpint (sl_project_find_evaluation (project, run->id, SL_SPLIT_TEST, &error), ==,
                   eval_id);
  check_prediction_list (project, e);

  /* Prediction of a file agrees with the stored prediction of the same image. */
  classifier = sl_project_open_classifier (project, run->id, SL_CHECKPOINT_BEST, 1, NULL, &error);
  g_assert_no_error (error);
  {
    const SlImagePrediction *p = g_ptr_array_index (e->unsure_correct, 0);
    sl_prediction scores[3];
    g_autofree float *probs = g_new (float, sl_classifier_class_count (classifier));

    sl_prediction_init (&scores[0]);
    g_assert_cmpint (
        sl_classifier_predict_file (classifier, p->original_path, &scores[0], probs, NULL), ==,
        SL_OK);
    g_assert_cmpint (sl_classifier_top_k (classifier, probs, 3, scores), ==, 3);
    g_assert_cmpint (scores[0].class_index, ==, p->predicted_class);
    g_assert_cmpfloat_with_epsilon (scores[0].confidence, p->confidence, 1e-5);
    g_assert_cmpfloat (scores[1].confidence, <=, scores[0].confidence);
  }
  check_export (project, run, e, tmp);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
assert_same_metrics (GArray *a, GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      const SlEpochMetrics *x = &g_array_index (a, SlEpochMetrics, i);
      const SlEpochMetrics *y = &g_array_index (b, SlEpochMetrics, i);
      g_assert_cmpfloat_with_epsilon (x->train_loss, y->train_loss, 1e-6 * fabs (x->train_loss));
      g_assert_cmpfloat_with_epsilon (x->val_loss, y->val_loss, 1e-6 * fabs (x->val_loss));
    }
}

static void
test_cancel_resume (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (300, 10, &tmp);
  g_autoptr (SlTrainJob) straight = NULL, job = NULL, resumed = NULL;
  g_autoptr (GArray) want = NULL, got = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GPtrArray) images = NULL;
  Watch w = { 0, 0, 1, 3, FALSE, NULL, 0 };
  SlRunConfig config;
  char ref[32];

  if (project == NULL)
    return;
  /* The reference: three epochs without a stop. */
  tiny_config (&config, 3);
  straight = sl_train_job_new (project, &config, &error);
  g_assert_true (sl_train_job_run (straight, &error));
  want = sl_project_get_run_metrics (project, sl_train_job_get_run_id (straight), &error);

  /* The same run, cancelled in its second epoch and resumed. */
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  /* While a job holds a run, nobody else can train it. */
  g_snprintf (ref, sizeof ref, "%lld", (long long) sl_train_job_get_run_id (job));
  g_assert_null (sl_train_job_new_resume (project, ref, 0, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY);
  g_clear_error (&error);
  w.job = job;
  sl_train_job_set_progress_func (job, watch, &w);
  g_assert_false (sl_train_job_run (job, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  run = get_run (project, sl_train_job_get_run_id (job));
  g_assert_cmpint (run->status, ==, SL_RUN_CANCELLED);
  g_assert_cmpint (run->epochs_done, ==, 1);
  g_snprintf (ref, sizeof ref, "run-%lld", (long long) run->id);
  g_clear_pointer (&job, sl_train_job_free);

  resumed = sl_train_job_new_resume (project, ref, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_train_job_get_first_epoch (resumed), ==, 1);
  g_assert_true (sl_train_job_run (resumed, &error));
  g_clear_pointer (&run, sl_run_info_free);
  run = get_run (project, sl_train_job_get_run_id (resumed));
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (run->epochs_done, ==, 3);
  got = sl_project_get_run_metrics (project, run->id, &error);
  /* Same seed, data and threads: the resumed run learns exactly what the straight one did. */
  assert_same_metrics (want, got);

  /* A finished run resumes only with more epochs, and only on the same data. */
  g_clear_pointer (&resumed, sl_train_job_free);
  g_assert_null (sl_train_job_new_resume (project, ref, 0, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  images = sl_project_list_images (project, NULL, &error);
  {
    gint64 id = ((SlImageInfo *) g_ptr_array_index (images, 0))->id;
    g_assert_true (sl_project_set_labels (project, &id, 1, -1, &error));
  }
  g_assert_null (sl_train_job_new_resume (project, ref, 5, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Runs in a subprocess: trains and kills itself with SIGKILL in the second epoch. */
static void
kill_child (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = sl_project_open (g_getenv ("SL_TEST_KILL_PROJECT"), &error);
  g_autoptr (SlTrainJob) job = NULL;
  Watch w = { 0, 0, 1, 2, TRUE, NULL, 0 };
  SlRunConfig config;

  g_assert_no_error (error);
  tiny_config (&config, 2);
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  w.job = job;
  sl_train_job_set_progress_func (job, watch, &w);
  sl_train_job_run (job, NULL);
}

static void
test_kill_resume (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) resumed = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) metrics = NULL;

  if (g_test_subprocess ())
    {
      kill_child ();
      return;
    }
  if ((project = pt_fmnist_project (200, 10, &tmp)) == NULL)
    return;
  g_setenv ("SL_TEST_KILL_PROJECT", sl_project_get_path (project), TRUE);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, 0);
  g_test_trap_assert_failed ();

  /* The killed run is seen as interrupted; it resumes from its first epoch's checkpoint. */
  g_clear_pointer (&project, sl_project_unref);
  project = sl_project_open (g_getenv ("SL_TEST_KILL_PROJECT"), &error);
  g_assert_no_error (error);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->status, ==, SL_RUN_INTERRUPTED);
  g_assert_cmpint (run->epochs_done, ==, 1);
  resumed = sl_train_job_new_resume (project, "latest", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_train_job_get_first_epoch (resumed), ==, 1);
  g_assert_true (sl_train_job_run (resumed, &error));
  g_assert_no_error (error);
  metrics = sl_project_get_run_metrics (project, run->id, &error);
  g_assert_cmpuint (metrics->len, ==, 2);
  g_clear_pointer (&run, sl_run_info_free);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Validation labels are the training labels swapped: the better the model
 * fits, the worse validation gets, so early stopping must end the run. */
static void
test_early_stopping (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (160, 2, &tmp);
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GPtrArray) classes = NULL, val = NULL;
  SlImageFilter filter;
  SlRunConfig config;

  if (project == NULL)
    return;
  classes = sl_project_list_classes (project, &error);
  g_assert_cmpuint (classes->len, ==, 2);
  sl_image_filter_init (&filter);
  filter.split = SL_SPLIT_VAL;
  val = sl_project_list_images (project, &filter, &error);
  for (guint i = 0; i < val->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (val, i);
      gint64 other = ((SlClass *) g_ptr_array_index (classes, 0))->id == im->class_id
                         ? ((SlClass *) g_ptr_array_index (classes, 1))->id
                         : ((SlClass *) g_ptr_array_index (classes, 0))->id;
      g_assert_true (sl_project_set_labels (project, &im->id, 1, other, &error));
    }
  tiny_config (&config, 20);
  config.patience = 2;
  config.class_weights = SL_CLASS_WEIGHTS_AUTO;
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  run = get_run (project, sl_train_job_get_run_id (job));
  g_assert_cmpint (run->status, ==, SL_RUN_STOPPED_EARLY);
  g_assert_cmpint (run->epochs_done, <, 20);
  g_assert_cmpint (run->epochs_done, ==, run->best_epoch + 1 + 2);
  g_assert_nonnull (strstr (run->config_json, "\"weights\""));
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static GArray *
train_metrics (SlProject *project, const SlRunConfig *config, gint64 *run_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = sl_train_job_new (project, config, &error);
  GArray *metrics;

  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  *run_id = sl_train_job_get_run_id (job);
  metrics = sl_project_get_run_metrics (project, *run_id, &error);
  g_assert_no_error (error);
  return metrics;
}

#define LR(m, i) (g_array_index ((m), SlEpochMetrics, (i)).learning_rate)

/* Rewrites a run's stored recipe as one written before schedules existed. */
static void
strip_schedule (SlProject *project, gint64 run_id, const char *config_json)
{
  static const char *const keys[]
      = { "schedule", "warmup_epochs", "min_learning_rate", "step_epochs", "gamma" };
  g_autofree char *db_path = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  cJSON *doc = cJSON_Parse (config_json);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *old;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_assert_nonnull (cJSON_GetObjectItem (doc, keys[i]));
      cJSON_DeleteItemFromObject (doc, keys[i]);
    }
  old = cJSON_PrintUnformatted (doc);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_prepare_v2 (db, "UPDATE runs SET config_json = ? WHERE id = ?", -1, &stmt, NULL), ==,
      SQLITE_OK);
  sqlite3_bind_text (stmt, 1, old, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, run_id);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  cJSON_free (old);
  cJSON_Delete (doc);
}

/* Learning-rate schedules: applied per epoch, stored with the run, and runs
 * stored before schedules existed read and resume at a constant rate. */
static void
test_schedule (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (200, 10, &tmp);
  g_autoptr (GArray) cosine = NULL, step = NULL, resumed = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  SlRunConfig config, back;
  gint64 cosine_id, step_id;

  if (project == NULL)
    return;
  /* The default: one warm-up epoch, then a cosine down to the minimum. */
  tiny_config (&config, 4);
  g_assert_cmpint (config.schedule, ==, SL_LR_SCHEDULE_COSINE);
  g_assert_cmpfloat (config.warmup_epochs, ==, 1);
  config.min_learning_rate = 1e-5;
  cosine = train_metrics (project, &config, &cosine_id);
  sl_run_config_clear (&config);
  g_assert_cmpuint (cosine->len, ==, 4);
  /* After the warm-up epoch the rate is the full rate, then it only goes down. */
  g_assert_cmpfloat_with_epsilon (LR (cosine, 0), 1e-3, 1e-9);
  for (guint i = 1; i < cosine->len; i++)
    g_assert_cmpfloat (LR (cosine, i), <, LR (cosine, i - 1));
  g_assert_cmpfloat_with_epsilon (LR (cosine, 3), 1e-5, 1e-9);

  /* The recipe round-trips through the stored JSON. */
  run = get_run (project, cosine_id);
  g_assert_true (sl_run_config_from_json (run->config_json, &back, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.schedule, ==, SL_LR_SCHEDULE_COSINE);
  g_assert_cmpfloat (back.warmup_epochs, ==, 1);
  g_assert_cmpfloat (back.min_learning_rate, ==, 1e-5);
  g_assert_cmpint (back.step_epochs, ==, 10);
  g_assert_cmpfloat (back.gamma, ==, 0.1);
  g_assert_cmpint (back.epochs, ==, 4);
  sl_run_config_clear (&back);
  g_clear_pointer (&run, sl_run_info_free);

  /* Halved after every epoch, without warm-up: exactly base * 0.5^(epoch + 1). */
  tiny_config (&config, 3);
  config.schedule = SL_LR_SCHEDULE_STEP;
  config.warmup_epochs = 0;
  config.step_epochs = 1;
  config.gamma = 0.5;
  step = train_metrics (project, &config, &step_id);
  for (guint i = 0; i < step->len; i++)
    g_assert_cmpfloat_with_epsilon (LR (step, i), 1e-3 * pow (0.5, i + 1), 1e-9);
  /* Nonsense is refused before a run is recorded. */
  config.gamma = 0;
  g_assert_null (sl_train_job_new (project, &config, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  sl_run_config_clear (&config);

  /* A run stored without the keys reads, and resumes, at a constant rate. */
  run = get_run (project, step_id);
  strip_schedule (project, step_id, run->config_json);
  g_clear_pointer (&run, sl_run_info_free);
  run = get_run (project, step_id);
  g_assert_null (strstr (run->config_json, "\"schedule\""));
  g_assert_true (sl_run_config_from_json (run->config_json, &back, NULL, &error));
  g_assert_cmpint (back.schedule, ==, SL_LR_SCHEDULE_CONSTANT);
  g_assert_cmpfloat (back.warmup_epochs, ==, 0);
  sl_run_config_clear (&back);
  job = sl_train_job_new_resume (project, run->name, 4, &error);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  resumed = sl_project_get_run_metrics (project, step_id, &error);
  g_assert_cmpuint (resumed->len, ==, 4);
  g_assert_cmpfloat_with_epsilon (LR (resumed, 3), 1e-3, 1e-9);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_no_data (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = sl_project_create (tmp, NULL, &error);
  SlRunConfig config;

  tiny_config (&config, 1);
  g_assert_null (sl_train_job_new (project, &config, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA);
  sl_run_config_clear (&config);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/train/evaluate", test_train_evaluate);
  g_test_add_func ("/projects/train/cancel-resume", test_cancel_resume);
  g_test_add_func ("/projects/train/kill-9", test_kill_resume);
  g_test_add_func ("/projects/train/early-stopping", test_early_stopping);
  g_test_add_func ("/projects/train/no-data", test_no_data);
  g_test_add_func ("/projects/train/schedule", test_schedule);
  g_test_add_func ("/projects/train/threshold-stats", test_threshold_stats);
  g_test_add_func ("/projects/train/class-metrics-absent-class", test_class_metrics_absent_class);
  return g_test_run ();
}
