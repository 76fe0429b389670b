/* sl-train-job-private.h: the training job's state, shared by its files (the epochs, the feature pass). */
#pragma once

#include "sl-feature-cache.h"
#include "sl-train-data.h"
#include "sl-train-job.h"

struct _SlTrainJob
{
  SlProject *db; /* the job's own connection, used by its thread once started */
  SlRunInfo *run;
  SlRunConfig config;
  SlTrainData data;
  GArray *weights; /* float, or NULL */
  sl_augment_config augment;
  sl_pipeline *pipeline;
  sl_model *model;
  sl_trainer *trainer;
  sl_loader *train_loader, *val_loader;
  SlBackboneInfo *backbone; /* the installed backbone a new run starts from, else NULL */
  int first_epoch;
  int lock_fd; /* held while the job exists: one process trains a run at a time */

  SlTrainProgressFunc func;
  gpointer user_data;
  gint cancelled;
  GThread *thread;
  GError *error;

  /* The feature cache: settings, then (thread) its two halves and what it did. */
  gboolean cache_enabled;
  gint64 cache_budget; /* < 0: the default */
  SlFeatureCache *train_cache, *val_cache;
  SlFeatureCacheStats cache_stats;

  /* An anomaly run (sl-train-job-anomaly.c): what the finished run's message says (the
   * threshold's statement, a hold-out), set by the fit. */
  char *finish_message;

  /* Thread state. */
  int epoch;
  gint64 started, steps_done;
  double best_val_loss;
  int best_epoch, since_best;
};

/* sl-train-job-features.c: before the first epoch, when the frozen layers' output does not
 * change from epoch to epoch (no augmentation), computes it once per image into the job's
 * feature caches and switches the trainer to features. TRUE without doing anything when the
 * cache is off or does not apply. */
gboolean _sl_train_job_compute_features (SlTrainJob *job, GError **error);

/* sl-train-job.c: the recipe's pipeline parsed into job->pipeline, and the run's pipeline (the
 * project's or the recipe's; for a backbone run its steps and the backbone's input). */
gboolean _sl_train_job_parse_pipeline (SlTrainJob *job, const char *pipeline_json, GError **error);
char *_sl_train_job_resolve_pipeline (SlTrainJob *job, const SlRunConfig *config, GError **error);

/* sl-train-job-anomaly.c: anomaly runs (config->anomaly). A new run: the good images of the
 * training split, the backbone, the pipeline and the run's row. */
SlTrainJob *_sl_train_job_new_anomaly (SlProject *project, const SlRunConfig *config,
                                       GError **error);
/* Resuming one (job->run, config and data read, the data set hash checked): it fits again
 * from the start with the backbone it recorded. */
gboolean _sl_train_job_resume_anomaly (SlTrainJob *job, GError **error);
/* The thread's work: features, memory bank, threshold, then runs/<run>/anomaly.slmodel. */
gboolean _sl_train_job_fit_anomaly (SlTrainJob *job, GError **error);
