/* sl-anomaly-nearest.c: PatchCore step 6, each patch's distance to its nearest bank patch (GEMM blocks on OpenBLAS).
 *
 * |x - b|^2 = |x|^2 + |b|^2 - 2 x.b: one GEMM per block of patches and block
 * of bank rows ranks the bank for each patch (|x|^2 is the same for the whole
 * row and left out). That sum cancels badly when x is near b, so the ranking
 * only nominates the CANDIDATES best bank patches of each row, and their
 * distances are recomputed exactly (_sl_anomaly_dist2); the smallest is the
 * patch's score. Working memory: ROWS x BANK_BLOCK floats per thread. */
#include "sl-anomaly-private.h"
#include "sl-error-private.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#define ROWS       256
#define BANK_BLOCK 256
#define CANDIDATES 4

typedef struct
{
  const sl_anomaly *a;
  const float *patches;
  int64_t p;
  float *dist;
  float *scratch; /* per thread: ROWS x BANK_BLOCK + ROWS x CANDIDATES x (float + int64) */
  size_t scratch_floats;
} nearest_job;

size_t
_sl_anomaly_nearest_scratch (void)
{
  return (size_t) ROWS * BANK_BLOCK + (size_t) ROWS * CANDIDATES * 3;
}

static void
nearest_rows (nearest_job *j, int64_t r0, int64_t rows, float *scratch)
{
  const sl_anomaly *a = j->a;
  const int32_t dims = a->layout.dims;
  const float *x = j->patches + (size_t) r0 * dims;
  float *gram = scratch, *cand_v = scratch + (size_t) ROWS * BANK_BLOCK;
  int64_t *cand_i = (int64_t *) (cand_v + (size_t) ROWS * CANDIDATES);

  for (int64_t r = 0; r < rows * CANDIDATES; r++)
    {
      cand_v[r] = INFINITY;
      cand_i[r] = -1;
    }
  for (int64_t b0 = 0; b0 < a->bank_size; b0 += BANK_BLOCK)
    {
      const int64_t bn = a->bank_size - b0 < BANK_BLOCK ? a->bank_size - b0 : BANK_BLOCK;
      const float *norms = a->bank_norms + b0;

      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) bn, dims, -2.0f, x,
                   dims, a->bank + (size_t) b0 * dims, dims, 0.0f, gram, (int) bn);
      for (int64_t r = 0; r < rows; r++)
        {
          const float *g = gram + (size_t) r * bn;
          float *cv = cand_v + r * CANDIDATES;
          int64_t *ci = cand_i + r * CANDIDATES;

          for (int64_t b = 0; b < bn; b++)
            {
              float v = g[b] + norms[b];
              int s;

              if (!(v < cv[CANDIDATES - 1]))
                continue;
              for (s = CANDIDATES - 1; s > 0 && v < cv[s - 1]; s--)
                {
                  cv[s] = cv[s - 1];
                  ci[s] = ci[s - 1];
                }
              cv[s] = v;
              ci[s] = b0 + b;
            }
        }
    }
  for (int64_t r = 0; r < rows; r++)
    {
      const int64_t *ci = cand_i + r * CANDIDATES;
      double best = INFINITY;

      for (int s = 0; s < CANDIDATES; s++)
        {
          /* Non-finite rankings (a NaN feature) leave no candidate: compare
           * with the first bank patch so the NaN reaches the score. */
          int64_t b = ci[s] >= 0 ? ci[s] : (s == 0 ? 0 : -1);
          double d;

          if (b < 0)
            continue;
          d = _sl_anomaly_dist2 (x + (size_t) r * dims, a->bank + (size_t) b * dims, dims);
          if (d < best || isnan (d))
            best = d;
          if (isnan (d))
            break;
        }
      j->dist[r0 + r] = (float) sqrt (best);
    }
}

static void
nearest_share (void *ctx, int t, int threads)
{
  nearest_job *j = ctx;
  float *scratch = j->scratch + (size_t) t * j->scratch_floats;
  long begin, end;

  _sl_split_range ((long) j->p, t, threads, &begin, &end);
  for (int64_t r = begin; r < end; r += ROWS)
    nearest_rows (j, r, end - r < ROWS ? end - r : ROWS, scratch);
}

sl_status
_sl_anomaly_nearest (const sl_anomaly *a, const float *patches, int64_t p, float *dist,
                     sl_threadpool *pool, sl_error *err)
{
  const int threads = pool != NULL ? _sl_threadpool_size (pool) : 1;
  nearest_job j = { .a = a, .patches = patches, .p = p, .dist = dist };

  j.scratch_floats = _sl_anomaly_nearest_scratch ();
  j.scratch = malloc (sizeof (float) * j.scratch_floats * (size_t) threads);
  if (j.scratch == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory scoring patches");
  if (pool != NULL && p > ROWS / 2)
    _sl_threadpool_run (pool, nearest_share, &j);
  else
    nearest_share (&j, 0, 1);
  free (j.scratch);
  return SL_OK;
}
