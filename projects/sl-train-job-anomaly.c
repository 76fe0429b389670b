/* sl-train-job-anomaly.c: an anomaly run: PatchCore fitted on good images, its threshold, its file. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-private.h"
#include "sl-anomaly-run-private.h"
#include "sl-train-job-private.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Without good validation images, this share of the training good images is held out of the
 * memory bank and scored for the threshold instead. */
#define HOLD_OUT_SHARE 0.2

static gboolean
runtime_failed (GError **error, const sl_error *err, const char *what)
{
  _sl_project_set_runtime_error (error, err, what);
  return FALSE;
}

static gboolean
cancelled (SlTrainJob *job, GError **error)
{
  if (!g_atomic_int_get (&job->cancelled))
    return FALSE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Fitting was cancelled");
  return TRUE;
}

/* Progress of the three phases (sl-train-job.h says what each pair means). */
typedef struct
{
  SlTrainJob *job;
  gint64 features_done, features_total, fit_done, fit_total, score_done, score_total;
} FitProgress;

static void
report (FitProgress *fp)
{
  SlTrainJob *job = fp->job;
  SlTrainProgress tp = { 0 };

  if (job->func == NULL)
    return;
  tp.run_id = job->run->id;
  tp.epochs = 1;
  tp.train_loss = tp.train_accuracy = tp.val_loss = tp.val_accuracy = NAN;
  tp.learning_rate = tp.images_per_s = tp.eta_seconds = NAN;
  tp.features_done = fp->features_done;
  tp.features_total = fp->features_total;
  tp.fit_done = fp->fit_done;
  tp.fit_total = fp->fit_total;
  tp.score_done = fp->score_done;
  tp.score_total = fp->score_total;
  job->func (&tp, job->user_data);
}

static bool
coreset_progress (int64_t done, int64_t total, void *user_data)
{
  FitProgress *fp = user_data;

  fp->fit_done = done;
  fp->fit_total = MAX (total, 1);
  report (fp);
  return !g_atomic_int_get (&fp->job->cancelled);
}

/* The classes of the project's split images, in display order (an anomaly project may have
 * images of its good class only). */
static gboolean
pick_classes (SlProject *db, SlTrainData *d, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      db,
      "SELECT c.id, c.name FROM classes c WHERE EXISTS (SELECT 1 FROM images i WHERE "
      "i.class_id = c.id AND i.ignored = 0 AND i.split > 0) ORDER BY c.position, c.id",
      error);

  if (stmt == NULL)
    return FALSE;
  d->class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  d->class_names = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (d->class_ids, id);
      g_ptr_array_add (d->class_names, _sl_sqlite_dup_text (stmt, 1));
    }
  return TRUE;
}

static gboolean
is_good (SlTrainJob *job, int32_t label)
{
  return sl_project_is_good_class (job->db, g_array_index (job->data.class_ids, gint64, label));
}

static void
set_no_good_error (GError **error)
{
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
               "An anomaly model learns from good parts: the training split has no image "
               "of the class “%s”. Import good parts (sightline-cli import PROJECT DIR --as "
               "good) and split the data set",
               SL_ANOMALY_GOOD_CLASS);
}

/* The project's images by split. A training split without any image is an anomaly project's
 * usual state when it holds defect images only (they never go to training): that is said in
 * its words, not as "split the data set first", which the user already did. */
static gboolean
collect_images (SlTrainJob *job, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *note = NULL;

  if (sl_train_data_collect (job->db, &job->data, &local))
    return TRUE;
  if (g_error_matches (local, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA)
      && job->data.train_paths != NULL && job->data.train_paths->len == 0
      && (note = sl_train_data_skipped_note (&job->data)) == NULL)
    {
      set_no_good_error (error);
      return FALSE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* Keeps the training split's good images only: defects never go into the memory bank. */
static gboolean
keep_good_training_images (SlTrainJob *job, GError **error)
{
  SlTrainData *d = &job->data;

  for (guint i = d->train_paths->len; i-- > 0;)
    if (!is_good (job, g_array_index (d->train_labels, int32_t, i)))
      {
        g_ptr_array_remove_index (d->train_paths, i);
        g_array_remove_index (d->train_labels, i);
      }
  if (d->train_paths->len == 0)
    {
      set_no_good_error (error);
      return FALSE;
    }
  return TRUE;
}

/* The run's model: the whole pretrained backbone (its small head unused), at the pipeline's
 * input, computing where the recipe says. */
static gboolean
build_model (SlTrainJob *job, GError **error)
{
  SlRunConfig c = job->config;
  sl_input_spec spec;
  sl_error err = { 0 };

  c.finetune = SL_FINETUNE_HEAD;
  c.backbone_lr_ratio = 1;
  sl_pipeline_get_input (job->pipeline, &spec);
  if ((job->model = _sl_run_backbone_model_new (job->backbone, &c, &spec, 2, error)) == NULL)
    return FALSE;
  if (sl_model_set_threads (job->model, job->config.threads, &err) != SL_OK
      || (job->config.device[0] != '\0'
          && sl_model_set_device (job->model, NULL, job->config.device, &err) != SL_OK))
    return runtime_failed (error, &err, "Could not set up the anomaly model");
  return TRUE;
}

static gboolean
check_recipe (const SlRunConfig *c, GError **error)
{
  if (!(c->coreset_ratio == 0 || (c->coreset_ratio > 0 && c->coreset_ratio <= 1))
      || !(c->target_false_reject == 0
           || (c->target_false_reject > 0 && c->target_false_reject < 1)))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The coreset ratio is above 0 and at most 1, and the target false-reject "
                   "rate above 0 and below 1 (0: the defaults), not %g and %g",
                   c->coreset_ratio, c->target_false_reject);
      return FALSE;
    }
  return TRUE;
}

SlTrainJob *
_sl_train_job_new_anomaly (SlProject *project, const SlRunConfig *config, GError **error)
{
  g_autoptr (SlTrainJob) job = g_new0 (SlTrainJob, 1);
  g_autofree char *pipeline_json = NULL, *model_json = NULL, *config_json = NULL;
  g_autofree char *identity = NULL;
  gint64 run_id;
  char id[32];
  char *normal;

  job->best_epoch = -1;
  job->best_val_loss = INFINITY;
  job->lock_fd = -1;
  job->config = *config;
  job->config.preset = NULL;
  job->config.model_json = NULL;
  job->config.pipeline_json = NULL;
  job->config.augment_json = NULL; /* good parts are seen as they are */
  job->config.optimizer = NULL;
  job->config.manual_weights = NULL;
  job->config.class_weights = SL_CLASS_WEIGHTS_NONE;
  job->config.backbone = NULL;
  job->config.epochs = 1;
  job->config.patience = 0;
  if (job->config.input_size == 0)
    job->config.input_size = SL_ANOMALY_DEFAULT_INPUT;
  if (!check_recipe (&job->config, error))
    return NULL;
  /* Missing: the error says how to install it. */
  if ((job->backbone = sl_backbone_find (
           config->backbone != NULL ? config->backbone : SL_ANOMALY_DEFAULT_BACKBONE, error))
      == NULL)
    return NULL;
  job->config.backbone = g_strdup (job->backbone->name);
  if ((job->db = sl_project_open_worker (sl_project_get_path (project), error)) == NULL
      || !pick_classes (job->db, &job->data, error) || !collect_images (job, error)
      || !keep_good_training_images (job, error))
    return NULL;
  /* The recipe records the rate the run used, not "the project's". */
  if (job->config.target_false_reject == 0)
    job->config.target_false_reject = sl_project_get_target_false_reject (job->db);
  /* The caller's pipeline when it gives one; the input side is the job's (224 for 0). */
  if ((pipeline_json = _sl_train_job_resolve_pipeline (job, config, error)) == NULL
      || (job->pipeline == NULL && !_sl_train_job_parse_pipeline (job, pipeline_json, error))
      || !build_model (job, error))
    return NULL;
  identity = _sl_run_backbone_identity_json (job->backbone);
  normal = sl_model_to_json (job->model);
  model_json = g_strdup (normal);
  sl_free (normal);
  config_json = _sl_run_config_to_json (&job->config, model_json, pipeline_json, identity, NULL,
                                        (int) job->data.class_ids->len);
  if ((run_id = sl_train_data_insert_run (job->db, &job->data, &job->config, config_json, error))
      < 0)
    return NULL;
  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((job->run = sl_project_get_run (job->db, id, error)) == NULL
      || !_sl_run_lock (job->db, job->run, TRUE, &job->lock_fd, error))
    return NULL;
  return g_steal_pointer (&job);
}

gboolean
_sl_train_job_resume_anomaly (SlTrainJob *job, GError **error)
{
  g_autofree char *identity = _sl_run_config_member_json (job->run->config_json, "backbone");
  g_autofree char *pipeline_json = sl_run_info_dup_pipeline_json (job->run);
  cJSON *doc = identity != NULL ? cJSON_Parse (identity) : NULL;
  g_autofree char *recorded = g_strdup (
      cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (doc, "parameters_sha256")));
  g_autoptr (sqlite3_stmt) reset = NULL, forget = NULL;

  cJSON_Delete (doc);
  if (!keep_good_training_images (job, error) || !check_recipe (&job->config, error)
      || (job->backbone = sl_backbone_find (
              job->config.backbone != NULL ? job->config.backbone : SL_ANOMALY_DEFAULT_BACKBONE,
              error))
             == NULL)
    return FALSE;
  if (recorded != NULL && g_strcmp0 (recorded, job->backbone->parameters_sha256) != 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED,
                   "%s was fitted with other %s weights than the ones installed now (%s); start "
                   "a new run",
                   job->run->name, job->backbone->name, job->backbone->path);
      return FALSE;
    }
  if (!_sl_train_job_parse_pipeline (job, pipeline_json, error) || !build_model (job, error))
    return FALSE;
  /* A fit has no checkpoint to continue from: it starts again. */
  reset = _sl_project_prepare (job->db,
                               "UPDATE runs SET epochs = 1, epochs_done = 0, best_epoch = -1, "
                               "best_val_loss = NULL, best_val_accuracy = NULL WHERE id = ?",
                               error);
  forget = _sl_project_prepare (job->db, "DELETE FROM run_metrics WHERE run_id = ?", error);
  if (reset == NULL || forget == NULL)
    return FALSE;
  sqlite3_bind_int64 (reset, 1, job->run->id);
  sqlite3_bind_int64 (forget, 1, job->run->id);
  return _sl_project_step_done (job->db, forget, error)
         && _sl_project_step_done (job->db, reset, error);
}

/* ---- The fit ------------------------------------------------------------------------- */

/* Which images do what: the bank's, and the threshold's (good, then defects). */
typedef struct
{
  GPtrArray *bank;       /* char *, borrowed */
  GPtrArray *scored;     /* char *, borrowed */
  GArray *scored_defect; /* int32_t: 1 for a defect image */
  gboolean held_out;     /* the good ones of `scored` come from the training split */
} FitSets;

static void
fit_sets_clear (FitSets *s)
{
  g_clear_pointer (&s->bank, g_ptr_array_unref);
  g_clear_pointer (&s->scored, g_ptr_array_unref);
  g_clear_pointer (&s->scored_defect, g_array_unref);
}

static void
choose_sets (SlTrainJob *job, FitSets *s)
{
  const SlTrainData *d = &job->data;
  gint64 good_val = 0;

  s->bank = g_ptr_array_new ();
  s->scored = g_ptr_array_new ();
  s->scored_defect = g_array_new (FALSE, FALSE, sizeof (int32_t));
  for (guint i = 0; i < d->val_paths->len; i++)
    {
      int32_t defect = !is_good (job, g_array_index (d->val_labels, int32_t, i));

      g_ptr_array_add (s->scored, g_ptr_array_index (d->val_paths, i));
      g_array_append_val (s->scored_defect, defect);
      good_val += !defect;
    }
  if (good_val > 0 || d->train_paths->len < 2)
    {
      for (guint i = 0; i < d->train_paths->len; i++)
        g_ptr_array_add (s->bank, g_ptr_array_index (d->train_paths, i));
      return;
    }
  {
    /* A seeded 20 % of the training good images, in an order that depends on the seed only. */
    guint n = d->train_paths->len, hold = MAX (1, (guint) (n * HOLD_OUT_SHARE));
    g_autofree guint *order = g_new (guint, n);
    guint32 seed[2] = { (guint32) job->config.seed, (guint32) (job->config.seed >> 32) };
    GRand *rand = g_rand_new_with_seed_array (seed, 2);
    g_autofree gboolean *held = g_new0 (gboolean, n);
    const int32_t zero = 0;

    for (guint i = 0; i < n; i++)
      order[i] = i;
    for (guint i = n - 1; i > 0; i--)
      {
        guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    g_rand_free (rand);
    for (guint i = 0; i < hold; i++)
      held[order[i]] = TRUE;
    for (guint i = 0; i < n; i++)
      if (held[i])
        {
          g_ptr_array_add (s->scored, g_ptr_array_index (d->train_paths, i));
          g_array_append_val (s->scored_defect, zero);
        }
      else
        g_ptr_array_add (s->bank, g_ptr_array_index (d->train_paths, i));
    s->held_out = TRUE;
  }
}

typedef struct
{
  SlTrainJob *job;
  FitProgress *fp;
  sl_anomaly_fitter *fitter;
  const sl_anomaly *anomaly;
  GArray *good, *defect;
  double *item_scores; /* per image of the threshold's list; NAN: not scored */
  gint64 added;
} FitBatch;

/* The memory bank's features: one batch of bank images through the fitter. */
static gboolean
add_batch (const float *x, const int32_t *labels, const guint *items, int n, gint64 done,
           gpointer user_data, GError **error)
{
  FitBatch *b = user_data;
  sl_error err = { 0 };

  (void) labels;
  if (sl_anomaly_fitter_add (b->fitter, x, n, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not compute the features of the good images");
  b->added += n;
  b->fp->features_done = done;
  report (b->fp);
  return !cancelled (b->job, error);
}

/* The threshold's images: one batch scored, good and defect scores (doubles) apart. */
static gboolean
score_batch (const float *x, const int32_t *labels, const guint *items, int n, gint64 done,
             gpointer user_data, GError **error)
{
  FitBatch *b = user_data;
  float scores[SL_ANOMALY_BATCH];
  sl_error err = { 0 };

  if (sl_anomaly_score (b->anomaly, b->job->model, x, n, scores, NULL, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not score the validation images");
  for (int i = 0; i < n; i++)
    {
      double v = scores[i];
      g_array_append_val (labels[i] ? b->defect : b->good, v);
      b->item_scores[items[i]] = v;
    }
  b->fp->score_done = done;
  report (b->fp);
  return !cancelled (b->job, error);
}

/* The share of the scored images decided right at the threshold (good at or below it,
 * defects above); NAN without any. */
static double
decided_right (const GArray *good, const GArray *defect, double threshold)
{
  gint64 right = 0;

  for (guint i = 0; i < good->len; i++)
    right += g_array_index (good, double, i) <= threshold;
  for (guint i = 0; i < defect->len; i++)
    right += g_array_index (defect, double, i) > threshold;
  return good->len + defect->len > 0 ? (double) right / (good->len + defect->len) : NAN;
}

/* The run's one "epoch" and its summary in the runs table, in one transaction. */
static gboolean
record_fit (SlTrainJob *job, double accuracy, gint64 images, double seconds, GError **error)
{
  g_autoptr (sqlite3_stmt) metrics = _sl_project_prepare (
      job->db, "INSERT OR REPLACE INTO run_metrics VALUES (?, 0, 0, 0, NULL, ?, 0, ?, ?)", error);
  g_autoptr (sqlite3_stmt) run = _sl_project_prepare (
      job->db,
      "UPDATE runs SET epochs_done = 1, best_epoch = 0, best_val_loss = NULL, "
      "best_val_accuracy = ? WHERE id = ?",
      error);

  if (metrics == NULL || run == NULL || !_sl_project_begin (job->db, error))
    return FALSE;
  sqlite3_bind_int64 (metrics, 1, job->run->id);
  if (isfinite (accuracy))
    {
      sqlite3_bind_double (metrics, 2, accuracy);
      sqlite3_bind_double (run, 1, accuracy);
    }
  sqlite3_bind_double (metrics, 3, images / MAX (seconds, 1e-9));
  sqlite3_bind_double (metrics, 4, seconds);
  sqlite3_bind_int64 (run, 2, job->run->id);
  if (!_sl_project_step_done (job->db, metrics, error)
      || !_sl_project_step_done (job->db, run, error) || !_sl_project_commit (job->db, error))
    {
      _sl_project_rollback (job->db);
      return FALSE;
    }
  return TRUE;
}

/* What the model file says of where it came from. */
static char *
provenance_json (SlTrainJob *job, const SlAnomalyThreshold *t)
{
  g_autofree char *identity = _sl_run_config_member_json (job->run->config_json, "backbone");
  g_autofree char *name = sl_project_dup_name (job->db);
  cJSON *doc = cJSON_CreateObject ();
  char *printed, *out;

  cJSON_AddStringToObject (doc, "project", name != NULL ? name : "");
  cJSON_AddStringToObject (doc, "run", job->run->name);
  cJSON_AddStringToObject (doc, "dataset_sha256", job->data.hash);
  cJSON_AddNumberToObject (doc, "train_images", (double) job->data.train_paths->len);
  cJSON_AddItemToObject (doc, "backbone",
                         identity != NULL ? cJSON_Parse (identity) : cJSON_CreateNull ());
  cJSON_AddStringToObject (doc, "threshold_statement", t->statement != NULL ? t->statement : "");
  printed = cJSON_PrintUnformatted (doc);
  out = g_strdup (printed);
  cJSON_free (printed);
  cJSON_Delete (doc);
  return out;
}

static gboolean
write_model (SlTrainJob *job, const sl_anomaly *anomaly, const SlAnomalyThreshold *t,
             GError **error)
{
  g_autofree char *path = sl_project_run_file (job->db, job->run, SL_ANOMALY_RUN_MODEL);
  g_autofree char *provenance = provenance_json (job, t);
  sl_slmodel_info info;
  sl_error err = { 0 };

  sl_slmodel_info_init (&info);
  info.kind = SL_SLMODEL_ANOMALY;
  info.anomaly = anomaly;
  info.provenance_json = provenance;
  if (sl_slmodel_save (job->model, job->pipeline, &info, path, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not write the anomaly model");
  return TRUE;
}

/* The validation images' scores (the first of the threshold's list) stored as the run's
 * evaluation on the validation split, so that Evaluate shows them at once. */
static gboolean
store_validation (SlTrainJob *job, const double *scores, GError **error)
{
  const guint n = job->data.val_paths->len;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree gint64 *ids = g_new (gint64, MAX (n, 1));
  g_autofree double *known = g_memdup2 (scores, sizeof (double) * MAX (n, 1));

  if (n == 0)
    return TRUE;
  if ((stmt = _sl_project_prepare (job->db, "SELECT id FROM images WHERE hash = ?", error)) == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      /* A stored copy is images/<2>/<hash>.<ext>. */
      g_autofree char *base = g_path_get_basename (g_ptr_array_index (job->data.val_paths, i));
      char *dot = strrchr (base, '.');

      if (dot != NULL)
        *dot = '\0';
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, base, -1, SQLITE_TRANSIENT);
      ids[i] = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : -1;
      if (ids[i] < 0)
        known[i] = NAN;
    }
  return _sl_anomaly_store_evaluation (job->db, job->run->id, SL_SPLIT_VAL, ids, known, n, error)
         >= 0;
}

/* A refit starts clean: whatever an earlier, killed fit of the run left, the temporary file of
 * a threshold record being written included ("threshold.json.XXXXXX", GLib's name; the
 * model's "anomaly.slmodel.tmp-XXXXXX" goes with the clean-up on open). The job holds the run's
 * lock, so no other writer is there. */
static void
remove_earlier_fit (SlTrainJob *job)
{
  g_autofree char *dir = sl_project_run_file (job->db, job->run, NULL);
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    if (strcmp (name, SL_ANOMALY_RUN_MODEL) == 0 || strcmp (name, SL_ANOMALY_RUN_THRESHOLD) == 0
        || g_str_has_prefix (name, SL_ANOMALY_RUN_THRESHOLD ".")
        || g_str_has_prefix (name, SL_ANOMALY_RUN_MODEL ".tmp-"))
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_unlink (path);
      }
}

/* bank_images, held: the images that went into the bank and were held out of it (read);
 * unread: the bank's and threshold's images that could not be read (skipped). */
static char *
finish_message (const SlAnomalyThreshold *t, const FitSets *s, gint64 bank_images, gint64 held,
                gint64 unread)
{
  GString *m = g_string_new (NULL);

  if (s->held_out)
    g_string_append_printf (m,
                            "No good validation images: %" G_GINT64_FORMAT
                            " of the %" G_GINT64_FORMAT
                            " training good images were held out of the memory bank to set the "
                            "threshold. ",
                            held, bank_images + held);
  g_string_append (m, t->statement != NULL ? t->statement : "");
  /* Said, not silent: a damaged copy in images/ would otherwise just be missing from the fit. */
  if (unread > 0)
    g_string_append_printf (m, " %" G_GINT64_FORMAT " image%s could not be read and %s skipped.",
                            unread, unread == 1 ? "" : "s", unread == 1 ? "was" : "were");
  return g_string_free (m, FALSE);
}

gboolean
_sl_train_job_fit_anomaly (SlTrainJob *job, GError **error)
{
  FitProgress fp = { job, 0, 0, 0, 0, 0, 0 };
  FitSets sets = { 0 };
  FitBatch batch = { job, &fp, NULL, NULL, NULL, NULL, 0 };
  sl_anomaly_config ac;
  sl_anomaly_fitter *fitter = NULL;
  sl_anomaly *anomaly = NULL;
  g_autoptr (GArray) good = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) defect = g_array_new (FALSE, FALSE, sizeof (double));
  SlAnomalyThreshold t = { 0 };
  gint64 added = 0, started = g_get_monotonic_time ();
  sl_error err = { 0 };
  gboolean ok = FALSE;

  batch.good = good;
  batch.defect = defect;
  remove_earlier_fit (job);
  choose_sets (job, &sets);
  batch.item_scores = g_new (double, MAX (sets.scored->len, 1));
  for (guint i = 0; i < sets.scored->len; i++)
    batch.item_scores[i] = NAN;
  fp.features_total = sets.bank->len;
  fp.score_total = sets.scored->len;
  report (&fp);
  sl_anomaly_config_init (&ac);
  if (job->config.coreset_ratio > 0)
    ac.coreset_ratio = job->config.coreset_ratio;
  ac.expected_images = sets.bank->len;
  ac.seed = job->config.seed;
  if (sl_anomaly_fitter_new (job->model, &ac, &fitter, &err) != SL_OK)
    {
      runtime_failed (error, &err, "Could not set up the anomaly model");
      goto out;
    }
  batch.fitter = fitter;
  if (!_sl_anomaly_for_batches (job->pipeline, sets.bank, NULL, job->config.workers,
                                job->config.seed, add_batch, &batch, error))
    goto out;
  added = batch.added;
  if (added == 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                   "None of the %u good training images could be read", sets.bank->len);
      goto out;
    }
  if (sl_anomaly_fitter_finish (fitter, coreset_progress, &fp, &anomaly, &err) != SL_OK)
    {
      runtime_failed (error, &err, "Could not select the memory bank");
      goto out;
    }
  g_clear_pointer (&fitter, sl_anomaly_fitter_free); /* its patches: the largest memory */
  batch.anomaly = anomaly;
  if (!_sl_anomaly_for_batches (job->pipeline, sets.scored,
                                (const int32_t *) sets.scored_defect->data, job->config.workers,
                                job->config.seed, score_batch, &batch, error))
    goto out;
  sl_anomaly_threshold_from_good ((const double *) good->data, good->len,
                                  job->config.target_false_reject, &t);
  if (isfinite (t.threshold)
      && sl_anomaly_set_threshold (anomaly, (float) t.threshold, &err) != SL_OK)
    {
      runtime_failed (error, &err, "Could not set the threshold");
      goto out;
    }
  /* Last chance to stop before anything is written: after it the run is finished. */
  if (cancelled (job, error)
      || !_sl_anomaly_run_write_threshold (job->db, job->run, &t, sets.held_out,
                                           (const double *) good->data, good->len,
                                           (const double *) defect->data, defect->len, error)
      || !write_model (job, anomaly, &t, error)
      || !record_fit (job, decided_right (good, defect, t.threshold),
                      added + good->len + defect->len, (g_get_monotonic_time () - started) / 1e6,
                      error)
      || !store_validation (job, batch.item_scores, error))
    goto out;
  job->finish_message
      = finish_message (&t, &sets, added, sets.held_out ? (gint64) good->len : 0,
                        (gint64) sets.bank->len - added
                            + ((gint64) sets.scored->len - (gint64) (good->len + defect->len)));
  ok = TRUE;

out:
  sl_anomaly_fitter_free (fitter);
  sl_anomaly_free (anomaly);
  sl_anomaly_threshold_clear (&t);
  fit_sets_clear (&sets);
  g_free (batch.item_scores);
  return ok;
}
