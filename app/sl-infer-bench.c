/* sl-infer-bench.c: sightline-infer --bench: cold start, batch-1 latency percentiles, throughput, peak RSS. */
#include "sl-infer-private.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define WARMUP           20
#define MIN_THROUGHPUT_S 1.0

typedef struct
{
  sl_image *items;
  int n, cap;
  int failures;
} Images;

typedef struct
{
  int threads, width, height, channels, classes;
  size_t params;
  int images;     /* decoded inputs; 0 = a synthetic mid-gray image */
  double open_ms; /* cold start = open_ms + first_ms */
  double first_ms;
  int iterations;
  double p50, p90, p99, max; /* batch-1 latency, ms */
  /* --maps: batch-1 latency with the map (0 when not timed); which map. */
  double maps_p50, maps_p90, maps_p99, maps_max;
  const char *map_kind;
  int batch;
  long throughput_images;
  double throughput_s;
  double peak_rss_mib;
} Result;

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static void
on_file (const char *path, void *user_data)
{
  Images *im = user_data;
  sl_error err = { 0 };

  if (im->n == im->cap)
    {
      int cap = im->cap ? im->cap * 2 : 16;
      sl_image *grown = realloc (im->items, sizeof *grown * cap);

      if (grown == NULL)
        {
          _sl_infer_warn ("%s: out of memory", path);
          im->failures++;
          return;
        }
      im->items = grown;
      im->cap = cap;
    }
  if (sl_image_load (path, 0, &im->items[im->n], &err) != SL_OK)
    {
      _sl_infer_warn ("%s", err.message);
      im->failures++;
      return;
    }
  im->n++;
}

static void
images_clear (Images *im)
{
  for (int i = 0; i < im->n; i++)
    sl_image_clear (&im->items[i]);
  free (im->items);
}

/* What a camera would hand over with no images given: mid-gray at the model's input size. */
static bool
add_synthetic (Images *im, sl_classifier *c)
{
  int32_t w, h, ch;
  sl_error err = { 0 };

  sl_classifier_input_size (c, &w, &h, &ch);
  im->items = calloc (1, sizeof *im->items);
  if (im->items == NULL || sl_image_alloc (&im->items[0], w, h, ch, 8, &err) != SL_OK)
    return false;
  memset (im->items[0].data, 128, im->items[0].stride * h);
  im->n = im->cap = 1;
  return true;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double
percentile (const double *sorted, int n, double p)
{
  int rank = (int) (p / 100.0 * n + 0.999999);

  return sorted[rank < 1 ? 0 : rank > n ? n - 1 : rank - 1];
}

/* With map (width x height floats) not NULL, the prediction also fills its
 * map: the anomaly map with a scorer, else Grad-CAM of the predicted class. */
static bool
predict_one_map (sl_classifier *c, const sl_image *img, float *map)
{
  sl_prediction p;
  sl_prediction_maps maps;
  sl_error err = { 0 };
  sl_status st;

  sl_prediction_init (&p);
  sl_prediction_maps_init (&maps);
  if (sl_classifier_anomaly (c) != NULL)
    maps.anomaly_map = map;
  else
    maps.class_heatmap = map;
  st = map != NULL ? sl_classifier_predict_image_maps (c, img, &p, NULL, &maps, &err)
                   : sl_classifier_predict_image (c, img, &p, NULL, &err);
  if (st != SL_OK)
    {
      _sl_infer_warn ("prediction failed: %s", err.message);
      return false;
    }
  return true;
}

static bool
predict_one (sl_classifier *c, const sl_image *img)
{
  return predict_one_map (c, img, NULL);
}

/* Batch-1 latency percentiles (p50, p90, p99, max into out), with map when given. */
static bool
time_latency_into (sl_classifier *c, const Images *im, int iterations, float *map, double out[4])
{
  double *ms = malloc (sizeof *ms * iterations);

  if (ms == NULL)
    return false;
  for (int i = 0; i < WARMUP && i < iterations; i++)
    if (!predict_one_map (c, &im->items[i % im->n], map))
      goto fail;
  for (int i = 0; i < iterations; i++)
    {
      double t0 = now_ms ();

      if (!predict_one_map (c, &im->items[i % im->n], map))
        goto fail;
      ms[i] = now_ms () - t0;
    }
  qsort (ms, iterations, sizeof *ms, compare_doubles);
  out[0] = percentile (ms, iterations, 50);
  out[1] = percentile (ms, iterations, 90);
  out[2] = percentile (ms, iterations, 99);
  out[3] = ms[iterations - 1];
  free (ms);
  return true;
fail:
  free (ms);
  return false;
}

/* Batches of frames cycling through the images, for at least a second and
 * at least as many images as the latency run. */
static bool
time_throughput (sl_classifier *c, const Images *im, Result *r)
{
  sl_frame *frames = calloc (r->batch, sizeof *frames);
  sl_prediction *preds = calloc (r->batch, sizeof *preds);
  long target = r->iterations > 4 * r->batch ? r->iterations : 4 * r->batch;
  bool ok = frames != NULL && preds != NULL;
  double t0 = 0;

  for (int i = 0; ok && i < r->batch; i++)
    if (!_sl_infer_image_as_frame (&im->items[i % im->n], &frames[i]))
      {
        _sl_infer_warn ("--bench: image %d is 16-bit colour, which a frame cannot hold", i % im->n);
        ok = false;
      }
  /* The first batch plans the working memory for this batch size: not timed. */
  for (int pass = 0; ok; pass++)
    {
      sl_error err = { 0 };

      sl_prediction_init (&preds[0]);
      if (sl_classifier_predict_batch (c, frames, r->batch, preds, NULL, &err) != SL_OK)
        {
          _sl_infer_warn ("batch prediction failed: %s", err.message);
          ok = false;
          break;
        }
      if (pass == 0)
        {
          t0 = now_ms ();
          continue;
        }
      r->throughput_images += r->batch;
      r->throughput_s = (now_ms () - t0) / 1e3;
      if (r->throughput_images >= target && r->throughput_s >= MIN_THROUGHPUT_S)
        break;
    }
  free (frames);
  free (preds);
  return ok;
}

static double
peak_rss_mib (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return 0;
  return ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

static bool
time_latency (sl_classifier *c, const Images *im, Result *r)
{
  double v[4];

  if (!time_latency_into (c, im, r->iterations, NULL, v))
    return false;
  r->p50 = v[0], r->p90 = v[1], r->p99 = v[2], r->max = v[3];
  return true;
}

/* --maps: the same with each image's map. */
static bool
time_latency_maps (sl_classifier *c, const Images *im, Result *r)
{
  int32_t w, h;
  float *map;
  double v[4];
  bool ok;

  sl_classifier_input_size (c, &w, &h, NULL);
  map = malloc (sizeof (float) * (size_t) w * h);
  if (map == NULL)
    return false;
  r->map_kind = sl_classifier_anomaly (c) != NULL ? "anomaly map" : "Grad-CAM";
  ok = time_latency_into (c, im, r->iterations, map, v);
  free (map);
  if (ok)
    r->maps_p50 = v[0], r->maps_p90 = v[1], r->maps_p99 = v[2], r->maps_max = v[3];
  return ok;
}

static void
describe_model (sl_classifier *c, Result *r)
{
  const sl_model *m = sl_classifier_model (c);

  sl_classifier_input_size (c, &r->width, &r->height, &r->channels);
  r->classes = sl_classifier_class_count (c);
  r->params = sl_model_param_count (m);
  r->threads = sl_model_get_threads (m);
}

static void
print_json (const SlInferOptions *o, const Result *r)
{
  printf ("{\"model\":");
  _sl_infer_put_json_string (stdout, o->model_path);
  printf (",\"input\":[%d,%d,%d],\"classes\":%d,\"params\":%zu,\"threads\":%d", r->width, r->height,
          r->channels, r->classes, r->params, r->threads);
  printf (",\"images\":%d,\"synthetic\":%s", r->images, r->images == 0 ? "true" : "false");
  printf (",\"cold_start_ms\":%.3f,\"open_ms\":%.3f,\"first_prediction_ms\":%.3f",
          r->open_ms + r->first_ms, r->open_ms, r->first_ms);
  printf (",\"iterations\":%d,\"latency_ms\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,"
          "\"max\":%.4f}",
          r->iterations, r->p50, r->p90, r->p99, r->max);
  if (r->map_kind != NULL)
    printf (",\"map\":\"%s\",\"latency_with_map_ms\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,"
            "\"max\":%.4f}",
            r->map_kind, r->maps_p50, r->maps_p90, r->maps_p99, r->maps_max);
  printf (",\"batch\":%d,\"throughput_images_per_s\":%.1f", r->batch,
          r->throughput_images / r->throughput_s);
  printf (",\"peak_rss_mib\":%.1f}\n", r->peak_rss_mib);
}

static void
print_table (const SlInferOptions *o, const Result *r)
{
  printf ("model         %s\n", o->model_path);
  printf ("              %dx%dx%d input, %d classes, %zu parameters, %d thread%s\n", r->width,
          r->height, r->channels, r->classes, r->params, r->threads, r->threads == 1 ? "" : "s");
  if (r->images > 0)
    printf ("images        %d, decoded before timing\n", r->images);
  else
    printf ("images        none given: a mid-gray %dx%d image\n", r->width, r->height);
  printf ("cold start    %8.2f ms  (open %.2f ms + first prediction %.2f ms)\n",
          r->open_ms + r->first_ms, r->open_ms, r->first_ms);
  printf ("latency       %8.3f ms  p50   (batch 1, %d predictions after %d warm-up;\n", r->p50,
          r->iterations, WARMUP);
  printf ("              %8.3f ms  p90    preprocessing + model, no decoding)\n", r->p90);
  printf ("              %8.3f ms  p99\n", r->p99);
  printf ("              %8.3f ms  max\n", r->max);
  if (r->map_kind != NULL)
    {
      printf ("with map      %8.3f ms  p50   (batch 1, the same predictions with the %s)\n",
              r->maps_p50, r->map_kind);
      printf ("              %8.3f ms  p90\n", r->maps_p90);
      printf ("              %8.3f ms  p99\n", r->maps_p99);
      printf ("              %8.3f ms  max\n", r->maps_max);
    }
  printf ("throughput    %8.1f images/s  (batch %d, %ld images in %.2f s)\n",
          r->throughput_images / r->throughput_s, r->batch, r->throughput_images, r->throughput_s);
  printf ("peak RSS      %8.1f MiB\n", r->peak_rss_mib);
}

int
_sl_infer_bench (const SlInferOptions *o)
{
  Images im = { 0 };
  Result r = { .iterations = o->iterations, .batch = o->batch };
  sl_classifier *c;
  double t0, t1;
  bool ok;

  /* Decoding is not part of any figure: every image is decoded first. */
  _sl_infer_inputs_walk (o, on_file, &im);
  if (o->n_paths > 0 && im.n == 0)
    {
      _sl_infer_warn ("--bench: none of the given images could be read");
      images_clear (&im);
      return SL_INFER_EXIT_FAILED;
    }
  r.images = im.n;
  t0 = now_ms ();
  c = _sl_infer_open_model (o);
  r.open_ms = now_ms () - t0;
  if (c == NULL)
    {
      images_clear (&im);
      return SL_INFER_EXIT_USAGE;
    }
  ok = im.n > 0 || add_synthetic (&im, c);
  t1 = now_ms ();
  ok = ok && predict_one (c, &im.items[0]);
  r.first_ms = now_ms () - t1;
  ok = ok && time_latency (c, &im, &r) && (!o->maps || time_latency_maps (c, &im, &r))
       && time_throughput (c, &im, &r);
  if (ok)
    {
      describe_model (c, &r);
      r.peak_rss_mib = peak_rss_mib ();
      if (o->json)
        print_json (o, &r);
      else
        print_table (o, &r);
    }
  sl_classifier_free (c);
  images_clear (&im);
  if (!ok)
    return SL_INFER_EXIT_FAILED;
  return im.failures > 0 ? SL_INFER_EXIT_FAILED : SL_INFER_EXIT_OK;
}
