/* sl-cli-train-anomaly.c: `train` on an anomaly project: the fit's recipe, its progress and result. */
#include "sl-cli-private.h"

#include "sl-anomaly.h"

#include <stdio.h>

gboolean
_sl_cli_anomaly_config (const char *model, int input_size, double coreset_ratio,
                        double target_false_reject, SlRunConfig *config, GError **error)
{
  const char *backbone = sl_backbone_canonical_name (model != NULL ? model : "lite0");
  g_autoptr (SlBackboneInfo) bb = NULL;

  if (backbone == NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "An anomaly project fits on a pretrained backbone: --model takes lite0, lite1 "
                   "or lite2, not “%s”",
                   model);
      return FALSE;
    }
  if (!(coreset_ratio == 0 || (coreset_ratio > 0 && coreset_ratio <= 1)))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "--coreset-ratio is above 0 and at most 1, not %g", coreset_ratio);
      return FALSE;
    }
  /* The range the project's own target takes (threshold --target-false-reject): a rate of
   * 0.5 or more would flag half the good parts. */
  if (!(target_false_reject == 0 || (target_false_reject > 0 && target_false_reject < 0.5)))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "--target-false-reject is above 0 and below 0.5 (0.01 is 1 %%), not %g",
                   target_false_reject);
      return FALSE;
    }
  /* Said now, with the command that installs it, before any work. */
  if ((bb = sl_backbone_find (backbone, error)) == NULL)
    return FALSE;
  config->anomaly = TRUE;
  g_free (config->backbone);
  config->backbone = g_strdup (bb->name);
  g_clear_pointer (&config->preset, g_free);
  config->input_size = input_size;
  config->coreset_ratio = coreset_ratio;
  config->target_false_reject = target_false_reject;
  config->epochs = 1;
  return TRUE;
}

static void
finish_phase (SlCliAnomalyUi *ui, const char *what)
{
  _sl_cli_progress_clear (ui->bar);
  if (!ui->json)
    printf ("  %s in %.1f s\n", what, (g_get_monotonic_time () - ui->phase_started) / 1e6);
  fflush (stdout);
  ui->phase_started = g_get_monotonic_time ();
  ui->phase++;
}

void
_sl_cli_anomaly_progress (SlCliAnomalyUi *ui, const SlTrainProgress *p)
{
  g_autofree char *text = NULL, *what = NULL;

  if (ui->phase_started == 0)
    ui->phase_started = g_get_monotonic_time ();
  /* Phase 0: features; 1: the memory bank; 2: the threshold's scores. */
  if (ui->phase == 0 && p->features_total > 0 && p->features_done < p->features_total)
    {
      text = g_strdup_printf ("Features of good images %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                              p->features_done, p->features_total);
      _sl_cli_progress_draw (ui->bar, (double) p->features_done / p->features_total, text);
      return;
    }
  if (ui->phase == 0 && p->features_total > 0)
    {
      what = g_strdup_printf ("features of %" G_GINT64_FORMAT " good images computed",
                              p->features_total);
      finish_phase (ui, what);
    }
  if (ui->phase == 1 && p->fit_total > 0 && p->fit_done < p->fit_total)
    {
      text = g_strdup_printf ("Selecting the memory bank %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                              p->fit_done, p->fit_total);
      _sl_cli_progress_draw (ui->bar, (double) p->fit_done / p->fit_total, text);
      return;
    }
  if (ui->phase == 1 && p->fit_total > 0)
    {
      what = g_strdup_printf ("memory bank of %" G_GINT64_FORMAT " patches selected", p->fit_total);
      finish_phase (ui, what);
    }
  if (ui->phase == 2 && p->score_total > 0 && p->score_done < p->score_total)
    {
      text = g_strdup_printf ("Scoring images for the threshold %" G_GINT64_FORMAT
                              "/%" G_GINT64_FORMAT,
                              p->score_done, p->score_total);
      _sl_cli_progress_draw (ui->bar, (double) p->score_done / p->score_total, text);
      return;
    }
  if (ui->phase == 2 && p->score_total > 0)
    {
      what = g_strdup_printf ("%" G_GINT64_FORMAT " images scored for the threshold",
                              p->score_total);
      finish_phase (ui, what);
    }
}

void
_sl_cli_anomaly_print_start (SlTrainJob *job, const SlRunInfo *run, gboolean resume)
{
  SlRunConfig c;

  if (run == NULL || !sl_run_config_from_json (run->config_json, &c, NULL, NULL))
    return;
  printf ("%s an anomaly model %s on %s (%d px): %lld good training images, %lld validation "
          "images\n",
          resume ? "Fitting again" : "Fitting", run->name, c.backbone, c.input_size,
          (long long) sl_train_job_get_train_images (job),
          (long long) sl_train_job_get_val_images (job));
  sl_run_config_clear (&c);
}

void
_sl_cli_anomaly_print_finished (SlProject *project, const SlRunInfo *run, const char *project_arg)
{
  SlAnomalyThreshold t = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  double manual;

  printf ("%s fitted", run->name);
  if (sl_run_get_anomaly_threshold (project, run, &t, &error))
    printf (": threshold %.4g", t.threshold);
  printf ("\n");
  if (run->message != NULL)
    printf ("  %s\n", run->message);
  /* A threshold set by hand on an earlier run stays with it: say so, since this run's
   * scores may have another scale and it starts from its own. */
  if ((runs = sl_project_list_runs (project, NULL)) != NULL)
    for (guint i = 0; i < runs->len; i++)
      {
        const SlRunInfo *other = g_ptr_array_index (runs, i);

        if (other->id == run->id || !sl_run_info_is_anomaly (other)
            || !sl_project_get_run_anomaly_threshold (project, other->id, &manual))
          continue;
        printf ("  The threshold set by hand for %s (%.4g) stays with %s; %s uses its own "
                "(sightline-cli threshold %s VALUE --run %s sets one for it)\n",
                other->name, manual, other->name, run->name, project_arg, run->name);
        break;
      }
  printf ("Evaluate it with 'sightline-cli eval %s --run %s'\n", project_arg, run->name);
  sl_anomaly_threshold_clear (&t);
}

cJSON *
_sl_cli_anomaly_add_json (SlProject *project, const SlRunInfo *run, cJSON *doc)
{
  SlAnomalyThreshold t = { 0 };
  cJSON *a;

  if (!sl_run_get_anomaly_threshold (project, run, &t, NULL))
    {
      cJSON_AddNullToObject (doc, "anomaly");
      return doc;
    }
  a = cJSON_AddObjectToObject (doc, "anomaly");
  cJSON_AddItemToObject (a, "threshold", _sl_cli_json_number (t.threshold));
  cJSON_AddNumberToObject (a, "target_false_reject", t.target_false_reject);
  cJSON_AddNumberToObject (a, "good_images", (double) t.good_images);
  cJSON_AddItemToObject (a, "false_reject_upper95", _sl_cli_json_number (t.false_reject_upper95));
  cJSON_AddBoolToObject (a, "target_reachable", t.target_reachable);
  cJSON_AddStringToObject (a, "statement", t.statement);
  sl_anomaly_threshold_clear (&t);
  return doc;
}
