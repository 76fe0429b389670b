/* sl-cli-private.h: the subcommands of sightline-cli; each takes argv from its own name on. */
#pragma once

#include <glib.h>

/* A subcommand returns the process exit status: 0 on success, 1 when the
 * work failed, 2 for a usage error. */
typedef int (*SlCliMain) (int argc, char **argv);

typedef struct
{
  const char *name;
  const char *summary; /* one line for `sightline-cli --help` */
  SlCliMain main;
} SlCliCommand;

/* Parses a subcommand's options; on --help prints it and sets *exit_status to
 * 0, on a usage error prints it to stderr and sets it to 2; FALSE in both. */
gboolean _sl_cli_parse (GOptionContext *context, int *argc, char ***argv, int *exit_status);

/* sl-cli-demo.c */
int _sl_cli_demo (int argc, char **argv);

/* sl-cli-devices.c */
int _sl_cli_devices (int argc, char **argv);

/* sl-cli-backbones.c */
int _sl_cli_backbones (int argc, char **argv);
int _sl_cli_models (int argc, char **argv);

/* sl-cli-preprocess.c */
int _sl_cli_preprocess (int argc, char **argv);
int _sl_cli_ops (int argc, char **argv);

/* ---- Shared by the project subcommands (sl-cli-util.c) ---- */

#include <cjson/cJSON.h>
#include <math.h>

#include "sl-evaluation.h"
#include "sl-files.h"
#include "sl-project.h"
#include "sl-run.h"
#include "sl-train-job.h"

typedef struct
{
  gboolean enabled; /* stderr is a terminal and the output is not JSON */
  gboolean drawn;
  gint64 last_draw;
} SlCliProgress;

/* Ctrl+C and SIGTERM set a flag that long jobs poll, so they stop cleanly. */
void _sl_cli_catch_interrupt (void);
gboolean _sl_cli_interrupted (void);
/* Prints "sightline-cli COMMAND: message" and returns 1. */
int _sl_cli_fail (const char *command, GError *error);
/* Prints a usage error and returns 2. */
int _sl_cli_usage (const char *command, const char *message);
/* Whether device is NULL, "cpu", "cuda" or "cuda:N" (a usage error otherwise).
 * Whether that device exists and works is for the engine to say. */
gboolean _sl_cli_device_valid (const char *device);
#define SL_CLI_DEVICE_HELP "cpu (default), cuda (the first usable GPU) or cuda:N"
/* Opens a project or prints why not (NULL). */
SlProject *_sl_cli_open_project (const char *command, const char *path);
void _sl_cli_progress_init (SlCliProgress *bar, gboolean json);
/* Redraws at most ten times a second; fraction 1 always draws. */
void _sl_cli_progress_draw (SlCliProgress *bar, double fraction, const char *text);
void _sl_cli_progress_clear (SlCliProgress *bar);
/* Prints and frees a JSON document. */
void _sl_cli_print_json (cJSON *doc);
cJSON *_sl_cli_json_number (double value);
char *_sl_cli_format_duration (double seconds);

/* sl-cli-project.c */
int _sl_cli_new (int argc, char **argv);
int _sl_cli_import (int argc, char **argv);
int _sl_cli_classes (int argc, char **argv);
int _sl_cli_label (int argc, char **argv);
int _sl_cli_split (int argc, char **argv);
int _sl_cli_stats (int argc, char **argv);

/* sl-cli-suggest.c: what `label` and `stats --issues` do with a run's suggested labels. */
/* --suggest (a pass with run_ref, default latest) and/or accepting (accept_above not NAN) the
 * suggestions of image_ids (NULL: all); exit status. */
int _sl_cli_label_suggest (SlProject *project, const char *project_arg, const char *run_ref,
                           gboolean suggest, double accept_above, const gint64 *image_ids, gsize n,
                           gboolean json);
/* --list --sort: current suggestions sorted; split < 0: any. */
int _sl_cli_label_list_sorted (SlProject *project, const char *run_ref, const char *sort_name,
                               const char *class_name, int split, gint64 limit, gboolean json);
/* The latest run's current suggestions by image id (gint64 * -> SlSuggestion). */
GHashTable *_sl_cli_current_suggestions (SlProject *project);
/* The possible label mistakes, as text, or into json_doc when not NULL; exit status. */
int _sl_cli_print_possible_mistakes (SlProject *project, const char *project_arg,
                                     double min_confidence, cJSON *json_doc);

/* sl-cli-repair.c */
int _sl_cli_repair (int argc, char **argv);
int _sl_cli_conflicts (int argc, char **argv);

/* sl-cli-train.c */
int _sl_cli_train (int argc, char **argv);
int _sl_cli_runs (int argc, char **argv);
/* A run as JSON, with its recipe and metrics when asked (used by train, runs and demo). */
cJSON *_sl_cli_run_json (SlProject *project, const SlRunInfo *run, gboolean with_metrics);

/* sl-cli-train-anomaly.c: `train` on an anomaly project. */
typedef struct
{
  SlCliProgress *bar;
  gboolean json;
  int phase; /* 0 features, 1 memory bank, 2 threshold, 3 done */
  gint64 phase_started;
} SlCliAnomalyUi;

/* The recipe of a fit: backbone (lite0|lite1|lite2; NULL: lite0, which must be installed),
 * input size (0: 224), coreset ratio and target false-reject rate (0: the defaults). */
gboolean _sl_cli_anomaly_config (const char *model, int input_size, double coreset_ratio,
                                 double target_false_reject, SlRunConfig *config, GError **error);
void _sl_cli_anomaly_progress (SlCliAnomalyUi *ui, const SlTrainProgress *p);
void _sl_cli_anomaly_print_start (SlTrainJob *job, const SlRunInfo *run, gboolean resume);
void _sl_cli_anomaly_print_finished (SlProject *project, const SlRunInfo *run,
                                     const char *project_arg);
/* Adds "anomaly": {threshold, target_false_reject, good_images, false_reject_upper95,
 * target_reachable, statement} (null before the fit) to train --json's document. */
cJSON *_sl_cli_anomaly_add_json (SlProject *project, const SlRunInfo *run, cJSON *doc);

/* sl-cli-export.c */
int _sl_cli_export (int argc, char **argv);

/* sl-cli-report.c */
int _sl_cli_report (int argc, char **argv);

/* sl-cli-eval.c */
int _sl_cli_eval (int argc, char **argv);
int _sl_cli_predict (int argc, char **argv);
/* sl-cli-heatmaps.c: predicts image_path (as sl_classifier_predict_file) and writes its map over
 * the preprocessed image to dir/<stem>.png (*written; `used` keeps stems unique): the anomaly
 * map for a model with a scorer, else the Grad-CAM of the predicted class. */
/* Takes the names of the input images that lie in dir, so that no overlay replaces one. */
void _sl_cli_heatmap_reserve_inputs (GHashTable *used, const char *dir, char **images, int n);
gboolean _sl_cli_predict_heatmap (sl_classifier *classifier, const char *image_path,
                                  const char *dir, GHashTable *used, sl_prediction *out,
                                  float *probs, char **written, sl_error *err);
/* Prints an evaluation for people (used by eval and demo). */
void _sl_cli_print_evaluation (const SlEvaluation *evaluation, int list_length);
cJSON *_sl_cli_evaluation_json (const SlEvaluation *evaluation);

/* sl-cli-anomaly.c */
#include "sl-anomaly.h"
int _sl_cli_threshold (int argc, char **argv);
/* An anomaly run's evaluation for people, and as `eval --json` prints it. */
void _sl_cli_print_anomaly_evaluation (const SlAnomalyEvaluation *evaluation, const char *run_name,
                                       int list_length);
cJSON *_sl_cli_anomaly_evaluation_json (const SlAnomalyEvaluation *evaluation,
                                        const char *run_name);
