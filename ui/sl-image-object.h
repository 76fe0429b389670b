/* sl-image-object.h: one project image as a list item: what the grid, filters and preview show. */
#pragma once

#include "sl-types.h"
#include "sl-project.h"

G_BEGIN_DECLS

#define SL_TYPE_IMAGE_OBJECT (sl_image_object_get_type ())
G_DECLARE_FINAL_TYPE (SlImageObject, sl_image_object, SL, IMAGE_OBJECT, GObject)

/* A new item from a row of the project; any thread. class_color may be NULL. */
SlImageObject *sl_image_object_new (const SlImageInfo *info, const char *class_color);

gint64 sl_image_object_get_id (SlImageObject *self);
const char *sl_image_object_get_hash (SlImageObject *self);
const char *sl_image_object_get_ext (SlImageObject *self);
/* The original file's name (without its folders) and full path. */
const char *sl_image_object_get_name (SlImageObject *self);
const char *sl_image_object_get_original_path (SlImageObject *self);
const char *sl_image_object_get_imported_at (SlImageObject *self); /* ISO 8601 UTC */
int sl_image_object_get_width (SlImageObject *self);
int sl_image_object_get_height (SlImageObject *self);
int sl_image_object_get_channels (SlImageObject *self);
gint64 sl_image_object_get_bytes (SlImageObject *self);

gint64 sl_image_object_get_class_id (SlImageObject *self);         /* -1: unlabelled */
const char *sl_image_object_get_class_name (SlImageObject *self);  /* NULL: unlabelled */
const char *sl_image_object_get_class_color (SlImageObject *self); /* "#rrggbb" or NULL */
SlSplit sl_image_object_get_split (SlImageObject *self);
gboolean sl_image_object_get_ignored (SlImageObject *self);

/* Precomputed keys so filtering and sorting 100,000 items stays cheap:
 * the casefolded name (substring search) and a collation key (sorting). */
const char *sl_image_object_get_search_key (SlImageObject *self);
const char *sl_image_object_get_sort_key (SlImageObject *self);

/* Setters notify only what changed (main thread). Strings are interned. */
void sl_image_object_set_class (SlImageObject *self, gint64 class_id, const char *name,
                                const char *color);
void sl_image_object_set_split (SlImageObject *self, SlSplit split);
void sl_image_object_set_ignored (SlImageObject *self, gboolean ignored);

/* The model's suggested label of an unlabelled image (projects/sl-suggest.h). */
typedef struct
{
  gint64 run_id;
  gint64 class_id;         /* -1: none (an anomaly run's defect with no defect class) */
  const char *class_name;  /* interned; NULL with class_id -1 */
  const char *class_color; /* interned "#rrggbb", or NULL */
  double confidence;       /* 0 .. 1; NAN for an anomaly run */
  double margin;           /* best - second best; NAN for an anomaly run */
  double anomaly_score;    /* NAN for a classifier run */
  double anomaly_threshold;
} SlImageSuggestion;

/* Sets or (NULL) clears it; notifies "has-suggestion" when it changed (main thread). */
void sl_image_object_set_suggestion (SlImageObject *self, const SlImageSuggestion *suggestion);
/* The suggestion while the image is unlabelled and not ignored, else NULL. */
const SlImageSuggestion *sl_image_object_get_suggestion (SlImageObject *self);

G_END_DECLS
