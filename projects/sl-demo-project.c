/* sl-demo-project.c: Fashion-MNIST as PNG class folders, and the workbench's ready-made demo project. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-demo-project.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

#include "sl-files.h"
#include "sl-idx.h"
#include "sl-project-settings.h"
#include "sl-run.h"
#include "sl-vision.h"

/* Folder names, so no slash in "T-shirt/top". */
static const char *const class_names[10] = {
  "T-shirt-top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle-boot",
};

static void
put_chunk (GByteArray *out, const char *type, const guint8 *data, guint32 size)
{
  guint8 be[4] = { size >> 24, size >> 16, size >> 8, size };
  uLong crc = crc32 (0, (const Bytef *) type, 4);

  g_byte_array_append (out, be, 4);
  g_byte_array_append (out, (const guint8 *) type, 4);
  if (size > 0)
    g_byte_array_append (out, data, size);
  if (size > 0)
    crc = crc32 (crc, data, size);
  be[0] = crc >> 24, be[1] = crc >> 16, be[2] = crc >> 8, be[3] = crc;
  g_byte_array_append (out, be, 4);
}

/* A gray 8-bit PNG in memory. sl_image_save would do, but it syncs every file
 * to disk, which makes writing 20,000 throw-away files take minutes. */
static gboolean
write_gray_png (const char *path, const guint8 *pixels, int width, int height, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autofree guint8 *raw = g_malloc ((gsize) (width + 1) * height);
  uLongf packed_size = compressBound ((uLong) (width + 1) * height);
  g_autofree guint8 *packed = g_malloc (packed_size);
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint8 header[13] = {
    width >> 24, width >> 16, width >> 8, width, height >> 24, height >> 16, height >> 8, height, 8,
    0,           0,           0,          0
  };

  for (int y = 0; y < height; y++)
    {
      raw[(gsize) y * (width + 1)] = 0; /* filter: none */
      memcpy (raw + (gsize) y * (width + 1) + 1, pixels + (gsize) y * width, width);
    }
  if (compress2 (packed, &packed_size, raw, (uLong) (width + 1) * height, 6) != Z_OK)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not compress %s", path);
      return FALSE;
    }
  g_byte_array_append (out, signature, sizeof signature);
  put_chunk (out, "IHDR", header, sizeof header);
  put_chunk (out, "IDAT", packed, (guint32) packed_size);
  put_chunk (out, "IEND", NULL, 0);
  return g_file_set_contents (path, (const char *) out->data, out->len, error);
}

gboolean
sl_demo_write_pngs (const char *data_dir, const char *split, int limit, const char *dest,
                    const char *prefix, GCancellable *cancellable, GError **error)
{
  g_autofree char *images_path = g_strdup_printf ("%s/%s-images-idx3-ubyte.gz", data_dir, split);
  g_autofree char *labels_path = g_strdup_printf ("%s/%s-labels-idx1-ubyte.gz", data_dir, split);
  sl_idx images = { 0 }, labels = { 0 };
  sl_error err = { 0 };
  gboolean ok = FALSE;

  if (sl_idx_load (images_path, limit, &images, &err) != SL_OK
      || sl_idx_load (labels_path, limit, &labels, &err) != SL_OK)
    {
      g_set_error_literal (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND, err.message);
      goto out;
    }
  for (int c = 0; c < 10; c++)
    {
      g_autofree char *dir = g_build_filename (dest, class_names[c], NULL);
      g_mkdir_with_parents (dir, 0755);
    }
  for (int64_t i = 0; i < images.count && i < labels.count; i++)
    {
      const size_t size = (size_t) images.width * images.height;
      g_autofree char *name = g_strdup_printf ("%s-%05lld.png", prefix, (long long) i);
      g_autofree char *path = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      if (labels.data[i] >= 10)
        continue;
      path = g_build_filename (dest, class_names[labels.data[i]], name, NULL);
      if (!write_gray_png (path, images.data + i * size, images.width, images.height, error))
        goto out;
    }
  ok = TRUE;
out:
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
  return ok;
}

typedef struct
{
  SlDemoProgressFunc func;
  gpointer user_data;
} Progress;

static void
report (const Progress *p, double fraction, const char *what)
{
  if (p->func != NULL)
    p->func (fraction, what, p->user_data);
}

static void
import_progress (const SlImportProgress *ip, gpointer user_data)
{
  g_autofree char *what = g_strdup_printf ("Importing image %lld of %lld", (long long) ip->done,
                                           (long long) ip->total);

  /* Import is the long part: 10 % to 85 % of the bar. */
  report (user_data, 0.10 + 0.75 * ip->done / MAX (ip->total, 1), what);
}

/* Gaussian blur (3 px), CLAHE (4x4 tiles), normalize; a 28x28 gray input. */
static sl_pipeline *
make_chain (GError **error)
{
  sl_input_spec spec = { .width = 28, .height = 28, .channels = 1 };
  sl_pipeline *pipeline = NULL;
  sl_error err = { 0 };

  spec.std[0] = spec.std[1] = spec.std[2] = 1.0f;
  if (sl_pipeline_new (&pipeline, &err) != SL_OK
      || sl_pipeline_insert_step (pipeline, -1, "gaussian-blur", &err) != SL_OK
      || sl_pipeline_set_param (pipeline, 0, "ksize", 3, &err) != SL_OK
      || sl_pipeline_set_param (pipeline, 0, "sigma", 0.8, &err) != SL_OK
      || sl_pipeline_insert_step (pipeline, -1, "clahe", &err) != SL_OK
      || sl_pipeline_set_param (pipeline, 1, "clip-limit", 2.0, &err) != SL_OK
      || sl_pipeline_set_param (pipeline, 1, "tiles", 4, &err) != SL_OK
      || sl_pipeline_insert_step (pipeline, -1, "normalize", &err) != SL_OK
      || sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME,
                   "Could not make the demo's preprocessing chain: %s", err.message);
      sl_pipeline_free (pipeline);
      return NULL;
    }
  return pipeline;
}

/* The chain, its input mean and standard deviation measured on its own output
 * as the Preprocess page measures them. */
static gboolean
store_chain (SlProject *project, GError **error)
{
  sl_pipeline *pipeline = make_chain (error);
  g_autofree char *measured = NULL;
  char *json;

  if (pipeline == NULL)
    return FALSE;
  json = sl_pipeline_to_json (pipeline);
  sl_pipeline_free (pipeline);
  measured = sl_project_measure_pipeline_json (sl_project_get_path (project), json, NULL, error);
  sl_free (json);
  return measured != NULL && sl_project_set_pipeline_json (project, measured, error);
}

static gboolean
import_and_split (SlProject *project, const char *src, Progress *progress,
                  GCancellable *cancellable, GError **error)
{
  SlImportResult result = { 0 };
  SlSplitConfig split;
  gboolean ok;

  ok = sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, import_progress,
                                 progress, cancellable, &result, error);
  sl_import_result_clear (&result);
  if (!ok)
    return FALSE;
  report (progress, 0.87, "Splitting into training, validation and test images");
  sl_split_config_init (&split);
  return sl_project_split (project, &split, NULL, error);
}

SlProject *
sl_demo_project_build (const char *path, const char *data_dir, int n_images,
                       SlDemoProgressFunc progress_func, gpointer user_data,
                       GCancellable *cancellable, GError **error)
{
  Progress progress = { progress_func, user_data };
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *tmp = NULL, *src = NULL;
  gboolean ok;

  g_return_val_if_fail (path != NULL && n_images > 0, NULL);

  if ((tmp = g_dir_make_tmp ("sightline-demo-XXXXXX", error)) == NULL)
    return NULL;
  src = g_build_filename (tmp, "fashion-mnist", NULL);
  report (&progress, 0.0, "Writing Fashion-MNIST images");
  if (!sl_demo_write_pngs (data_dir, "train", n_images, src, "fashion", cancellable, &local_error))
    {
      if (g_error_matches (local_error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND))
        g_prefix_error (&local_error, "The Fashion-MNIST data set is missing (install Debian's "
                                      "dataset-fashion-mnist): ");
      g_propagate_error (error, g_steal_pointer (&local_error));
      sl_remove_tree (tmp);
      return NULL;
    }
  report (&progress, 0.10, "Creating the project");
  ok = (project = sl_project_create (path, "Fashion-MNIST demo", error)) != NULL
       && import_and_split (project, src, &progress, cancellable, error);
  sl_remove_tree (tmp);
  if (!ok)
    return NULL;
  report (&progress, 0.90, "Measuring the preprocessing chain");
  if (!store_chain (project, error))
    return NULL;
  report (&progress, 1.0, "Done");
  return g_steal_pointer (&project);
}

char *
sl_demo_project_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "sightline", "demo-project", NULL);
}

gboolean
sl_demo_project_ensure (const char *path, const char *data_dir, int n_images,
                        SlDemoProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                        GError **error)
{
  g_autofree char *db = g_build_filename (path, "project.db", NULL);
  g_autofree char *partial = g_strconcat (path, ".partial", NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (SlProject) project = NULL;

  if (g_file_test (db, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not create %s: %s", parent,
                   g_strerror (saved));
      return FALSE;
    }
  sl_remove_tree (partial); /* what an earlier, interrupted build left */
  project = sl_demo_project_build (partial, data_dir, n_images, progress, user_data, cancellable,
                                   error);
  if (project == NULL)
    {
      sl_remove_tree (partial);
      return FALSE;
    }
  g_clear_pointer (&project, sl_project_unref);
  g_rmdir (path); /* an empty folder in the way; anything else makes the rename fail */
  if (g_rename (partial, path) != 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not move %s to %s: %s",
                   partial, path, g_strerror (saved));
      sl_remove_tree (partial);
      return FALSE;
    }
  return TRUE;
}
