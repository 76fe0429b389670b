/* anomaly-scores.c: fits the anomaly scorer on float32 inputs read from a file and prints each test image's score,
 * so test-anomaly-reference.py compares the method itself (not decoding or resizing) with the PyTorch reference.
 *
 *   anomaly-scores BACKBONE.slmodel TRAIN.f32 N_TRAIN TEST.f32 N_TEST RATIO MAPS_OUT.f32
 *
 * Inputs are N x C x H x W normalised model input; the default layers and
 * smoothing; the coreset ratio as given. Prints one score per line (%.9g) and
 * writes the N_TEST anomaly maps (H x W float32 each) to MAPS_OUT. */
#include "sl-classifier.h"

#include <stdio.h>
#include <stdlib.h>

static float *
read_floats (const char *path, size_t count)
{
  float *x = malloc (sizeof (float) * count);
  FILE *f = fopen (path, "rb");

  if (x == NULL || f == NULL || fread (x, sizeof (float), count, f) != count)
    {
      fprintf (stderr, "anomaly-scores: %s must hold %zu float32 values\n", path, count);
      exit (1);
    }
  fclose (f);
  return x;
}

int
main (int argc, char **argv)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_model *m = NULL;
  sl_anomaly_config config;
  sl_anomaly_fitter *fitter = NULL;
  sl_anomaly *a = NULL;
  sl_error err = { 0 };
  int32_t w, h, ch;
  int n_train, n_test;

  if (argc != 8 || (n_train = atoi (argv[3])) < 1 || n_train > 256 || (n_test = atoi (argv[5])) < 1
      || n_test > 256)
    {
      fprintf (stderr, "usage: anomaly-scores BACKBONE.slmodel TRAIN.f32 N_TRAIN (1..256) TEST.f32 "
                       "N_TEST (1..256) RATIO MAPS_OUT.f32\n");
      return 2;
    }
  sl_classifier_options_init (&co);
  co.threads = 2;
  if (sl_classifier_open (argv[1], &co, &c, &err) != SL_OK
      || sl_model_share (sl_classifier_model (c), 2, &m, &err) != SL_OK)
    {
      fprintf (stderr, "anomaly-scores: %s\n", err.message);
      return 1;
    }
  sl_classifier_input_size (c, &w, &h, &ch);
  const size_t in_size = (size_t) w * h * ch;
  float *train = read_floats (argv[2], in_size * n_train);
  float *test = read_floats (argv[4], in_size * n_test);
  float *scores = malloc (sizeof (float) * n_test);
  float *maps = malloc (sizeof (float) * w * h * n_test);

  sl_anomaly_config_init (&config);
  config.coreset_ratio = atof (argv[6]);
  config.expected_images = n_train;
  if (sl_anomaly_fitter_new (m, &config, &fitter, &err) != SL_OK
      || sl_anomaly_fitter_add (fitter, train, n_train, &err) != SL_OK
      || sl_anomaly_fitter_finish (fitter, NULL, NULL, &a, &err) != SL_OK
      || sl_anomaly_score (a, m, test, n_test, scores, maps, &err) != SL_OK)
    {
      fprintf (stderr, "anomaly-scores: %s\n", err.message);
      return 1;
    }
  for (int i = 0; i < n_test; i++)
    printf ("%.9g\n", scores[i]);
  FILE *f = fopen (argv[7], "wb");
  if (f == NULL || fwrite (maps, sizeof (float) * w * h, n_test, f) != (size_t) n_test
      || fclose (f) != 0)
    {
      fprintf (stderr, "anomaly-scores: cannot write %s\n", argv[7]);
      return 1;
    }
  int32_t gh, gw;
  sl_anomaly_grid (a, &gh, &gw);
  fprintf (stderr, "anomaly-scores: %lld patches (grid %d x %d), bank %lld x %d\n",
           (long long) n_train * gh * gw, gh, gw, (long long) sl_anomaly_bank_size (a),
           sl_anomaly_feature_dims (a));
  sl_anomaly_fitter_free (fitter);
  sl_anomaly_free (a);
  sl_model_free (m);
  sl_classifier_free (c);
  free (train);
  free (test);
  free (scores);
  free (maps);
  return 0;
}
