/* sl-preprocess-page-chain.c: the Preprocess page's chain list (rows, selection, drag and drop) and its actions. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-preprocess-page-private.h"
#include "sl-step-row.h"

/* ---- Rows ------------------------------------------------------------------------------- */

static SlStepRow *
row_at (SlPreprocessPage *self, int step)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->chain_list), step);

  return row != NULL ? SL_STEP_ROW (row) : NULL;
}

static void select_row (SlPreprocessPage *self, int step);
static void on_row_enabled_changed (SlStepRow *row, gboolean enabled, SlPreprocessPage *self);
static void on_row_remove_clicked (SlStepRow *row, SlPreprocessPage *self);
static void on_row_dropped (SlStepRow *row, SlStepRow *source, SlPreprocessPage *self);

/* Rebuilds the rows after steps were added, removed or moved, then selects `select`. */
void
_sl_preprocess_page_rebuild_rows (SlPreprocessPage *self, int select)
{
  GtkListBox *list = GTK_LIST_BOX (self->chain_list);
  int n = self->pipeline != NULL ? sl_pipeline_step_count (self->pipeline) : 0;
  GtkListBoxRow *old;

  while ((old = gtk_list_box_get_row_at_index (list, 0)) != NULL)
    gtk_list_box_remove (list, GTK_WIDGET (old));
  for (int i = 0; i < n; i++)
    {
      GtkWidget *row = sl_step_row_new ();

      sl_step_row_update (SL_STEP_ROW (row), self->pipeline, i);
      /* A read-only project's steps cannot be reordered, switched or removed. */
      sl_step_row_set_editable (SL_STEP_ROW (row), !sl_session_is_read_only (self->session));
      g_signal_connect (row, "enabled-changed", G_CALLBACK (on_row_enabled_changed), self);
      g_signal_connect (row, "remove-clicked", G_CALLBACK (on_row_remove_clicked), self);
      g_signal_connect (row, "dropped", G_CALLBACK (on_row_dropped), self);
      gtk_list_box_append (list, row);
    }
  select_row (self, n > 0 ? CLAMP (select, -1, n - 1) : -1);
}

static void
show_step (SlPreprocessPage *self)
{
  sl_param_editor_set_step (SL_PARAM_EDITOR (self->param_editor), self->pipeline, self->selected);
  gtk_stack_set_visible_child_name (GTK_STACK (self->param_stack),
                                    self->selected >= 0 ? "editor" : "none");
  _sl_preprocess_page_update_roi (self);
  _sl_preprocess_page_update_actions (self);
}

static void
select_row (SlPreprocessPage *self, int step)
{
  SlStepRow *row = step >= 0 ? row_at (self, step) : NULL;

  if (row != NULL)
    gtk_list_box_select_row (GTK_LIST_BOX (self->chain_list), GTK_LIST_BOX_ROW (row));
  else
    gtk_list_box_unselect_all (GTK_LIST_BOX (self->chain_list));
  self->selected = row != NULL ? step : -1;
  show_step (self);
}

static void
on_row_selected (GtkListBox *list, GtkListBoxRow *row, SlPreprocessPage *self)
{
  int step = row != NULL ? sl_step_row_get_step (SL_STEP_ROW (row)) : -1;

  if (step == self->selected)
    return;
  self->selected = step;
  show_step (self);
}

static void
on_row_enabled_changed (SlStepRow *row, gboolean enabled, SlPreprocessPage *self)
{
  int step = sl_step_row_get_step (row);

  select_row (self, step);
  sl_pipeline_set_enabled (self->pipeline, step, enabled, NULL);
  _sl_preprocess_page_chain_edited (self);
}

static void
on_row_remove_clicked (SlStepRow *row, SlPreprocessPage *self)
{
  select_row (self, sl_step_row_get_step (row));
  gtk_widget_activate_action (GTK_WIDGET (self), "preprocess.remove-step", NULL);
}

static void
move_step (SlPreprocessPage *self, int from, int to)
{
  if (sl_session_is_read_only (self->session))
    return;
  if (sl_pipeline_move_step (self->pipeline, from, to, NULL) != SL_OK)
    return;
  _sl_preprocess_page_rebuild_rows (self, to);
  _sl_preprocess_page_chain_edited (self);
}

static void
on_row_dropped (SlStepRow *row, SlStepRow *source, SlPreprocessPage *self)
{
  move_step (self, sl_step_row_get_step (source), sl_step_row_get_step (row));
}

/* ---- Actions ----------------------------------------------------------------------------- */

void
_sl_preprocess_page_update_actions (SlPreprocessPage *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  int n = self->pipeline != NULL ? sl_pipeline_step_count (self->pipeline) : 0;
  /* A read-only project's pipeline shows with its preview; it cannot change. */
  gboolean ready
      = self->pipeline != NULL && self->loading == NULL && !sl_session_is_read_only (self->session);
  gboolean sel = ready && self->selected >= 0 && self->selected < n;

  gtk_widget_action_set_enabled (w, "preprocess.add-step", ready);
  gtk_widget_action_set_enabled (w, "preprocess.remove-step", sel);
  gtk_widget_action_set_enabled (w, "preprocess.toggle-step", sel);
  gtk_widget_action_set_enabled (w, "preprocess.move-up", sel && self->selected > 0);
  gtk_widget_action_set_enabled (w, "preprocess.move-down", sel && self->selected < n - 1);
  gtk_widget_action_set_enabled (w, "preprocess.new-samples",
                                 self->image_path != NULL
                                     && sl_augment_config_is_active (&self->augment));
  gtk_widget_action_set_enabled (w, "preprocess.previous-image", self->shown_image > 1);
  gtk_widget_action_set_enabled (w, "preprocess.next-image", self->shown_image >= 0);
}

/* The image imported before or after the previewed one (ids follow the import), skipping
 * deleted ones; -1 when there is none within a thousand ids. */
static gint64
neighbour_image (SlPreprocessPage *self, int direction)
{
  SlProject *project = sl_session_get_project (self->session);
  gint64 id = self->shown_image + direction;

  for (int tries = 0; id > 0 && tries < 1000; id += direction, tries++)
    {
      SlImageInfo *info = sl_project_get_image (project, id, NULL);

      if (info != NULL)
        {
          sl_image_info_free (info);
          return id;
        }
    }
  return -1;
}

static void
step_image_action (GtkWidget *widget, const char *name, GVariant *param)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (widget);
  gint64 id = neighbour_image (self, g_str_equal (name, "preprocess.next-image") ? 1 : -1);

  if (id >= 0)
    sl_preprocess_page_set_preview_image (self, id);
}

static void
add_step_action (GtkWidget *widget, const char *name, GVariant *param)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (widget);
  int n = sl_pipeline_step_count (self->pipeline);
  int at = self->selected >= 0 ? self->selected + 1 : n;

  if (sl_pipeline_insert_step (self->pipeline, at, g_variant_get_string (param, NULL), NULL)
      != SL_OK)
    return;
  _sl_preprocess_page_rebuild_rows (self, at);
  _sl_preprocess_page_chain_edited (self);
}

static void
remove_step_action (GtkWidget *widget, const char *name, GVariant *param)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (widget);
  int step = self->selected;

  if (sl_pipeline_remove_step (self->pipeline, step, NULL) != SL_OK)
    return;
  self->selected = -1;
  _sl_preprocess_page_rebuild_rows (self, step);
  _sl_preprocess_page_chain_edited (self);
}

static void
move_action (GtkWidget *widget, const char *name, GVariant *param)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (widget);
  int by = g_str_equal (name, "preprocess.move-up") ? -1 : 1;

  move_step (self, self->selected, self->selected + by);
  gtk_widget_grab_focus (GTK_WIDGET (row_at (self, self->selected)));
}

static void
toggle_step_action (GtkWidget *widget, const char *name, GVariant *param)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (widget);
  int step = self->selected;

  sl_pipeline_set_enabled (self->pipeline, step, !sl_pipeline_get_enabled (self->pipeline, step),
                           NULL);
  _sl_preprocess_page_chain_edited (self);
}

static void
new_samples_action (GtkWidget *widget, const char *name, GVariant *param)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (widget);

  self->augment_seed++;
  _sl_preprocess_page_request_preview (self);
}

static void
on_op_activated (SlOpCatalog *catalog, const char *op_id, SlPreprocessPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "preprocess.add-step", "s", op_id);
}

void
_sl_preprocess_page_install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "preprocess.add-step", "s", add_step_action);
  gtk_widget_class_install_action (widget_class, "preprocess.previous-image", NULL,
                                   step_image_action);
  gtk_widget_class_install_action (widget_class, "preprocess.next-image", NULL, step_image_action);
  gtk_widget_class_install_action (widget_class, "preprocess.remove-step", NULL,
                                   remove_step_action);
  gtk_widget_class_install_action (widget_class, "preprocess.move-up", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "preprocess.move-down", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "preprocess.toggle-step", NULL,
                                   toggle_step_action);
  gtk_widget_class_install_action (widget_class, "preprocess.new-samples", NULL,
                                   new_samples_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "preprocess.move-up",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_ALT_MASK,
                                       "preprocess.move-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "preprocess.remove-step",
                                       NULL);
}

void
_sl_preprocess_page_init_chain (SlPreprocessPage *self)
{
  g_signal_connect (self->catalog, "op-activated", G_CALLBACK (on_op_activated), self);
  g_signal_connect (self->chain_list, "row-selected", G_CALLBACK (on_row_selected), self);
}

void
sl_preprocess_page_select_step (SlPreprocessPage *self, int step)
{
  g_return_if_fail (SL_IS_PREPROCESS_PAGE (self));
  select_row (self, step);
}
