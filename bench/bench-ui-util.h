/* bench-ui-util.h: what the workbench benchmarks share: stall measurement, statistics, set-up. */
#pragma once

#include <glib.h>
#include <gtk/gtk.h>

#include "sl-files.h"
#include "sl-project.h"
#include "sl-session.h"

G_BEGIN_DECLS

/* The q-quantile (0 .. 1) of a GArray of doubles, which it sorts; 0 when empty. */
double bench_percentile (GArray *values, double q);
double bench_mean (GArray *values);

/* ---- Main-loop stalls ---------------------------------------------------------------- */

/* One measured stretch of main-loop time. A 5 ms high-priority timeout runs
 * as often as the main loop lets it: a *stall* is the wall time between two
 * of its runs, *busy* the main thread's CPU time within that gap, *wait* the
 * time it was ready to run but waited for a CPU (other threads or programs
 * ran); the rest of the gap it slept (a lock, the X server, the disk). */
typedef struct
{
  GArray *gaps;   /* double, ms */
  GArray *busy;   /* double, ms: main-thread CPU time within each gap */
  GArray *waits;  /* double, ms: main thread runnable, waiting for a CPU, within each gap */
  GArray *frames; /* double, ms: intervals between frame-clock frames */
  gint64 last_tick, last_cpu, last_wait, last_frame;
  gboolean recording;
  double steal_ms; /* VM steal time between bench_phase_start and _stop */
} BenchPhase;

void bench_phase_init (BenchPhase *p);
void bench_phase_clear (BenchPhase *p);
/* Starts recording afresh (the first gap and frame after this count) and
 * notes the VM steal time; _stop ends it and keeps the steal time spent. */
void bench_phase_start (BenchPhase *p);
void bench_phase_stop (BenchPhase *p);
/* Records the frame interval since the previous frame of `clock`: call it
 * from a tick callback (which also keeps the frame clock running). */
void bench_phase_frame (BenchPhase *p, GdkFrameClock *clock);

/* Called for every recorded gap (its busy time); p->last_tick is its end. */
typedef void (*BenchGapFunc) (const BenchPhase *p, double gap_ms, double busy_ms, gpointer data);

/* Adds the 5 ms G_PRIORITY_HIGH timeout that feeds the phase *current points
 * to (none while it is NULL); on_gap may be NULL. Remove with g_source_remove. */
guint bench_stall_source_add (BenchPhase *const *current, BenchGapFunc on_gap, gpointer data);

/* CPU time of the calling thread (µs): tells our own work from time the
 * machine gave to other processes. */
gint64 bench_thread_cpu_us (void);
/* Time the calling thread spent runnable but waiting for a CPU since it
 * started (µs; the kernel's schedstat; 0 where that is not available). */
gint64 bench_thread_wait_us (void);
/* Time the hypervisor ran other guests on our CPUs (all CPUs, ms): on a
 * shared virtual machine this makes wall-clock stalls (and even thread CPU
 * times) look longer than the program made them. */
double bench_steal_ms (void);
/* "machine: 2 cores, load average ..." */
void bench_print_machine (void);

/* ---- Running the main loop ----------------------------------------------------------- */

typedef gboolean (*BenchCondFunc) (gpointer data);

/* Iterates the main loop until cond (data) holds or timeout_s passed. */
void bench_spin_until (BenchCondFunc cond, gpointer data, double timeout_s);
/* Runs the main loop for ms milliseconds. */
void bench_settle (int ms);
/* The end of a benchmark: removes the stall source, closes the window, lets
 * GTK finish, drops the session and the project and deletes tmp (may be NULL). */
void bench_finish (guint stall_source, GtkWindow *window, SlSession *session, SlProject *project,
                   const char *tmp);

/* ---- Set-up -------------------------------------------------------------------------- */

/* The workbench's style sheet on the default display, as the application loads it. */
void bench_load_style (void);
/* The first widget of `type` in root's tree (root included), or NULL. */
GtkWidget *bench_find_type (GtkWidget *root, GType type);
/* Writes the first n Fashion-MNIST training images ($SL_FASHION_MNIST or
 * Debian's dataset-fashion-mnist) as dir/<class>/fm-NNNNN.png. */
gboolean bench_write_fmnist (const char *dir, int n);
/* Creates a project at `path` from the class folders under src (labels from
 * the folders) and splits it 70/15/15 (seed 1). */
SlProject *bench_import_project (const char *path, const char *name, const char *src);

G_END_DECLS
