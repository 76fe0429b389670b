/* test-vision-classifier-new.c: a classifier made from a model, a pipeline and labels predicts as its file does. */
#include "sl-test-support.h"
#include "sl-classifier.h"

#include <glib/gstdio.h>
#include <string.h>

#define N_IMAGES 12

typedef struct
{
  char *dir;
  char **pngs;
  int32_t labels[N_IMAGES];
  sl_classifier *file; /* opened from the .slmodel */
} Fixture;

static Fixture fx;

static gboolean
fixture_ready (void)
{
  g_autofree char *path = NULL;
  sl_classifier_options o;
  sl_error err = { 0 };

  if (fx.file != NULL)
    return TRUE;
  fx.dir = g_dir_make_tmp ("sl-classifier-new-XXXXXX", NULL);
  path = g_build_filename (fx.dir, "parts.slmodel", NULL);
  if (!sl_test_make_slmodel ("small-bn", 40, path))
    return FALSE;
  fx.pngs = sl_test_write_fmnist_pngs (fx.dir, N_IMAGES, fx.labels);
  /* One compute thread in both, so that the sums run in one order. */
  sl_classifier_options_init (&o);
  o.threads = 1;
  sl_assert_ok (sl_classifier_open (path, &o, &fx.file, &err), &err);
  return TRUE;
}

/* The file's model (sharing its weights), a copy of its pipeline and its labels. */
static sl_status
new_from_file (const sl_classifier_options *options, int32_t n_labels, sl_classifier **out,
               sl_error *err)
{
  const char *labels[10];
  g_autofree char *json = sl_pipeline_to_json (sl_classifier_pipeline (fx.file));
  sl_pipeline *pipeline = NULL;
  sl_model *model = NULL;

  for (int i = 0; i < 10; i++)
    labels[i] = sl_classifier_class_label (fx.file, i);
  sl_assert_ok (sl_pipeline_from_json (json, &pipeline, err), err);
  sl_assert_ok (sl_model_share (sl_classifier_model (fx.file), 1, &model, err), err);
  return sl_classifier_new (model, pipeline, labels, n_labels, options, out, err);
}

/* Every image gives bit for bit the probabilities of the file, one by one and in a batch. */
static void
test_same_as_file (void)
{
  g_autoptr (GString) header = NULL;
  sl_classifier *made = NULL;
  sl_classifier_options o;
  sl_image images[N_IMAGES];
  sl_frame frames[N_IMAGES];
  sl_prediction a, b, batch_a[N_IMAGES], batch_b[N_IMAGES];
  float pa[10], pb[10], all_a[N_IMAGES * 10], all_b[N_IMAGES * 10];
  sl_error err = { 0 };

  if (!fixture_ready ())
    return;
  sl_classifier_options_init (&o);
  o.threads = 1;
  sl_assert_ok (new_from_file (&o, 10, &made, &err), &err);
  g_assert_cmpint (sl_classifier_class_count (made), ==, 10);
  for (int i = 0; i < 10; i++)
    g_assert_cmpstr (sl_classifier_class_label (made, i), ==,
                     sl_classifier_class_label (fx.file, i));
  g_assert_cmpfloat (sl_classifier_get_reject_threshold (made), ==, 0.0f);
  header = g_string_new (sl_classifier_header_json (made));
  {
    g_autofree char *classes
        = g_strdup_printf ("\"classes\":[\"%s\"", sl_classifier_class_label (fx.file, 0));
    g_assert_nonnull (strstr (header->str, classes));
  }
  g_assert_nonnull (strstr (header->str, "\"pipeline\":{"));
  g_assert_null (strstr (header->str, "provenance"));

  for (int i = 0; i < N_IMAGES; i++)
    {
      sl_prediction_init (&a);
      sl_prediction_init (&b);
      sl_assert_ok (sl_classifier_predict_file (fx.file, fx.pngs[i], &a, pa, &err), &err);
      sl_assert_ok (sl_classifier_predict_file (made, fx.pngs[i], &b, pb, &err), &err);
      g_assert_cmpint (memcmp (pa, pb, sizeof pa), ==, 0);
      g_assert_cmpint (a.class_index, ==, b.class_index);
      g_assert_cmpstr (a.label, ==, b.label);
      g_assert_true (b.label == sl_classifier_class_label (made, b.class_index));

      sl_assert_ok (sl_image_load (fx.pngs[i], 0, &images[i], &err), &err);
      sl_frame_init (&frames[i]);
      frames[i].pixels = images[i].data;
      frames[i].width = images[i].width;
      frames[i].height = images[i].height;
      frames[i].stride = images[i].stride;
      frames[i].format = SL_PIXEL_GRAY8;
    }
  /* Decoded images in one batch are frames in one batch. */
  sl_prediction_init (&batch_a[0]);
  sl_prediction_init (&batch_b[0]);
  sl_assert_ok (sl_classifier_predict_batch (fx.file, frames, N_IMAGES, batch_a, all_a, &err),
                &err);
  sl_assert_ok (sl_classifier_predict_images (made, images, N_IMAGES, batch_b, all_b, &err), &err);
  g_assert_cmpint (memcmp (all_a, all_b, sizeof all_a), ==, 0);
  for (int i = 0; i < N_IMAGES; i++)
    g_assert_cmpint (batch_a[i].class_index, ==, batch_b[i].class_index);

  /* A bad image fails the batch and names itself. */
  images[3].data = NULL;
  g_assert_cmpint (sl_classifier_predict_images (made, images, N_IMAGES, batch_b, NULL, &err), ==,
                   SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "image 3"));
  for (int i = 0; i < N_IMAGES; i++)
    sl_image_clear (&images[i]);
  g_assert_cmpint (sl_classifier_predict_images (made, images, 0, batch_b, NULL, &err), ==, SL_OK);
  sl_classifier_free (made);
}

/* Failures free what the call took (ASan and valgrind see a leak or a double free), and the
 * cost limits apply as to a file. */
static void
test_refusals (void)
{
  sl_classifier *made = (sl_classifier *) &made;
  sl_classifier_options o;
  sl_error err = { 0 };

  if (!fixture_ready ())
    return;
  g_assert_cmpint (new_from_file (NULL, 9, &made, &err), ==, SL_ERR_INVALID);
  g_assert_null (made);
  g_assert_nonnull (strstr (err.message, "10 classes but 9 labels"));

  sl_classifier_options_init (&o);
  o.max_mflops = 1; /* the model needs more than a million operations per image */
  g_assert_cmpint (new_from_file (&o, 10, &made, &err), ==, SL_ERR_LIMIT);
  g_assert_nonnull (strstr (err.message, "max_mflops"));
  o.max_mflops = SL_CLASSIFIER_NO_LIMIT;
  o.max_memory = SL_CLASSIFIER_NO_LIMIT;
  o.reject_threshold = 0.5f;
  sl_assert_ok (new_from_file (&o, 10, &made, &err), &err);
  g_assert_cmpfloat (sl_classifier_get_reject_threshold (made), ==, 0.5f);
  sl_classifier_free (made);

  o.threads = -1;
  g_assert_cmpint (new_from_file (&o, 10, &made, &err), ==, SL_ERR_INVALID);
  g_assert_cmpint (sl_classifier_new (NULL, NULL, NULL, 0, NULL, &made, &err), ==, SL_ERR_INVALID);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vision/classifier-new/same-as-file", test_same_as_file);
  g_test_add_func ("/vision/classifier-new/refusals", test_refusals);
  status = g_test_run ();
  sl_classifier_free (fx.file);
  if (fx.dir != NULL)
    {
      g_autoptr (GDir) d = g_dir_open (fx.dir, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (fx.dir, name, NULL);
          g_remove (path);
        }
      g_rmdir (fx.dir);
    }
  g_strfreev (fx.pngs);
  g_free (fx.dir);
  return status;
}
