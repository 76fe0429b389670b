/* sl-cpu-depthwise-private.h: the row kernels of sl-cpu-depthwise-rows.c, which
 * sl-cpu-depthwise.c runs for the common shapes. */
#pragma once

#include "sl-backend-private.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether the row kernels take this depthwise convolution: a square 3x3 or
 * 5x5 kernel, the same stride 1 or 2 along both axes, no dilation, and
 * padding on each side between 0 and the kernel size - 1. */
bool _sl_cpu_depthwise_rows_take (const sl_conv_desc *d);

/* Floats of per-thread scratch the row kernels need. */
size_t _sl_cpu_depthwise_rows_thread_floats (const sl_conv_desc *d);

/* y = b + x correlated with w (NCHW, one kernel per channel) on the planes
 * (image * in_c + channel) p0 <= p < p1; b may be NULL. ws is one thread's
 * scratch. */
void _sl_cpu_depthwise_rows_forward (const sl_conv_desc *d, long p0, long p1, const float *x,
                                     const float *w, const float *b, float *y, float *ws);

/* The gradients of channels c0 <= c < c1 over n images in one pass over dy.
 * dx (overwritten, or added to when accumulate), dw and db may each be NULL;
 * dw and db are overwritten. */
void _sl_cpu_depthwise_rows_backward (const sl_conv_desc *d, int n, long c0, long c1,
                                      const float *x, const float *w, const float *dy, float *dx,
                                      bool accumulate, float *dw, float *db, float *ws);
