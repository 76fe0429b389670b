/* sl-heatmap.c: heatmap overlays: a map drawn in colour over the image it belongs to, and the value range anomaly maps are drawn with.
 *
 * The colour scale runs dark blue -> blue -> teal -> yellow-green -> yellow
 * -> orange -> red; its lightness rises to yellow and falls to red, with no
 * bands of one hue (as jet has), so that equal steps in value read as
 * roughly equal steps in colour. Opacity rises with the value, so that low
 * values leave the image visible and only what stands out is painted. */
#include "sl-classifier-private.h"
#include "sl-error-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  float t;
  unsigned char rgb[3];
} stop;

static const stop colour_stops[] = {
  { 0.00f, { 36, 40, 120 } },   { 0.17f, { 58, 100, 196 } }, { 0.34f, { 64, 168, 200 } },
  { 0.50f, { 120, 206, 140 } }, { 0.64f, { 196, 226, 84 } }, { 0.76f, { 254, 214, 64 } },
  { 0.88f, { 246, 124, 44 } },  { 1.00f, { 204, 24, 28 } },
};
#define N_STOPS (sizeof colour_stops / sizeof colour_stops[0])

/* The scale's colour at t (0 .. 1), each channel 0 .. 255. */
static void
scale_colour (float t, float rgb[3])
{
  size_t i = 1;

  while (i < N_STOPS - 1 && t > colour_stops[i].t)
    i++;
  {
    const stop *a = &colour_stops[i - 1], *b = &colour_stops[i];
    float f = (t - a->t) / (b->t - a->t);

    f = f < 0.0f ? 0.0f : f > 1.0f ? 1.0f : f;
    for (int k = 0; k < 3; k++)
      rgb[k] = a->rgb[k] + f * (b->rgb[k] - a->rgb[k]);
  }
}

sl_status
sl_heatmap_overlay (const sl_image *base, const float *map, float lo, float hi, float opacity,
                    sl_image *out, sl_error *err)
{
  sl_image dst = { 0 };
  sl_status st;

  if (out != NULL)
    memset (out, 0, sizeof *out);
  if (base == NULL || base->data == NULL || map == NULL || out == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "a heatmap overlay needs an image, a map and a place for the result");
  if (base->depth != 8 || (base->channels != 1 && base->channels != 3 && base->channels != 4))
    return sl_error_set (err, SL_ERR_INVALID,
                         "a heatmap overlay is drawn over an 8-bit gray or colour image (as "
                         "sl_classifier_preprocess makes), not %d-bit with %d channels",
                         base->depth, base->channels);
  if (!(isfinite (lo) && isfinite (hi) && lo < hi))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the heatmap's range must be two finite numbers with lo < hi (got %g "
                         "and %g)",
                         lo, hi);
  if (!(opacity >= 0.0f && opacity <= 1.0f))
    return sl_error_set (err, SL_ERR_INVALID, "the heatmap's opacity must be from 0 to 1");
  st = sl_image_alloc (&dst, base->width, base->height, 3, 8, err);
  if (st != SL_OK)
    return st;
  for (int y = 0; y < base->height; y++)
    {
      const unsigned char *src = (const unsigned char *) base->data + (size_t) y * base->stride;
      unsigned char *row = (unsigned char *) dst.data + (size_t) y * dst.stride;
      const float *values = map + (size_t) y * base->width;

      for (int x = 0; x < base->width; x++)
        {
          const unsigned char *px = src + (size_t) x * base->channels;
          float t = (values[x] - lo) / (hi - lo), rgb[3], alpha;

          /* NAN (no value) is drawn as the lowest. */
          t = t > 0.0f ? (t < 1.0f ? t : 1.0f) : 0.0f;
          alpha = opacity * t;
          scale_colour (t, rgb);
          for (int k = 0; k < 3; k++)
            {
              float under = px[base->channels >= 3 ? k : 0];

              row[3 * x + k] = (unsigned char) lrintf (under + alpha * (rgb[k] - under));
            }
        }
    }
  *out = dst;
  return SL_OK;
}

void
sl_anomaly_map_range (float threshold, const float *map, size_t n, float *lo, float *hi)
{
  float min = INFINITY, max = -INFINITY;

  if (isfinite (threshold) && threshold > 0.0f)
    {
      /* Half the threshold and below: clear; the threshold: half painted,
       * yellow-green; half as far again above it: opaque red. */
      *lo = 0.5f * threshold;
      *hi = 1.5f * threshold;
      return;
    }
  for (size_t i = 0; map != NULL && i < n; i++)
    if (isfinite (map[i]))
      {
        min = map[i] < min ? map[i] : min;
        max = map[i] > max ? map[i] : max;
      }
  if (!(min < max))
    {
      /* Nothing to spread: a flat map is drawn clear. */
      *lo = isfinite (min) ? min : 0.0f;
      *hi = *lo + fmaxf (1.0f, fabsf (*lo));
      return;
    }
  *lo = min;
  *hi = max;
}
