/* bench-projects.c: project import speed, and epoch time through the project path vs the bare engine. */
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "bench-clock.h"
#include "sl-idx.h"
#include "sl-project.h"
#include "sl-train-job.h"
#include "sl-files.h"
#include "sl-vision.h"

static const char *const names[10] = {
  "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

static gboolean
write_pngs (const char *data_dir, int n, const char *dest, GError **error)
{
  g_autofree char *images_path = g_strdup_printf ("%s/train-images-idx3-ubyte.gz", data_dir);
  g_autofree char *labels_path = g_strdup_printf ("%s/train-labels-idx1-ubyte.gz", data_dir);
  sl_idx images = { 0 }, labels = { 0 };
  sl_error err = { 0 };
  gboolean ok = FALSE;

  if (sl_idx_load (images_path, n, &images, &err) != SL_OK
      || sl_idx_load (labels_path, n, &labels, &err) != SL_OK)
    goto out;
  for (int64_t i = 0; i < images.count; i++)
    {
      const size_t size = (size_t) images.width * images.height;
      g_autofree char *dir = g_build_filename (dest, names[labels.data[i] % 10], NULL);
      g_autofree char *file = g_strdup_printf ("%05lld.png", (long long) i);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      sl_image view = { 0 };

      g_mkdir_with_parents (dir, 0755);
      sl_image_borrow (&view, images.data + i * size, images.width, images.height, 1, 8,
                       (size_t) images.width, NULL);
      if (sl_image_save (&view, path, &err) != SL_OK)
        goto out;
    }
  ok = TRUE;
out:
  if (!ok)
    g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "%s", err.message);
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
  return ok;
}

/* Runs sl-bench-train (built beside this program) and returns its epoch times
 * and the CPU seconds of its training loop. */
static GArray *
bare_engine (const char *self, const char *model, int n, int epochs, int batch, int threads,
             const char *data_dir, double *cpu, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (self);
  g_autofree char *exe = g_build_filename (dir, "sl-bench-train", NULL);
  g_autofree char *n_text = g_strdup_printf ("%d", n), *e_text = g_strdup_printf ("%d", epochs);
  g_autofree char *b_text = g_strdup_printf ("%d", batch);
  g_autofree char *t_text = g_strdup_printf ("%d", threads);
  const char *argv[] = { exe,      "--model",       model,  "--train-images", n_text, "--epochs",
                         e_text,   "--batch",       b_text, "--threads",      t_text, "--data",
                         data_dir, "--test-images", "1000", "--json",         NULL };
  g_autofree char *out = NULL;
  GArray *seconds = NULL;
  cJSON *doc, *item;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                     &status, error)
      || !g_spawn_check_wait_status (status, error))
    return NULL;
  doc = cJSON_Parse (out);
  *cpu = cJSON_GetNumberValue (cJSON_GetObjectItem (doc, "train_cpu_seconds"));
  seconds = g_array_new (FALSE, FALSE, sizeof (double));
  cJSON_ArrayForEach (item, cJSON_GetObjectItem (doc, "epoch_seconds"))
      g_array_append_val (seconds, item->valuedouble);
  cJSON_Delete (doc);
  return seconds;
}

int
main (int argc, char **argv)
{
  g_autofree char *model = g_strdup ("small-bn");
  g_autofree char *data_dir = g_strdup ("/usr/share/datasets/fashion-mnist");
  int n = 10000, epochs = 2, batch = 64, threads = 2;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "Preset (default small-bn)", "NAME" },
    { "images", 'n', 0, G_OPTION_ARG_INT, &n, "Images to import and train on (default 10000)",
      "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Epochs to time (default 2)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default 64)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Compute threads (default 2)", "N" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST IDX folder", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the results as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("");
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (GArray) metrics = NULL, bare = NULL;
  g_autofree char *tmp = NULL, *src = NULL, *path = NULL;
  SlImportResult result = { 0 };
  SlSplitConfig split;
  SlRunConfig config;
  double write_s, import_s, job_s, project_epoch = 0, bare_epoch = 0, job_cpu, bare_cpu = 0;
  gint64 t0;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Imports Fashion-MNIST PNGs into a project (images/s) and times "
                                "training epochs\nthrough the project path against "
                                "sl-bench-train on the same model and images.");
  if (!g_option_context_parse (context, &argc, &argv, &error) || n < 100 || epochs < 1)
    {
      fprintf (stderr, "bench-projects: %s\n", error ? error->message : "bad arguments");
      return 2;
    }
  tmp = g_dir_make_tmp ("sl-bench-projects-XXXXXX", &error);
  src = g_build_filename (tmp, "src", NULL);
  path = g_build_filename (tmp, "project", NULL);

  t0 = g_get_monotonic_time ();
  if (!write_pngs (data_dir, n, src, &error))
    goto fail;
  write_s = (g_get_monotonic_time () - t0) / 1e6;

  t0 = g_get_monotonic_time ();
  if ((project = sl_project_create (path, NULL, &error)) == NULL
      || !sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL,
                                    NULL, &result, &error))
    goto fail;
  import_s = (g_get_monotonic_time () - t0) / 1e6;

  /* Every image trains, as in sl-bench-train; no validation pass to time. */
  sl_split_config_init (&split);
  split.train = 1.0;
  split.val = split.test = 0.0;
  if (!sl_project_split (project, &split, NULL, &error))
    goto fail;
  sl_run_config_init (&config);
  g_free (config.preset);
  config.preset = g_strdup (model);
  config.epochs = epochs;
  config.batch_size = batch;
  config.threads = threads;
  config.patience = 0;
  t0 = g_get_monotonic_time ();
  job_cpu = bench_cpu_seconds ();
  job = sl_train_job_new (project, &config, &error);
  sl_run_config_clear (&config);
  if (job == NULL || !sl_train_job_run (job, &error))
    goto fail;
  job_s = (g_get_monotonic_time () - t0) / 1e6;
  job_cpu = bench_cpu_seconds () - job_cpu;
  if ((metrics = sl_project_get_run_metrics (project, sl_train_job_get_run_id (job), &error))
      == NULL)
    goto fail;
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);

  if ((bare = bare_engine (argv[0], model, n, epochs, batch, threads, data_dir, &bare_cpu, &error))
      == NULL)
    goto fail;
  for (int e = 0; e < epochs; e++)
    {
      project_epoch += g_array_index (metrics, SlEpochMetrics, e).seconds / epochs;
      bare_epoch += g_array_index (bare, double, e) / epochs;
    }
  if (json)
    {
      printf ("{\"images\": %d, \"write_png_seconds\": %.2f, \"import_seconds\": %.2f, "
              "\"import_images_per_s\": %.1f, \"model\": \"%s\", \"threads\": %d, \"batch\": %d, "
              "\"epochs\": %d, \"project_epoch_seconds\": [",
              n, write_s, import_s, result.files / import_s, model, threads, batch, epochs);
      for (int e = 0; e < epochs; e++)
        printf ("%s%.2f", e ? ", " : "", g_array_index (metrics, SlEpochMetrics, e).seconds);
      printf ("], \"project_job_seconds\": %.2f, \"bare_epoch_seconds\": [", job_s);
      for (int e = 0; e < epochs; e++)
        printf ("%s%.2f", e ? ", " : "", g_array_index (bare, double, e));
      printf ("], \"project_cpu_seconds_per_epoch\": %.2f, \"bare_cpu_seconds_per_epoch\": %.2f, "
              "\"overhead_ratio\": %.3f, \"cpu_overhead_ratio\": %.3f}\n",
              job_cpu / epochs, bare_cpu / epochs, project_epoch / bare_epoch, job_cpu / bare_cpu);
    }
  else
    {
      printf ("import: %d PNG files in %.2f s = %.0f images/s (writing them took %.1f s)\n",
              (int) result.files, import_s, result.files / import_s, write_s);
      for (int e = 0; e < epochs; e++)
        printf ("epoch %d: project path %.2f s, bare engine (sl-bench-train) %.2f s\n", e + 1,
                g_array_index (metrics, SlEpochMetrics, e).seconds,
                g_array_index (bare, double, e));
      printf ("whole training job (set-up, epochs, checkpoints, database): %.2f s\n", job_s);
      printf (
          "CPU seconds per epoch: project path %.2f (whole job: decoding, set-up, checkpoints), "
          "bare engine %.2f\n",
          job_cpu / epochs, bare_cpu / epochs);
      printf ("overhead ratio (project / bare): wall %.3f, CPU %.3f\n", project_epoch / bare_epoch,
              job_cpu / bare_cpu);
    }
  sl_import_result_clear (&result);
  return 0;

fail:
  fprintf (stderr, "bench-projects: %s\n", error ? error->message : "failed");
  sl_import_result_clear (&result);
  g_clear_pointer (&job, sl_train_job_free);
  g_clear_pointer (&project, sl_project_unref);
  if (tmp != NULL)
    sl_remove_tree (tmp);
  return 1;
}
