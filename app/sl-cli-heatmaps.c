/* sl-cli-heatmaps.c: `predict --heatmaps DIR`: each image's map drawn over what the model saw. */
#include "sl-cli-private.h"

#include <string.h>

/* DIR/<image stem>.png, with -2, -3 ... for a stem already written by this command. */
static char *
heatmap_path (const char *dir, const char *image, GHashTable *used)
{
  g_autofree char *base = g_path_get_basename (image);
  char *dot = strrchr (base, '.');
  g_autofree char *name = NULL;

  if (dot != NULL && dot != base)
    *dot = '\0';
  name = g_strdup_printf ("%s.png", base);
  for (int k = 2; g_hash_table_contains (used, name); k++)
    {
      g_free (name);
      name = g_strdup_printf ("%s-%d.png", base, k);
    }
  g_hash_table_add (used, g_strdup (name));
  return g_build_filename (dir, name, NULL);
}

gboolean
_sl_cli_predict_heatmap (sl_classifier *classifier, const char *image_path, const char *dir,
                         GHashTable *used, sl_prediction *out, float *probs, char **written,
                         sl_error *err)
{
  sl_image image = { 0 }, seen = { 0 }, picture = { 0 };
  sl_prediction_maps maps;
  g_autofree float *map = NULL;
  g_autofree char *path = NULL;
  int32_t w, h, c;
  float lo = 0, hi = 1;
  gboolean anomaly = sl_classifier_anomaly (classifier) != NULL, ok = FALSE;

  *written = NULL;
  sl_classifier_input_size (classifier, &w, &h, &c);
  map = g_new0 (float, (gsize) w *h);
  sl_prediction_maps_init (&maps);
  /* Where the anomaly is for anomaly models and gated classifiers; what drove the class
   * (Grad-CAM) for the others. */
  if (anomaly)
    maps.anomaly_map = map;
  else
    maps.class_heatmap = map;
  if (sl_image_load (image_path, 0, &image, err) != SL_OK
      || sl_classifier_predict_image_maps (classifier, &image, out, probs, &maps, err) != SL_OK
      || sl_classifier_preprocess (classifier, &image, &seen, err) != SL_OK)
    goto out;
  if (anomaly)
    sl_anomaly_map_range (out->anomaly_threshold, map, (size_t) w * h, &lo, &hi);
  if (!(lo < hi))
    hi = lo + 1; /* a flat map: nothing to paint */
  path = heatmap_path (dir, image_path, used);
  if (sl_heatmap_overlay (&seen, map, lo, hi, 0.6f, &picture, err) != SL_OK
      || sl_image_save (&picture, path, err) != SL_OK)
    goto out;
  *written = g_steal_pointer (&path);
  ok = TRUE;
out:
  sl_image_clear (&image);
  sl_image_clear (&seen);
  sl_image_clear (&picture);
  return ok;
}
