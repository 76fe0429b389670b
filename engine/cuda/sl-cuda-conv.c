/* sl-cuda-conv.c: conv2d with cuDNN: forward, backward data and backward filter, algorithms chosen
 * once per shape within a workspace limit and cached; asymmetric padding done explicitly. */
#include "sl-cuda-private.h"

#include <stdlib.h>
#include <string.h>

/* cuDNN's descriptors and chosen algorithms for one (geometry, batch). */
struct sl_cuda_conv
{
  sl_conv_desc d;
  int n;
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnConvolutionFwdAlgo_t fwd;
  cudnnConvolutionBwdDataAlgo_t data;
  cudnnConvolutionBwdFilterAlgo_t filter;
  size_t fwd_bytes, data_bytes, filter_bytes;
  size_t promised; /* non-zero when chosen for a plan (conv2d_workspace) */
};

#define MAX_ALGOS 16

static const float one = 1.0f, zero = 0.0f;

static void
entry_clear (sl_cuda_conv *e)
{
  if (e->x != NULL)
    cudnnDestroyTensorDescriptor (e->x);
  if (e->y != NULL)
    cudnnDestroyTensorDescriptor (e->y);
  if (e->bias != NULL)
    cudnnDestroyTensorDescriptor (e->bias);
  if (e->w != NULL)
    cudnnDestroyFilterDescriptor (e->w);
  if (e->conv != NULL)
    cudnnDestroyConvolutionDescriptor (e->conv);
}

void
sl_cuda_conv_cache_clear (sl_cuda *c)
{
  for (int i = 0; i < c->n_convs; i++)
    entry_clear (&c->convs[i]);
  free (c->convs);
  c->convs = NULL;
  c->n_convs = c->cap_convs = 0;
}

/* cuDNN pads symmetrically only. A convolution with more padding at one end
 * (TensorFlow's "same" at stride 2) runs on a zero-padded copy of its input,
 * placed in the workspace ahead of cuDNN's scratch, with no padding of its
 * own; its input gradient is computed padded and cropped back out. */
static bool
padded_explicitly (const sl_conv_desc *d)
{
  return d->ph != d->ph_end || d->pw != d->pw_end;
}

/* The geometry cuDNN is given. */
static sl_conv_desc
cudnn_view (const sl_conv_desc *d)
{
  sl_conv_desc v = *d;

  if (padded_explicitly (d))
    {
      v.in_h = d->in_h + d->ph + d->ph_end;
      v.in_w = d->in_w + d->pw + d->pw_end;
      v.ph = v.pw = v.ph_end = v.pw_end = 0;
    }
  return v;
}

/* Floats of the padded copy of a batch of n inputs (a multiple of 64, so
 * cuDNN's scratch after it stays 256-byte aligned); 0 when cuDNN pads. */
static size_t
pad_floats (const sl_conv_desc *d, int n)
{
  const sl_conv_desc v = cudnn_view (d);

  if (!padded_explicitly (d))
    return 0;
  return ((size_t) n * v.in_c * v.in_h * v.in_w + 63) & ~(size_t) 63;
}

static bool
describe (sl_cuda *c, sl_cuda_conv *e)
{
  const sl_conv_desc view = cudnn_view (&e->d), *d = &view;
  int on, oc, oh, ow;

  if (!sl_cuda_check_dnn (c, cudnnCreateTensorDescriptor (&e->x), "describing a convolution")
      || !sl_cuda_check_dnn (c, cudnnCreateTensorDescriptor (&e->y), "describing a convolution")
      || !sl_cuda_check_dnn (c, cudnnCreateTensorDescriptor (&e->bias), "describing a convolution")
      || !sl_cuda_check_dnn (c, cudnnCreateFilterDescriptor (&e->w), "describing a convolution")
      || !sl_cuda_check_dnn (c, cudnnCreateConvolutionDescriptor (&e->conv),
                             "describing a convolution"))
    return false;
  if (!sl_cuda_check_dnn (c,
                          cudnnSetTensor4dDescriptor (e->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                      e->n, d->in_c, d->in_h, d->in_w),
                          "describing a convolution's input")
      || !sl_cuda_check_dnn (c,
                             cudnnSetTensor4dDescriptor (e->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                         e->n, d->out_c, d->out_h, d->out_w),
                             "describing a convolution's output")
      || !sl_cuda_check_dnn (c,
                             cudnnSetTensor4dDescriptor (e->bias, CUDNN_TENSOR_NCHW,
                                                         CUDNN_DATA_FLOAT, 1, d->out_c, 1, 1),
                             "describing a convolution's bias")
      || !sl_cuda_check_dnn (c,
                             cudnnSetFilter4dDescriptor (e->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                                         d->out_c, d->in_c / d->groups, d->kh,
                                                         d->kw),
                             "describing a convolution's weights")
      || !sl_cuda_check_dnn (c,
                             cudnnSetConvolution2dDescriptor (e->conv, d->ph, d->pw, d->sh, d->sw,
                                                              d->dh, d->dw, CUDNN_CROSS_CORRELATION,
                                                              CUDNN_DATA_FLOAT),
                             "describing a convolution")
      || !sl_cuda_check_dnn (c, cudnnSetConvolutionGroupCount (e->conv, d->groups),
                             "describing a grouped convolution")
      /* FP32 FMA only: TF32 tensor cores would round inputs to 10 bits and
       * drift from the CPU's results. */
      || !sl_cuda_check_dnn (c, cudnnSetConvolutionMathType (e->conv, CUDNN_FMA_MATH),
                             "describing a convolution")
      || !sl_cuda_check_dnn (
          c, cudnnGetConvolution2dForwardOutputDim (e->conv, e->x, e->w, &on, &oc, &oh, &ow),
          "describing a convolution"))
    return false;
  if (on != e->n || oc != d->out_c || oh != d->out_h || ow != d->out_w)
    {
      sl_cuda_check_dnn (c, CUDNN_STATUS_BAD_PARAM,
                         "a convolution whose output shape cuDNN sees "
                         "differently");
      return false;
    }
  return true;
}

/* Of results best first, the first algorithm that worked and whose workspace
 * (asked again of cuDNN: heuristics' estimates are not binding) fits the limit. */
#define PICK(results, count, limit, size_call, algo_out, bytes_out)                                \
  do                                                                                               \
    {                                                                                              \
      for (int k_ = 0; k_ < (count) && !found; k_++)                                               \
        {                                                                                          \
          size_t bytes_ = 0;                                                                       \
          if ((results)[k_].status != CUDNN_STATUS_SUCCESS)                                        \
            continue;                                                                              \
          *(algo_out) = (results)[k_].algo;                                                        \
          if ((size_call) == CUDNN_STATUS_SUCCESS && bytes_ <= (limit))                            \
            {                                                                                      \
              *(bytes_out) = bytes_;                                                               \
              found = true;                                                                        \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
  while (0)

/* Measured (cudnnFind, when benchmark) or from cuDNN's heuristics. */
static bool
choose_forward (sl_cuda *c, sl_cuda_conv *e, size_t limit, bool benchmark)
{
  cudnnConvolutionFwdAlgoPerf_t r[MAX_ALGOS];
  bool found = false;
  int count = 0;

#define FWD_SIZE                                                                                   \
  cudnnGetConvolutionForwardWorkspaceSize (c->dnn, e->x, e->w, e->conv, e->y, e->fwd, &bytes_)
  if (benchmark
      && cudnnFindConvolutionForwardAlgorithm (c->dnn, e->x, e->w, e->conv, e->y, MAX_ALGOS, &count,
                                               r)
             == CUDNN_STATUS_SUCCESS)
    PICK (r, count, limit, FWD_SIZE, &e->fwd, &e->fwd_bytes);
  cudaGetLastError (); /* a benchmark that ran out of memory leaves nothing behind */
  if (!found
      && sl_cuda_check_dnn (c,
                            cudnnGetConvolutionForwardAlgorithm_v7 (c->dnn, e->x, e->w, e->conv,
                                                                    e->y, MAX_ALGOS, &count, r),
                            "choosing a convolution algorithm"))
    PICK (r, count, limit, FWD_SIZE, &e->fwd, &e->fwd_bytes);
  return found;
}

static bool
choose_data (sl_cuda *c, sl_cuda_conv *e, size_t limit, bool benchmark)
{
  cudnnConvolutionBwdDataAlgoPerf_t r[MAX_ALGOS];
  bool found = false;
  int count = 0;

#define DATA_SIZE                                                                                  \
  cudnnGetConvolutionBackwardDataWorkspaceSize (c->dnn, e->w, e->y, e->conv, e->x, e->data, &bytes_)
  if (benchmark
      && cudnnFindConvolutionBackwardDataAlgorithm (c->dnn, e->w, e->y, e->conv, e->x, MAX_ALGOS,
                                                    &count, r)
             == CUDNN_STATUS_SUCCESS)
    PICK (r, count, limit, DATA_SIZE, &e->data, &e->data_bytes);
  cudaGetLastError ();
  if (!found
      && sl_cuda_check_dnn (c,
                            cudnnGetConvolutionBackwardDataAlgorithm_v7 (
                                c->dnn, e->w, e->y, e->conv, e->x, MAX_ALGOS, &count, r),
                            "choosing a convolution algorithm"))
    PICK (r, count, limit, DATA_SIZE, &e->data, &e->data_bytes);
  return found;
}

static bool
choose_filter (sl_cuda *c, sl_cuda_conv *e, size_t limit, bool benchmark)
{
  cudnnConvolutionBwdFilterAlgoPerf_t r[MAX_ALGOS];
  bool found = false;
  int count = 0;

#define FILTER_SIZE                                                                                \
  cudnnGetConvolutionBackwardFilterWorkspaceSize (c->dnn, e->x, e->y, e->conv, e->w, e->filter,    \
                                                  &bytes_)
  if (benchmark
      && cudnnFindConvolutionBackwardFilterAlgorithm (c->dnn, e->x, e->y, e->conv, e->w, MAX_ALGOS,
                                                      &count, r)
             == CUDNN_STATUS_SUCCESS)
    PICK (r, count, limit, FILTER_SIZE, &e->filter, &e->filter_bytes);
  cudaGetLastError ();
  if (!found
      && sl_cuda_check_dnn (c,
                            cudnnGetConvolutionBackwardFilterAlgorithm_v7 (
                                c->dnn, e->x, e->y, e->conv, e->w, MAX_ALGOS, &count, r),
                            "choosing a convolution algorithm"))
    PICK (r, count, limit, FILTER_SIZE, &e->filter, &e->filter_bytes);
  return found;
}

static size_t
needed (const sl_cuda_conv *e)
{
  size_t b = e->fwd_bytes > e->data_bytes ? e->fwd_bytes : e->data_bytes;

  return e->filter_bytes > b ? e->filter_bytes : b;
}

/* The cached entry for (d, n) whose algorithms need at most `limit` bytes of
 * scratch, made on first use: measured (cudnnFind) when planning, from
 * cuDNN's heuristics otherwise (a batch smaller than its plan's). Entries
 * only ever grow in number with new shapes. NULL after recording an error. */
static sl_cuda_conv *
lookup (sl_cuda *c, const sl_conv_desc *d, int n, size_t limit, bool planning)
{
  sl_cuda_conv *e;

  for (int i = 0; i < c->n_convs; i++)
    {
      e = &c->convs[i];
      if (e->n == n && memcmp (&e->d, d, sizeof *d) == 0 && needed (e) <= limit
          && (!planning || e->promised > 0))
        return e;
    }
  if (c->n_convs == c->cap_convs)
    {
      int cap = c->cap_convs ? 2 * c->cap_convs : 16;
      sl_cuda_conv *grown = realloc (c->convs, sizeof *grown * (size_t) cap);

      if (grown == NULL)
        {
          sl_cuda_check (c, cudaErrorMemoryAllocation, "planning a convolution");
          return NULL;
        }
      c->convs = grown;
      c->cap_convs = cap;
    }
  e = &c->convs[c->n_convs];
  memset (e, 0, sizeof *e);
  e->d = *d;
  e->n = n;
  if (!describe (c, e) || !choose_forward (c, e, limit, planning)
      || !choose_data (c, e, limit, planning) || !choose_filter (c, e, limit, planning))
    {
      if (!sl_cuda_failed (c))
        sl_cuda_check_dnn (c, CUDNN_STATUS_NOT_SUPPORTED,
                           "a convolution (no algorithm fits the GPU memory left for scratch; "
                           "try a smaller batch size)");
      entry_clear (e);
      return NULL;
    }
  e->promised = planning ? needed (e) + 1 : 0;
  c->n_convs++;
  return e;
}

size_t
sl_cuda_conv2d_workspace (sl_backend *be, const sl_conv_desc *d, int n)
{
  sl_cuda *c = sl_cuda_of (be);
  sl_cuda_conv *e;

  if (!sl_cuda_enter (c) || (e = lookup (c, d, n, c->workspace_limit, true)) == NULL)
    return 0; /* the error surfaces at the plan's sync */
  return pad_floats (d, n) + (needed (e) + sizeof (float) - 1) / sizeof (float);
}

/* With explicit padding: x padded into the front of ws, which then holds
 * only cuDNN's scratch. False (recorded) when ws cannot hold the copy. */
static bool
pad_input (sl_cuda *c, const sl_conv_desc *d, int n, const float **x, float **ws, size_t *ws_floats)
{
  const size_t pad = pad_floats (d, n);
  const sl_conv_desc v = cudnn_view (d);

  if (pad == 0)
    return true;
  if (*ws_floats < pad)
    return sl_cuda_check_dnn (c, CUDNN_STATUS_BAD_PARAM,
                              "a convolution's workspace (too small for its padded input)");
  sl_cuda_pad_planes (c, (size_t) n * d->in_c, d->in_h, d->in_w, d->ph, d->pw, v.in_h, v.in_w, *x,
                      *ws);
  *x = *ws;
  *ws += pad;
  *ws_floats -= pad;
  return !sl_cuda_failed (c);
}

void
sl_cuda_conv2d_forward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                        const float *w, const float *b, float *y, float *ws, size_t ws_floats)
{
  sl_cuda *c = sl_cuda_of (be);
  sl_cuda_conv *e;

  if (!sl_cuda_enter (c) || !pad_input (c, d, n, &x, &ws, &ws_floats)
      || (e = lookup (c, d, n, ws_floats * sizeof (float), false)) == NULL)
    return;
  if (sl_cuda_check_dnn (c,
                         cudnnConvolutionForward (c->dnn, &one, e->x, x, e->w, w, e->conv, e->fwd,
                                                  ws, e->fwd_bytes, &zero, e->y, y),
                         "conv2d forward")
      && b != NULL)
    sl_cuda_check_dnn (c, cudnnAddTensor (c->dnn, &one, e->bias, b, &one, e->y, y), "conv2d bias");
}

void
sl_cuda_conv2d_backward (sl_backend *be, const sl_conv_desc *d, int n, const float *x,
                         const float *w, const float *dy, float *dx, bool accumulate, float *dw,
                         float *db, float *ws, size_t ws_floats, float *scratch)
{
  sl_cuda *c = sl_cuda_of (be);
  float *padded = ws;
  sl_cuda_conv *e;

  if (!sl_cuda_enter (c) || !pad_input (c, d, n, &x, &ws, &ws_floats)
      || (e = lookup (c, d, n, ws_floats * sizeof (float), false)) == NULL)
    return;
  if (db != NULL
      && !sl_cuda_check_dnn (
          c, cudnnConvolutionBackwardBias (c->dnn, &one, e->y, dy, &zero, e->bias, db),
          "conv2d bias gradient"))
    return;
  if (dw != NULL
      && !sl_cuda_check_dnn (c,
                             cudnnConvolutionBackwardFilter (c->dnn, &one, e->x, x, e->y, dy,
                                                             e->conv, e->filter, ws,
                                                             e->filter_bytes, &zero, e->w, dw),
                             "conv2d weight gradient"))
    return;
  if (dx == NULL)
    return;
  if (!padded_explicitly (d))
    {
      sl_cuda_check_dnn (c,
                         cudnnConvolutionBackwardData (c->dnn, &one, e->w, w, e->y, dy, e->conv,
                                                       e->data, ws, e->data_bytes,
                                                       accumulate ? &one : &zero, e->x, dx),
                         "conv2d input gradient");
      return;
    }
  /* The padded input is no longer needed: its place takes the padded input
   * gradient, of which dx is the middle. */
  const sl_conv_desc v = cudnn_view (d);
  if (sl_cuda_check_dnn (c,
                         cudnnConvolutionBackwardData (c->dnn, &one, e->w, w, e->y, dy, e->conv,
                                                       e->data, ws, e->data_bytes, &zero, e->x,
                                                       padded),
                         "conv2d input gradient"))
    sl_cuda_crop_planes (c, (size_t) n * d->in_c, d->in_h, d->in_w, d->ph, d->pw, v.in_h, v.in_w,
                         padded, dx, accumulate);
}
