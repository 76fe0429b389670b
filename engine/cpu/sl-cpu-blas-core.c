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
 * So, once, when the library is loaded: if the kernels OpenBLAS chose use a
 * smaller instruction set than the CPU offers, ask it again for the best
 * table this CPU can run, the way OPENBLAS_CORETYPE would have at start-up.
 * Only exported entry points of OpenBLAS are used, looked up at run time: an
 * OpenBLAS built for one CPU has none of them and is left as it is. A
 * user's OPENBLAS_CORETYPE always wins: nothing is changed when it is set.
 *
 * Changing the table while another thread multiplies would crash it, and
 * setenv () races with other threads' getenv (). So the change is made only
 * while the process has no threads but this one and OpenBLAS's own idle
 * workers: at a program's start, or a dlopen () before any other thread
 * exists. Loaded later into a busy process, the library leaves OpenBLAS as
 * it found it (slower, never unsafe). */
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
  /* Cooperlake's table adds bfloat16 kernels to SkylakeX's, the same SGEMM;
   * 0.3.21 cannot be asked for it by name. */
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512cd"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
  if (__builtin_cpu_supports ("avx"))
    return "Sandybridge";
#endif
  return NULL;
}

/* Threads of this process (Linux), or -1 when that cannot be told. */
static int
process_threads (void)
{
  FILE *f = fopen ("/proc/self/status", "re");
  char line[128];
  int threads = -1;

  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f) != NULL)
    if (sscanf (line, "Threads: %d", &threads) == 1)
      break;
  fclose (f);
  return threads;
}

typedef char *(*corename_fn) (void);
typedef int (*count_fn) (void);
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
  count_fn blas_threads;
  char table[64];
  int threads;

  if (want == NULL || getenv (CORETYPE_VARIABLE) != NULL || (lib = openblas_handle ()) == NULL)
    return;
  corename = (corename_fn) dlsym (lib, "gotoblas_corename");
  quit = (init_fn) dlsym (lib, "gotoblas_dynamic_quit");
  init = (init_fn) dlsym (lib, "gotoblas_dynamic_init");
  blas_threads = (count_fn) dlsym (lib, "openblas_get_num_threads");
  /* This thread and OpenBLAS's workers (its thread count less one) at most. */
  threads = process_threads ();
  snprintf (table, sizeof table, "gotoblas_%s", want);
  for (char *c = table + strlen ("gotoblas_"); *c != '\0'; c++)
    *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
  if (corename != NULL && quit != NULL && init != NULL && blas_threads != NULL
      && dlsym (lib, table) != NULL && rank_of (corename ()) < rank_of (want) && threads >= 1
      && threads <= blas_threads ())
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

/* At load time, before any thread of ours or (at a program's start) the
 * application's can be reading the environment or multiplying. */
__attribute__ ((constructor)) static void
blas_core_at_load (void)
{
  _sl_cpu_blas_core_ready ();
}
