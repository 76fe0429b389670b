/* sl-run-private.h: run recipes as JSON, shared by the runs, training and evaluation files. */
#pragma once

#include <cjson/cJSON.h>

#include "sl-project-private.h"
#include "sl-run.h"

/* The recipe as stored in runs.config_json; model and pipeline are the
 * resolved JSON documents, weights the resolved class weights (may be NULL). */
char *_sl_run_config_to_json (const SlRunConfig *config, const char *model_json,
                              const char *pipeline_json, const float *weights, int classes);
/* Takes a run's lock file (runs/<name>/.lock) without waiting; *fd holds it
 * until closed. FALSE with SL_PROJECT_ERROR_BUSY when another holder has it. */
gboolean _sl_run_lock (SlProject *self, const SlRunInfo *run, gboolean exclusive, int *fd,
                       GError **error);
/* The software versions of this build as JSON. */
char *_sl_run_versions_json (void);
/* Looks up a string member of a JSON object in the recipe, printed back as JSON. */
char *_sl_run_config_member_json (const char *config_json, const char *member);

#include "sl-evaluation.h"
#include "sl-vision.h"

/* sl-run-classifier.c: sl_project_open_classifier for a run already looked up. */
sl_classifier *_sl_run_open_classifier (SlProject *db, const SlRunInfo *run,
                                        SlCheckpointKind checkpoint, int threads,
                                        const char *device, GError **error);
