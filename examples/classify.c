/* classify.c: the smallest complete use of libsightline; copy it into your inspection program.
 *
 * Opens a .slmodel, classifies each image file named on the command line,
 * then classifies one raw camera frame (here a gray buffer we make up) the
 * way a frame-grabber callback would.
 *
 *   cc classify.c -o classify $(pkg-config --cflags --libs sightline)
 *   ./classify part.slmodel good-001.png scratch-017.png
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sl-classifier.h>

/* Classifies one image file and prints "file: label (confidence)". Returns 0 on success. */
static int
classify_file (sl_classifier *classifier, const char *path)
{
  sl_prediction prediction;
  sl_error err;

  /* Every struct you hand to the library starts with struct_size; the _init
   * function sets it (and the other fields to their defaults). */
  sl_prediction_init (&prediction);

  /* The model's own preprocessing (crop, resize, normalise ...) runs inside. */
  if (sl_classifier_predict_file (classifier, path, &prediction, NULL, &err) != SL_OK)
    {
      /* err.message is a complete sentence that names the file. */
      fprintf (stderr, "classify: %s\n", err.message);
      return 1;
    }
  printf ("%s: %s (%.1f%%)%s\n", path, prediction.label, prediction.confidence * 100.0,
          prediction.rejected ? "  REJECTED: not confident enough" : "");
  return 0;
}

/* Classifies a frame from a camera SDK: raw 8-bit gray pixels, rows `stride` bytes apart. */
static int
classify_frame (sl_classifier *classifier)
{
  int32_t width = 640, height = 480; /* any size: the pipeline resizes */
  size_t stride = 640;               /* bytes per row; 0 would mean "packed" */
  unsigned char *pixels = malloc (stride * height);
  sl_prediction prediction;
  sl_error err;
  int status = 0;

  if (pixels == NULL)
    return 1;
  memset (pixels, 128, stride * height); /* a mid-gray frame stands in for the camera's */

  sl_prediction_init (&prediction);
  if (sl_classifier_predict_pixels (classifier, pixels, width, height, stride, SL_PIXEL_GRAY8,
                                    &prediction, NULL, &err)
      != SL_OK)
    {
      fprintf (stderr, "classify: %s\n", err.message);
      status = 1;
    }
  else
    printf ("gray frame %dx%d: %s (%.1f%%)\n", width, height, prediction.label,
            prediction.confidence * 100.0);

  /* The library copied what it needed: the buffer is ours again. */
  free (pixels);
  return status;
}

int
main (int argc, char **argv)
{
  sl_classifier *classifier = NULL;
  sl_error err;
  int failures = 0;

  if (argc < 2)
    {
      fprintf (stderr, "Usage: classify MODEL.slmodel [IMAGE...]\n");
      return 2;
    }

  /* NULL options: threads = one per core, the reject threshold stored in the model. */
  if (sl_classifier_open (argv[1], NULL, &classifier, &err) != SL_OK)
    {
      fprintf (stderr, "classify: cannot open the model: %s\n", err.message);
      return 2;
    }
  printf ("model %s: %d classes, runtime %s\n", argv[1], sl_classifier_class_count (classifier),
          sl_version_string ());

  /* One classifier serves the whole program (and any number of threads). */
  for (int i = 2; i < argc; i++)
    failures += classify_file (classifier, argv[i]);
  failures += classify_frame (classifier);

  sl_classifier_free (classifier);
  return failures > 0 ? 1 : 0;
}
