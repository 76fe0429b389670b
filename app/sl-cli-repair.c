/* sl-cli-repair.c: `repair` (rebuild a damaged project's index) and `conflicts` (pick labels for pictures in two class folders). */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

int
_sl_cli_repair (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (GError) error = NULL;
  SlRepairResult r;
  int status;

  g_option_context_set_summary (
      context,
      "Rebuilds the index (project.db) of a damaged project from the images stored in its\n"
      "images/ folder, copying labels, splits, classes, runs and results from whatever of\n"
      "the damaged file still reads; runs it lost come back from runs/run-N/recipe.json.\n"
      "The damaged file is kept beside it as project.db.damaged-<time>, never deleted.\n"
      "Close the workbench and other commands using the project first.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return _sl_cli_usage ("repair", "give the project");
  if (!sl_project_repair (argv[1], &r, &error))
    {
      sl_repair_result_clear (&r);
      return _sl_cli_fail ("repair", error);
    }
  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();
      cJSON *notes = cJSON_AddArrayToObject (doc, "notes");

      cJSON_AddStringToObject (doc, "kept", r.kept_path);
      cJSON_AddNumberToObject (doc, "images", (double) r.images);
      cJSON_AddNumberToObject (doc, "images_with_labels", (double) r.images_labels);
      cJSON_AddNumberToObject (doc, "bad_files", (double) r.bad_files);
      cJSON_AddNumberToObject (doc, "classes", (double) r.classes);
      cJSON_AddNumberToObject (doc, "runs", (double) r.runs);
      for (guint i = 0; i < r.notes->len; i++)
        cJSON_AddItemToArray (notes, cJSON_CreateString (g_ptr_array_index (r.notes, i)));
      _sl_cli_print_json (doc);
    }
  else
    {
      printf ("Rebuilt the index of %s: %lld image%s (%lld with their label, split and name "
              "from the old file), %lld class%s, %lld run%s.\n",
              argv[1], (long long) r.images, r.images == 1 ? "" : "s", (long long) r.images_labels,
              (long long) r.classes, r.classes == 1 ? "" : "es", (long long) r.runs,
              r.runs == 1 ? "" : "s");
      printf ("The damaged file is kept as %s.\n", r.kept_path);
      for (guint i = 0; i < r.notes->len; i++)
        printf ("  ! %s\n", (const char *) g_ptr_array_index (r.notes, i));
      printf ("Check the result with 'sightline-cli stats %s'.\n", argv[1]);
    }
  sl_repair_result_clear (&r);
  return 0;
}

static int
list_conflicts (SlProject *project, const char *path, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = sl_project_list_label_conflicts (project, &error);
  cJSON *doc;

  if (list == NULL)
    return _sl_cli_fail ("conflicts", error);
  if (!json)
    {
      gint64 last = -1;

      if (list->len == 0)
        printf ("No label conflicts.\n");
      for (guint i = 0; i < list->len; i++)
        {
          const SlLabelConflict *c = g_ptr_array_index (list, i);

          if (c->image_id != last)
            printf ("image %lld, first imported from %s, is labelled %s%s%s; also found as:\n",
                    (long long) c->image_id, c->image_path, c->kept_class ? "“" : "",
                    c->kept_class ? c->kept_class : "(no label)", c->kept_class ? "”" : "");
          printf ("    %s (folder of “%s”)\n", c->path, c->other_class);
          last = c->image_id;
        }
      if (list->len > 0)
        printf ("Pick a label: sightline-cli conflicts %s --resolve IMAGE --label CLASS\n", path);
      return 0;
    }
  doc = cJSON_CreateArray ();
  for (guint i = 0; i < list->len; i++)
    {
      const SlLabelConflict *c = g_ptr_array_index (list, i);
      cJSON *item = cJSON_CreateObject ();

      cJSON_AddNumberToObject (item, "image", (double) c->image_id);
      cJSON_AddStringToObject (item, "image_path", c->image_path);
      if (c->kept_class != NULL)
        cJSON_AddStringToObject (item, "label", c->kept_class);
      else
        cJSON_AddNullToObject (item, "label");
      cJSON_AddStringToObject (item, "path", c->path);
      cJSON_AddStringToObject (item, "folder_class", c->other_class);
      cJSON_AddItemToArray (doc, item);
    }
  _sl_cli_print_json (doc);
  return 0;
}

int
_sl_cli_conflicts (int argc, char **argv)
{
  g_autofree char *image = NULL, *label = NULL;
  gboolean json = FALSE, unlabel = FALSE;
  const GOptionEntry entries[] = {
    { "resolve", 'r', 0, G_OPTION_ARG_STRING, &image,
      "The image whose label to pick (id or hash prefix)", "IMAGE" },
    { "label", 'c', 0, G_OPTION_ARG_STRING, &label, "With --resolve: the label it gets", "CLASS" },
    { "unlabel", 0, 0, G_OPTION_ARG_NONE, &unlabel, "With --resolve: leave it unlabelled", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  gint64 id;
  int status;

  g_option_context_set_summary (
      context, "Lists the pictures found in two class folders at import (each kept the label of\n"
               "the first file imported), or picks the label of one with --resolve.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return _sl_cli_usage ("conflicts", "give the project");
  if (image == NULL)
    {
      if (label != NULL || unlabel)
        return _sl_cli_usage ("conflicts", "--label and --unlabel go with --resolve IMAGE");
      if ((project = _sl_cli_open_project ("conflicts", argv[1])) == NULL)
        return 1;
      return list_conflicts (project, argv[1], json);
    }
  if ((label != NULL) == unlabel)
    return _sl_cli_usage ("conflicts", "give --label CLASS or --unlabel with --resolve");
  if ((project = _sl_cli_open_project ("conflicts-resolve", argv[1])) == NULL)
    return 1;
  if ((id = sl_project_resolve_image (project, image, &error)) < 0
      || !sl_project_resolve_label_conflict (project, id, label, &error))
    return _sl_cli_fail ("conflicts", error);
  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();
      cJSON_AddNumberToObject (doc, "image", (double) id);
      if (label != NULL)
        cJSON_AddStringToObject (doc, "label", label);
      else
        cJSON_AddNullToObject (doc, "label");
      _sl_cli_print_json (doc);
    }
  else if (label != NULL)
    printf ("Image %lld is labelled “%s”.\n", (long long) id, label);
  else
    printf ("Image %lld is unlabelled.\n", (long long) id);
  return 0;
}
