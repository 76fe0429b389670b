/* sl-pipeline-json.c: pipelines to and from JSON, lossless, with errors that name the step and parameter. */
#include "sl-pipeline-private.h"
#include "sl-image-private.h"
#include "sl-error-private.h"
#include "sl-json-private.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Version 2 added the input's "alpha" rule. Files without one are written as
 * version 1, exactly as before, so that older readers still open them; a rule
 * other than "drop" needs version 2, so an older reader refuses the file
 * instead of silently feeding its model different pixels. */
#define SL_PIPELINE_FORMAT_VERSION 2

static const char *const alpha_modes[] = { "drop", "composite", "mask" };

static cJSON *
value_to_json (const sl_param_spec *spec, const sl_param_value *v)
{
  switch (spec->type)
    {
      case SL_PARAM_BOOL: return cJSON_CreateBool (v->number != 0);
      case SL_PARAM_ENUM: return cJSON_CreateString (spec->choices[(int) v->number]);
      case SL_PARAM_RECT:
        {
          const double r[4] = { v->rect.x, v->rect.y, v->rect.width, v->rect.height };

          return _sl_json_exact_array (r, 4);
        }
      case SL_PARAM_INT:
      case SL_PARAM_DOUBLE: break;
    }
  return _sl_json_exact_number (v->number);
}

static cJSON *
floats_to_json (const float *f, int n)
{
  double d[3];

  for (int i = 0; i < n; i++)
    d[i] = f[i];
  return _sl_json_exact_array (d, n);
}

char *
sl_pipeline_to_json (const sl_pipeline *pipeline)
{
  const sl_input_spec *in = &pipeline->input;
  cJSON *root = cJSON_CreateObject (), *input, *steps;
  char *json;

  cJSON_AddNumberToObject (root, "version", pipeline->alpha.mode == SL_ALPHA_DROP ? 1 : 2);
  input = cJSON_AddObjectToObject (root, "input");
  cJSON_AddNumberToObject (input, "width", in->width);
  cJSON_AddNumberToObject (input, "height", in->height);
  cJSON_AddNumberToObject (input, "channels", in->channels);
  cJSON_AddItemToObject (input, "mean", floats_to_json (in->mean, in->channels));
  cJSON_AddItemToObject (input, "std", floats_to_json (in->std, in->channels));
  if (pipeline->alpha.mode != SL_ALPHA_DROP)
    {
      cJSON *alpha = cJSON_AddObjectToObject (input, "alpha"), *bg;

      cJSON_AddStringToObject (alpha, "mode", alpha_modes[pipeline->alpha.mode]);
      bg = cJSON_AddArrayToObject (alpha, "background");
      for (int c = 0; c < 3; c++)
        cJSON_AddItemToArray (bg, cJSON_CreateNumber (pipeline->alpha.background[c]));
    }
  steps = cJSON_AddArrayToObject (root, "steps");
  for (int i = 0; i < pipeline->n_steps; i++)
    {
      const sl_step *s = &pipeline->steps[i];
      cJSON *o = cJSON_CreateObject (), *params;

      cJSON_AddStringToObject (o, "op", s->op->info.id);
      cJSON_AddBoolToObject (o, "enabled", s->enabled);
      params = cJSON_AddObjectToObject (o, "params");
      for (int j = 0; j < s->op->info.n_params; j++)
        cJSON_AddItemToObject (params, s->op->info.params[j].id,
                               value_to_json (&s->op->info.params[j], &s->values[j]));
      cJSON_AddItemToArray (steps, o);
    }
  json = cJSON_Print (root);
  cJSON_Delete (root);
  return json;
}

static sl_status
value_from_json (const sl_param_spec *spec, const cJSON *j, sl_param_value *v, sl_error *err)
{
  switch (spec->type)
    {
      case SL_PARAM_BOOL:
        if (!cJSON_IsBool (j))
          return sl_error_set (err, SL_ERR_INVALID, "parameter '%s' must be true or false",
                               spec->id);
        v->number = cJSON_IsTrue (j) ? 1 : 0;
        return SL_OK;
      case SL_PARAM_ENUM:
        if (cJSON_IsString (j))
          for (int c = 0; spec->choices[c]; c++)
            if (strcmp (spec->choices[c], j->valuestring) == 0)
              {
                v->number = c;
                return SL_OK;
              }
        {
          char list[160] = "";

          for (int c = 0; spec->choices[c]; c++)
            {
              strncat (list, c ? ", " : "", sizeof list - strlen (list) - 1);
              strncat (list, spec->choices[c], sizeof list - strlen (list) - 1);
            }
          return sl_error_set (err, SL_ERR_INVALID, "parameter '%s' must be one of: %s", spec->id,
                               list);
        }
      case SL_PARAM_RECT:
        {
          double r[4];

          if (!cJSON_IsArray (j) || cJSON_GetArraySize (j) != 4)
            return sl_error_set (err, SL_ERR_INVALID,
                                 "parameter '%s' must be [x, y, width, height]", spec->id);
          for (int i = 0; i < 4; i++)
            {
              const cJSON *e = cJSON_GetArrayItem (j, i);

              if (!cJSON_IsNumber (e))
                return sl_error_set (err, SL_ERR_INVALID,
                                     "parameter '%s' must be [x, y, width, height]", spec->id);
              r[i] = e->valuedouble;
            }
          v->rect = (sl_rect){ r[0], r[1], r[2], r[3] };
          return sl_param_check (spec, v, err);
        }
      case SL_PARAM_INT:
      case SL_PARAM_DOUBLE: break;
    }
  if (!cJSON_IsNumber (j))
    return sl_error_set (err, SL_ERR_INVALID, "parameter '%s' must be a number", spec->id);
  v->number = j->valuedouble;
  return sl_param_check (spec, v, err);
}

static sl_status
step_from_json (const cJSON *o, sl_step *step, sl_error *err)
{
  const cJSON *op = cJSON_GetObjectItemCaseSensitive (o, "op");
  const cJSON *enabled = cJSON_GetObjectItemCaseSensitive (o, "enabled");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive (o, "params");
  const cJSON *p;
  const sl_op_info *info;

  if (!cJSON_IsObject (o) || !cJSON_IsString (op))
    return sl_error_set (err, SL_ERR_INVALID, "a step needs an \"op\" name");
  info = sl_op_find (op->valuestring);
  if (info == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "unknown operator '%s'", op->valuestring);
  step->op = sl_op_from_info (info);
  sl_op_defaults (step->op, step->values);
  step->enabled = true;
  if (enabled != NULL)
    {
      if (!cJSON_IsBool (enabled))
        return sl_error_set (err, SL_ERR_INVALID, "\"enabled\" must be true or false");
      step->enabled = cJSON_IsTrue (enabled);
    }
  if (params != NULL && !cJSON_IsObject (params))
    return sl_error_set (err, SL_ERR_INVALID, "\"params\" must be an object");
  cJSON_ArrayForEach (p, params)
  {
    const sl_param_spec *spec = sl_op_find_param (info, p->string);
    sl_status st;

    if (spec == NULL)
      return sl_error_set (err, SL_ERR_INVALID, "unknown parameter '%s'", p->string);
    st = value_from_json (spec, p, &step->values[spec - info->params], err);
    if (st != SL_OK)
      return st;
  }
  return sl_op_check_all (step->op, step->values, err);
}

static sl_status
floats_from_json (const cJSON *a, const char *key, int n, float *out, sl_error *err)
{
  if (a == NULL)
    return SL_OK;
  if (!cJSON_IsArray (a) || cJSON_GetArraySize (a) != n)
    return sl_error_set (err, SL_ERR_INVALID, "input: \"%s\" needs one number per channel (%d)",
                         key, n);
  for (int i = 0; i < n; i++)
    {
      const cJSON *e = cJSON_GetArrayItem (a, i);

      if (!cJSON_IsNumber (e))
        return sl_error_set (err, SL_ERR_INVALID,
                             "input: \"%s\" holds something else than "
                             "numbers",
                             key);
      out[i] = (float) e->valuedouble;
    }
  return SL_OK;
}

static sl_status
int_from_json (const cJSON *o, const char *key, int *out, sl_error *err)
{
  const cJSON *j = cJSON_GetObjectItemCaseSensitive (o, key);

  if (j == NULL)
    return SL_OK;
  /* Range first: converting a double outside int's range is undefined. */
  if (!cJSON_IsNumber (j) || !(j->valuedouble >= INT_MIN && j->valuedouble <= INT_MAX)
      || j->valuedouble != (int) j->valuedouble)
    return sl_error_set (err, SL_ERR_INVALID, "input: \"%s\" must be a whole number", key);
  *out = (int) j->valuedouble;
  return SL_OK;
}

/* "alpha": { "mode": "composite" | "mask" | "drop", "background": [r, g, b] }
 * (background 0..255, default white). No "alpha" at all is the rule of the
 * files written before it existed: drop. */
static sl_status
alpha_from_json (const cJSON *o, sl_alpha_rule *rule, sl_error *err)
{
  const cJSON *mode, *bg;

  rule->mode = SL_ALPHA_DROP;
  memset (rule->background, 255, sizeof rule->background);
  if (o == NULL)
    return SL_OK;
  if (!cJSON_IsObject (o))
    return sl_error_set (err, SL_ERR_INVALID, "input: \"alpha\" must be an object");
  mode = cJSON_GetObjectItemCaseSensitive (o, "mode");
  if (!cJSON_IsString (mode))
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: \"alpha\" needs a \"mode\": composite, mask or drop");
  for (int i = 0; i < 3; i++)
    if (strcmp (mode->valuestring, alpha_modes[i]) == 0)
      rule->mode = (sl_alpha_mode) i;
  if (rule->mode == SL_ALPHA_DROP && strcmp (mode->valuestring, "drop") != 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: the alpha mode \"%.40s\" is not composite, mask or drop",
                         mode->valuestring);
  bg = cJSON_GetObjectItemCaseSensitive (o, "background");
  if (bg == NULL)
    return SL_OK;
  if (!cJSON_IsArray (bg) || cJSON_GetArraySize (bg) != 3)
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: the alpha \"background\" is three levels [red, green, blue]");
  for (int c = 0; c < 3; c++)
    {
      const cJSON *e = cJSON_GetArrayItem (bg, c);

      if (!cJSON_IsNumber (e) || !(e->valuedouble >= 0 && e->valuedouble <= 255)
          || e->valuedouble != (int) e->valuedouble)
        return sl_error_set (err, SL_ERR_INVALID,
                             "input: the alpha \"background\" levels are whole numbers 0..255");
      rule->background[c] = (uint8_t) e->valuedouble;
    }
  return SL_OK;
}

static sl_status
input_from_json (const cJSON *o, sl_input_spec *in, sl_alpha_rule *alpha, sl_error *err)
{
  sl_status st;

  alpha->mode = SL_ALPHA_DROP;
  if (o == NULL)
    return SL_OK;
  if (!cJSON_IsObject (o))
    return sl_error_set (err, SL_ERR_INVALID, "\"input\" must be an object");
  st = int_from_json (o, "width", &in->width, err);
  if (st == SL_OK)
    st = int_from_json (o, "height", &in->height, err);
  if (st == SL_OK)
    st = int_from_json (o, "channels", &in->channels, err);
  if (st == SL_OK && in->channels != 1 && in->channels != 3)
    st = sl_error_set (err, SL_ERR_INVALID, "input: channels must be 1 or 3, not %d", in->channels);
  if (st == SL_OK)
    st = floats_from_json (cJSON_GetObjectItemCaseSensitive (o, "mean"), "mean", in->channels,
                           in->mean, err);
  if (st == SL_OK)
    st = floats_from_json (cJSON_GetObjectItemCaseSensitive (o, "std"), "std", in->channels,
                           in->std, err);
  if (st == SL_OK)
    st = alpha_from_json (cJSON_GetObjectItemCaseSensitive (o, "alpha"), alpha, err);
  return st == SL_OK ? _sl_input_spec_check (in, err) : st;
}

static sl_status
parse (const cJSON *root, sl_pipeline *p, sl_error *err)
{
  const cJSON *version = cJSON_GetObjectItemCaseSensitive (root, "version");
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive (root, "steps");
  const cJSON *s;
  sl_status st;
  int i = 0;

  if (!cJSON_IsObject (root))
    return sl_error_set (err, SL_ERR_INVALID, "a pipeline is a JSON object");
  if (version != NULL && (!cJSON_IsNumber (version) || version->valuedouble < 1))
    return sl_error_set (err, SL_ERR_INVALID, "\"version\" must be a positive number");
  if (version != NULL && version->valuedouble > SL_PIPELINE_FORMAT_VERSION)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the pipeline has format version %g; this Sightline reads up to %d",
                         version->valuedouble, SL_PIPELINE_FORMAT_VERSION);
  st = input_from_json (cJSON_GetObjectItemCaseSensitive (root, "input"), &p->input, &p->alpha,
                        err);
  if (st != SL_OK)
    return st;
  if (steps != NULL && !cJSON_IsArray (steps))
    return sl_error_set (err, SL_ERR_INVALID, "\"steps\" must be an array");
  cJSON_ArrayForEach (s, steps)
  {
    sl_step step;

    i++;
    st = step_from_json (s, &step, err);
    if (st == SL_OK)
      st = _sl_pipeline_append (p, &step, err);
    if (st != SL_OK)
      {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive (s, "op");
        const sl_op_info *info = cJSON_IsString (op) ? sl_op_find (op->valuestring) : NULL;

        if (info)
          sl_error_prefix (err, "step %d (%s)", i, info->name);
        else
          sl_error_prefix (err, "step %d", i);
        return st;
      }
  }
  return SL_OK;
}

sl_status
sl_pipeline_from_json (const char *json, sl_pipeline **out, sl_error *err)
{
  cJSON *root;
  sl_status st;

  *out = NULL;
  if (json == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "no pipeline JSON given");
  root = cJSON_Parse (json);
  if (root == NULL)
    {
      const char *at = cJSON_GetErrorPtr ();

      return sl_error_set (err, SL_ERR_FORMAT, "the pipeline is not valid JSON (near \"%.20s\")",
                           at ? at : "");
    }
  st = sl_pipeline_new (out, err);
  if (st == SL_OK)
    st = parse (root, *out, err);
  cJSON_Delete (root);
  if (st != SL_OK)
    {
      sl_pipeline_free (*out);
      *out = NULL;
    }
  return st;
}

sl_status
sl_pipeline_load (const char *path, sl_pipeline **out, sl_error *err)
{
  uint8_t *buf;
  size_t size;
  char *text;
  sl_status st;

  *out = NULL;
  st = sl_file_read_all (path, 16 << 20, &buf, &size, err);
  if (st != SL_OK)
    return st;
  text = realloc (buf, size + 1);
  if (text == NULL)
    {
      free (buf);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", path);
    }
  text[size] = '\0';
  st = sl_pipeline_from_json (text, out, err);
  free (text);
  if (st != SL_OK)
    sl_error_prefix (err, "%s", path);
  return st;
}

sl_status
sl_pipeline_save (const sl_pipeline *pipeline, const char *path, sl_error *err)
{
  char *json = sl_pipeline_to_json (pipeline);
  sl_status st;

  if (json == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory writing %s", path);
  st = sl_file_write_atomic (path, json, strlen (json), err);
  free (json);
  return st;
}
