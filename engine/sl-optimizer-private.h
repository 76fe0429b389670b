/* sl-optimizer-private.h: validation of training settings and the learning-rate schedule. */
#pragma once

#include "sightline.h"

/* Checks every field of config against the model's class count. */
sl_status _sl_train_config_validate (const sl_train_config *config, int classes, sl_error *err);

/* The learning rate for 0-based optimizer step `step`. */
double _sl_schedule_learning_rate (const sl_train_config *config, int64_t step);
