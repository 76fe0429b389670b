/* sl-dataset-page-suggest.c: labelling guided by a trained model on the Dataset page: Suggest Labels in the background, accepting suggestions (A, Accept Above…), and opening a listed image. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-dataset-page-private.h"
#include "sl-message-dialog.h"
#include "sl-suggest.h"

#include <math.h>

/* The progress line follows the worker this often. */
#define PROGRESS_MS 100

/* ---- Suggest Labels ---------------------------------------------------------------------- */

typedef struct _SuggestJob
{
  SlDatasetPage *page; /* NULL once the page has gone or cancelled */
  gint64 run_id;
  gint done, total; /* atomics, written by the worker */
} SuggestJob;

static void
on_progress (gint64 done, gint64 total, gpointer data)
{
  SuggestJob *job = data;

  g_atomic_int_set (&job->done, (gint) MIN (done, G_MAXINT));
  g_atomic_int_set (&job->total, (gint) MIN (total, G_MAXINT));
}

static void
show_progress (SlDatasetPage *self, SuggestJob *job)
{
  gint done = g_atomic_int_get (&job->done), total = g_atomic_int_get (&job->total);
  g_autofree char *text = NULL;

  if (total <= 0 || done == 0)
    text = g_strdup_printf ("Loading run-%" G_GINT64_FORMAT "’s model…", job->run_id);
  else
    text = g_strdup_printf ("Suggesting labels with run-%" G_GINT64_FORMAT ": %'d of %'d images…",
                            job->run_id, done, total);
  gtk_label_set_text (self->suggest_label, text);
  if (total > 0)
    gtk_progress_bar_set_fraction (self->suggest_bar, (double) done / total);
  else
    gtk_progress_bar_pulse (self->suggest_bar);
}

static gboolean
progress_timeout (gpointer data)
{
  SlDatasetPage *self = data;

  if (self->suggest_job != NULL)
    show_progress (self, self->suggest_job);
  return G_SOURCE_CONTINUE;
}

static void
stop_showing_progress (SlDatasetPage *self)
{
  g_clear_handle_id (&self->suggest_timer, g_source_remove);
  gtk_revealer_set_reveal_child (self->suggest_revealer, FALSE);
}

static void
suggest_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SuggestJob *job = data;
  SlDatasetPage *self = job->page;
  g_autoptr (GError) error = NULL;
  g_autofree SlSuggestResult *r = sl_project_suggest_labels_finish (result, &error);
  g_autofree char *text = NULL;

  if (self == NULL) /* the page went away: what was stored stays for next time */
    {
      g_free (job);
      return;
    }
  self->suggest_job = NULL;
  g_clear_object (&self->suggest_cancellable);
  stop_showing_progress (self);
  g_free (job);
  if (r == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _sl_dataset_page_show_error (self, error->message);
  else if (r == NULL || r->cancelled)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s",
                                "Stopped: the suggestions made so far are kept.");
  else
    {
      g_autoptr (GString) s = g_string_new (NULL);

      if (r->suggestions == 0)
        g_string_append (s, "No unlabelled images to suggest labels for");
      else
        g_string_append_printf (s, "Suggested labels for %'" G_GINT64_FORMAT " unlabelled image%s",
                                r->suggestions, r->suggestions == 1 ? "" : "s");
      if (r->possible_mistakes > 0)
        g_string_append_printf (s,
                                "; %'" G_GINT64_FORMAT " possible label mistake%s in Data Health",
                                r->possible_mistakes, r->possible_mistakes == 1 ? "" : "s");
      if (r->failed > 0)
        g_string_append_printf (s, "; %'" G_GINT64_FORMAT " could not be read", r->failed);
      g_string_append (s, ".");
      text = g_string_free (g_steal_pointer (&s), FALSE);
      gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", text);
    }
  sl_image_list_load_suggestions (self->images);
  sl_class_list_refresh_health (self->class_list);
  _sl_dataset_page_update_actions (self);
}

/* Predicts the project's images with run_id's best checkpoint on a worker. */
void
sl_dataset_page_suggest_labels (SlDatasetPage *self, gint64 run_id)
{
  SuggestJob *job;

  g_return_if_fail (SL_IS_DATASET_PAGE (self));
  g_return_if_fail (self->suggest_job == NULL);
  job = g_new0 (SuggestJob, 1);
  job->page = self;
  job->run_id = run_id;
  self->suggest_job = job;
  self->suggest_cancellable = g_cancellable_new ();
  show_progress (self, job);
  gtk_progress_bar_set_fraction (self->suggest_bar, 0);
  gtk_revealer_set_reveal_child (self->suggest_revealer, TRUE);
  self->suggest_timer = g_timeout_add (PROGRESS_MS, progress_timeout, self);
  sl_project_suggest_labels_async (sl_session_get_path (self->session), run_id, SL_CHECKPOINT_BEST,
                                   0, NULL, on_progress, job, self->suggest_cancellable,
                                   suggest_done, job);
  _sl_dataset_page_update_actions (self);
}

gboolean
sl_dataset_page_is_suggesting (SlDatasetPage *self)
{
  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), FALSE);
  return self->suggest_job != NULL;
}

static void
suggest_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  gint64 run_id = sl_run_chooser_get_run_id (self->suggest_runs);

  gtk_menu_button_popdown (self->suggest_button);
  if (run_id >= 0 && self->suggest_job == NULL)
    sl_dataset_page_suggest_labels (self, run_id);
}

static void
cancel_suggest_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);

  g_cancellable_cancel (self->suggest_cancellable);
  gtk_label_set_text (self->suggest_label, "Stopping…");
}

void
_sl_dataset_page_cancel_suggest (SlDatasetPage *self)
{
  if (self->suggest_job != NULL)
    self->suggest_job->page = NULL;
  self->suggest_job = NULL;
  g_cancellable_cancel (self->suggest_cancellable);
  g_clear_object (&self->suggest_cancellable);
  g_clear_handle_id (&self->suggest_timer, g_source_remove);
}

/* ---- Accepting ------------------------------------------------------------------------------- */

/* The images of `model` at the positions of `positions` (all when NULL) whose suggestion
 * names a class and is at least min_confidence sure (<= 0: any, anomaly ones included). */
static void
collect (GListModel *model, GtkBitset *positions, double min_confidence, GArray *ids,
         GArray *classes)
{
  guint n = g_list_model_get_n_items (model);
  GtkBitsetIter iter;
  guint position;
  gboolean ok;

  if (positions != NULL)
    ok = gtk_bitset_iter_init_first (&iter, positions, &position);
  else
    ok = (position = 0) < n;
  for (; ok; ok = positions != NULL ? gtk_bitset_iter_next (&iter, &position) : ++position < n)
    {
      g_autoptr (SlImageObject) item = g_list_model_get_item (model, position);
      const SlImageSuggestion *s = item != NULL ? sl_image_object_get_suggestion (item) : NULL;
      gint64 id;

      if (s == NULL || s->class_id < 0)
        continue;
      if (min_confidence > 0 && !(s->confidence >= min_confidence))
        continue; /* NAN (an anomaly score) is no confidence */
      id = sl_image_object_get_id (item);
      g_array_append_val (ids, id);
      g_array_append_val (classes, s->class_id);
    }
}

/* Labels the images with their suggestions, one undo step; returns how many. */
static guint
accept (SlDatasetPage *self, GArray *ids, GArray *classes)
{
  g_autoptr (GError) error = NULL;

  if (ids->len == 0)
    return 0;
  if (!sl_session_set_labels_each (self->session, (gint64 *) ids->data, (gint64 *) classes->data,
                                   ids->len, &error))
    {
      _sl_dataset_page_show_error (self, error->message);
      return 0;
    }
  return ids->len;
}

guint
sl_dataset_page_accept_selected_suggestions (SlDatasetPage *self, double min_confidence)
{
  g_autoptr (GtkBitset) selected = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) classes = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), 0);
  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  collect (G_LIST_MODEL (self->selection), gtk_bitset_is_empty (selected) ? NULL : selected,
           min_confidence, ids, classes);
  return accept (self, ids, classes);
}

/* A: the selected images take their suggestions; with one image, the next unlabelled one
 * is selected, so accepting is one key per image, as labelling is. */
static void
accept_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) classes = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint first = gtk_bitset_get_minimum (selected);
  g_autoptr (SlImageObject) single = NULL;

  if (gtk_bitset_is_empty (selected))
    return;
  collect (G_LIST_MODEL (self->selection), selected, 0, ids, classes);
  if (ids->len == 0)
    {
      gtk_widget_activate_action (
          widget, "win.toast", "s",
          gtk_bitset_get_size (selected) == 1
              ? "This image has no suggestion: use Suggest Labels in the toolbar first."
              : "None of the selected images has a suggestion.");
      return;
    }
  if (gtk_bitset_get_size (selected) == 1)
    single = g_list_model_get_item (G_LIST_MODEL (self->selection), first);
  if (accept (self, ids, classes) > 0 && single != NULL)
    _sl_dataset_page_advance_to_unlabeled (self, single, first);
}

/* Accept Above…: how many of the selection (or of the images shown) are at least that sure. */
typedef struct
{
  SlDatasetPage *page;
  GtkSpinButton *spin;
  GtkLabel *count;
  GtkWidget *accept_button;
  gboolean whole_view;
} AcceptDialog;

static void
update_accept_count (AcceptDialog *d)
{
  SlDatasetPage *self = d->page;
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) classes = g_array_new (FALSE, FALSE, sizeof (gint64));
  double c = gtk_spin_button_get_value (d->spin) / 100;
  g_autofree char *text = NULL;
  g_autofree char *button = NULL;

  collect (G_LIST_MODEL (self->selection), d->whole_view ? NULL : selected, c, ids, classes);
  text = g_strdup_printf ("%'u image%s of the %s %s a suggestion at least this sure.", ids->len,
                          ids->len == 1 ? "" : "s",
                          d->whole_view ? "images shown" : "selected images",
                          ids->len == 1 ? "has" : "have");
  gtk_label_set_text (d->count, text);
  button = g_strdup_printf ("_Accept %'u", ids->len);
  gtk_button_set_label (GTK_BUTTON (d->accept_button), button);
  gtk_widget_set_sensitive (d->accept_button, ids->len > 0);
}

static void
accept_dialog_free (AcceptDialog *d)
{
  if (d->page != NULL)
    g_object_remove_weak_pointer (G_OBJECT (d->page), (gpointer *) &d->page);
  g_free (d);
}

static void
on_accept_clicked (GtkWindow *dialog, gpointer data)
{
  AcceptDialog *d = data;

  if (d->page != NULL)
    sl_dataset_page_accept_selected_suggestions (d->page,
                                                 gtk_spin_button_get_value (d->spin) / 100);
}

GtkWindow *
sl_dataset_page_show_accept_above (SlDatasetPage *self)
{
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  AcceptDialog *d = g_new0 (AcceptDialog, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWindow *dialog;

  d->page = self;
  d->whole_view = gtk_bitset_is_empty (selected);
  dialog = sl_message_dialog_new (
      GTK_WIDGET (self), "Accept Suggestions Above a Confidence",
      d->whole_view ? "Label every image shown whose suggestion is at least this sure with the "
                      "suggested class. Undo (Ctrl+Z) takes them all back."
                    : "Label the selected images whose suggestion is at least this sure with the "
                      "suggested class. Undo (Ctrl+Z) takes them all back.");
  d->spin = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (50, 100, 1));
  gtk_spin_button_set_value (d->spin, 90);
  gtk_box_append (GTK_BOX (row), gtk_label_new ("At least"));
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (d->spin));
  gtk_box_append (GTK_BOX (row), gtk_label_new ("% confidence"));
  d->count = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (d->count, 0);
  gtk_label_set_wrap (d->count, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (d->count), "dim-label");
  gtk_box_append (GTK_BOX (box), row);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->count));
  sl_message_dialog_add_extra (dialog, box);
  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  d->accept_button = sl_message_dialog_add_button (dialog, "_Accept", "suggested-action",
                                                   on_accept_clicked, d, NULL);
  sl_message_dialog_set_default (dialog, d->accept_button);
  g_signal_connect_swapped (d->spin, "value-changed", G_CALLBACK (update_accept_count), d);
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &d->page);
  g_object_set_data_full (G_OBJECT (dialog), "accept-dialog", d,
                          (GDestroyNotify) accept_dialog_free);
  update_accept_count (d);
  gtk_window_present (dialog);
  return dialog;
}

static void
accept_above_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);

  gtk_menu_button_popdown (self->suggest_button);
  sl_dataset_page_show_accept_above (self);
}

/* From Data Health's "possible label mistakes": the image, shown and selected. */
static void
reveal_image_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  sl_dataset_page_select_image (SL_DATASET_PAGE (widget), g_variant_get_int64 (parameter));
}

/* ---- The toolbar's Suggest Labels menu ----------------------------------------------------- */

static GtkWidget *
caption (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

static void
on_runs_changed (SlDatasetPage *self)
{
  _sl_dataset_page_update_actions (self);
}

void
_sl_dataset_page_init_suggest (SlDatasetPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *heading = gtk_label_new ("Labels From a Trained Model");
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *suggest = gtk_button_new_with_mnemonic ("_Suggest");
  GtkWidget *accept_above = gtk_button_new_with_mnemonic ("Accept _Above…");

  /* At the foot of the sidebar, under Data Health: always in view, beside what it helps with
   * (the unlabelled images), and the toolbar has no room left at 1024 px. */
  self->suggest_button = GTK_MENU_BUTTON (gtk_menu_button_new ());
  gtk_menu_button_set_label (self->suggest_button, "Suggest _Labels");
  gtk_menu_button_set_use_underline (self->suggest_button, TRUE);
  gtk_menu_button_set_direction (self->suggest_button, GTK_ARROW_UP);
  gtk_widget_add_css_class (GTK_WIDGET (self->suggest_button), "sl-suggest-button");
  gtk_widget_set_margin_start (GTK_WIDGET (self->suggest_button), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->suggest_button), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self->suggest_button), 6);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->suggest_button), 12);
  gtk_box_append (GTK_BOX (self->sidebar), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (GTK_BOX (self->sidebar), GTK_WIDGET (self->suggest_button));
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  self->suggest_runs = SL_RUN_CHOOSER (sl_run_chooser_new (self->session));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->suggest_runs), "The model that suggests");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (suggest), "dataset.suggest");
  gtk_widget_add_css_class (suggest, "suggested-action");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (accept_above), "dataset.accept-above");
  gtk_widget_set_tooltip_text (accept_above,
                               "Label the selected images (or all shown) whose suggestion is at "
                               "least as sure as you choose");
  gtk_widget_set_hexpand (accept_above, TRUE);
  gtk_widget_set_halign (accept_above, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (buttons), accept_above);
  gtk_box_append (GTK_BOX (buttons), suggest);
  gtk_box_append (GTK_BOX (box), heading);
  gtk_box_append (GTK_BOX (box),
                  caption ("The model predicts every unlabelled image in the background and "
                           "shows its suggestion on the thumbnail. Press A to accept the "
                           "selected images’ suggestions; sort by Close Calls to label first "
                           "what the model learns most from."));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->suggest_runs));
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_widget_set_size_request (box, 340, -1);
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (self->suggest_button, popover);
  g_signal_connect_object (self->suggest_runs, "notify::run-id", G_CALLBACK (on_runs_changed), self,
                           G_CONNECT_SWAPPED);
}

/* The menu button and its actions: quiet (insensitive, saying why) until a model exists. */
void
_sl_dataset_page_update_suggest_actions (SlDatasetPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean writable = !sl_session_is_read_only (self->session);
  gboolean has_run
      = self->suggest_runs != NULL && sl_run_chooser_get_n_runs (self->suggest_runs) > 0;
  gboolean idle = self->suggest_job == NULL;
  gboolean any = FALSE;
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));

  if (self->suggest_button == NULL)
    return; /* called while the page is being built */
  any = !gtk_bitset_is_empty (selected);
  gtk_widget_action_set_enabled (widget, "dataset.suggest", writable && has_run && idle);
  gtk_widget_action_set_enabled (widget, "dataset.cancel-suggest", !idle);
  gtk_widget_action_set_enabled (widget, "dataset.accept-suggestion", writable && any);
  gtk_widget_action_set_enabled (widget, "dataset.accept-above",
                                 writable && sl_image_list_get_suggestion_run (self->images) > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->suggest_button), writable && has_run);
  gtk_widget_set_tooltip_text (
      GTK_WIDGET (self->suggest_button),
      !writable  ? "The project is read-only: suggestions cannot be stored"
      : !has_run ? "Train a model first (Train page): it then suggests labels for the "
                   "unlabelled images"
                 : "Let a trained model suggest labels for the unlabelled images");
}

void
_sl_dataset_page_install_suggest_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "dataset.suggest", NULL, suggest_action);
  gtk_widget_class_install_action (widget_class, "dataset.cancel-suggest", NULL,
                                   cancel_suggest_action);
  gtk_widget_class_install_action (widget_class, "dataset.accept-suggestion", NULL, accept_action);
  gtk_widget_class_install_action (widget_class, "dataset.accept-above", NULL, accept_above_action);
  gtk_widget_class_install_action (widget_class, "dataset.reveal-image", "x", reveal_image_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, 0, "dataset.accept-suggestion",
                                       NULL);
}

SlRunChooser *
sl_dataset_page_get_suggest_run_chooser (SlDatasetPage *self)
{
  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), NULL);
  return self->suggest_runs;
}

GtkWidget *
sl_dataset_page_get_suggest_button (SlDatasetPage *self)
{
  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), NULL);
  return GTK_WIDGET (self->suggest_button);
}
