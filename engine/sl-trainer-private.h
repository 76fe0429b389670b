/* sl-trainer-private.h: the trainer handle, shared with checkpoint code and tests. */
#pragma once

#include "sl-model-private.h"

struct sl_trainer
{
  sl_model *model;
  sl_train_config config;
  float *class_weights;        /* our copy of config.class_weights (host) */
  float *device_class_weights; /* the same in backend memory (or the host copy) */
  int batch;
  sl_plan *plan;
  sl_backend *plan_backend; /* the backend the plan was made for */
  float *grads;             /* backend memory: one per parameter */
  float *moments; /* backend memory: two per parameter: SGD velocity or Adam m, then Adam v */
  float *x;       /* host: a batch pulled from a source */
  int32_t *labels;
  int64_t step, epoch;
  double learning_rate; /* used by the last step */
};
