/* sl-self-check.c: before a GPU is first trusted, one batch through a small model on it and on
 * the CPU, compared. */
#include "sl-model-private.h"
#include "sl-device-private.h"
#include "sl-error-private.h"
#include "sl-rng-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Every layer kind the engine has, with padding (asymmetric: "same" at
 * stride 2), strides, groups, a depthwise convolution, a dilation, a
 * residual sum, an in-place rectifier and a batch-norm on running statistics. */
static const char check_model[]
    = "{\"input\":{\"channels\":3,\"height\":12,\"width\":12},\"classes\":5,\"layers\":["
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":1,\"name\":\"stem\"},"
      "{\"type\":\"batchnorm\"},{\"type\":\"relu\"},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":1,\"groups\":2},"
      "{\"type\":\"batchnorm\",\"statistics\":\"running\"},"
      "{\"type\":\"relu6\",\"name\":\"branch\"},"
      "{\"type\":\"add\",\"inputs\":[\"branch\",\"stem\"]},"
      "{\"type\":\"maxpool\",\"size\":2},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"stride\":2,\"padding\":\"same\","
      "\"groups\":8},"
      "{\"type\":\"conv2d\",\"filters\":6,\"kernel\":1,\"bias\":false},"
      "{\"type\":\"leaky_relu\",\"slope\":0.1},"
      "{\"type\":\"conv2d\",\"filters\":6,\"kernel\":3,\"dilation\":2,\"padding\":2},"
      "{\"type\":\"avgpool\",\"size\":3,\"stride\":2,\"padding\":1},"
      "{\"type\":\"sigmoid\",\"name\":\"features\"},"
      "{\"type\":\"global_avgpool\",\"input\":\"features\"},{\"type\":\"flatten\"},"
      "{\"type\":\"dense\",\"units\":16},{\"type\":\"dropout\",\"rate\":0.25},"
      "{\"type\":\"dense\",\"units\":5}]}";

#define BATCH      6
#define CLASSES    5
#define NOISE_SEED 99

static const float class_weights[CLASSES] = { 1.0f, 2.0f, 0.5f, 1.0f, 1.5f };

/* One backend's side of the check, its results in host memory. */
typedef struct
{
  sl_model *m;
  sl_plan *p;
  float *grads, *moments, *weights; /* backend memory */
  float *logits, *grads_h, *input_grad, *state, *params;
  double stats[SL_STAT_COUNT];
} Side;

static void
side_clear (Side *s)
{
  if (s->m != NULL)
    {
      sl_backend *be = s->m->backend;

      _sl_plan_free (s->m, s->p);
      if (s->grads != NULL)
        be->ops->release (be, s->grads);
      if (s->moments != NULL)
        be->ops->release (be, s->moments);
      if (s->weights != NULL)
        be->ops->release (be, s->weights);
    }
  sl_model_free (s->m);
  free (s->logits);
  free (s->grads_h);
  free (s->input_grad);
  free (s->state);
  free (s->params);
  memset (s, 0, sizeof *s);
}

/* Forward, loss, backward and one SGD step on x, then everything fetched. */
static sl_status
side_run (Side *s, const float *x, const int32_t *labels, sl_error *err)
{
  sl_model *m = s->m;
  sl_backend *be = m->backend;
  const sl_backend_ops *ops = be->ops;
  const size_t in_len = (size_t) BATCH * m->channels * m->height * m->width;
  const size_t np = m->n_params;
  const sl_optim_step sgd = { .kind = SL_OPTIMIZER_SGD,
                              .lr = 0.1f,
                              .momentum = 0.9f,
                              .weight_decay = 1e-3f,
                              .nesterov = true,
                              .t = 1 };
  const float *dx = x, *logits;
  const int32_t *dlabels = labels;
  sl_loss_desc ld = { NULL, 0.1f };
  sl_status st;

  st = _sl_plan_new (m, BATCH, true, true, &s->p, err);
  if (st != SL_OK)
    return st;
  s->grads = ops->alloc (be, sizeof (float) * np);
  s->moments = ops->alloc (be, 2 * sizeof (float) * np);
  s->weights = ops->alloc (be, sizeof class_weights);
  s->logits = malloc (sizeof (float) * BATCH * CLASSES);
  s->grads_h = malloc (sizeof (float) * np);
  s->input_grad = malloc (sizeof (float) * in_len);
  s->state = malloc (sizeof (float) * (m->n_state + 1));
  s->params = malloc (sizeof (float) * np);
  if (s->grads == NULL || s->moments == NULL || s->weights == NULL || s->logits == NULL
      || s->grads_h == NULL || s->input_grad == NULL || s->state == NULL || s->params == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for the self-check");
  ops->upload (be, s->weights, class_weights, sizeof class_weights);
  ld.weights = s->weights;
  if (!ops->host_memory)
    {
      ops->upload (be, s->p->input, x, sizeof (float) * in_len);
      ops->upload (be, s->p->labels, labels, sizeof (int32_t) * BATCH);
      dx = s->p->input;
      dlabels = s->p->labels;
    }
  logits = _sl_graph_forward (m, s->p, dx, BATCH, true, NOISE_SEED);
  ops->softmax_xent (be, BATCH, CLASSES, logits, dlabels, &ld, s->p->logits_grad, s->p->stats);
  _sl_graph_backward (m, s->p, dx, BATCH, s->grads);
  ops->all_finite (be, np, s->grads, s->p->stats);
  if ((st = ops->download (be, s->logits, logits, sizeof (float) * BATCH * CLASSES, err)) != SL_OK
      || (st = ops->download (be, s->grads_h, s->grads, sizeof (float) * np, err)) != SL_OK
      || (st = ops->download (be, s->input_grad, s->p->input_grad, sizeof (float) * in_len, err))
             != SL_OK
      || (st = ops->download (be, s->stats, s->p->stats, sizeof s->stats, err)) != SL_OK
      || (st = ops->download (be, s->state, m->state, sizeof (float) * m->n_state, err)) != SL_OK)
    return st;
  ops->optimizer_step (be, &sgd, np, m->params, s->grads, s->moments, s->moments + np);
  return ops->download (be, s->params, m->params, sizeof (float) * np, err);
}

/* ||a - b|| / max (||a||, ||b||, 1e-6) */
static double
rel_error (const float *a, const float *b, size_t n)
{
  double diff = 0.0, na = 0.0, nb = 0.0, scale;

  for (size_t i = 0; i < n; i++)
    {
      diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
  scale = fmax (fmax (sqrt (na), sqrt (nb)), 1e-6);
  return isfinite (diff) ? sqrt (diff) / scale : INFINITY;
}

typedef struct
{
  const char *what;
  double error, limit;
} Comparison;

sl_status
_sl_backend_self_check (sl_backend *be, const char *device, bool *compared, sl_error *err)
{
  Side cpu = { 0 }, gpu = { 0 };
  float x[BATCH * 3 * 12 * 12];
  int32_t labels[BATCH];
  sl_error side_err = { 0 };
  sl_rng rng;
  sl_status st;

  *compared = false;
  _sl_rng_seed (&rng, 20240607);
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
    x[i] = _sl_rng_normal (&rng);
  for (int i = 0; i < BATCH; i++)
    labels[i] = i % CLASSES;

  st = _sl_model_build (check_model, 1, &cpu.m, &side_err);
  if (st == SL_OK)
    st = _sl_model_build_on (check_model, be, 1, &gpu.m, &side_err);
  else
    be->ops->destroy (be);
  if (st == SL_OK)
    {
      _sl_model_init_params (cpu.m, 7);
      /* Running statistics away from 0 and 1 (positive, valid as variances): the layer on
       * running statistics normalises with them in training too. */
      for (size_t i = 0; i < cpu.m->n_state; i++)
        cpu.m->host_state[i] = 0.5f + 0.25f * fabsf (_sl_rng_normal (&rng));
      memcpy (gpu.m->host_params, cpu.m->host_params, sizeof (float) * cpu.m->n_params);
      memcpy (gpu.m->host_state, cpu.m->host_state, sizeof (float) * cpu.m->n_state);
      st = _sl_model_push_host (gpu.m, &side_err);
    }
  if (st == SL_OK)
    st = side_run (&cpu, x, labels, &side_err);
  if (st == SL_OK)
    st = side_run (&gpu, x, labels, &side_err);
  if (st != SL_OK)
    {
      side_clear (&cpu);
      side_clear (&gpu);
      return sl_error_set (err, st == SL_ERR_NOMEM ? SL_ERR_NOMEM : SL_ERR_DEVICE,
                           "The GPU self-check could not run on %s: %s", device, side_err.message);
    }

  /* Float32 in another summation order: agreement to about 1e-6 is normal;
   * the limits leave room for batch-norm's amplification of rounding. */
  const float loss_c = (float) cpu.stats[SL_STAT_LOSS], loss_g = (float) gpu.stats[SL_STAT_LOSS];
  const Comparison checks[] = {
    { "logits", rel_error (cpu.logits, gpu.logits, BATCH * CLASSES), 1e-4 },
    { "loss", rel_error (&loss_c, &loss_g, 1), 1e-4 },
    { "running statistics", rel_error (cpu.state, gpu.state, cpu.m->n_state), 1e-4 },
    { "parameter gradients", rel_error (cpu.grads_h, gpu.grads_h, cpu.m->n_params), 1e-3 },
    { "input gradients", rel_error (cpu.input_grad, gpu.input_grad, (size_t) BATCH * 3 * 12 * 12),
      1e-3 },
    { "weights after an SGD step", rel_error (cpu.params, gpu.params, cpu.m->n_params), 1e-4 },
  };
  *compared = true;
  st = SL_OK;
  for (size_t i = 0; i < sizeof checks / sizeof checks[0] && st == SL_OK; i++)
    if (!(checks[i].error <= checks[i].limit))
      st = sl_error_set (err, SL_ERR_DEVICE,
                         "The GPU self-check failed on %s: its %s differ from the CPU's by %.1e "
                         "(relative; at most %.0e is expected). The GPU, its driver or the CUDA "
                         "libraries do not compute correctly: update the NVIDIA driver, or use the "
                         "CPU.",
                         device, checks[i].what, checks[i].error, checks[i].limit);
  /* Both gradients are finite here; a GPU that says otherwise miscounts. */
  if (st == SL_OK && cpu.stats[SL_STAT_FINITE] != gpu.stats[SL_STAT_FINITE])
    st = sl_error_set (err, SL_ERR_DEVICE,
                       "The GPU self-check failed on %s: it finds non-finite gradients where the "
                       "CPU finds none. Update the NVIDIA driver, or use the CPU.",
                       device);
  side_clear (&cpu);
  side_clear (&gpu);
  return st;
}
