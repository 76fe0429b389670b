/* sl-cli-eval.c: `eval` (evaluate a run on a split and report) and `predict` (classify image files). */
#include "sl-cli-private.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static cJSON *
predictions_json (GPtrArray *list, const SlEvaluation *e)
{
  cJSON *array = cJSON_CreateArray ();

  for (guint i = 0; i < list->len; i++)
    {
      const SlImagePrediction *p = g_ptr_array_index (list, i);
      cJSON *item = cJSON_CreateObject ();

      cJSON_AddNumberToObject (item, "image_id", (double) p->image_id);
      cJSON_AddStringToObject (item, "original_path", p->original_path);
      cJSON_AddStringToObject (item, "true_class",
                               g_ptr_array_index (e->class_names, p->true_class));
      cJSON_AddStringToObject (item, "predicted_class",
                               g_ptr_array_index (e->class_names, p->predicted_class));
      cJSON_AddNumberToObject (item, "confidence", p->confidence);
      cJSON_AddItemToArray (array, item);
    }
  return array;
}

cJSON *
_sl_cli_evaluation_json (const SlEvaluation *e)
{
  cJSON *doc = cJSON_CreateObject (), *classes = cJSON_CreateArray ();
  cJSON *confusion = cJSON_CreateArray ();

  cJSON_AddNumberToObject (doc, "evaluation_id", (double) e->id);
  cJSON_AddNumberToObject (doc, "run_id", (double) e->run_id);
  cJSON_AddStringToObject (doc, "split", sl_split_to_string (e->split));
  cJSON_AddStringToObject (doc, "checkpoint",
                           e->checkpoint == SL_CHECKPOINT_LAST ? "last" : "best");
  cJSON_AddNumberToObject (doc, "images", (double) e->images);
  cJSON_AddNumberToObject (doc, "accuracy", e->accuracy);
  cJSON_AddNumberToObject (doc, "top_k", e->top_k);
  cJSON_AddNumberToObject (doc, "top_k_accuracy", e->top_k_accuracy);
  cJSON_AddNumberToObject (doc, "macro_f1", e->macro_f1);
  for (int c = 0; c < e->classes; c++)
    {
      cJSON *item = cJSON_CreateObject (), *row = cJSON_CreateArray ();

      cJSON_AddStringToObject (item, "name", g_ptr_array_index (e->class_names, c));
      cJSON_AddNumberToObject (item, "precision", e->precision[c]);
      cJSON_AddNumberToObject (item, "recall", e->recall[c]);
      cJSON_AddNumberToObject (item, "f1", e->f1[c]);
      cJSON_AddNumberToObject (item, "support", (double) e->support[c]);
      cJSON_AddItemToArray (classes, item);
      for (int p = 0; p < e->classes; p++)
        cJSON_AddItemToArray (row, cJSON_CreateNumber ((double) e->confusion[c * e->classes + p]));
      cJSON_AddItemToArray (confusion, row);
    }
  cJSON_AddItemToObject (doc, "classes", classes);
  cJSON_AddItemToObject (doc, "confusion", confusion);
  cJSON_AddItemToObject (doc, "confident_mistakes", predictions_json (e->confident_mistakes, e));
  cJSON_AddItemToObject (doc, "unsure_correct", predictions_json (e->unsure_correct, e));
  return doc;
}

void
_sl_cli_print_evaluation (const SlEvaluation *e, int list_length)
{
  const int k = e->classes;

  printf ("Accuracy %.4f on %lld %s images (top-%d %.4f, macro F1 %.4f)\n", e->accuracy,
          (long long) e->images, sl_split_to_string (e->split), e->top_k, e->top_k_accuracy,
          e->macro_f1);
  printf ("\n%-20s %9s %9s %9s %9s\n", "class", "precision", "recall", "F1", "images");
  for (int c = 0; c < k; c++)
    printf ("%-20s %9.3f %9.3f %9.3f %9lld\n", (const char *) g_ptr_array_index (e->class_names, c),
            e->precision[c], e->recall[c], e->f1[c], (long long) e->support[c]);
  printf ("\nConfusion (rows: true class, columns: predicted)\n%-20s", "");
  for (int p = 0; p < k; p++)
    printf (" %6.6s", (const char *) g_ptr_array_index (e->class_names, p));
  printf ("\n");
  for (int t = 0; t < k; t++)
    {
      printf ("%-20.20s", (const char *) g_ptr_array_index (e->class_names, t));
      for (int p = 0; p < k; p++)
        printf (" %6lld", (long long) e->confusion[t * k + p]);
      printf ("\n");
    }
  if (list_length > 0 && e->confident_mistakes->len > 0)
    {
      printf ("\nMost confident mistakes:\n");
      for (guint i = 0; i < e->confident_mistakes->len && i < (guint) list_length; i++)
        {
          const SlImagePrediction *p = g_ptr_array_index (e->confident_mistakes, i);
          printf ("  %5.1f%% %s, is %s: %s\n", p->confidence * 100,
                  (const char *) g_ptr_array_index (e->class_names, p->predicted_class),
                  (const char *) g_ptr_array_index (e->class_names, p->true_class),
                  p->original_path);
        }
    }
  if (list_length > 0 && e->unsure_correct->len > 0)
    {
      printf ("\nLeast confident correct:\n");
      for (guint i = 0; i < e->unsure_correct->len && i < (guint) list_length; i++)
        {
          const SlImagePrediction *p = g_ptr_array_index (e->unsure_correct, i);
          printf ("  %5.1f%% %s: %s\n", p->confidence * 100,
                  (const char *) g_ptr_array_index (e->class_names, p->predicted_class),
                  p->original_path);
        }
    }
}

static void
eval_progress (gint64 done, gint64 total, gpointer user_data)
{
  g_autofree char *text = g_strdup_printf ("%lld/%lld images", (long long) done, (long long) total);

  _sl_cli_progress_draw (user_data, (double) done / MAX (total, 1), text);
}

static gboolean
parse_checkpoint (const char *name, SlCheckpointKind *kind)
{
  if (name == NULL || g_strcmp0 (name, "best") == 0)
    *kind = SL_CHECKPOINT_BEST;
  else if (g_strcmp0 (name, "last") == 0)
    *kind = SL_CHECKPOINT_LAST;
  else
    return FALSE;
  return TRUE;
}

int
_sl_cli_eval (int argc, char **argv)
{
  g_autofree char *run_ref = NULL, *split_name = NULL, *checkpoint_name = NULL, *device = NULL;
  int top_k = 3, list = 10, threads = 0;
  gboolean json = FALSE, stored = FALSE;
  const GOptionEntry entries[] = {
    { "run", 'r', 0, G_OPTION_ARG_STRING, &run_ref, "The run (run-N, N or latest; default latest)",
      "RUN" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, "test (default), val or train", "SPLIT" },
    { "checkpoint", 0, 0, G_OPTION_ARG_STRING, &checkpoint_name,
      "best (default: lowest validation loss) or last", "WHICH" },
    { "top-k", 'k', 0, G_OPTION_ARG_INT, &top_k,
      "Also count a hit in the K best classes (default 3)", "K" },
    { "list", 0, 0, G_OPTION_ARG_INT, &list,
      "Images in the mistake and least-confident lists, or the highest anomaly scores "
      "(default 10)",
      "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Compute threads (default: all cores)", "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Where to predict: " SL_CLI_DEVICE_HELP,
      "DEVICE" },
    { "stored", 0, 0, G_OPTION_ARG_NONE, &stored,
      "Report the newest stored evaluation instead of evaluating again", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (SlEvaluation) evaluation = NULL;
  SlCheckpointKind checkpoint;
  SlCliProgress bar;
  SlSplit split = SL_SPLIT_TEST;
  gint64 eval_id;
  int status;

  g_option_context_set_summary (
      context, "Predicts every image of a split with a run's weights, stores each prediction in\n"
               "the project and reports accuracy, precision / recall / F1 per class, the\n"
               "confusion matrix, top-k accuracy and the images the model gets most wrong.\n"
               "An anomaly run scores every good and defect image of the split instead and\n"
               "reports the AUROC, the threshold in use (see 'threshold'), the false-reject\n"
               "and escape rates there, and the highest scores (--list).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return _sl_cli_usage ("eval", "give the project");
  if ((split_name != NULL && !sl_split_from_string (split_name, &split)) || split == SL_SPLIT_NONE)
    return _sl_cli_usage ("eval", "--split takes test, val or train");
  if (!parse_checkpoint (checkpoint_name, &checkpoint))
    return _sl_cli_usage ("eval", "--checkpoint takes best or last");
  if (top_k < 1 || list < 0)
    return _sl_cli_usage ("eval", "--top-k must be positive and --list not negative");
  if (!_sl_cli_device_valid (device))
    return _sl_cli_usage ("eval", "--device takes " SL_CLI_DEVICE_HELP);
  if ((project = _sl_cli_open_project ("eval", argv[1])) == NULL)
    return 1;
  if (!stored && !sl_project_check_writable (project, &error))
    {
      /* Reading the stored results works on a read-only project. */
      g_prefix_error (&error, "'eval' stores its predictions in the project, which is read-only; "
                              "'eval --stored' shows the newest stored evaluation. ");
      return _sl_cli_fail ("eval", error);
    }
  if ((run = sl_project_get_run (project, run_ref, &error)) == NULL)
    return _sl_cli_fail ("eval", error);
  if (stored)
    {
      if ((eval_id = sl_project_find_evaluation (project, run->id, split, &error)) < 0)
        {
          if (error == NULL)
            g_set_error (&error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                         "%s has no stored evaluation on the %s split", run->name,
                         sl_split_to_string (split));
          return _sl_cli_fail ("eval", error);
        }
    }
  else
    {
      _sl_cli_progress_init (&bar, json);
      eval_id = sl_project_evaluate_on (project, run->id, split, checkpoint, top_k, threads, device,
                                        eval_progress, &bar, NULL, &error);
      _sl_cli_progress_clear (&bar);
      if (eval_id < 0)
        return _sl_cli_fail ("eval", error);
    }
  if (sl_project_evaluation_is_anomaly (project, eval_id))
    {
      g_autoptr (SlAnomalyEvaluation) scores = NULL;

      if ((scores = sl_project_get_anomaly_evaluation (project, eval_id, &error)) == NULL)
        return _sl_cli_fail ("eval", error);
      if (json)
        _sl_cli_print_json (_sl_cli_anomaly_evaluation_json (scores, run->name));
      else
        _sl_cli_print_anomaly_evaluation (scores, run->name, list);
      return 0;
    }
  if ((evaluation = sl_project_get_evaluation (project, eval_id, list, &error)) == NULL)
    return _sl_cli_fail ("eval", error);
  if (json)
    _sl_cli_print_json (_sl_cli_evaluation_json (evaluation));
  else
    {
      printf ("%s, %s weights:\n", run->name,
              evaluation->checkpoint == SL_CHECKPOINT_LAST ? "last" : "best");
      _sl_cli_print_evaluation (evaluation, list);
    }
  return 0;
}

/* One anomaly prediction: its score and decision (anomaly models and gated classifiers). */
static void
add_anomaly_json (cJSON *item, const sl_prediction *p)
{
  cJSON_AddItemToObject (item, "anomaly_score", _sl_cli_json_number (p->anomaly_score));
  cJSON_AddItemToObject (item, "anomaly_threshold", _sl_cli_json_number (p->anomaly_threshold));
  cJSON_AddBoolToObject (item, "anomalous", p->anomalous != 0);
}

int
_sl_cli_predict (int argc, char **argv)
{
  g_autofree char *run_ref = NULL, *checkpoint_name = NULL, *device = NULL, *heatmaps = NULL;
  g_autoptr (GHashTable) heatmap_names
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int top_k = 1, threads = 0, failures = 0;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "run", 'r', 0, G_OPTION_ARG_STRING, &run_ref, "The run (run-N, N or latest; default latest)",
      "RUN" },
    { "checkpoint", 0, 0, G_OPTION_ARG_STRING, &checkpoint_name, "best (default) or last",
      "WHICH" },
    { "top-k", 'k', 0, G_OPTION_ARG_INT, &top_k, "Show the K most probable classes (default 1)",
      "K" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Compute threads (default: all cores)", "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Where to predict: " SL_CLI_DEVICE_HELP,
      "DEVICE" },
    { "heatmaps", 0, 0, G_OPTION_ARG_FILENAME, &heatmaps,
      "Write DIR/<image name>.png: the anomaly map (anomaly runs) or the Grad-CAM of the "
      "predicted class (classifiers) over the image as the model saw it",
      "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT IMAGE...");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autofree float *probs = NULL;
  g_autofree sl_prediction *scores = NULL;
  SlCheckpointKind checkpoint;
  cJSON *doc = NULL;
  gboolean anomaly;
  int status;

  g_option_context_set_summary (context, "Classifies image files with a run's trained model, "
                                         "using the run's own preprocessing; with an anomaly "
                                         "run, gives each image's anomaly score and decision.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc < 3)
    return _sl_cli_usage ("predict", "give the project and at least one image");
  if (!parse_checkpoint (checkpoint_name, &checkpoint))
    return _sl_cli_usage ("predict", "--checkpoint takes best or last");
  if (top_k < 1)
    return _sl_cli_usage ("predict", "--top-k must be positive");
  if (!_sl_cli_device_valid (device))
    return _sl_cli_usage ("predict", "--device takes " SL_CLI_DEVICE_HELP);
  if ((project = _sl_cli_open_project ("predict", argv[1])) == NULL)
    return 1;
  if ((run = sl_project_get_run (project, run_ref, &error)) == NULL
      || (classifier
          = sl_project_open_classifier (project, run->id, checkpoint, threads, device, &error))
             == NULL)
    return _sl_cli_fail ("predict", error);
  if (heatmaps != NULL && g_mkdir_with_parents (heatmaps, 0755) != 0)
    {
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "Cannot create %s: %s",
                   heatmaps, g_strerror (errno));
      return _sl_cli_fail ("predict", error);
    }
  /* Said once, before any image, rather than as each image's failure (its score lost). */
  if (heatmaps != NULL && g_access (heatmaps, W_OK | X_OK) != 0)
    {
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "Cannot write heatmaps in %s: %s; give --heatmaps a folder you can write to",
                   heatmaps, g_strerror (errno));
      return _sl_cli_fail ("predict", error);
    }
  if (heatmaps != NULL)
    _sl_cli_heatmap_reserve_inputs (heatmap_names, heatmaps, argv + 2, argc - 2);
  anomaly = sl_classifier_kind (classifier) == SL_SLMODEL_ANOMALY;
  top_k = MIN (top_k, sl_classifier_class_count (classifier));
  scores = g_new0 (sl_prediction, top_k);
  probs = g_new (float, sl_classifier_class_count (classifier));
  if (json)
    doc = cJSON_CreateArray ();
  for (int i = 2; i < argc; i++)
    {
      sl_error bad = { 0 };
      cJSON *item = NULL;
      g_autofree char *written = NULL;
      gboolean predicted;

      sl_prediction_init (&scores[0]);
      if (heatmaps != NULL)
        predicted = _sl_cli_predict_heatmap (classifier, argv[i], heatmaps, heatmap_names,
                                             &scores[0], probs, &written, &bad);
      else
        predicted
            = sl_classifier_predict_file (classifier, argv[i], &scores[0], probs, &bad) == SL_OK;
      if (!predicted)
        {
          failures++;
          fprintf (stderr, "sightline-cli predict: %s\n", bad.message);
          if (json)
            {
              item = cJSON_CreateObject ();
              cJSON_AddStringToObject (item, "path", argv[i]);
              cJSON_AddStringToObject (item, "error", bad.message);
              cJSON_AddItemToArray (doc, item);
            }
          continue;
        }
      if (anomaly)
        {
          if (json)
            {
              item = cJSON_CreateObject ();
              cJSON_AddStringToObject (item, "path", argv[i]);
              cJSON_AddStringToObject (item, "class", scores[0].label);
              add_anomaly_json (item, &scores[0]);
              if (written != NULL)
                cJSON_AddStringToObject (item, "heatmap", written);
              cJSON_AddItemToArray (doc, item);
              continue;
            }
          printf ("%s: %s (anomaly score %.4g, threshold %.4g)%s%s\n", argv[i],
                  scores[0].anomalous ? "anomalous" : "good", (double) scores[0].anomaly_score,
                  (double) scores[0].anomaly_threshold, written != NULL ? "  heatmap " : "",
                  written != NULL ? written : "");
          continue;
        }
      {
        /* top_k refills the best classes from the probabilities: keep the gate's word. */
        sl_prediction gate = scores[0];

        sl_classifier_top_k (classifier, probs, top_k, scores);
        scores[0].anomaly_score = gate.anomaly_score;
        scores[0].anomaly_threshold = gate.anomaly_threshold;
        scores[0].anomalous = gate.anomalous;
      }
      if (json)
        {
          cJSON *list = cJSON_CreateArray ();
          item = cJSON_CreateObject ();
          cJSON_AddStringToObject (item, "path", argv[i]);
          cJSON_AddStringToObject (item, "class", scores[0].label);
          cJSON_AddNumberToObject (item, "confidence", scores[0].confidence);
          for (int r = 0; r < top_k; r++)
            {
              cJSON *s = cJSON_CreateObject ();
              cJSON_AddStringToObject (s, "class", scores[r].label);
              cJSON_AddNumberToObject (s, "probability", scores[r].confidence);
              cJSON_AddItemToArray (list, s);
            }
          cJSON_AddItemToObject (item, "top", list);
          if (!isnan (scores[0].anomaly_score))
            add_anomaly_json (item, &scores[0]);
          if (written != NULL)
            cJSON_AddStringToObject (item, "heatmap", written);
          cJSON_AddItemToArray (doc, item);
          continue;
        }
      printf ("%s: %s (%.1f%%)", argv[i], scores[0].label, (double) scores[0].confidence * 100);
      for (int r = 1; r < top_k; r++)
        printf (", %s (%.1f%%)", scores[r].label, (double) scores[r].confidence * 100);
      if (written != NULL)
        printf ("  heatmap %s", written);
      printf ("\n");
    }
  if (json)
    _sl_cli_print_json (doc);
  return failures > 0 ? 1 : 0;
}
