/* sl-cpu-blas-core.c: makes OpenBLAS multiply with the kernels of the CPU it runs on when its
 * own detection does not know that CPU. */

/* Why: an OpenBLAS built for many CPUs (Debian's: DYNAMIC_ARCH) picks its
 * kernels by CPU model number, and a model newer than the library falls back
 * to a generic table. Debian 12's 0.3.21 on a 5th-generation Xeon (family 6,
 * model 207, AVX-512) picks "Prescott", the SSE3 kernels: SGEMM at 45
 * GFLOP/s per core where its own SkylakeX kernels reach 225. Every
 * convolution and dense layer here is an SGEMM, so a line PC newer than its
 * OpenBLAS would train and infer several times slower than it can.
 *
 * So, once, when the library is loaded (single-threaded in the usual case):
 * if the kernels OpenBLAS chose use a smaller instruction set than the CPU
 * offers, ask it again for the best table this CPU can run, the way
 * OPENBLAS_CORETYPE would have at start-up. Only exported entry points of
 * OpenBLAS are used, looked up at run time: an OpenBLAS built for one CPU
 * has none of them and is left as it is. A user's OPENBLAS_CORETYPE always
 * wins: nothing is changed when it is set. */
#define _GNU_SOURCE /* dladdr */
#include "sl-cpu-private.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Debian's OpenBLAS exports this; our backend calls it anyway. */
extern void openblas_set_num_threads (int num_threads);

#define CORETYPE_VARIABLE "OPENBLAS_CORETYPE"

/* Kernel tables by the instruction set they need, larger sets ranking higher. */
typedef struct
{
  const char *name; /* as OPENBLAS_CORETYPE and gotoblas_corename () spell it */
  int rank;
} core_rank;

static const core_rank core_ranks[] = {
  { "SapphireRapids", 4 }, { "Cooperlake", 4 }, { "SkylakeX", 3 },
  { "Haswell", 2 },        { "Zen", 2 },        { "Sandybridge", 1 },
  { "Bulldozer", 1 },      { "Piledriver", 1 }, { "Steamroller", 1 },
  { "Excavator", 1 },
};

static int
rank_of (const char *name)
{
  for (size_t i = 0; i < sizeof core_ranks / sizeof core_ranks[0]; i++)
    if (strcasecmp (name, core_ranks[i].name) == 0)
      return core_ranks[i].rank;
  return 0; /* SSE-era tables: Prescott, Core2, Nehalem, ... */
}

/* The best table this CPU and its operating system can run, or NULL. */
static const char *
best_core_for_this_cpu (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512cd"))
    return __builtin_cpu_supports ("avx512bf16") ? "Cooperlake" : "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
  if (__builtin_cpu_supports ("avx"))
    return "Sandybridge";
#endif
  return NULL;
}

typedef char *(*corename_fn) (void);
typedef void (*init_fn) (void);

/* The OpenBLAS this library was linked with: in the global scope, or, when
 * the library itself was opened with RTLD_LOCAL, through the file that holds
 * openblas_set_num_threads (). */
static void *
openblas_handle (void)
{
  Dl_info info;

  if (dlsym (RTLD_DEFAULT, "gotoblas_corename") != NULL)
    return dlopen (NULL, RTLD_LAZY);
  if (dladdr ((void *) openblas_set_num_threads, &info) == 0 || info.dli_fname == NULL)
    return NULL;
  return dlopen (info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
}

static void
choose_blas_core (void)
{
  const char *want = best_core_for_this_cpu ();
  void *lib;
  corename_fn corename;
  init_fn quit, init;
  char table[64];

  if (want == NULL || getenv (CORETYPE_VARIABLE) != NULL || (lib = openblas_handle ()) == NULL)
    return;
  corename = (corename_fn) dlsym (lib, "gotoblas_corename");
  quit = (init_fn) dlsym (lib, "gotoblas_dynamic_quit");
  init = (init_fn) dlsym (lib, "gotoblas_dynamic_init");
  snprintf (table, sizeof table, "gotoblas_%s", want);
  for (char *c = table + strlen ("gotoblas_"); *c != '\0'; c++)
    *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
  if (corename != NULL && quit != NULL && init != NULL && dlsym (lib, table) != NULL
      && rank_of (corename ()) < rank_of (want))
    {
      /* gotoblas_dynamic_init () reads the variable only when no table is
       * set: clear it, name the table, and take the name away again so that
       * child processes detect for themselves. */
      setenv (CORETYPE_VARIABLE, want, 1);
      quit ();
      init ();
      unsetenv (CORETYPE_VARIABLE);
    }
  dlclose (lib);
}

static pthread_once_t blas_core_once = PTHREAD_ONCE_INIT;

void
_sl_cpu_blas_core_ready (void)
{
  pthread_once (&blas_core_once, choose_blas_core);
}

/* At load time, before any thread of ours or the application's can be
 * reading the environment or multiplying. */
__attribute__ ((constructor)) static void
blas_core_at_load (void)
{
  _sl_cpu_blas_core_ready ();
}
