/* test-engine-blas-late-load.c: libsightline opened while other threads multiply leaves
 * OpenBLAS's kernels as they were (changing them under a running GEMM would crash it). */
#include <glib.h>

#include <cblas.h>
#include <dlfcn.h>
#include <string.h>

extern char *openblas_get_corename (void);

#define WORKERS 3
#define SIDE    96

static gint stop;

static gpointer
multiply (gpointer data)
{
  g_autofree float *a = g_new0 (float, SIDE *SIDE);
  g_autofree float *b = g_new0 (float, SIDE *SIDE);
  g_autofree float *c = g_new0 (float, SIDE *SIDE);

  while (!g_atomic_int_get (&stop))
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, SIDE, SIDE, SIDE, 1.0f, a, SIDE, b,
                 SIDE, 0.0f, c, SIDE);
  return NULL;
}

static void
test_late_load (void)
{
  g_autofree char *before = g_strdup (openblas_get_corename ());
  GThread *workers[WORKERS];
  void *lib;

  for (int i = 0; i < WORKERS; i++)
    workers[i] = g_thread_new ("multiply", multiply, NULL);
  g_usleep (20000);
  lib = dlopen ("libsightline.so.0", RTLD_NOW | RTLD_LOCAL);
  g_assert_nonnull (lib);
  g_usleep (20000);
  g_atomic_int_set (&stop, 1);
  for (int i = 0; i < WORKERS; i++)
    g_thread_join (workers[i]);
  g_test_message ("OpenBLAS kernels before and after: %s, %s", before, openblas_get_corename ());
  g_assert_cmpstr (openblas_get_corename (), ==, before);
  dlclose (lib);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/blas-core/late-load", test_late_load);
  return g_test_run ();
}
