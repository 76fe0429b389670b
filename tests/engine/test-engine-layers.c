/* test-engine-layers.c: finite-difference gradient checks of every layer, input and parameters. */
#include "sl-test-support.h"
#include "sl-model-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  const char *name;
  const char *layers; /* JSON list body; a dense layer to the classes is appended */
  int c, h, w;
} GradCase;

#define CLASSES 3
#define BATCH   3

static const GradCase cases[] = {
  { "conv-plain", "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3}", 2, 6, 6 },
  { "conv-strided-padded",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":[3,2],\"stride\":[2,1],\"padding\":[1,0]}", 2, 7,
    6 },
  { "conv-same-rectangular",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":[3,5],\"padding\":\"same\"}", 2, 6, 7 },
  { "conv-dilated", "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3,\"dilation\":2,\"padding\":2}",
    2, 7, 7 },
  { "conv-grouped", "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"groups\":2,\"padding\":1}",
    4, 5, 5 },
  { "conv-depthwise",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3,\"groups\":3,\"stride\":2,\"padding\":1}", 3,
    7, 7 },
  /* Asymmetric padding: [top, left, bottom, right], and TensorFlow's "same" at
   * stride 2 (k = 3 on an even input pads only the bottom and right; k = 5 pads
   * 1 before and 2 after). */
  { "conv-asymmetric-padding",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3,\"padding\":[0,2,1,0]}", 2, 6, 7 },
  { "conv-same-stride2",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3,\"stride\":2,"
    "\"padding\":\"same\"}",
    2, 6, 6 },
  { "conv-depthwise-same-stride2-k5",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":5,\"groups\":3,\"stride\":2,"
    "\"padding\":\"same\"}",
    3, 8, 8 },
  { "conv-depthwise-same-k3",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3,\"groups\":3,\"padding\":\"same\"}", 3, 6, 5 },
  { "conv-depthwise-dilated-asymmetric",
    "{\"type\":\"conv2d\",\"filters\":2,\"kernel\":[3,2],\"groups\":2,\"dilation\":[2,1],"
    "\"padding\":[2,1,1,0],\"bias\":false}",
    2, 7, 6 },
  { "conv-depthwise-strided-asymmetric",
    "{\"type\":\"conv2d\",\"filters\":2,\"kernel\":3,\"groups\":2,\"stride\":[2,3],"
    "\"padding\":[0,1,2,1]}",
    2, 7, 8 },
  { "conv-grouped-pointwise", "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":1,\"groups\":2}", 4, 5,
    5 },
  { "conv-pointwise-nobias", "{\"type\":\"conv2d\",\"filters\":5,\"kernel\":1,\"bias\":false}", 3,
    4, 4 },
  { "batchnorm-train", "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3},{\"type\":\"batchnorm\"}",
    2, 6, 6 },
  /* On running statistics (randomised below): the inference formula's backward. */
  { "batchnorm-running",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3},"
    "{\"type\":\"batchnorm\",\"statistics\":\"running\"}",
    2, 6, 6 },
  /* On the model's input, and one whose input gradient adds to the shortcut's (accumulate). */
  { "batchnorm-running-residual",
    "{\"type\":\"batchnorm\",\"statistics\":\"running\",\"epsilon\":0.01,\"name\":\"n\"},"
    "{\"type\":\"conv2d\",\"filters\":2,\"kernel\":3,\"padding\":1,\"name\":\"a\"},"
    "{\"type\":\"batchnorm\",\"statistics\":\"running\",\"name\":\"b\"},"
    "{\"type\":\"add\",\"inputs\":[\"b\",\"a\"]}",
    2, 5, 5 },
  { "relu", "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3},{\"type\":\"relu\"}", 2, 5, 5 },
  { "relu6", "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3},{\"type\":\"relu6\"}", 2, 5, 5 },
  { "leaky-relu",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3},{\"type\":\"leaky_relu\",\"slope\":0.1}", 2,
    5, 5 },
  { "sigmoid", "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":3},{\"type\":\"sigmoid\"}", 2, 5, 5 },
  { "maxpool-overlapping-padded",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":1},"
    "{\"type\":\"maxpool\",\"size\":3,\"stride\":2,\"padding\":1}",
    2, 7, 7 },
  { "avgpool-padded",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":1},"
    "{\"type\":\"avgpool\",\"size\":3,\"stride\":2,\"padding\":1}",
    2, 7, 7 },
  { "maxpool-same-stride2",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":1},"
    "{\"type\":\"maxpool\",\"size\":3,\"stride\":2,\"padding\":\"same\"}",
    2, 8, 7 },
  { "avgpool-asymmetric",
    "{\"type\":\"conv2d\",\"filters\":3,\"kernel\":1},"
    "{\"type\":\"avgpool\",\"size\":2,\"stride\":2,\"padding\":[0,1,1,0]}",
    2, 7, 7 },
  { "global-avgpool",
    "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3},{\"type\":\"global_avgpool\"}", 2, 6, 6 },
  { "flatten-dense-nobias",
    "{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":6,\"bias\":false,\"init\":\"xavier\"}", 2,
    3, 3 },
  { "dropout", "{\"type\":\"dense\",\"units\":12},{\"type\":\"dropout\",\"rate\":0.3}", 1, 4, 4 },
  { "residual-add",
    "{\"type\":\"conv2d\",\"filters\":2,\"kernel\":3,\"padding\":1,\"name\":\"a\"},"
    "{\"type\":\"batchnorm\"},{\"type\":\"relu\",\"name\":\"b\"},"
    "{\"type\":\"add\",\"inputs\":[\"b\",\"input\"]},"
    "{\"type\":\"conv2d\",\"filters\":2,\"kernel\":1,\"input\":\"a\",\"name\":\"c\"},"
    "{\"type\":\"add\",\"inputs\":[\"c\",\"c\"]}",
    2, 5, 5 },
};

typedef struct
{
  sl_model *model;
  sl_plan *plan;
  float *x, *grads;
  int32_t labels[BATCH];
  sl_loss_desc loss;
} Check;

static double
loss_at (Check *c)
{
  sl_backend *be = c->model->backend;
  const float *logits = _sl_graph_forward (c->model, c->plan, c->x, BATCH, TRUE, 42);

  be->ops->softmax_xent (be, BATCH, CLASSES, logits, c->labels, &c->loss, NULL, c->plan->stats);
  return c->plan->stats[SL_STAT_LOSS];
}

/* Central differences of every entry of v, compared with the analytic gradient. */
static void
check_gradient (Check *c, float *v, const float *analytic, gsize n, const char *what)
{
  g_autofree float *numeric = g_new (float, n);
  /* Small enough that few ReLU kinks fall inside the step, large enough to stay
   * above float32 rounding of the loss. */
  const float eps = 5e-4f;
  double err;

  for (gsize i = 0; i < n; i++)
    {
      float keep = v[i];
      double up, down;

      v[i] = keep + eps;
      up = loss_at (c);
      v[i] = keep - eps;
      down = loss_at (c);
      v[i] = keep;
      numeric[i] = (float) ((up - down) / (2.0 * eps));
    }
  err = sl_test_rel_error (analytic, numeric, n, 1e-4);
  g_test_message ("%s: %zu values, relative error %.2e", what, n, err);
  g_assert_cmpfloat (err, <, 5e-3);
}

static void
test_gradients (gconstpointer data)
{
  const GradCase *gc = data;
  g_autofree char *json = g_strdup_printf (
      "{\"input\":{\"channels\":%d,\"height\":%d,\"width\":%d},\"classes\":%d,\"layers\":[%s,"
      "{\"type\":\"dense\",\"units\":%d}]}",
      gc->c, gc->h, gc->w, CLASSES, gc->layers, CLASSES);
  const float class_weights[CLASSES] = { 1.0f, 2.0f, 0.5f };
  sl_error err = { 0 };
  Check c = { 0 };
  gsize in_len = (gsize) BATCH * gc->c * gc->h * gc->w;
  g_autofree float *input_grad = NULL, *param_grad = NULL;

  sl_assert_ok (sl_model_new (json, 7, &c.model, &err), &err);
  sl_assert_ok (sl_model_set_threads (c.model, 2, &err), &err);
  sl_assert_ok (_sl_plan_new (c.model, BATCH, TRUE, TRUE, &c.plan, &err), &err);
  c.x = g_new (float, in_len);
  c.grads = g_new0 (float, c.model->n_params);
  sl_test_fill_normal (c.x, in_len, 3, 1.0f);
  /* Batch-norm parameters away from their identity start, so they matter. */
  sl_test_fill_normal (c.model->params, c.model->n_params, 11, 0.5f);
  /* Running statistics away from 0 and 1 (positive variances): only layers on running
   * statistics read them in training. */
  sl_test_fill_normal (c.model->state, c.model->n_state, 17, 0.5f);
  for (gsize i = 0; i < c.model->n_state; i++)
    c.model->state[i] = fabsf (c.model->state[i]) + 0.3f;
  for (int i = 0; i < BATCH; i++)
    c.labels[i] = i % CLASSES;
  c.loss.weights = class_weights;
  c.loss.smoothing = 0.1f;

  /* Analytic gradients. */
  sl_backend *be = c.model->backend;
  const float *logits = _sl_graph_forward (c.model, c.plan, c.x, BATCH, TRUE, 42);
  be->ops->softmax_xent (be, BATCH, CLASSES, logits, c.labels, &c.loss, c.plan->logits_grad,
                         c.plan->stats);
  _sl_graph_backward (c.model, c.plan, c.x, BATCH, c.grads);
  input_grad = g_memdup2 (c.plan->input_grad, in_len * sizeof (float));
  param_grad = g_memdup2 (c.grads, c.model->n_params * sizeof (float));

  check_gradient (&c, c.x, input_grad, in_len, "input");
  check_gradient (&c, c.model->params, param_grad, c.model->n_params, "parameters");

  _sl_plan_free (c.model, c.plan);
  sl_model_free (c.model);
  g_free (c.x);
  g_free (c.grads);
}

/* The same gradients with one and with two threads: the split must not matter
 * beyond rounding. */
static void
test_thread_count_agrees (void)
{
  const char *json
      = "{\"input\":{\"channels\":3,\"height\":9,\"width\":9},\"classes\":3,"
        "\"layers\":[{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3},"
        "{\"type\":\"batchnorm\"},{\"type\":\"relu\"},{\"type\":\"maxpool\",\"size\":2},"
        "{\"type\":\"dense\",\"units\":3}]}";
  float *grads[2];
  sl_error err = { 0 };
  const int n = 5;
  float x[5 * 3 * 81];
  int32_t labels[5] = { 0, 1, 2, 0, 1 };
  sl_loss_desc loss = { NULL, 0.0f };

  sl_test_fill_normal (x, G_N_ELEMENTS (x), 5, 1.0f);
  for (int k = 0; k < 2; k++)
    {
      sl_model *m;
      sl_plan *p;

      sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
      sl_assert_ok (sl_model_set_threads (m, k + 1, &err), &err);
      sl_assert_ok (_sl_plan_new (m, n, TRUE, FALSE, &p, &err), &err);
      grads[k] = g_new0 (float, m->n_params);
      const float *logits = _sl_graph_forward (m, p, x, n, TRUE, 0);
      m->backend->ops->softmax_xent (m->backend, n, 3, logits, labels, &loss, p->logits_grad,
                                     p->stats);
      _sl_graph_backward (m, p, x, n, grads[k]);
      if (k == 1)
        g_assert_cmpfloat (sl_test_rel_error (grads[0], grads[1], m->n_params, 1e-6), <, 1e-5);
      _sl_plan_free (m, p);
      sl_model_free (m);
    }
  g_free (grads[0]);
  g_free (grads[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/gradients/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_gradients);
    }
  g_test_add_func ("/engine/gradients/thread-count", test_thread_count_agrees);
  return g_test_run ();
}
