/* sl-augment-editor.c: switches and sliders for the augmentation settings training applies. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-augment-editor.h"

#include <math.h>
#include <stddef.h>

/* One numeric setting: its JSON key, label, range and how the summary names it. */
typedef struct
{
  const char *key;
  const char *name;
  const char *description;
  size_t offset;
  double max, step;
  const char *unit;
  const char *summary; /* printf format of the summary, NULL: not summarized alone */
} Field;

static const Field fields[] = {
  { "rotate-degrees", "Rotate", "Random rotation up to this angle either way",
    offsetof (sl_augment_config, rotate_degrees), 180, 1, "°", "rotate ±%g°" },
  { "shift-fraction", "Shift", "Random shift up to this fraction of the width and height",
    offsetof (sl_augment_config, shift_fraction), 0.5, 0.01, "", "shift ±%g" },
  { "scale-fraction", "Scale", "Random zoom between 1 − s and 1 + s",
    offsetof (sl_augment_config, scale_fraction), 0.9, 0.01, "", "scale ±%g" },
  { "brightness", "Brightness", "Random offset up to this fraction of full scale",
    offsetof (sl_augment_config, brightness), 1, 0.01, "", "brightness ±%g" },
  { "contrast", "Contrast", "Random contrast factor between 1 − c and 1 + c",
    offsetof (sl_augment_config, contrast), 1, 0.01, "", "contrast ±%g" },
  { "gamma", "Gamma", "Random gamma between 1 / (1 + g) and 1 + g",
    offsetof (sl_augment_config, gamma), 4, 0.05, "", "gamma %g" },
  { "noise-std", "Noise", "Gaussian noise, standard deviation in 8-bit levels",
    offsetof (sl_augment_config, noise_std), 128, 1, "", "noise %g" },
  { "blur-probability", "Blur chance", "How often a sample is blurred",
    offsetof (sl_augment_config, blur_probability), 1, 0.05, "", NULL },
  { "blur-sigma", "Blur sigma", "Largest Gaussian sigma of the blur (at least 0.3)",
    offsetof (sl_augment_config, blur_sigma), 20, 0.1, "px", NULL },
  { "cutout-probability", "Cutout chance", "How often a square of the sample is erased",
    offsetof (sl_augment_config, cutout_probability), 1, 0.05, "", NULL },
  { "cutout-fraction", "Cutout size", "Side of the erased square, fraction of the shorter side",
    offsetof (sl_augment_config, cutout_fraction), 1, 0.01, "", NULL },
};

#define N_FIELDS G_N_ELEMENTS (fields)

struct _SlAugmentEditor
{
  GtkWidget parent_instance;
  GtkWidget *grid;
  GtkWidget *flip_h;
  GtkWidget *flip_v;
  GtkWidget *spins[N_FIELDS];
  GtkWidget *error_label;
  sl_augment_config config; /* what the controls show */
  gboolean updating;
};

G_DEFINE_FINAL_TYPE (SlAugmentEditor, sl_augment_editor, GTK_TYPE_WIDGET)

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static double *
field_ptr (sl_augment_config *c, const Field *f)
{
  return (double *) ((char *) c + f->offset);
}

/* ---- Summary --------------------------------------------------------------------- */

char *
sl_augment_summary (const sl_augment_config *c)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);

  if (c->flip_horizontal)
    g_ptr_array_add (parts, g_strdup ("flip left-right"));
  if (c->flip_vertical)
    g_ptr_array_add (parts, g_strdup ("flip top-bottom"));
  for (guint i = 0; i < N_FIELDS; i++)
    {
      double v = *field_ptr ((sl_augment_config *) c, &fields[i]);
      if (fields[i].summary != NULL && v > 0)
        g_ptr_array_add (parts, g_strdup_printf (fields[i].summary, v));
    }
  if (c->blur_probability > 0 && c->blur_sigma > 0)
    g_ptr_array_add (parts, g_strdup_printf ("blur %g%%", round (c->blur_probability * 100)));
  if (c->cutout_probability > 0 && c->cutout_fraction > 0)
    g_ptr_array_add (parts, g_strdup_printf ("cutout %g%%", round (c->cutout_probability * 100)));
  if (parts->len == 0)
    return g_strdup ("Off");
  g_ptr_array_add (parts, NULL);
  {
    char *s = g_strjoinv (", ", (char **) parts->pdata);
    s[0] = g_ascii_toupper (s[0]);
    return s;
  }
}

/* ---- Editing ---------------------------------------------------------------------- */

static void
read_controls (SlAugmentEditor *self, sl_augment_config *c)
{
  sl_augment_config_init (c);
  c->flip_horizontal = gtk_switch_get_active (GTK_SWITCH (self->flip_h));
  c->flip_vertical = gtk_switch_get_active (GTK_SWITCH (self->flip_v));
  for (guint i = 0; i < N_FIELDS; i++)
    *field_ptr (c, &fields[i]) = gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->spins[i]));
}

static void
on_control_changed (SlAugmentEditor *self)
{
  sl_augment_config c;
  sl_error err = { 0 };

  if (self->updating)
    return;
  read_controls (self, &c);
  self->config = c;
  if (sl_augment_config_validate (&c, &err) != SL_OK)
    {
      g_autofree char *text = g_strdup (err.message);

      text[0] = g_ascii_toupper (text[0]);
      gtk_label_set_text (GTK_LABEL (self->error_label), text);
      gtk_widget_set_visible (self->error_label, TRUE);
      return;
    }
  gtk_widget_set_visible (self->error_label, FALSE);
  g_signal_emit (self, signals[CHANGED], 0);
}

void
sl_augment_editor_set_config (SlAugmentEditor *self, const sl_augment_config *config)
{
  g_return_if_fail (SL_IS_AUGMENT_EDITOR (self));
  self->config = *config;
  self->updating = TRUE;
  gtk_switch_set_active (GTK_SWITCH (self->flip_h), config->flip_horizontal);
  gtk_switch_set_active (GTK_SWITCH (self->flip_v), config->flip_vertical);
  for (guint i = 0; i < N_FIELDS; i++)
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->spins[i]),
                               *field_ptr (&self->config, &fields[i]));
  self->updating = FALSE;
  gtk_widget_set_visible (self->error_label, FALSE);
}

void
sl_augment_editor_get_config (SlAugmentEditor *self, sl_augment_config *config)
{
  g_return_if_fail (SL_IS_AUGMENT_EDITOR (self));
  *config = self->config;
}

GtkWidget *
sl_augment_editor_get_control (SlAugmentEditor *self, const char *key)
{
  g_return_val_if_fail (SL_IS_AUGMENT_EDITOR (self), NULL);
  if (g_strcmp0 (key, "flip-horizontal") == 0)
    return self->flip_h;
  if (g_strcmp0 (key, "flip-vertical") == 0)
    return self->flip_v;
  for (guint i = 0; i < N_FIELDS; i++)
    if (g_strcmp0 (key, fields[i].key) == 0)
      return self->spins[i];
  return NULL;
}

const char *
sl_augment_editor_get_error (SlAugmentEditor *self)
{
  g_return_val_if_fail (SL_IS_AUGMENT_EDITOR (self), NULL);
  return gtk_widget_get_visible (self->error_label)
             ? gtk_label_get_text (GTK_LABEL (self->error_label))
             : NULL;
}

/* ---- Building ---------------------------------------------------------------------- */

static GtkWidget *
row_label (const char *name, const char *description)
{
  GtkWidget *label = gtk_label_new (name);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_tooltip_text (label, description);
  return label;
}

static GtkWidget *
add_switch (SlAugmentEditor *self, int row, const char *name, const char *description)
{
  GtkWidget *sw = gtk_switch_new ();

  gtk_widget_set_halign (sw, GTK_ALIGN_START);
  gtk_widget_set_valign (sw, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (sw, description);
  gtk_accessible_update_property (GTK_ACCESSIBLE (sw), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  g_signal_connect_swapped (sw, "notify::active", G_CALLBACK (on_control_changed), self);
  gtk_grid_attach (GTK_GRID (self->grid), row_label (name, description), 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (self->grid), sw, 1, row, 1, 1);
  return sw;
}

/* "Name [scale ......] [spin] unit", the scale and spin button sharing one adjustment. */
static GtkWidget *
add_slider (SlAugmentEditor *self, int row, const Field *f)
{
  GtkAdjustment *adj = gtk_adjustment_new (0, 0, f->max, f->step, f->step * 10, 0);
  int digits = f->step >= 1 ? 0 : (int) ceil (-log10 (f->step) - 1e-9);
  GtkWidget *scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, adj);
  GtkWidget *spin = gtk_spin_button_new (adj, f->step, digits);
  GtkWidget *unit = gtk_label_new (f->unit);

  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_widget_set_hexpand (scale, TRUE);
  gtk_widget_set_size_request (scale, 160, -1);
  gtk_widget_set_tooltip_text (scale, f->description);
  gtk_widget_set_tooltip_text (spin, f->description);
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, f->name,
                                  -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, f->name,
                                  -1);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (spin), 5);
  gtk_widget_add_css_class (unit, "dim-label");
  gtk_label_set_width_chars (GTK_LABEL (unit), 2);
  gtk_label_set_xalign (GTK_LABEL (unit), 0);
  g_signal_connect_swapped (adj, "value-changed", G_CALLBACK (on_control_changed), self);
  gtk_grid_attach (GTK_GRID (self->grid), row_label (f->name, f->description), 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (self->grid), scale, 1, row, 1, 1);
  gtk_grid_attach (GTK_GRID (self->grid), spin, 2, row, 1, 1);
  gtk_grid_attach (GTK_GRID (self->grid), unit, 3, row, 1, 1);
  return spin;
}

static void
sl_augment_editor_dispose (GObject *object)
{
  SlAugmentEditor *self = SL_AUGMENT_EDITOR (object);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (sl_augment_editor_parent_class)->dispose (object);
}

static void
sl_augment_editor_class_init (SlAugmentEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_augment_editor_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sl-augment-editor");
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_augment_editor_init (SlAugmentEditor *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));
  GtkWidget *intro = gtk_label_new ("Each training epoch sees every image changed at random "
                                    "within these limits.");
  int row = 0;

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 12);
  gtk_label_set_wrap (GTK_LABEL (intro), TRUE);
  gtk_label_set_xalign (GTK_LABEL (intro), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (intro), 48);
  gtk_widget_add_css_class (intro, "dim-label");
  gtk_widget_set_parent (intro, GTK_WIDGET (self));

  self->grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (self->grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (self->grid), 12);
  gtk_widget_set_parent (self->grid, GTK_WIDGET (self));
  self->flip_h = add_switch (self, row++, "Flip left-right", "Mirror half of the samples");
  self->flip_v
      = add_switch (self, row++, "Flip top-bottom", "Turn half of the samples upside down");
  for (guint i = 0; i < N_FIELDS; i++)
    self->spins[i] = add_slider (self, row++, &fields[i]);

  self->error_label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (self->error_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->error_label), 0);
  gtk_widget_add_css_class (self->error_label, "error");
  gtk_widget_add_css_class (self->error_label, "caption");
  gtk_widget_set_visible (self->error_label, FALSE);
  gtk_widget_set_parent (self->error_label, GTK_WIDGET (self));
  sl_augment_config_init (&self->config);
}

GtkWidget *
sl_augment_editor_new (void)
{
  return g_object_new (SL_TYPE_AUGMENT_EDITOR, NULL);
}
