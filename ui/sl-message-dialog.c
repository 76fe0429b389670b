/* sl-message-dialog.c: small modal dialogs (a heading, a sentence, buttons, maybe an entry) for the dataset page. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-message-dialog.h"

typedef struct
{
  GtkWindow *dialog;
  SlMessageFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Response;

static void
response_free (gpointer data, GClosure *closure)
{
  Response *r = data;

  if (r->destroy != NULL)
    r->destroy (r->user_data);
  g_free (r);
}

static void
on_button_clicked (GtkButton *button, Response *r)
{
  GtkWindow *dialog = r->dialog;

  g_object_ref (dialog);
  if (r->func != NULL)
    r->func (dialog, r->user_data);
  gtk_window_destroy (dialog);
  g_object_unref (dialog);
}

GtkWindow *
sl_message_dialog_new (GtkWidget *parent, const char *heading, const char *body)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = gtk_label_new (heading);
  GtkWidget *text = gtk_label_new (body);
  GtkWidget *extras = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkRoot *root = parent != NULL ? gtk_widget_get_root (parent) : NULL;
  GtkEventController *keys;

  gtk_window_set_modal (GTK_WINDOW (window), TRUE);
  gtk_window_set_resizable (GTK_WINDOW (window), FALSE);
  gtk_window_set_title (GTK_WINDOW (window), heading);
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (root));
  gtk_window_set_default_size (GTK_WINDOW (window), 420, -1);
  gtk_widget_add_css_class (window, "sl-message-dialog");
  keys = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (keys), gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape, 0),
                                                        gtk_named_action_new ("window.close")));
  gtk_widget_add_controller (window, keys);

  gtk_widget_set_margin_top (box, 24);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 24);
  gtk_widget_set_margin_end (box, 24);
  gtk_widget_add_css_class (title, "title-3");
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (text), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (text), 50);
  gtk_label_set_xalign (GTK_LABEL (text), 0);
  gtk_widget_set_visible (text, body != NULL);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_widget_set_margin_top (buttons, 6);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), text);
  gtk_box_append (GTK_BOX (box), extras);
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_window_set_child (GTK_WINDOW (window), box);
  g_object_set_data (G_OBJECT (window), "sl-extras", extras);
  g_object_set_data (G_OBJECT (window), "sl-buttons", buttons);
  return GTK_WINDOW (window);
}

GtkWidget *
sl_message_dialog_add_button (GtkWindow *dialog, const char *label, const char *style,
                              SlMessageFunc func, gpointer user_data, GDestroyNotify destroy)
{
  GtkWidget *buttons = g_object_get_data (G_OBJECT (dialog), "sl-buttons");
  GtkWidget *button = gtk_button_new_with_mnemonic (label);
  Response *r = g_new0 (Response, 1);

  r->dialog = dialog;
  r->func = func;
  r->user_data = user_data;
  r->destroy = destroy;
  if (style != NULL)
    gtk_widget_add_css_class (button, style);
  g_signal_connect_data (button, "clicked", G_CALLBACK (on_button_clicked), r, response_free, 0);
  gtk_box_append (GTK_BOX (buttons), button);
  return button;
}

void
sl_message_dialog_set_default (GtkWindow *dialog, GtkWidget *button)
{
  gtk_window_set_default_widget (dialog, button);
}

void
sl_message_dialog_add_extra (GtkWindow *dialog, GtkWidget *widget)
{
  gtk_box_append (GTK_BOX (g_object_get_data (G_OBJECT (dialog), "sl-extras")), widget);
}

GtkWidget *
sl_message_dialog_add_entry (GtkWindow *dialog, const char *text)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_editable_set_text (GTK_EDITABLE (entry), text != NULL ? text : "");
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  sl_message_dialog_add_extra (dialog, entry);
  return entry;
}
