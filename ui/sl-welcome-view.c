/* sl-welcome-view.c: what a window shows without a project: new, open and the recent projects. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-welcome-view.h"
#include "sl-checkerboard.h"
#include "sl-recent-projects.h"
#include "sl-settings.h"

#include <string.h>

/* Thumbnails are shown at this size (logical pixels) and decoded at twice it for HiDPI. */
#define THUMBNAIL_SIZE 48
/* The icon shown until then, or instead (the CSS keeps the thumbnail's box). */
#define ICON_SIZE 24

struct _SlWelcomeView
{
  GtkWidget parent_instance;

  GtkStack *recent_stack;
  GtkListBox *recent_list;

  GSettings *settings;
  GCancellable *cancellable; /* the loads of the rows listed now */
  GStrv listed;
  guint pending;
};

G_DEFINE_FINAL_TYPE (SlWelcomeView, sl_welcome_view, GTK_TYPE_WIDGET)

/* The widgets of one row that its load fills in. */
typedef struct
{
  GtkImage *thumbnail;
  GtkLabel *name;
  GtkLabel *status;
  GtkWidget *row;
} RowParts;

/* "~/Projects/x" for a path in the home folder. */
static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);

  if (n > 1 && g_str_has_prefix (path, home) && path[n] == G_DIR_SEPARATOR)
    return g_strconcat ("~", path + n, NULL);
  return g_strdup (path);
}

static char *
format_images (gint64 n)
{
  return n == 1 ? g_strdup ("1 image") : g_strdup_printf ("%'" G_GINT64_FORMAT " images", n);
}

static void
show_info (RowParts *parts, const SlRecentInfo *info)
{
  g_autofree char *count = NULL;

  if (info->name != NULL && *info->name != '\0')
    gtk_label_set_text (parts->name, info->name);
  switch (info->status)
    {
      case SL_RECENT_OK:
        count = format_images (info->images);
        gtk_label_set_text (parts->status, count);
        break;
      case SL_RECENT_MISSING:
        gtk_label_set_text (parts->status, "Missing");
        gtk_widget_set_tooltip_text (parts->row, "The folder or its project.db is gone");
        gtk_widget_add_css_class (GTK_WIDGET (parts->status), "error");
        break;
      case SL_RECENT_NEWER:
        gtk_label_set_text (parts->status, "Newer version");
        gtk_widget_set_tooltip_text (parts->row, info->message);
        gtk_widget_add_css_class (GTK_WIDGET (parts->status), "warning");
        break;
      case SL_RECENT_UNREADABLE:
        gtk_label_set_text (parts->status, "Unreadable");
        gtk_widget_set_tooltip_text (parts->row, info->message);
        gtk_widget_add_css_class (GTK_WIDGET (parts->status), "error");
        break;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (parts->status), "dim-label");
  if (info->status == SL_RECENT_OK)
    gtk_widget_add_css_class (GTK_WIDGET (parts->status), "dim-label");
  if (info->thumbnail != NULL)
    {
      g_autoptr (GdkTexture) texture = gdk_memory_texture_new (
          info->thumbnail_width, info->thumbnail_height, GDK_MEMORY_R8G8B8A8, info->thumbnail,
          (gsize) info->thumbnail_width * 4);
      g_autoptr (GdkPaintable) shown = NULL;

      if (info->thumbnail_alpha)
        sl_texture_mark_alpha (texture); /* transparency on the checkerboard */
      shown = sl_checkerboard_paintable_new (texture);

      gtk_image_set_from_paintable (parts->thumbnail, shown);
      gtk_image_set_pixel_size (parts->thumbnail, THUMBNAIL_SIZE);
      gtk_widget_add_css_class (GTK_WIDGET (parts->thumbnail), "loaded");
    }
  else if (info->status != SL_RECENT_OK)
    gtk_image_set_from_icon_name (parts->thumbnail, "action-unavailable-symbolic");
}

/* The row (and the view) may be gone when a load finishes: the view cancels
 * its loads when it rebuilds or goes away, and a cancelled load is dropped. */
static void
on_info_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RowParts *parts = user_data;
  g_autoptr (SlRecentInfo) info = sl_recent_info_load_finish (result, NULL);
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  SlWelcomeView *self;

  if (info == NULL || g_cancellable_is_cancelled (cancellable))
    {
      g_object_unref (parts->row);
      g_free (parts);
      return;
    }
  self = SL_WELCOME_VIEW (gtk_widget_get_ancestor (parts->row, SL_TYPE_WELCOME_VIEW));
  show_info (parts, info);
  if (self != NULL && self->pending > 0)
    self->pending--;
  g_object_unref (parts->row);
  g_free (parts);
}

static GtkWidget *
make_row (SlWelcomeView *self, const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *shown = display_path (path);
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *thumbnail = gtk_image_new_from_icon_name ("image-x-generic-symbolic");
  GtkWidget *name = gtk_label_new (base);
  GtkWidget *where = gtk_label_new (shown);
  GtkWidget *status = gtk_label_new (NULL);
  GtkWidget *remove = gtk_button_new_from_icon_name ("window-close-symbolic");
  RowParts *parts = g_new0 (RowParts, 1);

  gtk_image_set_pixel_size (GTK_IMAGE (thumbnail), ICON_SIZE);
  gtk_widget_set_overflow (thumbnail, GTK_OVERFLOW_HIDDEN);
  gtk_widget_add_css_class (thumbnail, "recent-thumbnail");
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (name, "heading");
  gtk_label_set_xalign (GTK_LABEL (where), 0);
  gtk_label_set_ellipsize (GTK_LABEL (where), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (where, "dim-label");
  gtk_widget_add_css_class (where, "caption");
  gtk_widget_set_valign (text, GTK_ALIGN_CENTER);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (text), name);
  gtk_box_append (GTK_BOX (text), where);
  gtk_widget_add_css_class (status, "dim-label");
  gtk_widget_add_css_class (status, "numeric");
  gtk_widget_set_tooltip_text (remove, "Remove from Recent Projects");
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_add_css_class (remove, "circular");
  gtk_widget_add_css_class (remove, "dim-label");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (remove), "welcome.remove-recent");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (remove), "s", path);
  gtk_box_append (GTK_BOX (box), thumbnail);
  gtk_box_append (GTK_BOX (box), text);
  gtk_box_append (GTK_BOX (box), status);
  gtk_box_append (GTK_BOX (box), remove);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, path);
  g_object_set_data_full (G_OBJECT (row), "path", g_strdup (path), g_free);

  parts->thumbnail = GTK_IMAGE (thumbnail);
  parts->name = GTK_LABEL (name);
  parts->status = GTK_LABEL (status);
  parts->row = g_object_ref (row);
  sl_recent_info_load_async (path, THUMBNAIL_SIZE * 2, self->cancellable, on_info_loaded, parts);
  return row;
}

static void
rebuild (SlWelcomeView *self)
{
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);
  g_strfreev (self->listed);
  self->listed = g_settings_get_strv (self->settings, "recent-projects");
  self->pending = 0;
  for (guint i = 0; self->listed[i] != NULL; i++)
    {
      gtk_list_box_append (self->recent_list, make_row (self, self->listed[i]));
      self->pending++;
    }
  gtk_stack_set_visible_child_name (self->recent_stack, self->pending > 0 ? "list" : "empty");
}

static void
on_row_activated (SlWelcomeView *self, GtkListBoxRow *row)
{
  const char *path = g_object_get_data (G_OBJECT (row), "path");

  gtk_widget_activate_action (GTK_WIDGET (self), "app.open-recent", "s", path);
}

static void
remove_recent_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  SlWelcomeView *self = SL_WELCOME_VIEW (widget);

  sl_recent_projects_remove (self->settings, g_variant_get_string (param, NULL));
}

static void
sl_welcome_view_dispose (GObject *object)
{
  SlWelcomeView *self = SL_WELCOME_VIEW (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_WELCOME_VIEW);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (sl_welcome_view_parent_class)->dispose (object);
}

static void
sl_welcome_view_finalize (GObject *object)
{
  g_strfreev (SL_WELCOME_VIEW (object)->listed);
  G_OBJECT_CLASS (sl_welcome_view_parent_class)->finalize (object);
}

static void
sl_welcome_view_class_init (SlWelcomeViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_welcome_view_dispose;
  G_OBJECT_CLASS (klass)->finalize = sl_welcome_view_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-welcome-view.ui");
  gtk_widget_class_bind_template_child (widget_class, SlWelcomeView, recent_stack);
  gtk_widget_class_bind_template_child (widget_class, SlWelcomeView, recent_list);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);
  gtk_widget_class_install_action (widget_class, "welcome.remove-recent", "s",
                                   remove_recent_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
sl_welcome_view_init (SlWelcomeView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (SL_APP_ID);
  g_signal_connect_swapped (self->settings, "changed::recent-projects", G_CALLBACK (rebuild), self);
  rebuild (self);
}

const char *const *
sl_welcome_view_get_listed (SlWelcomeView *self)
{
  g_return_val_if_fail (SL_IS_WELCOME_VIEW (self), NULL);
  return (const char *const *) self->listed;
}

guint
sl_welcome_view_get_pending (SlWelcomeView *self)
{
  g_return_val_if_fail (SL_IS_WELCOME_VIEW (self), 0);
  return self->pending;
}
