/* sl-import-dialog.h: imports folders or files into the project on a worker thread, with progress, cancel and a summary. */
#pragma once

#include "sl-types.h"
#include "sl-session.h"

G_BEGIN_DECLS

typedef enum
{
  SL_IMPORT_STATE_PROBING, /* looking at what was chosen */
  SL_IMPORT_STATE_READY,   /* the options are shown */
  SL_IMPORT_STATE_RUNNING,
  SL_IMPORT_STATE_DONE, /* the summary is shown */
} SlImportState;

#define SL_TYPE_IMPORT_DIALOG (sl_import_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SlImportDialog, sl_import_dialog, SL, IMPORT_DIALOG, GtkWindow)

/* A dialog over parent's window for the given folders or files (GFile),
 * not yet shown. It looks at the sources in the background and then offers
 * "Use sub-folder names as class labels" (on when a folder has sub-folders). */
SlImportDialog *sl_import_dialog_new (GtkWidget *parent, SlSession *session, GFile **sources,
                                      guint n_sources);

SlImportState sl_import_dialog_get_state (SlImportDialog *self); /* "state" property */
gboolean sl_import_dialog_get_labels_from_folders (SlImportDialog *self);
void sl_import_dialog_set_labels_from_folders (SlImportDialog *self, gboolean labels);

/* Labels every imported image class_name (created if missing; NULL: labels come from
 * sub-folders, if chosen, as before), as an anomaly project's "Import good parts…" does.
 * Call before the sources have been looked at (right after _new). */
void sl_import_dialog_set_class (SlImportDialog *self, const char *class_name);
const char *sl_import_dialog_get_class (SlImportDialog *self);

/* What the Import and Cancel buttons do. */
void sl_import_dialog_start (SlImportDialog *self);
void sl_import_dialog_cancel (SlImportDialog *self);

/* After SL_IMPORT_STATE_DONE: what the import did, and its error (NULL when
 * it finished; G_IO_ERROR_CANCELLED after a cancel). */
const SlImportResult *sl_import_dialog_get_result (SlImportDialog *self);
const GError *sl_import_dialog_get_error (SlImportDialog *self);

G_END_DECLS
