/* sl-classifier-private.h: what the classifier's files share inside the vision layer. */
#pragma once

#include "sl-classifier.h"

SL_BEGIN_DECLS

/* Views a camera frame as an sl_image: gray, RGB and RGBA are borrowed as
 * they are; BGR and BGRA are copied with red and blue swapped. Checks the
 * size, stride and format; `what` starts the messages ("frame 3"). */
sl_status sl_frame_to_image (const void *pixels, int32_t width, int32_t height, size_t stride,
                             sl_pixel_format format, int64_t max_pixels, const char *what,
                             sl_image *out, sl_error *err);

/* Copies a filled prediction into the caller's struct, at most its struct_size bytes. */
void sl_prediction_store (sl_prediction *dst, size_t size, const sl_prediction *src);

/* sl-classifier-cost.c: measures a model (parsed, not yet built) and its
 * pipeline for one image on `threads` threads into cost, whose max_memory
 * and max_mflops (> 0, or -1 for none) are the limits: over one, returns
 * SL_ERR_LIMIT naming the layer or step at fault. */
sl_status _sl_classifier_measure (const sl_model *model, const char *pipeline_json, int threads,
                                  sl_classifier_cost *cost, sl_error *err);
/* Measures the pipeline on this image (its real size, channels and depth)
 * and returns SL_ERR_LIMIT, naming the step, when its images or work would
 * take one prediction over the limits in cost. */
sl_status _sl_classifier_check_image (const sl_pipeline *pipeline, const sl_classifier_cost *cost,
                                      const sl_image *image, sl_error *err);

SL_END_DECLS
