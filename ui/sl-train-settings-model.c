/* sl-train-settings-model.c: the settings form's input size and model size, measured on a worker thread. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-settings-private.h"

#include "sl-augment-editor.h"
#include "sl-session.h"
#include "sl-vision.h"

typedef struct
{
  gsize params;
  gsize trainable; /* a backbone's trained weights */
  double flops;    /* forward multiply-adds per image */
  char *error;     /* the preset cannot take this input */
} ModelInfo;

static void
model_info_free (ModelInfo *info)
{
  g_free (info->error);
  g_free (info);
}

/* One measurement: the input spec when path is set, then the model at it. */
typedef struct
{
  char *path;
  guint generation;
  int channels, height, width;
  char *preset;
  char *backbone; /* set for a pretrained network, with its fine-tuning and size */
  SlFinetune finetune;
  int blocks, size;
  int classes;
  char *spec_error;
  ModelInfo *info;
} Measure;

static void
measure_free (Measure *m)
{
  g_free (m->path);
  g_free (m->preset);
  g_free (m->backbone);
  g_free (m->spec_error);
  if (m->info != NULL)
    model_info_free (m->info);
  g_free (m);
}

/* A preset's name, or "<backbone> <fine-tuning> <size>". */
static char *
info_key (const char *model, int channels, int height, int width, int classes)
{
  return g_strdup_printf ("%s %dx%dx%d %d", model, width, height, channels, classes);
}

static char *
backbone_model (const char *backbone, SlFinetune finetune, int blocks, int size)
{
  return g_strdup_printf ("%s %s %d", backbone, sl_finetune_to_string (finetune, blocks), size);
}

/* What the form measures for its current choice. */
static char *
chosen_model (SlTrainSettings *self)
{
  g_autofree char *backbone = _sl_train_settings_dup_backbone (self);
  SlFinetune finetune;
  int blocks;

  if (backbone == NULL)
    return _sl_train_settings_dup_preset (self);
  finetune = _sl_train_settings_get_finetune (self, &blocks);
  return backbone_model (backbone, finetune, blocks, _sl_train_settings_get_input_size (self));
}

static gboolean
spec_from_json (const char *json, int *channels, int *height, int *width, char **error)
{
  sl_pipeline *pipeline = NULL;
  sl_input_spec spec;
  sl_error err = { 0 };

  if (sl_pipeline_from_json (json, &pipeline, &err) != SL_OK)
    {
      *error = g_strdup (err.message);
      return FALSE;
    }
  sl_pipeline_get_input (pipeline, &spec);
  sl_pipeline_free (pipeline);
  *channels = spec.channels;
  *height = spec.height;
  *width = spec.width;
  return TRUE;
}

/* Builds the preset's model once to count it: seed-cnn at 128 x 128 takes seconds. */
static ModelInfo *
measure_model (const char *preset, int channels, int height, int width, int classes)
{
  ModelInfo *info = g_new0 (ModelInfo, 1);
  sl_preset_options po;
  sl_error err = { 0 };
  sl_model *model = NULL;
  char *json = NULL;

  sl_preset_options_init (&po);
  po.channels = channels;
  po.height = height;
  po.width = width;
  po.classes = classes;
  if (sl_preset_json (preset, &po, &json, &err) != SL_OK
      || sl_model_new (json, 1, &model, &err) != SL_OK)
    info->error = g_strdup (err.message);
  else
    {
      info->params = sl_model_param_count (model);
      info->flops = sl_model_flops_per_image (model);
    }
  sl_model_free (model);
  sl_free (json);
  return info;
}

/* The transfer model the run would build: the backbone's layers, frozen as the fine-tuning
 * says, and a new classifier. Building it reads the backbone file's description only. */
static ModelInfo *
measure_backbone (const Measure *m)
{
  ModelInfo *info = g_new0 (ModelInfo, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find (m->backbone, &error);
  SlTransferOptions opts = { 0 };
  g_autofree char *json = NULL;
  sl_error err = { 0 };
  sl_model *model = NULL;

  opts.classes = m->classes;
  opts.channels = m->channels;
  opts.height = opts.width = m->size;
  opts.finetune = m->finetune;
  opts.finetune_blocks = m->blocks;
  if (bb != NULL)
    json = sl_backbone_transfer_json (bb, &opts, &error);
  if (json == NULL)
    info->error = g_strdup (error->message);
  else if (sl_model_new (json, 1, &model, &err) != SL_OK)
    info->error = g_strdup (err.message);
  else
    {
      info->params = sl_model_param_count (model);
      info->trainable = sl_model_trainable_param_count (model);
      info->flops = sl_model_flops_per_image (model);
    }
  sl_model_free (model);
  return info;
}

static void
measure_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Measure *m = task_data;

  if (m->path != NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SlProject) db = sl_project_open_worker (m->path, &error);
      /* Without a stored pipeline this is the one the first run will choose. */
      g_autofree char *json = db != NULL ? sl_project_dup_pipeline_json (db, &error) : NULL;

      if (json == NULL)
        {
          m->spec_error = g_strdup (error->message);
          g_task_return_boolean (task, TRUE);
          return;
        }
      if (!spec_from_json (json, &m->channels, &m->height, &m->width, &m->spec_error))
        {
          g_task_return_boolean (task, TRUE);
          return;
        }
    }
  if (m->backbone != NULL)
    m->info = measure_backbone (m);
  else
    m->info = measure_model (m->preset, m->channels, m->height, m->width, m->classes);
  g_task_return_boolean (task, TRUE);
}

static void
set_measuring (SlTrainSettings *self, GCancellable *cancellable)
{
  g_clear_object (&self->measuring);
  self->measuring = cancellable;
}

static void
measure_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SlTrainSettings) self = data;
  Measure *m = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return; /* cancelled: the pipeline changed, or the form is gone */
  set_measuring (self, NULL);
  if (m->generation == self->spec_generation && !self->have_spec)
    {
      g_clear_pointer (&self->spec_error, g_free);
      self->spec_error = g_steal_pointer (&m->spec_error);
      self->have_spec = self->spec_error == NULL;
      self->channels = m->channels;
      self->height = m->height;
      self->width = m->width;
    }
  if (m->info != NULL && m->backbone != NULL)
    {
      g_autofree char *model = backbone_model (m->backbone, m->finetune, m->blocks, m->size);

      g_hash_table_replace (self->model_cache,
                            info_key (model, m->channels, m->size, m->size, m->classes),
                            g_steal_pointer (&m->info));
    }
  else if (m->info != NULL)
    g_hash_table_replace (self->model_cache,
                          info_key (m->preset, m->channels, m->height, m->width, m->classes),
                          g_steal_pointer (&m->info));
  /* The choice may have moved on meanwhile: this measures that one next. */
  _sl_train_settings_update_model (self);
  _sl_train_settings_emit_changed (self);
}

static void
start_measure (SlTrainSettings *self, const char *preset, int classes)
{
  g_autoptr (GTask) task = NULL;
  Measure *m = g_new0 (Measure, 1);

  m->backbone = _sl_train_settings_dup_backbone (self);
  m->finetune = _sl_train_settings_get_finetune (self, &m->blocks);
  m->size = _sl_train_settings_get_input_size (self);
  if (!self->have_spec)
    m->path = g_strdup (sl_session_get_path (self->session));
  m->generation = self->spec_generation;
  m->channels = self->channels;
  m->height = self->height;
  m->width = self->width;
  m->preset = g_strdup (preset);
  m->classes = classes;
  set_measuring (self, g_cancellable_new ());
  task = g_task_new (NULL, self->measuring, measure_done, g_object_ref (self));
  g_task_set_task_data (task, m, (GDestroyNotify) measure_free);
  g_task_run_in_thread (task, measure_thread);
}

/* ---- What the labels say ------------------------------------------------------------------- */

static char *
format_count (gsize n)
{
  if (n >= 1000000)
    return g_strdup_printf ("%.1f M", n / 1e6);
  if (n >= 1000)
    return g_strdup_printf ("%.0f k", n / 1e3);
  return g_strdup_printf ("%zu", n);
}

/* A word for the cost of one image, forward; training costs about three times it. */
static const char *
speed_word (double flops)
{
  if (flops < 1.5e7)
    return "fast to train";
  if (flops < 6e7)
    return "moderate to train";
  if (flops < 2.5e8)
    return "slow to train";
  return "very slow to train";
}

static void
show_input (SlTrainSettings *self)
{
  g_autofree char *text = NULL;
  g_autofree char *backbone = _sl_train_settings_dup_backbone (self);
  int size = _sl_train_settings_get_input_size (self);

  if (self->session == NULL)
    text = g_strdup ("Set on the Preprocess page");
  else if (self->have_spec && backbone != NULL && size == 0)
    text = g_strdup_printf ("%d × %d %s images, resized to the image size above", self->width,
                            self->height, self->channels == 1 ? "gray" : "colour");
  else if (self->have_spec && backbone != NULL)
    text = g_strdup_printf ("%d × %d %s images, scaled to %d × %d for the network", self->width,
                            self->height, self->channels == 1 ? "gray" : "colour", size, size);
  else if (self->have_spec)
    text = g_strdup_printf ("%d × %d %s images", self->width, self->height,
                            self->channels == 1 ? "gray" : "colour");
  else if (self->spec_error != NULL)
    text = g_strdup ("Chosen from the images once some are labelled");
  else
    text = g_strdup ("Measuring the images…");
  gtk_label_set_text (GTK_LABEL (self->input_label), text);
}

static int
model_classes (SlTrainSettings *self)
{
  return MAX (self->classes, 2);
}

static ModelInfo *
lookup_info (SlTrainSettings *self)
{
  g_autofree char *backbone = _sl_train_settings_dup_backbone (self);
  g_autofree char *model = chosen_model (self);
  int size = _sl_train_settings_get_input_size (self);
  g_autofree char *key
      = backbone != NULL
            ? info_key (model, self->channels, size, size, model_classes (self))
            : info_key (model, self->channels, self->height, self->width, model_classes (self));

  return self->have_spec ? g_hash_table_lookup (self->model_cache, key) : NULL;
}

/* "4.0 M weights, 13 k trained · …" for a pretrained network. */
static char *
backbone_line (SlTrainSettings *self, const ModelInfo *info)
{
  g_autofree char *count = format_count (info->params);
  g_autofree char *trained = format_count (info->trainable);
  int blocks;

  if (_sl_train_settings_get_finetune (self, &blocks) != SL_FINETUNE_HEAD)
    return g_strdup_printf ("%s weights, %s trained · %s", count, trained,
                            speed_word (info->flops));
  if (gtk_switch_get_active (GTK_SWITCH (self->augment_switch)))
    return g_strdup_printf ("%s weights, %s trained · every epoch runs the augmented images "
                            "through the network once",
                            count, trained);
  return g_strdup_printf ("%s weights, %s trained · fast: each image runs through the network "
                          "only once",
                          count, trained);
}

void
_sl_train_settings_update_model (SlTrainSettings *self)
{
  g_autofree char *preset = _sl_train_settings_dup_preset (self);
  g_autofree char *backbone = _sl_train_settings_dup_backbone (self);
  ModelInfo *info = lookup_info (self);
  const char *summary = sl_preset_summary (preset);
  GtkWidget *line = backbone != NULL ? self->backbone_info : self->model_info;

  gtk_label_set_text (GTK_LABEL (self->preset_summary), summary != NULL ? summary : "");
  show_input (self);
  gtk_widget_remove_css_class (line, "error");
  if (info != NULL && info->error == NULL)
    {
      g_autofree char *count = format_count (info->params);
      g_autofree char *text
          = backbone != NULL ? backbone_line (self, info)
                             : g_strdup_printf ("%s weights · %s", count, speed_word (info->flops));

      gtk_label_set_text (GTK_LABEL (line), text);
    }
  else if (info != NULL)
    {
      gtk_label_set_text (GTK_LABEL (line), info->error);
      gtk_widget_add_css_class (line, "error");
    }
  else if (self->session == NULL || (!self->have_spec && self->spec_error != NULL)
           || (backbone != NULL && !_sl_train_settings_backbone_installed (self, backbone)))
    gtk_label_set_text (GTK_LABEL (line), "");
  else
    {
      gtk_label_set_text (GTK_LABEL (line), "Measuring the model…");
      /* One measurement at a time; the latest choice is measured when it ends. */
      if (self->measuring == NULL)
        start_measure (self, preset, model_classes (self));
    }
  gtk_widget_set_visible (line, *gtk_label_get_text (GTK_LABEL (line)) != '\0');
}

const char *
_sl_train_settings_model_error (SlTrainSettings *self)
{
  ModelInfo *info = lookup_info (self);

  return info != NULL ? info->error : NULL;
}

char *
_sl_train_settings_dup_preset (SlTrainSettings *self)
{
  GObject *item = gtk_drop_down_get_selected_item (GTK_DROP_DOWN (self->preset_drop));

  return g_strdup (item != NULL ? gtk_string_object_get_string (GTK_STRING_OBJECT (item))
                                : "small-bn");
}

/* ---- The project's pipeline and augmentation ------------------------------------------------ */

void
_sl_train_settings_show_augment (SlTrainSettings *self)
{
  sl_augment_config config;
  g_autofree char *summary = NULL;
  g_autofree char *text = NULL;

  gboolean any, updating = self->updating;

  sl_augment_config_init (&config);
  if (self->augment_json != NULL)
    sl_augment_config_from_json (self->augment_json, &config, NULL);
  /* Nothing set: the switch is off and cannot be turned on (it would do nothing); once the
   * Preprocess page sets something it is on, unless the user turned it off. */
  any = sl_augment_config_is_active (&config);
  self->updating = TRUE;
  gtk_widget_set_sensitive (self->augment_switch, any);
  if (!any)
    gtk_switch_set_active (GTK_SWITCH (self->augment_switch), FALSE);
  else if (!(self->edited & (1u << F_AUGMENT)))
    gtk_switch_set_active (GTK_SWITCH (self->augment_switch), TRUE);
  self->updating = updating;
  if (!any)
    text = g_strdup ("Off: the Preprocess page sets no augmentation yet");
  else if (!gtk_switch_get_active (GTK_SWITCH (self->augment_switch)))
    text = g_strdup ("Off: every epoch sees the images as they are");
  else
    {
      summary = sl_augment_summary (&config);
      text = g_strdup_printf ("From the Preprocess page: %s", summary);
    }
  gtk_label_set_text (GTK_LABEL (self->augment_label), text);
}

void
_sl_train_settings_read_pipeline (SlTrainSettings *self)
{
  g_autofree char *json
      = self->session != NULL ? sl_session_dup_stored_pipeline_json (self->session) : NULL;

  g_clear_pointer (&self->augment_json, g_free);
  g_clear_pointer (&self->spec_error, g_free);
  self->augment_json = self->session != NULL ? sl_session_dup_augment_json (self->session) : NULL;
  self->spec_generation++;
  self->have_spec
      = json != NULL
        && spec_from_json (json, &self->channels, &self->height, &self->width, &self->spec_error);
  /* A stored pipeline that does not read is reported by training itself. */
  g_clear_pointer (&self->spec_error, g_free);
  if (self->measuring != NULL)
    {
      /* Its input may be stale: measure again. */
      g_cancellable_cancel (self->measuring);
      set_measuring (self, NULL);
    }
  _sl_train_settings_show_augment (self);
}

void
_sl_train_settings_model_init (SlTrainSettings *self)
{
  self->model_cache
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) model_info_free);
}

void
_sl_train_settings_model_dispose (SlTrainSettings *self)
{
  if (self->measuring != NULL)
    g_cancellable_cancel (self->measuring);
  g_clear_object (&self->measuring);
  g_clear_pointer (&self->model_cache, g_hash_table_unref);
  g_clear_pointer (&self->augment_json, g_free);
  g_clear_pointer (&self->spec_error, g_free);
}
