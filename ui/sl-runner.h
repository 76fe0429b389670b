/* sl-runner.h: one training run at a time for a session, on its own thread, with throttled progress for the UI. */
#pragma once

#include "sl-session.h"
#include "sl-train-job.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_RUNNER (sl_runner_get_type ())
G_DECLARE_FINAL_TYPE (SlRunner, sl_runner, SL, RUNNER, GObject)

/* One optimizer step's training loss and accuracy; x is the fractional epoch. */
typedef struct
{
  double x;
  double loss, accuracy, learning_rate;
} SlRunnerStep;

/* Signals, all on the main thread:
 *   "started" (gint64 run_id): the run was recorded and its first batch is being prepared;
 *   "features" (const SlTrainProgress *): the feature pass before the first epoch of a run
 *     that trains from a frozen backbone's cached features: features_done of features_total
 *     images (throttled like "steps"; the step, loss and ETA fields mean nothing then); an
 *     anomaly fit's phases come the same way (features, fit_* for the memory bank, score_*
 *     for the threshold);
 *   "steps" (const SlRunnerStep *steps, guint n): steps since the last emission
 *     (at most ~20 emissions a second, however fast the steps come);
 *   "epoch" (const SlTrainProgress *): an epoch ended, with its validation values;
 *   "finished" (gint64 run_id, const GError *error): NULL on success or early stop;
 *     G_IO_ERROR_CANCELLED after a stop. The run stays resumable then.
 * The "running" property follows the whole life of a run, from the request
 * (before "started") to "finished". */
SlRunner *sl_runner_new (SlSession *session);

/* Starts a new run (config is copied; labelled images without a split are
 * split first, 70/15/15) or resumes one (epochs > 0 changes its
 * total). The run is prepared on a worker thread: errors in preparing (no
 * labelled images, a bad setting) come with "finished" and a NULL-run. FALSE
 * only when a run is already going. */
gboolean sl_runner_start (SlRunner *self, const SlRunConfig *config, GError **error);
gboolean sl_runner_resume (SlRunner *self, gint64 run_id, int epochs, GError **error);
/* Asks the run to stop after the current step; "finished" follows. */
void sl_runner_stop (SlRunner *self);

gboolean sl_runner_is_running (SlRunner *self);
gboolean sl_runner_is_stopping (SlRunner *self);
/* The run being trained (or last trained), -1 before one was recorded. */
gint64 sl_runner_get_run_id (SlRunner *self);
/* The latest progress of the current run (NULL before its first step). */
const SlTrainProgress *sl_runner_get_progress (SlRunner *self);
/* Images per second of the feature pass, measured since its first report; NAN outside the
 * pass and before a rate can be measured. */
double sl_runner_get_features_rate (SlRunner *self);
/* Seconds since the run started training (0 before). */
double sl_runner_get_elapsed (SlRunner *self);
/* Counts of the run's data and model, valid after "started". */
gint64 sl_runner_get_train_images (SlRunner *self);
gint64 sl_runner_get_val_images (SlRunner *self);
gsize sl_runner_get_param_count (SlRunner *self);
/* Labelled images without a split that the new run put into one. */
gint64 sl_runner_get_split_assigned (SlRunner *self);
/* Training and validation images the run skips because their stored copy is
 * missing from images/ (valid after "started"). */
gint64 sl_runner_get_skipped_missing (SlRunner *self);
int sl_runner_get_threads (SlRunner *self);
/* The device of the current or last run: "" or "cpu", "cuda", "cuda:N" (a resumed run's own). */
const char *sl_runner_get_device (SlRunner *self);

/* For tests: hold (TRUE) the current run's reports back until released (FALSE) — the run
 * goes on meanwhile — and hand progress to the listeners now, as if the run's job had reported
 * it (while a run goes). */
void sl_runner_hold_reports (SlRunner *self, gboolean hold);
void sl_runner_report (SlRunner *self, const SlTrainProgress *progress);

G_END_DECLS
