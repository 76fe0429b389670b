/* sl-train-settings-backbone.c: the settings form's model choice: pretrained backbones (listed on a worker), fine-tuning, image size. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-settings-private.h"

#include <stdlib.h>
#include <string.h>

#include "sl-model-words.h"
#include "sl-session.h"

#define LITE0 "efficientnet-lite0"
/* The notes under a choice start where its text does. */
#define NOTE_INDENT 19
/* Where sl_backbone_find's message turns from what it searched to what to do. */
#define INSTALL_WITH "Install it with"

/* Below this many training images per class a pretrained network is recommended. */
#define FEW_IMAGES_PER_CLASS 300

/* ---- Listing the installed backbones, off the main loop -------------------------------------- */

typedef struct
{
  GPtrArray *installed; /* SlBackboneInfo * */
  char *hint;           /* how to install Lite0 when it is missing */
  char *default_model;  /* the projects' rule's model for the next run: backbone or preset */
  char *why;            /* why that is small-bn: the latest run's backbone is gone; or NULL */
  char *gone_run;       /* with why: the latest run's name and the backbone it started from */
  char *gone_backbone;
} Listing;

static void
listing_free (Listing *l)
{
  g_clear_pointer (&l->installed, g_ptr_array_unref);
  g_free (l->hint);
  g_free (l->default_model);
  g_free (l->why);
  g_free (l->gone_run);
  g_free (l->gone_backbone);
  g_free (l);
}

static void
list_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  Listing *l = g_new0 (Listing, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBackboneInfo) lite0 = sl_backbone_find (LITE0, &error);
  g_autoptr (SlProject) db = path != NULL ? sl_project_open_worker (path, NULL) : NULL;

  l->installed = sl_backbone_list_installed ();
  if (lite0 == NULL)
    l->hint = g_strdup (error->message);
  /* The projects' one rule (sightline-cli's too): the latest run's model, and for a new
   * project the pretrained Lite0 when it is installed. */
  l->default_model = db != NULL ? sl_project_dup_default_model_why (db, &l->why) : NULL;
  if (l->why != NULL)
    {
      g_autoptr (SlRunInfo) latest = sl_project_get_run (db, "latest", NULL);

      if (latest != NULL && latest->backbone != NULL)
        {
          l->gone_run = g_strdup (latest->name);
          l->gone_backbone = g_strdup (latest->backbone);
        }
    }
  g_task_return_pointer (task, l, (GDestroyNotify) listing_free);
}

static void
list_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SlTrainSettings) self = data;
  Listing *l = g_task_propagate_pointer (G_TASK (result), NULL);

  if (l == NULL)
    return; /* cancelled: the form is gone */
  g_clear_object (&self->listing);
  g_hash_table_remove_all (self->installed);
  for (guint i = 0; i < l->installed->len; i++)
    {
      SlBackboneInfo *bb = g_ptr_array_index (l->installed, i);
      const char *name = sl_backbone_canonical_name (bb->name);

      if (name != NULL && !g_hash_table_contains (self->installed, name))
        {
          g_ptr_array_index (l->installed, i) = NULL;
          g_hash_table_insert (self->installed, (gpointer) name, bb);
        }
    }
  g_free (self->install_hint);
  self->install_hint = g_steal_pointer (&l->hint);
  g_clear_pointer (&self->default_backbone, g_free);
  g_clear_pointer (&self->default_preset, g_free);
  if (l->default_model != NULL && sl_backbone_canonical_name (l->default_model) != NULL)
    self->default_backbone = g_strdup (sl_backbone_canonical_name (l->default_model));
  else
    self->default_preset = g_steal_pointer (&l->default_model);
  g_free (self->default_why);
  self->default_why = g_steal_pointer (&l->why);
  g_free (self->gone_run);
  self->gone_run = g_steal_pointer (&l->gone_run);
  g_free (self->gone_backbone);
  self->gone_backbone = g_steal_pointer (&l->gone_backbone);
  self->backbones_listed = TRUE;
  listing_free (l);
  /* The default model may have changed: a choice the user made stays. */
  _sl_train_settings_apply_defaults (self);
}

void
_sl_train_settings_list_backbones (SlTrainSettings *self)
{
  g_autoptr (GTask) task = NULL;

  /* The latest listing wins: it reads the folders, and the project, as they are now. */
  if (self->listing != NULL)
    g_cancellable_cancel (self->listing);
  g_clear_object (&self->listing);
  self->listing = g_cancellable_new ();
  task = g_task_new (NULL, self->listing, list_done, g_object_ref (self));
  if (self->session != NULL)
    g_task_set_task_data (task, g_strdup (sl_session_get_path (self->session)), g_free);
  g_task_run_in_thread (task, list_thread);
}

/* ---- The choices ------------------------------------------------------------------------------ */

static const char *
check_name (GtkWidget *check)
{
  return g_object_get_data (G_OBJECT (check), "backbone-name");
}

static GtkWidget *
find_check (SlTrainSettings *self, const char *name)
{
  for (guint i = 0; i < self->backbone_checks->len; i++)
    if (g_strcmp0 (check_name (g_ptr_array_index (self->backbone_checks, i)), name) == 0)
      return g_ptr_array_index (self->backbone_checks, i);
  return NULL;
}

static GtkWidget *
add_check (SlTrainSettings *self, const char *name)
{
  const char *words = sl_model_words_backbone_choice (name);
  GtkWidget *label = gtk_label_new (words != NULL ? words : name);
  GtkWidget *check = gtk_check_button_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_check_button_set_child (GTK_CHECK_BUTTON (check), label);
  gtk_check_button_set_group (GTK_CHECK_BUTTON (check), GTK_CHECK_BUTTON (self->scratch_check));
  g_object_set_data_full (G_OBJECT (check), "backbone-name", g_strdup (name), g_free);
  g_signal_connect (check, "toggled", G_CALLBACK (_sl_train_settings_model_toggled), self);
  gtk_widget_set_sensitive (check, FALSE); /* until the listing finds it */
  gtk_box_append (GTK_BOX (self->start_box), check);
  g_ptr_array_add (self->backbone_checks, check);
  return check;
}

static GtkWidget *
add_note (SlTrainSettings *self, const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  /* Under the choice's text, past its round button. */
  gtk_widget_set_margin_start (label, NOTE_INDENT);
  gtk_widget_set_margin_bottom (label, 4);
  gtk_widget_add_css_class (label, "caption");
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  gtk_widget_set_visible (label, FALSE);
  gtk_box_append (GTK_BOX (self->start_box), label);
  return label;
}

/* Above the choices: why the default is a network from scratch when the latest run started
 * from a backbone that is gone. Selectable: it holds the command that installs it again. */
static void
add_fallback_note (SlTrainSettings *self)
{
  self->fallback_note = add_note (self, "dim-label");
  gtk_widget_set_margin_start (self->fallback_note, 0);
  gtk_label_set_selectable (GTK_LABEL (self->fallback_note), TRUE);
}

/* Under Lite0's choice: why it is recommended, and how to install it when it is missing. */
static void
add_notes (SlTrainSettings *self)
{
  self->model_advice = add_note (self, NULL);
  self->install_label = add_note (self, "dim-label");
  self->install_command = add_note (self, "monospace");
  gtk_label_set_selectable (GTK_LABEL (self->install_command), TRUE);
}

char *
_sl_train_settings_dup_backbone (SlTrainSettings *self)
{
  for (guint i = 0; i < self->backbone_checks->len; i++)
    {
      GtkWidget *check = g_ptr_array_index (self->backbone_checks, i);

      if (gtk_check_button_get_active (GTK_CHECK_BUTTON (check)))
        return g_strdup (check_name (check));
    }
  return NULL;
}

void
_sl_train_settings_set_backbone (SlTrainSettings *self, const char *name)
{
  const char *canonical = name != NULL ? sl_backbone_canonical_name (name) : NULL;
  GtkWidget *check;

  if (canonical == NULL)
    {
      gtk_check_button_set_active (GTK_CHECK_BUTTON (self->scratch_check), TRUE);
      return;
    }
  check = find_check (self, canonical);
  if (check == NULL)
    check = add_check (self, canonical);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), TRUE);
}

gboolean
_sl_train_settings_backbone_installed (SlTrainSettings *self, const char *name)
{
  const char *canonical = name != NULL ? sl_backbone_canonical_name (name) : NULL;

  return canonical != NULL && g_hash_table_contains (self->installed, canonical);
}

SlFinetune
_sl_train_settings_get_finetune (SlTrainSettings *self, int *blocks)
{
  *blocks = 0;
  if (gtk_check_button_get_active (GTK_CHECK_BUTTON (self->finetune_all_check)))
    return SL_FINETUNE_ALL;
  if (!gtk_check_button_get_active (GTK_CHECK_BUTTON (self->finetune_last_check)))
    return SL_FINETUNE_HEAD;
  *blocks = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->finetune_blocks_spin));
  return SL_FINETUNE_LAST_BLOCKS;
}

void
_sl_train_settings_set_finetune (SlTrainSettings *self, SlFinetune mode, int blocks)
{
  GtkWidget *check = mode == SL_FINETUNE_ALL           ? self->finetune_all_check
                     : mode == SL_FINETUNE_LAST_BLOCKS ? self->finetune_last_check
                                                       : self->finetune_head_check;

  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), TRUE);
  if (mode == SL_FINETUNE_LAST_BLOCKS && blocks > 0)
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->finetune_blocks_spin), blocks);
}

/* 0: chosen from the images by the run ("Automatic", the first item). */
int
_sl_train_settings_get_input_size (SlTrainSettings *self)
{
  GObject *item = gtk_drop_down_get_selected_item (GTK_DROP_DOWN (self->input_size_drop));

  return item != NULL ? atoi (gtk_string_object_get_string (GTK_STRING_OBJECT (item))) : 0;
}

/* A size not listed (from sightline-cli) is added. */
void
_sl_train_settings_set_input_size (SlTrainSettings *self, int size)
{
  GtkDropDown *drop = GTK_DROP_DOWN (self->input_size_drop);
  GtkStringList *list = GTK_STRING_LIST (gtk_drop_down_get_model (drop));
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_autofree char *text = size > 0 ? g_strdup_printf ("%d px", size) : g_strdup ("Automatic");

  for (guint i = 0; i < n; i++)
    if (g_str_equal (gtk_string_list_get_string (list, i), text))
      {
        gtk_drop_down_set_selected (drop, i);
        return;
      }
  gtk_string_list_append (list, text);
  gtk_drop_down_set_selected (drop, n);
}

/* ---- What the form shows ---------------------------------------------------------------------- */

/* "Recommended with about 20 training images per class: …" for small data sets. */
static char *
advice_text (SlTrainSettings *self)
{
  GString *text = g_string_new (NULL);

  if (self->dataset_known && self->classes > 0 && self->train_images > 0
      && self->train_images / self->classes < FEW_IMAGES_PER_CLASS)
    {
      gint64 per_class = self->train_images / self->classes;

      g_string_append_printf (
          text,
          g_dngettext (NULL,
                       "Recommended with about %" G_GINT64_FORMAT
                       " training image per class: it has learned shapes and textures from 1.3 "
                       "million photographs, so it needs far fewer of yours than a network "
                       "trained from scratch.",
                       "Recommended with about %" G_GINT64_FORMAT
                       " training images per class: it has learned shapes and textures from 1.3 "
                       "million photographs, so it needs far fewer of yours than a network "
                       "trained from scratch.",
                       per_class),
          per_class);
    }
  return g_string_free (text, FALSE);
}

/* How to install Lite0, from sl_backbone_find's message: "Not installed. Install it with:"
 * over the command, and what else there is to do, without the folders it searched (the
 * tooltip has the whole message). A message worded otherwise is shown whole. */
static void
show_install_hint (SlTrainSettings *self)
{
  const char *hint = self->backbones_listed ? self->install_hint : NULL;
  const char *command = hint != NULL ? strstr (hint, INSTALL_WITH) : NULL;
  g_autofree char *intro = NULL, *rest = NULL;

  if (command != NULL)
    {
      const char *after = command + strlen (INSTALL_WITH);
      const char *alternative = strstr (after, " (or ");

      after += strspn (after, ": ");
      rest = alternative != NULL ? g_strndup (after, alternative - after) : g_strdup (after);
      intro = g_strdup ("Not installed. Install it with:");
      if (alternative != NULL)
        {
          g_autofree char *more = g_strdup (alternative + strlen (" (or "));
          char *end = strrchr (more, ')');

          if (end != NULL)
            *end = '\0';
          g_free (intro);
          intro
              = g_strdup_printf ("Not installed. Install it with the command below, or %s.", more);
        }
    }
  gtk_label_set_text (GTK_LABEL (self->install_label), intro != NULL  ? intro
                                                       : hint != NULL ? hint
                                                                      : "");
  gtk_label_set_text (GTK_LABEL (self->install_command), rest != NULL ? rest : "");
  gtk_widget_set_visible (self->install_label, hint != NULL);
  gtk_widget_set_visible (self->install_command, rest != NULL);
  gtk_widget_set_tooltip_text (self->install_label, hint);
  gtk_widget_set_tooltip_text (self->install_command, hint);
}

/* The projects' rule fell back to small-bn because the latest run's backbone is gone: says so
 * in the form's words until the user chooses a model (or a network) or the backbone is
 * installed again (the next listing). The install command follows, unless Lite0's note below
 * shows it; sl_project_dup_default_model_why's whole line is the tooltip. */
static void
show_fallback (SlTrainSettings *self)
{
  const char *why = self->default_why;
  gboolean shown = why != NULL && !(self->edited & ((1u << F_MODEL) | (1u << F_PRESET)));
  g_autoptr (GString) text = g_string_new (NULL);

  if (shown && self->gone_run != NULL)
    {
      const char *command = strstr (why, INSTALL_WITH);
      const char *canonical = sl_backbone_canonical_name (self->gone_backbone);

      /* "EfficientNet-Lite0" stays on one line (non-breaking hyphens). */
      g_autoptr (GString) title
          = g_string_new (sl_model_words_backbone_short (self->gone_backbone));

      g_string_replace (title, "-", "\u2011", 0);
      g_string_append_printf (text,
                              "The latest run (%s) started from %s, which is no longer installed, "
                              "so this one trains a new network from scratch.",
                              self->gone_run, title->str);
      if (g_strcmp0 (canonical, LITE0) == 0 && self->install_hint != NULL)
        g_string_append (text, " Install it as shown below to start from it again.");
      else if (command != NULL)
        g_string_append_printf (text, " %s", command);
    }
  else if (shown)
    g_string_append (text, why);
  gtk_label_set_text (GTK_LABEL (self->fallback_note), text->str);
  gtk_widget_set_tooltip_text (self->fallback_note, shown ? why : NULL);
  gtk_widget_set_visible (self->fallback_note, shown);
}

void
_sl_train_settings_show_model_choice (SlTrainSettings *self)
{
  g_autofree char *backbone = _sl_train_settings_dup_backbone (self);
  g_autofree char *advice = advice_text (self);
  gboolean updating = self->updating;

  for (guint i = 0; i < self->backbone_checks->len; i++)
    {
      GtkWidget *check = g_ptr_array_index (self->backbone_checks, i);
      const char *name = check_name (check);
      gboolean installed = g_hash_table_contains (self->installed, name);

      gtk_widget_set_visible (check, installed || g_str_equal (name, LITE0)
                                         || gtk_check_button_get_active (GTK_CHECK_BUTTON (check)));
      gtk_widget_set_sensitive (check, installed);
    }
  gtk_label_set_text (GTK_LABEL (self->model_advice), advice);
  gtk_widget_set_visible (self->model_advice, *advice != '\0');
  show_install_hint (self);
  show_fallback (self);
  gtk_widget_set_visible (self->finetune_row, backbone != NULL);
  gtk_widget_set_visible (self->input_size_row, backbone != NULL);
  gtk_widget_set_visible (self->network_row, backbone == NULL);
  self->updating = TRUE;
  gtk_widget_set_sensitive (
      self->finetune_blocks_spin,
      gtk_check_button_get_active (GTK_CHECK_BUTTON (self->finetune_last_check)));
  self->updating = updating;
}

/* ---- Object ----------------------------------------------------------------------------------- */

void
_sl_train_settings_backbone_init (SlTrainSettings *self)
{
  const char *const *names = sl_backbone_known_names ();

  self->backbone_lr_ratio = 0;
  self->backbone_checks = g_ptr_array_new ();
  self->installed = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) sl_backbone_info_free);
  g_autofree char *tip = NULL;

  add_fallback_note (self);
  for (guint i = 0; names[i] != NULL; i++)
    {
      add_check (self, names[i]);
      if (g_str_equal (names[i], LITE0))
        add_notes (self);
    }
  tip = g_strdup_printf ("Images are scaled to this size, in pixels, for the pretrained network. "
                         "Automatic: %d for images no larger than that, else the size the network "
                         "learned at (224 for Lite0)",
                         SL_BACKBONE_SMALL_INPUT);
  gtk_widget_set_tooltip_text (self->input_size_drop, tip);
}

void
_sl_train_settings_backbone_dispose (SlTrainSettings *self)
{
  if (self->listing != NULL)
    g_cancellable_cancel (self->listing);
  g_clear_object (&self->listing);
  g_clear_pointer (&self->backbone_checks, g_ptr_array_unref);
  g_clear_pointer (&self->installed, g_hash_table_unref);
  g_clear_pointer (&self->install_hint, g_free);
  g_clear_pointer (&self->default_backbone, g_free);
  g_clear_pointer (&self->default_preset, g_free);
  g_clear_pointer (&self->default_why, g_free);
  g_clear_pointer (&self->gone_run, g_free);
  g_clear_pointer (&self->gone_backbone, g_free);
}
