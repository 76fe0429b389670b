/* sl-checkpoint.c: saving and restoring a training run (weights, statistics, optimizer state).
 *
 * Layout: magic "SLCKPT\r\n", u32 version, u32 header length, a JSON header,
 * zero padding to 64 bytes, then float blocks (params, state, moments), then a
 * CRC-32 of everything before it. All integers little-endian. The moments
 * cover only the trainable parameters (the header's "trainable", the last
 * ones); version 2 marks a file with a frozen prefix, which version 1
 * readers would misread. */
#include "sl-trainer-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC          "SLCKPT\r\n"
#define VERSION        1u /* no frozen layers: every parameter has moments */
#define VERSION_FROZEN 2u
#define MAX_HEADER     (16u << 20)
#define MAX_FILE       ((size_t) 8 << 30)

static void
put_u32 (uint8_t *b, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t
get_u32 (const uint8_t *b)
{
  return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

static size_t
data_offset (size_t header_len)
{
  return (16 + header_len + 63) & ~(size_t) 63;
}

sl_status
sl_trainer_save_checkpoint (sl_trainer *t, const char *path, sl_error *err)
{
  sl_model *m = t->model;
  char *model_json = _sl_model_serialize (m), *header = NULL;
  cJSON *doc = cJSON_CreateObject ();
  uint8_t head[16] = MAGIC, pad[64] = { 0 }, tail[4];
  sl_atomic_file af;
  sl_status st;
  size_t header_len;
  float *moments = NULL;
  const size_t n_moments = 2 * t->n_trainable;

  /* Weights and optimizer state as they are on the device, in host memory. */
  if ((st = _sl_model_pull_host (m, err)) != SL_OK)
    {
      free (model_json);
      cJSON_Delete (doc);
      return st;
    }
  if (m->backend->ops->host_memory)
    moments = t->moments;
  else if ((moments = malloc (sizeof (float) * n_moments + 1)) == NULL)
    goto nomem;
  else if ((st = m->backend->ops->download (m->backend, moments, t->moments,
                                            sizeof (float) * n_moments, err))
           != SL_OK)
    {
      free (moments);
      free (model_json);
      cJSON_Delete (doc);
      return st;
    }
  if (model_json == NULL || doc == NULL)
    goto nomem;
  cJSON_AddStringToObject (doc, "model", model_json);
  cJSON_AddNumberToObject (doc, "step", (double) t->step);
  cJSON_AddNumberToObject (doc, "epoch", (double) t->epoch);
  cJSON_AddNumberToObject (doc, "optimizer", (double) t->config.optimizer);
  cJSON_AddNumberToObject (doc, "params", (double) m->n_params);
  cJSON_AddNumberToObject (doc, "state", (double) m->n_state);
  cJSON_AddNumberToObject (doc, "trainable", (double) t->n_trainable);
  cJSON_AddNumberToObject (doc, "frozen_layers", (double) m->n_frozen);
  cJSON_AddStringToObject (doc, "software", sl_version_string ());
  header = cJSON_PrintUnformatted (doc);
  if (header == NULL)
    goto nomem;
  header_len = strlen (header);
  put_u32 (head + 8, m->n_frozen > 0 ? VERSION_FROZEN : VERSION);
  put_u32 (head + 12, (uint32_t) header_len);

  st = sl_atomic_file_open (&af, path, err);
  if (st == SL_OK)
    {
      sl_atomic_file_write (&af, head, sizeof head);
      sl_atomic_file_write (&af, header, header_len);
      sl_atomic_file_write (&af, pad, data_offset (header_len) - 16 - header_len);
      sl_atomic_file_write (&af, m->host_params, sizeof (float) * m->n_params);
      sl_atomic_file_write (&af, m->host_state, sizeof (float) * m->n_state);
      sl_atomic_file_write (&af, moments, sizeof (float) * n_moments);
      put_u32 (tail, af.crc);
      af.crc = 0;
      sl_atomic_file_write (&af, tail, sizeof tail);
      st = sl_atomic_file_commit (&af, err);
    }
  if (moments != t->moments)
    free (moments);
  free (model_json);
  free (header);
  cJSON_Delete (doc);
  return st;

nomem:
  if (moments != t->moments)
    free (moments);
  free (model_json);
  free (header);
  cJSON_Delete (doc);
  return sl_error_set (err, SL_ERR_NOMEM, "out of memory saving %s", path);
}

static sl_status
header_number (const cJSON *doc, const char *key, double *out, const char *path, sl_error *err)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (doc, key);

  if (!cJSON_IsNumber (v) || v->valuedouble < 0)
    return sl_error_set (err, SL_ERR_FORMAT, "%s: the checkpoint header lacks '%s'", path, key);
  *out = v->valuedouble;
  return SL_OK;
}

/* A checkpoint read into memory and checked: magic, version, size and CRC. */
typedef struct
{
  uint8_t *buf;
  size_t len;
  cJSON *doc;
  const char *model_json;
  size_t data_off;
  double step, epoch, optimizer, n_params, n_state;
  double n_trainable, n_frozen; /* n_params and 0 in version 1 */
} checkpoint;

static void
checkpoint_clear (checkpoint *c)
{
  cJSON_Delete (c->doc);
  free (c->buf);
  memset (c, 0, sizeof *c);
}

static sl_status
checkpoint_read (const char *path, checkpoint *c, sl_error *err)
{
  const cJSON *model;
  size_t header_len, need;
  sl_status st;

  memset (c, 0, sizeof *c);
  st = sl_file_read_all (path, MAX_FILE, &c->buf, &c->len, err);
  if (st != SL_OK)
    return st;
  st = SL_ERR_FORMAT;
  if (c->len < 20 || memcmp (c->buf, MAGIC, 8) != 0)
    {
      sl_error_set (err, st, "%s is not a Sightline checkpoint", path);
      goto fail;
    }
  if (get_u32 (c->buf + 8) != VERSION && get_u32 (c->buf + 8) != VERSION_FROZEN)
    {
      sl_error_set (err, st, "%s was written by a newer Sightline (checkpoint version %u)", path,
                    get_u32 (c->buf + 8));
      goto fail;
    }
  header_len = get_u32 (c->buf + 12);
  if (header_len > MAX_HEADER || data_offset (header_len) + 4 > c->len)
    {
      sl_error_set (err, st, "%s is truncated", path);
      goto fail;
    }
  if (sl_crc32 (0, c->buf, c->len - 4) != get_u32 (c->buf + c->len - 4))
    {
      sl_error_set (err, st, "%s is damaged (checksum mismatch)", path);
      goto fail;
    }
  c->doc = cJSON_ParseWithLength ((const char *) c->buf + 16, header_len);
  if (c->doc == NULL)
    {
      sl_error_set (err, st, "%s has an unreadable header", path);
      goto fail;
    }
  if (header_number (c->doc, "step", &c->step, path, err) != SL_OK
      || header_number (c->doc, "epoch", &c->epoch, path, err) != SL_OK
      || header_number (c->doc, "optimizer", &c->optimizer, path, err) != SL_OK
      || header_number (c->doc, "params", &c->n_params, path, err) != SL_OK
      || header_number (c->doc, "state", &c->n_state, path, err) != SL_OK)
    goto fail;
  c->n_trainable = c->n_params;
  c->n_frozen = 0;
  if (get_u32 (c->buf + 8) == VERSION_FROZEN
      && (header_number (c->doc, "trainable", &c->n_trainable, path, err) != SL_OK
          || header_number (c->doc, "frozen_layers", &c->n_frozen, path, err) != SL_OK))
    goto fail;
  if (c->n_trainable > c->n_params)
    {
      sl_error_set (err, st, "%s has a damaged header ('trainable')", path);
      goto fail;
    }
  model = cJSON_GetObjectItemCaseSensitive (c->doc, "model");
  if (!cJSON_IsString (model))
    {
      sl_error_set (err, st, "%s lacks its model description", path);
      goto fail;
    }
  c->model_json = model->valuestring;
  c->data_off = data_offset (header_len);
  need
      = sizeof (float) * ((size_t) c->n_params + 2 * (size_t) c->n_trainable + (size_t) c->n_state);
  if (c->n_params > (double) (MAX_FILE / 4) || c->n_state > (double) (MAX_FILE / 4)
      || c->len - 4 - c->data_off != need)
    {
      sl_error_set (err, st, "%s holds %zu bytes of weights where %zu are expected", path,
                    c->len - 4 - c->data_off, need);
      goto fail;
    }
  return SL_OK;

fail:
  checkpoint_clear (c);
  return st;
}

sl_status
sl_trainer_load_checkpoint (sl_trainer *t, const char *path, sl_error *err)
{
  sl_model *m = t->model;
  checkpoint c;
  char *mine = NULL;
  size_t off;
  sl_status st;

  st = checkpoint_read (path, &c, err);
  if (st != SL_OK)
    return st;
  /* The same network frozen elsewhere: say so, rather than "another model". */
  if (c.n_params == (double) m->n_params
      && ((int) c.n_frozen != m->n_frozen || c.n_trainable != (double) t->n_trainable))
    {
      st = sl_error_set (err, SL_ERR_INVALID,
                         "%s was saved with %d frozen layers (%.0f trainable parameters), but "
                         "this model has %d (%zu): resume with the same fine-tuning setting",
                         path, (int) c.n_frozen, c.n_trainable, m->n_frozen, t->n_trainable);
      goto out;
    }
  mine = _sl_model_serialize (m);
  if (mine == NULL || strcmp (c.model_json, mine) != 0 || c.n_params != (double) m->n_params
      || c.n_state != (double) m->n_state)
    {
      st = sl_error_set (err, SL_ERR_INVALID,
                         "%s was saved from a different model description; it cannot resume "
                         "this one",
                         path);
      goto out;
    }
  if ((int) c.optimizer != (int) t->config.optimizer)
    {
      st = sl_error_set (err, SL_ERR_INVALID,
                         "%s was saved with another optimizer; resume with the same settings",
                         path);
      goto out;
    }
  /* Everything is checked: only now is the trainer changed. */
  off = c.data_off;
  memcpy (m->host_params, c.buf + off, sizeof (float) * m->n_params);
  off += sizeof (float) * m->n_params;
  memcpy (m->host_state, c.buf + off, sizeof (float) * m->n_state);
  off += sizeof (float) * m->n_state;
  m->backend->ops->upload (m->backend, t->moments, c.buf + off,
                           2 * sizeof (float) * t->n_trainable);
  st = _sl_model_push_host (m, err);
  if (st != SL_OK)
    goto out;
  t->step = (int64_t) c.step;
  t->epoch = (int64_t) c.epoch;

out:
  free (mine);
  checkpoint_clear (&c);
  return st;
}

sl_status
sl_model_load_checkpoint (const char *path, sl_model **out, sl_error *err)
{
  checkpoint c;
  sl_model *m = NULL;
  sl_status st;

  if (out == NULL || path == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_load_checkpoint: missing path or result");
  *out = NULL;
  st = checkpoint_read (path, &c, err);
  if (st != SL_OK)
    return st;
  st = _sl_model_build (c.model_json, 0, &m, err);
  if (st != SL_OK)
    sl_error_prefix (err, "%s", path);
  else if (c.n_params != (double) m->n_params || c.n_state != (double) m->n_state)
    st = sl_error_set (err, SL_ERR_FORMAT, "%s: its weights do not fit its own model description",
                       path);
  if (st == SL_OK)
    {
      memcpy (m->host_params, c.buf + c.data_off, sizeof (float) * m->n_params);
      memcpy (m->host_state, c.buf + c.data_off + sizeof (float) * m->n_params,
              sizeof (float) * m->n_state);
      st = _sl_model_push_host (m, err);
    }
  if (st == SL_OK)
    {
      *out = m;
      m = NULL;
    }
  sl_model_free (m);
  checkpoint_clear (&c);
  return st;
}
