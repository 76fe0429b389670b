/* sl-welcome-view.h: what a window shows without a project: new, open and the recent projects. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_WELCOME_VIEW (sl_welcome_view_get_type ())
G_DECLARE_FINAL_TYPE (SlWelcomeView, sl_welcome_view, SL, WELCOME_VIEW, GtkWidget)

/* The recent projects listed now, in order (NULL-terminated, owned by the view). */
const char *const *sl_welcome_view_get_listed (SlWelcomeView *self);

/* How many listed projects still have their name, image count and thumbnail to come. */
guint sl_welcome_view_get_pending (SlWelcomeView *self);

G_END_DECLS
