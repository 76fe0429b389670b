/* sl-train-data.h: the images a run trains on, their data set hash, and the run's row. */
#pragma once

#include "sl-run-private.h"

typedef struct
{
  GArray *class_ids;                  /* gint64, the model's output order */
  GPtrArray *class_names;             /* char * */
  GPtrArray *train_paths, *val_paths; /* char *, stored copies */
  GArray *train_labels, *val_labels;  /* int32_t class indexes */
  gint64 test_images;
  char *hash;         /* SHA-256 over (split, content hash, class) of every split image */
  GPtrArray *missing; /* char *: original names of train/val images whose stored copy is gone */
} SlTrainData;

/* "Skipped 2 images whose stored copies are missing from images/: a.png, b.png"
 * or NULL when none were. */
char *sl_train_data_skipped_note (const SlTrainData *data);

void sl_train_data_clear (SlTrainData *data);
/* The classes that have labelled, non-ignored images in a split, in display order. */
gboolean sl_train_data_pick_classes (SlProject *db, SlTrainData *data, GError **error);
/* Fills the image lists and hash for data->class_ids. */
gboolean sl_train_data_collect (SlProject *db, SlTrainData *data, GError **error);
/* Class weights for a run (NULL array for none), checked against the class count. */
gboolean sl_train_data_class_weights (const SlTrainData *data, const SlRunConfig *config,
                                      GArray **weights, GError **error);
/* Inserts the run's row and creates its folder; returns the id or -1. */
gint64 sl_train_data_insert_run (SlProject *db, const SlTrainData *data, const SlRunConfig *config,
                                 const char *config_json, GError **error);
