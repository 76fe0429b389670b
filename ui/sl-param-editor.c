/* sl-param-editor.c: controls generated from an operator's parameter specs, editing one pipeline step. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-param-editor.h"

#include <math.h>
#include <string.h>

/* One parameter's row: its control(s) and the message shown under them. */
typedef struct
{
  SlParamEditor *editor;
  const sl_param_spec *spec;
  GtkWidget *control;   /* spin button, switch or drop-down; NULL for a rectangle */
  GtkWidget *fields[4]; /* a rectangle's x, y, width, height spin buttons */
  GtkWidget *error_label;
  gboolean refused; /* the control shows a value the step refused */
} Param;

struct _SlParamEditor
{
  GtkWidget parent_instance;
  GtkWidget *box;
  sl_pipeline *pipeline; /* borrowed */
  int step;
  const sl_op_info *op;
  GPtrArray *params; /* Param *, in spec order */
  gboolean updating; /* writing values into controls: ignore their signals */
};

G_DEFINE_FINAL_TYPE (SlParamEditor, sl_param_editor, GTK_TYPE_WIDGET)

enum
{
  EDITED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *const rect_field_names[4] = { "X", "Y", "Width", "Height" };

/* ---- Messages ------------------------------------------------------------------ */

/* "step 2 (Crop): parameter 'rect': a region..." -> "Region: a region...". */
static char *
humanize (const SlParamEditor *self, const char *message)
{
  const char *rest = message;
  GString *s;

  if (g_str_has_prefix (rest, "step "))
    {
      const char *colon = strstr (rest, "): ");
      if (colon != NULL)
        rest = colon + 3;
    }
  s = g_string_new (rest);
  for (int i = 0; self->op != NULL && i < self->op->n_params; i++)
    {
      g_autofree char *quoted = g_strdup_printf ("parameter '%s'", self->op->params[i].id);
      g_string_replace (s, quoted, self->op->params[i].name, 0);
      g_free (g_steal_pointer (&quoted));
      quoted = g_strdup_printf ("'%s'", self->op->params[i].id);
      g_string_replace (s, quoted, self->op->params[i].name, 0);
    }
  if (s->len > 0)
    s->str[0] = g_ascii_toupper (s->str[0]);
  return g_string_free (s, FALSE);
}

static void
show_error (Param *p, const char *message)
{
  gtk_label_set_text (GTK_LABEL (p->error_label), message ? message : "");
  gtk_widget_set_visible (p->error_label, message != NULL);
  if (p->control != NULL)
    {
      if (message != NULL)
        gtk_widget_add_css_class (p->control, "error");
      else
        gtk_widget_remove_css_class (p->control, "error");
    }
  for (int i = 0; i < 4 && p->fields[i] != NULL; i++)
    {
      if (message != NULL)
        gtk_widget_add_css_class (p->fields[i], "error");
      else
        gtk_widget_remove_css_class (p->fields[i], "error");
    }
}

/* The parameter a step-level message names, or fallback. */
static Param *
param_named_in (SlParamEditor *self, const char *message, Param *fallback)
{
  for (guint i = 0; i < self->params->len; i++)
    {
      Param *p = g_ptr_array_index (self->params, i);
      g_autofree char *quoted = g_strdup_printf ("parameter '%s'", p->spec->id);

      if (strstr (message, quoted) != NULL)
        return p;
    }
  return fallback;
}

/* Checks the step's parameters together (on a one-step copy, so that other
 * steps' problems do not hide this one's) and shows the message. */
static void
check_step (SlParamEditor *self, Param *edited)
{
  sl_pipeline *one = NULL;
  sl_error err = { 0 };
  sl_status st;

  for (guint i = 0; i < self->params->len; i++)
    {
      Param *p = g_ptr_array_index (self->params, i);
      if (!p->refused)
        show_error (p, NULL);
    }
  if (sl_pipeline_copy (self->pipeline, &one, &err) != SL_OK)
    return;
  for (int i = sl_pipeline_step_count (one) - 1; i > self->step; i--)
    sl_pipeline_remove_step (one, i, NULL);
  for (int i = 0; i < self->step; i++)
    sl_pipeline_remove_step (one, 0, NULL);
  st = sl_pipeline_validate (one, &err);
  sl_pipeline_free (one);
  if (st != SL_OK && g_str_has_prefix (err.message, "step "))
    {
      Param *p = param_named_in (self, err.message, edited);
      g_autofree char *text = humanize (self, err.message);

      if (p == NULL && self->params->len > 0)
        p = g_ptr_array_index (self->params, 0);
      if (p != NULL && !p->refused)
        show_error (p, text);
    }
}

/* ---- Writing values --------------------------------------------------------------- */

static sl_status
write_value (SlParamEditor *self, Param *p, sl_error *err)
{
  const sl_param_spec *spec = p->spec;

  switch (spec->type)
    {
      case SL_PARAM_INT:
      case SL_PARAM_DOUBLE:
        return sl_pipeline_set_param (self->pipeline, self->step, spec->id,
                                      gtk_spin_button_get_value (GTK_SPIN_BUTTON (p->control)),
                                      err);
      case SL_PARAM_BOOL:
        return sl_pipeline_set_param (self->pipeline, self->step, spec->id,
                                      gtk_switch_get_active (GTK_SWITCH (p->control)) ? 1 : 0, err);
      case SL_PARAM_ENUM:
        {
          guint i = gtk_drop_down_get_selected (GTK_DROP_DOWN (p->control));
          return sl_pipeline_set_choice (self->pipeline, self->step, spec->id, spec->choices[i],
                                         err);
        }
      case SL_PARAM_RECT:
        {
          sl_rect r;
          r.x = gtk_spin_button_get_value (GTK_SPIN_BUTTON (p->fields[0]));
          r.y = gtk_spin_button_get_value (GTK_SPIN_BUTTON (p->fields[1]));
          r.width = gtk_spin_button_get_value (GTK_SPIN_BUTTON (p->fields[2]));
          r.height = gtk_spin_button_get_value (GTK_SPIN_BUTTON (p->fields[3]));
          return sl_pipeline_set_rect (self->pipeline, self->step, spec->id, r, err);
        }
    }
  return SL_ERR_INVALID;
}

static void configure_rects (SlParamEditor *self);

static void
param_changed (Param *p)
{
  SlParamEditor *self = p->editor;
  sl_error err = { 0 };

  if (self->updating || self->pipeline == NULL)
    return;
  if (write_value (self, p, &err) != SL_OK)
    {
      g_autofree char *text = humanize (self, err.message);

      p->refused = TRUE;
      show_error (p, text);
      return;
    }
  p->refused = FALSE;
  if (p->spec->type == SL_PARAM_ENUM)
    configure_rects (self);
  check_step (self, p);
  g_signal_emit (self, signals[EDITED], 0, p->spec->id);
}

static void
on_adjustment_changed (GtkAdjustment *adjustment, Param *p)
{
  param_changed (p);
}

static void
on_notify (GObject *object, GParamSpec *pspec, Param *p)
{
  param_changed (p);
}

/* ---- Reading values ------------------------------------------------------------------ */

/* Is the rectangle in fractions of the image? (an enum with a "relative" choice set to it) */
static gboolean
rect_is_relative (SlParamEditor *self)
{
  for (int i = 0; i < self->op->n_params; i++)
    {
      const sl_param_spec *s = &self->op->params[i];
      double v = -1;

      if (s->type == SL_PARAM_ENUM
          && sl_pipeline_get_param (self->pipeline, self->step, s->id, &v, NULL) == SL_OK)
        return g_strcmp0 (s->choices[(int) v], "relative") == 0;
    }
  return FALSE;
}

/* Rectangle fields step by pixels, or by hundredths of the image. */
static void
configure_rects (SlParamEditor *self)
{
  gboolean relative = rect_is_relative (self);
  gboolean was = self->updating;

  self->updating = TRUE;
  for (guint i = 0; i < self->params->len; i++)
    {
      Param *p = g_ptr_array_index (self->params, i);

      if (p->spec->type != SL_PARAM_RECT)
        continue;
      for (int f = 0; f < 4; f++)
        {
          GtkSpinButton *spin = GTK_SPIN_BUTTON (p->fields[f]);

          gtk_spin_button_set_digits (spin, relative ? 3 : 0);
          gtk_spin_button_set_increments (spin, relative ? 0.01 : 1, relative ? 0.1 : 10);
          gtk_spin_button_set_range (spin, p->spec->min, relative ? 1.0 : p->spec->max);
        }
    }
  self->updating = was;
}

static void
read_value (SlParamEditor *self, Param *p)
{
  const sl_param_spec *spec = p->spec;
  double v = spec->default_value;
  sl_rect r = spec->default_rect;

  if (spec->type == SL_PARAM_RECT)
    {
      sl_pipeline_get_rect (self->pipeline, self->step, spec->id, &r, NULL);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (p->fields[0]), r.x);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (p->fields[1]), r.y);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (p->fields[2]), r.width);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (p->fields[3]), r.height);
      return;
    }
  sl_pipeline_get_param (self->pipeline, self->step, spec->id, &v, NULL);
  if (spec->type == SL_PARAM_BOOL)
    gtk_switch_set_active (GTK_SWITCH (p->control), v != 0);
  else if (spec->type == SL_PARAM_ENUM)
    gtk_drop_down_set_selected (GTK_DROP_DOWN (p->control), (guint) v);
  else
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (p->control), v);
}

void
sl_param_editor_refresh (SlParamEditor *self)
{
  g_return_if_fail (SL_IS_PARAM_EDITOR (self));
  if (self->pipeline == NULL || self->op == NULL)
    return;
  configure_rects (self);
  self->updating = TRUE;
  for (guint i = 0; i < self->params->len; i++)
    {
      Param *p = g_ptr_array_index (self->params, i);

      read_value (self, p);
      p->refused = FALSE;
    }
  self->updating = FALSE;
  check_step (self, NULL);
}

/* ---- Building controls ------------------------------------------------------------- */

static int
digits_for (double step)
{
  return step >= 1 || step <= 0 ? 0 : (int) ceil (-log10 (step) - 1e-9);
}

static GtkWidget *
new_spin (Param *p, double lower, double upper, double step)
{
  GtkAdjustment *adj = gtk_adjustment_new (lower, lower, upper, step, step * 10, 0);
  GtkWidget *spin = gtk_spin_button_new (adj, step, digits_for (step));

  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (spin), 6);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  g_signal_connect (adj, "value-changed", G_CALLBACK (on_adjustment_changed), p);
  return spin;
}

static GtkWidget *
unit_label (const sl_param_spec *spec)
{
  GtkWidget *label = gtk_label_new (spec->unit ? spec->unit : "");

  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_width_chars (GTK_LABEL (label), 2);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  return label;
}

/* A row "Name ........ [control] unit" for ints, switches and drop-downs. */
static GtkWidget *
build_inline (Param *p, GtkWidget *name)
{
  const sl_param_spec *spec = p->spec;
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_widget_set_hexpand (name, TRUE);
  gtk_box_append (GTK_BOX (line), name);
  if (spec->type == SL_PARAM_INT)
    p->control = new_spin (p, spec->min, spec->max, spec->step > 0 ? spec->step : 1);
  else if (spec->type == SL_PARAM_BOOL)
    {
      p->control = gtk_switch_new ();
      gtk_widget_set_valign (p->control, GTK_ALIGN_CENTER);
      g_signal_connect (p->control, "notify::active", G_CALLBACK (on_notify), p);
    }
  else
    {
      p->control = gtk_drop_down_new_from_strings ((const char *const *) spec->choice_names);
      g_signal_connect (p->control, "notify::selected", G_CALLBACK (on_notify), p);
    }
  gtk_box_append (GTK_BOX (line), p->control);
  if (spec->type == SL_PARAM_INT)
    gtk_box_append (GTK_BOX (line), unit_label (spec));
  return line;
}

/* "Name" above "[scale ......] [spin] unit", the two sharing one adjustment. */
static void
build_double (Param *p, GtkWidget *row, GtkWidget *name)
{
  const sl_param_spec *spec = p->spec;
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scale;

  gtk_box_append (GTK_BOX (row), name);
  p->control = new_spin (p, spec->min, spec->max, spec->step > 0 ? spec->step : 0.01);
  scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL,
                         gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (p->control)));
  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_widget_set_hexpand (scale, TRUE);
  gtk_widget_set_tooltip_text (scale, spec->description);
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, spec->name,
                                  -1);
  gtk_box_append (GTK_BOX (line), scale);
  gtk_box_append (GTK_BOX (line), p->control);
  gtk_box_append (GTK_BOX (line), unit_label (spec));
  gtk_box_append (GTK_BOX (row), line);
}

/* "Name" above rows of x, y, width and height. */
static void
build_rect (Param *p, GtkWidget *row, GtkWidget *name)
{
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *hint = gtk_label_new ("Drag on the image to draw the region");

  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  for (int f = 0; f < 4; f++)
    {
      GtkWidget *label = gtk_label_new (rect_field_names[f]);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_margin_start (label, 12);
      gtk_widget_add_css_class (label, "dim-label");
      p->fields[f] = new_spin (p, p->spec->min, p->spec->max, 1);
      gtk_widget_set_hexpand (p->fields[f], TRUE);
      gtk_widget_set_tooltip_text (p->fields[f], p->spec->description);
      gtk_accessible_update_property (GTK_ACCESSIBLE (p->fields[f]), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      rect_field_names[f], -1);
      gtk_grid_attach (GTK_GRID (grid), label, 0, f, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), p->fields[f], 1, f, 1, 1);
    }
  gtk_label_set_xalign (GTK_LABEL (hint), 0);
  gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
  gtk_widget_add_css_class (hint, "dim-label");
  gtk_widget_add_css_class (hint, "caption");
  gtk_box_append (GTK_BOX (row), name);
  gtk_box_append (GTK_BOX (row), grid);
  gtk_box_append (GTK_BOX (row), hint);
}

static GtkWidget *
build_param (SlParamEditor *self, Param *p)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *name = gtk_label_new (p->spec->name);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_widget_set_tooltip_text (name, p->spec->description);
  if (p->spec->type == SL_PARAM_DOUBLE)
    build_double (p, row, name);
  else if (p->spec->type == SL_PARAM_RECT)
    build_rect (p, row, name);
  else
    gtk_box_append (GTK_BOX (row), build_inline (p, name));
  if (p->control != NULL)
    {
      gtk_widget_set_tooltip_text (p->control, p->spec->description);
      gtk_accessible_update_property (GTK_ACCESSIBLE (p->control), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      p->spec->name, -1);
    }
  p->error_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (p->error_label), 0);
  gtk_label_set_wrap (GTK_LABEL (p->error_label), TRUE);
  gtk_widget_add_css_class (p->error_label, "error");
  gtk_widget_add_css_class (p->error_label, "caption");
  gtk_widget_set_visible (p->error_label, FALSE);
  gtk_box_append (GTK_BOX (row), p->error_label);
  return row;
}

static void
build_header (SlParamEditor *self)
{
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *title = gtk_label_new (self->op->name);
  GtkWidget *description = gtk_label_new (self->op->description);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "title-4");
  gtk_label_set_xalign (GTK_LABEL (description), 0);
  gtk_label_set_wrap (GTK_LABEL (description), TRUE);
  gtk_widget_add_css_class (description, "dim-label");
  gtk_box_append (GTK_BOX (header), title);
  gtk_box_append (GTK_BOX (header), description);
  gtk_box_append (GTK_BOX (self->box), header);
}

static void
clear_controls (SlParamEditor *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (self->box)) != NULL)
    gtk_box_remove (GTK_BOX (self->box), child);
  g_ptr_array_set_size (self->params, 0);
}

void
sl_param_editor_set_step (SlParamEditor *self, sl_pipeline *pipeline, int step)
{
  const sl_op_info *op;

  g_return_if_fail (SL_IS_PARAM_EDITOR (self));
  op = pipeline != NULL ? sl_pipeline_step_op (pipeline, step) : NULL;
  self->pipeline = op != NULL ? pipeline : NULL;
  self->step = op != NULL ? step : -1;
  if (op == self->op && op != NULL)
    {
      /* Same operator (e.g. the step moved): keep the controls, focus included. */
      sl_param_editor_refresh (self);
      return;
    }
  self->op = op;
  clear_controls (self);
  if (op == NULL)
    return;
  build_header (self);
  for (int i = 0; i < op->n_params; i++)
    {
      Param *p = g_new0 (Param, 1);

      p->editor = self;
      p->spec = &op->params[i];
      g_ptr_array_add (self->params, p);
      gtk_box_append (GTK_BOX (self->box), build_param (self, p));
    }
  if (op->n_params == 0)
    {
      GtkWidget *none = gtk_label_new ("This step has no parameters.");

      gtk_label_set_xalign (GTK_LABEL (none), 0);
      gtk_widget_add_css_class (none, "dim-label");
      gtk_box_append (GTK_BOX (self->box), none);
    }
  sl_param_editor_refresh (self);
}

int
sl_param_editor_get_step (SlParamEditor *self)
{
  g_return_val_if_fail (SL_IS_PARAM_EDITOR (self), -1);
  return self->step;
}

static Param *
find_param (SlParamEditor *self, const char *param_id)
{
  for (guint i = 0; i < self->params->len; i++)
    {
      Param *p = g_ptr_array_index (self->params, i);
      if (g_strcmp0 (p->spec->id, param_id) == 0)
        return p;
    }
  return NULL;
}

GtkWidget *
sl_param_editor_get_control (SlParamEditor *self, const char *param_id, int field)
{
  Param *p;

  g_return_val_if_fail (SL_IS_PARAM_EDITOR (self), NULL);
  if ((p = find_param (self, param_id)) == NULL)
    return NULL;
  if (p->spec->type == SL_PARAM_RECT)
    return field >= 0 && field < 4 ? p->fields[field] : NULL;
  return p->control;
}

const char *
sl_param_editor_get_error (SlParamEditor *self, const char *param_id)
{
  Param *p;

  g_return_val_if_fail (SL_IS_PARAM_EDITOR (self), NULL);
  if ((p = find_param (self, param_id)) == NULL || !gtk_widget_get_visible (p->error_label))
    return NULL;
  return gtk_label_get_text (GTK_LABEL (p->error_label));
}

/* ---- Type --------------------------------------------------------------------------- */

static void
sl_param_editor_dispose (GObject *object)
{
  SlParamEditor *self = SL_PARAM_EDITOR (object);

  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_pointer (&self->params, g_ptr_array_unref);
  G_OBJECT_CLASS (sl_param_editor_parent_class)->dispose (object);
}

static void
sl_param_editor_class_init (SlParamEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_param_editor_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sl-param-editor");

  signals[EDITED] = g_signal_new ("edited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
sl_param_editor_init (SlParamEditor *self)
{
  self->step = -1;
  self->params = g_ptr_array_new_with_free_func (g_free);
  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
}

GtkWidget *
sl_param_editor_new (void)
{
  return g_object_new (SL_TYPE_PARAM_EDITOR, NULL);
}
