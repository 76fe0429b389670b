/* sl-train-settings-devices.c: the settings form's device list: GPUs that can and cannot train, and why. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-settings-private.h"

/* The index of a usable device by id, or G_MAXUINT. */
static guint
device_index (SlTrainSettings *self, const char *id)
{
  for (guint i = 0; i < self->device_ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->device_ids, i), id) == 0
        && g_array_index (self->device_usable, gboolean, i))
      return i;
  return G_MAXUINT;
}

gboolean
_sl_train_settings_device_is_usable (SlTrainSettings *self, guint index)
{
  return index < self->device_usable->len && g_array_index (self->device_usable, gboolean, index);
}

/* The device used last (GSettings "last-device") when it can be used, else the CPU. */
void
_sl_train_settings_select_default_device (SlTrainSettings *self)
{
  g_autofree char *last
      = self->settings != NULL ? g_settings_get_string (self->settings, "last-device") : NULL;
  guint i = device_index (self, last);

  self->device_selected = i != G_MAXUINT ? i : 0;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->device_drop), self->device_selected);
}

/* The reason no GPU can be used under the list, and CPU threads for the CPU only. */
void
_sl_train_settings_show_devices (SlTrainSettings *self)
{
  const char *reason = NULL;
  gboolean any_gpu = FALSE;

  for (guint i = 1; i < self->device_ids->len; i++)
    {
      if (g_array_index (self->device_usable, gboolean, i))
        any_gpu = TRUE;
      else if (reason == NULL)
        reason = g_ptr_array_index (self->device_reasons, i);
    }
  if (!any_gpu && reason == NULL)
    reason = self->gpu_status; /* no GPU listed at all: the registry says why */
  if (any_gpu || reason == NULL)
    reason = "";
  gtk_label_set_text (GTK_LABEL (self->device_hint), reason);
  gtk_widget_set_visible (self->device_hint, *reason != '\0');
  gtk_widget_set_visible (self->threads_row, self->device_selected == 0);
}

void
sl_train_settings_set_devices (SlTrainSettings *self, const char *const *ids,
                               const char *const *labels, const gboolean *usable,
                               const char *const *reasons, guint n)
{
  g_autofree char *current = NULL;
  g_autoptr (GtkStringList) list = NULL;
  guint keep;

  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  g_return_if_fail (n == 0 || (ids != NULL && labels != NULL && usable != NULL));
  current = sl_train_settings_dup_device_id (self);
  list = gtk_string_list_new (NULL);
  g_ptr_array_set_size (self->device_ids, 0);
  g_ptr_array_set_size (self->device_reasons, 0);
  g_array_set_size (self->device_usable, 0);
  for (guint i = 0; i < n; i++)
    {
      gtk_string_list_append (list, labels[i]);
      g_ptr_array_add (self->device_ids, g_strdup (ids[i]));
      g_ptr_array_add (self->device_reasons,
                       g_strdup (reasons != NULL && reasons[i] != NULL ? reasons[i] : ""));
      g_array_append_val (self->device_usable, usable[i]);
    }
  if (n == 0)
    {
      const gboolean yes = TRUE;

      gtk_string_list_append (list, "CPU");
      g_ptr_array_add (self->device_ids, g_strdup ("cpu"));
      g_ptr_array_add (self->device_reasons, g_strdup (""));
      g_array_append_val (self->device_usable, yes);
    }
  self->updating = TRUE;
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->device_drop), G_LIST_MODEL (list));
  /* The user's choice stays if it still can be used, else the default applies. */
  keep = device_index (self, current);
  if (!(self->edited & (1u << F_DEVICE)) || keep == G_MAXUINT)
    {
      self->edited &= ~(1u << F_DEVICE);
      _sl_train_settings_select_default_device (self);
    }
  else
    {
      self->device_selected = keep;
      gtk_drop_down_set_selected (GTK_DROP_DOWN (self->device_drop), keep);
    }
  self->updating = FALSE;
  _sl_train_settings_refresh (self);
  _sl_train_settings_emit_changed (self);
}

void
sl_train_settings_set_gpu_status (SlTrainSettings *self, const char *status)
{
  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  g_free (self->gpu_status);
  self->gpu_status = g_strdup (status);
  _sl_train_settings_show_devices (self);
}

char *
sl_train_settings_dup_device_id (SlTrainSettings *self)
{
  g_return_val_if_fail (SL_IS_TRAIN_SETTINGS (self), NULL);
  return g_strdup (self->device_selected < self->device_ids->len
                       ? g_ptr_array_index (self->device_ids, self->device_selected)
                       : "cpu");
}

/* Device popup rows: the name, and for an unusable one why, greyed out. */
static void
device_row_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *reason = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_xalign (GTK_LABEL (reason), 0);
  gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (reason), 40);
  gtk_widget_add_css_class (reason, "dim-label");
  gtk_widget_add_css_class (reason, "caption");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), reason);
  gtk_list_item_set_child (item, box);
}

static void
device_row_bind (GtkSignalListItemFactory *factory, GtkListItem *item, SlTrainSettings *self)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *name = gtk_widget_get_first_child (box);
  GtkWidget *reason = gtk_widget_get_next_sibling (name);
  guint i = gtk_list_item_get_position (item);
  gboolean usable = _sl_train_settings_device_is_usable (self, i);
  const char *why
      = i < self->device_reasons->len ? g_ptr_array_index (self->device_reasons, i) : "";

  gtk_label_set_text (GTK_LABEL (name), gtk_string_object_get_string (
                                            GTK_STRING_OBJECT (gtk_list_item_get_item (item))));
  gtk_label_set_text (GTK_LABEL (reason), why);
  gtk_widget_set_visible (reason, !usable && *why != '\0');
  gtk_widget_set_sensitive (name, usable);
  gtk_widget_set_tooltip_text (box, !usable && *why != '\0' ? why : NULL);
  gtk_list_item_set_selectable (item, usable);
  gtk_list_item_set_activatable (item, usable);
}

/* The chosen device on the button, shortened when its name is long. */
static void
device_button_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 10);
  gtk_list_item_set_child (item, label);
}

static void
device_button_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  const char *text
      = gtk_string_object_get_string (GTK_STRING_OBJECT (gtk_list_item_get_item (item)));

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
  gtk_widget_set_tooltip_text (gtk_list_item_get_child (item), text);
}

void
_sl_train_settings_devices_init (SlTrainSettings *self)
{
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr (GtkListItemFactory) button_factory = gtk_signal_list_item_factory_new ();

  self->device_ids = g_ptr_array_new_with_free_func (g_free);
  self->device_reasons = g_ptr_array_new_with_free_func (g_free);
  self->device_usable = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_signal_connect (factory, "setup", G_CALLBACK (device_row_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (device_row_bind), self);
  gtk_drop_down_set_list_factory (GTK_DROP_DOWN (self->device_drop), factory);
  g_signal_connect (button_factory, "setup", G_CALLBACK (device_button_setup), NULL);
  g_signal_connect (button_factory, "bind", G_CALLBACK (device_button_bind), NULL);
  gtk_drop_down_set_factory (GTK_DROP_DOWN (self->device_drop), button_factory);
  sl_train_settings_set_devices (self, NULL, NULL, NULL, NULL, 0);
}

void
_sl_train_settings_devices_finalize (SlTrainSettings *self)
{
  g_ptr_array_unref (self->device_ids);
  g_ptr_array_unref (self->device_reasons);
  g_array_unref (self->device_usable);
  g_free (self->gpu_status);
}
