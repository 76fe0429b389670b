/* sl-train-page-history.c: a run's event log and step curves, kept in its folder so that they show again after the project is reopened. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-train-page-private.h"

#include <stdlib.h>

/* Both live in runs/run-N/ beside the checkpoints:
 *   events.log  the Train page's log of the run, one line per event, as shown;
 *   steps.tsv   "x<TAB>train loss<TAB>train accuracy<TAB>learning rate" per step (x in epochs),
 *               after a "# " header line.
 * They are written while the run trains (at every epoch and at its end) and replaced whole. */

static char *
history_path (SlTrainPage *self, gint64 run_id, const char *file)
{
  const SlRunInfo *run = sl_run_list_lookup (self->run_list, run_id);

  return run != NULL ? sl_project_run_file (sl_session_get_project (self->session), run, file)
                     : NULL;
}

/* The files being written, each to the text to write once that write is done (NULL: none).
 * A run saves at every epoch and again at its end, moments apart: two replace operations
 * on one file in flight together can finish in either order and leave the older text. */
static GHashTable *writing;

static void write_now (const char *path, GBytes *bytes);

static void
written (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree char *path = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) next = NULL;
  gpointer key;

  /* Losing the history loses no result (the epochs are in the project): say it, go on. */
  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    g_debug ("Could not keep a run's history: %s", error->message);
  if (g_hash_table_steal_extended (writing, path, &key, (gpointer *) &next))
    g_free (key);
  if (next != NULL)
    write_now (path, next);
}

static void
write_now (const char *path, GBytes *bytes)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);

  g_hash_table_insert (writing, g_strdup (path), NULL);
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_NONE, NULL, written,
                                       g_strdup (path));
}

/* Writes text to path in the background, after any write to it still in flight. */
static void
write_later (const char *path, GString *text)
{
  GBytes *bytes = g_string_free_to_bytes (text);

  if (writing == NULL)
    writing
        = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  if (g_hash_table_contains (writing, path))
    {
      g_hash_table_insert (writing, g_strdup (path), bytes); /* replaces an older queued text */
      return;
    }
  write_now (path, bytes);
  g_bytes_unref (bytes);
}

void
_sl_train_page_save_history (SlTrainPage *self)
{
  g_autofree char *log_path = history_path (self, self->live_run, "events.log");
  g_autofree char *steps_path = history_path (self, self->live_run, "steps.tsv");
  SlChartSeries *loss = self->live[CURVE_TRAIN_LOSS];
  SlChartSeries *accuracy = self->live[CURVE_TRAIN_ACCURACY];
  SlChartSeries *rate = self->live[CURVE_LEARNING_RATE];
  guint n = MIN (sl_chart_series_get_n_points (loss), MIN (sl_chart_series_get_n_points (accuracy),
                                                           sl_chart_series_get_n_points (rate)));
  GString *log, *steps;

  if (log_path == NULL || steps_path == NULL)
    return;
  log = g_string_new (NULL);
  for (guint i = 0; i < self->live_log->len; i++)
    g_string_append_printf (log, "%s\n", (const char *) g_ptr_array_index (self->live_log, i));
  write_later (log_path, log);

  steps = g_string_new ("# x\ttrain_loss\ttrain_accuracy\tlearning_rate\n");
  for (guint i = 0; i < n; i++)
    {
      char buffers[4][G_ASCII_DTOSTR_BUF_SIZE];
      double x, y[3];

      sl_chart_series_get_point (loss, i, &x, &y[0]);
      sl_chart_series_get_point (accuracy, i, NULL, &y[1]);
      sl_chart_series_get_point (rate, i, NULL, &y[2]);
      g_string_append_printf (steps, "%s\t%s\t%s\t%s\n",
                              g_ascii_dtostr (buffers[0], sizeof buffers[0], x),
                              g_ascii_dtostr (buffers[1], sizeof buffers[1], y[0]),
                              g_ascii_dtostr (buffers[2], sizeof buffers[2], y[1]),
                              g_ascii_dtostr (buffers[3], sizeof buffers[3], y[2]));
    }
  write_later (steps_path, steps);
}

char **
_sl_train_page_load_history_log (SlTrainPage *self, gint64 run_id)
{
  g_autofree char *path = history_path (self, run_id, "events.log");
  g_autofree char *text = NULL;

  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL) || *text == '\0')
    return NULL;
  g_strchomp (text);
  return g_strsplit (text, "\n", -1);
}

gboolean
_sl_train_page_load_history_steps (SlTrainPage *self, gint64 run_id, SlChartSeries **curves)
{
  static const int columns[] = { CURVE_TRAIN_LOSS, CURVE_TRAIN_ACCURACY, CURVE_LEARNING_RATE };
  g_autofree char *path = history_path (self, run_id, "steps.tsv");
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  guint rows = 0;

  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = NULL;
      double row[4];

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], "\t", -1);
      if (g_strv_length (fields) != 4)
        return FALSE; /* not ours: the epoch curves stay */
      for (int f = 0; f < 4; f++)
        row[f] = g_ascii_strtod (fields[f], NULL);
      g_array_append_vals (values, row, 4);
      rows++;
    }
  if (rows == 0)
    return FALSE;
  for (guint c = 0; c < G_N_ELEMENTS (columns); c++)
    {
      sl_chart_series_clear (curves[columns[c]]);
      for (guint r = 0; r < rows; r++)
        sl_chart_series_append (curves[columns[c]], g_array_index (values, double, 4 * r),
                                g_array_index (values, double, 4 * r + 1 + c));
    }
  return TRUE;
}
