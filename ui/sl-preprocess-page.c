/* sl-preprocess-page.c: the Preprocess page: the operator chain, its live preview and the model input.
 *
 * The page owns the pipeline being edited. An edit changes it on the main
 * thread (O(steps)), asks the preview worker for a new preview (a copy of the
 * pipeline) and schedules a save; all image work happens on the worker. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-preprocess-page-private.h"
#include "sl-image-view.h"
#include "sl-run.h"
#include "sl-step-row.h"

#include <math.h>

/* Edits are stored this long after the last one. */
#define SAVE_DELAY_MS 300
/* Augmentation samples shown. */
#define N_SAMPLES 8

G_DEFINE_FINAL_TYPE (SlPreprocessPage, sl_preprocess_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SESSION,
  PROP_PREVIEW_IMAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Saving ---------------------------------------------------------------------- */

static void
show_save_error (SlPreprocessPage *self, const char *what, const GError *error)
{
  g_autofree char *text
      = error ? g_strdup_printf ("%s could not be saved: %s", what, error->message) : NULL;

  gtk_label_set_text (GTK_LABEL (self->save_error), text ? text : "");
  gtk_widget_set_visible (self->save_error, error != NULL);
}

static void
save_pipeline (SlPreprocessPage *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  char *s;

  self->pipeline_dirty = FALSE;
  if (self->valid == NULL)
    return;
  s = sl_pipeline_to_json (self->valid);
  json = g_strdup (s);
  sl_free (s);
  if (g_strcmp0 (json, self->saved_json) == 0)
    return;
  self->saving = TRUE;
  if (sl_session_set_pipeline_json (self->session, json, &error))
    {
      g_free (self->saved_json);
      self->saved_json = g_steal_pointer (&json);
    }
  self->saving = FALSE;
  show_save_error (self, "The chain", error);
}

static void
save_augment (SlPreprocessPage *self)
{
  g_autoptr (GError) error = NULL;

  self->augment_dirty = FALSE;
  if (sl_augment_config_validate (&self->augment, NULL) != SL_OK)
    return;
  self->saving = TRUE;
  sl_session_set_augment (self->session, &self->augment, &error);
  self->saving = FALSE;
  show_save_error (self, "The augmentation settings", error);
}

void
sl_preprocess_page_flush (SlPreprocessPage *self)
{
  g_return_if_fail (SL_IS_PREPROCESS_PAGE (self));
  g_clear_handle_id (&self->save_timeout, g_source_remove);
  if (self->session == NULL)
    return;
  if (self->pipeline_dirty)
    save_pipeline (self);
  if (self->augment_dirty)
    save_augment (self);
}

static gboolean
save_timeout_cb (gpointer data)
{
  SlPreprocessPage *self = data;

  self->save_timeout = 0;
  sl_preprocess_page_flush (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (SlPreprocessPage *self)
{
  g_clear_handle_id (&self->save_timeout, g_source_remove);
  self->save_timeout = g_timeout_add (SAVE_DELAY_MS, save_timeout_cb, self);
}

/* ---- Preview ---------------------------------------------------------------------- */

static void
update_augment_strip (SlPreprocessPage *self, const SlPreviewResult *r)
{
  g_autofree char *summary = sl_augment_summary (&self->augment);
  GtkWidget *child;
  const char *message = NULL;

  if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (self->aug_summary)), summary) != 0)
    {
      gtk_label_set_text (GTK_LABEL (self->aug_summary), summary);
      gtk_widget_set_tooltip_text (self->aug_summary, summary);
    }
  _sl_preprocess_page_update_actions (self);
  if (self->image_path == NULL)
    message = "Import images on the Dataset page to see what training will see";
  else if (!sl_augment_config_is_active (&self->augment))
    message = "Training sees each image as the chain makes it. Turn on some variations in "
              "Settings to make the model robust to them.";
  else if (r != NULL && r->error != NULL)
    message = "No samples while the chain fails";
  if (message != NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->aug_message), message);
      gtk_stack_set_visible_child_name (GTK_STACK (self->aug_stack), "message");
      return;
    }
  if (r == NULL)
    return;
  child = gtk_widget_get_first_child (self->aug_samples);
  for (guint i = 0; child != NULL; i++, child = gtk_widget_get_next_sibling (child))
    sl_image_view_set_texture (SL_IMAGE_VIEW (child),
                               i < r->augmented->len ? g_ptr_array_index (r->augmented, i) : NULL);
  gtk_stack_set_visible_child_name (GTK_STACK (self->aug_stack), "samples");
}

/* The large views changed size: textures that fit them draw without scaling. */
static void
on_view_resized (SlPreviewPane *pane, SlPreprocessPage *self)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (pane)), w, h;

  sl_preview_pane_get_view_box (pane, &w, &h);
  sl_preview_worker_set_boxes (self->worker, w, h, SL_PREVIEW_THUMB_BOX * scale,
                               SL_PREVIEW_THUMB_BOX * scale);
  _sl_preprocess_page_request_preview (self);
}

void
_sl_preprocess_page_request_preview (SlPreprocessPage *self)
{
  if (self->image_path == NULL || self->pipeline == NULL)
    return;
  sl_preview_worker_request (self->worker, self->image_path, self->pipeline, &self->augment,
                             self->augment_seed, N_SAMPLES);
  sl_preview_pane_set_busy (SL_PREVIEW_PANE (self->preview_pane), TRUE);
}

static void
on_preview_ready (SlPreviewWorker *worker, const SlPreviewResult *r, SlPreprocessPage *self)
{
  sl_preview_pane_show_result (SL_PREVIEW_PANE (self->preview_pane), r);
  sl_preview_pane_set_busy (SL_PREVIEW_PANE (self->preview_pane),
                            sl_preview_worker_is_busy (worker));
  update_augment_strip (self, r);
}

/* Finds the stored copy of the preview image (a small query) and previews it. */
static void
resolve_image (SlPreprocessPage *self)
{
  SlProject *project = sl_session_get_project (self->session);
  g_autofree char *path = NULL;
  SlImageInfo *info = NULL;

  if (self->preview_image >= 0)
    info = sl_project_get_image (project, self->preview_image, NULL);
  if (info == NULL)
    {
      g_autoptr (GPtrArray) first = NULL;
      SlImageFilter filter;

      sl_image_filter_init (&filter);
      filter.include_ignored = TRUE;
      filter.limit = 1;
      first = sl_project_list_images (project, &filter, NULL);
      if (first != NULL && first->len > 0)
        info = g_ptr_array_steal_index (first, 0);
    }
  if (info != NULL)
    {
      g_autofree char *base = g_path_get_basename (info->original_path);

      path = sl_project_image_path (project, info->hash, info->ext);
      gtk_label_set_text (self->image_name, base);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->image_name), info->original_path);
    }
  else
    gtk_label_set_text (self->image_name, "");
  self->shown_image = info != NULL ? info->id : -1;
  g_clear_pointer (&info, sl_image_info_free);
  _sl_preprocess_page_update_actions (self);
  sl_preview_pane_set_empty (SL_PREVIEW_PANE (self->preview_pane), path == NULL);
  if (g_strcmp0 (path, self->image_path) != 0)
    {
      g_free (self->image_path);
      self->image_path = g_steal_pointer (&path);
      sl_preview_worker_discard (self->worker);
      sl_preview_pane_clear (SL_PREVIEW_PANE (self->preview_pane));
      _sl_preprocess_page_request_preview (self);
    }
  update_augment_strip (self, NULL);
}

/* ---- Editing ------------------------------------------------------------------------ */

/* The step's rectangle parameter, or NULL. */
static const sl_param_spec *
rect_param (const sl_pipeline *p, int step)
{
  const sl_op_info *op = p != NULL ? sl_pipeline_step_op (p, step) : NULL;

  for (int i = 0; op != NULL && i < op->n_params; i++)
    if (op->params[i].type == SL_PARAM_RECT)
      return &op->params[i];
  return NULL;
}

/* Shows the selected step's region (if it has one) over its input. */
void
_sl_preprocess_page_update_roi (SlPreprocessPage *self)
{
  SlPreviewPane *pane = SL_PREVIEW_PANE (self->preview_pane);
  const sl_param_spec *spec = rect_param (self->pipeline, self->selected);
  gboolean relative = FALSE;
  double mode = 0;
  sl_rect r;

  if (spec == NULL)
    {
      sl_preview_pane_set_roi_step (pane, -1);
      return;
    }
  if (sl_pipeline_get_param (self->pipeline, self->selected, "mode", &mode, NULL) == SL_OK)
    relative = mode == 0;
  sl_pipeline_get_rect (self->pipeline, self->selected, spec->id, &r, NULL);
  sl_preview_pane_set_roi_step (pane, self->selected);
  sl_roi_overlay_set_rect (sl_preview_pane_get_roi_overlay (pane), &r, relative);
}

/* Keeps a copy of the chain when it is valid; an invalid state is never stored. */
static void
remember_if_valid (SlPreprocessPage *self)
{
  sl_pipeline *copy = NULL;

  if (sl_pipeline_validate (self->pipeline, NULL) != SL_OK
      || sl_pipeline_copy (self->pipeline, &copy, NULL) != SL_OK)
    return;
  sl_pipeline_free (self->valid);
  self->valid = copy;
}

/* After any edit: store it later and preview it now. */
void
_sl_preprocess_page_chain_edited (SlPreprocessPage *self)
{
  GtkListBoxRow *row
      = self->selected >= 0
            ? gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->chain_list), self->selected)
            : NULL;

  if (row != NULL)
    sl_step_row_update (SL_STEP_ROW (row), self->pipeline, self->selected);
  remember_if_valid (self);
  self->pipeline_dirty = TRUE;
  schedule_save (self);
  _sl_preprocess_page_request_preview (self);
  _sl_preprocess_page_update_actions (self);
}

/* ---- Editors ------------------------------------------------------------------------- */

/* The size of the selected step's input, from the last preview (0 x 0: unknown). */
static void
step_input_size (SlPreprocessPage *self, int *width, int *height)
{
  const SlPreviewResult *r = sl_preview_worker_get_result (self->worker);
  const SlPreviewStage *s = NULL;

  *width = *height = 0;
  if (r == NULL)
    return;
  if (self->selected == 0)
    s = &r->source;
  else if (self->selected > 0 && self->selected - 1 < (int) r->stages->len)
    s = &g_array_index (r->stages, SlPreviewStage, self->selected - 1);
  if (s != NULL)
    {
      *width = s->width;
      *height = s->height;
    }
}

/* Switching a crop between fractions and pixels keeps the same region. */
static void
convert_rect_units (SlPreprocessPage *self)
{
  const sl_param_spec *spec = rect_param (self->pipeline, self->selected);
  double mode = 0;
  int w, h;
  sl_rect r;

  step_input_size (self, &w, &h);
  if (spec == NULL || w <= 0
      || sl_pipeline_get_param (self->pipeline, self->selected, "mode", &mode, NULL) != SL_OK
      || sl_pipeline_get_rect (self->pipeline, self->selected, spec->id, &r, NULL) != SL_OK)
    return;
  if (mode == 0 && (r.x + r.width > 1 || r.y + r.height > 1))
    r = (sl_rect){ r.x / w, r.y / h, r.width / w, r.height / h };
  else if (mode == 1 && r.x + r.width <= 1 && r.y + r.height <= 1)
    r = (sl_rect){ round (r.x * w), round (r.y * h), MAX (1, round (r.width * w)),
                   MAX (1, round (r.height * h)) };
  else
    return;
  if (sl_pipeline_set_rect (self->pipeline, self->selected, spec->id, r, NULL) == SL_OK)
    sl_param_editor_refresh (SL_PARAM_EDITOR (self->param_editor));
}

static void
on_param_edited (SlParamEditor *editor, const char *param, SlPreprocessPage *self)
{
  if (g_strcmp0 (param, "mode") == 0)
    convert_rect_units (self);
  _sl_preprocess_page_update_roi (self);
  _sl_preprocess_page_chain_edited (self);
}

static void
on_roi_changed (SlRoiOverlay *overlay, const sl_rect *rect, SlPreprocessPage *self)
{
  const sl_param_spec *spec = rect_param (self->pipeline, self->selected);

  if (spec == NULL
      || sl_pipeline_set_rect (self->pipeline, self->selected, spec->id, *rect, NULL) != SL_OK)
    return;
  sl_param_editor_refresh (SL_PARAM_EDITOR (self->param_editor));
  _sl_preprocess_page_chain_edited (self);
}

static void
on_input_edited (SlInputSpecEditor *editor, SlPreprocessPage *self)
{
  _sl_preprocess_page_chain_edited (self);
}

static void
on_augment_changed (SlAugmentEditor *editor, SlPreprocessPage *self)
{
  sl_augment_editor_get_config (editor, &self->augment);
  self->augment_dirty = TRUE;
  schedule_save (self);
  _sl_preprocess_page_request_preview (self);
  update_augment_strip (self, NULL);
}

/* ---- Loading ---------------------------------------------------------------------------- */

/* Makes `pipeline` the one edited (taking it), keeping the selection where possible. */
static void
adopt_pipeline (SlPreprocessPage *self, sl_pipeline *pipeline)
{
  sl_pipeline *old = self->pipeline;

  self->pipeline = pipeline;
  g_clear_pointer (&self->valid, sl_pipeline_free);
  remember_if_valid (self);
  sl_input_spec_editor_set_pipeline (SL_INPUT_SPEC_EDITOR (self->input_editor), pipeline);
  sl_param_editor_set_step (SL_PARAM_EDITOR (self->param_editor), NULL, -1);
  _sl_preprocess_page_rebuild_rows (self, self->selected);
  sl_pipeline_free (old);
  _sl_preprocess_page_request_preview (self);
}

static void
load_augment (SlPreprocessPage *self)
{
  /* Augmentation that does not read shows as none. */
  sl_session_get_augment (self->session, &self->augment);
  sl_augment_editor_set_config (SL_AUGMENT_EDITOR (self->aug_editor), &self->augment);
  update_augment_strip (self, NULL);
}

static void
set_loading (SlPreprocessPage *self, GCancellable *cancellable)
{
  g_clear_object (&self->loading);
  self->loading = cancellable;
  gtk_spinner_set_spinning (GTK_SPINNER (self->loading_spinner), cancellable != NULL);
  gtk_widget_set_visible (self->loading_spinner, cancellable != NULL);
  gtk_widget_set_sensitive (self->chain_list, cancellable == NULL);
  gtk_widget_set_sensitive (self->input_editor,
                            cancellable == NULL && !sl_session_is_read_only (self->session));
  _sl_preprocess_page_update_actions (self);
}

static void
default_thread (GTask *task, gpointer source, gpointer path, GCancellable *cancellable)
{
  GError *error = NULL;
  char *json = sl_project_measure_pipeline_json (path, NULL, cancellable, &error);

  if (json != NULL)
    g_task_return_pointer (task, json, g_free);
  else
    g_task_return_error (task, error);
}

static void
default_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SlPreprocessPage) self = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = g_task_propagate_pointer (G_TASK (result), &error);
  sl_pipeline *p = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->session == NULL)
    return;
  set_loading (self, NULL);
  /* Without labelled images the empty chain stays. */
  if (json != NULL && !self->pipeline_dirty && sl_pipeline_from_json (json, &p, NULL) == SL_OK)
    adopt_pipeline (self, p);
}

/* Loads the stored chain; without one, chooses one from the data off the main loop. */
static void
load_pipeline (SlPreprocessPage *self)
{
  SlProject *project = sl_session_get_project (self->session);
  g_autofree char *json = sl_session_dup_stored_pipeline_json (self->session);
  sl_pipeline *p = NULL;

  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  set_loading (self, NULL);
  if (json != NULL && sl_pipeline_from_json (json, &p, NULL) == SL_OK)
    {
      g_free (self->saved_json);
      self->saved_json = g_steal_pointer (&json);
      self->pipeline_dirty = FALSE;
      adopt_pipeline (self, p);
      return;
    }
  sl_pipeline_new (&p, NULL);
  adopt_pipeline (self, p);
  {
    g_autoptr (GTask) task = NULL;

    set_loading (self, g_cancellable_new ());
    task = g_task_new (NULL, self->loading, default_done, g_object_ref (self));
    g_task_set_task_data (task, g_strdup (sl_project_get_path (project)), g_free);
    g_task_run_in_thread (task, default_thread);
  }
}

static void
on_pipeline_changed (SlSession *session, SlPreprocessPage *self)
{
  g_autofree char *json = NULL;

  if (self->saving)
    return;
  json = sl_session_dup_stored_pipeline_json (session);
  if (json == NULL || g_strcmp0 (json, self->saved_json) != 0)
    load_pipeline (self);
  load_augment (self);
  _sl_preprocess_page_request_preview (self);
}

static void
on_images_changed (SlSession *session, SlPreprocessPage *self)
{
  resolve_image (self);
  if (self->loading == NULL && self->saved_json == NULL && !self->pipeline_dirty)
    load_pipeline (self); /* labelled images may now suggest a better first chain */
}

/* ---- Accessors ------------------------------------------------------------------------------ */

SlSession *
sl_preprocess_page_get_session (SlPreprocessPage *self)
{
  g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), NULL);
  return self->session;
}

gint64
sl_preprocess_page_get_preview_image (SlPreprocessPage *self)
{
  g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), -1);
  return self->preview_image;
}

void
sl_preprocess_page_set_preview_image (SlPreprocessPage *self, gint64 image_id)
{
  g_return_if_fail (SL_IS_PREPROCESS_PAGE (self));
  if (image_id < 0)
    image_id = -1;
  if (image_id == self->preview_image)
    return;
  self->preview_image = image_id;
  if (self->session != NULL)
    resolve_image (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PREVIEW_IMAGE]);
}

const sl_pipeline *
sl_preprocess_page_get_pipeline (SlPreprocessPage *self)
{
  g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), NULL);
  return self->pipeline;
}

gboolean
sl_preprocess_page_is_loading (SlPreprocessPage *self)
{
  g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), FALSE);
  return self->loading != NULL;
}

int
sl_preprocess_page_get_selected_step (SlPreprocessPage *self)
{
  g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), -1);
  return self->selected;
}

#define ACCESSOR(Type, name, field, CAST)                                                          \
  Type *sl_preprocess_page_get_##name (SlPreprocessPage *self)                                     \
  {                                                                                                \
    g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), NULL);                                     \
    return CAST (self->field);                                                                     \
  }

ACCESSOR (SlParamEditor, param_editor, param_editor, SL_PARAM_EDITOR)
ACCESSOR (SlInputSpecEditor, input_editor, input_editor, SL_INPUT_SPEC_EDITOR)
ACCESSOR (SlAugmentEditor, augment_editor, aug_editor, SL_AUGMENT_EDITOR)
ACCESSOR (SlPreviewPane, preview_pane, preview_pane, SL_PREVIEW_PANE)
ACCESSOR (SlPreviewWorker, worker, worker, SL_PREVIEW_WORKER)
ACCESSOR (GtkMenuButton, add_button, add_button, GTK_MENU_BUTTON)
ACCESSOR (SlOpCatalog, catalog, catalog, SL_OP_CATALOG)
ACCESSOR (GtkListBox, chain_list, chain_list, GTK_LIST_BOX)

guint
sl_preprocess_page_get_n_samples (SlPreprocessPage *self)
{
  guint n = 0;

  g_return_val_if_fail (SL_IS_PREPROCESS_PAGE (self), 0);
  if (!g_str_equal (gtk_stack_get_visible_child_name (GTK_STACK (self->aug_stack)), "samples"))
    return 0;
  for (GtkWidget *c = gtk_widget_get_first_child (self->aug_samples); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    n += sl_image_view_get_texture (SL_IMAGE_VIEW (c)) != NULL;
  return n;
}

/* ---- Type ---------------------------------------------------------------------------------- */

static void
sl_preprocess_page_constructed (GObject *object)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (object);

  G_OBJECT_CLASS (sl_preprocess_page_parent_class)->constructed (object);
  g_return_if_fail (SL_IS_SESSION (self->session));
  g_signal_connect_object (self->session, "pipeline-changed", G_CALLBACK (on_pipeline_changed),
                           self, 0);
  g_signal_connect_object (self->session, "images-changed", G_CALLBACK (on_images_changed), self,
                           0);
  sl_input_spec_editor_set_project_path (SL_INPUT_SPEC_EDITOR (self->input_editor),
                                         sl_session_get_path (self->session));
  load_augment (self);
  resolve_image (self);
  load_pipeline (self);
  if (sl_session_is_read_only (self->session))
    {
      /* The pipeline and augmentation of a read-only project show, with their
       * previews; they cannot change (the window's banner says why). */
      gtk_widget_set_sensitive (self->input_editor, FALSE);
      gtk_widget_set_sensitive (self->param_editor, FALSE);
      gtk_widget_set_sensitive (self->aug_editor, FALSE);
      gtk_widget_set_sensitive (self->catalog, FALSE);
    }
}

static void
sl_preprocess_page_unmap (GtkWidget *widget)
{
  sl_preprocess_page_flush (SL_PREPROCESS_PAGE (widget));
  GTK_WIDGET_CLASS (sl_preprocess_page_parent_class)->unmap (widget);
}

static void
sl_preprocess_page_dispose (GObject *object)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (object);

  sl_preprocess_page_flush (self);
  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  if (self->worker != NULL)
    g_signal_handlers_disconnect_by_data (self->worker, self);
  g_clear_object (&self->worker);
  if (self->chain_list != NULL)
    {
      /* Disposing the children must not call back into a half-disposed page. */
      g_signal_handlers_disconnect_by_data (self->chain_list, self);
      g_signal_handlers_disconnect_by_data (self->param_editor, self);
      g_signal_handlers_disconnect_by_data (self->input_editor, self);
      g_signal_handlers_disconnect_by_data (self->aug_editor, self);
      g_signal_handlers_disconnect_by_data (self->catalog, self);
      g_signal_handlers_disconnect_by_data (self->preview_pane, self);
      g_signal_handlers_disconnect_by_data (
          sl_preview_pane_get_roi_overlay (SL_PREVIEW_PANE (self->preview_pane)), self);
    }
  self->catalog = NULL; /* the menu button's */
  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_PREPROCESS_PAGE);
  g_clear_pointer (&self->pipeline, sl_pipeline_free);
  g_clear_pointer (&self->valid, sl_pipeline_free);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sl_preprocess_page_parent_class)->dispose (object);
}

static void
sl_preprocess_page_finalize (GObject *object)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (object);

  g_free (self->image_path);
  g_free (self->saved_json);
  G_OBJECT_CLASS (sl_preprocess_page_parent_class)->finalize (object);
}

static void
sl_preprocess_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: g_value_set_object (value, self->session); break;
      case PROP_PREVIEW_IMAGE: g_value_set_int64 (value, self->preview_image); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_preprocess_page_set_property (GObject *object, guint prop_id, const GValue *value,
                                 GParamSpec *pspec)
{
  SlPreprocessPage *self = SL_PREPROCESS_PAGE (object);

  switch (prop_id)
    {
      case PROP_SESSION: self->session = g_value_dup_object (value); break;
      case PROP_PREVIEW_IMAGE:
        sl_preprocess_page_set_preview_image (self, g_value_get_int64 (value));
        break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_preprocess_page_class_init (SlPreprocessPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sl_preprocess_page_constructed;
  object_class->dispose = sl_preprocess_page_dispose;
  object_class->finalize = sl_preprocess_page_finalize;
  object_class->get_property = sl_preprocess_page_get_property;
  object_class->set_property = sl_preprocess_page_set_property;
  widget_class->unmap = sl_preprocess_page_unmap;

  properties[PROP_SESSION]
      = g_param_spec_object ("session", NULL, NULL, SL_TYPE_SESSION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PREVIEW_IMAGE]
      = g_param_spec_int64 ("preview-image", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SL_TYPE_INPUT_SPEC_EDITOR);
  g_type_ensure (SL_TYPE_PARAM_EDITOR);
  g_type_ensure (SL_TYPE_PREVIEW_PANE);
  g_type_ensure (SL_TYPE_AUGMENT_EDITOR);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sightline/Sightline/ui/sl-preprocess-page.ui");
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, root);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, add_button);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, chain_list);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, save_error);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, input_editor);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, preview_pane);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, image_name);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, aug_summary);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, aug_button);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, aug_editor);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, aug_stack);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, aug_samples);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, aug_message);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, param_stack);
  gtk_widget_class_bind_template_child (widget_class, SlPreprocessPage, param_editor);
  _sl_preprocess_page_install_actions (widget_class);
}

static void
sl_preprocess_page_init (SlPreprocessPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->preview_image = -1;
  self->shown_image = -1;
  self->selected = -1;
  self->augment_seed = 1;
  sl_augment_config_init (&self->augment);
  self->worker = sl_preview_worker_new ();
  g_signal_connect (self->worker, "ready", G_CALLBACK (on_preview_ready), self);
  self->catalog = sl_op_catalog_new ();
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (self->add_button), self->catalog);
  _sl_preprocess_page_init_chain (self);
  g_signal_connect (self->param_editor, "edited", G_CALLBACK (on_param_edited), self);
  g_signal_connect (self->input_editor, "edited", G_CALLBACK (on_input_edited), self);
  g_signal_connect (self->aug_editor, "changed", G_CALLBACK (on_augment_changed), self);
  g_signal_connect (self->preview_pane, "view-resized", G_CALLBACK (on_view_resized), self);
  for (int i = 0; i < N_SAMPLES; i++)
    {
      GtkWidget *sample = sl_image_view_new ();

      gtk_widget_set_size_request (sample, SL_PREVIEW_THUMB_BOX, SL_PREVIEW_THUMB_BOX);
      gtk_widget_set_valign (sample, GTK_ALIGN_CENTER);
      gtk_widget_set_halign (sample, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (sample, "sl-augment-sample");
      gtk_accessible_update_property (GTK_ACCESSIBLE (sample), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      "An augmented sample", -1);
      gtk_box_append (GTK_BOX (self->aug_samples), sample);
    }
  g_signal_connect (sl_preview_pane_get_roi_overlay (SL_PREVIEW_PANE (self->preview_pane)),
                    "rect-changed", G_CALLBACK (on_roi_changed), self);
  _sl_preprocess_page_update_actions (self);
}

GtkWidget *
sl_preprocess_page_new (SlSession *session)
{
  return g_object_new (SL_TYPE_PREPROCESS_PAGE, "session", session, NULL);
}
