/* sl-file.c: atomic writes and CRC-32, so a failed save never damages the previous file. */
#include "sl-file-private.h"
#include "sl-error-private.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init (void)
{
  for (uint32_t i = 0; i < 256; i++)
    {
      uint32_t c = i;

      for (int k = 0; k < 8; k++)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[i] = c;
    }
}

uint32_t
sl_crc32 (uint32_t crc, const void *data, size_t len)
{
  const uint8_t *p = data;

  pthread_once (&crc_once, crc_init);
  crc = ~crc;
  while (len--)
    crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

sl_status
sl_atomic_file_open (sl_atomic_file *af, const char *path, sl_error *err)
{
  size_t len = strlen (path);
  int fd;

  memset (af, 0, sizeof *af);
  af->final_path = strdup (path);
  af->temp_path = malloc (len + 16);
  if (af->final_path == NULL || af->temp_path == NULL)
    {
      sl_atomic_file_abort (af);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory");
    }
  memcpy (af->temp_path, path, len);
  memcpy (af->temp_path + len, ".tmp-XXXXXX", 12);
  fd = mkstemp (af->temp_path);
  if (fd < 0)
    {
      sl_error_set_errno (err, SL_ERR_IO, "cannot create a file beside %s", path);
      free (af->temp_path);
      af->temp_path = NULL;
      sl_atomic_file_abort (af);
      return SL_ERR_IO;
    }
  af->file = fdopen (fd, "wb");
  if (af->file == NULL)
    {
      close (fd);
      sl_atomic_file_abort (af);
      return sl_error_set_errno (err, SL_ERR_IO, "cannot write beside %s", path);
    }
  return SL_OK;
}

void
sl_atomic_file_write (sl_atomic_file *af, const void *data, size_t len)
{
  if (af->failed || len == 0)
    return;
  if (fwrite (data, 1, len, af->file) != len)
    af->failed = true;
  af->crc = sl_crc32 (af->crc, data, len);
}

sl_status
sl_atomic_file_commit (sl_atomic_file *af, sl_error *err)
{
  sl_status st = SL_OK;

  if (af->failed || fflush (af->file) != 0 || fsync (fileno (af->file)) != 0)
    st = sl_error_set_errno (err, SL_ERR_IO, "cannot write %s (disk full?)", af->final_path);
  if (fclose (af->file) != 0 && st == SL_OK)
    st = sl_error_set_errno (err, SL_ERR_IO, "cannot write %s", af->final_path);
  af->file = NULL;
  if (st == SL_OK && rename (af->temp_path, af->final_path) != 0)
    st = sl_error_set_errno (err, SL_ERR_IO, "cannot replace %s", af->final_path);
  if (st == SL_OK)
    {
      free (af->temp_path);
      af->temp_path = NULL;
    }
  sl_atomic_file_abort (af);
  return st;
}

void
sl_atomic_file_abort (sl_atomic_file *af)
{
  if (af->file != NULL)
    fclose (af->file);
  if (af->temp_path != NULL)
    unlink (af->temp_path);
  free (af->temp_path);
  free (af->final_path);
  af->file = NULL;
  af->temp_path = NULL;
  af->final_path = NULL;
}

sl_status
sl_file_read_all (const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                  sl_error *err)
{
  FILE *f = fopen (path, "rb");
  uint8_t *buf = NULL;
  size_t cap = 0, used = 0;

  *out = NULL;
  *len = 0;
  if (f == NULL)
    return sl_error_set_errno (err, SL_ERR_IO, "cannot open %s", path);
  for (;;)
    {
      size_t got;

      if (used == cap)
        {
          size_t ncap = cap ? cap * 2 : 65536;
          uint8_t *nbuf;

          if (cap >= max_bytes)
            {
              free (buf);
              fclose (f);
              return sl_error_set (err, SL_ERR_FORMAT, "%s is larger than %zu bytes", path,
                                   max_bytes);
            }
          nbuf = realloc (buf, ncap + 1);
          if (nbuf == NULL)
            {
              free (buf);
              fclose (f);
              return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", path);
            }
          buf = nbuf;
          cap = ncap;
        }
      got = fread (buf + used, 1, cap - used, f);
      used += got;
      if (got == 0)
        break;
    }
  if (ferror (f))
    {
      free (buf);
      fclose (f);
      return sl_error_set_errno (err, SL_ERR_IO, "cannot read %s", path);
    }
  fclose (f);
  if (used > max_bytes)
    {
      free (buf);
      return sl_error_set (err, SL_ERR_FORMAT, "%s is larger than %zu bytes", path, max_bytes);
    }
  buf[used] = 0;
  *out = buf;
  *len = used;
  return SL_OK;
}
