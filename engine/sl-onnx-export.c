/* sl-onnx-export.c: writes a model as an ONNX graph (opset 13): the input normalisation,
 * every layer with its trained weights and running statistics, then a softmax. */
#include "sl-onnx-private.h"
#include "sl-model-private.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An ONNX tensor holding one layer's output for the whole batch. */
typedef struct
{
  const char *name;
  bool flat; /* [N, C] (after flatten, dense) rather than [N, C, H, W] */
} tensor;

typedef struct
{
  sl_onnx_builder b;
  const sl_model *m;
  tensor *outs;         /* per node */
  const char **labels;  /* per node: its name, or e.g. "conv2d_3" */
  tensor input;         /* the normalised image: what the engine calls "input" */
  const char *label;    /* the layer being exported */
  const char *six;      /* relu6's constant, made on first use */
  const char *shape_4d; /* Reshape target [0, -1, 1, 1], made on first use */
} exporter;

void
sl_onnx_options_init (sl_onnx_options *o)
{
  memset (o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  for (int c = 0; c < 3; c++)
    o->std[c] = 1.0f;
}

static const char *
layer_type_name (sl_layer_kind kind)
{
  switch (kind)
    {
      case SL_LAYER_CONV2D: return "conv2d";
      case SL_LAYER_DENSE: return "dense";
      case SL_LAYER_BATCHNORM: return "batchnorm";
      case SL_LAYER_RELU: return "relu";
      case SL_LAYER_RELU6: return "relu6";
      case SL_LAYER_LEAKY_RELU: return "leaky_relu";
      case SL_LAYER_SIGMOID: return "sigmoid";
      case SL_LAYER_MAXPOOL: return "maxpool";
      case SL_LAYER_AVGPOOL: return "avgpool";
      case SL_LAYER_GLOBAL_AVGPOOL: return "global_avgpool";
      case SL_LAYER_FLATTEN: return "flatten";
      case SL_LAYER_DROPOUT: return "dropout";
      case SL_LAYER_ADD: return "add";
    }
  return "layer";
}

/* The name of a tensor the current layer makes: its label (reserved by
 * reserve_labels) for its output, the label and a suffix for the others. */
static const char *
layer_name (exporter *ex, const char *suffix)
{
  size_t a = strlen (ex->label), s = strlen (suffix);
  char *base;

  if (s == 0)
    return ex->label;
  base = sl_onnx_alloc (&ex->b, a + s + 1);
  if (base == NULL)
    return NULL;
  memcpy (base, ex->label, a);
  memcpy (base + a, suffix, s + 1);
  return sl_onnx_unique_name (&ex->b, base);
}

static const char *
add_floats (exporter *ex, const char *suffix, const int64_t *dims, int n_dims, const float *data)
{
  const char *name = layer_name (ex, suffix);

  sl_onnx_add_floats (&ex->b, name, dims, n_dims, data);
  return name;
}

static tensor
input_of (const exporter *ex, const sl_node *n, int k)
{
  return n->inputs[k] == SL_INPUT_NODE ? ex->input : ex->outs[n->inputs[k]];
}

/* Convolutions and pools need NCHW: a flat [N, C] becomes [N, C, 1, 1]. */
static tensor
as_4d (exporter *ex, tensor t)
{
  static const int64_t target[4] = { 0, -1, 1, 1 }, dims[1] = { 4 };
  tensor out = { NULL, false };

  if (!t.flat)
    return t;
  if (ex->shape_4d == NULL)
    {
      ex->shape_4d = sl_onnx_unique_name (&ex->b, "reshape.nchw");
      sl_onnx_add_int64s (&ex->b, ex->shape_4d, dims, 1, target);
    }
  out.name = layer_name (ex, ".nchw");
  sl_onnx_add_node (&ex->b, "Reshape", (const char *[]){ t.name, ex->shape_4d }, 2, out.name);
  return out;
}

/* Gemm needs [N, features]: NCHW is flattened the way the engine stores it. */
static tensor
as_flat (exporter *ex, tensor t, const char *suffix)
{
  tensor out = { NULL, true };

  if (t.flat)
    return t;
  out.name = layer_name (ex, suffix);
  sl_onnx_attr_int (&ex->b, sl_onnx_add_node (&ex->b, "Flatten", &t.name, 1, out.name), "axis", 1);
  return out;
}

static tensor
export_conv (exporter *ex, const sl_node *n)
{
  const sl_conv_desc *g = &n->geom;
  const float *w = ex->m->host_params + n->param_offset;
  const int64_t wdims[4] = { g->out_c, g->in_c / g->groups, g->kh, g->kw }, bdims[1] = { g->out_c };
  const int64_t kernel[2] = { g->kh, g->kw }, strides[2] = { g->sh, g->sw };
  const int64_t pads[4] = { g->ph, g->pw, g->ph, g->pw }, dilations[2] = { g->dh, g->dw };
  tensor x = as_4d (ex, input_of (ex, n, 0)), y = { NULL, false };
  const char *ins[3] = { x.name, add_floats (ex, ".weight", wdims, 4, w), NULL };
  Onnx__NodeProto *node;

  if (n->bias)
    ins[2] = add_floats (ex, ".bias", bdims, 1, w + n->weight_count);
  y.name = layer_name (ex, "");
  node = sl_onnx_add_node (&ex->b, "Conv", ins, n->bias ? 3 : 2, y.name);
  sl_onnx_attr_ints (&ex->b, node, "kernel_shape", kernel, 2);
  sl_onnx_attr_ints (&ex->b, node, "strides", strides, 2);
  sl_onnx_attr_ints (&ex->b, node, "pads", pads, 4);
  sl_onnx_attr_ints (&ex->b, node, "dilations", dilations, 2);
  sl_onnx_attr_int (&ex->b, node, "group", g->groups);
  return y;
}

static tensor
export_dense (exporter *ex, const sl_node *n)
{
  const float *w = ex->m->host_params + n->param_offset;
  const int64_t wdims[2] = { n->units, (int64_t) sl_shape_size (n->in) }, bdims[1] = { n->units };
  tensor x = as_flat (ex, input_of (ex, n, 0), ".flat"), y = { NULL, true };
  const char *ins[3] = { x.name, add_floats (ex, ".weight", wdims, 2, w), NULL };

  if (n->bias)
    ins[2] = add_floats (ex, ".bias", bdims, 1, w + n->weight_count);
  y.name = layer_name (ex, "");
  sl_onnx_attr_int (&ex->b, sl_onnx_add_node (&ex->b, "Gemm", ins, n->bias ? 3 : 2, y.name),
                    "transB", 1);
  return y;
}

/* Inference form: the running statistics, not the batch's. */
static tensor
export_batchnorm (exporter *ex, const sl_node *n)
{
  const float *p = ex->m->host_params + n->param_offset, *s = ex->m->host_state + n->state_offset;
  const int64_t dims[1] = { n->in.c };
  tensor x = input_of (ex, n, 0), y = { NULL, x.flat };
  const char *ins[5] = { x.name };

  /* One call per statement: the initializers keep this order in the file. */
  ins[1] = add_floats (ex, ".weight", dims, 1, p);
  ins[2] = add_floats (ex, ".bias", dims, 1, p + n->in.c);
  ins[3] = add_floats (ex, ".running_mean", dims, 1, s);
  ins[4] = add_floats (ex, ".running_var", dims, 1, s + n->in.c);
  y.name = layer_name (ex, "");
  sl_onnx_attr_float (&ex->b, sl_onnx_add_node (&ex->b, "BatchNormalization", ins, 5, y.name),
                      "epsilon", n->epsilon);
  return y;
}

/* relu6 (x) = 6 - relu (6 - relu (x)): plain Relu and Sub, which every ONNX
 * reader runs (OpenCV 4.6 cannot read opset 13's Clip, whose bounds are
 * inputs). It matches min (max (x, 0), 6) to within one rounding of 6
 * (2.4e-7) and stays exact for large x, unlike relu (x) - relu (x - 6). All
 * relu6 layers share one scalar 6. */
static tensor
export_relu6 (exporter *ex, tensor x)
{
  static const float six = 6.0f;
  const char *r = sl_onnx_unique_name (&ex->b, "relu6.positive");
  const char *d = sl_onnx_unique_name (&ex->b, "relu6.headroom");
  const char *rd = sl_onnx_unique_name (&ex->b, "relu6.headroom_positive");
  tensor y = { layer_name (ex, ""), x.flat };

  if (ex->six == NULL)
    {
      ex->six = sl_onnx_unique_name (&ex->b, "relu6.six");
      sl_onnx_add_floats (&ex->b, ex->six, NULL, 0, &six);
    }
  sl_onnx_add_node (&ex->b, "Relu", (const char *[]){ x.name }, 1, r);
  sl_onnx_add_node (&ex->b, "Sub", (const char *[]){ ex->six, r }, 2, d);
  sl_onnx_add_node (&ex->b, "Relu", (const char *[]){ d }, 1, rd);
  sl_onnx_add_node (&ex->b, "Sub", (const char *[]){ ex->six, rd }, 2, y.name);
  return y;
}

static tensor
export_activation (exporter *ex, const sl_node *n)
{
  tensor x = input_of (ex, n, 0), y = { NULL, x.flat };
  Onnx__NodeProto *node;

  if (n->kind == SL_LAYER_RELU6)
    return export_relu6 (ex, x);
  y.name = layer_name (ex, "");
  node = sl_onnx_add_node (&ex->b,
                           n->kind == SL_LAYER_RELU         ? "Relu"
                           : n->kind == SL_LAYER_LEAKY_RELU ? "LeakyRelu"
                                                            : "Sigmoid",
                           &x.name, 1, y.name);
  if (n->kind == SL_LAYER_LEAKY_RELU)
    sl_onnx_attr_float (&ex->b, node, "alpha", n->slope);
  return y;
}

/* Zero padding as a node of its own. Average pooling then has no padding, so
 * every runtime divides by the window area: OpenCV (4.6 to 5.x) ignores
 * count_include_pad and decides by the producer's name. */
static tensor
pad_with_zeros (exporter *ex, tensor x, const sl_conv_desc *g)
{
  const int64_t pads[8] = { 0, 0, g->ph, g->pw, 0, 0, g->ph, g->pw }, dims[1] = { 8 };
  const char *pads_name = layer_name (ex, ".pads");
  tensor y = { layer_name (ex, ".padded"), false };

  sl_onnx_add_int64s (&ex->b, pads_name, dims, 1, pads);
  sl_onnx_add_node (&ex->b, "Pad", (const char *[]){ x.name, pads_name }, 2, y.name);
  return y;
}

/* Max-pool padding never wins (ONNX pads with -inf, like the engine); average
 * pooling counts padding as zeros and divides by the window area. */
static tensor
export_pool (exporter *ex, const sl_node *n)
{
  const sl_conv_desc *g = &n->geom;
  const bool max = n->kind == SL_LAYER_MAXPOOL, pad_first = !max && (g->ph > 0 || g->pw > 0);
  const int64_t kernel[2] = { g->kh, g->kw }, strides[2] = { g->sh, g->sw };
  const int64_t pads[4] = { g->ph, g->pw, g->ph, g->pw }, no_pads[4] = { 0 };
  tensor x = as_4d (ex, input_of (ex, n, 0)), y = { NULL, false };
  Onnx__NodeProto *node;

  if (pad_first)
    x = pad_with_zeros (ex, x, g);
  y.name = layer_name (ex, "");
  node = sl_onnx_add_node (&ex->b, max ? "MaxPool" : "AveragePool", &x.name, 1, y.name);
  sl_onnx_attr_ints (&ex->b, node, "kernel_shape", kernel, 2);
  sl_onnx_attr_ints (&ex->b, node, "strides", strides, 2);
  sl_onnx_attr_ints (&ex->b, node, "pads", pad_first ? no_pads : pads, 4);
  if (!max)
    sl_onnx_attr_int (&ex->b, node, "count_include_pad", 1);
  return y;
}

static tensor
export_global_avgpool (exporter *ex, const sl_node *n)
{
  tensor x = as_4d (ex, input_of (ex, n, 0)), y = { layer_name (ex, ""), false };

  sl_onnx_add_node (&ex->b, "GlobalAveragePool", &x.name, 1, y.name);
  return y;
}

/* Both addends have the engine shape C x H x W; only their ONNX ranks may differ. */
static tensor
export_add (exporter *ex, const sl_node *n)
{
  tensor a = input_of (ex, n, 0), b = input_of (ex, n, 1), y = { NULL, false };

  if (a.flat != b.flat)
    {
      a = as_4d (ex, a);
      b = as_4d (ex, b);
    }
  y.name = layer_name (ex, "");
  y.flat = a.flat;
  sl_onnx_add_node (&ex->b, "Add", (const char *[]){ a.name, b.name }, 2, y.name);
  return y;
}

static tensor
export_layer (exporter *ex, const sl_node *n)
{
  switch (n->kind)
    {
      case SL_LAYER_CONV2D: return export_conv (ex, n);
      case SL_LAYER_DENSE: return export_dense (ex, n);
      case SL_LAYER_BATCHNORM: return export_batchnorm (ex, n);
      case SL_LAYER_RELU:
      case SL_LAYER_RELU6:
      case SL_LAYER_LEAKY_RELU:
      case SL_LAYER_SIGMOID: return export_activation (ex, n);
      case SL_LAYER_MAXPOOL:
      case SL_LAYER_AVGPOOL: return export_pool (ex, n);
      case SL_LAYER_GLOBAL_AVGPOOL: return export_global_avgpool (ex, n);
      case SL_LAYER_FLATTEN: return as_flat (ex, input_of (ex, n, 0), "");
      case SL_LAYER_DROPOUT: return input_of (ex, n, 0); /* identity at inference */
      case SL_LAYER_ADD: return export_add (ex, n);
    }
  return (tensor){ NULL, false };
}

/* x * scale + bias with scale = 1 / (255 std) and bias = -mean / std, per channel. */
static void
export_normalization (exporter *ex, const sl_onnx_options *o)
{
  const int64_t dims[3] = { ex->m->channels, 1, 1 };
  float *scale = sl_onnx_alloc (&ex->b, sizeof (float) * 3);
  float *bias = sl_onnx_alloc (&ex->b, sizeof (float) * 3);
  const char *scale_name = sl_onnx_unique_name (&ex->b, "normalize.scale");
  const char *bias_name = sl_onnx_unique_name (&ex->b, "normalize.bias");
  const char *scaled = sl_onnx_unique_name (&ex->b, "image.scaled");

  ex->input.name = sl_onnx_unique_name (&ex->b, "input");
  ex->input.flat = false;
  if (scale == NULL || bias == NULL)
    return;
  for (int c = 0; c < ex->m->channels; c++)
    {
      scale[c] = (float) (1.0 / (255.0 * o->std[c]));
      bias[c] = (float) (-(double) o->mean[c] / o->std[c]);
    }
  sl_onnx_add_floats (&ex->b, scale_name, dims, 3, scale);
  sl_onnx_add_floats (&ex->b, bias_name, dims, 3, bias);
  sl_onnx_add_node (&ex->b, "Mul", (const char *[]){ "image", scale_name }, 2, scaled);
  sl_onnx_add_node (&ex->b, "Add", (const char *[]){ scaled, bias_name }, 2, ex->input.name);
}

static void
export_softmax (exporter *ex, tensor logits)
{
  ex->label = "logits";
  logits = as_flat (ex, logits, ".flat");
  sl_onnx_attr_int (&ex->b, sl_onnx_add_node (&ex->b, "Softmax", &logits.name, 1, "probabilities"),
                    "axis", 1);
}

/* Tensor names for the layers' outputs, claimed before anything else: the
 * graph's input and output first, then the names the document gave, then
 * generated ones ("conv2d_3"), made unique if a document name took them. */
static void
reserve_labels (exporter *ex)
{
  const sl_model *m = ex->m;

  sl_onnx_unique_name (&ex->b, "image");
  sl_onnx_unique_name (&ex->b, "probabilities");
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].name != NULL)
      ex->labels[i] = sl_onnx_unique_name (&ex->b, m->nodes[i].name);
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].name == NULL)
      {
        char generated[48];

        snprintf (generated, sizeof generated, "%s_%d", layer_type_name (m->nodes[i].kind), i);
        ex->labels[i] = sl_onnx_unique_name (&ex->b, generated);
      }
}

static void
export_graph (exporter *ex, const sl_onnx_options *o)
{
  const sl_model *m = ex->m;
  const int64_t in_dims[4] = { -1, m->channels, m->height, m->width };
  const int64_t out_dims[2] = { -1, m->classes };

  reserve_labels (ex);
  sl_onnx_add_value (&ex->b, false, "image", in_dims, 4);
  sl_onnx_add_value (&ex->b, true, "probabilities", out_dims, 2);
  export_normalization (ex, o);
  for (int i = 0; i < m->n_nodes && !ex->b.oom; i++)
    {
      ex->label = ex->labels[i];
      ex->outs[i] = export_layer (ex, &m->nodes[i]);
    }
  if (!ex->b.oom)
    export_softmax (ex, ex->outs[m->n_nodes - 1]);
}

static sl_status
add_labels (exporter *ex, const char *const *labels, sl_error *err)
{
  cJSON *array = cJSON_CreateArray ();
  char *text = NULL;
  bool ok = array != NULL;

  for (int i = 0; ok && i < ex->m->classes; i++)
    ok = cJSON_AddItemToArray (array, cJSON_CreateString (labels[i]));
  if (ok)
    text = cJSON_PrintUnformatted (array);
  cJSON_Delete (array);
  if (text == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory writing the class labels");
  sl_onnx_add_metadata (&ex->b, "labels", text);
  free (text);
  return SL_OK;
}

static sl_status
check_normalization (const sl_model *m, const sl_onnx_options *o, sl_error *err)
{
  if (m->channels > 3)
    return sl_error_set (err, SL_ERR_INVALID,
                         "ONNX export: the model takes %d-channel images; export handles 1 to 3 "
                         "channels (one mean and std each)",
                         m->channels);
  for (int c = 0; c < m->channels; c++)
    {
      if (!isfinite (o->mean[c]))
        return sl_error_set (err, SL_ERR_INVALID, "ONNX export: mean[%d] must be a finite number",
                             c);
      if (!isfinite (o->std[c]) || o->std[c] == 0.0f)
        return sl_error_set (err, SL_ERR_INVALID,
                             "ONNX export: std[%d] is %g; it divides the image, so give a finite, "
                             "non-zero number (1 for none)",
                             c, (double) o->std[c]);
      if (!isfinite (1.0 / (255.0 * o->std[c])) || !isfinite ((double) o->mean[c] / o->std[c]))
        return sl_error_set (err, SL_ERR_INVALID,
                             "ONNX export: std[%d] is %g, too small to divide by", c,
                             (double) o->std[c]);
    }
  return SL_OK;
}

static sl_status
check_options (const sl_model *m, const sl_onnx_options *o, sl_error *err)
{
  sl_status st;

  if (o->struct_size < sizeof *o)
    return sl_error_set (err, SL_ERR_INVALID,
                         "ONNX export: call sl_onnx_options_init () before filling the options");
  if ((st = check_normalization (m, o, err)) != SL_OK)
    return st;
  for (int i = 0; o->labels != NULL && i < m->classes; i++)
    if (o->labels[i] == NULL)
      return sl_error_set (err, SL_ERR_INVALID,
                           "ONNX export: labels[%d] is NULL; give one label for each of the %d "
                           "classes",
                           i, m->classes);
  if (o->metadata_json != NULL)
    {
      cJSON *doc = cJSON_ParseWithOpts (o->metadata_json, NULL, true);

      if (doc == NULL)
        return sl_error_set (err, SL_ERR_INVALID,
                             "ONNX export: the metadata is not a valid JSON document");
      cJSON_Delete (doc);
    }
  return SL_OK;
}

static sl_status
export_to (exporter *ex, const sl_onnx_options *o, const char *path, sl_error *err)
{
  sl_status st;

  export_graph (ex, o);
  if (o->labels != NULL && (st = add_labels (ex, o->labels, err)) != SL_OK)
    return st;
  if (o->metadata_json != NULL)
    sl_onnx_add_metadata (&ex->b, "sightline", o->metadata_json);
  st = sl_onnx_builder_write (&ex->b, path, err);
  if (st != SL_OK)
    sl_error_prefix (err, "ONNX export");
  return st;
}

sl_status
sl_model_export_onnx (const sl_model *m, const sl_onnx_options *options, const char *path,
                      sl_error *err)
{
  sl_onnx_options defaults;
  exporter ex = { .m = m };
  sl_status st;

  if (options == NULL)
    {
      sl_onnx_options_init (&defaults);
      options = &defaults;
    }
  if (m == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "ONNX export: no model to export");
  if (path == NULL || path[0] == '\0')
    return sl_error_set (err, SL_ERR_INVALID, "ONNX export: no file name given");
  if ((st = check_options (m, options, err)) != SL_OK)
    return st;
  if ((st = sl_model_pull_host (m, err)) != SL_OK) /* the weights as the device has them */
    return st;
  ex.outs = calloc ((size_t) m->n_nodes, sizeof *ex.outs);
  ex.labels = calloc ((size_t) m->n_nodes, sizeof *ex.labels);
  if (ex.outs == NULL || ex.labels == NULL)
    st = sl_error_set (err, SL_ERR_NOMEM, "out of memory exporting to ONNX");
  else
    {
      sl_onnx_builder_init (&ex.b, m->name);
      st = export_to (&ex, options, path, err);
      sl_onnx_builder_clear (&ex.b);
    }
  free (ex.outs);
  free (ex.labels);
  return st;
}
