/* sl-model.c: the model handle: building from JSON, weight initialisation and inference. */
#include "sl-model-private.h"
#include "sl-error-private.h"
#include "sl-rng-private.h"
#include "sl-threadpool-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Inference plans grow to the largest batch asked for, in steps of this. */
#define PREDICT_CHUNK 64

void
sl_model_init_params (sl_model *m, uint64_t seed)
{
  sl_rng rng;

  sl_rng_seed (&rng, seed);
  memset (m->params, 0, sizeof (float) * m->n_params);
  for (int i = 0; i < m->n_nodes; i++)
    {
      const sl_node *n = &m->nodes[i];
      float *w = m->params + n->param_offset;

      if (n->kind == SL_LAYER_BATCHNORM)
        {
          float *state = m->state + n->state_offset;
          for (int c = 0; c < n->in.c; c++)
            {
              w[c] = 1.0f;               /* gamma; beta stays 0 */
              state[n->in.c + c] = 1.0f; /* running variance; the mean stays 0 */
            }
          continue;
        }
      if (n->kind != SL_LAYER_CONV2D && n->kind != SL_LAYER_DENSE)
        continue;

      double fan_in, fan_out;
      if (n->kind == SL_LAYER_CONV2D)
        {
          double area = (double) n->geom.kh * n->geom.kw;
          fan_in = area * n->in.c / n->geom.groups;
          fan_out = area * n->geom.out_c / n->geom.groups;
        }
      else
        {
          fan_in = (double) sl_shape_size (n->in);
          fan_out = n->units;
        }
      if (n->init == SL_INIT_HE)
        {
          float std = (float) sqrt (2.0 / fan_in);
          for (size_t k = 0; k < n->weight_count; k++)
            w[k] = sl_rng_normal (&rng) * std;
        }
      else
        {
          float limit = (float) sqrt (6.0 / (fan_in + fan_out));
          for (size_t k = 0; k < n->weight_count; k++)
            w[k] = (2.0f * sl_rng_uniform (&rng) - 1.0f) * limit;
        }
    }
}

sl_status
sl_model_build (const char *json, int threads, sl_model **out, sl_error *err)
{
  sl_model *m;
  sl_status st;

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_new: no place for the result");
  *out = NULL;
  m = calloc (1, sizeof *m);
  if (m == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory creating a model");
  st = sl_model_parse (json, m, err);
  if (st == SL_OK)
    {
      m->threads = threads > 0 ? threads : sl_cpu_count ();
      st = sl_cpu_backend_new (m->threads, &m->backend, err);
    }
  if (st == SL_OK)
    {
      m->params = m->backend->ops->alloc (m->backend, sizeof (float) * m->n_params);
      m->state = m->backend->ops->alloc (m->backend, sizeof (float) * m->n_state);
      if (m->params == NULL || m->state == NULL)
        st = sl_error_set (err, SL_ERR_NOMEM, "out of memory for %zu parameters", m->n_params);
    }
  if (st != SL_OK)
    {
      sl_model_free (m);
      return st;
    }
  *out = m;
  return SL_OK;
}

sl_status
sl_model_new (const char *json, uint64_t seed, sl_model **out, sl_error *err)
{
  sl_status st = sl_model_build (json, 0, out, err);

  if (st == SL_OK)
    sl_model_init_params (*out, seed);
  return st;
}

sl_status
sl_model_share (const sl_model *base, int threads, sl_model **out, sl_error *err)
{
  sl_model *m;
  char *json;
  sl_status st;

  if (out == NULL || base == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_share: missing model or result");
  *out = NULL;
  if (threads <= 0)
    threads = sl_cpu_count ();
  json = sl_model_serialize (base);
  m = calloc (1, sizeof *m);
  if (json == NULL || m == NULL)
    {
      free (json);
      free (m);
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory sharing a model");
    }
  st = sl_model_parse (json, m, err);
  free (json);
  if (st == SL_OK)
    st = sl_cpu_backend_new (threads, &m->backend, err);
  if (st != SL_OK)
    {
      sl_model_free (m);
      return st;
    }
  m->threads = threads;
  m->params = base->params;
  m->state = base->state;
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
      sl_plan_free (m, m->predict_plan);
      if (!m->shares_weights)
        {
          m->backend->ops->release (m->backend, m->params);
          m->backend->ops->release (m->backend, m->state);
        }
      m->backend->ops->destroy (m->backend);
    }
  sl_model_clear_nodes (m);
  free (m);
}

char *
sl_model_to_json (const sl_model *m)
{
  return m != NULL ? sl_model_serialize (m) : NULL;
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
    threads = sl_cpu_count ();
  if (threads == m->threads)
    return SL_OK;
  st = sl_cpu_backend_new (threads, &be, err);
  if (st != SL_OK)
    return st;
  /* Plans are sized for the old pool's scratch; drop them. The parameter
   * block is plain host memory on the CPU backend and moves over as it is. */
  sl_plan_free (m, m->predict_plan);
  m->predict_plan = NULL;
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

sl_status
sl_model_predict (sl_model *m, const float *x, int n, float *probs, sl_error *err)
{
  if (m == NULL || x == NULL || probs == NULL || n < 0)
    return sl_error_set (err, SL_ERR_INVALID, "sl_model_predict: missing model, input or output");
  for (int done = 0; done < n;)
    {
      int chunk = n - done > PREDICT_CHUNK ? PREDICT_CHUNK : n - done;
      size_t in_size = (size_t) m->channels * m->height * m->width;

      if (m->predict_plan == NULL || m->predict_plan->batch < chunk)
        {
          sl_status st;
          int batch = chunk < PREDICT_CHUNK && m->predict_plan == NULL ? chunk : PREDICT_CHUNK;

          sl_plan_free (m, m->predict_plan);
          m->predict_plan = NULL;
          st = sl_plan_new (m, batch, false, false, &m->predict_plan, err);
          if (st != SL_OK)
            return st;
        }
      const float *logits
          = sl_graph_forward (m, m->predict_plan, x + done * in_size, chunk, false, 0);
      m->backend->ops->softmax (m->backend, chunk, m->classes, logits,
                                probs + (size_t) done * m->classes);
      done += chunk;
    }
  return SL_OK;
}

const float *
sl_model_params (const sl_model *m)
{
  return m->params;
}

sl_status
sl_model_set_params (sl_model *m, const float *params, size_t count, sl_error *err)
{
  if (count != m->n_params)
    return sl_error_set (err, SL_ERR_INVALID, "the model has %zu parameters, not %zu", m->n_params,
                         count);
  memcpy (m->params, params, sizeof (float) * count);
  return SL_OK;
}

size_t
sl_model_state_count (const sl_model *m)
{
  return m->n_state;
}

const float *
sl_model_state (const sl_model *m)
{
  return m->state;
}

sl_status
sl_model_set_state (sl_model *m, const float *state, size_t count, sl_error *err)
{
  if (count != m->n_state)
    return sl_error_set (err, SL_ERR_INVALID, "the model has %zu running statistics, not %zu",
                         m->n_state, count);
  memcpy (m->state, state, sizeof (float) * count);
  return SL_OK;
}
