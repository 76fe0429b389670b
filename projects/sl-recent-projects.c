/* sl-recent-projects.c: the recent-projects list in GSettings, and what the welcome view shows of each. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-recent-projects.h"
#include "sl-project.h"
#include "sl-thumbnail.h"

#include "sl-vision.h"

void
sl_recent_projects_add (GSettings *settings, const char *path)
{
  g_auto (GStrv) old = g_settings_get_strv (settings, "recent-projects");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) list = NULL;
  guint n = 1;

  g_return_if_fail (path != NULL);
  g_strv_builder_add (builder, path);
  for (guint i = 0; old[i] != NULL && n < SL_RECENT_PROJECTS_MAX; i++)
    if (g_strcmp0 (old[i], path) != 0)
      {
        g_strv_builder_add (builder, old[i]);
        n++;
      }
  list = g_strv_builder_end (builder);
  g_settings_set_strv (settings, "recent-projects", (const char *const *) list);
}

void
sl_recent_projects_remove (GSettings *settings, const char *path)
{
  g_auto (GStrv) old = g_settings_get_strv (settings, "recent-projects");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) list = NULL;

  for (guint i = 0; old[i] != NULL; i++)
    if (g_strcmp0 (old[i], path) != 0)
      g_strv_builder_add (builder, old[i]);
  list = g_strv_builder_end (builder);
  g_settings_set_strv (settings, "recent-projects", (const char *const *) list);
}

void
sl_recent_info_free (SlRecentInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->message);
  g_free (info->name);
  g_clear_pointer (&info->thumbnail, g_bytes_unref);
  g_free (info);
}

/* A square thumbnail: the image's centre, scaled to size x size, RGBA with
 * the image's own alpha (255 without one; gray becomes RGB). */
static gboolean
make_thumbnail (const char *path, int size, SlRecentInfo *info)
{
  sl_image in = { 0 };
  int side, left, top, in_c;
  guint8 *pixels;

  if (size <= 0 || sl_image_load (path, 0, &in, NULL) != SL_OK)
    return FALSE;
  in_c = in.channels;
  if (in_c != 1 && in_c != 3 && in_c != 4)
    {
      sl_image_clear (&in);
      return FALSE;
    }
  side = MIN (in.width, in.height);
  left = (in.width - side) / 2;
  top = (in.height - side) / 2;
  pixels = g_malloc ((gsize) size * size * 4);
  sl_thumbnail_reduce (&in, left, top, side, side, size, size, 4, pixels);
  info->thumbnail = g_bytes_new_take (pixels, (gsize) size * size * 4);
  info->thumbnail_width = info->thumbnail_height = size;
  info->thumbnail_alpha = in_c == 4;
  sl_image_clear (&in);
  return TRUE;
}

static void
read_project (SlProject *project, int size, SlRecentInfo *info)
{
  SlProjectStats stats = { 0 };
  SlImageFilter filter;
  g_autoptr (GPtrArray) first = NULL;

  info->name = sl_project_dup_name (project);
  if (sl_project_get_stats (project, &stats, NULL))
    info->images = stats.images;
  sl_project_stats_clear (&stats);
  sl_image_filter_init (&filter);
  filter.include_ignored = TRUE;
  filter.limit = 1;
  first = sl_project_list_images (project, &filter, NULL);
  if (first != NULL && first->len > 0)
    {
      SlImageInfo *image = g_ptr_array_index (first, 0);
      g_autofree char *path = sl_project_image_path (project, image->hash, image->ext);

      make_thumbnail (path, size, info);
    }
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  int size = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "size"));
  g_autofree char *db = g_build_filename (path, "project.db", NULL);
  SlRecentInfo *info = g_new0 (SlRecentInfo, 1);
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;

  info->path = g_strdup (path);
  if (!g_file_test (db, G_FILE_TEST_IS_REGULAR))
    info->status = SL_RECENT_MISSING;
  else if ((project = sl_project_open_worker (path, &error)) == NULL)
    {
      info->status = g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NEWER_SCHEMA)
                         ? SL_RECENT_NEWER
                         : SL_RECENT_UNREADABLE;
      info->message = g_strdup (error->message);
    }
  else
    read_project (project, size, info);
  g_task_return_pointer (task, info, (GDestroyNotify) sl_recent_info_free);
}

void
sl_recent_info_load_async (const char *path, int size, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_return_if_fail (path != NULL && size > 0);
  g_task_set_source_tag (task, sl_recent_info_load_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_object_set_data (G_OBJECT (task), "size", GINT_TO_POINTER (size));
  g_task_run_in_thread (task, load_thread);
}

SlRecentInfo *
sl_recent_info_load_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
