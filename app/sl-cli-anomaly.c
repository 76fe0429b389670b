/* sl-cli-anomaly.c: `threshold` (an anomaly run's threshold, the project's target) and `eval`'s report of anomaly runs. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

#include "sl-anomaly.h"

cJSON *
_sl_cli_anomaly_evaluation_json (const SlAnomalyEvaluation *e, const char *run_name)
{
  cJSON *doc = cJSON_CreateObject (), *images = cJSON_CreateArray (), *run = cJSON_CreateObject ();

  cJSON_AddStringToObject (doc, "kind", "anomaly");
  cJSON_AddNumberToObject (doc, "evaluation_id", (double) e->id);
  cJSON_AddNumberToObject (doc, "run_id", (double) e->run_id);
  cJSON_AddStringToObject (doc, "run", run_name);
  cJSON_AddStringToObject (doc, "split", sl_split_to_string (e->split));
  cJSON_AddItemToObject (doc, "auroc", _sl_cli_json_number (e->auroc));
  cJSON_AddItemToObject (doc, "threshold", _sl_cli_json_number (e->threshold));
  cJSON_AddBoolToObject (doc, "threshold_manual", e->threshold_manual);
  /* The run a threshold set by hand belongs to (always the evaluated one), else null. */
  if (e->threshold_manual)
    cJSON_AddStringToObject (doc, "threshold_manual_run", run_name);
  else
    cJSON_AddNullToObject (doc, "threshold_manual_run");
  cJSON_AddItemToObject (doc, "false_reject_rate", _sl_cli_json_number (e->false_reject));
  cJSON_AddItemToObject (doc, "escape_rate", _sl_cli_json_number (e->escape));
  cJSON_AddNumberToObject (doc, "false_rejects", (double) e->false_rejects);
  cJSON_AddNumberToObject (doc, "escapes", (double) e->escapes);
  cJSON_AddNumberToObject (doc, "good", (double) e->good);
  cJSON_AddNumberToObject (doc, "defects", (double) e->defects);
  cJSON_AddItemToObject (doc, "target_false_reject",
                         _sl_cli_json_number (e->run_threshold.target_false_reject));
  cJSON_AddItemToObject (doc, "false_reject_upper95",
                         _sl_cli_json_number (e->false_reject_upper95));
  cJSON_AddStringToObject (doc, "statement", e->statement);
  /* How the run chose its own threshold (from its validation images). */
  cJSON_AddItemToObject (run, "threshold", _sl_cli_json_number (e->run_threshold.threshold));
  cJSON_AddNumberToObject (run, "good_images", (double) e->run_threshold.good_images);
  cJSON_AddBoolToObject (run, "target_reachable", e->run_threshold.target_reachable);
  cJSON_AddItemToObject (run, "false_reject_upper95",
                         _sl_cli_json_number (e->run_threshold.false_reject_upper95));
  cJSON_AddStringToObject (run, "statement",
                           e->run_threshold.statement ? e->run_threshold.statement : "");
  cJSON_AddItemToObject (doc, "run_threshold", run);
  for (guint i = 0; i < e->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (e->scores, i);
      cJSON *item = cJSON_CreateObject ();

      cJSON_AddNumberToObject (item, "image_id", (double) s->image_id);
      cJSON_AddStringToObject (item, "original_path", s->original_path);
      cJSON_AddStringToObject (item, "class", s->class_name);
      cJSON_AddBoolToObject (item, "defect", s->defect);
      cJSON_AddNumberToObject (item, "score", s->score);
      cJSON_AddBoolToObject (item, "flagged", s->flagged);
      cJSON_AddItemToArray (images, item);
    }
  cJSON_AddItemToObject (doc, "images", images);
  return doc;
}

static char *
rate_text (double rate)
{
  return isnan (rate) ? g_strdup ("-") : g_strdup_printf ("%.1f %%", rate * 100);
}

void
_sl_cli_print_anomaly_evaluation (const SlAnomalyEvaluation *e, const char *run_name,
                                  int list_length)
{
  g_autofree char *fr = rate_text (e->false_reject), *esc = rate_text (e->escape);
  guint shown = 0;

  printf ("%s on %lld %s images (%lld good, %lld defect):\n", run_name,
          (long long) (e->good + e->defects), sl_split_to_string (e->split), (long long) e->good,
          (long long) e->defects);
  if (isnan (e->auroc))
    printf ("  AUROC          - (needs good and defect images)\n");
  else
    printf ("  AUROC          %.4f\n", e->auroc);
  if (!isfinite (e->threshold))
    printf ("  Threshold      none (%s)\n",
            isnan (e->threshold) ? "the run has none yet" : "no good validation images");
  else
    printf ("  Threshold      %.6g (%s%s%s)\n", e->threshold,
            e->threshold_manual ? "set by hand for " : "", e->threshold_manual ? run_name : "",
            e->threshold_manual ? "; 'threshold --auto' goes back to the run's own"
                                : "the run's, from good images");
  printf ("  False rejects  %s (%lld of %lld good images flagged)\n", fr,
          (long long) e->false_rejects, (long long) e->good);
  printf ("  Escapes        %s (%lld of %lld defect images passed)\n", esc, (long long) e->escapes,
          (long long) e->defects);
  printf ("\n%s\n", e->statement);
  if (e->run_threshold.statement != NULL && *e->run_threshold.statement != '\0')
    printf ("How %s chose its threshold: %s\n", run_name, e->run_threshold.statement);
  if (list_length <= 0)
    return;
  printf ("\nHighest scores:\n");
  for (guint i = 0; i < e->scores->len && shown < (guint) list_length; i++, shown++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (e->scores, i);

      printf ("  %10.4f %-8s %-12s %s\n", s->score, s->flagged ? "flagged" : "passed",
              s->class_name, s->original_path);
    }
}

/* A run's threshold now: the one set by hand for it, or its own (NULL run: none yet). */
static void
print_threshold (SlProject *project, const SlRunInfo *run, gboolean json)
{
  SlAnomalyThreshold auto_threshold = { 0 };
  g_autoptr (GError) error = NULL;
  double manual = NAN, target = sl_project_get_target_false_reject (project);
  gboolean has_manual
      = run != NULL && sl_project_get_run_anomaly_threshold (project, run->id, &manual);
  gboolean has_auto
      = run != NULL && sl_run_get_anomaly_threshold (project, run, &auto_threshold, &error);

  if (json)
    {
      cJSON *doc = cJSON_CreateObject ();

      cJSON_AddItemToObject (doc, "threshold",
                             _sl_cli_json_number (has_manual ? manual
                                                  : has_auto ? auto_threshold.threshold
                                                             : NAN));
      cJSON_AddBoolToObject (doc, "threshold_manual", has_manual);
      cJSON_AddNumberToObject (doc, "target_false_reject", target);
      if (run != NULL)
        cJSON_AddStringToObject (doc, "run", run->name);
      else
        cJSON_AddNullToObject (doc, "run");
      cJSON_AddItemToObject (doc, "run_threshold",
                             _sl_cli_json_number (has_auto ? auto_threshold.threshold : NAN));
      cJSON_AddStringToObject (doc, "statement",
                               has_auto ? auto_threshold.statement
                               : error  ? error->message
                                        : "No fitted run yet: fit one with 'sightline-cli train'.");
      _sl_cli_print_json (doc);
      sl_anomaly_threshold_clear (&auto_threshold);
      return;
    }
  if (has_manual)
    printf ("Threshold %.6g, set by hand for %s: it is used instead of the run's own; other runs "
            "keep their own ('--auto' goes back to %s's).\n",
            manual, run->name, run->name);
  else if (has_auto && !isfinite (auto_threshold.threshold))
    printf ("No threshold: %s had no good images to choose one from.\n", run->name);
  else if (has_auto)
    printf ("Threshold %.6g, %s's own, chosen from good images.\n", auto_threshold.threshold,
            run->name);
  else
    printf ("No threshold yet: %s\n",
            error ? error->message : "fit a run with 'sightline-cli train'.");
  if (has_auto)
    printf ("%s: %s\n", run->name, auto_threshold.statement);
  printf ("Target false-reject rate for new runs: %g %%.\n", target * 100);
  sl_anomaly_threshold_clear (&auto_threshold);
}

/* A number for an option, or FALSE (a usage error). */
static gboolean
parse_number (const char *text, double *out)
{
  char *end = NULL;

  if (text == NULL)
    return FALSE;
  *out = g_ascii_strtod (text, &end);
  return end != text && *end == '\0' && isfinite (*out);
}

int
_sl_cli_threshold (int argc, char **argv)
{
  g_autofree char *run_ref = NULL, *target_text = NULL;
  gboolean auto_threshold = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "auto", 'a', 0, G_OPTION_ARG_NONE, &auto_threshold,
      "Forget the threshold set by hand: each run's own, chosen from good images, applies again",
      NULL },
    { "target-false-reject", 0, 0, G_OPTION_ARG_STRING, &target_text,
      "The share of good parts new runs may flag, above 0 and below 0.5 (default 0.01)", "R" },
    { "run", 'r', 0, G_OPTION_ARG_STRING, &run_ref,
      "The run whose threshold to show or set (run-N or N; default the latest fitted one)", "RUN" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT [VALUE]");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *name = NULL;
  double value = NAN, target = 0;
  int status;

  g_option_context_set_summary (
      context,
      "Shows or sets an anomaly run's threshold: a part whose anomaly score is above it is\n"
      "flagged. Each run chooses its own from the good validation images and the target\n"
      "false-reject rate; a VALUE set here belongs to the run (--run, default the latest fitted\n"
      "one) and is used instead by evaluation, prediction and export, until --auto. A new fit\n"
      "starts with its own. --target-false-reject sets the rate new runs aim at.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc < 2 || argc > 3)
    return _sl_cli_usage ("threshold", "give the project, and a threshold to set it");
  if (argc == 3 && !parse_number (argv[2], &value))
    return _sl_cli_usage ("threshold", "the threshold is a number (an anomaly score)");
  if (argc == 3 && auto_threshold)
    return _sl_cli_usage ("threshold", "give a VALUE or --auto, not both");
  if (target_text != NULL && !parse_number (target_text, &target))
    return _sl_cli_usage ("threshold", "--target-false-reject takes a number such as 0.01");
  if ((project = _sl_cli_open_project ("threshold", argv[1])) == NULL)
    return 1;
  if (sl_project_get_kind (project) != SL_PROJECT_KIND_ANOMALY)
    {
      name = sl_project_dup_name (project);
      g_set_error (&error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "“%s” classifies parts: anomaly thresholds belong to projects made with "
                   "'sightline-cli new --kind anomaly'",
                   name);
      return _sl_cli_fail ("threshold", error);
    }
  if (run_ref != NULL)
    run = sl_project_get_run (project, run_ref, &error);
  else
    run = sl_project_get_latest_anomaly_run (project, &error);
  if (run != NULL && !sl_run_info_is_anomaly (run))
    {
      g_clear_error (&error);
      g_set_error (&error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s classifies parts: only anomaly runs have an anomaly threshold", run->name);
      return _sl_cli_fail ("threshold", error);
    }
  /* Showing works without a fitted run; setting needs the run it belongs to. */
  if (run == NULL && (run_ref != NULL || argc == 3 || auto_threshold))
    return _sl_cli_fail ("threshold", error);
  g_clear_error (&error);
  if ((target_text != NULL && !sl_project_set_target_false_reject (project, target, &error))
      || (argc == 3 && !sl_project_set_anomaly_threshold_for_run (project, run->id, value, &error))
      || (auto_threshold
          && !sl_project_set_anomaly_threshold_for_run (project, run->id, NAN, &error)))
    return _sl_cli_fail ("threshold", error);
  print_threshold (project, run, json);
  return 0;
}
