/* sl-cli-util.c: what the project subcommands share: progress bars, JSON output, errors, Ctrl+C. */
#include "sl-cli-private.h"
#include "sightline.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void
on_interrupt (int signum)
{
  interrupted = 1;
}

void
_sl_cli_catch_interrupt (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

gboolean
_sl_cli_interrupted (void)
{
  return interrupted != 0;
}

int
_sl_cli_fail (const char *command, GError *error)
{
  fprintf (stderr, "sightline-cli %s: %s\n", command, error != NULL ? error->message : "failed");
  return 1;
}

int
_sl_cli_usage (const char *command, const char *message)
{
  fprintf (stderr, "sightline-cli %s: %s (see 'sightline-cli %s --help')\n", command, message,
           command);
  return 2;
}

gboolean
_sl_cli_device_valid (const char *device)
{
  return device == NULL || sl_device_id_parse (device, NULL, NULL, NULL) == SL_OK;
}

SlProject *
_sl_cli_open_project (const char *command, const char *path)
{
  g_autoptr (GError) error = NULL;
  /* Commands that always change the project; the others may only read (an
   * edit they are asked for fails with the same reason). */
  static const char *const writers[] = { "import", "split", "train", "conflicts-resolve" };
  SlProject *project = sl_project_open (path, &error);

  if (project == NULL)
    {
      _sl_cli_fail (command, error);
      if (g_error_matches (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DAMAGED))
        fprintf (stderr,
                 "sightline-cli %s: nothing was changed; 'sightline-cli repair' is the "
                 "way back.\n",
                 command);
      return NULL;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (writers); i++)
    if (strcmp (command, writers[i]) == 0 && !sl_project_check_writable (project, &error))
      {
        g_prefix_error (&error, "'%s' changes the project, which is read-only. ", command);
        _sl_cli_fail (command, error);
        sl_project_unref (project);
        return NULL;
      }
  return project;
}

void
_sl_cli_progress_init (SlCliProgress *bar, gboolean json)
{
  memset (bar, 0, sizeof *bar);
  bar->enabled = !json && isatty (STDERR_FILENO);
}

void
_sl_cli_progress_draw (SlCliProgress *bar, double fraction, const char *text)
{
  const int width = 28;
  gint64 now = g_get_monotonic_time ();
  int filled;

  if (!bar->enabled || (now - bar->last_draw < 100000 && fraction < 1.0))
    return;
  bar->last_draw = now;
  fraction = CLAMP (fraction, 0.0, 1.0);
  filled = (int) (fraction * width);
  fprintf (stderr, "\r[%.*s%*s] %3.0f%%  %s\033[K", filled, "############################",
           width - filled, "", fraction * 100, text);
  fflush (stderr);
  bar->drawn = TRUE;
}

void
_sl_cli_progress_clear (SlCliProgress *bar)
{
  if (bar->drawn)
    fprintf (stderr, "\r\033[K");
  bar->drawn = FALSE;
}

void
_sl_cli_print_json (cJSON *doc)
{
  char *text = cJSON_Print (doc);

  puts (text);
  cJSON_free (text);
  cJSON_Delete (doc);
}

cJSON *
_sl_cli_json_number (double value)
{
  /* NaN and infinity are not JSON: they become null. */
  return isfinite (value) ? cJSON_CreateNumber (value) : cJSON_CreateNull ();
}

char *
_sl_cli_format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("--");
  if (seconds < 60)
    return g_strdup_printf ("%.0f s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%d min %02d s", (int) seconds / 60, (int) seconds % 60);
  return g_strdup_printf ("%d h %02d min", (int) seconds / 3600, ((int) seconds % 3600) / 60);
}
