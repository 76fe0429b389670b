/* sl-trainer-private.h: the trainer handle, shared with checkpoint code and tests. */
#pragma once

#include "sl-model-private.h"

struct sl_trainer
{
  sl_model *model;
  sl_train_config config;
  float *class_weights; /* our copy of config.class_weights */
  int batch;
  sl_plan *plan;
  int plan_threads;
  float *grads;   /* one per parameter */
  float *moments; /* two per parameter: SGD velocity or Adam m, then Adam v */
  float *x;       /* a batch pulled from a source */
  int32_t *labels;
  int64_t step, epoch;
  double learning_rate; /* used by the last step */
};
