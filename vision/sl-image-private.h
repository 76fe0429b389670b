/* sl-image-private.h: image format sniffing, encoding and whole-file I/O inside the vision layer. */
#pragma once

#include "sl-vision.h"

#ifdef __cplusplus
extern "C"
{
#endif

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
  } sl_image_header;

  /* Identifies the format from the first bytes, reads the size from the header
 * and checks that the file is complete, before any decoder runs. Messages
 * start with `name`. */
  sl_status sl_image_probe (const uint8_t *data, size_t size, const char *name,
                            sl_image_header *out, sl_error *err);
  const char *sl_image_format_name (sl_image_format format);

  /* Encodes to the format named by a file extension (".png", ".jpg", ...); the
 * buffer is malloc'ed. */
  sl_status sl_image_encode (const sl_image *img, const char *ext, uint8_t **out, size_t *size,
                             sl_error *err);

  /* The OpenCV version the vision layer was built with. */
  const char *sl_opencv_version (void);

/* Whole-file reads and atomic writes come from the engine. */
#include "sl-file-private.h"

#ifdef __cplusplus
}
#endif
