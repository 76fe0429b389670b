/* sl-layer-json.c: reading and writing the fields of a layer's description, and the defaults
 * of kinds that have nothing to do in a step. */
#include "sl-layer-private.h"
#include "sl-error-private.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sl_status SL_PRINTF (2, 3) _sl_layer_bad (const sl_layer_where *w, const char *fmt, ...)
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

sl_status
_sl_json_int (const cJSON *obj, const char *key, int def, int min, int max, int *out,
              const sl_layer_where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL)
    {
      if (def == INT_MIN)
        return _sl_layer_bad (w, "'%s' is required", key);
      *out = def;
      return SL_OK;
    }
  if (!cJSON_IsNumber (v) || v->valuedouble != floor (v->valuedouble) || v->valuedouble < min
      || v->valuedouble > max)
    return _sl_layer_bad (w, "'%s' must be a whole number from %d to %d", key, min, max);
  *out = (int) v->valuedouble;
  return SL_OK;
}

/* An int, or a [height, width] pair. */
static sl_status
get_pair (const cJSON *obj, const char *key, int def, int min, int max, int out[2],
          const sl_layer_where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL || cJSON_IsNumber (v))
    {
      sl_status st = _sl_json_int (obj, key, def, min, max, &out[0], w);
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
  return _sl_layer_bad (
      w, "'%s' must be a whole number from %d to %d or a [height, width] pair of them", key, min,
      max);
}

sl_status
_sl_json_float (const cJSON *obj, const char *key, double def, double min, double max, float *out,
                const sl_layer_where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL)
    {
      *out = (float) def;
      return SL_OK;
    }
  if (!cJSON_IsNumber (v) || !(v->valuedouble >= min && v->valuedouble <= max))
    return _sl_layer_bad (w, "'%s' must be a number from %g to %g", key, min, max);
  *out = (float) v->valuedouble;
  return SL_OK;
}

sl_status
_sl_json_bool (const cJSON *obj, const char *key, bool def, bool *out, const sl_layer_where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (v == NULL)
    {
      *out = def;
      return SL_OK;
    }
  if (!cJSON_IsBool (v))
    return _sl_layer_bad (w, "'%s' must be true or false", key);
  *out = cJSON_IsTrue (v);
  return SL_OK;
}

sl_status
_sl_json_init (const cJSON *obj, sl_init_kind *out, const sl_layer_where *w)
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
  return _sl_layer_bad (w, "'init' must be \"he\" or \"xavier\"");
}

static int
window_out (int in, int k, int s, int p_begin, int p_end, int d)
{
  long span = (long) in + p_begin + p_end - (long) d * (k - 1) - 1;

  return span < 0 ? 0 : (int) (span / s + 1);
}

/* TensorFlow's and ONNX's SAME_UPPER along one axis: out = ceil (in / stride),
 * the padding that needs split with the odd one at the end. */
static void
same_padding (int in, int k, int s, int d, int *begin, int *end)
{
  long out = ((long) in + s - 1) / s;
  long total = (out - 1) * s + (long) (k - 1) * d + 1 - in;

  if (total < 0)
    total = 0;
  *begin = (int) (total / 2);
  *end = (int) (total - total / 2);
}

static bool
whole_in (const cJSON *e, int min, int max)
{
  return cJSON_IsNumber (e) && e->valuedouble == floor (e->valuedouble) && e->valuedouble >= min
         && e->valuedouble <= max;
}

/* Reads "padding" into p = { top, left, bottom, right }: a number, a
 * [height, width] pair, a [top, left, bottom, right] list (ONNX's order),
 * "same" (computed here from the input size) or "valid". */
static sl_status
get_padding (const cJSON *obj, const int k[2], const int s[2], const int d[2], int in_h, int in_w,
             int p[4], bool *same, const sl_layer_where *w)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, "padding");
  const int max = SL_LAYER_MAX_DIM;
  int n;

  *same = false;
  if (v == NULL)
    {
      p[0] = p[1] = p[2] = p[3] = 0;
      return SL_OK;
    }
  if (cJSON_IsString (v) && strcmp (v->valuestring, "valid") == 0)
    {
      p[0] = p[1] = p[2] = p[3] = 0;
      return SL_OK;
    }
  if (cJSON_IsString (v) && strcmp (v->valuestring, "same") == 0)
    {
      same_padding (in_h, k[0], s[0], d[0], &p[0], &p[2]);
      same_padding (in_w, k[1], s[1], d[1], &p[1], &p[3]);
      *same = true;
      return SL_OK;
    }
  if (whole_in (v, 0, max))
    {
      p[0] = p[1] = p[2] = p[3] = (int) v->valuedouble;
      return SL_OK;
    }
  n = cJSON_IsArray (v) ? cJSON_GetArraySize (v) : 0;
  if (n == 2 || n == 4)
    {
      for (int i = 0; i < n; i++)
        if (!whole_in (cJSON_GetArrayItem (v, i), 0, max))
          goto bad;
      for (int i = 0; i < 4; i++)
        p[i] = (int) cJSON_GetArrayItem (v, n == 2 ? i % 2 : i)->valuedouble;
      return SL_OK;
    }
bad:
  return _sl_layer_bad (w,
                        "'padding' must be a whole number from 0 to %d, a [height, width] pair, "
                        "a [top, left, bottom, right] list of them, \"same\" or \"valid\"",
                        max);
}

sl_status
_sl_json_window (const cJSON *obj, sl_node *n, bool conv, const sl_layer_where *w)
{
  int k[2], s[2], p[4], d[2] = { 1, 1 };
  bool same;
  sl_status st;

  if ((st = get_pair (obj, conv ? "kernel" : "size", INT_MIN, 1, SL_LAYER_MAX_DIM, k, w)) != SL_OK)
    return st;
  /* Pooling windows default to not overlapping. */
  if (!conv && cJSON_GetObjectItemCaseSensitive (obj, "stride") == NULL)
    {
      s[0] = k[0];
      s[1] = k[1];
    }
  else if ((st = get_pair (obj, "stride", 1, 1, SL_LAYER_MAX_DIM, s, w)) != SL_OK)
    return st;
  if (conv && (st = get_pair (obj, "dilation", 1, 1, SL_LAYER_MAX_DIM, d, w)) != SL_OK)
    return st;
  if ((st = get_padding (obj, k, s, d, n->in.h, n->in.w, p, &same, w)) != SL_OK)
    return st;
  /* A pooling window must always hold some of the input. */
  if (!conv && (p[0] > k[0] / 2 || p[2] > k[0] / 2 || p[1] > k[1] / 2 || p[3] > k[1] / 2))
    return _sl_layer_bad (w, "'padding' may be at most half the window size on each side");

  sl_conv_desc *g = &n->geom;
  g->in_c = n->in.c;
  g->in_h = n->in.h;
  g->in_w = n->in.w;
  g->kh = k[0], g->kw = k[1], g->sh = s[0], g->sw = s[1];
  g->ph = p[0], g->pw = p[1], g->ph_end = p[2], g->pw_end = p[3];
  g->dh = d[0], g->dw = d[1];
  n->same_padding = same;
  g->out_h = window_out (n->in.h, k[0], s[0], p[0], p[2], d[0]);
  g->out_w = window_out (n->in.w, k[1], s[1], p[1], p[3], d[1]);
  if (g->out_h < 1 || g->out_w < 1)
    return _sl_layer_bad (w, "the %dx%d input is smaller than the %dx%d window", n->in.h, n->in.w,
                          d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1);
  return SL_OK;
}

cJSON *
_sl_json_padding_value (const sl_node *n)
{
  const sl_conv_desc *g = &n->geom;

  if (n->same_padding)
    return cJSON_CreateString ("same");
  if (g->ph == g->ph_end && g->pw == g->pw_end)
    return _sl_json_pair_value (g->ph, g->pw);
  const int p[4] = { g->ph, g->pw, g->ph_end, g->pw_end };
  return cJSON_CreateIntArray (p, 4);
}

cJSON *
_sl_json_pair_value (int a, int b)
{
  if (a == b)
    return cJSON_CreateNumber (a);
  cJSON *arr = cJSON_CreateArray ();
  cJSON_AddItemToArray (arr, cJSON_CreateNumber (a));
  cJSON_AddItemToArray (arr, cJSON_CreateNumber (b));
  return arr;
}

/* 0.1, not 0.100000001. */
double
_sl_json_tidy_float (float v)
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

sl_shape
_sl_layer_input_shape (const sl_model *m, const sl_node *n, int k)
{
  if (n->inputs[k] == SL_INPUT_NODE)
    return (sl_shape){ m->channels, m->height, m->width };
  return m->nodes[n->inputs[k]].out;
}

sl_status
_sl_layer_read_nothing (const cJSON *obj, sl_node *n, const sl_layer_where *w)
{
  (void) obj, (void) n, (void) w;
  return SL_OK;
}

sl_status
_sl_layer_shape_same (const sl_model *m, sl_node *n, const sl_layer_where *w)
{
  (void) m, (void) w;
  n->out = n->in;
  return SL_OK;
}

void
_sl_layer_write_nothing (const sl_node *n, cJSON *obj)
{
  (void) n, (void) obj;
}

void
_sl_layer_init_nothing (const sl_node *n, float *w, float *state, sl_rng *rng)
{
  (void) n, (void) w, (void) state, (void) rng;
}

void
_sl_layer_plan_output (const sl_node *n, int batch, bool training, const sl_plan_sizer *sz,
                       sl_layer_needs *needs)
{
  (void) n, (void) batch, (void) training, (void) sz, (void) needs;
}
