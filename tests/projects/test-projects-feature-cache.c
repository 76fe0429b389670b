/* test-projects-feature-cache.c: the feature pass's progress when the last images cannot be decoded. */
#include "projects-test-util.h"
#include "sl-feature-cache.h"
#include "sightline.h"

#include <string.h>

/* small-bn for 28x28 gray images and 2 classes, every layer before the first dense one frozen. */
static sl_model *
frozen_model (void)
{
  g_autofree char *json = pt_frozen_small_bn_json (2);
  sl_model *model = NULL;
  sl_error err = { 0 };

  g_assert_cmpint (sl_model_new (json, 1, &model, &err), ==, SL_OK);
  return model;
}

static void
collect (const char *dir, GPtrArray *paths)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          collect (path, paths);
          g_free (path);
        }
      else
        g_ptr_array_add (paths, path);
    }
}

static gboolean
record (gint64 done, gpointer user_data)
{
  gint64 *last = user_data;

  g_assert_cmpint (done, >=, *last);
  *last = done;
  return TRUE;
}

/* The pass's last report is every image, failed ones included, even when the failures are the
 * last images: the CLI's "features of N images computed" waits for done == total. */
static void
test_progress_reaches_total (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) labels = g_array_new (FALSE, TRUE, sizeof (int32_t));
  g_autoptr (GError) error = NULL;
  g_autoptr (SlFeatureCache) cache = NULL;
  sl_input_spec spec = { 28, 28, 1, { 0 }, { 1, 1, 1 } };
  sl_pipeline *pipeline = NULL;
  sl_loader_config lc;
  sl_loader *loader = NULL;
  sl_model *model;
  sl_error err = { 0 };
  gint64 last = 0;

  if (pt_write_fmnist_tree (tmp, TRUE, 6, 2, "img") < 0)
    {
      sl_remove_tree (tmp);
      return;
    }
  collect (tmp, paths);
  for (int i = 0; i < 3; i++)
    {
      char *bad = g_strdup_printf ("%s/zz-broken-%d.png", tmp, i);

      g_assert_true (g_file_set_contents (bad, "not an image", -1, NULL));
      g_ptr_array_add (paths, bad);
    }
  g_array_set_size (labels, paths->len);
  g_assert_cmpint (sl_pipeline_new (&pipeline, &err), ==, SL_OK);
  g_assert_cmpint (sl_pipeline_set_input (pipeline, &spec, &err), ==, SL_OK);
  sl_loader_config_init (&lc);
  lc.batch_size = 4;
  lc.shuffle = false;
  lc.workers = 1;
  g_assert_cmpint (sl_loader_new_files ((const char *const *) paths->pdata,
                                        (const int32_t *) labels->data, paths->len, pipeline, &lc,
                                        &loader, &err),
                   ==, SL_OK);
  model = frozen_model ();
  cache = sl_feature_cache_new (model, loader, lc.batch_size, 1 << 24, tmp, record, &last, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cache);
  g_assert_cmpint (sl_feature_cache_count (cache), ==, paths->len);
  g_assert_cmpint (last, ==, paths->len);
  g_clear_pointer (&cache, sl_feature_cache_free);
  sl_loader_free (loader);
  sl_pipeline_free (pipeline);
  sl_model_free (model);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/feature-cache/progress-reaches-total", test_progress_reaches_total);
  return g_test_run ();
}
