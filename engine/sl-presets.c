/* sl-presets.c: the built-in model presets, written out as model descriptions. */
#include "sightline.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <math.h>
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

/* EfficientNet-Lite as the reference PyTorch implementation (efficientnet-lite-pytorch 0.1.0)
 * builds it: MBConv blocks without squeeze-excitation, ReLU6, TensorFlow "same" padding,
 * batch-norm epsilon 1e-3 (momentum 0.01 in PyTorch's convention), a fixed stem (32) and head
 * (1280). Layer names are the PyTorch state-dict module prefixes, so the converter maps weights
 * by name. */
typedef struct
{
  double width, depth, dropout;
} lite_coefficients;

/* round_filters: scale by the width coefficient, round to a multiple of 8, never more than 10%
 * down. */
static int
lite_round_filters (int filters, double width)
{
  double f = filters * width;
  int c = (int) (f + 4.0) / 8 * 8;

  if (c < 8)
    c = 8;
  if (c < 0.9 * f)
    c += 8;
  return c;
}

static cJSON *
add_lite_conv (builder *b, const char *name, int filters, int k, int stride, int groups)
{
  cJSON *l = add_layer (b, "conv2d", name, NULL);

  cJSON_AddNumberToObject (l, "filters", filters);
  cJSON_AddNumberToObject (l, "kernel", k);
  if (stride != 1)
    cJSON_AddNumberToObject (l, "stride", stride);
  cJSON_AddStringToObject (l, "padding", "same");
  if (groups != 1)
    cJSON_AddNumberToObject (l, "groups", groups);
  cJSON_AddBoolToObject (l, "bias", false);
  b->h = (b->h + stride - 1) / stride;
  b->w = (b->w + stride - 1) / stride;
  return l;
}

static void
add_lite_bn (builder *b, const char *name)
{
  cJSON *l = add_layer (b, "batchnorm", name, NULL);

  cJSON_AddNumberToObject (l, "epsilon", 1e-3);
  cJSON_AddNumberToObject (l, "momentum", 0.01);
}

static void
build_efficientnet_lite (builder *b, const sl_preset_options *o, lite_coefficients c)
{
  static const int stages[][5] = {
    /* repeats, kernel, stride, expansion, output filters */
    { 1, 3, 1, 1, 16 },  { 2, 3, 2, 6, 24 },  { 2, 5, 2, 6, 40 },  { 3, 3, 2, 6, 80 },
    { 3, 5, 1, 6, 112 }, { 4, 5, 2, 6, 192 }, { 1, 3, 1, 6, 320 },
  };
  const int n_stages = (int) (sizeof stages / sizeof stages[0]);
  int in_c = 32, block = 0;
  char name[64], prev[64];

  add_lite_conv (b, "_conv_stem", 32, 3, 2, 1);
  add_lite_bn (b, "_bn0");
  /* The stem's activation feeds the first block (the reference's shared "_swish" module). */
  add_layer (b, "relu6", "_stem_relu6", NULL);
  snprintf (prev, sizeof prev, "_stem_relu6");
  for (int s = 0; s < n_stages; s++)
    {
      /* The stem and head stages keep their repeats; the others scale with depth. */
      int repeats
          = s == 0 || s == n_stages - 1 ? stages[s][0] : (int) ceil (c.depth * stages[s][0]);
      int out_c = lite_round_filters (stages[s][4], c.width);

      for (int r = 0; r < repeats; r++, block++)
        {
          int stride = r == 0 ? stages[s][2] : 1, expand = stages[s][3];
          int hidden = in_c * expand;
          bool first = true;

          if (expand != 1)
            {
              snprintf (name, sizeof name, "_blocks.%d._expand_conv", block);
              add_lite_conv (b, name, hidden, 1, 1, 1);
              cJSON_AddStringToObject (
                  cJSON_GetArrayItem (b->layers, cJSON_GetArraySize (b->layers) - 1), "input",
                  prev);
              snprintf (name, sizeof name, "_blocks.%d._bn0", block);
              add_lite_bn (b, name);
              add_layer (b, "relu6", NULL, NULL);
              first = false;
            }
          snprintf (name, sizeof name, "_blocks.%d._depthwise_conv", block);
          cJSON *dw = add_lite_conv (b, name, hidden, stages[s][1], stride, hidden);
          if (first)
            cJSON_AddStringToObject (dw, "input", prev);
          snprintf (name, sizeof name, "_blocks.%d._bn1", block);
          add_lite_bn (b, name);
          add_layer (b, "relu6", NULL, NULL);
          snprintf (name, sizeof name, "_blocks.%d._project_conv", block);
          add_lite_conv (b, name, out_c, 1, 1, 1);
          snprintf (name, sizeof name, "_blocks.%d._bn2", block);
          add_lite_bn (b, name);
          if (stride == 1 && in_c == out_c)
            {
              cJSON *sum = add_layer (b, "add", NULL, NULL);
              cJSON *ins = cJSON_AddArrayToObject (sum, "inputs");

              cJSON_AddItemToArray (ins, cJSON_CreateString (name));
              cJSON_AddItemToArray (ins, cJSON_CreateString (prev));
              snprintf (name, sizeof name, "_blocks.%d", block);
              cJSON_AddStringToObject (sum, "name", name);
            }
          snprintf (prev, sizeof prev, "%s", name);
          in_c = out_c;
        }
    }
  add_lite_conv (b, "_conv_head", 1280, 1, 1, 1);
  add_lite_bn (b, "_bn1");
  add_layer (b, "relu6", NULL, NULL);
  add_layer (b, "global_avgpool", "_avg_pooling", NULL);
  cJSON_AddNumberToObject (add_layer (b, "dropout", "_dropout", NULL), "rate", c.dropout);
  cJSON_AddNumberToObject (add_layer (b, "dense", "_fc", NULL), "units", o->classes);
}

static void
build_lite0 (builder *b, const sl_preset_options *o)
{
  build_efficientnet_lite (b, o, (lite_coefficients){ 1.0, 1.0, 0.2 });
}

static void
build_lite1 (builder *b, const sl_preset_options *o)
{
  build_efficientnet_lite (b, o, (lite_coefficients){ 1.0, 1.1, 0.2 });
}

static void
build_lite2 (builder *b, const sl_preset_options *o)
{
  build_efficientnet_lite (b, o, (lite_coefficients){ 1.1, 1.2, 0.3 });
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
    "A narrow batch-normalised CNN: fast to train and small; the default from-scratch "
    "network",
    build_small_bn },
  { "resnet-s",
    "A small residual network (ResNet-8, 14 or 20): the most accurate preset, "
    "slower to train",
    build_resnet_s },
  { "mobilenet-s",
    "Depthwise-separable inverted residuals: few weights and fast inference "
    "for line-side PCs",
    build_mobilenet_s },
  { "efficientnet-lite0",
    "EfficientNet-Lite0 (4.7 M weights, 224 px native): the architecture of the pretrained "
    "ImageNet backbone; train it from a backbone for small data sets",
    build_lite0 },
  { "efficientnet-lite1", "EfficientNet-Lite1 (5.4 M weights, 240 px native): a deeper Lite0",
    build_lite1 },
  { "efficientnet-lite2",
    "EfficientNet-Lite2 (6.1 M weights, 260 px native): a deeper, wider Lite0", build_lite2 },
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
                         "unknown model preset '%s'; choose seed-cnn, small-bn, resnet-s, "
                         "mobilenet-s or efficientnet-lite0/1/2",
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
  if (strncmp (name, "efficientnet-lite", 17) == 0
      && (o.height < 32 || o.width < 32 || o.height > 1024 || o.width > 1024))
    return sl_error_set (err, SL_ERR_INVALID,
                         "%s takes images from 32 to 1024 pixels per side (128 to 320, "
                         "multiples of 32, recommended), not %dx%d",
                         name, o.width, o.height);
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
