/* test-projects-transfer.c: backbone runs: recipes, the feature cache, and a Lite0 run end to end. */
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <glib/gstdio.h>

#include "projects-test-util.h"
#include "sl-classifier.h"
#include "sl-evaluation.h"
#include "sl-export.h"
#include "sl-train-job.h"

/* ---- Recipes ----------------------------------------------------------------------------- */

static const char *const old_recipe
    = "{\"preset\":\"small-bn\",\"model\":{\"input\":[1,8,8]},\"pipeline\":{\"steps\":[]},"
      "\"optimizer\":\"adam\",\"learning_rate\":0.001,\"epochs\":3,\"seed\":\"7\"}";

/* Recipes stored before backbones read as runs without one. */
static void
test_recipe_old (void)
{
  g_autoptr (GError) error = NULL;
  SlRunConfig c;

  g_assert_true (sl_run_config_from_json (old_recipe, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (c.backbone);
  g_assert_cmpstr (c.preset, ==, "small-bn");
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_HEAD);
  g_assert_cmpint (c.input_size, ==, 0);
  g_assert_cmpfloat (c.backbone_lr_ratio, ==, 0.1);
  sl_run_config_clear (&c);
}

/* A backbone recipe reads back with its mode, ratio and size; an unknown mode is refused. */
static void
test_recipe_backbone (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL, *bad = NULL;
  SlRunConfig c;
  cJSON *doc = cJSON_Parse (old_recipe), *bb = cJSON_CreateObject ();

  cJSON_ReplaceItemInObject (doc, "preset", cJSON_CreateNull ());
  cJSON_AddStringToObject (bb, "name", "efficientnet-lite0");
  cJSON_AddStringToObject (bb, "parameters_sha256", "ab12");
  cJSON_AddItemToObject (doc, "backbone", bb);
  cJSON_AddStringToObject (doc, "finetune", "last:2");
  cJSON_AddNumberToObject (doc, "backbone_lr_ratio", 0.25);
  cJSON_AddNumberToObject (doc, "input_size", 160);
  json = cJSON_PrintUnformatted (doc);
  g_assert_true (sl_run_config_from_json (json, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c.backbone, ==, "efficientnet-lite0");
  g_assert_null (c.preset);
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_LAST_BLOCKS);
  g_assert_cmpint (c.finetune_blocks, ==, 2);
  g_assert_cmpfloat (c.backbone_lr_ratio, ==, 0.25);
  g_assert_cmpint (c.input_size, ==, 160);
  sl_run_config_clear (&c);

  cJSON_ReplaceItemInObject (doc, "finetune", cJSON_CreateString ("half"));
  bad = cJSON_PrintUnformatted (doc);
  g_assert_false (sl_run_config_from_json (bad, &c, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "half"));
  cJSON_Delete (doc);
}

/* One rule for the workbench and the CLI: a backbone run gets the backbone's numbers. */
static void
test_backbone_defaults (void)
{
  SlRunConfig c;

  sl_run_config_init (&c);
  c.learning_rate = 0.05;
  c.finetune = SL_FINETUNE_ALL;
  c.backbone = g_strdup ("efficientnet-lite0");
  sl_run_config_apply_data_defaults (&c, 300, 60, 1);
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_HEAD);
  g_assert_cmpfloat (c.learning_rate, ==, 3e-3);
  g_assert_cmpfloat (c.backbone_lr_ratio, ==, 0.1);
  g_assert_cmpint (c.epochs, ==, 30);
  g_assert_cmpint (c.patience, ==, MAX (5, c.epochs / 4));
  sl_run_config_apply_data_defaults (&c, 20000, 0, 1);
  g_assert_cmpint (c.epochs, <, 30);
  g_assert_cmpint (c.patience, ==, 0);
  sl_run_config_clear (&c);

  /* Without a backbone the old rule stands, learning rate untouched. */
  sl_run_config_init (&c);
  c.learning_rate = 0.05;
  sl_run_config_apply_data_defaults (&c, 300, 60, 1);
  g_assert_cmpfloat (c.learning_rate, ==, 0.05);
  g_assert_cmpint (c.epochs, ==, 30);
  sl_run_config_clear (&c);
}

/* ---- The feature cache, on a small model with a frozen prefix --------------------------- */

typedef struct
{
  gint64 features_reports, last_done, total, epochs_done;
  gboolean feature_after_step; /* a feature report came after an epoch's step: wrong */
  gboolean steps_seen;
  char *run_dir;
  int files_during; /* files named features.tmp-* in the run folder during the first epoch */
} Watch;

static int
count_feature_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    n += g_str_has_prefix (name, "features.tmp-");
  return n;
}

static void
watch (const SlTrainProgress *p, gpointer user_data)
{
  Watch *w = user_data;

  if (p->features_total > 0)
    {
      w->features_reports++;
      w->feature_after_step |= w->steps_seen;
      g_assert_cmpint (p->features_done, >=, w->last_done);
      g_assert_cmpint (p->features_done, <=, p->features_total);
      w->last_done = p->features_done;
      w->total = p->features_total;
      return;
    }
  if (p->epoch_done)
    w->epochs_done++;
  else if (!w->steps_seen && w->run_dir != NULL)
    w->files_during = count_feature_files (w->run_dir);
  w->steps_seen = TRUE;
}

/* Trains the frozen model for 3 epochs; returns the last checkpoint's parameters. */
static GArray *
train_frozen (SlProject *project, gboolean cache, gint64 budget, gboolean augment,
              SlFeatureCacheStats *stats, Watch *w, GArray **metrics)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *ckpt = NULL, *id = NULL;
  sl_model *model = NULL;
  SlRunConfig c;
  GArray *params;

  sl_run_config_init (&c);
  /* Random weights: the cache does not care where they came from. */
  c.model_json = pt_frozen_small_bn_json (4);
  c.epochs = 3;
  c.batch_size = 16;
  c.threads = 2;
  c.patience = 0;
  c.seed = 5;
  if (augment)
    c.augment_json = g_strdup ("{\"flip-horizontal\": true}");
  job = sl_train_job_new (project, &c, &error);
  sl_run_config_clear (&c);
  g_assert_no_error (error);
  id = g_strdup_printf ("%" G_GINT64_FORMAT, sl_train_job_get_run_id (job));
  run = sl_project_get_run (project, id, &error);
  g_assert_no_error (error);
  w->run_dir = sl_project_run_file (project, run, NULL);
  sl_train_job_set_feature_cache (job, cache, budget);
  sl_train_job_set_progress_func (job, watch, w);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  sl_train_job_get_feature_stats (job, stats);
  /* The file part of the cache is gone with the run's end. */
  g_assert_cmpint (count_feature_files (w->run_dir), ==, 0);
  ckpt = sl_project_run_file (project, run, "last.slckpt");
  g_assert_cmpint (sl_model_load_checkpoint (ckpt, &model, NULL), ==, SL_OK);
  params = g_array_new (FALSE, FALSE, sizeof (float));
  g_array_append_vals (params, sl_model_params (model), sl_model_param_count (model));
  sl_model_free (model);
  *metrics = sl_project_get_run_metrics (project, run->id, &error);
  g_assert_no_error (error);
  return params;
}

static void
assert_same (GArray *a, GArray *b, double tolerance)
{
  double worst = 0;

  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    worst = MAX (worst, fabs (g_array_index (a, float, i) - g_array_index (b, float, i)));
  g_test_message ("largest difference %g", worst);
  g_assert_cmpfloat (worst, <=, tolerance);
}

/* Head-only training from cached features gives the weights training through the whole model
 * every batch gives (same seed, same batches), in memory, on disk and split between them; the
 * cached runs decode each image once, in the feature pass, which reports its progress first. */
static void
test_cache_same_weights (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (160, 4, &tmp);
  g_autoptr (GArray) plain = NULL, cached = NULL, on_disk = NULL, split = NULL;
  g_autoptr (GArray) m_plain = NULL, m_cached = NULL, m_disk = NULL, m_split = NULL;
  SlFeatureCacheStats s_plain, s_cached, s_disk, s_split;
  Watch w_plain = { 0 }, w_cached = { 0 }, w_disk = { 0 }, w_split = { 0 };

  if (project == NULL)
    return;
  plain = train_frozen (project, FALSE, -1, FALSE, &s_plain, &w_plain, &m_plain);
  cached = train_frozen (project, TRUE, -1, FALSE, &s_cached, &w_cached, &m_cached);
  on_disk = train_frozen (project, TRUE, 0, FALSE, &s_disk, &w_disk, &m_disk);
  split = train_frozen (project, TRUE, 40 * 1024, FALSE, &s_split, &w_split, &m_split);

  /* Without the cache: no feature pass, the loaders decode. */
  g_assert_false (s_plain.used);
  g_assert_cmpint (w_plain.features_reports, ==, 0);
  g_assert_cmpint (s_plain.epoch_decoded_images, >, 0);

  /* With it: one pass over train + validation images, before any step, each image decoded
   * once; the epochs' loaders decode nothing. */
  g_assert_true (s_cached.used);
  g_assert_cmpint (s_cached.images, ==, w_cached.total);
  g_assert_cmpint (w_cached.last_done, ==, w_cached.total);
  g_assert_false (w_cached.feature_after_step);
  g_assert_cmpint (s_cached.decoded_images, ==, s_cached.images);
  g_assert_cmpint (s_cached.epoch_decoded_images, ==, 0);
  g_assert_cmpint (s_cached.disk_bytes, ==, 0);
  g_assert_cmpint (s_cached.memory_bytes, >, 0);
  g_assert_cmpint (w_cached.files_during, ==, 0);
  g_assert_cmpint (w_cached.epochs_done, ==, 3);

  /* Budget 0: everything in files under the run's folder while training (one for the
   * training images, one for the validation images). */
  g_assert_true (s_disk.used);
  g_assert_cmpint (s_disk.memory_bytes, ==, 0);
  g_assert_cmpint (s_disk.disk_bytes, ==, s_cached.memory_bytes);
  g_assert_cmpint (w_disk.files_during, ==, 2);
  /* A budget for part of them: the rest in the file. */
  g_assert_cmpint (s_split.memory_bytes, >, 0);
  g_assert_cmpint (s_split.disk_bytes, >, 0);
  g_assert_cmpint (s_split.memory_bytes + s_split.disk_bytes, ==, s_cached.memory_bytes);

  /* Same batches, same steps: the prefix ran in other batch sizes, so allow for rounding. */
  assert_same (plain, cached, 1e-4);
  assert_same (cached, on_disk, 0);
  assert_same (cached, split, 0);
  g_assert_cmpuint (m_plain->len, ==, 3);
  g_assert_cmpuint (m_cached->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat_with_epsilon (g_array_index (m_plain, SlEpochMetrics, i).val_loss,
                                    g_array_index (m_cached, SlEpochMetrics, i).val_loss, 1e-4);
  {
    /* What a killed training leaves goes with the next open, as other run scratch does. */
    g_autofree char *stale = g_build_filename (w_disk.run_dir, "features.tmp-Ab12Cd", NULL);
    g_autofree char *path = g_strdup (sl_project_get_path (project));
    g_autoptr (GError) error = NULL;

    g_assert_true (g_file_set_contents (stale, "left by a killed run", -1, NULL));
    g_clear_pointer (&project, sl_project_unref);
    project = sl_project_open (path, &error);
    g_assert_no_error (error);
    g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  }
  g_free (w_plain.run_dir);
  g_free (w_cached.run_dir);
  g_free (w_disk.run_dir);
  g_free (w_split.run_dir);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Overwrites every k-th stored image with bytes no decoder reads; returns how many. */
static int
damage_images (const char *dir, int k, int *seen)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  int damaged = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        damaged += damage_images (path, k, seen);
      else if ((*seen)++ % k == 0)
        {
          g_assert_true (g_file_set_contents (path, "not an image", -1, NULL));
          damaged++;
        }
    }
  return damaged;
}

/* Images the loader cannot decode are skipped by the cache exactly as by the loader: the
 * batches, and so the weights, stay the same. */
static void
test_cache_skips_unreadable (void)
{
  g_autofree char *tmp = NULL, *images = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (120, 4, &tmp);
  g_autoptr (GArray) plain = NULL, cached = NULL, m_plain = NULL, m_cached = NULL;
  SlFeatureCacheStats s_plain, s_cached;
  Watch w_plain = { 0 }, w_cached = { 0 };
  int seen = 0;

  if (project == NULL)
    return;
  images = g_build_filename (sl_project_get_path (project), "images", NULL);
  g_assert_cmpint (damage_images (images, 9, &seen), >=, 10);
  plain = train_frozen (project, FALSE, -1, FALSE, &s_plain, &w_plain, &m_plain);
  cached = train_frozen (project, TRUE, 16 * 1024, FALSE, &s_cached, &w_cached, &m_cached);
  g_assert_true (s_cached.used);
  g_assert_cmpint (s_cached.decoded_images, <, s_cached.images); /* some failed */
  assert_same (plain, cached, 1e-4);
  g_free (w_plain.run_dir);
  g_free (w_cached.run_dir);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* With augmentation the frozen layers see other pixels every epoch: no cache. */
static void
test_cache_off_with_augmentation (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (80, 4, &tmp);
  g_autoptr (GArray) params = NULL, metrics = NULL;
  SlFeatureCacheStats s;
  Watch w = { 0 };

  if (project == NULL)
    return;
  params = train_frozen (project, TRUE, -1, TRUE, &s, &w, &metrics);
  g_assert_false (s.used);
  g_assert_cmpint (w.features_reports, ==, 0);
  g_assert_cmpint (s.epoch_decoded_images, >, 0);
  g_free (w.run_dir);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Gray input with the stem's filters summed over colour predicts exactly what the colour model
 * predicts on the gray image repeated in R, G and B (the backbone's mean and std are the same on
 * every channel): gray data loses nothing by staying gray. */
static void
test_gray_equals_repeated_rgb (void)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find ("lite0", NULL);
  g_autoptr (GError) error = NULL;
  SlTransferOptions o = { 5, 1, 128, 128, SL_FINETUNE_HEAD, 0, 0.1 };
  const int pixels = 128 * 128;
  g_autofree float *gray = g_new (float, pixels), *rgb = g_new (float, 3 * pixels);
  g_autofree float *f1 = NULL, *f3 = NULL;
  float worst = 0, scale = 0;
  sl_model *m1, *m3;
  GRand *r = g_rand_new_with_seed (3);

  if (bb == NULL)
    {
      g_test_skip ("EfficientNet-Lite0 is not installed (sightline-cli backbones install)");
      g_rand_free (r);
      return;
    }
  for (int i = 0; i < pixels; i++)
    gray[i] = rgb[i] = rgb[pixels + i] = rgb[2 * pixels + i]
        = (float) ((g_rand_int_range (r, 0, 256) - 127) / 128.0);
  g_rand_free (r);
  m1 = sl_backbone_transfer_model_new (bb, &o, 9, &error);
  g_assert_no_error (error);
  o.channels = 3;
  m3 = sl_backbone_transfer_model_new (bb, &o, 9, &error);
  g_assert_no_error (error);
  /* The frozen backbone's output (the head's initial weights depend on the stem's size). */
  g_assert_cmpuint (sl_model_feature_size (m1), ==, sl_model_feature_size (m3));
  f1 = g_new (float, sl_model_feature_size (m1));
  f3 = g_new (float, sl_model_feature_size (m3));
  g_assert_cmpint (sl_model_compute_features (m1, gray, 1, f1, NULL), ==, SL_OK);
  g_assert_cmpint (sl_model_compute_features (m3, rgb, 1, f3, NULL), ==, SL_OK);
  for (gsize k = 0; k < sl_model_feature_size (m1); k++)
    {
      worst = MAX (worst, fabsf (f1[k] - f3[k]));
      scale = MAX (scale, fabsf (f3[k]));
    }
  g_test_message ("largest difference %g (largest feature %g)", worst, scale);
  g_assert_cmpfloat (worst, <=, 1e-5 * MAX (scale, 1));
  sl_model_free (m1);
  sl_model_free (m3);
}

/* ---- A Lite0 run end to end ------------------------------------------------------------- */

/* A program built beside the tests (G_TEST_BUILDDIR is tests/). */
static char *
built_program (const char *folder, const char *name)
{
  const char *build = g_getenv ("G_TEST_BUILDDIR");
  char *path = build != NULL ? g_build_filename (build, "..", folder, name, NULL) : NULL;

  if (path != NULL && !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_clear_pointer (&path, g_free);
  return path;
}

/* Runs a program; returns its exit status, stdout and stderr in *out and *err. */
static int
run_program (char **argv, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_assert_true (
      g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static cJSON *
read_json (const char *path)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return cJSON_Parse (text);
}

/* The exported model says which weights it started from, in the .slmodel header (read through
 * the classifier) and the ONNX sidecar. */
static void
check_export_provenance (const SlExportResult *r, const SlBackboneInfo *bb)
{
  g_autoptr (sl_classifier) c = NULL;
  cJSON *header, *sidecar;
  const cJSON *p;

  g_assert_cmpint (sl_classifier_open (r->slmodel_path, NULL, &c, NULL), ==, SL_OK);
  header = cJSON_Parse (sl_classifier_header_json (c));
  p = cJSON_GetObjectItem (cJSON_GetObjectItem (header, "provenance"), "backbone");
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (p, "name")), ==, bb->name);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (p, "parameters_sha256")), ==,
                   bb->parameters_sha256);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (p, "license")), ==, bb->license);
  g_assert_true (cJSON_IsObject (cJSON_GetObjectItem (p, "source")));
  cJSON_Delete (header);
  sidecar = read_json (r->sidecar_path);
  p = cJSON_GetObjectItem (cJSON_GetObjectItem (sidecar, "provenance"), "backbone");
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (p, "parameters_sha256")), ==,
                   bb->parameters_sha256);
  cJSON_Delete (sidecar);
}

/* sightline-infer on the exported file agrees with the project's own classifier. */
static void
check_infer (SlProject *project, gint64 run_id, const SlExportResult *r, const char *image)
{
  g_autofree char *infer = built_program ("app", "sightline-infer"), *out = NULL, *err = NULL;
  g_autoptr (sl_classifier) c = NULL;
  g_autoptr (GError) error = NULL;
  char *argv[] = { infer, "--json", r->slmodel_path, (char *) image, NULL };
  sl_prediction p;
  cJSON *line;

  if (infer == NULL)
    {
      g_test_message ("sightline-infer is not built: not run");
      return;
    }
  g_assert_cmpint (run_program (argv, &out, &err), ==, 0);
  line = cJSON_Parse (out);
  g_assert_nonnull (line);
  c = sl_project_open_classifier (project, run_id, SL_CHECKPOINT_BEST, 1, NULL, &error);
  g_assert_no_error (error);
  sl_prediction_init (&p);
  g_assert_cmpint (sl_classifier_predict_file (c, image, &p, NULL, NULL), ==, SL_OK);
  g_assert_cmpint ((int) cJSON_GetNumberValue (cJSON_GetObjectItem (line, "class_index")), ==,
                   p.class_index);
  g_assert_cmpfloat_with_epsilon (cJSON_GetNumberValue (cJSON_GetObjectItem (line, "confidence")),
                                  p.confidence, 1e-4);
  cJSON_Delete (line);
}

/* The run's recipe: the backbone's identity, the resolved input and the backbone's input
 * normalisation on the project's (gray) channels. */
static void
check_recipe (const SlRunInfo *run, const SlBackboneInfo *bb)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pipeline = sl_run_info_dup_pipeline_json (run);
  cJSON *doc = cJSON_Parse (run->config_json), *input;
  const cJSON *identity = cJSON_GetObjectItem (doc, "backbone");
  SlRunConfig c;

  g_assert_cmpstr (run->backbone, ==, bb->name);
  g_assert_cmpstr (run->preset, ==, bb->name);
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (identity, "parameters_sha256")), ==,
                   bb->parameters_sha256);
  g_assert_true (sl_run_config_from_json (run->config_json, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c.backbone, ==, bb->name);
  g_assert_cmpint (c.input_size, ==, 128);
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_HEAD);
  sl_run_config_clear (&c);
  cJSON_Delete (doc);
  doc = cJSON_Parse (pipeline);
  input = cJSON_GetObjectItem (doc, "input");
  g_assert_cmpint ((int) cJSON_GetNumberValue (cJSON_GetObjectItem (input, "width")), ==, 128);
  g_assert_cmpint ((int) cJSON_GetNumberValue (cJSON_GetObjectItem (input, "channels")), ==, 1);
  g_assert_cmpfloat_with_epsilon (
      cJSON_GetNumberValue (cJSON_GetArrayItem (cJSON_GetObjectItem (input, "mean"), 0)),
      127.0 / 255.0, 1e-6);
  cJSON_Delete (doc);
}

/* A head-only Lite0 run at 128 px: trains from cached features, resumes, evaluates above
 * chance, exports with its backbone's identity, and sightline-infer runs the export. */
static void
test_lite0_end_to_end (void)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find ("lite0", NULL);
  g_autofree char *tmp = NULL, *out_dir = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  g_autoptr (GError) error = NULL;
  SlFeatureCacheStats stats;
  SlExportOptions eo;
  SlExportResult r = { 0 };
  SlRunConfig c;
  gint64 eval_id;

  if (bb == NULL)
    {
      g_test_skip ("EfficientNet-Lite0 is not installed (sightline-cli backbones install)");
      return;
    }
  if ((project = pt_fmnist_project (150, 3, &tmp)) == NULL)
    return;
  sl_run_config_init (&c);
  c.backbone = g_strdup ("lite0");
  sl_run_config_apply_data_defaults (&c, 100, 20, 1);
  c.epochs = 2;
  c.batch_size = 16;
  c.input_size = 128;
  c.threads = 2;
  job = sl_train_job_new (project, &c, &error);
  sl_run_config_clear (&c);
  g_assert_no_error (error);
  g_assert_cmpuint (sl_train_job_get_trainable_param_count (job), <,
                    sl_train_job_get_param_count (job) / 100);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  sl_train_job_get_feature_stats (job, &stats);
  g_assert_true (stats.used);
  g_test_message ("feature pass: %" G_GINT64_FORMAT " images in %.2f s", stats.images,
                  stats.seconds);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  check_recipe (run, bb);
  g_clear_pointer (&job, sl_train_job_free);

  /* Resume rebuilds the same model from the recipe; the checkpoint holds the weights. */
  job = sl_train_job_new_resume (project, run->name, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_train_job_get_first_epoch (job), ==, 2);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  g_clear_pointer (&run, sl_run_info_free);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_cmpint (run->epochs_done, ==, 3);
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);

  eval_id = sl_project_evaluate (project, run->id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 2, 2, NULL,
                                 NULL, NULL, &error);
  g_assert_no_error (error);
  e = sl_project_get_evaluation (project, eval_id, -1, &error);
  g_assert_no_error (error);
  g_test_message ("test accuracy %.3f on %" G_GINT64_FORMAT " images", e->accuracy,
                  (gint64) e->images);
  g_assert_cmpfloat (e->accuracy, >, 0.6); /* chance is 1/3 */

  out_dir = g_build_filename (tmp, "export", NULL);
  sl_export_options_init (&eo);
  eo.formats = SL_EXPORT_SLMODEL | SL_EXPORT_ONNX;
  g_assert_true (sl_project_export_run (project, run->id, out_dir, &eo, &r, &error));
  g_assert_no_error (error);
  check_export_provenance (&r, bb);
  check_infer (project, run->id, &r,
               ((SlImagePrediction *) g_ptr_array_index (
                    e->confident_mistakes->len > 0 ? e->confident_mistakes : e->unsure_correct, 0))
                   ->original_path);
  sl_export_result_clear (&r);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

typedef struct
{
  SlTrainJob *job;
  char *run_dir;
  int files_seen; /* feature files in the run's folder when the pass was cancelled */
} CancelWatch;

static void
cancel_in_feature_pass (const SlTrainProgress *p, gpointer user_data)
{
  CancelWatch *w = user_data;

  g_assert_cmpint (p->features_total, >, 0); /* no epoch may start */
  if (p->features_done > 0 && w->files_seen < 0)
    {
      w->files_seen = count_feature_files (w->run_dir);
      sl_train_job_cancel (w->job);
    }
}

/* Cancelled during the feature pass, a run has no checkpoint: its cache files are gone, and
 * resuming starts again from the backbone it recorded. */
static void
test_lite0_cancel_in_feature_pass (void)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find ("lite0", NULL);
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GError) error = NULL;
  CancelWatch w = { NULL, NULL, -1 };
  SlFeatureCacheStats stats;
  SlRunConfig c;

  if (bb == NULL)
    {
      g_test_skip ("EfficientNet-Lite0 is not installed (sightline-cli backbones install)");
      return;
    }
  if ((project = pt_fmnist_project (80, 2, &tmp)) == NULL)
    return;
  sl_run_config_init (&c);
  c.backbone = g_strdup ("efficientnet-lite0");
  sl_run_config_apply_data_defaults (&c, 56, 12, 1);
  c.epochs = 1;
  c.input_size = 128;
  c.batch_size = 8;
  c.threads = 2;
  job = sl_train_job_new (project, &c, &error);
  sl_run_config_clear (&c);
  g_assert_no_error (error);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  w.job = job;
  w.run_dir = sl_project_run_file (project, run, NULL);
  sl_train_job_set_feature_cache (job, TRUE, 0); /* all in files */
  sl_train_job_set_progress_func (job, cancel_in_feature_pass, &w);
  g_assert_false (sl_train_job_run (job, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (w.files_seen, ==, 1);
  g_assert_cmpint (count_feature_files (w.run_dir), ==, 0);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&run, sl_run_info_free);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_cmpint (run->status, ==, SL_RUN_CANCELLED);
  g_assert_cmpint (run->epochs_done, ==, 0);

  job = sl_train_job_new_resume (project, run->name, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_train_job_get_first_epoch (job), ==, 0);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  sl_train_job_get_feature_stats (job, &stats);
  g_assert_true (stats.used);
  g_clear_pointer (&run, sl_run_info_free);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  {
    /* It started from the backbone: its frozen layers compute what the backbone's do. */
    g_autofree char *ckpt = sl_project_run_file (project, run, "last.slckpt");
    SlTransferOptions o = { 2, 1, 128, 128, SL_FINETUNE_HEAD, 0, 0.1 };
    g_autofree float *x = g_new0 (float, 128 * 128), *fa = NULL, *fb = NULL;
    sl_model *trained = NULL, *fresh = sl_backbone_transfer_model_new (bb, &o, 1, &error);

    g_assert_no_error (error);
    g_assert_cmpint (sl_model_load_checkpoint (ckpt, &trained, NULL), ==, SL_OK);
    for (int i = 0; i < 128 * 128; i++)
      x[i] = (float) ((i * 7919) % 255 - 127) / 128.0f;
    fa = g_new (float, sl_model_feature_size (fresh));
    fb = g_new (float, sl_model_feature_size (trained));
    g_assert_cmpuint (sl_model_feature_size (fresh), ==, sl_model_feature_size (trained));
    g_assert_cmpint (sl_model_compute_features (fresh, x, 1, fa, NULL), ==, SL_OK);
    g_assert_cmpint (sl_model_compute_features (trained, x, 1, fb, NULL), ==, SL_OK);
    g_assert_true (memcmp (fa, fb, sizeof (float) * sl_model_feature_size (fresh)) == 0);
    sl_model_free (trained);
    sl_model_free (fresh);
  }
  g_free (w.run_dir);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* Without a size, a backbone run on small images (28 px) takes 128 px; the recipe keeps the
 * size it resolved. */
static void
test_lite0_default_input (void)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find ("lite0", NULL);
  g_autofree char *tmp = NULL, *pipeline = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GError) error = NULL;
  SlRunConfig c, stored;

  if (bb == NULL)
    {
      g_test_skip ("EfficientNet-Lite0 is not installed (sightline-cli backbones install)");
      return;
    }
  if ((project = pt_fmnist_project (40, 2, &tmp)) == NULL)
    return;
  sl_run_config_init (&c);
  c.backbone = g_strdup ("lite0");
  job = sl_train_job_new (project, &c, &error);
  sl_run_config_clear (&c);
  g_assert_no_error (error);
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_true (sl_run_config_from_json (run->config_json, &stored, NULL, &error));
  g_assert_cmpint (stored.input_size, ==, SL_BACKBONE_SMALL_INPUT);
  sl_run_config_clear (&stored);
  pipeline = sl_run_info_dup_pipeline_json (run);
  g_assert_nonnull (strstr (pipeline, "128"));
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* ---- The CLI ------------------------------------------------------------------------------ */

static int
cli (char **out, char **err, const char *first, ...)
{
  g_autofree char *path = built_program ("app", "sightline-cli");
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  g_assert_nonnull (path);
  g_ptr_array_add (args, path);
  g_ptr_array_add (args, (gpointer) first);
  va_start (ap, first);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return run_program ((char **) args->pdata, out, err);
}

/* The environment of a CLI that finds no backbone: only $SIGHTLINE_BACKBONE_PATH is searched
 * (SIGHTLINE_BACKBONE_PATH_ONLY), and that is an empty folder. */
static char **
no_backbone_environ (const char *empty)
{
  char **env = g_get_environ ();

  env = g_environ_setenv (env, "SIGHTLINE_BACKBONE_PATH", empty, TRUE);
  env = g_environ_setenv (env, "SIGHTLINE_BACKBONE_PATH_ONLY", "1", TRUE);
  env = g_environ_setenv (env, "XDG_DATA_HOME", empty, TRUE);
  return env;
}

/* Runs the CLI with `env`; returns its exit status (-1 when it did not exit). */
static int
cli_env (char **env, char **out, char **err, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_assert_true (
      g_spawn_sync (NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Options that do not go together, and a backbone that is not installed, are said plainly
 * before any work. */
static void
test_cli_errors (void)
{
  g_autofree char *tmp = NULL, *empty = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (40, 2, &tmp);
  const char *path;
  struct
  {
    const char *model, *option, *value, *expect;
  } cases[] = {
    { "small-bn", "--finetune", "head", "apply to a pretrained backbone" },
    { "small-bn", "--input-size", "128", "apply to a pretrained backbone" },
  };

  if (project == NULL)
    return;
  path = sl_project_get_path (project);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL, *err = NULL;

      g_assert_cmpint (cli (&out, &err, "train", path, "--model", cases[i].model, cases[i].option,
                            cases[i].value, NULL),
                       !=, 0);
      g_assert_nonnull (strstr (err, cases[i].expect));
    }
  {
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (
        cli (&out, &err, "train", path, "--resume", "latest", "--finetune", "all", NULL), !=, 0);
    g_assert_nonnull (strstr (err, "keeps its recipe"));
  }
  /* Missing: the error names the command that installs it. Only the empty folder is searched,
   * so this runs whatever the build tree or the user has installed. */
  empty = g_build_filename (tmp, "no-backbones", NULL);
  g_mkdir (empty, 0755);
  {
    g_autofree char *cli_path = built_program ("app", "sightline-cli");
    g_autofree char *out = NULL, *err = NULL;
    g_auto (GStrv) env = no_backbone_environ (empty);
    char *argv[] = { cli_path, "train", (char *) path, "--model", "lite2", NULL };

    g_assert_cmpint (cli_env (env, &out, &err, argv), ==, 1);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, "EfficientNet-Lite2"));
    g_assert_nonnull (strstr (err, "backbones install"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    /* Nothing was recorded. */
    g_assert_cmpint (cli (&out, &err, "runs", path, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "No runs yet"));
  }
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

/* `train --model lite0` with no other option trains a head on the backbone with the defaults
 * and says so; options change that; when the backbone of the latest run is gone, `train P`
 * says why it trains small-bn instead. */
static void
test_cli_lite0 (void)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find ("lite0", NULL);
  g_autofree char *tmp = NULL, *out = NULL, *err = NULL, *model = NULL, *empty = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GError) error = NULL;

  if (bb == NULL)
    {
      g_test_skip ("EfficientNet-Lite0 is not installed (sightline-cli backbones install)");
      return;
    }
  if ((project = pt_fmnist_project (60, 2, &tmp)) == NULL)
    return;
  /* A new project starts from the backbone. */
  model = sl_project_dup_default_model (project);
  g_assert_cmpstr (model, ==, "efficientnet-lite0");
  g_clear_pointer (&model, g_free);
  /* True defaults: nothing but the model. */
  g_assert_cmpint (
      cli (&out, &err, "train", sl_project_get_path (project), "--model", "lite0", NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "Training efficientnet-lite0 run-1"));
  g_assert_nonnull (strstr (out, "128 px input, trains the new head"));
  g_assert_nonnull (strstr (out, "images computed in"));
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (run->backbone, ==, "efficientnet-lite0");
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  g_assert_cmpint (run->epochs, >, 1);
  g_assert_cmpfloat (run->best_val_accuracy, >, 0.5); /* two classes */
  g_clear_pointer (&run, sl_run_info_free);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* Options change the fine-tuning and the input. */
  g_assert_cmpint (cli (&out, &err, "train", sl_project_get_path (project), "--model", "lite0",
                        "--epochs", "1", "--finetune", "last:1", "--input-size", "160", NULL),
                   ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "Training efficientnet-lite0 run-2"));
  g_assert_nonnull (
      strstr (out, "160 px input, trains the new head and the backbone's last block"));
  g_assert_nonnull (strstr (out, "images computed in"));
  run = sl_project_get_run (project, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (run->backbone, ==, "efficientnet-lite0");
  g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
  /* --json says what the feature cache did. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cli (&out, &err, "train", sl_project_get_path (project), "--model", "lite0",
                        "--epochs", "1", "--input-size", "128", "--json", NULL),
                   ==, 0);
  {
    cJSON *doc = cJSON_Parse (out);
    const cJSON *cache = cJSON_GetObjectItem (doc, "feature_cache");

    g_assert_nonnull (doc);
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "backbone")), ==,
                     "efficientnet-lite0");
    g_assert_cmpint ((gint64) cJSON_GetNumberValue (cJSON_GetObjectItem (cache, "images")), ==,
                     (gint64) (cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "train_images"))
                               + cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "val_images"))));
    g_assert_cmpfloat (cJSON_GetNumberValue (cJSON_GetObjectItem (cache, "memory_bytes")), >, 0);
    cJSON_Delete (doc);
  }
  /* Later runs train what the latest run trained. */
  model = sl_project_dup_default_model (project);
  g_assert_cmpstr (model, ==, "efficientnet-lite0");
  g_clear_pointer (&model, g_free);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* Unless it is gone: then small-bn, and the reason with the command that brings it back. */
  empty = g_build_filename (tmp, "no-backbones", NULL);
  g_mkdir (empty, 0755);
  {
    g_autofree char *cli_path = built_program ("app", "sightline-cli");
    g_auto (GStrv) env = no_backbone_environ (empty);
    char *argv[]
        = { cli_path, "train", (char *) sl_project_get_path (project), "--epochs", "1", NULL };

    g_assert_cmpint (cli_env (env, &out, &err, argv), ==, 0);
    g_test_message ("%s", out);
    g_assert_nonnull (strstr (out, "trained efficientnet-lite0, which is no longer installed"));
    g_assert_nonnull (strstr (out, "small-bn"));
    g_assert_nonnull (strstr (out, "backbones install"));
    run = sl_project_get_run (project, "latest", &error);
    g_assert_no_error (error);
    g_assert_null (run->backbone);
    g_assert_cmpstr (run->preset, ==, "small-bn");
    g_clear_pointer (&run, sl_run_info_free);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  g_assert_cmpint (cli (&out, &err, "train", sl_project_get_path (project), "--model", "seed-cnn",
                        "--epochs", "1", NULL),
                   ==, 0);
  model = sl_project_dup_default_model (project);
  g_assert_cmpstr (model, ==, "seed-cnn");
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/transfer/recipe-old", test_recipe_old);
  g_test_add_func ("/projects/transfer/recipe-backbone", test_recipe_backbone);
  g_test_add_func ("/projects/transfer/backbone-defaults", test_backbone_defaults);
  g_test_add_func ("/projects/transfer/cache-same-weights", test_cache_same_weights);
  g_test_add_func ("/projects/transfer/cache-skips-unreadable", test_cache_skips_unreadable);
  g_test_add_func ("/projects/transfer/cache-off-with-augmentation",
                   test_cache_off_with_augmentation);
  g_test_add_func ("/projects/transfer/cli-errors", test_cli_errors);
  g_test_add_func ("/projects/transfer/gray-equals-repeated-rgb", test_gray_equals_repeated_rgb);
  g_test_add_func ("/projects/transfer/lite0-end-to-end", test_lite0_end_to_end);
  g_test_add_func ("/projects/transfer/lite0-cancel-in-feature-pass",
                   test_lite0_cancel_in_feature_pass);
  g_test_add_func ("/projects/transfer/lite0-default-input", test_lite0_default_input);
  g_test_add_func ("/projects/transfer/cli-lite0", test_cli_lite0);
  return g_test_run ();
}
