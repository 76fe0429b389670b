/* sl-evaluation.h: evaluating a run on a split (stored per image) and predicting new images. */
#pragma once

#include "sl-classifier.h"
#include "sl-run.h"

G_BEGIN_DECLS

typedef enum
{
  SL_CHECKPOINT_BEST, /* the epoch with the lowest validation loss */
  SL_CHECKPOINT_LAST,
} SlCheckpointKind;

typedef struct
{
  gint64 image_id;
  char *original_path;
  int true_class; /* index into the run's classes */
  int predicted_class;
  double confidence; /* probability of the predicted class */
  double true_probability;
  char *hash, *ext; /* the stored copy: sl_project_image_path (project, hash, ext) */
} SlImagePrediction;

typedef struct
{
  gint64 id;
  gint64 run_id;
  SlSplit split;
  SlCheckpointKind checkpoint;
  int top_k;
  gint64 images;
  double accuracy;
  double top_k_accuracy;
  double macro_f1;
  int classes;
  GPtrArray *class_names;          /* char * */
  double *precision, *recall, *f1; /* per class */
  gint64 *support;                 /* true images per class */
  gint64 *confusion;               /* classes x classes, [true * classes + predicted] */
  GPtrArray *confident_mistakes;   /* SlImagePrediction, most confident first */
  GPtrArray *unsure_correct;       /* SlImagePrediction, least confident first */
  char *created;                   /* ISO 8601 UTC */
} SlEvaluation;

void sl_evaluation_free (SlEvaluation *evaluation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlEvaluation, sl_evaluation_free)

typedef void (*SlEvalProgressFunc) (gint64 done, gint64 total, gpointer user_data);

/* Predicts every labelled, non-ignored image of `split` with the run's
 * weights, stores each prediction (all class probabilities) in the project and
 * returns the evaluation id, or -1. */
gint64 sl_project_evaluate (SlProject *self, gint64 run_id, SlSplit split,
                            SlCheckpointKind checkpoint, int top_k, int threads,
                            SlEvalProgressFunc progress, gpointer user_data,
                            GCancellable *cancellable, GError **error);
/* The same computing on device: "cpu", "cuda" (the first usable GPU) or "cuda:N"; NULL: the CPU. */
gint64 sl_project_evaluate_on (SlProject *self, gint64 run_id, SlSplit split,
                               SlCheckpointKind checkpoint, int top_k, int threads,
                               const char *device, SlEvalProgressFunc progress, gpointer user_data,
                               GCancellable *cancellable, GError **error);
/* Metrics computed from the stored predictions; `list_length` bounds the
 * mistake lists. */
SlEvaluation *sl_project_get_evaluation (SlProject *self, gint64 evaluation_id, int list_length,
                                         GError **error);
/* The newest evaluation of a run on a split, or -1 (no error) when none. */
gint64 sl_project_find_evaluation (SlProject *self, gint64 run_id, SlSplit split, GError **error);
/* Every stored prediction of an evaluation, in image id order (GPtrArray of
 * SlImagePrediction, owning), in one query. */
GPtrArray *sl_project_list_predictions (SlProject *self, gint64 evaluation_id, GError **error);

/* What a reject threshold does on the line: a prediction whose confidence is
 * below it is rejected as "unknown" (as the runtime rejects), the others are
 * accepted. */
typedef struct
{
  gint64 images, accepted, correct_accepted;
  gint64 mistakes, mistakes_rejected;
  double accuracy_accepted; /* correct / accepted; NAN when none is accepted */
  double reject_rate;       /* rejected / images; 0 without images */
  double mistakes_caught;   /* mistakes rejected / mistakes; 0 without mistakes */
} SlThresholdStats;

void sl_threshold_stats (SlImagePrediction *const *predictions, gsize n, double threshold,
                         SlThresholdStats *stats);

/* Fills e->precision, recall, f1 and macro_f1 from e->support and e->confusion (classes x classes,
 * [true * classes + predicted]). The macro F1 averages over the classes that occur in the
 * split or are predicted: a class with no images there and no predictions (a class too small
 * to have validation or test images) has no F1 and does not count as 0. */
void sl_evaluation_compute_class_metrics (SlEvaluation *e);

/* A run's trained model (one checkpoint's weights, the run's pipeline and class
 * names) as the runtime's classifier, so that evaluation, prediction, Try It
 * and export all preprocess and rank classes one way. It computes on device
 * ("cpu", "cuda" (the first usable GPU) or "cuda:N"; NULL: the CPU) with
 * `threads` compute threads (0: one per core), without the runtime's cost
 * limits (the project's own model). Free with sl_classifier_free. */
sl_classifier *sl_project_open_classifier (SlProject *project, gint64 run_id,
                                           SlCheckpointKind checkpoint, int threads,
                                           const char *device, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sl_classifier, sl_classifier_free)

G_END_DECLS
