/* sl-train-settings.c: the form for a new run's settings: defaults from the data, edits, runs' recipes. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-settings-private.h"

#include <math.h>
#include <stdlib.h>

#include "sl-settings.h"
#include "sl-session.h"
#include "sl-vision.h"

G_DEFINE_FINAL_TYPE (SlTrainSettings, sl_train_settings, GTK_TYPE_WIDGET)

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *const optimizer_ids[] = { "adam", "adamw", "sgd" };
static const char *const optimizer_hints[] = {
  "Adapts each weight's steps; suits most data",
  "Adam that decays weights on their own",
  "Plain steps with momentum; often needs a higher rate",
};
static const char *const schedule_hints[] = {
  "The same rate from start to end",
  "Cut by the factor below every few epochs",
  "Ramps up, then eases down smoothly to the end",
};

enum
{
  WEIGHTS_NONE,
  WEIGHTS_BALANCED,
  WEIGHTS_CUSTOM, /* only after loading a run with manual weights */
};

/* ---- Controls ---------------------------------------------------------------------------------- */

static GtkWidget *
field_widget (SlTrainSettings *self, SlTrainField field)
{
  GtkWidget *const widgets[N_FIELDS] = {
    [F_PRESET] = self->preset_drop,
    [F_EPOCHS] = self->epochs_spin,
    [F_BATCH] = self->batch_drop,
    [F_LR] = self->lr_spin,
    [F_SCHEDULE] = self->schedule_drop,
    [F_WARMUP] = self->warmup_spin,
    [F_STEP_EPOCHS] = self->step_epochs_spin,
    [F_GAMMA] = self->gamma_spin,
    [F_PATIENCE] = self->patience_spin,
    [F_DEVICE] = self->device_drop,
    [F_THREADS] = self->threads_spin,
    [F_OPTIMIZER] = self->optimizer_drop,
    [F_WEIGHT_DECAY] = self->weight_decay_spin,
    [F_SMOOTHING] = self->smoothing_spin,
    [F_CLASS_WEIGHTS] = self->class_weights_drop,
    [F_AUGMENT] = self->augment_switch,
    [F_SEED] = self->seed_spin,
    [F_WORKERS] = self->workers_spin,
    [F_MODEL] = self->scratch_check,
    [F_FINETUNE] = self->finetune_head_check,
    [F_FINETUNE_BLOCKS] = self->finetune_blocks_spin,
    [F_INPUT_SIZE] = self->input_size_drop,
  };

  return widgets[field];
}

static double
spin_value (GtkWidget *spin)
{
  return gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin));
}

static int
spin_int (GtkWidget *spin)
{
  return gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (spin));
}

static void
set_spin (GtkWidget *spin, double value)
{
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
}

static guint
drop_index (GtkWidget *drop)
{
  return gtk_drop_down_get_selected (GTK_DROP_DOWN (drop));
}

static void
set_drop_index (GtkWidget *drop, guint index)
{
  gtk_drop_down_set_selected (GTK_DROP_DOWN (drop), index);
}

static const char *
drop_string (GtkWidget *drop)
{
  GObject *item = gtk_drop_down_get_selected_item (GTK_DROP_DOWN (drop));

  return item != NULL ? gtk_string_object_get_string (GTK_STRING_OBJECT (item)) : NULL;
}

/* Selects the item showing text; adds it (at the end) when `add` and missing. */
static gboolean
set_drop_string (GtkWidget *drop, const char *text, gboolean add)
{
  GtkStringList *list = GTK_STRING_LIST (gtk_drop_down_get_model (GTK_DROP_DOWN (drop)));
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));

  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (gtk_string_list_get_string (list, i), text) == 0)
      {
        set_drop_index (drop, i);
        return TRUE;
      }
  if (!add)
    return FALSE;
  gtk_string_list_append (list, text);
  set_drop_index (drop, n);
  return TRUE;
}

/* The learning rate spin holds log10 (rate) and shows the rate with two digits. */
static void
format_lr (double log_rate, char *text, gsize size)
{
  g_ascii_formatd (text, size, "%.2g", pow (10, log_rate));
}

static gboolean
on_lr_output (GtkSpinButton *spin, gpointer data)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  format_lr (gtk_adjustment_get_value (gtk_spin_button_get_adjustment (spin)), text, sizeof text);
  if (g_strcmp0 (text, gtk_editable_get_text (GTK_EDITABLE (spin))) != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), text);
  return TRUE;
}

static int
on_lr_input (GtkSpinButton *spin, double *value, gpointer data)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (spin));
  char *end = NULL;
  double rate = g_ascii_strtod (text, &end);

  if (end == text || *end != '\0' || !(rate > 0) || !isfinite (rate))
    return GTK_INPUT_ERROR;
  *value = CLAMP (log10 (rate), -4, -1);
  return TRUE;
}

/* Fractions without trailing zeros: 0, 0.0005, 0.1, 1.5. */
static gboolean
on_short_output (GtkSpinButton *spin, gpointer data)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  double value = gtk_adjustment_get_value (gtk_spin_button_get_adjustment (spin));

  g_ascii_formatd (text, sizeof text, "%.4g", fabs (value) < 1e-9 ? 0 : value);
  if (g_strcmp0 (text, gtk_editable_get_text (GTK_EDITABLE (spin))) != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), text);
  return TRUE;
}

static double
get_lr (SlTrainSettings *self)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  format_lr (spin_value (self->lr_spin), text, sizeof text);
  return g_ascii_strtod (text, NULL);
}

static void
set_lr (SlTrainSettings *self, double rate)
{
  set_spin (self->lr_spin, log10 (CLAMP (rate, 1e-4, 1e-1)));
}

/* ---- Defaults ---------------------------------------------------------------------------------- */

/* The defaults for the data set and the model chosen now are sightline-cli's too: one rule, in
 * projects/. */
static void
default_config (SlTrainSettings *self, SlRunConfig *c)
{
  sl_run_config_init (c);
  g_free (c->backbone);
  c->backbone = _sl_train_settings_dup_backbone (self);
  sl_run_config_apply_data_defaults (c, self->dataset_known ? self->train_images : -1,
                                     self->val_images, self->imbalance);
}

static void
apply_default (SlTrainSettings *self, SlTrainField field, const SlRunConfig *c)
{
  g_autofree char *batch = NULL;

  switch (field)
    {
      case F_PRESET:
        /* The projects' rule's preset (the latest run's) when it is one the form offers. */
        if ((self->default_preset == NULL
             || !set_drop_string (self->preset_drop, self->default_preset, FALSE))
            && c->preset != NULL)
          set_drop_string (self->preset_drop, c->preset, FALSE);
        break;
      case F_EPOCHS: set_spin (self->epochs_spin, c->epochs); break;
      case F_PATIENCE: set_spin (self->patience_spin, c->patience); break;
      case F_THREADS:
        set_spin (self->threads_spin,
                  self->settings != NULL ? g_settings_get_int (self->settings, "threads") : 0);
        break;
      case F_BATCH:
        batch = g_strdup_printf ("%d", c->batch_size);
        set_drop_string (self->batch_drop, batch, TRUE);
        break;
      case F_LR: set_lr (self, c->learning_rate); break;
      case F_SCHEDULE: set_drop_index (self->schedule_drop, c->schedule); break;
      case F_WARMUP: set_spin (self->warmup_spin, c->warmup_epochs); break;
      case F_STEP_EPOCHS: set_spin (self->step_epochs_spin, c->step_epochs); break;
      case F_GAMMA: set_spin (self->gamma_spin, c->gamma); break;
      case F_DEVICE: _sl_train_settings_select_default_device (self); break;
      case F_OPTIMIZER: set_drop_index (self->optimizer_drop, 0); break;
      case F_WEIGHT_DECAY: set_spin (self->weight_decay_spin, c->weight_decay); break;
      case F_SMOOTHING: set_spin (self->smoothing_spin, c->label_smoothing); break;
      case F_CLASS_WEIGHTS:
        set_drop_index (self->class_weights_drop, c->class_weights == SL_CLASS_WEIGHTS_AUTO
                                                      ? WEIGHTS_BALANCED
                                                      : WEIGHTS_NONE);
        break;
      case F_AUGMENT: gtk_switch_set_active (GTK_SWITCH (self->augment_switch), TRUE); break;
      case F_SEED: set_spin (self->seed_spin, (double) c->seed); break;
      case F_WORKERS: set_spin (self->workers_spin, c->workers); break;
      case F_MODEL: break; /* chosen first, by apply_defaults */
      case F_FINETUNE: _sl_train_settings_set_finetune (self, c->finetune, 0); break;
      case F_FINETUNE_BLOCKS:
        if (c->finetune_blocks > 0)
          set_spin (self->finetune_blocks_spin, c->finetune_blocks);
        break;
      case F_INPUT_SIZE: _sl_train_settings_set_input_size (self, c->input_size); break;
      case N_FIELDS:
      default: g_assert_not_reached ();
    }
}

/* ---- Keeping the form consistent ------------------------------------------------------------- */

static void
update_actions (SlTrainSettings *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "settings.reset",
                                 !self->locked && self->edited != 0);
}

void
_sl_train_settings_emit_changed (SlTrainSettings *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Shows the rows and sentences that depend on other values. */
void
_sl_train_settings_refresh (SlTrainSettings *self)
{
  guint schedule = drop_index (self->schedule_drop);

  gtk_widget_set_visible (self->warmup_row, schedule == SL_LR_SCHEDULE_COSINE);
  gtk_widget_set_visible (self->step_epochs_row, schedule == SL_LR_SCHEDULE_STEP);
  gtk_widget_set_visible (self->gamma_row, schedule == SL_LR_SCHEDULE_STEP);
  gtk_label_set_text (GTK_LABEL (self->schedule_hint),
                      schedule < G_N_ELEMENTS (schedule_hints) ? schedule_hints[schedule] : "");
  gtk_label_set_text (GTK_LABEL (self->optimizer_hint),
                      optimizer_hints[MIN (drop_index (self->optimizer_drop), 2)]);
  _sl_train_settings_show_model_choice (self);
  _sl_train_settings_show_devices (self);
  _sl_train_settings_show_augment (self);
  _sl_train_settings_update_model (self);
  update_actions (self);
}

void
_sl_train_settings_apply_defaults (SlTrainSettings *self)
{
  SlRunConfig c;

  self->updating = TRUE;
  /* The model first: the other defaults depend on it. The rule names a backbone only when it is
   * installed. */
  if (!(self->edited & (1u << F_MODEL)))
    _sl_train_settings_set_backbone (
        self, _sl_train_settings_backbone_installed (self, self->default_backbone)
                  ? self->default_backbone
                  : NULL);
  default_config (self, &c);
  for (int f = 0; f < N_FIELDS; f++)
    if (!(self->edited & (1u << f)))
      apply_default (self, f, &c);
  self->updating = FALSE;
  sl_run_config_clear (&c);
  _sl_train_settings_refresh (self);
  _sl_train_settings_emit_changed (self);
}

static void
control_changed (SlTrainSettings *self, GtkWidget *widget)
{
  if (self->updating)
    return;
  if (widget == self->device_drop)
    {
      guint i = drop_index (widget);

      /* An unusable GPU cannot be chosen, even from the keyboard. */
      if (!_sl_train_settings_device_is_usable (self, i))
        {
          self->updating = TRUE;
          set_drop_index (widget, self->device_selected);
          self->updating = FALSE;
          return;
        }
      self->device_selected = i;
    }
  for (int f = 0; f < N_FIELDS; f++)
    if (field_widget (self, f) == widget)
      self->edited |= 1u << f;
  _sl_train_settings_refresh (self);
  _sl_train_settings_emit_changed (self);
}

static void
on_spin_changed (GtkSpinButton *spin, SlTrainSettings *self)
{
  control_changed (self, GTK_WIDGET (spin));
}

static void
on_notify_changed (GObject *object, GParamSpec *pspec, SlTrainSettings *self)
{
  control_changed (self, GTK_WIDGET (object));
}

void
_sl_train_settings_model_toggled (GtkCheckButton *check, SlTrainSettings *self)
{
  GtkWidget *widget = GTK_WIDGET (check);

  /* A radio group toggles twice: the choice left and the one made. */
  if (self->updating || !gtk_check_button_get_active (check))
    return;
  if (widget == self->finetune_head_check || widget == self->finetune_last_check
      || widget == self->finetune_all_check)
    {
      self->edited |= 1u << F_FINETUNE;
      _sl_train_settings_refresh (self);
      _sl_train_settings_emit_changed (self);
      return;
    }
  /* Another model: the values that follow from it (epochs, rate, …) follow, unless changed. */
  self->edited |= 1u << F_MODEL;
  _sl_train_settings_apply_defaults (self);
}

static void
on_model_toggled (GtkCheckButton *check, SlTrainSettings *self)
{
  _sl_train_settings_model_toggled (check, self);
}

/* ---- Data set ---------------------------------------------------------------------------------- */

static void
apply_dataset (SlTrainSettings *self, gint64 train_images, gint64 val_images, int classes,
               double imbalance)
{
  self->dataset_known = TRUE;
  self->train_images = MAX (train_images, 0);
  self->val_images = MAX (val_images, 0);
  self->classes = classes;
  self->imbalance = imbalance;
  /* Newly labelled images may now give the input size. */
  if (!self->have_spec)
    g_clear_pointer (&self->spec_error, g_free);
  _sl_train_settings_apply_defaults (self);
}

void
sl_train_settings_set_dataset (SlTrainSettings *self, gint64 train_images, gint64 val_images,
                               int classes)
{
  SlProjectStats stats = { 0 };
  double imbalance = 1;

  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  if (self->session != NULL
      && sl_project_get_stats (sl_session_get_project (self->session), &stats, NULL))
    imbalance = sl_project_stats_train_imbalance (&stats);
  sl_project_stats_clear (&stats);
  apply_dataset (self, train_images, val_images, classes, imbalance);
}

void
sl_train_settings_read_dataset (SlTrainSettings *self)
{
  g_autoptr (GError) error = NULL;
  SlProjectStats stats = { 0 };
  gint64 train = 0, val = 0;
  int classes = 0;

  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  g_return_if_fail (self->session != NULL);

  if (!sl_project_get_stats (sl_session_get_project (self->session), &stats, &error))
    {
      g_warning ("Could not count the images: %s", error->message);
      return;
    }
  /* Labelled images without a split count as the split a new run gives them. */
  for (guint i = 0; i < stats.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats.classes, i);

      train += c->train + c->unsplit * 7 / 10;
      val += c->val + c->unsplit * 15 / 100;
      classes += c->total > 0;
    }
  apply_dataset (self, train, val, classes, sl_project_stats_train_imbalance (&stats));
  sl_project_stats_clear (&stats);
}

void
sl_train_settings_reset (SlTrainSettings *self)
{
  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  self->edited = 0;
  self->momentum = 0.9;
  self->min_learning_rate = 0;
  self->backbone_lr_ratio = 0;
  g_clear_pointer (&self->manual_weights, g_array_unref);
  if (drop_index (self->class_weights_drop) == WEIGHTS_CUSTOM)
    set_drop_index (self->class_weights_drop, WEIGHTS_NONE);
  gtk_string_list_splice (
      GTK_STRING_LIST (gtk_drop_down_get_model (GTK_DROP_DOWN (self->class_weights_drop))),
      WEIGHTS_CUSTOM,
      g_list_model_get_n_items (gtk_drop_down_get_model (GTK_DROP_DOWN (self->class_weights_drop)))
          - WEIGHTS_CUSTOM,
      NULL);
  _sl_train_settings_apply_defaults (self);
}

static void
reset_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  sl_train_settings_reset (SL_TRAIN_SETTINGS (widget));
}

/* ---- Session ------------------------------------------------------------------------------------ */

static void
on_pipeline_changed (SlSession *session, SlTrainSettings *self)
{
  _sl_train_settings_read_pipeline (self);
  _sl_train_settings_refresh (self);
  _sl_train_settings_emit_changed (self);
}

void
sl_train_settings_set_session (SlTrainSettings *self, SlSession *session)
{
  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  if (session != NULL)
    g_signal_connect_object (session, "pipeline-changed", G_CALLBACK (on_pipeline_changed), self,
                             0);
  _sl_train_settings_read_pipeline (self);
  _sl_train_settings_refresh (self);
  /* The default model depends on the project (a new one starts pretrained). */
  _sl_train_settings_list_backbones (self);
}

/* ---- Recipes ------------------------------------------------------------------------------------ */

void
sl_train_settings_get_config (SlTrainSettings *self, SlRunConfig *config)
{
  guint weights = drop_index (self->class_weights_drop);

  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  sl_run_config_init (config);
  g_free (config->preset);
  config->preset = _sl_train_settings_dup_preset (self);
  g_free (config->backbone);
  config->backbone = _sl_train_settings_dup_backbone (self);
  if (config->backbone != NULL)
    {
      SlRunConfig rule;

      g_clear_pointer (&config->preset, g_free);
      config->finetune = _sl_train_settings_get_finetune (self, &config->finetune_blocks);
      config->input_size = _sl_train_settings_get_input_size (self);
      default_config (self, &rule);
      config->backbone_lr_ratio
          = self->backbone_lr_ratio > 0 ? self->backbone_lr_ratio : rule.backbone_lr_ratio;
      sl_run_config_clear (&rule);
    }
  g_free (config->optimizer);
  config->optimizer = g_strdup (optimizer_ids[MIN (drop_index (self->optimizer_drop), 2)]);
  config->epochs = spin_int (self->epochs_spin);
  config->batch_size = atoi (drop_string (self->batch_drop));
  config->learning_rate = get_lr (self);
  config->momentum = self->momentum;
  config->weight_decay = spin_value (self->weight_decay_spin);
  config->label_smoothing = spin_value (self->smoothing_spin);
  config->patience = spin_int (self->patience_spin);
  config->threads = spin_int (self->threads_spin);
  config->workers = spin_int (self->workers_spin);
  config->seed = (guint64) spin_value (self->seed_spin);
  config->schedule = drop_index (self->schedule_drop);
  /* Only the cosine schedule shows a warm-up; the others start at full rate. */
  config->warmup_epochs
      = config->schedule == SL_LR_SCHEDULE_COSINE ? spin_value (self->warmup_spin) : 0;
  config->min_learning_rate = MIN (self->min_learning_rate, config->learning_rate);
  config->step_epochs = spin_int (self->step_epochs_spin);
  config->gamma = spin_value (self->gamma_spin);
  config->class_weights = weights == WEIGHTS_BALANCED ? SL_CLASS_WEIGHTS_AUTO
                          : weights == WEIGHTS_CUSTOM && self->manual_weights != NULL
                              ? SL_CLASS_WEIGHTS_MANUAL
                              : SL_CLASS_WEIGHTS_NONE;
  if (config->class_weights == SL_CLASS_WEIGHTS_MANUAL)
    config->manual_weights = g_array_ref (self->manual_weights);
  if (!gtk_switch_get_active (GTK_SWITCH (self->augment_switch)))
    {
      /* Explicitly none: NULL would take the project's setting. */
      sl_augment_config none;
      char *json;

      sl_augment_config_init (&none);
      json = sl_augment_config_to_json (&none);
      config->augment_json = g_strdup (json);
      sl_free (json);
    }
}

static gboolean
augment_is_active (const char *json)
{
  sl_augment_config config;

  sl_augment_config_init (&config);
  return json != NULL && sl_augment_config_from_json (json, &config, NULL) == SL_OK
         && sl_augment_config_is_active (&config);
}

gboolean
sl_train_settings_load_config_json (SlTrainSettings *self, const char *config_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) weights = NULL;
  g_autofree char *batch = NULL;
  SlRunConfig c;

  g_return_val_if_fail (SL_IS_TRAIN_SETTINGS (self), FALSE);
  if (config_json == NULL || !sl_run_config_from_json (config_json, &c, &weights, &error))
    return FALSE;
  self->updating = TRUE;
  /* A run with its own model description keeps the preset shown now. */
  _sl_train_settings_set_backbone (self, c.backbone);
  if (c.backbone != NULL)
    {
      _sl_train_settings_set_finetune (self, c.finetune, c.finetune_blocks);
      _sl_train_settings_set_input_size (self, c.input_size);
    }
  if (c.preset != NULL)
    set_drop_string (self->preset_drop, c.preset, TRUE);
  self->backbone_lr_ratio = c.backbone_lr_ratio;
  set_spin (self->epochs_spin, c.epochs);
  batch = g_strdup_printf ("%d", c.batch_size);
  set_drop_string (self->batch_drop, batch, TRUE);
  set_lr (self, c.learning_rate);
  set_drop_index (self->schedule_drop, c.schedule);
  if (c.schedule == SL_LR_SCHEDULE_COSINE)
    set_spin (self->warmup_spin, c.warmup_epochs);
  set_spin (self->step_epochs_spin, c.step_epochs);
  set_spin (self->gamma_spin, c.gamma);
  set_spin (self->patience_spin, c.patience);
  set_spin (self->threads_spin, c.threads);
  for (guint i = 0; i < G_N_ELEMENTS (optimizer_ids); i++)
    if (g_strcmp0 (c.optimizer, optimizer_ids[i]) == 0)
      set_drop_index (self->optimizer_drop, i);
  set_spin (self->weight_decay_spin, c.weight_decay);
  set_spin (self->smoothing_spin, c.label_smoothing);
  g_clear_pointer (&self->manual_weights, g_array_unref);
  if (c.class_weights == SL_CLASS_WEIGHTS_MANUAL && weights != NULL)
    {
      self->manual_weights = g_array_ref (weights);
      set_drop_string (self->class_weights_drop, "Custom (from the run)", TRUE);
    }
  else
    set_drop_index (self->class_weights_drop,
                    c.class_weights == SL_CLASS_WEIGHTS_AUTO ? WEIGHTS_BALANCED : WEIGHTS_NONE);
  gtk_switch_set_active (GTK_SWITCH (self->augment_switch), augment_is_active (c.augment_json));
  set_spin (self->seed_spin, (double) c.seed);
  set_spin (self->workers_spin, c.workers);
  self->momentum = c.momentum;
  self->min_learning_rate = c.min_learning_rate;
  self->updating = FALSE;
  /* A recipe is the user's choice: new data set defaults leave it alone. */
  self->edited = ((1u << N_FIELDS) - 1) & ~(1u << F_DEVICE);
  sl_run_config_clear (&c);
  _sl_train_settings_refresh (self);
  _sl_train_settings_emit_changed (self);
  return TRUE;
}

gboolean
sl_train_settings_validate (SlTrainSettings *self, char **message)
{
  g_autofree char *text = NULL;
  g_autofree char *preset = NULL;
  g_autofree char *backbone = _sl_train_settings_dup_backbone (self);
  int epochs = spin_int (self->epochs_spin);
  guint schedule = drop_index (self->schedule_drop);
  const char *model_error = NULL;
  gboolean ok;

  g_return_val_if_fail (SL_IS_TRAIN_SETTINGS (self), FALSE);
  if (self->dataset_known && self->train_images == 0)
    text = g_strdup ("There are no training images yet: label some images and split them into "
                     "training and validation on the Dataset page");
  else if (self->dataset_known && self->classes < 2)
    text = g_strdup ("Training needs labelled images of at least two classes");
  else if (schedule == SL_LR_SCHEDULE_COSINE && spin_value (self->warmup_spin) * 2 > epochs)
    text = g_strdup_printf ("The warm-up (%g epochs) can be at most half of the %d epochs: "
                            "shorten it or train longer",
                            spin_value (self->warmup_spin), epochs);
  else if (schedule == SL_LR_SCHEDULE_STEP && spin_int (self->step_epochs_spin) >= epochs)
    text = g_strdup_printf ("With a step every %d epochs the rate is never cut in a %d-epoch "
                            "run: make the step shorter or choose another schedule",
                            spin_int (self->step_epochs_spin), epochs);
  else if (!_sl_train_settings_device_is_usable (self, self->device_selected))
    text = g_strdup ("The chosen device cannot be used: choose another one");
  else if (backbone != NULL && self->backbones_listed
           && !_sl_train_settings_backbone_installed (self, backbone))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SlBackboneInfo) bb = sl_backbone_find (backbone, &error);

      /* Installed since the form listed them: the next listing shows it. */
      if (bb == NULL)
        text = g_strdup_printf ("%s — or train a network from scratch", error->message);
      _sl_train_settings_list_backbones (self);
    }
  else if (backbone != NULL && (model_error = _sl_train_settings_model_error (self)) != NULL)
    text = g_strdup_printf ("The pretrained network cannot be built for these images (%s): "
                            "choose another image size or fine-tuning",
                            model_error);
  else if ((model_error = _sl_train_settings_model_error (self)) != NULL)
    {
      preset = _sl_train_settings_dup_preset (self);
      text = g_strdup_printf ("%s cannot take %d × %d images (%s): choose another network or "
                              "change the input size on the Preprocess page",
                              preset, self->width, self->height, model_error);
    }
  ok = text == NULL;
  if (message != NULL)
    *message = g_steal_pointer (&text);
  return ok;
}

/* ---- Object -------------------------------------------------------------------------------------- */

void
sl_train_settings_set_locked (SlTrainSettings *self, gboolean locked)
{
  g_return_if_fail (SL_IS_TRAIN_SETTINGS (self));
  self->locked = locked;
  gtk_widget_set_sensitive (self->content, !locked);
  update_actions (self);
}

static void
sl_train_settings_dispose (GObject *object)
{
  SlTrainSettings *self = SL_TRAIN_SETTINGS (object);

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  _sl_train_settings_model_dispose (self);
  _sl_train_settings_backbone_dispose (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_TRAIN_SETTINGS);
  G_OBJECT_CLASS (sl_train_settings_parent_class)->dispose (object);
}

static void
sl_train_settings_finalize (GObject *object)
{
  SlTrainSettings *self = SL_TRAIN_SETTINGS (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->manual_weights, g_array_unref);
  _sl_train_settings_devices_finalize (self);
  G_OBJECT_CLASS (sl_train_settings_parent_class)->finalize (object);
}

static void
sl_train_settings_class_init (SlTrainSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_train_settings_dispose;
  object_class->finalize = sl_train_settings_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-train-settings.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SlTrainSettings, name)
  BIND (content);
  BIND (start_box);
  BIND (scratch_check);
  BIND (finetune_row);
  BIND (finetune_head_check);
  BIND (finetune_last_check);
  BIND (finetune_blocks_spin);
  BIND (finetune_all_check);
  BIND (backbone_info);
  BIND (input_size_row);
  BIND (input_size_drop);
  BIND (network_row);
  BIND (preset_drop);
  BIND (preset_summary);
  BIND (model_info);
  BIND (input_label);
  BIND (epochs_spin);
  BIND (batch_drop);
  BIND (lr_spin);
  BIND (patience_spin);
  BIND (schedule_drop);
  BIND (schedule_hint);
  BIND (warmup_row);
  BIND (warmup_spin);
  BIND (step_epochs_row);
  BIND (step_epochs_spin);
  BIND (gamma_row);
  BIND (gamma_spin);
  BIND (device_drop);
  BIND (device_hint);
  BIND (threads_row);
  BIND (threads_spin);
  BIND (advanced_expander);
  BIND (optimizer_drop);
  BIND (optimizer_hint);
  BIND (weight_decay_spin);
  BIND (smoothing_spin);
  BIND (class_weights_drop);
  BIND (augment_label);
  BIND (augment_switch);
  BIND (seed_spin);
  BIND (workers_spin);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_spin_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_notify_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_model_toggled);
  gtk_widget_class_install_action (widget_class, "settings.reset", NULL, reset_action);
}

static void
sl_train_settings_init (SlTrainSettings *self)
{
  g_autoptr (GtkStringList) presets = gtk_string_list_new (NULL);
  const char *const *names = (const char *const *) sl_preset_names ();
  GtkWidget *short_spins[4];

  /* A backbone's architecture is offered pretrained, above: from scratch it needs far more
   * images than the presets for the same accuracy. A run that trained one loads it back. */
  for (guint i = 0; names[i] != NULL; i++)
    if (sl_backbone_canonical_name (names[i]) == NULL)
      gtk_string_list_append (presets, names[i]);

  self->momentum = 0.9;
  self->imbalance = 1;
  self->settings = sl_app_settings_new ("last-device");
  _sl_train_settings_model_init (self);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->updating = TRUE;
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->preset_drop), G_LIST_MODEL (presets));
  _sl_train_settings_backbone_init (self);
  _sl_train_settings_devices_init (self);
  short_spins[0] = self->warmup_spin;
  short_spins[1] = self->gamma_spin;
  short_spins[2] = self->weight_decay_spin;
  short_spins[3] = self->smoothing_spin;
  for (guint i = 0; i < G_N_ELEMENTS (short_spins); i++)
    g_signal_connect (short_spins[i], "output", G_CALLBACK (on_short_output), NULL);
  g_signal_connect (self->lr_spin, "output", G_CALLBACK (on_lr_output), NULL);
  g_signal_connect (self->lr_spin, "input", G_CALLBACK (on_lr_input), NULL);
  /* Text that is no number leaves the rate as it was. */
  gtk_spin_button_set_update_policy (GTK_SPIN_BUTTON (self->lr_spin), GTK_UPDATE_IF_VALID);
  self->updating = FALSE;
  _sl_train_settings_apply_defaults (self);
  /* Looked up again whenever the form is shown: a backbone installed meanwhile appears. */
  g_signal_connect (self, "map", G_CALLBACK (_sl_train_settings_list_backbones), NULL);
  _sl_train_settings_list_backbones (self);
}

GtkWidget *
sl_train_settings_new (void)
{
  return g_object_new (SL_TYPE_TRAIN_SETTINGS, NULL);
}
