/* sl-image-tiff.c: checks a TIFF file completely with a silent libtiff before OpenCV decodes it, since OpenCV prints its TIFF errors. */
#include "sl-image-private.h"
#include "sl-error-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

typedef struct
{
  const uint8_t *data;
  toff_t size, pos;
  char message[160]; /* libtiff's first error */
} TiffSource;

static tmsize_t
read_proc (thandle_t h, void *buf, tmsize_t n)
{
  TiffSource *s = h;
  toff_t left = s->size - s->pos;

  if (n < 0)
    return 0;
  if ((toff_t) n > left)
    n = (tmsize_t) left;
  memcpy (buf, s->data + s->pos, (size_t) n);
  s->pos += (toff_t) n;
  return n;
}

static tmsize_t
write_proc (thandle_t h, void *buf, tmsize_t n)
{
  (void) h;
  (void) buf;
  (void) n;
  return 0;
}

static toff_t
seek_proc (thandle_t h, toff_t off, int whence)
{
  TiffSource *s = h;
  toff_t pos = whence == SEEK_SET ? off : whence == SEEK_CUR ? s->pos + off : s->size + off;

  s->pos = pos > s->size ? s->size : pos;
  return s->pos;
}

static int
close_proc (thandle_t h)
{
  (void) h;
  return 0;
}

static toff_t
size_proc (thandle_t h)
{
  return ((TiffSource *) h)->size;
}

static int
map_proc (thandle_t h, void **base, toff_t *size)
{
  (void) h;
  (void) base;
  (void) size;
  return 0; /* not mapped: libtiff reads through read_proc, which stops at the end */
}

static void
unmap_proc (thandle_t h, void *base, toff_t size)
{
  (void) h;
  (void) base;
  (void) size;
}

static int
error_handler (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  TiffSource *s = user_data;

  (void) tif;
  (void) module;
  if (s->message[0] == '\0')
    vsnprintf (s->message, sizeof s->message, fmt, ap);
  return 1; /* handled: libtiff's global handler (stderr) is not called */
}

static int
warning_handler (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  (void) tif;
  (void) user_data;
  (void) module;
  (void) fmt;
  (void) ap;
  return 1;
}

/* What OpenCV 4's TIFF reader accepts, so that it never reaches its own
 * (printed) errors; and every strip or tile must decompress. */
static bool
check_fields (TIFF *tif, TiffSource *s)
{
  uint32_t width = 0, height = 0;
  uint16_t photometric = 0, bps = 1, format = SAMPLEFORMAT_UINT;
  char emsg[1024] = "";

  if (!TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &width)
      || !TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &height)
      || !TIFFGetField (tif, TIFFTAG_PHOTOMETRIC, &photometric))
    {
      snprintf (s->message, sizeof s->message, "the size or colour kind is missing");
      return false;
    }
  TIFFGetField (tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetField (tif, TIFFTAG_SAMPLEFORMAT, &format);
  if (bps != 1 && bps != 4 && bps != 8 && bps != 10 && bps != 12 && bps != 14 && bps != 16
      && bps != 32 && bps != 64)
    {
      snprintf (s->message, sizeof s->message, "%u bits per sample", bps);
      return false;
    }
  if ((bps == 4 && photometric != PHOTOMETRIC_PALETTE)
      || (bps <= 16 && format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_INT))
    {
      snprintf (s->message, sizeof s->message, "an unusual sample layout");
      return false;
    }
  /* 8-bit and smaller images go through libtiff's RGBA interface in OpenCV. */
  if (bps <= 8 && !TIFFRGBAImageOK (tif, emsg))
    {
      snprintf (s->message, sizeof s->message, "%s", emsg);
      return false;
    }
  return true;
}

static bool
check_data (TIFF *tif)
{
  bool tiled = TIFFIsTiled (tif) != 0;
  uint32_t n = tiled ? TIFFNumberOfTiles (tif) : TIFFNumberOfStrips (tif);
  tmsize_t chunk = tiled ? TIFFTileSize (tif) : TIFFStripSize (tif);
  void *buf;
  bool ok = true;

  if (chunk <= 0 || n == 0)
    return false;
  buf = malloc ((size_t) chunk);
  if (buf == NULL)
    return false;
  for (uint32_t i = 0; i < n && ok; i++)
    ok = (tiled ? TIFFReadEncodedTile (tif, i, buf, chunk)
                : TIFFReadEncodedStrip (tif, i, buf, chunk))
         >= 0;
  free (buf);
  return ok;
}

sl_status
sl_tiff_check (const uint8_t *data, size_t size, const char *name, sl_error *err)
{
  TiffSource s = { data, size, 0, "" };
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc ();
  TIFF *tif;
  bool ok;

  if (opts == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "%s: out of memory reading a TIFF file", name);
  TIFFOpenOptionsSetErrorHandlerExtR (opts, error_handler, &s);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, warning_handler, &s);
  /* "m": no memory mapping (reads stop at the end of the buffer). */
  tif = TIFFClientOpenExt (name, "rm", &s, read_proc, write_proc, seek_proc, close_proc, size_proc,
                           map_proc, unmap_proc, opts);
  TIFFOpenOptionsFree (opts);
  ok = tif != NULL && check_fields (tif, &s) && check_data (tif);
  if (tif != NULL)
    TIFFClose (tif);
  if (!ok)
    return sl_error_set (err, SL_ERR_FORMAT,
                         "%s: the TIFF data is corrupt or of an unsupported kind%s%s%s", name,
                         s.message[0] ? " (" : "", s.message, s.message[0] ? ")" : "");
  return SL_OK;
}
