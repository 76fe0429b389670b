/* sl-confusion-matrix.c: a confusion matrix drawn as a heat map; a click on a cell asks for its images. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-confusion-matrix.h"

#include <math.h>

/* Cell sides in pixels: below MIN the counts are left to the tooltips. */
#define MIN_CELL      14
#define NATURAL_CELL  64
#define MAX_CELL      80
#define MAX_LABEL     150 /* class names are ellipsized beyond this */
#define GAP           2   /* between cells */
#define LABEL_PADDING 8

struct _SlConfusionMatrix
{
  GtkWidget parent_instance;

  guint n;
  GPtrArray *names;      /* char * */
  gint64 *counts;        /* n x n */
  gint64 *row_totals;    /* n */
  GPtrArray *row_labels; /* PangoLayout, one per class */
  GPtrArray *col_labels; /* PangoLayout, one per class */
  GPtrArray *cell_text;  /* PangoLayout, n x n */
  PangoLayout *x_title, *y_title;
  int name_width; /* the widest class name, in pixels */
  int line_height;

  int hover_t, hover_p;       /* -1: none */
  int selected_t, selected_p; /* -1: none */
  int cursor_t, cursor_p;     /* the keyboard cursor */
  int press_t, press_p;
};

G_DEFINE_FINAL_TYPE (SlConfusionMatrix, sl_confusion_matrix, GTK_TYPE_WIDGET)

enum
{
  CELL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  float x0, y0;     /* the top-left corner of the cells */
  float cell;       /* side of a cell, gap included */
  float label_w;    /* row labels */
  float col_h;      /* column labels */
  float title;      /* axis titles' band */
  gboolean rotated; /* column labels read bottom to top */
} Geometry;

/* ---- Text ------------------------------------------------------------------------------- */

static PangoLayout *
new_layout (SlConfusionMatrix *self, const char *text, PangoAttrList *attrs)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);

  pango_layout_set_single_paragraph_mode (layout, TRUE);
  if (attrs != NULL)
    pango_layout_set_attributes (layout, attrs);
  return layout;
}

/* Counts use tabular figures so that columns of numbers line up. */
static void
build_layouts (SlConfusionMatrix *self)
{
  g_autoptr (PangoAttrList) numbers = pango_attr_list_new ();
  g_autoptr (PangoAttrList) strong = pango_attr_list_new ();
  PangoFontMetrics *metrics;

  pango_attr_list_insert (numbers, pango_attr_font_features_new ("tnum=1"));
  pango_attr_list_insert (strong, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  g_ptr_array_set_size (self->row_labels, 0);
  g_ptr_array_set_size (self->col_labels, 0);
  g_ptr_array_set_size (self->cell_text, 0);
  self->name_width = 0;
  for (guint i = 0; i < self->n; i++)
    {
      const char *name = g_ptr_array_index (self->names, i);
      PangoLayout *row = new_layout (self, name, NULL);
      int w;

      pango_layout_set_ellipsize (row, PANGO_ELLIPSIZE_END);
      pango_layout_set_width (row, MAX_LABEL * PANGO_SCALE);
      pango_layout_get_pixel_size (row, &w, NULL);
      self->name_width = MAX (self->name_width, w);
      g_ptr_array_add (self->row_labels, row);
      g_ptr_array_add (self->col_labels, pango_layout_copy (row));
    }
  for (guint i = 0; i < self->n * self->n; i++)
    {
      g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, self->counts[i]);
      g_ptr_array_add (self->cell_text, new_layout (self, text, numbers));
    }
  g_clear_object (&self->x_title);
  g_clear_object (&self->y_title);
  self->x_title = new_layout (self, "Predicted class", strong);
  self->y_title = new_layout (self, "True class", strong);
  metrics
      = pango_context_get_metrics (gtk_widget_get_pango_context (GTK_WIDGET (self)), NULL, NULL);
  self->line_height = PANGO_PIXELS_CEIL (pango_font_metrics_get_height (metrics));
  pango_font_metrics_unref (metrics);
}

/* ---- Geometry ------------------------------------------------------------------------------ */

static float
col_labels_height (SlConfusionMatrix *self, float cell, gboolean *rotated)
{
  *rotated = self->name_width + 6 > cell;
  return (*rotated ? MIN (self->name_width, MAX_LABEL) : self->line_height) + LABEL_PADDING;
}

/* The cell side that fits width (and height when > 0). */
static void
compute_geometry (SlConfusionMatrix *self, int width, int height, Geometry *g)
{
  float cell;

  g->title = self->line_height + LABEL_PADDING;
  g->label_w = MIN (self->name_width, MAX_LABEL) + LABEL_PADDING + 4;
  cell = self->n > 0 ? (width - g->title - g->label_w) / self->n : 0;
  cell = CLAMP (cell, MIN_CELL, MAX_CELL);
  g->col_h = col_labels_height (self, cell, &g->rotated);
  if (height > 0 && self->n > 0)
    {
      float fit = (height - g->title - g->col_h) / self->n;

      if (fit < cell)
        {
          cell = MAX (fit, MIN_CELL);
          g->col_h = col_labels_height (self, cell, &g->rotated);
          cell = MAX (MIN (cell, (height - g->title - g->col_h) / self->n), MIN_CELL);
        }
    }
  g->cell = floorf (cell);
  g->x0 = floorf (MAX (0, (width - (g->title + g->label_w + self->n * g->cell)) / 2)) + g->title
          + g->label_w;
  g->y0 = g->title + g->col_h;
}

gboolean
sl_confusion_matrix_cell_at (SlConfusionMatrix *self, double x, double y, int *true_class,
                             int *predicted_class)
{
  Geometry g;
  int col, row;

  g_return_val_if_fail (SL_IS_CONFUSION_MATRIX (self), FALSE);
  if (self->n == 0)
    return FALSE;
  compute_geometry (self, gtk_widget_get_width (GTK_WIDGET (self)),
                    gtk_widget_get_height (GTK_WIDGET (self)), &g);
  if (x < g.x0 || y < g.y0)
    return FALSE;
  col = (int) ((x - g.x0) / g.cell);
  row = (int) ((y - g.y0) / g.cell);
  if (col >= (int) self->n || row >= (int) self->n)
    return FALSE;
  *true_class = row;
  *predicted_class = col;
  return TRUE;
}

/* ---- Drawing -------------------------------------------------------------------------------- */

static GdkRGBA
fg_color (GtkWidget *widget, float alpha)
{
  GdkRGBA color;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  color.alpha *= alpha;
  return color;
}

static GdkRGBA
accent_color (GtkWidget *widget)
{
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  GdkRGBA color;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (style, "accent_bg_color", &color)
      && !gtk_style_context_lookup_color (style, "theme_selected_bg_color", &color))
    gdk_rgba_parse (&color, "#3584e4");
  G_GNUC_END_IGNORE_DEPRECATIONS
  return color;
}

/* A cell's fill: its share of the row. Mistakes get a square-root ramp so
 * that a few of them are already plainly visible. */
static GdkRGBA
cell_color (gboolean diagonal, double fraction)
{
  static const GdkRGBA green = { 0.149f, 0.635f, 0.412f, 1 }; /* #26a269 */
  static const GdkRGBA red = { 0.878f, 0.106f, 0.141f, 1 };   /* #e01b24 */
  GdkRGBA color = diagonal ? green : red;

  color.alpha = diagonal ? 0.10 + 0.90 * fraction : 0.16 + 0.84 * sqrt (fraction);
  return color;
}

/* Dark text on light fills, white on dark ones (the fill is seen over a light ground). */
static GdkRGBA
text_color_on (const GdkRGBA *fill)
{
  static const GdkRGBA dark = { 0.14f, 0.12f, 0.19f, 1 }, white = { 1, 1, 1, 1 };
  double r = fill->alpha * fill->red + (1 - fill->alpha);
  double g = fill->alpha * fill->green + (1 - fill->alpha);
  double b = fill->alpha * fill->blue + (1 - fill->alpha);

  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.58 ? white : dark;
}

static void
outline_cell (GtkSnapshot *snapshot, const Geometry *g, int t, int p, float width,
              const GdkRGBA *color)
{
  GskRoundedRect rect;
  float inset = GAP / 2.0f;

  gsk_rounded_rect_init_from_rect (&rect,
                                   &GRAPHENE_RECT_INIT (g->x0 + p * g->cell + inset,
                                                        g->y0 + t * g->cell + inset, g->cell - GAP,
                                                        g->cell - GAP),
                                   4);
  gtk_snapshot_append_border (snapshot, &rect, (float[4]){ width, width, width, width },
                              (GdkRGBA[4]){ *color, *color, *color, *color });
}

static void
draw_cells (SlConfusionMatrix *self, GtkSnapshot *snapshot, const Geometry *g)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA empty = fg_color (widget, 0.045f);
  gboolean show_counts = g->cell >= 22;

  for (guint t = 0; t < self->n; t++)
    for (guint p = 0; p < self->n; p++)
      {
        gint64 count = self->counts[t * self->n + p];
        double fraction = self->row_totals[t] > 0 ? (double) count / self->row_totals[t] : 0;
        GdkRGBA fill = count > 0 ? cell_color (t == p, fraction) : empty;
        graphene_rect_t r
            = GRAPHENE_RECT_INIT (g->x0 + p * g->cell + GAP / 2.0f,
                                  g->y0 + t * g->cell + GAP / 2.0f, g->cell - GAP, g->cell - GAP);
        GskRoundedRect rounded;

        gsk_rounded_rect_init_from_rect (&rounded, &r, 4);
        gtk_snapshot_push_rounded_clip (snapshot, &rounded);
        gtk_snapshot_append_color (snapshot, &fill, &r);
        gtk_snapshot_pop (snapshot);
        if (show_counts)
          {
            PangoLayout *text = g_ptr_array_index (self->cell_text, t * self->n + p);
            GdkRGBA ink = count > 0 ? text_color_on (&fill) : fg_color (widget, 0.3f);
            int w, h;

            pango_layout_get_pixel_size (text, &w, &h);
            if (w > g->cell - 4)
              continue;
            gtk_snapshot_save (snapshot);
            gtk_snapshot_translate (snapshot,
                                    &GRAPHENE_POINT_INIT (r.origin.x + (r.size.width - w) / 2,
                                                          r.origin.y + (r.size.height - h) / 2));
            gtk_snapshot_append_layout (snapshot, text, &ink);
            gtk_snapshot_restore (snapshot);
          }
      }
}

static void
draw_labels (SlConfusionMatrix *self, GtkSnapshot *snapshot, const Geometry *g)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA normal = fg_color (widget, 0.8f), strong = fg_color (widget, 1.0f);
  GdkRGBA title = fg_color (widget, 0.6f);
  int w, h;

  for (guint i = 0; i < self->n; i++)
    {
      PangoLayout *row = g_ptr_array_index (self->row_labels, i);
      PangoLayout *col = g_ptr_array_index (self->col_labels, i);
      gboolean row_hot = self->hover_t == (int) i || self->selected_t == (int) i;
      gboolean col_hot = self->hover_p == (int) i || self->selected_p == (int) i;

      pango_layout_get_pixel_size (row, &w, &h);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot,
                              &GRAPHENE_POINT_INIT (g->x0 - LABEL_PADDING - w,
                                                    g->y0 + i * g->cell + (g->cell - h) / 2));
      gtk_snapshot_append_layout (snapshot, row, row_hot ? &strong : &normal);
      gtk_snapshot_restore (snapshot);

      pango_layout_set_width (
          col, (int) ((g->rotated ? g->col_h - LABEL_PADDING : g->cell - 4) * PANGO_SCALE));
      pango_layout_get_pixel_size (col, &w, &h);
      gtk_snapshot_save (snapshot);
      if (g->rotated)
        {
          /* Bottom to top, ending just above the column. */
          gtk_snapshot_translate (snapshot,
                                  &GRAPHENE_POINT_INIT (g->x0 + i * g->cell + (g->cell - h) / 2,
                                                        g->y0 - LABEL_PADDING / 2.0f));
          gtk_snapshot_rotate (snapshot, -90);
        }
      else
        gtk_snapshot_translate (snapshot,
                                &GRAPHENE_POINT_INIT (g->x0 + i * g->cell + (g->cell - w) / 2,
                                                      g->y0 - LABEL_PADDING / 2.0f - h));
      gtk_snapshot_append_layout (snapshot, col, col_hot ? &strong : &normal);
      gtk_snapshot_restore (snapshot);
    }

  /* Axis titles, centred on the cells. */
  pango_layout_get_pixel_size (self->x_title, &w, &h);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (g->x0 + (self->n * g->cell - w) / 2, 0));
  gtk_snapshot_append_layout (snapshot, self->x_title, &title);
  gtk_snapshot_restore (snapshot);
  pango_layout_get_pixel_size (self->y_title, &w, &h);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (g->x0 - g->label_w - g->title,
                                                          g->y0 + (self->n * g->cell + w) / 2));
  gtk_snapshot_rotate (snapshot, -90);
  gtk_snapshot_append_layout (snapshot, self->y_title, &title);
  gtk_snapshot_restore (snapshot);
}

static void
sl_confusion_matrix_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  SlConfusionMatrix *self = SL_CONFUSION_MATRIX (widget);
  GdkRGBA accent = accent_color (widget), hover = fg_color (widget, 0.55f);
  Geometry g;

  if (self->n == 0)
    return;
  compute_geometry (self, gtk_widget_get_width (widget), gtk_widget_get_height (widget), &g);
  draw_cells (self, snapshot, &g);
  draw_labels (self, snapshot, &g);
  if (self->hover_t >= 0)
    outline_cell (snapshot, &g, self->hover_t, self->hover_p, 2, &hover);
  if (gtk_widget_has_visible_focus (widget))
    {
      GdkRGBA focus = accent;

      focus.alpha = 0.6f;
      outline_cell (snapshot, &g, self->cursor_t, self->cursor_p, 2, &focus);
    }
  if (self->selected_t >= 0)
    outline_cell (snapshot, &g, self->selected_t, self->selected_p, 3, &accent);
}

static GtkSizeRequestMode
sl_confusion_matrix_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
sl_confusion_matrix_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                             int *minimum, int *natural, int *minimum_baseline,
                             int *natural_baseline)
{
  SlConfusionMatrix *self = SL_CONFUSION_MATRIX (widget);
  Geometry g;

  if (self->n == 0)
    {
      *minimum = *natural = 0;
      return;
    }
  compute_geometry (self, for_size > 0 ? for_size : G_MAXINT / 4, -1, &g);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = (int) ceilf (g.title + g.label_w + self->n * MIN_CELL);
      *natural = (int) ceilf (g.title + g.label_w + self->n * NATURAL_CELL);
    }
  else
    {
      Geometry small;

      /* Cells shrink to fit a lower allocation, down to MIN_CELL. */
      if (for_size < 0)
        compute_geometry (self, (int) (g.title + g.label_w + self->n * NATURAL_CELL), -1, &g);
      compute_geometry (self, (int) (g.title + g.label_w + self->n * MIN_CELL), -1, &small);
      *natural = (int) ceilf (g.y0 + self->n * g.cell);
      *minimum = MIN (*natural, (int) ceilf (small.y0 + self->n * small.cell));
    }
}

/* ---- Input ----------------------------------------------------------------------------------- */

static void
set_hover (SlConfusionMatrix *self, int t, int p)
{
  if (self->hover_t == t && self->hover_p == p)
    return;
  self->hover_t = t;
  self->hover_p = p;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, SlConfusionMatrix *self)
{
  int t = -1, p = -1;

  if (!sl_confusion_matrix_cell_at (self, x, y, &t, &p))
    t = p = -1;
  set_hover (self, t, p);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), t >= 0 ? "pointer" : NULL);
}

static void
on_leave (GtkEventControllerMotion *motion, SlConfusionMatrix *self)
{
  set_hover (self, -1, -1);
}

static void
on_pressed (GtkGestureClick *click, int n_press, double x, double y, SlConfusionMatrix *self)
{
  if (!sl_confusion_matrix_cell_at (self, x, y, &self->press_t, &self->press_p))
    self->press_t = self->press_p = -1;
}

static void
on_released (GtkGestureClick *click, int n_press, double x, double y, SlConfusionMatrix *self)
{
  int t, p;

  if (self->press_t < 0 || !sl_confusion_matrix_cell_at (self, x, y, &t, &p) || t != self->press_t
      || p != self->press_p)
    return;
  self->cursor_t = t;
  self->cursor_p = p;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  sl_confusion_matrix_activate_cell (self, t, p);
}

static void
describe_cursor (SlConfusionMatrix *self)
{
  g_autofree char *text = NULL;
  gint64 count;

  if (self->n == 0)
    return;
  count = self->counts[self->cursor_t * self->n + self->cursor_p];
  text = g_strdup_printf ("True %s, predicted %s: %" G_GINT64_FORMAT " image%s",
                          (char *) g_ptr_array_index (self->names, self->cursor_t),
                          (char *) g_ptr_array_index (self->names, self->cursor_p), count,
                          count == 1 ? "" : "s");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text,
                                  -1);
}

static gboolean
on_key_pressed (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state,
                SlConfusionMatrix *self)
{
  int t = self->cursor_t, p = self->cursor_p, last = (int) self->n - 1;

  if (self->n == 0)
    return FALSE;
  switch (keyval)
    {
      case GDK_KEY_Left:
      case GDK_KEY_KP_Left: p = MAX (0, p - 1); break;
      case GDK_KEY_Right:
      case GDK_KEY_KP_Right: p = MIN (last, p + 1); break;
      case GDK_KEY_Up:
      case GDK_KEY_KP_Up: t = MAX (0, t - 1); break;
      case GDK_KEY_Down:
      case GDK_KEY_KP_Down: t = MIN (last, t + 1); break;
      case GDK_KEY_Home: p = 0; break;
      case GDK_KEY_End: p = last; break;
      case GDK_KEY_Return:
      case GDK_KEY_KP_Enter:
      case GDK_KEY_space: sl_confusion_matrix_activate_cell (self, t, p); return TRUE;
      default: return FALSE;
    }
  self->cursor_t = t;
  self->cursor_p = p;
  describe_cursor (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                  gpointer data)
{
  SlConfusionMatrix *self = SL_CONFUSION_MATRIX (widget);
  g_autofree char *text = NULL;
  const char *true_name, *predicted_name;
  gint64 count, total;
  int t, p;

  if (keyboard)
    t = self->cursor_t, p = self->cursor_p;
  else if (!sl_confusion_matrix_cell_at (self, x, y, &t, &p))
    return FALSE;
  if (self->n == 0)
    return FALSE;
  true_name = g_ptr_array_index (self->names, t);
  predicted_name = g_ptr_array_index (self->names, p);
  count = self->counts[t * self->n + p];
  total = self->row_totals[t];
  if (t == p)
    text = g_markup_printf_escaped ("<b>%s</b> recognised correctly\n%" G_GINT64_FORMAT
                                    " of %" G_GINT64_FORMAT " images (%.0f %%)",
                                    true_name, count, total, total > 0 ? 100.0 * count / total : 0);
  else
    text = g_markup_printf_escaped ("<b>%s</b> taken for <b>%s</b>\n%" G_GINT64_FORMAT
                                    " of %" G_GINT64_FORMAT " images (%.0f %%)",
                                    true_name, predicted_name, count, total,
                                    total > 0 ? 100.0 * count / total : 0);
  gtk_tooltip_set_markup (tooltip, text);
  return TRUE;
}

static void
sl_confusion_matrix_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  SlConfusionMatrix *self = SL_CONFUSION_MATRIX (widget);

  GTK_WIDGET_CLASS (sl_confusion_matrix_parent_class)->css_changed (widget, change);
  build_layouts (self);
  gtk_widget_queue_resize (widget);
}

/* ---- API --------------------------------------------------------------------------------------- */

void
sl_confusion_matrix_set_data (SlConfusionMatrix *self, guint n, const char *const *names,
                              const gint64 *counts)
{
  g_return_if_fail (SL_IS_CONFUSION_MATRIX (self));
  g_return_if_fail (n == 0 || (names != NULL && counts != NULL));

  self->n = n;
  g_ptr_array_set_size (self->names, 0);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (self->names, g_strdup (names[i]));
  g_free (self->counts);
  g_free (self->row_totals);
  self->counts = g_memdup2 (counts, sizeof (gint64) * n * n);
  self->row_totals = g_new0 (gint64, MAX (n, 1));
  for (guint t = 0; t < n; t++)
    for (guint p = 0; p < n; p++)
      self->row_totals[t] += counts[t * n + p];
  self->hover_t = self->hover_p = -1;
  self->selected_t = self->selected_p = -1;
  self->cursor_t = self->cursor_p = 0;
  build_layouts (self);
  describe_cursor (self);
  gtk_widget_set_focusable (GTK_WIDGET (self), n > 0);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

guint
sl_confusion_matrix_get_n_classes (SlConfusionMatrix *self)
{
  g_return_val_if_fail (SL_IS_CONFUSION_MATRIX (self), 0);
  return self->n;
}

gint64
sl_confusion_matrix_get_count (SlConfusionMatrix *self, guint true_class, guint predicted_class)
{
  g_return_val_if_fail (SL_IS_CONFUSION_MATRIX (self), 0);
  g_return_val_if_fail (true_class < self->n && predicted_class < self->n, 0);
  return self->counts[true_class * self->n + predicted_class];
}

void
sl_confusion_matrix_set_selected (SlConfusionMatrix *self, int true_class, int predicted_class)
{
  g_return_if_fail (SL_IS_CONFUSION_MATRIX (self));

  if (true_class < 0 || predicted_class < 0 || true_class >= (int) self->n
      || predicted_class >= (int) self->n)
    true_class = predicted_class = -1;
  self->selected_t = true_class;
  self->selected_p = predicted_class;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
sl_confusion_matrix_get_selected (SlConfusionMatrix *self, int *true_class, int *predicted_class)
{
  g_return_val_if_fail (SL_IS_CONFUSION_MATRIX (self), FALSE);
  if (true_class != NULL)
    *true_class = self->selected_t;
  if (predicted_class != NULL)
    *predicted_class = self->selected_p;
  return self->selected_t >= 0;
}

void
sl_confusion_matrix_activate_cell (SlConfusionMatrix *self, guint true_class, guint predicted_class)
{
  g_return_if_fail (SL_IS_CONFUSION_MATRIX (self));
  g_return_if_fail (true_class < self->n && predicted_class < self->n);

  self->cursor_t = true_class;
  self->cursor_p = predicted_class;
  describe_cursor (self);
  g_signal_emit (self, signals[CELL_ACTIVATED], 0, (int) true_class, (int) predicted_class);
}

/* ---- Object -------------------------------------------------------------------------------------- */

static void
sl_confusion_matrix_finalize (GObject *object)
{
  SlConfusionMatrix *self = SL_CONFUSION_MATRIX (object);

  g_ptr_array_unref (self->names);
  g_ptr_array_unref (self->row_labels);
  g_ptr_array_unref (self->col_labels);
  g_ptr_array_unref (self->cell_text);
  g_clear_object (&self->x_title);
  g_clear_object (&self->y_title);
  g_free (self->counts);
  g_free (self->row_totals);
  G_OBJECT_CLASS (sl_confusion_matrix_parent_class)->finalize (object);
}

static void
sl_confusion_matrix_class_init (SlConfusionMatrixClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sl_confusion_matrix_finalize;
  widget_class->snapshot = sl_confusion_matrix_snapshot;
  widget_class->measure = sl_confusion_matrix_measure;
  widget_class->get_request_mode = sl_confusion_matrix_get_request_mode;
  widget_class->css_changed = sl_confusion_matrix_css_changed;

  signals[CELL_ACTIVATED]
      = g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  gtk_widget_class_set_css_name (widget_class, "confusionmatrix");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
sl_confusion_matrix_init (SlConfusionMatrix *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *key = gtk_event_controller_key_new ();

  self->names = g_ptr_array_new_with_free_func (g_free);
  self->row_labels = g_ptr_array_new_with_free_func (g_object_unref);
  self->col_labels = g_ptr_array_new_with_free_func (g_object_unref);
  self->cell_text = g_ptr_array_new_with_free_func (g_object_unref);
  self->row_totals = g_new0 (gint64, 1);
  self->hover_t = self->hover_p = -1;
  self->selected_t = self->selected_p = -1;
  self->press_t = self->press_p = -1;

  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (key, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Confusion matrix", -1);
  build_layouts (self);
}

GtkWidget *
sl_confusion_matrix_new (void)
{
  return g_object_new (SL_TYPE_CONFUSION_MATRIX, NULL);
}
