/* sl-color-swatch.c: a small round patch of a class colour (hollow for "no class"). */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-color-swatch.h"

struct _SlColorSwatch
{
  GtkWidget parent_instance;
  GdkRGBA color;
  gboolean has_color;
};

G_DEFINE_FINAL_TYPE (SlColorSwatch, sl_color_swatch, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_COLOR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Drawn with render nodes, not cairo: a grid shows many of these. */
static void
sl_color_swatch_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlColorSwatch *self = SL_COLOR_SWATCH (widget);
  float w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  float d = MIN (w, h);
  GskRoundedRect outline;
  GdkRGBA ring;

  gsk_rounded_rect_init_from_rect (&outline, &GRAPHENE_RECT_INIT ((w - d) / 2, (h - d) / 2, d, d),
                                   d / 2);
  if (self->has_color)
    {
      gtk_snapshot_push_rounded_clip (snapshot, &outline);
      gtk_snapshot_append_color (snapshot, &self->color, &outline.bounds);
      gtk_snapshot_pop (snapshot);
      return;
    }
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &ring);
  ring.alpha *= 0.45f;
  gtk_snapshot_append_border (snapshot, &outline, (float[4]){ 1.5f, 1.5f, 1.5f, 1.5f },
                              (GdkRGBA[4]){ ring, ring, ring, ring });
}

static void
sl_color_swatch_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_COLOR:
        sl_color_swatch_set_color (SL_COLOR_SWATCH (object), g_value_get_string (value));
        break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_color_swatch_class_init (SlColorSwatchClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->set_property = sl_color_swatch_set_property;
  widget_class->snapshot = sl_color_swatch_snapshot;
  properties[PROP_COLOR]
      = g_param_spec_string ("color", NULL, NULL, NULL, G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "swatch");
}

static void
sl_color_swatch_init (SlColorSwatch *self)
{
  gtk_widget_set_size_request (GTK_WIDGET (self), 12, 12);
  gtk_widget_set_valign (GTK_WIDGET (self), GTK_ALIGN_CENTER);
}

GtkWidget *
sl_color_swatch_new (void)
{
  return g_object_new (SL_TYPE_COLOR_SWATCH, NULL);
}

void
sl_color_swatch_set_color (SlColorSwatch *self, const char *color)
{
  GdkRGBA rgba;
  gboolean has = color != NULL && gdk_rgba_parse (&rgba, color);

  g_return_if_fail (SL_IS_COLOR_SWATCH (self));
  if (has == self->has_color && (!has || gdk_rgba_equal (&rgba, &self->color)))
    return;
  self->has_color = has;
  if (has)
    self->color = rgba;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
