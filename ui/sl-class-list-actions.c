/* sl-class-list-actions.c: editing classes from the sidebar: add, rename, colour, merge and delete (with its dialog). */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-class-list-private.h"

#include "sl-message-dialog.h"

/* ---- Editing classes ----------------------------------------------------------------- */

static char *
rgba_to_hex (const GdkRGBA *rgba)
{
  return g_strdup_printf ("#%02x%02x%02x", (int) (rgba->red * 255 + 0.5),
                          (int) (rgba->green * 255 + 0.5), (int) (rgba->blue * 255 + 0.5));
}

gint64
sl_class_list_add_class (SlClassList *self, const char *name, const char *color, GError **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (name != NULL ? name : ""));
  gint64 id = sl_project_add_class (_sl_class_list_get_project (self), trimmed, color, NULL, error);

  if (id >= 0)
    sl_session_notify_classes_changed (sl_image_list_get_session (self->images));
  return id;
}

gboolean
sl_class_list_delete_class (SlClassList *self, gint64 class_id, SlClassDeleteMode mode,
                            GError **error)
{
  gint64 touched = 0;
  SlSession *session = sl_image_list_get_session (self->images);

  if (!sl_project_delete_class (_sl_class_list_get_project (self), class_id, mode, &touched, error))
    return FALSE;
  sl_session_notify_classes_changed (session);
  if (mode == SL_CLASS_DELETE_REMOVE_IMAGES && touched > 0)
    sl_session_notify_images_changed (session);
  return TRUE;
}

gboolean
sl_class_list_merge_classes (SlClassList *self, gint64 from, gint64 into, GError **error)
{
  if (!sl_project_merge_classes (_sl_class_list_get_project (self), from, into, error))
    return FALSE;
  sl_session_notify_classes_changed (sl_image_list_get_session (self->images));
  return TRUE;
}

static void
add_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  SlClassList *self = SL_CLASS_LIST (widget);
  g_autoptr (GError) error = NULL;
  GdkRGBA rgba;
  g_autofree char *color = NULL;

  gtk_color_chooser_get_rgba (self->add_color, &rgba);
  color = rgba_to_hex (&rgba);
  if (sl_class_list_add_class (self, gtk_editable_get_text (self->add_entry), color, &error) < 0)
    {
      gtk_label_set_text (self->add_error, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->add_error), TRUE);
      return;
    }
  gtk_popover_popdown (self->add_popover);
}

/* A fresh colour from the project palette each time the popover opens. */
void
_sl_class_list_on_add_popover_show (GtkWidget *popover, SlClassList *self)
{
  static const char *const palette[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                         "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
  GdkRGBA rgba;

  gdk_rgba_parse (&rgba,
                  palette[sl_image_list_get_classes (self->images)->len % G_N_ELEMENTS (palette)]);
  gtk_color_chooser_set_rgba (self->add_color, &rgba);
  gtk_editable_set_text (self->add_entry, "");
  gtk_widget_set_visible (GTK_WIDGET (self->add_error), FALSE);
  gtk_widget_grab_focus (GTK_WIDGET (self->add_entry));
}

typedef struct
{
  SlClassList *self;
  gint64 id, other;
  GtkEditable *entry;
} ClassEdit;

static ClassEdit *
class_edit_new (SlClassList *self, gint64 id, gint64 other)
{
  ClassEdit *e = g_new0 (ClassEdit, 1);

  e->self = g_object_ref (self);
  e->id = id;
  e->other = other;
  return e;
}

static void
class_edit_free (gpointer data)
{
  ClassEdit *e = data;

  g_object_unref (e->self);
  g_free (e);
}

static void
rename_confirmed (GtkWindow *dialog, gpointer data)
{
  ClassEdit *e = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (e->entry)));

  if (!sl_project_rename_class (_sl_class_list_get_project (e->self), e->id, name, &error))
    _sl_class_list_report (e->self, error);
  else
    sl_session_notify_classes_changed (sl_image_list_get_session (e->self->images));
}

static void
rename_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  SlClassList *self = SL_CLASS_LIST (widget);
  const SlClass *klass = sl_image_list_find_class (self->images, g_variant_get_int64 (parameter));
  g_autofree char *heading = NULL;
  ClassEdit *e;
  GtkWindow *dialog;
  GtkWidget *button;

  if (klass == NULL)
    return;
  heading = g_strdup_printf ("Rename “%s”", klass->name);
  dialog = sl_message_dialog_new (widget, heading, NULL);
  e = class_edit_new (self, klass->id, -1);
  e->entry = GTK_EDITABLE (sl_message_dialog_add_entry (dialog, klass->name));
  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  button = sl_message_dialog_add_button (dialog, "_Rename", "suggested-action", rename_confirmed, e,
                                         class_edit_free);
  sl_message_dialog_set_default (dialog, button);
  gtk_window_present (dialog);
}

static void
class_edit_closure_free (gpointer data, GClosure *closure)
{
  class_edit_free (data);
}

static void
on_color_response (GtkDialog *dialog, int response, gpointer data)
{
  ClassEdit *e = data;

  if (response == GTK_RESPONSE_OK)
    {
      g_autoptr (GError) error = NULL;
      GdkRGBA rgba;
      g_autofree char *color = NULL;

      gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (dialog), &rgba);
      color = rgba_to_hex (&rgba);
      if (!sl_project_set_class_style (_sl_class_list_get_project (e->self), e->id, color, NULL,
                                       &error))
        _sl_class_list_report (e->self, error);
      else
        sl_session_notify_classes_changed (sl_image_list_get_session (e->self->images));
    }
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
recolor_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  SlClassList *self = SL_CLASS_LIST (widget);
  const SlClass *klass = sl_image_list_find_class (self->images, g_variant_get_int64 (parameter));
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *title = NULL;
  GtkWidget *dialog;
  GdkRGBA rgba;

  if (klass == NULL)
    return;
  title = g_strdup_printf ("Colour of “%s”", klass->name);
  dialog = gtk_color_chooser_dialog_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL);
  gtk_window_set_modal (GTK_WINDOW (dialog), TRUE);
  gtk_color_chooser_set_use_alpha (GTK_COLOR_CHOOSER (dialog), FALSE);
  if (gdk_rgba_parse (&rgba, klass->color))
    gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (dialog), &rgba);
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_color_response),
                         class_edit_new (self, klass->id, -1), class_edit_closure_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
merge_confirmed (GtkWindow *dialog, gpointer data)
{
  ClassEdit *e = data;
  g_autoptr (GError) error = NULL;

  if (!sl_class_list_merge_classes (e->self, e->id, e->other, &error))
    _sl_class_list_report (e->self, error);
}

static void
merge_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  SlClassList *self = SL_CLASS_LIST (widget);
  gint64 from, into;
  const SlClass *a, *b;
  g_autofree char *heading = NULL, *body = NULL;
  GtkWindow *dialog;

  g_variant_get (parameter, "(xx)", &from, &into);
  if ((a = sl_image_list_find_class (self->images, from)) == NULL
      || (b = sl_image_list_find_class (self->images, into)) == NULL)
    return;
  heading = g_strdup_printf ("Merge “%s” into “%s”?", a->name, b->name);
  body = g_strdup_printf ("Every image labelled “%s” is labelled “%s” instead, and “%s” is "
                          "removed. This cannot be undone.",
                          a->name, b->name, a->name);
  dialog = sl_message_dialog_new (widget, heading, body);
  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  sl_message_dialog_add_button (dialog, "_Merge", "suggested-action", merge_confirmed,
                                class_edit_new (self, from, into), class_edit_free);
  gtk_window_present (dialog);
}

static void
delete_confirmed (GtkWindow *dialog, gpointer data, SlClassDeleteMode mode)
{
  ClassEdit *e = data;
  g_autoptr (GError) error = NULL;

  if (!sl_class_list_delete_class (e->self, e->id, mode, &error))
    _sl_class_list_report (e->self, error);
}

static void
delete_unlabel (GtkWindow *dialog, gpointer data)
{
  delete_confirmed (dialog, data, SL_CLASS_DELETE_UNLABEL);
}

static void
delete_remove (GtkWindow *dialog, gpointer data)
{
  delete_confirmed (dialog, data, SL_CLASS_DELETE_REMOVE_IMAGES);
}

/* Images labelled with a class, ignored ones included (what a delete touches). */
static gint64
images_of_class (SlClassList *self, gint64 class_id)
{
  GListModel *model = G_LIST_MODEL (self->images);
  guint n = g_list_model_get_n_items (model);
  gint64 count = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlImageObject) item = g_list_model_get_item (model, i);
      count += sl_image_object_get_class_id (item) == class_id;
    }
  return count;
}

GtkWindow *
sl_class_list_show_delete_dialog (SlClassList *self, gint64 class_id)
{
  const SlClass *klass = sl_image_list_find_class (self->images, class_id);
  g_autofree char *heading = NULL, *body = NULL;
  GtkWindow *dialog;
  gint64 n;

  g_return_val_if_fail (SL_IS_CLASS_LIST (self), NULL);
  if (klass == NULL)
    return NULL;
  n = images_of_class (self, class_id);
  heading = g_strdup_printf ("Delete “%s”?", klass->name);
  if (n == 0)
    body = g_strdup ("No images are labelled with this class.");
  else
    body = g_strdup_printf (
        "%'" G_GINT64_FORMAT " image%s labelled “%s”. Keep %s in the project without a label, or "
        "remove %s from the project? Removing deletes the project's copies; your original files "
        "are not touched.",
        n, n == 1 ? " is" : "s are", klass->name, n == 1 ? "it" : "them", n == 1 ? "it" : "them");
  dialog = sl_message_dialog_new (GTK_WIDGET (self), heading, body);
  sl_message_dialog_add_button (dialog, "_Cancel", NULL, NULL, NULL, NULL);
  if (n == 0)
    sl_message_dialog_add_button (dialog, "_Delete", "destructive-action", delete_unlabel,
                                  class_edit_new (self, class_id, -1), class_edit_free);
  else
    {
      sl_message_dialog_add_button (dialog, "_Remove Images", "destructive-action", delete_remove,
                                    class_edit_new (self, class_id, -1), class_edit_free);
      sl_message_dialog_add_button (dialog, "_Unlabel Images", "suggested-action", delete_unlabel,
                                    class_edit_new (self, class_id, -1), class_edit_free);
    }
  gtk_window_present (dialog);
  return dialog;
}

static void
delete_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  sl_class_list_show_delete_dialog (SL_CLASS_LIST (widget), g_variant_get_int64 (parameter));
}

/* Data Health's Resolve… menu: the user picks the label of a picture found in
 * two class folders (the class is created if it is new). */
static void
resolve_conflict_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  SlClassList *self = SL_CLASS_LIST (widget);
  SlSession *session = sl_image_list_get_session (self->images);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) before = NULL, after = NULL;
  const char *name;
  gint64 id;

  g_variant_get (parameter, "(x&s)", &id, &name);
  before = sl_project_list_classes (sl_session_get_project (session), NULL);
  if (!sl_project_resolve_label_conflict (sl_session_get_project (session), id, name, &error))
    {
      _sl_class_list_report (self, error);
      return;
    }
  after = sl_project_list_classes (sl_session_get_project (session), NULL);
  if (before == NULL || after == NULL || before->len != after->len)
    sl_session_notify_classes_changed (session);
  sl_session_notify_labels_changed (session, &id, 1);
}

void
_sl_class_list_install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "classes.add", NULL, add_action);
  gtk_widget_class_install_action (widget_class, "classes.rename", "x", rename_action);
  gtk_widget_class_install_action (widget_class, "classes.recolor", "x", recolor_action);
  gtk_widget_class_install_action (widget_class, "classes.merge", "(xx)", merge_action);
  gtk_widget_class_install_action (widget_class, "classes.delete", "x", delete_action);
  gtk_widget_class_install_action (widget_class, "classes.resolve-conflict", "(xs)",
                                   resolve_conflict_action);
}
