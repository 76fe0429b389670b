/* sl-slmodel-read.c: checking and reading .slmodel files, held in memory or read as they are checked.
 *
 * The layout is described in sl-slmodel.c and docs/slmodel-format.md. Every
 * size, offset and field is checked before use; every byte of the file is
 * accounted for (zero padding, checksummed blobs). */
#include "sl-slmodel-private.h"
#include "sl-anomaly-private.h"
#include "sl-block-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"
#include "sl-model-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t
get_u32 (const uint8_t *b)
{
  return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

static uint64_t
get_u64 (const uint8_t *b)
{
  return (uint64_t) get_u32 (b) | (uint64_t) get_u32 (b + 4) << 32;
}

/* The file is held in memory (data) or read from fd as the checks go: the
 * weights then go straight from the file into the model, never through a
 * copy of the whole file (seed-cnn's 13 MB: 5.8 ms of CPU time to open, now 3.6). */
typedef struct
{
  const uint8_t *data; /* the whole file, or NULL: read from fd */
  int fd;
  const uint8_t *head; /* the preamble and header, once checked */
  uint8_t *head_copy;  /* head, when read from fd */
  size_t size;
  size_t header_end;
  const char *name;
  sl_error *err;
} reader;

static const char *const tensor_what[3]
    = { "weights", "running statistics", "anomaly scorer's memory bank" };

static sl_status
bad (reader *r, const char *what)
{
  return sl_error_set (r->err, SL_ERR_FORMAT, "%s: %s", r->name, what);
}

/* Copies len bytes at offset (inside the file: the caller checked) into dst. */
static sl_status
fetch (reader *r, uint64_t offset, void *dst, size_t len)
{
  if (r->data == NULL)
    return sl_file_pread_all (r->fd, offset, dst, len, r->name, r->err);
  memcpy (dst, r->data + offset, len);
  return SL_OK;
}

static sl_status
bad_checksum (reader *r, int tensor)
{
  char msg[160];

  snprintf (msg, sizeof msg, "the file is damaged (the %s do not match their checksum)",
            tensor_what[tensor]);
  return bad (r, msg);
}

/* r->head: the preamble and the header_len bytes after it. */
static sl_status
load_head (reader *r, const uint8_t *preamble, uint32_t header_len)
{
  if (r->data != NULL)
    {
      r->head = r->data;
      return SL_OK;
    }
  r->head_copy = malloc (SL_SLMODEL_PREAMBLE + (size_t) header_len);
  if (r->head_copy == NULL)
    return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  memcpy (r->head_copy, preamble, SL_SLMODEL_PREAMBLE);
  r->head = r->head_copy;
  return fetch (r, SL_SLMODEL_PREAMBLE, r->head_copy + SL_SLMODEL_PREAMBLE, header_len);
}

/* A whole number in [0, max] (JSON numbers are doubles). */
static bool
get_count (const cJSON *obj, const char *key, double max, uint64_t *out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  if (!cJSON_IsNumber (v) || !(v->valuedouble >= 0) || v->valuedouble > max
      || v->valuedouble != floor (v->valuedouble))
    return false;
  *out = (uint64_t) v->valuedouble;
  return true;
}

static sl_status
check_preamble (reader *r, uint32_t *header_len)
{
  uint8_t preamble[SL_SLMODEL_PREAMBLE] = { 0 };
  const uint8_t *d = r->data != NULL ? r->data : preamble;
  uint32_t version;
  uint64_t file_size;
  sl_status st;

  if (r->data == NULL
      && (st = fetch (r, 0, preamble, r->size < sizeof preamble ? r->size : sizeof preamble))
             != SL_OK)
    return st;

  if (r->size >= 8 && memcmp (d, "SLCKPT\r\n", 8) == 0)
    return bad (r, "this is a training checkpoint, not an exported model; export it first "
                   "(sightline-cli export)");
  if (r->size < SL_SLMODEL_PREAMBLE || memcmp (d, SL_SLMODEL_MAGIC, 8) != 0)
    return bad (r, "not a Sightline model (.slmodel) file");
  if (sl_crc32 (0, d, 28) != get_u32 (d + 28))
    return bad (r, "the file is damaged (its preamble checksum does not match)");
  version = get_u32 (d + 8);
  if (version == 0)
    return bad (r, "the file is damaged (format version 0)");
  if (version > SL_SLMODEL_VERSION_WRITE)
    return sl_error_set (r->err, SL_ERR_FORMAT,
                         "%s: written by a newer Sightline (model format %u; this runtime reads "
                         "up to %u); update the runtime",
                         r->name, version, SL_SLMODEL_VERSION_WRITE);
  file_size = get_u64 (d + 16);
  if (file_size > r->size)
    return sl_error_set (r->err, SL_ERR_FORMAT,
                         "%s: the file is truncated (%zu of %llu bytes); copy it again", r->name,
                         r->size, (unsigned long long) file_size);
  if (file_size < r->size)
    return sl_error_set (r->err, SL_ERR_FORMAT,
                         "%s: %llu unexpected bytes follow the end of the model", r->name,
                         (unsigned long long) (r->size - file_size));
  *header_len = get_u32 (d + 12);
  if (*header_len == 0 || *header_len > SL_SLMODEL_MAX_HEADER
      || *header_len > r->size - SL_SLMODEL_PREAMBLE)
    return bad (r, "the file is damaged (impossible header length)");
  st = load_head (r, d, *header_len);
  if (st != SL_OK)
    return st;
  if (sl_crc32 (0, r->head + SL_SLMODEL_PREAMBLE, *header_len) != get_u32 (d + 24))
    return bad (r, "the file is damaged (its header checksum does not match)");
  r->header_end = SL_SLMODEL_PREAMBLE + *header_len;
  return SL_OK;
}

static bool
all_zero (const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0)
      return false;
  return true;
}

/* The n bytes at offset must be zero: padding between the parts. */
static sl_status
check_gap (reader *r, uint64_t offset, uint64_t n)
{
  uint8_t chunk[16384];

  if (r->data != NULL)
    return all_zero (r->data + offset, n)
               ? SL_OK
               : bad (r, "the file is damaged (stray bytes between its parts)");
  for (uint64_t len; n > 0; offset += len, n -= len)
    {
      sl_status st;

      len = n < sizeof chunk ? n : sizeof chunk;
      if ((st = fetch (r, offset, chunk, len)) != SL_OK)
        return st;
      if (!all_zero (chunk, len))
        return bad (r, "the file is damaged (stray bytes between its parts)");
    }
  return SL_OK;
}

typedef struct
{
  uint64_t count, offset;
  uint32_t crc;
} tensor_ref;

/* Copies tensor i into dst. Read from a file, its checksum is checked here,
 * on the copy (held in memory, check_tensors checked it). */
static sl_status
load_tensor (reader *r, const tensor_ref *ref, int i, void *dst)
{
  const size_t bytes = ref->count * sizeof (float);
  sl_status st = fetch (r, ref->offset, dst, bytes);

  if (st == SL_OK && r->data == NULL && sl_crc32 (0, dst, bytes) != ref->crc)
    return bad_checksum (r, i);
  return st;
}

/* n is 2, or 3 with an anomaly scorer's bank. */
static sl_status
check_tensors (reader *r, const cJSON *doc, tensor_ref refs[3], int n)
{
  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive (doc, "tensors");
  char msg[160];
  sl_status st;

  if (!cJSON_IsArray (tensors) || cJSON_GetArraySize (tensors) != n)
    return bad (r, n == 2 ? "the header must list exactly two tensors"
                          : "the header must list three tensors (weights, running statistics "
                            "and the anomaly scorer's memory bank)");
  for (int i = 0; i < n; i++)
    {
      const cJSON *t = cJSON_GetArrayItem (tensors, i);
      const cJSON *name = cJSON_GetObjectItemCaseSensitive (t, "name");
      const cJSON *dtype = cJSON_GetObjectItemCaseSensitive (t, "dtype");
      uint64_t crc;

      if (!cJSON_IsString (name) || strcmp (name->valuestring, _sl_slmodel_tensor_names[i]) != 0)
        {
          snprintf (msg, sizeof msg, "tensor %d must be '%s'", i + 1, _sl_slmodel_tensor_names[i]);
          return bad (r, msg);
        }
      if (!cJSON_IsString (dtype) || strcmp (dtype->valuestring, "float32") != 0)
        {
          snprintf (msg, sizeof msg, "tensor '%s' must be float32", _sl_slmodel_tensor_names[i]);
          return bad (r, msg);
        }
      if (!get_count (t, "count", (double) (r->size / sizeof (float)), &refs[i].count)
          || !get_count (t, "offset", (double) r->size, &refs[i].offset)
          || !get_count (t, "crc32", 4294967295.0, &crc))
        {
          snprintf (msg, sizeof msg, "tensor '%s' has a bad count, offset or checksum",
                    _sl_slmodel_tensor_names[i]);
          return bad (r, msg);
        }
      refs[i].crc = (uint32_t) crc;
      /* count <= size / 4 and offset <= size, so nothing below overflows. */
      if (refs[i].offset % SL_SLMODEL_ALIGN != 0 || refs[i].offset < r->header_end
          || refs[i].count * sizeof (float) > r->size - refs[i].offset)
        {
          snprintf (msg, sizeof msg, "tensor '%s' lies outside the file or overlaps the header",
                    _sl_slmodel_tensor_names[i]);
          return bad (r, msg);
        }
    }
  for (int i = 0; i + 1 < n; i++)
    if (refs[i].offset + refs[i].count * sizeof (float) > refs[i + 1].offset)
      return bad (r, "the tensors overlap");
  /* Every byte is accounted for: the padding between the parts is zero. */
  st = check_gap (r, r->header_end, refs[0].offset - r->header_end);
  for (int i = 0; st == SL_OK && i + 1 < n; i++)
    st = check_gap (r, refs[i].offset + refs[i].count * sizeof (float),
                    refs[i + 1].offset - refs[i].offset - refs[i].count * sizeof (float));
  /* A file read as it goes has its blobs checked as they are read (load_tensor). */
  for (int i = 0; st == SL_OK && r->data != NULL && i < n; i++)
    if (sl_crc32 (0, r->data + refs[i].offset, refs[i].count * sizeof (float)) != refs[i].crc)
      st = bad_checksum (r, i);
  return st;
}

static sl_status
check_labels (reader *r, const cJSON *doc, int classes, sl_slmodel_contents *out)
{
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive (doc, "classes");
  const cJSON *l;
  char msg[160];
  int i = 0, first, second;

  /* An anomaly model's outputs are its decision, whatever its network's head. */
  if (out->kind == SL_SLMODEL_ANOMALY)
    {
      if (!cJSON_IsArray (arr) || cJSON_GetArraySize (arr) != 2
          || !cJSON_IsString (cJSON_GetArrayItem (arr, 0))
          || !cJSON_IsString (cJSON_GetArrayItem (arr, 1))
          || strcmp (cJSON_GetArrayItem (arr, 0)->valuestring, _sl_slmodel_anomaly_labels[0]) != 0
          || strcmp (cJSON_GetArrayItem (arr, 1)->valuestring, _sl_slmodel_anomaly_labels[1]) != 0)
        return bad (r, "an anomaly model's classes must be [\"good\", \"anomalous\"]");
      classes = 2;
    }

  if (!cJSON_IsArray (arr) || cJSON_GetArraySize (arr) != classes)
    {
      snprintf (msg, sizeof msg, "the header must label each of the model's %d classes", classes);
      return bad (r, msg);
    }
  out->labels = calloc ((size_t) classes, sizeof (char *));
  if (out->labels == NULL)
    return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  out->n_labels = classes;
  cJSON_ArrayForEach (l, arr)
  {
    size_t len = cJSON_IsString (l) ? strlen (l->valuestring) : 0;

    if (len == 0 || len > SL_SLMODEL_MAX_LABEL)
      {
        snprintf (msg, sizeof msg, "class %d has no usable label", i + 1);
        return bad (r, msg);
      }
    for (size_t k = 0; k < len; k++)
      if ((unsigned char) l->valuestring[k] < 0x20)
        {
          snprintf (msg, sizeof msg, "class %d's label holds control characters", i + 1);
          return bad (r, msg);
        }
    out->labels[i] = strdup (l->valuestring);
    if (out->labels[i++] == NULL)
      return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  }
  if (!_sl_slmodel_find_repeated_label ((const char *const *) out->labels, classes, &first,
                                        &second))
    return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  if (second >= 0)
    {
      snprintf (msg, sizeof msg, "classes %d and %d have the same label", first + 1, second + 1);
      return bad (r, msg);
    }
  return SL_OK;
}

static sl_status
check_fields (reader *r, const cJSON *doc, sl_slmodel_contents *out)
{
  const cJSON *format = cJSON_GetObjectItemCaseSensitive (doc, "format");
  const cJSON *threshold = cJSON_GetObjectItemCaseSensitive (doc, "reject_threshold");
  const cJSON *pipeline = cJSON_GetObjectItemCaseSensitive (doc, "pipeline");
  const cJSON *provenance = cJSON_GetObjectItemCaseSensitive (doc, "provenance");
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive (doc, "kind");
  const cJSON *anomaly = cJSON_GetObjectItemCaseSensitive (doc, "anomaly");
  uint64_t version;

  if (!cJSON_IsString (format) || strcmp (format->valuestring, SL_SLMODEL_FORMAT_NAME) != 0)
    return bad (r, "the header is not a Sightline model header");
  /* Files from before model kinds have none: they are classifiers. */
  if (kind == NULL || (cJSON_IsString (kind) && strcmp (kind->valuestring, "classifier") == 0))
    out->kind = SL_SLMODEL_CLASSIFIER;
  else if (cJSON_IsString (kind) && strcmp (kind->valuestring, "anomaly") == 0)
    out->kind = SL_SLMODEL_ANOMALY;
  else
    return sl_error_set (r->err, SL_ERR_FORMAT,
                         "%s: the model's kind is not one this runtime knows (classifier or "
                         "anomaly); update the runtime",
                         r->name);
  if (anomaly != NULL && !cJSON_IsObject (anomaly))
    return bad (r, "the anomaly scorer entry must be a JSON object");
  if (out->kind == SL_SLMODEL_ANOMALY && anomaly == NULL)
    return bad (r, "an anomaly model lacks its anomaly scorer (the header's \"anomaly\" entry)");
  if (!get_count (doc, "format_version", 1e9, &version) || version != get_u32 (r->head + 8))
    return bad (r, "the header's format version disagrees with the file's");
  if (!cJSON_IsNumber (threshold) || !(threshold->valuedouble >= 0) || threshold->valuedouble > 1)
    return bad (r, "the reject threshold must be a number between 0 and 1");
  out->reject_threshold = (float) threshold->valuedouble;
  if (!cJSON_IsObject (pipeline))
    return bad (r, "the header lacks the preprocessing pipeline");
  if (provenance != NULL && !cJSON_IsObject (provenance))
    return bad (r, "the provenance must be an object");
  out->pipeline_json = cJSON_PrintUnformatted (pipeline);
  if (out->pipeline_json == NULL)
    return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  return SL_OK;
}

static sl_status
build_model (reader *r, const cJSON *doc, const tensor_ref refs[3], int threads,
             sl_slmodel_check_fn check, void *check_data, sl_slmodel_contents *out)
{
  const cJSON *model = cJSON_GetObjectItemCaseSensitive (doc, "model");
  const cJSON *input = cJSON_GetObjectItemCaseSensitive (doc, "input");
  uint64_t c, h, w;
  char *json;
  sl_model probe = { 0 }, *m = NULL;
  bool fits = false;
  sl_status st;

  if (!cJSON_IsObject (model))
    return bad (r, "the header lacks the model description");
  json = cJSON_PrintUnformatted (model);
  if (json == NULL)
    return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  /* The description alone says how many weights it needs; compare that with
   * what the file stores before allocating them, or a few bytes of hostile
   * JSON could have the loader allocate and clear gigabytes. */
  st = _sl_model_parse (json, &probe, r->err);
  if (st == SL_OK)
    {
      fits = refs[0].count == probe.n_params && refs[1].count == probe.n_state;
      /* What running it costs is known now, before anything large exists. */
      if (fits && check != NULL)
        st = check (&probe, out->pipeline_json, check_data, r->err);
      _sl_model_clear_nodes (&probe);
      if (fits && st == SL_OK)
        st = _sl_model_build (json, threads, &m, r->err);
    }
  free (json);
  if (st != SL_OK)
    {
      sl_error_prefix (r->err, "%s", r->name);
      /* A bad description inside a file is a bad file: the error says so too. */
      if (st != SL_ERR_NOMEM && st != SL_ERR_LIMIT && r->err != NULL)
        r->err->code = SL_ERR_FORMAT;
      return st == SL_ERR_NOMEM || st == SL_ERR_LIMIT ? st : SL_ERR_FORMAT;
    }
  if (!fits)
    return bad (r, "the stored weights do not fit the model description");
  out->model = m;
  if (!cJSON_IsObject (input) || !get_count (input, "channels", 1e9, &c)
      || !get_count (input, "height", 1e9, &h) || !get_count (input, "width", 1e9, &w)
      || c != (uint64_t) m->channels || h != (uint64_t) m->height || w != (uint64_t) m->width)
    return bad (r, "the header's input size disagrees with the model");
  st = load_tensor (r, &refs[0], 0, m->host_params);
  if (st == SL_OK)
    st = load_tensor (r, &refs[1], 1, m->host_state);
  return st == SL_OK ? _sl_model_push_host (m, r->err) : st;
}

/* The anomaly scorer from its header object and its bank, in place in memory
 * or read from the file into a block of its own. */
static sl_status
read_anomaly (reader *r, const cJSON *anomaly, const tensor_ref *ref, sl_slmodel_contents *out)
{
  uint8_t *bank;
  sl_status st;

  if (r->data != NULL)
    return _sl_slmodel_anomaly_read (anomaly, out->model, r->data + ref->offset, ref->count,
                                     r->name, &out->anomaly, r->err);
  bank = _sl_block_alloc (ref->count * sizeof (float));
  if (bank == NULL)
    return sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
  st = load_tensor (r, ref, 2, bank);
  if (st == SL_OK)
    st = _sl_slmodel_anomaly_read (anomaly, out->model, bank, ref->count, r->name, &out->anomaly,
                                   r->err);
  _sl_block_free (bank);
  return st;
}

static sl_status
parse (reader *r, int threads, sl_slmodel_check_fn check, void *check_data,
       sl_slmodel_contents *out)
{
  tensor_ref refs[3];
  const cJSON *anomaly = NULL;
  uint32_t header_len = 0;
  cJSON *doc = NULL;
  sl_status st;

  if (!_sl_slmodel_host_is_little_endian ())
    return sl_error_set (r->err, SL_ERR_FORMAT, ".slmodel files are read on little-endian CPUs");
  st = check_preamble (r, &header_len);
  if (st == SL_OK)
    {
      doc = cJSON_ParseWithLength ((const char *) r->head + SL_SLMODEL_PREAMBLE, header_len);
      if (!cJSON_IsObject (doc))
        st = bad (r, "the header is not valid JSON");
    }
  if (st == SL_OK)
    st = check_fields (r, doc, out);
  if (st == SL_OK)
    {
      anomaly = cJSON_GetObjectItemCaseSensitive (doc, "anomaly");
      st = check_tensors (r, doc, refs, anomaly != NULL ? 3 : 2);
    }
  if (st == SL_OK)
    st = build_model (r, doc, refs, threads, check, check_data, out);
  if (st == SL_OK && anomaly != NULL)
    st = read_anomaly (r, anomaly, &refs[2], out);
  if (st == SL_OK)
    st = check_labels (r, doc, out->model->classes, out);
  if (st == SL_OK)
    {
      out->header_json = malloc (header_len + 1);
      if (out->header_json == NULL)
        st = sl_error_set (r->err, SL_ERR_NOMEM, "out of memory reading %s", r->name);
      else
        {
          memcpy (out->header_json, r->head + SL_SLMODEL_PREAMBLE, header_len);
          out->header_json[header_len] = '\0';
        }
    }
  cJSON_Delete (doc);
  free (r->head_copy);
  if (st != SL_OK)
    sl_slmodel_contents_clear (out);
  return st;
}

sl_status
sl_slmodel_parse (const uint8_t *data, size_t size, const char *name, int threads,
                  sl_slmodel_check_fn check, void *check_data, sl_slmodel_contents *out,
                  sl_error *err)
{
  reader r = { .data = data, .size = size, .name = name != NULL ? name : "model", .err = err };

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_slmodel_parse: no place for the result");
  memset (out, 0, sizeof *out);
  if (data == NULL)
    return bad (&r, "no data");
  return parse (&r, threads, check, check_data, out);
}

sl_status
sl_slmodel_read (const char *path, size_t max_bytes, int threads, sl_slmodel_check_fn check,
                 void *check_data, sl_slmodel_contents *out, sl_error *err)
{
  reader r = { .fd = -1, .name = path, .err = err };
  sl_status st;

  if (out == NULL || path == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_slmodel_read: no path or no place for the result");
  memset (out, 0, sizeof *out);
  st = sl_file_open_regular (path, max_bytes, &r.fd, &r.size, err);
  if (st != SL_OK)
    return st;
  st = parse (&r, threads, check, check_data, out);
  close (r.fd);
  return st;
}

void
sl_slmodel_contents_clear (sl_slmodel_contents *c)
{
  if (c == NULL)
    return;
  sl_anomaly_free (c->anomaly);
  sl_model_free (c->model);
  for (int i = 0; i < c->n_labels; i++)
    free (c->labels[i]);
  free (c->labels);
  free (c->pipeline_json);
  free (c->header_json);
  memset (c, 0, sizeof *c);
}
