/* sl-image-png.c: PNG decoding with libpng that reports through sl_error and never prints (OpenCV's would). */
#include "sl-image-private.h"
#include "sl-error-private.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  const uint8_t *data;
  size_t size, pos;
  char message[160]; /* libpng's error, kept for ours */
} PngSource;

static void
read_fn (png_structp png, png_bytep dst, png_size_t n)
{
  PngSource *src = png_get_io_ptr (png);

  if (n > src->size - src->pos)
    png_error (png, "the file ends early");
  memcpy (dst, src->data + src->pos, n);
  src->pos += n;
}

static void
error_fn (png_structp png, png_const_charp message)
{
  PngSource *src = png_get_error_ptr (png);

  snprintf (src->message, sizeof src->message, "%s", message ? message : "");
  png_longjmp (png, 1);
}

/* Warnings (an sRGB profile libpng dislikes, a bad ancillary chunk) change no
 * pixel: they are dropped instead of printed. */
static void
warning_fn (png_structp png, png_const_charp message)
{
  (void) png;
  (void) message;
}

/* The layout OpenCV's imdecode (IMREAD_UNCHANGED) gives: gray stays gray
 * (tRNS ignored), RGB and palette images are RGB, or RGBA when they carry a
 * tRNS chunk; gray + alpha becomes RGBA; 16 bits stay 16 bits. */
static int
decoded_channels (png_structp png, png_infop info, int color_type)
{
  png_bytep trans = NULL;
  png_color_16p trans_values = NULL;
  int num_trans = 0;

  switch (color_type)
    {
      case PNG_COLOR_TYPE_RGB:
      case PNG_COLOR_TYPE_PALETTE:
        png_get_tRNS (png, info, &trans, &num_trans, &trans_values);
        return num_trans > 0 ? 4 : 3;
      case PNG_COLOR_TYPE_GRAY_ALPHA:
      case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
      default: return 1;
    }
}

sl_status
sl_png_decode (const uint8_t *data, size_t size, const char *name, sl_image *out, sl_error *err)
{
  PngSource src = { data, size, 0, "" };
  png_structp png;
  png_infop info = NULL;
  png_bytep *volatile rows = NULL;
  png_uint_32 width, height;
  int depth, color_type, channels;
  sl_status st;

  memset (out, 0, sizeof *out);
  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &src, error_fn, warning_fn);
  if (png == NULL || (info = png_create_info_struct (png)) == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      return sl_error_set (err, SL_ERR_NOMEM, "%s: out of memory decoding a PNG file", name);
    }
  if (setjmp (png_jmpbuf (png)))
    {
      free (rows);
      sl_image_clear (out);
      png_destroy_read_struct (&png, &info, NULL);
      return sl_error_set (err, SL_ERR_FORMAT,
                           "%s: the PNG data is corrupt and cannot be decoded (%s)", name,
                           src.message);
    }
  png_set_read_fn (png, &src, read_fn);
  png_read_info (png, info);
  png_get_IHDR (png, info, &width, &height, &depth, &color_type, NULL, NULL, NULL);
  channels = decoded_channels (png, info, color_type);
  if (depth == 16)
    png_set_swap (png); /* native (little-endian) samples */
  if (channels < 4)
    png_set_strip_alpha (png);
  else
    png_set_tRNS_to_alpha (png);
  if (color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && depth < 8)
    png_set_expand_gray_1_2_4_to_8 (png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && channels > 1)
    png_set_gray_to_rgb (png);
  png_set_interlace_handling (png);
  png_read_update_info (png, info);
  st = sl_image_alloc (out, (int) width, (int) height, channels, depth == 16 ? 16 : 8, err);
  if (st == SL_OK && png_get_rowbytes (png, info) > out->stride)
    st = sl_error_set (err, SL_ERR_FORMAT, "%s: the PNG rows are longer than its header says",
                       name);
  if (st == SL_OK)
    {
      rows = malloc (sizeof *rows * height);
      if (rows == NULL)
        st = sl_error_set (err, SL_ERR_NOMEM, "%s: out of memory decoding a PNG file", name);
    }
  if (st != SL_OK)
    {
      sl_image_clear (out);
      png_destroy_read_struct (&png, &info, NULL);
      return st;
    }
  for (png_uint_32 y = 0; y < height; y++)
    rows[y] = out->data + (size_t) y * out->stride;
  png_read_image (png, rows);
  png_read_end (png, NULL);
  free (rows);
  png_destroy_read_struct (&png, &info, NULL);
  return SL_OK;
}
