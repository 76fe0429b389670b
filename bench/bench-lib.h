/* bench-lib.h: what the runtime benchmarks (bench-infer, bench-runtime) share: the clock, fatal errors, medians, --threads lists and the cold-start child process. */
#pragma once

/* Monotonic wall-clock milliseconds. */
double bench_now_ms (void);

/* Prints "PROGRAM: WHAT: MESSAGE" on stderr and exits with status 1. */
void bench_die (const char *what, const char *message) __attribute__ ((noreturn));

/* qsort comparison of two doubles, ascending. */
int bench_compare_doubles (const void *a, const void *b);

/* Sorts v (n > 0) and returns its median. */
double bench_median (double *v, int n);

/* Parses a comma-separated list of positive thread counts ("1,2") into threads[max];
 * returns how many; dies with a clear message on a bad entry or more than max. */
int bench_parse_threads (const char *list, int *threads, int max);

/* Runs this executable again with argv (a fresh process), reads the "OPEN_MS FIRST_MS" line
 * it prints and returns the wall time from spawn to exit in ms; dies if the child fails. */
double bench_spawn_cold (char *const argv[], double *open_ms, double *first_ms);
