/* test-engine-train.c: training on real data, determinism, checkpoints, divergence and cancel. */
#include "sl-test-support.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

typedef struct
{
  SlTestData train, test;
  gboolean ready;
} Data;

static Data data;

static gboolean
have_data (void)
{
  if (!data.ready)
    {
      if (!sl_test_data_load_fmnist (TRUE, 3000, &data.train)
          || !sl_test_data_load_fmnist (FALSE, 1000, &data.test))
        return FALSE;
      data.ready = TRUE;
    }
  return TRUE;
}

static sl_model *
new_model (const char *preset, guint64 seed, int threads)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *json;
  sl_model *m;

  sl_preset_options_init (&o);
  sl_assert_ok (sl_preset_json (preset, &o, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, seed, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, threads, &err), &err);
  sl_free (json);
  return m;
}

static double
test_accuracy (sl_model *m, const SlTestData *d)
{
  g_autofree float *probs = g_new (float, (gsize) d->n * 10);
  sl_error err = { 0 };
  int correct = 0;

  sl_assert_ok (sl_model_predict (m, d->x, d->n, probs, &err), &err);
  for (int i = 0; i < d->n; i++)
    {
      int best = 0;
      for (int c = 1; c < 10; c++)
        if (probs[i * 10 + c] > probs[i * 10 + best])
          best = c;
      correct += best == d->labels[i];
    }
  return (double) correct / d->n;
}

/* A small model learns Fashion-MNIST well above chance (0.1) in two short epochs,
 * and sl_trainer_evaluate agrees with sl_model_predict. */
static void
test_learns_fashion_mnist (void)
{
  sl_model *m;
  sl_trainer *t;
  sl_train_config cfg;
  sl_error err = { 0 };
  SlTestSource train, test;
  sl_epoch_stats first, second, eval;

  if (!have_data ())
    return;
  m = new_model ("small-bn", 1, 2);
  sl_train_config_init (&cfg);
  cfg.learning_rate = 3e-3f;
  sl_assert_ok (sl_trainer_new (m, &cfg, 32, &t, &err), &err);
  sl_test_source_init (&train, &data.train, TRUE, 5);
  sl_test_source_init (&test, &data.test, FALSE, 0);
  sl_assert_ok (sl_trainer_train_epoch (t, &train.source, NULL, NULL, &first, &err), &err);
  sl_assert_ok (sl_trainer_train_epoch (t, &train.source, NULL, NULL, &second, &err), &err);
  g_assert_cmpint (first.images, ==, 3000);
  g_assert_cmpint (sl_trainer_epoch_count (t), ==, 2);
  g_assert_cmpint (sl_trainer_step_count (t), ==, 2 * 94);
  g_assert_cmpfloat (second.loss, <, first.loss);
  sl_assert_ok (sl_trainer_evaluate (t, &test.source, &eval, &err), &err);
  g_test_message ("epoch losses %.3f, %.3f; test accuracy %.3f", first.loss, second.loss,
                  eval.accuracy);
  g_assert_cmpfloat (eval.accuracy, >, 0.70);
  g_assert_cmpfloat (fabs (eval.accuracy - test_accuracy (m, &data.test)), <, 1e-9);
  sl_test_source_clear (&train);
  sl_test_source_clear (&test);
  sl_trainer_free (t);
  sl_model_free (m);
}

/* Trains `epochs` epochs of seed-cnn on the first 640 images; returns the weights. */
static float *
train_weights (int threads, int epochs, const char *save_after_first, const char *resume_from)
{
  SlTestData part = { 640, data.train.x, data.train.labels };
  sl_model *m = new_model ("seed-cnn", 42, threads);
  sl_train_config cfg;
  sl_trainer *t;
  sl_error err = { 0 };
  SlTestSource src;
  float *out;

  sl_train_config_init (&cfg);
  cfg.seed = 9;
  sl_assert_ok (sl_trainer_new (m, &cfg, 64, &t, &err), &err);
  if (resume_from != NULL)
    sl_assert_ok (sl_trainer_load_checkpoint (t, resume_from, &err), &err);
  sl_test_source_init (&src, &part, TRUE, 3);
  while (sl_trainer_epoch_count (t) < epochs)
    {
      sl_assert_ok (sl_trainer_train_epoch (t, &src.source, NULL, NULL, NULL, &err), &err);
      if (save_after_first != NULL && sl_trainer_epoch_count (t) == 1)
        sl_assert_ok (sl_trainer_save_checkpoint (t, save_after_first, &err), &err);
    }
  out = g_memdup2 (sl_model_params (m), sizeof (float) * sl_model_param_count (m));
  sl_test_source_clear (&src);
  sl_trainer_free (t);
  sl_model_free (m);
  return out;
}

static void
test_determinism_and_resume (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sl-train-XXXXXX", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "epoch1.slckpt", NULL);
  const gsize bytes = sizeof (float) * 3274634;

  if (!have_data ())
    return;
  g_autofree float *a = train_weights (2, 2, ckpt, NULL);
  g_autofree float *b = train_weights (2, 2, NULL, NULL);
  /* Same seed, data and threads: the same weights, bit for bit. */
  g_assert_cmpmem (a, bytes, b, bytes);
  /* Resuming from the epoch-1 checkpoint reproduces the uninterrupted run. */
  g_autofree float *c = train_weights (2, 2, NULL, ckpt);
  g_assert_cmpmem (a, bytes, c, bytes);
  /* Another thread count may round differently but lands in the same place. */
  g_autofree float *d = train_weights (1, 2, NULL, NULL);
  g_assert_cmpfloat (sl_test_rel_error (a, d, bytes / sizeof (float), 1e-6), <, 1e-3);
  g_unlink (ckpt);
  g_rmdir (dir);
}

static void
test_checkpoint_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sl-ckpt-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "run.slckpt", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.slckpt", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  sl_model *m = new_model ("small-bn", 1, 1), *other = new_model ("mobilenet-s", 1, 1);
  sl_trainer *t, *t2;
  sl_train_config cfg;
  sl_error err = { 0 };

  sl_train_config_init (&cfg);
  sl_assert_ok (sl_trainer_new (m, &cfg, 8, &t, &err), &err);
  sl_assert_ok (sl_trainer_save_checkpoint (t, path, &err), &err);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_autofree float *before
      = g_memdup2 (sl_model_params (m), sizeof (float) * sl_model_param_count (m));

  /* Truncated, corrupted, not a checkpoint, missing: clear errors, nothing changed. */
  g_assert_true (g_file_set_contents (bad, contents, (gssize) len / 2, NULL));
  g_assert_cmpint (sl_trainer_load_checkpoint (t, bad, &err), ==, SL_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "bad.slckpt"));
  contents[len / 2] ^= 0x40;
  g_assert_true (g_file_set_contents (bad, contents, (gssize) len, NULL));
  g_assert_cmpint (sl_trainer_load_checkpoint (t, bad, &err), ==, SL_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "checksum"));
  g_assert_true (g_file_set_contents (bad, "hello", 5, NULL));
  g_assert_cmpint (sl_trainer_load_checkpoint (t, bad, &err), ==, SL_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "not a Sightline checkpoint"));
  g_assert_cmpint (sl_trainer_load_checkpoint (t, "/nonexistent/x.slckpt", &err), ==, SL_ERR_IO);
  g_assert_cmpmem (before, sizeof (float) * sl_model_param_count (m), sl_model_params (m),
                   sizeof (float) * sl_model_param_count (m));

  /* Another model cannot resume from it. */
  sl_assert_ok (sl_trainer_new (other, &cfg, 8, &t2, &err), &err);
  g_assert_cmpint (sl_trainer_load_checkpoint (t2, path, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "different model"));

  /* A save into a folder that does not exist fails and leaves nothing behind. */
  g_assert_cmpint (sl_trainer_save_checkpoint (t, "/nonexistent/dir/run.slckpt", &err), ==,
                   SL_ERR_IO);
  sl_trainer_free (t);
  sl_trainer_free (t2);
  sl_model_free (m);
  sl_model_free (other);
  g_unlink (path);
  g_unlink (bad);
  g_rmdir (dir);
}

static void
test_divergence_is_reported (void)
{
  sl_model *m = new_model ("seed-cnn", 1, 2);
  sl_train_config cfg;
  sl_trainer *t;
  sl_error err = { 0 };
  g_autofree float *x = g_new (float, 4 * 784);
  int32_t labels[4] = { 0, 1, 2, 3 };
  sl_status st = SL_OK;

  sl_train_config_init (&cfg);
  cfg.optimizer = SL_OPTIMIZER_SGD;
  cfg.learning_rate = 10.0f;
  sl_assert_ok (sl_trainer_new (m, &cfg, 4, &t, &err), &err);
  sl_test_fill_normal (x, 4 * 784, 1, 1e4f);
  for (int i = 0; i < 20 && st == SL_OK; i++)
    st = sl_trainer_step (t, x, labels, 4, NULL, NULL, &err);
  g_assert_cmpint (st, ==, SL_ERR_DIVERGED);
  g_assert_nonnull (strstr (err.message, "lower the learning rate"));
  /* Bad batches are refused before anything runs. */
  labels[0] = 10;
  g_assert_cmpint (sl_trainer_step (t, x, labels, 4, NULL, NULL, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "label 10"));
  g_assert_cmpint (sl_trainer_step (t, x, labels, 5, NULL, NULL, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_trainer_new (m, &cfg, 0, &(sl_trainer *){ NULL }, &err), ==, SL_ERR_INVALID);
  sl_trainer_free (t);
  sl_model_free (m);
}

static bool
stop_at_three (const sl_progress *p, void *user_data)
{
  int *calls = user_data;

  (*calls)++;
  g_assert_cmpfloat (p->learning_rate, >, 0.0);
  g_assert_true (isfinite (p->loss));
  g_assert_cmpint (p->steps_in_epoch, ==, 47);
  return p->step_in_epoch < 3;
}

static void
test_cancel_within_a_step (void)
{
  sl_model *m;
  sl_train_config cfg;
  sl_trainer *t;
  sl_error err = { 0 };
  SlTestSource src;
  int calls = 0;
  const float weights[10] = { 1, 1, 1, 1, 1, 1, 3, 1, 1, 1 };

  if (!have_data ())
    return;
  m = new_model ("small-bn", 1, 2);
  sl_train_config_init (&cfg);
  cfg.class_weights = weights;
  cfg.label_smoothing = 0.1f;
  sl_assert_ok (sl_trainer_new (m, &cfg, 64, &t, &err), &err);
  sl_test_source_init (&src, &data.train, TRUE, 1);
  g_assert_cmpint (sl_trainer_train_epoch (t, &src.source, stop_at_three, &calls, NULL, &err), ==,
                   SL_ERR_CANCELLED);
  g_assert_cmpint (calls, ==, 3);
  g_assert_cmpint (sl_trainer_step_count (t), ==, 3);
  g_assert_cmpint (sl_trainer_epoch_count (t), ==, 0);
  sl_test_source_clear (&src);
  sl_trainer_free (t);
  sl_model_free (m);
}

/* A second step on another thread count after one step on one thread, the
 * thread count changed once (b) or twice (a: the one-thread backend is freed
 * first, so the last one may be given its address; a trainer that knew its
 * plan by the backend's address alone then ran a one-thread plan, its
 * per-thread workspace too small, on four threads). */
static void
test_thread_change_replans (void)
{
  const char *json = "{\"input\":{\"channels\":3,\"height\":16,\"width\":16},\"classes\":2,"
                     "\"layers\":[{\"type\":\"conv2d\",\"filters\":16,\"kernel\":3,\"padding\":"
                     "\"same\"},{\"type\":\"relu\"},{\"type\":\"conv2d\",\"filters\":16,"
                     "\"kernel\":3,\"padding\":\"same\"},{\"type\":\"relu\"},"
                     "{\"type\":\"global_avgpool\"},{\"type\":\"dense\",\"units\":2}]}";
  const int n = 4;
  float x[4 * 3 * 16 * 16];
  const int32_t labels[4] = { 0, 1, 1, 0 };
  double loss[2];
  sl_error err = { 0 };

  sl_test_fill_normal (x, G_N_ELEMENTS (x), 7, 1.0f);
  for (int k = 0; k < 2; k++)
    {
      sl_model *m;
      sl_train_config cfg;
      sl_trainer *t;
      double acc;

      sl_assert_ok (sl_model_new (json, 3, &m, &err), &err);
      sl_assert_ok (sl_model_set_threads (m, 1, &err), &err);
      sl_train_config_init (&cfg);
      sl_assert_ok (sl_trainer_new (m, &cfg, n, &t, &err), &err);
      sl_assert_ok (sl_trainer_step (t, x, labels, n, &loss[k], &acc, &err), &err);
      if (k == 0)
        sl_assert_ok (sl_model_set_threads (m, 2, &err), &err);
      sl_assert_ok (sl_model_set_threads (m, 4, &err), &err);
      sl_assert_ok (sl_trainer_step (t, x, labels, n, &loss[k], &acc, &err), &err);
      g_assert_true (isfinite (loss[k]));
      sl_trainer_free (t);
      sl_model_free (m);
    }
  g_assert_cmpfloat (fabs (loss[0] - loss[1]), <=, 1e-6 * fabs (loss[1]));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/train/learns-fashion-mnist", test_learns_fashion_mnist);
  g_test_add_func ("/engine/train/determinism-and-resume", test_determinism_and_resume);
  g_test_add_func ("/engine/train/checkpoint-errors", test_checkpoint_errors);
  g_test_add_func ("/engine/train/divergence", test_divergence_is_reported);
  g_test_add_func ("/engine/train/cancel", test_cancel_within_a_step);
  g_test_add_func ("/engine/train/thread-change-replans", test_thread_change_replans);
  status = g_test_run ();
  sl_test_data_clear (&data.train);
  sl_test_data_clear (&data.test);
  return status;
}
