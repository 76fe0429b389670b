/* sl-train-job.c: runs a training run on its own thread: epochs, validation, checkpoints, metrics. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-train-job-private.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sl-vision.h"

void
sl_train_job_free (SlTrainJob *job)
{
  if (job == NULL)
    return;
  if (job->thread != NULL)
    {
      sl_train_job_cancel (job);
      g_thread_join (job->thread);
    }
  sl_feature_cache_free (job->train_cache);
  sl_feature_cache_free (job->val_cache);
  sl_backbone_info_free (job->backbone);
  sl_loader_free (job->train_loader);
  sl_loader_free (job->val_loader);
  sl_trainer_free (job->trainer);
  sl_model_free (job->model);
  sl_pipeline_free (job->pipeline);
  if (job->weights != NULL)
    g_array_unref (job->weights);
  sl_train_data_clear (&job->data);
  sl_run_config_clear (&job->config);
  sl_run_info_free (job->run);
  g_free (job->finish_message);
  sl_project_unref (job->db);
  if (job->lock_fd >= 0)
    close (job->lock_fd);
  g_clear_error (&job->error);
  g_free (job);
}

static gboolean
runtime_failed (GError **error, const sl_error *err, const char *what)
{
  _sl_project_set_runtime_error (error, err, what);
  return FALSE;
}

static gboolean
parse_optimizer (const char *name, sl_optimizer_kind *kind, GError **error)
{
  if (name == NULL || g_strcmp0 (name, "adam") == 0)
    *kind = SL_OPTIMIZER_ADAM;
  else if (g_strcmp0 (name, "adamw") == 0)
    *kind = SL_OPTIMIZER_ADAMW;
  else if (g_strcmp0 (name, "sgd") == 0)
    *kind = SL_OPTIMIZER_SGD;
  else
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The optimizer is adam, adamw or sgd, not “%s”", name);
      return FALSE;
    }
  return TRUE;
}

/* The recipe's schedule, in epochs, as the engine's, in optimizer steps. */
static gboolean
fill_schedule (const SlRunConfig *c, gint64 train_images, sl_train_config *tc, GError **error)
{
  gint64 steps_per_epoch = MAX ((train_images + c->batch_size - 1) / c->batch_size, 1);
  gint64 total_steps = (gint64) c->epochs * steps_per_epoch;

  if (!(c->warmup_epochs >= 0 && c->warmup_epochs <= 1000)
      || !(c->min_learning_rate >= 0 && c->min_learning_rate <= c->learning_rate)
      || (c->schedule == SL_LR_SCHEDULE_STEP
          && (c->step_epochs < 1 || !(c->gamma > 0 && c->gamma <= 1))))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The warm-up cannot be negative, the minimum learning rate must be from 0 to "
                   "the learning rate, and a step schedule needs at least 1 epoch per step and "
                   "a factor above 0 and at most 1");
      return FALSE;
    }
  /* A short run still spends most of its steps learning at full rate. */
  tc->warmup_steps = MIN ((gint64) llround (c->warmup_epochs * steps_per_epoch), total_steps / 2);
  switch (c->schedule)
    {
      case SL_LR_SCHEDULE_STEP:
        tc->schedule = SL_SCHEDULE_STEP;
        tc->step_size = (int64_t) c->step_epochs * steps_per_epoch;
        tc->gamma = (float) c->gamma;
        break;
      case SL_LR_SCHEDULE_COSINE:
        tc->schedule = SL_SCHEDULE_COSINE;
        tc->total_steps = total_steps;
        tc->min_learning_rate = (float) c->min_learning_rate;
        break;
      case SL_LR_SCHEDULE_CONSTANT:
      default: tc->schedule = SL_SCHEDULE_CONSTANT; break;
    }
  return TRUE;
}

/* Reads the recipe's pipeline: the one parse of it the job makes. */
gboolean
_sl_train_job_parse_pipeline (SlTrainJob *job, const char *pipeline_json, GError **error)
{
  sl_error err = { 0 };

  if (sl_pipeline_from_json (pipeline_json, &job->pipeline, &err) != SL_OK)
    return runtime_failed (error, &err, "The pipeline is not valid");
  return TRUE;
}

/* Builds the trainer and loaders, and the model unless there is one, from the resolved
 * recipe and the job's pipeline. */
static gboolean
build_runtime (SlTrainJob *job, const char *model_json, GError **error)
{
  const SlRunConfig *c = &job->config;
  sl_train_config tc;
  sl_loader_config lc;
  sl_input_spec spec;
  sl_error err = { 0 };
  int channels, height, width;

  if (!(c->epochs >= 1 && c->epochs <= 100000 && c->batch_size >= 1 && c->batch_size <= 4096
        && c->patience >= 0 && c->threads >= 0 && c->learning_rate > 0))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "Epochs, batch size and learning rate must be positive, patience and threads "
                   "not negative");
      return FALSE;
    }
  sl_augment_config_init (&job->augment);
  if (c->augment_json != NULL
      && sl_augment_config_from_json (c->augment_json, &job->augment, &err) != SL_OK)
    return runtime_failed (error, &err, "The augmentation settings are not valid");
  sl_pipeline_get_input (job->pipeline, &spec);
  /* A backbone run's model is built from the backbone before. */
  if (job->model == NULL && sl_model_new (model_json, c->seed, &job->model, &err) != SL_OK)
    return runtime_failed (error, &err, "The model description is not valid");
  sl_model_input_shape (job->model, &channels, &height, &width);
  if (channels != spec.channels || height != spec.height || width != spec.width
      || sl_model_class_count (job->model) != (int) job->data.class_ids->len)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The model takes %dx%dx%d images and %d classes, but the pipeline gives "
                   "%dx%dx%d and the project has %u classes",
                   width, height, channels, sl_model_class_count (job->model), spec.width,
                   spec.height, spec.channels, job->data.class_ids->len);
      return FALSE;
    }
  sl_train_config_init (&tc);
  if (!parse_optimizer (c->optimizer, &tc.optimizer, error))
    return FALSE;
  tc.learning_rate = (float) c->learning_rate;
  tc.weight_decay = (float) c->weight_decay;
  tc.momentum = (float) c->momentum;
  tc.label_smoothing = (float) c->label_smoothing;
  tc.class_weights = job->weights != NULL ? (const float *) job->weights->data : NULL;
  tc.seed = c->seed;
  if (!fill_schedule (c, job->data.train_paths->len, &tc, error))
    return FALSE;
  if (sl_model_set_threads (job->model, c->threads, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not set up training");
  /* Before the trainer, which plans its buffers on the model's device. */
  if (c->device[0] != '\0' && sl_model_set_device (job->model, NULL, c->device, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not train on the chosen device");
  if (sl_trainer_new (job->model, &tc, c->batch_size, &job->trainer, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not set up training");

  sl_loader_config_init (&lc);
  lc.batch_size = c->batch_size;
  lc.seed = c->seed;
  lc.workers = c->workers > 0 ? c->workers : 2;
  lc.augment = sl_augment_config_is_active (&job->augment) ? &job->augment : NULL;
  if (sl_loader_new_files ((const char *const *) job->data.train_paths->pdata,
                           (const int32_t *) job->data.train_labels->data,
                           job->data.train_paths->len, job->pipeline, &lc, &job->train_loader, &err)
      != SL_OK)
    return runtime_failed (error, &err, "Could not load the training images");
  lc.shuffle = false;
  lc.augment = NULL;
  if (job->data.val_paths->len > 0
      && sl_loader_new_files ((const char *const *) job->data.val_paths->pdata,
                              (const int32_t *) job->data.val_labels->data,
                              job->data.val_paths->len, job->pipeline, &lc, &job->val_loader, &err)
             != SL_OK)
    return runtime_failed (error, &err, "Could not load the validation images");
  return TRUE;
}

static char *
preset_model_json (const SlRunConfig *c, const sl_pipeline *pipeline, int classes, GError **error)
{
  sl_preset_options po;
  sl_input_spec spec;
  sl_error err = { 0 };
  char *json = NULL, *out;

  sl_pipeline_get_input (pipeline, &spec);
  sl_preset_options_init (&po);
  po.channels = spec.channels;
  po.height = spec.height;
  po.width = spec.width;
  po.classes = classes;
  if (sl_preset_json (c->preset ? c->preset : "small-bn", &po, &json, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not build the model");
      return NULL;
    }
  out = g_strdup (json);
  sl_free (json);
  return out;
}

/* The run's pipeline: the recipe's or the project's (the first run fixes the project's, so
 * later runs compare fairly); a backbone run takes its steps and the backbone's input. */
char *
_sl_train_job_resolve_pipeline (SlTrainJob *job, const SlRunConfig *config, GError **error)
{
  g_autofree char *pipeline_json = NULL;
  char *backbone_json;
  int size;

  if (config->pipeline_json != NULL)
    pipeline_json = g_strdup (config->pipeline_json);
  else if ((pipeline_json = sl_project_dup_stored_pipeline_json (job->db)) == NULL)
    {
      if ((pipeline_json = sl_project_default_pipeline_json (job->db, error)) == NULL
          || !_sl_train_job_parse_pipeline (job, pipeline_json, error)
          || !sl_project_set_pipeline (job->db, job->pipeline, error))
        return NULL;
    }
  if (job->backbone == NULL)
    return g_steal_pointer (&pipeline_json);
  if ((size = _sl_run_backbone_input_size (job->db, &job->config, job->backbone, error)) < 0
      || (backbone_json = _sl_run_backbone_pipeline_json (pipeline_json, size, error)) == NULL)
    return NULL;
  job->config.input_size = size;
  g_clear_pointer (&job->pipeline, sl_pipeline_free);
  return backbone_json;
}

/* The transfer model of a backbone run, for the job's pipeline and classes. */
static gboolean
build_backbone_model (SlTrainJob *job, GError **error)
{
  sl_input_spec spec;

  sl_pipeline_get_input (job->pipeline, &spec);
  job->model = _sl_run_backbone_model_new (job->backbone, &job->config, &spec,
                                           (int) job->data.class_ids->len, error);
  return job->model != NULL;
}

SlTrainJob *
sl_train_job_new (SlProject *project, const SlRunConfig *config, GError **error)
{
  g_autoptr (SlTrainJob) job = g_new0 (SlTrainJob, 1);
  g_autofree char *pipeline_json = NULL, *model_json = NULL, *config_json = NULL;
  g_autofree char *identity = NULL;
  gint64 run_id;
  char id[32];

  g_return_val_if_fail (project != NULL && config != NULL, NULL);
  if (config->anomaly)
    return _sl_train_job_new_anomaly (project, config, error);
  job->config = *config;
  job->config.preset = g_strdup (config->model_json != NULL ? NULL : config->preset);
  job->config.model_json = NULL;
  job->config.pipeline_json = NULL;
  job->config.augment_json = g_strdup (config->augment_json);
  job->config.optimizer = g_strdup (config->optimizer ? config->optimizer : "adam");
  job->config.manual_weights = config->manual_weights ? g_array_ref (config->manual_weights) : NULL;
  job->config.backbone = NULL;
  job->best_epoch = -1;
  job->best_val_loss = INFINITY;
  job->lock_fd = -1;
  job->cache_enabled = TRUE;
  job->cache_budget = -1;
  if (config->backbone != NULL)
    {
      /* Missing: the error says how to install it. */
      if ((job->backbone = sl_backbone_find (config->backbone, error)) == NULL)
        return NULL;
      job->config.backbone = g_strdup (job->backbone->name);
      g_clear_pointer (&job->config.preset, g_free);
    }
  if ((job->db = sl_project_open_worker (sl_project_get_path (project), error)) == NULL
      || !sl_train_data_pick_classes (job->db, &job->data, error)
      || !sl_train_data_collect (job->db, &job->data, error)
      || !sl_train_data_class_weights (&job->data, &job->config, &job->weights, error))
    return NULL;
  if (job->config.augment_json == NULL)
    /* What the Preprocess page previews is what training does. */
    job->config.augment_json = sl_project_dup_augment_json (job->db);
  if ((pipeline_json = _sl_train_job_resolve_pipeline (job, config, error)) == NULL
      || (job->pipeline == NULL && !_sl_train_job_parse_pipeline (job, pipeline_json, error)))
    return NULL;
  if (job->backbone != NULL)
    {
      if (!build_backbone_model (job, error))
        return NULL;
      identity = _sl_run_backbone_identity_json (job->backbone);
    }
  else if ((model_json
            = config->model_json != NULL
                  ? g_strdup (config->model_json)
                  : preset_model_json (config, job->pipeline, job->data.class_ids->len, error))
           == NULL)
    return NULL;
  if (!build_runtime (job, model_json, error))
    return NULL;
  if (job->config.augment_json != NULL)
    {
      /* Every augmentation setting, defaults included, goes into the recipe. */
      char *full = sl_augment_config_to_json (&job->augment);
      g_free (job->config.augment_json);
      job->config.augment_json = g_strdup (full);
      sl_free (full);
    }
  {
    /* Store the model as the engine normalised it: resume rebuilds exactly it. */
    char *normal = sl_model_to_json (job->model);
    g_free (model_json);
    model_json = g_strdup (normal);
    sl_free (normal);
  }
  config_json = _sl_run_config_to_json (&job->config, model_json, pipeline_json, identity,
                                        job->weights ? (const float *) job->weights->data : NULL,
                                        job->data.class_ids->len);
  if ((run_id = sl_train_data_insert_run (job->db, &job->data, &job->config, config_json, error))
      < 0)
    return NULL;
  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((job->run = sl_project_get_run (job->db, id, error)) == NULL
      || !_sl_run_lock (job->db, job->run, TRUE, &job->lock_fd, error))
    return NULL;
  return g_steal_pointer (&job);
}

/* Restores the early-stopping state from the metrics of the epochs a
 * checkpoint holds, and forgets the metrics of epochs it does not. */
static gboolean
restore_history (SlTrainJob *job, GError **error)
{
  g_autoptr (sqlite3_stmt) drop = _sl_project_prepare (
      job->db, "DELETE FROM run_metrics WHERE run_id = ? AND epoch >= ?", error);
  g_autoptr (GArray) metrics = NULL;

  if (drop == NULL)
    return FALSE;
  sqlite3_bind_int64 (drop, 1, job->run->id);
  sqlite3_bind_int (drop, 2, job->first_epoch);
  if (!_sl_project_step_done (job->db, drop, error)
      || (metrics = sl_project_get_run_metrics (job->db, job->run->id, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < metrics->len; i++)
    {
      const SlEpochMetrics *m = &g_array_index (metrics, SlEpochMetrics, i);
      double loss = isnan (m->val_loss) ? m->train_loss : m->val_loss;

      if (loss < job->best_val_loss)
        {
          job->best_val_loss = loss;
          job->best_epoch = m->epoch;
          job->since_best = 0;
        }
      else
        job->since_best++;
    }
  return TRUE;
}

/* The model of a backbone run that has no checkpoint yet, from the installed backbone, which
 * must be the one the run started from. */
static gboolean
resume_backbone_model (SlTrainJob *job, GError **error)
{
  g_autofree char *identity = _sl_run_config_member_json (job->run->config_json, "backbone");
  cJSON *doc = identity != NULL ? cJSON_Parse (identity) : NULL;
  g_autofree char *recorded = g_strdup (
      cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (doc, "parameters_sha256")));

  cJSON_Delete (doc);
  if ((job->backbone = sl_backbone_find (job->config.backbone, error)) == NULL)
    return FALSE;
  if (recorded != NULL && g_strcmp0 (recorded, job->backbone->parameters_sha256) != 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED,
                   "%s started from other %s weights than the ones installed now (%s), and it "
                   "has no checkpoint yet; start a new run",
                   job->run->name, job->backbone->name, job->backbone->path);
      return FALSE;
    }
  return build_backbone_model (job, error);
}

SlTrainJob *
sl_train_job_new_resume (SlProject *project, const char *run_ref, int epochs, GError **error)
{
  return sl_train_job_new_resume_on (project, run_ref, epochs, NULL, error);
}

SlTrainJob *
sl_train_job_new_resume_on (SlProject *project, const char *run_ref, int epochs, const char *device,
                            GError **error)
{
  g_autoptr (SlTrainJob) job = g_new0 (SlTrainJob, 1);
  g_autofree char *last = NULL;
  g_autoptr (GArray) weights = NULL;
  sl_error err = { 0 };

  job->best_epoch = -1;
  job->best_val_loss = INFINITY;
  job->lock_fd = -1;
  job->cache_enabled = TRUE;
  job->cache_budget = -1;
  if ((job->db = sl_project_open_worker (sl_project_get_path (project), error)) == NULL
      || (job->run = sl_project_get_run (job->db, run_ref, error)) == NULL
      || !_sl_run_lock (job->db, job->run, TRUE, &job->lock_fd, error)
      || !sl_run_config_from_json (job->run->config_json, &job->config, &weights, error))
    return NULL;
  job->config.epochs = epochs > 0 ? epochs : job->run->epochs;
  if (device != NULL)
    g_strlcpy (job->config.device, device, sizeof job->config.device);
  if (job->config.anomaly)
    job->config.epochs = 1; /* one fit, whatever was asked */
  if (job->config.anomaly && job->run->status == SL_RUN_FINISHED)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s is already fitted; start a new run to fit again", job->run->name);
      return NULL;
    }
  if ((job->run->status == SL_RUN_FINISHED || job->run->status == SL_RUN_STOPPED_EARLY)
      && job->config.epochs <= job->run->epochs_done)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s already finished (%d epochs); give more epochs to continue it",
                   job->run->name, job->run->epochs_done);
      return NULL;
    }
  job->data.class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_vals (job->data.class_ids, job->run->class_ids, job->run->class_names->len);
  job->data.class_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < job->run->class_names->len; i++)
    g_ptr_array_add (job->data.class_names,
                     g_strdup (g_ptr_array_index (job->run->class_names, i)));
  if (!sl_train_data_collect (job->db, &job->data, error))
    return NULL;
  if (g_strcmp0 (job->data.hash, job->run->dataset_hash) != 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED,
                   "The project's images, labels or splits changed since %s began, so it cannot "
                   "be resumed; start a new run",
                   job->run->name);
      return NULL;
    }
  if (job->config.anomaly)
    return _sl_train_job_resume_anomaly (job, error) ? g_steal_pointer (&job) : NULL;
  job->weights = g_steal_pointer (&weights);
  last = sl_project_run_file (job->db, job->run, "last.slckpt");
  {
    g_autofree char *model_json = sl_run_info_dup_model_json (job->run);
    g_autofree char *pipeline_json = sl_run_info_dup_pipeline_json (job->run);

    /* The checkpoint holds every weight, the backbone's too; a backbone run stopped before
     * its first checkpoint starts again from the backbone. */
    if (!_sl_train_job_parse_pipeline (job, pipeline_json, error)
        || (job->config.backbone != NULL && !g_file_test (last, G_FILE_TEST_EXISTS)
            && !resume_backbone_model (job, error))
        || !build_runtime (job, model_json, error))
      return NULL;
  }
  if (g_file_test (last, G_FILE_TEST_EXISTS)
      && sl_trainer_load_checkpoint (job->trainer, last, &err) != SL_OK)
    {
      runtime_failed (error, &err, "Could not read the run's last checkpoint");
      return NULL;
    }
  job->first_epoch = (int) sl_trainer_epoch_count (job->trainer);
  if (!restore_history (job, error))
    return NULL;
  {
    g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
        job->db, "UPDATE runs SET epochs = ?, epochs_done = ? WHERE id = ?", error);
    if (stmt == NULL)
      return NULL;
    sqlite3_bind_int (stmt, 1, job->config.epochs);
    sqlite3_bind_int (stmt, 2, job->first_epoch);
    sqlite3_bind_int64 (stmt, 3, job->run->id);
    if (!_sl_project_step_done (job->db, stmt, error))
      return NULL;
  }
  return g_steal_pointer (&job);
}

gint64
sl_train_job_get_run_id (SlTrainJob *job)
{
  return job->run->id;
}

gsize
sl_train_job_get_param_count (SlTrainJob *job)
{
  return sl_model_param_count (job->model);
}

gsize
sl_train_job_get_trainable_param_count (SlTrainJob *job)
{
  return sl_model_trainable_param_count (job->model);
}

char *
sl_train_job_dup_skipped_note (SlTrainJob *job)
{
  return sl_train_data_skipped_note (&job->data);
}

guint
sl_train_job_get_skipped_images (SlTrainJob *job)
{
  return job->data.missing != NULL ? job->data.missing->len : 0;
}

gint64
sl_train_job_get_train_images (SlTrainJob *job)
{
  return job->data.train_paths->len;
}

gint64
sl_train_job_get_val_images (SlTrainJob *job)
{
  return job->data.val_paths->len;
}

int
sl_train_job_get_first_epoch (SlTrainJob *job)
{
  return job->first_epoch;
}

void
sl_train_job_set_progress_func (SlTrainJob *job, SlTrainProgressFunc func, gpointer user_data)
{
  job->func = func;
  job->user_data = user_data;
}

void
sl_train_job_cancel (SlTrainJob *job)
{
  g_atomic_int_set (&job->cancelled, 1);
}

static double
eta (SlTrainJob *job, gint64 step_in_epoch, gint64 steps_in_epoch)
{
  double elapsed = (g_get_monotonic_time () - job->started) / 1e6;
  gint64 left = (gint64) (job->config.epochs - job->epoch) * steps_in_epoch - step_in_epoch;

  return job->steps_done > 0 ? elapsed / job->steps_done * MAX (left, 0) : NAN;
}

static bool
on_step (const sl_progress *p, void *user_data)
{
  SlTrainJob *job = user_data;

  if (!p->epoch_done)
    job->steps_done++;
  if (job->func != NULL && !p->epoch_done)
    {
      SlTrainProgress tp = { job->run->id,
                             job->epoch,
                             job->config.epochs,
                             p->step_in_epoch,
                             p->steps_in_epoch,
                             FALSE,
                             p->loss,
                             p->accuracy,
                             NAN,
                             NAN,
                             p->learning_rate,
                             p->images_per_s,
                             eta (job, p->step_in_epoch, p->steps_in_epoch),
                             FALSE };
      job->func (&tp, job->user_data);
    }
  return !g_atomic_int_get (&job->cancelled);
}

static gboolean
set_status (SlTrainJob *job, SlRunStatus status, const char *message, gboolean finished)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      job->db, "UPDATE runs SET status = ?, message = ?, finished = ? WHERE id = ?", NULL);
  g_autofree char *now = finished ? _sl_project_now_iso () : NULL;
  g_autofree char *note = sl_train_data_skipped_note (&job->data), *full = NULL;

  /* The run's message keeps saying which images it did not see. */
  if (note != NULL)
    message = full = message != NULL ? g_strdup_printf (
                         "%s%s %s", message, g_str_has_suffix (message, ".") ? "" : ".", note)
                                     : g_steal_pointer (&note);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, status);
  if (message != NULL)
    sqlite3_bind_text (stmt, 2, message, -1, SQLITE_STATIC);
  if (now != NULL)
    sqlite3_bind_text (stmt, 3, now, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, job->run->id);
  return _sl_project_step_done (job->db, stmt, NULL);
}

/* Records an epoch: its metrics row and the run's progress, in one transaction. */
static gboolean
record_epoch (SlTrainJob *job, const sl_epoch_stats *tr, const sl_epoch_stats *val, double lr,
              GError **error)
{
  g_autoptr (sqlite3_stmt) metrics = _sl_project_prepare (
      job->db, "INSERT OR REPLACE INTO run_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  g_autoptr (sqlite3_stmt) run = _sl_project_prepare (
      job->db,
      "UPDATE runs SET epochs_done = ?, best_epoch = ?, best_val_loss = ?, best_val_accuracy = "
      "(SELECT val_accuracy FROM run_metrics WHERE run_id = ?4 AND epoch = ?2) WHERE id = ?4",
      error);

  if (metrics == NULL || run == NULL || !_sl_project_begin (job->db, error))
    return FALSE;
  sqlite3_bind_int64 (metrics, 1, job->run->id);
  sqlite3_bind_int (metrics, 2, job->epoch);
  sqlite3_bind_double (metrics, 3, tr->loss);
  sqlite3_bind_double (metrics, 4, tr->accuracy);
  if (val != NULL)
    {
      sqlite3_bind_double (metrics, 5, val->loss);
      sqlite3_bind_double (metrics, 6, val->accuracy);
    }
  sqlite3_bind_double (metrics, 7, lr);
  sqlite3_bind_double (metrics, 8, tr->images / MAX (tr->seconds, 1e-9));
  sqlite3_bind_double (metrics, 9, tr->seconds);
  sqlite3_bind_int (run, 1, job->epoch + 1);
  sqlite3_bind_int (run, 2, job->best_epoch);
  if (isfinite (job->best_val_loss))
    sqlite3_bind_double (run, 3, job->best_val_loss);
  sqlite3_bind_int64 (run, 4, job->run->id);
  if (!_sl_project_step_done (job->db, metrics, error)
      || !_sl_project_step_done (job->db, run, error) || !_sl_project_commit (job->db, error))
    {
      _sl_project_rollback (job->db);
      return FALSE;
    }
  return TRUE;
}

/* One epoch: train, validate, record, checkpoint. *stop is set by early stopping. */
static gboolean
run_epoch (SlTrainJob *job, gboolean *stop, GError **error)
{
  sl_batch_source train, val;
  sl_epoch_stats tr, vs;
  sl_error err = { 0 };
  gboolean has_val = job->val_loader != NULL, is_best;
  double loss;

  /* The cache visits the images in the loader's order of every epoch. */
  if (job->train_cache != NULL)
    sl_feature_cache_as_source (job->train_cache, TRUE, job->config.seed, job->config.batch_size,
                                &train);
  else
    sl_loader_as_source (job->train_loader, &train);
  if (sl_trainer_train_epoch (job->trainer, &train, on_step, job, &tr, &err) != SL_OK)
    return runtime_failed (error, &err, "Training failed");
  if (g_atomic_int_get (&job->cancelled))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Training was cancelled");
      return FALSE;
    }
  if (has_val)
    {
      if (job->val_cache != NULL)
        sl_feature_cache_as_source (job->val_cache, FALSE, job->config.seed, job->config.batch_size,
                                    &val);
      else
        sl_loader_as_source (job->val_loader, &val);
      if (sl_trainer_evaluate (job->trainer, &val, &vs, &err) != SL_OK)
        return runtime_failed (error, &err, "Validation failed");
    }
  /* Without validation images the training loss stands in. */
  loss = has_val ? vs.loss : tr.loss;
  is_best = loss < job->best_val_loss;
  if (is_best)
    {
      job->best_val_loss = loss;
      job->best_epoch = job->epoch;
      job->since_best = 0;
    }
  else
    job->since_best++;
  if (!record_epoch (job, &tr, has_val ? &vs : NULL, sl_trainer_learning_rate (job->trainer),
                     error))
    return FALSE;
  {
    g_autofree char *best = sl_project_run_file (job->db, job->run, "best.slckpt");
    g_autofree char *last = sl_project_run_file (job->db, job->run, "last.slckpt");

    if ((is_best && sl_trainer_save_checkpoint (job->trainer, best, &err) != SL_OK)
        || sl_trainer_save_checkpoint (job->trainer, last, &err) != SL_OK)
      return runtime_failed (error, &err, "Could not save a checkpoint");
  }
  if (job->func != NULL)
    {
      SlTrainProgress tp = { job->run->id,
                             job->epoch,
                             job->config.epochs,
                             0,
                             0,
                             TRUE,
                             tr.loss,
                             tr.accuracy,
                             has_val ? vs.loss : NAN,
                             has_val ? vs.accuracy : NAN,
                             sl_trainer_learning_rate (job->trainer),
                             tr.images / MAX (tr.seconds, 1e-9),
                             0,
                             is_best };
      tp.steps_in_epoch = tp.step_in_epoch
          = (tr.images + job->config.batch_size - 1) / job->config.batch_size;
      tp.eta_seconds = eta (job, tp.steps_in_epoch, tp.steps_in_epoch);
      job->func (&tp, job->user_data);
    }
  *stop = job->config.patience > 0 && has_val && job->since_best >= job->config.patience;
  return TRUE;
}

static gpointer
train_thread (gpointer data)
{
  SlTrainJob *job = data;
  g_autoptr (GError) error = NULL;
  gboolean stop = FALSE;

  set_status (job, SL_RUN_RUNNING, NULL, FALSE);
  job->epoch = job->first_epoch;
  if (job->config.anomaly)
    _sl_train_job_fit_anomaly (job, &error);
  else if (_sl_train_job_compute_features (job, &error))
    {
      /* The estimates count the epochs' pace only. */
      job->started = g_get_monotonic_time ();
      for (; job->epoch < job->config.epochs && !stop; job->epoch++)
        if (!run_epoch (job, &stop, &error))
          break;
    }
  /* The file part of the cache goes as soon as training ends. */
  g_clear_pointer (&job->train_cache, sl_feature_cache_free);
  g_clear_pointer (&job->val_cache, sl_feature_cache_free);
  if (error == NULL)
    {
      g_autofree char *why
          = stop ? g_strdup_printf ("no better validation loss for %d epochs", job->config.patience)
                 : NULL;
      set_status (job, stop ? SL_RUN_STOPPED_EARLY : SL_RUN_FINISHED,
                  why != NULL ? why : job->finish_message, TRUE);
    }
  else if (job->config.anomaly && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_status (job, SL_RUN_CANCELLED, "cancelled; resume fits it again", TRUE);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_status (job, SL_RUN_CANCELLED, "cancelled; resume continues from the last epoch", TRUE);
  else
    set_status (job, SL_RUN_FAILED, error->message, TRUE);
  job->error = g_steal_pointer (&error);
  return NULL;
}

gboolean
sl_train_job_start (SlTrainJob *job, GError **error)
{
  if (job->thread != NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID, "The job already started");
      return FALSE;
    }
  job->thread = g_thread_try_new ("sl-train", train_thread, job, error);
  return job->thread != NULL;
}

gboolean
sl_train_job_wait (SlTrainJob *job, GError **error)
{
  if (job->thread == NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID, "The job was not started");
      return FALSE;
    }
  g_thread_join (job->thread);
  job->thread = NULL;
  if (job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return FALSE;
    }
  return TRUE;
}

gboolean
sl_train_job_run (SlTrainJob *job, GError **error)
{
  return sl_train_job_start (job, error) && sl_train_job_wait (job, error);
}
