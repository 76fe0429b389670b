/* sl-files.c: file-system helpers shared by the GLib layers, tools, tests and benchmarks. */
#include "sl-files.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

gboolean
sl_file_replace_contents (const char *path, const char *data, gssize len, GError **error)
{
  g_autoptr (GError) local = NULL;
  const char *reason;

  if (g_file_set_contents_full (path, data, len,
                                G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                &local))
    return TRUE;
  /* GLib's message names its temporary file ("Failed to create file “x.json.5KQ2T1”: …");
   * the reason is what follows the last ": ". */
  reason = strrchr (local->message, ':');
  reason = reason != NULL && reason[1] == ' ' ? reason + 2 : local->message;
  g_set_error (error, local->domain, local->code, "Could not write %s: %s", path, reason);
  return FALSE;
}

void
sl_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        sl_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

char *
sl_file_sha256 (const char *path, gint64 *bytes, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, error);
  guchar buf[65536];
  gssize n;
  gint64 total = 0;

  if (bytes != NULL)
    *bytes = 0;
  if (in == NULL)
    return NULL;
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buf, sizeof buf, NULL, error)) > 0)
    {
      g_checksum_update (sum, buf, n);
      total += n;
    }
  if (n < 0)
    return NULL;
  if (bytes != NULL)
    *bytes = total;
  return g_strdup (g_checksum_get_string (sum));
}
