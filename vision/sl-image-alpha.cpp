/* sl-image-alpha.cpp: flattening transparent images by a pipeline's alpha rule (composite or mask onto a background). */
#include "sl-cv-private.h"

#include <cstring>

/* One row of RGBA samples (T = uint8_t or uint16_t, W a wide enough integer)
 * to RGB, by the rule. MAX is a constant, so the division is a multiply. */
template <typename T, typename W, W MAX, bool MASK>
static void
flatten_row (const T *__restrict in, T *__restrict out, int width, const W b[3])
{
  const W half = (MAX + 1) / 2;

  for (int x = 0; x < width; x++, in += 4, out += 3)
    {
      const W a = in[3];

      for (int k = 0; k < 3; k++)
        {
          if (MASK)
            out[k] = (T) (a >= half ? (W) in[k] : b[k]);
          else
            /* floor (v / max + 1/2) in integers: v is whole, so this is exact. */
            out[k] = (T) ((a * in[k] + (MAX - a) * b[k] + MAX / 2) / MAX);
        }
    }
}

template <typename T, typename W, W MAX>
static void
flatten_image (const sl_image *in, const sl_alpha_rule *rule, cv::Mat &m)
{
  const W scale = MAX == 255 ? 1 : 257;
  W b[3];

  for (int k = 0; k < 3; k++)
    b[k] = (W) rule->background[k] * scale;
  /* One thread: a prediction's thread count is the caller's choice (sl_classifier_options). */
  for (int y = 0; y < in->height; y++)
    {
      const T *src = (const T *) (const void *) (in->data + (size_t) y * in->stride);

      if (rule->mode == SL_ALPHA_MASK)
        flatten_row<T, W, MAX, true> (src, m.ptr<T> (y), in->width, b);
      else
        flatten_row<T, W, MAX, false> (src, m.ptr<T> (y), in->width, b);
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

    if (in->depth == 16)
      flatten_image<uint16_t, uint64_t, 65535> (in, rule, m);
    else
      flatten_image<uint8_t, uint32_t, 255> (in, rule, m);
    return _sl_cv_take (m, out, err);
  }
  SL_CV_CATCH (err)
}
