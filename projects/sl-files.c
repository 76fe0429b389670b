/* sl-files.c: file-system helpers shared by the GLib layers, tools, tests and benchmarks. */
#include "sl-files.h"

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
