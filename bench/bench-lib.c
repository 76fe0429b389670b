/* bench-lib.c: the clock, fatal errors, medians, thread lists and cold-start spawning the runtime benchmarks share. */
#define _GNU_SOURCE
#include "bench-lib.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double
bench_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

void
bench_die (const char *what, const char *message)
{
  fprintf (stderr, "%s: %s: %s\n", program_invocation_short_name, what, message);
  exit (1);
}

int
bench_compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double
bench_median (double *v, int n)
{
  qsort (v, n, sizeof *v, bench_compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
bench_parse_threads (const char *list, int *threads, int max)
{
  char *copy = strdup (list), *save = NULL, message[80];
  int n = 0;

  snprintf (message, sizeof message, "give up to %d positive counts, e.g. 1,2", max);
  for (char *tok = strtok_r (copy, ",", &save); tok != NULL; tok = strtok_r (NULL, ",", &save))
    {
      int t = atoi (tok);

      if (t < 1 || n == max)
        bench_die ("--threads", message);
      threads[n++] = t;
    }
  free (copy);
  return n;
}

double
bench_spawn_cold (char *const argv[], double *open_ms, double *first_ms)
{
  posix_spawn_file_actions_t fa;
  int fds[2], status;
  char buf[128] = { 0 };
  pid_t pid;
  double t0, wall;
  ssize_t got;

  if (pipe (fds) != 0)
    bench_die ("pipe", strerror (errno));
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose (&fa, fds[0]);
  t0 = bench_now_ms ();
  if (posix_spawn (&pid, "/proc/self/exe", &fa, NULL, argv, environ) != 0)
    bench_die ("posix_spawn", strerror (errno));
  close (fds[1]);
  got = read (fds[0], buf, sizeof buf - 1);
  waitpid (pid, &status, 0);
  wall = bench_now_ms () - t0;
  close (fds[0]);
  posix_spawn_file_actions_destroy (&fa);
  if (got <= 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0
      || sscanf (buf, "%lf %lf", open_ms, first_ms) != 2)
    bench_die ("cold start", "the child process failed");
  return wall;
}
