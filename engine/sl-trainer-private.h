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
  /* and its thread count: a backend made later (sl_model_set_threads) may be
   * given a freed one's address, and the plan's scratch is per thread */
  int plan_threads;
  /* The trainable parameters are the model's last n_trainable (a frozen
   * prefix's have no gradient and no optimizer state). */
  size_t n_trainable;
  float *grads;   /* backend memory: one per trainable parameter */
  float *moments; /* backend memory: two per trainable parameter: SGD velocity or Adam m, then v */
  sl_lr_range *ranges; /* host: layers' lr_scale over the trainable parameters (NULL: all 1) */
  int n_ranges;
  bool features; /* steps take the frozen prefix's output (sl_trainer_set_feature_input) */
  float *x;      /* host: a batch pulled from a source */
  int32_t *labels;
  int64_t step, epoch;
  double learning_rate; /* used by the last step */
};

/* Bytes the trainer holds in backend memory: its plan, gradients, optimizer
 * state and staging (not the model's weights). */
uint64_t _sl_trainer_bytes (const sl_trainer *trainer);
