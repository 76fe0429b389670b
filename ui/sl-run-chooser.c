/* sl-run-chooser.c: a drop-down of the project's trained runs, for the Evaluate and Export pages. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-run-chooser.h"

#include <math.h>

#include "sl-anomaly.h"
#include "sl-model-words.h"

struct _SlRunChooser
{
  GtkWidget parent_instance;

  SlSession *session;
  GtkDropDown *drop_down;
  GtkStringList *labels;
  GArray *ids; /* gint64, in the order of labels */
  gint64 run_id;
  gboolean refreshing;
};

G_DEFINE_FINAL_TYPE (SlRunChooser, sl_run_chooser, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_RUN_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

char *
sl_run_chooser_describe_run (const SlRunInfo *run)
{
  GString *text = g_string_new (run->name);

  if (run->preset != NULL || run->backbone != NULL)
    {
      g_autofree char *model = sl_model_words_describe_run (run, FALSE);

      g_string_append_printf (text, " · %s", model);
    }
  /* An anomaly run has no classifier's accuracy: its rates are the Evaluate page's. */
  if (!isnan (run->best_val_accuracy) && run->best_epoch >= 0 && !sl_run_info_is_anomaly (run))
    g_string_append_printf (text, " · %.1f %% validated", 100.0 * run->best_val_accuracy);
  g_string_append_printf (text, " · %s", sl_run_status_to_string (run->status));
  return g_string_free (text, FALSE);
}

/* The button shows the chosen run on one ellipsized line (so a long description never widens
 * the window); the list shows every description whole. */
static void
setup_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer ellipsize)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (ellipsize))
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 16);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer ellipsize)
{
  GtkWidget *label = gtk_list_item_get_child (item);
  const char *text = gtk_string_object_get_string (gtk_list_item_get_item (item));

  gtk_label_set_text (GTK_LABEL (label), text);
  if (GPOINTER_TO_INT (ellipsize))
    gtk_widget_set_tooltip_text (label, text);
}

static GtkListItemFactory *
label_factory (gboolean ellipsize)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_label), GINT_TO_POINTER (ellipsize));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label), GINT_TO_POINTER (ellipsize));
  return factory;
}

/* A run can be evaluated or exported once an epoch wrote its checkpoint. */
static gboolean
has_checkpoint (const SlRunInfo *run)
{
  return run->epochs_done > 0 && run->best_epoch >= 0;
}

static void
set_run_id (SlRunChooser *self, gint64 run_id)
{
  if (self->run_id == run_id)
    return;
  self->run_id = run_id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_ID]);
}

static guint
position_of (SlRunChooser *self, gint64 run_id)
{
  for (guint i = 0; i < self->ids->len; i++)
    if (g_array_index (self->ids, gint64, i) == run_id)
      return i;
  return GTK_INVALID_LIST_POSITION;
}

void
sl_run_chooser_refresh (SlRunChooser *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  guint position;

  g_return_if_fail (SL_IS_RUN_CHOOSER (self));

  runs = sl_session_dup_runs (self->session, &error);
  if (runs == NULL)
    {
      g_warning ("Could not list the runs: %s", error->message);
      return;
    }
  g_array_set_size (self->ids, 0);
  for (guint i = 0; i < runs->len; i++)
    {
      const SlRunInfo *run = g_ptr_array_index (runs, i);

      if (!has_checkpoint (run))
        continue;
      g_array_append_val (self->ids, run->id);
      g_ptr_array_add (labels, sl_run_chooser_describe_run (run));
    }
  g_ptr_array_add (labels, NULL);

  self->refreshing = TRUE;
  gtk_string_list_splice (self->labels, 0, g_list_model_get_n_items (G_LIST_MODEL (self->labels)),
                          (const char *const *) labels->pdata);
  position = position_of (self, self->run_id);
  if (position == GTK_INVALID_LIST_POSITION && self->ids->len > 0)
    position = 0;
  gtk_drop_down_set_selected (self->drop_down, position);
  self->refreshing = FALSE;

  gtk_widget_set_sensitive (GTK_WIDGET (self->drop_down), self->ids->len > 0);
  set_run_id (self, position == GTK_INVALID_LIST_POSITION
                        ? -1
                        : g_array_index (self->ids, gint64, position));
}

static void
on_selected (SlRunChooser *self)
{
  guint position = gtk_drop_down_get_selected (self->drop_down);

  if (self->refreshing)
    return;
  set_run_id (self, position < self->ids->len ? g_array_index (self->ids, gint64, position) : -1);
}

gint64
sl_run_chooser_get_run_id (SlRunChooser *self)
{
  g_return_val_if_fail (SL_IS_RUN_CHOOSER (self), -1);
  return self->run_id;
}

gboolean
sl_run_chooser_set_run_id (SlRunChooser *self, gint64 run_id)
{
  guint position;

  g_return_val_if_fail (SL_IS_RUN_CHOOSER (self), FALSE);

  if ((position = position_of (self, run_id)) == GTK_INVALID_LIST_POSITION)
    return FALSE;
  gtk_drop_down_set_selected (self->drop_down, position);
  return TRUE;
}

guint
sl_run_chooser_get_n_runs (SlRunChooser *self)
{
  g_return_val_if_fail (SL_IS_RUN_CHOOSER (self), 0);
  return self->ids->len;
}

GtkWidget *
sl_run_chooser_new (SlSession *session)
{
  return g_object_new (SL_TYPE_RUN_CHOOSER, "session", session, NULL);
}

static void
sl_run_chooser_constructed (GObject *object)
{
  SlRunChooser *self = SL_RUN_CHOOSER (object);

  G_OBJECT_CLASS (sl_run_chooser_parent_class)->constructed (object);

  g_return_if_fail (self->session != NULL);
  g_signal_connect_object (self->session, "runs-changed", G_CALLBACK (sl_run_chooser_refresh), self,
                           G_CONNECT_SWAPPED);
  sl_run_chooser_refresh (self);
}

static void
sl_run_chooser_dispose (GObject *object)
{
  SlRunChooser *self = SL_RUN_CHOOSER (object);

  g_clear_pointer ((GtkWidget **) &self->drop_down, gtk_widget_unparent);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_run_chooser_parent_class)->dispose (object);
}

static void
sl_run_chooser_finalize (GObject *object)
{
  SlRunChooser *self = SL_RUN_CHOOSER (object);

  g_array_unref (self->ids);
  G_OBJECT_CLASS (sl_run_chooser_parent_class)->finalize (object);
}

static void
sl_run_chooser_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlRunChooser *self = SL_RUN_CHOOSER (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      case PROP_RUN_ID: g_value_set_int64 (value, self->run_id); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_run_chooser_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SlRunChooser *self = SL_RUN_CHOOSER (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      case PROP_RUN_ID: sl_run_chooser_set_run_id (self, g_value_get_int64 (value)); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_run_chooser_class_init (SlRunChooserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_run_chooser_constructed;
  object_class->dispose = sl_run_chooser_dispose;
  object_class->finalize = sl_run_chooser_finalize;
  object_class->get_property = sl_run_chooser_get_property;
  object_class->set_property = sl_run_chooser_set_property;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUN_ID]
      = g_param_spec_int64 ("run-id", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
sl_run_chooser_init (SlRunChooser *self)
{
  self->run_id = -1;
  self->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->labels = gtk_string_list_new (NULL);
  /* The drop-down takes the model. */
  self->drop_down = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (self->labels), NULL));
  {
    g_autoptr (GtkListItemFactory) button = label_factory (TRUE);
    g_autoptr (GtkListItemFactory) list = label_factory (FALSE);

    gtk_drop_down_set_factory (self->drop_down, button);
    gtk_drop_down_set_list_factory (self->drop_down, list);
  }
  gtk_widget_set_parent (GTK_WIDGET (self->drop_down), GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->drop_down), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Training run", -1);
  g_signal_connect_swapped (self->drop_down, "notify::selected", G_CALLBACK (on_selected), self);
}
