/* sl-train-job-features.c: a training job's feature pass: the frozen prefix run once per image. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-train-job-private.h"

#include <math.h>

static gboolean
runtime_failed (GError **error, const sl_error *err, const char *what)
{
  _sl_project_set_runtime_error (error, err, what);
  return FALSE;
}

typedef struct
{
  SlTrainJob *job;
  gint64 before, total; /* images done in earlier parts of the pass, and in all */
} FeaturePass;

static gboolean
feature_progress (gint64 done, gpointer user_data)
{
  FeaturePass *pass = user_data;
  SlTrainJob *job = pass->job;

  if (job->func != NULL)
    {
      SlTrainProgress tp = { 0 };

      tp.run_id = job->run->id;
      tp.epoch = job->first_epoch;
      tp.epochs = job->config.epochs;
      tp.train_loss = tp.train_accuracy = tp.val_loss = tp.val_accuracy = NAN;
      tp.learning_rate = sl_trainer_learning_rate (job->trainer);
      tp.images_per_s = NAN;
      tp.eta_seconds = NAN; /* the epochs' pace is not known before one runs */
      tp.features_done = pass->before + done;
      tp.features_total = pass->total;
      job->func (&tp, job->user_data);
    }
  return !g_atomic_int_get (&job->cancelled);
}

/* The features of one split's images, through a loader of their own that neither shuffles,
 * augments nor keeps the decoded images (each is decoded once). */
static SlFeatureCache *
cache_split (SlTrainJob *job, GPtrArray *paths, GArray *labels, gint64 budget, FeaturePass *pass,
             GError **error)
{
  g_autofree char *dir = sl_project_run_file (job->db, job->run, NULL);
  sl_loader_config lc;
  sl_loader *loader = NULL;
  sl_loader_stats ls;
  sl_error err = { 0 };
  SlFeatureCache *cache;

  sl_loader_config_init (&lc);
  lc.batch_size = job->config.batch_size;
  lc.seed = job->config.seed;
  lc.workers = job->config.workers > 0 ? job->config.workers : 2;
  lc.shuffle = false;
  lc.cache_bytes = 0;
  if (sl_loader_new_files ((const char *const *) paths->pdata, (const int32_t *) labels->data,
                           paths->len, job->pipeline, &lc, &loader, &err)
      != SL_OK)
    {
      runtime_failed (error, &err, "Could not load the images");
      return NULL;
    }
  cache = sl_feature_cache_new (job->model, loader, lc.batch_size, budget, dir, feature_progress,
                                pass, error);
  sl_loader_get_stats (loader, &ls);
  job->cache_stats.decoded_images += ls.decoded_images;
  sl_loader_free (loader);
  pass->before += paths->len;
  return cache;
}

gboolean
_sl_train_job_compute_features (SlTrainJob *job, GError **error)
{
  FeaturePass pass = { job, 0, job->data.train_paths->len + job->data.val_paths->len };
  gint64 budget = job->cache_budget >= 0 ? job->cache_budget : sl_feature_cache_default_budget ();
  gint64 started = g_get_monotonic_time ();
  sl_error err = { 0 };

  if (!job->cache_enabled || sl_augment_config_is_active (&job->augment)
      || sl_model_feature_size (job->model) == 0)
    return TRUE;
  if ((job->train_cache
       = cache_split (job, job->data.train_paths, job->data.train_labels, budget, &pass, error))
      == NULL)
    return FALSE;
  budget = MAX (budget - sl_feature_cache_memory_bytes (job->train_cache), 0);
  if (job->val_loader != NULL
      && (job->val_cache
          = cache_split (job, job->data.val_paths, job->data.val_labels, budget, &pass, error))
             == NULL)
    return FALSE;
  if (sl_trainer_set_feature_input (job->trainer, true, &err) != SL_OK)
    return runtime_failed (error, &err, "Could not train from the cached features");
  job->cache_stats.used = TRUE;
  job->cache_stats.images = pass.total;
  for (SlFeatureCache *c = job->train_cache; c != NULL;
       c = c == job->train_cache ? job->val_cache : NULL)
    {
      job->cache_stats.memory_bytes += sl_feature_cache_memory_bytes (c);
      job->cache_stats.disk_bytes += sl_feature_cache_disk_bytes (c);
    }
  job->cache_stats.seconds = (g_get_monotonic_time () - started) / 1e6;
  return TRUE;
}

void
sl_train_job_set_feature_cache (SlTrainJob *job, gboolean enabled, gint64 memory_bytes)
{
  g_return_if_fail (job->thread == NULL);
  job->cache_enabled = enabled;
  job->cache_budget = memory_bytes;
}

void
sl_train_job_get_feature_stats (SlTrainJob *job, SlFeatureCacheStats *stats)
{
  sl_loader_stats ls;

  *stats = job->cache_stats;
  stats->epoch_decoded_images = 0;
  for (sl_loader *l = job->train_loader; l != NULL;
       l = l == job->train_loader ? job->val_loader : NULL)
    {
      sl_loader_get_stats (l, &ls);
      stats->epoch_decoded_images += ls.decoded_images;
    }
}
