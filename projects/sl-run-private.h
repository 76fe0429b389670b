/* sl-run-private.h: run recipes as JSON, shared by the runs, training and evaluation files. */
#pragma once

#include <cjson/cJSON.h>

#include "sl-evaluation.h"
#include "sl-project-private.h"
#include "sl-run.h"
#include "sl-vision.h"

/* The recipe as stored in runs.config_json; model and pipeline are the
 * resolved JSON documents, backbone the backbone's identity
 * (_sl_run_backbone_identity_json; used only when config->backbone is set),
 * weights the resolved class weights (may be NULL). */
char *_sl_run_config_to_json (const SlRunConfig *config, const char *model_json,
                              const char *pipeline_json, const char *backbone_json,
                              const float *weights, int classes);
/* Takes a run's lock file (runs/<name>/.lock) without waiting; *fd holds it
 * until closed. FALSE with SL_PROJECT_ERROR_BUSY when another holder has it. */
gboolean _sl_run_lock (SlProject *self, const SlRunInfo *run, gboolean exclusive, int *fd,
                       GError **error);
/* The software versions of this build as JSON. */
char *_sl_run_versions_json (void);
/* Looks up a string member of a JSON object in the recipe, printed back as JSON. */
char *_sl_run_config_member_json (const char *config_json, const char *member);

/* sl-run-backbone.c: runs that start from a pretrained backbone. */
/* The backbone's name in a stored recipe, or NULL for a run without one. */
char *_sl_run_config_backbone_name (const char *config_json);
/* What a run records of its backbone: name, title, licence, parameters_sha256 and source. */
char *_sl_run_backbone_identity_json (const SlBackboneInfo *bb);
/* The side of the run's square input: config->input_size checked, or chosen from the
 * project's labelled images when 0. -1 with an error for a size out of range. */
int _sl_run_backbone_input_size (SlProject *db, const SlRunConfig *config, const SlBackboneInfo *bb,
                                 GError **error);
/* The run's pipeline: the steps of `pipeline_json` (the project's), then the backbone's
 * input: size x size, the project pipeline's channels, mean 127/255 and std 128/255. */
char *_sl_run_backbone_pipeline_json (const char *pipeline_json, int size, GError **error);
/* The transfer model of a run's recipe, for `classes` classes and the pipeline's input. */
sl_model *_sl_run_backbone_model_new (const SlBackboneInfo *bb, const SlRunConfig *config,
                                      const sl_input_spec *input, int classes, GError **error);

/* sl-run-classifier.c: a classifier run's model with the weights of one of its checkpoints,
 * and its pipeline, computing on device (NULL: the CPU). */
gboolean _sl_run_load_model (SlProject *db, const SlRunInfo *run, SlCheckpointKind checkpoint,
                             const char *device, sl_model **model, sl_pipeline **pipeline,
                             GError **error);
/* sl-run-classifier.c: sl_project_open_classifier for a run already looked up. */
sl_classifier *_sl_run_open_classifier (SlProject *db, const SlRunInfo *run,
                                        SlCheckpointKind checkpoint, int threads,
                                        const char *device, GError **error);
