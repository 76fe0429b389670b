/* sl-project-import.c: importing folders and files of images into the content-addressed store. */
#define G_LOG_DOMAIN "Sightline-Projects"
#define _GNU_SOURCE

#include "sl-project-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sl-anomaly.h"
#include "sl-project-lock.h"
#include "sl-vision.h"

/* A batch is decoded and copied, then committed in one short transaction:
 * at most this many files, or as many as this much decoding time allows, so
 * a crash loses little work and other processes see new images. Each batch
 * flushes the file system (syncfs), which costs a busy machine about a
 * second, so batches are not made smaller than that is worth: 300 images of
 * 1536x1536 imported in 15 s with 256-file batches and 20 s with 4 s ones. */
#define IMPORT_BATCH    256
#define IMPORT_BATCH_US (10 * G_USEC_PER_SEC)

typedef struct
{
  char *path;
  char *class_name; /* NULL: unlabelled */
} ImportFile;

typedef struct
{
  SlProject *self;
  SlImportResult *result;
  gint64 import_id;
  gint64 max_pixels;
  GHashTable *classes; /* name -> gint64 id */
  sqlite3_stmt *find_hash, *insert_image, *insert_issue;
  char *images_dir;
} ImportState;

static void
import_file_free (ImportFile *file)
{
  g_free (file->path);
  g_free (file->class_name);
  g_free (file);
}

static void
import_issue_free (SlImportIssue *issue)
{
  g_free (issue->path);
  g_free (issue->reason);
  g_free (issue);
}

void
sl_import_result_clear (SlImportResult *result)
{
  if (result->image_ids != NULL)
    g_array_unref (result->image_ids);
  if (result->issues != NULL)
    g_ptr_array_unref (result->issues);
  memset (result, 0, sizeof *result);
}

/* The store's extension for a file name, or NULL when it is not an image. */
static const char *
image_extension (const char *name)
{
  static const char *const known[][2] = {
    { "png", "png" }, { "jpg", "jpg" }, { "jpeg", "jpg" }, { "jpe", "jpg" },
    { "bmp", "bmp" }, { "tif", "tif" }, { "tiff", "tif" }, { "pgm", "pgm" },
    { "ppm", "ppm" }, { "pbm", "pbm" }, { "pnm", "pnm" },
  };
  const char *dot = strrchr (name, '.');

  if (dot == NULL)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_ascii_strcasecmp (dot + 1, known[i][0]) == 0)
      return known[i][1];
  return NULL;
}

/* Collects files below dir; the first folder level under the root names the class. */
static void
collect_files (const char *dir, const char *class_name, int level, GPtrArray *out)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);

      if (name[0] == '.')
        continue; /* hidden files and folders: .DS_Store, .git, ... */
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          g_autofree char *label = NULL;

          if (g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            continue; /* never follow folder links: they can loop */
          if (level == 0)
            label = g_filename_display_name (name);
          collect_files (child, level == 0 ? label : class_name, level + 1, out);
        }
      else if (g_file_test (child, G_FILE_TEST_IS_REGULAR))
        {
          ImportFile *file = g_new0 (ImportFile, 1);

          file->path = g_steal_pointer (&child);
          file->class_name = g_strdup (class_name);
          g_ptr_array_add (out, file);
        }
    }
}

static int
compare_files (gconstpointer a, gconstpointer b)
{
  const ImportFile *fa = *(ImportFile *const *) a, *fb = *(ImportFile *const *) b;

  return strcmp (fa->path, fb->path);
}

static void
add_issue (ImportState *st, const char *path, SlImportOutcome outcome, const char *reason)
{
  SlImportIssue *issue = g_new0 (SlImportIssue, 1);
  g_autofree char *display = g_filename_display_name (path);

  issue->path = g_strdup (display);
  issue->outcome = outcome;
  issue->reason = g_strdup (reason);
  g_ptr_array_add (st->result->issues, issue);
  switch (outcome)
    {
      case SL_IMPORT_DUPLICATE: st->result->duplicates++; break;
      case SL_IMPORT_UNREADABLE: st->result->unreadable++; break;
      case SL_IMPORT_NOT_IMAGE: st->result->not_images++; break;
      case SL_IMPORT_ADDED: break;
    }
  sqlite3_reset (st->insert_issue);
  sqlite3_bind_int64 (st->insert_issue, 1, st->import_id);
  sqlite3_bind_text (st->insert_issue, 2, display, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st->insert_issue, 3, outcome);
  sqlite3_bind_text (st->insert_issue, 4, reason, -1, SQLITE_TRANSIENT);
  sqlite3_step (st->insert_issue);
}

/* Writes the stored copy under a temporary name and renames it into place. */
static gboolean
write_copy (const char *final_path, const char *data, gsize size, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (final_path);
  g_autofree char *tmp = g_strconcat (final_path, ".tmp-XXXXXX", NULL);
  gsize written = 0;
  int fd;

  if (g_mkdir_with_parents (dir, 0755) != 0 || (fd = g_mkstemp_full (tmp, O_WRONLY, 0644)) < 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not write into %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  while (written < size)
    {
      ssize_t n = write (fd, data + written, size - written);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          close (fd);
          g_unlink (tmp);
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not write %s: %s",
                       final_path, g_strerror (saved));
          return FALSE;
        }
      written += (gsize) n;
    }
  if (close (fd) != 0 || g_rename (tmp, final_path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not store %s: %s",
                   final_path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gint64
class_for_name (ImportState *st, const char *name, GError **error)
{
  gpointer value;
  g_autoptr (SlClass) klass = NULL;
  gint64 id;

  if (g_hash_table_lookup_extended (st->classes, name, NULL, &value))
    return *(gint64 *) value;
  klass = sl_project_find_class (st->self, name, NULL);
  if (klass != NULL)
    id = klass->id;
  else if ((id = sl_project_add_class (st->self, name, NULL, NULL, error)) < 0)
    return -1;
  else
    st->result->classes_created++;
  g_hash_table_insert (st->classes, g_strdup (name), g_memdup2 (&id, sizeof id));
  return id;
}

/* What the decode/hash step learnt about one file, for the commit step. */
typedef struct
{
  const ImportFile *file;
  SlImportOutcome outcome; /* ADDED: decoded and copied into the store, awaiting its row;
                            * DUPLICATE: a committed image had its content when looked at */
  char *reason;            /* why an unreadable file or a non-image was skipped */
  char *hash, *display;
  const char *ext;
  gsize size;
  int width, height, channels, depth;
} Prepared;

static void
prepared_clear (Prepared *p)
{
  g_free (p->reason);
  g_free (p->hash);
  g_free (p->display);
  memset (p, 0, sizeof *p);
}

/* The decode/hash step, outside any transaction: reads, hashes and decodes a
 * file and writes its copy into the store (which the store lock protects
 * until its row commits). FALSE only when the store cannot be written. */
static gboolean
prepare_one (ImportState *st, const ImportFile *file, gboolean probe, Prepared *p, GError **error)
{
  g_autofree char *data = NULL, *stored = NULL;
  g_autoptr (GError) read_error = NULL;
  sl_image img = { 0 };
  sl_error err = { 0 };

  p->file = file;
  p->ext = image_extension (file->path);
  if (p->ext == NULL)
    {
      p->outcome = SL_IMPORT_NOT_IMAGE;
      p->reason = g_strdup ("not an image file name");
      return TRUE;
    }
  if (!g_file_get_contents (file->path, &data, &p->size, &read_error))
    {
      p->outcome = SL_IMPORT_UNREADABLE;
      p->reason = g_strdup (read_error->message);
      return TRUE;
    }
  p->hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, p->size);
  p->display = g_filename_display_name (file->path);
  if (probe)
    {
      /* A read of what is committed: re-imports skip the decode and the copy. */
      sqlite3_reset (st->find_hash);
      sqlite3_bind_text (st->find_hash, 1, p->hash, -1, SQLITE_STATIC);
      p->outcome
          = sqlite3_step (st->find_hash) == SQLITE_ROW ? SL_IMPORT_DUPLICATE : SL_IMPORT_ADDED;
      sqlite3_reset (st->find_hash);
      if (p->outcome == SL_IMPORT_DUPLICATE)
        return TRUE;
    }
  if (sl_image_decode (data, p->size, p->display, st->max_pixels, &img, &err) != SL_OK)
    {
      p->outcome = SL_IMPORT_UNREADABLE;
      p->reason = g_strdup (err.message);
      return TRUE;
    }
  p->width = img.width;
  p->height = img.height;
  p->channels = img.channels;
  p->depth = img.depth;
  sl_image_clear (&img);
  stored = sl_project_image_path (st->self, p->hash, p->ext);
  if (!write_copy (stored, data, p->size, error))
    return FALSE;
  p->outcome = SL_IMPORT_ADDED;
  return TRUE;
}

/* Records a file whose content is already image `existing` (found inside the
 * commit's transaction). */
static gboolean
commit_duplicate (ImportState *st, const Prepared *p, GError **error)
{
  const ImportFile *file = p->file;
  gint64 existing = sqlite3_column_int64 (st->find_hash, 0);
  const char *kept = (const char *) sqlite3_column_text (st->find_hash, 2);
  g_autofree char *reason
      = g_strdup_printf ("same content as image %lld (%s)", (long long) existing,
                         (const char *) sqlite3_column_text (st->find_hash, 1));

  /* The same picture in another class folder: it keeps its label until
   * the user picks one, and the conflict is recorded so they can. */
  if (file->class_name != NULL && g_strcmp0 (kept, file->class_name) != 0)
    {
      g_autofree char *display_path = g_filename_display_name (file->path);
      g_autofree char *more = g_strdup_printf (
          "%s, which is labelled “%s”, but this file is in the folder of “%s”: a label "
          "conflict to resolve",
          reason, kept != NULL ? kept : "(no label)", file->class_name);

      g_free (reason);
      reason = g_steal_pointer (&more);
      st->result->conflicts++;
      if (!_sl_project_note_label_conflict (st->self, existing, st->import_id, display_path,
                                            file->class_name, error))
        return FALSE;
    }
  /* Another import committed this content first while ours was decoding. Its
   * copy is ours when the extensions agree; otherwise ours names no row. */
  if (p->outcome == SL_IMPORT_ADDED
      && g_strcmp0 ((const char *) sqlite3_column_text (st->find_hash, 3), p->ext) != 0)
    {
      g_autofree char *stored = sl_project_image_path (st->self, p->hash, p->ext);
      g_unlink (stored);
    }
  add_issue (st, file->path, SL_IMPORT_DUPLICATE, reason);
  return TRUE;
}

/* The commit step for one file, inside the batch's transaction: an issue
 * row, or an image row for a copy already in the store. */
static gboolean
commit_one (ImportState *st, Prepared *p, GError **error)
{
  g_autofree char *now = NULL;
  gint64 class_id = -1, id;
  gboolean found;

  if (p->outcome == SL_IMPORT_NOT_IMAGE || p->outcome == SL_IMPORT_UNREADABLE)
    {
      add_issue (st, p->file->path, p->outcome, p->reason);
      return TRUE;
    }
  /* Looked up again: the decode/hash step saw only what was committed then. */
  sqlite3_reset (st->find_hash);
  sqlite3_bind_text (st->find_hash, 1, p->hash, -1, SQLITE_STATIC);
  found = sqlite3_step (st->find_hash) == SQLITE_ROW;
  if (found)
    {
      gboolean ok = commit_duplicate (st, p, error);
      sqlite3_reset (st->find_hash);
      return ok;
    }
  sqlite3_reset (st->find_hash);
  if (p->outcome == SL_IMPORT_DUPLICATE)
    {
      /* The image it duplicated was removed meanwhile: this file is new
       * again. Rare, so it is decoded and copied here, inside the transaction. */
      const ImportFile *file = p->file;

      prepared_clear (p);
      if (!prepare_one (st, file, FALSE, p, error))
        return FALSE;
      if (p->outcome != SL_IMPORT_ADDED)
        {
          add_issue (st, p->file->path, p->outcome, p->reason);
          return TRUE;
        }
    }
  if (p->file->class_name != NULL
      && (class_id = class_for_name (st, p->file->class_name, error)) < 0)
    return FALSE;
  now = _sl_project_now_iso ();
  sqlite3_reset (st->insert_image);
  sqlite3_bind_text (st->insert_image, 1, p->hash, -1, SQLITE_STATIC);
  sqlite3_bind_text (st->insert_image, 2, p->ext, -1, SQLITE_STATIC);
  sqlite3_bind_text (st->insert_image, 3, p->display, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st->insert_image, 4, (sqlite3_int64) p->size);
  sqlite3_bind_int (st->insert_image, 5, p->width);
  sqlite3_bind_int (st->insert_image, 6, p->height);
  sqlite3_bind_int (st->insert_image, 7, p->channels);
  sqlite3_bind_int (st->insert_image, 8, p->depth);
  if (class_id >= 0)
    sqlite3_bind_int64 (st->insert_image, 9, class_id);
  else
    sqlite3_bind_null (st->insert_image, 9);
  sqlite3_bind_text (st->insert_image, 10, now, -1, SQLITE_STATIC);
  if (!_sl_project_step_done (st->self, st->insert_image, error))
    return FALSE;
  id = sqlite3_last_insert_rowid (st->self->db);
  g_array_append_val (st->result->image_ids, id);
  st->result->added++;
  return TRUE;
}

/* Flushes the stored copies of a batch before the rows naming them commit. */
static void
sync_store (ImportState *st)
{
  int fd = open (st->images_dir, O_RDONLY | O_DIRECTORY);

  if (fd >= 0)
    {
      syncfs (fd);
      close (fd);
    }
}

/* The commit step for a batch: one short write transaction of rows (the
 * copies are written and flushed before it starts). On failure nothing of the
 * batch is recorded, and its counts are taken back. */
static gboolean
commit_batch (ImportState *st, Prepared *batch, guint n, GError **error)
{
  SlImportResult *result = st->result, before = *result;
  guint ids_before = result->image_ids->len, issues_before = result->issues->len;
  gboolean ok;

  sync_store (st);
  /* Classes are looked up afresh: another process may have changed them. */
  g_hash_table_remove_all (st->classes);
  ok = _sl_project_begin (st->self, error);
  for (guint i = 0; ok && i < n; i++)
    ok = commit_one (st, &batch[i], error);
  if (ok && _sl_project_commit (st->self, error))
    return TRUE;
  _sl_project_rollback (st->self);
  g_array_set_size (result->image_ids, ids_before);
  g_ptr_array_set_size (result->issues, issues_before);
  result->files = before.files;
  result->added = before.added;
  result->duplicates = before.duplicates;
  result->unreadable = before.unreadable;
  result->not_images = before.not_images;
  result->classes_created = before.classes_created;
  result->conflicts = before.conflicts;
  return FALSE;
}

static gboolean
finish_import (SlProject *self, gint64 import_id, const char *status, gint64 added)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "UPDATE imports SET finished = ?, status = ?, added = ? WHERE id = ?", NULL);
  g_autoptr (sqlite3_stmt) unmark = NULL;
  g_autofree char *now = _sl_project_now_iso ();

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, added);
  sqlite3_bind_int64 (stmt, 4, import_id);
  if (!_sl_project_step_done (self, stmt, NULL))
    return FALSE;
  /* After a failure the marker says so and stays, so the next clean-up
   * removes the copies of the rolled-back batch; after a success it goes
   * only when no other import is under way (a dead one needs the clean-up). */
  if (g_strcmp0 (status, "failed") == 0)
    return _sl_project_set_setting (self, "import-active", "failed", NULL);
  unmark = _sl_project_prepare (
      self,
      "DELETE FROM settings WHERE key = 'import-active' AND value = '1' AND NOT EXISTS "
      "(SELECT 1 FROM imports WHERE status = 'running' AND id <> ?)",
      NULL);
  if (unmark == NULL)
    return FALSE;
  sqlite3_bind_int64 (unmark, 1, import_id);
  return _sl_project_step_done (self, unmark, NULL);
}

static gboolean
start_import (SlProject *self, const char *folder, gint64 *import_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "INSERT INTO imports (source, started, status) VALUES (?, ?, 'running')", error);
  g_autofree char *now = _sl_project_now_iso ();
  g_autofree char *display = g_filename_display_name (folder);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, display, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, now, -1, SQLITE_STATIC);
  if (!_sl_project_step_done (self, stmt, error))
    return FALSE;
  *import_id = sqlite3_last_insert_rowid (self->db);
  /* A "failed" or "orphans" marker stays until the clean-up has been. */
  return _sl_project_exec (
      self, "INSERT OR IGNORE INTO settings (key, value) VALUES ('import-active', '1')", error);
}

/* The three statements an import runs for every file. */
static gboolean
prepare_statements (SlProject *self, sqlite3_stmt **find_hash, sqlite3_stmt **insert_image,
                    sqlite3_stmt **insert_issue, GError **error)
{
  *find_hash = _sl_project_prepare (self,
                                    "SELECT id, original_path, (SELECT name FROM classes c WHERE "
                                    "c.id = images.class_id), ext FROM images WHERE hash = ?",
                                    error);
  *insert_image = _sl_project_prepare (
      self,
      "INSERT INTO images (hash, ext, original_path, bytes, width, height, channels, depth, "
      "class_id, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      error);
  *insert_issue = _sl_project_prepare (
      self, "INSERT INTO import_issues (import_id, path, outcome, reason) VALUES (?, ?, ?, ?)",
      error);
  return *find_hash != NULL && *insert_image != NULL && *insert_issue != NULL;
}

/* Decodes and hashes files from *next on: as many as fit the batch or its
 * time. Returns how many are in `batch`; *ok is FALSE when a file failed
 * (the ones before it are still in the batch), result->cancelled TRUE when
 * `cancellable` stopped it. */
static guint
prepare_batch (ImportState *st, GPtrArray *files, guint *next, Prepared *batch,
               SlImportProgressFunc progress, gpointer user_data, GCancellable *cancellable,
               gboolean *ok, GError **error)
{
  gint64 batch_start = g_get_monotonic_time ();
  guint n = 0;

  while (*next < files->len && n < IMPORT_BATCH
         && g_get_monotonic_time () - batch_start < IMPORT_BATCH_US)
    {
      const ImportFile *file = g_ptr_array_index (files, *next);

      if (g_cancellable_is_cancelled (cancellable))
        {
          st->result->cancelled = TRUE;
          break;
        }
      if (!prepare_one (st, file, TRUE, &batch[n], error))
        {
          prepared_clear (&batch[n]);
          *ok = FALSE;
          break;
        }
      n++;
      (*next)++;
      st->result->files++;
      if (progress != NULL)
        {
          SlImportProgress p = { *next, files->len, file->path };
          progress (&p, user_data);
        }
    }
  return n;
}

/* Records how the import ended, and says so when it did not finish. */
static gboolean
end_import (ImportState *st, guint n_files, gboolean ok, GError *failure, GError **error)
{
  SlImportResult *result = st->result;

  finish_import (st->self, st->import_id,
                 !ok                 ? "failed"
                 : result->cancelled ? "cancelled"
                                     : "done",
                 result->added);
  if (!ok)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }
  g_clear_error (&failure);
  if (result->cancelled)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                   "The import was cancelled after %lld of %u files; the %lld images imported "
                   "so far are kept",
                   (long long) result->files, n_files, (long long) result->added);
      return FALSE;
    }
  return TRUE;
}

/* Imports `files` (ImportFile, in order) as one import named `source`: the
 * shared body of the folder and the file-list imports. Batch by batch, the
 * files are decoded, hashed and copied outside any transaction, then their
 * rows are written in one short transaction. The store lock, held shared
 * throughout, keeps the clean-up of other processes away from the copies
 * that have no row yet. */
static gboolean
import_collected (SlProject *self, const char *source, GPtrArray *files, gint64 max_pixels,
                  SlImportProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                  SlImportResult *result, GError **error)
{
  g_autoptr (GHashTable) classes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (sqlite3_stmt) find_hash = NULL, insert_image = NULL, insert_issue = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (SlLock) store_lock = NULL;
  g_autofree char *images_dir = NULL, *lock_path = NULL;
  g_autofree Prepared *batch = g_new0 (Prepared, IMPORT_BATCH);
  gint64 start = g_get_monotonic_time ();
  ImportState st = { 0 };
  gboolean ok = TRUE;

  images_dir = g_build_filename (self->path, "images", NULL);
  lock_path = sl_project_lock_path (self->path, SL_PROJECT_LOCK_STORE);
  if (!prepare_statements (self, &find_hash, &insert_image, &insert_issue, error)
      || !sl_project_check_writable (self, error)
      || (store_lock
          = sl_lock_take (lock_path, SL_LOCK_SHARED, -1, "the project's image store", error))
             == NULL
      /* The lock may have been waited for while a repair replaced project.db. */
      || !_sl_project_check_same_file (self, "Import", error)
      || !start_import (self, source, &st.import_id, error))
    return FALSE;
  st = (ImportState){ self,      result,       st.import_id, max_pixels, classes,
                      find_hash, insert_image, insert_issue, images_dir };

  for (guint i = 0; ok && !result->cancelled && i < files->len;)
    {
      guint n = prepare_batch (&st, files, &i, batch, progress, user_data, cancellable, &ok,
                               &local_error);

      /* Commit: what was prepared is kept even when the next file failed. */
      if (n > 0 && !commit_batch (&st, batch, n, ok ? &local_error : NULL))
        ok = FALSE;
      for (guint k = 0; k < n; k++)
        prepared_clear (&batch[k]);
    }
  result->seconds = (g_get_monotonic_time () - start) / 1e6;
  return end_import (&st, files->len, ok, g_steal_pointer (&local_error), error);
}

static void
init_result (SlImportResult *result)
{
  memset (result, 0, sizeof *result);
  result->image_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  result->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) import_issue_free);
}

/* In an anomaly project a folder named "good" (any case) holds good parts: its
 * images join the class "good"; any other folder names a kind of defect. */
static void
anomaly_folder_labels (SlProject *self, GPtrArray *files)
{
  if (sl_project_get_kind (self) != SL_PROJECT_KIND_ANOMALY)
    return;
  for (guint i = 0; i < files->len; i++)
    {
      ImportFile *file = g_ptr_array_index (files, i);

      if (file->class_name != NULL
          && g_ascii_strcasecmp (file->class_name, SL_ANOMALY_GOOD_CLASS) == 0)
        {
          g_free (file->class_name);
          file->class_name = g_strdup (SL_ANOMALY_GOOD_CLASS);
        }
    }
}

gboolean
sl_project_import_folder (SlProject *self, const char *folder, SlImportFlags flags,
                          gint64 max_pixels, SlImportProgressFunc progress, gpointer user_data,
                          GCancellable *cancellable, SlImportResult *result, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) import_file_free);

  g_return_val_if_fail (self != NULL && folder != NULL && result != NULL, FALSE);
  init_result (result);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
                   "%s is not a folder; give the folder that holds the images", folder);
      return FALSE;
    }
  collect_files (folder, NULL, (flags & SL_IMPORT_LABELS_FROM_FOLDERS) ? 0 : 1, files);
  g_ptr_array_sort (files, compare_files);
  anomaly_folder_labels (self, files);
  return import_collected (self, folder, files, max_pixels, progress, user_data, cancellable,
                           result, error);
}

/* How an import of a list of paths is named in the imports table. */
static char *
import_source (const char *const *paths, gsize n)
{
  if (n == 0)
    return g_strdup ("no files");
  if (n == 1)
    return g_strdup (paths[0]);
  return g_strdup_printf ("%s and %" G_GSIZE_FORMAT " more", paths[0], n - 1);
}

gboolean
sl_project_import_files (SlProject *self, const char *const *paths, gsize n, SlImportFlags flags,
                         gint64 max_pixels, SlImportProgressFunc progress, gpointer user_data,
                         GCancellable *cancellable, SlImportResult *result, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) import_file_free);
  g_autofree char *source = NULL;

  g_return_val_if_fail (self != NULL && (paths != NULL || n == 0) && result != NULL, FALSE);
  init_result (result);
  for (gsize i = 0; i < n; i++)
    {
      if (g_file_test (paths[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GPtrArray) below
              = g_ptr_array_new_with_free_func ((GDestroyNotify) import_file_free);

          /* A folder is imported as sl_project_import_folder would import it. */
          collect_files (paths[i], NULL, (flags & SL_IMPORT_LABELS_FROM_FOLDERS) ? 0 : 1, below);
          g_ptr_array_sort (below, compare_files);
          g_ptr_array_extend_and_steal (files, g_steal_pointer (&below));
        }
      else
        {
          /* A loose file is unlabelled; a missing one becomes an "unreadable" issue. */
          ImportFile *file = g_new0 (ImportFile, 1);

          file->path = g_strdup (paths[i]);
          g_ptr_array_add (files, file);
        }
    }
  anomaly_folder_labels (self, files);
  source = import_source (paths, n);
  return import_collected (self, source, files, max_pixels, progress, user_data, cancellable,
                           result, error);
}

gboolean
sl_project_import_files_as (SlProject *self, const char *const *paths, gsize n,
                            const char *class_name, gint64 max_pixels,
                            SlImportProgressFunc progress, gpointer user_data,
                            GCancellable *cancellable, SlImportResult *result, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) import_file_free);
  g_autoptr (SlClass) klass = NULL;
  g_autofree char *source = NULL;
  gint64 created = 0;

  g_return_val_if_fail (
      self != NULL && (paths != NULL || n == 0) && result != NULL && class_name != NULL, FALSE);
  init_result (result);
  /* "Good" is the good class of an anomaly project, not a kind of defect. */
  if (g_ascii_strcasecmp (class_name, SL_ANOMALY_GOOD_CLASS) == 0
      && sl_project_get_kind (self) == SL_PROJECT_KIND_ANOMALY)
    class_name = SL_ANOMALY_GOOD_CLASS;
  /* Made first, so that a bad name is said before anything is copied. */
  if ((klass = sl_project_find_class (self, class_name, NULL)) == NULL)
    {
      if (!sl_project_check_writable (self, error)
          || sl_project_add_class (self, class_name, NULL, NULL, error) < 0)
        return FALSE;
      created = 1;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (g_file_test (paths[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GPtrArray) below
              = g_ptr_array_new_with_free_func ((GDestroyNotify) import_file_free);

          /* Level 1: the folders below do not name classes. */
          collect_files (paths[i], NULL, 1, below);
          g_ptr_array_sort (below, compare_files);
          g_ptr_array_extend_and_steal (files, g_steal_pointer (&below));
        }
      else
        {
          ImportFile *file = g_new0 (ImportFile, 1);

          file->path = g_strdup (paths[i]);
          g_ptr_array_add (files, file);
        }
    }
  for (guint i = 0; i < files->len; i++)
    {
      ImportFile *file = g_ptr_array_index (files, i);

      g_free (file->class_name);
      file->class_name = g_strdup (class_name);
    }
  source = import_source (paths, n);
  if (!import_collected (self, source, files, max_pixels, progress, user_data, cancellable, result,
                         error))
    {
      result->classes_created += created;
      return FALSE;
    }
  result->classes_created += created;
  return TRUE;
}

GPtrArray *
sl_project_list_import_issues (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "SELECT path, outcome, reason FROM import_issues ORDER BY id", error);
  GPtrArray *out;

  if (stmt == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) import_issue_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      SlImportIssue *issue = g_new0 (SlImportIssue, 1);

      issue->path = _sl_sqlite_dup_text (stmt, 0);
      issue->outcome = sqlite3_column_int (stmt, 1);
      issue->reason = _sl_sqlite_dup_text (stmt, 2);
      g_ptr_array_add (out, issue);
    }
  return out;
}
