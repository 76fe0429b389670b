/* sl-anomaly-run-private.h: an anomaly run's files (model, threshold record) and its classifier. */
#pragma once

#include "sl-anomaly.h"
#include "sl-run-private.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sl_anomaly, sl_anomaly_free)

/* What an anomaly run uses when its recipe does not say. */
#define SL_ANOMALY_DEFAULT_BACKBONE "efficientnet-lite0"
#define SL_ANOMALY_DEFAULT_INPUT    224

/* Its files in runs/<run>/: the fitted model, and how its threshold was chosen. */
#define SL_ANOMALY_RUN_MODEL     "anomaly.slmodel"
#define SL_ANOMALY_RUN_THRESHOLD "threshold.json"

/* Images per forward pass when fitting or scoring: enough to keep the GEMMs busy, little
 * memory at 224 px. */
#define SL_ANOMALY_BATCH 8

/* Called with each batch of decoded, preprocessed images (n x the pipeline's input floats),
 * their labels and their indexes in the list; done counts the images handled so far, failed
 * ones included. FALSE (with an error) stops. */
typedef gboolean (*SlAnomalyBatchFunc) (const float *x, const int32_t *labels, const guint *items,
                                        int n, gint64 done, gpointer user_data, GError **error);
/* Runs every image of `paths` (labels may be NULL: all 0) through `pipeline` in order, in
 * batches of SL_ANOMALY_BATCH, decoding each once; an image that cannot be read is skipped
 * (and counted in done). */
gboolean _sl_anomaly_for_batches (const sl_pipeline *pipeline, GPtrArray *paths,
                                  const int32_t *labels, int workers, guint64 seed,
                                  SlAnomalyBatchFunc func, gpointer user_data, GError **error);

/* Writes runs/<run>/threshold.json atomically: t's fields, whether its good images were held
 * out of the training split, and the scores it came from (docs/projects.md). */
gboolean _sl_anomaly_run_write_threshold (SlProject *db, const SlRunInfo *run,
                                          const SlAnomalyThreshold *t, gboolean held_out,
                                          const double *good, gsize n_good, const double *defect,
                                          gsize n_defect, GError **error);

/* The classifier of a fitted anomaly run (runs/<run>/anomaly.slmodel), with the project's
 * manual threshold when one is set. */
sl_classifier *_sl_run_open_anomaly_classifier (SlProject *db, const SlRunInfo *run, int threads,
                                                const char *device, GError **error);

/* sl-export-anomaly.c: what an export learns of the model's anomaly scoring. */
typedef struct
{
  gboolean anomaly;                   /* an anomaly run's model */
  gboolean gated;                     /* a classifier with a gate fitted for the export */
  gboolean manual;                    /* the anomaly threshold is the project's, set by hand */
  double threshold;                   /* NAN: none */
  char *statement;                    /* how the threshold was chosen */
  gint64 train_images, scored_images; /* the gate's: fitted on, threshold from */
} SlExportAnomaly;

void _sl_export_anomaly_clear (SlExportAnomaly *a);
/* The classifier an export writes: an anomaly run's (with the threshold in use), a classifier
 * run's checkpoint, with a gate fitted for it when `gate` is set (classifier runs only). */
sl_classifier *_sl_export_open_classifier (SlProject *db, const SlRunInfo *run,
                                           SlCheckpointKind checkpoint, gboolean gate,
                                           SlExportAnomaly *a, GError **error);
/* Adds "anomaly" or "anomaly_gate" (threshold, statement ...) to a provenance object. */
void _sl_export_anomaly_provenance (cJSON *doc, const SlExportAnomaly *a);

G_END_DECLS
