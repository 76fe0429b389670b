/* sl-infer-run.c: sightline-infer's classify loop: decode, gather --batch images, predict, print. */
#include "sl-infer-private.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  sl_classifier *classifier;
  SlInferWriter writer;
  int batch, classes, top;
  /* The images decoded and waiting for the next forward pass. */
  int pending;
  sl_image *images;
  char **names;
  sl_frame *frames;
  sl_prediction *predictions;
  float *probs;
  sl_prediction *best;       /* top-k scratch */
  SlInferHeatmaps *heatmaps; /* NULL without --heatmaps */
  int failures;
} Runner;

bool
_sl_infer_image_as_frame (const sl_image *img, sl_frame *f)
{
  sl_frame_init (f);
  f->pixels = img->data;
  f->width = img->width;
  f->height = img->height;
  f->stride = img->stride;
  if (img->depth == 16)
    {
      f->format = SL_PIXEL_GRAY16;
      return img->channels == 1;
    }
  f->format = img->channels == 1   ? SL_PIXEL_GRAY8
              : img->channels == 3 ? SL_PIXEL_RGB8
                                   : SL_PIXEL_RGBA8;
  return img->depth == 8 && (img->channels == 1 || img->channels == 3 || img->channels == 4);
}

static bool
runner_init (Runner *r, sl_classifier *c, const SlInferOptions *o)
{
  int n = o->batch;

  memset (r, 0, sizeof *r);
  r->classifier = c;
  r->batch = n;
  r->classes = sl_classifier_class_count (c);
  r->top = o->top < r->classes ? o->top : r->classes;
  /* --top past the class count prints every class, with no empty columns. */
  r->writer = (SlInferWriter){
    .out = stdout, .json = o->json, .top = r->top, .scored = sl_classifier_anomaly (c) != NULL
  };
  r->images = calloc (n, sizeof *r->images);
  r->names = calloc (n, sizeof *r->names);
  r->frames = calloc (n, sizeof *r->frames);
  r->predictions = calloc (n, sizeof *r->predictions);
  r->probs = calloc ((size_t) n * r->classes, sizeof *r->probs);
  r->best = calloc (r->classes, sizeof *r->best);
  if (r->images == NULL || r->names == NULL || r->frames == NULL || r->predictions == NULL
      || r->probs == NULL || r->best == NULL)
    return false;
  for (int i = 0; i < n; i++)
    sl_prediction_init (&r->predictions[i]);
  return true;
}

static void
runner_clear (Runner *r)
{
  free (r->images);
  free (r->names);
  free (r->frames);
  free (r->predictions);
  free (r->probs);
  free (r->best);
  _sl_infer_heatmaps_free (r->heatmaps);
}

static void
print_one (Runner *r, int i)
{
  int n_top = 0;

  if (r->writer.top > 0)
    {
      sl_prediction_init (&r->best[0]);
      n_top = sl_classifier_top_k (r->classifier, r->probs + (size_t) i * r->classes, r->top,
                                   r->best);
    }
  _sl_infer_write_result (&r->writer, r->names[i], &r->predictions[i], r->best, n_top);
}

/* One image at a time, so that a bad one is named and the others still print. */
static void
predict_each (Runner *r)
{
  for (int i = 0; i < r->pending; i++)
    {
      sl_error err = { 0 };

      sl_prediction_init (&r->predictions[i]);
      if (r->heatmaps != NULL)
        {
          bool predicted = false;

          /* The result prints even when its overlay could not be written. */
          if (!_sl_infer_heatmaps_predict (r->heatmaps, r->names[i], &r->images[i],
                                           &r->predictions[i], r->probs + (size_t) i * r->classes,
                                           &predicted))
            r->failures++;
          if (predicted)
            print_one (r, i);
          continue;
        }
      if (sl_classifier_predict_image (r->classifier, &r->images[i], &r->predictions[i],
                                       r->probs + (size_t) i * r->classes, &err)
          == SL_OK)
        print_one (r, i);
      else
        {
          _sl_infer_warn ("%s: %s", r->names[i], err.message);
          r->failures++;
        }
    }
}

static bool
predict_batch (Runner *r)
{
  sl_error err = { 0 };

  for (int i = 0; i < r->pending; i++)
    if (!_sl_infer_image_as_frame (&r->images[i], &r->frames[i]))
      return false;
  sl_prediction_init (&r->predictions[0]);
  if (sl_classifier_predict_batch (r->classifier, r->frames, r->pending, r->predictions, r->probs,
                                   &err)
      != SL_OK)
    return false;
  for (int i = 0; i < r->pending; i++)
    print_one (r, i);
  return true;
}

static void
flush (Runner *r)
{
  if (r->pending == 0)
    return;
  /* A batch that fails as a whole is retried image by image to find the culprit. */
  if (r->batch == 1 || r->heatmaps != NULL || !predict_batch (r))
    predict_each (r);
  for (int i = 0; i < r->pending; i++)
    {
      sl_image_clear (&r->images[i]);
      free (r->names[i]);
    }
  r->pending = 0;
  /* Results reach a pipe as soon as they exist, not when a buffer fills. */
  fflush (stdout);
}

static void
on_file (const char *path, void *user_data)
{
  Runner *r = user_data;
  sl_error err = { 0 };
  int i = r->pending;

  if (sl_image_load (path, 0, &r->images[i], &err) != SL_OK)
    {
      _sl_infer_warn ("%s", err.message);
      r->failures++;
      return;
    }
  r->names[i] = strdup (path);
  if (r->names[i] == NULL)
    {
      sl_image_clear (&r->images[i]);
      _sl_infer_warn ("%s: out of memory", path);
      r->failures++;
      return;
    }
  if (++r->pending == r->batch)
    flush (r);
}

int
_sl_infer_run (sl_classifier *c, const SlInferOptions *o)
{
  Runner r;
  int failures;

  if (!runner_init (&r, c, o))
    {
      runner_clear (&r);
      _sl_infer_warn ("out of memory for a batch of %d images", o->batch);
      return SL_INFER_EXIT_FAILED;
    }
  if (o->heatmaps_dir != NULL && (r.heatmaps = _sl_infer_heatmaps_new (c, o->heatmaps_dir)) == NULL)
    {
      runner_clear (&r);
      return SL_INFER_EXIT_USAGE;
    }
  _sl_infer_write_header (&r.writer);
  failures = _sl_infer_inputs_walk (o, on_file, &r);
  flush (&r);
  failures += r.failures;
  runner_clear (&r);
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      _sl_infer_warn ("cannot write the results to stdout");
      return SL_INFER_EXIT_FAILED;
    }
  return failures > 0 ? SL_INFER_EXIT_FAILED : SL_INFER_EXIT_OK;
}
