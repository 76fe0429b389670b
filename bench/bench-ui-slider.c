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

#include "bench-ui-util.h"
#include "sl-preprocess-page.h"
#include "sl-session.h"
#include "sl-vision.h"

/* One drag over one preview image. */
typedef struct
{
  const char *name;
  int width, height;
  BenchPhase phase; /* stalls, main-thread time, frames and VM steal time during the drag */
  GArray *costs;    /* double, ms: main-thread time of one slider change */
  guint requested, computed;
  double latency_ms; /* last change -> its preview painted */
  double preview_ms; /* mean computation time of one preview on the worker */
  double total_ms;
} Run;

typedef struct
{
  SlPreprocessPage *page;
  GtkRange *scale;
  Run *run;
  BenchPhase *phase; /* the current run's */
  int values, done;
  double first, last;
  gint64 start, last_change, last_ready, painted;
  double preview_sum;
  guint previews;
} Bench;

/* ---- The project ----------------------------------------------------------------------- */

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

  if (!bench_write_fmnist (fm, n) || !write_synthetic (big, side))
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

/* The "drag": one new slider value per 1/60 s of frame time. */
static gboolean
drag_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Bench *b = data;

  if (b->phase != NULL)
    bench_phase_frame (b->phase, clock);
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
  if (b->phase != NULL && b->phase->recording)
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

static gboolean
preview_idle (gpointer data)
{
  Bench *b = data;
  SlPreviewWorker *w = sl_preprocess_page_get_worker (b->page);

  return !sl_preprocess_page_is_loading (b->page) && !sl_preview_worker_is_busy (w)
         && sl_preview_worker_get_result (w) != NULL && b->painted != 0;
}

static gboolean
drag_over (gpointer data)
{
  Bench *b = data;

  return b->done >= b->values && preview_idle (b)
         && g_get_monotonic_time () - b->last_change > 600 * 1000; /* the save happens in here */
}

/* Drags the slider over the given preview image. */
static void
run_drag (Bench *b, Run *run, gint64 image_id)
{
  SlPreviewWorker *w = sl_preprocess_page_get_worker (b->page);
  guint r0, c0, r1, c1;
  gint64 t0;

  bench_phase_init (&run->phase);
  run->costs = g_array_new (FALSE, FALSE, sizeof (double));
  b->run = run;
  b->phase = &run->phase;
  gtk_range_set_value (b->scale, b->first);
  sl_preprocess_page_set_preview_image (b->page, image_id);
  bench_spin_until (preview_idle, b, 60);
  bench_settle (500);
  run->width = sl_preview_worker_get_result (w)->source.width;
  run->height = sl_preview_worker_get_result (w)->source.height;
  sl_preview_worker_get_counts (w, &r0, &c0);
  b->preview_sum = 0;
  b->previews = 0;
  b->done = 0;
  bench_phase_start (&run->phase);
  t0 = b->start = g_get_monotonic_time ();
  bench_spin_until (drag_over, b, 120);
  bench_phase_stop (&run->phase);
  b->start = 0;
  run->total_ms = (g_get_monotonic_time () - t0) / 1000.0;
  sl_preview_worker_get_counts (w, &r1, &c1);
  run->requested = r1 - r0;
  run->computed = c1 - c0;
  run->latency_ms = (b->painted - b->last_change) / 1000.0;
  run->preview_ms = b->previews > 0 ? b->preview_sum / b->previews : 0;
}

/* ---- Set-up ---------------------------------------------------------------------------- */

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
  return GTK_RANGE (bench_find_type (GTK_WIDGET (editor), GTK_TYPE_SCALE));
}

static void
print_run (const Run *r)
{
  printf ("%-20s %4dx%-5d %8.1f %8.1f %8.1f %8.1f %8.1f %6u/%-6u %8.1f %8.1f %7.3f %7.0f\n",
          r->name, r->width, r->height, bench_percentile (r->phase.gaps, 1.0),
          bench_percentile (r->phase.gaps, 0.99), bench_percentile (r->phase.busy, 1.0),
          bench_percentile (r->phase.frames, 1.0), bench_percentile (r->phase.frames, 0.99),
          r->computed, r->requested, r->preview_ms, r->latency_ms, bench_mean (r->costs),
          r->phase.steal_ms);
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
          r->name, r->width, r->height, bench_percentile (r->phase.gaps, 1.0),
          bench_percentile (r->phase.gaps, 0.99), bench_percentile (r->phase.busy, 1.0),
          bench_percentile (r->phase.frames, 1.0), bench_percentile (r->phase.frames, 0.99),
          r->phase.frames->len, r->costs->len, r->requested, r->computed, r->preview_ms,
          r->latency_ms, bench_mean (r->costs), bench_percentile (r->costs, 1.0), r->total_ms,
          r->phase.steal_ms, last ? "" : ", ");
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
  bench_load_style ();

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
  stall_source = bench_stall_source_add (&b.phase, NULL, NULL);

  run_drag (&b, &runs[0], small_id);
  run_drag (&b, &runs[1], big_id);

  bench_print_machine ();
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
      worst = MAX (worst, bench_percentile (runs[i].phase.gaps, 1.0));
    }
  printf ("{\"bench\": \"ui-slider\", \"changes_per_s\": 60, \"runs\": [");
  for (int i = 0; i < 2; i++)
    print_json_run (&runs[i], i == 1);
  printf ("], \"target_worst_stall_ms\": 50, \"pass\": %s}\n", worst < 50 ? "true" : "false");

  bench_finish (stall_source, window, g_steal_pointer (&session), g_steal_pointer (&project), tmp);
  return worst < 50 ? 0 : 1;
}
