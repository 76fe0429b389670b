/* test-vision-alpha.c: the input's alpha rule (against OpenCV compositing), its JSON, and exact 16- to 8-bit conversion. */
#include "vision-test-util.h"

#include <string.h>

/* An RGBA image of random samples whose alphas include 0, 1, half, max - 1 and max. */
static void
random_rgba (int width, int height, int depth, guint32 seed, sl_image *img)
{
  GRand *rand = g_rand_new_with_seed (seed);
  int max = depth == 16 ? 65535 : 255;
  const int special[] = { 0, 1, max / 2, max / 2 + 1, max - 1, max };
  sl_error err = { 0 };

  vt_assert_ok (sl_image_alloc (img, width, height, 4, depth, &err), &err);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 4; c++)
        {
          int v = g_rand_int_range (rand, 0, max + 1);
          int i = y * width + x;

          if (c == 3 && i % 3 == 0)
            v = special[(i / 3) % G_N_ELEMENTS (special)];
          if (depth == 16)
            ((uint16_t *) (void *) (img->data + y * img->stride))[x * 4 + c] = (uint16_t) v;
          else
            img->data[y * img->stride + x * 4 + c] = (uint8_t) v;
        }
  g_rand_free (rand);
}

static void
test_flatten_matches_opencv (void)
{
  const sl_alpha_rule rules[] = {
    { SL_ALPHA_COMPOSITE, { 255, 255, 255 } }, { SL_ALPHA_COMPOSITE, { 0, 0, 0 } },
    { SL_ALPHA_COMPOSITE, { 10, 200, 77 } },   { SL_ALPHA_MASK, { 255, 255, 255 } },
    { SL_ALPHA_MASK, { 3, 128, 250 } },
  };

  for (int depth = 8; depth <= 16; depth += 8)
    {
      sl_image rgba;

      random_rgba (67, 41, depth, 7 + depth, &rgba);
      for (gsize r = 0; r < G_N_ELEMENTS (rules); r++)
        {
          g_autofree char *why = NULL;
          sl_image flat;
          sl_error err = { 0 };

          vt_assert_ok (sl_image_flatten_alpha (&rgba, &rules[r], &flat, &err), &err);
          g_assert_cmpint (flat.channels, ==, 3);
          g_assert_cmpint (flat.depth, ==, depth);
          if (!vt_reference_flatten_matches (&rgba, &rules[r], &flat, &why))
            g_error ("%d-bit, rule %d (%d): %s", depth, (int) r, rules[r].mode, why);
          sl_image_clear (&flat);
        }
      sl_image_clear (&rgba);
    }
}

/* Fully transparent pixels become the background, opaque ones keep their colour. */
static void
test_flatten_extremes (void)
{
  uint8_t px[4 * 4] = {
    0,  0,  0,  0, /* transparent black: what exporters write */
    40, 50, 60, 255, 200, 100, 0, 128, 200, 100, 0, 127,
  };
  const sl_alpha_rule white = { SL_ALPHA_COMPOSITE, { 255, 255, 255 } };
  const sl_alpha_rule mask = { SL_ALPHA_MASK, { 9, 8, 7 } };
  const sl_alpha_rule drop = { SL_ALPHA_DROP, { 255, 255, 255 } };
  const sl_alpha_rule bad = { (sl_alpha_mode) 7, { 0, 0, 0 } };
  sl_image in, out;
  sl_error err = { 0 };

  vt_assert_ok (sl_image_borrow (&in, px, 4, 1, 4, 8, sizeof px, &err), &err);
  vt_assert_ok (sl_image_flatten_alpha (&in, &white, &out, &err), &err);
  {
    const uint8_t want[12] = { 255,
                               255,
                               255,
                               40,
                               50,
                               60,
                               /* (128 * 200 + 127 * 255) / 255 = 227.4 */ 227,
                               /* (128 * 100 + 127 * 255) / 255 = 177.2 */ 177,
                               /* 127 * 255 / 255 */ 127,
                               /* alpha 127: 227.6, 177.8, 128 */ 228,
                               178,
                               128 };
    g_assert_cmpmem (out.data, 12, want, 12);
  }
  sl_image_clear (&out);
  vt_assert_ok (sl_image_flatten_alpha (&in, &mask, &out, &err), &err);
  {
    const uint8_t want[12] = { 9, 8, 7, 40, 50, 60, 200, 100, 0, 9, 8, 7 };
    g_assert_cmpmem (out.data, 12, want, 12);
  }
  sl_image_clear (&out);
  /* Drop, and images without alpha, are copied unchanged. */
  vt_assert_ok (sl_image_flatten_alpha (&in, &drop, &out, &err), &err);
  g_assert_true (sl_image_equal (&in, &out));
  sl_image_clear (&out);
  g_assert_cmpint (sl_image_flatten_alpha (&in, &bad, &out, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "drop, composite or mask"));
}

/* A 16x16 RGBA image: a dark opaque square on a fully transparent (stored black) background. */
static void
glyph (sl_image *img)
{
  sl_error err = { 0 };

  vt_assert_ok (sl_image_alloc (img, 16, 16, 4, 8, &err), &err);
  for (int y = 4; y < 12; y++)
    for (int x = 4; x < 12; x++)
      {
        uint8_t *p = img->data + y * img->stride + x * 4;

        p[0] = p[1] = p[2] = 40;
        p[3] = 255;
      }
}

static void
test_pipeline_applies_rule_first (void)
{
  sl_input_spec spec = { 16, 16, 1, { 0 }, { 1 } };
  sl_pipeline *p;
  sl_alpha_rule rule;
  sl_image img, out, stages[2];
  sl_error err = { 0 };

  glyph (&img);
  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  sl_pipeline_get_alpha (p, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_COMPOSITE);
  g_assert_cmpint (rule.background[0] & rule.background[1] & rule.background[2], ==, 255);
  vt_assert_ok (sl_pipeline_set_input (p, &spec, &err), &err);
  /* A gray step would drop the alpha itself: the rule runs before it. */
  vt_assert_ok (sl_pipeline_insert_step (p, -1, "gray", &err), &err);
  vt_assert_ok (sl_pipeline_apply (p, &img, &out, &err), &err);
  g_assert_cmpint (out.channels, ==, 1);
  g_assert_cmpint (out.data[0], ==, 255);                 /* transparent: white */
  g_assert_cmpint (out.data[8 * out.stride + 8], ==, 40); /* the glyph */
  vt_assert_ok (sl_pipeline_apply_stages (p, &img, stages, &err), &err);
  g_assert_cmpint (stages[0].channels, ==, 1);
  g_assert_true (sl_image_equal (&stages[1], &out));
  sl_image_clear (&stages[0]);
  sl_image_clear (&stages[1]);
  sl_image_clear (&out);

  /* The old behaviour, kept for old files: the stored black shows. */
  rule.mode = SL_ALPHA_DROP;
  vt_assert_ok (sl_pipeline_set_alpha (p, &rule, &err), &err);
  vt_assert_ok (sl_pipeline_apply (p, &img, &out, &err), &err);
  g_assert_cmpint (out.data[0], ==, 0);
  sl_image_clear (&out);

  /* Mask onto mid-gray; a copy keeps the rule. */
  rule = (sl_alpha_rule){ SL_ALPHA_MASK, { 128, 128, 128 } };
  vt_assert_ok (sl_pipeline_set_alpha (p, &rule, &err), &err);
  {
    sl_pipeline *copy;
    sl_alpha_rule got;

    vt_assert_ok (sl_pipeline_copy (p, &copy, &err), &err);
    sl_pipeline_get_alpha (copy, &got);
    g_assert_cmpmem (&got, sizeof got, &rule, sizeof rule);
    vt_assert_ok (sl_pipeline_apply (copy, &img, &out, &err), &err);
    g_assert_cmpint (out.data[0], ==, 128);
    sl_image_clear (&out);
    sl_pipeline_free (copy);
  }
  rule.mode = (sl_alpha_mode) 3;
  g_assert_cmpint (sl_pipeline_set_alpha (p, &rule, &err), ==, SL_ERR_INVALID);
  sl_pipeline_free (p);
  sl_image_clear (&img);
}

static void
expect_json_error (const char *json, const char *fragment)
{
  sl_pipeline *p = NULL;
  sl_error err = { 0 };

  g_assert_cmpint (sl_pipeline_from_json (json, &p, &err), !=, SL_OK);
  g_assert_null (p);
  if (strstr (err.message, fragment) == NULL)
    g_error ("%s: the message '%s' should say '%s'", json, err.message, fragment);
}

static void
test_json (void)
{
  static const char old[]
      = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1}}";
  sl_pipeline *p, *back;
  sl_alpha_rule rule;
  sl_error err = { 0 };
  char *json, *again;

  /* A file written before the rule existed means drop, and is written back as it was. */
  vt_assert_ok (sl_pipeline_from_json (old, &p, &err), &err);
  sl_pipeline_get_alpha (p, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_DROP);
  json = sl_pipeline_to_json (p);
  g_assert_null (strstr (json, "alpha"));
  g_assert_nonnull (strstr (json, "\"version\":\t1"));
  sl_free (json);

  /* Any other rule is version 2 and round-trips. */
  rule = (sl_alpha_rule){ SL_ALPHA_MASK, { 1, 2, 3 } };
  vt_assert_ok (sl_pipeline_set_alpha (p, &rule, &err), &err);
  json = sl_pipeline_to_json (p);
  g_assert_nonnull (strstr (json, "\"version\":\t2"));
  g_assert_nonnull (strstr (json, "\"mode\":\t\"mask\""));
  vt_assert_ok (sl_pipeline_from_json (json, &back, &err), &err);
  sl_pipeline_get_alpha (back, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_MASK);
  g_assert_cmpint (rule.background[2], ==, 3);
  again = sl_pipeline_to_json (back);
  g_assert_cmpstr (json, ==, again);
  sl_free (json);
  sl_free (again);
  sl_pipeline_free (back);
  sl_pipeline_free (p);

  /* A new pipeline composites onto white; the background defaults to white. */
  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  json = sl_pipeline_to_json (p);
  g_assert_nonnull (strstr (json, "\"mode\":\t\"composite\""));
  sl_free (json);
  sl_pipeline_free (p);
  vt_assert_ok (sl_pipeline_from_json ("{\"version\": 2, \"input\": {\"alpha\": {\"mode\": "
                                       "\"composite\"}}}",
                                       &p, &err),
                &err);
  sl_pipeline_get_alpha (p, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_COMPOSITE);
  g_assert_cmpint (rule.background[0], ==, 255);
  sl_pipeline_free (p);

  expect_json_error ("{\"input\": {\"alpha\": {\"mode\": \"paint\"}}}",
                     "\"paint\" is not composite, mask or drop");
  expect_json_error ("{\"input\": {\"alpha\": \"white\"}}", "must be an object");
  expect_json_error ("{\"input\": {\"alpha\": {}}}", "needs a \"mode\"");
  expect_json_error ("{\"input\": {\"alpha\": {\"mode\": \"mask\", \"background\": [1, 2]}}}",
                     "three levels");
  expect_json_error ("{\"input\": {\"alpha\": {\"mode\": \"mask\", \"background\": [1, 2, 256]}}}",
                     "whole numbers 0..255");
  expect_json_error ("{\"input\": {\"alpha\": {\"mode\": \"mask\", \"background\": [1, 2.5, 3]}}}",
                     "whole numbers 0..255");
  expect_json_error ("{\"version\": 3}", "reads up to 2");
}

/* Training sees what prediction sees: the loader runs the same rule. */
static void
test_loader_uses_rule (void)
{
  g_autofree char *dir = vt_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "glyph.png", NULL);
  const char *paths[1] = { path };
  const int32_t labels[1] = { 0 };
  sl_input_spec spec = { 16, 16, 1, { 0.5f }, { 0.25f } };
  sl_loader_config config;
  sl_pipeline *p;
  sl_loader *l;
  sl_image img, loaded, ready;
  sl_error err = { 0 };
  float x[256], want[256];
  int32_t got_labels[4];
  int n;

  glyph (&img);
  vt_assert_ok (sl_image_save (&img, path, &err), &err);
  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  vt_assert_ok (sl_pipeline_set_input (p, &spec, &err), &err);
  vt_assert_ok (sl_image_load (path, 0, &loaded, &err), &err);
  g_assert_cmpint (loaded.channels, ==, 4);
  vt_assert_ok (sl_pipeline_apply (p, &loaded, &ready, &err), &err);
  vt_assert_ok (sl_pipeline_normalize (p, &ready, want, &err), &err);
  g_assert_cmpfloat (want[0], ==, (1.0f - 0.5f) / 0.25f); /* white, not black */
  sl_loader_config_init (&config);
  config.batch_size = 4;
  vt_assert_ok (sl_loader_new_files (paths, labels, 1, p, &config, &l, &err), &err);
  vt_assert_ok (sl_loader_begin_epoch (l, 0, &err), &err);
  vt_assert_ok (sl_loader_next (l, x, got_labels, 4, &n, &err), &err);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpmem (x, sizeof x, want, sizeof want);
  sl_loader_free (l);
  sl_pipeline_free (p);
  sl_image_clear (&img);
  sl_image_clear (&loaded);
  sl_image_clear (&ready);
  vt_rmdir (dir);
}

/* Every 16-bit value becomes round (v / 257) at the input stage and in "to-8bit":
 * checked exhaustively against integer arithmetic. */
static void
test_16_to_8_is_round_v_over_257 (void)
{
  sl_input_spec spec = { 256, 256, 1, { 0 }, { 1 } };
  sl_pipeline *p;
  sl_image img, out;
  sl_error err = { 0 };

  vt_assert_ok (sl_image_alloc (&img, 256, 256, 1, 16, &err), &err);
  for (int v = 0; v < 65536; v++)
    ((uint16_t *) (void *) (img.data + (v / 256) * img.stride))[v % 256] = (uint16_t) v;
  vt_assert_ok (sl_pipeline_new (&p, &err), &err);
  vt_assert_ok (sl_pipeline_set_input (p, &spec, &err), &err);
  for (int with_step = 0; with_step < 2; with_step++)
    {
      if (with_step)
        vt_assert_ok (sl_pipeline_insert_step (p, -1, "to-8bit", &err), &err);
      vt_assert_ok (sl_pipeline_apply (p, &img, &out, &err), &err);
      g_assert_cmpint (out.depth, ==, 8);
      for (int v = 0; v < 65536; v++)
        {
          /* round (v / 257) = floor ((2v + 257) / 514); never a tie, as 257 is odd. */
          int want = (2 * v + 257) / 514, got = out.data[(v / 256) * out.stride + v % 256];

          if (got != want)
            g_error ("%s: 16-bit %d became %d, not round (%d / 257) = %d",
                     with_step ? "to-8bit" : "input stage", v, got, v, want);
        }
      sl_image_clear (&out);
    }
  sl_pipeline_free (p);
  sl_image_clear (&img);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/alpha/flatten-matches-opencv", test_flatten_matches_opencv);
  g_test_add_func ("/vision/alpha/flatten-extremes", test_flatten_extremes);
  g_test_add_func ("/vision/alpha/pipeline-applies-rule-first", test_pipeline_applies_rule_first);
  g_test_add_func ("/vision/alpha/json", test_json);
  g_test_add_func ("/vision/alpha/loader-uses-rule", test_loader_uses_rule);
  g_test_add_func ("/vision/depth/16-to-8-is-round-v-over-257", test_16_to_8_is_round_v_over_257);
  return g_test_run ();
}
