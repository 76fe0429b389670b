/* sl-train-page-private.h: the Train page's instance, shared by its construction, curves and actions files. */
#pragma once

#include "sl-chart.h"
#include "sl-fit-settings.h"
#include "sl-fit-view.h"
#include "sl-run-list.h"
#include "sl-train-page.h"
#include "sl-train-settings.h"
#include "sl-runner.h"

G_BEGIN_DECLS

/* The curves of one run: step values while it trains live, epoch values from the store. */
enum
{
  CURVE_TRAIN_LOSS,
  CURVE_VAL_LOSS,
  CURVE_TRAIN_ACCURACY,
  CURVE_VAL_ACCURACY,
  CURVE_LEARNING_RATE,
  N_CURVES
};

struct _SlTrainPage
{
  GtkWidget parent_instance;

  SlSession *session;
  SlRunner *runner;
  SlTrainSettings *settings;
  SlRunList *run_list;

  GtkStack *sidebar_stack;
  GtkScrolledWindow *settings_scroller;
  GtkScrolledWindow *runs_scroller;
  GtkStack *action_stack;
  GtkStack *main_stack;
  GtkLabel *run_title;
  GtkLabel *run_status;
  GtkLabel *run_subtitle;
  GtkWidget *resume_button;
  GtkProgressBar *progress_bar;
  GtkInscription *epoch_value, *step_value, *speed_value, *eta_value, *elapsed_value;
  GtkInscription *device_value;
  SlChart *loss_chart, *accuracy_chart, *lr_chart;
  GtkStack *side_stack;
  GtkListBox *log_list;
  GtkScrolledWindow *log_scroller;
  GtkLabel *compare_title;
  GtkGrid *compare_grid;
  GtkWidget *stats_grid;
  GtkGrid *chart_grid;
  GtkWidget *start_button, *stop_button;
  GtkLabel *empty_detail;

  /* An anomaly project fits instead of training: its own recipe form, and the fit's phases
   * (and finally its threshold) where a classifier's curves go. */
  gboolean anomaly;
  SlFitSettings *fit_settings;
  SlFitView *fit_view;
  int fit_phase; /* the live fit's phase last logged, -1 before one */

  SlChartSeries *live[N_CURVES];   /* the run trained in this session */
  SlChartSeries *stored[N_CURVES]; /* the shown run, from its epoch metrics */
  SlChartSeries *compared[N_CURVES];
  gint64 live_run; /* -1 before a run was trained here */
  int live_epochs;
  char live_device[16]; /* "cpu", "cuda:0" */
  GPtrArray *live_log;  /* char *: the live run's events */
  gint64 shown_run, compare_run;
  /* The live run's feature pass (a frozen backbone's features, once per image): its size
   * (0: none seen), how far it got, and whether its end was logged. */
  gint64 features_total, features_done;
  double features_started; /* the runner's elapsed seconds at the pass's first report */
  double features_seconds; /* the pass's length, once it ended (the store has epochs only) */
  gboolean features_logged;
  guint tick_id;      /* one-second refresh of "elapsed" while training */
  gint64 bar_updated; /* when the progress bar last moved */
  guint dataset_idle; /* the settings' defaults follow the data set */
};

/* sl-train-page-curves.c */
void _sl_train_page_init_curves (SlTrainPage *self);
void _sl_train_page_clear_curves (SlTrainPage *self);
/* Puts the shown (and compared) run's curves into the charts. */
void _sl_train_page_attach_curves (SlTrainPage *self);
void _sl_train_page_load_stored (SlTrainPage *self, SlChartSeries **curves, gint64 run_id,
                                 gboolean dashed);
void _sl_train_page_add_steps (SlTrainPage *self, const SlRunnerStep *steps, guint n);

/* sl-train-page-history.c: the live run's log and step curves written to its folder (in the
 * background), and read back for a stored run: NULL / FALSE when it has none. */
void _sl_train_page_save_history (SlTrainPage *self);
char **_sl_train_page_load_history_log (SlTrainPage *self, gint64 run_id);
gboolean _sl_train_page_load_history_steps (SlTrainPage *self, gint64 run_id,
                                            SlChartSeries **curves);
void _sl_train_page_add_epoch (SlTrainPage *self, const SlTrainProgress *progress);

/* sl-train-page-fit.c: an anomaly project's Train page. */
void _sl_train_page_setup_fit (SlTrainPage *self);
void _sl_train_page_fit_started (SlTrainPage *self, const SlRunInfo *run);
/* A live fit's report: the phase view, the bar, the log at each new phase. */
void _sl_train_page_fit_progress (SlTrainPage *self, const SlTrainProgress *progress);
/* The shown run, stored: its phases done and its threshold, or why it stopped. */
void _sl_train_page_fit_show_stored (SlTrainPage *self, const SlRunInfo *run);
void _sl_train_page_fit_finished (SlTrainPage *self, const SlRunInfo *run, const GError *error);
/* The log of a fit made elsewhere (the command line, another session): what the store says. */
void _sl_train_page_fit_show_stored_log (SlTrainPage *self, const SlRunInfo *run);
/* sl-train-page.c: the shown run's header and statistics again (a setting changed). */
void _sl_train_page_refresh_shown (SlTrainPage *self);
/* The header's status words of a live fit. */
const char *_sl_train_page_fit_status (const SlTrainProgress *progress);

/* sl-train-page-actions.c */
void _sl_train_page_install_actions (GtkWidgetClass *widget_class);
void _sl_train_page_update_actions (SlTrainPage *self);
void _sl_train_page_log (SlTrainPage *self, const char *format, ...) G_GNUC_PRINTF (2, 3);
void _sl_train_page_show_log (SlTrainPage *self, char **lines);
void _sl_train_page_update_comparison (SlTrainPage *self);

G_END_DECLS
