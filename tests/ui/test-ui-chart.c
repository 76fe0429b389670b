/* test-ui-chart.c: the chart widget under Xvfb: series reduction and search against brute force, nice
 * ticks as data grows, percent and log axes, the hover read-out, throttled redraws, screenshots. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "sl-chart.h"
#include "ui-test-util.h"

static const GdkRGBA blue = { 0.21f, 0.52f, 0.89f, 1 };   /* GNOME blue 3 */
static const GdkRGBA orange = { 0.90f, 0.38f, 0.0f, 1 };  /* orange 5 */
static const GdkRGBA purple = { 0.57f, 0.25f, 0.67f, 1 }; /* purple 3 */
static const GdkRGBA green = { 0.18f, 0.76f, 0.49f, 1 };  /* green 4 */

/* ---- Helpers ------------------------------------------------------------------------ */

/* x non-decreasing with repeats and jumps (empty columns), about nan_rate of y NaN. */
static SlChartSeries *
random_series (GRand *rand, guint n, double nan_rate)
{
  SlChartSeries *s = sl_chart_series_new ("random", &blue);
  double x = g_rand_double_range (rand, -5, 5);

  for (guint i = 0; i < n; i++)
    {
      double r = g_rand_double (rand);

      x += r < 0.2 ? 0 : r < 0.95 ? g_rand_double (rand) : g_rand_double_range (rand, 5, 50);
      sl_chart_series_append (
          s, x, g_rand_double (rand) < nan_rate ? NAN : g_rand_double_range (rand, -3, 7));
    }
  return s;
}

/* The reduction done the obvious way: every point, its column, the point before it. */
static void
brute_reduce (SlChartSeries *s, double x0, double x1, guint columns, SlChartColumn *out)
{
  guint n = sl_chart_series_get_n_points (s);

  memset (out, 0, columns * sizeof *out);
  for (guint i = 0; i < n; i++)
    {
      double x, y, prev = 0;
      guint col;

      sl_chart_series_get_point (s, i, &x, &y);
      if (x < x0 || x > x1 || isnan (y))
        continue;
      col = MIN ((guint) floor ((x - x0) / (x1 - x0) * columns), columns - 1);
      if (!out[col].has)
        {
          if (i > 0)
            sl_chart_series_get_point (s, i - 1, NULL, &prev);
          out[col] = (SlChartColumn){ y, y, y, y, 0, 0, TRUE, i > 0 && isnan (prev) };
        }
      out[col].min = MIN (out[col].min, y);
      out[col].max = MAX (out[col].max, y);
      out[col].last = y;
      out[col].sum += y;
      out[col].n++;
    }
}

static SlChart *
chart_in_window (int width, int height, GtkWindow **window)
{
  SlChart *chart = SL_CHART (sl_chart_new ());

  *window = ui_test_window_new (GTK_WIDGET (chart), width, height);
  return chart;
}

/* Ticks evenly spaced by 1, 2 or 5 x 10^k, covering [lo, hi]. */
static void
assert_nice_ticks (const double *ticks, guint n, double lo, double hi)
{
  double step, mantissa;

  g_assert_cmpuint (n, >=, 2);
  step = ticks[1] - ticks[0];
  mantissa = step / pow (10, floor (log10 (step) + 1e-9));
  g_assert_true (fabs (mantissa - 1) < 1e-6 || fabs (mantissa - 2) < 1e-6
                 || fabs (mantissa - 5) < 1e-6);
  for (guint i = 1; i < n; i++)
    g_assert_cmpfloat_with_epsilon (ticks[i] - ticks[i - 1], step, step * 1e-6);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (ticks[i] / step, round (ticks[i] / step), 1e-6);
  g_assert_cmpfloat (ticks[0], <=, lo + step * 1e-6);
  g_assert_cmpfloat (ticks[n - 1], >=, hi - step * 1e-6);
}

static GtkEventController *
find_motion_controller (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_MOTION (c))
        return c; /* the widget keeps it */
    }
  return NULL;
}

/* The widget x of data x (the plot spans the x range). */
static double
widget_x_for (SlChart *chart, double x, double plot_left, double plot_right)
{
  double x0, x1;

  sl_chart_get_x_range (chart, &x0, &x1);
  return plot_left + (x - x0) / (x1 - x0) * (plot_right - plot_left);
}

static void
count (guint *counter)
{
  (*counter)++;
}

/* ---- Series ------------------------------------------------------------------------- */

static void
assert_columns_equal (const SlChartColumn *ours, const SlChartColumn *ref, guint columns)
{
  for (guint c = 0; c < columns; c++)
    {
      g_assert_cmpint (ours[c].has, ==, ref[c].has);
      if (!ref[c].has)
        continue;
      g_assert_cmpfloat (ours[c].min, ==, ref[c].min);
      g_assert_cmpfloat (ours[c].max, ==, ref[c].max);
      g_assert_cmpfloat (ours[c].first, ==, ref[c].first);
      g_assert_cmpfloat (ours[c].last, ==, ref[c].last);
      g_assert_cmpfloat (ours[c].sum, ==, ref[c].sum);
      g_assert_cmpuint (ours[c].n, ==, ref[c].n);
      g_assert_cmpint (ours[c].gap, ==, ref[c].gap);
    }
}

static void
test_reduce (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);

  for (int round = 0; round < 40; round++)
    {
      g_autoptr (SlChartSeries) s
          = random_series (rand, g_rand_int_range (rand, 0, 3000), round % 3 == 0 ? 0.0 : 0.3);
      double x0 = 0, x1 = 0;
      guint columns = g_rand_int_range (rand, 1, 700);
      g_autofree SlChartColumn *ours = g_new (SlChartColumn, columns);
      g_autofree SlChartColumn *ref = g_new (SlChartColumn, columns);
      guint empty = 0;

      if (!sl_chart_series_get_bounds (s, &x0, &x1, NULL, NULL))
        x0 = 0, x1 = 1;
      /* The whole series, then a window inside it. */
      if (round % 2 == 1)
        {
          double a = g_rand_double_range (rand, x0, x1), b = g_rand_double_range (rand, x0, x1);

          x0 = MIN (a, b), x1 = MAX (a, b) + 1e-3;
        }
      sl_chart_series_reduce (s, x0, x1, columns, ours);
      brute_reduce (s, x0, x1, columns, ref);
      assert_columns_equal (ours, ref, columns);
      for (guint c = 0; c < columns; c++)
        empty += !ref[c].has;
      if (round == 4)
        g_assert_cmpuint (empty, >, 0); /* the data has columns without points */
    }
}

/* The cached reduction adds appended points to what it had; a new range or a clear starts over. */
static void
test_reduce_cached (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  g_autoptr (SlChartSeries) s = sl_chart_series_new ("live", &blue);
  const guint columns = 300;
  SlChartColumn ref[300];
  double x = 0;

  for (int round = 0; round < 60; round++)
    {
      double x0 = round < 40 ? 0 : 10, x1 = round < 40 ? 500 : 400;
      guint batch = g_rand_int_range (rand, 0, 200);

      if (round == 50)
        sl_chart_series_clear (s), x = 0;
      for (guint i = 0; i < batch; i++)
        {
          x += g_rand_double (rand) < 0.1 ? 0 : g_rand_double (rand) * 0.2;
          sl_chart_series_append (s, x, g_rand_double (rand) < 0.3 ? NAN : g_rand_double (rand));
        }
      brute_reduce (s, x0, x1, columns, ref);
      assert_columns_equal (sl_chart_series_reduce_cached (s, x0, x1, columns), ref, columns);
    }
  g_assert_cmpfloat (x, >, 5); /* the data did reach into the range */
}

static void
test_bounds (void)
{
  g_autoptr (SlChartSeries) s = sl_chart_series_new ("loss", &blue);
  double x0, x1, y0, y1, p;
  guint changed = 0;

  g_signal_connect_swapped (s, "changed", G_CALLBACK (count), &changed);
  g_assert_false (sl_chart_series_get_bounds (s, &x0, &x1, &y0, &y1));
  sl_chart_series_append (s, 1, NAN);
  g_assert_false (sl_chart_series_get_bounds (s, &x0, &x1, &y0, &y1));
  sl_chart_series_append_many (s, (double[]){ 2, 3, 3, 5 }, (double[]){ 0.5, -2, NAN, 4 }, 4);
  g_assert_cmpuint (changed, ==, 2);
  g_assert_true (sl_chart_series_get_bounds (s, &x0, &x1, &y0, &y1));
  g_assert_cmpfloat (x0, ==, 1);
  g_assert_cmpfloat (x1, ==, 5);
  g_assert_cmpfloat (y0, ==, -2);
  g_assert_cmpfloat (y1, ==, 4);
  g_assert_true (sl_chart_series_get_min_positive (s, &p));
  g_assert_cmpfloat (p, ==, 0.5);
  g_assert_cmpuint (sl_chart_series_get_n_points (s), ==, 5);

  /* Out of order: refused, nothing added. */
  g_test_expect_message ("Sightline-UI", G_LOG_LEVEL_CRITICAL, "*last_x*");
  sl_chart_series_append (s, 4, 1);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (sl_chart_series_get_n_points (s), ==, 5);

  sl_chart_series_clear (s);
  g_assert_cmpuint (changed, ==, 3);
  g_assert_cmpuint (sl_chart_series_get_n_points (s), ==, 0);
  g_assert_false (sl_chart_series_get_bounds (s, &x0, &x1, &y0, &y1));
  g_assert_false (sl_chart_series_get_min_positive (s, &p));
}

static void
test_nearest (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  g_autoptr (SlChartSeries) empty = sl_chart_series_new ("empty", &blue);

  g_assert_cmpint (sl_chart_series_find_nearest (empty, 1), ==, -1);
  for (int round = 0; round < 20; round++)
    {
      g_autoptr (SlChartSeries) s = random_series (rand, 1 + g_rand_int_range (rand, 0, 500), 0.4);
      guint n = sl_chart_series_get_n_points (s);
      double x0, x1;

      if (!sl_chart_series_get_bounds (s, &x0, &x1, NULL, NULL))
        continue;
      for (int q = 0; q < 200; q++)
        {
          double x = g_rand_double_range (rand, x0 - 10, x1 + 10), best = INFINITY;
          int want = -1;

          for (guint i = 0; i < n; i++)
            {
              double px, py;

              sl_chart_series_get_point (s, i, &px, &py);
              if (!isnan (py) && fabs (px - x) < best)
                best = fabs (px - x), want = (int) i;
            }
          g_assert_cmpint (sl_chart_series_find_nearest (s, x), ==, want);
        }
    }
}

/* ---- Axes --------------------------------------------------------------------------- */

static void
test_ticks_rescale (void)
{
  g_autoptr (SlChartSeries) s = sl_chart_series_new ("Train loss", &blue);
  GtkWindow *window;
  SlChart *chart = chart_in_window (420, 260, &window);
  double ticks[32], x0, x1, y0, y1, top;
  guint n;

  sl_chart_set_x_min_range (chart, 10);
  sl_chart_add_series (chart, s);
  sl_chart_series_append (s, 0, 0.37);
  sl_chart_series_append (s, 0.5, 0.41);
  n = sl_chart_get_y_ticks (chart, ticks, G_N_ELEMENTS (ticks));
  assert_nice_ticks (ticks, n, 0.37, 0.41);
  g_assert_cmpfloat (ticks[n - 1] - ticks[0], <, 0.2); /* fits the data, not 0 .. 1 */
  sl_chart_get_x_range (chart, &x0, &x1);
  g_assert_cmpfloat (x0, ==, 0);
  g_assert_cmpfloat (x1, ==, 10);
  top = ticks[n - 1];

  /* A loss curve growing over 12 epochs: the axis follows, always with nice ticks. */
  for (int step = 1; step <= 120; step++)
    {
      double x = 0.5 + step * 0.1, y = 0.4 + step * 0.02;

      sl_chart_series_append (s, x, y);
      n = sl_chart_get_y_ticks (chart, ticks, G_N_ELEMENTS (ticks));
      assert_nice_ticks (ticks, n, 0.37, y);
      g_assert_cmpuint (n, <=, 8);
      sl_chart_get_y_range (chart, &y0, &y1);
      g_assert_cmpfloat (y0, ==, ticks[0]);
      g_assert_cmpfloat (y1, ==, ticks[n - 1]);
      sl_chart_get_x_range (chart, &x0, &x1);
      g_assert_cmpfloat (x1, ==, MAX (10, x));
    }
  g_assert_cmpfloat (ticks[n - 1], >, top);
  g_assert_cmpfloat (ticks[n - 1], >=, 2.8);
  g_assert_cmpfloat (ticks[n - 1], <, 4);

  /* A fixed range wins over the data; back to auto refits. */
  sl_chart_set_y_range (chart, 0, 5);
  n = sl_chart_get_y_ticks (chart, ticks, G_N_ELEMENTS (ticks));
  g_assert_cmpfloat (ticks[0], ==, 0);
  g_assert_cmpfloat (ticks[n - 1], ==, 5);
  sl_chart_set_y_auto (chart);
  sl_chart_get_y_range (chart, &y0, &y1);
  g_assert_cmpfloat (y1, <, 4);

  /* The x ticks are nice too, inside the range (not widened), few enough not to collide. */
  n = sl_chart_get_x_ticks (chart, ticks, G_N_ELEMENTS (ticks));
  sl_chart_get_x_range (chart, &x0, &x1);
  g_assert_cmpfloat (x1, ==, 12.5);
  assert_nice_ticks (ticks, n, ticks[0], ticks[n - 1]);
  g_assert_cmpfloat (ticks[0], ==, 0);
  g_assert_cmpfloat (ticks[n - 1], <=, x1);
  g_assert_cmpfloat (ticks[n - 1] + (ticks[1] - ticks[0]), >, x1);
  g_assert_cmpuint (n, >=, 3);
  g_assert_cmpuint (n, <=, 8);
  gtk_window_destroy (window);
}

static void
test_percent_axis (void)
{
  g_autoptr (SlChartSeries) s = sl_chart_series_new ("Validation accuracy", &orange);
  static const char *const want[] = { "0%", "20%", "40%", "60%", "80%", "100%" };
  GtkWindow *window;
  SlChart *chart = chart_in_window (420, 260, &window);
  double ticks[16];
  guint n;

  sl_chart_set_y_range (chart, 0, 1);
  sl_chart_set_y_percent (chart, TRUE);
  sl_chart_add_series (chart, s);
  sl_chart_series_append_many (s, (double[]){ 1, 2, 3 }, (double[]){ 0.5, 0.81, 0.932 }, 3);
  n = sl_chart_get_y_ticks (chart, ticks, G_N_ELEMENTS (ticks));
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = sl_chart_get_y_tick_label (chart, i);

      g_assert_cmpstr (label, ==, want[i]);
    }
  g_assert_null (sl_chart_get_y_tick_label (chart, n));

  /* A log axis (learning rate): powers of ten around the data. */
  sl_chart_set_y_percent (chart, FALSE);
  sl_chart_set_y_auto (chart);
  sl_chart_set_y_log (chart, TRUE);
  sl_chart_series_clear (s);
  sl_chart_series_append_many (s, (double[]){ 0, 1, 2 }, (double[]){ 1e-3, 2e-4, 3e-6 }, 3);
  n = sl_chart_get_y_ticks (chart, ticks, G_N_ELEMENTS (ticks));
  g_assert_cmpuint (n, ==, 4);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (ticks[i], pow (10, -6.0 + i), 1e-12);
  gtk_window_destroy (window);
}

/* ---- Hover and redraws -------------------------------------------------------------- */

static void
test_hover (void)
{
  g_autoptr (SlChartSeries) train = sl_chart_series_new ("Train loss", &blue);
  g_autoptr (SlChartSeries) val = sl_chart_series_new ("Validation loss", &orange);
  GtkWindow *window;
  SlChart *chart = chart_in_window (420, 260, &window);
  GtkEventController *motion = find_motion_controller (GTK_WIDGET (chart));
  double left = -1, right = -1, x;

  g_assert_nonnull (motion);
  sl_chart_set_x_label (chart, "Epoch");
  sl_chart_add_series (chart, train);
  sl_chart_add_series (chart, val);
  /* Training every tenth of an epoch, validation at the end of each (NaN in between). */
  for (int i = 0; i <= 100; i++)
    {
      sl_chart_series_append (train, i / 10.0, 2.0 - i * 0.015);
      sl_chart_series_append (val, i / 10.0, i % 10 == 0 && i <= 50 ? 2.2 - i * 0.01 : NAN);
    }
  sl_chart_series_set_connect_gaps (val, TRUE);
  ui_test_spin (50);
  g_assert_null (sl_chart_get_hover_text (chart));

  /* Find the plot's edges: the read-out appears only inside it. */
  for (int px = 0; px < 420 && (left < 0 || right < 0); px++)
    {
      sl_chart_hover_at (chart, px, 130);
      if (left < 0 && sl_chart_get_hover_text (chart) != NULL)
        left = px;
      sl_chart_hover_at (chart, 419 - px, 130);
      if (right < 0 && sl_chart_get_hover_text (chart) != NULL)
        right = 419 - px;
    }
  g_assert_cmpfloat (left, >, 20);
  g_assert_cmpfloat (right, <, 415);

  /* Through the controller, near epoch 3 (a bit off, so the guide snaps). */
  x = widget_x_for (chart, 3.02, left, right);
  g_signal_emit_by_name (motion, "motion", x, 130.0);
  g_assert_cmpstr (sl_chart_get_hover_text (chart), ==,
                   "Epoch 3\nTrain loss: 1.550\nValidation loss: 1.900");
  /* Between two validations the nearer one (the earlier on a tie) says where it is ... */
  x = widget_x_for (chart, 4.5, left, right);
  g_signal_emit_by_name (motion, "motion", x, 130.0);
  g_assert_cmpstr (sl_chart_get_hover_text (chart), ==,
                   "Epoch 4.50\nTrain loss: 1.325\nValidation loss: 1.800 (Epoch 4)");
  /* ... and after the last one, too far away, it is not listed. */
  x = widget_x_for (chart, 7.0, left, right);
  g_signal_emit_by_name (motion, "motion", x, 130.0);
  g_assert_cmpstr (sl_chart_get_hover_text (chart), ==,
                   "Epoch 7\nTrain loss: 0.950\nValidation loss: –");
  /* A hidden series is not listed; new data updates the read-out. */
  sl_chart_series_set_visible (val, FALSE);
  g_assert_cmpstr (sl_chart_get_hover_text (chart), ==, "Epoch 7\nTrain loss: 0.950");
  ui_test_save_screenshot (GTK_WIDGET (window), "chart-hover");
  g_signal_emit_by_name (motion, "leave");
  g_assert_null (sl_chart_get_hover_text (chart));
  gtk_window_destroy (window);
}

typedef struct
{
  SlChart *chart;
  guint draws;
} DrawWait;

/* Whether the chart drew since it had drawn draws times. */
static gboolean
drawn_since (gpointer data)
{
  DrawWait *w = data;

  return sl_chart_get_n_draws (w->chart) > w->draws;
}

static void
test_redraw_throttled (void)
{
  g_autoptr (SlChartSeries) s = sl_chart_series_new ("Train loss", &blue);
  GtkWindow *window;
  SlChart *chart = chart_in_window (420, 260, &window);
  guint before;

  sl_chart_add_series (chart, s);
  ui_test_wait_until (drawn_since, &(DrawWait){ chart, 0 }, 20000);
  before = sl_chart_get_n_draws (chart);
  g_assert_cmpuint (before, >, 0);
  /* A thousand "changed" signals draw nothing at once ... */
  for (int i = 0; i < 1000; i++)
    sl_chart_series_append (s, i, sin (i / 50.0));
  g_assert_cmpuint (sl_chart_get_n_draws (chart), ==, before);
  /* ... and a frame or two afterwards (however late the frame clock gets to it). */
  ui_test_wait_until (drawn_since, &(DrawWait){ chart, before }, 20000);
  ui_test_spin (200);
  g_assert_cmpuint (sl_chart_get_n_draws (chart), >, before);
  g_assert_cmpuint (sl_chart_get_n_draws (chart), <=, before + 3);

  /* Moving the pointer redraws the read-out, not the plot. */
  before = sl_chart_get_n_draws (chart);
  for (int x = 100; x < 300; x += 10)
    {
      sl_chart_hover_at (chart, x, 120);
      ui_test_spin (20);
    }
  g_assert_nonnull (sl_chart_get_hover_text (chart));
  g_assert_cmpuint (sl_chart_get_n_draws (chart), ==, before);

  /* Removing the series empties the chart and disconnects it. */
  sl_chart_remove_series (chart, s);
  g_assert_cmpuint (sl_chart_get_n_series (chart), ==, 0);
  g_assert_null (sl_chart_get_hover_text (chart));
  ui_test_spin (50);
  before = sl_chart_get_n_draws (chart);
  sl_chart_series_append (s, 2000, 1);
  ui_test_spin (50);
  g_assert_cmpuint (sl_chart_get_n_draws (chart), ==, before);
  gtk_window_destroy (window);
}

/* ---- Screenshots -------------------------------------------------------------------- */

/* A noisy falling loss over 20 epochs of 1,000 steps. */
static double
loss_at (GRand *rand, double epoch, double floor_, double noise)
{
  double base = 2.1 * exp (-epoch / 2.5) + floor_;

  return base + noise * base * (g_rand_double (rand) + g_rand_double (rand) - 1);
}

/* A chart over 20 planned epochs, holding the given series (NULL-terminated). */
static SlChart *
epoch_chart (const char *title, SlChartSeries *first, ...)
{
  SlChart *chart = SL_CHART (sl_chart_new ());
  va_list args;

  sl_chart_set_title (chart, title);
  sl_chart_set_x_label (chart, "Epoch");
  sl_chart_set_x_min_range (chart, 20);
  va_start (args, first);
  for (SlChartSeries *s = first; s != NULL; s = va_arg (args, SlChartSeries *))
    sl_chart_add_series (chart, s);
  va_end (args);
  return chart;
}

static GtkWidget *
loss_chart (GRand *rand)
{
  g_autoptr (SlChartSeries) train = sl_chart_series_new ("Train loss", &blue);
  g_autoptr (SlChartSeries) val = sl_chart_series_new ("Validation loss", &orange);
  g_autoptr (SlChartSeries) other = sl_chart_series_new ("Run 2 train loss", &purple);
  SlChart *chart = epoch_chart ("Loss", train, val, other, NULL);
  const guint n = 20000;
  g_autofree double *xs = g_new (double, n);
  g_autofree double *ys = g_new (double, n);

  sl_chart_set_y_label (chart, "Loss");
  for (guint i = 0; i < n; i++)
    xs[i] = (i + 1) / 1000.0;
  for (guint i = 0; i < n; i++) /* a pause in logging: a gap */
    ys[i] = i >= 11000 && i < 11600 ? NAN : loss_at (rand, xs[i], 0.22, 0.35);
  sl_chart_series_append_many (train, xs, ys, n);
  for (guint i = 0; i < n; i++) /* validated every 250 steps */
    ys[i] = (i + 1) % 250 == 0 ? loss_at (rand, xs[i], 0.33, 0.04) : NAN;
  sl_chart_series_append_many (val, xs, ys, n);
  sl_chart_series_set_connect_gaps (val, TRUE);
  for (guint i = 0; i < n; i++)
    ys[i] = loss_at (rand, xs[i] * 0.8, 0.3, 0.15);
  sl_chart_series_append_many (other, xs, ys, n);
  sl_chart_series_set_dashed (other, TRUE);
  return GTK_WIDGET (chart);
}

static GtkWidget *
accuracy_chart (GRand *rand)
{
  g_autoptr (SlChartSeries) train = sl_chart_series_new ("Train", &blue);
  g_autoptr (SlChartSeries) val = sl_chart_series_new ("Validation", &orange);
  g_autoptr (SlChartSeries) other = sl_chart_series_new ("Run 2 validation", &orange);
  SlChart *chart = epoch_chart ("Accuracy", train, val, other, NULL);

  sl_chart_set_y_range (chart, 0, 1);
  sl_chart_set_y_percent (chart, TRUE);
  for (int e = 1; e <= 14; e++)
    {
      double a = 1 - 0.9 * exp (-e / 2.5);

      sl_chart_series_append (train, e, MIN (1, a + 0.01 * g_rand_double (rand)));
      sl_chart_series_append (val, e, a - 0.04 - 0.02 * g_rand_double (rand));
    }
  for (int e = 1; e <= 20; e++)
    sl_chart_series_append (other, e, 1 - 0.95 * exp (-e / 3.5) - 0.06);
  sl_chart_series_set_dashed (other, TRUE);
  return GTK_WIDGET (chart);
}

static GtkWidget *
lr_chart (void)
{
  g_autoptr (SlChartSeries) lr = sl_chart_series_new ("Learning rate", &green);
  SlChart *chart = epoch_chart ("Learning rate", lr, NULL);

  sl_chart_set_y_log (chart, TRUE);
  sl_chart_set_y_format (chart, "%.2e");
  for (int i = 0; i <= 20000; i += 20)
    {
      double e = i / 1000.0;

      sl_chart_series_append (lr, e, 1e-3 * (e < 1 ? MAX (e, 0.01) : 1) * pow (0.1, floor (e / 7)));
    }
  return GTK_WIDGET (chart);
}

static void
test_screenshot (gconstpointer data)
{
  gboolean dark = GPOINTER_TO_INT (data);
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  GtkSettings *settings = gtk_settings_get_default ();
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *loss = loss_chart (rand), *empty = GTK_WIDGET (epoch_chart ("Loss", NULL));
  GtkWindow *window;
  g_autofree char *path = NULL;
  double x0, x1;

  g_object_set (settings, "gtk-application-prefer-dark-theme", dark, NULL);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  g_object_set (grid, "margin-start", 12, "margin-end", 12, "margin-top", 12, "margin-bottom", 12,
                "row-homogeneous", TRUE, "column-homogeneous", TRUE, NULL);
  gtk_grid_attach (GTK_GRID (grid), loss, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), accuracy_chart (rand), 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), lr_chart (), 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), empty, 1, 1, 1, 1);
  window = ui_test_window_new (grid, 2 * 420 + 36, 2 * 260 + 36);
  g_assert_cmpint (gtk_widget_get_width (loss), ==, 420);
  g_assert_cmpint (gtk_widget_get_height (loss), ==, 260);
  sl_chart_get_x_range (SL_CHART (loss), &x0, &x1);
  g_assert_cmpfloat (x1, ==, 20);

  /* The read-out over the loss chart, as the pointer leaves it. */
  sl_chart_hover_at (SL_CHART (loss), 250, 150);
  g_assert_nonnull (sl_chart_get_hover_text (SL_CHART (loss)));
  path = ui_test_save_screenshot (GTK_WIDGET (window), dark ? "chart-dark" : "chart");
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  gtk_window_destroy (window);
  g_object_set (settings, "gtk-application-prefer-dark-theme", FALSE, NULL);
}

/* The smallest size: the legend wraps under the title, the axes keep at least two ticks. */
static void
test_small (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  GtkWidget *chart = loss_chart (rand);
  GtkWindow *window = ui_test_window_new (chart, 240, 160);
  double ticks[16];

  g_assert_cmpint (gtk_widget_get_width (chart), ==, 240);
  g_assert_cmpint (gtk_widget_get_height (chart), ==, 160);
  g_assert_cmpuint (sl_chart_get_y_ticks (SL_CHART (chart), ticks, 16), >=, 2);
  g_assert_cmpuint (sl_chart_get_x_ticks (SL_CHART (chart), ticks, 16), >=, 2);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "chart-small"));
  gtk_window_destroy (window);
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add_func ("/ui/chart/reduce", test_reduce);
  g_test_add_func ("/ui/chart/reduce-cached", test_reduce_cached);
  g_test_add_func ("/ui/chart/bounds", test_bounds);
  g_test_add_func ("/ui/chart/nearest", test_nearest);
  g_test_add_func ("/ui/chart/ticks-rescale", test_ticks_rescale);
  g_test_add_func ("/ui/chart/percent-and-log", test_percent_axis);
  g_test_add_func ("/ui/chart/hover", test_hover);
  g_test_add_func ("/ui/chart/redraw-throttled", test_redraw_throttled);
  g_test_add_data_func ("/ui/chart/screenshot", GINT_TO_POINTER (FALSE), test_screenshot);
  g_test_add_data_func ("/ui/chart/screenshot-dark", GINT_TO_POINTER (TRUE), test_screenshot);
  g_test_add_func ("/ui/chart/small", test_small);
  return g_test_run ();
}
