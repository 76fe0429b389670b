/* sl-fit-settings.h: an anomaly run's recipe on the Train page: backbone, input size, memory bank share, target false-reject rate. */
#pragma once

#include "sl-run.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_FIT_SETTINGS (sl_fit_settings_get_type ())
G_DECLARE_FINAL_TYPE (SlFitSettings, sl_fit_settings, SL, FIT_SETTINGS, GtkWidget)

/* The form for a new anomaly run of the session's project; it lists the installed backbones
 * on a worker and emits "changed" when that is done and whenever a setting changes. */
GtkWidget *sl_fit_settings_new (SlSession *session);

/* The run the form describes (config is initialised here; clear it with sl_run_config_clear):
 * an anomaly run with the chosen backbone, input size, coreset share and target. */
void sl_fit_settings_get_config (SlFitSettings *self, SlRunConfig *config);
/* FALSE, with a message a user can act on, when Start cannot fit (no backbone installed). */
gboolean sl_fit_settings_validate (SlFitSettings *self, char **message);
/* Takes the settings of a stored anomaly run ("Train Again With These Settings"). */
gboolean sl_fit_settings_load_config_json (SlFitSettings *self, const char *config_json);
void sl_fit_settings_reset (SlFitSettings *self);
/* While a fit runs the form cannot change. */
void sl_fit_settings_set_locked (SlFitSettings *self, gboolean locked);
/* The installed backbones are listed (the form is ready). */
gboolean sl_fit_settings_is_ready (SlFitSettings *self);

G_END_DECLS
