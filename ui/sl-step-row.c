/* sl-step-row.c: one step of the preprocessing chain in the Preprocess page's list. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-step-row.h"

#include <math.h>

struct _SlStepRow
{
  GtkListBoxRow parent_instance;
  GtkWidget *handle;
  GtkWidget *enabled_check;
  GtkWidget *title_label;
  GtkWidget *summary_label;
  GtkWidget *remove_button;
  GtkEventController *drag_source; /* held here; on the row only while editable */
  GtkEventController *drop_target;
  int step;
  gboolean updating;
  gboolean editable;
};

G_DEFINE_FINAL_TYPE (SlStepRow, sl_step_row, GTK_TYPE_LIST_BOX_ROW)

enum
{
  ENABLED_CHANGED,
  REMOVE_CLICKED,
  DROPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- Summary ------------------------------------------------------------------- */

static int
digits_for (double step)
{
  return step >= 1 || step <= 0 ? 0 : (int) ceil (-log10 (step) - 1e-9);
}

static void
append_value (GString *s, const sl_param_spec *spec, const sl_pipeline *p, int step,
              gboolean relative)
{
  double v = spec->default_value;
  sl_rect r;

  if (spec->type == SL_PARAM_RECT)
    {
      if (sl_pipeline_get_rect (p, step, spec->id, &r, NULL) != SL_OK)
        return;
      if (relative)
        g_string_append_printf (s, "%s at %.2f, %.2f, %.2f × %.2f of the image", spec->name, r.x,
                                r.y, r.width, r.height);
      else
        g_string_append_printf (s, "%s at %g, %g, %g × %g px", spec->name, r.x, r.y, r.width,
                                r.height);
      return;
    }
  sl_pipeline_get_param (p, step, spec->id, &v, NULL);
  switch (spec->type)
    {
      case SL_PARAM_BOOL:
        g_string_append_printf (s, "%s %s", spec->name, v != 0 ? "on" : "off");
        break;
      case SL_PARAM_ENUM: g_string_append (s, spec->choice_names[(int) v]); break;
      default:
        g_string_append_printf (s, "%s %.*f", spec->name, digits_for (spec->step), v);
        if (spec->unit != NULL && spec->unit[0] != '\0')
          g_string_append_printf (s, "%s%s", g_str_equal (spec->unit, "°") ? "" : " ", spec->unit);
    }
}

char *
sl_step_summary (const sl_pipeline *pipeline, int step)
{
  const sl_op_info *op = sl_pipeline_step_op (pipeline, step);
  gboolean relative = FALSE;
  GString *s;

  if (op == NULL)
    return g_strdup ("");
  if (op->n_params == 0)
    return g_strdup (op->description);
  for (int i = 0; i < op->n_params; i++)
    {
      double v;
      if (op->params[i].type == SL_PARAM_ENUM
          && sl_pipeline_get_param (pipeline, step, op->params[i].id, &v, NULL) == SL_OK)
        relative = relative || g_strcmp0 (op->params[i].choices[(int) v], "relative") == 0;
    }
  s = g_string_new (NULL);
  for (int i = 0; i < op->n_params; i++)
    {
      /* The rectangle's numbers already tell its units. */
      if (op->params[i].type == SL_PARAM_ENUM && op->params[i].choices != NULL
          && g_strv_contains ((const char *const *) op->params[i].choices, "relative"))
        continue;
      if (s->len > 0)
        g_string_append (s, ", ");
      append_value (s, &op->params[i], pipeline, step, relative);
    }
  return g_string_free (s, FALSE);
}

/* ---- Row ------------------------------------------------------------------------- */

void
sl_step_row_update (SlStepRow *self, const sl_pipeline *pipeline, int step)
{
  const sl_op_info *op = sl_pipeline_step_op (pipeline, step);
  g_autofree char *title = NULL, *summary = NULL;
  gboolean enabled = sl_pipeline_get_enabled (pipeline, step);

  g_return_if_fail (SL_IS_STEP_ROW (self) && op != NULL);
  self->step = step;
  title = g_strdup_printf ("%d. %s", step + 1, op->name);
  summary = sl_step_summary (pipeline, step);
  gtk_label_set_text (GTK_LABEL (self->title_label), title);
  gtk_label_set_text (GTK_LABEL (self->summary_label), summary);
  self->updating = TRUE;
  gtk_check_button_set_active (GTK_CHECK_BUTTON (self->enabled_check), enabled);
  self->updating = FALSE;
  if (enabled)
    gtk_widget_remove_css_class (self->title_label, "dim-label");
  else
    gtk_widget_add_css_class (self->title_label, "dim-label");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
}

int
sl_step_row_get_step (SlStepRow *self)
{
  g_return_val_if_fail (SL_IS_STEP_ROW (self), -1);
  return self->step;
}

/* The whole summary, which the row may shorten; computed when asked, since
 * setting a tooltip on every change re-queries the widget under the pointer. */
static gboolean
on_summary_query_tooltip (GtkWidget *label, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                          SlStepRow *self)
{
  if (!gtk_label_get_text (GTK_LABEL (label))[0])
    return FALSE;
  gtk_tooltip_set_text (tooltip, gtk_label_get_text (GTK_LABEL (label)));
  return TRUE;
}

static void
on_enabled_toggled (GtkCheckButton *check, SlStepRow *self)
{
  if (!self->updating)
    g_signal_emit (self, signals[ENABLED_CHANGED], 0, gtk_check_button_get_active (check));
}

static void
on_remove_clicked (GtkButton *button, SlStepRow *self)
{
  g_signal_emit (self, signals[REMOVE_CLICKED], 0);
}

/* ---- Drag and drop ------------------------------------------------------------------ */

static GdkContentProvider *
on_drag_prepare (GtkDragSource *source, double x, double y, SlStepRow *self)
{
  return gdk_content_provider_new_typed (SL_TYPE_STEP_ROW, self);
}

static void
on_drag_begin (GtkDragSource *source, GdkDrag *drag, SlStepRow *self)
{
  g_autoptr (GdkPaintable) icon = gtk_widget_paintable_new (GTK_WIDGET (self));

  gtk_drag_source_set_icon (source, icon, 24, 12);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, SlStepRow *self)
{
  SlStepRow *source = g_value_get_object (value);

  if (source == NULL || source == self)
    return FALSE;
  g_signal_emit (self, signals[DROPPED], 0, source);
  return TRUE;
}

static void
sl_step_row_dispose (GObject *object)
{
  SlStepRow *self = SL_STEP_ROW (object);

  g_clear_object (&self->drag_source);
  g_clear_object (&self->drop_target);
  G_OBJECT_CLASS (sl_step_row_parent_class)->dispose (object);
}

static void
sl_step_row_class_init (SlStepRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_step_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-step-row.ui");
  gtk_widget_class_bind_template_child (widget_class, SlStepRow, handle);
  gtk_widget_class_bind_template_child (widget_class, SlStepRow, enabled_check);
  gtk_widget_class_bind_template_child (widget_class, SlStepRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, SlStepRow, summary_label);
  gtk_widget_class_bind_template_child (widget_class, SlStepRow, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, on_enabled_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_clicked);
  /* Space flips the step, as the check button would. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "preprocess.toggle-step",
                                       NULL);

  signals[ENABLED_CHANGED]
      = g_signal_new ("enabled-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[REMOVE_CLICKED] = g_signal_new ("remove-clicked", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[DROPPED] = g_signal_new ("dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 1, SL_TYPE_STEP_ROW);
}

static void
sl_step_row_init (SlStepRow *self)
{
  GtkDragSource *source = gtk_drag_source_new ();
  GtkDropTarget *target = gtk_drop_target_new (SL_TYPE_STEP_ROW, GDK_ACTION_MOVE);

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_add_css_class (GTK_WIDGET (self), "sl-step-row");
  gtk_widget_set_has_tooltip (self->summary_label, TRUE);
  g_signal_connect (self->summary_label, "query-tooltip", G_CALLBACK (on_summary_query_tooltip),
                    self);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->enabled_check),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Run this step", -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Remove Step", -1);
  gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
  g_signal_connect (source, "prepare", G_CALLBACK (on_drag_prepare), self);
  g_signal_connect (source, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), self);
  self->drag_source = GTK_EVENT_CONTROLLER (source);
  self->drop_target = GTK_EVENT_CONTROLLER (target);
  self->editable = FALSE;
  sl_step_row_set_editable (self, TRUE);
}

void
sl_step_row_set_editable (SlStepRow *self, gboolean editable)
{
  g_return_if_fail (SL_IS_STEP_ROW (self));
  editable = !!editable;
  if (self->editable == editable)
    return;
  self->editable = editable;
  /* Without the controllers nothing can be dragged or dropped, so a
   * read-only project's chain never gets as far as a failing save. */
  if (editable)
    {
      gtk_widget_add_controller (GTK_WIDGET (self), g_object_ref (self->drag_source));
      gtk_widget_add_controller (GTK_WIDGET (self), g_object_ref (self->drop_target));
    }
  else
    {
      gtk_widget_remove_controller (GTK_WIDGET (self), self->drag_source);
      gtk_widget_remove_controller (GTK_WIDGET (self), self->drop_target);
    }
  gtk_widget_set_visible (self->handle, editable);
  gtk_widget_set_sensitive (self->enabled_check, editable);
  gtk_widget_set_sensitive (self->remove_button, editable);
}

gboolean
sl_step_row_get_editable (SlStepRow *self)
{
  g_return_val_if_fail (SL_IS_STEP_ROW (self), FALSE);
  return self->editable;
}

GtkWidget *
sl_step_row_new (void)
{
  return g_object_new (SL_TYPE_STEP_ROW, NULL);
}
