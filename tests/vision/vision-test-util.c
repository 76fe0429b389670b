/* vision-test-util.c: Fashion-MNIST test images and temporary directories for the vision tests. */
#include "vision-test-util.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

gboolean
vt_fmnist (int n, sl_idx *images, sl_idx *labels)
{
  const char *dir = g_getenv ("SL_FASHION_MNIST");
  g_autofree char *ipath = NULL, *lpath = NULL;
  sl_error err = { 0 };

  if (dir == NULL)
    dir = "/usr/share/datasets/fashion-mnist";
  ipath = g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL);
  lpath = g_build_filename (dir, "train-labels-idx1-ubyte.gz", NULL);
  if (!g_file_test (ipath, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed");
      return FALSE;
    }
  vt_assert_ok (sl_idx_load (ipath, n, images, &err), &err);
  if (labels)
    vt_assert_ok (sl_idx_load (lpath, n, labels, &err), &err);
  return TRUE;
}

void
vt_fmnist_image (const sl_idx *images, int i, sl_image *out)
{
  sl_error err = { 0 };
  uint8_t *px = images->data + (size_t) i * images->width * images->height;

  vt_assert_ok (sl_image_borrow (out, px, images->width, images->height, 1, 8, images->width, &err),
                &err);
}

static guint8
sample (const sl_idx *images, int i, int x, int y, int scale)
{
  int w = images->width;
  int v = images->data[(size_t) i * w * images->height + (y / scale) * w + x / scale];

  /* A small texture keeps medians, thresholds and edges from being trivial. */
  return (guint8) CLAMP (v + ((x * 7 + y * 13) % 9) - 4, 0, 255);
}

void
vt_make_gray (const sl_idx *images, int i, int scale, sl_image *out)
{
  sl_error err = { 0 };
  int w = images->width * scale, h = images->height * scale;

  vt_assert_ok (sl_image_alloc (out, w, h, 1, 8, &err), &err);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      out->data[y * out->stride + x] = sample (images, i, x, y, scale);
}

void
vt_make_rgb (const sl_idx *images, int i, int scale, int channels, sl_image *out)
{
  sl_error err = { 0 };
  int w = images->width * scale, h = images->height * scale;

  vt_assert_ok (sl_image_alloc (out, w, h, channels, 8, &err), &err);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++)
        out->data[y * out->stride + x * channels + c]
            = c < 3 ? sample (images, i + c, x, y, scale) : (guint8) (255 - (x + y) % 64);
}

void
vt_make_gray16 (const sl_idx *images, int i, int scale, sl_image *out)
{
  sl_error err = { 0 };
  int w = images->width * scale, h = images->height * scale;

  vt_assert_ok (sl_image_alloc (out, w, h, 1, 16, &err), &err);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint16 v = (guint16) (sample (images, i, x, y, scale) * 257 + (x * 31 + y * 17) % 200);

        memcpy (out->data + y * out->stride + 2 * x, &v, 2);
      }
}

char *
vt_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sl-vision-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
vt_rmdir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        vt_rmdir (path);
      else
        g_unlink (path);
    }
  g_dir_close (d);
  g_rmdir (dir);
}

void
vt_set_params (sl_pipeline *p, int step, const char *params)
{
  g_auto (GStrv) pairs = g_strsplit (params, " ", -1);
  sl_error err = { 0 };

  for (int i = 0; pairs[i]; i++)
    {
      g_auto (GStrv) kv = NULL;
      const sl_param_spec *spec;

      if (pairs[i][0] == '\0')
        continue;
      kv = g_strsplit (pairs[i], "=", 2);
      spec = sl_op_find_param (sl_pipeline_step_op (p, step), kv[0]);
      g_assert_nonnull (spec);
      if (spec->type == SL_PARAM_RECT)
        {
          sl_rect r;

          g_assert_cmpint (sscanf (kv[1], "%lf,%lf,%lf,%lf", &r.x, &r.y, &r.width, &r.height), ==,
                           4);
          vt_assert_ok (sl_pipeline_set_rect (p, step, kv[0], r, &err), &err);
        }
      else if (spec->type == SL_PARAM_ENUM)
        vt_assert_ok (sl_pipeline_set_choice (p, step, kv[0], kv[1], &err), &err);
      else if (spec->type == SL_PARAM_BOOL)
        vt_assert_ok (sl_pipeline_set_param (p, step, kv[0], strcmp (kv[1], "true") == 0, &err),
                      &err);
      else
        vt_assert_ok (sl_pipeline_set_param (p, step, kv[0], g_ascii_strtod (kv[1], NULL), &err),
                      &err);
    }
}
