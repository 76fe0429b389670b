/* sl-project-lock.h: locks that mark work in progress and die with their process (flock). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A held lock on a lock file. flock() locks belong to the open file: they are
 * released by sl_lock_release, by exit, and by a kill -9, so a lock that
 * nobody holds means that whoever took it is gone. Lock files stay in place
 * (deleting one while another process is about to lock it would let two
 * holders each lock a different file). */
typedef struct _SlLock SlLock;

typedef enum
{
  SL_LOCK_SHARED,    /* many holders: "I am using this" */
  SL_LOCK_EXCLUSIVE, /* one holder: "nobody else may be using this" */
} SlLockMode;

/* Takes a lock on the file at `path` (created, with its folder, if missing).
 * It waits at most wait_ms milliseconds for a holder that conflicts (0: not
 * at all; -1: as long as it takes); a wait over two seconds is said once with
 * g_message, naming `what` ("the image store"). NULL with
 * SL_PROJECT_ERROR_BUSY when the wait ran out, SL_PROJECT_ERROR_IO when the
 * file cannot be made (for example on a read-only medium). */
SlLock *sl_lock_take (const char *path, SlLockMode mode, int wait_ms, const char *what,
                      GError **error);
/* Releases the lock (NULL-safe). */
void sl_lock_release (SlLock *lock);
/* Frees the handle and returns the descriptor that holds the lock, for a
 * caller that keeps a plain fd (closing it releases the lock). */
int sl_lock_steal_fd (SlLock *lock);
/* Whether a live process holds an exclusive lock on `path` (shared holders do
 * not count). FALSE when the file is missing or nobody holds it. It probes
 * with a shared lock for an instant,
 * so an exclusive taker should wait a little (wait_ms > 0) rather than fail. */
gboolean sl_lock_is_held (const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlLock, sl_lock_release)

/* Where a project keeps its lock files: <project>/locks/<name>.lock. */
char *sl_project_lock_path (const char *project_path, const char *name);

/* The image store's lock: every import holds it shared from its first copy to
 * its last row; the clean-up on open takes it exclusive (without waiting) and
 * touches images/ only when it got it, i.e. when no import is alive. */
#define SL_PROJECT_LOCK_STORE "store"

G_END_DECLS
