/* sl-device-private.h: backends from the device list, shared by models and the self-check. */
#pragma once

#include "sl-backend-private.h"

/* A list stays alive (and its CUDA module open) while a model computes with
 * one of its backends: models hold a reference; sl_device_list_free drops one. */
sl_device_list *_sl_device_list_ref (sl_device_list *list);

/* A backend computing on entry `index` of list: the CPU with `threads`
 * threads, or a usable GPU. With self_check, a GPU is compared with the CPU
 * the first time the process uses it (_sl_device_self_check); a failed
 * comparison is remembered and returned again. SL_ERR_DEVICE with the reason when the
 * device is not usable. */
sl_status _sl_device_list_backend_new (sl_device_list *list, size_t index, int threads,
                                       bool self_check, sl_backend **out, sl_error *err);

/* The file the list's CUDA module was opened from, or NULL without one. */
const char *_sl_device_list_module_path (const sl_device_list *list);

/* sl-device-registry.c: the self-check of GPU entry `index` of list, run once
 * per GPU per process (keyed by module file and ordinal, whatever list asks):
 * its outcome, a remembered one when the check ran before. */
sl_status _sl_device_self_check (sl_device_list *list, size_t index, sl_error *err);

/* sl-self-check.c: runs one batch forward and backward through a small model
 * with every layer kind, and one optimizer step, on `be` and on the CPU, and
 * compares them. `device` names the device in the message; be is taken over.
 * *compared says whether the comparison ran (its verdict is the status); when
 * false the check could not run (out of memory, a device error). */
sl_status _sl_backend_self_check (sl_backend *be, const char *device, bool *compared,
                                  sl_error *err);
