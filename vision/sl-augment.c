/* sl-augment.c: augmentation settings (defaults, checks, JSON) and drawing one sample's random values. */
#include "sl-augment-private.h"
#include "sl-rng-private.h" /* the engine's */
#include "sl-error-private.h"
#include "sl-json-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

void
sl_augment_config_init (sl_augment_config *config)
{
  memset (config, 0, sizeof *config);
  config->struct_size = sizeof *config;
}

/* The numeric settings, their JSON keys and allowed ranges. */
typedef struct
{
  const char *key;
  size_t offset;
  double max;
} number_field;

static const number_field numbers[] = {
  { "rotate-degrees", offsetof (sl_augment_config, rotate_degrees), 180 },
  { "shift-fraction", offsetof (sl_augment_config, shift_fraction), 0.5 },
  { "scale-fraction", offsetof (sl_augment_config, scale_fraction), 0.9 },
  { "brightness", offsetof (sl_augment_config, brightness), 1 },
  { "contrast", offsetof (sl_augment_config, contrast), 1 },
  { "gamma", offsetof (sl_augment_config, gamma), 4 },
  { "noise-std", offsetof (sl_augment_config, noise_std), 128 },
  { "blur-probability", offsetof (sl_augment_config, blur_probability), 1 },
  { "blur-sigma", offsetof (sl_augment_config, blur_sigma), 20 },
  { "cutout-probability", offsetof (sl_augment_config, cutout_probability), 1 },
  { "cutout-fraction", offsetof (sl_augment_config, cutout_fraction), 1 },
};

#define N_NUMBERS ((int) (sizeof numbers / sizeof numbers[0]))

static double *
field (sl_augment_config *c, const number_field *f)
{
  return (double *) ((char *) c + f->offset);
}

static double
cfield (const sl_augment_config *c, const number_field *f)
{
  return *(const double *) ((const char *) c + f->offset);
}

bool
sl_augment_config_is_active (const sl_augment_config *c)
{
  return c != NULL
         && (c->flip_horizontal || c->flip_vertical || c->rotate_degrees > 0
             || c->shift_fraction > 0 || c->scale_fraction > 0 || c->brightness > 0
             || c->contrast > 0 || c->gamma > 0 || c->noise_std > 0
             || (c->blur_probability > 0 && c->blur_sigma > 0)
             || (c->cutout_probability > 0 && c->cutout_fraction > 0));
}

sl_status
sl_augment_config_validate (const sl_augment_config *c, sl_error *err)
{
  if (c->struct_size < sizeof *c)
    return sl_error_set (err, SL_ERR_INVALID,
                         "augmentation settings: call sl_augment_config_init first");
  for (int i = 0; i < N_NUMBERS; i++)
    {
      double v = cfield (c, &numbers[i]);

      if (!isfinite (v) || v < 0 || v > numbers[i].max)
        return sl_error_set (err, SL_ERR_INVALID, "augmentation setting '%s' is %g, outside 0..%g",
                             numbers[i].key, v, numbers[i].max);
    }
  if (c->blur_probability > 0 && c->blur_sigma < 0.3)
    return sl_error_set (err, SL_ERR_INVALID,
                         "augmentation setting 'blur-sigma' must be at least 0.3 when blur is on");
  return SL_OK;
}

char *
sl_augment_config_to_json (const sl_augment_config *c)
{
  cJSON *root = cJSON_CreateObject ();
  char *json;

  cJSON_AddBoolToObject (root, "flip-horizontal", c->flip_horizontal);
  cJSON_AddBoolToObject (root, "flip-vertical", c->flip_vertical);
  for (int i = 0; i < N_NUMBERS; i++)
    cJSON_AddItemToObject (root, numbers[i].key, _sl_json_exact_number (cfield (c, &numbers[i])));
  json = cJSON_Print (root);
  cJSON_Delete (root);
  return json;
}

static sl_status
bool_from_json (const cJSON *root, const char *key, bool *out, sl_error *err)
{
  const cJSON *j = cJSON_GetObjectItemCaseSensitive (root, key);

  if (j == NULL)
    return SL_OK;
  if (!cJSON_IsBool (j))
    return sl_error_set (err, SL_ERR_INVALID, "augmentation setting '%s' must be true or false",
                         key);
  *out = cJSON_IsTrue (j);
  return SL_OK;
}

sl_status
sl_augment_config_from_json (const char *json, sl_augment_config *config, sl_error *err)
{
  sl_augment_config c;
  cJSON *root = json ? cJSON_Parse (json) : NULL;
  const cJSON *item;
  sl_status st = SL_OK;

  sl_augment_config_init (&c);
  if (!cJSON_IsObject (root))
    {
      cJSON_Delete (root);
      return sl_error_set (err, SL_ERR_FORMAT, "augmentation settings are not a JSON object");
    }
  cJSON_ArrayForEach (item, root)
  {
    bool known = strcmp (item->string, "flip-horizontal") == 0
                 || strcmp (item->string, "flip-vertical") == 0;

    for (int i = 0; i < N_NUMBERS && !known; i++)
      if (strcmp (item->string, numbers[i].key) == 0)
        {
          known = true;
          if (!cJSON_IsNumber (item))
            st = sl_error_set (err, SL_ERR_INVALID, "augmentation setting '%s' must be a number",
                               item->string);
          else
            *field (&c, &numbers[i]) = item->valuedouble;
        }
    if (!known)
      st = sl_error_set (err, SL_ERR_INVALID, "unknown augmentation setting '%s'", item->string);
    if (st != SL_OK)
      break;
  }
  if (st == SL_OK)
    st = bool_from_json (root, "flip-horizontal", &c.flip_horizontal, err);
  if (st == SL_OK)
    st = bool_from_json (root, "flip-vertical", &c.flip_vertical, err);
  cJSON_Delete (root);
  if (st == SL_OK)
    st = sl_augment_config_validate (&c, err);
  if (st == SL_OK)
    *config = c;
  return st;
}

void
sl_augment_draw (const sl_augment_config *c, uint64_t seed, sl_augment_plan *p)
{
  sl_mix_rng r = { seed };
  /* Every value is drawn whether or not it is used, so turning one
   * augmentation on or off leaves the others' values unchanged. */
  double u_fh = _sl_mix_rng_uniform (&r), u_fv = _sl_mix_rng_uniform (&r);
  double u_angle = _sl_mix_rng_range (&r, -1, 1), u_scale = _sl_mix_rng_range (&r, -1, 1);
  double u_sx = _sl_mix_rng_range (&r, -1, 1), u_sy = _sl_mix_rng_range (&r, -1, 1);
  double u_contrast = _sl_mix_rng_range (&r, -1, 1), u_bright = _sl_mix_rng_range (&r, -1, 1);
  double u_gamma = _sl_mix_rng_range (&r, -1, 1);
  double u_blur = _sl_mix_rng_uniform (&r), u_sigma = _sl_mix_rng_uniform (&r);
  uint64_t noise_seed = _sl_mix_rng_next (&r);
  double u_cut = _sl_mix_rng_uniform (&r), u_cx = _sl_mix_rng_uniform (&r),
         u_cy = _sl_mix_rng_uniform (&r);

  memset (p, 0, sizeof *p);
  p->flip_horizontal = c->flip_horizontal && u_fh < 0.5;
  p->flip_vertical = c->flip_vertical && u_fv < 0.5;
  p->angle = u_angle * c->rotate_degrees;
  p->scale = 1.0 + u_scale * c->scale_fraction;
  p->shift_x = u_sx * c->shift_fraction;
  p->shift_y = u_sy * c->shift_fraction;
  p->contrast = 1.0 + u_contrast * c->contrast;
  p->brightness = u_bright * c->brightness * 255.0;
  p->gamma = exp (u_gamma * log1p (c->gamma));
  if (c->blur_probability > 0 && u_blur < c->blur_probability)
    p->blur_sigma = 0.3 + u_sigma * (c->blur_sigma - 0.3);
  p->noise_std = c->noise_std;
  p->noise_seed = noise_seed;
  p->cutout = c->cutout_probability > 0 && c->cutout_fraction > 0 && u_cut < c->cutout_probability;
  p->cutout_x = u_cx;
  p->cutout_y = u_cy;
  p->cutout_size = c->cutout_fraction;
}

uint64_t
sl_augment_seed (uint64_t loader_seed, int64_t epoch, int64_t item)
{
  return _sl_mix_seed (_sl_mix_seed (loader_seed, (uint64_t) epoch), (uint64_t) item);
}

sl_status
sl_augment_apply (const sl_augment_config *config, uint64_t seed, const sl_image *in, sl_image *out,
                  sl_error *err)
{
  sl_augment_plan plan;
  sl_status st;

  memset (out, 0, sizeof *out);
  if (config == NULL || in == NULL || in->data == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "augmentation needs settings and an image");
  st = sl_augment_config_validate (config, err);
  if (st != SL_OK)
    return st;
  sl_augment_draw (config, seed, &plan);
  return sl_augment_run (&plan, in, out, err);
}
