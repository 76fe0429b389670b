/* test-projects-cli.c: sightline-cli end to end, its output checked against the stored numbers. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-evaluation.h"
#include "sl-run.h"

static cJSON *
cli_json (const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err_text = NULL;
  const char *arg;
  va_list ap;
  int status;
  cJSON *doc;

  g_ptr_array_add (args, (gpointer) pt_cli_path ());
  g_ptr_array_add (args, (gpointer) first);
  va_start (ap, first);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, (gpointer) "--json");
  g_ptr_array_add (args, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err_text, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("sightline-cli %s failed: %s", first, err_text);
  doc = cJSON_Parse (out);
  if (doc == NULL)
    g_error ("sightline-cli %s printed no JSON: %s", first, out);
  return doc;
}

static double
num (const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  g_assert_true (cJSON_IsNumber (item));
  return item->valuedouble;
}

static void
test_help_and_errors (void)
{
  static const char *const commands[]
      = { "new",  "import", "classes", "label", "split",  "stats",  "train",
          "runs", "eval",   "predict", "demo",  "export", "devices" };
  g_autofree char *tmp = pt_make_tmp ();

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli not found (set SL_CLI)");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *out = NULL;
      g_assert_cmpint (pt_cli (&out, NULL, commands[i], "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "Usage:"));
    }
  g_assert_cmpint (pt_cli (NULL, NULL, "import", NULL), ==, 2); /* missing arguments */
  g_assert_cmpint (pt_cli (NULL, NULL, "train", tmp, "--bogus", NULL), ==, 2);
  g_assert_cmpint (pt_cli (NULL, NULL, "stats", tmp, NULL), ==, 1); /* not a project */
  g_assert_cmpint (pt_cli (NULL, NULL, "eval", tmp, "--split", "x", NULL), ==, 2);
  sl_remove_tree (tmp);
}

static void
test_workflow (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *path = g_build_filename (tmp, "P", NULL);
  g_autofree char *augment = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) metrics = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  cJSON *doc, *list, *item;
  int i = 0;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli not found (set SL_CLI)");
      return;
    }
  if (pt_write_fmnist_tree (src, TRUE, 240, 3, "cli") < 0)
    return;

  doc = cli_json ("new", path, NULL);
  g_assert_cmpint (num (doc, "schema_version"), ==, SL_PROJECT_SCHEMA_VERSION);
  cJSON_Delete (doc);
  g_assert_cmpint (pt_cli (NULL, NULL, "new", path, NULL), ==, 1); /* exists */

  doc = cli_json ("import", path, src, "--labels-from-folders", NULL);
  g_assert_cmpint (num (doc, "added"), ==, 240);
  g_assert_cmpint (num (doc, "classes_created"), ==, 3);
  cJSON_Delete (doc);

  doc = cli_json ("classes", path, NULL);
  g_assert_cmpint (cJSON_GetArraySize (doc), ==, 3);
  cJSON_Delete (doc);
  g_assert_cmpint (
      pt_cli (NULL, NULL, "classes", path, "add", "scratch", "--color", "#112233", NULL), ==, 0);
  /* --images? */
  g_assert_cmpint (pt_cli (NULL, NULL, "classes", path, "delete", "scratch", NULL), ==, 2);
  g_assert_cmpint (
      pt_cli (NULL, NULL, "classes", path, "delete", "scratch", "--images=unlabel", NULL), ==, 0);

  doc = cli_json ("split", path, "--seed", "7", NULL);
  g_assert_cmpint (num (doc, "assigned"), ==, 240);
  cJSON_Delete (doc);

  doc = cli_json ("stats", path, NULL);
  g_assert_cmpint (num (doc, "images"), ==, 240);
  g_assert_cmpint (num (doc, "labelled"), ==, 240);
  cJSON_Delete (doc);

  /* Labels by id; a missing image fails with 1 and changes nothing. */
  g_assert_cmpint (pt_cli (NULL, NULL, "label", path, "--ignore", "1", NULL), ==, 0);
  g_assert_cmpint (pt_cli (NULL, NULL, "label", path, "--unignore", "1", NULL), ==, 0);
  g_assert_cmpint (pt_cli (NULL, NULL, "label", path, "--class", "trouser", "1", "99999", NULL), ==,
                   1);

  /* A bad augmentation file is refused before anything runs. */
  {
    g_autofree char *bad = g_build_filename (tmp, "bad-augment.json", NULL);
    g_assert_true (g_file_set_contents (bad, "{\"flip-horizontal\": 3}", -1, NULL));
    g_assert_cmpint (pt_cli (NULL, NULL, "train", path, "--augment", bad, "--epochs", "1", NULL),
                     ==, 1);
  }
  augment = g_build_filename (tmp, "augment.json", NULL);
  g_assert_true (g_file_set_contents (augment, "{\"flip-horizontal\": true}", -1, NULL));
  g_assert_cmpint (
      pt_cli (NULL, NULL, "train", path, "--schedule", "linear", "--epochs", "1", NULL), ==, 1);
  doc = cli_json ("train", path, "--model", "small-bn", "--epochs", "2", "--batch", "32",
                  "--threads", "2", "--patience", "0", "--augment", augment, "--schedule", "step",
                  "--warmup-epochs", "0.5", NULL);
  {
    cJSON *recipe = cJSON_GetObjectItem (doc, "recipe");
    cJSON *aug = cJSON_GetObjectItem (recipe, "augment");
    g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (aug, "flip-horizontal")));
    g_assert_cmpstr (cJSON_GetObjectItem (recipe, "schedule")->valuestring, ==, "step");
    g_assert_cmpfloat (num (recipe, "warmup_epochs"), ==, 0.5);
    g_assert_cmpstr (cJSON_GetObjectItem (recipe, "preset")->valuestring, ==, "small-bn");
    g_assert_nonnull (cJSON_GetObjectItem (cJSON_GetObjectItem (recipe, "pipeline"), "input"));
  }
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cJSON_GetObjectItem (doc, "status")->valuestring, ==, "finished");
  g_assert_cmpint (num (doc, "id"), ==, run->id);
  g_assert_cmpint (num (doc, "epochs_done"), ==, 2);
  metrics = sl_project_get_run_metrics (project, run->id, &error);
  list = cJSON_GetObjectItem (doc, "metrics");
  g_assert_cmpint (cJSON_GetArraySize (list), ==, metrics->len);
  cJSON_ArrayForEach (item, list)
  {
    const SlEpochMetrics *m = &g_array_index (metrics, SlEpochMetrics, i++);
    /* JSON carries 15 significant digits */
    g_assert_cmpfloat_with_epsilon (num (item, "train_loss"), m->train_loss, 1e-12);
    g_assert_cmpfloat_with_epsilon (num (item, "val_accuracy"), m->val_accuracy, 1e-12);
  }
  cJSON_Delete (doc);

  doc = cli_json ("runs", path, NULL);
  g_assert_cmpint (cJSON_GetArraySize (doc), ==, 1);
  cJSON_Delete (doc);

  /* eval prints what it stored. */
  doc = cli_json ("eval", path, "--run", "latest", "--top-k", "2", NULL);
  e = sl_project_get_evaluation (project, (gint64) num (doc, "evaluation_id"), -1, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (num (doc, "accuracy"), e->accuracy, 1e-12);
  g_assert_cmpfloat_with_epsilon (num (doc, "top_k_accuracy"), e->top_k_accuracy, 1e-12);
  g_assert_cmpint (num (doc, "images"), ==, e->images);
  g_assert_cmpfloat (e->accuracy, >, 0.5); /* three easy classes */
  {
    cJSON *rows = cJSON_GetObjectItem (doc, "confusion");
    for (int t = 0; t < e->classes; t++)
      for (int p = 0; p < e->classes; p++)
        g_assert_cmpint (cJSON_GetArrayItem (cJSON_GetArrayItem (rows, t), p)->valueint, ==,
                         e->confusion[t * e->classes + p]);
  }
  cJSON_Delete (doc);
  doc = cli_json ("eval", path, "--stored", NULL);
  g_assert_cmpint (num (doc, "evaluation_id"), ==, e->id);
  cJSON_Delete (doc);

  /* predict on one of the source files. */
  {
    g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);
    const SlImageInfo *im = g_ptr_array_index (images, 0);
    cJSON *first;

    doc = cli_json ("predict", path, im->original_path, "--top-k", "3", NULL);
    first = cJSON_GetArrayItem (doc, 0);
    g_assert_nonnull (cJSON_GetObjectItem (first, "class"));
    g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (first, "top")), ==, 3);
    cJSON_Delete (doc);
    g_assert_cmpint (pt_cli (NULL, NULL, "predict", path, "/nonexistent.png", NULL), ==, 1);
  }

  /* export writes both formats and reports them; bad options are usage errors. */
  {
    g_autofree char *out_dir = g_build_filename (tmp, "export", NULL);
    g_autofree char *slmodel = g_build_filename (out_dir, "line.slmodel", NULL);
    cJSON *files;

    doc = cli_json ("export", path, "--format", "slmodel,onnx", "-o", out_dir, "--name", "line",
                    "--threshold", "0.5", NULL);
    files = cJSON_GetObjectItem (doc, "files");
    g_assert_cmpint (cJSON_GetArraySize (files), ==, 3);
    g_assert_cmpstr (
        cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (files, 0), "path")), ==,
        slmodel);
    g_assert_cmpfloat (num (doc, "latency_ms"), >, 0);
    g_assert_cmpint (num (doc, "classes"), ==, 3);
    cJSON_Delete (doc);
    g_assert_true (g_file_test (slmodel, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpint (pt_cli (NULL, NULL, "export", path, "--format", "tflite", "-o", out_dir, NULL),
                     ==, 2);
    g_assert_cmpint (pt_cli (NULL, NULL, "export", path, NULL), ==, 2);
    g_assert_cmpint (pt_cli (NULL, NULL, "export", path, "-o", out_dir, "--threshold", "2", NULL),
                     ==, 2);
    g_assert_cmpint (pt_cli (NULL, NULL, "export", path, "-o", out_dir, "--run", "run-99", NULL),
                     ==, 1);
  }
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* A fresh folder made the only place searched for the CUDA module; with
 * variant, it holds the fake module of that name as libsightline-cuda.so. */
static char *
cuda_module_dir (const char *variant)
{
  char *dir = pt_make_tmp ();

  if (variant != NULL)
    {
      g_autofree char *name = g_strdup_printf ("fake-cuda-%s.so", variant);
      g_autofree char *src = g_test_build_filename (G_TEST_BUILT, name, NULL);
      g_autofree char *dst = g_build_filename (dir, "libsightline-cuda.so", NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (dst, contents, (gssize) len, NULL));
    }
  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", dir, TRUE);
  return dir;
}

static const char *
str (const cJSON *obj, const char *key)
{
  const char *value = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (obj, key));

  g_assert_nonnull (value);
  return value;
}

static void
test_devices (void)
{
  g_autofree char *empty = cuda_module_dir (NULL);
  g_autofree char *out = NULL;
  cJSON *doc, *cpu, *gpu;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli not found (set SL_CLI)");
      return;
    }
  /* No module: the CPU, and the reason in plain words. */
  g_assert_cmpint (pt_cli (&out, NULL, "devices", NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_true (g_str_has_prefix (out, "ID "));
  g_assert_nonnull (strstr (out, "\ncpu "));
  g_assert_nonnull (strstr (out, "usable"));
  g_assert_nonnull (strstr (out, "libsightline-cuda.so) is not installed beside Sightline"));
  g_assert_nonnull (strstr (out, empty));
  g_assert_null (strstr (out, "cuda:0"));
  doc = cli_json ("devices", NULL);
  g_assert_true (cJSON_IsArray (doc));
  g_assert_cmpint (cJSON_GetArraySize (doc), ==, 2);
  {
    /* No GPU: an unusable "cuda" entry carries the reason, as the table does. */
    cJSON *none = cJSON_GetArrayItem (doc, 1);

    g_assert_cmpstr (str (none, "id"), ==, "cuda");
    g_assert_false (cJSON_IsTrue (cJSON_GetObjectItem (none, "usable")));
    g_assert_nonnull (strstr (str (none, "reason"), "is not installed beside Sightline"));
    /* The reason and what follows from it are fields of their own. */
    g_assert_null (strstr (str (none, "reason"), "training uses the CPU"));
    g_assert_cmpstr (str (none, "consequence"), ==, "training uses the CPU");
  }
  cpu = cJSON_GetArrayItem (doc, 0);
  g_assert_cmpstr (str (cpu, "id"), ==, "cpu");
  g_assert_cmpstr (str (cpu, "kind"), ==, "cpu");
  g_assert_cmpuint (strlen (str (cpu, "name")), >, 0);
  g_assert_cmpfloat (num (cpu, "threads"), ==, g_get_num_processors ());
  g_assert_cmpfloat (num (cpu, "memory_bytes"), >, 1 << 26);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (cpu, "usable")));
  cJSON_Delete (doc);
  g_clear_pointer (&out, g_free);
  sl_remove_tree (empty);

  /* Two GPUs from the fake module: one usable, one too old with its reason. */
  {
    g_autofree char *dir = cuda_module_dir ("gpus");

    g_assert_cmpint (pt_cli (&out, NULL, "devices", NULL), ==, 0);
    g_test_message ("%s", out);
    g_assert_nonnull (strstr (out, "\ncuda:0    NVIDIA Fake A100"));
    g_assert_nonnull (strstr (out, "40.0 GiB"));
    g_assert_nonnull (strstr (out, "compute 8.0"));
    g_assert_nonnull (strstr (out, "not usable: compute capability 3.7 is too old"));
    g_assert_nonnull (strstr (out, "cuda:0: CUDA driver 13.0, runtime 12.8"));
    g_assert_null (strstr (out, "training uses the CPU"));
    doc = cli_json ("devices", NULL);
    g_assert_cmpint (cJSON_GetArraySize (doc), ==, 3);
    gpu = cJSON_GetArrayItem (doc, 1);
    g_assert_cmpstr (str (gpu, "id"), ==, "cuda:0");
    g_assert_cmpstr (str (gpu, "kind"), ==, "cuda");
    g_assert_cmpstr (str (gpu, "compute_capability"), ==, "8.0");
    g_assert_cmpfloat (num (gpu, "memory_bytes"), ==, 40.0 * (1 << 30));
    g_assert_cmpfloat (num (gpu, "driver_version"), ==, 13000);
    g_assert_null (cJSON_GetObjectItem (gpu, "threads"));
    gpu = cJSON_GetArrayItem (doc, 2);
    g_assert_cmpstr (str (gpu, "id"), ==, "cuda:1");
    g_assert_true (cJSON_IsFalse (cJSON_GetObjectItem (gpu, "usable")));
    g_assert_nonnull (strstr (str (gpu, "reason"), "too old"));
    cJSON_Delete (doc);
    g_assert_cmpint (pt_cli (NULL, NULL, "devices", "extra", NULL), ==, 2);
    sl_remove_tree (dir);
  }
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
}

/* --device on train, eval and predict: a bad name is a usage error, a GPU
 * that cannot be used an error with the reason, and a GPU (here the emulated
 * one of fake-cuda-emulated.so) is used end to end, its choice stored in the
 * run's recipe. */
static void
test_device_option (void)
{
  g_autofree char *tmp = NULL, *err_text = NULL, *image = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GError) error = NULL;
  const char *path;
  cJSON *doc;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli not found (set SL_CLI)");
      return;
    }
  if ((project = pt_fmnist_project (90, 3, &tmp)) == NULL)
    return;
  path = sl_project_get_path (project);
  images = sl_project_list_images (project, NULL, &error);
  g_assert_no_error (error);
  image = g_strdup (((const SlImageInfo *) g_ptr_array_index (images, 0))->original_path);

  g_assert_cmpint (pt_cli (NULL, &err_text, "train", path, "--device", "tpu", NULL), ==, 2);
  g_assert_nonnull (strstr (err_text, "--device takes cpu"));
  g_clear_pointer (&err_text, g_free);
  g_assert_cmpint (pt_cli (NULL, &err_text, "predict", path, image, "--device", "cuda:x", NULL), ==,
                   2);
  g_clear_pointer (&err_text, g_free);

  /* No driver: the reason, and exit status 1. */
  {
    g_autofree char *dir = cuda_module_dir ("nodriver");

    g_assert_cmpint (pt_cli (NULL, &err_text, "train", path, "--device", "cuda", "--epochs", "1",
                             "--model", "seed-cnn", NULL),
                     ==, 1);
    g_assert_nonnull (strstr (err_text, "no NVIDIA driver"));
    g_clear_pointer (&err_text, g_free);
    sl_remove_tree (dir);
  }

  /* The emulated GPU: train, resume on the CPU, evaluate and predict on it. */
  {
    g_autofree char *dir = cuda_module_dir ("emulated");
    cJSON *recipe;

    doc = cli_json ("train", path, "--device", "cuda", "--epochs", "1", "--model", "seed-cnn",
                    "--threads", "2", "--patience", "0", NULL);
    recipe = cJSON_GetObjectItem (doc, "recipe");
    g_assert_cmpstr (str (recipe, "device"), ==, "cuda");
    g_assert_cmpstr (str (doc, "status"), ==, "finished");
    cJSON_Delete (doc);
    doc = cli_json ("train", path, "--resume", "latest", "--epochs", "2", "--device", "cpu", NULL);
    g_assert_cmpint (num (doc, "epochs_done"), ==, 2);
    cJSON_Delete (doc);
    doc = cli_json ("eval", path, "--device", "cuda:0", NULL);
    g_assert_cmpfloat (num (doc, "accuracy"), >=, 0.0);
    cJSON_Delete (doc);
    doc = cli_json ("predict", path, image, "--device", "cuda", NULL);
    g_assert_nonnull (cJSON_GetObjectItem (cJSON_GetArrayItem (doc, 0), "class"));
    cJSON_Delete (doc);
    g_assert_cmpint (pt_cli (NULL, &err_text, "eval", path, "--device", "cuda:3", NULL), ==, 1);
    g_assert_nonnull (strstr (err_text, "no such GPU"));
    sl_remove_tree (dir);
  }
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* train on labelled images without a split: split them as the workbench does, say so, and
 * take the workbench's defaults for the data (batch, patience, class weights). */
static void
test_train_defaults (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *err_text = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GError) error = NULL;
  SlRunConfig stored, expected;

  if (pt_write_fmnist_tree (src, TRUE, 90, 3, "d") < 0)
    return;
  g_assert_cmpint (pt_cli (NULL, NULL, "new", path, NULL), ==, 0);
  g_assert_cmpint (pt_cli (NULL, NULL, "import", path, src, "--labels-from-folders", NULL), ==, 0);
  g_assert_cmpint (pt_cli (NULL, &err_text, "train", path, "--model", "seed-cnn", "--epochs", "1",
                           "--threads", "2", "--json", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (err_text, "90 labelled images had no split"));

  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->train_images, >, 50);
  g_assert_cmpint (run->val_images, >, 5);
  sl_run_config_init (&stored);
  g_assert_true (sl_run_config_from_json (run->config_json, &stored, NULL, &error));
  sl_run_config_init (&expected);
  sl_run_config_apply_data_defaults (&expected, run->train_images, run->val_images, 1.0);
  g_assert_cmpint (stored.batch_size, ==, expected.batch_size);
  g_assert_cmpint (stored.batch_size, ==, 8); /* about 63 training images: 8 steps of 8 */
  g_assert_cmpint (stored.patience, ==, expected.patience);
  g_assert_cmpint (stored.class_weights, ==, SL_CLASS_WEIGHTS_NONE);
  g_assert_cmpint (stored.epochs, ==, 1); /* given */
  sl_run_config_clear (&stored);
  sl_run_config_clear (&expected);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/cli/help-errors", test_help_and_errors);
  g_test_add_func ("/projects/cli/train-defaults", test_train_defaults);
  g_test_add_func ("/projects/cli/workflow", test_workflow);
  g_test_add_func ("/projects/cli/devices", test_devices);
  g_test_add_func ("/projects/cli/device-option", test_device_option);
  return g_test_run ();
}
