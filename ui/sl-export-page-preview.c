/* sl-export-page-preview.c: Try It's large preview of the selected image, with its heatmap made on a worker for that one image when the toggle is on. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-checkerboard.h"
#include "sl-export-page-private.h"
#include "sl-thumbnail-cache.h"
#include "sl-try-result.h"

#include <math.h>

typedef struct
{
  SlTryResult *result;
  char *slmodel, *project_path, *key;
  gint64 run_id;
  SlCheckpointKind checkpoint;
  double threshold;
  gboolean heatmap;
  int box, thumb_box;        /* device pixels */
  sl_classifier *classifier; /* the page's, lent for the job; opened here when NULL */

  /* out */
  GdkTexture *image, *overlay, *thumb_overlay;
  char *error;
} PreviewJob;

static void
preview_job_free (PreviewJob *job)
{
  g_clear_object (&job->result);
  g_free (job->slmodel);
  g_free (job->project_path);
  g_free (job->key);
  sl_classifier_free (job->classifier);
  g_clear_object (&job->image);
  g_clear_object (&job->overlay);
  g_clear_object (&job->thumb_overlay);
  g_free (job->error);
  g_free (job);
}

/* Worker: the image at preview size and, when asked, its heatmap at preview and thumbnail
 * size. Only this image pays for Grad-CAM. */
static void
preview_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PreviewJob *job = data;
  const char *path = sl_try_result_get_path (job->result);
  sl_image img = { 0 }, pre = { 0 }, over = { 0 };
  sl_error err = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *map = NULL;
  sl_prediction prediction;
  sl_prediction_maps maps;
  int32_t width, height, channels;
  gboolean anomaly_map;
  float lo = 0, hi = 1;

  if (sl_image_load (path, 0, &img, &err) != SL_OK)
    {
      job->error = g_strdup (err.message);
      g_task_return_boolean (task, TRUE);
      return;
    }
  job->image = sl_thumbnail_texture_new (&img, job->box);
  if (!job->heatmap || g_cancellable_is_cancelled (cancellable))
    goto done;
  if (job->classifier == NULL
      && (job->classifier
          = _sl_export_page_open_classifier (job->slmodel, job->project_path, job->run_id,
                                             job->checkpoint, job->threshold, &error))
             == NULL)
    {
      job->error = g_strdup_printf ("No heatmap: %s", error->message);
      goto done;
    }
  sl_classifier_input_size (job->classifier, &width, &height, &channels);
  anomaly_map = sl_classifier_kind (job->classifier) == SL_SLMODEL_ANOMALY;
  probs = g_new (float, sl_classifier_class_count (job->classifier));
  map = g_new (float, (gsize) width *height);
  sl_prediction_init (&prediction);
  sl_prediction_maps_init (&maps);
  if (anomaly_map)
    maps.anomaly_map = map;
  else
    maps.class_heatmap = map;
  if (sl_classifier_predict_image_maps (job->classifier, &img, &prediction, probs, &maps, &err)
      != SL_OK)
    {
      job->error = g_strdup_printf ("No heatmap: %s", err.message);
      goto done;
    }
  if (anomaly_map)
    sl_anomaly_map_range (prediction.anomaly_threshold, map, (size_t) width * height, &lo, &hi);
  if (sl_classifier_preprocess (job->classifier, &img, &pre, &err) == SL_OK
      && sl_heatmap_overlay (&pre, map, lo, hi, 0.6f, &over, &err) == SL_OK)
    {
      job->overlay = sl_thumbnail_texture_new (&over, job->box);
      job->thumb_overlay = sl_thumbnail_texture_new (&over, job->thumb_box);
    }
  else
    job->error = g_strdup_printf ("No heatmap: %s", err.message);
done:
  sl_image_clear (&pre);
  sl_image_clear (&over);
  sl_image_clear (&img);
  g_task_return_boolean (task, TRUE);
}

static SlTryResult *
selected_result (SlExportPage *self)
{
  if (self->selection == NULL)
    return NULL;
  return gtk_single_selection_get_selected_item (self->selection);
}

/* "Shirt · 93 %" and the runner-up, or the anomaly score against its threshold. */
static char *
caption_for (SlTryResult *r)
{
  double score, threshold, second = 0;
  const char *runner_up;

  if (sl_try_result_get_error (r) != NULL)
    return g_strdup (sl_try_result_get_error (r));
  if (sl_try_result_is_anomaly_model (r) && sl_try_result_get_anomaly (r, &score, &threshold))
    {
      if (isfinite (threshold))
        return g_strdup_printf ("%s · score %.3g (threshold %.3g)",
                                sl_try_result_get_anomalous (r) ? "Anomalous" : "Good", score,
                                threshold);
      return g_strdup_printf ("%s · score %.3g",
                              sl_try_result_get_anomalous (r) ? "Anomalous" : "Good", score);
    }
  runner_up = sl_try_result_get_runner_up (r, &second);
  if (runner_up != NULL)
    return g_strdup_printf ("%s%s · %.0f %%, then %s · %.0f %%",
                            sl_try_result_get_rejected (r) ? "Unknown — best guess " : "",
                            sl_try_result_get_label (r), 100 * sl_try_result_get_confidence (r),
                            runner_up, 100 * second);
  return g_strdup_printf ("%s · %.0f %%", sl_try_result_get_label (r),
                          100 * sl_try_result_get_confidence (r));
}

static void start_preview (SlExportPage *self);

static void
show_picture (SlExportPage *self, GdkTexture *texture)
{
  g_autoptr (GdkPaintable) shown = texture != NULL ? sl_checkerboard_paintable_new (texture) : NULL;

  gtk_picture_set_paintable (self->preview_picture, shown);
}

static void
preview_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlExportPage *self = SL_EXPORT_PAGE (source);
  PreviewJob *job = data;
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  g_autofree char *caption = NULL;
  guint position;

  if (g_cancellable_is_cancelled (cancellable) || cancellable != self->preview_cancellable)
    return; /* disposed, or the run changed: the job frees its classifier */
  g_clear_object (&self->preview_cancellable);
  gtk_spinner_set_spinning (GTK_SPINNER (self->preview_spinner), FALSE);
  gtk_widget_set_visible (self->preview_spinner, FALSE);
  /* Keep the classifier for the next image. */
  if (job->classifier != NULL)
    {
      sl_classifier_free (self->preview_classifier);
      self->preview_classifier = g_steal_pointer (&job->classifier);
      g_free (self->preview_key);
      self->preview_key = g_strdup (job->key);
    }
  /* The row's thumbnail gains the heatmap it lacked (the try made none with the toggle off). */
  if (job->thumb_overlay != NULL && sl_try_result_get_overlay (job->result) == NULL)
    {
      sl_try_result_set_overlay (job->result, job->thumb_overlay);
      if (g_list_store_find (self->results, job->result, &position))
        g_list_model_items_changed (G_LIST_MODEL (self->results), position, 1, 1);
    }
  if (self->preview_again)
    {
      start_preview (self);
      return;
    }
  show_picture (self, job->overlay != NULL ? job->overlay : job->image);
  caption = caption_for (job->result);
  if (job->error != NULL && sl_try_result_get_error (job->result) == NULL)
    {
      g_autofree char *both = g_strdup_printf ("%s\n%s", caption, job->error);
      gtk_label_set_text (self->preview_caption, both);
    }
  else
    gtk_label_set_text (self->preview_caption, caption);
}

static void
start_preview (SlExportPage *self)
{
  SlTryResult *r = selected_result (self);
  g_autoptr (GTask) task = NULL;
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  PreviewJob *job;

  self->preview_again = FALSE;
  g_set_object (&self->preview_shown, r);
  gtk_widget_set_visible (self->preview_box, r != NULL);
  if (r == NULL)
    {
      show_picture (self, NULL);
      return;
    }
  gtk_label_set_text (self->preview_title, sl_try_result_get_name (r));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->preview_title), sl_try_result_get_path (r));
  if (sl_try_result_get_error (r) != NULL)
    {
      show_picture (self, NULL);
      gtk_label_set_text (self->preview_caption, sl_try_result_get_error (r));
      return;
    }
  /* Until the large one is made: the thumbnail (or its heatmap) scaled up. */
  show_picture (self, sl_export_page_get_show_heatmap (self) && sl_try_result_get_overlay (r)
                          ? sl_try_result_get_overlay (r)
                          : sl_try_result_get_thumbnail (r));
  gtk_label_set_text (self->preview_caption, "");
  gtk_widget_set_visible (self->preview_spinner, TRUE);
  gtk_spinner_set_spinning (GTK_SPINNER (self->preview_spinner), TRUE);

  job = g_new0 (PreviewJob, 1);
  job->result = g_object_ref (r);
  job->slmodel = g_strdup (_sl_export_page_exported_model (self));
  job->project_path = g_strdup (sl_session_get_path (self->session));
  job->run_id = self->run_id;
  job->checkpoint = sl_export_page_get_checkpoint (self);
  job->threshold = sl_export_page_get_reject_threshold (self);
  job->heatmap = sl_export_page_get_show_heatmap (self);
  job->box = SL_EXPORT_PREVIEW_SIZE * scale;
  job->thumb_box = SL_EXPORT_TRY_THUMB_SIZE * scale;
  job->key = g_strdup_printf ("%s|%" G_GINT64_FORMAT "|%d|%.17g", job->slmodel ? job->slmodel : "",
                              job->run_id, (int) job->checkpoint, job->threshold);
  if (g_strcmp0 (job->key, self->preview_key) == 0)
    job->classifier = g_steal_pointer (&self->preview_classifier);
  else
    g_clear_pointer (&self->preview_classifier, sl_classifier_free);

  self->preview_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->preview_cancellable, preview_done, job);
  g_task_set_source_tag (task, start_preview);
  g_task_set_task_data (task, job, (GDestroyNotify) preview_job_free);
  g_task_run_in_thread (task, preview_thread);
}

void
_sl_export_page_update_preview (SlExportPage *self)
{
  if (self->preview_cancellable != NULL)
    self->preview_again = TRUE; /* one image at a time: the newest choice follows */
  else
    start_preview (self);
}

static void
on_selected_item (GObject *object, GParamSpec *pspec, SlExportPage *self)
{
  /* A row changing in place (its thumbnail got its heatmap) is not a new choice. */
  if (selected_result (self) != self->preview_shown)
    _sl_export_page_update_preview (self);
}

void
_sl_export_page_init_preview (SlExportPage *self)
{
  g_signal_connect_object (self->selection, "notify::selected-item", G_CALLBACK (on_selected_item),
                           self, 0);
}

void
_sl_export_page_dispose_preview (SlExportPage *self)
{
  g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  g_clear_pointer (&self->preview_classifier, sl_classifier_free);
  g_clear_pointer (&self->preview_key, g_free);
  g_clear_object (&self->preview_shown);
}

SlTryResult *
sl_export_page_get_preview_result (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return selected_result (self);
}

GdkPaintable *
sl_export_page_get_preview_paintable (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return gtk_picture_get_paintable (self->preview_picture);
}

gboolean
sl_export_page_is_previewing (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), FALSE);
  return self->preview_cancellable != NULL;
}
