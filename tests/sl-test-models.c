/* sl-test-models.c: small trained .slmodel files and PNG images made from Fashion-MNIST for tests. */
#include "sl-test-support.h"
#include "sl-classifier.h"
#include "sl-idx.h"

#include <string.h>

const char *const sl_test_fmnist_labels[10] = {
  "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot",
};

static const char *
fmnist_dir (void)
{
  const char *dir = g_getenv ("SL_FASHION_MNIST");
  return dir != NULL ? dir : "/usr/share/datasets/fashion-mnist";
}

static sl_pipeline *
test_pipeline (void)
{
  sl_pipeline *p = NULL;
  sl_input_spec spec = { .width = 28, .height = 28, .channels = 1 };
  sl_error err = { 0 };

  spec.mean[0] = SL_FMNIST_MEAN;
  spec.std[0] = SL_FMNIST_STD;
  sl_assert_ok (sl_pipeline_new (&p, &err), &err);
  sl_assert_ok (sl_pipeline_set_input (p, &spec, &err), &err);
  sl_assert_ok (sl_pipeline_insert_step (p, -1, "gaussian-blur", &err), &err);
  return p;
}

/* Trains through the pipeline, as the application does, so the stored model
 * has seen exactly what it will be given. */
static void
train_steps (sl_trainer *trainer, const sl_pipeline *pipeline, int steps)
{
  g_autofree char *images = g_build_filename (fmnist_dir (), "train-images-idx3-ubyte.gz", NULL);
  g_autofree char *label_file
      = g_build_filename (fmnist_dir (), "train-labels-idx1-ubyte.gz", NULL);
  int n = 32 * steps;
  g_autofree sl_image *imgs = g_new0 (sl_image, n);
  g_autofree int32_t *labels = g_new (int32_t, n);
  g_autofree float *x = g_new (float, 32 * 784);
  int32_t batch_labels[32];
  sl_loader_config lc;
  sl_loader *loader = NULL;
  sl_idx img = { 0 }, lab = { 0 };
  sl_error err = { 0 };

  sl_assert_ok (sl_idx_load (images, n, &img, &err), &err);
  sl_assert_ok (sl_idx_load (label_file, n, &lab, &err), &err);
  for (int i = 0; i < n; i++)
    {
      sl_assert_ok (sl_image_borrow (&imgs[i], img.data + (gsize) i * 784, 28, 28, 1, 8, 28, &err),
                    &err);
      labels[i] = lab.data[i];
    }
  sl_loader_config_init (&lc);
  lc.batch_size = 32;
  lc.seed = 7;
  sl_assert_ok (sl_loader_new_images (imgs, labels, n, pipeline, &lc, &loader, &err), &err);
  sl_assert_ok (sl_loader_begin_epoch (loader, 0, &err), &err);
  for (int s = 0; s < steps; s++)
    {
      double loss, acc;
      int got = 0;

      sl_assert_ok (sl_loader_next (loader, x, batch_labels, 32, &got, &err), &err);
      g_assert_cmpint (got, ==, 32);
      sl_assert_ok (sl_trainer_step (trainer, x, batch_labels, got, &loss, &acc, &err), &err);
    }
  sl_loader_free (loader);
  sl_idx_clear (&img);
  sl_idx_clear (&lab);
}

gboolean
sl_test_make_slmodel (const char *preset, int steps, const char *path)
{
  g_autofree char *images = g_build_filename (fmnist_dir (), "train-images-idx3-ubyte.gz", NULL);
  sl_preset_options po;
  sl_train_config tc;
  sl_slmodel_info info;
  sl_model *model = NULL;
  sl_trainer *trainer = NULL;
  sl_pipeline *pipeline;
  sl_error err = { 0 };
  char *json = NULL;

  if (!g_file_test (images, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      return FALSE;
    }
  sl_preset_options_init (&po);
  po.channels = 1;
  po.height = po.width = 28;
  po.classes = 10;
  sl_assert_ok (sl_preset_json (preset, &po, &json, &err), &err);
  sl_assert_ok (sl_model_new (json, 7, &model, &err), &err);
  sl_train_config_init (&tc);
  sl_assert_ok (sl_trainer_new (model, &tc, 32, &trainer, &err), &err);
  pipeline = test_pipeline ();
  train_steps (trainer, pipeline, MAX (steps, 1));
  sl_slmodel_info_init (&info);
  info.labels = sl_test_fmnist_labels;
  info.reject_threshold = 0.0f;
  info.provenance_json = "{\"dataset\": \"Fashion-MNIST (test)\", \"seed\": 7}";
  sl_assert_ok (sl_slmodel_save (model, pipeline, &info, path, &err), &err);
  sl_pipeline_free (pipeline);
  sl_trainer_free (trainer);
  sl_model_free (model);
  sl_free (json);
  return TRUE;
}

char **
sl_test_write_fmnist_pngs (const char *dir, int n, int32_t *labels)
{
  g_autofree char *images = g_build_filename (fmnist_dir (), "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *label_file = g_build_filename (fmnist_dir (), "t10k-labels-idx1-ubyte.gz", NULL);
  GPtrArray *paths = g_ptr_array_new ();
  sl_idx img = { 0 }, lab = { 0 };
  sl_error err = { 0 };

  if (!g_file_test (images, G_FILE_TEST_EXISTS))
    {
      g_ptr_array_free (paths, TRUE);
      g_test_skip ("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      return NULL;
    }
  sl_assert_ok (sl_idx_load (images, n, &img, &err), &err);
  sl_assert_ok (sl_idx_load (label_file, n, &lab, &err), &err);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%03d-%d.png", i, lab.data[i]);
      char *path = g_build_filename (dir, name, NULL);
      sl_image im;

      sl_assert_ok (sl_image_borrow (&im, img.data + (gsize) i * 784, 28, 28, 1, 8, 28, &err),
                    &err);
      sl_assert_ok (sl_image_save (&im, path, &err), &err);
      if (labels != NULL)
        labels[i] = lab.data[i];
      g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);
  sl_idx_clear (&img);
  sl_idx_clear (&lab);
  return (char **) g_ptr_array_free (paths, FALSE);
}
