/* sl-preferences-dialog.c: Preferences: training threads and device, thumbnail memory, and the devices found. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-preferences-dialog.h"

#include "sl-devices.h"

#include "sl-settings.h"

struct _SlPreferencesDialog
{
  GtkWindow parent_instance;
  GSettings *settings;
  SlDevices *shared;             /* the workbench's one device list */
  const sl_device_list *devices; /* shared's list, shown; NULL while it looks */
  GPtrArray *device_ids;         /* ids of the dropdown's items, in order */
  gboolean updating;             /* the dropdown is being set from the settings */

  GtkSpinButton *threads_spin;
  GtkDropDown *device_dropdown;
  GtkStringList *device_names;
  GtkLabel *device_subtitle;
  GtkSpinButton *thumbnail_spin;
  GtkListBox *devices_list;
  GtkButton *look_again_button;
};

G_DEFINE_FINAL_TYPE (SlPreferencesDialog, sl_preferences_dialog, GTK_TYPE_WINDOW)

enum
{
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Training threads: 0 reads "All N cores" --------------------------------------------- */

static char *
all_cores_text (void)
{
  guint n = g_get_num_processors ();

  return g_strdup_printf ("All %u core%s", n, n == 1 ? "" : "s");
}

static gboolean
on_threads_output (GtkSpinButton *spin, SlPreferencesDialog *self)
{
  int value = gtk_spin_button_get_value_as_int (spin);
  g_autofree char *text = value == 0 ? all_cores_text () : g_strdup_printf ("%d", value);

  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (spin)), text) != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), text);
  return TRUE;
}

static int
on_threads_input (GtkSpinButton *spin, double *new_value, SlPreferencesDialog *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (spin));
  char *end = NULL;
  gint64 value;

  while (g_ascii_isspace (*text))
    text++;
  if (*text == '\0' || g_ascii_strncasecmp (text, "all", 3) == 0)
    {
      *new_value = 0;
      return TRUE;
    }
  value = g_ascii_strtoll (text, &end, 10);
  if (end == text)
    return GTK_INPUT_ERROR;
  *new_value = (double) value;
  return TRUE;
}

static void
setup_threads (SlPreferencesDialog *self)
{
  guint cores = g_get_num_processors ();
  /* More threads than cores only slows training down; a larger stored value stays choosable. */
  int upper = MAX ((int) cores, g_settings_get_int (self->settings, "threads"));

  gtk_spin_button_set_range (self->threads_spin, 0, upper);
  g_settings_bind (self->settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
}

/* ---- Default device: CPU and each usable GPU -------------------------------------------- */

static const char *
selected_device_id (SlPreferencesDialog *self)
{
  guint i = gtk_drop_down_get_selected (self->device_dropdown);

  return i < self->device_ids->len ? g_ptr_array_index (self->device_ids, i) : NULL;
}

/* Shows the device the settings name, or the CPU with a note when it is gone. */
static void
sync_device_from_settings (SlPreferencesDialog *self)
{
  g_autofree char *wanted = g_settings_get_string (self->settings, "last-device");
  const sl_device_info *found = NULL;
  g_autofree char *note = NULL;
  guint index = 0;

  if (self->devices == NULL)
    {
      gtk_label_set_text (self->device_subtitle, "Looking for GPUs…");
      gtk_widget_set_sensitive (GTK_WIDGET (self->device_dropdown), FALSE);
      return;
    }
  found = sl_device_list_find (self->devices, wanted);
  for (guint i = 0; found != NULL && i < self->device_ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->device_ids, i), found->id) == 0)
      index = i;
  if (index == 0 && g_strcmp0 (wanted, "cpu") != 0)
    note = g_strdup_printf ("%s is not available now: training uses the CPU", wanted);
  else if (self->device_ids->len == 1)
    note = g_strdup ("Only the processor is available");
  else
    note = g_strdup ("Where new training runs compute");
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->device_dropdown, index);
  self->updating = FALSE;
  gtk_label_set_text (self->device_subtitle, note);
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_dropdown), self->device_ids->len > 1);
}

static void
on_device_selected (SlPreferencesDialog *self)
{
  const char *id = selected_device_id (self);

  if (self->updating || id == NULL)
    return;
  g_settings_set_string (self->settings, "last-device", id);
}

static void
on_last_device_changed (SlPreferencesDialog *self)
{
  sync_device_from_settings (self);
}

static void
fill_device_dropdown (SlPreferencesDialog *self)
{
  guint old = g_list_model_get_n_items (G_LIST_MODEL (self->device_names));

  g_ptr_array_set_size (self->device_ids, 0);
  self->updating = TRUE;
  gtk_string_list_splice (self->device_names, 0, old, NULL);
  for (size_t i = 0; self->devices != NULL && i < sl_device_list_count (self->devices); i++)
    {
      const sl_device_info *d = sl_device_list_get (self->devices, i);
      g_autofree char *label = NULL;

      if (!d->usable)
        continue;
      if (d->kind == SL_DEVICE_CPU)
        label = g_strdup ("Processor (CPU)");
      else
        label = g_strdup_printf ("GPU %d · %s", d->index, d->name);
      gtk_string_list_append (self->device_names, label);
      g_ptr_array_add (self->device_ids, g_strdup (d->id));
    }
  if (self->device_ids->len == 0)
    {
      gtk_string_list_append (self->device_names, "Processor (CPU)");
      g_ptr_array_add (self->device_ids, g_strdup ("cpu"));
    }
  self->updating = FALSE;
  sync_device_from_settings (self);
}

/* ---- The devices found ---------------------------------------------------------------- */

/* CUDA writes versions as major * 1000 + minor * 10. */
static char *
cuda_version (int version)
{
  return g_strdup_printf ("%d.%d", version / 1000, (version % 1000) / 10);
}

static GtkWidget *
row_label (const char *text, const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

/* A row: a leading icon (or spinner), a title, and dimmed lines below it
 * (NULL-terminated); a warning row colours the icon and lets its text be copied. */
static void
add_device_row (SlPreferencesDialog *self, GtkWidget *icon, gboolean warning, const char *title,
                const char *const *lines)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);
  gtk_widget_add_css_class (box, "sl-preferences-row");
  gtk_widget_set_valign (icon, GTK_ALIGN_CENTER);
  gtk_widget_set_size_request (icon, 24, 24);
  gtk_widget_add_css_class (icon, "sl-device-icon");
  if (warning)
    gtk_widget_add_css_class (icon, "warning");
  gtk_widget_set_hexpand (text, TRUE);
  gtk_widget_set_valign (text, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (text), row_label (title, NULL));
  for (gsize i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      GtkWidget *line = row_label (lines[i], "caption");

      gtk_widget_add_css_class (line, "dim-label");
      gtk_label_set_selectable (GTK_LABEL (line), warning);
      gtk_box_append (GTK_BOX (text), line);
    }
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), text);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_append (self->devices_list, row);
}

static GtkWidget *
device_icon (const char *icon_name)
{
  GtkWidget *icon = gtk_image_new_from_icon_name (icon_name);

  gtk_image_set_pixel_size (GTK_IMAGE (icon), 24);
  return icon;
}

static void
clear_device_rows (SlPreferencesDialog *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->devices_list))) != NULL)
    gtk_list_box_remove (self->devices_list, child);
}

static void
add_cpu_row (SlPreferencesDialog *self, const sl_device_info *d)
{
  g_autofree char *memory = g_format_size_full (d->memory_bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *line
      = g_strdup_printf ("%d thread%s · %s memory", d->threads, d->threads == 1 ? "" : "s", memory);
  const char *lines[] = { line, NULL };

  add_device_row (self, device_icon ("computer-symbolic"), FALSE, d->name, lines);
}

static void
add_gpu_row (SlPreferencesDialog *self, const sl_device_info *d)
{
  g_autofree char *memory = g_format_size_full (d->memory_bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *driver = cuda_version (d->driver_version);
  g_autofree char *runtime = cuda_version (d->runtime_version);
  g_autofree char *title = g_strdup_printf ("%s (GPU %d)", d->name, d->index);
  g_autofree char *line
      = g_strdup_printf ("%s memory · compute capability %d.%d · driver %s · CUDA %s", memory,
                         d->compute_major, d->compute_minor, driver, runtime);
  g_autofree char *reason = d->usable ? NULL : g_strdup_printf ("Not usable: %s", d->reason);
  const char *lines[] = { line, reason, NULL };

  add_device_row (self,
                  device_icon (d->usable ? "video-display-symbolic" : "dialog-warning-symbolic"),
                  !d->usable, title, lines);
}

static void
show_devices (SlPreferencesDialog *self)
{
  const char *status;

  clear_device_rows (self);
  if (self->devices == NULL)
    {
      const char *lines[] = { "Opening the GPU driver can take a few seconds.", NULL };
      GtkWidget *spinner = gtk_spinner_new ();

      gtk_spinner_start (GTK_SPINNER (spinner));
      add_device_row (self, spinner, FALSE, "Looking for devices…", lines);
      return;
    }
  for (size_t i = 0; i < sl_device_list_count (self->devices); i++)
    {
      const sl_device_info *d = sl_device_list_get (self->devices, i);

      if (d->kind == SL_DEVICE_CPU)
        add_cpu_row (self, d);
      else
        add_gpu_row (self, d);
    }
  status = sl_device_list_gpu_status (self->devices);
  if (status[0] != '\0')
    {
      const char *lines[] = { status, NULL };

      add_device_row (self, device_icon ("dialog-warning-symbolic"), TRUE, "No GPU for training",
                      lines);
    }
}

/* ---- The shared device list ------------------------------------------------------------ */

/* Shows what the workbench's device list holds: a spinner while it looks. */
static void
on_devices_busy (SlPreferencesDialog *self)
{
  gboolean busy = sl_devices_get_busy (self->shared);
  const char *error = sl_devices_get_error (self->shared);

  self->devices = busy ? NULL : sl_devices_get_list (self->shared);
  gtk_widget_set_sensitive (GTK_WIDGET (self->look_again_button), !busy);
  if (!busy && self->devices == NULL && error != NULL)
    {
      const char *lines[] = { error, NULL };

      clear_device_rows (self);
      add_device_row (self, device_icon ("dialog-warning-symbolic"), TRUE,
                      "Could not list the devices", lines);
    }
  else
    show_devices (self);
  fill_device_dropdown (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
on_look_again (SlPreferencesDialog *self)
{
  sl_devices_refresh (self->shared);
}

/* ---- Object ------------------------------------------------------------------------------ */

gboolean
sl_preferences_dialog_get_busy (SlPreferencesDialog *self)
{
  g_return_val_if_fail (SL_IS_PREFERENCES_DIALOG (self), FALSE);
  return sl_devices_get_busy (self->shared);
}

const sl_device_list *
sl_preferences_dialog_get_devices (SlPreferencesDialog *self)
{
  g_return_val_if_fail (SL_IS_PREFERENCES_DIALOG (self), NULL);
  return self->devices;
}

static void
sl_preferences_dialog_dispose (GObject *object)
{
  SlPreferencesDialog *self = SL_PREFERENCES_DIALOG (object);

  if (self->shared != NULL)
    g_signal_handlers_disconnect_by_data (self->shared, self);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  /* The window tracks its child itself: let it go before the template does. */
  gtk_window_set_child (GTK_WINDOW (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_PREFERENCES_DIALOG);
  G_OBJECT_CLASS (sl_preferences_dialog_parent_class)->dispose (object);
}

static void
sl_preferences_dialog_finalize (GObject *object)
{
  SlPreferencesDialog *self = SL_PREFERENCES_DIALOG (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->shared);
  g_clear_pointer (&self->device_ids, g_ptr_array_unref);
  G_OBJECT_CLASS (sl_preferences_dialog_parent_class)->finalize (object);
}

static void
sl_preferences_dialog_get_property (GObject *object, guint prop_id, GValue *value,
                                    GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_BUSY:
        g_value_set_boolean (value,
                             sl_preferences_dialog_get_busy (SL_PREFERENCES_DIALOG (object)));
        break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_preferences_dialog_class_init (SlPreferencesDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_preferences_dialog_dispose;
  object_class->finalize = sl_preferences_dialog_finalize;
  object_class->get_property = sl_preferences_dialog_get_property;

  properties[PROP_BUSY]
      = g_param_spec_boolean ("busy", NULL, NULL, TRUE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/sightline/Sightline/ui/sl-preferences-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, device_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, device_names);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, device_subtitle);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, thumbnail_spin);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, devices_list);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesDialog, look_again_button);
  gtk_widget_class_bind_template_callback (widget_class, on_threads_input);
  gtk_widget_class_bind_template_callback (widget_class, on_threads_output);
  gtk_widget_class_bind_template_callback (widget_class, on_device_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_look_again);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

/* GtkWindow focuses the first control when shown, which would select the
 * thread count's text as if to overwrite it; keyboard users Tab in instead. */
static void
on_shown (SlPreferencesDialog *self)
{
  gtk_window_set_focus (GTK_WINDOW (self), NULL);
  gtk_editable_select_region (GTK_EDITABLE (self->threads_spin), 0, 0);
}

static void
sl_preferences_dialog_init (SlPreferencesDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (SL_APP_ID);
  self->shared = g_object_ref (sl_devices_get_default ());
  self->device_ids = g_ptr_array_new_with_free_func (g_free);

  setup_threads (self);
  g_settings_bind (self->settings, "thumbnail-cache-mb", self->thumbnail_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_swapped (self->settings, "changed::last-device",
                            G_CALLBACK (on_last_device_changed), self);
  g_signal_connect_after (self, "show", G_CALLBACK (on_shown), NULL);
  g_signal_connect_swapped (self->shared, "notify::busy", G_CALLBACK (on_devices_busy), self);
  on_devices_busy (self);
}

SlPreferencesDialog *
sl_preferences_dialog_new (GtkWindow *parent)
{
  SlPreferencesDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  self = g_object_new (SL_TYPE_PREFERENCES_DIALOG, NULL);
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  return self;
}
