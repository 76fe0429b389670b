/* sl-cli-report.c: `report` (write a run's line qualification report as a PDF). */
#include "sl-cli-private.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sl-report.h"

typedef struct
{
  SlCliProgress bar;
} ReportUi;

static void
on_progress (double fraction, const char *what, gpointer user_data)
{
  ReportUi *ui = user_data;

  _sl_cli_progress_draw (&ui->bar, fraction, what);
}

/* Refuses an output nobody can write before minutes of work, not after. */
static gboolean
check_output (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR,
                   "%s is a folder: give the PDF file to write, e.g. -o %s/report.pdf", path, path);
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "Cannot write %s: the folder %s does not exist", path, dir);
      return FALSE;
    }
  if (access (dir, W_OK) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ACCES,
                   "Cannot write %s: the folder %s is not writable", path, dir);
      return FALSE;
    }
  return TRUE;
}

int
_sl_cli_report (int argc, char **argv)
{
  g_autofree char *run_ref = NULL, *split_name = NULL, *model = NULL, *signer = NULL;
  g_autofree char *role = NULL, *output = NULL;
  int threads = 0;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "run", 'r', 0, G_OPTION_ARG_STRING, &run_ref, "The run (run-N, N or latest; default latest)",
      "RUN" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name,
      "The evaluation to report: test (default) or val", "SPLIT" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      "The exported .slmodel of the run that goes on the line (default: export one for the "
      "report)",
      "FILE" },
    { "signer", 0, 0, G_OPTION_ARG_STRING, &signer,
      "Name printed in the sign-off block (default: a blank line)", "NAME" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "The signer's role", "ROLE" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
      "Threads for the speed measurement (default: one per core)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "The PDF to write (required)", "FILE.pdf" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  SlReportOptions options;
  SlReportResult result;
  ReportUi ui;
  int status;

  g_option_context_set_summary (
      context, "Writes a run's line qualification report: a PDF of the model (file, SHA-256, "
               "preprocessing, recipe), its data, how good it is on the stored evaluation, its "
               "most confident mistakes, its speed on this computer, and a sign-off block.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  sl_report_options_init (&options);
  if (argc != 2)
    return _sl_cli_usage ("report", "give the project");
  if (output == NULL)
    return _sl_cli_usage ("report", "give the PDF to write with -o FILE.pdf");
  if (split_name != NULL && strcmp (split_name, "test") != 0 && strcmp (split_name, "val") != 0)
    return _sl_cli_usage ("report", "--split takes test or val");
  if (threads < 0)
    return _sl_cli_usage ("report", "--threads must be 0 or more");
  options.split
      = split_name != NULL && strcmp (split_name, "val") == 0 ? SL_SPLIT_VAL : SL_SPLIT_TEST;
  options.model_path = model;
  options.signer = signer;
  options.signer_role = role;
  options.threads = threads;
  options.cancellable = cancellable;
  if (!check_output (output, &error))
    return _sl_cli_fail ("report", error);
  if ((project = _sl_cli_open_project ("report", argv[1])) == NULL)
    return 1;
  if ((run = sl_project_get_run (project, run_ref, &error)) == NULL)
    {
      if (run_ref == NULL && g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND))
        g_prefix_error (&error,
                        "No run to report on (train one first: sightline-cli train %s): ", argv[1]);
      return _sl_cli_fail ("report", error);
    }
  _sl_cli_progress_init (&ui.bar, json);
  options.progress = on_progress;
  options.progress_data = &ui;
  if (!sl_project_write_report (project, run->id, &options, output, &result, &error))
    {
      _sl_cli_progress_clear (&ui.bar);
      return _sl_cli_fail ("report", error);
    }
  _sl_cli_progress_clear (&ui.bar);
  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();
      cJSON_AddStringToObject (doc, "path", output);
      cJSON_AddNumberToObject (doc, "pages", result.pages);
      cJSON_AddBoolToObject (doc, "evaluated", result.evaluated);
      cJSON_AddNumberToObject (doc, "evaluation_id", (double) result.evaluation_id);
      cJSON_AddStringToObject (doc, "model_sha256", result.model_sha256);
      cJSON_AddNumberToObject (doc, "model_bytes", (double) result.model_bytes);
      cJSON_AddItemToObject (doc, "latency_ms", _sl_cli_json_number (result.latency_ms));
      cJSON_AddItemToObject (doc, "images_per_s", _sl_cli_json_number (result.images_per_s));
      _sl_cli_print_json (doc);
    }
  else
    {
      if (result.evaluated)
        printf (
            "No stored evaluation of %s on the %s split: evaluated it first (evaluation %lld)\n",
            run->name, sl_split_to_string (options.split), (long long) result.evaluation_id);
      printf ("Wrote %s (%d pages) for %s\n", output, result.pages, run->name);
      printf ("Model SHA-256 %s (%lld bytes)\n", result.model_sha256,
              (long long) result.model_bytes);
    }
  sl_report_result_clear (&result);
  return 0;
}
