/* sl-test-support.h: helpers shared by the engine tests (data, fixtures, gradient checks). */
#pragma once

#include <glib.h>

#include "sightline.h"

/* Asserts a call succeeded, printing its error message otherwise. */
#define sl_assert_ok(call, err)                                                                    \
  G_STMT_START                                                                                     \
  {                                                                                                \
    sl_status _st = (call);                                                                        \
    if (_st != SL_OK)                                                                              \
      g_error ("%s failed: %s (%s)", #call, (err)->message, sl_status_to_string (_st));            \
  }                                                                                                \
  G_STMT_END

/* Fashion-MNIST images as normalised floats (N x 1 x 28 x 28) and labels. */
typedef struct
{
  int n;
  float *x;
  int32_t *labels;
} SlTestData;

#define SL_FMNIST_MEAN 0.2860f
#define SL_FMNIST_STD  0.3530f

/* Loads the first n images of the train or test split; skips the test when
 * the data set is not installed. Returns FALSE after g_test_skip. */
gboolean sl_test_data_load_fmnist (gboolean train, int n, SlTestData *out);
void sl_test_data_clear (SlTestData *data);

/* A batch source over in-memory data: shuffled per epoch from seed (or in
 * order when shuffle is FALSE). */
typedef struct
{
  sl_batch_source source;
  const SlTestData *data;
  gboolean shuffle;
  guint64 seed;
  int *order;
  int pos;
} SlTestSource;

void sl_test_source_init (SlTestSource *src, const SlTestData *data, gboolean shuffle,
                          guint64 seed);
void sl_test_source_clear (SlTestSource *src);

/* Reads tests/fixtures/<name> (parsed JSON, free with cJSON_Delete). */
void *sl_test_fixture_load (const char *name);
/* A float array member of a fixture object; asserts its length when expect > 0. */
float *sl_test_fixture_floats (const void *obj, const char *key, gsize *len);

/* Normalised error ||a - b|| / max(||a||, ||b||, floor). */
double sl_test_rel_error (const float *a, const float *b, gsize n, double floor);

/* Fills x with N(0, scale) values from a fixed seed. */
void sl_test_fill_normal (float *x, gsize n, guint64 seed, float scale);

/* Writes n floats to dir/name as raw little-endian float32 (what numpy.fromfile reads with
 * dtype "<f4"), asserting that it succeeds. */
void sl_test_write_floats_le (const char *dir, const char *name, const float *v, gsize n);

/* A fresh temporary folder from a g_dir_make_tmp () template, asserting that it was made. */
char *sl_test_make_tmp_dir (const char *tmpl);

/* A fresh temporary folder holding the fake GPU module fake-cuda-<variant>.so (built beside the
 * tests) as libsightline-cuda.so, made the only place the runtime looks
 * (SIGHTLINE_CUDA_MODULE_DIR), with the device registry refreshed: the process discovers its
 * devices once. Undo with sl_test_fake_cuda_dir_remove. */
char *sl_test_fake_cuda_dir (const char *variant);
/* Removes such a folder, frees dir, unsets SIGHTLINE_CUDA_MODULE_DIR and refreshes the registry. */
void sl_test_fake_cuda_dir_remove (char *dir);

/* Asserts that sl_model_new refuses json with SL_ERR_INVALID and a message containing fragment. */
void sl_test_expect_invalid_model (const char *json, const char *fragment);

/* ---- Exported models (sl-test-models.c) ---------------------------------- */

/* The ten Fashion-MNIST class names, in label order. */
extern const char *const sl_test_fmnist_labels[10];

/* Trains `preset` (28x28 gray, 10 classes) for `steps` Adam steps of 32
 * Fashion-MNIST images and saves it with a pipeline (one blur step, the
 * data set's mean and std) and the class names as a .slmodel at path.
 * Returns FALSE after g_test_skip when the data set is missing. */
gboolean sl_test_make_slmodel (const char *preset, int steps, const char *path);

/* Writes the first n Fashion-MNIST test images into dir as "<i>-<label>.png";
 * returns the paths (NULL-terminated, g_strfreev) and fills labels (n ints)
 * when given. Returns NULL after g_test_skip when the data set is missing. */
char **sl_test_write_fmnist_pngs (const char *dir, int n, int32_t *labels);
