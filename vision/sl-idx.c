/* sl-idx.c: reads IDX files (MNIST, Fashion-MNIST), gzip-compressed or plain. */
#include "sl-idx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* This reader is linked beside libsightline, not into it, so it fills
 * sl_error itself rather than with the library's hidden helpers. */
#if defined(__GNUC__)
__attribute__ ((format (printf, 3, 4)))
#endif
static sl_status
fail (sl_error *err, sl_status code, const char *fmt, ...)
{
  va_list args;

  if (err != NULL)
    {
      err->code = code;
      va_start (args, fmt);
      vsnprintf (err->message, sizeof err->message, fmt, args);
      va_end (args);
    }
  return code;
}

static sl_status
read_exact (gzFile f, void *buf, size_t len, const char *path, sl_error *err)
{
  uint8_t *p = buf;

  while (len > 0)
    {
      unsigned chunk = len > (1u << 30) ? (1u << 30) : (unsigned) len;
      int got = gzread (f, p, chunk);

      if (got <= 0)
        return fail (err, SL_ERR_FORMAT, "%s: the file ends early (truncated download?)", path);
      p += got;
      len -= (size_t) got;
    }
  return SL_OK;
}

static uint32_t
be32 (const uint8_t *b)
{
  return ((uint32_t) b[0] << 24) | ((uint32_t) b[1] << 16) | ((uint32_t) b[2] << 8) | b[3];
}

sl_status
sl_idx_load (const char *path, int64_t max_items, sl_idx *out, sl_error *err)
{
  uint8_t head[4], dims_raw[12];
  uint32_t dims[3] = { 1, 1, 1 };
  sl_status st;
  gzFile f;
  int ndim;

  memset (out, 0, sizeof *out);
  f = gzopen (path, "rb");
  if (f == NULL)
    return fail (err, SL_ERR_IO, "cannot open %s: %s", path, strerror (errno ? errno : ENOENT));

  st = read_exact (f, head, 4, path, err);
  if (st != SL_OK)
    goto out;
  ndim = head[3];
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || ndim < 1 || ndim > 3)
    {
      st = fail (err, SL_ERR_FORMAT,
                 "%s is not an IDX file of unsigned bytes with 1 to 3 dimensions", path);
      goto out;
    }
  st = read_exact (f, dims_raw, 4 * (size_t) ndim, path, err);
  if (st != SL_OK)
    goto out;
  for (int i = 0; i < ndim; i++)
    dims[i] = be32 (dims_raw + 4 * i);
  if (dims[1] > 65536 || dims[2] > 65536 || dims[1] == 0 || dims[2] == 0)
    {
      st = fail (err, SL_ERR_FORMAT, "%s: implausible item size %ux%u", path, dims[1], dims[2]);
      goto out;
    }

  out->count = dims[0];
  if (max_items > 0 && max_items < out->count)
    out->count = max_items;
  out->height = (int) dims[1];
  out->width = (int) dims[2];
  {
    size_t bytes = (size_t) out->count * dims[1] * dims[2];

    out->data = malloc (bytes ? bytes : 1);
    if (out->data == NULL)
      {
        st = fail (err, SL_ERR_NOMEM, "%s: out of memory for %zu bytes", path, bytes);
        goto out;
      }
    st = read_exact (f, out->data, bytes, path, err);
  }

out:
  gzclose (f);
  if (st != SL_OK)
    sl_idx_clear (out);
  return st;
}

void
sl_idx_clear (sl_idx *idx)
{
  if (idx == NULL)
    return;
  free (idx->data);
  memset (idx, 0, sizeof *idx);
}
