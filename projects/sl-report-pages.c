/* sl-report-pages.c: the report's content, section by section: model, data, how good, where it fails, how fast, sign-off. */
#include "sl-report-private.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

/* Owned strings for a table or key/value list, freed with the array. */
typedef GPtrArray Cells;

static Cells *
cells_new (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

static void
add (Cells *cells, char *owned)
{
  g_ptr_array_add (cells, owned);
}

static char *
esc (const char *text)
{
  return g_markup_escape_text (text != NULL ? text : "", -1);
}

/* Short numbers for printf arguments, from a per-thread ring (a line uses a few at most). */
static char *
ring_slot (void)
{
  static __thread char ring[16][48];
  static __thread int next;

  return ring[next++ % 16];
}

static const char *
pct (double v)
{
  char *slot = ring_slot ();

  if (isfinite (v))
    g_snprintf (slot, 48, "%.2f %%", 100 * v);
  else
    g_strlcpy (slot, "n/a", 48);
  return slot;
}

static char *
ci (gint64 k, gint64 n)
{
  double lo, hi;

  _sl_report_wilson (k, n, &lo, &hi);
  return n > 0 ? g_strdup_printf ("[%.3f, %.3f]", lo, hi) : g_strdup ("n/a");
}

static const char *
ci_text (gint64 k, gint64 n)
{
  g_autofree char *text = ci (k, n);
  char *slot = ring_slot ();

  g_strlcpy (slot, text, 48);
  return slot;
}

static char *
bytes_text (gint64 bytes)
{
  g_autofree char *size = g_format_size (bytes);
  return g_strdup_printf ("%s (%" G_GINT64_FORMAT " bytes)", size, bytes);
}

static void
key_values (SlReportDoc *doc, Cells *kv)
{
  _sl_report_key_values (doc, (const char *const *) kv->pdata, (int) kv->len / 2);
}

/* A JSON value as short text: numbers as printed, strings bare, objects and arrays compact. */
static char *
json_value_text (const cJSON *v)
{
  if (cJSON_IsString (v))
    return g_strdup (v->valuestring);
  if (cJSON_IsNumber (v))
    return g_strdup_printf ("%g", v->valuedouble);
  return cJSON_PrintUnformatted (v);
}

/* ---- Title block -------------------------------------------------------------------- */

static void
title_block (SlReportDoc *doc, const SlReportData *d)
{
  g_autofree char *project = esc (d->project_name);
  g_autofree char *sub
      = g_strdup_printf ("%s · %s · %s model · generated %s", project, d->run->name,
                         d->anomaly != NULL ? "anomaly" : "classifier", d->generated);
  cairo_t *cr = doc->cr;

  cairo_save (cr);
  _sl_report_accent (cr);
  cairo_rectangle (cr, SL_REPORT_MARGIN_X, doc->y, 4, 46);
  cairo_fill (cr);
  _sl_report_ink (cr);
  doc->y += _sl_report_text_at (doc, SL_REPORT_MARGIN_X + 14, doc->y - 2, SL_REPORT_TEXT_W - 14,
                                SL_REPORT_TITLE, SL_ALIGN_LEFT, "Line qualification report", FALSE);
  cairo_set_source_rgb (cr, 0.35, 0.37, 0.40);
  doc->y += _sl_report_text_at (doc, SL_REPORT_MARGIN_X + 14, doc->y + 4, SL_REPORT_TEXT_W - 14,
                                SL_REPORT_BODY, SL_ALIGN_LEFT, sub, TRUE);
  cairo_restore (cr);
  doc->y += 18;
}

/* The numbers a reader looks for first, in a shaded box. */
static void
summary_box (SlReportDoc *doc, const SlReportData *d)
{
  g_autoptr (GPtrArray) kv = cells_new ();
  double top = doc->y, h;
  cairo_t *cr = doc->cr;

  if (d->eval != NULL)
    {
      add (kv, g_strdup ("Test accuracy"));
      add (kv,
           g_strdup_printf ("<b>%s</b> on %" G_GINT64_FORMAT " %s images", pct (d->eval->accuracy),
                            d->eval->images, sl_split_to_string (d->eval->split)));
      add (kv, g_strdup ("At the reject threshold"));
      add (kv, d->reject_threshold > 0 ? g_strdup_printf (
                   "%s accuracy on accepted images, %s rejected",
                   pct (d->at_threshold.accuracy_accepted), pct (d->at_threshold.reject_rate))
                                       : g_strdup ("no reject threshold: every image is accepted"));
    }
  else
    {
      add (kv, g_strdup ("AUROC"));
      add (kv, isfinite (d->anomaly->auroc)
                   ? g_strdup_printf ("<b>%.4f</b> on %" G_GINT64_FORMAT
                                      " good and %" G_GINT64_FORMAT " defect %s images",
                                      d->anomaly->auroc, d->anomaly->good, d->anomaly->defects,
                                      sl_split_to_string (d->anomaly->split))
                   : g_strdup ("n/a (the split needs both good and defect images)"));
      add (kv, g_strdup ("At the threshold"));
      add (kv, g_strdup_printf ("%s of good parts flagged, %s of defects passed",
                                pct (d->anomaly->false_reject), pct (d->anomaly->escape)));
    }
  add (kv, g_strdup ("Speed on this PC"));
  add (kv, isfinite (d->latency_ms)
               ? g_strdup_printf ("%.2f ms per image (median), %.0f images/s in batches",
                                  d->latency_ms, d->images_per_s)
               : g_strdup ("not measured (no readable images)"));
  add (kv, g_strdup ("Model file"));
  {
    g_autofree char *name = esc (d->model_name);
    add (kv, g_strdup_printf ("%s, SHA-256 <tt>%.16s…</tt>", name, d->model_sha256));
  }
  if (d->evaluated)
    {
      add (kv, g_strdup ("Note"));
      add (kv, g_strdup_printf ("No stored evaluation on the %s split: the run was evaluated for "
                                "this report.",
                                sl_split_to_string (d->options.split)));
    }
  /* Draw the text, then the box behind it (the height is known only after). */
  cairo_push_group (cr);
  doc->y += 8;
  key_values (doc, kv);
  cairo_pop_group_to_source (cr);
  h = doc->y - top;
  cairo_save (cr);
  {
    cairo_pattern_t *text = cairo_pattern_reference (cairo_get_source (cr));
    cairo_set_source_rgb (cr, 0.94, 0.955, 0.97);
    cairo_rectangle (cr, SL_REPORT_MARGIN_X - 8, top, SL_REPORT_TEXT_W + 16, h - 2);
    cairo_fill (cr);
    cairo_set_source (cr, text);
    cairo_paint (cr);
    cairo_pattern_destroy (text);
  }
  cairo_restore (cr);
  _sl_report_ink (cr);
  doc->y += 6;
}

/* ---- 1 The model ---------------------------------------------------------------------- */

/* Recipe members an anomaly fit does not use (sl-run.h: no optimizer, schedule, epochs or
 * class weights), left out of its report rather than shown as if they mattered. */
static gboolean
anomaly_ignores (const char *key)
{
  static const char *const keys[]
      = { "optimizer",         "learning_rate",  "weight_decay",  "momentum",
          "label_smoothing",   "epochs",         "batch_size",    "patience",
          "class_weights",     "schedule",       "warmup_epochs", "min_learning_rate",
          "step_epochs",       "gamma",          "finetune",      "finetune_blocks",
          "backbone_lr_ratio", "manual_weights", "augment",       NULL };

  for (int i = 0; keys[i] != NULL; i++)
    if (strcmp (key, keys[i]) == 0)
      return TRUE;
  return FALSE;
}

static void
recipe_text (const SlReportData *d, GString *out)
{
  g_autoptr (cJSON) doc = cJSON_Parse (d->run->config_json);
  const cJSON *item;

  cJSON_ArrayForEach (item, doc)
  {
    g_autofree char *value = NULL, *escaped = NULL;

    /* The model and pipeline have their own rows. */
    if (strcmp (item->string, "model") == 0 || strcmp (item->string, "pipeline") == 0
        || cJSON_IsNull (item) || (d->anomaly != NULL && anomaly_ignores (item->string)))
      continue;
    if (cJSON_IsObject (item) && strcmp (item->string, "backbone") == 0)
      {
        /* The pretrained weights: name, title, licence and the hash of their parameters. */
        const cJSON *name = cJSON_GetObjectItemCaseSensitive (item, "name");
        const cJSON *title = cJSON_GetObjectItemCaseSensitive (item, "title");
        const cJSON *licence = cJSON_GetObjectItemCaseSensitive (item, "license");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive (item, "parameters_sha256");

        value = g_strdup_printf ("%s (%s; licence %s; parameters SHA-256 %s)",
                                 cJSON_IsString (name) ? name->valuestring : "?",
                                 cJSON_IsString (title) ? title->valuestring : "?",
                                 cJSON_IsString (licence) ? licence->valuestring : "?",
                                 cJSON_IsString (sha) ? sha->valuestring : "?");
      }
    else
      value = json_value_text (item);
    escaped = esc (value);
    g_string_append_printf (out, "%s%s = %s", out->len > 0 ? "; " : "", item->string, escaped);
  }
}

static void
versions_text (const SlReportData *d, GString *out)
{
  g_autoptr (cJSON) doc = cJSON_Parse (d->versions_json != NULL ? d->versions_json : "{}");
  const cJSON *item;

  cJSON_ArrayForEach (item, doc)
  {
    g_autofree char *value = json_value_text (item);
    g_autofree char *escaped = esc (value);
    g_string_append_printf (out, "%s%s %s", out->len > 0 ? ", " : "", item->string, escaped);
  }
  if (out->len == 0)
    g_string_append (out, "not recorded");
}

static void
pipeline_table (SlReportDoc *doc, const SlReportData *d)
{
  static const double widths[] = { 0.06, 0.24, 0.70 };
  static const SlReportAlign aligns[] = { SL_ALIGN_RIGHT, SL_ALIGN_LEFT, SL_ALIGN_LEFT };
  g_autoptr (cJSON) json = cJSON_Parse (d->pipeline_json);
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive (json, "steps"), *step, *input;
  g_autoptr (GPtrArray) cells = cells_new ();
  int n = 1;

  add (cells, g_strdup ("<b>#</b>"));
  add (cells, g_strdup ("<b>Step</b>"));
  add (cells, g_strdup ("<b>Parameters</b>"));
  cJSON_ArrayForEach (step, steps)
  {
    const cJSON *op = cJSON_GetObjectItemCaseSensitive (step, "op"), *param;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive (step, "params");
    g_autoptr (GString) text = g_string_new (NULL);

    cJSON_ArrayForEach (param, params)
    {
      g_autofree char *value = json_value_text (param);
      g_autofree char *escaped = esc (value);
      g_string_append_printf (text, "%s%s = %s", text->len > 0 ? ", " : "", param->string, escaped);
    }
    cJSON_ArrayForEach (param, step) if (strcmp (param->string, "op") != 0
                                         && strcmp (param->string, "params") != 0)
    {
      g_autofree char *value = json_value_text (param);
      g_autofree char *escaped = esc (value);
      g_string_append_printf (text, "%s%s = %s", text->len > 0 ? ", " : "", param->string, escaped);
    }
    add (cells, g_strdup_printf ("%d", n++));
    add (cells, esc (cJSON_IsString (op) ? op->valuestring : "?"));
    add (cells, g_strdup (text->len > 0 ? text->str : "(no parameters)"));
  }
  if ((input = cJSON_GetObjectItemCaseSensitive (json, "input")) != NULL)
    {
      g_autoptr (GString) text = g_string_new (NULL);
      const cJSON *param;

      cJSON_ArrayForEach (param, input)
      {
        g_autofree char *value = json_value_text (param);
        g_autofree char *escaped = esc (value);
        g_string_append_printf (text, "%s%s = %s", text->len > 0 ? ", " : "", param->string,
                                escaped);
      }
      add (cells, g_strdup_printf ("%d", n++));
      add (cells, g_strdup ("model input"));
      add (cells, g_strdup (text->str));
    }
  {
    const cJSON *item;
    cJSON_ArrayForEach (item, json) if (strcmp (item->string, "steps") != 0
                                        && strcmp (item->string, "input") != 0)
    {
      g_autofree char *value = json_value_text (item);
      add (cells, g_strdup (""));
      add (cells, esc (item->string));
      add (cells, esc (value));
    }
  }
  _sl_report_table (doc, (int) cells->len / 3, 3, (const char *const *) cells->pdata, widths,
                    aligns);
}

static void
section_model (SlReportDoc *doc, const SlReportData *d)
{
  g_autoptr (GPtrArray) kv = cells_new ();
  g_autoptr (GString) classes = g_string_new (NULL);
  g_autoptr (GString) recipe = g_string_new (NULL);
  g_autoptr (GString) versions = g_string_new (NULL);
  g_autofree char *name = esc (d->model_name);

  _sl_report_section (doc, "The model");
  for (guint i = 0; i < d->run->class_names->len; i++)
    {
      g_autofree char *c = esc (g_ptr_array_index (d->run->class_names, i));
      g_string_append_printf (classes, "%s%s", i > 0 ? ", " : "", c);
    }
  recipe_text (d, recipe);
  versions_text (d, versions);
  add (kv, g_strdup ("File"));
  add (kv, g_strdup (name));
  add (kv, g_strdup ("SHA-256"));
  add (kv, g_strdup_printf ("<span font_family=\"DejaVu Sans Mono\" size=\"8pt\">%s</span>",
                            d->model_sha256));
  add (kv, g_strdup ("Size"));
  add (kv, bytes_text (d->model_bytes));
  add (kv, g_strdup ("Kind"));
  add (kv,
       g_strdup (d->anomaly != NULL ? "anomaly detection (trained on good parts)" : "classifier"));
  add (kv, g_strdup_printf ("Classes (%u)", d->run->class_names->len));
  add (kv, g_strdup (classes->str));
  add (kv, g_strdup ("Input"));
  add (kv, g_strdup_printf ("%d × %d pixels, %d channel%s", d->input_width, d->input_height,
                            d->input_channels, d->input_channels == 1 ? "" : "s"));
  add (kv, g_strdup ("Network"));
  if (d->parameters > 0)
    add (kv, g_strdup_printf ("%s, %" G_GINT64_FORMAT " parameters", d->network, d->parameters));
  else if (d->parameters < 0)
    {
      g_autofree char *size = g_format_size (-d->parameters);
      add (kv, g_strdup_printf ("%s, %s of weights", d->network, size));
    }
  else
    add (kv, g_strdup (d->network));
  add (kv, g_strdup ("Recipe"));
  add (kv, g_strdup (recipe->str));
  add (kv, g_strdup ("Training"));
  if (d->anomaly != NULL)
    add (kv, g_strdup_printf ("%s, started %s, fitted %s", d->run->name, d->run->created,
                              d->run->finished != NULL ? d->run->finished : "?"));
  else
    add (kv,
         g_strdup_printf ("%s, started %s, finished %s; %d of %d epochs, best epoch %d (%s)",
                          d->run->name, d->run->created,
                          d->run->finished != NULL ? d->run->finished : "?", d->run->epochs_done,
                          d->run->epochs, d->run->best_epoch + 1, sl_run_best_criterion (d->run)));
  add (kv, g_strdup ("Software"));
  add (kv, g_strdup (versions->str));
  key_values (doc, kv);
  _sl_report_subsection (doc, "Preprocessing chain (as the model file runs it)");
  pipeline_table (doc, d);
}

/* ---- 2 The data -------------------------------------------------------------------------- */

static void
section_data (SlReportDoc *doc, const SlReportData *d)
{
  static const double widths[] = { 0.28, 0.13, 0.16, 0.13, 0.15, 0.15 };
  static const SlReportAlign aligns[] = { SL_ALIGN_LEFT,  SL_ALIGN_RIGHT, SL_ALIGN_RIGHT,
                                          SL_ALIGN_RIGHT, SL_ALIGN_RIGHT, SL_ALIGN_RIGHT };
  g_autoptr (GPtrArray) kv = cells_new ();
  g_autoptr (GPtrArray) cells = cells_new ();
  gboolean same = d->dataset_hash_now != NULL && d->run->dataset_hash != NULL
                  && strcmp (d->dataset_hash_now, d->run->dataset_hash) == 0;
  gint64 sums[5] = { 0 };

  _sl_report_section (doc, "The data");
  add (kv, g_strdup ("Data set SHA-256"));
  add (kv, g_strdup_printf ("<span font_family=\"DejaVu Sans Mono\" size=\"8pt\">%s</span>",
                            d->run->dataset_hash != NULL ? d->run->dataset_hash : "not recorded"));
  add (kv, g_strdup ("Since training"));
  add (kv, same ? g_strdup ("unchanged: the counts and warnings below are those the run was "
                            "trained and tested with")
                : g_strdup_printf ("<b>changed</b> (now <tt>%.16s…</tt>): the counts and warnings "
                                   "below are today's, not the run's",
                                   d->dataset_hash_now != NULL ? d->dataset_hash_now : "unknown"));
  add (kv, g_strdup ("Run's images"));
  add (kv, g_strdup_printf ("%" G_GINT64_FORMAT " training, %" G_GINT64_FORMAT " validation",
                            d->run->train_images, d->run->val_images));
  add (kv, g_strdup ("Removed at import"));
  add (kv, g_strdup_printf (
               "%" G_GINT64_FORMAT " duplicate files (same content as an image "
               "already imported), of which %" G_GINT64_FORMAT " label conflicts "
               "(%" G_GINT64_FORMAT " unresolved); %" G_GINT64_FORMAT " unreadable files",
               d->import_duplicates, d->import_conflicts, d->stats.conflicts, d->unreadable));
  add (kv, g_strdup ("Not used"));
  add (kv, g_strdup_printf ("%" G_GINT64_FORMAT " unlabelled, %" G_GINT64_FORMAT " ignored",
                            d->stats.unlabelled, d->stats.ignored));
  key_values (doc, kv);

  _sl_report_subsection (doc, "Images per class and split");
  add (cells, g_strdup ("<b>Class</b>"));
  add (cells, g_strdup ("<b>Train</b>"));
  add (cells, g_strdup ("<b>Validation</b>"));
  add (cells, g_strdup ("<b>Test</b>"));
  add (cells, g_strdup ("<b>No split</b>"));
  add (cells, g_strdup ("<b>Total</b>"));
  for (guint i = 0; d->stats.classes != NULL && i < d->stats.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (d->stats.classes, i);
      gint64 v[5] = { c->train, c->val, c->test, c->unsplit, c->total };

      add (cells, esc (c->name));
      for (int k = 0; k < 5; k++)
        {
          add (cells, g_strdup_printf ("%" G_GINT64_FORMAT, v[k]));
          sums[k] += v[k];
        }
    }
  add (cells, g_strdup ("<b>All classes</b>"));
  for (int k = 0; k < 5; k++)
    add (cells, g_strdup_printf ("<b>%" G_GINT64_FORMAT "</b>", sums[k]));
  _sl_report_table (doc, (int) cells->len / 6, 6, (const char *const *) cells->pdata, widths,
                    aligns);

  _sl_report_subsection (doc, "Data-health warnings");
  if (d->stats.warnings == NULL || d->stats.warnings->len == 0)
    _sl_report_paragraph (doc, SL_REPORT_BODY, "None: the data passed every check.");
  else
    {
      static const double w2[] = { 0.5, 0.5 };
      g_autoptr (GPtrArray) rows = cells_new ();

      add (rows, g_strdup ("<b>Warning</b>"));
      add (rows, g_strdup ("<b>What to do</b>"));
      for (guint i = 0; i < d->stats.warnings->len; i++)
        {
          const SlHealthWarning *w = g_ptr_array_index (d->stats.warnings, i);
          add (rows, esc (w->message));
          add (rows, esc (w->suggestion));
        }
      _sl_report_table (doc, (int) rows->len / 2, 2, (const char *const *) rows->pdata, w2, NULL);
    }
}

/* ---- 3 How good it is --------------------------------------------------------------------- */

static void
class_table (SlReportDoc *doc, const SlReportData *d)
{
  static const double widths[] = { 0.14, 0.09, 0.11, 0.16, 0.09, 0.16, 0.09, 0.16 };
  static const SlReportAlign aligns[]
      = { SL_ALIGN_LEFT,  SL_ALIGN_RIGHT, SL_ALIGN_RIGHT, SL_ALIGN_LEFT,
          SL_ALIGN_RIGHT, SL_ALIGN_LEFT,  SL_ALIGN_RIGHT, SL_ALIGN_LEFT };
  const SlEvaluation *e = d->eval;
  g_autoptr (GPtrArray) cells = cells_new ();
  const char *head[] = { "<b>Class</b>",  "<b>Images</b>",  "<b>Precision</b>", "<b>95 % CI</b>",
                         "<b>Recall</b>", "<b>95 % CI</b>", "<b>F1</b>",        "<b>95 % CI</b>" };

  for (int i = 0; i < 8; i++)
    add (cells, g_strdup (head[i]));
  for (int c = 0; c < e->classes; c++)
    {
      gint64 predicted = 0, tp = e->confusion[c * e->classes + c];
      gboolean has_f1;

      for (int t = 0; t < e->classes; t++)
        predicted += e->confusion[t * e->classes + c];
      has_f1 = isfinite (e->f1[c]) && (predicted > 0 || e->support[c] > 0);
      add (cells, esc (g_ptr_array_index (e->class_names, c)));
      add (cells, g_strdup_printf ("%" G_GINT64_FORMAT, e->support[c]));
      add (cells, predicted > 0 ? g_strdup_printf ("%.3f", e->precision[c]) : g_strdup ("n/a"));
      add (cells, g_strdup_printf ("<span size=\"8pt\">%s</span>", ci_text (tp, predicted)));
      add (cells, e->support[c] > 0 ? g_strdup_printf ("%.3f", e->recall[c]) : g_strdup ("n/a"));
      add (cells, g_strdup_printf ("<span size=\"8pt\">%s</span>", ci_text (tp, e->support[c])));
      add (cells, has_f1 ? g_strdup_printf ("%.3f", e->f1[c]) : g_strdup ("n/a"));
      add (cells, has_f1 && isfinite (d->f1_lo[c]) ? g_strdup_printf (
                      "<span size=\"8pt\">[%.3f, %.3f]</span>", d->f1_lo[c], d->f1_hi[c])
                                                   : g_strdup ("n/a"));
    }
  _sl_report_table (doc, (int) cells->len / 8, 8, (const char *const *) cells->pdata, widths,
                    aligns);
}

static void
section_quality_classifier (SlReportDoc *doc, const SlReportData *d)
{
  const SlEvaluation *e = d->eval;
  const SlThresholdStats *s = &d->at_threshold;
  g_autoptr (GPtrArray) kv = cells_new ();
  g_autoptr (GPtrArray) tk = cells_new ();
  gint64 correct = 0;
  double side;

  for (int c = 0; c < e->classes; c++)
    correct += e->confusion[c * e->classes + c];
  _sl_report_section (doc, "How good it is");
  {
    g_autofree char *para = g_strdup_printf (
        "Evaluation %" G_GINT64_FORMAT " of %s on the <b>%s</b> split (%s checkpoint), stored %s: "
        "every labelled image of the split, predicted by the same runtime the line runs. "
        "Intervals are 95 %%: Wilson score intervals for accuracy, precision and recall, a "
        "bootstrap over the images (1000 resamples) for F1.",
        e->id, d->run->name, sl_split_to_string (e->split),
        e->checkpoint == SL_CHECKPOINT_LAST ? "last" : "best", e->created);
    _sl_report_paragraph (doc, SL_REPORT_BODY, para);
  }
  add (kv, g_strdup ("Accuracy"));
  add (kv, g_strdup_printf ("<b>%s</b> (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                            " images), 95 %% CI %s",
                            pct (e->accuracy), correct, e->images, ci_text (correct, e->images)));
  add (kv, g_strdup ("Macro F1"));
  add (kv, g_strdup_printf ("%.3f", e->macro_f1));
  key_values (doc, kv);
  _sl_report_subsection (doc, "Per class");
  class_table (doc, d);

  /* Cells of at most 36 points: the chart is as tall as the classes need. */
  side = 26 + MIN (36.0, (SL_REPORT_TEXT_W - 110) / e->classes) * e->classes + 60;
  _sl_report_subsection (doc, "Confusion matrix (rows: true class; columns: predicted)");
  _sl_report_need (doc, side);
  /* (draws the heading) */
  _sl_report_confusion_chart (doc, e, SL_REPORT_MARGIN_X, doc->y, SL_REPORT_TEXT_W, side);
  doc->y += side + 6;

  _sl_report_subsection (doc, "Reject threshold");
  {
    g_autofree char *para = g_strdup (
        "On the line, a prediction whose confidence is below the reject threshold is reported "
        "as unknown and goes to a person. The threshold is the one in the model file.");
    _sl_report_paragraph (doc, SL_REPORT_BODY, para);
  }
  add (tk, g_strdup ("Reject threshold"));
  add (tk, d->reject_threshold > 0 ? g_strdup_printf ("%.2f", d->reject_threshold)
                                   : g_strdup ("none (0): every prediction is accepted"));
  add (tk, g_strdup ("Accuracy on accepted"));
  add (tk, g_strdup_printf ("%s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " accepted images)",
                            pct (s->accuracy_accepted), s->correct_accepted, s->accepted));
  add (tk, g_strdup ("Reject rate"));
  add (tk, g_strdup_printf ("%s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " images)",
                            pct (s->reject_rate), s->images - s->accepted, s->images));
  add (tk, g_strdup ("Mistakes caught"));
  add (tk, g_strdup_printf ("%s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " mistakes rejected)",
                            pct (s->mistakes_caught), s->mistakes_rejected, s->mistakes));
  key_values (doc, tk);
  _sl_report_subsection (doc, "Escape rate against false-reject rate");
  _sl_report_need (doc, 215);
  _sl_report_tradeoff_chart (doc, d, SL_REPORT_MARGIN_X, doc->y, SL_REPORT_TEXT_W * 0.72, 200);
  _sl_report_text_at (doc, SL_REPORT_MARGIN_X + SL_REPORT_TEXT_W * 0.74, doc->y + 10,
                      SL_REPORT_TEXT_W * 0.26, SL_REPORT_SMALL, SL_ALIGN_LEFT,
                      "Each point is one threshold. Raising it rejects more images: fewer wrong "
                      "predictions escape (down), more correct ones go to a person (right). The "
                      "red point is the threshold in the model file.",
                      FALSE);
  doc->y += 212;
}

static void
section_quality_anomaly (SlReportDoc *doc, const SlReportData *d)
{
  const SlAnomalyEvaluation *a = d->anomaly;
  g_autoptr (GPtrArray) kv = cells_new ();
  double half = (SL_REPORT_TEXT_W - 16) / 2;

  _sl_report_section (doc, "How good it is");
  {
    g_autofree char *para = g_strdup_printf (
        "Evaluation %" G_GINT64_FORMAT " of %s on the <b>%s</b> split, stored %s. An image is "
        "flagged as defective when its anomaly score is above the threshold.",
        a->id, d->run->name, sl_split_to_string (a->split), a->created);
    _sl_report_paragraph (doc, SL_REPORT_BODY, para);
  }
  add (kv, g_strdup ("Images"));
  add (kv, g_strdup_printf ("%" G_GINT64_FORMAT " good, %" G_GINT64_FORMAT " defect", a->good,
                            a->defects));
  add (kv, g_strdup ("AUROC"));
  add (kv, isfinite (a->auroc) ? g_strdup_printf ("<b>%.4f</b>", a->auroc)
                               : g_strdup ("n/a (needs good and defect images)"));
  add (kv, g_strdup ("Threshold"));
  add (kv, isfinite (a->threshold) ? g_strdup_printf (
               "%.4f (%s)", a->threshold,
               a->threshold_manual ? "set by hand for this run" : "the run's own, from good images")
                                   : g_strdup ("none (no good validation images to choose one)"));
  add (kv, g_strdup ("False rejects"));
  add (kv, g_strdup_printf ("%s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " good images); 95 %% "
                            "upper bound for new good parts %s",
                            pct (a->false_reject), a->false_rejects, a->good,
                            pct (a->false_reject_upper95)));
  add (kv, g_strdup ("Escapes"));
  add (kv, g_strdup_printf ("%s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " defects passed)",
                            pct (a->escape), a->escapes, a->defects));
  key_values (doc, kv);
  if (a->statement != NULL)
    {
      g_autofree char *text = esc (a->statement);
      _sl_report_paragraph (doc, SL_REPORT_BODY, text);
    }
  if (a->run_threshold.statement != NULL)
    {
      g_autofree char *text = esc (a->run_threshold.statement);
      g_autofree char *para = g_strdup_printf ("<i>How the run chose its threshold:</i> %s", text);
      _sl_report_paragraph (doc, SL_REPORT_SMALL, para);
    }
  _sl_report_subsection (doc, "Score histograms and ROC curve");
  _sl_report_need (doc, 230);
  _sl_report_histogram_chart (doc, a, SL_REPORT_MARGIN_X, doc->y, half, 210);
  _sl_report_roc_chart (doc, a, SL_REPORT_MARGIN_X + half + 16, doc->y, half, 210);
  doc->y += 222;
}

/* ---- 4 Where it fails --------------------------------------------------------------------- */

static void
section_mistakes (SlReportDoc *doc, const SlReportData *d)
{
  const int per_row = 4;
  double cell_w = SL_REPORT_TEXT_W / per_row, img = d->heatmaps ? (cell_w - 14) / 2 : cell_w - 14;

  _sl_report_section (doc, "Where it fails");
  if (d->mistakes->len == 0)
    {
      _sl_report_paragraph (doc, SL_REPORT_BODY,
                            "No mistakes on this split: every image was predicted correctly.");
      return;
    }
  _sl_report_paragraph (
      doc, SL_REPORT_BODY,
      d->anomaly != NULL
          ? "The good parts with the highest scores above the threshold, then the defects with "
            "the lowest scores below it. Right of each: the anomaly map over what the model "
            "sees (red: far from every good part seen in training)."
      : d->heatmaps
          ? "The most confident mistakes, most confident first. Right of each image: Grad-CAM of "
            "the predicted class over what the model sees (red: what drove the prediction)."
          : "The most confident mistakes, most confident first.");
  for (guint i = 0; i < d->mistakes->len; i += per_row)
    {
      double row_h = img + 40;

      _sl_report_need (doc, row_h);
      for (guint k = 0; k < (guint) per_row && i + k < d->mistakes->len; k++)
        {
          const SlReportMistake *m = g_ptr_array_index (d->mistakes, i + k);
          double x = SL_REPORT_MARGIN_X + k * cell_w + 2;
          g_autofree char *file = esc (m->file);
          g_autofree char *caption
              = g_strdup_printf ("%s\n<span foreground=\"#6b7075\">%s</span>", m->caption, file);

          if (m->image != NULL)
            _sl_report_image (doc, m->image, x, doc->y, img, img);
          if (m->heatmap != NULL)
            _sl_report_image (doc, m->heatmap, x + img + 4, doc->y, img, img);
          _sl_report_text_at (doc, x, doc->y + img + 3, cell_w - 8, SL_REPORT_FOOTER, SL_ALIGN_LEFT,
                              caption, TRUE);
        }
      doc->y += row_h;
    }
}

/* ---- 5 How fast ----------------------------------------------------------------------- */

static void
section_speed (SlReportDoc *doc, const SlReportData *d)
{
  g_autoptr (GPtrArray) kv = cells_new ();
  g_autofree char *cpu = esc (d->cpu_name);

  _sl_report_section (doc, "How fast it is on this PC");
  _sl_report_paragraph (doc, SL_REPORT_BODY,
                        "Measured while this report was written, with the model file above "
                        "opened by the runtime the line uses (decoding excluded; preprocessing "
                        "and the model included).");
  add (kv, g_strdup ("Computer"));
  add (kv, g_strdup_printf ("%s, %d compute threads", cpu, d->threads));
  add (kv, g_strdup ("Latency, one image"));
  add (kv, isfinite (d->latency_ms) ? g_strdup_printf ("%.2f ms median, %.2f ms 95th percentile",
                                                       d->latency_ms, d->latency_p95_ms)
                                    : g_strdup ("not measured"));
  add (kv, g_strdup ("Throughput"));
  add (kv, isfinite (d->images_per_s) ? g_strdup_printf ("%.0f images/s in batches of %d",
                                                         d->images_per_s, SL_REPORT_BATCH)
                                      : g_strdup ("not measured"));
  key_values (doc, kv);
}

/* ---- 6 Sign-off --------------------------------------------------------------------------- */

static void
section_signoff (SlReportDoc *doc, const SlReportData *d)
{
  const char *labels[] = { "Name", "Role", "Date", "Signature" };
  cairo_t *cr = doc->cr;
  double col = (SL_REPORT_TEXT_W - 24) / 2;

  _sl_report_section (doc, "Sign-off");
  _sl_report_need (doc, 200);
  _sl_report_paragraph (doc, SL_REPORT_BODY,
                        "I have reviewed this report and approve the model file identified by "
                        "the SHA-256 in the footer for use on the line, within the data and "
                        "conditions described above.");
  doc->y += 8;
  for (int who = 0; who < 2; who++)
    {
      double x = SL_REPORT_MARGIN_X + who * (col + 24), y = doc->y;

      _sl_report_text_at (doc, x, y, col, SL_REPORT_H2, SL_ALIGN_LEFT,
                          who == 0 ? "Prepared by" : "Approved by", FALSE);
      y += 22;
      for (int i = 0; i < 4; i++)
        {
          const char *value = NULL;

          if (who == 1 && i == 0)
            value = d->options.signer;
          if (who == 1 && i == 1)
            value = d->options.signer_role;
          _sl_report_text_at (doc, x, y + 14, 60, SL_REPORT_SMALL, SL_ALIGN_LEFT, labels[i], FALSE);
          if (value != NULL)
            _sl_report_text_at (doc, x + 64, y + 8, col - 64, SL_REPORT_BODY, SL_ALIGN_LEFT, value,
                                FALSE);
          cairo_save (cr);
          _sl_report_ink (cr);
          cairo_set_line_width (cr, 0.6);
          cairo_move_to (cr, x + 62, y + 24);
          cairo_line_to (cr, x + col, y + 24);
          cairo_stroke (cr);
          cairo_restore (cr);
          y += i == 2 ? 44 : 32;
        }
    }
  doc->y += 22 + 4 * 32 + 20;
}

void
_sl_report_render (SlReportDoc *doc, const SlReportData *d)
{
  title_block (doc, d);
  summary_box (doc, d);
  section_model (doc, d);
  section_data (doc, d);
  if (d->eval != NULL)
    section_quality_classifier (doc, d);
  else
    section_quality_anomaly (doc, d);
  section_mistakes (doc, d);
  section_speed (doc, d);
  section_signoff (doc, d);
}
