/* sl-prediction-object.c: one evaluated image as a gallery item: the stored prediction and the image's label now. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-prediction-object.h"

struct _SlPredictionObject
{
  GObject parent_instance;
  gint64 image_id;
  char *hash, *ext, *original_path;
  int true_class, predicted_class;
  double confidence;
  gint64 evaluated_class_id, predicted_class_id;
  gint64 class_id;
  gboolean ignored;
  gboolean in_split;
};

G_DEFINE_FINAL_TYPE (SlPredictionObject, sl_prediction_object, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CLASS_ID,
  PROP_IGNORED,
  PROP_IN_SPLIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
sl_prediction_object_finalize (GObject *object)
{
  SlPredictionObject *self = SL_PREDICTION_OBJECT (object);

  g_free (self->hash);
  g_free (self->ext);
  g_free (self->original_path);
  G_OBJECT_CLASS (sl_prediction_object_parent_class)->finalize (object);
}

static void
sl_prediction_object_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlPredictionObject *self = SL_PREDICTION_OBJECT (object);

  switch (prop_id)
    {
      case PROP_CLASS_ID: g_value_set_int64 (value, self->class_id); break;
      case PROP_IGNORED: g_value_set_boolean (value, self->ignored); break;
      case PROP_IN_SPLIT: g_value_set_boolean (value, self->in_split); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_prediction_object_class_init (SlPredictionObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sl_prediction_object_finalize;
  object_class->get_property = sl_prediction_object_get_property;
  properties[PROP_CLASS_ID]
      = g_param_spec_int64 ("class-id", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IGNORED]
      = g_param_spec_boolean ("ignored", NULL, NULL, FALSE,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IN_SPLIT]
      = g_param_spec_boolean ("in-split", NULL, NULL, TRUE,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sl_prediction_object_init (SlPredictionObject *self)
{
  self->in_split = TRUE;
}

SlPredictionObject *
sl_prediction_object_new (const SlImagePrediction *p, const gint64 *class_ids)
{
  SlPredictionObject *self = g_object_new (SL_TYPE_PREDICTION_OBJECT, NULL);

  self->image_id = p->image_id;
  self->hash = g_strdup (p->hash);
  self->ext = g_strdup (p->ext);
  self->original_path = g_strdup (p->original_path);
  self->true_class = p->true_class;
  self->predicted_class = p->predicted_class;
  self->confidence = p->confidence;
  self->evaluated_class_id = class_ids[p->true_class];
  self->predicted_class_id = class_ids[p->predicted_class];
  self->class_id = self->evaluated_class_id;
  return self;
}

gint64
sl_prediction_object_get_image_id (SlPredictionObject *self)
{
  return self->image_id;
}

const char *
sl_prediction_object_get_hash (SlPredictionObject *self)
{
  return self->hash;
}

const char *
sl_prediction_object_get_ext (SlPredictionObject *self)
{
  return self->ext;
}

const char *
sl_prediction_object_get_original_path (SlPredictionObject *self)
{
  return self->original_path;
}

int
sl_prediction_object_get_true_class (SlPredictionObject *self)
{
  return self->true_class;
}

int
sl_prediction_object_get_predicted_class (SlPredictionObject *self)
{
  return self->predicted_class;
}

double
sl_prediction_object_get_confidence (SlPredictionObject *self)
{
  return self->confidence;
}

gboolean
sl_prediction_object_is_mistake (SlPredictionObject *self)
{
  return self->true_class != self->predicted_class;
}

gint64
sl_prediction_object_get_predicted_class_id (SlPredictionObject *self)
{
  return self->predicted_class_id;
}

gint64
sl_prediction_object_get_evaluated_class_id (SlPredictionObject *self)
{
  return self->evaluated_class_id;
}

gint64
sl_prediction_object_get_class_id (SlPredictionObject *self)
{
  return self->class_id;
}

gboolean
sl_prediction_object_get_ignored (SlPredictionObject *self)
{
  return self->ignored;
}

gboolean
sl_prediction_object_get_in_split (SlPredictionObject *self)
{
  return self->in_split;
}

void
sl_prediction_object_set_state (SlPredictionObject *self, gint64 class_id, gboolean ignored,
                                gboolean in_split)
{
  g_return_if_fail (SL_IS_PREDICTION_OBJECT (self));

  g_object_freeze_notify (G_OBJECT (self));
  if (self->class_id != class_id)
    {
      self->class_id = class_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASS_ID]);
    }
  if (self->ignored != ignored)
    {
      self->ignored = ignored;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IGNORED]);
    }
  if (self->in_split != in_split)
    {
      self->in_split = in_split;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IN_SPLIT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

gboolean
sl_prediction_object_get_changed (SlPredictionObject *self)
{
  return self->ignored || !self->in_split || self->class_id != self->evaluated_class_id;
}
