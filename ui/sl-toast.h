/* sl-toast.h: a short message that slides in over the window's content and hides itself. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_TOAST (sl_toast_get_type ())
G_DECLARE_FINAL_TYPE (SlToast, sl_toast, SL, TOAST, GtkWidget)

/* Seconds a toast stays up unless closed. */
#define SL_TOAST_TIMEOUT_S 5

/* Shows title (bold) and an optional detail line, replacing what was shown;
 * hides after SL_TOAST_TIMEOUT_S seconds or when closed. */
void sl_toast_show (SlToast *self, const char *title, const char *detail);
void sl_toast_dismiss (SlToast *self);

/* The title shown now, or NULL when hidden. */
const char *sl_toast_get_title (SlToast *self);

G_END_DECLS
