/* sl-message-dialog.h: small modal dialogs (a heading, a sentence, buttons, maybe an entry) for the dataset page. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

typedef void (*SlMessageFunc) (GtkWindow *dialog, gpointer user_data);

/* A modal window over parent's root, not yet shown. */
GtkWindow *sl_message_dialog_new (GtkWidget *parent, const char *heading, const char *body);
/* Adds a button at the end (style: NULL, "suggested-action" or "destructive-action").
 * Clicking it calls func (may be NULL) and closes the dialog. */
GtkWidget *sl_message_dialog_add_button (GtkWindow *dialog, const char *label, const char *style,
                                         SlMessageFunc func, gpointer user_data,
                                         GDestroyNotify destroy);
/* Adds an entry above the buttons; Enter activates the default button. */
GtkWidget *sl_message_dialog_add_entry (GtkWindow *dialog, const char *text);
/* Adds any widget above the buttons. */
void sl_message_dialog_add_extra (GtkWindow *dialog, GtkWidget *widget);
void sl_message_dialog_set_default (GtkWindow *dialog, GtkWidget *button);

G_END_DECLS
