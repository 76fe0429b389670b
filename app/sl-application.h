/* sl-application.h: the Sightline GtkApplication: app actions, opening projects, the demo, settings. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SL_TYPE_APPLICATION (sl_application_get_type ())
G_DECLARE_FINAL_TYPE (SlApplication, sl_application, SL, APPLICATION, GtkApplication)

/* `sightline` exits with this status when no display can be opened, so a
 * script can fall back to the headless tools. */
#define SL_EXIT_NO_DISPLAY 3

SlApplication *sl_application_new (void);

/* Opens a project folder: in the active window when it shows the welcome
 * view, in a new window when that one holds a project, or by presenting the
 * window that has it open already. Errors are shown in the window. */
void sl_application_open_path (SlApplication *self, const char *path);

/* Opens the demo project, building it first (with a progress view) when it
 * does not exist yet. */
void sl_application_open_demo (SlApplication *self);

G_END_DECLS
