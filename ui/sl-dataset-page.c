/* sl-dataset-page.c: the Dataset page: browse, filter, label and split the project's images. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-dataset-page-private.h"

#include "sl-anomaly.h"

#include "sl-thumbnail-cell.h"

/* Thumbnails are decoded to fit this box. */
#define THUMBNAIL_SIZE 120

G_DEFINE_FINAL_TYPE (SlDatasetPage, sl_dataset_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_SELECTED_IMAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- What the page shows ---------------------------------------------------------------- */

static void
update_view_state (SlDatasetPage *self)
{
  const char *state = sl_dataset_page_get_view_state (self);

  gtk_stack_set_visible_child_name (self->view_stack, state);
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), !g_str_equal (state, "empty"));
  gtk_spinner_set_spinning (self->loading_spinner, g_str_equal (state, "loading"));
}

const char *
sl_dataset_page_get_view_state (SlDatasetPage *self)
{
  if (sl_image_list_get_loading (self->images))
    return "loading";
  if (sl_image_list_count (self->images, SL_IMAGE_SCOPE_ALL) == 0)
    return "empty";
  if (g_list_model_get_n_items (G_LIST_MODEL (self->selection)) == 0)
    return "no-matches";
  return "grid";
}

static void
update_status (SlDatasetPage *self, guint n_selected)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->selection));
  gint64 total = sl_image_list_count (self->images, SL_IMAGE_SCOPE_ALL);
  g_autoptr (GString) text = g_string_new (NULL);

  if (sl_image_list_get_loading (self->images))
    ;
  else if ((gint64) shown == total)
    g_string_printf (text, "%'u image%s", shown, shown == 1 ? "" : "s");
  else
    g_string_printf (text, "%'u of %'" G_GINT64_FORMAT " images", shown, total);
  if (n_selected > 0)
    g_string_append_printf (text, " · %'u selected", n_selected);
  gtk_label_set_text (self->status_label, text->str);
}

/* Follows the selection: details, status, actions and "selected-image". */
static void
update_selection (SlDatasetPage *self)
{
  g_autoptr (GtkBitset) selected
      = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  guint n = (guint) MIN (gtk_bitset_get_size (selected), G_MAXUINT);
  g_autoptr (SlImageObject) first = NULL;
  gint64 id = -1;

  if (n > 0)
    first
        = g_list_model_get_item (G_LIST_MODEL (self->selection), gtk_bitset_get_minimum (selected));
  if (first != NULL)
    id = sl_image_object_get_id (first);
  sl_image_details_show (self->details, first, n);
  update_status (self, n);
  _sl_dataset_page_update_actions (self);
  if (id != self->selected_image)
    {
      self->selected_image = id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_IMAGE]);
    }
}

static void
on_selection_changed (GtkSelectionModel *model, guint position, guint n, SlDatasetPage *self)
{
  update_selection (self);
}

static void
on_view_items_changed (GListModel *model, guint position, guint removed, guint added,
                       SlDatasetPage *self)
{
  update_view_state (self);
  update_selection (self);
}

static void
on_counts_changed (SlImageList *images, SlDatasetPage *self)
{
  update_view_state (self);
  update_selection (self);
}

static void
on_loading_changed (SlImageList *images, GParamSpec *pspec, SlDatasetPage *self)
{
  update_view_state (self);
  update_selection (self);
  if (!sl_image_list_get_loading (images) && self->pending_select >= 0)
    {
      gint64 id = self->pending_select;

      self->pending_select = -1;
      sl_dataset_page_select_image (self, id);
    }
}

void
_sl_dataset_page_show_error (SlDatasetPage *self, const char *message)
{
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
on_error_close (SlDatasetPage *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

static void
on_class_list_error (SlClassList *list, const char *message, SlDatasetPage *self)
{
  _sl_dataset_page_show_error (self, message);
}

/* ---- Filters from the toolbar and the sidebar ---------------------------------------------- */

static void
on_search_changed (SlDatasetPage *self)
{
  sl_image_list_set_search (self->images,
                            gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
}

static void
on_stop_search (SlDatasetPage *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_widget_grab_focus (GTK_WIDGET (self->grid));
}

static void
on_split_selected (SlDatasetPage *self)
{
  /* All Splits, Training, Validation, Test, No Split */
  static const int splits[] = { -1, SL_SPLIT_TRAIN, SL_SPLIT_VAL, SL_SPLIT_TEST, SL_SPLIT_NONE };
  guint i = gtk_drop_down_get_selected (self->split_dropdown);

  sl_image_list_set_split_filter (self->images, i < G_N_ELEMENTS (splits) ? splits[i] : -1);
}

/* The sort menu: a classifier's suggestions sort by confidence and margin, an anomaly
 * model's by how near its threshold and how high the score is (short names: the toolbar
 * must fit 1024 px whichever is chosen; the tooltip says what they mean). */
typedef struct
{
  const char *name;
  SlImageSort sort;
} SortChoice;

static const SortChoice classify_sorts[] = {
  { "Imported", SL_IMAGE_SORT_DATE },
  { "Name", SL_IMAGE_SORT_NAME },
  { "Class", SL_IMAGE_SORT_CLASS },
  { "Least Sure", SL_IMAGE_SORT_LEAST_CONFIDENT },  /* lowest confidence first */
  { "Close Calls", SL_IMAGE_SORT_SMALLEST_MARGIN }, /* smallest gap to the runner-up first */
};

static const SortChoice anomaly_sorts[] = {
  { "Imported", SL_IMAGE_SORT_DATE },
  { "Name", SL_IMAGE_SORT_NAME },
  { "Class", SL_IMAGE_SORT_CLASS },
  { "Borderline", SL_IMAGE_SORT_SMALLEST_MARGIN }, /* nearest the threshold first */
  { "Anomalous", SL_IMAGE_SORT_HIGHEST_ANOMALY },  /* highest anomaly score first */
};

static void
sort_choices (SlDatasetPage *self, const SortChoice **choices, guint *n)
{
  *choices = self->anomaly ? anomaly_sorts : classify_sorts;
  *n = self->anomaly ? G_N_ELEMENTS (anomaly_sorts) : G_N_ELEMENTS (classify_sorts);
}

static void
on_sort_selected (SlDatasetPage *self)
{
  const SortChoice *choices;
  guint n, i = gtk_drop_down_get_selected (self->sort_dropdown);

  sort_choices (self, &choices, &n);
  sl_image_list_set_sort (self->images, i < n ? choices[i].sort : SL_IMAGE_SORT_DATE);
}

void
sl_dataset_page_set_sort (SlDatasetPage *self, SlImageSort sort)
{
  const SortChoice *choices;
  guint n;

  g_return_if_fail (SL_IS_DATASET_PAGE (self));
  sort_choices (self, &choices, &n);
  for (guint i = 0; i < n; i++)
    if (choices[i].sort == sort)
      gtk_drop_down_set_selected (self->sort_dropdown, i);
}

static void
fill_sort_menu (SlDatasetPage *self)
{
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  const SortChoice *choices;
  guint n;

  sort_choices (self, &choices, &n);
  for (guint i = 0; i < n; i++)
    gtk_string_list_append (names, choices[i].name);
  gtk_drop_down_set_model (self->sort_dropdown, G_LIST_MODEL (names));
}

static void
on_scope_changed (SlClassList *list, GParamSpec *pspec, SlDatasetPage *self)
{
  sl_image_list_set_scope (self->images, sl_class_list_get_scope (list));
}

void
_sl_dataset_page_show_all (SlDatasetPage *self)
{
  sl_class_list_set_scope (self->class_list, SL_IMAGE_SCOPE_ALL);
  gtk_drop_down_set_selected (self->split_dropdown, 0);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  /* The entry reports changes after a delay; the view must follow now. */
  sl_image_list_set_search (self->images, NULL);
}

/* ---- Selecting and revealing ---------------------------------------------------------------- */

/* The grid's child widgets hold the cells; the one showing `item` takes focus,
 * which also moves the grid's keyboard cursor there. */
static gboolean
focus_item_widget (SlDatasetPage *self, GObject *item)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->grid)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *cell = gtk_widget_get_first_child (child);

      if (SL_IS_THUMBNAIL_CELL (cell)
          && (GObject *) sl_thumbnail_cell_get_image (SL_THUMBNAIL_CELL (cell)) == item)
        return gtk_widget_grab_focus (child);
    }
  return FALSE;
}

static gboolean
focus_idle (gpointer data)
{
  SlDatasetPage *self = data;

  self->focus_idle = 0;
  if (self->focus_target != NULL)
    focus_item_widget (self, self->focus_target);
  g_clear_object (&self->focus_target);
  return G_SOURCE_REMOVE;
}

void
_sl_dataset_page_reveal (SlDatasetPage *self, guint position)
{
  g_autoptr (GObject) item = g_list_model_get_item (G_LIST_MODEL (self->selection), position);

  if (item == NULL)
    return;
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
  gtk_widget_activate_action (GTK_WIDGET (self->grid), "list.scroll-to-item", "u", position);
  if (!gtk_widget_get_mapped (GTK_WIDGET (self->grid)) || focus_item_widget (self, item))
    return;
  /* The cell appears with the next layout. */
  g_set_object (&self->focus_target, item);
  if (self->focus_idle == 0)
    self->focus_idle = g_idle_add_full (GDK_PRIORITY_REDRAW + 10, focus_idle, self, NULL);
}

static guint
find_in_view (SlDatasetPage *self, gint64 id)
{
  GListModel *model = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlImageObject) item = g_list_model_get_item (model, i);

      if (sl_image_object_get_id (item) == id)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

void
sl_dataset_page_select_image (SlDatasetPage *self, gint64 id)
{
  guint position;

  g_return_if_fail (SL_IS_DATASET_PAGE (self));
  if (sl_image_list_get_loading (self->images))
    {
      self->pending_select = id;
      return;
    }
  if (sl_image_list_lookup (self->images, id) == NULL)
    return;
  if ((position = find_in_view (self, id)) == GTK_INVALID_LIST_POSITION)
    {
      _sl_dataset_page_show_all (self);
      position = find_in_view (self, id);
    }
  if (position != GTK_INVALID_LIST_POSITION)
    _sl_dataset_page_reveal (self, position);
}

gint64
sl_dataset_page_get_selected_image (SlDatasetPage *self)
{
  return self->selected_image;
}

/* ---- The grid's cells ------------------------------------------------------------------------ */

static void
setup_cell (GtkSignalListItemFactory *factory, GtkListItem *item, SlDatasetPage *self)
{
  gtk_list_item_set_child (item, sl_thumbnail_cell_new (self->thumbs));
}

static void
bind_cell (GtkSignalListItemFactory *factory, GtkListItem *item, SlDatasetPage *self)
{
  sl_thumbnail_cell_bind (SL_THUMBNAIL_CELL (gtk_list_item_get_child (item)),
                          gtk_list_item_get_item (item));
}

static void
unbind_cell (GtkSignalListItemFactory *factory, GtkListItem *item, SlDatasetPage *self)
{
  sl_thumbnail_cell_unbind (SL_THUMBNAIL_CELL (gtk_list_item_get_child (item)));
}

/* An anomaly project speaks of good parts and defect images: an import for each (the toolbar's
 * Import asks which, the empty state has two buttons). */
static void
show_kind (SlDatasetPage *self)
{
  self->anomaly
      = sl_project_get_kind (sl_session_get_project (self->session)) == SL_PROJECT_KIND_ANOMALY;
  if (self->anomaly)
    gtk_widget_set_tooltip_text (self->import_button,
                                 "Import a folder of good parts (the model learns from these) or "
                                 "of defect images (only used to check it) (Ctrl+I)");
  gtk_widget_set_visible (self->empty_import_button, !self->anomaly);
  gtk_widget_set_visible (self->empty_anomaly_box, self->anomaly);
  if (self->anomaly)
    gtk_label_set_text (self->empty_detail,
                        "The anomaly model learns what good parts look like: import at least 20 "
                        "images of good parts. Defect images are optional; they are never trained "
                        "on, only used to check the model and set its threshold.");
}

/* ---- Object ----------------------------------------------------------------------------------- */

static void
sl_dataset_page_constructed (GObject *object)
{
  SlDatasetPage *self = SL_DATASET_PAGE (object);
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  G_OBJECT_CLASS (sl_dataset_page_parent_class)->constructed (object);
  g_return_if_fail (self->session != NULL);

  self->images = sl_image_list_new (self->session);
  self->thumbs = sl_thumbnail_cache_new (sl_session_get_path (self->session), THUMBNAIL_SIZE, 0);
  self->selection = gtk_multi_selection_new (sl_image_list_create_view (self->images));
  g_signal_connect_object (self->selection, "selection-changed", G_CALLBACK (on_selection_changed),
                           self, 0);
  g_signal_connect_object (self->selection, "items-changed", G_CALLBACK (on_view_items_changed),
                           self, 0);
  g_signal_connect_object (self->images, "counts-changed", G_CALLBACK (on_counts_changed), self, 0);
  g_signal_connect_object (self->images, "notify::loading", G_CALLBACK (on_loading_changed), self,
                           0);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell), self);
  gtk_grid_view_set_factory (self->grid, factory);
  gtk_grid_view_set_model (self->grid, GTK_SELECTION_MODEL (self->selection));

  self->class_list = SL_CLASS_LIST (sl_class_list_new (self->images));
  gtk_widget_set_hexpand (GTK_WIDGET (self->class_list), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self->class_list), TRUE);
  gtk_box_append (GTK_BOX (self->sidebar), GTK_WIDGET (self->class_list));
  g_signal_connect_object (self->class_list, "notify::scope", G_CALLBACK (on_scope_changed), self,
                           0);
  g_signal_connect_object (self->class_list, "show-error", G_CALLBACK (on_class_list_error), self,
                           0);
  self->details = SL_IMAGE_DETAILS (sl_image_details_new (self->thumbs));
  gtk_widget_set_hexpand (GTK_WIDGET (self->details), TRUE);
  gtk_box_append (GTK_BOX (self->details_box), GTK_WIDGET (self->details));

  show_kind (self);
  fill_sort_menu (self);
  _sl_dataset_page_init_suggest (self);
  _sl_dataset_page_setup_input (self);
  update_view_state (self);
  update_selection (self);
}

static void
sl_dataset_page_dispose (GObject *object)
{
  SlDatasetPage *self = SL_DATASET_PAGE (object);

  g_clear_handle_id (&self->focus_idle, g_source_remove);
  g_clear_object (&self->focus_target);
  _sl_dataset_page_cancel_suggest (self);
  if (self->context_menu != NULL)
    g_clear_pointer (&self->context_menu, gtk_widget_unparent);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->chooser_class, g_free);
  g_clear_pointer (&self->import_popover, gtk_widget_unparent);
  if (self->grid != NULL)
    gtk_grid_view_set_model (self->grid, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_DATASET_PAGE);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->thumbs);
  g_clear_object (&self->images);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_dataset_page_parent_class)->dispose (object);
}

static void
sl_dataset_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlDatasetPage *self = SL_DATASET_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      case PROP_SELECTED_IMAGE: g_value_set_int64 (value, self->selected_image); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_dataset_page_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  SlDatasetPage *self = SL_DATASET_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_dataset_page_class_init (SlDatasetPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_dataset_page_constructed;
  object_class->dispose = sl_dataset_page_dispose;
  object_class->get_property = sl_dataset_page_get_property;
  object_class->set_property = sl_dataset_page_set_property;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_IMAGE]
      = g_param_spec_int64 ("selected-image", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-dataset-page.ui");
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, sidebar);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, details_box);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, split_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, sort_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, view_stack);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, grid_scroller);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, grid);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, import_button);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, import_menu);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, empty_detail);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, empty_import_button);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, empty_anomaly_box);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, suggest_revealer);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, suggest_label);
  gtk_widget_class_bind_template_child (widget_class, SlDatasetPage, suggest_bar);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_stop_search);
  gtk_widget_class_bind_template_callback (widget_class, on_split_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_sort_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_error_close);
  gtk_widget_class_set_css_name (widget_class, "datasetpage");

  _sl_dataset_page_install_actions (widget_class);
}

static void
sl_dataset_page_init (SlDatasetPage *self)
{
  self->selected_image = -1;
  self->pending_select = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sl_dataset_page_new (SlSession *session)
{
  return g_object_new (SL_TYPE_DATASET_PAGE, "session", session, NULL);
}

SlImageList *
sl_dataset_page_get_image_list (SlDatasetPage *self)
{
  return self->images;
}

SlThumbnailCache *
sl_dataset_page_get_thumbnail_cache (SlDatasetPage *self)
{
  return self->thumbs;
}

GtkSelectionModel *
sl_dataset_page_get_selection (SlDatasetPage *self)
{
  return GTK_SELECTION_MODEL (self->selection);
}

GtkWidget *
sl_dataset_page_get_grid (SlDatasetPage *self)
{
  return GTK_WIDGET (self->grid);
}

SlClassList *
sl_dataset_page_get_class_list (SlDatasetPage *self)
{
  return self->class_list;
}

SlImageDetails *
sl_dataset_page_get_details (SlDatasetPage *self)
{
  return self->details;
}
