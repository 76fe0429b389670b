/* ui-test-util.h: the UI tests' harness: GTK set-up, Fashion-MNIST projects, main-loop waits, widget lookup, Train page recipes, screenshots. */
#pragma once

#include <gtk/gtk.h>

#include "sl-files.h"
#include "sl-project.h"
#include "sl-train-page.h"

G_BEGIN_DECLS

/* gtk_test_init (warnings are fatal), the application's style sheet and icons. */
void ui_test_init (int *argc, char ***argv);

/* A project in a new temporary folder with the first n Fashion-MNIST training
 * images of classes < n_classes imported (labels from folders) and split
 * 70/15/15. NULL after g_test_skip when the data set is missing. *tmp
 * receives the folder to remove with sl_remove_tree. */
SlProject *ui_test_fmnist_project (int n, int n_classes, char **tmp);
/* Writes n Fashion-MNIST PNGs as dir/<class>/<prefix>-NNNNN.png; -1 after a skip. */
/* Trains a small run (seed-cnn, batch 32, 2 threads, seed 1) for `epochs`
 * on the project's train and validation splits and returns its id. */
gint64 ui_test_train_run (SlProject *project, int epochs);
/* The Train page's settings (JSON, g_free) for a recipe small enough to train in a few
 * seconds on two cores: seed-cnn, batch 32, 2 threads, Adam 0.002, seed 7, `epochs`
 * epochs, no patience, the project's pipeline (as a stored run always names it). */
char *ui_test_tiny_config_json (SlProject *project, int epochs);
/* Loads that recipe into the page's settings, as "Train Again With These Settings" does. */
void ui_test_load_tiny_config (SlTrainPage *page, SlProject *project, int epochs);
/* Whether a line of the Train page's log contains text. */
gboolean ui_test_train_log_contains (SlTrainPage *page, const char *text);
int ui_test_write_fmnist_tree (const char *dir, int n, int n_classes, const char *prefix);
char *ui_test_make_tmp (void);

/* Runs the main loop until cond (data) is true or timeout_ms passed; returns cond's last value. */
typedef gboolean (*UiTestCondition) (gpointer data);
gboolean ui_test_wait_until (UiTestCondition cond, gpointer data, guint timeout_ms);
/* Runs the main loop for ms milliseconds (lets layout, idles and animations settle). */
void ui_test_spin (guint ms);
/* Presents a window and waits until it is mapped and laid out. */
void ui_test_show_window (GtkWindow *window);
/* A window of width x height (1280 x 800 when 0) holding child, shown. */
GtkWindow *ui_test_window_new (GtkWidget *child, int width, int height);

/* The first widget below root (depth first, root included) of the given type
 * (G_TYPE_NONE: any) whose label, title or text contains text (NULL: any). */
GtkWidget *ui_test_find_widget (GtkWidget *root, GType type, const char *text);
/* A GtkLabel below root showing text (a substring), visible up to root. */
GtkWidget *ui_test_find_label (GtkWidget *root, const char *text);

/* The control of the form row titled title (the title label's mnemonic widget) below root, or NULL. */
GtkWidget *ui_test_find_control (GtkWidget *root, const char *title);
/* Selects the item showing text in a GtkDropDown over a GtkStringList; g_error naming the
 * row title when it has no such item. */
void ui_test_choose_item (GtkWidget *drop_down, const char *title, const char *text);

/* The newest toplevel window of a type (a dialog), or NULL. */
GtkWindow *ui_test_find_toplevel (GType type);
/* Destroys every toplevel window and lets the main loop settle. */
void ui_test_close_all_windows (void);
/* The newest toplevel window showing a label that contains text (a dialog),
 * or NULL. */
GtkWindow *ui_test_find_dialog (const char *text);
/* Clicks the button below root whose label contains text; FALSE when none. */
gboolean ui_test_click_button (GtkWidget *root, const char *text);

/* Renders widget (a window renders with its header bar) and writes
 * $MESON_BUILD_ROOT/screenshots/<name>.png; returns the path (g_free). */
char *ui_test_save_screenshot (GtkWidget *widget, const char *name);

G_END_DECLS
