/* sl-project-runs.c: reading runs and their metrics; run recipes to and from JSON. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-run-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sl-config.h"
#include "sl-files.h"
#include "sl-project-lock.h"

/* How long taking a run's lock waits for a momentary holder. */
#define RUN_LOCK_WAIT_MS 2000

static const char *const status_names[] = {
  "created", "running", "cancelled", "failed", "finished", "stopped-early", "interrupted",
};

const char *
sl_run_status_to_string (SlRunStatus status)
{
  return status <= SL_RUN_INTERRUPTED ? status_names[status] : "unknown";
}

void
sl_run_config_apply_data_defaults (SlRunConfig *c, gint64 train_images, gint64 val_images,
                                   double imbalance)
{
  int batch = 8;

  if (train_images < 0)
    {
      c->epochs = 10;
      c->batch_size = 32;
      c->patience = 5;
      c->class_weights = SL_CLASS_WEIGHTS_NONE;
      if (c->backbone != NULL)
        sl_run_config_apply_backbone_defaults (c, train_images);
      return;
    }
  c->epochs = train_images < 500 ? 30 : train_images < 5000 ? 15 : 10;
  while (batch < 64 && batch * 2 <= train_images / 8)
    batch *= 2;
  c->batch_size = train_images > 0 ? batch : 32;
  if (c->backbone != NULL)
    sl_run_config_apply_backbone_defaults (c, train_images);
  c->patience = val_images == 0 ? 0 : MAX (5, c->epochs / 4);
  c->class_weights = imbalance > 3 ? SL_CLASS_WEIGHTS_AUTO : SL_CLASS_WEIGHTS_NONE;
}

double
sl_project_stats_train_imbalance (const SlProjectStats *stats)
{
  gint64 lo = G_MAXINT64, hi = 0;

  for (guint i = 0; stats->classes != NULL && i < stats->classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats->classes, i);

      if (c->train > 0)
        {
          lo = MIN (lo, c->train);
          hi = MAX (hi, c->train);
        }
    }
  return hi > 0 ? (double) hi / lo : 1;
}

const char *
sl_run_best_criterion (const SlRunInfo *run)
{
  return run != NULL && run->val_images == 0 ? "lowest training loss" : "lowest validation loss";
}

void
sl_run_config_init (SlRunConfig *c)
{
  memset (c, 0, sizeof *c);
  c->preset = g_strdup ("small-bn");
  c->optimizer = g_strdup ("adam");
  c->learning_rate = 1e-3;
  c->momentum = 0.9;
  c->epochs = 10;
  c->batch_size = 32;
  c->patience = 5;
  c->workers = 2;
  c->seed = 1;
  /* A short warm-up then a cosine decay learns small data sets better than a
   * constant rate: big steps early, fine ones at the end. */
  c->schedule = SL_LR_SCHEDULE_COSINE;
  c->warmup_epochs = 1;
  c->min_learning_rate = 0;
  c->step_epochs = 10;
  c->gamma = 0.1;
  c->finetune = SL_FINETUNE_HEAD;
  c->backbone_lr_ratio = 0.1;
}

void
sl_run_config_clear (SlRunConfig *c)
{
  g_free (c->preset);
  g_free (c->model_json);
  g_free (c->pipeline_json);
  g_free (c->augment_json);
  g_free (c->optimizer);
  g_free (c->backbone);
  if (c->manual_weights != NULL)
    g_array_unref (c->manual_weights);
  memset (c, 0, sizeof *c);
}

static const char *const weight_modes[] = { "none", "auto", "manual" };
static const char *const schedule_names[] = { "constant", "step", "cosine" };

const char *
sl_lr_schedule_to_string (SlLrSchedule schedule)
{
  return schedule <= SL_LR_SCHEDULE_COSINE ? schedule_names[schedule] : "unknown";
}

gboolean
sl_lr_schedule_from_string (const char *name, SlLrSchedule *schedule)
{
  for (int i = 0; i < (int) G_N_ELEMENTS (schedule_names); i++)
    if (g_strcmp0 (name, schedule_names[i]) == 0)
      {
        *schedule = i;
        return TRUE;
      }
  return FALSE;
}

static void
add_document (cJSON *obj, const char *key, const char *json)
{
  cJSON *doc = json != NULL ? cJSON_Parse (json) : NULL;

  cJSON_AddItemToObject (obj, key, doc != NULL ? doc : cJSON_CreateNull ());
}

char *
_sl_run_config_to_json (const SlRunConfig *c, const char *model_json, const char *pipeline_json,
                        const char *backbone_json, const float *weights, int classes)
{
  cJSON *obj = cJSON_CreateObject ();
  char *printed, *out;

  cJSON_AddItemToObject (obj, "preset",
                         c->preset ? cJSON_CreateString (c->preset) : cJSON_CreateNull ());
  add_document (obj, "model", model_json);
  add_document (obj, "pipeline", pipeline_json);
  add_document (obj, "augment", c->augment_json);
  cJSON_AddStringToObject (obj, "optimizer", c->optimizer ? c->optimizer : "adam");
  cJSON_AddNumberToObject (obj, "learning_rate", c->learning_rate);
  cJSON_AddNumberToObject (obj, "weight_decay", c->weight_decay);
  cJSON_AddNumberToObject (obj, "momentum", c->momentum);
  cJSON_AddNumberToObject (obj, "label_smoothing", c->label_smoothing);
  cJSON_AddNumberToObject (obj, "epochs", c->epochs);
  cJSON_AddNumberToObject (obj, "batch_size", c->batch_size);
  cJSON_AddNumberToObject (obj, "patience", c->patience);
  cJSON_AddNumberToObject (obj, "threads", c->threads);
  cJSON_AddNumberToObject (obj, "workers", c->workers);
  /* Seeds can exceed a double's exact range: kept as a decimal string. */
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, c->seed);
  cJSON_AddStringToObject (obj, "seed", seed);
  cJSON_AddStringToObject (obj, "class_weights", weight_modes[c->class_weights]);
  cJSON_AddStringToObject (obj, "schedule", sl_lr_schedule_to_string (c->schedule));
  cJSON_AddNumberToObject (obj, "warmup_epochs", c->warmup_epochs);
  cJSON_AddNumberToObject (obj, "min_learning_rate", c->min_learning_rate);
  cJSON_AddNumberToObject (obj, "step_epochs", c->step_epochs);
  cJSON_AddNumberToObject (obj, "gamma", c->gamma);
  if (c->device[0] != '\0')
    cJSON_AddStringToObject (obj, "device", c->device);
  if (c->backbone != NULL)
    {
      add_document (obj, "backbone", backbone_json);
      cJSON_AddStringToObject (obj, "finetune",
                               sl_finetune_to_string (c->finetune, c->finetune_blocks));
      cJSON_AddNumberToObject (obj, "backbone_lr_ratio", c->backbone_lr_ratio);
      cJSON_AddNumberToObject (obj, "input_size", c->input_size);
    }
  if (c->anomaly)
    {
      cJSON_AddBoolToObject (obj, "anomaly", true);
      cJSON_AddNumberToObject (obj, "coreset_ratio", c->coreset_ratio);
      cJSON_AddNumberToObject (obj, "target_false_reject", c->target_false_reject);
    }
  if (weights != NULL)
    {
      cJSON *array = cJSON_AddArrayToObject (obj, "weights");
      for (int i = 0; i < classes; i++)
        cJSON_AddItemToArray (array, cJSON_CreateNumber (weights[i]));
    }
  printed = cJSON_PrintUnformatted (obj);
  out = g_strdup (printed);
  cJSON_free (printed);
  cJSON_Delete (obj);
  return out;
}

static char *
dup_member_json (const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);
  char *printed, *out;

  if (item == NULL || cJSON_IsNull (item))
    return NULL;
  printed = cJSON_PrintUnformatted (item);
  out = g_strdup (printed);
  cJSON_free (printed);
  return out;
}

static double
number (const cJSON *obj, const char *key, double fallback)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  return cJSON_IsNumber (item) ? item->valuedouble : fallback;
}

static char *
string (const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  return cJSON_IsString (item) ? g_strdup (item->valuestring) : NULL;
}

gboolean
sl_run_config_from_json (const char *json, SlRunConfig *c, GArray **weights, GError **error)
{
  cJSON *obj = cJSON_Parse (json);
  g_autofree char *seed = NULL, *mode = NULL, *schedule = NULL;
  const cJSON *array;

  memset (c, 0, sizeof *c);
  if (!cJSON_IsObject (obj))
    {
      cJSON_Delete (obj);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "A run's stored recipe is not valid JSON");
      return FALSE;
    }
  c->preset = string (obj, "preset");
  c->model_json = dup_member_json (obj, "model");
  c->pipeline_json = dup_member_json (obj, "pipeline");
  c->augment_json = dup_member_json (obj, "augment");
  c->optimizer = string (obj, "optimizer");
  c->learning_rate = number (obj, "learning_rate", 1e-3);
  c->weight_decay = number (obj, "weight_decay", 0);
  c->momentum = number (obj, "momentum", 0.9);
  c->label_smoothing = number (obj, "label_smoothing", 0);
  c->epochs = (int) number (obj, "epochs", 1);
  c->batch_size = (int) number (obj, "batch_size", 32);
  c->patience = (int) number (obj, "patience", 0);
  c->threads = (int) number (obj, "threads", 0);
  c->workers = (int) number (obj, "workers", 2);
  {
    g_autofree char *device = string (obj, "device");

    g_strlcpy (c->device, device != NULL ? device : "", sizeof c->device);
  }
  seed = string (obj, "seed");
  c->seed = seed != NULL ? g_ascii_strtoull (seed, NULL, 10) : 1;
  mode = string (obj, "class_weights");
  for (int i = 0; i < (int) G_N_ELEMENTS (weight_modes); i++)
    if (g_strcmp0 (mode, weight_modes[i]) == 0)
      c->class_weights = i;
  /* Runs stored before schedules existed trained at a constant rate. */
  schedule = string (obj, "schedule");
  if (!sl_lr_schedule_from_string (schedule, &c->schedule))
    c->schedule = SL_LR_SCHEDULE_CONSTANT;
  c->warmup_epochs = number (obj, "warmup_epochs", 0);
  c->min_learning_rate = number (obj, "min_learning_rate", 0);
  c->step_epochs = (int) number (obj, "step_epochs", 10);
  c->gamma = number (obj, "gamma", 0.1);
  /* Recipes stored before backbones existed trained a preset or a model description. */
  c->finetune = SL_FINETUNE_HEAD;
  c->backbone_lr_ratio = number (obj, "backbone_lr_ratio", 0.1);
  c->input_size = (int) number (obj, "input_size", 0);
  /* Recipes stored before anomaly runs existed trained classifiers. */
  c->anomaly = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (obj, "anomaly"));
  c->coreset_ratio = number (obj, "coreset_ratio", 0);
  c->target_false_reject = number (obj, "target_false_reject", 0);
  {
    const cJSON *bb = cJSON_GetObjectItemCaseSensitive (obj, "backbone");
    g_autofree char *finetune = string (obj, "finetune");

    c->backbone = cJSON_IsObject (bb) ? string (bb, "name") : NULL;
    if (c->backbone != NULL && finetune != NULL
        && !sl_finetune_from_string (finetune, &c->finetune, &c->finetune_blocks, NULL))
      {
        cJSON_Delete (obj);
        sl_run_config_clear (c);
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                     "A run's stored recipe names a fine-tuning mode this version does not "
                     "know: “%s”",
                     finetune);
        return FALSE;
      }
  }
  array = cJSON_GetObjectItemCaseSensitive (obj, "weights");
  if (weights != NULL)
    *weights = NULL;
  if (weights != NULL && cJSON_IsArray (array))
    {
      const cJSON *item;

      *weights = g_array_new (FALSE, FALSE, sizeof (float));
      cJSON_ArrayForEach (item, array)
      {
        float w = (float) (cJSON_IsNumber (item) ? item->valuedouble : 1.0);
        g_array_append_val (*weights, w);
      }
    }
  cJSON_Delete (obj);
  if (c->model_json == NULL || c->pipeline_json == NULL)
    {
      sl_run_config_clear (c);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "A run's stored recipe lacks its model or pipeline");
      return FALSE;
    }
  return TRUE;
}

char *
_sl_run_config_member_json (const char *config_json, const char *member)
{
  cJSON *obj = cJSON_Parse (config_json);
  char *out = obj != NULL ? dup_member_json (obj, member) : NULL;

  cJSON_Delete (obj);
  return out;
}

char *
_sl_run_versions_json (void)
{
  return g_strdup_printf ("{\"sightline\": \"%s\", \"project_format\": %d, \"glib\": "
                          "\"%u.%u.%u\", \"sqlite\": \"%s\"}",
                          sl_version_string (), SL_PROJECT_SCHEMA_VERSION, glib_major_version,
                          glib_minor_version, glib_micro_version, sqlite3_libversion ());
}

char *
sl_run_info_dup_pipeline_json (const SlRunInfo *run)
{
  return _sl_run_config_member_json (run->config_json, "pipeline");
}

char *
sl_run_info_dup_model_json (const SlRunInfo *run)
{
  return _sl_run_config_member_json (run->config_json, "model");
}

void
sl_run_info_free (SlRunInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->message);
  g_free (info->created);
  g_free (info->finished);
  g_free (info->preset);
  g_free (info->backbone);
  g_free (info->dataset_hash);
  g_free (info->config_json);
  g_free (info->versions_json);
  if (info->class_names != NULL)
    g_ptr_array_unref (info->class_names);
  g_free (info->class_ids);
  g_free (info);
}

#define RUN_COLUMNS                                                                                \
  "SELECT id, status, message, created, finished, preset, epochs, epochs_done, best_epoch, "       \
  "best_val_loss, best_val_accuracy, train_images, val_images, dataset_hash, config_json, "        \
  "versions_json, classes_json FROM runs "

gboolean
_sl_run_lock (SlProject *self, const SlRunInfo *run, gboolean exclusive, int *fd, GError **error)
{
  g_autofree char *path = sl_project_run_file (self, run, ".lock");
  g_autoptr (GError) local_error = NULL;
  SlLock *lock;

  /* The clean-up on open and the status checks of other processes hold it
   * for an instant: a short wait tells them from a training. */
  lock = sl_lock_take (path, exclusive ? SL_LOCK_EXCLUSIVE : SL_LOCK_SHARED, RUN_LOCK_WAIT_MS, NULL,
                       &local_error);
  *fd = -1;
  if (lock == NULL)
    {
      if (g_error_matches (local_error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY))
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                     "%s is being trained by another process", run->name);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* A repair may have replaced project.db while this process had it open:
   * what it wrote now would go to the file the repair moved aside. */
  if (!_sl_project_check_same_file (self, run->name, error))
    {
      sl_lock_release (lock);
      return FALSE;
    }
  *fd = sl_lock_steal_fd (lock);
  return TRUE;
}

/* A run stored as running whose lock nobody holds lost its process. */
static void
check_alive (SlProject *self, SlRunInfo *run)
{
  g_autofree char *path = sl_project_run_file (self, run, ".lock");

  if (run->status == SL_RUN_RUNNING && !sl_lock_is_held (path))
    run->status = SL_RUN_INTERRUPTED;
}

static SlRunInfo *
run_from_row (SlProject *self, sqlite3_stmt *stmt)
{
  SlRunInfo *r = g_new0 (SlRunInfo, 1);
  cJSON *classes, *item;
  int n = 0;

  r->id = sqlite3_column_int64 (stmt, 0);
  r->name = g_strdup_printf ("run-%lld", (long long) r->id);
  r->status = sqlite3_column_int (stmt, 1);
  r->message = _sl_sqlite_dup_text (stmt, 2);
  r->created = _sl_sqlite_dup_text (stmt, 3);
  r->finished = _sl_sqlite_dup_text (stmt, 4);
  r->preset = _sl_sqlite_dup_text (stmt, 5);
  r->epochs = sqlite3_column_int (stmt, 6);
  r->epochs_done = sqlite3_column_int (stmt, 7);
  r->best_epoch = sqlite3_column_int (stmt, 8);
  r->best_val_loss
      = sqlite3_column_type (stmt, 9) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 9);
  r->best_val_accuracy
      = sqlite3_column_type (stmt, 10) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 10);
  r->train_images = sqlite3_column_int64 (stmt, 11);
  r->val_images = sqlite3_column_int64 (stmt, 12);
  r->dataset_hash = _sl_sqlite_dup_text (stmt, 13);
  r->config_json = _sl_sqlite_dup_text (stmt, 14);
  r->backbone = _sl_run_config_backbone_name (r->config_json);
  r->versions_json = _sl_sqlite_dup_text (stmt, 15);
  r->class_names = g_ptr_array_new_with_free_func (g_free);
  classes = cJSON_Parse ((const char *) sqlite3_column_text (stmt, 16));
  r->class_ids = g_new0 (gint64, MAX (1, cJSON_GetArraySize (classes)));
  cJSON_ArrayForEach (item, classes)
  {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive (item, "name");
    r->class_ids[n++]
        = (gint64) cJSON_GetNumberValue (cJSON_GetObjectItemCaseSensitive (item, "id"));
    g_ptr_array_add (r->class_names, g_strdup (cJSON_IsString (name) ? name->valuestring : "?"));
  }
  cJSON_Delete (classes);
  check_alive (self, r);
  return r;
}

GPtrArray *
sl_project_list_runs (SlProject *self, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (self, RUN_COLUMNS "ORDER BY id DESC", error);
  GPtrArray *out;

  if (stmt == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_run_info_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (out, run_from_row (self, stmt));
  return out;
}

SlRunInfo *
sl_project_get_run (SlProject *self, const char *ref, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gint64 id = -1;

  if (ref == NULL || g_strcmp0 (ref, "latest") == 0)
    stmt = _sl_project_prepare (self, RUN_COLUMNS "ORDER BY id DESC LIMIT 1", error);
  else
    {
      const char *digits = g_str_has_prefix (ref, "run-") ? ref + 4 : ref;
      char *end = NULL;

      id = g_ascii_strtoll (digits, &end, 10);
      if (*digits == '\0' || end == NULL || *end != '\0' || id <= 0)
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                       "“%s” does not name a run; give its number, run-N or latest", ref);
          return NULL;
        }
      stmt = _sl_project_prepare (self, RUN_COLUMNS "WHERE id = ?", error);
      if (stmt != NULL)
        sqlite3_bind_int64 (stmt, 1, id);
    }
  if (stmt == NULL)
    return NULL;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return run_from_row (self, stmt);
  g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_NOT_FOUND,
               id < 0 ? "The project has no training runs yet"
                      : "There is no run %s in the "
                        "project",
               ref);
  return NULL;
}

GArray *
sl_project_get_run_metrics (SlProject *self, gint64 run_id, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      self,
      "SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate, "
      "images_per_s, seconds FROM run_metrics WHERE run_id = ? ORDER BY epoch",
      error);
  GArray *out;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  out = g_array_new (FALSE, FALSE, sizeof (SlEpochMetrics));
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      SlEpochMetrics m;

      m.epoch = sqlite3_column_int (stmt, 0);
      m.train_loss = sqlite3_column_double (stmt, 1);
      m.train_accuracy = sqlite3_column_double (stmt, 2);
      m.val_loss
          = sqlite3_column_type (stmt, 3) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 3);
      m.val_accuracy
          = sqlite3_column_type (stmt, 4) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 4);
      m.learning_rate = sqlite3_column_double (stmt, 5);
      m.images_per_s = sqlite3_column_double (stmt, 6);
      m.seconds = sqlite3_column_double (stmt, 7);
      g_array_append_val (out, m);
    }
  return out;
}

char *
sl_project_run_file (SlProject *self, const SlRunInfo *run, const char *file)
{
  return g_build_filename (self->path, "runs", run->name, file, NULL);
}

gboolean
sl_project_delete_run (SlProject *self, gint64 run_id, GError **error)
{
  g_autofree char *ref = g_strdup_printf ("%lld", (long long) run_id);
  g_autoptr (SlRunInfo) run = sl_project_get_run (self, ref, error);
  g_autofree char *dir = NULL;
  g_autofree char *trash = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gboolean has_dir;
  int fd = -1;

  if (run == NULL)
    return FALSE;
  dir = g_build_filename (self->path, "runs", run->name, NULL);
  trash = g_strconcat (dir, ".tmp-deleted", NULL);
  has_dir = g_file_test (dir, G_FILE_TEST_IS_DIR);
  /* The training thread (of this or another process) holds the lock. */
  if (has_dir && !_sl_run_lock (self, run, TRUE, &fd, error))
    return FALSE;
  /* Moved aside first, so a failed delete can put it back, and a crash leaves
   * a ".tmp-" folder that the next open removes. */
  if (has_dir && g_rename (dir, trash) != 0)
    {
      int saved = errno;

      close (fd);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_IO, "Could not remove %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  stmt = _sl_project_prepare (self, "DELETE FROM runs WHERE id = ?", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, run_id);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          _sl_project_set_db_error (self, error, "Could not delete the run");
          g_clear_pointer (&stmt, sqlite3_finalize);
        }
    }
  /* The lock is let go only once the run is back in place (or removed): a
   * moved-aside run whose lock is free is what another program's clean-up
   * on open removes. */
  if (stmt == NULL)
    {
      if (has_dir)
        {
          g_rename (trash, dir);
          close (fd);
        }
      return FALSE;
    }
  if (has_dir)
    {
      sl_remove_tree (trash);
      close (fd);
    }
  return TRUE;
}
