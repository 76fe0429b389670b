/* sl-anomaly-item.c: one image of an anomaly evaluation as the gallery lists it: its score and whether it is good or a defect. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-anomaly-item.h"

struct _SlAnomalyItem
{
  GObject parent_instance;
  gint64 image_id;
  char *original_path, *hash, *ext, *class_name;
  gboolean defect;
  double score;
};

G_DEFINE_FINAL_TYPE (SlAnomalyItem, sl_anomaly_item, G_TYPE_OBJECT)

static void
sl_anomaly_item_finalize (GObject *object)
{
  SlAnomalyItem *self = SL_ANOMALY_ITEM (object);

  g_free (self->original_path);
  g_free (self->hash);
  g_free (self->ext);
  g_free (self->class_name);
  G_OBJECT_CLASS (sl_anomaly_item_parent_class)->finalize (object);
}

static void
sl_anomaly_item_class_init (SlAnomalyItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sl_anomaly_item_finalize;
}

static void
sl_anomaly_item_init (SlAnomalyItem *self)
{
}

SlAnomalyItem *
sl_anomaly_item_new (gint64 image_id, const char *original_path, const char *hash, const char *ext,
                     const char *class_name, gboolean defect, double score)
{
  SlAnomalyItem *self = g_object_new (SL_TYPE_ANOMALY_ITEM, NULL);

  self->image_id = image_id;
  self->original_path = g_strdup (original_path);
  self->hash = g_strdup (hash);
  self->ext = g_strdup (ext);
  self->class_name = g_strdup (class_name);
  self->defect = defect;
  self->score = score;
  return self;
}

gint64
sl_anomaly_item_get_image_id (SlAnomalyItem *self)
{
  return self->image_id;
}

const char *
sl_anomaly_item_get_original_path (SlAnomalyItem *self)
{
  return self->original_path;
}

const char *
sl_anomaly_item_get_hash (SlAnomalyItem *self)
{
  return self->hash;
}

const char *
sl_anomaly_item_get_ext (SlAnomalyItem *self)
{
  return self->ext;
}

const char *
sl_anomaly_item_get_class_name (SlAnomalyItem *self)
{
  return self->class_name;
}

gboolean
sl_anomaly_item_get_defect (SlAnomalyItem *self)
{
  return self->defect;
}

double
sl_anomaly_item_get_score (SlAnomalyItem *self)
{
  return self->score;
}

gboolean
sl_anomaly_item_flagged_at (SlAnomalyItem *self, double threshold)
{
  return self->score > threshold;
}

gboolean
sl_anomaly_item_wrong_at (SlAnomalyItem *self, double threshold)
{
  return sl_anomaly_item_flagged_at (self, threshold) != self->defect;
}
