/* sl-recent-projects.h: the recent-projects list in GSettings, and what the welcome view shows of each. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The list keeps this many projects, most recent first. */
#define SL_RECENT_PROJECTS_MAX 10

/* Moves (or adds) path to the front of the "recent-projects" key of settings
 * (the application's), without duplicates. */
void sl_recent_projects_add (GSettings *settings, const char *path);
void sl_recent_projects_remove (GSettings *settings, const char *path);

typedef enum
{
  SL_RECENT_OK,
  SL_RECENT_MISSING,    /* the folder or its project.db is gone */
  SL_RECENT_NEWER,      /* saved by a newer Sightline */
  SL_RECENT_UNREADABLE, /* any other error; see message */
} SlRecentStatus;

typedef struct
{
  char *path;
  SlRecentStatus status;
  char *message;     /* why it could not be read, or NULL */
  char *name;        /* the project's name, or NULL */
  gint64 images;     /* images in the project */
  GBytes *thumbnail; /* the first image as 8-bit RGBA rows (straight alpha), or NULL */
  int thumbnail_width, thumbnail_height;
  gboolean thumbnail_alpha; /* the image has an alpha channel (else every alpha is 255) */
} SlRecentInfo;

void sl_recent_info_free (SlRecentInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlRecentInfo, sl_recent_info_free)

/* Reads a project's name, image count and a thumbnail of its first image
 * (its centre, size x size pixels, transparency kept) on a worker thread. */
void sl_recent_info_load_async (const char *path, int size, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
SlRecentInfo *sl_recent_info_load_finish (GAsyncResult *result, GError **error);

G_END_DECLS
