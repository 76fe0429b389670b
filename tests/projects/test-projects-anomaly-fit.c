/* test-projects-anomaly-fit.c: anomaly runs fitted on good images: scores, threshold, cancel, kill -9, resume, CLI. */
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "projects-test-util.h"
#include "sl-anomaly-run-private.h"
#include "sl-test-anomaly-data.h"
#include "sl-train-job.h"

#define IMAGE_SIZE 128

typedef PtAnomalyFixture Fixture;

/* An anomaly project with n_good good and n_defect defect images of the synthetic surface,
 * split as the workbench splits it (good 70/15/15; defects into validation and test only). */
static void
make_project (Fixture *f, int n_good, int n_defect, gboolean split)
{
  g_autofree char *path = g_build_filename (f->tmp, "p", NULL);
  g_autofree char *good = g_build_filename (f->images, "good", NULL);
  g_autofree char *defect = g_build_filename (f->images, "defect", NULL);
  g_autoptr (GError) error = NULL;
  SlSplitConfig sc;

  g_assert_cmpint (sl_test_write_anomaly_images (f->images, n_good, n_defect, IMAGE_SIZE, 5), ==,
                   0);
  f->project = sl_project_create_kind (path, "fit", SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  pt_import_as (f->project, good, "good", NULL);
  if (n_defect > 0)
    pt_import_as (f->project, defect, "defect", NULL);
  if (!split)
    return;
  sl_split_config_init (&sc);
  g_assert_true (sl_project_split (f->project, &sc, NULL, &error));
  g_assert_no_error (error);
}

/* An anomaly project with n_good good images, every one of them in training (no validation
 * images); returns its images (g_ptr_array_unref). */
static GPtrArray *
make_train_only_project (Fixture *f, int n_good)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GPtrArray *images;

  make_project (f, n_good, 0, FALSE);
  images = sl_project_list_images (f->project, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    g_array_append_val (ids, ((SlImageInfo *) g_ptr_array_index (images, i))->id);
  g_assert_true (sl_project_set_split (f->project, (const gint64 *) ids->data, ids->len,
                                       SL_SPLIT_TRAIN, &error));
  g_assert_no_error (error);
  return images;
}

static void
anomaly_config (SlRunConfig *c)
{
  sl_run_config_init (c);
  c->anomaly = TRUE;
  c->backbone = g_strdup ("lite0");
  c->input_size = IMAGE_SIZE;
  c->threads = 2;
  c->seed = 3;
}

typedef struct
{
  gint64 features_done, features_total, fit_done, fit_total, score_done, score_total;
  gboolean features_before_fit; /* no coreset report came before the features were done */
  SlTrainJob *cancel_job;       /* cancel at the first coreset report */
} Watch;

static void
watch (const SlTrainProgress *p, gpointer user_data)
{
  Watch *w = user_data;

  if (p->fit_total > 0 && p->features_done < p->features_total)
    w->features_before_fit = FALSE;
  w->features_done = MAX (w->features_done, p->features_done);
  w->features_total = p->features_total;
  w->fit_done = MAX (w->fit_done, p->fit_done);
  w->fit_total = p->fit_total;
  w->score_done = MAX (w->score_done, p->score_done);
  w->score_total = p->score_total;
  if (w->cancel_job != NULL && p->fit_total > 0)
    sl_train_job_cancel (w->cancel_job);
}

static SlRunInfo *
get_run (SlProject *project, gint64 id)
{
  g_autoptr (GError) error = NULL;
  char ref[32];
  SlRunInfo *run;

  g_snprintf (ref, sizeof ref, "%lld", (long long) id);
  run = sl_project_get_run (project, ref, &error);
  g_assert_no_error (error);
  return run;
}

static gboolean
run_file_exists (SlProject *project, const SlRunInfo *run, const char *file)
{
  g_autofree char *path = sl_project_run_file (project, run, file);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Scores of the project's images of a split through the run's classifier, good and defect
 * apart. */
static void
score_split (SlProject *project, sl_classifier *c, SlSplit split, GArray *good, GArray *defect)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_autofree char *path = NULL;
      sl_prediction p;
      double v;

      if (im->split != split || im->class_name == NULL)
        continue;
      path = sl_project_image_path (project, im->hash, im->ext);
      sl_prediction_init (&p);
      g_assert_cmpint (sl_classifier_predict_file (c, path, &p, NULL, NULL), ==, SL_OK);
      v = p.anomaly_score;
      g_assert_true (isfinite (v));
      g_assert_cmpint (p.anomalous, ==, v > p.anomaly_threshold);
      g_array_append_val (strcmp (im->class_name, "good") == 0 ? good : defect, v);
    }
}

/* A fit: progress through its three phases, one finished "epoch", the model file and the
 * threshold record, the validation scores stored, and defects scoring above good parts. */
static void
test_fit (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (sl_classifier) c = NULL;
  g_autoptr (GArray) good = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) defect = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) metrics = NULL;
  SlAnomalyThreshold t = { 0 };
  Watch w = { .features_before_fit = TRUE };
  SlRunConfig config;
  SlRunConfig back;
  gint64 eval_id;

  make_project (f, 40, 20, TRUE);
  anomaly_config (&config);
  job = sl_train_job_new (f->project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  /* Defects never train: 70 % of the good images. */
  g_assert_cmpint (sl_train_job_get_train_images (job), ==, 28);
  sl_train_job_set_progress_func (job, watch, &w);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w.features_done, ==, 28);
  g_assert_cmpint (w.features_total, ==, 28);
  g_assert_cmpint (w.fit_total, >, 0);
  g_assert_cmpint (w.fit_done, ==, w.fit_total);
  g_assert_cmpint (w.score_total, >, 0);
  g_assert_cmpint (w.score_done, ==, w.score_total);
  g_assert_true (w.features_before_fit);

  run = get_run (f->project, sl_train_job_get_run_id (job));
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (run->epochs, ==, 1);
  g_assert_cmpint (run->epochs_done, ==, 1);
  g_assert_true (sl_run_info_is_anomaly (run));
  g_assert_nonnull (run->message);
  g_assert_true (run_file_exists (f->project, run, SL_ANOMALY_RUN_MODEL));
  metrics = sl_project_get_run_metrics (f->project, run->id, &error);
  g_assert_cmpuint (metrics->len, ==, 1);
  /* The recipe reads back as an anomaly run with the rate it used. */
  g_assert_true (sl_run_config_from_json (run->config_json, &back, NULL, &error));
  g_assert_true (back.anomaly);
  g_assert_cmpstr (back.backbone, ==, "efficientnet-lite0");
  g_assert_cmpint (back.input_size, ==, IMAGE_SIZE);
  g_assert_cmpfloat (back.target_false_reject, ==, 0.01);
  sl_run_config_clear (&back);

  /* The threshold record: from the good validation images, said in the run's message. */
  g_assert_true (sl_run_get_anomaly_threshold (f->project, run, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpint (t.good_images, ==, w.score_total - 10);
  g_assert_true (isfinite (t.threshold));
  g_assert_nonnull (strstr (run->message, t.statement));

  /* The validation scores are the run's evaluation on the validation split. */
  eval_id = sl_project_find_evaluation (f->project, run->id, SL_SPLIT_VAL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (eval_id, >=, 0);
  g_assert_true (sl_project_evaluation_is_anomaly (f->project, eval_id));

  /* Opened as the project uses it: an anomaly model at the run's threshold, which no good
   * validation image exceeds (too few of them for 1 %: their largest score). The random
   * backbone's features say little about defects: /anomaly-fit/lite0 checks those. */
  c = sl_project_open_classifier (f->project, run->id, SL_CHECKPOINT_BEST, 2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_classifier_kind (c), ==, SL_SLMODEL_ANOMALY);
  g_assert_cmpfloat_with_epsilon (sl_classifier_get_anomaly_threshold (c), t.threshold, 1e-4);
  score_split (f->project, c, SL_SPLIT_VAL, good, defect);
  g_assert_cmpuint (good->len, ==, t.good_images);
  for (guint i = 0; i < good->len; i++)
    g_assert_cmpfloat (g_array_index (good, double, i), <=, t.threshold + 1e-4);
  sl_anomaly_threshold_clear (&t);

  /* A manual threshold is respected. */
  g_clear_pointer (&c, sl_classifier_free);
  g_assert_true (sl_project_set_anomaly_threshold (f->project, 1e6, &error));
  c = sl_project_open_classifier (f->project, run->id, SL_CHECKPOINT_LAST, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (sl_classifier_get_anomaly_threshold (c), ==, 1e6f);

  /* A damaged threshold record is said to be damaged, with what to do. */
  {
    g_autofree char *record = sl_project_run_file (f->project, run, SL_ANOMALY_RUN_THRESHOLD);

    g_assert_true (g_file_set_contents (record, "{\"threshold\": ", -1, NULL));
    g_assert_false (sl_run_get_anomaly_threshold (f->project, run, &t, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "damaged"));
  }
}

/* A project without good training images cannot fit, and says what to import. */
static void
test_no_good (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL;
  SlRunConfig config;
  SlTrainJob *job;

  make_project (f, 4, 6, FALSE);
  images = sl_project_list_images (f->project, NULL, &error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);

      /* Defects into training by hand; good parts into validation. */
      if (sl_project_set_split (
              f->project, &im->id, 1,
              strcmp (im->class_name, "good") == 0 ? SL_SPLIT_VAL : SL_SPLIT_TRAIN, &error))
        continue;
      g_assert_no_error (error);
    }
  anomaly_config (&config);
  job = sl_train_job_new (f->project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_null (job);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA);
  g_assert_nonnull (strstr (error->message, "--as good"));
}

/* Defect images only, split as usual (none go to training): the error says good parts are
 * missing, not to split a project that is split. */
static void
test_defects_only (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  SlRunConfig config;
  SlTrainJob *job;

  make_project (f, 0, 6, TRUE);
  anomaly_config (&config);
  job = sl_train_job_new (f->project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_null (job);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA);
  g_assert_nonnull (strstr (error->message, "learns from good parts"));
  g_assert_nonnull (strstr (error->message, "--as good"));
}

/* With the pretrained Lite0 (when installed): defects score higher than good parts on images
 * the fit never saw. */
static void
test_lite0 (void)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find ("lite0", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (sl_classifier) c = NULL;
  g_autoptr (GArray) good = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) defect = g_array_new (FALSE, FALSE, sizeof (double));
  Fixture fx = { 0 }, *f = &fx;
  SlRunConfig config;
  gint64 run_id;
  double auroc;

  if (bb == NULL)
    {
      g_test_skip ("EfficientNet-Lite0 is not installed (sightline-cli backbones install)");
      return;
    }
  f->tmp = pt_make_tmp ();
  f->images = g_build_filename (f->tmp, "images", NULL);
  make_project (f, 40, 20, TRUE);
  anomaly_config (&config);
  run_id = pt_run_job (f->project, &config);
  c = sl_project_open_classifier (f->project, run_id, SL_CHECKPOINT_BEST, 2, NULL, &error);
  g_assert_no_error (error);
  score_split (f->project, c, SL_SPLIT_TEST, good, defect);
  score_split (f->project, c, SL_SPLIT_VAL, good, defect);
  auroc = sl_anomaly_auroc ((const double *) good->data, good->len, (const double *) defect->data,
                            defect->len);
  g_test_message ("Lite0: AUROC %.3f over %u good and %u defect images", auroc, good->len,
                  defect->len);
  g_assert_cmpfloat (auroc, >, 0.9);
  g_clear_pointer (&c, sl_classifier_free);
  pt_anomaly_fixture_tear_down (f, NULL);
}

/* Without good validation images a seeded 20 % of the training good images is held out of the
 * memory bank for the threshold, and the run says so. */
static void
test_held_out (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GPtrArray) images = NULL;
  SlAnomalyThreshold t = { 0 };
  SlRunConfig config;

  images = make_train_only_project (f, 20);
  anomaly_config (&config);
  run = get_run (f->project, pt_run_job (f->project, &config));
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_nonnull (strstr (run->message, "4 of the 20 training good images were held out"));
  g_assert_true (sl_run_get_anomaly_threshold (f->project, run, &t, &error));
  g_assert_cmpint (t.good_images, ==, 4);
  g_assert_true (isfinite (t.threshold));
  sl_anomaly_threshold_clear (&t);
}

/* Stored copies damaged or missing after import: the fit skips them and its message says so,
 * once per sentence (no ".."). */
static void
test_damaged_images (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GPtrArray) images = NULL;
  g_autofree char *damaged = NULL, *missing = NULL;
  SlRunConfig config;

  images = make_train_only_project (f, 20);
  damaged = sl_project_image_path (f->project, ((SlImageInfo *) images->pdata[0])->hash,
                                   ((SlImageInfo *) images->pdata[0])->ext);
  missing = sl_project_image_path (f->project, ((SlImageInfo *) images->pdata[1])->hash,
                                   ((SlImageInfo *) images->pdata[1])->ext);
  g_assert_true (g_file_set_contents (damaged, "not a picture", -1, &error));
  g_assert_cmpint (g_unlink (missing), ==, 0);
  anomaly_config (&config);
  run = get_run (f->project, pt_run_job (f->project, &config));
  g_test_message ("%s", run->message);
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_nonnull (strstr (run->message, "1 image could not be read and was skipped"));
  g_assert_nonnull (strstr (run->message, "Skipped 1 image whose stored copy is missing"));
  g_assert_null (strstr (run->message, ".."));
}

/* Cancelled while selecting the memory bank: no model file, no threshold record, status
 * cancelled; resuming fits it again. */
static void
test_cancel_resume (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL, again = NULL;
  g_autoptr (SlRunInfo) run = NULL, done = NULL;
  Watch w = { 0 };
  SlRunConfig config;

  make_project (f, 20, 4, TRUE);
  anomaly_config (&config);
  job = sl_train_job_new (f->project, &config, &error);
  sl_run_config_clear (&config);
  g_assert_no_error (error);
  w.cancel_job = job;
  sl_train_job_set_progress_func (job, watch, &w);
  g_assert_false (sl_train_job_run (job, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  run = get_run (f->project, sl_train_job_get_run_id (job));
  g_assert_cmpint (run->status, ==, SL_RUN_CANCELLED);
  g_assert_false (run_file_exists (f->project, run, SL_ANOMALY_RUN_MODEL));
  g_assert_false (run_file_exists (f->project, run, SL_ANOMALY_RUN_THRESHOLD));
  g_assert_null (
      sl_project_open_classifier (f->project, run->id, SL_CHECKPOINT_BEST, 1, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&job, sl_train_job_free); /* lets go of the run's lock */
  /* What a kill while writing would leave: the refit removes it. */
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *stray = sl_project_run_file (
          f->project, run, i == 0 ? "threshold.json.Ab12Cd" : "anomaly.slmodel.tmp-Ab12Cd");
      g_assert_true (g_file_set_contents (stray, "half", -1, NULL));
    }

  again = sl_train_job_new_resume (f->project, run->name, 0, &error);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (again, &error));
  g_assert_no_error (error);
  done = get_run (f->project, run->id);
  g_assert_cmpint (done->status, ==, SL_RUN_FINISHED);
  g_assert_true (run_file_exists (f->project, done, SL_ANOMALY_RUN_MODEL));
  g_assert_false (run_file_exists (f->project, done, "threshold.json.Ab12Cd"));
  g_assert_false (run_file_exists (f->project, done, "anomaly.slmodel.tmp-Ab12Cd"));
  g_clear_pointer (&again, sl_train_job_free);
  /* A fitted run is done: a second resume says to start a new run. */
  g_assert_null (sl_train_job_new_resume (f->project, run->name, 0, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
}

/* Without the backbone, the error gives the command that installs it. */
static void
test_missing_backbone (Fixture *f, gconstpointer data)
{
  g_autofree char *empty = g_build_filename (f->tmp, "empty", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("SIGHTLINE_BACKBONE_PATH"));
  g_autoptr (GError) error = NULL;
  SlRunConfig config;
  SlTrainJob *job;

  make_project (f, 6, 0, TRUE);
  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty, TRUE);
  anomaly_config (&config);
  g_clear_pointer (&config.backbone, g_free); /* the default: Lite0 */
  job = sl_train_job_new (f->project, &config, &error);
  sl_run_config_clear (&config);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", saved, TRUE);
  g_assert_null (job);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "sightline-cli backbones install"));
}

/* Recipes stored before anomaly runs read as classifier runs. */
static void
test_old_recipe (void)
{
  g_autoptr (GError) error = NULL;
  SlRunConfig c;

  g_assert_true (
      sl_run_config_from_json ("{\"model\":{},\"pipeline\":{},\"epochs\":3}", &c, NULL, &error));
  g_assert_false (c.anomaly);
  g_assert_cmpfloat (c.coreset_ratio, ==, 0);
  g_assert_cmpfloat (c.target_false_reject, ==, 0);
  sl_run_config_clear (&c);
}

/* ---- A real sightline-cli train killed mid-fit ---------------------------------------- */

static char *
built_cli (void)
{
  const char *build = g_getenv ("G_TEST_BUILDDIR");
  char *path = build != NULL ? g_build_filename (build, "..", "app", "sightline-cli", NULL) : NULL;

  if (path != NULL && !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_clear_pointer (&path, g_free);
  return path;
}

static int
run_cli (const char *cli, char **out, const char *a1, const char *a2, const char *a3,
         const char *a4, const char *a5, const char *a6)
{
  const char *argv[] = { cli, a1, a2, a3, a4, a5, a6, NULL };
  g_autoptr (GError) error = NULL;
  int status;

  /* Callers reuse one `out` for several runs: the last one's text goes. */
  if (out != NULL)
    g_clear_pointer (out, g_free);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               out, NULL, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* kill -9 of `sightline-cli train` while it fits leaves the project openable, no model file,
 * and the run resumable; the CLI then fits it, says the threshold, and predicts. */
static void
test_cli_kill_resume (Fixture *f, gconstpointer data)
{
  g_autofree char *cli = built_cli ();
  g_autofree char *project = NULL, *out = NULL, *heatmaps = NULL, *image = NULL;
  g_autofree char *own = NULL, *before = NULL, *after = NULL;
  gsize n_before = 0, n_after = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) reopened = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  const char *argv[6];
  GPid pid;
  gint64 deadline;
  cJSON *doc, *item;

  if (cli == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      return;
    }
  make_project (f, 60, 6, TRUE);
  project = g_strdup (sl_project_get_path (f->project));
  g_clear_pointer (&f->project, sl_project_unref);
  argv[0] = cli;
  argv[1] = "train";
  argv[2] = project;
  argv[3] = "--input-size";
  argv[4] = "128";
  argv[5] = NULL;
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                                    | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  /* Killed once the fit is under way (its run is recorded and running). */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr (SlProject) p = sl_project_open_worker (project, NULL);
      g_autoptr (SlRunInfo) r = p != NULL ? sl_project_get_run (p, "latest", NULL) : NULL;

      if (r != NULL && r->status == SL_RUN_RUNNING)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  g_usleep (300 * 1000);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, NULL, 0), ==, pid);
  g_spawn_close_pid (pid);

  reopened = sl_project_open (project, &error);
  g_assert_no_error (error);
  run = sl_project_get_run (reopened, "latest", &error);
  g_assert_no_error (error);
  if (run->status == SL_RUN_FINISHED)
    {
      g_test_skip ("the fit finished before it could be killed");
      return;
    }
  g_assert_cmpint (run->status, ==, SL_RUN_INTERRUPTED);
  g_assert_false (run_file_exists (reopened, run, SL_ANOMALY_RUN_MODEL));

  g_assert_cmpint (run_cli (cli, &out, "train", project, "--resume", run->name, NULL, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "features of"));
  g_assert_nonnull (strstr (out, "memory bank of"));
  g_assert_nonnull (strstr (out, "fitted: threshold"));
  g_assert_true (run_file_exists (reopened, run, SL_ANOMALY_RUN_MODEL));
  g_clear_pointer (&out, g_free);

  /* predict: each image's score and decision, and its heatmap. */
  heatmaps = g_build_filename (f->tmp, "heatmaps", NULL);
  image = g_build_filename (f->images, "defect", "defect-000-scratch.png", NULL);
  g_assert_cmpint (run_cli (cli, &out, "predict", project, image, "--json", "--heatmaps", heatmaps),
                   ==, 0);
  doc = cJSON_Parse (out);
  item = cJSON_GetArrayItem (doc, 0);
  g_assert_true (cJSON_IsNumber (cJSON_GetObjectItem (item, "anomaly_score")));
  g_assert_true (cJSON_IsBool (cJSON_GetObjectItem (item, "anomalous")));
  g_assert_true (g_file_test (cJSON_GetStringValue (cJSON_GetObjectItem (item, "heatmap")),
                              G_FILE_TEST_IS_REGULAR));
  cJSON_Delete (doc);
  g_clear_pointer (&out, g_free);
  /* An image in the heatmaps folder itself keeps its bytes: its overlay is part-2.png. */
  own = g_build_filename (heatmaps, "part.png", NULL);
  g_assert_true (g_file_get_contents (image, &before, &n_before, NULL));
  g_assert_true (g_file_set_contents (own, before, (gssize) n_before, NULL));
  g_assert_cmpint (run_cli (cli, &out, "predict", project, own, "--heatmaps", heatmaps, NULL), ==,
                   0);
  g_assert_true (g_file_get_contents (own, &after, &n_after, NULL));
  g_assert_cmpmem (before, n_before, after, n_after);
  g_assert_nonnull (strstr (out, "part-2.png"));
  g_clear_pointer (&out, g_free);
  /* A folder that cannot be written in is said once, before any image (root writes anyway). */
  g_assert_cmpint (g_chmod (heatmaps, 0555), ==, 0);
  if (access (heatmaps, W_OK) != 0)
    {
      g_assert_cmpint (run_cli (cli, &out, "predict", project, image, "--heatmaps", heatmaps, NULL),
                       ==, 1);
      g_assert_cmpstr (out, ==, "");
    }
  g_chmod (heatmaps, 0755);
}

/* The CLI refuses what does not apply to an anomaly project, and bad rates, in words. */
static void
test_cli_options (Fixture *f, gconstpointer data)
{
  g_autofree char *cli = built_cli ();
  g_autofree char *project = NULL, *out = NULL;

  if (cli == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      return;
    }
  make_project (f, 6, 0, TRUE);
  project = g_strdup (sl_project_get_path (f->project));
  g_assert_cmpint (run_cli (cli, &out, "train", project, "--coreset-ratio", "2", NULL, NULL), ==,
                   1);
  g_assert_cmpint (run_cli (cli, &out, "train", project, "--target-false-reject", "1", NULL, NULL),
                   ==, 1);
  /* As the project's target: below 0.5. */
  g_assert_cmpint (
      run_cli (cli, &out, "train", project, "--target-false-reject", "0.6", NULL, NULL), ==, 1);
  g_assert_cmpint (run_cli (cli, &out, "train", project, "--model", "small-bn", NULL, NULL), ==, 1);
  g_assert_cmpint (run_cli (cli, &out, "train", project, "--finetune", "all", "--model", "lite0"),
                   ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/anomaly-fit/old-recipe", test_old_recipe);
  /* Before any fixture points the backbone search at the test backbone. */
  g_test_add_func ("/anomaly-fit/lite0", test_lite0);
  g_test_add ("/anomaly-fit/fit", Fixture, NULL, pt_anomaly_fixture_set_up, test_fit,
              pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/held-out", Fixture, NULL, pt_anomaly_fixture_set_up, test_held_out,
              pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/no-good", Fixture, NULL, pt_anomaly_fixture_set_up, test_no_good,
              pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/defects-only", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_defects_only, pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/damaged-images", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_damaged_images, pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/cancel-resume", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_cancel_resume, pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/missing-backbone", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_missing_backbone, pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/cli-kill-resume", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_cli_kill_resume, pt_anomaly_fixture_tear_down);
  g_test_add ("/anomaly-fit/cli-options", Fixture, NULL, pt_anomaly_fixture_set_up,
              test_cli_options, pt_anomaly_fixture_tear_down);
  return g_test_run ();
}
