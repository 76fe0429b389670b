/* sl-devices.h: the workbench's device list: the engine's registry, looked up once on a worker and shared by the Train page and Preferences. */
#pragma once

#include <gio/gio.h>

#include "sightline.h"

G_BEGIN_DECLS

#define SL_TYPE_DEVICES (sl_devices_get_type ())
G_DECLARE_FINAL_TYPE (SlDevices, sl_devices, SL, DEVICES, GObject)

/* The one instance of the process (main thread only). The first call starts
 * looking for the devices on a worker (sl_device_registry_get). */
SlDevices *sl_devices_get_default (void);
/* TRUE while looking, at first and during a refresh; notify::busy says when a
 * look has ended and the list (or the error) is there. */
gboolean sl_devices_get_busy (SlDevices *self);
/* The devices, or NULL before the first look ends or when it failed; valid
 * until the next notify::busy. */
const sl_device_list *sl_devices_get_list (SlDevices *self);
/* Why the last look failed, or NULL. */
const char *sl_devices_get_error (SlDevices *self);
/* Looks again (sl_device_registry_refresh) on a worker: a driver or GPU
 * installed since. A GPU's self-check is not run again. */
void sl_devices_refresh (SlDevices *self);

G_END_DECLS
