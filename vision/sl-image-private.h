/* sl-image-private.h: image format sniffing, encoding and whole-file I/O inside the vision layer. */
#pragma once

#include "sl-vision.h"

SL_BEGIN_DECLS

typedef enum
{
  SL_FORMAT_PNG,
  SL_FORMAT_JPEG,
  SL_FORMAT_BMP,
  SL_FORMAT_TIFF,
  SL_FORMAT_PNM,
} sl_image_format;

typedef struct
{
  sl_image_format format;
  int64_t width, height;
  /* What the decoded image will hold at most (OpenCV expands palettes and
     * gray + alpha): channels 1..4 (more for exotic TIFFs) and bytes per
     * sample 1, 2 or 4. */
  int channels, sample_bytes;
} sl_image_header;

/* Identifies the format from the first bytes, reads the size and sample
 * layout from the header and checks that the file is complete, before any
 * decoder runs. Messages start with `name`. */
sl_status sl_image_probe (const uint8_t *data, size_t size, const char *name, sl_image_header *out,
                          sl_error *err);
const char *sl_image_format_name (sl_image_format format);

/* PNG and JPEG decoders built on libpng and libjpeg directly, so that their
 * warnings and errors become sl_error messages instead of lines on stderr.
 * They give exactly what OpenCV's imdecode (IMREAD_UNCHANGED) gives, in RGB(A)
 * order. *handled is false for the rare JPEG kind left to OpenCV (CMYK). */
sl_status sl_png_decode (const uint8_t *data, size_t size, const char *name, sl_image *out,
                         sl_error *err);
/* Opens a TIFF file with libtiff, its messages kept, and reads every strip
 * or tile: OpenCV's TIFF reader prints its errors, so it only gets files
 * that pass. */
sl_status sl_tiff_check (const uint8_t *data, size_t size, const char *name, sl_error *err);
sl_status sl_jpeg_decode (const uint8_t *data, size_t size, const char *name, sl_image *out,
                          bool *handled, sl_error *err);

/* Encodes to the format named by a file extension (".png", ".jpg", ...); the
 * buffer is malloc'ed. */
sl_status sl_image_encode (const sl_image *img, const char *ext, uint8_t **out, size_t *size,
                           sl_error *err);

/* The OpenCV version the vision layer was built with. */
const char *sl_opencv_version (void);

/* Whole-file reads and atomic writes come from the engine. */
#include "sl-file-private.h"

SL_END_DECLS
