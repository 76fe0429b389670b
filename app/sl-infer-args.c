/* sl-infer-args.c: the command line of sightline-infer: options, --help and --version. */
#include "sl-infer-private.h"
#include "sl-config.h"
#include "sightline.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum
{
  OPT_JSON = 256,
  OPT_TOP,
  OPT_THRESHOLD,
  OPT_THREADS,
  OPT_BATCH,
  OPT_BENCH,
  OPT_ITERATIONS,
  OPT_DEVICE,
  OPT_VERSION,
  OPT_INFO,
  OPT_MAX_MEMORY,
  OPT_MAX_GFLOPS,
  OPT_HEATMAPS,
  OPT_MAPS,
};

static const struct option long_options[] = {
  { "recursive", no_argument, NULL, 'r' },
  { "json", no_argument, NULL, OPT_JSON },
  { "top", required_argument, NULL, OPT_TOP },
  { "threshold", required_argument, NULL, OPT_THRESHOLD },
  { "threads", required_argument, NULL, OPT_THREADS },
  { "batch", required_argument, NULL, OPT_BATCH },
  { "bench", no_argument, NULL, OPT_BENCH },
  { "iterations", required_argument, NULL, OPT_ITERATIONS },
  { "device", required_argument, NULL, OPT_DEVICE },
  { "info", no_argument, NULL, OPT_INFO },
  { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
  { "max-gflops", required_argument, NULL, OPT_MAX_GFLOPS },
  { "heatmaps", required_argument, NULL, OPT_HEATMAPS },
  { "maps", no_argument, NULL, OPT_MAPS },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, OPT_VERSION },
  { NULL, 0, NULL, 0 },
};

static void
print_help (FILE *out)
{
  fprintf (out, "Usage: " SL_INFER_NAME " [OPTIONS...] MODEL.slmodel [PATH...]\n"
                "\n"
                "Classifies images with a Sightline model, applying the preprocessing it was\n"
                "trained with. A PATH is an image file or a folder (the image files inside,\n"
                "sorted by name); '-', or no PATH when stdin is not a terminal, reads a list of\n"
                "paths from stdin, one per line.\n"
                "\n"
                "Options:\n"
                "  -r, --recursive     also classify the images in subfolders\n"
                "      --json          print JSON lines instead of CSV\n"
                "      --top K         also print the K most likely classes\n"
                "      --threshold T   reject predictions less confident than T (0 .. 1);\n"
                "                      default: the model's threshold\n"
                "      --threads N     compute threads (default: one per CPU core)\n"
                "      --device D      where to compute: cpu (default), cuda (the first usable\n"
                "                      GPU) or cuda:N; a GPU that is missing is an error\n"
                "      --batch N       images per forward pass (default 1; 32 with --bench)\n"
                "      --heatmaps DIR  also write DIR/<image name without extension>.png: the\n"
                "                      anomaly map (anomaly models and gated classifiers) or\n"
                "                      the Grad-CAM of the predicted class over the\n"
                "                      preprocessed image (DIR is made if missing; one image\n"
                "                      per pass)\n"
                "      --bench         time cold start, batch-1 latency and throughput on the\n"
                "                      given images (or a mid-gray image) instead of classifying\n"
                "      --iterations N  --bench: batch-1 predictions to time (default 200)\n"
                "      --maps          --bench: also time batch-1 predictions with their map\n"
                "                      (as --heatmaps computes it, without drawing or writing)\n"
                "      --info          print the model's input, classes and cost (memory and\n"
                "                      work per image) without classifying; with --json, one\n"
                "                      JSON object\n"
                "      --max-memory M  refuse models that need more than M bytes per\n"
                "                      prediction (suffix k, M or G; default 2G; 'none' lifts it)\n"
                "      --max-gflops N  refuse models that need more than N GFLOP per image\n"
                "                      (default 50; 'none' lifts it)\n"
                "  -h, --help          show this help\n"
                "      --version       show the runtime and model format versions\n"
                "\n"
                "CSV columns: file,label,confidence,rejected (then anomaly_score,anomalous for\n"
                "a model with an anomaly scorer, then label2,confidence2,... with --top).\n"
                "JSON lines: {\"file\", \"label\", \"class_index\", \"confidence\",\n"
                "\"rejected\", \"anomaly_score\", \"anomalous\", \"top\": [...]}. An anomaly\n"
                "model's label is good or anomalous. Images that fail are reported on stderr\n"
                "and skipped.\n"
                "\n"
                "Exit status: 0 when every image was classified, 1 when some failed, 2 for a\n"
                "usage error or a model that cannot be opened.\n");
}

static void
print_version (void)
{
  /* The program's own version, then the library it runs with (they differ
   * when a newer libsightline.so was installed later). */
  printf (SL_INFER_NAME " %s\n", SL_VERSION_STRING);
  printf ("libsightline %s\n", sl_version_string ());
  printf (".slmodel format version %d\n", SL_SLMODEL_FORMAT_VERSION);
}

static int
usage_error (const char *format, const char *value)
{
  fprintf (stderr, SL_INFER_NAME ": ");
  fprintf (stderr, format, value);
  fprintf (stderr, "\nTry '" SL_INFER_NAME " --help' for the options.\n");
  return SL_INFER_EXIT_USAGE;
}

/* A whole-string integer in [min, max]. */
static bool
parse_int (const char *text, int min, int max, int *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
    return false;
  *out = (int) v;
  return true;
}

/* A size in bytes with an optional decimal suffix (k, M, G), or "none" (-1). */
static bool
parse_bytes (const char *text, int64_t *out)
{
  char *end;
  double v, unit = 1.0;

  if (strcasecmp (text, "none") == 0)
    {
      *out = SL_CLASSIFIER_NO_LIMIT;
      return true;
    }
  errno = 0;
  v = strtod (text, &end);
  if (errno != 0 || end == text)
    return false;
  if (*end == 'k' || *end == 'K')
    unit = 1e3, end++;
  else if (*end == 'M' || *end == 'm')
    unit = 1e6, end++;
  else if (*end == 'G' || *end == 'g')
    unit = 1e9, end++;
  if ((*end == 'B' || *end == 'b') && unit > 1.0)
    end++;
  v *= unit;
  if (*end != '\0' || !(v >= 1.0 && v <= 9e18))
    return false;
  *out = (int64_t) v;
  return true;
}

/* GFLOP per image as MFLOP, or "none" (-1). */
static bool
parse_gflops (const char *text, int64_t *out)
{
  char *end;
  double v;

  if (strcasecmp (text, "none") == 0)
    {
      *out = SL_CLASSIFIER_NO_LIMIT;
      return true;
    }
  errno = 0;
  v = strtod (text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= 0.001 && v <= 9e12))
    return false;
  *out = (int64_t) (v * 1000.0 + 0.5);
  return true;
}

/* "cpu", "cuda" or "cuda:N" (the engine's reader); whether that device works is for the
 * runtime to say. */
static bool
valid_device (const char *text)
{
  return sl_device_id_parse (text, NULL, NULL, NULL) == SL_OK;
}

static bool
parse_threshold (const char *text, float *out)
{
  char *end;
  double v;

  errno = 0;
  v = strtod (text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= 0.0 && v <= 1.0))
    return false;
  *out = (float) v;
  return true;
}

/* Applies one option; returns -1 to go on or an exit status. */
static int
apply_option (int opt, const char *arg, SlInferOptions *o)
{
  switch (opt)
    {
      case 'r': o->recursive = true; return -1;
      case OPT_JSON: o->json = true; return -1;
      case OPT_BENCH: o->bench = true; return -1;
      case OPT_INFO: o->info = true; return -1;
      case OPT_MAPS: o->maps = true; return -1;
      case OPT_HEATMAPS:
        if (arg[0] == '\0')
          return usage_error ("%s", "--heatmaps needs a folder");
        o->heatmaps_dir = arg;
        return -1;
      case OPT_MAX_MEMORY:
        return parse_bytes (arg, &o->max_memory)
                   ? -1
                   : usage_error ("--max-memory needs a size in bytes (like 4G or 500M) or "
                                  "'none', not '%s'",
                                  arg);
      case OPT_MAX_GFLOPS:
        return parse_gflops (arg, &o->max_mflops)
                   ? -1
                   : usage_error ("--max-gflops needs a positive number or 'none', not '%s'", arg);
      case OPT_TOP:
        return parse_int (arg, 1, 1000, &o->top)
                   ? -1
                   : usage_error ("--top needs a whole number from 1 to 1000, not '%s'", arg);
      case OPT_THRESHOLD:
        return parse_threshold (arg, &o->threshold)
                   ? -1
                   : usage_error ("--threshold needs a number from 0 to 1, not '%s'", arg);
      case OPT_THREADS:
        return parse_int (arg, 0, 1024, &o->threads)
                   ? -1
                   : usage_error ("--threads needs a whole number from 0 (one per core) to "
                                  "1024, not '%s'",
                                  arg);
      case OPT_BATCH:
        return parse_int (arg, 1, 4096, &o->batch)
                   ? -1
                   : usage_error ("--batch needs a whole number from 1 to 4096, not '%s'", arg);
      case OPT_ITERATIONS:
        return parse_int (arg, 1, 100000000, &o->iterations)
                   ? -1
                   : usage_error ("--iterations needs a positive whole number, not '%s'", arg);
      case OPT_DEVICE:
        o->device = arg;
        return valid_device (arg)
                   ? -1
                   : usage_error ("--device takes cpu, cuda or cuda:N, not '%s'", arg);
      case 'h': print_help (stdout); return SL_INFER_EXIT_OK;
      case OPT_VERSION: print_version (); return SL_INFER_EXIT_OK;
      default:
        /* getopt has printed what was wrong. */
        fprintf (stderr, "Try '" SL_INFER_NAME " --help' for the options.\n");
        return SL_INFER_EXIT_USAGE;
    }
}

int
_sl_infer_parse_args (int argc, char **argv, SlInferOptions *o)
{
  int opt;

  memset (o, 0, sizeof *o);
  o->threshold = -1.0f;
  o->iterations = 200;
  opterr = 1;
  while ((opt = getopt_long (argc, argv, "rh", long_options, NULL)) != -1)
    {
      int status = apply_option (opt, optarg, o);

      if (status >= 0)
        return status;
    }
  if (optind >= argc)
    return usage_error ("%s", "no model given (sightline-infer MODEL.slmodel [PATH...])");
  o->model_path = argv[optind];
  o->paths = argv + optind + 1;
  o->n_paths = argc - optind - 1;
  if (o->batch == 0)
    o->batch = o->bench ? 32 : 1;
  /* --bench without images times a synthetic image instead of reading stdin;
   * --info reads no images. */
  if (o->n_paths == 0 && !o->bench && !o->info)
    {
      if (isatty (STDIN_FILENO))
        return usage_error ("%s", "no images given: name image files or folders, or pipe a "
                                  "list of paths into stdin");
      o->read_stdin = true;
    }
  return -1;
}
