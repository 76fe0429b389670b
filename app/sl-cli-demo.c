/* sl-cli-demo.c: `sightline-cli demo`, trains a preset on Fashion-MNIST and reports accuracy. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sightline.h"
#include "sl-idx.h"
#include "sl-vision.h"

static const char *const class_names[10] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

typedef struct
{
  sl_idx images, labels;
  sl_image *views; /* borrowed views of the IDX pixels */
  int32_t *targets;
  sl_loader *loader;
  sl_batch_source source;
} DemoSplit;

typedef struct
{
  gboolean tty;
  int epoch, epochs;
  gint64 started;
} DemoProgress;

static void
demo_split_clear (DemoSplit *s)
{
  sl_loader_free (s->loader);
  g_free (s->views);
  g_free (s->targets);
  sl_idx_clear (&s->images);
  sl_idx_clear (&s->labels);
}

static gboolean
demo_split_load (DemoSplit *s, const char *dir, const char *prefix, int limit,
                 const sl_pipeline *pipeline, const sl_loader_config *config, sl_error *err)
{
  g_autofree char *images = g_strdup_printf ("%s/%s-images-idx3-ubyte.gz", dir, prefix);
  g_autofree char *labels = g_strdup_printf ("%s/%s-labels-idx1-ubyte.gz", dir, prefix);

  memset (s, 0, sizeof *s);
  if (sl_idx_load (images, limit, &s->images, err) != SL_OK
      || sl_idx_load (labels, limit, &s->labels, err) != SL_OK)
    return FALSE;
  if (s->images.count != s->labels.count)
    {
      g_snprintf (err->message, sizeof err->message, "%s and %s hold different numbers of items",
                  images, labels);
      return FALSE;
    }
  s->views = g_new0 (sl_image, s->images.count);
  s->targets = g_new (int32_t, s->images.count);
  for (int64_t i = 0; i < s->images.count; i++)
    {
      const size_t size = (size_t) s->images.height * s->images.width;

      sl_image_borrow (&s->views[i], s->images.data + i * size, s->images.width, s->images.height,
                       1, 8, (size_t) s->images.width, NULL);
      s->targets[i] = s->labels.data[i];
    }
  if (sl_loader_new_images (s->views, s->targets, s->images.count, pipeline, config, &s->loader,
                            err)
      != SL_OK)
    return FALSE;
  sl_loader_as_source (s->loader, &s->source);
  return TRUE;
}

static bool
show_progress (const sl_progress *p, void *user_data)
{
  DemoProgress *dp = user_data;
  const int width = 30;
  double done = p->steps_in_epoch > 0 ? (double) p->step_in_epoch / p->steps_in_epoch : 1.0;
  int filled = (int) (done * width);
  double left
      = p->images_per_s > 0 && !p->epoch_done
            ? (1.0 - done) * (g_get_monotonic_time () - dp->started) / 1e6 / MAX (done, 1e-9)
            : 0.0;

  if (!dp->tty || p->epoch_done)
    return true;
  fprintf (stderr, "\r  epoch %d/%d [%.*s%*s] %3.0f%%  loss %.3f  %5.0f images/s  %3.0f s left ",
           dp->epoch, dp->epochs, filled, "##############################", width - filled, "",
           done * 100, p->loss, p->images_per_s, left);
  return true;
}

static int
per_class_report (sl_model *model, DemoSplit *test, int classes, gboolean json)
{
  const size_t floats = sl_loader_image_floats (test->loader);
  g_autofree float *x = g_new (float, floats * 256);
  g_autofree float *probs = g_new (float, (size_t) classes * 256);
  int32_t labels[256];
  int hits[10] = { 0 }, totals[10] = { 0 }, n;
  sl_error err = { 0 };

  if (sl_loader_begin_epoch (test->loader, 0, &err) != SL_OK)
    goto fail;
  for (;;)
    {
      if (sl_loader_next (test->loader, x, labels, 256, &n, &err) != SL_OK)
        goto fail;
      if (n == 0)
        break;
      if (sl_model_predict (model, x, n, probs, &err) != SL_OK)
        goto fail;
      for (int i = 0; i < n; i++)
        {
          int best = 0;
          for (int c = 1; c < classes; c++)
            if (probs[i * classes + c] > probs[i * classes + best])
              best = c;
          totals[labels[i]]++;
          hits[labels[i]] += best == labels[i];
        }
    }
  if (!json)
    {
      printf ("\nPer class (test images):\n");
      for (int c = 0; c < classes && c < 10; c++)
        printf ("  %-12s %5.1f%% of %d\n", class_names[c],
                totals[c] ? 100.0 * hits[c] / totals[c] : 0.0, totals[c]);
    }
  return 0;
fail:
  fprintf (stderr, "sightline-cli demo: %s\n", err.message);
  return 1;
}

int
sl_cli_demo (int argc, char **argv)
{
  g_autofree char *model_name = g_strdup ("small-bn");
  g_autofree char *data_dir = g_strdup ("/usr/share/datasets/fashion-mnist");
  int train_images = 10000, test_images = 10000, epochs = 3, batch = 64;
  int threads = 0, seed = 1, status = 1;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
      "Preset: seed-cnn, small-bn, resnet-s or mobilenet-s (default small-bn)", "NAME" },
    { "train-images", 0, 0, G_OPTION_ARG_INT, &train_images,
      "Training images to use (default 10000)", "N" },
    { "test-images", 0, 0, G_OPTION_ARG_INT, &test_images,
      "Test images to evaluate on (default 10000)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Passes over the training images (default 3)",
      "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images per optimizer step (default 64)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Compute threads (default: all cores)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "Seed for weights and shuffling (default 1)", "N" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Folder with the Fashion-MNIST IDX files",
      "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the results as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("");
  g_autoptr (GString) epochs_json = NULL;
  DemoSplit train = { 0 }, test = { 0 };
  sl_pipeline *pipeline = NULL;
  sl_model *model = NULL;
  sl_trainer *trainer = NULL;
  char *description = NULL;
  sl_error err = { 0 };
  int exit_status;

  g_option_context_set_summary (
      context,
      "Trains a model preset on a Fashion-MNIST subset (Debian's dataset-fashion-mnist)\n"
      "through the full runtime path (loader, pipeline, engine) and prints its test accuracy.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!sl_cli_parse (context, &argc, &argv, &exit_status))
    return exit_status;
  if (train_images < 1 || test_images < 1 || epochs < 1 || epochs > 1000 || batch < 1
      || threads < 0)
    {
      fprintf (stderr,
               "sightline-cli demo: image counts, epochs and batch size must be positive\n");
      return 2;
    }

  /* Pixels go straight to the model's input: 28x28 gray, normalised like the data set. */
  sl_input_spec spec = { 28, 28, 1, { 0.2860f }, { 0.3530f } };
  sl_loader_config lc;
  sl_loader_config_init (&lc);
  lc.batch_size = batch;
  lc.seed = (uint64_t) seed;

  if (sl_pipeline_new (&pipeline, &err) != SL_OK
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK)
    goto fail;
  if (!demo_split_load (&train, data_dir, "train", train_images, pipeline, &lc, &err))
    goto fail;
  lc.shuffle = false;
  if (!demo_split_load (&test, data_dir, "t10k", test_images, pipeline, &lc, &err))
    goto fail;

  sl_preset_options po;
  sl_train_config tc;
  sl_preset_options_init (&po);
  sl_train_config_init (&tc);
  tc.seed = (uint64_t) seed;
  if (sl_preset_json (model_name, &po, &description, &err) != SL_OK
      || sl_model_new (description, (uint64_t) seed, &model, &err) != SL_OK
      || sl_model_set_threads (model, threads, &err) != SL_OK
      || sl_trainer_new (model, &tc, batch, &trainer, &err) != SL_OK)
    goto fail;

  if (!json)
    printf ("Training %s (%zu weights) on %lld Fashion-MNIST images, %d epoch%s, %d thread%s\n",
            model_name, sl_model_param_count (model), (long long) train.images.count, epochs,
            epochs == 1 ? "" : "s", sl_model_get_threads (model),
            sl_model_get_threads (model) == 1 ? "" : "s");

  epochs_json = g_string_new ("[");
  sl_epoch_stats last_test = { 0 };
  DemoProgress dp = { isatty (STDERR_FILENO) && !json, 0, epochs, 0 };
  for (int e = 0; e < epochs; e++)
    {
      sl_epoch_stats tr, te;

      dp.epoch = e + 1;
      dp.started = g_get_monotonic_time ();
      if (sl_trainer_train_epoch (trainer, &train.source, show_progress, &dp, &tr, &err) != SL_OK
          || sl_trainer_evaluate (trainer, &test.source, &te, &err) != SL_OK)
        goto fail;
      if (dp.tty)
        fprintf (stderr, "\r%*s\r", 90, "");
      if (!json)
        printf ("  epoch %d/%d  train loss %.4f accuracy %.4f  test loss %.4f accuracy %.4f  "
                "%.1f s (%.0f images/s)\n",
                e + 1, epochs, tr.loss, tr.accuracy, te.loss, te.accuracy, tr.seconds,
                tr.images / tr.seconds);
      g_string_append_printf (epochs_json,
                              "%s{\"epoch\": %d, \"train_loss\": %.5f, \"train_accuracy\": %.5f, "
                              "\"test_loss\": %.5f, \"test_accuracy\": %.5f, \"seconds\": %.2f}",
                              e ? ", " : "", e + 1, tr.loss, tr.accuracy, te.loss, te.accuracy,
                              tr.seconds);
      last_test = te;
    }
  g_string_append (epochs_json, "]");

  if (json)
    printf ("{\"model\": \"%s\", \"train_images\": %lld, \"test_images\": %lld, "
            "\"test_accuracy\": %.5f, \"epochs\": %s}\n",
            model_name, (long long) train.images.count, (long long) last_test.images,
            last_test.accuracy, epochs_json->str);
  else
    printf ("Test accuracy: %.4f on %lld images\n", last_test.accuracy,
            (long long) last_test.images);
  status = per_class_report (model, &test, sl_model_class_count (model), json);
  goto out;

fail:
  fprintf (stderr, "sightline-cli demo: %s\n", err.message);
out:
  sl_trainer_free (trainer);
  sl_model_free (model);
  sl_free (description);
  demo_split_clear (&train);
  demo_split_clear (&test);
  sl_pipeline_free (pipeline);
  return status;
}
