/* sl-infer-inputs.c: turns sightline-infer's PATH arguments and stdin lists into image files, in order. */
#define _GNU_SOURCE
#include "sl-infer-private.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Folders nested deeper than this are not descended (a guard against link loops). */
#define MAX_DEPTH 64

typedef struct
{
  bool recursive;
  SlInferVisit visit;
  void *user_data;
  int failures;
  /* The folders being walked, to skip symbolic links back into them. */
  dev_t devs[MAX_DEPTH];
  ino_t inos[MAX_DEPTH];
  int depth;
} Walk;

static const char *const image_extensions[] = {
  "png", "jpg", "jpeg", "jpe", "bmp", "dib", "tif", "tiff", "pgm", "ppm", "pbm", "pnm",
};

/* Folders hold other files too; only names with an image extension are classified. */
static bool
has_image_extension (const char *name)
{
  const char *dot = strrchr (name, '.');

  if (dot == NULL)
    return false;
  for (size_t i = 0; i < sizeof image_extensions / sizeof image_extensions[0]; i++)
    if (strcasecmp (dot + 1, image_extensions[i]) == 0)
      return true;
  return false;
}

static void
fail (Walk *w, const char *format, const char *path, int errnum)
{
  char message[512];

  snprintf (message, sizeof message, format, path);
  _sl_infer_warn ("%s: %s", message, strerror (errnum));
  w->failures++;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The visible entries of a folder, sorted by name (byte order, so the same on every machine). */
static char **
list_folder (Walk *w, const char *path, size_t *count)
{
  DIR *dir = opendir (path);
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;

  *count = 0;
  if (dir == NULL)
    {
      fail (w, "cannot read the folder %s", path, errno);
      return NULL;
    }
  while ((e = readdir (dir)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      if (n == cap)
        {
          char **grown = realloc (names, sizeof *names * (cap = cap ? cap * 2 : 64));
          if (grown == NULL)
            break;
          names = grown;
        }
      names[n] = strdup (e->d_name);
      if (names[n] != NULL)
        n++;
    }
  closedir (dir);
  qsort (names, n, sizeof *names, compare_names);
  *count = n;
  return names;
}

static bool
already_walking (const Walk *w, const struct stat *sb)
{
  for (int i = 0; i < w->depth; i++)
    if (w->devs[i] == sb->st_dev && w->inos[i] == sb->st_ino)
      return true;
  return false;
}

static void walk_path (Walk *w, const char *path, bool named);

static void
walk_folder (Walk *w, const char *path, const struct stat *sb)
{
  size_t n;
  char **names;

  if (w->depth >= MAX_DEPTH || already_walking (w, sb))
    return;
  names = list_folder (w, path, &n);
  w->devs[w->depth] = sb->st_dev;
  w->inos[w->depth] = sb->st_ino;
  w->depth++;
  for (size_t i = 0; i < n; i++)
    {
      size_t len = strlen (path);
      char *child;

      if (asprintf (&child, "%s%s%s", path, len > 0 && path[len - 1] == '/' ? "" : "/", names[i])
          >= 0)
        {
          walk_path (w, child, false);
          free (child);
        }
      free (names[i]);
    }
  w->depth--;
  free (names);
}

/* A named path is classified whatever its extension (and fails if it is not
 * an image); inside folders only image files count and subfolders need
 * --recursive. */
static void
walk_path (Walk *w, const char *path, bool named)
{
  struct stat sb;

  if (stat (path, &sb) != 0)
    {
      if (named)
        fail (w, "cannot read %s", path, errno);
      return;
    }
  if (S_ISDIR (sb.st_mode))
    {
      if (named || w->recursive)
        walk_folder (w, path, &sb);
      return;
    }
  /* A FIFO, socket or device would block reading, or never end: only regular
   * files are images. */
  if (!S_ISREG (sb.st_mode))
    {
      if (named)
        {
          _sl_infer_warn ("%s is not a regular file (a %s), so it is not read", path,
                          S_ISFIFO (sb.st_mode)   ? "named pipe"
                          : S_ISSOCK (sb.st_mode) ? "socket"
                          : S_ISCHR (sb.st_mode)  ? "character device"
                          : S_ISBLK (sb.st_mode)  ? "block device"
                                                  : "special file");
          w->failures++;
        }
      return;
    }
  if (named || has_image_extension (path))
    w->visit (path, w->user_data);
}

/* One path per line; a trailing CR (lists written on Windows) and empty lines are ignored. */
static void
walk_stdin (Walk *w)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;

  while ((len = getline (&line, &cap, stdin)) > 0)
    {
      while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
      if (len > 0)
        walk_path (w, line, true);
    }
  if (ferror (stdin))
    fail (w, "cannot read the list of paths from %s", "stdin", errno);
  free (line);
}

int
_sl_infer_inputs_walk (const SlInferOptions *o, SlInferVisit visit, void *user_data)
{
  Walk w = { .recursive = o->recursive, .visit = visit, .user_data = user_data };

  if (o->read_stdin)
    walk_stdin (&w);
  for (int i = 0; i < o->n_paths; i++)
    {
      if (strcmp (o->paths[i], "-") == 0)
        walk_stdin (&w);
      else
        walk_path (&w, o->paths[i], true);
    }
  return w.failures;
}
