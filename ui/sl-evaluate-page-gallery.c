/* sl-evaluate-page-gallery.c: the Evaluate page's gallery: the images behind a confusion cell, and fixing their labels. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-evaluate-page-private.h"

#include <math.h>

#include "sl-prediction-card.h"
#include "sl-settings.h"

/* Label edits of more images than this are followed by reading the evaluation
 * again on a worker, not image by image here. */
#define MAX_FOLLOWED 256

/* ---- Classes for the cards ------------------------------------------------------------------- */

static gboolean
card_class (gint64 class_id, const char **name, const char **color, gpointer data)
{
  SlEvaluatePage *self = data;
  SlClass *klass;

  if (self->data == NULL)
    return FALSE;
  if ((klass = g_hash_table_lookup (self->class_table, &class_id)) != NULL)
    {
      *name = klass->name;
      *color = klass->color;
      return TRUE;
    }
  /* Gone from the project: the name it had when the run was trained. */
  for (guint c = 0; c < self->data->run->class_names->len; c++)
    if (self->data->run->class_ids[c] == class_id)
      *name = g_ptr_array_index (self->data->run->class_names, c);
  return FALSE;
}

static GMenuModel *
card_menu (SlPredictionObject *item, gpointer data)
{
  SlEvaluatePage *self = data;
  gint64 id = sl_prediction_object_get_image_id (item);
  gboolean ignored = sl_prediction_object_get_ignored (item);
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) classes = g_menu_new ();
  g_autoptr (GMenu) other = g_menu_new ();
  g_autoptr (GMenuItem) ignore = NULL;

  for (guint i = 0; self->data != NULL && i < self->data->classes->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (self->data->classes, i);
      g_autoptr (GMenuItem) entry = NULL;

      if (klass->id == sl_prediction_object_get_class_id (item))
        continue;
      entry = g_menu_item_new (klass->name, NULL);
      g_menu_item_set_action_and_target_value (entry, "evaluate.label-as",
                                               g_variant_new ("(xx)", id, klass->id));
      g_menu_append_item (classes, entry);
    }
  g_menu_append_section (menu, "Label As", G_MENU_MODEL (classes));
  ignore = g_menu_item_new (ignored ? "Use Image Again" : "Ignore Image", NULL);
  g_menu_item_set_action_and_target_value (ignore, "evaluate.set-ignored",
                                           g_variant_new ("(xb)", id, !ignored));
  g_menu_append_item (other, ignore);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (other));
  return G_MENU_MODEL (g_steal_pointer (&menu));
}

/* ---- The grid ------------------------------------------------------------------------------------ */

static void
setup_card (GtkSignalListItemFactory *factory, GtkListItem *item, SlEvaluatePage *self)
{
  gtk_list_item_set_child (item,
                           sl_prediction_card_new (self->thumbs, card_class, card_menu, self));
  gtk_list_item_set_activatable (item, FALSE);
}

static void
bind_card (GtkSignalListItemFactory *factory, GtkListItem *item, SlEvaluatePage *self)
{
  SlPredictionCard *card = SL_PREDICTION_CARD (gtk_list_item_get_child (item));

  sl_prediction_card_set_reject_threshold (card, _sl_evaluate_page_get_reject_threshold (self));
  sl_prediction_card_set_heatmaps (card, self->gradcam);
  sl_prediction_card_bind (card, gtk_list_item_get_item (item));
}

void
_sl_evaluate_page_update_cards (SlEvaluatePage *self)
{
  double threshold = _sl_evaluate_page_get_reject_threshold (self);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->grid)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);

      if (SL_IS_PREDICTION_CARD (card))
        {
          sl_prediction_card_set_reject_threshold (SL_PREDICTION_CARD (card), threshold);
          sl_prediction_card_set_heatmaps (SL_PREDICTION_CARD (card), self->gradcam);
        }
    }
}

/* ---- What drove the decision ---------------------------------------------------------------- */

/* Grad-CAM of the predicted class on each card, made by a worker for the cards shown; a
 * new run gets its own. */
void
_sl_evaluate_page_set_gradcam (SlEvaluatePage *self, gboolean show)
{
  gint64 run_id = self->data != NULL && self->data->evaluation != NULL ? self->data->run_id : -1;
  g_autoptr (GSettings) settings = NULL;

  if (show && run_id >= 0 && self->gradcam != NULL && self->gradcam_run == run_id)
    return;
  g_clear_object (&self->gradcam);
  self->gradcam_run = -1;
  if (show && run_id >= 0)
    {
      settings = sl_app_settings_new ("threads");
      self->gradcam = sl_heatmap_cache_new (
          sl_session_get_path (self->session), run_id, SL_HEATMAP_CLASS, NAN,
          sl_thumbnail_cache_get_size (self->thumbs),
          settings != NULL ? MAX (0, g_settings_get_int (settings, "threads")) : 0);
      self->gradcam_run = run_id;
    }
  _sl_evaluate_page_update_cards (self);
}

void
_sl_evaluate_page_on_gradcam_toggled (SlEvaluatePage *self)
{
  _sl_evaluate_page_set_gradcam (self, gtk_switch_get_active (self->gradcam_switch));
}

static void
unbind_card (GtkSignalListItemFactory *factory, GtkListItem *item, SlEvaluatePage *self)
{
  sl_prediction_card_unbind (SL_PREDICTION_CARD (gtk_list_item_get_child (item)));
}

static gboolean
match_item (gpointer item, gpointer data)
{
  SlEvaluatePage *self = data;
  SlPredictionObject *p = item;

  if (self->filter_t < 0)
    return sl_prediction_object_is_mistake (p);
  return sl_prediction_object_get_true_class (p) == self->filter_t
         && sl_prediction_object_get_predicted_class (p) == self->filter_p;
}

void
_sl_evaluate_page_update_gallery_header (SlEvaluatePage *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->filtered));
  gboolean cell = self->filter_t >= 0;
  g_autofree char *subtitle = NULL;
  g_autofree char *empty = NULL;

  gtk_widget_set_visible (self->filter_chip, cell);
  gtk_widget_set_visible (GTK_WIDGET (self->gallery_title), !cell);
  if (cell && self->data != NULL)
    {
      const char *t_name, *p_name, *color;
      g_autofree char *chip = NULL;

      _sl_evaluate_page_model_class (self, self->filter_t, &t_name, &color);
      _sl_evaluate_page_model_class (self, self->filter_p, &p_name, &color);
      chip = g_strdup_printf ("True: %s → Predicted: %s", t_name, p_name);
      gtk_label_set_text (self->filter_chip_label, chip);
    }
  if (n > 0)
    subtitle = g_strdup_printf ("%'u image%s, most confident first", n, n == 1 ? "" : "s");
  gtk_label_set_text (self->gallery_subtitle, subtitle != NULL ? subtitle : "");
  if (cell)
    empty = g_strdup ("No images here: the model never gave this answer for this class.");
  else if (self->data != NULL && self->data->evaluation != NULL)
    empty = g_strdup_printf ("No mistakes: the model classified all %'" G_GINT64_FORMAT
                             " images correctly.",
                             self->data->evaluation->images);
  gtk_label_set_text (self->gallery_empty_label, empty != NULL ? empty : "");
  gtk_image_set_from_icon_name (self->gallery_empty_icon,
                                cell ? "folder-pictures-symbolic" : "emblem-ok-symbolic");
  gtk_stack_set_visible_child_name (self->gallery_stack, n > 0 ? "grid" : "empty");
}

static void
on_filtered_changed (GListModel *model, guint position, guint removed, guint added,
                     SlEvaluatePage *self)
{
  _sl_evaluate_page_update_gallery_header (self);
}

void
_sl_evaluate_page_setup_gallery (SlEvaluatePage *self)
{
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr (GtkNoSelection) selection = NULL;

  self->items = g_list_store_new (SL_TYPE_PREDICTION_OBJECT);
  self->item_by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->filter = gtk_custom_filter_new (match_item, self, NULL);
  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->items)),
                                              GTK_FILTER (g_object_ref (self->filter)));
  g_signal_connect_object (self->filtered, "items-changed", G_CALLBACK (on_filtered_changed), self,
                           0);
  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->filtered)));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_card), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_card), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_card), self);
  gtk_grid_view_set_factory (self->grid, factory);
  gtk_grid_view_set_model (self->grid, GTK_SELECTION_MODEL (selection));
}

void
_sl_evaluate_page_fill_gallery (SlEvaluatePage *self)
{
  g_autoptr (GPtrArray) objects = g_ptr_array_new_with_free_func (g_object_unref);
  const SlEvalData *d = self->data;

  g_hash_table_remove_all (self->item_by_id);
  for (guint i = 0; d != NULL && d->predictions != NULL && i < d->predictions->len; i++)
    {
      const SlImagePrediction *p = g_ptr_array_index (d->predictions, i);
      const SlEvalImageState *state = &g_array_index (d->states, SlEvalImageState, i);
      SlPredictionObject *item = sl_prediction_object_new (p, d->run->class_ids);

      sl_prediction_object_set_state (item, state->class_id, state->ignored, state->in_split);
      g_hash_table_insert (self->item_by_id, g_memdup2 (&p->image_id, sizeof (gint64)), item);
      g_ptr_array_add (objects, item);
    }
  _sl_evaluate_page_set_gradcam (self, gtk_switch_get_active (self->gradcam_switch));
  g_list_store_splice (self->items, 0, g_list_model_get_n_items (G_LIST_MODEL (self->items)),
                       objects->pdata, objects->len);
  _sl_evaluate_page_follow_labels (self, NULL, 0);
  _sl_evaluate_page_update_gallery_header (self);
}

/* ---- Choosing what the gallery shows ------------------------------------------------------------ */

void
_sl_evaluate_page_show_cell (SlEvaluatePage *self, int true_class, int predicted_class)
{
  int n
      = self->data != NULL && self->data->evaluation != NULL ? self->data->evaluation->classes : 0;

  if (true_class < 0 || predicted_class < 0 || true_class >= n || predicted_class >= n)
    true_class = predicted_class = -1;
  self->filter_t = true_class;
  self->filter_p = predicted_class;
  sl_confusion_matrix_set_selected (self->matrix, true_class, predicted_class);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  if (g_list_model_get_n_items (G_LIST_MODEL (self->filtered)) > 0)
    gtk_widget_activate_action (GTK_WIDGET (self->grid), "list.scroll-to-item", "u", 0);
  _sl_evaluate_page_update_gallery_header (self);
  _sl_evaluate_page_update_actions (self);
}

/* A second click on the shown cell goes back to every mistake. */
void
_sl_evaluate_page_on_cell_activated (SlEvaluatePage *self, int true_class, int predicted_class)
{
  if (true_class == self->filter_t && predicted_class == self->filter_p)
    _sl_evaluate_page_show_cell (self, -1, -1);
  else
    _sl_evaluate_page_show_cell (self, true_class, predicted_class);
}

static void
show_cell_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  int t, p;

  g_variant_get (param, "(ii)", &t, &p);
  _sl_evaluate_page_show_cell (SL_EVALUATE_PAGE (widget), t, p);
}

static void
clear_filter_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  _sl_evaluate_page_show_cell (SL_EVALUATE_PAGE (widget), -1, -1);
}

/* ---- Fixing labels ---------------------------------------------------------------------------------- */

static void
report (SlEvaluatePage *self, const char *title, const GError *error)
{
  if (!gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)", title,
                                   error->message))
    g_message ("%s: %s", title, error->message);
}

static void
label_image (SlEvaluatePage *self, gint64 image_id, gint64 class_id)
{
  g_autoptr (GError) error = NULL;

  if (!sl_session_set_labels (self->session, &image_id, 1, class_id, &error))
    report (self, "Could not change the label", error);
}

static void
label_predicted_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (widget);
  gint64 id = g_variant_get_int64 (param);
  SlPredictionObject *item = g_hash_table_lookup (self->item_by_id, &id);

  if (item != NULL && sl_prediction_object_get_predicted_class_id (item) >= 0)
    label_image (self, id, sl_prediction_object_get_predicted_class_id (item));
}

static void
label_as_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  gint64 id, class_id;

  g_variant_get (param, "(xx)", &id, &class_id);
  label_image (SL_EVALUATE_PAGE (widget), id, class_id);
}

static void
set_ignored_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlEvaluatePage *self = SL_EVALUATE_PAGE (widget);
  g_autoptr (GError) error = NULL;
  gboolean ignored;
  gint64 id;

  g_variant_get (param, "(xb)", &id, &ignored);
  if (!sl_session_set_ignored (self->session, &id, 1, ignored, &error))
    report (self, ignored ? "Could not ignore the image" : "Could not use the image again", error);
}

void
_sl_evaluate_page_install_gallery_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "evaluate.show-cell", "(ii)", show_cell_action);
  gtk_widget_class_install_action (widget_class, "evaluate.clear-filter", NULL,
                                   clear_filter_action);
  gtk_widget_class_install_action (widget_class, "evaluate.label-predicted", "x",
                                   label_predicted_action);
  gtk_widget_class_install_action (widget_class, "evaluate.label-as", "(xx)", label_as_action);
  gtk_widget_class_install_action (widget_class, "evaluate.set-ignored", "(xb)",
                                   set_ignored_action);
}

/* ---- Following label edits ---------------------------------------------------------------------------- */

static gboolean
evaluable (const SlEvalData *d, gint64 class_id, gboolean ignored, gboolean in_split)
{
  if (class_id < 0 || ignored || !in_split)
    return FALSE;
  for (guint c = 0; c < d->run->class_names->len; c++)
    if (d->run->class_ids[c] == class_id)
      return TRUE;
  return FALSE;
}

/* One image, as the project has it now. */
static void
follow_image (SlEvaluatePage *self, gint64 id)
{
  SlEvalData *d = self->data;
  SlProject *project = sl_session_get_project (self->session);
  g_autoptr (GError) error = NULL;
  SlImageInfo *info = sl_project_get_image (project, id, &error);
  SlPredictionObject *item = g_hash_table_lookup (self->item_by_id, &id);
  gboolean was, now;

  now = info != NULL && evaluable (d, info->class_id, info->ignored, info->split == d->split);
  if (item != NULL)
    {
      was = evaluable (d, sl_prediction_object_get_class_id (item),
                       sl_prediction_object_get_ignored (item),
                       sl_prediction_object_get_in_split (item));
      if (info != NULL)
        sl_prediction_object_set_state (item, info->class_id, info->ignored,
                                        info->split == d->split);
      else
        sl_prediction_object_set_state (item, -1, TRUE, FALSE); /* removed */
    }
  else
    {
      was = g_hash_table_contains (d->extras, &id);
      if (now)
        g_hash_table_add (d->extras, g_memdup2 (&id, sizeof id));
      else
        g_hash_table_remove (d->extras, &id);
    }
  d->split_images += (gint64) now - (gint64) was;
  sl_image_info_free (info);
}

void
_sl_evaluate_page_follow_labels (SlEvaluatePage *self, const gint64 *ids, guint n)
{
  gboolean out_of_date = FALSE;
  guint count;

  if (self->data == NULL)
    return;
  if (self->loading)
    {
      /* The evaluation being read again may predate this edit: read it once more. */
      if (n > 0)
        _sl_evaluate_page_reload (self);
      return;
    }
  if (n > MAX_FOLLOWED || (n > 0 && self->data->evaluation == NULL))
    {
      /* Many images (a new split, a merge), or the split's images may have changed. */
      _sl_evaluate_page_reload (self);
      return;
    }
  for (guint i = 0; i < n; i++)
    follow_image (self, ids[i]);
  count = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  for (guint i = 0; i < count && !out_of_date; i++)
    {
      g_autoptr (SlPredictionObject) item = g_list_model_get_item (G_LIST_MODEL (self->items), i);
      out_of_date = sl_prediction_object_get_changed (item);
    }
  self->out_of_date
      = out_of_date || g_hash_table_size (self->data->extras) > 0 || self->data->anomaly_changed;
  _sl_evaluate_page_update_status (self);
  _sl_evaluate_page_update_actions (self);
}
