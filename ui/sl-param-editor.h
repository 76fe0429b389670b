/* sl-param-editor.h: controls generated from an operator's parameter specs, editing one pipeline step. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

#define SL_TYPE_PARAM_EDITOR (sl_param_editor_get_type ())
G_DECLARE_FINAL_TYPE (SlParamEditor, sl_param_editor, SL, PARAM_EDITOR, GtkWidget)

GtkWidget *sl_param_editor_new (void);

/* Edits step `step` of `pipeline` (borrowed: the caller keeps it alive while
 * it is set; NULL or step < 0 shows nothing). Every accepted change is
 * written to the pipeline and announced with "edited" (const char *param_id);
 * a value the operator refuses is not written and its message is shown under
 * the control, as is a message about the step's parameters together (e.g. a
 * crop region that does not fit). */
void sl_param_editor_set_step (SlParamEditor *self, sl_pipeline *pipeline, int step);
int sl_param_editor_get_step (SlParamEditor *self);
/* Re-reads every value after the pipeline changed elsewhere (e.g. the ROI overlay). */
void sl_param_editor_refresh (SlParamEditor *self);

/* The control of a parameter (field 0..3 picks x, y, width, height of a
 * rectangle): a GtkSpinButton, GtkSwitch or GtkDropDown; NULL when absent. */
GtkWidget *sl_param_editor_get_control (SlParamEditor *self, const char *param_id, int field);
/* The message shown under a parameter, or NULL. */
const char *sl_param_editor_get_error (SlParamEditor *self, const char *param_id);

G_END_DECLS
