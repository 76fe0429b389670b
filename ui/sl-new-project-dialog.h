/* sl-new-project-dialog.h: asks for a name, a task (classify or find anomalies) and a location, and creates the project there. */
#pragma once

#include "sl-anomaly.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_NEW_PROJECT_DIALOG (sl_new_project_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SlNewProjectDialog, sl_new_project_dialog, SL, NEW_PROJECT_DIALOG, GtkWindow)

/* A modal dialog over parent. When it has created a project it emits
 * "project-created" (const char *path) and closes. */
SlNewProjectDialog *sl_new_project_dialog_new (GtkWindow *parent);

/* The folder the project goes into (the default: Documents, else home). */
void sl_new_project_dialog_set_location (SlNewProjectDialog *self, GFile *folder);

/* The folder that Create would make, or NULL while the name or location is not usable. */
char *sl_new_project_dialog_dup_path (SlNewProjectDialog *self);

/* What the project will do: classify parts (the default) or find anomalies. */
SlProjectKind sl_new_project_dialog_get_kind (SlNewProjectDialog *self);
void sl_new_project_dialog_set_kind (SlNewProjectDialog *self, SlProjectKind kind);

G_END_DECLS
