/* sl-cli-demo.c: `sightline-cli demo`: Fashion-MNIST as PNG folders → project → train → evaluate. */
#include "sl-cli-private.h"

#include <glib/gstdio.h>
#include <stdio.h>

#include "sl-demo-project.h"

/* sl_demo_write_pngs, with the hint for a missing data set that fits the CLI. */
static gboolean
write_pngs (const char *data_dir, const char *split, int limit, const char *dest,
            const char *prefix, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (sl_demo_write_pngs (data_dir, split, limit, dest, prefix, NULL, &local_error))
    return TRUE;
  if (g_error_matches (local_error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                   "%s (install Debian's dataset-fashion-mnist or give --data)",
                   local_error->message);
      return FALSE;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

typedef struct
{
  gboolean json;
  SlCliProgress bar;
} DemoUi;

static void
demo_train_progress (const SlTrainProgress *p, gpointer user_data)
{
  DemoUi *ui = user_data;

  if (!p->epoch_done)
    {
      g_autofree char *left = sl_cli_format_duration (p->eta_seconds);
      g_autofree char *text
          = g_strdup_printf ("epoch %d/%d  loss %.3f  %5.0f images/s  %s left", p->epoch + 1,
                             p->epochs, p->train_loss, p->images_per_s, left);
      sl_cli_progress_draw (&ui->bar, (double) p->step_in_epoch / MAX (p->steps_in_epoch, 1), text);
      return;
    }
  sl_cli_progress_clear (&ui->bar);
  if (!ui->json)
    printf ("  epoch %d/%d  train loss %.4f accuracy %.4f  val loss %.4f accuracy %.4f  "
            "%.0f images/s\n",
            p->epoch + 1, p->epochs, p->train_loss, p->train_accuracy, p->val_loss, p->val_accuracy,
            p->images_per_s);
}

static void
demo_import_progress (const SlImportProgress *p, gpointer user_data)
{
  DemoUi *ui = user_data;
  g_autofree char *text
      = g_strdup_printf ("importing %lld/%lld", (long long) p->done, (long long) p->total);

  sl_cli_progress_draw (&ui->bar, (double) p->done / MAX (p->total, 1), text);
}

static gboolean
import_source (SlProject *project, const char *folder, DemoUi *ui, SlImportResult *result,
               GError **error)
{
  gboolean ok = sl_project_import_folder (project, folder, SL_IMPORT_LABELS_FROM_FOLDERS, 0,
                                          demo_import_progress, ui, NULL, result, error);

  sl_cli_progress_clear (&ui->bar);
  return ok;
}

int
sl_cli_demo (int argc, char **argv)
{
  g_autofree char *model_name = g_strdup ("small-bn");
  g_autofree char *data_dir = g_strdup (SL_DEMO_DATA_DIR);
  g_autofree char *keep = NULL;
  int train_images = 10000, test_images = 10000, epochs = 3, batch = 64;
  int threads = 0, seed = 1, status;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name,
      "Preset: seed-cnn, small-bn, resnet-s or mobilenet-s (default small-bn)", "NAME" },
    { "train-images", 0, 0, G_OPTION_ARG_INT, &train_images,
      "Training images to use, 15% of them for validation (default 10000)", "N" },
    { "test-images", 0, 0, G_OPTION_ARG_INT, &test_images,
      "Test images to evaluate on (default 10000)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Passes over the training images (default 3)",
      "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images per optimizer step (default 64)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Compute threads (default: all cores)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "Seed for weights, splits and shuffling (default 1)",
      "N" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Folder with the Fashion-MNIST IDX files",
      "DIR" },
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &keep,
      "Build the project here and keep it (default: a temporary folder, removed after)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the results as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("");
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (SlEvaluation) evaluation = NULL;
  g_autofree char *tmp = NULL, *train_src = NULL, *test_src = NULL, *project_dir = NULL;
  SlImportResult train_import = { 0 }, test_import = { 0 };
  SlSplitConfig split;
  SlRunConfig config;
  DemoUi ui;
  gint64 eval_id, t0 = g_get_monotonic_time ();
  double prepare_s = 0, import_s = 0, train_s = 0, eval_s = 0;

  g_option_context_set_summary (
      context, "Writes a Fashion-MNIST subset (Debian's dataset-fashion-mnist) as PNG folders,\n"
               "builds a project from them (new, import --labels-from-folders, split), trains a\n"
               "model preset, evaluates it on the test images and prints the results.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (train_images < 20 || test_images < 1 || epochs < 1 || epochs > 1000 || batch < 1
      || threads < 0)
    return sl_cli_usage ("demo", "use at least 20 training images, and positive test images, "
                                 "epochs and batch size");
  sl_cli_progress_init (&ui.bar, json);
  ui.json = json;
  status = 1;
  if ((tmp = g_dir_make_tmp ("sightline-demo-XXXXXX", &error)) == NULL)
    goto out;
  train_src = g_build_filename (tmp, "fashion-mnist-train", NULL);
  test_src = g_build_filename (tmp, "fashion-mnist-test", NULL);
  project_dir = keep != NULL ? g_strdup (keep) : g_build_filename (tmp, "project", NULL);

  /* 1. The images as an engineer would have them: one folder per class. */
  if (!json)
    printf ("Writing %d + %d Fashion-MNIST images as PNG folders in %s\n", train_images,
            test_images, tmp);
  if (!write_pngs (data_dir, "train", train_images, train_src, "train", &error)
      || !write_pngs (data_dir, "t10k", test_images, test_src, "test", &error))
    goto out;
  prepare_s = (g_get_monotonic_time () - t0) / 1e6;

  /* 2. new + import --labels-from-folders; the test folder becomes the test split. */
  t0 = g_get_monotonic_time ();
  if ((project = sl_project_create (project_dir, "Fashion-MNIST demo", &error)) == NULL
      || !import_source (project, train_src, &ui, &train_import, &error)
      || !import_source (project, test_src, &ui, &test_import, &error)
      || !sl_project_set_split (project, (gint64 *) test_import.image_ids->data,
                                test_import.image_ids->len, SL_SPLIT_TEST, &error))
    goto out;
  sl_split_config_init (&split);
  split.train = 0.85;
  split.val = 0.15;
  split.test = 0.0;
  split.seed = (guint64) seed;
  if (!sl_project_split (project, &split, NULL, &error))
    goto out;
  import_s = (g_get_monotonic_time () - t0) / 1e6;
  if (!json)
    printf ("Imported %lld + %lld images into %s in %.1f s (%lld duplicates skipped)\n",
            (long long) train_import.added, (long long) test_import.added, project_dir, import_s,
            (long long) (train_import.duplicates + test_import.duplicates));

  /* 3. train */
  t0 = g_get_monotonic_time ();
  sl_run_config_init (&config);
  g_free (config.preset);
  config.preset = g_strdup (model_name);
  config.epochs = epochs;
  config.batch_size = batch;
  config.threads = threads;
  config.seed = (guint64) seed;
  config.patience = 0;
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  if (job == NULL)
    goto out;
  if (!json)
    printf ("Training %s (%zu weights) on %lld images, validating on %lld, %d epoch%s\n",
            model_name, sl_train_job_get_param_count (job),
            (long long) sl_train_job_get_train_images (job),
            (long long) sl_train_job_get_val_images (job), epochs, epochs == 1 ? "" : "s");
  sl_train_job_set_progress_func (job, demo_train_progress, &ui);
  if (!sl_train_job_run (job, &error))
    goto out;
  train_s = (g_get_monotonic_time () - t0) / 1e6;

  /* 4. eval */
  t0 = g_get_monotonic_time ();
  if ((eval_id = sl_project_evaluate (project, sl_train_job_get_run_id (job), SL_SPLIT_TEST,
                                      SL_CHECKPOINT_BEST, 3, threads, NULL, NULL, NULL, &error))
          < 0
      || (evaluation = sl_project_get_evaluation (project, eval_id, 5, &error)) == NULL)
    goto out;
  eval_s = (g_get_monotonic_time () - t0) / 1e6;
  {
    char id[32];
    g_snprintf (id, sizeof id, "%lld", (long long) sl_train_job_get_run_id (job));
    if ((run = sl_project_get_run (project, id, &error)) == NULL)
      goto out;
  }
  if (json)
    {
      cJSON *doc = cJSON_CreateObject (), *timing = cJSON_CreateObject ();

      cJSON_AddStringToObject (doc, "model", model_name);
      cJSON_AddNumberToObject (doc, "train_images", (double) run->train_images);
      cJSON_AddNumberToObject (doc, "val_images", (double) run->val_images);
      cJSON_AddNumberToObject (doc, "test_images", (double) evaluation->images);
      cJSON_AddNumberToObject (doc, "test_accuracy", evaluation->accuracy);
      cJSON_AddItemToObject (doc, "run", sl_cli_run_json (project, run, TRUE));
      cJSON_AddItemToObject (doc, "evaluation", sl_cli_evaluation_json (evaluation));
      cJSON_AddNumberToObject (timing, "write_pngs", prepare_s);
      cJSON_AddNumberToObject (timing, "import", import_s);
      cJSON_AddNumberToObject (timing, "train", train_s);
      cJSON_AddNumberToObject (timing, "evaluate", eval_s);
      cJSON_AddItemToObject (doc, "seconds", timing);
      if (keep != NULL)
        cJSON_AddStringToObject (doc, "project", project_dir);
      sl_cli_print_json (doc);
    }
  else
    {
      printf ("Trained in %.1f s, evaluated in %.1f s\n\n", train_s, eval_s);
      sl_cli_print_evaluation (evaluation, 5);
      printf ("\nTest accuracy: %.4f on %lld images\n", evaluation->accuracy,
              (long long) evaluation->images);
      if (keep != NULL)
        printf ("The project is kept in %s; try 'sightline-cli runs %s run-1'.\n", project_dir,
                project_dir);
    }
  status = 0;

out:
  if (status != 0)
    sl_cli_fail ("demo", error);
  sl_import_result_clear (&train_import);
  sl_import_result_clear (&test_import);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  if (tmp != NULL)
    {
      if (keep == NULL)
        sl_remove_tree (tmp);
      else
        {
          g_autofree char *a = g_build_filename (tmp, "fashion-mnist-train", NULL);
          g_autofree char *b = g_build_filename (tmp, "fashion-mnist-test", NULL);
          sl_remove_tree (a);
          sl_remove_tree (b);
          g_rmdir (tmp);
        }
    }
  return status;
}
