/* sl-fit-settings.c: an anomaly run's recipe on the Train page: backbone, input size, memory bank share, target false-reject rate. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-fit-settings.h"

#include <math.h>

#include "sl-anomaly.h"
#include "sl-backbone.h"

#define LITE0 "efficientnet-lite0"
/* The input sizes the size drop-down offers, in its order; 224 (the backbone's own) first
 * chosen. */
static const int sizes[] = { 128, 160, 192, 224, 256, 288, 320 };
#define DEFAULT_SIZE_INDEX 3
/* The memory bank's default share of the patches, in percent (sl_anomaly_config's 0.01). */
#define DEFAULT_CORESET_PERCENT 1.0

struct _SlFitSettings
{
  GtkWidget parent_instance;
  SlSession *session;
  GCancellable *cancellable;
  GPtrArray *backbones; /* char *: canonical names, in the drop-down's order */
  char *install_hint;   /* sl_backbone_find's message when none is installed */
  gboolean listed;

  GtkWidget *content;
  GtkDropDown *backbone_dropdown;
  GtkStringList *backbone_list;
  GtkLabel *install_label;
  GtkDropDown *size_dropdown;
  GtkSpinButton *coreset_spin;
  GtkSpinButton *false_reject_spin;
};

G_DEFINE_FINAL_TYPE (SlFitSettings, sl_fit_settings, GTK_TYPE_WIDGET)

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
on_changed (SlFitSettings *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

/* ---- The installed backbones, listed on a worker ------------------------------------------ */

typedef struct
{
  GPtrArray *installed; /* SlBackboneInfo * */
  char *hint;
  char *latest; /* the recipe of the project's latest run, a fit, or NULL */
} Listing;

static void
listing_free (Listing *l)
{
  g_clear_pointer (&l->installed, g_ptr_array_unref);
  g_free (l->hint);
  g_free (l->latest);
  g_free (l);
}

static void
list_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Listing *l = g_new0 (Listing, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBackboneInfo) lite0 = sl_backbone_find (LITE0, &error);
  g_autoptr (SlProject) db = sl_project_open_worker (data, NULL);
  g_autoptr (SlRunInfo) latest = db != NULL ? sl_project_get_run (db, "latest", NULL) : NULL;

  l->installed = sl_backbone_list_installed ();
  if (lite0 == NULL)
    l->hint = g_strdup (error->message);
  /* A new fit starts from the last one's settings, as a new training run does. */
  if (latest != NULL && latest->config_json != NULL)
    l->latest = g_strdup (latest->config_json);
  g_task_return_pointer (task, l, (GDestroyNotify) listing_free);
}

static void
list_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Listing *l = g_task_propagate_pointer (G_TASK (result), NULL);
  SlFitSettings *self;
  guint chosen = 0;

  if (l == NULL)
    return; /* cancelled: the form is gone */
  self = SL_FIT_SETTINGS (source);
  g_ptr_array_set_size (self->backbones, 0);
  gtk_string_list_splice (self->backbone_list, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->backbone_list)), NULL);
  for (guint i = 0; i < l->installed->len; i++)
    {
      const SlBackboneInfo *bb = g_ptr_array_index (l->installed, i);
      const char *name = sl_backbone_canonical_name (bb->name);

      if (name == NULL
          || g_ptr_array_find_with_equal_func (self->backbones, name, g_str_equal, NULL))
        continue;
      if (g_str_equal (name, LITE0))
        chosen = self->backbones->len;
      g_ptr_array_add (self->backbones, g_strdup (name));
      gtk_string_list_append (self->backbone_list, bb->title != NULL ? bb->title : name);
    }
  if (self->backbones->len == 0)
    gtk_string_list_append (self->backbone_list, "None installed");
  gtk_drop_down_set_selected (self->backbone_dropdown, chosen);
  gtk_widget_set_sensitive (GTK_WIDGET (self->backbone_dropdown), self->backbones->len > 0);
  g_free (self->install_hint);
  self->install_hint = self->backbones->len == 0 ? g_steal_pointer (&l->hint) : NULL;
  gtk_label_set_text (self->install_label, self->install_hint != NULL ? self->install_hint : "");
  gtk_widget_set_visible (GTK_WIDGET (self->install_label), self->install_hint != NULL);
  self->listed = TRUE;
  if (l->latest != NULL)
    sl_fit_settings_load_config_json (self, l->latest);
  listing_free (l);
  on_changed (self);
}

static void
list_backbones (SlFitSettings *self)
{
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, list_done, NULL);

  g_task_set_source_tag (task, list_backbones);
  g_task_set_task_data (task, g_strdup (sl_session_get_path (self->session)), g_free);
  g_task_run_in_thread (task, list_thread);
}

/* ---- The recipe ----------------------------------------------------------------------------- */

static const char *
chosen_backbone (SlFitSettings *self)
{
  guint i = gtk_drop_down_get_selected (self->backbone_dropdown);

  return i < self->backbones->len ? g_ptr_array_index (self->backbones, i) : NULL;
}

void
sl_fit_settings_get_config (SlFitSettings *self, SlRunConfig *config)
{
  guint size = gtk_drop_down_get_selected (self->size_dropdown);
  const char *backbone;

  g_return_if_fail (SL_IS_FIT_SETTINGS (self));
  sl_run_config_init (config);
  backbone = chosen_backbone (self);
  config->anomaly = TRUE;
  config->backbone = g_strdup (backbone != NULL ? backbone : LITE0);
  config->input_size = size < G_N_ELEMENTS (sizes) ? sizes[size] : 0;
  config->coreset_ratio = gtk_spin_button_get_value (self->coreset_spin) / 100.0;
  config->target_false_reject = gtk_spin_button_get_value (self->false_reject_spin) / 100.0;
  config->epochs = 1;
}

gboolean
sl_fit_settings_validate (SlFitSettings *self, char **message)
{
  g_return_val_if_fail (SL_IS_FIT_SETTINGS (self), FALSE);

  if (!self->listed)
    {
      *message = g_strdup ("The installed backbones are still being listed; try again in a "
                           "moment.");
      return FALSE;
    }
  if (chosen_backbone (self) == NULL)
    {
      *message = g_strdup_printf ("An anomaly model needs a pretrained backbone. %s",
                                  self->install_hint != NULL ? self->install_hint : "");
      return FALSE;
    }
  *message = NULL;
  return TRUE;
}

static double
project_target_percent (SlFitSettings *self)
{
  double rate = sl_project_get_target_false_reject (sl_session_get_project (self->session));

  return rate > 0 && rate < 1 ? 100.0 * rate : 1.0;
}

void
sl_fit_settings_reset (SlFitSettings *self)
{
  g_return_if_fail (SL_IS_FIT_SETTINGS (self));

  for (guint i = 0; i < self->backbones->len; i++)
    if (g_str_equal (g_ptr_array_index (self->backbones, i), LITE0))
      gtk_drop_down_set_selected (self->backbone_dropdown, i);
  gtk_drop_down_set_selected (self->size_dropdown, DEFAULT_SIZE_INDEX);
  gtk_spin_button_set_value (self->coreset_spin, DEFAULT_CORESET_PERCENT);
  gtk_spin_button_set_value (self->false_reject_spin, project_target_percent (self));
}

gboolean
sl_fit_settings_load_config_json (SlFitSettings *self, const char *config_json)
{
  SlRunConfig config;
  const char *name;

  g_return_val_if_fail (SL_IS_FIT_SETTINGS (self), FALSE);
  sl_run_config_init (&config);
  if (config_json == NULL || !sl_run_config_from_json (config_json, &config, NULL, NULL))
    {
      sl_run_config_clear (&config);
      return FALSE;
    }
  name = config.backbone != NULL ? sl_backbone_canonical_name (config.backbone) : LITE0;
  for (guint i = 0; name != NULL && i < self->backbones->len; i++)
    if (g_str_equal (g_ptr_array_index (self->backbones, i), name))
      gtk_drop_down_set_selected (self->backbone_dropdown, i);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    if (sizes[i] == (config.input_size > 0 ? config.input_size : 224))
      gtk_drop_down_set_selected (self->size_dropdown, i);
  gtk_spin_button_set_value (self->coreset_spin, config.coreset_ratio > 0
                                                     ? 100.0 * config.coreset_ratio
                                                     : DEFAULT_CORESET_PERCENT);
  gtk_spin_button_set_value (self->false_reject_spin, config.target_false_reject > 0
                                                          ? 100.0 * config.target_false_reject
                                                          : project_target_percent (self));
  sl_run_config_clear (&config);
  return TRUE;
}

void
sl_fit_settings_set_locked (SlFitSettings *self, gboolean locked)
{
  g_return_if_fail (SL_IS_FIT_SETTINGS (self));
  gtk_widget_set_sensitive (self->content, !locked);
}

gboolean
sl_fit_settings_is_ready (SlFitSettings *self)
{
  g_return_val_if_fail (SL_IS_FIT_SETTINGS (self), FALSE);
  return self->listed;
}

static void
reset_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  sl_fit_settings_reset (SL_FIT_SETTINGS (widget));
}

/* ---- Object ------------------------------------------------------------------------------------ */

GtkWidget *
sl_fit_settings_new (SlSession *session)
{
  SlFitSettings *self;

  g_return_val_if_fail (SL_IS_SESSION (session), NULL);
  self = g_object_new (SL_TYPE_FIT_SETTINGS, NULL);
  self->session = g_object_ref (session);
  gtk_spin_button_set_value (self->false_reject_spin, project_target_percent (self));
  list_backbones (self);
  return GTK_WIDGET (self);
}

static void
sl_fit_settings_dispose (GObject *object)
{
  SlFitSettings *self = SL_FIT_SETTINGS (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_FIT_SETTINGS);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_fit_settings_parent_class)->dispose (object);
}

static void
sl_fit_settings_finalize (GObject *object)
{
  SlFitSettings *self = SL_FIT_SETTINGS (object);

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->backbones);
  g_free (self->install_hint);
  G_OBJECT_CLASS (sl_fit_settings_parent_class)->finalize (object);
}

static void
sl_fit_settings_class_init (SlFitSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_fit_settings_dispose;
  object_class->finalize = sl_fit_settings_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-fit-settings.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SlFitSettings, name)
  BIND (content);
  BIND (backbone_dropdown);
  BIND (backbone_list);
  BIND (install_label);
  BIND (size_dropdown);
  BIND (coreset_spin);
  BIND (false_reject_spin);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_changed);
  gtk_widget_class_install_action (widget_class, "fit-settings.reset", NULL, reset_action);
}

static void
sl_fit_settings_init (SlFitSettings *self)
{
  self->cancellable = g_cancellable_new ();
  self->backbones = g_ptr_array_new_with_free_func (g_free);
  gtk_widget_init_template (GTK_WIDGET (self));
}
