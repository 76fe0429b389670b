/* sl-try-result.c: one row of the Export page's "Try it" list: an image, its prediction (anomaly score, heatmap) or why it could not be read. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-try-result.h"

#include <math.h>

struct _SlTryResult
{
  GObject parent_instance;

  char *path;
  char *name;
  GdkTexture *thumbnail;
  char *label;
  double confidence;
  gboolean rejected;
  char *runner_up;
  double runner_up_confidence;
  char *error;
  gboolean has_score;     /* an anomaly model's (or gate's) score */
  gboolean anomaly_model; /* the label is a decision ("good" / "anomalous"), not a class */
  double score, threshold;
  gboolean anomalous;
  GdkTexture *overlay; /* the heatmap over the preprocessed image, or NULL */
};

G_DEFINE_FINAL_TYPE (SlTryResult, sl_try_result, G_TYPE_OBJECT)

static SlTryResult *
try_result_new (const char *path)
{
  SlTryResult *self = g_object_new (SL_TYPE_TRY_RESULT, NULL);
  g_autofree char *base = g_path_get_basename (path);

  self->path = g_strdup (path);
  self->name = g_filename_display_name (base);
  return self;
}

SlTryResult *
sl_try_result_new_prediction (const char *path, GdkTexture *thumbnail, const char *label,
                              double confidence, gboolean rejected, const char *runner_up,
                              double runner_up_confidence)
{
  SlTryResult *self;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (label != NULL, NULL);

  self = try_result_new (path);
  self->thumbnail = thumbnail != NULL ? g_object_ref (thumbnail) : NULL;
  self->label = g_strdup (label);
  self->confidence = confidence;
  self->rejected = rejected;
  self->runner_up = g_strdup (runner_up);
  self->runner_up_confidence = runner_up_confidence;
  return self;
}

SlTryResult *
sl_try_result_new_anomaly (const char *path, GdkTexture *thumbnail, double score, double threshold,
                           gboolean anomalous)
{
  SlTryResult *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = try_result_new (path);
  self->thumbnail = thumbnail != NULL ? g_object_ref (thumbnail) : NULL;
  self->label = g_strdup (anomalous ? "anomalous" : "good");
  self->confidence = 1;
  self->anomaly_model = TRUE;
  sl_try_result_set_anomaly (self, score, threshold, anomalous);
  return self;
}

gboolean
sl_try_result_is_anomaly_model (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), FALSE);
  return self->anomaly_model;
}

SlTryResult *
sl_try_result_new_failure (const char *path, const char *reason)
{
  SlTryResult *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = try_result_new (path);
  self->error = g_strdup (reason != NULL ? reason : "Unknown error");
  return self;
}

void
sl_try_result_set_anomaly (SlTryResult *self, double score, double threshold, gboolean anomalous)
{
  g_return_if_fail (SL_IS_TRY_RESULT (self));
  self->has_score = TRUE;
  self->score = score;
  self->threshold = threshold;
  self->anomalous = anomalous;
}

gboolean
sl_try_result_get_anomaly (SlTryResult *self, double *score, double *threshold)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), FALSE);
  if (score != NULL)
    *score = self->has_score ? self->score : NAN;
  if (threshold != NULL)
    *threshold = self->has_score ? self->threshold : NAN;
  return self->has_score;
}

gboolean
sl_try_result_get_anomalous (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), FALSE);
  return self->has_score && self->anomalous;
}

void
sl_try_result_set_overlay (SlTryResult *self, GdkTexture *overlay)
{
  g_return_if_fail (SL_IS_TRY_RESULT (self));
  g_set_object (&self->overlay, overlay);
}

GdkTexture *
sl_try_result_get_overlay (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  return self->overlay;
}

const char *
sl_try_result_get_path (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  return self->path;
}

const char *
sl_try_result_get_name (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  return self->name;
}

GdkTexture *
sl_try_result_get_thumbnail (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  return self->thumbnail;
}

const char *
sl_try_result_get_label (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  return self->label;
}

double
sl_try_result_get_confidence (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), 0);
  return self->confidence;
}

gboolean
sl_try_result_get_rejected (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), FALSE);
  return self->rejected;
}

const char *
sl_try_result_get_runner_up (SlTryResult *self, double *confidence)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  if (confidence != NULL)
    *confidence = self->runner_up_confidence;
  return self->runner_up;
}

const char *
sl_try_result_get_error (SlTryResult *self)
{
  g_return_val_if_fail (SL_IS_TRY_RESULT (self), NULL);
  return self->error;
}

static void
sl_try_result_finalize (GObject *object)
{
  SlTryResult *self = SL_TRY_RESULT (object);

  g_free (self->path);
  g_free (self->name);
  g_clear_object (&self->thumbnail);
  g_clear_object (&self->overlay);
  g_free (self->label);
  g_free (self->runner_up);
  g_free (self->error);
  G_OBJECT_CLASS (sl_try_result_parent_class)->finalize (object);
}

static void
sl_try_result_class_init (SlTryResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sl_try_result_finalize;
}

static void
sl_try_result_init (SlTryResult *self)
{
}
