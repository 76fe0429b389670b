/* sl-export-page.c: the Export page: a trained run written for the line (.slmodel, ONNX), and tried on new images.
 *
 * This file holds the page, its options and the description of the chosen
 * run (read on a worker thread); sl-export-page-export.c runs the export and
 * shows its summary, sl-export-page-try.c predicts new images. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-report-dialog.h"
#include "sl-export-page-private.h"

#include <math.h>
#include <string.h>

#include "sl-anomaly.h"
#include "sl-model-words.h"

G_DEFINE_FINAL_TYPE (SlExportPage, sl_export_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
_sl_export_run_details_free (SlExportRunDetails *details)
{
  if (details == NULL)
    return;
  g_clear_pointer (&details->run, sl_run_info_free);
  g_clear_pointer (&details->colors, g_hash_table_unref);
  g_free (details);
}

char *
_sl_export_page_display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);
  g_autofree char *display = g_filename_display_name (path);

  if (n > 1 && g_str_has_prefix (path, home) && path[n] == G_DIR_SEPARATOR)
    {
      g_autofree char *rest = g_filename_display_name (path + n);
      return g_strconcat ("~", rest, NULL);
    }
  return g_steal_pointer (&display);
}

void
_sl_export_page_report (SlExportPage *self, const char *title, const GError *error)
{
  g_autofree char *text = g_strdup_printf ("%s: %s", title, error->message);

  gtk_label_set_text (self->export_error, text);
  gtk_widget_set_visible (GTK_WIDGET (self->export_error), TRUE);
  gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)", title, error->message);
}

/* ---- Options --------------------------------------------------------------------------- */

/* Why a file name cannot be used, or NULL. */
static const char *
name_problem (const char *name)
{
  if (name == NULL || name[0] == '\0')
    return "Give the file a name.";
  if (strchr (name, '/') != NULL || strchr (name, '\\') != NULL)
    return "A file name cannot contain “/” or “\\”.";
  if (name[0] == '.')
    return "A file name that starts with “.” would be hidden.";
  if (strlen (name) > 200)
    return "This name is too long.";
  return NULL;
}

/* "<project>-<run>" with the characters sl_project_export_run would keep. */
static char *
default_name (SlExportPage *self)
{
  const char *project = sl_session_get_name (self->session);
  GString *s = g_string_new (NULL);

  if (project == NULL || project[0] == '\0')
    project = "model";
  for (const char *p = project; *p != '\0'; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '-');
  g_string_append_printf (s, "-run-%" G_GINT64_FORMAT, self->run_id);
  return g_string_free (s, FALSE);
}

static void
update_name_hint (SlExportPage *self)
{
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
  const char *problem = name_problem (name);
  SlExportFormats formats = sl_export_page_get_formats (self);
  g_autofree char *text = NULL;

  if (problem != NULL)
    text = g_strdup (problem);
  else if (formats == (SL_EXPORT_SLMODEL | SL_EXPORT_ONNX))
    text = g_strdup_printf ("Writes %s.slmodel, %s.onnx and %s.json", name, name, name);
  else if (formats == SL_EXPORT_ONNX)
    text = g_strdup_printf ("Writes %s.onnx and %s.json", name, name);
  else
    text = g_strdup_printf ("Writes %s.slmodel", name);
  gtk_label_set_text (self->name_hint, text);
  if (problem != NULL)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->name_hint), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (self->name_hint), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->name_entry), "error");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->name_hint), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->name_entry), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->name_hint), "dim-label");
    }
}

static void
on_options_changed (SlExportPage *self)
{
  gtk_widget_set_visible (self->format_error, sl_export_page_get_formats (self) == 0);
  update_name_hint (self);
  _sl_export_page_update_actions (self);
}

static void
update_threshold_hint (SlExportPage *self)
{
  int percent = (int) lround (gtk_spin_button_get_value (self->threshold_spin));
  g_autofree char *text = NULL;

  if (percent <= 0)
    text = g_strdup ("Off: every image gets the most likely class, however unsure.");
  else
    text = g_strdup_printf ("Images the model is less than %d %% sure of are reported as "
                            "“unknown”, for a person to check.",
                            percent);
  gtk_label_set_text (self->threshold_hint, text);
}

/* The Evaluate page stores the threshold it recommends; a new value replaces ours
 * (followed on "setting-changed", and on map for another process's). */
static void
apply_threshold_setting (SlExportPage *self)
{
  double threshold = 0;
  g_autofree char *value = sl_session_get_reject_threshold (self->session, &threshold)
                               ? g_strdup_printf ("%.2f", threshold)
                               : NULL;

  if (g_strcmp0 (value, self->threshold_setting) == 0)
    return;
  g_free (self->threshold_setting);
  self->threshold_setting = g_strdup (value);
  sl_export_page_set_reject_threshold (self, threshold);
}

static char *
initial_folder (SlExportPage *self)
{
  g_autofree char *stored = sl_session_dup_export_folder (self->session);
  const char *documents = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
  const char *name = sl_session_get_name (self->session);
  g_autofree char *leaf = g_strdup_printf ("%s models", name != NULL ? name : "Sightline");

  if (stored != NULL && stored[0] == '/')
    return g_steal_pointer (&stored);
  g_strdelimit (leaf, "/\\", '-');
  if (documents != NULL && g_strcmp0 (documents, g_get_home_dir ()) != 0)
    return g_build_filename (documents, leaf, NULL);
  return g_build_filename (g_get_home_dir (), leaf, NULL);
}

/* ---- The chosen run -------------------------------------------------------------------- */

typedef struct
{
  char *project_path;
  gint64 run_id;
} DetailsRequest;

static void
details_request_free (DetailsRequest *r)
{
  g_free (r->project_path);
  g_free (r);
}

static void
details_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DetailsRequest *r = data;
  GError *error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (r->project_path, &error);
  g_autoptr (GPtrArray) classes = NULL;
  SlExportRunDetails *d;
  char id[32];
  gint64 eval_id;

  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  d = g_new0 (SlExportRunDetails, 1);
  g_snprintf (id, sizeof id, "%" G_GINT64_FORMAT, r->run_id);
  if ((d->run = sl_project_get_run (db, id, &error)) == NULL)
    {
      _sl_export_run_details_free (d);
      g_task_return_error (task, error);
      return;
    }
  eval_id = sl_project_find_evaluation (db, r->run_id, SL_SPLIT_TEST, NULL);
  if (eval_id >= 0)
    {
      g_autoptr (SlEvaluation) e = sl_project_get_evaluation (db, eval_id, 0, NULL);

      if (e != NULL)
        {
          d->evaluated = TRUE;
          d->test_accuracy = e->accuracy;
          d->test_images = e->images;
          d->test_checkpoint = e->checkpoint;
        }
    }
  d->anomaly = sl_run_info_is_anomaly (d->run);
  d->colors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  classes = sl_project_list_classes (db, NULL);
  for (guint i = 0; classes != NULL && i < classes->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (classes, i);
      g_hash_table_replace (d->colors, g_strdup (klass->name), g_strdup (klass->color));
    }
  g_task_return_pointer (task, d, (GDestroyNotify) _sl_export_run_details_free);
}

/* An anomaly run exports a score and a decision: no reject threshold, no epochs to choose
 * from, no gate (it is one); Try It shows its heatmap. */
static void
show_run_kind (SlExportPage *self)
{
  gboolean anomaly = self->details != NULL && self->details->anomaly;

  gtk_widget_set_visible (self->threshold_title, !anomaly);
  gtk_widget_set_visible (self->threshold_box, !anomaly);
  gtk_widget_set_visible (self->checkpoint_title, !anomaly);
  gtk_widget_set_visible (GTK_WIDGET (self->checkpoint_drop), !anomaly);
  gtk_widget_set_visible (self->gate_title, !anomaly);
  gtk_widget_set_visible (self->gate_box, !anomaly);
  if (anomaly)
    gtk_check_button_set_active (self->gate_check, FALSE);
  _sl_export_page_show_result_kind (self, anomaly);
}

static void
describe_anomaly_run (SlExportPage *self)
{
  const SlRunInfo *run = self->details->run;
  g_autofree char *model = sl_model_words_describe_run (run, TRUE);
  g_autofree char *text = g_strdup_printf (
      "%s, fitted on %" G_GINT64_FORMAT " good images%s. It scores each part and calls it "
      "anomalous above its threshold; the Evaluate page shows its false-reject and escape "
      "rates.",
      model, run->train_images, run->status == SL_RUN_RUNNING ? " (still fitting)" : "");

  gtk_label_set_text (self->run_description, text);
}

static void
describe_run (SlExportPage *self)
{
  const SlExportRunDetails *d = self->details;
  const SlRunInfo *run = d->run;
  GString *text;
  g_autofree char *model = NULL;

  if (d->anomaly)
    {
      describe_anomaly_run (self);
      return;
    }
  text = g_string_new (NULL);
  model = sl_model_words_describe_run (run, TRUE);

  /* The sentence starts with it: "custom model" gets its capital. */
  if (run->preset == NULL && run->backbone == NULL)
    g_string_append (text, "Custom model");
  else
    g_string_append (text, model);
  g_string_append_printf (text, ", %d of %d epoch%s trained", run->epochs_done, run->epochs,
                          run->epochs == 1 ? "" : "s");
  if (run->status == SL_RUN_RUNNING)
    g_string_append (text, " (still training)");
  g_string_append (text, ".");
  if (run->best_epoch >= 0 && isfinite (run->best_val_accuracy))
    g_string_append_printf (text, " Best epoch %d, the %s: validation accuracy %.1f %%.",
                            run->best_epoch + 1, sl_run_best_criterion (run),
                            100.0 * run->best_val_accuracy);
  if (d->evaluated)
    g_string_append_printf (text,
                            " Test accuracy %.1f %% on %" G_GINT64_FORMAT " images it never saw.",
                            100.0 * d->test_accuracy, d->test_images);
  else
    g_string_append (text, " Not tested yet: the Evaluate page shows how it does on images it "
                           "never saw.");
  gtk_label_set_text (self->run_description, text->str);
  g_string_free (text, TRUE);
}

static void
update_checkpoint_labels (SlExportPage *self)
{
  const SlRunInfo *run = self->details != NULL ? self->details->run : NULL;
  g_autofree char *best = NULL, *last = NULL;
  const char *labels[3];

  if (run != NULL && run->best_epoch >= 0)
    {
      best = g_strdup_printf ("Best epoch (%d, %s)", run->best_epoch + 1,
                              sl_run_best_criterion (run));
      last = g_strdup_printf ("Last epoch (%d)", run->epochs_done);
    }
  labels[0] = best != NULL ? best : "Best epoch";
  labels[1] = last != NULL ? last : "Last epoch";
  labels[2] = NULL;
  if (g_strcmp0 (gtk_string_list_get_string (self->checkpoints, 0), labels[0]) == 0
      && g_strcmp0 (gtk_string_list_get_string (self->checkpoints, 1), labels[1]) == 0)
    return;
  {
    guint selected = gtk_drop_down_get_selected (self->checkpoint_drop);

    gtk_string_list_splice (self->checkpoints, 0, 2, labels);
    gtk_drop_down_set_selected (self->checkpoint_drop, selected);
  }
}

static void
details_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  SlExportRunDetails *d = g_task_propagate_pointer (G_TASK (result), &error);
  SlExportPage *self;

  if (d == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = SL_EXPORT_PAGE (source);
  if (g_task_get_cancellable (G_TASK (result)) != self->details_cancellable)
    {
      _sl_export_run_details_free (d); /* an older request */
      return;
    }
  if (d == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Could not read this run: %s", error->message);
      gtk_label_set_text (self->run_description, text);
      return;
    }
  _sl_export_run_details_free (self->details);
  self->details = d;
  show_run_kind (self);
  describe_run (self);
  update_checkpoint_labels (self);
  _sl_export_page_update_try_source (self);
}

static void
request_details (SlExportPage *self)
{
  g_autoptr (GTask) task = NULL;
  DetailsRequest *r;

  g_cancellable_cancel (self->details_cancellable);
  g_clear_object (&self->details_cancellable);
  if (self->run_id < 0)
    return;
  self->details_cancellable = g_cancellable_new ();
  r = g_new0 (DetailsRequest, 1);
  r->project_path = g_strdup (sl_session_get_path (self->session));
  r->run_id = self->run_id;
  task = g_task_new (self, self->details_cancellable, details_done, NULL);
  g_task_set_source_tag (task, request_details);
  g_task_set_task_data (task, r, (GDestroyNotify) details_request_free);
  g_task_run_in_thread (task, details_thread);
}

static void
on_run_changed (SlExportPage *self)
{
  gint64 run_id = sl_run_chooser_get_run_id (self->run_chooser);
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));

  gtk_stack_set_visible_child_name (self->stack, run_id >= 0 ? "main" : "empty");
  if (run_id == self->run_id)
    return;
  self->run_id = run_id;
  g_clear_pointer (&self->details, _sl_export_run_details_free);
  gtk_label_set_text (self->run_description, "");
  /* A name the user typed stays; the proposed one follows the run. */
  if (self->default_name == NULL || g_strcmp0 (name, self->default_name) == 0)
    {
      g_free (self->default_name);
      self->default_name = run_id >= 0 ? default_name (self) : NULL;
      gtk_editable_set_text (GTK_EDITABLE (self->name_entry),
                             self->default_name != NULL ? self->default_name : "");
    }
  update_checkpoint_labels (self);
  request_details (self);
  _sl_export_page_update_try_source (self);
  _sl_export_page_update_actions (self);
}

/* A run trained further, was evaluated or went away. */
static void
on_runs_changed (SlExportPage *self)
{
  on_run_changed (self);
  request_details (self);
}

/* ---- Actions --------------------------------------------------------------------------- */

/* The one place that decides which actions can run. */
void
_sl_export_page_update_actions (SlExportPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has_run = self->run_id >= 0;
  gboolean name_ok = name_problem (gtk_editable_get_text (GTK_EDITABLE (self->name_entry))) == NULL;
  gboolean trying = self->try_job != NULL;

  gtk_widget_action_set_enabled (widget, "export.run",
                                 has_run && !self->exporting && name_ok && self->folder != NULL
                                     && sl_export_page_get_formats (self) != 0);
  gtk_widget_action_set_enabled (widget, "export.choose-folder",
                                 !self->exporting && self->chooser == NULL);
  gtk_widget_action_set_enabled (widget, "export.try", has_run && !trying && self->chooser == NULL);
  gtk_widget_action_set_enabled (widget, "export.try-files",
                                 has_run && !trying && self->chooser == NULL);
  gtk_widget_action_set_enabled (widget, "export.cancel-try", trying);
  gtk_widget_action_set_enabled (widget, "export.open-folder", self->has_result);
  gtk_widget_action_set_enabled (widget, "export.copy-path", self->has_result);
  gtk_widget_set_sensitive (self->options_box, !self->exporting);
}

/* ---- Accessors ------------------------------------------------------------------------- */

GtkWidget *
sl_export_page_new (SlSession *session)
{
  g_return_val_if_fail (SL_IS_SESSION (session), NULL);
  return g_object_new (SL_TYPE_EXPORT_PAGE, "session", session, NULL);
}

SlSession *
sl_export_page_get_session (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->session;
}

SlRunChooser *
sl_export_page_get_run_chooser (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->run_chooser;
}

const char *
sl_export_page_get_folder (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->folder;
}

void
sl_export_page_set_folder (SlExportPage *self, const char *folder)
{
  g_autofree char *display = NULL;

  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  g_return_if_fail (folder != NULL);

  g_free (self->folder);
  self->folder = g_strdup (folder);
  display = _sl_export_page_display_path (folder);
  gtk_label_set_text (self->folder_label, display);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->folder_label), display);
  _sl_export_page_update_actions (self);
}

SlExportFormats
sl_export_page_get_formats (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), 0);
  return (gtk_check_button_get_active (self->slmodel_check) ? SL_EXPORT_SLMODEL : 0)
         | (gtk_check_button_get_active (self->onnx_check) ? SL_EXPORT_ONNX : 0);
}

void
sl_export_page_set_formats (SlExportPage *self, SlExportFormats formats)
{
  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  gtk_check_button_set_active (self->slmodel_check, (formats & SL_EXPORT_SLMODEL) != 0);
  gtk_check_button_set_active (self->onnx_check, (formats & SL_EXPORT_ONNX) != 0);
}

SlCheckpointKind
sl_export_page_get_checkpoint (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), SL_CHECKPOINT_BEST);
  return gtk_drop_down_get_selected (self->checkpoint_drop) == 1 ? SL_CHECKPOINT_LAST
                                                                 : SL_CHECKPOINT_BEST;
}

void
sl_export_page_set_checkpoint (SlExportPage *self, SlCheckpointKind checkpoint)
{
  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  gtk_drop_down_set_selected (self->checkpoint_drop, checkpoint == SL_CHECKPOINT_LAST ? 1 : 0);
}

double
sl_export_page_get_reject_threshold (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), 0);
  return gtk_spin_button_get_value (self->threshold_spin) / 100.0;
}

void
sl_export_page_set_reject_threshold (SlExportPage *self, double threshold)
{
  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  gtk_spin_button_set_value (self->threshold_spin, CLAMP (threshold, 0, 0.99) * 100.0);
}

gboolean
sl_export_page_get_anomaly_gate (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), FALSE);
  return gtk_widget_get_visible (self->gate_box) && gtk_check_button_get_active (self->gate_check);
}

void
sl_export_page_set_anomaly_gate (SlExportPage *self, gboolean gate)
{
  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  gtk_check_button_set_active (self->gate_check, gate);
}

const char *
sl_export_page_get_file_name (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
}

void
sl_export_page_set_file_name (SlExportPage *self, const char *name)
{
  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->name_entry), name != NULL ? name : "");
}

gboolean
sl_export_page_is_exporting (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), FALSE);
  return self->exporting;
}

GtkWindow *
sl_export_page_get_replace_dialog (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->replace_dialog;
}

const SlExportResult *
sl_export_page_get_result (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->has_result ? &self->result : NULL;
}

const GError *
sl_export_page_get_error (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->error;
}

/* ---- GObject --------------------------------------------------------------------------- */

static void
sl_export_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (sl_export_page_parent_class)->map (widget);
  apply_threshold_setting (SL_EXPORT_PAGE (widget));
}

static void
sl_export_page_constructed (GObject *object)
{
  SlExportPage *self = SL_EXPORT_PAGE (object);
  g_autofree char *folder = NULL;

  G_OBJECT_CLASS (sl_export_page_parent_class)->constructed (object);
  g_return_if_fail (self->session != NULL);

  self->run_chooser = SL_RUN_CHOOSER (sl_run_chooser_new (self->session));
  gtk_widget_set_hexpand (GTK_WIDGET (self->run_chooser), TRUE);
  gtk_box_append (GTK_BOX (self->run_box), GTK_WIDGET (self->run_chooser));
  /* The run's qualification report, beside Export: sign-off comes before the line. */
  gtk_box_append (GTK_BOX (self->report_box),
                  sl_report_button_new (self->session, self->run_chooser, NULL));
  g_signal_connect_swapped (self->run_chooser, "notify::run-id", G_CALLBACK (on_run_changed), self);
  g_signal_connect_object (self->session, "runs-changed", G_CALLBACK (on_runs_changed), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->session, "setting-changed::reject-threshold",
                           G_CALLBACK (apply_threshold_setting), self, G_CONNECT_SWAPPED);

  folder = initial_folder (self);
  sl_export_page_set_folder (self, folder);
  apply_threshold_setting (self);
  update_threshold_hint (self);
  on_run_changed (self);
  on_options_changed (self);
}

static void
sl_export_page_dispose (GObject *object)
{
  SlExportPage *self = SL_EXPORT_PAGE (object);

  g_cancellable_cancel (self->details_cancellable);
  g_clear_object (&self->details_cancellable);
  _sl_export_page_cancel_export (self);
  _sl_export_page_cancel_try (self);
  _sl_export_page_dispose_preview (self);
  g_clear_object (&self->selection);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_EXPORT_PAGE);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_export_page_parent_class)->dispose (object);
}

static void
sl_export_page_finalize (GObject *object)
{
  SlExportPage *self = SL_EXPORT_PAGE (object);

  _sl_export_run_details_free (self->details);
  sl_export_result_clear (&self->result);
  g_clear_error (&self->error);
  g_clear_object (&self->results);
  g_free (self->folder);
  g_free (self->default_name);
  g_free (self->threshold_setting);
  g_free (self->try_summary_text);
  G_OBJECT_CLASS (sl_export_page_parent_class)->finalize (object);
}

static void
sl_export_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlExportPage *self = SL_EXPORT_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_export_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SlExportPage *self = SL_EXPORT_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_export_page_class_init (SlExportPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_export_page_constructed;
  object_class->dispose = sl_export_page_dispose;
  object_class->finalize = sl_export_page_finalize;
  object_class->get_property = sl_export_page_get_property;
  object_class->set_property = sl_export_page_set_property;
  widget_class->map = sl_export_page_map;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-export-page.ui");
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, stack);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, options_scroller);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, options_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, run_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, run_description);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, slmodel_check);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, onnx_check);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, format_error);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, checkpoint_drop);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, threshold_spin);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, threshold_title);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, threshold_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, checkpoint_title);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, gate_title);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, gate_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, gate_check);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, heatmap_check);
  gtk_widget_class_bind_template_callback (widget_class, _sl_export_page_refresh_results);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, threshold_hint);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, name_entry);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, name_hint);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, folder_label);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, export_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, export_status);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, export_error);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, summary_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, summary_title);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, summary_folder);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, files_list);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, facts_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, usage_label);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, try_source);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, try_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, try_progress);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, cancel_try_button);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, try_summary);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, try_note);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, try_stack);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, results_view);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, report_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, preview_box);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, preview_picture);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, preview_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, preview_title);
  gtk_widget_class_bind_template_child (widget_class, SlExportPage, preview_caption);
  gtk_widget_class_bind_template_callback (widget_class, on_options_changed);
  gtk_widget_class_bind_template_callback (widget_class, update_threshold_hint);

  _sl_export_page_install_export_actions (widget_class);
  _sl_export_page_install_try_actions (widget_class);
}

static void
sl_export_page_init (SlExportPage *self)
{
  const char *const checkpoints[] = { "Best epoch", "Last epoch", NULL };

  self->run_id = -1;
  self->exported_run_id = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->checkpoints = gtk_string_list_new (checkpoints);
  gtk_drop_down_set_model (self->checkpoint_drop, G_LIST_MODEL (self->checkpoints));
  g_object_unref (self->checkpoints); /* the drop-down holds it */
  _sl_export_page_init_results (self);
}
