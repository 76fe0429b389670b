/* bench-ui-train.c: main-loop stalls of the Train page while a model trains (under xvfb-run).
 *
 * Writes N Fashion-MNIST images (default 6,000, 10 classes), imports them
 * with labels from their folders, splits them 70/15/15, and opens the Train
 * page in a 1280 x 800 window. The main loop is measured as in
 * bench-ui-slider (gaps of a 5 ms high-priority timeout, the main thread's
 * CPU time within each, frame intervals, VM steal time) twice in the same
 * run: "idle", the same window with nothing to do (the baseline), then
 * "training", from sl_runner_start to half a second after "finished". Each
 * emission of the runner's "steps", "epoch", "started" and "finished" and of
 * the session's "runs-changed" is timed from a handler connected before the
 * page's to one connected after them: the main thread's cost of a progress
 * update. Each frame is timed too (layout, snapshot, render), apart for the
 * frames in which the window recomputed its size. Within every gap the main
 * thread either ran, waited for a CPU (schedstat) or slept. Prints a table
 * and a JSON line; gaps over 50 ms are listed on stderr with the emission
 * that ended last. Exits 0 whether or not the target is met: it is a
 * measurement.
 *
 *   xvfb-run -a -s '-screen 0 1920x1080x24' build/bench/bench-ui-train [--images N]
 *       [--epochs E] [--batch B] [--threads T] [--preset NAME] [--idle-s S] [--nice N]
 *
 * --nice N (an experiment, not what the workbench does): every thread but the
 * main one runs at nice N, as the preview worker runs its own. */
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench-ui-util.h"
#include "sl-runner.h"
#include "sl-session.h"
#include "sl-train-page.h"

#define TARGET_MS 50.0

/* The main thread's time in the handlers of one signal, per emission. */
typedef struct
{
  const char *name;
  GArray *wall, *cpu; /* double, ms */
  GArray *slept;      /* double, ms: neither running nor waiting for a CPU (a lock, the disk) */
  gint64 t0, cpu0, wait0;
  int depth;
  guint items; /* "steps": optimizer steps delivered */
} Emission;

enum
{
  EMIT_STEPS,
  EMIT_EPOCH,
  EMIT_RUNS_CHANGED,
  EMIT_STARTED,
  EMIT_FINISHED,
  N_EMIT
};

/* The main thread's time in the frames of a phase, from "before-paint" to
 * "after-paint" of the frame clock: layout, snapshot and rendering. */
typedef struct
{
  GArray *cpu, *wall;    /* double, ms */
  GArray *resized_cpu;   /* double, ms: the frames in which the window recomputed its size */
  GArray *unresized_cpu; /* double, ms: the others */
  /* The frames that recomputed the window's size, split at our "layout" and
   * "paint" handlers (connected after GDK's): the surface's layout (GDK's
   * compute-size with its X round trips and GtkWindow measuring the whole
   * tree), then GtkRoot's allocation, snapshot and rendering. */
  GArray *size_cpu, *size_wall, *draw_cpu, *draw_wall; /* double, ms */
} FrameCosts;

typedef struct
{
  BenchPhase idle, training;
  BenchPhase *current;
  FrameCosts idle_frames, training_frames;
  gint64 paint_t0, paint_cpu0, layout_t, layout_cpu, draw_t, draw_cpu;
  gboolean resized; /* the toplevel's "compute-size" ran in this frame */
  Emission emit[N_EMIT];
  GArray *epoch_speed; /* double, images/s of each epoch (the runner's progress) */
  double idle_ms, training_ms;
  gint64 start;
  const Emission *last_emission;
  gint64 last_emission_end;
  gboolean finished;
  char *error;
  int nice;          /* > 0: the experiment of --nice */
  GHashTable *niced; /* thread ids already reniced */
} Bench;

/* ---- Timing the runner's signals ----------------------------------------------------- */

static void
emission_begin (Emission *e)
{
  if (e->depth++ > 0)
    return;
  e->t0 = g_get_monotonic_time ();
  e->cpu0 = bench_thread_cpu_us ();
  e->wait0 = bench_thread_wait_us ();
}

static void
emission_end (Emission *e)
{
  double wall, cpu, slept;

  if (--e->depth > 0)
    return;
  wall = (g_get_monotonic_time () - e->t0) / 1000.0;
  cpu = (bench_thread_cpu_us () - e->cpu0) / 1000.0;
  slept = MAX (0, wall - cpu - (bench_thread_wait_us () - e->wait0) / 1000.0);
  g_array_append_val (e->wall, wall);
  g_array_append_val (e->cpu, cpu);
  g_array_append_val (e->slept, slept);
}

/* --nice N, an experiment: every thread but the main one at nice N, as
 * sl-preview-worker.c does for its own (Linux nice values are per thread, and
 * threads inherit them from the thread that creates them). */
static void
renice_threads (Bench *b)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (b->nice <= 0 || (dir = g_dir_open ("/proc/self/task", 0, NULL)) == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int tid = atoi (name);
      g_autofree char *comm_path = g_strdup_printf ("/proc/self/task/%d/comm", tid);
      g_autofree char *comm = NULL;

      if (tid == getpid () || g_hash_table_contains (b->niced, GINT_TO_POINTER (tid)))
        continue;
      g_hash_table_add (b->niced, GINT_TO_POINTER (tid));
      setpriority (PRIO_PROCESS, (id_t) tid, b->nice);
      g_file_get_contents (comm_path, &comm, NULL, NULL);
      g_printerr ("nice %d: thread %d %s", b->nice, tid, comm != NULL ? comm : "?\n");
    }
}

static void
on_steps_before (SlRunner *runner, const SlRunnerStep *steps, guint n, Bench *b)
{
  b->emit[EMIT_STEPS].items += n;
  renice_threads (b);
  emission_begin (&b->emit[EMIT_STEPS]);
}

static void
on_epoch_before (SlRunner *runner, const SlTrainProgress *p, Bench *b)
{
  g_array_append_val (b->epoch_speed, p->images_per_s);
  renice_threads (b);
  emission_begin (&b->emit[EMIT_EPOCH]);
}

static void
on_finished_before (SlRunner *runner, gint64 run_id, const GError *error, Bench *b)
{
  if (error != NULL)
    b->error = g_strdup (error->message);
  emission_begin (&b->emit[EMIT_FINISHED]);
}

/* The "after" handlers: they run once every handler of the page has. */
static void
after (Bench *b, int which)
{
  emission_end (&b->emit[which]);
  b->last_emission = &b->emit[which];
  b->last_emission_end = g_get_monotonic_time ();
}

static void
on_steps_after (Bench *b)
{
  after (b, EMIT_STEPS);
}

static void
on_epoch_after (Bench *b)
{
  after (b, EMIT_EPOCH);
}

static void
on_runs_changed_after (Bench *b)
{
  after (b, EMIT_RUNS_CHANGED);
}

static void
on_started_after (Bench *b)
{
  after (b, EMIT_STARTED);
}

static void
on_finished_after (Bench *b)
{
  after (b, EMIT_FINISHED);
  b->finished = TRUE;
}

/* Connected before the page exists, so that "before" runs ahead of its handlers. */
static void
connect_timers (Bench *b, SlSession *session)
{
  SlRunner *runner = sl_session_get_runner (session);
  static const char *const names[N_EMIT]
      = { "steps", "epoch", "runs-changed", "started", "finished" };
  GCallback after_cbs[N_EMIT] = {
    G_CALLBACK (on_steps_after),        G_CALLBACK (on_epoch_after),
    G_CALLBACK (on_runs_changed_after), G_CALLBACK (on_started_after),
    G_CALLBACK (on_finished_after),
  };

  for (int i = 0; i < N_EMIT; i++)
    {
      b->emit[i].name = names[i];
      b->emit[i].wall = g_array_new (FALSE, FALSE, sizeof (double));
      b->emit[i].cpu = g_array_new (FALSE, FALSE, sizeof (double));
      b->emit[i].slept = g_array_new (FALSE, FALSE, sizeof (double));
    }
  g_signal_connect (runner, "steps", G_CALLBACK (on_steps_before), b);
  g_signal_connect (runner, "epoch", G_CALLBACK (on_epoch_before), b);
  g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (emission_begin),
                            &b->emit[EMIT_RUNS_CHANGED]);
  g_signal_connect_swapped (runner, "started", G_CALLBACK (emission_begin), &b->emit[EMIT_STARTED]);
  g_signal_connect (runner, "finished", G_CALLBACK (on_finished_before), b);
  for (int i = 0; i < N_EMIT; i++)
    g_signal_connect_data (i == EMIT_RUNS_CHANGED ? (gpointer) session : (gpointer) runner,
                           names[i], after_cbs[i], b, NULL, G_CONNECT_AFTER | G_CONNECT_SWAPPED);
}

/* ---- Measuring the main loop ----------------------------------------------------------- */

/* Every gap over the target on stderr, with the emission that ended last. */
static void
on_gap (const BenchPhase *p, double gap, double busy, gpointer data)
{
  Bench *b = data;

  if (gap < TARGET_MS)
    return;
  g_printerr ("stall %.1f ms (main thread running %.1f ms, waiting for a CPU %.1f ms) at %.2f s "
              "of %s",
              gap, busy, g_array_index (p->waits, double, p->waits->len - 1),
              (p->last_tick - b->start) / 1e6, p == &b->idle ? "idle" : "training");
  if (b->last_emission != NULL)
    g_printerr (", last emission \"%s\" ended %.1f ms before the gap's end (it took %.1f ms)",
                b->last_emission->name, (p->last_tick - b->last_emission_end) / 1000.0,
                g_array_index (b->last_emission->wall, double, b->last_emission->wall->len - 1));
  g_printerr ("\n");
}

static FrameCosts *
current_frames (Bench *b)
{
  return b->current == &b->idle       ? &b->idle_frames
         : b->current == &b->training ? &b->training_frames
                                      : NULL;
}

static void
frame_costs_init (FrameCosts *f)
{
  f->cpu = g_array_new (FALSE, FALSE, sizeof (double));
  f->wall = g_array_new (FALSE, FALSE, sizeof (double));
  f->resized_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  f->unresized_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  f->size_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  f->size_wall = g_array_new (FALSE, FALSE, sizeof (double));
  f->draw_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  f->draw_wall = g_array_new (FALSE, FALSE, sizeof (double));
}

static void
append_ms (GArray *values, gint64 from_us, gint64 to_us)
{
  double ms = (to_us - from_us) / 1000.0;

  g_array_append_val (values, ms);
}

static void
on_before_paint (GdkFrameClock *clock, Bench *b)
{
  b->paint_t0 = g_get_monotonic_time ();
  b->paint_cpu0 = bench_thread_cpu_us ();
  b->layout_t = b->draw_t = 0;
  b->resized = FALSE;
}

static void
on_layout (GdkFrameClock *clock, Bench *b)
{
  b->layout_t = g_get_monotonic_time ();
  b->layout_cpu = bench_thread_cpu_us ();
}

static void
on_paint (GdkFrameClock *clock, Bench *b)
{
  b->draw_t = g_get_monotonic_time ();
  b->draw_cpu = bench_thread_cpu_us ();
}

/* GDK's X11 backend asks the X server for the monitor and its work area
 * (synchronous round trips) each time the window recomputes its size. */
static void
on_compute_size (GdkToplevel *toplevel, GdkToplevelSize *size, Bench *b)
{
  b->resized = TRUE;
}

static void
on_after_paint (GdkFrameClock *clock, Bench *b)
{
  FrameCosts *f = current_frames (b);
  double wall, cpu;

  if (f == NULL || b->paint_t0 == 0)
    return;
  wall = (g_get_monotonic_time () - b->paint_t0) / 1000.0;
  cpu = (bench_thread_cpu_us () - b->paint_cpu0) / 1000.0;
  g_array_append_val (f->wall, wall);
  g_array_append_val (f->cpu, cpu);
  g_array_append_val (b->resized ? f->resized_cpu : f->unresized_cpu, cpu);
  if (b->resized && b->layout_t != 0 && b->draw_t != 0)
    {
      append_ms (f->size_cpu, b->paint_cpu0, b->layout_cpu);
      append_ms (f->size_wall, b->paint_t0, b->layout_t);
      append_ms (f->draw_cpu, b->layout_cpu, b->draw_cpu);
      append_ms (f->draw_wall, b->layout_t, b->draw_t);
    }
}

/* Keeps the frame clock running, as an animation does, and records its intervals. */
static gboolean
frame_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Bench *b = data;

  if (b->current != NULL)
    bench_phase_frame (b->current, clock);
  return G_SOURCE_CONTINUE;
}

static gboolean
run_finished (gpointer data)
{
  return ((Bench *) data)->finished;
}

/* Where the time of the gaps over the target went (before any sorting). */
typedef struct
{
  guint n;
  double gap_ms, busy_ms, wait_ms;
} Over;

static Over
gaps_over (const BenchPhase *p, double limit)
{
  Over o = { 0 };

  for (guint i = 0; i < p->gaps->len; i++)
    if (g_array_index (p->gaps, double, i) > limit)
      {
        o.n++;
        o.gap_ms += g_array_index (p->gaps, double, i);
        o.busy_ms += g_array_index (p->busy, double, i);
        o.wait_ms += g_array_index (p->waits, double, i);
      }
  return o;
}

/* "steps" and "epoch" together: every progress update. */
static GArray *
progress_costs (Bench *b)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (double));

  g_array_append_vals (all, b->emit[EMIT_STEPS].wall->data, b->emit[EMIT_STEPS].wall->len);
  g_array_append_vals (all, b->emit[EMIT_EPOCH].wall->data, b->emit[EMIT_EPOCH].wall->len);
  return all;
}

static double
sum (GArray *values)
{
  return bench_mean (values) * values->len;
}

/* ---- Output ---------------------------------------------------------------------------- */

static void
print_row (const char *name, BenchPhase *p, const Over *over, double ms, GArray *costs,
           double images_per_s)
{
  printf ("%-9s %7.1f %8.1f %8.1f %8.1f %8.1f %8.1f %6u", name, ms / 1000,
          bench_percentile (p->gaps, 1.0), bench_percentile (p->gaps, 0.99),
          bench_percentile (p->busy, 1.0), bench_percentile (p->frames, 1.0),
          bench_percentile (p->frames, 0.99), over->n);
  if (costs != NULL)
    printf (" %8u %8.2f %8.2f %9.0f", costs->len, bench_mean (costs), bench_percentile (costs, 1.0),
            images_per_s);
  else
    printf (" %8s %8s %8s %9s", "-", "-", "-", "-");
  printf (" %8.0f\n", p->steal_ms);
}

static void
print_over (const char *name, const Over *o)
{
  if (o->n == 0)
    return;
  printf ("%s: %u gaps over 50 ms, %.0f ms in all: the main thread ran %.0f ms, waited for a CPU "
          "%.0f ms, slept %.0f ms\n",
          name, o->n, o->gap_ms, o->busy_ms, o->wait_ms,
          MAX (0, o->gap_ms - o->busy_ms - o->wait_ms));
}

static void
print_frames (const char *name, FrameCosts *f)
{
  printf ("%s: %u frames drawn, main thread per frame (layout, snapshot, render): mean %.1f ms, "
          "p99 %.1f ms, max %.1f ms CPU (max wall %.1f ms); %u frames recomputed the window's "
          "size (mean %.1f ms CPU), %u did not (mean %.1f ms)\n",
          name, f->cpu->len, bench_mean (f->cpu), bench_percentile (f->cpu, 0.99),
          bench_percentile (f->cpu, 1.0), bench_percentile (f->wall, 1.0), f->resized_cpu->len,
          bench_mean (f->resized_cpu), f->unresized_cpu->len, bench_mean (f->unresized_cpu));
  if (f->size_cpu->len > 0)
    printf ("  in the %u of those that drew: window size (GDK compute-size, X round trips, "
            "measuring the tree) mean %.1f ms CPU / %.1f ms wall, max %.1f / %.1f; allocation + "
            "snapshot + render mean "
            "%.1f ms CPU / %.1f ms wall, max %.1f / %.1f\n",
            f->size_cpu->len, bench_mean (f->size_cpu), bench_mean (f->size_wall),
            bench_percentile (f->size_cpu, 1.0), bench_percentile (f->size_wall, 1.0),
            bench_mean (f->draw_cpu), bench_mean (f->draw_wall),
            bench_percentile (f->draw_cpu, 1.0), bench_percentile (f->draw_wall, 1.0));
}

static void
print_json_frames (FrameCosts *f)
{
  printf (", \"frame_cpu_mean_ms\": %.2f, \"frame_cpu_p99_ms\": %.2f, \"frame_cpu_max_ms\": %.2f, "
          "\"frames_resizing_window\": %u",
          bench_mean (f->cpu), bench_percentile (f->cpu, 0.99), bench_percentile (f->cpu, 1.0),
          f->resized_cpu->len);
}

static void
print_json_phase (const char *name, BenchPhase *p, FrameCosts *f, const Over *o, double ms)
{
  printf ("\"%s\": {\"seconds\": %.1f, \"worst_stall_ms\": %.1f, \"p99_stall_ms\": %.1f, "
          "\"worst_main_thread_cpu_in_a_gap_ms\": %.1f, \"p99_main_thread_cpu_in_a_gap_ms\": %.1f, "
          "\"worst_cpu_wait_in_a_gap_ms\": %.1f, \"worst_frame_ms\": %.1f, \"p99_frame_ms\": %.1f, "
          "\"frames\": %u, \"gaps_over_50_ms\": %u, \"over_50_ms_total_ms\": %.0f, "
          "\"over_50_ms_running_ms\": %.0f, \"over_50_ms_cpu_wait_ms\": %.0f, "
          "\"vm_steal_ms\": %.0f",
          name, ms / 1000, bench_percentile (p->gaps, 1.0), bench_percentile (p->gaps, 0.99),
          bench_percentile (p->busy, 1.0), bench_percentile (p->busy, 0.99),
          bench_percentile (p->waits, 1.0), bench_percentile (p->frames, 1.0),
          bench_percentile (p->frames, 0.99), p->frames->len, o->n, o->gap_ms, o->busy_ms,
          o->wait_ms, p->steal_ms);
  print_json_frames (f);
  printf ("}");
}

static void
print_results (Bench *b, SlRunner *runner, const SlRunConfig *config, GtkWindow *window)
{
  Over idle_over = gaps_over (&b->idle, TARGET_MS),
       training_over = gaps_over (&b->training, TARGET_MS);
  g_autoptr (GArray) costs = progress_costs (b);
  double images_per_s = bench_mean (b->epoch_speed);
  double elapsed = sl_runner_get_elapsed (runner);
  double wall_speed
      = elapsed > 0 ? sl_runner_get_train_images (runner) * (double) config->epochs / elapsed : 0;
  double worst_idle = bench_percentile (b->idle.gaps, 1.0);
  double worst_train = bench_percentile (b->training.gaps, 1.0);
  double p99_idle = bench_percentile (b->idle.gaps, 0.99);
  double p99_train = bench_percentile (b->training.gaps, 0.99);
  double updates_ms = sum (costs) + sum (b->emit[EMIT_RUNS_CHANGED].wall);

  bench_print_machine ();
  printf ("Train page, %s, %d epochs, batch %d, %d threads, %" G_GINT64_FORMAT
          " training / %" G_GINT64_FORMAT " validation images; window 1280 x 800, renderer %s\n",
          config->preset, config->epochs, config->batch_size, sl_runner_get_threads (runner),
          sl_runner_get_train_images (runner), sl_runner_get_val_images (runner),
          G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))));
  if (b->error != NULL)
    printf ("training failed: %s\n", b->error);
  if (b->nice > 0)
    printf ("experiment: every thread but the main one at nice %d\n", b->nice);
  printf ("%-9s %7s %8s %8s %8s %8s %8s %6s %8s %8s %8s %9s %8s\n", "phase", "seconds", "worst",
          "p99", "busiest", "worst", "p99", "gaps", "progress", "update", "update", "training",
          "VM");
  printf ("%-9s %7s %8s %8s %8s %8s %8s %6s %8s %8s %8s %9s %8s\n", "", "", "stall ms", "stall ms",
          "cpu ms", "frame ms", "frame ms", ">50ms", "updates", "mean ms", "max ms", "images/s",
          "steal ms");
  print_row ("idle", &b->idle, &idle_over, b->idle_ms, NULL, 0);
  print_row ("training", &b->training, &training_over, b->training_ms, costs, images_per_s);
  printf ("training / idle: worst stall %.2fx, p99 stall %.2fx\n",
          worst_idle > 0 ? worst_train / worst_idle : 0, p99_idle > 0 ? p99_train / p99_idle : 0);
  printf ("main thread per signal emission (handlers of the page and its parts), wall ms:\n");
  for (int i = 0; i < N_EMIT; i++)
    {
      Emission *e = &b->emit[i];

      printf ("  %-13s %5u emissions, mean %7.2f, p99 %7.2f, max %7.2f (max CPU %.2f, max slept "
              "%.2f)",
              e->name, e->wall->len, bench_mean (e->wall), bench_percentile (e->wall, 0.99),
              bench_percentile (e->wall, 1.0), bench_percentile (e->cpu, 1.0),
              bench_percentile (e->slept, 1.0));
      if (i == EMIT_STEPS)
        printf (", %u optimizer steps", e->items);
      printf ("\n");
    }
  printf ("progress updates (steps + epoch + runs-changed) took %.0f ms of %.1f s of training "
          "(%.2f%%); training speed: %.0f images/s by the runner's epochs, %.0f by wall time\n",
          updates_ms, b->training_ms / 1000, 100 * updates_ms / MAX (b->training_ms, 1),
          images_per_s, wall_speed);
  print_frames ("idle", &b->idle_frames);
  print_frames ("training", &b->training_frames);
  print_over ("idle", &idle_over);
  print_over ("training", &training_over);
  printf ("target (< 50 ms worst stall): %s\n", worst_train < TARGET_MS ? "met" : "missed");

  printf ("{\"bench\": \"ui-train\", \"preset\": \"%s\", \"epochs\": %d, \"batch\": %d, "
          "\"threads\": %d, \"train_images\": %" G_GINT64_FORMAT ", \"nice\": %d, ",
          config->preset, config->epochs, config->batch_size, sl_runner_get_threads (runner),
          sl_runner_get_train_images (runner), b->nice);
  print_json_phase ("idle", &b->idle, &b->idle_frames, &idle_over, b->idle_ms);
  printf (", ");
  print_json_phase ("training", &b->training, &b->training_frames, &training_over, b->training_ms);
  printf (", \"progress_updates\": %u, \"progress_update_mean_ms\": %.3f, "
          "\"progress_update_max_ms\": %.3f, \"steps_emissions\": %u, \"optimizer_steps\": %u, "
          "\"epoch_emissions\": %u, \"epoch_update_max_ms\": %.3f, \"runs_changed_emissions\": %u, "
          "\"runs_changed_mean_ms\": %.3f, \"runs_changed_max_ms\": %.3f, "
          "\"started_ms\": %.3f, \"finished_ms\": %.3f, \"train_images_per_s\": %.0f, "
          "\"train_images_per_s_wall\": %.0f, \"worst_stall_ratio\": %.2f, "
          "\"p99_stall_ratio\": %.2f, \"training_failed\": %s, \"target_worst_stall_ms\": 50, "
          "\"pass\": %s}\n",
          costs->len, bench_mean (costs), bench_percentile (costs, 1.0),
          b->emit[EMIT_STEPS].wall->len, b->emit[EMIT_STEPS].items, b->emit[EMIT_EPOCH].wall->len,
          bench_percentile (b->emit[EMIT_EPOCH].wall, 1.0), b->emit[EMIT_RUNS_CHANGED].wall->len,
          bench_mean (b->emit[EMIT_RUNS_CHANGED].wall),
          bench_percentile (b->emit[EMIT_RUNS_CHANGED].wall, 1.0),
          bench_percentile (b->emit[EMIT_STARTED].wall, 1.0),
          bench_percentile (b->emit[EMIT_FINISHED].wall, 1.0), images_per_s, wall_speed,
          worst_idle > 0 ? worst_train / worst_idle : 0, p99_idle > 0 ? p99_train / p99_idle : 0,
          b->error != NULL ? "true" : "false", worst_train < TARGET_MS ? "true" : "false");
}

/* ---- Main ------------------------------------------------------------------------------ */

static SlProject *
make_project (const char *tmp, int n)
{
  g_autofree char *src = g_build_filename (tmp, "fmnist", NULL);
  g_autofree char *path = g_build_filename (tmp, "project", NULL);
  gint64 start = g_get_monotonic_time ();

  if (!bench_write_fmnist (src, n))
    return NULL;
  g_printerr ("wrote %d PNGs in %.1f s\n", n, (g_get_monotonic_time () - start) / 1e6);
  return bench_import_project (path, "Train benchmark", src);
}

int
main (int argc, char **argv)
{
  int n = 6000;
  double idle_s = 5;
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlSession) session = NULL;
  g_autoptr (GError) error = NULL;
  SlRunConfig config; /* small-bn, Adam 1e-3, batch 32, cosine schedule */
  SlRunner *runner;
  GtkWidget *page;
  GtkWindow *window;
  Bench b = { 0 };
  guint stall_source;
  gint64 t0;

  sl_run_config_init (&config);
  config.epochs = 3;
  config.threads = 0;  /* all cores */
  config.patience = 0; /* every epoch runs */
  for (int i = 1; i + 1 < argc; i += 2)
    if (g_str_equal (argv[i], "--images"))
      n = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--epochs"))
      config.epochs = MAX (1, atoi (argv[i + 1]));
    else if (g_str_equal (argv[i], "--batch"))
      config.batch_size = MAX (1, atoi (argv[i + 1]));
    else if (g_str_equal (argv[i], "--threads"))
      config.threads = MAX (0, atoi (argv[i + 1]));
    else if (g_str_equal (argv[i], "--preset"))
      {
        g_free (config.preset);
        config.preset = g_strdup (argv[i + 1]);
      }
    else if (g_str_equal (argv[i], "--idle-s"))
      idle_s = g_ascii_strtod (argv[i + 1], NULL);
    else if (g_str_equal (argv[i], "--nice"))
      b.nice = atoi (argv[i + 1]);
  if (!gtk_init_check ())
    {
      g_printerr ("No display: run under xvfb-run -a\n");
      return 2;
    }
  tmp = g_dir_make_tmp ("sl-bench-train-XXXXXX", NULL);
  if ((project = make_project (tmp, n)) == NULL)
    return 1;
  bench_load_style ();

  session = sl_session_new_for_project (project);
  runner = sl_session_get_runner (session);
  b.epoch_speed = g_array_new (FALSE, FALSE, sizeof (double));
  b.niced = g_hash_table_new (NULL, NULL);
  connect_timers (&b, session);
  page = sl_train_page_new (session);
  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 1280, 800);
  gtk_window_set_child (window, page);
  gtk_window_present (window);
  while (!gtk_widget_get_mapped (page))
    g_main_context_iteration (NULL, TRUE);
  bench_phase_init (&b.idle);
  bench_phase_init (&b.training);
  gtk_widget_add_tick_callback (page, frame_tick, &b, NULL);
  frame_costs_init (&b.idle_frames);
  frame_costs_init (&b.training_frames);
  g_signal_connect (gtk_widget_get_frame_clock (page), "before-paint", G_CALLBACK (on_before_paint),
                    &b);
  g_signal_connect (gtk_widget_get_frame_clock (page), "layout", G_CALLBACK (on_layout), &b);
  g_signal_connect (gtk_widget_get_frame_clock (page), "paint", G_CALLBACK (on_paint), &b);
  g_signal_connect_after (gtk_widget_get_frame_clock (page), "after-paint",
                          G_CALLBACK (on_after_paint), &b);
  g_signal_connect (gtk_native_get_surface (GTK_NATIVE (window)), "compute-size",
                    G_CALLBACK (on_compute_size), &b);
  stall_source = bench_stall_source_add (&b.current, on_gap, &b);
  bench_settle (1000); /* the page's first frames and run list */

  /* Phase 1: the same window with nothing to do. */
  b.start = g_get_monotonic_time ();
  b.current = &b.idle;
  bench_phase_start (&b.idle);
  bench_settle ((int) (idle_s * 1000));
  bench_phase_stop (&b.idle);
  b.idle_ms = (g_get_monotonic_time () - b.start) / 1000.0;

  /* Phase 2: a run, from the request to half a second after it finished. */
  b.current = &b.training;
  bench_phase_start (&b.training);
  t0 = b.start = g_get_monotonic_time ();
  if (!sl_runner_start (runner, &config, &error))
    {
      g_printerr ("Could not start training: %s\n", error->message);
      return 1;
    }
  renice_threads (&b);
  bench_spin_until (run_finished, &b, 3600);
  bench_settle (500);
  bench_phase_stop (&b.training);
  b.training_ms = (g_get_monotonic_time () - t0) / 1000.0;
  b.current = NULL;

  print_results (&b, runner, &config, window);

  sl_run_config_clear (&config);
  bench_finish (stall_source, window, g_steal_pointer (&session), g_steal_pointer (&project), tmp);
  return 0;
}
