/* sl-bench-al.c: a simulated labelling session: labels chosen by the model's uncertainty against labels chosen at random. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sl-demo-project.h"
#include "sl-files.h"
#include "sl-suggest.h"
#include "sl-train-job.h"

/* Each strategy picks the next images to label from the unlabelled pool. */
typedef enum
{
  PICK_RANDOM,
  PICK_LEAST_CONFIDENT,
  PICK_SMALLEST_MARGIN,
} Pick;

static const char *const pick_names[] = { "random", "uncertainty", "margin" };

typedef struct
{
  int pool, test, val_per_class, start, step, rounds, epochs, threads;
  char *data;
  char **seeds;
  gboolean json;
} Options;

typedef struct
{
  SlProject *project;
  GArray *pool;      /* gint64: training candidates, id order */
  GArray *val;       /* gint64: the fixed validation images */
  GHashTable *truth; /* image id -> class id (the folder's label) */
} Session;

static gboolean
check (gboolean ok, GError *error, const char *what)
{
  if (!ok)
    {
      g_printerr ("sl-bench-al: %s: %s\n", what, error != NULL ? error->message : "failed");
      exit (1);
    }
  return ok;
}

static gint64
truth_of (Session *s, gint64 id)
{
  return GPOINTER_TO_SIZE (g_hash_table_lookup (s->truth, &id)) - 1;
}

/* Labels the images with their true class and puts them in the training split. */
static void
label_true (Session *s, const gint64 *ids, guint n)
{
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      gint64 klass = truth_of (s, ids[i]);

      check (sl_project_set_labels (s->project, &ids[i], 1, klass, &error), error, "label");
    }
  check (sl_project_set_split (s->project, ids, n, SL_SPLIT_TRAIN, &error), error, "split");
}

/* Builds the project: the first `pool` training images of Fashion-MNIST (their labels kept
 * aside as the truth, val_per_class of each class kept labelled for validation) and the first
 * `test` t10k images labelled in the test split. */
static void
build (Session *s, const Options *o, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pngs = g_build_filename (dir, "pngs", NULL);
  g_autofree char *train = g_build_filename (pngs, "train", NULL);
  g_autofree char *test = g_build_filename (pngs, "test", NULL);
  g_autofree char *path = g_build_filename (dir, "project", NULL);
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GHashTable) per_class = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GArray) test_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  SlImportResult result = { 0 };

  check (sl_demo_write_pngs (o->data, "train", o->pool, train, "train", NULL, &error), error,
         "writing the training images");
  check (sl_demo_write_pngs (o->data, "t10k", o->test, test, "test", NULL, &error), error,
         "writing the test images");
  s->project = sl_project_create (path, "active learning", &error);
  check (s->project != NULL, error, "creating the project");
  check (sl_project_import_folder (s->project, train, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL,
                                   NULL, &result, &error),
         error, "importing");
  sl_import_result_clear (&result);
  images = sl_project_list_images (s->project, NULL, &error);
  check (images != NULL, error, "listing");
  s->pool = g_array_new (FALSE, FALSE, sizeof (gint64));
  s->val = g_array_new (FALSE, FALSE, sizeof (gint64));
  s->truth = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < images->len; i++)
    {
      const SlImageInfo *im = g_ptr_array_index (images, i);
      gint64 *key = g_memdup2 (&im->id, sizeof im->id);
      gint64 *seen_key = g_memdup2 (&im->class_id, sizeof im->class_id);
      int seen = GPOINTER_TO_INT (g_hash_table_lookup (per_class, &im->class_id));

      g_hash_table_insert (s->truth, key, GSIZE_TO_POINTER ((gsize) im->class_id + 1));
      if (seen < o->val_per_class)
        {
          g_array_append_val (s->val, im->id);
          g_hash_table_insert (per_class, seen_key, GINT_TO_POINTER (seen + 1));
        }
      else
        {
          g_array_append_val (s->pool, im->id);
          g_free (seen_key);
        }
    }
  check (sl_project_import_folder (s->project, test, SL_IMPORT_LABELS_FROM_FOLDERS, 0, NULL, NULL,
                                   NULL, &result, &error),
         error, "importing the test images");
  for (guint i = 0; i < result.image_ids->len; i++)
    g_array_append_val (test_ids, g_array_index (result.image_ids, gint64, i));
  sl_import_result_clear (&result);
  check (sl_project_set_split (s->project, (gint64 *) test_ids->data, test_ids->len, SL_SPLIT_TEST,
                               &error),
         error, "test split");
  check (
      sl_project_set_split (s->project, (gint64 *) s->val->data, s->val->len, SL_SPLIT_VAL, &error),
      error, "validation split");
}

/* Back to the start of a session: every pool image unlabelled, out of every split, no runs. */
static void
reset (Session *s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = sl_project_list_runs (s->project, &error);

  check (runs != NULL, error, "runs");
  for (guint i = 0; i < runs->len; i++)
    check (
        sl_project_delete_run (s->project, ((SlRunInfo *) g_ptr_array_index (runs, i))->id, &error),
        error, "deleting a run");
  check (sl_project_set_labels (s->project, (gint64 *) s->pool->data, s->pool->len, -1, &error),
         error, "unlabelling");
  check (sl_project_set_split (s->project, (gint64 *) s->pool->data, s->pool->len, SL_SPLIT_NONE,
                               &error),
         error, "unsplitting");
}

static gint64
labelled_train (Session *s)
{
  SlImageFilter filter;
  g_autoptr (GPtrArray) images = NULL;

  sl_image_filter_init (&filter);
  filter.split = SL_SPLIT_TRAIN;
  images = sl_project_list_images (s->project, &filter, NULL);
  return images != NULL ? (gint64) images->len : -1;
}

/* Trains a run on the current labels and returns its test accuracy; *run_id receives it. */
static double
train_and_test (Session *s, const Options *o, guint64 seed, gint64 *run_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  SlRunConfig config;
  gint64 eval_id;

  sl_run_config_init (&config);
  /* The recipe sightline-cli train would choose for this many labels (epochs, batch),
   * without early stopping, so every round trains the same way. */
  sl_run_config_apply_data_defaults (&config, labelled_train (s), s->val->len, 1.0);
  if (o->epochs > 0)
    config.epochs = o->epochs;
  config.patience = 0;
  config.seed = seed;
  config.threads = o->threads;
  config.workers = 1;
  job = sl_train_job_new (s->project, &config, &error);
  sl_run_config_clear (&config);
  check (job != NULL, error, "a new run");
  check (sl_train_job_run (job, &error), error, "training");
  *run_id = sl_train_job_get_run_id (job);
  eval_id = sl_project_evaluate (s->project, *run_id, SL_SPLIT_TEST, SL_CHECKPOINT_LAST, 1,
                                 o->threads, NULL, NULL, NULL, &error);
  check (eval_id >= 0, error, "evaluating");
  e = sl_project_get_evaluation (s->project, eval_id, 0, &error);
  check (e != NULL, error, "reading the evaluation");
  return e->accuracy;
}

/* The next `step` images to label. */
static GArray *
pick_next (Session *s, const Options *o, Pick pick, gint64 run_id, GRand *rand)
{
  g_autoptr (GError) error = NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (pick == PICK_RANDOM)
    {
      g_autoptr (GArray) free_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr (GPtrArray) images = NULL;
      SlImageFilter filter;

      sl_image_filter_init (&filter);
      filter.class_id = -1;
      images = sl_project_list_images (s->project, &filter, &error);
      check (images != NULL, error, "listing");
      for (guint i = 0; i < images->len; i++)
        g_array_append_val (free_ids, ((SlImageInfo *) g_ptr_array_index (images, i))->id);
      for (int k = 0; k < o->step && free_ids->len > 0; k++)
        {
          guint j = g_rand_int_range (rand, 0, (gint32) free_ids->len);

          g_array_append_val (out, g_array_index (free_ids, gint64, j));
          g_array_remove_index_fast (free_ids, j);
        }
    }
  else
    {
      g_autoptr (GPtrArray) list = NULL;
      SlSuggestFilter filter;

      check (sl_project_suggest_labels (s->project, run_id, SL_CHECKPOINT_LAST, o->threads, NULL,
                                        NULL, NULL, NULL, &error),
             error, "suggesting");
      sl_suggest_filter_init (&filter);
      filter.run_id = run_id;
      filter.limit = o->step;
      list = sl_project_list_suggestions (s->project,
                                          pick == PICK_LEAST_CONFIDENT
                                              ? SL_SUGGEST_SORT_LEAST_CONFIDENT
                                              : SL_SUGGEST_SORT_SMALLEST_MARGIN,
                                          &filter, &error);
      check (list != NULL, error, "listing suggestions");
      for (guint i = 0; i < list->len; i++)
        g_array_append_val (out, ((SlSuggestion *) g_ptr_array_index (list, i))->image_id);
    }
  return out;
}

int
main (int argc, char **argv)
{
  Options o = { .pool = 2000,
                .test = 1000,
                .val_per_class = 10,
                .start = 100,
                .step = 100,
                .rounds = 4,
                .epochs = 10,
                .threads = 0 };
  g_autofree char *seeds = NULL, *strategies = NULL, *epochs_text = NULL;
  const GOptionEntry entries[] = {
    { "pool", 0, 0, G_OPTION_ARG_INT, &o.pool, "Fashion-MNIST training images (default 2000)",
      "N" },
    { "test", 0, 0, G_OPTION_ARG_INT, &o.test, "Test images, fixed (default 1000)", "N" },
    { "val-per-class", 0, 0, G_OPTION_ARG_INT, &o.val_per_class,
      "Labelled validation images per class, fixed (default 10)", "N" },
    { "start", 0, 0, G_OPTION_ARG_INT, &o.start, "Labels at the start, at random (default 100)",
      "N" },
    { "step", 0, 0, G_OPTION_ARG_INT, &o.step, "Labels added per round (default 100)", "K" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &o.rounds, "Rounds of labelling (default 4)", "R" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &o.epochs,
      "Epochs per training (default 6; 0: as sightline-cli train chooses for the labels)", "E" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &o.threads, "Compute threads (default: all cores)", "T" },
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds, "Seeds, comma-separated (default 1,2,3)", "S" },
    { "strategies", 0, 0, G_OPTION_ARG_STRING, &strategies,
      "random, uncertainty, margin, comma-separated (default all)", "LIST" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &o.data, "Fashion-MNIST IDX folder", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print every measurement as JSON too", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_auto (GStrv) picks = NULL;
  g_autofree double *acc = NULL;
  Session s = { 0 };
  int n_seeds, n_picks, points;
  gint64 started = g_get_monotonic_time ();

  g_option_context_set_summary (
      context, "Simulates labelling sessions on Fashion-MNIST: start with --start labelled\n"
               "images, then repeatedly label the next --step chosen by the model's\n"
               "uncertainty (least confident), its margin, or at random; retrain small-bn\n"
               "(fixed seed) and measure the accuracy on a fixed test set each round.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("sl-bench-al: %s\n", error->message);
      return 2;
    }
  if (o.data == NULL)
    o.data = g_strdup (SL_DEMO_DATA_DIR);
  o.seeds = g_strsplit (seeds ? seeds : "1,2,3", ",", -1);
  picks = g_strsplit (strategies ? strategies : "random,uncertainty,margin", ",", -1);
  n_seeds = g_strv_length (o.seeds);
  n_picks = g_strv_length (picks);
  points = o.rounds + 1;
  acc = g_new0 (double, (gsize) n_picks *n_seeds *points);
  tmp = g_dir_make_tmp ("sl-bench-al-XXXXXX", &error);
  check (tmp != NULL, error, "a temporary folder");
  build (&s, &o, tmp);
  for (int p = 0; p < n_picks; p++)
    {
      Pick pick = PICK_RANDOM;

      for (guint k = 0; k < G_N_ELEMENTS (pick_names); k++)
        if (g_strcmp0 (picks[p], pick_names[k]) == 0)
          pick = k;
      for (int si = 0; si < n_seeds; si++)
        {
          guint64 seed = g_ascii_strtoull (o.seeds[si], NULL, 10);
          g_autoptr (GRand) start_rand = g_rand_new_with_seed ((guint32) seed);
          g_autoptr (GRand) rand = g_rand_new_with_seed ((guint32) seed * 7919u + 1);
          g_autoptr (GArray) order = NULL;

          reset (&s);
          /* The same random start for every strategy of a seed. */
          order = g_array_sized_new (FALSE, FALSE, sizeof (gint64), s.pool->len);
          g_array_append_vals (order, s.pool->data, s.pool->len);
          for (guint i = order->len - 1; i > 0; i--)
            {
              guint j = g_rand_int_range (start_rand, 0, (gint32) i + 1);
              gint64 t = g_array_index (order, gint64, i);

              g_array_index (order, gint64, i) = g_array_index (order, gint64, j);
              g_array_index (order, gint64, j) = t;
            }
          label_true (&s, (gint64 *) order->data, MIN ((guint) o.start, order->len));
          for (int r = 0; r < points; r++)
            {
              gint64 run_id;
              double a = train_and_test (&s, &o, seed, &run_id);

              acc[((gsize) p * n_seeds + si) * points + r] = a;
              fprintf (stderr, "  %-11s seed %-3s labels %5d: accuracy %.4f\n", picks[p],
                       o.seeds[si], o.start + r * o.step, a);
              if (r + 1 < points)
                {
                  g_autoptr (GArray) next = pick_next (&s, &o, pick, run_id, rand);

                  label_true (&s, (gint64 *) next->data, next->len);
                }
            }
        }
    }
  epochs_text = o.epochs > 0 ? g_strdup_printf ("%d", o.epochs) : g_strdup ("default");
  printf ("Test accuracy by training labels (mean of %d seed%s; Fashion-MNIST, small-bn, %s "
          "epochs, %d fixed validation labels, %d test images):\n",
          n_seeds, n_seeds == 1 ? "" : "s", epochs_text, s.val->len, o.test);
  printf ("%8s", "labels");
  for (int p = 0; p < n_picks; p++)
    printf (" %18s", picks[p]);
  printf ("\n");
  for (int r = 0; r < points; r++)
    {
      printf ("%8d", o.start + r * o.step);
      for (int p = 0; p < n_picks; p++)
        {
          double mean = 0, var = 0;

          for (int si = 0; si < n_seeds; si++)
            mean += acc[((gsize) p * n_seeds + si) * points + r] / n_seeds;
          for (int si = 0; si < n_seeds; si++)
            var += pow (acc[((gsize) p * n_seeds + si) * points + r] - mean, 2);
          printf ("    %.4f ± %.4f", mean, n_seeds > 1 ? sqrt (var / (n_seeds - 1)) : 0.0);
        }
      printf ("\n");
    }
  printf ("(± is the standard deviation over seeds; %.0f s in all)\n",
          (g_get_monotonic_time () - started) / 1e6);
  if (o.json)
    {
      printf ("{\"start\": %d, \"step\": %d, \"rounds\": %d, \"results\": {", o.start, o.step,
              o.rounds);
      for (int p = 0; p < n_picks; p++)
        {
          printf ("%s\"%s\": [", p ? ", " : "", picks[p]);
          for (int si = 0; si < n_seeds; si++)
            {
              printf ("%s[", si ? ", " : "");
              for (int r = 0; r < points; r++)
                printf ("%s%.4f", r ? ", " : "", acc[((gsize) p * n_seeds + si) * points + r]);
              printf ("]");
            }
          printf ("]");
        }
      printf ("}}\n");
    }
  sl_project_unref (s.project);
  sl_remove_tree (tmp);
  return 0;
}
