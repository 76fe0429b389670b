/* test-vision-image.c: decoding every supported format exactly, and rejecting broken files cleanly. */
#include "vision-test-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef struct
{
  sl_idx images;
  char *dir;
  sl_image gray, rgb, rgba, gray16;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  if (!vt_fmnist (8, &f->images, NULL))
    return;
  f->dir = vt_tmpdir ();
  vt_make_gray (&f->images, 0, 3, &f->gray);
  vt_make_rgb (&f->images, 1, 3, 3, &f->rgb);
  vt_make_rgb (&f->images, 2, 3, 4, &f->rgba);
  vt_make_gray16 (&f->images, 3, 3, &f->gray16);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (f->dir)
    vt_rmdir (f->dir);
  g_free (f->dir);
  sl_image_clear (&f->gray);
  sl_image_clear (&f->rgb);
  sl_image_clear (&f->rgba);
  sl_image_clear (&f->gray16);
  sl_idx_clear (&f->images);
}

static char *
save (Fixture *f, const sl_image *img, const char *name)
{
  char *path = g_build_filename (f->dir, name, NULL);
  sl_error err = { 0 };

  vt_assert_ok (sl_image_save (img, path, &err), &err);
  return path;
}

static void
test_lossless_formats (Fixture *f, gconstpointer data)
{
  struct
  {
    const sl_image *img;
    const char *name;
  } files[] = {
    { &f->gray, "gray.png" },  { &f->rgb, "rgb.png" },   { &f->rgba, "rgba.png" },
    { &f->gray16, "g16.png" }, { &f->gray, "gray.bmp" }, { &f->rgb, "rgb.bmp" },
    { &f->gray, "gray.tif" },  { &f->rgb, "rgb.tif" },   { &f->gray16, "g16.tif" },
    { &f->rgba, "rgba.tif" },  { &f->gray, "gray.pgm" }, { &f->gray16, "g16.pgm" },
    { &f->rgb, "rgb.ppm" },
  };

  if (f->dir == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = save (f, files[i].img, files[i].name);
      g_autofree char *bytes = NULL;
      sl_image loaded, decoded;
      sl_error err = { 0 };
      gsize size;

      vt_assert_ok (sl_image_load (path, 0, &loaded, &err), &err);
      if (!sl_image_equal (files[i].img, &loaded))
        g_error ("%s does not round-trip (%dx%d, %d channels, %d bits)", files[i].name,
                 loaded.width, loaded.height, loaded.channels, loaded.depth);
      g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
      vt_assert_ok (sl_image_decode (bytes, size, files[i].name, 0, &decoded, &err), &err);
      g_assert_true (sl_image_equal (&loaded, &decoded));
      sl_image_clear (&loaded);
      sl_image_clear (&decoded);
    }
}

static void
png_chunk (GByteArray *out, const char *type, const guint8 *data, guint32 len)
{
  guint8 be[4] = { len >> 24, len >> 16, len >> 8, len };
  guint32 crc = crc32 (0, (const guint8 *) type, 4);

  if (len > 0) /* crc32 (crc, NULL, 0) restarts the checksum */
    crc = crc32 (crc, data, len);
  g_byte_array_append (out, be, 4);
  g_byte_array_append (out, (const guint8 *) type, 4);
  g_byte_array_append (out, data, len);
  be[0] = crc >> 24, be[1] = crc >> 16, be[2] = crc >> 8, be[3] = crc;
  g_byte_array_append (out, be, 4);
}

/* A 13x7 PNG of random samples in any colour type and bit depth, optionally
 * with a tRNS chunk (and a full palette for palette images). */
static GByteArray *
make_png (int color_type, int depth, gboolean trns, GRand *rand)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  const int w = 13, h = 7;
  int samples = color_type == 0   ? 1
                : color_type == 2 ? 3
                : color_type == 3 ? 1
                : color_type == 4 ? 2
                                  : 4;
  gsize row = 1 + ((gsize) w * samples * depth + 7) / 8;
  g_autofree guint8 *raw = g_malloc (row * h);
  guint8 ihdr[13] = { 0, 0, 0, w, 0, 0, 0, h, depth, color_type, 0, 0, 0 };
  uLongf zlen = compressBound (row * h);
  g_autofree guint8 *z = g_malloc (zlen);
  GByteArray *out = g_byte_array_new ();

  for (gsize i = 0; i < row * h; i++)
    raw[i] = i % row == 0 ? 0 : (guint8) g_rand_int (rand);
  g_byte_array_append (out, sig, 8);
  png_chunk (out, "IHDR", ihdr, 13);
  if (color_type == 3)
    {
      guint8 plte[768];

      for (int i = 0; i < 768; i++)
        plte[i] = (guint8) g_rand_int (rand);
      png_chunk (out, "PLTE", plte, 3 << depth);
      if (trns)
        png_chunk (out, "tRNS", plte + 7, 1 << depth); /* one alpha per entry */
    }
  else if (trns && color_type == 0)
    png_chunk (out, "tRNS", (const guint8[]){ 0, 1 }, 2);
  else if (trns && color_type == 2)
    png_chunk (out, "tRNS", (const guint8[]){ 0, 1, 0, 2, 0, 3 }, 6);
  g_assert_cmpint (compress (z, &zlen, raw, row * h), ==, Z_OK);
  png_chunk (out, "IDAT", z, (guint32) zlen);
  png_chunk (out, "IEND", NULL, 0);
  return out;
}

/* Our libpng decoder gives exactly what OpenCV's imread gives (models trained
 * before it was used must see the same pixels), for every PNG layout. */
static void
test_png_matches_opencv (Fixture *f, gconstpointer data)
{
  static const struct
  {
    int color_type, depth;
  } kinds[] = {
    { 0, 1 }, { 0, 2 }, { 0, 4 }, { 0, 8 }, { 0, 16 }, { 2, 8 }, { 2, 16 }, { 3, 1 },
    { 3, 2 }, { 3, 4 }, { 3, 8 }, { 4, 8 }, { 4, 16 }, { 6, 8 }, { 6, 16 },
  };
  GRand *rand = g_rand_new_with_seed (5);

  if (f->dir == NULL)
    {
      g_rand_free (rand);
      return;
    }
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (int trns = 0; trns < 2; trns++)
      {
        g_autoptr (GByteArray) png = make_png (kinds[k].color_type, kinds[k].depth, trns, rand);
        g_autofree char *name
            = g_strdup_printf ("kind-%d-%d-%d.png", kinds[k].color_type, kinds[k].depth, trns);
        g_autofree char *path = g_build_filename (f->dir, name, NULL);
        g_autofree char *why = NULL;
        sl_image img;
        sl_error err = { 0 };

        g_assert_true (g_file_set_contents (path, (const char *) png->data, png->len, NULL));
        vt_assert_ok (sl_image_load (path, 0, &img, &err), &err);
        if (!vt_reference_imread_matches (path, &img, &why))
          g_error ("%s: %s", name, why);
        sl_image_clear (&img);
      }
  g_rand_free (rand);
}

static void
test_jpeg_matches_opencv (Fixture *f, gconstpointer data)
{
  const sl_image *imgs[] = { &f->gray, &f->rgb };
  const char *names[] = { "gray.jpg", "rgb.jpeg" };

  if (f->dir == NULL)
    return;
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *path = save (f, imgs[i], names[i]);
      g_autofree char *why = NULL;
      sl_image loaded;
      sl_error err = { 0 };

      vt_assert_ok (sl_image_load (path, 0, &loaded, &err), &err);
      g_assert_cmpint (loaded.channels, ==, imgs[i]->channels);
      g_assert_cmpint (loaded.width, ==, imgs[i]->width);
      if (!vt_reference_imread_matches (path, &loaded, &why))
        g_error ("%s: %s", names[i], why);
      sl_image_clear (&loaded);

      /* A Motion-JPEG frame: the same file without its Huffman tables (FF C4
       * segments), which decoders replace by the standard ones. */
      {
        g_autofree char *bytes = NULL;
        g_autofree char *mjpeg = g_strconcat (path, ".mjpeg.jpg", NULL);
        GByteArray *out = g_byte_array_new ();
        gsize n, pos = 2;
        int stripped = 0;

        g_assert_true (g_file_get_contents (path, &bytes, &n, NULL));
        g_byte_array_append (out, (const guint8 *) bytes, 2);
        while (pos + 4 <= n && (guint8) bytes[pos] == 0xff && (guint8) bytes[pos + 1] != 0xda)
          {
            gsize len = 2 + (((guint8) bytes[pos + 2] << 8) | (guint8) bytes[pos + 3]);

            if ((guint8) bytes[pos + 1] == 0xc4)
              stripped++;
            else
              g_byte_array_append (out, (const guint8 *) bytes + pos, len);
            pos += len;
          }
        g_byte_array_append (out, (const guint8 *) bytes + pos, n - pos);
        g_assert_cmpint (stripped, >, 0);
        g_assert_true (g_file_set_contents (mjpeg, (const char *) out->data, out->len, NULL));
        g_byte_array_unref (out);
        vt_assert_ok (sl_image_load (mjpeg, 0, &loaded, &err), &err);
        g_clear_pointer (&why, g_free);
        if (!vt_reference_imread_matches (mjpeg, &loaded, &why))
          g_error ("%s without Huffman tables: %s", names[i], why);
        sl_image_clear (&loaded);
      }
    }
}

/* Writes bytes to dir/name and expects loading it to fail with code, naming the file. */
static void
expect_rejected (Fixture *f, const char *name, const void *bytes, gsize size, int64_t max_pixels,
                 sl_status code, const char *fragment)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  sl_image img;
  sl_error err = { 0 };

  g_assert_true (g_file_set_contents (path, bytes, size, NULL));
  g_assert_cmpint (sl_image_load (path, max_pixels, &img, &err), ==, code);
  g_assert_cmpint (err.code, ==, code);
  g_assert_null (img.data);
  if (strstr (err.message, path) == NULL || strstr (err.message, fragment) == NULL)
    g_error ("%s: the message '%s' should name the file and say '%s'", name, err.message, fragment);
  /* The same through the memory decoder, named by the caller. */
  memset (&err, 0, sizeof err);
  g_assert_cmpint (sl_image_decode (bytes, size, "buffer-x", max_pixels, &img, &err), ==, code);
  g_assert_nonnull (strstr (err.message, "buffer-x"));
}

static GBytes *
file_bytes (Fixture *f, const sl_image *img, const char *name)
{
  g_autofree char *path = save (f, img, name);
  char *bytes;
  gsize size;

  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
  return g_bytes_new_take (bytes, size);
}

static void
test_broken_files (Fixture *f, gconstpointer data)
{
  static const char text[] = "This is a text file, not a picture.\n";
  g_autoptr (GBytes) png = NULL, jpg = NULL, bmp = NULL, tif = NULL, pgm = NULL;
  const guint8 *d;
  gsize n;

  if (f->dir == NULL)
    return;
  png = file_bytes (f, &f->rgb, "ok.png");
  jpg = file_bytes (f, &f->rgb, "ok.jpg");
  bmp = file_bytes (f, &f->rgb, "ok.bmp");
  tif = file_bytes (f, &f->gray, "ok.tif");
  pgm = file_bytes (f, &f->gray, "ok.pgm");

  expect_rejected (f, "empty.png", "", 0, 0, SL_ERR_FORMAT, "empty");
  expect_rejected (f, "text.png", text, sizeof text - 1, 0, SL_ERR_FORMAT, "not an image");
  d = g_bytes_get_data (png, &n);
  expect_rejected (f, "half.png", d, n / 2, 0, SL_ERR_FORMAT, "truncated");
  expect_rejected (f, "header-only.png", d, 40, 0, SL_ERR_FORMAT, "truncated");
  d = g_bytes_get_data (jpg, &n);
  expect_rejected (f, "cut.jpg", d, n * 6 / 10, 0, SL_ERR_FORMAT, "truncated");
  expect_rejected (f, "cut-late.jpg", d, n - 2, 0, SL_ERR_FORMAT, "truncated");
  d = g_bytes_get_data (bmp, &n);
  expect_rejected (f, "cut.bmp", d, n - 100, 0, SL_ERR_FORMAT, "truncated");
  d = g_bytes_get_data (tif, &n);
  expect_rejected (f, "cut.tif", d, n / 2, 0, SL_ERR_FORMAT, "truncated");
  d = g_bytes_get_data (pgm, &n);
  expect_rejected (f, "cut.pgm", d, n - 1, 0, SL_ERR_FORMAT, "truncated");

  /* A PNG claiming 100000 x 100000 pixels: refused before any decoding. */
  {
    g_autofree guint8 *bomb = g_memdup2 (g_bytes_get_data (png, NULL), g_bytes_get_size (png));
    const guint8 big[8] = { 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0 };

    memcpy (bomb + 16, big, 8);
    expect_rejected (f, "bomb.png", bomb, g_bytes_get_size (png), 0, SL_ERR_FORMAT,
                     "100000x100000 pixels, more than the limit");
  }
  /* A JPEG whose frame header says 65000 x 65000. */
  {
    gsize size = g_bytes_get_size (jpg);
    g_autofree guint8 *bomb = g_memdup2 (g_bytes_get_data (jpg, NULL), size);
    gboolean patched = FALSE;

    for (gsize i = 2; i + 9 < size && !patched; i++)
      if (bomb[i] == 0xff && bomb[i + 1] == 0xc0)
        {
          bomb[i + 5] = bomb[i + 7] = 0xfd;
          bomb[i + 6] = bomb[i + 8] = 0xe8;
          patched = TRUE;
        }
    g_assert_true (patched);
    expect_rejected (f, "bomb.jpg", bomb, size, 0, SL_ERR_FORMAT, "65000x65000 pixels");
  }
  /* A configurable limit. */
  d = g_bytes_get_data (png, &n);
  expect_rejected (f, "limit.png", d, n, 84 * 84 - 1, SL_ERR_FORMAT, "more than the limit of 7055");
  /* The limit counts decoded bytes too (4 per pixel of the limit): a 16-bit
   * RGBA image needs 8 bytes a pixel, so at exactly its pixel count it is
   * refused, while the 8-bit RGBA image of the same size passes. */
  {
    g_autoptr (GBytes) rgba16 = NULL, rgba8 = NULL;
    sl_image wide, out;
    sl_error err = { 0 };
    const guint8 *w;
    gsize wn;

    vt_assert_ok (sl_image_alloc (&wide, 84, 84, 4, 16, &err), &err);
    rgba16 = file_bytes (f, &wide, "wide.png");
    sl_image_clear (&wide);
    rgba8 = file_bytes (f, &f->rgba, "narrow.png");
    w = g_bytes_get_data (rgba16, &wn);
    expect_rejected (f, "wide.png", w, wn, 84 * 84, SL_ERR_FORMAT,
                     "84x84 pixels of 4 channels at 16 bits: decoded it takes 56 kB, more than "
                     "the limit of 28 kB");
    vt_assert_ok (sl_image_decode (g_bytes_get_data (rgba8, NULL), g_bytes_get_size (rgba8),
                                   "narrow.png", 84 * 84, &out, &err),
                  &err);
    sl_image_clear (&out);
    /* The case: a small 16-bit RGBA PNG claiming 10000 x 10000 pixels is
     * at the default pixel limit but would take 800 MB: refused from its header. */
    {
      g_autofree guint8 *bomb = g_memdup2 (w, wn);
      const guint8 big[8] = { 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10 };

      memcpy (bomb + 16, big, 8);
      expect_rejected (f, "bomb16.png", bomb, wn, 0, SL_ERR_FORMAT,
                       "decoded it takes 800 MB, more than the limit of 400 MB");
    }
  }
  /* Damaged compressed data with an intact structure. */
  {
    g_autofree guint8 *bad = g_memdup2 (d, n);

    for (gsize i = 60; i < n - 20; i += 7)
      bad[i] ^= 0x5a;
    expect_rejected (f, "damaged.png", bad, n, 0, SL_ERR_FORMAT, "corrupt");
  }
}

/* What the process writes to file descriptor 2 between begin and end. */
typedef struct
{
  int saved, fd;
  char *path;
} Stderr;

static void
stderr_begin (Stderr *s, const char *dir)
{
  s->path = g_build_filename (dir, "stderr.txt", NULL);
  fflush (stderr);
  s->saved = dup (2);
  s->fd = open (s->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (s->saved, >=, 0);
  g_assert_cmpint (s->fd, >=, 0);
  g_assert_cmpint (dup2 (s->fd, 2), ==, 2);
}

static char *
stderr_end (Stderr *s)
{
  char *text = NULL;

  fflush (stderr);
  dup2 (s->saved, 2);
  close (s->saved);
  close (s->fd);
  g_assert_true (g_file_get_contents (s->path, &text, NULL, NULL));
  g_unlink (s->path);
  g_free (s->path);
  return text;
}

/* Cut-off PNG and JPEG files are called truncated, whichever decoder notices. */
static void
test_truncated_files_say_so (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) png = NULL, jpg = NULL, progressive = NULL;
  const guint8 *d;
  gsize n;

  if (f->dir == NULL)
    return;
  png = file_bytes (f, &f->rgba, "t.png");
  jpg = file_bytes (f, &f->rgb, "t.jpg");
  d = g_bytes_get_data (png, &n);
  for (gsize cut = 1; cut < 12; cut++)
    {
      g_autofree char *name = g_strdup_printf ("cut-%zu.png", cut);
      expect_rejected (f, name, d, n - n * cut / 12, 0, SL_ERR_FORMAT, "is truncated");
    }
  expect_rejected (f, "no-iend.png", d, n - 12, 0, SL_ERR_FORMAT, "is truncated");
  d = g_bytes_get_data (jpg, &n);
  for (gsize cut = 1; cut < 12; cut++)
    {
      g_autofree char *name = g_strdup_printf ("cut-%zu.jpg", cut);
      expect_rejected (f, name, d, n - n * cut / 12, 0, SL_ERR_FORMAT, "is truncated");
    }
  /* A truncated file that still ends in FF D9 (a copy tool that "repaired" it):
   * only the decoder can tell, and it says truncated too. */
  {
    g_autofree guint8 *buf = g_memdup2 (d, n);

    buf[n / 2] = 0xff;
    buf[n / 2 + 1] = 0xd9;
    expect_rejected (f, "early-eoi.jpg", buf, n / 2 + 2, 0, SL_ERR_FORMAT, "is truncated");
  }
}

/* libpng, libjpeg, libtiff and OpenCV never write to the terminal from the
 * runtime, whatever the file: every problem is in the returned message. */
static void
test_decoders_never_print (Fixture *f, gconstpointer data)
{
  const char *names[] = { "q.png", "q.jpg", "q.bmp", "q.tif", "q.pgm", "q16.tif", "qa.png" };
  GRand *rand = g_rand_new_with_seed (99);
  g_autofree char *printed = NULL;
  int rejected = 0;
  Stderr capture;

  if (f->dir == NULL)
    {
      g_rand_free (rand);
      return;
    }
  stderr_begin (&capture, f->dir);
  for (gsize k = 0; k < G_N_ELEMENTS (names); k++)
    {
      const sl_image *img = k == 3 || k == 4 ? &f->gray
                            : k == 5         ? &f->gray16
                            : k == 6         ? &f->rgba
                                             : &f->rgb;
      g_autoptr (GBytes) good = file_bytes (f, img, names[k]);
      gsize n = g_bytes_get_size (good);
      g_autofree guint8 *buf = g_malloc (n);

      for (int t = 0; t < 200; t++)
        {
          gsize len = t < 50 ? n * (gsize) t / 50 : n;
          sl_image out;
          sl_error err = { 0 };

          memcpy (buf, g_bytes_get_data (good, NULL), n);
          if (t >= 50)
            for (int j = 0; j < 1 + t % 7; j++)
              buf[g_rand_int_range (rand, 0, (gint32) n)]
                  ^= (guint8) g_rand_int_range (rand, 1, 256);
          if (sl_image_decode (buf, len, names[k], 0, &out, &err) != SL_OK)
            rejected++;
          sl_image_clear (&out);
        }
    }
  printed = stderr_end (&capture);
  g_rand_free (rand);
  g_test_message ("%d of %zu damaged files rejected", rejected, G_N_ELEMENTS (names) * 200);
  if (printed[0] != '\0')
    g_error ("decoding damaged files printed to stderr:\n%s", printed);
  g_assert_cmpint (rejected, >=, 300);
}

static void
test_missing_files (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = NULL;
  sl_image img;
  sl_error err = { 0 };

  if (f->dir == NULL)
    return;
  missing = g_build_filename (f->dir, "missing.png", NULL);
  g_assert_cmpint (sl_image_load (missing, 0, &img, &err), ==, SL_ERR_IO);
  g_assert_nonnull (strstr (err.message, missing));
  g_assert_cmpint (sl_image_load (f->dir, 0, &img, &err), ==, SL_ERR_IO);
  g_assert_nonnull (strstr (err.message, "not a regular file"));
}

/* Cut-off and bit-flipped files must give an image or an error, never a crash. */
static void
test_mutations_never_crash (Fixture *f, gconstpointer data)
{
  const char *names[] = { "m.png", "m.jpg", "m.bmp", "m.tif", "m.pgm" };
  GRand *rand = g_rand_new_with_seed (1234);
  int rejected = 0, accepted = 0;

  if (f->dir == NULL)
    {
      g_rand_free (rand);
      return;
    }
  for (gsize k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autoptr (GBytes) good = file_bytes (f, k == 3 || k == 4 ? &f->gray : &f->rgb, names[k]);
      gsize n = g_bytes_get_size (good);
      g_autofree guint8 *buf = g_malloc (n);

      for (int t = 0; t < 120; t++)
        {
          gsize len = t < 40 ? n * (gsize) t / 40 : n;
          sl_image img;
          sl_error err = { 0 };
          sl_status st;

          memcpy (buf, g_bytes_get_data (good, NULL), n);
          if (t >= 40)
            for (int j = 0; j < 1 + t % 5; j++)
              buf[g_rand_int_range (rand, 0, (gint32) n)]
                  ^= (guint8) g_rand_int_range (rand, 1, 256);
          st = sl_image_decode (buf, len, names[k], 0, &img, &err);
          if (st == SL_OK)
            {
              accepted++;
              g_assert_cmpint (img.width, >, 0);
              sl_image_clear (&img);
            }
          else
            {
              rejected++;
              g_assert_cmpint (st, ==, SL_ERR_FORMAT);
              g_assert_nonnull (strstr (err.message, names[k]));
            }
        }
    }
  g_test_message ("%d damaged files rejected, %d decoded", rejected, accepted);
  g_assert_cmpint (rejected, >=, 200);
  g_rand_free (rand);
}

static void
test_save_is_atomic (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL, *before = NULL, *after = NULL;
  sl_error err = { 0 };
  GDir *dir;
  int files = 0;

  if (f->dir == NULL)
    return;
  path = save (f, &f->gray, "keep.jpg");
  g_assert_true (g_file_get_contents (path, &before, NULL, NULL));
  /* JPEG cannot hold 16 bits, nor PPM an alpha channel: the saves fail, the old file stays. */
  g_assert_cmpint (sl_image_save (&f->gray16, path, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, path));
  g_assert_nonnull (strstr (err.message, "16-bit"));
  {
    g_autofree char *ppm = g_build_filename (f->dir, "keep.ppm", NULL);
    g_autofree char *old = NULL;

    g_assert_true (g_file_set_contents (ppm, "old", 3, NULL));
    g_assert_cmpint (sl_image_save (&f->rgba, ppm, &err), ==, SL_ERR_INVALID);
    g_assert_nonnull (strstr (err.message, ppm));
    g_assert_true (g_file_get_contents (ppm, &old, NULL, NULL));
    g_assert_cmpstr (old, ==, "old");
    files--;
  }
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (sl_image_save (&f->gray, "no-extension", &err), ==, SL_ERR_INVALID);
  dir = g_dir_open (f->dir, 0, NULL);
  while (g_dir_read_name (dir))
    files++;
  g_dir_close (dir);
  g_assert_cmpint (files, ==, 1); /* no temporary file left behind */
}

static void
test_image_basics (void)
{
  uint8_t px[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
  sl_image a, b, c;
  sl_error err = { 0 };

  g_assert_cmpint (sl_image_alloc (&a, 0, 5, 1, 8, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_image_alloc (&a, 5, 5, 2, 8, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_image_alloc (&a, 5, 5, 1, 12, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_image_borrow (&a, px, 4, 3, 1, 8, 3, &err), ==, SL_ERR_INVALID);
  vt_assert_ok (sl_image_borrow (&a, px, 2, 2, 3, 8, 6, &err), &err);
  g_assert_null (a.owner);
  vt_assert_ok (sl_image_copy (&a, &b, &err), &err);
  g_assert_nonnull (b.owner);
  g_assert_true (sl_image_equal (&a, &b));
  b.data[0] = 99;
  g_assert_false (sl_image_equal (&a, &b));
  g_assert_cmpint (px[0], ==, 1);
  vt_assert_ok (sl_image_alloc (&c, 7, 3, 4, 16, &err), &err);
  g_assert_cmpint (c.stride, >=, 7 * 4 * 2);
  for (int y = 0; y < 3; y++)
    for (size_t x = 0; x < 7 * 4 * 2; x++)
      g_assert_cmpint (c.data[y * c.stride + x], ==, 0);
  sl_image_clear (&a); /* borrowed: nothing freed */
  sl_image_clear (&b);
  sl_image_clear (&c);
  sl_image_clear (NULL);
  g_assert_null (b.data);
  g_assert_cmpint (px[5], ==, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/image/basics", test_image_basics);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/vision/image/lossless-formats", test_lossless_formats);
  ADD ("/vision/image/png-matches-opencv", test_png_matches_opencv);
  ADD ("/vision/image/jpeg-matches-opencv", test_jpeg_matches_opencv);
  ADD ("/vision/image/broken-files", test_broken_files);
  ADD ("/vision/image/truncated-files-say-so", test_truncated_files_say_so);
  ADD ("/vision/image/decoders-never-print", test_decoders_never_print);
  ADD ("/vision/image/missing-files", test_missing_files);
  ADD ("/vision/image/mutations-never-crash", test_mutations_never_crash);
  ADD ("/vision/image/save-is-atomic", test_save_is_atomic);
  return g_test_run ();
}
