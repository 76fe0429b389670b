/* test-vision-loader.c: batch order, determinism across worker counts, the cache, and failure reports. */
#include "vision-test-util.h"

#include <string.h>

#define N_IMAGES 200

typedef struct
{
  sl_idx images;
  sl_image *views;
  int32_t *ids; /* item i has label i, so batches reveal their order */
  sl_pipeline *pipeline;
  size_t floats;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  sl_input_spec spec = { 24, 24, 1, { 0.2860f }, { 0.3530f } };
  sl_error err = { 0 };

  memset (f, 0, sizeof *f);
  if (!vt_fmnist (N_IMAGES, &f->images, NULL))
    return;
  f->views = g_new0 (sl_image, N_IMAGES);
  f->ids = g_new (int32_t, N_IMAGES);
  for (int i = 0; i < N_IMAGES; i++)
    {
      vt_fmnist_image (&f->images, i, &f->views[i]);
      f->ids[i] = i;
    }
  vt_assert_ok (sl_pipeline_new (&f->pipeline, &err), &err);
  vt_assert_ok (sl_pipeline_set_input (f->pipeline, &spec, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (f->pipeline, -1, "crop", &err), &err);
  vt_assert_ok (
      sl_pipeline_set_rect (f->pipeline, 0, "rect", (sl_rect){ 0.05, 0.05, 0.9, 0.9 }, &err), &err);
  vt_assert_ok (sl_pipeline_insert_step (f->pipeline, -1, "clahe", &err), &err);
  f->floats = 24 * 24;
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_free (f->views);
  g_free (f->ids);
  sl_pipeline_free (f->pipeline);
  sl_idx_clear (&f->images);
}

/* What the loader must produce for item i without augmentation. */
static void
expected_floats (Fixture *f, const sl_image *img, float *x)
{
  sl_image out;
  sl_error err = { 0 };

  vt_assert_ok (sl_pipeline_apply (f->pipeline, img, &out, &err), &err);
  vt_assert_ok (sl_pipeline_normalize (f->pipeline, &out, x, &err), &err);
  sl_image_clear (&out);
}

/* Runs one epoch; returns all floats and ids in delivery order and the batch sizes. */
static int
run_epoch (sl_loader *l, int64_t epoch, int batch, GArray *x_all, GArray *ids_all, GArray *sizes)
{
  size_t floats = sl_loader_image_floats (l);
  float *x = g_new (float, floats *(size_t) batch);
  int32_t *ids = g_new (int32_t, batch);
  sl_error err = { 0 };
  int total = 0, n;

  vt_assert_ok (sl_loader_begin_epoch (l, epoch, &err), &err);
  for (;;)
    {
      vt_assert_ok (sl_loader_next (l, x, ids, batch, &n, &err), &err);
      if (n == 0)
        break;
      g_array_append_vals (x_all, x, floats * (size_t) n);
      g_array_append_vals (ids_all, ids, (guint) n);
      if (sizes)
        g_array_append_val (sizes, n);
      total += n;
    }
  /* After the end, next keeps saying so. */
  vt_assert_ok (sl_loader_next (l, x, ids, batch, &n, &err), &err);
  g_assert_cmpint (n, ==, 0);
  g_free (x);
  g_free (ids);
  return total;
}

static void
test_in_order_matches_pipeline (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) x = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree float *want = NULL;
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };

  if (f->views == NULL)
    return;
  sl_loader_config_init (&c);
  c.shuffle = false;
  c.batch_size = 32;
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  g_assert_cmpint (sl_loader_count (l), ==, N_IMAGES);
  g_assert_cmpuint (sl_loader_image_floats (l), ==, f->floats);
  g_assert_cmpint (run_epoch (l, 0, 32, x, ids, sizes), ==, N_IMAGES);
  g_assert_cmpint (sizes->len, ==, 7);
  for (int k = 0; k < 6; k++)
    g_assert_cmpint (g_array_index (sizes, int, k), ==, 32);
  g_assert_cmpint (g_array_index (sizes, int, 6), ==, 8);
  want = g_new (float, f->floats);
  for (int i = 0; i < N_IMAGES; i++)
    {
      g_assert_cmpint (g_array_index (ids, int32_t, i), ==, i);
      expected_floats (f, &f->views[i], want);
      g_assert_true (memcmp (want, &g_array_index (x, float, (size_t) i * f->floats),
                             f->floats * sizeof (float))
                     == 0);
    }
  sl_loader_free (l);
}

static GArray *
collect (Fixture *f, int workers, int prefetch, size_t cache, int epochs,
         const sl_augment_config *aug, GArray **ids_out)
{
  GArray *x = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };

  sl_loader_config_init (&c);
  c.batch_size = 24;
  c.seed = 7;
  c.workers = workers;
  c.prefetch = prefetch;
  c.cache_bytes = cache;
  c.augment = aug;
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  for (int e = 0; e < epochs; e++)
    g_assert_cmpint (run_epoch (l, e, 24, x, ids, NULL), ==, N_IMAGES);
  sl_loader_free (l);
  *ids_out = ids;
  return x;
}

static void
test_same_batches_for_any_worker_count (Fixture *f, gconstpointer data)
{
  sl_augment_config aug;
  GArray *ref_ids, *ref;
  const struct
  {
    int workers, prefetch;
    size_t cache;
  } setups[] = { { 2, 0, 64 << 20 }, { 4, 3, 64 << 20 }, { 3, 1, 0 }, { 2, 2, 20 * 576 } };

  if (f->views == NULL)
    return;
  sl_augment_config_init (&aug);
  aug.flip_horizontal = true;
  aug.rotate_degrees = 10;
  aug.noise_std = 4;
  aug.cutout_probability = 0.3;
  aug.cutout_fraction = 0.2;
  ref = collect (f, 1, 1, 0, 3, &aug, &ref_ids);
  for (gsize s = 0; s < G_N_ELEMENTS (setups); s++)
    {
      GArray *ids,
          *x = collect (f, setups[s].workers, setups[s].prefetch, setups[s].cache, 3, &aug, &ids);

      g_assert_cmpuint (x->len, ==, ref->len);
      g_assert_true (memcmp (ids->data, ref_ids->data, ids->len * sizeof (int32_t)) == 0);
      if (memcmp (x->data, ref->data, x->len * sizeof (float)) != 0)
        g_error ("%d workers, prefetch %d, cache %zu: other pixels than 1 worker",
                 setups[s].workers, setups[s].prefetch, setups[s].cache);
      g_array_unref (x);
      g_array_unref (ids);
    }
  /* Each epoch is a permutation, and epochs differ. */
  for (int e = 0; e < 3; e++)
    {
      g_autofree gboolean *seen = g_new0 (gboolean, N_IMAGES);

      for (int i = 0; i < N_IMAGES; i++)
        {
          int32_t id = g_array_index (ref_ids, int32_t, e * N_IMAGES + i);

          g_assert_false (seen[id]);
          seen[id] = TRUE;
        }
    }
  g_assert_false (
      memcmp (ref_ids->data, (int32_t *) ref_ids->data + N_IMAGES, N_IMAGES * sizeof (int32_t))
      == 0);
  /* sl_loader_shuffle_order tells the order (a cache of the items can follow it). */
  for (int e = 0; e < 3; e++)
    {
      int64_t order[N_IMAGES];

      sl_loader_shuffle_order (7, e, N_IMAGES, order);
      for (int i = 0; i < N_IMAGES; i++)
        g_assert_cmpint (g_array_index (ref_ids, int32_t, e * N_IMAGES + i), ==, order[i]);
    }
  g_array_unref (ref);
  g_array_unref (ref_ids);
}

static void
test_epochs_replay (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) x0 = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) x0b = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
  float *x = g_new (float, f->floats * 16);
  int32_t lab[16];
  sl_augment_config aug;
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };
  int n;

  if (f->views == NULL)
    {
      g_free (x);
      return;
    }
  sl_augment_config_init (&aug);
  aug.brightness = 0.1;
  aug.shift_fraction = 0.1;
  sl_loader_config_init (&c);
  c.batch_size = 16;
  c.seed = 99;
  c.augment = &aug;
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  run_epoch (l, 0, 16, x0, ids, NULL);
  /* Abandon epoch 5 halfway, then replay epoch 0: the same pixels again. */
  vt_assert_ok (sl_loader_begin_epoch (l, 5, &err), &err);
  vt_assert_ok (sl_loader_next (l, x, lab, 16, &n, &err), &err);
  g_assert_cmpint (n, ==, 16);
  run_epoch (l, 0, 16, x0b, ids, NULL);
  g_assert_cmpuint (x0->len, ==, x0b->len);
  g_assert_true (memcmp (x0->data, x0b->data, x0->len * sizeof (float)) == 0);
  g_assert_cmpint (sl_loader_next (l, x, lab, 8, &n, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "batches of 16"));
  g_assert_cmpint (sl_loader_begin_epoch (l, -1, &err), ==, SL_ERR_INVALID);
  sl_loader_free (l);
  g_free (x);
}

/* What training sees is what the preview shows for the same seed, epoch and item. */
static void
test_augmentation_matches_preview (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) x = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autofree float *want = NULL;
  sl_augment_config aug;
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };
  int changed = 0;

  if (f->views == NULL)
    return;
  sl_augment_config_init (&aug);
  aug.flip_vertical = true;
  aug.rotate_degrees = 15;
  aug.contrast = 0.2;
  aug.noise_std = 3;
  sl_loader_config_init (&c);
  c.batch_size = 20;
  c.seed = 1234;
  c.augment = &aug;
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  g_assert_cmpint (run_epoch (l, 3, 20, x, ids, NULL), ==, N_IMAGES);
  want = g_new (float, f->floats);
  for (guint k = 0; k < ids->len; k++)
    {
      int32_t id = g_array_index (ids, int32_t, k);
      sl_image pre, post;

      vt_assert_ok (sl_pipeline_apply (f->pipeline, &f->views[id], &pre, &err), &err);
      vt_assert_ok (sl_augment_apply (&aug, sl_augment_seed (1234, 3, id), &pre, &post, &err),
                    &err);
      changed += !sl_image_equal (&pre, &post);
      vt_assert_ok (sl_pipeline_normalize (f->pipeline, &post, want, &err), &err);
      g_assert_true (
          memcmp (want, &g_array_index (x, float, k * f->floats), f->floats * sizeof (float)) == 0);
      sl_image_clear (&pre);
      sl_image_clear (&post);
    }
  g_assert_cmpint (changed, ==, N_IMAGES);
  sl_loader_free (l);
}

static void
test_cache_budget (Fixture *f, gconstpointer data)
{
  g_autoptr (GArray) x = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
  sl_loader_config c;
  sl_loader_stats st;
  sl_loader *l;
  sl_error err = { 0 };

  if (f->views == NULL)
    return;
  sl_loader_config_init (&c);
  c.batch_size = 32;
  c.cache_bytes = 50 * 576 + 100; /* room for 50 images of 24 x 24 */
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  run_epoch (l, 0, 32, x, ids, NULL);
  sl_loader_get_stats (l, &st);
  g_assert_cmpint (st.cached_images, ==, 50);
  g_assert_cmpuint (st.cached_bytes, ==, 50 * 576);
  g_assert_cmpint (st.decoded_images, ==, N_IMAGES);
  run_epoch (l, 1, 32, x, ids, NULL);
  sl_loader_get_stats (l, &st);
  g_assert_cmpint (st.decoded_images, ==, 2 * N_IMAGES - 50); /* streamed the rest */
  sl_loader_free (l);

  c.cache_bytes = (size_t) 64 << 20;
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  run_epoch (l, 0, 32, x, ids, NULL);
  run_epoch (l, 1, 32, x, ids, NULL);
  sl_loader_get_stats (l, &st);
  g_assert_cmpint (st.cached_images, ==, N_IMAGES);
  g_assert_cmpint (st.decoded_images, ==, N_IMAGES); /* the second epoch came from memory */
  g_assert_cmpint (st.failed_images, ==, 0);
  sl_loader_free (l);
}

typedef struct
{
  GPtrArray *messages;
  GArray *items;
} Reports;

static void
on_failure (int64_t item, const char *message, void *user_data)
{
  Reports *r = user_data;
  int32_t i = (int32_t) item;

  g_ptr_array_add (r->messages, g_strdup (message));
  g_array_append_val (r->items, i);
}

static void
test_files_and_failures (Fixture *f, gconstpointer data)
{
  enum
  {
    GOOD = 40,
    BAD = 4,
    N = GOOD + BAD
  };
  g_autofree char *dir = NULL;
  g_autofree float *want = NULL;
  char *paths[N];
  int32_t labels[N];
  Reports r
      = { g_ptr_array_new_with_free_func (g_free), g_array_new (FALSE, FALSE, sizeof (int32_t)) };
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };

  if (f->views == NULL)
    return;
  dir = vt_tmpdir ();
  for (int i = 0; i < N; i++)
    {
      labels[i] = i;
      paths[i] = g_strdup_printf ("%s/img-%02d.png", dir, i);
    }
  for (int i = 0; i < GOOD; i++)
    vt_assert_ok (sl_image_save (&f->views[i], paths[i], &err), &err);
  g_assert_true (g_file_set_contents (paths[GOOD], "", 0, NULL));
  g_assert_true (g_file_set_contents (paths[GOOD + 1], "hello", 5, NULL));
  {
    char *bytes;
    gsize size;

    g_assert_true (g_file_get_contents (paths[0], &bytes, &size, NULL));
    g_assert_true (g_file_set_contents (paths[GOOD + 2], bytes, (gssize) size / 2, NULL));
    g_free (bytes);
  }
  /* paths[GOOD + 3] is never written. */

  sl_loader_config_init (&c);
  c.batch_size = 8;
  c.seed = 3;
  c.on_failure = on_failure;
  c.user_data = &r;
  vt_assert_ok (
      sl_loader_new_files ((const char *const *) paths, labels, N, f->pipeline, &c, &l, &err),
      &err);
  want = g_new (float, f->floats);
  for (int e = 0; e < 2; e++)
    {
      g_autoptr (GArray) x = g_array_new (FALSE, FALSE, sizeof (float));
      g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int32_t));

      g_assert_cmpint (run_epoch (l, e, 8, x, ids, NULL), ==, GOOD);
      for (guint k = 0; k < ids->len; k++)
        {
          int32_t id = g_array_index (ids, int32_t, k);

          g_assert_cmpint (id, <, GOOD);
          expected_floats (f, &f->views[id], want);
          g_assert_true (
              memcmp (want, &g_array_index (x, float, k * f->floats), f->floats * sizeof (float))
              == 0);
        }
      /* Reported once, in the first epoch, never again. */
      g_assert_cmpint (r.items->len, ==, BAD);
    }
  for (guint k = 0; k < r.items->len; k++)
    {
      int32_t id = g_array_index (r.items, int32_t, k);
      const char *msg = g_ptr_array_index (r.messages, k), *again;
      int64_t item;

      g_assert_cmpint (id, >=, GOOD);
      g_assert_nonnull (strstr (msg, paths[id]));
      g_assert_true (sl_loader_failure (l, k, &item, &again));
      g_assert_cmpint (item, ==, id);
      g_assert_cmpstr (again, ==, msg);
    }
  {
    int64_t item;
    const char *msg;
    sl_loader_stats st;

    g_assert_false (sl_loader_failure (l, BAD, &item, &msg));
    sl_loader_get_stats (l, &st);
    g_assert_cmpint (st.failed_images, ==, BAD);
  }
  sl_loader_free (l);

  /* When nothing at all can be loaded, the epoch fails with the first reason. */
  vt_assert_ok (sl_loader_new_files ((const char *const *) paths + GOOD, labels, BAD, f->pipeline,
                                     &c, &l, &err),
                &err);
  {
    float x[576 * 8];
    int32_t ids[8];
    int n;

    g_assert_cmpint (sl_loader_next (l, x, ids, 8, &n, &err), ==, SL_ERR_INVALID);
    g_assert_nonnull (strstr (err.message, "none of the 4 images could be used"));
    g_assert_cmpint (n, ==, 0);
  }
  sl_loader_free (l);

  for (int i = 0; i < N; i++)
    g_free (paths[i]);
  g_ptr_array_unref (r.messages);
  g_array_unref (r.items);
  vt_rmdir (dir);
}

static void
test_batch_source (Fixture *f, gconstpointer data)
{
  sl_batch_source src;
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };
  float *x = g_new (float, f->floats * 64);
  int32_t ids[64];
  int n, total = 0;

  if (f->views == NULL)
    {
      g_free (x);
      return;
    }
  sl_loader_config_init (&c);
  c.batch_size = 64;
  c.cache_bytes = 0;
  g_assert_cmpint (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline,
                                         &(sl_loader_config){ .struct_size = 8 }, &l, &err),
                   ==, SL_ERR_INVALID);
  c.workers = 0;
  g_assert_cmpint (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), ==,
                   SL_ERR_INVALID);
  c.workers = 2;
  vt_assert_ok (sl_loader_new_images (f->views, f->ids, N_IMAGES, f->pipeline, &c, &l, &err), &err);
  sl_loader_as_source (l, &src);
  g_assert_cmpuint (src.struct_size, ==, sizeof src);
  g_assert_cmpint (src.count (src.user_data), ==, N_IMAGES);
  vt_assert_ok (src.begin_epoch (src.user_data, 2, &err), &err);
  do
    {
      vt_assert_ok (src.next (src.user_data, x, ids, 64, &n, &err), &err);
      total += n;
    }
  while (n > 0);
  g_assert_cmpint (total, ==, N_IMAGES);
  sl_loader_free (l);
  sl_loader_free (NULL);
  g_free (x);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/vision/loader/in-order-matches-pipeline", test_in_order_matches_pipeline);
  ADD ("/vision/loader/same-batches-for-any-worker-count", test_same_batches_for_any_worker_count);
  ADD ("/vision/loader/epochs-replay", test_epochs_replay);
  ADD ("/vision/loader/augmentation-matches-preview", test_augmentation_matches_preview);
  ADD ("/vision/loader/cache-budget", test_cache_budget);
  ADD ("/vision/loader/files-and-failures", test_files_and_failures);
  ADD ("/vision/loader/batch-source", test_batch_source);
  return g_test_run ();
}
