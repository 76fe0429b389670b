/* sl-frame.c: raw camera pixels (gray, 16-bit gray, RGB, BGR, RGBA, BGRA) as vision images. */
#include "sl-classifier-private.h"
#include "sl-error-private.h"

#include <string.h>

/* The largest side accepted for a raw frame, as for decoded files. */
#define MAX_SIDE 100000

void
sl_frame_init (sl_frame *frame)
{
  memset (frame, 0, sizeof *frame);
  frame->struct_size = sizeof *frame;
  frame->format = SL_PIXEL_GRAY8;
}

static bool
format_layout (sl_pixel_format format, int *channels, int *depth, bool *swap)
{
  *swap = false;
  *depth = 8;
  switch (format)
    {
      case SL_PIXEL_GRAY8: *channels = 1; return true;
      case SL_PIXEL_GRAY16:
        *channels = 1;
        *depth = 16;
        return true;
      case SL_PIXEL_RGB8: *channels = 3; return true;
      case SL_PIXEL_BGR8:
        *channels = 3;
        *swap = true;
        return true;
      case SL_PIXEL_RGBA8: *channels = 4; return true;
      case SL_PIXEL_BGRA8:
        *channels = 4;
        *swap = true;
        return true;
    }
  return false;
}

static sl_status
copy_swapped (const uint8_t *src, int width, int height, size_t stride, int channels, sl_image *out,
              sl_error *err)
{
  sl_status st = sl_image_alloc (out, width, height, channels, 8, err);

  if (st != SL_OK)
    return st;
  for (int y = 0; y < height; y++)
    {
      const uint8_t *s = src + (size_t) y * stride;
      uint8_t *d = out->data + (size_t) y * out->stride;

      for (int x = 0; x < width; x++, s += channels, d += channels)
        {
          d[0] = s[2];
          d[1] = s[1];
          d[2] = s[0];
          if (channels == 4)
            d[3] = s[3];
        }
    }
  return SL_OK;
}

sl_status
sl_frame_to_image (const void *pixels, int32_t width, int32_t height, size_t stride,
                   sl_pixel_format format, int64_t max_pixels, const char *what, sl_image *out,
                   sl_error *err)
{
  int channels, depth;
  bool swap;
  size_t row;

  memset (out, 0, sizeof *out);
  if (!format_layout (format, &channels, &depth, &swap))
    return sl_error_set (err, SL_ERR_INVALID, "%s: unknown pixel format %d", what, (int) format);
  if (pixels == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "%s: no pixels", what);
  if (width <= 0 || height <= 0 || width > MAX_SIDE || height > MAX_SIDE)
    return sl_error_set (err, SL_ERR_INVALID, "%s: %d x %d is not a usable image size", what,
                         (int) width, (int) height);
  if (max_pixels <= 0)
    max_pixels = SL_IMAGE_DEFAULT_MAX_PIXELS;
  if ((int64_t) width * height > max_pixels)
    return sl_error_set (err, SL_ERR_INVALID, "%s: %d x %d pixels is more than the limit of %lld",
                         what, (int) width, (int) height, (long long) max_pixels);
  row = (size_t) width * channels * (depth / 8);
  if (stride == 0)
    stride = row;
  if (stride < row)
    return sl_error_set (err, SL_ERR_INVALID,
                         "%s: a stride of %zu bytes is shorter than a row (%zu bytes)", what,
                         stride, row);
  if (depth == 16 && stride % 2 != 0)
    return sl_error_set (err, SL_ERR_INVALID, "%s: 16-bit rows need an even stride, not %zu bytes",
                         what, stride);
  if (swap)
    return copy_swapped (pixels, width, height, stride, channels, out, err);
  return sl_image_borrow (out, (void *) pixels, width, height, channels, depth, stride, err);
}
