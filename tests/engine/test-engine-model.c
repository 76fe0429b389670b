/* test-engine-model.c: model descriptions (validation, round trips), presets and inference. */
#include "sl-test-support.h"

#include <math.h>
#include <string.h>

#define WRAP(layers)                                                                               \
  "{\"input\":{\"channels\":1,\"height\":8,\"width\":8},\"classes\":3,\"layers\":[" layers "]}"

typedef struct
{
  const char *json;
  const char *message; /* a part of the expected error */
} BadCase;

static const BadCase bad_cases[] = {
  { "{\"input\":", "not valid JSON" },
  { "[1, 2]", "must be a JSON object" },
  { "{\"classes\":3,\"layers\":[]}", "'input' must be an object" },
  { "{\"input\":{\"channels\":1,\"height\":0,\"width\":8},\"classes\":3,\"layers\":[]}",
    "'height' must be a whole number" },
  { "{\"input\":{\"channels\":1,\"height\":8,\"width\":8},\"classes\":1,\"layers\":[]}",
    "'classes' must be a whole number from 2" },
  { WRAP (""), "'layers' must be a non-empty list" },
  { WRAP ("{\"type\":\"convolution\"}"), "layers[0] (convolution): unknown layer type" },
  { WRAP ("{\"filters\":3}"), "layers[0] (?): 'type' is required" },
  { WRAP ("{\"type\":\"conv2d\",\"kernel\":3}"), "layers[0] (conv2d): 'filters' is required" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":4,\"kernal\":3}"),
    "layers[0] (conv2d): unknown field 'kernal'" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":4,\"kernel\":2.5}"),
    "'kernel' must be a whole number" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":4,\"kernel\":[3,3,3]}"), "[height, width] pair" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3,\"groups\":2}"),
    "'groups' (2) must divide both the input channels (1)" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":3,\"kernel\":9}"), "smaller than the 9x9 window" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":3,\"kernel\":4,\"padding\":[1,2,3]}"),
    "a [top, left, bottom, right] list" },
  { WRAP ("{\"type\":\"conv2d\",\"filters\":3,\"kernel\":4,\"padding\":\"full\"}"),
    "'padding' must be" },
  { WRAP ("{\"type\":\"maxpool\",\"size\":2,\"padding\":[0,0,2,0]}"), "at most half the window" },
  { WRAP ("{\"type\":\"maxpool\",\"size\":2,\"padding\":2}"), "at most half the window" },
  { WRAP ("{\"type\":\"dropout\",\"rate\":1.5}"), "layers[0] (dropout): 'rate' must be a number" },
  { WRAP ("{\"type\":\"dense\",\"units\":4}"),
    "the last layer gives 4 values per image but 'classes' is 3" },
  { WRAP ("{\"type\":\"relu\",\"name\":\"a\"},{\"type\":\"relu\",\"name\":\"a\"}"),
    "layers[1] (relu): the name 'a' is already used" },
  { WRAP ("{\"type\":\"relu\",\"input\":\"later\"},{\"type\":\"relu\",\"name\":\"later\"}"),
    "layers[0] (relu): 'input' names 'later', which is not an earlier layer" },
  { WRAP ("{\"type\":\"maxpool\",\"size\":2,\"name\":\"p\"},{\"type\":\"add\",\"inputs\":[\"p\","
          "\"input\"]}"),
    "cannot add a 1x4x4 output to a 1x8x8 one" },
  { WRAP ("{\"type\":\"add\",\"inputs\":[\"input\"]}"), "'inputs' must list the names of the two" },
  { WRAP ("{\"type\":\"batchnorm\",\"epsilon\":\"small\"}"), "'epsilon' must be a number" },
  { WRAP ("{\"type\":\"dense\",\"units\":3,\"init\":\"glorot\"}"),
    "'init' must be \"he\" or \"xavier\"" },
};

static void
test_bad_descriptions (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      sl_error err = { 0 };
      sl_model *m = (sl_model *) 0x1;
      sl_status st = sl_model_new (bad_cases[i].json, 1, &m, &err);

      g_test_message ("%s -> %s", bad_cases[i].json, err.message);
      g_assert_cmpint (st, ==, SL_ERR_INVALID);
      g_assert_cmpint (err.code, ==, SL_ERR_INVALID);
      g_assert_null (m);
      if (strstr (err.message, bad_cases[i].message) == NULL)
        g_error ("case %zu: expected '%s' in '%s'", i, bad_cases[i].message, err.message);
    }
  /* No error struct is fine too. */
  sl_model *m;
  g_assert_cmpint (sl_model_new ("{}", 1, &m, NULL), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_new (NULL, 1, &m, NULL), ==, SL_ERR_INVALID);
}

static void
test_round_trip (void)
{
  const char *json = WRAP ("{\"type\":\"conv2d\",\"filters\":4,\"kernel\":[3,1],\"stride\":[1,2],"
                           "\"padding\":\"same\",\"dilation\":[1,1],\"name\":\"c\"},"
                           "{\"type\":\"batchnorm\",\"momentum\":0.05},"
                           "{\"type\":\"leaky_relu\",\"slope\":0.2,\"name\":\"r\"},"
                           "{\"type\":\"add\",\"inputs\":[\"r\",\"c\"]},"
                           "{\"type\":\"avgpool\",\"size\":2,\"stride\":1,\"padding\":1},"
                           "{\"type\":\"dropout\",\"rate\":0.25},{\"type\":\"flatten\"},"
                           "{\"type\":\"dense\",\"units\":3,\"init\":\"xavier\",\"bias\":false}");
  sl_error err = { 0 };
  sl_model *a, *b;
  char *ja, *jb;

  /* "same" with stride [1, 2]: 8x8 gives 8x4 (padding 1 above and below, none
   * across), and it is written back as "same". */
  sl_assert_ok (sl_model_new (json, 1, &a, &err), &err);
  ja = sl_model_to_json (a);
  sl_assert_ok (sl_model_new (ja, 1, &b, &err), &err);
  jb = sl_model_to_json (b);
  g_assert_cmpstr (ja, ==, jb);
  g_assert_nonnull (strstr (ja, "\"momentum\":0.05"));
  g_assert_nonnull (strstr (ja, "\"padding\":\"same\""));
  g_assert_cmpuint (sl_model_param_count (a), ==, sl_model_param_count (b));
  /* 4*1*3*1 + 4 (conv) + 8 (bn) + 4*9*5*3 (dense, no bias; the pool pads 8x4 to 9x5) */
  g_assert_cmpuint (sl_model_param_count (a), ==, 16 + 8 + 540);
  g_assert_cmpuint (sl_model_state_count (a), ==, 8);
  /* The same seed gives the same weights. */
  g_assert_cmpmem (sl_model_params (a), sizeof (float) * sl_model_param_count (a),
                   sl_model_params (b), sizeof (float) * sl_model_param_count (b));
  sl_free (ja);
  sl_free (jb);
  sl_model_free (a);
  sl_model_free (b);
}

static void
predict_checks (sl_model *m, int n)
{
  int c, h, w, k = sl_model_class_count (m);
  sl_error err = { 0 };

  sl_model_input_shape (m, &c, &h, &w);
  gsize in = (gsize) c * h * w;
  g_autofree float *x = g_new (float, in *n);
  g_autofree float *all = g_new (float, (gsize) k *n);
  g_autofree float *one = g_new (float, k);

  sl_test_fill_normal (x, in * n, 9, 1.0f);
  sl_assert_ok (sl_model_predict (m, x, n, all, &err), &err);
  for (int i = 0; i < n; i++)
    {
      double sum = 0.0;
      for (int j = 0; j < k; j++)
        {
          g_assert_true (all[i * k + j] >= 0.0f && all[i * k + j] <= 1.0f);
          sum += all[i * k + j];
        }
      g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-5);
    }
  /* One image at a time (the matrix-vector path) gives the same answer. */
  for (int i = 0; i < n; i += 3)
    {
      sl_assert_ok (sl_model_predict (m, x + in * i, 1, one, &err), &err);
      g_assert_cmpfloat (sl_test_rel_error (one, all + (gsize) i * k, k, 1e-6), <, 1e-5);
    }
}

typedef struct
{
  const char *preset;
  int channels, height, width, classes, depth;
  float width_mult;
} PresetCase;

static const PresetCase preset_cases[] = {
  { "seed-cnn", 1, 28, 28, 10, 0, 0 },      { "seed-cnn", 3, 32, 48, 4, 0, 0 },
  { "small-bn", 1, 28, 28, 10, 0, 0 },      { "small-bn", 3, 96, 128, 2, 0, 0 },
  { "resnet-s", 1, 28, 28, 10, 8, 0 },      { "resnet-s", 3, 32, 32, 5, 14, 0 },
  { "resnet-s", 1, 64, 80, 3, 20, 0 },      { "mobilenet-s", 1, 28, 28, 10, 0, 0.5f },
  { "mobilenet-s", 3, 64, 64, 6, 0, 1.0f }, { "mobilenet-s", 3, 9, 11, 2, 0, 1.5f },
};

static void
test_presets (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (preset_cases); i++)
    {
      const PresetCase *pc = &preset_cases[i];
      sl_preset_options o;
      sl_error err = { 0 };
      char *json;
      sl_model *m;
      int c, h, w;

      sl_preset_options_init (&o);
      o.channels = pc->channels;
      o.height = pc->height;
      o.width = pc->width;
      o.classes = pc->classes;
      o.depth = pc->depth;
      o.width_mult = pc->width_mult;
      sl_assert_ok (sl_preset_json (pc->preset, &o, &json, &err), &err);
      sl_assert_ok (sl_model_new (json, 3, &m, &err), &err);
      sl_model_input_shape (m, &c, &h, &w);
      g_assert_cmpint (c, ==, pc->channels);
      g_assert_cmpint (h, ==, pc->height);
      g_assert_cmpint (w, ==, pc->width);
      g_assert_cmpint (sl_model_class_count (m), ==, pc->classes);
      g_assert_nonnull (sl_preset_summary (pc->preset));
      g_test_message ("%s %dx%dx%d: %zu parameters, %.1f M multiply-adds", pc->preset, c, h, w,
                      sl_model_param_count (m), sl_model_flops_per_image (m) / 1e6);
      predict_checks (m, 7);
      sl_free (json);
      sl_model_free (m);
    }
}

static void
test_preset_sizes (void)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *json;
  sl_model *m;
  size_t counts[3];
  const int depths[3] = { 8, 14, 20 };

  sl_preset_options_init (&o);
  /* seed-cnn is the tutorial network: 3,274,634 parameters on 28x28x1 with 10 classes. */
  sl_assert_ok (sl_preset_json ("seed-cnn", &o, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
  g_assert_cmpuint (sl_model_param_count (m), ==, 3274634);
  sl_model_free (m);
  sl_free (json);
  /* Deeper ResNets have more layers and weights. */
  for (int i = 0; i < 3; i++)
    {
      o.depth = depths[i];
      sl_assert_ok (sl_preset_json ("resnet-s", &o, &json, &err), &err);
      sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
      counts[i] = sl_model_param_count (m);
      sl_model_free (m);
      sl_free (json);
    }
  g_assert_cmpuint (counts[0], <, counts[1]);
  g_assert_cmpuint (counts[1], <, counts[2]);
}

static void
test_preset_errors (void)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *json = NULL;

  sl_preset_options_init (&o);
  g_assert_cmpint (sl_preset_json ("vgg", &o, &json, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "unknown model preset 'vgg'"));
  g_assert_null (json);
  o.channels = 2;
  g_assert_cmpint (sl_preset_json ("small-bn", &o, &json, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "1 (gray) or 3 (colour)"));
  sl_preset_options_init (&o);
  o.depth = 12;
  g_assert_cmpint (sl_preset_json ("resnet-s", &o, &json, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "8, 14 or 20"));
  sl_preset_options_init (&o);
  o.classes = 1;
  g_assert_cmpint (sl_preset_json ("seed-cnn", &o, &json, &err), ==, SL_ERR_INVALID);
  o.struct_size = 0;
  g_assert_cmpint (sl_preset_json ("seed-cnn", &o, &json, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "sl_preset_options_init"));
}

static void
test_params_and_threads (void)
{
  sl_error err = { 0 };
  sl_model *m;
  float probs1[3 * 4], probs2[3 * 4], x[4 * 64];

  sl_assert_ok (sl_model_new (WRAP ("{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3},"
                                    "{\"type\":\"batchnorm\"},{\"type\":\"relu\"},"
                                    "{\"type\":\"dense\",\"units\":3}"),
                              5, &m, &err),
                &err);
  g_assert_cmpint (sl_model_set_params (m, sl_model_params (m), 3, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "parameters, not 3"));
  g_assert_cmpint (sl_model_set_state (m, sl_model_state (m), 1, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_set_threads (m, 1000, &err), ==, SL_ERR_INVALID);
  sl_test_fill_normal (x, G_N_ELEMENTS (x), 2, 1.0f);
  sl_assert_ok (sl_model_set_threads (m, 1, &err), &err);
  g_assert_cmpint (sl_model_get_threads (m), ==, 1);
  sl_assert_ok (sl_model_predict (m, x, 4, probs1, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
  sl_assert_ok (sl_model_predict (m, x, 4, probs2, &err), &err);
  g_assert_cmpfloat (sl_test_rel_error (probs1, probs2, 12, 1e-6), <, 1e-5);
  g_assert_cmpint (sl_model_predict (m, NULL, 4, probs2, &err), ==, SL_ERR_INVALID);
  sl_model_free (m);
  sl_model_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/model/bad-descriptions", test_bad_descriptions);
  g_test_add_func ("/engine/model/round-trip", test_round_trip);
  g_test_add_func ("/engine/model/presets", test_presets);
  g_test_add_func ("/engine/model/preset-sizes", test_preset_sizes);
  g_test_add_func ("/engine/model/preset-errors", test_preset_errors);
  g_test_add_func ("/engine/model/params-and-threads", test_params_and_threads);
  return g_test_run ();
}
