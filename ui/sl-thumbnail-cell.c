/* sl-thumbnail-cell.c: one grid cell: the thumbnail, its class chip, split badge, ignored mark and the model's suggestion. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-thumbnail-cell.h"
#include "sl-checkerboard.h"

#include <math.h>

/* One widget that draws everything itself: GTK 4.8's grid rebinds every cell
 * at some scroll positions, and a bind here only stores a few fields and
 * queues a redraw (no child widgets to restyle or measure). */
struct _SlThumbnailCell
{
  GtkWidget parent_instance;
  SlThumbnailCache *cache;
  SlImageObject *image;
  gulong notify_id;
  guint request; /* pending decode, 0: none */
  GdkTexture *texture;
  char *error; /* why the image cannot be shown */
  int size;    /* the thumbnail box */
  int caption_height;

  PangoLayout *caption;
  const char *caption_text; /* interned, as the image holds it */
  PangoLayout *badge;
  SlSplit badge_split;
  GdkRGBA swatch;
  gboolean has_swatch;
  gboolean ignored;
  PangoLayout *suggestion; /* "t-shirt 93 %", or NULL text when none */
  gboolean has_suggestion;
  GdkRGBA suggestion_color;
  gboolean has_suggestion_color;
  GdkPaintable *eye_icon;
  GdkPaintable *broken_icon;
  PangoFontDescription *font; /* the font the text was measured with */
};

G_DEFINE_FINAL_TYPE (SlThumbnailCell, sl_thumbnail_cell, GTK_TYPE_WIDGET)

#define CAPTION_GAP   6
#define SWATCH_SIZE   10
#define BADGE_MARGIN  4
#define CORNER_RADIUS 6

static const char *const split_names[] = { NULL, "train", "val", "test" };
static const char *const split_colors[] = { NULL, "#1c71d8", "#c64600", "#813d9c" };

/* ---- Following the image ---------------------------------------------------------------- */

/* The model's suggestion of an unlabelled image: its class and how sure it is. */
static void
show_suggestion (SlThumbnailCell *self)
{
  const SlImageSuggestion *s = sl_image_object_get_suggestion (self->image);
  g_autofree char *text = NULL;

  self->has_suggestion = s != NULL;
  if (s == NULL)
    return;
  self->has_suggestion_color
      = s->class_color != NULL && gdk_rgba_parse (&self->suggestion_color, s->class_color);
  if (!isnan (s->confidence))
    text = g_strdup_printf ("%.0f %% %s", 100 * s->confidence,
                            s->class_name != NULL ? s->class_name : "?");
  else /* an anomaly run: the decision and its score */
    text = g_strdup_printf ("%s %.3g", s->class_name != NULL ? s->class_name : "anomalous",
                            s->anomaly_score);
  pango_layout_set_text (self->suggestion, text, -1);
}

static void
show_labels (SlThumbnailCell *self)
{
  const char *class_name = sl_image_object_get_class_name (self->image);
  const char *color = sl_image_object_get_class_color (self->image);
  SlSplit split = sl_image_object_get_split (self->image);
  const char *text = class_name != NULL ? class_name : "Unlabeled";

  /* Class names are interned: a pointer compare says whether the text changed. */
  if (text != self->caption_text)
    {
      self->caption_text = text;
      pango_layout_set_text (self->caption, text, -1);
    }
  self->has_swatch = color != NULL && gdk_rgba_parse (&self->swatch, color);
  if (split > SL_SPLIT_TEST)
    split = SL_SPLIT_NONE;
  if (split != self->badge_split && split != SL_SPLIT_NONE)
    pango_layout_set_text (self->badge, split_names[split], -1);
  self->badge_split = split;
  self->ignored = sl_image_object_get_ignored (self->image);
  show_suggestion (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_image_notify (SlImageObject *image, GParamSpec *pspec, SlThumbnailCell *self)
{
  show_labels (self);
}

static void
show_texture (SlThumbnailCell *self, GdkTexture *texture, const char *error)
{
  g_set_object (&self->texture, texture);
  g_free (self->error);
  self->error = texture == NULL ? g_strdup (error) : NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_thumbnail (GdkTexture *texture, const char *error, gpointer user_data)
{
  SlThumbnailCell *self = user_data;

  self->request = 0;
  show_texture (self, texture, error);
}

void
sl_thumbnail_cell_bind (SlThumbnailCell *self, SlImageObject *image)
{
  const char *hash = sl_image_object_get_hash (image);
  GdkTexture *texture;
  const char *failure;

  g_return_if_fail (SL_IS_THUMBNAIL_CELL (self));
  sl_thumbnail_cell_unbind (self);
  self->image = g_object_ref (image);
  self->notify_id = g_signal_connect (image, "notify", G_CALLBACK (on_image_notify), self);
  show_labels (self);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  sl_image_object_get_name (image), -1);
  if ((texture = sl_thumbnail_cache_lookup (self->cache, hash)) != NULL)
    show_texture (self, texture, NULL);
  else if ((failure = sl_thumbnail_cache_lookup_failure (self->cache, hash)) != NULL)
    show_texture (self, NULL, failure);
  else
    {
      show_texture (self, NULL, NULL); /* the empty frame is the placeholder */
      self->request = sl_thumbnail_cache_request (
          self->cache, hash, sl_image_object_get_ext (image), 0, on_thumbnail, self);
    }
}

gboolean
sl_thumbnail_cell_get_loaded (SlThumbnailCell *self)
{
  return self->image != NULL && self->request == 0;
}

SlImageObject *
sl_thumbnail_cell_get_image (SlThumbnailCell *self)
{
  return self->image;
}

void
sl_thumbnail_cell_unbind (SlThumbnailCell *self)
{
  g_return_if_fail (SL_IS_THUMBNAIL_CELL (self));
  if (self->request != 0)
    {
      sl_thumbnail_cache_cancel (self->cache, self->request);
      self->request = 0;
    }
  if (self->image != NULL)
    {
      g_clear_signal_handler (&self->notify_id, self->image);
      g_clear_object (&self->image);
    }
}

/* The caption's line height, measured once per font (0: not yet). */
static int
caption_height (SlThumbnailCell *self)
{
  if (self->caption_height == 0)
    {
      PangoFontMetrics *metrics
          = pango_context_get_metrics (pango_layout_get_context (self->caption), NULL, NULL);

      self->caption_height = PANGO_PIXELS_CEIL (pango_font_metrics_get_height (metrics));
      pango_font_metrics_unref (metrics);
    }
  return self->caption_height;
}

/* ---- Drawing ------------------------------------------------------------------------------ */

static GdkRGBA
fg_color (SlThumbnailCell *self, float alpha)
{
  GdkRGBA color;

  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &color);
  color.alpha *= alpha;
  return color;
}

static GdkPaintable *
icon (SlThumbnailCell *self, GdkPaintable **slot, const char *name, int size)
{
  if (*slot == NULL)
    {
      GtkIconTheme *theme
          = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (self)));

      *slot = GDK_PAINTABLE (gtk_icon_theme_lookup_icon (
          theme, name, NULL, size, gtk_widget_get_scale_factor (GTK_WIDGET (self)),
          gtk_widget_get_direction (GTK_WIDGET (self)), GTK_ICON_LOOKUP_FORCE_SYMBOLIC));
    }
  return *slot;
}

static void
draw_icon (GtkSnapshot *snapshot, GdkPaintable *paintable, float x, float y, int size,
           const GdkRGBA *color)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  if (GTK_IS_SYMBOLIC_PAINTABLE (paintable))
    gtk_symbolic_paintable_snapshot_symbolic (GTK_SYMBOLIC_PAINTABLE (paintable), snapshot, size,
                                              size, color, 1);
  else
    gdk_paintable_snapshot (paintable, snapshot, size, size);
  gtk_snapshot_restore (snapshot);
}

static void
draw_pill (GtkSnapshot *snapshot, const graphene_rect_t *rect, const GdkRGBA *color)
{
  GskRoundedRect pill;

  gsk_rounded_rect_init_from_rect (&pill, rect, rect->size.height / 2);
  gtk_snapshot_push_rounded_clip (snapshot, &pill);
  gtk_snapshot_append_color (snapshot, color, rect);
  gtk_snapshot_pop (snapshot);
}

/* The thumbnail, drawn unscaled when it fits (a plain copy), centred in the frame. */
static void
draw_frame (SlThumbnailCell *self, GtkSnapshot *snapshot, int x0)
{
  GskRoundedRect frame;
  GdkRGBA ground = fg_color (self, 0.07f);
  const int size = self->size;

  gsk_rounded_rect_init_from_rect (&frame, &GRAPHENE_RECT_INIT (x0, 0, size, size), CORNER_RADIUS);
  gtk_snapshot_push_rounded_clip (snapshot, &frame);
  gtk_snapshot_append_color (snapshot, &ground, &frame.bounds);
  if (self->texture != NULL)
    {
      int tw = gdk_texture_get_width (self->texture), th = gdk_texture_get_height (self->texture);
      double scale = MIN (1.0, MIN ((double) size / tw, (double) size / th));
      int w = (int) (tw * scale), h = (int) (th * scale);

      graphene_rect_t area = GRAPHENE_RECT_INIT (x0 + (size - w) / 2, (size - h) / 2, w, h);

      if (self->ignored)
        gtk_snapshot_push_opacity (snapshot, 0.3);
      if (sl_texture_has_alpha (self->texture))
        sl_checkerboard_snapshot (snapshot, &area);
      gtk_snapshot_append_texture (snapshot, self->texture, &area);
      if (self->ignored)
        gtk_snapshot_pop (snapshot);
    }
  else if (self->error != NULL)
    {
      GdkRGBA dim = fg_color (self, 0.45f);
      draw_icon (snapshot, icon (self, &self->broken_icon, "image-missing-symbolic", 32),
                 x0 + (size - 32) / 2, (size - 32) / 2, 32, &dim);
    }
  gtk_snapshot_pop (snapshot);
}

static void
draw_badges (SlThumbnailCell *self, GtkSnapshot *snapshot, int x0)
{
  if (self->badge_split != SL_SPLIT_NONE)
    {
      PangoRectangle ink, logical;
      GdkRGBA color, white = { 1, 1, 1, 1 };

      pango_layout_get_pixel_extents (self->badge, &ink, &logical);
      gdk_rgba_parse (&color, split_colors[self->badge_split]);
      color.alpha = 0.9f;
      draw_pill (snapshot,
                 &GRAPHENE_RECT_INIT (x0 + BADGE_MARGIN, BADGE_MARGIN, logical.width + 12,
                                      logical.height + 2),
                 &color);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot,
                              &GRAPHENE_POINT_INIT (x0 + BADGE_MARGIN + 6, BADGE_MARGIN + 1));
      gtk_snapshot_append_layout (snapshot, self->badge, &white);
      gtk_snapshot_restore (snapshot);
    }
  if (self->ignored)
    {
      const int d = 22;
      float x = x0 + self->size - BADGE_MARGIN - d;
      GdkRGBA dark = { 0, 0, 0, 0.65f }, white = { 1, 1, 1, 1 };

      draw_pill (snapshot, &GRAPHENE_RECT_INIT (x, BADGE_MARGIN, d, d), &dark);
      draw_icon (snapshot, icon (self, &self->eye_icon, "view-conceal-symbolic", 16), x + 3,
                 BADGE_MARGIN + 3, 16, &white);
    }
}

/* The suggestion chip along the thumbnail's foot: a dark pill with the class's colour dot,
 * the class and the confidence, so it reads on any image. */
static void
draw_suggestion (SlThumbnailCell *self, GtkSnapshot *snapshot, int x0)
{
  PangoRectangle logical;
  GdkRGBA dark = { 0, 0, 0, 0.72f }, white = { 1, 1, 1, 1 };
  const int pad = 6, dot = 8;
  float h, w, x, y;
  GskRoundedRect circle;

  if (!self->has_suggestion)
    return;
  pango_layout_set_width (self->suggestion,
                          MAX (1, self->size - 2 * BADGE_MARGIN - 3 * pad - dot) * PANGO_SCALE);
  pango_layout_get_pixel_extents (self->suggestion, NULL, &logical);
  h = logical.height + 4;
  w = pad + dot + pad / 2 + logical.width + pad;
  x = x0 + (self->size - w) / 2;
  y = self->size - BADGE_MARGIN - h;
  draw_pill (snapshot, &GRAPHENE_RECT_INIT (x, y, w, h), &dark);
  gsk_rounded_rect_init_from_rect (
      &circle, &GRAPHENE_RECT_INIT (x + pad, y + (h - dot) / 2, dot, dot), dot / 2.0f);
  if (self->has_suggestion_color)
    {
      gtk_snapshot_push_rounded_clip (snapshot, &circle);
      gtk_snapshot_append_color (snapshot, &self->suggestion_color, &circle.bounds);
      gtk_snapshot_pop (snapshot);
    }
  else
    gtk_snapshot_append_border (snapshot, &circle, (float[4]){ 1.5f, 1.5f, 1.5f, 1.5f },
                                (GdkRGBA[4]){ white, white, white, white });
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + pad + dot + pad / 2, y + 2));
  gtk_snapshot_append_layout (snapshot, self->suggestion, &white);
  gtk_snapshot_restore (snapshot);
}

/* The class chip: a colour dot (a ring when unlabelled) and the class name, centred. */
static void
draw_caption (SlThumbnailCell *self, GtkSnapshot *snapshot, int width)
{
  PangoRectangle logical;
  GdkRGBA text = fg_color (self, self->has_swatch ? 1.0f : 0.55f);
  int y = self->size + CAPTION_GAP, x;
  float dot_y;
  GskRoundedRect dot;

  pango_layout_set_width (self->caption, MAX (1, width - SWATCH_SIZE - 6) * PANGO_SCALE);
  pango_layout_get_pixel_extents (self->caption, NULL, &logical);
  x = MAX (0, (width - (SWATCH_SIZE + 6 + logical.width)) / 2);
  dot_y = y + (caption_height (self) - SWATCH_SIZE) / 2.0f;
  gsk_rounded_rect_init_from_rect (&dot, &GRAPHENE_RECT_INIT (x, dot_y, SWATCH_SIZE, SWATCH_SIZE),
                                   SWATCH_SIZE / 2.0f);
  if (self->has_swatch)
    {
      gtk_snapshot_push_rounded_clip (snapshot, &dot);
      gtk_snapshot_append_color (snapshot, &self->swatch, &dot.bounds);
      gtk_snapshot_pop (snapshot);
    }
  else
    {
      GdkRGBA ring = fg_color (self, 0.45f);
      gtk_snapshot_append_border (snapshot, &dot, (float[4]){ 1.5f, 1.5f, 1.5f, 1.5f },
                                  (GdkRGBA[4]){ ring, ring, ring, ring });
    }
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + SWATCH_SIZE + 6, y));
  gtk_snapshot_append_layout (snapshot, self->caption, &text);
  gtk_snapshot_restore (snapshot);
}

static void
sl_thumbnail_cell_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlThumbnailCell *self = SL_THUMBNAIL_CELL (widget);
  int width = gtk_widget_get_width (widget);
  int x0 = MAX (0, (width - self->size) / 2);

  if (self->image == NULL)
    return;
  draw_frame (self, snapshot, x0);
  draw_badges (self, snapshot, x0);
  draw_suggestion (self, snapshot, x0);
  draw_caption (self, snapshot, width);
}

/* A fixed size: measuring never looks at the text. */
static void
sl_thumbnail_cell_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                           int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  SlThumbnailCell *self = SL_THUMBNAIL_CELL (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = self->size;
  else
    *minimum = *natural = self->size + CAPTION_GAP + caption_height (self);
}

static void
sl_thumbnail_cell_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  SlThumbnailCell *self = SL_THUMBNAIL_CELL (widget);

  const PangoFontDescription *font
      = pango_context_get_font_description (gtk_widget_get_pango_context (widget));

  GTK_WIDGET_CLASS (sl_thumbnail_cell_parent_class)->css_changed (widget, change);
  /* Scrolling restyles cells all the time (their position among siblings
   * changes); only a new font needs the text measured again. */
  if (self->font != NULL && font != NULL && pango_font_description_equal (self->font, font))
    return;
  g_clear_pointer (&self->font, pango_font_description_free);
  self->font = font != NULL ? pango_font_description_copy (font) : NULL;
  pango_layout_context_changed (self->caption);
  pango_layout_context_changed (self->badge);
  pango_layout_context_changed (self->suggestion);
  self->caption_height = 0;
  gtk_widget_queue_resize (widget);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                  gpointer data)
{
  SlThumbnailCell *self = SL_THUMBNAIL_CELL (widget);
  g_autofree char *text = NULL;

  if (self->image == NULL)
    return FALSE;
  if (self->error != NULL)
    text = g_strdup_printf ("%s\nThis image cannot be shown: %s",
                            sl_image_object_get_name (self->image), self->error);
  else if (self->ignored)
    text = g_strdup_printf ("%s\nIgnored: left out of training",
                            sl_image_object_get_name (self->image));
  else if (self->has_suggestion)
    {
      const SlImageSuggestion *s = sl_image_object_get_suggestion (self->image);

      if (s != NULL && !isnan (s->confidence))
        text = g_strdup_printf ("%s\nThe model (run-%" G_GINT64_FORMAT ") suggests “%s”, %.0f %% "
                                "sure (A accepts it)",
                                sl_image_object_get_name (self->image), s->run_id,
                                s->class_name != NULL ? s->class_name : "?", 100 * s->confidence);
      else if (s != NULL)
        text = g_strdup_printf ("%s\nThe model (run-%" G_GINT64_FORMAT ") suggests “%s”: anomaly "
                                "score %.3g, threshold %.3g",
                                sl_image_object_get_name (self->image), s->run_id,
                                s->class_name != NULL ? s->class_name : "no class",
                                s->anomaly_score, s->anomaly_threshold);
      else
        text = g_strdup (sl_image_object_get_name (self->image));
    }
  else
    text = g_strdup (sl_image_object_get_name (self->image));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
sl_thumbnail_cell_dispose (GObject *object)
{
  SlThumbnailCell *self = SL_THUMBNAIL_CELL (object);

  if (self->cache != NULL)
    sl_thumbnail_cell_unbind (self);
  g_clear_object (&self->cache);
  g_clear_object (&self->texture);
  g_clear_object (&self->caption);
  g_clear_object (&self->badge);
  g_clear_object (&self->suggestion);
  g_clear_object (&self->eye_icon);
  g_clear_object (&self->broken_icon);
  G_OBJECT_CLASS (sl_thumbnail_cell_parent_class)->dispose (object);
}

static void
sl_thumbnail_cell_finalize (GObject *object)
{
  g_free (SL_THUMBNAIL_CELL (object)->error);
  g_clear_pointer (&SL_THUMBNAIL_CELL (object)->font, pango_font_description_free);
  G_OBJECT_CLASS (sl_thumbnail_cell_parent_class)->finalize (object);
}

static void
sl_thumbnail_cell_class_init (SlThumbnailCellClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_thumbnail_cell_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_thumbnail_cell_finalize;
  widget_class->snapshot = sl_thumbnail_cell_snapshot;
  widget_class->measure = sl_thumbnail_cell_measure;
  widget_class->css_changed = sl_thumbnail_cell_css_changed;
  gtk_widget_class_set_css_name (widget_class, "thumbnail");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sl_thumbnail_cell_init (SlThumbnailCell *self)
{
  self->size = 128;
  self->caption = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  pango_layout_set_ellipsize (self->caption, PANGO_ELLIPSIZE_END);
  pango_layout_set_single_paragraph_mode (self->caption, TRUE);
  self->badge = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  {
    PangoAttrList *attrs = pango_attr_list_new ();

    pango_attr_list_insert (attrs, pango_attr_scale_new (0.75));
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
    pango_layout_set_attributes (self->badge, attrs);
    pango_attr_list_unref (attrs);
  }
  self->suggestion = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  pango_layout_set_ellipsize (self->suggestion, PANGO_ELLIPSIZE_END); /* the confidence stays */
  pango_layout_set_single_paragraph_mode (self->suggestion, TRUE);
  {
    PangoAttrList *attrs = pango_attr_list_new ();

    pango_attr_list_insert (attrs, pango_attr_scale_new (0.8));
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
    pango_layout_set_attributes (self->suggestion, attrs);
    pango_attr_list_unref (attrs);
  }
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
}

GtkWidget *
sl_thumbnail_cell_new (SlThumbnailCache *cache)
{
  SlThumbnailCell *self = g_object_new (SL_TYPE_THUMBNAIL_CELL, NULL);

  self->cache = g_object_ref (cache);
  self->size = sl_thumbnail_cache_get_size (cache);
  return GTK_WIDGET (self);
}
