/* runtime-anomaly-util.c: the anomaly tests' tiny model, pipeline, synthetic images and fitted scorer. */
#include "runtime-anomaly-util.h"
#include "sl-test-anomaly-data.h"
#include "sl-test-support.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl-files.h"

#define N_FIT    16
#define N_GOOD   8
#define N_DEFECT 5
#define N_FAR    4

static RtAnomalyData data;
static gboolean data_ready;

static void
data_free (void)
{
  if (data.dir != NULL)
    sl_remove_tree (data.dir);
  g_free (data.dir);
  g_strfreev (data.fit);
  g_strfreev (data.good);
  g_strfreev (data.defect);
  g_strfreev (data.far);
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The image files of dir, sorted by name. */
static char **
list_pngs (const char *dir, int *n)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *name;
  char **out;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".png"))
      g_ptr_array_add (names, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (names, compare_paths);
  *n = names->len;
  g_ptr_array_add (names, NULL);
  out = (char **) g_ptr_array_steal (names, NULL);
  return out;
}

/* Inverted copies of the first good images and seeded noise: inputs no
 * part ever looks like. */
static char **
write_far (const char *dir, char **good, int n)
{
  GPtrArray *paths = g_ptr_array_new ();
  GRand *rand = g_rand_new_with_seed (99);
  sl_error err = { 0 };

  for (int i = 0; i < n; i++)
    {
      sl_image img = { 0 };
      char *path = g_strdup_printf ("%s/far-%d.png", dir, i);

      sl_assert_ok (sl_image_load (good[i], 0, &img, &err), &err);
      for (int y = 0; y < img.height; y++)
        {
          guint8 *row = (guint8 *) img.data + (gsize) y * img.stride;
          for (int x = 0; x < img.width * img.channels; x++)
            row[x] = i % 2 == 0 ? 255 - row[x] : (guint8) g_rand_int_range (rand, 0, 256);
        }
      sl_assert_ok (sl_image_save (&img, path, &err), &err);
      sl_image_clear (&img);
      g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);
  g_rand_free (rand);
  return (char **) g_ptr_array_free (paths, FALSE);
}

const RtAnomalyData *
rt_anomaly_data (void)
{
  g_autofree char *good_dir = NULL, *defect_dir = NULL, *far_dir = NULL;
  char **all;
  int n_all;

  if (data_ready)
    return &data;
  data.dir = g_dir_make_tmp ("sl-runtime-anomaly-XXXXXX", NULL);
  g_assert_nonnull (data.dir);
  atexit (data_free);
  /* 48 px images: the pipeline resizes them to the model's 32. */
  g_assert_cmpint (sl_test_write_anomaly_images (data.dir, N_FIT + N_GOOD, N_DEFECT, 48, 5), ==, 0);
  good_dir = g_build_filename (data.dir, "good", NULL);
  defect_dir = g_build_filename (data.dir, "defect", NULL);
  far_dir = g_build_filename (data.dir, "far", NULL);
  all = list_pngs (good_dir, &n_all);
  g_assert_cmpint (n_all, ==, N_FIT + N_GOOD);
  data.fit = g_new0 (char *, N_FIT + 1);
  data.good = g_new0 (char *, N_GOOD + 1);
  for (int i = 0; i < n_all; i++)
    if (i < N_FIT)
      data.fit[i] = all[i];
    else
      data.good[i - N_FIT] = all[i];
  g_free (all);
  data.n_fit = N_FIT;
  data.n_good = N_GOOD;
  data.defect = list_pngs (defect_dir, &data.n_defect);
  g_assert_cmpint (data.n_defect, ==, N_DEFECT);
  g_assert_cmpint (g_mkdir (far_dir, 0755), ==, 0);
  data.far = write_far (far_dir, data.good, N_FAR);
  data.n_far = N_FAR;
  data_ready = TRUE;
  return &data;
}

sl_model *
rt_tiny_model (int classes, guint64 seed)
{
  g_autofree char *json = g_strdup_printf (
      "{\"name\":\"tiny\",\"input\":{\"channels\":3,\"height\":%d,\"width\":%d},"
      "\"classes\":%d,\"layers\":["
      "{\"type\":\"conv2d\",\"name\":\"c1\",\"filters\":8,\"kernel\":3,\"padding\":1},"
      "{\"type\":\"relu\",\"name\":\"r1\"},"
      "{\"type\":\"maxpool\",\"name\":\"p1\",\"size\":2},"
      "{\"type\":\"conv2d\",\"name\":\"c2\",\"filters\":16,\"kernel\":3,\"padding\":1},"
      "{\"type\":\"relu\",\"name\":\"r2\"},"
      "{\"type\":\"maxpool\",\"name\":\"p2\",\"size\":2},"
      "{\"type\":\"conv2d\",\"name\":\"c3\",\"filters\":16,\"kernel\":3,\"padding\":1},"
      "{\"type\":\"relu\",\"name\":\"r3\"},"
      "{\"type\":\"global_avgpool\",\"name\":\"gap\"},"
      "{\"type\":\"dense\",\"name\":\"head\",\"units\":%d}]}",
      RT_TINY_SIZE, RT_TINY_SIZE, classes, classes);
  sl_model *m = NULL;
  sl_error err = { 0 };

  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, 1, &err), &err);
  return m;
}

sl_pipeline *
rt_tiny_pipeline (void)
{
  sl_input_spec spec = { .width = RT_TINY_SIZE, .height = RT_TINY_SIZE, .channels = 3 };
  sl_pipeline *p = NULL;
  sl_error err = { 0 };

  for (int c = 0; c < 3; c++)
    {
      spec.mean[c] = 0.5f;
      spec.std[c] = 0.25f;
    }
  sl_assert_ok (sl_pipeline_new (&p, &err), &err);
  sl_assert_ok (sl_pipeline_set_input (p, &spec, &err), &err);
  return p;
}

float *
rt_tiny_input (const char *path)
{
  sl_pipeline *p = rt_tiny_pipeline ();
  sl_image img = { 0 }, ready = { 0 };
  float *x = g_new (float, 3 * RT_TINY_SIZE * RT_TINY_SIZE);
  sl_error err = { 0 };

  sl_assert_ok (sl_image_load (path, 0, &img, &err), &err);
  sl_assert_ok (sl_pipeline_apply (p, &img, &ready, &err), &err);
  sl_assert_ok (sl_pipeline_normalize (p, &ready, x, &err), &err);
  sl_image_clear (&img);
  sl_image_clear (&ready);
  sl_pipeline_free (p);
  return x;
}

sl_anomaly *
rt_fit_scorer (sl_model *model, char **paths)
{
  sl_anomaly_config config;
  sl_anomaly_fitter *fitter = NULL;
  sl_anomaly *scorer = NULL;
  sl_error err = { 0 };

  sl_anomaly_config_init (&config);
  config.layers[0] = sl_model_find_layer (model, "r1");
  config.layers[1] = sl_model_find_layer (model, "r2");
  g_assert_cmpint (config.layers[0], >=, 0);
  g_assert_cmpint (config.layers[1], >=, 0);
  config.n_layers = 2;
  config.coreset_ratio = 0.25;
  config.smoothing_sigma = 2.0f;
  sl_assert_ok (sl_anomaly_fitter_new (model, &config, &fitter, &err), &err);
  for (int i = 0; paths[i] != NULL; i++)
    {
      g_autofree float *x = rt_tiny_input (paths[i]);
      sl_assert_ok (sl_anomaly_fitter_add (fitter, x, 1, &err), &err);
    }
  sl_assert_ok (sl_anomaly_fitter_finish (fitter, NULL, NULL, &scorer, &err), &err);
  sl_anomaly_fitter_free (fitter);
  return scorer;
}

float
rt_reference_score (const sl_anomaly *scorer, sl_model *model, const char *path, float *map)
{
  g_autofree float *x = rt_tiny_input (path);
  sl_error err = { 0 };
  float score = NAN;

  sl_assert_ok (sl_anomaly_score (scorer, model, x, 1, &score, map, &err), &err);
  return score;
}
