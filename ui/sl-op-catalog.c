/* sl-op-catalog.c: the "Add Step" popover: every operator, grouped and searchable. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-op-catalog.h"
#include "sl-vision.h"

#include <string.h>

struct _SlOpCatalog
{
  GtkPopover parent_instance;
  GtkWidget *search;
  GtkWidget *list;
  GtkWidget *no_match;
  char *needle; /* casefolded search text */
};

G_DEFINE_FINAL_TYPE (SlOpCatalog, sl_op_catalog, GTK_TYPE_POPOVER)

enum
{
  OP_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Groups in display order, each with its operators. */
static const struct
{
  const char *name;
  const char *ops[8];
} groups[] = {
  { "Colour", { "gray", "rgb", "hsv-channel", "color-range", "to-8bit" } },
  { "Geometry",
    { "crop", "crop-to-part", "resize", "rotate", "rotate-to-axis", "flip", "polar-unwrap" } },
  { "Filter", { "gaussian-blur", "median-blur", "bilateral", "sharpen" } },
  { "Intensity",
    { "brightness-contrast", "gamma", "equalize-hist", "clahe", "flatten-illumination", "normalize",
      "invert" } },
  { "Edges and Segmentation", { "threshold", "morphology", "canny", "sobel", "laplacian" } },
};

#define OTHER_GROUP G_N_ELEMENTS (groups)

static guint
group_of (const char *op_id)
{
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    for (guint i = 0; groups[g].ops[i] != NULL; i++)
      if (g_str_equal (groups[g].ops[i], op_id))
        return g;
  return OTHER_GROUP;
}

const char *
sl_op_category (const char *op_id)
{
  guint g = group_of (op_id);

  return g < OTHER_GROUP ? groups[g].name : "Other";
}

/* ---- Rows ----------------------------------------------------------------------- */

static const sl_op_info *
row_op (GtkListBoxRow *row)
{
  return g_object_get_data (G_OBJECT (row), "sl-op");
}

static GtkWidget *
new_row (const sl_op_info *op)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (op->name);
  GtkWidget *description = gtk_label_new (op->description);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_xalign (GTK_LABEL (description), 0);
  gtk_label_set_wrap (GTK_LABEL (description), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (description), 40);
  gtk_widget_add_css_class (description, "dim-label");
  gtk_widget_add_css_class (description, "caption");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), description);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data (G_OBJECT (row), "sl-op", (gpointer) op);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, op->name,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, op->description, -1);
  return row;
}

static int
sort_rows (GtkListBoxRow *a, GtkListBoxRow *b, gpointer data)
{
  const sl_op_info *x = row_op (a), *y = row_op (b);
  guint gx = group_of (x->id), gy = group_of (y->id);

  if (gx != gy)
    return gx < gy ? -1 : 1;
  for (guint i = 0; gx < OTHER_GROUP && groups[gx].ops[i] != NULL; i++)
    {
      if (g_str_equal (groups[gx].ops[i], x->id))
        return -1;
      if (g_str_equal (groups[gx].ops[i], y->id))
        return 1;
    }
  return g_strcmp0 (x->name, y->name);
}

static void
update_header (GtkListBoxRow *row, GtkListBoxRow *before, gpointer data)
{
  const char *category = sl_op_category (row_op (row)->id);
  GtkWidget *header;

  if (before != NULL && g_str_equal (category, sl_op_category (row_op (before)->id)))
    {
      gtk_list_box_row_set_header (row, NULL);
      return;
    }
  header = gtk_list_box_row_get_header (row);
  if (header != NULL && g_str_equal (gtk_label_get_text (GTK_LABEL (header)), category))
    return;
  header = gtk_label_new (category);
  gtk_label_set_xalign (GTK_LABEL (header), 0);
  gtk_widget_add_css_class (header, "heading");
  gtk_widget_add_css_class (header, "sl-catalog-header");
  gtk_list_box_row_set_header (row, header);
}

static gboolean
contains (const char *haystack, const char *needle)
{
  g_autofree char *folded = g_utf8_casefold (haystack, -1);

  return strstr (folded, needle) != NULL;
}

static gboolean
filter_row (GtkListBoxRow *row, gpointer data)
{
  SlOpCatalog *self = data;
  const sl_op_info *op = row_op (row);

  if (self->needle == NULL || self->needle[0] == '\0')
    return TRUE;
  return contains (op->name, self->needle) || contains (op->description, self->needle)
         || contains (op->id, self->needle) || contains (sl_op_category (op->id), self->needle);
}

static GtkListBoxRow *
first_visible (SlOpCatalog *self)
{
  for (GtkWidget *w = gtk_widget_get_first_child (self->list); w != NULL;
       w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_LIST_BOX_ROW (w) && gtk_widget_get_child_visible (w)
        && filter_row (GTK_LIST_BOX_ROW (w), self))
      return GTK_LIST_BOX_ROW (w);
  return NULL;
}

guint
sl_op_catalog_count_visible (SlOpCatalog *self)
{
  guint n = 0;

  g_return_val_if_fail (SL_IS_OP_CATALOG (self), 0);
  for (GtkWidget *w = gtk_widget_get_first_child (self->list); w != NULL;
       w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_LIST_BOX_ROW (w) && row_op (GTK_LIST_BOX_ROW (w)) != NULL
        && filter_row (GTK_LIST_BOX_ROW (w), self))
      n++;
  return n;
}

/* ---- Signals ---------------------------------------------------------------------- */

static void
activate_op (SlOpCatalog *self, const sl_op_info *op)
{
  gtk_popover_popdown (GTK_POPOVER (self));
  g_signal_emit (self, signals[OP_ACTIVATED], 0, op->id);
}

static void
on_row_activated (GtkListBox *list, GtkListBoxRow *row, SlOpCatalog *self)
{
  activate_op (self, row_op (row));
}

static void
on_search_changed (GtkSearchEntry *entry, SlOpCatalog *self)
{
  guint n;

  g_free (self->needle);
  self->needle = g_utf8_casefold (gtk_editable_get_text (GTK_EDITABLE (entry)), -1);
  gtk_list_box_invalidate_filter (GTK_LIST_BOX (self->list));
  gtk_list_box_invalidate_headers (GTK_LIST_BOX (self->list));
  n = sl_op_catalog_count_visible (self);
  gtk_widget_set_visible (self->no_match, n == 0);
}

static void
on_search_activate (GtkSearchEntry *entry, SlOpCatalog *self)
{
  GtkListBoxRow *row = first_visible (self);

  if (row != NULL)
    activate_op (self, row_op (row));
}

static void
on_stop_search (GtkSearchEntry *entry, SlOpCatalog *self)
{
  gtk_popover_popdown (GTK_POPOVER (self));
}

/* Down from the search moves into the list. */
static gboolean
on_search_key (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state,
               SlOpCatalog *self)
{
  GtkListBoxRow *row;

  if (keyval != GDK_KEY_Down && keyval != GDK_KEY_KP_Down)
    return FALSE;
  if ((row = first_visible (self)) != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (row));
  return TRUE;
}

static void
on_show (GtkWidget *widget, SlOpCatalog *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search), "");
  gtk_widget_grab_focus (self->search);
}

void
sl_op_catalog_set_search (SlOpCatalog *self, const char *text)
{
  g_return_if_fail (SL_IS_OP_CATALOG (self));
  gtk_editable_set_text (GTK_EDITABLE (self->search), text);
  /* GtkSearchEntry delays "search-changed"; callers want the result now. */
  on_search_changed (GTK_SEARCH_ENTRY (self->search), self);
}

/* ---- Type ------------------------------------------------------------------------ */

static void
sl_op_catalog_finalize (GObject *object)
{
  g_free (SL_OP_CATALOG (object)->needle);
  G_OBJECT_CLASS (sl_op_catalog_parent_class)->finalize (object);
}

static void
sl_op_catalog_class_init (SlOpCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sl_op_catalog_finalize;
  signals[OP_ACTIVATED]
      = g_signal_new ("op-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static GtkWidget *
build_list (SlOpCatalog *self)
{
  GtkWidget *scrolled = gtk_scrolled_window_new ();

  self->list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->list), GTK_SELECTION_NONE);
  gtk_list_box_set_activate_on_single_click (GTK_LIST_BOX (self->list), TRUE);
  gtk_list_box_set_sort_func (GTK_LIST_BOX (self->list), sort_rows, NULL, NULL);
  gtk_list_box_set_filter_func (GTK_LIST_BOX (self->list), filter_row, self, NULL);
  gtk_list_box_set_header_func (GTK_LIST_BOX (self->list), update_header, NULL, NULL);
  gtk_widget_add_css_class (self->list, "sl-op-catalog-list");
  g_signal_connect (self->list, "row-activated", G_CALLBACK (on_row_activated), self);
  for (int i = 0; i < sl_op_count (); i++)
    gtk_list_box_append (GTK_LIST_BOX (self->list), new_row (sl_op_get (i)));
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_scrolled_window_set_propagate_natural_width (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), self->list);
  return scrolled;
}

static void
sl_op_catalog_init (SlOpCatalog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *overlay = gtk_overlay_new ();
  GtkEventController *key = gtk_event_controller_key_new ();

  self->search = gtk_search_entry_new ();
  g_object_set (self->search, "placeholder-text", "Search operators", NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->search), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Search operators", -1);
  g_signal_connect (self->search, "search-changed", G_CALLBACK (on_search_changed), self);
  g_signal_connect (self->search, "activate", G_CALLBACK (on_search_activate), self);
  g_signal_connect (self->search, "stop-search", G_CALLBACK (on_stop_search), self);
  g_signal_connect (key, "key-pressed", G_CALLBACK (on_search_key), self);
  gtk_widget_add_controller (self->search, key);

  self->no_match = gtk_label_new ("No operator matches the search");
  gtk_widget_add_css_class (self->no_match, "dim-label");
  gtk_widget_set_valign (self->no_match, GTK_ALIGN_START);
  gtk_widget_set_margin_top (self->no_match, 24);
  gtk_widget_set_visible (self->no_match, FALSE);
  gtk_widget_set_can_target (self->no_match, FALSE);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), build_list (self));
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), self->no_match);

  gtk_box_append (GTK_BOX (box), self->search);
  gtk_box_append (GTK_BOX (box), overlay);
  gtk_widget_set_size_request (box, 340, -1);
  gtk_popover_set_child (GTK_POPOVER (self), box);
  gtk_widget_add_css_class (GTK_WIDGET (self), "sl-op-catalog");
  g_signal_connect (self, "show", G_CALLBACK (on_show), self);
}

GtkWidget *
sl_op_catalog_new (void)
{
  return g_object_new (SL_TYPE_OP_CATALOG, NULL);
}
