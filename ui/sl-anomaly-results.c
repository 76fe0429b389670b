/* sl-anomaly-results.c: the Evaluate page's results for an anomaly run: score histogram, ROC curve, the threshold and its rates, the images worst first with heatmaps. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-anomaly-results-private.h"

#include <math.h>

#include "sl-thumbnail-cache.h"

/* A threshold picked on the charts reaches the project this long after the last pick. */
#define SAVE_DELAY_MS 300

G_DEFINE_FINAL_TYPE (SlAnomalyResults, sl_anomaly_results, GTK_TYPE_WIDGET)

enum
{
  THRESHOLD_STORED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- Numbers --------------------------------------------------------------------------------- */

static guint
count_above (GArray *scores, double threshold)
{
  guint n = 0;

  for (guint i = 0; i < scores->len; i++)
    n += g_array_index (scores, double, i) > threshold;
  return n;
}

static char *
rate_text (guint k, guint n, const char *none)
{
  if (n == 0)
    return g_strdup (none);
  return g_strdup_printf ("%.1f %% (%'u of %'u)", 100.0 * k / n, k, n);
}

/* The evaluation's own sentence (with its confidence bound) while the threshold is the one
 * it was read with; for a threshold just picked, the same facts counted here until the
 * stored choice is read back. */
static void
update_statement (SlAnomalyResults *self, guint false_rejects, guint escapes)
{
  g_autofree char *text = NULL, *automatic = NULL;
  GString *live;

  if (self->threshold == self->eval_threshold && self->manual == self->eval_manual
      && self->eval_statement != NULL)
    text = g_strdup (self->eval_statement);
  else
    {
      live = g_string_new (NULL);
      g_string_append_printf (live, "At threshold %.6g (%s), ", self->threshold,
                              self->manual ? "set by hand" : "the run's, from good images");
      if (self->good->len > 0)
        g_string_append_printf (live, "%u of %u good %s images (%.1f %%) are flagged",
                                false_rejects, self->good->len, self->split_words,
                                100.0 * false_rejects / self->good->len);
      else
        g_string_append_printf (live, "no good %s images tell the false-reject rate",
                                self->split_words);
      if (self->defect->len > 0)
        g_string_append_printf (live, " and %u of %u defect images (%.1f %%) escape.", escapes,
                                self->defect->len, 100.0 * escapes / self->defect->len);
      else
        g_string_append (live, "; there are no defect images to measure escapes.");
      text = g_string_free (live, FALSE);
    }
  if (!isfinite (self->auto_threshold))
    automatic = g_strdup ("The run has no automatic threshold: it comes from the scores of good "
                          "validation images. Give the project some (Split… on the Dataset page) "
                          "and fit again, or set one here.");
  else
    automatic = g_strdup_printf ("Automatic threshold %.6g%s%s", self->auto_threshold,
                                 self->auto_statement != NULL ? ": " : ".",
                                 self->auto_statement != NULL ? self->auto_statement : "");
  gtk_label_set_text (self->statement_label, text);
  gtk_label_set_text (self->auto_label, automatic);
}

/* Everything that follows the threshold: rates, statement, charts, cards, the filter. */
static void
show_threshold (SlAnomalyResults *self)
{
  guint false_rejects = count_above (self->good, self->threshold);
  guint caught = count_above (self->defect, self->threshold);
  g_autofree char *fr
      = rate_text (false_rejects, self->good->len, "no good images to measure false rejects");
  g_autofree char *escape = rate_text (self->defect->len - caught, self->defect->len,
                                       "no defect images to measure escapes");
  gboolean writable = !sl_session_is_read_only (self->session);

  self->updating = TRUE;
  if (isfinite (self->threshold))
    gtk_spin_button_set_value (self->spin, self->threshold);
  self->updating = FALSE;
  gtk_label_set_text (self->mode_label, self->manual ? "Set by hand" : "Automatic");
  gtk_widget_set_sensitive (self->reset_button, self->manual && writable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->spin), writable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->histogram), writable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->roc), writable);
  gtk_label_set_text (self->false_reject_label, fr);
  gtk_label_set_text (self->escape_label, escape);
  update_statement (self, false_rejects, self->defect->len - caught);
  sl_score_histogram_set_threshold (self->histogram, self->threshold);
  sl_roc_curve_set_threshold (self->roc, self->threshold);
  _sl_anomaly_results_update_cards (self);
  if (self->only_wrong)
    gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  _sl_anomaly_results_update_gallery_header (self);
}

/* ---- Storing the threshold ------------------------------------------------------------------- */

static void
save_now (SlAnomalyResults *self)
{
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&self->save_timer, g_source_remove);
  /* The threshold belongs to the run shown: another run's scores may have another scale. */
  if (sl_project_set_anomaly_threshold_for_run (sl_session_get_project (self->session),
                                                self->run_id, self->manual ? self->threshold : NAN,
                                                &error))
    g_signal_emit (self, signals[THRESHOLD_STORED], 0);
  else if (!gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)",
                                        "Could not store the threshold", error->message))
    g_warning ("Could not store the threshold: %s", error->message);
}

static gboolean
save_later (gpointer data)
{
  SlAnomalyResults *self = data;

  self->save_timer = 0;
  save_now (self);
  return G_SOURCE_REMOVE;
}

static void
pick (SlAnomalyResults *self, double threshold)
{
  if (!isfinite (threshold) || sl_session_is_read_only (self->session))
    return;
  self->threshold = threshold;
  self->manual = TRUE;
  show_threshold (self);
  g_clear_handle_id (&self->save_timer, g_source_remove);
  self->save_timer = g_timeout_add (SAVE_DELAY_MS, save_later, self);
}

static void
on_picked (GtkWidget *chart, double threshold, SlAnomalyResults *self)
{
  pick (self, threshold);
}

/* Typing a value picks it; the spin button rounding the shown value to its digits does not. */
static void
on_spin_changed (SlAnomalyResults *self)
{
  double value = gtk_spin_button_get_value (self->spin), step;

  gtk_spin_button_get_increments (self->spin, &step, NULL);
  if (!self->updating && !(fabs (value - self->threshold) < step / 2))
    pick (self, value);
}

void
sl_anomaly_results_set_threshold (SlAnomalyResults *self, double threshold)
{
  g_return_if_fail (SL_IS_ANOMALY_RESULTS (self));
  pick (self, threshold);
  save_now (self);
}

void
sl_anomaly_results_reset_threshold (SlAnomalyResults *self)
{
  g_return_if_fail (SL_IS_ANOMALY_RESULTS (self));
  self->threshold = self->auto_threshold;
  self->manual = FALSE;
  show_threshold (self);
  save_now (self);
}

static void
on_reset_clicked (SlAnomalyResults *self)
{
  sl_anomaly_results_reset_threshold (self);
}

/* ---- Showing an evaluation ------------------------------------------------------------------------ */

static void
show_summary (SlAnomalyResults *self, const SlAnomalyEvaluation *e)
{
  g_autofree char *auroc = NULL, *detail = NULL, *counts = NULL;

  if (!isnan (e->auroc))
    {
      auroc = g_strdup_printf ("%.3f", e->auroc);
      detail = g_strdup ("How well the scores separate defects from good parts: 1 is perfect, "
                         "0.5 no better than chance.");
    }
  else
    {
      auroc = g_strdup ("—");
      detail = e->defects == 0
                   ? g_strdup_printf ("No defect images among the %s images, so nothing to "
                                      "separate: import some as defect to measure it.",
                                      self->split_words)
                   : g_strdup_printf ("No good images among the %s images to compare the "
                                      "defects with.",
                                      self->split_words);
    }
  counts = g_strdup_printf ("%'" G_GINT64_FORMAT " good · %'" G_GINT64_FORMAT " defect %s images",
                            e->good, e->defects, self->split_words);
  gtk_label_set_text (self->auroc_label, auroc);
  gtk_label_set_text (self->auroc_detail, detail);
  gtk_label_set_text (self->counts_label, counts);
}

/* Spin button steps of about a thousandth of the scores' range, shown to that precision. */
static void
configure_spin (SlAnomalyResults *self)
{
  double hi = 0, step;
  int digits;

  for (guint i = 0; i < self->good->len; i++)
    hi = MAX (hi, g_array_index (self->good, double, i));
  for (guint i = 0; i < self->defect->len; i++)
    hi = MAX (hi, g_array_index (self->defect, double, i));
  if (isfinite (self->auto_threshold))
    hi = MAX (hi, self->auto_threshold);
  if (isfinite (self->threshold))
    hi = MAX (hi, self->threshold);
  hi = hi > 0 ? 2 * hi : 1;
  step = pow (10, floor (log10 (hi / 2000)));
  digits = (int) CLAMP (-floor (log10 (step)), 0, 6);
  self->updating = TRUE;
  gtk_spin_button_set_digits (self->spin, digits);
  gtk_spin_button_set_range (self->spin, 0, hi);
  gtk_spin_button_set_increments (self->spin, step, step * 10);
  self->updating = FALSE;
}

/* What the evaluation says about its threshold; a pick not yet stored stays shown. */
static void
take_threshold (SlAnomalyResults *self, const SlAnomalyEvaluation *e)
{
  g_free (self->eval_statement);
  self->eval_statement = g_strdup (e->statement);
  self->eval_threshold = e->threshold;
  self->eval_manual = e->threshold_manual;
  self->auto_threshold = e->run_threshold.threshold;
  g_free (self->auto_statement);
  self->auto_statement = g_strdup (e->run_threshold.statement);
  if (self->save_timer == 0)
    {
      self->threshold = e->threshold;
      self->manual = e->threshold_manual;
    }
}

void
sl_anomaly_results_set_evaluation (SlAnomalyResults *self, const SlAnomalyEvaluation *e,
                                   const char *split_words)
{
  g_autoptr (GPtrArray) objects = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean curve;

  g_return_if_fail (SL_IS_ANOMALY_RESULTS (self));
  /* The same evaluation read again (after storing a threshold): only what the threshold says. */
  if (e != NULL && e->id == self->evaluation_id
      && e->scores->len == self->good->len + self->defect->len)
    {
      take_threshold (self, e);
      show_threshold (self);
      return;
    }
  if (self->save_timer != 0)
    save_now (self);
  g_array_set_size (self->good, 0);
  g_array_set_size (self->defect, 0);
  g_free (self->split_words);
  self->split_words = g_strdup (split_words != NULL ? split_words : "evaluated");
  self->evaluation_id = e != NULL ? e->id : -1;
  self->run_id = e != NULL ? e->run_id : -1;
  for (guint i = 0; e != NULL && i < e->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (e->scores, i);

      g_array_append_val (s->defect ? self->defect : self->good, s->score);
      g_ptr_array_add (objects, sl_anomaly_item_new (s->image_id, s->original_path, s->hash, s->ext,
                                                     s->class_name, s->defect, s->score));
    }
  g_list_store_splice (self->items, 0, g_list_model_get_n_items (G_LIST_MODEL (self->items)),
                       objects->pdata, objects->len);
  if (e == NULL)
    {
      g_clear_object (&self->heatmaps);
      return;
    }
  take_threshold (self, e);
  show_summary (self, e);
  sl_score_histogram_set_scores (self->histogram, (double *) self->good->data, self->good->len,
                                 (double *) self->defect->data, self->defect->len);
  sl_roc_curve_set_scores (self->roc, (double *) self->good->data, self->good->len,
                           (double *) self->defect->data, self->defect->len);
  curve = self->good->len > 0 && self->defect->len > 0;
  gtk_stack_set_visible_child_name (self->roc_stack, curve ? "curve" : "none");
  gtk_widget_set_visible (self->roc_box, curve);
  gtk_label_set_text (self->histogram_title, self->defect->len == 0 ? "Scores of Good Images"
                                             : self->good->len == 0
                                                 ? "Scores of Defect Images"
                                                 : "Scores of Good and Defect Images");
  gtk_label_set_text (
      self->roc_note,
      self->defect->len == 0
          ? "No defect images to draw the trade-off with. Import images of defects as defect "
            "(Dataset page) to see how many the threshold catches."
          : "No good images to draw the trade-off with.");
  configure_spin (self);
  /* A new evaluation: maps of its run. */
  sl_anomaly_results_set_show_heatmaps (self, self->show_heatmaps);
  show_threshold (self);
}

/* ---- Accessors ------------------------------------------------------------------------------------ */

double
sl_anomaly_results_get_threshold (SlAnomalyResults *self)
{
  return self->threshold;
}

gboolean
sl_anomaly_results_get_threshold_manual (SlAnomalyResults *self)
{
  return self->manual;
}

const char *
sl_anomaly_results_get_auroc_text (SlAnomalyResults *self)
{
  return gtk_label_get_text (self->auroc_label);
}

const char *
sl_anomaly_results_get_false_reject_text (SlAnomalyResults *self)
{
  return gtk_label_get_text (self->false_reject_label);
}

const char *
sl_anomaly_results_get_escape_text (SlAnomalyResults *self)
{
  return gtk_label_get_text (self->escape_label);
}

const char *
sl_anomaly_results_get_statement (SlAnomalyResults *self)
{
  return gtk_label_get_text (self->statement_label);
}

SlScoreHistogram *
sl_anomaly_results_get_histogram (SlAnomalyResults *self)
{
  return self->histogram;
}

SlRocCurve *
sl_anomaly_results_get_roc_curve (SlAnomalyResults *self)
{
  return g_str_equal (gtk_stack_get_visible_child_name (self->roc_stack), "curve") ? self->roc
                                                                                   : NULL;
}

GtkSpinButton *
sl_anomaly_results_get_threshold_spin (SlAnomalyResults *self)
{
  return self->spin;
}

/* ---- Building ----------------------------------------------------------------------------------- */

GtkWidget *
_sl_anomaly_results_label_new (const char *text, float xalign, const char *css1, const char *css2)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  if (css1 != NULL)
    gtk_widget_add_css_class (label, css1);
  if (css2 != NULL)
    gtk_widget_add_css_class (label, css2);
  return label;
}

static GtkWidget *
wrap_label (GtkLabel *label)
{
  gtk_label_set_wrap (label, TRUE);
  gtk_label_set_wrap_mode (label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (label, 40);
  return GTK_WIDGET (label);
}

static GtkWidget *
build_summary (SlAnomalyResults *self)
{
  GtkWidget *panel = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  gtk_widget_add_css_class (panel, "sl-panel");
  gtk_box_append (GTK_BOX (panel),
                  _sl_anomaly_results_label_new ("AUROC", 0, "caption-heading", "dim-label"));
  self->auroc_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, "sl-big-number", "numeric"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->auroc_label),
                               "Area under the ROC curve: the chance that a defect image scores "
                               "higher than a good one");
  gtk_box_append (GTK_BOX (panel), GTK_WIDGET (self->auroc_label));
  self->auroc_detail = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, "dim-label", NULL));
  gtk_box_append (GTK_BOX (panel), wrap_label (self->auroc_detail));
  self->counts_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, "numeric", NULL));
  gtk_widget_set_margin_top (GTK_WIDGET (self->counts_label), 6);
  gtk_box_append (GTK_BOX (panel), wrap_label (self->counts_label));
  return panel;
}

static GtkWidget *
build_threshold (SlAnomalyResults *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *panel = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *title = _sl_anomaly_results_label_new ("_Threshold", 0, "dim-label", NULL);
  GtkWidget *caption;

  gtk_box_append (GTK_BOX (box), _sl_anomaly_results_label_new ("Threshold", 0, "heading", NULL));
  gtk_widget_add_css_class (panel, "sl-panel");
  gtk_label_set_use_underline (GTK_LABEL (title), TRUE);
  self->spin = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 1, 0.001));
  gtk_spin_button_set_numeric (self->spin, TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (self->spin), 7);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->spin),
                               "Images scoring above this are flagged as anomalous. Click or drag "
                               "on the histogram, or click the curve, to choose one.");
  gtk_label_set_mnemonic_widget (GTK_LABEL (title), GTK_WIDGET (self->spin));
  g_signal_connect_swapped (self->spin, "value-changed", G_CALLBACK (on_spin_changed), self);
  self->mode_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, "dim-label", NULL));
  gtk_widget_set_hexpand (GTK_WIDGET (self->mode_label), TRUE);
  self->reset_button = gtk_button_new_with_mnemonic ("_Reset to Automatic");
  gtk_widget_set_tooltip_text (self->reset_button,
                               "Use the threshold the run chose from its good validation images");
  g_signal_connect_swapped (self->reset_button, "clicked", G_CALLBACK (on_reset_clicked), self);
  gtk_box_append (GTK_BOX (row), title);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->spin));
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->mode_label));
  gtk_box_append (GTK_BOX (panel), row);
  gtk_box_append (GTK_BOX (panel), self->reset_button);
  gtk_widget_set_halign (self->reset_button, GTK_ALIGN_START);

  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  caption = _sl_anomaly_results_label_new ("Good parts rejected", 0, NULL, NULL);
  gtk_widget_set_tooltip_text (caption, "False-reject rate: good images scoring above the "
                                        "threshold, which the line would throw out");
  gtk_widget_set_hexpand (caption, TRUE);
  gtk_grid_attach (GTK_GRID (grid), caption, 0, 0, 1, 1);
  self->false_reject_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 1, "numeric", NULL));
  gtk_label_set_wrap (self->false_reject_label, TRUE);
  gtk_label_set_justify (self->false_reject_label, GTK_JUSTIFY_RIGHT);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->false_reject_label), 1, 0, 1, 1);
  caption = _sl_anomaly_results_label_new ("Defects missed", 0, NULL, NULL);
  gtk_widget_set_tooltip_text (caption, "Escape rate: defect images scoring at or below the "
                                        "threshold, which the line would pass");
  gtk_grid_attach (GTK_GRID (grid), caption, 0, 1, 1, 1);
  self->escape_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 1, "numeric", NULL));
  gtk_label_set_wrap (self->escape_label, TRUE);
  gtk_label_set_justify (self->escape_label, GTK_JUSTIFY_RIGHT);
  gtk_label_set_max_width_chars (self->escape_label, 22);
  gtk_label_set_max_width_chars (self->false_reject_label, 22);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->escape_label), 1, 1, 1, 1);
  gtk_box_append (GTK_BOX (panel), grid);
  self->statement_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, NULL, NULL));
  gtk_box_append (GTK_BOX (panel), wrap_label (self->statement_label));
  self->auto_label = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, "dim-label", "caption"));
  gtk_box_append (GTK_BOX (panel), wrap_label (self->auto_label));
  gtk_box_append (GTK_BOX (box), panel);
  return box;
}

static GtkWidget *
build_left (SlAnomalyResults *self)
{
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *column = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_width (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  /* Wide screens give the room to the charts and the gallery. */
  gtk_scrolled_window_set_max_content_width (GTK_SCROLLED_WINDOW (scrolled), 400);
  /* Its own width: the threshold panel's expanding rows must not widen it. */
  gtk_widget_set_hexpand (scrolled, FALSE);
  gtk_widget_add_css_class (column, "sl-evaluate-column");
  gtk_widget_set_size_request (column, 320, -1);
  gtk_box_append (GTK_BOX (column), build_summary (self));
  gtk_box_append (GTK_BOX (column), build_threshold (self));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), column);
  return scrolled;
}

static GtkWidget *
chart_box (const char *title, GtkWidget *chart)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  gtk_box_append (GTK_BOX (box), _sl_anomaly_results_label_new (title, 0, "heading", NULL));
  gtk_widget_set_vexpand (chart, TRUE);
  gtk_box_append (GTK_BOX (box), chart);
  return box;
}

static GtkWidget *
build_charts (SlAnomalyResults *self)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *histogram_box;

  gtk_widget_add_css_class (row, "sl-matrix-area");
  /* Its own height, whatever the charts would take: the rest is the gallery's. */
  gtk_widget_set_size_request (row, -1, 214);
  gtk_widget_set_vexpand (row, FALSE);
  self->histogram = SL_SCORE_HISTOGRAM (sl_score_histogram_new ());
  g_signal_connect (self->histogram, "threshold-picked", G_CALLBACK (on_picked), self);
  histogram_box = chart_box ("Scores of Good and Defect Images", GTK_WIDGET (self->histogram));
  self->histogram_title = GTK_LABEL (gtk_widget_get_first_child (histogram_box));
  gtk_widget_set_hexpand (histogram_box, TRUE);
  gtk_box_append (GTK_BOX (row), histogram_box);

  self->roc_stack = GTK_STACK (gtk_stack_new ());
  self->roc = SL_ROC_CURVE (sl_roc_curve_new ());
  g_signal_connect (self->roc, "threshold-picked", G_CALLBACK (on_picked), self);
  gtk_stack_add_named (self->roc_stack, GTK_WIDGET (self->roc), "curve");
  self->roc_note = GTK_LABEL (_sl_anomaly_results_label_new ("", 0.5, "dim-label", NULL));
  gtk_label_set_wrap (self->roc_note, TRUE);
  gtk_label_set_justify (self->roc_note, GTK_JUSTIFY_CENTER);
  gtk_label_set_max_width_chars (self->roc_note, 28);
  gtk_stack_add_named (self->roc_stack, GTK_WIDGET (self->roc_note), "none");
  self->roc_box = chart_box ("Defects Caught vs Good Rejected", GTK_WIDGET (self->roc_stack));
  gtk_widget_set_size_request (self->roc_box, 250, -1);
  gtk_box_append (GTK_BOX (row), self->roc_box);
  return row;
}

static void
build (SlAnomalyResults *self)
{
  GtkWidget *root = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  gtk_box_append (GTK_BOX (root), build_left (self));
  gtk_box_append (GTK_BOX (root), gtk_separator_new (GTK_ORIENTATION_VERTICAL));
  gtk_widget_set_hexpand (right, TRUE);
  gtk_box_append (GTK_BOX (right), build_charts (self));
  gtk_box_append (GTK_BOX (right), _sl_anomaly_results_build_gallery (self));
  gtk_box_append (GTK_BOX (root), right);
  gtk_widget_set_parent (root, GTK_WIDGET (self));
}

/* ---- Object ----------------------------------------------------------------------------------- */

static void
sl_anomaly_results_dispose (GObject *object)
{
  SlAnomalyResults *self = SL_ANOMALY_RESULTS (object);

  if (self->save_timer != 0)
    save_now (self);
  if (self->grid != NULL)
    gtk_grid_view_set_model (self->grid, NULL);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  self->grid = NULL;
  g_clear_object (&self->filtered);
  g_clear_object (&self->filter);
  g_clear_object (&self->items);
  g_clear_object (&self->heatmaps);
  g_clear_object (&self->thumbs);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_anomaly_results_parent_class)->dispose (object);
}

static void
sl_anomaly_results_finalize (GObject *object)
{
  SlAnomalyResults *self = SL_ANOMALY_RESULTS (object);

  g_array_unref (self->good);
  g_array_unref (self->defect);
  g_free (self->auto_statement);
  g_free (self->eval_statement);
  g_free (self->split_words);
  G_OBJECT_CLASS (sl_anomaly_results_parent_class)->finalize (object);
}

static void
sl_anomaly_results_class_init (SlAnomalyResultsClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_anomaly_results_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_anomaly_results_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "anomalyresults");
  _sl_anomaly_results_install_gallery_actions (widget_class);
  signals[THRESHOLD_STORED] = g_signal_new ("threshold-stored", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_anomaly_results_init (SlAnomalyResults *self)
{
  self->good = g_array_new (FALSE, FALSE, sizeof (double));
  self->defect = g_array_new (FALSE, FALSE, sizeof (double));
  self->threshold = self->auto_threshold = self->eval_threshold = NAN;
  self->run_id = self->evaluation_id = -1;
}

GtkWidget *
sl_anomaly_results_new (SlSession *session, int threads)
{
  SlAnomalyResults *self = g_object_new (SL_TYPE_ANOMALY_RESULTS, NULL);

  self->session = g_object_ref (session);
  self->threads = threads;
  self->thumbs = sl_thumbnail_cache_new (sl_session_get_path (session), PICTURE_SIZE, 0);
  build (self);
  return GTK_WIDGET (self);
}
