/* sl-evaluate-page-results.c: the Evaluate page's numbers: summary, per-class table, confusion matrix, reject threshold. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-evaluate-page-private.h"

#include <math.h>

#include "sl-color-swatch.h"
#include "sl-prediction-card.h"

/* Threshold edits reach the project this long after the slider stops. */
#define SAVE_DELAY_MS 400
/* The slider's position when no threshold was stored yet. */
#define DEFAULT_THRESHOLD 80

/* ---- Classes ------------------------------------------------------------------------------ */

void
_sl_evaluate_page_fill_class_table (SlEvaluatePage *self)
{
  g_clear_pointer (&self->class_table, g_hash_table_unref);
  self->class_table = g_hash_table_new (g_int64_hash, g_int64_equal);
  if (self->data == NULL)
    return;
  for (guint i = 0; i < self->data->classes->len; i++)
    {
      SlClass *klass = g_ptr_array_index (self->data->classes, i);

      g_hash_table_insert (self->class_table, &klass->id, klass);
    }
}

/* The project's name and colour for a model class (it may have been renamed
 * since training); the name it had when trained when it is gone. */
void
_sl_evaluate_page_model_class (SlEvaluatePage *self, int index, const char **name,
                               const char **color)
{
  const SlRunInfo *run = self->data->run;
  SlClass *klass = g_hash_table_lookup (self->class_table, &run->class_ids[index]);

  *name = klass != NULL ? klass->name : g_ptr_array_index (run->class_names, index);
  *color = klass != NULL ? klass->color : NULL;
}

/* ---- Summary and table ------------------------------------------------------------------------ */

static char *
percent (double fraction)
{
  return isnan (fraction) ? g_strdup ("—") : g_strdup_printf ("%.1f %%", 100.0 * fraction);
}

static GtkWidget *
table_label (const char *text, float xalign, const char *style, const char *tooltip)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  if (style != NULL)
    {
      g_auto (GStrv) classes = g_strsplit (style, " ", -1);
      for (char **c = classes; *c != NULL; c++)
        gtk_widget_add_css_class (label, *c);
    }
  if (tooltip != NULL)
    gtk_widget_set_tooltip_text (label, tooltip);
  return label;
}

static void
clear_grid (GtkGrid *grid)
{
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL;)
    gtk_grid_remove (grid, child);
}

static void
fill_class_grid (SlEvaluatePage *self)
{
  static const struct
  {
    const char *title, *tooltip;
  } columns[] = {
    { "Precision", "Of the images the model called this class, the share that really are" },
    { "Recall", "Of the images of this class, the share the model recognised" },
    { "F1", "Precision and recall in one number: high only when both are high" },
    { "Images", "Images of this class that were evaluated" },
  };
  const SlEvaluation *e = self->data->evaluation;

  clear_grid (self->class_grid);
  gtk_grid_attach (self->class_grid, table_label ("Class", 0, "caption-heading dim-label", NULL), 0,
                   0, 2, 1);
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    gtk_grid_attach (
        self->class_grid,
        table_label (columns[c].title, 1, "caption-heading dim-label", columns[c].tooltip), 2 + c,
        0, 1, 1);
  for (int k = 0; k < e->classes; k++)
    {
      const char *name, *color;
      GtkWidget *swatch = sl_color_swatch_new ();
      GtkWidget *label;
      g_autofree char *precision = percent (e->precision[k]);
      g_autofree char *recall = percent (e->support[k] > 0 ? e->recall[k] : NAN);
      g_autofree char *f1 = percent (e->support[k] > 0 ? e->f1[k] : NAN);
      g_autofree char *support = g_strdup_printf ("%'" G_GINT64_FORMAT, e->support[k]);

      _sl_evaluate_page_model_class (self, k, &name, &color);
      sl_color_swatch_set_color (SL_COLOR_SWATCH (swatch), color);
      gtk_grid_attach (self->class_grid, swatch, 0, k + 1, 1, 1);
      label = table_label (name, 0, NULL, name);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_widget_set_hexpand (label, TRUE);
      gtk_grid_attach (self->class_grid, label, 1, k + 1, 1, 1);
      gtk_grid_attach (self->class_grid, table_label (precision, 1, "numeric", NULL), 2, k + 1, 1,
                       1);
      gtk_grid_attach (self->class_grid, table_label (recall, 1, "numeric", NULL), 3, k + 1, 1, 1);
      gtk_grid_attach (self->class_grid, table_label (f1, 1, "numeric", NULL), 4, k + 1, 1, 1);
      gtk_grid_attach (self->class_grid, table_label (support, 1, "numeric dim-label", NULL), 5,
                       k + 1, 1, 1);
    }
}

static void
fill_summary (SlEvaluatePage *self)
{
  const SlEvaluation *e = self->data->evaluation;
  gint64 correct = 0;
  g_autofree char *accuracy = percent (e->accuracy);
  g_autofree char *f1 = percent (e->macro_f1);
  g_autofree char *mistakes = NULL;
  g_autofree char *detail = NULL;

  for (int k = 0; k < e->classes; k++)
    correct += e->confusion[k * e->classes + k];
  mistakes = g_strdup_printf ("%'" G_GINT64_FORMAT, e->images - correct);
  detail = g_strdup_printf ("%'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT
                            " %s images classified correctly",
                            correct, e->images, e->split == SL_SPLIT_VAL ? "validation" : "test");
  gtk_label_set_text (self->accuracy_label, accuracy);
  gtk_label_set_text (self->accuracy_detail, detail);
  gtk_label_set_text (self->f1_label, f1);
  gtk_label_set_text (self->mistakes_label, mistakes);
}

/* The gallery's header and one row of cards, so that the divider never hides a card's labels
 * or buttons: measured on a shown card, or else on an empty one plus what its picture and fix
 * button add once bound (about 40 px). */
static int
gallery_row_height (SlEvaluatePage *self)
{
  GtkWidget *header = gtk_widget_get_parent (GTK_WIDGET (self->gallery_title));
  GtkWidget *shown = gtk_widget_get_first_child (GTK_WIDGET (self->grid));
  int card_height = 0, header_height, height;

  for (; shown != NULL; shown = gtk_widget_get_next_sibling (shown))
    {
      GtkWidget *card = gtk_widget_get_first_child (shown);

      if (SL_IS_PREDICTION_CARD (card) && sl_prediction_card_get_item (SL_PREDICTION_CARD (card)))
        {
          gtk_widget_measure (card, GTK_ORIENTATION_VERTICAL, -1, NULL, &height, NULL, NULL);
          card_height = MAX (card_height, height);
        }
    }
  if (card_height == 0)
    {
      GtkWidget *card = g_object_ref_sink (sl_prediction_card_new (self->thumbs, NULL, NULL, NULL));

      gtk_widget_measure (card, GTK_ORIENTATION_VERTICAL, -1, NULL, &card_height, NULL, NULL);
      card_height += 48;
      g_object_unref (card);
    }
  gtk_widget_measure (header, GTK_ORIENTATION_VERTICAL, -1, NULL, &header_height, NULL, NULL);
  return header_height + card_height + 2 * (6 + 6) + 8; /* grid and child padding, a margin */
}

void
_sl_evaluate_page_place_divider (SlEvaluatePage *self)
{
  int natural, minimum, width, height, position;

  width = gtk_widget_get_width (GTK_WIDGET (self->right_paned));
  height = gtk_widget_get_height (GTK_WIDGET (self->right_paned));
  gtk_widget_measure (GTK_WIDGET (self->matrix), GTK_ORIENTATION_VERTICAL,
                      width > 0 ? width - 36 : 760, &minimum, &natural, NULL, NULL);
  /* The matrix gets the room it asks for, up to about half of the page, and never so much
   * that the first row of mistakes is cut. */
  position = MAX (minimum, MIN (natural, 380)) + 50;
  if (height > 0)
    position = MAX (minimum + 50, MIN (position, height - gallery_row_height (self)));
  gtk_paned_set_position (self->right_paned, position);
}

static void
fill_matrix (SlEvaluatePage *self)
{
  const SlEvaluation *e = self->data->evaluation;
  g_autofree const char **names = g_new0 (const char *, e->classes + 1);

  for (int k = 0; k < e->classes; k++)
    {
      const char *color;
      _sl_evaluate_page_model_class (self, k, &names[k], &color);
    }
  sl_confusion_matrix_set_data (self->matrix, e->classes, names, e->confusion);
  _sl_evaluate_page_place_divider (self);
}

void
_sl_evaluate_page_show_results (SlEvaluatePage *self)
{
  if (self->data == NULL || self->data->evaluation == NULL)
    {
      sl_confusion_matrix_set_data (self->matrix, 0, NULL, NULL);
      clear_grid (self->class_grid);
      gtk_label_set_text (self->accuracy_label, "");
      return;
    }
  fill_summary (self);
  fill_class_grid (self);
  fill_matrix (self);
  _sl_evaluate_page_update_threshold (self);
}

/* ---- The reject threshold --------------------------------------------------------------------- */

static double
threshold_fraction (SlEvaluatePage *self)
{
  return round (gtk_adjustment_get_value (self->threshold_adjustment)) / 100.0;
}

void
_sl_evaluate_page_load_threshold (SlEvaluatePage *self)
{
  double value = 0;
  gboolean enabled = sl_session_get_reject_threshold (self->session, &value) && value > 0;

  g_signal_handlers_block_by_func (self->threshold_adjustment,
                                   _sl_evaluate_page_on_threshold_changed, self);
  g_signal_handlers_block_by_func (self->threshold_switch, _sl_evaluate_page_on_threshold_changed,
                                   self);
  gtk_adjustment_set_value (self->threshold_adjustment,
                            enabled ? round (100 * value) : DEFAULT_THRESHOLD);
  gtk_switch_set_active (self->threshold_switch, enabled);
  g_signal_handlers_unblock_by_func (self->threshold_adjustment,
                                     _sl_evaluate_page_on_threshold_changed, self);
  g_signal_handlers_unblock_by_func (self->threshold_switch, _sl_evaluate_page_on_threshold_changed,
                                     self);
  _sl_evaluate_page_update_threshold (self);
}

void
_sl_evaluate_page_save_threshold_now (SlEvaluatePage *self)
{
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&self->save_timer, g_source_remove);
  if (!sl_session_set_reject_threshold (self->session,
                                        _sl_evaluate_page_get_reject_threshold (self), &error))
    g_warning ("Could not store the reject threshold: %s", error->message);
}

static gboolean
save_threshold (gpointer data)
{
  SlEvaluatePage *self = data;

  self->save_timer = 0;
  _sl_evaluate_page_save_threshold_now (self);
  return G_SOURCE_REMOVE;
}

double
_sl_evaluate_page_get_reject_threshold (SlEvaluatePage *self)
{
  return gtk_switch_get_active (self->threshold_switch) ? threshold_fraction (self) : 0;
}

gboolean
sl_evaluate_page_get_threshold_stats (SlEvaluatePage *self, SlThresholdStats *stats)
{
  g_return_val_if_fail (SL_IS_EVALUATE_PAGE (self), FALSE);

  if (self->data == NULL || self->data->predictions == NULL)
    return FALSE;
  sl_threshold_stats (
      (SlImagePrediction *const *) self->data->predictions->pdata, self->data->predictions->len,
      gtk_switch_get_active (self->threshold_switch) ? threshold_fraction (self) : 0, stats);
  return TRUE;
}

void
_sl_evaluate_page_update_threshold (SlEvaluatePage *self)
{
  gboolean enabled = gtk_switch_get_active (self->threshold_switch);
  double threshold = threshold_fraction (self);
  g_autofree char *value = g_strdup_printf ("%.0f %%", 100 * threshold);
  g_autofree char *hint = NULL;
  SlThresholdStats s;

  gtk_label_set_text (self->threshold_value, value);
  _sl_evaluate_page_update_cards (self);
  gtk_widget_set_sensitive (self->threshold_box, enabled);
  gtk_widget_set_visible (self->threshold_grid, enabled);
  if (!enabled)
    hint = g_strdup ("Every image gets a class, however unsure the model is. Turn this on to "
                     "send unsure images to a person instead.");
  else if (!sl_evaluate_page_get_threshold_stats (self, &s))
    hint = g_strdup ("");
  else
    {
      g_autofree char *accuracy = percent (s.accuracy_accepted);
      g_autofree char *rejected = percent (s.reject_rate);
      g_autofree char *caught
          = s.mistakes > 0
                ? g_strdup_printf ("%.0f %% (%'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT ")",
                                   100 * s.mistakes_caught, s.mistakes_rejected, s.mistakes)
                : g_strdup ("no mistakes");

      gtk_label_set_text (self->accepted_accuracy_label, accuracy);
      gtk_label_set_text (self->reject_rate_label, rejected);
      gtk_label_set_text (self->mistakes_caught_label, caught);
      if (s.accepted == 0)
        hint = g_strdup_printf ("At %.0f %% every image would be rejected: lower the threshold.",
                                100 * threshold);
      else
        hint = g_strdup_printf ("At %.0f %%: %.1f %% accurate on the %.0f %% of images it accepts. "
                                "The line runs with this threshold when you export the model.",
                                100 * threshold, 100 * s.accuracy_accepted,
                                100 * (1 - s.reject_rate));
    }
  gtk_label_set_text (self->threshold_hint, hint);
}

void
_sl_evaluate_page_on_threshold_changed (SlEvaluatePage *self)
{
  _sl_evaluate_page_update_threshold (self);
  g_clear_handle_id (&self->save_timer, g_source_remove);
  self->save_timer = g_timeout_add (SAVE_DELAY_MS, save_threshold, self);
}

void
sl_evaluate_page_set_threshold (SlEvaluatePage *self, gboolean enabled, double threshold)
{
  g_return_if_fail (SL_IS_EVALUATE_PAGE (self));
  gtk_adjustment_set_value (self->threshold_adjustment, round (100 * CLAMP (threshold, 0, 1)));
  gtk_switch_set_active (self->threshold_switch, enabled);
  _sl_evaluate_page_save_threshold_now (self);
}
