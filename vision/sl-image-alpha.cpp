/* sl-image-alpha.cpp: flattening transparent images by a pipeline's alpha rule (composite or mask onto a background). */
#include "sl-cv-private.h"

#include <cstring>

/* One row of RGBA samples (T = uint8_t or uint16_t) to RGB, by the rule. */
template <typename T>
static void
flatten_row (const T *in, T *out, int width, const sl_alpha_rule *rule)
{
  const uint64_t max = sizeof (T) == 1 ? 255 : 65535, scale = sizeof (T) == 1 ? 1 : 257;
  const uint64_t half = (max + 1) / 2;
  uint64_t b[3];

  for (int k = 0; k < 3; k++)
    b[k] = rule->background[k] * scale;
  for (int x = 0; x < width; x++, in += 4, out += 3)
    {
      uint64_t a = in[3];

      for (int k = 0; k < 3; k++)
        {
          if (rule->mode == SL_ALPHA_MASK)
            out[k] = (T) (a >= half ? in[k] : b[k]);
          else
            /* floor (v / max + 1/2) in integers: v is whole, so this is exact. */
            out[k] = (T) ((a * in[k] + (max - a) * b[k] + max / 2) / max);
        }
    }
}

static sl_status
check_rule (const sl_alpha_rule *rule, sl_error *err)
{
  if (rule == NULL
      || (rule->mode != SL_ALPHA_DROP && rule->mode != SL_ALPHA_COMPOSITE
          && rule->mode != SL_ALPHA_MASK))
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: the alpha rule must be drop, composite or mask (mode %d)",
                         rule ? (int) rule->mode : -1);
  return SL_OK;
}

extern "C" sl_status
sl_image_flatten_alpha (const sl_image *in, const sl_alpha_rule *rule, sl_image *out, sl_error *err)
{
  sl_status st;

  memset (out, 0, sizeof *out);
  if (in == NULL || in->data == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "cannot flatten an empty image");
  st = check_rule (rule, err);
  if (st != SL_OK)
    return st;
  if (in->channels != 4 || rule->mode == SL_ALPHA_DROP)
    return sl_image_copy (in, out, err);
  SL_CV_TRY
  {
    cv::Mat m (in->height, in->width, in->depth == 16 ? CV_16UC3 : CV_8UC3);

    for (int y = 0; y < in->height; y++)
      {
        const uint8_t *row = in->data + (size_t) y * in->stride;

        if (in->depth == 16)
          flatten_row ((const uint16_t *) (const void *) row, m.ptr<uint16_t> (y), in->width, rule);
        else
          flatten_row (row, m.ptr<uint8_t> (y), in->width, rule);
      }
    return sl_cv_take (m, out, err);
  }
  SL_CV_CATCH (err)
}
