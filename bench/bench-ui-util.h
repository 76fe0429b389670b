/* bench-ui-util.h: what the workbench benchmarks share: order statistics and temporary folders. */
#pragma once

#include <glib.h>

#include "sl-files.h"
/* The q-quantile (0 .. 1) of a GArray of doubles, which it sorts; 0 when empty. */
double bench_percentile (GArray *values, double q);
double bench_mean (GArray *values);
