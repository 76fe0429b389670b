/* sl-checkerboard.c: transparency shown as a checkerboard under an image, never as a flat fill that hides it. */
#include "sl-checkerboard.h"

#define SQUARE 8

void
sl_checkerboard_snapshot (GtkSnapshot *snapshot, const graphene_rect_t *rect)
{
  static const GdkRGBA light = { 0.80f, 0.80f, 0.80f, 1.0f };
  static const GdkRGBA dark = { 0.60f, 0.60f, 0.60f, 1.0f };

  /* One 2 x 2 tile, repeated from the image's corner. */
  gtk_snapshot_push_repeat (
      snapshot, rect, &GRAPHENE_RECT_INIT (rect->origin.x, rect->origin.y, 2 * SQUARE, 2 * SQUARE));
  gtk_snapshot_append_color (
      snapshot, &light,
      &GRAPHENE_RECT_INIT (rect->origin.x, rect->origin.y, 2 * SQUARE, 2 * SQUARE));
  gtk_snapshot_append_color (
      snapshot, &dark,
      &GRAPHENE_RECT_INIT (rect->origin.x + SQUARE, rect->origin.y, SQUARE, SQUARE));
  gtk_snapshot_append_color (
      snapshot, &dark,
      &GRAPHENE_RECT_INIT (rect->origin.x, rect->origin.y + SQUARE, SQUARE, SQUARE));
  gtk_snapshot_pop (snapshot);
}

static GQuark
alpha_quark (void)
{
  return g_quark_from_static_string ("sl-texture-has-alpha");
}

void
sl_texture_mark_alpha (GdkTexture *texture)
{
  g_return_if_fail (GDK_IS_TEXTURE (texture));
  g_object_set_qdata (G_OBJECT (texture), alpha_quark (), GINT_TO_POINTER (TRUE));
}

gboolean
sl_texture_has_alpha (GdkTexture *texture)
{
  return texture != NULL && g_object_get_qdata (G_OBJECT (texture), alpha_quark ()) != NULL;
}

/* ---- A texture on the checkerboard, as a paintable ------------------------------------------- */

#define SL_TYPE_CHECKERED (sl_checkered_get_type ())
G_DECLARE_FINAL_TYPE (SlCheckered, sl_checkered, SL, CHECKERED, GObject)

struct _SlCheckered
{
  GObject parent_instance;
  GdkTexture *texture;
};

static void
sl_checkered_snapshot (GdkPaintable *paintable, GdkSnapshot *snapshot, double width, double height)
{
  SlCheckered *self = SL_CHECKERED (paintable);

  sl_checkerboard_snapshot (GTK_SNAPSHOT (snapshot), &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (GDK_PAINTABLE (self->texture), snapshot, width, height);
}

static int
sl_checkered_get_intrinsic_width (GdkPaintable *paintable)
{
  return gdk_texture_get_width (SL_CHECKERED (paintable)->texture);
}

static int
sl_checkered_get_intrinsic_height (GdkPaintable *paintable)
{
  return gdk_texture_get_height (SL_CHECKERED (paintable)->texture);
}

static void
sl_checkered_paintable_init (GdkPaintableInterface *iface)
{
  iface->snapshot = sl_checkered_snapshot;
  iface->get_intrinsic_width = sl_checkered_get_intrinsic_width;
  iface->get_intrinsic_height = sl_checkered_get_intrinsic_height;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (SlCheckered, sl_checkered, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE,
                                                      sl_checkered_paintable_init))

static void
sl_checkered_dispose (GObject *object)
{
  g_clear_object (&SL_CHECKERED (object)->texture);
  G_OBJECT_CLASS (sl_checkered_parent_class)->dispose (object);
}

static void
sl_checkered_class_init (SlCheckeredClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sl_checkered_dispose;
}

static void
sl_checkered_init (SlCheckered *self)
{
}

GdkPaintable *
sl_checkerboard_paintable_new (GdkTexture *texture)
{
  SlCheckered *self;

  if (texture == NULL)
    return NULL;
  if (!sl_texture_has_alpha (texture))
    return GDK_PAINTABLE (g_object_ref (texture));
  self = g_object_new (SL_TYPE_CHECKERED, NULL);
  self->texture = g_object_ref (texture);
  return GDK_PAINTABLE (self);
}
