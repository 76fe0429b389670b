/* sl-files.h: file-system helpers shared by the GLib layers, tools, tests and benchmarks. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Deletes a folder and everything below it, best effort; symbolic links are
 * removed, never followed. Used for temporary folders. */
void sl_remove_tree (const char *path);

/* Replaces path's contents atomically and durably (a temporary file beside it, synced,
 * then renamed). A failure names path and the reason, never the temporary file: "Could not
 * write /x/model.json: No space left on device". len < 0: data is a string. */
gboolean sl_file_replace_contents (const char *path, const char *data, gssize len, GError **error);

/* The SHA-256 of a file's bytes as lowercase hex (g_free), read in blocks; bytes (may be
 * NULL) receives the file's size. NULL with error set when it cannot be read. */
char *sl_file_sha256 (const char *path, gint64 *bytes, GError **error);

G_END_DECLS
