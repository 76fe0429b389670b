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

#include "bench-ui-util.h"
#include "sl-dataset-page.h"
#include "sl-idx.h"
#include "sl-image-list.h"
#include "sl-session.h"
#include "sl-thumbnail-cache.h"
#include "sl-thumbnail-cell.h"
#include "sl-vision.h"

static const char *const class_names[10] = {
  "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

typedef struct
{
  SlDatasetPage *page;
  GtkAdjustment *vadj;
  BenchPhase load, scroll; /* gaps between 5 ms high-priority timeouts, frame intervals */
  BenchPhase *current;
  gboolean scrolling;
  guint tick_id;
  double step;
} Bench;

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
  g_autofree char *db = g_build_filename (path, "project.db", NULL);
  g_autofree char *src = NULL;
  gint64 start;

  if (g_file_test (db, G_FILE_TEST_EXISTS))
    return sl_project_open (path, NULL);
  src = g_strconcat (path, "-src", NULL);
  start = g_get_monotonic_time ();
  if (!write_tree (src, n))
    return NULL;
  g_printerr ("wrote %d PNGs in %.1f s\n", n, (g_get_monotonic_time () - start) / 1e6);
  return bench_import_project (path, "Grid benchmark", src);
}

/* ---- Measuring -------------------------------------------------------------------------- */

/* SL_BENCH_TRACE=file lists every gap over 30 ms: time, gap, busy, scroll position. */
static FILE *trace;
static gint64 trace_start;

static void
trace_gap (const BenchPhase *p, double gap, double busy, gpointer data)
{
  Bench *b = data;
  gint64 now = p->last_tick;

  if (trace != NULL && gap > 30)
    fprintf (trace, "%.0f %.1f %.1f %.0f %.6f\n", (now - trace_start) / 1000.0, gap, busy,
             b->vadj != NULL ? gtk_adjustment_get_value (b->vadj) : 0.0, now / 1e6);
}

/* Each frame moves the grid down by a quarter page, as a fast scroll wheel does. */
static gboolean
scroll_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Bench *b = data;
  double value = gtk_adjustment_get_value (b->vadj);
  double end = gtk_adjustment_get_upper (b->vadj) - gtk_adjustment_get_page_size (b->vadj);

  if (b->current != NULL)
    bench_phase_frame (b->current, clock);
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

static gboolean
loaded (gpointer data)
{
  Bench *b = data;

  return !sl_image_list_get_loading (sl_dataset_page_get_image_list (b->page))
         && gtk_widget_get_mapped (sl_dataset_page_get_grid (b->page));
}

static gboolean
scrolled (gpointer data)
{
  return !((Bench *) data)->scrolling;
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
thumbnails_settled (gpointer data)
{
  Bench *b = data;
  guint cells, shown;

  count_cells (b, &cells, &shown);
  return cells > 0 && cells == shown
         && sl_thumbnail_cache_get_pending (sl_dataset_page_get_thumbnail_cache (b->page)) == 0;
}

static gboolean
page_loaded (gpointer data)
{
  return !sl_image_list_get_loading (sl_dataset_page_get_image_list (((Bench *) data)->page));
}

/* Opens the page once in the window, then takes it out again. */
static void
warm_up (GtkWindow *window, SlProject *project)
{
  g_autoptr (SlSession) session = sl_session_new_for_project (project);
  Bench warm = { 0 };

  warm.page = SL_DATASET_PAGE (sl_dataset_page_new (session));
  gtk_window_set_child (window, GTK_WIDGET (warm.page));
  bench_spin_until (page_loaded, &warm, 120);
  bench_settle (500);
  gtk_window_set_child (window, NULL);
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
  bench_load_style ();
  if (g_getenv ("SL_BENCH_TRACE") != NULL)
    trace = fopen (g_getenv ("SL_BENCH_TRACE"), "w");
  trace_start = g_get_monotonic_time ();
  bench_phase_init (&b.load);
  bench_phase_init (&b.scroll);
  stall_source = bench_stall_source_add (&b.current, trace_gap, &b);

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
  bench_phase_start (&b.load);
  t0 = b.load.last_tick = g_get_monotonic_time (); /* building the page counts as a stall */
  b.load.last_cpu = bench_thread_cpu_us ();
  session = sl_session_new_for_project (project);
  b.page = SL_DATASET_PAGE (sl_dataset_page_new (session));
  gtk_window_set_child (window, GTK_WIDGET (b.page));
  b.tick_id
      = gtk_widget_add_tick_callback (sl_dataset_page_get_grid (b.page), scroll_tick, &b, NULL);
  bench_spin_until (loaded, &b, 120);
  load_ms = (g_get_monotonic_time () - t0) / 1000;
  bench_phase_stop (&b.load);

  /* Phase 2: scroll from the top to the bottom, a quarter page per frame. */
  b.vadj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (sl_dataset_page_get_grid (b.page)));
  for (int i = 0;
       i < 100 && gtk_adjustment_get_upper (b.vadj) <= gtk_adjustment_get_page_size (b.vadj); i++)
    g_main_context_iteration (NULL, TRUE);
  b.step = gtk_adjustment_get_page_size (b.vadj) * step_pages;
  b.current = &b.scroll;
  bench_phase_start (&b.scroll);
  b.scrolling = TRUE;
  t0 = g_get_monotonic_time ();
  bench_spin_until (scrolled, &b, 600);
  scroll_ms = (g_get_monotonic_time () - t0) / 1000;
  bench_phase_stop (&b.scroll);

  /* Phase 3: the thumbnails at the bottom arrive. */
  t0 = g_get_monotonic_time ();
  bench_spin_until (thumbnails_settled, &b, 60);
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
          worst (b.load.busy), bench_percentile (b.load.busy, 0.99), "-", "-");
  printf ("%-22s %8lld %9.1f ms %9.1f ms %9.1f ms %9.1f ms %8u %9.1f ms\n", "scroll top to bottom",
          (long long) scroll_ms, worst (b.scroll.gaps), bench_percentile (b.scroll.gaps, 0.99),
          worst (b.scroll.busy), bench_percentile (b.scroll.busy, 0.99), b.scroll.frames->len + 1,
          worst (b.scroll.frames));
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
          worst (b.load.busy), (long long) scroll_ms, b.scroll.frames->len + 1,
          worst (b.scroll.gaps), bench_percentile (b.scroll.gaps, 0.99), worst (b.scroll.busy),
          bench_percentile (b.scroll.busy, 0.99), worst (b.scroll.frames),
          bench_percentile (b.scroll.frames, 0.99), sl_thumbnail_cache_get_delivered (cache), cells,
          shown, (long long) settle_ms,
          worst (b.scroll.gaps) < 50 && worst (b.load.gaps) < 50 && shown == cells ? "true"
                                                                                   : "false");

  bench_finish (stall_source, window, g_steal_pointer (&session), g_steal_pointer (&project), tmp);
  return 0;
}
