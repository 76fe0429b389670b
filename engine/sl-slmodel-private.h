/* sl-slmodel-private.h: the .slmodel container (preamble, JSON header, aligned weight blobs).
 *
 * The engine owns the container and every field in it except the
 * preprocessing pipeline, which it carries as an opaque JSON object; the
 * vision layer validates that one (sl-classifier.c). */
#pragma once

#include "sightline.h"

SL_BEGIN_DECLS

/* Preamble: magic, format version, header length, file size, CRCs. */
#define SL_SLMODEL_MAGIC         "SLMODEL\x1a"
#define SL_SLMODEL_PREAMBLE      32
#define SL_SLMODEL_ALIGN         64
#define SL_SLMODEL_MAX_HEADER    (16u << 20)
#define SL_SLMODEL_MAX_LABEL     255
#define SL_SLMODEL_VERSION_WRITE 1u
#define SL_SLMODEL_FORMAT_NAME   "sightline-model"

/* Writes model + pipeline_json (a JSON object) + info to path atomically.
 * opencv_version goes into the software versions (may be NULL). */
sl_status sl_slmodel_write (const sl_model *model, const char *pipeline_json,
                            const sl_slmodel_info *info, const char *opencv_version,
                            const char *path, sl_error *err);

typedef struct
{
  char *header_json; /* the header as stored */
  sl_model *model;   /* built, with the file's weights and statistics */
  char **labels;     /* model->classes strings */
  int n_labels;
  char *pipeline_json; /* the "pipeline" object, unvalidated */
  float reject_threshold;
  /* The anomaly scorer ("anomaly" header object and "anomaly_bank" blob),
   * checked against the model, or NULL. */
  sl_anomaly *anomaly;
  int32_t kind; /* sl_slmodel_kind; an anomaly model's labels are "good", "anomalous" */
} sl_slmodel_contents;

/* Called once the description is read and its weights are found to fit,
 * before the model is built: `model` has its layers and shapes but no
 * weights or backend. A status other than SL_OK stops the parse with that
 * error (the vision layer checks its cost limits here). */
typedef sl_status (*sl_slmodel_check_fn) (const sl_model *model, const char *pipeline_json,
                                          void *user_data, sl_error *err);

/* Checks every byte of a .slmodel held in memory and builds its model to
 * compute on `threads` threads (0 = one per core). `name` (a path or
 * "buffer") starts every message. check may be NULL. */
sl_status sl_slmodel_parse (const uint8_t *data, size_t size, const char *name, int threads,
                            sl_slmodel_check_fn check, void *check_data, sl_slmodel_contents *out,
                            sl_error *err);
/* The same for the file at path (a regular file of at most max_bytes), read
 * as the checks go: the weights are read straight into the model and their
 * checksums checked there, so no copy of the whole file is ever made. */
sl_status sl_slmodel_read (const char *path, size_t max_bytes, int threads,
                           sl_slmodel_check_fn check, void *check_data, sl_slmodel_contents *out,
                           sl_error *err);
void sl_slmodel_contents_clear (sl_slmodel_contents *contents);

/* Shared by the writer (sl-slmodel.c) and the reader (sl-slmodel-read.c). */
extern const char *const _sl_slmodel_tensor_names[3]; /* in file order */
extern const char *const _sl_slmodel_anomaly_labels[2];
/* Finds the earliest label that an earlier one repeats (*second = -1 when
 * all differ); false when out of memory. */
bool _sl_slmodel_find_repeated_label (const char *const *labels, int n, int *first, int *second);

static inline bool
_sl_slmodel_host_is_little_endian (void)
{
  const uint16_t one = 1;

  return *(const uint8_t *) &one == 1;
}

/* sl-slmodel-anomaly.c: the "anomaly" header object and the "anomaly_bank" blob. */
struct cJSON;
/* Saving: the scorer fits the model and every layer it uses has a unique name. */
sl_status _sl_slmodel_anomaly_check_save (const sl_model *model, const sl_anomaly *anomaly,
                                          sl_error *err);
struct cJSON *_sl_slmodel_anomaly_json (const sl_anomaly *anomaly);
/* Reading: checks the object against the model and the blob (count floats,
 * any alignment) and builds the scorer. SL_ERR_FORMAT naming `name`. */
sl_status _sl_slmodel_anomaly_read (const struct cJSON *object, const sl_model *model,
                                    const uint8_t *bank, uint64_t count, const char *name,
                                    sl_anomaly **out, sl_error *err);

SL_END_DECLS
