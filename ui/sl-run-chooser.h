/* sl-run-chooser.h: a drop-down of the project's trained runs, for the Evaluate and Export pages. */
#pragma once

#include "sl-run.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_RUN_CHOOSER (sl_run_chooser_get_type ())
G_DECLARE_FINAL_TYPE (SlRunChooser, sl_run_chooser, SL, RUN_CHOOSER, GtkWidget)

/* Lists the session's runs that have a checkpoint, newest first, and follows
 * "runs-changed". The "run-id" property (gint64) is the chosen run, -1 when
 * there is none; it keeps its run across refreshes while that run exists and
 * moves to the newest run otherwise. */
GtkWidget *sl_run_chooser_new (SlSession *session);
gint64 sl_run_chooser_get_run_id (SlRunChooser *self);
/* FALSE when the run is not in the list. */
gboolean sl_run_chooser_set_run_id (SlRunChooser *self, gint64 run_id);
guint sl_run_chooser_get_n_runs (SlRunChooser *self);
/* Re-reads the runs (done on "runs-changed"). */
void sl_run_chooser_refresh (SlRunChooser *self);
/* "run-3 · small-bn · 91.2 % · finished" */
char *sl_run_chooser_describe_run (const SlRunInfo *run);

G_END_DECLS
