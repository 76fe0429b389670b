/* sl-cli-export.c: `export` (write a run's model for the line as .slmodel and/or ONNX). */
#include "sl-cli-private.h"

#include "sl-export.h"

#include <stdio.h>
#include <string.h>

static gboolean
parse_formats (const char *text, SlExportFormats *formats)
{
  g_auto (GStrv) parts = g_strsplit (text != NULL ? text : "slmodel", ",", -1);

  *formats = 0;
  for (int i = 0; parts[i] != NULL; i++)
    {
      const char *f = g_strstrip (parts[i]);
      if (strcmp (f, "slmodel") == 0)
        *formats |= SL_EXPORT_SLMODEL;
      else if (strcmp (f, "onnx") == 0)
        *formats |= SL_EXPORT_ONNX;
      else if (strcmp (f, "all") == 0)
        *formats |= SL_EXPORT_SLMODEL | SL_EXPORT_ONNX;
      else
        return FALSE;
    }
  return *formats != 0;
}

static cJSON *
result_json (const SlExportResult *r)
{
  cJSON *doc = cJSON_CreateObject (), *files = cJSON_AddArrayToObject (doc, "files");
  const char *paths[] = { r->slmodel_path, r->onnx_path, r->sidecar_path };
  const gint64 sizes[] = { r->slmodel_bytes, r->onnx_bytes, r->sidecar_bytes };

  for (int i = 0; i < 3; i++)
    if (paths[i] != NULL)
      {
        cJSON *f = cJSON_CreateObject ();
        cJSON_AddStringToObject (f, "path", paths[i]);
        cJSON_AddNumberToObject (f, "bytes", (double) sizes[i]);
        cJSON_AddItemToArray (files, f);
      }
  cJSON_AddNumberToObject (doc, "classes", r->classes);
  cJSON_AddNumberToObject (doc, "parameters", (double) r->parameters);
  cJSON_AddItemToObject (doc, "latency_ms", _sl_cli_json_number (r->latency_ms));
  cJSON_AddNumberToObject (doc, "threads", r->threads);
  cJSON_AddStringToObject (doc, "kind", r->anomaly ? "anomaly" : "classifier");
  if (r->anomaly || r->gated)
    {
      cJSON *a = cJSON_AddObjectToObject (doc, r->anomaly ? "anomaly" : "anomaly_gate");
      cJSON_AddItemToObject (a, "threshold", _sl_cli_json_number (r->anomaly_threshold));
      if (r->anomaly_statement != NULL)
        cJSON_AddStringToObject (a, "statement", r->anomaly_statement);
    }
  return doc;
}

static void
print_result (const SlExportResult *r)
{
  const char *paths[] = { r->slmodel_path, r->onnx_path, r->sidecar_path };
  const gint64 sizes[] = { r->slmodel_bytes, r->onnx_bytes, r->sidecar_bytes };

  printf ("Wrote:\n");
  for (int i = 0; i < 3; i++)
    if (paths[i] != NULL)
      {
        g_autofree char *size = g_format_size ((guint64) sizes[i]);
        printf ("  %-10s %s\n", size, paths[i]);
      }
  if (r->anomaly)
    printf ("Model: anomaly model, %lld weights, input %dx%dx%d, threshold %.4g\n",
            (long long) r->parameters, r->input_width, r->input_height, r->input_channels,
            r->anomaly_threshold);
  else
    printf ("Model: %d classes, %lld weights, input %dx%dx%d\n", r->classes,
            (long long) r->parameters, r->input_width, r->input_height, r->input_channels);
  if (r->gated)
    printf ("Anomaly gate: threshold %.4g; images scoring above it are reported unknown\n",
            r->anomaly_threshold);
  if (r->anomaly_statement != NULL)
    printf ("  %s\n", r->anomaly_statement);
  if (r->gated && r->onnx_path != NULL)
    printf ("  The ONNX graph gives the class probabilities only: the gate runs with the "
            ".slmodel (libsightline, sightline-infer); its sidecar says so\n");
  printf ("Latency on this computer: %.2f ms per image (median, %d threads, preprocessing "
          "included)\n",
          r->latency_ms, r->threads);
}

int
_sl_cli_export (int argc, char **argv)
{
  g_autofree char *run_ref = NULL, *format = NULL, *checkpoint_name = NULL, *out_dir = NULL;
  g_autofree char *name = NULL;
  double threshold = 0;
  gboolean json = FALSE, gate = FALSE;
  const GOptionEntry entries[] = {
    { "run", 'r', 0, G_OPTION_ARG_STRING, &run_ref, "The run (run-N, N or latest; default latest)",
      "RUN" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      "slmodel (default), onnx, or both as slmodel,onnx", "FORMATS" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "The folder to write into (required)",
      "DIR" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name,
      "File name without extension (default: <project>-<run>)", "NAME" },
    { "checkpoint", 0, 0, G_OPTION_ARG_STRING, &checkpoint_name, "best (default) or last",
      "WHICH" },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold,
      "Reject predictions less confident than this, 0..1 (default 0: never)", "T" },
    { "gate", 0, 0, G_OPTION_ARG_NONE, &gate,
      "Classifiers: add an anomaly gate fitted on the run's training images, so that an image "
      "unlike them is reported unknown (its threshold from the validation images at the "
      "project's target false-reject rate)",
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GError) error = NULL;
  SlExportOptions options;
  SlExportResult result;
  int status;

  g_option_context_set_summary (context,
                                "Writes a run's trained model for line-side software: a .slmodel "
                                "for the Sightline runtime and sightline-infer, and/or ONNX with "
                                "a JSON sidecar holding the preprocessing.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  sl_export_options_init (&options);
  if (argc != 2)
    return _sl_cli_usage ("export", "give the project");
  if (out_dir == NULL)
    return _sl_cli_usage ("export", "give the folder to write into with -o DIR");
  if (!parse_formats (format, &options.formats))
    return _sl_cli_usage ("export", "--format takes slmodel, onnx or slmodel,onnx");
  if (checkpoint_name != NULL && strcmp (checkpoint_name, "last") == 0)
    options.checkpoint = SL_CHECKPOINT_LAST;
  else if (checkpoint_name != NULL && strcmp (checkpoint_name, "best") != 0)
    return _sl_cli_usage ("export", "--checkpoint takes best or last");
  if (!(threshold >= 0 && threshold <= 1))
    return _sl_cli_usage ("export", "--threshold must be between 0 and 1");
  if (name != NULL && (name[0] == '\0' || strchr (name, '/') != NULL || name[0] == '.'))
    return _sl_cli_usage ("export", "--name must be a plain file name without '/'");
  options.reject_threshold = threshold;
  options.name = name;
  options.anomaly_gate = gate;
  if ((project = _sl_cli_open_project ("export", argv[1])) == NULL)
    return 1;
  if ((run = sl_project_get_run (project, run_ref, &error)) == NULL
      || !sl_project_export_run (project, run->id, out_dir, &options, &result, &error))
    return _sl_cli_fail ("export", error);
  if (json)
    _sl_cli_print_json (result_json (&result));
  else
    print_result (&result);
  sl_export_result_clear (&result);
  return 0;
}
