/* sl-infer-info.c: sightline-infer --info: the model's input, classes and cost per image, and whether the limits allow it. */
#include "sl-infer-private.h"

#include <math.h>
#include <string.h>

static void
put_size (FILE *out, double bytes)
{
  if (bytes >= 1e9)
    fprintf (out, "%.1f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    fprintf (out, "%.1f MB", bytes / 1e6);
  else
    fprintf (out, "%.1f kB", bytes / 1e3);
}

static void
put_work (FILE *out, double mflops)
{
  if (mflops >= 1000.0)
    fprintf (out, "%.1f GFLOP", mflops / 1e3);
  else if (mflops >= 1.0)
    fprintf (out, "%.1f MFLOP", mflops);
  else
    fprintf (out, "%.1f kFLOP", mflops * 1e3);
}

static void
put_json_limit (FILE *out, const char *key, int64_t value)
{
  fprintf (out, ",\"%s\":", key);
  if (value < 0)
    fputs ("null", out);
  else
    fprintf (out, "%lld", (long long) value);
}

/* The scorer's facts as JSON members (after the others): kind, then for a
 * scorer its layers, grid, feature size, bank size and threshold. */
static void
print_json_anomaly (sl_classifier *c)
{
  const sl_anomaly *a = sl_classifier_anomaly (c);
  float threshold = sl_classifier_get_anomaly_threshold (c);
  int32_t layers[SL_ANOMALY_MAX_LAYERS], n, gh, gw;

  printf (",\"kind\":\"%s\"",
          sl_classifier_kind (c) == SL_SLMODEL_ANOMALY ? "anomaly" : "classifier");
  if (a == NULL)
    {
      printf (",\"anomaly\":null");
      return;
    }
  n = sl_anomaly_layers (a, layers);
  sl_anomaly_grid (a, &gh, &gw);
  printf (",\"anomaly\":{\"role\":\"%s\",\"layers\":[",
          sl_classifier_kind (c) == SL_SLMODEL_ANOMALY ? "model" : "gate");
  for (int k = 0; k < n; k++)
    {
      const char *name = sl_classifier_anomaly_layer_name (c, k);

      if (k > 0)
        putchar (',');
      if (name != NULL)
        _sl_infer_put_json_string (stdout, name);
      else
        printf ("%d", layers[k]);
    }
  printf ("],\"grid\":[%d,%d],\"dims\":%d,\"bank_size\":%lld,\"threshold\":", gh, gw,
          sl_anomaly_feature_dims (a), (long long) sl_anomaly_bank_size (a));
  if (isfinite (threshold))
    printf ("%.6g}", threshold);
  else
    printf ("null}");
}

static void
print_text_anomaly (sl_classifier *c)
{
  const sl_anomaly *a = sl_classifier_anomaly (c);
  float threshold = sl_classifier_get_anomaly_threshold (c);
  int32_t layers[SL_ANOMALY_MAX_LAYERS], n, gh, gw;

  if (a == NULL)
    return;
  n = sl_anomaly_layers (a, layers);
  sl_anomaly_grid (a, &gh, &gw);
  printf ("%-14s", sl_classifier_kind (c) == SL_SLMODEL_ANOMALY ? "anomaly" : "anomaly gate");
  printf ("PatchCore on layers ");
  for (int k = 0; k < n; k++)
    {
      const char *name = sl_classifier_anomaly_layer_name (c, k);

      if (name != NULL)
        printf ("%s%s", k > 0 ? ", " : "", name);
      else
        printf ("%s#%d", k > 0 ? ", " : "", layers[k]);
    }
  printf ("\n              %dx%d patches of %d values, memory bank of %lld patches\n", gw, gh,
          sl_anomaly_feature_dims (a), (long long) sl_anomaly_bank_size (a));
  if (isfinite (threshold))
    printf ("              threshold %.6g (anomalous above)\n", threshold);
  else
    printf ("              no threshold set: no image is flagged anomalous\n");
}

static void
print_json (const SlInferOptions *o, sl_classifier *c, const sl_classifier_cost *k,
            const char *refused)
{
  int32_t w, h, ch;

  sl_classifier_input_size (c, &w, &h, &ch);
  printf ("{\"model\":");
  _sl_infer_put_json_string (stdout, o->model_path);
  printf (",\"input\":[%d,%d,%d],\"classes\":%d,\"params\":%zu,\"threads\":%d", w, h, ch,
          sl_classifier_class_count (c), sl_model_param_count (sl_classifier_model (c)),
          k->threads);
  printf (",\"memory_bytes\":%lld,\"weight_bytes\":%lld,\"working_bytes\":%lld,"
          "\"input_bytes\":%lld,\"preprocess_bytes\":%lld",
          (long long) k->memory_bytes, (long long) k->weight_bytes, (long long) k->working_bytes,
          (long long) k->input_bytes, (long long) k->preprocess_bytes);
  printf (",\"mflops\":%.3f,\"model_mflops\":%.3f,\"preprocess_mflops\":%.3f", k->mflops,
          k->model_mflops, k->preprocess_mflops);
  put_json_limit (stdout, "max_memory",
                  o->max_memory == 0 ? SL_CLASSIFIER_DEFAULT_MAX_MEMORY : o->max_memory);
  put_json_limit (stdout, "max_mflops",
                  o->max_mflops == 0 ? SL_CLASSIFIER_DEFAULT_MAX_MFLOPS : o->max_mflops);
  printf (",\"within_limits\":%s,\"refused\":", refused == NULL ? "true" : "false");
  if (refused != NULL)
    _sl_infer_put_json_string (stdout, refused);
  else
    fputs ("null", stdout);
  print_json_anomaly (c);
  printf ("}\n");
}

static void
print_limit (int64_t limit, bool bytes)
{
  if (limit < 0)
    printf ("  (no limit)\n");
  else
    {
      printf ("  (limit ");
      if (bytes)
        put_size (stdout, (double) limit);
      else
        put_work (stdout, (double) limit);
      printf (")\n");
    }
}

static void
print_text (const SlInferOptions *o, sl_classifier *c, const sl_classifier_cost *k,
            const char *refused)
{
  int32_t w, h, ch;
  int64_t max_memory = o->max_memory == 0 ? SL_CLASSIFIER_DEFAULT_MAX_MEMORY : o->max_memory;
  int64_t max_mflops = o->max_mflops == 0 ? SL_CLASSIFIER_DEFAULT_MAX_MFLOPS : o->max_mflops;

  sl_classifier_input_size (c, &w, &h, &ch);
  printf ("model         %s\n", o->model_path);
  if (sl_classifier_kind (c) == SL_SLMODEL_ANOMALY)
    printf ("              anomaly model: %dx%dx%d input, labels good and anomalous, %zu "
            "parameters\n",
            w, h, ch, sl_model_param_count (sl_classifier_model (c)));
  else
    printf ("              %dx%dx%d input, %d classes, %zu parameters\n", w, h, ch,
            sl_classifier_class_count (c), sl_model_param_count (sl_classifier_model (c)));
  print_text_anomaly (c);
  printf ("memory        ");
  put_size (stdout, (double) k->memory_bytes);
  printf (" per prediction of one image");
  print_limit (max_memory, true);
  printf ("                weights ");
  put_size (stdout, (double) k->weight_bytes);
  printf (", working memory ");
  put_size (stdout, (double) k->working_bytes);
  printf (" (%d thread%s), input ", k->threads, k->threads == 1 ? "" : "s");
  put_size (stdout, (double) k->input_bytes);
  printf (", preprocessing ");
  put_size (stdout, (double) k->preprocess_bytes);
  printf ("\nwork          ");
  put_work (stdout, k->mflops);
  printf (" per image");
  print_limit (max_mflops, false);
  printf ("                model ");
  put_work (stdout, k->model_mflops);
  printf (", preprocessing ");
  put_work (stdout, k->preprocess_mflops);
  printf (" (estimated)\n");
  if (refused != NULL)
    printf ("refused       %s\n", refused);
}

int
_sl_infer_info (const SlInferOptions *o)
{
  sl_classifier_cost cost;
  sl_error err = { 0 }, limits = { 0 };
  sl_classifier *c = _sl_infer_try_open_model (o, o->max_memory, o->max_mflops, &err);
  bool refused = false;

  /* A model over the limits is opened again without them to show what it
   * would cost: opening measures it and loads its weights, it never runs it. */
  if (c == NULL && err.code == SL_ERR_LIMIT)
    {
      limits = err;
      refused = true;
      c = _sl_infer_try_open_model (o, SL_CLASSIFIER_NO_LIMIT, SL_CLASSIFIER_NO_LIMIT, &err);
    }
  if (c == NULL)
    {
      _sl_infer_warn ("cannot open the model: %s", err.message);
      return SL_INFER_EXIT_USAGE;
    }
  sl_classifier_cost_init (&cost);
  if (sl_classifier_get_cost (c, &cost, &err) != SL_OK)
    {
      _sl_infer_warn ("%s", err.message);
      sl_classifier_free (c);
      return SL_INFER_EXIT_USAGE;
    }
  if (o->json)
    print_json (o, c, &cost, refused ? limits.message : NULL);
  else
    print_text (o, c, &cost, refused ? limits.message : NULL);
  sl_classifier_free (c);
  /* A model the limits refuse cannot be opened to classify: as for any such model. */
  return refused ? SL_INFER_EXIT_USAGE : SL_INFER_EXIT_OK;
}
