/* bench-ui-util.c: order statistics and folder removal for the workbench benchmarks. */
#include "bench-ui-util.h"

#include <glib/gstdio.h>

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
