/* sl-report-data.c: gathering what the report shows: the run, its model file, the data, the stored evaluation, mistakes with heatmaps, speed. */
#include "sl-report-private.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sl-files.h"
#include "sl-thumbnail.h"
#include "sl-train-data.h"

#define MISTAKES   8
#define THUMB_SIDE 160

void
_sl_report_wilson (gint64 k, gint64 n, double *lo, double *hi)
{
  const double z = 1.959964;
  double p, den, centre, half;

  if (n <= 0)
    {
      *lo = *hi = NAN;
      return;
    }
  p = (double) k / n;
  den = 1 + z * z / n;
  centre = (p + z * z / (2.0 * n)) / den;
  half = z * sqrt (p * (1 - p) / n + z * z / (4.0 * n * n)) / den;
  *lo = MAX (0, centre - half);
  *hi = MIN (1, centre + half);
}

static void
mistake_free (gpointer p)
{
  SlReportMistake *m = p;

  g_free (m->caption);
  g_free (m->file);
  g_clear_pointer (&m->image, cairo_surface_destroy);
  g_clear_pointer (&m->heatmap, cairo_surface_destroy);
  g_free (m);
}

void
_sl_report_data_clear (SlReportData *d)
{
  g_free (d->project_name);
  g_free (d->project_path);
  g_clear_pointer (&d->run, sl_run_info_free);
  g_free (d->generated);
  g_free (d->model_name);
  g_free (d->model_sha256);
  g_free (d->model_path);
  g_free (d->pipeline_json);
  g_free (d->versions_json);
  g_free (d->network);
  g_free (d->backbone_sha256);
  sl_project_stats_clear (&d->stats);
  g_free (d->dataset_hash_now);
  g_clear_pointer (&d->eval, sl_evaluation_free);
  g_clear_pointer (&d->predictions, g_ptr_array_unref);
  g_clear_pointer (&d->curve, g_array_unref);
  g_clear_pointer (&d->f1_lo, g_free);
  g_clear_pointer (&d->f1_hi, g_free);
  g_clear_pointer (&d->anomaly, sl_anomaly_evaluation_free);
  g_clear_pointer (&d->mistakes, g_ptr_array_unref);
  g_free (d->heatmap_note);
  g_free (d->cpu_name);
  memset (d, 0, sizeof *d);
}

static void
progress (const SlReportData *d, double fraction, const char *what)
{
  if (d->options.progress != NULL)
    d->options.progress (fraction, what, d->options.progress_data);
}

static void
eval_progress (gint64 done, gint64 total, gpointer user_data)
{
  const SlReportData *d = user_data;

  progress (d, 0.05 + 0.35 * (total > 0 ? (double) done / total : 0), "Evaluating the run");
}

/* The model file's provenance must name this run: a report never pairs one run's numbers
 * with another run's file. */
static gboolean
check_model_file (const sl_classifier *c, const SlReportData *d, GError **error)
{
  g_autoptr (cJSON) doc = cJSON_Parse (sl_classifier_header_json (c));
  const cJSON *prov = doc != NULL ? cJSON_GetObjectItemCaseSensitive (doc, "provenance") : NULL;
  const cJSON *run = cJSON_GetObjectItemCaseSensitive (prov, "run");
  const cJSON *hash = cJSON_GetObjectItemCaseSensitive (prov, "dataset_sha256");

  if (!cJSON_IsString (run) || strcmp (run->valuestring, d->run->name) != 0
      || (cJSON_IsString (hash) && d->run->dataset_hash != NULL
          && strcmp (hash->valuestring, d->run->dataset_hash) != 0))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s was not exported from %s of this project (it names %s); export the run "
                   "and pass that file, or leave --model out to export one for the report",
                   d->model_path, d->run->name, cJSON_IsString (run) ? run->valuestring : "no run");
      return FALSE;
    }
  return TRUE;
}

static cairo_surface_t *
surface_from_image (const sl_image *img, int max_side)
{
  double scale = MIN (1.0, (double) max_side / MAX (img->width, img->height));
  int ow = MAX (1, (int) lround (img->width * scale)),
      oh = MAX (1, (int) lround (img->height * scale));
  g_autofree guint8 *rgb = g_malloc ((gsize) ow * oh * 3);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, ow, oh);
  guint8 *dst = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);

  sl_thumbnail_reduce (img, 0, 0, img->width, img->height, ow, oh, 3, rgb);
  cairo_surface_flush (s);
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        const guint8 *p = rgb + ((gsize) y * ow + x) * 3;
        guint32 *q = (guint32 *) (dst + (gsize) y * stride) + x;
        *q = 0xff000000u | ((guint32) p[0] << 16) | ((guint32) p[1] << 8) | p[2];
      }
  cairo_surface_mark_dirty (s);
  return s;
}

/* The map over what the model sees: Grad-CAM of the predicted class, or the anomaly map. */
static cairo_surface_t *
heatmap_surface (sl_classifier *c, const sl_image *img, gboolean anomaly)
{
  int32_t w, h, channels;
  sl_image base = { 0 }, over = { 0 };
  sl_prediction pred;
  sl_prediction_maps maps;
  g_autofree float *map = NULL;
  cairo_surface_t *s = NULL;
  float lo = 0, hi = 1;

  sl_classifier_input_size (c, &w, &h, &channels);
  map = g_new0 (float, (gsize) w *h);
  sl_prediction_init (&pred);
  sl_prediction_maps_init (&maps);
  if (anomaly)
    maps.anomaly_map = map;
  else
    maps.class_heatmap = map;
  if (sl_classifier_predict_image_maps (c, img, &pred, NULL, &maps, NULL) != SL_OK
      || sl_classifier_preprocess (c, img, &base, NULL) != SL_OK)
    return NULL;
  if (anomaly)
    sl_anomaly_map_range (pred.anomaly_threshold, map, (size_t) w * h, &lo, &hi);
  if (sl_heatmap_overlay (&base, map, lo, hi, 0.6f, &over, NULL) == SL_OK)
    s = surface_from_image (&over, THUMB_SIDE);
  sl_image_clear (&base);
  sl_image_clear (&over);
  return s;
}

static void
add_mistake (SlReportData *d, SlProject *project, sl_classifier *c, const char *hash,
             const char *ext, const char *original, char *caption)
{
  g_autofree char *path = sl_project_image_path (project, hash, ext);
  SlReportMistake *m = g_new0 (SlReportMistake, 1);
  sl_image img = { 0 };

  m->caption = caption;
  m->file = g_path_get_basename (original != NULL ? original : path);
  if (sl_image_load (path, 0, &img, NULL) == SL_OK)
    {
      m->image = surface_from_image (&img, THUMB_SIDE);
      if (c != NULL)
        m->heatmap = heatmap_surface (c, &img, d->anomaly != NULL);
      if (m->heatmap != NULL)
        d->heatmaps = TRUE;
      sl_image_clear (&img);
    }
  g_ptr_array_add (d->mistakes, m);
}

static void
gather_mistakes (SlReportData *d, SlProject *project, sl_classifier *c)
{
  d->mistakes = g_ptr_array_new_with_free_func (mistake_free);
  if (d->eval != NULL)
    {
      for (guint i = 0; i < d->eval->confident_mistakes->len && i < MISTAKES; i++)
        {
          const SlImagePrediction *p = g_ptr_array_index (d->eval->confident_mistakes, i);
          char *caption = g_strdup_printf (
              "%s taken for <b>%s</b> at %.0f %%",
              (char *) g_ptr_array_index (d->eval->class_names, p->true_class),
              (char *) g_ptr_array_index (d->eval->class_names, p->predicted_class),
              100 * p->confidence);
          add_mistake (d, project, c, p->hash, p->ext, p->original_path, caption);
        }
      return;
    }
  /* Anomaly: the good parts scored highest above the threshold (false rejects), then the
   * defects scored lowest below it (escapes). */
  for (guint i = 0, n = 0; i < d->anomaly->scores->len && n < MISTAKES / 2; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (d->anomaly->scores, i);
      if (!s->defect && s->flagged)
        {
          add_mistake (d, project, c, s->hash, s->ext, s->original_path,
                       g_strdup_printf ("good part flagged, score %.4g", s->score));
          n++;
        }
    }
  for (guint i = d->anomaly->scores->len, n = 0; i-- > 0 && n < MISTAKES / 2;)
    {
      const SlAnomalyScore *s = g_ptr_array_index (d->anomaly->scores, i);
      if (s->defect && !s->flagged)
        {
          add_mistake (d, project, c, s->hash, s->ext, s->original_path,
                       g_strdup_printf ("%s passed, score %.4g", s->class_name, s->score));
          n++;
        }
    }
}

static int
cmp_confidence (gconstpointer a, gconstpointer b)
{
  const SlImagePrediction *x = *(SlImagePrediction *const *) a;
  const SlImagePrediction *y = *(SlImagePrediction *const *) b;

  return (x->confidence > y->confidence) - (x->confidence < y->confidence);
}

/* The escape / false-reject trade-off of a reject threshold: a prediction whose confidence
 * is below the threshold is rejected (as the runtime rejects). Escape: wrong predictions
 * accepted over all images; false reject: correct predictions rejected over correct ones. */
static void
gather_curve (SlReportData *d)
{
  /* Borrowed pointers: a copy would carry the owner's free function. */
  g_autoptr (GPtrArray) sorted = g_ptr_array_sized_new (d->predictions->len);
  gint64 n = d->predictions->len, correct = 0, wrong = 0, correct_below = 0, wrong_below = 0;
  SlReportCurvePoint point;

  for (guint i = 0; i < d->predictions->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (d->predictions, i));
  d->curve = g_array_new (FALSE, FALSE, sizeof (SlReportCurvePoint));
  g_ptr_array_sort (sorted, cmp_confidence);
  for (gint64 i = 0; i < n; i++)
    {
      const SlImagePrediction *p = g_ptr_array_index (sorted, i);
      if (p->predicted_class == p->true_class)
        correct++;
      else
        wrong++;
    }
  if (n == 0)
    return;
  for (gint64 i = 0; i <= n; i++)
    {
      const SlImagePrediction *p = i < n ? g_ptr_array_index (sorted, i) : NULL;
      if (i == 0 || i == n
          || p->confidence != ((SlImagePrediction *) g_ptr_array_index (sorted, i - 1))->confidence)
        {
          point.threshold = p != NULL ? p->confidence : 1.0 + 1e-9;
          point.escape = (double) (wrong - wrong_below) / n;
          point.false_reject = correct > 0 ? (double) correct_below / correct : 0;
          g_array_append_val (d->curve, point);
        }
      if (p != NULL)
        {
          if (p->predicted_class == p->true_class)
            correct_below++;
          else
            wrong_below++;
        }
    }
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* F1 has no closed-form interval: a percentile bootstrap over the evaluated images (1000
 * resamples, a fixed seed so that the same evaluation gives the same report). */
#define BOOTSTRAP 1000
static void
gather_f1_intervals (SlReportData *d)
{
  int k = d->eval->classes;
  gint64 n = d->predictions->len;
  g_autofree gint64 *tp = g_new (gint64, k), *pred = g_new (gint64, k), *truth = g_new (gint64, k);
  g_autofree double *samples = g_new (double, (gsize) k *BOOTSTRAP);
  g_autofree int *counts = g_new0 (int, k);
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261207);

  d->f1_lo = g_new (double, k);
  d->f1_hi = g_new (double, k);
  for (int c = 0; c < k; c++)
    d->f1_lo[c] = d->f1_hi[c] = NAN;
  if (n == 0)
    return;
  for (int b = 0; b < BOOTSTRAP; b++)
    {
      memset (tp, 0, sizeof (gint64) * k);
      memset (pred, 0, sizeof (gint64) * k);
      memset (truth, 0, sizeof (gint64) * k);
      for (gint64 i = 0; i < n; i++)
        {
          const SlImagePrediction *p
              = g_ptr_array_index (d->predictions, g_rand_int_range (rand, 0, (gint32) n));
          if (p->true_class < 0 || p->true_class >= k || p->predicted_class < 0
              || p->predicted_class >= k)
            continue;
          truth[p->true_class]++;
          pred[p->predicted_class]++;
          if (p->true_class == p->predicted_class)
            tp[p->true_class]++;
        }
      for (int c = 0; c < k; c++)
        if (pred[c] + truth[c] > 0)
          samples[(gsize) c * BOOTSTRAP + counts[c]++] = 2.0 * tp[c] / (pred[c] + truth[c]);
    }
  for (int c = 0; c < k; c++)
    if (counts[c] >= BOOTSTRAP / 2)
      {
        double *s = samples + (gsize) c * BOOTSTRAP;
        qsort (s, counts[c], sizeof (double), cmp_double);
        d->f1_lo[c] = s[(int) floor (0.025 * (counts[c] - 1))];
        d->f1_hi[c] = s[(int) ceil (0.975 * (counts[c] - 1))];
      }
}

/* Latency: one image at a time (median and 95th percentile); throughput: batches. */
static void
measure_speed (SlReportData *d, sl_classifier *c, GPtrArray *paths)
{
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  double budget = d->options.speed_seconds > 0 ? d->options.speed_seconds : 2.0;
  sl_image images[SL_REPORT_BATCH];
  sl_prediction preds[SL_REPORT_BATCH];
  int n = 0;
  gint64 start, done = 0;

  d->latency_ms = d->latency_p95_ms = d->images_per_s = NAN;
  for (guint i = 0; i < paths->len && n < SL_REPORT_BATCH; i++)
    if (sl_image_load (g_ptr_array_index (paths, i), 0, &images[n], NULL) == SL_OK)
      n++;
  if (n == 0)
    return;
  for (int i = 0; i < SL_REPORT_BATCH; i++)
    sl_prediction_init (&preds[i]);
  for (int i = 0; i < 2; i++) /* warm up: first-touch allocations, caches */
    sl_classifier_predict_image (c, &images[i % n], &preds[0], NULL, NULL);
  start = g_get_monotonic_time ();
  for (int i = 0; i < 500 && (g_get_monotonic_time () - start) < budget / 2 * 1e6; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double ms;

      if (sl_classifier_predict_image (c, &images[i % n], &preds[0], NULL, NULL) != SL_OK)
        break;
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (times, ms);
    }
  if (times->len > 0)
    {
      qsort (times->data, times->len, sizeof (double), cmp_double);
      d->latency_ms = g_array_index (times, double, times->len / 2);
      d->latency_p95_ms = g_array_index (
          times, double, MIN (times->len - 1, (guint) ceil (0.95 * times->len) - 1));
    }
  /* A full batch of SL_REPORT_BATCH, repeating the images when the split has fewer. */
  for (int i = n; i < SL_REPORT_BATCH; i++)
    images[i] = images[i % n], images[i].owner = NULL;
  start = g_get_monotonic_time ();
  do
    {
      if (sl_classifier_predict_images (c, images, SL_REPORT_BATCH, preds, NULL, NULL) != SL_OK)
        break;
      done += SL_REPORT_BATCH;
    }
  while ((g_get_monotonic_time () - start) < budget / 2 * 1e6);
  if (done > 0)
    d->images_per_s = done / ((g_get_monotonic_time () - start) / 1e6);
  for (int i = 0; i < n; i++)
    sl_image_clear (&images[i]);
}

static char *
cpu_name (void)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    {
      lines = g_strsplit (text, "\n", -1);
      for (int i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "model name"))
          {
            const char *colon = strchr (lines[i], ':');
            if (colon != NULL)
              return g_strstrip (g_strdup (colon + 1));
          }
    }
  return g_strdup ("unknown CPU");
}

static void
gather_data_health (SlReportData *d, SlProject *project)
{
  g_autoptr (GPtrArray) issues = sl_project_list_import_issues (project, NULL);
  SlTrainData td = { 0 };

  sl_project_get_stats (project, &d->stats, NULL);
  for (guint i = 0; issues != NULL && i < issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (issues, i);
      if (issue->outcome == SL_IMPORT_DUPLICATE)
        d->import_duplicates++;
      if (sl_import_issue_is_conflict (issue))
        d->import_conflicts++;
      if (issue->outcome == SL_IMPORT_UNREADABLE)
        d->unreadable++;
    }
  /* The data as it is now, hashed as training hashes it: when it equals the run's hash the
   * counts and warnings below are those the run was trained with. */
  if (sl_train_data_pick_classes (project, &td, NULL) && sl_train_data_collect (project, &td, NULL))
    d->dataset_hash_now = g_strdup (td.hash);
  sl_train_data_clear (&td);
}

static gboolean
gather_evaluation (SlReportData *d, SlProject *project, GError **error)
{
  gint64 id = sl_project_find_evaluation (project, d->run->id, d->options.split, error);

  if (id < 0 && error != NULL && *error != NULL)
    return FALSE;
  if (id < 0)
    {
      progress (d, 0.05, "Evaluating the run");
      id = sl_project_evaluate (project, d->run->id, d->options.split, SL_CHECKPOINT_BEST, 1,
                                d->options.threads, eval_progress, d, d->options.cancellable,
                                error);
      if (id < 0)
        {
          g_prefix_error (error,
                          "No evaluation of %s on the %s split is stored, and evaluating "
                          "it failed: ",
                          d->run->name, sl_split_to_string (d->options.split));
          return FALSE;
        }
      d->evaluated = TRUE;
    }
  if (sl_run_info_is_anomaly (d->run))
    return (d->anomaly = sl_project_get_anomaly_evaluation (project, id, error)) != NULL;
  if ((d->eval = sl_project_get_evaluation (project, id, MISTAKES, error)) == NULL
      || (d->predictions = sl_project_list_predictions (project, id, error)) == NULL)
    return FALSE;
  return TRUE;
}

static gboolean
open_model (SlReportData *d, SlProject *project, char **tmp_dir, sl_classifier **c, GError **error)
{
  sl_classifier_options co;
  sl_error err = { 0 };
  SlCheckpointKind checkpoint = d->eval != NULL ? d->eval->checkpoint : SL_CHECKPOINT_BEST;

  if (d->options.model_path != NULL)
    {
      if (!g_file_test (d->options.model_path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND, "No model file at %s",
                       d->options.model_path);
          return FALSE;
        }
      d->model_path = g_strdup (d->options.model_path);
    }
  else
    {
      SlExportOptions eo;
      SlExportResult er = { 0 };
      double threshold = 0;

      progress (d, 0.45, "Exporting the model");
      if ((*tmp_dir = g_dir_make_tmp ("sightline-report-XXXXXX", error)) == NULL)
        return FALSE;
      sl_export_options_init (&eo);
      eo.checkpoint = checkpoint;
      if (d->eval != NULL && sl_project_get_reject_threshold (project, &threshold))
        eo.reject_threshold = threshold;
      if (!sl_project_export_run (project, d->run->id, *tmp_dir, &eo, &er, error))
        {
          g_prefix_error (error, "Could not export %s for the report: ", d->run->name);
          return FALSE;
        }
      d->model_path = g_strdup (er.slmodel_path);
      d->parameters = er.parameters;
      sl_export_result_clear (&er);
    }
  if ((d->model_sha256 = sl_file_sha256 (d->model_path, &d->model_bytes, error)) == NULL)
    return FALSE;
  d->model_name = g_path_get_basename (d->model_path);
  sl_classifier_options_init (&co);
  co.threads = d->options.threads;
  if (sl_classifier_open (d->model_path, &co, c, &err) != SL_OK)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME, "Could not open %s: %s",
                   d->model_path, err.message);
      return FALSE;
    }
  if (!check_model_file (*c, d, error))
    return FALSE;
  {
    char *json = sl_pipeline_to_json (sl_classifier_pipeline (*c));
    sl_classifier_cost cost;
    int channels = 0, hh = 0, ww = 0;

    d->pipeline_json = g_strdup (json);
    sl_free (json);
    sl_model_input_shape (sl_classifier_model (*c), &channels, &hh, &ww);
    d->input_width = ww;
    d->input_height = hh;
    d->input_channels = channels;
    sl_classifier_cost_init (&cost);
    if (d->parameters == 0 && sl_classifier_get_cost (*c, &cost, NULL) == SL_OK)
      d->parameters = -cost.weight_bytes; /* negative: bytes of weights, not a count */
    d->reject_threshold = sl_classifier_get_reject_threshold (*c);
  }
  return TRUE;
}

gboolean
_sl_report_data_gather (SlProject *project, gint64 run_id, const SlReportOptions *options,
                        SlReportData *d, GError **error)
{
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, run_id);
  g_autofree char *tmp_dir = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  sl_classifier *c = NULL;
  gboolean ok = FALSE;

  memset (d, 0, sizeof *d);
  d->options = *options;
  d->generated = g_date_time_format (now, "%Y-%m-%d %H:%M UTC");
  d->project_name = sl_project_dup_name (project);
  d->project_path = g_strdup (sl_project_get_path (project));
  if ((d->run = sl_project_get_run (project, ref, error)) == NULL)
    return FALSE;
  if (d->run->status != SL_RUN_FINISHED && d->run->status != SL_RUN_STOPPED_EARLY)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s is %s, not finished: a report describes a finished run (resume it with "
                   "sightline-cli train --resume %s, or pick another with --run)",
                   d->run->name, sl_run_status_to_string (d->run->status), d->run->name);
      return FALSE;
    }
  d->versions_json = g_strdup (d->run->versions_json);
  d->network = g_strdup (d->run->backbone != NULL ? d->run->backbone
                         : d->run->preset != NULL ? d->run->preset
                                                  : "custom");
  progress (d, 0.02, "Reading the data");
  gather_data_health (d, project);
  /* A model file given is checked before minutes of evaluation, not after. */
  if (options->model_path != NULL && !open_model (d, project, &tmp_dir, &c, error))
    goto out;
  if (!gather_evaluation (d, project, error))
    goto out;
  if (g_cancellable_set_error_if_cancelled (options->cancellable, error))
    goto out;
  if (options->model_path == NULL && !open_model (d, project, &tmp_dir, &c, error))
    goto out;
  if (d->eval != NULL)
    {
      sl_threshold_stats ((SlImagePrediction *const *) d->predictions->pdata, d->predictions->len,
                          d->reject_threshold, &d->at_threshold);
      gather_curve (d);
      gather_f1_intervals (d);
      for (guint i = 0; i < d->predictions->len; i++)
        {
          const SlImagePrediction *p = g_ptr_array_index (d->predictions, i);
          g_ptr_array_add (paths, sl_project_image_path (project, p->hash, p->ext));
          if (paths->len >= SL_REPORT_BATCH)
            break;
        }
    }
  else
    for (guint i = 0; i < d->anomaly->scores->len && paths->len < SL_REPORT_BATCH; i++)
      {
        const SlAnomalyScore *s = g_ptr_array_index (d->anomaly->scores, i);
        g_ptr_array_add (paths, sl_project_image_path (project, s->hash, s->ext));
      }
  progress (d, 0.55, "Drawing the mistakes");
  gather_mistakes (d, project, c);
  if (g_cancellable_set_error_if_cancelled (options->cancellable, error))
    goto out;
  progress (d, 0.7, "Measuring speed on this computer");
  d->threads = options->threads > 0 ? options->threads : (int) g_get_num_processors ();
  d->cpu_name = cpu_name ();
  measure_speed (d, c, paths);
  ok = TRUE;
out:
  sl_classifier_free (c);
  if (tmp_dir != NULL)
    sl_remove_tree (tmp_dir);
  return ok;
}
