/* sl-settings.c: the application's GSettings, when its schema is installed (a test or an uninstalled build may lack it). */
#include "sl-settings.h"

GSettings *
sl_app_settings_new (const char *key)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema
      = source != NULL ? g_settings_schema_source_lookup (source, SL_APP_ID, TRUE) : NULL;

  if (schema == NULL || !g_settings_schema_has_key (schema, key))
    return NULL;
  return g_settings_new_full (schema, NULL, NULL);
}
