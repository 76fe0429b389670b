/* sl-cuda-pool.cu: max, average and global-average pooling with the CPU's semantics
 * (sl-cpu-pool.c).
 *
 * Not cuDNN's pooling: the engine's max-pool backward has only the arg-max
 * recorded in the forward pass, because a rectifier after the pool may run
 * in place over its output, which cuDNN's backward would need to read. The
 * gradients are gathered per input element, in the CPU's summation order,
 * so no atomics are needed and results are deterministic. */
#include "sl-cuda-private.h"

#include <float.h>

typedef struct
{
  int in_h, in_w, out_h, out_w, kh, kw, sh, sw, ph, pw;
  bool wide; /* the argmax in int32s, else bytes (_sl_pool_argmax_size) */
} geometry;

static geometry
geometry_of (const sl_conv_desc *d)
{
  geometry g = { d->in_h, d->in_w, d->out_h, d->out_w, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw };

  g.wide = _sl_pool_argmax_size (d) > 1;
  return g;
}

/* Output o's argmax: the place of the maximum in its window. */
__device__ static int
place_at (geometry g, const void *argmax, size_t o)
{
  return g.wide ? ((const int32_t *) argmax)[o] : ((const uint8_t *) argmax)[o];
}

#define GRID_STRIDE(i, len)                                                                        \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (len);                       \
       i += (size_t) gridDim.x * blockDim.x)

__global__ static void
pool_forward (bool max, geometry g, size_t outputs, const float *x, float *y, void *argmax)
{
  const int out_plane = g.out_h * g.out_w;
  const float inv_area = 1.0f / (float) (g.kh * g.kw);

  GRID_STRIDE (o, outputs)
  {
    const size_t p = o / out_plane;
    const int r = (int) (o % out_plane), oy = r / g.out_w, ox = r % g.out_w;
    const float *plane = x + p * g.in_h * g.in_w;
    int y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
    int ya = y0 < 0 ? 0 : y0, yb = y0 + g.kh > g.in_h ? g.in_h : y0 + g.kh;
    int xa = x0 < 0 ? 0 : x0, xb = x0 + g.kw > g.in_w ? g.in_w : x0 + g.kw;

    if (max)
      {
        float best = -FLT_MAX;
        int at = (ya - y0) * g.kw + xa - x0;

        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++)
            if (plane[iy * g.in_w + ix] > best)
              {
                best = plane[iy * g.in_w + ix];
                at = (iy - y0) * g.kw + ix - x0;
              }
        y[o] = best;
        if (argmax != NULL && g.wide)
          ((int32_t *) argmax)[o] = at;
        else if (argmax != NULL)
          ((uint8_t *) argmax)[o] = (uint8_t) at;
      }
    else
      {
        float s = 0.0f;

        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++)
            s += plane[iy * g.in_w + ix];
        y[o] = s * inv_area;
      }
  }
}

/* The outputs whose window holds input row (or column) i: [*lo, *hi]. */
__device__ static void
covering (int i, int pad, int k, int stride, int outs, int *lo, int *hi)
{
  int first = i + pad - k; /* the window of o holds i when o s - pad <= i < o s - pad + k */

  *lo = first < 0 ? 0 : first / stride + 1;
  *hi = (i + pad) / stride;
  if (*hi > outs - 1)
    *hi = outs - 1;
}

__global__ static void
pool_backward (bool max, geometry g, size_t inputs, const float *dy, const void *argmax, float *dx,
               bool accumulate)
{
  const int in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const float inv_area = 1.0f / (float) (g.kh * g.kw);

  GRID_STRIDE (q, inputs)
  {
    const size_t p = q / in_plane;
    const int r = (int) (q % in_plane), iy = r / g.in_w, ix = r % g.in_w;
    const float *d = dy + p * out_plane;
    const size_t arg0 = p * out_plane;
    int oy0, oy1, ox0, ox1;
    float s = 0.0f;

    covering (iy, g.ph, g.kh, g.sh, g.out_h, &oy0, &oy1);
    covering (ix, g.pw, g.kw, g.sw, g.out_w, &ox0, &ox1);
    for (int oy = oy0; oy <= oy1; oy++)
      for (int ox = ox0; ox <= ox1; ox++)
        {
          int o = oy * g.out_w + ox;

          /* Input (iy, ix) is place (iy - (oy sh - ph)) kw + ix - (ox sw - pw) of o's window. */
          if (!max)
            s += d[o] * inv_area;
          else if (place_at (g, argmax, arg0 + o)
                   == (iy - (oy * g.sh - g.ph)) * g.kw + ix - (ox * g.sw - g.pw))
            s += d[o];
        }
    dx[q] = accumulate ? dx[q] + s : s;
  }
}

/* One warp per plane. */
__global__ static void
global_avg_forward (size_t planes, int hw, const float *x, float *y)
{
  const size_t warps = (size_t) gridDim.x * blockDim.x / 32;
  const int lane = threadIdx.x % 32;

  for (size_t w = (blockIdx.x * (size_t) blockDim.x + threadIdx.x) / 32; w < planes; w += warps)
    {
      const float *src = x + w * hw;
      float s = 0.0f;

      for (int k = lane; k < hw; k += 32)
        s += src[k];
      for (int off = 16; off > 0; off /= 2)
        s += __shfl_down_sync (0xffffffffu, s, off);
      if (lane == 0)
        y[w] = s / (float) hw;
    }
}

__global__ static void
global_avg_backward (size_t len, int hw, const float *dy, float *dx, bool accumulate)
{
  GRID_STRIDE (q, len)
  {
    float g = dy[q / hw] / (float) hw;

    dx[q] = accumulate ? dx[q] + g : g;
  }
}

extern "C" void
sl_cuda_pool_forward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                      const float *x, float *y, void *argmax)
{
  sl_cuda *c = sl_cuda_of (be);
  size_t outputs = (size_t) n * d->in_c * d->out_h * d->out_w;

  if (outputs == 0 || !sl_cuda_enter (c))
    return;
  pool_forward<<<sl_cuda_blocks (outputs), SL_CUDA_THREADS, 0, c->stream>>> (
      kind == SL_POOL_MAX, geometry_of (d), outputs, x, y, argmax);
  sl_cuda_check_launch (c, "pooling forward");
}

extern "C" void
sl_cuda_pool_backward (sl_backend *be, sl_pool_kind kind, const sl_conv_desc *d, int n,
                       const float *dy, const void *argmax, float *dx, bool accumulate)
{
  sl_cuda *c = sl_cuda_of (be);
  size_t inputs = (size_t) n * d->in_c * d->in_h * d->in_w;

  if (inputs == 0 || !sl_cuda_enter (c))
    return;
  pool_backward<<<sl_cuda_blocks (inputs), SL_CUDA_THREADS, 0, c->stream>>> (
      kind == SL_POOL_MAX, geometry_of (d), inputs, dy, argmax, dx, accumulate);
  sl_cuda_check_launch (c, "pooling backward");
}

extern "C" void
sl_cuda_global_avgpool_forward (sl_backend *be, int n, int ch, int hw, const float *x, float *y)
{
  sl_cuda *c = sl_cuda_of (be);
  size_t planes = (size_t) n * ch;

  if (planes == 0 || !sl_cuda_enter (c))
    return;
  global_avg_forward<<<sl_cuda_blocks (planes * 32), SL_CUDA_THREADS, 0, c->stream>>> (planes, hw,
                                                                                       x, y);
  sl_cuda_check_launch (c, "global average pooling");
}

extern "C" void
sl_cuda_global_avgpool_backward (sl_backend *be, int n, int ch, int hw, const float *dy, float *dx,
                                 bool accumulate)
{
  sl_cuda *c = sl_cuda_of (be);
  size_t len = (size_t) n * ch * hw;

  if (len == 0 || !sl_cuda_enter (c))
    return;
  global_avg_backward<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, hw, dy, dx,
                                                                                accumulate);
  sl_cuda_check_launch (c, "global average pooling backward");
}
