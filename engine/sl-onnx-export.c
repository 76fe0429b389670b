/* sl-onnx-export.c: writes a model as an ONNX graph (opset 13): the input normalisation,
 * every layer with its trained weights and running statistics, then a softmax. */
#include "sl-layer-onnx-private.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sl_onnx_exporter exporter;
typedef sl_onnx_tensor tensor;

struct sl_onnx_exporter
{
  sl_onnx_builder b;
  const sl_model *m;
  tensor *outs;         /* per node */
  const char **labels;  /* per node: its name, or e.g. "conv2d_3" */
  tensor input;         /* the normalised image: what the engine calls "input" */
  const char *label;    /* the layer being exported */
  const char *six;      /* relu6's constant, made on first use */
  const char *shape_4d; /* Reshape target [0, -1, 1, 1], made on first use */
};

void
sl_onnx_options_init (sl_onnx_options *o)
{
  memset (o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  for (int c = 0; c < 3; c++)
    o->std[c] = 1.0f;
}

/* The name of a tensor the current layer makes: its label (reserved by
 * reserve_labels) for its output, the label and a suffix for the others. */
const char *
_sl_onnx_layer_name (exporter *ex, const char *suffix)
{
  size_t a = strlen (ex->label), s = strlen (suffix);
  char *base;

  if (s == 0)
    return ex->label;
  base = _sl_onnx_alloc (&ex->b, a + s + 1);
  if (base == NULL)
    return NULL;
  memcpy (base, ex->label, a);
  memcpy (base + a, suffix, s + 1);
  return _sl_onnx_unique_name (&ex->b, base);
}

const char *
_sl_onnx_add_weights (exporter *ex, const char *suffix, const int64_t *dims, int n_dims,
                      const float *data)
{
  const char *name = _sl_onnx_layer_name (ex, suffix);

  _sl_onnx_add_floats (&ex->b, name, dims, n_dims, data);
  return name;
}

tensor
_sl_onnx_input_of (const exporter *ex, const sl_node *n, int k)
{
  return n->inputs[k] == SL_INPUT_NODE ? ex->input : ex->outs[n->inputs[k]];
}

/* Convolutions and pools need NCHW: a flat [N, C] becomes [N, C, 1, 1]. */
tensor
_sl_onnx_as_4d (exporter *ex, tensor t)
{
  static const int64_t target[4] = { 0, -1, 1, 1 }, dims[1] = { 4 };
  tensor out = { NULL, false };

  if (!t.flat)
    return t;
  if (ex->shape_4d == NULL)
    {
      ex->shape_4d = _sl_onnx_unique_name (&ex->b, "reshape.nchw");
      _sl_onnx_add_int64s (&ex->b, ex->shape_4d, dims, 1, target);
    }
  out.name = _sl_onnx_layer_name (ex, ".nchw");
  _sl_onnx_add_node (&ex->b, "Reshape", (const char *[]){ t.name, ex->shape_4d }, 2, out.name);
  return out;
}

/* Gemm needs [N, features]: NCHW is flattened the way the engine stores it. */
tensor
_sl_onnx_as_flat (exporter *ex, tensor t, const char *suffix)
{
  tensor out = { NULL, true };

  if (t.flat)
    return t;
  out.name = _sl_onnx_layer_name (ex, suffix);
  _sl_onnx_attr_int (&ex->b, _sl_onnx_add_node (&ex->b, "Flatten", &t.name, 1, out.name), "axis",
                     1);
  return out;
}

sl_onnx_builder *
_sl_onnx_builder_of (exporter *ex)
{
  return &ex->b;
}

const float *
_sl_onnx_params (const exporter *ex, const sl_node *n)
{
  return ex->m->host_params + n->param_offset;
}

const float *
_sl_onnx_state (const exporter *ex, const sl_node *n)
{
  return ex->m->host_state + n->state_offset;
}

const char *
_sl_onnx_six (exporter *ex)
{
  static const float six = 6.0f;

  if (ex->six == NULL)
    {
      ex->six = _sl_onnx_unique_name (&ex->b, "relu6.six");
      _sl_onnx_add_floats (&ex->b, ex->six, NULL, 0, &six);
    }
  return ex->six;
}

/* x * scale + bias with scale = 1 / (255 std) and bias = -mean / std, per channel. */
static void
export_normalization (exporter *ex, const sl_onnx_options *o)
{
  const int64_t dims[3] = { ex->m->channels, 1, 1 };
  float *scale = _sl_onnx_alloc (&ex->b, sizeof (float) * 3);
  float *bias = _sl_onnx_alloc (&ex->b, sizeof (float) * 3);
  const char *scale_name = _sl_onnx_unique_name (&ex->b, "normalize.scale");
  const char *bias_name = _sl_onnx_unique_name (&ex->b, "normalize.bias");
  const char *scaled = _sl_onnx_unique_name (&ex->b, "image.scaled");

  ex->input.name = _sl_onnx_unique_name (&ex->b, "input");
  ex->input.flat = false;
  if (scale == NULL || bias == NULL)
    return;
  for (int c = 0; c < ex->m->channels; c++)
    {
      scale[c] = (float) (1.0 / (255.0 * o->std[c]));
      bias[c] = (float) (-(double) o->mean[c] / o->std[c]);
    }
  _sl_onnx_add_floats (&ex->b, scale_name, dims, 3, scale);
  _sl_onnx_add_floats (&ex->b, bias_name, dims, 3, bias);
  _sl_onnx_add_node (&ex->b, "Mul", (const char *[]){ "image", scale_name }, 2, scaled);
  _sl_onnx_add_node (&ex->b, "Add", (const char *[]){ scaled, bias_name }, 2, ex->input.name);
}

/* The classifier's ending: "probabilities" [N, classes]. */
static void
export_softmax (exporter *ex, const tensor *outs, void *user_data)
{
  const int64_t out_dims[2] = { -1, ex->m->classes };
  tensor logits = outs[ex->m->n_nodes - 1];

  (void) user_data;
  _sl_onnx_add_value (&ex->b, true, "probabilities", out_dims, 2);
  ex->label = "logits";
  logits = _sl_onnx_as_flat (ex, logits, ".flat");
  _sl_onnx_attr_int (
      &ex->b, _sl_onnx_add_node (&ex->b, "Softmax", &logits.name, 1, "probabilities"), "axis", 1);
}

/* Tensor names for the layers' outputs, claimed before anything else: the
 * graph's input and output first, then the names the document gave, then
 * generated ones ("conv2d_3"), made unique if a document name took them. */
static void
reserve_labels (exporter *ex, const sl_onnx_ending *ending)
{
  const sl_model *m = ex->m;

  _sl_onnx_unique_name (&ex->b, "image");
  for (int k = 0; k < ending->n_outputs; k++)
    _sl_onnx_unique_name (&ex->b, ending->outputs[k]);
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].name != NULL)
      ex->labels[i] = _sl_onnx_unique_name (&ex->b, m->nodes[i].name);
  for (int i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].name == NULL)
      {
        char generated[48];

        snprintf (generated, sizeof generated, "%s_%d", _sl_layer_class (m->nodes[i].kind)->name,
                  i);
        ex->labels[i] = _sl_onnx_unique_name (&ex->b, generated);
      }
}

static void
export_graph (exporter *ex, const sl_onnx_options *o, const sl_onnx_ending *ending)
{
  const sl_model *m = ex->m;
  const int64_t in_dims[4] = { -1, m->channels, m->height, m->width };

  reserve_labels (ex, ending);
  _sl_onnx_add_value (&ex->b, false, "image", in_dims, 4);
  export_normalization (ex, o);
  for (int i = 0; i < ending->end && !ex->b.oom; i++)
    {
      ex->label = ex->labels[i];
      ex->outs[i] = _sl_layer_class (m->nodes[i].kind)->onnx (ex, &m->nodes[i]);
    }
  if (!ex->b.oom)
    ending->finish (ex, ex->outs, ending->user_data);
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
  _sl_onnx_add_metadata (&ex->b, "labels", text);
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
export_to (exporter *ex, const sl_onnx_options *o, const sl_onnx_ending *ending, const char *path,
           sl_error *err)
{
  sl_status st;

  export_graph (ex, o, ending);
  if (o->labels != NULL && (st = add_labels (ex, o->labels, err)) != SL_OK)
    return st;
  if (o->metadata_json != NULL)
    _sl_onnx_add_metadata (&ex->b, "sightline", o->metadata_json);
  st = _sl_onnx_builder_write (&ex->b, path, err);
  if (st != SL_OK)
    sl_error_prefix (err, "ONNX export");
  return st;
}

sl_status
sl_model_export_onnx (const sl_model *m, const sl_onnx_options *options, const char *path,
                      sl_error *err)
{
  static const char *const outputs[1] = { "probabilities" };
  const sl_onnx_ending softmax = {
    .outputs = outputs, .n_outputs = 1, .end = m != NULL ? m->n_nodes : 0, .finish = export_softmax
  };

  return _sl_onnx_export_with (m, options, &softmax, path, err);
}

sl_status
_sl_onnx_export_with (const sl_model *m, const sl_onnx_options *options,
                      const sl_onnx_ending *ending, const char *path, sl_error *err)
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
  if ((st = _sl_model_pull_host (m, err)) != SL_OK) /* the weights as the device has them */
    return st;
  ex.outs = calloc ((size_t) m->n_nodes, sizeof *ex.outs);
  ex.labels = calloc ((size_t) m->n_nodes, sizeof *ex.labels);
  if (ex.outs == NULL || ex.labels == NULL)
    st = sl_error_set (err, SL_ERR_NOMEM, "out of memory exporting to ONNX");
  else
    {
      _sl_onnx_builder_init (&ex.b, m->name);
      st = export_to (&ex, options, ending, path, err);
      _sl_onnx_builder_clear (&ex.b);
    }
  free (ex.outs);
  free (ex.labels);
  return st;
}
