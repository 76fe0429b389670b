/* sl-image-file.c: loading and saving image files (whole-file reads, atomic writes). */
#define _GNU_SOURCE
#include "sl-image-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

sl_status
sl_image_load (const char *path, int64_t max_pixels, sl_image *out, sl_error *err)
{
  uint8_t *buf;
  size_t size;
  sl_status st;

  memset (out, 0, sizeof *out);
  if (path == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "no image path given");
  /* Compressed files hardly exceed 4 bytes per pixel of the limit. */
  st = sl_file_read_all (path, (size_t) 1 << 31, &buf, &size, err);
  if (st != SL_OK)
    return st;
  st = sl_image_decode (buf, size, path, max_pixels, out, err);
  free (buf);
  return st;
}

sl_status
sl_image_save (const sl_image *img, const char *path, sl_error *err)
{
  const char *ext = path ? strrchr (path, '.') : NULL;
  uint8_t *buf;
  size_t size;
  sl_status st;

  if (ext == NULL || strchr (ext, '/') != NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "%s has no file extension to choose the format (.png, .jpg, .bmp, "
                         ".tif, .pgm, .ppm)",
                         path ? path : "(null)");
  if (img != NULL && img->depth == 16 && strcasecmp (ext, ".png") != 0
      && strcasecmp (ext, ".tif") != 0 && strcasecmp (ext, ".tiff") != 0
      && strcasecmp (ext, ".pgm") != 0 && strcasecmp (ext, ".ppm") != 0
      && strcasecmp (ext, ".pnm") != 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "%s: %s files cannot hold 16-bit samples; use .png, .tif or .pgm/.ppm",
                         path, ext);
  st = sl_image_encode (img, ext, &buf, &size, err);
  if (st != SL_OK)
    {
      sl_error_prefix (err, "%s", path);
      return st;
    }
  st = sl_file_write_atomic (path, buf, size, err);
  free (buf);
  return st;
}
