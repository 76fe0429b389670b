/* sl-anomaly-map.c: PatchCore step 7, patch scores to a smoothed map at the input's size. */
#include "sl-anomaly-private.h"

#include <math.h>

static int
radius_of (float sigma)
{
  return (int) ceilf (4.0f * sigma);
}

size_t
_sl_anomaly_map_scratch (int h, int w, float sigma)
{
  const size_t n = (size_t) (h > w ? h : w), r = (size_t) radius_of (sigma);

  return (2 * r + 1) + (n + 2 * r) + n;
}

/* OpenCV's BORDER_REFLECT_101 (torch "reflect"): -1 -> 1, n -> n - 2,
 * repeated while the index is still outside (a radius wider than the plane). */
static int
reflect101 (int i, int n)
{
  if (n == 1)
    return 0;
  while (i < 0 || i >= n)
    i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/* One line of `n` values `stride` apart, convolved in place with the
 * 2r + 1 weights; line holds n + 2r floats of scratch, acc n. Each output
 * sums its taps in order t = -r .. r; the loop runs over outputs innermost
 * so it vectorises without reordering any sum. */
static void
blur_line (float *v, int n, size_t stride, const float *weights, int r, float *line, float *acc)
{
  for (int i = -r; i < n + r; i++)
    line[i + r] = v[(size_t) reflect101 (i, n) * stride];
  for (int i = 0; i < n; i++)
    acc[i] = 0.0f;
  for (int t = 0; t <= 2 * r; t++)
    {
      const float wt = weights[t];
      const float *src = line + t;

      for (int i = 0; i < n; i++)
        acc[i] += wt * src[i];
    }
  for (int i = 0; i < n; i++)
    v[(size_t) i * stride] = acc[i];
}

void
_sl_anomaly_map (const float *grid, int gh, int gw, float sigma, float *map, int h, int w,
                 float *scratch)
{
  const int r = radius_of (sigma);
  const int longest = h > w ? h : w;
  float *weights = scratch, *line = scratch + 2 * r + 1, *acc = line + longest + 2 * r;
  double sum = 0.0;

  _sl_anomaly_resize_bilinear (grid, gh, gw, map, h, w);
  if (r == 0)
    return;
  for (int t = -r; t <= r; t++)
    sum += exp (-(double) t * t / (2.0 * (double) sigma * sigma));
  for (int t = -r; t <= r; t++)
    weights[t + r] = (float) (exp (-(double) t * t / (2.0 * (double) sigma * sigma)) / sum);
  /* Rows first, then columns (the order the reference uses). */
  for (int y = 0; y < h; y++)
    blur_line (map + (size_t) y * w, w, 1, weights, r, line, acc);
  for (int x = 0; x < w; x++)
    blur_line (map + x, h, (size_t) w, weights, r, line, acc);
}
