/* sl-input-spec-editor.h: the model input of a pipeline: size, channels, transparency and normalization. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

#define SL_TYPE_INPUT_SPEC_EDITOR (sl_input_spec_editor_get_type ())
G_DECLARE_FINAL_TYPE (SlInputSpecEditor, sl_input_spec_editor, SL, INPUT_SPEC_EDITOR, GtkWidget)

GtkWidget *sl_input_spec_editor_new (void);

/* The project whose labelled images "Measure from data" uses. */
void sl_input_spec_editor_set_project_path (SlInputSpecEditor *self, const char *path);
/* Edits the input of `pipeline` (borrowed; NULL: nothing). Accepted changes
 * are written to it and announced with "edited"; refused ones are shown
 * under the field and not written. */
void sl_input_spec_editor_set_pipeline (SlInputSpecEditor *self, sl_pipeline *pipeline);
/* Re-reads the values after the pipeline changed elsewhere. */
void sl_input_spec_editor_refresh (SlInputSpecEditor *self);

/* Measures the mean and std of the pipeline's output on up to 256 labelled
 * images, on a worker thread; "measuring" is TRUE meanwhile. */
void sl_input_spec_editor_measure (SlInputSpecEditor *self);
gboolean sl_input_spec_editor_get_measuring (SlInputSpecEditor *self);
/* The message shown under the fields, or NULL. */
const char *sl_input_spec_editor_get_error (SlInputSpecEditor *self);

G_END_DECLS
