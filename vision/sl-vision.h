/* sl-vision.h: the public C API of libsightline's vision layer (images, operators, pipelines, augmentation, batch loading). */
#pragma once

#include "sightline.h"

SL_BEGIN_DECLS

/* ---- Images ---------------------------------------------------------------
 * Samples are 8 or 16 bit unsigned; channels are gray (1), RGB (3) or RGBA (4),
 * interleaved, rows `stride` bytes apart. An image either owns its pixels
 * (free them with sl_image_clear) or borrows memory that the caller keeps
 * alive (sl_image_borrow). A zeroed sl_image is empty. Functions that make
 * an image overwrite *out without freeing what it held, and leave it empty
 * on failure. */

typedef struct
{
  int width, height;
  int channels; /* 1, 3 or 4 */
  int depth;    /* bits per sample: 8 or 16 */
  size_t stride;
  uint8_t *data;
  void *owner; /* private: what frees data; NULL when borrowed */
} sl_image;

/* Decoding refuses images with more pixels than this unless told otherwise, and
 * images whose decoded samples (width x height x channels x bytes per sample,
 * read from the header first) would take more than 4 bytes per pixel of it. */
#define SL_IMAGE_DEFAULT_MAX_PIXELS ((int64_t) 100 * 1000 * 1000)

SL_API sl_status sl_image_alloc (sl_image *img, int width, int height, int channels, int depth,
                                 sl_error *err);
SL_API sl_status sl_image_borrow (sl_image *img, void *data, int width, int height, int channels,
                                  int depth, size_t stride, sl_error *err);
SL_API sl_status sl_image_copy (const sl_image *src, sl_image *dst, sl_error *err);
SL_API void sl_image_clear (sl_image *img); /* NULL-safe; frees owned pixels, zeroes */
SL_API bool sl_image_equal (const sl_image *a, const sl_image *b); /* same shape and pixels */

/* Decodes PNG, JPEG, BMP, TIFF, PGM/PPM (8 or 16 bit; gray, RGB, RGBA).
 * max_pixels <= 0 means SL_IMAGE_DEFAULT_MAX_PIXELS; it bounds the pixels and
 * 4 x max_pixels bytes of decoded samples. Truncated files fail with
 * SL_ERR_FORMAT ("... is truncated"); decoder libraries never print. `name`
 * is used in messages (the file name or any label). sl_image_load refuses
 * paths that are not regular files (FIFOs, devices) without blocking. */
SL_API sl_status sl_image_decode (const void *data, size_t size, const char *name,
                                  int64_t max_pixels, sl_image *out, sl_error *err);
SL_API sl_status sl_image_load (const char *path, int64_t max_pixels, sl_image *out, sl_error *err);
/* Encodes to the format of the path's extension and replaces the file atomically. */
SL_API sl_status sl_image_save (const sl_image *img, const char *path, sl_error *err);

/* ---- Operators -------------------------------------------------------------
 * The registry is constant: ids are stable and stored in pipeline JSON. */

typedef enum
{
  SL_PARAM_INT = 0,
  SL_PARAM_DOUBLE = 1,
  SL_PARAM_BOOL = 2,
  SL_PARAM_ENUM = 3, /* value is the index into choices */
  SL_PARAM_RECT = 4,
} sl_param_type;

typedef struct
{
  double x, y, width, height;
} sl_rect;

typedef struct
{
  const char *id;          /* stable key in JSON */
  const char *name;        /* for display */
  const char *description; /* one line */
  sl_param_type type;
  double min, max, step;           /* int and double; rect: bounds of every field */
  double default_value;            /* int, double, bool (0 or 1), enum (index) */
  const char *unit;                /* "px", "°", "" ... */
  const char *const *choices;      /* enum: ids, NULL-terminated */
  const char *const *choice_names; /* enum: display names, same order */
  sl_rect default_rect;            /* rect */
} sl_param_spec;

typedef struct
{
  const char *id;
  const char *name;
  const char *description;
  int n_params;
  const sl_param_spec *params;
} sl_op_info;

SL_API int sl_op_count (void);
SL_API const sl_op_info *sl_op_get (int index); /* NULL when out of range */
SL_API const sl_op_info *sl_op_find (const char *id);
SL_API const sl_param_spec *sl_op_find_param (const sl_op_info *op, const char *param_id);
/* Every operator and its parameter specs as JSON (free with sl_free). */
SL_API char *sl_ops_to_json (void);

/* ---- Pipelines -------------------------------------------------------------
 * An ordered list of operator steps followed by the model's input spec: the
 * last stage converts to `channels` and 8 bits and resizes to width x height
 * if the steps did not already (stretching; area interpolation when neither
 * side grows, else linear). Model inputs are then
 * x = (pixel / 255 - mean[c]) / std[c]. */

typedef struct
{
  int width, height;
  int channels; /* 1 or 3 */
  float mean[3], std[3];
} sl_input_spec;

/* Applying a pipeline only reads it, so several threads may apply the same
 * pipeline at the same time; editing needs exclusive access. Step indices
 * are 0-based in calls; messages count steps from 1 ("step 2 (Crop): ..."). */
typedef struct sl_pipeline sl_pipeline;

/* An empty pipeline with a 64x64 gray input, mean 0 and std 1. */
SL_API sl_status sl_pipeline_new (sl_pipeline **out, sl_error *err);
SL_API void sl_pipeline_free (sl_pipeline *pipeline); /* NULL-safe */
SL_API sl_status sl_pipeline_copy (const sl_pipeline *pipeline, sl_pipeline **out, sl_error *err);
SL_API sl_status sl_pipeline_from_json (const char *json, sl_pipeline **out, sl_error *err);
SL_API sl_status sl_pipeline_load (const char *path, sl_pipeline **out, sl_error *err);
SL_API char *sl_pipeline_to_json (const sl_pipeline *pipeline); /* free with sl_free */
SL_API sl_status sl_pipeline_save (const sl_pipeline *pipeline, const char *path, sl_error *err);

SL_API void sl_pipeline_get_input (const sl_pipeline *pipeline, sl_input_spec *out);
SL_API sl_status sl_pipeline_set_input (sl_pipeline *pipeline, const sl_input_spec *spec,
                                        sl_error *err);

/* What happens to transparent pixels. An image with an alpha channel (RGBA,
 * or gray + alpha, which decodes as RGBA) is flattened by this rule before the
 * first step; images without alpha are not touched. With max = 255 (8 bit) or
 * 65535 (16 bit), a = alpha, c = a colour sample and b = the background
 * sample scaled to the image's depth (b8 x 257 on 16-bit images):
 *   COMPOSITE: out = floor ((a * c + (max - a) * b) / max + 1/2), the usual
 *              "over" compositing onto a solid background;
 *   MASK:      out = c where a >= (max + 1) / 2 (128 or 32768), else b;
 *   DROP:      the alpha channel is left for the input stage, which discards
 *              it: transparent pixels keep whatever colour the file stores
 *              under them (usually black). This is what Sightline did before
 *              the rule existed, and what pipeline JSON without "alpha" means.
 * A new pipeline composites onto white. */
typedef enum
{
  SL_ALPHA_DROP = 0,
  SL_ALPHA_COMPOSITE = 1,
  SL_ALPHA_MASK = 2,
} sl_alpha_mode;

typedef struct
{
  sl_alpha_mode mode;
  uint8_t background[3]; /* R, G, B in 8-bit levels */
} sl_alpha_rule;

SL_API void sl_pipeline_get_alpha (const sl_pipeline *pipeline, sl_alpha_rule *out);
SL_API sl_status sl_pipeline_set_alpha (sl_pipeline *pipeline, const sl_alpha_rule *rule,
                                        sl_error *err);
/* Flattens an RGBA image by the rule into an RGB image of the same depth;
 * other images (and DROP) are copied unchanged. */
SL_API sl_status sl_image_flatten_alpha (const sl_image *in, const sl_alpha_rule *rule,
                                         sl_image *out, sl_error *err);

SL_API int sl_pipeline_step_count (const sl_pipeline *pipeline);
SL_API const sl_op_info *sl_pipeline_step_op (const sl_pipeline *pipeline, int step);
/* Inserts a step with default parameters at `index` (-1 appends). */
SL_API sl_status sl_pipeline_insert_step (sl_pipeline *pipeline, int index, const char *op_id,
                                          sl_error *err);
SL_API sl_status sl_pipeline_remove_step (sl_pipeline *pipeline, int step, sl_error *err);
SL_API sl_status sl_pipeline_move_step (sl_pipeline *pipeline, int from, int to, sl_error *err);
SL_API sl_status sl_pipeline_set_enabled (sl_pipeline *pipeline, int step, bool enabled,
                                          sl_error *err);
SL_API bool sl_pipeline_get_enabled (const sl_pipeline *pipeline, int step);

/* Parameter values: int, double, bool and enum (index) as numbers; rectangles
 * apart. Setters check type and range and name the step and parameter. */
SL_API sl_status sl_pipeline_set_param (sl_pipeline *pipeline, int step, const char *param,
                                        double value, sl_error *err);
SL_API sl_status sl_pipeline_set_choice (sl_pipeline *pipeline, int step, const char *param,
                                         const char *choice, sl_error *err);
SL_API sl_status sl_pipeline_set_rect (sl_pipeline *pipeline, int step, const char *param,
                                       sl_rect rect, sl_error *err);
SL_API sl_status sl_pipeline_get_param (const sl_pipeline *pipeline, int step, const char *param,
                                        double *value, sl_error *err);
SL_API sl_status sl_pipeline_get_rect (const sl_pipeline *pipeline, int step, const char *param,
                                       sl_rect *rect, sl_error *err);

/* Checks every step's parameters and their combinations. */
SL_API sl_status sl_pipeline_validate (const sl_pipeline *pipeline, sl_error *err);

/* Runs the steps and the input stage: out is 8-bit, input-spec sized. */
SL_API sl_status sl_pipeline_apply (const sl_pipeline *pipeline, const sl_image *in, sl_image *out,
                                    sl_error *err);
/* Step-by-step preview: stages must hold step_count + 1 images; stage i is the
 * output of step i (a disabled step passes its input on), the last is the
 * model input. On failure the stages before the failing step stay filled and
 * the rest are empty; clear each with sl_image_clear. */
SL_API sl_status sl_pipeline_apply_stages (const sl_pipeline *pipeline, const sl_image *in,
                                           sl_image *stages, sl_error *err);
/* Writes an image of the input spec's shape as CHW floats, mean/std applied. */
SL_API sl_status sl_pipeline_normalize (const sl_pipeline *pipeline, const sl_image *img,
                                        float *chw, sl_error *err);

/* ---- Augmentation ----------------------------------------------------------
 * Random per-sample changes for training, all off by default. The same seed
 * gives the same image. */

typedef struct
{
  size_t struct_size;
  bool flip_horizontal; /* each with probability 0.5 */
  bool flip_vertical;
  double rotate_degrees; /* uniform in [-r, r]; 0 = off */
  double shift_fraction; /* uniform shift up to this fraction of width/height */
  double scale_fraction; /* scale uniform in [1 - s, 1 + s] */
  double brightness;     /* additive, uniform in [-b, b] x 255 */
  double contrast;       /* factor uniform in [1 - c, 1 + c] around mid-gray */
  double gamma;          /* gamma log-uniform in [1 / (1 + g), 1 + g] */
  double noise_std;      /* Gaussian noise, standard deviation in 8-bit levels */
  double blur_probability;
  double blur_sigma; /* Gaussian sigma uniform in [0.3, blur_sigma] */
  double cutout_probability;
  double cutout_fraction; /* side of the erased square, fraction of the shorter side */
} sl_augment_config;

SL_API void sl_augment_config_init (sl_augment_config *config);
SL_API bool sl_augment_config_is_active (const sl_augment_config *config);
SL_API sl_status sl_augment_config_validate (const sl_augment_config *config, sl_error *err);
SL_API char *sl_augment_config_to_json (const sl_augment_config *config); /* sl_free */
SL_API sl_status sl_augment_config_from_json (const char *json, sl_augment_config *config,
                                              sl_error *err);
/* The seed the loader uses for `item` in `epoch`, so that a preview can show
 * exactly what training sees. */
SL_API uint64_t sl_augment_seed (uint64_t loader_seed, int64_t epoch, int64_t item);
/* Augments an 8-bit image; out has the shape of in. */
SL_API sl_status sl_augment_apply (const sl_augment_config *config, uint64_t seed,
                                   const sl_image *in, sl_image *out, sl_error *err);

/* ---- Batch loader ----------------------------------------------------------
 * decode -> pipeline -> (cache) -> augment -> NCHW float batches, on worker
 * threads that prefetch ahead of the consumer. Batches depend only on the
 * items, pipeline, augmentation, seed and epoch, never on the worker count.
 * Batch k of an epoch holds items order[k * batch_size ...] of that epoch's
 * order; images that fail are skipped (that batch is shorter) and reported
 * once, through on_failure and sl_loader_failure. One thread (the consumer)
 * calls begin_epoch and next. */

typedef void (*sl_loader_failure_fn) (int64_t item, const char *message, void *user_data);

typedef struct
{
  size_t struct_size;
  int batch_size; /* default 32 */
  uint64_t seed;
  bool shuffle;                     /* default true; order reshuffled from (seed, epoch) */
  int workers;                      /* default 2 */
  int prefetch;                     /* batches decoded ahead; default 2 x workers */
  size_t cache_bytes;               /* budget for preprocessed 8-bit images; default 512 MiB */
  int64_t max_pixels;               /* decoding limit; 0 = SL_IMAGE_DEFAULT_MAX_PIXELS */
  const sl_augment_config *augment; /* NULL = none; copied */
  sl_loader_failure_fn on_failure;  /* called on the thread calling next */
  void *user_data;
} sl_loader_config;

typedef struct sl_loader sl_loader;

SL_API void sl_loader_config_init (sl_loader_config *config);
/* Items are image files; paths and labels are copied. */
SL_API sl_status sl_loader_new_files (const char *const *paths, const int32_t *labels,
                                      int64_t count, const sl_pipeline *pipeline,
                                      const sl_loader_config *config, sl_loader **out,
                                      sl_error *err);
/* Items are images in memory, borrowed: keep them alive until sl_loader_free. */
SL_API sl_status sl_loader_new_images (const sl_image *images, const int32_t *labels, int64_t count,
                                       const sl_pipeline *pipeline, const sl_loader_config *config,
                                       sl_loader **out, sl_error *err);
SL_API void sl_loader_free (sl_loader *loader); /* NULL-safe */

SL_API int64_t sl_loader_count (const sl_loader *loader);
/* Floats per image: channels x height x width of the pipeline's input. */
SL_API size_t sl_loader_image_floats (const sl_loader *loader);
SL_API sl_status sl_loader_begin_epoch (sl_loader *loader, int64_t epoch, sl_error *err);
/* Fills up to max (>= batch_size) images; *n = 0 at the end of the epoch. */
SL_API sl_status sl_loader_next (sl_loader *loader, float *x, int32_t *labels, int max, int *n,
                                 sl_error *err);
/* The sl_batch_source view of the loader (valid while the loader lives). */
SL_API void sl_loader_as_source (sl_loader *loader, sl_batch_source *source);
/* The order of `count` items in pass `epoch` of a shuffling loader with this seed (order[k]
 * is the item at position k), so that a caller holding its own copies of the items (cached
 * features, say) visits them batch for batch as the loader would. */
SL_API void sl_loader_shuffle_order (uint64_t seed, int64_t epoch, int64_t count, int64_t *order);

typedef struct
{
  int64_t cached_images;
  size_t cached_bytes;
  int64_t decoded_images; /* images run through decode + pipeline so far */
  int64_t failed_images;
} sl_loader_stats;

SL_API void sl_loader_get_stats (sl_loader *loader, sl_loader_stats *stats);
/* The i-th failed item (in the order reported) and its message. */
SL_API bool sl_loader_failure (sl_loader *loader, int64_t i, int64_t *item, const char **message);

SL_END_DECLS
