/* sl-step-row.h: one step of the preprocessing chain in the Preprocess page's list. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

#define SL_TYPE_STEP_ROW (sl_step_row_get_type ())
G_DECLARE_FINAL_TYPE (SlStepRow, sl_step_row, SL, STEP_ROW, GtkListBoxRow)

/* Signals: "enabled-changed" (gboolean) when the user flips the switch,
 * "remove-clicked", and "dropped" (SlStepRow *source) when another row is
 * dragged onto this one. */
GtkWidget *sl_step_row_new (void);

/* Shows step `step` of the pipeline: number, name, parameters and whether it runs. */
void sl_step_row_update (SlStepRow *self, const sl_pipeline *pipeline, int step);
int sl_step_row_get_step (SlStepRow *self);
/* Whether the step can be dragged to another place, dropped on, switched
 * and removed (the default). Off for a read-only project: the row has no drag
 * source or drop target then, and its switch and remove button are off. */
void sl_step_row_set_editable (SlStepRow *self, gboolean editable);
gboolean sl_step_row_get_editable (SlStepRow *self);

/* One line naming a step's parameter values ("Kernel size 5 px, Sigma 1.5 px"). */
char *sl_step_summary (const sl_pipeline *pipeline, int step);

G_END_DECLS
