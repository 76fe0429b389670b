/* sl-cuda-dense.c: fully connected layers as cuBLAS GEMMs (column-major views of row-major data). */
#include "sl-cuda-private.h"

static const float one = 1.0f, zero = 0.0f;

/* Row-major y[n x out] = x[n x in] w[out x in]^T + b is, column-major,
 * y^T[out x n] = w^T' x^T: w seen as [in x out] transposed, x as [in x n]. */
void
sl_cuda_dense_forward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                       const float *b, float *y)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c))
    return;
  if (b != NULL)
    sl_cuda_fill_rows (c, n, out, b, y);
  sl_cuda_check_blas (c,
                      cublasSgemm (c->blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x,
                                   in, b != NULL ? &one : &zero, y, out),
                      "dense forward");
}

void
sl_cuda_dense_backward (sl_backend *be, int n, int in, int out, const float *x, const float *w,
                        const float *dy, float *dx, bool accumulate, float *dw, float *db)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c))
    return;
  /* dw[out x in] = dy^T x: column-major dw^T[in x out] = x^T[in x n] dy[n x out]. */
  if (dw != NULL
      && !sl_cuda_check_blas (c,
                              cublasSgemm (c->blas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x,
                                           in, dy, out, &zero, dw, in),
                              "dense weight gradient"))
    return;
  if (db != NULL)
    sl_cuda_column_sums (c, n, out, dy, db);
  /* dx[n x in] = dy w: column-major dx^T[in x n] = w^T[in x out] dy^T[out x n]. */
  if (dx != NULL)
    sl_cuda_check_blas (c,
                        cublasSgemm (c->blas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, in, dy,
                                     out, accumulate ? &one : &zero, dx, in),
                        "dense input gradient");
}
