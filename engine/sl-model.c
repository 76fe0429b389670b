/* sl-model.c: the model handle: building from JSON, weight initialisation and inference. */
#include "sl-layer-private.h"
#include "sl-device-private.h"
#include "sl-error-private.h"
#include "sl-rng-private.h"
#include "sl-threadpool-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inference plans grow to the largest batch asked for, in steps of this. */
#define PREDICT_CHUNK 64

void
_sl_model_init_params (sl_model *m, uint64_t seed)
{
  sl_rng rng;

  _sl_rng_seed (&rng, seed);
  memset (m->host_params, 0, sizeof (float) * m->n_params);
  memset (m->host_state, 0, sizeof (float) * m->n_state);
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];

      float *state = m->host_state != NULL ? m->host_state + n->state_offset : NULL;

      _sl_layer_class (n->kind)->init (n, m->host_params + n->param_offset, state, &rng);
    }
  /* A device copy is refreshed from these; its errors surface at the next sync. */
  _sl_model_push_host (m, NULL);
}

/* Host copies of the weights for a backend that does not compute in host memory. */
static bool
alloc_host_copies (sl_model *m)
{
  if (m->backend->ops->host_memory)
    {
      m->host_params = m->params;
      m->host_state = m->state;
      return true;
    }
  m->host_params = calloc (m->n_params ? m->n_params : 1, sizeof (float));
  m->host_state = calloc (m->n_state ? m->n_state : 1, sizeof (float));
  return m->host_params != NULL && m->host_state != NULL;
}

static void
free_host_copies (sl_model *m)
{
  if (m->host_params != m->params)
    free (m->host_params);
  if (m->host_state != m->state)
    free (m->host_state);
  m->host_params = m->host_state = NULL;
}

sl_status
_sl_model_pull_host (const sl_model *cm, sl_error *err)
{
  sl_model *m = (sl_model *) cm; /* the host copies are a cache */
  sl_backend *be = m->backend;
  sl_status st;

  if (be->ops->host_memory || !m->host_stale)
    return SL_OK;
  st = be->ops->download (be, m->host_params, m->params, sizeof (float) * m->n_params, err);
  if (st == SL_OK)
    st = be->ops->download (be, m->host_state, m->state, sizeof (float) * m->n_state, err);
  if (st == SL_OK)
    m->host_stale = false;
  return st;
}

sl_status
_sl_model_push_host (sl_model *m, sl_error *err)
{
  sl_backend *be = m->backend;

  m->weights_gen++; /* the host copies changed */
  if (be->ops->host_memory)
    return SL_OK;
  be->ops->upload (be, m->params, m->host_params, sizeof (float) * m->n_params);
  be->ops->upload (be, m->state, m->host_state, sizeof (float) * m->n_state);
  m->host_stale = false;
  return be->ops->sync (be, err);
}

/* Parameter and statistics blocks on the model's backend, and their host copies. */
static sl_status
alloc_weights (sl_model *m, sl_error *err)
{
  sl_backend *be = m->backend;

  m->params = be->ops->alloc (be, sizeof (float) * m->n_params);
  m->state = be->ops->alloc (be, sizeof (float) * m->n_state);
  if (m->params == NULL || m->state == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of %s memory for %zu parameters",
                         be->ops->host_memory ? "main" : "GPU", m->n_params);
  if (!alloc_host_copies (m))
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for %zu parameters", m->n_params);
  return SL_OK;
}

sl_status
_sl_model_build_on (const char *json, sl_backend *backend, int threads, sl_model **out,
                    sl_error *err)
{
  sl_model *m;
  sl_status st;

  if (out == NULL)
    {
      backend->ops->destroy (backend);
      return sl_error_set (err, SL_ERR_INVALID, "sl_model_new: no place for the result");
    }
  *out = NULL;
  m = calloc (1, sizeof *m);
  if (m == NULL)
    {
      backend->ops->destroy (backend);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating a model");
    }
  m->backend = backend;
  m->threads = threads > 0 ? threads : _sl_cpu_count ();
  snprintf (m->device, sizeof m->device, "%s", backend->ops->host_memory ? "cpu" : "cuda:0");
  st = _sl_model_parse (json, m, err);
  if (st == SL_OK)
    st = alloc_weights (m, err);
  if (st != SL_OK)
    {
      sl_model_free (m);
      return st;
    }
  *out = m;
  return SL_OK;
}

sl_status
_sl_model_build (const char *json, int threads, sl_model **out, sl_error *err)
{
  sl_backend *be;
  sl_status st;

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_new: no place for the result");
  *out = NULL;
  threads = threads > 0 ? threads : _sl_cpu_count ();
  st = _sl_cpu_backend_new (threads, &be, err);
  if (st != SL_OK)
    return st;
  return _sl_model_build_on (json, be, threads, out, err);
}

sl_status
sl_model_new (const char *json, uint64_t seed, sl_model **out, sl_error *err)
{
  sl_status st = _sl_model_build (json, 0, out, err);

  if (st == SL_OK)
    _sl_model_init_params (*out, seed);
  return st;
}

sl_status
sl_model_share (const sl_model *base, int threads, sl_model **out, sl_error *err)
{
  sl_backend *be = NULL;
  sl_model *m;
  char *json;
  sl_status st;

  if (out == NULL || base == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_share: missing model or result");
  *out = NULL;
  if (threads <= 0)
    threads = _sl_cpu_count ();
  /* The share reads the base's host copies, if ever: bring them up to date once. */
  st = _sl_model_pull_host (base, err);
  if (st != SL_OK)
    return st;
  json = _sl_model_serialize (base);
  m = calloc (1, sizeof *m);
  if (json == NULL || m == NULL)
    {
      free (json);
      free (m);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory sharing a model");
    }
  st = _sl_model_parse (json, m, err);
  free (json);
  /* Its own backend on the base's device: threads on the CPU, streams on a GPU. */
  if (st == SL_OK && base->devices != NULL)
    st = _sl_device_list_backend_new (base->devices, (size_t) base->device_index, threads, false,
                                      &be, err);
  else if (st == SL_OK)
    st = _sl_cpu_backend_new (threads, &be, err);
  m->backend = be;
  if (st != SL_OK)
    {
      sl_model_free (m);
      return st;
    }
  if (base->devices != NULL)
    m->devices = _sl_device_list_ref (base->devices);
  m->device_index = base->device_index;
  memcpy (m->device, base->device, sizeof m->device);
  m->threads = threads;
  m->params = base->params;
  m->state = base->state;
  m->host_params = base->host_params;
  m->host_state = base->host_state;
  m->shares_weights = true;
  *out = m;
  return SL_OK;
}

void
sl_model_free (sl_model *m)
{
  if (m == NULL)
    return;
  if (m->backend != NULL)
    {
      _sl_model_drop_predict_plans (m);
      _sl_plan_free (m, m->features_plan);
      _sl_model_drop_tap_plans (m);
      if (!m->shares_weights)
        {
          free_host_copies (m);
          m->backend->ops->release (m->backend, m->params);
          m->backend->ops->release (m->backend, m->state);
        }
      m->backend->ops->destroy (m->backend);
    }
  /* Last: the backend's code may live in the module the list holds open. */
  sl_device_list_free (m->devices);
  _sl_model_clear_nodes (m);
  free (m);
}

char *
sl_model_to_json (const sl_model *m)
{
  return m != NULL ? _sl_model_serialize (m) : NULL;
}

size_t
sl_model_param_count (const sl_model *m)
{
  return m->n_params;
}

void
sl_model_input_shape (const sl_model *m, int *channels, int *height, int *width)
{
  if (channels != NULL)
    *channels = m->channels;
  if (height != NULL)
    *height = m->height;
  if (width != NULL)
    *width = m->width;
}

int
sl_model_class_count (const sl_model *m)
{
  return m->classes;
}

double
sl_model_flops_per_image (const sl_model *m)
{
  double total = 0.0;

  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      if (n->kind == SL_LAYER_CONV2D)
        total += (double) n->weight_count * n->out.h * n->out.w;
      else if (n->kind == SL_LAYER_DENSE)
        total += (double) n->weight_count;
    }
  return total;
}

sl_status
sl_model_set_threads (sl_model *m, int threads, sl_error *err)
{
  sl_backend *be;
  sl_status st;

  if (threads <= 0)
    threads = _sl_cpu_count ();
  if (threads == m->threads)
    return SL_OK;
  if (!m->backend->ops->host_memory)
    {
      /* A GPU computes with its own threads; the count applies when the model moves back. */
      m->threads = threads;
      return SL_OK;
    }
  st = _sl_cpu_backend_new (threads, &be, err);
  if (st != SL_OK)
    return st;
  /* Plans are sized for the old pool's scratch; drop them. The parameter
   * block is plain host memory on the CPU backend and moves over as it is. */
  _sl_model_drop_predict_plans (m);
  _sl_plan_free (m, m->features_plan);
  m->features_plan = NULL;
  _sl_model_drop_tap_plans (m);
  m->backend->ops->destroy (m->backend);
  m->backend = be;
  m->threads = threads;
  return SL_OK;
}

int
sl_model_get_threads (const sl_model *m)
{
  return m->threads;
}

const char *
sl_model_get_device (const sl_model *m)
{
  return m != NULL ? m->device : NULL;
}

/* One chunk of inference: stages x when the backend cannot read host
 * memory, and fetches the probabilities back. */
static sl_status
predict_chunk (sl_model *m, const float *x, int n, float *probs, sl_error *err)
{
  sl_backend *be = m->backend;
  sl_plan *p = m->predict_plan;
  const size_t in_size = (size_t) m->channels * m->height * m->width;
  const float *logits;

  if (be->ops->host_memory)
    {
      logits = _sl_graph_forward (m, p, x, n, false, 0);
      be->ops->softmax (be, n, m->classes, logits, probs);
      return be->ops->sync (be, err);
    }
  be->ops->upload (be, p->input, x, sizeof (float) * in_size * n);
  logits = _sl_graph_forward (m, p, p->input, n, false, 0);
  be->ops->softmax (be, n, m->classes, logits, p->probs);
  return be->ops->download (be, probs, p->probs, sizeof (float) * m->classes * n, err);
}

/* Makes m->predict_plan ready for chunks of up to `chunk` images: a plan
 * too small grows to chunk, at least doubling (so growing batches replan a
 * few times at most), up to PREDICT_CHUNK, but only as far as the memory
 * limit allows; a plan made under a larger limit is dropped. */
static sl_status
predict_plan_ready (sl_model *m, int chunk, sl_error *err)
{
  sl_plan *p = m->predict_plan;
  int want, batch;

  if (p != NULL && m->plan_limit > 0 && p->bytes > m->plan_limit)
    {
      _sl_plan_free (m, p);
      m->predict_plan = p = NULL;
    }
  if (p != NULL && p->batch >= chunk)
    return SL_OK;
  want = p != NULL && 2 * p->batch > chunk ? 2 * p->batch : chunk;
  if (want > PREDICT_CHUNK)
    want = PREDICT_CHUNK;
  batch = _sl_plan_fit_batch (m, want, SL_PART_ALL);
  if (p != NULL && p->batch >= batch)
    return SL_OK; /* already as large as the limit allows */
  _sl_plan_free (m, p);
  m->predict_plan = NULL;
  return _sl_plan_new (m, batch, false, false, &m->predict_plan, err);
}

static void
drop_batch_plan (sl_model *m)
{
  _sl_plan_free (m, m->predict_plan);
  m->predict_plan = NULL;
}

static void
drop_lanes (sl_model *m)
{
  /* The first lane's folded weights serve the others: it goes last. */
  for (int t = m->n_lanes - 1; t >= 0; t--)
    _sl_plan_free (m, m->predict_lanes[t]);
  free (m->predict_lanes);
  m->predict_lanes = NULL;
  m->n_lanes = 0;
}

void
_sl_model_drop_predict_plans (sl_model *m)
{
  drop_batch_plan (m);
  drop_lanes (m);
}

/* Batches of at least as many images as the CPU pool has threads go through
 * the graph in lanes: each thread takes its share of the batch through every
 * layer on its own (sl-graph.c, lane_share), where a pass split layer by
 * layer would hand each layer's output over to the other threads, and wait
 * for all of them, once a layer. On a 2-core Xeon, batch 32 on 2 threads:
 * small-bn at 28 px 14,100 -> 21,000 images/s, resnet-s at 128 px
 * 3,500 -> 4,500. An image's answer depends on the size of its lane's share
 * only, so the same batch always gives the same answers. Under a memory
 * limit the model holds the lanes or predict_plan, not both: once it has
 * lanes, fewer images than threads go through them too (some lanes idle). */
static bool
lanes_apply (const sl_model *m, int chunk)
{
  return m->backend->ops->host_memory && m->threads >= 2
         && (chunk >= m->threads || (m->plan_limit > 0 && m->n_lanes > 0));
}

/* Makes m->predict_lanes ready for chunks of up to `chunk` images, grown as
 * predict_plan_ready grows its plan, as far as the memory limit allows for
 * all of them together; none where even one image a lane does not fit (the
 * chunk then goes through predict_plan). */
static sl_status
predict_lanes_ready (sl_model *m, int chunk, sl_error *err)
{
  const int lanes = m->threads, most = (PREDICT_CHUNK + lanes - 1) / lanes;
  int have = m->n_lanes > 0 ? m->predict_lanes[0]->batch : 0;
  int want = (chunk + lanes - 1) / lanes, batch;

  if (have > 0
      && (m->n_lanes != lanes
          || (m->plan_limit > 0 && lanes * m->predict_lanes[0]->bytes > m->plan_limit)))
    {
      drop_lanes (m);
      have = 0;
    }
  /* Under a limit, the lanes are held alone (lanes_apply). */
  if (have > 0 && m->plan_limit > 0)
    drop_batch_plan (m);
  if (have >= want)
    return SL_OK;
  if (2 * have > want)
    want = 2 * have;
  if (want > most)
    want = most;
  batch = _sl_plan_fit_lane_batch (m, want, lanes);
  if (have >= batch || (have > 0 && batch == 0))
    return SL_OK;
  drop_lanes (m);
  if (batch == 0)
    return SL_OK;
  if (m->plan_limit > 0)
    drop_batch_plan (m); /* before the lanes are made */
  if ((m->predict_lanes = calloc ((size_t) lanes, sizeof (sl_plan *))) == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory planning buffers");
  m->n_lanes = lanes;
  for (int t = 0; t < lanes; t++)
    {
      sl_status st = _sl_plan_new_lane (m, batch, t > 0 ? m->predict_lanes[0] : NULL,
                                        &m->predict_lanes[t], err);

      if (st != SL_OK)
        {
          drop_lanes (m);
          return st;
        }
    }
  return SL_OK;
}

sl_status
sl_model_predict (sl_model *m, const float *x, int n, float *probs, sl_error *err)
{
  const size_t in_size = m != NULL ? (size_t) m->channels * m->height * m->width : 0;

  if (m == NULL || x == NULL || probs == NULL || n < 0)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_predict: missing model, input or output");
  for (int done = 0; done < n;)
    {
      int chunk = n - done > PREDICT_CHUNK ? PREDICT_CHUNK : n - done;
      const float *in = x + done * in_size;
      float *out = probs + (size_t) done * m->classes;
      sl_status st;

      if (lanes_apply (m, chunk))
        {
          if ((st = predict_lanes_ready (m, chunk, err)) != SL_OK)
            return st;
          if (m->n_lanes > 0 && chunk > m->n_lanes * m->predict_lanes[0]->batch)
            chunk = m->n_lanes * m->predict_lanes[0]->batch;
          if (m->n_lanes > 0 && _sl_graph_predict_lanes (m, m->predict_lanes, in, chunk, out))
            {
              done += chunk;
              continue;
            }
        }
      if ((st = predict_plan_ready (m, chunk, err)) != SL_OK)
        return st;
      if (chunk > m->predict_plan->batch)
        chunk = m->predict_plan->batch;
      if ((st = predict_chunk (m, in, chunk, out, err)) != SL_OK)
        return st;
      done += chunk;
    }
  return SL_OK;
}

const float *
sl_model_params (const sl_model *m)
{
  return _sl_model_pull_host (m, NULL) == SL_OK ? m->host_params : NULL;
}

sl_status
sl_model_set_params (sl_model *m, const float *params, size_t count, sl_error *err)
{
  sl_status st;

  if (count != m->n_params)
    return sl_error_set (err, SL_ERR_INVALID, "the model has %zu parameters, not %zu", m->n_params,
                         count);
  /* The statistics' host copy must be current before both are sent back. */
  if ((st = _sl_model_pull_host (m, err)) != SL_OK)
    return st;
  memcpy (m->host_params, params, sizeof (float) * count);
  return _sl_model_push_host (m, err);
}

size_t
sl_model_state_count (const sl_model *m)
{
  return m->n_state;
}

const float *
sl_model_state (const sl_model *m)
{
  return _sl_model_pull_host (m, NULL) == SL_OK ? m->host_state : NULL;
}

sl_status
sl_model_set_state (sl_model *m, const float *state, size_t count, sl_error *err)
{
  sl_status st;

  if (count != m->n_state)
    return sl_error_set (err, SL_ERR_INVALID, "the model has %zu running statistics, not %zu",
                         m->n_state, count);
  if ((st = _sl_model_pull_host (m, err)) != SL_OK)
    return st;
  memcpy (m->host_state, state, sizeof (float) * count);
  return _sl_model_push_host (m, err);
}
