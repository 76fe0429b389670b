/* test-projects-report.c: the line qualification report: its text (pdftotext) against the stored evaluation, pages, footers, the CLI's errors. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-anomaly.h"
#include "sl-report.h"
#include "sl-test-anomaly-data.h"
#include "sl-train-job.h"

/* The text of a PDF, pages separated by form feeds; NULL after g_test_skip without poppler. */
static char *
pdf_text (const char *pdf)
{
  g_autofree char *tool = g_find_program_in_path ("pdftotext");
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  int status;
  const char *argv[] = { "pdftotext", "-layout", pdf, "-", NULL };

  if (tool == NULL)
    {
      g_test_skip ("pdftotext (poppler-utils) is not installed");
      return NULL;
    }
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  return out;
}

/* Renders every page to PNG (into $SL_REPORT_PNG_DIR when set, to look at) and counts them. */
static void
check_png_pages (const char *pdf, const char *tmp, const char *stem, int pages)
{
  const char *keep = g_getenv ("SL_REPORT_PNG_DIR");
  g_autofree char *prefix = g_build_filename (keep != NULL ? keep : tmp, stem, NULL);
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "pdftoppm", "-r", "60", "-png", pdf, prefix, NULL };
  g_autoptr (GDir) dir = NULL;
  const char *name;
  int status, found = 0;

  if (g_find_program_in_path ("pdftoppm") == NULL)
    return;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_cmpint (status, ==, 0);
  dir = g_dir_open (keep != NULL ? keep : tmp, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, stem) && g_str_has_suffix (name, ".png"))
      found++;
  g_assert_cmpint (found, ==, pages);
}

/* Every page carries the footer: the model's SHA-256 and "Page N of M". */
static void
check_pages (const char *text, int pages, const char *sha)
{
  g_auto (GStrv) page = g_strsplit (text, "\f", -1);
  int n = 0;

  for (int i = 0; page[i] != NULL; i++)
    {
      g_autofree char *footer = g_strdup_printf ("Page %d of %d", i + 1, pages);
      g_autofree char *hash = g_strdup_printf ("Model SHA-256 %s", sha);

      if (page[i][0] == '\0')
        continue; /* after the last form feed */
      n++;
      g_assert_nonnull (strstr (page[i], footer));
      g_assert_nonnull (strstr (page[i], hash));
    }
  g_assert_cmpint (n, ==, pages);
  g_assert_cmpint (pages, >=, 3);
}

/* A line of `text` holding every one of `parts` in order. */
static gboolean
line_has (const char *text, const char *const *parts, int n)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (int i = 0; lines[i] != NULL; i++)
    {
      const char *at = lines[i];
      int k = 0;

      for (; k < n && (at = strstr (at, parts[k])) != NULL; k++)
        at += strlen (parts[k]);
      if (k == n)
        return TRUE;
    }
  return FALSE;
}

/* Each confusion row's counts, in order, separated by white space only. */
static gboolean
confusion_row_in (const char *text, const gint64 *row, int n)
{
  g_autoptr (GString) pattern = g_string_new ("(^|\\s)");

  for (int p = 0; p < n; p++)
    g_string_append_printf (pattern, "%s%" G_GINT64_FORMAT, p > 0 ? "\\s+" : "", row[p]);
  g_string_append (pattern, "(\\s|$)");
  return g_regex_match_simple (pattern->str, text, G_REGEX_MULTILINE, 0);
}

static char *
sha256_of (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, len);
}

static void
progress_seen (double fraction, const char *what, gpointer user_data)
{
  double *last = user_data;

  g_assert_cmpfloat (fraction, >=, *last);
  *last = fraction;
}

static void
test_classifier_report (void)
{
  g_autofree char *tmp = NULL, *pdf = NULL, *pdf2 = NULL, *text = NULL, *text2 = NULL;
  g_autofree char *export_dir = NULL, *file_sha = NULL, *accuracy = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (300, 4, &tmp);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  SlReportOptions options;
  SlReportResult result, result2;
  SlExportOptions eo;
  SlExportResult er;
  SlRunConfig config;
  double last = 0;
  gint64 run_id, eval_id;

  if (project == NULL)
    return;
  sl_run_config_init (&config);
  config.epochs = 2;
  config.threads = 2;
  config.patience = 0;
  run_id = pt_run_job (project, &config);
  g_assert_true (sl_project_set_reject_threshold (project, 0.6, &error));

  /* No stored evaluation: the report evaluates the test split first and says so. */
  g_assert_cmpint (sl_project_find_evaluation (project, run_id, SL_SPLIT_TEST, NULL), <, 0);
  pdf = g_build_filename (tmp, "report.pdf", NULL);
  sl_report_options_init (&options);
  options.signer = "Ada Quality";
  options.speed_seconds = 0.4;
  options.threads = 2;
  options.progress = progress_seen;
  options.progress_data = &last;
  g_assert_true (sl_project_write_report (project, run_id, &options, pdf, &result, &error));
  g_assert_no_error (error);
  g_assert_true (result.evaluated);
  g_assert_cmpfloat (last, ==, 1.0);
  g_assert_cmpuint (strlen (result.model_sha256), ==, 64);
  g_assert_cmpfloat (result.latency_ms, >, 0);
  g_assert_cmpfloat (result.images_per_s, >, 0);
  eval_id = sl_project_find_evaluation (project, run_id, SL_SPLIT_TEST, NULL);
  g_assert_cmpint (eval_id, ==, result.evaluation_id);
  e = sl_project_get_evaluation (project, eval_id, 8, &error);
  g_assert_no_error (error);

  if ((text = pdf_text (pdf)) == NULL)
    goto out;
  check_pages (text, result.pages, result.model_sha256);
  check_png_pages (pdf, tmp, "classifier", result.pages);
  g_assert_nonnull (strstr (text, "No stored evaluation"));
  g_assert_nonnull (strstr (text, "Ada Quality"));
  accuracy = g_strdup_printf ("%.2f %%", 100 * e->accuracy);
  g_assert_nonnull (strstr (text, accuracy));
  for (int c = 0; c < e->classes; c++)
    {
      g_autofree char *p = g_strdup_printf ("%.3f", e->precision[c]);
      g_autofree char *r = g_strdup_printf ("%.3f", e->recall[c]);
      g_autofree char *f = g_strdup_printf ("%.3f", e->f1[c]);
      g_autofree char *support = g_strdup_printf ("%" G_GINT64_FORMAT, e->support[c]);
      const char *row[] = { g_ptr_array_index (e->class_names, c), support, p, r, f };

      g_assert_true (line_has (text, row, 5));
      g_assert_true (confusion_row_in (text, e->confusion + c * e->classes, e->classes));
    }
  g_assert_nonnull (strstr (text, "Reject threshold"));
  g_assert_nonnull (strstr (text, "0.60"));

  /* With the file that goes on the line: its SHA-256 and size, and the stored evaluation. */
  export_dir = g_build_filename (tmp, "export", NULL);
  sl_export_options_init (&eo);
  eo.reject_threshold = 0.6;
  g_assert_true (sl_project_export_run (project, run_id, export_dir, &eo, &er, &error));
  g_assert_no_error (error);
  file_sha = sha256_of (er.slmodel_path);
  options.model_path = er.slmodel_path;
  pdf2 = g_build_filename (tmp, "report2.pdf", NULL);
  last = 0;
  g_assert_true (sl_project_write_report (project, run_id, &options, pdf2, &result2, &error));
  g_assert_no_error (error);
  g_assert_false (result2.evaluated);
  g_assert_cmpstr (result2.model_sha256, ==, file_sha);
  g_assert_cmpint (result2.model_bytes, ==, er.slmodel_bytes);
  text2 = pdf_text (pdf2);
  check_pages (text2, result2.pages, file_sha);
  g_assert_nonnull (strstr (text2, accuracy));
  {
    g_autofree char *bytes = g_strdup_printf ("(%" G_GINT64_FORMAT " bytes)", er.slmodel_bytes);
    g_assert_nonnull (strstr (text2, bytes));
  }
  sl_export_result_clear (&er);
  sl_report_result_clear (&result2);

  /* The validation split, and a run that is not this file's run. */
  {
    g_autofree char *pdf3 = g_build_filename (tmp, "val.pdf", NULL);
    SlReportResult r3;

    options.split = SL_SPLIT_VAL;
    last = 0;
    options.model_path = NULL;
    g_assert_true (sl_project_write_report (project, run_id, &options, pdf3, &r3, &error));
    g_assert_no_error (error);
    g_assert_true (r3.evaluated);
    sl_report_result_clear (&r3);
  }

  /* Cancelled: an error, and nothing written. */
  {
    g_autofree char *pdf4 = g_build_filename (tmp, "cancelled.pdf", NULL);
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    SlReportResult r4;

    g_cancellable_cancel (cancellable);
    options.split = SL_SPLIT_TEST;
    options.cancellable = cancellable;
    options.progress = NULL;
    g_assert_false (sl_project_write_report (project, run_id, &options, pdf4, &r4, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_assert_false (g_file_test (pdf4, G_FILE_TEST_EXISTS));
  }
out:
  sl_report_result_clear (&result);
  sl_remove_tree (tmp);
}

/* The CLI: a report through `sightline-cli report`, and clear errors. */
static void
test_cli (void)
{
  g_autofree char *tmp = NULL, *pdf = NULL, *out = NULL, *err = NULL, *proj = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (120, 2, &tmp);
  g_autoptr (GError) error = NULL;
  g_autofree char *cli = g_strdup (pt_cli_path ());
  int status;

  if (project == NULL)
    return;
  if (cli == NULL)
    {
      g_test_skip ("sightline-cli is not built");
      sl_remove_tree (tmp);
      return;
    }
  proj = g_strdup (sl_project_get_path (project));
  pdf = g_build_filename (tmp, "r.pdf", NULL);
  {
    /* No run yet. */
    const char *argv[] = { cli, "report", proj, "-o", pdf, NULL };
    g_assert_true (
        g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "No run to report on"));
    g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    SlRunConfig config;
    sl_run_config_init (&config);
    config.epochs = 1;
    config.threads = 2;
    pt_run_job (project, &config);
  }
  {
    /* An output folder that does not exist. */
    g_autofree char *bad = g_build_filename (tmp, "missing", "r.pdf", NULL);
    const char *argv[] = { cli, "report", proj, "-o", bad, NULL };
    g_assert_true (
        g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "does not exist"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    /* A model file that is not this run's. */
    g_autofree char *junk = g_build_filename (tmp, "junk.slmodel", NULL);
    const char *argv[] = { cli, "report", proj, "--model", junk, "-o", pdf, NULL };
    g_assert_true (g_file_set_contents (junk, "not a model", -1, NULL));
    g_assert_true (
        g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "junk.slmodel"));
    g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *argv[] = { cli, "report", proj, "--signer", "B. Inspector", "-o", pdf, NULL };
    g_assert_true (
        g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error));
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("report failed: %s", err);
    if (strstr (out, "evaluated it first") == NULL)
      g_error ("unexpected output: %s", out);
    g_assert_nonnull (strstr (out, "Wrote"));
    g_assert_true (g_file_test (pdf, G_FILE_TEST_IS_REGULAR));
  }
  sl_remove_tree (tmp);
}

static void
test_anomaly_report (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *images = g_build_filename (tmp, "images", NULL);
  g_autofree char *backbones = g_build_filename (tmp, "backbones", NULL);
  g_autofree char *path = g_build_filename (tmp, "p", NULL);
  g_autofree char *good = g_build_filename (images, "good", NULL);
  g_autofree char *defect = g_build_filename (images, "defect", NULL);
  g_autofree char *pdf = g_build_filename (tmp, "anomaly.pdf", NULL);
  g_autofree char *text = NULL, *auroc = NULL, *threshold = NULL;
  g_autoptr (SlProject) project = NULL;
  g_autoptr (SlAnomalyEvaluation) a = NULL;
  g_autoptr (GError) error = NULL;
  SlReportOptions options;
  SlReportResult result;
  SlSplitConfig sc;
  SlRunConfig config;
  gint64 run_id, eval_id;

  pt_install_test_backbone (backbones);
  g_assert_cmpint (sl_test_write_anomaly_images (images, 30, 12, 128, 21), ==, 0);
  project = sl_project_create_kind (path, "surface", SL_PROJECT_KIND_ANOMALY, &error);
  g_assert_no_error (error);
  pt_import_as (project, good, "good", NULL);
  pt_import_as (project, defect, "defect", NULL);
  sl_split_config_init (&sc);
  g_assert_true (sl_project_split (project, &sc, NULL, &error));
  sl_run_config_init (&config);
  config.anomaly = TRUE;
  config.backbone = g_strdup ("lite0");
  config.input_size = 128;
  config.threads = 2;
  run_id = pt_run_job (project, &config);
  eval_id = sl_project_evaluate (project, run_id, SL_SPLIT_TEST, SL_CHECKPOINT_BEST, 1, 2, NULL,
                                 NULL, NULL, &error);
  g_assert_no_error (error);
  a = sl_project_get_anomaly_evaluation (project, eval_id, &error);
  g_assert_no_error (error);

  sl_report_options_init (&options);
  options.speed_seconds = 0.4;
  options.threads = 2;
  g_assert_true (sl_project_write_report (project, run_id, &options, pdf, &result, &error));
  g_assert_no_error (error);
  g_assert_false (result.evaluated);
  g_assert_cmpint (result.evaluation_id, ==, eval_id);
  if ((text = pdf_text (pdf)) != NULL)
    {
      check_pages (text, result.pages, result.model_sha256);
      check_png_pages (pdf, tmp, "anomaly", result.pages);
      auroc = g_strdup_printf ("%.4f", a->auroc);
      threshold = g_strdup_printf ("%.4f", a->threshold);
      g_assert_nonnull (strstr (text, "AUROC"));
      g_assert_nonnull (strstr (text, auroc));
      g_assert_nonnull (strstr (text, threshold));
      {
        g_autofree char *fr
            = g_strdup_printf ("(%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " good images)",
                               a->false_rejects, a->good);
        g_autofree char *es
            = g_strdup_printf ("(%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " defects passed)",
                               a->escapes, a->defects);
        g_assert_nonnull (strstr (text, fr));
        g_assert_nonnull (strstr (text, es));
      }
    }
  sl_report_result_clear (&result);
  sl_remove_tree (tmp);
}

/* A run that has not finished is refused, and nothing is written. */
static void
test_unfinished_run (void)
{
  g_autofree char *tmp = NULL, *pdf = NULL;
  g_autoptr (SlProject) project = pt_fmnist_project (60, 2, &tmp);
  g_autoptr (GError) error = NULL;
  SlReportResult result;

  if (project == NULL)
    return;
  pdf = g_build_filename (tmp, "r.pdf", NULL);
  g_assert_false (sl_project_write_report (project, 42, NULL, pdf, &result, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/report/classifier", test_classifier_report);
  g_test_add_func ("/projects/report/anomaly", test_anomaly_report);
  g_test_add_func ("/projects/report/cli", test_cli);
  g_test_add_func ("/projects/report/no-run", test_unfinished_run);
  return g_test_run ();
}
