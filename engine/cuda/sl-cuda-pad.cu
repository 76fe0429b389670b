/* sl-cuda-pad.cu: zero padding of image planes and its adjoint (cropping), for convolutions with
 * asymmetric padding, which cuDNN cannot describe. */
#include "sl-cuda-private.h"

#define GRID_STRIDE(i, len)                                                                        \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (len);                       \
       i += (size_t) gridDim.x * blockDim.x)

/* xp (hp x wp per plane) = x (h x w) moved down by top and right by left, zeros around. */
__global__ static void
pad_planes (size_t len, int h, int w, int top, int left, int hp, int wp, const float *x, float *xp)
{
  GRID_STRIDE (q, len)
  {
    const size_t p = q / ((size_t) hp * wp);
    const int r = (int) (q % ((size_t) hp * wp)), iy = r / wp - top, ix = r % wp - left;

    xp[q] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(p * h + iy) * w + ix] : 0.0f;
  }
}

/* dx (h x w) = or += the matching part of dxp (hp x wp). */
__global__ static void
crop_planes (size_t len, int h, int w, int top, int left, int hp, int wp, const float *dxp,
             float *dx, bool accumulate)
{
  GRID_STRIDE (q, len)
  {
    const size_t p = q / ((size_t) h * w);
    const int r = (int) (q % ((size_t) h * w)), py = r / w + top, px = r % w + left;
    const float g = py < hp && px < wp ? dxp[(p * hp + py) * wp + px] : 0.0f;

    dx[q] = accumulate ? dx[q] + g : g;
  }
}

extern "C" void
sl_cuda_pad_planes (sl_cuda *c, size_t planes, int h, int w, int top, int left, int hp, int wp,
                    const float *x, float *xp)
{
  const size_t len = planes * hp * wp;

  if (len == 0 || sl_cuda_failed (c))
    return;
  pad_planes<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, h, w, top, left, hp, wp,
                                                                       x, xp);
  sl_cuda_check_launch (c, "padding a convolution's input");
}

extern "C" void
sl_cuda_crop_planes (sl_cuda *c, size_t planes, int h, int w, int top, int left, int hp, int wp,
                     const float *dxp, float *dx, bool accumulate)
{
  const size_t len = planes * h * w;

  if (len == 0 || sl_cuda_failed (c))
    return;
  crop_planes<<<sl_cuda_blocks (len), SL_CUDA_THREADS, 0, c->stream>>> (len, h, w, top, left, hp,
                                                                        wp, dxp, dx, accumulate);
  sl_cuda_check_launch (c, "cropping a convolution's input gradient");
}
