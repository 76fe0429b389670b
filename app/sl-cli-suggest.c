/* sl-cli-suggest.c: `label --suggest / --accept-above / --list --sort` and the possible label mistakes of `stats --issues`. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

#include "sl-suggest.h"

typedef struct
{
  SlCliProgress bar;
  GCancellable *cancellable;
} SuggestUi;

static void
suggest_progress (gint64 done, gint64 total, gpointer user_data)
{
  SuggestUi *ui = user_data;
  g_autofree char *text
      = total > 0 ? g_strdup_printf ("%lld/%lld images", (long long) done, (long long) total)
                  : g_strdup ("loading the model");

  if (_sl_cli_interrupted ())
    g_cancellable_cancel (ui->cancellable);
  _sl_cli_progress_draw (&ui->bar, total > 0 ? (double) done / total : 0, text);
}

static char *
format_confidence (double confidence)
{
  return isnan (confidence) ? g_strdup ("-") : g_strdup_printf ("%.3f", confidence);
}

static cJSON *
accepted_json (GArray *ids)
{
  cJSON *array = cJSON_CreateArray ();

  for (guint i = 0; ids != NULL && i < ids->len; i++)
    cJSON_AddItemToArray (array, cJSON_CreateNumber ((double) g_array_index (ids, gint64, i)));
  return array;
}

int
_sl_cli_label_suggest (SlProject *project, const char *project_arg, const char *run_ref,
                       gboolean suggest, double accept_above, const gint64 *image_ids, gsize n,
                       gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (GArray) accepted = NULL;
  SlSuggestResult result = { 0 };
  gint64 run_id = -1, n_accepted = -1;
  cJSON *doc = json ? cJSON_CreateObject () : NULL;
  gboolean ok = TRUE;

  if (run_ref != NULL || suggest)
    {
      if ((run = sl_project_get_run (project, run_ref != NULL ? run_ref : "latest", &error))
          == NULL)
        {
          cJSON_Delete (doc);
          return _sl_cli_fail ("label", error);
        }
      run_id = run->id;
    }
  if (suggest)
    {
      SuggestUi ui;

      _sl_cli_catch_interrupt ();
      _sl_cli_progress_init (&ui.bar, json);
      ui.cancellable = cancellable;
      ok = sl_project_suggest_labels (project, run_id, SL_CHECKPOINT_BEST, 0, suggest_progress, &ui,
                                      cancellable, &result, &error);
      _sl_cli_progress_clear (&ui.bar);
      if (!ok && !result.cancelled)
        {
          cJSON_Delete (doc);
          return _sl_cli_fail ("label", error);
        }
      if (json)
        {
          cJSON_AddStringToObject (doc, "run", run->name);
          cJSON_AddNumberToObject (doc, "images", (double) result.images);
          cJSON_AddNumberToObject (doc, "unlabelled", (double) result.unlabelled);
          cJSON_AddNumberToObject (doc, "predicted", (double) result.predicted);
          cJSON_AddNumberToObject (doc, "up_to_date", (double) result.up_to_date);
          cJSON_AddNumberToObject (doc, "failed", (double) result.failed);
          cJSON_AddNumberToObject (doc, "suggestions", (double) result.suggestions);
          cJSON_AddNumberToObject (doc, "possible_mistakes", (double) result.possible_mistakes);
          cJSON_AddBoolToObject (doc, "cancelled", result.cancelled);
          cJSON_AddNumberToObject (doc, "seconds", result.seconds);
        }
      else
        {
          printf ("%s predicted %lld image%s in %.1f s (%lld already up to date%s).\n", run->name,
                  (long long) result.predicted, result.predicted == 1 ? "" : "s", result.seconds,
                  (long long) result.up_to_date,
                  result.failed > 0 ? ", some unreadable: skipped" : "");
          printf ("%lld unlabelled image%s %s a suggested label: list them with 'sightline-cli "
                  "label %s --list --sort margin' (label those first).\n",
                  (long long) result.suggestions, result.suggestions == 1 ? "" : "s",
                  result.suggestions == 1 ? "has" : "have", project_arg);
          if (result.possible_mistakes > 0)
            printf ("%lld labelled image%s the run did not train on disagree%s with it at "
                    "confidence ≥ %.2f: possible label mistakes, see 'sightline-cli stats %s "
                    "--issues'.\n",
                    (long long) result.possible_mistakes, result.possible_mistakes == 1 ? "" : "s",
                    result.possible_mistakes == 1 ? "s" : "", SL_SUGGEST_MISTAKE_CONFIDENCE,
                    project_arg);
          if (result.cancelled)
            printf ("Stopped early: the suggestions made so far are kept; run it again to go "
                    "on.\n");
        }
    }
  if (!result.cancelled && !isnan (accept_above))
    {
      n_accepted = sl_project_accept_suggestions (project, run_id, image_ids, n, accept_above,
                                                  &accepted, &error);
      if (n_accepted < 0)
        {
          cJSON_Delete (doc);
          return _sl_cli_fail ("label", error);
        }
      if (json)
        {
          cJSON_AddNumberToObject (doc, "accept_above", accept_above);
          cJSON_AddItemToObject (doc, "accepted", accepted_json (accepted));
        }
      else
        {
          g_autofree char *at = accept_above > 0
                                    ? g_strdup_printf (" (confidence ≥ %.2f)", accept_above)
                                    : g_strdup ("");

          printf ("Labelled %lld image%s with the suggested class%s; to undo: 'sightline-cli "
                  "label %s --clear IMAGE...'.\n",
                  (long long) n_accepted, n_accepted == 1 ? "" : "s", at, project_arg);
        }
    }
  if (json)
    _sl_cli_print_json (doc);
  return result.cancelled ? 1 : 0;
}

int
_sl_cli_label_list_sorted (SlProject *project, const char *run_ref, const char *sort_name,
                           const char *class_name, int split, gint64 limit, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  SlSuggestFilter filter;
  SlSuggestSort sort;

  if (!sl_suggest_sort_from_string (sort_name, &sort))
    return _sl_cli_usage ("label", "--sort takes uncertainty, margin, anomaly, confidence or "
                                   "image");
  sl_suggest_filter_init (&filter);
  if (run_ref != NULL)
    {
      g_autoptr (SlRunInfo) run = sl_project_get_run (project, run_ref, &error);

      if (run == NULL)
        return _sl_cli_fail ("label", error);
      filter.run_id = run->id;
    }
  if (class_name != NULL)
    {
      g_autoptr (SlClass) klass = sl_project_find_class (project, class_name, &error);

      if (klass == NULL)
        return _sl_cli_fail ("label", error);
      filter.class_id = klass->id;
    }
  if ((list = sl_project_list_suggestions (project, sort, &filter, &error)) == NULL)
    return _sl_cli_fail ("label", error);
  if (json)
    {
      cJSON *doc = cJSON_CreateArray ();
      gint64 shown = 0;

      for (guint i = 0; i < list->len && (limit <= 0 || shown < limit); i++)
        {
          const SlSuggestion *s = g_ptr_array_index (list, i);
          cJSON *item;

          if (split >= 0 && (int) s->split != split)
            continue;
          item = cJSON_CreateObject ();
          cJSON_AddNumberToObject (item, "id", (double) s->image_id);
          cJSON_AddStringToObject (item, "hash", s->hash);
          cJSON_AddItemToObject (item, "suggested",
                                 s->class_name ? cJSON_CreateString (s->class_name)
                                               : cJSON_CreateNull ());
          cJSON_AddItemToObject (item, "confidence", _sl_cli_json_number (s->confidence));
          cJSON_AddItemToObject (item, "margin", _sl_cli_json_number (s->margin));
          cJSON_AddItemToObject (item, "anomaly_score", _sl_cli_json_number (s->anomaly_score));
          cJSON_AddNumberToObject (item, "run", (double) s->run_id);
          cJSON_AddStringToObject (item, "split", sl_split_to_string (s->split));
          cJSON_AddStringToObject (item, "original_path", s->original_path);
          cJSON_AddItemToArray (doc, item);
          shown++;
        }
      _sl_cli_print_json (doc);
      return 0;
    }
  if (list->len == 0)
    {
      printf ("No suggested labels: 'sightline-cli label PROJECT --suggest' predicts the "
              "unlabelled images with a trained run.\n");
      return 0;
    }
  printf ("%-7s %-12s  %-16s %10s %8s %9s  %s\n", "id", "hash", "suggested", "confidence", "margin",
          "score", "file");
  for (guint i = 0, shown = 0; i < list->len && (limit <= 0 || shown < limit); i++)
    {
      const SlSuggestion *s = g_ptr_array_index (list, i);
      g_autofree char *confidence = format_confidence (s->confidence);
      g_autofree char *margin = format_confidence (s->margin);
      g_autofree char *score
          = isnan (s->anomaly_score) ? g_strdup ("-") : g_strdup_printf ("%.4g", s->anomaly_score);

      if (split >= 0 && (int) s->split != split)
        continue;
      printf ("%-7lld %.12s  %-16s %10s %8s %9s  %s\n", (long long) s->image_id, s->hash,
              s->class_name ? s->class_name : "(none)", confidence, margin, score,
              s->original_path);
      shown++;
    }
  return 0;
}

GHashTable *
_sl_cli_current_suggestions (SlProject *project)
{
  GHashTable *by_image = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                (GDestroyNotify) sl_suggestion_free);
  g_autoptr (GPtrArray) list
      = sl_project_list_suggestions (project, SL_SUGGEST_SORT_IMAGE, NULL, NULL);

  if (list == NULL)
    return by_image;
  g_ptr_array_set_free_func (list, NULL); /* the table owns them now */
  for (guint i = 0; i < list->len; i++)
    {
      SlSuggestion *s = g_ptr_array_index (list, i);

      g_hash_table_insert (by_image, &s->image_id, s);
    }
  return by_image;
}

/* ---- stats --issues -------------------------------------------------------------------------- */

static void
print_mistake (const SlPossibleMistake *m)
{
  g_autofree char *confidence = isnan (m->confidence)
                                    ? g_strdup_printf ("score %.4g", m->anomaly_score)
                                    : g_strdup_printf ("%.3f", m->confidence);

  printf ("  %-7lld %.12s  %-14s → %-14s %10s  %-5s %s\n", (long long) m->image_id, m->hash,
          m->label_name, m->predicted_name ? m->predicted_name : "(anomalous)", confidence,
          sl_split_to_string (m->split), m->original_path);
}

int
_sl_cli_print_possible_mistakes (SlProject *project, const char *project_arg, double min_confidence,
                                 cJSON *json_doc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  gint64 run_id = sl_project_latest_suggestion_run (project, &error);
  guint trusted = 0;

  if (error != NULL
      || (list = sl_project_list_possible_mistakes (project, run_id, min_confidence, &error))
             == NULL)
    return _sl_cli_fail ("stats", error);
  if (min_confidence <= 0)
    min_confidence = SL_SUGGEST_MISTAKE_CONFIDENCE;
  if (json_doc != NULL)
    {
      cJSON *array = cJSON_AddArrayToObject (json_doc, "possible_label_mistakes");

      cJSON_AddItemToObject (json_doc, "mistakes_run",
                             run_id > 0 ? cJSON_CreateNumber ((double) run_id)
                                        : cJSON_CreateNull ());
      cJSON_AddNumberToObject (json_doc, "mistakes_min_confidence", min_confidence);
      for (guint i = 0; i < list->len; i++)
        {
          const SlPossibleMistake *m = g_ptr_array_index (list, i);
          cJSON *item = cJSON_CreateObject ();

          cJSON_AddNumberToObject (item, "id", (double) m->image_id);
          cJSON_AddStringToObject (item, "hash", m->hash);
          cJSON_AddStringToObject (item, "label", m->label_name);
          cJSON_AddItemToObject (item, "predicted",
                                 m->predicted_name ? cJSON_CreateString (m->predicted_name)
                                                   : cJSON_CreateNull ());
          cJSON_AddItemToObject (item, "confidence", _sl_cli_json_number (m->confidence));
          cJSON_AddItemToObject (item, "anomaly_score", _sl_cli_json_number (m->anomaly_score));
          cJSON_AddStringToObject (item, "split", sl_split_to_string (m->split));
          cJSON_AddBoolToObject (item, "trained", m->trained);
          cJSON_AddStringToObject (item, "original_path", m->original_path);
          cJSON_AddItemToArray (array, item);
        }
      return 0;
    }
  if (run_id <= 0)
    {
      printf ("Labels not checked against a model yet: 'sightline-cli label %s --suggest' "
              "lists possible label mistakes here.\n",
              project_arg);
      return 0;
    }
  for (guint i = 0; i < list->len; i++)
    trusted += !((SlPossibleMistake *) g_ptr_array_index (list, i))->trained;
  printf ("Possible label mistakes: %u image%s not trained on whose label run-%lld contradicts "
          "at confidence ≥ %.2f%s\n",
          trusted, trusted == 1 ? "" : "s", (long long) run_id, min_confidence,
          trusted > 0 ? " (label → prediction):" : ".");
  for (guint i = 0; i < trusted; i++)
    print_mistake (g_ptr_array_index (list, i));
  if (list->len > trusted)
    {
      printf ("  and %u in the training split, weaker evidence (the model may have memorised "
              "their labels):\n",
              list->len - trusted);
      for (guint i = trusted; i < list->len; i++)
        print_mistake (g_ptr_array_index (list, i));
    }
  if (list->len > 0)
    printf ("  → look at them; relabel with 'sightline-cli label %s --class NAME IMAGE...'.\n",
            project_arg);
  return 0;
}
