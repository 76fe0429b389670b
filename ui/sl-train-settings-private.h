/* sl-train-settings-private.h: the settings form's state, shared by its form, model-size and device files. */
#pragma once

#include "sl-train-settings.h"

G_BEGIN_DECLS

/* The settings the user can change; a set bit in `edited` keeps a value
 * when the data set's defaults change. */
typedef enum
{
  F_PRESET,
  F_EPOCHS,
  F_BATCH,
  F_LR,
  F_SCHEDULE,
  F_WARMUP,
  F_STEP_EPOCHS,
  F_GAMMA,
  F_PATIENCE,
  F_DEVICE,
  F_THREADS,
  F_OPTIMIZER,
  F_WEIGHT_DECAY,
  F_SMOOTHING,
  F_CLASS_WEIGHTS,
  F_AUGMENT,
  F_SEED,
  F_WORKERS,
  N_FIELDS
} SlTrainField;

struct _SlTrainSettings
{
  GtkWidget parent_instance;

  GtkWidget *content;
  GtkWidget *preset_drop, *preset_summary, *model_info;
  GtkWidget *input_label;
  GtkWidget *epochs_spin, *batch_drop, *lr_spin, *patience_spin;
  GtkWidget *schedule_drop, *schedule_hint;
  GtkWidget *warmup_row, *warmup_spin, *step_epochs_row, *step_epochs_spin, *gamma_row, *gamma_spin;
  GtkWidget *device_drop, *device_hint, *threads_row, *threads_spin;
  GtkWidget *advanced_expander;
  GtkWidget *optimizer_drop, *optimizer_hint, *weight_decay_spin, *smoothing_spin,
      *class_weights_drop;
  GtkWidget *augment_label, *augment_switch, *seed_spin, *workers_spin;

  SlSession *session;
  GSettings *settings; /* NULL without the installed schema */

  /* The data set of the next run. */
  gboolean dataset_known;
  gint64 train_images, val_images;
  int classes;
  double imbalance; /* largest / smallest class in the training split */

  guint32 edited; /* 1 << SlTrainField */
  gboolean updating;
  gboolean locked;

  /* Carried from a loaded run without a control of their own. */
  double momentum, min_learning_rate;
  GArray *manual_weights; /* float, with the "Custom" class weighting */

  /* Devices: ids, usable flags and reasons beside the dropdown's labels. */
  GPtrArray *device_ids, *device_reasons;
  GArray *device_usable; /* gboolean */
  char *gpu_status;      /* why no GPU is listed at all; "" or NULL when one is */
  guint device_selected;

  /* The pipeline's input and the chosen model's size, measured off the main loop. */
  char *augment_json; /* the project's "augment" setting */
  gboolean have_spec;
  int channels, height, width;
  char *spec_error;
  guint spec_generation;   /* bumped when the pipeline changes */
  GHashTable *model_cache; /* key (preset, input, classes) -> ModelInfo */
  GCancellable *measuring;
};

/* sl-train-settings-model.c */
void _sl_train_settings_model_init (SlTrainSettings *self);
void _sl_train_settings_model_dispose (SlTrainSettings *self);
/* Re-reads the project's pipeline and augmentation. */
void _sl_train_settings_read_pipeline (SlTrainSettings *self);
/* Says what the augmentation switch means with the project's settings. */
void _sl_train_settings_show_augment (SlTrainSettings *self);
/* Shows the chosen preset's summary and size, measuring it when not known yet. */
void _sl_train_settings_update_model (SlTrainSettings *self);
/* Why the chosen preset cannot take the input, or NULL. */
const char *_sl_train_settings_model_error (SlTrainSettings *self);
char *_sl_train_settings_dup_preset (SlTrainSettings *self);

/* sl-train-settings-devices.c */
void _sl_train_settings_devices_init (SlTrainSettings *self);
void _sl_train_settings_devices_finalize (SlTrainSettings *self);
gboolean _sl_train_settings_device_is_usable (SlTrainSettings *self, guint index);
void _sl_train_settings_select_default_device (SlTrainSettings *self);
void _sl_train_settings_show_devices (SlTrainSettings *self);

/* sl-train-settings.c */
void _sl_train_settings_emit_changed (SlTrainSettings *self);
void _sl_train_settings_refresh (SlTrainSettings *self);

G_END_DECLS
