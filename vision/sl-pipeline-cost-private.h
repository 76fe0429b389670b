/* sl-pipeline-cost-private.h: what a pipeline costs per image (memory of its images, work), before running it. */
#pragma once

#include "sl-vision.h"

SL_BEGIN_DECLS

typedef struct
{
  uint64_t peak_bytes; /* the largest stage: its input, output and scratch images */
  double flops;        /* every enabled step and the input stage, per image */
  int memory_step;     /* the step with the largest images; -1 = the input stage */
  uint64_t memory_step_bytes;
  int flops_step; /* the step with the most work; -1 = the input stage */
  double flops_step_flops;
} sl_pipeline_cost;

/* Follows an image of in_width x in_height, in_channels, in_depth bits
 * through the enabled steps and the input stage, by each operator's shape
 * rule and a per-sample work estimate. Steps before the first resize or crop
 * work on the image as given, so their cost scales with it. */
void _sl_pipeline_measure (const sl_pipeline *pipeline, int in_width, int in_height,
                           int in_channels, int in_depth, sl_pipeline_cost *out);
/* Whether the cost rules know the operator (tests check every registered one). */
bool _sl_pipeline_cost_knows (const char *op_id);

SL_END_DECLS
