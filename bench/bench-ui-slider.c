/* bench-ui-slider.c: main-loop stalls while a Preprocess slider is dragged at 60 Hz (run under xvfb-run).
 *
 * Opens the Preprocess page on a project of Fashion-MNIST images plus one
 * large synthetic image, builds a chain (Gaussian blur, CLAHE, crop), and
 * moves the blur's sigma slider through 200 values, one per 1/60 s, from a
 * tick callback, on a 28 x 28 image and then on the large one. A 5 ms
 * high-priority timeout records the gaps of the main loop (a stall shows as
 * a long gap) and the frame clock the frame intervals. Prints a table and a
 * JSON line.
 *
 *   xvfb-run -a -s '-screen 0 1920x1080x24' build/bench/bench-ui-slider [--images N]
 *       [--side PX] [--values N] */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench-ui-util.h"
#include "sl-demo-project.h"
#include "sl-idx.h"
#include "sl-preprocess-page.h"
#include "sl-resources.h"
#include "sl-session.h"
#include "sl-vision.h"

/* One drag over one preview image. */
typedef struct
{
  const char *name;
  int width, height;
  GArray *gaps;   /* double, ms */
  GArray *busy;   /* double, ms: main-thread CPU time within each gap */
  GArray *frames; /* double, ms */
  GArray *costs;  /* double, ms: main-thread time of one slider change */
  guint requested, computed;
  double latency_ms; /* last change -> its preview painted */
  double preview_ms; /* mean computation time of one preview on the worker */
  double total_ms;
  double steal_ms; /* CPU time the virtual machine's host took away during the drag */
} Run;

typedef struct
{
  SlPreprocessPage *page;
  GtkRange *scale;
  Run *run;
  int values, done;
  double first, last;
  gint64 start, last_change, last_ready, painted;
  gint64 last_tick, last_frame, last_cpu;
  double preview_sum;
  guint previews;
  gboolean recording;
} Bench;

/* ---- The project ----------------------------------------------------------------------- */

/* Writes n Fashion-MNIST images as dir/<class>/fm-NNNNN.png. */
static gboolean
write_fmnist (const char *dir, int n)
{
  const char *root = g_getenv ("SL_FASHION_MNIST") ? g_getenv ("SL_FASHION_MNIST")
                                                   : "/usr/share/datasets/fashion-mnist";
  g_autoptr (GError) error = NULL;

  if (!sl_demo_write_pngs (root, "train", n, dir, "fm", NULL, &error))
    {
      g_printerr ("Fashion-MNIST is needed (apt-get install dataset-fashion-mnist): %s\n",
                  error->message);
      return FALSE;
    }
  return TRUE;
}

/* A side x side gray image with edges and texture, so that every step has work. */
static gboolean
write_synthetic (const char *dir, int side)
{
  g_autofree char *path = g_build_filename (dir, "synthetic.png", NULL);
  sl_image img = { 0 };
  gboolean ok;

  g_mkdir_with_parents (dir, 0755);
  if (sl_image_alloc (&img, side, side, 1, 8, NULL) != SL_OK)
    return FALSE;
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      img.data[(size_t) y * img.stride + x]
          = (guint8) ((((x / 64) + (y / 64)) % 2 ? 180 : 60) + ((x * 7 + y * 13) % 32));
  ok = sl_image_save (&img, path, NULL) == SL_OK;
  sl_image_clear (&img);
  return ok;
}

static SlProject *
make_project (const char *tmp, int n, int side, gint64 *small_id, gint64 *big_id)
{
  g_autofree char *path = g_build_filename (tmp, "project", NULL);
  g_autofree char *fm = g_build_filename (tmp, "fmnist", NULL);
  g_autofree char *big = g_build_filename (tmp, "synthetic", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  SlImportResult r1 = { 0 }, r2 = { 0 };

  if (!write_fmnist (fm, n) || !write_synthetic (big, side))
    return NULL;
  if ((project = sl_project_create (path, "Slider bench", &error)) == NULL
      || !sl_project_import_folder (project, fm, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL, NULL,
                                    &r1, &error)
      || !sl_project_import_folder (project, big, SL_IMPORT_FLAGS_NONE, 0, NULL, NULL, NULL, &r2,
                                    &error))
    {
      g_printerr ("Could not make the project: %s\n", error->message);
      return NULL;
    }
  *small_id = g_array_index (r1.image_ids, gint64, 0);
  *big_id = g_array_index (r2.image_ids, gint64, 0);
  sl_import_result_clear (&r1);
  sl_import_result_clear (&r2);
  return g_steal_pointer (&project);
}

/* ---- Measuring ------------------------------------------------------------------------ */

/* Time the hypervisor ran other guests on our CPUs (all CPUs, ms): on a
 * shared virtual machine this makes wall-clock stalls (and even thread CPU
 * times) look longer than the program made them. */
static double
steal_ms (void)
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

/* CPU time of the calling thread: tells our own work from time the machine
 * gave to other processes. */
static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
stall_tick (gpointer data)
{
  Bench *b = data;
  gint64 now = g_get_monotonic_time (), cpu = thread_cpu_us ();

  if (b->recording && b->last_tick != 0)
    {
      double gap = (now - b->last_tick) / 1000.0, busy = (cpu - b->last_cpu) / 1000.0;

      g_array_append_val (b->run->gaps, gap);
      g_array_append_val (b->run->busy, busy);
    }
  b->last_tick = now;
  b->last_cpu = cpu;
  return G_SOURCE_CONTINUE;
}

/* The "drag": one new slider value per 1/60 s of frame time. */
static gboolean
drag_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Bench *b = data;
  gint64 t = gdk_frame_clock_get_frame_time (clock);

  if (b->recording && b->last_frame != 0)
    {
      double interval = (t - b->last_frame) / 1000.0;
      g_array_append_val (b->run->frames, interval);
    }
  b->last_frame = t;
  if (b->start == 0 || b->done >= b->values)
    return G_SOURCE_CONTINUE;
  /* One value per frame at most, as a pointer drag delivers them. */
  if (b->done <= (g_get_monotonic_time () - b->start) * 60 / G_USEC_PER_SEC)
    {
      double v = b->first + (b->last - b->first) * b->done / (b->values - 1);
      gint64 t0 = g_get_monotonic_time ();
      double cost;

      gtk_range_set_value (b->scale, v);
      b->last_change = g_get_monotonic_time ();
      cost = (b->last_change - t0) / 1000.0;
      g_array_append_val (b->run->costs, cost);
      b->done++;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_ready (SlPreviewWorker *worker, const SlPreviewResult *r, Bench *b)
{
  b->last_ready = g_get_monotonic_time ();
  b->painted = 0;
  if (b->recording)
    {
      b->preview_sum += r->seconds * 1000;
      b->previews++;
    }
}

static void
on_after_paint (GdkFrameClock *clock, Bench *b)
{
  if (b->painted == 0 && b->last_ready != 0)
    b->painted = g_get_monotonic_time ();
}

static void
spin_until (gboolean (*cond) (Bench *), Bench *b, int seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while (!cond (b) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
preview_idle (Bench *b)
{
  SlPreviewWorker *w = sl_preprocess_page_get_worker (b->page);

  return !sl_preprocess_page_is_loading (b->page) && !sl_preview_worker_is_busy (w)
         && sl_preview_worker_get_result (w) != NULL && b->painted != 0;
}

static gboolean
drag_over (Bench *b)
{
  return b->done >= b->values && preview_idle (b)
         && g_get_monotonic_time () - b->last_change > 600 * 1000; /* the save happens in here */
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop for ms milliseconds. */
static void
settle (Bench *b, int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint tick = g_timeout_add (5, wake_up, NULL); /* so that an iteration never blocks for long */

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

/* Drags the slider over the given preview image. */
static void
run_drag (Bench *b, Run *run, gint64 image_id)
{
  SlPreviewWorker *w = sl_preprocess_page_get_worker (b->page);
  guint r0, c0, r1, c1;
  gint64 t0;

  run->gaps = g_array_new (FALSE, FALSE, sizeof (double));
  run->busy = g_array_new (FALSE, FALSE, sizeof (double));
  run->frames = g_array_new (FALSE, FALSE, sizeof (double));
  run->costs = g_array_new (FALSE, FALSE, sizeof (double));
  b->run = run;
  gtk_range_set_value (b->scale, b->first);
  sl_preprocess_page_set_preview_image (b->page, image_id);
  spin_until (preview_idle, b, 60);
  settle (b, 500);
  run->width = sl_preview_worker_get_result (w)->source.width;
  run->height = sl_preview_worker_get_result (w)->source.height;
  sl_preview_worker_get_counts (w, &r0, &c0);
  b->preview_sum = 0;
  b->previews = 0;
  b->done = 0;
  b->last_tick = b->last_frame = 0;
  b->recording = TRUE;
  t0 = b->start = g_get_monotonic_time ();
  run->steal_ms = steal_ms ();
  spin_until (drag_over, b, 120);
  run->steal_ms = steal_ms () - run->steal_ms;
  b->recording = FALSE;
  b->start = 0;
  run->total_ms = (g_get_monotonic_time () - t0) / 1000.0;
  sl_preview_worker_get_counts (w, &r1, &c1);
  run->requested = r1 - r0;
  run->computed = c1 - c0;
  run->latency_ms = (b->painted - b->last_change) / 1000.0;
  run->preview_ms = b->previews > 0 ? b->preview_sum / b->previews : 0;
}

/* ---- Set-up ---------------------------------------------------------------------------- */

static void
load_style (void)
{
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  GdkDisplay *display = gdk_display_get_default ();

  (void) sl_resources_get_resource ();
  gtk_css_provider_load_from_resource (css, "/org/sightline/Sightline/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static GtkWidget *
find_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_type (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Gaussian blur (kernel 15), CLAHE, crop; the blur selected, its sigma scale returned. */
static GtkRange *
build_chain (SlPreprocessPage *page)
{
  GtkWidget *w = GTK_WIDGET (page);
  SlParamEditor *editor = sl_preprocess_page_get_param_editor (page);

  gtk_widget_activate_action (w, "preprocess.add-step", "s", "gaussian-blur");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (sl_param_editor_get_control (editor, "ksize", 0)),
                             15);
  gtk_widget_activate_action (w, "preprocess.add-step", "s", "clahe");
  gtk_widget_activate_action (w, "preprocess.add-step", "s", "crop");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (sl_param_editor_get_control (editor, "rect", 0)),
                             0.1);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (sl_param_editor_get_control (editor, "rect", 2)),
                             0.8);
  sl_preprocess_page_select_step (page, 0);
  return GTK_RANGE (find_type (GTK_WIDGET (editor), GTK_TYPE_SCALE));
}

static void
print_run (const Run *r)
{
  printf ("%-20s %4dx%-5d %8.1f %8.1f %8.1f %8.1f %8.1f %6u/%-6u %8.1f %8.1f %7.3f %7.0f\n",
          r->name, r->width, r->height, bench_percentile (r->gaps, 1.0),
          bench_percentile (r->gaps, 0.99), bench_percentile (r->busy, 1.0),
          bench_percentile (r->frames, 1.0), bench_percentile (r->frames, 0.99), r->computed,
          r->requested, r->preview_ms, r->latency_ms, bench_mean (r->costs), r->steal_ms);
}

static void
print_json_run (const Run *r, gboolean last)
{
  printf ("{\"image\": \"%s\", \"width\": %d, \"height\": %d, \"worst_stall_ms\": %.1f, "
          "\"p99_stall_ms\": %.1f, \"worst_main_thread_cpu_in_a_gap_ms\": %.1f, "
          "\"worst_frame_ms\": %.1f, \"p99_frame_ms\": %.1f, \"frames\": %u, \"changes\": %u, "
          "\"previews_requested\": %u, \"previews_computed\": %u, "
          "\"preview_compute_ms\": %.1f, \"last_change_to_shown_ms\": %.1f, "
          "\"main_thread_ms_per_change\": %.3f, \"max_main_thread_ms_per_change\": %.3f, "
          "\"drag_ms\": %.0f, \"vm_steal_ms\": %.0f}%s",
          r->name, r->width, r->height, bench_percentile (r->gaps, 1.0),
          bench_percentile (r->gaps, 0.99), bench_percentile (r->busy, 1.0),
          bench_percentile (r->frames, 1.0), bench_percentile (r->frames, 0.99), r->frames->len,
          r->costs->len, r->requested, r->computed, r->preview_ms, r->latency_ms,
          bench_mean (r->costs), bench_percentile (r->costs, 1.0), r->total_ms, r->steal_ms,
          last ? "" : ", ");
}

int
main (int argc, char **argv)
{
  int n = 500, side = 2048, values = 200;
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlSession) session = NULL;
  Run runs[2] = { { .name = "Fashion-MNIST image" }, { .name = "synthetic image" } };
  gint64 small_id = -1, big_id = -1;
  GtkWindow *window;
  Bench b = { 0 };
  double worst = 0;
  guint stall_source;

  for (int i = 1; i + 1 < argc; i += 2)
    if (g_str_equal (argv[i], "--images"))
      n = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--side"))
      side = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--values"))
      values = MAX (2, atoi (argv[i + 1]));
  if (!gtk_init_check ())
    {
      g_printerr ("No display: run under xvfb-run -a\n");
      return 2;
    }
  tmp = g_dir_make_tmp ("sl-bench-slider-XXXXXX", NULL);
  if ((project = make_project (tmp, n, side, &small_id, &big_id)) == NULL)
    return 1;
  load_style ();

  session = sl_session_new_for_project (project);
  b.page = SL_PREPROCESS_PAGE (sl_preprocess_page_new (session));
  b.values = values;
  b.first = 0.1;
  b.last = 20.0;
  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 1280, 800);
  gtk_window_set_child (window, GTK_WIDGET (b.page));
  gtk_window_present (window);
  while (!gtk_widget_get_mapped (GTK_WIDGET (window)) || sl_preprocess_page_is_loading (b.page))
    g_main_context_iteration (NULL, TRUE);
  b.scale = build_chain (b.page);
  g_signal_connect_after (sl_preprocess_page_get_worker (b.page), "ready", G_CALLBACK (on_ready),
                          &b);
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                    G_CALLBACK (on_after_paint), &b);
  gtk_widget_add_tick_callback (GTK_WIDGET (b.scale), drag_tick, &b, NULL);
  stall_source = g_timeout_add_full (G_PRIORITY_HIGH, 5, stall_tick, &b, NULL);

  run_drag (&b, &runs[0], small_id);
  run_drag (&b, &runs[1], big_id);

  {
    g_autofree char *load = NULL;

    /* Wall-clock stalls include time the machine gives to other programs. */
    if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
      printf ("machine: %d cores, load average %s", g_get_num_processors (), load);
  }
  printf ("Preprocess page, chain: Gaussian blur (kernel 15) > CLAHE > crop; the blur's sigma "
          "slider moved through %d values at 60 Hz; window 1280 x 800, renderer %s\n",
          values, G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))));
  printf ("%-20s %10s %8s %8s %8s %8s %8s %13s %8s %8s %7s %7s\n", "preview image", "size", "worst",
          "p99", "busiest", "worst", "p99", "previews", "compute", "latency", "main", "VM");
  printf ("%-20s %10s %8s %8s %8s %8s %8s %13s %8s %8s %7s %7s\n", "", "", "stall ms", "stall ms",
          "cpu ms", "frame ms", "frame ms", "done/asked", "ms", "ms", "ms/chg", "steal");
  for (int i = 0; i < 2; i++)
    {
      print_run (&runs[i]);
      worst = MAX (worst, bench_percentile (runs[i].gaps, 1.0));
    }
  printf ("{\"bench\": \"ui-slider\", \"changes_per_s\": 60, \"runs\": [");
  for (int i = 0; i < 2; i++)
    print_json_run (&runs[i], i == 1);
  printf ("], \"target_worst_stall_ms\": 50, \"pass\": %s}\n", worst < 50 ? "true" : "false");

  g_source_remove (stall_source);
  gtk_window_destroy (window);
  settle (&b, 100);
  g_clear_object (&session);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
  return worst < 50 ? 0 : 1;
}
