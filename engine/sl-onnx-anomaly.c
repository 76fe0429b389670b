/* sl-onnx-anomaly.c: an anomaly model as one ONNX graph: the backbone up to the scorer's layers, then
 * PatchCore's pooling, resize, nearest bank patch, image score and smoothed map. */
#include "sl-layer-onnx-private.h"
#include "sl-anomaly-private.h"
#include "sl-error-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  const sl_anomaly *a;
  sl_onnx_builder *b;
  const char *shape; /* the features' Shape, made once */
} scorer;

/* A tensor name of the scorer's own: "anomaly." + base, made unique. */
static const char *
name_of (scorer *s, const char *base)
{
  char full[96];

  snprintf (full, sizeof full, "anomaly.%s", base);
  return _sl_onnx_unique_name (s->b, full);
}

static const char *
node (scorer *s, const char *op, const char *const *ins, int n, const char *out)
{
  return _sl_onnx_add_node (s->b, op, ins, n, out) != NULL ? out : NULL;
}

static const char *
ints_const (scorer *s, const char *base, const int64_t *v, int64_t n)
{
  const char *name = name_of (s, base);

  _sl_onnx_add_int64s (s->b, name, &n, 1, v);
  return name;
}

/* A float constant copied into the builder (its data must outlive it). */
static const char *
floats_const (scorer *s, const char *base, const int64_t *dims, int n_dims, const float *v)
{
  const char *name = name_of (s, base);
  size_t count = 1;
  float *copy;

  for (int k = 0; k < n_dims; k++)
    count *= (size_t) dims[k];
  copy = _sl_onnx_alloc (s->b, sizeof (float) * (count > 0 ? count : 1));
  if (copy != NULL)
    {
      memcpy (copy, v, sizeof (float) * count);
      _sl_onnx_add_floats (s->b, name, dims, n_dims, copy);
    }
  return name;
}

/* [x's first `keep` dimensions..., tail...]: a Resize's sizes for any batch. */
static const char *
sizes_of (scorer *s, const char *x, int keep, const int64_t *tail, int n_tail, const char *base)
{
  static const int64_t zero = 0;
  const int64_t end = keep;
  const char *shape = node (s, "Shape", &x, 1, name_of (s, "shape"));
  const char *starts = ints_const (s, "slice.start", &zero, 1);
  const char *ends = ints_const (s, "slice.end", &end, 1);
  const char *head
      = node (s, "Slice", (const char *[]){ shape, starts, ends }, 3, name_of (s, "shape.head"));
  const char *rest = ints_const (s, "size.tail", tail, n_tail);
  const char *sizes = name_of (s, base);

  _sl_onnx_attr_int (s->b,
                     _sl_onnx_add_node (s->b, "Concat", (const char *[]){ head, rest }, 2, sizes),
                     "axis", 0);
  return sizes;
}

/* Bilinear resize with half-pixel centres (torch align_corners=False) to h x w. */
static const char *
resize (scorer *s, const char *x, int keep, const int64_t *tail, int n_tail, const char *out)
{
  const char *sizes = sizes_of (s, x, keep, tail, n_tail, "resize.sizes");
  Onnx__NodeProto *n
      = _sl_onnx_add_node (s->b, "Resize", (const char *[]){ x, "", "", sizes }, 4, out);

  _sl_onnx_attr_string (s->b, n, "mode", "linear");
  _sl_onnx_attr_string (s->b, n, "coordinate_transformation_mode", "half_pixel");
  return out;
}

/* Step 2, 3x3 mean with zeros counted; step 3, deeper layers resized to the
 * grid; then the channels concatenated: [N, D, gh, gw]. */
static const char *
patch_features (scorer *s, const sl_onnx_tensor *outs)
{
  static const int64_t kernel[2] = { 3, 3 }, strides[2] = { 1, 1 }, pads[4] = { 1, 1, 1, 1 };
  const sl_anomaly_layout *l = &s->a->layout;
  const int64_t grid[2] = { l->grid_h, l->grid_w };
  const char *parts[SL_ANOMALY_MAX_LAYERS];
  const char *features = name_of (s, "features");

  for (int k = 0; k < l->n_layers; k++)
    {
      const char *in = outs[l->layers[k]].name;
      const char *pooled = name_of (s, "pooled");
      Onnx__NodeProto *n = _sl_onnx_add_node (s->b, "AveragePool", &in, 1, pooled);

      _sl_onnx_attr_ints (s->b, n, "kernel_shape", kernel, 2);
      _sl_onnx_attr_ints (s->b, n, "strides", strides, 2);
      _sl_onnx_attr_ints (s->b, n, "pads", pads, 4);
      _sl_onnx_attr_int (s->b, n, "count_include_pad", 1);
      parts[k] = pooled;
      if (l->heights[k] != l->grid_h || l->widths[k] != l->grid_w)
        parts[k] = resize (s, pooled, 2, grid, 2, name_of (s, "resized"));
    }
  if (l->n_layers == 1)
    return parts[0];
  _sl_onnx_attr_int (s->b, _sl_onnx_add_node (s->b, "Concat", parts, l->n_layers, features), "axis",
                     1);
  return features;
}

/* Step 6: each patch's nearest bank patch (argmin of |b|^2 - 2 x.b, as the
 * runtime's GEMM search), then its distance recomputed from the difference:
 * [N, P]. */
static const char *
patch_scores (scorer *s, const char *features)
{
  const sl_anomaly_layout *l = &s->a->layout;
  const int64_t k = s->a->bank_size, d = l->dims, p = _sl_anomaly_layout_patches (l);
  const int64_t to_rows[3] = { 0, d, p }, perm[3] = { 0, 2, 1 }, bank_dims[2] = { k, d };
  const int64_t bank_t_dims[2] = { d, k }, norm_dims[1] = { k }, axes[1] = { 2 };
  const float two = 2.0f;
  float *bank_t = _sl_onnx_alloc (s->b, sizeof (float) * (size_t) (k * d));
  const char *rows, *patches, *bank, *bank_t_name, *dots, *twice, *rank, *nearest, *diff, *d2;
  Onnx__NodeProto *n;

  if (bank_t == NULL)
    return NULL;
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = 0; j < d; j++)
      bank_t[j * k + i] = s->a->bank[i * d + j];
  rows = node (s, "Reshape", (const char *[]){ features, ints_const (s, "rows", to_rows, 3) }, 2,
               name_of (s, "rows"));
  patches = name_of (s, "patches"); /* [N, P, D] */
  _sl_onnx_attr_ints (s->b, _sl_onnx_add_node (s->b, "Transpose", &rows, 1, patches), "perm", perm,
                      3);
  bank = name_of (s, "bank");
  _sl_onnx_add_floats (s->b, bank, bank_dims, 2, s->a->bank);
  bank_t_name = name_of (s, "bank.t");
  _sl_onnx_add_floats (s->b, bank_t_name, bank_t_dims, 2, bank_t);
  dots = node (s, "MatMul", (const char *[]){ patches, bank_t_name }, 2, name_of (s, "dots"));
  twice = node (s, "Mul", (const char *[]){ dots, floats_const (s, "two", NULL, 0, &two) }, 2,
                name_of (s, "dots.twice"));
  rank = node (
      s, "Sub",
      (const char *[]){ floats_const (s, "bank.norms", norm_dims, 1, s->a->bank_norms), twice }, 2,
      name_of (s, "rank"));
  nearest = name_of (s, "nearest");
  n = _sl_onnx_add_node (s->b, "ArgMin", &rank, 1, nearest);
  _sl_onnx_attr_int (s->b, n, "axis", 2);
  _sl_onnx_attr_int (s->b, n, "keepdims", 0);
  n = _sl_onnx_add_node (s->b, "Gather", (const char *[]){ bank, nearest }, 2,
                         name_of (s, "nearest.patch"));
  _sl_onnx_attr_int (s->b, n, "axis", 0);
  diff = node (s, "Sub", (const char *[]){ patches, n != NULL ? n->output[0] : NULL }, 2,
               name_of (s, "diff"));
  d2 = name_of (s, "dist2");
  n = _sl_onnx_add_node (s->b, "ReduceSumSquare", &diff, 1, d2);
  _sl_onnx_attr_ints (s->b, n, "axes", axes, 1);
  _sl_onnx_attr_int (s->b, n, "keepdims", 0);
  return node (s, "Sqrt", &d2, 1, name_of (s, "dist"));
}

/* One pass of the separable Gaussian along `axis` (2: rows of the image
 * vertical, 3: horizontal), border reflect-101 (ONNX Pad "reflect"). */
static const char *
blur_pass (scorer *s, const char *x, int axis, const float *weights, int r, const char *out)
{
  int64_t pads[8] = { 0 }, kernel_dims[4] = { 1, 1, 1, 1 };
  const char *padded = name_of (s, "map.padded");
  Onnx__NodeProto *n;

  pads[axis] = pads[4 + axis] = r;
  kernel_dims[axis] = 2 * r + 1;
  n = _sl_onnx_add_node (s->b, "Pad", (const char *[]){ x, ints_const (s, "map.pads", pads, 8) }, 2,
                         padded);
  _sl_onnx_attr_string (s->b, n, "mode", "reflect");
  return node (s, "Conv",
               (const char *[]){ padded, floats_const (s, "map.gauss", kernel_dims, 4, weights) },
               2, out);
}

/* Step 7: the grid of patch scores resized to the input (half-pixel
 * bilinear), then blurred along rows, then along columns, as the runtime. */
static void
anomaly_map (scorer *s, const char *dist, int h, int w)
{
  const sl_anomaly_layout *l = &s->a->layout;
  const float sigma = s->a->smoothing_sigma;
  const int r = (int) ceilf (4.0f * sigma);
  const int64_t to_grid[4] = { 0, 1, l->grid_h, l->grid_w }, size[2] = { h, w };
  float *weights = _sl_onnx_alloc (s->b, sizeof (float) * (size_t) (2 * r + 1));
  const char *grid, *up, *rows;
  double sum = 0.0;

  if (weights == NULL)
    return;
  for (int t = -r; t <= r; t++)
    sum += exp (-(double) t * t / (2.0 * (double) sigma * sigma));
  for (int t = -r; t <= r; t++)
    weights[t + r] = (float) (exp (-(double) t * t / (2.0 * (double) sigma * sigma)) / sum);
  grid = node (s, "Reshape", (const char *[]){ dist, ints_const (s, "grid", to_grid, 4) }, 2,
               name_of (s, "grid"));
  up = resize (s, grid, 2, size, 2, name_of (s, "map.resized"));
  rows = blur_pass (s, up, 3, weights, r, name_of (s, "map.rows"));
  blur_pass (s, rows, 2, weights, r, "anomaly_map");
}

static void
finish (sl_onnx_exporter *ex, const sl_onnx_tensor *outs, void *user_data)
{
  scorer *s = user_data;
  const sl_anomaly_layout *l = &s->a->layout;
  const int64_t score_dims[1] = { -1 }, map_dims[4] = { -1, 1, l->input_h, l->input_w };
  const int64_t axes[1] = { 1 };
  const char *dist;
  Onnx__NodeProto *n;

  s->b = _sl_onnx_builder_of (ex);
  _sl_onnx_add_value (s->b, true, "anomaly_score", score_dims, 1);
  _sl_onnx_add_value (s->b, true, "anomaly_map", map_dims, 4);
  dist = patch_scores (s, patch_features (s, outs));
  /* The image's score: its largest patch score, before upsampling. */
  n = _sl_onnx_add_node (s->b, "ReduceMax", &dist, 1, "anomaly_score");
  _sl_onnx_attr_ints (s->b, n, "axes", axes, 1);
  _sl_onnx_attr_int (s->b, n, "keepdims", 0);
  anomaly_map (s, dist, l->input_h, l->input_w);
  _sl_onnx_add_metadata (s->b, "labels", "[\"good\",\"anomalous\"]");
  if (isfinite (s->a->threshold))
    {
      char text[32];

      snprintf (text, sizeof text, "%.9g", (double) s->a->threshold);
      _sl_onnx_add_metadata (s->b, "anomaly_threshold", text);
    }
}

sl_status
_sl_onnx_export_anomaly (const sl_model *m, const sl_anomaly *a, const sl_onnx_options *options,
                         const char *path, sl_error *err)
{
  static const char *const outputs[2] = { "anomaly_score", "anomaly_map" };
  sl_onnx_options o;
  sl_onnx_ending ending = { .outputs = outputs, .n_outputs = 2, .finish = finish };
  scorer s = { .a = a };
  sl_status st;
  int r;

  if (m == NULL || a == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "ONNX export: no model or no anomaly scorer");
  if ((st = _sl_anomaly_check_model (a, m, err)) != SL_OK)
    {
      sl_error_prefix (err, "ONNX export");
      return st;
    }
  r = (int) ceilf (4.0f * a->smoothing_sigma);
  if (r >= a->layout.input_h || r >= a->layout.input_w)
    return sl_error_set (
        err, SL_ERR_INVALID,
        "ONNX export: the map's smoothing reaches %d pixels each way, as far as "
        "the %dx%d input or farther, which ONNX's reflecting border cannot "
        "express; use a smaller smoothing sigma (below %g)",
        r, a->layout.input_w, a->layout.input_h,
        (double) ((a->layout.input_h < a->layout.input_w ? a->layout.input_h : a->layout.input_w)
                  - 1)
            / 4.0);
  if (options == NULL)
    sl_onnx_options_init (&o);
  else
    o = *options;
  o.labels = NULL; /* the model's head is unused: its labels are the decisions below */
  for (int k = 0; k < a->layout.n_layers; k++)
    if (a->layout.layers[k] + 1 > ending.end)
      ending.end = a->layout.layers[k] + 1;
  ending.user_data = &s;
  return _sl_onnx_export_with (m, &o, &ending, path, err);
}
