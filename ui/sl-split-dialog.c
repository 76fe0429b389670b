/* sl-split-dialog.c: re-split the labelled images into training, validation and test with ratios and a seed. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-split-dialog.h"

struct _SlSplitDialog
{
  GtkWindow parent_instance;
  SlSession *session;
  gboolean busy;
  gint64 assigned;

  GtkSpinButton *train_spin;
  GtkSpinButton *val_spin;
  GtkSpinButton *test_spin;
  GtkSpinButton *seed_spin;
  GtkSwitch *resplit_switch;
  GtkLabel *total_label;
  GtkLabel *counts_heading;
  GtkGrid *counts_grid;
  GtkLabel *status_label;
};

G_DEFINE_FINAL_TYPE (SlSplitDialog, sl_split_dialog, GTK_TYPE_WINDOW)

enum
{
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static int
total_percent (SlSplitDialog *self)
{
  return gtk_spin_button_get_value_as_int (self->train_spin)
         + gtk_spin_button_get_value_as_int (self->val_spin)
         + gtk_spin_button_get_value_as_int (self->test_spin);
}

gboolean
sl_split_dialog_get_valid (SlSplitDialog *self)
{
  return total_percent (self) == 100 && gtk_spin_button_get_value_as_int (self->train_spin) > 0;
}

/* The one place that decides whether Apply can be pressed. */
static void
update_sensitivity (SlSplitDialog *self)
{
  int total = total_percent (self);
  g_autofree char *text = NULL;

  if (total != 100)
    text = g_strdup_printf ("The three parts must add up to 100 %% (now %d %%).", total);
  else if (gtk_spin_button_get_value_as_int (self->train_spin) == 0)
    text = g_strdup ("Training needs some of the images.");
  else
    text = g_strdup ("Total 100 %");
  gtk_label_set_text (self->total_label, text);
  if (sl_split_dialog_get_valid (self))
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->total_label), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->total_label), "dim-label");
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->total_label), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->total_label), "dim-label");
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "split.apply",
                                 !self->busy && sl_split_dialog_get_valid (self));
}

static void
on_ratio_changed (SlSplitDialog *self)
{
  update_sensitivity (self);
}

/* ---- Counts per class and split --------------------------------------------------------- */

static void
attach_cell (SlSplitDialog *self, const char *text, int column, int row, gboolean heading)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0 : 1);
  if (column == 0)
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
      gtk_widget_set_hexpand (label, TRUE);
    }
  else
    gtk_widget_add_css_class (label, "numeric");
  if (heading)
    gtk_widget_add_css_class (label, "dim-label");
  gtk_grid_attach (self->counts_grid, label, column, row, 1, 1);
}

static void
attach_count_row (SlSplitDialog *self, int row, const char *name, const gint64 counts[4],
                  gboolean heading)
{
  attach_cell (self, name, 0, row, heading);
  for (int c = 0; c < 4; c++)
    {
      g_autofree char *text = g_strdup_printf ("%'" G_GINT64_FORMAT, counts[c]);
      attach_cell (self, text, c + 1, row, heading);
    }
}

static void
show_counts (SlSplitDialog *self, const SlProjectStats *stats)
{
  static const char *const columns[] = { "Class", "Training", "Validation", "Test", "None" };
  gint64 totals[4] = { 0 };
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->counts_grid))) != NULL)
    gtk_grid_remove (self->counts_grid, child);
  for (int c = 0; c < 5; c++)
    attach_cell (self, columns[c], c, 0, TRUE);
  for (guint i = 0; i < stats->classes->len; i++)
    {
      const SlClassCount *cc = g_ptr_array_index (stats->classes, i);
      const gint64 counts[4] = { cc->train, cc->val, cc->test, cc->unsplit };

      attach_count_row (self, (int) i + 1, cc->name, counts, FALSE);
      for (int c = 0; c < 4; c++)
        totals[c] += counts[c];
    }
  if (stats->classes->len == 0)
    {
      GtkWidget *none = gtk_label_new ("No classes yet: label some images first.");

      gtk_widget_add_css_class (none, "dim-label");
      gtk_label_set_xalign (GTK_LABEL (none), 0);
      gtk_grid_attach (self->counts_grid, none, 0, 1, 5, 1);
    }
  else
    attach_count_row (self, (int) stats->classes->len + 1, "All classes", totals, TRUE);
}

/* ---- Work on a worker connection ---------------------------------------------------------- */

typedef struct
{
  char *path;
  gboolean apply;
  SlSplitConfig config;
  gint64 assigned;
  SlProjectStats stats;
  GArray *ids; /* gint64: every image, for labels-changed */
} Job;

static void
job_free (Job *job)
{
  g_free (job->path);
  sl_project_stats_clear (&job->stats);
  g_clear_pointer (&job->ids, g_array_unref);
  g_free (job);
}

static void
split_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (job->path, &error);
  g_autoptr (GPtrArray) images = NULL;

  if (db == NULL || (job->apply && !sl_project_split (db, &job->config, &job->assigned, &error))
      || !sl_project_get_stats (db, &job->stats, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (job->apply)
    {
      if ((images = sl_project_list_images (db, NULL, &error)) == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      job->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), images->len);
      for (guint i = 0; i < images->len; i++)
        g_array_append_val (job->ids, ((SlImageInfo *) g_ptr_array_index (images, i))->id);
    }
  g_task_return_boolean (task, TRUE);
}

static void
set_busy (SlSplitDialog *self, gboolean busy)
{
  self->busy = busy;
  update_sensitivity (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
split_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlSplitDialog *self = SL_SPLIT_DIALOG (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      gtk_label_set_text (self->status_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_widget_set_visible (GTK_WIDGET (self->status_label), TRUE);
      set_busy (self, FALSE);
      return;
    }
  show_counts (self, &job->stats);
  if (job->apply)
    {
      g_autofree char *text = g_strdup_printf ("%'" G_GINT64_FORMAT " image%s got a split.",
                                               job->assigned, job->assigned == 1 ? "" : "s");

      self->assigned = job->assigned;
      gtk_label_set_text (self->counts_heading, "New Split");
      gtk_label_set_text (self->status_label, text);
      gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_widget_set_visible (GTK_WIDGET (self->status_label), TRUE);
      sl_session_notify_labels_changed (self->session, (const gint64 *) job->ids->data,
                                        job->ids->len);
    }
  set_busy (self, FALSE);
}

static void
run_job (SlSplitDialog *self, gboolean apply)
{
  /* No cancellable: a split that ran must reach the session even if the dialog closed. */
  g_autoptr (GTask) task = g_task_new (self, NULL, split_done, NULL);
  Job *job = g_new0 (Job, 1);

  job->path = g_strdup (sl_session_get_path (self->session));
  job->apply = apply;
  sl_split_config_init (&job->config);
  job->config.train = gtk_spin_button_get_value_as_int (self->train_spin) / 100.0;
  job->config.val = gtk_spin_button_get_value_as_int (self->val_spin) / 100.0;
  job->config.test = gtk_spin_button_get_value_as_int (self->test_spin) / 100.0;
  job->config.seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  job->config.resplit = gtk_switch_get_active (self->resplit_switch);
  g_task_set_source_tag (task, run_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  set_busy (self, TRUE);
  g_task_run_in_thread (task, split_thread);
}

void
sl_split_dialog_apply (SlSplitDialog *self)
{
  g_return_if_fail (SL_IS_SPLIT_DIALOG (self));
  if (self->busy || !sl_split_dialog_get_valid (self))
    return;
  run_job (self, TRUE);
}

static void
apply_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  sl_split_dialog_apply (SL_SPLIT_DIALOG (widget));
}

/* ---- Object ---------------------------------------------------------------------------- */

void
sl_split_dialog_set_values (SlSplitDialog *self, int train, int val, int test, guint64 seed,
                            gboolean resplit)
{
  gtk_spin_button_set_value (self->train_spin, train);
  gtk_spin_button_set_value (self->val_spin, val);
  gtk_spin_button_set_value (self->test_spin, test);
  gtk_spin_button_set_value (self->seed_spin, (double) seed);
  gtk_switch_set_active (self->resplit_switch, resplit);
  update_sensitivity (self);
}

gboolean
sl_split_dialog_get_busy (SlSplitDialog *self)
{
  return self->busy;
}

gint64
sl_split_dialog_get_assigned (SlSplitDialog *self)
{
  return self->assigned;
}

static void
sl_split_dialog_dispose (GObject *object)
{
  SlSplitDialog *self = SL_SPLIT_DIALOG (object);

  /* The window tracks its child itself: let it go before the template does. */
  gtk_window_set_child (GTK_WINDOW (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_SPLIT_DIALOG);
  G_OBJECT_CLASS (sl_split_dialog_parent_class)->dispose (object);
}

static void
sl_split_dialog_finalize (GObject *object)
{
  SlSplitDialog *self = SL_SPLIT_DIALOG (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_split_dialog_parent_class)->finalize (object);
}

static void
sl_split_dialog_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_BUSY: g_value_set_boolean (value, SL_SPLIT_DIALOG (object)->busy); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_split_dialog_class_init (SlSplitDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_split_dialog_dispose;
  object_class->finalize = sl_split_dialog_finalize;
  object_class->get_property = sl_split_dialog_get_property;

  properties[PROP_BUSY]
      = g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-split-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, train_spin);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, val_spin);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, test_spin);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, resplit_switch);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, total_label);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, counts_heading);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, counts_grid);
  gtk_widget_class_bind_template_child (widget_class, SlSplitDialog, status_label);
  gtk_widget_class_bind_template_callback (widget_class, on_ratio_changed);

  gtk_widget_class_install_action (widget_class, "split.apply", NULL, apply_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
sl_split_dialog_init (SlSplitDialog *self)
{
  self->assigned = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  update_sensitivity (self);
}

SlSplitDialog *
sl_split_dialog_new (GtkWidget *parent, SlSession *session)
{
  SlSplitDialog *self;
  GtkRoot *root = parent != NULL ? gtk_widget_get_root (parent) : NULL;

  g_return_val_if_fail (SL_IS_SESSION (session), NULL);
  self = g_object_new (SL_TYPE_SPLIT_DIALOG, NULL);
  self->session = g_object_ref (session);
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (self), GTK_WINDOW (root));
  run_job (self, FALSE);
  return self;
}
