/* test-ui-preferences.c: the Preferences dialog under Xvfb: devices found (fake CUDA modules), settings written, thumbnail budget followed. */
#include <glib/gstdio.h>
#include <string.h>

#include "sightline.h"
#include "sl-application.h"
#include "sl-devices.h"
#include "sl-preferences-dialog.h"
#include "sl-settings.h"
#include "sl-thumbnail-cache.h"
#include "sl-window.h"
#include "ui-test-util.h"

static SlApplication *app;

typedef struct
{
  char *module_dir;
  GSettings *settings;
} Fixture;

/* Makes a fresh folder the only place searched for the CUDA module; with a
 * variant it holds tests/fake-cuda-<variant>.so as libsightline-cuda.so. */
static void
use_cuda_module (Fixture *f, const char *variant)
{
  g_autoptr (GError) error = NULL;

  f->module_dir = g_dir_make_tmp ("sl-ui-prefs-XXXXXX", &error);
  g_assert_no_error (error);
  if (variant != NULL)
    {
      g_autofree char *name = g_strdup_printf ("fake-cuda-%s.so", variant);
      g_autofree char *src = g_build_filename (g_getenv ("MESON_BUILD_ROOT"), "tests", name, NULL);
      g_autofree char *dst = g_build_filename (f->module_dir, "libsightline-cuda.so", NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (src, &contents, &len, &error));
      g_assert_true (g_file_set_contents (dst, contents, (gssize) len, &error));
      g_assert_no_error (error);
    }
  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", f->module_dir, TRUE);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->settings = g_settings_new (SL_APP_ID);
  g_settings_reset (f->settings, "threads");
  g_settings_reset (f->settings, "last-device");
  g_settings_reset (f->settings, "thumbnail-cache-mb");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_object (&f->settings);
  if (f->module_dir != NULL)
    {
      g_autofree char *module = g_build_filename (f->module_dir, "libsightline-cuda.so", NULL);

      g_unlink (module);
      g_rmdir (f->module_dir);
      g_free (f->module_dir);
    }
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
}

static void
assert_last_device (Fixture *f, const char *expected)
{
  g_autofree char *value = g_settings_get_string (f->settings, "last-device");

  g_assert_cmpstr (value, ==, expected);
}

static gboolean
discovered (gpointer dialog)
{
  return !sl_preferences_dialog_get_busy (dialog);
}

/* Opens Preferences through the app action from a new main window and waits for the devices. */
static SlPreferencesDialog *
open_preferences (SlWindow **out_window)
{
  SlWindow *window = sl_window_new (GTK_APPLICATION (app));
  SlPreferencesDialog *dialog;

  ui_test_show_window (GTK_WINDOW (window));
  /* The workbench looks for devices once per process; the test moved the
   * module, so it looks again, as Look Again does. */
  sl_devices_refresh (sl_devices_get_default ());
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.preferences", NULL));
  dialog = SL_PREFERENCES_DIALOG (ui_test_find_toplevel (SL_TYPE_PREFERENCES_DIALOG));
  g_assert_nonnull (dialog);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  /* Discovery runs on a worker: until the main loop hears back, a spinner row shows. */
  g_assert_true (sl_preferences_dialog_get_busy (dialog));
  g_assert_null (sl_preferences_dialog_get_devices (dialog));
  g_assert_nonnull (ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_SPINNER, NULL));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "Looking for devices"));
  ui_test_show_window (GTK_WINDOW (dialog));
  g_assert_true (ui_test_wait_until (discovered, dialog, 20000));
  ui_test_spin (100);
  g_assert_nonnull (sl_preferences_dialog_get_devices (dialog));
  g_assert_null (ui_test_find_label (GTK_WIDGET (dialog), "Looking for devices"));
  if (out_window != NULL)
    *out_window = window;
  return dialog;
}

/* The control a row's mnemonic title label points at. */
static GtkWidget *
control_for (SlPreferencesDialog *dialog, const char *title)
{
  GtkWidget *label = ui_test_find_label (GTK_WIDGET (dialog), title);

  g_assert_nonnull (label);
  return gtk_label_get_mnemonic_widget (GTK_LABEL (label));
}

static void
test_no_gpu (Fixture *f, gconstpointer data)
{
  SlPreferencesDialog *dialog;
  const sl_device_info *cpu;
  GtkSpinButton *threads, *thumbs;
  GtkDropDown *device;
  g_autofree char *all = g_strdup_printf ("All %u core", g_get_num_processors ());
  g_autofree char *cpu_line = NULL;
  g_autofree char *path = NULL;

  use_cuda_module (f, NULL);
  dialog = open_preferences (NULL);

  /* Devices: the CPU with its threads and memory, and why there is no GPU. */
  cpu = sl_device_list_get (sl_preferences_dialog_get_devices (dialog), 0);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), cpu->name));
  cpu_line = g_strdup_printf ("%d thread%s · ", cpu->threads, cpu->threads == 1 ? "" : "s");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), cpu_line));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "No GPU for training"));
  g_assert_nonnull (ui_test_find_label (
      GTK_WIDGET (dialog),
      "The CUDA backend module (libsightline-cuda.so) is not installed beside Sightline"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), f->module_dir));

  /* Default device: only the CPU, so nothing to choose. */
  device = GTK_DROP_DOWN (control_for (dialog, "Default device"));
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (device)), ==, 1);
  g_assert_cmpuint (gtk_drop_down_get_selected (device), ==, 0);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (device)));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "Only the processor is available"));

  /* Training threads: 0 reads "All N cores"; the spin writes the setting and follows it. */
  threads = GTK_SPIN_BUTTON (control_for (dialog, "Training threads"));
  g_assert_true (g_str_has_prefix (gtk_editable_get_text (GTK_EDITABLE (threads)), all));
  gtk_spin_button_set_value (threads, 1);
  g_assert_cmpint (g_settings_get_int (f->settings, "threads"), ==, 1);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (threads)), ==, "1");
  gtk_editable_set_text (GTK_EDITABLE (threads), "all");
  gtk_spin_button_update (threads);
  g_assert_cmpint (g_settings_get_int (f->settings, "threads"), ==, 0);
  g_assert_true (g_str_has_prefix (gtk_editable_get_text (GTK_EDITABLE (threads)), all));
  g_settings_set_int (f->settings, "threads", 1);
  ui_test_spin (50);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (threads), ==, 1);
  g_settings_set_int (f->settings, "threads", 0);

  /* Thumbnail memory in MB. */
  thumbs = GTK_SPIN_BUTTON (control_for (dialog, "Thumbnail memory"));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (thumbs), ==, 256);
  gtk_spin_button_set_value (thumbs, 64);
  g_assert_cmpint (g_settings_get_int (f->settings, "thumbnail-cache-mb"), ==, 64);
  g_settings_reset (f->settings, "thumbnail-cache-mb");
  ui_test_spin (50);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (thumbs), ==, 256);

  path = ui_test_save_screenshot (GTK_WIDGET (dialog), "preferences");
  g_test_message ("screenshot: %s", path);

  /* A second activation presents the same dialog; Close (Escape's action) removes it. */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "preferences"));
  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  g_assert_true (ui_test_find_toplevel (SL_TYPE_PREFERENCES_DIALOG) == GTK_WINDOW (dialog));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "window.close", NULL));
  ui_test_spin (50);
  g_assert_null (ui_test_find_toplevel (SL_TYPE_PREFERENCES_DIALOG));
}

static void
test_gpus (Fixture *f, gconstpointer data)
{
  SlPreferencesDialog *dialog;
  GtkDropDown *device;
  g_autofree char *path = NULL;
  /* GLib puts a no-break space between number and unit. */
  g_autofree char *memory = g_format_size_full ((guint64) 40 << 30, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *gpu_line
      = g_strdup_printf ("%s memory · compute capability 8.0 · driver 13.0 · CUDA 12.8", memory);

  use_cuda_module (f, "gpus");
  g_settings_set_string (f->settings, "last-device", "cuda:0");
  dialog = open_preferences (NULL);

  /* Each GPU with its memory, compute capability and versions; the old one says why not. */
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "NVIDIA Fake A100 (GPU 0)"));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), gpu_line));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "NVIDIA Fake K80 (GPU 1)"));
  g_assert_nonnull (ui_test_find_label (
      GTK_WIDGET (dialog), "Not usable: compute capability 3.7 is too old (5.0 or newer"));
  g_assert_null (ui_test_find_label (GTK_WIDGET (dialog), "No GPU for training"));

  /* The dropdown offers the CPU and the usable GPU only, and shows the setting. */
  device = GTK_DROP_DOWN (control_for (dialog, "Default device"));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (device)));
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (device)), ==, 2);
  g_assert_cmpuint (gtk_drop_down_get_selected (device), ==, 1);
  g_assert_cmpstr (
      gtk_string_list_get_string (GTK_STRING_LIST (gtk_drop_down_get_model (device)), 1), ==,
      "GPU 0 · NVIDIA Fake A100");
  /* Scrolled to the end, where the GPUs are. */
  {
    GtkScrolledWindow *scroller = GTK_SCROLLED_WINDOW (
        ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_SCROLLED_WINDOW, NULL));
    GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (scroller);

    gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj));
    ui_test_spin (100);
  }
  path = ui_test_save_screenshot (GTK_WIDGET (dialog), "preferences-gpus");
  g_test_message ("screenshot: %s", path);

  gtk_drop_down_set_selected (device, 0);
  assert_last_device (f, "cpu");
  gtk_drop_down_set_selected (device, 1);
  assert_last_device (f, "cuda:0");

  /* A device that cannot train now: the CPU shows, with a note, and the setting stays. */
  g_settings_set_string (f->settings, "last-device", "cuda:1");
  ui_test_spin (50);
  g_assert_cmpuint (gtk_drop_down_get_selected (device), ==, 0);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog),
                                        "cuda:1 is not available now: training uses the CPU"));
  assert_last_device (f, "cuda:1");
}

/* The module is found but reports no driver: the row gives the module's reason. */
static void
test_no_driver (Fixture *f, gconstpointer data)
{
  SlPreferencesDialog *dialog;

  use_cuda_module (f, "nodriver");
  dialog = open_preferences (NULL);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "No GPU: no NVIDIA driver"));
  g_assert_cmpuint (sl_device_list_count (sl_preferences_dialog_get_devices (dialog)), ==, 1);
}

static gboolean
devices_found (gpointer devices)
{
  return !sl_devices_get_busy (devices);
}

/* One device list for the workbench: Preferences opened again shows it at
 * once, without looking again; Look Again looks again, for every window. */
static void
test_shared_list (Fixture *f, gconstpointer data)
{
  SlDevices *devices = sl_devices_get_default ();
  g_autofree char *old_dir = NULL, *old_module = NULL;
  SlPreferencesDialog *dialog;
  const sl_device_list *first;

  use_cuda_module (f, "nodriver");
  dialog = open_preferences (NULL);
  first = sl_preferences_dialog_get_devices (dialog);
  g_assert_true (first == sl_devices_get_list (devices));
  gtk_window_destroy (GTK_WINDOW (dialog));
  ui_test_spin (50);

  dialog = sl_preferences_dialog_new (NULL);
  ui_test_show_window (GTK_WINDOW (dialog));
  g_assert_false (sl_preferences_dialog_get_busy (dialog));
  g_assert_true (sl_preferences_dialog_get_devices (dialog) == first);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "No GPU: no NVIDIA driver"));

  /* A driver installed meanwhile (here: another module): Look Again finds the GPUs. */
  old_dir = g_steal_pointer (&f->module_dir);
  old_module = g_build_filename (old_dir, "libsightline-cuda.so", NULL);
  use_cuda_module (f, "gpus");
  g_assert_true (ui_test_click_button (GTK_WIDGET (dialog), "Look Again"));
  g_assert_true (sl_preferences_dialog_get_busy (dialog));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "Looking for devices"));
  g_assert_true (ui_test_wait_until (devices_found, devices, 20000));
  ui_test_spin (50);
  g_assert_false (sl_preferences_dialog_get_busy (dialog));
  g_assert_cmpuint (sl_device_list_count (sl_preferences_dialog_get_devices (dialog)), ==, 3);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "NVIDIA Fake A100 (GPU 0)"));
  g_assert_null (ui_test_find_label (GTK_WIDGET (dialog), "No GPU for training"));
  g_unlink (old_module);
  g_rmdir (old_dir);
}

/* Ctrl+comma and the primary menu's first item of its second section. */
static void
test_entry_points (Fixture *f, gconstpointer data)
{
  SlWindow *window = sl_window_new (GTK_APPLICATION (app));
  g_auto (GStrv) accels
      = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.preferences");
  GtkMenuButton *button;
  GMenuModel *menu, *section;
  g_autofree char *action = NULL;

  g_assert_true (g_strv_contains ((const char *const *) accels, "<Control>comma"));
  ui_test_show_window (GTK_WINDOW (window));
  button = GTK_MENU_BUTTON (ui_test_find_widget (GTK_WIDGET (window), GTK_TYPE_MENU_BUTTON, NULL));
  g_assert_nonnull (button);
  menu = gtk_menu_button_get_menu_model (button);
  g_assert_nonnull (menu);
  section = g_menu_model_get_item_link (menu, 1, G_MENU_LINK_SECTION);
  g_assert_nonnull (section);
  g_assert_true (
      g_menu_model_get_item_attribute (section, 0, G_MENU_ATTRIBUTE_ACTION, "s", &action));
  g_assert_cmpstr (action, ==, "app.preferences");
  g_object_unref (section);
}

static gboolean
thumbnails_done (gpointer cache)
{
  return sl_thumbnail_cache_get_pending (cache) == 0;
}

static void
on_thumbnail (GdkTexture *texture, const char *error, gpointer user_data)
{
  g_assert_nonnull (texture);
}

static gboolean
budget_is (gpointer data)
{
  gpointer *args = data;

  return sl_thumbnail_cache_get_max_bytes (args[0]) == GPOINTER_TO_SIZE (args[1]);
}

/* The dialog's Thumbnail memory reaches a running cache, which drops its oldest thumbnails. */
static void
test_thumbnail_budget (Fixture *f, gconstpointer data)
{
  g_autofree char *tmp = NULL;
  g_autoptr (SlProject) project = ui_test_fmnist_project (100, 2, &tmp);
  g_autoptr (SlThumbnailCache) cache = NULL;
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GError) error = NULL;
  SlPreferencesDialog *dialog;
  gpointer args[2];
  const SlImageInfo *newest;

  if (project == NULL)
    return;
  use_cuda_module (f, NULL);
  cache = sl_thumbnail_cache_new (sl_project_get_path (project), 256, 0);
  g_assert_cmpuint (sl_thumbnail_cache_get_max_bytes (cache), ==, (gsize) 256 << 20);
  images = sl_project_list_images (project, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (images->len, ==, 100);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *info = g_ptr_array_index (images, i);

      sl_thumbnail_cache_request (cache, info->hash, info->ext, 0, on_thumbnail, NULL);
      /* One at a time, so the LRU order is the request order. */
      g_assert_true (ui_test_wait_until (thumbnails_done, cache, 20000));
    }
  g_assert_cmpuint (sl_thumbnail_cache_get_delivered (cache), ==, 100);
  /* 28 px images fit 256 px as 252 x 252 RGBA: about 25 MB, more than 16 MB. */
  g_assert_cmpuint (sl_thumbnail_cache_get_bytes (cache), ==, (gsize) 100 * 252 * 252 * 4);

  dialog = sl_preferences_dialog_new (NULL);
  ui_test_show_window (GTK_WINDOW (dialog));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (control_for (dialog, "Thumbnail memory")), 16);
  g_assert_cmpint (g_settings_get_int (f->settings, "thumbnail-cache-mb"), ==, 16);
  args[0] = cache;
  args[1] = GSIZE_TO_POINTER ((gsize) 16 << 20);
  g_assert_true (ui_test_wait_until (budget_is, args, 5000));
  g_assert_cmpuint (sl_thumbnail_cache_get_bytes (cache), <=, (gsize) 16 << 20);
  g_assert_cmpuint (sl_thumbnail_cache_get_bytes (cache), ==,
                    (gsize) ((16 << 20) / (252 * 252 * 4)) * 252 * 252 * 4);
  /* The oldest went first: the newest is still there. */
  newest = g_ptr_array_index (images, images->len - 1);
  g_assert_nonnull (sl_thumbnail_cache_lookup (cache, newest->hash));
  g_assert_null (sl_thumbnail_cache_lookup (
      cache, ((const SlImageInfo *) g_ptr_array_index (images, 0))->hash));

  /* A cache given its own budget ignores the setting. */
  {
    g_autoptr (SlThumbnailCache) fixed
        = sl_thumbnail_cache_new (sl_project_get_path (project), 128, 1 << 20);

    g_settings_set_int (f->settings, "thumbnail-cache-mb", 512);
    args[1] = GSIZE_TO_POINTER ((gsize) 512 << 20);
    g_assert_true (ui_test_wait_until (budget_is, args, 5000));
    g_assert_cmpuint (sl_thumbnail_cache_get_max_bytes (fixed), ==, 1 << 20);
  }
  g_clear_object (&cache);
  g_clear_pointer (&project, sl_project_unref);
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  ui_test_init (&argc, &argv);
  app = sl_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add ("/ui/preferences/no-gpu", Fixture, NULL, fixture_setup, test_no_gpu,
              fixture_teardown);
  g_test_add ("/ui/preferences/gpus", Fixture, NULL, fixture_setup, test_gpus, fixture_teardown);
  g_test_add ("/ui/preferences/no-driver", Fixture, NULL, fixture_setup, test_no_driver,
              fixture_teardown);
  g_test_add ("/ui/preferences/entry-points", Fixture, NULL, fixture_setup, test_entry_points,
              fixture_teardown);
  g_test_add ("/ui/preferences/shared-list", Fixture, NULL, fixture_setup, test_shared_list,
              fixture_teardown);
  g_test_add ("/ui/preferences/thumbnail-budget", Fixture, NULL, fixture_setup,
              test_thumbnail_budget, fixture_teardown);
  return g_test_run ();
}
