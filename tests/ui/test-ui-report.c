/* test-ui-report.c: "Report…" on the Export and Evaluate pages: quiet without a run, and the dialog's write path (what Write Report does after the native save dialog) writing a PDF with progress, then offering Open / Show in Folder. */
#include <string.h>

#include "sl-evaluate-page.h"
#include "sl-export-page.h"
#include "sl-report-dialog.h"
#include "sl-session.h"
#include "ui-test-util.h"

static char *tmp;
static SlProject *project;
static SlSession *session;

static gboolean
not_writing (gpointer dialog)
{
  return !sl_report_dialog_is_writing (dialog);
}

static GtkWidget *
report_button (GtkWidget *page)
{
  GtkWidget *button = ui_test_find_widget (page, GTK_TYPE_BUTTON, "_Report…");

  g_assert_nonnull (button);
  return button;
}

/* Before any run both pages show the button insensitive, saying why. */
static void
test_no_run (void)
{
  GtkWidget *export_page = sl_export_page_new (session);
  GtkWidget *evaluate_page = sl_evaluate_page_new (session);
  GtkWindow *w1 = ui_test_window_new (export_page, 1024, 700);
  GtkWindow *w2 = ui_test_window_new (evaluate_page, 1024, 700);

  ui_test_spin (200);
  g_assert_false (gtk_widget_get_sensitive (report_button (export_page)));
  g_assert_false (gtk_widget_get_sensitive (report_button (evaluate_page)));
  g_assert_nonnull (
      strstr (gtk_widget_get_tooltip_text (report_button (export_page)), "Train a model first"));
  gtk_window_destroy (w1);
  gtk_window_destroy (w2);
}

/* A run: the Evaluate page's button opens the dialog for it, proposing a name; writing it
 * gives a PDF, and the dialog offers to open it. */
static void
test_write (void)
{
  gint64 run_id = ui_test_train_run (project, 1);
  GtkWidget *page;
  GtkWindow *window;
  SlReportDialog *dialog;
  g_autofree char *pdf = g_build_filename (tmp, "line-3 report.pdf", NULL);
  g_autofree char *expected = g_strdup_printf ("-run-%" G_GINT64_FORMAT "-report.pdf", run_id);
  g_autofree char *data = NULL;
  gsize length;

  sl_session_notify_runs_changed (session);
  page = sl_evaluate_page_new (session);
  window = ui_test_window_new (page, 1024, 700);
  ui_test_spin (300);
  g_assert_true (gtk_widget_get_sensitive (report_button (page)));
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "report-evaluate-page"));
  g_signal_emit_by_name (report_button (page), "clicked");
  ui_test_spin (100);
  dialog = SL_REPORT_DIALOG (ui_test_find_toplevel (SL_TYPE_REPORT_DIALOG));
  g_assert_nonnull (dialog);
  g_assert_true (g_str_has_suffix (sl_report_dialog_get_path (dialog), expected));
  gtk_editable_set_text (sl_report_dialog_get_signer_entry (dialog), "A. Engineer");
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "report-dialog"));

  sl_report_dialog_write (dialog, pdf);
  g_assert_true (sl_report_dialog_is_writing (dialog));
  ui_test_spin (300);
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "report-dialog-writing"));
  g_assert_true (ui_test_wait_until (not_writing, dialog, 120000));
  g_assert_null (sl_report_dialog_get_error (dialog));
  g_assert_cmpint (sl_report_dialog_get_pages (dialog), >, 0);
  g_assert_true (g_file_get_contents (pdf, &data, &length, NULL));
  g_assert_cmpuint (length, >, 1000);
  g_assert_true (memcmp (data, "%PDF", 4) == 0);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "Written:"));
  g_assert_nonnull (ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, "_Open"));
  g_assert_true (gtk_widget_get_visible (
      ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, "Show in _Folder")));
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "report-dialog-done"));
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* The Export page has it too, for the same run. */
  {
    GtkWidget *export_page = sl_export_page_new (session);
    GtkWindow *w = ui_test_window_new (export_page, 1024, 700);

    ui_test_spin (300);
    g_assert_true (gtk_widget_get_sensitive (report_button (export_page)));
    g_free (ui_test_save_screenshot (GTK_WIDGET (w), "report-export-page"));
    gtk_window_destroy (w);
  }
  gtk_window_destroy (window);
}

/* Stop while writing: no report, and no half file beside it. */
static void
test_cancel (void)
{
  g_autofree char *pdf = g_build_filename (tmp, "stopped.pdf", NULL);
  g_autoptr (GPtrArray) runs = sl_session_dup_runs (session, NULL);
  SlRunInfo *run = g_ptr_array_index (runs, 0);
  SlReportDialog *dialog = sl_report_dialog_show (NULL, session, run->id, SL_SPLIT_TEST);
  g_autoptr (GDir) dir = NULL;
  const char *name;

  sl_report_dialog_write (dialog, pdf);
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "_Stop"));
  g_assert_true (ui_test_wait_until (not_writing, dialog, 60000));
  g_assert_cmpint (sl_report_dialog_get_pages (dialog), ==, 0);
  g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
  dir = g_dir_open (tmp, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, "stopped.pdf") && strcmp (name, "stopped.pdf") != 0);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "Stopped"));
  gtk_window_destroy (GTK_WINDOW (dialog));
}

int
main (int argc, char **argv)
{
  int status;

  ui_test_init (&argc, &argv);
  project = ui_test_fmnist_project (120, 3, &tmp);
  if (project == NULL)
    {
      g_print ("1..0 # SKIP no Fashion-MNIST data set\n");
      return 0;
    }
  session = sl_session_new_for_project (project);
  g_test_add_func ("/ui/report/no-run", test_no_run);
  g_test_add_func ("/ui/report/write", test_write);
  g_test_add_func ("/ui/report/cancel", test_cancel);
  status = g_test_run ();
  g_object_unref (session);
  sl_project_unref (project);
  return status;
}
