/* sl-toast.c: a short message that slides in over the window's content and hides itself. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-toast.h"

struct _SlToast
{
  GtkWidget parent_instance;

  GtkRevealer *revealer;
  GtkLabel *title_label;
  GtkLabel *detail_label;

  char *title; /* NULL while hidden */
  guint timeout_id;
};

G_DEFINE_FINAL_TYPE (SlToast, sl_toast, GTK_TYPE_WIDGET)

static gboolean
on_timeout (gpointer user_data)
{
  SlToast *self = user_data;

  self->timeout_id = 0;
  sl_toast_dismiss (self);
  return G_SOURCE_REMOVE;
}

/* Once hidden, the toast must not catch clicks meant for what is below it. */
static void
on_child_revealed (SlToast *self)
{
  gtk_widget_set_can_target (GTK_WIDGET (self), gtk_revealer_get_child_revealed (self->revealer));
}

static void
close_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  sl_toast_dismiss (SL_TOAST (widget));
}

static void
sl_toast_dispose (GObject *object)
{
  SlToast *self = SL_TOAST (object);

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_TOAST);
  G_OBJECT_CLASS (sl_toast_parent_class)->dispose (object);
}

static void
sl_toast_finalize (GObject *object)
{
  g_free (SL_TOAST (object)->title);
  G_OBJECT_CLASS (sl_toast_parent_class)->finalize (object);
}

static void
sl_toast_class_init (SlToastClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_toast_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_toast_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-toast.ui");
  gtk_widget_class_bind_template_child (widget_class, SlToast, revealer);
  gtk_widget_class_bind_template_child (widget_class, SlToast, title_label);
  gtk_widget_class_bind_template_child (widget_class, SlToast, detail_label);
  gtk_widget_class_bind_template_callback (widget_class, on_child_revealed);
  gtk_widget_class_install_action (widget_class, "toast.close", NULL, close_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "toast");
}

static void
sl_toast_init (SlToast *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

void
sl_toast_show (SlToast *self, const char *title, const char *detail)
{
  g_return_if_fail (SL_IS_TOAST (self));
  g_return_if_fail (title != NULL);

  g_free (self->title);
  self->title = g_strdup (title);
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->detail_label, detail != NULL ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->detail_label), detail != NULL && *detail != '\0');
  gtk_widget_set_can_target (GTK_WIDGET (self), TRUE);
  gtk_revealer_set_reveal_child (self->revealer, TRUE);
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  self->timeout_id = g_timeout_add_seconds (SL_TOAST_TIMEOUT_S, on_timeout, self);
}

void
sl_toast_dismiss (SlToast *self)
{
  g_return_if_fail (SL_IS_TOAST (self));

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_pointer (&self->title, g_free);
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
}

const char *
sl_toast_get_title (SlToast *self)
{
  g_return_val_if_fail (SL_IS_TOAST (self), NULL);
  return self->title;
}
