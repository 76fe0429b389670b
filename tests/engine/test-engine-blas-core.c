/* test-engine-blas-core.c: OpenBLAS multiplies with kernels of this CPU's instruction set once
 * the engine is loaded, and a user's OPENBLAS_CORETYPE is kept. */
#include "sl-test-support.h"
#include "sl-cpu-private.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

extern char *openblas_get_corename (void);

static const char *self; /* this program's path */

static const char *const avx512_cores[] = { "SkylakeX", "Cooperlake", "SapphireRapids", NULL };
static const char *const avx2_cores[]
    = { "Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", NULL };

static gboolean
core_in (const char *core, const char *const *list)
{
  for (; *list != NULL; list++)
    if (g_ascii_strcasecmp (core, *list) == 0)
      return TRUE;
  return FALSE;
}

/* Only an OpenBLAS built for many CPUs has a choice to make. */
static gboolean
openblas_chooses (void)
{
  if (dlsym (RTLD_DEFAULT, "gotoblas_corename") != NULL)
    return TRUE;
  g_test_skip ("this OpenBLAS is built for one CPU");
  return FALSE;
}

/* The table OpenBLAS uses since this program was loaded (the engine's
 * constructor ran before main), then again after the backend's call. */
static void
test_matches_cpu (void)
{
  if (!openblas_chooses ())
    return;
  if (g_getenv ("OPENBLAS_CORETYPE") != NULL)
    {
      g_test_skip ("OPENBLAS_CORETYPE is set in the environment");
      return;
    }
  for (int round = 0; round < 2; round++)
    {
      const char *core = openblas_get_corename ();

      g_test_message ("OpenBLAS kernels: %s", core);
#if defined(__x86_64__)
      __builtin_cpu_init ();
      if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
          && __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl")
          && __builtin_cpu_supports ("avx512cd"))
        g_assert_true (core_in (core, avx512_cores));
      else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
        g_assert_true (core_in (core, avx2_cores));
#endif
      _sl_cpu_blas_core_ready ();
    }
  /* The variable that named the table is gone again: child processes detect for themselves. */
  g_assert_null (g_getenv ("OPENBLAS_CORETYPE"));
}

/* This program again, with OPENBLAS_CORETYPE=Prescott: the kernels it names stay. */
static void
test_user_choice_kept (void)
{
  const char *argv[] = { self, "--print-core", NULL };
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "OPENBLAS_CORETYPE", "Prescott", TRUE);
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (!openblas_chooses ())
    return;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (g_strstrip (out), ==, "Prescott");
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "--print-core") == 0)
    {
      _sl_cpu_blas_core_ready ();
      printf ("%s\n", openblas_get_corename ());
      return 0;
    }
  self = argv[0];
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/blas-core/matches-cpu", test_matches_cpu);
  g_test_add_func ("/engine/blas-core/user-choice-kept", test_user_choice_kept);
  return g_test_run ();
}
