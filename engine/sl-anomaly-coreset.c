/* sl-anomaly-coreset.c: PatchCore step 5, greedy k-center selection of the memory bank.
 *
 * Exact greedy k-center: mindist[i] is patch i's squared distance to its
 * nearest chosen patch; each step chooses the largest (lowest index on ties).
 * Most updates are skipped without reading the patch, by the triangle
 * inequality: with a = the chosen patch nearest to i and c the new one,
 * d(i, c) >= d(a, c) - d(i, a), so when d(a, c) >= 2 d(i, a) the new patch
 * cannot be nearer to i than a is. The test keeps a relative margin of 1e-6,
 * far above the rounding of distances summed in double, so the skipped
 * distances are exactly those that would not have lowered mindist: the bank
 * is the one plain greedy selection gives (tests compare with it). */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"

#include <math.h>
#include <stdlib.h>

#define SKIP_MARGIN (1.0 + 1e-6)

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
  int32_t dims;
  const int64_t *chosen;
  int64_t n_chosen;   /* including the newest, chosen[n_chosen - 1] */
  double *mindist;    /* squared */
  double *radius;     /* sqrt (mindist) */
  int32_t *nearest;   /* position in chosen of each patch's nearest chosen patch */
  double *center_gap; /* d (chosen[j], newest) for j < n_chosen - 1 */
  /* Per thread: the farthest patch of its share after this step. */
  int64_t *best_index;
  double *best_value;
} coreset_job;

static void
gaps_share (void *ctx, int t, int threads)
{
  coreset_job *j = ctx;
  const float *c = j->patches + (size_t) j->chosen[j->n_chosen - 1] * j->dims;
  long begin, end;

  _sl_split_range ((long) (j->n_chosen - 1), t, threads, &begin, &end);
  for (long i = begin; i < end; i++)
    j->center_gap[i]
        = sqrt (_sl_anomaly_dist2 (j->patches + (size_t) j->chosen[i] * j->dims, c, j->dims));
}

static void
update_share (void *ctx, int t, int threads)
{
  coreset_job *j = ctx;
  const int32_t newest = (int32_t) (j->n_chosen - 1);
  const float *c = j->patches + (size_t) j->chosen[newest] * j->dims;
  int64_t best = -1;
  double best_value = -1.0;
  long begin, end;

  _sl_split_range ((long) j->n, t, threads, &begin, &end);
  for (long i = begin; i < end; i++)
    {
      double m = j->mindist[i];

      if (newest == 0 || j->center_gap[j->nearest[i]] < 2.0 * j->radius[i] * SKIP_MARGIN)
        {
          double d = _sl_anomaly_dist2 (j->patches + (size_t) i * j->dims, c, j->dims);

          if (newest == 0 || d < m)
            {
              m = j->mindist[i] = d;
              j->radius[i] = sqrt (d);
              j->nearest[i] = newest;
            }
        }
      if (m > best_value)
        {
          best_value = m;
          best = i;
        }
    }
  j->best_index[t] = best;
  j->best_value[t] = best_value;
}

sl_status
_sl_anomaly_coreset (const float *patches, int64_t n, int32_t dims, int64_t k, sl_threadpool *pool,
                     sl_fit_progress_fn progress, void *user_data, int64_t *chosen, sl_error *err)
{
  const int threads = pool != NULL ? _sl_threadpool_size (pool) : 1;
  coreset_job j = { .patches = patches, .n = n, .dims = dims, .chosen = chosen };
  sl_status st = SL_OK;

  if (patches == NULL || chosen == NULL || n < 1 || dims < 1 || k < 1 || k > n || n > INT32_MAX)
    return sl_error_set (err, SL_ERR_INVALID,
                         "coreset selection needs 1 to %lld of %lld patches (asked for %lld)",
                         (long long) n, (long long) n, (long long) k);
  j.mindist = malloc (sizeof (double) * (size_t) n);
  j.radius = malloc (sizeof (double) * (size_t) n);
  j.nearest = malloc (sizeof (int32_t) * (size_t) n);
  j.center_gap = malloc (sizeof (double) * (size_t) k);
  j.best_index = malloc (sizeof (int64_t) * (size_t) threads);
  j.best_value = malloc (sizeof (double) * (size_t) threads);
  if (j.mindist == NULL || j.radius == NULL || j.nearest == NULL || j.center_gap == NULL
      || j.best_index == NULL || j.best_value == NULL)
    {
      st = sl_error_set (err, SL_ERR_NOMEM,
                         "out of memory selecting the memory bank (%lld patches); lower the "
                         "number of patches collected",
                         (long long) n);
      goto out;
    }
  chosen[0] = 0;
  for (int64_t c = 1; c <= k; c++)
    {
      int64_t best = -1;
      double best_value = -1.0;

      j.n_chosen = c;
      if (pool != NULL)
        {
          if (c > 1)
            _sl_threadpool_run (pool, gaps_share, &j);
          _sl_threadpool_run (pool, update_share, &j);
        }
      else
        {
          if (c > 1)
            gaps_share (&j, 0, 1);
          update_share (&j, 0, 1);
        }
      /* Shares are in index order: the first of equal maxima wins. */
      for (int t = 0; t < threads; t++)
        if (j.best_index[t] >= 0 && j.best_value[t] > best_value)
          {
            best_value = j.best_value[t];
            best = j.best_index[t];
          }
      if (progress != NULL && !progress (c, k, user_data))
        {
          st = sl_error_set (err, SL_ERR_CANCELLED, "selecting the memory bank was cancelled");
          goto out;
        }
      if (c < k)
        chosen[c] = best;
    }
out:
  free (j.mindist);
  free (j.radius);
  free (j.nearest);
  free (j.center_gap);
  free (j.best_index);
  free (j.best_value);
  return st;
}
