/* test-projects-pickle-limits.c: crafted state dicts that lie about offsets, strides and sizes. */
#include "sl-backbone.h"
#include "sl-torch-pickle.h"

#include <string.h>

typedef struct
{
  const char *key;
  gint64 offset;
  int ndim;
  gint64 shape[2], stride[2];
} Crafted;

static void
put_long (GByteArray *out, gint64 v)
{
  guint64 le = GUINT64_TO_LE ((guint64) v);

  g_byte_array_append (out, (const guint8 *) "\x8a\x08", 2);
  g_byte_array_append (out, (const guint8 *) &le, 8);
}

static void
put_str (GByteArray *out, const char *s)
{
  guint32 len = GUINT32_TO_LE ((guint32) strlen (s));

  g_byte_array_append (out, (const guint8 *) "X", 1);
  g_byte_array_append (out, (const guint8 *) &len, 4);
  g_byte_array_append (out, (const guint8 *) s, (guint) strlen (s));
}

static void
put (GByteArray *out, const char *s)
{
  g_byte_array_append (out, (const guint8 *) s, (guint) strlen (s));
}

/* A legacy .pth whose tensors all view one float storage of storage_numel values; filler
 * empty tuples appended to a list left under the dict on the stack make the pickle big without
 * tensors. */
static GByteArray *
craft (const Crafted *tensors, int n, gint64 storage_numel, int filler)
{
  static const guint8 magic[]
      = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.' };
  GByteArray *out = g_byte_array_new ();
  gint64 count = GINT64_TO_LE (storage_numel);

  g_byte_array_append (out, magic, sizeof magic);
  g_byte_array_append (out, (const guint8 *) "\x80\x02M\xe9\x03.", 6);
  put (out, "\x80\x02}(");
  put_str (out, "little_endian");
  put (out, "\x88u.");
  put (out, "\x80\x02");
  if (filler > 0)
    {
      put (out, "]");
      for (int i = 0; i < filler; i++)
        put (out, ")a");
    }
  put (out, "ccollections\nOrderedDict\n)R");
  for (int i = 0; i < n; i++)
    {
      put_str (out, tensors[i].key);
      put (out, "ctorch._utils\n_rebuild_tensor_v2\n((");
      put_str (out, "storage");
      put (out, "ctorch\nFloatStorage\n");
      put_str (out, "0");
      put_str (out, "cpu");
      put_long (out, storage_numel);
      put (out, "tQ");
      put_long (out, tensors[i].offset);
      put (out, "(");
      for (int d = 0; d < tensors[i].ndim; d++)
        put_long (out, tensors[i].shape[d]);
      put (out, "t(");
      for (int d = 0; d < tensors[i].ndim; d++)
        put_long (out, tensors[i].stride[d]);
      put (out, "t\x89");
      put (out, "ccollections\nOrderedDict\n)RtRs");
    }
  put (out, ".\x80\x02]");
  put_str (out, "0");
  put (out, "a.");
  g_byte_array_append (out, (const guint8 *) &count, 8);
  for (gint64 k = 0; k < storage_numel; k++)
    {
      float f = (float) k;

      g_byte_array_append (out, (const guint8 *) &f, 4);
    }
  return out;
}

static GPtrArray *
load (GByteArray *file, GError **error)
{
  return sl_torch_load_state_dict (file->data, file->len, error);
}

static void
expect_error (GByteArray *file, const char *words)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *t = load (file, &error);

  g_assert_null (t);
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  if (strstr (error->message, words) == NULL)
    g_error ("expected \"%s\" in: %s", words, error->message);
}

/* The crafted format itself is accepted: the errors below come from the bounds, not the syntax. */
static void
test_sane (void)
{
  Crafted t[] = { { "w", 1, 1, { 2 }, { 1 } }, { "t", 0, 2, { 2, 2 }, { 1, 2 } } };
  g_autoptr (GByteArray) file = craft (t, 2, 4, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) out = load (file, &error);
  SlTorchTensor *w, *tr;

  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, 2);
  w = g_ptr_array_index (out, 0);
  tr = g_ptr_array_index (out, 1);
  g_assert_cmpint (w->numel, ==, 2);
  g_assert_cmpfloat (((float *) w->data)[0], ==, 1.0f);
  g_assert_cmpfloat (((float *) w->data)[1], ==, 2.0f);
  /* the transposed view comes out in C order: [[0, 2], [1, 3]] */
  g_assert_cmpfloat (((float *) tr->data)[1], ==, 2.0f);
  g_assert_cmpfloat (((float *) tr->data)[2], ==, 1.0f);
}

/* An offset near 2^63 used to wrap the last-element check and read far outside the file. */
static void
test_offset_overflow (void)
{
  Crafted wrap[] = { { "w", G_MAXINT64 - 1000, 1, { 3000 }, { 1 } } };
  Crafted huge[] = { { "w", G_MAXINT64, 1, { 2 }, { 1 } } };
  Crafted past[] = { { "w", 5, 1, { 0 }, { 1 } } };
  Crafted stride[] = { { "w", 3, 2, { 2, 2 }, { 4, 4 } } };
  g_autoptr (GByteArray) f1 = craft (wrap, 1, 4, 0);
  g_autoptr (GByteArray) f2 = craft (huge, 1, 4, 0);
  g_autoptr (GByteArray) f3 = craft (past, 1, 4, 0);
  g_autoptr (GByteArray) f4 = craft (stride, 1, 4, 0);

  expect_error (f1, "past the end of storage 0");
  expect_error (f2, "past the end of storage 0");
  expect_error (f3, "past the end of storage 0");
  expect_error (f4, "reaches past the end");
}

/* A stride-0 view of one value used to ask for a gigabyte from a 271-byte file. */
static void
test_stride_zero (void)
{
  Crafted t[] = { { "w", 0, 1, { 1 << 28 }, { 0 } } };
  Crafted small[] = { { "w", 0, 2, { 1, 4 }, { 0, 1 } } };
  g_autoptr (GByteArray) file = craft (t, 1, 1, 0);
  g_autoptr (GByteArray) ok = craft (small, 1, 4, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) out = NULL;

  expect_error (file, "more values");
  /* a stride 0 over a dimension of 1 is how PyTorch writes some views: still fine */
  out = load (ok, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((SlTorchTensor *) g_ptr_array_index (out, 0))->numel, ==, 4);
}

/* Many full-size views of one storage: each is legal, together they would be far bigger than the
 * file, so the total is capped. */
static void
test_overlapping_views (void)
{
  enum
  {
    VIEWS = 64
  };
  Crafted t[VIEWS];
  char keys[VIEWS][8];
  g_autoptr (GByteArray) file = NULL;

  for (int i = 0; i < VIEWS; i++)
    {
      g_snprintf (keys[i], sizeof keys[i], "v%d", i);
      t[i] = (Crafted){ keys[i], 0, 1, { 100000 }, { 1 } };
    }
  file = craft (t, VIEWS, 100000, 0);
  expect_error (file, "far more memory than the file");
}

/* A megabyte of empty tuples used to cost 132 MB of objects; now the object count scales with
 * the file's size. */
static void
test_many_objects (void)
{
  Crafted t[] = { { "w", 0, 1, { 4 }, { 1 } } };
  g_autoptr (GByteArray) big = craft (t, 1, 4, 500000);
  g_autoptr (GByteArray) fine = craft (t, 1, 4, 2000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) out = NULL;

  expect_error (big, "more than");
  out = load (fine, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pickle-limits/sane", test_sane);
  g_test_add_func ("/pickle-limits/offset-overflow", test_offset_overflow);
  g_test_add_func ("/pickle-limits/stride-zero", test_stride_zero);
  g_test_add_func ("/pickle-limits/overlapping-views", test_overlapping_views);
  g_test_add_func ("/pickle-limits/many-objects", test_many_objects);
  return g_test_run ();
}
