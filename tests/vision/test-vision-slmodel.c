/* test-vision-slmodel.c: the .slmodel loader against truncated, damaged and hostile files. */
#include "sl-test-support.h"
#include "sl-classifier.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static guint8 *model_bytes;
static gsize model_size;

static gboolean
model_ready (void)
{
  g_autofree char *dir = NULL, *path = NULL;

  if (model_bytes != NULL)
    return TRUE;
  dir = sl_test_make_tmp_dir ("sl-slmodel-XXXXXX");
  path = g_build_filename (dir, "m.slmodel", NULL);
  if (!sl_test_make_slmodel ("seed-cnn", 1, path))
    return FALSE;
  g_assert_true (g_file_get_contents (path, (char **) &model_bytes, &model_size, NULL));
  g_remove (path);
  g_rmdir (dir);
  return TRUE;
}

static guint32
get_u32 (const guint8 *b)
{
  return (guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16 | (guint32) b[3] << 24;
}

static void
put_u32 (guint8 *b, guint32 v)
{
  for (int i = 0; i < 4; i++)
    b[i] = (guint8) (v >> (8 * i));
}

/* Opens bytes and returns the status; the message lands in err. */
static sl_status
open_bytes (const guint8 *data, gsize size, sl_error *err)
{
  sl_classifier *c = NULL;
  sl_status st = sl_classifier_open_buffer (data, size, NULL, &c, err);

  if (st == SL_OK)
    g_assert_nonnull (c);
  else
    g_assert_null (c);
  sl_classifier_free (c);
  return st;
}

/* Opens the file at path and returns the status; the message, less the
 * path that starts it, lands in err. */
static sl_status
open_path (const char *path, sl_error *err)
{
  sl_classifier *c = NULL;
  sl_status st = sl_classifier_open (path, NULL, &c, err);
  gsize skip = strlen (path) + 2;

  if (st == SL_OK)
    g_assert_nonnull (c);
  else
    {
      g_assert_null (c);
      g_assert_true (g_str_has_prefix (err->message, path));
      memmove (err->message, err->message + skip, strlen (err->message + skip) + 1);
    }
  sl_classifier_free (c);
  return st;
}

/* Opens bytes from memory and from a file: a file is read as it is checked
 * (the weights straight into the model, their checksums checked there), and
 * must be refused or accepted the same, with the same message. */
static sl_status
open_both (const guint8 *data, gsize size, sl_error *err)
{
  g_autofree char *dir = sl_test_make_tmp_dir ("sl-slmodel-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "m.slmodel", NULL);
  sl_error file_err = { 0 };
  sl_status st = open_bytes (data, size, err);

  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) size, NULL));
  g_assert_cmpint (open_path (path, &file_err), ==, st);
  if (st != SL_OK)
    {
      g_assert_true (g_str_has_prefix (err->message, "model buffer: "));
      g_assert_cmpstr (file_err.message, ==, err->message + strlen ("model buffer: "));
    }
  g_remove (path);
  g_rmdir (dir);
  return st;
}

static void
assert_refused (const guint8 *data, gsize size, const char *expect)
{
  sl_error err = { 0 };

  g_assert_cmpint (open_both (data, size, &err), ==, SL_ERR_FORMAT);
  if (expect != NULL && strstr (err.message, expect) == NULL)
    g_error ("expected '%s' in: %s", expect, err.message);
}

static void
test_valid_roundtrip (void)
{
  sl_error err = { 0 };

  if (!model_ready ())
    return;
  g_assert_cmpint (open_both (model_bytes, model_size, &err), ==, SL_OK);
  g_assert_cmpmem (model_bytes, 8, "SLMODEL\x1a", 8);
  g_assert_cmpint (get_u32 (model_bytes + 8), ==, SL_SLMODEL_FORMAT_VERSION);
  /* Weight blobs sit on 64-byte boundaries. */
  g_assert_cmpint (get_u32 (model_bytes + 12) + 32, <=, model_size);
}

/* Every possible truncation is refused cleanly. */
static void
test_truncated (void)
{
  if (!model_ready ())
    return;
  for (gsize len = 0; len < model_size; len += (len < 4096 ? 1 : 9973))
    {
      sl_error err = { 0 };

      g_assert_cmpint (open_bytes (model_bytes, len, &err), ==, SL_ERR_FORMAT);
      if (len >= 32)
        g_assert_nonnull (strstr (err.message, "truncated"));
    }
  assert_refused (model_bytes, model_size - 1, "truncated");
}

/* A flipped bit anywhere is caught by a checksum (or the magic). */
static void
test_bit_flips (void)
{
  g_autofree guint8 *copy = NULL;

  if (!model_ready ())
    return;
  copy = g_memdup2 (model_bytes, model_size);
  for (gsize pos = 0; pos < model_size; pos += (pos < 2048 ? 7 : 65521))
    {
      sl_error err = { 0 };

      copy[pos] ^= 0x10;
      g_assert_cmpint (open_bytes (copy, model_size, &err), !=, SL_OK);
      copy[pos] ^= 0x10;
    }
}

/* The same read from a file: every truncation (cut shorter and shorter),
 * and flipped bits, the weights' too (checked once read into the model). */
static void
test_file_truncated_and_flipped (void)
{
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr (GArray) lengths = g_array_new (FALSE, FALSE, sizeof (gsize));
  int fd;

  if (!model_ready ())
    return;
  dir = sl_test_make_tmp_dir ("sl-slmodel-XXXXXX");
  path = g_build_filename (dir, "m.slmodel", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) model_bytes, (gssize) model_size, NULL));
  fd = g_open (path, O_RDWR, 0);
  g_assert_cmpint (fd, >=, 0);
  for (gsize pos = 0; pos < model_size; pos += (pos < 2048 ? 7 : 65521))
    {
      sl_error err = { 0 };
      guint8 b = model_bytes[pos] ^ 0x10;

      g_assert_cmpint (pwrite (fd, &b, 1, (off_t) pos), ==, 1);
      g_assert_cmpint (open_path (path, &err), !=, SL_OK);
      if (pos >= model_size / 2) /* inside the weights */
        g_assert_nonnull (strstr (err.message, "weights do not match their checksum"));
      g_assert_cmpint (pwrite (fd, model_bytes + pos, 1, (off_t) pos), ==, 1);
    }
  {
    sl_error err = { 0 };

    g_assert_cmpint (open_path (path, &err), ==, SL_OK);
  }
  for (gsize len = 0; len < model_size; len += (len < 4096 ? 1 : 9973))
    g_array_append_val (lengths, len);
  for (guint i = lengths->len; i-- > 0;)
    {
      gsize len = g_array_index (lengths, gsize, i);
      sl_error err = { 0 };

      g_assert_cmpint (ftruncate (fd, (off_t) len), ==, 0);
      g_assert_cmpint (open_path (path, &err), ==, SL_ERR_FORMAT);
      if (len >= 32)
        g_assert_nonnull (strstr (err.message, "truncated"));
    }
  close (fd);
  g_remove (path);
  g_rmdir (dir);
}

static void
test_trailing_bytes_and_other_files (void)
{
  g_autofree guint8 *longer = NULL;
  static const guint8 png[]
      = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          0,    0,   0,   0,   0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  guint8 ckpt[64] = "SLCKPT\r\n";

  if (!model_ready ())
    return;
  longer = g_malloc0 (model_size + 100);
  memcpy (longer, model_bytes, model_size);
  assert_refused (longer, model_size + 100, "unexpected bytes");
  assert_refused (png, sizeof png, "not a Sightline model");
  assert_refused (ckpt, sizeof ckpt, "training checkpoint");
  assert_refused ((const guint8 *) "", 0, NULL);
}

/* ---- Hostile headers with valid checksums ------------------------------------ */

/* Rebuilds the file around a changed header: the blobs keep their bytes and
 * start at data_start (64-aligned, after the header), where the (possibly
 * lying) header's offsets were moved by place_blobs (). */
static guint8 *
rebuild (cJSON *header, gsize data_start, guint32 version, gsize *size_out)
{
  g_autofree char *text = cJSON_PrintUnformatted (header);
  gsize hlen = strlen (text), old_hlen = get_u32 (model_bytes + 12);
  gsize old_start = (32 + old_hlen + 63) & ~(gsize) 63;
  gsize size = data_start + (model_size - old_start);
  guint8 *out = g_malloc0 (size);

  g_assert_cmpuint (data_start, >=, 32 + hlen);
  memcpy (out, model_bytes, 32);
  memcpy (out + 32, text, hlen);
  memcpy (out + data_start, model_bytes + old_start, model_size - old_start);
  put_u32 (out + 8, version);
  put_u32 (out + 12, (guint32) hlen);
  for (int i = 0; i < 8; i++)
    out[16 + i] = (guint8) ((guint64) size >> (8 * i));
  put_u32 (out + 24, (guint32) crc32 (0, (const Bytef *) text, (uInt) hlen));
  put_u32 (out + 28, (guint32) crc32 (0, out, 28));
  *size_out = size;
  return out;
}

static cJSON *
original_header (void)
{
  return cJSON_ParseWithLength ((const char *) model_bytes + 32, get_u32 (model_bytes + 12));
}

/* Moves the tensors' offsets along with the blobs to a 64-aligned start after
 * the edited header, and returns that start. The offsets are part of the
 * header, so moving them can lengthen it: the start only ever grows, until the
 * header fits before it. */
static gsize
place_blobs (cJSON *h)
{
  gsize start = (32 + get_u32 (model_bytes + 12) + 63) & ~(gsize) 63;

  for (;;)
    {
      g_autofree char *text = cJSON_PrintUnformatted (h);
      gsize need = (32 + strlen (text) + 63) & ~(gsize) 63;
      cJSON *t;

      if (need <= start)
        return start;
      cJSON_ArrayForEach (t, cJSON_GetObjectItem (h, "tensors"))
      {
        cJSON *off = cJSON_GetObjectItem (t, "offset");
        cJSON_SetNumberValue (off, off->valuedouble - (double) start + (double) need);
      }
      start = need;
    }
}

typedef void (*HeaderEdit) (cJSON *h);

static void
expect_refusal (HeaderEdit edit, guint32 version, const char *expect)
{
  cJSON *h = original_header ();
  g_autofree guint8 *bytes = NULL;
  gsize size;

  edit (h);
  bytes = rebuild (h, place_blobs (h), version, &size);
  assert_refused (bytes, size, expect);
  cJSON_Delete (h);
}

static void
edit_nothing (cJSON *h)
{
}

static void
edit_format_name (cJSON *h)
{
  cJSON_ReplaceItemInObject (h, "format", cJSON_CreateString ("other"));
}

static void
edit_huge_count (cJSON *h)
{
  cJSON *t = cJSON_GetArrayItem (cJSON_GetObjectItem (h, "tensors"), 0);
  cJSON_ReplaceItemInObject (t, "count", cJSON_CreateNumber (1e15));
}

static void
edit_negative_offset (cJSON *h)
{
  cJSON *t = cJSON_GetArrayItem (cJSON_GetObjectItem (h, "tensors"), 1);
  cJSON_ReplaceItemInObject (t, "offset", cJSON_CreateNumber (-64));
}

static void
edit_fractional_count (cJSON *h)
{
  cJSON *t = cJSON_GetArrayItem (cJSON_GetObjectItem (h, "tensors"), 1);
  cJSON_ReplaceItemInObject (t, "count", cJSON_CreateNumber (3.5));
}

static void
edit_swapped_tensors (cJSON *h)
{
  cJSON *t = cJSON_GetObjectItem (h, "tensors");
  cJSON *first = cJSON_DetachItemFromArray (t, 0);
  cJSON_AddItemToArray (t, first);
}

static void
edit_wrong_crc (cJSON *h)
{
  cJSON *t = cJSON_GetArrayItem (cJSON_GetObjectItem (h, "tensors"), 0);
  cJSON_ReplaceItemInObject (t, "crc32", cJSON_CreateNumber (12345));
}

static void
edit_labels_short (cJSON *h)
{
  cJSON_DeleteItemFromArray (cJSON_GetObjectItem (h, "classes"), 9);
}

static void
edit_labels_duplicate (cJSON *h)
{
  cJSON_ReplaceItemInArray (cJSON_GetObjectItem (h, "classes"), 1, cJSON_CreateString ("T-shirt"));
}

static void
edit_label_not_string (cJSON *h)
{
  cJSON_ReplaceItemInArray (cJSON_GetObjectItem (h, "classes"), 2, cJSON_CreateNumber (3));
}

static void
edit_threshold (cJSON *h)
{
  cJSON_ReplaceItemInObject (h, "reject_threshold", cJSON_CreateNumber (2));
}

static void
edit_pipeline_op (cJSON *h)
{
  cJSON *step
      = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (h, "pipeline"), "steps"), 0);
  cJSON_ReplaceItemInObject (step, "op", cJSON_CreateString ("no-such-op"));
}

static void
edit_pipeline_size (cJSON *h)
{
  cJSON *input = cJSON_GetObjectItem (cJSON_GetObjectItem (h, "pipeline"), "input");
  cJSON_ReplaceItemInObject (input, "width", cJSON_CreateNumber (32));
}

static void
edit_model_layer (cJSON *h)
{
  cJSON *layer
      = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (h, "model"), "layers"), 0);
  cJSON_ReplaceItemInObject (layer, "type", cJSON_CreateString ("conv9d"));
}

static void
edit_model_classes (cJSON *h)
{
  cJSON_ReplaceItemInObject (cJSON_GetObjectItem (h, "model"), "classes", cJSON_CreateNumber (11));
}

static void
edit_input_mismatch (cJSON *h)
{
  cJSON_ReplaceItemInObject (cJSON_GetObjectItem (h, "input"), "height", cJSON_CreateNumber (27));
}

static void
edit_no_pipeline (cJSON *h)
{
  cJSON_DeleteItemFromObject (h, "pipeline");
}

static void
test_hostile_headers (void)
{
  if (!model_ready ())
    return;
  /* The rebuild itself is faithful: unchanged, the file opens. */
  {
    cJSON *h = original_header ();
    g_autofree guint8 *bytes = NULL;
    gsize size;
    sl_error err = { 0 };

    bytes = rebuild (h, place_blobs (h), 1, &size);
    g_assert_cmpint (open_both (bytes, size, &err), ==, SL_OK);
    cJSON_Delete (h);
  }
  expect_refusal (edit_nothing, 2, "newer Sightline");
  expect_refusal (edit_nothing, 0, "damaged");
  expect_refusal (edit_format_name, 1, "not a Sightline model header");
  expect_refusal (edit_huge_count, 1, "bad count");
  expect_refusal (edit_negative_offset, 1, "bad count, offset");
  expect_refusal (edit_fractional_count, 1, "bad count");
  expect_refusal (edit_swapped_tensors, 1, "must be 'parameters'");
  expect_refusal (edit_wrong_crc, 1, "checksum");
  expect_refusal (edit_labels_short, 1, "label each");
  expect_refusal (edit_labels_duplicate, 1, "same label");
  expect_refusal (edit_label_not_string, 1, "no usable label");
  expect_refusal (edit_threshold, 1, "reject threshold");
  expect_refusal (edit_pipeline_op, 1, "no-such-op");
  expect_refusal (edit_pipeline_size, 1, "pipeline makes");
  expect_refusal (edit_model_layer, 1, "conv9d");
  expect_refusal (edit_model_classes, 1, NULL);
  expect_refusal (edit_input_mismatch, 1, "input size");
  expect_refusal (edit_no_pipeline, 1, "pipeline");
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/slmodel/valid", test_valid_roundtrip);
  g_test_add_func ("/slmodel/truncated", test_truncated);
  g_test_add_func ("/slmodel/bit-flips", test_bit_flips);
  g_test_add_func ("/slmodel/file-truncated-and-flipped", test_file_truncated_and_flipped);
  g_test_add_func ("/slmodel/trailing-and-other-files", test_trailing_bytes_and_other_files);
  g_test_add_func ("/slmodel/hostile-headers", test_hostile_headers);
  status = g_test_run ();
  g_free (model_bytes);
  return status;
}
