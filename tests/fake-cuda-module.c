/* fake-cuda-module.c: stand-ins for libsightline-cuda.so, one per FAKE_VARIANT, for the device-list tests. */
#include "sl-backend-module-private.h"

#include <stdio.h>
#include <string.h>

#define FAKE_NO_DRIVER 1 /* loads, but reports no device: "no NVIDIA driver" */
#define FAKE_WRONG_ABI 2 /* built for another backend ABI */
#define FAKE_TWO_GPUS  3 /* one usable GPU and one too old */
#define FAKE_NO_ENTRY  4 /* a shared library without the entry symbol */
#define FAKE_EMULATED  5 /* one GPU that computes (fake-device-backend.c) */

#ifndef FAKE_VARIANT
#error "build with -DFAKE_VARIANT=n"
#endif

#if FAKE_VARIANT == FAKE_EMULATED
#include "fake-device-backend.h"
#endif

#define FAKE_EXPORT __attribute__ ((visibility ("default")))

/* Backends asked for so far: the self-check asks for one of its own, so tests
 * count how often it ran (fake_cuda_backend_new_calls, found with dlsym). */
static int backend_new_calls;

FAKE_EXPORT int fake_cuda_backend_new_calls (void);

FAKE_EXPORT int
fake_cuda_backend_new_calls (void)
{
  return __atomic_load_n (&backend_new_calls, __ATOMIC_SEQ_CST);
}

static int
fake_device_count (char *reason, size_t len)
{
#if FAKE_VARIANT == FAKE_TWO_GPUS
  return 2;
#elif FAKE_VARIANT == FAKE_EMULATED
  return 1;
#else
  snprintf (reason, len, "no NVIDIA driver");
  return 0;
#endif
}

static bool
fake_device_info (int index, sl_device_info *out)
{
#if FAKE_VARIANT == FAKE_EMULATED
  if (index == 0)
    {
      snprintf (out->name, sizeof out->name, "Emulated GPU");
      out->memory_bytes = (uint64_t) 1 << 30;
      out->compute_major = 9;
      out->usable = true;
      return true;
    }
#endif
  if (index == 0)
    {
      snprintf (out->name, sizeof out->name, "NVIDIA Fake A100");
      out->memory_bytes = (uint64_t) 40 << 30;
      out->compute_major = 8;
      out->compute_minor = 0;
      out->usable = true;
    }
  else if (index == 1)
    {
      snprintf (out->name, sizeof out->name, "NVIDIA Fake K80");
      out->memory_bytes = (uint64_t) 12 << 30;
      out->compute_major = 3;
      out->compute_minor = 7;
      out->usable = false;
      snprintf (out->reason, sizeof out->reason,
                "compute capability 3.7 is too old (5.0 or newer is needed)");
    }
  else
    return false;
  /* A module must not be trusted with the identity fields: the runtime sets them. */
  snprintf (out->id, sizeof out->id, "bogus");
  out->driver_version = 13000;
  out->runtime_version = 12080;
  return true;
}

static sl_status
fake_backend_new (int device, sl_backend **out, sl_error *err)
{
  __atomic_add_fetch (&backend_new_calls, 1, __ATOMIC_SEQ_CST);
#if FAKE_VARIANT == FAKE_EMULATED
  return fake_device_backend_new (out, err);
#endif
  if (err != NULL)
    {
      err->code = SL_ERR_DEVICE;
      snprintf (err->message, sizeof err->message, "The fake CUDA module cannot compute.");
    }
  return SL_ERR_DEVICE;
}

static const sl_backend_module fake_module = {
#if FAKE_VARIANT == FAKE_WRONG_ABI
  .abi_version = SL_BACKEND_ABI_VERSION + 41,
#else
  .abi_version = SL_BACKEND_ABI_VERSION,
#endif
  .device_count = fake_device_count,
  .device_info = fake_device_info,
  .backend_new = fake_backend_new,
};

#if FAKE_VARIANT == FAKE_NO_ENTRY
FAKE_EXPORT const sl_backend_module *fake_other_symbol (void);

FAKE_EXPORT const sl_backend_module *
fake_other_symbol (void)
{
  return &fake_module;
}
#else
FAKE_EXPORT const sl_backend_module *sl_cuda_module_entry (void);

FAKE_EXPORT const sl_backend_module *
sl_cuda_module_entry (void)
{
  return &fake_module;
}
#endif
