/* sl-classifier.c: an opened .slmodel: its model, pipeline and labels, predicting from any thread.
 *
 * The weights are loaded once. Each prediction borrows a context (a model
 * handle sharing those weights, with its own plan, compute threads and
 * buffers) from a free list and returns it after, so concurrent callers
 * never share working memory and a single caller never allocates after its
 * first prediction of a given batch size. */
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"
#include "sl-image-private.h"
#include "sl-model-private.h"
#include "sl-slmodel-private.h"
#include "sl-threadpool-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sizes of the first released versions of the growable structs: callers
 * built against that header pass these, and anything newer is longer. */
#define OPTIONS_V1_SIZE (offsetof (sl_classifier_options, reject_threshold) + sizeof (float))

/* The largest .slmodel file opened (weights beyond this are not a classifier). */
#define MAX_FILE ((size_t) 4 << 30)

void
sl_classifier_options_init (sl_classifier_options *o)
{
  memset (o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->reject_threshold = -1.0f;
}

void
sl_prediction_init (sl_prediction *p)
{
  memset (p, 0, sizeof *p);
  p->struct_size = sizeof *p;
  p->class_index = -1;
  p->anomaly_score = NAN;
  p->anomaly_threshold = NAN;
}

void
sl_prediction_store (sl_prediction *dst, size_t size, const sl_prediction *src)
{
  size_t n = size < sizeof *src ? size : sizeof *src;

  if (n > sizeof (size_t))
    memcpy ((char *) dst + sizeof (size_t), (const char *) src + sizeof (size_t),
            n - sizeof (size_t));
}

/* ---- Opening ---------------------------------------------------------------- */

/* The pipeline's output must be the model's input. */
static sl_status
check_shapes (sl_classifier *c, const char *name, sl_error *err)
{
  sl_input_spec spec;
  int mc, mh, mw;

  sl_pipeline_get_input (c->pipeline, &spec);
  sl_model_input_shape (c->contents.model, &mc, &mh, &mw);
  if (spec.channels != mc || spec.height != mh || spec.width != mw)
    return sl_error_set (err, SL_ERR_FORMAT,
                         "%s: the pipeline makes %dx%dx%d images but the model takes %dx%dx%d",
                         name, spec.width, spec.height, spec.channels, mw, mh, mc);
  c->image_floats = (size_t) mc * mh * mw;
  /* An anomaly model's classes are its decisions, not its backbone's head. */
  c->classes = c->kind == SL_SLMODEL_ANOMALY ? 2 : sl_model_class_count (c->contents.model);
  return SL_OK;
}

static sl_status
check_pipeline (sl_classifier *c, const char *name, sl_error *err)
{
  sl_status st;

  st = sl_pipeline_from_json (c->contents.pipeline_json, &c->pipeline, err);
  if (st == SL_OK)
    st = sl_pipeline_validate (c->pipeline, err);
  if (st != SL_OK)
    {
      sl_error_prefix (err, "%s: its preprocessing pipeline", name);
      /* A bad pipeline inside a file is a bad file: the error says so too. */
      if (st != SL_ERR_NOMEM && err != NULL)
        err->code = SL_ERR_FORMAT;
      return st == SL_ERR_NOMEM ? st : SL_ERR_FORMAT;
    }
  return check_shapes (c, name, err);
}

/* 0 = the default, -1 = no limit, else the value itself. */
static int64_t
effective_limit (int64_t value, int64_t fallback)
{
  return value == 0 ? fallback : value;
}

/* Called by the .slmodel reader before it builds the model. */
static sl_status
check_cost (const sl_model *model, const char *pipeline_json, void *user_data, sl_error *err)
{
  sl_classifier *c = user_data;

  return _sl_classifier_measure (model, pipeline_json, c->cost.threads, &c->cost, err);
}

/* The working memory a prediction of n images may plan: what the limit
 * leaves after the weights, the preprocessing and n inputs (0 = no limit;
 * the engine refuses a larger plan before allocating it). */
uint64_t
_sl_classifier_plan_limit (const sl_classifier *c, int n, bool *over)
{
  double fixed = (double) c->cost.weight_bytes + (double) c->cost.preprocess_bytes
                 + (double) n * (double) c->cost.input_bytes;

  *over = false;
  if (c->cost.max_memory <= 0)
    return 0;
  if (fixed >= (double) c->cost.max_memory)
    {
      *over = true;
      return 1;
    }
  return (uint64_t) ((double) c->cost.max_memory - fixed);
}

/* Copies the caller's options (of any released size) over the defaults into
 * *copy and checks them; *o becomes NULL (no options) or copy. */
static sl_status
read_options (const sl_classifier_options **o, sl_classifier_options *copy, sl_error *err)
{
  const sl_classifier_options *given = *o;

  if (given == NULL)
    return SL_OK;
  /* Callers built against an older header pass a shorter struct: the fields
   * they do not know keep their defaults. */
  if (given->struct_size < OPTIONS_V1_SIZE)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_classifier_options: struct_size is not set (use "
                         "sl_classifier_options_init)");
  sl_classifier_options_init (copy);
  memcpy (copy, given, given->struct_size < sizeof *copy ? given->struct_size : sizeof *copy);
  *o = copy;
  if (copy->threads < 0 || copy->reject_threshold > 1.0f)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the thread count must be >= 0 and the reject threshold at most 1");
  if (copy->max_memory < SL_CLASSIFIER_NO_LIMIT || copy->max_mflops < SL_CLASSIFIER_NO_LIMIT)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_classifier_options: max_memory and max_mflops are 0 (the default), "
                         "-1 (no limit) or a positive number");
  return SL_OK;
}

/* A classifier with nothing in it yet but its limits; NULL when out of memory. */
static sl_classifier *
classifier_alloc (const sl_classifier_options *o, const char *device)
{
  sl_classifier *c = calloc (1, sizeof *c);
  sl_device_kind kind;

  if (c == NULL)
    return NULL;
  pthread_mutex_init (&c->lock, NULL);
  sl_classifier_cost_init (&c->cost);
  c->cost.max_memory
      = effective_limit (o != NULL ? o->max_memory : 0, SL_CLASSIFIER_DEFAULT_MAX_MEMORY);
  c->cost.max_mflops
      = effective_limit (o != NULL ? o->max_mflops : 0, SL_CLASSIFIER_DEFAULT_MAX_MFLOPS);
  /* The CPU's convolution workspace grows with the threads; a GPU's does not. */
  c->cost.threads = o != NULL && o->threads > 0 ? o->threads : _sl_cpu_count ();
  if (device != NULL && sl_device_id_parse (device, &kind, NULL, NULL) == SL_OK
      && kind == SL_DEVICE_CUDA)
    c->cost.threads = 1;
  c->threads = o != NULL ? o->threads : 0;
  c->max_pixels = o != NULL ? o->max_pixels : 0;
  c->kind = SL_SLMODEL_CLASSIFIER;
  atomic_store (&c->anomaly_threshold, NAN);
  return c;
}

/* The last step of opening: the plan's memory limit and the reject threshold. */
static void
classifier_ready (sl_classifier *c, const sl_classifier_options *o)
{
  bool over;

  c->contents.model->plan_limit = _sl_classifier_plan_limit (c, 1, &over);
  atomic_store (&c->reject_threshold, o != NULL && o->reject_threshold >= 0
                                          ? o->reject_threshold
                                          : c->contents.reject_threshold);
}

/* The file's kind and scorer (the reader has checked them against the model). */
static sl_status
take_file_anomaly (sl_classifier *c, const char *name, sl_error *err)
{
  sl_anomaly *anomaly = c->contents.anomaly;
  sl_status st;

  c->model_cost = c->cost;
  c->kind = c->contents.kind == SL_SLMODEL_ANOMALY ? SL_SLMODEL_ANOMALY : SL_SLMODEL_CLASSIFIER;
  if (anomaly == NULL)
    {
      if (c->kind == SL_SLMODEL_ANOMALY)
        return sl_error_set (err, SL_ERR_FORMAT, "%s: an anomaly model without its scorer", name);
      return SL_OK;
    }
  c->contents.anomaly = NULL;
  st = _sl_classifier_take_anomaly (c, anomaly, err);
  if (st != SL_OK)
    {
      sl_error_prefix (err, "%s", name);
      if (st != SL_ERR_NOMEM && err != NULL)
        err->code = SL_ERR_FORMAT;
      return st == SL_ERR_NOMEM ? st : SL_ERR_FORMAT;
    }
  return SL_OK;
}

/* Opens the model file at path, or with path NULL the model in data. */
static sl_status
open_data (const char *path, const uint8_t *data, size_t size, const sl_classifier_options *o,
           const char *device, sl_classifier **out, sl_error *err)
{
  const char *name = path != NULL ? path : "model buffer";
  sl_classifier_options opts;
  sl_classifier *c;
  sl_status st;

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_classifier_open: no place for the result");
  *out = NULL;
  st = read_options (&o, &opts, err);
  if (st != SL_OK)
    return st;
  c = classifier_alloc (o, device);
  if (c == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory opening %s", name);
  if (path != NULL)
    st = sl_slmodel_read (path, MAX_FILE, o != NULL ? o->threads : 0, check_cost, c, &c->contents,
                          err);
  else
    st = sl_slmodel_parse (data, size, name, o != NULL ? o->threads : 0, check_cost, c,
                           &c->contents, err);
  if (st == SL_OK)
    st = take_file_anomaly (c, name, err);
  if (st == SL_OK)
    st = check_pipeline (c, name, err);
  if (st == SL_OK && c->contents.anomaly != NULL
      && (st = _sl_classifier_measure_anomaly (c->contents.model, c->contents.anomaly, c->kind,
                                               &c->cost, err))
             != SL_OK)
    sl_error_prefix (err, "%s", name);
  /* Before any context shares the weights: each share computes where they are. */
  if (st == SL_OK && device != NULL
      && (st = sl_model_set_device (c->contents.model, NULL, device, err)) != SL_OK)
    sl_error_prefix (err, "%s", name);
  if (st != SL_OK)
    {
      sl_classifier_free (c);
      return st;
    }
  classifier_ready (c, o);
  *out = c;
  return SL_OK;
}

sl_status
sl_classifier_open (const char *path, const sl_classifier_options *options, sl_classifier **out,
                    sl_error *err)
{
  return sl_classifier_open_on_device (path, options, NULL, out, err);
}

sl_status
sl_classifier_open_on_device (const char *path, const sl_classifier_options *options,
                              const char *device, sl_classifier **out, sl_error *err)
{
  if (out != NULL)
    *out = NULL;
  if (path == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_classifier_open: no path");
  return open_data (path, NULL, 0, options, device, out, err);
}

sl_status
sl_classifier_open_buffer (const void *data, size_t size, const sl_classifier_options *options,
                           sl_classifier **out, sl_error *err)
{
  return open_data (NULL, data, size, options, NULL, out, err);
}

sl_status
sl_classifier_open_buffer_on_device (const void *data, size_t size,
                                     const sl_classifier_options *options, const char *device,
                                     sl_classifier **out, sl_error *err)
{
  return open_data (NULL, data, size, options, device, out, err);
}

/* ---- Building one from a model, a pipeline and labels ---------------------- */

/* The header a .slmodel of this classifier would hold, less what only a file
 * has (its tensors, provenance and software versions); NULL when out of memory. */
char *
_sl_classifier_made_header (const sl_classifier *c)
{
  char *model_json = _sl_model_serialize (c->contents.model);
  cJSON *doc = cJSON_CreateObject (), *input;
  cJSON *model = model_json != NULL ? cJSON_Parse (model_json) : NULL;
  cJSON *pipeline = cJSON_Parse (c->contents.pipeline_json);
  char *text = NULL;
  int mc, mh, mw;

  free (model_json);
  if (doc == NULL || model == NULL || pipeline == NULL)
    {
      cJSON_Delete (doc);
      cJSON_Delete (model);
      cJSON_Delete (pipeline);
      return NULL;
    }
  sl_model_input_shape (c->contents.model, &mc, &mh, &mw);
  cJSON_AddStringToObject (doc, "format", "sightline-model");
  cJSON_AddNumberToObject (doc, "format_version", SL_SLMODEL_FORMAT_VERSION);
  cJSON_AddItemToObject (doc, "model", model);
  input = cJSON_AddObjectToObject (doc, "input");
  cJSON_AddNumberToObject (input, "channels", mc);
  cJSON_AddNumberToObject (input, "height", mh);
  cJSON_AddNumberToObject (input, "width", mw);
  cJSON_AddItemToObject (
      doc, "classes",
      cJSON_CreateStringArray ((const char *const *) c->contents.labels, c->contents.n_labels));
  cJSON_AddNumberToObject (doc, "reject_threshold", c->contents.reject_threshold);
  cJSON_AddItemToObject (doc, "pipeline", pipeline);
  if (_sl_classifier_describe_anomaly (c, doc))
    text = cJSON_PrintUnformatted (doc);
  cJSON_Delete (doc);
  return text;
}

/* Takes model and pipeline into c and copies the labels. */
static sl_status
take_parts (sl_classifier *c, sl_model *model, sl_pipeline *pipeline, const char *const *labels,
            int32_t n_labels, sl_error *err)
{
  int classes = c->kind == SL_SLMODEL_ANOMALY ? n_labels : sl_model_class_count (model);

  c->contents.model = model;
  c->pipeline = pipeline;
  if (labels == NULL || n_labels != classes)
    return sl_error_set (err, SL_ERR_INVALID, "the model has %d classes but %d labels were given",
                         classes, labels != NULL ? n_labels : 0);
  c->contents.labels = calloc ((size_t) classes, sizeof (char *));
  if (c->contents.labels == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for the class labels");
  c->contents.n_labels = classes;
  for (int i = 0; i < classes; i++)
    {
      if (labels[i] == NULL || labels[i][0] == '\0')
        return sl_error_set (err, SL_ERR_INVALID, "class %d has no label", i + 1);
      if ((c->contents.labels[i] = strdup (labels[i])) == NULL)
        return sl_error_set (err, SL_ERR_NOMEM, "out of memory for the class labels");
    }
  c->contents.pipeline_json = sl_pipeline_to_json (pipeline);
  if (c->contents.pipeline_json == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory describing the pipeline");
  return SL_OK;
}

sl_status
_sl_classifier_new_kind (sl_model *model, sl_pipeline *pipeline, const char *const *labels,
                         int32_t n_labels, sl_slmodel_kind kind, sl_anomaly *anomaly,
                         const sl_classifier_options *o, sl_classifier **out, sl_error *err)
{
  sl_classifier_options opts;
  sl_classifier *c = NULL;
  const char *device = model != NULL ? sl_model_get_device (model) : NULL;
  const char *what = kind == SL_SLMODEL_ANOMALY ? "sl_classifier_new_anomaly" : "sl_classifier_new";
  sl_status st = SL_OK;

  if (out != NULL)
    *out = NULL;
  if (out == NULL || model == NULL || pipeline == NULL
      || (kind == SL_SLMODEL_ANOMALY && anomaly == NULL))
    st = sl_error_set (err, SL_ERR_INVALID,
                       "%s needs a model, a pipeline%s and a place for the result", what,
                       kind == SL_SLMODEL_ANOMALY ? ", an anomaly scorer" : "");
  if (st == SL_OK)
    st = read_options (&o, &opts, err);
  if (st == SL_OK && (c = classifier_alloc (o, device)) == NULL)
    st = sl_error_set (err, SL_ERR_NOMEM, "out of memory for a classifier");
  if (c == NULL)
    {
      /* Taken whatever the outcome: the caller never frees them after this call. */
      sl_model_free (model);
      sl_pipeline_free (pipeline);
      sl_anomaly_free (anomaly);
      return st;
    }
  c->kind = kind;
  st = take_parts (c, model, pipeline, labels, n_labels, err);
  if (st == SL_OK && (st = sl_pipeline_validate (pipeline, err)) != SL_OK)
    sl_error_prefix (err, "the preprocessing pipeline");
  if (st == SL_OK && check_shapes (c, what, err) != SL_OK)
    {
      /* Not a bad file here: a bad argument. */
      st = SL_ERR_INVALID;
      if (err != NULL)
        err->code = st;
    }
  if (st == SL_OK)
    st = sl_model_set_threads (model, c->threads, err);
  /* The file's threshold, were it written with these options. */
  c->contents.reject_threshold = o != NULL && o->reject_threshold >= 0 ? o->reject_threshold : 0;
  if (st == SL_OK)
    st = _sl_classifier_measure (model, c->contents.pipeline_json, c->cost.threads, &c->cost, err);
  c->model_cost = c->cost;
  /* The scorer is taken whatever happens before. */
  if (st == SL_OK)
    st = _sl_classifier_take_anomaly (c, anomaly, err);
  else
    sl_anomaly_free (anomaly);
  anomaly = NULL;
  if (st == SL_OK && c->contents.anomaly != NULL)
    st = _sl_classifier_measure_anomaly (model, c->contents.anomaly, kind, &c->cost, err);
  if (st == SL_OK && (c->contents.header_json = _sl_classifier_made_header (c)) == NULL)
    st = sl_error_set (err, SL_ERR_NOMEM, "out of memory describing the classifier");
  if (st != SL_OK)
    {
      sl_classifier_free (c);
      return st;
    }
  classifier_ready (c, o);
  *out = c;
  return SL_OK;
}

sl_status
sl_classifier_new (sl_model *model, sl_pipeline *pipeline, const char *const *labels,
                   int32_t n_labels, const sl_classifier_options *o, sl_classifier **out,
                   sl_error *err)
{
  return _sl_classifier_new_kind (model, pipeline, labels, n_labels, SL_SLMODEL_CLASSIFIER, NULL, o,
                                  out, err);
}

void
_sl_context_free_layers (_sl_context *ctx)
{
  for (int k = 0; k < SL_ANOMALY_MAX_LAYERS; k++)
    {
      free (ctx->layer_outs[k]);
      ctx->layer_outs[k] = NULL;
    }
  free (ctx->scores);
  ctx->scores = NULL;
  ctx->layer_capacity = 0;
}

static void
context_free (sl_classifier *c, _sl_context *ctx)
{
  if (ctx->model != c->contents.model)
    sl_model_free (ctx->model);
  free (ctx->x);
  free (ctx->probs);
  _sl_context_free_layers (ctx);
  free (ctx);
}

void
sl_classifier_free (sl_classifier *c)
{
  if (c == NULL)
    return;
  /* Shared handles go before the model that owns their weights. */
  while (c->idle != NULL)
    {
      _sl_context *next = c->idle->next;
      context_free (c, c->idle);
      c->idle = next;
    }
  sl_pipeline_free (c->pipeline);
  sl_slmodel_contents_clear (&c->contents);
  pthread_mutex_destroy (&c->lock);
  free (c);
}

/* ---- Accessors ---------------------------------------------------------------- */

int32_t
sl_classifier_class_count (const sl_classifier *c)
{
  return c != NULL ? c->classes : 0;
}

const char *
sl_classifier_class_label (const sl_classifier *c, int32_t index)
{
  if (c == NULL || index < 0 || index >= c->classes)
    return NULL;
  return c->contents.labels[index];
}

void
sl_classifier_input_size (const sl_classifier *c, int32_t *width, int32_t *height,
                          int32_t *channels)
{
  int mc = 0, mh = 0, mw = 0;

  if (c != NULL)
    sl_model_input_shape (c->contents.model, &mc, &mh, &mw);
  if (width != NULL)
    *width = mw;
  if (height != NULL)
    *height = mh;
  if (channels != NULL)
    *channels = mc;
}

float
sl_classifier_get_reject_threshold (const sl_classifier *c)
{
  return c != NULL ? atomic_load (&((sl_classifier *) c)->reject_threshold) : 0.0f;
}

sl_status
sl_classifier_set_reject_threshold (sl_classifier *c, float threshold, sl_error *err)
{
  if (c == NULL || !(threshold >= 0.0f && threshold <= 1.0f))
    return sl_error_set (err, SL_ERR_INVALID, "the reject threshold must be between 0 and 1");
  atomic_store (&c->reject_threshold, threshold);
  return SL_OK;
}

const char *
sl_classifier_header_json (const sl_classifier *c)
{
  return c != NULL ? c->contents.header_json : NULL;
}

sl_status
sl_classifier_get_cost (const sl_classifier *c, sl_classifier_cost *cost, sl_error *err)
{
  if (c == NULL || cost == NULL || cost->struct_size < offsetof (sl_classifier_cost, memory_bytes))
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_classifier_get_cost: no classifier, or the cost's struct_size is not "
                         "set (use sl_classifier_cost_init)");
  {
    size_t size = cost->struct_size < sizeof c->cost ? cost->struct_size : sizeof c->cost;

    memcpy ((char *) cost + sizeof (size_t), (const char *) &c->cost + sizeof (size_t),
            size - sizeof (size_t));
  }
  return SL_OK;
}

const sl_model *
sl_classifier_model (const sl_classifier *c)
{
  return c != NULL ? c->contents.model : NULL;
}

const sl_pipeline *
sl_classifier_pipeline (const sl_classifier *c)
{
  return c != NULL ? c->pipeline : NULL;
}

/* ---- Contexts ------------------------------------------------------------------ */

/* Room for the scorer's layer outputs and scores of n images; false when out of memory. */
static bool
context_grow_layers (const sl_classifier *c, _sl_context *ctx, int images)
{
  float *scores;

  if (c->n_anomaly_layers == 0 || ctx->layer_capacity >= images)
    return true;
  for (int k = 0; k < c->n_anomaly_layers; k++)
    {
      float *out
          = realloc (ctx->layer_outs[k], sizeof (float) * c->anomaly_layer_floats[k] * images);

      if (out == NULL)
        return false;
      ctx->layer_outs[k] = out;
    }
  scores = realloc (ctx->scores, sizeof (float) * images);
  if (scores == NULL)
    return false;
  ctx->scores = scores;
  ctx->layer_capacity = images;
  return true;
}

sl_status
_sl_classifier_context_acquire (sl_classifier *c, int images, _sl_context **out, sl_error *err)
{
  _sl_context *ctx = NULL;
  bool use_base = false;
  sl_status st = SL_OK;

  pthread_mutex_lock (&c->lock);
  ctx = c->idle;
  if (ctx != NULL)
    c->idle = ctx->next;
  else if (!c->base_taken)
    use_base = c->base_taken = true;
  pthread_mutex_unlock (&c->lock);

  if (ctx == NULL)
    {
      ctx = calloc (1, sizeof *ctx);
      if (ctx == NULL)
        return sl_error_set (err, SL_ERR_NOMEM, "out of memory for a prediction");
      if (use_base)
        ctx->model = c->contents.model;
      else
        st = sl_model_share (c->contents.model, c->threads, &ctx->model, err);
      if (st == SL_OK)
        ctx->model->plan_limit = c->contents.model->plan_limit;
      if (st != SL_OK)
        {
          free (ctx);
          return st;
        }
    }
  if (ctx->capacity < images)
    {
      float *x = realloc (ctx->x, sizeof (float) * c->image_floats * images);
      float *p = x != NULL ? realloc (ctx->probs, sizeof (float) * c->classes * images) : NULL;

      if (x != NULL)
        ctx->x = x;
      if (p != NULL)
        ctx->probs = p;
      if (x != NULL && p != NULL)
        ctx->capacity = images;
    }
  if (ctx->capacity < images || !context_grow_layers (c, ctx, images))
    {
      /* Keep the context (with its old buffers) for later callers. */
      _sl_classifier_context_release (c, ctx);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory for %d images", images);
    }
  *out = ctx;
  return SL_OK;
}

void
_sl_classifier_context_release (sl_classifier *c, _sl_context *ctx)
{
  pthread_mutex_lock (&c->lock);
  ctx->next = c->idle;
  c->idle = ctx;
  pthread_mutex_unlock (&c->lock);
}
