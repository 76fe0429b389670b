/* sl-presets.c: the built-in model presets, written out as model descriptions. */
#include "sightline.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  cJSON *layers;
  int h, w;    /* spatial size after the layers so far */
  int counter; /* for generated layer names */
} builder;

static cJSON *
add_layer (builder *b, const char *type, const char *name, const char *input)
{
  cJSON *l = cJSON_CreateObject ();

  cJSON_AddStringToObject (l, "type", type);
  if (name != NULL)
    cJSON_AddStringToObject (l, "name", name);
  if (input != NULL)
    cJSON_AddStringToObject (l, "input", input);
  cJSON_AddItemToArray (b->layers, l);
  return l;
}

static int
out_size (int in, int k, int s, int p)
{
  return (in + 2 * p - k) / s + 1;
}

static cJSON *
add_conv (builder *b, int filters, int k, int stride, int groups, bool bias, const char *name,
          const char *input)
{
  cJSON *l = add_layer (b, "conv2d", name, input);

  cJSON_AddNumberToObject (l, "filters", filters);
  cJSON_AddNumberToObject (l, "kernel", k);
  if (stride != 1)
    cJSON_AddNumberToObject (l, "stride", stride);
  cJSON_AddNumberToObject (l, "padding", k / 2);
  if (groups != 1)
    cJSON_AddNumberToObject (l, "groups", groups);
  if (!bias)
    cJSON_AddBoolToObject (l, "bias", false);
  if (input == NULL)
    {
      b->h = out_size (b->h, k, stride, k / 2);
      b->w = out_size (b->w, k, stride, k / 2);
    }
  return l;
}

static void
add_pool (builder *b, int size)
{
  cJSON_AddNumberToObject (add_layer (b, "maxpool", NULL, NULL), "size", size);
  b->h /= size;
  b->w /= size;
}

static void
add_dense (builder *b, int units)
{
  cJSON_AddNumberToObject (add_layer (b, "dense", NULL, NULL), "units", units);
}

static int
min_side (const builder *b)
{
  return b->h < b->w ? b->h : b->w;
}

/* conv + batch-norm + activation, the unit most presets are made of. */
static void
add_conv_bn (builder *b, int filters, int k, int stride, int groups, const char *act)
{
  add_conv (b, filters, k, stride, groups, false, NULL, NULL);
  add_layer (b, "batchnorm", NULL, NULL);
  if (act != NULL)
    add_layer (b, act, NULL, NULL);
}

/* The TensorFlow tutorial's MNIST network. */
static void
build_seed_cnn (builder *b, const sl_preset_options *o)
{
  add_conv (b, 32, 5, 1, 1, true, NULL, NULL);
  add_layer (b, "relu", NULL, NULL);
  add_pool (b, 2);
  add_conv (b, 64, 5, 1, 1, true, NULL, NULL);
  add_layer (b, "relu", NULL, NULL);
  add_pool (b, 2);
  add_layer (b, "flatten", NULL, NULL);
  add_dense (b, 1024);
  add_layer (b, "relu", NULL, NULL);
  add_dense (b, o->classes);
}

/* A narrow batch-norm CNN: one conv per stage, pooling while the image is large. */
static void
build_small_bn (builder *b, const sl_preset_options *o)
{
  int filters = 32;

  if (min_side (b) >= 96)
    add_conv_bn (b, 16, 3, 2, 1, "relu");
  for (int stage = 0; stage < 6; stage++)
    {
      add_conv_bn (b, filters, 3, 1, 1, "relu");
      if (min_side (b) < 8 && stage >= 2)
        break;
      if (min_side (b) >= 8)
        add_pool (b, 2);
      filters = filters < 256 ? filters * 2 : filters;
    }
  add_layer (b, "global_avgpool", NULL, NULL);
  cJSON_AddNumberToObject (add_layer (b, "dropout", NULL, NULL), "rate", 0.2);
  add_dense (b, o->classes);
}

/* A CIFAR-style ResNet (6n + 2 layers) with projection shortcuts. */
static void
build_resnet_s (builder *b, const sl_preset_options *o)
{
  int blocks = (o->depth - 2) / 6;
  char prev[32] = "stem", name[32], tmp[32];

  if (min_side (b) >= 64)
    add_conv_bn (b, 16, 3, 2, 1, "relu");
  if (min_side (b) >= 64)
    add_pool (b, 2);
  add_conv_bn (b, 16, 3, 1, 1, NULL);
  cJSON_AddStringToObject (add_layer (b, "relu", NULL, NULL), "name", "stem");

  for (int stage = 0; stage < 3; stage++)
    for (int k = 0; k < blocks; k++)
      {
        int filters = 16 << stage, stride = stage > 0 && k == 0 ? 2 : 1;
        const char *shortcut = prev;

        b->counter++;
        add_conv (b, filters, 3, stride, 1, false, NULL, prev);
        b->h = out_size (b->h, 3, stride, 1);
        b->w = out_size (b->w, 3, stride, 1);
        add_layer (b, "batchnorm", NULL, NULL);
        add_layer (b, "relu", NULL, NULL);
        add_conv (b, filters, 3, 1, 1, false, NULL, NULL);
        snprintf (name, sizeof name, "b%d_main", b->counter);
        add_layer (b, "batchnorm", name, NULL);
        if (stride != 1)
          {
            snprintf (tmp, sizeof tmp, "b%d_proj", b->counter);
            add_conv (b, filters, 1, stride, 1, false, NULL, prev);
            add_layer (b, "batchnorm", tmp, NULL);
            shortcut = tmp;
          }
        cJSON *sum = add_layer (b, "add", NULL, NULL);
        cJSON *ins = cJSON_AddArrayToObject (sum, "inputs");
        cJSON_AddItemToArray (ins, cJSON_CreateString (name));
        cJSON_AddItemToArray (ins, cJSON_CreateString (shortcut));
        snprintf (prev, sizeof prev, "b%d_out", b->counter);
        add_layer (b, "relu", prev, NULL);
      }
  add_layer (b, "global_avgpool", NULL, NULL);
  add_dense (b, o->classes);
}

static int
round8 (float channels)
{
  int c = (int) (channels + 4) / 8 * 8;

  return c < 8 ? 8 : c;
}

/* MobileNetV2-style inverted residuals: expand 1x1, depthwise 3x3, project 1x1. */
static void
build_mobilenet_s (builder *b, const sl_preset_options *o)
{
  static const int plan[][4] = {
    /* expansion, channels, repeats, stride */
    { 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 2, 2 }, { 6, 64, 2, 2 }, { 6, 96, 1, 1 },
  };
  const float a = o->width_mult;
  int in_c = round8 (32 * a);
  char prev[32] = "stem", name[32];

  add_conv_bn (b, in_c, 3, min_side (b) >= 64 ? 2 : 1, 1, NULL);
  cJSON_AddStringToObject (add_layer (b, "relu6", NULL, NULL), "name", "stem");
  for (size_t s = 0; s < sizeof plan / sizeof plan[0]; s++)
    for (int r = 0; r < plan[s][2]; r++)
      {
        int out_c = round8 (plan[s][1] * a), hidden = in_c * plan[s][0];
        int stride = r == 0 && min_side (b) >= 4 ? plan[s][3] : 1;
        bool first = true;

        b->counter++;
        if (plan[s][0] != 1)
          {
            add_conv (b, hidden, 1, 1, 1, false, NULL, prev);
            add_layer (b, "batchnorm", NULL, NULL);
            add_layer (b, "relu6", NULL, NULL);
            first = false;
          }
        add_conv (b, hidden, 3, stride, hidden, false, NULL, first ? prev : NULL);
        if (first)
          {
            b->h = out_size (b->h, 3, stride, 1);
            b->w = out_size (b->w, 3, stride, 1);
          }
        add_layer (b, "batchnorm", NULL, NULL);
        add_layer (b, "relu6", NULL, NULL);
        add_conv (b, out_c, 1, 1, 1, false, NULL, NULL);
        snprintf (name, sizeof name, "b%d", b->counter);
        add_layer (b, "batchnorm", name, NULL);
        if (stride == 1 && in_c == out_c)
          {
            cJSON *sum = add_layer (b, "add", NULL, NULL);
            cJSON *ins = cJSON_AddArrayToObject (sum, "inputs");
            snprintf (name, sizeof name, "b%d_out", b->counter);
            cJSON_AddStringToObject (sum, "name", name);
            snprintf (name, sizeof name, "b%d", b->counter);
            cJSON_AddItemToArray (ins, cJSON_CreateString (name));
            cJSON_AddItemToArray (ins, cJSON_CreateString (prev));
            snprintf (prev, sizeof prev, "b%d_out", b->counter);
          }
        else
          snprintf (prev, sizeof prev, "b%d", b->counter);
        in_c = out_c;
      }
  add_conv_bn (b, round8 (256 * (a > 1 ? a : 1)), 1, 1, 1, "relu6");
  add_layer (b, "global_avgpool", NULL, NULL);
  cJSON_AddNumberToObject (add_layer (b, "dropout", NULL, NULL), "rate", 0.2);
  add_dense (b, o->classes);
}

typedef struct
{
  const char *name;
  const char *summary;
  void (*build) (builder *b, const sl_preset_options *o);
} preset;

static const preset presets[] = {
  { "seed-cnn",
    "Two 5x5 convolutions and a large dense layer: the classic tutorial network; "
    "simple, accurate on small images, heavy on weights",
    build_seed_cnn },
  { "small-bn",
    "A narrow batch-normalised CNN: fast to train and small; the default for new "
    "projects",
    build_small_bn },
  { "resnet-s",
    "A small residual network (ResNet-8, 14 or 20): the most accurate preset, "
    "slower to train",
    build_resnet_s },
  { "mobilenet-s",
    "Depthwise-separable inverted residuals: few weights and fast inference "
    "for line-side PCs",
    build_mobilenet_s },
};

static const char *const preset_names[]
    = { "seed-cnn", "small-bn", "resnet-s", "mobilenet-s", NULL };

const char *const *
sl_preset_names (void)
{
  return preset_names;
}

static const preset *
find_preset (const char *name)
{
  for (size_t i = 0; name != NULL && i < sizeof presets / sizeof presets[0]; i++)
    if (strcmp (presets[i].name, name) == 0)
      return &presets[i];
  return NULL;
}

const char *
sl_preset_summary (const char *name)
{
  const preset *p = find_preset (name);

  return p != NULL ? p->summary : NULL;
}

void
sl_preset_options_init (sl_preset_options *o)
{
  memset (o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->channels = 1;
  o->height = 28;
  o->width = 28;
  o->classes = 10;
  o->depth = 14;
  o->width_mult = 1.0f;
}

sl_status
sl_preset_json (const char *name, const sl_preset_options *opts, char **out_json, sl_error *err)
{
  const preset *p = find_preset (name);
  sl_preset_options o;
  builder b = { 0 };
  cJSON *root, *input;

  if (out_json == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_preset_json: no place for the result");
  *out_json = NULL;
  if (p == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "unknown model preset '%s'; choose seed-cnn, small-bn, resnet-s or "
                         "mobilenet-s",
                         name != NULL ? name : "(none)");
  if (opts == NULL || opts->struct_size < sizeof o)
    return sl_error_set (err, SL_ERR_INVALID,
                         "preset options: call sl_preset_options_init () before filling them");
  o = *opts;
  if (o.depth == 0)
    o.depth = 14;
  if (o.width_mult == 0.0f)
    o.width_mult = 1.0f;
  if (o.channels != 1 && o.channels != 3)
    return sl_error_set (err, SL_ERR_INVALID,
                         "presets take 1 (gray) or 3 (colour) input channels, not %d", o.channels);
  if (o.height < 8 || o.width < 8 || o.height > 4096 || o.width > 4096)
    return sl_error_set (err, SL_ERR_INVALID,
                         "presets take images from 8x8 to 4096x4096 pixels, not %dx%d", o.width,
                         o.height);
  if (o.classes < 2 || o.classes > 100000)
    return sl_error_set (err, SL_ERR_INVALID, "a classifier needs at least 2 classes, not %d",
                         o.classes);
  if (o.depth != 8 && o.depth != 14 && o.depth != 20)
    return sl_error_set (err, SL_ERR_INVALID, "resnet-s depth must be 8, 14 or 20, not %d",
                         o.depth);
  if (!(o.width_mult >= 0.25f && o.width_mult <= 4.0f))
    return sl_error_set (err, SL_ERR_INVALID,
                         "mobilenet-s width multiplier must be from 0.25 to 4");

  root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "name", name);
  input = cJSON_AddObjectToObject (root, "input");
  cJSON_AddNumberToObject (input, "channels", o.channels);
  cJSON_AddNumberToObject (input, "height", o.height);
  cJSON_AddNumberToObject (input, "width", o.width);
  cJSON_AddNumberToObject (root, "classes", o.classes);
  b.layers = cJSON_AddArrayToObject (root, "layers");
  b.h = o.height;
  b.w = o.width;
  p->build (&b, &o);
  *out_json = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  if (*out_json == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory writing the %s preset", name);
  return SL_OK;
}
