/* sl-op-registry.c: the constant table of preprocessing operators and their parameter specs. */
#include "sl-ops-private.h"
#include "sl-error-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#define P_INT(id_, name_, desc_, min_, max_, step_, def_, unit_)                                   \
  {                                                                                                \
    .id = id_, .name = name_, .description = desc_, .type = SL_PARAM_INT, .min = min_,             \
    .max = max_, .step = step_, .default_value = def_, .unit = unit_                               \
  }
#define P_DOUBLE(id_, name_, desc_, min_, max_, step_, def_, unit_)                                \
  {                                                                                                \
    .id = id_, .name = name_, .description = desc_, .type = SL_PARAM_DOUBLE, .min = min_,          \
    .max = max_, .step = step_, .default_value = def_, .unit = unit_                               \
  }
#define P_BOOL(id_, name_, desc_, def_)                                                            \
  {                                                                                                \
    .id = id_, .name = name_, .description = desc_, .type = SL_PARAM_BOOL, .min = 0, .max = 1,     \
    .step = 1, .default_value = def_, .unit = ""                                                   \
  }
#define P_ENUM(id_, name_, desc_, choices_, def_)                                                  \
  {                                                                                                \
    .id = id_, .name = name_, .description = desc_, .type = SL_PARAM_ENUM, .min = 0,               \
    .max = (double) (sizeof choices_##_ids / sizeof choices_##_ids[0] - 2), .step = 1,             \
    .default_value = def_, .unit = "", .choices = choices_##_ids, .choice_names = choices_##_names \
  }

static const char *const hsv_ids[] = { "hue", "saturation", "value", NULL };
static const char *const hsv_names[] = { "Hue", "Saturation", "Value", NULL };
static const char *const crop_mode_ids[] = { "relative", "absolute", NULL };
static const char *const crop_mode_names[] = { "Fraction of the image", "Pixels", NULL };
static const char *const resize_mode_ids[] = { "stretch", "fit-pad", "center-crop", NULL };
static const char *const resize_mode_names[]
    = { "Stretch", "Keep aspect, pad", "Keep aspect, crop center", NULL };
static const char *const interp_ids[] = { "area", "linear", "cubic", "nearest", NULL };
static const char *const interp_names[] = { "Area", "Linear", "Cubic", "Nearest", NULL };
static const char *const angle_ids[] = { "90", "180", "270", NULL };
static const char *const angle_names[] = { "90° clockwise", "180°", "270° clockwise", NULL };
static const char *const axis_ids[] = { "horizontal", "vertical", "both", NULL };
static const char *const axis_names[] = { "Left-right", "Top-bottom", "Both", NULL };
static const char *const thresh_ids[]
    = { "fixed", "otsu", "adaptive-mean", "adaptive-gaussian", NULL };
static const char *const thresh_names[]
    = { "Fixed level", "Otsu", "Adaptive (mean)", "Adaptive (Gaussian)", NULL };
static const char *const morph_ids[]
    = { "erode", "dilate", "open", "close", "gradient", "top-hat", "black-hat", NULL };
static const char *const morph_names[]
    = { "Erode", "Dilate", "Open", "Close", "Gradient", "Top hat", "Black hat", NULL };
static const char *const shape_ids[] = { "rectangle", "ellipse", "cross", NULL };
static const char *const shape_names[] = { "Rectangle", "Ellipse", "Cross", NULL };
static const char *const range_output_ids[] = { "masked", "mask", NULL };
static const char *const range_output_names[]
    = { "Image, other pixels black", "Mask (selected white, rest black)", NULL };
static const char *const flatten_mode_ids[] = { "divide", "subtract", NULL };
static const char *const flatten_mode_names[]
    = { "Divide by the background", "Subtract the background", NULL };
static const char *const polarity_ids[] = { "bright", "dark", NULL };
static const char *const polarity_names[]
    = { "Bright part, dark background", "Dark part, bright background", NULL };
static const char *const part_method_ids[] = { "otsu", "fixed", NULL };
static const char *const part_method_names[] = { "Otsu (automatic)", "Fixed level", NULL };
static const char *const if_none_ids[] = { "keep", "fail", NULL };
static const char *const if_none_names[] = { "Pass the whole image on", "Report an error", NULL };
static const char *const main_axis_ids[] = { "horizontal", "vertical", NULL };
static const char *const main_axis_names[] = { "Left-right", "Top-bottom", NULL };
static const char *const turn_size_ids[] = { "keep", "fit", NULL };
static const char *const turn_size_names[]
    = { "Same as the input (corners cut)", "Whole turned image", NULL };
static const char *const center_ids[] = { "part", "image", "given", NULL };
static const char *const center_names[]
    = { "Center of the part (image center if none)", "Image center", "Given point", NULL };

static const sl_param_spec hsv_params[] = {
  P_ENUM ("channel", "Channel", "Which HSV channel to keep (hue spans 0-255)", hsv, 2),
};
static const sl_param_spec color_range_params[] = {
  P_DOUBLE ("hue-low", "Hue from",
            "Start of the hue range; above 'Hue to', the range wraps around red (0°)", 0, 360, 1, 0,
            "°"),
  P_DOUBLE ("hue-high", "Hue to", "End of the hue range", 0, 360, 1, 360, "°"),
  P_INT ("sat-low", "Saturation from", "Least saturation selected (0 gray, 255 pure colour)", 0,
         255, 1, 60, ""),
  P_INT ("sat-high", "Saturation to", "Most saturation selected", 0, 255, 1, 255, ""),
  P_INT ("val-low", "Value from", "Least brightness selected", 0, 255, 1, 40, ""),
  P_INT ("val-high", "Value to", "Most brightness selected", 0, 255, 1, 255, ""),
  P_ENUM ("output", "Output", "What the step passes on", range_output, 0),
  P_BOOL ("invert", "Select outside",
          "Select the pixels outside the range instead (to drop a coloured background)", 0),
};
/* The part operators share their first four parameters (sl-ops-part.cpp reads them by index). */
#define PART_PARAMS                                                                                \
  P_ENUM ("polarity", "Part", "Whether the part is brighter or darker than the background",        \
          polarity, 0),                                                                            \
      P_ENUM ("method", "Threshold", "How part and background are told apart", part_method, 0),    \
      P_DOUBLE ("level", "Level",                                                                  \
                "Gray level between part and background (fixed threshold; 8-bit levels)", 0, 255,  \
                1, 128, ""),                                                                       \
      P_INT ("min-area", "Smallest part",                                                          \
             "The largest object is the part only if it has at least this many pixels", 1,         \
             100000000, 1, 50, "px")
static const sl_param_spec crop_to_part_params[] = {
  PART_PARAMS,
  P_INT ("margin", "Margin", "Added on every side of the part's bounding box", 0, 4096, 1, 4, "px"),
  P_BOOL ("square", "Square",
          "Grow the box to a square around the part, so the model input is not stretched", 0),
  P_INT ("pad", "Padding value", "Gray level where the box reaches beyond the image", 0, 255, 1, 0,
         ""),
  P_ENUM ("if-none", "No part found", "What happens when no object is large enough", if_none, 0),
};
static const sl_param_spec rotate_to_axis_params[] = {
  PART_PARAMS,
  P_ENUM ("axis", "Main axis", "Where the part's long axis ends up", main_axis, 0),
  P_ENUM ("size", "Output size", "Keep the input's size, or grow to hold the whole turned image",
          turn_size, 0),
  P_DOUBLE ("min-elongation", "Least elongation",
            "Parts rounder than this (long axis / short axis) are not turned", 1, 10, 0.05, 1.2,
            "x"),
  P_INT ("pad", "Padding value", "Gray level of the corners the turn uncovers", 0, 255, 1, 0, ""),
};
static const sl_param_spec polar_params[] = {
  PART_PARAMS,
  P_ENUM ("center", "Center", "Where the circle's center is", center, 0),
  P_DOUBLE ("x", "Center x", "Column of a given center (0 is the middle of the left pixel)", 0,
            65535, 1, 0, "px"),
  P_DOUBLE ("y", "Center y", "Row of a given center (0 is the middle of the top pixel)", 0, 65535,
            1, 0, "px"),
  P_DOUBLE ("radius", "Radius",
            "Outer radius that is unwrapped; 0 takes the largest circle inside the image", 0, 65535,
            1, 0, "px"),
  P_INT ("width", "Width", "Samples around the circle (the output's width)", 8, 8192, 1, 360, "px"),
  P_INT ("height", "Height", "Samples from the center outwards (the output's height)", 2, 8192, 1,
         64, "px"),
};
static const sl_param_spec crop_params[] = {
  P_ENUM ("mode", "Units", "Whether the rectangle is in pixels or fractions of the image",
          crop_mode, 0),
  { .id = "rect",
    .name = "Region",
    .description = "Region of interest: x, y, width, height",
    .type = SL_PARAM_RECT,
    .min = 0,
    .max = 65536,
    .step = 0,
    .unit = "",
    .default_rect = { 0, 0, 1, 1 } },
};
static const sl_param_spec resize_params[] = {
  P_INT ("width", "Width", "Output width", 1, 8192, 1, 64, "px"),
  P_INT ("height", "Height", "Output height", 1, 8192, 1, 64, "px"),
  P_ENUM ("mode", "Mode", "How to treat a different aspect ratio", resize_mode, 0),
  P_ENUM ("interpolation", "Interpolation", "How new pixels are computed", interp, 0),
  P_INT ("pad", "Padding value", "Gray level of the padding (fit-pad)", 0, 255, 1, 0, ""),
};
static const sl_param_spec rotate_params[] = {
  P_ENUM ("angle", "Angle", "Clockwise rotation", angle, 0),
};
static const sl_param_spec flip_params[] = {
  P_ENUM ("axis", "Direction", "Which way to mirror the image", axis, 0),
};
static const sl_param_spec gaussian_params[] = {
  P_INT ("ksize", "Kernel size", "Odd side of the kernel", 1, 31, 2, 5, "px"),
  P_DOUBLE ("sigma", "Sigma", "Standard deviation; 0 derives it from the kernel size", 0, 20, 0.1,
            0, "px"),
};
static const sl_param_spec median_params[] = {
  P_INT ("ksize", "Kernel size", "Odd side of the window (16-bit images: 3 or 5)", 3, 15, 2, 3,
         "px"),
};
static const sl_param_spec bilateral_params[] = {
  P_INT ("diameter", "Diameter", "Pixel neighbourhood", 1, 15, 1, 5, "px"),
  P_DOUBLE ("sigma-color", "Color sigma", "How different colours may be and still mix", 1, 200, 1,
            50, ""),
  P_DOUBLE ("sigma-space", "Space sigma", "How far pixels influence each other", 1, 200, 1, 50,
            "px"),
};
static const sl_param_spec sharpen_params[] = {
  P_DOUBLE ("sigma", "Radius", "Sigma of the blur that is subtracted", 0.1, 10, 0.1, 1, "px"),
  P_DOUBLE ("amount", "Amount", "Strength of the sharpening", 0, 5, 0.1, 1, ""),
};
static const sl_param_spec bc_params[] = {
  P_DOUBLE ("contrast", "Contrast", "Gain applied to every pixel", 0, 4, 0.05, 1, "x"),
  P_DOUBLE ("brightness", "Brightness", "Offset added after the gain (8-bit levels)", -255, 255, 1,
            0, ""),
};
static const sl_param_spec gamma_params[] = {
  P_DOUBLE ("gamma", "Gamma", "out = max * (in / max) ^ gamma; below 1 brightens", 0.1, 5, 0.05, 1,
            ""),
};
static const sl_param_spec clahe_params[] = {
  P_DOUBLE ("clip-limit", "Clip limit", "Contrast limit per tile", 0.1, 40, 0.1, 2, ""),
  P_INT ("tiles", "Tiles", "Tiles per side of the grid", 1, 32, 1, 8, ""),
};
static const sl_param_spec normalize_params[] = {
  P_DOUBLE ("low", "Low", "Level the darkest pixel maps to (8-bit levels)", 0, 255, 1, 0, ""),
  P_DOUBLE ("high", "High", "Level the brightest pixel maps to (8-bit levels)", 0, 255, 1, 255, ""),
};
static const sl_param_spec threshold_params[] = {
  P_ENUM ("method", "Method", "How the threshold is chosen", thresh, 0),
  P_DOUBLE ("threshold", "Threshold", "Level for the fixed method (8-bit levels)", 0, 255, 1, 128,
            ""),
  P_DOUBLE ("max-value", "Foreground", "Value of pixels above the threshold", 0, 255, 1, 255, ""),
  P_INT ("block-size", "Block size", "Neighbourhood of the adaptive methods", 3, 99, 2, 11, "px"),
  P_DOUBLE ("c", "Offset", "Subtracted from the adaptive mean", -50, 50, 0.5, 2, ""),
  P_BOOL ("invert", "Invert", "Pixels below the threshold become the foreground", 0),
};
static const sl_param_spec flatten_params[] = {
  P_ENUM ("mode", "Mode", "How the estimated background is taken out", flatten_mode, 0),
  P_DOUBLE ("sigma", "Background blur",
            "Sigma of the heavy Gaussian blur that estimates the background; make it larger than "
            "the part",
            1, 200, 0.5, 30, "px"),
  P_DOUBLE ("level", "Background level", "Level the flattened background takes (8-bit levels)", 0,
            255, 1, 128, ""),
};
static const sl_param_spec morph_params[] = {
  P_ENUM ("operation", "Operation", "Which morphological operation", morph, 0),
  P_ENUM ("shape", "Kernel shape", "Shape of the structuring element", shape, 0),
  P_INT ("ksize", "Kernel size", "Side of the structuring element", 1, 31, 1, 3, "px"),
  P_INT ("iterations", "Iterations", "How many times to apply it", 1, 10, 1, 1, ""),
};
static const sl_param_spec canny_params[] = {
  P_DOUBLE ("low", "Low threshold", "Weak edges below this are dropped", 0, 1000, 1, 50, ""),
  P_DOUBLE ("high", "High threshold", "Edges above this are kept", 0, 1000, 1, 150, ""),
  P_INT ("aperture", "Aperture", "Sobel kernel size", 3, 7, 2, 3, "px"),
  P_BOOL ("l2-gradient", "L2 gradient", "Use the exact gradient magnitude", 0),
};
static const sl_param_spec sobel_params[] = {
  P_INT ("ksize", "Kernel size", "Sobel kernel size", 1, 7, 2, 3, "px"),
  P_DOUBLE ("scale", "Scale", "Factor applied to the magnitude", 0.01, 100, 0.01, 1, "x"),
};
static const sl_param_spec laplacian_params[] = {
  P_INT ("ksize", "Kernel size", "Aperture of the Laplacian", 1, 7, 2, 3, "px"),
  P_DOUBLE ("scale", "Scale", "Factor applied to the absolute response", 0.01, 100, 0.01, 1, "x"),
};

#define N(a) ((int) (sizeof a / sizeof a[0]))

static sl_status
check_crop (const sl_param_value *v, sl_error *err)
{
  const sl_rect *r = &v[1].rect;

  if (r->width <= 0 || r->height <= 0)
    return sl_error_set (err, SL_ERR_INVALID, "parameter 'rect': width and height must be > 0");
  if (v[0].number == 0 && (r->x + r->width > 1.0 + 1e-9 || r->y + r->height > 1.0 + 1e-9))
    return sl_error_set (err, SL_ERR_INVALID,
                         "parameter 'rect': a relative region must lie within 0..1 "
                         "(x + width and y + height at most 1)");
  if (v[0].number == 1
      && (r->x != floor (r->x) || r->y != floor (r->y) || r->width != floor (r->width)
          || r->height != floor (r->height)))
    return sl_error_set (err, SL_ERR_INVALID,
                         "parameter 'rect': a region in pixels needs whole numbers");
  return SL_OK;
}

static sl_status
check_color_range (const sl_param_value *v, sl_error *err)
{
  if (v[2].number > v[3].number)
    return sl_error_set (err, SL_ERR_INVALID, "parameter 'sat-high' (%g) is below 'sat-low' (%g)",
                         v[3].number, v[2].number);
  if (v[4].number > v[5].number)
    return sl_error_set (err, SL_ERR_INVALID, "parameter 'val-high' (%g) is below 'val-low' (%g)",
                         v[5].number, v[4].number);
  return SL_OK;
}

static sl_status
check_low_high (const sl_param_value *v, sl_error *err)
{
  if (v[0].number > v[1].number)
    return sl_error_set (err, SL_ERR_INVALID, "parameter 'high' (%g) is below 'low' (%g)",
                         v[1].number, v[0].number);
  return SL_OK;
}

#define OP(id_, name_, desc_, params_, apply_, check_)                                             \
  {                                                                                                \
    { id_, name_, desc_, N (params_), params_ }, apply_, check_                                    \
  }
#define OP0(id_, name_, desc_, apply_)                                                             \
  {                                                                                                \
    { id_, name_, desc_, 0, NULL }, apply_, NULL                                                   \
  }

static const sl_op ops[] = {
  OP0 ("gray", "Convert to gray", "Turns a colour image into one gray channel", sl_op_gray),
  OP0 ("rgb", "Convert to RGB", "Makes three colour channels (drops alpha, copies gray)",
       sl_op_rgb),
  OP ("hsv-channel", "HSV channel", "Keeps one channel of the hue-saturation-value image",
      hsv_params, sl_op_hsv_channel, NULL),
  OP ("color-range", "Colour range",
      "Selects pixels by hue, saturation and value (HSV in-range); the rest turns black",
      color_range_params, sl_op_color_range, check_color_range),
  OP0 ("to-8bit", "Convert to 8 bit", "Scales 16-bit samples down to 8 bits", sl_op_to_8bit),
  OP ("crop", "Crop", "Cuts out the region of interest", crop_params, sl_op_crop, check_crop),
  OP ("crop-to-part", "Crop to part",
      "Cuts out the bounding box of the largest object, with a margin", crop_to_part_params,
      sl_op_crop_to_part, NULL),
  OP ("resize", "Resize", "Scales to a fixed size, stretching, padding or cropping", resize_params,
      sl_op_resize, NULL),
  OP ("rotate", "Rotate", "Turns the image by a multiple of 90°", rotate_params, sl_op_rotate,
      NULL),
  OP ("flip", "Flip", "Mirrors the image", flip_params, sl_op_flip, NULL),
  OP ("rotate-to-axis", "Rotate to main axis",
      "Turns the image so the largest object's long axis lies level (or upright)",
      rotate_to_axis_params, sl_op_rotate_to_axis, NULL),
  OP ("polar-unwrap", "Polar unwrap",
      "Unrolls a round part around its center into a strip (angle across, radius down)",
      polar_params, sl_op_polar_unwrap, NULL),
  OP ("gaussian-blur", "Gaussian blur", "Smooths noise with a Gaussian kernel", gaussian_params,
      sl_op_gaussian_blur, NULL),
  OP ("median-blur", "Median blur", "Removes salt-and-pepper noise, keeps edges", median_params,
      sl_op_median_blur, NULL),
  OP ("bilateral", "Bilateral filter", "Smooths flat areas while keeping edges sharp",
      bilateral_params, sl_op_bilateral, NULL),
  OP ("sharpen", "Sharpen", "Unsharp mask: adds back the detail a blur removes", sharpen_params,
      sl_op_sharpen, NULL),
  OP ("brightness-contrast", "Brightness and contrast", "Multiplies and offsets every pixel",
      bc_params, sl_op_brightness_contrast, NULL),
  OP ("gamma", "Gamma", "Brightens or darkens the mid-tones", gamma_params, sl_op_gamma, NULL),
  OP0 ("equalize-hist", "Equalize histogram",
       "Spreads gray levels evenly (colour: the luma channel)", sl_op_equalize),
  OP ("clahe", "CLAHE", "Equalizes contrast tile by tile, evening out uneven lighting",
      clahe_params, sl_op_clahe, NULL),
  OP ("flatten-illumination", "Flatten illumination",
      "Evens out uneven lighting: divides by, or subtracts, a smoothed copy of the image",
      flatten_params, sl_op_flatten_illumination, NULL),
  OP ("normalize", "Normalize", "Stretches the levels so the image spans low..high",
      normalize_params, sl_op_normalize, check_low_high),
  OP ("threshold", "Threshold", "Turns the image black and white", threshold_params,
      sl_op_threshold, NULL),
  OP ("morphology", "Morphology", "Erodes, dilates, opens or closes shapes", morph_params,
      sl_op_morphology, NULL),
  OP ("canny", "Canny edges", "Finds thin edges", canny_params, sl_op_canny, check_low_high),
  OP ("sobel", "Sobel magnitude", "Gradient strength in every direction", sobel_params, sl_op_sobel,
      NULL),
  OP ("laplacian", "Laplacian", "Absolute second derivative: highlights fine detail",
      laplacian_params, sl_op_laplacian, NULL),
  OP0 ("invert", "Invert", "Makes dark pixels bright and bright pixels dark", sl_op_invert),
};

int
sl_op_count (void)
{
  return N (ops);
}

const sl_op_info *
sl_op_get (int index)
{
  if (index < 0 || index >= N (ops))
    return NULL;
  return &ops[index].info;
}

const sl_op_info *
sl_op_find (const char *id)
{
  if (id == NULL)
    return NULL;
  for (int i = 0; i < N (ops); i++)
    if (strcmp (ops[i].info.id, id) == 0)
      return &ops[i].info;
  return NULL;
}

const sl_param_spec *
sl_op_find_param (const sl_op_info *op, const char *param_id)
{
  if (op == NULL || param_id == NULL)
    return NULL;
  for (int i = 0; i < op->n_params; i++)
    if (strcmp (op->params[i].id, param_id) == 0)
      return &op->params[i];
  return NULL;
}

const sl_op *
sl_op_from_info (const sl_op_info *info)
{
  return (const sl_op *) info;
}

void
sl_op_defaults (const sl_op *op, sl_param_value *values)
{
  memset (values, 0, sizeof (sl_param_value) * SL_OP_MAX_PARAMS);
  for (int i = 0; i < op->info.n_params; i++)
    {
      values[i].number = op->info.params[i].default_value;
      values[i].rect = op->info.params[i].default_rect;
    }
}

sl_status
sl_param_check (const sl_param_spec *spec, const sl_param_value *value, sl_error *err)
{
  double v = value->number;

  if (spec->type == SL_PARAM_RECT)
    {
      const sl_rect *r = &value->rect;
      const double f[4] = { r->x, r->y, r->width, r->height };

      for (int i = 0; i < 4; i++)
        if (!isfinite (f[i]) || f[i] < spec->min || f[i] > spec->max)
          return sl_error_set (err, SL_ERR_INVALID,
                               "parameter '%s': every field must be within %g..%g", spec->id,
                               spec->min, spec->max);
      return SL_OK;
    }
  if (!isfinite (v))
    return sl_error_set (err, SL_ERR_INVALID, "parameter '%s' is not a finite number", spec->id);
  if (spec->type != SL_PARAM_DOUBLE && v != floor (v))
    return sl_error_set (err, SL_ERR_INVALID, "parameter '%s' must be a whole number, not %g",
                         spec->id, v);
  if (v < spec->min || v > spec->max)
    return sl_error_set (err, SL_ERR_INVALID, "parameter '%s' is %g, outside %g..%g", spec->id, v,
                         spec->min, spec->max);
  if (spec->type == SL_PARAM_INT && spec->step > 1 && fmod (v - spec->min, spec->step) != 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "parameter '%s' is %g but must be %g plus a multiple of %g (odd sizes)",
                         spec->id, v, spec->min, spec->step);
  return SL_OK;
}

sl_status
sl_op_check_all (const sl_op *op, const sl_param_value *values, sl_error *err)
{
  for (int i = 0; i < op->info.n_params; i++)
    {
      sl_status st = sl_param_check (&op->info.params[i], &values[i], err);

      if (st != SL_OK)
        return st;
    }
  return op->check ? op->check (values, err) : SL_OK;
}

static const char *const type_names[] = { "int", "double", "bool", "enum", "rect" };

static cJSON *
param_to_json (const sl_param_spec *p)
{
  cJSON *o = cJSON_CreateObject ();

  cJSON_AddStringToObject (o, "id", p->id);
  cJSON_AddStringToObject (o, "name", p->name);
  cJSON_AddStringToObject (o, "description", p->description);
  cJSON_AddStringToObject (o, "type", type_names[p->type]);
  cJSON_AddStringToObject (o, "unit", p->unit ? p->unit : "");
  switch (p->type)
    {
      case SL_PARAM_INT:
      case SL_PARAM_DOUBLE:
        cJSON_AddNumberToObject (o, "min", p->min);
        cJSON_AddNumberToObject (o, "max", p->max);
        cJSON_AddNumberToObject (o, "step", p->step);
        cJSON_AddNumberToObject (o, "default", p->default_value);
        break;
      case SL_PARAM_BOOL: cJSON_AddBoolToObject (o, "default", p->default_value != 0); break;
      case SL_PARAM_ENUM:
        {
          cJSON *choices = cJSON_AddArrayToObject (o, "choices");

          for (int i = 0; p->choices[i]; i++)
            {
              cJSON *c = cJSON_CreateObject ();

              cJSON_AddStringToObject (c, "id", p->choices[i]);
              cJSON_AddStringToObject (c, "name", p->choice_names[i]);
              cJSON_AddItemToArray (choices, c);
            }
          cJSON_AddStringToObject (o, "default", p->choices[(int) p->default_value]);
        }
        break;
      case SL_PARAM_RECT:
        {
          const double r[4] = { p->default_rect.x, p->default_rect.y, p->default_rect.width,
                                p->default_rect.height };

          cJSON_AddNumberToObject (o, "min", p->min);
          cJSON_AddNumberToObject (o, "max", p->max);
          cJSON_AddItemToObject (o, "default", cJSON_CreateDoubleArray (r, 4));
        }
        break;
    }
  return o;
}

char *
sl_ops_to_json (void)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *list = cJSON_AddArrayToObject (root, "operators");
  char *json;

  for (int i = 0; i < N (ops); i++)
    {
      const sl_op_info *info = &ops[i].info;
      cJSON *o = cJSON_CreateObject (), *params;

      cJSON_AddStringToObject (o, "id", info->id);
      cJSON_AddStringToObject (o, "name", info->name);
      cJSON_AddStringToObject (o, "description", info->description);
      params = cJSON_AddArrayToObject (o, "params");
      for (int j = 0; j < info->n_params; j++)
        cJSON_AddItemToArray (params, param_to_json (&info->params[j]));
      cJSON_AddItemToArray (list, o);
    }
  json = cJSON_Print (root);
  cJSON_Delete (root);
  return json;
}
