/* sl-export.h: exporting a run's trained model for the line (.slmodel, ONNX + sidecar). */
#pragma once

#include "sl-evaluation.h"

G_BEGIN_DECLS

typedef enum
{
  SL_EXPORT_SLMODEL = 1 << 0,
  SL_EXPORT_ONNX = 1 << 1, /* the graph plus its JSON sidecar */
} SlExportFormats;

typedef struct
{
  SlExportFormats formats;     /* default: .slmodel */
  SlCheckpointKind checkpoint; /* default: best */
  double reject_threshold;     /* 0 .. 1; 0 = never reject (default) */
  const char *name;            /* file stem; NULL = "<project>-<run>" */
  /* A classifier run only: fit an anomaly gate on the run's training images (the classifier's
   * own layers, sl_anomaly_default_layers), its threshold from the run's validation images at
   * the project's target false-reject rate, so that the line reports an image unlike any it
   * was trained on as unknown (rejected). An anomaly run exports its own scorer anyway. */
  gboolean anomaly_gate;
} SlExportOptions;

void sl_export_options_init (SlExportOptions *options);

typedef struct
{
  char *slmodel_path; /* NULL when not written */
  char *onnx_path;
  char *sidecar_path;
  gint64 slmodel_bytes, onnx_bytes, sidecar_bytes;
  gint64 parameters;
  int classes;
  int input_width, input_height, input_channels;
  double latency_ms; /* median time to classify one image on this computer */
  int threads;       /* used for latency_ms */
  gboolean anomaly;  /* the model is an anomaly model (kind anomaly) */
  gboolean gated;    /* the classifier carries an anomaly gate */
  /* Of the anomaly model or the gate: the threshold written into the file and one sentence on
   * how it was chosen (NAN and NULL otherwise). */
  double anomaly_threshold;
  char *anomaly_statement;
} SlExportResult;

void sl_export_result_clear (SlExportResult *result);

/* Writes the run's model into dir (created if needed) with its labels,
 * preprocessing pipeline and provenance (data set hash, recipe, metrics,
 * versions), then reopens what was written and times a prediction. The
 * formats are staged, flushed and moved into place as a set; the sidecar
 * names its graph's SHA-256; one export writes into a folder at a time and
 * cleans what killed exports left there (docs/export.md). The project is only
 * read, so a read-only project exports to a writable folder. */
gboolean sl_project_export_run (SlProject *self, gint64 run_id, const char *dir,
                                const SlExportOptions *options, SlExportResult *result,
                                GError **error);

G_END_DECLS
