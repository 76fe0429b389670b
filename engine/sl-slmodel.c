/* sl-slmodel.c: writing and checking .slmodel files (see docs/model-format.md).
 *
 * Layout, all integers little-endian:
 *   0  magic "SLMODEL\x1a"
 *   8  u32 format version
 *  12  u32 header length in bytes
 *  16  u64 file size
 *  24  u32 CRC-32 of the header
 *  28  u32 CRC-32 of bytes 0 .. 27
 *  32  the JSON header, then zero padding to a multiple of 64
 *      float32 blobs at the 64-aligned offsets the header lists, each with its CRC-32.
 * The reader trusts nothing: every size, offset and field is checked before use. */
#include "sl-slmodel-private.h"
#include "sl-anomaly-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"
#include "sl-model-private.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FORMAT_NAME "sightline-model"

static const char *const tensor_names[3] = { "parameters", "running_statistics", "anomaly_bank" };
static const char *const anomaly_labels[2] = { "good", "anomalous" };

void
sl_slmodel_info_init (sl_slmodel_info *info)
{
  memset (info, 0, sizeof *info);
  info->struct_size = sizeof *info;
}

static void
put_u32 (uint8_t *b, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t) (v >> (8 * i));
}

static void
put_u64 (uint8_t *b, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t) (v >> (8 * i));
}

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

static size_t
align_up (size_t v)
{
  return (v + SL_SLMODEL_ALIGN - 1) & ~(size_t) (SL_SLMODEL_ALIGN - 1);
}

static bool
host_is_little_endian (void)
{
  const uint16_t one = 1;
  return *(const uint8_t *) &one == 1;
}

/* ---- Writing ---------------------------------------------------------------- */

typedef struct
{
  const char *label;
  int index;
} label_ref;

static int
compare_label_refs (const void *a, const void *b)
{
  const label_ref *x = a, *y = b;
  int c = strcmp (x->label, y->label);

  return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

/* Finds the first label that an earlier one repeats, in O(n log n): a model
 * may have 100000 classes, and comparing every pair of them took minutes.
 * Sets *first and *second to their indices, or *second to -1 when all the
 * labels differ. Returns false when out of memory. */
static bool
find_repeated_label (const char *const *labels, int n, int *first, int *second)
{
  label_ref *refs = malloc (sizeof *refs * (size_t) (n > 0 ? n : 1));

  *first = *second = -1;
  if (refs == NULL)
    return false;
  for (int i = 0; i < n; i++)
    refs[i] = (label_ref){ labels[i], i };
  qsort (refs, (size_t) n, sizeof *refs, compare_label_refs);
  /* Equal labels sit together in index order: each run's first two entries
   * are the earliest repeat of that label. */
  for (int k = 1, run = 0; k < n; k++)
    {
      if (strcmp (refs[run].label, refs[k].label) != 0)
        run = k;
      else if (k == run + 1 && (*second < 0 || refs[k].index < *second))
        {
          *first = refs[run].index;
          *second = refs[k].index;
        }
    }
  free (refs);
  return true;
}

static sl_status
check_info (const sl_model *m, const sl_slmodel_info *info, cJSON **provenance, sl_error *err)
{
  int first, second;

  *provenance = NULL;
  if (info == NULL || info->struct_size < sizeof (sl_slmodel_info))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model file's details need sl_slmodel_info_init first");
  if (info->kind != SL_SLMODEL_CLASSIFIER && info->kind != SL_SLMODEL_ANOMALY)
    return sl_error_set (err, SL_ERR_INVALID, "unknown model kind %d", (int) info->kind);
  if (info->kind == SL_SLMODEL_ANOMALY && info->anomaly == NULL)
    return sl_error_set (
        err, SL_ERR_INVALID,
        "an anomaly model file needs its anomaly scorer (sl_slmodel_info.anomaly)");
  if (info->anomaly != NULL)
    {
      sl_status st = _sl_slmodel_anomaly_check_save (m, info->anomaly, err);

      if (st != SL_OK)
        return st;
    }
  if (info->kind == SL_SLMODEL_CLASSIFIER && info->labels == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "a model file needs its class labels (sl_slmodel_info.labels)");
  for (int i = 0; info->kind == SL_SLMODEL_CLASSIFIER && i < m->classes; i++)
    {
      const char *l = info->labels[i];
      if (l == NULL || l[0] == '\0' || strlen (l) > SL_SLMODEL_MAX_LABEL)
        return sl_error_set (err, SL_ERR_INVALID, "class %d needs a label of 1 to %d bytes", i + 1,
                             SL_SLMODEL_MAX_LABEL);
    }
  if (info->kind == SL_SLMODEL_CLASSIFIER
      && !find_repeated_label (info->labels, m->classes, &first, &second))
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory checking the class labels");
  if (info->kind == SL_SLMODEL_CLASSIFIER && second >= 0)
    return sl_error_set (err, SL_ERR_INVALID, "two classes are both labelled '%s'",
                         info->labels[second]);
  if (!(info->reject_threshold >= 0.0f && info->reject_threshold <= 1.0f))
    return sl_error_set (err, SL_ERR_INVALID, "the reject threshold must be between 0 and 1");
  if (info->provenance_json != NULL)
    {
      *provenance = cJSON_Parse (info->provenance_json);
      if (!cJSON_IsObject (*provenance))
        {
          cJSON_Delete (*provenance);
          *provenance = NULL;
          return sl_error_set (err, SL_ERR_INVALID, "the provenance must be a JSON object");
        }
    }
  return SL_OK;
}

static cJSON *
tensor_entry (const char *name, size_t count, size_t offset, uint32_t crc)
{
  cJSON *t = cJSON_CreateObject ();

  cJSON_AddStringToObject (t, "name", name);
  cJSON_AddStringToObject (t, "dtype", "float32");
  cJSON_AddNumberToObject (t, "count", (double) count);
  cJSON_AddNumberToObject (t, "offset", (double) offset);
  cJSON_AddNumberToObject (t, "crc32", (double) crc);
  return t;
}

static cJSON *
software_versions (const char *opencv_version)
{
  cJSON *s = cJSON_CreateObject ();

  cJSON_AddStringToObject (s, "sightline", sl_version_string ());
  cJSON_AddStringToObject (s, "openblas", openblas_get_config ());
  if (opencv_version != NULL)
    cJSON_AddStringToObject (s, "opencv", opencv_version);
  return s;
}

static void
add_created (cJSON *doc)
{
  char stamp[32];
  time_t now = time (NULL);
  struct tm tm;

  gmtime_r (&now, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON_AddStringToObject (doc, "created", stamp);
}

/* Builds the header; the tensor offsets depend on the header's own length,
 * so it is printed twice: once to measure with stand-in offsets wider than
 * any real one, once with the final offsets (so the second print is no
 * longer). Each blob's CRC is computed once. */
static char *
build_header (const sl_model *m, cJSON *model, cJSON *pipeline, cJSON *provenance,
              const sl_slmodel_info *info, const char *opencv_version, size_t *params_off,
              size_t *state_off, size_t *bank_off)
{
  const uint32_t params_crc = sl_crc32 (0, m->host_params, sizeof (float) * m->n_params);
  const uint32_t state_crc = sl_crc32 (0, m->host_state, sizeof (float) * m->n_state);
  const sl_anomaly *a = info->anomaly;
  const size_t bank_count = a != NULL ? (size_t) a->bank_size * a->layout.dims : 0;
  const uint32_t bank_crc = a != NULL ? sl_crc32 (0, a->bank, sizeof (float) * bank_count) : 0;
  cJSON *doc = cJSON_CreateObject (), *input, *tensors, *anomaly = NULL;
  char *text = NULL;

  if (doc == NULL || (a != NULL && (anomaly = _sl_slmodel_anomaly_json (a)) == NULL))
    {
      cJSON_Delete (doc);
      cJSON_Delete (model);
      cJSON_Delete (pipeline);
      cJSON_Delete (provenance);
      return NULL;
    }

  cJSON_AddStringToObject (doc, "format", FORMAT_NAME);
  cJSON_AddNumberToObject (doc, "format_version", SL_SLMODEL_VERSION_WRITE);
  add_created (doc);
  cJSON_AddItemToObject (doc, "model", model);
  input = cJSON_AddObjectToObject (doc, "input");
  cJSON_AddNumberToObject (input, "channels", m->channels);
  cJSON_AddNumberToObject (input, "height", m->height);
  cJSON_AddNumberToObject (input, "width", m->width);
  cJSON_AddStringToObject (doc, "kind",
                           info->kind == SL_SLMODEL_ANOMALY ? "anomaly" : "classifier");
  if (info->kind == SL_SLMODEL_ANOMALY)
    cJSON_AddItemToObject (doc, "classes", cJSON_CreateStringArray (anomaly_labels, 2));
  else
    cJSON_AddItemToObject (
        doc, "classes", cJSON_CreateStringArray ((const char *const *) info->labels, m->classes));
  cJSON_AddNumberToObject (doc, "reject_threshold", info->reject_threshold);
  cJSON_AddItemToObject (doc, "pipeline", pipeline);
  if (anomaly != NULL)
    cJSON_AddItemToObject (doc, "anomaly", anomaly);
  if (provenance != NULL)
    cJSON_AddItemToObject (doc, "provenance", provenance);
  cJSON_AddItemToObject (doc, "software", software_versions (opencv_version));
  *params_off = 100000000000000ull;
  *state_off = 100000000000000ull;
  *bank_off = 100000000000000ull;
  for (int pass = 0; pass < 2; pass++)
    {
      cJSON_DeleteItemFromObject (doc, "tensors");
      tensors = cJSON_AddArrayToObject (doc, "tensors");
      cJSON_AddItemToArray (tensors,
                            tensor_entry (tensor_names[0], m->n_params, *params_off, params_crc));
      cJSON_AddItemToArray (tensors,
                            tensor_entry (tensor_names[1], m->n_state, *state_off, state_crc));
      if (a != NULL)
        cJSON_AddItemToArray (tensors,
                              tensor_entry (tensor_names[2], bank_count, *bank_off, bank_crc));
      free (text);
      text = cJSON_PrintUnformatted (doc);
      if (text == NULL)
        break;
      if (pass == 0)
        {
          *params_off = align_up (SL_SLMODEL_PREAMBLE + strlen (text));
          *state_off = align_up (*params_off + sizeof (float) * m->n_params);
          *bank_off = align_up (*state_off + sizeof (float) * m->n_state);
        }
    }
  cJSON_Delete (doc);
  return text;
}

static void
write_zeros (sl_atomic_file *af, size_t n)
{
  static const uint8_t zeros[SL_SLMODEL_ALIGN];

  for (size_t chunk; n > 0; n -= chunk)
    {
      chunk = n < sizeof zeros ? n : sizeof zeros;
      sl_atomic_file_write (af, zeros, chunk);
    }
}

sl_status
sl_slmodel_write (const sl_model *m, const char *pipeline_json, const sl_slmodel_info *info,
                  const char *opencv_version, const char *path, sl_error *err)
{
  cJSON *provenance = NULL, *pipeline = NULL, *model = NULL;
  char *model_json = NULL, *header = NULL;
  size_t params_off = 0, state_off = 0, bank_off = 0, bank_bytes = 0, header_len, end;
  uint8_t pre[SL_SLMODEL_PREAMBLE] = SL_SLMODEL_MAGIC;
  sl_slmodel_info full;
  sl_atomic_file af;
  sl_status st;

  /* Callers built before the struct grew (no anomaly or kind) pass a
   * smaller struct_size: the fields they lack keep their defaults. */
  if (info != NULL && info->struct_size >= offsetof (sl_slmodel_info, anomaly)
      && info->struct_size < sizeof full)
    {
      sl_slmodel_info_init (&full);
      memcpy (&full, info, info->struct_size);
      full.struct_size = sizeof full;
      info = &full;
    }
  if (m == NULL || path == NULL || pipeline_json == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "saving a model needs a model, a pipeline and a path");
  if (!host_is_little_endian ())
    return sl_error_set (err, SL_ERR_INVALID, ".slmodel files are written on little-endian CPUs");
  st = check_info (m, info, &provenance, err);
  if (st == SL_OK)
    st = _sl_model_pull_host (m, err); /* the weights as the device has them */
  if (st != SL_OK)
    {
      cJSON_Delete (provenance);
      return st;
    }
  pipeline = cJSON_Parse (pipeline_json);
  model_json = _sl_model_serialize (m);
  model = model_json != NULL ? cJSON_Parse (model_json) : NULL;
  free (model_json);
  if (!cJSON_IsObject (pipeline) || model == NULL)
    {
      cJSON_Delete (provenance);
      cJSON_Delete (pipeline);
      cJSON_Delete (model);
      return sl_error_set (err, pipeline == NULL ? SL_ERR_INVALID : SL_ERR_NOMEM,
                           "could not describe the model and its pipeline in %s", path);
    }
  header = build_header (m, model, pipeline, provenance, info, opencv_version, &params_off,
                         &state_off, &bank_off);
  if (header == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory writing %s", path);
  header_len = strlen (header);
  if (header_len > SL_SLMODEL_MAX_HEADER)
    {
      free (header);
      return sl_error_set (err, SL_ERR_INVALID, "the model description is too large to store");
    }
  end = state_off + sizeof (float) * m->n_state;
  if (info->anomaly != NULL)
    {
      bank_bytes = sizeof (float) * (size_t) info->anomaly->bank_size * info->anomaly->layout.dims;
      end = bank_off + bank_bytes;
    }
  put_u32 (pre + 8, SL_SLMODEL_VERSION_WRITE);
  put_u32 (pre + 12, (uint32_t) header_len);
  put_u64 (pre + 16, end);
  put_u32 (pre + 24, sl_crc32 (0, header, header_len));
  put_u32 (pre + 28, sl_crc32 (0, pre, 28));

  st = sl_atomic_file_open (&af, path, err);
  if (st == SL_OK)
    {
      sl_atomic_file_write (&af, pre, sizeof pre);
      sl_atomic_file_write (&af, header, header_len);
      write_zeros (&af, params_off - SL_SLMODEL_PREAMBLE - header_len);
      sl_atomic_file_write (&af, m->host_params, sizeof (float) * m->n_params);
      write_zeros (&af, state_off - params_off - sizeof (float) * m->n_params);
      sl_atomic_file_write (&af, m->host_state, sizeof (float) * m->n_state);
      if (info->anomaly != NULL)
        {
          write_zeros (&af, bank_off - state_off - sizeof (float) * m->n_state);
          sl_atomic_file_write (&af, info->anomaly->bank, bank_bytes);
        }
      st = sl_atomic_file_commit (&af, err);
    }
  free (header);
  return st;
}

/* ---- Reading ------------------------------------------------------------------ */

typedef struct
{
  const uint8_t *data;
  size_t size;
  size_t header_end;
  const char *name;
  sl_error *err;
} reader;

static sl_status
bad (reader *r, const char *what)
{
  return sl_error_set (r->err, SL_ERR_FORMAT, "%s: %s", r->name, what);
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
  const uint8_t *d = r->data;
  uint32_t version;
  uint64_t file_size;

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
  if (sl_crc32 (0, d + SL_SLMODEL_PREAMBLE, *header_len) != get_u32 (d + 24))
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

typedef struct
{
  uint64_t count, offset;
  uint32_t crc;
} tensor_ref;

/* n is 2, or 3 with an anomaly scorer's bank. */
static sl_status
check_tensors (reader *r, const cJSON *doc, tensor_ref refs[3], int n)
{
  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive (doc, "tensors");
  char msg[160];

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

      if (!cJSON_IsString (name) || strcmp (name->valuestring, tensor_names[i]) != 0)
        {
          snprintf (msg, sizeof msg, "tensor %d must be '%s'", i + 1, tensor_names[i]);
          return bad (r, msg);
        }
      if (!cJSON_IsString (dtype) || strcmp (dtype->valuestring, "float32") != 0)
        {
          snprintf (msg, sizeof msg, "tensor '%s' must be float32", tensor_names[i]);
          return bad (r, msg);
        }
      if (!get_count (t, "count", (double) (r->size / sizeof (float)), &refs[i].count)
          || !get_count (t, "offset", (double) r->size, &refs[i].offset)
          || !get_count (t, "crc32", 4294967295.0, &crc))
        {
          snprintf (msg, sizeof msg, "tensor '%s' has a bad count, offset or checksum",
                    tensor_names[i]);
          return bad (r, msg);
        }
      refs[i].crc = (uint32_t) crc;
      /* count <= size / 4 and offset <= size, so nothing below overflows. */
      if (refs[i].offset % SL_SLMODEL_ALIGN != 0 || refs[i].offset < r->header_end
          || refs[i].count * sizeof (float) > r->size - refs[i].offset)
        {
          snprintf (msg, sizeof msg, "tensor '%s' lies outside the file or overlaps the header",
                    tensor_names[i]);
          return bad (r, msg);
        }
    }
  for (int i = 0; i + 1 < n; i++)
    if (refs[i].offset + refs[i].count * sizeof (float) > refs[i + 1].offset)
      return bad (r, "the tensors overlap");
  /* Every byte is accounted for: the padding between the parts is zero. */
  if (!all_zero (r->data + r->header_end, refs[0].offset - r->header_end))
    return bad (r, "the file is damaged (stray bytes between its parts)");
  for (int i = 0; i + 1 < n; i++)
    if (!all_zero (r->data + refs[i].offset + refs[i].count * sizeof (float),
                   refs[i + 1].offset - refs[i].offset - refs[i].count * sizeof (float)))
      return bad (r, "the file is damaged (stray bytes between its parts)");
  for (int i = 0; i < n; i++)
    if (sl_crc32 (0, r->data + refs[i].offset, refs[i].count * sizeof (float)) != refs[i].crc)
      {
        static const char *const what[3]
            = { "weights", "running statistics", "anomaly scorer's memory bank" };

        snprintf (msg, sizeof msg, "the file is damaged (the %s do not match their checksum)",
                  what[i]);
        return bad (r, msg);
      }
  return SL_OK;
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
          || strcmp (cJSON_GetArrayItem (arr, 0)->valuestring, anomaly_labels[0]) != 0
          || strcmp (cJSON_GetArrayItem (arr, 1)->valuestring, anomaly_labels[1]) != 0)
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
  if (!find_repeated_label ((const char *const *) out->labels, classes, &first, &second))
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

  if (!cJSON_IsString (format) || strcmp (format->valuestring, FORMAT_NAME) != 0)
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
  if (!get_count (doc, "format_version", 1e9, &version) || version != get_u32 (r->data + 8))
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
  memcpy (m->host_params, r->data + refs[0].offset, sizeof (float) * m->n_params);
  memcpy (m->host_state, r->data + refs[1].offset, sizeof (float) * m->n_state);
  return _sl_model_push_host (m, r->err);
}

sl_status
sl_slmodel_parse (const uint8_t *data, size_t size, const char *name, int threads,
                  sl_slmodel_check_fn check, void *check_data, sl_slmodel_contents *out,
                  sl_error *err)
{
  reader r = { .data = data, .size = size, .name = name != NULL ? name : "model", .err = err };
  tensor_ref refs[3];
  const cJSON *anomaly = NULL;
  uint32_t header_len = 0;
  cJSON *doc = NULL;
  sl_status st;

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_slmodel_parse: no place for the result");
  memset (out, 0, sizeof *out);
  if (data == NULL)
    return bad (&r, "no data");
  if (!host_is_little_endian ())
    return sl_error_set (err, SL_ERR_FORMAT, ".slmodel files are read on little-endian CPUs");
  st = check_preamble (&r, &header_len);
  if (st == SL_OK)
    {
      doc = cJSON_ParseWithLength ((const char *) data + SL_SLMODEL_PREAMBLE, header_len);
      if (!cJSON_IsObject (doc))
        st = bad (&r, "the header is not valid JSON");
    }
  if (st == SL_OK)
    st = check_fields (&r, doc, out);
  if (st == SL_OK)
    {
      anomaly = cJSON_GetObjectItemCaseSensitive (doc, "anomaly");
      st = check_tensors (&r, doc, refs, anomaly != NULL ? 3 : 2);
    }
  if (st == SL_OK)
    st = build_model (&r, doc, refs, threads, check, check_data, out);
  if (st == SL_OK && anomaly != NULL)
    st = _sl_slmodel_anomaly_read (anomaly, out->model, data + refs[2].offset, refs[2].count,
                                   r.name, &out->anomaly, err);
  if (st == SL_OK)
    st = check_labels (&r, doc, out->model->classes, out);
  if (st == SL_OK)
    {
      out->header_json = malloc (header_len + 1);
      if (out->header_json == NULL)
        st = sl_error_set (err, SL_ERR_NOMEM, "out of memory reading %s", r.name);
      else
        {
          memcpy (out->header_json, data + SL_SLMODEL_PREAMBLE, header_len);
          out->header_json[header_len] = '\0';
        }
    }
  cJSON_Delete (doc);
  if (st != SL_OK)
    sl_slmodel_contents_clear (out);
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
