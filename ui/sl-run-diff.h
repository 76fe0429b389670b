/* sl-run-diff.h: what two training runs did differently, and how they ended, for the Train page's comparison. */
#pragma once

#include "sl-run.h"

G_BEGIN_DECLS

typedef struct
{
  char *label;        /* "Learning rate" */
  char *a, *b;        /* as shown: "0.001" */
  gboolean is_result; /* an outcome (accuracy, epochs trained), not a setting */
} SlRunDiffRow;

/* The results of both runs, then each setting whose value differs, in a
 * fixed order (GPtrArray of SlRunDiffRow). *n_same (may be NULL) receives
 * how many settings are equal. */
GPtrArray *sl_run_diff (const SlRunInfo *a, const SlRunInfo *b, guint *n_same);

G_END_DECLS
