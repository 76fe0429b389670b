/* sl-file.c: atomic writes and CRC-32, so a failed save never damages the previous file. */
#define _GNU_SOURCE /* mkostemp */
#include "sl-file-private.h"
#include "sl-error-private.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* CRC-32 (the zlib/PNG polynomial), eight bytes per step with eight tables:
 * a weight file is checked at about 2 GB/s, so opening a model stays fast. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init (void)
{
  for (uint32_t i = 0; i < 256; i++)
    {
      uint32_t c = i;

      for (int k = 0; k < 8; k++)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[0][i] = c;
    }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^ (crc_table[t - 1][i] >> 8);
}

uint32_t
sl_crc32 (uint32_t crc, const void *data, size_t len)
{
  const uint8_t *p = data;

  pthread_once (&crc_once, crc_init);
  crc = ~crc;
  for (; len >= 8; len -= 8, p += 8)
    {
      uint32_t lo = crc
                    ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
                       | (uint32_t) p[3] << 24);
      uint32_t hi
          = (uint32_t) p[4] | (uint32_t) p[5] << 8 | (uint32_t) p[6] << 16 | (uint32_t) p[7] << 24;

      crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff]
            ^ crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff]
            ^ crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff]
            ^ crc_table[0][hi >> 24];
    }
  while (len--)
    crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
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
  fd = mkostemp (af->temp_path, O_CLOEXEC);
  if (fd < 0)
    {
      sl_error_set_errno (err, SL_ERR_IO, "cannot create a file beside %s", path);
      free (af->temp_path);
      af->temp_path = NULL;
      sl_atomic_file_abort (af);
      return SL_ERR_IO;
    }
  /* mkstemp makes owner-only files; saved files are ordinary documents. */
  if (fchmod (fd, 0644) != 0)
    {
      close (fd);
      sl_atomic_file_abort (af);
      return sl_error_set_errno (err, SL_ERR_IO, "cannot set the permissions of a file beside %s",
                                 path);
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
sl_file_read_all (const char *path, size_t max_bytes, uint8_t **out, size_t *size, sl_error *err)
{
  struct stat sb;
  uint8_t *buf;
  size_t got = 0;
  int fd;

  *out = NULL;
  *size = 0;
  /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return sl_error_set_errno (err, SL_ERR_IO, "cannot open %s", path);
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      close (fd);
      return sl_error_set (err, SL_ERR_IO, "%s is not a regular file", path);
    }
  /* Regular files ignore O_NONBLOCK, but blocking reads are what is meant. */
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  if ((uint64_t) sb.st_size > max_bytes)
    {
      close (fd);
      return sl_error_set (err, SL_ERR_FORMAT, "%s is %lld bytes, more than the limit of %zu", path,
                           (long long) sb.st_size, max_bytes);
    }
  /* One spare byte keeps text files NUL-terminated for parsers. */
  buf = malloc ((size_t) sb.st_size + 1);
  if (buf == NULL)
    {
      close (fd);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", path);
    }
  while (got < (size_t) sb.st_size)
    {
      ssize_t n = read (fd, buf + got, (size_t) sb.st_size - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sl_status st = n < 0 ? sl_error_set_errno (err, SL_ERR_IO, "cannot read %s", path)
                               : sl_error_set (err, SL_ERR_IO, "%s shrank while being read", path);
          free (buf);
          close (fd);
          return st;
        }
      got += (size_t) n;
    }
  close (fd);
  buf[got] = 0;
  *out = buf;
  *size = got;
  return SL_OK;
}

sl_status
sl_file_write_atomic (const char *path, const void *data, size_t size, sl_error *err)
{
  sl_atomic_file af;
  sl_status st = sl_atomic_file_open (&af, path, err);

  if (st != SL_OK)
    return st;
  sl_atomic_file_write (&af, data, size);
  return sl_atomic_file_commit (&af, err);
}
