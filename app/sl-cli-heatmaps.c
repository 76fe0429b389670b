/* sl-cli-heatmaps.c: `predict --heatmaps DIR`: each image's map drawn over what the model saw. */
#include "sl-cli-private.h"

#include <glib/gstdio.h>
#include <string.h>

static gboolean
same_file (const char *a, const char *b)
{
  GStatBuf sa, sb;

  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}

void
_sl_cli_heatmap_reserve_inputs (GHashTable *used, const char *dir, char **images, int n)
{
  for (int i = 0; i < n; i++)
    {
      g_autofree char *parent = g_path_get_dirname (images[i]);

      if (same_file (parent, dir))
        g_hash_table_add (used, g_path_get_basename (images[i]));
    }
}

/* DIR/<image stem>.png, with -2, -3 ... for a name already taken: written by this command,
 * or an input image in DIR (an overlay never replaces the user's image). */
static char *
heatmap_path (const char *dir, const char *image, GHashTable *used)
{
  g_autofree char *base = g_path_get_basename (image);
  char *dot = strrchr (base, '.');
  g_autofree char *name = NULL, *path = NULL;

  if (dot != NULL && dot != base)
    *dot = '\0';
  name = g_strdup_printf ("%s.png", base);
  path = g_build_filename (dir, name, NULL);
  for (int k = 2; g_hash_table_contains (used, name) || same_file (path, image); k++)
    {
      g_free (name);
      g_free (path);
      name = g_strdup_printf ("%s-%d.png", base, k);
      path = g_build_filename (dir, name, NULL);
    }
  g_hash_table_add (used, g_strdup (name));
  return g_steal_pointer (&path);
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
