/* sl-main.c: `sightline`, the workbench: finds its settings schema and runs the application. */
#include <glib/gstdio.h>
#include <stdio.h>

#include "sl-application.h"
#include "sl-settings.h"

/* Run from the build folder (build/app/sightline) or a portable bundle, the
 * schema sits beside the program rather than in the system's schema folder. */
static void
add_local_schema_dirs (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *bin = exe != NULL ? g_path_get_dirname (exe) : NULL;
  const char *const relative[] = { "../resources", "../share/glib-2.0/schemas" };

  if (bin == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (relative); i++)
    {
      g_autofree char *dir = g_build_filename (bin, relative[i], NULL);
      g_autofree char *compiled = g_build_filename (dir, "gschemas.compiled", NULL);
      const char *old = g_getenv ("GSETTINGS_SCHEMA_DIR");
      g_autofree char *value = NULL;

      if (!g_file_test (compiled, G_FILE_TEST_IS_REGULAR))
        continue;
      value = old != NULL && *old != '\0' ? g_strconcat (old, G_SEARCHPATH_SEPARATOR_S, dir, NULL)
                                          : g_strdup (dir);
      g_setenv ("GSETTINGS_SCHEMA_DIR", value, TRUE);
    }
}

static gboolean
have_schema (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema
      = source != NULL ? g_settings_schema_source_lookup (source, SL_APP_ID, TRUE) : NULL;

  return schema != NULL;
}

int
main (int argc, char **argv)
{
  g_autoptr (SlApplication) app = NULL;

  add_local_schema_dirs ();
  if (!have_schema ())
    {
      fprintf (stderr,
               "sightline: the settings schema %s is not installed; install Sightline "
               "(ninja -C build install) or set GSETTINGS_SCHEMA_DIR\n",
               SL_APP_ID);
      return 1;
    }
  app = sl_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
