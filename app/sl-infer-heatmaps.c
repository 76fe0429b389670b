/* sl-infer-heatmaps.c: sightline-infer --heatmaps DIR: each image's anomaly map or Grad-CAM as a PNG overlay.
 *
 * The overlay lies over the preprocessed image (what the model saw): an
 * anomaly map drawn from half the threshold (clear) to 1.5 x the threshold
 * (opaque red), see sl_anomaly_map_range; a Grad-CAM map from 0 to 1.
 * Files are named after the image, without its extension; a name that an
 * earlier image of the same run already took, or that names any file
 * already there, gets "-2", "-3", ...: an overlay never replaces another of
 * this run, nor a file of the user's (with --heatmaps naming the images'
 * own folder, part.jpg's overlay must not become part.png, the next input). */
#define _GNU_SOURCE /* asprintf */
#include "sl-infer-private.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How strongly the heatmap covers the image where it is highest. */
#define OVERLAY_OPACITY 0.6f

struct SlInferHeatmaps
{
  sl_classifier *classifier;
  char *dir;
  float *map; /* width x height */
  int32_t width, height;
  bool anomaly; /* anomaly maps (a scorer), else Grad-CAM */
  /* The file names taken in this run: an open-addressing hash set. */
  char **taken;
  size_t n_taken, capacity;
};

SlInferHeatmaps *
_sl_infer_heatmaps_new (sl_classifier *c, const char *dir)
{
  SlInferHeatmaps *h;
  struct stat st;

  if (mkdir (dir, 0777) != 0 && errno != EEXIST)
    {
      _sl_infer_warn ("--heatmaps: cannot create the folder %s: %s", dir, strerror (errno));
      return NULL;
    }
  if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      _sl_infer_warn ("--heatmaps: %s is not a folder", dir);
      return NULL;
    }
  if (access (dir, W_OK | X_OK) != 0)
    {
      _sl_infer_warn ("--heatmaps: cannot write in the folder %s: %s", dir, strerror (errno));
      return NULL;
    }
  h = calloc (1, sizeof *h);
  if (h == NULL)
    goto nomem;
  h->classifier = c;
  h->anomaly = sl_classifier_anomaly (c) != NULL;
  sl_classifier_input_size (c, &h->width, &h->height, NULL);
  h->dir = strdup (dir);
  h->map = malloc (sizeof (float) * (size_t) h->width * h->height);
  h->capacity = 64;
  h->taken = calloc (h->capacity, sizeof *h->taken);
  if (h->dir != NULL && h->map != NULL && h->taken != NULL)
    return h;
  _sl_infer_heatmaps_free (h);
nomem:
  _sl_infer_warn ("--heatmaps: out of memory");
  return NULL;
}

void
_sl_infer_heatmaps_free (SlInferHeatmaps *h)
{
  if (h == NULL)
    return;
  for (size_t i = 0; h->taken != NULL && i < h->capacity; i++)
    free (h->taken[i]);
  free (h->taken);
  free (h->map);
  free (h->dir);
  free (h);
}

static uint64_t
name_hash (const char *s)
{
  uint64_t v = 1469598103934665603u; /* FNV-1a */

  for (; *s; s++)
    v = (v ^ (unsigned char) *s) * 1099511628211u;
  return v;
}

/* The slot of name in the set, or the empty slot where it would go. */
static size_t
name_slot (char **set, size_t capacity, const char *name)
{
  size_t i = name_hash (name) & (capacity - 1);

  while (set[i] != NULL && strcmp (set[i], name) != 0)
    i = (i + 1) & (capacity - 1);
  return i;
}

/* Takes name into the set (which owns it from then on); false when out of memory. */
static bool
take_name (SlInferHeatmaps *h, char *name)
{
  if (2 * (h->n_taken + 1) > h->capacity)
    {
      size_t capacity = 2 * h->capacity;
      char **set = calloc (capacity, sizeof *set);

      if (set == NULL)
        return false;
      for (size_t i = 0; i < h->capacity; i++)
        if (h->taken[i] != NULL)
          set[name_slot (set, capacity, h->taken[i])] = h->taken[i];
      free (h->taken);
      h->taken = set;
      h->capacity = capacity;
    }
  h->taken[name_slot (h->taken, h->capacity, name)] = name;
  h->n_taken++;
  return true;
}

/* Whether anything (a file, a folder, a dangling link) has that name; a name
 * that cannot be looked at fails later, when the overlay is written. */
static bool
name_exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* "DIR/<stem>.png" for path, unique within the run and naming nothing that
 * exists; NULL when out of memory. */
static char *
overlay_path (SlInferHeatmaps *h, const char *path)
{
  const char *base = strrchr (path, '/');
  const char *dot;
  char *stem, *name = NULL, *out = NULL;
  size_t len;

  base = base != NULL ? base + 1 : path;
  dot = strrchr (base, '.');
  /* ".hidden" keeps its whole name; "part.png" loses ".png". */
  len = dot != NULL && dot != base ? (size_t) (dot - base) : strlen (base);
  stem = strndup (base, len);
  if (stem == NULL)
    return NULL;
  for (int n = 1; name == NULL; n++)
    {
      if ((n == 1 ? asprintf (&name, "%s.png", stem) : asprintf (&name, "%s-%d.png", stem, n)) < 0)
        {
          free (stem);
          return NULL;
        }
      if (asprintf (&out, "%s/%s", h->dir, name) < 0)
        {
          free (name);
          free (stem);
          return NULL;
        }
      if (h->taken[name_slot (h->taken, h->capacity, name)] != NULL || name_exists (out))
        {
          free (name);
          free (out);
          name = NULL;
          out = NULL;
        }
    }
  free (stem);
  if (!take_name (h, name))
    {
      free (name);
      free (out);
      return NULL;
    }
  return out;
}

/* Draws h->map over the image as the model saw it and saves it. */
static bool
write_overlay (SlInferHeatmaps *h, const char *path, const sl_image *image,
               const sl_prediction *pred)
{
  sl_image base = { 0 }, overlay = { 0 };
  sl_error err = { 0 };
  float lo = 0.0f, hi = 1.0f;
  char *file = NULL;
  bool ok = false;

  if (h->anomaly)
    sl_anomaly_map_range (pred->anomaly_threshold, h->map, (size_t) h->width * h->height, &lo, &hi);
  if (sl_classifier_preprocess (h->classifier, image, &base, &err) == SL_OK
      && sl_heatmap_overlay (&base, h->map, lo, hi, OVERLAY_OPACITY, &overlay, &err) == SL_OK)
    {
      file = overlay_path (h, path);
      if (file == NULL)
        _sl_infer_warn ("%s: out of memory for its heatmap's name", path);
      else if (sl_image_save (&overlay, file, &err) != SL_OK)
        _sl_infer_warn ("%s: cannot write its heatmap: %s", path, err.message);
      else
        ok = true;
    }
  else
    _sl_infer_warn ("%s: cannot draw its heatmap: %s", path, err.message);
  free (file);
  sl_image_clear (&base);
  sl_image_clear (&overlay);
  return ok;
}

bool
_sl_infer_heatmaps_predict (SlInferHeatmaps *h, const char *path, const sl_image *image,
                            sl_prediction *out, float *probs, bool *predicted)
{
  sl_prediction_maps maps;
  sl_error err = { 0 };

  sl_prediction_maps_init (&maps);
  if (h->anomaly)
    maps.anomaly_map = h->map;
  else
    maps.class_heatmap = h->map;
  *predicted = false;
  if (sl_classifier_predict_image_maps (h->classifier, image, out, probs, &maps, &err) != SL_OK)
    {
      _sl_infer_warn ("%s: %s", path, err.message);
      return false;
    }
  *predicted = true;
  return write_overlay (h, path, image, out);
}
