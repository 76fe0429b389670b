/* sl-project-stats.c: data health: counts per class and split, shapes, and plain warnings. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly.h"
#include "sl-project-private.h"
#include "sl-project-settings.h"

#include <math.h>
#include <string.h>

#include "sl-vision.h"

static void
class_count_free (SlClassCount *c)
{
  g_free (c->name);
  g_free (c);
}

static void
warning_free (SlHealthWarning *w)
{
  g_free (w->code);
  g_free (w->message);
  g_free (w->suggestion);
  g_free (w);
}

void
sl_project_stats_clear (SlProjectStats *stats)
{
  g_clear_pointer (&stats->classes, g_ptr_array_unref);
  g_clear_pointer (&stats->shapes, g_ptr_array_unref);
  g_clear_pointer (&stats->warnings, g_ptr_array_unref);
  g_clear_pointer (&stats->missing_names, g_ptr_array_unref);
  memset (stats, 0, sizeof *stats);
}

G_GNUC_PRINTF (4, 5)
static void
warn (SlProjectStats *stats, const char *code, const char *suggestion, const char *format, ...)
{
  SlHealthWarning *w = g_new0 (SlHealthWarning, 1);
  va_list args;

  va_start (args, format);
  w->code = g_strdup (code);
  w->message = g_strdup_vprintf (format, args);
  w->suggestion = g_strdup (suggestion);
  va_end (args);
  g_ptr_array_add (stats->warnings, w);
}

/* A count, or -1 with *error set: a count that failed must not read as 0
 * ("2000 images have no label" from a damaged table). */
static gint64
query_count (SlProject *self, const char *sql, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (error != NULL && *error != NULL)
    return -1; /* an earlier count failed; keep its error */
  if ((stmt = _sl_project_prepare (self, sql, error)) == NULL)
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      _sl_project_set_db_error (self, error, "Could not count the project's images");
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}

/* Image rows whose stored copy is gone (deleted or moved by hand, a disk
 * restored from an old backup): their names, for people to find them. */
static gboolean
find_missing (SlProject *self, SlProjectStats *s, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self, "SELECT hash, ext, original_path FROM images ORDER BY id", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  s->missing_names = g_ptr_array_new_with_free_func (g_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autofree char *path
          = sl_project_image_path (self, (const char *) sqlite3_column_text (stmt, 0),
                                   (const char *) sqlite3_column_text (stmt, 1));

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (s->missing_names, _sl_sqlite_dup_text (stmt, 2));
    }
  if (rc != SQLITE_DONE)
    {
      _sl_project_set_db_error (self, error, "Could not list the project's images");
      return FALSE;
    }
  s->missing = s->missing_names->len;
  return TRUE;
}

/* "a.png, b.png and 3 more" */
static char *
some_names (GPtrArray *names, guint shown)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < names->len && i < shown; i++)
    {
      g_autofree char *base = g_path_get_basename (g_ptr_array_index (names, i));
      g_string_append_printf (out, "%s%s", i == 0 ? "" : (i + 1 == names->len ? " and " : ", "),
                              base);
    }
  if (names->len > shown)
    g_string_append_printf (out, " and %u more", names->len - shown);
  return g_string_free (out, FALSE);
}

/* "a.png is “ok” and also in “bad” (b/a.png), and 2 more": both classes, the files. */
static char *
conflict_examples (SlProject *self)
{
  g_autoptr (GPtrArray) list = sl_project_list_label_conflicts (self, NULL);
  GString *out = g_string_new (NULL);
  guint shown = 0, images = 0;
  gint64 last = -1;

  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      const SlLabelConflict *c = g_ptr_array_index (list, i);
      g_autofree char *first = g_path_get_basename (c->image_path);
      g_autofree char *dir = g_path_get_dirname (c->path);
      g_autofree char *folder = g_path_get_basename (dir);
      g_autofree char *file = g_path_get_basename (c->path);

      if (c->image_id != last)
        images++;
      if (c->image_id == last || shown == 2)
        {
          last = c->image_id;
          continue;
        }
      last = c->image_id;
      /* The later file as folder/name: enough to find it, short enough for a sidebar. */
      g_string_append_printf (out, "%s%s is “%s” and also in “%s” (%s/%s)", shown ? "; " : "",
                              first, c->kept_class ? c->kept_class : "unlabelled", c->other_class,
                              folder, file);
      shown++;
    }
  if (images > shown)
    g_string_append_printf (out, "; and %u more", images - shown);
  return g_string_free (out, FALSE);
}

/* The project's alpha rule: its pipeline's (the first run fixes it), else
 * what a new pipeline gets. */
static void
project_alpha_rule (SlProject *self, sl_alpha_rule *rule)
{
  sl_pipeline *pipeline = sl_project_get_pipeline (self, NULL);

  if (pipeline != NULL || sl_pipeline_new (&pipeline, NULL) == SL_OK)
    sl_pipeline_get_alpha (pipeline, rule);
  else
    *rule = (sl_alpha_rule){ SL_ALPHA_COMPOSITE, { 255, 255, 255 } };
  sl_pipeline_free (pipeline);
}

static char *
colour_name (const uint8_t rgb[3])
{
  if (rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255)
    return g_strdup ("white");
  if (rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0)
    return g_strdup ("black");
  return g_strdup_printf ("#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* Images with an alpha channel, and what the project's alpha rule makes of them. */
static void
warn_transparency (SlProject *self, SlProjectStats *s)
{
  const char *what = s->transparent == 1 ? "image has" : "images have";
  sl_alpha_rule rule;
  g_autofree char *colour = NULL;

  project_alpha_rule (self, &rule);
  colour = colour_name (rule.background);
  switch (rule.mode)
    {
      case SL_ALPHA_COMPOSITE:
        warn (s, "transparency",
              "Nothing to do if the parts stand out on that colour; otherwise change "
              "Transparency on the Preprocess page.",
              "%lld %s transparency (an alpha channel): the pipeline composites transparent "
              "pixels onto %s before the first step, in training, evaluation and on the line.",
              (long long) s->transparent, what, colour);
        break;
      case SL_ALPHA_MASK:
        warn (s, "transparency",
              "Nothing to do if the alpha marks the part; otherwise change Transparency on the "
              "Preprocess page.",
              "%lld %s transparency (an alpha channel): the pipeline uses it as a mask, so "
              "pixels less than half opaque become %s before the first step.",
              (long long) s->transparent, what, colour);
        break;
      case SL_ALPHA_DROP:
      default:
        warn (s, "transparency",
              "Set Transparency to “Flatten onto Background” (white) on the Preprocess page and "
              "train again.",
              "%lld %s transparency (an alpha channel), and this project's pipeline drops it: "
              "transparent pixels keep whatever colour the file stores under them (usually "
              "black), so cut-out parts and icons can become all-black inputs.",
              (long long) s->transparent, what);
        break;
    }
}

/* An anomaly project learns from good images only: what it needs is enough good
 * images, and enough good validation images for the target false-reject rate;
 * defects are optional, so the classes are not compared. */
static void
check_anomaly_classes (SlProject *self, SlProjectStats *s)
{
  double target = sl_project_get_target_false_reject (self);
  gint64 needed = (gint64) ceil (1 / target - 1 - 1e-9), defects = 0;
  const SlClassCount *good = NULL;

  for (guint i = 0; i < s->classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (s->classes, i);

      if (g_strcmp0 (c->name, SL_ANOMALY_GOOD_CLASS) == 0)
        good = c;
      else
        defects += c->total;
    }
  if (good == NULL || good->total == 0)
    warn (s, "no-good", "Import good parts: 'sightline-cli import PROJECT FOLDER --as good'.",
          "This anomaly project has no good images: it learns what good parts look like from "
          "them.");
  else if (good->total < 20)
    warn (s, "few-good", "Add good images; a few hundred make a dependable model and threshold.",
          "Only %lld good image%s: the model learns good parts from the training share of them.",
          (long long) good->total, good->total == 1 ? "" : "s");
  if (good != NULL && good->train + good->val + good->test > 0 && good->val < needed)
    warn (s, "few-good-validation",
          "Add good images (the split keeps 15 % for validation), or accept a higher target "
          "('sightline-cli threshold PROJECT --target-false-reject R').",
          "With %lld good validation image%s the threshold can only be their largest score: a "
          "%g %% false-reject rate needs at least %lld.",
          (long long) good->val, good->val == 1 ? "" : "s", target * 100, (long long) needed);
  if (good != NULL && good->total > 0 && defects == 0)
    warn (s, "no-defects",
          "Nothing needed to train; to measure it, import defect images with --as defect (or "
          "folders per defect kind): they never train.",
          "There are no defect images: the escape rate (defects passed as good) cannot be "
          "measured, only the false-reject rate.");
}

/* What each class lacks, and how the classes compare; returns the labelled
 * images in no split. */
static gint64
check_classes (SlProject *self, SlProjectStats *s)
{
  gint64 smallest = G_MAXINT64, largest = 0, unsplit = 0, with_images = 0;
  const SlClassCount *small = NULL, *large = NULL;

  for (guint i = 0; i < s->classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (s->classes, i);

      unsplit += c->unsplit;
      if (c->total > 0)
        with_images++;
      if (c->total < smallest)
        smallest = c->total, small = c;
      if (c->total > largest)
        largest = c->total, large = c;
      if (c->total > 0 && c->total < 10 && sl_project_get_kind (self) != SL_PROJECT_KIND_ANOMALY)
        warn (s, "small-class", "Add images of this class; 20 or more per class is a good start.",
              "Class “%s” has only %lld image%s.", c->name, (long long) c->total,
              c->total == 1 ? "" : "s");
      if (c->total >= 2 && c->train + c->val + c->test > 0 && c->val == 0)
        warn (s, "no-validation", "Split again with 'sightline-cli split --resplit'.",
              "Class “%s” has no validation images, so its accuracy cannot be measured during "
              "training.",
              c->name);
    }
  s->imbalance = smallest > 0 && largest > 0 ? (double) largest / smallest : 0.0;
  if (sl_project_get_kind (self) == SL_PROJECT_KIND_ANOMALY)
    {
      check_anomaly_classes (self, s);
      return unsplit;
    }
  if (with_images < 2)
    warn (s, "few-classes",
          "Import images in one folder per class (--labels-from-folders) or label them.",
          "Training needs at least two classes with labelled images; this project has %lld.",
          (long long) with_images);
  if (small != NULL && large != NULL && smallest > 0 && s->imbalance >= 3.0)
    warn (s, "imbalance",
          "Turn on class weights (train --class-weights auto) or add images to the small classes.",
          "The classes are unbalanced: “%s” has %lld images, “%s” only %lld (%.1f to 1).",
          large->name, (long long) largest, small->name, (long long) smallest, s->imbalance);
  if (small != NULL && smallest == 0 && s->classes->len > 0)
    warn (s, "empty-class", "Label images with this class, or delete or merge it.",
          "Class “%s” has no images.", small->name);
  return unsplit;
}

/* Images that are not used, or not there: unlabelled, unsplit, skipped at
 * import, missing, conflicting, transparent. */
static void
check_images (SlProject *self, SlProjectStats *s, gint64 unsplit)
{
  if (s->unlabelled > 0)
    warn (s, "unlabelled", "Label them (sightline-cli label) or mark them ignored.",
          s->unlabelled == 1 ? "%lld image has no label and is not used for training."
                             : "%lld images have no label and are not used for training.",
          (long long) s->unlabelled);
  if (unsplit > 0)
    warn (s, "unsplit",
          "A run started on the Train page splits them 70/15/15 per class; Split… (or "
          "'sightline-cli split') chooses other ratios.",
          unsplit == 1 ? "%lld labelled image is in no split yet."
                       : "%lld labelled images are in no split yet.",
          (long long) unsplit);
  if (s->duplicates > 0)
    warn (s, "duplicates", "Nothing to do: each picture is stored once.",
          s->duplicates == 1
              ? "%lld file was skipped at import because the same image was already in the project."
              : "%lld files were skipped at import because the same image was already in the "
                "project.",
          (long long) s->duplicates);
  if (s->unreadable > 0)
    warn (s, "unreadable", "See 'sightline-cli stats --issues' for the files and the reasons.",
          s->unreadable == 1 ? "%lld file could not be read and was skipped."
                             : "%lld files could not be read and were skipped.",
          (long long) s->unreadable);
  if (s->missing > 0)
    {
      g_autofree char *names = some_names (s->missing_names, 5);

      warn (s, "missing-images",
            "Put the files back into the project's images/ folder (from a backup), or import "
            "the originals again; 'sightline-cli stats --missing' lists every one.",
            s->missing == 1 ? "%lld image's stored copy is missing from images/: %s. Training "
                              "skips it."
                            : "%lld images' stored copies are missing from images/: %s. "
                              "Training skips them.",
            (long long) s->missing, names);
    }
  if (s->conflicts > 0)
    {
      g_autofree char *examples = conflict_examples (self);

      warn (s, "label-conflicts",
            "Pick the label for each: 'sightline-cli conflicts PROJECT' lists them, or use "
            "Resolve… in Data Health.",
            s->conflicts == 1 ? "%lld image was found in two class folders; it kept the label "
                                "of the first file imported: %s."
                              : "%lld images were found in two class folders; each kept the "
                                "label of the first file imported: %s.",
            (long long) s->conflicts, examples);
    }
  if (s->transparent > 0)
    warn_transparency (self, s);
}

/* Gray and colour images mixed, and more than one size. */
static void
check_shapes (SlProjectStats *s)
{
  gint64 gray = 0, colour = 0;

  if (s->shapes->len > 1)
    {
      for (guint i = 0; i < s->shapes->len; i++)
        {
          const SlShapeCount *sc = g_ptr_array_index (s->shapes, i);
          if (sc->channels == 1)
            gray += sc->count;
          else
            colour += sc->count;
        }
      if (gray > 0 && colour > 0)
        warn (s, "channel-mix",
              "Check that the gray images belong; colour is turned to gray when the pipeline's "
              "input is gray.",
              "%lld images are gray and %lld are in colour.", (long long) gray, (long long) colour);
      warn (s, "size-mix",
            "Nothing to do if the parts look alike; the pipeline resizes every image to the "
            "model's input, which distorts other shapes.",
            "The images come in %u different sizes or channel counts.", s->shapes->len);
    }
}

/* The warnings of the project's health, in the order they are shown. */
static void
check_health (SlProject *self, SlProjectStats *s)
{
  gint64 unsplit = check_classes (self, s);

  check_images (self, s, unsplit);
  check_shapes (s);
}

gboolean
sl_project_get_stats (SlProject *self, SlProjectStats *s, GError **error)
{
  g_autoptr (sqlite3_stmt) classes = NULL, shapes = NULL;
  int rc;

  memset (s, 0, sizeof *s);
  classes = _sl_project_prepare (
      self,
      "SELECT c.id, c.name, count(i.id), sum(i.split = 1), sum(i.split = 2), sum(i.split = 3), "
      "sum(i.split = 0) FROM classes c LEFT JOIN images i ON i.class_id = c.id AND i.ignored = 0 "
      "GROUP BY c.id ORDER BY c.position, c.id",
      error);
  shapes = _sl_project_prepare (self,
                                "SELECT width, height, channels, count(*) AS n FROM images "
                                "WHERE ignored = 0 GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3",
                                error);
  if (classes == NULL || shapes == NULL)
    return FALSE;
  s->classes = g_ptr_array_new_with_free_func ((GDestroyNotify) class_count_free);
  s->shapes = g_ptr_array_new_with_free_func (g_free);
  s->warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) warning_free);
  while ((rc = sqlite3_step (classes)) == SQLITE_ROW)
    {
      SlClassCount *c = g_new0 (SlClassCount, 1);

      c->class_id = sqlite3_column_int64 (classes, 0);
      c->name = _sl_sqlite_dup_text (classes, 1);
      c->total = sqlite3_column_int64 (classes, 2);
      c->train = sqlite3_column_int64 (classes, 3);
      c->val = sqlite3_column_int64 (classes, 4);
      c->test = sqlite3_column_int64 (classes, 5);
      c->unsplit = sqlite3_column_int64 (classes, 6);
      g_ptr_array_add (s->classes, c);
    }
  if (rc != SQLITE_DONE)
    {
      _sl_project_set_db_error (self, error, "Could not count the images per class");
      sl_project_stats_clear (s);
      return FALSE;
    }
  while ((rc = sqlite3_step (shapes)) == SQLITE_ROW)
    {
      SlShapeCount *sc = g_new0 (SlShapeCount, 1);

      sc->width = sqlite3_column_int (shapes, 0);
      sc->height = sqlite3_column_int (shapes, 1);
      sc->channels = sqlite3_column_int (shapes, 2);
      sc->count = sqlite3_column_int64 (shapes, 3);
      g_ptr_array_add (s->shapes, sc);
    }
  if (rc != SQLITE_DONE)
    {
      _sl_project_set_db_error (self, error, "Could not count the image sizes");
      sl_project_stats_clear (s);
      return FALSE;
    }
  s->images = query_count (self, "SELECT count(*) FROM images", error);
  s->ignored = query_count (self, "SELECT count(*) FROM images WHERE ignored = 1", error);
  s->labelled = query_count (self,
                             "SELECT count(*) FROM images WHERE ignored = 0 AND class_id "
                             "IS NOT NULL",
                             error);
  s->unlabelled = s->images - s->ignored - s->labelled;
  s->duplicates = query_count (self, "SELECT count(*) FROM import_issues WHERE outcome = 1", error);
  s->unreadable = query_count (self, "SELECT count(*) FROM import_issues WHERE outcome = 2", error);
  s->transparent = query_count (
      self, "SELECT count(*) FROM images WHERE ignored = 0 AND channels IN (2, 4)", error);
  if (error != NULL && *error != NULL)
    {
      sl_project_stats_clear (s);
      return FALSE;
    }
  if ((s->conflicts = _sl_project_count_label_conflicts (self, error)) < 0
      || !find_missing (self, s, error))
    {
      sl_project_stats_clear (s);
      return FALSE;
    }
  check_health (self, s);
  return TRUE;
}
