/* make-seeds.c: writes the seed corpus of fuzz-slmodel: tiny valid .slmodel files and broken variants.
 *
 * Usage: make-seeds SEED_DIR [LARGE_DIR]. The seeds are deliberately tiny
 * (8x8 inputs, a few hundred weights) so that the fuzzer opens and runs
 * thousands a second; between them they use every layer type, most pipeline
 * operators and every kind of parameter (int, double, bool, enum,
 * rectangle). LARGE_DIR receives files too big to fuzz, opened once. */
#include "sl-classifier.h"
#include "sl-error-private.h"
#include "sl-file-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  const char *file;
  const char *model;
  const char *pipeline;
  const char *const *labels;
  float reject_threshold;
  const char *provenance;
  int32_t kind; /* sl_slmodel_kind */
  bool anomaly; /* with an anomaly scorer on layers "act" and "branch" */
} seed;

/* conv 4 filters + dense on an 8x8 gray input. */
static const char model_small[]
    = "{\"name\": \"fuzz-small\", \"input\": {\"channels\": 1, \"height\": 8, \"width\": 8},"
      " \"classes\": 3, \"layers\": ["
      "{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3, \"padding\": \"same\"},"
      "{\"type\": \"relu\"},"
      "{\"type\": \"maxpool\", \"size\": 2},"
      "{\"type\": \"flatten\"},"
      "{\"type\": \"dense\", \"units\": 3}]}";

/* Every other layer type: named layers, a residual add, grouped and
 * rectangular kernels, batch norm statistics, on an 8x8 RGB input. */
static const char model_residual[]
    = "{\"name\": \"fuzz-residual\", \"input\": {\"channels\": 3, \"height\": 8, \"width\": 8},"
      " \"classes\": 2, \"layers\": ["
      "{\"type\": \"conv2d\", \"name\": \"stem\", \"filters\": 4, \"kernel\": 3, \"padding\": 1,"
      " \"init\": \"xavier\"},"
      "{\"type\": \"batchnorm\", \"epsilon\": 0.001, \"momentum\": 0.2},"
      "{\"type\": \"relu6\", \"name\": \"act\"},"
      "{\"type\": \"conv2d\", \"name\": \"branch\", \"filters\": 4, \"kernel\": [1, 3],"
      " \"padding\": [0, 1], \"stride\": 1, \"dilation\": 1, \"groups\": 2, \"bias\": false},"
      "{\"type\": \"add\", \"inputs\": [\"act\", \"branch\"]},"
      "{\"type\": \"leaky_relu\", \"slope\": 0.1},"
      "{\"type\": \"avgpool\", \"size\": [2, 2], \"stride\": 2, \"padding\": 0},"
      "{\"type\": \"sigmoid\"},"
      "{\"type\": \"dropout\", \"rate\": 0.25},"
      "{\"type\": \"global_avgpool\"},"
      "{\"type\": \"dense\", \"units\": 2, \"bias\": true, \"init\": \"he\"}]}";

static const char pipeline_small[]
    = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1,"
      " \"mean\": [0.5], \"std\": [0.25]}, \"steps\": ["
      "{\"op\": \"resize\", \"enabled\": true, \"params\": {\"width\": 8, \"height\": 8,"
      " \"mode\": \"stretch\", \"interpolation\": \"area\", \"pad\": 0}},"
      "{\"op\": \"gaussian-blur\", \"params\": {\"ksize\": 3, \"sigma\": 0.5}}]}";

/* The same model behind a long pipeline of other operators. */
static const char pipeline_long[]
    = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1,"
      " \"mean\": [0.1], \"std\": [2]}, \"steps\": ["
      "{\"op\": \"crop\", \"params\": {\"mode\": \"relative\", \"rect\": [0.1, 0, 0.8, 1]}},"
      "{\"op\": \"rotate\", \"params\": {\"angle\": \"90\"}},"
      "{\"op\": \"flip\", \"params\": {\"axis\": \"both\"}},"
      "{\"op\": \"clahe\", \"params\": {\"clip-limit\": 3, \"tiles\": 2}},"
      "{\"op\": \"normalize\", \"params\": {\"low\": 10, \"high\": 240}},"
      "{\"op\": \"median-blur\", \"params\": {\"ksize\": 3}},"
      "{\"op\": \"threshold\", \"enabled\": false, \"params\": {\"method\": \"adaptive-mean\","
      " \"block-size\": 5, \"c\": 1.5, \"invert\": true}},"
      "{\"op\": \"morphology\", \"params\": {\"operation\": \"open\", \"shape\": \"ellipse\","
      " \"ksize\": 3, \"iterations\": 2}},"
      "{\"op\": \"sobel\", \"params\": {\"ksize\": 3, \"scale\": 0.5}},"
      "{\"op\": \"invert\"},"
      "{\"op\": \"resize\", \"params\": {\"width\": 8, \"height\": 8, \"mode\": \"fit-pad\","
      " \"interpolation\": \"nearest\", \"pad\": 128}}]}";

/* Colour operators, making three channels out of a gray frame. */
static const char pipeline_rgb[]
    = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 3,"
      " \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]}, \"steps\": ["
      "{\"op\": \"crop\", \"params\": {\"mode\": \"absolute\", \"rect\": [1, 1, 12, 9]}},"
      "{\"op\": \"rgb\"},"
      "{\"op\": \"brightness-contrast\", \"params\": {\"contrast\": 1.5, \"brightness\": -20}},"
      "{\"op\": \"gamma\", \"params\": {\"gamma\": 0.8}},"
      "{\"op\": \"sharpen\", \"params\": {\"sigma\": 1, \"amount\": 0.5}},"
      "{\"op\": \"bilateral\", \"params\": {\"diameter\": 3, \"sigma-color\": 20,"
      " \"sigma-space\": 5}},"
      "{\"op\": \"resize\", \"params\": {\"width\": 8, \"height\": 8, \"mode\": \"center-crop\","
      " \"interpolation\": \"cubic\"}}]}";

/* Colour space, histogram and edge operators. */
static const char pipeline_edges[]
    = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1}, \"steps\": ["
      "{\"op\": \"rgb\"},"
      "{\"op\": \"hsv-channel\", \"params\": {\"channel\": \"value\"}},"
      "{\"op\": \"equalize-hist\"},"
      "{\"op\": \"to-8bit\"},"
      "{\"op\": \"canny\", \"params\": {\"low\": 20, \"high\": 80, \"aperture\": 3,"
      " \"l2-gradient\": true}},"
      "{\"op\": \"laplacian\", \"params\": {\"ksize\": 3, \"scale\": 2}},"
      "{\"op\": \"gray\"},"
      "{\"op\": \"threshold\", \"params\": {\"method\": \"otsu\", \"max-value\": 200}},"
      "{\"op\": \"resize\", \"params\": {\"width\": 8, \"height\": 8,"
      " \"interpolation\": \"linear\"}}]}";

/* Hostile but valid models, each about 1 kB: with no limits they would
 * make the first prediction take gigabytes or hours. The runtime's cost
 * check at open refuses them; they keep that path in the corpus. */
static const char model_hostile_memory[]
    = "{\"name\": \"hostile-memory\", \"input\": {\"channels\": 3, \"height\": 8192,"
      " \"width\": 8192}, \"classes\": 3, \"layers\": ["
      "{\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      "{\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      "{\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      "{\"type\": \"avgpool\", \"size\": 1}, {\"type\": \"avgpool\", \"size\": 1},"
      "{\"type\": \"global_avgpool\"}]}";
static const char pipeline_hostile_memory[]
    = "{\"version\": 1, \"input\": {\"width\": 8192, \"height\": 8192, \"channels\": 3}}";

/* A weightless max-pool with a 1025 x 1025 window: 13,000 GFLOP per image. */
static const char model_hostile_compute[]
    = "{\"name\": \"hostile-compute\", \"input\": {\"channels\": 3, \"height\": 2048,"
      " \"width\": 2048}, \"classes\": 3, \"layers\": ["
      "{\"type\": \"maxpool\", \"name\": \"pool\", \"size\": 1025, \"stride\": 1,"
      " \"padding\": 512}, {\"type\": \"global_avgpool\"}]}";
static const char pipeline_hostile_compute[]
    = "{\"version\": 1, \"input\": {\"width\": 2048, \"height\": 2048, \"channels\": 3}}";

/* 486 weights, but a 9 x 9 convolution on 2048 x 2048 has a 4 GB column
 * matrix per compute thread. */
static const char model_hostile_workspace[]
    = "{\"name\": \"hostile-workspace\", \"input\": {\"channels\": 3, \"height\": 2048,"
      " \"width\": 2048}, \"classes\": 2, \"layers\": ["
      "{\"type\": \"conv2d\", \"name\": \"wide\", \"filters\": 2, \"kernel\": 9,"
      " \"padding\": 4, \"bias\": false}, {\"type\": \"global_avgpool\"}]}";

/* A tiny model behind a pipeline that enlarges every image to 8192 x 8192
 * and closes it with a 31 x 31 ellipse ten times (33 s of CPU per image). */
static const char model_tiny[]
    = "{\"name\": \"tiny\", \"input\": {\"channels\": 1, \"height\": 8, \"width\": 8},"
      " \"classes\": 2, \"layers\": [{\"type\": \"global_avgpool\"},"
      " {\"type\": \"dense\", \"units\": 2}]}";
static const char pipeline_hostile[]
    = "{\"version\": 1, \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1}, \"steps\": ["
      "{\"op\": \"resize\", \"params\": {\"width\": 8192, \"height\": 8192,"
      " \"interpolation\": \"cubic\"}},"
      "{\"op\": \"morphology\", \"params\": {\"operation\": \"close\", \"shape\": \"ellipse\","
      " \"ksize\": 31, \"iterations\": 10}}]}";

static const char *const labels3[] = { "good", "scratch", "dent" };
static const char *const labels2[] = { "ok", "NOK \xc3\xa9\\\"" };

static const seed seeds[] = {
  { "small.slmodel", model_small, pipeline_small, labels3, 0.5f,
    "{\"dataset\": \"fuzz\", \"seed\": 1, \"metrics\": {\"accuracy\": 0.9}}" },
  { "long-pipeline.slmodel", model_small, pipeline_long, labels3, 0.0f, NULL },
  { "residual.slmodel", model_residual, pipeline_rgb, labels2, 1.0f, "{}" },
  { "edges.slmodel", model_small, pipeline_edges, labels3, 0.25f, NULL },
  { "hostile-memory.slmodel", model_hostile_memory, pipeline_hostile_memory, labels3, 0.0f, NULL },
  { "hostile-compute.slmodel", model_hostile_compute, pipeline_hostile_compute, labels3, 0.0f,
    NULL },
  { "hostile-workspace.slmodel", model_hostile_workspace, pipeline_hostile_compute, labels2, 0.0f,
    NULL },
  { "hostile-pipeline.slmodel", model_tiny, pipeline_hostile, labels2, 0.0f, NULL },
  /* An anomaly model and a classifier with an anomaly gate (bank of 7 x 8 floats). */
  { "anomaly.slmodel", model_residual, pipeline_rgb, NULL, 0.0f, NULL, SL_SLMODEL_ANOMALY, true },
  { "gated.slmodel", model_residual, pipeline_rgb, labels2, 0.0f, NULL, SL_SLMODEL_CLASSIFIER,
    true },
};

/* A small PatchCore scorer on the model's "act" and "branch" layers (both
 * 4 x 8 x 8), fitted on two images of made-up layer outputs. */
static sl_status
fit_scorer (sl_model *model, sl_anomaly **out, sl_error *err)
{
  static float outs[2][2 * 4 * 8 * 8];
  const float *layer_outs[2] = { outs[0], outs[1] };
  sl_anomaly_config config;
  sl_anomaly_fitter *fitter = NULL;
  uint32_t state = 12345;
  sl_status st;

  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 2 * 4 * 8 * 8; i++)
      {
        state = state * 1664525u + 1013904223u;
        outs[k][i] = (float) (state >> 8) / 16777216.0f;
      }
  sl_anomaly_config_init (&config);
  config.layers[0] = sl_model_find_layer (model, "act");
  config.layers[1] = sl_model_find_layer (model, "branch");
  config.n_layers = 2;
  config.coreset_ratio = 0.05;
  config.smoothing_sigma = 1.5f;
  st = sl_anomaly_fitter_new (model, &config, &fitter, err);
  if (st == SL_OK)
    st = sl_anomaly_fitter_add_layers (fitter, layer_outs, 2, err);
  if (st == SL_OK)
    st = sl_anomaly_fitter_finish (fitter, NULL, NULL, out, err);
  if (st == SL_OK)
    st = sl_anomaly_set_threshold (*out, 0.75f, err);
  sl_anomaly_fitter_free (fitter);
  return st;
}

/* Replaces the file's creation time with a fixed one (and fixes the header
 * and preamble checksums): the corpus is the same every time, so a run with
 * a fixed -seed starts the same way. */
static sl_status
pin_created (const char *path, sl_error *err)
{
  static const char key[] = "\"created\":\"", stamp[] = "2024-01-01T00:00:00Z";
  uint8_t *data = NULL;
  size_t size = 0, len;
  char *at;
  sl_status st = sl_file_read_all (path, 1 << 24, &data, &size, err);

  if (st != SL_OK)
    return st;
  len = (size_t) data[12] | (size_t) data[13] << 8 | (size_t) data[14] << 16
        | (size_t) data[15] << 24;
  /* The header has no NUL bytes, and zero padding or the end of the data follows. */
  at = strstr ((char *) data + 32, key);
  if (at == NULL || at + strlen (key) + strlen (stamp) > (char *) data + 32 + len)
    st = sl_error_set (err, SL_ERR_FORMAT, "%s has no creation time", path);
  else
    {
      uint32_t crc;

      memcpy (at + strlen (key), stamp, strlen (stamp));
      crc = sl_crc32 (0, data + 32, len);
      for (int i = 0; i < 4; i++)
        data[24 + i] = (uint8_t) (crc >> (8 * i));
      crc = sl_crc32 (0, data, 28);
      for (int i = 0; i < 4; i++)
        data[28 + i] = (uint8_t) (crc >> (8 * i));
      st = sl_file_write_atomic (path, data, size, err);
    }
  free (data);
  return st;
}

static int
write_seed (const char *dir, const seed *s)
{
  sl_model *model = NULL;
  sl_pipeline *pipeline = NULL;
  sl_anomaly *anomaly = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };
  char path[4096];
  sl_status st;

  snprintf (path, sizeof path, "%s/%s", dir, s->file);
  sl_slmodel_info_init (&info);
  info.labels = s->labels;
  info.reject_threshold = s->reject_threshold;
  info.provenance_json = s->provenance;
  info.kind = s->kind;
  st = sl_model_new (s->model, 7, &model, &err);
  if (st == SL_OK)
    st = sl_model_set_threads (model, 1, &err);
  if (st == SL_OK && s->anomaly)
    st = fit_scorer (model, &anomaly, &err);
  info.anomaly = anomaly;
  if (st == SL_OK)
    st = sl_pipeline_from_json (s->pipeline, &pipeline, &err);
  if (st == SL_OK)
    st = sl_slmodel_save (model, pipeline, &info, path, &err);
  if (st == SL_OK)
    st = pin_created (path, &err);
  sl_pipeline_free (pipeline);
  sl_anomaly_free (anomaly);
  sl_model_free (model);
  if (st != SL_OK)
    fprintf (stderr, "make-seeds: %s: %s\n", path, err.message);
  return st == SL_OK ? 0 : 1;
}

/* A valid model with 100000 classes, the most a description may have, and
 * no weights: it guards against checks that grow with the square of the
 * class count. Too big for the corpus; run-fuzz.sh opens it once. */
static int
write_many_classes (const char *dir)
{
  enum
  {
    N = 100000
  };
  static const char model[]
      = "{\"input\": {\"channels\": 1, \"height\": 250, \"width\": 400}, \"classes\": 100000,"
        " \"layers\": [{\"type\": \"flatten\"}]}";
  static const char pipeline[]
      = "{\"version\": 1, \"input\": {\"width\": 400, \"height\": 250, \"channels\": 1}}";
  char *names = malloc ((size_t) N * 8);
  const char **labels = malloc (sizeof *labels * N);
  seed s = { "many-classes.slmodel", model, pipeline, NULL, 0.0f, NULL };
  int failed = 1;

  if (names != NULL && labels != NULL)
    {
      for (int i = 0; i < N; i++)
        {
          snprintf (names + 8 * i, 8, "c%d", i);
          labels[i] = names + 8 * i;
        }
      s.labels = labels;
      failed = write_seed (dir, &s);
    }
  free (labels);
  free (names);
  return failed;
}

/* Writes the first `size` bytes of `from` as `to` (both in dir). */
static int
write_prefix (const char *dir, const char *from, const char *to, long size)
{
  char in_path[4096], out_path[4096];
  unsigned char *buf = NULL;
  FILE *in, *out;
  long n = 0;
  int ok = 0;

  snprintf (in_path, sizeof in_path, "%s/%s", dir, from);
  snprintf (out_path, sizeof out_path, "%s/%s", dir, to);
  in = fopen (in_path, "rb");
  if (in != NULL && fseek (in, 0, SEEK_END) == 0 && (n = ftell (in)) > 0
      && fseek (in, 0, SEEK_SET) == 0 && (buf = malloc ((size_t) n)) != NULL
      && fread (buf, 1, (size_t) n, in) == (size_t) n)
    {
      if (size < 0)
        size = n / 2;
      if (size > n)
        size = n;
      out = fopen (out_path, "wb");
      ok = out != NULL && fwrite (buf, 1, (size_t) size, out) == (size_t) size;
      if (out != NULL && fclose (out) != 0)
        ok = 0;
    }
  if (in != NULL)
    fclose (in);
  if (!ok)
    fprintf (stderr, "make-seeds: cannot write %s\n", out_path);
  free (buf);
  return ok ? 0 : 1;
}

/* Where the JSON header of a .slmodel ends: its length is at byte 12, it starts at 32. */
static long
header_end (const char *dir, const char *file)
{
  char path[4096];
  unsigned char pre[32];
  FILE *f;
  long end = -1;

  snprintf (path, sizeof path, "%s/%s", dir, file);
  f = fopen (path, "rb");
  if (f != NULL && fread (pre, 1, sizeof pre, f) == sizeof pre)
    end = 32
          + (long) ((unsigned long) pre[12] | (unsigned long) pre[13] << 8
                    | (unsigned long) pre[14] << 16 | (unsigned long) pre[15] << 24);
  if (f != NULL)
    fclose (f);
  return end;
}

int
main (int argc, char **argv)
{
  int failed = 0;

  if (argc != 2 && argc != 3)
    {
      fprintf (stderr, "usage: %s SEED_DIR [LARGE_DIR]\n", argv[0]);
      return 2;
    }
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
    failed |= write_seed (argv[1], &seeds[i]);
  if (failed)
    return 1;
  /* Broken copies: cut in the weights, and the preamble and header alone. */
  failed |= write_prefix (argv[1], "small.slmodel", "truncated.slmodel", -1);
  failed |= write_prefix (argv[1], "residual.slmodel", "header-only.slmodel",
                          header_end (argv[1], "residual.slmodel"));
  failed |= write_prefix (argv[1], "anomaly.slmodel", "anomaly-truncated.slmodel", -1);
  if (argc == 3)
    failed |= write_many_classes (argv[2]);
  return failed;
}
