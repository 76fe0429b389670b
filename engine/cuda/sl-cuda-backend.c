/* sl-cuda-backend.c: the CUDA backend's function table, device memory, copies through pinned
 * staging, and errors turned into sl_status (never an abort). */
#include "sl-cuda-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Convolutions may use this much scratch at most, or a quarter of the free
 * memory when that is less (measured when a backend is made). */
#define WORKSPACE_LIMIT ((size_t) 1 << 30)

/* ---- Errors -------------------------------------------------------------------- */

static void fail (sl_cuda *c, sl_status code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
fail (sl_cuda *c, sl_status code, const char *fmt, ...)
{
  va_list ap;

  if (c->error != SL_OK)
    return; /* the first error is the one that explains the rest */
  c->error = code;
  va_start (ap, fmt);
  vsnprintf (c->message, sizeof c->message, fmt, ap);
  va_end (ap);
}

void
sl_cuda_describe (cudaError_t e, char *buf, size_t len)
{
  snprintf (buf, len, "%s (%s)", cudaGetErrorName (e), cudaGetErrorString (e));
}

static void
fail_nomem (sl_cuda *c, const char *what)
{
  fail (c, SL_ERR_NOMEM, "out of GPU memory in %s; try a smaller batch size", what);
}

bool
sl_cuda_check (sl_cuda *c, cudaError_t e, const char *what)
{
  char text[160];

  if (e == cudaSuccess)
    return true;
  if (e == cudaErrorMemoryAllocation)
    {
      cudaGetLastError (); /* not sticky: clear it */
      fail_nomem (c, what);
      return false;
    }
  sl_cuda_describe (e, text, sizeof text);
  fail (c, SL_ERR_DEVICE, "CUDA error in %s: %s", what, text);
  return false;
}

bool
sl_cuda_check_launch (sl_cuda *c, const char *what)
{
  return sl_cuda_check (c, cudaGetLastError (), what);
}

bool
sl_cuda_check_dnn (sl_cuda *c, cudnnStatus_t s, const char *what)
{
  if (s == CUDNN_STATUS_SUCCESS)
    return true;
  if (s == CUDNN_STATUS_ALLOC_FAILED)
    fail_nomem (c, what);
  else
    fail (c, SL_ERR_DEVICE, "cuDNN error in %s: %s", what, cudnnGetErrorString (s));
  return false;
}

bool
sl_cuda_check_blas (sl_cuda *c, cublasStatus_t s, const char *what)
{
  if (s == CUBLAS_STATUS_SUCCESS)
    return true;
  if (s == CUBLAS_STATUS_ALLOC_FAILED)
    fail_nomem (c, what);
  else
    fail (c, SL_ERR_DEVICE, "cuBLAS error in %s: %s (%s)", what, cublasGetStatusName (s),
          cublasGetStatusString (s));
  return false;
}

bool
sl_cuda_enter (sl_cuda *c)
{
  int current = -1;

  if (sl_cuda_failed (c))
    return false;
  /* The model may move between threads; each has its own current device. */
  if (cudaGetDevice (&current) == cudaSuccess && current == c->device)
    return true;
  return sl_cuda_check (c, cudaSetDevice (c->device), "selecting the GPU");
}

static sl_status
take_error (sl_cuda *c, sl_error *err)
{
  sl_status st = c->error;

  if (st != SL_OK && err != NULL)
    {
      err->code = st;
      snprintf (err->message, sizeof err->message, "cuda:%d: %s", c->device, c->message);
    }
  c->error = SL_OK;
  c->message[0] = '\0';
  return st;
}

/* ---- Memory and copies --------------------------------------------------------- */

static void *
cuda_alloc (sl_backend *be, size_t bytes)
{
  sl_cuda *c = sl_cuda_of (be);
  void *p = NULL;
  cudaError_t e;

  if (!sl_cuda_enter (c))
    return NULL;
  bytes = bytes == 0 ? 256 : (bytes + 255) & ~(size_t) 255;
  e = cudaMalloc (&p, bytes);
  if (e == cudaErrorMemoryAllocation)
    {
      cudaGetLastError (); /* the caller reports it, with the sizes it knows */
      return NULL;
    }
  if (!sl_cuda_check (c, e, "allocating GPU memory"))
    return NULL;
  if (!sl_cuda_check (c, cudaMemsetAsync (p, 0, bytes, c->stream), "clearing GPU memory"))
    {
      cudaFree (p);
      return NULL;
    }
  return p;
}

static void
cuda_release (sl_backend *be, void *ptr)
{
  sl_cuda *c = sl_cuda_of (be);

  if (ptr == NULL)
    return;
  /* Released blocks may still be read by queued work. */
  cudaSetDevice (c->device);
  cudaStreamSynchronize (c->stream);
  cudaFree (ptr);
}

/* A pinned slot of at least `bytes`, free of earlier copies; NULL if pinned
 * memory cannot be had (the caller then copies from pageable memory). */
static sl_cuda_staging *
staging_slot (sl_cuda *c, size_t bytes)
{
  sl_cuda_staging *s = &c->staging[c->next_staging];

  c->next_staging = (c->next_staging + 1) % SL_CUDA_STAGING_SLOTS;
  if (!sl_cuda_check (c, cudaEventSynchronize (s->done), "waiting for an upload"))
    return NULL;
  if (s->size < bytes)
    {
      void *host = NULL;

      if (cudaHostAlloc (&host, bytes, cudaHostAllocPortable) != cudaSuccess)
        {
          cudaGetLastError ();
          return NULL;
        }
      cudaFreeHost (s->host);
      s->host = host;
      s->size = bytes;
    }
  return s;
}

/* Host to device, in stream order: the caller's memory is copied into a
 * pinned slot at once (so it may be reused), the transfer runs while the host
 * goes on queueing work. */
static void
cuda_upload (sl_backend *be, void *dst, const void *src, size_t bytes)
{
  sl_cuda *c = sl_cuda_of (be);

  if (bytes == 0 || !sl_cuda_enter (c))
    return;
  for (size_t done = 0; done < bytes;)
    {
      size_t piece = bytes - done < SL_CUDA_STAGING_MAX ? bytes - done : SL_CUDA_STAGING_MAX;
      sl_cuda_staging *s = staging_slot (c, piece);

      if (sl_cuda_failed (c))
        return;
      if (s == NULL)
        {
          /* No pinned memory: a synchronous copy from the caller's memory. */
          if (!sl_cuda_check (c, cudaStreamSynchronize (c->stream), "uploading")
              || !sl_cuda_check (c,
                                 cudaMemcpy ((char *) dst + done, (const char *) src + done, piece,
                                             cudaMemcpyHostToDevice),
                                 "uploading"))
            return;
        }
      else
        {
          memcpy (s->host, (const char *) src + done, piece);
          if (!sl_cuda_check (c,
                              cudaMemcpyAsync ((char *) dst + done, s->host, piece,
                                               cudaMemcpyHostToDevice, c->stream),
                              "uploading")
              || !sl_cuda_check (c, cudaEventRecord (s->done, c->stream), "uploading"))
            return;
        }
      done += piece;
    }
}

static sl_status
cuda_sync (sl_backend *be, sl_error *err)
{
  sl_cuda *c = sl_cuda_of (be);

  if (sl_cuda_enter (c))
    sl_cuda_check (c, cudaStreamSynchronize (c->stream), "running queued GPU work");
  return take_error (c, err);
}

static sl_status
cuda_download (sl_backend *be, void *dst, const void *src, size_t bytes, sl_error *err)
{
  sl_cuda *c = sl_cuda_of (be);

  if (bytes > 0 && sl_cuda_enter (c))
    sl_cuda_check (c, cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToHost, c->stream),
                   "downloading");
  return cuda_sync (be, err);
}

static void
cuda_zero (sl_backend *be, void *dst, size_t bytes)
{
  sl_cuda *c = sl_cuda_of (be);

  if (bytes > 0 && sl_cuda_enter (c))
    sl_cuda_check (c, cudaMemsetAsync (dst, 0, bytes, c->stream), "clearing GPU memory");
}

static size_t
cuda_conv2d_grad_scratch_none (sl_backend *be, const sl_conv_desc *d)
{
  return 0; /* cuDNN sums weight gradients itself */
}

/* ---- Life cycle ------------------------------------------------------------------ */

static void
cuda_destroy (sl_backend *be)
{
  sl_cuda *c;

  if (be == NULL)
    return;
  c = sl_cuda_of (be);
  if (c != NULL)
    {
      cudaSetDevice (c->device);
      if (c->stream != NULL)
        cudaStreamSynchronize (c->stream);
      sl_cuda_conv_cache_clear (c);
      if (c->bn_x != NULL)
        cudnnDestroyTensorDescriptor (c->bn_x);
      if (c->bn_param != NULL)
        cudnnDestroyTensorDescriptor (c->bn_param);
      if (c->dnn != NULL)
        cudnnDestroy (c->dnn);
      if (c->blas != NULL)
        cublasDestroy (c->blas);
      for (int i = 0; i < SL_CUDA_STAGING_SLOTS; i++)
        {
          if (c->staging[i].done != NULL)
            cudaEventDestroy (c->staging[i].done);
          cudaFreeHost (c->staging[i].host);
        }
      if (c->stream != NULL)
        cudaStreamDestroy (c->stream);
      cudaGetLastError ();
    }
  free (c);
  free (be);
}

static const sl_backend_ops cuda_ops = {
  .abi_version = SL_BACKEND_ABI_VERSION,
  .name = "cuda",
  .host_memory = false,
  .destroy = cuda_destroy,
  .alloc = cuda_alloc,
  .release = cuda_release,
  .upload = cuda_upload,
  .download = cuda_download,
  .zero = cuda_zero,
  .sync = cuda_sync,
  .conv2d_workspace = sl_cuda_conv2d_workspace,
  .conv2d_grad_scratch = cuda_conv2d_grad_scratch_none,
  .conv2d_forward = sl_cuda_conv2d_forward,
  .conv2d_backward = sl_cuda_conv2d_backward,
  .dense_forward = sl_cuda_dense_forward,
  .dense_backward = sl_cuda_dense_backward,
  .batchnorm_forward = sl_cuda_batchnorm_forward,
  .batchnorm_backward = sl_cuda_batchnorm_backward,
  .batchnorm_backward_running = sl_cuda_batchnorm_backward_running,
  .activation_forward = sl_cuda_activation_forward,
  .activation_backward = sl_cuda_activation_backward,
  .pool_forward = sl_cuda_pool_forward,
  .pool_backward = sl_cuda_pool_backward,
  .global_avgpool_forward = sl_cuda_global_avgpool_forward,
  .global_avgpool_backward = sl_cuda_global_avgpool_backward,
  .dropout_forward = sl_cuda_dropout_forward,
  .mul_backward = sl_cuda_mul_backward,
  .add_forward = sl_cuda_add_forward,
  .copy_grad = sl_cuda_copy_grad,
  .softmax_xent = sl_cuda_softmax_xent,
  .softmax = sl_cuda_softmax,
  .optimizer_step = sl_cuda_optimizer_step,
  .all_finite = sl_cuda_all_finite,
};

/* Streams, library handles and a kernel run on the device; the first error says what failed. */
static void
cuda_setup (sl_cuda *c)
{
  size_t free_bytes = 0, total = 0;
  float *probe = NULL;

  if (!sl_cuda_check (c, cudaSetDevice (c->device), "selecting the GPU")
      || !sl_cuda_check (c, cudaStreamCreateWithFlags (&c->stream, cudaStreamNonBlocking),
                         "creating a stream"))
    return;
  for (int i = 0; i < SL_CUDA_STAGING_SLOTS; i++)
    if (!sl_cuda_check (c, cudaEventCreateWithFlags (&c->staging[i].done, cudaEventDisableTiming),
                        "creating an event"))
      return;
  if (!sl_cuda_check_blas (c, cublasCreate (&c->blas), "starting cuBLAS")
      || !sl_cuda_check_blas (c, cublasSetStream (c->blas, c->stream), "starting cuBLAS")
      /* Plain FP32 (no TF32 tensor cores), so results match the CPU's. */
      || !sl_cuda_check_blas (c, cublasSetMathMode (c->blas, CUBLAS_DEFAULT_MATH),
                              "starting cuBLAS")
      || !sl_cuda_check_dnn (c, cudnnCreate (&c->dnn), "starting cuDNN")
      || !sl_cuda_check_dnn (c, cudnnSetStream (c->dnn, c->stream), "starting cuDNN")
      || !sl_cuda_check_dnn (c, cudnnCreateTensorDescriptor (&c->bn_x), "starting cuDNN")
      || !sl_cuda_check_dnn (c, cudnnCreateTensorDescriptor (&c->bn_param), "starting cuDNN"))
    return;
  if (!sl_cuda_check (c, cudaMemGetInfo (&free_bytes, &total), "reading the GPU's memory"))
    return;
  c->workspace_limit = free_bytes / 4 < WORKSPACE_LIMIT ? free_bytes / 4 : WORKSPACE_LIMIT;
  if (!sl_cuda_check (c, cudaMalloc ((void **) &probe, sizeof (float)), "allocating GPU memory"))
    return;
  cudaError_t e = sl_cuda_probe_kernels (c->stream, probe);
  if (e == cudaSuccess)
    e = cudaStreamSynchronize (c->stream);
  cudaFree (probe);
  if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorUnsupportedPtxVersion
      || e == cudaErrorInvalidPtx)
    {
      char text[160];

      sl_cuda_describe (e, text, sizeof text);
      fail (c, SL_ERR_DEVICE,
            "this build of Sightline has no GPU code for this device (it was compiled for "
            "compute capability 9.0 and newer, with PTX for the driver to translate): %s",
            text);
      return;
    }
  sl_cuda_check (c, e, "running a test kernel");
}

sl_status
sl_cuda_backend_new (int device, sl_backend **out, sl_error *err)
{
  sl_backend *be = calloc (1, sizeof *be);
  sl_cuda *c = calloc (1, sizeof *c);
  sl_status st;

  *out = NULL;
  if (be == NULL || c == NULL)
    {
      free (be);
      free (c);
      if (err != NULL)
        {
          err->code = SL_ERR_NOMEM;
          snprintf (err->message, sizeof err->message, "out of memory creating a GPU backend");
        }
      return SL_ERR_NOMEM;
    }
  c->device = device;
  be->ops = &cuda_ops;
  be->priv = c;
  cuda_setup (c);
  st = take_error (c, err);
  if (st != SL_OK)
    {
      cuda_destroy (be);
      return st;
    }
  *out = be;
  return SL_OK;
}
