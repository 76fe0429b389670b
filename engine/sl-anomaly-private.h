/* sl-anomaly-private.h: the PatchCore scorer's layout and memory bank, and the steps shared by its files.
 *
 * docs/anomaly.md states the method step by step (CONTRACT steps 1-8); the
 * functions below are those steps, in the order they run. Every array is
 * row-major float32. A patch is one position (y, x) of the grid: dims floats,
 * the layers' channels one after another in layer order. */
#pragma once

#include "sightline.h"
#include "sl-threadpool-private.h"

SL_BEGIN_DECLS

/* Where the features come from: fixed when the fitter starts, stored in the
 * .slmodel by layer name ("anomaly" header object). */
typedef struct
{
  int32_t n_layers;
  int32_t layers[SL_ANOMALY_MAX_LAYERS]; /* node indices in the model */
  char *names[SL_ANOMALY_MAX_LAYERS];    /* their names (owned; NULL for an unnamed layer) */
  int32_t channels[SL_ANOMALY_MAX_LAYERS], heights[SL_ANOMALY_MAX_LAYERS],
      widths[SL_ANOMALY_MAX_LAYERS]; /* each layer's output per image */
  int32_t grid_h, grid_w;            /* layer 0's height and width: the patch grid */
  int32_t dims;                      /* sum of the channels */
  int32_t input_h, input_w;          /* the model's input: the map's size */
} sl_anomaly_layout;

struct sl_anomaly
{
  sl_anomaly_layout layout;
  int64_t bank_size;         /* k >= 1 */
  float *bank;               /* k x dims */
  float *bank_norms;         /* k: |b|^2, summed in double, rounded to float */
  float threshold;           /* +inf until set; anomalous when score > threshold */
  float smoothing_sigma;     /* > 0, in input pixels */
  int64_t patches_collected; /* N: patches the bank was selected from */
  double coreset_ratio;      /* as fitted (0 < r <= 1) */
};

/* Limits a file or caller cannot exceed (checked on load and on fit). */
#define SL_ANOMALY_MAX_DIMS  65536
#define SL_ANOMALY_MAX_SIGMA 64.0f

/* ---- Layout (sl-anomaly-layout.c) ---- */

/* Fills `out` from the model's layers (validated: in range, distinct, with a
 * spatial output; layer 0's grid at least 1 x 1; dims <= SL_ANOMALY_MAX_DIMS).
 * Names are copied. */
sl_status _sl_anomaly_layout_init (sl_anomaly_layout *out, const sl_model *model,
                                   const int32_t *layers, int32_t n_layers, sl_error *err);
sl_status _sl_anomaly_layout_copy (sl_anomaly_layout *dst, const sl_anomaly_layout *src);
void _sl_anomaly_layout_clear (sl_anomaly_layout *layout);
static inline int64_t
_sl_anomaly_layout_patches (const sl_anomaly_layout *l)
{
  return (int64_t) l->grid_h * l->grid_w;
}

/* Checks that `anomaly` fits `model`: each layer index exists, with the
 * stored name (when the layout has one) and shape, and the model's input
 * size is the layout's. SL_ERR_INVALID with the reason. */
sl_status _sl_anomaly_check_model (const sl_anomaly *anomaly, const sl_model *model, sl_error *err);

/* Computes bank_norms from bank; false when out of memory. */
bool _sl_anomaly_compute_norms (sl_anomaly *anomaly);

/* ---- Steps 2-3: patch features (sl-anomaly-features.c) ---- */

/* Scratch floats _sl_anomaly_patch_features needs. */
size_t _sl_anomaly_patch_scratch (const sl_anomaly_layout *layout);
/* The patches of image `image` of the layer outputs (each NCHW, layout's
 * shapes): 3x3 average pooling (stride 1, zero padding, divided by 9),
 * deeper layers resized bilinearly (half-pixel centres) to the grid,
 * channels concatenated. out receives grid_h * grid_w x dims floats. */
void _sl_anomaly_patch_features (const sl_anomaly_layout *layout, const float *const *layer_outs,
                                 int64_t image, float *out, float *scratch);

/* Bilinear resize with half-pixel centres (torch align_corners=False, no
 * antialiasing) of one sh x sw plane to dh x dw. */
void _sl_anomaly_resize_bilinear (const float *src, int sh, int sw, float *dst, int dh, int dw);

/* ---- Step 5: greedy coreset (sl-anomaly-coreset.c) ---- */

/* Squared Euclidean distance as sum of squared differences, in double with
 * 8 partial sums (lanes j % 8) added pairwise: the one definition the coreset
 * and the exact recomputation of nearest distances both use. */
double _sl_anomaly_dist2 (const float *a, const float *b, int32_t dims);

/* Chooses k of the n patches (n x dims): chosen[0] = 0, then each step the
 * patch farthest from those chosen (lowest index on ties). Progress is
 * reported as (chosen so far, k); a false return gives SL_ERR_CANCELLED.
 * Runs on `pool` (NULL: the calling thread). */
sl_status _sl_anomaly_coreset (const float *patches, int64_t n, int32_t dims, int64_t k,
                               sl_threadpool *pool, sl_fit_progress_fn progress, void *user_data,
                               int64_t *chosen, sl_error *err);

/* ---- Step 6: nearest bank patch (sl-anomaly-nearest.c) ---- */

/* For each of the p patches (p x dims), the Euclidean distance to its
 * nearest bank patch: found with GEMM blocks (|x|^2 + |b|^2 - 2 x.b), the
 * winner's distance recomputed exactly with _sl_anomaly_dist2. Working
 * memory is bounded (blocks of rows and bank patches per thread). */
sl_status _sl_anomaly_nearest (const sl_anomaly *anomaly, const float *patches, int64_t p,
                               float *dist, sl_threadpool *pool, sl_error *err);
/* The floats of working memory _sl_anomaly_nearest takes per thread. */
size_t _sl_anomaly_nearest_scratch (void);

/* ---- Step 7: map (sl-anomaly-map.c) ---- */

/* Scratch floats _sl_anomaly_map needs for a map of h x w. */
size_t _sl_anomaly_map_scratch (int h, int w, float sigma);
/* grid (gh x gw patch scores) -> map (h x w): bilinear resize (half-pixel)
 * then a separable Gaussian, radius ceil (4 sigma), weights
 * exp (-t^2 / (2 sigma^2)) normalised to 1, border reflect-101. */
void _sl_anomaly_map (const float *grid, int gh, int gw, float sigma, float *map, int h, int w,
                      float *scratch);

/* ---- Scoring with a thread count (sl-anomaly.c) ---- */

/* sl_anomaly_score_layers on `threads` threads (0: one per core; the
 * runtime passes its model's sl_model_get_threads). */
sl_status _sl_anomaly_score_layers_threads (const sl_anomaly *anomaly,
                                            const float *const *layer_outs, int n, float *scores,
                                            float *maps, int threads, sl_error *err);

/* ---- The fitter's parts, for sl-anomaly-model.c ---- */

sl_model *_sl_anomaly_fitter_model (sl_anomaly_fitter *fitter);
const sl_anomaly_layout *_sl_anomaly_fitter_layout (const sl_anomaly_fitter *fitter);

SL_END_DECLS
