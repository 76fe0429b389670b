/* sl-anomaly.c: the PatchCore fitter (collecting patches, the max_patches cap) and scorer handle.
 *
 * Collecting (CONTRACT step 4): patches are kept in order image, y, x. Each
 * image keeps `quota` of its P patches: all of them, or, when the cap
 * max_patches does not allow that, an evenly strided subset whose offset the
 * seed chooses per image (docs/anomaly.md gives the formula). The quota is
 * max_patches / expected_images when the caller says how many images come;
 * when more patches arrive than the cap allows, every second patch collected
 * so far is dropped and the quota halves, so memory stays bounded whatever
 * the caller does. */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"
#include "sl-model-private.h"
#include "sl-rng-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RATIO       0.01
#define DEFAULT_MAX_BANK    16384
#define DEFAULT_MAX_PATCHES 400000
#define DEFAULT_SIGMA       4.0f

struct sl_anomaly_fitter
{
  sl_model *model;
  sl_anomaly_config config;
  sl_anomaly_layout layout;
  float *patches; /* n_patches x dims, room for capacity rows */
  int64_t n_patches, capacity;
  int64_t images; /* images added so far */
  int64_t quota;  /* patches each image keeps, 1 .. P */
  float *image;   /* one image's P x dims patches */
  float *scratch;
};

void
sl_anomaly_config_init (sl_anomaly_config *config)
{
  memset (config, 0, sizeof *config);
  config->struct_size = sizeof *config;
  config->coreset_ratio = DEFAULT_RATIO;
  config->max_bank = DEFAULT_MAX_BANK;
  config->max_patches = DEFAULT_MAX_PATCHES;
  config->smoothing_sigma = DEFAULT_SIGMA;
}

/* ---- Fitter ---------------------------------------------------------------- */

static sl_status
check_config (const sl_anomaly_config *c, sl_error *err)
{
  if (c == NULL || c->struct_size < sizeof (sl_anomaly_config))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the anomaly settings need sl_anomaly_config_init first");
  if (!(c->coreset_ratio > 0.0 && c->coreset_ratio <= 1.0))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the coreset ratio must be above 0 and at most 1 (default 0.01)");
  if (c->max_bank < 1)
    return sl_error_set (err, SL_ERR_INVALID, "the memory bank must allow at least one patch");
  if (c->max_patches < 1)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the fitter must be allowed to collect at least one patch");
  if (c->expected_images < 0)
    return sl_error_set (err, SL_ERR_INVALID, "the expected image count cannot be negative");
  if (!(c->smoothing_sigma > 0.0f && c->smoothing_sigma <= SL_ANOMALY_MAX_SIGMA))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the map's smoothing must be above 0 and at most %g pixels (default 4)",
                         (double) SL_ANOMALY_MAX_SIGMA);
  return SL_OK;
}

sl_status
sl_anomaly_fitter_new (sl_model *model, const sl_anomaly_config *config, sl_anomaly_fitter **out,
                       sl_error *err)
{
  sl_anomaly_fitter *f;
  int32_t layers[SL_ANOMALY_MAX_LAYERS];
  int32_t n_layers;
  int64_t p;
  sl_status st;

  if (out != NULL)
    *out = NULL;
  if (model == NULL || out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_anomaly_fitter_new: missing model or result");
  st = check_config (config, err);
  if (st != SL_OK)
    return st;
  n_layers = config->n_layers;
  memcpy (layers, config->layers, sizeof layers);
  if (n_layers == 0 && (n_layers = sl_anomaly_default_layers (model, layers)) == 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model has no layer at 1/8 of its input's resolution to take patch "
                         "features from; name the layers in the anomaly settings");
  f = calloc (1, sizeof *f);
  if (f == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
  f->model = model;
  f->config = *config;
  st = _sl_anomaly_layout_init (&f->layout, model, layers, n_layers, err);
  if (st != SL_OK)
    {
      free (f);
      return st;
    }
  p = _sl_anomaly_layout_patches (&f->layout);
  f->quota = p;
  if (config->expected_images > 0)
    {
      int64_t q = config->max_patches / config->expected_images;

      f->quota = q < 1 ? 1 : (q > p ? p : q);
    }
  f->image = malloc (sizeof (float) * (size_t) p * f->layout.dims);
  f->scratch = malloc (sizeof (float) * _sl_anomaly_patch_scratch (&f->layout));
  if (f->image == NULL || f->scratch == NULL)
    {
      sl_anomaly_fitter_free (f);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
    }
  *out = f;
  return SL_OK;
}

void
sl_anomaly_fitter_free (sl_anomaly_fitter *f)
{
  if (f == NULL)
    return;
  _sl_anomaly_layout_clear (&f->layout);
  free (f->patches);
  free (f->image);
  free (f->scratch);
  free (f);
}

int64_t
sl_anomaly_fitter_patch_count (const sl_anomaly_fitter *f)
{
  return f != NULL ? f->n_patches : 0;
}

/* Halves what is kept: every second row collected, and the quota. */
static void
halve (sl_anomaly_fitter *f)
{
  const size_t row = (size_t) f->layout.dims;
  int64_t kept = 0;

  for (int64_t r = 0; r < f->n_patches; r += 2)
    memmove (f->patches + (size_t) kept++ * row, f->patches + (size_t) r * row,
             sizeof (float) * row);
  f->n_patches = kept;
  f->quota = f->quota > 1 ? (f->quota + 1) / 2 : 1;
}

static sl_status
reserve (sl_anomaly_fitter *f, int64_t rows, sl_error *err)
{
  int64_t want = f->capacity > 0 ? f->capacity : rows;
  float *grown;

  if (rows <= f->capacity)
    return SL_OK;
  while (want < rows)
    want = want * 2;
  if (want > f->config.max_patches)
    want = f->config.max_patches;
  if (f->config.expected_images > 0 && f->capacity == 0)
    {
      int64_t planned = f->quota * f->config.expected_images;

      if (planned > want && planned <= f->config.max_patches)
        want = planned;
    }
  grown = realloc (f->patches, sizeof (float) * (size_t) want * f->layout.dims);
  if (grown == NULL)
    return sl_error_set (err, SL_ERR_NOMEM,
                         "out of memory collecting patches (%lld); lower the number of patches "
                         "collected (max_patches)",
                         (long long) rows);
  f->patches = grown;
  f->capacity = want;
  return SL_OK;
}

/* Appends image `index`'s kept patches (from f->image). */
static sl_status
keep_image (sl_anomaly_fitter *f, int64_t index, sl_error *err)
{
  const int64_t p = _sl_anomaly_layout_patches (&f->layout);
  const size_t row = (size_t) f->layout.dims;
  sl_status st;

  while (f->n_patches + f->quota > f->config.max_patches)
    halve (f);
  st = reserve (f, f->n_patches + f->quota, err);
  if (st != SL_OK)
    return st;
  if (f->quota == p)
    memcpy (f->patches + (size_t) f->n_patches * row, f->image, sizeof (float) * p * row);
  else
    {
      sl_mix_rng rng = { _sl_mix_seed (f->config.seed, (uint64_t) index) };
      const double stride = (double) p / (double) f->quota;
      const double offset = _sl_mix_rng_uniform (&rng) * stride;

      for (int64_t q = 0; q < f->quota; q++)
        {
          int64_t i = (int64_t) floor (offset + (double) q * stride);

          if (i > p - 1)
            i = p - 1;
          memcpy (f->patches + (size_t) (f->n_patches + q) * row, f->image + (size_t) i * row,
                  sizeof (float) * row);
        }
    }
  f->n_patches += f->quota;
  return SL_OK;
}

sl_status
sl_anomaly_fitter_add_layers (sl_anomaly_fitter *f, const float *const *layer_outs, int n,
                              sl_error *err)
{
  if (f == NULL || n < 0 || (n > 0 && layer_outs == NULL))
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_anomaly_fitter_add_layers: missing fitter or layer outputs");
  for (int k = 0; k < f->layout.n_layers && n > 0; k++)
    if (layer_outs[k] == NULL)
      return sl_error_set (err, SL_ERR_INVALID, "layer output %d is missing", k + 1);
  for (int i = 0; i < n; i++)
    {
      sl_status st;

      _sl_anomaly_patch_features (&f->layout, layer_outs, i, f->image, f->scratch);
      for (size_t v = 0; v < (size_t) _sl_anomaly_layout_patches (&f->layout) * f->layout.dims; v++)
        if (!isfinite (f->image[v]))
          return sl_error_set (err, SL_ERR_INVALID,
                               "image %lld gave features that are not finite numbers; check its "
                               "preprocessing",
                               (long long) f->images + 1);
      st = keep_image (f, f->images, err);
      if (st != SL_OK)
        return st;
      f->images++;
    }
  return SL_OK;
}

bool
_sl_anomaly_compute_norms (sl_anomaly *a)
{
  free (a->bank_norms);
  a->bank_norms = malloc (sizeof (float) * (size_t) a->bank_size);
  if (a->bank_norms == NULL)
    return false;
  for (int64_t b = 0; b < a->bank_size; b++)
    {
      const float *row = a->bank + (size_t) b * a->layout.dims;
      double s = 0.0;

      for (int32_t j = 0; j < a->layout.dims; j++)
        s += (double) row[j] * row[j];
      a->bank_norms[b] = (float) s;
    }
  return true;
}

sl_status
sl_anomaly_fitter_finish (sl_anomaly_fitter *f, sl_fit_progress_fn progress, void *user_data,
                          sl_anomaly **out, sl_error *err)
{
  sl_threadpool *pool = NULL;
  int64_t *chosen = NULL, k;
  sl_anomaly *a = NULL;
  sl_status st;
  double want;

  if (out != NULL)
    *out = NULL;
  if (f == NULL || out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_anomaly_fitter_finish: missing fitter or result");
  if (f->n_patches == 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "no good images were given to fit the anomaly model on");
  want = ceil (f->config.coreset_ratio * (double) f->n_patches);
  k = want < 1.0 ? 1 : (int64_t) want;
  if (k > f->config.max_bank)
    k = f->config.max_bank;
  if (k > f->n_patches)
    k = f->n_patches;
  chosen = malloc (sizeof (int64_t) * (size_t) k);
  a = calloc (1, sizeof *a);
  if (chosen == NULL || a == NULL)
    {
      st = sl_error_set (err, SL_ERR_NOMEM, "out of memory selecting the memory bank");
      goto out;
    }
  st = _sl_threadpool_new (f->model->threads > 0 ? f->model->threads : 1, &pool, err);
  if (st == SL_OK)
    st = _sl_anomaly_coreset (f->patches, f->n_patches, f->layout.dims, k, pool, progress,
                              user_data, chosen, err);
  if (st != SL_OK)
    goto out;
  if (_sl_anomaly_layout_copy (&a->layout, &f->layout) != SL_OK
      || (a->bank = malloc (sizeof (float) * (size_t) k * f->layout.dims)) == NULL)
    {
      st = sl_error_set (err, SL_ERR_NOMEM, "out of memory building the memory bank");
      goto out;
    }
  a->bank_size = k;
  for (int64_t b = 0; b < k; b++)
    memcpy (a->bank + (size_t) b * f->layout.dims, f->patches + (size_t) chosen[b] * f->layout.dims,
            sizeof (float) * f->layout.dims);
  if (!_sl_anomaly_compute_norms (a))
    {
      st = sl_error_set (err, SL_ERR_NOMEM, "out of memory building the memory bank");
      goto out;
    }
  a->threshold = INFINITY;
  a->smoothing_sigma = f->config.smoothing_sigma;
  a->patches_collected = f->n_patches;
  a->coreset_ratio = f->config.coreset_ratio;
  *out = a;
  a = NULL;
out:
  _sl_threadpool_free (pool);
  free (chosen);
  sl_anomaly_free (a);
  return st;
}

/* ---- Scorer ---------------------------------------------------------------- */

void
sl_anomaly_free (sl_anomaly *a)
{
  if (a == NULL)
    return;
  _sl_anomaly_layout_clear (&a->layout);
  free (a->bank);
  free (a->bank_norms);
  free (a);
}

sl_anomaly *
sl_anomaly_copy (const sl_anomaly *src)
{
  sl_anomaly *a;
  size_t floats;

  if (src == NULL)
    return NULL;
  a = calloc (1, sizeof *a);
  if (a == NULL)
    return NULL;
  *a = *src;
  a->bank = a->bank_norms = NULL;
  floats = (size_t) src->bank_size * src->layout.dims;
  if (_sl_anomaly_layout_copy (&a->layout, &src->layout) != SL_OK)
    {
      free (a);
      return NULL;
    }
  a->bank = malloc (sizeof (float) * floats);
  a->bank_norms = malloc (sizeof (float) * (size_t) src->bank_size);
  if (a->bank == NULL || a->bank_norms == NULL)
    {
      sl_anomaly_free (a);
      return NULL;
    }
  memcpy (a->bank, src->bank, sizeof (float) * floats);
  memcpy (a->bank_norms, src->bank_norms, sizeof (float) * (size_t) src->bank_size);
  return a;
}

int32_t
sl_anomaly_layers (const sl_anomaly *a, int32_t *layers)
{
  if (a == NULL)
    return 0;
  if (layers != NULL)
    memcpy (layers, a->layout.layers, sizeof (int32_t) * (size_t) a->layout.n_layers);
  return a->layout.n_layers;
}

int64_t
sl_anomaly_bank_size (const sl_anomaly *a)
{
  return a != NULL ? a->bank_size : 0;
}

int32_t
sl_anomaly_feature_dims (const sl_anomaly *a)
{
  return a != NULL ? a->layout.dims : 0;
}

void
sl_anomaly_grid (const sl_anomaly *a, int32_t *height, int32_t *width)
{
  if (height != NULL)
    *height = a != NULL ? a->layout.grid_h : 0;
  if (width != NULL)
    *width = a != NULL ? a->layout.grid_w : 0;
}

float
sl_anomaly_get_threshold (const sl_anomaly *a)
{
  return a != NULL ? a->threshold : INFINITY;
}

sl_status
sl_anomaly_set_threshold (sl_anomaly *a, float threshold, sl_error *err)
{
  if (a == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_anomaly_set_threshold: no scorer");
  if (isnan (threshold) || threshold < 0.0f)
    return sl_error_set (err, SL_ERR_INVALID,
                         "an anomaly threshold must be a distance (0 or more, or +infinity for "
                         "none)");
  a->threshold = threshold;
  return SL_OK;
}

typedef struct
{
  const sl_anomaly *a;
  int n;
  float *grids; /* n x P patch scores */
  float *maps;
  float *scratch; /* per thread */
  size_t scratch_floats;
} map_job;

static void
map_share (void *ctx, int t, int threads)
{
  map_job *j = ctx;
  const sl_anomaly_layout *l = &j->a->layout;
  long begin, end;

  _sl_split_range (j->n, t, threads, &begin, &end);
  for (long i = begin; i < end; i++)
    _sl_anomaly_map (j->grids + (size_t) i * _sl_anomaly_layout_patches (l), l->grid_h, l->grid_w,
                     j->a->smoothing_sigma, j->maps + (size_t) i * l->input_h * l->input_w,
                     l->input_h, l->input_w, j->scratch + (size_t) t * j->scratch_floats);
}

sl_status
_sl_anomaly_score_layers_threads (const sl_anomaly *a, const float *const *outs, int n,
                                  float *scores, float *maps, int threads, sl_error *err)
{
  const sl_anomaly_layout *l;
  sl_threadpool *pool = NULL;
  float *patches = NULL, *grids = NULL, *scratch = NULL, *map_scratch = NULL;
  int64_t p;
  sl_status st = SL_OK;

  if (a == NULL || n < 0 || (n > 0 && (outs == NULL || scores == NULL)))
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_anomaly_score_layers: missing scorer, layer outputs or scores");
  if (n == 0)
    return SL_OK;
  l = &a->layout;
  for (int k = 0; k < l->n_layers; k++)
    if (outs[k] == NULL)
      return sl_error_set (err, SL_ERR_INVALID, "layer output %d is missing", k + 1);
  p = _sl_anomaly_layout_patches (l);
  if (threads <= 0)
    threads = _sl_cpu_count ();
  patches = malloc (sizeof (float) * (size_t) p * l->dims);
  grids = malloc (sizeof (float) * (size_t) p * n);
  scratch = malloc (sizeof (float) * _sl_anomaly_patch_scratch (l));
  if (patches == NULL || grids == NULL || scratch == NULL)
    {
      st = sl_error_set (err, SL_ERR_NOMEM, "out of memory scoring images");
      goto out;
    }
  st = _sl_threadpool_new (threads, &pool, err);
  for (int i = 0; i < n && st == SL_OK; i++)
    {
      float *grid = grids + (size_t) i * p;

      _sl_anomaly_patch_features (l, outs, i, patches, scratch);
      st = _sl_anomaly_nearest (a, patches, p, grid, pool, err);
      if (st != SL_OK)
        break;
      scores[i] = grid[0];
      for (int64_t q = 1; q < p; q++)
        if (grid[q] > scores[i] || isnan (grid[q]))
          scores[i] = grid[q];
    }
  if (st == SL_OK && maps != NULL)
    {
      map_job j = { .a = a, .n = n, .grids = grids, .maps = maps };

      j.scratch_floats = _sl_anomaly_map_scratch (l->input_h, l->input_w, a->smoothing_sigma);
      map_scratch = malloc (sizeof (float) * j.scratch_floats * (size_t) threads);
      if (map_scratch == NULL)
        st = sl_error_set (err, SL_ERR_NOMEM, "out of memory computing anomaly maps");
      else
        {
          j.scratch = map_scratch;
          _sl_threadpool_run (pool, map_share, &j);
        }
    }
out:
  _sl_threadpool_free (pool);
  free (patches);
  free (grids);
  free (scratch);
  free (map_scratch);
  return st;
}

sl_status
sl_anomaly_score_layers (const sl_anomaly *a, const float *const *outs, int n, float *scores,
                         float *maps, sl_error *err)
{
  return _sl_anomaly_score_layers_threads (a, outs, n, scores, maps, 0, err);
}

sl_model *
_sl_anomaly_fitter_model (sl_anomaly_fitter *f)
{
  return f->model;
}

const sl_anomaly_layout *
_sl_anomaly_fitter_layout (const sl_anomaly_fitter *f)
{
  return &f->layout;
}
