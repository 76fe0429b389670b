/* sl-evaluate-page.c: the Evaluate page: choosing a run and split, reading and making evaluations off the main loop. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-report-dialog.h"
#include "sl-evaluate-page-private.h"

#include <math.h>

#include "sl-settings.h"

/* Thumbnails in the gallery fit this box (Fashion-MNIST's 28 px, four times). */
#define THUMBNAIL_SIZE 112
/* The progress bar is refreshed this often. */
#define PROGRESS_INTERVAL_MS 100
/* "3 minutes ago" is kept current this often. */
#define STATUS_INTERVAL_S 30

G_DEFINE_FINAL_TYPE (SlEvaluatePage, sl_evaluate_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Showing ------------------------------------------------------------------------------- */

const char *
sl_evaluate_page_get_view_state (SlEvaluatePage *self)
{
  g_return_val_if_fail (SL_IS_EVALUATE_PAGE (self), NULL);

  if (sl_run_chooser_get_n_runs (self->run_chooser) == 0)
    return "no-runs";
  if (self->error != NULL)
    return "error";
  if (self->data == NULL)
    return "loading";
  if (self->data->anomaly != NULL)
    return "anomaly-results";
  if (self->data->evaluation != NULL)
    return "results";
  if (self->data->split_images == 0 && self->job == NULL)
    return "no-images";
  return "not-evaluated";
}

static const char *
split_words (SlSplit split)
{
  return split == SL_SPLIT_VAL ? "validation" : "test";
}

static void
update_view (SlEvaluatePage *self)
{
  const char *state = sl_evaluate_page_get_view_state (self);
  const char *split = split_words (sl_evaluate_page_get_split (self));

  gtk_stack_set_visible_child_name (self->view_stack, state);
  /* Without a run there is nothing to choose. */
  gtk_widget_set_visible (self->top_bar, !g_str_equal (state, "no-runs"));
  gtk_spinner_set_spinning (self->loading_spinner, g_str_equal (state, "loading"));
  gtk_stack_set_visible_child_name (self->cta_stack, self->job != NULL ? "progress" : "button");
  gtk_label_set_text (self->cta_title, self->job != NULL ? "Evaluating…" : "Not Evaluated Yet");
  /* The first evaluation shows its progress in the middle of the page. */
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), g_str_equal (state, "results"));
  if (self->error != NULL)
    gtk_label_set_text (self->error_body, self->error);
  if (self->data != NULL && !_sl_eval_data_has_results (self->data))
    {
      g_autofree char *title = g_strdup_printf (
          "No %s Images",
          sl_evaluate_page_get_split (self) == SL_SPLIT_VAL ? "Validation" : "Test");
      g_autofree char *body = g_strdup_printf (
          "A model is judged on labelled images it never learned from. Share your images out "
          "among training, validation and test with Split… on the Dataset page, then come back.");
      g_autofree char *cta
          = self->data->anomaly_run
                ? g_strdup_printf (
                    "See how %s scores the %'" G_GINT64_FORMAT " %s image%s it never fitted "
                    "on: how well it tells defects from good parts, how many good parts its "
                    "threshold rejects and how many defects escape.%s",
                    self->data->run->name, self->data->split_images, split,
                    self->data->split_images == 1 ? "" : "s",
                    !self->data->other_split_evaluated ? ""
                    : sl_evaluate_page_get_split (self) == SL_SPLIT_TEST
                        ? " The validation images are scored already: choose Validation above "
                          "to see them."
                        : " The test images are scored already: choose Test above to see them.")
                : g_strdup_printf (
                    "See how %s does on the %'" G_GINT64_FORMAT " %s image%s it never trained "
                    "on: its accuracy, which classes it mixes up, and which labels may be "
                    "wrong.",
                    self->data->run->name, self->data->split_images, split,
                    self->data->split_images == 1 ? "" : "s");

      gtk_label_set_text (self->no_images_title, title);
      gtk_label_set_text (self->no_images_body, body);
      gtk_label_set_text (self->cta_body, cta);
    }
}

/* "3 minutes ago" for an ISO 8601 time. */
static char *
describe_age (const char *iso)
{
  g_autoptr (GDateTime) then = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) local = NULL;
  GTimeSpan age;
  gint64 n;

  if (then == NULL)
    return g_strdup ("some time ago");
  age = g_date_time_difference (now, then);
  if (age < 60 * G_TIME_SPAN_SECOND)
    return g_strdup ("just now");
  if (age < G_TIME_SPAN_HOUR)
    {
      n = age / G_TIME_SPAN_MINUTE;
      return g_strdup_printf ("%" G_GINT64_FORMAT " minute%s ago", n, n == 1 ? "" : "s");
    }
  if (age < G_TIME_SPAN_DAY)
    {
      n = age / G_TIME_SPAN_HOUR;
      return g_strdup_printf ("%" G_GINT64_FORMAT " hour%s ago", n, n == 1 ? "" : "s");
    }
  local = g_date_time_to_local (then);
  return g_date_time_format (local, "on %e %b %Y at %H:%M");
}

void
_sl_evaluate_page_update_status (SlEvaluatePage *self)
{
  g_autofree char *text = NULL;
  gboolean warn = FALSE;
  const char *split = split_words (sl_evaluate_page_get_split (self));

  if (self->job != NULL && self->data != NULL)
    text = g_strdup_printf ("Evaluating %s on %'" G_GINT64_FORMAT " %s images…",
                            self->data->run->name, self->data->split_images, split);
  else if (self->data == NULL || self->error != NULL)
    text = g_strdup ("");
  else if (!_sl_eval_data_has_results (self->data))
    text = self->data->split_images > 0 ? g_strdup_printf (
               "%s has not been evaluated on the %s images yet", self->data->run->name, split)
                                        : g_strdup ("");
  else if (self->out_of_date)
    {
      warn = TRUE;
      text = g_strdup ("Labels changed since this evaluation — evaluate again to update");
    }
  else
    {
      g_autofree char *age = describe_age (_sl_eval_data_created (self->data));
      gint64 images = _sl_eval_data_result_images (self->data);

      text = g_strdup_printf ("Evaluated on %'" G_GINT64_FORMAT " %s image%s, %s", images, split,
                              images == 1 ? "" : "s", age);
    }
  gtk_label_set_text (self->status_label, text);
  gtk_widget_set_visible (self->status_icon, warn);
  if (warn)
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "dim-label");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "dim-label");
}

/* The one place that decides which actions can run. */
void
_sl_evaluate_page_update_actions (SlEvaluatePage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean evaluating = self->job != NULL;
  gboolean has_results = self->data != NULL && self->data->evaluation != NULL;
  /* Results of a read-only project show; running and relabelling would write. */
  gboolean writable = !sl_session_is_read_only (self->session);
  gboolean can_run
      = self->data != NULL && self->data->split_images > 0 && !self->loading && writable;

  gtk_widget_action_set_enabled (widget, "evaluate.run", can_run && !evaluating);
  gtk_widget_action_set_enabled (widget, "evaluate.cancel", evaluating);
  gtk_widget_action_set_enabled (widget, "evaluate.clear-filter", self->filter_t >= 0);
  gtk_widget_action_set_enabled (widget, "evaluate.show-cell", has_results);
  gtk_widget_action_set_enabled (widget, "evaluate.label-predicted", has_results && writable);
  gtk_widget_action_set_enabled (widget, "evaluate.label-as", has_results && writable);
  gtk_widget_action_set_enabled (widget, "evaluate.set-ignored", has_results && writable);
  gtk_button_set_label (self->evaluate_button,
                        _sl_eval_data_has_results (self->data) ? "_Evaluate Again" : "_Evaluate");
  gtk_widget_set_visible (GTK_WIDGET (self->evaluate_button), !evaluating);
  gtk_widget_set_visible (self->progress_box, evaluating);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_chooser), !evaluating);
  gtk_widget_set_sensitive (GTK_WIDGET (self->split_dropdown), !evaluating);
}

static void
refresh (SlEvaluatePage *self)
{
  update_view (self);
  _sl_evaluate_page_update_status (self);
  _sl_evaluate_page_update_actions (self);
}

/* Shows freshly read data (taking it); keeps the gallery's cell when the evaluation stays. */
static void
show_data (SlEvaluatePage *self, SlEvalData *data)
{
  gint64 old_id
      = self->data != NULL && self->data->evaluation != NULL ? self->data->evaluation->id : -1;
  int t = self->filter_t, p = self->filter_p;

  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->data, _sl_eval_data_free);
  self->data = data;
  self->filter_t = self->filter_p = -1;
  _sl_evaluate_page_fill_class_table (self);
  _sl_evaluate_page_fill_gallery (self);
  _sl_evaluate_page_show_results (self);
  _sl_evaluate_page_show_anomaly (self);
  if (data != NULL && data->evaluation != NULL && data->evaluation->id == old_id && t >= 0)
    _sl_evaluate_page_show_cell (self, t, p);
  refresh (self);
}

static void
show_error (SlEvaluatePage *self, const char *message)
{
  g_clear_pointer (&self->data, _sl_eval_data_free);
  _sl_evaluate_page_fill_gallery (self);
  g_free (self->error);
  self->error = g_strdup (message);
  refresh (self);
}

/* ---- Loading ------------------------------------------------------------------------------ */

typedef struct
{
  char *path;
  gint64 run_id;
  SlSplit split;
  gint64 evaluation_id;
  guint64 generation;
} LoadRequest;

static void
load_request_free (LoadRequest *r)
{
  g_free (r->path);
  g_free (r);
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LoadRequest *r = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (r->path, &error);
  SlEvalData *d
      = db != NULL ? _sl_eval_data_load (db, r->run_id, r->split, r->evaluation_id, &error) : NULL;

  if (d == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, d, (GDestroyNotify) _sl_eval_data_free);
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr (SlEvaluatePage) self = g_weak_ref_get (weak);
  LoadRequest *r = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  SlEvalData *d = g_task_propagate_pointer (G_TASK (result), &error);

  g_weak_ref_clear (weak);
  g_free (weak);
  if (self == NULL || r->generation != self->load_generation)
    {
      _sl_eval_data_free (d);
      return;
    }
  self->loading = FALSE;
  g_clear_object (&self->load_cancellable);
  if (d != NULL)
    show_data (self, d);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error (self, error->message);
}

/* Reads the evaluation of the chosen run and split; keep_shown leaves the
 * current one on screen until the new one arrives. */
static void
load (SlEvaluatePage *self, gint64 evaluation_id, gboolean keep_shown)
{
  g_autoptr (GTask) task = NULL;
  LoadRequest *r = g_new0 (LoadRequest, 1);
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  r->path = g_strdup (sl_session_get_path (self->session));
  r->run_id = sl_run_chooser_get_run_id (self->run_chooser);
  r->split = sl_evaluate_page_get_split (self);
  r->evaluation_id = evaluation_id;
  r->generation = ++self->load_generation;
  if (r->run_id < 0)
    {
      load_request_free (r);
      self->loading = FALSE;
      show_data (self, NULL);
      return;
    }
  self->loading = TRUE;
  if (!keep_shown)
    show_data (self, NULL);
  self->load_cancellable = g_cancellable_new ();
  g_weak_ref_init (weak, self);
  task = g_task_new (NULL, self->load_cancellable, load_done, weak);
  g_task_set_source_tag (task, load);
  g_task_set_task_data (task, r, (GDestroyNotify) load_request_free);
  g_task_run_in_thread (task, load_thread);
}

void
_sl_evaluate_page_reload (SlEvaluatePage *self)
{
  gint64 id = sl_evaluate_page_get_evaluation_id (self);

  if (self->job == NULL)
    load (self, id, TRUE);
}

static void
on_run_changed (SlEvaluatePage *self)
{
  if (self->job == NULL)
    load (self, -1, FALSE);
}

static void
on_split_selected (SlEvaluatePage *self)
{
  if (self->job == NULL)
    load (self, -1, FALSE);
}

/* ---- Evaluating ------------------------------------------------------------------------------ */

typedef struct
{
  char *path;
  gint64 run_id;
  SlSplit split;
  int threads;
  int done, total; /* atomic */
} EvalJob;

static void
eval_job_clear (gpointer data)
{
  g_free (((EvalJob *) data)->path);
}

static void
eval_job_unref (gpointer job)
{
  g_atomic_rc_box_release_full (job, eval_job_clear);
}

static void
eval_progress (gint64 done, gint64 total, gpointer user_data)
{
  EvalJob *job = user_data;

  g_atomic_int_set (&job->total, (int) total);
  g_atomic_int_set (&job->done, (int) done);
}

static void
evaluate_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  EvalJob *job = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (job->path, &error);
  SlEvalData *d = NULL;
  gint64 id = -1;

  if (db != NULL)
    id = sl_project_evaluate (db, job->run_id, job->split, SL_CHECKPOINT_BEST, 3, job->threads,
                              eval_progress, job, cancellable, &error);
  if (id >= 0)
    d = _sl_eval_data_load (db, job->run_id, job->split, id, &error);
  if (d == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, d, (GDestroyNotify) _sl_eval_data_free);
}

static void
show_progress (SlEvaluatePage *self)
{
  EvalJob *job = self->job;
  int done = g_atomic_int_get (&job->done), total = g_atomic_int_get (&job->total);
  double fraction = total > 0 ? (double) done / total : 0;
  g_autofree char *text = total > 0 ? g_strdup_printf ("%'d of %'d images", done, total)
                                    : g_strdup ("Loading the model…");

  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  gtk_progress_bar_set_fraction (self->cta_progress_bar, fraction);
  gtk_label_set_text (self->cta_progress_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->progress_bar), text);
}

static gboolean
progress_tick (gpointer data)
{
  show_progress (data);
  return G_SOURCE_CONTINUE;
}

static void
evaluate_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr (SlEvaluatePage) self = g_weak_ref_get (weak);
  g_autoptr (GError) error = NULL;
  SlEvalData *d = g_task_propagate_pointer (G_TASK (result), &error);

  g_weak_ref_clear (weak);
  g_free (weak);
  if (self == NULL)
    {
      _sl_eval_data_free (d);
      return;
    }
  g_clear_handle_id (&self->progress_timer, g_source_remove);
  g_clear_pointer (&self->job, eval_job_unref);
  g_clear_object (&self->eval_cancellable);
  if (d != NULL)
    {
      show_data (self, d);
      sl_session_notify_runs_changed (self->session);
      return;
    }
  refresh (self);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (!gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)",
                                       "Could not evaluate", error->message))
        g_message ("Could not evaluate: %s", error->message);
    }
}

static int
settings_threads (SlEvaluatePage *self)
{
  return self->settings != NULL ? MAX (0, g_settings_get_int (self->settings, "threads")) : 0;
}

static void
run_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (widget);
  g_autoptr (GTask) task = NULL;
  GWeakRef *weak;
  EvalJob *job;

  if (self->job != NULL || self->data == NULL)
    return;
  g_cancellable_cancel (self->load_cancellable);
  job = g_atomic_rc_box_new0 (EvalJob);
  job->path = g_strdup (sl_session_get_path (self->session));
  job->run_id = self->data->run_id;
  job->split = self->data->split;
  job->threads = settings_threads (self);
  self->job = job;
  self->eval_cancellable = g_cancellable_new ();
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);
  task = g_task_new (NULL, self->eval_cancellable, evaluate_done, weak);
  g_task_set_source_tag (task, run_action);
  g_task_set_task_data (task, g_atomic_rc_box_acquire (job), eval_job_unref);
  g_task_run_in_thread (task, evaluate_thread);
  self->progress_timer = g_timeout_add (PROGRESS_INTERVAL_MS, progress_tick, self);
  show_progress (self);
  refresh (self);
}

static void
cancel_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (widget);

  g_cancellable_cancel (self->eval_cancellable);
}

/* ---- Following the project ---------------------------------------------------------------- */

static void
on_labels_changed (SlSession *session, const gint64 *ids, guint n, SlEvaluatePage *self)
{
  _sl_evaluate_page_follow_labels (self, ids, n);
}

/* Renamed, recoloured, merged or deleted classes; images added or removed. */
static void
on_classes_changed (SlSession *session, SlEvaluatePage *self)
{
  _sl_evaluate_page_reload (self);
}

static void
on_runs_changed (SlSession *session, SlEvaluatePage *self)
{
  /* The chooser follows first; with no run left the view says so. */
  refresh (self);
}

static gboolean
place_divider_later (gpointer data)
{
  SlEvaluatePage *self = data;

  self->divider_idle = 0;
  _sl_evaluate_page_place_divider (self);
  return G_SOURCE_REMOVE;
}

/* A new height (the paned's max-position follows it): place the divider again after this
 * allocation. */
static void
on_paned_resized (SlEvaluatePage *self)
{
  if (self->divider_idle == 0)
    self->divider_idle = g_idle_add (place_divider_later, self);
}

static gboolean
status_tick (gpointer data)
{
  _sl_evaluate_page_update_status (data);
  return G_SOURCE_CONTINUE;
}

/* ---- Object ----------------------------------------------------------------------------------- */

static void
sl_evaluate_page_constructed (GObject *object)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (object);

  G_OBJECT_CLASS (sl_evaluate_page_parent_class)->constructed (object);
  g_return_if_fail (self->session != NULL);

  self->settings = sl_app_settings_new ("threads");
  self->thumbs = sl_thumbnail_cache_new (sl_session_get_path (self->session), THUMBNAIL_SIZE, 0);
  self->run_chooser = SL_RUN_CHOOSER (sl_run_chooser_new (self->session));
  gtk_box_append (GTK_BOX (self->run_box), GTK_WIDGET (self->run_chooser));
  /* The qualification report of the run shown, on the split shown. */
  gtk_box_append (GTK_BOX (self->run_box),
                  sl_report_button_new (self->session, self->run_chooser, self->split_dropdown));
  g_signal_connect_object (self->run_chooser, "notify::run-id", G_CALLBACK (on_run_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "labels-changed", G_CALLBACK (on_labels_changed), self,
                           0);
  g_signal_connect_object (self->session, "classes-changed", G_CALLBACK (on_classes_changed), self,
                           0);
  g_signal_connect_object (self->session, "images-changed", G_CALLBACK (on_classes_changed), self,
                           0);
  g_signal_connect_object (self->session, "runs-changed", G_CALLBACK (on_runs_changed), self,
                           G_CONNECT_AFTER);
  g_signal_connect_swapped (self->right_paned, "notify::max-position",
                            G_CALLBACK (on_paned_resized), self);
  _sl_evaluate_page_setup_gallery (self);
  _sl_evaluate_page_setup_anomaly (self);
  _sl_evaluate_page_load_threshold (self);
  self->status_timer = g_timeout_add_seconds (STATUS_INTERVAL_S, status_tick, self);
  load (self, -1, FALSE);
}

static void
sl_evaluate_page_dispose (GObject *object)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (object);

  if (self->save_timer != 0)
    _sl_evaluate_page_save_threshold_now (self);
  g_cancellable_cancel (self->load_cancellable);
  g_cancellable_cancel (self->eval_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->eval_cancellable);
  g_clear_handle_id (&self->progress_timer, g_source_remove);
  g_clear_handle_id (&self->status_timer, g_source_remove);
  g_clear_handle_id (&self->divider_idle, g_source_remove);
  if (self->right_paned != NULL)
    g_signal_handlers_disconnect_by_data (self->right_paned, self);
  g_clear_pointer (&self->job, eval_job_unref);
  g_clear_object (&self->gradcam);
  /* Storing a pending threshold as the results go must not start a reload. */
  if (self->anomaly_results != NULL)
    g_signal_handlers_disconnect_by_data (self->anomaly_results, self);
  if (self->grid != NULL)
    gtk_grid_view_set_model (self->grid, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_EVALUATE_PAGE);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->filtered);
  g_clear_object (&self->filter);
  g_clear_object (&self->items);
  g_clear_pointer (&self->item_by_id, g_hash_table_unref);
  g_clear_pointer (&self->class_table, g_hash_table_unref);
  g_clear_pointer (&self->data, _sl_eval_data_free);
  g_clear_object (&self->thumbs);
  g_clear_object (&self->settings);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_evaluate_page_parent_class)->dispose (object);
}

static void
sl_evaluate_page_finalize (GObject *object)
{
  g_free (SL_EVALUATE_PAGE (object)->error);
  G_OBJECT_CLASS (sl_evaluate_page_parent_class)->finalize (object);
}

static void
sl_evaluate_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_evaluate_page_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_evaluate_page_class_init (SlEvaluatePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_evaluate_page_constructed;
  object_class->dispose = sl_evaluate_page_dispose;
  object_class->finalize = sl_evaluate_page_finalize;
  object_class->get_property = sl_evaluate_page_get_property;
  object_class->set_property = sl_evaluate_page_set_property;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SL_TYPE_CONFUSION_MATRIX);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-evaluate-page.ui");
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, top_bar);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, run_box);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, split_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, status_icon);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, progress_box);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, evaluate_button);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, view_stack);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, no_images_title);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, no_images_body);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, cta_title);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, cta_body);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, cta_stack);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, cta_progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, cta_progress_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, error_body);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, accuracy_detail);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, f1_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, mistakes_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, class_grid);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, threshold_switch);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, threshold_box);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, threshold_value);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, threshold_grid);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, accepted_accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, reject_rate_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, mistakes_caught_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, threshold_hint);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, right_paned);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, matrix);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, gallery_title);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, filter_chip);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, filter_chip_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, gallery_subtitle);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, gallery_stack);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, grid);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, gallery_empty_icon);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, gallery_empty_label);
  gtk_widget_class_bind_template_child (widget_class, SlEvaluatePage, gradcam_switch);
  gtk_widget_class_bind_template_callback (widget_class, on_split_selected);
  gtk_widget_class_bind_template_callback_full (
      widget_class, "on_threshold_changed", G_CALLBACK (_sl_evaluate_page_on_threshold_changed));
  gtk_widget_class_bind_template_callback_full (widget_class, "on_gradcam_toggled",
                                                G_CALLBACK (_sl_evaluate_page_on_gradcam_toggled));
  gtk_widget_class_bind_template_callback_full (widget_class, "on_cell_activated",
                                                G_CALLBACK (_sl_evaluate_page_on_cell_activated));
  gtk_widget_class_set_css_name (widget_class, "evaluatepage");

  gtk_widget_class_install_action (widget_class, "evaluate.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "evaluate.cancel", NULL, cancel_action);
  _sl_evaluate_page_install_gallery_actions (widget_class);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "evaluate.cancel", NULL);
}

static void
sl_evaluate_page_init (SlEvaluatePage *self)
{
  self->filter_t = self->filter_p = -1;
  self->gradcam_run = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sl_evaluate_page_new (SlSession *session)
{
  return g_object_new (SL_TYPE_EVALUATE_PAGE, "session", session, NULL);
}

/* ---- Accessors ------------------------------------------------------------------------------------ */

gboolean
sl_evaluate_page_is_busy (SlEvaluatePage *self)
{
  g_return_val_if_fail (SL_IS_EVALUATE_PAGE (self), FALSE);
  return self->loading || self->job != NULL;
}

gboolean
sl_evaluate_page_is_evaluating (SlEvaluatePage *self)
{
  g_return_val_if_fail (SL_IS_EVALUATE_PAGE (self), FALSE);
  return self->job != NULL;
}

SlRunChooser *
sl_evaluate_page_get_run_chooser (SlEvaluatePage *self)
{
  return self->run_chooser;
}

SlSplit
sl_evaluate_page_get_split (SlEvaluatePage *self)
{
  return gtk_drop_down_get_selected (self->split_dropdown) == 1 ? SL_SPLIT_VAL : SL_SPLIT_TEST;
}

void
sl_evaluate_page_set_split (SlEvaluatePage *self, SlSplit split)
{
  g_return_if_fail (split == SL_SPLIT_TEST || split == SL_SPLIT_VAL);
  gtk_drop_down_set_selected (self->split_dropdown, split == SL_SPLIT_VAL ? 1 : 0);
}

gint64
sl_evaluate_page_get_evaluation_id (SlEvaluatePage *self)
{
  if (self->data != NULL && self->data->anomaly != NULL)
    return self->data->anomaly->id;
  return self->data != NULL && self->data->evaluation != NULL ? self->data->evaluation->id : -1;
}

double
sl_evaluate_page_get_shown_accuracy (SlEvaluatePage *self)
{
  g_autofree char *text = g_strdup (gtk_label_get_text (self->accuracy_label));

  if (self->data == NULL || self->data->evaluation == NULL || *text == '\0')
    return NAN;
  g_strdelimit (text, ",", '.'); /* a decimal comma */
  return g_ascii_strtod (text, NULL) / 100.0;
}

gboolean
sl_evaluate_page_get_out_of_date (SlEvaluatePage *self)
{
  return self->out_of_date;
}

const char *
sl_evaluate_page_get_status_text (SlEvaluatePage *self)
{
  return gtk_label_get_text (self->status_label);
}

SlConfusionMatrix *
sl_evaluate_page_get_confusion_matrix (SlEvaluatePage *self)
{
  return self->matrix;
}

GListModel *
sl_evaluate_page_get_gallery_model (SlEvaluatePage *self)
{
  return G_LIST_MODEL (self->filtered);
}

GtkWidget *
sl_evaluate_page_get_gallery_grid (SlEvaluatePage *self)
{
  return GTK_WIDGET (self->grid);
}

SlAnomalyResults *
sl_evaluate_page_get_anomaly_results (SlEvaluatePage *self)
{
  g_return_val_if_fail (SL_IS_EVALUATE_PAGE (self), NULL);
  return self->anomaly_results;
}

void
sl_evaluate_page_set_show_gradcam (SlEvaluatePage *self, gboolean show)
{
  g_return_if_fail (SL_IS_EVALUATE_PAGE (self));
  gtk_switch_set_active (self->gradcam_switch, show);
}
