/* sl-train-job.h: a training run executed on its own thread, with progress, cancel and resume. */
#pragma once

#include "sl-run.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 run_id;
  int epoch, epochs; /* 0-based epoch in progress, total */
  gint64 step_in_epoch, steps_in_epoch;
  gboolean epoch_done;               /* the validation values are filled */
  double train_loss, train_accuracy; /* last batch, or the epoch when epoch_done */
  double val_loss, val_accuracy;     /* NAN without validation images */
  double learning_rate, images_per_s;
  double eta_seconds; /* for the whole run */
  gboolean is_best;   /* this epoch improved the validation loss */
  /* Before the first epoch of a run that trains from cached features of a frozen backbone
   * (the feature pass): the train and validation images done so far, of features_total;
   * the step and loss fields then mean nothing. features_total is 0 outside the pass. */
  gint64 features_done, features_total;
  /* An anomaly run (one "epoch", no loss) reports three phases in turn: the features of the
   * training split's good images (features_done of features_total), the memory bank's coreset
   * (fit_done of fit_total bank patches chosen; fit_total 0 before) and the scores of the
   * images that set the threshold (score_done of score_total; score_total 0 before). */
  gint64 fit_done, fit_total;
  gint64 score_done, score_total;
} SlTrainProgress;

/* Called on the training thread: no GTK here; post to the main loop. */
typedef void (*SlTrainProgressFunc) (const SlTrainProgress *progress, gpointer user_data);

typedef struct _SlTrainJob SlTrainJob;

/* Records a new run in the project (status "created") with the data set as it
 * is now: the train and validation splits' labelled, non-ignored images. */
SlTrainJob *sl_train_job_new (SlProject *project, const SlRunConfig *config, GError **error);
/* Continues a run from its last checkpoint; epochs > 0 changes its total. The
 * run's images, labels and splits must be unchanged. */
SlTrainJob *sl_train_job_new_resume (SlProject *project, const char *run_ref, int epochs,
                                     GError **error);
/* The same on another device than the run's recipe names ("cpu", "cuda",
 * "cuda:N"; NULL keeps the recipe's). A run's results do not depend on it
 * beyond rounding. */
SlTrainJob *sl_train_job_new_resume_on (SlProject *project, const char *run_ref, int epochs,
                                        const char *device, GError **error);
void sl_train_job_free (SlTrainJob *job);

gint64 sl_train_job_get_run_id (SlTrainJob *job);
/* Number of parameters, classes and images (valid after _new). */
gsize sl_train_job_get_param_count (SlTrainJob *job);
/* Of them, those training changes (all but a backbone's frozen layers). */
gsize sl_train_job_get_trainable_param_count (SlTrainJob *job);
gint64 sl_train_job_get_train_images (SlTrainJob *job);
gint64 sl_train_job_get_val_images (SlTrainJob *job);
int sl_train_job_get_first_epoch (SlTrainJob *job); /* > 0 when resuming */
/* "Skipped N images whose stored copies are missing from images/: names", or
 * NULL when the run sees every image of its splits (valid after _new). */
char *sl_train_job_dup_skipped_note (SlTrainJob *job);
/* How many train/validation images that note counts (0 when none; valid after _new). */
guint sl_train_job_get_skipped_images (SlTrainJob *job);

void sl_train_job_set_progress_func (SlTrainJob *job, SlTrainProgressFunc func, gpointer user_data);

/* While augmentation is off, a model with frozen layers (a backbone run) computes the frozen
 * layers' features once per image before the first epoch and trains the rest from them:
 * up to memory_bytes in memory (< 0: sl_feature_cache_default_budget ()), the rest in a file
 * in the run's folder, removed when the job ends. enabled FALSE runs every image through the
 * whole model every epoch, as with augmentation. Call before sl_train_job_start. */
void sl_train_job_set_feature_cache (SlTrainJob *job, gboolean enabled, gint64 memory_bytes);

typedef struct
{
  gboolean used;               /* the run trains from cached features */
  gint64 images;               /* train and validation images the feature pass ran */
  gint64 memory_bytes;         /* features kept in memory */
  gint64 disk_bytes;           /* features kept in the file */
  double seconds;              /* the feature pass */
  gint64 decoded_images;       /* images the feature pass decoded */
  gint64 epoch_decoded_images; /* images the epochs' loaders decoded (0 with the cache) */
} SlFeatureCacheStats;

/* What the feature cache did (valid after the job ran). */
void sl_train_job_get_feature_stats (SlTrainJob *job, SlFeatureCacheStats *stats);

/* Starts the training thread. */
gboolean sl_train_job_start (SlTrainJob *job, GError **error);
/* Asks the thread to stop; it stops within one optimizer step. Any thread. */
void sl_train_job_cancel (SlTrainJob *job);
/* Waits for the thread; FALSE with the reason when the run failed or was
 * cancelled (G_IO_ERROR_CANCELLED). Early stopping is a success. */
gboolean sl_train_job_wait (SlTrainJob *job, GError **error);
/* sl_train_job_start + sl_train_job_wait. */
gboolean sl_train_job_run (SlTrainJob *job, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlTrainJob, sl_train_job_free)

G_END_DECLS
