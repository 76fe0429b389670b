/* vision-test-util.h: shared helpers of the vision tests: Fashion-MNIST images, temp dirs, OpenCV references. */
#pragma once

#include <glib.h>

#include "sl-vision.h"
#include "sl-idx.h"

G_BEGIN_DECLS

#define vt_assert_ok(call, err)                                                                    \
  G_STMT_START                                                                                     \
  {                                                                                                \
    sl_status _st = (call);                                                                        \
    if (_st != SL_OK)                                                                              \
      g_error ("%s failed: %s (%s)", #call, (err)->message, sl_status_to_string (_st));            \
  }                                                                                                \
  G_STMT_END

/* The first n train images and labels of Fashion-MNIST; FALSE (after
 * g_test_skip) when the data set is not installed. */
gboolean vt_fmnist (int n, sl_idx *images, sl_idx *labels);
/* Image i of the set as a borrowed 28x28 gray image. */
void vt_fmnist_image (const sl_idx *images, int i, sl_image *out);
/* Test images built from Fashion-MNIST: gray, RGB (three images as R, G, B),
 * RGBA and 16-bit gray, each upscaled `scale` times with nearest neighbour
 * and a little deterministic texture so that no two pixels tie. */
void vt_make_gray (const sl_idx *images, int i, int scale, sl_image *out);
void vt_make_rgb (const sl_idx *images, int i, int scale, int channels, sl_image *out);
void vt_make_gray16 (const sl_idx *images, int i, int scale, sl_image *out);

/* Sets step parameters from "key=value ..." through the public setters: numbers,
 * choice ids, true/false, and x,y,w,h for rectangles. */
void vt_set_params (sl_pipeline *p, int step, const char *params);

/* A fresh temporary directory, removed with everything in it by vt_rmdir. */
char *vt_tmpdir (void);
void vt_rmdir (const char *dir);

/* vision-reference.cpp: the operator of `step` computed with direct OpenCV
 * calls; TRUE when it matches `actual` pixel for pixel, otherwise *why says how. */
gboolean vt_reference_matches (const sl_pipeline *p, int step, const sl_image *in,
                               const sl_image *actual, char **why);
/* The model-input stage computed directly (cvtColor, resize). */
gboolean vt_reference_input_matches (const sl_input_spec *spec, const sl_image *in,
                                     const sl_image *actual, char **why);
/* An RGBA image flattened by `rule` with OpenCV (cv::blendLinear for composite,
 * a compare mask for mask), compared with actual. */
gboolean vt_reference_flatten_matches (const sl_image *in, const sl_alpha_rule *rule,
                                       const sl_image *actual, char **why);
/* cv::imread of a file, converted to RGB(A), compared with actual. */
gboolean vt_reference_imread_matches (const char *path, const sl_image *actual, char **why);

G_END_DECLS
