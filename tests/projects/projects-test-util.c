/* projects-test-util.c: temporary folders and Fashion-MNIST PNG trees, a random-weight test backbone for the projects tests. */
#define _GNU_SOURCE /* unshare */
#include "projects-test-util.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sightline.h"
#include "sl-classifier.h"
#include "sl-idx.h"
#include "sl-train-job.h"
#include "sl-vision.h"

static const char *const names[10] = {
  "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

char *
pt_make_tmp (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sl-projects-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

gboolean
pt_make_read_only (const char *path)
{
  g_autofree char *db = g_build_filename (path, "project.db", NULL);

  if (geteuid () != 0)
    return g_chmod (db, 0444) == 0 && g_chmod (path, 0555) == 0;
  /* Root ignores permission bits: a read-only bind mount it cannot ignore. */
  if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0
      || mount (path, path, NULL, MS_BIND, NULL) != 0
      || mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
    {
      g_test_skip ("cannot make a read-only mount here (root without CAP_SYS_ADMIN)");
      return FALSE;
    }
  return TRUE;
}

int
pt_count_files (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  int n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        n += pt_count_files (child);
      else
        n++;
    }
  return n;
}

int
pt_write_fmnist_tree (const char *dir, gboolean train, int n, int n_classes, const char *prefix)
{
  const char *root = g_getenv ("SL_FASHION_MNIST");
  g_autofree char *images_path = NULL, *labels_path = NULL;
  sl_idx images = { 0 }, labels = { 0 };
  sl_error err = { 0 };
  int written = 0;

  if (root == NULL)
    root = "/usr/share/datasets/fashion-mnist";
  images_path = g_strdup_printf ("%s/%s-images-idx3-ubyte.gz", root, train ? "train" : "t10k");
  labels_path = g_strdup_printf ("%s/%s-labels-idx1-ubyte.gz", root, train ? "train" : "t10k");
  if (!g_file_test (images_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      return -1;
    }
  g_assert_cmpint (sl_idx_load (images_path, 0, &images, &err), ==, SL_OK);
  g_assert_cmpint (sl_idx_load (labels_path, 0, &labels, &err), ==, SL_OK);
  for (int64_t i = 0; i < images.count && written < n; i++)
    {
      const size_t size = (size_t) images.width * images.height;
      g_autofree char *folder = NULL, *file = NULL, *path = NULL;
      sl_image view = { 0 };

      if (labels.data[i] >= n_classes)
        continue;
      folder = g_build_filename (dir, names[labels.data[i]], NULL);
      g_mkdir_with_parents (folder, 0755);
      file = g_strdup_printf ("%s-%05lld.png", prefix, (long long) i);
      path = g_build_filename (folder, file, NULL);
      sl_image_borrow (&view, images.data + i * size, images.width, images.height, 1, 8,
                       (size_t) images.width, NULL);
      if (sl_image_save (&view, path, &err) != SL_OK)
        g_error ("could not write %s: %s", path, err.message);
      written++;
    }
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
  return written;
}

SlProject *
pt_fmnist_project (int n, int n_classes, char **tmp)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = NULL, *path = NULL;
  SlImportResult result;
  SlSplitConfig split;
  SlProject *project;

  *tmp = pt_make_tmp ();
  src = g_build_filename (*tmp, "src", NULL);
  path = g_build_filename (*tmp, "project", NULL);
  if (pt_write_fmnist_tree (src, TRUE, n, n_classes, "img") < 0)
    return NULL;
  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL,
                                           NULL, NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.added, ==, n);
  sl_import_result_clear (&result);
  sl_split_config_init (&split);
  g_assert_true (sl_project_split (project, &split, NULL, &error));
  g_assert_no_error (error);
  return project;
}

char *
pt_frozen_small_bn_json (int classes)
{
  sl_preset_options po;
  char *json = NULL, *out;
  cJSON *doc, *layer;

  sl_preset_options_init (&po);
  po.channels = 1;
  po.height = po.width = 28;
  po.classes = classes;
  g_assert_cmpint (sl_preset_json ("small-bn", &po, &json, NULL), ==, SL_OK);
  doc = cJSON_Parse (json);
  sl_free (json);
  cJSON_ArrayForEach (layer, cJSON_GetObjectItem (doc, "layers"))
  {
    if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (layer, "type")), "dense") == 0)
      break;
    cJSON_AddBoolToObject (layer, "frozen", true);
  }
  json = cJSON_PrintUnformatted (doc);
  out = g_strdup (json);
  cJSON_free (json);
  cJSON_Delete (doc);
  return out;
}

void
pt_install_test_backbone (const char *dir)
{
  static const char *const labels[] = { "a", "b" };
  g_autofree char *path = g_build_filename (dir, "efficientnet-lite0.slmodel", NULL);
  sl_preset_options po;
  sl_input_spec spec = { 0 };
  sl_slmodel_info info;
  sl_pipeline *pipe = NULL;
  sl_model *model = NULL;
  char *json = NULL;

  sl_preset_options_init (&po);
  po.channels = 3;
  po.height = po.width = 224;
  po.classes = 2; /* the head is replaced anyway: a small file */
  g_assert_cmpint (sl_preset_json ("efficientnet-lite0", &po, &json, NULL), ==, SL_OK);
  g_assert_cmpint (sl_model_new (json, 7, &model, NULL), ==, SL_OK);
  sl_free (json);
  g_assert_cmpint (sl_pipeline_new (&pipe, NULL), ==, SL_OK);
  sl_pipeline_get_input (pipe, &spec);
  spec.channels = 3;
  spec.width = spec.height = 224;
  g_assert_cmpint (sl_pipeline_set_input (pipe, &spec, NULL), ==, SL_OK);
  sl_slmodel_info_init (&info);
  info.labels = labels;
  info.provenance_json = "{\"backbone\":{\"name\":\"efficientnet-lite0\",\"title\":\"Test "
                         "Lite0 (random weights)\",\"native_size\":224,\"license\":\"Apache-2.0\","
                         "\"source\":{\"wheel\":\"none\"},\"parameters_sha256\":\"00\"}}";
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (sl_slmodel_save (model, pipe, &info, path, NULL), ==, SL_OK);
  sl_pipeline_free (pipe);
  sl_model_free (model);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", dir, TRUE);
  g_setenv ("SIGHTLINE_BACKBONE_PATH_ONLY", "1", TRUE);
}

void
pt_import_as (SlProject *project, const char *dir, const char *class_name, GArray **ids)
{
  g_autoptr (GError) error = NULL;
  SlImportResult result;
  const char *paths[] = { dir };

  g_assert_true (sl_project_import_files_as (project, paths, 1, class_name, 0, NULL, NULL, NULL,
                                             &result, &error));
  g_assert_no_error (error);
  if (ids != NULL)
    *ids = g_array_ref (result.image_ids);
  sl_import_result_clear (&result);
}

const char *
pt_cli_path (void)
{
  static char *path;

  if (path == NULL)
    {
      const char *build = g_getenv ("G_TEST_BUILDDIR");

      if (g_getenv ("SL_CLI") != NULL)
        path = g_strdup (g_getenv ("SL_CLI"));
      else if (build != NULL)
        path = g_build_filename (build, "..", "app", "sightline-cli", NULL);
    }
  return path != NULL && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) ? path : NULL;
}

int
pt_cli_argv (char **out, char **err, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *out_text = NULL, *err_text = NULL;
  int status;

  g_assert_nonnull (pt_cli_path ());
  g_ptr_array_add (argv, (gpointer) pt_cli_path ());
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out_text, &err_text, &status, &error));
  g_assert_no_error (error);
  if (*err_text != '\0')
    g_test_message ("stderr of %s: %s", (const char *) argv->pdata[1], err_text);
  if (out != NULL)
    *out = g_steal_pointer (&out_text);
  if (err != NULL)
    *err = g_steal_pointer (&err_text);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

int
pt_cli_va (char **out, char **err, const char *first, va_list ap)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *arg;

  g_ptr_array_add (args, (gpointer) first);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  g_ptr_array_add (args, NULL);
  return pt_cli_argv (out, err, (const char *const *) args->pdata);
}

int
pt_cli (char **out, char **err, const char *first, ...)
{
  va_list ap;
  int status;

  va_start (ap, first);
  status = pt_cli_va (out, err, first, ap);
  va_end (ap);
  return status;
}

gint64
pt_run_job (SlProject *project, SlRunConfig *config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = sl_train_job_new (project, config, &error);

  sl_run_config_clear (config);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  return sl_train_job_get_run_id (job);
}

void
pt_anomaly_fixture_set_up (PtAnomalyFixture *f, gconstpointer data)
{
  g_autofree char *backbones = NULL;

  f->tmp = pt_make_tmp ();
  f->images = g_build_filename (f->tmp, "images", NULL);
  backbones = g_build_filename (f->tmp, "backbones", NULL);
  pt_install_test_backbone (backbones);
}

void
pt_anomaly_fixture_tear_down (PtAnomalyFixture *f, gconstpointer data)
{
  g_clear_pointer (&f->project, sl_project_unref);
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->images);
}
