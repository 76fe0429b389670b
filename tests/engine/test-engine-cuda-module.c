/* test-engine-cuda-module.c: the real libsightline-cuda.so as built: loaded, it says why a GPU is
 * or is not usable, and the CPU keeps working either way. */
#include "sl-test-support.h"
#include "sl-backend-module-private.h"

#include <dlfcn.h>
#include <math.h>
#include <string.h>

/* The build folder holding libsightline-cuda.so, or NULL (test skipped) when
 * it was not built. */
static const char *
module_folder (void)
{
  const char *dir = g_getenv ("SL_CUDA_MODULE_BUILD_DIR");
  g_autofree char *path = NULL;

  if (dir == NULL || dir[0] == '\0')
    return NULL;
  path = g_build_filename (dir, SL_CUDA_MODULE_NAME, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS) ? dir : NULL;
}

/* Whether the NVIDIA driver's library can be loaded here at all. */
static gboolean
driver_present (void)
{
  void *h = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

  if (h != NULL)
    dlclose (h);
  return h != NULL;
}

static sl_device_list *
open_list (void)
{
  sl_device_list *list = NULL;
  sl_error err = { 0 };

  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", module_folder (), TRUE);
  sl_assert_ok (sl_device_list_new (&list, &err), &err);
  return list;
}

static gboolean
any_usable_gpu (const sl_device_list *list)
{
  for (size_t i = 0; i < sl_device_list_count (list); i++)
    if (sl_device_list_get (list, i)->kind == SL_DEVICE_CUDA
        && sl_device_list_get (list, i)->usable)
      return TRUE;
  return FALSE;
}

static void
test_devices (void)
{
  sl_device_list *list;
  const char *status;

  if (module_folder () == NULL)
    {
      g_test_skip ("the CUDA module was not built (no nvcc, cuBLAS or cuDNN)");
      return;
    }
  list = open_list ();
  status = sl_device_list_gpu_status (list);
  g_test_message ("GPU status: %s", status[0] != '\0' ? status : "(a GPU is usable)");
  /* The module itself loaded: any reason comes from it, not from dlopen. */
  g_assert_nonnull (_sl_device_list_cuda_module (list));
  g_assert_null (strstr (status, "could not be loaded"));
  g_assert_null (strstr (status, "is not installed"));
  for (size_t i = 1; i < sl_device_list_count (list); i++)
    {
      const sl_device_info *d = sl_device_list_get (list, i);

      g_test_message ("%s: %s, %" G_GUINT64_FORMAT " bytes, compute %d.%d, driver %d, runtime "
                      "%d, %s",
                      d->id, d->name, d->memory_bytes, d->compute_major, d->compute_minor,
                      d->driver_version, d->runtime_version, d->usable ? "usable" : d->reason);
      g_assert_cmpint (d->kind, ==, SL_DEVICE_CUDA);
      g_assert_cmpuint (strlen (d->name), >, 0);
      g_assert_cmpuint (d->memory_bytes, >, 0);
      g_assert_cmpint (d->runtime_version, >=, 13000);
      g_assert_cmpint (d->driver_version, >=, d->runtime_version);
      g_assert_true (d->usable || strlen (d->reason) > 0);
    }
  if (!driver_present ())
    {
      /* This machine: no driver, and the list says exactly that. */
      g_assert_cmpuint (sl_device_list_count (list), ==, 1);
      g_assert_nonnull (strstr (status, "No GPU: no NVIDIA driver is installed"));
      g_assert_nonnull (strstr (status, "training uses the CPU"));
    }
  else if (!any_usable_gpu (list))
    g_assert_cmpuint (strlen (status), >, 0);
  if (!any_usable_gpu (list))
    {
      /* Asked for a backend anyway (as a caller that ignores the list would):
       * an error with CUDA's words, not a crash. */
      const sl_backend_module *module = _sl_device_list_cuda_module (list);
      sl_backend *be = NULL;
      sl_error err = { 0 };

      g_assert_cmpint (module->backend_new (0, &be, &err), ==, SL_ERR_DEVICE);
      g_test_message ("backend_new: %s", err.message);
      g_assert_null (be);
      g_assert_nonnull (strstr (err.message, "cuda:0: CUDA error in"));
    }
  sl_device_list_free (list);
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
}

/* Asking for the GPU without one is SL_ERR_DEVICE with the list's reason;
 * training and prediction on the CPU go on regardless. */
static void
test_fallback (void)
{
  const char *json
      = "{\"input\":{\"channels\":1,\"height\":8,\"width\":8},\"classes\":3,"
        "\"layers\":[{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3},"
        "{\"type\":\"batchnorm\"},{\"type\":\"relu\"},{\"type\":\"maxpool\",\"size\":2},"
        "{\"type\":\"dense\",\"units\":3}]}";
  float x[4 * 64], probs[4 * 3];
  int32_t labels[4] = { 0, 1, 2, 0 };
  sl_device_list *list;
  sl_model *m;
  sl_trainer *t;
  sl_train_config c;
  sl_error err = { 0 };
  double loss;

  if (module_folder () == NULL)
    {
      g_test_skip ("the CUDA module was not built (no nvcc, cuBLAS or cuDNN)");
      return;
    }
  list = open_list ();
  sl_test_fill_normal (x, G_N_ELEMENTS (x), 1, 1.0f);
  sl_assert_ok (sl_model_new (json, 1, &m, &err), &err);
  if (!any_usable_gpu (list))
    {
      g_assert_cmpint (sl_model_set_device (m, list, "cuda", &err), ==, SL_ERR_DEVICE);
      g_test_message ("%s", err.message);
      g_assert_nonnull (strstr (err.message, "cannot compute on cuda"));
      if (!driver_present ())
        g_assert_nonnull (strstr (err.message, "no NVIDIA driver is installed"));
      g_assert_cmpint (sl_model_set_device (m, list, "cuda:0", &err), ==, SL_ERR_DEVICE);
      g_assert_cmpstr (sl_model_get_device (m), ==, "cpu");
    }
  else
    {
      sl_assert_ok (sl_model_set_device (m, list, "cuda", &err), &err);
      g_assert_true (g_str_has_prefix (sl_model_get_device (m), "cuda:"));
    }
  sl_train_config_init (&c);
  sl_assert_ok (sl_trainer_new (m, &c, 4, &t, &err), &err);
  for (int i = 0; i < 3; i++)
    sl_assert_ok (sl_trainer_step (t, x, labels, 4, &loss, NULL, &err), &err);
  g_assert_true (isfinite (loss));
  sl_trainer_free (t);
  sl_assert_ok (sl_model_predict (m, x, 4, probs, &err), &err);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (fabsf (probs[3 * i] + probs[3 * i + 1] + probs[3 * i + 2] - 1.0f), <, 1e-5);
  sl_model_free (m);
  sl_device_list_free (list);
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/cuda-module/devices", test_devices);
  g_test_add_func ("/engine/cuda-module/fallback", test_fallback);
  return g_test_run ();
}
