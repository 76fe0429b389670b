/* sl-image-object.c: one project image as a list item: what the grid, filters and preview show. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-image-object.h"

#include <string.h>

struct _SlImageObject
{
  GObject parent_instance;
  gint64 id;
  char *hash;
  char *ext;
  char *original_path;
  const char *name; /* points into original_path */
  char *imported_at;
  char *search_key;
  char *sort_key;
  int width, height, channels;
  gint64 bytes;
  gint64 class_id;
  const char *class_name;  /* interned */
  const char *class_color; /* interned */
  SlSplit split;
  gboolean ignored;
  SlImageSuggestion *suggestion; /* the model's, or NULL (most images: no memory spent) */
};

G_DEFINE_FINAL_TYPE (SlImageObject, sl_image_object, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_CLASS_ID,
  PROP_CLASS_NAME,
  PROP_CLASS_COLOR,
  PROP_SPLIT,
  PROP_IGNORED,
  PROP_SUGGESTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
sl_image_object_finalize (GObject *object)
{
  SlImageObject *self = SL_IMAGE_OBJECT (object);

  g_free (self->hash);
  g_free (self->ext);
  g_free (self->original_path);
  g_free (self->imported_at);
  g_free (self->search_key);
  g_free (self->sort_key);
  g_free (self->suggestion);
  G_OBJECT_CLASS (sl_image_object_parent_class)->finalize (object);
}

static void
sl_image_object_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlImageObject *self = SL_IMAGE_OBJECT (object);

  switch (prop_id)
    {
      case PROP_ID: g_value_set_int64 (value, self->id); break;
      case PROP_NAME: g_value_set_string (value, self->name); break;
      case PROP_CLASS_ID: g_value_set_int64 (value, self->class_id); break;
      case PROP_CLASS_NAME: g_value_set_string (value, self->class_name); break;
      case PROP_CLASS_COLOR: g_value_set_string (value, self->class_color); break;
      case PROP_SPLIT: g_value_set_int (value, self->split); break;
      case PROP_IGNORED: g_value_set_boolean (value, self->ignored); break;
      case PROP_SUGGESTION: g_value_set_boolean (value, self->suggestion != NULL); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_image_object_class_init (SlImageObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = sl_image_object_finalize;
  object_class->get_property = sl_image_object_get_property;

  properties[PROP_ID] = g_param_spec_int64 ("id", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_CLASS_ID]
      = g_param_spec_int64 ("class-id", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_CLASS_NAME] = g_param_spec_string ("class-name", NULL, NULL, NULL, flags);
  properties[PROP_CLASS_COLOR] = g_param_spec_string ("class-color", NULL, NULL, NULL, flags);
  properties[PROP_SPLIT]
      = g_param_spec_int ("split", NULL, NULL, SL_SPLIT_NONE, SL_SPLIT_TEST, SL_SPLIT_NONE, flags);
  properties[PROP_IGNORED] = g_param_spec_boolean ("ignored", NULL, NULL, FALSE, flags);
  properties[PROP_SUGGESTION] = g_param_spec_boolean ("has-suggestion", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sl_image_object_init (SlImageObject *self)
{
  self->class_id = -1;
}

SlImageObject *
sl_image_object_new (const SlImageInfo *info, const char *class_color)
{
  SlImageObject *self = g_object_new (SL_TYPE_IMAGE_OBJECT, NULL);
  const char *path = info->original_path != NULL ? info->original_path : "";
  const char *slash = strrchr (path, G_DIR_SEPARATOR);

  self->id = info->id;
  self->hash = g_strdup (info->hash);
  self->ext = g_strdup (info->ext);
  self->original_path = g_strdup (path);
  self->name = slash != NULL ? self->original_path + (slash - path) + 1 : self->original_path;
  self->imported_at = g_strdup (info->imported_at);
  self->search_key = g_utf8_casefold (self->name, -1);
  self->sort_key = g_utf8_collate_key_for_filename (self->name, -1);
  self->width = info->width;
  self->height = info->height;
  self->channels = info->channels;
  self->bytes = info->bytes;
  self->class_id = info->class_id;
  self->class_name = info->class_id >= 0 ? g_intern_string (info->class_name) : NULL;
  self->class_color = info->class_id >= 0 ? g_intern_string (class_color) : NULL;
  self->split = info->split;
  self->ignored = info->ignored;
  return self;
}

gint64
sl_image_object_get_id (SlImageObject *self)
{
  return self->id;
}

const char *
sl_image_object_get_hash (SlImageObject *self)
{
  return self->hash;
}

const char *
sl_image_object_get_ext (SlImageObject *self)
{
  return self->ext;
}

const char *
sl_image_object_get_name (SlImageObject *self)
{
  return self->name;
}

const char *
sl_image_object_get_original_path (SlImageObject *self)
{
  return self->original_path;
}

const char *
sl_image_object_get_imported_at (SlImageObject *self)
{
  return self->imported_at;
}

int
sl_image_object_get_width (SlImageObject *self)
{
  return self->width;
}

int
sl_image_object_get_height (SlImageObject *self)
{
  return self->height;
}

int
sl_image_object_get_channels (SlImageObject *self)
{
  return self->channels;
}

gint64
sl_image_object_get_bytes (SlImageObject *self)
{
  return self->bytes;
}

gint64
sl_image_object_get_class_id (SlImageObject *self)
{
  return self->class_id;
}

const char *
sl_image_object_get_class_name (SlImageObject *self)
{
  return self->class_name;
}

const char *
sl_image_object_get_class_color (SlImageObject *self)
{
  return self->class_color;
}

SlSplit
sl_image_object_get_split (SlImageObject *self)
{
  return self->split;
}

gboolean
sl_image_object_get_ignored (SlImageObject *self)
{
  return self->ignored;
}

const char *
sl_image_object_get_search_key (SlImageObject *self)
{
  return self->search_key;
}

const char *
sl_image_object_get_sort_key (SlImageObject *self)
{
  return self->sort_key;
}

void
sl_image_object_set_class (SlImageObject *self, gint64 class_id, const char *name,
                           const char *color)
{
  const char *iname = class_id >= 0 ? g_intern_string (name) : NULL;
  const char *icolor = class_id >= 0 ? g_intern_string (color) : NULL;

  g_return_if_fail (SL_IS_IMAGE_OBJECT (self));
  if (class_id < 0)
    class_id = -1;
  if (self->class_id == class_id && self->class_name == iname && self->class_color == icolor)
    return;
  g_object_freeze_notify (G_OBJECT (self));
  if (self->class_id != class_id)
    {
      self->class_id = class_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASS_ID]);
    }
  if (self->class_name != iname)
    {
      self->class_name = iname;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASS_NAME]);
    }
  if (self->class_color != icolor)
    {
      self->class_color = icolor;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASS_COLOR]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

void
sl_image_object_set_split (SlImageObject *self, SlSplit split)
{
  g_return_if_fail (SL_IS_IMAGE_OBJECT (self));
  if (self->split == split)
    return;
  self->split = split;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPLIT]);
}

void
sl_image_object_set_ignored (SlImageObject *self, gboolean ignored)
{
  g_return_if_fail (SL_IS_IMAGE_OBJECT (self));
  ignored = !!ignored;
  if (self->ignored == ignored)
    return;
  self->ignored = ignored;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IGNORED]);
}

void
sl_image_object_set_suggestion (SlImageObject *self, const SlImageSuggestion *suggestion)
{
  g_return_if_fail (SL_IS_IMAGE_OBJECT (self));
  if (suggestion == NULL && self->suggestion == NULL)
    return;
  if (suggestion != NULL && self->suggestion != NULL
      && memcmp (suggestion, self->suggestion, sizeof *suggestion) == 0)
    return;
  g_clear_pointer (&self->suggestion, g_free);
  if (suggestion != NULL)
    {
      self->suggestion = g_memdup2 (suggestion, sizeof *suggestion);
      self->suggestion->class_name = g_intern_string (suggestion->class_name);
      self->suggestion->class_color = g_intern_string (suggestion->class_color);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUGGESTION]);
}

const SlImageSuggestion *
sl_image_object_get_suggestion (SlImageObject *self)
{
  g_return_val_if_fail (SL_IS_IMAGE_OBJECT (self), NULL);
  /* A suggestion is for an unlabelled image: labelling it makes it stale (undo brings it
   * back, as the project's store does). */
  if (self->suggestion == NULL || self->class_id >= 0 || self->ignored)
    return NULL;
  return self->suggestion;
}
