/* test-vision-cli.c: `sightline-cli preprocess` and `ops`, run as a line engineer or a script would. */
#include "vision-test-util.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <sys/wait.h>

typedef struct
{
  int status;
  char *out, *err;
} Run;

static Run
cli (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const char *cli_path = g_getenv ("SL_CLI");
  Run r = { 0 };
  va_list ap;
  int wait;

  g_assert_nonnull (cli_path);
  g_ptr_array_add (argv, (char *) cli_path);
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r.out, &r.err, &wait, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait));
  r.status = WEXITSTATUS (wait);
  return r;
}

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

static void
test_ops (void)
{
  Run r = cli ("ops", "--json", NULL);
  cJSON *root, *ops;

  g_assert_cmpint (r.status, ==, 0);
  root = cJSON_Parse (r.out);
  g_assert_nonnull (root);
  ops = cJSON_GetObjectItem (root, "operators");
  g_assert_cmpint (cJSON_GetArraySize (ops), ==, sl_op_count ());
  for (int i = 0; i < sl_op_count (); i++)
    {
      cJSON *o = cJSON_GetArrayItem (ops, i);

      g_assert_cmpstr (cJSON_GetObjectItem (o, "id")->valuestring, ==, sl_op_get (i)->id);
      g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (o, "params")), ==,
                       sl_op_get (i)->n_params);
    }
  cJSON_Delete (root);
  run_clear (&r);

  r = cli ("ops", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "clahe  (CLAHE)"));
  /* The factory operators, with their parameters, ranges and choices. */
  g_assert_nonnull (strstr (r.out, "color-range  (Colour range)"));
  g_assert_nonnull (strstr (r.out, "    hue-low: double 0..360, default 0 °"));
  g_assert_nonnull (strstr (r.out, "    output: choice: masked* mask"));
  g_assert_nonnull (strstr (r.out, "crop-to-part  (Crop to part)"));
  g_assert_nonnull (strstr (r.out, "    min-area: int 1..100000000, default 50 px"));
  g_assert_nonnull (strstr (r.out, "    if-none: choice: keep* fail"));
  g_assert_nonnull (strstr (r.out, "rotate-to-axis  (Rotate to main axis)"));
  g_assert_nonnull (strstr (r.out, "    size: choice: keep* fit"));
  g_assert_nonnull (strstr (r.out, "polar-unwrap  (Polar unwrap)"));
  g_assert_nonnull (strstr (r.out, "    center: choice: part* image given"));
  g_assert_nonnull (strstr (r.out, "flatten-illumination  (Flatten illumination)"));
  g_assert_nonnull (strstr (r.out, "    mode: choice: divide* subtract"));
  run_clear (&r);
  r = cli ("ops", "extra", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
}

static void
test_preprocess (void)
{
  static const char json[]
      = "{\"input\": {\"width\": 32, \"height\": 32, \"channels\": 1},"
        " \"steps\": [{\"op\": \"crop\", \"params\": {\"rect\": [0.1, 0.1, 0.8, 0.8]}},"
        "             {\"op\": \"clahe\"}, {\"op\": \"rotate\", \"params\": {\"angle\": \"90\"}}]}";
  g_autofree char *dir = vt_tmpdir ();
  g_autofree char *pipe_path = g_build_filename (dir, "p.json", NULL);
  g_autofree char *bad_path = g_build_filename (dir, "bad.json", NULL);
  g_autofree char *in_path = g_build_filename (dir, "in.png", NULL);
  g_autofree char *out_path = g_build_filename (dir, "out.png", NULL);
  g_autofree char *raw_path = g_build_filename (dir, "raw.ppm", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  sl_image in, out, stages[4];
  sl_pipeline *p;
  sl_error err = { 0 };
  sl_idx images;
  Run r;

  if (!vt_fmnist (4, &images, NULL))
    return;
  vt_make_rgb (&images, 0, 2, 3, &in);
  vt_assert_ok (sl_image_save (&in, in_path, &err), &err);
  g_assert_true (g_file_set_contents (pipe_path, json, -1, NULL));
  vt_assert_ok (sl_pipeline_from_json (json, &p, &err), &err);
  vt_assert_ok (sl_pipeline_apply_stages (p, &in, stages, &err), &err);

  r = cli ("preprocess", "--pipeline", pipe_path, in_path, out_path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  vt_assert_ok (sl_image_load (out_path, 0, &out, &err), &err);
  g_assert_true (sl_image_equal (&out, &stages[3]));
  g_assert_cmpint (out.width, ==, 32);
  sl_image_clear (&out);

  r = cli ("preprocess", "-p", pipe_path, "--before-input", in_path, raw_path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  vt_assert_ok (sl_image_load (raw_path, 0, &out, &err), &err);
  g_assert_true (sl_image_equal (&out, &stages[2]));
  g_assert_cmpint (out.channels, ==, 3);
  sl_image_clear (&out);

  g_assert_true (g_file_set_contents (bad_path,
                                      "{\"steps\": [{\"op\": \"gaussian-blur\", "
                                      "\"params\": {\"ksize\": 4}}]}",
                                      -1, NULL));
  r = cli ("preprocess", "--pipeline", bad_path, in_path, out_path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "step 1 (Gaussian blur): parameter 'ksize' is 4"));
  run_clear (&r);

  r = cli ("preprocess", "--pipeline", pipe_path, missing, out_path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, missing));
  run_clear (&r);

  r = cli ("preprocess", in_path, out_path, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--pipeline"));
  run_clear (&r);

  r = cli ("preprocess", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "--pipeline"));
  run_clear (&r);

  r = cli ("no-such-command", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "no command 'no-such-command'"));
  run_clear (&r);

  r = cli ("--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "preprocess"));
  run_clear (&r);

  for (int i = 0; i < 4; i++)
    sl_image_clear (&stages[i]);
  sl_image_clear (&in);
  sl_pipeline_free (p);
  sl_idx_clear (&images);
  vt_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/cli/ops", test_ops);
  g_test_add_func ("/vision/cli/preprocess", test_preprocess);
  return g_test_run ();
}
