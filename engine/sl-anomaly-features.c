/* sl-anomaly-features.c: PatchCore steps 2-3, layer outputs to patch features (pool, resize, concatenate). */
#include "sl-anomaly-private.h"

#include <math.h>

/* 3x3 average over a zero-padded plane, always divided by 9 (torch
 * AvgPool2d (3, 1, 1) with count_include_pad). */
static void
avgpool3 (const float *src, int h, int w, float *dst)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float s = 0.0f;

        for (int dy = -1; dy <= 1; dy++)
          {
            int yy = y + dy;

            if (yy < 0 || yy >= h)
              continue;
            for (int dx = -1; dx <= 1; dx++)
              {
                int xx = x + dx;

                if (xx >= 0 && xx < w)
                  s += src[(size_t) yy * w + xx];
              }
          }
        dst[(size_t) y * w + x] = s / 9.0f;
      }
}

/* torch's area_pixel_compute_source_index for align_corners=False, in float
 * as its CPU kernel computes it. */
static void
source_index (int dst, float scale, int in, int *i0, int *i1, float *lambda)
{
  float src = scale * ((float) dst + 0.5f) - 0.5f;
  int i;

  if (src < 0.0f)
    src = 0.0f;
  i = (int) src;
  if (i > in - 1)
    i = in - 1;
  *i0 = i;
  *i1 = i < in - 1 ? i + 1 : i;
  *lambda = src - (float) i;
}

void
_sl_anomaly_resize_bilinear (const float *src, int sh, int sw, float *dst, int dh, int dw)
{
  const float sy = (float) sh / (float) dh, sx = (float) sw / (float) dw;

  for (int y = 0; y < dh; y++)
    {
      int y0, y1;
      float ly;

      source_index (y, sy, sh, &y0, &y1, &ly);
      for (int x = 0; x < dw; x++)
        {
          int x0, x1;
          float lx;
          const float *r0 = src + (size_t) y0 * sw, *r1 = src + (size_t) y1 * sw;

          source_index (x, sx, sw, &x0, &x1, &lx);
          dst[(size_t) y * dw + x] = (1.0f - ly) * ((1.0f - lx) * r0[x0] + lx * r0[x1])
                                     + ly * ((1.0f - lx) * r1[x0] + lx * r1[x1]);
        }
    }
}

size_t
_sl_anomaly_patch_scratch (const sl_anomaly_layout *l)
{
  const size_t grid = (size_t) l->grid_h * l->grid_w;
  size_t most = 0;

  for (int k = 0; k < l->n_layers; k++)
    {
      size_t plane = (size_t) l->heights[k] * l->widths[k];
      size_t need = plane + (plane > grid ? plane : grid);

      if (need > most)
        most = need;
    }
  return most;
}

void
_sl_anomaly_patch_features (const sl_anomaly_layout *l, const float *const *layer_outs,
                            int64_t image, float *out, float *scratch)
{
  const size_t grid = (size_t) l->grid_h * l->grid_w;
  int32_t offset = 0;

  for (int k = 0; k < l->n_layers; k++)
    {
      const int c = l->channels[k], h = l->heights[k], w = l->widths[k];
      const size_t plane = (size_t) h * w;
      const float *x = layer_outs[k] + (size_t) image * c * plane;
      const bool resize = h != l->grid_h || w != l->grid_w;
      float *pooled = scratch, *resized = scratch + plane;

      for (int ch = 0; ch < c; ch++)
        {
          const float *src;

          avgpool3 (x + (size_t) ch * plane, h, w, pooled);
          src = pooled;
          if (resize)
            {
              _sl_anomaly_resize_bilinear (pooled, h, w, resized, l->grid_h, l->grid_w);
              src = resized;
            }
          for (size_t p = 0; p < grid; p++)
            out[p * l->dims + offset + ch] = src[p];
        }
      offset += c;
    }
}
