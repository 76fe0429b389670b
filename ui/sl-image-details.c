/* sl-image-details.c: the dataset page's right pane: a large preview of the selected image and its facts. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-image-details.h"
#include "sl-checkerboard.h"

#include "sl-color-swatch.h"

/* The preview is decoded to fit this box (device pixels on a 2x screen). */
#define PREVIEW_SIZE 640

struct _SlImageDetails
{
  GtkWidget parent_instance;
  SlThumbnailCache *cache;
  SlImageObject *image;
  gulong notify_id;
  guint request;
  gboolean preview_ready;

  GtkStack *stack;
  GtkPicture *preview;
  GtkLabel *name_label;
  GtkWidget *ignored_box;
  GtkGrid *facts;
  GtkLabel *many_title;
  GtkWidget *class_swatch;
  GtkLabel *class_value;
  GtkLabel *split_value;
  GtkLabel *size_value;
  GtkLabel *bytes_value;
  GtkLabel *date_value;
  GtkLabel *path_value;
};

G_DEFINE_FINAL_TYPE (SlImageDetails, sl_image_details, GTK_TYPE_WIDGET)

static const char *
split_title (SlSplit split)
{
  switch (split)
    {
      case SL_SPLIT_TRAIN: return "Training";
      case SL_SPLIT_VAL: return "Validation";
      case SL_SPLIT_TEST: return "Test";
      case SL_SPLIT_NONE:
      default: return "None";
    }
}

static const char *
channels_name (int channels)
{
  return channels == 1 ? "gray" : channels == 3 ? "RGB" : channels == 4 ? "RGBA" : "";
}

static char *
format_date (const char *iso)
{
  g_autoptr (GDateTime) utc = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%e %b %Y, %H:%M") : g_strdup (iso);
}

/* The facts that follow labeling (class, split, ignored) update live. */
static void
show_labels (SlImageDetails *self)
{
  const char *class_name = sl_image_object_get_class_name (self->image);

  sl_color_swatch_set_color (SL_COLOR_SWATCH (self->class_swatch),
                             sl_image_object_get_class_color (self->image));
  gtk_label_set_text (self->class_value, class_name != NULL ? class_name : "Unlabeled");
  gtk_label_set_text (self->split_value, split_title (sl_image_object_get_split (self->image)));
  gtk_widget_set_visible (self->ignored_box, sl_image_object_get_ignored (self->image));
}

static void
on_image_notify (SlImageObject *image, GParamSpec *pspec, SlImageDetails *self)
{
  show_labels (self);
}

/* Transparent pixels on a checkerboard. */
static void
show_texture (SlImageDetails *self, GdkTexture *texture)
{
  g_autoptr (GdkPaintable) shown = sl_checkerboard_paintable_new (texture);

  gtk_picture_set_paintable (self->preview, shown);
}

static void
on_preview (GdkTexture *texture, const char *error, gpointer data)
{
  SlImageDetails *self = data;

  self->request = 0;
  self->preview_ready = TRUE;
  show_texture (self, texture);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->preview), error);
}

static void
show_facts (SlImageDetails *self)
{
  SlImageObject *image = self->image;
  g_autofree char *size = g_strdup_printf ("%d × %d px, %s", sl_image_object_get_width (image),
                                           sl_image_object_get_height (image),
                                           channels_name (sl_image_object_get_channels (image)));
  g_autofree char *bytes = g_format_size ((guint64) sl_image_object_get_bytes (image));
  g_autofree char *date = format_date (sl_image_object_get_imported_at (image));

  gtk_label_set_text (self->name_label, sl_image_object_get_name (image));
  gtk_label_set_text (self->size_value, size);
  gtk_label_set_text (self->bytes_value, bytes);
  gtk_label_set_text (self->date_value, date != NULL ? date : "");
  gtk_label_set_text (self->path_value, sl_image_object_get_original_path (image));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->path_value),
                               sl_image_object_get_original_path (image));
  show_labels (self);
}

static void
forget_image (SlImageDetails *self)
{
  if (self->request != 0)
    sl_thumbnail_cache_cancel (self->cache, self->request);
  self->request = 0;
  if (self->image != NULL)
    g_clear_signal_handler (&self->notify_id, self->image);
  g_clear_object (&self->image);
}

void
sl_image_details_show (SlImageDetails *self, SlImageObject *image, guint n_selected)
{
  g_return_if_fail (SL_IS_IMAGE_DETAILS (self));
  if (n_selected != 1)
    image = NULL;
  if (image != NULL && image == self->image)
    return;
  forget_image (self);
  if (n_selected > 1)
    {
      g_autofree char *title = g_strdup_printf ("%'u Images Selected", n_selected);

      gtk_label_set_text (self->many_title, title);
      gtk_stack_set_visible_child_name (self->stack, "many");
      return;
    }
  if (image == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "none");
      return;
    }
  self->image = g_object_ref (image);
  self->notify_id = g_signal_connect (image, "notify", G_CALLBACK (on_image_notify), self);
  show_facts (self);
  /* The cached thumbnail at once, the sharp preview when a worker has it. */
  show_texture (self, sl_thumbnail_cache_lookup (self->cache, sl_image_object_get_hash (image)));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->preview), NULL);
  self->preview_ready = FALSE;
  self->request = sl_thumbnail_cache_request (self->cache, sl_image_object_get_hash (image),
                                              sl_image_object_get_ext (image), PREVIEW_SIZE,
                                              on_preview, self);
  gtk_stack_set_visible_child_name (self->stack, "one");
}

gboolean
sl_image_details_get_preview_ready (SlImageDetails *self)
{
  return self->preview_ready;
}

static GtkLabel *
add_fact (SlImageDetails *self, int row, const char *key, GtkWidget *prefix)
{
  GtkWidget *key_label = gtk_label_new (key);
  GtkWidget *value = gtk_label_new (NULL);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_label_set_xalign (GTK_LABEL (key_label), 1);
  gtk_label_set_yalign (GTK_LABEL (key_label), 0);
  gtk_widget_add_css_class (key_label, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (value), 0);
  gtk_label_set_wrap (GTK_LABEL (value), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (value), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (value), TRUE);
  gtk_widget_set_hexpand (value, TRUE);
  if (prefix != NULL)
    gtk_box_append (GTK_BOX (box), prefix);
  gtk_box_append (GTK_BOX (box), value);
  gtk_grid_attach (self->facts, key_label, 0, row, 1, 1);
  gtk_grid_attach (self->facts, box, 1, row, 1, 1);
  return GTK_LABEL (value);
}

static void
sl_image_details_dispose (GObject *object)
{
  SlImageDetails *self = SL_IMAGE_DETAILS (object);

  if (self->cache != NULL)
    forget_image (self);
  g_clear_object (&self->cache);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_IMAGE_DETAILS);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (sl_image_details_parent_class)->dispose (object);
}

static void
sl_image_details_class_init (SlImageDetailsClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_image_details_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-image-details.ui");
  gtk_widget_class_bind_template_child (widget_class, SlImageDetails, stack);
  gtk_widget_class_bind_template_child (widget_class, SlImageDetails, preview);
  gtk_widget_class_bind_template_child (widget_class, SlImageDetails, name_label);
  gtk_widget_class_bind_template_child (widget_class, SlImageDetails, ignored_box);
  gtk_widget_class_bind_template_child (widget_class, SlImageDetails, facts);
  gtk_widget_class_bind_template_child (widget_class, SlImageDetails, many_title);
  gtk_widget_class_set_css_name (widget_class, "imagedetails");
}

static void
sl_image_details_init (SlImageDetails *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->class_swatch = sl_color_swatch_new ();
  self->class_value = add_fact (self, 0, "Class", self->class_swatch);
  self->split_value = add_fact (self, 1, "Split", NULL);
  self->size_value = add_fact (self, 2, "Size", NULL);
  self->bytes_value = add_fact (self, 3, "File size", NULL);
  self->date_value = add_fact (self, 4, "Imported", NULL);
  self->path_value = add_fact (self, 5, "Original", NULL);
}

GtkWidget *
sl_image_details_new (SlThumbnailCache *cache)
{
  SlImageDetails *self = g_object_new (SL_TYPE_IMAGE_DETAILS, NULL);

  self->cache = g_object_ref (cache);
  return GTK_WIDGET (self);
}
