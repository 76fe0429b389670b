/* sl-classifier-cost.c: what one prediction costs (memory, work), measured when a model opens, and the limits on it. */
#include "sl-anomaly-private.h"
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-model-private.h"
#include "sl-pipeline-cost-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
sl_classifier_cost_init (sl_classifier_cost *cost)
{
  memset (cost, 0, sizeof *cost);
  cost->struct_size = sizeof *cost;
}

static int64_t
clamp_bytes (double bytes)
{
  return bytes >= 9.2e18 ? INT64_MAX : (int64_t) bytes;
}

static void
format_flops (double flops, char *buf, size_t size)
{
  if (flops >= 1e9)
    snprintf (buf, size, "%.1f GFLOP", flops / 1e9);
  else if (flops >= 1e6)
    snprintf (buf, size, "%.1f MFLOP", flops / 1e6);
  else
    snprintf (buf, size, "%.1f kFLOP", flops / 1e3);
}

/* "step 3 (Resize)" or "the input stage". */
static void
describe_step (const sl_pipeline *p, int step, char *buf, size_t size)
{
  if (step < 0)
    snprintf (buf, size, "preprocessing's input stage");
  else
    snprintf (buf, size, "preprocessing step %d (%s)", step + 1,
              sl_pipeline_step_op (p, step)->name);
}

static sl_status
refuse_memory (const sl_model *m, const sl_pipeline *p, const sl_cost *mc,
               const sl_pipeline_cost *pc, const sl_classifier_cost *cost, sl_error *err)
{
  char who[96], part[160], need[24], total[24], limit[24];
  const uint64_t layer = mc->memory_layer_bytes + mc->memory_layer_workspace;
  const int64_t largest
      = cost->working_bytes > cost->preprocess_bytes ? cost->working_bytes : cost->preprocess_bytes;

  /* Name the largest part: the layers (and the one with the most memory), a
   * preprocessing stage, the weights or the input. Layer names come from
   * the file: they are arguments, never formats. */
  if (mc->memory_layer >= 0 && cost->working_bytes == largest
      && cost->working_bytes >= cost->weight_bytes && cost->working_bytes >= cost->input_bytes)
    {
      char act[24], ws[24];

      _sl_model_describe_layer (m, mc->memory_layer, who, sizeof who);
      _sl_format_bytes (layer, need, sizeof need);
      _sl_format_bytes (mc->memory_layer_bytes, act, sizeof act);
      _sl_format_bytes (mc->memory_layer_workspace, ws, sizeof ws);
      if (2 * layer < (uint64_t) cost->working_bytes)
        {
          /* Spread over many layers: say so, and name the largest. */
          char all[24];

          _sl_format_bytes ((uint64_t) cost->working_bytes, all, sizeof all);
          snprintf (part, sizeof part, "its %d layers need %s at batch 1, the largest %s %s",
                    m->n_nodes, all, who, need);
        }
      else if (mc->memory_layer_workspace > 0)
        snprintf (part, sizeof part,
                  "%s needs %s at batch 1 (%s of convolution workspace for %d thread%s, %s of "
                  "activations)",
                  who, need, ws, cost->threads, cost->threads == 1 ? "" : "s", act);
      else
        snprintf (part, sizeof part, "%s needs %s of activations at batch 1", who, need);
    }
  else if (p != NULL && cost->preprocess_bytes == largest
           && cost->preprocess_bytes >= cost->weight_bytes
           && cost->preprocess_bytes >= cost->input_bytes)
    {
      describe_step (p, pc->memory_step, who, sizeof who);
      _sl_format_bytes (pc->peak_bytes, need, sizeof need);
      snprintf (part, sizeof part, "%s needs %s of images", who, need);
    }
  else if (cost->weight_bytes >= cost->input_bytes)
    {
      _sl_format_bytes ((uint64_t) cost->weight_bytes, need, sizeof need);
      snprintf (part, sizeof part, "the weights need %s", need);
    }
  else
    {
      _sl_format_bytes ((uint64_t) cost->input_bytes, need, sizeof need);
      snprintf (part, sizeof part, "the model's input needs %s", need);
    }
  _sl_format_bytes ((uint64_t) cost->memory_bytes, total, sizeof total);
  _sl_format_bytes ((uint64_t) cost->max_memory, limit, sizeof limit);
  return sl_error_set (err, SL_ERR_LIMIT,
                       "%s; %s in all, the limit is %s (sl_classifier_options.max_memory)", part,
                       total, limit);
}

static sl_status
refuse_work (const sl_model *m, const sl_pipeline *p, const sl_cost *mc, const sl_pipeline_cost *pc,
             const sl_classifier_cost *cost, sl_error *err)
{
  char where[96], need[32], total[32], limit[32];
  double part;

  if (p == NULL || mc->flops_layer_flops >= pc->flops_step_flops)
    {
      _sl_model_describe_layer (m, mc->flops_layer, where, sizeof where);
      part = mc->flops_layer_flops;
    }
  else
    {
      describe_step (p, pc->flops_step, where, sizeof where);
      part = pc->flops_step_flops;
    }
  format_flops (part, need, sizeof need);
  format_flops (cost->mflops * 1e6, total, sizeof total);
  format_flops ((double) cost->max_mflops * 1e6, limit, sizeof limit);
  return sl_error_set (err, SL_ERR_LIMIT,
                       "%s needs %s per image; %s in all, the limit is %s "
                       "(sl_classifier_options.max_mflops)",
                       where, need, total, limit);
}

sl_status
_sl_classifier_measure (const sl_model *m, const char *pipeline_json, int threads,
                        sl_classifier_cost *cost, sl_error *err)
{
  sl_pipeline *p = NULL;
  sl_pipeline_cost pc = { 0 };
  sl_cost mc;
  sl_status st = _sl_model_measure (m, 1, threads, &mc, err);
  const double image_floats = (double) m->channels * m->height * m->width;

  if (st != SL_OK)
    return st;
  /* A pipeline that does not read or validate is reported after this, with
   * its own message; until then it costs nothing. */
  if (pipeline_json != NULL && sl_pipeline_from_json (pipeline_json, &p, NULL) == SL_OK
      && sl_pipeline_validate (p, NULL) == SL_OK)
    {
      sl_input_spec spec;

      sl_pipeline_get_input (p, &spec);
      _sl_pipeline_measure (p, spec.width, spec.height, 3, 8, &pc);
    }
  else
    {
      sl_pipeline_free (p);
      p = NULL;
    }
  cost->weight_bytes = clamp_bytes ((double) mc.weight_bytes);
  cost->working_bytes = clamp_bytes ((double) mc.working_bytes);
  cost->input_bytes = clamp_bytes ((image_floats + m->classes) * sizeof (float));
  cost->preprocess_bytes = clamp_bytes ((double) pc.peak_bytes);
  cost->memory_bytes = clamp_bytes ((double) cost->weight_bytes + (double) cost->working_bytes
                                    + (double) cost->input_bytes + (double) cost->preprocess_bytes);
  cost->model_mflops = mc.flops / 1e6;
  /* Normalising the input: a table look-up per value. */
  cost->preprocess_mflops = (pc.flops + image_floats) / 1e6;
  cost->mflops = cost->model_mflops + cost->preprocess_mflops;
  cost->threads = threads;

  if (cost->max_memory > 0 && cost->memory_bytes > cost->max_memory)
    st = refuse_memory (m, p, &mc, &pc, cost, err);
  else if (cost->max_mflops > 0 && cost->mflops > (double) cost->max_mflops)
    st = refuse_work (m, p, &mc, &pc, cost, err);
  sl_pipeline_free (p);
  return st;
}

sl_status
_sl_classifier_check_image (const sl_pipeline *p, const sl_classifier_cost *cost,
                            const sl_image *img, sl_error *err)
{
  sl_pipeline_cost pc;
  double memory, mflops;
  char who[64];

  if (cost->max_memory <= 0 && cost->max_mflops <= 0)
    return SL_OK;
  _sl_pipeline_measure (p, img->width, img->height, img->channels, img->depth, &pc);
  memory = (double) cost->weight_bytes + (double) cost->working_bytes + (double) cost->input_bytes
           + (double) pc.peak_bytes;
  mflops = cost->model_mflops + pc.flops / 1e6;
  if (cost->max_memory > 0 && memory > (double) cost->max_memory)
    {
      char need[24], total[24], limit[24];

      describe_step (p, pc.memory_step, who, sizeof who);
      _sl_format_bytes (pc.peak_bytes, need, sizeof need);
      _sl_format_bytes ((uint64_t) memory, total, sizeof total);
      _sl_format_bytes ((uint64_t) cost->max_memory, limit, sizeof limit);
      return sl_error_set (err, SL_ERR_LIMIT,
                           "on this %dx%d image %s needs %s of images; %s in all, the limit is %s "
                           "(sl_classifier_options.max_memory)",
                           img->width, img->height, who, need, total, limit);
    }
  if (cost->max_mflops > 0 && mflops > (double) cost->max_mflops)
    {
      char need[32], total[32], limit[32];

      describe_step (p, pc.flops_step, who, sizeof who);
      format_flops (pc.flops_step_flops, need, sizeof need);
      format_flops (mflops * 1e6, total, sizeof total);
      format_flops ((double) cost->max_mflops * 1e6, limit, sizeof limit);
      return sl_error_set (err, SL_ERR_LIMIT,
                           "on this %dx%d image %s needs %s; %s in all, the limit is %s "
                           "(sl_classifier_options.max_mflops)",
                           img->width, img->height, who, need, total, limit);
    }
  return SL_OK;
}

/* The search's scratch per thread: blocks of patch rows times bank patches
 * and a few candidates per row, as engine/sl-anomaly-nearest.c takes them. */
#define NEAREST_BLOCK_ROWS 128
#define NEAREST_BLOCK_BANK 1024
#define NEAREST_CANDIDATES 4

sl_status
_sl_classifier_measure_anomaly (const sl_model *m, const sl_anomaly *a, sl_slmodel_kind kind,
                                sl_classifier_cost *cost, sl_error *err)
{
  const sl_anomaly_layout *l = &a->layout;
  const double patches = (double) _sl_anomaly_layout_patches (l);
  const double map = (double) l->input_h * l->input_w;
  const int radius = (int) ceilf (4.0f * a->smoothing_sigma);
  double layer_floats = 0, bank_bytes, scratch, flops, pool_flops = 0;
  int deepest = 0;

  for (int k = 0; k < l->n_layers; k++)
    {
      const double floats = (double) l->channels[k] * l->heights[k] * l->widths[k];

      layer_floats += floats;
      pool_flops += 9.0 * floats; /* 3x3 average pooling */
      if (k > 0)
        pool_flops += 8.0 * patches * l->channels[k]; /* bilinear resize to the grid */
      if (l->layers[k] > deepest)
        deepest = l->layers[k];
    }
  bank_bytes = (double) a->bank_size * (l->dims + 1) * sizeof (float); /* bank and |b|^2 */
  /* Patch features, their scratch, the grid of scores, and each thread's
   * distance blocks and map scratch. */
  scratch
      = patches * l->dims + (double) _sl_anomaly_patch_scratch (l) + patches
        + (double) cost->threads
              * ((double) NEAREST_BLOCK_ROWS * (NEAREST_BLOCK_BANK + 3 * NEAREST_CANDIDATES)
                 + (double) _sl_anomaly_map_scratch (l->input_h, l->input_w, a->smoothing_sigma));
  /* Distances as GEMM (2 per multiply-add) plus the exact recomputation of
   * each winner; the map: bilinear resize and a separable Gaussian. */
  flops = pool_flops + 2.0 * patches * (double) a->bank_size * l->dims + 3.0 * patches * l->dims
          + map * (8.0 + 4.0 * (2 * radius + 1));

  if (kind == SL_SLMODEL_ANOMALY)
    {
      /* The pass stops at the scorer's deepest layer: the head is never run. */
      double model_flops = 0;

      for (int i = 0; i <= deepest && i < m->n_nodes; i++)
        model_flops += _sl_node_flops (&m->nodes[i]);
      cost->model_mflops = model_flops / 1e6;
    }
  cost->weight_bytes = clamp_bytes ((double) cost->weight_bytes + bank_bytes);
  cost->input_bytes
      = clamp_bytes ((double) cost->input_bytes + (layer_floats + 1) * sizeof (float));
  cost->working_bytes = clamp_bytes ((double) cost->working_bytes + scratch * sizeof (float));
  cost->memory_bytes = clamp_bytes ((double) cost->weight_bytes + (double) cost->working_bytes
                                    + (double) cost->input_bytes + (double) cost->preprocess_bytes);
  cost->model_mflops += flops / 1e6;
  cost->mflops = cost->model_mflops + cost->preprocess_mflops;

  if (cost->max_memory > 0 && cost->memory_bytes > cost->max_memory)
    {
      char bank[24], total[24], limit[24];

      _sl_format_bytes ((uint64_t) bank_bytes, bank, sizeof bank);
      _sl_format_bytes ((uint64_t) cost->memory_bytes, total, sizeof total);
      _sl_format_bytes ((uint64_t) cost->max_memory, limit, sizeof limit);
      return sl_error_set (err, SL_ERR_LIMIT,
                           "the anomaly scorer's memory bank (%lld patches of %d values) needs "
                           "%s; %s in all, the limit is %s (sl_classifier_options.max_memory)",
                           (long long) a->bank_size, (int) l->dims, bank, total, limit);
    }
  if (cost->max_mflops > 0 && cost->mflops > (double) cost->max_mflops)
    {
      char need[32], total[32], limit[32];

      format_flops (flops, need, sizeof need);
      format_flops (cost->mflops * 1e6, total, sizeof total);
      format_flops ((double) cost->max_mflops * 1e6, limit, sizeof limit);
      return sl_error_set (err, SL_ERR_LIMIT,
                           "the anomaly scorer (%lld bank patches, %.0f patches per image) needs "
                           "%s per image; %s in all, the limit is %s "
                           "(sl_classifier_options.max_mflops)",
                           (long long) a->bank_size, patches, need, total, limit);
    }
  return SL_OK;
}
