/* test-vision-ops-drawn.c: colour range, crop to part, rotate to axis, polar unwrap and illumination flattening on drawn images whose answer is known, their size rules and batches. */
#include "vision-test-util.h"
#include "sl-ops-private.h"
#include "sl-pipeline-cost-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Drawing ---------------------------------------------------------------------------- */

static void
new_image (sl_image *img, int w, int h, int channels, int depth, int fill)
{
  sl_error err = { 0 };

  vt_assert_ok (sl_image_alloc (img, w, h, channels, depth, &err), &err);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w * channels; x++)
      if (depth == 8)
        img->data[(size_t) y * img->stride + x] = (guint8) fill;
      else
        {
          guint16 v = (guint16) fill;
          memcpy (img->data + (size_t) y * img->stride + 2 * x, &v, 2);
        }
}

static int
get (const sl_image *img, int x, int y, int c)
{
  const guint8 *row = img->data + (size_t) y * img->stride;

  if (img->depth == 16)
    {
      guint16 v;
      memcpy (&v, row + 2 * (x * img->channels + c), 2);
      return v;
    }
  return row[x * img->channels + c];
}

static void
put (sl_image *img, int x, int y, int c, int v)
{
  guint8 *row = img->data + (size_t) y * img->stride;

  if (img->depth == 16)
    {
      guint16 s = (guint16) v;
      memcpy (row + 2 * (x * img->channels + c), &s, 2);
    }
  else
    row[x * img->channels + c] = (guint8) v;
}

static void
fill_rect (sl_image *img, int x0, int y0, int w, int h, int v)
{
  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++)
      for (int c = 0; c < img->channels; c++)
        put (img, x, y, c, v);
}

/* A filled ellipse whose long axis points along (cos a, sin a), y downwards. */
static void
fill_ellipse (sl_image *img, double cx, double cy, double ra, double rb, double degrees, int v)
{
  double a = degrees * G_PI / 180, c = cos (a), s = sin (a);

  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      {
        double u = ((x - cx) * c + (y - cy) * s) / ra, w = (-(x - cx) * s + (y - cy) * c) / rb;

        if (u * u + w * w <= 1)
          put (img, x, y, 0, v);
      }
}

/* The main axis of the pixels above `level`, as the operator documents it: degrees clockwise
 * from the x axis, in (-90, 90]; *ratio = mu20 / mu02. */
static double
measured_angle (const sl_image *img, int level, double *ratio, int *count)
{
  double n = 0, sx = 0, sy = 0, a = 0, b = 0, c = 0, mx, my, angle;

  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      if (get (img, x, y, 0) > level)
        n++, sx += x, sy += y;
  mx = sx / n, my = sy / n;
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      if (get (img, x, y, 0) > level)
        {
          a += (x - mx) * (x - mx);
          b += (x - mx) * (y - my);
          c += (y - my) * (y - my);
        }
  angle = 0.5 * atan2 (2 * b, a - c) * 180 / G_PI;
  if (ratio)
    *ratio = a / c;
  if (count)
    *count = (int) n;
  return angle <= -90 ? angle + 180 : angle;
}

/* Runs one operator on `in`; *out is its output before the model-input stage. */
static sl_status
run_op (const char *op, const char *params, const sl_image *in, sl_image *out, sl_error *err)
{
  sl_pipeline *p;
  sl_image stages[2];
  sl_status st;

  vt_assert_ok (sl_pipeline_new (&p, err), err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, op, err), err);
  vt_set_params (p, 0, params);
  st = sl_pipeline_apply_stages (p, in, stages, err);
  *out = stages[0];
  sl_image_clear (&stages[1]);
  sl_pipeline_free (p);
  return st;
}

static void
run_ok (const char *op, const char *params, const sl_image *in, sl_image *out)
{
  sl_error err = { 0 };
  sl_status st = run_op (op, params, in, out, &err);

  if (st != SL_OK)
    g_error ("%s [%s]: %s", op, params, err.message);
}

/* Runs the operator itself, outside a pipeline: the only way it sees an alpha channel when
 * the pipeline's alpha rule resolves transparency before the first step. */
static void
run_op_alone (const char *op, const char *params, const sl_image *in, sl_image *out)
{
  const sl_op *o = sl_op_from_info (sl_op_find (op));
  sl_param_value values[SL_OP_MAX_PARAMS];
  sl_pipeline *p;
  sl_error err = { 0 };

  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, op, &err), &err);
  vt_set_params (p, 0, params);
  sl_op_defaults (o, values);
  for (int i = 0; i < o->info.n_params; i++)
    vt_assert_ok (sl_pipeline_get_param (p, 0, o->info.params[i].id, &values[i].number, &err),
                  &err);
  vt_assert_ok (sl_op_check_all (o, values, &err), &err);
  vt_assert_ok (o->apply (in, values, out, &err), &err);
  sl_pipeline_free (p);
}

static void
run_fails (const char *op, const char *params, const sl_image *in, const char *fragment)
{
  sl_error err = { 0 };
  sl_image out;

  g_assert_cmpint (run_op (op, params, in, &out, &err), ==, SL_ERR_INVALID);
  g_assert_null (out.data);
  if (strstr (err.message, fragment) == NULL)
    g_error ("%s [%s]: message '%s' lacks '%s'", op, params, err.message, fragment);
}

static void
assert_size (const sl_image *img, int w, int h)
{
  g_assert_cmpint (img->width, ==, w);
  g_assert_cmpint (img->height, ==, h);
}

/* ---- Crop to part ----------------------------------------------------------------------- */

static void
test_crop_to_part (void)
{
  sl_image in, out, black, dark, deep, ties;

  /* A 20 x 15 part at (30, 10) and a 3 x 3 speck. */
  new_image (&in, 100, 80, 1, 8, 0);
  fill_rect (&in, 30, 10, 20, 15, 200);
  fill_rect (&in, 80, 70, 3, 3, 255);

  run_ok ("crop-to-part", "", &in, &out); /* Otsu, margin 4 */
  assert_size (&out, 28, 23);
  for (int y = 0; y < 23; y++)
    for (int x = 0; x < 28; x++)
      g_assert_cmpint (get (&out, x, y, 0), ==, get (&in, 26 + x, 6 + y, 0));
  sl_image_clear (&out);

  run_ok ("crop-to-part", "margin=0", &in, &out);
  assert_size (&out, 20, 15);
  g_assert_cmpint (get (&out, 0, 0, 0), ==, 200);
  g_assert_cmpint (get (&out, 19, 14, 0), ==, 200);
  sl_image_clear (&out);

  /* Square: the short side grows evenly (15 -> 20: two rows above, three below). */
  run_ok ("crop-to-part", "margin=0 square=true", &in, &out);
  assert_size (&out, 20, 20);
  g_assert_cmpint (get (&out, 5, 1, 0), ==, 0);
  g_assert_cmpint (get (&out, 5, 2, 0), ==, 200);
  g_assert_cmpint (get (&out, 5, 16, 0), ==, 200);
  g_assert_cmpint (get (&out, 5, 17, 0), ==, 0);
  sl_image_clear (&out);

  /* A margin beyond the image is padding: the size is always the box's. */
  run_ok ("crop-to-part", "margin=40 pad=77", &in, &out);
  assert_size (&out, 100, 95);
  g_assert_cmpint (get (&out, 0, 0, 0), ==, 77);
  g_assert_cmpint (get (&out, 9, 29, 0), ==, 77);
  g_assert_cmpint (get (&out, 10, 30, 0), ==, 0);
  g_assert_cmpint (get (&out, 40, 40, 0), ==, 200);
  g_assert_cmpint (get (&out, 99, 94, 0), ==, 0);
  sl_image_clear (&out);

  /* Nothing large enough: passed on whole, or refused with the numbers. */
  run_ok ("crop-to-part", "min-area=301", &in, &out);
  g_assert_true (sl_image_equal (&in, &out));
  sl_image_clear (&out);
  run_ok ("crop-to-part", "min-area=300 margin=0", &in, &out);
  assert_size (&out, 20, 15);
  sl_image_clear (&out);
  run_fails ("crop-to-part", "min-area=301 if-none=fail", &in,
             "no part found: the largest object has 300 pixels, fewer than 'min-area' (301)");
  new_image (&black, 64, 48, 1, 8, 0);
  run_ok ("crop-to-part", "", &black, &out);
  g_assert_true (sl_image_equal (&black, &out));
  sl_image_clear (&out);
  run_fails ("crop-to-part", "if-none=fail", &black, "largest object has 0 pixels");

  /* A dark part on a bright background. */
  new_image (&dark, 100, 80, 3, 8, 230);
  fill_rect (&dark, 30, 10, 20, 15, 20);
  run_ok ("crop-to-part", "polarity=dark margin=0", &dark, &out);
  assert_size (&out, 20, 15);
  g_assert_cmpint (get (&out, 7, 7, 2), ==, 20);
  sl_image_clear (&out);

  /* 16 bits: found on the image scaled to 8 bits, cut at full depth, padding scaled by 257. */
  new_image (&deep, 100, 80, 1, 16, 1000);
  fill_rect (&deep, 30, 10, 20, 15, 50000);
  run_ok ("crop-to-part", "method=fixed level=128 margin=40 pad=10", &deep, &out);
  assert_size (&out, 100, 95);
  g_assert_cmpint (out.depth, ==, 16);
  g_assert_cmpint (get (&out, 0, 0, 0), ==, 2570);
  g_assert_cmpint (get (&out, 40, 40, 0), ==, 50000);
  sl_image_clear (&out);

  /* Equal areas: the higher object wins, then the one further left. */
  new_image (&ties, 100, 80, 1, 8, 0);
  fill_rect (&ties, 60, 40, 10, 10, 150);
  fill_rect (&ties, 10, 50, 10, 10, 250);
  fill_rect (&ties, 80, 5, 5, 20, 120);
  run_ok ("crop-to-part", "method=fixed level=100 margin=0", &ties, &out);
  assert_size (&out, 5, 20);
  sl_image_clear (&out);
  fill_rect (&ties, 80, 5, 5, 20, 0);
  fill_rect (&ties, 35, 40, 10, 10, 200);
  run_ok ("crop-to-part", "method=fixed level=100 margin=0", &ties, &out);
  g_assert_cmpint (get (&out, 0, 0, 0), ==, 200);
  sl_image_clear (&out);

  sl_image_clear (&in);
  sl_image_clear (&black);
  sl_image_clear (&dark);
  sl_image_clear (&deep);
  sl_image_clear (&ties);
}

/* ---- Rotate to main axis ---------------------------------------------------------------- */

static void
test_rotate_to_axis (void)
{
  static const double angles[] = { 30, -50, 75, -5 };
  sl_image in, out, round;
  double ratio, angle;
  int before, after;

  for (gsize i = 0; i < G_N_ELEMENTS (angles); i++)
    {
      new_image (&in, 160, 120, 1, 8, 0);
      fill_ellipse (&in, 80, 60, 40, 10, angles[i], 255);
      angle = measured_angle (&in, 127, NULL, &before);
      g_assert_cmpfloat (fabs (angle - angles[i]), <, 1);

      run_ok ("rotate-to-axis", "", &in, &out);
      assert_size (&out, 160, 120);
      angle = measured_angle (&out, 127, &ratio, NULL);
      g_assert_cmpfloat (fabs (angle), <, 1);
      g_assert_cmpfloat (ratio, >, 8);
      sl_image_clear (&out);

      run_ok ("rotate-to-axis", "axis=vertical", &in, &out);
      angle = measured_angle (&out, 127, &ratio, NULL);
      g_assert_cmpfloat (90 - fabs (angle), <, 1);
      g_assert_cmpfloat (ratio, <, 1.0 / 8);
      sl_image_clear (&out);

      /* Fit: the whole turned image, corners padded. */
      run_ok ("rotate-to-axis", "size=fit pad=50", &in, &out);
      {
        double r = angles[i] * G_PI / 180, c = fabs (cos (r)), s = fabs (sin (r));

        /* The turn is the measured angle, within a degree of the drawn one. */
        g_assert_cmpint (abs (out.width - (int) lround (160 * c + 120 * s)), <=, 2);
        g_assert_cmpint (abs (out.height - (int) lround (160 * s + 120 * c)), <=, 2);
      }
      g_assert_cmpint (get (&out, 0, 0, 0), ==, 50);
      angle = measured_angle (&out, 127, NULL, &after);
      g_assert_cmpfloat (fabs (angle), <, 1);
      g_assert_cmpint (abs (after - before), <, before / 30);
      sl_image_clear (&out);
      sl_image_clear (&in);
    }

  /* A round part has no axis: the image passes unchanged, as it does with no part. */
  new_image (&round, 100, 100, 1, 8, 0);
  fill_ellipse (&round, 50, 50, 30, 28, 20, 200);
  run_ok ("rotate-to-axis", "", &round, &out);
  g_assert_true (sl_image_equal (&round, &out));
  sl_image_clear (&out);
  run_ok ("rotate-to-axis", "min-elongation=1", &round, &out);
  g_assert_false (sl_image_equal (&round, &out));
  sl_image_clear (&out);
  fill_rect (&round, 0, 0, 100, 100, 0);
  run_ok ("rotate-to-axis", "size=fit", &round, &out);
  g_assert_true (sl_image_equal (&round, &out));
  sl_image_clear (&out);
  sl_image_clear (&round);
}

/* ---- Polar unwrap ----------------------------------------------------------------------- */

static void
test_polar_unwrap (void)
{
  sl_image rings, wedge, disc, out;

  /* Rings 8 px wide around (50, 40): row j of the output is radius j. */
  new_image (&rings, 120, 100, 1, 8, 0);
  for (int y = 0; y < 100; y++)
    for (int x = 0; x < 120; x++)
      put (&rings, x, y, 0, ((int) (hypot (x - 50, y - 40) / 8)) % 2 ? 200 : 30);
  run_ok ("polar-unwrap", "center=given x=50 y=40 radius=40 width=72 height=40", &rings, &out);
  assert_size (&out, 72, 40);
  for (int j = 0; j < 40; j++)
    if (j % 8 >= 2 && j % 8 <= 6) /* all four neighbours within one ring */
      for (int i = 0; i < 72; i++)
        g_assert_cmpint (get (&out, i, j, 0), ==, (j / 8) % 2 ? 200 : 30);
  sl_image_clear (&out);

  /* Column 0 is 3 o'clock and the angle runs clockwise on screen: the lower-right quadrant
   * fills the first quarter of the columns. */
  new_image (&wedge, 101, 101, 3, 8, 30);
  for (int y = 51; y < 101; y++)
    for (int x = 51; x < 101; x++)
      for (int c = 0; c < 3; c++)
        put (&wedge, x, y, c, 200);
  run_ok ("polar-unwrap", "center=image width=72 height=50", &wedge, &out);
  assert_size (&out, 72, 50);
  g_assert_cmpint (out.channels, ==, 3);
  for (int j = 20; j < 50; j++)
    for (int i = 0; i < 72; i++)
      if (i >= 3 && i <= 15)
        g_assert_cmpint (get (&out, i, j, 1), ==, 200);
      else if (i >= 21 && i <= 69)
        g_assert_cmpint (get (&out, i, j, 1), ==, 30);
  sl_image_clear (&out);

  /* Centred on the part: a disc of radius 20 at (90, 45); the largest circle around it that
   * stays inside the image has radius 45, so row j is radius j. */
  new_image (&disc, 140, 100, 1, 8, 0);
  fill_ellipse (&disc, 90, 45, 20, 20, 0, 180);
  run_ok ("polar-unwrap", "width=64 height=45", &disc, &out);
  for (int i = 0; i < 64; i++)
    {
      for (int j = 0; j <= 18; j++)
        g_assert_cmpint (get (&out, i, j, 0), ==, 180);
      for (int j = 22; j < 45; j++)
        g_assert_cmpint (get (&out, i, j, 0), ==, 0);
    }
  sl_image_clear (&out);
  run_ok ("polar-unwrap", "center=image width=64 height=45", &disc, &out);
  g_assert_cmpint (get (&out, 0, 0, 0), ==, 0);
  sl_image_clear (&out);

  run_fails ("polar-unwrap", "center=given x=500 y=10", &disc, "lies outside the 140x100 image");
  run_fails ("polar-unwrap", "center=given x=0 y=50", &disc, "give a 'radius'");
  run_ok ("polar-unwrap", "center=given x=0 y=50 radius=30", &disc, &out);
  assert_size (&out, 360, 64);
  sl_image_clear (&out);

  sl_image_clear (&rings);
  sl_image_clear (&wedge);
  sl_image_clear (&disc);
}

/* ---- Colour range ----------------------------------------------------------------------- */

static void
test_color_range (void)
{
  /* Red (hue 0), rose (350°), orange (30°), green (120°), blue (240°), gray. */
  static const int bands[6][3] = { { 255, 0, 0 }, { 255, 0, 43 }, { 255, 128, 0 },
                                   { 0, 200, 0 }, { 0, 0, 255 },  { 128, 128, 128 } };
  static const struct
  {
    const char *params;
    int selected[6];
  } cases[] = {
    { "hue-low=340 hue-high=20 sat-low=60", { 1, 1, 0, 0, 0, 0 } },
    { "hue-low=340 hue-high=20 sat-low=60 invert=true", { 0, 0, 1, 1, 1, 1 } },
    { "hue-low=340 hue-high=20 sat-low=0", { 1, 1, 0, 0, 0, 1 } }, /* gray has hue 0 */
    { "hue-low=100 hue-high=140", { 0, 0, 0, 1, 0, 0 } },
    { "hue-low=100 hue-high=140 val-high=199", { 0, 0, 0, 0, 0, 0 } },
    { "hue-low=0 hue-high=360 sat-low=1", { 1, 1, 1, 1, 1, 0 } },
    { "hue-low=20 hue-high=250", { 0, 0, 1, 1, 1, 0 } },
  };
  sl_image in, out, gray, deep;

  new_image (&in, 60, 20, 3, 8, 0);
  for (int b = 0; b < 6; b++)
    for (int y = 0; y < 20; y++)
      for (int x = 10 * b; x < 10 * b + 10; x++)
        for (int c = 0; c < 3; c++)
          put (&in, x, y, c, bands[b][c]);
  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *mask = g_strconcat (cases[k].params, " output=mask", NULL);

      run_ok ("color-range", mask, &in, &out);
      g_assert_cmpint (out.channels, ==, 1);
      for (int b = 0; b < 6; b++)
        if (get (&out, 10 * b + 5, 10, 0) != (cases[k].selected[b] ? 255 : 0))
          g_error ("color-range [%s]: band %d is %d", mask, b, get (&out, 10 * b + 5, 10, 0));
      sl_image_clear (&out);
      run_ok ("color-range", cases[k].params, &in, &out);
      g_assert_cmpint (out.channels, ==, 3);
      for (int b = 0; b < 6; b++)
        for (int c = 0; c < 3; c++)
          g_assert_cmpint (get (&out, 10 * b + 5, 10, c), ==,
                           cases[k].selected[b] ? bands[b][c] : 0);
      sl_image_clear (&out);
    }
  new_image (&gray, 20, 20, 1, 8, 100);
  run_fails ("color-range", "", &gray, "needs a colour image");
  new_image (&deep, 20, 20, 3, 16, 100);
  run_fails ("color-range", "", &deep, "Convert to 8 bit");
  sl_image_clear (&in);
  sl_image_clear (&gray);
  sl_image_clear (&deep);
}

/* ---- Illumination flattening ------------------------------------------------------------ */

/* A ramp from 60 to 200 left to right with a dark 6 x 6 spot in the middle. */
static void
lit_unevenly (sl_image *img, int channels, int depth)
{
  int k = depth == 16 ? 257 : 1;

  new_image (img, 300, 300, channels, depth, 0);
  for (int y = 0; y < 300; y++)
    for (int x = 0; x < 300; x++)
      for (int c = 0; c < channels; c++)
        {
          int v = (int) lround (60 + 140.0 * x / 299);

          if (x >= 150 && x < 156 && y >= 150 && y < 156)
            v -= 50;
          put (img, x, y, c, c == 3 ? (x * 7 + y) % 256 : v * k);
        }
}

static void
check_flat (const sl_image *out, int level, int tolerance, int spot_below)
{
  for (int y = 70; y <= 230; y++)
    for (int x = 70; x <= 230; x++)
      if (abs (x - 152) > 30 || abs (y - 152) > 30)
        for (int c = 0; c < MIN (out->channels, 3); c++)
          if (abs (get (out, x, y, c) - level) > tolerance)
            g_error ("(%d, %d) is %d, not %d +- %d", x, y, get (out, x, y, c), level, tolerance);
  g_assert_cmpint (get (out, 152, 152, 0), <, spot_below);
}

static void
test_flatten_illumination (void)
{
  sl_image gray, deep, rgba, out;

  lit_unevenly (&gray, 1, 8);
  g_assert_cmpint (get (&gray, 230, 100, 0) - get (&gray, 70, 100, 0), >, 70);
  run_ok ("flatten-illumination", "sigma=20 level=128", &gray, &out);
  check_flat (&out, 128, 3, 100);
  sl_image_clear (&out);
  run_ok ("flatten-illumination", "mode=subtract sigma=20 level=100", &gray, &out);
  check_flat (&out, 100, 2, 70);
  sl_image_clear (&out);

  lit_unevenly (&deep, 1, 16);
  run_ok ("flatten-illumination", "sigma=20 level=128", &deep, &out);
  g_assert_cmpint (out.depth, ==, 16);
  check_flat (&out, 128 * 257, 3 * 257, 100 * 257);
  sl_image_clear (&out);

  /* Colour keeps its hue: every channel is divided by the same (gray) background. */
  {
    static const int colour[3] = { 200, 100, 50 };
    sl_image rgb;

    new_image (&rgb, 300, 300, 3, 8, 0);
    for (int y = 0; y < 300; y++)
      for (int x = 0; x < 300; x++)
        for (int c = 0; c < 3; c++)
          put (&rgb, x, y, c, (int) lround (colour[c] * (0.4 + 0.6 * x / 299)));
    run_ok ("flatten-illumination", "sigma=20 level=128", &rgb, &out);
    /* gray = 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2 times the light */
    for (int y = 70; y <= 230; y += 5)
      for (int x = 70; x <= 230; x += 5)
        for (int c = 0; c < 3; c++)
          g_assert_cmpint (abs (get (&out, x, y, c) - (int) lround (128.0 * colour[c] / 124.2)), <=,
                           2);
    sl_image_clear (&out);
    sl_image_clear (&rgb);
  }

  /* Alpha is kept as it was. */
  lit_unevenly (&rgba, 4, 8);
  run_op_alone ("flatten-illumination", "mode=subtract sigma=20 level=100", &rgba, &out);
  g_assert_cmpint (out.channels, ==, 4);
  check_flat (&out, 100, 2, 70);
  for (int y = 0; y < 300; y += 7)
    for (int x = 0; x < 300; x += 3)
      g_assert_cmpint (get (&out, x, y, 3), ==, get (&rgba, x, y, 3));
  sl_image_clear (&out);

  sl_image_clear (&gray);
  sl_image_clear (&deep);
  sl_image_clear (&rgba);
}

/* ---- Output sizes and the cost estimate ---------------------------------------------------- */

/* The pipeline's cost estimate (what a model's pipeline may take per image, checked against
 * the caller's limits when a model opens) follows each step's output size. The size of these
 * operators' output depends on the image or the parameters; the estimate must never be below
 * what the step really holds: its input and its output. */
static void
test_cost_covers_output (void)
{
  static const struct
  {
    const char *op, *params;
  } cases[] = {
    { "color-range", "" },
    { "color-range", "output=mask" },
    { "crop-to-part", "polarity=dark margin=200 square=true" },
    { "crop-to-part", "margin=0" },
    { "rotate-to-axis", "size=fit min-elongation=1" },
    { "rotate-to-axis", "axis=vertical size=keep" },
    { "polar-unwrap", "width=2000 height=900" },
    { "polar-unwrap", "center=image width=8 height=2" },
    { "flatten-illumination", "sigma=120" },
    { "flatten-illumination", "mode=subtract sigma=5" },
  };
  sl_image in, out;

  new_image (&in, 400, 300, 3, 8, 40);
  fill_ellipse (&in, 200, 150, 120, 40, 35, 220);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      sl_pipeline *p;
      sl_pipeline_cost cost;
      sl_error err = { 0 };
      double held;

      vt_assert_ok (sl_pipeline_new (&p, &err), &err);
      vt_assert_ok (sl_pipeline_insert_step (p, -1, cases[i].op, &err), &err);
      vt_set_params (p, 0, cases[i].params);
      _sl_pipeline_measure (p, in.width, in.height, in.channels, in.depth, &cost);
      run_ok (cases[i].op, cases[i].params, &in, &out);
      held = (double) in.height * in.width * in.channels
             + (double) out.height * out.width * out.channels;
      g_test_message ("%s [%s]: %dx%d -> %dx%dx%d; estimated %.0f bytes, %.2f MFLOP", cases[i].op,
                      cases[i].params, in.width, in.height, out.width, out.height, out.channels,
                      (double) cost.peak_bytes, cost.flops / 1e6);
      if ((double) cost.peak_bytes < held)
        g_error ("%s [%s]: the cost estimate (%.0f bytes) is below the %.0f bytes held",
                 cases[i].op, cases[i].params, (double) cost.peak_bytes, held);
      g_assert_cmpfloat (cost.flops, >, 0);
      sl_image_clear (&out);
      sl_pipeline_free (p);
    }
  sl_image_clear (&in);
}

/* ---- Training batches ------------------------------------------------------------------------ */

/* One epoch of batches from a loader with `workers` threads, as one float array. */
static float *
epoch_floats (const sl_image *images, const int32_t *labels, int n, const sl_pipeline *p,
              int workers, size_t *count)
{
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };
  size_t per = 0, total = 0;
  float *all;
  int32_t got[8];
  int k;

  sl_loader_config_init (&c);
  c.batch_size = 8;
  c.workers = workers;
  c.seed = 7;
  vt_assert_ok (sl_loader_new_images (images, labels, n, p, &c, &l, &err), &err);
  per = sl_loader_image_floats (l);
  all = g_new (float, per *n);
  vt_assert_ok (sl_loader_begin_epoch (l, 0, &err), &err);
  do
    {
      vt_assert_ok (sl_loader_next (l, all + total * per, got, 8, &k, &err), &err);
      total += k;
    }
  while (k > 0);
  g_assert_cmpuint (total, ==, n);
  sl_loader_free (l);
  *count = per * n;
  return all;
}

/* Parts cropped and turned to sizes that differ from image to image still make fixed-size
 * training batches, and the same ones whatever the number of loader threads. */
static void
test_loader_batches (void)
{
  static const char json[]
      = "{\"input\": {\"width\": 32, \"height\": 32, \"channels\": 1}, \"steps\": ["
        "{\"op\": \"rotate-to-axis\", \"params\": {\"size\": \"fit\"}},"
        "{\"op\": \"crop-to-part\", \"params\": {\"margin\": 2, \"square\": true}},"
        "{\"op\": \"flatten-illumination\", \"params\": {\"sigma\": 16, \"mode\": "
        "\"subtract\"}}]}";
  enum
  {
    N = 40
  };
  sl_idx images;
  sl_image views[N];
  int32_t labels[N];
  sl_pipeline *p;
  sl_error err = { 0 };
  g_autofree float *one = NULL, *three = NULL;
  size_t n1, n3;
  int sizes[N], distinct = 0;

  if (!vt_fmnist (N, &images, NULL))
    return;
  vt_assert_ok (sl_pipeline_from_json (json, &p, &err), &err);
  for (int i = 0; i < N; i++)
    {
      sl_image stages[4];

      vt_fmnist_image (&images, i, &views[i]);
      labels[i] = i % 3;
      vt_assert_ok (sl_pipeline_apply_stages (p, &views[i], stages, &err), &err);
      sizes[i] = (stages[0].width * 1000 + stages[0].height) * 1000 + stages[1].width;
      for (int j = 0; j < i && sizes[i] != sizes[j]; j++)
        distinct += j == i - 1; /* no earlier image matched */
      g_assert_cmpint (stages[3].width, ==, 32);
      for (int s = 0; s < 4; s++)
        sl_image_clear (&stages[s]);
    }
  g_test_message ("%d of %d images take step sizes no earlier image took", distinct, N);
  g_assert_cmpint (distinct, >=, N / 4);
  one = epoch_floats (views, labels, N, p, 1, &n1);
  three = epoch_floats (views, labels, N, p, 3, &n3);
  g_assert_cmpuint (n1, ==, (size_t) N * 32 * 32);
  g_assert_cmpuint (n1, ==, n3);
  g_assert_true (memcmp (one, three, n1 * sizeof (float)) == 0);
  sl_pipeline_free (p);
  sl_idx_clear (&images);
}

/* ---- Parameters --------------------------------------------------------------------------- */

static void
expect_json_error (const char *step, const char *fragment)
{
  g_autofree char *json = g_strdup_printf ("{\"steps\": [{\"op\": \"gray\"}, %s]}", step);
  sl_pipeline *p = NULL;
  sl_error err = { 0 };

  g_assert_cmpint (sl_pipeline_from_json (json, &p, &err), ==, SL_ERR_INVALID);
  g_assert_null (p);
  if (strstr (err.message, fragment) == NULL)
    g_error ("%s: message '%s' lacks '%s'", json, err.message, fragment);
}

static void
test_json_errors (void)
{
  expect_json_error ("{\"op\": \"color-range\", \"params\": {\"hue-low\": 400}}",
                     "step 2 (Colour range): parameter 'hue-low' is 400, outside 0..360");
  expect_json_error ("{\"op\": \"color-range\", \"params\": {\"sat-low\": 200, \"sat-high\": 100}}",
                     "step 2 (Colour range): parameter 'sat-high' (100) is below 'sat-low' (200)");
  expect_json_error ("{\"op\": \"color-range\", \"params\": {\"val-low\": 9, \"val-high\": 8}}",
                     "parameter 'val-high' (8) is below 'val-low' (9)");
  expect_json_error ("{\"op\": \"color-range\", \"params\": {\"output\": \"alpha\"}}",
                     "parameter 'output' must be one of: masked, mask");
  expect_json_error ("{\"op\": \"crop-to-part\", \"params\": {\"polarity\": \"light\"}}",
                     "step 2 (Crop to part): parameter 'polarity' must be one of: bright, dark");
  expect_json_error ("{\"op\": \"crop-to-part\", \"params\": {\"margin\": -1}}",
                     "parameter 'margin' is -1, outside 0..4096");
  expect_json_error ("{\"op\": \"crop-to-part\", \"params\": {\"if-none\": \"skip\"}}",
                     "parameter 'if-none' must be one of: keep, fail");
  expect_json_error ("{\"op\": \"rotate-to-axis\", \"params\": {\"min-elongation\": 0.5}}",
                     "step 2 (Rotate to main axis): parameter 'min-elongation' is 0.5, outside "
                     "1..10");
  expect_json_error ("{\"op\": \"polar-unwrap\", \"params\": {\"width\": 4}}",
                     "step 2 (Polar unwrap): parameter 'width' is 4, outside 8..8192");
  expect_json_error ("{\"op\": \"polar-unwrap\", \"params\": {\"center\": \"middle\"}}",
                     "parameter 'center' must be one of: part, image, given");
  expect_json_error ("{\"op\": \"flatten-illumination\", \"params\": {\"sigma\": 0}}",
                     "step 2 (Flatten illumination): parameter 'sigma' is 0, outside 1..200");
  expect_json_error ("{\"op\": \"flatten-illumination\", \"params\": {\"mode\": \"multiply\"}}",
                     "parameter 'mode' must be one of: divide, subtract");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/ops-drawn/crop-to-part", test_crop_to_part);
  g_test_add_func ("/vision/ops-drawn/rotate-to-axis", test_rotate_to_axis);
  g_test_add_func ("/vision/ops-drawn/polar-unwrap", test_polar_unwrap);
  g_test_add_func ("/vision/ops-drawn/color-range", test_color_range);
  g_test_add_func ("/vision/ops-drawn/flatten-illumination", test_flatten_illumination);
  g_test_add_func ("/vision/ops-drawn/json-errors", test_json_errors);
  g_test_add_func ("/vision/ops-drawn/cost-covers-output", test_cost_covers_output);
  g_test_add_func ("/vision/ops-drawn/loader-batches", test_loader_batches);
  return g_test_run ();
}
