/* sl-run-list.c: the Train page's run history: every run with its state, to show, compare, resume or delete. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-run-list.h"

#include <math.h>

#include "sl-anomaly.h"
#include "sl-model-words.h"

struct _SlRunList
{
  GtkWidget parent_instance;

  SlSession *session;
  GtkListBox *list_box;
  GPtrArray *runs; /* SlRunInfo, in row order */
  gint64 selected_run, compare_run;
  gboolean refreshing;
};

G_DEFINE_FINAL_TYPE (SlRunList, sl_run_list, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_SELECTED_RUN,
  PROP_COMPARE_RUN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

gboolean
sl_run_info_is_resumable (const SlRunInfo *run)
{
  return run->status == SL_RUN_CANCELLED || run->status == SL_RUN_FAILED
         || run->status == SL_RUN_INTERRUPTED;
}

static const char *
status_icon (SlRunStatus status)
{
  switch (status)
    {
      case SL_RUN_RUNNING: return "media-playback-start-symbolic";
      case SL_RUN_FINISHED:
      case SL_RUN_STOPPED_EARLY: return "emblem-ok-symbolic";
      case SL_RUN_CANCELLED: return "media-playback-pause-symbolic";
      case SL_RUN_FAILED: return "dialog-error-symbolic";
      case SL_RUN_INTERRUPTED: return "dialog-warning-symbolic";
      case SL_RUN_CREATED:
      default: return "content-loading-symbolic";
    }
}

const char *
sl_run_status_describe (SlRunStatus status)
{
  switch (status)
    {
      case SL_RUN_RUNNING: return "Training";
      case SL_RUN_FINISHED: return "Finished";
      case SL_RUN_STOPPED_EARLY: return "Stopped early";
      case SL_RUN_CANCELLED: return "Stopped";
      case SL_RUN_FAILED: return "Failed";
      case SL_RUN_INTERRUPTED: return "Interrupted";
      case SL_RUN_CREATED:
      default: return "Preparing";
    }
}

const char *
sl_run_status_style (SlRunStatus status)
{
  switch (status)
    {
      case SL_RUN_FINISHED:
      case SL_RUN_STOPPED_EARLY: return "success";
      case SL_RUN_FAILED: return "error";
      case SL_RUN_CANCELLED:
      case SL_RUN_INTERRUPTED: return "warning";
      default: return "accent";
    }
}

/* "Nov 22, 14:03" in local time, from the stored ISO 8601 UTC. */
static char *
format_created (const char *iso)
{
  g_autoptr (GDateTime) utc = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%b %e, %H:%M") : g_strdup ("");
}

/* What a row's menu needs; the menu itself is built when it first opens,
 * so that refreshing the list (every epoch of a run) stays cheap. */
typedef struct
{
  gint64 id;
  gboolean resumable;
} RowMenu;

static void
build_row_menu (GtkMenuButton *button, gpointer data)
{
  const RowMenu *r = data;
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenuItem) item = NULL;

  if (gtk_menu_button_get_menu_model (button) != NULL)
    return;
  if (r->resumable)
    {
      item = g_menu_item_new ("_Resume", NULL);
      g_menu_item_set_action_and_target_value (item, "training.resume-run",
                                               g_variant_new_int64 (r->id));
      g_menu_append_item (menu, item);
      g_clear_object (&item);
    }
  item = g_menu_item_new ("_Train Again With These Settings", NULL);
  g_menu_item_set_action_and_target_value (item, "training.reuse-settings",
                                           g_variant_new_int64 (r->id));
  g_menu_append_item (menu, item);
  g_clear_object (&item);
  item = g_menu_item_new ("_Delete…", NULL);
  g_menu_item_set_action_and_target_value (item, "training.delete-run",
                                           g_variant_new_int64 (r->id));
  g_menu_append_item (menu, item);
  gtk_menu_button_set_menu_model (button, G_MENU_MODEL (menu));
}

static void
on_compare_toggled (GtkToggleButton *button, SlRunList *self)
{
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button), "run-id"));

  if (self->refreshing)
    return;
  if (gtk_toggle_button_get_active (button))
    sl_run_list_set_compare_run (self, id);
  else if (self->compare_run == id)
    sl_run_list_set_compare_run (self, -1);
}

static GtkWidget *
make_row (SlRunList *self, const SlRunInfo *run)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *icon = gtk_image_new_from_icon_name (status_icon (run->status));
  GtkWidget *title = gtk_label_new (run->name);
  GtkWidget *compare = gtk_toggle_button_new ();
  GtkWidget *menu_button = gtk_menu_button_new ();
  RowMenu *row_menu = g_new (RowMenu, 1);
  g_autofree char *model = sl_model_words_describe_run (run, FALSE);
  g_autoptr (GString) detail = g_string_new (model);
  g_autofree char *created = format_created (run->created);
  g_autofree char *when = NULL;
  gboolean anomaly = sl_run_info_is_anomaly (run);

  /* An anomaly run fits once: no epochs, no accuracy (Evaluate shows its rates). */
  if (!anomaly)
    g_string_append_printf (detail, " · %d/%d epochs", run->epochs_done, run->epochs);
  if (!anomaly && run->best_epoch >= 0 && !isnan (run->best_val_accuracy))
    g_string_append_printf (detail, " · %.1f %%", 100.0 * run->best_val_accuracy);
  when = g_strdup_printf ("%s · %s", created, sl_run_status_describe (run->status));

  gtk_widget_set_tooltip_text (icon, sl_run_status_describe (run->status));
  gtk_widget_add_css_class (box, "run-row");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "heading");
  gtk_box_append (GTK_BOX (text), title);
  for (int i = 0; i < 2; i++)
    {
      GtkWidget *label = gtk_label_new (i == 0 ? detail->str : when);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (GTK_BOX (text), label);
    }
  gtk_widget_set_hexpand (text, TRUE);
  if (run->status == SL_RUN_FAILED && run->message != NULL)
    gtk_widget_set_tooltip_text (text, run->message);

  gtk_button_set_icon_name (GTK_BUTTON (compare), "view-dual-symbolic");
  gtk_widget_set_tooltip_text (compare, "Compare with the run shown");
  gtk_widget_set_valign (compare, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (compare, "flat");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (compare), run->id == self->compare_run);
  gtk_widget_set_sensitive (compare, run->id != self->selected_run);
  g_object_set_data (G_OBJECT (compare), "run-id", GSIZE_TO_POINTER ((gsize) run->id));
  g_signal_connect (compare, "toggled", G_CALLBACK (on_compare_toggled), self);

  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu_button), "view-more-symbolic");
  row_menu->id = run->id;
  row_menu->resumable = sl_run_info_is_resumable (run);
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (menu_button), build_row_menu, row_menu,
                                         g_free);
  gtk_widget_set_tooltip_text (menu_button, "Run actions");
  gtk_widget_set_valign (menu_button, GTK_ALIGN_CENTER);
  gtk_menu_button_set_has_frame (GTK_MENU_BUTTON (menu_button), FALSE);

  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), text);
  gtk_box_append (GTK_BOX (box), compare);
  gtk_box_append (GTK_BOX (box), menu_button);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data (G_OBJECT (row), "compare-button", compare);
  return row;
}

/* The compare buttons follow the selected and the compared run. */
static void
update_rows (SlRunList *self)
{
  self->refreshing = TRUE;
  for (guint i = 0; i < self->runs->len; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->list_box, (int) i);
      GtkWidget *compare = g_object_get_data (G_OBJECT (row), "compare-button");
      gint64 id = ((SlRunInfo *) g_ptr_array_index (self->runs, i))->id;

      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (compare), id == self->compare_run);
      gtk_widget_set_sensitive (compare, id != self->selected_run);
    }
  self->refreshing = FALSE;
}

static int
index_of (SlRunList *self, gint64 run_id)
{
  for (guint i = 0; i < self->runs->len; i++)
    if (((SlRunInfo *) g_ptr_array_index (self->runs, i))->id == run_id)
      return (int) i;
  return -1;
}

void
sl_run_list_refresh (SlRunList *self)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *runs;
  GtkWidget *child;
  int index;

  g_return_if_fail (SL_IS_RUN_LIST (self));

  if (self->list_box == NULL) /* disposed */
    return;
  if ((runs = sl_session_dup_runs (self->session, &error)) == NULL)
    {
      g_warning ("Could not list the runs: %s", error->message);
      return;
    }
  g_ptr_array_unref (self->runs);
  self->runs = runs;

  self->refreshing = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box))) != NULL)
    gtk_list_box_remove (self->list_box, child);
  if (self->compare_run >= 0 && index_of (self, self->compare_run) < 0)
    {
      self->compare_run = -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE_RUN]);
    }
  for (guint i = 0; i < runs->len; i++)
    gtk_list_box_append (self->list_box, make_row (self, g_ptr_array_index (runs, i)));
  index = index_of (self, self->selected_run);
  gtk_list_box_select_row (
      self->list_box, index >= 0 ? gtk_list_box_get_row_at_index (self->list_box, index) : NULL);
  self->refreshing = FALSE;

  /* A deleted (or first) run: show the newest. */
  if (index < 0)
    {
      self->selected_run = -2;
      sl_run_list_select_run (self, runs->len > 0 ? ((SlRunInfo *) runs->pdata[0])->id : -1);
    }
  else
    update_rows (self);
}

static void
on_row_selected (SlRunList *self, GtkListBoxRow *row)
{
  int index = row != NULL ? gtk_list_box_row_get_index (row) : -1;
  gint64 id = index >= 0 ? ((SlRunInfo *) g_ptr_array_index (self->runs, index))->id : -1;

  if (self->refreshing || id == self->selected_run)
    return;
  self->selected_run = id;
  if (self->compare_run == id)
    {
      self->compare_run = -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE_RUN]);
    }
  update_rows (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_RUN]);
}

gint64
sl_run_list_get_selected_run (SlRunList *self)
{
  g_return_val_if_fail (SL_IS_RUN_LIST (self), -1);
  return self->selected_run;
}

void
sl_run_list_select_run (SlRunList *self, gint64 run_id)
{
  int index;

  g_return_if_fail (SL_IS_RUN_LIST (self));

  if ((index = index_of (self, run_id)) < 0)
    run_id = -1;
  if (run_id == self->selected_run)
    return;
  self->selected_run = run_id;
  self->refreshing = TRUE;
  gtk_list_box_select_row (
      self->list_box, index >= 0 ? gtk_list_box_get_row_at_index (self->list_box, index) : NULL);
  self->refreshing = FALSE;
  if (self->compare_run == run_id)
    {
      self->compare_run = -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE_RUN]);
    }
  update_rows (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_RUN]);
}

gint64
sl_run_list_get_compare_run (SlRunList *self)
{
  g_return_val_if_fail (SL_IS_RUN_LIST (self), -1);
  return self->compare_run;
}

void
sl_run_list_set_compare_run (SlRunList *self, gint64 run_id)
{
  g_return_if_fail (SL_IS_RUN_LIST (self));

  if (run_id == self->selected_run || index_of (self, run_id) < 0)
    run_id = -1;
  if (run_id == self->compare_run)
    return;
  self->compare_run = run_id;
  update_rows (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE_RUN]);
}

guint
sl_run_list_get_n_runs (SlRunList *self)
{
  g_return_val_if_fail (SL_IS_RUN_LIST (self), 0);
  return self->runs->len;
}

const SlRunInfo *
sl_run_list_lookup (SlRunList *self, gint64 run_id)
{
  int index;

  g_return_val_if_fail (SL_IS_RUN_LIST (self), NULL);
  index = index_of (self, run_id);
  return index >= 0 ? g_ptr_array_index (self->runs, index) : NULL;
}

GtkWidget *
sl_run_list_new (SlSession *session)
{
  return g_object_new (SL_TYPE_RUN_LIST, "session", session, NULL);
}

static void
sl_run_list_constructed (GObject *object)
{
  SlRunList *self = SL_RUN_LIST (object);

  G_OBJECT_CLASS (sl_run_list_parent_class)->constructed (object);
  g_signal_connect_object (self->session, "runs-changed", G_CALLBACK (sl_run_list_refresh), self,
                           G_CONNECT_SWAPPED);
  sl_run_list_refresh (self);
}

static void
sl_run_list_dispose (GObject *object)
{
  SlRunList *self = SL_RUN_LIST (object);

  if (self->list_box != NULL)
    g_signal_handlers_disconnect_by_data (self->list_box, self);
  g_clear_pointer ((GtkWidget **) &self->list_box, gtk_widget_unparent);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_run_list_parent_class)->dispose (object);
}

static void
sl_run_list_finalize (GObject *object)
{
  SlRunList *self = SL_RUN_LIST (object);

  g_ptr_array_unref (self->runs);
  G_OBJECT_CLASS (sl_run_list_parent_class)->finalize (object);
}

static void
sl_run_list_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlRunList *self = SL_RUN_LIST (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      case PROP_SELECTED_RUN: g_value_set_int64 (value, self->selected_run); break;
      case PROP_COMPARE_RUN: g_value_set_int64 (value, self->compare_run); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_run_list_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SlRunList *self = SL_RUN_LIST (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      case PROP_SELECTED_RUN: sl_run_list_select_run (self, g_value_get_int64 (value)); break;
      case PROP_COMPARE_RUN: sl_run_list_set_compare_run (self, g_value_get_int64 (value)); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_run_list_class_init (SlRunListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_run_list_constructed;
  object_class->dispose = sl_run_list_dispose;
  object_class->finalize = sl_run_list_finalize;
  object_class->get_property = sl_run_list_get_property;
  object_class->set_property = sl_run_list_set_property;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_RUN]
      = g_param_spec_int64 ("selected-run", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPARE_RUN]
      = g_param_spec_int64 ("compare-run", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "runlist");
}

static void
sl_run_list_init (SlRunList *self)
{
  GtkWidget *placeholder = gtk_label_new ("No runs yet. Choose the settings and start training.");

  self->selected_run = self->compare_run = -1;
  self->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_run_info_free);
  self->list_box = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list_box, GTK_SELECTION_SINGLE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list_box), "navigation-sidebar");
  gtk_label_set_wrap (GTK_LABEL (placeholder), TRUE);
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 24);
  gtk_widget_set_margin_start (placeholder, 12);
  gtk_widget_set_margin_end (placeholder, 12);
  gtk_list_box_set_placeholder (self->list_box, placeholder);
  gtk_widget_set_parent (GTK_WIDGET (self->list_box), GTK_WIDGET (self));
  g_signal_connect_swapped (self->list_box, "row-selected", G_CALLBACK (on_row_selected), self);
}
