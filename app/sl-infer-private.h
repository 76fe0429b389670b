/* sl-infer-private.h: what the files of sightline-infer (the line-side runner) share. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "sl-classifier.h"

#define SL_INFER_NAME "sightline-infer"

/* Exit statuses: every image classified; some image failed; a usage error or
 * a model that cannot be opened. */
enum
{
  SL_INFER_EXIT_OK = 0,
  SL_INFER_EXIT_FAILED = 1,
  SL_INFER_EXIT_USAGE = 2,
};

typedef struct
{
  const char *model_path;
  char **paths; /* image files or folders; "-" reads a list of paths from stdin */
  int n_paths;
  bool read_stdin; /* no PATH was given and stdin is not a terminal */
  bool recursive;
  bool json;
  bool bench;
  int top;                  /* 0 = off, else the k best are printed */
  float threshold;          /* < 0 keeps the model's reject threshold */
  int threads;              /* 0 = one per CPU core */
  const char *device;       /* NULL (the CPU), "cpu", "cuda" or "cuda:N" */
  int batch;                /* images per forward pass */
  int iterations;           /* --bench: batch-1 predictions timed */
  bool info;                /* print the model's facts and cost instead of classifying */
  int64_t max_memory;       /* sl_classifier_options.max_memory: 0 = default, -1 = none */
  int64_t max_mflops;       /* sl_classifier_options.max_mflops: 0 = default, -1 = none */
  const char *heatmaps_dir; /* NULL, or where each image's heatmap overlay PNG goes */
  bool maps;                /* --bench: also time predictions with their map */
} SlInferOptions;

/* ---- sl-infer.c ---- */

/* Prints "sightline-infer: message" on stderr. */
void _sl_infer_warn (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
/* Opens the model with the options' threads, threshold and limits, or prints why not. */
sl_classifier *_sl_infer_open_model (const SlInferOptions *options);
/* The same without printing; err says why it failed. */
sl_classifier *_sl_infer_try_open_model (const SlInferOptions *options, int64_t max_memory,
                                         int64_t max_mflops, sl_error *err);

/* ---- sl-infer-args.c ---- */

/* Fills options from the command line. Returns -1 to go on, or the exit
 * status after printing --help, --version or a usage error. */
int _sl_infer_parse_args (int argc, char **argv, SlInferOptions *options);

/* ---- sl-infer-inputs.c ---- */

/* Called with each image file in input order. */
typedef void (*SlInferVisit) (const char *path, void *user_data);

/* Walks the options' paths (files as given; folders: the image files inside,
 * sorted by name, descending with --recursive; "-" or read_stdin: paths from
 * stdin, one per line). Paths that cannot be read are reported on stderr;
 * returns how many. */
int _sl_infer_inputs_walk (const SlInferOptions *options, SlInferVisit visit, void *user_data);

/* ---- sl-infer-output.c ---- */

typedef struct
{
  FILE *out;
  bool json;
  int top;     /* columns or array entries for the k best; 0 = none */
  bool scored; /* the model has an anomaly scorer: anomaly_score and anomalous */
} SlInferWriter;

void _sl_infer_write_header (const SlInferWriter *writer);
/* One result line. best is the predicted class; top holds n_top predictions,
 * best first (ignored when writer->top is 0). */
void _sl_infer_write_result (const SlInferWriter *writer, const char *file,
                             const sl_prediction *best, const sl_prediction *top, int n_top);
/* A CSV field on one line: backslashes and control characters escaped
 * C-style (\\, \n, \r, \t, \xHH), then quoted as RFC 4180 says when it
 * holds a comma or a quote. */
void _sl_infer_put_csv (FILE *out, const char *text);
/* A JSON string with its quotes; bytes that are not UTF-8 become U+FFFD. */
void _sl_infer_put_json_string (FILE *out, const char *text);

/* ---- sl-infer-run.c ---- */

/* Classifies every input and prints the results; returns the exit status. */
int _sl_infer_run (sl_classifier *classifier, const SlInferOptions *options);
/* The image as a camera frame; false for layouts a frame cannot hold (16-bit colour). */
bool _sl_infer_image_as_frame (const sl_image *image, sl_frame *frame);

/* ---- sl-infer-heatmaps.c ---- */

typedef struct SlInferHeatmaps SlInferHeatmaps;

/* Makes DIR (one level) if missing and checks that it is a folder we can
 * write in; NULL after printing why not. */
SlInferHeatmaps *_sl_infer_heatmaps_new (sl_classifier *classifier, const char *dir);
void _sl_infer_heatmaps_free (SlInferHeatmaps *heatmaps);
/* Predicts one image with its map (the anomaly map of a model with a scorer,
 * else Grad-CAM of the predicted class) and writes DIR/<stem>.png: the map
 * over the preprocessed image. probs may be NULL. Prints what failed; false
 * when the image could not be classified (*predicted false) or its overlay
 * not written (*predicted true). */
bool _sl_infer_heatmaps_predict (SlInferHeatmaps *heatmaps, const char *path, const sl_image *image,
                                 sl_prediction *out, float *probs, bool *predicted);

/* ---- sl-infer-bench.c ---- */

/* Times opening the model, batch-1 latency and batch throughput; returns the exit status. */
int _sl_infer_bench (const SlInferOptions *options);

/* ---- sl-infer-info.c ---- */

/* --info: prints the model's input, classes and cost (memory and work per
 * image) and whether the limits allow it; returns the exit status. */
int _sl_infer_info (const SlInferOptions *options);
