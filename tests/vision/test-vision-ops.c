/* test-vision-ops.c: every operator against the same OpenCV calls made directly, on real images, and its errors. */
#include "vision-test-util.h"
#include "sl-ops-private.h"

#include <stdio.h>
#include <string.h>

enum
{
  GRAY = 1 << 0,
  RGB = 1 << 1,
  RGBA = 1 << 2,
  GRAY16 = 1 << 3,
  ALL = GRAY | RGB | RGBA | GRAY16,
};

typedef struct
{
  const char *op;
  const char *params; /* "key=value ...": numbers, choice ids, true/false, x,y,w,h */
  int kinds;
} OpCase;

static const OpCase cases[] = {
  { "gray", "", GRAY | RGB | RGBA },
  { "rgb", "", GRAY | RGB | RGBA },
  { "hsv-channel", "channel=hue", RGB | RGBA },
  { "hsv-channel", "channel=saturation", RGB },
  { "hsv-channel", "", RGB },
  { "to-8bit", "", GRAY16 },
  { "crop", "", ALL },
  { "crop", "mode=relative rect=0.1,0.2,0.5,0.6", GRAY | RGB | GRAY16 },
  { "crop", "mode=absolute rect=5,7,40,30", GRAY | RGB | RGBA },
  { "resize", "width=40 height=24 mode=stretch interpolation=area", ALL },
  { "resize", "width=50 height=30 mode=fit-pad interpolation=linear pad=17", GRAY | RGB | GRAY16 },
  { "resize", "width=30 height=50 mode=center-crop interpolation=cubic", GRAY | RGB },
  { "resize", "width=200 height=150 mode=stretch interpolation=nearest", GRAY },
  { "rotate", "angle=90", ALL },
  { "rotate", "angle=180", GRAY | RGB },
  { "rotate", "angle=270", GRAY | RGB },
  { "flip", "axis=horizontal", ALL },
  { "flip", "axis=vertical", GRAY | RGB },
  { "flip", "axis=both", GRAY | RGB },
  { "gaussian-blur", "", ALL },
  { "gaussian-blur", "ksize=7 sigma=1.5", GRAY | RGB },
  { "median-blur", "ksize=5", GRAY | RGB | GRAY16 },
  { "median-blur", "ksize=9", GRAY | RGB },
  { "bilateral", "diameter=7 sigma-color=30 sigma-space=10", GRAY | RGB },
  { "sharpen", "sigma=1.5 amount=2", ALL },
  { "brightness-contrast", "contrast=1.3 brightness=-20", ALL },
  { "gamma", "gamma=0.6", GRAY | RGB | RGBA },
  { "gamma", "gamma=2.2", GRAY },
  { "equalize-hist", "", GRAY | RGB },
  { "clahe", "", GRAY | RGB | GRAY16 },
  { "clahe", "clip-limit=4 tiles=4", GRAY },
  { "normalize", "low=20 high=200", ALL },
  { "threshold", "method=fixed threshold=100 max-value=200", GRAY | RGB | GRAY16 },
  { "threshold", "method=otsu invert=true", GRAY },
  { "threshold", "method=adaptive-mean block-size=15 c=3", GRAY },
  { "threshold", "method=adaptive-gaussian", GRAY },
  { "morphology", "operation=erode shape=rectangle ksize=5", ALL },
  { "morphology", "operation=dilate shape=ellipse ksize=5", GRAY | RGB },
  { "morphology", "operation=open shape=cross ksize=3 iterations=2", GRAY },
  { "morphology", "operation=close shape=ellipse ksize=7", GRAY | GRAY16 },
  { "morphology", "operation=gradient shape=rectangle ksize=3", GRAY | RGB },
  { "morphology", "operation=top-hat shape=rectangle ksize=9", GRAY },
  { "morphology", "operation=black-hat shape=ellipse ksize=9", GRAY },
  { "canny", "", GRAY | RGB },
  { "canny", "low=20 high=80 aperture=5 l2-gradient=true", GRAY },
  { "sobel", "", GRAY | RGB | GRAY16 },
  { "sobel", "ksize=5 scale=0.25", GRAY },
  { "laplacian", "", GRAY | RGB },
  { "laplacian", "ksize=1 scale=2", GRAY16 },
  { "invert", "", ALL },
  { "color-range", "", RGB | RGBA },
  { "color-range", "hue-low=300 hue-high=60 sat-low=20 output=mask", RGB },
  { "color-range", "hue-low=90 hue-high=250 val-low=10 val-high=200 invert=true", RGB | RGBA },
  { "crop-to-part", "", ALL },
  { "crop-to-part", "polarity=dark method=fixed level=60 margin=10 square=true pad=90",
    GRAY | RGB | GRAY16 },
  { "crop-to-part", "method=fixed level=100 margin=0 min-area=1", GRAY | RGBA },
  { "crop-to-part", "margin=30 square=true pad=200", GRAY | RGB },
  { "rotate-to-axis", "", ALL },
  { "rotate-to-axis", "axis=vertical size=fit pad=40 min-elongation=1", GRAY | RGB | GRAY16 },
  { "rotate-to-axis", "method=fixed level=30 size=fit min-elongation=1", GRAY | RGBA },
  { "polar-unwrap", "", ALL },
  { "polar-unwrap", "center=given x=40 y=30 radius=50 width=90 height=40", GRAY | RGB | GRAY16 },
  { "polar-unwrap", "center=image width=128 height=16", GRAY | RGBA },
  { "polar-unwrap", "polarity=dark method=fixed level=20 radius=30 width=45 height=20", GRAY },
  { "flatten-illumination", "", ALL },
  { "flatten-illumination", "mode=subtract sigma=8 level=100", ALL },
  { "flatten-illumination", "mode=divide sigma=3.5 level=200", GRAY | RGB },
  { "flatten-illumination", "sigma=40 level=90", GRAY | RGB | GRAY16 }, /* shrunk 5x, 84 -> 17 */
};

static void
make_image (const sl_idx *images, int kind, int i, sl_image *out)
{
  switch (kind)
    {
      case GRAY: vt_make_gray (images, i, 3, out); break;
      case RGB: vt_make_rgb (images, i, 3, 3, out); break;
      case RGBA: vt_make_rgb (images, i, 3, 4, out); break;
      default: vt_make_gray16 (images, i, 3, out); break;
    }
}

static void
test_ops_match_opencv (void)
{
  static const int kinds[] = { GRAY, RGB, RGBA, GRAY16 };
  static const int picks[] = { 0, 7, 21 };
  g_autofree gboolean *covered = g_new0 (gboolean, sl_op_count ());
  sl_idx images;
  int checked = 0;

  if (!vt_fmnist (32, &images, NULL))
    return;
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
      for (gsize i = 0; i < G_N_ELEMENTS (picks); i++)
        {
          sl_pipeline *p;
          sl_image in, stages[2];
          sl_error err = { 0 };
          g_autofree char *why = NULL;

          if (!(cases[c].kinds & kinds[k]))
            continue;
          make_image (&images, kinds[k], picks[i], &in);
          vt_assert_ok (sl_pipeline_new (&p, &err), &err);
          /* The operators themselves get RGBA (the alpha rule has its own tests). */
          vt_assert_ok (
              sl_pipeline_set_alpha (p, &(sl_alpha_rule){ SL_ALPHA_DROP, { 0, 0, 0 } }, &err),
              &err);
          vt_assert_ok (sl_pipeline_insert_step (p, -1, cases[c].op, &err), &err);
          vt_set_params (p, 0, cases[c].params);
          vt_assert_ok (sl_pipeline_apply_stages (p, &in, stages, &err), &err);
          if (!vt_reference_matches (p, 0, &in, &stages[0], &why))
            g_error ("%s [%s] on image kind %d: %s", cases[c].op, cases[c].params, kinds[k], why);
          /* Operators must not be no-ops in disguise (except where the input already fits). */
          if (strcmp (cases[c].op, "gray") != 0 && strcmp (cases[c].op, "rgb") != 0
              && strcmp (cases[c].op, "crop") != 0 && cases[c].params[0] != '\0')
            g_assert_false (sl_image_equal (&in, &stages[0]));
          for (int o = 0; o < sl_op_count (); o++)
            covered[o] |= sl_op_get (o) == sl_op_find (cases[c].op);
          checked++;
          sl_image_clear (&stages[0]);
          sl_image_clear (&stages[1]);
          sl_image_clear (&in);
          sl_pipeline_free (p);
        }
  for (int i = 0; i < sl_op_count (); i++)
    if (!covered[i])
      g_error ("operator '%s' has no test case", sl_op_get (i)->id);
  g_test_message ("%d operator applications matched OpenCV", checked);
  g_assert_cmpint (checked, >, 250);
  sl_idx_clear (&images);
}

/* Operators refuse images they cannot handle with a sentence, not a crash. */
static void
expect_op_error (const char *op, const char *params, const sl_image *in, const char *fragment)
{
  sl_pipeline *p;
  sl_image stages[2], out;
  sl_error err = { 0 };

  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  /* RGBA reaches the operator itself only when the alpha rule leaves it there. */
  vt_assert_ok (sl_pipeline_set_alpha (p, &(sl_alpha_rule){ SL_ALPHA_DROP, { 0, 0, 0 } }, &err),
                &err);
  vt_assert_ok (sl_pipeline_insert_step (p, -1, op, &err), &err);
  vt_set_params (p, 0, params);
  g_assert_cmpint (sl_pipeline_apply (p, in, &out, &err), ==, SL_ERR_INVALID);
  g_assert_null (out.data);
  g_assert_true (g_str_has_prefix (err.message, "step 1 ("));
  if (strstr (err.message, fragment) == NULL)
    g_error ("%s: message '%s' lacks '%s'", op, err.message, fragment);
  /* The preview keeps nothing of a failed step. */
  g_assert_cmpint (sl_pipeline_apply_stages (p, in, stages, &err), ==, SL_ERR_INVALID);
  g_assert_null (stages[0].data);
  g_assert_null (stages[1].data);
  sl_pipeline_free (p);
}

static void
test_ops_refuse_unsuitable_images (void)
{
  sl_image gray, rgb, rgba, gray16;
  sl_idx images;

  if (!vt_fmnist (8, &images, NULL))
    return;
  vt_make_gray (&images, 0, 1, &gray);
  vt_make_rgb (&images, 0, 1, 3, &rgb);
  vt_make_rgb (&images, 0, 1, 4, &rgba);
  vt_make_gray16 (&images, 0, 1, &gray16);
  expect_op_error ("hsv-channel", "", &gray, "colour image");
  expect_op_error ("hsv-channel", "", &gray16, "8-bit");
  expect_op_error ("equalize-hist", "", &gray16, "Convert to 8 bit");
  expect_op_error ("equalize-hist", "", &rgba, "Convert to RGB");
  expect_op_error ("threshold", "method=otsu", &rgb, "8-bit gray");
  expect_op_error ("threshold", "method=adaptive-mean", &gray16, "8-bit gray");
  expect_op_error ("crop", "mode=absolute rect=20,20,10,10", &gray, "does not fit in the 28x28");
  expect_op_error ("median-blur", "ksize=7", &gray16, "3 and 5");
  expect_op_error ("bilateral", "", &gray16, "8-bit");
  expect_op_error ("canny", "", &gray16, "8-bit");
  expect_op_error ("clahe", "", &rgba, "RGB");
  sl_image_clear (&gray);
  sl_image_clear (&rgb);
  sl_image_clear (&rgba);
  sl_image_clear (&gray16);
  sl_idx_clear (&images);
}

static void
test_ops_registry (void)
{
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpint (sl_op_count (), >=, 23);
  g_assert_null (sl_op_get (-1));
  g_assert_null (sl_op_get (sl_op_count ()));
  g_assert_null (sl_op_find ("no-such-op"));
  for (int i = 0; i < sl_op_count (); i++)
    {
      const sl_op_info *op = sl_op_get (i);

      g_assert_true (g_hash_table_add (ids, (gpointer) op->id));
      g_assert_true (sl_op_find (op->id) == op);
      g_assert_true (op->name[0] && op->description[0]);
      /* Steps keep their values in SL_OP_MAX_PARAMS slots. */
      g_assert_cmpint (op->n_params, <=, SL_OP_MAX_PARAMS);
      for (int j = 0; j < op->n_params; j++)
        {
          const sl_param_spec *s = &op->params[j];

          g_assert_true (sl_op_find_param (op, s->id) == s);
          g_assert_true (s->name[0] && s->description[0] && s->unit);
          if (s->type == SL_PARAM_ENUM)
            {
              int n = 0;

              while (s->choices[n])
                {
                  g_assert_nonnull (s->choice_names[n]);
                  n++;
                }
              g_assert_null (s->choice_names[n]);
              g_assert_cmpfloat (s->max, ==, n - 1);
            }
          if (s->type != SL_PARAM_RECT)
            {
              g_assert_cmpfloat (s->default_value, >=, s->min);
              g_assert_cmpfloat (s->default_value, <=, s->max);
            }
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/ops/registry", test_ops_registry);
  g_test_add_func ("/vision/ops/match-opencv", test_ops_match_opencv);
  g_test_add_func ("/vision/ops/refuse-unsuitable-images", test_ops_refuse_unsuitable_images);
  return g_test_run ();
}
