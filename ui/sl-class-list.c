/* sl-class-list.c: the dataset sidebar: image scopes, classes (add, rename, colour, merge, delete) and data health. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-class-list-private.h"

#include "sl-anomaly.h"

#include "sl-color-swatch.h"
#include "sl-message-dialog.h"
#include "sl-suggest.h"

#include <math.h>

/* Good parts an anomaly project should have at least (Data Health says so below it). */
#define SL_ANOMALY_MIN_GOOD 20
/* Health is recomputed this long after the last change, not on every key press. */
#define HEALTH_DELAY_MS 400

G_DEFINE_FINAL_TYPE (SlClassList, sl_class_list, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_IMAGES,
  PROP_SCOPE,
  N_PROPS
};

enum
{
  SHOW_ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void schedule_health (SlClassList *self);

void
_sl_class_list_report (SlClassList *self, const GError *error)
{
  g_signal_emit (self, signals[SHOW_ERROR], 0, error->message);
}

static char *
format_count (gint64 n)
{
  return g_strdup_printf ("%'" G_GINT64_FORMAT, n);
}

/* ---- Rows -------------------------------------------------------------------------- */

static gint64
row_class_id (GtkListBoxRow *row)
{
  gint64 *id = g_object_get_data (G_OBJECT (row), "sl-class-id");

  return id != NULL ? *id : SL_IMAGE_SCOPE_ALL;
}

static GMenuModel *
class_menu (SlClassList *self, const SlClass *klass)
{
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) edit = g_menu_new ();
  g_autoptr (GMenu) merge = g_menu_new ();
  g_autoptr (GMenu) danger = g_menu_new ();
  GPtrArray *classes = sl_image_list_get_classes (self->images);

  {
    g_autoptr (GMenuItem) rename = g_menu_item_new ("_Rename…", NULL);
    g_autoptr (GMenuItem) recolor = g_menu_item_new ("Change _Colour…", NULL);

    g_menu_item_set_action_and_target_value (rename, "classes.rename",
                                             g_variant_new_int64 (klass->id));
    g_menu_item_set_action_and_target_value (recolor, "classes.recolor",
                                             g_variant_new_int64 (klass->id));
    g_menu_append_item (edit, rename);
    g_menu_append_item (edit, recolor);
  }
  for (guint i = 0; i < classes->len; i++)
    {
      const SlClass *other = g_ptr_array_index (classes, i);
      g_autoptr (GMenuItem) item = NULL;

      if (other->id == klass->id)
        continue;
      item = g_menu_item_new (other->name, NULL);
      g_menu_item_set_action_and_target_value (item, "classes.merge",
                                               g_variant_new ("(xx)", klass->id, other->id));
      g_menu_append_item (merge, item);
    }
  if (g_menu_model_get_n_items (G_MENU_MODEL (merge)) > 0)
    g_menu_append_submenu (edit, "_Merge Into", G_MENU_MODEL (merge));
  {
    g_autoptr (GMenuItem) del = g_menu_item_new ("_Delete…", NULL);

    g_menu_item_set_action_and_target_value (del, "classes.delete",
                                             g_variant_new_int64 (klass->id));
    g_menu_append_item (danger, del);
  }
  g_menu_append_section (menu, NULL, G_MENU_MODEL (edit));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (danger));
  return G_MENU_MODEL (g_steal_pointer (&menu));
}

/* The menu is built when it opens: a popover per row costs too much to make up front. */
static void
create_class_menu (GtkMenuButton *button, gpointer data)
{
  SlClassList *self = data;
  gint64 *id = g_object_get_data (G_OBJECT (button), "sl-class-id");
  const SlClass *klass = id != NULL ? sl_image_list_find_class (self->images, *id) : NULL;
  g_autoptr (GMenuModel) menu = klass != NULL ? class_menu (self, klass) : NULL;

  gtk_menu_button_set_menu_model (button, menu);
}

static GtkWidget *
make_class_row (SlClassList *self, const SlClass *klass)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *swatch = sl_color_swatch_new ();
  GtkWidget *name = gtk_label_new (klass->name);
  GtkWidget *count = gtk_label_new (NULL);
  GtkWidget *label_button = gtk_button_new_from_icon_name ("object-select-symbolic");
  GtkWidget *menu_button = gtk_menu_button_new ();
  g_autofree char *tip = NULL;

  sl_color_swatch_set_color (SL_COLOR_SWATCH (swatch), klass->color);
  gtk_widget_set_margin_start (swatch, 3);
  gtk_widget_set_margin_end (swatch, 4);
  gtk_box_append (GTK_BOX (box), swatch);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_label_set_width_chars (GTK_LABEL (name), 6); /* a narrow sidebar still shows "shirt…" */
  gtk_widget_set_hexpand (name, TRUE);
  gtk_widget_set_tooltip_text (name, klass->name);
  gtk_box_append (GTK_BOX (box), name);
  gtk_widget_add_css_class (count, "dim-label");
  gtk_widget_add_css_class (count, "numeric");
  gtk_box_append (GTK_BOX (box), count);
  if (klass->shortcut != NULL)
    {
      GtkWidget *key = gtk_label_new (klass->shortcut);
      g_autofree char *key_tip = g_strdup_printf ("Press %s to label the selected images “%s”",
                                                  klass->shortcut, klass->name);

      gtk_widget_add_css_class (key, "sl-keycap");
      gtk_widget_set_valign (key, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (key, key_tip);
      gtk_box_append (GTK_BOX (box), key);
    }
  tip = g_strdup_printf ("Label the selected images “%s”", klass->name);
  gtk_widget_set_tooltip_text (label_button, tip);
  gtk_widget_add_css_class (label_button, "flat");
  gtk_widget_add_css_class (label_button, "sl-row-button");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (label_button), "dataset.label");
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (label_button),
                                          g_variant_new_int64 (klass->id));
  gtk_box_append (GTK_BOX (box), label_button);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu_button), "view-more-symbolic");
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (menu_button), create_class_menu, self,
                                         NULL); /* the row dies with self */
  g_object_set_data_full (G_OBJECT (menu_button), "sl-class-id",
                          g_memdup2 (&klass->id, sizeof (gint64)), g_free);
  gtk_widget_set_tooltip_text (menu_button, "Class Actions");
  gtk_menu_button_set_has_frame (GTK_MENU_BUTTON (menu_button), FALSE);
  gtk_widget_add_css_class (menu_button, "sl-row-button");
  gtk_box_append (GTK_BOX (box), menu_button);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "sl-class-id", g_memdup2 (&klass->id, sizeof (gint64)),
                          g_free);
  g_object_set_data (G_OBJECT (row), "sl-count", count);
  return row;
}

static void
update_counts (SlClassList *self)
{
  g_autofree char *all = format_count (sl_image_list_count (self->images, SL_IMAGE_SCOPE_ALL));
  g_autofree char *unlabeled
      = format_count (sl_image_list_count (self->images, SL_IMAGE_SCOPE_UNLABELED));
  g_autofree char *ignored
      = format_count (sl_image_list_count (self->images, SL_IMAGE_SCOPE_IGNORED));
  GtkWidget *row;

  gtk_label_set_text (self->all_count, all);
  gtk_label_set_text (self->unlabeled_count, unlabeled);
  gtk_label_set_text (self->ignored_count, ignored);
  for (row = gtk_widget_get_first_child (GTK_WIDGET (self->class_listbox)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkLabel *count = g_object_get_data (G_OBJECT (row), "sl-count");
      g_autofree char *text = NULL;

      if (count == NULL)
        continue;
      text = format_count (
          sl_image_list_count (self->images, row_class_id (GTK_LIST_BOX_ROW (row))));
      gtk_label_set_text (count, text);
    }
}

/* Selects the row of the current scope without reporting it back. */
static void
select_scope_row (SlClassList *self)
{
  GtkListBoxRow *scope_row = NULL, *class_row = NULL;

  self->syncing = TRUE;
  if (self->scope == SL_IMAGE_SCOPE_ALL)
    scope_row = self->all_row;
  else if (self->scope == SL_IMAGE_SCOPE_UNLABELED)
    scope_row = self->unlabeled_row;
  else if (self->scope == SL_IMAGE_SCOPE_IGNORED)
    scope_row = self->ignored_row;
  else
    for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->class_listbox));
         row != NULL; row = gtk_widget_get_next_sibling (row))
      if (GTK_IS_LIST_BOX_ROW (row) && row_class_id (GTK_LIST_BOX_ROW (row)) == self->scope)
        class_row = GTK_LIST_BOX_ROW (row);
  gtk_list_box_select_row (self->scope_list, scope_row);
  gtk_list_box_select_row (self->class_listbox, class_row);
  self->syncing = FALSE;
}

static void
rebuild_class_rows (SlClassList *self)
{
  GPtrArray *classes = sl_image_list_get_classes (self->images);
  GtkWidget *child;
  gboolean scope_exists = self->scope < 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->class_listbox))) != NULL)
    gtk_list_box_remove (self->class_listbox, child);
  for (guint i = 0; i < classes->len; i++)
    {
      const SlClass *klass = g_ptr_array_index (classes, i);

      gtk_list_box_append (self->class_listbox, make_class_row (self, klass));
      scope_exists = scope_exists || klass->id == self->scope;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->class_listbox), classes->len > 0);
  gtk_widget_set_visible (self->no_classes_label, classes->len == 0);
  update_counts (self);
  if (!scope_exists)
    sl_class_list_set_scope (self, SL_IMAGE_SCOPE_ALL);
  else
    select_scope_row (self);
}

static void
on_scope_row_selected (GtkListBox *box, GtkListBoxRow *row, SlClassList *self)
{
  if (self->syncing || row == NULL)
    return;
  if (row == self->all_row)
    sl_class_list_set_scope (self, SL_IMAGE_SCOPE_ALL);
  else if (row == self->unlabeled_row)
    sl_class_list_set_scope (self, SL_IMAGE_SCOPE_UNLABELED);
  else if (row == self->ignored_row)
    sl_class_list_set_scope (self, SL_IMAGE_SCOPE_IGNORED);
}

static void
on_class_row_selected (GtkListBox *box, GtkListBoxRow *row, SlClassList *self)
{
  if (self->syncing || row == NULL)
    return;
  sl_class_list_set_scope (self, row_class_id (row));
}

/* ---- Data health (a stats query on a worker connection) ------------------------------ */

typedef struct
{
  char *code, *message, *suggestion;
  GPtrArray *conflicts; /* SlLabelConflict, for "label-conflicts" */
  GPtrArray *issues;    /* SlImportIssue, for "unreadable": the project's import issues */
  GPtrArray *mistakes;  /* SlPossibleMistake, for "possible-mistakes" */
} Warning;

static void
warning_free (Warning *w)
{
  g_free (w->code);
  g_free (w->message);
  g_free (w->suggestion);
  g_clear_pointer (&w->conflicts, g_ptr_array_unref);
  g_clear_pointer (&w->issues, g_ptr_array_unref);
  g_clear_pointer (&w->mistakes, g_ptr_array_unref);
  g_free (w);
}

static void
add_warning (GPtrArray *out, const char *code, char *message, const char *suggestion)
{
  Warning *w = g_new0 (Warning, 1);

  w->code = g_strdup (code);
  w->message = message;
  w->suggestion = g_strdup (suggestion);
  g_ptr_array_add (out, w);
}

/* The checks of the classes that only a classifier needs (two classes, balance, enough of
 * each): an anomaly project trains on its good parts alone. */
static gboolean
classifier_only (const char *code)
{
  static const char *const codes[] = { "few-classes", "imbalance", "small-class", "empty-class" };

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    if (g_strcmp0 (code, codes[i]) == 0)
      return TRUE;
  return FALSE;
}

/* An anomaly project's first need, in the workbench's words: enough good parts (the
 * projects layer's "no-good" / "few-good" say it for the command line). */
static void
check_good_parts (const SlProjectStats *stats, GPtrArray *out)
{
  gint64 good = 0;

  for (guint i = 0; i < stats->classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats->classes, i);

      if (g_strcmp0 (c->name, SL_ANOMALY_GOOD_CLASS) == 0)
        good = c->total;
    }
  if (good < SL_ANOMALY_MIN_GOOD)
    add_warning (out, "few-good",
                 g_strdup_printf ("Anomaly models train on good parts only: add at least %d "
                                  "(this project has %" G_GINT64_FORMAT ").",
                                  SL_ANOMALY_MIN_GOOD, good),
                 "Import › Import Good Parts… in the toolbar, or label images “good”.");
}

/* Labelled images a model's suggestion pass contradicts with confidence (sl-suggest.h);
 * nothing until Suggest Labels has run. */
static void
check_possible_mistakes (SlProject *db, GPtrArray *out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) mistakes = sl_project_list_possible_mistakes (db, 0, 0, &error);
  const SlPossibleMistake *first;
  Warning *w;

  if (mistakes == NULL)
    {
      g_warning ("Could not list the possible label mistakes: %s", error->message);
      return;
    }
  if (mistakes->len == 0)
    return;
  first = g_ptr_array_index (mistakes, 0);
  w = g_new0 (Warning, 1);
  w->code = g_strdup ("possible-mistakes");
  w->message = g_strdup_printf (mistakes->len == 1
                                    ? "%u image may be labelled wrong: run-%" G_GINT64_FORMAT
                                      " is confident it is something else."
                                    : "%u images may be labelled wrong: run-%" G_GINT64_FORMAT
                                      " is confident they are something else.",
                                mistakes->len, first->run_id);
  w->suggestion = g_strdup ("Review… opens each image; relabel it, or keep the label if the "
                            "model is wrong.");
  w->mistakes = g_steal_pointer (&mistakes);
  g_ptr_array_add (out, w);
}

static void
health_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (SlProject) db = sl_project_open_worker (data, &error);
  GPtrArray *out;
  SlProjectStats stats;
  gboolean anomaly;

  if (db == NULL || !sl_project_get_stats (db, &stats, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) warning_free);
  anomaly = sl_project_get_kind (db) == SL_PROJECT_KIND_ANOMALY;
  if (anomaly)
    check_good_parts (&stats, out);
  for (guint i = 0; i < stats.warnings->len; i++)
    {
      const SlHealthWarning *hw = g_ptr_array_index (stats.warnings, i);
      Warning *w;

      if (anomaly
          && (classifier_only (hw->code) || g_strcmp0 (hw->code, "no-good") == 0
              || g_strcmp0 (hw->code, "few-good") == 0))
        continue; /* check_good_parts says it */
      w = g_new0 (Warning, 1);

      w->code = g_strdup (hw->code);
      w->message = g_strdup (hw->message);
      w->suggestion = g_strdup (hw->suggestion);
      if (g_strcmp0 (hw->code, "label-conflicts") == 0)
        w->conflicts = sl_project_list_label_conflicts (db, NULL);
      if (g_strcmp0 (hw->code, "unreadable") == 0)
        w->issues = sl_project_list_import_issues (db, NULL);
      g_ptr_array_add (out, w);
    }
  sl_project_stats_clear (&stats);
  check_possible_mistakes (db, out);
  g_task_return_pointer (task, out, (GDestroyNotify) g_ptr_array_unref);
}

/* The project layer's suggestions name CLI commands; in the workbench say where to click. */
static const char *
suggestion_for (const Warning *w)
{
  static const char *const ui[][2] = {
    { "unsplit", "Use Re-split in the toolbar to give them a split." },
    { "no-validation", "Use Re-split in the toolbar with “Re-assign every image” on." },
    { "unlabelled", "Select them and press a class's number key, or press I to ignore them." },
    { "few-classes",
      "Add classes in the sidebar and label images, or import one folder per class." },
    { "unreadable", "Show Files… lists each file and the reason." },
    { "label-conflicts", "Resolve… picks the label of each picture." },
    { "few-good-validation",
      "Import more good parts (Split… keeps 15 % of them for validation), or choose a higher "
      "target false-reject rate on the Train page." },
    { "no-defects", "Nothing needed to train. To measure escapes, import a few defect images "
                    "(Import › Import Defect Images…): they are never trained on." },
    { "missing-images",
      "Put the files back into the project's images/ folder from a backup, or import the "
      "originals again; 'sightline-cli stats --missing' lists every one." },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (ui); i++)
    if (g_strcmp0 (w->code, ui[i][0]) == 0)
      return ui[i][1];
  return w->suggestion;
}

static GtkWidget *
make_health_row (const char *icon, const char *css, const char *message, const char *tooltip)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *image = gtk_image_new_from_icon_name (icon);
  GtkWidget *label = gtk_label_new (message);

  gtk_widget_set_valign (image, GTK_ALIGN_START);
  gtk_widget_add_css_class (image, css);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 28);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), image);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_tooltip_text (box, tooltip);
  return box;
}

/* "Resolve…": a menu with, for each picture found in two class folders, its
 * file name and one item per label it could have (classes.resolve-conflict). */
static GtkWidget *
make_conflicts_button (GPtrArray *conflicts, gboolean writable)
{
  g_autoptr (GMenu) menu = g_menu_new ();
  GtkWidget *button = gtk_menu_button_new ();

  for (guint i = 0; i < conflicts->len;)
    {
      const SlLabelConflict *first = g_ptr_array_index (conflicts, i);
      g_autoptr (GMenu) section = g_menu_new ();
      g_autofree char *base = g_path_get_basename (first->image_path);
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      for (; i < conflicts->len; i++)
        {
          const SlLabelConflict *c = g_ptr_array_index (conflicts, i);
          const char *names[2] = { c->kept_class, c->other_class };

          if (c->image_id != first->image_id)
            break;
          for (int k = 0; k < 2; k++)
            {
              g_autoptr (GMenuItem) item = NULL;
              g_autofree char *text = NULL;

              if (names[k] == NULL || !g_hash_table_add (seen, (gpointer) names[k]))
                continue;
              text = g_strdup_printf (k == 0 ? "Keep “%s”" : "Label “%s”", names[k]);
              item = g_menu_item_new (text, NULL);
              g_menu_item_set_action_and_target_value (
                  item, "classes.resolve-conflict",
                  g_variant_new ("(xs)", first->image_id, names[k]));
              g_menu_append_item (section, item);
            }
        }
      g_menu_append_section (menu, base, G_MENU_MODEL (section));
    }
  gtk_menu_button_set_label (GTK_MENU_BUTTON (button), "Resolve…");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
  gtk_widget_set_halign (button, GTK_ALIGN_START);
  gtk_widget_set_margin_start (button, 24);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_sensitive (button, writable);
  gtk_widget_set_tooltip_text (button, "Pick the label of each picture found in two class folders");
  return button;
}

/* "Review…": a menu of the possible label mistakes, each opening its image on the Dataset
 * page (dataset.reveal-image), least doubtful evidence first. */
#define MISTAKES_SHOWN 40

static GtkWidget *
make_mistakes_button (GPtrArray *mistakes)
{
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) held_out = g_menu_new ();
  g_autoptr (GMenu) trained = g_menu_new ();
  GtkWidget *button = gtk_menu_button_new ();

  for (guint i = 0; i < mistakes->len && i < MISTAKES_SHOWN; i++)
    {
      const SlPossibleMistake *m = g_ptr_array_index (mistakes, i);
      g_autofree char *base
          = g_path_get_basename (m->original_path != NULL ? m->original_path : m->hash);
      g_autofree char *sure = isnan (m->confidence)
                                  ? g_strdup_printf ("score %.3g", m->anomaly_score)
                                  : g_strdup_printf ("%.0f %%", 100 * m->confidence);
      g_autofree char *text
          = g_strdup_printf ("%s — labelled “%s”, model says “%s” (%s)", base, m->label_name,
                             m->predicted_name != NULL ? m->predicted_name : "anomalous", sure);
      g_autoptr (GMenuItem) item = g_menu_item_new (text, NULL);

      g_menu_item_set_action_and_target_value (item, "dataset.reveal-image",
                                               g_variant_new_int64 (m->image_id));
      g_menu_append_item (m->trained ? trained : held_out, item);
    }
  if (g_menu_model_get_n_items (G_MENU_MODEL (held_out)) > 0)
    g_menu_append_section (menu, "Not trained on", G_MENU_MODEL (held_out));
  if (g_menu_model_get_n_items (G_MENU_MODEL (trained)) > 0)
    g_menu_append_section (menu, "Trained on (weaker evidence)", G_MENU_MODEL (trained));
  if (mistakes->len > MISTAKES_SHOWN)
    {
      g_autofree char *more = g_strdup_printf (
          "%u more: sightline-cli stats --issues lists them all", mistakes->len - MISTAKES_SHOWN);
      g_menu_append (menu, more, NULL);
    }
  gtk_menu_button_set_label (GTK_MENU_BUTTON (button), "Review…");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
  gtk_widget_set_halign (button, GTK_ALIGN_START);
  gtk_widget_set_margin_start (button, 24);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, "Open each image whose label the model doubts");
  return button;
}

/* "Show Files…": the files imports skipped as unreadable, with the reasons, after the import
 * dialog that first listed them has gone. */
static void
show_unreadable (GtkButton *button, GPtrArray *issues)
{
  GtkWidget *list = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWindow *dialog;
  guint n = 0;

  for (guint i = 0; i < issues->len; i++)
    {
      const SlImportIssue *issue = g_ptr_array_index (issues, i);
      GtkWidget *row, *name, *reason;

      if (issue->outcome != SL_IMPORT_UNREADABLE)
        continue;
      n++;
      row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      name = gtk_label_new (issue->path);
      reason = gtk_label_new (issue->reason != NULL ? issue->reason : "");
      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_set_tooltip_text (name, issue->path);
      gtk_label_set_xalign (GTK_LABEL (reason), 0);
      gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (reason), PANGO_WRAP_WORD_CHAR);
      gtk_widget_add_css_class (reason, "dim-label");
      gtk_widget_add_css_class (reason, "caption");
      gtk_box_append (GTK_BOX (row), name);
      gtk_box_append (GTK_BOX (row), reason);
      gtk_box_append (GTK_BOX (list), row);
    }
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), list);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 360);
  gtk_widget_set_size_request (scroller, 460, -1);
  dialog = sl_message_dialog_new (
      GTK_WIDGET (button), n == 1 ? "1 Unreadable File" : "Unreadable Files",
      "Imports skipped these files: they could not be read as images. The originals are "
      "untouched; fix or convert them and import them again.");
  sl_message_dialog_add_extra (dialog, scroller);
  sl_message_dialog_set_default (
      dialog, sl_message_dialog_add_button (dialog, "_Close", NULL, NULL, NULL, NULL));
  gtk_window_present (dialog);
}

static void
issues_unref (gpointer issues, GClosure *closure)
{
  g_ptr_array_unref (issues);
}

static GtkWidget *
make_unreadable_button (GPtrArray *issues)
{
  GtkWidget *button = gtk_button_new_with_mnemonic ("Show _Files…");

  g_signal_connect_data (button, "clicked", G_CALLBACK (show_unreadable), g_ptr_array_ref (issues),
                         issues_unref, 0);
  gtk_widget_set_halign (button, GTK_ALIGN_START);
  gtk_widget_set_margin_start (button, 24);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, "The files imports skipped, and why");
  return button;
}

static void
show_health (SlClassList *self, GPtrArray *warnings)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->health_box))) != NULL)
    gtk_box_remove (self->health_box, child);
  self->n_warnings = warnings->len;
  gtk_widget_set_visible (self->health_heading, TRUE);
  for (guint i = 0; i < warnings->len; i++)
    {
      const Warning *w = g_ptr_array_index (warnings, i);
      gboolean info
          = g_strcmp0 (w->code, "duplicates") == 0 || g_strcmp0 (w->code, "no-defects") == 0;

      gtk_box_append (
          self->health_box,
          make_health_row (info ? "dialog-information-symbolic" : "dialog-warning-symbolic",
                           info ? "dim-label" : "warning", w->message, suggestion_for (w)));
      if (w->issues != NULL && w->issues->len > 0)
        gtk_box_append (self->health_box, make_unreadable_button (w->issues));
      if (w->mistakes != NULL && w->mistakes->len > 0)
        gtk_box_append (self->health_box, make_mistakes_button (w->mistakes));
      if (w->conflicts != NULL && w->conflicts->len > 0)
        gtk_box_append (
            self->health_box,
            make_conflicts_button (
                w->conflicts, !sl_session_is_read_only (sl_image_list_get_session (self->images))));
    }
  if (warnings->len == 0)
    gtk_box_append (self->health_box,
                    make_health_row ("emblem-ok-symbolic", "success", "No problems found.", NULL));
}

/* The statistics failed: a damaged project says so (and how to recover) in
 * Data Health itself rather than in a log nobody reads. */
static void
show_health_error (SlClassList *self, const GError *error)
{
  gboolean damaged = g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED);
  gboolean writable = !sl_session_is_read_only (sl_image_list_get_session (self->images));
  g_autofree char *text = g_strdup_printf (
      "%s %s", damaged ? "The project is damaged." : "Could not compute the data health.",
      error->message);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->health_box))) != NULL)
    gtk_box_remove (self->health_box, child);
  self->n_warnings = 1;
  gtk_widget_set_visible (self->health_heading, TRUE);
  gtk_box_append (self->health_box,
                  make_health_row ("dialog-error-symbolic", "error", text,
                                   !damaged   ? NULL
                                   : writable ? "Rebuild Index reads every stored image and "
                                                "keeps the damaged file beside the new one."
                                              : "Copy the project to a writable disk and "
                                                "rebuild the copy's index."));
  if (damaged && writable)
    {
      /* The same offer as when a damaged project is opened (win.rebuild-index). */
      GtkWidget *button = gtk_button_new_with_mnemonic ("_Rebuild Index…");

      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.rebuild-index");
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button),
                                              g_variant_new_string (error->message));
      gtk_widget_set_halign (button, GTK_ALIGN_START);
      gtk_widget_set_margin_start (button, 24);
      gtk_widget_set_tooltip_text (button, "Rebuild the project's index from its stored images");
      gtk_box_append (self->health_box, button);
    }
}

static void
health_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlClassList *self = data; /* alive: the task holds it */
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) warnings = g_task_propagate_pointer (G_TASK (result), &error);

  self->health_running = FALSE;
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  if (warnings != NULL)
    show_health (self, warnings);
  else
    show_health_error (self, error);
  if (self->health_again)
    {
      self->health_again = FALSE;
      schedule_health (self);
    }
}

static gboolean
health_timeout (gpointer data)
{
  SlClassList *self = data;
  g_autoptr (GTask) task = NULL;

  self->health_timeout = 0;
  if (self->health_running)
    {
      self->health_again = TRUE;
      return G_SOURCE_REMOVE;
    }
  self->health_running = TRUE;
  task = g_task_new (self, self->cancellable, health_done, self);
  g_task_set_source_tag (task, health_timeout);
  g_task_set_task_data (
      task, g_strdup (sl_session_get_path (sl_image_list_get_session (self->images))), g_free);
  g_task_run_in_thread (task, health_thread);
  return G_SOURCE_REMOVE;
}

static void
schedule_health (SlClassList *self)
{
  g_clear_handle_id (&self->health_timeout, g_source_remove);
  self->health_timeout = g_timeout_add (HEALTH_DELAY_MS, health_timeout, self);
}

void
sl_class_list_refresh_health (SlClassList *self)
{
  g_return_if_fail (SL_IS_CLASS_LIST (self));
  schedule_health (self);
}

guint
sl_class_list_get_n_warnings (SlClassList *self)
{
  return self->n_warnings;
}

gboolean
sl_class_list_get_health_busy (SlClassList *self)
{
  return self->health_running || self->health_timeout != 0;
}

/* ---- Object -------------------------------------------------------------------------- */

gint64
sl_class_list_get_scope (SlClassList *self)
{
  return self->scope;
}

void
sl_class_list_set_scope (SlClassList *self, gint64 scope)
{
  g_return_if_fail (SL_IS_CLASS_LIST (self));
  if (self->scope != scope)
    {
      self->scope = scope;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCOPE]);
    }
  select_scope_row (self);
}

static void
on_classes_updated (SlImageList *images, SlClassList *self)
{
  rebuild_class_rows (self);
  schedule_health (self);
}

static void
on_counts_changed (SlImageList *images, SlClassList *self)
{
  update_counts (self);
  schedule_health (self);
}

static void
sl_class_list_constructed (GObject *object)
{
  SlClassList *self = SL_CLASS_LIST (object);

  G_OBJECT_CLASS (sl_class_list_parent_class)->constructed (object);
  g_signal_connect_object (self->images, "classes-updated", G_CALLBACK (on_classes_updated), self,
                           0);
  g_signal_connect_object (self->images, "counts-changed", G_CALLBACK (on_counts_changed), self, 0);
  self->anomaly
      = sl_project_get_kind (_sl_class_list_get_project (self)) == SL_PROJECT_KIND_ANOMALY;
  if (self->anomaly)
    {
      gtk_label_set_text (self->classes_heading, "Good / Defect");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->classes_heading),
                                   "The good parts the model learns from, and the kinds of defect "
                                   "that only check it");
      gtk_label_set_text (GTK_LABEL (self->no_classes_label),
                          "No classes yet. Import Good Parts… adds the class “good”; each kind of "
                          "defect can have a class of its own.");
      gtk_widget_set_tooltip_text (self->add_class_button, "Add a Kind of Defect");
    }
  rebuild_class_rows (self);
  schedule_health (self);
  if (sl_session_is_read_only (sl_image_list_get_session (self->images)))
    {
      /* Nothing turns these back on: a session stays read-only. */
      static const char *const edits[]
          = { "classes.add",   "classes.rename", "classes.recolor",
              "classes.merge", "classes.delete", "classes.resolve-conflict" };

      GtkWidget *add_button = gtk_widget_get_parent (GTK_WIDGET (self->add_popover));

      for (gsize i = 0; i < G_N_ELEMENTS (edits); i++)
        gtk_widget_action_set_enabled (GTK_WIDGET (self), edits[i], FALSE);
      gtk_widget_set_sensitive (add_button, FALSE);
      gtk_widget_set_tooltip_text (add_button, "The project is read-only");
    }
}

static void
sl_class_list_dispose (GObject *object)
{
  SlClassList *self = SL_CLASS_LIST (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->health_timeout, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_CLASS_LIST);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->images);
  G_OBJECT_CLASS (sl_class_list_parent_class)->dispose (object);
}

static void
sl_class_list_finalize (GObject *object)
{
  g_clear_object (&SL_CLASS_LIST (object)->cancellable);
  G_OBJECT_CLASS (sl_class_list_parent_class)->finalize (object);
}

static void
sl_class_list_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlClassList *self = SL_CLASS_LIST (object);

  switch (prop_id)
    {
      case PROP_IMAGES: g_value_set_object (value, self->images); break;
      case PROP_SCOPE: g_value_set_int64 (value, self->scope); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_class_list_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  SlClassList *self = SL_CLASS_LIST (object);

  switch (prop_id)
    {
      case PROP_IMAGES: self->images = g_value_dup_object (value); break;
      case PROP_SCOPE: sl_class_list_set_scope (self, g_value_get_int64 (value)); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_class_list_class_init (SlClassListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_class_list_constructed;
  object_class->dispose = sl_class_list_dispose;
  object_class->finalize = sl_class_list_finalize;
  object_class->get_property = sl_class_list_get_property;
  object_class->set_property = sl_class_list_set_property;

  properties[PROP_IMAGES]
      = g_param_spec_object ("images", NULL, NULL, SL_TYPE_IMAGE_LIST,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCOPE] = g_param_spec_int64 (
      "scope", NULL, NULL, SL_IMAGE_SCOPE_IGNORED, G_MAXINT64, SL_IMAGE_SCOPE_ALL,
      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* An edit failed; the message is a sentence for the user. */
  signals[SHOW_ERROR] = g_signal_new ("show-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-class-list.ui");
  gtk_widget_class_bind_template_child (widget_class, SlClassList, scope_list);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, all_row);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, unlabeled_row);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, ignored_row);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, all_count);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, unlabeled_count);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, ignored_count);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, class_listbox);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, no_classes_label);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, add_popover);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, add_entry);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, add_color);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, add_error);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, health_heading);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, health_box);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, classes_heading);
  gtk_widget_class_bind_template_child (widget_class, SlClassList, add_class_button);
  gtk_widget_class_bind_template_callback (widget_class, on_scope_row_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_class_row_selected);
  gtk_widget_class_bind_template_callback_full (widget_class, "on_add_popover_show",
                                                G_CALLBACK (_sl_class_list_on_add_popover_show));
  _sl_class_list_install_actions (widget_class);
}

static void
sl_class_list_init (SlClassList *self)
{
  self->scope = SL_IMAGE_SCOPE_ALL;
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sl_class_list_new (SlImageList *images)
{
  return g_object_new (SL_TYPE_CLASS_LIST, "images", images, NULL);
}
