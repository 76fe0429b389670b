/* sl-device-registry.c: the process's device list, discovered once and shared, and each GPU's
 * self-check, run once per process.
 *
 * The runtime keeps no global mutable state except what must be process-wide, and this is that
 * case. The CUDA module is opened once per process and never unloaded (sl-device.c); a GPU is the
 * same GPU for every model, trainer and classifier in the process; discovering it again costs a
 * second or more of dlopen and driver start-up, and checking it again a batch through a model on
 * the GPU and on the CPU, for nothing. So:
 *
 * - one list, made by the first sl_device_registry_get under a mutex (concurrent first callers
 *   wait for it rather than discover twice), and replaced only when a caller asks
 *   (sl_device_registry_refresh: a driver or GPU installed meanwhile). Lists are reference
 *   counted and read-only once made, so a replaced list lives on while anyone holds it;
 * - the self-check outcomes in a table keyed by the module's file and the GPU's ordinal, so a
 *   refreshed list, or one from sl_device_list_new, does not check the same GPU again. A check
 *   that ran (passed, or found wrong numbers) is remembered; one that could not run (out of GPU
 *   memory while another program trains) is not, and runs at the next use. Checks run under
 *   their own mutex: two threads moving models to one GPU at once check it once.
 *
 * Nothing here runs at load or exit time; the registry's reference and the table stay reachable
 * until the process ends. */
#include "sl-backend-module-private.h"
#include "sl-device-private.h"
#include "sl-error-private.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The list ----------------------------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static sl_device_list *registry; /* the registry's own reference; NULL until first asked */

sl_status
sl_device_registry_get (sl_device_list **out, sl_error *err)
{
  sl_status st = SL_OK;

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_device_registry_get: out is NULL.");
  pthread_mutex_lock (&registry_lock);
  if (registry == NULL)
    st = sl_device_list_new (&registry, err);
  *out = st == SL_OK ? _sl_device_list_ref (registry) : NULL;
  pthread_mutex_unlock (&registry_lock);
  return st;
}

sl_status
sl_device_registry_refresh (sl_device_list **out, sl_error *err)
{
  sl_device_list *fresh = NULL, *old;
  sl_status st;

  if (out != NULL)
    *out = NULL;
  pthread_mutex_lock (&registry_lock);
  st = sl_device_list_new (&fresh, err);
  if (st == SL_OK)
    {
      old = registry;
      registry = fresh;
      if (out != NULL)
        *out = _sl_device_list_ref (fresh);
      sl_device_list_free (old);
    }
  pthread_mutex_unlock (&registry_lock);
  return st;
}

/* ---- The self-check, once per GPU per process ------------------------------------------- */

typedef struct
{
  char module[PATH_MAX]; /* the module's file */
  int ordinal;           /* the GPU's CUDA ordinal */
  sl_status verdict;     /* SL_OK: passed */
  char message[256];     /* the failure, to return again */
} CheckRecord;

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static CheckRecord *records;
static size_t n_records;

static const CheckRecord *
find_record (const char *module, int ordinal)
{
  for (size_t i = 0; i < n_records; i++)
    if (records[i].ordinal == ordinal && strcmp (records[i].module, module) == 0)
      return &records[i];
  return NULL;
}

/* Out of memory only means the check runs again next time. */
static void
remember (const char *module, int ordinal, sl_status verdict, const char *message)
{
  CheckRecord *grown = realloc (records, sizeof *records * (n_records + 1)), *r;

  if (grown == NULL)
    return;
  records = grown;
  r = &records[n_records++];
  snprintf (r->module, sizeof r->module, "%s", module);
  r->ordinal = ordinal;
  r->verdict = verdict;
  snprintf (r->message, sizeof r->message, "%s", verdict == SL_OK ? "" : message);
}

sl_status
_sl_device_self_check (sl_device_list *list, size_t index, sl_error *err)
{
  const sl_device_info *d = sl_device_list_get (list, index);
  const sl_backend_module *module = _sl_device_list_cuda_module (list);
  const char *path = _sl_device_list_module_path (list);
  const CheckRecord *done;
  sl_error check_err = { 0 };
  sl_backend *be = NULL;
  bool compared = false;
  sl_status st;

  if (d == NULL || d->kind != SL_DEVICE_CUDA || module == NULL || path == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "no GPU %zu in the device list to check", index);
  pthread_mutex_lock (&check_lock);
  done = find_record (path, d->index);
  if (done != NULL)
    st = done->verdict;
  else
    {
      /* A backend of its own, so the check leaves nothing behind in the model's. */
      st = module->backend_new (d->index, &be, &check_err);
      if (st == SL_OK)
        st = _sl_backend_self_check (be, d->id, &compared, &check_err); /* takes be over */
      if (compared)
        remember (path, d->index, st, check_err.message);
    }
  if (st != SL_OK)
    sl_error_set (err, st, "%s", done != NULL ? done->message : check_err.message);
  pthread_mutex_unlock (&check_lock);
  return st;
}
