/* stand-in-cuda-links.c: with tests/fake-cuda-module.c (no driver variant), a stand-in for
 * libsightline-cuda.so that links and calls the CUDA runtime, cuBLAS, cuBLASLt and cuDNN as
 * the real module does, so the bundle test can prove where those libraries are loaded from in
 * a build without the real module (no nvcc). Never part of a bundle that is shipped. */
#include <cublasLt.h>
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

__attribute__ ((constructor)) static void
stand_in_touch_cuda (void)
{
  int count = 0, major = 0;

  /* Looks for the driver's libcuda.so.1, which is the system's (or missing). */
  (void) cudaGetDeviceCount (&count);
  (void) cublasGetProperty (MAJOR_VERSION, &major);
  (void) cublasLtGetVersion ();
  (void) cudnnGetVersion ();
}
