/* sl-report-layout.c: the report's typesetting: pages with header and footer, a type scale, paragraphs, ruled tables. */
#include "sl-report-private.h"

#include <string.h>

#define SANS "DejaVu Sans"
#define MONO "DejaVu Sans Mono"

void
_sl_report_ink (cairo_t *cr)
{
  cairo_set_source_rgb (cr, 0.11, 0.12, 0.14);
}

void
_sl_report_accent (cairo_t *cr)
{
  cairo_set_source_rgb (cr, 0.05, 0.33, 0.60);
}

void
_sl_report_rule_colour (cairo_t *cr)
{
  cairo_set_source_rgb (cr, 0.72, 0.74, 0.77);
}

static const char *
style_font (SlReportStyle style)
{
  switch (style)
    {
      case SL_REPORT_TITLE: return SANS " Bold 20";
      case SL_REPORT_H1: return SANS " Bold 14";
      case SL_REPORT_H2: return SANS " Bold 10.5";
      case SL_REPORT_BODY: return SANS " 9.5";
      case SL_REPORT_SMALL: return SANS " 8";
      case SL_REPORT_MONO: return MONO " 8.5";
      case SL_REPORT_FOOTER:
      default: return SANS " 7.5";
    }
}

PangoLayout *
_sl_report_layout (SlReportDoc *doc, SlReportStyle style, const char *text, gboolean markup,
                   double width)
{
  PangoLayout *layout = pango_cairo_create_layout (doc->cr);
  PangoFontDescription *font = pango_font_description_from_string (style_font (style));
  PangoContext *context = pango_layout_get_context (layout);
  cairo_font_options_t *fo = cairo_font_options_create ();

  /* Metrics independent of any screen: the same line breaks in both passes and every viewer. */
  cairo_font_options_set_hint_metrics (fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (fo, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (context, fo);
  /* One cairo unit is one point on a PDF page: sizes are points (the default 96 dpi would
   * print every size a third larger). */
  pango_cairo_context_set_resolution (context, 72);
  cairo_font_options_destroy (fo);
  pango_layout_context_changed (layout);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  if (width > 0)
    {
      pango_layout_set_width (layout, (int) (width * PANGO_SCALE));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    }
  if (style == SL_REPORT_BODY || style == SL_REPORT_SMALL)
    pango_layout_set_spacing (layout, (int) (1.5 * PANGO_SCALE));
  if (markup)
    pango_layout_set_markup (layout, text, -1);
  else
    pango_layout_set_text (layout, text, -1);
  return layout;
}

double
_sl_report_text_at (SlReportDoc *doc, double x, double y, double width, SlReportStyle style,
                    SlReportAlign align, const char *text, gboolean markup)
{
  g_autoptr (PangoLayout) layout = _sl_report_layout (doc, style, text, markup, width);
  int w, h;

  pango_layout_set_alignment (layout, align == SL_ALIGN_RIGHT    ? PANGO_ALIGN_RIGHT
                                      : align == SL_ALIGN_CENTER ? PANGO_ALIGN_CENTER
                                                                 : PANGO_ALIGN_LEFT);
  pango_layout_get_size (layout, &w, &h);
  cairo_move_to (doc->cr, x, y);
  pango_cairo_show_layout (doc->cr, layout);
  return (double) h / PANGO_SCALE;
}

static void
draw_header_footer (SlReportDoc *doc)
{
  cairo_t *cr = doc->cr;
  double fy = SL_REPORT_PAGE_H - SL_REPORT_MARGIN_B + 22;
  g_autofree char *page = doc->pages > 0 ? g_strdup_printf ("Page %d of %d", doc->page, doc->pages)
                                         : g_strdup_printf ("Page %d of %d", doc->page, 99);
  g_autofree char *left = g_strdup_printf ("Model SHA-256 %s", doc->footer_left);

  cairo_save (cr);
  _sl_report_rule_colour (cr);
  cairo_set_line_width (cr, 0.5);
  cairo_move_to (cr, SL_REPORT_MARGIN_X, fy - 5);
  cairo_line_to (cr, SL_REPORT_PAGE_W - SL_REPORT_MARGIN_X, fy - 5);
  cairo_stroke (cr);
  cairo_set_source_rgb (cr, 0.35, 0.37, 0.40);
  _sl_report_text_at (doc, SL_REPORT_MARGIN_X, fy, -1, SL_REPORT_FOOTER, SL_ALIGN_LEFT, left,
                      FALSE);
  _sl_report_text_at (doc, SL_REPORT_MARGIN_X, fy, SL_REPORT_TEXT_W, SL_REPORT_FOOTER,
                      SL_ALIGN_RIGHT, page, FALSE);
  if (doc->page > 1 && doc->header_right != NULL)
    {
      _sl_report_text_at (doc, SL_REPORT_MARGIN_X, 30, SL_REPORT_TEXT_W, SL_REPORT_FOOTER,
                          SL_ALIGN_LEFT, "Sightline · Line qualification report", FALSE);
      _sl_report_text_at (doc, SL_REPORT_MARGIN_X, 30, SL_REPORT_TEXT_W, SL_REPORT_FOOTER,
                          SL_ALIGN_RIGHT, doc->header_right, FALSE);
      _sl_report_rule_colour (cr);
      cairo_move_to (cr, SL_REPORT_MARGIN_X, 43);
      cairo_line_to (cr, SL_REPORT_PAGE_W - SL_REPORT_MARGIN_X, 43);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
}

void
_sl_report_doc_init (SlReportDoc *doc, cairo_t *cr, int pages, const char *footer_left,
                     const char *header_right)
{
  memset (doc, 0, sizeof *doc);
  doc->cr = cr;
  doc->pages = pages;
  doc->page = 1;
  doc->y = SL_REPORT_MARGIN_T;
  doc->footer_left = footer_left;
  doc->header_right = header_right;
  _sl_report_ink (cr);
}

void
_sl_report_new_page (SlReportDoc *doc)
{
  draw_header_footer (doc);
  cairo_show_page (doc->cr);
  doc->page++;
  doc->y = SL_REPORT_MARGIN_T;
  _sl_report_ink (doc->cr);
}

void
_sl_report_doc_finish (SlReportDoc *doc)
{
  g_clear_pointer (&doc->pending, g_free);
  draw_header_footer (doc);
  cairo_show_page (doc->cr);
}

double
_sl_report_space_left (const SlReportDoc *doc)
{
  return SL_REPORT_PAGE_H - SL_REPORT_MARGIN_B - doc->y;
}

static void draw_pending (SlReportDoc *doc);

static double
pending_height (const SlReportDoc *doc)
{
  if (doc->pending == NULL)
    return 0;
  return doc->pending_is_section ? 44 : 24;
}

void
_sl_report_need (SlReportDoc *doc, double height)
{
  if (_sl_report_space_left (doc) < height + pending_height (doc)
      && doc->y > SL_REPORT_MARGIN_T + 1)
    _sl_report_new_page (doc);
  draw_pending (doc);
}

void
_sl_report_gap (SlReportDoc *doc, double points)
{
  doc->y += points;
}

void
_sl_report_paragraph (SlReportDoc *doc, SlReportStyle style, const char *markup)
{
  g_autoptr (PangoLayout) layout = _sl_report_layout (doc, style, markup, TRUE, SL_REPORT_TEXT_W);
  int w, h;

  pango_layout_get_size (layout, &w, &h);
  _sl_report_need (doc, (double) h / PANGO_SCALE);
  cairo_move_to (doc->cr, SL_REPORT_MARGIN_X, doc->y);
  pango_cairo_show_layout (doc->cr, layout);
  doc->y += (double) h / PANGO_SCALE + 5;
}

void
_sl_report_section (SlReportDoc *doc, const char *title)
{
  doc->section++;
  g_free (doc->pending);
  doc->pending = g_strdup_printf ("%d  %s", doc->section, title);
  doc->pending_is_section = TRUE;
}

void
_sl_report_subsection (SlReportDoc *doc, const char *title)
{
  if (doc->pending != NULL) /* a section's first subsection: draw the section first */
    _sl_report_need (doc, 60);
  doc->pending = g_strdup (title);
  doc->pending_is_section = FALSE;
}

static void
draw_pending (SlReportDoc *doc)
{
  g_autofree char *text = g_steal_pointer (&doc->pending);

  if (text == NULL)
    return;
  if (!doc->pending_is_section)
    {
      doc->y += 4;
      doc->y += _sl_report_text_at (doc, SL_REPORT_MARGIN_X, doc->y, SL_REPORT_TEXT_W, SL_REPORT_H2,
                                    SL_ALIGN_LEFT, text, FALSE);
      doc->y += 5;
      return;
    }
  if (doc->y > SL_REPORT_MARGIN_T + 1)
    doc->y += 10;
  cairo_save (doc->cr);
  _sl_report_accent (doc->cr);
  doc->y += _sl_report_text_at (doc, SL_REPORT_MARGIN_X, doc->y, SL_REPORT_TEXT_W, SL_REPORT_H1,
                                SL_ALIGN_LEFT, text, FALSE);
  cairo_set_line_width (doc->cr, 1.0);
  cairo_move_to (doc->cr, SL_REPORT_MARGIN_X, doc->y + 3);
  cairo_line_to (doc->cr, SL_REPORT_PAGE_W - SL_REPORT_MARGIN_X, doc->y + 3);
  cairo_stroke (doc->cr);
  cairo_restore (doc->cr);
  doc->y += 11;
}

static double
row_height (SlReportDoc *doc, int cols, const char *const *row, const double *widths,
            SlReportStyle style)
{
  double h = 0;

  for (int c = 0; c < cols; c++)
    {
      g_autoptr (PangoLayout) layout
          = _sl_report_layout (doc, style, row[c], TRUE, widths[c] * SL_REPORT_TEXT_W - 8);
      int lw, lh;

      pango_layout_get_size (layout, &lw, &lh);
      h = MAX (h, (double) lh / PANGO_SCALE);
    }
  return h + 6;
}

static void
hrule (SlReportDoc *doc, double y, double width)
{
  cairo_save (doc->cr);
  _sl_report_ink (doc->cr);
  cairo_set_line_width (doc->cr, width);
  cairo_move_to (doc->cr, SL_REPORT_MARGIN_X, y);
  cairo_line_to (doc->cr, SL_REPORT_PAGE_W - SL_REPORT_MARGIN_X, y);
  cairo_stroke (doc->cr);
  cairo_restore (doc->cr);
}

static void
draw_row (SlReportDoc *doc, int cols, const char *const *row, const double *widths,
          const SlReportAlign *aligns, SlReportStyle style)
{
  double x = SL_REPORT_MARGIN_X;

  for (int c = 0; c < cols; c++)
    {
      double w = widths[c] * SL_REPORT_TEXT_W;

      _sl_report_text_at (doc, x + 4, doc->y + 3, w - 8, style,
                          aligns != NULL ? aligns[c] : SL_ALIGN_LEFT, row[c], TRUE);
      x += w;
    }
}

void
_sl_report_table (SlReportDoc *doc, int rows, int cols, const char *const *cells,
                  const double *widths, const SlReportAlign *aligns)
{
  double header_h = row_height (doc, cols, cells, widths, SL_REPORT_SMALL), first = 0;

  /* A table starts on a page with room for its header and its first three rows (or all). */
  for (int r = 1; r < rows && r <= 3; r++)
    first += row_height (doc, cols, cells + (gsize) r * cols, widths, SL_REPORT_BODY);
  _sl_report_need (doc, header_h + first + 4);
  hrule (doc, doc->y, 1.0);
  draw_row (doc, cols, cells, widths, aligns, SL_REPORT_SMALL);
  doc->y += header_h;
  hrule (doc, doc->y, 0.5);
  for (int r = 1; r < rows; r++)
    {
      const char *const *row = cells + (gsize) r * cols;
      double h = row_height (doc, cols, row, widths, SL_REPORT_BODY);

      if (_sl_report_space_left (doc) < h + 2)
        {
          hrule (doc, doc->y, 1.0);
          _sl_report_new_page (doc);
          hrule (doc, doc->y, 1.0);
          draw_row (doc, cols, cells, widths, aligns, SL_REPORT_SMALL);
          doc->y += header_h;
          hrule (doc, doc->y, 0.5);
        }
      if (r % 2 == 0)
        {
          cairo_save (doc->cr);
          cairo_set_source_rgb (doc->cr, 0.955, 0.96, 0.97);
          cairo_rectangle (doc->cr, SL_REPORT_MARGIN_X, doc->y + 0.3, SL_REPORT_TEXT_W, h - 0.6);
          cairo_fill (doc->cr);
          cairo_restore (doc->cr);
        }
      draw_row (doc, cols, row, widths, aligns, SL_REPORT_BODY);
      doc->y += h;
    }
  hrule (doc, doc->y, 1.0);
  doc->y += 10;
}

void
_sl_report_key_values (SlReportDoc *doc, const char *const *pairs, int n)
{
  static const double widths[] = { 0.27, 0.73 };

  for (int i = 0; i < n; i++)
    {
      const char *const *row = pairs + 2 * i;
      double h = row_height (doc, 2, row, widths, SL_REPORT_BODY) - 2;
      g_autofree char *key = g_strdup_printf ("<span foreground=\"#555a60\">%s</span>", row[0]);

      _sl_report_need (doc, h);
      _sl_report_text_at (doc, SL_REPORT_MARGIN_X, doc->y + 2, widths[0] * SL_REPORT_TEXT_W - 6,
                          SL_REPORT_BODY, SL_ALIGN_LEFT, key, TRUE);
      _sl_report_text_at (doc, SL_REPORT_MARGIN_X + widths[0] * SL_REPORT_TEXT_W, doc->y + 2,
                          widths[1] * SL_REPORT_TEXT_W, SL_REPORT_BODY, SL_ALIGN_LEFT, row[1],
                          TRUE);
      doc->y += h;
      cairo_save (doc->cr);
      cairo_set_source_rgb (doc->cr, 0.88, 0.89, 0.90);
      cairo_set_line_width (doc->cr, 0.4);
      cairo_move_to (doc->cr, SL_REPORT_MARGIN_X, doc->y);
      cairo_line_to (doc->cr, SL_REPORT_PAGE_W - SL_REPORT_MARGIN_X, doc->y);
      cairo_stroke (doc->cr);
      cairo_restore (doc->cr);
    }
  doc->y += 8;
}
