/* sl-ops-private.h: the operator table behind the public registry, and the operator implementations. */
#pragma once

#include "sl-vision.h"

SL_BEGIN_DECLS

#define SL_OP_MAX_PARAMS 12

/* One parameter's value: numbers for int, double, bool and enum (index). */
typedef struct
{
  double number;
  sl_rect rect;
} sl_param_value;

/* Operators read their parameters by index, in the order of their specs. */
typedef sl_status (*sl_op_apply_fn) (const sl_image *in, const sl_param_value *values,
                                     sl_image *out, sl_error *err);
/* Checks combinations of parameters (each is already in range); names the parameter. */
typedef sl_status (*sl_op_check_fn) (const sl_param_value *values, sl_error *err);

typedef struct
{
  sl_op_info info; /* first, so that an sl_op_info * converts back */
  sl_op_apply_fn apply;
  sl_op_check_fn check;
} sl_op;

const sl_op *sl_op_from_info (const sl_op_info *info);
void sl_op_defaults (const sl_op *op, sl_param_value *values);
/* Type, range and step of one value; the message names the parameter. */
sl_status sl_param_check (const sl_param_spec *spec, const sl_param_value *value, sl_error *err);
sl_status sl_op_check_all (const sl_op *op, const sl_param_value *values, sl_error *err);

/* sl-ops-color.cpp */
sl_status sl_op_gray (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_rgb (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_hsv_channel (const sl_image *in, const sl_param_value *v, sl_image *out,
                             sl_error *err);
sl_status sl_op_to_8bit (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_invert (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_color_range (const sl_image *in, const sl_param_value *v, sl_image *out,
                             sl_error *err);
/* sl-ops-intensity.cpp */
sl_status sl_op_brightness_contrast (const sl_image *in, const sl_param_value *v, sl_image *out,
                                     sl_error *err);
sl_status sl_op_gamma (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_equalize (const sl_image *in, const sl_param_value *v, sl_image *out,
                          sl_error *err);
sl_status sl_op_clahe (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_normalize (const sl_image *in, const sl_param_value *v, sl_image *out,
                           sl_error *err);
sl_status sl_op_threshold (const sl_image *in, const sl_param_value *v, sl_image *out,
                           sl_error *err);
sl_status sl_op_flatten_illumination (const sl_image *in, const sl_param_value *v, sl_image *out,
                                      sl_error *err);
/* sl-ops-geometry.cpp */
sl_status sl_op_crop (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_resize (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_rotate (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_flip (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
/* sl-ops-part.cpp: the part is the largest object after a threshold. */
sl_status sl_op_crop_to_part (const sl_image *in, const sl_param_value *v, sl_image *out,
                              sl_error *err);
sl_status sl_op_rotate_to_axis (const sl_image *in, const sl_param_value *v, sl_image *out,
                                sl_error *err);
sl_status sl_op_polar_unwrap (const sl_image *in, const sl_param_value *v, sl_image *out,
                              sl_error *err);
/* sl-ops-filter.cpp */
sl_status sl_op_gaussian_blur (const sl_image *in, const sl_param_value *v, sl_image *out,
                               sl_error *err);
sl_status sl_op_median_blur (const sl_image *in, const sl_param_value *v, sl_image *out,
                             sl_error *err);
sl_status sl_op_bilateral (const sl_image *in, const sl_param_value *v, sl_image *out,
                           sl_error *err);
sl_status sl_op_sharpen (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_morphology (const sl_image *in, const sl_param_value *v, sl_image *out,
                            sl_error *err);
/* sl-ops-edge.cpp */
sl_status sl_op_canny (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_sobel (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err);
sl_status sl_op_laplacian (const sl_image *in, const sl_param_value *v, sl_image *out,
                           sl_error *err);

/* sl-input.cpp: the pipeline's last stage (channels, 8 bits, size). */
sl_status sl_input_conform (const sl_input_spec *spec, const sl_image *in, sl_image *out,
                            sl_error *err);

SL_END_DECLS
