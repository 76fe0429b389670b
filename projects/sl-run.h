/* sl-run.h: training runs stored in a project: their recipe, status and metrics history. */
#pragma once

#include "sl-backbone.h"
#include "sl-project.h"
#include "sl-project-settings.h"

G_BEGIN_DECLS

typedef enum
{
  SL_CLASS_WEIGHTS_NONE,
  SL_CLASS_WEIGHTS_AUTO,   /* inverse class frequency in the training split, mean 1 */
  SL_CLASS_WEIGHTS_MANUAL, /* one weight per class, in class order */
} SlClassWeightsMode;

/* How the learning rate changes during a run. Every schedule first ramps up
 * linearly over warmup_epochs (none when 0; at most half of the run). */
typedef enum
{
  SL_LR_SCHEDULE_CONSTANT,
  SL_LR_SCHEDULE_STEP,   /* multiplied by gamma every step_epochs */
  SL_LR_SCHEDULE_COSINE, /* down to min_learning_rate along a half cosine by the last epoch */
} SlLrSchedule;

const char *sl_lr_schedule_to_string (SlLrSchedule schedule); /* "constant", "step", "cosine" */
/* FALSE when the name is none of the above. */
gboolean sl_lr_schedule_from_string (const char *name, SlLrSchedule *schedule);

/* Everything a run needs to be reproduced. Strings are owned. */
typedef struct
{
  char *preset;        /* a preset name, or NULL when model_json is given */
  char *model_json;    /* NULL: built from the preset and the pipeline's input */
  char *pipeline_json; /* NULL: the project's pipeline (or one chosen from the data) */
  char *augment_json;  /* NULL: the project's "augment" setting (none when unset) */
  char *optimizer;     /* "adam" (default), "adamw" or "sgd" */
  double learning_rate, weight_decay, momentum, label_smoothing;
  int epochs; /* total passes */
  int batch_size;
  int patience; /* early stopping: epochs without a better validation loss; 0 = off */
  int threads;  /* compute threads; 0 = all cores */
  int workers;  /* loader threads */
  guint64 seed;
  SlClassWeightsMode class_weights;
  GArray *manual_weights; /* float, for SL_CLASS_WEIGHTS_MANUAL */
  SlLrSchedule schedule;
  double warmup_epochs;     /* may be fractional; converted to optimizer steps */
  double min_learning_rate; /* SL_LR_SCHEDULE_COSINE: the rate at the end */
  int step_epochs;          /* SL_LR_SCHEDULE_STEP: epochs between decays */
  double gamma;             /* SL_LR_SCHEDULE_STEP: factor per decay, 0 < gamma <= 1 */
  /* Where to compute: "" or "cpu", "cuda" (the first usable GPU) or "cuda:N".
   * An array, so that copying the struct copies it. */
  char device[16];
  /* NULL, or the pretrained backbone the model starts from ("efficientnet-lite0"; "lite0" is
   * read as it): the model is then the backbone with a new head for the project's classes,
   * and preset and model_json are ignored. */
  char *backbone;
  SlFinetune finetune;      /* which layers of the backbone train */
  int finetune_blocks;      /* N of SL_FINETUNE_LAST_BLOCKS */
  double backbone_lr_ratio; /* the trainable backbone layers' rate over the head's: 0 < r <= 1 */
  /* Side of the square input of a backbone model, 128..320, a multiple of 32; 0: from the
   * data (SL_BACKBONE_SMALL_INPUT for images of at most that many pixels on their longer
   * side, else the backbone's native size, 224 for Lite0; an anomaly run: 224). */
  int input_size;
  /* An anomaly run (sl-train-job-anomaly.c): fits a PatchCore scorer on the training split's
   * good images with the pretrained `backbone` (NULL: efficientnet-lite0) instead of training
   * a classifier; the optimizer, schedule, epochs and class weights do not apply. */
  gboolean anomaly;
  double coreset_ratio;       /* share of the patches the memory bank keeps; 0: the default */
  double target_false_reject; /* for the run's threshold, 0 < r < 1; 0: the project's */
} SlRunConfig;

/* The inputs a backbone run chooses from the data (input_size 0). */
#define SL_BACKBONE_SMALL_INPUT 128
/* Cached features of a frozen backbone prefix may use this share of the RAM, at most
 * SL_FEATURE_CACHE_MAX_MEMORY; the rest goes to a file in the run's folder. */
#define SL_FEATURE_CACHE_RAM_SHARE  0.25
#define SL_FEATURE_CACHE_MAX_MEMORY ((gint64) 2 << 30)

/* small-bn, Adam 1e-3, 10 epochs, batch 32, cosine schedule after one warm-up epoch */
void sl_run_config_init (SlRunConfig *config);
/* The recipe values that follow from the data, one rule for the workbench's form and
 * sightline-cli train: epochs (30 below 500 training images, 15 below 5,000, else 10), batch
 * (a power of two from 8 to 64 giving at least eight steps per epoch), patience (0 without
 * validation images, else max (5, epochs / 4)) and class weights (auto when the largest
 * training class has more than three times the images of the smallest). train_images < 0:
 * the data is unknown, and config keeps 10 epochs, batch 32, patience 5, no weights. A run
 * with config->backbone set takes its epochs, learning rate and fine-tuning mode from
 * sl_run_config_apply_backbone_defaults. */
void sl_run_config_apply_data_defaults (SlRunConfig *config, gint64 train_images, gint64 val_images,
                                        double imbalance);
/* The recipe values of a run that starts from a pretrained backbone, from the number of
 * training images (< 0: unknown): the fine-tuning mode, epochs, learning rate and the
 * backbone's rate ratio (the constants in sl-run-backbone.c say where the numbers come from).
 * sl_run_config_apply_data_defaults calls it when config->backbone is set, so batch, patience
 * and class weights follow the common rule. */
void sl_run_config_apply_backbone_defaults (SlRunConfig *config, gint64 train_images);
/* The model a new run of the project uses when nobody chooses one: the latest run's (its
 * preset, or its backbone while that is installed), and for a project without runs
 * "efficientnet-lite0" (the pretrained backbone) when it is installed, else "small-bn". Older
 * projects so keep training what they trained, and a new one starts from the backbone. */
char *sl_project_dup_default_model (SlProject *self);
/* The same, and in *why (or NULL) one line to show when it falls back to small-bn because the
 * backbone the latest run used is no longer installed: which one, and the command that
 * installs it. */
char *sl_project_dup_default_model_why (SlProject *self, char **why);
/* The largest over the smallest class in the training split (1 without any). */
double sl_project_stats_train_imbalance (const SlProjectStats *stats);
void sl_run_config_clear (SlRunConfig *config);
/* Reads a run's stored recipe (SlRunInfo.config_json) back, with its resolved
 * model and pipeline; weights (may be NULL) receives the resolved class
 * weights, or NULL. Recipes stored before schedules existed read as constant,
 * those stored before backbones as runs without one. */
gboolean sl_run_config_from_json (const char *json, SlRunConfig *config, GArray **weights,
                                  GError **error);

typedef enum
{
  SL_RUN_CREATED,
  SL_RUN_RUNNING,   /* a process is training it now */
  SL_RUN_CANCELLED, /* resumable */
  SL_RUN_FAILED,    /* resumable from its last checkpoint */
  SL_RUN_FINISHED,
  SL_RUN_STOPPED_EARLY,
  SL_RUN_INTERRUPTED, /* its process died while training (never stored); resumable */
} SlRunStatus;

const char *sl_run_status_to_string (SlRunStatus status);

typedef struct
{
  gint64 id;
  char *name; /* "run-<id>", also its folder under runs/ */
  SlRunStatus status;
  char *message;            /* why it failed or stopped */
  char *created, *finished; /* ISO 8601 UTC */
  char *preset;             /* the preset, or the backbone's name for a run that starts from one */
  char *backbone;           /* NULL, or the pretrained backbone the run starts from */
  int epochs, epochs_done, best_epoch; /* best_epoch is 0-based; -1 before one */
  double best_val_loss, best_val_accuracy;
  gint64 train_images, val_images;
  char *dataset_hash;
  char *config_json;      /* the SlRunConfig as JSON, with the resolved model and pipeline */
  char *versions_json;    /* software versions */
  GPtrArray *class_names; /* char *, the model's output order */
  gint64 *class_ids;      /* same order */
} SlRunInfo;

void sl_run_info_free (SlRunInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlRunInfo, sl_run_info_free)

/* The one statement of what makes a run's best epoch (the checkpoint best.slckpt, which
 * Evaluate and Export use by default), for every message and export: "lowest validation
 * loss", or "lowest training loss" for a run without validation images. */
const char *sl_run_best_criterion (const SlRunInfo *run);

typedef struct
{
  int epoch; /* 0-based */
  double train_loss, train_accuracy;
  double val_loss, val_accuracy; /* NAN without validation images */
  double learning_rate, images_per_s, seconds;
} SlEpochMetrics;

/* Runs, newest first (GPtrArray of SlRunInfo). */
GPtrArray *sl_project_list_runs (SlProject *self, GError **error);
/* A run by id, name ("run-3") or "latest". */
SlRunInfo *sl_project_get_run (SlProject *self, const char *ref, GError **error);
/* Deletes a run: its checkpoints, metrics and evaluations. Fails with
 * SL_PROJECT_ERROR_BUSY while it is being trained. */
gboolean sl_project_delete_run (SlProject *self, gint64 run_id, GError **error);
/* Epoch metrics of a run in order (GArray of SlEpochMetrics). */
GArray *sl_project_get_run_metrics (SlProject *self, gint64 run_id, GError **error);
/* runs/<name>/<file> */
char *sl_project_run_file (SlProject *self, const SlRunInfo *run, const char *file);
/* The pipeline JSON a run trained with (free with g_free). */
char *sl_run_info_dup_pipeline_json (const SlRunInfo *run);
char *sl_run_info_dup_model_json (const SlRunInfo *run);

/* pipeline_json with its input mean and std measured the same way as
 * sl_project_default_pipeline_json does, on its own output (NULL: that default
 * pipeline). Opens its own connection to the
 * project at `path`, so any thread may call it; checks `cancellable` between
 * images. */
char *sl_project_measure_pipeline_json (const char *path, const char *pipeline_json,
                                        GCancellable *cancellable, GError **error);

G_END_DECLS
