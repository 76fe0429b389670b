/* sl-preferences-dialog.h: Preferences: training threads and device, thumbnail memory, and the devices found. */
#pragma once

#include "sl-types.h"

#include "sightline.h"

G_BEGIN_DECLS

#define SL_TYPE_PREFERENCES_DIALOG (sl_preferences_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SlPreferencesDialog, sl_preferences_dialog, SL, PREFERENCES_DIALOG, GtkWindow)

/* A modal dialog over parent (may be NULL), not yet shown. Its devices are the
 * workbench's one list (sl-devices.h); Look Again refreshes that list. */
SlPreferencesDialog *sl_preferences_dialog_new (GtkWindow *parent);

/* TRUE while the workbench's device list looks for devices ("busy" notifies). */
gboolean sl_preferences_dialog_get_busy (SlPreferencesDialog *self);
/* The devices found, or NULL while busy. */
const sl_device_list *sl_preferences_dialog_get_devices (SlPreferencesDialog *self);

G_END_DECLS
