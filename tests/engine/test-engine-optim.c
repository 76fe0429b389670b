/* test-engine-optim.c: optimizer steps and learning-rate schedules against closed-form values. */
#include "sl-test-support.h"
#include "sl-model-private.h"
#include "sl-optimizer-private.h"

#include <math.h>
#include <string.h>

#define N 5

static sl_backend *
cpu_backend (void)
{
  sl_backend *be;
  sl_error err = { 0 };

  sl_assert_ok (_sl_cpu_backend_new (2, &be, &err), &err);
  return be;
}

static const float start[N] = { 1.0f, -2.0f, 0.5f, 3.0f, -0.25f };
static const float grad[N] = { 0.1f, -0.3f, 2.0f, -1.0f, 0.0f };

/* SGD with momentum m and weight decay wd on a constant gradient g, by hand:
 * v1 = g1, v_t = m v_{t-1} + g_t, p -= lr * (nesterov ? g_t + m v_t : v_t). */
static void
test_sgd (void)
{
  sl_backend *be = cpu_backend ();
  const struct
  {
    float momentum, wd;
    bool nesterov;
  } cases[] = {
    { 0.0f, 0.0f, FALSE },
    { 0.9f, 0.0f, FALSE },
    { 0.9f, 0.01f, TRUE },
    { 0.5f, 0.1f, FALSE },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      float p[N], v[N] = { 0 }, unused[N] = { 0 };
      double ep[N], ev[N] = { 0 };
      const double lr = 0.05;

      memcpy (p, start, sizeof p);
      for (int i = 0; i < N; i++)
        ep[i] = start[i];
      for (int t = 1; t <= 4; t++)
        {
          sl_optim_step s = { .kind = SL_OPTIMIZER_SGD,
                              .lr = (float) lr,
                              .momentum = cases[c].momentum,
                              .weight_decay = cases[c].wd,
                              .nesterov = cases[c].nesterov,
                              .t = t };

          be->ops->optimizer_step (be, &s, N, p, grad, v, unused);
          for (int i = 0; i < N; i++)
            {
              double g = grad[i] + cases[c].wd * ep[i], step = g;

              if (cases[c].momentum != 0.0f)
                {
                  ev[i] = cases[c].momentum * ev[i] + g;
                  step = cases[c].nesterov ? g + cases[c].momentum * ev[i] : ev[i];
                }
              ep[i] -= lr * step;
            }
        }
      for (int i = 0; i < N; i++)
        g_assert_cmpfloat (fabs (p[i] - ep[i]), <, 1e-6);
    }
  be->ops->destroy (be);
}

/* With a constant gradient Adam's bias-corrected moments are exactly g and g^2,
 * so every step moves each weight by lr * g / (|g| + eps'): a closed form. */
static void
test_adam_constant_gradient (void)
{
  sl_backend *be = cpu_backend ();
  float p[N], m[N] = { 0 }, v[N] = { 0 };
  const float lr = 0.01f;
  const int steps = 10;

  memcpy (p, start, sizeof p);
  for (int t = 1; t <= steps; t++)
    {
      sl_optim_step s = { .kind = SL_OPTIMIZER_ADAM,
                          .lr = lr,
                          .beta1 = 0.9f,
                          .beta2 = 0.999f,
                          .epsilon = 1e-8f,
                          .t = t };
      be->ops->optimizer_step (be, &s, N, p, grad, m, v);
    }
  for (int i = 0; i < N; i++)
    {
      double g = grad[i], expect = start[i] - steps * lr * (g == 0 ? 0 : g / fabs (g));
      g_assert_cmpfloat (fabs (p[i] - expect), <, 2e-5);
    }
  be->ops->destroy (be);
}

/* AdamW shrinks every weight by (1 - lr wd) before the Adam step; with a zero
 * gradient only the decay acts: p_t = p_0 (1 - lr wd)^t. Adam's L2 form instead
 * feeds wd p into the moments, so the two must differ. */
static void
test_adamw_decoupled_decay (void)
{
  sl_backend *be = cpu_backend ();
  float p[N], pa[N], m[N] = { 0 }, v[N] = { 0 }, ma[N] = { 0 }, va[N] = { 0 };
  const float zero[N] = { 0 }, lr = 0.1f, wd = 0.2f;

  memcpy (p, start, sizeof p);
  memcpy (pa, start, sizeof pa);
  for (int t = 1; t <= 3; t++)
    {
      sl_optim_step s = { .kind = SL_OPTIMIZER_ADAMW,
                          .lr = lr,
                          .weight_decay = wd,
                          .beta1 = 0.9f,
                          .beta2 = 0.999f,
                          .epsilon = 1e-8f,
                          .t = t };
      be->ops->optimizer_step (be, &s, N, p, zero, m, v);
      s.kind = SL_OPTIMIZER_ADAM;
      be->ops->optimizer_step (be, &s, N, pa, zero, ma, va);
    }
  for (int i = 0; i < N; i++)
    {
      g_assert_cmpfloat (fabs (p[i] - start[i] * pow (1.0 - lr * wd, 3)), <, 1e-6);
      g_assert_cmpfloat (fabs (pa[i] - p[i]), >, 1e-3);
    }
  be->ops->destroy (be);
}

/* Adam in double precision, one weight: the reference for the CPU kernel,
 * which runs eight lanes at a time with the last few weights padded. */
static void
adam_reference (const sl_optim_step *s, double lr, double *p, double g, double *m, double *v)
{
  const bool decoupled = s->kind == SL_OPTIMIZER_ADAMW;
  const double bc1 = 1.0 - pow (s->beta1, (double) s->t), bc2 = 1.0 - pow (s->beta2, (double) s->t);

  if (decoupled)
    *p *= 1.0 - lr * s->weight_decay;
  else
    g += s->weight_decay * *p;
  *m = s->beta1 * *m + (1.0 - s->beta1) * g;
  *v = s->beta2 * *v + (1.0 - s->beta2) * g * g;
  *p -= lr / bc1 * *m / (sqrt (*v) / sqrt (bc2) + s->epsilon);
}

/* Gradients with zeros, signs, sizes over six decades and values whose
 * moments fall below the normal floats (flushed to zero by the kernel). */
static float
test_gradient (guint32 *state, size_t i)
{
  *state = *state * 1664525u + 1013904223u;
  float r = (float) (*state >> 8) / 16777216.0f - 0.5f;

  switch (i % 5)
    {
      case 0: return 0.0f;
      case 1: return r * 1e-36f;
      default: return r * powf (10.0f, (float) (i % 7) - 4.0f);
    }
}

static size_t
range_of (const sl_lr_range *ranges, int n_ranges, size_t i)
{
  for (int k = 0; k < n_ranges; k++)
    if (i >= ranges[k].begin && i < ranges[k].end)
      return (size_t) k;
  g_assert_not_reached ();
}

/* Every length around the eight-lane blocks, Adam and AdamW with decay, and
 * learning-rate ranges whose borders fall inside blocks: each weight and
 * moment matches the double-precision reference after six steps. */
static void
test_adam_lanes (void)
{
  sl_backend *be = cpu_backend ();
  const size_t lengths[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 1003 };

  for (int kind = 0; kind < 2; kind++)
    for (gsize c = 0; c < G_N_ELEMENTS (lengths); c++)
      {
        const size_t n = lengths[c];
        const sl_lr_range ranges[]
            = { { 0, n / 3, 1.0f }, { n / 3, n - n / 4, 0.5f }, { n - n / 4, n, 2.0f } };
        float *p = g_new (float, n), *g = g_new (float, n);
        float *m = g_new0 (float, n), *v = g_new0 (float, n);
        double *ep = g_new (double, n), *em = g_new0 (double, n), *ev = g_new0 (double, n);
        double *em_abs = g_new0 (double, n); /* m's terms' magnitudes: its rounding scale */
        guint32 state = 7u + (guint32) n;

        for (size_t i = 0; i < n; i++)
          ep[i] = p[i] = start[i % N] * (1.0f + (float) i / (float) n);
        for (int t = 1; t <= 6; t++)
          {
            sl_optim_step s = { .kind = kind ? SL_OPTIMIZER_ADAMW : SL_OPTIMIZER_ADAM,
                                .lr = 0.01f,
                                .weight_decay = 0.05f,
                                .beta1 = 0.9f,
                                .beta2 = 0.999f,
                                .epsilon = 1e-8f,
                                .t = t,
                                .ranges = ranges,
                                .n_ranges = G_N_ELEMENTS (ranges) };

            for (size_t i = 0; i < n; i++)
              g[i] = test_gradient (&state, i + (size_t) t);
            be->ops->optimizer_step (be, &s, n, p, g, m, v);
            for (size_t i = 0; i < n; i++)
              {
                em_abs[i] = 0.9 * em_abs[i] + 0.1 * fabs (g[i] + (kind ? 0.0 : 0.05 * ep[i]));
                adam_reference (&s, (double) s.lr * ranges[range_of (ranges, 3, i)].scale, &ep[i],
                                g[i], &em[i], &ev[i]);
              }
          }
        for (size_t i = 0; i < n; i++)
          {
            g_assert_cmpfloat (fabs (p[i] - ep[i]), <=, 1e-6 * (1.0 + fabs (ep[i])));
            g_assert_cmpfloat (fabs (m[i] - em[i]), <=, 1e-6 * em_abs[i] + 1e-37);
            g_assert_cmpfloat (fabs (v[i] - ev[i]), <=, 1e-6 * fabs (ev[i]) + 1e-37);
          }
        g_free (p);
        g_free (g);
        g_free (m);
        g_free (v);
        g_free (ep);
        g_free (em);
        g_free (ev);
        g_free (em_abs);
      }
  be->ops->destroy (be);
}

/* The threads' shares end in the middle of eight-lane blocks; the weights
 * must not depend on where (1, 2 and 3 threads give the same bits). */
static void
test_adam_threads_same_bits (void)
{
  enum
  {
    LEN = 1021
  };
  float result[3][3][LEN];

  for (int threads = 1; threads <= 3; threads++)
    {
      sl_backend *be;
      sl_error err = { 0 };
      float *p = result[threads - 1][0], *m = result[threads - 1][1], *v = result[threads - 1][2];
      float g[LEN];
      guint32 state = 99u;

      sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
      for (int i = 0; i < LEN; i++)
        p[i] = start[i % N], m[i] = v[i] = 0.0f;
      for (int t = 1; t <= 4; t++)
        {
          sl_optim_step s = { .kind = t % 2 ? SL_OPTIMIZER_ADAM : SL_OPTIMIZER_ADAMW,
                              .lr = 0.003f,
                              .weight_decay = 0.01f,
                              .beta1 = 0.9f,
                              .beta2 = 0.999f,
                              .epsilon = 1e-8f,
                              .t = t };

          for (int i = 0; i < LEN; i++)
            g[i] = test_gradient (&state, (size_t) i);
          be->ops->optimizer_step (be, &s, LEN, p, g, m, v);
        }
      be->ops->destroy (be);
    }
  g_assert_cmpmem (result[0], sizeof result[0], result[1], sizeof result[1]);
  g_assert_cmpmem (result[0], sizeof result[0], result[2], sizeof result[2]);
}

/* The check that keeps a diverged step from the optimizer: one NaN or
 * infinity anywhere, in any thread's share (first and last elements, the
 * shares' borders), short and long gradients, 1 to 3 threads. */
static void
test_all_finite (void)
{
  const size_t lengths[] = { 1, 17, 100003 };
  const float bad[] = { NAN, INFINITY, -INFINITY };

  for (int threads = 1; threads <= 3; threads++)
    {
      sl_backend *be;
      sl_error err = { 0 };

      sl_assert_ok (_sl_cpu_backend_new (threads, &be, &err), &err);
      for (gsize c = 0; c < G_N_ELEMENTS (lengths); c++)
        {
          const size_t n = lengths[c];
          const size_t places[] = { 0, n / 3, n / 3 - 1, n / 2, 2 * n / 3, n - 1 };
          g_autofree float *x = g_new (float, n);
          double stats[SL_STAT_COUNT] = { 0 };

          for (size_t i = 0; i < n; i++)
            x[i] = (float) i * 1e30f - 1e35f; /* large, finite, both signs */
          be->ops->all_finite (be, n, x, stats);
          g_assert_cmpfloat (stats[SL_STAT_FINITE], ==, 1.0);
          for (gsize k = 0; k < G_N_ELEMENTS (places); k++)
            {
              const size_t at = places[k] < n ? places[k] : 0;
              const float keep = x[at];

              x[at] = bad[k % G_N_ELEMENTS (bad)];
              be->ops->all_finite (be, n, x, stats);
              g_assert_cmpfloat (stats[SL_STAT_FINITE], ==, 0.0);
              x[at] = keep;
            }
        }
      be->ops->destroy (be);
    }
}

static void
test_schedules (void)
{
  sl_train_config c;

  sl_train_config_init (&c);
  c.learning_rate = 0.1f;
  g_assert_cmpfloat (_sl_schedule_learning_rate (&c, 0), ==, (double) 0.1f);
  g_assert_cmpfloat (_sl_schedule_learning_rate (&c, 1000000), ==, (double) 0.1f);

  c.schedule = SL_SCHEDULE_STEP;
  c.step_size = 10;
  c.gamma = 0.5f;
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 9) - 0.1), <, 1e-8);
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 10) - 0.05), <, 1e-8);
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 35) - 0.0125), <, 1e-8);

  c.schedule = SL_SCHEDULE_COSINE;
  c.warmup_steps = 10;
  c.total_steps = 110;
  c.min_learning_rate = 0.001f;
  /* Linear warm-up: step 0 gets 1/10 of the rate, step 9 all of it. */
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 0) - 0.01), <, 1e-8);
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 9) - 0.1), <, 1e-8);
  /* Half-way through the cosine: the mean of the two ends. */
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 60) - 0.0505), <, 1e-7);
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 110) - 0.001), <, 1e-8);
  g_assert_cmpfloat (fabs (_sl_schedule_learning_rate (&c, 500) - 0.001), <, 1e-8);
}

static void
test_config_validation (void)
{
  sl_train_config c;
  sl_error err = { 0 };
  const float weights[3] = { 1.0f, -1.0f, 2.0f };

  sl_train_config_init (&c);
  sl_assert_ok (_sl_train_config_validate (&c, 3, &err), &err);
  c.learning_rate = 0.0f;
  g_assert_cmpint (_sl_train_config_validate (&c, 3, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "learning rate"));
  sl_train_config_init (&c);
  c.schedule = SL_SCHEDULE_COSINE;
  g_assert_cmpint (_sl_train_config_validate (&c, 3, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "total number of steps"));
  sl_train_config_init (&c);
  c.class_weights = weights;
  g_assert_cmpint (_sl_train_config_validate (&c, 3, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "class 1"));
  sl_train_config_init (&c);
  c.label_smoothing = 1.0f;
  g_assert_cmpint (_sl_train_config_validate (&c, 3, &err), ==, SL_ERR_INVALID);
  c.struct_size = 8;
  g_assert_cmpint (_sl_train_config_validate (&c, 3, &err), ==, SL_ERR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/optim/sgd", test_sgd);
  g_test_add_func ("/engine/optim/adam-constant-gradient", test_adam_constant_gradient);
  g_test_add_func ("/engine/optim/adamw-decoupled-decay", test_adamw_decoupled_decay);
  g_test_add_func ("/engine/optim/adam-lanes", test_adam_lanes);
  g_test_add_func ("/engine/optim/adam-threads-same-bits", test_adam_threads_same_bits);
  g_test_add_func ("/engine/optim/all-finite", test_all_finite);
  g_test_add_func ("/engine/optim/schedules", test_schedules);
  g_test_add_func ("/engine/optim/config-validation", test_config_validation);
  return g_test_run ();
}
