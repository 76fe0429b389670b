/* sl-test-support.c: data loading, in-memory batch sources and fixtures for the tests. */
#include "sl-test-support.h"
#include "sl-backend-module-private.h"
#include "sl-idx.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static const char *
fmnist_dir (void)
{
  const char *dir = g_getenv ("SL_FASHION_MNIST");

  return dir != NULL ? dir : "/usr/share/datasets/fashion-mnist";
}

gboolean
sl_test_data_load_fmnist (gboolean train, int n, SlTestData *out)
{
  g_autofree char *images = g_build_filename (
      fmnist_dir (), train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *labels = g_build_filename (
      fmnist_dir (), train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz", NULL);
  sl_idx img = { 0 }, lab = { 0 };
  sl_error err = { 0 };

  memset (out, 0, sizeof *out);
  if (!g_file_test (images, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      return FALSE;
    }
  sl_assert_ok (sl_idx_load (images, n, &img, &err), &err);
  sl_assert_ok (sl_idx_load (labels, n, &lab, &err), &err);
  g_assert_cmpint (img.count, ==, lab.count);
  out->n = (int) img.count;
  out->x = g_new (float, (gsize) out->n * 784);
  out->labels = g_new (int32_t, out->n);
  for (gsize i = 0; i < (gsize) out->n * 784; i++)
    out->x[i] = (img.data[i] / 255.0f - SL_FMNIST_MEAN) / SL_FMNIST_STD;
  for (int i = 0; i < out->n; i++)
    out->labels[i] = lab.data[i];
  sl_idx_clear (&img);
  sl_idx_clear (&lab);
  return TRUE;
}

void
sl_test_data_clear (SlTestData *data)
{
  g_free (data->x);
  g_free (data->labels);
  memset (data, 0, sizeof *data);
}

static int64_t
source_count (void *user_data)
{
  SlTestSource *src = user_data;

  return src->data->n;
}

static sl_status
source_begin (void *user_data, int64_t epoch, sl_error *err)
{
  SlTestSource *src = user_data;
  GRand *rand = g_rand_new_with_seed ((guint32) (src->seed * 7919 + (guint64) epoch));

  for (int i = 0; i < src->data->n; i++)
    src->order[i] = i;
  for (int i = src->data->n - 1; src->shuffle && i > 0; i--)
    {
      int j = g_rand_int_range (rand, 0, i + 1), tmp = src->order[i];
      src->order[i] = src->order[j];
      src->order[j] = tmp;
    }
  g_rand_free (rand);
  src->pos = 0;
  return SL_OK;
}

static sl_status
source_next (void *user_data, float *x, int32_t *labels, int max, int *n, sl_error *err)
{
  SlTestSource *src = user_data;
  int count = 0;

  while (count < max && src->pos < src->data->n)
    {
      int k = src->order[src->pos++];
      memcpy (x + (gsize) count * 784, src->data->x + (gsize) k * 784, 784 * sizeof (float));
      labels[count++] = src->data->labels[k];
    }
  *n = count;
  return SL_OK;
}

void
sl_test_source_init (SlTestSource *src, const SlTestData *data, gboolean shuffle, guint64 seed)
{
  memset (src, 0, sizeof *src);
  src->source.struct_size = sizeof src->source;
  src->source.user_data = src;
  src->source.count = source_count;
  src->source.begin_epoch = source_begin;
  src->source.next = source_next;
  src->data = data;
  src->shuffle = shuffle;
  src->seed = seed;
  src->order = g_new0 (int, data->n > 0 ? data->n : 1);
}

void
sl_test_source_clear (SlTestSource *src)
{
  g_free (src->order);
  src->order = NULL;
}

void *
sl_test_fixture_load (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  cJSON *doc;

  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("cannot read fixture %s: %s", path, error->message);
  doc = cJSON_Parse (text);
  g_assert_nonnull (doc);
  return doc;
}

float *
sl_test_fixture_floats (const void *obj, const char *key, gsize *len)
{
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive (obj, key);
  float *out;
  gsize n;

  g_assert_true (cJSON_IsArray (arr));
  n = (gsize) cJSON_GetArraySize (arr);
  out = g_new (float, n ? n : 1);
  for (gsize i = 0; i < n; i++)
    out[i] = (float) cJSON_GetArrayItem (arr, (int) i)->valuedouble;
  if (len != NULL)
    *len = n;
  return out;
}

double
sl_test_rel_error (const float *a, const float *b, gsize n, double floor)
{
  double diff = 0.0, na = 0.0, nb = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
  return sqrt (diff) / MAX (MAX (sqrt (na), sqrt (nb)), floor);
}

void
sl_test_fill_normal (float *x, gsize n, guint64 seed, float scale)
{
  GRand *rand = g_rand_new_with_seed ((guint32) seed);

  for (gsize i = 0; i < n; i += 2)
    {
      double u1 = g_rand_double_range (rand, 1e-12, 1.0), u2 = g_rand_double (rand);
      double r = sqrt (-2.0 * log (u1));
      x[i] = (float) (r * cos (2 * G_PI * u2)) * scale;
      if (i + 1 < n)
        x[i + 1] = (float) (r * sin (2 * G_PI * u2)) * scale;
    }
  g_rand_free (rand);
}

void
sl_test_expect_invalid_model (const char *json, const char *fragment)
{
  sl_error err = { 0 };
  sl_model *m = NULL;

  g_assert_cmpint (sl_model_new (json, 1, &m, &err), ==, SL_ERR_INVALID);
  g_assert_null (m);
  if (strstr (err.message, fragment) == NULL)
    g_error ("expected \"%s\" in: %s", fragment, err.message);
}

void
sl_test_write_floats_le (const char *dir, const char *name, const float *v, gsize n)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint32 *le = g_new (guint32, n);
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;

      memcpy (&bits, &v[i], 4);
      le[i] = GUINT32_TO_LE (bits);
    }
  g_file_set_contents (path, (const char *) le, (gssize) (n * 4), &error);
  g_assert_no_error (error);
}

char *
sl_test_fake_cuda_dir (const char *variant)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("fake-cuda-%s.so", variant);
  g_autofree char *src = g_test_build_filename (G_TEST_BUILT, name, NULL);
  char *dir = g_dir_make_tmp ("sl-fake-cuda-XXXXXX", &error);
  g_autofree char *dst = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_no_error (error);
  dst = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);
  g_assert_true (g_file_get_contents (src, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (dst, contents, (gssize) len, &error));
  g_assert_no_error (error);
  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", dir, TRUE);
  g_assert_cmpint (sl_device_registry_refresh (NULL, NULL), ==, SL_OK);
  return dir;
}

char *
sl_test_make_tmp_dir (const char *tmpl)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

void
sl_test_fake_cuda_dir_remove (char *dir)
{
  g_autofree char *module = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);

  g_unlink (module);
  g_rmdir (dir);
  g_free (dir);
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
  g_assert_cmpint (sl_device_registry_refresh (NULL, NULL), ==, SL_OK);
}
