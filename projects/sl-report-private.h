/* sl-report-private.h: what the report's files share: the gathered data, and the page layout context. */
#pragma once

#include <cairo.h>
#include <cjson/cJSON.h>
#include <pango/pangocairo.h>

#include "sl-anomaly.h"
#include "sl-report.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (cJSON, cJSON_Delete)

/* ---- The data (sl-report-data.c) --------------------------------------------------- */

typedef struct
{
  char *caption;            /* "shirt as T-shirt, 97 %" */
  char *file;               /* the original file name */
  cairo_surface_t *image;   /* the stored image, RGB24 */
  cairo_surface_t *heatmap; /* NULL, or the map over what the model sees */
} SlReportMistake;

typedef struct
{
  double threshold, escape, false_reject;
} SlReportCurvePoint;

typedef struct
{
  char *project_name, *project_path;
  SlRunInfo *run;
  char *generated; /* ISO 8601 UTC */
  SlReportOptions options;

  /* The model file. */
  char *model_name, *model_sha256, *model_path;
  gint64 model_bytes, parameters;
  int input_width, input_height, input_channels;
  char *pipeline_json, *versions_json;
  char *network; /* "small-bn" or "efficientnet-lite0 (fine-tuned: last 2 blocks)" */
  char *backbone_sha256;

  /* The data. */
  SlProjectStats stats;
  char *dataset_hash_now; /* NULL when it cannot be computed */
  gint64 import_duplicates, import_conflicts, unreadable;

  /* The evaluation: one of the two. */
  gboolean evaluated;
  SlEvaluation *eval;
  GPtrArray *predictions;  /* SlImagePrediction */
  double reject_threshold; /* the project's; 0: none */
  SlThresholdStats at_threshold;
  GArray *curve;         /* SlReportCurvePoint, threshold ascending */
  double *f1_lo, *f1_hi; /* per class: 95 % bootstrap interval of F1 (NAN when undefined) */
  SlAnomalyEvaluation *anomaly;

  GPtrArray *mistakes; /* SlReportMistake */
  gboolean heatmaps;   /* maps were drawn for them */
  char *heatmap_note;  /* why not, or what they show */

  /* Speed on this computer. */
  double latency_ms, latency_p95_ms, images_per_s;
  int threads;
  char *cpu_name;
} SlReportData;

gboolean _sl_report_data_gather (SlProject *project, gint64 run_id, const SlReportOptions *options,
                                 SlReportData *data, GError **error);
void _sl_report_data_clear (SlReportData *data);
/* Wilson score interval for k successes out of n at 95 %; 0..1 (NAN, NAN) when n is 0. */
void _sl_report_wilson (gint64 k, gint64 n, double *lo, double *hi);

/* ---- Layout (sl-report-layout.c) ----------------------------------------------------- */

/* A4 in points and the type scale. */
#define SL_REPORT_PAGE_W   595.276
#define SL_REPORT_PAGE_H   841.890
#define SL_REPORT_MARGIN_X 56.0
#define SL_REPORT_MARGIN_T 60.0
#define SL_REPORT_MARGIN_B 64.0
#define SL_REPORT_TEXT_W   (SL_REPORT_PAGE_W - 2 * SL_REPORT_MARGIN_X)

typedef enum
{
  SL_REPORT_TITLE,  /* 20 pt */
  SL_REPORT_H1,     /* 14 pt, section */
  SL_REPORT_H2,     /* 10.5 pt bold, subsection */
  SL_REPORT_BODY,   /* 9.5 pt */
  SL_REPORT_SMALL,  /* 8 pt, captions and notes */
  SL_REPORT_MONO,   /* 8.5 pt monospace, hashes */
  SL_REPORT_FOOTER, /* 7.5 pt */
} SlReportStyle;

typedef enum
{
  SL_ALIGN_LEFT,
  SL_ALIGN_RIGHT,
  SL_ALIGN_CENTER,
} SlReportAlign;

typedef struct
{
  cairo_t *cr;
  double y;                /* the next line's top */
  int page;                /* 1-based */
  int pages;               /* the total, known on the second pass; 0 on the first */
  const char *footer_left; /* the model's SHA-256 */
  const char *header_right;
  int section;
  /* A heading waits to be drawn with what follows it, so that none ends a page. */
  char *pending;
  gboolean pending_is_section;
} SlReportDoc;

void _sl_report_doc_init (SlReportDoc *doc, cairo_t *cr, int pages, const char *footer_left,
                          const char *header_right);
/* Ends the last page (draws its footer and shows it). */
void _sl_report_doc_finish (SlReportDoc *doc);
void _sl_report_new_page (SlReportDoc *doc);
/* Starts a new page when fewer than `height` points are left on this one. */
void _sl_report_need (SlReportDoc *doc, double height);
double _sl_report_space_left (const SlReportDoc *doc);

/* A layout of text (markup when `markup`) in a style, wrapped at width (<= 0: no wrapping). */
PangoLayout *_sl_report_layout (SlReportDoc *doc, SlReportStyle style, const char *text,
                                gboolean markup, double width);
/* Draws text at x, y (its top); returns its height. */
double _sl_report_text_at (SlReportDoc *doc, double x, double y, double width, SlReportStyle style,
                           SlReportAlign align, const char *text, gboolean markup);
/* A paragraph at the left margin, full width; advances y. */
void _sl_report_paragraph (SlReportDoc *doc, SlReportStyle style, const char *markup);
void _sl_report_section (SlReportDoc *doc, const char *title);
void _sl_report_subsection (SlReportDoc *doc, const char *title);
void _sl_report_gap (SlReportDoc *doc, double points);

/* A table with rules (a thick rule above and below, a thin one under the header), rows
 * broken across pages with the header repeated. cells: rows x cols markup strings, row 0 the
 * header. widths: fractions of the text width. */
void _sl_report_table (SlReportDoc *doc, int rows, int cols, const char *const *cells,
                       const double *widths, const SlReportAlign *aligns);
/* Key / value rows (no header). */
void _sl_report_key_values (SlReportDoc *doc, const char *const *pairs, int n);

/* Colours: ink, the accent, light rules and fills. */
void _sl_report_ink (cairo_t *cr);
void _sl_report_accent (cairo_t *cr);
void _sl_report_rule_colour (cairo_t *cr);

/* ---- Charts (sl-report-charts.c): each draws in a box at x, y of size w x h. ------------ */

void _sl_report_confusion_chart (SlReportDoc *doc, const SlEvaluation *e, double x, double y,
                                 double w, double h);
/* Escape rate against false-reject rate over the thresholds, the chosen point marked. */
void _sl_report_tradeoff_chart (SlReportDoc *doc, const SlReportData *data, double x, double y,
                                double w, double h);
void _sl_report_histogram_chart (SlReportDoc *doc, const SlAnomalyEvaluation *a, double x, double y,
                                 double w, double h);
void _sl_report_roc_chart (SlReportDoc *doc, const SlAnomalyEvaluation *a, double x, double y,
                           double w, double h);
/* An image scaled to fit w x h (aspect kept), with a thin frame; returns the height used. */
double _sl_report_image (SlReportDoc *doc, cairo_surface_t *image, double x, double y, double w,
                         double h);

/* ---- Pages (sl-report-pages.c) ------------------------------------------------------- */

void _sl_report_render (SlReportDoc *doc, const SlReportData *data);
