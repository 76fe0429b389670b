/* sl-trainer.c: optimizer steps, epochs over a batch source, evaluation. */
#include "sl-trainer-private.h"
#include "sl-error-private.h"
#include "sl-optimizer-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static sl_status
trainer_plan (sl_trainer *t, sl_error *err)
{
  _sl_plan_free (t->model, t->plan);
  t->plan = NULL;
  t->plan_backend = t->model->backend;
  t->plan_threads = t->model->threads;
  return _sl_plan_new_part (t->model, t->batch, true, t->features ? SL_PART_SUFFIX : SL_PART_ALL,
                            &t->plan, err);
}

/* The layers' lr_scale as ranges of the trainable parameters, runs of equal
 * scales merged; none when every scale is 1 (the optimizer's fast path). */
static sl_status
build_lr_ranges (sl_trainer *t)
{
  const sl_model *m = t->model;
  bool scaled = false;

  for (int i = m->n_frozen; i < m->n_nodes; i++)
    scaled |= m->nodes[i].param_count > 0 && m->nodes[i].lr_scale != 1.0f;
  if (!scaled)
    return SL_OK;
  t->ranges = calloc ((size_t) m->n_nodes, sizeof *t->ranges);
  if (t->ranges == NULL)
    return SL_ERR_NOMEM;
  for (int i = m->n_frozen; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      size_t begin = n->param_offset - m->trainable_offset;
      sl_lr_range *last = t->n_ranges > 0 ? &t->ranges[t->n_ranges - 1] : NULL;

      if (n->param_count == 0)
        continue;
      if (last != NULL && last->scale == n->lr_scale && last->end == begin)
        last->end = begin + n->param_count;
      else
        t->ranges[t->n_ranges++]
            = (sl_lr_range){ .begin = begin, .end = begin + n->param_count, .scale = n->lr_scale };
    }
  return SL_OK;
}

/* Training needs a gradient to reach at least one weight. */
static sl_status
check_trainable (const sl_model *m, sl_error *err)
{
  int last = m->n_nodes - 1;

  while (last >= 0 && m->nodes[last].kind == SL_LAYER_FLATTEN)
    last = m->nodes[last].inputs[0];
  if (m->n_params - m->trainable_offset == 0 || last < m->n_frozen)
    return sl_error_set (err, SL_ERR_INVALID,
                         "every layer with weights is frozen, so there is nothing to train; "
                         "unfreeze at least the last layer");
  return SL_OK;
}

sl_status
sl_trainer_new (sl_model *model, const sl_train_config *config, int batch_size, sl_trainer **out,
                sl_error *err)
{
  sl_backend *be;
  sl_trainer *t;
  sl_status st;
  size_t in_size;

  if (out == NULL || model == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "sl_trainer_new: no model or no place for the result");
  *out = NULL;
  if (batch_size < 1 || batch_size > 65536)
    return sl_error_set (err, SL_ERR_INVALID, "the batch size must be from 1 to 65536, not %d",
                         batch_size);
  st = _sl_train_config_validate (config, model->classes, err);
  if (st == SL_OK)
    st = check_trainable (model, err);
  if (st != SL_OK)
    return st;

  t = calloc (1, sizeof *t);
  if (t == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating a trainer");
  t->model = model;
  model->trainers++;
  t->config = *config;
  t->batch = batch_size;
  be = model->backend;
  if (config->class_weights != NULL)
    {
      t->class_weights = malloc (sizeof (float) * model->classes);
      if (t->class_weights == NULL)
        goto nomem;
      memcpy (t->class_weights, config->class_weights, sizeof (float) * model->classes);
      t->config.class_weights = t->class_weights;
      if (be->ops->host_memory)
        t->device_class_weights = t->class_weights;
      else if ((t->device_class_weights = be->ops->alloc (be, sizeof (float) * model->classes))
               == NULL)
        goto nomem;
      else
        be->ops->upload (be, t->device_class_weights, t->class_weights,
                         sizeof (float) * model->classes);
    }
  /* Room for a batch of images, or of features (never larger). */
  in_size = (size_t) model->channels * model->height * model->width;
  if (sl_model_feature_size (model) > in_size)
    in_size = sl_model_feature_size (model);
  t->n_trainable = model->n_params - model->trainable_offset;
  t->grads = be->ops->alloc (be, sizeof (float) * t->n_trainable);
  t->moments = be->ops->alloc (be, 2 * sizeof (float) * t->n_trainable);
  t->x = malloc (sizeof (float) * in_size * batch_size);
  t->labels = malloc (sizeof (int32_t) * batch_size);
  if (t->grads == NULL || t->moments == NULL || t->x == NULL || t->labels == NULL
      || build_lr_ranges (t) != SL_OK)
    goto nomem;
  st = trainer_plan (t, err);
  if (st == SL_OK)
    st = be->ops->sync (be, err);
  if (st != SL_OK)
    {
      sl_trainer_free (t);
      return st;
    }
  t->learning_rate = _sl_schedule_learning_rate (&t->config, 0);
  *out = t;
  return SL_OK;

nomem:
  sl_trainer_free (t);
  return sl_error_set (err, SL_ERR_NOMEM,
                       "out of %s memory for the training buffers of %zu parameters; try a "
                       "smaller batch size or model",
                       be->ops->host_memory ? "main" : "GPU", model->n_params);
}

void
sl_trainer_free (sl_trainer *t)
{
  sl_backend *be;

  if (t == NULL)
    return;
  be = t->model->backend;
  _sl_plan_free (t->model, t->plan);
  if (t->grads != NULL)
    be->ops->release (be, t->grads);
  if (t->moments != NULL)
    be->ops->release (be, t->moments);
  if (t->device_class_weights != NULL && t->device_class_weights != t->class_weights)
    be->ops->release (be, t->device_class_weights);
  t->model->trainers--;
  free (t->ranges);
  free (t->x);
  free (t->labels);
  free (t->class_weights);
  free (t);
}

static sl_status
check_batch (sl_trainer *t, const float *x, const int32_t *labels, int n, sl_error *err)
{
  if (x == NULL || labels == NULL || n < 1 || n > t->batch)
    return sl_error_set (err, SL_ERR_INVALID, "a batch must hold 1 to %d images, not %d", t->batch,
                         n);
  for (int i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] >= t->model->classes)
      return sl_error_set (err, SL_ERR_INVALID,
                           "label %d of image %d is outside the model's %d classes",
                           (int) labels[i], i, t->model->classes);
  if (t->plan == NULL || t->plan_backend != t->model->backend
      || t->plan_threads != t->model->threads)
    return trainer_plan (t, err);
  return SL_OK;
}

/* Checks a batch and puts it where the backend reads it: the caller's
 * buffers on the CPU, the plan's staging buffers on a GPU (x and labels may
 * be reused as soon as this returns). */
static sl_status
stage_batch (sl_trainer *t, const float *x, const int32_t *labels, int n, const float **dx,
             const int32_t **dlabels, sl_error *err)
{
  sl_model *m = t->model;
  sl_backend *be = m->backend;
  sl_status st = check_batch (t, x, labels, n, err);
  size_t in_size;

  if (st != SL_OK)
    return st;
  in_size = t->plan->input_size; /* an image's floats, or a feature's */
  if (be->ops->host_memory)
    {
      *dx = x;
      *dlabels = labels;
      return SL_OK;
    }
  be->ops->upload (be, t->plan->input, x, sizeof (float) * in_size * n);
  be->ops->upload (be, t->plan->labels, labels, sizeof (int32_t) * n);
  *dx = t->plan->input;
  *dlabels = t->plan->labels;
  return SL_OK;
}

/* First half of a step: queues forward, loss, backward and the finiteness
 * check. On a GPU it returns while they run, so the caller can fetch the
 * next batch meanwhile. */
static sl_status
step_launch (sl_trainer *t, const float *x, const int32_t *labels, int n, sl_error *err)
{
  sl_model *m = t->model;
  sl_backend *be = m->backend;
  sl_loss_desc ld = { t->device_class_weights, t->config.label_smoothing };
  const int32_t *dlabels;
  const float *dx, *logits;
  sl_status st;

  st = stage_batch (t, x, labels, n, &dx, &dlabels, err);
  if (st != SL_OK)
    return st;
  logits = _sl_graph_forward (m, t->plan, dx, n, true,
                              t->config.seed * 0x9e3779b97f4a7c15ull + (uint64_t) t->step);
  m->host_stale = true; /* batch-norm statistics moved */
  m->weights_gen++;
  be->ops->softmax_xent (be, n, m->classes, logits, dlabels, &ld, t->plan->logits_grad,
                         t->plan->stats);
  _sl_graph_backward (m, t->plan, dx, n, t->grads);
  be->ops->all_finite (be, t->n_trainable, t->grads, t->plan->stats);
  return SL_OK;
}

/* Second half: waits for the launched work, checks it, and queues the
 * optimizer step (which a diverged step never reaches). */
static sl_status
step_finish (sl_trainer *t, int n, double *loss, double *accuracy, sl_error *err)
{
  sl_model *m = t->model;
  sl_backend *be = m->backend;
  double stats[SL_STAT_COUNT];
  sl_optim_step s;
  sl_status st;

  st = be->ops->download (be, stats, t->plan->stats, sizeof stats, err);
  if (st != SL_OK)
    return st;
  if (!isfinite (stats[SL_STAT_LOSS]))
    return sl_error_set (err, SL_ERR_DIVERGED,
                         "training diverged at step %lld: the loss is not a number; lower the "
                         "learning rate or check the images for extreme values",
                         (long long) t->step + 1);
  if (stats[SL_STAT_FINITE] == 0.0)
    return sl_error_set (err, SL_ERR_DIVERGED,
                         "training diverged at step %lld: the gradients overflowed; lower the "
                         "learning rate",
                         (long long) t->step + 1);

  t->learning_rate = _sl_schedule_learning_rate (&t->config, t->step);
  s = (sl_optim_step){
    .kind = t->config.optimizer,
    .lr = (float) t->learning_rate,
    .momentum = t->config.momentum,
    .weight_decay = t->config.weight_decay,
    .beta1 = t->config.beta1,
    .beta2 = t->config.beta2,
    .epsilon = t->config.epsilon,
    .nesterov = t->config.nesterov,
    .t = t->step + 1,
    .ranges = t->ranges,
    .n_ranges = t->n_ranges,
  };
  be->ops->optimizer_step (be, &s, t->n_trainable, m->params + m->trainable_offset, t->grads,
                           t->moments, t->moments + t->n_trainable);
  m->host_stale = true;
  m->weights_gen++;
  t->step++;
  if (loss != NULL)
    *loss = stats[SL_STAT_LOSS];
  if (accuracy != NULL)
    *accuracy = stats[SL_STAT_CORRECT] / n;
  return SL_OK;
}

sl_status
sl_trainer_step (sl_trainer *t, const float *x, const int32_t *labels, int n, double *loss,
                 double *accuracy, sl_error *err)
{
  sl_status st = step_launch (t, x, labels, n, err);

  return st != SL_OK ? st : step_finish (t, n, loss, accuracy, err);
}

static sl_status
check_source (const sl_batch_source *src, sl_error *err)
{
  if (src == NULL || src->struct_size < sizeof (sl_batch_source) || src->count == NULL
      || src->begin_epoch == NULL || src->next == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "the batch source is incomplete");
  return SL_OK;
}

static sl_status
pull_batch (sl_trainer *t, const sl_batch_source *src, int *n, sl_error *err)
{
  sl_status st = src->next (src->user_data, t->x, t->labels, t->batch, n, err);

  if (st == SL_OK && (*n < 0 || *n > t->batch))
    return sl_error_set (err, SL_ERR_INVALID,
                         "the batch source returned %d images for a batch "
                         "of %d",
                         *n, t->batch);
  return st;
}

sl_status
sl_trainer_train_epoch (sl_trainer *t, const sl_batch_source *src, sl_progress_fn progress,
                        void *user_data, sl_epoch_stats *stats, sl_error *err)
{
  sl_progress p = { 0 };
  sl_error pull_err = { 0 };
  double start = now_seconds (), loss_sum = 0.0, correct = 0.0;
  int64_t images = 0;
  sl_status st;
  int n;

  if ((st = check_source (src, err)) != SL_OK)
    return st;
  if ((st = src->begin_epoch (src->user_data, t->epoch, err)) != SL_OK)
    return st;
  p.epoch = t->epoch;
  p.steps_in_epoch = (src->count (src->user_data) + t->batch - 1) / t->batch;

  if ((st = pull_batch (t, src, &n, err)) != SL_OK)
    return st;
  while (n > 0)
    {
      sl_status pulled;
      double loss, acc;
      int n_next = 0;

      if ((st = step_launch (t, t->x, t->labels, n, err)) != SL_OK)
        return st;
      /* The batch is staged: fetch the next one while the device computes. */
      pulled = pull_batch (t, src, &n_next, &pull_err);
      if ((st = step_finish (t, n, &loss, &acc, err)) != SL_OK)
        return st;
      if (pulled != SL_OK)
        {
          if (err != NULL)
            *err = pull_err;
          return pulled;
        }
      images += n;
      loss_sum += loss * n;
      correct += acc * n;
      p.step = t->step;
      p.step_in_epoch++;
      p.loss = loss;
      p.accuracy = acc;
      p.learning_rate = t->learning_rate;
      p.images_per_s = images / (now_seconds () - start + 1e-9);
      if (progress != NULL && !progress (&p, user_data))
        return sl_error_set (err, SL_ERR_CANCELLED, "training was cancelled at step %lld",
                             (long long) t->step);
      n = n_next;
    }

  t->epoch++;
  sl_epoch_stats s = { images ? loss_sum / images : 0.0, images ? correct / images : 0.0, images,
                       now_seconds () - start };
  if (stats != NULL)
    *stats = s;
  p.epoch_done = true;
  p.loss = s.loss;
  p.accuracy = s.accuracy;
  p.images_per_s = images / (s.seconds + 1e-9);
  if (progress != NULL && !progress (&p, user_data))
    return sl_error_set (err, SL_ERR_CANCELLED, "training was cancelled after epoch %lld",
                         (long long) p.epoch + 1);
  return SL_OK;
}

sl_status
sl_trainer_evaluate (sl_trainer *t, const sl_batch_source *src, sl_epoch_stats *stats,
                     sl_error *err)
{
  sl_model *m = t->model;
  sl_loss_desc ld = { t->device_class_weights, t->config.label_smoothing };
  double start = now_seconds (), loss_sum = 0.0;
  int64_t images = 0, correct = 0;
  sl_status st;

  if ((st = check_source (src, err)) != SL_OK)
    return st;
  if ((st = src->begin_epoch (src->user_data, 0, err)) != SL_OK)
    return st;
  for (;;)
    {
      sl_backend *be = m->backend;
      double batch_stats[SL_STAT_COUNT];
      const int32_t *dlabels;
      const float *dx;
      int n;

      if ((st = pull_batch (t, src, &n, err)) != SL_OK)
        return st;
      if (n == 0)
        break;
      if ((st = stage_batch (t, t->x, t->labels, n, &dx, &dlabels, err)) != SL_OK)
        return st;
      const float *logits = _sl_graph_forward (m, t->plan, dx, n, false, 0);
      be->ops->softmax_xent (be, n, m->classes, logits, dlabels, &ld, NULL, t->plan->stats);
      st = be->ops->download (be, batch_stats, t->plan->stats, sizeof batch_stats, err);
      if (st != SL_OK)
        return st;
      loss_sum += batch_stats[SL_STAT_LOSS] * n;
      correct += (int64_t) batch_stats[SL_STAT_CORRECT];
      images += n;
    }
  if (stats != NULL)
    *stats = (sl_epoch_stats){ images ? loss_sum / images : 0.0,
                               images ? (double) correct / images : 0.0, images,
                               now_seconds () - start };
  return SL_OK;
}

sl_status
sl_trainer_set_feature_input (sl_trainer *t, bool on, sl_error *err)
{
  sl_status st;

  if (t == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_trainer_set_feature_input: no trainer");
  if (on && sl_model_feature_size (t->model) == 0)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model's frozen layers do not end in a single tensor (none or every "
                         "layer is frozen, or a shortcut crosses the boundary): train it on "
                         "images");
  if (on == t->features && t->plan != NULL)
    return SL_OK;
  t->features = on;
  st = trainer_plan (t, err);
  if (st != SL_OK)
    {
      /* Keep a working trainer: back to what it was. */
      sl_error ignored;

      t->features = !on;
      trainer_plan (t, &ignored);
    }
  return st;
}

uint64_t
_sl_trainer_bytes (const sl_trainer *t)
{
  return (t->plan != NULL ? t->plan->bytes : 0) + 3 * sizeof (float) * (uint64_t) t->n_trainable;
}

int64_t
sl_trainer_step_count (const sl_trainer *t)
{
  return t->step;
}

int64_t
sl_trainer_epoch_count (const sl_trainer *t)
{
  return t->epoch;
}

double
sl_trainer_learning_rate (const sl_trainer *t)
{
  return _sl_schedule_learning_rate (&t->config, t->step);
}
