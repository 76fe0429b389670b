/* sl-file.c: atomic writes, so a failed save never damages the previous file, and whole-file reads. */
#define _GNU_SOURCE /* mkostemp */
#include "sl-file-private.h"
#include "sl-error-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
sl_file_open_regular (const char *path, size_t max_bytes, int *fd_out, size_t *size, sl_error *err)
{
  struct stat sb;
  int fd;

  *fd_out = -1;
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
  *fd_out = fd;
  *size = (size_t) sb.st_size;
  return SL_OK;
}

sl_status
sl_file_pread_all (int fd, uint64_t offset, void *dst, size_t len, const char *path, sl_error *err)
{
  uint8_t *p = dst;

  while (len > 0)
    {
      ssize_t n = pread (fd, p, len, (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sl_error_set_errno (err, SL_ERR_IO, "cannot read %s", path);
      if (n == 0)
        return sl_error_set (err, SL_ERR_IO, "%s shrank while being read", path);
      p += n;
      offset += (uint64_t) n;
      len -= (size_t) n;
    }
  return SL_OK;
}

sl_status
sl_file_read_all (const char *path, size_t max_bytes, uint8_t **out, size_t *size, sl_error *err)
{
  uint8_t *buf;
  size_t bytes;
  sl_status st;
  int fd;

  *out = NULL;
  *size = 0;
  st = sl_file_open_regular (path, max_bytes, &fd, &bytes, err);
  if (st != SL_OK)
    return st;
  /* One spare byte keeps text files NUL-terminated for parsers. */
  buf = malloc (bytes + 1);
  if (buf == NULL)
    {
      close (fd);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", path);
    }
  st = sl_file_pread_all (fd, 0, buf, bytes, path, err);
  close (fd);
  if (st != SL_OK)
    {
      free (buf);
      return st;
    }
  buf[bytes] = 0;
  *out = buf;
  *size = bytes;
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
