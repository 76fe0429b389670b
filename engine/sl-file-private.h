/* sl-file-private.h: safe file writes (temporary file, fsync, rename), whole-file reads and checksums. */
#pragma once

#include "sightline.h"

#include <stdio.h>

SL_BEGIN_DECLS

typedef struct
{
  FILE *file;
  char *final_path;
  char *temp_path;
  uint32_t crc;
  bool failed;
} sl_atomic_file;

/* Opens "<path>.tmp-XXXXXX" beside path; nothing at path changes until commit. */
sl_status sl_atomic_file_open (sl_atomic_file *af, const char *path, sl_error *err);
/* Appends bytes and folds them into the running CRC-32. */
void sl_atomic_file_write (sl_atomic_file *af, const void *data, size_t len);
/* Flushes, fsyncs and renames over the final path; on failure the old file stays. */
sl_status sl_atomic_file_commit (sl_atomic_file *af, sl_error *err);
/* Drops the temporary file. Safe after commit (does nothing then). */
void sl_atomic_file_abort (sl_atomic_file *af);

uint32_t sl_crc32 (uint32_t crc, const void *data, size_t len);

/* Opens a regular file (not a FIFO or device) of at most max_bytes to read,
 * blocking; *size is its size now. Close *fd when done. */
sl_status sl_file_open_regular (const char *path, size_t max_bytes, int *fd, size_t *size,
                                sl_error *err);
/* Reads exactly len bytes at offset; a file that ends first "shrank while
 * being read" (SL_ERR_IO). path names the file in messages. */
sl_status sl_file_pread_all (int fd, uint64_t offset, void *dst, size_t len, const char *path,
                             sl_error *err);
/* Reads a whole regular file (at most max_bytes) into a malloc'ed buffer,
 * NUL-terminated one byte past *size. */
sl_status sl_file_read_all (const char *path, size_t max_bytes, uint8_t **out, size_t *size,
                            sl_error *err);
/* Writes data to path atomically (temporary file, fsync, rename). */
sl_status sl_file_write_atomic (const char *path, const void *data, size_t size, sl_error *err);

SL_END_DECLS
