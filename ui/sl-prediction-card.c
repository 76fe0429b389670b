/* sl-prediction-card.c: a gallery card: an evaluated image, its true and predicted class, and quick fixes. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-prediction-card.h"
#include "sl-checkerboard.h"

#include "sl-color-swatch.h"
#include "sl-heatmap-cache.h"

struct _SlPredictionCard
{
  GtkWidget parent_instance;
  SlThumbnailCache *cache;
  SlCardClassFunc class_func;
  SlCardMenuFunc menu_func;
  gpointer data;
  SlPredictionObject *item;
  gulong notify_id;
  guint request; /* pending decode, 0: none */
  gboolean loaded;
  char *state_text;
  double threshold;         /* 0: rejecting is off */
  SlHeatmapCache *heatmaps; /* NULL: the plain image */
  guint heatmap_request;
  gboolean showing_heatmap;

  GtkPicture *picture;
  GtkLabel *confidence_label;
  GtkWidget *ignored_icon;
  SlColorSwatch *true_swatch;
  GtkLabel *true_label;
  SlColorSwatch *predicted_swatch;
  GtkLabel *predicted_label;
  GtkStack *action_stack;
  GtkWidget *fix_button;
  GtkLabel *fix_label;
  GtkImage *state_icon;
  GtkLabel *state_label;
  GtkMenuButton *menu_button;
};

G_DEFINE_FINAL_TYPE (SlPredictionCard, sl_prediction_card, GTK_TYPE_WIDGET)

/* A class's name now; *exists says whether the project still has it. */
static const char *
class_name (SlPredictionCard *self, gint64 class_id, const char **color, gboolean *exists)
{
  const char *name = NULL;
  gboolean found;

  *color = NULL;
  if (class_id < 0)
    {
      if (exists != NULL)
        *exists = FALSE;
      return "Unlabelled";
    }
  found = self->class_func (class_id, &name, color, self->data);
  if (exists != NULL)
    *exists = found;
  return name != NULL ? name : "(deleted class)";
}

static void
set_state_text (SlPredictionCard *self, const char *text)
{
  g_free (self->state_text);
  self->state_text = g_strdup (text);
  gtk_label_set_text (self->state_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->state_label), text);
}

/* The label and ignore flag now: a fixed card says what it became. */
static void
show_state (SlPredictionCard *self)
{
  SlPredictionObject *item = self->item;
  gint64 now = sl_prediction_object_get_class_id (item);
  gboolean ignored = sl_prediction_object_get_ignored (item);
  const char *color;

  gtk_widget_set_visible (self->ignored_icon, ignored);
  gtk_widget_set_opacity (GTK_WIDGET (self->picture), ignored ? 0.35 : 1.0);
  if (ignored)
    {
      set_state_text (self, "Ignored");
      gtk_image_set_from_icon_name (self->state_icon, "view-conceal-symbolic");
      gtk_stack_set_visible_child_name (self->action_stack, "state");
    }
  else if (!sl_prediction_object_get_in_split (item))
    {
      set_state_text (self, "Moved to another split");
      gtk_image_set_from_icon_name (self->state_icon, "object-select-symbolic");
      gtk_stack_set_visible_child_name (self->action_stack, "state");
    }
  else if (sl_prediction_object_get_changed (item))
    {
      g_autofree char *text
          = g_strdup_printf ("Now labelled %s", class_name (self, now, &color, NULL));

      set_state_text (self, text);
      gtk_image_set_from_icon_name (self->state_icon, "object-select-symbolic");
      gtk_stack_set_visible_child_name (self->action_stack, "state");
    }
  else
    {
      set_state_text (self, "");
      gtk_stack_set_visible_child_name (self->action_stack,
                                        sl_prediction_object_is_mistake (item) ? "fix" : "correct");
    }
}

static void
show_classes (SlPredictionCard *self)
{
  SlPredictionObject *item = self->item;
  const char *true_color, *predicted_color, *was_color;
  gboolean exists, can_fix;
  gint64 evaluated = sl_prediction_object_get_evaluated_class_id (item);
  gint64 now = sl_prediction_object_get_class_id (item);
  /* The label now: a relabelled card shows its new class (its tooltip the one it was
   * evaluated with). */
  const char *true_name = class_name (self, now >= 0 ? now : evaluated, &true_color, &exists);
  g_autofree char *true_tip
      = now >= 0 && now != evaluated
            ? g_strdup_printf ("Labelled %s now; it was %s when evaluated", true_name,
                               class_name (self, evaluated, &was_color, NULL))
            : g_strdup (true_name);
  const char *predicted_name = class_name (self, sl_prediction_object_get_predicted_class_id (item),
                                           &predicted_color, &can_fix);
  g_autofree char *fix = g_strdup_printf ("Label as %s", predicted_name);
  g_autofree char *fix_tip = g_strdup_printf (
      "The model is right and the label is wrong: label this image %s", predicted_name);

  gtk_label_set_text (self->true_label, true_name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->true_label), true_tip);
  sl_color_swatch_set_color (self->true_swatch, true_color);
  gtk_label_set_text (self->predicted_label, predicted_name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->predicted_label), predicted_name);
  sl_color_swatch_set_color (self->predicted_swatch, predicted_color);
  gtk_label_set_text (self->fix_label, fix);
  gtk_widget_set_tooltip_text (self->fix_button, fix_tip);
  /* A class deleted since training cannot be given back. */
  gtk_widget_set_sensitive (self->fix_button, can_fix);
  show_state (self);
}

gboolean
sl_prediction_card_get_rejected (SlPredictionCard *self)
{
  return self->item != NULL && self->threshold > 0
         && (float) sl_prediction_object_get_confidence (self->item) < (float) self->threshold;
}

/* The confidence, and whether the line would answer "Unknown" instead. */
static void
show_confidence (SlPredictionCard *self)
{
  double confidence = sl_prediction_object_get_confidence (self->item);
  gboolean rejected = sl_prediction_card_get_rejected (self);
  g_autofree char *text = NULL;
  g_autofree char *tooltip = NULL;

  if (rejected)
    {
      text = g_strdup_printf ("%.0f %% · Unknown", 100 * confidence);
      tooltip = g_strdup_printf ("Below the %.0f %% threshold: on the line this image would be "
                                 "rejected as Unknown and left to a person",
                                 100 * self->threshold);
      gtk_widget_add_css_class (GTK_WIDGET (self->confidence_label), "rejected");
    }
  else
    {
      text = g_strdup_printf ("%.0f %%", 100 * confidence);
      tooltip = g_strdup ("How sure the model was of its answer");
      gtk_widget_remove_css_class (GTK_WIDGET (self->confidence_label), "rejected");
    }
  gtk_label_set_text (self->confidence_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->confidence_label), tooltip);
}

void
sl_prediction_card_set_reject_threshold (SlPredictionCard *self, double threshold)
{
  g_return_if_fail (SL_IS_PREDICTION_CARD (self));
  self->threshold = threshold;
  if (self->item != NULL)
    show_confidence (self);
}

static void
on_item_notify (SlPredictionObject *item, GParamSpec *pspec, SlPredictionCard *self)
{
  show_classes (self); /* the label may have changed; shows the state too */
}

/* Transparent pixels on a checkerboard, not on the dark frame. */
static void
show_texture (SlPredictionCard *self, GdkTexture *texture)
{
  g_autoptr (GdkPaintable) shown = sl_checkerboard_paintable_new (texture);

  gtk_picture_set_paintable (self->picture, shown);
}

static void
on_thumbnail (GdkTexture *texture, const char *error, gpointer user_data)
{
  SlPredictionCard *self = user_data;

  self->request = 0;
  self->loaded = TRUE;
  if (!self->showing_heatmap)
    show_texture (self, texture);
  if (texture == NULL)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->picture), error);
}

static void
on_heatmap (GdkTexture *texture, const char *error, gpointer user_data)
{
  SlPredictionCard *self = user_data;

  self->heatmap_request = 0;
  if (texture != NULL)
    {
      self->showing_heatmap = TRUE;
      show_texture (self, texture);
    }
  else
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->picture), error);
}

/* The Grad-CAM overlay when asked for: at once when made, else once the worker has it. */
static void
show_heatmap (SlPredictionCard *self)
{
  gint64 id = sl_prediction_object_get_image_id (self->item);
  GdkTexture *texture;
  const char *failure;

  if (self->heatmaps == NULL)
    return;
  if ((texture = sl_heatmap_cache_lookup (self->heatmaps, id)) != NULL)
    {
      self->showing_heatmap = TRUE;
      show_texture (self, texture);
    }
  else if ((failure = sl_heatmap_cache_lookup_failure (self->heatmaps, id)) != NULL)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->picture), failure);
  else if (self->heatmap_request == 0)
    self->heatmap_request
        = sl_heatmap_cache_request (self->heatmaps, id, sl_prediction_object_get_hash (self->item),
                                    sl_prediction_object_get_ext (self->item), on_heatmap, self);
}

static void
cancel_heatmap (SlPredictionCard *self)
{
  if (self->heatmap_request != 0)
    sl_heatmap_cache_cancel (self->heatmaps, self->heatmap_request);
  self->heatmap_request = 0;
  self->showing_heatmap = FALSE;
}

void
sl_prediction_card_set_heatmaps (SlPredictionCard *self, SlHeatmapCache *heatmaps)
{
  GdkTexture *texture;

  g_return_if_fail (SL_IS_PREDICTION_CARD (self));
  if (self->heatmaps == heatmaps)
    return;
  cancel_heatmap (self);
  g_set_object (&self->heatmaps, heatmaps);
  if (self->item == NULL)
    return;
  if (heatmaps != NULL)
    show_heatmap (self);
  else if ((texture
            = sl_thumbnail_cache_lookup (self->cache, sl_prediction_object_get_hash (self->item)))
           != NULL)
    show_texture (self, texture);
}

gboolean
sl_prediction_card_get_showing_heatmap (SlPredictionCard *self)
{
  g_return_val_if_fail (SL_IS_PREDICTION_CARD (self), FALSE);
  return self->showing_heatmap;
}

void
sl_prediction_card_bind (SlPredictionCard *self, SlPredictionObject *item)
{
  const char *hash = sl_prediction_object_get_hash (item);
  g_autofree char *name = NULL;
  GdkTexture *texture;

  g_return_if_fail (SL_IS_PREDICTION_CARD (self));
  sl_prediction_card_unbind (self);
  self->item = g_object_ref (item);
  self->notify_id = g_signal_connect (item, "notify", G_CALLBACK (on_item_notify), self);
  show_confidence (self);
  name = g_path_get_basename (sl_prediction_object_get_original_path (item));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->picture), name);
  /* The target first: the action takes an image id. */
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->fix_button), "x",
                                    sl_prediction_object_get_image_id (item));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->fix_button), "evaluate.label-predicted");
  show_classes (self);

  self->loaded = FALSE;
  if ((texture = sl_thumbnail_cache_lookup (self->cache, hash)) != NULL)
    {
      show_texture (self, texture);
      self->loaded = TRUE;
    }
  else
    {
      gtk_picture_set_paintable (self->picture, NULL);
      self->request = sl_thumbnail_cache_request (
          self->cache, hash, sl_prediction_object_get_ext (item), 0, on_thumbnail, self);
    }
  show_heatmap (self);
}

void
sl_prediction_card_unbind (SlPredictionCard *self)
{
  g_return_if_fail (SL_IS_PREDICTION_CARD (self));
  if (self->request != 0)
    {
      sl_thumbnail_cache_cancel (self->cache, self->request);
      self->request = 0;
    }
  cancel_heatmap (self);
  if (self->item != NULL)
    {
      g_clear_signal_handler (&self->notify_id, self->item);
      g_clear_object (&self->item);
    }
}

SlPredictionObject *
sl_prediction_card_get_item (SlPredictionCard *self)
{
  return self->item;
}

const char *
sl_prediction_card_get_state_text (SlPredictionCard *self)
{
  return self->state_text != NULL ? self->state_text : "";
}

gboolean
sl_prediction_card_get_loaded (SlPredictionCard *self)
{
  return self->item != NULL && self->loaded;
}

/* The menu is built when it opens, for the item shown then. */
static void
create_menu (GtkMenuButton *button, gpointer data)
{
  SlPredictionCard *self = data;
  g_autoptr (GMenuModel) menu = NULL;

  if (self->item == NULL)
    return;
  menu = self->menu_func (self->item, self->data);
  gtk_menu_button_set_menu_model (button, menu);
}

static void
sl_prediction_card_dispose (GObject *object)
{
  SlPredictionCard *self = SL_PREDICTION_CARD (object);

  if (self->cache != NULL)
    sl_prediction_card_unbind (self);
  g_clear_object (&self->cache);
  g_clear_object (&self->heatmaps);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_PREDICTION_CARD);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (sl_prediction_card_parent_class)->dispose (object);
}

static void
sl_prediction_card_finalize (GObject *object)
{
  g_free (SL_PREDICTION_CARD (object)->state_text);
  G_OBJECT_CLASS (sl_prediction_card_parent_class)->finalize (object);
}

static void
sl_prediction_card_class_init (SlPredictionCardClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_prediction_card_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_prediction_card_finalize;
  g_type_ensure (SL_TYPE_COLOR_SWATCH);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-prediction-card.ui");
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, picture);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, confidence_label);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, ignored_icon);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, true_swatch);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, true_label);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, predicted_swatch);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, predicted_label);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, action_stack);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, fix_button);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, fix_label);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, state_icon);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, state_label);
  gtk_widget_class_bind_template_child (widget_class, SlPredictionCard, menu_button);
  gtk_widget_class_set_css_name (widget_class, "predictioncard");
}

static void
sl_prediction_card_init (SlPredictionCard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_add_css_class (GTK_WIDGET (self), "card");
  gtk_menu_button_set_create_popup_func (self->menu_button, create_menu, self, NULL);
}

GtkWidget *
sl_prediction_card_new (SlThumbnailCache *cache, SlCardClassFunc class_func,
                        SlCardMenuFunc menu_func, gpointer data)
{
  SlPredictionCard *self = g_object_new (SL_TYPE_PREDICTION_CARD, NULL);

  self->cache = g_object_ref (cache);
  self->class_func = class_func;
  self->menu_func = menu_func;
  self->data = data;
  return GTK_WIDGET (self);
}
