/* test-projects-concurrency.c: many sightline-cli processes on one project, some killed with -9. */
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "projects-test-util.h"
#include "sl-project-private.h" /* the raw "import-active" marker */
#include "sl-project-lock.h"
#include "sl-run-private.h" /* a run's lock */
#include "sl-vision.h"

/* Each trial: a copy of a project with a trained run, then PROCS commands started
 * within START_SPREAD_MS of each other, some killed at random. Trials and the
 * seed come from SL_CONCURRENCY_TRIALS / SL_CONCURRENCY_SEED (a longer stress
 * run); SL_CONCURRENCY_REPORT_ONLY=1 prints the findings without failing (to
 * measure a build without the fixes). */
#define DEFAULT_TRIALS  3
#define PROCS           7
#define START_SPREAD_MS 700
#define KILL_PERCENT    35
#define KILL_AFTER_MS   1500   /* a killed command dies within this of its start */
#define WAIT_LIMIT_MS   100000 /* then the remaining commands are waited for without a clock */
#define BASE_PER_CLASS  30     /* the base import: 60 labelled images, ids 1..60 */
#define LABEL_CHUNK     5      /* each label command owns 5 of the base images */
#define SIDE            16

typedef enum
{
  CMD_IMPORT,
  CMD_STATS,
  CMD_LABEL,
  CMD_TRAIN,
  CMD_EXPORT,
  CMD_RUNS,
  N_CMDS
} CmdKind;

static const char *const kind_names[] = { "import", "stats", "label", "train", "export", "runs" };

typedef struct
{
  CmdKind kind;
  int start_ms, kill_ms; /* kill_ms < 0: never killed */
  GSubprocess *proc;
  char *out_path, *err_path;
  char *source;    /* import: its folder */
  char *label_cls; /* label: the class it sets */
  int label_first; /* label: its first image id */
  char *export_dir;
  gboolean killed;
  int status;
  int end_ms; /* when it was seen to have exited */
} Proc;

typedef struct
{
  int trials;
  int lost_files;       /* image rows without their stored copy */
  int orphan_files;     /* stored copies (or temporaries) without a row */
  int lost_checkpoints; /* a run reported an epoch, then lacked a checkpoint */
  int false_successes;  /* exit 0 but what it reported is not there */
  int unexpected_fails; /* not killed, yet failed */
  int locked_messages;  /* raw "database is locked" on stderr */
  int kills;
  int commands;
  int slowest_edit_ms; /* the longest a label or stats that was not killed took */
} Findings;

/* Writes n distinct random gray images into dir/a and dir/b. */
static int
image_side (void)
{
  const char *env = g_getenv ("SL_CONCURRENCY_IMAGE_SIDE");

  return env != NULL ? CLAMP (atoi (env), 16, 4096) : SIDE;
}

static void
write_images (const char *dir, int n, GRand *rand)
{
  const int side = image_side ();
  g_autofree guint8 *pixels = g_malloc ((gsize) side * side);

  for (int i = 0; i < n; i++)
    {
      g_autofree char *folder = g_build_filename (dir, i % 2 ? "b" : "a", NULL);
      g_autofree char *file = g_strdup_printf ("img-%04d.png", i);
      g_autofree char *path = g_build_filename (folder, file, NULL);
      sl_image view = { 0 };
      sl_error err = { 0 };

      g_mkdir_with_parents (folder, 0755);
      for (gsize p = 0; p < (gsize) side * side; p++)
        pixels[p] = (guint8) g_rand_int_range (rand, 0, 256);
      g_assert_cmpint (sl_image_borrow (&view, pixels, side, side, 1, 8, side, &err), ==, SL_OK);
      if (sl_image_save (&view, path, &err) != SL_OK)
        g_error ("could not write %s: %s", path, err.message);
    }
}

static int
run_sync (char **out, const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err_text = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               out == NULL ? G_SPAWN_STDOUT_TO_DEV_NULL : G_SPAWN_DEFAULT, NULL,
                               NULL, out, &err_text, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("%s %s failed: %s", argv[1], argv[2], err_text);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* A new project: BASE_PER_CLASS images per class, split, one short run. */
static void
make_project (const char *tmp, const char *project, GRand *rand)
{
  g_autofree char *base = g_build_filename (tmp, "base", NULL);
  const char *cli = pt_cli_path ();

  write_images (base, 2 * BASE_PER_CLASS, rand);
  {
    const char *argv[] = { cli, "new", project, NULL };
    g_assert_cmpint (run_sync (NULL, argv), ==, 0);
  }
  {
    const char *argv[] = { cli, "import", project, base, "--labels-from-folders", NULL };
    g_assert_cmpint (run_sync (NULL, argv), ==, 0);
  }
  {
    const char *argv[] = { cli, "split", project, "--val", "0.2", "--test", "0.1", NULL };
    g_assert_cmpint (run_sync (NULL, argv), ==, 0);
  }
  {
    const char *argv[] = { cli, "train",     project, "--model",   "seed-cnn", "--epochs",
                           "1", "--threads", "1",     "--workers", "1",        NULL };
    g_assert_cmpint (run_sync (NULL, argv), ==, 0);
  }
}

static CmdKind
pick_kind (GRand *rand)
{
  /* Imports and trainings are the work at risk; the rest open and read or write a little. */
  static const CmdKind weighted[] = { CMD_IMPORT, CMD_IMPORT, CMD_STATS,  CMD_STATS, CMD_LABEL,
                                      CMD_TRAIN,  CMD_TRAIN,  CMD_EXPORT, CMD_RUNS };

  return weighted[g_rand_int_range (rand, 0, G_N_ELEMENTS (weighted))];
}

static GPtrArray *
build_argv (Proc *p, const char *project, int index, GRand *rand, const char *tmp,
            int *label_chunks)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, g_strdup (pt_cli_path ()));
  g_ptr_array_add (argv, g_strdup (kind_names[p->kind]));
  g_ptr_array_add (argv, g_strdup (project));
  switch (p->kind)
    {
      case CMD_IMPORT:
        {
          g_autofree char *name = g_strdup_printf ("src-%d", index);

          p->source = g_build_filename (tmp, name, NULL);
          write_images (p->source, g_rand_int_range (rand, 150, 400), rand);
          g_ptr_array_add (argv, g_strdup (p->source));
          g_ptr_array_add (argv, g_strdup ("--labels-from-folders"));
          g_ptr_array_add (argv, g_strdup ("--json"));
        }
        break;
      case CMD_LABEL:
        p->label_first = 1 + LABEL_CHUNK * (*label_chunks)++;
        p->label_cls = g_strdup (g_rand_boolean (rand) ? "a" : "b");
        g_ptr_array_add (argv, g_strdup ("--class"));
        g_ptr_array_add (argv, g_strdup (p->label_cls));
        for (int i = 0; i < LABEL_CHUNK; i++)
          g_ptr_array_add (argv, g_strdup_printf ("%d", p->label_first + i));
        break;
      case CMD_TRAIN:
        g_ptr_array_add (argv, g_strdup ("--model"));
        g_ptr_array_add (argv, g_strdup ("seed-cnn"));
        g_ptr_array_add (argv, g_strdup ("--epochs"));
        g_ptr_array_add (argv, g_strdup_printf ("%d", g_rand_int_range (rand, 2, 5)));
        g_ptr_array_add (argv, g_strdup ("--patience"));
        g_ptr_array_add (argv, g_strdup ("0"));
        g_ptr_array_add (argv, g_strdup ("--threads"));
        g_ptr_array_add (argv, g_strdup ("1"));
        g_ptr_array_add (argv, g_strdup ("--workers"));
        g_ptr_array_add (argv, g_strdup ("1"));
        break;
      case CMD_EXPORT:
        {
          g_autofree char *name = g_strdup_printf ("export-%d", index);

          /* Half into the project's models/ folder, half outside it. */
          p->export_dir = g_rand_boolean (rand) ? g_build_filename (project, "models", name, NULL)
                                                : g_build_filename (tmp, name, NULL);
          g_ptr_array_add (argv, g_strdup ("--run"));
          g_ptr_array_add (argv, g_strdup ("1"));
          g_ptr_array_add (argv, g_strdup ("-o"));
          g_ptr_array_add (argv, g_strdup (p->export_dir));
          g_ptr_array_add (argv, g_strdup ("--json"));
        }
        break;
      case CMD_STATS:
      case CMD_RUNS: g_ptr_array_add (argv, g_strdup ("--json")); break;
      case N_CMDS: g_assert_not_reached ();
    }
  g_ptr_array_add (argv, NULL);
  return argv;
}

static char *
read_text (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    text = g_strdup ("");
  return text;
}

static char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize size = 0;

  if (!g_file_get_contents (path, &data, &size, NULL))
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, size);
}

static char *
stored_path (const char *project, const char *hash, const char *ext)
{
  g_autofree char *prefix = g_strndup (hash, 2);
  g_autofree char *file = g_strdup_printf ("%s.%s", hash, ext);

  return g_build_filename (project, "images", prefix, file, NULL);
}

/* Every image row has its file; every file in images/ has its row. */
static void
check_store (sqlite3 *db, const char *project, Findings *f)
{
  g_autoptr (GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *images = g_build_filename (project, "images", NULL);
  g_autoptr (GDir) top = g_dir_open (images, 0, NULL);
  sqlite3_stmt *stmt;
  const char *sub;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT hash, ext FROM images", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *hash = (const char *) sqlite3_column_text (stmt, 0);
      const char *ext = (const char *) sqlite3_column_text (stmt, 1);
      g_autofree char *path = stored_path (project, hash, ext);

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_test_message ("row without its file: %s", path);
          f->lost_files++;
        }
      g_hash_table_add (rows, g_strdup_printf ("%s.%s", hash, ext));
    }
  sqlite3_finalize (stmt);
  while (top != NULL && (sub = g_dir_read_name (top)) != NULL)
    {
      g_autofree char *folder = g_build_filename (images, sub, NULL);
      g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (!g_hash_table_contains (rows, name))
          {
            g_test_message ("file without its row: %s/%s", sub, name);
            f->orphan_files++;
          }
    }
}

static char *
query_text (sqlite3 *db, const char *sql, gint64 arg)
{
  sqlite3_stmt *stmt;
  char *out = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, arg);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
    out = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return out;
}

/* A training run that printed "epoch k/n" has both checkpoints; one that
 * exited 0 finished every epoch. */
static void
check_train (sqlite3 *db, const char *project, const Proc *p, const char *out, Findings *f)
{
  g_autofree char *name = NULL, *best = NULL, *last = NULL;
  const char *line = out;
  gint64 id = -1;

  /* "Training seed-cnn run-N: …", after any note on how unsplit images were split. */
  while (line != NULL && !g_str_has_prefix (line, "Training "))
    line = (line = strchr (line, '\n')) != NULL ? line + 1 : NULL;
  if (line == NULL || sscanf (line, "Training %*s run-%" G_GINT64_FORMAT ":", &id) != 1)
    {
      if (p->status == 0)
        f->false_successes++;
      return; /* killed before it said which run */
    }
  name = g_strdup_printf ("run-%lld", (long long) id);
  best = g_build_filename (project, "runs", name, "best.slckpt", NULL);
  last = g_build_filename (project, "runs", name, "last.slckpt", NULL);
  if (strstr (out, "  epoch ") != NULL
      && (!g_file_test (best, G_FILE_TEST_IS_REGULAR)
          || !g_file_test (last, G_FILE_TEST_IS_REGULAR)))
    {
      g_test_message ("%s reported an epoch but lost a checkpoint", name);
      f->lost_checkpoints++;
    }
  if (p->status == 0)
    {
      g_autofree char *done = query_text (
          db, "SELECT epochs_done = epochs AND status IN (4, 5) FROM runs WHERE id = ?", id);

      if (g_strcmp0 (done, "1") != 0)
        {
          g_test_message ("%s said it finished, but the project disagrees", name);
          f->false_successes++;
        }
    }
}

/* Every file of an import that succeeded is in the project with its copy. */
static void
check_import (sqlite3 *db, const char *project, const Proc *p, const char *out, Findings *f)
{
  cJSON *doc = cJSON_Parse (out);
  const char *classes[] = { "a", "b" };
  int files = 0, found = 0;

  for (int c = 0; c < 2; c++)
    {
      g_autofree char *folder = g_build_filename (p->source, classes[c], NULL);
      g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (folder, name, NULL);
          g_autofree char *hash = file_sha256 (path);
          g_autofree char *stored = stored_path (project, hash, "png");
          sqlite3_stmt *stmt;

          files++;
          g_assert_cmpint (
              sqlite3_prepare_v2 (db, "SELECT 1 FROM images WHERE hash = ?", -1, &stmt, NULL), ==,
              SQLITE_OK);
          sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);
          if (sqlite3_step (stmt) == SQLITE_ROW && g_file_test (stored, G_FILE_TEST_IS_REGULAR))
            found++;
          sqlite3_finalize (stmt);
        }
    }
  if (doc == NULL || found != files
      || cJSON_GetObjectItem (doc, "added")->valueint
                 + cJSON_GetObjectItem (doc, "duplicates")->valueint
             != files)
    {
      g_test_message ("an import reported success, but %d of its %d images are in the project",
                      found, files);
      f->false_successes++;
    }
  cJSON_Delete (doc);
}

static void
check_label (sqlite3 *db, const Proc *p, Findings *f)
{
  for (int i = 0; i < LABEL_CHUNK; i++)
    {
      g_autofree char *cls = query_text (
          db, "SELECT c.name FROM images i JOIN classes c ON c.id = i.class_id WHERE i.id = ?",
          p->label_first + i);

      if (g_strcmp0 (cls, p->label_cls) != 0)
        {
          g_test_message ("label said it set image %d to %s; it is %s", p->label_first + i,
                          p->label_cls, cls);
          f->false_successes++;
        }
    }
}

static void
check_export (const char *out, Findings *f)
{
  cJSON *doc = cJSON_Parse (out), *item;
  int files = 0;

  cJSON_ArrayForEach (item, cJSON_GetObjectItem (doc, "files"))
  {
    const char *path = cJSON_GetStringValue (cJSON_GetObjectItem (item, "path"));
    GStatBuf st;

    files++;
    if (path == NULL || g_stat (path, &st) != 0 || st.st_size == 0)
      {
        g_test_message ("export reported %s, which is not there", path);
        f->false_successes++;
      }
  }
  if (files == 0)
    f->false_successes++;
  cJSON_Delete (doc);
}

static void
start_proc (Proc *p, GPtrArray *argv)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;

  g_subprocess_launcher_set_stdout_file_path (launcher, p->out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, p->err_path);
  p->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
}

/* Copies the prepared project (a trained run-1, images 1..60) for a trial. */
static void
copy_project (const char *from, const char *to)
{
  const char *argv[] = { "cp", "-a", from, to, NULL };
  g_autoptr (GError) error = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
run_trial (const char *base_project, guint32 seed, Findings *f)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *project = g_build_filename (tmp, "P", NULL);
  g_autofree char *db_path = g_build_filename (project, "project.db", NULL);
  Proc procs[PROCS] = { 0 };
  GPtrArray *argvs[PROCS];
  int label_chunks = 0;
  gint64 t0;
  sqlite3 *db = NULL;

  copy_project (base_project, project);
  for (int i = 0; i < PROCS; i++)
    {
      Proc *p = &procs[i];

      p->kind = pick_kind (rand);
      if (p->kind == CMD_LABEL && label_chunks >= 2 * BASE_PER_CLASS / LABEL_CHUNK)
        p->kind = CMD_STATS;
      p->start_ms = g_rand_int_range (rand, 0, START_SPREAD_MS);
      p->kill_ms = g_rand_int_range (rand, 0, 100) < KILL_PERCENT
                       ? p->start_ms + g_rand_int_range (rand, 30, KILL_AFTER_MS)
                       : -1;
      p->out_path = g_strdup_printf ("%s/out-%d.txt", tmp, i);
      p->err_path = g_strdup_printf ("%s/err-%d.txt", tmp, i);
      argvs[i] = build_argv (p, project, i, rand, tmp, &label_chunks);
    }

  /* Start and kill on schedule: events in time order, one clock. */
  t0 = g_get_monotonic_time ();
  for (int ms = 0, started = 0, running = 1; (started < PROCS || running > 0) && ms < WAIT_LIMIT_MS;
       ms += 5)
    {
      running = 0;
      gint64 due = t0 + (gint64) ms * 1000;
      gint64 now = g_get_monotonic_time ();

      if (due > now)
        g_usleep (due - now);
      for (int i = 0; i < PROCS; i++)
        {
          Proc *p = &procs[i];

          if (p->proc == NULL && ms >= p->start_ms)
            {
              start_proc (p, argvs[i]);
              started++;
            }
          if (p->proc != NULL && p->kill_ms >= 0 && ms >= p->kill_ms && !p->killed)
            {
              g_subprocess_send_signal (p->proc, SIGKILL); /* a no-op once it has exited */
              p->killed = TRUE;
            }
          /* The identifier goes once GLib's worker thread has reaped it. */
          if (p->proc != NULL && p->end_ms == 0 && g_subprocess_get_identifier (p->proc) == NULL)
            p->end_ms = MAX (ms, 1);
          running += p->proc == NULL || p->end_ms == 0;
        }
    }
  for (int i = 0; i < PROCS; i++)
    {
      Proc *p = &procs[i];

      g_assert_true (g_subprocess_wait (p->proc, NULL, NULL));
      /* A kill that came after the exit does not count as one. */
      p->killed = g_subprocess_get_if_signaled (p->proc);
      p->status = p->killed ? -1 : g_subprocess_get_exit_status (p->proc);
      f->kills += p->killed;
      f->commands++;
      if (!p->killed && p->end_ms > 0 && (p->kind == CMD_LABEL || p->kind == CMD_STATS))
        f->slowest_edit_ms = MAX (f->slowest_edit_ms, p->end_ms - p->start_ms);
    }

  /* An open that cleans up, as the next command or the workbench would. */
  {
    const char *argv[] = { pt_cli_path (), "stats", project, "--json", NULL };
    g_autofree char *out = NULL;

    if (run_sync (&out, argv) != 0)
      f->unexpected_fails++;
  }
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  check_store (db, project, f);
  for (int i = 0; i < PROCS; i++)
    {
      Proc *p = &procs[i];
      g_autofree char *out = read_text (p->out_path);
      g_autofree char *err = read_text (p->err_path);

      g_test_message ("trial %u: %-6s from %4d to %5d ms: %s", seed, kind_names[p->kind],
                      p->start_ms, p->end_ms,
                      p->killed ? "killed" : (p->status == 0 ? "exit 0" : "failed"));
      if (strstr (err, "database is locked") != NULL)
        f->locked_messages++;
      if (!p->killed && p->status != 0)
        {
          g_test_message ("  %s failed: %s", kind_names[p->kind], err);
          f->unexpected_fails++;
        }
      if (p->kind == CMD_TRAIN)
        check_train (db, project, p, out, f);
      else if (p->status == 0 && p->kind == CMD_IMPORT)
        check_import (db, project, p, out, f);
      else if (p->status == 0 && p->kind == CMD_LABEL)
        check_label (db, p, f);
      else if (p->status == 0 && p->kind == CMD_EXPORT)
        check_export (out, f);
      else if (p->status == 0 && (p->kind == CMD_STATS || p->kind == CMD_RUNS))
        {
          cJSON *doc = cJSON_Parse (out);
          if (doc == NULL)
            f->false_successes++;
          cJSON_Delete (doc);
        }
      g_clear_object (&p->proc);
      g_free (p->out_path);
      g_free (p->err_path);
      g_free (p->source);
      g_free (p->label_cls);
      g_free (p->export_dir);
      g_ptr_array_unref (argvs[i]);
    }
  sqlite3_close (db);
  f->trials++;
  sl_remove_tree (tmp);
}

static void
test_concurrent_processes (void)
{
  const char *trials_env = g_getenv ("SL_CONCURRENCY_TRIALS");
  const char *seed_env = g_getenv ("SL_CONCURRENCY_SEED");
  int trials = trials_env != NULL ? atoi (trials_env) : DEFAULT_TRIALS;
  guint32 seed = seed_env != NULL ? (guint32) atoi (seed_env) : 14;
  gboolean report_only = g_strcmp0 (g_getenv ("SL_CONCURRENCY_REPORT_ONLY"), "1") == 0;
  gint64 start = g_get_monotonic_time ();
  g_autofree char *base_tmp = NULL, *base_project = NULL;
  Findings f = { 0 };

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli not found (set SL_CLI)");
      return;
    }
  {
    g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

    base_tmp = pt_make_tmp ();
    base_project = g_build_filename (base_tmp, "P", NULL);
    make_project (base_tmp, base_project, rand);
  }
  for (int t = 0; t < trials; t++)
    run_trial (base_project, seed + 1 + (guint32) t, &f);
  sl_remove_tree (base_tmp);
  g_printerr ("# concurrency: %d trials, %d commands, %d killed, %.1f s: %d rows lost their "
              "file, %d files without a row, %d lost checkpoints, %d false successes, "
              "%d unexpected failures, %d raw 'database is locked'; slowest label/stats %d ms\n",
              f.trials, f.commands, f.kills, (g_get_monotonic_time () - start) / 1e6, f.lost_files,
              f.orphan_files, f.lost_checkpoints, f.false_successes, f.unexpected_fails,
              f.locked_messages, f.slowest_edit_ms);
  if (report_only)
    return;
  g_assert_cmpint (f.lost_files, ==, 0);
  g_assert_cmpint (f.orphan_files, ==, 0);
  g_assert_cmpint (f.lost_checkpoints, ==, 0);
  g_assert_cmpint (f.false_successes, ==, 0);
  g_assert_cmpint (f.unexpected_fails, ==, 0);
  g_assert_cmpint (f.locked_messages, ==, 0);
}

/* The lock helpers: conflicts, bounded waits, and a holder's death. flock
 * locks conflict between open files, so one process can play both sides. */
static void
test_locks (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = sl_project_lock_path (tmp, "work");
  g_autoptr (GError) error = NULL;
  SlLock *held, *other;
  gint64 start;
  pid_t child;
  int status;

  g_assert_false (sl_lock_is_held (path)); /* no file yet */
  held = sl_lock_take (path, SL_LOCK_EXCLUSIVE, 0, "the work", &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (sl_lock_is_held (path));
  g_assert_null (sl_lock_take (path, SL_LOCK_SHARED, 0, "the work", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "the work"));
  g_clear_error (&error);
  start = g_get_monotonic_time ();
  g_assert_null (sl_lock_take (path, SL_LOCK_EXCLUSIVE, 150, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 150 * 1000);
  sl_lock_release (held);
  g_assert_false (sl_lock_is_held (path));

  /* Shared holders share, and do not count as a holder of the work. */
  held = sl_lock_take (path, SL_LOCK_SHARED, 0, NULL, &error);
  other = sl_lock_take (path, SL_LOCK_SHARED, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sl_lock_is_held (path));
  g_assert_null (sl_lock_take (path, SL_LOCK_EXCLUSIVE, 0, NULL, NULL));
  sl_lock_release (held);
  sl_lock_release (other);

  /* A holder killed with -9 holds nothing. */
  child = fork ();
  if (child == 0)
    {
      sl_lock_take (path, SL_LOCK_EXCLUSIVE, 0, NULL, NULL);
      kill (getpid (), SIGKILL);
      _exit (1);
    }
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFSIGNALED (status));
  g_assert_false (sl_lock_is_held (path));
  held = sl_lock_take (path, SL_LOCK_EXCLUSIVE, 0, NULL, &error);
  g_assert_no_error (error);
  sl_lock_release (held);

  /* A lock file that cannot be made is an I/O error, not "busy". */
  g_assert_null (sl_lock_take ("/proc/sightline-no/x.lock", SL_LOCK_SHARED, 0, NULL, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO);
  sl_remove_tree (tmp);
}

/* The status of the project's only import, read directly. */
static const char *
import_status (const char *project)
{
  static char status[32];
  g_autofree char *db_path = g_build_filename (project, "project.db", NULL);
  sqlite3_stmt *stmt;
  sqlite3 *db;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT status FROM imports", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_strlcpy (status, (const char *) sqlite3_column_text (stmt, 0), sizeof status);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return status;
}

/* The clean-up on open leaves what a live import or training covers with its
 * lock, and removes it once the lock is free. */
static void
test_clean_up_respects_locks (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "P", NULL);
  g_autofree char *store_lock = sl_project_lock_path (path, SL_PROJECT_LOCK_STORE);
  g_autofree char *orphan = NULL, *copy_tmp = NULL, *run_dir = NULL, *run_lock = NULL;
  g_autofree char *ckpt_tmp = NULL, *marker = NULL;
  g_autoptr (GError) error = NULL;
  SlProject *project;
  SlLock *lock;

  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  sl_project_unref (project);
  /* What an import in progress looks like: its row, the marker, copies. */
  {
    sqlite3 *db;
    g_autofree char *db_path = g_build_filename (path, "project.db", NULL);

    g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db,
                                   "INSERT INTO imports (source, started, status) VALUES "
                                   "('x', 'now', 'running');"
                                   "INSERT INTO settings VALUES ('import-active', '1')",
                                   NULL, NULL, NULL),
                     ==, SQLITE_OK);
    sqlite3_close (db);
  }
  orphan = g_build_filename (path, "images", "ab", "ab12.png", NULL);
  copy_tmp = g_build_filename (path, "images", "ab", "ab34.png.tmp-Q1w2e3", NULL);
  run_dir = g_build_filename (path, "runs", "run-1", NULL);
  run_lock = g_build_filename (run_dir, ".lock", NULL);
  ckpt_tmp = g_build_filename (run_dir, "best.slckpt.tmp-A1b2c3", NULL);
  g_mkdir_with_parents (run_dir, 0755);
  {
    g_autofree char *folder = g_path_get_dirname (orphan);
    g_mkdir_with_parents (folder, 0755);
  }
  g_assert_true (g_file_set_contents (orphan, "png", -1, NULL));
  g_assert_true (g_file_set_contents (copy_tmp, "pn", -1, NULL));
  g_assert_true (g_file_set_contents (ckpt_tmp, "ckpt", -1, NULL));

  /* Alive: an import holds the store lock shared, a training its run's lock. */
  lock = sl_lock_take (store_lock, SL_LOCK_SHARED, 0, NULL, &error);
  g_assert_no_error (error);
  {
    SlLock *run = sl_lock_take (run_lock, SL_LOCK_EXCLUSIVE, 0, NULL, &error);

    g_assert_no_error (error);
    project = sl_project_open (path, &error);
    g_assert_no_error (error);
    g_assert_true (g_file_test (orphan, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (copy_tmp, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (ckpt_tmp, G_FILE_TEST_EXISTS));
    marker = _sl_project_get_setting (project, "import-active");
    g_assert_cmpstr (marker, ==, "1");
    g_assert_cmpstr (import_status (path), ==, "running");
    sl_project_unref (project);
    sl_lock_release (run);
  }
  sl_lock_release (lock);

  /* Dead: the next open removes what they left and closes the import's row. */
  project = sl_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (copy_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (ckpt_tmp, G_FILE_TEST_EXISTS));
  g_clear_pointer (&marker, g_free);
  marker = _sl_project_get_setting (project, "import-active");
  g_assert_null (marker);
  sl_project_unref (project);
  g_assert_cmpstr (import_status (path), ==, "interrupted");
  sl_remove_tree (tmp);
}

/* The number of images in a project's index, read directly. */
static gint64
count_images (const char *project)
{
  g_autofree char *db_path = g_build_filename (project, "project.db", NULL);
  sqlite3_stmt *stmt;
  sqlite3 *db;
  gint64 n;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM images", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

/* A program opened the project, another repaired it (moving project.db
 * aside), then the first imports: what a repair holding the store lock while
 * the import waits for it looks like. The import must not write its rows into
 * the file the repair moved aside (they would be lost): it refuses, and
 * nothing it copied is left without a row. */
static void
test_import_after_repair (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "P", NULL);
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autoptr (GError) error = NULL;
  SlImportResult imported;
  SlRepairResult repaired;
  SlProject *project;
  gboolean ok;

  write_images (src, 6, rand);
  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sl_project_repair (path, &repaired, &error));
  g_assert_no_error (error);
  sl_repair_result_clear (&repaired);

  /* A training (or a run's delete) starting now would write there too. */
  {
    SlRunInfo run = { .name = (char *) "run-1" };
    int fd = -1;

    g_assert_false (_sl_run_lock (project, &run, TRUE, &fd, &error));
    g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED);
    g_assert_cmpint (fd, ==, -1);
    g_clear_error (&error);
  }
  ok = sl_project_import_folder (project, src, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL, NULL,
                                 &imported, &error);
  sl_import_result_clear (&imported);
  sl_project_unref (project);
  if (ok)
    g_assert_cmpint (count_images (path), ==, 6); /* what it reported is in the project */
  else
    {
      g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_DATA_CHANGED);
      g_assert_nonnull (strstr (error->message, "reopen"));
      g_assert_cmpint (count_images (path), ==, 0);
    }
  sl_remove_tree (tmp);
}

/* Called by a trigger inside a run's delete, with the run moved aside and its
 * lock held: a child stands for another program's clean-up on open, which
 * removes a moved-aside run once its lock is free. It exits 1 if it ever
 * finds the lock free while the run is still moved aside (plain syscalls
 * only: it is a fork of a threaded process, and it first closes the copies
 * of the parent's descriptors, which would hold the parent's lock). */
static pid_t watcher;

static void
start_watcher (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const char *trash = (const char *) sqlite3_value_text (argv[0]);
  g_autofree char *lock = g_build_filename (trash, ".lock", NULL);

  int fd = open (lock, O_RDWR | O_CLOEXEC); /* its own open file: flock tells them apart */

  g_assert_cmpint (fd, >=, 0);
  if ((watcher = fork ()) == 0)
    {
      struct stat st;

      for (int i = 3; i < 1024; i++)
        if (i != fd)
          close (i); /* the parent's copy of the run's lock among them */
      while (flock (fd, LOCK_EX | LOCK_NB) != 0)
        ;
      _exit (stat (trash, &st) == 0 ? 1 : 0);
    }
  close (fd);
  sqlite3_result_null (ctx);
}

/* A run's delete that fails puts the run back before it lets go of the
 * run's lock: else another program's clean-up could remove the moved-aside
 * run (its checkpoints) while its row stays. */
static void
test_failed_delete_keeps_run (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *path = g_build_filename (tmp, "P", NULL);
  g_autofree char *run_dir = g_build_filename (path, "runs", "run-1", NULL);
  g_autofree char *ckpt = g_build_filename (run_dir, "best.slckpt", NULL);
  g_autofree char *trash = g_strconcat (run_dir, ".tmp-deleted", NULL);
  g_autofree char *sql = NULL;
  g_autoptr (GError) error = NULL;
  SlProject *project;
  int status;

  project = sl_project_create (path, NULL, &error);
  g_assert_no_error (error);
  g_mkdir_with_parents (run_dir, 0755);
  g_assert_true (g_file_set_contents (ckpt, "ckpt", -1, NULL));
  sqlite3_create_function (project->db, "start_watcher", 1, SQLITE_UTF8, NULL, start_watcher, NULL,
                           NULL);
  sql = g_strdup_printf (
      "INSERT INTO runs (id, status, created, epochs, train_images, val_images, dataset_hash, "
      "config_json, versions_json, classes_json) VALUES (1, 0, 'now', 1, 1, 1, 'h', '{}', '{}', "
      "'[]');"
      "CREATE TEMP TRIGGER refuse BEFORE DELETE ON runs BEGIN SELECT start_watcher ('%s'); "
      "SELECT RAISE (ABORT, 'refused by the test'); END",
      trash);
  g_assert_true (_sl_project_exec (project, sql, &error));
  g_assert_no_error (error);

  g_assert_false (sl_project_delete_run (project, 1, &error));
  g_assert_nonnull (error);
  g_assert_cmpint (waitpid (watcher, &status, 0), ==, watcher);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (trash, G_FILE_TEST_EXISTS));
  sl_project_unref (project);
  sl_remove_tree (tmp);
}

/* A command meets another program's long write transaction: it waits,
 * says so once, and succeeds when the writer commits. */
static void
test_busy_wait (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *project = g_build_filename (tmp, "P", NULL);
  g_autofree char *db_path = g_build_filename (project, "project.db", NULL);
  g_autofree char *err_path = g_build_filename (tmp, "err.txt", NULL);
  g_autofree char *err = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) label = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  if (pt_cli_path () == NULL)
    {
      g_test_skip ("sightline-cli not found (set SL_CLI)");
      return;
    }
  write_images (src, 2, rand);
  {
    const char *argv[] = { pt_cli_path (), "new", project, NULL };
    g_assert_cmpint (run_sync (NULL, argv), ==, 0);
  }
  {
    const char *argv[] = { pt_cli_path (), "import", project, src, "--labels-from-folders", NULL };
    g_assert_cmpint (run_sync (NULL, argv), ==, 0);
  }
  /* Another program holds the write lock. */
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "BEGIN IMMEDIATE; UPDATE settings SET value = value "
                                 "WHERE key = 'name'",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  label = g_subprocess_launcher_spawn (launcher, &error, pt_cli_path (), "label", project,
                                       "--class", "b", "1", NULL);
  g_assert_no_error (error);
  /* It says so after 2 s of waiting (a loaded machine may take longer to
   * start it), and keeps waiting. */
  for (int i = 0; i < 300 && (err == NULL || strstr (err, "Another program") == NULL); i++)
    {
      g_clear_pointer (&err, g_free);
      g_usleep (100 * 1000);
      g_file_get_contents (err_path, &err, NULL, NULL);
    }
  g_assert_nonnull (g_subprocess_get_identifier (label)); /* still waiting */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_true (g_subprocess_wait (label, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (label), ==, 0);
  g_assert_true (g_file_get_contents (err_path, &err, NULL, NULL));
  g_test_message ("label said: %s", err);
  g_assert_nonnull (strstr (err, "sightline-cli: Another program is writing to the project"));
  g_assert_null (strstr (strstr (err, "waiting") + 1, "Another program")); /* said once */
  g_assert_null (strstr (err, "locked"));
  sl_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/concurrency/locks", test_locks);
  g_test_add_func ("/projects/concurrency/clean-up", test_clean_up_respects_locks);
  g_test_add_func ("/projects/concurrency/busy-wait", test_busy_wait);
  g_test_add_func ("/projects/concurrency/import-after-repair", test_import_after_repair);
  g_test_add_func ("/projects/concurrency/failed-delete", test_failed_delete_keeps_run);
  g_test_add_func ("/projects/concurrency/processes", test_concurrent_processes);
  return g_test_run ();
}
