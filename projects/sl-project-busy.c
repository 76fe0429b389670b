/* sl-project-busy.c: waiting politely when another process is writing to the project. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-project-private.h"

/* A wait longer than this is said (once per wait). */
#define SAY_AFTER_US (2 * G_USEC_PER_SEC)

/* SQLite calls this while another connection holds the write lock (or the
 * WAL is being recovered); returning 0 ends the wait with SQLITE_BUSY. Write
 * transactions are short (an import commits a batch of rows whose files are
 * already written), so a long wait means another program is stuck. */
static int
on_busy (void *data, int count)
{
  SlProject *self = data;
  gint64 now = g_get_monotonic_time ();

  if (count == 0)
    {
      self->busy_since = now;
      self->busy_said = FALSE;
    }
  if (now - self->busy_since >= (gint64) SL_PROJECT_BUSY_LIMIT_S * G_USEC_PER_SEC)
    return 0;
  if (!self->busy_said && now - self->busy_since >= SAY_AFTER_US)
    {
      g_message ("Another program is writing to the project %s; waiting for it (up to %d s)…",
                 self->path, SL_PROJECT_BUSY_LIMIT_S);
      self->busy_said = TRUE;
    }
  /* Short pauses first (most writes take milliseconds), then 50 ms steps. */
  g_usleep (MIN (1 << MIN (count, 6), 50) * 1000);
  return 1;
}

void
_sl_project_wait_when_busy (SlProject *self)
{
  sqlite3_busy_handler (self->db, on_busy, self);
}

gboolean
_sl_project_set_busy_error (SlProject *self, GError **error, const char *what)
{
  int rc = sqlite3_extended_errcode (self->db) & 0xff;

  if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
    return FALSE;
  if (g_get_monotonic_time () - self->busy_since
      >= (gint64) SL_PROJECT_BUSY_LIMIT_S * G_USEC_PER_SEC)
    g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                 "%s: another program kept the project %s busy for over %d s. Try again when it "
                 "has finished; if none is running, a stuck process may hold it (close it).",
                 what, self->path, SL_PROJECT_BUSY_LIMIT_S);
  else
    g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                 "%s: another program changed the project %s at the same moment; try again", what,
                 self->path);
  return TRUE;
}
