/* sl-classifier.h: the line-side runtime: .slmodel files and classifying images with them.
 *
 * This is the API that inspection software links (pkg-config: sightline).
 * Handles are opaque; every struct the caller allocates starts with
 * struct_size (set it to sizeof the struct, or call the _init function), so
 * the library can grow them without breaking programs built against an older
 * header. Calls never print, exit or abort: they return an sl_status and fill
 * the optional sl_error with a sentence a user can act on. */
#pragma once

#include "sl-vision.h"

SL_BEGIN_DECLS

/* The .slmodel format version this library writes and the newest it reads. */
#define SL_SLMODEL_FORMAT_VERSION 1

/* ---- Writing .slmodel files ----------------------------------------------- */

/* Writes model (architecture, weights, running statistics), the complete
 * preprocessing pipeline and info (see sightline.h) to path, atomically. The pipeline's input
 * spec must match the model's input shape. */
SL_API sl_status sl_slmodel_save (const sl_model *model, const sl_pipeline *pipeline,
                                  const sl_slmodel_info *info, const char *path, sl_error *err);

/* ---- Opening a model -------------------------------------------------------
 * An opened classifier is immutable apart from its reject and anomaly
 * thresholds: any number of threads may predict with it at once. Each concurrent prediction
 * uses its own working memory and `threads` compute threads, so callers that
 * predict from many threads at once usually want threads = 1. */

typedef struct sl_classifier sl_classifier;

/* Limits on what a model file may cost (see sl_classifier_cost): a small
 * file can describe a model that needs gigabytes or hours per image, so
 * opening refuses one over either limit with SL_ERR_LIMIT and a message that
 * names the layer or preprocessing step at fault, before allocating anything
 * large. 0 means the default below; SL_CLASSIFIER_NO_LIMIT lifts a limit
 * (for files you trust). */
#define SL_CLASSIFIER_DEFAULT_MAX_MEMORY ((int64_t) 2000000000) /* bytes: 2 GB */
#define SL_CLASSIFIER_DEFAULT_MAX_MFLOPS ((int64_t) 50000)      /* per image: 50 GFLOP */
#define SL_CLASSIFIER_NO_LIMIT           ((int64_t) -1)

typedef struct
{
  size_t struct_size;
  int32_t threads;    /* compute threads per prediction; 0 = one per CPU core */
  int64_t max_pixels; /* decoding limit for files and buffers; 0 = SL_IMAGE_DEFAULT_MAX_PIXELS */
  float reject_threshold; /* < 0 keeps the file's threshold */
  /* Memory of one prediction of one image (weights, the model's working
     * memory, its input, the preprocessing images), in bytes; batches of n
     * images are refused when they would need more. 0 = default, -1 = none. */
  int64_t max_memory;
  /* Work per image (model and preprocessing), in millions of floating-point
     * operations. 0 = default, -1 = none. */
  int64_t max_mflops;
} sl_classifier_options;

SL_API void sl_classifier_options_init (sl_classifier_options *options);

/* options may be NULL (the defaults). */
SL_API sl_status sl_classifier_open (const char *path, const sl_classifier_options *options,
                                     sl_classifier **out, sl_error *err);
/* The same from a .slmodel held in memory (copied as needed; data may be freed after). */
SL_API sl_status sl_classifier_open_buffer (const void *data, size_t size,
                                            const sl_classifier_options *options,
                                            sl_classifier **out, sl_error *err);
/* The same, predicting on device: NULL or "cpu", "cuda" (the first usable
 * GPU) or "cuda:N". A GPU that is missing, unusable or fails its first-use
 * self-check fails the open with SL_ERR_DEVICE and the reason (see
 * sl_device_list_gpu_status in sightline.h). Concurrent predictions each get
 * their own streams on the GPU. */
SL_API sl_status sl_classifier_open_on_device (const char *path,
                                               const sl_classifier_options *options,
                                               const char *device, sl_classifier **out,
                                               sl_error *err);
SL_API sl_status sl_classifier_open_buffer_on_device (const void *data, size_t size,
                                                      const sl_classifier_options *options,
                                                      const char *device, sl_classifier **out,
                                                      sl_error *err);
/* A classifier from a model already in memory (built or loaded with the
 * engine, on the device it is to predict on), the preprocessing pipeline it
 * was trained with and one label per class, checked and measured as a file
 * is (options: threads, limits, reject threshold; NULL: the defaults, and a
 * reject threshold of 0). It TAKES OWNERSHIP of model and pipeline, whatever
 * it returns: on failure they are already freed, on success
 * sl_classifier_free frees them; do not use either after the call. labels
 * (n_labels == the model's class count) are copied. Its header JSON is the
 * one a .slmodel of it would hold, without provenance. */
SL_API sl_status sl_classifier_new (sl_model *model, sl_pipeline *pipeline,
                                    const char *const *labels, int32_t n_labels,
                                    const sl_classifier_options *options, sl_classifier **out,
                                    sl_error *err);
SL_API void sl_classifier_free (sl_classifier *classifier); /* NULL-safe */

/* A classifier built from an anomaly scorer fitted with model: TAKES
 * OWNERSHIP of model, pipeline and anomaly, whatever it returns (as
 * sl_classifier_new). Its labels are "good" and "anomalous". */
SL_API sl_status sl_classifier_new_anomaly (sl_model *model, sl_pipeline *pipeline,
                                            sl_anomaly *anomaly,
                                            const sl_classifier_options *options,
                                            sl_classifier **out, sl_error *err);
/* Gives a classifier (not an anomaly model) an anomaly gate fitted with its own
 * model, replacing any it has: TAKES OWNERSHIP of gate (NULL removes it). Not
 * safe while other threads predict. */
SL_API sl_status sl_classifier_set_anomaly_gate (sl_classifier *classifier, sl_anomaly *gate,
                                                 sl_error *err);

/* SL_SLMODEL_CLASSIFIER or SL_SLMODEL_ANOMALY. */
SL_API sl_slmodel_kind sl_classifier_kind (const sl_classifier *classifier);
/* The anomaly model's scorer or the classifier's gate (NULL: none); read-only. */
SL_API const sl_anomaly *sl_classifier_anomaly (const sl_classifier *classifier);
/* The anomaly threshold (NAN without a scorer); setting it is safe while other
 * threads predict, as for the reject threshold. */
SL_API float sl_classifier_get_anomaly_threshold (const sl_classifier *classifier);
SL_API sl_status sl_classifier_set_anomaly_threshold (sl_classifier *classifier, float threshold,
                                                      sl_error *err);
/* The name of the model layer the scorer reads k-th (k from 0 to the count
 * sl_anomaly_layers gives), or NULL when k is out of range or there is no scorer. */
SL_API const char *sl_classifier_anomaly_layer_name (const sl_classifier *classifier, int32_t k);

SL_API int32_t sl_classifier_class_count (const sl_classifier *classifier);
/* NULL when index is out of range; the string lives as long as the classifier. */
SL_API const char *sl_classifier_class_label (const sl_classifier *classifier, int32_t index);
/* The model's input: what the pipeline's last stage produces. */
SL_API void sl_classifier_input_size (const sl_classifier *classifier, int32_t *width,
                                      int32_t *height, int32_t *channels);
SL_API float sl_classifier_get_reject_threshold (const sl_classifier *classifier);
/* Safe to call while other threads predict; they see the old or the new value. */
SL_API sl_status sl_classifier_set_reject_threshold (sl_classifier *classifier, float threshold,
                                                     sl_error *err);
/* The file's JSON header: architecture, labels, pipeline, provenance. */
SL_API const char *sl_classifier_header_json (const sl_classifier *classifier);
/* What one prediction of one image costs, as measured when the model was
 * opened (the numbers the limits in sl_classifier_options are checked
 * against). Memory counts what the runtime allocates: a GPU holds the
 * model's working memory in its own memory instead. Preprocessing is
 * measured on an 8-bit RGB image of the model's input size: steps before the
 * pipeline's first resize or crop cost more on larger camera images. Each
 * thread predicting at the same time has its own working memory. */
typedef struct
{
  size_t struct_size;
  int64_t memory_bytes;     /* all of the below */
  int64_t weight_bytes;     /* parameters and running statistics (shared by all threads) */
  int64_t working_bytes;    /* the model's activations and convolution workspace */
  int64_t input_bytes;      /* the model's input and output for one image */
  int64_t preprocess_bytes; /* the largest preprocessing stage's images */
  double mflops;            /* model + preprocessing, per image */
  double model_mflops;      /* forward pass (and an anomaly scorer's search and map); a
                             * multiply-add counts 2 */
  double preprocess_mflops; /* the pipeline's steps and input stage (estimated) */
  int32_t threads;          /* the compute threads the working memory is sized for */
  int64_t max_memory;       /* the limits it was opened with; -1 = none */
  int64_t max_mflops;
} sl_classifier_cost;

SL_API void sl_classifier_cost_init (sl_classifier_cost *cost);
/* Fills at most cost->struct_size bytes of *cost. */
SL_API sl_status sl_classifier_get_cost (const sl_classifier *classifier, sl_classifier_cost *cost,
                                         sl_error *err);

/* The model and pipeline inside (read-only; for export and inspection). */
SL_API const sl_model *sl_classifier_model (const sl_classifier *classifier);
SL_API const sl_pipeline *sl_classifier_pipeline (const sl_classifier *classifier);

/* ---- Predicting ------------------------------------------------------------
 * Every image goes through the model's own preprocessing pipeline, exactly as
 * in training. `probs` may be NULL or receive class_count probabilities per
 * image; `out` receives the best class. */

typedef enum
{
  SL_PIXEL_GRAY8 = 1,
  SL_PIXEL_GRAY16 = 2, /* native-endian 16-bit samples */
  SL_PIXEL_RGB8 = 3,
  SL_PIXEL_BGR8 = 4,
  SL_PIXEL_RGBA8 = 5,
  SL_PIXEL_BGRA8 = 6,
} sl_pixel_format;

/* Raw pixels as a camera SDK hands them over. stride 0 means rows are packed. */
typedef struct
{
  size_t struct_size;
  const void *pixels;
  int32_t width, height;
  size_t stride;
  sl_pixel_format format;
} sl_frame;

SL_API void sl_frame_init (sl_frame *frame);

typedef struct
{
  size_t struct_size;  /* set by the caller */
  int32_t class_index; /* the most likely class */
  float confidence;    /* its probability, 0 .. 1 */
  const char *label;   /* its label, owned by the classifier */
  int32_t rejected;    /* 1 when confidence < the reject threshold, else 0 */
  /* Anomaly models and classifiers with an anomaly gate (NAN and 0 otherwise):
   * the image's anomaly score, the threshold it was judged by, and 1 when the
   * score is above it. An anomaly model then predicts class 1 "anomalous"
   * (else 0 "good") with confidence 1; a gated classifier reports the image as
   * rejected (unknown), whatever its confidence. */
  float anomaly_score;
  float anomaly_threshold;
  int32_t anomalous;
} sl_prediction;

SL_API void sl_prediction_init (sl_prediction *prediction);

SL_API sl_status sl_classifier_predict_file (sl_classifier *classifier, const char *path,
                                             sl_prediction *out, float *probs, sl_error *err);
/* An encoded image (PNG, JPEG, BMP, TIFF, PGM/PPM) in memory. */
SL_API sl_status sl_classifier_predict_encoded (sl_classifier *classifier, const void *data,
                                                size_t size, sl_prediction *out, float *probs,
                                                sl_error *err);
SL_API sl_status sl_classifier_predict_pixels (sl_classifier *classifier, const void *pixels,
                                               int32_t width, int32_t height, size_t stride,
                                               sl_pixel_format format, sl_prediction *out,
                                               float *probs, sl_error *err);
SL_API sl_status sl_classifier_predict_image (sl_classifier *classifier, const sl_image *image,
                                              sl_prediction *out, float *probs, sl_error *err);
/* n frames in one forward pass. out holds n predictions (stepped by
 * out[0].struct_size), probs n x class_count values or NULL. A bad frame
 * fails the call and names its index. */
SL_API sl_status sl_classifier_predict_batch (sl_classifier *classifier, const sl_frame *frames,
                                              int32_t n, sl_prediction *out, float *probs,
                                              sl_error *err);
/* The same for n decoded images (any size, gray/RGB/RGBA, 8 or 16 bit); a
 * bad one fails the call and names its index ("image 3"). */
SL_API sl_status sl_classifier_predict_images (sl_classifier *classifier, const sl_image *images,
                                               int32_t n, sl_prediction *out, float *probs,
                                               sl_error *err);

/* ---- Maps: where the anomaly is, and what drove a class ----------------------
 * Both kinds of map have the model's input size (sl_classifier_input_size):
 * they lie over the pipeline's output image (sl_classifier_preprocess). */
typedef struct
{
  size_t struct_size;
  /* NULL, or width x height floats: the anomaly map (anomaly models and gated
   * classifiers; in the units of anomaly_score). Left alone for a classifier
   * without a gate. */
  float *anomaly_map;
  /* NULL, or width x height floats from 0 to 1: Grad-CAM of heatmap_class at
   * heatmap_layer (classifiers only; left alone for anomaly models). */
  float *class_heatmap;
  int32_t heatmap_class; /* -1: the predicted class (default) */
  int32_t heatmap_layer; /* -1: sl_model_default_cam_layer (default) */
} sl_prediction_maps;

SL_API void sl_prediction_maps_init (sl_prediction_maps *maps);
/* Predict one image as the functions above do, and fill the maps asked for. */
SL_API sl_status sl_classifier_predict_image_maps (sl_classifier *classifier, const sl_image *image,
                                                   sl_prediction *out, float *probs,
                                                   sl_prediction_maps *maps, sl_error *err);
SL_API sl_status sl_classifier_predict_file_maps (sl_classifier *classifier, const char *path,
                                                  sl_prediction *out, float *probs,
                                                  sl_prediction_maps *maps, sl_error *err);
SL_API sl_status sl_classifier_predict_pixels_maps (sl_classifier *classifier, const void *pixels,
                                                    int32_t width, int32_t height, size_t stride,
                                                    sl_pixel_format format, sl_prediction *out,
                                                    float *probs, sl_prediction_maps *maps,
                                                    sl_error *err);
/* The pipeline's output for an image: what the model sees and the maps lie
 * over (8-bit, the model's input size and channels). Free with sl_image_free. */
SL_API sl_status sl_classifier_preprocess (const sl_classifier *classifier, const sl_image *image,
                                           sl_image *out, sl_error *err);
/* An RGB8 picture of map (width x height) over base (gray or RGB8 of the same
 * size): values from lo (transparent) to hi (opaque red) through a perceptual
 * colour scale, blended at most `opacity` (0 .. 1). A value v is drawn at
 * t = (v - lo) / (hi - lo), clamped to 0 .. 1 (NAN counts as 0): colour
 * scale(t) (dark blue, blue, teal, yellow-green, yellow, orange, red) with
 * alpha opacity * t, so values at or below lo leave the image as it is.
 * lo < hi, both finite. Grad-CAM maps: lo 0, hi 1. Free out with
 * sl_image_clear. */
SL_API sl_status sl_heatmap_overlay (const sl_image *base, const float *map, float lo, float hi,
                                     float opacity, sl_image *out, sl_error *err);
/* The range an anomaly map (n values) is drawn with, for sl_heatmap_overlay:
 * with a finite threshold > 0, lo = threshold / 2 (clear at and below) and
 * hi = 1.5 x threshold (opaque red from there), so the threshold itself is
 * half painted whatever the map holds and maps of different images compare;
 * without one, the map's own finite minimum and maximum. */
SL_API void sl_anomaly_map_range (float threshold, const float *map, size_t n, float *lo,
                                  float *hi);

/* The k most likely classes of one image's probabilities, best first: fills
 * min (k, class_count) predictions (stepped by out[0].struct_size) and
 * returns how many. */
SL_API int32_t sl_classifier_top_k (const sl_classifier *classifier, const float *probs, int32_t k,
                                    sl_prediction *out);

/* ---- ONNX export -----------------------------------------------------------
 * Writes the model as ONNX (opset 13, dynamic batch) to path, and beside it
 * "<path without .onnx>.json": the labels, the complete preprocessing pipeline
 * and how to feed the graph. The graph's input "image" is float32
 * [N, C, H, W] holding the pipeline's 8-bit output (0 .. 255); normalisation
 * and softmax are inside the graph, its output "probabilities" is [N, classes].
 * An anomaly model's graph (backbone and scorer) gives "anomaly_score" [N] and
 * "anomaly_map" [N, 1, H, W] instead; its sidecar has "kind": "anomaly" and the
 * classifier's current "threshold". A classifier's anomaly gate is not in the
 * graph, and its sidecar's "anomaly_gate" says so. */
SL_API sl_status sl_classifier_export_onnx (const sl_classifier *classifier, const char *path,
                                            sl_error *err);

SL_END_DECLS
