/* sl-cli-project.c: `new`, `import`, `classes`, `label`, `split` and `stats`: a project's data. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

#include "sl-suggest.h"

static const char *const outcome_names[] = { "added", "duplicate", "unreadable", "not-image" };

int
_sl_cli_new (int argc, char **argv)
{
  g_autofree char *name = NULL, *kind_name = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "The project's name (default: the folder's)",
      "NAME" },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind_name,
      "classify (default: sort parts into classes) or anomaly (train on good parts only, "
      "find parts unlike them; starts with the classes good and defect)",
      "KIND" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *project_name = NULL;
  SlProjectKind kind = SL_PROJECT_KIND_CLASSIFY;
  int status;

  g_option_context_set_summary (context, "Creates a new, empty project in the folder PROJECT "
                                         "(created if missing, or empty).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return _sl_cli_usage ("new", "give the folder of the new project");
  if (kind_name != NULL && !sl_project_kind_from_string (kind_name, &kind))
    return _sl_cli_usage ("new", "--kind takes classify or anomaly");
  if ((project = sl_project_create_kind (argv[1], name, kind, &error)) == NULL)
    return _sl_cli_fail ("new", error);
  project_name = sl_project_dup_name (project);
  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();
      cJSON_AddStringToObject (doc, "path", sl_project_get_path (project));
      cJSON_AddStringToObject (doc, "name", project_name);
      cJSON_AddNumberToObject (doc, "schema_version", SL_PROJECT_SCHEMA_VERSION);
      cJSON_AddStringToObject (doc, "kind", sl_project_kind_to_string (kind));
      _sl_cli_print_json (doc);
    }
  else if (kind == SL_PROJECT_KIND_ANOMALY)
    printf ("Created anomaly project “%s” in %s, with the classes good and defect.\n"
            "Import good parts with 'sightline-cli import %s DIR --as good' (defect images, if "
            "any, with --as defect: they are only used to evaluate).\n",
            project_name, sl_project_get_path (project), argv[1]);
  else
    printf ("Created project “%s” in %s\n", project_name, sl_project_get_path (project));
  return 0;
}

typedef struct
{
  SlCliProgress bar;
  GCancellable *cancellable;
} ImportUi;

static void
import_progress (const SlImportProgress *p, gpointer user_data)
{
  ImportUi *ui = user_data;
  g_autofree char *text
      = g_strdup_printf ("%lld/%lld files", (long long) p->done, (long long) p->total);

  if (_sl_cli_interrupted ())
    g_cancellable_cancel (ui->cancellable);
  _sl_cli_progress_draw (&ui->bar, (double) p->done / MAX (p->total, 1), text);
}

static void
print_import_json (const SlImportResult *result)
{
  cJSON *doc = cJSON_CreateObject (), *issues = cJSON_CreateArray ();

  cJSON_AddNumberToObject (doc, "files", (double) result->files);
  cJSON_AddNumberToObject (doc, "added", (double) result->added);
  cJSON_AddNumberToObject (doc, "duplicates", (double) result->duplicates);
  cJSON_AddNumberToObject (doc, "unreadable", (double) result->unreadable);
  cJSON_AddNumberToObject (doc, "not_images", (double) result->not_images);
  cJSON_AddNumberToObject (doc, "classes_created", (double) result->classes_created);
  cJSON_AddNumberToObject (doc, "label_conflicts", (double) result->conflicts);
  cJSON_AddNumberToObject (doc, "seconds", result->seconds);
  cJSON_AddItemToObject (doc, "images_per_s",
                         _sl_cli_json_number (result->files / MAX (result->seconds, 1e-9)));
  cJSON_AddBoolToObject (doc, "cancelled", result->cancelled);
  for (guint i = 0; i < result->issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (result->issues, i);
      cJSON *item = cJSON_CreateObject ();

      cJSON_AddStringToObject (item, "path", issue->path);
      cJSON_AddStringToObject (item, "outcome", outcome_names[issue->outcome]);
      cJSON_AddStringToObject (item, "reason", issue->reason);
      cJSON_AddItemToArray (issues, item);
    }
  cJSON_AddItemToObject (doc, "issues", issues);
  _sl_cli_print_json (doc);
}

/* The label conflicts an import found, each with the class it keeps. */
static void
print_import_conflicts (const SlImportResult *result, const char *project_arg)
{
  printf ("  %lld label conflict%s: the same picture in another class folder; it keeps "
          "its first label until you pick one ('sightline-cli conflicts %s'):\n",
          (long long) result->conflicts, result->conflicts == 1 ? "" : "s", project_arg);
  for (guint i = 0; i < result->issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (result->issues, i);
      if (sl_import_issue_is_conflict (issue))
        printf ("    %s: %s\n", issue->path, issue->reason);
    }
}

static void
print_import_text (const SlImportResult *result, const char *project_arg, gboolean all_issues)
{
  printf ("Imported %lld image%s from %lld files in %.1f s (%.0f files/s)",
          (long long) result->added, result->added == 1 ? "" : "s", (long long) result->files,
          result->seconds, result->files / MAX (result->seconds, 1e-9));
  if (result->classes_created > 0)
    printf (", %lld new class%s", (long long) result->classes_created,
            result->classes_created == 1 ? "" : "es");
  printf ("\n");
  if (result->duplicates > 0)
    printf ("  %lld duplicate%s skipped (same content as an image already imported)\n",
            (long long) result->duplicates, result->duplicates == 1 ? "" : "s");
  if (result->conflicts > 0)
    print_import_conflicts (result, project_arg);
  if (result->not_images > 0)
    printf ("  %lld file%s skipped: not images\n", (long long) result->not_images,
            result->not_images == 1 ? "" : "s");
  if (result->unreadable > 0)
    printf ("  %lld unreadable file%s skipped:\n", (long long) result->unreadable,
            result->unreadable == 1 ? "" : "s");
  for (guint i = 0; i < result->issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (result->issues, i);
      if (all_issues || issue->outcome == SL_IMPORT_UNREADABLE)
        printf ("    %s: %s\n", issue->path, issue->reason);
    }
  if (result->cancelled)
    printf ("Stopped early: the images imported so far are kept.\n");
}

/* Images imported into an anomaly project without a label are never used: say so. */
static void
print_unlabelled_hint (SlProject *project, const SlImportResult *result, const char *project_arg)
{
  gint64 unlabelled = 0;

  for (guint i = 0; i < result->image_ids->len; i++)
    {
      SlImageInfo *info
          = sl_project_get_image (project, g_array_index (result->image_ids, gint64, i), NULL);

      unlabelled += info != NULL && info->class_id < 0;
      if (info != NULL)
        sl_image_info_free (info);
    }
  if (unlabelled > 0)
    printf ("  %lld image%s lay in no good or defect folder and %s unlabelled, so unused: label "
            "them with 'sightline-cli label %s --class good IMAGE...' (see 'label --list "
            "--unlabelled'), or import such folders with --as good.\n",
            (long long) unlabelled, unlabelled == 1 ? "" : "s", unlabelled == 1 ? "is" : "are",
            project_arg);
}

int
_sl_cli_import (int argc, char **argv)
{
  gboolean labels = FALSE, json = FALSE, all_issues = FALSE;
  g_autofree char *as_class = NULL;
  gint64 max_pixels = 0;
  const GOptionEntry entries[] = {
    { "labels-from-folders", 'l', 0, G_OPTION_ARG_NONE, &labels,
      "Label each image with the name of the first folder below SOURCE that holds it", NULL },
    { "as", 0, 0, G_OPTION_ARG_STRING, &as_class,
      "Label every image CLASS (created if missing), whatever folder holds it", "CLASS" },
    { "max-pixels", 0, 0, G_OPTION_ARG_INT64, &max_pixels,
      "Refuse images with more pixels than this (default 100000000)", "N" },
    { "all-issues", 0, 0, G_OPTION_ARG_NONE, &all_issues,
      "List every skipped file (default: unreadable files only)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT SOURCE...");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  SlImportResult result = { 0 };
  SlImportFlags flags;
  ImportUi ui;
  gboolean ok;
  int status;

  g_option_context_set_summary (
      context, "Imports every image below the folders SOURCE (PNG, JPEG, BMP, TIFF, PGM/PPM),\n"
               "copying it into the project. Duplicates and unreadable files are skipped and\n"
               "listed; the originals are never changed. Ctrl+C stops after the current file\n"
               "and keeps what was imported.\n"
               "In an anomaly project the folders below SOURCE name the labels unless --as is\n"
               "given: a folder \"good\" holds good parts, any other folder a kind of defect\n"
               "(its own class). 'import P DIR --as good' labels every image of DIR good.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc < 3)
    return _sl_cli_usage ("import", "give the project and the folders to import");
  if (as_class != NULL && labels)
    return _sl_cli_usage ("import", "give --as or --labels-from-folders, not both");
  for (int i = 2; i < argc; i++)
    if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR))
      {
        g_set_error (&error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                     "%s is not a folder; give the folders that hold the images", argv[i]);
        return _sl_cli_fail ("import", error);
      }
  if ((project = _sl_cli_open_project ("import", argv[1])) == NULL)
    return 1;
  /* An anomaly project needs labels: good parts and defects. */
  flags = labels || (as_class == NULL && sl_project_get_kind (project) == SL_PROJECT_KIND_ANOMALY)
              ? SL_IMPORT_LABELS_FROM_FOLDERS
              : SL_IMPORT_FLAGS_NONE;
  _sl_cli_catch_interrupt ();
  _sl_cli_progress_init (&ui.bar, json);
  ui.cancellable = cancellable;
  if (as_class != NULL)
    ok = sl_project_import_files_as (project, (const char *const *) argv + 2, argc - 2, as_class,
                                     max_pixels, import_progress, &ui, cancellable, &result,
                                     &error);
  else if (argc == 3)
    ok = sl_project_import_folder (project, argv[2], flags, max_pixels, import_progress, &ui,
                                   cancellable, &result, &error);
  else
    ok = sl_project_import_files (project, (const char *const *) argv + 2, argc - 2, flags,
                                  max_pixels, import_progress, &ui, cancellable, &result, &error);
  _sl_cli_progress_clear (&ui.bar);
  if (!ok && !result.cancelled)
    {
      sl_import_result_clear (&result);
      return _sl_cli_fail ("import", error);
    }
  if (json)
    print_import_json (&result);
  else
    print_import_text (&result, argv[1], all_issues);
  if (!json && sl_project_get_kind (project) == SL_PROJECT_KIND_ANOMALY)
    print_unlabelled_hint (project, &result, argv[1]);
  status = result.cancelled ? 1 : 0;
  sl_import_result_clear (&result);
  return status;
}

static gint64
class_id_or_fail (SlProject *project, const char *name, GError **error)
{
  g_autoptr (SlClass) klass = sl_project_find_class (project, name, error);

  return klass != NULL ? klass->id : -1;
}

static int
print_classes (SlProject *project, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) classes = sl_project_list_classes (project, &error);

  if (classes == NULL)
    return _sl_cli_fail ("classes", error);
  if (json)
    {
      cJSON *doc = cJSON_CreateArray ();
      for (guint i = 0; i < classes->len; i++)
        {
          const SlClass *c = g_ptr_array_index (classes, i);
          cJSON *item = cJSON_CreateObject ();

          cJSON_AddNumberToObject (item, "id", (double) c->id);
          cJSON_AddStringToObject (item, "name", c->name);
          cJSON_AddStringToObject (item, "color", c->color);
          cJSON_AddItemToObject (item, "shortcut",
                                 c->shortcut ? cJSON_CreateString (c->shortcut)
                                             : cJSON_CreateNull ());
          cJSON_AddNumberToObject (item, "images", (double) c->images);
          cJSON_AddItemToArray (doc, item);
        }
      _sl_cli_print_json (doc);
      return 0;
    }
  if (classes->len == 0)
    printf ("No classes yet: import with --labels-from-folders or add one with "
            "'sightline-cli classes PROJECT add NAME'.\n");
  else
    printf ("%-4s %-24s %8s  %-8s %s\n", "id", "class", "images", "colour", "key");
  for (guint i = 0; i < classes->len; i++)
    {
      const SlClass *c = g_ptr_array_index (classes, i);
      printf ("%-4lld %-24s %8lld  %-8s %s\n", (long long) c->id, c->name, (long long) c->images,
              c->color, c->shortcut ? c->shortcut : "-");
    }
  return 0;
}

int
_sl_cli_classes (int argc, char **argv)
{
  g_autofree char *color = NULL, *shortcut = NULL, *images = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "color", 'c', 0, G_OPTION_ARG_STRING, &color, "Colour for add and style (#rrggbb)", "#RGB" },
    { "shortcut", 'k', 0, G_OPTION_ARG_STRING, &shortcut,
      "Labeling key for add and style ('' removes it)", "KEY" },
    { "images", 0, 0, G_OPTION_ARG_STRING, &images,
      "For delete: what happens to the class's images: unlabel (they stay, unlabelled) or "
      "remove (they leave the project)",
      "unlabel|remove" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the classes as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT [ACTION ARGS...]");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  const char *action;
  gboolean ok = FALSE;
  int status;

  g_option_context_set_summary (
      context, "Lists the classes, or changes them with one of these actions:\n"
               "  add NAME              a new class\n"
               "  rename NAME NEW       a new name\n"
               "  merge FROM INTO       moves FROM's images into INTO, removes FROM\n"
               "  delete NAME --images=unlabel|remove\n"
               "  style NAME [--color #rrggbb] [--shortcut KEY]");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc < 2)
    return _sl_cli_usage ("classes", "give the project");
  if ((project = _sl_cli_open_project ("classes", argv[1])) == NULL)
    return 1;
  if (argc == 2 || g_strcmp0 (argv[2], "list") == 0)
    return print_classes (project, json);
  action = argv[2];
  if (g_strcmp0 (action, "add") == 0 && argc == 4)
    ok = sl_project_add_class (project, argv[3], color, shortcut, &error) >= 0;
  else if (g_strcmp0 (action, "rename") == 0 && argc == 5)
    {
      gint64 id = class_id_or_fail (project, argv[3], &error);
      ok = id >= 0 && sl_project_rename_class (project, id, argv[4], &error);
    }
  else if (g_strcmp0 (action, "merge") == 0 && argc == 5)
    {
      gint64 from = class_id_or_fail (project, argv[3], &error);
      gint64 into = from >= 0 ? class_id_or_fail (project, argv[4], &error) : -1;
      ok = into >= 0 && sl_project_merge_classes (project, from, into, &error);
    }
  else if (g_strcmp0 (action, "delete") == 0 && argc == 4)
    {
      gint64 id, touched = 0;
      SlClassDeleteMode mode;

      if (g_strcmp0 (images, "unlabel") == 0)
        mode = SL_CLASS_DELETE_UNLABEL;
      else if (g_strcmp0 (images, "remove") == 0)
        mode = SL_CLASS_DELETE_REMOVE_IMAGES;
      else
        return _sl_cli_usage ("classes", "delete needs --images=unlabel or --images=remove, to say "
                                         "what happens to the class's images");
      id = class_id_or_fail (project, argv[3], &error);
      ok = id >= 0 && sl_project_delete_class (project, id, mode, &touched, &error);
      if (ok && !json)
        printf ("Deleted class “%s”; %lld image%s %s.\n", argv[3], (long long) touched,
                touched == 1 ? "" : "s",
                mode == SL_CLASS_DELETE_UNLABEL ? "are now unlabelled" : "left the project");
    }
  else if (g_strcmp0 (action, "style") == 0 && argc == 4)
    {
      gint64 id = class_id_or_fail (project, argv[3], &error);
      ok = id >= 0 && sl_project_set_class_style (project, id, color, shortcut, &error);
    }
  else
    return _sl_cli_usage ("classes", "unknown action or wrong number of arguments");
  if (!ok)
    return _sl_cli_fail ("classes", error);
  return print_classes (project, json);
}

static int
list_images (SlProject *project, const char *class_name, gboolean unlabelled, const char *split,
             gint64 limit, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GHashTable) suggestions = NULL;
  const SlSuggestion *s;
  SlImageFilter filter;
  SlSplit split_value;

  sl_image_filter_init (&filter);
  filter.limit = limit;
  if (unlabelled)
    filter.class_id = -1;
  else if (class_name != NULL
           && (filter.class_id = class_id_or_fail (project, class_name, &error)) < 0)
    return _sl_cli_fail ("label", error);
  if (split != NULL)
    {
      if (!sl_split_from_string (split, &split_value))
        return _sl_cli_usage ("label", "--split takes train, val, test or none");
      filter.split = split_value;
    }
  if ((images = sl_project_list_images (project, &filter, &error)) == NULL)
    return _sl_cli_fail ("label", error);
  suggestions = _sl_cli_current_suggestions (project);
  if (json)
    {
      cJSON *doc = cJSON_CreateArray ();
      for (guint i = 0; i < images->len; i++)
        {
          const SlImageInfo *im = g_ptr_array_index (images, i);
          cJSON *item = cJSON_CreateObject ();

          cJSON_AddNumberToObject (item, "id", (double) im->id);
          cJSON_AddStringToObject (item, "hash", im->hash);
          cJSON_AddItemToObject (item, "class",
                                 im->class_name ? cJSON_CreateString (im->class_name)
                                                : cJSON_CreateNull ());
          cJSON_AddStringToObject (item, "split", sl_split_to_string (im->split));
          cJSON_AddBoolToObject (item, "ignored", im->ignored);
          cJSON_AddNumberToObject (item, "width", im->width);
          cJSON_AddNumberToObject (item, "height", im->height);
          cJSON_AddNumberToObject (item, "channels", im->channels);
          cJSON_AddStringToObject (item, "original_path", im->original_path);
          if ((s = g_hash_table_lookup (suggestions, &im->id)) != NULL)
            {
              cJSON *sj = cJSON_AddObjectToObject (item, "suggestion");

              cJSON_AddItemToObject (sj, "class",
                                     s->class_name ? cJSON_CreateString (s->class_name)
                                                   : cJSON_CreateNull ());
              cJSON_AddItemToObject (sj, "confidence", _sl_cli_json_number (s->confidence));
              cJSON_AddItemToObject (sj, "margin", _sl_cli_json_number (s->margin));
              cJSON_AddItemToObject (sj, "anomaly_score", _sl_cli_json_number (s->anomaly_score));
              cJSON_AddNumberToObject (sj, "run", (double) s->run_id);
            }
          cJSON_AddItemToArray (doc, item);
        }
      _sl_cli_print_json (doc);
      return 0;
    }
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      g_autofree char *hint = NULL;

      /* An unlabelled image shows the label a run suggests for it (label --suggest). */
      if ((s = g_hash_table_lookup (suggestions, &im->id)) != NULL)
        hint = isnan (s->confidence)
                   ? g_strdup_printf ("  [suggested: %s, score %.4g]",
                                      s->class_name ? s->class_name : "anomalous", s->anomaly_score)
                   : g_strdup_printf ("  [suggested: %s %.2f]", s->class_name ? s->class_name : "?",
                                      s->confidence);
      printf ("%-7lld %.12s  %-16s %-5s %s%s%s\n", (long long) im->id, im->hash,
              im->class_name ? im->class_name : "(unlabelled)", sl_split_to_string (im->split),
              im->original_path, im->ignored ? "  [ignored]" : "", hint ? hint : "");
    }
  return 0;
}

int
_sl_cli_label (int argc, char **argv)
{
  g_autofree char *class_name = NULL, *split = NULL, *from_file = NULL;
  g_autofree char *run_ref = NULL, *sort = NULL;
  gboolean clear = FALSE, ignore = FALSE, unignore = FALSE, list = FALSE, unlabelled = FALSE;
  gboolean json = FALSE, suggest = FALSE, accept = FALSE;
  double accept_above = NAN;
  gint64 limit = 0;
  const GOptionEntry entries[] = {
    { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name, "Label the images with this class",
      "NAME" },
    { "clear", 0, 0, G_OPTION_ARG_NONE, &clear, "Remove the images' labels", NULL },
    { "ignore", 0, 0, G_OPTION_ARG_NONE, &ignore, "Mark the images ignored (never used)", NULL },
    { "unignore", 0, 0, G_OPTION_ARG_NONE, &unignore, "Use the images again", NULL },
    { "from-file", 'f', 0, G_OPTION_ARG_FILENAME, &from_file,
      "Read image ids or hashes from a file, one per line", "FILE" },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list,
      "List images (filtered by --class, --unlabelled, --split)", NULL },
    { "unlabelled", 0, 0, G_OPTION_ARG_NONE, &unlabelled, "With --list: only unlabelled images",
      NULL },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "With --list: only this split", "SPLIT" },
    { "limit", 0, 0, G_OPTION_ARG_INT64, &limit, "With --list: at most N images", "N" },
    { "suggest", 0, 0, G_OPTION_ARG_NONE, &suggest,
      "Predict every unlabelled image (and check the labelled ones) with a trained run and "
      "store the suggested labels; Ctrl+C stops and keeps what was done",
      NULL },
    { "run", 'r', 0, G_OPTION_ARG_STRING, &run_ref,
      "With --suggest, --accept-above or --sort: the run (run-N, N or latest; default: latest for "
      "--suggest, the run that suggested last otherwise)",
      "RUN" },
    { "accept-above", 0, 0, G_OPTION_ARG_DOUBLE, &accept_above,
      "Label the images (all, or the IMAGEs given) whose suggestion has at least this "
      "confidence (0..1) with the suggested class",
      "C" },
    { "accept", 0, 0, G_OPTION_ARG_NONE, &accept, "Label the IMAGEs given with their suggestion",
      NULL },
    { "sort", 0, 0, G_OPTION_ARG_STRING, &sort,
      "With --list: list the unlabelled images with a suggestion, sorted: uncertainty (least "
      "confident first), margin (smallest gap between the two best classes first), anomaly "
      "(highest anomaly score first), confidence (most confident first) or image",
      "SORT" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT [IMAGE...]");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) lines = NULL;
  gboolean ok;
  int status, actions;

  g_option_context_set_summary (
      context, "Sets, clears or ignores the labels of images given by id or by\n"
               "a hash prefix (see --list), or lists images. With a trained run,\n"
               "--suggest predicts the unlabelled images, --list --sort margin lists\n"
               "first those the model learns most from, and --accept-above C\n"
               "labels those the run is sure of.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc < 2)
    return _sl_cli_usage ("label", "give the project");
  if ((project = _sl_cli_open_project ("label", argv[1])) == NULL)
    return 1;
  if (list && sort != NULL)
    {
      SlSplit s = SL_SPLIT_NONE;

      if (split != NULL && !sl_split_from_string (split, &s))
        return _sl_cli_usage ("label", "--split takes train, val, test or none");
      return _sl_cli_label_list_sorted (project, run_ref, sort, class_name,
                                        split != NULL ? (int) s : -1, limit, json);
    }
  if (sort != NULL)
    return _sl_cli_usage ("label", "--sort goes with --list");
  if (list)
    return list_images (project, class_name, unlabelled, split, limit, json);
  if (!isnan (accept_above) && (accept_above < 0 || accept_above > 1))
    return _sl_cli_usage ("label", "--accept-above takes a confidence from 0 to 1");
  if (accept && isnan (accept_above))
    {
      if (argc < 3 && from_file == NULL)
        return _sl_cli_usage ("label", "--accept needs the IMAGEs whose suggestion to accept "
                                       "(or --accept-above C for all)");
      accept_above = 0;
    }
  actions = (class_name != NULL) + clear + ignore + unignore;
  if ((suggest || !isnan (accept_above)) && actions > 0)
    return _sl_cli_usage ("label", "--suggest and --accept-above do not go with --class, --clear, "
                                   "--ignore or --unignore");
  if (!suggest && isnan (accept_above) && actions != 1)
    return _sl_cli_usage ("label", "give exactly one of --class, --clear, --ignore, --unignore, "
                                   "--suggest, --accept-above");
  if (from_file != NULL)
    {
      g_autofree char *text = NULL;
      if (!g_file_get_contents (from_file, &text, NULL, &error))
        return _sl_cli_fail ("label", error);
      lines = g_strsplit (text, "\n", -1);
    }
  for (int i = 2; i < argc || (lines && lines[i - argc] != NULL); i++)
    {
      const char *ref = i < argc ? argv[i] : g_strstrip (lines[i - argc]);
      gint64 id;

      if (*ref == '\0')
        continue;
      if ((id = sl_project_resolve_image (project, ref, &error)) < 0)
        return _sl_cli_fail ("label", error);
      g_array_append_val (ids, id);
    }
  if (suggest || !isnan (accept_above))
    {
      if (suggest && ids->len > 0 && isnan (accept_above))
        return _sl_cli_usage ("label", "--suggest predicts every image; IMAGEs go with "
                                       "--accept or --accept-above");
      return _sl_cli_label_suggest (project, argv[1], run_ref, suggest, accept_above,
                                    ids->len > 0 ? (const gint64 *) ids->data : NULL, ids->len,
                                    json);
    }
  if (ids->len == 0)
    return _sl_cli_usage ("label", "give the images to change");
  if (class_name != NULL)
    {
      gint64 class_id = class_id_or_fail (project, class_name, &error);
      ok = class_id >= 0
           && sl_project_set_labels (project, (gint64 *) ids->data, ids->len, class_id, &error);
    }
  else if (clear)
    ok = sl_project_set_labels (project, (gint64 *) ids->data, ids->len, -1, &error);
  else
    ok = sl_project_set_ignored (project, (gint64 *) ids->data, ids->len, ignore, &error);
  if (!ok)
    return _sl_cli_fail ("label", error);
  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();
      cJSON_AddNumberToObject (doc, "changed", ids->len);
      _sl_cli_print_json (doc);
    }
  else
    printf ("Changed %u image%s.\n", ids->len, ids->len == 1 ? "" : "s");
  return 0;
}

static cJSON *
class_counts_json (const SlProjectStats *stats)
{
  cJSON *array = cJSON_CreateArray ();

  for (guint i = 0; i < stats->classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats->classes, i);
      cJSON *item = cJSON_CreateObject ();

      cJSON_AddNumberToObject (item, "id", (double) c->class_id);
      cJSON_AddStringToObject (item, "name", c->name);
      cJSON_AddNumberToObject (item, "images", (double) c->total);
      cJSON_AddNumberToObject (item, "train", (double) c->train);
      cJSON_AddNumberToObject (item, "val", (double) c->val);
      cJSON_AddNumberToObject (item, "test", (double) c->test);
      cJSON_AddNumberToObject (item, "unsplit", (double) c->unsplit);
      cJSON_AddItemToArray (array, item);
    }
  return array;
}

static void
print_class_counts (const SlProjectStats *stats)
{
  printf ("%-24s %8s %8s %8s %8s %8s\n", "class", "images", "train", "val", "test", "no split");
  for (guint i = 0; i < stats->classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats->classes, i);
      printf ("%-24s %8lld %8lld %8lld %8lld %8lld\n", c->name, (long long) c->total,
              (long long) c->train, (long long) c->val, (long long) c->test,
              (long long) c->unsplit);
    }
}

int
_sl_cli_split (int argc, char **argv)
{
  double train = 0.70, val = 0.15, test = 0.15;
  gint64 seed = 1, assigned = 0;
  gboolean resplit = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "train", 0, 0, G_OPTION_ARG_DOUBLE, &train, "Fraction for training (default 0.70)", "F" },
    { "val", 0, 0, G_OPTION_ARG_DOUBLE, &val, "Fraction for validation (default 0.15)", "F" },
    { "test", 0, 0, G_OPTION_ARG_DOUBLE, &test, "Fraction for testing (default 0.15)", "F" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the shuffle (default 1)", "N" },
    { "resplit", 0, 0, G_OPTION_ARG_NONE, &resplit,
      "Reassign every image (default: only those without a split)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  SlProjectStats stats;
  SlSplitConfig config;
  int status;

  g_option_context_set_summary (
      context, "Puts labelled images into train / validation / test splits, stratified per\n"
               "class and reproducible from the seed. Splits stay fixed: later runs only place\n"
               "new images, unless --resplit.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return _sl_cli_usage ("split", "give the project");
  if ((project = _sl_cli_open_project ("split", argv[1])) == NULL)
    return 1;
  sl_split_config_init (&config);
  config.train = train;
  config.val = val;
  config.test = test;
  config.seed = (guint64) seed;
  config.resplit = resplit;
  if (!sl_project_split (project, &config, &assigned, &error)
      || !sl_project_get_stats (project, &stats, &error))
    return _sl_cli_fail ("split", error);
  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();
      cJSON_AddNumberToObject (doc, "assigned", (double) assigned);
      cJSON_AddItemToObject (doc, "classes", class_counts_json (&stats));
      _sl_cli_print_json (doc);
    }
  else
    {
      printf ("Placed %lld image%s.\n", (long long) assigned, assigned == 1 ? "" : "s");
      print_class_counts (&stats);
    }
  sl_project_stats_clear (&stats);
  return 0;
}

static cJSON *
stats_json (const SlProjectStats *s, GPtrArray *issues)
{
  cJSON *doc = cJSON_CreateObject (), *shapes = cJSON_CreateArray ();
  cJSON *warnings = cJSON_CreateArray ();

  cJSON_AddNumberToObject (doc, "images", (double) s->images);
  cJSON_AddNumberToObject (doc, "labelled", (double) s->labelled);
  cJSON_AddNumberToObject (doc, "unlabelled", (double) s->unlabelled);
  cJSON_AddNumberToObject (doc, "ignored", (double) s->ignored);
  cJSON_AddNumberToObject (doc, "duplicates", (double) s->duplicates);
  cJSON_AddNumberToObject (doc, "unreadable", (double) s->unreadable);
  cJSON_AddNumberToObject (doc, "imbalance", s->imbalance);
  cJSON_AddNumberToObject (doc, "transparent", (double) s->transparent);
  cJSON_AddNumberToObject (doc, "label_conflicts", (double) s->conflicts);
  {
    cJSON *missing = cJSON_AddArrayToObject (doc, "missing");
    for (guint i = 0; i < s->missing_names->len; i++)
      cJSON_AddItemToArray (missing, cJSON_CreateString (g_ptr_array_index (s->missing_names, i)));
  }
  cJSON_AddItemToObject (doc, "classes", class_counts_json (s));
  for (guint i = 0; i < s->shapes->len; i++)
    {
      const SlShapeCount *sc = g_ptr_array_index (s->shapes, i);
      cJSON *item = cJSON_CreateObject ();
      cJSON_AddNumberToObject (item, "width", sc->width);
      cJSON_AddNumberToObject (item, "height", sc->height);
      cJSON_AddNumberToObject (item, "channels", sc->channels);
      cJSON_AddNumberToObject (item, "images", (double) sc->count);
      cJSON_AddItemToArray (shapes, item);
    }
  cJSON_AddItemToObject (doc, "shapes", shapes);
  for (guint i = 0; i < s->warnings->len; i++)
    {
      const SlHealthWarning *w = g_ptr_array_index (s->warnings, i);
      cJSON *item = cJSON_CreateObject ();
      cJSON_AddStringToObject (item, "code", w->code);
      cJSON_AddStringToObject (item, "message", w->message);
      cJSON_AddStringToObject (item, "suggestion", w->suggestion);
      cJSON_AddItemToArray (warnings, item);
    }
  cJSON_AddItemToObject (doc, "warnings", warnings);
  if (issues != NULL)
    {
      cJSON *list = cJSON_AddArrayToObject (doc, "issues");
      for (guint i = 0; i < issues->len; i++)
        {
          const SlImportIssue *issue = g_ptr_array_index (issues, i);
          cJSON *item = cJSON_CreateObject ();
          cJSON_AddStringToObject (item, "path", issue->path);
          cJSON_AddStringToObject (item, "outcome", outcome_names[issue->outcome]);
          cJSON_AddStringToObject (item, "reason", issue->reason);
          cJSON_AddItemToArray (list, item);
        }
    }
  return doc;
}

int
_sl_cli_stats (int argc, char **argv)
{
  gboolean json = FALSE, show_issues = FALSE, show_missing = FALSE;
  double mistake_confidence = 0;
  const GOptionEntry entries[] = {
    { "issues", 'i', 0, G_OPTION_ARG_NONE, &show_issues,
      "List the files skipped at import and why, and possible label mistakes (labels the run "
      "that last suggested labels contradicts confidently)",
      NULL },
    { "mistake-confidence", 0, 0, G_OPTION_ARG_DOUBLE, &mistake_confidence,
      "With --issues: the confidence from which a contradicting prediction counts (default 0.9)",
      "C" },
    { "missing", 0, 0, G_OPTION_ARG_NONE, &show_missing,
      "List every image whose stored copy is missing from images/", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) issues = NULL;
  g_autofree char *name = NULL;
  SlProjectStats s;
  int status;

  g_option_context_set_summary (context, "Shows the data's health: images per class and split, "
                                         "sizes, and what to fix.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return _sl_cli_usage ("stats", "give the project");
  if (mistake_confidence < 0 || mistake_confidence > 1)
    return _sl_cli_usage ("stats", "--mistake-confidence takes a confidence from 0 to 1");
  if ((project = _sl_cli_open_project ("stats", argv[1])) == NULL)
    return 1;
  if (!sl_project_get_stats (project, &s, &error)
      || (show_issues && (issues = sl_project_list_import_issues (project, &error)) == NULL))
    return _sl_cli_fail ("stats", error);
  if (json)
    {
      cJSON *doc = stats_json (&s, issues);

      cJSON_AddStringToObject (doc, "kind",
                               sl_project_kind_to_string (sl_project_get_kind (project)));
      if (show_issues
          && _sl_cli_print_possible_mistakes (project, argv[1], mistake_confidence, doc) != 0)
        {
          cJSON_Delete (doc);
          sl_project_stats_clear (&s);
          return 1;
        }
      _sl_cli_print_json (doc);
      sl_project_stats_clear (&s);
      return 0;
    }
  name = sl_project_dup_name (project);
  printf ("Project “%s”%s: %lld images, %lld labelled, %lld unlabelled, %lld ignored\n", name,
          sl_project_get_kind (project) == SL_PROJECT_KIND_ANOMALY ? " (finds anomalies)" : "",
          (long long) s.images, (long long) s.labelled, (long long) s.unlabelled,
          (long long) s.ignored);
  if (s.classes->len > 0)
    print_class_counts (&s);
  printf ("Sizes:");
  for (guint i = 0; i < s.shapes->len && i < 5; i++)
    {
      const SlShapeCount *sc = g_ptr_array_index (s.shapes, i);
      printf ("%s %dx%d %s (%lld)", i ? "," : "", sc->width, sc->height,
              sc->channels == 1   ? "gray"
              : sc->channels == 3 ? "RGB"
                                  : "RGBA",
              (long long) sc->count);
    }
  printf ("%s\n", s.shapes->len > 5 ? ", ..." : s.shapes->len == 0 ? " none" : "");
  for (guint i = 0; i < s.warnings->len; i++)
    {
      const SlHealthWarning *w = g_ptr_array_index (s.warnings, i);
      printf ("! %s\n  → %s\n", w->message, w->suggestion);
    }
  if (s.warnings->len == 0)
    printf ("No problems found.\n");
  for (guint i = 0; issues != NULL && i < issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (issues, i);
      printf ("  %-10s %s: %s\n", outcome_names[issue->outcome], issue->path, issue->reason);
    }
  for (guint i = 0; show_missing && i < s.missing_names->len; i++)
    printf ("  missing    %s\n", (const char *) g_ptr_array_index (s.missing_names, i));
  if (show_issues && _sl_cli_print_possible_mistakes (project, argv[1], mistake_confidence, NULL))
    {
      sl_project_stats_clear (&s);
      return 1;
    }
  if (sl_project_is_read_only (project))
    printf ("(read-only) %s\n", sl_project_get_read_only_reason (project));
  sl_project_stats_clear (&s);
  return 0;
}
