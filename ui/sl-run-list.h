/* sl-run-list.h: the Train page's run history: every run with its state, to show, compare, resume or delete. */
#pragma once

#include "sl-run.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_RUN_LIST (sl_run_list_get_type ())
G_DECLARE_FINAL_TYPE (SlRunList, sl_run_list, SL, RUN_LIST, GtkWidget)

/* Lists the session's runs, newest first, and follows "runs-changed".
 * Properties: "selected-run" (gint64, -1 none): the run shown;
 * "compare-run" (gint64, -1 none): a second run drawn beside it.
 * Row menus activate the page's actions with the row's run id:
 * training.resume-run, training.reuse-settings, training.delete-run (x). */
GtkWidget *sl_run_list_new (SlSession *session);
void sl_run_list_refresh (SlRunList *self);

gint64 sl_run_list_get_selected_run (SlRunList *self);
void sl_run_list_select_run (SlRunList *self, gint64 run_id);
gint64 sl_run_list_get_compare_run (SlRunList *self);
void sl_run_list_set_compare_run (SlRunList *self, gint64 run_id);
guint sl_run_list_get_n_runs (SlRunList *self);
/* The listed run (owned by the list), or NULL. */
const SlRunInfo *sl_run_list_lookup (SlRunList *self, gint64 run_id);

/* A run's state in words ("Stopped early") and the style class of its badge
 * ("success", "warning", "error" or "accent"). */
const char *sl_run_status_describe (SlRunStatus status);
const char *sl_run_status_style (SlRunStatus status);

/* Whether a run can continue from its last checkpoint. */
gboolean sl_run_info_is_resumable (const SlRunInfo *run);

G_END_DECLS
