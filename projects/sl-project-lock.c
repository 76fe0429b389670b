/* sl-project-lock.c: flock()-based locks that mark work in progress and die with their process. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "sl-project.h"

/* How long a wait goes on before it is said. */
#define SAY_AFTER_MS 2000

struct _SlLock
{
  int fd;
};

char *
sl_project_lock_path (const char *project_path, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".lock", NULL);

  return g_build_filename (project_path, "locks", file, NULL);
}

static int
open_lock_file (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;

  if (g_mkdir_with_parents (dir, 0755) != 0
      || (fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
    {
      int saved = errno;
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO,
                   "Could not open the lock file %s: %s", path, g_strerror (saved));
      return -1;
    }
  return fd;
}

SlLock *
sl_lock_take (const char *path, SlLockMode mode, int wait_ms, const char *what, GError **error)
{
  int op = mode == SL_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
  gint64 start = g_get_monotonic_time ();
  gboolean said = FALSE;
  int fd, pause_ms = 1;
  SlLock *lock;

  g_return_val_if_fail (path != NULL, NULL);
  if ((fd = open_lock_file (path, error)) < 0)
    return NULL;
  /* Polled rather than blocking, so the wait can be bounded and said. */
  while (flock (fd, op | LOCK_NB) != 0)
    {
      gint64 waited_ms = (g_get_monotonic_time () - start) / 1000;

      if (errno == EINTR)
        continue;
      if (errno != EWOULDBLOCK || (wait_ms >= 0 && waited_ms >= wait_ms))
        {
          int saved = errno;

          close (fd);
          if (saved == EWOULDBLOCK)
            g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                         "%s is in use by another process", what != NULL ? what : path);
          else
            g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not lock %s: %s",
                         path, g_strerror (saved));
          return NULL;
        }
      if (!said && waited_ms >= SAY_AFTER_MS)
        {
          g_message ("Waiting for another process to finish with %s…", what != NULL ? what : path);
          said = TRUE;
        }
      g_usleep (pause_ms * 1000);
      pause_ms = MIN (pause_ms * 2, 50);
    }
  lock = g_new (SlLock, 1);
  lock->fd = fd;
  return lock;
}

void
sl_lock_release (SlLock *lock)
{
  if (lock == NULL)
    return;
  close (lock->fd); /* closing the only descriptor releases the flock */
  g_free (lock);
}

int
sl_lock_steal_fd (SlLock *lock)
{
  int fd = lock->fd;

  g_free (lock);
  return fd;
}

gboolean
sl_lock_is_held (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  gboolean held;

  if (fd < 0)
    return FALSE;
  /* An exclusive holder blocks a shared lock; shared holders (readers) do not
   * count as work in progress. */
  held = flock (fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close (fd);
  return held;
}
