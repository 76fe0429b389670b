/* sl-export-page-try.c: the Export page's "Try it": new images predicted on a worker thread, listed as they come. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-classifier.h"
#include "sl-export-page-private.h"
#include "sl-thumbnail-cache.h"
#include "sl-try-result.h"

#include <math.h>
#include <string.h>

/* At most this many images per try; the rest are left out, with a note. */
#define TRY_MAX_IMAGES 2000
/* Results reach the list in batches, this often. */
#define TRY_FLUSH_MS 100

struct _SlTryJob
{
  char **inputs;      /* files and folders */
  char *slmodel;      /* predict with this file, or NULL: with the run */
  char *project_path; /* for the run */
  gint64 run_id;
  SlCheckpointKind checkpoint;
  double threshold;  /* with the run; a file has its own */
  int thumb_box;     /* device pixels */
  gboolean heatmaps; /* the toggle was on: make each image's heatmap (Grad-CAM costs a
                      * backward pass, so none is made while nobody looks at them) */

  GMutex lock;
  GPtrArray *pending; /* SlTryResult, under lock */
  gint64 done, total; /* under lock; total -1 while listing */
  gboolean capped;    /* set before total */
};

static void
try_job_free (SlTryJob *job)
{
  g_strfreev (job->inputs);
  g_free (job->slmodel);
  g_free (job->project_path);
  g_ptr_array_unref (job->pending);
  g_mutex_clear (&job->lock);
  g_free (job);
}

/* ---- The worker ------------------------------------------------------------------------- */

static gboolean
is_image_name (const char *name)
{
  static const char *const extensions[]
      = { ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", NULL };
  g_autofree char *lower = g_ascii_strdown (name, -1);

  for (int i = 0; extensions[i] != NULL; i++)
    if (g_str_has_suffix (lower, extensions[i]))
      return TRUE;
  return FALSE;
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Image files below dir in name order, depth first; stops past limit. */
static void
list_folder (const char *dir, GPtrArray *files, guint limit, GCancellable *cancellable)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_paths);
  for (guint i = 0; i < names->len && files->len <= limit; i++)
    {
      g_autofree char *child = g_build_filename (dir, g_ptr_array_index (names, i), NULL);

      if (g_cancellable_is_cancelled (cancellable))
        return;
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (!g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            list_folder (child, files, limit, cancellable);
        }
      else if (is_image_name (child))
        g_ptr_array_add (files, g_steal_pointer (&child));
    }
}

/* A decoder's message without the path it starts with, as a sentence. */
static char *
reason_for (const char *path, const char *message)
{
  char *text;

  if (g_str_has_prefix (message, path) && g_str_has_prefix (message + strlen (path), ": "))
    message += strlen (path) + 2;
  text = g_strdup (message[0] != '\0' ? message : "Unknown error");
  text[0] = g_ascii_toupper (text[0]);
  return text;
}

static void
post (SlTryJob *job, SlTryResult *result)
{
  g_mutex_lock (&job->lock);
  g_ptr_array_add (job->pending, result);
  job->done++;
  g_mutex_unlock (&job->lock);
}

/* The heatmap over what the model saw: the anomaly map of an anomaly model (or a gated
 * classifier) on its threshold's scale, else Grad-CAM of the predicted class. NULL when it
 * cannot be drawn (the result then simply has no heatmap). */
GdkTexture *
_sl_export_page_heatmap_texture (sl_classifier *classifier, const sl_image *img, const float *map,
                                 gboolean anomaly_map, float threshold, int box)
{
  int32_t width, height, channels;
  sl_image pre = { 0 }, over = { 0 };
  sl_error err = { 0 };
  float lo = 0, hi = 1;
  GdkTexture *texture = NULL;

  sl_classifier_input_size (classifier, &width, &height, &channels);
  if (anomaly_map)
    sl_anomaly_map_range (threshold, map, (size_t) width * height, &lo, &hi);
  if (sl_classifier_preprocess (classifier, img, &pre, &err) == SL_OK
      && sl_heatmap_overlay (&pre, map, lo, hi, 0.6f, &over, &err) == SL_OK)
    texture = sl_thumbnail_texture_new (&over, box);
  sl_image_clear (&pre);
  sl_image_clear (&over);
  return texture;
}

/* One image, decoded once for the thumbnail, the prediction and its heatmap. */
static SlTryResult *
predict_with_file (SlTryJob *job, sl_classifier *classifier, const char *path, float *probs,
                   float *map)
{
  sl_image img = { 0 };
  sl_error err = { 0 };
  sl_prediction top[2];
  sl_prediction_maps maps;
  g_autoptr (GdkTexture) thumbnail = NULL;
  g_autoptr (GdkTexture) overlay = NULL;
  /* An anomaly model shows where the anomaly is; a classifier (gated or not) what drove its
   * class (Grad-CAM). */
  gboolean anomaly_map = sl_classifier_kind (classifier) == SL_SLMODEL_ANOMALY;
  gboolean gated = !anomaly_map && sl_classifier_anomaly (classifier) != NULL;
  SlTryResult *result;
  int n;

  if (sl_image_load (path, 0, &img, &err) != SL_OK)
    {
      g_autofree char *reason = reason_for (path, err.message);
      return sl_try_result_new_failure (path, reason);
    }
  thumbnail = sl_thumbnail_texture_new (&img, job->thumb_box);
  sl_prediction_init (&top[0]);
  sl_prediction_maps_init (&maps);
  if (job->heatmaps && anomaly_map)
    maps.anomaly_map = map;
  else if (job->heatmaps)
    maps.class_heatmap = map;
  if (sl_classifier_predict_image_maps (classifier, &img, &top[0], probs, &maps, &err) != SL_OK)
    {
      g_autofree char *reason = reason_for (path, err.message);
      sl_image_clear (&img);
      return sl_try_result_new_failure (path, reason);
    }
  if (job->heatmaps)
    overlay = _sl_export_page_heatmap_texture (classifier, &img, map, anomaly_map,
                                               top[0].anomaly_threshold, job->thumb_box);
  sl_image_clear (&img);
  if (sl_classifier_kind (classifier) == SL_SLMODEL_ANOMALY)
    result = sl_try_result_new_anomaly (path, thumbnail, top[0].anomaly_score,
                                        top[0].anomaly_threshold, top[0].anomalous != 0);
  else
    {
      gboolean rejected = top[0].rejected != 0;
      sl_prediction best = top[0];

      sl_prediction_init (&top[0]);
      sl_prediction_init (&top[1]);
      n = sl_classifier_top_k (classifier, probs, 2, top);
      result = sl_try_result_new_prediction (path, thumbnail, top[0].label, top[0].confidence,
                                             rejected, n > 1 ? top[1].label : NULL,
                                             n > 1 ? top[1].confidence : 0);
      if (gated) /* the gate's verdict */
        sl_try_result_set_anomaly (result, best.anomaly_score, best.anomaly_threshold,
                                   best.anomalous != 0);
    }
  sl_try_result_set_overlay (result, overlay);
  return result;
}

/* The exported file, or the run's weights as the project predicts, rejecting below the
 * threshold chosen on the page. Worker thread. */
sl_classifier *
_sl_export_page_open_classifier (const char *slmodel, const char *project_path, gint64 run_id,
                                 SlCheckpointKind checkpoint, double threshold, GError **error)
{
  g_autoptr (SlProject) db = NULL;
  sl_classifier *classifier = NULL;
  sl_error err = { 0 };

  if (slmodel != NULL)
    {
      sl_classifier_options options;

      sl_classifier_options_init (&options);
      if (sl_classifier_open (slmodel, &options, &classifier, &err) != SL_OK)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
          return NULL;
        }
      return classifier;
    }
  if ((db = sl_project_open_worker (project_path, error)) == NULL
      || (classifier = sl_project_open_classifier (db, run_id, checkpoint, 0, NULL, error)) == NULL)
    return NULL;
  /* An anomaly model judges by its anomaly threshold (the project's choice, applied when it
   * opened); the reject threshold is a classifier's. */
  if (sl_classifier_kind (classifier) != SL_SLMODEL_ANOMALY
      && sl_classifier_set_reject_threshold (classifier, (float) threshold, &err) != SL_OK)
    {
      sl_classifier_free (classifier);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s", err.message);
      return NULL;
    }
  return classifier;
}

static void
try_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SlTryJob *job = data;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autofree float *probs = NULL;
  g_autofree float *map = NULL;
  sl_classifier *classifier = NULL;
  GError *error = NULL;

  for (char **p = job->inputs; *p != NULL && files->len <= TRY_MAX_IMAGES; p++)
    if (g_file_test (*p, G_FILE_TEST_IS_DIR))
      list_folder (*p, files, TRY_MAX_IMAGES, cancellable);
    else
      g_ptr_array_add (files, g_strdup (*p)); /* chosen by hand: tried whatever its name */
  g_mutex_lock (&job->lock);
  job->capped = files->len > TRY_MAX_IMAGES;
  job->total = MIN (files->len, TRY_MAX_IMAGES);
  g_mutex_unlock (&job->lock);

  classifier = _sl_export_page_open_classifier (job->slmodel, job->project_path, job->run_id,
                                                job->checkpoint, job->threshold, &error);
  if (classifier == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  probs = g_new (float, sl_classifier_class_count (classifier));
  {
    int32_t width, height, channels;

    sl_classifier_input_size (classifier, &width, &height, &channels);
    map = g_new (float, (gsize) width *height);
  }

  for (guint i = 0; i < files->len && i < TRY_MAX_IMAGES; i++)
    {
      const char *path = g_ptr_array_index (files, i);

      if (g_cancellable_is_cancelled (cancellable))
        break;
      post (job, predict_with_file (job, classifier, path, probs, map));
    }
  sl_classifier_free (classifier);
  g_task_return_boolean (task, TRUE);
}

/* ---- Running a try -------------------------------------------------------------------------- */

/* Whether the try uses the exported file: only for the run it came from. */
const char *
_sl_export_page_exported_model (SlExportPage *self)
{
  if (self->has_result && self->exported_run_id == self->run_id)
    return self->result.slmodel_path;
  return NULL;
}

void
_sl_export_page_update_try_source (SlExportPage *self)
{
  const char *slmodel = _sl_export_page_exported_model (self);
  g_autofree char *text = NULL;

  if (self->run_id < 0)
    text = g_strdup ("");
  else if (slmodel != NULL)
    {
      g_autofree char *base = g_path_get_basename (slmodel);
      text = g_strdup_printf ("Predicts with the exported file %s, exactly as the line will run "
                              "it.",
                              base);
    }
  else
    text = g_strdup_printf ("Predicts with run-%" G_GINT64_FORMAT "’s weights. Export a "
                            ".slmodel to try the very file the line will run.",
                            self->run_id);
  gtk_label_set_text (self->try_source, text);
}

static void
append_count (GString *text, gint64 n, const char *what)
{
  g_string_append_printf (text, "%s%'" G_GINT64_FORMAT " %s", text->len > 0 ? ", " : "", n, what);
}

typedef struct
{
  const char *label;
  gint64 n;
} LabelCount;

static int
compare_counts (gconstpointer a, gconstpointer b)
{
  const LabelCount *x = a, *y = b;

  if (x->n != y->n)
    return x->n > y->n ? -1 : 1;
  return g_strcmp0 (x->label, y->label);
}

/* "48 images: 30 Shirt, 15 T-shirt, 3 unknown, 1 could not be read" */
static char *
summarize (SlExportPage *self)
{
  GListModel *model = G_LIST_MODEL (self->results);
  guint n = g_list_model_get_n_items (model);
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GArray) sorted = g_array_new (FALSE, FALSE, sizeof (LabelCount));
  g_autoptr (GString) parts = g_string_new (NULL);
  gint64 unknown = 0, failed = 0;
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlTryResult) r = g_list_model_get_item (model, i);
      const char *label = sl_try_result_get_label (r);

      if (label == NULL)
        failed++;
      else if (sl_try_result_get_rejected (r))
        unknown++;
      else
        g_hash_table_insert (
            counts, (gpointer) label,
            GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (counts, label)) + 1));
    }
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      LabelCount c = { key, GPOINTER_TO_INT (value) };
      g_array_append_val (sorted, c);
    }
  g_array_sort (sorted, compare_counts);
  for (guint i = 0; i < sorted->len; i++)
    {
      const LabelCount *c = &g_array_index (sorted, LabelCount, i);
      append_count (parts, c->n, c->label);
    }
  if (unknown > 0)
    append_count (parts, unknown, "unknown");
  if (failed > 0)
    append_count (parts, failed, "could not be read");
  return g_strdup_printf ("%'u image%s%s%s", n, n == 1 ? "" : "s", parts->len > 0 ? ": " : "",
                          parts->str);
}

/* Moves what the worker found so far into the list, in one splice. */
static void
flush_results (SlExportPage *self)
{
  SlTryJob *job = self->try_job;
  g_autoptr (GPtrArray) batch = NULL;
  gint64 done, total;

  g_mutex_lock (&job->lock);
  batch = job->pending;
  job->pending = g_ptr_array_new_with_free_func (g_object_unref);
  done = job->done;
  total = job->total;
  g_mutex_unlock (&job->lock);

  if (batch->len > 0)
    {
      g_list_store_splice (self->results, g_list_model_get_n_items (G_LIST_MODEL (self->results)),
                           0, batch->pdata, batch->len);
      gtk_stack_set_visible_child_name (self->try_stack, "results");
    }
  if (total < 0)
    gtk_label_set_text (self->try_progress, "Looking for images…");
  else
    {
      g_autofree char *text
          = g_strdup_printf ("Predicting %'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT " images…",
                             MIN (done + 1, total), total);
      gtk_label_set_text (self->try_progress, text);
    }
}

static gboolean
flush_timeout (gpointer data)
{
  flush_results (data);
  return G_SOURCE_CONTINUE;
}

static void
set_trying (SlExportPage *self, gboolean trying)
{
  gtk_widget_set_visible (self->try_spinner, trying);
  gtk_spinner_set_spinning (GTK_SPINNER (self->try_spinner), trying);
  gtk_widget_set_visible (self->cancel_try_button, trying);
  if (!trying)
    gtk_label_set_text (self->try_progress, "");
  _sl_export_page_update_actions (self);
}

static void
try_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlExportPage *self = SL_EXPORT_PAGE (source);
  SlTryJob *job = data;
  g_autoptr (GError) error = NULL;
  gboolean cancelled = g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result)));
  g_autoptr (GString) note = g_string_new (NULL);
  gint64 total;

  if (self->try_job != job)
    return; /* the page went away */
  flush_results (self);
  g_task_propagate_boolean (G_TASK (result), &error);
  g_clear_handle_id (&self->try_timer, g_source_remove);
  self->try_job = NULL;
  g_clear_object (&self->try_cancellable);

  g_free (self->try_summary_text);
  self->try_summary_text = summarize (self);
  gtk_label_set_text (self->try_summary, self->try_summary_text);
  gtk_widget_set_visible (GTK_WIDGET (self->try_summary), error == NULL || cancelled);
  total = job->total;
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_string_append_printf (note, "The model could not be loaded: %s", error->message);
  else if (cancelled)
    g_string_append_printf (note, "Stopped after %'" G_GINT64_FORMAT " image%s.", job->done,
                            job->done == 1 ? "" : "s");
  else if (total == 0)
    g_string_append (note, "No image files there (PNG, JPEG, BMP, TIFF, PGM or PPM).");
  if (job->capped)
    g_string_append_printf (note, "%sOnly the first %'d images were tried.",
                            note->len > 0 ? " " : "", TRY_MAX_IMAGES);
  gtk_label_set_text (self->try_note, note->str);
  gtk_widget_set_visible (GTK_WIDGET (self->try_note), note->len > 0);
  set_trying (self, FALSE);
}

void
sl_export_page_try_files (SlExportPage *self, GFile **files, guint n_files)
{
  g_autoptr (GTask) task = NULL;
  GStrvBuilder *inputs;
  SlTryJob *job;

  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  g_return_if_fail (n_files > 0);
  g_return_if_fail (self->try_job == NULL);
  g_return_if_fail (self->run_id >= 0);

  job = g_new0 (SlTryJob, 1);
  inputs = g_strv_builder_new ();
  for (guint i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (path != NULL)
        g_strv_builder_add (inputs, path);
    }
  job->inputs = g_strv_builder_end (inputs);
  g_strv_builder_unref (inputs);
  job->slmodel = g_strdup (_sl_export_page_exported_model (self));
  job->project_path = g_strdup (sl_session_get_path (self->session));
  job->run_id = self->run_id;
  job->checkpoint = sl_export_page_get_checkpoint (self);
  job->threshold = sl_export_page_get_reject_threshold (self);
  job->thumb_box = SL_EXPORT_TRY_THUMB_SIZE * gtk_widget_get_scale_factor (GTK_WIDGET (self));
  job->heatmaps = sl_export_page_get_show_heatmap (self);
  job->pending = g_ptr_array_new_with_free_func (g_object_unref);
  job->total = -1;
  g_mutex_init (&job->lock);

  g_list_store_remove_all (self->results);
  gtk_stack_set_visible_child_name (self->try_stack, "placeholder");
  gtk_widget_set_visible (GTK_WIDGET (self->try_summary), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->try_note), FALSE);
  g_clear_pointer (&self->try_summary_text, g_free);
  self->try_job = job;
  self->try_cancellable = g_cancellable_new ();
  self->try_timer = g_timeout_add (TRY_FLUSH_MS, flush_timeout, self);
  set_trying (self, TRUE);
  flush_results (self);

  task = g_task_new (self, self->try_cancellable, try_done, job);
  g_task_set_source_tag (task, sl_export_page_try_files);
  g_task_set_task_data (task, job, (GDestroyNotify) try_job_free);
  g_task_run_in_thread (task, try_thread);
}

void
_sl_export_page_cancel_try (SlExportPage *self)
{
  g_cancellable_cancel (self->try_cancellable);
  g_clear_object (&self->try_cancellable);
  g_clear_handle_id (&self->try_timer, g_source_remove);
  self->try_job = NULL;
}

/* ---- Actions -------------------------------------------------------------------------------- */

static void
on_try_chosen (GtkNativeDialog *chooser, int response, SlExportPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        g_ptr_array_add (list, g_list_model_get_item (files, i));
      if (list->len > 0 && self->try_job == NULL && self->run_id >= 0)
        sl_export_page_try_files (self, (GFile **) list->pdata, list->len);
    }
  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
  _sl_export_page_update_actions (self);
}

static void
show_try_chooser (SlExportPage *self, GtkFileChooserAction action, const char *title)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (
      title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, action, "_Try", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (action == GTK_FILE_CHOOSER_ACTION_OPEN)
    {
      GtkFileFilter *filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, "Images");
      gtk_file_filter_add_mime_type (filter, "image/*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
      g_object_unref (filter);
      gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
    }
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_try_chosen), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
  _sl_export_page_update_actions (self);
}

static void
try_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  show_try_chooser (SL_EXPORT_PAGE (widget), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                    "Try a Folder of Images");
}

static void
try_files_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  show_try_chooser (SL_EXPORT_PAGE (widget), GTK_FILE_CHOOSER_ACTION_OPEN, "Try Images");
}

static void
cancel_try_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlExportPage *self = SL_EXPORT_PAGE (widget);

  g_cancellable_cancel (self->try_cancellable);
  gtk_label_set_text (self->try_progress, "Stopping…");
}

void
_sl_export_page_install_try_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "export.try", NULL, try_action);
  gtk_widget_class_install_action (widget_class, "export.try-files", NULL, try_files_action);
  gtk_widget_class_install_action (widget_class, "export.cancel-try", NULL, cancel_try_action);
}

/* ---- Accessors ------------------------------------------------------------------------------ */

gboolean
sl_export_page_is_trying (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), FALSE);
  return self->try_job != NULL;
}

GListModel *
sl_export_page_get_try_results (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return G_LIST_MODEL (self->results);
}

const char *
sl_export_page_get_try_summary (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->try_summary_text;
}
