/* sl-roi-overlay.c: draws a step's region of interest over a preview picture and edits it by dragging.
 *
 * The rectangle is kept in image pixels; the widget maps them onto the
 * letterboxed area where GtkPicture draws the image, so dragging works at any
 * window size and for images shown enlarged or shrunk. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-roi-overlay.h"

#include <math.h>

/* Pointer distance (px) at which an edge or corner is grabbed. */
#define GRAB   8.0
#define HANDLE 8.0

enum
{
  EDGE_LEFT = 1 << 0,
  EDGE_RIGHT = 1 << 1,
  EDGE_TOP = 1 << 2,
  EDGE_BOTTOM = 1 << 3,
};

typedef enum
{
  DRAG_NONE,
  DRAG_NEW,    /* drawing a new rectangle from the press point */
  DRAG_MOVE,   /* moving the whole rectangle */
  DRAG_RESIZE, /* moving the edges in `edges` */
} DragMode;

struct _SlRoiOverlay
{
  GtkWidget parent_instance;
  int image_width, image_height;
  gboolean relative;
  sl_rect rect; /* image pixels */

  DragMode mode;
  guint edges;
  sl_rect start_rect;      /* image pixels, at the press */
  double start_x, start_y; /* image pixels, at the press */
};

G_DEFINE_FINAL_TYPE (SlRoiOverlay, sl_roi_overlay, GTK_TYPE_WIDGET)

enum
{
  RECT_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- Geometry ------------------------------------------------------------------- */

gboolean
sl_roi_overlay_get_image_area (SlRoiOverlay *self, graphene_rect_t *area)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  double aspect, w, h;

  if (self->image_width <= 0 || self->image_height <= 0 || width <= 0 || height <= 0)
    return FALSE;
  aspect = (double) self->image_width / self->image_height;
  if (width / height > aspect)
    {
      w = height * aspect;
      h = height;
    }
  else
    {
      w = width;
      h = width / aspect;
    }
  /* As SlImageView places the image. */
  graphene_rect_init (area, (width - w) / 2, (height - h) / 2, w, h);
  return TRUE;
}

void
sl_roi_overlay_widget_to_image (SlRoiOverlay *self, double wx, double wy, double *ix, double *iy)
{
  graphene_rect_t a;

  if (!sl_roi_overlay_get_image_area (self, &a))
    {
      *ix = *iy = 0;
      return;
    }
  *ix = (wx - a.origin.x) / a.size.width * self->image_width;
  *iy = (wy - a.origin.y) / a.size.height * self->image_height;
}

void
sl_roi_overlay_image_to_widget (SlRoiOverlay *self, double ix, double iy, double *wx, double *wy)
{
  graphene_rect_t a;

  if (!sl_roi_overlay_get_image_area (self, &a))
    {
      *wx = *wy = 0;
      return;
    }
  *wx = a.origin.x + ix / self->image_width * a.size.width;
  *wy = a.origin.y + iy / self->image_height * a.size.height;
}

static graphene_rect_t
rect_in_widget (SlRoiOverlay *self)
{
  double x0, y0, x1, y1;
  graphene_rect_t r;

  sl_roi_overlay_image_to_widget (self, self->rect.x, self->rect.y, &x0, &y0);
  sl_roi_overlay_image_to_widget (self, self->rect.x + self->rect.width,
                                  self->rect.y + self->rect.height, &x1, &y1);
  graphene_rect_init (&r, x0, y0, x1 - x0, y1 - y0);
  return r;
}

/* ---- Units ----------------------------------------------------------------------- */

/* Pixels to what the operator takes: whole pixels, or fractions to 3 places. */
static sl_rect
to_units (SlRoiOverlay *self, const sl_rect *px)
{
  sl_rect r;

  if (!self->relative)
    {
      r.x = floor (px->x);
      r.y = floor (px->y);
      r.width = MAX (1, MIN (round (px->width), self->image_width - r.x));
      r.height = MAX (1, MIN (round (px->height), self->image_height - r.y));
      return r;
    }
  r.x = round (px->x / self->image_width * 1000) / 1000;
  r.y = round (px->y / self->image_height * 1000) / 1000;
  r.width = MAX (0.001, MIN (round (px->width / self->image_width * 1000) / 1000, 1 - r.x));
  r.height = MAX (0.001, MIN (round (px->height / self->image_height * 1000) / 1000, 1 - r.y));
  return r;
}

void
sl_roi_overlay_set_rect (SlRoiOverlay *self, const sl_rect *rect, gboolean relative)
{
  g_return_if_fail (SL_IS_ROI_OVERLAY (self));
  self->relative = relative;
  self->rect = *rect;
  if (relative)
    {
      self->rect.x *= self->image_width;
      self->rect.width *= self->image_width;
      self->rect.y *= self->image_height;
      self->rect.height *= self->image_height;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sl_roi_overlay_get_rect (SlRoiOverlay *self, sl_rect *rect)
{
  g_return_if_fail (SL_IS_ROI_OVERLAY (self));
  *rect = to_units (self, &self->rect);
}

void
sl_roi_overlay_set_image_size (SlRoiOverlay *self, int width, int height)
{
  sl_rect units;

  g_return_if_fail (SL_IS_ROI_OVERLAY (self));
  if (width == self->image_width && height == self->image_height)
    return;
  /* Keep the rectangle in the operator's units. */
  units = self->relative && self->image_width > 0 ? to_units (self, &self->rect) : self->rect;
  self->image_width = width;
  self->image_height = height;
  sl_roi_overlay_set_rect (self, &units, self->relative);
}

/* ---- Dragging ---------------------------------------------------------------------- */

static guint
edges_at (SlRoiOverlay *self, double wx, double wy)
{
  graphene_rect_t r = rect_in_widget (self);
  double x1 = r.origin.x + r.size.width, y1 = r.origin.y + r.size.height;
  gboolean in_x = wx > r.origin.x - GRAB && wx < x1 + GRAB;
  gboolean in_y = wy > r.origin.y - GRAB && wy < y1 + GRAB;
  guint edges = 0;

  if (!in_x || !in_y)
    return 0;
  if (fabs (wx - r.origin.x) <= GRAB)
    edges |= EDGE_LEFT;
  else if (fabs (wx - x1) <= GRAB)
    edges |= EDGE_RIGHT;
  if (fabs (wy - r.origin.y) <= GRAB)
    edges |= EDGE_TOP;
  else if (fabs (wy - y1) <= GRAB)
    edges |= EDGE_BOTTOM;
  return edges;
}

static gboolean
inside_rect (SlRoiOverlay *self, double wx, double wy)
{
  graphene_rect_t r = rect_in_widget (self);

  return graphene_rect_contains_point (&r, &GRAPHENE_POINT_INIT (wx, wy));
}

static const char *
cursor_for (SlRoiOverlay *self, double wx, double wy)
{
  guint e = edges_at (self, wx, wy);

  if (e == (EDGE_LEFT | EDGE_TOP) || e == (EDGE_RIGHT | EDGE_BOTTOM))
    return "nwse-resize";
  if (e == (EDGE_RIGHT | EDGE_TOP) || e == (EDGE_LEFT | EDGE_BOTTOM))
    return "nesw-resize";
  if (e & (EDGE_LEFT | EDGE_RIGHT))
    return "ew-resize";
  if (e & (EDGE_TOP | EDGE_BOTTOM))
    return "ns-resize";
  return inside_rect (self, wx, wy) ? "move" : "crosshair";
}

static void
drag_begin (SlRoiOverlay *self, double wx, double wy)
{
  if (self->image_width <= 0)
    {
      self->mode = DRAG_NONE;
      return;
    }
  sl_roi_overlay_widget_to_image (self, wx, wy, &self->start_x, &self->start_y);
  self->start_x = CLAMP (self->start_x, 0, self->image_width);
  self->start_y = CLAMP (self->start_y, 0, self->image_height);
  self->start_rect = self->rect;
  self->edges = edges_at (self, wx, wy);
  if (self->edges != 0)
    self->mode = DRAG_RESIZE;
  else if (inside_rect (self, wx, wy))
    self->mode = DRAG_MOVE;
  else
    self->mode = DRAG_NEW;
}

/* Applies a drag to the rectangle, in image pixels, kept inside the image. */
static void
drag_to (SlRoiOverlay *self, double ix, double iy)
{
  double W = self->image_width, H = self->image_height;
  double dx = ix - self->start_x, dy = iy - self->start_y;
  sl_rect r = self->start_rect, units;
  double x0 = r.x, y0 = r.y, x1 = r.x + r.width, y1 = r.y + r.height;

  ix = CLAMP (ix, 0, W);
  iy = CLAMP (iy, 0, H);
  switch (self->mode)
    {
      case DRAG_NONE: return;
      case DRAG_NEW:
        x0 = MIN (self->start_x, ix);
        x1 = MAX (self->start_x, ix);
        y0 = MIN (self->start_y, iy);
        y1 = MAX (self->start_y, iy);
        break;
      case DRAG_MOVE:
        dx = CLAMP (dx, -x0, W - x1);
        dy = CLAMP (dy, -y0, H - y1);
        x0 += dx, x1 += dx, y0 += dy, y1 += dy;
        break;
      case DRAG_RESIZE:
        if (self->edges & EDGE_LEFT)
          x0 = CLAMP (x0 + dx, 0, x1 - 1);
        if (self->edges & EDGE_RIGHT)
          x1 = CLAMP (x1 + dx, x0 + 1, W);
        if (self->edges & EDGE_TOP)
          y0 = CLAMP (y0 + dy, 0, y1 - 1);
        if (self->edges & EDGE_BOTTOM)
          y1 = CLAMP (y1 + dy, y0 + 1, H);
        break;
    }
  self->rect.x = x0;
  self->rect.y = y0;
  self->rect.width = MAX (1, x1 - x0);
  self->rect.height = MAX (1, y1 - y0);
  units = to_units (self, &self->rect);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[RECT_CHANGED], 0, &units);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, SlRoiOverlay *self)
{
  drag_begin (self, x, y);
  if (self->mode == DRAG_NONE)
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, SlRoiOverlay *self)
{
  double x, y, ix, iy;

  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  sl_roi_overlay_widget_to_image (self, x + dx, y + dy, &ix, &iy);
  drag_to (self, ix, iy);
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, SlRoiOverlay *self)
{
  self->mode = DRAG_NONE;
}

void
sl_roi_overlay_drag (SlRoiOverlay *self, double x0, double y0, double x1, double y1)
{
  double ix, iy;

  g_return_if_fail (SL_IS_ROI_OVERLAY (self));
  drag_begin (self, x0, y0);
  sl_roi_overlay_widget_to_image (self, x1, y1, &ix, &iy);
  drag_to (self, ix, iy);
  self->mode = DRAG_NONE;
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, SlRoiOverlay *self)
{
  if (self->mode == DRAG_NONE)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), cursor_for (self, x, y));
}

/* ---- Drawing ------------------------------------------------------------------------ */

static void
sl_roi_overlay_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlRoiOverlay *self = SL_ROI_OVERLAY (widget);
  const GdkRGBA shade = { 0, 0, 0, 0.45 }, accent = { 0.21, 0.52, 0.89, 1 }, white = { 1, 1, 1, 1 };
  graphene_rect_t a, r;
  GskRoundedRect outline;
  float x1, y1, ax1, ay1;

  if (!sl_roi_overlay_get_image_area (self, &a))
    return;
  r = rect_in_widget (self);
  x1 = r.origin.x + r.size.width;
  y1 = r.origin.y + r.size.height;
  ax1 = a.origin.x + a.size.width;
  ay1 = a.origin.y + a.size.height;
  /* A region in pixels may reach past the image; only the image is drawn on
   * (the preview says why the step fails). Handles get a little room. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (a.origin.x - HANDLE, a.origin.y - HANDLE,
                                                         a.size.width + 2 * HANDLE,
                                                         a.size.height + 2 * HANDLE));
  /* Shade what the region leaves out (of the image). */
  {
    float top = CLAMP (r.origin.y, a.origin.y, ay1), bottom = CLAMP (y1, top, ay1);
    float left = CLAMP (r.origin.x, a.origin.x, ax1), right = CLAMP (x1, left, ax1);

    gtk_snapshot_append_color (
        snapshot, &shade,
        &GRAPHENE_RECT_INIT (a.origin.x, a.origin.y, a.size.width, top - a.origin.y));
    gtk_snapshot_append_color (
        snapshot, &shade, &GRAPHENE_RECT_INIT (a.origin.x, bottom, a.size.width, ay1 - bottom));
    gtk_snapshot_append_color (
        snapshot, &shade, &GRAPHENE_RECT_INIT (a.origin.x, top, left - a.origin.x, bottom - top));
    gtk_snapshot_append_color (snapshot, &shade,
                               &GRAPHENE_RECT_INIT (right, top, ax1 - right, bottom - top));
  }
  gsk_rounded_rect_init_from_rect (&outline, &r, 0);
  gtk_snapshot_append_border (snapshot, &outline, (float[4]){ 2, 2, 2, 2 },
                              (GdkRGBA[4]){ accent, accent, accent, accent });
  /* Corner handles. */
  for (int i = 0; i < 4; i++)
    {
      float cx = i % 2 ? x1 : r.origin.x, cy = i / 2 ? y1 : r.origin.y;
      graphene_rect_t h = GRAPHENE_RECT_INIT (cx - HANDLE / 2, cy - HANDLE / 2, HANDLE, HANDLE);
      GskRoundedRect hb;

      gtk_snapshot_append_color (snapshot, &white, &h);
      gsk_rounded_rect_init_from_rect (&hb, &h, 0);
      gtk_snapshot_append_border (snapshot, &hb, (float[4]){ 1, 1, 1, 1 },
                                  (GdkRGBA[4]){ accent, accent, accent, accent });
    }
  gtk_snapshot_pop (snapshot);
}

/* ---- Type --------------------------------------------------------------------------- */

static void
sl_roi_overlay_class_init (SlRoiOverlayClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = sl_roi_overlay_snapshot;
  gtk_widget_class_set_css_name (widget_class, "sl-roi-overlay");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);

  signals[RECT_CHANGED]
      = g_signal_new ("rect-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
sl_roi_overlay_init (SlRoiOverlay *self)
{
  GtkGesture *drag = gtk_gesture_drag_new ();
  GtkEventController *motion = gtk_event_controller_motion_new ();

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
}

GtkWidget *
sl_roi_overlay_new (void)
{
  return g_object_new (SL_TYPE_ROI_OVERLAY, NULL);
}
