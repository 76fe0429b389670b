/* sl-classifier-anomaly.c: anomaly models and anomaly gates: a classifier's scorer, its threshold and its verdicts.
 *
 * One classifier object holds both kinds (docs/runtime.md): an anomaly model
 * (kind SL_SLMODEL_ANOMALY) is judged by its scorer alone; a classifier may
 * carry a scorer as its gate, which turns images unlike its training images
 * into rejections. Either way the scorer reads layer outputs of the same
 * forward pass that predicts (sl-classifier-predict.c). */
#include "sl-anomaly-private.h"
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-model-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const anomaly_labels[2] = { "good", "anomalous" };

sl_status
sl_classifier_new_anomaly (sl_model *model, sl_pipeline *pipeline, sl_anomaly *anomaly,
                           const sl_classifier_options *options, sl_classifier **out, sl_error *err)
{
  return _sl_classifier_new_kind (model, pipeline, anomaly_labels, 2, SL_SLMODEL_ANOMALY, anomaly,
                                  options, out, err);
}

sl_status
_sl_classifier_take_anomaly (sl_classifier *c, sl_anomaly *anomaly, sl_error *err)
{
  const sl_anomaly_layout *l;
  sl_status st;

  if (anomaly == NULL)
    {
      sl_anomaly_free (c->contents.anomaly);
      c->contents.anomaly = NULL;
      c->n_anomaly_layers = 0;
      atomic_store (&c->anomaly_threshold, NAN);
      return SL_OK;
    }
  /* The same layers (by index, name and shape) and the same input size as
   * when it was fitted: else its distances mean nothing. */
  st = _sl_anomaly_check_model (anomaly, c->contents.model, err);
  if (st != SL_OK)
    {
      sl_anomaly_free (anomaly);
      sl_error_prefix (err, "the anomaly scorer does not fit this model");
      return st;
    }
  l = &anomaly->layout;
  sl_anomaly_free (c->contents.anomaly);
  c->contents.anomaly = anomaly;
  c->n_anomaly_layers = l->n_layers;
  for (int k = 0; k < l->n_layers; k++)
    {
      c->anomaly_layers[k] = l->layers[k];
      c->anomaly_layer_floats[k] = (size_t) l->channels[k] * l->heights[k] * l->widths[k];
    }
  atomic_store (&c->anomaly_threshold, sl_anomaly_get_threshold (anomaly));
  return SL_OK;
}

sl_status
sl_classifier_set_anomaly_gate (sl_classifier *c, sl_anomaly *gate, sl_error *err)
{
  sl_classifier_cost cost = { 0 };
  sl_status st = SL_OK;
  char *header = NULL;

  if (c == NULL)
    st = sl_error_set (err, SL_ERR_INVALID, "sl_classifier_set_anomaly_gate: no classifier");
  else if (c->kind == SL_SLMODEL_ANOMALY)
    st = sl_error_set (err, SL_ERR_INVALID,
                       "an anomaly model is judged by its own scorer; an anomaly gate is for "
                       "classifiers");
  else if (gate != NULL && (st = _sl_anomaly_check_model (gate, c->contents.model, err)) != SL_OK)
    sl_error_prefix (err, "the anomaly gate does not fit this classifier's model");
  /* What the gate costs is checked against the limits the classifier was opened with. */
  if (st == SL_OK)
    {
      cost = c->model_cost;
      if (gate != NULL)
        st = _sl_classifier_measure_anomaly (c->contents.model, gate, c->kind, &cost, err);
    }
  if (st != SL_OK)
    {
      sl_anomaly_free (gate);
      return st;
    }
  st = _sl_classifier_take_anomaly (c, gate, err);
  if (st != SL_OK)
    return st;
  c->cost = cost;
  /* No prediction runs now (the caller promises): every context is idle, and
   * their layer buffers are sized for the old gate. */
  for (_sl_context *ctx = c->idle; ctx != NULL; ctx = ctx->next)
    _sl_context_free_layers (ctx);
  header = _sl_classifier_rewrite_header (c);
  if (header == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory describing the classifier");
  free (c->contents.header_json);
  c->contents.header_json = header;
  return SL_OK;
}

sl_slmodel_kind
sl_classifier_kind (const sl_classifier *c)
{
  return c != NULL ? c->kind : SL_SLMODEL_CLASSIFIER;
}

const sl_anomaly *
sl_classifier_anomaly (const sl_classifier *c)
{
  return c != NULL ? c->contents.anomaly : NULL;
}

float
sl_classifier_get_anomaly_threshold (const sl_classifier *c)
{
  if (c == NULL || c->contents.anomaly == NULL)
    return NAN;
  return atomic_load (&((sl_classifier *) c)->anomaly_threshold);
}

sl_status
sl_classifier_set_anomaly_threshold (sl_classifier *c, float threshold, sl_error *err)
{
  if (c == NULL || c->contents.anomaly == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "this model has no anomaly scorer (neither an anomaly model nor a "
                         "classifier with an anomaly gate), so it has no anomaly threshold");
  if (!(threshold >= 0.0f))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the anomaly threshold must be a number >= 0 (scores are distances; "
                         "+infinity never flags an image)");
  atomic_store (&c->anomaly_threshold, threshold);
  return SL_OK;
}

const char *
sl_classifier_anomaly_layer_name (const sl_classifier *c, int32_t k)
{
  if (c == NULL || c->contents.anomaly == NULL || k < 0
      || k >= c->contents.anomaly->layout.n_layers)
    return NULL;
  return c->contents.anomaly->layout.names[k];
}

sl_status
_sl_classifier_score (sl_classifier *c, _sl_context *ctx, int n, float *maps, sl_error *err)
{
  /* The scorer searches the bank on as many threads as the model computes on. */
  return _sl_anomaly_score_layers_threads (c->contents.anomaly,
                                           (const float *const *) ctx->layer_outs, n, ctx->scores,
                                           maps, sl_model_get_threads (ctx->model), err);
}

void
_sl_classifier_judge (const sl_classifier *c, float score, float threshold, sl_prediction *p,
                      float *probs)
{
  int anomalous = score > threshold;

  p->anomaly_score = score;
  p->anomaly_threshold = threshold;
  p->anomalous = anomalous;
  if (c->kind == SL_SLMODEL_ANOMALY)
    {
      p->class_index = anomalous;
      p->confidence = 1.0f;
      p->label = c->contents.labels[anomalous];
      p->rejected = 0;
      if (probs != NULL)
        {
          probs[0] = anomalous ? 0.0f : 1.0f;
          probs[1] = anomalous ? 1.0f : 0.0f;
        }
    }
  else if (anomalous)
    /* Unlike anything the classifier was trained on: its best class stays
     * the label, as for a rejection by confidence. */
    p->rejected = 1;
}

/* ---- The header ----------------------------------------------------------------- */

/* The "anomaly" object of a .slmodel header (docs/slmodel-format.md), with
 * the threshold the classifier judges by now. */
static cJSON *
anomaly_json (const sl_classifier *c)
{
  const sl_anomaly *a = c->contents.anomaly;
  const sl_anomaly_layout *l = &a->layout;
  cJSON *obj = cJSON_CreateObject (), *layers, *grid;
  double threshold = sl_classifier_get_anomaly_threshold (c);

  if (obj == NULL)
    return NULL;
  cJSON_AddStringToObject (obj, "method", "patchcore");
  layers = cJSON_AddArrayToObject (obj, "layers");
  for (int k = 0; layers != NULL && k < l->n_layers; k++)
    cJSON_AddItemToArray (layers, l->names[k] != NULL ? cJSON_CreateString (l->names[k])
                                                      : cJSON_CreateNull ());
  grid = cJSON_AddArrayToObject (obj, "grid");
  if (grid != NULL)
    {
      cJSON_AddItemToArray (grid, cJSON_CreateNumber (l->grid_h));
      cJSON_AddItemToArray (grid, cJSON_CreateNumber (l->grid_w));
    }
  cJSON_AddNumberToObject (obj, "dims", l->dims);
  cJSON_AddNumberToObject (obj, "bank_size", (double) a->bank_size);
  cJSON_AddNumberToObject (obj, "smoothing_sigma", a->smoothing_sigma);
  /* JSON has no infinity: a scorer without a threshold says null. */
  if (isfinite (threshold))
    cJSON_AddNumberToObject (obj, "threshold", threshold);
  else
    cJSON_AddNullToObject (obj, "threshold");
  cJSON_AddNumberToObject (obj, "patches_collected", (double) a->patches_collected);
  cJSON_AddNumberToObject (obj, "coreset_ratio", a->coreset_ratio);
  return obj;
}

bool
_sl_classifier_describe_anomaly (const sl_classifier *c, void *doc_)
{
  cJSON *doc = doc_, *obj = NULL;

  cJSON_DeleteItemFromObjectCaseSensitive (doc, "kind");
  cJSON_DeleteItemFromObjectCaseSensitive (doc, "anomaly");
  if (cJSON_AddStringToObject (doc, "kind",
                               c->kind == SL_SLMODEL_ANOMALY ? "anomaly" : "classifier")
      == NULL)
    return false;
  if (c->contents.anomaly == NULL)
    return true;
  obj = anomaly_json (c);
  return obj != NULL && cJSON_AddItemToObject (doc, "anomaly", obj);
}

char *
_sl_classifier_rewrite_header (const sl_classifier *c)
{
  cJSON *doc = cJSON_Parse (c->contents.header_json);
  char *text = NULL;

  if (doc != NULL && _sl_classifier_describe_anomaly (c, doc))
    text = cJSON_PrintUnformatted (doc);
  cJSON_Delete (doc);
  return text;
}
