/* sl-report-charts.c: the report's vector charts: confusion matrix, escape / false-reject curve, score histograms, ROC. */
#include "sl-report-private.h"

#include <math.h>

/* Axes of a plot area (the box less room for tick labels), 0..1 on both by default. */
typedef struct
{
  double x, y, w, h; /* the plot area */
  double x0, x1, y0, y1;
  double xmul, ymul; /* tick labels print value x mul (100: percent) */
} Axes;

static double
ax_x (const Axes *a, double v)
{
  return a->x + (v - a->x0) / (a->x1 - a->x0) * a->w;
}

static double
ax_y (const Axes *a, double v)
{
  return a->y + a->h - (v - a->y0) / (a->y1 - a->y0) * a->h;
}

/* Frame, grid and tick labels; labels as printf formats of the value. */
static void
draw_axes (SlReportDoc *doc, const Axes *a, int ticks, const char *xfmt, const char *yfmt,
           const char *xlabel, const char *ylabel)
{
  cairo_t *cr = doc->cr;

  cairo_save (cr);
  cairo_set_line_width (cr, 0.4);
  cairo_set_source_rgb (cr, 0.88, 0.89, 0.91);
  for (int i = 1; i < ticks; i++)
    {
      double fx = a->x + a->w * i / ticks, fy = a->y + a->h * i / ticks;

      cairo_move_to (cr, fx, a->y);
      cairo_line_to (cr, fx, a->y + a->h);
      cairo_move_to (cr, a->x, fy);
      cairo_line_to (cr, a->x + a->w, fy);
    }
  cairo_stroke (cr);
  _sl_report_ink (cr);
  cairo_set_line_width (cr, 0.7);
  cairo_rectangle (cr, a->x, a->y, a->w, a->h);
  cairo_stroke (cr);
  for (int i = 0; i <= ticks; i++)
    {
      double vx = a->x0 + (a->x1 - a->x0) * i / ticks, vy = a->y0 + (a->y1 - a->y0) * i / ticks;
      g_autofree char *tx = g_strdup_printf (xfmt, vx * a->xmul);
      g_autofree char *ty = g_strdup_printf (yfmt, vy * a->ymul);

      _sl_report_text_at (doc, ax_x (a, vx) - 25, a->y + a->h + 3, 50, SL_REPORT_FOOTER,
                          SL_ALIGN_CENTER, tx, FALSE);
      _sl_report_text_at (doc, a->x - 44, ax_y (a, vy) - 5, 40, SL_REPORT_FOOTER, SL_ALIGN_RIGHT,
                          ty, FALSE);
    }
  _sl_report_text_at (doc, a->x, a->y + a->h + 15, a->w, SL_REPORT_SMALL, SL_ALIGN_CENTER, xlabel,
                      FALSE);
  cairo_save (cr);
  cairo_translate (cr, a->x - 46, a->y + a->h);
  cairo_rotate (cr, -G_PI / 2);
  {
    SlReportDoc rot = *doc;
    _sl_report_text_at (&rot, 0, -12, a->h, SL_REPORT_SMALL, SL_ALIGN_CENTER, ylabel, FALSE);
  }
  cairo_restore (cr);
  cairo_restore (cr);
}

static void
plot_area (Axes *a, double x, double y, double w, double h)
{
  a->x = x + 58;
  a->y = y + 6;
  a->w = w - 66;
  a->h = h - 38;
  a->x0 = a->y0 = 0;
  a->x1 = a->y1 = 1;
  a->xmul = a->ymul = 1;
}

static void
legend (SlReportDoc *doc, double x, double y, double r, double g, double b, const char *text)
{
  cairo_save (doc->cr);
  cairo_set_source_rgb (doc->cr, r, g, b);
  cairo_rectangle (doc->cr, x, y + 2.5, 9, 5);
  cairo_fill (doc->cr);
  _sl_report_ink (doc->cr);
  _sl_report_text_at (doc, x + 13, y, 140, SL_REPORT_FOOTER, SL_ALIGN_LEFT, text, FALSE);
  cairo_restore (doc->cr);
}

void
_sl_report_confusion_chart (SlReportDoc *doc, const SlEvaluation *e, double x, double y, double w,
                            double h)
{
  cairo_t *cr = doc->cr;
  int n = e->classes;
  double label_w = MIN (110, w * 0.28), top = 26;
  double cell = MIN (36, MIN ((w - label_w) / n, (h - top - 60) / n));
  double gx = x + label_w, gy = y + top;
  gint64 max_row = 1;

  for (int t = 0; t < n; t++)
    max_row = MAX (max_row, e->support[t]);
  cairo_save (cr);
  _sl_report_text_at (doc, gx, y, cell * n, SL_REPORT_SMALL, SL_ALIGN_CENTER,
                      "<b>Predicted class</b>", TRUE);
  for (int t = 0; t < n; t++)
    {
      _sl_report_ink (cr);
      _sl_report_text_at (doc, x, gy + t * cell + cell / 2 - 5, label_w - 6, SL_REPORT_FOOTER,
                          SL_ALIGN_RIGHT, g_ptr_array_index (e->class_names, t), FALSE);
      for (int p = 0; p < n; p++)
        {
          gint64 v = e->confusion[t * n + p];
          double share = e->support[t] > 0 ? (double) v / e->support[t] : 0;
          g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, v);

          if (t == p)
            cairo_set_source_rgb (cr, 1 - 0.85 * share, 1 - 0.55 * share, 1 - 0.25 * share);
          else
            cairo_set_source_rgb (cr, 1 - 0.05 * MIN (1, 3 * share), 1 - 0.6 * MIN (1, 3 * share),
                                  1 - 0.6 * MIN (1, 3 * share));
          cairo_rectangle (cr, gx + p * cell, gy + t * cell, cell, cell);
          cairo_fill (cr);
          if (t == p && share > 0.55)
            cairo_set_source_rgb (cr, 1, 1, 1);
          else
            _sl_report_ink (cr);
          _sl_report_text_at (doc, gx + p * cell, gy + t * cell + cell / 2 - 5, cell,
                              n > 12 ? SL_REPORT_FOOTER : SL_REPORT_SMALL, SL_ALIGN_CENTER, text,
                              FALSE);
        }
    }
  _sl_report_rule_colour (cr);
  cairo_set_line_width (cr, 0.4);
  for (int i = 0; i <= n; i++)
    {
      cairo_move_to (cr, gx + i * cell, gy);
      cairo_line_to (cr, gx + i * cell, gy + n * cell);
      cairo_move_to (cr, gx, gy + i * cell);
      cairo_line_to (cr, gx + n * cell, gy + i * cell);
    }
  cairo_stroke (cr);
  /* Column labels, turned so that long class names fit under narrow columns. */
  _sl_report_ink (cr);
  for (int p = 0; p < n; p++)
    {
      SlReportDoc rot = *doc;

      cairo_save (cr);
      cairo_translate (cr, gx + p * cell + cell / 2 + 4, gy + n * cell + 4);
      cairo_rotate (cr, G_PI / 2 * 0.5);
      _sl_report_text_at (&rot, 0, 0, 90, SL_REPORT_FOOTER, SL_ALIGN_LEFT,
                          g_ptr_array_index (e->class_names, p), FALSE);
      cairo_restore (cr);
    }
  {
    SlReportDoc rot = *doc;

    cairo_save (cr);
    cairo_translate (cr, x - 2, gy + n * cell);
    cairo_rotate (cr, -G_PI / 2);
    _sl_report_text_at (&rot, 0, 0, n * cell, SL_REPORT_SMALL, SL_ALIGN_CENTER, "<b>True class</b>",
                        TRUE);
    cairo_restore (cr);
  }
  cairo_restore (cr);
}

void
_sl_report_tradeoff_chart (SlReportDoc *doc, const SlReportData *data, double x, double y, double w,
                           double h)
{
  cairo_t *cr = doc->cr;
  Axes a;
  double max_fr = 0, max_es = 0;

  plot_area (&a, x, y, w, h);
  for (guint i = 0; i < data->curve->len; i++)
    {
      const SlReportCurvePoint *p = &g_array_index (data->curve, SlReportCurvePoint, i);
      max_fr = MAX (max_fr, p->false_reject);
      max_es = MAX (max_es, p->escape);
    }
  /* Ranges of 25, 50, 75 or 100 %: round ticks at 5 per axis. */
  a.x1 = max_fr > 0 ? MIN (1, ceil (max_fr * 4) / 4) : 1;
  a.y1 = max_es > 0 ? MIN (1, ceil (max_es * 4) / 4) : 1;
  a.xmul = a.ymul = 100;
  draw_axes (doc, &a, 5, "%.0f %%", "%.0f %%", "False-reject rate (correct rejected)",
             "Escape rate (wrong accepted)");
  cairo_save (cr);
  cairo_rectangle (cr, a.x, a.y, a.w, a.h);
  cairo_clip (cr);
  _sl_report_accent (cr);
  cairo_set_line_width (cr, 1.4);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint i = 0; i < data->curve->len; i++)
    {
      const SlReportCurvePoint *p = &g_array_index (data->curve, SlReportCurvePoint, i);
      if (i == 0)
        cairo_move_to (cr, ax_x (&a, p->false_reject), ax_y (&a, p->escape));
      else
        cairo_line_to (cr, ax_x (&a, p->false_reject), ax_y (&a, p->escape));
    }
  cairo_stroke (cr);
  cairo_restore (cr);
  {
    const SlThresholdStats *s = &data->at_threshold;
    double correct = (double) (s->images - s->mistakes);
    double fr
        = correct > 0 ? (double) (s->images - s->accepted - s->mistakes_rejected) / correct : 0;
    double es = s->images > 0 ? (double) (s->mistakes - s->mistakes_rejected) / s->images : 0;
    g_autofree char *label = g_strdup_printf ("threshold %.2f", data->reject_threshold);

    cairo_save (cr);
    cairo_set_source_rgb (cr, 0.80, 0.22, 0.10);
    cairo_arc (cr, ax_x (&a, fr), ax_y (&a, es), 3.6, 0, 2 * G_PI);
    cairo_fill (cr);
    _sl_report_text_at (doc, ax_x (&a, fr) + 6, ax_y (&a, es) - 12, 120, SL_REPORT_FOOTER,
                        SL_ALIGN_LEFT, label, FALSE);
    cairo_restore (cr);
  }
}

void
_sl_report_histogram_chart (SlReportDoc *doc, const SlAnomalyEvaluation *an, double x, double y,
                            double w, double h)
{
  enum
  {
    BINS = 30
  };
  cairo_t *cr = doc->cr;
  double lo = INFINITY, hi = -INFINITY, good[BINS] = { 0 }, bad[BINS] = { 0 }, top = 0;
  Axes a;

  for (guint i = 0; i < an->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (an->scores, i);
      lo = MIN (lo, s->score);
      hi = MAX (hi, s->score);
    }
  if (isfinite (an->threshold))
    {
      lo = MIN (lo, an->threshold);
      hi = MAX (hi, an->threshold);
    }
  if (!(hi > lo))
    hi = lo + 1;
  for (guint i = 0; i < an->scores->len; i++)
    {
      const SlAnomalyScore *s = g_ptr_array_index (an->scores, i);
      int b = MIN (BINS - 1, (int) ((s->score - lo) / (hi - lo) * BINS));
      if (s->defect)
        bad[b] += 1;
      else
        good[b] += 1;
    }
  for (int b = 0; b < BINS; b++)
    top = MAX (top, MAX (good[b], bad[b]));
  plot_area (&a, x, y, w, h);
  a.x0 = lo;
  a.x1 = hi;
  a.y1 = MAX (5, ceil (top / 5) * 5); /* whole numbers at every tick */
  draw_axes (doc, &a, 5, "%.3g", "%.0f", "Anomaly score", "Images");
  cairo_save (cr);
  for (int b = 0; b < BINS; b++)
    {
      double bx = a.x + a.w * b / BINS, bw = a.w / BINS;

      cairo_set_source_rgba (cr, 0.13, 0.55, 0.35, 0.55);
      cairo_rectangle (cr, bx + 0.5, ax_y (&a, good[b]), bw - 1, a.y + a.h - ax_y (&a, good[b]));
      cairo_fill (cr);
      cairo_set_source_rgba (cr, 0.80, 0.22, 0.10, 0.55);
      cairo_rectangle (cr, bx + 0.5, ax_y (&a, bad[b]), bw - 1, a.y + a.h - ax_y (&a, bad[b]));
      cairo_fill (cr);
    }
  if (isfinite (an->threshold))
    {
      double tx = ax_x (&a, an->threshold);
      static const double dash[] = { 3, 2 };

      _sl_report_ink (cr);
      cairo_set_line_width (cr, 1.0);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, tx, a.y);
      cairo_line_to (cr, tx, a.y + a.h);
      cairo_stroke (cr);
      /* The label on the side of the line with room for it. */
      if (tx + 60 > a.x + a.w)
        _sl_report_text_at (doc, tx - 83, a.y + 2, 80, SL_REPORT_FOOTER, SL_ALIGN_RIGHT,
                            "threshold", FALSE);
      else
        _sl_report_text_at (doc, tx + 3, a.y + 2, 80, SL_REPORT_FOOTER, SL_ALIGN_LEFT, "threshold",
                            FALSE);
    }
  cairo_restore (cr);
  {
    /* The legend in the top corner away from the threshold and its label. */
    const double tx = isfinite (an->threshold) ? ax_x (&a, an->threshold) : a.x;
    const double lx = tx > a.x + a.w / 2 ? a.x + 8 : a.x + a.w - 70;

    legend (doc, lx, a.y + 4, 0.13, 0.55, 0.35, "good");
    legend (doc, lx, a.y + 16, 0.80, 0.22, 0.10, "defect");
  }
}

void
_sl_report_roc_chart (SlReportDoc *doc, const SlAnomalyEvaluation *an, double x, double y, double w,
                      double h)
{
  cairo_t *cr = doc->cr;
  static const double dash[] = { 2, 2 };
  gboolean started = FALSE;
  Axes a;

  plot_area (&a, x, y, w, h);
  draw_axes (doc, &a, 5, "%.1f", "%.1f", "False-positive rate (good images flagged)",
             "True-positive rate (defects flagged)");
  cairo_save (cr);
  cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
  cairo_set_line_width (cr, 0.6);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, ax_x (&a, 0), ax_y (&a, 0));
  cairo_line_to (cr, ax_x (&a, 1), ax_y (&a, 1));
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  _sl_report_accent (cr);
  cairo_set_line_width (cr, 1.4);
  /* Thresholds descend from above every score (0, 0) to below every score (1, 1). */
  cairo_move_to (cr, ax_x (&a, 0), ax_y (&a, 0));
  for (guint i = an->roc->len; i-- > 0;)
    {
      const SlRocPoint *p = &g_array_index (an->roc, SlRocPoint, i);
      if (!isfinite (p->false_reject) || !isfinite (p->escape))
        continue;
      cairo_line_to (cr, ax_x (&a, p->false_reject), ax_y (&a, 1 - p->escape));
      started = TRUE;
    }
  cairo_line_to (cr, ax_x (&a, 1), ax_y (&a, 1));
  if (started)
    cairo_stroke (cr);
  else
    cairo_new_path (cr);
  if (isfinite (an->false_reject) && isfinite (an->escape))
    {
      cairo_set_source_rgb (cr, 0.80, 0.22, 0.10);
      cairo_arc (cr, ax_x (&a, an->false_reject), ax_y (&a, 1 - an->escape), 3.6, 0, 2 * G_PI);
      cairo_fill (cr);
      _sl_report_text_at (doc, ax_x (&a, an->false_reject) + 6, ax_y (&a, 1 - an->escape) - 12, 80,
                          SL_REPORT_FOOTER, SL_ALIGN_LEFT, "threshold", FALSE);
    }
  cairo_restore (cr);
}

double
_sl_report_image (SlReportDoc *doc, cairo_surface_t *image, double x, double y, double w, double h)
{
  cairo_t *cr = doc->cr;
  int iw = cairo_image_surface_get_width (image), ih = cairo_image_surface_get_height (image);
  double scale = MIN (w / iw, h / ih), dw = iw * scale, dh = ih * scale;
  double ox = x + (w - dw) / 2;

  cairo_save (cr);
  cairo_rectangle (cr, ox, y, dw, dh);
  cairo_clip (cr);
  cairo_translate (cr, ox, y);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, image, 0, 0);
  /* Small images (28 x 28) stay crisp pixels rather than a blur. */
  cairo_pattern_set_filter (cairo_get_source (cr),
                            scale > 2 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_save (cr);
  _sl_report_rule_colour (cr);
  cairo_set_line_width (cr, 0.5);
  cairo_rectangle (cr, ox, y, dw, dh);
  cairo_stroke (cr);
  cairo_restore (cr);
  return dh;
}
