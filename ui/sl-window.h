/* sl-window.h: the main window: a welcome view, or one open project with its pages. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_WINDOW (sl_window_get_type ())
G_DECLARE_FINAL_TYPE (SlWindow, sl_window, SL, WINDOW, GtkApplicationWindow)

SlWindow *sl_window_new (GtkApplication *application);

/* Opens the project at path in this window (which must not hold one yet) and
 * adds it to the recent projects. On failure shows why (a folder that is not
 * a project, a project from a newer Sightline, ...) and keeps the current
 * view; returns FALSE then. */
gboolean sl_window_open_project (SlWindow *self, const char *path);
/* Shows an open project (the window must not hold one yet). */
void sl_window_set_session (SlWindow *self, SlSession *session);
SlSession *sl_window_get_session (SlWindow *self);

/* Says why the project at path could not be opened. */
void sl_window_show_open_error (SlWindow *self, const char *path, const GError *error);

/* Shows title in bold and the error's message below it in a toast. Pages do
 * not call this: they activate the window's actions "win.show-error" ((ss):
 * title, message) and "win.toast" (s) with gtk_widget_activate_action. */
void sl_window_show_error (SlWindow *self, const char *title, const GError *error);
/* The title of the toast shown now, or NULL. */
const char *sl_window_get_toast_title (SlWindow *self);

/* A long job that comes before a project (such as building the demo):
 * replaces the welcome view with a title, a progress bar and, when
 * cancellable is not NULL, a Cancel button that cancels it. */
void sl_window_begin_progress (SlWindow *self, const char *title, GCancellable *cancellable);
/* fraction < 0: unknown, the bar pulses. */
void sl_window_set_progress (SlWindow *self, double fraction, const char *detail);
/* Back to the welcome view (or the project, when one was opened meanwhile). */
void sl_window_end_progress (SlWindow *self);

/* What the window shows: "welcome", "progress" or "project". */
const char *sl_window_get_view (SlWindow *self);

G_END_DECLS
