/* bench-ui-grid.c: main-loop stalls while the dataset grid scrolls through 10,000 Fashion-MNIST images (run under xvfb-run).
 *
 *   xvfb-run -a -s '-screen 0 1920x1080x24' bench-ui-grid [N] [--project DIR] [--step-pages F]
 *
 * N images (default 10,000; past 60,000 flipped copies) are written as PNGs and
 * imported into DIR (kept and reused when given, else a temporary folder).
 * The grid then scrolls top to bottom by F pages per frame (default 0.25). */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-ui-util.h"
#include "sl-dataset-page.h"
#include "sl-idx.h"
#include "sl-image-list.h"
#include "sl-resources.h"
#include "sl-session.h"
#include "sl-thumbnail-cache.h"
#include "sl-thumbnail-cell.h"
#include "sl-vision.h"

static const char *const class_names[10] = {
  "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

/* One measured phase: gaps between 5 ms high-priority timeouts (a stall shows
 * as a long gap) and intervals between frames. */
typedef struct
{
  GArray *gaps;     /* double, ms */
  GArray *gap_cpus; /* double, ms: main-thread CPU time within each gap */
  GArray *frames;   /* double, ms */
  gint64 last_tick, last_frame, last_cpu;
  gboolean recording;
} Phase;

typedef struct
{
  SlDatasetPage *page;
  GtkAdjustment *vadj;
  Phase load, scroll;
  Phase *current;
  gboolean scrolling;
  guint tick_id;
  double step;
} Bench;

static void
phase_init (Phase *p)
{
  p->gaps = g_array_new (FALSE, FALSE, sizeof (double));
  p->gap_cpus = g_array_new (FALSE, FALSE, sizeof (double));
  p->frames = g_array_new (FALSE, FALSE, sizeof (double));
}

static double
worst (GArray *values)
{
  return values->len > 0 ? bench_percentile (values, 1.0) : 0;
}

/* ---- The project ---------------------------------------------------------------------- */

static gboolean
write_tree (const char *dir, int n)
{
  const char *root = g_getenv ("SL_FASHION_MNIST");
  g_autofree char *images_path = NULL, *labels_path = NULL;
  sl_idx images = { 0 }, labels = { 0 };
  sl_error err = { 0 };

  if (root == NULL)
    root = "/usr/share/datasets/fashion-mnist";
  images_path = g_build_filename (root, "train-images-idx3-ubyte.gz", NULL);
  labels_path = g_build_filename (root, "train-labels-idx1-ubyte.gz", NULL);
  if (sl_idx_load (images_path, 0, &images, &err) != SL_OK
      || sl_idx_load (labels_path, 0, &labels, &err) != SL_OK)
    {
      g_printerr ("Fashion-MNIST is needed (apt-get install dataset-fashion-mnist): %s\n",
                  err.message);
      return FALSE;
    }
  for (int64_t i = 0; i < n; i++)
    {
      const size_t size = (size_t) images.width * images.height;
      const int64_t k = i % images.count, variant = i / images.count;
      g_autofree char *folder = g_build_filename (dir, class_names[labels.data[k] % 10], NULL);
      g_autofree char *file = g_strdup_printf ("fm-%06lld.png", (long long) i);
      g_autofree char *path = g_build_filename (folder, file, NULL);
      g_autofree guint8 *pixels = g_memdup2 (images.data + k * size, size);
      sl_image view = { 0 };

      /* Past the 60,000 originals: flipped copies (most are new content). */
      for (int y = 0; variant > 0 && y < images.height; y++)
        for (int x = 0; x < images.width; x++)
          {
            int sx = variant & 1 ? images.width - 1 - x : x;
            int sy = variant & 2 ? images.height - 1 - y : y;
            pixels[y * images.width + x] = images.data[k * size + sy * images.width + sx];
          }
      g_mkdir_with_parents (folder, 0755);
      sl_image_borrow (&view, pixels, images.width, images.height, 1, 8, (size_t) images.width,
                       NULL);
      if (sl_image_save (&view, path, &err) != SL_OK)
        {
          g_printerr ("Could not write %s: %s\n", path, err.message);
          return FALSE;
        }
    }
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
  return TRUE;
}

/* The project in `path`, made from n images when it does not exist yet. */
static SlProject *
open_or_make_project (const char *path, int n)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = g_build_filename (path, "project.db", NULL);
  g_autofree char *src = NULL;
  SlImportResult result;
  SlSplitConfig split;
  SlProject *project;
  gint64 start;

  if (g_file_test (db, G_FILE_TEST_EXISTS))
    return sl_project_open (path, NULL);
  src = g_strconcat (path, "-src", NULL);
  start = g_get_monotonic_time ();
  if (!write_tree (src, n))
    return NULL;
  g_printerr ("wrote %d PNGs in %.1f s\n", n, (g_get_monotonic_time () - start) / 1e6);
  if ((project = sl_project_create (path, "Grid benchmark", &error)) == NULL
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

/* ---- Measuring -------------------------------------------------------------------------- */

/* SL_BENCH_TRACE=file lists every gap over 30 ms: time, gap, busy, scroll position. */
static FILE *trace;
static gint64 trace_start;

/* CPU time the main thread used, in microseconds: tells a stall the main loop
 * caused (busy) from one where the system ran other programs (preempted). */
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
  Phase *p = b->current;
  gint64 now = g_get_monotonic_time (), cpu = thread_cpu_us ();

  if (p != NULL && p->recording && p->last_tick != 0)
    {
      double gap = (now - p->last_tick) / 1000.0, busy = (cpu - p->last_cpu) / 1000.0;

      g_array_append_val (p->gaps, gap);
      g_array_append_val (p->gap_cpus, busy);
      if (trace != NULL && gap > 30)
        fprintf (trace, "%.0f %.1f %.1f %.0f %.6f\n", (now - trace_start) / 1000.0, gap, busy,
                 b->vadj != NULL ? gtk_adjustment_get_value (b->vadj) : 0.0, now / 1e6);
    }
  if (p != NULL)
    {
      p->last_tick = now;
      p->last_cpu = cpu;
    }
  return G_SOURCE_CONTINUE;
}

static void
record_frame (Phase *p, GdkFrameClock *clock)
{
  gint64 t = gdk_frame_clock_get_frame_time (clock);

  if (p->recording && p->last_frame != 0)
    {
      double interval = (t - p->last_frame) / 1000.0;
      g_array_append_val (p->frames, interval);
    }
  p->last_frame = t;
}

/* Each frame moves the grid down by a quarter page, as a fast scroll wheel does. */
static gboolean
scroll_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Bench *b = data;
  double value = gtk_adjustment_get_value (b->vadj);
  double end = gtk_adjustment_get_upper (b->vadj) - gtk_adjustment_get_page_size (b->vadj);

  if (b->current != NULL)
    record_frame (b->current, clock);
  if (!b->scrolling)
    return G_SOURCE_CONTINUE;
  if (value >= end - 0.5)
    {
      b->scrolling = FALSE;
      return G_SOURCE_CONTINUE;
    }
  gtk_adjustment_set_value (b->vadj, MIN (end, value + b->step));
  return G_SOURCE_CONTINUE;
}

static void
spin_until (gboolean (*cond) (Bench *), Bench *b, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!cond (b) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
loaded (Bench *b)
{
  return !sl_image_list_get_loading (sl_dataset_page_get_image_list (b->page))
         && gtk_widget_get_mapped (sl_dataset_page_get_grid (b->page));
}

static gboolean
scrolled (Bench *b)
{
  return !b->scrolling;
}

/* Visible cells and how many of them show their thumbnail. */
static void
count_cells (Bench *b, guint *cells, guint *shown)
{
  GtkWidget *grid = sl_dataset_page_get_grid (b->page);

  *cells = *shown = 0;
  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *cell = gtk_widget_get_first_child (child);

      if (!SL_IS_THUMBNAIL_CELL (cell) || !gtk_widget_get_child_visible (child)
          || sl_thumbnail_cell_get_image (SL_THUMBNAIL_CELL (cell)) == NULL)
        continue;
      (*cells)++;
      *shown += sl_thumbnail_cell_get_loaded (SL_THUMBNAIL_CELL (cell));
    }
}

static gboolean
thumbnails_settled (Bench *b)
{
  guint cells, shown;

  count_cells (b, &cells, &shown);
  return cells > 0 && cells == shown
         && sl_thumbnail_cache_get_pending (sl_dataset_page_get_thumbnail_cache (b->page)) == 0;
}

static void
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
}

static gboolean
page_loaded (Bench *b)
{
  return !sl_image_list_get_loading (sl_dataset_page_get_image_list (b->page));
}

/* Opens the page once in the window, then takes it out again. */
static void
warm_up (GtkWindow *window, SlProject *project)
{
  g_autoptr (SlSession) session = sl_session_new_for_project (project);
  Bench warm = { 0 };
  gboolean done = FALSE;

  warm.page = SL_DATASET_PAGE (sl_dataset_page_new (session));
  gtk_window_set_child (window, GTK_WIDGET (warm.page));
  spin_until (page_loaded, &warm, 120);
  g_timeout_add_once (500, set_flag, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  gtk_window_set_child (window, NULL);
}

static void
load_style (void)
{
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();

  (void) sl_resources_get_resource ();
  gtk_css_provider_load_from_resource (css, "/org/sightline/Sightline/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

int
main (int argc, char **argv)
{
  int n = 10000;
  double step_pages = 0.25;
  g_autofree char *tmp = NULL, *path = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlSession) session = NULL;
  GtkWindow *window;
  Bench b = { 0 };
  gint64 t0, load_ms, scroll_ms, settle_ms;
  guint cells, shown, stall_source;
  SlThumbnailCache *cache;

  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--project") && i + 1 < argc)
      path = g_strdup (argv[++i]);
    else if (g_str_equal (argv[i], "--step-pages") && i + 1 < argc)
      step_pages = g_ascii_strtod (argv[++i], NULL);
    else
      n = atoi (argv[i]);
  if (path == NULL)
    {
      tmp = g_dir_make_tmp ("sl-bench-grid-XXXXXX", NULL);
      path = g_build_filename (tmp, "project", NULL);
    }
  if ((project = open_or_make_project (path, n)) == NULL)
    return 1;
  if (!gtk_init_check ())
    {
      g_printerr ("No display: run under xvfb-run -a\n");
      return 2;
    }
  load_style ();
  if (g_getenv ("SL_BENCH_TRACE") != NULL)
    trace = fopen (g_getenv ("SL_BENCH_TRACE"), "w");
  trace_start = g_get_monotonic_time ();
  phase_init (&b.load);
  phase_init (&b.scroll);
  stall_source = g_timeout_add_full (G_PRIORITY_HIGH, 5, stall_tick, &b, NULL);

  /* The window and GTK's one-time start-up (theme, fonts, icons, widget
   * classes) are not the page's: in the workbench the project window exists
   * when its Dataset page is built. */
  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 1280, 800);
  gtk_window_present (window);
  warm_up (window, project);

  /* Phase 1: opening the page in the window (the image list loads on a worker,
   * then merges). */
  b.current = &b.load;
  b.load.recording = TRUE;
  t0 = b.load.last_tick = g_get_monotonic_time (); /* building the page counts as a stall */
  b.load.last_cpu = thread_cpu_us ();
  session = sl_session_new_for_project (project);
  b.page = SL_DATASET_PAGE (sl_dataset_page_new (session));
  gtk_window_set_child (window, GTK_WIDGET (b.page));
  b.tick_id
      = gtk_widget_add_tick_callback (sl_dataset_page_get_grid (b.page), scroll_tick, &b, NULL);
  spin_until (loaded, &b, 120);
  load_ms = (g_get_monotonic_time () - t0) / 1000;
  b.load.recording = FALSE;

  /* Phase 2: scroll from the top to the bottom, a quarter page per frame. */
  b.vadj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (sl_dataset_page_get_grid (b.page)));
  for (int i = 0;
       i < 100 && gtk_adjustment_get_upper (b.vadj) <= gtk_adjustment_get_page_size (b.vadj); i++)
    g_main_context_iteration (NULL, TRUE);
  b.step = gtk_adjustment_get_page_size (b.vadj) * step_pages;
  b.current = &b.scroll;
  b.scroll.recording = TRUE;
  b.scrolling = TRUE;
  t0 = g_get_monotonic_time ();
  spin_until (scrolled, &b, 600);
  scroll_ms = (g_get_monotonic_time () - t0) / 1000;
  b.scroll.recording = FALSE;

  /* Phase 3: the thumbnails at the bottom arrive. */
  t0 = g_get_monotonic_time ();
  spin_until (thumbnails_settled, &b, 60);
  settle_ms = (g_get_monotonic_time () - t0) / 1000;
  count_cells (&b, &cells, &shown);
  cache = sl_dataset_page_get_thumbnail_cache (b.page);

  printf ("Dataset grid, %u images, %.0f px per frame (%.2f page), window 1280 x 800\n",
          g_list_model_get_n_items (G_LIST_MODEL (sl_dataset_page_get_image_list (b.page))), b.step,
          step_pages);
  printf ("%-22s %8s %12s %12s %12s %12s %8s %12s\n", "phase", "ms", "worst stall", "p99 stall",
          "worst busy", "p99 busy", "frames", "worst frame");
  printf ("%-22s %8lld %9.1f ms %9.1f ms %9.1f ms %9.1f ms %8s %12s\n", "open page + load",
          (long long) load_ms, worst (b.load.gaps), bench_percentile (b.load.gaps, 0.99),
          worst (b.load.gap_cpus), bench_percentile (b.load.gap_cpus, 0.99), "-", "-");
  printf ("%-22s %8lld %9.1f ms %9.1f ms %9.1f ms %9.1f ms %8u %9.1f ms\n", "scroll top to bottom",
          (long long) scroll_ms, worst (b.scroll.gaps), bench_percentile (b.scroll.gaps, 0.99),
          worst (b.scroll.gap_cpus), bench_percentile (b.scroll.gap_cpus, 0.99),
          b.scroll.frames->len + 1, worst (b.scroll.frames));
  printf ("stall: wall time between two 5 ms high-priority timeouts; busy: main-thread CPU time "
          "within it (the rest is the system running other programs)\n");
  printf ("frame interval p50 %.1f ms, p99 %.1f ms\n", bench_percentile (b.scroll.frames, 0.5),
          bench_percentile (b.scroll.frames, 0.99));
  printf ("thumbnails: %u decoded and delivered, %u of %u visible cells shown %lld ms after the "
          "scroll stopped, %.1f MB cached\n",
          sl_thumbnail_cache_get_delivered (cache), shown, cells, (long long) settle_ms,
          sl_thumbnail_cache_get_bytes (cache) / 1048576.0);
  printf ("{\"images\": %u, \"load\": {\"ms\": %lld, \"worst_stall_ms\": %.1f, \"p99_stall_ms\": "
          "%.1f, \"worst_busy_ms\": %.1f}, \"scroll\": {\"ms\": %lld, \"frames\": %u, "
          "\"worst_stall_ms\": %.1f, \"p99_stall_ms\": %.1f, \"worst_busy_ms\": %.1f, "
          "\"p99_busy_ms\": %.1f, \"worst_frame_ms\": %.1f, \"p99_frame_ms\": %.1f}, "
          "\"thumbnails\": {\"delivered\": %u, \"visible\": %u, \"visible_shown\": %u, "
          "\"settle_ms\": %lld}, \"target_worst_stall_ms\": 50, \"pass\": %s}\n",
          g_list_model_get_n_items (G_LIST_MODEL (sl_dataset_page_get_image_list (b.page))),
          (long long) load_ms, worst (b.load.gaps), bench_percentile (b.load.gaps, 0.99),
          worst (b.load.gap_cpus), (long long) scroll_ms, b.scroll.frames->len + 1,
          worst (b.scroll.gaps), bench_percentile (b.scroll.gaps, 0.99), worst (b.scroll.gap_cpus),
          bench_percentile (b.scroll.gap_cpus, 0.99), worst (b.scroll.frames),
          bench_percentile (b.scroll.frames, 0.99), sl_thumbnail_cache_get_delivered (cache), cells,
          shown, (long long) settle_ms,
          worst (b.scroll.gaps) < 50 && worst (b.load.gaps) < 50 && shown == cells ? "true"
                                                                                   : "false");

  g_source_remove (stall_source);
  gtk_window_destroy (window);
  if (tmp != NULL)
    sl_remove_tree (tmp);
  return 0;
}
