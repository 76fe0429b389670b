/* sl-fit-view.h: the Train page's view of an anomaly run: its three phases, Cancel, and the threshold it set. */
#pragma once

#include "sl-train-job.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_FIT_VIEW (sl_fit_view_get_type ())
G_DECLARE_FINAL_TYPE (SlFitView, sl_fit_view, SL, FIT_VIEW, GtkWidget)

typedef enum
{
  SL_FIT_PHASE_FEATURES,  /* the features of the good training images */
  SL_FIT_PHASE_BANK,      /* choosing the memory bank (greedy coreset) */
  SL_FIT_PHASE_THRESHOLD, /* scoring the images that set the threshold */
  SL_FIT_N_PHASES
} SlFitPhase;

GtkWidget *sl_fit_view_new (void);

/* The phase a fit's progress report is in, and how far it got there (0 .. 1). */
SlFitPhase sl_fit_phase_of (const SlTrainProgress *progress, double *fraction);

/* Before the first report of a fit that is starting (every phase waits). */
void sl_fit_view_reset (SlFitView *self);
/* A fit's report: its phase runs, the ones before are done. */
void sl_fit_view_set_progress (SlFitView *self, const SlTrainProgress *progress);
/* A finished fit: every phase done and its threshold with what it promises. statement may be
 * NULL (the run has no stored evaluation). */
void sl_fit_view_show_result (SlFitView *self, double threshold, const char *statement);
/* A fit that did not finish: why (cancelled, failed), phases left as they were. */
void sl_fit_view_show_stopped (SlFitView *self, const char *message);
/* What a phase did, in words ("20 good images"), after show_result. */
void sl_fit_view_set_phase_detail (SlFitView *self, SlFitPhase phase, const char *text);
/* While a fit runs Cancel shows; the action it activates is "training.stop". */
void sl_fit_view_set_running (SlFitView *self, gboolean running);

/* What the view shows, for tests: the phase titles and details, and the result lines. */
const char *sl_fit_view_get_phase_detail (SlFitView *self, SlFitPhase phase);
const char *sl_fit_view_get_result_text (SlFitView *self);

G_END_DECLS
