/* test-engine-devices.c: the device list: the CPU entry, and why a GPU is or is not there (fake CUDA modules). */
#include "sl-test-support.h"
#include "sl-backend-module-private.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* A fresh folder holding libsightline-cuda.so copied from fake-cuda-<variant>.so
 * (variant NULL: an empty folder), made the only place the runtime searches. */
static char *
module_dir (const char *variant)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sl-devices-XXXXXX", &error);

  g_assert_no_error (error);
  if (variant != NULL)
    {
      g_autofree char *name = g_strdup_printf ("fake-cuda-%s.so", variant);
      g_autofree char *src = g_test_build_filename (G_TEST_BUILT, name, NULL);
      g_autofree char *dst = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (src, &contents, &len, &error));
      g_assert_no_error (error);
      g_assert_true (g_file_set_contents (dst, contents, (gssize) len, &error));
      g_assert_no_error (error);
    }
  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", dir, TRUE);
  return dir;
}

static void
remove_dir (char *dir)
{
  g_autofree char *module = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);

  g_unlink (module);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_free (dir);
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
}

static sl_device_list *
discover (void)
{
  sl_device_list *list = NULL;
  sl_error err = { 0 };

  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  g_assert_nonnull (list);
  return list;
}

/* The list has only the CPU, and gpu_status contains `why`. */
static void
assert_cpu_only (const sl_device_list *list, const char *why)
{
  const char *status = sl_device_list_gpu_status (list);

  g_test_message ("GPU status: %s", status);
  g_assert_cmpuint (sl_device_list_count (list), ==, 1);
  g_assert_null (sl_device_list_find (list, "cuda"));
  g_assert_null (sl_device_list_find (list, "cuda:0"));
  g_assert_nonnull (strstr (status, why));
  g_assert_nonnull (strstr (status, "training uses the CPU"));
}

static guint64
meminfo_total (void)
{
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/meminfo", &text, NULL, NULL));
  line = strstr (text, "MemTotal:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("MemTotal:"), NULL, 10) * 1024;
}

static void
test_cpu (void)
{
  char *dir = module_dir (NULL);
  sl_device_list *list = discover ();
  const sl_device_info *cpu = sl_device_list_get (list, 0);

  g_assert_nonnull (cpu);
  g_test_message ("CPU: %s, %d threads, %" G_GUINT64_FORMAT " bytes", cpu->name, cpu->threads,
                  cpu->memory_bytes);
  g_assert_cmpint (cpu->kind, ==, SL_DEVICE_CPU);
  g_assert_cmpint (cpu->index, ==, 0);
  g_assert_cmpstr (cpu->id, ==, "cpu");
  g_assert_cmpuint (strlen (cpu->name), >, 0);
  g_assert_false (g_ascii_isspace (cpu->name[0]));
  g_assert_null (strstr (cpu->name, "  "));
  /* GLib counts the same affinity mask. */
  g_assert_cmpint (cpu->threads, >=, 1);
  g_assert_cmpint (cpu->threads, ==, (int) g_get_num_processors ());
  g_assert_cmpuint (cpu->memory_bytes, ==, meminfo_total ());
  g_assert_true (cpu->usable);
  g_assert_cmpstr (cpu->reason, ==, "");
  g_assert_true (sl_device_list_find (list, "cpu") == cpu);
  g_assert_true (sl_device_list_find (list, "CPU") == cpu);
  sl_device_list_free (list);
  remove_dir (dir);
}

static void
test_no_module (void)
{
  char *dir = module_dir (NULL);
  sl_device_list *list = discover ();

  assert_cpu_only (list, "The CUDA backend module (libsightline-cuda.so) is not installed");
  /* It says where it looked: the override is the only folder. */
  g_assert_nonnull (strstr (sl_device_list_gpu_status (list), dir));
  g_assert_null (sl_device_list_cuda_module (list));
  sl_device_list_free (list);
  remove_dir (dir);
}

/* Without the override the runtime looks beside itself: here the test program's folder. */
static void
test_search_path (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = g_path_get_dirname (exe);
  sl_device_list *list;

  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
  list = discover ();
  if (sl_device_list_count (list) == 1 && sl_device_list_cuda_module (list) == NULL
      && strstr (sl_device_list_gpu_status (list), "is not installed") != NULL)
    {
      g_test_message ("%s", sl_device_list_gpu_status (list));
      g_assert_nonnull (strstr (sl_device_list_gpu_status (list), exe_dir));
    }
  else
    g_test_message ("a CUDA module was found: %s", sl_device_list_gpu_status (list));
  sl_device_list_free (list);
}

static void
test_no_driver (void)
{
  char *dir = module_dir ("nodriver");
  sl_device_list *list = discover ();

  assert_cpu_only (list, "No GPU: no NVIDIA driver");
  /* Loaded and kept open: a later backend can come from it. */
  g_assert_nonnull (sl_device_list_cuda_module (list));
  sl_device_list_free (list);
  remove_dir (dir);
}

static void
test_wrong_abi (void)
{
  char *dir = module_dir ("wrongabi");
  sl_device_list *list = discover ();
  g_autofree char *abi = g_strdup_printf ("backend ABI %d, this one needs %d",
                                          SL_BACKEND_ABI_VERSION + 41, SL_BACKEND_ABI_VERSION);

  assert_cpu_only (list, "was built for another version of Sightline");
  g_assert_nonnull (strstr (sl_device_list_gpu_status (list), abi));
  g_assert_null (sl_device_list_cuda_module (list));
  sl_device_list_free (list);
  remove_dir (dir);
}

static void
test_no_entry (void)
{
  char *dir = module_dir ("noentry");
  sl_device_list *list = discover ();

  assert_cpu_only (list, "is not a Sightline CUDA backend module");
  g_assert_nonnull (strstr (sl_device_list_gpu_status (list), SL_CUDA_MODULE_ENTRY));
  sl_device_list_free (list);
  remove_dir (dir);
}

/* A file that is no shared library: dlopen's own words reach the user. */
static void
test_not_loadable (void)
{
  char *dir = module_dir (NULL);
  g_autofree char *path = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);
  g_autofree char *junk = g_strnfill (4096, 'x');
  sl_device_list *list;

  g_assert_true (g_file_set_contents (path, junk, -1, NULL));
  list = discover ();
  assert_cpu_only (list, "could not be loaded");
  g_assert_nonnull (strstr (sl_device_list_gpu_status (list), path));
  g_assert_nonnull (strstr (sl_device_list_gpu_status (list), "ELF"));
  sl_device_list_free (list);
  remove_dir (dir);
}

static void
test_gpus (void)
{
  char *dir = module_dir ("gpus");
  sl_device_list *list = discover ();
  const sl_device_info *a = sl_device_list_get (list, 1), *k = sl_device_list_get (list, 2);
  const sl_backend_module *module = sl_device_list_cuda_module (list);
  sl_backend *be = NULL;
  sl_error err = { 0 };

  g_assert_cmpuint (sl_device_list_count (list), ==, 3);
  g_assert_cmpstr (sl_device_list_get (list, 0)->id, ==, "cpu");
  g_assert_cmpstr (sl_device_list_gpu_status (list), ==, "");

  g_assert_cmpint (a->kind, ==, SL_DEVICE_CUDA);
  g_assert_cmpint (a->index, ==, 0);
  g_assert_cmpstr (a->id, ==, "cuda:0"); /* not the module's "bogus" */
  g_assert_cmpstr (a->name, ==, "NVIDIA Fake A100");
  g_assert_cmpuint (a->memory_bytes, ==, (guint64) 40 << 30);
  g_assert_cmpint (a->compute_major, ==, 8);
  g_assert_cmpint (a->compute_minor, ==, 0);
  g_assert_cmpint (a->driver_version, ==, 13000);
  g_assert_cmpint (a->runtime_version, ==, 12080);
  g_assert_cmpint (a->threads, ==, 0);
  g_assert_true (a->usable);
  g_assert_cmpstr (a->reason, ==, "");

  g_assert_cmpstr (k->id, ==, "cuda:1");
  g_assert_cmpint (k->index, ==, 1);
  g_assert_false (k->usable);
  g_assert_nonnull (strstr (k->reason, "too old"));

  g_assert_true (sl_device_list_find (list, "cuda") == a);
  g_assert_true (sl_device_list_find (list, "cuda:0") == a);
  g_assert_true (sl_device_list_find (list, "CUDA:1") == k);
  g_assert_null (sl_device_list_find (list, "cuda:2"));
  g_assert_null (sl_device_list_find (list, "tpu"));
  g_assert_null (sl_device_list_get (list, 3));

  g_assert_nonnull (module);
  g_assert_cmpint (module->abi_version, ==, SL_BACKEND_ABI_VERSION);
  g_assert_cmpint (module->backend_new (0, &be, &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "fake"));
  sl_device_list_free (list);
  remove_dir (dir);
}

static void
test_null_safety (void)
{
  sl_error err = { 0 };
  char *dir = module_dir (NULL);
  sl_device_list *list = discover ();

  g_assert_cmpint (sl_device_list_new (NULL, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (err.code, ==, SL_ERR_INVALID);
  g_assert_cmpuint (strlen (err.message), >, 0);
  g_assert_cmpint (sl_device_list_new (NULL, NULL), ==, SL_ERR_INVALID);
  g_assert_cmpuint (sl_device_list_count (NULL), ==, 0);
  g_assert_null (sl_device_list_get (NULL, 0));
  g_assert_null (sl_device_list_get (list, 1));
  g_assert_null (sl_device_list_get (list, (size_t) -1));
  g_assert_null (sl_device_list_find (NULL, "cpu"));
  g_assert_null (sl_device_list_find (list, NULL));
  g_assert_null (sl_device_list_find (list, ""));
  g_assert_cmpstr (sl_device_list_gpu_status (NULL), ==, "");
  g_assert_null (sl_device_list_cuda_module (NULL));
  sl_device_list_free (NULL);
  sl_device_list_free (list);
  remove_dir (dir);
}

/* libsightline exports its sl_ API and nothing else (the fake modules' entry is theirs). */
static void
test_exports (void)
{
  g_autofree char *lib = g_test_build_filename (G_TEST_BUILT, "..", "libsightline.so", NULL);
  g_autofree char *nm = g_find_program_in_path ("nm");
  g_autofree char *out = NULL, *command = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  guint exported = 0;
  int status;

  if (nm == NULL || !g_file_test (lib, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("nm or libsightline.so not found");
      return;
    }
  command = g_strdup_printf ("%s -D --defined-only %s", nm, lib);
  g_assert_true (g_spawn_command_line_sync (command, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *name = strrchr (lines[i], ' ');

      if (name == NULL)
        continue;
      name++;
      /* Symbols the linker itself defines. */
      if (g_strv_contains (
              (const char *const[]){ "__bss_start", "_edata", "_end", "_init", "_fini", NULL },
              name))
        continue;
      if (!g_str_has_prefix (name, "sl_"))
        g_error ("libsightline exports %s", name);
      exported++;
    }
  g_assert_true (strstr (out, " sl_device_list_new\n") != NULL);
  g_assert_null (strstr (out, "sl_device_list_cuda_module"));
  g_assert_null (strstr (out, SL_CUDA_MODULE_ENTRY));
  g_assert_cmpuint (exported, >, 50);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/devices/cpu", test_cpu);
  g_test_add_func ("/engine/devices/no-module", test_no_module);
  g_test_add_func ("/engine/devices/search-path", test_search_path);
  g_test_add_func ("/engine/devices/no-driver", test_no_driver);
  g_test_add_func ("/engine/devices/wrong-abi", test_wrong_abi);
  g_test_add_func ("/engine/devices/no-entry", test_no_entry);
  g_test_add_func ("/engine/devices/not-loadable", test_not_loadable);
  g_test_add_func ("/engine/devices/gpus", test_gpus);
  g_test_add_func ("/engine/devices/null-safety", test_null_safety);
  g_test_add_func ("/engine/devices/exports", test_exports);
  return g_test_run ();
}
