/* sl-preview-pane.c: the Preprocess page's live preview: source, output and every stage of the chain. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-preview-pane.h"
#include "sl-image-view.h"

/* A computation shows the spinner only when it takes longer than this (ms),
 * so that dragging a slider over a quick chain does not flicker. */
#define BUSY_DELAY_MS 250

struct _SlPreviewPane
{
  GtkWidget parent_instance;
  GtkWidget *stack;
  GtkWidget *source_title;
  GtkWidget *source_info;
  GtkWidget *source_overlay;
  GtkWidget *source_picture;
  GtkWidget *output_title;
  GtkWidget *output_info;
  GtkWidget *output_picture;
  GtkWidget *busy_spinner;
  GtkWidget *error_box;
  GtkWidget *error_label;
  GtkWidget *strip;
  GtkWidget *roi_overlay;

  /* The last result, kept for switching views without recomputing. */
  SlPreviewStage source;
  GArray *stages; /* SlPreviewStage */
  GPtrArray *names;
  int n_steps;
  int failed_stage;

  GPtrArray *items; /* the strip's toggle buttons */
  int shown;        /* strip index shown large; -1: the model input */
  int roi_step;
  guint busy_timeout;
  gboolean updating;
  int box_width, box_height; /* the large views, in device pixels */
};

G_DEFINE_FINAL_TYPE (SlPreviewPane, sl_preview_pane, GTK_TYPE_WIDGET)

enum
{
  VIEW_RESIZED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
stage_clear (SlPreviewStage *s)
{
  g_clear_object (&s->large);
  g_clear_object (&s->thumb);
}

static void
stage_set (SlPreviewStage *to, const SlPreviewStage *from)
{
  stage_clear (to);
  *to = *from;
  if (to->large != NULL)
    g_object_ref (to->large);
  if (to->thumb != NULL)
    g_object_ref (to->thumb);
}

static char *
describe (const SlPreviewStage *s)
{
  const char *kind = s->channels == 1 ? "gray" : s->channels == 3 ? "RGB" : "RGBA";

  if (s->width <= 0)
    return g_strdup ("");
  return g_strdup_printf ("%d × %d px · %s · %d-bit", s->width, s->height, kind, s->depth);
}

/* Strip index (0 source, 1..n steps, n + 1 model input) to its stage, or NULL. */
static const SlPreviewStage *
stage_at (SlPreviewPane *self, int index)
{
  if (index == 0)
    return self->source.large != NULL ? &self->source : NULL;
  if (index - 1 < (int) self->stages->len)
    return &g_array_index (self->stages, SlPreviewStage, index - 1);
  return NULL;
}

static const char *
name_at (SlPreviewPane *self, int index)
{
  if (index == 0 || index - 1 >= (int) self->names->len)
    return "Source";
  return g_ptr_array_index (self->names, index - 1);
}

/* ---- Views ------------------------------------------------------------------------ */

static void
update_left (SlPreviewPane *self)
{
  int index = self->roi_step > 0 ? self->roi_step : 0;
  const SlPreviewStage *s = stage_at (self, index);
  g_autofree char *info = s != NULL ? describe (s) : g_strdup ("");
  const char *step = index < (int) self->names->len ? g_ptr_array_index (self->names, index) : "";
  g_autofree char *title = index > 0 ? g_strdup_printf ("Input of %s", step) : g_strdup ("Source");

  gtk_label_set_text (GTK_LABEL (self->source_title), title);
  gtk_label_set_text (GTK_LABEL (self->source_info), info);
  sl_image_view_set_texture (SL_IMAGE_VIEW (self->source_picture), s != NULL ? s->large : NULL);
  gtk_widget_set_visible (self->roi_overlay, self->roi_step >= 0 && s != NULL);
  if (s != NULL)
    sl_roi_overlay_set_image_size (SL_ROI_OVERLAY (self->roi_overlay), s->width, s->height);
}

static void
update_right (SlPreviewPane *self)
{
  int last = self->n_steps + 1;
  int index = self->shown < 0 || self->shown > last ? last : self->shown;
  const SlPreviewStage *s = stage_at (self, index);
  g_autofree char *info = s != NULL ? describe (s) : g_strdup ("");
  g_autofree char *title = index == last ? g_strdup ("Output: model input")
                                         : g_strdup_printf ("Stage %s", name_at (self, index));

  gtk_label_set_text (GTK_LABEL (self->output_title), index == 0 ? "Stage: source" : title);
  gtk_label_set_text (GTK_LABEL (self->output_info), info);
  sl_image_view_set_texture (SL_IMAGE_VIEW (self->output_picture), s != NULL ? s->large : NULL);
}

/* ---- Strip ------------------------------------------------------------------------- */

static void
on_item_toggled (GtkToggleButton *button, SlPreviewPane *self)
{
  int index;

  if (self->updating || !gtk_toggle_button_get_active (button))
    return;
  index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "sl-index"));
  self->shown = index == self->n_steps + 1 ? -1 : index;
  update_right (self);
}

static GtkWidget *
new_item (SlPreviewPane *self, int index)
{
  GtkWidget *button = gtk_toggle_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *picture = sl_image_view_new ();
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_size_request (picture, SL_PREVIEW_THUMB_BOX, SL_PREVIEW_THUMB_BOX);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 11);
  gtk_label_set_width_chars (GTK_LABEL (label), 11);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), label);
  gtk_button_set_child (GTK_BUTTON (button), box);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (button, "sl-stage-thumb");
  g_object_set_data (G_OBJECT (button), "sl-picture", picture);
  g_object_set_data (G_OBJECT (button), "sl-label", label);
  g_object_set_data (G_OBJECT (button), "sl-index", GINT_TO_POINTER (index));
  if (self->items->len > 0)
    gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (button), g_ptr_array_index (self->items, 0));
  g_signal_connect (button, "toggled", G_CALLBACK (on_item_toggled), self);
  return button;
}

/* One thumbnail per stage; rebuilt only when the number of steps changes. */
static void
update_strip (SlPreviewPane *self)
{
  guint n = (guint) self->n_steps + 2;
  int shown = self->shown < 0 || self->shown > self->n_steps + 1 ? self->n_steps + 1 : self->shown;

  if (self->items->len != n)
    {
      GtkWidget *child;

      while ((child = gtk_widget_get_first_child (self->strip)) != NULL)
        gtk_box_remove (GTK_BOX (self->strip), child);
      g_ptr_array_set_size (self->items, 0);
      for (guint i = 0; i < n; i++)
        {
          GtkWidget *item = new_item (self, (int) i);
          g_ptr_array_add (self->items, item);
          gtk_box_append (GTK_BOX (self->strip), item);
        }
    }
  self->updating = TRUE;
  for (guint i = 0; i < n; i++)
    {
      GtkWidget *item = g_ptr_array_index (self->items, i);
      const SlPreviewStage *s = stage_at (self, (int) i);
      GtkWidget *label = g_object_get_data (G_OBJECT (item), "sl-label");
      const char *name = i == n - 1 ? "Model input" : name_at (self, (int) i);
      gboolean failed = (int) i - 1 == self->failed_stage && self->failed_stage >= 0;

      sl_image_view_set_texture (g_object_get_data (G_OBJECT (item), "sl-picture"),
                                 s != NULL ? s->thumb : NULL);
      if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (label)), name) != 0)
        {
          /* (A tooltip change re-queries the pointer's widget: only when needed.) */
          gtk_label_set_text (GTK_LABEL (label), name);
          gtk_widget_set_tooltip_text (item, name);
        }
      if (failed)
        gtk_widget_add_css_class (label, "error");
      else
        gtk_widget_remove_css_class (label, "error");
      gtk_widget_set_sensitive (item, s != NULL || failed);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (item), (int) i == shown);
    }
  self->updating = FALSE;
}

/* ---- API ------------------------------------------------------------------------------ */

void
sl_preview_pane_show_result (SlPreviewPane *self, const SlPreviewResult *r)
{
  g_return_if_fail (SL_IS_PREVIEW_PANE (self) && r != NULL);
  stage_set (&self->source, &r->source);
  g_array_set_size (self->stages, 0);
  for (guint i = 0; i < r->stages->len; i++)
    {
      SlPreviewStage s = { 0 };

      stage_set (&s, &g_array_index (r->stages, SlPreviewStage, i));
      g_array_append_val (self->stages, s);
    }
  g_ptr_array_set_size (self->names, 0);
  for (int i = 0; r->stage_names != NULL && r->stage_names[i] != NULL; i++)
    g_ptr_array_add (self->names, g_strdup (r->stage_names[i]));
  if (r->n_steps != self->n_steps && self->shown > r->n_steps)
    self->shown = -1;
  self->n_steps = r->n_steps;
  self->failed_stage = r->failed_stage;
  gtk_label_set_text (GTK_LABEL (self->error_label), r->error ? r->error : "");
  gtk_widget_set_visible (self->error_box, r->error != NULL);
  update_left (self);
  update_right (self);
  update_strip (self);
}

void
sl_preview_pane_clear (SlPreviewPane *self)
{
  SlPreviewResult none = { 0 };
  g_autoptr (GArray) stages = g_array_new (FALSE, TRUE, sizeof (SlPreviewStage));

  g_return_if_fail (SL_IS_PREVIEW_PANE (self));
  none.stages = stages;
  none.n_steps = self->n_steps;
  none.failed_stage = -1;
  sl_preview_pane_show_result (self, &none);
}

void
sl_preview_pane_set_empty (SlPreviewPane *self, gboolean empty)
{
  g_return_if_fail (SL_IS_PREVIEW_PANE (self));
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), empty ? "empty" : "preview");
}

static gboolean
show_spinner (gpointer data)
{
  SlPreviewPane *self = data;

  self->busy_timeout = 0;
  gtk_widget_set_visible (self->busy_spinner, TRUE);
  gtk_spinner_start (GTK_SPINNER (self->busy_spinner));
  return G_SOURCE_REMOVE;
}

void
sl_preview_pane_set_busy (SlPreviewPane *self, gboolean busy)
{
  g_return_if_fail (SL_IS_PREVIEW_PANE (self));
  if (busy && self->busy_timeout == 0 && !gtk_widget_get_visible (self->busy_spinner))
    self->busy_timeout = g_timeout_add (BUSY_DELAY_MS, show_spinner, self);
  if (!busy)
    {
      g_clear_handle_id (&self->busy_timeout, g_source_remove);
      gtk_spinner_stop (GTK_SPINNER (self->busy_spinner));
      gtk_widget_set_visible (self->busy_spinner, FALSE);
    }
}

void
sl_preview_pane_set_roi_step (SlPreviewPane *self, int step)
{
  g_return_if_fail (SL_IS_PREVIEW_PANE (self));
  self->roi_step = step;
  update_left (self);
}

SlRoiOverlay *
sl_preview_pane_get_roi_overlay (SlPreviewPane *self)
{
  g_return_val_if_fail (SL_IS_PREVIEW_PANE (self), NULL);
  return SL_ROI_OVERLAY (self->roi_overlay);
}

void
sl_preview_pane_show_stage (SlPreviewPane *self, int index)
{
  g_return_if_fail (SL_IS_PREVIEW_PANE (self));
  self->shown = index > self->n_steps ? -1 : index;
  update_right (self);
  update_strip (self);
}

guint
sl_preview_pane_get_n_thumbnails (SlPreviewPane *self)
{
  g_return_val_if_fail (SL_IS_PREVIEW_PANE (self), 0);
  return self->items->len;
}

GdkTexture *
sl_preview_pane_get_output_texture (SlPreviewPane *self)
{
  g_return_val_if_fail (SL_IS_PREVIEW_PANE (self), NULL);
  return sl_image_view_get_texture (SL_IMAGE_VIEW (self->output_picture));
}

const char *
sl_preview_pane_get_error (SlPreviewPane *self)
{
  g_return_val_if_fail (SL_IS_PREVIEW_PANE (self), NULL);
  return gtk_widget_get_visible (self->error_box)
             ? gtk_label_get_text (GTK_LABEL (self->error_label))
             : NULL;
}

void
sl_preview_pane_get_view_box (SlPreviewPane *self, int *width, int *height)
{
  g_return_if_fail (SL_IS_PREVIEW_PANE (self));
  *width = self->box_width;
  *height = self->box_height;
}

/* ---- Type --------------------------------------------------------------------------- */

static void
sl_preview_pane_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                         int *natural, int *minimum_baseline, int *natural_baseline)
{
  gtk_widget_measure (SL_PREVIEW_PANE (widget)->stack, orientation, for_size, minimum, natural,
                      minimum_baseline, natural_baseline);
}

/* Notices when the large views change size, so that the page can ask for
 * textures that fit them. */
static void
sl_preview_pane_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  SlPreviewPane *self = SL_PREVIEW_PANE (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  int w, h;

  gtk_widget_allocate (self->stack, width, height, baseline, NULL);
  w = gtk_widget_get_width (self->source_overlay) * scale;
  h = gtk_widget_get_height (self->source_overlay) * scale;
  if (w > 0 && h > 0 && (w != self->box_width || h != self->box_height))
    {
      self->box_width = w;
      self->box_height = h;
      g_signal_emit (self, signals[VIEW_RESIZED], 0);
    }
}

static void
sl_preview_pane_dispose (GObject *object)
{
  SlPreviewPane *self = SL_PREVIEW_PANE (object);

  g_clear_handle_id (&self->busy_timeout, g_source_remove);
  stage_clear (&self->source);
  g_clear_pointer (&self->stages, g_array_unref);
  g_clear_pointer (&self->names, g_ptr_array_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_PREVIEW_PANE);
  G_OBJECT_CLASS (sl_preview_pane_parent_class)->dispose (object);
}

static void
sl_preview_pane_class_init (SlPreviewPaneClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_preview_pane_dispose;
  widget_class->measure = sl_preview_pane_measure;
  widget_class->size_allocate = sl_preview_pane_size_allocate;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-preview-pane.ui");
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, stack);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, source_title);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, source_info);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, source_overlay);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, source_picture);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, output_title);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, output_info);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, output_picture);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, error_box);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, error_label);
  gtk_widget_class_bind_template_child (widget_class, SlPreviewPane, strip);

  signals[VIEW_RESIZED] = g_signal_new ("view-resized", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_preview_pane_init (SlPreviewPane *self)
{
  g_type_ensure (SL_TYPE_IMAGE_VIEW);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->stages = g_array_new (FALSE, TRUE, sizeof (SlPreviewStage));
  g_array_set_clear_func (self->stages, (GDestroyNotify) stage_clear);
  self->names = g_ptr_array_new_with_free_func (g_free);
  self->items = g_ptr_array_new ();
  self->shown = -1;
  self->roi_step = -1;
  self->failed_stage = -1;
  self->roi_overlay = sl_roi_overlay_new ();
  gtk_widget_set_visible (self->roi_overlay, FALSE);
  gtk_overlay_add_overlay (GTK_OVERLAY (self->source_overlay), self->roi_overlay);
}

GtkWidget *
sl_preview_pane_new (void)
{
  return g_object_new (SL_TYPE_PREVIEW_PANE, NULL);
}
