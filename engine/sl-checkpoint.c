/* sl-checkpoint.c: saving and restoring a training run (weights, statistics, optimizer state).
 *
 * Layout: magic "SLCKPT\r\n", u32 version, u32 header length, a JSON header,
 * zero padding to 64 bytes, then float blocks (params, state, moments), then a
 * CRC-32 of everything before it. All integers little-endian. */
#include "sl-trainer-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC      "SLCKPT\r\n"
#define VERSION    1u
#define MAX_HEADER (16u << 20)
#define MAX_FILE   ((size_t) 8 << 30)

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
  char *model_json = sl_model_serialize (m), *header = NULL;
  cJSON *doc = cJSON_CreateObject ();
  uint8_t head[16] = MAGIC, pad[64] = { 0 }, tail[4];
  sl_atomic_file af;
  sl_status st;
  size_t header_len;

  if (model_json == NULL || doc == NULL)
    goto nomem;
  cJSON_AddStringToObject (doc, "model", model_json);
  cJSON_AddNumberToObject (doc, "step", (double) t->step);
  cJSON_AddNumberToObject (doc, "epoch", (double) t->epoch);
  cJSON_AddNumberToObject (doc, "optimizer", (double) t->config.optimizer);
  cJSON_AddNumberToObject (doc, "params", (double) m->n_params);
  cJSON_AddNumberToObject (doc, "state", (double) m->n_state);
  cJSON_AddStringToObject (doc, "software", sl_version_string ());
  header = cJSON_PrintUnformatted (doc);
  if (header == NULL)
    goto nomem;
  header_len = strlen (header);
  put_u32 (head + 8, VERSION);
  put_u32 (head + 12, (uint32_t) header_len);

  st = sl_atomic_file_open (&af, path, err);
  if (st == SL_OK)
    {
      sl_atomic_file_write (&af, head, sizeof head);
      sl_atomic_file_write (&af, header, header_len);
      sl_atomic_file_write (&af, pad, data_offset (header_len) - 16 - header_len);
      sl_atomic_file_write (&af, m->params, sizeof (float) * m->n_params);
      sl_atomic_file_write (&af, m->state, sizeof (float) * m->n_state);
      sl_atomic_file_write (&af, t->moments, 2 * sizeof (float) * m->n_params);
      put_u32 (tail, af.crc);
      af.crc = 0;
      sl_atomic_file_write (&af, tail, sizeof tail);
      st = sl_atomic_file_commit (&af, err);
    }
  free (model_json);
  free (header);
  cJSON_Delete (doc);
  return st;

nomem:
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

sl_status
sl_trainer_load_checkpoint (sl_trainer *t, const char *path, sl_error *err)
{
  sl_model *m = t->model;
  uint8_t *buf = NULL;
  size_t len = 0, header_len, off, need;
  cJSON *doc = NULL;
  char *mine = NULL;
  double step = 0, epoch = 0, optimizer = 0, n_params = 0, n_state = 0;
  const cJSON *model;
  sl_status st;

  st = sl_file_read_all (path, MAX_FILE, &buf, &len, err);
  if (st != SL_OK)
    return st;
  st = SL_ERR_FORMAT;
  if (len < 20 || memcmp (buf, MAGIC, 8) != 0)
    {
      sl_error_set (err, st, "%s is not a Sightline checkpoint", path);
      goto out;
    }
  if (get_u32 (buf + 8) != VERSION)
    {
      sl_error_set (err, st, "%s was written by a newer Sightline (checkpoint version %u)", path,
                    get_u32 (buf + 8));
      goto out;
    }
  header_len = get_u32 (buf + 12);
  if (header_len > MAX_HEADER || data_offset (header_len) + 4 > len)
    {
      sl_error_set (err, st, "%s is truncated", path);
      goto out;
    }
  if (sl_crc32 (0, buf, len - 4) != get_u32 (buf + len - 4))
    {
      sl_error_set (err, st, "%s is damaged (checksum mismatch)", path);
      goto out;
    }
  doc = cJSON_ParseWithLength ((const char *) buf + 16, header_len);
  if (doc == NULL || header_number (doc, "step", &step, path, err) != SL_OK
      || header_number (doc, "epoch", &epoch, path, err) != SL_OK
      || header_number (doc, "optimizer", &optimizer, path, err) != SL_OK
      || header_number (doc, "params", &n_params, path, err) != SL_OK
      || header_number (doc, "state", &n_state, path, err) != SL_OK)
    {
      if (doc == NULL)
        sl_error_set (err, st, "%s has an unreadable header", path);
      goto out;
    }
  model = cJSON_GetObjectItemCaseSensitive (doc, "model");
  mine = sl_model_serialize (m);
  if (!cJSON_IsString (model) || mine == NULL || strcmp (model->valuestring, mine) != 0
      || n_params != (double) m->n_params || n_state != (double) m->n_state)
    {
      st = sl_error_set (err, SL_ERR_INVALID,
                         "%s was saved from a different model description; it cannot resume "
                         "this one",
                         path);
      goto out;
    }
  if ((int) optimizer != (int) t->config.optimizer)
    {
      st = sl_error_set (err, SL_ERR_INVALID,
                         "%s was saved with another optimizer; resume with the same settings",
                         path);
      goto out;
    }
  off = data_offset (header_len);
  need = sizeof (float) * (3 * m->n_params + m->n_state);
  if (len - 4 - off != need)
    {
      sl_error_set (err, st, "%s holds %zu bytes of weights where %zu are expected", path,
                    len - 4 - off, need);
      goto out;
    }
  /* Everything is checked: only now is the trainer changed. */
  memcpy (m->params, buf + off, sizeof (float) * m->n_params);
  off += sizeof (float) * m->n_params;
  memcpy (m->state, buf + off, sizeof (float) * m->n_state);
  off += sizeof (float) * m->n_state;
  memcpy (t->moments, buf + off, 2 * sizeof (float) * m->n_params);
  t->step = (int64_t) step;
  t->epoch = (int64_t) epoch;
  st = SL_OK;

out:
  free (mine);
  cJSON_Delete (doc);
  free (buf);
  return st;
}
