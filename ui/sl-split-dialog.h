/* sl-split-dialog.h: re-split the labelled images into training, validation and test with ratios and a seed. */
#pragma once

#include "sl-types.h"
#include "sl-session.h"

G_BEGIN_DECLS

#define SL_TYPE_SPLIT_DIALOG (sl_split_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SlSplitDialog, sl_split_dialog, SL, SPLIT_DIALOG, GtkWindow)

/* A dialog over parent's window, not yet shown; it reads the current split
 * counts in the background. */
SlSplitDialog *sl_split_dialog_new (GtkWidget *parent, SlSession *session);

/* Percentages (must sum to 100), seed and whether every image is reassigned. */
void sl_split_dialog_set_values (SlSplitDialog *self, int train, int val, int test, guint64 seed,
                                 gboolean resplit);
gboolean sl_split_dialog_get_valid (SlSplitDialog *self);

/* What Apply does: splits on a worker thread, then shows the new counts and
 * tells the session which images changed. "busy" is TRUE meanwhile. */
void sl_split_dialog_apply (SlSplitDialog *self);
gboolean sl_split_dialog_get_busy (SlSplitDialog *self);
/* Images the last apply gave a split (-1 before any). */
gint64 sl_split_dialog_get_assigned (SlSplitDialog *self);

G_END_DECLS
