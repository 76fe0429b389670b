/* sl-project-pipeline.c: the project's preprocessing pipeline, and a default chosen from the data. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"
#include "sl-run.h"

#include <math.h>
#include <stdlib.h>

#include "sl-vision.h"

/* Images sampled to measure the mean and standard deviation. */
#define STATS_SAMPLE 256

static int
compare_int (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

static int
round_size (double v)
{
  return MAX (8, (int) (lround (v / 4.0) * 4));
}

/* Mean and standard deviation of the pipeline's output on a sample. */
static gboolean
measure (sl_pipeline *pipeline, GPtrArray *paths, sl_input_spec *spec, GCancellable *cancellable,
         GError **error)
{
  double sum[3] = { 0 }, sq[3] = { 0 }, count = 0;
  guint step = MAX (1, paths->len / STATS_SAMPLE);

  for (guint i = 0; i < paths->len; i += step)
    {
      sl_image in = { 0 }, out = { 0 };
      sl_error err = { 0 };

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      if (sl_image_load (g_ptr_array_index (paths, i), 0, &in, &err) != SL_OK
          || sl_pipeline_apply (pipeline, &in, &out, &err) != SL_OK)
        {
          sl_image_clear (&in);
          continue; /* the loader reports bad images; a sample can do without them */
        }
      for (int y = 0; y < out.height; y++)
        {
          const uint8_t *row = out.data + (size_t) y * out.stride;
          for (int x = 0; x < out.width; x++)
            for (int c = 0; c < out.channels; c++)
              {
                double v = row[x * out.channels + c] / 255.0;
                sum[c] += v;
                sq[c] += v * v;
              }
        }
      count += (double) out.width * out.height;
      sl_image_clear (&in);
      sl_image_clear (&out);
    }
  if (count == 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                   "None of the project's labelled images could be read to choose a pipeline");
      return FALSE;
    }
  for (int c = 0; c < spec->channels; c++)
    {
      double mean = sum[c] / count, var = sq[c] / count - mean * mean;

      spec->mean[c] = (float) mean;
      spec->std[c] = (float) MAX (sqrt (MAX (var, 0.0)), 1e-3);
    }
  return TRUE;
}

/* The stored copies of the labelled, not ignored images, in id order, with
 * their sizes and whether any is in colour. */
static gboolean
collect_labelled (SlProject *self, GPtrArray *paths, GArray *widths, GArray *heights,
                  gboolean *colour, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self,
      "SELECT width, height, channels, hash, ext FROM images WHERE class_id IS NOT NULL AND "
      "ignored = 0 ORDER BY id",
      error);

  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      int width = sqlite3_column_int (stmt, 0), height = sqlite3_column_int (stmt, 1);

      g_array_append_val (widths, width);
      g_array_append_val (heights, height);
      *colour = *colour || sqlite3_column_int (stmt, 2) > 1;
      g_ptr_array_add (paths,
                       sl_project_image_path (self, (const char *) sqlite3_column_text (stmt, 3),
                                              (const char *) sqlite3_column_text (stmt, 4)));
    }
  if (paths->len == 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                   "The project has no labelled images to choose a pipeline from");
      return FALSE;
    }
  return TRUE;
}

static char *
take_pipeline_json (sl_pipeline *pipeline)
{
  char *json = sl_pipeline_to_json (pipeline);
  char *out = g_strdup (json);

  sl_free (json);
  sl_pipeline_free (pipeline);
  return out;
}

static char *
default_pipeline_json (SlProject *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GArray) widths = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GArray) heights = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  sl_input_spec spec = { 0 };
  sl_pipeline *pipeline = NULL;
  sl_error err = { 0 };
  gboolean colour = FALSE;
  double w, h;

  if (!collect_labelled (self, paths, widths, heights, &colour, error))
    return NULL;
  qsort (widths->data, widths->len, sizeof (int), compare_int);
  qsort (heights->data, heights->len, sizeof (int), compare_int);
  w = g_array_index (widths, int, widths->len / 2);
  h = g_array_index (heights, int, heights->len / 2);
  if (MAX (w, h) > 128)
    {
      double f = 128.0 / MAX (w, h);
      w *= f;
      h *= f;
    }
  spec.width = MIN (128, round_size (w));
  spec.height = MIN (128, round_size (h));
  spec.channels = colour ? 3 : 1;
  for (int c = 0; c < 3; c++)
    spec.std[c] = 1.0f;
  if (sl_pipeline_new (&pipeline, &err) != SL_OK
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK)
    {
      sl_pipeline_free (pipeline);
      _sl_project_set_runtime_error (error, &err, "Could not make a pipeline");
      return NULL;
    }
  if (!measure (pipeline, paths, &spec, cancellable, error)
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK)
    {
      if (err.code != SL_OK)
        _sl_project_set_runtime_error (error, &err, "Could not make a pipeline");
      sl_pipeline_free (pipeline);
      return NULL;
    }
  return take_pipeline_json (pipeline);
}

char *
sl_project_default_pipeline_json (SlProject *self, GError **error)
{
  return default_pipeline_json (self, NULL, error);
}

/* Measures the input mean and std of a given pipeline on the labelled images. */
static char *
remeasure_pipeline_json (SlProject *self, const char *pipeline_json, GCancellable *cancellable,
                         GError **error)
{
  g_autoptr (GArray) widths = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GArray) heights = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  sl_pipeline *pipeline = NULL;
  sl_input_spec spec;
  sl_error err = { 0 };
  gboolean colour = FALSE;

  if (sl_pipeline_from_json (pipeline_json, &pipeline, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "The pipeline is not valid");
      return NULL;
    }
  sl_pipeline_get_input (pipeline, &spec);
  if (!collect_labelled (self, paths, widths, heights, &colour, error)
      || !measure (pipeline, paths, &spec, cancellable, error)
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK)
    {
      if (err.code != SL_OK)
        _sl_project_set_runtime_error (error, &err, "Could not measure the pipeline's output");
      sl_pipeline_free (pipeline);
      return NULL;
    }
  return take_pipeline_json (pipeline);
}

char *
sl_project_measure_pipeline_json (const char *path, const char *pipeline_json,
                                  GCancellable *cancellable, GError **error)
{
  g_autoptr (SlProject) db = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  if ((db = sl_project_open_worker (path, error)) == NULL)
    return NULL;
  return pipeline_json != NULL ? remeasure_pipeline_json (db, pipeline_json, cancellable, error)
                               : default_pipeline_json (db, cancellable, error);
}
