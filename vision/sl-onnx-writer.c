/* sl-onnx-writer.c: writing a classifier as ONNX plus the JSON sidecar that says how to feed it. */
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"
#include "sl-onnx-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "dir/part.onnx" -> "dir/part.json"; any other name gets ".json" appended. */
static char *
sidecar_path (const char *path)
{
  size_t len = strlen (path);
  size_t stem = len > 5 && strcmp (path + len - 5, ".onnx") == 0 ? len - 5 : len;
  char *out = malloc (stem + 6);

  if (out != NULL)
    {
      memcpy (out, path, stem);
      memcpy (out + stem, ".json", 6);
    }
  return out;
}

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash != NULL ? slash + 1 : path;
}

static cJSON *
float_array (const float *v, int n)
{
  cJSON *a = cJSON_CreateArray ();

  for (int i = 0; i < n; i++)
    cJSON_AddItemToArray (a, cJSON_CreateNumber (v[i]));
  return a;
}

/* The alpha rule in words and numbers, so that an ONNX user flattens
 * transparent images exactly as the runtime does. */
static void
alpha_to_sidecar (cJSON *input, const sl_pipeline *pipeline)
{
  static const char *const modes[] = { "drop", "composite", "mask" };
  static const char *const rules[] = {
    "discard the alpha channel and keep the colour stored under transparent pixels",
    "out = round ((a * c + (max - a) * b) / max) per colour sample c, with alpha a, max 255 "
    "(8 bit) or 65535 (16 bit) and b the background level (x 257 on 16-bit images)",
    "out = c where alpha >= 128 (8 bit) or 32768 (16 bit), else the background level b "
    "(x 257 on 16-bit images)",
  };
  sl_alpha_rule rule;
  cJSON *alpha = cJSON_AddObjectToObject (input, "alpha"), *bg;

  sl_pipeline_get_alpha (pipeline, &rule);
  cJSON_AddStringToObject (alpha, "mode", modes[rule.mode]);
  bg = cJSON_AddArrayToObject (alpha, "background");
  for (int c = 0; c < 3; c++)
    cJSON_AddItemToArray (bg, cJSON_CreateNumber (rule.background[c]));
  cJSON_AddStringToObject (alpha, "rule", rules[rule.mode]);
  cJSON_AddStringToObject (alpha, "when",
                           "before the first pipeline step, only for images "
                           "with an alpha channel (gray + alpha counts as RGBA)");
}

/* An anomaly model's graph gives a score per image and a map; the decision
 * is the program's, at the threshold the sidecar states. */
static void
anomaly_outputs (cJSON *doc, const sl_classifier *c, const sl_input_spec *spec)
{
  float threshold = sl_classifier_get_anomaly_threshold (c);
  cJSON *outputs, *o, *shape;

  cJSON_AddStringToObject (doc, "kind", "anomaly");
  if (isfinite (threshold))
    cJSON_AddNumberToObject (doc, "threshold", threshold);
  else
    cJSON_AddNullToObject (doc, "threshold");
  cJSON_AddStringToObject (doc, "decision",
                           "anomalous when anomaly_score > threshold, else good (a null "
                           "threshold flags nothing)");
  outputs = cJSON_AddArrayToObject (doc, "outputs");
  o = cJSON_CreateObject ();
  cJSON_AddItemToArray (outputs, o);
  cJSON_AddStringToObject (o, "name", "anomaly_score");
  shape = cJSON_AddArrayToObject (o, "shape");
  cJSON_AddItemToArray (shape, cJSON_CreateString ("batch"));
  cJSON_AddStringToObject (o, "values", "the largest distance of a patch to the memory bank");
  o = cJSON_CreateObject ();
  cJSON_AddItemToArray (outputs, o);
  cJSON_AddStringToObject (o, "name", "anomaly_map");
  shape = cJSON_AddArrayToObject (o, "shape");
  cJSON_AddItemToArray (shape, cJSON_CreateString ("batch"));
  cJSON_AddItemToArray (shape, cJSON_CreateNumber (1));
  cJSON_AddItemToArray (shape, cJSON_CreateNumber (spec->height));
  cJSON_AddItemToArray (shape, cJSON_CreateNumber (spec->width));
  cJSON_AddStringToObject (o, "values",
                           "patch distances upsampled to the input and smoothed, in the units "
                           "of anomaly_score, over the pipeline's output image");
}

/* The model itself: a classifier's graph, or an anomaly model's (backbone and
 * scorer, judged at the classifier's current threshold). */
static sl_status
export_graph (const sl_classifier *c, const sl_onnx_options *o, const char *path, sl_error *err)
{
  sl_anomaly *scorer;
  sl_status st;

  if (sl_classifier_kind (c) != SL_SLMODEL_ANOMALY)
    return sl_model_export_onnx (sl_classifier_model (c), o, path, err);
  scorer = sl_anomaly_copy (sl_classifier_anomaly (c));
  if (scorer == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory exporting %s", path);
  st = sl_anomaly_set_threshold (scorer, sl_classifier_get_anomaly_threshold (c), err);
  if (st == SL_OK)
    st = _sl_onnx_export_anomaly (sl_classifier_model (c), scorer, o, path, err);
  sl_anomaly_free (scorer);
  return st;
}

/* The sidecar: everything a program needs to feed the ONNX graph exactly as
 * Sightline does, taken from the .slmodel header plus the graph's contract. */
static char *
sidecar_json (const sl_classifier *c, const char *onnx_path)
{
  cJSON *header = cJSON_Parse (sl_classifier_header_json (c));
  cJSON *doc = cJSON_CreateObject (), *input, *output, *shape;
  sl_input_spec spec;
  char *text = NULL;
  int classes = sl_classifier_class_count (c);

  if (header == NULL || doc == NULL)
    goto out;
  sl_pipeline_get_input (sl_classifier_pipeline (c), &spec);
  cJSON_AddStringToObject (doc, "format", "sightline-onnx-sidecar");
  cJSON_AddNumberToObject (doc, "format_version", 1);
  cJSON_AddStringToObject (doc, "onnx", base_name (onnx_path));
  input = cJSON_AddObjectToObject (doc, "input");
  cJSON_AddStringToObject (input, "name", "image");
  cJSON_AddStringToObject (input, "dtype", "float32");
  shape = cJSON_AddArrayToObject (input, "shape");
  cJSON_AddItemToArray (shape, cJSON_CreateString ("batch"));
  cJSON_AddItemToArray (shape, cJSON_CreateNumber (spec.channels));
  cJSON_AddItemToArray (shape, cJSON_CreateNumber (spec.height));
  cJSON_AddItemToArray (shape, cJSON_CreateNumber (spec.width));
  cJSON_AddStringToObject (input, "color", spec.channels == 1 ? "gray" : "rgb");
  cJSON_AddStringToObject (input, "values",
                           "the pipeline's 8-bit output as floats 0..255, planar (NCHW)");
  cJSON_AddItemToObject (input, "normalization_in_graph_mean",
                         float_array (spec.mean, spec.channels));
  cJSON_AddItemToObject (input, "normalization_in_graph_std",
                         float_array (spec.std, spec.channels));
  if (sl_classifier_kind (c) == SL_SLMODEL_ANOMALY)
    anomaly_outputs (doc, c, &spec);
  else
    {
      cJSON_AddStringToObject (doc, "kind", "classifier");
      output = cJSON_AddObjectToObject (doc, "output");
      cJSON_AddStringToObject (output, "name", "probabilities");
      shape = cJSON_AddArrayToObject (output, "shape");
      cJSON_AddItemToArray (shape, cJSON_CreateString ("batch"));
      cJSON_AddItemToArray (shape, cJSON_CreateNumber (classes));
    }
  alpha_to_sidecar (input, sl_classifier_pipeline (c));
  cJSON_AddStringToObject (input, "depth_16_to_8",
                           "out = round (v / 257), i.e. floor (v / 257 + 1/2); no sample is "
                           "ever halfway, so the rounding direction of ties does not matter");
  /* Stated exactly: "area when shrinking" left a width that shrinks while the height grows
   * open, and OpenCV DNN on the graph then differed by 0.01 in probability (500x300 to 320). */
  cJSON_AddStringToObject (input, "resize",
                           "OpenCV resize to width x height, stretching: INTER_AREA when neither "
                           "side grows (width <= the image's width and height <= its height), "
                           "else INTER_LINEAR (e.g. 500x300 to 320x320 is INTER_LINEAR)");
  cJSON_AddStringToObject (doc, "outside_the_graph",
                           "decode the image as gray, RGB or RGBA (not BGR), 8 or 16 bit; if it "
                           "has an alpha channel, flatten it by input.alpha; run the pipeline "
                           "steps in order; convert to the input's channels (gray = OpenCV "
                           "RGB2GRAY weights) and to 8 bits by input.depth_16_to_8; and resize to "
                           "width x height by input.resize if the steps did not");
  for (const char *key = "classes"; key != NULL;
       key = strcmp (key, "classes") == 0            ? "reject_threshold"
             : strcmp (key, "reject_threshold") == 0 ? "pipeline"
             : strcmp (key, "pipeline") == 0         ? "provenance"
             : strcmp (key, "provenance") == 0       ? "software"
                                                     : NULL)
    {
      cJSON *item = cJSON_DetachItemFromObjectCaseSensitive (header, key);
      if (item != NULL)
        cJSON_AddItemToObject (doc, key, item);
    }
  if (sl_classifier_anomaly (c) != NULL)
    /* The gate's nearest-neighbour search is not in the graph: say so, so
     * that nobody believes the ONNX file rejects what the .slmodel does. */
    cJSON_AddStringToObject (doc, "anomaly_gate",
                             "not in the ONNX file: the .slmodel carries an anomaly gate that "
                             "rejects images unlike the training images, but this graph gives "
                             "only the class probabilities; run the .slmodel with libsightline "
                             "for the gate");
  text = cJSON_Print (doc);

out:
  cJSON_Delete (header);
  cJSON_Delete (doc);
  return text;
}

sl_status
sl_classifier_export_onnx (const sl_classifier *c, const char *path, sl_error *err)
{
  sl_onnx_options o;
  sl_input_spec spec;
  char *sidecar = NULL, *staged = NULL, *text = NULL, *metadata = NULL;
  const char **labels = NULL;
  int classes;
  sl_status st;

  if (c == NULL || path == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "exporting to ONNX needs a model and a path");
  classes = sl_classifier_class_count (c);
  sidecar = sidecar_path (path);
  text = sidecar_json (c, path);
  labels = malloc (sizeof (char *) * classes);
  if (sidecar == NULL || text == NULL || labels == NULL)
    {
      st = sl_error_set (err, SL_ERR_NOMEM, "out of memory exporting %s", path);
      goto out;
    }
  for (int i = 0; i < classes; i++)
    labels[i] = sl_classifier_class_label (c, i);
  sl_pipeline_get_input (sl_classifier_pipeline (c), &spec);
  sl_onnx_options_init (&o);
  memcpy (o.mean, spec.mean, sizeof o.mean);
  memcpy (o.std, spec.std, sizeof o.std);
  o.labels = labels;
  o.metadata_json = metadata = sl_pipeline_to_json (sl_classifier_pipeline (c));
  /* Both files are written beside their final names first, so a failure
   * leaves any earlier export (graph and sidecar) as it was. */
  staged = malloc (strlen (sidecar) + 8);
  if (staged == NULL)
    {
      st = sl_error_set (err, SL_ERR_NOMEM, "out of memory exporting %s", path);
      goto out;
    }
  strcpy (staged, sidecar);
  strcat (staged, ".staged");
  st = sl_file_write_atomic (staged, text, strlen (text), err);
  if (st == SL_OK)
    st = export_graph (c, &o, path, err);
  if (st == SL_OK && rename (staged, sidecar) != 0)
    st = sl_error_set_errno (err, SL_ERR_IO, "cannot write %s", sidecar);
  if (st != SL_OK)
    remove (staged);

out:
  free (staged);
  free (metadata);
  free (labels);
  free (text);
  free (sidecar);
  return st;
}
