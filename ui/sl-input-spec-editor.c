/* sl-input-spec-editor.c: the model input of a pipeline: size, channels, transparency and normalization. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-input-spec-editor.h"
#include "sl-run.h"

#include <math.h>
#include <string.h>

struct _SlInputSpecEditor
{
  GtkWidget parent_instance;
  GtkWidget *box;
  GtkWidget *width_spin;
  GtkWidget *height_spin;
  GtkWidget *channels_drop;
  GtkWidget *alpha_drop;      /* index = sl_alpha_mode */
  GtkWidget *background_drop; /* white, black, gray, and the pipeline's own colour if other */
  GtkStringList *background_list;
  uint8_t custom_background[3];
  gboolean has_custom; /* background_list holds a fourth, custom, entry */
  GtkWidget *norm_grid;
  GtkWidget *spinner;
  GtkWidget *measure_button;
  GtkWidget *error_label;
  GtkWidget *channel_labels[3];
  GtkWidget *mean_entries[3];
  GtkWidget *std_entries[3];

  sl_pipeline *pipeline; /* borrowed */
  char *project_path;
  GCancellable *measuring; /* non-NULL while measuring */
  gboolean updating;
};

G_DEFINE_FINAL_TYPE (SlInputSpecEditor, sl_input_spec_editor, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_MEASURING,
  N_PROPS
};

enum
{
  EDITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char *const gray_names[3] = { "Gray", "", "" };
static const char *const rgb_names[3] = { "Red", "Green", "Blue" };

/* ---- Reading and writing ----------------------------------------------------------- */

static const uint8_t background_levels[3] = { 255, 0, 128 }; /* White, Black, Gray */

static void
show_error (SlInputSpecEditor *self, const char *message)
{
  gtk_label_set_text (GTK_LABEL (self->error_label), message ? message : "");
  gtk_widget_set_visible (self->error_label, message != NULL);
}

static void
set_entry_number (GtkWidget *entry, double v)
{
  char text[32];

  g_snprintf (text, sizeof text, "%.4f", v);
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  gtk_widget_remove_css_class (entry, "error");
}

/* Shows the rows of the channels the spec has. */
static void
show_channels (SlInputSpecEditor *self, int channels)
{
  for (int c = 0; c < 3; c++)
    {
      gboolean shown = c < channels;

      gtk_label_set_text (GTK_LABEL (self->channel_labels[c]),
                          channels == 1 ? gray_names[c] : rgb_names[c]);
      gtk_widget_set_visible (self->channel_labels[c], shown);
      gtk_widget_set_visible (self->mean_entries[c], shown);
      gtk_widget_set_visible (self->std_entries[c], shown);
    }
}

/* Shows the pipeline's alpha rule; a background that is not a preset gets its own entry. */
static void
show_alpha (SlInputSpecEditor *self)
{
  sl_alpha_rule rule;
  guint selected = 3;
  guint n;

  sl_pipeline_get_alpha (self->pipeline, &rule);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->alpha_drop), (guint) rule.mode);
  for (guint i = 0; i < 3; i++)
    if (rule.background[0] == background_levels[i] && rule.background[1] == background_levels[i]
        && rule.background[2] == background_levels[i])
      selected = i;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->background_list));
  if (selected == 3)
    {
      g_autofree char *text = g_strdup_printf ("Colour %u, %u, %u", rule.background[0],
                                               rule.background[1], rule.background[2]);
      const char *const items[] = { text, NULL };

      gtk_string_list_splice (self->background_list, 3, n - 3, items);
      memcpy (self->custom_background, rule.background, 3);
    }
  else if (n > 3)
    gtk_string_list_remove (self->background_list, 3);
  self->has_custom = selected == 3;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->background_drop), selected);
  gtk_widget_set_sensitive (self->background_drop, rule.mode != SL_ALPHA_DROP);
}

static void
on_alpha_changed (SlInputSpecEditor *self)
{
  sl_alpha_rule rule;
  guint bg;
  sl_error err = { 0 };

  if (self->updating || self->pipeline == NULL)
    return;
  rule.mode = (sl_alpha_mode) gtk_drop_down_get_selected (GTK_DROP_DOWN (self->alpha_drop));
  bg = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->background_drop));
  if (bg < 3)
    memset (rule.background, background_levels[bg], 3);
  else
    memcpy (rule.background, self->custom_background, 3);
  gtk_widget_set_sensitive (self->background_drop, rule.mode != SL_ALPHA_DROP);
  if (sl_pipeline_set_alpha (self->pipeline, &rule, &err) != SL_OK)
    {
      show_error (self, err.message);
      return;
    }
  g_signal_emit (self, signals[EDITED], 0);
}

void
sl_input_spec_editor_refresh (SlInputSpecEditor *self)
{
  sl_input_spec spec;

  g_return_if_fail (SL_IS_INPUT_SPEC_EDITOR (self));
  gtk_widget_set_sensitive (self->box, self->pipeline != NULL);
  if (self->pipeline == NULL)
    return;
  sl_pipeline_get_input (self->pipeline, &spec);
  self->updating = TRUE;
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->width_spin), spec.width);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->height_spin), spec.height);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->channels_drop), spec.channels == 3 ? 1 : 0);
  for (int c = 0; c < 3; c++)
    {
      set_entry_number (self->mean_entries[c], spec.mean[c]);
      set_entry_number (self->std_entries[c], spec.std[c]);
    }
  show_channels (self, spec.channels);
  show_alpha (self);
  self->updating = FALSE;
  show_error (self, NULL);
}

/* Parses an entry; marks it and returns FALSE when it holds no number in range. */
static gboolean
read_entry (GtkWidget *entry, double min, gboolean min_open, double max, float *out)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  gboolean ok
      = end != text && *end == '\0' && isfinite (v) && (min_open ? v > min : v >= min) && v <= max;

  if (ok)
    {
      *out = (float) v;
      gtk_widget_remove_css_class (entry, "error");
    }
  else
    gtk_widget_add_css_class (entry, "error");
  return ok;
}

/* Gathers the fields into a spec; FALSE (with the message shown) when one is not valid. */
static gboolean
read_spec (SlInputSpecEditor *self, sl_input_spec *spec)
{
  gboolean means_ok = TRUE, stds_ok = TRUE;

  sl_pipeline_get_input (self->pipeline, spec);
  spec->width = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->width_spin));
  spec->height = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->height_spin));
  spec->channels = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->channels_drop)) == 1 ? 3 : 1;
  for (int c = 0; c < spec->channels; c++)
    {
      means_ok = read_entry (self->mean_entries[c], 0, FALSE, 1, &spec->mean[c]) && means_ok;
      stds_ok = read_entry (self->std_entries[c], 0, TRUE, 10, &spec->std[c]) && stds_ok;
    }
  if (!means_ok)
    show_error (self, "Each mean is a number from 0 to 1 (the average pixel / 255)");
  else if (!stds_ok)
    show_error (self, "Each std is a number above 0 and at most 10");
  return means_ok && stds_ok;
}

/* New channels keep statistics that fit them until they are measured: gray takes the
 * luma-weighted colour values (BT.601), colour repeats the gray one. */
static void
convert_statistics (SlInputSpecEditor *self, const sl_input_spec *before, int channels)
{
  static const double luma[3] = { 0.299, 0.587, 0.114 };
  double mean[3] = { 0 }, std[3] = { 0 };

  for (int c = 0; c < 3; c++)
    if (channels == 1)
      {
        mean[0] += luma[c] * before->mean[c];
        std[0] += luma[c] * before->std[c];
      }
    else
      {
        mean[c] = before->mean[0];
        std[c] = before->std[0];
      }
  self->updating = TRUE;
  for (int c = 0; c < channels; c++)
    {
      set_entry_number (self->mean_entries[c], mean[c]);
      set_entry_number (self->std_entries[c], std[c]);
    }
  self->updating = FALSE;
}

static void
on_field_changed (SlInputSpecEditor *self)
{
  sl_input_spec spec, before;
  sl_error err = { 0 };
  int channels;

  if (self->updating || self->pipeline == NULL)
    return;
  channels = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->channels_drop)) == 1 ? 3 : 1;
  sl_pipeline_get_input (self->pipeline, &before);
  if (before.channels != channels && (before.channels == 1 || before.channels == 3))
    convert_statistics (self, &before, channels);
  show_channels (self, channels);
  if (!read_spec (self, &spec))
    return;
  if (sl_pipeline_set_input (self->pipeline, &spec, &err) != SL_OK)
    {
      const char *message
          = g_str_has_prefix (err.message, "input: ") ? err.message + 7 : err.message;
      g_autofree char *text = g_strdup (message);

      text[0] = g_ascii_toupper (text[0]);
      show_error (self, text);
      return;
    }
  show_error (self, NULL);
  g_signal_emit (self, signals[EDITED], 0);
  /* The old channels' statistics do not describe the new ones: measure them. */
  if (before.channels != spec.channels)
    sl_input_spec_editor_measure (self);
}

/* ---- Measuring ------------------------------------------------------------------- */

typedef struct
{
  char *path;
  char *pipeline_json;
} MeasureData;

static void
measure_data_free (MeasureData *d)
{
  g_free (d->path);
  g_free (d->pipeline_json);
  g_free (d);
}

static void
measure_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  MeasureData *d = task_data;
  GError *error = NULL;
  char *json = sl_project_measure_pipeline_json (d->path, d->pipeline_json, cancellable, &error);

  if (json != NULL)
    g_task_return_pointer (task, json, g_free);
  else
    g_task_return_error (task, error);
}

static void
set_measuring (SlInputSpecEditor *self, GCancellable *cancellable)
{
  g_clear_object (&self->measuring);
  self->measuring = cancellable;
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), cancellable != NULL);
  gtk_widget_set_sensitive (self->measure_button, cancellable == NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEASURING]);
}

/* Takes the measured mean and std, unless the channels changed meanwhile. */
static void
measure_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SlInputSpecEditor) self = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = g_task_propagate_pointer (G_TASK (result), &error);
  sl_pipeline *measured = NULL;
  sl_input_spec now, got;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_measuring (self, NULL);
  if (json == NULL)
    {
      show_error (self, error->message);
      return;
    }
  if (self->pipeline == NULL || sl_pipeline_from_json (json, &measured, NULL) != SL_OK)
    return;
  sl_pipeline_get_input (measured, &got);
  sl_pipeline_get_input (self->pipeline, &now);
  sl_pipeline_free (measured);
  if (got.channels != now.channels)
    return;
  for (int c = 0; c < 3; c++)
    {
      now.mean[c] = got.mean[c];
      now.std[c] = got.std[c];
    }
  if (sl_pipeline_set_input (self->pipeline, &now, NULL) == SL_OK)
    {
      sl_input_spec_editor_refresh (self);
      g_signal_emit (self, signals[EDITED], 0);
    }
}

void
sl_input_spec_editor_measure (SlInputSpecEditor *self)
{
  g_autoptr (GTask) task = NULL;
  MeasureData *d;
  char *json;

  g_return_if_fail (SL_IS_INPUT_SPEC_EDITOR (self));
  if (self->pipeline == NULL || self->project_path == NULL || self->measuring != NULL)
    return;
  d = g_new0 (MeasureData, 1);
  d->path = g_strdup (self->project_path);
  json = sl_pipeline_to_json (self->pipeline);
  d->pipeline_json = g_strdup (json);
  sl_free (json);
  set_measuring (self, g_cancellable_new ());
  show_error (self, NULL);
  task = g_task_new (NULL, self->measuring, measure_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) measure_data_free);
  g_task_run_in_thread (task, measure_thread);
}

gboolean
sl_input_spec_editor_get_measuring (SlInputSpecEditor *self)
{
  g_return_val_if_fail (SL_IS_INPUT_SPEC_EDITOR (self), FALSE);
  return self->measuring != NULL;
}

const char *
sl_input_spec_editor_get_error (SlInputSpecEditor *self)
{
  g_return_val_if_fail (SL_IS_INPUT_SPEC_EDITOR (self), NULL);
  return gtk_widget_get_visible (self->error_label)
             ? gtk_label_get_text (GTK_LABEL (self->error_label))
             : NULL;
}

/* ---- Setup ----------------------------------------------------------------------- */

void
sl_input_spec_editor_set_project_path (SlInputSpecEditor *self, const char *path)
{
  g_return_if_fail (SL_IS_INPUT_SPEC_EDITOR (self));
  g_free (self->project_path);
  self->project_path = g_strdup (path);
}

void
sl_input_spec_editor_set_pipeline (SlInputSpecEditor *self, sl_pipeline *pipeline)
{
  g_return_if_fail (SL_IS_INPUT_SPEC_EDITOR (self));
  self->pipeline = pipeline;
  sl_input_spec_editor_refresh (self);
}

static GtkWidget *
new_number_entry (SlInputSpecEditor *self, const char *name)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_editable_set_width_chars (GTK_EDITABLE (entry), 7);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_NUMBER);
  gtk_widget_set_hexpand (entry, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  g_signal_connect_swapped (entry, "changed", G_CALLBACK (on_field_changed), self);
  return entry;
}

/* A header row ("Mean", "Std") and one row per channel. */
static void
build_norm_grid (SlInputSpecEditor *self)
{
  static const char *const heads[2] = { "Mean", "Std" };
  GtkGrid *grid = GTK_GRID (self->norm_grid);

  for (int i = 0; i < 2; i++)
    {
      GtkWidget *head = gtk_label_new (heads[i]);

      gtk_label_set_xalign (GTK_LABEL (head), 0);
      gtk_widget_add_css_class (head, "dim-label");
      gtk_widget_add_css_class (head, "caption");
      gtk_grid_attach (grid, head, i + 1, 0, 1, 1);
    }
  for (int c = 0; c < 3; c++)
    {
      g_autofree char *mean_name = g_strdup_printf ("Mean of channel %d", c + 1);
      g_autofree char *std_name = g_strdup_printf ("Std of channel %d", c + 1);

      self->channel_labels[c] = gtk_label_new (rgb_names[c]);
      gtk_label_set_xalign (GTK_LABEL (self->channel_labels[c]), 0);
      gtk_label_set_width_chars (GTK_LABEL (self->channel_labels[c]), 6);
      self->mean_entries[c] = new_number_entry (self, mean_name);
      self->std_entries[c] = new_number_entry (self, std_name);
      gtk_grid_attach (grid, self->channel_labels[c], 0, c + 1, 1, 1);
      gtk_grid_attach (grid, self->mean_entries[c], 1, c + 1, 1, 1);
      gtk_grid_attach (grid, self->std_entries[c], 2, c + 1, 1, 1);
    }
}

static void
sl_input_spec_editor_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_MEASURING:
        g_value_set_boolean (value, SL_INPUT_SPEC_EDITOR (object)->measuring != NULL);
        break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_input_spec_editor_dispose (GObject *object)
{
  SlInputSpecEditor *self = SL_INPUT_SPEC_EDITOR (object);

  if (self->measuring != NULL)
    g_cancellable_cancel (self->measuring);
  g_clear_object (&self->measuring);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_INPUT_SPEC_EDITOR);
  G_OBJECT_CLASS (sl_input_spec_editor_parent_class)->dispose (object);
}

static void
sl_input_spec_editor_finalize (GObject *object)
{
  g_free (SL_INPUT_SPEC_EDITOR (object)->project_path);
  G_OBJECT_CLASS (sl_input_spec_editor_parent_class)->finalize (object);
}

static void
sl_input_spec_editor_class_init (SlInputSpecEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_input_spec_editor_dispose;
  object_class->finalize = sl_input_spec_editor_finalize;
  object_class->get_property = sl_input_spec_editor_get_property;
  properties[PROP_MEASURING] = g_param_spec_boolean ("measuring", NULL, NULL, FALSE,
                                                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[EDITED] = g_signal_new ("edited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                  NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/sightline/Sightline/ui/sl-input-spec-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, box);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, width_spin);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, height_spin);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, channels_drop);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, alpha_drop);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, background_drop);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, background_list);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, norm_grid);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, spinner);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, measure_button);
  gtk_widget_class_bind_template_child (widget_class, SlInputSpecEditor, error_label);
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_alpha_changed);
  gtk_widget_class_bind_template_callback (widget_class, sl_input_spec_editor_measure);
}

static void
sl_input_spec_editor_init (SlInputSpecEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  build_norm_grid (self);
  sl_input_spec_editor_refresh (self);
}

GtkWidget *
sl_input_spec_editor_new (void)
{
  return g_object_new (SL_TYPE_INPUT_SPEC_EDITOR, NULL);
}
