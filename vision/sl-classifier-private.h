/* sl-classifier-private.h: what the classifier's files share inside the vision layer. */
#pragma once

#include "sl-classifier.h"
#include "sl-slmodel-private.h"

#include <pthread.h>
#include <stdbool.h>

SL_BEGIN_DECLS

/* One prediction's working memory: a model handle sharing the classifier's
 * weights, its inputs and outputs for `capacity` images, and (for a scorer)
 * the scorer's layer outputs and scores for `layer_capacity` images. */
typedef struct _sl_context _sl_context;
struct _sl_context
{
  sl_model *model;
  float *x, *probs;
  int capacity;
  float *layer_outs[SL_ANOMALY_MAX_LAYERS];
  float *scores;
  int layer_capacity;
  _sl_context *next;
};

struct sl_classifier
{
  sl_slmodel_contents contents; /* owns the weights every context shares, and the scorer */
  sl_pipeline *pipeline;
  int threads;
  int64_t max_pixels;
  _Atomic float reject_threshold;
  size_t image_floats;
  int classes; /* the labels: the model's classes, or 2 for an anomaly model */
  /* SL_SLMODEL_ANOMALY: contents.anomaly scores the image; SL_SLMODEL_CLASSIFIER:
   * contents.anomaly, when set, is the classifier's gate. */
  sl_slmodel_kind kind;
  _Atomic float anomaly_threshold; /* NAN without a scorer */
  /* The scorer's layers, and each one's floats per image. */
  int32_t anomaly_layers[SL_ANOMALY_MAX_LAYERS];
  size_t anomaly_layer_floats[SL_ANOMALY_MAX_LAYERS];
  int32_t n_anomaly_layers;
  /* One image's cost and the limits (max_memory, max_mflops) it was opened
   * with; model_cost is the model and pipeline alone (without a scorer). */
  sl_classifier_cost cost, model_cost;

  pthread_mutex_t lock;
  _sl_context *idle;
  bool base_taken; /* contents.model serves as the first context */
};

/* Views a camera frame as an sl_image: gray, RGB and RGBA are borrowed as
 * they are; BGR and BGRA are copied with red and blue swapped. Checks the
 * size, stride and format; `what` starts the messages ("frame 3"). */
sl_status sl_frame_to_image (const void *pixels, int32_t width, int32_t height, size_t stride,
                             sl_pixel_format format, int64_t max_pixels, const char *what,
                             sl_image *out, sl_error *err);

/* Copies a filled prediction into the caller's struct, at most its struct_size bytes. */
void sl_prediction_store (sl_prediction *dst, size_t size, const sl_prediction *src);

/* sl-classifier.c */
/* The classifier of sl_classifier_new (kind SL_SLMODEL_CLASSIFIER, anomaly
 * NULL) or sl_classifier_new_anomaly (SL_SLMODEL_ANOMALY, labels "good" and
 * "anomalous"); takes model, pipeline and anomaly whatever it returns. */
sl_status _sl_classifier_new_kind (sl_model *model, sl_pipeline *pipeline,
                                   const char *const *labels, int32_t n_labels,
                                   sl_slmodel_kind kind, sl_anomaly *anomaly,
                                   const sl_classifier_options *options, sl_classifier **out,
                                   sl_error *err);
/* The working memory a prediction of n images may plan (0 = no limit); *over
 * when the limit is spent before the model plans anything. */
uint64_t _sl_classifier_plan_limit (const sl_classifier *c, int n, bool *over);
/* Frees a context's scorer buffers (they are sized again on next use). */
void _sl_context_free_layers (_sl_context *ctx);
/* Borrows working memory for n images (and their scorer
 * layers) and gives it back. */
sl_status _sl_classifier_context_acquire (sl_classifier *c, int images, _sl_context **out,
                                          sl_error *err);
void _sl_classifier_context_release (sl_classifier *c, _sl_context *ctx);
/* The header a .slmodel of this classifier would hold, without provenance;
 * NULL when out of memory. */
char *_sl_classifier_made_header (const sl_classifier *c);

/* sl-classifier-predict.c: checks the prediction struct of a call. */
sl_status _sl_classifier_check_call (sl_classifier *c, const sl_prediction *out, sl_error *err);
/* Preprocesses one image into image slot i of ctx->x. */
sl_status _sl_classifier_prepare (sl_classifier *c, _sl_context *ctx, int i, const sl_image *image,
                                  sl_error *err);
/* Runs the model (and the scorer) on the n images prepared in ctx and fills
 * out (stepped by stride), probs (n x classes, or NULL) and, when
 * anomaly_maps is not NULL, n anomaly maps of the input size. */
sl_status _sl_classifier_run (sl_classifier *c, _sl_context *ctx, int n, sl_prediction *out,
                              size_t stride, float *probs, float *anomaly_maps, sl_error *err);
/* Fills a prediction from one image's probabilities (class_count of them). */
void _sl_classifier_from_probs (const sl_classifier *c, const float *probs, sl_prediction *p);

/* sl-classifier-anomaly.c */
/* Fills ctx->scores with the scores of the n images whose scorer layers ctx
 * holds, and maps (n x the input size, or NULL) with their anomaly maps. */
sl_status _sl_classifier_score (sl_classifier *c, _sl_context *ctx, int n, float *maps,
                                sl_error *err);
/* Judges one image by its score: the anomaly fields of p, and for an anomaly
 * model the whole prediction (probs: NULL, or its 2 values, one-hot); a gated
 * classifier's prediction (already filled from its probabilities) is
 * rejected when anomalous. */
void _sl_classifier_judge (const sl_classifier *c, float score, float threshold, sl_prediction *p,
                           float *probs);
/* Takes anomaly (NULL: none) as the classifier's scorer: checks its layers
 * against the model, records them and the threshold. On failure the
 * classifier keeps what it had and anomaly is freed. */
sl_status _sl_classifier_take_anomaly (sl_classifier *c, sl_anomaly *anomaly, sl_error *err);
/* Adds "kind" and, with a scorer, "anomaly" (as a .slmodel header holds
 * them) to the header object doc (a cJSON *); false when out of memory. */
bool _sl_classifier_describe_anomaly (const sl_classifier *c, void *doc);
/* The classifier's header with its kind and scorer described anew; NULL when out of memory. */
char *_sl_classifier_rewrite_header (const sl_classifier *c);

/* sl-classifier-cost.c: measures a model (parsed, not yet built) and its
 * pipeline for one image on `threads` threads into cost, whose max_memory
 * and max_mflops (> 0, or -1 for none) are the limits: over one, returns
 * SL_ERR_LIMIT naming the layer or step at fault. */
sl_status _sl_classifier_measure (const sl_model *model, const char *pipeline_json, int threads,
                                  sl_classifier_cost *cost, sl_error *err);
/* Measures the pipeline on this image (its real size, channels and depth)
 * and returns SL_ERR_LIMIT, naming the step, when its images or work would
 * take one prediction over the limits in cost. */
sl_status _sl_classifier_check_image (const sl_pipeline *pipeline, const sl_classifier_cost *cost,
                                      const sl_image *image, sl_error *err);
/* Adds the scorer's part of one prediction to cost (which holds the model's
 * and pipeline's): the bank (weights), its layer outputs (input), feature,
 * search and map scratch (working memory) and work; an anomaly model's pass
 * stops at the scorer's deepest layer. SL_ERR_LIMIT, naming the bank or the
 * scorer, when that passes a limit. */
sl_status _sl_classifier_measure_anomaly (const sl_model *model, const sl_anomaly *anomaly,
                                          sl_slmodel_kind kind, sl_classifier_cost *cost,
                                          sl_error *err);

SL_END_DECLS
