/* sl-anomaly-private.h: what the anomaly fit job and evaluation share inside projects/. */
#pragma once

#include "sl-anomaly.h"
#include "sl-project-settings.h"
#include "sl-run-private.h"

/* sl-project-settings.c: writes one setting (NULL removes it) and tells its watchers. */
gboolean _sl_project_store_setting (SlProject *self, SlSetting setting, const char *value,
                                    GError **error);

/* sl-anomaly-threshold.c: the one-sided 95 % upper confidence bound (Clopper-Pearson) on
 * a rate seen `hits` times in n trials; NAN when n is 0. */
double _sl_anomaly_upper95 (gint64 hits, gint64 n);
/* A rate as a percentage for a sentence, without the sign: "1", "0.5", "9.5". */
char *_sl_anomaly_percent (double rate);

/* Stores n images' anomaly scores as an evaluation of run_id on split (checkpoint best,
 * top-k 1); each image's label (class name, defect or good) is read from the project.
 * Returns the evaluation id, or -1. */
gint64 _sl_anomaly_store_evaluation (SlProject *self, gint64 run_id, SlSplit split,
                                     const gint64 *image_ids, const double *scores, gsize n,
                                     GError **error);

/* sl_project_evaluate_on for an anomaly run: scores every labelled, non-ignored image of
 * the split with the run's classifier and stores the scores. */
gint64 _sl_anomaly_evaluate (SlProject *self, const SlRunInfo *run, SlSplit split, int threads,
                             const char *device, SlEvalProgressFunc progress, gpointer user_data,
                             GCancellable *cancellable, GError **error);

/* sl-evaluation.c: predicts n image files 64 at a time; best[i] receives image i's
 * prediction (class_index -1 when it could not be read or predicted: warned about and
 * counted in *failed), probs (may be NULL) n x class_count probabilities. FALSE when the
 * model fails or `cancellable` stops it. */
gboolean _sl_evaluation_predict_files (sl_classifier *classifier, const char *const *paths, guint n,
                                       SlEvalProgressFunc progress, gpointer user_data,
                                       GCancellable *cancellable, sl_prediction *best, float *probs,
                                       gint64 *failed, GError **error);
