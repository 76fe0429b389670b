/* bench-ui-chart.c: the time to draw a live training chart with 1k .. 1M points per series, ours against a polyline through every point.
 *
 * A 420 x 260 SlChart (the size of one chart of the Train page) holds three
 * series of N points each: a noisy training loss with a gap, a validation
 * loss with a value every 250 steps (NaN between) and a dashed second run.
 * Each frame appends one point to every series, as live training does, then
 * snapshots the chart (the widget's snapshot function into a GtkSnapshot:
 * ranges, ticks, reduction, the series drawn into a texture) and renders the node to a
 * texture with the window's renderer (rasterising: GSK_RENDERER=cairo under
 * Xvfb). "ours" reduces each series to min/max/mean per pixel column; the
 * peer, the same widget with sl_chart_set_draw_every_point, strokes one cairo
 * polyline through every point. Both run in the same process, one after the
 * other for each N; each prints the median and the fastest of its frames.
 * Also timed: a pointer move over the chart (the plot is reused, only the
 * read-out is drawn), and ours when every frame also changes the x range, so
 * that every point is reduced again ("rescale"). Exits 1 when appending a
 * point takes more than a 60 Hz frame (16.7 ms, median) at any size.
 *
 *   xvfb-run -a -s '-screen 0 1920x1080x24' build/bench/bench-ui-chart [--max N]
 *       [--width PX] [--height PX] */
#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-ui-util.h"
#include "sl-chart.h"

typedef struct
{
  double snapshot_ms, render_ms, frame_ms, hover_ms; /* medians */
  double frame_best_ms, hover_best_ms;               /* the fastest: what load did not slow */
  guint frames;
} Timing;

/* How a frame changes the chart. */
typedef enum
{
  FRAME_APPEND,  /* one point more per series, the x axis fixed (the planned epochs) */
  FRAME_RESCALE, /* the same, and the x axis grows: every point is reduced again */
} FrameKind;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static double
noisy_loss (GRand *rand, double epoch, double floor_, double noise)
{
  double base = 2.1 * exp (-epoch / 2.5) + floor_;

  return base + noise * base * (g_rand_double (rand) + g_rand_double (rand) - 1);
}

/* N points a series, 1,000 steps an epoch, x in epochs. */
static void
fill_series (SlChartSeries **series, guint n, GRand *rand)
{
  g_autofree double *xs = g_new (double, n);
  g_autofree double *ys = g_new (double, n);

  for (guint i = 0; i < n; i++)
    xs[i] = (i + 1) / 1000.0;
  for (guint i = 0; i < n; i++)
    ys[i]
        = i >= n / 2 && i < n / 2 + n / 40 ? NAN : noisy_loss (rand, xs[i] * 20000 / n, 0.22, 0.35);
  sl_chart_series_append_many (series[0], xs, ys, n);
  for (guint i = 0; i < n; i++)
    ys[i] = (i + 1) % 250 == 0 ? noisy_loss (rand, xs[i] * 20000 / n, 0.33, 0.04) : NAN;
  sl_chart_series_append_many (series[1], xs, ys, n);
  for (guint i = 0; i < n; i++)
    ys[i] = noisy_loss (rand, xs[i] * 16000 / n, 0.3, 0.15);
  sl_chart_series_append_many (series[2], xs, ys, n);
}

/* Frames until both a minimum count and a minimum time are reached. */
static void
time_frames (SlChart *chart, SlChartSeries **series, GRand *rand, guint n, FrameKind kind,
             Timing *t)
{
  GtkWidget *widget = GTK_WIDGET (chart);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GArray) snap = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) render = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) frame = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) hover = g_array_new (FALSE, FALSE, sizeof (double));
  double start = now_ms (), last_x;
  guint step;

  sl_chart_series_get_point (series[0], sl_chart_series_get_n_points (series[0]) - 1, &last_x,
                             NULL);
  step = (guint) round (last_x * 1000);
  /* At least 5 frames and 1.5 s, but no more than 20 s (the peer at a million points). */
  for (guint i = 0; i < 200 && ((i < 5 && now_ms () - start < 20000) || now_ms () - start < 1500);
       i++)
    {
      GtkSnapshot *snapshot;
      g_autoptr (GskRenderNode) node = NULL;
      g_autoptr (GdkTexture) texture = NULL;
      double t0, t1, t2;

      step++;
      for (int s = 0; s < 3; s++)
        sl_chart_series_append (series[s], step / 1000.0,
                                s == 1 && step % 250 != 0
                                    ? NAN
                                    : noisy_loss (rand, step * 20000.0 / n / 1000, 0.25, 0.3));
      if (kind == FRAME_RESCALE)
        sl_chart_set_x_min_range (chart, n * 1.25 / 1000 + i * 0.01);
      t0 = now_ms ();
      snapshot = gtk_snapshot_new ();
      GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
      node = gtk_snapshot_free_to_node (snapshot);
      t1 = now_ms ();
      texture
          = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
      t2 = now_ms ();
      g_array_append_val (snap, (double){ t1 - t0 });
      g_array_append_val (render, (double){ t2 - t1 });
      g_array_append_val (frame, (double){ t2 - t0 });
    }
  /* The pointer moves: the plot is reused, the read-out drawn on top. */
  for (guint i = 0; i < 20; i++)
    {
      GtkSnapshot *snapshot;
      g_autoptr (GskRenderNode) node = NULL;
      g_autoptr (GdkTexture) texture = NULL;
      double t0 = now_ms ();

      sl_chart_hover_at (chart, width * (0.3 + 0.02 * i), height / 2.0);
      snapshot = gtk_snapshot_new ();
      GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
      node = gtk_snapshot_free_to_node (snapshot);
      texture
          = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
      g_array_append_val (hover, (double){ now_ms () - t0 });
    }
  sl_chart_hover_at (chart, -1, -1);
  t->frames = frame->len;
  t->snapshot_ms = bench_percentile (snap, 0.5);
  t->render_ms = bench_percentile (render, 0.5);
  t->frame_ms = bench_percentile (frame, 0.5);
  t->frame_best_ms = bench_percentile (frame, 0);
  t->hover_ms = bench_percentile (hover, 0.5);
  t->hover_best_ms = bench_percentile (hover, 0);
}

static void
bench_size (SlChart *chart, guint n, Timing *ours, Timing *rescale, Timing *peer)
{
  static const GdkRGBA colors[]
      = { { 0.21f, 0.52f, 0.89f, 1 }, { 0.90f, 0.38f, 0.0f, 1 }, { 0.57f, 0.25f, 0.67f, 1 } };
  static const char *const names[] = { "Train loss", "Validation loss", "Run 2 train loss" };
  g_autoptr (GRand) rand = g_rand_new_with_seed (n);
  SlChartSeries *series[3];

  sl_chart_clear_series (chart);
  for (int s = 0; s < 3; s++)
    {
      series[s] = sl_chart_series_new (names[s], &colors[s]);
      sl_chart_add_series (chart, series[s]);
      g_object_unref (series[s]);
    }
  sl_chart_series_set_connect_gaps (series[1], TRUE);
  sl_chart_series_set_dashed (series[2], TRUE);
  fill_series (series, n, rand);

  /* The axis spans the planned training, a quarter more than the points so far. */
  sl_chart_set_x_min_range (chart, n * 1.25 / 1000);
  sl_chart_set_draw_every_point (chart, FALSE);
  time_frames (chart, series, rand, n, FRAME_APPEND, ours);
  time_frames (chart, series, rand, n, FRAME_RESCALE, rescale);
  sl_chart_set_x_min_range (chart, n * 1.25 / 1000);
  sl_chart_set_draw_every_point (chart, TRUE);
  time_frames (chart, series, rand, n, FRAME_APPEND, peer);
  sl_chart_set_draw_every_point (chart, FALSE);
}

int
main (int argc, char **argv)
{
  static const guint sizes[] = { 1000, 10000, 100000, 1000000 };
  guint max = 1000000;
  int width = 420, height = 260;
  Timing ours[G_N_ELEMENTS (sizes)] = { 0 }, rescale[G_N_ELEMENTS (sizes)] = { 0 };
  Timing peer[G_N_ELEMENTS (sizes)] = { 0 };
  GtkWindow *window;
  SlChart *chart;
  guint n_sizes = 0;
  gboolean pass = TRUE;

  for (int i = 1; i + 1 < argc; i += 2)
    if (g_str_equal (argv[i], "--max"))
      max = (guint) atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--width"))
      width = MAX (240, atoi (argv[i + 1]));
    else if (g_str_equal (argv[i], "--height"))
      height = MAX (160, atoi (argv[i + 1]));
  if (!gtk_init_check ())
    {
      g_printerr ("No display: run under xvfb-run -a\n");
      return 2;
    }
  chart = SL_CHART (sl_chart_new ());
  sl_chart_set_title (chart, "Loss");
  sl_chart_set_x_label (chart, "Epoch");
  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_resizable (window, FALSE);
  gtk_widget_set_size_request (GTK_WIDGET (chart), width, height);
  gtk_window_set_child (window, GTK_WIDGET (chart));
  gtk_window_present (window);
  while (!gtk_widget_get_mapped (GTK_WIDGET (chart))
         || gtk_widget_get_width (GTK_WIDGET (chart)) == 0)
    g_main_context_iteration (NULL, TRUE);

  printf ("chart %d x %d, 3 series, renderer %s; ms per frame, median (fastest)\n",
          gtk_widget_get_width (GTK_WIDGET (chart)), gtk_widget_get_height (GTK_WIDGET (chart)),
          G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))));
  printf ("%10s | %-47s | %-15s | %-34s | %s\n", "points", "ours: append a point", "ours: rescale",
          "peer: every point", "peer / ours");
  printf ("%10s | %8s %8s %14s %14s | %15s | %8s %8s %16s | %6s %6s\n", "per series", "snapshot",
          "render", "frame", "hover", "frame", "snapshot", "render", "frame", "append", "rescl");
  for (guint i = 0; i < G_N_ELEMENTS (sizes) && sizes[i] <= max; i++, n_sizes++)
    {
      Timing *o = &ours[i], *r = &rescale[i], *p = &peer[i];

      bench_size (chart, sizes[i], o, r, p);
      printf ("%10u | %8.2f %8.2f %6.2f (%5.2f) %6.2f (%5.2f) | %6.2f (%6.2f) | %8.1f %8.2f %7.1f "
              "(%6.1f) "
              "| %5.0fx %5.1fx\n",
              sizes[i], o->snapshot_ms, o->render_ms, o->frame_ms, o->frame_best_ms, o->hover_ms,
              o->hover_best_ms, r->frame_ms, r->frame_best_ms, p->snapshot_ms, p->render_ms,
              p->frame_ms, p->frame_best_ms, p->frame_ms / o->frame_ms, p->frame_ms / r->frame_ms);
      fflush (stdout);
    }
  printf ("{\"bench\": \"ui-chart\", \"width\": %d, \"height\": %d, \"series\": 3, \"sizes\": [",
          width, height);
  for (guint i = 0; i < n_sizes; i++)
    printf ("%s{\"points\": %u, \"ours_frame_ms\": %.3f, \"ours_hover_ms\": %.3f, "
            "\"ours_rescale_ms\": %.3f, \"peer_frame_ms\": %.3f, \"peer_frames\": %u}",
            i > 0 ? ", " : "", sizes[i], ours[i].frame_ms, ours[i].hover_ms, rescale[i].frame_ms,
            peer[i].frame_ms, peer[i].frames);
  /* The live case: a frame that appends to every series fits in a 60 Hz frame at every size. */
  for (guint i = 0; i < n_sizes; i++)
    pass = pass && ours[i].frame_ms < 16.7;
  printf ("], \"target_append_frame_ms\": 16.7, \"pass\": %s}\n", pass ? "true" : "false");
  gtk_window_destroy (window);
  return pass ? 0 : 1;
}
