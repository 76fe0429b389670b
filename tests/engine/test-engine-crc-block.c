/* test-engine-crc-block.c: the model files' CRC-32 against zlib's, the zeroed memory blocks weights and plans live in, and piecewise file reads. */
#include "engine/sl-block-private.h"
#include "engine/sl-file-private.h"
#include "sl-test-support.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static guint8 *
random_bytes (gsize n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  guint8 *b = g_malloc (n + 1);

  for (gsize i = 0; i < n; i++)
    b[i] = (guint8) g_rand_int (r);
  g_rand_free (r);
  return b;
}

static guint32
zlib_crc (guint32 crc, const guint8 *p, gsize n)
{
  return (guint32) crc32 (crc, p, (uInt) n);
}

/* Every length around the folded path's limits (64 bytes, multiples of 16),
 * at every alignment, and one large buffer: the same value as zlib. */
static void
test_crc_matches_zlib (void)
{
  const gsize big = ((gsize) 3 << 20) + 13;
  g_autofree guint8 *b = random_bytes (big + 64, 7);

  for (gsize off = 0; off < 16; off++)
    for (gsize n = 0; n <= 300; n++)
      g_assert_cmphex (sl_crc32 (0, b + off, n), ==, zlib_crc (0, b + off, n));
  g_assert_cmphex (sl_crc32 (0, b + 3, big), ==, zlib_crc (0, b + 3, big));
  /* Not only random data: runs of zeros and of ones. */
  memset (b, 0, 4096);
  g_assert_cmphex (sl_crc32 (0, b, 4096), ==, zlib_crc (0, b, 4096));
  memset (b, 0xff, 4096);
  g_assert_cmphex (sl_crc32 (0, b, 4096), ==, zlib_crc (0, b, 4096));
  g_assert_cmphex (sl_crc32 (0, "123456789", 9), ==, 0xcbf43926u);
}

/* A CRC continued over pieces equals the CRC of the whole, whatever the cuts
 * (the atomic writer folds each write into a running CRC). */
static void
test_crc_continues (void)
{
  const gsize n = 100000;
  g_autofree guint8 *b = random_bytes (n, 11);
  GRand *r = g_rand_new_with_seed (3);
  const guint32 whole = zlib_crc (0, b, n);

  for (int round = 0; round < 50; round++)
    {
      guint32 crc = 0;

      for (gsize at = 0; at < n;)
        {
          gsize piece = (gsize) g_rand_int_range (r, 0, 700);

          piece = MIN (piece, n - at);

          crc = sl_crc32 (crc, b + at, piece);
          at += piece;
        }
      g_assert_cmphex (crc, ==, whole);
    }
  g_rand_free (r);
}

/* Blocks of every size class are aligned and zero, also when they reuse
 * memory that an earlier block dirtied. */
static void
test_block_zeroed (void)
{
  static const gsize sizes[] = { 0,
                                 1,
                                 64,
                                 1000,
                                 SL_BLOCK_MAPPED_MIN - 1,
                                 SL_BLOCK_MAPPED_MIN,
                                 SL_BLOCK_MAPPED_MIN + 1,
                                 ((gsize) 512 << 10) - 1,
                                 (gsize) 512 << 10,
                                 ((gsize) 2 << 20) - 1,
                                 (gsize) 2 << 20,
                                 ((gsize) 2 << 20) + 4097,
                                 ((gsize) 5 << 20) + 100,
                                 ((gsize) 5 << 20) / 2 + 1 };

  for (int round = 0; round < 2; round++)
    for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        guint8 *b = _sl_block_alloc (sizes[i]);

        g_assert_nonnull (b);
        g_assert_cmpuint ((guintptr) b % 64, ==, 0);
        for (gsize k = 0; k < sizes[i]; k++)
          if (b[k] != 0)
            g_error ("byte %" G_GSIZE_FORMAT " of a %" G_GSIZE_FORMAT "-byte block is %u", k,
                     sizes[i], b[k]);
        memset (b, 0xa5, sizes[i]); /* every byte is writable */
        _sl_block_free (b);
      }
  _sl_block_free (NULL);
  g_assert_null (_sl_block_alloc (SIZE_MAX - 8));
}

/* Reading a file piecewise: exact bytes at any offset; reading past its end
 * is "shrank while being read"; a directory or an oversized file is refused. */
static void
test_pread (void)
{
  const gsize n = ((gsize) 2 << 20) + 77;
  g_autofree guint8 *want = random_bytes (n, 5);
  g_autofree char *dir = sl_test_make_tmp_dir ("sl-crc-block-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "blob", NULL);
  guint8 *got = _sl_block_alloc (n);
  size_t size = 0;
  sl_error err = { 0 };
  int fd = -1;

  g_assert_true (g_file_set_contents (path, (const char *) want, (gssize) n, NULL));
  g_assert_cmpint (sl_file_open_regular (path, n, &fd, &size, &err), ==, SL_OK);
  g_assert_cmpuint (size, ==, n);
  g_assert_cmpint (sl_file_pread_all (fd, 0, got, n, path, &err), ==, SL_OK);
  g_assert_cmpmem (got, n, want, n);
  g_assert_cmpint (sl_file_pread_all (fd, 1000, got, 5000, path, &err), ==, SL_OK);
  g_assert_cmpmem (got, 5000, want + 1000, 5000);
  g_assert_cmpint (sl_file_pread_all (fd, n - 10, got, 11, path, &err), ==, SL_ERR_IO);
  g_assert_nonnull (strstr (err.message, "shrank"));
  close (fd);
  g_assert_cmpint (sl_file_open_regular (path, n - 1, &fd, &size, &err), ==, SL_ERR_FORMAT);
  g_assert_cmpint (fd, ==, -1);
  g_assert_cmpint (sl_file_open_regular (dir, n, &fd, &size, &err), ==, SL_ERR_IO);
  g_assert_cmpint (fd, ==, -1);
  _sl_block_free (got);
  g_remove (path);
  g_assert_cmpint (sl_file_open_regular (path, n, &fd, &size, &err), ==, SL_ERR_IO);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/crc32/matches-zlib", test_crc_matches_zlib);
  g_test_add_func ("/crc32/continues", test_crc_continues);
  g_test_add_func ("/block/zeroed", test_block_zeroed);
  g_test_add_func ("/file/pread", test_pread);
  return g_test_run ();
}
