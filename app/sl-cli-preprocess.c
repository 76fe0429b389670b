/* sl-cli-preprocess.c: `sightline-cli preprocess` (run a pipeline on an image) and `ops` (list operators). */
#include "sl-cli-private.h"

#include <stdio.h>
#include <stdlib.h>

#include "sl-vision.h"

int
_sl_cli_preprocess (int argc, char **argv)
{
  g_autofree char *pipeline_path = NULL;
  gboolean before_input = FALSE;
  gint64 max_pixels = 0;
  const GOptionEntry entries[] = {
    { "pipeline", 'p', 0, G_OPTION_ARG_FILENAME, &pipeline_path,
      "The pipeline JSON file (required)", "P.json" },
    { "before-input", 0, 0, G_OPTION_ARG_NONE, &before_input,
      "Save the last step's output instead of the model input (no resize to the input size)",
      NULL },
    { "max-pixels", 0, 0, G_OPTION_ARG_INT64, &max_pixels,
      "Refuse images with more pixels than this (default 100000000)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("IN OUT");
  sl_pipeline *pipeline = NULL;
  sl_image in = { 0 }, *stages = NULL;
  sl_error err = { 0 };
  int status = 1, n;

  g_option_context_set_summary (context,
                                "Runs a preprocessing pipeline on the image IN and writes the "
                                "result to OUT;\nthe extension of OUT picks the format (.png, "
                                ".jpg, .bmp, .tif, .pgm, .ppm).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (pipeline_path == NULL || argc != 3)
    {
      fprintf (stderr, "sightline-cli preprocess: give --pipeline P.json, an input and an output "
                       "image (see --help).\n");
      return 2;
    }
  if (sl_pipeline_load (pipeline_path, &pipeline, &err) != SL_OK
      || sl_image_load (argv[1], max_pixels, &in, &err) != SL_OK)
    goto out;
  n = sl_pipeline_step_count (pipeline);
  stages = g_new0 (sl_image, n + 1);
  if (sl_pipeline_apply_stages (pipeline, &in, stages, &err) != SL_OK)
    goto out;
  if (sl_image_save (before_input && n > 0 ? &stages[n - 1] : &stages[n], argv[2], &err) != SL_OK)
    goto out;
  status = 0;

out:
  if (status != 0)
    fprintf (stderr, "sightline-cli preprocess: %s\n", err.message);
  for (int i = 0; stages && i <= n; i++)
    sl_image_clear (&stages[i]);
  g_free (stages);
  sl_image_clear (&in);
  sl_pipeline_free (pipeline);
  return status;
}

static const char *const type_names[] = { "int", "double", "bool", "choice", "rectangle" };

static void
print_ops (void)
{
  for (int i = 0; i < sl_op_count (); i++)
    {
      const sl_op_info *op = sl_op_get (i);

      printf ("%s  (%s)\n    %s\n", op->id, op->name, op->description);
      for (int j = 0; j < op->n_params; j++)
        {
          const sl_param_spec *p = &op->params[j];

          printf ("    %s: %s", p->id, type_names[p->type]);
          if (p->type == SL_PARAM_INT || p->type == SL_PARAM_DOUBLE)
            printf (" %.10g..%.10g, default %.10g%s%s", p->min, p->max, p->default_value,
                    p->unit[0] ? " " : "", p->unit);
          else if (p->type == SL_PARAM_ENUM)
            {
              printf (":");
              for (int c = 0; p->choices[c]; c++)
                printf (" %s%s", p->choices[c], c == (int) p->default_value ? "*" : "");
            }
          else if (p->type == SL_PARAM_BOOL)
            printf (", default %s", p->default_value != 0 ? "true" : "false");
          printf ("\n        %s\n", p->description);
        }
    }
}

int
_sl_cli_ops (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts and tools", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  int status;

  g_option_context_set_summary (context,
                                "Lists the preprocessing operators, their ids and parameter "
                                "specs.\nIn the list a '*' marks the default choice.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 1)
    {
      fprintf (stderr, "sightline-cli ops: unexpected argument '%s' (see --help).\n", argv[1]);
      return 2;
    }
  if (json)
    {
      char *text = sl_ops_to_json ();

      if (text == NULL)
        {
          fprintf (stderr, "sightline-cli ops: out of memory.\n");
          return 1;
        }
      printf ("%s\n", text);
      sl_free (text);
    }
  else
    print_ops ();
  return 0;
}
