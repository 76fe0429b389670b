/* test-engine-anomaly-slmodel.c: the .slmodel's anomaly section: round trips, old files, hostile headers. */
#include "sl-test-support.h"
#include "sl-anomaly-private.h"
#include "sl-file-private.h"
#include "sl-slmodel-private.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* 3 x 16 x 16 input; "a" is 4 x 8 x 8, "b" 6 x 4 x 4; layer 0 has no name. */
static const char tiny_json[]
    = "{\"name\":\"tiny\",\"input\":{\"channels\":3,\"height\":16,\"width\":16},\"classes\":3,"
      "\"layers\":[{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"stride\":2,\"padding\":"
      "\"same\"},{\"type\":\"relu\",\"name\":\"a\"},{\"type\":\"conv2d\",\"filters\":6,"
      "\"kernel\":3,\"stride\":2,\"padding\":\"same\",\"name\":\"b\"},{\"type\":\"global_"
      "avgpool\"},{\"type\":\"dense\",\"units\":3,\"name\":\"fc\"}]}";
static const char *const labels[3] = { "ok", "scratch", "dent" };

typedef struct
{
  sl_model *model;
  sl_anomaly *anomaly;
  char *dir;
} Fixture;

static sl_anomaly *
fit (sl_model *m, int32_t first_layer)
{
  sl_anomaly_config c;
  sl_anomaly_fitter *f = NULL;
  sl_anomaly *a = NULL;
  sl_error err = { 0 };
  g_autofree float *la = g_new (float, 5 * 4 * 64), *lb = g_new (float, 5 * 6 * 16);
  g_autofree float *l0 = g_new (float, 5 * 4 * 64);
  const float *outs[2] = { first_layer == 0 ? l0 : la, lb };

  sl_test_fill_normal (la, 5 * 4 * 64, 1, 1.0f);
  sl_test_fill_normal (l0, 5 * 4 * 64, 3, 1.0f);
  sl_test_fill_normal (lb, 5 * 6 * 16, 2, 1.0f);
  sl_anomaly_config_init (&c);
  c.layers[0] = first_layer;
  c.layers[1] = 2;
  c.n_layers = 2;
  c.coreset_ratio = 0.1;
  c.smoothing_sigma = 2.5f;
  sl_assert_ok (sl_anomaly_fitter_new (m, &c, &f, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_add_layers (f, outs, 5, &err), &err);
  sl_assert_ok (sl_anomaly_fitter_finish (f, NULL, NULL, &a, &err), &err);
  sl_anomaly_fitter_free (f);
  return a;
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  sl_error err = { 0 };

  sl_assert_ok (sl_model_new (tiny_json, 5, &fx->model, &err), &err);
  fx->anomaly = fit (fx->model, 1);
  fx->dir = sl_test_make_tmp_dir ("sl-anomaly-slmodel-XXXXXX");
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (fx->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (fx->dir, name, NULL);
      g_remove (p);
    }
  g_rmdir (fx->dir);
  g_free (fx->dir);
  sl_anomaly_free (fx->anomaly);
  sl_model_free (fx->model);
}

static sl_status
save (Fixture *fx, int32_t kind, const sl_anomaly *a, const char *const *l, guint8 **bytes,
      gsize *size, sl_error *err)
{
  g_autofree char *path = g_build_filename (fx->dir, "m.slmodel", NULL);
  sl_slmodel_info info;
  sl_status st;

  sl_slmodel_info_init (&info);
  info.kind = kind;
  info.anomaly = a;
  info.labels = l;
  st = sl_slmodel_write (fx->model, "{}", &info, NULL, path, err);
  if (st == SL_OK)
    g_assert_true (g_file_get_contents (path, (char **) bytes, size, NULL));
  return st;
}

/* Reads bytes as a file (sl_slmodel_read: checked as it is read, the bank
 * into a block of its own); a message loses the path that starts it. */
static sl_status
read_as_file (const guint8 *bytes, gsize size, sl_slmodel_contents *c, sl_error *err)
{
  g_autofree char *dir = sl_test_make_tmp_dir ("sl-anomaly-slmodel-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "m.slmodel", NULL);
  sl_status st;

  g_assert_true (g_file_set_contents (path, (const char *) bytes, (gssize) size, NULL));
  st = sl_slmodel_read (path, size, 1, NULL, NULL, c, err);
  if (st != SL_OK)
    {
      gsize skip = strlen (path) + 2;

      g_assert_true (g_str_has_prefix (err->message, path));
      memmove (err->message, err->message + skip, strlen (err->message + skip) + 1);
    }
  g_remove (path);
  g_rmdir (dir);
  return st;
}

static void assert_same_scorer (const sl_anomaly *x, const sl_anomaly *y);

/* Parses bytes in memory into c, and read as a file to the same contents. */
static void
parse_ok (const guint8 *bytes, gsize size, sl_slmodel_contents *c)
{
  sl_slmodel_contents f;
  sl_error err = { 0 };

  sl_assert_ok (sl_slmodel_parse (bytes, size, "m.slmodel", 1, NULL, NULL, c, &err), &err);
  sl_assert_ok (read_as_file (bytes, size, &f, &err), &err);
  g_assert_cmpint (f.kind, ==, c->kind);
  g_assert_cmpuint (sl_model_param_count (f.model), ==, sl_model_param_count (c->model));
  g_assert_cmpmem (sl_model_params (f.model), sizeof (float) * sl_model_param_count (f.model),
                   sl_model_params (c->model), sizeof (float) * sl_model_param_count (c->model));
  g_assert_cmpstr (f.header_json, ==, c->header_json);
  g_assert_true ((f.anomaly == NULL) == (c->anomaly == NULL));
  if (c->anomaly != NULL)
    assert_same_scorer (f.anomaly, c->anomaly);
  sl_slmodel_contents_clear (&f);
}

static void
assert_same_scorer (const sl_anomaly *x, const sl_anomaly *y)
{
  g_assert_cmpint (x->bank_size, ==, y->bank_size);
  g_assert_cmpint (x->layout.dims, ==, y->layout.dims);
  g_assert_cmpint (x->layout.n_layers, ==, y->layout.n_layers);
  for (int k = 0; k < x->layout.n_layers; k++)
    {
      g_assert_cmpint (x->layout.layers[k], ==, y->layout.layers[k]);
      g_assert_cmpstr (x->layout.names[k], ==, y->layout.names[k]);
    }
  g_assert_cmpint (memcmp (x->bank, y->bank, sizeof (float) * x->bank_size * x->layout.dims), ==,
                   0);
  g_assert_cmpint (memcmp (x->bank_norms, y->bank_norms, sizeof (float) * x->bank_size), ==, 0);
  g_assert_cmpint (memcmp (&x->threshold, &y->threshold, sizeof (float)), ==, 0);
  g_assert_cmpfloat (x->smoothing_sigma, ==, y->smoothing_sigma);
  g_assert_cmpint (x->patches_collected, ==, y->patches_collected);
  g_assert_cmpfloat (x->coreset_ratio, ==, y->coreset_ratio);
}

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  sl_error err = { 0 };

  for (int pass = 0; pass < 2; pass++)
    {
      g_autofree guint8 *bytes = NULL;
      gsize size;
      sl_slmodel_contents c;

      /* The threshold as set, and +infinity (stored as null). */
      sl_assert_ok (
          sl_anomaly_set_threshold (fx->anomaly, pass == 0 ? 1.0f / 3.0f : INFINITY, &err), &err);
      sl_assert_ok (save (fx, SL_SLMODEL_ANOMALY, fx->anomaly, NULL, &bytes, &size, &err), &err);
      parse_ok (bytes, size, &c);
      g_assert_cmpint (c.kind, ==, SL_SLMODEL_ANOMALY);
      g_assert_cmpint (c.n_labels, ==, 2);
      g_assert_cmpstr (c.labels[0], ==, "good");
      g_assert_cmpstr (c.labels[1], ==, "anomalous");
      g_assert_nonnull (c.anomaly);
      assert_same_scorer (fx->anomaly, c.anomaly);
      g_assert_nonnull (strstr (c.header_json, "\"kind\":\"anomaly\""));
      g_assert_nonnull (strstr (c.header_json, "\"method\":\"patchcore\""));
      sl_slmodel_contents_clear (&c);
    }
}

static guint8 *rebuild (const guint8 *orig, gsize orig_size, cJSON *h, gsize *size_out);
static guint32 get_u32 (const guint8 *b);

/* A layer without a name is stored by its index. */
static void
test_unnamed_layer (Fixture *fx, gconstpointer data)
{
  sl_anomaly *unnamed = fit (fx->model, 0);
  g_autofree guint8 *bytes = NULL;
  gsize size;
  sl_slmodel_contents c;
  sl_error err = { 0 };

  g_assert_null (unnamed->layout.names[0]);
  sl_assert_ok (save (fx, SL_SLMODEL_ANOMALY, unnamed, NULL, &bytes, &size, &err), &err);
  parse_ok (bytes, size, &c);
  g_assert_nonnull (strstr (c.header_json, "\"layers\":[\"#0\",\"b\"]"));
  assert_same_scorer (unnamed, c.anomaly);
  sl_slmodel_contents_clear (&c);
  sl_anomaly_free (unnamed);
}

static void
test_gate_and_old_files (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *gated = NULL, *plain = NULL;
  gsize gated_size, plain_size;
  sl_slmodel_contents c;
  sl_error err = { 0 };

  sl_assert_ok (save (fx, SL_SLMODEL_CLASSIFIER, fx->anomaly, labels, &gated, &gated_size, &err),
                &err);
  parse_ok (gated, gated_size, &c);
  g_assert_cmpint (c.kind, ==, SL_SLMODEL_CLASSIFIER);
  g_assert_cmpint (c.n_labels, ==, 3);
  g_assert_cmpstr (c.labels[2], ==, "dent");
  assert_same_scorer (fx->anomaly, c.anomaly);
  sl_slmodel_contents_clear (&c);

  sl_assert_ok (save (fx, SL_SLMODEL_CLASSIFIER, NULL, labels, &plain, &plain_size, &err), &err);
  parse_ok (plain, plain_size, &c);
  g_assert_cmpint (c.kind, ==, SL_SLMODEL_CLASSIFIER);
  g_assert_null (c.anomaly);
  g_assert_null (strstr (c.header_json, "\"anomaly\""));
  sl_slmodel_contents_clear (&c);

  /* A caller built before the struct grew passes a smaller struct_size. */
  {
    g_autofree char *path = g_build_filename (fx->dir, "old.slmodel", NULL);
    sl_slmodel_info info;

    sl_slmodel_info_init (&info);
    info.labels = labels;
    info.kind = 99; /* beyond the old struct_size: never read */
    info.struct_size = offsetof (sl_slmodel_info, anomaly);
    sl_assert_ok (sl_slmodel_write (fx->model, "{}", &info, NULL, path, &err), &err);
  }

  /* A file from before model kinds has no "kind": a classifier. */
  {
    cJSON *h = cJSON_ParseWithLength ((const char *) plain + 32, get_u32 (plain + 12));
    g_autofree guint8 *old = NULL;
    gsize n;

    g_assert_true (cJSON_IsString (cJSON_GetObjectItem (h, "kind")));
    cJSON_DeleteItemFromObject (h, "kind");
    old = rebuild (plain, plain_size, h, &n);
    parse_ok (old, n, &c);
    g_assert_cmpint (c.kind, ==, SL_SLMODEL_CLASSIFIER);
    g_assert_null (strstr (c.header_json, "\"kind\""));
    sl_slmodel_contents_clear (&c);
    cJSON_Delete (h);
  }
}

static void
expect_save_refused (Fixture *fx, int32_t kind, const sl_anomaly *a, const char *const *l,
                     const char *fragment)
{
  guint8 *bytes = NULL;
  gsize size;
  sl_error err = { 0 };

  g_assert_cmpint (save (fx, kind, a, l, &bytes, &size, &err), ==, SL_ERR_INVALID);
  if (strstr (err.message, fragment) == NULL)
    g_error ("expected '%s' in '%s'", fragment, err.message);
}

static void
test_save_refusals (Fixture *fx, gconstpointer data)
{
  sl_anomaly *unnamed = fit (fx->model, 0);
  sl_anomaly *foreign = sl_anomaly_copy (fx->anomaly);

  expect_save_refused (fx, SL_SLMODEL_ANOMALY, NULL, NULL, "anomaly scorer");
  /* Stored as "#0": refused when another layer bears that name. */
  {
    g_autofree char *renamed = g_strdup (tiny_json);
    char *at = strstr (renamed, "{\"type\":\"global_avgpool\"}");
    g_autofree char *json = NULL;
    sl_model *other = NULL;
    sl_model *kept = fx->model;
    sl_error err = { 0 };

    *at = '\0';
    json = g_strconcat (renamed, "{\"type\":\"global_avgpool\",\"name\":\"#0\"}",
                        at + strlen ("{\"type\":\"global_avgpool\"}"), NULL);
    sl_assert_ok (sl_model_new (json, 1, &other, &err), &err);
    fx->model = other;
    expect_save_refused (fx, SL_SLMODEL_ANOMALY, unnamed, NULL, "another layer is called '#0'");
    fx->model = kept;
    sl_model_free (other);
  }
  expect_save_refused (fx, 7, fx->anomaly, NULL, "unknown model kind");
  expect_save_refused (fx, SL_SLMODEL_CLASSIFIER, fx->anomaly, NULL, "class labels");
  /* A scorer fitted on a model whose layer "b" had 8 channels. */
  foreign->layout.channels[1] = 8;
  expect_save_refused (fx, SL_SLMODEL_ANOMALY, foreign, NULL, "when it was fitted");
  foreign->layout.channels[1] = 6;
  foreign->layout.input_h = 32;
  expect_save_refused (fx, SL_SLMODEL_ANOMALY, foreign, NULL, "fitted for 16 x 32 input");
  sl_anomaly_free (foreign);
  sl_anomaly_free (unnamed);
}

/* ---- Hostile headers with valid checksums ---------------------------------- */

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

/* The file around a changed header: the blobs keep their bytes and move
 * with the header's length; the tensors' offsets follow them. */
static guint8 *
rebuild (const guint8 *orig, gsize orig_size, cJSON *h, gsize *size_out)
{
  gsize old_start = (32 + get_u32 (orig + 12) + 63) & ~(gsize) 63, new_start = old_start;
  g_autofree char *text = NULL;
  guint8 *out;
  gsize size;
  cJSON *t;

  for (int round = 0; round < 3; round++)
    {
      g_free (text);
      text = cJSON_PrintUnformatted (h);
      gsize want = (32 + strlen (text) + 63) & ~(gsize) 63;
      cJSON_ArrayForEach (t, cJSON_GetObjectItem (h, "tensors"))
      {
        cJSON *off = cJSON_GetObjectItem (t, "offset");
        cJSON_SetNumberValue (off, off->valuedouble - (double) new_start + (double) want);
      }
      new_start = want;
    }
  g_free (text);
  text = cJSON_PrintUnformatted (h);
  g_assert_cmpuint ((32 + strlen (text) + 63) & ~(gsize) 63, ==, new_start);
  size = new_start + (orig_size - old_start);
  out = g_malloc0 (size);
  memcpy (out, orig, 32);
  memcpy (out + 32, text, strlen (text));
  memcpy (out + new_start, orig + old_start, orig_size - old_start);
  put_u32 (out + 12, (guint32) strlen (text));
  for (int i = 0; i < 8; i++)
    out[16 + i] = (guint8) ((guint64) size >> (8 * i));
  put_u32 (out + 24, sl_crc32 (0, text, strlen (text)));
  put_u32 (out + 28, sl_crc32 (0, out, 28));
  *size_out = size;
  return out;
}

static void
expect_parse_refused (const guint8 *bytes, gsize size, const char *fragment)
{
  sl_slmodel_contents c;
  sl_error err = { 0 };

  sl_error file_err = { 0 };

  g_assert_cmpint (sl_slmodel_parse (bytes, size, "m.slmodel", 1, NULL, NULL, &c, &err), ==,
                   SL_ERR_FORMAT);
  g_assert_null (c.anomaly);
  g_assert_null (c.model);
  if (fragment != NULL && strstr (err.message, fragment) == NULL)
    g_error ("expected '%s' in '%s'", fragment, err.message);
  g_assert_true (g_str_has_prefix (err.message, "m.slmodel: "));
  /* Read as a file: refused the same way. */
  g_assert_cmpint (read_as_file (bytes, size, &c, &file_err), ==, SL_ERR_FORMAT);
  g_assert_null (c.anomaly);
  g_assert_null (c.model);
  g_assert_cmpstr (file_err.message, ==, err.message + strlen ("m.slmodel: "));
}

static cJSON *
anomaly_of (cJSON *h)
{
  return cJSON_GetObjectItem (h, "anomaly");
}

typedef struct
{
  const char *what;
  const char *key;   /* in "anomaly" (or the header when top) */
  const char *value; /* JSON; NULL removes the key */
  gboolean top;
  const char *fragment;
} Edit;

static const Edit edits[] = {
  { "renamed layer", "layers", "[\"a\",\"c\"]", FALSE, "layer 'c', which the model does not" },
  { "missing layer", "layers", "[\"a\"]", FALSE, "dims must be 4" },
  { "repeated layer", "layers", "[\"a\",\"a\"]", FALSE, "twice" },
  { "index of a named layer", "layers", "[\"#2\",\"b\"]", FALSE, "layer '#2', which" },
  { "index out of range", "layers", "[\"#99\",\"b\"]", FALSE, "layer '#99', which" },
  { "index overflowing", "layers", "[\"#99999999999\",\"b\"]", FALSE, "which the model" },
  { "dense layer", "layers", "[\"a\",\"fc\"]", FALSE, "no spatial extent" },
  { "no layers", "layers", "[]", FALSE, "1 to 4 layers" },
  { "wrong dims", "dims", "11", FALSE, "dims must be 10" },
  { "wrong grid", "grid", "[4,4]", FALSE, "grid must be [8, 8]" },
  { "bank blob too short", "bank_size", "7", FALSE, "holds 320 floats, not 7 patches of 10" },
  { "zero bank", "bank_size", "0", FALSE, "bank_size" },
  { "nan threshold", "threshold", "\"NaN\"", FALSE, "threshold" },
  { "negative threshold", "threshold", "-1", FALSE, "threshold" },
  { "huge threshold", "threshold", "1e39", FALSE, "threshold" },
  { "no threshold", "threshold", NULL, FALSE, "threshold" },
  { "zero sigma", "smoothing_sigma", "0", FALSE, "smoothing_sigma" },
  { "huge sigma", "smoothing_sigma", "1000", FALSE, "smoothing_sigma" },
  { "other method", "method", "\"padim\"", FALSE, "update the runtime" },
  { "few patches", "patches_collected", "2", FALSE, "patches_collected" },
  { "bad ratio", "coreset_ratio", "1.5", FALSE, "coreset_ratio" },
  { "other kind", "kind", "\"segmenter\"", TRUE, "kind is not one" },
  { "kind not a string", "kind", "1", TRUE, "kind is not one" },
  { "anomaly not an object", "anomaly", "[]", TRUE, "must be a JSON object" },
  { "wrong labels", "classes", "[\"good\",\"bad\"]", TRUE, "[\"good\", \"anomalous\"]" },
};

static void
test_hostile_headers (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *orig = NULL;
  gsize size;
  sl_error err = { 0 };

  sl_assert_ok (sl_anomaly_set_threshold (fx->anomaly, 2.0f, &err), &err);
  sl_assert_ok (save (fx, SL_SLMODEL_ANOMALY, fx->anomaly, NULL, &orig, &size, &err), &err);
  g_assert_cmpint (fx->anomaly->bank_size, ==, 32); /* 320 floats */

  for (gsize e = 0; e < G_N_ELEMENTS (edits); e++)
    {
      cJSON *h = cJSON_ParseWithLength ((const char *) orig + 32, get_u32 (orig + 12));
      cJSON *where = edits[e].top ? h : anomaly_of (h);
      g_autofree guint8 *bytes = NULL;
      gsize n;

      g_test_message ("edit: %s", edits[e].what);
      cJSON_DeleteItemFromObject (where, edits[e].key);
      if (edits[e].value != NULL)
        cJSON_AddItemToObject (where, edits[e].key, cJSON_Parse (edits[e].value));
      bytes = rebuild (orig, size, h, &n);
      expect_parse_refused (bytes, n, edits[e].fragment);
      cJSON_Delete (h);
    }

  /* The unchanged header rebuilt still reads: the edits alone were refused. */
  {
    cJSON *h = cJSON_ParseWithLength ((const char *) orig + 32, get_u32 (orig + 12));
    g_autofree guint8 *bytes = NULL;
    sl_slmodel_contents c;
    gsize n;

    bytes = rebuild (orig, size, h, &n);
    parse_ok (bytes, n, &c);
    sl_slmodel_contents_clear (&c);
    /* An anomaly model without its scorer; a bank blob nothing uses. */
    cJSON_DeleteItemFromObject (h, "anomaly");
    g_free (bytes);
    bytes = rebuild (orig, size, h, &n);
    expect_parse_refused (bytes, n, "lacks its anomaly scorer");
    cJSON_DeleteItemFromObject (h, "kind");
    g_free (bytes);
    bytes = rebuild (orig, size, h, &n);
    expect_parse_refused (bytes, n, "exactly two tensors");
    cJSON_Delete (h);
  }
}

static void
test_damaged_bank (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *orig = NULL;
  gsize size;
  sl_error err = { 0 };
  cJSON *h, *t;
  gsize off;
  float nan_value = NAN;

  sl_assert_ok (save (fx, SL_SLMODEL_ANOMALY, fx->anomaly, NULL, &orig, &size, &err), &err);
  /* Every truncation inside the bank, and a flipped bit in it. */
  for (gsize cut = size - 240; cut < size; cut += 17)
    expect_parse_refused (orig, cut, "truncated");
  orig[size - 5] ^= 0x04;
  expect_parse_refused (orig, size, "memory bank do not match their checksum");
  orig[size - 5] ^= 0x04;

  /* A NaN in the bank with a checksum that matches it. */
  h = cJSON_ParseWithLength ((const char *) orig + 32, get_u32 (orig + 12));
  t = cJSON_GetArrayItem (cJSON_GetObjectItem (h, "tensors"), 2);
  off = (gsize) cJSON_GetObjectItem (t, "offset")->valuedouble;
  memcpy (orig + off + 8, &nan_value, sizeof nan_value);
  cJSON_SetNumberValue (cJSON_GetObjectItem (t, "crc32"),
                        (double) sl_crc32 (0, orig + off, size - off));
  {
    g_autofree guint8 *bytes = NULL;
    gsize n;

    bytes = rebuild (orig, size, h, &n);
    expect_parse_refused (bytes, n, "not a finite number");
  }
  cJSON_Delete (h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/anomaly-slmodel/round-trip", test_round_trip);
  ADD ("/anomaly-slmodel/unnamed-layer", test_unnamed_layer);
  ADD ("/anomaly-slmodel/gate-and-old-files", test_gate_and_old_files);
  ADD ("/anomaly-slmodel/save-refusals", test_save_refusals);
  ADD ("/anomaly-slmodel/hostile-headers", test_hostile_headers);
  ADD ("/anomaly-slmodel/damaged-bank", test_damaged_bank);
  return g_test_run ();
}
