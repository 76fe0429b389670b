/* sl-train-page-curves.c: the Train page's charts: live step curves, stored epoch curves, a compared run. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-page-private.h"

#include <math.h>

static const struct
{
  const char *name;
  const char *color;
} curve_styles[N_CURVES] = {
  [CURVE_TRAIN_LOSS] = { "Training", "#3584e4" },
  [CURVE_VAL_LOSS] = { "Validation", "#e66100" },
  [CURVE_TRAIN_ACCURACY] = { "Training", "#3584e4" },
  [CURVE_VAL_ACCURACY] = { "Validation", "#e66100" },
  [CURVE_LEARNING_RATE] = { "Learning rate", "#9141ac" },
};

static void
make_curves (SlChartSeries **curves, const char *prefix)
{
  for (int i = 0; i < N_CURVES; i++)
    {
      g_autofree char *name = prefix != NULL
                                  ? g_strdup_printf ("%s %s", prefix, curve_styles[i].name)
                                  : g_strdup (curve_styles[i].name);
      GdkRGBA color;

      gdk_rgba_parse (&color, curve_styles[i].color);
      g_clear_object (&curves[i]);
      curves[i] = sl_chart_series_new (name, &color);
    }
}

void
_sl_train_page_init_curves (SlTrainPage *self)
{
  make_curves (self->live, NULL);
  make_curves (self->stored, NULL);
  make_curves (self->compared, NULL);

  sl_chart_set_title (self->loss_chart, "Loss");
  sl_chart_set_x_label (self->loss_chart, "Epoch");
  sl_chart_set_empty_text (self->loss_chart, "The loss appears after the first steps");
  sl_chart_set_title (self->accuracy_chart, "Accuracy");
  sl_chart_set_x_label (self->accuracy_chart, "Epoch");
  sl_chart_set_y_percent (self->accuracy_chart, TRUE);
  sl_chart_set_y_range (self->accuracy_chart, 0, 1);
  sl_chart_set_empty_text (self->accuracy_chart, "The accuracy appears after the first steps");
  sl_chart_set_title (self->lr_chart, "Learning rate");
  sl_chart_set_x_label (self->lr_chart, "Epoch");
  sl_chart_set_y_format (self->lr_chart, "%.2e");
  sl_chart_set_empty_text (self->lr_chart, "No steps yet");
}

void
_sl_train_page_clear_curves (SlTrainPage *self)
{
  for (int i = 0; i < N_CURVES; i++)
    {
      g_clear_object (&self->live[i]);
      g_clear_object (&self->stored[i]);
      g_clear_object (&self->compared[i]);
    }
}

static void
add_curves (SlTrainPage *self, SlChartSeries **curves)
{
  sl_chart_add_series (self->loss_chart, curves[CURVE_TRAIN_LOSS]);
  sl_chart_add_series (self->loss_chart, curves[CURVE_VAL_LOSS]);
  sl_chart_add_series (self->accuracy_chart, curves[CURVE_TRAIN_ACCURACY]);
  sl_chart_add_series (self->accuracy_chart, curves[CURVE_VAL_ACCURACY]);
  sl_chart_add_series (self->lr_chart, curves[CURVE_LEARNING_RATE]);
}

static int
planned_epochs (SlTrainPage *self, gint64 run_id)
{
  const SlRunInfo *run = run_id >= 0 ? sl_run_list_lookup (self->run_list, run_id) : NULL;

  if (run_id >= 0 && run_id == self->live_run)
    return self->live_epochs;
  return run != NULL ? run->epochs : 0;
}

void
_sl_train_page_attach_curves (SlTrainPage *self)
{
  SlChart *charts[] = { self->loss_chart, self->accuracy_chart, self->lr_chart };
  int epochs
      = MAX (planned_epochs (self, self->shown_run), planned_epochs (self, self->compare_run));

  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    {
      sl_chart_clear_series (charts[i]);
      sl_chart_set_x_min_range (charts[i], epochs);
    }
  if (self->shown_run < 0)
    return;
  add_curves (self, self->shown_run == self->live_run ? self->live : self->stored);
  if (self->compare_run >= 0)
    add_curves (self, self->compared);
}

/* Epoch e's values sit at the end of the epoch, x = e + 1, where the steps of
 * a live run reach them. */
void
_sl_train_page_load_stored (SlTrainPage *self, SlChartSeries **curves, gint64 run_id,
                            gboolean dashed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) metrics
      = sl_project_get_run_metrics (sl_session_get_project (self->session), run_id, &error);
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, run_id);

  for (int i = 0; i < N_CURVES; i++)
    {
      sl_chart_series_clear (curves[i]);
      sl_chart_series_set_dashed (curves[i], dashed);
    }
  if (metrics == NULL)
    {
      g_warning ("Could not read the metrics of run %" G_GINT64_FORMAT ": %s", run_id,
                 error->message);
      return;
    }
  if (dashed && run != NULL)
    {
      /* Names say which run a dashed line belongs to. */
      GdkRGBA color;

      for (int i = 0; i < N_CURVES; i++)
        {
          g_autofree char *lower = g_utf8_strdown (curve_styles[i].name, -1);
          g_autofree char *name = g_strdup_printf ("%s %s", run->name, lower);

          sl_chart_series_get_color (curves[i], &color);
          g_object_unref (curves[i]);
          curves[i] = sl_chart_series_new (name, &color);
          sl_chart_series_set_dashed (curves[i], TRUE);
        }
    }
  for (guint e = 0; e < metrics->len; e++)
    {
      const SlEpochMetrics *m = &g_array_index (metrics, SlEpochMetrics, e);
      double x = m->epoch + 1;

      sl_chart_series_append (curves[CURVE_TRAIN_LOSS], x, m->train_loss);
      sl_chart_series_append (curves[CURVE_TRAIN_ACCURACY], x, m->train_accuracy);
      sl_chart_series_append (curves[CURVE_LEARNING_RATE], x, m->learning_rate);
      if (!isnan (m->val_loss))
        {
          sl_chart_series_append (curves[CURVE_VAL_LOSS], x, m->val_loss);
          sl_chart_series_append (curves[CURVE_VAL_ACCURACY], x, m->val_accuracy);
        }
    }
  /* The step curves kept with the run replace its per-epoch training values. */
  _sl_train_page_load_history_steps (self, run_id, curves);
}

void
_sl_train_page_add_steps (SlTrainPage *self, const SlRunnerStep *steps, guint n)
{
  g_autofree double *xs = g_new (double, n);
  g_autofree double *ys = g_new (double, n);
  struct
  {
    int curve;
    gsize offset;
  } fields[] = {
    { CURVE_TRAIN_LOSS, G_STRUCT_OFFSET (SlRunnerStep, loss) },
    { CURVE_TRAIN_ACCURACY, G_STRUCT_OFFSET (SlRunnerStep, accuracy) },
    { CURVE_LEARNING_RATE, G_STRUCT_OFFSET (SlRunnerStep, learning_rate) },
  };

  for (guint i = 0; i < n; i++)
    xs[i] = steps[i].x;
  for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
    {
      for (guint i = 0; i < n; i++)
        ys[i] = G_STRUCT_MEMBER (double, &steps[i], fields[f].offset);
      sl_chart_series_append_many (self->live[fields[f].curve], xs, ys, n);
    }
}

void
_sl_train_page_add_epoch (SlTrainPage *self, const SlTrainProgress *p)
{
  double x = p->epoch + 1;

  if (isnan (p->val_loss))
    return;
  sl_chart_series_append (self->live[CURVE_VAL_LOSS], x, p->val_loss);
  sl_chart_series_append (self->live[CURVE_VAL_ACCURACY], x, p->val_accuracy);
}

SlChartSeries *
sl_train_page_get_series (SlTrainPage *self, const char *name)
{
  static const char *const names[N_CURVES] = {
    "train-loss", "val-loss", "train-accuracy", "val-accuracy", "learning-rate",
  };
  SlChartSeries **curves
      = self->shown_run >= 0 && self->shown_run == self->live_run ? self->live : self->stored;

  for (int i = 0; i < N_CURVES; i++)
    if (g_str_equal (name, names[i]))
      return curves[i];
  g_return_val_if_reached (NULL);
}
