/* sl-augment-editor.h: switches and sliders for the augmentation settings training applies. */
#pragma once

#include "sl-types.h"
#include "sl-vision.h"

G_BEGIN_DECLS

#define SL_TYPE_AUGMENT_EDITOR (sl_augment_editor_get_type ())
G_DECLARE_FINAL_TYPE (SlAugmentEditor, sl_augment_editor, SL, AUGMENT_EDITOR, GtkWidget)

/* Emits "changed" when the user makes the settings a different valid set;
 * an invalid combination is explained under the controls instead. */
GtkWidget *sl_augment_editor_new (void);

void sl_augment_editor_set_config (SlAugmentEditor *self, const sl_augment_config *config);
/* The settings shown (valid or not). */
void sl_augment_editor_get_config (SlAugmentEditor *self, sl_augment_config *config);
/* The control of a setting by its JSON key ("flip-horizontal", "rotate-degrees", ...). */
GtkWidget *sl_augment_editor_get_control (SlAugmentEditor *self, const char *key);
const char *sl_augment_editor_get_error (SlAugmentEditor *self);

/* One line describing the settings ("Flip left-right, rotate ±15°", or "Off"). */
char *sl_augment_summary (const sl_augment_config *config);

G_END_DECLS
