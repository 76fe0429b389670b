/* test-projects-split.c: stratified, deterministic, incremental splits and data health warnings. */
#include <math.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-project.h"

/* hash -> split of every image. */
static GHashTable *
split_map (SlProject *project)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = sl_project_list_images (project, NULL, &error);
  GHashTable *map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_hash_table_insert (map, g_strdup (im->hash), GINT_TO_POINTER (im->split));
    }
  return map;
}

static gboolean
same_split (GHashTable *a, GHashTable *b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_hash_table_lookup (b, key) != value)
      return FALSE;
  return TRUE;
}

static void
test_stratified (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (400, 4, &tmp);
  SlProjectStats s;

  if (project == NULL)
    return;
  g_assert_true (sl_project_get_stats (project, &s, &error));
  g_assert_cmpuint (s.classes->len, ==, 4);
  for (guint i = 0; i < s.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (s.classes, i);

      g_assert_cmpint (c->unsplit, ==, 0);
      g_assert_cmpint (c->train + c->val + c->test, ==, c->total);
      /* Each class on its own is split 70/15/15 (to the nearest image). */
      g_assert_cmpint (llabs (c->val - llround (c->total * 0.15)), <=, 1);
      g_assert_cmpint (llabs (c->test - llround (c->total * 0.15)), <=, 1);
    }
  sl_project_stats_clear (&s);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

static void
test_deterministic (void)
{
  g_autofree char *tmp_a = NULL, *tmp_b = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) a = pt_fmnist_project (200, 3, &tmp_a);
  g_autoptr (SlProject) b = NULL;
  g_autoptr (GHashTable) map_a = NULL, map_b = NULL, map_c = NULL;
  SlSplitConfig config;

  if (a == NULL)
    return;
  map_a = split_map (a);

  /* The same images imported in another order (one class first, then the rest)
   * into another project: the same split. */
  {
    g_autofree char *src = g_build_filename (tmp_a, "src", NULL);
    g_autofree char *first = g_build_filename (src, "trouser", NULL);
    SlImportResult r;

    tmp_b = pt_make_tmp ();
    b = sl_project_create (tmp_b, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (sl_project_add_class (b, "trouser", NULL, NULL, &error), >, 0);
    g_assert_true (sl_project_import_folder (b, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL,
                                             NULL, &r, &error));
    sl_import_result_clear (&r);
    sl_split_config_init (&config);
    g_assert_true (sl_project_split (b, &config, NULL, &error));
  }
  map_b = split_map (b);
  g_assert_true (same_split (map_a, map_b));

  /* A split stays as it is when split is run again... */
  g_assert_true (sl_project_split (a, &config, NULL, &error));
  map_c = split_map (a);
  g_assert_true (same_split (map_a, map_c));
  g_clear_pointer (&map_c, g_hash_table_unref);

  /* ...and changes with another seed only when re-split. */
  config.seed = 2;
  config.resplit = TRUE;
  g_assert_true (sl_project_split (a, &config, NULL, &error));
  map_c = split_map (a);
  g_assert_false (same_split (map_a, map_c));
  g_clear_pointer (&map_c, g_hash_table_unref);
  config.seed = 1;
  g_assert_true (sl_project_split (a, &config, NULL, &error));
  map_c = split_map (a);
  g_assert_true (same_split (map_a, map_c));

  g_clear_pointer (&a, sl_project_unref);
  g_clear_pointer (&b, sl_project_unref);
  sl_remove_tree (tmp_a);
  sl_remove_tree (tmp_b);
}

static void
test_small_classes (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (120, 3, &tmp);
  g_autoptr (GPtrArray) images = NULL;
  gint64 two, three, assigned = 0, ids[5];
  SlProjectStats s;
  SlSplitConfig config;
  SlImageFilter filter;

  if (project == NULL)
    return;
  /* Move five images of the first class into two tiny classes. */
  sl_image_filter_init (&filter);
  images = sl_project_list_images (project, &filter, &error);
  for (int i = 0; i < 5; i++)
    ids[i] = ((SlImageInfo *) g_ptr_array_index (images, i))->id;
  two = sl_project_add_class (project, "rare", NULL, NULL, &error);
  three = sl_project_add_class (project, "scarce", NULL, NULL, &error);
  g_assert_true (sl_project_set_labels (project, ids, 2, two, &error));
  g_assert_true (sl_project_set_labels (project, ids + 2, 3, three, &error));
  g_assert_true (sl_project_set_split (project, ids, 5, SL_SPLIT_NONE, &error));
  sl_split_config_init (&config);
  g_assert_true (sl_project_split (project, &config, &assigned, &error));
  g_assert_cmpint (assigned, ==, 5); /* only the unsplit images moved */
  g_assert_true (sl_project_get_stats (project, &s, &error));
  for (guint i = 0; i < s.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (s.classes, i);
      if (c->class_id == two)
        {
          g_assert_cmpint (c->train, ==, 1);
          g_assert_cmpint (c->val, ==, 1);
        }
      if (c->class_id == three)
        {
          g_assert_cmpint (c->train, ==, 1);
          g_assert_cmpint (c->val, ==, 1);
          g_assert_cmpint (c->test, ==, 1);
        }
    }
  /* Health: tiny classes and the imbalance are reported with advice. */
  {
    gboolean small = FALSE, imbalance = FALSE;
    for (guint i = 0; i < s.warnings->len; i++)
      {
        const SlHealthWarning *w = g_ptr_array_index (s.warnings, i);
        small = small || g_str_equal (w->code, "small-class");
        if (g_str_equal (w->code, "imbalance"))
          {
            imbalance = TRUE;
            g_assert_nonnull (strstr (w->suggestion, "class weights"));
          }
      }
    g_assert_true (small);
    g_assert_true (imbalance);
    g_assert_cmpfloat (s.imbalance, >=, 10.0);
  }
  sl_project_stats_clear (&s);

  /* Bad fractions are refused. */
  config.train = 0;
  g_assert_false (sl_project_split (project, &config, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/split/stratified", test_stratified);
  g_test_add_func ("/projects/split/deterministic", test_deterministic);
  g_test_add_func ("/projects/split/small-classes", test_small_classes);
  return g_test_run ();
}
