/* test-vision-anomaly-data.c: the synthetic anomaly fixture is seeded, complete, and its masks mark what changed. */
#include "sl-vision.h"
#include "tests/sl-test-anomaly-data.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>

static sl_image
load (const char *dir, const char *sub, const char *name)
{
  g_autofree char *path = g_build_filename (dir, sub, name, NULL);
  sl_image im = { 0 };
  sl_error err = { 0 };

  if (sl_image_load (path, 0, &im, &err) != SL_OK)
    g_error ("%s: %s", path, err.message);
  return im;
}

static void
remove_tree (const char *dir)
{
  const char *sub[] = { "good", "defect", "masks" };

  for (gsize i = 0; i < G_N_ELEMENTS (sub); i++)
    {
      g_autofree char *path = g_build_filename (dir, sub[i], NULL);
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *file = g_build_filename (path, name, NULL);
          g_remove (file);
        }
      g_rmdir (path);
    }
  g_rmdir (dir);
}

/* Files, shapes and determinism: the same seed writes the same bytes, another seed not. */
static void
test_layout_and_seed (void)
{
  g_autofree char *a = g_dir_make_tmp ("sl-anomaly-XXXXXX", NULL);
  g_autofree char *b = g_dir_make_tmp ("sl-anomaly-XXXXXX", NULL);
  g_autofree char *c = g_dir_make_tmp ("sl-anomaly-XXXXXX", NULL);

  g_assert_cmpint (sl_test_write_anomaly_images (a, 3, 5, 64, 7), ==, 0);
  g_assert_cmpint (sl_test_write_anomaly_images (b, 3, 5, 64, 7), ==, 0);
  g_assert_cmpint (sl_test_write_anomaly_images (c, 3, 5, 64, 8), ==, 0);

  sl_image ga = load (a, "good", "good-002.png"), gb = load (b, "good", "good-002.png");
  sl_image gc = load (c, "good", "good-002.png"), g0 = load (a, "good", "good-000.png");
  g_assert_cmpint (ga.width, ==, 64);
  g_assert_cmpint (ga.height, ==, 64);
  g_assert_cmpint (ga.channels, ==, 3);
  g_assert_true (sl_image_equal (&ga, &gb));
  g_assert_false (sl_image_equal (&ga, &gc));
  g_assert_false (sl_image_equal (&ga, &g0)); /* each image is another piece of the surface */

  const char *kinds[] = { "scratch", "spot", "crack", "missing", "contamination" };
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("defect-%03d-%s.png", i, kinds[i]);
      sl_image d = load (a, "defect", name), m = load (a, "masks", name);
      g_assert_cmpint (m.channels, ==, 1);
      g_assert_cmpint (m.width, ==, 64);
      g_assert_cmpint (d.width, ==, 64);
      sl_image_clear (&d);
      sl_image_clear (&m);
    }
  sl_image_clear (&ga);
  sl_image_clear (&gb);
  sl_image_clear (&gc);
  sl_image_clear (&g0);
  remove_tree (a);
  remove_tree (b);
  remove_tree (c);
}

/* Every defect's mask covers a small, non-empty area whose mean colour differs
 * from the rest of the image (darker, brighter or another colour). */
static void
test_masks_mark_the_defect (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sl-anomaly-XXXXXX", NULL);
  const char *kinds[] = { "scratch", "spot", "crack", "missing", "contamination" };

  g_assert_cmpint (sl_test_write_anomaly_images (dir, 0, 15, 224, 3), ==, 0);
  for (int i = 0; i < 15; i++)
    {
      g_autofree char *name = g_strdup_printf ("defect-%03d-%s.png", i, kinds[i % 5]);
      sl_image d = load (dir, "defect", name), m = load (dir, "masks", name);
      double in[3] = { 0 }, out[3] = { 0 }, shift = 0;
      long n_in = 0, n = 224 * 224;
      for (int y = 0; y < 224; y++)
        for (int x = 0; x < 224; x++)
          {
            uint8_t v = m.data[y * m.stride + x];
            g_assert_true (v == 0 || v == 255);
            n_in += v != 0;
            for (int c = 0; c < 3; c++)
              *(v ? &in[c] : &out[c]) += d.data[y * d.stride + x * 3 + c];
          }
      for (int c = 0; c < 3; c++)
        shift = MAX (shift, fabs (in[c] / MAX (n_in, 1) - out[c] / (n - n_in)));
      g_test_message ("%s: %.2f %% of the image, mean colour differs by %.1f levels", name,
                      100.0 * n_in / n, shift);
      g_assert_cmpfloat ((double) n_in / n, >, 0.0003);
      g_assert_cmpfloat ((double) n_in / n, <, 0.1);
      g_assert_cmpfloat (shift, >, 15);
      sl_image_clear (&d);
      sl_image_clear (&m);
    }
  remove_tree (dir);
}

static void
test_bad_arguments (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sl-anomaly-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);

  g_assert_cmpint (sl_test_write_anomaly_images (dir, 1, 1, 16, 1), ==, -1);
  g_assert_cmpint (sl_test_write_anomaly_images (dir, -1, 1, 64, 1), ==, -1);
  g_assert_cmpint (sl_test_write_anomaly_images (NULL, 1, 1, 64, 1), ==, -1);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_cmpint (sl_test_write_anomaly_images (file, 1, 1, 64, 1), ==, -1);
  g_remove (file);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/anomaly-data/layout-and-seed", test_layout_and_seed);
  g_test_add_func ("/anomaly-data/masks-mark-the-defect", test_masks_mark_the_defect);
  g_test_add_func ("/anomaly-data/bad-arguments", test_bad_arguments);
  return g_test_run ();
}
