/* sl-cuda-module.c: the module's one export: its table, with device discovery that says precisely
 * why a GPU cannot be used. */
#include "sl-backend-module-private.h"
#include "sl-cuda-private.h"

#include <cudnn_version.h>
#include <stdio.h>
#include <string.h>

/* The oldest compute capability this build has code for (meson.build: sm_90
 * and PTX for compute_90, which newer GPUs' drivers translate). */
#ifndef SL_CUDA_MIN_MAJOR
#define SL_CUDA_MIN_MAJOR 9
#endif
#ifndef SL_CUDA_MIN_MINOR
#define SL_CUDA_MIN_MINOR 0
#endif

#define SL_CUDA_EXPORT __attribute__ ((visibility ("default")))

/* CUDA's version numbers: 13000 is 13.0. */
static void
version_text (int v, char *buf, size_t len)
{
  snprintf (buf, len, "%d.%d", v / 1000, (v % 1000) / 10);
}

/* cuDNN 9 loads lazily: a mismatch between the headers and the library
 * found at run time is caught here, with words a user can act on. */
static bool
libraries_fit (char *reason, size_t len)
{
  size_t dnn = cudnnGetVersion ();
  int blas = 0;

  if (dnn / 10000 != CUDNN_MAJOR)
    {
      snprintf (reason, len,
                "cuDNN %zu.%zu was found, but this build needs cuDNN %d; install the cuDNN "
                "that came with Sightline",
                dnn / 10000, (dnn % 10000) / 100, CUDNN_MAJOR);
      return false;
    }
  if (cublasGetProperty (MAJOR_VERSION, &blas) != CUBLAS_STATUS_SUCCESS || blas != CUBLAS_VER_MAJOR)
    {
      snprintf (reason, len,
                "cuBLAS %d was found, but this build needs cuBLAS %d; install the CUDA "
                "libraries that came with Sightline",
                blas, CUBLAS_VER_MAJOR);
      return false;
    }
  return true;
}

static int
device_count (char *reason, size_t len)
{
  int n = 0, driver = 0, runtime = 0;
  char have[16], need[16], text[160];
  cudaError_t e;

  cudaDriverGetVersion (&driver); /* 0 when no driver is installed */
  cudaRuntimeGetVersion (&runtime);
  e = cudaGetDeviceCount (&n);
  cudaGetLastError ();
  version_text (driver, have, sizeof have);
  version_text (runtime, need, sizeof need);
  if (e == cudaSuccess && n > 0)
    return libraries_fit (reason, len) ? n : 0;
  if (driver == 0)
    snprintf (reason, len,
              "no NVIDIA driver is installed (libcuda.so.1 was not found); install the NVIDIA "
              "driver for CUDA %s or newer",
              need);
  else if (e == cudaErrorInsufficientDriver || e == cudaErrorCallRequiresNewerDriver
           || driver < runtime)
    snprintf (reason, len,
              "the NVIDIA driver supports CUDA %s, but Sightline's GPU code needs CUDA %s; "
              "update the NVIDIA driver",
              have, need);
  else if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
    snprintf (reason, len,
              "no NVIDIA GPU was found (the driver, for CUDA %s, is installed; check nvidia-smi "
              "and CUDA_VISIBLE_DEVICES)",
              have);
  else if (e == cudaErrorDevicesUnavailable)
    snprintf (reason, len,
              "the NVIDIA GPUs are busy or reserved by another program (exclusive compute "
              "mode); check nvidia-smi");
  else if (e == cudaErrorSystemDriverMismatch || e == cudaErrorCompatNotSupportedOnDevice)
    {
      sl_cuda_describe (e, text, sizeof text);
      snprintf (reason, len,
                "the NVIDIA kernel driver and its user-space library do not match: %s; "
                "reinstall the driver or restart the computer",
                text);
    }
  else
    {
      sl_cuda_describe (e, text, sizeof text);
      snprintf (reason, len, "CUDA could not start: %s", text);
    }
  return 0;
}

static bool
device_info (int index, sl_device_info *out)
{
  struct cudaDeviceProp p;
  int mode = cudaComputeModeDefault;
  cudaError_t e;

  memset (&p, 0, sizeof p);
  e = cudaGetDeviceProperties (&p, index);
  if (e != cudaSuccess)
    {
      cudaGetLastError ();
      return false;
    }
  snprintf (out->name, sizeof out->name, "%s", p.name);
  out->memory_bytes = p.totalGlobalMem;
  out->compute_major = p.major;
  out->compute_minor = p.minor;
  cudaDriverGetVersion (&out->driver_version);
  cudaRuntimeGetVersion (&out->runtime_version);
  if (cudaDeviceGetAttribute (&mode, cudaDevAttrComputeMode, index) != cudaSuccess)
    cudaGetLastError ();
  out->usable = false;
  if (p.major < SL_CUDA_MIN_MAJOR || (p.major == SL_CUDA_MIN_MAJOR && p.minor < SL_CUDA_MIN_MINOR))
    snprintf (out->reason, sizeof out->reason,
              "compute capability %d.%d is older than %d.%d, the oldest this build of Sightline "
              "has GPU code for (H100 and newer)",
              p.major, p.minor, SL_CUDA_MIN_MAJOR, SL_CUDA_MIN_MINOR);
  else if (mode == cudaComputeModeProhibited)
    snprintf (out->reason, sizeof out->reason,
              "the GPU is set to compute-prohibited mode (see nvidia-smi -c)");
  else
    out->usable = true;
  return true;
}

static const sl_backend_module cuda_module = {
  .abi_version = SL_BACKEND_ABI_VERSION,
  .device_count = device_count,
  .device_info = device_info,
  .backend_new = sl_cuda_backend_new,
};

SL_CUDA_EXPORT const sl_backend_module *sl_cuda_module_entry (void);

const sl_backend_module *
sl_cuda_module_entry (void)
{
  return &cuda_module;
}
