/* sl-train-settings.h: the form for a new run's settings: model, training, device and advanced options. */
#pragma once

#include "sl-run.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_TRAIN_SETTINGS (sl_train_settings_get_type ())
G_DECLARE_FINAL_TYPE (SlTrainSettings, sl_train_settings, SL, TRAIN_SETTINGS, GtkWidget)

/* Emits "changed" whenever a setting, a default or the model's size changes. */
GtkWidget *sl_train_settings_new (void);

/* Reads the project's input size and augmentation (again on "pipeline-changed"). */
void sl_train_settings_set_session (SlTrainSettings *self, SlSession *session);
/* The data a new run would see. Sets the defaults that depend on it (epochs,
 * batch size, early stopping, class weighting from the session's class
 * counts); values the user changed stay as they are. */
void sl_train_settings_set_dataset (SlTrainSettings *self, gint64 train_images, gint64 val_images,
                                    int classes);
/* The same from the session's project, read once: labelled images without a
 * split count as the 70/15/15 split a new run gives them. */
void sl_train_settings_read_dataset (SlTrainSettings *self);
/* Every value back to its default for the current data set. */
void sl_train_settings_reset (SlTrainSettings *self);

/* The run to start: model and pipeline are left NULL (the preset and the
 * project's stored pipeline). Clear with sl_run_config_clear. */
void sl_train_settings_get_config (SlTrainSettings *self, SlRunConfig *config);
/* Shows the settings of a stored run (SlRunInfo.config_json), so it can be
 * trained again; they count as the user's own. FALSE if it cannot be read. */
gboolean sl_train_settings_load_config_json (SlTrainSettings *self, const char *config_json);
/* FALSE with a sentence saying what to change when the settings cannot train. */
gboolean sl_train_settings_validate (SlTrainSettings *self, char **message);

/* The devices training can use, in order; unusable ones are listed with
 * their reason and cannot be chosen. Without a call the list is the CPU. */
void sl_train_settings_set_devices (SlTrainSettings *self, const char *const *ids,
                                    const char *const *labels, const gboolean *usable,
                                    const char *const *reasons, guint n);
/* Why no GPU can train (sl_device_list_gpu_status), shown under the list when no GPU is
 * listed to say it; "" or NULL: nothing to say. */
void sl_train_settings_set_gpu_status (SlTrainSettings *self, const char *status);
/* "cpu" or "cuda:N" (g_free). */
char *sl_train_settings_dup_device_id (SlTrainSettings *self);

/* Insensitive while a run trains. */
void sl_train_settings_set_locked (SlTrainSettings *self, gboolean locked);

G_END_DECLS
