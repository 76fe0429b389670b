/* sl-model-json.c: reads, validates and writes model descriptions (docs/model-format.md). */
#include "sl-model-private.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS   4096
#define MAX_DIM      16384
#define MAX_CHANNELS 65536

typedef struct
{
  const char *name;
  sl_layer_kind kind;
  const char *fields; /* allowed keys besides type/name/input, space separated */
} layer_type;

static const layer_type layer_types[] = {
  { "conv2d", SL_LAYER_CONV2D, "filters kernel stride padding dilation groups bias init" },
  { "dense", SL_LAYER_DENSE, "units bias init" },
  { "batchnorm", SL_LAYER_BATCHNORM, "epsilon momentum" },
  { "relu", SL_LAYER_RELU, "" },
  { "relu6", SL_LAYER_RELU6, "" },
  { "leaky_relu", SL_LAYER_LEAKY_RELU, "slope" },
  { "sigmoid", SL_LAYER_SIGMOID, "" },
  { "maxpool", SL_LAYER_MAXPOOL, "size stride padding" },
  { "avgpool", SL_LAYER_AVGPOOL, "size stride padding" },
  { "global_avgpool", SL_LAYER_GLOBAL_AVGPOOL, "" },
  { "flatten", SL_LAYER_FLATTEN, "" },
  { "dropout", SL_LAYER_DROPOUT, "rate" },
  { "add", SL_LAYER_ADD, "inputs" },
};

static const char *
kind_name (sl_layer_kind kind)
{
  for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
    if (layer_types[i].kind == kind)
      return layer_types[i].name;
  return "?";
}

/* Where a message points: "layers[3] (conv2d)". */
typedef struct
{
  sl_error *err;
  int index;
  const char *type;
} where;

#define BAD(w, ...) bad_field (w, __VA_ARGS__)

static sl_status SL_PRINTF (2, 3) bad_field (const where *w, const char *fmt, ...)
{
  char what[192];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  if (w->index >= 0)
    return sl_error_set (w->err, SL_ERR_INVALID, "model description: layers[%d] (%s): %s", w->index,
                         w->type, what);
  return sl_error_set (w->err, SL_ERR_INVALID, "model description: %s", what);
}

static sl_status
get_int (const cJSON *obj, const char *key, int def, int min, int max, int *out, const where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL)
    {
      if (def == INT_MIN)
        return BAD (w, "'%s' is required", key);
      *out = def;
      return SL_OK;
    }
  if (!cJSON_IsNumber (v) || v->valuedouble != floor (v->valuedouble) || v->valuedouble < min
      || v->valuedouble > max)
    return BAD (w, "'%s' must be a whole number from %d to %d", key, min, max);
  *out = (int) v->valuedouble;
  return SL_OK;
}

/* An int, or a [height, width] pair. */
static sl_status
get_pair (const cJSON *obj, const char *key, int def, int min, int max, int out[2], const where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL || cJSON_IsNumber (v))
    {
      sl_status st = get_int (obj, key, def, min, max, &out[0], w);
      out[1] = out[0];
      return st;
    }
  if (cJSON_IsArray (v) && cJSON_GetArraySize (v) == 2)
    {
      for (int i = 0; i < 2; i++)
        {
          const cJSON *e = cJSON_GetArrayItem (v, i);
          if (!cJSON_IsNumber (e) || e->valuedouble != floor (e->valuedouble)
              || e->valuedouble < min || e->valuedouble > max)
            goto bad;
          out[i] = (int) e->valuedouble;
        }
      return SL_OK;
    }
bad:
  return BAD (w, "'%s' must be a whole number from %d to %d or a [height, width] pair of them", key,
              min, max);
}

static sl_status
get_float (const cJSON *obj, const char *key, double def, double min, double max, float *out,
           const where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL)
    {
      *out = (float) def;
      return SL_OK;
    }
  if (!cJSON_IsNumber (v) || !(v->valuedouble >= min && v->valuedouble <= max))
    return BAD (w, "'%s' must be a number from %g to %g", key, min, max);
  *out = (float) v->valuedouble;
  return SL_OK;
}

static sl_status
get_bool (const cJSON *obj, const char *key, bool def, bool *out, const where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL)
    {
      *out = def;
      return SL_OK;
    }
  if (!cJSON_IsBool (v))
    return BAD (w, "'%s' must be true or false", key);
  *out = cJSON_IsTrue (v);
  return SL_OK;
}

static sl_status
get_init (const cJSON *obj, sl_init_kind *out, const where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, "init");

  *out = SL_INIT_HE;
  if (v == NULL)
    return SL_OK;
  if (cJSON_IsString (v) && strcmp (v->valuestring, "he") == 0)
    return SL_OK;
  if (cJSON_IsString (v) && strcmp (v->valuestring, "xavier") == 0)
    {
      *out = SL_INIT_XAVIER;
      return SL_OK;
    }
  return BAD (w, "'init' must be \"he\" or \"xavier\"");
}

static bool
field_allowed (const layer_type *t, const char *key)
{
  size_t len = strlen (key);
  const char *p = t->fields;

  if (!strcmp (key, "type") || !strcmp (key, "name") || !strcmp (key, "input"))
    return true;
  /* An empty key is found everywhere (and never advances the search); one
   * with a space could match two neighbouring names of the list. */
  if (len == 0 || strchr (key, ' ') != NULL)
    return false;
  while ((p = strstr (p, key)) != NULL)
    {
      if ((p == t->fields || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
        return true;
      p += len;
    }
  return false;
}

static int
find_node (const sl_model *m, int upto, const char *name)
{
  if (strcmp (name, "input") == 0)
    return SL_INPUT_NODE;
  for (int i = 0; i < upto; i++)
    if (m->nodes[i].name != NULL && strcmp (m->nodes[i].name, name) == 0)
      return i;
  return INT_MIN;
}

static sl_shape
node_output (const sl_model *m, int index)
{
  if (index == SL_INPUT_NODE)
    return (sl_shape){ m->channels, m->height, m->width };
  return m->nodes[index].out;
}

static int
window_out (int in, int k, int s, int p, int d)
{
  long span = (long) in + 2L * p - (long) d * (k - 1) - 1;

  return span < 0 ? 0 : (int) (span / s + 1);
}

/* Reads "padding": an int, a pair, "same" or "valid". */
static sl_status
get_padding (const cJSON *obj, const int k[2], const int s[2], const int d[2], int out[2],
             const where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, "padding");

  if (cJSON_IsString (v))
    {
      if (strcmp (v->valuestring, "valid") == 0)
        {
          out[0] = out[1] = 0;
          return SL_OK;
        }
      if (strcmp (v->valuestring, "same") != 0)
        return BAD (w, "'padding' must be a number, a pair, \"same\" or \"valid\"");
      for (int i = 0; i < 2; i++)
        {
          int span = d[i] * (k[i] - 1);
          if (s[i] != 1 || span % 2 != 0)
            return BAD (w, "\"same\" padding needs stride 1 and an odd kernel extent");
          out[i] = span / 2;
        }
      return SL_OK;
    }
  return get_pair (obj, "padding", 0, 0, MAX_DIM, out, w);
}

static sl_status
parse_window (const cJSON *obj, sl_node *n, bool conv, const where *w)
{
  int k[2], s[2], p[2], d[2] = { 1, 1 };
  sl_status st;

  if ((st = get_pair (obj, conv ? "kernel" : "size", INT_MIN, 1, MAX_DIM, k, w)) != SL_OK)
    return st;
  /* Pooling windows default to not overlapping. */
  if (!conv && cJSON_GetObjectItemCaseSensitive (obj, "stride") == NULL)
    {
      s[0] = k[0];
      s[1] = k[1];
    }
  else if ((st = get_pair (obj, "stride", 1, 1, MAX_DIM, s, w)) != SL_OK)
    return st;
  if (conv && (st = get_pair (obj, "dilation", 1, 1, MAX_DIM, d, w)) != SL_OK)
    return st;
  if ((st = get_padding (obj, k, s, d, p, w)) != SL_OK)
    return st;
  if (!conv && (p[0] > k[0] / 2 || p[1] > k[1] / 2))
    return BAD (w, "'padding' may be at most half the window size");

  sl_conv_desc *g = &n->geom;
  g->in_c = n->in.c;
  g->in_h = n->in.h;
  g->in_w = n->in.w;
  g->kh = k[0], g->kw = k[1], g->sh = s[0], g->sw = s[1];
  g->ph = p[0], g->pw = p[1], g->dh = d[0], g->dw = d[1];
  g->out_h = window_out (n->in.h, k[0], s[0], p[0], d[0]);
  g->out_w = window_out (n->in.w, k[1], s[1], p[1], d[1]);
  if (g->out_h < 1 || g->out_w < 1)
    return BAD (w, "the %dx%d input is smaller than the %dx%d window", n->in.h, n->in.w,
                d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1);
  return SL_OK;
}

static sl_status
parse_layer (const cJSON *obj, sl_model *m, int index, size_t *params, size_t *state, sl_error *err)
{
  sl_node *n = &m->nodes[index];
  where w = { err, index, "?" };
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (obj, "type");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive (obj, "name");
  const cJSON *input = cJSON_GetObjectItemCaseSensitive (obj, "input");
  const layer_type *t = NULL;
  const cJSON *field;
  sl_status st;

  if (!cJSON_IsObject (obj))
    return BAD (&w, "each layer must be a JSON object");
  if (!cJSON_IsString (type))
    return BAD (&w,
                "'type' is required (one of conv2d, dense, batchnorm, relu, relu6, "
                "leaky_relu, sigmoid, maxpool, avgpool, global_avgpool, flatten, dropout, add)");
  for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
    if (strcmp (layer_types[i].name, type->valuestring) == 0)
      t = &layer_types[i];
  w.type = type->valuestring;
  if (t == NULL)
    return BAD (&w, "unknown layer type '%s'", type->valuestring);
  cJSON_ArrayForEach (field, obj) if (!field_allowed (t, field->string)) return BAD (
      &w, "unknown field '%s'", field->string);
  n->kind = t->kind;

  if (name != NULL)
    {
      if (!cJSON_IsString (name) || name->valuestring[0] == '\0'
          || strcmp (name->valuestring, "input") == 0)
        return BAD (&w, "'name' must be a non-empty string other than \"input\"");
      if (find_node (m, index, name->valuestring) != INT_MIN)
        return BAD (&w, "the name '%s' is already used by an earlier layer", name->valuestring);
      n->name = strdup (name->valuestring);
      if (n->name == NULL)
        return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
    }

  n->n_inputs = 1;
  n->inputs[0] = index - 1;
  if (input != NULL)
    {
      if (!cJSON_IsString (input))
        return BAD (&w, "'input' must be the name of an earlier layer");
      n->inputs[0] = find_node (m, index, input->valuestring);
      if (n->inputs[0] == INT_MIN)
        return BAD (&w, "'input' names '%s', which is not an earlier layer", input->valuestring);
    }
  if (t->kind == SL_LAYER_ADD)
    {
      const cJSON *ins = cJSON_GetObjectItemCaseSensitive (obj, "inputs");

      if (input != NULL || !cJSON_IsArray (ins) || cJSON_GetArraySize (ins) != 2)
        return BAD (&w, "'inputs' must list the names of the two layers to add");
      for (int i = 0; i < 2; i++)
        {
          const cJSON *e = cJSON_GetArrayItem (ins, i);
          if (!cJSON_IsString (e)
              || (n->inputs[i] = find_node (m, index, e->valuestring)) == INT_MIN)
            return BAD (&w, "'inputs'[%d] must name an earlier layer", i);
        }
      n->n_inputs = 2;
    }
  n->in = node_output (m, n->inputs[0]);
  n->out = n->in;

  switch (t->kind)
    {
      case SL_LAYER_CONV2D:
        {
          int filters = 0, groups = 1;

          if ((st = get_int (obj, "filters", INT_MIN, 1, MAX_CHANNELS, &filters, &w)) != SL_OK
              || (st = get_int (obj, "groups", 1, 1, MAX_CHANNELS, &groups, &w)) != SL_OK
              || (st = get_bool (obj, "bias", true, &n->bias, &w)) != SL_OK
              || (st = get_init (obj, &n->init, &w)) != SL_OK
              || (st = parse_window (obj, n, true, &w)) != SL_OK)
            return st;
          if (n->in.c % groups != 0 || filters % groups != 0)
            return BAD (&w,
                        "'groups' (%d) must divide both the input channels (%d) and 'filters' (%d)",
                        groups, n->in.c, filters);
          n->geom.groups = groups;
          n->geom.out_c = filters;
          n->out = (sl_shape){ filters, n->geom.out_h, n->geom.out_w };
          n->weight_count = (size_t) filters * (n->in.c / groups) * n->geom.kh * n->geom.kw;
          n->param_count = n->weight_count + (n->bias ? (size_t) filters : 0);
          break;
        }
      case SL_LAYER_DENSE:
        if ((st = get_int (obj, "units", INT_MIN, 1, 1 << 20, &n->units, &w)) != SL_OK
            || (st = get_bool (obj, "bias", true, &n->bias, &w)) != SL_OK
            || (st = get_init (obj, &n->init, &w)) != SL_OK)
          return st;
        n->out = (sl_shape){ n->units, 1, 1 };
        n->weight_count = (size_t) n->units * sl_shape_size (n->in);
        n->param_count = n->weight_count + (n->bias ? (size_t) n->units : 0);
        break;
      case SL_LAYER_BATCHNORM:
        if ((st = get_float (obj, "epsilon", 1e-5, 1e-12, 1.0, &n->epsilon, &w)) != SL_OK
            || (st = get_float (obj, "momentum", 0.1, 0.0, 1.0, &n->momentum, &w)) != SL_OK)
          return st;
        n->weight_count = n->in.c;
        n->param_count = 2 * (size_t) n->in.c;
        n->state_count = 2 * (size_t) n->in.c;
        break;
      case SL_LAYER_LEAKY_RELU:
        if ((st = get_float (obj, "slope", 0.01, 0.0, 1.0, &n->slope, &w)) != SL_OK)
          return st;
        break;
      case SL_LAYER_MAXPOOL:
      case SL_LAYER_AVGPOOL:
        if ((st = parse_window (obj, n, false, &w)) != SL_OK)
          return st;
        n->geom.groups = 1;
        n->geom.out_c = n->in.c;
        n->out = (sl_shape){ n->in.c, n->geom.out_h, n->geom.out_w };
        break;
      case SL_LAYER_GLOBAL_AVGPOOL: n->out = (sl_shape){ n->in.c, 1, 1 }; break;
      case SL_LAYER_FLATTEN: n->out = (sl_shape){ (int) sl_shape_size (n->in), 1, 1 }; break;
      case SL_LAYER_DROPOUT:
        if ((st = get_float (obj, "rate", 0.5, 0.0, 0.95, &n->rate, &w)) != SL_OK)
          return st;
        break;
      case SL_LAYER_ADD:
        {
          sl_shape b = node_output (m, n->inputs[1]);
          if (b.c != n->in.c || b.h != n->in.h || b.w != n->in.w)
            return BAD (&w, "cannot add a %dx%dx%d output to a %dx%dx%d one", n->in.c, n->in.h,
                        n->in.w, b.c, b.h, b.w);
          break;
        }
      case SL_LAYER_RELU:
      case SL_LAYER_RELU6:
      case SL_LAYER_SIGMOID: break;
    }

  if (sl_shape_size (n->out) > (size_t) 1 << 28 || n->param_count > (size_t) 1 << 30)
    return BAD (&w, "the layer is too large");
  n->param_offset = *params;
  n->state_offset = *state;
  *params += n->param_count;
  *state += n->state_count;
  return SL_OK;
}

void
sl_model_clear_nodes (sl_model *model)
{
  for (int i = 0; i < model->n_nodes; i++)
    free (model->nodes[i].name);
  free (model->nodes);
  free (model->name);
  model->nodes = NULL;
  model->name = NULL;
  model->n_nodes = 0;
}

static sl_status
parse_root (const cJSON *root, sl_model *m, sl_error *err)
{
  where w = { err, -1, NULL };
  const cJSON *name = cJSON_GetObjectItemCaseSensitive (root, "name");
  const cJSON *input = cJSON_GetObjectItemCaseSensitive (root, "input");
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive (root, "layers");
  size_t params = 0, state = 0;
  sl_status st;
  int count;

  if (!cJSON_IsObject (root))
    return BAD (&w, "the document must be a JSON object");
  if (name != NULL && !cJSON_IsString (name))
    return BAD (&w, "'name' must be a string");
  m->name = strdup (name != NULL ? name->valuestring : "custom");
  if (m->name == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
  if (!cJSON_IsObject (input))
    return BAD (&w, "'input' must be an object with channels, height and width");
  if ((st = get_int (input, "channels", INT_MIN, 1, 4096, &m->channels, &w)) != SL_OK
      || (st = get_int (input, "height", INT_MIN, 1, MAX_DIM, &m->height, &w)) != SL_OK
      || (st = get_int (input, "width", INT_MIN, 1, MAX_DIM, &m->width, &w)) != SL_OK)
    {
      sl_error_prefix (err, "in 'input'");
      return st;
    }
  if ((st = get_int (root, "classes", INT_MIN, 2, 100000, &m->classes, &w)) != SL_OK)
    return st;
  if (!cJSON_IsArray (layers) || (count = cJSON_GetArraySize (layers)) < 1)
    return BAD (&w, "'layers' must be a non-empty list");
  if (count > MAX_LAYERS)
    return BAD (&w, "'layers' has %d entries, more than the %d allowed", count, MAX_LAYERS);

  m->nodes = calloc ((size_t) count, sizeof (sl_node));
  if (m->nodes == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
  for (int i = 0; i < count; i++)
    {
      m->n_nodes = i + 1;
      st = parse_layer (cJSON_GetArrayItem (layers, i), m, i, &params, &state, err);
      if (st != SL_OK)
        return st;
    }
  if (sl_shape_size (m->nodes[count - 1].out) != (size_t) m->classes)
    return BAD (&w,
                "the last layer gives %zu values per image but 'classes' is %d; end with "
                "a dense layer of %d units",
                sl_shape_size (m->nodes[count - 1].out), m->classes, m->classes);
  m->n_params = params;
  m->n_state = state;
  return SL_OK;
}

sl_status
sl_model_parse (const char *json, sl_model *model, sl_error *err)
{
  cJSON *root;
  sl_status st;

  if (json == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "model description: no document given");
  root = cJSON_Parse (json);
  if (root == NULL)
    {
      const char *at = cJSON_GetErrorPtr ();
      long offset = at != NULL && at >= json ? (long) (at - json) : -1;
      return sl_error_set (err, SL_ERR_INVALID,
                           "model description: not valid JSON (near character %ld)", offset);
    }
  st = parse_root (root, model, err);
  cJSON_Delete (root);
  if (st != SL_OK)
    sl_model_clear_nodes (model);
  return st;
}

static cJSON *
pair_json (int a, int b)
{
  if (a == b)
    return cJSON_CreateNumber (a);
  cJSON *arr = cJSON_CreateArray ();
  cJSON_AddItemToArray (arr, cJSON_CreateNumber (a));
  cJSON_AddItemToArray (arr, cJSON_CreateNumber (b));
  return arr;
}

/* The shortest decimal that reads back as the same float: 0.1, not 0.100000001. */
static double
tidy_float (float v)
{
  char buf[32];

  for (int digits = 6; digits < 9; digits++)
    {
      snprintf (buf, sizeof buf, "%.*g", digits, (double) v);
      if ((float) strtod (buf, NULL) == v)
        return strtod (buf, NULL);
    }
  return v;
}

static const char *
node_ref (const sl_model *m, int index)
{
  return index == SL_INPUT_NODE ? "input" : m->nodes[index].name;
}

char *
sl_model_serialize (const sl_model *m)
{
  cJSON *root = cJSON_CreateObject (), *input, *layers;
  char *text;

  cJSON_AddStringToObject (root, "name", m->name);
  input = cJSON_AddObjectToObject (root, "input");
  cJSON_AddNumberToObject (input, "channels", m->channels);
  cJSON_AddNumberToObject (input, "height", m->height);
  cJSON_AddNumberToObject (input, "width", m->width);
  cJSON_AddNumberToObject (root, "classes", m->classes);
  layers = cJSON_AddArrayToObject (root, "layers");
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      const sl_conv_desc *g = &n->geom;
      cJSON *l = cJSON_CreateObject ();

      cJSON_AddStringToObject (l, "type", kind_name (n->kind));
      if (n->name != NULL)
        cJSON_AddStringToObject (l, "name", n->name);
      if (n->kind == SL_LAYER_ADD)
        {
          cJSON *ins = cJSON_AddArrayToObject (l, "inputs");
          cJSON_AddItemToArray (ins, cJSON_CreateString (node_ref (m, n->inputs[0])));
          cJSON_AddItemToArray (ins, cJSON_CreateString (node_ref (m, n->inputs[1])));
        }
      else if (n->inputs[0] != i - 1)
        cJSON_AddStringToObject (l, "input", node_ref (m, n->inputs[0]));
      switch (n->kind)
        {
          case SL_LAYER_CONV2D:
            cJSON_AddNumberToObject (l, "filters", g->out_c);
            cJSON_AddItemToObject (l, "kernel", pair_json (g->kh, g->kw));
            cJSON_AddItemToObject (l, "stride", pair_json (g->sh, g->sw));
            cJSON_AddItemToObject (l, "padding", pair_json (g->ph, g->pw));
            cJSON_AddItemToObject (l, "dilation", pair_json (g->dh, g->dw));
            cJSON_AddNumberToObject (l, "groups", g->groups);
            cJSON_AddBoolToObject (l, "bias", n->bias);
            cJSON_AddStringToObject (l, "init", n->init == SL_INIT_HE ? "he" : "xavier");
            break;
          case SL_LAYER_DENSE:
            cJSON_AddNumberToObject (l, "units", n->units);
            cJSON_AddBoolToObject (l, "bias", n->bias);
            cJSON_AddStringToObject (l, "init", n->init == SL_INIT_HE ? "he" : "xavier");
            break;
          case SL_LAYER_BATCHNORM:
            cJSON_AddNumberToObject (l, "epsilon", tidy_float (n->epsilon));
            cJSON_AddNumberToObject (l, "momentum", tidy_float (n->momentum));
            break;
          case SL_LAYER_LEAKY_RELU:
            cJSON_AddNumberToObject (l, "slope", tidy_float (n->slope));
            break;
          case SL_LAYER_MAXPOOL:
          case SL_LAYER_AVGPOOL:
            cJSON_AddItemToObject (l, "size", pair_json (g->kh, g->kw));
            cJSON_AddItemToObject (l, "stride", pair_json (g->sh, g->sw));
            cJSON_AddItemToObject (l, "padding", pair_json (g->ph, g->pw));
            break;
          case SL_LAYER_DROPOUT: cJSON_AddNumberToObject (l, "rate", tidy_float (n->rate)); break;
          default: break;
        }
      cJSON_AddItemToArray (layers, l);
    }
  text = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  return text;
}
