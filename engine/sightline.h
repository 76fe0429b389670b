/* sightline.h: the public C API of libsightline's training engine. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl-version.h"

/* Public and private headers wrap their declarations in these, as GLib's G_BEGIN_DECLS. */
/* clang-format off */
#ifdef __cplusplus
#define SL_BEGIN_DECLS extern "C" {
#define SL_END_DECLS   }
#else
#define SL_BEGIN_DECLS
#define SL_END_DECLS
#endif
/* clang-format on */

SL_BEGIN_DECLS

#if defined(SL_COMPILATION) && defined(__GNUC__)
#define SL_API __attribute__ ((visibility ("default")))
#else
#define SL_API
#endif

/* Status codes. Every fallible call returns one and, when given an sl_error,
 * fills it with a sentence a user can act on. */
typedef enum
{
  SL_OK = 0,
  SL_ERR_INVALID = -1,   /* bad argument, bad model description, shape mismatch */
  SL_ERR_NOMEM = -2,     /* an allocation failed */
  SL_ERR_IO = -3,        /* a file could not be read or written */
  SL_ERR_FORMAT = -4,    /* a file is corrupt, truncated or of another kind */
  SL_ERR_DEVICE = -5,    /* a compute device failed or is missing */
  SL_ERR_CANCELLED = -6, /* a progress callback asked to stop */
  SL_ERR_DIVERGED = -7,  /* the loss became NaN or infinite */
  SL_ERR_LIMIT = -8,     /* a model or input needs more memory or work than the caller allows */
} sl_status;

/* ABI: structs that the caller allocates either begin with struct_size (and
 * only ever grow at the end) or are frozen: sl_error, sl_epoch_stats (and,
 * in sl-vision.h, sl_rect, sl_image, sl_input_spec, sl_loader_stats)
 * keep their layout for the life of the soname. */
typedef struct
{
  sl_status code;
  char message[256];
} sl_error;

SL_API const char *sl_status_to_string (sl_status status);
SL_API const char *sl_version_string (void);
SL_API int sl_version_number (void); /* major * 10000 + minor * 100 + micro */

/* ---- Models --------------------------------------------------------------
 * A model is a graph of layers described by a JSON document (see
 * docs/model-format.md). It owns its parameters and its compute threads, and
 * is used from one thread at a time. Tensors are NCHW float32. */

typedef struct sl_model sl_model;

/* Options for a built-in preset. Set struct_size to sizeof (sl_preset_options)
 * or call sl_preset_options_init (), which also sets the defaults. */
typedef struct
{
  size_t struct_size;
  int channels;      /* 1 (gray) or 3 (colour) */
  int height, width; /* input size in pixels */
  int classes;       /* >= 2 */
  int depth;         /* resnet-s: 8, 14 or 20 (6n + 2); 0 = default */
  float width_mult;  /* mobilenet-s: channel multiplier; 0 = default (1.0) */
} sl_preset_options;

SL_API void sl_preset_options_init (sl_preset_options *opts);

/* The preset names, NULL-terminated: seed-cnn, small-bn, resnet-s, mobilenet-s (the presets
 * trained from scratch). sl_preset_json and sl_preset_summary also know efficientnet-lite0,
 * efficientnet-lite1 and efficientnet-lite2, the architectures of the pretrained backbones
 * (docs/backbones.md; 32 to 1024 px per side, any class count). */
SL_API const char *const *sl_preset_names (void);
SL_API const char *sl_preset_summary (const char *preset);

/* Writes the JSON description of a preset into *out_json (free with sl_free). */
SL_API sl_status sl_preset_json (const char *preset, const sl_preset_options *opts, char **out_json,
                                 sl_error *err);

/* Builds a model from its JSON description; weights are initialised from seed. */
SL_API sl_status sl_model_new (const char *json, uint64_t seed, sl_model **out, sl_error *err);
SL_API void sl_model_free (sl_model *model); /* NULL-safe */

/* The normalised JSON description (free with sl_free). */
SL_API char *sl_model_to_json (const sl_model *model);
SL_API size_t sl_model_param_count (const sl_model *model);
SL_API void sl_model_input_shape (const sl_model *model, int *channels, int *height, int *width);
SL_API int sl_model_class_count (const sl_model *model);

/* Forward multiply-adds per image (a speed estimate for the GUI). */
SL_API double sl_model_flops_per_image (const sl_model *model);

/* Compute threads used by this model on the CPU (default: the number of
 * CPU cores); kept, and without effect, while it computes on a GPU. */
SL_API sl_status sl_model_set_threads (sl_model *model, int threads, sl_error *err);
SL_API int sl_model_get_threads (const sl_model *model);

/* Inference: x holds n images (NCHW), probs receives n * classes softmax values. */
SL_API sl_status sl_model_predict (sl_model *model, const float *x, int n, float *probs,
                                   sl_error *err);

/* Weights as one contiguous block of sl_model_param_count () floats, and the
 * layers' running statistics (batch-norm mean and variance), in host memory
 * wherever the model computes (a GPU model copies them back first; NULL when
 * that fails). The pointers stay valid until the model next changes. */
SL_API const float *sl_model_params (const sl_model *model);
SL_API sl_status sl_model_set_params (sl_model *model, const float *params, size_t count,
                                      sl_error *err);
SL_API size_t sl_model_state_count (const sl_model *model);
SL_API const float *sl_model_state (const sl_model *model);
SL_API sl_status sl_model_set_state (sl_model *model, const float *state, size_t count,
                                     sl_error *err);

/* Transfer learning: layers marked "frozen" (a prefix of the layer list) keep
 * their weights and statistics in training. The trainable parameters are the
 * last sl_model_trainable_param_count () of sl_model_params (). */
SL_API size_t sl_model_trainable_param_count (const sl_model *model);
/* Floats per image crossing from the frozen prefix to the trainable layers: 0 when no layer is
 * frozen, all are, or more than one tensor crosses. */
SL_API size_t sl_model_feature_size (const sl_model *model);
/* Runs only the frozen prefix on n images: features receives n * sl_model_feature_size floats. */
SL_API sl_status sl_model_compute_features (sl_model *model, const float *x, int n, float *features,
                                            sl_error *err);

/* ---- Inside the model: mid-level layers and class heatmaps ------------------
 * Layers are numbered in the order of the description's "layers" array. */

/* The index of the layer called `name`, or -1. */
SL_API int sl_model_find_layer (const sl_model *model, const char *name);
/* The layer's output per image (channels x height x width; a dense or flattened
 * layer reports c x 1 x 1). SL_ERR_INVALID for an index out of range. */
SL_API sl_status sl_model_layer_shape (const sl_model *model, int layer, int *channels, int *height,
                                       int *width, sl_error *err);
/* One forward pass over n images that copies the outputs of n_layers layers:
 * outs[k] receives n x (that layer's C x H x W) floats, NCHW. probs may be NULL
 * (the pass then stops at the deepest requested layer) or receive n x classes
 * softmax values as sl_model_predict gives. Chunked within the model's memory
 * limit like sl_model_predict. */
SL_API sl_status sl_model_predict_layers (sl_model *model, const float *x, int n, float *probs,
                                          const int *layers, int n_layers, float *const *outs,
                                          sl_error *err);
/* The layer Grad-CAM looks at by default: the last layer whose output still has
 * a spatial extent (height x width > 1) and that feeds the classifier head, or
 * -1 when the model has none. */
SL_API int sl_model_default_cam_layer (const sl_model *model);
/* Grad-CAM for one image x (C x H x W): which part of `layer`'s output made the
 * model choose class_index (-1: the class it predicts). map receives that
 * layer's H x W values, ReLU(sum_c w_c A_c) with w_c the spatial mean of
 * d logit / d A_c, scaled to 0 .. 1 (all 0 when nothing speaks for the class).
 * probs may be NULL or receive the image's class probabilities. Frozen layers
 * take part as any other; the weights do not change. */
SL_API sl_status sl_model_class_heatmap (sl_model *model, const float *x, int class_index,
                                         int layer, float *probs, float *map, sl_error *err);

/* ---- Anomaly scoring (PatchCore) ---------------------------------------------
 * Patch features of good parts, taken from mid-level layers of a model (a
 * pretrained backbone, or a classifier's own layers for its anomaly gate), are
 * kept in a memory bank reduced by greedy coreset selection. An image's patch
 * scores are each patch's distance to its nearest neighbour in the bank; the
 * image's score is the largest, its anomaly map the patch scores upsampled to
 * the model's input and smoothed. Above the threshold is anomalous. See
 * docs/anomaly.md for every step, which the PyTorch reference repeats. */

typedef struct sl_anomaly sl_anomaly;
typedef struct sl_anomaly_fitter sl_anomaly_fitter;

/* Called while fitting; return false to cancel (SL_ERR_CANCELLED). */
typedef bool (*sl_fit_progress_fn) (int64_t done, int64_t total, void *user_data);

#define SL_ANOMALY_MAX_LAYERS 4

typedef struct
{
  size_t struct_size;
  /* Layer indices in the model (see sl_model_find_layer); n_layers 0 means
   * sl_anomaly_default_layers. The first gives the patch grid; deeper ones are
   * upsampled to it and appended channel-wise. */
  int32_t layers[SL_ANOMALY_MAX_LAYERS];
  int32_t n_layers;
  double coreset_ratio;    /* share of the collected patches the bank keeps (default 0.01) */
  int64_t max_bank;        /* at most this many bank patches (default 16384) */
  int64_t max_patches;     /* patches collected before selection, at most (default 400000) */
  int64_t expected_images; /* images the fitter will see (to spread max_patches); 0 = unknown */
  float smoothing_sigma;   /* of the map's Gaussian, in input pixels (default 4) */
  uint64_t seed;           /* which patches are kept when there are too many */
} sl_anomaly_config;

SL_API void sl_anomaly_config_init (sl_anomaly_config *config);
/* The layers anomaly scoring uses by default: the last layer at 1/4 and the last
 * at 1/8 of the input's resolution (for EfficientNet-Lite at 224 px, _blocks.2
 * and _blocks.4: a 56 x 56 grid; a block's end, a named layer, preferred); with
 * no layer at 1/4, the last at 1/8 and the last at 1/16; a model that never
 * reaches 1/8 gets its smallest feature map of at least 2 x 2 alone. layers must
 * hold SL_ANOMALY_MAX_LAYERS. Returns how many (0: the model has no feature map). */
SL_API int32_t sl_anomaly_default_layers (const sl_model *model, int32_t *layers);

/* The fitter uses model (which must outlive it) to compute features. */
SL_API sl_status sl_anomaly_fitter_new (sl_model *model, const sl_anomaly_config *config,
                                        sl_anomaly_fitter **out, sl_error *err);
/* Adds n good images (normalised model input, as sl_model_predict takes). */
SL_API sl_status sl_anomaly_fitter_add (sl_anomaly_fitter *fitter, const float *x, int n,
                                        sl_error *err);
/* The same from layer outputs already computed with sl_model_predict_layers for
 * the fitter's layers (in its order). */
SL_API sl_status sl_anomaly_fitter_add_layers (sl_anomaly_fitter *fitter,
                                               const float *const *layer_outs, int n,
                                               sl_error *err);
SL_API int64_t sl_anomaly_fitter_patch_count (const sl_anomaly_fitter *fitter);
/* Selects the bank (progress: bank patches chosen of the bank size) and returns
 * the scorer, with threshold +infinity until one is set. */
SL_API sl_status sl_anomaly_fitter_finish (sl_anomaly_fitter *fitter, sl_fit_progress_fn progress,
                                           void *user_data, sl_anomaly **out, sl_error *err);
SL_API void sl_anomaly_fitter_free (sl_anomaly_fitter *fitter); /* NULL-safe */

SL_API void sl_anomaly_free (sl_anomaly *anomaly);              /* NULL-safe */
SL_API sl_anomaly *sl_anomaly_copy (const sl_anomaly *anomaly); /* NULL when out of memory */
/* Scores n images with model (the one it was fitted with): scores receives n
 * image scores; maps may be NULL or receive n x H x W anomaly maps at the
 * model's input size. */
SL_API sl_status sl_anomaly_score (const sl_anomaly *anomaly, sl_model *model, const float *x,
                                   int n, float *scores, float *maps, sl_error *err);
/* The same from its layers' outputs (sl_model_predict_layers, the scorer's
 * layers in its order), so a classifier's gate costs no second forward pass. */
SL_API sl_status sl_anomaly_score_layers (const sl_anomaly *anomaly, const float *const *layer_outs,
                                          int n, float *scores, float *maps, sl_error *err);
SL_API int32_t sl_anomaly_layers (const sl_anomaly *anomaly, int32_t *layers); /* returns n */
SL_API int64_t sl_anomaly_bank_size (const sl_anomaly *anomaly);
SL_API int32_t sl_anomaly_feature_dims (const sl_anomaly *anomaly);
SL_API void sl_anomaly_grid (const sl_anomaly *anomaly, int32_t *height, int32_t *width);
/* Above it an image is anomalous; +infinity until set. */
SL_API float sl_anomaly_get_threshold (const sl_anomaly *anomaly);
SL_API sl_status sl_anomaly_set_threshold (sl_anomaly *anomaly, float threshold, sl_error *err);

/* A second handle on the same weights with its own working memory and
 * `threads` compute threads (0 = one per core), so another thread can predict
 * at the same time; on a GPU it has its own streams on the same device. The
 * weights must not change while it lives, and it must be freed before the
 * model it shares. */
SL_API sl_status sl_model_share (const sl_model *model, int threads, sl_model **out, sl_error *err);

/* Builds the model stored in a training checkpoint with its trained weights
 * and running statistics (no trainer needed). */
SL_API sl_status sl_model_load_checkpoint (const char *path, sl_model **out, sl_error *err);

/* ---- .slmodel files ---------------------------------------------------------
 * What an exported model carries besides its weights. The file itself is
 * written by sl_slmodel_save (sl-classifier.h), with the model's pipeline. */

typedef struct
{
  size_t struct_size;
  const char *const *labels;   /* one per model class, in output order (copied) */
  float reject_threshold;      /* 0 .. 1; less confident predictions are rejected; 0 = never */
  const char *provenance_json; /* a JSON object (data set hash, seed, metrics ...) or NULL */
  /* NULL, or an anomaly scorer fitted with this model (copied into the file):
   * with kind SL_SLMODEL_ANOMALY the file is an anomaly model (labels NULL:
   * the file's labels are "good" and "anomalous"), with SL_SLMODEL_CLASSIFIER
   * it is the classifier's anomaly gate. */
  const sl_anomaly *anomaly;
  int32_t kind; /* sl_slmodel_kind */
} sl_slmodel_info;

typedef enum
{
  SL_SLMODEL_CLASSIFIER = 0, /* header "kind": "classifier" (files without a kind) */
  SL_SLMODEL_ANOMALY = 1,    /* header "kind": "anomaly" */
} sl_slmodel_kind;

SL_API void sl_slmodel_info_init (sl_slmodel_info *info);

/* ---- ONNX export -----------------------------------------------------------
 * Opset 13 with a dynamic batch dimension. The graph's input "image" is float32
 * [N, C, H, W] with values 0 .. 255; the graph first computes
 * (x / 255 - mean[c]) / std[c], then runs the model, then a softmax, so its
 * output "probabilities" [N, classes] matches sl_model_predict. */

typedef struct
{
  size_t struct_size;
  float mean[3], std[3];     /* per input channel */
  const char *const *labels; /* NULL or one per class: metadata_props "labels" (JSON array) */
  const char *metadata_json; /* NULL or a JSON document: metadata_props "sightline" */
} sl_onnx_options;

/* mean 0, std 1 (the graph then sees x / 255), no labels or metadata. */
SL_API void sl_onnx_options_init (sl_onnx_options *options);
/* Writes the ONNX file atomically (temporary file, fsync, rename). */
SL_API sl_status sl_model_export_onnx (const sl_model *model, const sl_onnx_options *options,
                                       const char *path, sl_error *err);

SL_API void sl_free (void *ptr);

/* ---- Compute devices -------------------------------------------------------
 * The CPU is always there. GPUs come from the CUDA backend module
 * (libsightline-cuda.so), looked for beside the runtime and opened at run
 * time; when it, the driver or a GPU is missing the list says why and
 * training uses the CPU. $SIGHTLINE_CUDA_MODULE_DIR, when set, is the only
 * folder searched for the module. A program discovers its devices once, with
 * sl_device_registry_get, and hands that list to whatever computes. */

typedef enum
{
  SL_DEVICE_CPU = 0,
  SL_DEVICE_CUDA = 1,
} sl_device_kind;

/* Frozen: fields are only ever added at the end. */
typedef struct
{
  sl_device_kind kind;
  int index;                           /* 0 for the CPU; the CUDA ordinal */
  char id[16];                         /* "cpu", "cuda:0" */
  char name[128];                      /* the CPU model (/proc/cpuinfo) or the GPU name */
  uint64_t memory_bytes;               /* system RAM or GPU memory */
  int threads;                         /* CPU: logical cores this process may use; GPU: 0 */
  int compute_major, compute_minor;    /* GPU compute capability */
  int driver_version, runtime_version; /* GPU, CUDA's encoding (13000 = 13.0) */
  bool usable;
  char reason[256]; /* why not usable, and what to do; "" when usable */
} sl_device_info;

typedef struct sl_device_list sl_device_list;

/* Reads a device id: "cpu", "cuda" (the first usable GPU: *index is -1) or
 * "cuda:N" (*index is N, at most 7 digits), in any letter case. The one
 * reader of that syntax: options, settings and recipes all go through it.
 * kind and index may be NULL. SL_ERR_INVALID, naming the text and the
 * accepted forms, for anything else (NULL and "" included). */
SL_API sl_status sl_device_id_parse (const char *id, sl_device_kind *kind, int *index,
                                     sl_error *err);

/* The process's device list: discovered on the first call (opening the
 * CUDA module can take a second: call it off the UI thread), then the same
 * list for every caller and thread. *out is a new reference: release it with
 * sl_device_list_free. A missing GPU is no error. */
SL_API sl_status sl_device_registry_get (sl_device_list **out, sl_error *err);
/* Discovers the devices again (a driver or GPU installed meanwhile) and
 * makes that the process's list; holders of the old list keep it. A GPU's
 * self-check is not run again. out may be NULL. */
SL_API sl_status sl_device_registry_refresh (sl_device_list **out, sl_error *err);

/* A list of its own, discovered now, not the process's: for tools that
 * change $SIGHTLINE_CUDA_MODULE_DIR. Programs use sl_device_registry_get. */
SL_API sl_status sl_device_list_new (sl_device_list **out, sl_error *err);
/* Drops a reference; NULL-safe. Models moved to one of its GPUs keep what
 * they need of it. */
SL_API void sl_device_list_free (sl_device_list *list);
SL_API size_t sl_device_list_count (const sl_device_list *list);
/* Entry i, or NULL past the end; it lives as long as the list. */
SL_API const sl_device_info *sl_device_list_get (const sl_device_list *list, size_t i);
/* "cpu", "cuda:N", or "cuda" (the first usable GPU, else the first GPU); NULL if none. */
SL_API const sl_device_info *sl_device_list_find (const sl_device_list *list, const char *id);
/* "" when a usable GPU exists, else a sentence saying why there is none and
 * what to do ("No GPU: no NVIDIA driver is installed."). */
SL_API const char *sl_device_list_gpu_reason (const sl_device_list *list);
/* "" when a usable GPU exists, else what follows from the reason for
 * training: "training uses the CPU". */
SL_API const char *sl_device_list_gpu_consequence (const sl_device_list *list);
/* The two as one sentence for people: "<reason> — training uses the CPU.". */
SL_API const char *sl_device_list_gpu_status (const sl_device_list *list);

/* Moves a model (weights, statistics, working memory) to a device: "cpu",
 * "cuda" (the first usable GPU) or "cuda:N" (sl_device_id_parse). devices is
 * a device list, or NULL for the process's (sl_device_registry_get); the
 * model keeps what it needs of the list, which may be freed at any time. The
 * first time the process uses a GPU, one batch is run through a small model
 * on it and on the CPU and the results compared (about a second), so a broken
 * GPU setup fails here and not hours into training; a pass or a failed
 * comparison is remembered, a check that could not run (out of GPU memory)
 * runs again next time. Errors leave the model where it was:
 * SL_ERR_DEVICE with the reason when the device is missing, unusable or fails
 * the check; SL_ERR_NOMEM when the weights do not fit; SL_ERR_INVALID while a
 * trainer uses the model, or for a handle from sl_model_share (it computes
 * where its model does). */
SL_API sl_status sl_model_set_device (sl_model *model, sl_device_list *devices, const char *device,
                                      sl_error *err);
/* "cpu" or "cuda:N"; the string lives as long as the model. */
SL_API const char *sl_model_get_device (const sl_model *model);

/* ---- Batch sources -------------------------------------------------------
 * Training and evaluation pull batches through this interface; the vision
 * loader implements it, and so can any caller with images in memory. The
 * caller fills the struct; struct_size lets it grow without breaking callers. */

typedef struct
{
  size_t struct_size;
  void *user_data;
  /* Images in one pass. */
  int64_t (*count) (void *user_data);
  /* Starts pass number `epoch` (0-based); a source may reshuffle here. */
  sl_status (*begin_epoch) (void *user_data, int64_t epoch, sl_error *err);
  /* Fills up to max images and labels; *n = 0 marks the end of the pass. */
  sl_status (*next) (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err);
} sl_batch_source;

/* ---- Training ------------------------------------------------------------ */

typedef enum
{
  SL_OPTIMIZER_SGD = 0,
  SL_OPTIMIZER_ADAM = 1,
  SL_OPTIMIZER_ADAMW = 2,
} sl_optimizer_kind;

typedef enum
{
  SL_SCHEDULE_CONSTANT = 0,
  SL_SCHEDULE_STEP = 1,   /* lr *= gamma every step_size steps */
  SL_SCHEDULE_COSINE = 2, /* linear warm-up, then cosine down to min_lr at total_steps */
} sl_schedule_kind;

typedef struct
{
  size_t struct_size;
  sl_optimizer_kind optimizer;
  float learning_rate;
  float momentum;     /* SGD */
  bool nesterov;      /* SGD */
  float weight_decay; /* L2 for SGD and Adam, decoupled for AdamW */
  float beta1, beta2, epsilon;
  sl_schedule_kind schedule;
  int64_t step_size; /* SL_SCHEDULE_STEP */
  float gamma;       /* SL_SCHEDULE_STEP */
  int64_t warmup_steps;
  int64_t total_steps; /* SL_SCHEDULE_COSINE */
  float min_learning_rate;
  float label_smoothing;      /* 0 .. 1 */
  const float *class_weights; /* NULL or one weight per class; copied */
  uint64_t seed;              /* dropout and other training randomness */
} sl_train_config;

/* Defaults: Adam, lr 1e-3, betas 0.9/0.999, eps 1e-8, constant schedule. */
SL_API void sl_train_config_init (sl_train_config *config);

typedef struct
{
  int64_t epoch;         /* 0-based */
  int64_t step;          /* optimizer steps since the trainer began */
  int64_t step_in_epoch; /* 1-based */
  int64_t steps_in_epoch;
  double loss;          /* mean over the last batch, or the epoch when epoch_done */
  double accuracy;      /* likewise */
  double learning_rate; /* used for the last step */
  double images_per_s;  /* over the epoch so far */
  bool epoch_done;
} sl_progress;

/* Called on the training thread; return false to cancel (SL_ERR_CANCELLED). */
typedef bool (*sl_progress_fn) (const sl_progress *progress, void *user_data);

typedef struct
{
  double loss;
  double accuracy;
  int64_t images;
  double seconds;
} sl_epoch_stats;

typedef struct sl_trainer sl_trainer;

/* Plans every buffer for batch_size once; steps then allocate nothing. */
SL_API sl_status sl_trainer_new (sl_model *model, const sl_train_config *config, int batch_size,
                                 sl_trainer **out, sl_error *err);
SL_API void sl_trainer_free (sl_trainer *trainer); /* NULL-safe; the model stays */

/* One optimizer step on n <= batch_size images. */
SL_API sl_status sl_trainer_step (sl_trainer *trainer, const float *x, const int32_t *labels, int n,
                                  double *loss, double *accuracy, sl_error *err);
SL_API sl_status sl_trainer_train_epoch (sl_trainer *trainer, const sl_batch_source *source,
                                         sl_progress_fn progress, void *user_data,
                                         sl_epoch_stats *stats, sl_error *err);
/* Loss and accuracy in inference mode over one pass of source. */
SL_API sl_status sl_trainer_evaluate (sl_trainer *trainer, const sl_batch_source *source,
                                      sl_epoch_stats *stats, sl_error *err);
SL_API int64_t sl_trainer_step_count (const sl_trainer *trainer);
SL_API int64_t sl_trainer_epoch_count (const sl_trainer *trainer);
SL_API double sl_trainer_learning_rate (const sl_trainer *trainer);
/* After this, sl_trainer_step, sl_trainer_train_epoch and sl_trainer_evaluate take features
 * (sl_model_feature_size floats per image, from sl_model_compute_features) instead of images;
 * the frozen prefix is then not planned at all. Off again: images. */
SL_API sl_status sl_trainer_set_feature_input (sl_trainer *trainer, bool on, sl_error *err);

/* Weights, running statistics, optimizer state and counters, written
 * atomically (temporary file, fsync, rename). */
SL_API sl_status sl_trainer_save_checkpoint (sl_trainer *trainer, const char *path, sl_error *err);
/* Restores a checkpoint written for the same model description. */
SL_API sl_status sl_trainer_load_checkpoint (sl_trainer *trainer, const char *path, sl_error *err);

SL_END_DECLS
