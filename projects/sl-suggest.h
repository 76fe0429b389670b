/* sl-suggest.h: labelling guided by a run: suggested labels, uncertainty sorts, possible label mistakes. */
#pragma once

#include "sl-evaluation.h"

G_BEGIN_DECLS

/* ---- Suggesting labels -----------------------------------------------------------------------
 * A suggestion pass predicts every non-ignored image of the project with a run's classifier
 * (sl_project_open_classifier: the one inference path) and stores, per image and run, the
 * suggested class, its confidence (probability), the margin (best minus second-best
 * probability) and, for an anomaly run, the anomaly score. The image's label at that moment
 * is stored with it: a suggestion is shown only while the image keeps that label, so labelling
 * an image makes its suggestion stale (hidden) and clearing the label again (undo) shows it
 * again. Unlabelled images get suggestions; labelled ones are predicted too, to find possible
 * label mistakes (sl_project_list_possible_mistakes).
 *
 * An anomaly run suggests "good" below its threshold (the one in use: set by hand for the run,
 * else its own) and the project's "defect" class above it (no class when the project has
 * none). A score is not a probability: confidence and margin are NAN there, and the margin
 * sort orders by |score - threshold| / threshold instead (nearest to the decision first). */

typedef struct
{
  gint64 run_id;
  gint64 images;      /* images the pass had to look at (unlabelled + labelled, not ignored) */
  gint64 unlabelled;  /* of them, unlabelled */
  gint64 predicted;   /* predicted now */
  gint64 up_to_date;  /* skipped: already predicted by this run's same model, same label */
  gint64 failed;      /* could not be read (warned, skipped) */
  gint64 suggestions; /* unlabelled images with a suggestion of this run after the pass */
  gint64 possible_mistakes; /* at SL_SUGGEST_MISTAKE_CONFIDENCE, not trained on */
  gboolean cancelled;       /* what was predicted before the cancel is kept */
  double seconds;
} SlSuggestResult;

/* Progress: images done of total (0 / total first, while the model loads). Called on the
 * thread that runs the pass. */
typedef void (*SlSuggestProgressFunc) (gint64 done, gint64 total, gpointer user_data);

/* Predicts the project's unlabelled images (first) and labelled ones with run_id's
 * `checkpoint` (anomaly runs have one fit, whatever is asked), 64 at a time, each batch
 * stored in its own short transaction, so a cancel (G_IO_ERROR_CANCELLED, result->cancelled
 * set) or a crash keeps what was stored. An image already predicted by the same model of the
 * run with its current label is not predicted again, so a pass after a cancel goes on where
 * it stopped. An image that does not read is warned about and skipped. threads: compute
 * threads (0: one per core). Any thread may call it on its own connection
 * (sl_project_open_worker); result may be NULL. */
gboolean sl_project_suggest_labels (SlProject *self, gint64 run_id, SlCheckpointKind checkpoint,
                                    int threads, SlSuggestProgressFunc progress, gpointer user_data,
                                    GCancellable *cancellable, SlSuggestResult *result,
                                    GError **error);
/* The same computing on device: "cpu", "cuda" (the first usable GPU) or "cuda:N"; NULL: CPU. */
gboolean sl_project_suggest_labels_on (SlProject *self, gint64 run_id, SlCheckpointKind checkpoint,
                                       int threads, const char *device,
                                       SlSuggestProgressFunc progress, gpointer user_data,
                                       GCancellable *cancellable, SlSuggestResult *result,
                                       GError **error);
/* The pass on a worker thread with its own connection to the project at `path`; `progress`
 * (may be NULL) is called on that thread (keep it to atomics, as the Evaluate page does), and
 * `callback` in the calling thread's main context. The finish gives the result (g_free). */
void sl_project_suggest_labels_async (const char *path, gint64 run_id, SlCheckpointKind checkpoint,
                                      int threads, const char *device,
                                      SlSuggestProgressFunc progress, gpointer progress_data,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
SlSuggestResult *sl_project_suggest_labels_finish (GAsyncResult *result, GError **error);

/* Forgets the suggestions of a run (run_id <= 0: of every run). */
gboolean sl_project_clear_suggestions (SlProject *self, gint64 run_id, GError **error);
/* The run whose suggestions were stored last (the one lists and accepts use by default), or
 * -1 (no error) when there are none. */
gint64 sl_project_latest_suggestion_run (SlProject *self, GError **error);

/* ---- Listing ----------------------------------------------------------------------------------- */

typedef enum
{
  SL_SUGGEST_SORT_LEAST_CONFIDENT, /* lowest confidence first ("uncertainty") */
  SL_SUGGEST_SORT_SMALLEST_MARGIN, /* smallest best-minus-second first */
  SL_SUGGEST_SORT_HIGHEST_ANOMALY, /* highest anomaly score first (anomaly runs) */
  SL_SUGGEST_SORT_MOST_CONFIDENT,  /* highest confidence first (what to accept) */
  SL_SUGGEST_SORT_IMAGE,           /* image id order */
} SlSuggestSort;

/* "uncertainty", "margin", "anomaly", "confidence", "image" */
const char *sl_suggest_sort_to_string (SlSuggestSort sort);
gboolean sl_suggest_sort_from_string (const char *name, SlSuggestSort *sort);

typedef struct
{
  gint64 run_id;         /* <= 0: sl_project_latest_suggestion_run */
  gint64 class_id;       /* suggested class; -2: any, -1: none (an anomaly with no defect class) */
  double min_confidence; /* suggestions below it are left out (NAN confidences count as 1) */
  double max_confidence; /* and above it */
  gint64 limit;          /* 0: all */
} SlSuggestFilter;

void sl_suggest_filter_init (SlSuggestFilter *filter); /* latest run, any class, 0 .. 1, all */

typedef struct
{
  gint64 image_id;
  char *hash, *ext; /* the stored copy: sl_project_image_path (project, hash, ext) */
  char *original_path;
  SlSplit split;
  gint64 run_id;
  gint64 class_id;          /* the suggested class; -1: none */
  char *class_name;         /* NULL with class_id -1 */
  double confidence;        /* 0 .. 1; NAN for an anomaly run */
  double margin;            /* best - second-best probability; NAN for an anomaly run */
  double anomaly_score;     /* NAN for a classifier run */
  double anomaly_threshold; /* the threshold the suggestion was made at (NAN: classifier) */
  char *created;            /* ISO 8601 UTC */
} SlSuggestion;

void sl_suggestion_free (SlSuggestion *suggestion);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlSuggestion, sl_suggestion_free)

/* The suggestions of unlabelled, non-ignored images that are not stale, sorted (ties: image
 * id ascending; an anomaly run's NAN confidence sorts as 1, a classifier's NAN score as
 * -infinity). GPtrArray of SlSuggestion, owning; empty when the project has none. */
GPtrArray *sl_project_list_suggestions (SlProject *self, SlSuggestSort sort,
                                        const SlSuggestFilter *filter, GError **error);
/* One image's current suggestion from run_id (<= 0: the latest run), or NULL with
 * SL_PROJECT_ERROR_NOT_FOUND when it has none (or a stale one). */
SlSuggestion *sl_project_get_suggestion (SlProject *self, gint64 run_id, gint64 image_id,
                                         GError **error);

/* ---- Accepting -------------------------------------------------------------------------------- */

/* Labels images with their suggested class (run_id <= 0: the latest run's suggestions), in
 * one short transaction: those of image_ids (NULL: every image with a current suggestion)
 * whose suggestion is current and whose confidence is at least min_confidence (<= 0: any;
 * anomaly suggestions, whose confidence is NAN, only then) and names a class. Images without
 * such a suggestion are left as they are. Undo is sl_project_set_labels (ids, -1). Returns
 * how many images were labelled, -1 on error; accepted_ids (may be NULL) receives them. */
gint64 sl_project_accept_suggestions (SlProject *self, gint64 run_id, const gint64 *image_ids,
                                      gsize n, double min_confidence, GArray **accepted_ids,
                                      GError **error);

/* ---- Possible label mistakes ---------------------------------------------------------------
 * A labelled image whose label the run's prediction contradicts with confidence >= a threshold
 * (an anomaly run: a "good" image scored above its threshold, i.e. a defect among the good
 * parts the next fit would learn from). Only images the run did not train on are evidence: on
 * the training split's images the model may have memorised the wrong label, or learnt around
 * it, so those (the images in the training split now) are listed after the others with
 * `trained` set, as weaker evidence. */

#define SL_SUGGEST_MISTAKE_CONFIDENCE 0.9

typedef struct
{
  gint64 image_id;
  char *hash, *ext;
  char *original_path;
  SlSplit split;
  gint64 run_id;
  gint64 label_id; /* the image's label */
  char *label_name;
  gint64 predicted_id; /* what the run predicts; -1: none (anomalous, no defect class) */
  char *predicted_name;
  double confidence;    /* of the prediction; NAN for an anomaly run */
  double anomaly_score; /* NAN for a classifier run */
  gboolean trained;     /* in the training split: the model may have memorised it */
} SlPossibleMistake;

void sl_possible_mistake_free (SlPossibleMistake *mistake);

/* Possible mistakes from run_id's predictions (<= 0: the latest run with suggestions;
 * none: an empty list), not trained on first, then most confident (anomaly: highest
 * score) first, ties by image id. min_confidence <= 0: SL_SUGGEST_MISTAKE_CONFIDENCE.
 * Predictions made before the image's label changed are stale and never count. */
GPtrArray *sl_project_list_possible_mistakes (SlProject *self, gint64 run_id, double min_confidence,
                                              GError **error);

G_END_DECLS
