/* sl-settings.h: the application's GSettings, when its schema is installed (a test or an uninstalled build may lack it). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* org.sightline.Sightline, or NULL when that schema (or, in an older
 * compiled copy, the key a caller needs) is not installed. */
GSettings *sl_app_settings_new (const char *key);

G_END_DECLS
