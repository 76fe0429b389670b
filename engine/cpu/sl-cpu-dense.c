/* sl-cpu-dense.c: fully connected layers as pool-split GEMMs. */
#include "sl-cpu-private.h"

#include <string.h>

void
_sl_cpu_dense_forward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                       const float *b, float *y)
{
  /* y[n x out] = x[n x in] * w[out x in]^T + b */
  if (b != NULL)
    for (int i = 0; i < n; i++)
      memcpy (y + (size_t) i * out, b, sizeof (float) * out);
  _sl_cpu_gemm (_sl_cpu_of (be), false, true, n, out, in, 1.0f, x, in, w, in,
                b != NULL ? 1.0f : 0.0f, y, out);
}

void
_sl_cpu_dense_backward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                        const float *dy, float *dx, bool accumulate, float *dw, float *db)
{
  sl_cpu *cpu = _sl_cpu_of (be);

  /* dw[out x in] = dy^T[out x n] * x[n x in] */
  if (dw != NULL)
    _sl_cpu_gemm (cpu, true, false, out, in, n, 1.0f, dy, out, x, in, 0.0f, dw, in);
  if (db != NULL)
    {
      memset (db, 0, sizeof (float) * out);
      for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
          db[o] += dy[(size_t) i * out + o];
    }
  /* dx[n x in] = dy[n x out] * w[out x in] */
  if (dx != NULL)
    _sl_cpu_gemm (cpu, false, false, n, in, out, 1.0f, dy, out, w, in, accumulate ? 1.0f : 0.0f, dx,
                  in);
}
