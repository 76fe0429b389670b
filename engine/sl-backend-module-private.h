/* sl-backend-module-private.h: the table a dlopen'd backend module (CUDA) hands to the runtime. */
#pragma once

#include "sl-backend-private.h"

/* The shared module the runtime looks for beside itself (see sl-device.c). */
#define SL_CUDA_MODULE_NAME "libsightline-cuda.so"
/* The one symbol the module exports: a function returning its table. */
#define SL_CUDA_MODULE_ENTRY "sl_cuda_module_entry"

/* abi_version comes first and stays first, so a module built for another
 * layout is refused before any other field is read. The table is static data
 * of the module and lives as long as the module stays open. */
typedef struct
{
  int abi_version; /* SL_BACKEND_ABI_VERSION of the headers the module was built with */
  /* Devices the module can drive (>= 0). With 0 it writes why into reason
   * (a sentence such as "no NVIDIA driver is installed"). */
  int (*device_count) (char *reason, size_t len);
  /* Fills name, memory_bytes, compute capability, versions, usable and reason
   * of device `index` (0 .. count - 1); out arrives zeroed; false if it failed. */
  bool (*device_info) (int index, sl_device_info *out);
  /* A backend computing on device `index` (for the training engine). */
  sl_status (*backend_new) (int device, sl_backend **out, sl_error *err);
} sl_backend_module;

typedef const sl_backend_module *(*sl_backend_module_entry_fn) (void);

/* The CUDA module of a device list, or NULL when it was not loaded or refused. */
const sl_backend_module *_sl_device_list_cuda_module (const sl_device_list *list);
