/* bench-clock.h: wall-clock and CPU-time readings the engine benchmarks (sl-bench-train, sl-bench-transfer, bench-projects) share. */
#pragma once

#include <sys/resource.h>
#include <time.h>

/* Monotonic wall-clock seconds. */
static inline double
bench_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* User + system CPU seconds of this process: the engine's cost even on a machine shared with others. */
static inline double
bench_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}
