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

  if (p->features_total > 0)
    {
      /* A frozen backbone's features, once per image before the first epoch. */
      g_autofree char *text
          = g_strdup_printf ("computing features %lld/%lld", (long long) p->features_done,
                             (long long) p->features_total);
      _sl_cli_progress_draw (&ui->bar, (double) p->features_done / p->features_total, text);
      return;
    }
  if (!p->epoch_done)
    {
      g_autofree char *left = _sl_cli_format_duration (p->eta_seconds);
      g_autofree char *text
          = g_strdup_printf ("epoch %d/%d  loss %.3f  %5.0f images/s  %s left", p->epoch + 1,
                             p->epochs, p->train_loss, p->images_per_s, left);
      _sl_cli_progress_draw (&ui->bar, (double) p->step_in_epoch / MAX (p->steps_in_epoch, 1),
                             text);
      return;
    }
  _sl_cli_progress_clear (&ui->bar);
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

  _sl_cli_progress_draw (&ui->bar, (double) p->done / MAX (p->total, 1), text);
}

static gboolean
import_source (SlProject *project, const char *folder, DemoUi *ui, SlImportResult *result,
               GError **error)
{
  gboolean ok = sl_project_import_folder (project, folder, SL_IMPORT_LABELS_FROM_FOLDERS, 0,
                                          demo_import_progress, ui, NULL, result, error);

  _sl_cli_progress_clear (&ui->bar);
  return ok;
}

/* What the command was asked to do. */
typedef struct
{
  char *model_name, *data_dir, *keep;
  int train_images, test_images, epochs, batch, threads, seed;
  gboolean json;
} DemoOptions;

/* What the command made, and how long each step took. */
typedef struct
{
  char *tmp, *train_src, *test_src, *project_dir;
  SlProject *project;
  SlImportResult train_import, test_import;
  SlTrainJob *job;
  SlRunInfo *run;
  SlEvaluation *evaluation;
  double prepare_s, import_s, train_s, eval_s;
} Demo;

static gboolean
parse_options (int *argc, char ***argv, DemoOptions *o, int *status)
{
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &o->model_name,
      "Preset (seed-cnn, small-bn, resnet-s, mobilenet-s; default small-bn) or an installed "
      "pretrained backbone (lite0, lite1, lite2)",
      "NAME" },
    { "train-images", 0, 0, G_OPTION_ARG_INT, &o->train_images,
      "Training images to use, 15% of them for validation (default 10000)", "N" },
    { "test-images", 0, 0, G_OPTION_ARG_INT, &o->test_images,
      "Test images to evaluate on (default 10000)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &o->epochs,
      "Passes over the training images (default 3; with a backbone, as train chooses)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &o->batch, "Images per optimizer step (default 64)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &o->threads, "Compute threads (default: all cores)",
      "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &o->seed,
      "Seed for weights, splits and shuffling (default 1)", "N" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &o->data_dir, "Folder with the Fashion-MNIST IDX files",
      "DIR" },
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &o->keep,
      "Build the project here and keep it (default: a temporary folder, removed after)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print the results as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("");

  g_option_context_set_summary (
      context, "Writes a Fashion-MNIST subset (Debian's dataset-fashion-mnist) as PNG folders,\n"
               "builds a project from them (new, import --labels-from-folders, split), trains a\n"
               "model preset, evaluates it on the test images and prints the results.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, argc, argv, status))
    return FALSE;
  if (o->train_images < 20 || o->test_images < 1 || o->epochs < 0 || o->epochs > 1000
      || o->batch < 1 || o->threads < 0)
    {
      *status = _sl_cli_usage ("demo", "use at least 20 training images, and positive test "
                                       "images, epochs and batch size");
      return FALSE;
    }
  return TRUE;
}

/* 1. The images as an engineer would have them: one folder per class. */
static gboolean
write_sources (const DemoOptions *o, Demo *d, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();

  if ((d->tmp = g_dir_make_tmp ("sightline-demo-XXXXXX", error)) == NULL)
    return FALSE;
  d->train_src = g_build_filename (d->tmp, "fashion-mnist-train", NULL);
  d->test_src = g_build_filename (d->tmp, "fashion-mnist-test", NULL);
  d->project_dir
      = o->keep != NULL ? g_strdup (o->keep) : g_build_filename (d->tmp, "project", NULL);
  if (!o->json)
    printf ("Writing %d + %d Fashion-MNIST images as PNG folders in %s\n", o->train_images,
            o->test_images, d->tmp);
  if (!write_pngs (o->data_dir, "train", o->train_images, d->train_src, "train", error)
      || !write_pngs (o->data_dir, "t10k", o->test_images, d->test_src, "test", error))
    return FALSE;
  d->prepare_s = (g_get_monotonic_time () - t0) / 1e6;
  return TRUE;
}

/* 2. new + import --labels-from-folders; the test folder becomes the test split. */
static gboolean
build_project (const DemoOptions *o, Demo *d, DemoUi *ui, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  SlSplitConfig split;

  if ((d->project = sl_project_create (d->project_dir, "Fashion-MNIST demo", error)) == NULL
      || !import_source (d->project, d->train_src, ui, &d->train_import, error)
      || !import_source (d->project, d->test_src, ui, &d->test_import, error)
      || !sl_project_set_split (d->project, (gint64 *) d->test_import.image_ids->data,
                                d->test_import.image_ids->len, SL_SPLIT_TEST, error))
    return FALSE;
  sl_split_config_init (&split);
  split.train = 0.85;
  split.val = 0.15;
  split.test = 0.0;
  split.seed = (guint64) o->seed;
  if (!sl_project_split (d->project, &split, NULL, error))
    return FALSE;
  d->import_s = (g_get_monotonic_time () - t0) / 1e6;
  if (!o->json)
    printf ("Imported %lld + %lld images into %s in %.1f s (%lld duplicates skipped)\n",
            (long long) d->train_import.added, (long long) d->test_import.added, d->project_dir,
            d->import_s, (long long) (d->train_import.duplicates + d->test_import.duplicates));
  return TRUE;
}

/* 3. train */
static gboolean
train (const DemoOptions *o, Demo *d, DemoUi *ui, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  SlRunConfig config;
  int epochs;

  sl_run_config_init (&config);
  g_free (config.preset);
  config.preset = g_strdup (o->model_name);
  if (sl_backbone_canonical_name (o->model_name) != NULL)
    {
      /* A pretrained backbone: its defaults (the new head only), then the demo's numbers. */
      g_clear_pointer (&config.preset, g_free);
      config.backbone = g_strdup (sl_backbone_canonical_name (o->model_name));
      sl_run_config_apply_backbone_defaults (&config, o->train_images);
    }
  /* A backbone's epochs cost little once its features are cached. */
  config.epochs = epochs = o->epochs > 0 ? o->epochs : config.backbone != NULL ? config.epochs : 3;
  config.batch_size = o->batch;
  config.threads = o->threads;
  config.seed = (guint64) o->seed;
  config.patience = 0;
  d->job = sl_train_job_new (d->project, &config, error);
  sl_run_config_clear (&config);
  if (d->job == NULL)
    return FALSE;
  if (!o->json)
    printf ("Training %s (%zu weights) on %lld images, validating on %lld, %d epoch%s\n",
            o->model_name, sl_train_job_get_param_count (d->job),
            (long long) sl_train_job_get_train_images (d->job),
            (long long) sl_train_job_get_val_images (d->job), epochs, epochs == 1 ? "" : "s");
  sl_train_job_set_progress_func (d->job, demo_train_progress, ui);
  if (!sl_train_job_run (d->job, error))
    return FALSE;
  d->train_s = (g_get_monotonic_time () - t0) / 1e6;
  return TRUE;
}

/* 4. eval, and the run it evaluated */
static gboolean
evaluate (const DemoOptions *o, Demo *d, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  gint64 run_id = sl_train_job_get_run_id (d->job), eval_id;
  char id[32];

  if ((eval_id = sl_project_evaluate (d->project, run_id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 3,
                                      o->threads, NULL, NULL, NULL, error))
          < 0
      || (d->evaluation = sl_project_get_evaluation (d->project, eval_id, 5, error)) == NULL)
    return FALSE;
  d->eval_s = (g_get_monotonic_time () - t0) / 1e6;
  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  return (d->run = sl_project_get_run (d->project, id, error)) != NULL;
}

static void
print_json (const DemoOptions *o, const Demo *d)
{
  cJSON *doc = cJSON_CreateObject (), *timing = cJSON_CreateObject ();

  cJSON_AddStringToObject (doc, "model", o->model_name);
  cJSON_AddNumberToObject (doc, "train_images", (double) d->run->train_images);
  cJSON_AddNumberToObject (doc, "val_images", (double) d->run->val_images);
  cJSON_AddNumberToObject (doc, "test_images", (double) d->evaluation->images);
  cJSON_AddNumberToObject (doc, "test_accuracy", d->evaluation->accuracy);
  cJSON_AddItemToObject (doc, "run", _sl_cli_run_json (d->project, d->run, TRUE));
  cJSON_AddItemToObject (doc, "evaluation", _sl_cli_evaluation_json (d->evaluation));
  cJSON_AddNumberToObject (timing, "write_pngs", d->prepare_s);
  cJSON_AddNumberToObject (timing, "import", d->import_s);
  cJSON_AddNumberToObject (timing, "train", d->train_s);
  cJSON_AddNumberToObject (timing, "evaluate", d->eval_s);
  cJSON_AddItemToObject (doc, "seconds", timing);
  if (o->keep != NULL)
    cJSON_AddStringToObject (doc, "project", d->project_dir);
  _sl_cli_print_json (doc);
}

static void
print_text (const DemoOptions *o, const Demo *d)
{
  printf ("Trained in %.1f s, evaluated in %.1f s\n\n", d->train_s, d->eval_s);
  _sl_cli_print_evaluation (d->evaluation, 5);
  printf ("\nTest accuracy: %.4f on %lld images\n", d->evaluation->accuracy,
          (long long) d->evaluation->images);
  if (o->keep != NULL)
    printf ("The project is kept in %s; try 'sightline-cli runs %s run-1'.\n", d->project_dir,
            d->project_dir);
}

/* Closes the project and removes the temporary folder; a kept project stays where it is. */
static void
demo_clear (const DemoOptions *o, Demo *d)
{
  sl_import_result_clear (&d->train_import);
  sl_import_result_clear (&d->test_import);
  g_clear_pointer (&d->job, sl_train_job_free);
  g_clear_pointer (&d->run, sl_run_info_free);
  g_clear_pointer (&d->evaluation, sl_evaluation_free);
  g_clear_pointer (&d->project, sl_project_unref);
  if (d->tmp != NULL && o->keep == NULL)
    sl_remove_tree (d->tmp);
  else if (d->tmp != NULL)
    {
      sl_remove_tree (d->train_src);
      sl_remove_tree (d->test_src);
      g_rmdir (d->tmp);
    }
  g_free (d->tmp);
  g_free (d->train_src);
  g_free (d->test_src);
  g_free (d->project_dir);
}

int
_sl_cli_demo (int argc, char **argv)
{
  DemoOptions o = {
    .model_name = g_strdup ("small-bn"),
    .data_dir = g_strdup (SL_DEMO_DATA_DIR),
    .train_images = 10000,
    .test_images = 10000,
    .epochs = 0,
    .batch = 64,
    .seed = 1,
  };
  g_autoptr (GError) error = NULL;
  Demo d = { 0 };
  DemoUi ui;
  int status = 1;

  if (parse_options (&argc, &argv, &o, &status))
    {
      _sl_cli_progress_init (&ui.bar, o.json);
      ui.json = o.json;
      status = 1;
      if (write_sources (&o, &d, &error) && build_project (&o, &d, &ui, &error)
          && train (&o, &d, &ui, &error) && evaluate (&o, &d, &error))
        {
          if (o.json)
            print_json (&o, &d);
          else
            print_text (&o, &d);
          status = 0;
        }
      else
        _sl_cli_fail ("demo", error);
      demo_clear (&o, &d);
    }
  g_free (o.model_name);
  g_free (o.data_dir);
  g_free (o.keep);
  return status;
}
