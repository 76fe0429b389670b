/* sl-dataset-page-actions.c: the Dataset page's actions: labeling keys, the context menu, import, split and drops. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-dataset-page-private.h"

#include "sl-anomaly.h"

#include "sl-import-dialog.h"
#include "sl-split-dialog.h"
#include "sl-thumbnail-cell.h"

/* ---- The selection ------------------------------------------------------------------------ */

/* Ids of the selected images in view order; *first gets the first position. */
static GArray *
selected_ids (SlDatasetPage *self, guint *first)
{
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GtkBitsetIter iter;
  guint position;

  *first = GTK_INVALID_LIST_POSITION;
  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position); ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr (SlImageObject) item
          = g_list_model_get_item (G_LIST_MODEL (self->selection), position);
      gint64 id;

      if (item == NULL)
        continue;
      id = sl_image_object_get_id (item);
      g_array_append_val (ids, id);
      if (*first == GTK_INVALID_LIST_POSITION)
        *first = position;
    }
  return ids;
}

/* The one place that decides which actions can run. */
void
_sl_dataset_page_update_actions (SlDatasetPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  /* A read-only project (sl_session_is_read_only) keeps every edit off. */
  gboolean writable = !sl_session_is_read_only (self->session);
  gboolean any = !gtk_bitset_is_empty (selected) && writable;
  gboolean has_images = sl_image_list_count (self->images, SL_IMAGE_SCOPE_ALL) > 0 && writable;

  gtk_widget_action_set_enabled (widget, "dataset.label", any);
  gtk_widget_action_set_enabled (widget, "dataset.label-key", any);
  gtk_widget_action_set_enabled (widget, "dataset.unlabel", any);
  gtk_widget_action_set_enabled (widget, "dataset.toggle-ignored", any);
  gtk_widget_action_set_enabled (widget, "dataset.set-ignored", any);
  gtk_widget_action_set_enabled (widget, "dataset.move-to-split", any);
  gtk_widget_action_set_enabled (widget, "dataset.context-menu", any);
  gtk_widget_action_set_enabled (widget, "dataset.resplit", has_images);
  gtk_widget_action_set_enabled (widget, "dataset.import", writable);
  gtk_widget_action_set_enabled (widget, "dataset.import-as", writable);
  _sl_dataset_page_update_suggest_actions (self);
}

/* After labeling one image, the next unlabelled one in view order (wrapping
 * around) is selected, so labeling is one key per image. */
void
_sl_dataset_page_advance_to_unlabeled (SlDatasetPage *self, SlImageObject *done, guint old_position)
{
  GListModel *model = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (model);
  guint start = old_position;

  if (n == 0)
    return;
  if (old_position < n)
    {
      g_autoptr (SlImageObject) there = g_list_model_get_item (model, old_position);
      if (there == done)
        start = old_position + 1; /* still shown: look after it */
    }
  for (guint k = 0; k < n; k++)
    {
      guint position = (start + k) % n;
      g_autoptr (SlImageObject) item = g_list_model_get_item (model, position);

      if (item != done && sl_image_object_get_class_id (item) < 0
          && !sl_image_object_get_ignored (item))
        {
          _sl_dataset_page_reveal (self, position);
          return;
        }
    }
}

static void
label_selection (SlDatasetPage *self, gint64 class_id, gboolean advance)
{
  g_autoptr (GError) error = NULL;
  guint first;
  g_autoptr (GArray) ids = selected_ids (self, &first);
  g_autoptr (SlImageObject) single = NULL;

  if (ids->len == 0)
    return;
  if (ids->len == 1)
    single = g_list_model_get_item (G_LIST_MODEL (self->selection), first);
  if (!sl_session_set_labels (self->session, (gint64 *) ids->data, ids->len, class_id, &error))
    {
      _sl_dataset_page_show_error (self, error->message);
      return;
    }
  if (advance && single != NULL)
    _sl_dataset_page_advance_to_unlabeled (self, single, first);
}

static void
set_ignored (SlDatasetPage *self, gboolean ignored)
{
  g_autoptr (GError) error = NULL;
  guint first;
  g_autoptr (GArray) ids = selected_ids (self, &first);
  g_autoptr (SlImageObject) single = NULL;

  if (ids->len == 0)
    return;
  if (ids->len == 1)
    single = g_list_model_get_item (G_LIST_MODEL (self->selection), first);
  if (!sl_session_set_ignored (self->session, (gint64 *) ids->data, ids->len, ignored, &error))
    _sl_dataset_page_show_error (self, error->message);
  else if (ignored && single != NULL)
    _sl_dataset_page_advance_to_unlabeled (self, single, first); /* ignoring is skipping */
}

/* ---- Actions ------------------------------------------------------------------------------- */

static void
label_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  label_selection (SL_DATASET_PAGE (widget), g_variant_get_int64 (parameter), TRUE);
}

/* Keys 1-9 (and 0 unless a class owns it) from the classes' shortcuts. */
static void
label_key_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  const char *key = g_variant_get_string (parameter, NULL);
  const SlClass *klass = sl_image_list_find_shortcut (self->images, key);

  if (klass != NULL)
    label_selection (self, klass->id, TRUE);
  else if (g_str_equal (key, "0"))
    label_selection (self, -1, FALSE);
}

static void
unlabel_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  label_selection (SL_DATASET_PAGE (widget), -1, FALSE);
}

static void
toggle_ignored_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  GtkBitsetIter iter;
  guint position;
  gboolean all_ignored = TRUE;

  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position); ok && all_ignored;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr (SlImageObject) item
          = g_list_model_get_item (G_LIST_MODEL (self->selection), position);
      all_ignored = item != NULL && sl_image_object_get_ignored (item);
    }
  set_ignored (self, !all_ignored);
}

static void
set_ignored_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  set_ignored (SL_DATASET_PAGE (widget), g_variant_get_boolean (parameter));
}

/* Splits are not undoable edits: they go to the project, then the session hears of them. */
static void
move_to_split_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  g_autoptr (GError) error = NULL;
  guint first;
  g_autoptr (GArray) ids = selected_ids (self, &first);
  SlSplit split;

  if (!sl_split_from_string (g_variant_get_string (parameter, NULL), &split) || ids->len == 0)
    return;
  if (!sl_project_set_split (sl_session_get_project (self->session), (gint64 *) ids->data, ids->len,
                             split, &error))
    _sl_dataset_page_show_error (self, error->message);
  else
    sl_session_notify_labels_changed (self->session, (gint64 *) ids->data, ids->len);
}

static void
show_all_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  _sl_dataset_page_show_all (SL_DATASET_PAGE (widget));
}

static void
focus_search_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  gtk_widget_grab_focus (GTK_WIDGET (SL_DATASET_PAGE (widget)->search_entry));
}

SlImportDialog *
sl_dataset_page_import (SlDatasetPage *self, GFile **sources, guint n_sources)
{
  SlImportDialog *dialog;

  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), NULL);
  g_return_val_if_fail (n_sources > 0, NULL);
  dialog = sl_import_dialog_new (GTK_WIDGET (self), self->session, sources, n_sources);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
on_chooser_response (GtkNativeDialog *chooser, int response, SlDatasetPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (folder != NULL)
        sl_dataset_page_import_as (self, &folder, 1, self->chooser_class);
    }
  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->chooser_class, g_free);
}

SlImportDialog *
sl_dataset_page_import_as (SlDatasetPage *self, GFile **sources, guint n_sources,
                           const char *class_name)
{
  SlImportDialog *dialog;

  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), NULL);
  g_return_val_if_fail (n_sources > 0, NULL);
  dialog = sl_import_dialog_new (GTK_WIDGET (self), self->session, sources, n_sources);
  if (class_name != NULL)
    sl_import_dialog_set_class (dialog, class_name);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
open_chooser (SlDatasetPage *self, const char *title, const char *class_name)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    return;
  self->chooser_class = g_strdup (class_name);
  self->chooser
      = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                     GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Import", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_chooser_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* An anomaly project's "Import good parts…" and "Import defect images…": every image of
 * the folder gets the one label. */
static void
import_as_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  const char *class_name = g_variant_get_string (parameter, NULL);

  open_chooser (SL_DATASET_PAGE (widget),
                g_str_equal (class_name, SL_ANOMALY_GOOD_CLASS)
                    ? "Import a Folder of Good Parts"
                    : "Import a Folder of Defect Images",
                class_name);
}

/* In an anomaly project Import (and Ctrl+I) asks first: good parts or defect images. */
static void
import_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  graphene_rect_t bounds;

  if (!self->anomaly)
    {
      open_chooser (self, "Import a Folder of Images", NULL);
      return;
    }
  if (self->import_popover == NULL)
    {
      self->import_popover = gtk_popover_menu_new_from_model (self->import_menu);
      gtk_widget_set_parent (self->import_popover, widget);
    }
  /* Under the Import button (as the context menu, the page holds the popover). */
  if (gtk_widget_compute_bounds (self->import_button, widget, &bounds))
    gtk_popover_set_pointing_to (GTK_POPOVER (self->import_popover),
                                 &(GdkRectangle){ (int) bounds.origin.x, (int) bounds.origin.y,
                                                  (int) bounds.size.width,
                                                  (int) bounds.size.height });
  gtk_popover_popup (GTK_POPOVER (self->import_popover));
}

gboolean
sl_dataset_page_get_import_menu_shown (SlDatasetPage *self)
{
  g_return_val_if_fail (SL_IS_DATASET_PAGE (self), FALSE);
  return self->import_popover != NULL && gtk_widget_get_visible (self->import_popover);
}

SlSplitDialog *
sl_dataset_page_open_split_dialog (SlDatasetPage *self)
{
  SlSplitDialog *dialog = sl_split_dialog_new (GTK_WIDGET (self), self->session);

  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
resplit_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  sl_dataset_page_open_split_dialog (SL_DATASET_PAGE (widget));
}

/* ---- Context menu ----------------------------------------------------------------------------- */

static void
append_item (GMenu *menu, const char *label, const char *action, GVariant *target)
{
  g_autoptr (GMenuItem) item = g_menu_item_new (label, NULL);

  g_menu_item_set_action_and_target_value (item, action, target);
  g_menu_append_item (menu, item);
}

static GMenuModel *
context_menu_model (SlDatasetPage *self)
{
  GMenu *menu = g_menu_new ();
  g_autoptr (GMenu) label = g_menu_new ();
  g_autoptr (GMenu) classes = g_menu_new ();
  g_autoptr (GMenu) split = g_menu_new ();
  g_autoptr (GMenu) ignore = g_menu_new ();
  GPtrArray *list = sl_image_list_get_classes (self->images);

  for (guint i = 0; i < list->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (list, i);
      append_item (classes, klass->name, "dataset.label", g_variant_new_int64 (klass->id));
    }
  if (list->len > 0)
    g_menu_append_submenu (label, "_Label As", G_MENU_MODEL (classes));
  append_item (label, "_Clear Label", "dataset.unlabel", NULL);
  append_item (split, "Move to _Training", "dataset.move-to-split", g_variant_new_string ("train"));
  append_item (split, "Move to _Validation", "dataset.move-to-split", g_variant_new_string ("val"));
  append_item (split, "Move to T_est", "dataset.move-to-split", g_variant_new_string ("test"));
  append_item (split, "_No Split", "dataset.move-to-split", g_variant_new_string ("none"));
  append_item (ignore, "_Ignore", "dataset.set-ignored", g_variant_new_boolean (TRUE));
  append_item (ignore, "_Include", "dataset.set-ignored", g_variant_new_boolean (FALSE));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (label));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (split));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (ignore));
  return G_MENU_MODEL (menu);
}

/* Pops the menu up at (x, y) in the page's coordinates. */
static void
popup_context_menu (SlDatasetPage *self, double x, double y)
{
  g_autoptr (GMenuModel) model = context_menu_model (self);

  if (self->context_menu == NULL)
    {
      self->context_menu = gtk_popover_menu_new_from_model (NULL);
      gtk_widget_set_parent (self->context_menu, GTK_WIDGET (self));
      gtk_popover_set_has_arrow (GTK_POPOVER (self->context_menu), FALSE);
      gtk_widget_set_halign (self->context_menu, GTK_ALIGN_START);
    }
  gtk_popover_menu_set_menu_model (GTK_POPOVER_MENU (self->context_menu), model);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu),
                               &(GdkRectangle){ (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

static void
context_menu_action (GtkWidget *widget, const char *name, GVariant *parameter)
{
  SlDatasetPage *self = SL_DATASET_PAGE (widget);
  double x = 0, y = 0;

  gtk_widget_translate_coordinates (GTK_WIDGET (self->grid), widget,
                                    gtk_widget_get_width (GTK_WIDGET (self->grid)) / 2.0, 24, &x,
                                    &y);
  popup_context_menu (self, x, y);
}

/* A right click on an image that is not selected selects it alone first. */
static void
on_grid_secondary_click (GtkGestureClick *gesture, int n_press, double x, double y,
                         SlDatasetPage *self)
{
  GtkWidget *picked = gtk_widget_pick (GTK_WIDGET (self->grid), x, y, GTK_PICK_DEFAULT);
  GtkWidget *cell
      = picked != NULL ? gtk_widget_get_ancestor (picked, SL_TYPE_THUMBNAIL_CELL) : NULL;
  double px, py;

  if (cell == NULL || sl_thumbnail_cell_get_image (SL_THUMBNAIL_CELL (cell)) == NULL)
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  {
    SlImageObject *image = sl_thumbnail_cell_get_image (SL_THUMBNAIL_CELL (cell));
    GListModel *model = G_LIST_MODEL (self->selection);
    guint n = g_list_model_get_n_items (model);

    for (guint i = 0; i < n; i++)
      {
        g_autoptr (SlImageObject) item = g_list_model_get_item (model, i);

        if (item != image)
          continue;
        if (!gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
          gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), i, TRUE);
        break;
      }
  }
  gtk_widget_translate_coordinates (GTK_WIDGET (self->grid), GTK_WIDGET (self), x, y, &px, &py);
  popup_context_menu (self, px, py);
}

/* ---- Drops -------------------------------------------------------------------------------------- */

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, SlDatasetPage *self)
{
  GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
  g_autoptr (GPtrArray) sources = g_ptr_array_new ();

  if (sl_session_is_read_only (self->session))
    {
      g_slist_free (files);
      return FALSE; /* nothing can be imported into a read-only project */
    }
  for (GSList *l = files; l != NULL; l = l->next)
    g_ptr_array_add (sources, l->data);
  if (sources->len > 0)
    sl_dataset_page_import (self, (GFile **) sources->pdata, sources->len);
  g_slist_free (files);
  return sources->len > 0;
}

void
_sl_dataset_page_setup_input (SlDatasetPage *self)
{
  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  GtkGesture *click = gtk_gesture_click_new ();

  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_grid_secondary_click), self);
  gtk_widget_add_controller (GTK_WIDGET (self->grid), GTK_EVENT_CONTROLLER (click));
}

void
_sl_dataset_page_install_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "dataset.label", "x", label_action);
  gtk_widget_class_install_action (widget_class, "dataset.label-key", "s", label_key_action);
  gtk_widget_class_install_action (widget_class, "dataset.unlabel", NULL, unlabel_action);
  gtk_widget_class_install_action (widget_class, "dataset.toggle-ignored", NULL,
                                   toggle_ignored_action);
  gtk_widget_class_install_action (widget_class, "dataset.set-ignored", "b", set_ignored_action);
  gtk_widget_class_install_action (widget_class, "dataset.move-to-split", "s",
                                   move_to_split_action);
  gtk_widget_class_install_action (widget_class, "dataset.show-all", NULL, show_all_action);
  gtk_widget_class_install_action (widget_class, "dataset.focus-search", NULL, focus_search_action);
  gtk_widget_class_install_action (widget_class, "dataset.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "dataset.import-as", "s", import_as_action);
  gtk_widget_class_install_action (widget_class, "dataset.resplit", NULL, resplit_action);
  gtk_widget_class_install_action (widget_class, "dataset.context-menu", NULL, context_menu_action);
  _sl_dataset_page_install_suggest_actions (widget_class);

  for (int k = 0; k <= 9; k++)
    {
      char key[2] = { (char) ('0' + k), '\0' };

      gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0 + k, 0, "dataset.label-key", "s",
                                           key);
      gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0 + k, 0, "dataset.label-key",
                                           "s", key);
    }
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "dataset.unlabel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "dataset.unlabel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, 0, "dataset.toggle-ignored", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "dataset.focus-search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "dataset.import",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "dataset.context-menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK,
                                       "dataset.context-menu", NULL);
}
