/* sl-threadpool-private.h: a fixed pool of compute threads with a static parallel-for. */
#pragma once

#include "sightline.h"

typedef struct sl_threadpool sl_threadpool;

/* fn is called once per thread index t in [0, threads) with the same ctx;
 * work is split statically, so results never depend on timing. */
typedef void (*sl_parallel_fn) (void *ctx, int t, int threads);

sl_status _sl_threadpool_new (int threads, sl_threadpool **out, sl_error *err);
void _sl_threadpool_free (sl_threadpool *pool);
int _sl_threadpool_size (const sl_threadpool *pool);
/* Runs fn on every thread (the caller is thread 0) and waits for all. */
void _sl_threadpool_run (sl_threadpool *pool, sl_parallel_fn fn, void *ctx);

/* The [begin, end) share of n items for thread t of threads. */
static inline void
_sl_split_range (long n, int t, int threads, long *begin, long *end)
{
  *begin = n * t / threads;
  *end = n * (t + 1) / threads;
}

int _sl_cpu_count (void);
