/* sl-report.c: writing the line qualification report: gather once, lay out twice (to count the pages), write atomically. */
#include "sl-report-private.h"

#include <cairo-pdf.h>
#include <string.h>

#include "sl-files.h"

void
sl_report_options_init (SlReportOptions *options)
{
  memset (options, 0, sizeof *options);
  options->split = SL_SPLIT_TEST;
}

void
sl_report_result_clear (SlReportResult *result)
{
  g_clear_pointer (&result->model_sha256, g_free);
  g_clear_pointer (&result->model_path, g_free);
  memset (result, 0, sizeof *result);
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  if (closure != NULL)
    g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Lays the report out on a PDF surface writing into `out` (NULL: nowhere); returns the
 * number of pages, or 0 when cairo failed. */
static int
render (const SlReportData *d, int pages, GByteArray *out, char **why)
{
  cairo_surface_t *surface
      = cairo_pdf_surface_create_for_stream (append_bytes, out, SL_REPORT_PAGE_W, SL_REPORT_PAGE_H);
  cairo_t *cr = cairo_create (surface);
  g_autofree char *header = g_strdup_printf ("%s · %s", d->project_name, d->run->name);
  g_autofree char *title
      = g_strdup_printf ("Line qualification report: %s, %s", d->project_name, d->run->name);
  cairo_status_t status;
  SlReportDoc doc;

  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Sightline");
  _sl_report_doc_init (&doc, cr, pages, d->model_sha256, header);
  _sl_report_render (&doc, d);
  _sl_report_doc_finish (&doc);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      *why = g_strdup (cairo_status_to_string (status));
      return 0;
    }
  return doc.page;
}

gboolean
sl_project_write_report (SlProject *project, gint64 run_id, const SlReportOptions *options,
                         const char *pdf_path, SlReportResult *result, GError **error)
{
  g_autoptr (GByteArray) pdf = NULL;
  g_autofree char *why = NULL;
  SlReportOptions defaults;
  SlReportData d;
  int pages;

  g_return_val_if_fail (project != NULL && pdf_path != NULL, FALSE);
  memset (result, 0, sizeof *result);
  if (options == NULL)
    {
      sl_report_options_init (&defaults);
      options = &defaults;
    }
  if (options->split != SL_SPLIT_TEST && options->split != SL_SPLIT_VAL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "A report shows the test or the validation split, not %s",
                   sl_split_to_string (options->split));
      return FALSE;
    }
  if (!_sl_report_data_gather (project, run_id, options, &d, error))
    {
      _sl_report_data_clear (&d);
      return FALSE;
    }
  if (options->progress != NULL)
    options->progress (0.9, "Laying out the pages", options->progress_data);
  /* The first pass only counts the pages, for "page N of M" in the second. */
  pages = render (&d, 0, NULL, &why);
  if (pages > 0)
    {
      pdf = g_byte_array_new ();
      pages = render (&d, pages, pdf, &why);
    }
  if (pages == 0)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME,
                   "Could not lay out the report: %s", why);
      _sl_report_data_clear (&d);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (options->cancellable, error)
      || !sl_file_replace_contents (pdf_path, (const char *) pdf->data, pdf->len, error))
    {
      _sl_report_data_clear (&d);
      return FALSE;
    }
  result->pages = pages;
  result->evaluated = d.evaluated;
  result->evaluation_id = d.eval != NULL ? d.eval->id : d.anomaly->id;
  result->model_sha256 = g_steal_pointer (&d.model_sha256);
  result->model_path = g_steal_pointer (&d.model_path);
  result->model_bytes = d.model_bytes;
  result->latency_ms = d.latency_ms;
  result->images_per_s = d.images_per_s;
  if (options->progress != NULL)
    options->progress (1.0, "Done", options->progress_data);
  _sl_report_data_clear (&d);
  return TRUE;
}
