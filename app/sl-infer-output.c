/* sl-infer-output.c: sightline-infer's results as CSV rows or JSON lines, with correct quoting. */
#include "sl-infer-private.h"

#include <math.h>
#include <string.h>

/* Backslashes and control characters C-style, so that a record is one line
 * whatever the file name holds; the rest as it is. */
static void
put_escaped (FILE *out, const char *text)
{
  for (const unsigned char *p = (const unsigned char *) text; *p; p++)
    {
      if (*p == '\\')
        fputs ("\\\\", out);
      else if (*p == '\n')
        fputs ("\\n", out);
      else if (*p == '\r')
        fputs ("\\r", out);
      else if (*p == '\t')
        fputs ("\\t", out);
      else if (*p < 0x20 || *p == 0x7f)
        fprintf (out, "\\x%02x", *p);
      else
        putc (*p, out);
    }
}

void
_sl_infer_put_csv (FILE *out, const char *text)
{
  if (strpbrk (text, ",\"") == NULL)
    {
      put_escaped (out, text);
      return;
    }
  putc ('"', out);
  for (const char *p = text; *p; p++)
    {
      char one[2] = { *p, '\0' };

      if (*p == '"')
        putc ('"', out);
      put_escaped (out, one);
    }
  putc ('"', out);
}

/* The length of the UTF-8 sequence at s (1 .. 4), or 0 when it is not valid UTF-8. */
static int
utf8_length (const unsigned char *s)
{
  int n;
  unsigned cp;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4, cp = s[0] & 0x07;
  else
    return 0;
  for (int i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i] & 0x3f);
    }
  /* Overlong forms, UTF-16 surrogates and values past U+10FFFF. */
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
      || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void
_sl_infer_put_json_string (FILE *out, const char *text)
{
  const unsigned char *s = (const unsigned char *) text;

  putc ('"', out);
  while (*s)
    {
      int n = utf8_length (s);

      if (n == 0)
        {
          /* File names are bytes; JSON must be UTF-8. */
          fputs ("\\ufffd", out);
          s++;
          continue;
        }
      if (*s == '"' || *s == '\\')
        fprintf (out, "\\%c", *s);
      else if (*s == '\n')
        fputs ("\\n", out);
      else if (*s == '\r')
        fputs ("\\r", out);
      else if (*s == '\t')
        fputs ("\\t", out);
      else if (*s < 0x20 || *s == 0x7f)
        fprintf (out, "\\u%04x", *s);
      else
        fwrite (s, 1, n, out);
      s += n;
    }
  putc ('"', out);
}

void
_sl_infer_write_header (const SlInferWriter *w)
{
  if (w->json)
    return;
  fputs ("file,label,confidence,rejected", w->out);
  if (w->scored)
    fputs (",anomaly_score,anomalous", w->out);
  for (int k = 2; k <= w->top; k++)
    fprintf (w->out, ",label%d,confidence%d", k, k);
  putc ('\n', w->out);
}

static void
write_csv (const SlInferWriter *w, const char *file, const sl_prediction *best,
           const sl_prediction *top, int n_top)
{
  _sl_infer_put_csv (w->out, file);
  putc (',', w->out);
  _sl_infer_put_csv (w->out, best->label);
  fprintf (w->out, ",%.6f,%d", best->confidence, best->rejected ? 1 : 0);
  if (w->scored)
    {
      /* A score that is not a number (never expected) leaves the field empty. */
      if (isfinite (best->anomaly_score))
        fprintf (w->out, ",%.6f", best->anomaly_score);
      else
        putc (',', w->out);
      fprintf (w->out, ",%d", best->anomalous ? 1 : 0);
    }
  /* Every row has as many columns as the header. */
  for (int k = 1; k < w->top; k++)
    {
      putc (',', w->out);
      if (k < n_top)
        {
          _sl_infer_put_csv (w->out, top[k].label);
          fprintf (w->out, ",%.6f", top[k].confidence);
        }
      else
        putc (',', w->out);
    }
  putc ('\n', w->out);
}

static void
write_json (const SlInferWriter *w, const char *file, const sl_prediction *best,
            const sl_prediction *top, int n_top)
{
  fputs ("{\"file\":", w->out);
  _sl_infer_put_json_string (w->out, file);
  fputs (",\"label\":", w->out);
  _sl_infer_put_json_string (w->out, best->label);
  fprintf (w->out, ",\"class_index\":%d,\"confidence\":%.6f,\"rejected\":%s", best->class_index,
           best->confidence, best->rejected ? "true" : "false");
  if (w->scored)
    {
      if (isfinite (best->anomaly_score))
        fprintf (w->out, ",\"anomaly_score\":%.6f", best->anomaly_score);
      else
        fputs (",\"anomaly_score\":null", w->out);
      fprintf (w->out, ",\"anomalous\":%s", best->anomalous ? "true" : "false");
    }
  if (w->top > 0)
    {
      fputs (",\"top\":[", w->out);
      for (int k = 0; k < n_top; k++)
        {
          fputs (k > 0 ? ",{\"label\":" : "{\"label\":", w->out);
          _sl_infer_put_json_string (w->out, top[k].label);
          fprintf (w->out, ",\"class_index\":%d,\"confidence\":%.6f}", top[k].class_index,
                   top[k].confidence);
        }
      putc (']', w->out);
    }
  fputs ("}\n", w->out);
}

void
_sl_infer_write_result (const SlInferWriter *w, const char *file, const sl_prediction *best,
                        const sl_prediction *top, int n_top)
{
  if (w->json)
    write_json (w, file, best, top, n_top);
  else
    write_csv (w, file, best, top, n_top);
}
