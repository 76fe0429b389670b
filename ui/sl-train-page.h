/* sl-train-page.h: the Train page: settings, start/stop/resume, live curves, the run history. */
#pragma once

#include "sl-fit-view.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_TRAIN_PAGE (sl_train_page_get_type ())
G_DECLARE_FINAL_TYPE (SlTrainPage, sl_train_page, SL, TRAIN_PAGE, GtkWidget)

GtkWidget *sl_train_page_new (SlSession *session);

/* The run whose curves are shown (-1: none), and the one compared with it. */
gint64 sl_train_page_get_shown_run (SlTrainPage *self);
void sl_train_page_show_run (SlTrainPage *self, gint64 run_id);
void sl_train_page_compare_run (SlTrainPage *self, gint64 run_id);

/* The left column: "settings" (a new run) or "runs" (the history). */
void sl_train_page_show_sidebar (SlTrainPage *self, const char *name);

/* The parts, for tests and benchmarks. */
SlTrainSettings *sl_train_page_get_settings (SlTrainPage *self);
SlRunList *sl_train_page_get_run_list (SlTrainPage *self);
SlChart *sl_train_page_get_loss_chart (SlTrainPage *self);
/* An anomaly project's view of the fit (phases, then the threshold); NULL in a project that
 * classifies. */
SlFitView *sl_train_page_get_fit_view (SlTrainPage *self);
/* A curve of the shown run: "train-loss", "val-loss", "train-accuracy",
 * "val-accuracy" or "learning-rate". */
SlChartSeries *sl_train_page_get_series (SlTrainPage *self, const char *name);
/* The event log's lines, oldest first (free with g_strfreev). */
char **sl_train_page_dup_log (SlTrainPage *self);
/* The value shown under a statistic: "epoch", "step", "speed", "eta", "elapsed", "device". */
const char *sl_train_page_get_stat (SlTrainPage *self, const char *name);
/* The settings that differ between the shown and the compared run, as
 * "setting: a → b" lines (free with g_strfreev). */
char **sl_train_page_dup_comparison (SlTrainPage *self);

G_END_DECLS
