/* sl-confusion-matrix.h: a confusion matrix drawn as a heat map; a click on a cell asks for its images. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_CONFUSION_MATRIX (sl_confusion_matrix_get_type ())
G_DECLARE_FINAL_TYPE (SlConfusionMatrix, sl_confusion_matrix, SL, CONFUSION_MATRIX, GtkWidget)

/* Rows are the true classes, columns the predicted ones. A cell's colour is
 * its share of its row: green on the diagonal (right answers), red elsewhere
 * (mistakes). Clicking a cell, or Enter on the keyboard cursor (arrow keys
 * move it), emits "cell-activated" (int true_class, int predicted_class). */
GtkWidget *sl_confusion_matrix_new (void);

/* n classes (names: n strings), counts[true * n + predicted]; copied. n = 0 clears. */
void sl_confusion_matrix_set_data (SlConfusionMatrix *self, guint n, const char *const *names,
                                   const gint64 *counts);
guint sl_confusion_matrix_get_n_classes (SlConfusionMatrix *self);
gint64 sl_confusion_matrix_get_count (SlConfusionMatrix *self, guint true_class,
                                      guint predicted_class);

/* The highlighted cell (the one whose images are shown), or -1, -1 for none. */
void sl_confusion_matrix_set_selected (SlConfusionMatrix *self, int true_class,
                                       int predicted_class);
gboolean sl_confusion_matrix_get_selected (SlConfusionMatrix *self, int *true_class,
                                           int *predicted_class);
/* Does what a click on the cell does. */
void sl_confusion_matrix_activate_cell (SlConfusionMatrix *self, guint true_class,
                                        guint predicted_class);
/* The cell under a point in widget coordinates; FALSE outside the cells. */
gboolean sl_confusion_matrix_cell_at (SlConfusionMatrix *self, double x, double y, int *true_class,
                                      int *predicted_class);

G_END_DECLS
