/* sl-anomaly-coreset.c: PatchCore step 5, greedy k-center selection of the memory bank.
 *
 * Exact greedy k-center: mindist[i] is patch i's squared distance to its
 * nearest chosen patch (summed in double, _sl_anomaly_dist2); each step
 * chooses the largest, lowest index on ties. Each step compares the new
 * patch with every patch, but few of those comparisons need the full
 * distance: every patch also has coordinates in a 16-dimensional subspace
 * (an orthonormal basis of the patches' principal directions), where
 * distances are lower bounds of the full ones, and a patch whose bound
 * already exceeds its mindist cannot come nearer. On 200 Lite0 images
 * (156800 patches of 152 floats) 94 % of the full distances are skipped.
 *
 * Skipping keeps a margin (relative 1e-6, plus 1e-4 of the two patches'
 * norms for the rounding of the float coordinates, several times the worst
 * case) so a skipped distance is one that could not have lowered mindist:
 * the bank is exactly the one plain greedy selection gives (the tests
 * compare them). The subspace decides only what is skipped, never a value.
 * (Grouping patches into blocks skipped whole was measured and dropped:
 * with these features a block is rarely far enough from the new patch.)
 *
 * Threads: the whole selection is one parallel region. The patches are cut
 * into fixed chunks; each step, thread 0 publishes the newest patch and every
 * thread claims chunks until none is left (a claim names the step, so a late
 * thread never works on a step that is over). A chunk's farthest patch is
 * kept per chunk and thread 0 reads them in index order: the choice (lowest
 * index on ties) never depends on which thread did what, or how many there
 * are. A thread the scheduler has put aside costs at most the chunk it holds:
 * thread 0 does the rest. Handing each step to the pool instead (a wake-up
 * and a join per step, 1568 steps for 200 images) or meeting at a barrier
 * made the wall time 3-5x the CPU time on a loaded machine. */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PROJ 16
/* The first coordinates, tested on their own first (stored apart, so the
 * test reads a quarter of the bytes): most patches fail already there. */
#define STAGE1      4
#define REL_MARGIN  (1.0 + 1e-6)
#define NORM_MARGIN 1e-4
#define POWER_STEPS 30
/* Rows per GEMM share of the projection. */
#define PROJECT_ROWS 4096
/* An idle helper spins this many rounds (tens of microseconds) before it
 * sleeps: a step takes about a millisecond, so the next one is usually near. */
#define SPIN_ROUNDS 2000
/* A step is cut into about CHUNKS chunks of at least MIN_CHUNK patches:
 * small enough that a thread put aside holds up little, large enough that
 * claiming costs nothing. */
#define CHUNKS    64
#define MIN_CHUNK 256

double
_sl_anomaly_dist2 (const float *a, const float *b, int32_t dims)
{
  double s[8] = { 0 };
  int32_t j = 0;

  for (; j + 8 <= dims; j += 8)
    for (int l = 0; l < 8; l++)
      {
        double d = (double) a[j + l] - (double) b[j + l];

        s[l] += d * d;
      }
  for (int l = 0; j < dims; j++, l++)
    {
      double d = (double) a[j] - (double) b[j];

      s[l] += d * d;
    }
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

typedef struct
{
  const float *patches;
  int64_t n;
  int32_t dims, m; /* m: subspace dimensions */
  float *basis;    /* dims x m, orthonormal columns */
  int32_t m1;      /* coordinates in the first test: min (STAGE1, m) */
  float *near;     /* n x m1: the first coordinates */
  float *far;      /* n x (m - m1): the others */
  float *norms;    /* |x|, rounded up */
  double *mindist; /* squared */
  double *radius;  /* sqrt (mindist) */
  int64_t k;
  int64_t *chosen;
  bool cancelled; /* by progress (thread 0) */
  sl_fit_progress_fn progress;
  void *user_data;
  /* Chunks: fixed ranges of `chunk` patches, and each one's farthest patch
   * after the current step (-1: none). */
  int64_t chunk, n_chunks; /* patches per chunk, chunks */
  int64_t *chunk_at;
  double *chunk_best;
  /* The step: thread 0 writes newest and first, then claim. claim holds
   * (step << 32) | next chunk; done counts the step's finished chunks. */
  int64_t newest;
  bool first;
  atomic_llong claim;
  atomic_llong done;
  atomic_bool quit;
  pthread_mutex_t lock;
  pthread_cond_t wake;
} coreset_job;

/* ---- The subspace ---------------------------------------------------------- */

/* Modified Gram-Schmidt (twice) on the m columns of q (dims x m). */
static void
orthonormalise (double *q, int dims, int m)
{
  for (int rep = 0; rep < 2; rep++)
    for (int c = 0; c < m; c++)
      {
        double s = 0.0;

        for (int p = 0; p < c; p++)
          {
            double dot = 0.0;

            for (int a = 0; a < dims; a++)
              dot += q[a * m + c] * q[a * m + p];
            for (int a = 0; a < dims; a++)
              q[a * m + c] -= dot * q[a * m + p];
          }
        for (int a = 0; a < dims; a++)
          s += q[a * m + c] * q[a * m + c];
        s = s > 0.0 ? 1.0 / sqrt (s) : 0.0;
        for (int a = 0; a < dims; a++)
          q[a * m + c] *= s;
      }
}

/* An orthonormal basis (dims x m, in basis) of the patches' principal
 * directions, by subspace iteration on their covariance. Any orthonormal
 * basis keeps the bounds true; a good one makes them tight. */
static bool
principal_basis (const float *x, int64_t n, int dims, int m, float *basis)
{
  float *gram = malloc (sizeof (float) * dims * dims);
  double *cov = malloc (sizeof (double) * dims * dims), *mean = calloc (dims, sizeof (double));
  double *q = malloc (sizeof (double) * dims * m), *z = malloc (sizeof (double) * dims * m);
  bool ok = gram != NULL && cov != NULL && mean != NULL && q != NULL && z != NULL;

  if (ok)
    {
      cblas_ssyrk (CblasRowMajor, CblasUpper, CblasTrans, dims, (int) n, 1.0f / (float) n, x, dims,
                   0.0f, gram, dims);
      for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < dims; a++)
          mean[a] += x[i * dims + a];
      for (int a = 0; a < dims; a++)
        mean[a] /= (double) n;
      for (int a = 0; a < dims; a++)
        for (int b = a; b < dims; b++)
          cov[a * dims + b] = cov[b * dims + a] = gram[a * dims + b] - mean[a] * mean[b];
      /* A fixed start: the selection must not depend on anything random. */
      for (int a = 0; a < dims * m; a++)
        q[a] = (double) ((a * 2654435761u) % 1000u) / 1000.0 - 0.5;
      orthonormalise (q, dims, m);
      for (int step = 0; step < POWER_STEPS; step++)
        {
          for (int a = 0; a < dims; a++)
            for (int c = 0; c < m; c++)
              {
                double s = 0.0;

                for (int b = 0; b < dims; b++)
                  s += cov[a * dims + b] * q[b * m + c];
                z[a * m + c] = s;
              }
          memcpy (q, z, sizeof (double) * dims * m);
          orthonormalise (q, dims, m);
        }
      for (int a = 0; a < dims * m; a++)
        basis[a] = (float) q[a];
    }
  free (gram);
  free (cov);
  free (mean);
  free (q);
  free (z);
  return ok;
}

/* ---- Steps ------------------------------------------------------------------- */

static void
project_share (void *ctx, int t, int threads)
{
  coreset_job *j = ctx;
  long begin, end;

  _sl_split_range ((long) j->n, t, threads, &begin, &end);
  for (long r = begin; r < end; r += PROJECT_ROWS)
    {
      const long rows = end - r < PROJECT_ROWS ? end - r : PROJECT_ROWS;

      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) rows, j->m1, j->dims, 1.0f,
                   j->patches + (size_t) r * j->dims, j->dims, j->basis, j->m, 0.0f,
                   j->near + (size_t) r * j->m1, j->m1);
      if (j->m > j->m1)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) rows, j->m - j->m1, j->dims,
                     1.0f, j->patches + (size_t) r * j->dims, j->dims, j->basis + j->m1, j->m, 0.0f,
                     j->far + (size_t) r * (j->m - j->m1), j->m - j->m1);
      for (long i = r; i < r + rows; i++)
        {
          const float *x = j->patches + (size_t) i * j->dims;
          double s = 0.0;

          for (int a = 0; a < j->dims; a++)
            s += (double) x[a] * x[a];
          j->norms[i] = (float) (sqrt (s) * REL_MARGIN);
        }
    }
}

/* One step on [begin, end): lowers mindist by the newest patch and returns
 * the share's farthest patch (lowest index on ties) in *at, its mindist in *best. */
static void
step_share (coreset_job *j, int64_t newest, bool first, long begin, long end, int64_t *at,
            double *best)
{
  const float *c = j->patches + (size_t) newest * j->dims;
  const int32_t m1 = j->m1, m2 = j->m - j->m1;
  const float *pc1 = j->near + (size_t) newest * m1, *pc2 = j->far + (size_t) newest * m2;
  const double c_margin = NORM_MARGIN * j->norms[newest];
  /* The farthest so far, by radius, then by mindist where radii are equal
   * (sqrt is monotone, so this is the order of mindist, read only then). */
  double top = -1.0, top_radius = -1.0;
  int64_t top_at = -1;

  for (long i = begin; i < end; i++)
    {
      const float *x = j->patches + (size_t) i * j->dims;

      if (first)
        {
          j->mindist[i] = _sl_anomaly_dist2 (x, c, j->dims);
          j->radius[i] = sqrt (j->mindist[i]);
        }
      else
        {
          const double reach = j->radius[i] * REL_MARGIN + NORM_MARGIN * j->norms[i] + c_margin;
          const double reach2 = reach * reach;
          const float *p1 = j->near + (size_t) i * m1;
          double bound = 0.0;

          for (int q = 0; q < m1; q++)
            {
              double d = (double) p1[q] - (double) pc1[q];

              bound += d * d;
            }
          if (bound <= reach2)
            {
              const float *p2 = j->far + (size_t) i * m2;

              for (int q = 0; q < m2; q++)
                {
                  double d = (double) p2[q] - (double) pc2[q];

                  bound += d * d;
                }
              if (bound <= reach2)
                {
                  double d = _sl_anomaly_dist2 (x, c, j->dims);

                  if (d < j->mindist[i])
                    {
                      j->mindist[i] = d;
                      j->radius[i] = sqrt (d);
                    }
                }
            }
        }
      if (j->radius[i] > top_radius || (j->radius[i] == top_radius && j->mindist[i] > top))
        {
          top_radius = j->radius[i];
          top = j->mindist[i];
          top_at = i;
        }
    }
  *best = top;
  *at = top_at;
}

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Claims and runs chunks of step `step` until none is left or the step is over. */
static void
work_chunks (coreset_job *j, long long step)
{
  for (;;)
    {
      long long v = atomic_load (&j->claim);
      long long chunk;

      if ((v >> 32) != step || (chunk = v & 0xffffffffLL) >= j->n_chunks)
        return;
      if (!atomic_compare_exchange_weak (&j->claim, &v, v + 1))
        continue;
      {
        const long begin = (long) (chunk * j->chunk);
        const long end = (long) (begin + j->chunk < j->n ? begin + j->chunk : j->n);

        step_share (j, j->newest, j->first, begin, end, &j->chunk_at[chunk], &j->chunk_best[chunk]);
      }
      atomic_fetch_add (&j->done, 1);
    }
}

/* Threads 1..: wait for a step, help with its chunks, again until quit. */
static void
helper (coreset_job *j)
{
  long long seen = 0;

  for (;;)
    {
      long long step = 0;

      for (int i = 0; i < SPIN_ROUNDS; i++)
        {
          step = atomic_load (&j->claim) >> 32;
          if (step != seen || atomic_load (&j->quit))
            break;
          cpu_relax ();
        }
      if (step == seen && !atomic_load (&j->quit))
        {
          pthread_mutex_lock (&j->lock);
          while ((step = atomic_load (&j->claim) >> 32) == seen && !atomic_load (&j->quit))
            pthread_cond_wait (&j->wake, &j->lock);
          pthread_mutex_unlock (&j->lock);
        }
      if (atomic_load (&j->quit))
        return;
      seen = step;
      work_chunks (j, step);
    }
}

/* The whole selection: thread 0 runs the steps (it writes chosen[] and
 * reports progress), the others help. */
static void
select_share (void *ctx, int t, int threads)
{
  coreset_job *j = ctx;
  int64_t newest = 0;

  (void) threads;
  if (t > 0)
    {
      helper (j);
      return;
    }
  for (int64_t c = 1; c <= j->k; c++)
    {
      /* The k-th step's choice would not be kept: only report it. */
      if (c < j->k)
        {
          j->newest = newest;
          j->first = c == 1;
          atomic_store (&j->done, 0);
          pthread_mutex_lock (&j->lock);
          atomic_store (&j->claim, (long long) c << 32);
          pthread_cond_broadcast (&j->wake);
          pthread_mutex_unlock (&j->lock);
          work_chunks (j, c);
          for (int i = 0; atomic_load (&j->done) < j->n_chunks; i++)
            if (i < SPIN_ROUNDS)
              cpu_relax ();
            else
              sched_yield ();
          /* Chunks are in index order: the first of equal maxima wins. */
          double best_value = -1.0;

          newest = -1;
          for (int64_t s = 0; s < j->n_chunks; s++)
            if (j->chunk_at[s] >= 0 && j->chunk_best[s] > best_value)
              {
                best_value = j->chunk_best[s];
                newest = j->chunk_at[s];
              }
          j->chosen[c] = newest;
        }
      if (j->progress != NULL && !j->progress (c, j->k, j->user_data))
        {
          j->cancelled = true;
          break;
        }
    }
  pthread_mutex_lock (&j->lock);
  atomic_store (&j->quit, true);
  pthread_cond_broadcast (&j->wake);
  pthread_mutex_unlock (&j->lock);
}

static void
run (sl_threadpool *pool, sl_parallel_fn fn, coreset_job *j)
{
  if (pool != NULL)
    _sl_threadpool_run (pool, fn, j);
  else
    fn (j, 0, 1);
}

sl_status
_sl_anomaly_coreset (const float *patches, int64_t n, int32_t dims, int64_t k, sl_threadpool *pool,
                     sl_fit_progress_fn progress, void *user_data, int64_t *chosen, sl_error *err)
{
  coreset_job j = { .patches = patches,
                    .n = n,
                    .dims = dims,
                    .k = k,
                    .chosen = chosen,
                    .progress = progress,
                    .user_data = user_data };
  sl_status st = SL_OK;

  if (patches == NULL || chosen == NULL || n < 1 || dims < 1 || k < 1 || k > n)
    return sl_error_set (err, SL_ERR_INVALID,
                         "coreset selection needs 1 to %lld of %lld patches (asked for %lld)",
                         (long long) n, (long long) n, (long long) k);
  j.m = dims < PROJ ? dims : PROJ;
  j.m1 = j.m < STAGE1 ? j.m : STAGE1;
  j.basis = malloc (sizeof (float) * (size_t) dims * j.m);
  j.near = malloc (sizeof (float) * (size_t) n * j.m1);
  j.far = malloc (sizeof (float) * ((size_t) n * (j.m - j.m1) + 1));
  j.norms = malloc (sizeof (float) * (size_t) n);
  j.mindist = malloc (sizeof (double) * (size_t) n);
  j.radius = malloc (sizeof (double) * (size_t) n);
  j.chunk = (n + CHUNKS - 1) / CHUNKS;
  if (j.chunk < MIN_CHUNK)
    j.chunk = MIN_CHUNK;
  j.n_chunks = (n + j.chunk - 1) / j.chunk;
  j.chunk_at = malloc (sizeof (int64_t) * (size_t) j.n_chunks);
  j.chunk_best = malloc (sizeof (double) * (size_t) j.n_chunks);
  pthread_mutex_init (&j.lock, NULL);
  pthread_cond_init (&j.wake, NULL);
  atomic_init (&j.claim, 0);
  atomic_init (&j.done, 0);
  atomic_init (&j.quit, false);
  if (j.basis == NULL || j.near == NULL || j.far == NULL || j.norms == NULL || j.mindist == NULL
      || j.radius == NULL || j.chunk_at == NULL || j.chunk_best == NULL
      || !principal_basis (patches, n, dims, j.m, j.basis))
    {
      st = sl_error_set (err, SL_ERR_NOMEM,
                         "out of memory selecting the memory bank (%lld patches); lower the "
                         "number of patches collected",
                         (long long) n);
      goto out;
    }
  run (pool, project_share, &j);
  chosen[0] = 0;
  run (pool, select_share, &j);
  if (j.cancelled)
    st = sl_error_set (err, SL_ERR_CANCELLED, "selecting the memory bank was cancelled");
out:
  free (j.basis);
  free (j.near);
  free (j.far);
  free (j.norms);
  free (j.mindist);
  free (j.radius);
  free (j.chunk_at);
  free (j.chunk_best);
  pthread_mutex_destroy (&j.lock);
  pthread_cond_destroy (&j.wake);
  return st;
}
