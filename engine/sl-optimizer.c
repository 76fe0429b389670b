/* sl-optimizer.c: training defaults, their validation and the learning-rate schedules. */
#include "sl-optimizer-private.h"
#include "sl-error-private.h"

#include <math.h>
#include <string.h>

void
sl_train_config_init (sl_train_config *c)
{
  memset (c, 0, sizeof *c);
  c->struct_size = sizeof *c;
  c->optimizer = SL_OPTIMIZER_ADAM;
  c->learning_rate = 1e-3f;
  c->momentum = 0.9f;
  c->beta1 = 0.9f;
  c->beta2 = 0.999f;
  c->epsilon = 1e-8f;
  c->schedule = SL_SCHEDULE_CONSTANT;
  c->step_size = 1000;
  c->gamma = 0.1f;
  c->seed = 1;
}

sl_status
_sl_train_config_validate (const sl_train_config *c, int classes, sl_error *err)
{
  if (c == NULL || c->struct_size < sizeof (sl_train_config))
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: call sl_train_config_init () before filling them");
  if (c->optimizer != SL_OPTIMIZER_SGD && c->optimizer != SL_OPTIMIZER_ADAM
      && c->optimizer != SL_OPTIMIZER_ADAMW)
    return sl_error_set (err, SL_ERR_INVALID, "training settings: unknown optimizer %d",
                         (int) c->optimizer);
  if (!(c->learning_rate > 0.0f && c->learning_rate <= 10.0f))
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: the learning rate must be above 0 and at most 10");
  if (!(c->momentum >= 0.0f && c->momentum < 1.0f) || !(c->beta1 >= 0.0f && c->beta1 < 1.0f)
      || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: momentum and betas must be from 0 to below 1");
  if (!(c->epsilon > 0.0f) || !(c->weight_decay >= 0.0f && c->weight_decay < 1.0f))
    return sl_error_set (
        err, SL_ERR_INVALID,
        "training settings: epsilon must be above 0 and weight decay from 0 to below 1");
  if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: label smoothing must be from 0 to below 1");
  if (c->schedule == SL_SCHEDULE_STEP
      && (c->step_size < 1 || !(c->gamma > 0.0f && c->gamma <= 1.0f)))
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: a step schedule needs a step size of at least 1 "
                         "and a factor above 0 and at most 1");
  if (c->schedule == SL_SCHEDULE_COSINE && c->total_steps < 1)
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: a cosine schedule needs the total number of steps");
  if (c->schedule != SL_SCHEDULE_CONSTANT && c->schedule != SL_SCHEDULE_STEP
      && c->schedule != SL_SCHEDULE_COSINE)
    return sl_error_set (err, SL_ERR_INVALID, "training settings: unknown schedule %d",
                         (int) c->schedule);
  if (c->warmup_steps < 0 || !(c->min_learning_rate >= 0.0f))
    return sl_error_set (err, SL_ERR_INVALID,
                         "training settings: warm-up steps and minimum rate cannot be negative");
  if (c->class_weights != NULL)
    for (int k = 0; k < classes; k++)
      if (!(c->class_weights[k] >= 0.0f && c->class_weights[k] < 1e6f))
        return sl_error_set (err, SL_ERR_INVALID,
                             "training settings: the weight of class %d must be 0 or more", k);
  return SL_OK;
}

double
_sl_schedule_learning_rate (const sl_train_config *c, int64_t step)
{
  const double base = c->learning_rate;

  if (step < c->warmup_steps)
    return base * (double) (step + 1) / (double) c->warmup_steps;
  switch (c->schedule)
    {
      case SL_SCHEDULE_STEP:
        return base * pow (c->gamma, (double) ((step - c->warmup_steps) / c->step_size));
      case SL_SCHEDULE_COSINE:
        {
          double span = (double) (c->total_steps - c->warmup_steps);
          double progress = span > 0 ? (double) (step - c->warmup_steps) / span : 1.0;

          if (progress > 1.0)
            progress = 1.0;
          return c->min_learning_rate
                 + (base - c->min_learning_rate) * 0.5 * (1.0 + cos (M_PI * progress));
        }
      default: return base;
    }
}
