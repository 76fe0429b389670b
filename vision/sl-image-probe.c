/* sl-image-probe.c: recognises image formats, reads their size and rejects truncated files before decoding. */
#include "sl-image-private.h"
#include "sl-error-private.h"

#include <ctype.h>
#include <string.h>

static uint32_t
be32 (const uint8_t *b)
{
  return ((uint32_t) b[0] << 24) | ((uint32_t) b[1] << 16) | ((uint32_t) b[2] << 8) | b[3];
}

static uint32_t
be16 (const uint8_t *b)
{
  return ((uint32_t) b[0] << 8) | b[1];
}

static uint32_t
le32 (const uint8_t *b)
{
  return ((uint32_t) b[3] << 24) | ((uint32_t) b[2] << 16) | ((uint32_t) b[1] << 8) | b[0];
}

static uint32_t
le16 (const uint8_t *b)
{
  return ((uint32_t) b[1] << 8) | b[0];
}

static sl_status
truncated (const char *name, const char *format, sl_error *err)
{
  return sl_error_set (err, SL_ERR_FORMAT, "%s: the %s file is truncated or corrupt", name, format);
}

/* For files whose end is missing for certain (no end marker): the clearer word. */
static sl_status
cut_off (const char *name, const char *format, const char *what, sl_error *err)
{
  return sl_error_set (err, SL_ERR_FORMAT,
                       "%s is truncated: the %s file ends before its %s (an interrupted copy or "
                       "download?)",
                       name, format, what);
}

static sl_status
probe_png (const uint8_t *d, size_t size, const char *name, sl_image_header *h, sl_error *err)
{
  size_t pos = 8;

  if (size < 33 || memcmp (d + 12, "IHDR", 4) != 0)
    return truncated (name, "PNG", err);
  h->width = be32 (d + 16);
  h->height = be32 (d + 20);
  h->sample_bytes = d[24] == 16 ? 2 : 1;
  /* Gray, -, RGB, palette (RGBA with a tRNS chunk), gray + alpha (decoded as RGBA), -, RGBA. */
  h->channels = d[25] == 0 ? 1 : d[25] == 2 ? 3 : 4;
  /* Walk the chunks to IEND: a cut-off file has no end. */
  while (pos + 12 <= size)
    {
      uint32_t len = be32 (d + pos);

      if (memcmp (d + pos + 4, "IEND", 4) == 0)
        return SL_OK;
      if (memcmp (d + pos + 4, "tRNS", 4) == 0)
        h->channels = 4; /* RGB with a transparent colour decodes as RGBA */
      if (len > size - pos - 12)
        break;
      pos += 12 + (size_t) len;
    }
  return cut_off (name, "PNG", "end chunk (IEND)", err);
}

static bool
is_sof (uint8_t m)
{
  return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

static sl_status
probe_jpeg (const uint8_t *d, size_t size, const char *name, sl_image_header *h, sl_error *err)
{
  size_t pos = 2, scan = 0;
  bool have_size = false;

  while (pos + 4 <= size && scan == 0)
    {
      uint8_t m;

      if (d[pos] != 0xff)
        return truncated (name, "JPEG", err);
      m = d[pos + 1];
      if (m == 0xff)
        {
          pos++; /* fill byte */
          continue;
        }
      if (m == 0x01 || (m >= 0xd0 && m <= 0xd8))
        {
          pos += 2;
          continue;
        }
      if (m == 0xd9)
        break;
      if (is_sof (m) && pos + 10 <= size)
        {
          h->height = be16 (d + pos + 5);
          h->width = be16 (d + pos + 7);
          h->channels = d[pos + 9] >= 1 && d[pos + 9] <= 4 ? d[pos + 9] : 4;
          h->sample_bytes = d[pos + 4] > 8 ? 2 : 1;
          have_size = true;
        }
      if (m == 0xda)
        scan = pos;
      pos += 2 + be16 (d + pos + 2);
    }
  if (!have_size || scan == 0)
    return pos + 4 > size ? cut_off (name, "JPEG", "image data", err)
                          : truncated (name, "JPEG", err);
  /* The entropy-coded data cannot contain FF D9, so a complete file has its
   * end-of-image marker after the first scan. */
  for (size_t i = size - 1; i > scan + 1; i--)
    if (d[i] == 0xd9 && d[i - 1] == 0xff)
      return SL_OK;
  return cut_off (name, "JPEG", "end-of-image marker (FF D9)", err);
}

static sl_status
probe_bmp (const uint8_t *d, size_t size, const char *name, sl_image_header *h, sl_error *err)
{
  uint32_t header, offset, compression = 0, bpp;
  int64_t width, height;

  if (size < 26)
    return truncated (name, "BMP", err);
  offset = le32 (d + 10);
  header = le32 (d + 14);
  if (header == 12)
    {
      width = le16 (d + 18);
      height = le16 (d + 20);
      bpp = le16 (d + 24);
    }
  else
    {
      if (size < 34)
        return truncated (name, "BMP", err);
      width = (int32_t) le32 (d + 18);
      height = (int32_t) le32 (d + 22);
      bpp = le16 (d + 28);
      compression = le32 (d + 30);
    }
  if (height < 0)
    height = -height;
  h->width = width;
  h->height = height;
  h->channels = bpp == 32 ? 4 : 3;
  h->sample_bytes = 1;
  if (width <= 0 || bpp == 0 || bpp > 32)
    return truncated (name, "BMP", err);
  if (compression == 0 || compression == 3)
    {
      uint64_t row = ((uint64_t) width * bpp + 31) / 32 * 4;

      if (offset > size || row * (uint64_t) height > size - offset)
        return truncated (name, "BMP", err);
    }
  return SL_OK;
}

/* Reads the next decimal number of a PNM header, skipping blanks and comments. */
static bool
pnm_number (const uint8_t *d, size_t size, size_t *pos, int64_t *out)
{
  int64_t v = 0;
  bool any = false;

  while (*pos < size && (isspace (d[*pos]) || d[*pos] == '#'))
    {
      if (d[*pos] == '#')
        while (*pos < size && d[*pos] != '\n')
          (*pos)++;
      else
        (*pos)++;
    }
  while (*pos < size && isdigit (d[*pos]) && v < ((int64_t) 1 << 40))
    {
      v = v * 10 + (d[*pos] - '0');
      (*pos)++;
      any = true;
    }
  *out = v;
  return any;
}

static sl_status
probe_pnm (const uint8_t *d, size_t size, const char *name, sl_image_header *h, sl_error *err)
{
  char kind = (char) d[1];
  int64_t maxval = 1;
  size_t pos = 2;

  if (!pnm_number (d, size, &pos, &h->width) || !pnm_number (d, size, &pos, &h->height))
    return truncated (name, "PGM/PPM", err);
  if (kind != '1' && kind != '4'
      && (!pnm_number (d, size, &pos, &maxval) || maxval < 1 || maxval > 65535))
    return truncated (name, "PGM/PPM", err);
  h->channels = kind == '3' || kind == '6' ? 3 : 1;
  h->sample_bytes = maxval > 255 ? 2 : 1;
  if (kind >= '4' && h->width > 0 && h->height > 0 && h->width < ((int64_t) 1 << 31)
      && h->height < ((int64_t) 1 << 31))
    {
      int64_t channels = kind == '6' ? 3 : 1;
      int64_t bytes = kind == '4' ? (h->width + 7) / 8 * h->height
                                  : h->width * h->height * channels * (maxval > 255 ? 2 : 1);

      pos++; /* the single blank after the header */
      if (pos > size || (uint64_t) bytes > size - pos)
        return truncated (name, "PGM/PPM", err);
    }
  return SL_OK;
}

typedef struct
{
  const uint8_t *d;
  size_t size;
  bool big;
} tiff;

static uint32_t
tiff16 (const tiff *t, size_t at)
{
  return t->big ? be16 (t->d + at) : le16 (t->d + at);
}

static uint32_t
tiff32 (const tiff *t, size_t at)
{
  return t->big ? be32 (t->d + at) : le32 (t->d + at);
}

/* Value i of a SHORT or LONG entry (inline when it fits in 4 bytes). */
static bool
tiff_value (const tiff *t, size_t entry, uint32_t i, uint32_t *out)
{
  uint32_t type = tiff16 (t, entry + 2), count = tiff32 (t, entry + 4);
  uint32_t unit = type == 3 ? 2 : type == 4 ? 4 : 0;
  size_t at;

  if (unit == 0 || i >= count)
    return false;
  at = (uint64_t) count * unit <= 4 ? entry + 8 : tiff32 (t, entry + 8);
  at += (size_t) i * unit;
  if (at + unit > t->size)
    return false;
  *out = unit == 2 ? tiff16 (t, at) : tiff32 (t, at);
  return true;
}

static sl_status
probe_tiff (const uint8_t *d, size_t size, const char *name, sl_image_header *h, sl_error *err)
{
  tiff t = { d, size, d[0] == 'M' };
  size_t ifd, offsets = 0, counts = 0;
  uint32_t n, samples = 1, bits = 1;

  ifd = tiff32 (&t, 4);
  if (ifd < 8 || ifd + 2 > size)
    return truncated (name, "TIFF", err);
  n = tiff16 (&t, ifd);
  if (ifd + 2 + (size_t) n * 12 > size)
    return truncated (name, "TIFF", err);
  h->width = h->height = 0;
  for (uint32_t i = 0; i < n; i++)
    {
      size_t e = ifd + 2 + (size_t) i * 12;
      uint32_t tag = tiff16 (&t, e), v = 0;

      if ((tag == 256 || tag == 257) && tiff_value (&t, e, 0, &v))
        *(tag == 256 ? &h->width : &h->height) = v;
      else if (tag == 273 || tag == 324) /* strip or tile offsets */
        offsets = e;
      else if (tag == 279 || tag == 325) /* their byte counts */
        counts = e;
      else if (tag == 277 && tiff_value (&t, e, 0, &v)) /* samples per pixel */
        samples = v;
      else if (tag == 258 && tiff_value (&t, e, 0, &v)) /* bits per sample */
        bits = v;
    }
  /* OpenCV decodes gray + alpha as RGBA. */
  h->channels = samples == 2 ? 4 : samples < 1 ? 1 : samples > 64 ? 64 : (int) samples;
  h->sample_bytes = bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : 8;
  if (h->width <= 0 || h->height <= 0 || offsets == 0 || counts == 0)
    return truncated (name, "TIFF", err);
  for (uint32_t i = 0;; i++)
    {
      uint32_t off, len;

      if (!tiff_value (&t, offsets, i, &off))
        break;
      if (!tiff_value (&t, counts, i, &len) || off > size || len > size - off)
        return truncated (name, "TIFF", err);
    }
  return SL_OK;
}

const char *
sl_image_format_name (sl_image_format format)
{
  static const char *const names[] = { "PNG", "JPEG", "BMP", "TIFF", "PGM/PPM" };

  return names[format];
}

sl_status
sl_image_probe (const uint8_t *d, size_t size, const char *name, sl_image_header *h, sl_error *err)
{
  static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  memset (h, 0, sizeof *h);
  if (size == 0)
    return sl_error_set (err, SL_ERR_FORMAT, "%s is empty (0 bytes), not an image", name);
  if (size >= 8 && memcmp (d, png_sig, 8) == 0)
    {
      h->format = SL_FORMAT_PNG;
      return probe_png (d, size, name, h, err);
    }
  if (size >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
    {
      h->format = SL_FORMAT_JPEG;
      return probe_jpeg (d, size, name, h, err);
    }
  if (size >= 2 && d[0] == 'B' && d[1] == 'M')
    {
      h->format = SL_FORMAT_BMP;
      return probe_bmp (d, size, name, h, err);
    }
  if (size >= 8
      && ((d[0] == 'I' && d[1] == 'I' && d[2] == 42 && d[3] == 0)
          || (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && d[3] == 42)))
    {
      h->format = SL_FORMAT_TIFF;
      return probe_tiff (d, size, name, h, err);
    }
  if (size >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && isspace (d[2]))
    {
      h->format = SL_FORMAT_PNM;
      return probe_pnm (d, size, name, h, err);
    }
  return sl_error_set (err, SL_ERR_FORMAT,
                       "%s is not an image in a supported format (PNG, JPEG, BMP, TIFF, PGM/PPM)",
                       name);
}
