/* test-vision-augment.c: augmentations are off by default, seeded, each one effective, and their settings round-trip. */
#include "vision-test-util.h"

#include <string.h>

static void
augment (const sl_augment_config *c, uint64_t seed, const sl_image *in, sl_image *out)
{
  sl_error err = { 0 };

  vt_assert_ok (sl_augment_apply (c, seed, in, out, &err), &err);
  g_assert_cmpint (out->width, ==, in->width);
  g_assert_cmpint (out->height, ==, in->height);
  g_assert_cmpint (out->channels, ==, in->channels);
}

static void
test_off_by_default (void)
{
  sl_augment_config c;
  sl_image in, out;
  sl_idx images;

  if (!vt_fmnist (4, &images, NULL))
    return;
  sl_augment_config_init (&c);
  g_assert_false (sl_augment_config_is_active (&c));
  g_assert_false (sl_augment_config_is_active (NULL));
  vt_make_rgb (&images, 0, 2, 3, &in);
  for (uint64_t seed = 0; seed < 8; seed++)
    {
      augment (&c, seed, &in, &out);
      g_assert_true (sl_image_equal (&in, &out));
      sl_image_clear (&out);
    }
  sl_image_clear (&in);
  sl_idx_clear (&images);
}

/* Turns on augmentation number `which` (the order of the table below). */
static void
enable (sl_augment_config *c, int which)
{
  switch (which)
    {
      case 0: c->flip_horizontal = true; break;
      case 1: c->flip_vertical = true; break;
      case 2: c->rotate_degrees = 10; break;
      case 3: c->shift_fraction = 0.1; break;
      case 4: c->scale_fraction = 0.15; break;
      case 5: c->brightness = 0.2; break;
      case 6: c->contrast = 0.3; break;
      case 7: c->gamma = 0.5; break;
      case 8: c->noise_std = 8; break;
      case 9:
        c->blur_probability = 0.5;
        c->blur_sigma = 1.5;
        break;
      default:
        c->cutout_probability = 0.5;
        c->cutout_fraction = 0.3;
        break;
    }
}

/* Each augmentation alone: deterministic per seed, changes some images,
 * and (where it is random per image) leaves others as they were. */
static void
test_each_augmentation (void)
{
  static const struct
  {
    const char *name;
    gboolean sometimes_identity; /* applied with a probability */
  } augs[] = {
    { "flip-horizontal", TRUE }, { "flip-vertical", TRUE },
    { "rotate", FALSE },         { "shift", FALSE },
    { "scale", FALSE },          { "brightness", FALSE },
    { "contrast", FALSE },       { "gamma", FALSE },
    { "noise", FALSE },          { "blur", TRUE },
    { "cutout", TRUE },
  };
  sl_image in;
  sl_idx images;

  if (!vt_fmnist (4, &images, NULL))
    return;
  vt_make_gray (&images, 1, 2, &in);
  for (gsize a = 0; a < G_N_ELEMENTS (augs); a++)
    {
      sl_augment_config c;
      int changed = 0, same = 0, differ = 0;

      sl_augment_config_init (&c);
      enable (&c, (int) a);
      g_assert_true (sl_augment_config_is_active (&c));
      for (uint64_t seed = 100; seed < 132; seed++)
        {
          sl_image x, y, z;

          augment (&c, seed, &in, &x);
          augment (&c, seed, &in, &y);
          augment (&c, seed + 1000, &in, &z);
          g_assert_true (sl_image_equal (&x, &y)); /* same seed, same image */
          if (sl_image_equal (&x, &in))
            same++;
          else
            changed++;
          if (!sl_image_equal (&x, &z))
            differ++;
          sl_image_clear (&x);
          sl_image_clear (&y);
          sl_image_clear (&z);
        }
      if (changed < 4 || (augs[a].sometimes_identity && same < 4))
        g_error ("%s: %d of 32 images changed", augs[a].name, changed);
      /* Other seeds draw other values (two draws may round to the same levels). */
      if (!augs[a].sometimes_identity && differ < 28)
        g_error ("%s: only %d of 32 other seeds gave another image", augs[a].name, differ);
    }
  sl_image_clear (&in);
  sl_idx_clear (&images);
}

static void
test_flip_is_a_mirror (void)
{
  sl_augment_config c;
  sl_image in, out;
  sl_idx images;
  int mirrored = 0;

  if (!vt_fmnist (4, &images, NULL))
    return;
  vt_make_rgb (&images, 0, 1, 3, &in);
  sl_augment_config_init (&c);
  c.flip_horizontal = true;
  for (uint64_t seed = 0; seed < 16; seed++)
    {
      gboolean flipped = TRUE;

      augment (&c, seed, &in, &out);
      for (int y = 0; y < in.height && flipped; y++)
        for (int x = 0; x < in.width; x++)
          if (memcmp (out.data + y * out.stride + 3 * x,
                      in.data + y * in.stride + 3 * (in.width - 1 - x), 3)
              != 0)
            flipped = FALSE;
      g_assert_true (flipped || sl_image_equal (&in, &out));
      mirrored += flipped;
      sl_image_clear (&out);
    }
  g_assert_cmpint (mirrored, >, 2);
  g_assert_cmpint (mirrored, <, 14);
  sl_image_clear (&in);
  sl_idx_clear (&images);
}

static void
test_config_json_and_validation (void)
{
  sl_augment_config c, d;
  sl_error err = { 0 };
  char *a, *b;
  sl_image img16, out16;

  sl_augment_config_init (&c);
  c.flip_vertical = true;
  c.rotate_degrees = 7.25;
  c.shift_fraction = 1.0 / 3;
  c.noise_std = 2.5;
  c.blur_probability = 0.2;
  c.blur_sigma = 1.1;
  c.cutout_probability = 0.1;
  c.cutout_fraction = 0.25;
  a = sl_augment_config_to_json (&c);
  vt_assert_ok (sl_augment_config_from_json (a, &d, &err), &err);
  g_assert_true (memcmp (&c, &d, sizeof c) == 0);
  b = sl_augment_config_to_json (&d);
  g_assert_cmpstr (a, ==, b);
  sl_free (a);
  sl_free (b);

  g_assert_cmpint (sl_augment_config_from_json ("{\"rotate-degrees\": 500}", &d, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "'rotate-degrees' is 500, outside 0..180"));
  g_assert_cmpint (sl_augment_config_from_json ("{\"rotation\": 5}", &d, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "unknown augmentation setting 'rotation'"));
  g_assert_cmpint (sl_augment_config_from_json ("{\"flip-vertical\": 1}", &d, &err), ==,
                   SL_ERR_INVALID);
  g_assert_cmpint (sl_augment_config_from_json ("nope", &d, &err), ==, SL_ERR_FORMAT);
  c.blur_probability = 0.5;
  c.blur_sigma = 0;
  g_assert_cmpint (sl_augment_config_validate (&c, &err), ==, SL_ERR_INVALID);
  c.blur_sigma = 1;
  c.noise_std = -1;
  g_assert_cmpint (sl_augment_config_validate (&c, &err), ==, SL_ERR_INVALID);
  c.noise_std = 1;
  vt_assert_ok (sl_image_alloc (&img16, 8, 8, 1, 16, &err), &err);
  g_assert_cmpint (sl_augment_apply (&c, 1, &img16, &out16, &err), ==, SL_ERR_INVALID);
  g_assert_null (out16.data);
  g_assert_nonnull (strstr (err.message, "8-bit"));
  sl_image_clear (&img16);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/augment/off-by-default", test_off_by_default);
  g_test_add_func ("/vision/augment/each-augmentation", test_each_augmentation);
  g_test_add_func ("/vision/augment/flip-is-a-mirror", test_flip_is_a_mirror);
  g_test_add_func ("/vision/augment/config-json-and-validation", test_config_json_and_validation);
  return g_test_run ();
}
