/* sl-train-data.c: snapshots the images a run uses, hashes them, and records new runs. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-train-data.h"
#include "sl-files.h"

#include <glib/gstdio.h>
#include <string.h>

void
sl_train_data_clear (SlTrainData *d)
{
  g_clear_pointer (&d->class_ids, g_array_unref);
  g_clear_pointer (&d->class_names, g_ptr_array_unref);
  g_clear_pointer (&d->train_paths, g_ptr_array_unref);
  g_clear_pointer (&d->val_paths, g_ptr_array_unref);
  g_clear_pointer (&d->train_labels, g_array_unref);
  g_clear_pointer (&d->val_labels, g_array_unref);
  g_clear_pointer (&d->hash, g_free);
  g_clear_pointer (&d->missing, g_ptr_array_unref);
}

char *
sl_train_data_skipped_note (const SlTrainData *d)
{
  GString *out;

  if (d->missing == NULL || d->missing->len == 0)
    return NULL;
  out = g_string_new (NULL);
  g_string_printf (out,
                   d->missing->len == 1
                       ? "Skipped %u image whose stored copy is missing from images/: "
                       : "Skipped %u images whose stored copies are missing from images/: ",
                   d->missing->len);
  for (guint i = 0; i < d->missing->len && i < 5; i++)
    {
      g_autofree char *base = g_path_get_basename (g_ptr_array_index (d->missing, i));
      g_string_append_printf (out, "%s%s", i ? ", " : "", base);
    }
  if (d->missing->len > 5)
    g_string_append_printf (out, " and %u more", d->missing->len - 5);
  return g_string_free (out, FALSE);
}

gboolean
sl_train_data_pick_classes (SlProject *db, SlTrainData *d, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      db,
      "SELECT c.id, c.name FROM classes c WHERE EXISTS (SELECT 1 FROM images i WHERE "
      "i.class_id = c.id AND i.ignored = 0 AND i.split > 0) ORDER BY c.position, c.id",
      error);

  if (stmt == NULL)
    return FALSE;
  d->class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  d->class_names = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (d->class_ids, id);
      g_ptr_array_add (d->class_names, _sl_sqlite_dup_text (stmt, 1));
    }
  if (d->class_ids->len < 2)
    {
      g_set_error (
          error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
          "Training needs labelled images of at least two classes in the train and "
          "validation splits (found %u); label images of another class and split the data set",
          d->class_ids->len);
      return FALSE;
    }
  return TRUE;
}

gboolean
sl_train_data_collect (SlProject *db, SlTrainData *d, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      db,
      "SELECT split, hash, ext, class_id, original_path FROM images WHERE ignored = 0 AND "
      "split > 0 AND class_id IS NOT NULL ORDER BY split, hash",
      error);
  g_autoptr (GHashTable) index = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, NULL);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < d->class_ids->len; i++)
    g_hash_table_insert (index, &g_array_index (d->class_ids, gint64, i), GUINT_TO_POINTER (i + 1));
  d->train_paths = g_ptr_array_new_with_free_func (g_free);
  d->val_paths = g_ptr_array_new_with_free_func (g_free);
  d->train_labels = g_array_new (FALSE, FALSE, sizeof (int32_t));
  d->val_labels = g_array_new (FALSE, FALSE, sizeof (int32_t));
  d->test_images = 0;
  g_clear_pointer (&d->missing, g_ptr_array_unref);
  d->missing = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *stored = NULL;
      int split = sqlite3_column_int (stmt, 0);
      const char *hash = (const char *) sqlite3_column_text (stmt, 1);
      gint64 class_id = sqlite3_column_int64 (stmt, 3);
      gpointer found = g_hash_table_lookup (index, &class_id);
      int32_t label;
      g_autofree char *line = NULL;

      if (found == NULL)
        continue; /* a class created after the run began */
      label = GPOINTER_TO_UINT (found) - 1;
      stored = sl_project_image_path (db, hash, (const char *) sqlite3_column_text (stmt, 2));
      if (split != SL_SPLIT_TEST && !g_file_test (stored, G_FILE_TEST_IS_REGULAR))
        {
          /* Said, not silent: the run's note and Data Health name these. */
          g_ptr_array_add (d->missing, _sl_sqlite_dup_text (stmt, 4));
          continue;
        }
      line = g_strdup_printf ("%d\t%s\t%s\n", split, hash,
                              (const char *) g_ptr_array_index (d->class_names, label));
      g_checksum_update (sum, (const guchar *) line, -1);
      if (split == SL_SPLIT_TEST)
        {
          d->test_images++;
          continue;
        }
      g_ptr_array_add (split == SL_SPLIT_TRAIN ? d->train_paths : d->val_paths,
                       g_steal_pointer (&stored));
      g_array_append_val (split == SL_SPLIT_TRAIN ? d->train_labels : d->val_labels, label);
    }
  d->hash = g_strdup (g_checksum_get_string (sum));
  if (d->train_paths->len == 0)
    {
      g_autofree char *note = sl_train_data_skipped_note (d);

      if (note != NULL)
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                     "No image of the training split can be read: %s", note);
      else
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NO_DATA,
                     "No labelled image is in the training split; split the data set first");
      return FALSE;
    }
  return TRUE;
}

gboolean
sl_train_data_class_weights (const SlTrainData *d, const SlRunConfig *c, GArray **weights,
                             GError **error)
{
  const guint k = d->class_ids->len;
  g_autoptr (GArray) w = g_array_sized_new (FALSE, TRUE, sizeof (float), k);

  *weights = NULL;
  g_array_set_size (w, k);
  if (c->class_weights == SL_CLASS_WEIGHTS_NONE)
    return TRUE;
  if (c->class_weights == SL_CLASS_WEIGHTS_MANUAL)
    {
      if (c->manual_weights == NULL || c->manual_weights->len != k)
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                       "Give one class weight per class (%u, in class order), not %u", k,
                       c->manual_weights ? c->manual_weights->len : 0);
          return FALSE;
        }
      for (guint i = 0; i < k; i++)
        {
          float v = g_array_index (c->manual_weights, float, i);
          if (!(v > 0 && v < 1e6))
            {
              g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                           "Class weights must be positive numbers");
              return FALSE;
            }
          g_array_index (w, float, i) = v;
        }
    }
  else
    {
      g_autofree gint64 *counts = g_new0 (gint64, k);
      double mean = 0;

      for (guint i = 0; i < d->train_labels->len; i++)
        counts[g_array_index (d->train_labels, int32_t, i)]++;
      /* Inverse frequency, scaled to a mean of 1 so the learning rate keeps its meaning. */
      for (guint i = 0; i < k; i++)
        {
          g_array_index (w, float, i)
              = counts[i] > 0 ? (float) d->train_labels->len / (k * (double) counts[i]) : 1.0f;
          mean += g_array_index (w, float, i) / k;
        }
      for (guint i = 0; i < k; i++)
        g_array_index (w, float, i) /= (float) mean;
    }
  *weights = g_steal_pointer (&w);
  return TRUE;
}

static char *
classes_json (const SlTrainData *d)
{
  cJSON *array = cJSON_CreateArray ();
  char *printed, *out;

  for (guint i = 0; i < d->class_ids->len; i++)
    {
      cJSON *item = cJSON_CreateObject ();

      cJSON_AddNumberToObject (item, "id", (double) g_array_index (d->class_ids, gint64, i));
      cJSON_AddStringToObject (item, "name", g_ptr_array_index (d->class_names, i));
      cJSON_AddItemToArray (array, item);
    }
  printed = cJSON_PrintUnformatted (array);
  out = g_strdup (printed);
  cJSON_free (printed);
  cJSON_Delete (array);
  return out;
}

/* runs/run-N/recipe.json: the run's row as it was created, so that
 * 'sightline-cli repair' can list the run again if project.db is lost. */
static gboolean
write_recipe (const char *dir, gint64 id, const char *created, const SlTrainData *d,
              const SlRunConfig *c, const char *config_json, const char *versions,
              const char *classes, GError **error)
{
  cJSON *doc = cJSON_CreateObject ();
  g_autofree char *path = g_build_filename (dir, "recipe.json", NULL);
  char *text;
  gboolean ok;

  cJSON_AddNumberToObject (doc, "id", (double) id);
  cJSON_AddStringToObject (doc, "created", created);
  /* The runs list's model column: a backbone run shows its backbone. */
  if (c->backbone != NULL || c->preset != NULL)
    cJSON_AddStringToObject (doc, "preset", c->backbone != NULL ? c->backbone : c->preset);
  cJSON_AddNumberToObject (doc, "epochs", c->epochs);
  cJSON_AddNumberToObject (doc, "train_images", d->train_paths->len);
  cJSON_AddNumberToObject (doc, "val_images", d->val_paths->len);
  cJSON_AddStringToObject (doc, "dataset_hash", d->hash);
  cJSON_AddStringToObject (doc, "config_json", config_json);
  cJSON_AddStringToObject (doc, "versions_json", versions);
  cJSON_AddStringToObject (doc, "classes_json", classes);
  text = cJSON_Print (doc);
  cJSON_Delete (doc);
  ok = sl_file_replace_contents (path, text, -1, error);
  cJSON_free (text);
  return ok;
}

gint64
sl_train_data_insert_run (SlProject *db, const SlTrainData *d, const SlRunConfig *c,
                          const char *config_json, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      db,
      "INSERT INTO runs (status, created, preset, epochs, train_images, val_images, "
      "dataset_hash, config_json, versions_json, classes_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?)",
      error);
  g_autofree char *now = _sl_project_now_iso (), *versions = _sl_run_versions_json ();
  g_autofree char *classes = classes_json (d), *dir = NULL, *name = NULL;
  gint64 id;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int (stmt, 1, SL_RUN_CREATED);
  sqlite3_bind_text (stmt, 2, now, -1, SQLITE_STATIC);
  if (c->backbone != NULL || c->preset != NULL)
    sqlite3_bind_text (stmt, 3, c->backbone != NULL ? c->backbone : c->preset, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 4, c->epochs);
  sqlite3_bind_int64 (stmt, 5, d->train_paths->len);
  sqlite3_bind_int64 (stmt, 6, d->val_paths->len);
  sqlite3_bind_text (stmt, 7, d->hash, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 8, config_json, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 9, versions, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 10, classes, -1, SQLITE_STATIC);
  if (!_sl_project_step_done (db, stmt, error))
    return -1;
  id = sqlite3_last_insert_rowid (db->db);
  name = g_strdup_printf ("run-%lld", (long long) id);
  dir = g_build_filename (db->path, "runs", name, NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not create %s: %s", dir,
                   g_strerror (saved));
      return -1;
    }
  if (!write_recipe (dir, id, now, d, c, config_json, versions, classes, error))
    return -1;
  return id;
}
