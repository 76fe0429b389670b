/* sl-threadpool.c: compute threads that wait on a generation counter for parallel-for jobs. */
#include "sl-threadpool-private.h"
#include "sl-error-private.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Waits spin this long before sleeping: a training step runs dozens of
 * parallel regions back to back, and an inference pass of one image as many
 * with a few microseconds of one-thread layers between them; waking a
 * sleeping thread through the scheduler costs more than most of them. Timed
 * by the clock, not by rounds: a pause instruction takes 10 ns on one Xeon
 * and 140 on another (1000 rounds, meant as 50 us, were 10 us on a Xeon of
 * family 6 model 207, and resnet-s's 128-px image on two threads lost 3 to
 * 5 us at every layer split over the pool, waking the other thread). */
#define SPIN_NS 50000
/* Pauses between two readings of the clock. */
#define SPIN_BATCH 32

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

struct sl_threadpool
{
  int threads;
  pthread_t *handles;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  atomic_ulong generation;
  atomic_int pending;
  atomic_bool quit;
  sl_parallel_fn fn;
  void *ctx;
};

typedef struct
{
  sl_threadpool *pool;
  int index;
} worker_arg;

static long long
now_ns (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return (long long) t.tv_sec * 1000000000ll + t.tv_nsec;
}

/* A new job has come (or the pool is ending): the worker's wait is over. */
static bool
job_came (const sl_threadpool *pool, unsigned long seen)
{
  return atomic_load (&pool->generation) != seen || atomic_load (&pool->quit);
}

/* Every other thread has finished the job: the caller's wait is over. */
static bool
job_done (const sl_threadpool *pool, unsigned long seen)
{
  (void) seen;
  return atomic_load (&pool->pending) == 0;
}

/* Spins up to SPIN_NS, the clock read every SPIN_BATCH pauses, until over
 * (pool, seen); false when the wait is not over then. */
static bool
spin_until (const sl_threadpool *pool, unsigned long seen,
            bool (*over) (const sl_threadpool *, unsigned long))
{
  const long long end = now_ns () + SPIN_NS;

  do
    for (int i = 0; i < SPIN_BATCH; i++)
      {
        if (over (pool, seen))
          return true;
        cpu_relax ();
      }
  while (now_ns () < end);
  return false;
}

static void *
worker_main (void *data)
{
  worker_arg *arg = data;
  sl_threadpool *pool = arg->pool;
  int index = arg->index;
  unsigned long seen = 0;

  free (arg);
  for (;;)
    {
      if (!spin_until (pool, seen, job_came))
        {
          pthread_mutex_lock (&pool->lock);
          while (!atomic_load (&pool->quit) && atomic_load (&pool->generation) == seen)
            pthread_cond_wait (&pool->wake, &pool->lock);
          pthread_mutex_unlock (&pool->lock);
        }
      if (atomic_load (&pool->quit))
        break;
      seen = atomic_load (&pool->generation);

      pool->fn (pool->ctx, index, pool->threads);

      if (atomic_fetch_sub (&pool->pending, 1) == 1)
        {
          pthread_mutex_lock (&pool->lock);
          pthread_cond_signal (&pool->done);
          pthread_mutex_unlock (&pool->lock);
        }
    }
  return NULL;
}

int
_sl_cpu_count (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);

  return n < 1 ? 1 : (n > 256 ? 256 : (int) n);
}

sl_status
_sl_threadpool_new (int threads, sl_threadpool **out, sl_error *err)
{
  sl_threadpool *pool;

  *out = NULL;
  if (threads < 1 || threads > 256)
    return sl_error_set (err, SL_ERR_INVALID, "thread count %d is out of range (1 to 256)",
                         threads);
  pool = calloc (1, sizeof *pool);
  if (pool == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating a thread pool");
  pool->threads = threads;
  pthread_mutex_init (&pool->lock, NULL);
  pthread_cond_init (&pool->wake, NULL);
  pthread_cond_init (&pool->done, NULL);
  pool->handles = calloc ((size_t) threads, sizeof (pthread_t));
  if (pool->handles == NULL)
    {
      _sl_threadpool_free (pool);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating a thread pool");
    }
  for (int i = 1; i < threads; i++)
    {
      worker_arg *arg = malloc (sizeof *arg);

      if (arg == NULL)
        {
          pool->threads = i;
          _sl_threadpool_free (pool);
          return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating a thread pool");
        }
      arg->pool = pool;
      arg->index = i;
      if (pthread_create (&pool->handles[i], NULL, worker_main, arg) != 0)
        {
          free (arg);
          pool->threads = i;
          _sl_threadpool_free (pool);
          return sl_error_set (err, SL_ERR_NOMEM, "the system refused to start thread %d", i);
        }
    }
  *out = pool;
  return SL_OK;
}

void
_sl_threadpool_free (sl_threadpool *pool)
{
  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->lock);
  atomic_store (&pool->quit, true);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);
  for (int i = 1; i < pool->threads; i++)
    pthread_join (pool->handles[i], NULL);
  pthread_mutex_destroy (&pool->lock);
  pthread_cond_destroy (&pool->wake);
  pthread_cond_destroy (&pool->done);
  free (pool->handles);
  free (pool);
}

int
_sl_threadpool_size (const sl_threadpool *pool)
{
  return pool->threads;
}

void
_sl_threadpool_run (sl_threadpool *pool, sl_parallel_fn fn, void *ctx)
{
  if (pool->threads == 1)
    {
      fn (ctx, 0, 1);
      return;
    }
  pool->fn = fn;
  pool->ctx = ctx;
  atomic_store (&pool->pending, pool->threads - 1);
  /* Under the lock, so a worker about to sleep cannot miss the new job. */
  pthread_mutex_lock (&pool->lock);
  atomic_fetch_add (&pool->generation, 1);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);

  fn (ctx, 0, pool->threads);

  if (!spin_until (pool, 0, job_done))
    {
      pthread_mutex_lock (&pool->lock);
      while (atomic_load (&pool->pending) > 0)
        pthread_cond_wait (&pool->done, &pool->lock);
      pthread_mutex_unlock (&pool->lock);
    }
}
