/* sl-augment-private.h: one sample's augmentation, drawn from a seed (C) and executed with OpenCV (C++). */
#pragma once

#include "sl-vision.h"

SL_BEGIN_DECLS

/* Concrete values for one image; neutral values mean "skip". */
typedef struct
{
  bool flip_horizontal, flip_vertical;
  double angle, scale, shift_x, shift_y; /* degrees; factor; fractions of the size */
  double contrast, brightness, gamma;    /* factor; 8-bit levels; exponent */
  double blur_sigma;                     /* 0 = no blur */
  double noise_std;
  uint64_t noise_seed;
  bool cutout;
  double cutout_x, cutout_y, cutout_size; /* centre and side as fractions */
} sl_augment_plan;

void sl_augment_draw (const sl_augment_config *config, uint64_t seed, sl_augment_plan *plan);
sl_status sl_augment_run (const sl_augment_plan *plan, const sl_image *in, sl_image *out,
                          sl_error *err);

SL_END_DECLS
