/* sl-project-images.c: listing images, labeling them, marking them ignored, and split names. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

#include <stdlib.h>
#include <string.h>

static const char *const split_names[] = { "none", "train", "val", "test" };

const char *
sl_split_to_string (SlSplit split)
{
  return split >= SL_SPLIT_NONE && split <= SL_SPLIT_TEST ? split_names[split] : "none";
}

gboolean
sl_split_from_string (const char *name, SlSplit *split)
{
  for (int i = 0; i < (int) G_N_ELEMENTS (split_names); i++)
    if (g_strcmp0 (name, split_names[i]) == 0)
      {
        *split = i;
        return TRUE;
      }
  if (g_strcmp0 (name, "validation") == 0)
    {
      *split = SL_SPLIT_VAL;
      return TRUE;
    }
  return FALSE;
}

void
sl_image_info_free (SlImageInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->hash);
  g_free (info->ext);
  g_free (info->original_path);
  g_free (info->class_name);
  g_free (info->imported_at);
  g_free (info);
}

void
sl_image_filter_init (SlImageFilter *filter)
{
  filter->class_id = -2;
  filter->split = -1;
  filter->include_ignored = TRUE;
  filter->limit = 0;
}

#define IMAGE_COLUMNS                                                                              \
  "SELECT i.id, i.hash, i.ext, i.original_path, i.width, i.height, i.channels, i.depth, "          \
  "i.class_id, c.name, i.ignored, i.split, i.bytes, i.imported_at FROM images i "                  \
  "LEFT JOIN classes c ON c.id = i.class_id "

static SlImageInfo *
read_image_row (sqlite3_stmt *stmt)
{
  SlImageInfo *info = g_new0 (SlImageInfo, 1);

  info->id = sqlite3_column_int64 (stmt, 0);
  info->hash = _sl_sqlite_dup_text (stmt, 1);
  info->ext = _sl_sqlite_dup_text (stmt, 2);
  info->original_path = _sl_sqlite_dup_text (stmt, 3);
  info->width = sqlite3_column_int (stmt, 4);
  info->height = sqlite3_column_int (stmt, 5);
  info->channels = sqlite3_column_int (stmt, 6);
  info->depth = sqlite3_column_int (stmt, 7);
  info->class_id
      = sqlite3_column_type (stmt, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 8);
  info->class_name = _sl_sqlite_dup_text (stmt, 9);
  info->ignored = sqlite3_column_int (stmt, 10);
  info->split = sqlite3_column_int (stmt, 11);
  info->bytes = sqlite3_column_int64 (stmt, 12);
  info->imported_at = _sl_sqlite_dup_text (stmt, 13);
  return info;
}

GPtrArray *
sl_project_list_images (SlProject *self, const SlImageFilter *filter, GError **error)
{
  SlImageFilter all;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  GPtrArray *out;

  if (filter == NULL)
    {
      sl_image_filter_init (&all);
      filter = &all;
    }
  stmt = _sl_project_prepare (
      self,
      IMAGE_COLUMNS "WHERE (?1 = -2 OR (?1 = -1 AND i.class_id IS NULL) OR i.class_id = ?1) "
                    "AND (?2 < 0 OR i.split = ?2) AND (?3 OR i.ignored = 0) ORDER BY i.id LIMIT ?4",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, filter->class_id);
  sqlite3_bind_int (stmt, 2, filter->split);
  sqlite3_bind_int (stmt, 3, filter->include_ignored);
  sqlite3_bind_int64 (stmt, 4, filter->limit > 0 ? filter->limit : -1);
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_image_info_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (out, read_image_row (stmt));
  return out;
}

SlImageInfo *
sl_project_get_image (SlProject *self, gint64 image_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (self, IMAGE_COLUMNS "WHERE i.id = ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, image_id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return read_image_row (stmt);
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
               "There is no image %lld in the project", (long long) image_id);
  return NULL;
}

gint64
sl_project_resolve_image (SlProject *self, const char *ref, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  char *end = NULL;
  gint64 id = -1;
  int matches = 0;

  if (ref != NULL && *ref != '\0' && strspn (ref, "0123456789") == strlen (ref))
    {
      id = g_ascii_strtoll (ref, &end, 10);
      stmt = _sl_project_prepare (self, "SELECT id FROM images WHERE id = ?", error);
      if (stmt == NULL)
        return -1;
      sqlite3_bind_int64 (stmt, 1, id);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        return id;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "There is no image %s in the project", ref);
      return -1;
    }
  if (ref == NULL || strlen (ref) < 6 || strspn (ref, "0123456789abcdef") != strlen (ref))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "“%s” is neither an image id nor a hash prefix (6 or more hex digits)",
                   ref ? ref : "");
      return -1;
    }
  stmt = _sl_project_prepare (self,
                              "SELECT id FROM images WHERE hash >= ?1 AND hash < ?1 || 'g' "
                              "LIMIT 2",
                              error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, ref, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      id = sqlite3_column_int64 (stmt, 0);
      matches++;
    }
  if (matches == 1)
    return id;
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
               matches == 0 ? "No image hash starts with %s"
                            : "More than one image hash starts "
                              "with %s; give more digits",
               ref);
  return -1;
}

/* Runs `sql` (?1 = value, ?2 = image id) over every image in one transaction;
 * an image id that does not exist rolls everything back. */
static gboolean
update_images (SlProject *self, const char *sql, const gint64 *ids, gsize n, gint64 value,
               gboolean value_null, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (self, sql, error);

  if (stmt == NULL || !_sl_project_begin (self, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      sqlite3_reset (stmt);
      if (value_null)
        sqlite3_bind_null (stmt, 1);
      else
        sqlite3_bind_int64 (stmt, 1, value);
      sqlite3_bind_int64 (stmt, 2, ids[i]);
      if (!_sl_project_step_done (self, stmt, error))
        goto fail;
      if (sqlite3_changes (self->db) == 0)
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                       "There is no image %lld in the project; nothing was changed",
                       (long long) ids[i]);
          goto fail;
        }
    }
  if (_sl_project_commit (self, error))
    return TRUE;
fail:
  _sl_project_rollback (self);
  return FALSE;
}

gboolean
sl_project_set_labels (SlProject *self, const gint64 *image_ids, gsize n, gint64 class_id,
                       GError **error)
{
  if (class_id >= 0)
    {
      g_autoptr (sqlite3_stmt) stmt
          = _sl_project_prepare (self, "SELECT 1 FROM classes WHERE id = ?", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, class_id);
      if (sqlite3_step (stmt) != SQLITE_ROW)
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                       "There is no class %lld", (long long) class_id);
          return FALSE;
        }
    }
  return update_images (self, "UPDATE images SET class_id = ?1 WHERE id = ?2", image_ids, n,
                        class_id, class_id < 0, error);
}

gboolean
sl_project_set_ignored (SlProject *self, const gint64 *image_ids, gsize n, gboolean ignored,
                        GError **error)
{
  return update_images (self, "UPDATE images SET ignored = ?1 WHERE id = ?2", image_ids, n,
                        ignored ? 1 : 0, FALSE, error);
}

gboolean
sl_project_set_split (SlProject *self, const gint64 *image_ids, gsize n, SlSplit split,
                      GError **error)
{
  if (split < SL_SPLIT_NONE || split > SL_SPLIT_TEST)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID, "There is no split %d",
                   split);
      return FALSE;
    }
  return update_images (self, "UPDATE images SET split = ?1 WHERE id = ?2", image_ids, n, split,
                        FALSE, error);
}
