/* sl-infer.c: sightline-infer, the line-side runner: classifies images with a .slmodel (links only libsightline). */
#define _GNU_SOURCE /* vasprintf */
#include "sl-infer-private.h"

#include <stdarg.h>
#include <stdlib.h>

void
_sl_infer_warn (const char *format, ...)
{
  va_list ap;
  char *text = NULL;

  va_start (ap, format);
  if (vasprintf (&text, format, ap) < 0)
    text = NULL;
  va_end (ap);
  fputs (SL_INFER_NAME ": ", stderr);
  /* One message, one line: control characters in file names are shown as escapes. */
  for (const unsigned char *p = (const unsigned char *) (text ? text : format); *p; p++)
    {
      if (*p == '\n')
        fputs ("\\n", stderr);
      else if (*p == '\r')
        fputs ("\\r", stderr);
      else if (*p == '\t')
        fputs ("\\t", stderr);
      else if (*p < 0x20 || *p == 0x7f)
        fprintf (stderr, "\\x%02x", *p);
      else
        putc (*p, stderr);
    }
  free (text);
  putc ('\n', stderr);
}

sl_classifier *
_sl_infer_try_open_model (const SlInferOptions *o, int64_t max_memory, int64_t max_mflops,
                          sl_error *err)
{
  sl_classifier_options options;
  sl_classifier *c = NULL;

  sl_classifier_options_init (&options);
  options.threads = o->threads;
  options.reject_threshold = o->threshold;
  options.max_memory = max_memory;
  options.max_mflops = max_mflops;
  if (sl_classifier_open_on_device (o->model_path, &options, o->device, &c, err) != SL_OK)
    return NULL;
  return c;
}

sl_classifier *
_sl_infer_open_model (const SlInferOptions *o)
{
  sl_error err = { 0 };
  sl_classifier *c = _sl_infer_try_open_model (o, o->max_memory, o->max_mflops, &err);

  if (c == NULL)
    {
      _sl_infer_warn ("cannot open the model: %s", err.message);
      if (err.code == SL_ERR_LIMIT)
        _sl_infer_warn ("--info shows what the model costs; --max-memory and --max-gflops raise "
                        "the limits for a model you trust");
    }
  return c;
}

int
main (int argc, char **argv)
{
  SlInferOptions options;
  sl_classifier *c;
  int status = _sl_infer_parse_args (argc, argv, &options);

  if (status >= 0)
    return status;
  if (options.info)
    return _sl_infer_info (&options);
  if (options.bench)
    return _sl_infer_bench (&options);
  c = _sl_infer_open_model (&options);
  if (c == NULL)
    return SL_INFER_EXIT_USAGE;
  status = _sl_infer_run (c, &options);
  sl_classifier_free (c);
  return status;
}
