/* sl-export-page-results.c: the Export page's "Try it" list: thumbnails or heatmaps, predictions with class colours (or anomaly scores), confidence bars, sorting and drops. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-color-swatch.h"
#include "sl-export-page-private.h"
#include "sl-checkerboard.h"
#include "sl-try-result.h"

/* ---- The list ----------------------------------------------------------------------------- */

static const char *
class_color (SlExportPage *self, const char *label)
{
  const char *color = NULL;

  if (self->details != NULL && label != NULL)
    color = g_hash_table_lookup (self->details->colors, label);
  return color != NULL ? color : "#9a9996"; /* a class renamed since: grey, not hollow */
}

static GtkWidget *
caption_label (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_add_css_class (label, "caption");
  return label;
}

/* The thumbnail, or a broken-image sign for files that could not be read. */
static void
setup_image (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name ("image-missing-symbolic");

  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_widget_set_size_request (picture, SL_EXPORT_TRY_THUMB_SIZE, SL_EXPORT_TRY_THUMB_SIZE);
  gtk_widget_add_css_class (picture, "sl-try-thumb");
  gtk_image_set_pixel_size (GTK_IMAGE (icon), 24);
  gtk_widget_add_css_class (icon, "sl-try-broken");
  gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), icon);
  gtk_list_item_set_child (item, overlay);
}

static void
bind_image (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  SlExportPage *self = data;
  SlTryResult *r = gtk_list_item_get_item (item);
  GtkWidget *picture = gtk_overlay_get_child (GTK_OVERLAY (gtk_list_item_get_child (item)));
  GtkWidget *icon = gtk_widget_get_next_sibling (picture);
  /* With the toggle on: the heatmap over the image as the model sees it, where there is one. */
  GdkTexture *thumbnail
      = sl_export_page_get_show_heatmap (self) && sl_try_result_get_overlay (r) != NULL
            ? sl_try_result_get_overlay (r)
            : sl_try_result_get_thumbnail (r);
  g_autoptr (GdkPaintable) shown = sl_checkerboard_paintable_new (thumbnail);

  gtk_picture_set_paintable (GTK_PICTURE (picture), shown); /* transparency on a checkerboard */
  if (thumbnail != NULL)
    gtk_widget_remove_css_class (picture, "sl-try-no-image");
  else
    gtk_widget_add_css_class (picture, "sl-try-no-image");
  gtk_widget_set_visible (icon, thumbnail == NULL);
}

static void
setup_file (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *detail = caption_label ();

  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
  /* A decoder's reason may need two lines. */
  gtk_label_set_wrap (GTK_LABEL (detail), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (detail), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_lines (GTK_LABEL (detail), 2);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_list_item_set_child (item, box);
}

static void
bind_file (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  SlTryResult *r = gtk_list_item_get_item (item);
  GtkWidget *name = gtk_widget_get_first_child (gtk_list_item_get_child (item));
  GtkWidget *detail = gtk_widget_get_next_sibling (name);
  const char *error = sl_try_result_get_error (r);
  g_autofree char *dir = g_path_get_dirname (sl_try_result_get_path (r));
  g_autofree char *folder = g_path_get_basename (dir);
  g_autofree char *folder_display = g_filename_display_name (folder);
  g_autofree char *in = g_strdup_printf ("in %s", folder_display);

  gtk_label_set_text (GTK_LABEL (name), sl_try_result_get_name (r));
  gtk_widget_set_tooltip_text (name, sl_try_result_get_path (r));
  gtk_label_set_text (GTK_LABEL (detail), error != NULL ? error : in);
  gtk_widget_set_tooltip_text (detail, error);
}

static void
setup_prediction (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *swatch = sl_color_swatch_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (icon, "warning");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (top), swatch);
  gtk_box_append (GTK_BOX (top), icon);
  gtk_box_append (GTK_BOX (top), label);
  gtk_box_append (GTK_BOX (box), top);
  gtk_box_append (GTK_BOX (box), caption_label ());
  gtk_list_item_set_child (item, box);
}

static void
bind_prediction (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  SlExportPage *self = data;
  SlTryResult *r = gtk_list_item_get_item (item);
  GtkWidget *top = gtk_widget_get_first_child (gtk_list_item_get_child (item));
  GtkWidget *caption = gtk_widget_get_next_sibling (top);
  GtkWidget *swatch = gtk_widget_get_first_child (top);
  GtkWidget *icon = gtk_widget_get_next_sibling (swatch);
  GtkWidget *label = gtk_widget_get_next_sibling (icon);
  const char *predicted = sl_try_result_get_label (r);
  double runner_confidence = 0;
  const char *runner = sl_try_result_get_runner_up (r, &runner_confidence);
  g_autofree char *detail = NULL, *tip = NULL;
  double score, threshold;

  gtk_widget_set_visible (swatch, predicted != NULL);
  gtk_widget_set_visible (icon, predicted == NULL);
  gtk_widget_remove_css_class (label, "sl-try-unknown");
  gtk_widget_remove_css_class (label, "sl-try-anomalous");
  gtk_widget_remove_css_class (label, "sl-try-good");
  if (predicted == NULL)
    {
      gtk_label_set_text (GTK_LABEL (label), "Could not read");
    }
  else if (sl_try_result_is_anomaly_model (r) && sl_try_result_get_anomaly (r, &score, &threshold))
    {
      gboolean anomalous = sl_try_result_get_anomalous (r);

      /* A decision, not a class: no swatch, the word in the colour of what it means. */
      gtk_widget_set_visible (swatch, FALSE);
      gtk_label_set_text (GTK_LABEL (label), anomalous ? "Anomalous" : "Good");
      gtk_widget_add_css_class (label, anomalous ? "sl-try-anomalous" : "sl-try-good");
      detail = g_strdup_printf ("threshold %.4g", threshold);
    }
  else if (sl_try_result_get_rejected (r) && sl_try_result_get_anomalous (r)
           && sl_try_result_get_anomaly (r, &score, &threshold))
    {
      sl_color_swatch_set_color (SL_COLOR_SWATCH (swatch), NULL);
      gtk_label_set_text (GTK_LABEL (label), "Unknown");
      gtk_widget_add_css_class (label, "sl-try-unknown");
      /* The caption is narrow: the whole reason on hover. */
      detail = g_strdup ("not seen in training");
      tip = g_strdup_printf ("Unlike anything the model was trained on: the anomaly gate scores it "
                             "%.3g, above its threshold %.3g. Best guess: %s.",
                             score, threshold, predicted);
    }
  else if (sl_try_result_get_rejected (r))
    {
      sl_color_swatch_set_color (SL_COLOR_SWATCH (swatch), NULL);
      gtk_label_set_text (GTK_LABEL (label), "Unknown");
      gtk_widget_add_css_class (label, "sl-try-unknown");
      detail = g_strdup_printf ("best guess %s", predicted);
    }
  else
    {
      sl_color_swatch_set_color (SL_COLOR_SWATCH (swatch), class_color (self, predicted));
      gtk_label_set_text (GTK_LABEL (label), predicted);
      if (runner != NULL && runner_confidence >= 0.01)
        detail = g_strdup_printf ("next: %s %.0f %%", runner, 100.0 * runner_confidence);
    }
  gtk_label_set_text (GTK_LABEL (caption), detail != NULL ? detail : "");
  gtk_widget_set_visible (caption, detail != NULL);
  gtk_widget_set_tooltip_text (gtk_list_item_get_child (item), tip);
}

static void
setup_confidence (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 9);
  GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
  GtkWidget *percent = gtk_label_new (NULL);

  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_widget_set_size_request (bar, 80, -1);
  gtk_widget_set_hexpand (bar, TRUE);
  gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
  gtk_label_set_xalign (GTK_LABEL (percent), 1);
  gtk_label_set_width_chars (GTK_LABEL (percent), 5);
  gtk_widget_add_css_class (percent, "numeric");
  gtk_box_append (GTK_BOX (box), bar);
  gtk_box_append (GTK_BOX (box), percent);
  gtk_list_item_set_child (item, box);
}

static void
bind_confidence (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  SlTryResult *r = gtk_list_item_get_item (item);
  GtkWidget *bar = gtk_widget_get_first_child (gtk_list_item_get_child (item));
  GtkWidget *percent = gtk_widget_get_next_sibling (bar);
  gboolean ok = sl_try_result_get_label (r) != NULL;
  double score, threshold;
  g_autofree char *text = NULL;

  gtk_widget_set_visible (bar, ok);
  gtk_widget_set_visible (percent, ok);
  if (sl_try_result_is_anomaly_model (r) && sl_try_result_get_anomaly (r, &score, &threshold))
    {
      /* The score on a bar whose middle is the threshold: past half means anomalous. */
      text = g_strdup_printf ("%.3g", score);
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), isfinite (threshold) && threshold > 0
                                                        ? CLAMP (score / (2 * threshold), 0, 1)
                                                        : 0);
      gtk_widget_set_tooltip_text (bar, "The middle of the bar is the threshold");
    }
  else
    {
      text = g_strdup_printf ("%.0f %%", 100.0 * sl_try_result_get_confidence (r));
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), sl_try_result_get_confidence (r));
      gtk_widget_set_tooltip_text (bar, NULL);
    }
  if (sl_try_result_get_rejected (r) || sl_try_result_get_anomalous (r))
    gtk_widget_add_css_class (bar, "sl-try-rejected");
  else
    gtk_widget_remove_css_class (bar, "sl-try-rejected");
  gtk_label_set_text (GTK_LABEL (percent), text);
}

/* Sorting: unreadable images sort as the least confident (the lowest score); anomaly runs
 * sort by score. */
static double
sort_confidence (SlTryResult *r)
{
  double score;

  if (sl_try_result_get_label (r) == NULL)
    return -G_MAXDOUBLE;
  if (sl_try_result_is_anomaly_model (r) && sl_try_result_get_anomaly (r, &score, NULL))
    return score;
  return sl_try_result_get_confidence (r);
}

static int
compare_confidence (gconstpointer a, gconstpointer b, gpointer data)
{
  double x = sort_confidence ((SlTryResult *) a), y = sort_confidence ((SlTryResult *) b);
  return x < y ? -1 : x > y;
}

static int
compare_name (gconstpointer a, gconstpointer b, gpointer data)
{
  return g_utf8_collate (sl_try_result_get_path ((SlTryResult *) a),
                         sl_try_result_get_path ((SlTryResult *) b));
}

static const char *
sort_label (SlTryResult *r)
{
  if (sl_try_result_get_label (r) == NULL)
    return "\xff"; /* last */
  return sl_try_result_get_rejected (r) ? "Unknown" : sl_try_result_get_label (r);
}

static int
compare_label (gconstpointer a, gconstpointer b, gpointer data)
{
  int order = g_strcmp0 (sort_label ((SlTryResult *) a), sort_label ((SlTryResult *) b));
  return order != 0 ? order : compare_confidence (a, b, NULL);
}

static GtkColumnViewColumn *
add_column (SlExportPage *self, const char *title, GCallback setup, GCallback bind,
            GCompareDataFunc compare, gboolean expand, int width)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;

  g_signal_connect (factory, "setup", setup, self);
  g_signal_connect (factory, "bind", bind, self);
  column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (column, expand);
  if (width > 0)
    gtk_column_view_column_set_fixed_width (column, width);
  if (compare != NULL)
    gtk_column_view_column_set_sorter (column,
                                       GTK_SORTER (gtk_custom_sorter_new (compare, NULL, NULL)));
  gtk_column_view_append_column (self->results_view, column);
  g_object_unref (column);
  return column; /* the view holds it */
}

void
_sl_export_page_show_result_kind (SlExportPage *self, gboolean anomaly)
{
  gtk_column_view_column_set_title (self->prediction_column, anomaly ? "Decision" : "Prediction");
  gtk_column_view_column_set_title (self->confidence_column, anomaly ? "Score" : "Confidence");
  gtk_check_button_set_label (self->heatmap_check,
                              anomaly ? "Show heatmap" : "Show what drove the decision");
  gtk_widget_set_tooltip_text (
      GTK_WIDGET (self->heatmap_check),
      anomaly ? "Colours each image where it is unlike the good parts (its anomaly map), over the "
                "image as the model sees it"
              : "Colours each image by how much each region drove the predicted class "
                "(Grad-CAM), over the image as the model sees it");
  _sl_export_page_refresh_results (self);
}

void
_sl_export_page_refresh_results (SlExportPage *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->results));

  /* Every row binds again: its picture (heatmap or image) and its words. */
  if (n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self->results), 0, n, n);
  if (self->selection != NULL && self->preview_box != NULL)
    _sl_export_page_update_preview (self); /* the heatmap is made (or dropped) for it */
}

gboolean
sl_export_page_get_show_heatmap (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), FALSE);
  return gtk_check_button_get_active (self->heatmap_check);
}

void
sl_export_page_set_show_heatmap (SlExportPage *self, gboolean show)
{
  g_return_if_fail (SL_IS_EXPORT_PAGE (self));
  gtk_check_button_set_active (self->heatmap_check, show);
}

GtkCheckButton *
sl_export_page_get_heatmap_toggle (SlExportPage *self)
{
  g_return_val_if_fail (SL_IS_EXPORT_PAGE (self), NULL);
  return self->heatmap_check;
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, SlExportPage *self)
{
  GSList *list = g_value_get_boxed (value);
  g_autoptr (GPtrArray) files = g_ptr_array_new ();

  if (self->try_job != NULL || self->run_id < 0)
    return FALSE;
  for (GSList *l = list; l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  if (files->len == 0)
    return FALSE;
  sl_export_page_try_files (self, (GFile **) files->pdata, files->len);
  return TRUE;
}

void
_sl_export_page_init_results (SlExportPage *self)
{
  GtkSortListModel *sorted;
  GtkDropTarget *drop;

  self->results = g_list_store_new (SL_TYPE_TRY_RESULT);
  add_column (self, "Image", G_CALLBACK (setup_image), G_CALLBACK (bind_image), NULL, FALSE,
              SL_EXPORT_TRY_THUMB_SIZE + 24);
  add_column (self, "File", G_CALLBACK (setup_file), G_CALLBACK (bind_file), compare_name, TRUE,
              -1);
  self->prediction_column = add_column (self, "Prediction", G_CALLBACK (setup_prediction),
                                        G_CALLBACK (bind_prediction), compare_label, FALSE, 140);
  self->confidence_column
      = add_column (self, "Confidence", G_CALLBACK (setup_confidence), G_CALLBACK (bind_confidence),
                    compare_confidence, FALSE, 150);
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->results)),
                                    g_object_ref (gtk_column_view_get_sorter (self->results_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (sorted));
  gtk_column_view_set_model (self->results_view, GTK_SELECTION_MODEL (self->selection));
  _sl_export_page_init_preview (self);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->try_stack), GTK_EVENT_CONTROLLER (drop));
}
