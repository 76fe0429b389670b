/* sl-report-dialog.h: the "Report…" dialog of the Evaluate and Export pages: where to save a run's qualification report, who signs it, then writing it on a worker with progress and Cancel. */
#pragma once

#include "sl-run-chooser.h"
#include "sl-session.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_REPORT_DIALOG (sl_report_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SlReportDialog, sl_report_dialog, SL, REPORT_DIALOG, GtkWindow)

/* A modal dialog over parent's window for run_id's report on `split` (SL_SPLIT_TEST or VAL),
 * proposing <project>-run-N-report.pdf in the export folder (else Documents); shown. */
SlReportDialog *sl_report_dialog_show (GtkWidget *parent, SlSession *session, gint64 run_id,
                                       SlSplit split);

/* The path it will write (the proposal, or what Choose… picked). */
const char *sl_report_dialog_get_path (SlReportDialog *self);
/* What Write Report does (tests call it without the native chooser): writes to path, with
 * the signer entry's name, on a worker thread. */
void sl_report_dialog_write (SlReportDialog *self, const char *path);
gboolean sl_report_dialog_is_writing (SlReportDialog *self);
/* After writing: the pages written (0 while none), or the error shown (NULL). */
int sl_report_dialog_get_pages (SlReportDialog *self);
const char *sl_report_dialog_get_error (SlReportDialog *self);
GtkEditable *sl_report_dialog_get_signer_entry (SlReportDialog *self);

/* "Report…" for a page with a run chooser: insensitive (saying why) without a run; opens
 * the dialog for the chosen run, on the split the drop-down shows (NULL: the test split;
 * items "Test", "Validation"). */
GtkWidget *sl_report_button_new (SlSession *session, SlRunChooser *runs, GtkDropDown *split);

G_END_DECLS
