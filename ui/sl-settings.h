/* sl-settings.h: the application's GSettings, when its schema is installed (a test or an uninstalled build may lack it). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The application id, which is also the GSettings schema id. */
#define SL_APP_ID "org.sightline.Sightline"

/* org.sightline.Sightline, or NULL when that schema (or, in an older
 * compiled copy, the key a caller needs) is not installed. */
GSettings *sl_app_settings_new (const char *key);

G_END_DECLS
