/* sl-train-settings-private.h: the settings form's state, shared by its form, model-size and device files. */
#pragma once

#include "sl-backbone.h"
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
  F_MODEL, /* pretrained backbone or from scratch */
  F_FINETUNE,
  F_FINETUNE_BLOCKS,
  F_INPUT_SIZE,
  N_FIELDS
} SlTrainField;

struct _SlTrainSettings
{
  GtkWidget parent_instance;

  GtkWidget *content;
  GtkWidget *start_box, *scratch_check;
  GtkWidget *model_advice, *install_label, *install_command; /* below Lite0's choice */
  GtkWidget *fallback_note; /* why the default is small-bn: the latest run's backbone is gone */
  GtkWidget *finetune_row, *finetune_head_check, *finetune_last_check, *finetune_blocks_spin,
      *finetune_all_check, *backbone_info;
  GtkWidget *input_size_row, *input_size_drop, *network_row;
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
  double momentum, min_learning_rate, backbone_lr_ratio;
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

  /* Pretrained backbones, listed off the main loop: one choice per known name (Lite0 always
   * shown, the others once installed), insensitive while not installed. */
  GPtrArray *backbone_checks; /* GtkCheckButton *, the name in "backbone-name" */
  GHashTable *installed;      /* canonical name -> SlBackboneInfo * */
  char *install_hint;         /* how to install Lite0, from sl_backbone_find; NULL if it is */
  char *default_backbone;     /* the projects' rule's model, when it is a backbone */
  char *default_preset;       /* the same, when it is a preset; NULL: sl_run_config_init's */
  char *default_why;          /* why the rule fell back to small-bn, or NULL */
  char *gone_run;             /* with default_why: the latest run's name */
  char *gone_backbone;        /* and the backbone it started from */
  gboolean backbones_listed;  /* the first listing has finished */
  GCancellable *listing;
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

/* sl-train-settings-backbone.c */
void _sl_train_settings_backbone_init (SlTrainSettings *self);
void _sl_train_settings_backbone_dispose (SlTrainSettings *self);
/* Lists the installed backbones again (on a worker); the form follows when it ends. */
void _sl_train_settings_list_backbones (SlTrainSettings *self);
/* The chosen backbone's canonical name, or NULL for a network trained from scratch (g_free). */
char *_sl_train_settings_dup_backbone (SlTrainSettings *self);
/* Chooses a backbone (NULL: from scratch); adds the choice for a known name not shown yet. */
void _sl_train_settings_set_backbone (SlTrainSettings *self, const char *name);
gboolean _sl_train_settings_backbone_installed (SlTrainSettings *self, const char *name);
SlFinetune _sl_train_settings_get_finetune (SlTrainSettings *self, int *blocks);
void _sl_train_settings_set_finetune (SlTrainSettings *self, SlFinetune mode, int blocks);
int _sl_train_settings_get_input_size (SlTrainSettings *self);
void _sl_train_settings_set_input_size (SlTrainSettings *self, int size);
/* Shows the rows of the chosen kind of model, the advice and the install hint. */
void _sl_train_settings_show_model_choice (SlTrainSettings *self);

/* sl-train-settings-devices.c */
void _sl_train_settings_devices_init (SlTrainSettings *self);
void _sl_train_settings_devices_finalize (SlTrainSettings *self);
gboolean _sl_train_settings_device_is_usable (SlTrainSettings *self, guint index);
void _sl_train_settings_select_default_device (SlTrainSettings *self);
void _sl_train_settings_show_devices (SlTrainSettings *self);

/* sl-train-settings.c */
void _sl_train_settings_emit_changed (SlTrainSettings *self);
/* Sets every value the user has not changed to its default (the model's first). */
void _sl_train_settings_apply_defaults (SlTrainSettings *self);
/* A model or fine-tuning choice was toggled. */
void _sl_train_settings_model_toggled (GtkCheckButton *check, SlTrainSettings *self);
void _sl_train_settings_refresh (SlTrainSettings *self);

G_END_DECLS
