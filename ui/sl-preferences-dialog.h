/* sl-preferences-dialog.h: Preferences: training threads and device, thumbnail memory, and the devices found. */
#pragma once

#include "sl-types.h"

#include "sightline.h"

G_BEGIN_DECLS

#define SL_TYPE_PREFERENCES_DIALOG (sl_preferences_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SlPreferencesDialog, sl_preferences_dialog, SL, PREFERENCES_DIALOG, GtkWindow)

/* A modal dialog over parent (may be NULL), not yet shown; it starts looking
 * for devices on a worker thread at once. */
SlPreferencesDialog *sl_preferences_dialog_new (GtkWindow *parent);

/* TRUE while the devices are being discovered ("busy" notifies). */
gboolean sl_preferences_dialog_get_busy (SlPreferencesDialog *self);
/* The devices found, or NULL while busy. */
const sl_device_list *sl_preferences_dialog_get_devices (SlPreferencesDialog *self);

G_END_DECLS
