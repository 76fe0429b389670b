/* sl-model-json.c: reads, validates and writes model descriptions (docs/model-format.md). */
#include "sl-layer-private.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 4096

typedef sl_layer_where where;

#define BAD(w, ...) _sl_layer_bad (w, __VA_ARGS__)

static bool
field_allowed (const sl_layer_class *t, const char *key)
{
  size_t len = strlen (key);
  const char *p = t->fields;

  if (!strcmp (key, "type") || !strcmp (key, "name") || !strcmp (key, "input")
      || !strcmp (key, "frozen") || !strcmp (key, "lr_scale"))
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

/* "type": the layer's kind, and no field its kind does not know. */
static sl_status
read_type (const cJSON *obj, sl_node *n, where *w)
{
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (obj, "type");
  const cJSON *field;

  if (!cJSON_IsString (type))
    {
      char types[256];

      _sl_layer_type_list (types, sizeof types);
      return BAD (w, "'type' is required (one of %s)", types);
    }
  w->type = type->valuestring;
  if (!_sl_layer_kind_by_name (type->valuestring, &n->kind))
    return BAD (w, "unknown layer type '%s'", type->valuestring);
  cJSON_ArrayForEach (field, obj)
  {
    if (!field_allowed (_sl_layer_class (n->kind), field->string))
      return BAD (w, "unknown field '%s'", field->string);
  }
  return SL_OK;
}

/* "name": optional, unique, never "input". */
static sl_status
read_name (const cJSON *obj, const sl_model *m, int index, sl_node *n, const where *w)
{
  const cJSON *name = cJSON_GetObjectItemCaseSensitive (obj, "name");

  if (name == NULL)
    return SL_OK;
  if (!cJSON_IsString (name) || name->valuestring[0] == '\0'
      || strcmp (name->valuestring, "input") == 0)
    return BAD (w, "'name' must be a non-empty string other than \"input\"");
  if (find_node (m, index, name->valuestring) != INT_MIN)
    return BAD (w, "the name '%s' is already used by an earlier layer", name->valuestring);
  n->name = strdup (name->valuestring);
  if (n->name == NULL)
    return sl_error_set (w->err, SL_ERR_NOMEM, "out of memory");
  return SL_OK;
}

/* "input" (default: the layer before), or a two-input kind's "inputs". */
static sl_status
read_inputs (const cJSON *obj, const sl_model *m, int index, sl_node *n, const where *w)
{
  const cJSON *input = cJSON_GetObjectItemCaseSensitive (obj, "input");
  const cJSON *ins;

  n->n_inputs = 1;
  n->inputs[0] = index - 1;
  if (input != NULL)
    {
      if (!cJSON_IsString (input))
        return BAD (w, "'input' must be the name of an earlier layer");
      n->inputs[0] = find_node (m, index, input->valuestring);
      if (n->inputs[0] == INT_MIN)
        return BAD (w, "'input' names '%s', which is not an earlier layer", input->valuestring);
    }
  if (_sl_layer_class (n->kind)->n_inputs < 2)
    return SL_OK;
  ins = cJSON_GetObjectItemCaseSensitive (obj, "inputs");
  if (input != NULL || !cJSON_IsArray (ins) || cJSON_GetArraySize (ins) != 2)
    return BAD (w, "'inputs' must list the names of the two layers to add");
  for (int i = 0; i < 2; i++)
    {
      const cJSON *e = cJSON_GetArrayItem (ins, i);
      if (!cJSON_IsString (e) || (n->inputs[i] = find_node (m, index, e->valuestring)) == INT_MIN)
        return BAD (w, "'inputs'[%d] must name an earlier layer", i);
    }
  n->n_inputs = 2;
  return SL_OK;
}

/* The fields every kind has for transfer learning: "frozen" and "lr_scale". */
static sl_status
read_training_fields (const cJSON *obj, sl_node *n, const where *w)
{
  const cJSON *scale = cJSON_GetObjectItemCaseSensitive (obj, "lr_scale");
  sl_status st = _sl_json_bool (obj, "frozen", false, &n->frozen, w);

  if (st != SL_OK)
    return st;
  n->lr_scale = 1.0f;
  if (scale == NULL)
    return SL_OK;
  if (!cJSON_IsNumber (scale) || !(scale->valuedouble > 0.0 && scale->valuedouble <= 100.0))
    return BAD (w, "'lr_scale' must be a number above 0 and at most 100 (it multiplies the "
                   "learning rate of this layer)");
  n->lr_scale = (float) scale->valuedouble;
  return SL_OK;
}

/* Reads layers[index] into m->nodes[index]: its kind, name and inputs, then
 * its kind's fields and shape; it takes the next parameters and state. */
static sl_status
parse_layer (const cJSON *obj, sl_model *m, int index, size_t *params, size_t *state, sl_error *err)
{
  sl_node *n = &m->nodes[index];
  where w = { err, index, "?" };
  const sl_layer_class *c;
  sl_status st;

  if (!cJSON_IsObject (obj))
    return BAD (&w, "each layer must be a JSON object");
  if ((st = read_type (obj, n, &w)) != SL_OK || (st = read_name (obj, m, index, n, &w)) != SL_OK
      || (st = read_inputs (obj, m, index, n, &w)) != SL_OK)
    return st;
  c = _sl_layer_class (n->kind);
  n->in = _sl_layer_input_shape (m, n, 0);
  n->out = n->in;
  if ((st = c->read (obj, n, &w)) != SL_OK || (st = c->shape (m, n, &w)) != SL_OK
      || (st = read_training_fields (obj, n, &w)) != SL_OK)
    return st;
  if (_sl_shape_size (n->out) > (size_t) 1 << 28 || n->param_count > (size_t) 1 << 30)
    return BAD (&w, "the layer is too large");
  n->param_offset = *params;
  n->state_offset = *state;
  *params += n->param_count;
  *state += n->state_count;
  return SL_OK;
}

/* Frozen layers come first; the parameters of the trainable ones then form
 * one block at the end (parse_layer lays parameters out in node order, and
 * the trainer, optimizer and checkpoints rely on that). */
static sl_status
check_frozen_prefix (sl_model *m, sl_error *err)
{
  int count = 0;

  while (count < m->n_nodes && m->nodes[count].frozen)
    count++;
  for (int i = count; i < m->n_nodes; i++)
    if (m->nodes[i].frozen)
      {
        where w = { err, i, _sl_layer_class (m->nodes[i].kind)->name };
        char before[96];

        _sl_model_describe_layer (m, count, before, sizeof before);
        return BAD (&w,
                    "frozen layers must come first, but %s before it is not frozen "
                    "(freeze it too, or unfreeze this one)",
                    before);
      }
  m->n_frozen = count;
  m->trainable_offset = count < m->n_nodes ? m->nodes[count].param_offset : m->n_params;
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      bool ok = i < count ? n->param_offset + n->param_count <= m->trainable_offset
                          : n->param_offset >= m->trainable_offset;
      if (!ok)
        return sl_error_set (err, SL_ERR_INVALID,
                             "model description: layers[%d]: its parameters are not laid out "
                             "in layer order",
                             i);
    }
  return SL_OK;
}

void
_sl_model_clear_nodes (sl_model *model)
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
  if ((st = _sl_json_int (input, "channels", INT_MIN, 1, 4096, &m->channels, &w)) != SL_OK
      || (st = _sl_json_int (input, "height", INT_MIN, 1, SL_LAYER_MAX_DIM, &m->height, &w))
             != SL_OK
      || (st = _sl_json_int (input, "width", INT_MIN, 1, SL_LAYER_MAX_DIM, &m->width, &w)) != SL_OK)
    {
      sl_error_prefix (err, "in 'input'");
      return st;
    }
  if ((st = _sl_json_int (root, "classes", INT_MIN, 2, 100000, &m->classes, &w)) != SL_OK)
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
  if (_sl_shape_size (m->nodes[count - 1].out) != (size_t) m->classes)
    return BAD (&w,
                "the last layer gives %zu values per image but 'classes' is %d; end with "
                "a dense layer of %d units",
                _sl_shape_size (m->nodes[count - 1].out), m->classes, m->classes);
  m->n_params = params;
  m->n_state = state;
  return check_frozen_prefix (m, err);
}

sl_status
_sl_model_parse (const char *json, sl_model *model, sl_error *err)
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
    _sl_model_clear_nodes (model);
  return st;
}

static const char *
node_ref (const sl_model *m, int index)
{
  return index == SL_INPUT_NODE ? "input" : m->nodes[index].name;
}

char *
_sl_model_serialize (const sl_model *m)
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
      cJSON *l = cJSON_CreateObject ();

      cJSON_AddStringToObject (l, "type", _sl_layer_class (n->kind)->name);
      if (n->name != NULL)
        cJSON_AddStringToObject (l, "name", n->name);
      if (n->n_inputs == 2)
        {
          cJSON *ins = cJSON_AddArrayToObject (l, "inputs");
          cJSON_AddItemToArray (ins, cJSON_CreateString (node_ref (m, n->inputs[0])));
          cJSON_AddItemToArray (ins, cJSON_CreateString (node_ref (m, n->inputs[1])));
        }
      else if (n->inputs[0] != i - 1)
        cJSON_AddStringToObject (l, "input", node_ref (m, n->inputs[0]));
      _sl_layer_class (n->kind)->write (n, l);
      if (n->frozen)
        cJSON_AddBoolToObject (l, "frozen", true);
      if (n->lr_scale != 1.0f)
        cJSON_AddNumberToObject (l, "lr_scale", _sl_json_tidy_float (n->lr_scale));
      cJSON_AddItemToArray (layers, l);
    }
  text = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  return text;
}
