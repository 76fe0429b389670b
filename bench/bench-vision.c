/* bench-vision.c: decode + pipeline + batch throughput of the vision loader, cold and cached, against Python OpenCV. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sl-idx.h"
#include "sl-vision.h"

#ifndef SL_BENCH_PEER
#define SL_BENCH_PEER "bench/bench-vision-peer.py"
#endif

/* The typical chain: gray -> crop -> CLAHE -> resize -> normalize, 64 x 64 model input. */
static const char chain_json[]
    = "{\"input\": {\"width\": 64, \"height\": 64, \"channels\": 1, \"mean\": [0.5], \"std\": "
      "[0.25]},"
      " \"steps\": ["
      "  {\"op\": \"gray\"},"
      "  {\"op\": \"crop\", \"params\": {\"rect\": [0.1, 0.1, 0.8, 0.8]}},"
      "  {\"op\": \"clahe\", \"params\": {\"clip-limit\": 2, \"tiles\": 8}},"
      "  {\"op\": \"resize\", \"params\": {\"width\": 64, \"height\": 64, \"interpolation\": "
      "\"area\"}},"
      "  {\"op\": \"normalize\", \"params\": {\"low\": 0, \"high\": 255}}]}";

typedef struct
{
  int images, size, threads, batch;
  const char *dir, *peer;
} Options;

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
die (const char *what, const sl_error *err)
{
  fprintf (stderr, "bench-vision: %s: %s\n", what, err->message);
  exit (1);
}

static char *
image_path (const Options *o, int i)
{
  char *p;

  if (asprintf (&p, "%s/img-%05d.png", o->dir, i) < 0)
    exit (1);
  return p;
}

/* Fashion-MNIST upscaled to size x size RGB PNGs, like a factory camera crop. */
static void
write_images (const Options *o, int32_t **labels_out)
{
  static const char up_json[] = "{\"input\": {\"width\": %d, \"height\": %d, \"channels\": 3},"
                                " \"steps\": []}";
  char json[256];
  sl_idx images, labels;
  sl_pipeline *up;
  sl_error err = { 0 };
  char *last = image_path (o, o->images - 1);
  struct stat sb;
  bool have = stat (last, &sb) == 0;
  double t0 = now ();

  if (sl_idx_load ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", o->images,
                   &images, &err)
          != SL_OK
      || sl_idx_load ("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", o->images,
                      &labels, &err)
             != SL_OK)
    die ("Fashion-MNIST", &err);
  if (images.count < o->images)
    {
      fprintf (stderr, "bench-vision: only %lld images in Fashion-MNIST\n",
               (long long) images.count);
      exit (1);
    }
  *labels_out = malloc (sizeof (int32_t) * (size_t) o->images);
  for (int i = 0; i < o->images; i++)
    (*labels_out)[i] = labels.data[i];
  snprintf (json, sizeof json, up_json, o->size, o->size);
  if (sl_pipeline_from_json (json, &up, &err) != SL_OK)
    die ("upscale pipeline", &err);
  for (int i = 0; i < o->images && !have; i++)
    {
      sl_image small, big;
      char *path = image_path (o, i);

      sl_image_borrow (&small, images.data + (size_t) i * 784, 28, 28, 1, 8, 28, &err);
      if (sl_pipeline_apply (up, &small, &big, &err) != SL_OK
          || sl_image_save (&big, path, &err) != SL_OK)
        die (path, &err);
      sl_image_clear (&big);
      free (path);
    }
  if (!have)
    printf ("wrote %d PNG files (%dx%d RGB) to %s in %.1f s\n", o->images, o->size, o->size, o->dir,
            now () - t0);
  free (last);
  sl_pipeline_free (up);
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
}

typedef struct
{
  double seconds[2], cpu[2]; /* wall and CPU (all threads) time per epoch */
  sl_loader_stats stats;
} Result;

static double
cpu_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static Result
run_loader (const Options *o, char **paths, const int32_t *labels, const sl_pipeline *p,
            int threads, size_t cache)
{
  sl_loader_config c;
  sl_loader *l;
  sl_error err = { 0 };
  Result r = { { 0, 0 }, { 0, 0 }, { 0 } };
  float *x;
  int32_t *y;

  sl_loader_config_init (&c);
  c.batch_size = o->batch;
  c.seed = 1;
  c.workers = threads;
  c.cache_bytes = cache;
  if (sl_loader_new_files ((const char *const *) paths, labels, o->images, p, &c, &l, &err)
      != SL_OK)
    die ("loader", &err);
  x = malloc (sizeof (float) * sl_loader_image_floats (l) * (size_t) o->batch);
  y = malloc (sizeof (int32_t) * (size_t) o->batch);
  for (int e = 0; e < 2; e++)
    {
      double t0 = now (), c0 = cpu_now ();
      int n, total = 0;

      if (sl_loader_begin_epoch (l, e, &err) != SL_OK)
        die ("epoch", &err);
      do
        {
          if (sl_loader_next (l, x, y, o->batch, &n, &err) != SL_OK)
            die ("batch", &err);
          total += n;
        }
      while (n > 0);
      r.seconds[e] = now () - t0;
      r.cpu[e] = cpu_now () - c0;
      if (total != o->images)
        {
          fprintf (stderr, "bench-vision: epoch %d gave %d images, not %d\n", e, total, o->images);
          exit (1);
        }
    }
  sl_loader_get_stats (l, &r.stats);
  free (x);
  free (y);
  sl_loader_free (l);
  return r;
}

/* Sum of the model inputs of the first 64 files, to check that the peer computes the same. */
static double
checksum (const Options *o, char **paths, const sl_pipeline *p)
{
  float x[64 * 64];
  double sum = 0;
  sl_error err = { 0 };

  for (int i = 0; i < 64 && i < o->images; i++)
    {
      sl_image in, out;

      if (sl_image_load (paths[i], 0, &in, &err) != SL_OK
          || sl_pipeline_apply (p, &in, &out, &err) != SL_OK
          || sl_pipeline_normalize (p, &out, x, &err) != SL_OK)
        die (paths[i], &err);
      for (int k = 0; k < 64 * 64; k++)
        sum += x[k];
      sl_image_clear (&in);
      sl_image_clear (&out);
    }
  return sum;
}

/* Runs the Python OpenCV peer; returns its images/s (procs worker processes). */
static double
run_peer (const Options *o, int procs, double *peer_sum, double *cpu_ms)
{
  char cmd[1024], line[256];
  double ips = 0;
  FILE *f;

  snprintf (cmd, sizeof cmd, "/usr/bin/python3 %s --dir %s --images %d --batch %d --procs %d",
            o->peer, o->dir, o->images, o->batch, procs);
  f = popen (cmd, "r");
  if (f == NULL)
    return 0;
  while (fgets (line, sizeof line, f))
    {
      sscanf (line, "images_per_s %lf", &ips);
      sscanf (line, "checksum %lf", peer_sum);
      sscanf (line, "cpu_ms_per_image %lf", cpu_ms);
    }
  if (pclose (f) != 0)
    {
      fprintf (stderr, "bench-vision: the Python peer failed (is python3-opencv installed?)\n");
      return 0;
    }
  return ips;
}

/* The Fashion-MNIST training set from memory (IDX), as the demo trains on it:
 * no steps, 28 x 28 gray input, with and without augmentation. */
static void
run_memory (const Options *o)
{
  static const char json[] = "{\"input\": {\"width\": 28, \"height\": 28, \"channels\": 1,"
                             " \"mean\": [0.286], \"std\": [0.353]}, \"steps\": []}";
  sl_idx images, labels;
  sl_augment_config aug;
  sl_pipeline *p;
  sl_image *views;
  int32_t *y, *ids;
  float *x;
  sl_error err = { 0 };

  if (sl_idx_load ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", 0, &images, &err)
          != SL_OK
      || sl_idx_load ("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", 0, &labels,
                      &err)
             != SL_OK
      || sl_pipeline_from_json (json, &p, &err) != SL_OK)
    die ("Fashion-MNIST", &err);
  views = malloc (sizeof (sl_image) * (size_t) images.count);
  ids = malloc (sizeof (int32_t) * (size_t) images.count);
  y = malloc (sizeof (int32_t) * (size_t) o->batch);
  x = malloc (sizeof (float) * 784 * (size_t) o->batch);
  for (int64_t i = 0; i < images.count; i++)
    {
      sl_image_borrow (&views[i], images.data + 784 * i, 28, 28, 1, 8, 28, &err);
      ids[i] = labels.data[i];
    }
  sl_augment_config_init (&aug);
  aug.flip_horizontal = true;
  aug.shift_fraction = 0.1;
  aug.rotate_degrees = 10;
  for (int with_aug = 0; with_aug < 2; with_aug++)
    {
      sl_loader_config c;
      sl_loader *l;
      double secs[2];

      sl_loader_config_init (&c);
      c.batch_size = o->batch;
      c.workers = o->threads;
      c.augment = with_aug ? &aug : NULL;
      if (sl_loader_new_images (views, ids, images.count, p, &c, &l, &err) != SL_OK)
        die ("memory loader", &err);
      for (int e = 0; e < 2; e++)
        {
          double t0 = now ();
          int n;

          if (sl_loader_begin_epoch (l, e, &err) != SL_OK)
            die ("epoch", &err);
          do
            if (sl_loader_next (l, x, y, o->batch, &n, &err) != SL_OK)
              die ("batch", &err);
          while (n > 0);
          secs[e] = now () - t0;
        }
      printf ("in memory, %lld Fashion-MNIST 28x28, %d threads%s: epoch 1 %8.0f, epoch 2 "
              "(cached) %8.0f images/s\n",
              (long long) images.count, o->threads, with_aug ? ", flip+shift+rotate" : "",
              images.count / secs[0], images.count / secs[1]);
      sl_loader_free (l);
    }
  free (views);
  free (ids);
  free (x);
  free (y);
  sl_pipeline_free (p);
  sl_idx_clear (&images);
  sl_idx_clear (&labels);
}

int
main (int argc, char **argv)
{
  Options o = { 10000, 128, 2, 64, NULL, SL_BENCH_PEER };
  char dir_template[] = "/tmp/sl-bench-vision-XXXXXX";
  sl_pipeline *p;
  sl_error err = { 0 };
  int32_t *labels;
  char **paths;
  Result cached, streamed, one;
  double ours_sum, peer_sum = NAN, peer1, peer2, peer1_cpu = 0, peer2_cpu = 0;

  for (int i = 1; i < argc; i++)
    {
      const char *next = i + 1 < argc ? argv[i + 1] : NULL;

      if (strcmp (argv[i], "--images") == 0 && next)
        o.images = atoi (argv[++i]);
      else if (strcmp (argv[i], "--size") == 0 && next)
        o.size = atoi (argv[++i]);
      else if (strcmp (argv[i], "--threads") == 0 && next)
        o.threads = atoi (argv[++i]);
      else if (strcmp (argv[i], "--batch") == 0 && next)
        o.batch = atoi (argv[++i]);
      else if (strcmp (argv[i], "--dir") == 0 && next)
        o.dir = argv[++i];
      else if (strcmp (argv[i], "--peer") == 0 && next)
        o.peer = argv[++i];
      else
        {
          printf ("Usage: bench-vision [--images N] [--size PX] [--threads T] [--batch B]\n"
                  "                    [--dir DIR (kept, reused)] [--peer bench-vision-peer.py]\n");
          return strcmp (argv[i], "--help") == 0 ? 0 : 2;
        }
    }
  if (o.images < 64 || o.size < 32 || o.threads < 1 || o.batch < 1)
    {
      fprintf (stderr, "bench-vision: needs --images >= 64, --size >= 32, --threads >= 1\n");
      return 2;
    }
  if (o.dir == NULL)
    o.dir = mkdtemp (dir_template);
  else if (mkdir (o.dir, 0755) != 0 && errno != EEXIST)
    {
      perror (o.dir);
      return 1;
    }
  write_images (&o, &labels);
  paths = malloc (sizeof (char *) * (size_t) o.images);
  for (int i = 0; i < o.images; i++)
    paths[i] = image_path (&o, i);
  if (sl_pipeline_from_json (chain_json, &p, &err) != SL_OK)
    die ("pipeline", &err);

  printf ("chain: gray -> crop 80%% -> CLAHE 2.0/8x8 -> resize 64x64 (area) -> normalize, "
          "mean/std -> NCHW float\n");
  printf ("data: %d Fashion-MNIST images as %dx%d RGB PNG; batch %d\n", o.images, o.size, o.size,
          o.batch);
  cached = run_loader (&o, paths, labels, p, o.threads, (size_t) 512 << 20);
  streamed = run_loader (&o, paths, labels, p, o.threads, 0);
  one = run_loader (&o, paths, labels, p, 1, (size_t) 512 << 20);
  printf ("sightline, %d threads, epoch 1 (cold: decode + pipeline): %8.0f images/s  "
          "(%.3f CPU ms/image)\n",
          o.threads, o.images / cached.seconds[0], 1e3 * cached.cpu[0] / o.images);
  printf ("sightline, %d threads, epoch 2 (from the uint8 cache):    %8.0f images/s  "
          "(%lld images, %.1f MiB cached)\n",
          o.threads, o.images / cached.seconds[1], (long long) cached.stats.cached_images,
          cached.stats.cached_bytes / 1048576.0);
  printf ("sightline, %d threads, epoch 2 without cache (streamed):  %8.0f images/s\n", o.threads,
          o.images / streamed.seconds[1]);
  printf ("cache saves %.2f s of %.2f s per epoch (%.1fx faster epochs)\n",
          streamed.seconds[1] - cached.seconds[1], streamed.seconds[1],
          streamed.seconds[1] / cached.seconds[1]);
  printf ("sightline, 1 thread,  epoch 1 (cold):                     %8.0f images/s  "
          "(%.3f CPU ms/image)\n",
          o.images / one.seconds[0], 1e3 * one.cpu[0] / o.images);

  ours_sum = checksum (&o, paths, p);
  peer1 = run_peer (&o, 1, &peer_sum, &peer1_cpu);
  peer2 = run_peer (&o, o.threads, &peer_sum, &peer2_cpu);
  if (peer1 > 0 && peer2 > 0)
    {
      printf ("python3 + OpenCV, 1 process:                           %8.0f images/s  "
              "(%.3f CPU ms/image)\n",
              peer1, peer1_cpu);
      printf ("python3 + OpenCV, %d processes (multiprocessing.Pool):  %8.0f images/s  "
              "(%.3f CPU ms/image)\n",
              o.threads, peer2, peer2_cpu);
      printf ("ratio sightline/python, cold, %d threads vs %d processes: %.2fx\n", o.threads,
              o.threads, (o.images / cached.seconds[0]) / peer2);
      printf ("ratio sightline/python, cold, 1 thread vs 1 process:    %.2fx\n",
              (o.images / one.seconds[0]) / peer1);
      printf ("ratio sightline cached epoch / python (%d processes):   %.2fx\n", o.threads,
              (o.images / cached.seconds[1]) / peer2);
      printf ("CPU time per cold image, python (1 process) / sightline (1 thread): %.2fx\n",
              peer1_cpu / (1e3 * one.cpu[0] / o.images));
      printf ("same pixels as the peer: checksum %.6f vs %.6f (%s)\n", ours_sum, peer_sum,
              fabs (ours_sum - peer_sum) < 1e-3 * fabs (ours_sum) + 1e-3 ? "match" : "DIFFER");
    }
  run_memory (&o);
  for (int i = 0; i < o.images; i++)
    free (paths[i]);
  free (paths);
  free (labels);
  sl_pipeline_free (p);
  return 0;
}
