/* test-engine-device-model.c: choosing a model's device, and the engine on a device whose memory
 * is not host memory (an emulated GPU: fake-cuda-emulated.so). */
#include "sl-test-support.h"
#include "sl-backend-module-private.h"
#include "engine/sl-model-private.h"

#include <dlfcn.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define THREADS 2 /* the emulated GPU's CPU kernels use two threads */
#define BATCH   16
#define IMAGES  80

/* Backends the fake module in dir has made so far: one per self-check, plus
 * one per model moved to its GPU (fake_cuda_backend_new_calls). */
static int
backend_calls (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);
  void *h = dlopen (path, RTLD_NOW | RTLD_NOLOAD);
  int (*calls) (void);
  int n;

  g_assert_nonnull (h); /* the runtime opened it */
  *(void **) &calls = dlsym (h, "fake_cuda_backend_new_calls");
  g_assert_nonnull (calls);
  n = calls ();
  dlclose (h);
  return n;
}

/* Conv, batch-norm, rectifiers in place, max-pool, a residual sum, dropout. */
static const char model_json[]
    = "{\"input\":{\"channels\":1,\"height\":28,\"width\":28},\"classes\":10,\"layers\":["
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"stride\":2,\"padding\":1,\"name\":\"a\"},"
      "{\"type\":\"batchnorm\"},{\"type\":\"relu\"},"
      "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":1},{\"type\":\"batchnorm\"},"
      "{\"type\":\"relu\",\"name\":\"b\"},{\"type\":\"add\",\"inputs\":[\"b\",\"a\"]},"
      "{\"type\":\"maxpool\",\"size\":2},{\"type\":\"global_avgpool\"},{\"type\":\"flatten\"},"
      "{\"type\":\"dense\",\"units\":16},{\"type\":\"dropout\",\"rate\":0.3},"
      "{\"type\":\"dense\",\"units\":10}]}";

static sl_model *
new_model (void)
{
  sl_error err = { 0 };
  sl_model *m;

  sl_assert_ok (sl_model_new (model_json, 5, &m, &err), &err);
  sl_assert_ok (sl_model_set_threads (m, THREADS, &err), &err);
  return m;
}

static void
random_data (SlTestData *d)
{
  d->n = IMAGES;
  d->x = g_new (float, (gsize) IMAGES * 784);
  d->labels = g_new (int32_t, IMAGES);
  sl_test_fill_normal (d->x, (gsize) IMAGES * 784, 3, 1.0f);
  for (int i = 0; i < IMAGES; i++)
    d->labels[i] = (i * 7) % 10;
}

/* Two epochs of Adam with class weights, label smoothing and weight decay,
 * then an evaluation. */
static void
train (sl_model *m, const SlTestData *d, sl_epoch_stats *last, sl_epoch_stats *eval)
{
  static const float weights[10] = { 1, 2, 1, 1, 0.5f, 1, 1, 3, 1, 1 };
  sl_train_config c;
  sl_trainer *t;
  SlTestSource src;
  sl_error err = { 0 };

  sl_train_config_init (&c);
  c.optimizer = SL_OPTIMIZER_ADAMW;
  c.weight_decay = 0.01f;
  c.label_smoothing = 0.1f;
  c.class_weights = weights;
  c.seed = 3;
  sl_assert_ok (sl_trainer_new (m, &c, BATCH, &t, &err), &err);
  sl_test_source_init (&src, d, TRUE, 9);
  for (int e = 0; e < 2; e++)
    sl_assert_ok (sl_trainer_train_epoch (t, &src.source, NULL, NULL, last, &err), &err);
  sl_assert_ok (sl_trainer_evaluate (t, &src.source, eval, &err), &err);
  sl_test_source_clear (&src);
  sl_trainer_free (t);
}

static void
assert_same_weights (const sl_model *a, const sl_model *b)
{
  g_assert_cmpuint (sl_model_param_count (a), ==, sl_model_param_count (b));
  g_assert_cmpmem (sl_model_params (a), sl_model_param_count (a) * sizeof (float),
                   sl_model_params (b), sl_model_param_count (b) * sizeof (float));
  g_assert_cmpmem (sl_model_state (a), sl_model_state_count (a) * sizeof (float),
                   sl_model_state (b), sl_model_state_count (b) * sizeof (float));
}

static void
test_cpu_and_unknown (void)
{
  sl_model *m = new_model ();
  sl_error err = { 0 };

  g_assert_cmpstr (sl_model_get_device (m), ==, "cpu");
  sl_assert_ok (sl_model_set_device (m, NULL, "cpu", &err), &err);
  sl_assert_ok (sl_model_set_device (m, NULL, "CPU", &err), &err);
  g_assert_cmpint (sl_model_set_device (m, NULL, "tpu", &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "unknown device 'tpu'"));
  g_assert_cmpint (sl_model_set_device (m, NULL, NULL, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_model_set_device (NULL, NULL, "cpu", &err), ==, SL_ERR_INVALID);
  g_assert_cmpstr (sl_model_get_device (m), ==, "cpu");
  sl_model_free (m);
}

/* No driver: asking for the GPU is an error that says why; the CPU still works. */
static void
test_no_driver (void)
{
  char *dir = sl_test_fake_cuda_dir ("nodriver");
  sl_model *m = new_model ();
  sl_error err = { 0 };
  float x[784] = { 0 }, probs[10];

  g_assert_cmpint (sl_model_set_device (m, NULL, "cuda", &err), ==, SL_ERR_DEVICE);
  g_test_message ("%s", err.message);
  g_assert_nonnull (strstr (err.message, "cannot compute on cuda"));
  g_assert_nonnull (strstr (err.message, "no NVIDIA driver"));
  g_assert_null (strstr (err.message, "training uses the CPU"));
  g_assert_cmpint (sl_model_set_device (m, NULL, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "no NVIDIA driver"));
  g_assert_cmpstr (sl_model_get_device (m), ==, "cpu");
  sl_assert_ok (sl_model_predict (m, x, 1, probs, &err), &err);
  sl_model_free (m);
  sl_test_fake_cuda_dir_remove (dir);
}

static void
test_unusable_gpus (void)
{
  char *dir = sl_test_fake_cuda_dir ("gpus");
  sl_device_list *list = NULL;
  sl_model *m = new_model ();
  sl_error err = { 0 };

  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  g_assert_cmpint (sl_model_set_device (m, list, "cuda:1", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "too old"));
  g_assert_cmpint (sl_model_set_device (m, list, "cuda:7", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "no such GPU"));
  /* Usable on paper, but its backend cannot be made: the module's own words. */
  g_assert_cmpint (sl_model_set_device (m, list, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "fake CUDA module cannot compute"));
  g_assert_cmpstr (sl_model_get_device (m), ==, "cpu");
  sl_device_list_free (list);
  sl_model_free (m);
  sl_test_fake_cuda_dir_remove (dir);
}

/* The whole engine on memory it cannot touch: results bit-identical to the CPU. */
static void
test_emulated_training (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  sl_model *cpu = new_model (), *gpu = new_model (), *share = NULL;
  sl_device_list *list = NULL;
  sl_epoch_stats cpu_last, gpu_last, cpu_eval, gpu_eval;
  SlTestData d;
  sl_error err = { 0 };
  g_autofree float *cpu_probs = g_new (float, IMAGES * 10);
  g_autofree float *gpu_probs = g_new (float, IMAGES * 10);
  g_autofree float *share_probs = g_new (float, IMAGES * 10);

  random_data (&d);
  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  sl_assert_ok (sl_model_set_device (gpu, list, "cuda", &err), &err);
  g_assert_cmpstr (sl_model_get_device (gpu), ==, "cuda:0");
  /* The model keeps what it needs of the list. */
  sl_device_list_free (list);
  assert_same_weights (cpu, gpu);

  train (cpu, &d, &cpu_last, &cpu_eval);
  train (gpu, &d, &gpu_last, &gpu_eval);
  g_test_message ("CPU loss %.6f eval %.6f; emulated GPU loss %.6f eval %.6f", cpu_last.loss,
                  cpu_eval.loss, gpu_last.loss, gpu_eval.loss);
  g_assert_cmpfloat (cpu_last.loss, ==, gpu_last.loss);
  g_assert_cmpfloat (cpu_last.accuracy, ==, gpu_last.accuracy);
  g_assert_cmpfloat (cpu_eval.loss, ==, gpu_eval.loss);
  g_assert_cmpfloat (cpu_eval.accuracy, ==, gpu_eval.accuracy);
  assert_same_weights (cpu, gpu);

  /* Inference in chunks larger and smaller than the plan, and from a share. */
  sl_assert_ok (sl_model_predict (cpu, d.x, IMAGES, cpu_probs, &err), &err);
  sl_assert_ok (sl_model_predict (gpu, d.x, 3, gpu_probs, &err), &err);
  sl_assert_ok (sl_model_predict (gpu, d.x, IMAGES, gpu_probs, &err), &err);
  g_assert_cmpmem (cpu_probs, IMAGES * 10 * sizeof (float), gpu_probs,
                   IMAGES * 10 * sizeof (float));
  /* Under a plan limit that holds four images: chunks of four, the plan
   * measured exactly on the device. */
  {
    const sl_plan_sizer sizer
        = { .backend = gpu->backend, .threads = THREADS, .host_memory = false };
    uint64_t four = 0;
    g_autofree float *chunked = g_new (float, IMAGES * 10);

    sl_assert_ok (_sl_plan_measure (gpu, 4, &sizer, &four, NULL, NULL, &err), &err);
    gpu->plan_limit = four;
    sl_assert_ok (sl_model_predict (gpu, d.x, IMAGES, chunked, &err), &err);
    g_assert_cmpint (gpu->predict_plan->batch, ==, 4);
    g_assert_cmpuint (gpu->predict_plan->bytes, ==, four);
    g_assert_cmpfloat (sl_test_rel_error (chunked, cpu_probs, IMAGES * 10, 1e-6), <, 1e-5);
    gpu->plan_limit = 0;
  }
  sl_assert_ok (sl_model_share (gpu, 1, &share, &err), &err);
  g_assert_cmpstr (sl_model_get_device (share), ==, "cuda:0");
  g_assert_cmpint (sl_model_set_device (share, NULL, "cpu", &err), ==, SL_ERR_INVALID);
  sl_assert_ok (sl_model_predict (share, d.x, IMAGES, share_probs, &err), &err);
  g_assert_cmpmem (cpu_probs, IMAGES * 10 * sizeof (float), share_probs,
                   IMAGES * 10 * sizeof (float));
  sl_model_free (share);

  /* Weights written from the host reach the device. */
  g_autofree float *params = g_memdup2 (sl_model_params (cpu), sl_model_param_count (cpu) * 4);
  params[0] += 1.0f;
  sl_assert_ok (sl_model_set_params (cpu, params, sl_model_param_count (cpu), &err), &err);
  sl_assert_ok (sl_model_set_params (gpu, params, sl_model_param_count (gpu), &err), &err);
  sl_assert_ok (sl_model_predict (cpu, d.x, IMAGES, cpu_probs, &err), &err);
  sl_assert_ok (sl_model_predict (gpu, d.x, IMAGES, gpu_probs, &err), &err);
  g_assert_cmpmem (cpu_probs, IMAGES * 10 * sizeof (float), gpu_probs,
                   IMAGES * 10 * sizeof (float));

  /* And back to the CPU, weights intact. */
  sl_assert_ok (sl_model_set_device (gpu, NULL, "cpu", &err), &err);
  g_assert_cmpstr (sl_model_get_device (gpu), ==, "cpu");
  assert_same_weights (cpu, gpu);
  sl_test_data_clear (&d);
  sl_model_free (cpu);
  sl_model_free (gpu);
  sl_test_fake_cuda_dir_remove (dir);
}

/* Checkpoints written from the GPU resume on the CPU and the other way round. */
static void
test_emulated_checkpoints (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  g_autofree char *path = g_build_filename (dir, "run.ckpt", NULL);
  sl_model *gpu = new_model (), *cpu = new_model (), *loaded = NULL;
  sl_trainer *tg, *tc;
  sl_train_config c;
  SlTestData d;
  sl_error err = { 0 };
  double lg, lc;

  random_data (&d);
  sl_train_config_init (&c);
  sl_assert_ok (sl_model_set_device (gpu, NULL, "cuda:0", &err), &err);
  sl_assert_ok (sl_trainer_new (gpu, &c, BATCH, &tg, &err), &err);
  g_assert_cmpint (sl_model_set_device (gpu, NULL, "cpu", &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "trainer"));
  for (int i = 0; i < 3; i++)
    sl_assert_ok (
        sl_trainer_step (tg, d.x + i * BATCH * 784, d.labels + i * BATCH, BATCH, NULL, NULL, &err),
        &err);
  sl_assert_ok (sl_trainer_save_checkpoint (tg, path, &err), &err);

  sl_assert_ok (sl_trainer_new (cpu, &c, BATCH, &tc, &err), &err);
  sl_assert_ok (sl_trainer_load_checkpoint (tc, path, &err), &err);
  assert_same_weights (cpu, gpu);
  sl_assert_ok (sl_trainer_step (tg, d.x, d.labels, BATCH, &lg, NULL, &err), &err);
  sl_assert_ok (sl_trainer_step (tc, d.x, d.labels, BATCH, &lc, NULL, &err), &err);
  g_assert_cmpfloat (lg, ==, lc);
  assert_same_weights (cpu, gpu);

  /* CPU checkpoint into the GPU trainer. */
  sl_assert_ok (sl_trainer_save_checkpoint (tc, path, &err), &err);
  sl_assert_ok (sl_trainer_load_checkpoint (tg, path, &err), &err);
  sl_assert_ok (sl_trainer_step (tg, d.x + 784, d.labels + 1, BATCH, &lg, NULL, &err), &err);
  sl_assert_ok (sl_trainer_step (tc, d.x + 784, d.labels + 1, BATCH, &lc, NULL, &err), &err);
  g_assert_cmpfloat (lg, ==, lc);
  assert_same_weights (cpu, gpu);

  sl_assert_ok (sl_model_load_checkpoint (path, &loaded, &err), &err);
  sl_assert_ok (sl_model_set_device (loaded, NULL, "cuda", &err), &err);
  sl_trainer_free (tg);
  sl_trainer_free (tc);
  g_assert_cmpstr (sl_model_get_device (loaded), ==, "cuda:0");
  sl_model_free (loaded);
  sl_model_free (cpu);
  sl_model_free (gpu);
  sl_test_data_clear (&d);
  g_unlink (path);
  sl_test_fake_cuda_dir_remove (dir);
}

/* Out of device memory: an error with a suggestion, and the model stays usable. */
static void
test_emulated_out_of_memory (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  sl_model *m = new_model ();
  sl_trainer *t = NULL;
  sl_train_config c;
  sl_error err = { 0 };
  SlTestData d;
  double loss;

  random_data (&d);
  sl_train_config_init (&c);
  g_setenv ("SL_FAKE_GPU_MEMORY", "3000000", TRUE);
  sl_assert_ok (sl_model_set_device (m, NULL, "cuda:0", &err), &err);
  g_assert_cmpint (sl_trainer_new (m, &c, 4096, &t, &err), ==, SL_ERR_NOMEM);
  g_test_message ("%s", err.message);
  g_assert_null (t);
  g_assert_nonnull (strstr (err.message, "out of GPU memory"));
  g_assert_nonnull (strstr (err.message, "smaller batch"));
  sl_assert_ok (sl_trainer_new (m, &c, BATCH, &t, &err), &err);
  sl_assert_ok (sl_trainer_step (t, d.x, d.labels, BATCH, &loss, NULL, &err), &err);
  g_assert_true (isfinite (loss));
  sl_trainer_free (t);
  g_unsetenv ("SL_FAKE_GPU_MEMORY");
  sl_model_free (m);
  sl_test_data_clear (&d);
  sl_test_fake_cuda_dir_remove (dir);
}

/* A GPU that computes wrong numbers is caught before it is used, and the
 * verdict stands for the process: no list checks that GPU again. */
static void
test_emulated_self_check (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  sl_device_list *list = NULL;
  sl_model *m = new_model ();
  sl_error err = { 0 };
  int calls;

  g_setenv ("SL_FAKE_GPU_WRONG", "1", TRUE);
  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  g_assert_cmpint (sl_model_set_device (m, list, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_test_message ("%s", err.message);
  g_assert_nonnull (strstr (err.message, "self-check failed on cuda:0"));
  g_assert_nonnull (strstr (err.message, "logits differ from the CPU's by"));
  g_unsetenv ("SL_FAKE_GPU_WRONG");
  calls = backend_calls (dir);
  /* Remembered, even now that the GPU would compute right: by this list, the
   * process's list (refreshed) and a list of its own, none running it again. */
  memset (&err, 0, sizeof err);
  g_assert_cmpint (sl_model_set_device (m, list, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "self-check failed on cuda:0"));
  sl_device_list_free (list);
  sl_assert_ok (sl_device_registry_refresh (NULL, &err), &err);
  memset (&err, 0, sizeof err);
  g_assert_cmpint (sl_model_set_device (m, NULL, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "logits differ from the CPU's by"));
  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  memset (&err, 0, sizeof err);
  g_assert_cmpint (sl_model_set_device (m, list, "cuda", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "self-check failed on cuda:0"));
  sl_device_list_free (list);
  g_assert_cmpint (backend_calls (dir), ==, calls);
  g_assert_cmpstr (sl_model_get_device (m), ==, "cpu");
  sl_model_free (m);
  sl_test_fake_cuda_dir_remove (dir);
}

#define MOVERS 4

static gpointer
move_to_gpu (gpointer data)
{
  sl_model **m = data;
  sl_error err = { 0 };

  *m = new_model ();
  sl_assert_ok (sl_model_set_device (*m, NULL, "cuda:0", &err), &err);
  return NULL;
}

/* The self-check runs once per GPU per process: models moved from several
 * threads at once, after the process's list is refreshed, or through a list
 * of their own add one backend each and no further check. */
static void
test_self_check_once (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  sl_device_list *list = NULL, *again = NULL;
  sl_model *movers[MOVERS], *late = new_model (), *own = new_model ();
  GThread *threads[MOVERS];
  sl_error err = { 0 };

  g_assert_cmpint (backend_calls (dir), ==, 0);
  for (int i = 0; i < MOVERS; i++)
    threads[i] = g_thread_new ("mover", move_to_gpu, &movers[i]);
  for (int i = 0; i < MOVERS; i++)
    g_thread_join (threads[i]);
  g_assert_cmpint (backend_calls (dir), ==, 1 + MOVERS); /* one check, one backend per model */

  sl_assert_ok (sl_device_registry_get (&list, &err), &err);
  sl_assert_ok (sl_device_registry_get (&again, &err), &err);
  g_assert_true (list == again); /* discovered once, the same list for every caller */
  sl_device_list_free (again);
  sl_assert_ok (sl_device_registry_refresh (&again, &err), &err);
  g_assert_true (again != list);
  g_assert_cmpstr (sl_device_list_get (list, 1)->id, ==, "cuda:0"); /* the old list lives on */
  sl_assert_ok (sl_model_set_device (late, NULL, "cuda", &err), &err);
  g_assert_cmpint (backend_calls (dir), ==, 2 + MOVERS);
  sl_device_list_free (list);
  sl_device_list_free (again);

  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  sl_assert_ok (sl_model_set_device (own, list, "cuda:0", &err), &err);
  g_assert_cmpint (backend_calls (dir), ==, 3 + MOVERS);
  sl_device_list_free (list);

  for (int i = 0; i < MOVERS; i++)
    {
      g_assert_cmpstr (sl_model_get_device (movers[i]), ==, "cuda:0");
      sl_model_free (movers[i]);
    }
  sl_model_free (late);
  sl_model_free (own);
  sl_test_fake_cuda_dir_remove (dir);
}

/* A check that could not run (no backend for it) is not a verdict: the next
 * use tries again. */
static void
test_self_check_retried (void)
{
  char *dir = sl_test_fake_cuda_dir ("gpus");
  sl_model *m = new_model ();
  sl_error err = { 0 };

  g_assert_cmpint (sl_model_set_device (m, NULL, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "fake CUDA module cannot compute"));
  g_assert_cmpint (backend_calls (dir), ==, 1);
  g_assert_cmpint (sl_model_set_device (m, NULL, "cuda:0", &err), ==, SL_ERR_DEVICE);
  g_assert_cmpint (backend_calls (dir), ==, 2);
  sl_model_free (m);
  sl_test_fake_cuda_dir_remove (dir);
}

/* A device that fails mid-training: an error, never a crash. */
static void
test_emulated_device_fault (void)
{
  char *dir = sl_test_fake_cuda_dir ("emulated");
  sl_device_list *list = NULL;
  sl_model *m = new_model ();
  sl_trainer *t = NULL;
  sl_train_config c;
  sl_error err = { 0 };
  SlTestData d;
  sl_status st = SL_OK;
  int step;

  random_data (&d);
  sl_train_config_init (&c);
  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  sl_assert_ok (sl_model_set_device (m, list, "cuda:0", &err), &err); /* self-checked */
  sl_assert_ok (sl_model_set_device (m, list, "cpu", &err), &err);
  g_setenv ("SL_FAKE_GPU_FAIL_AT", "300", TRUE);
  sl_assert_ok (sl_model_set_device (m, list, "cuda:0", &err), &err);
  sl_assert_ok (sl_trainer_new (m, &c, BATCH, &t, &err), &err);
  for (step = 0; step < 100 && st == SL_OK; step++)
    st = sl_trainer_step (t, d.x, d.labels, BATCH, NULL, NULL, &err);
  g_test_message ("step %d: %s", step, err.message);
  g_assert_cmpint (st, ==, SL_ERR_DEVICE);
  g_assert_nonnull (strstr (err.message, "emulated GPU failed"));
  g_unsetenv ("SL_FAKE_GPU_FAIL_AT");
  sl_trainer_free (t);
  sl_device_list_free (list);
  sl_model_free (m);
  sl_test_data_clear (&d);
  sl_test_fake_cuda_dir_remove (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/device-model/cpu-and-unknown", test_cpu_and_unknown);
  g_test_add_func ("/engine/device-model/no-driver", test_no_driver);
  g_test_add_func ("/engine/device-model/unusable-gpus", test_unusable_gpus);
  g_test_add_func ("/engine/device-model/emulated-training", test_emulated_training);
  g_test_add_func ("/engine/device-model/emulated-checkpoints", test_emulated_checkpoints);
  g_test_add_func ("/engine/device-model/emulated-out-of-memory", test_emulated_out_of_memory);
  g_test_add_func ("/engine/device-model/emulated-self-check", test_emulated_self_check);
  g_test_add_func ("/engine/device-model/emulated-device-fault", test_emulated_device_fault);
  g_test_add_func ("/engine/device-model/self-check-once", test_self_check_once);
  g_test_add_func ("/engine/device-model/self-check-retried", test_self_check_retried);
  return g_test_run ();
}
