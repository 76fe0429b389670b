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

/* One line naming a step's parameter values ("Kernel size 5 px, Sigma 1.5 px"). */
char *sl_step_summary (const sl_pipeline *pipeline, int step);

G_END_DECLS
