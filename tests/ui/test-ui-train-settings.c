/* test-ui-train-settings.c: the training settings form: defaults from the data, edits to configs,
 * stored runs' recipes, model sizes, augmentation, devices, validation, and its screenshots. */
#include <math.h>
#include <string.h>

#include "sl-run.h"
#include "sl-session.h"
#include "sl-train-job.h"
#include "sl-train-settings.h"
#include "sl-vision.h"
#include "ui-test-util.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlTrainSettings *settings;
  GtkWindow *window;
  GPtrArray *pages; /* the pages win.show-page was asked for */
} Fixture;

/* ---- Helpers ------------------------------------------------------------------------------------ */

static void
open_advanced (Fixture *f)
{
  GtkWidget *expander = ui_test_find_widget (GTK_WIDGET (f->settings), GTK_TYPE_EXPANDER, NULL);

  gtk_expander_set_expanded (GTK_EXPANDER (expander), TRUE);
  ui_test_spin (50);
}

/* A collapsed expander holds no children: Advanced is opened when needed. */
static GtkWidget *
control (Fixture *f, const char *title)
{
  GtkWidget *widget = ui_test_find_control (GTK_WIDGET (f->settings), title);

  if (widget == NULL)
    {
      open_advanced (f);
      widget = ui_test_find_control (GTK_WIDGET (f->settings), title);
    }
  if (widget == NULL)
    g_error ("no control titled “%s”", title);
  return widget;
}

static void
set_spin (Fixture *f, const char *title, double value)
{
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (control (f, title)), value);
}

static double
get_spin (Fixture *f, const char *title)
{
  return gtk_spin_button_get_value (GTK_SPIN_BUTTON (control (f, title)));
}

/* Chooses the dropdown item showing text. */
static void
choose (Fixture *f, const char *title, const char *text)
{
  ui_test_choose_item (control (f, title), title, text);
}

static const char *
chosen (Fixture *f, const char *title)
{
  GObject *item = gtk_drop_down_get_selected_item (GTK_DROP_DOWN (control (f, title)));

  return gtk_string_object_get_string (GTK_STRING_OBJECT (item));
}

static void
show_page (GSimpleAction *action, GVariant *param, gpointer data)
{
  Fixture *f = data;

  g_ptr_array_add (f->pages, g_variant_dup_string (param, NULL));
}

/* The form in a 380 x 760 window (as the Train page's column), scrolled, on a
 * project; the window's win.show-page records the pages asked for. */
static gboolean
fixture_open (Fixture *f, int images)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();
  const GActionEntry actions[] = { { "show-page", show_page, "s" } };
  g_autoptr (GSimpleActionGroup) group = g_simple_action_group_new ();

  f->project = ui_test_fmnist_project (images, 3, &f->tmp);
  if (f->project == NULL)
    return FALSE;
  f->session = sl_session_new_for_project (f->project);
  f->settings = SL_TRAIN_SETTINGS (sl_train_settings_new ());
  sl_train_settings_set_session (f->settings, f->session);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (f->settings));
  f->pages = g_ptr_array_new_with_free_func (g_free);
  g_action_map_add_action_entries (G_ACTION_MAP (group), actions, G_N_ELEMENTS (actions), f);
  f->window = ui_test_window_new (scroller, 380, 760);
  gtk_widget_insert_action_group (GTK_WIDGET (f->window), "win", G_ACTION_GROUP (group));
  return TRUE;
}

static void
fixture_teardown (Fixture *f)
{
  if (f->window != NULL)
    gtk_window_destroy (f->window);
  ui_test_spin (50);
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
  g_clear_pointer (&f->pages, g_ptr_array_unref);
}

static const char *
model_line (Fixture *f)
{
  GtkWidget *label = ui_test_find_label (GTK_WIDGET (f->settings), " weights · ");

  return label != NULL ? gtk_label_get_text (GTK_LABEL (label)) : NULL;
}

typedef struct
{
  Fixture *f;
  const char *text; /* the line must contain this */
} LineWait;

static gboolean
model_line_has (gpointer data)
{
  LineWait *w = data;
  const char *line = model_line (w->f);

  return line != NULL && strstr (line, w->text) != NULL;
}

static gboolean
label_shown (gpointer data)
{
  LineWait *w = data;

  return ui_test_find_label (GTK_WIDGET (w->f->settings), w->text) != NULL;
}

static gboolean
augment_is_off (const char *json)
{
  sl_augment_config config;

  g_assert_nonnull (json);
  sl_augment_config_init (&config);
  g_assert_cmpint (sl_augment_config_from_json (json, &config, NULL), ==, SL_OK);
  return !sl_augment_config_is_active (&config);
}

/* ---- Tests -------------------------------------------------------------------------------------- */

/* Defaults follow the data set; an edited value stays; Reset brings the defaults back. */
static void
test_defaults (void)
{
  Fixture f = { 0 };
  g_autoptr (GPtrArray) train = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  SlImageFilter filter;
  SlRunConfig c;
  gint64 first_class = -1;

  if (!fixture_open (&f, 200))
    return;
  /* A small set: long, small batches, early stopping on, no weighting (balanced classes). */
  sl_train_settings_set_dataset (f.settings, 140, 30, 3);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.epochs, ==, 30);
  g_assert_cmpint (c.batch_size, ==, 16);
  g_assert_cmpint (c.patience, ==, 7);
  g_assert_cmpint (c.class_weights, ==, SL_CLASS_WEIGHTS_NONE);
  g_assert_cmpstr (c.preset, ==, "small-bn");
  g_assert_cmpint (c.schedule, ==, SL_LR_SCHEDULE_COSINE);
  g_assert_cmpfloat (c.warmup_epochs, ==, 1);
  /* The project sets no augmentation: the switch is off and cannot be turned on. */
  g_assert_true (augment_is_off (c.augment_json));
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (control (&f, "Augmentation"))));
  g_assert_false (gtk_widget_get_sensitive (control (&f, "Augmentation")));
  g_assert_nonnull (
      ui_test_find_label (GTK_WIDGET (f.settings), "the Preprocess page sets no augmentation"));
  sl_run_config_clear (&c);
  g_assert_cmpfloat (get_spin (&f, "Epochs"), ==, 30);
  g_assert_cmpstr (chosen (&f, "Batch size"), ==, "16");

  /* A large set: fewer passes, bigger batches; no validation: no early stopping. */
  sl_train_settings_set_dataset (f.settings, 60000, 0, 10);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.epochs, ==, 10);
  g_assert_cmpint (c.batch_size, ==, 64);
  g_assert_cmpint (c.patience, ==, 0);
  sl_run_config_clear (&c);
  sl_train_settings_set_dataset (f.settings, 1000, 200, 10);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.epochs, ==, 15);
  g_assert_cmpint (c.batch_size, ==, 64);
  g_assert_cmpint (c.patience, ==, 5);
  sl_run_config_clear (&c);

  /* What the user changed stays when the data set changes; the rest follows it. */
  set_spin (&f, "Epochs", 12);
  sl_train_settings_set_dataset (f.settings, 140, 30, 3);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.epochs, ==, 12);
  g_assert_cmpint (c.batch_size, ==, 16);
  sl_run_config_clear (&c);
  g_assert_true (ui_test_click_button (GTK_WIDGET (f.settings), "Reset"));
  g_assert_cmpfloat (get_spin (&f, "Epochs"), ==, 30);

  /* One class left with a few training images: rare classes get more weight. */
  sl_image_filter_init (&filter);
  filter.split = SL_SPLIT_TRAIN;
  train = sl_project_list_images (f.project, &filter, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < train->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (train, i);

      if (first_class < 0)
        first_class = im->class_id;
      if (im->class_id == first_class)
        g_array_append_val (ids, im->id);
    }
  g_assert_cmpuint (ids->len, >, 20);
  g_assert_true (
      sl_session_set_ignored (f.session, (gint64 *) ids->data, ids->len - 5, TRUE, &error));
  g_assert_no_error (error);
  sl_train_settings_set_dataset (f.settings, 140 - ids->len + 5, 30, 3);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.class_weights, ==, SL_CLASS_WEIGHTS_AUTO);
  sl_run_config_clear (&c);
  g_assert_cmpstr (chosen (&f, "Class weighting"), ==, "Balanced");
  fixture_teardown (&f);
}

/* get_config returns what the controls show. */
static void
count (gpointer data)
{
  (*(int *) data)++;
}

static void
test_edits (void)
{
  Fixture f = { 0 };
  GtkWidget *lr;
  SlRunConfig c;
  int changes = 0;

  if (!fixture_open (&f, 60))
    return;
  g_signal_connect_swapped (f.settings, "changed", G_CALLBACK (count), &changes);
  open_advanced (&f);
  choose (&f, "Network", "resnet-s");
  set_spin (&f, "Epochs", 7);
  choose (&f, "Batch size", "8");
  lr = control (&f, "Learning rate");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (lr), log10 (0.0025));
  ui_test_spin (20);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (lr)), ==, "0.0025");
  choose (&f, "Schedule", "Step");
  g_assert_true (gtk_widget_is_visible (control (&f, "Step every")));
  g_assert_false (gtk_widget_is_visible (control (&f, "Warm-up")));
  set_spin (&f, "Step every", 3);
  set_spin (&f, "Step factor", 0.5);
  set_spin (&f, "Early stopping", 0);
  choose (&f, "Optimizer", "SGD");
  set_spin (&f, "Weight decay", 0.0005);
  set_spin (&f, "Label smoothing", 0.1);
  choose (&f, "Class weighting", "Balanced");
  /* The Augmentation switch is off and insensitive while nothing is set, so it is no edit here;
   * 1 CPU thread differs from the default on any machine with two cores or more. */
  set_spin (&f, "Seed", 42);
  set_spin (&f, "Loader threads", 3);
  set_spin (&f, "CPU threads", 1);
  g_assert_cmpint (changes, >=, 15);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpstr (c.preset, ==, "resnet-s");
  g_assert_null (c.model_json);
  g_assert_null (c.pipeline_json);
  g_assert_cmpint (c.epochs, ==, 7);
  g_assert_cmpint (c.batch_size, ==, 8);
  g_assert_cmpfloat (c.learning_rate, ==, 0.0025);
  g_assert_cmpint (c.schedule, ==, SL_LR_SCHEDULE_STEP);
  g_assert_cmpfloat (c.warmup_epochs, ==, 0);
  g_assert_cmpint (c.step_epochs, ==, 3);
  g_assert_cmpfloat_with_epsilon (c.gamma, 0.5, 1e-9);
  g_assert_cmpint (c.patience, ==, 0);
  g_assert_cmpstr (c.optimizer, ==, "sgd");
  g_assert_cmpfloat_with_epsilon (c.weight_decay, 0.0005, 1e-9);
  g_assert_cmpfloat_with_epsilon (c.label_smoothing, 0.1, 1e-9);
  g_assert_cmpint (c.class_weights, ==, SL_CLASS_WEIGHTS_AUTO);
  g_assert_true (augment_is_off (c.augment_json));
  g_assert_cmpuint (c.seed, ==, 42);
  g_assert_cmpint (c.workers, ==, 3);
  g_assert_cmpint (c.threads, ==, 1);
  sl_run_config_clear (&c);

  /* A typed rate is taken with two significant digits; text that is no number is refused. */
  gtk_editable_set_text (GTK_EDITABLE (lr), "0.02");
  gtk_spin_button_update (GTK_SPIN_BUTTON (lr));
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpfloat (c.learning_rate, ==, 0.02);
  sl_run_config_clear (&c);
  gtk_editable_set_text (GTK_EDITABLE (lr), "fast");
  gtk_spin_button_update (GTK_SPIN_BUTTON (lr));
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpfloat (c.learning_rate, ==, 0.02);
  sl_run_config_clear (&c);

  /* Cosine shows its warm-up; a half-epoch warm-up is kept. */
  choose (&f, "Schedule", "Cosine");
  g_assert_true (gtk_widget_is_visible (control (&f, "Warm-up")));
  set_spin (&f, "Warm-up", 0.5);
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.schedule, ==, SL_LR_SCHEDULE_COSINE);
  g_assert_cmpfloat (c.warmup_epochs, ==, 0.5);
  sl_run_config_clear (&c);
  fixture_teardown (&f);
}

/* A run trained from the form's settings loads back into the same settings, and the
 * augmentation switch off overrides the project's augmentation. */
static void
test_load_run (void)
{
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *ref = NULL;
  SlRunConfig want, got, stored;
  gint64 default_run;

  if (!fixture_open (&f, 150))
    return;
  /* Written through the session's project: the session says so ("pipeline-changed"). */
  g_assert_true (sl_project_set_augment_json (f.project, "{\"flip-horizontal\": true}", &error));
  open_advanced (&f);
  choose (&f, "Schedule", "Step");
  set_spin (&f, "Step every", 1);
  set_spin (&f, "Step factor", 0.5);
  set_spin (&f, "Epochs", 2);
  choose (&f, "Optimizer", "AdamW");
  set_spin (&f, "Label smoothing", 0.05);
  set_spin (&f, "Weight decay", 0.01);
  choose (&f, "Class weighting", "Balanced");
  gtk_switch_set_active (GTK_SWITCH (control (&f, "Augmentation")), FALSE);
  set_spin (&f, "Seed", 7);
  set_spin (&f, "CPU threads", 2);
  g_assert_true (sl_train_settings_validate (f.settings, NULL));
  sl_train_settings_get_config (f.settings, &want);
  job = sl_train_job_new (f.project, &want, &error);
  g_assert_no_error (error);
  g_assert_true (sl_train_job_run (job, &error));
  g_assert_no_error (error);
  ref = g_strdup_printf ("%lld", (long long) sl_train_job_get_run_id (job));
  run = sl_project_get_run (f.project, ref, &error);
  g_assert_no_error (error);
  g_assert_true (sl_run_config_from_json (run->config_json, &stored, NULL, &error));
  g_assert_true (augment_is_off (stored.augment_json));
  sl_run_config_clear (&stored);

  /* A fresh form shows the run's settings. */
  sl_train_settings_reset (f.settings);
  g_assert_cmpstr (chosen (&f, "Optimizer"), ==, "Adam");
  g_assert_true (sl_train_settings_load_config_json (f.settings, run->config_json));
  sl_train_settings_get_config (f.settings, &got);
  g_assert_cmpstr (got.preset, ==, want.preset);
  g_assert_cmpstr (got.optimizer, ==, "adamw");
  g_assert_cmpint (got.epochs, ==, 2);
  g_assert_cmpint (got.batch_size, ==, want.batch_size);
  g_assert_cmpfloat (got.learning_rate, ==, want.learning_rate);
  g_assert_cmpint (got.schedule, ==, SL_LR_SCHEDULE_STEP);
  g_assert_cmpint (got.step_epochs, ==, 1);
  g_assert_cmpfloat_with_epsilon (got.gamma, 0.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (got.label_smoothing, 0.05, 1e-9);
  g_assert_cmpfloat_with_epsilon (got.weight_decay, 0.01, 1e-9);
  g_assert_cmpint (got.class_weights, ==, SL_CLASS_WEIGHTS_AUTO);
  g_assert_true (augment_is_off (got.augment_json));
  g_assert_cmpuint (got.seed, ==, 7);
  g_assert_cmpint (got.threads, ==, 2);
  g_assert_cmpint (got.patience, ==, want.patience);
  g_assert_cmpint (got.workers, ==, want.workers);
  sl_run_config_clear (&got);
  sl_run_config_clear (&want);
  /* Loaded settings are the user's: a new data set does not replace them. */
  sl_train_settings_set_dataset (f.settings, 100000, 100, 3);
  g_assert_cmpfloat (get_spin (&f, "Epochs"), ==, 2);
  g_assert_false (sl_train_settings_load_config_json (f.settings, "{ not json"));

  /* The harness's default run: seed-cnn with the library's defaults. */
  g_clear_pointer (&run, sl_run_info_free);
  g_clear_pointer (&job, sl_train_job_free);
  default_run = ui_test_train_run (f.project, 1);
  g_free (ref);
  ref = g_strdup_printf ("%lld", (long long) default_run);
  run = sl_project_get_run (f.project, ref, &error);
  g_assert_true (sl_train_settings_load_config_json (f.settings, run->config_json));
  sl_train_settings_get_config (f.settings, &got);
  g_assert_cmpstr (got.preset, ==, "seed-cnn");
  g_assert_cmpint (got.epochs, ==, 1);
  g_assert_cmpint (got.schedule, ==, SL_LR_SCHEDULE_COSINE);
  g_assert_cmpfloat (got.warmup_epochs, ==, 1);
  g_assert_cmpstr (got.optimizer, ==, "adam");
  /* The project's flips were on for that run: the switch says so. */
  g_assert_null (got.augment_json);
  sl_run_config_clear (&got);
  fixture_teardown (&f);
}

/* The preset's explanation and size follow the choice and the pipeline's input. */
static void
test_model_info (void)
{
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *small = NULL, *seed28 = NULL;
  LineWait w = { &f, " weights · " };
  const char *json = "{\"version\": 1, \"input\": {\"width\": 32, \"height\": 32, \"channels\": "
                     "1, \"mean\": [0.5], \"std\": [0.25]}, \"steps\": []}";

  if (!fixture_open (&f, 60))
    return;
  sl_train_settings_set_dataset (f.settings, 42, 9, 3);
  /* Without a stored pipeline, the one the first run will choose: 28 x 28 gray. */
  g_assert_true (ui_test_wait_until (model_line_has, &w, 20000));
  small = g_strdup (model_line (&f));
  g_assert_nonnull (strstr (small, " k weights · fast to train"));
  w.text = "28 × 28 gray";
  g_assert_true (label_shown (&w));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f.settings), sl_preset_summary ("small-bn")));
  /* The input size and the augmentation are the Preprocess page's. */
  g_assert_true (ui_test_click_button (GTK_WIDGET (f.settings), "Change…"));
  open_advanced (&f);
  g_assert_true (ui_test_click_button (GTK_WIDGET (f.settings), "Edit…"));
  g_assert_cmpuint (f.pages->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f.pages, 0), ==, "preprocess");
  g_assert_cmpstr (g_ptr_array_index (f.pages, 1), ==, "preprocess");

  /* seed-cnn's big dense layer: millions of weights. */
  choose (&f, "Network", "seed-cnn");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f.settings), sl_preset_summary ("seed-cnn")));
  w.text = " M weights";
  g_assert_true (ui_test_wait_until (model_line_has, &w, 20000));
  seed28 = g_strdup (model_line (&f));
  g_assert_cmpstr (seed28, !=, small);

  /* A bigger input on the Preprocess page: the form follows, and so does the size. */
  g_assert_true (sl_session_set_pipeline_json (f.session, json, &error));
  g_assert_no_error (error);
  w.text = "32 × 32 gray";
  g_assert_true (label_shown (&w));
  g_assert_true (ui_test_wait_until (model_line_has, &(LineWait){ &f, " M weights" }, 20000));
  g_assert_cmpstr (model_line (&f), !=, seed28);

  /* Back to small-bn: measured before at 28 x 28, measured again at 32 x 32. */
  choose (&f, "Network", "small-bn");
  g_assert_true (ui_test_wait_until (model_line_has, &(LineWait){ &f, " k weights" }, 20000));
  g_assert_true (sl_train_settings_validate (f.settings, NULL));
  fixture_teardown (&f);
}

/* Devices: the default from the settings, unusable ones cannot be chosen. */
static void
test_devices (void)
{
  Fixture f = { 0 };
  g_autoptr (GSettings) gsettings = g_settings_new ("org.sightline.Sightline");
  const char *ids[] = { "cpu", "cuda:0", "cuda:1" };
  const char *labels[] = { "CPU", "GPU 0: Test GPU", "GPU 1: Old GPU" };
  const char *reasons[] = { "", "", "Compute capability 3.0 is too old for this build" };
  const gboolean usable[] = { TRUE, TRUE, FALSE };
  g_autofree char *id = NULL;
  GtkWidget *device;
  SlRunConfig c;

  g_settings_set_string (gsettings, "last-device", "cuda:0");
  g_settings_set_int (gsettings, "threads", 3);
  if (!fixture_open (&f, 30))
    return;
  g_assert_cmpfloat (get_spin (&f, "CPU threads"), ==, 3);
  id = sl_train_settings_dup_device_id (f.settings);
  g_assert_cmpstr (id, ==, "cpu"); /* no GPU listed yet */
  g_clear_pointer (&id, g_free);
  sl_train_settings_set_devices (f.settings, ids, labels, usable, reasons, 3);
  id = sl_train_settings_dup_device_id (f.settings);
  g_assert_cmpstr (id, ==, "cuda:0");
  g_clear_pointer (&id, g_free);
  g_assert_false (gtk_widget_is_visible (control (&f, "CPU threads")));
  device = control (&f, "Device");
  gtk_drop_down_set_selected (GTK_DROP_DOWN (device), 2);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (device)), ==, 1);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (device), 0);
  id = sl_train_settings_dup_device_id (f.settings);
  g_assert_cmpstr (id, ==, "cpu");
  g_clear_pointer (&id, g_free);
  g_assert_true (gtk_widget_is_visible (control (&f, "CPU threads")));
  /* The user's CPU stays when the list is refreshed. */
  sl_train_settings_set_devices (f.settings, ids, labels, usable, reasons, 3);
  id = sl_train_settings_dup_device_id (f.settings);
  g_assert_cmpstr (id, ==, "cpu");
  sl_train_settings_get_config (f.settings, &c);
  g_assert_cmpint (c.threads, ==, 3);
  sl_run_config_clear (&c);
  /* No GPU at all: the registry's reason, as Preferences shows it. */
  sl_train_settings_set_gpu_status (f.settings,
                                    "The CUDA module is not installed beside Sightline");
  sl_train_settings_set_devices (f.settings, ids, labels, usable, reasons, 1);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f.settings), "CUDA module is not installed"));
  sl_train_settings_set_devices (f.settings, ids, labels, usable, reasons, 2);
  g_assert_null (ui_test_find_label (GTK_WIDGET (f.settings), "CUDA module is not installed"));
  g_settings_reset (gsettings, "last-device");
  g_settings_reset (gsettings, "threads");
  fixture_teardown (&f);
}

/* Settings that cannot train are refused with a reason; a locked form cannot change. */
static void
test_validate (void)
{
  Fixture f = { 0 };
  g_autofree char *message = NULL;

  if (!fixture_open (&f, 30))
    return;
  sl_train_settings_set_dataset (f.settings, 0, 0, 3);
  g_assert_false (sl_train_settings_validate (f.settings, &message));
  g_assert_nonnull (strstr (message, "no training images"));
  g_clear_pointer (&message, g_free);
  sl_train_settings_set_dataset (f.settings, 40, 10, 1);
  g_assert_false (sl_train_settings_validate (f.settings, &message));
  g_assert_nonnull (strstr (message, "two classes"));
  g_clear_pointer (&message, g_free);
  sl_train_settings_set_dataset (f.settings, 40, 10, 3);
  g_assert_true (sl_train_settings_validate (f.settings, &message));
  g_assert_null (message);

  set_spin (&f, "Epochs", 4);
  set_spin (&f, "Warm-up", 3);
  g_assert_false (sl_train_settings_validate (f.settings, &message));
  g_assert_nonnull (strstr (message, "warm-up"));
  g_clear_pointer (&message, g_free);
  set_spin (&f, "Warm-up", 1);
  choose (&f, "Schedule", "Step");
  set_spin (&f, "Step every", 10);
  g_assert_false (sl_train_settings_validate (f.settings, &message));
  g_assert_nonnull (strstr (message, "never cut"));
  g_clear_pointer (&message, g_free);
  set_spin (&f, "Step every", 2);
  g_assert_true (sl_train_settings_validate (f.settings, NULL));

  /* Locked while a run trains: nothing can be changed, not even by Reset. */
  sl_train_settings_set_locked (f.settings, TRUE);
  g_assert_false (gtk_widget_is_sensitive (control (&f, "Epochs")));
  gtk_widget_activate_action (GTK_WIDGET (f.settings), "settings.reset", NULL);
  g_assert_cmpfloat (get_spin (&f, "Epochs"), ==, 4);
  sl_train_settings_set_locked (f.settings, FALSE);
  g_assert_true (gtk_widget_is_sensitive (control (&f, "Epochs")));
  fixture_teardown (&f);
}

/* The form as the Train page shows it, closed and with Advanced open. */
static void
test_screenshots (void)
{
  Fixture f = { 0 };
  const char *ids[] = { "cpu", "cuda:0" };
  const char *labels[] = { "CPU", "GPU 0: NVIDIA T400" };
  const char *reasons[]
      = { "", "The NVIDIA driver is too old for CUDA 12: update it to use the GPU" };
  const gboolean usable[] = { TRUE, FALSE };
  LineWait w = { &f, " weights · " };
  GtkWidget *scroller;
  GtkAdjustment *adj;
  g_autofree char *closed = NULL, *open = NULL;

  if (!fixture_open (&f, 120))
    return;
  sl_train_settings_set_dataset (f.settings, 84, 18, 3);
  sl_train_settings_set_devices (f.settings, ids, labels, usable, reasons, 2);
  g_assert_true (ui_test_wait_until (model_line_has, &w, 20000));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (control (&f, "Learning rate")), log10 (0.00025));
  closed = ui_test_save_screenshot (GTK_WIDGET (f.window), "train-settings");
  open_advanced (&f);
  scroller = gtk_widget_get_parent (gtk_widget_get_parent (GTK_WIDGET (f.settings)));
  adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  ui_test_spin (100);
  gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj));
  open = ui_test_save_screenshot (GTK_WIDGET (f.window), "train-settings-advanced");
  g_assert_true (g_file_test (closed, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (open, G_FILE_TEST_IS_REGULAR));
  fixture_teardown (&f);
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add_func ("/ui/train-settings/defaults", test_defaults);
  g_test_add_func ("/ui/train-settings/edits", test_edits);
  g_test_add_func ("/ui/train-settings/load-run", test_load_run);
  g_test_add_func ("/ui/train-settings/model-info", test_model_info);
  g_test_add_func ("/ui/train-settings/devices", test_devices);
  g_test_add_func ("/ui/train-settings/validate", test_validate);
  g_test_add_func ("/ui/train-settings/screenshots", test_screenshots);
  return g_test_run ();
}
