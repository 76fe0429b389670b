/* runtime-anomaly-util.h: a tiny named-layer model, its pipeline, synthetic part images and a scorer fitted on them, for the runtime's anomaly tests. */
#pragma once

#include <glib.h>

#include "sl-classifier.h"

G_BEGIN_DECLS

#define RT_TINY_SIZE 32 /* the model's input: RT_TINY_SIZE x RT_TINY_SIZE RGB */

/* Made once per test program in a temporary folder, removed at exit. */
typedef struct
{
  char *dir;
  char **fit;    /* good images the scorers are fitted on (NULL-terminated) */
  char **good;   /* other good images */
  char **defect; /* images with synthetic defects */
  char **far;    /* far from anything seen: inverted good images and noise */
  int n_fit, n_good, n_defect, n_far;
} RtAnomalyData;

const RtAnomalyData *rt_anomaly_data (void);

/* A small untrained CNN (seeded, so two calls give the same weights) with
 * named layers: conv "c1" relu "r1" pool "p1" (16x16) conv "c2" relu "r2"
 * pool "p2" (8x8) conv "c3" relu "r3" global pool, dense of `classes`. */
sl_model *rt_tiny_model (int classes, guint64 seed);
/* Its pipeline: the input stage alone (resize to 32x32 RGB, mean 0.5, std 0.25). */
sl_pipeline *rt_tiny_pipeline (void);
/* The normalised model input of an image file (3 x 32 x 32 floats, g_free). */
float *rt_tiny_input (const char *path);
/* A scorer fitted with model on the images (layers "r1" and "r2", a bank of
 * a quarter of the patches), threshold left at +infinity. */
sl_anomaly *rt_fit_scorer (sl_model *model, char **paths);
/* Scores one image file with the scorer and model directly (the engine's
 * numbers the runtime must reproduce); map may be NULL. */
float rt_reference_score (const sl_anomaly *scorer, sl_model *model, const char *path, float *map);

G_END_DECLS
