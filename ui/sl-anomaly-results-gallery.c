/* sl-anomaly-results-gallery.c: the anomaly results' gallery: images highest score first, their verdicts at the threshold, heatmap overlays. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-anomaly-results-private.h"

void
_sl_anomaly_results_update_cards (SlAnomalyResults *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->grid)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);

      if (SL_IS_ANOMALY_CARD (card))
        {
          sl_anomaly_card_set_threshold (SL_ANOMALY_CARD (card), self->threshold);
          sl_anomaly_card_set_heatmaps (SL_ANOMALY_CARD (card), self->heatmaps);
        }
    }
}

void
_sl_anomaly_results_update_gallery_header (SlAnomalyResults *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->filtered));
  g_autofree char *subtitle
      = n > 0 ? g_strdup_printf ("%'u image%s, highest score first", n, n == 1 ? "" : "s")
              : g_strdup ("");

  gtk_label_set_text (self->gallery_subtitle, subtitle);
  gtk_label_set_text (self->gallery_empty_label,
                      self->only_wrong ? "No false rejects and no missed defects at this threshold."
                                       : "No images were evaluated.");
  gtk_stack_set_visible_child_name (self->gallery_stack, n > 0 ? "grid" : "empty");
}

/* ---- Heatmaps --------------------------------------------------------------------------------- */

void
sl_anomaly_results_set_show_heatmaps (SlAnomalyResults *self, gboolean show)
{
  g_return_if_fail (SL_IS_ANOMALY_RESULTS (self));
  self->show_heatmaps = show;
  if (gtk_switch_get_active (self->heatmap_switch) != show)
    gtk_switch_set_active (self->heatmap_switch, show);
  g_clear_object (&self->heatmaps);
  /* The colour scale follows the run's threshold, so maps compare across images. */
  if (show && self->run_id >= 0)
    self->heatmaps = sl_heatmap_cache_new (sl_session_get_path (self->session), self->run_id,
                                           SL_HEATMAP_ANOMALY, self->auto_threshold, PICTURE_SIZE,
                                           self->threads);
  _sl_anomaly_results_update_cards (self);
}

static void
on_heatmap_switch (SlAnomalyResults *self)
{
  if (gtk_switch_get_active (self->heatmap_switch) != self->show_heatmaps)
    sl_anomaly_results_set_show_heatmaps (self, gtk_switch_get_active (self->heatmap_switch));
}

/* ---- The gallery --------------------------------------------------------------------------------- */

static gboolean
match_item (gpointer item, gpointer data)
{
  SlAnomalyResults *self = data;

  return !self->only_wrong || sl_anomaly_item_wrong_at (item, self->threshold);
}

void
sl_anomaly_results_set_only_wrong (SlAnomalyResults *self, gboolean only_wrong)
{
  g_return_if_fail (SL_IS_ANOMALY_RESULTS (self));
  self->only_wrong = only_wrong;
  if (gtk_drop_down_get_selected (self->show_dropdown) != (guint) only_wrong)
    gtk_drop_down_set_selected (self->show_dropdown, only_wrong);
  gtk_filter_changed (GTK_FILTER (self->filter),
                      only_wrong ? GTK_FILTER_CHANGE_MORE_STRICT : GTK_FILTER_CHANGE_LESS_STRICT);
  _sl_anomaly_results_update_gallery_header (self);
}

static void
on_show_selected (SlAnomalyResults *self)
{
  gboolean only_wrong = gtk_drop_down_get_selected (self->show_dropdown) == 1;

  if (only_wrong != self->only_wrong)
    sl_anomaly_results_set_only_wrong (self, only_wrong);
}

/* ---- Fixing labels ----------------------------------------------------------------------------- */

/* Label As: good and every other class (a defect kind); then Ignore. The scores stay; the
 * page says the rates are out of date until the run is evaluated again. */
static GMenuModel *
card_menu (SlAnomalyItem *item, gpointer data)
{
  SlAnomalyResults *self = data;
  gint64 id = sl_anomaly_item_get_image_id (item);
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) classes = g_menu_new ();
  g_autoptr (GMenu) other = g_menu_new ();
  g_autoptr (GMenuItem) ignore = g_menu_item_new ("Ignore Image", NULL);

  for (guint i = 0; self->classes != NULL && i < self->classes->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (self->classes, i);
      gboolean good = g_strcmp0 (klass->name, SL_ANOMALY_GOOD_CLASS) == 0;
      g_autofree char *label = NULL;
      g_autoptr (GMenuItem) entry = NULL;

      if (g_strcmp0 (klass->name, sl_anomaly_item_get_class_name (item)) == 0)
        continue;
      label = good ? g_strdup ("Good") : g_strdup_printf ("Defect: %s", klass->name);
      entry = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (entry, "anomaly.label-as",
                                               g_variant_new ("(xx)", id, klass->id));
      g_menu_append_item (classes, entry);
    }
  g_menu_append_section (menu, "Label As", G_MENU_MODEL (classes));
  g_menu_item_set_action_and_target_value (ignore, "anomaly.set-ignored",
                                           g_variant_new ("(xb)", id, TRUE));
  g_menu_append_item (other, ignore);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (other));
  return G_MENU_MODEL (g_steal_pointer (&menu));
}

static void
report (SlAnomalyResults *self, const char *title, const GError *error)
{
  if (!gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "(ss)", title,
                                   error->message))
    g_message ("%s: %s", title, error->message);
}

static void
label_as_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlAnomalyResults *self = SL_ANOMALY_RESULTS (widget);
  g_autoptr (GError) error = NULL;
  gint64 id, class_id;

  g_variant_get (param, "(xx)", &id, &class_id);
  if (!sl_session_set_labels (self->session, &id, 1, class_id, &error))
    report (self, "Could not change the label", error);
}

static void
set_ignored_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlAnomalyResults *self = SL_ANOMALY_RESULTS (widget);
  g_autoptr (GError) error = NULL;
  gboolean ignored;
  gint64 id;

  g_variant_get (param, "(xb)", &id, &ignored);
  if (!sl_session_set_ignored (self->session, &id, 1, ignored, &error))
    report (self, "Could not ignore the image", error);
}

void
_sl_anomaly_results_install_gallery_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "anomaly.label-as", "(xx)", label_as_action);
  gtk_widget_class_install_action (widget_class, "anomaly.set-ignored", "(xb)", set_ignored_action);
}

void
sl_anomaly_results_set_classes (SlAnomalyResults *self, GPtrArray *classes)
{
  g_return_if_fail (SL_IS_ANOMALY_RESULTS (self));
  if (classes != NULL)
    g_ptr_array_ref (classes);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  self->classes = classes;
}

/* ---- The grid ----------------------------------------------------------------------------------- */

static void
setup_card (GtkSignalListItemFactory *factory, GtkListItem *item, SlAnomalyResults *self)
{
  gtk_list_item_set_child (item, sl_anomaly_card_new (self->thumbs, card_menu, self));
  gtk_list_item_set_activatable (item, FALSE);
}

static void
bind_card (GtkSignalListItemFactory *factory, GtkListItem *item, SlAnomalyResults *self)
{
  SlAnomalyCard *card = SL_ANOMALY_CARD (gtk_list_item_get_child (item));

  sl_anomaly_card_set_threshold (card, self->threshold);
  sl_anomaly_card_set_heatmaps (card, self->heatmaps);
  sl_anomaly_card_bind (card, gtk_list_item_get_item (item));
}

static void
unbind_card (GtkSignalListItemFactory *factory, GtkListItem *item, SlAnomalyResults *self)
{
  sl_anomaly_card_unbind (SL_ANOMALY_CARD (gtk_list_item_get_child (item)));
}

static void
on_filtered_changed (SlAnomalyResults *self)
{
  _sl_anomaly_results_update_gallery_header (self);
}

GtkWidget *
_sl_anomaly_results_build_gallery (SlAnomalyResults *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *heatmap_label = _sl_anomaly_results_label_new ("_Heatmaps", 0, NULL, NULL);
  GtkWidget *scrolled = gtk_scrolled_window_new (), *empty;
  const char *const shows[] = { "All images", "Only wrong decisions", NULL };
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkNoSelection *selection;

  gtk_widget_add_css_class (header, "sl-gallery-header");
  gtk_box_append (GTK_BOX (header), _sl_anomaly_results_label_new ("Images, Highest Score First", 0,
                                                                   "heading", NULL));
  self->gallery_subtitle = GTK_LABEL (_sl_anomaly_results_label_new ("", 0, "dim-label", NULL));
  gtk_label_set_ellipsize (self->gallery_subtitle, PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (GTK_WIDGET (self->gallery_subtitle), TRUE);
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->gallery_subtitle));
  self->show_dropdown = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (shows));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->show_dropdown),
                               "Only wrong decisions: good parts the threshold rejects and defects "
                               "it lets pass");
  gtk_widget_set_valign (GTK_WIDGET (self->show_dropdown), GTK_ALIGN_CENTER);
  g_signal_connect_swapped (self->show_dropdown, "notify::selected", G_CALLBACK (on_show_selected),
                            self);
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->show_dropdown));
  gtk_label_set_use_underline (GTK_LABEL (heatmap_label), TRUE);
  gtk_widget_set_margin_start (heatmap_label, 6);
  self->heatmap_switch = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->heatmap_switch), GTK_ALIGN_CENTER);
  gtk_label_set_mnemonic_widget (GTK_LABEL (heatmap_label), GTK_WIDGET (self->heatmap_switch));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->heatmap_switch),
                               "Show where each image differs from the good parts: yellow at the "
                               "threshold, red well above it");
  g_signal_connect_swapped (self->heatmap_switch, "notify::active", G_CALLBACK (on_heatmap_switch),
                            self);
  gtk_box_append (GTK_BOX (header), heatmap_label);
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->heatmap_switch));
  gtk_box_append (GTK_BOX (box), header);

  self->items = g_list_store_new (SL_TYPE_ANOMALY_ITEM);
  self->filter = gtk_custom_filter_new (match_item, self, NULL);
  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->items)),
                                              GTK_FILTER (g_object_ref (self->filter)));
  g_signal_connect_swapped (self->filtered, "items-changed", G_CALLBACK (on_filtered_changed),
                            self);
  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->filtered)));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_card), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_card), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_card), self);
  self->grid = GTK_GRID_VIEW (gtk_grid_view_new (GTK_SELECTION_MODEL (selection), NULL));
  gtk_grid_view_set_factory (self->grid, factory);
  gtk_grid_view_set_max_columns (self->grid, 16);
  gtk_widget_add_css_class (GTK_WIDGET (self->grid), "sl-prediction-grid");
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->grid));

  self->gallery_stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->gallery_stack), TRUE);
  gtk_stack_add_named (self->gallery_stack, scrolled, "grid");
  self->gallery_empty_label
      = GTK_LABEL (_sl_anomaly_results_label_new ("", 0.5, "dim-label", NULL));
  empty = GTK_WIDGET (self->gallery_empty_label);
  gtk_label_set_wrap (self->gallery_empty_label, TRUE);
  gtk_stack_add_named (self->gallery_stack, empty, "empty");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->gallery_stack));
  return box;
}

GListModel *
sl_anomaly_results_get_gallery_model (SlAnomalyResults *self)
{
  return G_LIST_MODEL (self->filtered);
}

GtkWidget *
sl_anomaly_results_get_gallery_grid (SlAnomalyResults *self)
{
  return GTK_WIDGET (self->grid);
}
