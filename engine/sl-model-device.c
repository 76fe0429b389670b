/* sl-model-device.c: moving a model between the CPU and the GPUs of the device list. */
#include "sl-model-private.h"
#include "sl-device-private.h"
#include "sl-error-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The list entry for id, or an error saying why there is none: a GPU asked
 * for by name gets the list's reason, not its "training uses the CPU". */
static sl_status
resolve (sl_device_list *list, const char *id, size_t *index, sl_error *err)
{
  const sl_device_info *d = sl_device_list_find (list, id);
  const char *why = sl_device_list_gpu_reason (list);

  if (d == NULL && why[0] != '\0')
    return sl_error_set (err, SL_ERR_DEVICE, "cannot compute on %s: %s", id, why);
  if (d == NULL)
    return sl_error_set (err, SL_ERR_DEVICE,
                         "cannot compute on %s: there is no such GPU (see sightline-cli "
                         "devices)",
                         id);
  if (!d->usable)
    return sl_error_set (err, SL_ERR_DEVICE, "cannot compute on %s (%s): %s", d->id, d->name,
                         d->reason);
  for (size_t i = 0; i < sl_device_list_count (list); i++)
    if (sl_device_list_get (list, i) == d)
      *index = i;
  return SL_OK;
}

/* New weight blocks on be, holding the model's current weights. */
static sl_status
copy_weights (sl_model *m, sl_backend *be, float **params, float **state, float **host_params,
              float **host_state, sl_error *err)
{
  const size_t pb = sizeof (float) * m->n_params, sb = sizeof (float) * m->n_state;
  sl_status st;

  *host_params = *host_state = NULL;
  *params = be->ops->alloc (be, pb);
  *state = be->ops->alloc (be, sb);
  if (*params == NULL || *state == NULL)
    st = sl_error_set (err, SL_ERR_NOMEM,
                       "out of %s memory for the %zu parameters of the model; free memory or use "
                       "a smaller model",
                       be->ops->host_memory ? "main" : "GPU", m->n_params);
  else if (be->ops->host_memory)
    {
      memcpy (*params, m->host_params, pb);
      memcpy (*state, m->host_state, sb);
      *host_params = *params;
      *host_state = *state;
      return SL_OK;
    }
  else if ((*host_params = malloc (pb ? pb : 1)) == NULL
           || (*host_state = malloc (sb ? sb : 1)) == NULL)
    st = sl_error_set (err, SL_ERR_NOMEM, "out of memory for %zu parameters", m->n_params);
  else
    {
      memcpy (*host_params, m->host_params, pb);
      memcpy (*host_state, m->host_state, sb);
      be->ops->upload (be, *params, *host_params, pb);
      be->ops->upload (be, *state, *host_state, sb);
      if ((st = be->ops->sync (be, err)) == SL_OK)
        return SL_OK;
    }
  if (!be->ops->host_memory)
    {
      free (*host_params);
      free (*host_state);
    }
  if (*params != NULL)
    be->ops->release (be, *params);
  if (*state != NULL)
    be->ops->release (be, *state);
  return st;
}

/* Moves the model onto be (taken over), which computes on entry index of
 * list (NULL for the CPU; a reference the model takes over). */
static sl_status
move_to (sl_model *m, sl_backend *be, sl_device_list *list, size_t index, sl_error *err)
{
  float *params, *state, *host_params, *host_state;
  sl_status st;

  st = _sl_model_pull_host (m, err);
  if (st == SL_OK)
    st = copy_weights (m, be, &params, &state, &host_params, &host_state, err);
  if (st != SL_OK)
    {
      be->ops->destroy (be);
      sl_device_list_free (list);
      return st;
    }
  /* Everything on the old device goes, with the backend last. */
  _sl_model_drop_predict_plans (m);
  _sl_plan_free (m, m->features_plan);
  m->features_plan = NULL;
  _sl_model_drop_tap_plans (m);
  if (m->host_params != m->params)
    free (m->host_params);
  if (m->host_state != m->state)
    free (m->host_state);
  m->backend->ops->release (m->backend, m->params);
  m->backend->ops->release (m->backend, m->state);
  m->backend->ops->destroy (m->backend);
  sl_device_list_free (m->devices);

  m->backend = be;
  m->params = params;
  m->state = state;
  m->host_params = host_params;
  m->host_state = host_state;
  m->host_stale = false;
  m->devices = list;
  m->device_index = list != NULL ? (int) index : 0;
  snprintf (m->device, sizeof m->device, "%s",
            list != NULL ? sl_device_list_get (list, index)->id : "cpu");
  return SL_OK;
}

sl_status
sl_model_set_device (sl_model *m, sl_device_list *devices, const char *device, sl_error *err)
{
  sl_device_list *list = NULL;
  sl_backend *be = NULL;
  size_t index = 0;
  sl_device_kind kind;
  sl_status st;

  if (m == NULL || device == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_set_device: missing model or device");
  if (m->shares_weights)
    return sl_error_set (err, SL_ERR_INVALID,
                         "a shared model handle computes where its model does; move the model");
  if (m->trainers > 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "a trainer is using the model: choose its device before creating the "
                         "trainer");
  if ((st = sl_device_id_parse (device, &kind, NULL, err)) != SL_OK)
    return st;
  if (kind == SL_DEVICE_CPU)
    {
      if (m->backend->ops->host_memory)
        return SL_OK;
      st = _sl_cpu_backend_new (m->threads, &be, err);
      return st == SL_OK ? move_to (m, be, NULL, 0, err) : st;
    }
  if (devices != NULL)
    list = _sl_device_list_ref (devices);
  else if ((st = sl_device_registry_get (&list, err)) != SL_OK)
    return st;
  st = resolve (list, device, &index, err);
  if (st == SL_OK && m->devices == list && (size_t) m->device_index == index)
    {
      sl_device_list_free (list); /* already there */
      return SL_OK;
    }
  if (st == SL_OK)
    st = _sl_device_list_backend_new (list, index, m->threads, true, &be, err);
  if (st != SL_OK)
    {
      sl_device_list_free (list);
      return st;
    }
  return move_to (m, be, list, index, err);
}
