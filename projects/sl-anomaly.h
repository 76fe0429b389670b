/* sl-anomaly.h: anomaly projects (trained on good parts only): their kind, thresholds and evaluation. */
#pragma once

#include "sl-evaluation.h"

G_BEGIN_DECLS

/* ---- The project's kind -------------------------------------------------------
 * A project either classifies parts into its classes or finds anomalies: it then
 * trains on images of the class named "good" (SL_ANOMALY_GOOD_CLASS) only; every
 * other class is a kind of defect, used only to evaluate and to choose the
 * threshold. Projects made before kinds existed classify. */

typedef enum
{
  SL_PROJECT_KIND_CLASSIFY,
  SL_PROJECT_KIND_ANOMALY,
} SlProjectKind;

#define SL_ANOMALY_GOOD_CLASS   "good"
#define SL_ANOMALY_DEFECT_CLASS "defect" /* what import --as defect labels */

const char *sl_project_kind_to_string (SlProjectKind kind); /* "classify", "anomaly" */
gboolean sl_project_kind_from_string (const char *name, SlProjectKind *kind);
/* Creates a project of `kind`; an anomaly project starts with the classes "good" and
 * "defect". */
SlProject *sl_project_create_kind (const char *path, const char *name, SlProjectKind kind,
                                   GError **error);
SlProjectKind sl_project_get_kind (SlProject *self);
/* TRUE when class_id is the good class of an anomaly project. */
gboolean sl_project_is_good_class (SlProject *self, gint64 class_id);

/* ---- Thresholds ------------------------------------------------------------------
 * From good images only: the threshold is the ceil ((1 - target) (n + 1))-th smallest
 * of the n good validation scores, so that a new good part scores above it with
 * probability at most `target` (for exchangeable scores). With too few good images
 * for the target (n + 1 < 1 / target) it is the largest good score, and the
 * statement says how many images the target needs. */

typedef struct
{
  double threshold;
  double target_false_reject; /* what was asked */
  gint64 good_images;         /* the good validation scores it came from */
  /* The false-reject rate of the good validation images at the threshold, and a
   * one-sided 95 % upper confidence bound on the rate for new good parts
   * (Clopper-Pearson), NAN without good images. */
  double observed_false_reject, false_reject_upper95;
  gboolean target_reachable; /* enough good images for the target */
  char *statement; /* one sentence for the user: what the threshold promises, how surely */
} SlAnomalyThreshold;

void sl_anomaly_threshold_clear (SlAnomalyThreshold *threshold);
/* scores: the good validation images' anomaly scores (any order); n may be 0 (the
 * threshold is then +infinity and the statement says validation images are needed). */
void sl_anomaly_threshold_from_good (const double *good_scores, gsize n, double target_false_reject,
                                     SlAnomalyThreshold *out);

/* A threshold set by hand (or picked on the trade-off curve) belongs to the run it was
 * chosen on: it is always respected over that run's own (evaluation, prediction, export),
 * and never passes to another run, whose scores may have another scale (another backbone,
 * another fit); a new fit starts with its own threshold from good images. Stored in the
 * setting SL_SETTING_ANOMALY_THRESHOLD (its watchers are told of every change). */

/* run_id's threshold set by hand; FALSE (and NAN) when none is set or there is no such run. */
gboolean sl_project_get_run_anomaly_threshold (SlProject *self, gint64 run_id, double *threshold);
/* Sets run_id's threshold (a score of 0 or more); NAN clears it (back to the run's own).
 * SL_PROJECT_ERROR_NOT_FOUND without such a run, SL_PROJECT_ERROR_INVALID for a run that
 * classifies or a value that is not a score. */
gboolean sl_project_set_anomaly_threshold_for_run (SlProject *self, gint64 run_id, double threshold,
                                                   GError **error);
/* The newest anomaly run whose fit finished (free with sl_run_info_free);
 * SL_PROJECT_ERROR_NOT_FOUND when there is none. */
SlRunInfo *sl_project_get_latest_anomaly_run (SlProject *self, GError **error);
/* The same two for the latest fitted anomaly run (sl_project_get_latest_anomaly_run): the
 * run a project's user sees by default. The getter is FALSE without such a run; the setter
 * fails with SL_PROJECT_ERROR_NOT_FOUND. A fit that finishes later makes a new latest run,
 * which starts without a manual threshold. */
gboolean sl_project_get_anomaly_threshold (SlProject *self, double *threshold);
gboolean sl_project_set_anomaly_threshold (SlProject *self, double threshold, GError **error);
/* The target false-reject rate new anomaly runs use (default 0.01). */
double sl_project_get_target_false_reject (SlProject *self);
gboolean sl_project_set_target_false_reject (SlProject *self, double rate, GError **error);

/* ---- Anomaly runs (fit owner: sl-run-anomaly.c) ---------------------------------------
 * A run whose recipe says "anomaly" fitted a scorer on the training split's good images and
 * chose its threshold from good validation images (or a held-out 20 % of the training good
 * images): runs/<run>/threshold.json records how. */
gboolean sl_run_info_is_anomaly (const SlRunInfo *run);
/* How the run chose its threshold (out: clear with sl_anomaly_threshold_clear);
 * SL_PROJECT_ERROR_NOT_FOUND when it is not fitted yet. */
gboolean sl_run_get_anomaly_threshold (SlProject *self, const SlRunInfo *run,
                                       SlAnomalyThreshold *out, GError **error);

/* ---- Evaluating an anomaly run ------------------------------------------------------
 * sl_project_evaluate () evaluates anomaly runs too (it stores each image's score);
 * this reads such an evaluation back with what the Evaluate page and `eval --json`
 * show. */

typedef struct
{
  gint64 image_id;
  char *original_path;
  char *hash, *ext; /* the stored copy: sl_project_image_path (project, hash, ext) */
  char *class_name; /* "good", or the defect's class */
  gboolean defect;  /* its label is not "good" */
  double score;
  gboolean flagged; /* score > the threshold in use */
} SlAnomalyScore;

typedef struct
{
  double threshold;
  double false_reject; /* good images flagged / good images at this threshold */
  double escape;       /* defect images not flagged / defect images */
} SlRocPoint;

typedef struct
{
  gint64 id, run_id;
  SlSplit split;
  GPtrArray *scores; /* SlAnomalyScore, highest score first */
  gint64 good, defects;
  double auroc;                     /* NAN without both good and defect images */
  double threshold;                 /* the one in use: set by hand for this run, else the run's */
  gboolean threshold_manual;        /* it was set by hand for this run (run_id) */
  SlAnomalyThreshold run_threshold; /* how the run chose its own */
  double false_reject, escape;      /* at the threshold in use; NAN without such images */
  gint64 false_rejects, escapes;
  GArray *roc; /* SlRocPoint, one per distinct score, threshold ascending */
  char *created;
  /* At the threshold in use, from this split's good images: a one-sided 95 % upper
   * confidence bound (Clopper-Pearson) on the rate at which new good parts are
   * flagged (NAN without good images), and one sentence saying what the rates mean. */
  double false_reject_upper95;
  char *statement;
} SlAnomalyEvaluation;

void sl_anomaly_evaluation_free (SlAnomalyEvaluation *evaluation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlAnomalyEvaluation, sl_anomaly_evaluation_free)

SlAnomalyEvaluation *sl_project_get_anomaly_evaluation (SlProject *self, gint64 evaluation_id,
                                                        GError **error);
/* Counts the evaluation again at another threshold, in memory (a slider's preview; nothing
 * is stored): each score's flag, the false-reject and escape rates and counts, the bound
 * and the statement, which calls it set by hand when `manual`. */
void sl_anomaly_evaluation_apply_threshold (SlAnomalyEvaluation *evaluation, double threshold,
                                            gboolean manual);
/* Whether an evaluation holds anomaly scores (sl_project_get_evaluation refuses those). */
gboolean sl_project_evaluation_is_anomaly (SlProject *self, gint64 evaluation_id);
/* The area under the ROC curve of defect (positive) against good scores, ties
 * counting half; NAN when either list is empty. */
double sl_anomaly_auroc (const double *good, gsize n_good, const double *defect, gsize n_defect);
/* The trade-off curve: one SlRocPoint per distinct score (flagged: score > it), threshold
 * ascending; false_reject NAN without good scores, escape NAN without defect scores. */
GArray *sl_anomaly_roc (const double *good, gsize n_good, const double *defect, gsize n_defect);

G_END_DECLS
