/* test-ui-dataset.c: the Dataset page under Xvfb: browsing, filters, thumbnails, key labeling with undo, import, classes and splits. */
#include <glib/gstdio.h>
#include <string.h>

#include "sl-class-list.h"
#include "sl-dataset-page.h"
#include "sl-image-details.h"
#include "sl-image-list.h"
#include "sl-import-dialog.h"
#include "sl-session.h"
#include "sl-split-dialog.h"
#include "sl-thumbnail-cache.h"
#include "ui-test-util.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlDatasetPage *page;
  GtkWindow *window;
  char *broken_hash;
} Fixture;

/* A page on a project of n Fashion-MNIST images of 4 classes, in a 1280 x 800
 * window; prepare (may be NULL) edits the project before the page opens. */
static gboolean
open_page_with (Fixture *f, int n, void (*prepare) (Fixture *f))
{
  f->project = ui_test_fmnist_project (n, 4, &f->tmp);
  if (f->project == NULL)
    return FALSE;
  if (prepare != NULL)
    prepare (f);
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_DATASET_PAGE (sl_dataset_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  return TRUE;
}

static gboolean
open_page (Fixture *f, int n)
{
  return open_page_with (f, n, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->broken_hash);
}

static gboolean
page_loaded (gpointer data)
{
  Fixture *f = data;
  SlImageList *images = sl_dataset_page_get_image_list (f->page);

  return !sl_image_list_get_loading (images) && !sl_image_list_get_view_busy (images);
}

static guint
n_shown (Fixture *f)
{
  return g_list_model_get_n_items (G_LIST_MODEL (sl_dataset_page_get_selection (f->page)));
}

static SlImageObject *
shown_item (Fixture *f, guint position)
{
  return g_list_model_get_item (G_LIST_MODEL (sl_dataset_page_get_selection (f->page)), position);
}

static gboolean
thumbnails_in (gpointer data)
{
  Fixture *f = data;
  SlThumbnailCache *cache = sl_dataset_page_get_thumbnail_cache (f->page);

  return sl_thumbnail_cache_get_delivered (cache) >= 20
         && sl_thumbnail_cache_get_pending (cache) == 0;
}

static gboolean
preview_ready (gpointer data)
{
  Fixture *f = data;

  return sl_image_details_get_preview_ready (sl_dataset_page_get_details (f->page));
}

static gint64
class_with_shortcut (Fixture *f, const char *key)
{
  const SlClass *klass
      = sl_image_list_find_shortcut (sl_dataset_page_get_image_list (f->page), key);

  g_assert_nonnull (klass);
  return klass->id;
}

static gint64
stored_class (Fixture *f, gint64 id)
{
  g_autoptr (GError) error = NULL;
  SlImageInfo *info = sl_project_get_image (f->project, id, &error);
  gint64 class_id;

  g_assert_no_error (error);
  class_id = info->class_id;
  sl_image_info_free (info);
  return class_id;
}

/* Image 2 is ignored, image 5 unlabelled, and image 4's stored copy is gone. */
static void
prepare_browse (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) stored = sl_project_list_images (f->project, NULL, &error);
  const SlImageInfo *gone = g_ptr_array_index (stored, 3);
  g_autofree char *path = sl_project_image_path (f->project, gone->hash, gone->ext);
  gint64 ignored = 2, unlabelled = 5;

  g_assert_true (sl_project_set_ignored (f->project, &ignored, 1, TRUE, &error));
  g_assert_true (sl_project_set_labels (f->project, &unlabelled, 1, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_unlink (path), ==, 0);
  f->broken_hash = g_strdup (gone->hash);
}

/* The grid shows every image, filters narrow it, thumbnails arrive (a missing
 * file shows as broken), a selection has a preview. */
static void
test_browse (Fixture *f, gconstpointer data)
{
  SlImageList *images;
  SlClassList *classes;
  SlThumbnailCache *cache;
  gint64 coat;

  if (!open_page_with (f, 200, prepare_browse))
    return;
  cache = sl_dataset_page_get_thumbnail_cache (f->page);
  images = sl_dataset_page_get_image_list (f->page);
  classes = sl_dataset_page_get_class_list (f->page);
  g_assert_true (ui_test_wait_until (page_loaded, f, 10000));
  g_assert_cmpuint (n_shown (f), ==, 200);
  g_assert_cmpstr (sl_dataset_page_get_view_state (f->page), ==, "grid");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "200 images"));

  /* A class in the sidebar narrows the grid to its images. */
  coat = class_with_shortcut (f, "4");
  sl_class_list_set_scope (classes, coat);
  g_assert_cmpuint (n_shown (f), ==, sl_image_list_count (images, coat));
  g_assert_cmpuint (n_shown (f), >, 0);
  g_assert_cmpuint (n_shown (f), <, 200);
  for (guint i = 0; i < n_shown (f); i++)
    {
      g_autoptr (SlImageObject) item = shown_item (f, i);
      g_assert_cmpint (sl_image_object_get_class_id (item), ==, coat);
    }
  /* One image has no label, one is ignored. */
  sl_class_list_set_scope (classes, SL_IMAGE_SCOPE_UNLABELED);
  g_assert_cmpuint (n_shown (f), ==, 1);
  sl_class_list_set_scope (classes, SL_IMAGE_SCOPE_IGNORED);
  g_assert_cmpuint (n_shown (f), ==, 1);
  {
    g_autoptr (SlImageObject) item = shown_item (f, 0);
    g_assert_cmpint (sl_image_object_get_id (item), ==, 2);
  }
  gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.show-all", NULL);
  g_assert_cmpuint (n_shown (f), ==, 200);

  /* Search by file name (case-insensitive). */
  sl_image_list_set_search (images, "IMG-0000");
  g_assert_cmpuint (n_shown (f), >, 0);
  g_assert_cmpuint (n_shown (f), <, 20);
  sl_image_list_set_search (images, "no such file");
  g_assert_cmpstr (sl_dataset_page_get_view_state (f->page), ==, "no-matches");
  sl_image_list_set_search (images, NULL);
  /* Only the validation split. */
  sl_image_list_set_split_filter (images, SL_SPLIT_VAL);
  g_assert_cmpuint (n_shown (f), >, 10);
  g_assert_cmpuint (n_shown (f), <, 60);
  sl_image_list_set_split_filter (images, -1);

  /* Sorting by class groups the classes in sidebar order, unlabelled last. */
  sl_image_list_set_sort (images, SL_IMAGE_SORT_CLASS);
  g_assert_true (ui_test_wait_until (page_loaded, f, 5000));
  {
    g_autoptr (SlImageObject) first = shown_item (f, 0);
    g_autoptr (SlImageObject) before_last = shown_item (f, 198);
    g_autoptr (SlImageObject) last = shown_item (f, 199);
    GPtrArray *list = sl_image_list_get_classes (images);

    g_assert_cmpint (sl_image_object_get_class_id (first), ==,
                     ((SlClass *) g_ptr_array_index (list, 0))->id);
    g_assert_cmpint (sl_image_object_get_class_id (before_last), ==,
                     ((SlClass *) g_ptr_array_index (list, list->len - 1))->id);
    g_assert_cmpint (sl_image_object_get_class_id (last), ==, -1);
  }
  sl_image_list_set_sort (images, SL_IMAGE_SORT_DATE);

  /* Thumbnails arrive from the worker pool; the missing file is marked broken. */
  g_assert_true (ui_test_wait_until (thumbnails_in, f, 20000));
  g_assert_nonnull (sl_thumbnail_cache_lookup_failure (cache, f->broken_hash));
  g_assert_null (sl_thumbnail_cache_lookup_failure (
      cache, sl_image_object_get_hash (sl_image_list_lookup (images, 1))));
  g_assert_nonnull (sl_thumbnail_cache_lookup (
      cache, sl_image_object_get_hash (sl_image_list_lookup (images, 1))));
  g_assert_cmpuint (sl_thumbnail_cache_get_bytes (cache), >, 0);

  /* Selecting shows the preview and the facts. */
  {
    g_autoptr (SlImageObject) third = shown_item (f, 2);

    sl_dataset_page_select_image (f->page, sl_image_object_get_id (third));
    g_assert_cmpint (sl_dataset_page_get_selected_image (f->page), ==,
                     sl_image_object_get_id (third));
    g_assert_true (ui_test_wait_until (preview_ready, f, 5000));
    g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), sl_image_object_get_name (third)));
    g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "28 × 28 px"));
  }
  ui_test_spin (300);
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "dataset"));
}

/* Keys label the selection, the next unlabelled image follows, undo restores the stored label. */
static void
test_label_keys (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  SlImageList *images;
  gint64 ids[3], trouser;
  GtkWidget *page;

  if (!open_page (f, 120))
    return;
  page = GTK_WIDGET (f->page);
  images = sl_dataset_page_get_image_list (f->page);
  g_assert_true (ui_test_wait_until (page_loaded, f, 10000));
  /* Clear the labels of images 10, 11 and 20 (in view order). */
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (SlImageObject) item = shown_item (f, i == 2 ? 20 : 10 + i);
      ids[i] = sl_image_object_get_id (item);
    }
  g_assert_true (sl_session_set_labels (f->session, ids, 3, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sl_image_list_count (images, SL_IMAGE_SCOPE_UNLABELED), ==, 3);
  g_assert_cmpint (sl_image_object_get_class_id (sl_image_list_lookup (images, ids[0])), ==, -1);

  /* With nothing selected the labeling actions are off. */
  g_assert_cmpint (sl_dataset_page_get_selected_image (f->page), ==, -1);
  gtk_widget_activate_action (page, "dataset.label-key", "s", "2");
  g_assert_cmpint (sl_image_list_count (images, SL_IMAGE_SCOPE_UNLABELED), ==, 3);

  /* Select the first unlabelled image and press 2. */
  trouser = class_with_shortcut (f, "2");
  sl_dataset_page_select_image (f->page, ids[0]);
  g_assert_cmpint (sl_dataset_page_get_selected_image (f->page), ==, ids[0]);
  g_assert_true (gtk_widget_activate_action (page, "dataset.label-key", "s", "2"));
  g_assert_cmpint (stored_class (f, ids[0]), ==, trouser);
  g_assert_cmpint (sl_image_object_get_class_id (sl_image_list_lookup (images, ids[0])), ==,
                   trouser);
  /* The next unlabelled image is selected. */
  g_assert_cmpint (sl_dataset_page_get_selected_image (f->page), ==, ids[1]);
  ui_test_spin (100);
  /* The grid's keyboard focus followed, so arrow keys go on from there. */
  {
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (f->window));
    g_assert_nonnull (focus);
    g_assert_true (gtk_widget_is_ancestor (focus, sl_dataset_page_get_grid (f->page)));
  }
  /* Press 3 on it; then the last unlabelled one is next (ids[2]), then wrap: none left. */
  g_assert_true (gtk_widget_activate_action (page, "dataset.label-key", "s", "3"));
  g_assert_cmpint (stored_class (f, ids[1]), ==, class_with_shortcut (f, "3"));
  g_assert_cmpint (sl_dataset_page_get_selected_image (f->page), ==, ids[2]);

  /* I ignores, I again includes; 0 clears a label. */
  g_assert_true (gtk_widget_activate_action (page, "dataset.toggle-ignored", NULL));
  {
    SlImageInfo *info = sl_project_get_image (f->project, ids[2], &error);
    g_assert_true (info->ignored);
    sl_image_info_free (info);
  }
  g_assert_true (sl_image_object_get_ignored (sl_image_list_lookup (images, ids[2])));
  g_assert_cmpint (sl_image_list_count (images, SL_IMAGE_SCOPE_IGNORED), ==, 1);
  sl_dataset_page_select_image (f->page, ids[0]);
  g_assert_true (gtk_widget_activate_action (page, "dataset.label-key", "s", "0"));
  g_assert_cmpint (stored_class (f, ids[0]), ==, -1);

  /* Undo restores the stored labels and the items follow. */
  g_assert_true (sl_session_undo (f->session, &error)); /* the clear */
  g_assert_cmpint (stored_class (f, ids[0]), ==, trouser);
  g_assert_true (sl_session_undo (f->session, &error)); /* the ignore */
  g_assert_true (sl_session_undo (f->session, &error)); /* the 3 */
  g_assert_true (sl_session_undo (f->session, &error)); /* the 2 */
  g_assert_no_error (error);
  g_assert_cmpint (stored_class (f, ids[0]), ==, -1);
  g_assert_cmpint (stored_class (f, ids[1]), ==, -1);
  g_assert_cmpint (sl_image_object_get_class_id (sl_image_list_lookup (images, ids[0])), ==, -1);
  g_assert_false (sl_image_object_get_ignored (sl_image_list_lookup (images, ids[2])));
  g_assert_cmpint (sl_image_list_count (images, SL_IMAGE_SCOPE_UNLABELED), ==, 3);

  /* In the "Unlabeled" scope a labelled image leaves the view and the next takes its place. */
  sl_class_list_set_scope (sl_dataset_page_get_class_list (f->page), SL_IMAGE_SCOPE_UNLABELED);
  g_assert_cmpuint (n_shown (f), ==, 3);
  sl_dataset_page_select_image (f->page, ids[0]);
  g_assert_true (gtk_widget_activate_action (page, "dataset.label", "x", trouser));
  g_assert_cmpuint (n_shown (f), ==, 2);
  g_assert_cmpint (sl_dataset_page_get_selected_image (f->page), ==, ids[1]);

  /* Several at once: select all, move them to the test split from the context menu. */
  gtk_selection_model_select_all (sl_dataset_page_get_selection (f->page));
  g_assert_true (gtk_widget_activate_action (page, "dataset.context-menu", NULL));
  ui_test_spin (100);
  {
    GtkWidget *menu = gtk_widget_get_last_child (page); /* the page's own popover */

    g_assert_true (GTK_IS_POPOVER_MENU (menu));
    g_assert_true (gtk_widget_get_visible (menu));
    gtk_popover_popdown (GTK_POPOVER (menu));
  }
  g_assert_true (gtk_widget_activate_action (page, "dataset.move-to-split", "s", "test"));
  {
    SlImageInfo *info = sl_project_get_image (f->project, ids[2], &error);
    g_assert_cmpint (info->split, ==, SL_SPLIT_TEST);
    sl_image_info_free (info);
  }
  g_assert_cmpint (sl_image_object_get_split (sl_image_list_lookup (images, ids[1])), ==,
                   SL_SPLIT_TEST);
}

static gboolean
dialog_in_state (gpointer data)
{
  gpointer *args = data;

  return (int) sl_import_dialog_get_state (args[0]) == GPOINTER_TO_INT (args[1]);
}

static void
wait_dialog_state (SlImportDialog *dialog, SlImportState state)
{
  gpointer args[] = { dialog, GINT_TO_POINTER (state) };

  g_assert_true (ui_test_wait_until (dialog_in_state, args, 60000));
}

/* An empty project shows what to do; importing a messy folder fills it and reports what was skipped. */
static void
test_import (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = NULL, *path = NULL, *corrupt = NULL, *copy = NULL, *first = NULL;
  g_autoptr (GFile) folder = NULL;
  g_autoptr (GDir) dir = NULL;
  SlImportDialog *dialog;
  const SlImportResult *r;
  int n;

  f->tmp = ui_test_make_tmp ();
  src = g_build_filename (f->tmp, "parts", NULL);
  if ((n = ui_test_write_fmnist_tree (src, 60, 3, "part")) < 0)
    return;
  /* A corrupt PNG and a copy of a good one. */
  corrupt = g_build_filename (src, "t-shirt", "broken.png", NULL);
  g_assert_true (g_file_set_contents (corrupt, "\x89PNG\r\n\x1a\n not really", -1, NULL));
  path = g_build_filename (src, "trouser", NULL);
  dir = g_dir_open (path, 0, NULL);
  first = g_build_filename (path, g_dir_read_name (dir), NULL);
  copy = g_build_filename (src, "pullover", "zz-copy.png", NULL);
  {
    g_autofree char *bytes = NULL;
    gsize len;

    g_assert_true (g_file_get_contents (first, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (copy, bytes, len, NULL));
  }
  g_free (path);
  path = g_build_filename (f->tmp, "project", NULL);
  f->project = sl_project_create (path, "Parts", &error);
  g_assert_no_error (error);
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_DATASET_PAGE (sl_dataset_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  g_assert_true (ui_test_wait_until (page_loaded, f, 10000));
  g_assert_cmpstr (sl_dataset_page_get_view_state (f->page), ==, "empty");
  g_assert_nonnull (
      ui_test_find_label (GTK_WIDGET (f->page), "Import a folder or drop images here"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "dataset-empty"));

  /* What the Import button does once the folder is chosen. */
  folder = g_file_new_for_path (src);
  dialog = sl_dataset_page_import (f->page, &folder, 1);
  wait_dialog_state (dialog, SL_IMPORT_STATE_READY);
  g_assert_true (sl_import_dialog_get_labels_from_folders (dialog)); /* it has sub-folders */
  sl_import_dialog_start (dialog);
  wait_dialog_state (dialog, SL_IMPORT_STATE_DONE);
  r = sl_import_dialog_get_result (dialog);
  g_assert_null (sl_import_dialog_get_error (dialog));
  g_assert_cmpint (r->added, ==, n);
  g_assert_cmpint (r->duplicates, ==, 1);
  g_assert_cmpint (r->unreadable, ==, 1);
  g_assert_cmpint (r->classes_created, ==, 3);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "broken.png"));
  ui_test_spin (200);
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "import-summary"));
  gtk_window_close (GTK_WINDOW (dialog));

  /* The page reloads in the background and shows the new images and classes. */
  g_assert_true (ui_test_wait_until (page_loaded, f, 10000));
  for (int i = 0; i < 100 && n_shown (f) < (guint) n; i++)
    ui_test_spin (50);
  g_assert_cmpuint (n_shown (f), ==, n);
  g_assert_cmpuint (sl_image_list_get_classes (sl_dataset_page_get_image_list (f->page))->len, ==,
                    3);
  g_assert_cmpstr (sl_dataset_page_get_view_state (f->page), ==, "grid");
}

/* The newest toplevel other than the page's window (a dialog). */
static GtkWidget *
find_window_with (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = n; i > 0; i--)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, i - 1);

      if (!SL_IS_DATASET_PAGE (gtk_window_get_child (GTK_WINDOW (window)))
          && ui_test_find_widget (window, type, NULL) != NULL)
        return window;
    }
  g_assert_not_reached ();
  return NULL;
}

/* Adding, then deleting a class through the dialog that asks what to do with its images. */
static void
test_classes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  SlClassList *classes;
  SlImageList *images;
  GtkWindow *dialog;
  GtkWidget *unlabel;
  gint64 added, coat;
  gint64 n_coat;

  if (!open_page (f, 120))
    return;
  images = sl_dataset_page_get_image_list (f->page);
  classes = sl_dataset_page_get_class_list (f->page);
  g_assert_true (ui_test_wait_until (page_loaded, f, 10000));

  added = sl_class_list_add_class (classes, "  scratch ", "#cc3333", &error);
  g_assert_no_error (error);
  g_assert_nonnull (sl_image_list_find_class (images, added));
  g_assert_cmpstr (sl_image_list_find_class (images, added)->name, ==, "scratch");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (classes), "scratch"));
  g_assert_cmpint (sl_class_list_add_class (classes, "scratch", NULL, &error), <, 0);
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_EXISTS);
  g_clear_error (&error);

  /* Rename through the sidebar's dialog. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (classes), "classes.rename", "x", added));
  ui_test_spin (100);
  {
    GtkWidget *dialog_root = find_window_with (GTK_TYPE_ENTRY);
    GtkWidget *entry = ui_test_find_widget (dialog_root, GTK_TYPE_ENTRY, NULL);
    GtkWidget *rename = ui_test_find_widget (dialog_root, GTK_TYPE_BUTTON, "_Rename");

    gtk_editable_set_text (GTK_EDITABLE (entry), "scratches");
    g_signal_emit_by_name (rename, "clicked");
  }
  g_assert_cmpstr (sl_image_list_find_class (images, added)->name, ==, "scratches");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (classes), "scratches"));

  /* Merge the new (empty) class into the first one: it goes away. */
  {
    gint64 first = ((SlClass *) g_ptr_array_index (sl_image_list_get_classes (images), 0))->id;
    GtkWidget *merge;

    g_assert_true (
        gtk_widget_activate_action (GTK_WIDGET (classes), "classes.merge", "(xx)", added, first));
    ui_test_spin (100);
    merge = ui_test_find_widget (find_window_with (GTK_TYPE_BUTTON), GTK_TYPE_BUTTON, "_Merge");
    g_assert_nonnull (merge);
    g_signal_emit_by_name (merge, "clicked");
    g_assert_null (sl_image_list_find_class (images, added));
  }

  coat = class_with_shortcut (f, "4");
  n_coat = sl_image_list_count (images, coat);
  g_assert_cmpint (n_coat, >, 0);
  dialog = sl_class_list_show_delete_dialog (classes, coat);
  g_assert_nonnull (dialog);
  ui_test_show_window (dialog);
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "class-delete"));
  unlabel = ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, "_Unlabel Images");
  g_assert_nonnull (unlabel);
  g_signal_emit_by_name (unlabel, "clicked");
  /* The class is gone; its images stay, unlabelled, in the project and on the page. */
  g_assert_null (sl_image_list_find_class (images, coat));
  for (int i = 0; i < 100 && sl_image_list_count (images, SL_IMAGE_SCOPE_UNLABELED) < n_coat; i++)
    ui_test_spin (50);
  g_assert_cmpint (sl_image_list_count (images, SL_IMAGE_SCOPE_UNLABELED), ==, n_coat);
  g_assert_cmpint (sl_image_list_count (images, SL_IMAGE_SCOPE_ALL), ==, 120);
  {
    g_autoptr (GPtrArray) stored = sl_project_list_images (f->project, NULL, &error);
    gint64 unlabelled = 0;

    for (guint i = 0; i < stored->len; i++)
      unlabelled += ((SlImageInfo *) g_ptr_array_index (stored, i))->class_id < 0;
    g_assert_cmpint (unlabelled, ==, n_coat);
  }
}

static gboolean
split_idle (gpointer data)
{
  return !sl_split_dialog_get_busy (data);
}

static void
split_counts (SlProject *project, gint64 counts[4])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) stored = sl_project_list_images (project, NULL, &error);

  memset (counts, 0, 4 * sizeof (gint64));
  for (guint i = 0; i < stored->len; i++)
    counts[((SlImageInfo *) g_ptr_array_index (stored, i))->split]++;
}

/* Re-splitting 50/25/25 with another seed changes the stored splits, and the page follows. */
static void
test_split (Fixture *f, gconstpointer data)
{
  SlSplitDialog *dialog;
  SlImageList *images;
  gint64 before[4], after[4], train_items = 0;

  if (!open_page (f, 200))
    return;
  images = sl_dataset_page_get_image_list (f->page);
  g_assert_true (ui_test_wait_until (page_loaded, f, 10000));
  split_counts (f->project, before);
  dialog = sl_dataset_page_open_split_dialog (f->page);
  g_assert_true (ui_test_wait_until (split_idle, dialog, 10000));
  sl_split_dialog_set_values (dialog, 60, 30, 30, 7, TRUE);
  g_assert_false (sl_split_dialog_get_valid (dialog));
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "must add up to 100"));
  sl_split_dialog_set_values (dialog, 50, 25, 25, 7, TRUE);
  g_assert_true (sl_split_dialog_get_valid (dialog));
  sl_split_dialog_apply (dialog);
  g_assert_true (ui_test_wait_until (split_idle, dialog, 10000));
  g_assert_cmpint (sl_split_dialog_get_assigned (dialog), ==, 200);
  split_counts (f->project, after);
  g_assert_cmpint (before[SL_SPLIT_TRAIN], >, after[SL_SPLIT_TRAIN]);
  g_assert_cmpint (after[SL_SPLIT_TRAIN], >=, 90);
  g_assert_cmpint (after[SL_SPLIT_TRAIN], <=, 110);
  g_assert_cmpint (after[SL_SPLIT_VAL], >=, 40);
  g_assert_cmpint (after[SL_SPLIT_TEST], >=, 40);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (dialog), "New Split"));
  g_free (ui_test_save_screenshot (GTK_WIDGET (dialog), "dataset-split"));
  /* The page's items follow (labels-changed for every image reloads in the background). */
  for (int tries = 0; tries < 200; tries++)
    {
      train_items = 0;
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (images)); i++)
        {
          g_autoptr (SlImageObject) item = g_list_model_get_item (G_LIST_MODEL (images), i);
          train_items += sl_image_object_get_split (item) == SL_SPLIT_TRAIN;
        }
      if (train_items == after[SL_SPLIT_TRAIN])
        break;
      ui_test_spin (50);
    }
  g_assert_cmpint (train_items, ==, after[SL_SPLIT_TRAIN]);
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add ("/ui/dataset/browse", Fixture, NULL, NULL, test_browse, fixture_teardown);
  g_test_add ("/ui/dataset/label-keys", Fixture, NULL, NULL, test_label_keys, fixture_teardown);
  g_test_add ("/ui/dataset/import", Fixture, NULL, NULL, test_import, fixture_teardown);
  g_test_add ("/ui/dataset/classes", Fixture, NULL, NULL, test_classes, fixture_teardown);
  g_test_add ("/ui/dataset/split", Fixture, NULL, NULL, test_split, fixture_teardown);
  return g_test_run ();
}
