/* sl-anomaly-card.c: a gallery card of an anomaly evaluation: the image or its heatmap, its score, good or defect, and what the threshold does with it. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-anomaly-card.h"

#include <math.h>

#include "sl-anomaly.h"
#include "sl-checkerboard.h"

struct _SlAnomalyCard
{
  GtkWidget parent_instance;
  SlThumbnailCache *thumbs;
  SlHeatmapCache *heatmaps;
  SlAnomalyCardMenuFunc menu_func;
  gpointer menu_data;
  SlAnomalyItem *item;
  double threshold;
  guint thumb_request, heatmap_request;
  gboolean showing_heatmap;
  const char *verdict;

  GtkPicture *picture;
  GtkLabel *score_label;
  GtkLabel *kind_label;
  GtkImage *verdict_icon;
  GtkLabel *verdict_label;
};

G_DEFINE_FINAL_TYPE (SlAnomalyCard, sl_anomaly_card, GTK_TYPE_WIDGET)

/* GTK 4.8 restarts its tooltip machinery on every change, and a card under the pointer has
 * its words set again at every threshold move: only a different text is set. */
static void
set_tooltip (GtkWidget *widget, const char *text)
{
  if (g_strcmp0 (gtk_widget_get_tooltip_text (widget), text) != 0)
    gtk_widget_set_tooltip_text (widget, text);
}

/* ---- The picture ------------------------------------------------------------------------ */

static void
show_texture (SlAnomalyCard *self, GdkTexture *texture)
{
  g_autoptr (GdkPaintable) shown = texture != NULL ? sl_checkerboard_paintable_new (texture) : NULL;

  gtk_picture_set_paintable (self->picture, shown);
}

static void
on_thumbnail (GdkTexture *texture, const char *error, gpointer user_data)
{
  SlAnomalyCard *self = user_data;

  self->thumb_request = 0;
  if (!self->showing_heatmap)
    show_texture (self, texture);
  if (texture == NULL)
    set_tooltip (GTK_WIDGET (self->picture), error);
}

static void
request_thumbnail (SlAnomalyCard *self)
{
  GdkTexture *texture
      = sl_thumbnail_cache_lookup (self->thumbs, sl_anomaly_item_get_hash (self->item));

  if (texture != NULL)
    show_texture (self, texture);
  else if (self->thumb_request == 0)
    self->thumb_request
        = sl_thumbnail_cache_request (self->thumbs, sl_anomaly_item_get_hash (self->item),
                                      sl_anomaly_item_get_ext (self->item), 0, on_thumbnail, self);
}

static void
on_heatmap (GdkTexture *texture, const char *error, gpointer user_data)
{
  SlAnomalyCard *self = user_data;

  self->heatmap_request = 0;
  if (texture != NULL)
    {
      self->showing_heatmap = TRUE;
      show_texture (self, texture);
    }
  else
    set_tooltip (GTK_WIDGET (self->picture), error);
}

static void
cancel_requests (SlAnomalyCard *self)
{
  if (self->thumb_request != 0)
    sl_thumbnail_cache_cancel (self->thumbs, self->thumb_request);
  if (self->heatmap_request != 0 && self->heatmaps != NULL)
    sl_heatmap_cache_cancel (self->heatmaps, self->heatmap_request);
  self->thumb_request = self->heatmap_request = 0;
}

/* The heatmap when asked for and ready; the plain image meanwhile and otherwise. */
static void
show_picture (SlAnomalyCard *self)
{
  gint64 id = sl_anomaly_item_get_image_id (self->item);
  g_autofree char *name = g_path_get_basename (sl_anomaly_item_get_original_path (self->item));
  GdkTexture *heatmap;

  self->showing_heatmap = FALSE;
  set_tooltip (GTK_WIDGET (self->picture), name);
  if (self->heatmaps != NULL && (heatmap = sl_heatmap_cache_lookup (self->heatmaps, id)) != NULL)
    {
      self->showing_heatmap = TRUE;
      show_texture (self, heatmap);
      return;
    }
  gtk_picture_set_paintable (self->picture, NULL);
  request_thumbnail (self);
  if (self->heatmaps != NULL && sl_heatmap_cache_lookup_failure (self->heatmaps, id) == NULL
      && self->heatmap_request == 0)
    self->heatmap_request
        = sl_heatmap_cache_request (self->heatmaps, id, sl_anomaly_item_get_hash (self->item),
                                    sl_anomaly_item_get_ext (self->item), on_heatmap, self);
  else if (self->heatmaps != NULL && sl_heatmap_cache_lookup_failure (self->heatmaps, id) != NULL)
    set_tooltip (GTK_WIDGET (self->picture), sl_heatmap_cache_lookup_failure (self->heatmaps, id));
}

void
sl_anomaly_card_set_heatmaps (SlAnomalyCard *self, SlHeatmapCache *cache)
{
  g_return_if_fail (SL_IS_ANOMALY_CARD (self));
  if (self->heatmaps == cache)
    return;
  cancel_requests (self);
  g_set_object (&self->heatmaps, cache);
  if (self->item != NULL)
    show_picture (self);
}

/* ---- The words ---------------------------------------------------------------------------- */

static void
set_class (GtkWidget *widget, const char *add, const char *remove)
{
  gtk_widget_remove_css_class (widget, remove);
  gtk_widget_add_css_class (widget, add);
}

static void
show_verdict (SlAnomalyCard *self)
{
  gboolean defect = sl_anomaly_item_get_defect (self->item);
  gboolean flagged = sl_anomaly_item_flagged_at (self->item, self->threshold);
  gboolean wrong = flagged != defect;
  const char *icon, *tooltip;

  if (defect && flagged)
    self->verdict = "Caught", icon = "emblem-ok-symbolic",
    tooltip = "A defect scored above the threshold: the line would flag it";
  else if (defect)
    self->verdict = "Missed defect", icon = "dialog-warning-symbolic",
    tooltip = "A defect scored at or below the threshold: it would escape to the customer";
  else if (flagged)
    self->verdict = "False reject", icon = "dialog-warning-symbolic",
    tooltip = "A good part scored above the threshold: the line would reject it";
  else
    self->verdict = "Passed", icon = "emblem-ok-symbolic",
    tooltip = "A good part scored at or below the threshold: the line would pass it";
  gtk_label_set_text (self->verdict_label, self->verdict);
  gtk_image_set_from_icon_name (self->verdict_icon, icon);
  set_tooltip (GTK_WIDGET (self->verdict_label), tooltip);
  set_class (GTK_WIDGET (self), wrong ? "wrong" : "right", wrong ? "right" : "wrong");
  if (flagged)
    gtk_widget_add_css_class (GTK_WIDGET (self->score_label), "flagged");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->score_label), "flagged");
}

void
sl_anomaly_card_set_threshold (SlAnomalyCard *self, double threshold)
{
  g_return_if_fail (SL_IS_ANOMALY_CARD (self));
  self->threshold = threshold;
  if (self->item != NULL)
    show_verdict (self);
}

void
sl_anomaly_card_bind (SlAnomalyCard *self, SlAnomalyItem *item)
{
  gboolean defect = sl_anomaly_item_get_defect (item);
  g_autofree char *score = g_strdup_printf ("%.3g", sl_anomaly_item_get_score (item));

  g_return_if_fail (SL_IS_ANOMALY_CARD (self));
  sl_anomaly_card_unbind (self);
  self->item = g_object_ref (item);
  gtk_label_set_text (self->score_label, score);
  g_autofree char *kind_tip = NULL;
  const char *class_name = sl_anomaly_item_get_class_name (item);
  /* A defect's own kind ("scratch") says more than "Defect". */
  gboolean named = defect && g_strcmp0 (class_name, SL_ANOMALY_DEFECT_CLASS) != 0;

  gtk_label_set_text (self->kind_label, !defect ? "Good" : named ? class_name : "Defect");
  kind_tip
      = defect ? g_strdup_printf ("Labelled %s: a defect", class_name) : g_strdup ("Labelled good");
  set_tooltip (GTK_WIDGET (self->kind_label), kind_tip);
  set_class (GTK_WIDGET (self->kind_label), defect ? "defect" : "good", defect ? "good" : "defect");
  show_verdict (self);
  show_picture (self);
}

void
sl_anomaly_card_unbind (SlAnomalyCard *self)
{
  g_return_if_fail (SL_IS_ANOMALY_CARD (self));
  cancel_requests (self);
  g_clear_object (&self->item);
  self->showing_heatmap = FALSE;
}

SlAnomalyItem *
sl_anomaly_card_get_item (SlAnomalyCard *self)
{
  g_return_val_if_fail (SL_IS_ANOMALY_CARD (self), NULL);
  return self->item;
}

const char *
sl_anomaly_card_get_verdict (SlAnomalyCard *self)
{
  g_return_val_if_fail (SL_IS_ANOMALY_CARD (self), NULL);
  return self->item != NULL ? self->verdict : NULL;
}

gboolean
sl_anomaly_card_get_showing_heatmap (SlAnomalyCard *self)
{
  g_return_val_if_fail (SL_IS_ANOMALY_CARD (self), FALSE);
  return self->showing_heatmap;
}

/* The menu is built when it opens, for the item shown then. */
static void
create_menu (GtkMenuButton *button, gpointer data)
{
  SlAnomalyCard *self = data;
  g_autoptr (GMenuModel) menu = NULL;

  if (self->item == NULL || self->menu_func == NULL)
    return;
  menu = self->menu_func (self->item, self->menu_data);
  gtk_menu_button_set_menu_model (button, menu);
}

/* ---- Object ---------------------------------------------------------------------------------- */

static GtkLabel *
pill (const char *css, GtkAlign halign)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_halign (label, halign);
  gtk_widget_set_valign (label, GTK_ALIGN_START);
  gtk_widget_add_css_class (label, css);
  gtk_widget_add_css_class (label, "numeric");
  return GTK_LABEL (label);
}

static void
build (SlAnomalyCard *self)
{
  int size = sl_thumbnail_cache_get_size (self->thumbs);
  GtkWidget *overlay = gtk_overlay_new (), *frame = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *body = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_widget_add_css_class (overlay, "sl-card-thumb");
  gtk_widget_set_halign (frame, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (frame, GTK_ALIGN_CENTER);
  self->picture = GTK_PICTURE (gtk_picture_new ());
  gtk_picture_set_can_shrink (self->picture, TRUE);
  gtk_picture_set_content_fit (self->picture, GTK_CONTENT_FIT_SCALE_DOWN);
  gtk_widget_set_size_request (GTK_WIDGET (self->picture), size, size);
  gtk_box_append (GTK_BOX (frame), GTK_WIDGET (self->picture));
  gtk_overlay_set_child (GTK_OVERLAY (overlay), frame);
  self->score_label = pill ("sl-confidence-pill", GTK_ALIGN_START);
  set_tooltip (GTK_WIDGET (self->score_label),
               "The anomaly score: higher is less like the good parts");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (self->score_label));
  self->kind_label = pill ("sl-kind-pill", GTK_ALIGN_END);
  gtk_label_set_ellipsize (self->kind_label, PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (self->kind_label, 12);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (self->kind_label));
  if (self->menu_func != NULL)
    {
      GtkWidget *menu = gtk_menu_button_new ();

      gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "view-more-symbolic");
      set_tooltip (menu, "Label the image good or as a defect, or ignore it");
      gtk_widget_set_halign (menu, GTK_ALIGN_END);
      gtk_widget_set_valign (menu, GTK_ALIGN_END);
      gtk_widget_add_css_class (menu, "sl-card-menu");
      gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (menu), create_menu, self, NULL);
      gtk_overlay_add_overlay (GTK_OVERLAY (overlay), menu);
    }
  gtk_widget_set_parent (overlay, GTK_WIDGET (self));

  gtk_widget_add_css_class (body, "sl-card-body");
  self->verdict_icon = GTK_IMAGE (gtk_image_new ());
  self->verdict_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->verdict_label, 0);
  /* Narrow cards (more to a row) break "Missed defect" over two lines rather than cut it. */
  gtk_label_set_wrap (self->verdict_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->verdict_label), "heading");
  gtk_widget_set_hexpand (GTK_WIDGET (self->verdict_label), TRUE);
  /* One line, so that a row of cards fits a line PC's screen under the charts. */
  gtk_widget_add_css_class (body, "sl-verdict");
  gtk_box_append (GTK_BOX (body), GTK_WIDGET (self->verdict_icon));
  gtk_box_append (GTK_BOX (body), GTK_WIDGET (self->verdict_label));
  gtk_widget_set_parent (body, GTK_WIDGET (self));
}

static void
sl_anomaly_card_dispose (GObject *object)
{
  SlAnomalyCard *self = SL_ANOMALY_CARD (object);

  sl_anomaly_card_unbind (self);
  g_clear_object (&self->heatmaps);
  g_clear_object (&self->thumbs);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (sl_anomaly_card_parent_class)->dispose (object);
}

static void
sl_anomaly_card_class_init (SlAnomalyCardClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_anomaly_card_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "anomalycard");
}

static void
sl_anomaly_card_init (SlAnomalyCard *self)
{
  gtk_orientable_set_orientation (
      GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))), GTK_ORIENTATION_VERTICAL);
  self->threshold = NAN;
}

GtkWidget *
sl_anomaly_card_new (SlThumbnailCache *thumbs, SlAnomalyCardMenuFunc menu_func, gpointer data)
{
  SlAnomalyCard *self = g_object_new (SL_TYPE_ANOMALY_CARD, NULL);

  self->thumbs = g_object_ref (thumbs);
  self->menu_func = menu_func;
  self->menu_data = data;
  build (self);
  return GTK_WIDGET (self);
}
