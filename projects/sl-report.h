/* sl-report.h: the line qualification report: a signed-off PDF of what a run's model is, what it was trained and tested on, how good and how fast it is. */
#pragma once

#include "sl-export.h"

G_BEGIN_DECLS

/* What the report is doing, for a progress bar: a fraction 0 .. 1 and a short phrase
 * ("Measuring speed"). Called on the thread that writes the report. */
typedef void (*SlReportProgressFunc) (double fraction, const char *what, gpointer user_data);

typedef struct
{
  SlSplit split;          /* the evaluation the report shows: SL_SPLIT_TEST (default) or VAL */
  const char *model_path; /* an exported .slmodel of the run; NULL: export one to a temp folder */
  const char *signer;     /* printed in the sign-off block; NULL: a blank line to fill in */
  const char *signer_role;
  int threads;          /* for the speed measurement; 0: one per core */
  double speed_seconds; /* time spent measuring speed; 0: 2 s */
  SlReportProgressFunc progress;
  gpointer progress_data;
  GCancellable *cancellable;
} SlReportOptions;

void sl_report_options_init (SlReportOptions *options);

typedef struct
{
  int pages;
  gboolean evaluated; /* no evaluation was stored: the report evaluated the run first */
  gint64 evaluation_id;
  char *model_sha256; /* of the .slmodel the report describes */
  char *model_path;   /* that file (in a removed temp folder when the report exported it) */
  gint64 model_bytes;
  double latency_ms;   /* median, one image */
  double images_per_s; /* batches of SL_REPORT_BATCH images */
} SlReportResult;

#define SL_REPORT_BATCH 16

void sl_report_result_clear (SlReportResult *result);

/* Writes the report of run_id (a finished classifier or anomaly run) to pdf_path (A4),
 * atomically: a temporary file beside it, synced, then renamed, so a report is never half
 * written. It uses the run's stored evaluation on options->split, and evaluates the run first
 * when there is none (result->evaluated). Blocking: call it from a worker thread (it opens its
 * own classifier; `project` must not be used by another thread meanwhile). Errors:
 * SL_PROJECT_ERROR_NOT_FOUND (no such run), SL_PROJECT_ERROR_INVALID (run not finished, a
 * model file of another run, no images to evaluate), G_IO_ERROR_CANCELLED, file errors. */
gboolean sl_project_write_report (SlProject *project, gint64 run_id, const SlReportOptions *options,
                                  const char *pdf_path, SlReportResult *result, GError **error);

G_END_DECLS
