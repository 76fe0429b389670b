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

/* The list has only the CPU, and the reason contains `why`; the consequence
 * is a field of its own, joined to the reason only in the status sentence. */
static void
assert_cpu_only (const sl_device_list *list, const char *why)
{
  const char *status = sl_device_list_gpu_status (list);
  const char *reason = sl_device_list_gpu_reason (list);
  g_autofree char *joined = NULL;

  g_test_message ("GPU status: %s", status);
  g_assert_cmpuint (sl_device_list_count (list), ==, 1);
  g_assert_null (sl_device_list_find (list, "cuda"));
  g_assert_null (sl_device_list_find (list, "cuda:0"));
  g_assert_nonnull (strstr (reason, why));
  g_assert_true (g_str_has_suffix (reason, "."));
  g_assert_null (strstr (reason, "training uses the CPU"));
  g_assert_cmpstr (sl_device_list_gpu_consequence (list), ==, "training uses the CPU");
  joined = g_strdup_printf ("%.*s — training uses the CPU.", (int) strlen (reason) - 1, reason);
  g_assert_cmpstr (status, ==, joined);
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
  g_assert_null (_sl_device_list_cuda_module (list));
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
  if (sl_device_list_count (list) == 1 && _sl_device_list_cuda_module (list) == NULL
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
  g_assert_cmpstr (sl_device_list_gpu_reason (list), ==, "No GPU: no NVIDIA driver.");
  g_assert_cmpstr (sl_device_list_gpu_status (list), ==,
                   "No GPU: no NVIDIA driver — training uses the CPU.");
  /* Loaded and kept open: a later backend can come from it. */
  g_assert_nonnull (_sl_device_list_cuda_module (list));
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
  g_assert_null (_sl_device_list_cuda_module (list));
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
  const sl_backend_module *module = _sl_device_list_cuda_module (list);
  sl_backend *be = NULL;
  sl_error err = { 0 };

  g_assert_cmpuint (sl_device_list_count (list), ==, 3);
  g_assert_cmpstr (sl_device_list_get (list, 0)->id, ==, "cpu");
  g_assert_cmpstr (sl_device_list_gpu_status (list), ==, "");
  g_assert_cmpstr (sl_device_list_gpu_reason (list), ==, "");
  g_assert_cmpstr (sl_device_list_gpu_consequence (list), ==, "");

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
  g_assert_cmpstr (sl_device_list_gpu_reason (NULL), ==, "");
  g_assert_cmpstr (sl_device_list_gpu_consequence (NULL), ==, "");
  g_assert_cmpint (sl_device_registry_get (NULL, &err), ==, SL_ERR_INVALID);
  g_assert_null (_sl_device_list_cuda_module (NULL));
  sl_device_list_free (NULL);
  sl_device_list_free (list);
  remove_dir (dir);
}

/* Device ids have one reader: the engine's, which every tool and the workbench use. */
static void
test_id_parse (void)
{
  const struct
  {
    const char *id;
    sl_device_kind kind;
    int index;
  } good[] = {
    { "cpu", SL_DEVICE_CPU, 0 },       { "CPU", SL_DEVICE_CPU, 0 },
    { "cuda", SL_DEVICE_CUDA, -1 },    { "Cuda", SL_DEVICE_CUDA, -1 },
    { "cuda:0", SL_DEVICE_CUDA, 0 },   { "cuda:7", SL_DEVICE_CUDA, 7 },
    { "CUDA:12", SL_DEVICE_CUDA, 12 }, { "cuda:9999999", SL_DEVICE_CUDA, 9999999 },
  };
  const char *bad[] = { "",     "gpu",  "tpu",   "cuda:", "cuda:x",  "cuda:-1", "cuda:1x",
                        " cpu", "cpu ", "cpu:0", "cuda0", "cuda:+1", "cuda: 1", "cuda:12345678" };
  sl_error err = { 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      sl_device_kind kind = 99;
      int index = 99;

      sl_assert_ok (sl_device_id_parse (good[i].id, &kind, &index, &err), &err);
      g_assert_cmpint (kind, ==, good[i].kind);
      g_assert_cmpint (index, ==, good[i].index);
      sl_assert_ok (sl_device_id_parse (good[i].id, NULL, NULL, &err), &err);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *quoted = g_strdup_printf ("unknown device '%s'", bad[i]);

      memset (&err, 0, sizeof err);
      g_assert_cmpint (sl_device_id_parse (bad[i], NULL, NULL, &err), ==, SL_ERR_INVALID);
      g_assert_cmpint (err.code, ==, SL_ERR_INVALID);
      g_assert_nonnull (strstr (err.message, "use cpu, cuda (the first usable GPU) or cuda:N"));
      if (bad[i][0] != '\0')
        g_assert_nonnull (strstr (err.message, quoted));
    }
  g_assert_cmpint (sl_device_id_parse (NULL, NULL, NULL, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "no device named"));
  g_assert_cmpint (sl_device_id_parse ("tpu", NULL, NULL, NULL), ==, SL_ERR_INVALID);
}

static gpointer
get_registry (gpointer data)
{
  sl_device_list *list = NULL;
  sl_error err = { 0 };

  sl_assert_ok (sl_device_registry_get (&list, &err), &err);
  return list;
}

/* The process's list: discovered once whichever thread asks first, replaced
 * only on refresh, a replaced list still readable by whoever holds it. */
static void
test_registry (void)
{
  char *dir = module_dir ("gpus");
  sl_device_list *lists[4], *fresh = NULL, *now = NULL;
  GThread *threads[G_N_ELEMENTS (lists)];
  sl_error err = { 0 };

  sl_assert_ok (sl_device_registry_refresh (NULL, &err), &err);
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("registry", get_registry, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    lists[i] = g_thread_join (threads[i]);
  for (gsize i = 1; i < G_N_ELEMENTS (lists); i++)
    g_assert_true (lists[i] == lists[0]);
  g_assert_cmpuint (sl_device_list_count (lists[0]), ==, 3);

  /* A GPU gone (the module removed): seen only after a refresh. */
  remove_dir (dir);
  dir = module_dir (NULL);
  sl_assert_ok (sl_device_registry_get (&now, &err), &err);
  g_assert_true (now == lists[0]);
  sl_device_list_free (now);
  sl_assert_ok (sl_device_registry_refresh (&fresh, &err), &err);
  sl_assert_ok (sl_device_registry_get (&now, &err), &err);
  g_assert_true (now == fresh);
  assert_cpu_only (now, "is not installed");
  g_assert_cmpstr (sl_device_list_get (lists[0], 2)->id, ==, "cuda:1");
  for (gsize i = 0; i < G_N_ELEMENTS (lists); i++)
    sl_device_list_free (lists[i]);
  sl_device_list_free (now);
  sl_device_list_free (fresh);
  remove_dir (dir);
  sl_assert_ok (sl_device_registry_refresh (NULL, &err), &err);
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
  g_assert_null (strstr (out, "_sl_device_list_cuda_module"));
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
  g_test_add_func ("/engine/devices/id-parse", test_id_parse);
  g_test_add_func ("/engine/devices/registry", test_registry);
  return g_test_run ();
}
