/* sl-project-split.c: seeded, stratified train / validation / test splits. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly.h"
#include "sl-project-private.h"

#include <math.h>
#include <string.h>

void
sl_split_config_init (SlSplitConfig *config)
{
  memset (config, 0, sizeof *config);
  config->train = 0.70;
  config->val = 0.15;
  config->test = 0.15;
  config->seed = 1;
}

/* Images per split for a class of n images: at least one validation image
 * from 2 images on, one test image from 3 on (when those splits are wanted),
 * and at least one training image. */
static void
split_targets (const SlSplitConfig *c, gint64 n, gint64 target[4])
{
  gint64 val = llround (n * c->val), test = llround (n * c->test);

  if (n >= 2 && c->val > 0 && val == 0)
    val = 1;
  if (n >= 3 && c->test > 0 && test == 0)
    test = 1;
  while (n >= 1 && c->train > 0 && n - val - test < 1)
    {
      if (test > 0 && test >= val)
        test--;
      else if (val > 0)
        val--;
      else
        break;
    }
  target[SL_SPLIT_NONE] = 0;
  target[SL_SPLIT_VAL] = val;
  target[SL_SPLIT_TEST] = test;
  target[SL_SPLIT_TRAIN] = n - val - test;
}

/* Images per split for a defect class of an anomaly project (n images): never
 * training; validation and test share them as their fractions do (half each by
 * default, validation taking the odd one). */
static void
defect_targets (const SlSplitConfig *c, gint64 n, gint64 target[4])
{
  double share = c->val + c->test > 0 ? c->val / (c->val + c->test) : 0;

  target[SL_SPLIT_NONE] = 0;
  target[SL_SPLIT_TRAIN] = 0;
  target[SL_SPLIT_VAL] = c->val + c->test > 0 ? MIN (n, llround (n * share)) : 0;
  target[SL_SPLIT_TEST] = c->val + c->test > 0 ? n - target[SL_SPLIT_VAL] : 0;
}

/* Splits one class: its unassigned images, ordered by content hash and
 * shuffled from (seed, class name), fill what each split lacks. A defect class
 * of an anomaly project (`defect`) never trains: its images in the training
 * split are placed again. */
static gboolean
split_class (SlProject *self, const SlSplitConfig *c, gint64 class_id, const char *name,
             gboolean defect, sqlite3_stmt *update, gint64 *assigned, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "SELECT id, split FROM images WHERE class_id = ? AND ignored = 0 ORDER BY hash", error);
  g_autoptr (GArray) fresh = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 have[4] = { 0 }, target[4], n = 0;
  guint32 seeds[3];
  GRand *rand;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, class_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      int split = sqlite3_column_int (stmt, 1);

      n++;
      if (split == SL_SPLIT_NONE || (defect && split == SL_SPLIT_TRAIN))
        g_array_append_val (fresh, id);
      else
        have[split]++;
    }
  /* Images put by hand into a split that this call does not fill (fraction 0)
   * stay there and do not count: the other fractions share the rest. */
  if (c->val == 0)
    n -= have[SL_SPLIT_VAL];
  if (c->test == 0)
    n -= have[SL_SPLIT_TEST];
  if (defect)
    defect_targets (c, n, target);
  else
    split_targets (c, n, target);
  seeds[0] = (guint32) c->seed;
  seeds[1] = (guint32) (c->seed >> 32);
  seeds[2] = g_str_hash (name);
  rand = g_rand_new_with_seed_array (seeds, 3);
  for (guint i = fresh->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      gint64 tmp = g_array_index (fresh, gint64, i - 1);

      g_array_index (fresh, gint64, i - 1) = g_array_index (fresh, gint64, j);
      g_array_index (fresh, gint64, j) = tmp;
    }
  g_rand_free (rand);

  static const SlSplit order[] = { SL_SPLIT_VAL, SL_SPLIT_TEST, SL_SPLIT_TRAIN };
  /* Whatever remains goes to training, or for defects to the last split they use
   * (none when neither validation nor test is wanted: they leave training). */
  SlSplit rest = !defect       ? SL_SPLIT_TRAIN
                 : c->test > 0 ? SL_SPLIT_TEST
                 : c->val > 0  ? SL_SPLIT_VAL
                               : SL_SPLIT_NONE;
  guint k = 0;
  for (gsize s = 0; s < G_N_ELEMENTS (order); s++)
    {
      gint64 want = MAX (0, target[order[s]] - have[order[s]]);

      if (order[s] == rest)
        want = fresh->len - k;
      else if (order[s] == SL_SPLIT_TRAIN)
        want = 0;
      for (; want > 0 && k < fresh->len; want--, k++)
        {
          sqlite3_reset (update);
          sqlite3_bind_int (update, 1, order[s]);
          sqlite3_bind_int64 (update, 2, g_array_index (fresh, gint64, k));
          if (!_sl_project_step_done (self, update, error))
            return FALSE;
          (*assigned)++;
        }
    }
  for (; rest == SL_SPLIT_NONE && k < fresh->len; k++)
    {
      sqlite3_reset (update);
      sqlite3_bind_int (update, 1, SL_SPLIT_NONE);
      sqlite3_bind_int64 (update, 2, g_array_index (fresh, gint64, k));
      if (!_sl_project_step_done (self, update, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
sl_project_split (SlProject *self, const SlSplitConfig *config, gint64 *assigned, GError **error)
{
  SlSplitConfig c = *config;
  g_autoptr (sqlite3_stmt) classes = NULL, update = NULL;
  double sum = c.train + c.val + c.test;
  g_autofree char *summary = NULL;
  gboolean anomaly = sl_project_get_kind (self) == SL_PROJECT_KIND_ANOMALY;
  gint64 count = 0;

  if (!(c.train >= 0 && c.val >= 0 && c.test >= 0 && c.train > 0 && isfinite (sum)))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "Split fractions must be non-negative, with some images for training");
      return FALSE;
    }
  c.train /= sum;
  c.val /= sum;
  c.test /= sum;
  classes = _sl_project_prepare (self, "SELECT id, name FROM classes ORDER BY id", error);
  update = _sl_project_prepare (self, "UPDATE images SET split = ? WHERE id = ?", error);
  if (classes == NULL || update == NULL || !_sl_project_begin (self, error))
    return FALSE;
  if (c.resplit && !_sl_project_exec (self, "UPDATE images SET split = 0", error))
    goto fail;
  while (sqlite3_step (classes) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (classes, 1);

      if (!split_class (self, &c, sqlite3_column_int64 (classes, 0), name,
                        anomaly && g_strcmp0 (name, SL_ANOMALY_GOOD_CLASS) != 0, update, &count,
                        error))
        goto fail;
    }
  summary
      = g_strdup_printf ("%.4f/%.4f/%.4f seed %" G_GUINT64_FORMAT, c.train, c.val, c.test, c.seed);
  if (!_sl_project_set_setting (self, "split", summary, error) || !_sl_project_commit (self, error))
    goto fail;
  if (assigned != NULL)
    *assigned = count;
  return TRUE;
fail:
  _sl_project_rollback (self);
  return FALSE;
}
