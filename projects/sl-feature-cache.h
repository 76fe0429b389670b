/* sl-feature-cache.h: a frozen prefix's features, computed once per image, in RAM or a file. */
#pragma once

#include <glib.h>

#include "sl-vision.h"

typedef struct _SlFeatureCache SlFeatureCache;

/* Called on the computing thread after each batch of the feature pass with the images done
 * so far (failed ones included); FALSE cancels the pass. */
typedef gboolean (*SlFeatureProgress) (gint64 done, gpointer user_data);

/* The cache budget when nobody gives one: SL_FEATURE_CACHE_RAM_SHARE of the RAM, at most
 * SL_FEATURE_CACHE_MAX_MEMORY (sl-run.h). */
gint64 sl_feature_cache_default_budget (void);

/* Runs every image of `loader` (made without shuffling or augmentation, loader_batch images
 * per batch) through the frozen
 * prefix of `model` once. Up to memory_budget bytes of features stay in memory, the rest go
 * to a file "features.tmp-XXXXXX" in `dir`, removed when the cache is freed (the project's
 * clean-up on open removes one a dead process left). Images the loader cannot use are
 * remembered and skipped later just as the loader skips them. Fails with
 * G_IO_ERROR_CANCELLED when progress says so. */
SlFeatureCache *sl_feature_cache_new (sl_model *model, sl_loader *loader, int loader_batch,
                                      gint64 memory_budget, const char *dir,
                                      SlFeatureProgress progress, gpointer user_data,
                                      GError **error);
void sl_feature_cache_free (SlFeatureCache *cache); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlFeatureCache, sl_feature_cache_free)

/* A batch source over the cached features (sl_model_feature_size floats per image): each
 * pass visits the images in the order a loader with this batch size and seed would (shuffled
 * from (seed, epoch) when `shuffle`, else in item order), batch for batch. Valid while the
 * cache lives; one consumer thread. */
void sl_feature_cache_as_source (SlFeatureCache *cache, gboolean shuffle, guint64 seed,
                                 int batch_size, sl_batch_source *source);

gint64 sl_feature_cache_count (const SlFeatureCache *cache);        /* images, failed included */
gint64 sl_feature_cache_memory_bytes (const SlFeatureCache *cache); /* features in memory */
gint64 sl_feature_cache_disk_bytes (const SlFeatureCache *cache);   /* features in the file */
