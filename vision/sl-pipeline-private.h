/* sl-pipeline-private.h: the pipeline structure shared by its editing, JSON and apply code. */
#pragma once

#include "sl-ops-private.h"

typedef struct
{
  const sl_op *op;
  bool enabled;
  sl_param_value values[SL_OP_MAX_PARAMS];
} sl_step;

struct sl_pipeline
{
  sl_input_spec input;
  sl_alpha_rule alpha;
  int n_steps, capacity;
  sl_step *steps;
};

sl_status _sl_pipeline_append (sl_pipeline *p, const sl_step *step, sl_error *err);
sl_status _sl_input_spec_check (const sl_input_spec *spec, sl_error *err);

/* Model input values for each 8-bit level, per channel: (v / 255 - mean) / std. */
typedef struct
{
  int channels, width, height;
  float lut[3][256];
} sl_normalizer;

void _sl_normalizer_init (sl_normalizer *n, const sl_input_spec *spec);
/* img must have the spec's shape and 8 bits; writes CHW floats. */
void _sl_normalizer_apply (const sl_normalizer *n, const sl_image *img, float *chw);
