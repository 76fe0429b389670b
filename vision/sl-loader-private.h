/* sl-loader-private.h: the batch loader's state, shared by its thread pool (sl-loader.c) and item code (sl-loader-item.c). */
#pragma once

#include "sl-pipeline-private.h"

#include <pthread.h>

typedef struct
{
  char *path;     /* file items */
  sl_image image; /* memory items (borrowed) */
  int32_t label;
  uint8_t *cached; /* the pipeline's output, C x H x W bytes interleaved, or NULL */
  char *failure;   /* why the item cannot be used; set once, by the worker that hit it */
  bool reported;
} sl_loader_item;

typedef enum
{
  SL_SLOT_FREE,
  SL_SLOT_FILLING,
  SL_SLOT_READY,
} sl_slot_state;

typedef struct
{
  int64_t batch;
  sl_slot_state state;
  float *x;
  int32_t *labels;
  int n;
  sl_status status; /* a fatal error (out of memory) while filling */
  sl_error error;
} sl_loader_slot;

struct sl_loader
{
  sl_loader_config config;
  sl_augment_config augment;
  bool augmenting;
  sl_pipeline *pipeline;
  sl_normalizer normalizer;
  size_t image_bytes, image_floats;

  int64_t count;
  sl_loader_item *items;

  /* Everything below is guarded by lock. */
  pthread_mutex_t lock;
  pthread_cond_t work;  /* workers wait for a batch to fill */
  pthread_cond_t ready; /* the consumer waits for a batch, begin_epoch for idle workers */
  pthread_t *threads;
  int n_threads;
  bool quit, active, started;
  int busy;
  int64_t epoch, n_batches, next_claim, next_consume, delivered;
  int64_t *order;
  int ring;
  sl_loader_slot *slots;
  size_t cache_used;
  int64_t cached, decoded, failed;
  int64_t *failures;
  int64_t n_failures, failures_cap;
};

/* Fills slot with batch b of the current epoch (called by a worker, unlocked). */
void _sl_loader_fill_slot (sl_loader *l, sl_loader_slot *slot, int64_t b);
