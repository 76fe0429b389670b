/* test-runtime-example.c: examples/classify.c, built against the shared library, prints what the classifier predicts. */
#include "runtime-test-util.h"
#include "sl-test-support.h"

#include <string.h>

#define EXAMPLE "SL_EXAMPLE"

static void
test_classify (void)
{
  const RtFixture *fx = rt_fixture ();
  g_auto (GStrv) lines = NULL;
  sl_error err = { 0 };
  sl_prediction p;
  guint8 *gray;
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (EXAMPLE, NULL, fx->model, fx->images[0], fx->images[1], fx->images[2], NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  lines = g_strsplit (r.out, "\n", -1);
  /* A heading, three files, the gray frame and the final newline. */
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  g_assert_true (g_str_has_prefix (lines[0], "model "));
  g_assert_nonnull (strstr (lines[0], "10 classes"));
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *expect = NULL;

      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_file (fx->classifier, fx->images[i], &p, NULL, &err),
                    &err);
      expect = g_strdup_printf ("%s: %s (%.1f%%)", fx->images[i], p.label, p.confidence * 100.0);
      g_assert_cmpstr (lines[1 + i], ==, expect);
    }

  /* The raw frame is what predict_pixels says about a 640x480 mid-gray buffer. */
  gray = g_malloc (640 * 480);
  memset (gray, 128, 640 * 480);
  sl_prediction_init (&p);
  sl_assert_ok (sl_classifier_predict_pixels (fx->classifier, gray, 640, 480, 640, SL_PIXEL_GRAY8,
                                              &p, NULL, &err),
                &err);
  {
    g_autofree char *expect
        = g_strdup_printf ("gray frame 640x480: %s (%.1f%%)", p.label, p.confidence * 100.0);
    g_assert_cmpstr (lines[4], ==, expect);
  }
  g_free (gray);
  rt_run_clear (&r);
}

static void
test_errors (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autofree char *missing = NULL;
  RtRun r;

  if (fx == NULL)
    return;
  missing = g_build_filename (fx->dir, "missing.png", NULL);
  /* A missing image is reported with the runtime's sentence; the rest still run. */
  r = rt_run (EXAMPLE, NULL, fx->model, missing, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "classify: "));
  g_assert_nonnull (strstr (r.err, "missing.png"));
  g_assert_nonnull (strstr (r.out, fx->images[0]));
  g_assert_nonnull (strstr (r.out, "gray frame"));
  rt_run_clear (&r);

  r = rt_run (EXAMPLE, NULL, missing, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "cannot open the model"));
  rt_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/runtime/example/classify", test_classify);
  g_test_add_func ("/runtime/example/errors", test_errors);
  return g_test_run ();
}
