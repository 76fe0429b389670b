/* sl-thumbnail.c: the one area-averaging reduction behind every thumbnail (dataset grid, recent projects). */
#include "sl-thumbnail.h"

/* One 8-bit sample of a pixel, whatever the depth. */
static inline guint
sample (const sl_image *img, int x, int y, int c)
{
  const guint8 *row = img->data + (gsize) y * img->stride;

  if (img->depth == 16)
    return ((const guint16 *) row)[x * img->channels + c] >> 8;
  return row[x * img->channels + c];
}

/* Scales the width x height area at (left, top) of img to ow x oh pixels of
 * out_c 8-bit samples (3: RGB, 4: RGBA; gray becomes RGB, alpha is 255 without
 * one), rows packed. Each output pixel averages the source area it covers (the
 * nearest pixel when enlarging), its colours weighted by their alpha so that
 * transparent pixels do not tint it; for opaque images that is the plain mean. */
void
sl_thumbnail_reduce (const sl_image *img, int left, int top, int width, int height, int ow, int oh,
                     int out_c, guint8 *pixels)
{
  const int in_c = img->channels;
  g_autofree int *xs = g_new (int, ow + 1);

  g_return_if_fail (out_c == 3 || out_c == 4);
  for (int ox = 0; ox <= ow; ox++)
    xs[ox] = left + (int) ((gint64) ox * width / ow);
  for (int oy = 0; oy < oh; oy++)
    {
      int y0 = top + (int) ((gint64) oy * height / oh);
      int y1 = MAX (y0 + 1, top + (int) ((gint64) (oy + 1) * height / oh));

      for (int ox = 0; ox < ow; ox++)
        {
          int x0 = xs[ox], x1 = MAX (x0 + 1, xs[ox + 1]);
          guint64 colour[3] = { 0 }, alpha = 0, n = (guint64) (x1 - x0) * (y1 - y0);
          guint8 *out = pixels + ((gsize) oy * ow + ox) * out_c;

          for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
              {
                guint a = in_c == 4 ? sample (img, x, y, 3) : 255;

                for (int c = 0; c < 3; c++)
                  colour[c] += (guint64) sample (img, x, y, in_c == 1 ? 0 : c) * a;
                alpha += a;
              }
          for (int c = 0; c < 3; c++)
            out[c] = alpha > 0 ? (guint8) ((colour[c] + alpha / 2) / alpha) : 0;
          if (out_c == 4)
            out[3] = (guint8) ((alpha + n / 2) / n);
        }
    }
}
