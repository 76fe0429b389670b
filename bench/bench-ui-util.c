/* bench-ui-util.c: stall measurement, order statistics and set-up for the workbench benchmarks. */
#include "bench-ui-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "sl-demo-project.h"
#include "sl-resources.h"

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

double
bench_percentile (GArray *values, double q)
{
  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double,
                        MIN (values->len - 1, (guint) (q * (values->len - 1) + 0.5)));
}

double
bench_mean (GArray *values)
{
  double s = 0;

  for (guint i = 0; i < values->len; i++)
    s += g_array_index (values, double, i);
  return values->len > 0 ? s / values->len : 0;
}

/* ---- Main-loop stalls ---------------------------------------------------------------- */

void
bench_phase_init (BenchPhase *p)
{
  *p = (BenchPhase){ 0 };
  p->gaps = g_array_new (FALSE, FALSE, sizeof (double));
  p->busy = g_array_new (FALSE, FALSE, sizeof (double));
  p->waits = g_array_new (FALSE, FALSE, sizeof (double));
  p->frames = g_array_new (FALSE, FALSE, sizeof (double));
}

void
bench_phase_clear (BenchPhase *p)
{
  g_clear_pointer (&p->gaps, g_array_unref);
  g_clear_pointer (&p->busy, g_array_unref);
  g_clear_pointer (&p->waits, g_array_unref);
  g_clear_pointer (&p->frames, g_array_unref);
}

void
bench_phase_start (BenchPhase *p)
{
  p->last_tick = p->last_frame = 0;
  p->recording = TRUE;
  p->steal_ms = bench_steal_ms ();
}

void
bench_phase_stop (BenchPhase *p)
{
  p->steal_ms = bench_steal_ms () - p->steal_ms;
  p->recording = FALSE;
}

void
bench_phase_frame (BenchPhase *p, GdkFrameClock *clock)
{
  gint64 t = gdk_frame_clock_get_frame_time (clock);

  if (p->recording && p->last_frame != 0)
    {
      double interval = (t - p->last_frame) / 1000.0;
      g_array_append_val (p->frames, interval);
    }
  p->last_frame = t;
}

typedef struct
{
  BenchPhase *const *current;
  BenchGapFunc on_gap;
  gpointer data;
} StallSource;

static gboolean
stall_tick (gpointer data)
{
  StallSource *s = data;
  BenchPhase *p = *s->current;
  gint64 now = g_get_monotonic_time (), cpu = bench_thread_cpu_us ();
  gint64 wait = bench_thread_wait_us ();
  double gap, busy, waited;
  gboolean recorded;

  if (p == NULL)
    return G_SOURCE_CONTINUE;
  recorded = p->recording && p->last_tick != 0;
  gap = (now - p->last_tick) / 1000.0;
  busy = (cpu - p->last_cpu) / 1000.0;
  waited = (wait - p->last_wait) / 1000.0;
  if (recorded)
    {
      g_array_append_val (p->gaps, gap);
      g_array_append_val (p->busy, busy);
      g_array_append_val (p->waits, waited);
    }
  p->last_tick = now;
  p->last_cpu = cpu;
  p->last_wait = wait;
  if (recorded && s->on_gap != NULL)
    s->on_gap (p, gap, busy, s->data);
  return G_SOURCE_CONTINUE;
}

guint
bench_stall_source_add (BenchPhase *const *current, BenchGapFunc on_gap, gpointer data)
{
  StallSource *s = g_new (StallSource, 1);

  s->current = current;
  s->on_gap = on_gap;
  s->data = data;
  return g_timeout_add_full (G_PRIORITY_HIGH, 5, stall_tick, s, g_free);
}

gint64
bench_thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

gint64
bench_thread_wait_us (void)
{
  static __thread int fd = -1; /* opened once per thread: read every 5 ms */
  char buf[128];
  unsigned long long run_ns, wait_ns;
  ssize_t len;

  if (fd < 0 && (fd = open ("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) < 0)
    return 0;
  len = pread (fd, buf, sizeof buf - 1, 0);
  if (len <= 0)
    return 0;
  buf[len] = '\0';
  if (sscanf (buf, "%llu %llu", &run_ns, &wait_ns) != 2)
    return 0;
  return (gint64) (wait_ns / 1000);
}

double
bench_steal_ms (void)
{
  g_autofree char *stat = NULL;
  unsigned long long v[8] = { 0 };

  if (!g_file_get_contents ("/proc/stat", &stat, NULL, NULL)
      || sscanf (stat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7])
             != 8)
    return 0;
  return v[7] * 1000.0 / sysconf (_SC_CLK_TCK);
}

void
bench_print_machine (void)
{
  g_autofree char *load = NULL;

  /* Wall-clock stalls include time the machine gives to other programs. */
  if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
    printf ("machine: %d cores, load average %s", g_get_num_processors (), load);
}

/* ---- Running the main loop ----------------------------------------------------------- */

void
bench_spin_until (BenchCondFunc cond, gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!cond (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
bench_settle (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint tick = g_timeout_add (5, wake_up, NULL); /* so that an iteration never blocks for long */

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

void
bench_finish (guint stall_source, GtkWindow *window, SlSession *session, SlProject *project,
              const char *tmp)
{
  g_source_remove (stall_source);
  gtk_window_destroy (window);
  bench_settle (100);
  g_clear_object (&session);
  g_clear_pointer (&project, sl_project_unref);
  if (tmp != NULL)
    sl_remove_tree (tmp);
}

/* ---- Set-up -------------------------------------------------------------------------- */

void
bench_load_style (void)
{
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();

  (void) sl_resources_get_resource ();
  gtk_css_provider_load_from_resource (css, "/org/sightline/Sightline/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

GtkWidget *
bench_find_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = bench_find_type (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

gboolean
bench_write_fmnist (const char *dir, int n)
{
  const char *root
      = g_getenv ("SL_FASHION_MNIST") ? g_getenv ("SL_FASHION_MNIST") : SL_DEMO_DATA_DIR;
  g_autoptr (GError) error = NULL;

  if (!sl_demo_write_pngs (root, "train", n, dir, "fm", NULL, &error))
    {
      g_printerr ("Fashion-MNIST is needed (apt-get install dataset-fashion-mnist): %s\n",
                  error->message);
      return FALSE;
    }
  return TRUE;
}

SlProject *
bench_import_project (const char *path, const char *name, const char *src)
{
  g_autoptr (GError) error = NULL;
  SlImportResult result;
  SlSplitConfig split;
  SlProject *project;

  if ((project = sl_project_create (path, name, &error)) == NULL
      || !sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL,
                                    NULL, &result, &error))
    {
      g_printerr ("Could not make the project: %s\n", error->message);
      return NULL;
    }
  g_printerr ("imported %lld images in %.1f s\n", (long long) result.added, result.seconds);
  sl_import_result_clear (&result);
  sl_split_config_init (&split);
  sl_project_split (project, &split, NULL, NULL);
  return project;
}
