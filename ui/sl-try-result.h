/* sl-try-result.h: one row of the Export page's "Try it" list: an image, its prediction or why it could not be read. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_TRY_RESULT (sl_try_result_get_type ())
G_DECLARE_FINAL_TYPE (SlTryResult, sl_try_result, SL, TRY_RESULT, GObject)

/* Made on the worker thread (no widgets involved); read on the main thread. */
SlTryResult *sl_try_result_new_prediction (const char *path, GdkTexture *thumbnail,
                                           const char *label, double confidence, gboolean rejected,
                                           const char *runner_up, double runner_up_confidence);
SlTryResult *sl_try_result_new_failure (const char *path, const char *reason);

const char *sl_try_result_get_path (SlTryResult *self);
/* The file name, for display. */
const char *sl_try_result_get_name (SlTryResult *self);
GdkTexture *sl_try_result_get_thumbnail (SlTryResult *self);
/* The predicted class, or NULL for an image that could not be read. */
const char *sl_try_result_get_label (SlTryResult *self);
double sl_try_result_get_confidence (SlTryResult *self);
/* Below the reject threshold: the line would report "unknown". */
gboolean sl_try_result_get_rejected (SlTryResult *self);
/* The second most likely class and its probability, or NULL. */
const char *sl_try_result_get_runner_up (SlTryResult *self, double *confidence);
/* Why the image could not be read, or NULL. */
const char *sl_try_result_get_error (SlTryResult *self);

G_END_DECLS
