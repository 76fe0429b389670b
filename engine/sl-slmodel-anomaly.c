/* sl-slmodel-anomaly.c: the .slmodel's anomaly scorer, the "anomaly" header object and its bank blob (docs/slmodel-format.md). */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"
#include "sl-model-private.h"
#include "sl-slmodel-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the file names layer k: its name, or "#N" (N its index) when it has none. */
static void
layer_ref (const sl_anomaly_layout *l, int k, char *buf, size_t size)
{
  if (l->names[k] != NULL)
    snprintf (buf, size, "%s", l->names[k]);
  else
    snprintf (buf, size, "#%d", l->layers[k]);
}

sl_status
_sl_slmodel_anomaly_check_save (const sl_model *m, const sl_anomaly *a, sl_error *err)
{
  const sl_anomaly_layout *l = &a->layout;
  sl_status st = _sl_anomaly_check_model (a, m, err);

  if (st != SL_OK)
    return st;
  for (int k = 0; k < l->n_layers; k++)
    {
      char ref[32];

      if (l->names[k] != NULL)
        {
          if (sl_model_find_layer (m, l->names[k]) != l->layers[k])
            return sl_error_set (err, SL_ERR_INVALID,
                                 "the anomaly scorer's layer name '%s' is used by more than one "
                                 "layer",
                                 l->names[k]);
          continue;
        }
      /* An unnamed layer is stored as "#N", which must not also be a name. */
      layer_ref (l, k, ref, sizeof ref);
      if (sl_model_find_layer (m, ref) >= 0)
        return sl_error_set (err, SL_ERR_INVALID,
                             "the anomaly scorer uses the unnamed layer %d, but another layer is "
                             "called '%s'; name layer %d in the model description",
                             l->layers[k], ref, l->layers[k]);
    }
  if (a->bank_size < 1 || a->bank == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "the anomaly scorer has an empty memory bank");
  return SL_OK;
}

cJSON *
_sl_slmodel_anomaly_json (const sl_anomaly *a)
{
  const sl_anomaly_layout *l = &a->layout;
  cJSON *o = cJSON_CreateObject (), *layers, *grid;

  if (o == NULL)
    return NULL;
  cJSON_AddStringToObject (o, "method", "patchcore");
  layers = cJSON_AddArrayToObject (o, "layers");
  for (int k = 0; k < l->n_layers; k++)
    {
      char ref[32];

      layer_ref (l, k, ref, sizeof ref);
      cJSON_AddItemToArray (layers, cJSON_CreateString (l->names[k] != NULL ? l->names[k] : ref));
    }
  grid = cJSON_AddArrayToObject (o, "grid");
  cJSON_AddItemToArray (grid, cJSON_CreateNumber (l->grid_h));
  cJSON_AddItemToArray (grid, cJSON_CreateNumber (l->grid_w));
  cJSON_AddNumberToObject (o, "dims", l->dims);
  cJSON_AddNumberToObject (o, "bank_size", (double) a->bank_size);
  cJSON_AddNumberToObject (o, "smoothing_sigma", a->smoothing_sigma);
  /* JSON has no infinity: null is "no threshold set". */
  if (isfinite (a->threshold))
    cJSON_AddNumberToObject (o, "threshold", a->threshold);
  else
    cJSON_AddNullToObject (o, "threshold");
  cJSON_AddNumberToObject (o, "patches_collected", (double) a->patches_collected);
  cJSON_AddNumberToObject (o, "coreset_ratio", a->coreset_ratio);
  return o;
}

static sl_status
bad (const char *name, sl_error *err, const char *what)
{
  return sl_error_set (err, SL_ERR_FORMAT, "%s: the anomaly scorer%s", name, what);
}

static bool
whole (const cJSON *v, double lo, double hi, int64_t *out)
{
  if (!cJSON_IsNumber (v) || !(v->valuedouble >= lo && v->valuedouble <= hi)
      || v->valuedouble != floor (v->valuedouble))
    return false;
  *out = (int64_t) v->valuedouble;
  return true;
}

/* "#N" for the unnamed layer N, else -1. */
static int
unnamed_layer (const sl_model *m, const char *ref)
{
  long i = 0;

  if (ref[0] != '#' || ref[1] == '\0' || strlen (ref) > 10)
    return -1;
  for (const char *p = ref + 1; *p != '\0'; p++)
    {
      if (*p < '0' || *p > '9')
        return -1;
      i = i * 10 + (*p - '0');
    }
  return i < m->n_nodes && m->nodes[i].name == NULL ? (int) i : -1;
}

/* The layer list: names found in the model ("#N" for an unnamed layer), distinct. */
static sl_status
read_layers (const cJSON *o, const sl_model *m, const char *name, int32_t *layers, int32_t *n,
             sl_error *err)
{
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive (o, "layers"), *v;
  char msg[200];

  *n = 0;
  if (!cJSON_IsArray (arr) || cJSON_GetArraySize (arr) < 1
      || cJSON_GetArraySize (arr) > SL_ANOMALY_MAX_LAYERS)
    {
      snprintf (msg, sizeof msg, " must name 1 to %d layers", SL_ANOMALY_MAX_LAYERS);
      return bad (name, err, msg);
    }
  cJSON_ArrayForEach (v, arr)
  {
    int i;

    if (!cJSON_IsString (v) || v->valuestring[0] == '\0' || strlen (v->valuestring) > 200)
      return bad (name, err, " names a layer with something other than a name");
    i = sl_model_find_layer (m, v->valuestring);
    if (i < 0)
      i = unnamed_layer (m, v->valuestring);
    if (i < 0)
      {
        snprintf (msg, sizeof msg, " uses layer '%.100s', which the model does not have",
                  v->valuestring);
        return bad (name, err, msg);
      }
    for (int q = 0; q < *n; q++)
      if (layers[q] == i)
        {
          snprintf (msg, sizeof msg, " names layer '%.100s' twice", v->valuestring);
          return bad (name, err, msg);
        }
    layers[(*n)++] = i;
  }
  return SL_OK;
}

sl_status
_sl_slmodel_anomaly_read (const cJSON *o, const sl_model *m, const uint8_t *bank, uint64_t count,
                          const char *name, sl_anomaly **out, sl_error *err)
{
  const cJSON *method = cJSON_GetObjectItemCaseSensitive (o, "method");
  const cJSON *grid = cJSON_GetObjectItemCaseSensitive (o, "grid");
  const cJSON *sigma = cJSON_GetObjectItemCaseSensitive (o, "smoothing_sigma");
  const cJSON *threshold = cJSON_GetObjectItemCaseSensitive (o, "threshold");
  const cJSON *ratio = cJSON_GetObjectItemCaseSensitive (o, "coreset_ratio");
  int32_t layers[SL_ANOMALY_MAX_LAYERS], n_layers;
  int64_t gh, gw, dims, k, collected;
  sl_anomaly *a;
  char msg[200];
  sl_status st;

  *out = NULL;
  if (!cJSON_IsObject (o))
    return bad (name, err, " entry must be a JSON object");
  if (!cJSON_IsString (method) || strcmp (method->valuestring, "patchcore") != 0)
    return sl_error_set (err, SL_ERR_FORMAT,
                         "%s: the anomaly method is not one this runtime knows (it knows "
                         "\"patchcore\"); update the runtime",
                         name);
  st = read_layers (o, m, name, layers, &n_layers, err);
  if (st != SL_OK)
    return st;
  a = calloc (1, sizeof *a);
  if (a == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", name);
  st = _sl_anomaly_layout_init (&a->layout, m, layers, n_layers, err);
  if (st != SL_OK)
    {
      sl_anomaly_free (a);
      if (st != SL_ERR_NOMEM)
        {
          sl_error_prefix (err, "%s: the anomaly scorer does not fit the model", name);
          if (err != NULL)
            err->code = SL_ERR_FORMAT;
          return SL_ERR_FORMAT;
        }
      return st;
    }
  if (!cJSON_IsArray (grid) || cJSON_GetArraySize (grid) != 2
      || !whole (cJSON_GetArrayItem (grid, 0), 1, 1e9, &gh)
      || !whole (cJSON_GetArrayItem (grid, 1), 1, 1e9, &gw) || gh != a->layout.grid_h
      || gw != a->layout.grid_w)
    {
      snprintf (msg, sizeof msg, "'s grid must be [%d, %d], the first layer's output",
                a->layout.grid_h, a->layout.grid_w);
      st = bad (name, err, msg);
    }
  else if (!whole (cJSON_GetObjectItemCaseSensitive (o, "dims"), 1, 1e9, &dims)
           || dims != a->layout.dims)
    {
      snprintf (msg, sizeof msg, "'s dims must be %d, the layers' channels together",
                a->layout.dims);
      st = bad (name, err, msg);
    }
  else if (!whole (cJSON_GetObjectItemCaseSensitive (o, "bank_size"), 1, 1e15, &k))
    st = bad (name, err, "'s bank_size must be a whole number of at least 1");
  else if (count / (uint64_t) dims != (uint64_t) k || count % (uint64_t) dims != 0)
    {
      snprintf (msg, sizeof msg, "'s memory bank blob holds %llu floats, not %lld patches of %lld",
                (unsigned long long) count, (long long) k, (long long) dims);
      st = bad (name, err, msg);
    }
  else if (!cJSON_IsNumber (sigma) || !(sigma->valuedouble > 0.0)
           || sigma->valuedouble > SL_ANOMALY_MAX_SIGMA)
    {
      snprintf (msg, sizeof msg, "'s smoothing_sigma must be above 0 and at most %g",
                (double) SL_ANOMALY_MAX_SIGMA);
      st = bad (name, err, msg);
    }
  else if (!(cJSON_IsNull (threshold)
             || (cJSON_IsNumber (threshold) && isfinite (threshold->valuedouble)
                 && threshold->valuedouble >= 0.0 && threshold->valuedouble <= 3.4e38)))
    st = bad (name, err, "'s threshold must be a distance (a number of 0 or more) or null");
  else if (!whole (cJSON_GetObjectItemCaseSensitive (o, "patches_collected"), (double) k, 1e15,
                   &collected))
    st = bad (name, err, "'s patches_collected must be a whole number no smaller than bank_size");
  else if (!cJSON_IsNumber (ratio) || !(ratio->valuedouble > 0.0 && ratio->valuedouble <= 1.0))
    st = bad (name, err, "'s coreset_ratio must be above 0 and at most 1");
  if (st != SL_OK)
    {
      sl_anomaly_free (a);
      return st;
    }
  a->bank_size = k;
  a->bank = malloc (sizeof (float) * (size_t) count);
  if (a->bank == NULL)
    {
      sl_anomaly_free (a);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", name);
    }
  /* Copied first: the file's bytes need not be aligned for floats. */
  memcpy (a->bank, bank, sizeof (float) * (size_t) count);
  for (uint64_t i = 0; i < count; i++)
    if (!isfinite (a->bank[i]))
      {
        sl_anomaly_free (a);
        return bad (name, err, "'s memory bank holds a value that is not a finite number");
      }
  if (!_sl_anomaly_compute_norms (a))
    {
      sl_anomaly_free (a);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", name);
    }
  a->threshold = cJSON_IsNull (threshold) ? INFINITY : (float) threshold->valuedouble;
  a->smoothing_sigma = (float) sigma->valuedouble;
  a->patches_collected = collected;
  a->coreset_ratio = ratio->valuedouble;
  *out = a;
  return SL_OK;
}
