/* sl-slmodel.c: writing .slmodel files (docs/slmodel-format.md); sl-slmodel-read.c reads them.
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
 * The reader (sl-slmodel-read.c) trusts nothing: every size, offset and field
 * is checked before use. */
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

const char *const _sl_slmodel_tensor_names[3]
    = { "parameters", "running_statistics", "anomaly_bank" };
const char *const _sl_slmodel_anomaly_labels[2] = { "good", "anomalous" };

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

static size_t
align_up (size_t v)
{
  return (v + SL_SLMODEL_ALIGN - 1) & ~(size_t) (SL_SLMODEL_ALIGN - 1);
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
bool
_sl_slmodel_find_repeated_label (const char *const *labels, int n, int *first, int *second)
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
      && !_sl_slmodel_find_repeated_label (info->labels, m->classes, &first, &second))
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

  cJSON_AddStringToObject (doc, "format", SL_SLMODEL_FORMAT_NAME);
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
    cJSON_AddItemToObject (doc, "classes", cJSON_CreateStringArray (_sl_slmodel_anomaly_labels, 2));
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
      cJSON_AddItemToArray (tensors, tensor_entry (_sl_slmodel_tensor_names[0], m->n_params,
                                                   *params_off, params_crc));
      cJSON_AddItemToArray (
          tensors, tensor_entry (_sl_slmodel_tensor_names[1], m->n_state, *state_off, state_crc));
      if (a != NULL)
        cJSON_AddItemToArray (
            tensors, tensor_entry (_sl_slmodel_tensor_names[2], bank_count, *bank_off, bank_crc));
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
  if (!_sl_slmodel_host_is_little_endian ())
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
