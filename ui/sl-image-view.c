/* sl-image-view.c: shows a preview texture letterboxed, redrawing it cheaply and never resizing for it.
 *
 * GtkPicture would do, but in GTK 4.8 it queues a resize for every new
 * paintable, and the cairo renderer converts every texture node through
 * floats on every frame, even where nothing changed. Previews change many
 * times a second while a slider moves, so this view draws a cairo surface
 * that shares the texture's pixels and asks only for a redraw. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-image-view.h"
#include "sl-checkerboard.h"

#define SURFACE_KEY "sl-image-view-surface"

static const cairo_user_data_key_t pixels_key;

struct _SlImageView
{
  GtkWidget parent_instance;
  GdkTexture *texture;
};

G_DEFINE_FINAL_TYPE (SlImageView, sl_image_view, GTK_TYPE_WIDGET)

void
sl_image_view_attach_surface (GdkTexture *texture, GBytes *pixels)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  cairo_surface_t *surface;

  g_return_if_fail (g_bytes_get_size (pixels) >= (gsize) width * 4 * (gsize) height);
  surface = cairo_image_surface_create_for_data ((guchar *) g_bytes_get_data (pixels, NULL),
                                                 CAIRO_FORMAT_ARGB32, width, height, width * 4);
  /* The surface keeps the pixels alive, the texture keeps the surface. */
  cairo_surface_set_user_data (surface, &pixels_key, g_bytes_ref (pixels),
                               (cairo_destroy_func_t) g_bytes_unref);
  g_object_set_data_full (G_OBJECT (texture), SURFACE_KEY, surface,
                          (GDestroyNotify) cairo_surface_destroy);
}

void
sl_image_view_set_texture (SlImageView *self, GdkTexture *texture)
{
  g_return_if_fail (SL_IS_IMAGE_VIEW (self));
  if (!g_set_object (&self->texture, texture))
    return;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

GdkTexture *
sl_image_view_get_texture (SlImageView *self)
{
  g_return_val_if_fail (SL_IS_IMAGE_VIEW (self), NULL);
  return self->texture;
}

static void
sl_image_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlImageView *self = SL_IMAGE_VIEW (widget);
  double width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  double tw, th, s;
  graphene_rect_t area;
  cairo_surface_t *surface;
  cairo_t *cr;

  if (self->texture == NULL || width <= 0 || height <= 0)
    return;
  tw = gdk_texture_get_width (self->texture);
  th = gdk_texture_get_height (self->texture);
  s = MIN (width / tw, height / th);
  graphene_rect_init (&area, (width - tw * s) / 2, (height - th * s) / 2, tw * s, th * s);
  if (sl_texture_has_alpha (self->texture))
    sl_checkerboard_snapshot (snapshot, &area);
  surface = g_object_get_data (G_OBJECT (self->texture), SURFACE_KEY);
  if (surface == NULL)
    {
      gtk_snapshot_append_texture (snapshot, self->texture, &area);
      return;
    }
  cr = gtk_snapshot_append_cairo (snapshot, &area);
  cairo_translate (cr, area.origin.x, area.origin.y);
  cairo_scale (cr, s, s);
  cairo_set_source_surface (cr, surface, 0, 0);
  /* Textures are made for their box; scaling only bridges a resize. */
  cairo_pattern_set_filter (cairo_get_source (cr), s * gtk_widget_get_scale_factor (widget) < 0.75
                                                       ? CAIRO_FILTER_GOOD
                                                       : CAIRO_FILTER_BILINEAR);
  cairo_paint (cr);
  cairo_destroy (cr);
}

static void
sl_image_view_dispose (GObject *object)
{
  g_clear_object (&SL_IMAGE_VIEW (object)->texture);
  G_OBJECT_CLASS (sl_image_view_parent_class)->dispose (object);
}

static void
sl_image_view_class_init (SlImageViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_image_view_dispose;
  widget_class->snapshot = sl_image_view_snapshot;
  gtk_widget_class_set_css_name (widget_class, "sl-image-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sl_image_view_init (SlImageView *self)
{
}

GtkWidget *
sl_image_view_new (void)
{
  return g_object_new (SL_TYPE_IMAGE_VIEW, NULL);
}
