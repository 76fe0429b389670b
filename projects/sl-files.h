/* sl-files.h: file-system helpers shared by the GLib layers, tools, tests and benchmarks. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Deletes a folder and everything below it, best effort; symbolic links are
 * removed, never followed. Used for temporary folders. */
void sl_remove_tree (const char *path);

G_END_DECLS
