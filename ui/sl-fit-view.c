/* sl-fit-view.c: the Train page's view of an anomaly run: its three phases, Cancel, and the threshold it set. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-fit-view.h"

#include <math.h>

struct _SlFitView
{
  GtkWidget parent_instance;

  GtkImage *features_icon, *bank_icon, *threshold_icon;
  GtkLabel *features_title, *bank_title, *threshold_title;
  GtkLabel *features_detail, *bank_detail, *threshold_detail;
  GtkWidget *cancel_button;
  GtkWidget *result_box;
  GtkLabel *result_title;
  GtkLabel *result_statement;
  GtkLabel *result_hint;
  char *result_text;
};

G_DEFINE_FINAL_TYPE (SlFitView, sl_fit_view, GTK_TYPE_WIDGET)

typedef enum
{
  PHASE_WAITING,
  PHASE_RUNNING,
  PHASE_DONE,
} PhaseState;

SlFitPhase
sl_fit_phase_of (const SlTrainProgress *p, double *fraction)
{
  SlFitPhase phase;
  double f;

  /* The job may announce every phase's size from the start: a phase runs once the one before
   * is complete (or its own count moved). */
  if (p->score_done > 0 || (p->fit_total > 0 && p->fit_done >= p->fit_total))
    phase = SL_FIT_PHASE_THRESHOLD,
    f = p->score_total > 0 ? (double) p->score_done / p->score_total : 1;
  else if (p->fit_total > 0)
    phase = SL_FIT_PHASE_BANK, f = (double) p->fit_done / p->fit_total;
  else
    {
      phase = SL_FIT_PHASE_FEATURES;
      f = p->features_total > 0 ? (double) p->features_done / p->features_total : 0;
    }
  if (fraction != NULL)
    *fraction = CLAMP (f, 0, 1);
  return phase;
}

static void
phase_widgets (SlFitView *self, SlFitPhase phase, GtkImage **icon, GtkLabel **title,
               GtkLabel **detail)
{
  GtkImage *icons[] = { self->features_icon, self->bank_icon, self->threshold_icon };
  GtkLabel *titles[] = { self->features_title, self->bank_title, self->threshold_title };
  GtkLabel *details[] = { self->features_detail, self->bank_detail, self->threshold_detail };

  *icon = icons[phase];
  *title = titles[phase];
  *detail = details[phase];
}

static void
set_phase (SlFitView *self, SlFitPhase phase, PhaseState state, const char *detail_text)
{
  static const char *const icon_names[]
      = { "radio-symbolic", "media-playback-start-symbolic", "emblem-ok-symbolic" };
  static const char *const styles[] = { "dim-label", "accent", "success" };
  GtkImage *icon;
  GtkLabel *title, *detail;

  phase_widgets (self, phase, &icon, &title, &detail);
  gtk_image_set_from_icon_name (icon, icon_names[state]);
  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (icon), styles[i]);
  gtk_widget_add_css_class (GTK_WIDGET (icon), styles[state]);
  if (state == PHASE_RUNNING)
    gtk_widget_add_css_class (GTK_WIDGET (title), "heading");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (title), "heading");
  if (detail_text != NULL)
    gtk_label_set_text (detail, detail_text);
}

static char *
phase_detail (SlFitPhase phase, const SlTrainProgress *p, gboolean done)
{
  switch (phase)
    {
      case SL_FIT_PHASE_FEATURES:
        if (done)
          return g_strdup_printf ("%'" G_GINT64_FORMAT " images", p->features_total);
        return g_strdup_printf ("%'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT " images",
                                p->features_done, p->features_total);
      case SL_FIT_PHASE_BANK:
        if (done)
          return g_strdup_printf ("%'" G_GINT64_FORMAT " patches kept", p->fit_total);
        return g_strdup_printf ("%'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT " patches chosen",
                                p->fit_done, p->fit_total);
      case SL_FIT_PHASE_THRESHOLD:
      default:
        if (done)
          return g_strdup_printf ("%'" G_GINT64_FORMAT " images scored", p->score_total);
        return g_strdup_printf ("%'" G_GINT64_FORMAT " of %'" G_GINT64_FORMAT " images scored",
                                p->score_done, p->score_total);
    }
}

void
sl_fit_view_reset (SlFitView *self)
{
  g_return_if_fail (SL_IS_FIT_VIEW (self));

  for (int i = 0; i < SL_FIT_N_PHASES; i++)
    set_phase (self, i, PHASE_WAITING, i == 0 ? "Preparing the images…" : "Waiting");
  gtk_widget_set_visible (self->result_box, FALSE);
  g_clear_pointer (&self->result_text, g_free);
}

void
sl_fit_view_set_progress (SlFitView *self, const SlTrainProgress *p)
{
  SlFitPhase phase;

  g_return_if_fail (SL_IS_FIT_VIEW (self));
  g_return_if_fail (p != NULL);

  phase = sl_fit_phase_of (p, NULL);
  for (int i = 0; i < SL_FIT_N_PHASES; i++)
    {
      g_autofree char *text = NULL;

      if (i < (int) phase)
        set_phase (self, i, PHASE_DONE, (text = phase_detail (i, p, TRUE)));
      else if (i == (int) phase)
        set_phase (self, i, PHASE_RUNNING, (text = phase_detail (i, p, FALSE)));
      else
        set_phase (self, i, PHASE_WAITING, "Waiting");
    }
  gtk_widget_set_visible (self->result_box, FALSE);
}

void
sl_fit_view_show_result (SlFitView *self, double threshold, const char *statement)
{
  g_autofree char *title = NULL, *full = NULL;

  g_return_if_fail (SL_IS_FIT_VIEW (self));

  for (int i = 0; i < SL_FIT_N_PHASES; i++)
    set_phase (self, i, PHASE_DONE, "Done");
  if (isfinite (threshold))
    title = g_strdup_printf ("Threshold %.4g", threshold);
  else
    title = g_strdup ("The anomaly model is fitted");
  gtk_label_set_text (self->result_title, title);
  full = g_strconcat (isfinite (threshold) ? "A part scoring above it is anomalous. " : "",
                      statement != NULL ? statement : "", NULL);
  gtk_label_set_text (self->result_statement, full);
  gtk_widget_set_visible (GTK_WIDGET (self->result_statement), *full != '\0');
  gtk_widget_set_visible (GTK_WIDGET (self->result_hint), TRUE);
  gtk_widget_set_visible (self->result_box, TRUE);
  g_free (self->result_text);
  self->result_text = g_strconcat (title, "\n", full, NULL);
}

void
sl_fit_view_show_stopped (SlFitView *self, const char *message)
{
  g_return_if_fail (SL_IS_FIT_VIEW (self));

  gtk_label_set_text (self->result_title, "The fit did not finish");
  gtk_label_set_text (self->result_statement, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->result_statement), message != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->result_hint), FALSE);
  gtk_widget_set_visible (self->result_box, TRUE);
  g_free (self->result_text);
  self->result_text
      = g_strconcat ("The fit did not finish", message != NULL ? "\n" : "", message, NULL);
}

void
sl_fit_view_set_phase_detail (SlFitView *self, SlFitPhase phase, const char *text)
{
  GtkImage *icon;
  GtkLabel *title, *detail;

  g_return_if_fail (SL_IS_FIT_VIEW (self));
  g_return_if_fail (phase < SL_FIT_N_PHASES);
  phase_widgets (self, phase, &icon, &title, &detail);
  gtk_label_set_text (detail, text);
}

void
sl_fit_view_set_running (SlFitView *self, gboolean running)
{
  g_return_if_fail (SL_IS_FIT_VIEW (self));
  gtk_widget_set_visible (self->cancel_button, running);
}

const char *
sl_fit_view_get_phase_detail (SlFitView *self, SlFitPhase phase)
{
  GtkImage *icon;
  GtkLabel *title, *detail;

  g_return_val_if_fail (SL_IS_FIT_VIEW (self), NULL);
  g_return_val_if_fail (phase < SL_FIT_N_PHASES, NULL);
  phase_widgets (self, phase, &icon, &title, &detail);
  return gtk_label_get_text (detail);
}

const char *
sl_fit_view_get_result_text (SlFitView *self)
{
  g_return_val_if_fail (SL_IS_FIT_VIEW (self), NULL);
  return self->result_text;
}

GtkWidget *
sl_fit_view_new (void)
{
  return g_object_new (SL_TYPE_FIT_VIEW, NULL);
}

static void
sl_fit_view_dispose (GObject *object)
{
  SlFitView *self = SL_FIT_VIEW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_FIT_VIEW);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_pointer (&self->result_text, g_free);
  G_OBJECT_CLASS (sl_fit_view_parent_class)->dispose (object);
}

static void
sl_fit_view_class_init (SlFitViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = sl_fit_view_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-fit-view.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SlFitView, name)
  BIND (features_icon);
  BIND (bank_icon);
  BIND (threshold_icon);
  BIND (features_title);
  BIND (bank_title);
  BIND (threshold_title);
  BIND (features_detail);
  BIND (bank_detail);
  BIND (threshold_detail);
  BIND (cancel_button);
  BIND (result_box);
  BIND (result_title);
  BIND (result_statement);
  BIND (result_hint);
#undef BIND
}

static void
sl_fit_view_init (SlFitView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  sl_fit_view_reset (self);
}
