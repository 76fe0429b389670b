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

/* Zeroes a thread's scratch (ws) once per call, before its first plane. */
void _sl_cpu_depthwise_rows_prepare (const sl_conv_desc *d, float *ws);

/* y (one out_h x out_w plane) = bias + x (one in_h x in_w plane)
 * correlated with the kernel k. */
void _sl_cpu_depthwise_rows_forward (const sl_conv_desc *d, const float *x, const float *k,
                                     float bias, float *y, float *ws);

/* The gradients of one channel over n images (NCHW) in one pass over dy:
 * x, dy and dx point at image 0's plane of the channel. dx (overwritten, or
 * added to when accumulate), dw (the channel's taps) and db (one float) may
 * each be NULL; dw and db are overwritten. */
void _sl_cpu_depthwise_rows_backward (const sl_conv_desc *d, int n, const float *x, const float *k,
                                      const float *dy, float *dx, bool accumulate, float *dw,
                                      float *db, float *ws);
