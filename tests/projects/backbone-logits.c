/* backbone-logits.c: prints a .slmodel's raw logits for float32 NCHW inputs read from a file,
 * so the conversion check compares the network itself with the reference implementation. */
#include "sightline.h"
#include "sl-classifier.h"
#include "sl-model-private.h"

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_model *model = NULL;
  sl_plan *plan = NULL;
  sl_error err = { 0 };
  const sl_model *src;
  char *json;
  int channels, height, width, n, classes;
  size_t in_size;
  float *x;
  FILE *f;

  if (argc != 4 || (n = atoi (argv[3])) < 1 || n > 64)
    {
      fprintf (stderr, "usage: backbone-logits MODEL.slmodel INPUT.f32 N (1..64)\n");
      return 2;
    }
  sl_classifier_options_init (&co);
  co.max_memory = SL_CLASSIFIER_NO_LIMIT;
  if (sl_classifier_open (argv[1], &co, &c, &err) != SL_OK)
    {
      fprintf (stderr, "backbone-logits: %s\n", err.message);
      return 1;
    }
  /* A private copy of the network: the classifier's model is shared and answers softmax only. */
  src = sl_classifier_model (c);
  json = sl_model_to_json (src);
  if (sl_model_new (json, 0, &model, &err) != SL_OK
      || sl_model_set_params (model, sl_model_params (src), sl_model_param_count (src), &err)
             != SL_OK
      || sl_model_set_state (model, sl_model_state (src), sl_model_state_count (src), &err) != SL_OK
      || _sl_plan_new (model, n, false, false, &plan, &err) != SL_OK)
    {
      fprintf (stderr, "backbone-logits: %s\n", err.message);
      return 1;
    }
  sl_free (json);
  sl_model_input_shape (model, &channels, &height, &width);
  classes = sl_model_class_count (model);
  in_size = (size_t) channels * height * width;
  x = malloc (in_size * n * sizeof (float));
  if (x == NULL || (f = fopen (argv[2], "rb")) == NULL
      || fread (x, sizeof (float), in_size * n, f) != in_size * n)
    {
      fprintf (stderr, "backbone-logits: %s must hold %d x %dx%dx%d float32 values\n", argv[2], n,
               channels, height, width);
      return 1;
    }
  fclose (f);
  const float *logits = _sl_graph_forward (model, plan, x, n, false, 0);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < classes; k++)
      printf ("%.9g%c", logits[(size_t) i * classes + k], k + 1 < classes ? ' ' : '\n');
  _sl_plan_free (model, plan);
  sl_model_free (model);
  sl_classifier_free (c);
  free (x);
  return 0;
}
