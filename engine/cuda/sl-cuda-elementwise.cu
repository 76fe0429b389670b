/* sl-cuda-elementwise.cu: activations, dropout, residual sums, gradient copies and the
 * finiteness check, each as the CPU computes it (sl-cpu-elementwise.c). */
#include "sl-cuda-private.h"

#include <math.h>

#define GRID_STRIDE(i, len)                                                                        \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (len);                       \
       i += (size_t) gridDim.x * blockDim.x)

/* No __restrict__: a rectifier runs in place over its input. */
__global__ static void
act_forward (sl_activation act, float slope, size_t len, const float *x, float *y)
{
  GRID_STRIDE (i, len)
  {
    float v = x[i];

    switch (act)
      {
        case SL_ACT_RELU: y[i] = v > 0.0f ? v : 0.0f; break;
        case SL_ACT_RELU6: y[i] = v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f; break;
        case SL_ACT_LEAKY_RELU: y[i] = v > 0.0f ? v : v * slope; break;
        case SL_ACT_SIGMOID: y[i] = 1.0f / (1.0f + expf (-v)); break;
      }
  }
}

/* From the output alone (y > 0 exactly when x > 0), as the CPU does: dx may be dy. */
__global__ static void
act_backward (sl_activation act, float slope, size_t len, const float *y, const float *dy,
              float *dx, bool accumulate)
{
  GRID_STRIDE (i, len)
  {
    float g = 0.0f, v = y[i], d = dy[i];

    switch (act)
      {
        case SL_ACT_RELU: g = v > 0.0f ? d : 0.0f; break;
        case SL_ACT_RELU6: g = v > 0.0f && v < 6.0f ? d : 0.0f; break;
        case SL_ACT_LEAKY_RELU: g = v > 0.0f ? d : d * slope; break;
        case SL_ACT_SIGMOID: g = d * v * (1.0f - v); break;
      }
    dx[i] = accumulate ? dx[i] + g : g;
  }
}

/* Element i's draw depends only on (seed, i): the CPU's splitmix64 stream. */
__global__ static void
dropout (size_t len, uint64_t seed, uint64_t threshold, float scale, const float *x, float *mask,
         float *y)
{
  GRID_STRIDE (i, len)
  {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (uint64_t) i + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    float m = (z >> 40) < threshold ? scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

__global__ static void
mul_backward (size_t len, const float *mask, const float *dy, float *dx, bool accumulate)
{
  GRID_STRIDE (i, len)
  {
    float g = dy[i] * mask[i];

    dx[i] = accumulate ? dx[i] + g : g;
  }
}

__global__ static void
add (size_t len, const float *a, const float *b, float *y)
{
  GRID_STRIDE (i, len)
  y[i] = a[i] + b[i];
}

__global__ static void
add_into (size_t len, const float *dy, float *dx)
{
  GRID_STRIDE (i, len)
  dx[i] += dy[i];
}

__global__ static void
set_flag (double *stats)
{
  stats[SL_STAT_FINITE] = 1.0;
}

/* Every thread that meets a NaN or an infinity writes the same 0. */
__global__ static void
check_finite (size_t len, const float *x, double *stats)
{
  bool ok = true;

  GRID_STRIDE (i, len)
  ok = ok && isfinite (x[i]);
  if (!ok)
    stats[SL_STAT_FINITE] = 0.0;
}

__global__ static void
fill_rows (size_t len, int out, const float *b, float *y)
{
  GRID_STRIDE (i, len)
  y[i] = b[i % out];
}

/* One thread per column: the rows are summed in order, as the CPU sums them. */
__global__ static void
column_sums (int n, int out, const float *dy, float *db)
{
  int o = blockIdx.x * blockDim.x + threadIdx.x;

  if (o >= out)
    return;
  float s = 0.0f;
  for (int i = 0; i < n; i++)
    s += dy[(size_t) i * out + o];
  db[o] = s;
}

__global__ static void
probe (float *scratch)
{
  scratch[0] = 0.0f;
}

extern "C" void
sl_cuda_activation_forward (sl_backend *be, sl_activation act, float slope, size_t len,
                            const float *x, float *y)
{
  sl_cuda *c = sl_cuda_of (be);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  act_forward<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (act, slope, len, x, y);
  sl_cuda_check_launch (c, "activation forward");
}

extern "C" void
sl_cuda_activation_backward (sl_backend *be, sl_activation act, float slope, size_t len,
                             const float *y, const float *dy, float *dx, bool accumulate)
{
  sl_cuda *c = sl_cuda_of (be);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  act_backward<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (act, slope, len, y, dy, dx,
                                                                         accumulate);
  sl_cuda_check_launch (c, "activation backward");
}

extern "C" void
sl_cuda_dropout_forward (sl_backend *be, size_t len, float rate, uint64_t seed, const float *x,
                         float *mask, float *y)
{
  sl_cuda *c = sl_cuda_of (be);
  /* The CPU's constants, computed the CPU's way. */
  const float keep = 1.0f - rate, scale = 1.0f / keep;
  const uint64_t threshold = (uint64_t) ((double) keep * 16777216.0);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  dropout<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, seed, threshold, scale, x,
                                                                    mask, y);
  sl_cuda_check_launch (c, "dropout");
}

extern "C" void
sl_cuda_mul_backward (sl_backend *be, size_t len, const float *mask, const float *dy, float *dx,
                      bool accumulate)
{
  sl_cuda *c = sl_cuda_of (be);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  mul_backward<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, mask, dy, dx,
                                                                         accumulate);
  sl_cuda_check_launch (c, "dropout backward");
}

extern "C" void
sl_cuda_add_forward (sl_backend *be, size_t len, const float *a, const float *b, float *y)
{
  sl_cuda *c = sl_cuda_of (be);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  add<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, a, b, y);
  sl_cuda_check_launch (c, "residual sum");
}

extern "C" void
sl_cuda_copy_grad (sl_backend *be, size_t len, const float *dy, float *dx, bool accumulate)
{
  sl_cuda *c = sl_cuda_of (be);

  if (len == 0 || !sl_cuda_enter (c))
    return;
  if (!accumulate)
    {
      if (dx != dy)
        sl_cuda_check (
            c, cudaMemcpyAsync (dx, dy, len * sizeof (float), cudaMemcpyDeviceToDevice, c->stream),
            "copying a gradient");
      return;
    }
  add_into<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, dy, dx);
  sl_cuda_check_launch (c, "adding a gradient");
}

extern "C" void
sl_cuda_all_finite (sl_backend *be, size_t len, const float *x, double *stats)
{
  sl_cuda *c = sl_cuda_of (be);

  if (!sl_cuda_enter (c))
    return;
  set_flag<<<1, 1, 0, c->stream>>> (stats);
  if (len > 0)
    check_finite<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, x, stats);
  sl_cuda_check_launch (c, "checking gradients");
}

extern "C" void
sl_cuda_fill_rows (sl_cuda *c, int n, int out, const float *b, float *y)
{
  size_t len = (size_t) n * out;

  if (len == 0)
    return;
  fill_rows<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, out, b, y);
  sl_cuda_check_launch (c, "dense bias");
}

extern "C" void
sl_cuda_column_sums (sl_cuda *c, int n, int out, const float *dy, float *db)
{
  if (out <= 0)
    return;
  column_sums<<<sl_cuda_blocks ((size_t) out), SL_CUDA_THREADS, 0, c->stream>>> (n, out, dy, db);
  sl_cuda_check_launch (c, "dense bias gradient");
}

extern "C" cudaError_t
sl_cuda_probe_kernels (cudaStream_t stream, float *scratch)
{
  probe<<<1, 1, 0, stream>>> (scratch);
  return cudaGetLastError ();
}
